"""Execute a notebook in a sandboxed kernel via nbclient, then export the graded names.

Cells run one by one under a per-cell and a total time limit. A cell that raises is
recorded and execution goes on, so later parts are still graded. A cell that stops at
an import of a module the grading environment lacks has the rest of it run without that
import statement, and the failed import is recorded (the course's problem: the result is
flagged for review). After the last cell
(or the total limit) the export code writes the graded names to a fresh directory;
the kernel is then killed, not shut down gracefully, since nothing in it is needed.

nbclient keeps every output in the grader's memory, so output is counted as it
arrives and dropped past a limit. The kernel's peak memory is read from ``/proc``
while it runs (and just before it is killed) so that a kernel that died of memory
exhaustion is told apart from one that exited.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import math
import os
import queue
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from autograder.errors import ExecutionError
from autograder.execution._child import kernel_export
from autograder.execution.sandbox import KERNEL_NAME, Sandbox
from autograder.notebook.imports import cell_python, failed_import, import_statements, missing_module, rest_of_cell
from autograder.notebook.sanitize import SanitizedCell
from autograder.result import CellRecord, ExecutionRecord, FailedImport, SkippedLine


@dataclass(frozen=True)
class ExecutionOutcome:
    """What running the notebook produced: the per-cell record and the export folder."""

    record: ExecutionRecord
    export_dir: Path
    exported: bool


def _export_source(spec: dict[str, dict[str, Any]], outdir: Path) -> str:
    module = inspect.getsource(kernel_export)
    call = f"_autograder_export(__import__('json').loads({json.dumps(json.dumps(spec))}), {str(outdir)!r}, globals())"
    return f"{module}\n{call}\ndel _autograder_export\n"


RunOutcome = Literal["ok", "timeout", "died"]
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_CELL_FRAME = re.compile(r"^Cell In\[\d+\], line (\d+)")

# What a cell raises when an allocation fails under the memory limit (NumPy's subclass
# keeps a private name; the frameworks have their own).
MEMORY_ERRORS = frozenset({"MemoryError", "_ArrayMemoryError", "ResourceExhaustedError", "OutOfMemoryError"})


class _CappedClient(NotebookClient):
    """A NotebookClient that keeps at most ``output_limit`` characters of output in total.

    nbclient appends every output message to the notebook in the grader's memory; a cell
    printing in a loop would otherwise grow the grader without bound.
    """

    output_limit = 2_000_000
    output_kept = 0
    truncated_cells: set[int]

    def output(self, outs: list[Any], msg: dict[str, Any], display_id: str | None, cell_index: int) -> Any:
        size = _size(msg.get("content", {}))
        if self.output_kept + size > self.output_limit and msg.get("msg_type") != "error":
            self.truncated_cells.add(cell_index)
            return None
        self.output_kept += size
        return super().output(outs, msg, display_id, cell_index)


def _size(content: Any) -> int:
    if isinstance(content, str):
        return len(content)
    if isinstance(content, dict):
        return sum(_size(v) for v in content.values())
    if isinstance(content, list):
        return sum(_size(v) for v in content)
    return 8


def memory_peaks(pid: int | str) -> tuple[int, int]:
    """Peak resident and virtual bytes of a process (``"self"``: this one) since it started
    its program, from /proc/PID/status; (0, 0) when that cannot be read.

    Not ``getrusage().ru_maxrss``: Linux carries it across fork and exec, so a worker started
    from a big process reports its parent's size.
    """
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return 0, 0
    fields = dict(line.partition(":")[::2] for line in text.splitlines())
    rss, virtual = (int(fields.get(key, "0 kB").split()[0]) * 1024 for key in ("VmHWM", "VmPeak"))
    return rss, virtual


class _MemoryWatch:
    """The kernel process's peak resident and virtual memory."""

    def __init__(self) -> None:
        self.pid = 0
        self.peak_rss = 0
        self.peak_virtual = 0

    def sample(self) -> None:
        if not self.pid:
            return
        rss, virtual = memory_peaks(self.pid)
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_virtual = max(self.peak_virtual, virtual)

    async def run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(0.25)


def _kernel_pid(km: AsyncKernelManager) -> int:
    process = getattr(km.provisioner, "process", None)
    return int(getattr(process, "pid", 0) or 0)


def _cell_record(index: int, cell: Any, seconds: float, status: str, max_chars: int) -> CellRecord:
    error = ""
    stderr_parts: list[str] = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            error = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"[:1000]
            status = "error" if status == "ok" else status
        elif output.get("output_type") == "stream" and output.get("name") == "stderr":
            stderr_parts.append(output.get("text", ""))
    stderr = "".join(stderr_parts)
    if len(stderr) > max_chars:
        stderr = stderr[:max_chars] + f"\n[... {len(stderr) - max_chars} more characters cut]"
    return CellRecord(index=index, status=status, seconds=round(seconds, 3), error=error, stderr=stderr)  # type: ignore[arg-type]


async def _execute(
    cells: list[SanitizedCell],
    skipped: list[SkippedLine],
    sandbox: Sandbox,
    frameworks: tuple[str, ...],
    export_spec: dict[str, dict[str, Any]],
) -> ExecutionOutcome:
    limits = sandbox.policy.limits
    asyncio.get_running_loop().set_exception_handler(_quiet_poller_errors)
    nb = nbformat.v4.new_notebook()
    # nbclient stores every executed cell back into ``nb.cells[index]``, so the
    # preamble and the export cell get slots of their own around the student's cells.
    preamble = nbformat.v4.new_code_cell(sandbox.preamble(frameworks))
    export_dir = sandbox.new_export_dir()
    export_cell = nbformat.v4.new_code_cell(_export_source(export_spec, export_dir))
    student = [nbformat.v4.new_code_cell(c.source) for c in cells]
    nb.cells = [preamble, *student, export_cell]
    # IPC sockets in the sandbox instead of TCP ports: nothing else on the host can connect.
    km = AsyncKernelManager(
        kernel_name=KERNEL_NAME,
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(sandbox.kernel_dir)]),
        transport="ipc",
        connection_file=str(sandbox.connection_file),
    )
    client = _CappedClient(
        nb,
        km=km,
        allow_errors=True,
        interrupt_on_timeout=False,
        startup_timeout=int(limits.startup_timeout),
        shutdown_kernel="immediate",
        record_timing=False,
        store_widget_state=False,
    )
    client.output_limit = limits.notebook_output_chars
    client.truncated_cells = set()
    watch = _MemoryWatch()
    watcher: asyncio.Task[None] | None = None
    memory_exceeded = False
    exit_code: int | None = None
    sandbox.hand_over()
    records: list[CellRecord] = []
    failed_imports: list[FailedImport] = []
    started = time.monotonic()
    deadline = started + limits.total_timeout
    timed_out = kernel_died = exported = False
    # The kernel process's own output (not the cells') goes to a log, not the grader's terminal.
    log = open(os.open(sandbox.root / "kernel.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")  # noqa: SIM115 - closed below, after the kernel
    try:
        # cleanup_kc: nbclient leaves a kernel manager it did not create running; ours must die here.
        async with client.async_setup_kernel(
            cwd=str(sandbox.workdir), env=sandbox.environment(), stdout=log, stderr=log, cleanup_kc=True
        ):
            watch.pid = _kernel_pid(km)
            watcher = asyncio.create_task(watch.run())
            client.timeout = int(limits.startup_timeout)
            await client.async_execute_cell(preamble, 0, store_history=False)
            for position, cell in enumerate(student, start=1):
                original = cells[position - 1].index
                remaining = deadline - time.monotonic()
                if remaining <= 0 or kernel_died:
                    timed_out = timed_out or remaining <= 0
                    records.append(CellRecord(index=original, status="not-run", seconds=0.0))
                    continue
                t0 = time.monotonic()
                run = await _run_cell(client, km, cell, position, min(limits.cell_timeout, remaining))
                if run == "ok":
                    run, failed = await _resume_after_missing_imports(
                        client, km, cell, position, original, until=min(t0 + limits.cell_timeout, deadline))
                    failed_imports += failed
                timed_out = timed_out or (run == "timeout" and time.monotonic() >= deadline)
                kernel_died = run == "died"
                status = "timeout" if run == "timeout" else "error" if run == "died" else "ok"
                done = _cell_record(original, cell, time.monotonic() - t0, status, limits.output_chars)
                memory_exceeded = memory_exceeded or done.error.split(":")[0] in MEMORY_ERRORS
                records.append(done)
            if not kernel_died:
                client.timeout = int(limits.export_timeout)
                try:
                    await client.async_execute_cell(export_cell, len(nb.cells) - 1, store_history=False)
                    exported = _regular_file(export_dir / "manifest.json")
                except (CellTimeoutError, DeadKernelError):
                    exported = False
    except DeadKernelError:
        kernel_died = True
    except RuntimeError as exc:
        if not records:
            raise ExecutionError(f"the kernel could not be started: {exc}") from exc
        kernel_died = True
    finally:
        log.close()
        watch.sample()  # VmHWM is a high-water mark: one read before the kill sees the peak
        if watcher is not None:
            watcher.cancel()
        process = getattr(km.provisioner, "process", None)
        if process is not None and kernel_died:
            exit_code = process.poll()
        if km.has_kernel:
            await km.shutdown_kernel(now=True)
        leftovers = sandbox.kill_leftovers()
    if kernel_died and not memory_exceeded:
        # Killed by a signal (the OOM killer, or an abort on a failed allocation) after
        # coming close to its address-space limit: out of memory, not an exit of its own.
        near_limit = watch.peak_virtual >= 0.9 * limits.memory_bytes
        memory_exceeded = near_limit and (exit_code is None or exit_code < 0)
    truncated = sorted(cells[i - 1].index for i in client.truncated_cells if 0 < i <= len(cells))
    record = ExecutionRecord(
        cells=tuple(records),
        seconds=round(time.monotonic() - started, 3),
        skipped_lines=tuple(skipped),
        timed_out=timed_out,
        kernel_died=kernel_died,
        memory_exceeded=memory_exceeded,
        kernel_exit_code=exit_code,
        kernel_peak_rss_bytes=watch.peak_rss,
        output_truncated_cells=tuple(truncated),
        leftover_processes=max(0, leftovers),
        isolated=sandbox.capabilities.isolate,
        isolation_note=" ".join(sandbox.capabilities.notes()),
        failed_imports=tuple(failed_imports),
    )
    return ExecutionOutcome(record=record, export_dir=export_dir, exported=exported)


async def _run_cell(client: NotebookClient, km: AsyncKernelManager, cell: Any, slot: int, seconds: float) -> RunOutcome:
    """Run ``cell`` in nbclient's ``slot`` for at most ``seconds``. "ok" means it finished:
    whether it raised is in its outputs."""
    client.timeout = max(1, math.ceil(seconds))
    try:
        await client.async_execute_cell(cell, slot)
    except CellTimeoutError:
        await km.interrupt_kernel()
        await _wait_idle(client, slot, 10.0)
        return "timeout"
    except DeadKernelError:
        cell.outputs.append(nbformat.v4.new_output("error", ename="KernelDied", evalue="the kernel died", traceback=[]))
        return "died"
    return "ok"


async def _resume_after_missing_imports(
    client: NotebookClient, km: AsyncKernelManager, cell: Any, slot: int, index: int, *, until: float
) -> tuple[RunOutcome, list[FailedImport]]:
    """When ``cell`` stopped at an import of a module the environment lacks, run the rest of
    it without that statement, as often as that happens; the outputs of every run are kept.

    Course notebooks import everything in their first cell, so one missing package would
    otherwise leave every later import of that cell undone (``import pandas`` failing takes
    ``import tensorflow`` on the next line with it) and fail the whole notebook. Only
    top-level import statements are skipped; an import inside a function or ``try`` is
    the cell's own logic. The statements before the failed import already ran and are
    not run again. ``until``: the monotonic time the cell's limits end at.
    """
    failed: list[FailedImport] = []
    python = cell_python(cell.source)
    statements = import_statements(cell.source) if python is not None else ()
    after = (0, 0)
    latest = list(cell.outputs)
    while True:
        error = next((o for o in reversed(latest) if o.get("output_type") == "error"), None)
        module = missing_module(f"{error.get('ename', '')}: {error.get('evalue', '')}") if error else None
        if error is None or module is None:
            return "ok", failed
        statement = failed_import(statements, module, _error_line(error.get("traceback", [])), after)
        rest = rest_of_cell(python, statement) if python is not None and statement is not None else ""
        seconds = until - time.monotonic()
        resumed = bool(rest.strip()) and seconds > 0
        failed.append(FailedImport(cell=index, module=module, line=statement.line if statement else 0,
                                   text=statement.text if statement else "", resumed=resumed))
        if statement is None or not resumed:
            return "ok", failed
        remainder = nbformat.v4.new_code_cell(rest)
        outcome = await _run_cell(client, km, remainder, slot, seconds)
        latest = list(remainder.outputs)
        cell.outputs = [*cell.outputs, *latest]
        after = (statement.end_line, statement.end_column)
        if outcome != "ok":
            return outcome, failed


def _error_line(traceback: list[str]) -> int | None:
    """The line of the cell an IPython traceback's first frame points at ("Cell In[3], line 4")."""
    for entry in traceback:
        match = _CELL_FRAME.match(_ANSI.sub("", str(entry)))
        if match:
            return int(match.group(1))
    return None


def _regular_file(path: Path) -> bool:
    """A plain file, not a link the student's code made to something of the grader's."""
    try:
        return stat.S_ISREG(path.lstat().st_mode) and stat.S_ISDIR(path.parent.lstat().st_mode)
    except OSError:
        return False


def _quiet_poller_errors(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # After a cell times out, nbclient leaves its output poller waiting on a channel
    # that is closed later; its ``Empty`` is expected, anything else is reported.
    if isinstance(context.get("exception"), queue.Empty):
        return
    loop.default_exception_handler(context)


async def _wait_idle(client: NotebookClient, slot: int, seconds: float) -> None:
    """After an interrupt, give the kernel a moment to come back before the next cell."""
    probe = nbformat.v4.new_code_cell("pass")
    saved = client.timeout
    client.timeout = max(1, int(seconds))
    try:
        await client.async_execute_cell(probe, slot, store_history=False)
    except CellTimeoutError:
        pass
    finally:
        client.timeout = saved


def execute(
    cells: list[SanitizedCell],
    skipped: list[SkippedLine],
    sandbox: Sandbox,
    *,
    frameworks: tuple[str, ...],
    export_spec: dict[str, dict[str, Any]],
) -> ExecutionOutcome:
    """Run ``cells`` in a fresh kernel of ``sandbox`` and export ``export_spec``'s names."""
    return asyncio.run(_execute(cells, skipped, sandbox, frameworks, export_spec))
