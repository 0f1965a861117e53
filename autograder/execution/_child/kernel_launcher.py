"""Start a process of the student's sandbox (its kernel, or a probe) inside its jail.

Run by path, as ``python -I .../kernel_launcher.py --jail JAIL.json [--own FILE] -- COMMAND...``:
it carries out the jail (see ``isolation.py``: namespaces, its own user, limits) on
itself and then execs COMMAND, so all of it holds for COMMAND and every process it
starts. ``--check`` only tests whether this system allows the isolation.

Run by path and not as ``-m autograder.execution._child.kernel_launcher`` so that it never imports the
autograder package (and with it the grading stack) into a process about to become the
student's; ``isolation.py`` is loaded beside it the same way.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType


def _isolation() -> ModuleType:
    path = Path(__file__).with_name("isolation.py")
    spec = importlib.util.spec_from_file_location("_autograder_isolation", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="kernel_launcher")
    parser.add_argument("--jail", type=Path)
    parser.add_argument("--own", action="append", default=[], help="a file to hand to the jail's user")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    isolation = _isolation()
    if args.check:
        isolation.check()
        return
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if args.jail is None or not command:
        parser.error("--jail and a command are required")
    jail = isolation.Jail.read(args.jail)
    if args.own:
        jail = isolation.Jail(**{**jail.__dict__, "own": (*jail.own, *args.own)})
    try:
        isolation.enter(jail)
    except OSError as exc:
        # Fail closed: a kernel that was meant to be isolated never runs without it.
        print(f"autograder: could not isolate the kernel: {exc}", file=sys.stderr, flush=True)
        os._exit(70)
    isolation.die_with_parent()
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
