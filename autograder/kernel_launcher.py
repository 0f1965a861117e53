"""Start an ipykernel under resource limits: the first process of the student's sandbox.

Run as ``python -m autograder.kernel_launcher --memory BYTES --fsize BYTES -- ARGS...``;
it sets the limits on itself and then becomes ``python -m ipykernel_launcher ARGS...``,
so the limits hold for the kernel and every process it starts.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import resource
import signal
import sys


def _set_limit(which: int, value: int) -> None:
    # Never raise a hard limit we were given (that fails for unprivileged users).
    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value if hard == resource.RLIM_INFINITY else hard))


def die_with_parent() -> None:
    """Ask Linux to kill this process when the grading process that started it dies, so a
    batch killed with -9 leaves no kernel running. Survives exec; set it last, since a
    change of user clears it."""
    with contextlib.suppress(OSError, AttributeError):
        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="autograder.kernel_launcher")
    parser.add_argument("--memory", type=int, required=True)
    parser.add_argument("--fsize", type=int, required=True)
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    rest = [a for a in args.rest if a != "--"]
    _set_limit(resource.RLIMIT_AS, args.memory)
    _set_limit(resource.RLIMIT_FSIZE, args.fsize)
    _set_limit(resource.RLIMIT_CORE, 0)
    die_with_parent()
    os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *rest])


if __name__ == "__main__":
    main()
