"""The review app in a real browser: Debian's chromium driven by Playwright, against
`autograder review --serve` running as its own process on a graded class."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from autograder.course.folder import Course
from autograder.course.labs import Lab, load_lab
from autograder.reporting.gradebook import read_gradebook
from autograder.result import Result
from tests.review_class import write_class

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``autograder review --serve OUT`` in its own process."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        log = self.out.parent / "server.log"
        with log.open("a") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "autograder.cli", "review", "--serve", str(self.out), "--port", str(self.port)],
                stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server stopped: {log.read_text()}")
            try:
                urllib.request.urlopen(self.url + "/", timeout=2).close()
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("the review server did not answer within 60 s")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


@pytest.fixture(scope="module")
def graded_class(course: Course, tmp_path_factory: pytest.TempPathFactory) -> Path:
    lab: Lab = load_lab("keras-digits", course)
    return write_class(lab, tmp_path_factory.mktemp("class"))


@pytest.fixture
def server(graded_class: Path, tmp_path: Path) -> Iterator[Server]:
    out = tmp_path / "out"
    shutil.copytree(graded_class, out)
    running = Server(out)
    running.start()
    yield running
    running.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/dev installs Debian's chromium (as root, with apt-get)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()


def _discussion(out: Path, submission: str) -> tuple[float, object]:
    result = Result.read(out / submission / "result.json")
    check = next(c for p in result.parts for c in p.checks if c.name == "compare-models")
    return result.score, check


def _reviewed(out: Path) -> set[str]:
    found = set()
    for path in out.glob("*/result.json"):
        if _discussion(out, path.parent.name)[1].review is not None:  # type: ignore[attr-defined]
            found.add(path.parent.name)
    return found


def test_a_group_is_reviewed_with_the_keyboard_and_kept_across_a_killed_server(server: Server, browser: object) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(server.url + "/question/compare-models")
    first = page.locator("article.answer.current")
    key = first.get_attribute("data-key")
    assert key and page.locator("body.show-names").count() == 0
    gradebook_before = (server.out / "gradebook.csv").read_text(encoding="utf-8")

    # `a` accepts the focused answer's suggestion; the page reloads once the server saved it.
    page.keyboard.press("a")
    page.wait_for_selector("#message.info >> text=Saved 1 decision")
    submission = key.split("/")[0]
    assert _reviewed(server.out) == {submission}
    assert (server.out / "gradebook.csv").read_text(encoding="utf-8") != gradebook_before

    # `j` moves on; `A` accepts the suggestions of every checked answer of its group.
    page.keyboard.press("j")
    section = page.locator("article.answer.current").locator("xpath=ancestor::section[1]")
    members = set(section.locator("article.answer input.in-group:checked").evaluate_all(
        "boxes => boxes.map(b => b.closest('article').dataset.key.split('/')[0])"))
    page.keyboard.press("Shift+A")
    page.wait_for_selector("#message.info >> text=Saved")
    assert members and members <= _reviewed(server.out)
    kept = _reviewed(server.out)

    # Killed mid-review and started again: every confirmed decision is still there.
    server.kill()
    server.start()
    page.reload()
    assert _reviewed(server.out) == kept
    shown = set(page.locator("article.answer.reviewed").evaluate_all(
        "items => items.map(a => a.dataset.key.split('/')[0])"))
    assert shown == kept
    rows = {r["submission"]: r for r in read_gradebook(server.out / "gradebook.csv")}
    for name in kept:
        assert float(rows[name]["total"]) == pytest.approx(_discussion(server.out, name)[0])

    # `n` shows the names; `u` undoes this tab's last decision.
    page.keyboard.press("n")
    assert page.locator("body.show-names").count() == 1
    page.keyboard.press("u")
    page.wait_for_selector("#message.info >> text=Saved")
    assert len(_reviewed(server.out)) < len(kept)
    page.close()


def test_two_pages_deciding_the_same_answer_lose_no_update(server: Server, browser: object) -> None:
    first = browser.new_page()  # type: ignore[attr-defined]
    second = browser.new_page()  # type: ignore[attr-defined]
    for page in (first, second):
        page.goto(server.url + "/question/compare-models")
    key = first.locator("article.answer.current").get_attribute("data-key")
    assert second.locator("article.answer.current").get_attribute("data-key") == key

    first.locator("article.answer.current input.points-input").fill("2")
    first.keyboard.press("Enter")
    first.wait_for_selector("#message.info >> text=Saved")
    second.keyboard.press("a")
    second.wait_for_selector("#message.error")
    assert "changed after this page was loaded" in second.locator("#message").inner_text()
    _, check = _discussion(server.out, key.split("/")[0])
    assert check.points == 2 and check.review.points == 2  # type: ignore[attr-defined]

    # Out of range in the page: refused before anything is sent.
    first.locator("article.answer.current input.points-input").fill("99")
    first.keyboard.press("Enter")
    assert "Points must be a number from 0 to" in first.locator("#message").inner_text()
    assert _discussion(server.out, key.split("/")[0])[1].points == 2  # type: ignore[attr-defined]
    first.close()
    second.close()
