"""Write the hostile corpus: notebooks that break or attack the grader, one per case.

Run ``python tests/hostile/make_corpus.py`` to regenerate the stored files beside it;
``tests/test_hostile.py`` grades them and says what each must come to. Payloads that
would only do harm in the grading process check ``AUTOGRADER_SANDBOX`` (set in the
kernel only) and, if they ever run outside the kernel, leave a file in MARKERS.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder.notebook.load import MAX_CELLS

HERE = Path(__file__).resolve().parent
MARKERS = "/tmp/autograder-hostile-markers"
"""Where a payload that escaped the kernel leaves its mark (the test asserts it stays empty)."""
ESCAPE = "/tmp/autograder-hostile-escape"
"""Where the kernel tries to write outside its sandbox (absent outside when jailed)."""

TINY_ARRAYS = "import numpy as np\nweights = np.ones(4) / 4\nscores = np.arange(5, dtype=float)"
TINY_HISTORY = "history = {'loss': [1.0, 0.5, 0.3], 'val_loss': [1.1, 0.7, 0.6], 'val_accuracy': [0.5, 0.7, 0.8]}"
ANSWER = "The weights are normalised so that they sum to one, which keeps the average unbiased."

KERAS_DATA = ("import keras\nimport numpy as np\n\nrng = np.random.default_rng(7)\n"
              "X = rng.normal(size=(256, 4)).astype('float32')\ny = (X[:, 0] + X[:, 1] > 0).astype('int64')")
KERAS_MODEL = ("model = keras.Sequential([\n    keras.Input((4,)),\n{extra}"
               "    keras.layers.Dense(8, activation='relu'),\n"
               "    keras.layers.Dense(2, activation='softmax'),\n])\n"
               "model.compile(keras.optimizers.Adam({lr}), 'sparse_categorical_crossentropy', metrics=['accuracy'])\n"
               "history = model.fit(X, y, epochs=10, batch_size=32, validation_split=0.2, verbose=0)")

ESCAPED = f"""
def _mark(case):
    # Runs harmlessly in the kernel; leaves a mark only if it ever runs in the grader.
    import os
    if os.environ.get('AUTOGRADER_SANDBOX') != '1':
        os.makedirs({MARKERS!r}, exist_ok=True)
        open(os.path.join({MARKERS!r}, case), 'w').write('ran outside the kernel')
"""


def notebook(*cells: str, tag_answer: str | None = "why", language: str = "python") -> NotebookNode:
    """A tiny-lab notebook from code cells, with the heading and the tagged answer."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": language, "name": "python3"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.cells.append(nbformat.v4.new_markdown_cell("## Why does it work?"))
    answer = nbformat.v4.new_markdown_cell(ANSWER)
    if tag_answer:
        answer.metadata["tags"] = [tag_answer]
    nb.cells.append(answer)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    return nb


def keras_notebook(model: str, *extra: str) -> NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in (KERAS_DATA, model, *extra)]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    return nb


def solution() -> NotebookNode:
    return notebook(TINY_ARRAYS, TINY_HISTORY)


def tiny_cases() -> dict[str, NotebookNode | bytes | str]:
    """File name -> content (a notebook, raw bytes or text) for the lab ``tiny``."""
    cases: dict[str, NotebookNode | bytes | str] = {}
    cases["solution.ipynb"] = solution()
    cases["ok café 日本 copy.ipynb"] = solution()
    cases["-rf --leading-dash.ipynb"] = solution()
    cases["infinite_loop.ipynb"] = notebook(TINY_ARRAYS, "while True:\n    pass", TINY_HISTORY)
    cases["uninterruptible_loop.ipynb"] = notebook(
        TINY_ARRAYS, "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass", TINY_HISTORY)
    cases["memory_bomb_numpy.ipynb"] = notebook(TINY_ARRAYS, "big = np.ones((1 << 34,))", TINY_HISTORY)
    cases["memory_bomb_grow.ipynb"] = notebook(
        TINY_ARRAYS, "hog = []\nwhile True:\n    hog.append(bytearray(64 * 2**20))", "del hog", TINY_HISTORY)
    cases["fork_bomb.ipynb"] = notebook(TINY_ARRAYS, """import os, sys, time
children = 0
try:
    for _ in range(5000):
        pid = os.fork()
        if pid == 0:
            time.sleep(120)
            os._exit(0)
        children += 1
except OSError as exc:
    print('FORK stopped after', children, exc, file=sys.stderr)""", TINY_HISTORY)
    cases["daemon.ipynb"] = notebook(TINY_ARRAYS, """import os, time
if os.fork() == 0:
    os.setsid()  # leaves the kernel's process group: a kill of the group misses it
    if os.fork() == 0:
        time.sleep(300)
    os._exit(0)
os.wait()""", TINY_HISTORY)
    cases["os_exit.ipynb"] = notebook(TINY_ARRAYS, "import os\nos._exit(0)", TINY_HISTORY)
    cases["system_exit.ipynb"] = notebook(TINY_ARRAYS, TINY_HISTORY, "raise SystemExit(3)")
    cases["segfault.ipynb"] = notebook(TINY_ARRAYS, "import ctypes\nctypes.string_at(0)", TINY_HISTORY)
    cases["big_file.ipynb"] = notebook(
        TINY_ARRAYS, "with open('big.bin', 'wb') as f:\n    f.write(b'0' * (300 * 2**20))", TINY_HISTORY)
    cases["output_flood.ipynb"] = notebook(
        TINY_ARRAYS, "for _ in range(50):\n    print('x' * 10**6)",
        "for i in range(100000):\n    print(i)", TINY_HISTORY)
    cases["monkeypatch_numpy_print.ipynb"] = notebook(
        "import builtins\nimport numpy as np\nweights = np.array([5.0, -3.0, 0.0, 0.0])\n"
        "scores = np.arange(5, dtype=float)\n"
        "np.min = lambda *a, **k: 0.0\nnp.max = lambda *a, **k: 1.0\nnp.mean = lambda *a, **k: 1.0\n"
        "np.all = lambda *a, **k: True\nnp.any = lambda *a, **k: False\nbuiltins.print = lambda *a, **k: None",
        TINY_HISTORY)
    cases["fake_sys_modules.ipynb"] = notebook(
        "import numpy as np\nweights = np.array([5.0, -3.0, 0.0, 0.0])\nscores = np.arange(5, dtype=float)",
        """import sys, types
fake = types.ModuleType('autograder')
fake.check = lambda *a, **k: True
sys.modules['autograder'] = fake
real_json = sys.modules['json']
fake_json = types.ModuleType('json')
fake_json.loads = real_json.loads
fake_json.dumps = real_json.dumps
def dump(obj, handle, **kwargs):
    # Claim that every name was exported fine, whatever happened.
    handle.write(real_json.dumps({k: {'kind': v['kind'], 'status': 'ok'} for k, v in obj.items()}))
fake_json.dump = dump
sys.modules['json'] = fake_json""")
    stored = notebook("import numpy as np\nweights = np.array([5.0, 0.0, 0.0, 0.0])\nscores = np.arange(5.0)",
                      TINY_HISTORY)
    stored.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="All checks passed: 10/10\n")]
    stored.cells[0].execution_count = 1
    stored.cells[1].outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "score = 10/10"},
                                                      execution_count=2)]
    cases["fake_stored_outputs.ipynb"] = stored
    fake = json.dumps({"status": "graded", "score": 10, "max_score": 10})
    cases["files_posing_as_results.ipynb"] = notebook(
        "import numpy as np\nweights = np.array([5.0, 0.0, 0.0, 0.0])\nscores = np.arange(5.0)",
        f"""import os
fake = {fake!r}
for folder in ('.', '..', '../..', '/tmp', {ESCAPE!r}):
    for name in ('result.json', 'results.json', 'feedback.html', 'report.html', 'gradebook.csv'):
        try:
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, name), 'w') as f:
                f.write(fake)
        except OSError:
            pass""", TINY_HISTORY)
    cases["snoop.ipynb"] = notebook(TINY_ARRAYS, TINY_HISTORY, SNOOP)
    cases["network.ipynb"] = notebook(TINY_ARRAYS, TINY_HISTORY, NETWORK)
    cases["pickle_payload.ipynb"] = notebook(ESCAPED + """
import numpy as np

class Payload:
    def __reduce__(self):
        return (_mark, ('pickle_payload',))

real_save = np.save
def save(file, arr, allow_pickle=True, fix_imports=True):
    # Write a pickle wherever the grader expects a plain array.
    return real_save(file, np.array([Payload()], dtype=object), allow_pickle=True)
np.save = save
weights = np.ones(4) / 4
scores = np.arange(5.0)""", TINY_HISTORY)
    cases["kill_grader.ipynb"] = notebook(TINY_ARRAYS, TINY_HISTORY, "import os, signal\n"
                                          "try:\n    os.kill(os.getppid(), signal.SIGKILL)\nexcept OSError:\n    pass\n"
                                          "os.kill(-1, signal.SIGKILL)")
    # Malformed files.
    cases["invalid_json.ipynb"] = '{"cells": [ {"cell_type": "code", "source": "x = 1"'
    cases["empty.ipynb"] = b""
    cases["binary.ipynb"] = bytes(range(256)) * 8
    cases["nbformat3.ipynb"] = nbformat.writes(nbformat.v3.convert.downgrade(solution()), version=3)
    # Thousands of trivial cells cost seconds, which the time limits bound: graded.
    many = notebook(*["x = 1"] * 2500, TINY_ARRAYS, TINY_HISTORY)
    cases["thousands_of_cells.ipynb"] = many
    # Past the bound on cells that protects the grader's memory: refused before nbformat builds
    # it (so the cells may be as bare as this, which keeps the file small).
    bare = ",".join(['{"cell_type":"code"}'] * (MAX_CELLS + 1))
    cases["far_too_many_cells.ipynb"] = f'{{"cells":[{bare}],"metadata":{{}},"nbformat":4,"nbformat_minor":5}}'
    cases["r_kernel.ipynb"] = notebook("weights <- c(0.25, 0.25, 0.25, 0.25)", language="R")
    cases["missing_tag.ipynb"] = notebook(TINY_ARRAYS, TINY_HISTORY, tag_answer=None)
    duplicated = notebook(TINY_ARRAYS, TINY_HISTORY)
    extra = nbformat.v4.new_markdown_cell("YOUR ANSWER HERE")
    extra.metadata["tags"] = ["why"]
    extra["id"] = "cell-dup"
    duplicated.cells.append(extra)
    cases["duplicated_tags.ipynb"] = duplicated
    return cases


SNOOP = f"""import json, os, sys
from pathlib import Path
found = {{'env': sorted(os.environ), 'readable': [], 'listed': {{}}, 'pids': 0, 'files': []}}
import autograder
repo = Path(autograder.__file__).resolve().parents[1]
targets = [repo / 'rubrics', repo / 'reference', repo / 'tests', repo / 'assignments', repo / '.git',
           Path('/root'), Path('/root/.cache/autograder'), Path('/root/.keras'), Path('/home'), Path('/work'),
           Path(os.environ.get('HOME', '/')) / '..', Path('/proc/1/environ'), Path('/proc/1/cmdline')]
for target in targets:
    try:
        if target.is_dir():
            found['listed'][str(target)] = sorted(os.listdir(target))[:50]
        else:
            target.read_bytes()
            found['readable'].append(str(target))
    except OSError:
        pass
found['pids'] = sum(1 for p in os.listdir('/proc') if p.isdigit())
for top, dirs, files in os.walk('/'):
    dirs[:] = [d for d in dirs if os.path.join(top, d) not in ('/proc', '/sys', '/usr', '/dev', '/etc', sys.prefix,
                                                            sys.base_prefix)]
    for name in files:
        if name.endswith(('.ipynb', '.yaml', '.npz', '.py', '.json', '.csv')) and 'site-packages' not in top:
            found['files'].append(os.path.join(top, name))
    if len(found['files']) > 500:
        break
try:
    os.makedirs({ESCAPE!r}, exist_ok=True)
    open({ESCAPE!r} + '/snoop', 'w').write('written from the kernel')
except OSError:
    pass
print('SNOOP ' + json.dumps(found), file=sys.stderr)"""

NETWORK = """import json, socket, sys, urllib.request
reached = []
for host, port in (('1.1.1.1', 53), ('8.8.8.8', 443), ('pypi.org', 443)):
    try:
        socket.create_connection((host, port), timeout=3).close()
        reached.append(f'{host}:{port}')
    except OSError:
        pass
try:
    urllib.request.urlopen('https://pypi.org/simple/', timeout=3)
    reached.append('https://pypi.org')
except Exception:
    pass
print('NET ' + json.dumps(reached), file=sys.stderr)"""


def keras_cases() -> dict[str, NotebookNode | bytes | str]:
    """File name -> notebook for the lab ``tiny-keras``."""
    cases: dict[str, NotebookNode | bytes | str] = {}
    cases["keras_solution.ipynb"] = keras_notebook(KERAS_MODEL.format(extra="", lr=0.05))
    lambda_layer = "    keras.layers.Lambda(lambda t: (_mark('keras_lambda'), t)[1]),\n"
    cases["keras_lambda.ipynb"] = keras_notebook(ESCAPED + KERAS_MODEL.format(extra=lambda_layer, lr=0.05))
    # An untrained model (always class 0) that claims perfect scores inside the kernel.
    cases["keras_monkeypatch_evaluate.ipynb"] = keras_notebook(
        KERAS_MODEL.format(extra="", lr=0.0),
        """model.layers[-1].set_weights([np.zeros((8, 2), 'float32'), np.array([1.0, 0.0], 'float32')])
keras.Model.evaluate = lambda self, *a, **k: [0.0, 1.0]
keras.Model.predict = lambda self, x, *a, **k: np.eye(2)[(np.asarray(x)[:, 0] + np.asarray(x)[:, 1] > 0).astype(int)]
np.mean = lambda *a, **k: 1.0
history.history['val_accuracy'] = [1.0] * 10
print('accuracy:', model.evaluate(X, y)[1])""")
    return cases


def write(cases: dict[str, NotebookNode | bytes | str], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in cases.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            nbformat.write(content, path)


if __name__ == "__main__":
    write(tiny_cases(), HERE / "tiny")
    write(keras_cases(), HERE / "tiny-keras")
