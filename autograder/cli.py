"""The ``autograder`` command: parses arguments, calls the public API, maps the outcome
to an exit code (0 success, 1 a check or submission failed, 2 bad usage or course)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from autograder import bundled
from autograder.authoring.bundle import write_student_bundle
from autograder.authoring.calibration import calibrate, render_calibration
from autograder.authoring.check_types import check_reference
from autograder.authoring.new_lab import new_lab
from autograder.authoring.release import release, state_solution_rules
from autograder.authoring.stated_rules import lab_rules
from autograder.authoring.validation import render_validation, validate
from autograder.batch.outputs import OutputFolder
from autograder.batch.regrade import regrade, render_changes
from autograder.batch.review import apply_review, load_review
from autograder.batch.run import BatchOptions, grade_batch, run_batch
from autograder.check_registry import registered_checks
from autograder.ci import publish, verdict
from autograder.config import ExecutionLimits, GradeOptions
from autograder.course.folder import find_course, init_course
from autograder.course.labs import load_lab
from autograder.course.reference import write_calibration
from autograder.discussion.check import discussion_rubric, grade_text
from autograder.discussion.grounding import read_history_option
from autograder.discussion.learning import learn_from_labels, read_labels
from autograder.errors import AutograderError, ConfigError
from autograder.execution.packages import INSTALL_HINT, missing_packages
from autograder.grading.pipeline import grade, grader_version
from autograder.reporting.feedback import render_summary
from autograder.reporting.lms import write_gradescope_results


def _options(args: argparse.Namespace, *, public_only: bool = False) -> GradeOptions:
    if args.data_dir is not None:
        # The reference implementations read the data sets too; they find them here.
        os.environ["AUTOGRADER_DATA"] = str(args.data_dir.resolve())
    limits = ExecutionLimits(
        cell_timeout=args.cell_timeout,
        total_timeout=args.total_timeout,
        memory_bytes=int(args.memory_gib * 1024**3),
    )
    return GradeOptions(
        limits=limits, profile="smoke" if args.fast else args.profile, public_only=public_only, device=args.device,
        keep_workdir=args.keep_workdir,
    )


def _add_grading_options(parser: argparse.ArgumentParser, *, lab_required: bool = True,
                         lab_option: bool = True) -> None:
    defaults = ExecutionLimits()
    if lab_option:  # `lab` subcommands name it as their argument instead
        parser.add_argument("--lab", required=lab_required, default="keras-digits",
                            help="the lab id (see `autograder labs`)")
    parser.add_argument("--profile", default="full", help="data profile (default: full)")
    parser.add_argument("--fast", action="store_true", help="the small smoke data profile: same as --profile smoke")
    parser.add_argument("--cell-timeout", type=float, default=defaults.cell_timeout, metavar="SECONDS")
    parser.add_argument("--total-timeout", type=float, default=defaults.total_timeout, metavar="SECONDS")
    parser.add_argument("--memory-gib", type=float, default=defaults.memory_bytes / 1024**3, metavar="GIB",
                        help="address-space limit of the student's kernel")
    parser.add_argument("--device", choices=["cpu", "cuda", "auto"], default="cpu")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder with the course's data sets (e.g. mnist/mnist.npz); default $AUTOGRADER_DATA")
    parser.add_argument("--keep-workdir", action="store_true", help="keep the sandbox folders for debugging")


def _cmd_labs(args: argparse.Namespace) -> int:
    course = find_course(args.course)
    for lab_id in course.lab_ids():
        lab = load_lab(lab_id, course)
        print(f"{lab_id:28} {lab.spec.title}")
        missing = missing_packages(lab.spec.packages)
        if missing:  # the course's to fix before grading: such imports are flagged for review, never zeroed
            print(f"{'':28} its notebooks import {', '.join(missing)}, not installed here: {INSTALL_HINT}")
    return 0


def _cmd_release(args: argparse.Namespace) -> int:
    lab = load_lab(args.lab, find_course(args.course))
    if args.student_bundle:
        rubric = write_student_bundle(lab, Path(args.student_bundle))
        print(f"wrote the student bundle of {lab.id} to {args.student_bundle} (public rubric: {rubric})")
        return 0
    rules = lab_rules(lab)
    if not args.out:  # releasing the lab itself: its solution states the same rules as its template
        stated = state_solution_rules(lab.solution, rules)
        if stated:
            print(f"stated the rubric's rules of {', '.join(stated)} in {lab.solution}")
    out = release(lab.solution, Path(args.out) if args.out else lab.template, rules=rules)
    print(f"wrote the student template of {lab.id} to {out}")
    return 0


def _cmd_grade(args: argparse.Namespace) -> int:
    lab = load_lab(args.lab, find_course(args.course))
    batch = BatchOptions(workers=args.workers, executor=args.executor, scheduler=args.scheduler, force=args.force,
                         canvas_assignment=args.canvas_assignment or "")
    outcome = run_batch([Path(p) for p in args.paths], lab, Path(args.out), _options(args), batch)
    if not outcome.results:
        print("no notebooks (.ipynb) found in the given paths", file=sys.stderr)
        return 2
    return 0


def _cmd_regrade(args: argparse.Namespace) -> int:
    course = find_course(args.course)
    lab = load_lab(args.lab, course, rubric_path=Path(args.rubric) if args.rubric else None)
    outcome = regrade(lab, Path(args.out), dry_run=args.dry_run)
    print(render_changes(outcome))
    if args.dry_run:
        print("dry run: nothing was written")
    else:
        executed = f", {len(outcome.executed)} executed again" if outcome.executed else ", no notebook executed"
        print(f"regraded {len(outcome.results)} submission(s) from their stored executions{executed}; "
              f"outputs in {args.out}")
    return 0


def _cmd_rubric_diff(args: argparse.Namespace) -> int:
    lab = load_lab(args.lab, find_course(args.course), rubric_path=Path(args.new_rubric))
    print(render_changes(regrade(lab, Path(args.out), dry_run=True)))
    return 0


def _cmd_course_init(args: argparse.Namespace) -> int:
    course = init_course(Path(args.dir))
    print(f"wrote the course ({', '.join(course.lab_ids())}) to {course.root}; edit it, then grade with "
          f"`autograder --course {args.dir} grade --lab LAB ...` or from inside the folder")
    return 0


def _cmd_lab_calibrate(args: argparse.Namespace) -> int:
    lab = load_lab(args.lab, find_course(args.course))
    if args.data_dir is not None:
        os.environ["AUTOGRADER_DATA"] = str(args.data_dir.resolve())
    calibration = calibrate(lab, args.profile)
    print(render_calibration(calibration))
    if args.write:
        written = write_calibration(lab.reference_path, args.profile, calibration.runs)
        print(f"recorded in {written}: gradings with this recipe, versions and data use it without training")
    return 0


def _cmd_lab_new(args: argparse.Namespace) -> int:
    solution = Path(getattr(args, "from"))
    if not solution.is_file():
        raise ConfigError(f"{solution} does not exist: give the lab's solution notebook with --from")
    course = find_course(args.course)
    if course.root.is_relative_to(Path(bundled.__file__).parent):
        raise ConfigError("no course here to add the lab to (only the one inside the installed package): run it in a "
                          "course folder, pass --course DIR, or start one with `autograder course init DIR`")
    print(f"running {solution} once to see what it defines...", file=sys.stderr, flush=True)
    draft = new_lab(course, args.lab, solution, title=args.title or "", datasets=tuple(args.dataset),
                    force=args.force)
    names = draft.lab_yaml["names"]
    print(f"wrote lab {args.lab} to {course.assignments / args.lab} and {course.rubrics / args.lab}.yaml:")
    for name, kind in names.items():
        print(f"  {name}: {kind if isinstance(kind, str) else kind['kind']}")
    for tag in draft.lab_yaml["discussions"]:
        print(f"  question {tag}")
    checks = sum(len(p["checks"]) for p in draft.rubric["parts"])
    print(f"{checks} checks worth {draft.rubric['total']:g} points; the solution notebook is the reference.")
    for note in draft.notes:
        print(f"  note: {note}")
    print(f"next: `autograder lab calibrate {args.lab} --write`, then `autograder lab validate {args.lab}`")
    return 0


def _cmd_lab_validate(args: argparse.Namespace) -> int:
    lab = load_lab(args.lab, find_course(args.course))
    verdicts = validate(lab, _options(args), progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(render_validation(lab, verdicts))
    return 0 if all(v.ok for v in verdicts) else 1


def _cmd_checks(args: argparse.Namespace) -> int:
    reference = check_reference()
    if args.markdown:
        print(reference, end="")
        return 0
    for name, check in sorted(registered_checks().items()):
        summary = (check.doc.split("\n\n")[0] or "(no description)").replace("\n", " ")
        print(f"{name:14} {summary}")
    print("\n`autograder checks --markdown` prints every check's arguments too (docs/checks.md).")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    lab = load_lab(args.lab, find_course(args.course, near=Path(args.notebook).parent))
    result = grade(Path(args.notebook), lab, _options(args, public_only=True))
    print(render_summary(result))
    if args.out:
        folder = OutputFolder(Path(args.out)).write(result)
        print(f"reports written to {folder}")
    passed = result.status == "graded" and all(c.status == "passed" for p in result.parts for c in p.checks)
    return 0 if passed else 1


def _cmd_ci(args: argparse.Namespace) -> int:
    lab = load_lab(args.lab, find_course(args.course, near=Path(args.notebook).parent))
    result = grade(Path(args.notebook), lab, _options(args, public_only=not args.all_checks))
    for line in publish(result, notebook=args.notebook, summary=args.summary, junit=args.junit):
        print(line)
    print(render_summary(result))
    if args.out:
        OutputFolder(Path(args.out)).write(result)
    outcome = verdict(result, args.min_score)
    print(("PASSED: " if outcome.passed else "FAILED: ") + outcome.reason)
    return 0 if outcome.passed else 1


def _cmd_gradescope(args: argparse.Namespace) -> int:
    lab = load_lab(args.lab, find_course(args.course))
    notebooks = sorted(Path(args.submission).rglob("*.ipynb"))
    if not notebooks:
        raise ConfigError(f"no notebook (.ipynb) in {args.submission}: the student submitted no notebook")
    # Gradescope keeps every file a student uploads; the notebook changed last is the one.
    latest = max(notebooks, key=lambda p: p.stat().st_mtime)
    result = grade(latest, lab, _options(args))
    write_gradescope_results(result, Path(args.results))
    print(render_summary(result))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    lab = load_lab(args.lab, find_course(args.course))
    out = Path(args.out)
    with tempfile.TemporaryDirectory() as tmp:
        blank = release(lab.solution, Path(tmp) / "carol-blank.ipynb", rules=lab_rules(lab))
        examples = sorted(lab.examples.glob("*.ipynb"))
        results = grade_batch([*examples, blank], lab, out, _options(args))
    print(f"\n{'submission':24} {'score':>10}  status")
    for result in results:
        print(f"{result.submission:24} {result.score:>6g}/{result.max_score:<4g} {result.status}")
    print(f"\nreports: {out}/<submission>/report.html, gradebook: {out / 'gradebook.csv'}")
    return 0


def _cmd_discussion(args: argparse.Namespace) -> int:
    lab = load_lab(args.lab, find_course(args.course))
    histories = dict(read_history_option(h) for h in args.history)
    rubric = discussion_rubric(lab, args.tag)[0]
    learning = args.labels is not None or args.propose is not None
    lines = []
    for path in args.files:
        text = Path(path).read_text(encoding="utf-8")
        grade = grade_text(lab, args.tag, text, histories=histories, method=args.method)
        line = {
            "file": path, "score": round(grade.earned, 2), "max_score": grade.max_points,
            "concepts": [c.id for c in grade.concepts if c.earned > 0], "confidence": round(grade.confidence, 3),
            "needs_review": grade.needs_review(rubric.confidence_bar), "close_calls": grade.close_calls(rubric),
            "verdict": grade.verdict, "method": grade.method,
            "claims": [{"id": c.id, "status": c.status} for c in grade.claims], "message": grade.message,
        }
        if not learning:
            print(json.dumps(line), flush=True)
        lines.append((text, line))
    if learning:
        max_points = float(lines[0][1]["max_score"]) if lines else 0.0
        labels = read_labels(Path(args.labels), args.files, max_points) if args.labels else {}
        for line in learn_from_labels(lines, labels, max_points, propose=args.propose):
            print(json.dumps(line), flush=True)
    return 0


def _cmd_review(args: argparse.Namespace) -> int:
    if args.serve is not None:
        if args.file or args.out:
            raise ConfigError("review --serve DIR serves a graded class; a review file is merged without it: "
                              "autograder review --lab LAB --out DIR FILE")
        from autograder.review_app.server import open_class, serve  # the web stack only when serving

        course = find_course(args.course, near=Path(args.serve))
        serve(open_class(Path(args.serve), course), args.port)
        return 0
    if not (args.lab and args.out and args.file):
        raise ConfigError("give --lab LAB --out DIR FILE to merge a review file, or --serve DIR to review in a browser")
    lab = load_lab(args.lab, find_course(args.course))
    out = Path(args.out)
    review = load_review(Path(args.file), out, lab)
    changed = apply_review(out, review, lab)
    for line in changed:
        print(line)
    print(f"applied {len(review)} review entr{'y' if len(review) == 1 else 'ies'}; gradebook: {out / 'gradebook.csv'}")
    return 0


def _add_discussion_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("discussion", help="grade discussion answers from text files, one JSON line each")
    p.add_argument("--lab", required=True)
    p.add_argument("--tag", required=True, help="the discussion's cell tag, which picks its rubric")
    p.add_argument("--history", action="append", default=[], metavar="NAME=FILE.json",
                   help="a training history to check the answers' claims against (repeatable)")
    p.add_argument("--method", choices=["embedding", "regex"], default=None,
                   help="override the rubric's method (default: the rubric's)")
    p.add_argument("--labels", default=None, metavar="FILE.csv",
                   help="points an instructor gave some of the files (columns file,points): those keep them, "
                        "the others are graded using them")
    p.add_argument("--propose", type=int, default=None, metavar="K",
                   help="rank the answers by what reviewing them would teach (review_rank, 1 first); "
                        "the first K are marked `proposed`")
    p.add_argument("files", nargs="+", help="text files, each holding one answer")
    p.set_defaults(func=_cmd_discussion)

    p = sub.add_parser("review", help="review a graded class in a browser (--serve DIR), or merge an instructor's "
                                      "review file into its results and gradebook")
    p.add_argument("--serve", metavar="DIR", default=None,
                   help="serve the review pages of the graded class in DIR on 127.0.0.1")
    p.add_argument("--port", type=int, default=8765, help="the port to serve on (default 8765)")
    p.add_argument("--lab", default=None, help="the lab (with a review file)")
    p.add_argument("--out", default=None, help="the output folder of `autograder grade` (with a review file)")
    p.add_argument("file", nargs="?", default=None,
                   help="review file (.csv or .yaml): submission, part, points, comment")
    p.set_defaults(func=_cmd_review)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description="Grade deep-learning course notebooks.")
    parser.add_argument("--course", type=Path, default=None,
                        help="course folder (default: $AUTOGRADER_COURSE, a course around the notebook or "
                             "the working folder, else the bundled course)")
    parser.add_argument("--version", action="version", version=f"autograder {grader_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("course", help="course tools")
    course_sub = p.add_subparsers(dest="course_command", required=True)
    p = course_sub.add_parser("init", help="copy the bundled course to DIR, to edit and grade your own labs")
    p.add_argument("dir")
    p.set_defaults(func=_cmd_course_init)

    p = sub.add_parser("lab", help="lab tools")
    lab_sub = p.add_subparsers(dest="lab_command", required=True)
    p = lab_sub.add_parser("calibrate", help="train LAB's reference under each seed now and show each metric's "
                                             "spread and the thresholds it implies")
    p.add_argument("lab")
    p.add_argument("--profile", default="smoke", help="data profile (default: smoke)")
    p.add_argument("--data-dir", type=Path, default=None, help="folder with the course's data sets")
    p.add_argument("--write", action="store_true",
                   help="record the runs as the course's calibration (<reference>.calibration.json), which "
                        "gradings with the same recipe, versions and data use instead of training")
    p.set_defaults(func=_cmd_lab_calibrate)
    p = lab_sub.add_parser("new", help="write lab LAB (contract, rubric, template) from its solution notebook, "
                                       "which becomes its reference")
    p.add_argument("lab", help="the new lab's id (lower case, digits and dashes)")
    p.add_argument("--from", required=True, metavar="NOTEBOOK", help="the solution notebook, with its solution "
                   "regions marked (docs/authoring.md)")
    p.add_argument("--title", help="the lab's title (default: the notebook's first heading)")
    p.add_argument("--dataset", action="append", default=[], choices=["mnist", "fashion-mnist"],
                   help="a data set the solution loads with keras.datasets (staged offline; repeatable)")
    p.add_argument("--force", action="store_true", help="replace a lab of that id")
    p.set_defaults(func=_cmd_lab_new)
    p = lab_sub.add_parser("validate", help="grade LAB's solution (>= 95%%), its template (<= 20%%) and mutants of "
                                            "the solution (one epoch, a wider layer, unscaled inputs, a model "
                                            "missing), which must each lose points")
    p.add_argument("lab")
    _add_grading_options(p, lab_option=False)
    p.set_defaults(func=_cmd_lab_validate)

    p = sub.add_parser("checks", help="the check types a rubric may name, with their arguments")
    p.add_argument("--markdown", action="store_true", help="the full reference in Markdown (docs/checks.md)")
    p.set_defaults(func=_cmd_checks)

    p = sub.add_parser("labs", help="list the labs of the course")
    p.set_defaults(func=_cmd_labs)

    p = sub.add_parser("release", help="generate a lab's student template from its solution, each discussion "
                       "question stating the rubric's rules (written into the solution too)")
    p.add_argument("--lab", required=True)
    p.add_argument("--out", help="where to write it (default: the lab's template.ipynb; only then is the solution "
                   "updated)")
    p.add_argument("--student-bundle", metavar="DIR",
                   help="instead, write what students get: template, contract, public checks, no hidden data")
    p.set_defaults(func=_cmd_release)

    p = sub.add_parser("grade", help="grade notebooks (files or folders) and write results and reports")
    _add_grading_options(p)
    p.add_argument("--out", required=True, help="output folder; a rerun grades only what is missing or changed")
    p.add_argument("--workers", type=int, default=None,
                   help="submissions graded at once (default: what the cores, memory and GPUs hold)")
    p.add_argument("--force", action="store_true", help="regrade submissions whose stored result is up to date")
    p.add_argument("--executor", choices=["local", "dask"], default="local",
                   help="local worker processes, or a Dask distributed cluster (with --scheduler)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="the Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--canvas-assignment", default=None, metavar="TITLE",
                   help="the assignment's column in canvas.csv, as Canvas names it (default: the lab's title)")
    p.add_argument("paths", nargs="+",
                   help="notebooks, folders (of notebooks or per-student folders), an LMS zip (Canvas, Moodle), "
                        "or a Gradescope export folder")
    p.set_defaults(func=_cmd_grade)

    p = sub.add_parser("regrade", help="rerun checks, scoring and reports of a graded class after a rubric change, "
                                       "without executing the notebooks")
    p.add_argument("--lab", required=True)
    p.add_argument("--out", required=True, help="the output folder of `autograder grade`")
    p.add_argument("--rubric", default=None, help="a rubric file to use instead of the course's")
    p.add_argument("--dry-run", action="store_true", help="only show how the scores would change")
    p.set_defaults(func=_cmd_regrade)

    p = sub.add_parser("rubric", help="rubric tools")
    rubric_sub = p.add_subparsers(dest="rubric_command", required=True)
    p = rubric_sub.add_parser("diff", help="how a graded class's scores would change under NEW_RUBRIC")
    p.add_argument("--lab", required=True)
    p.add_argument("--out", required=True, help="the output folder of `autograder grade`")
    p.add_argument("new_rubric")
    p.set_defaults(func=_cmd_rubric_diff)

    p = sub.add_parser("check", help="a student's self-check: the public checks of one notebook")
    _add_grading_options(p)
    p.add_argument("--out", help="also write the reports to this folder")
    p.add_argument("notebook")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("ci", help="grade in CI: summary, annotations, JUnit XML, exit code by threshold")
    _add_grading_options(p)
    p.add_argument("--min-score", type=float, default=None, metavar="PERCENT",
                   help="fail below this score (percent of the maximum)")
    p.add_argument("--junit", type=Path, default=None, help="write JUnit XML here")
    p.add_argument("--summary", type=Path, default=None,
                   help="append the Markdown summary here (default: $GITHUB_STEP_SUMMARY when set)")
    p.add_argument("--all-checks", action="store_true", help="also run hidden checks (instructor's CI)")
    p.add_argument("--out", help="also write the reports to this folder")
    p.add_argument("notebook")
    p.set_defaults(func=_cmd_ci)

    p = sub.add_parser("gradescope", help="grade inside Gradescope's autograder container: the submitted notebook "
                                          "to results/results.json")
    _add_grading_options(p)
    p.add_argument("--submission", default="/autograder/submission", help="folder of the student's files")
    p.add_argument("--results", default="/autograder/results/results.json", help="where Gradescope reads results")
    p.set_defaults(func=_cmd_gradescope)

    p = sub.add_parser("demo", help="grade the lab's bundled example submissions and its blank template")
    _add_grading_options(p, lab_required=False)
    p.add_argument("--out", default="demo-out", help="output folder (default: demo-out)")
    p.set_defaults(func=_cmd_demo)
    _add_discussion_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except AutograderError as exc:
        print(f"autograder: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("autograder: interrupted; everything graded so far is saved", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
