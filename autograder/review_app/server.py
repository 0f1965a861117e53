"""``autograder review --serve DIR``: the review pages of one graded class, on 127.0.0.1.

Pages are rendered on the server from the output folder as it is on disk at each request
(Jinja2 templates beside this module); the page's script (vendored here, no CDN) sends
decisions as JSON and reloads. A decision is merged into the folder before the response
says it was saved, so a killed server loses nothing that a page confirmed.
"""

from __future__ import annotations

import dataclasses
import errno
import socket
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from autograder.course.folder import Course
from autograder.course.labs import Lab, load_lab
from autograder.discussion.check import DiscussionArgs
from autograder.discussion.embedding import Embedder, load_embedder
from autograder.errors import AutograderError, ConfigError
from autograder.notebook.answers import find_answer
from autograder.notebook.load import load_notebook
from autograder.review_app.decisions import Decision, DecisionError, DecisionLog, StaleDecision, UnknownItem
from autograder.review_app.queue import ClassReview, ResultCache, learned, load_class, results

HERE = Path(__file__).parent


def _templates() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html", "j2"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["pts"] = lambda v: f"{v:g}"
    return env


class ReviewApp:
    """The pages and the decision API of one output folder."""

    def __init__(self, out_dir: Path, lab: Lab) -> None:
        self.out_dir = out_dir
        self.lab = lab
        self.log = DecisionLog(out_dir, lab)
        self.cache = ResultCache()
        self.headings = {tag: spec.heading for tag, spec in lab.spec.discussions.items()}
        self.tags = {c.spec.id: c.args.tag for c in lab.rubric.checks if isinstance(c.args, DiscussionArgs)}
        self.env = _templates()
        self._model: Embedder | bool | None = None  # False: no model here
        self.app = Starlette(routes=[
            Route("/", self.index),
            Route("/question/{tag}", self.question),
            Route("/flagged", self.flagged),
            Route("/api/decisions", self.decide, methods=["POST"]),
            Route("/api/undo", self.undo, methods=["POST"]),
            Route("/api/apply-learned", self.apply_learned, methods=["POST"]),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ])

    def current(self) -> ClassReview:
        review = load_class(self.out_dir, self.headings, self.tags, self.cache, self._answer_in_notebook)
        embedder = self._embedder()
        if embedder is None:  # no sentence model: the grader's suggestions stand alone
            return review
        questions = tuple(learned(q, embedder.encode([i.answer for i in q.items])) for q in review.questions)
        items = review.items | {i.key: i for q in questions for i in q.items}
        return dataclasses.replace(review, questions=questions, items=items)

    def _answer_in_notebook(self, source: str, tag: str) -> str:
        """The answer to ``tag`` in the submitted notebook, for results graded before the
        discussion evidence kept it ("" when the notebook is gone or unreadable)."""
        try:
            node = load_notebook(Path(source)).node
        except (OSError, AutograderError):
            return ""
        return find_answer(node, tag, self.lab.spec.discussions[tag]).text

    def _embedder(self) -> Embedder | None:
        if self._model is None:
            loaded = load_embedder()
            self._model = loaded if isinstance(loaded, Embedder) else False
        return self._model if isinstance(self._model, Embedder) else None

    def _page(self, template: str, **context: Any) -> HTMLResponse:
        review = context.pop("review", None) or self.current()
        html = self.env.get_template(template).render(review=review, lab=self.lab, progress=review.progress,
                                                      **context)
        return HTMLResponse(html)

    async def index(self, request: Request) -> Response:
        return self._page("index.html.j2")

    async def question(self, request: Request) -> Response:
        review = self.current()
        try:
            question = review.question(request.path_params["tag"])
        except KeyError:
            tags = ", ".join(q.tag for q in review.questions) or "none"
            return HTMLResponse(f"<p>No question {request.path_params['tag']!r} in {self.lab.id}; its questions: "
                                f"{tags}. <a href='/'>Back</a></p>", status_code=404)
        return self._page("question.html.j2", review=review, question=question)

    async def flagged(self, request: Request) -> Response:
        return self._page("flagged.html.j2")

    async def decide(self, request: Request) -> Response:
        try:
            body = await request.json()
            decisions = [Decision.model_validate(d) for d in body["decisions"]]
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            return _error(400, f"not a list of decisions: {exc}")
        return self._write(lambda review: {"versions": self.log.decide(review, decisions)})

    async def undo(self, request: Request) -> Response:
        try:
            body = await request.json()
            key, seen = str(body["key"]), str(body["version"])
        except (ValueError, KeyError, TypeError) as exc:
            return _error(400, f"an undo names the answer's key and version: {exc}")
        return self._write(lambda review: {"versions": {key: self.log.undo(review, key, seen)}})

    async def apply_learned(self, request: Request) -> Response:
        try:
            tag = str((await request.json())["tag"])
        except (ValueError, KeyError, TypeError) as exc:
            return _error(400, f"name the question's tag: {exc}")
        return self._write(lambda review: {"versions": self.log.apply_learned(review, tag)})

    def _write(self, action: Any) -> Response:
        # One write at a time, and the versions compared with the disk under the same lock.
        with self.log.locked():
            try:
                outcome = action(self.current())
            except StaleDecision as exc:
                return _error(409, str(exc))
            except UnknownItem as exc:
                return _error(404, str(exc))
            except DecisionError as exc:
                return _error(400, str(exc))
            except ConfigError as exc:  # e.g. a grading run is writing to the folder
                return _error(409, str(exc))
        return JSONResponse({"ok": True, **outcome, "progress": vars(self.current().progress)})


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message}, status_code=status)


def open_class(out_dir: Path, course: Course) -> ReviewApp:
    """The app of the graded class in ``out_dir``, or a ConfigError saying why it is not one."""
    found = results(out_dir)
    lab_id = found[0].lab
    if lab_id not in course.lab_ids():
        raise ConfigError(f"{out_dir} was graded for lab {lab_id!r}, which the course at {course.root} does not have; "
                          "pass --course with the course that graded it")
    return ReviewApp(out_dir, load_lab(lab_id, course))


def check_port(port: int, host: str = "127.0.0.1") -> None:
    """A ConfigError when ``port`` cannot be served on (in use, or not allowed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            why = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc.strerror})"
            raise ConfigError(f"port {port} {why}: pass another with --port") from exc


def serve(app: ReviewApp, port: int) -> None:
    import uvicorn

    check_port(port)
    progress = app.current().progress
    print(f"reviewing {app.lab.id} in {app.out_dir}: {progress.flagged} flagged, {progress.reviewed} reviewed, "
          f"{progress.total} in all")
    print(f"open http://127.0.0.1:{port}/  (Ctrl-C stops; every decision is saved when the page confirms it)",
          flush=True)
    uvicorn.run(app.app, host="127.0.0.1", port=port, log_level="warning")
