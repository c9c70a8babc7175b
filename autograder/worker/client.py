"""The trusted side of the worker: start it in its sandbox, call into it, decode safely.

A `Worker` owns one sandboxed interpreter: a child process started through our launcher
(`launch_prefix`), reached over its stdin and stdout with `wire`'s frames. Every frame
the worker sends is read and parsed with limits: its size (`SandboxLimits.max_reply_mb`),
its number of values, its nesting, and the deadline of the call it answers, which covers
reading it too. Calls carry a time limit: a call that does not answer in time, or a
worker that dies (out of memory, a fork bomb hitting its pids limit, os._exit), fails
that call with a student-facing message; the worker is started again on the next call
and the submission re-imported, so the remaining tests still run. Objects from before
a restart are gone, and using one says so.

Loading the submission has one deadline for all its attempts (`SandboxLimits.load_seconds`)
and one per cell (`load_seconds_per_cell`): a cell that crashes or hangs the worker is
left out and the notebook loaded again without it; a notebook still loading at the
deadline is a student error for every test, never a grader error. A worker that cannot
start at all, before any student code ran, is a grader error (the machine's fault).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import select
import subprocess
import sys
import time
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

from autograder.core import loader as loader_module
from autograder.core.errors import EXIT, RAISED, CallTimeout, GraderError, Kind, \
    StudentError, reraised
from autograder.core.failures import student_code_text
from autograder.sandbox.containers import kill_command
from autograder.sandbox.policy import SandboxSpec, launch_prefix, wants_gpu
from autograder.core import recipes
from autograder.worker import wire
from autograder.worker import server as server_module

# What the worker's interpreter runs first: keep the two pipes on fresh descriptors,
# point stdin and stdout at /dev/null, read one frame of source (`worker_source`) and
# run it. fd 2 stays the start-up log until the worker has said hello.
BOOTSTRAP = (
    "import os\n"
    "r, w = os.dup(0), os.dup(1)\n"
    "n = os.open(os.devnull, os.O_RDWR)\n"
    "os.dup2(n, 0); os.dup2(n, 1)\n"
    "def read(k):\n"
    "    b = bytearray()\n"
    "    while len(b) < k:\n"
    "        c = os.read(r, k - len(b))\n"
    "        if not c: raise SystemExit(0)\n"
    "        b += c\n"
    "    return bytes(b)\n"
    "source = read(int.from_bytes(read(8), 'big')).decode('utf-8')\n"
    "exec(compile(source, 'fdl-worker', 'exec'), {'__name__': 'fdl_worker', '_FDS': (r, w)})\n")


class WorkerCrashed(StudentError):
    """The sandboxed worker died while running student code."""


class NotData(StudentError):
    """A student object used where data was expected (custom __eq__, tensor subclasses)."""


class ReplyRejected(StudentError):
    """A reply the trusted side will not read: too large, malformed, or not data."""


@lru_cache(maxsize=1)
def worker_source() -> bytes:
    """The worker's program: the sources of wire.py, recipes.py and server.py, one frame."""
    source = "\n".join(inspect.getsource(m) for m in (wire, recipes, server_module))
    return wire.frame(source.encode("utf-8"))


class Channel:
    """Frames to and from one worker process; every read and write ends by a deadline."""

    def __init__(self, proc: subprocess.Popen, max_reply_bytes: int, max_items: int) -> None:
        self.proc = proc
        self.max_reply_bytes, self.max_items = max_reply_bytes, max_items
        assert proc.stdin is not None and proc.stdout is not None
        self.out_fd, self.in_fd = proc.stdin.fileno(), proc.stdout.fileno()
        os.set_blocking(self.out_fd, False)
        os.set_blocking(self.in_fd, False)
        self.log = bytearray()  # the worker's start-up log (fd 2), until it says hello

    def send_bytes(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            self._wait(self.out_fd, deadline, write=True)
            try:
                view = view[os.write(self.out_fd, view):]
            except BlockingIOError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                raise EOFError from None

    def send(self, value: Any, deadline: float) -> None:
        self.send_bytes(wire.frame(wire.encode_value(value)), deadline)

    def receive(self, deadline: float, handles: Any = None) -> Any:
        """The next value the worker sent. EOFError: it is gone; TimeoutError: the
        deadline passed; ReplyRejected: a frame over the size limit or malformed."""
        (size,) = wire.HEADER.unpack(self._read(wire.HEADER.size, deadline))
        if size > self.max_reply_bytes:
            raise ReplyRejected(
                f"Your code returned {size / 2**20:.1f} MB of data in one call; the grader "
                f"accepts at most {self.max_reply_bytes / 2**20:g} MB. Return only what the "
                f"test asks for (a tensor of the documented shape).")
        data = self._read(size, deadline)
        try:
            return wire.decode_value(data, max_items=self.max_items, handles=handles)
        except wire.NotDataError as exc:
            raise NotData(f"your code returned a {exc.kind} where a dense tensor or other "
                          f"data was expected") from None
        except wire.WireError as exc:
            raise ReplyRejected(f"The sandboxed worker sent a reply the grader cannot read "
                                f"({exc}): did your code write to the worker's channel or "
                                f"return something unusual?") from None

    def _read(self, n: int, deadline: float) -> bytearray:
        """`n` bytes, in a buffer that grows only as they arrive (a frame's announced
        length allocates nothing)."""
        buf = bytearray()
        while len(buf) < n:
            self._wait(self.in_fd, deadline)
            try:
                chunk = os.read(self.in_fd, min(n - len(buf), 1 << 20))
            except BlockingIOError:
                continue
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def _wait(self, fd: int, deadline: float, write: bool = False) -> None:
        """Until `fd` is ready; meanwhile keep the start-up log of a starting worker.
        poll(), not select(): no limit on descriptor numbers."""
        stderr = self.proc.stderr
        err = stderr.fileno() if stderr is not None and not stderr.closed else None
        poller = select.poll()
        poller.register(fd, select.POLLOUT if write else select.POLLIN)
        if err is not None:
            poller.register(err, select.POLLIN)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            events = dict(poller.poll(remaining * 1000))
            if err is not None and err in events:
                chunk = os.read(err, 65536)
                if chunk:
                    self.log += chunk[:max(0, 65536 - len(self.log))]
                else:
                    poller.unregister(err)
                    err = None
            if fd in events:  # ready, or its other end is gone (the read or write says so)
                return

    def close_log(self) -> None:
        if self.proc.stderr is not None and not self.proc.stderr.closed:
            self.proc.stderr.close()


class Worker:
    """One sandboxed interpreter holding one submission."""

    def __init__(self, spec: SandboxSpec, module_source: str) -> None:
        self.spec = spec
        self.module_source = module_source
        self.blocks = [b.label for b in loader_module.split_blocks(module_source)]
        self.generation = 0
        self.load_info: dict[str, Any] = {}
        self.protections: dict[str, str] = {}
        self._proc: subprocess.Popen | None = None
        self._channel: Channel | None = None
        self.restarts = 0
        self.start_seconds = 0.0
        self.call_timeout = spec.limits.wall_seconds_per_call  # the plugin sets it per test
        self.skip: dict[str, str] = {}  # cells not to run again: they killed or hung the worker
        self._loading: str | None = None
        limits = spec.limits
        self.load_timeout = min(limits.load_seconds, limits.wall_seconds_per_submission)
        self.cell_timeout = min(limits.load_seconds_per_cell, self.load_timeout)
        self._report = None  # the launcher's account of what it applied

    # --- lifecycle -----------------------------------------------------------
    def _spawn(self, deadline: float) -> None:
        """Start the process and wait for its hello. No student code has run yet, so a
        worker that fails here is the machine's fault: GraderError with its log."""
        if self.spec.container is not None:  # a fresh container name per start
            container = dataclasses.replace(self.spec.container,
                                            name=f"fdl-grade-{uuid.uuid4().hex[:12]}")
            self.spec = dataclasses.replace(self.spec, container=container)
        report = None
        if self.spec.container is None:
            from autograder import scratch

            self._report = self._report or scratch.make("launch") / "report.json"
            report = str(self._report)
        cmd = [*launch_prefix(self.spec, report=report), "-B", "-c", BOOTSTRAP]
        limits = self.spec.limits
        try:
            self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE)
        except OSError as exc:
            raise GraderError(f"the sandboxed worker did not start: {exc}") from None
        self._channel = Channel(self._proc, int(limits.max_reply_mb * 2**20),
                                limits.max_reply_items)
        try:
            self._channel.send_bytes(worker_source(), deadline)
            hello = self._channel.receive(deadline)
        except (EOFError, TimeoutError, StudentError) as exc:
            log = self._channel.log.decode("utf-8", "replace").strip()[-1500:]
            self.stop()
            raise GraderError(f"the sandboxed worker did not start "
                              f"({type(exc).__name__}): {log or 'no output'}") from None
        self._channel.close_log()
        if not (type(hello) is tuple and hello[:1] == ("hello",)):
            self.stop()
            raise GraderError(f"the sandboxed worker did not start: it said {hello!r:.200}")
        self.protections = self._read_report()

    def _read_report(self) -> dict[str, str]:
        """What the launcher applied (it wrote the file before it exec'd the sandbox), or
        what the container kind gives."""
        from autograder.sandbox import policy

        if self.spec.container is not None:
            return policy.static_protections(self.spec)
        try:
            data = json.loads(Path(self._report).read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def start(self) -> None:
        """Start the sandboxed interpreter and import the submission into it. A worker
        that cannot start CUDA on a GPU that is here is started once more: on an H100,
        one of 14 workers starting CUDA at the same moment saw no GPU (gpu_check), and
        CUDA's failure sticks to a process."""
        started = time.monotonic()
        for attempt in (1, 2):
            self._load()
            error = self.load_info.get("device_error")
            if not error:
                break
            self.stop()
            if attempt == 2 or not wants_gpu(self.spec):
                raise GraderError(f"sandboxed worker: {error}")
            time.sleep(0.5)
        self.start_seconds = time.monotonic() - started

    def _load(self) -> None:
        """Load the submission by one deadline; cells that crash or hang are left out."""
        deadline = time.monotonic() + self.load_timeout
        while True:
            self._spawn(deadline)
            self.generation += 1
            try:
                self.load_info = self._load_once(deadline)
                return
            except (WorkerCrashed, CallTimeout, ReplyRejected, NotData) as exc:
                cell = self._loading
                self.stop()
                if time.monotonic() >= deadline:
                    raise StudentError(
                        f"Your notebook did not finish loading within {self.load_timeout:g} s"
                        + (f" (it was running {cell} then)" if cell else "")
                        + "; no test could use it. Move long computations out of the "
                        "answer cells.") from None
                if cell is None or cell in self.skip:
                    raise StudentError(f"Your notebook could not be loaded: {exc}") from None
                self.skip[cell] = (
                    f"not loaded: this cell did not finish loading within "
                    f"{self.cell_timeout:g} s" if isinstance(exc, CallTimeout) else
                    "not loaded: running this cell crashed the sandboxed worker"
                    if isinstance(exc, WorkerCrashed) else f"not loaded: {exc}")

    def _load_once(self, deadline: float) -> dict[str, Any]:
        """One attempt: each cell must finish by its own deadline, all by `deadline`. A
        "loading" frame counts only for a cell after the current one (the worker sends
        one per cell; a student thread that repeats them extends nothing)."""
        msg = ("load", inspect.getsource(loader_module), self.module_source,
               list(self.skip.items()), self.spec.device, self.spec.limits.gpu_memory_mb)
        channel = self._channel
        assert channel is not None
        self._loading, position = None, -1
        cell_deadline = min(deadline, time.monotonic() + self.cell_timeout)
        try:
            channel.send(msg, deadline)
            while True:
                reply = channel.receive(cell_deadline, handles=self._handles)
                if type(reply) is tuple and reply[:1] == ("loading",) and len(reply) == 2:
                    label = reply[1]
                    index = self.blocks.index(label) if label in self.blocks else -1
                    if index > position:
                        self._loading, position = label, index
                        cell_deadline = min(deadline, time.monotonic() + self.cell_timeout)
                    continue
                break
        except TimeoutError:
            raise CallTimeout(self.cell_timeout) from None
        except EOFError:
            raise WorkerCrashed("Your code crashed the sandboxed worker while your notebook "
                                "was being loaded.") from None
        try:
            value = self._answer(reply)
        except StudentError:
            raise
        except Exception as exc:  # noqa: BLE001 - the load itself raised: the student's
            raise StudentError(f"Your notebook could not be loaded: "
                               f"{student_code_text(exc)}") from None
        if not isinstance(value, dict) or not isinstance(value.get("names"), list):
            raise ReplyRejected("the sandboxed worker answered the load with something else")
        errors = value.get("errors")
        value["errors"] = {str(k): str(v) for k, v in errors.items()} \
            if isinstance(errors, dict) else {}
        value["names"] = [n for n in value["names"] if type(n) is str]
        return value

    def stop(self) -> None:
        proc, self._proc, self._channel = self._proc, None, None
        if proc is not None:
            try:
                proc.kill()  # no graceful exit for untrusted code
            except OSError:
                pass
            for pipe in (proc.stdin, proc.stdout, proc.stderr):
                try:
                    if pipe is not None:
                        pipe.close()
                except OSError:
                    pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            kill = kill_command(self.spec.kind, self.spec.container) \
                if self.spec.container is not None else None
            if kill:  # the container outlives its docker client
                subprocess.run(kill, capture_output=True, timeout=30)

    def close(self) -> None:
        self.stop()
        if self._report is not None:
            import shutil

            shutil.rmtree(Path(self._report).parent, ignore_errors=True)

    def ensure(self) -> None:
        """A running worker with the submission loaded (by the load deadlines)."""
        if self._proc is None:
            if self.generation:
                self.restarts += 1
            self.start()

    def seed(self, value: int) -> None:
        """Seed the worker's random generators (Python, numpy, torch) before a test, so a
        notebook gets the same score every run; a dead worker is left for the test."""
        if self._proc is not None:
            try:
                self._request(("seed", int(value)), self.call_timeout)
            except Exception:  # noqa: BLE001 - the student's doing; the test will tell
                pass

    # --- calls ---------------------------------------------------------------
    def request(self, msg: tuple, timeout: float, generation: int | None = None) -> Any:
        """Send one request; decode the answer; student errors re-raised as such."""
        if generation is not None and generation != self.generation:
            raise StudentError("this object was lost when the sandboxed worker restarted after "
                               "an earlier failure (time-out or crash) in this test run")
        self.ensure()
        return self._request(msg, timeout)

    def _request(self, msg: tuple, timeout: float) -> Any:
        channel = self._channel
        assert channel is not None
        deadline = time.monotonic() + timeout
        try:
            channel.send(msg, deadline)
            reply = channel.receive(deadline, handles=self._handles)
        except TimeoutError:
            self.stop()
            raise CallTimeout(timeout) from None
        except EOFError:
            self.stop()
            raise WorkerCrashed(
                "Your code crashed the sandboxed worker during this call (it was killed: out "
                "of memory, too many processes, a crash in native code or os._exit). The "
                "remaining tests ran in a fresh worker.") from None
        except ReplyRejected:
            self.stop()  # the stream cannot be trusted to be in step any more
            raise
        return self._answer(reply)

    def _answer(self, reply: Any) -> Any:
        if type(reply) is not tuple or not reply or reply[0] not in ("ok", "error"):
            self.stop()
            raise ReplyRejected("The sandboxed worker sent a malformed reply (did your code "
                                "write to the worker's channel?).")
        if reply[0] == "error":
            _, kind, name, message, location = (list(reply) + [None] * 5)[:5]
            raise reraised(str(name)[:200], str(message)[:2000],
                           location[:200] if type(location) is str else None,
                           _kind(kind))
        return reply[1] if len(reply) > 1 else None

    def _handles(self, key: int, typename: str, is_callable: bool) -> "RemoteObject":
        return RemoteObject(self, key, typename, is_callable, self.generation)


def _kind(value: Any) -> Kind:
    """The error reply's kind: `EXIT` where the worker said so, else `RAISED`."""
    return EXIT if type(value) is str and value == EXIT else RAISED


# --- values: trusted -> worker -------------------------------------------------------
def encode(value: Any) -> Any:
    """Arguments for the worker: data as it is (wire encodes tensors and arrays), proxies
    as references, numpy scalars as numbers, dict subclasses as dicts."""
    kind = type(value)
    if value is None or kind in (bool, int, float, str, bytes, slice):
        return value
    if isinstance(value, RemoteObject):
        return wire.Ref(object.__getattribute__(value, "_id"))
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return value.detach().cpu() if type(value) is torch.Tensor else \
            value.detach().cpu().as_subclass(torch.Tensor)
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, np.ndarray):
        return value
    if np is not None and isinstance(value, np.generic):
        return value.item()
    if kind is list:
        return [encode(v) for v in value]
    if kind is tuple:
        return tuple(encode(v) for v in value)
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    raise TypeError(f"cannot pass a {kind.__name__} to the sandboxed worker; use a recipe")


class RemoteObject:
    """A student object that lives in the worker: call it, read its attributes."""

    __slots__ = ("_worker", "_id", "_type", "_callable", "_generation")

    def __init__(self, worker: Worker, oid: int, typename: str, is_callable: bool,
                 generation: int) -> None:
        object.__setattr__(self, "_worker", worker)
        object.__setattr__(self, "_id", oid)
        object.__setattr__(self, "_type", typename)
        object.__setattr__(self, "_callable", is_callable)
        object.__setattr__(self, "_generation", generation)

    def _ask(self, *msg: Any) -> Any:
        worker: Worker = object.__getattribute__(self, "_worker")
        return worker.request(msg, worker.call_timeout,
                              object.__getattribute__(self, "_generation"))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._ask("getattr", object.__getattribute__(self, "_id"), name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._ask("call", object.__getattribute__(self, "_id"),
                         encode(list(args)), dict((k, encode(v)) for k, v in kwargs.items()))

    def __iter__(self) -> Any:
        return iter(self._ask("list", object.__getattribute__(self, "_id")))

    def __len__(self) -> int:
        return int(self._ask("len", object.__getattribute__(self, "_id")))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("tests may not modify student objects in the sandbox")

    def __eq__(self, other: Any) -> bool:
        raise NotData(f"your code returned a {object.__getattribute__(self, '_type')} object "
                      f"where data (a tensor, number, list...) was expected")

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        raise NotData(f"your code returned a {object.__getattribute__(self, '_type')} object "
                      f"where a truth value was expected")

    def __float__(self) -> float:
        raise NotData(f"your code returned a {object.__getattribute__(self, '_type')} object "
                      f"where a number was expected")

    def __repr__(self) -> str:
        return f"<student {object.__getattribute__(self, '_type')} in the sandbox>"


class RemoteSubmission:
    """The `submission` fixture in sandboxed mode: the student's module, in the worker."""

    def __init__(self, worker: Worker, problems: dict[str, str]) -> None:
        object.__setattr__(self, "_worker", worker)
        object.__setattr__(self, "_problems", problems)

    def __getattr__(self, name: str) -> Any:
        from autograder.core.view import missing_definition

        worker: Worker = object.__getattribute__(self, "_worker")
        worker.ensure()
        info = worker.load_info
        if name not in info.get("names", []):
            raise missing_definition(name, object.__getattribute__(self, "_problems"),
                                     info.get("errors", {}))
        return worker.request(("getattr", info["module"], name), worker.call_timeout)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("tests may not modify the submission")

    def __repr__(self) -> str:
        return "<submission in the sandboxed worker>"
