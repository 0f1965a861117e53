"""The jail a kernel or probe runs in, set up for real by the launcher (root only)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.execution._child import isolation

needs_isolation = pytest.mark.skipif(not isolation.capabilities().isolate,
                                     reason=f"no isolation here: {isolation.capabilities().reason}")


# The tests start jailed processes.
pytestmark = pytest.mark.slow


def _jailed(tmp_path: Path, code: str, **overrides: object) -> subprocess.CompletedProcess[str]:
    box = tmp_path / "box"
    box.mkdir()
    (tmp_path / "jail").mkdir()
    uid = isolation.new_uid()
    os.chown(box, uid, uid)
    jail = isolation.Jail(**{
        "memory_bytes": 2 * 1024**3, "file_size_bytes": 1024**2, "processes": 16, "isolate": True, "uid": uid,
        "root": str(tmp_path / "jail"), "readonly": isolation.system_paths(), "writable": (str(box),),
        "cwd": str(box), **overrides,
    })
    jail.write(tmp_path / "jail.json")
    command = isolation.jailed(tmp_path / "jail.json", [sys.executable, "-I", "-c", code])
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False,
                              env={"PATH": "/usr/bin:/bin", "HOME": str(box)})
    finally:
        isolation.kill_user(uid)


SEE = """
import json, os, socket
seen = {'uid': os.getuid(), 'root': sorted(os.listdir('/')), 'pids': [p for p in os.listdir('/proc') if p.isdigit()]}
try:
    open(SECRET).read()
    seen['secret'] = True
except OSError:
    seen['secret'] = False
try:
    socket.create_connection(('1.1.1.1', 53), timeout=2)
    seen['network'] = True
except OSError:
    seen['network'] = False
with open('written', 'w') as f:
    f.write('mine')
print(json.dumps(seen))
"""


@needs_isolation
def test_a_jailed_process_sees_only_python_and_its_own_folder(tmp_path: Path) -> None:
    secret = Path(__file__).resolve().parent.parent / "rubrics" / "keras-digits.yaml"
    done = _jailed(tmp_path, f"SECRET = {str(secret)!r}\n" + SEE)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["uid"] >= isolation.UID_BASE
    assert not seen["secret"] and not seen["network"]
    assert set(seen["root"]) <= {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "sys", "proc",
                                 "dev", "tmp", *(p.split("/")[1] for p in isolation.system_paths())}
    assert len(seen["pids"]) == 1  # only itself: the grader's processes are hidden
    assert (tmp_path / "box" / "written").read_text() == "mine"


@needs_isolation
def test_the_process_limit_holds_for_the_jails_user(tmp_path: Path) -> None:
    code = ("import os, time\nn = 0\ntry:\n    for _ in range(100):\n        if os.fork() == 0:\n"
            "            time.sleep(30)\n            os._exit(0)\n        n += 1\nexcept OSError:\n    pass\nprint(n)")
    done = _jailed(tmp_path, code, processes=8)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) < 8


@needs_isolation
def test_kill_user_ends_daemons_that_left_the_process_group(tmp_path: Path) -> None:
    uid = isolation.new_uid()
    daemon = subprocess.Popen(["/bin/sleep", "60"], user=uid, group=uid, start_new_session=True)
    time.sleep(0.2)
    assert isolation.kill_user(uid) == 1
    assert daemon.wait(timeout=5) == -9


def test_a_jail_that_cannot_be_set_up_refuses_to_run(tmp_path: Path) -> None:
    # Fail closed: a root that does not exist cannot be assembled, and nothing runs.
    jail = isolation.Jail(memory_bytes=1024**3, file_size_bytes=1024**2, processes=8, isolate=True,
                          uid=isolation.new_uid(), root=str(tmp_path / "missing"))
    jail.write(tmp_path / "jail.json")
    done = subprocess.run(isolation.jailed(tmp_path / "jail.json", [sys.executable, "-c", "print('ran')"]),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 70
    assert "could not isolate" in done.stderr and "ran" not in done.stdout
