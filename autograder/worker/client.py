"""The trusted side of the worker: start it in its sandbox, call into it, decode safely.

A `Worker` owns one sandboxed interpreter (an execnet popen gateway whose `python` is
our launcher). Calls carry a time limit: a call that does not answer in time, or a
worker that dies (out of memory, a fork bomb hitting its pids limit, os._exit), fails
that call with a student-facing message; the worker is started again on the next call
and the submission re-imported, so the remaining tests still run. Objects from before
a restart are gone, and using one says so.
"""

from __future__ import annotations

import builtins
import dataclasses
import inspect
import io
import shlex
import subprocess
import sys
import time
import uuid
from typing import Any

import execnet

from autograder import loader as loader_module
from autograder.errors import GraderError, StudentError
from autograder.plugin.messages import CallTimeout
from autograder.sandbox.containers import kill_command
from autograder.sandbox.policy import SandboxSpec, launch_prefix, wants_gpu
from autograder.worker import server as server_module
from autograder.worker.bootstrap import open_gateway


class WorkerCrashed(StudentError):
    """The sandboxed worker died while running student code."""


class StudentException(Exception):
    """A student exception whose type is not a builtin (e.g. torch's own errors)."""


class NotData(StudentError):
    """A student object used where data was expected (custom __eq__, tensor subclasses)."""


def _reraise(name: str, message: str, location: str | None) -> BaseException:
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception) and cls not in (
            StopIteration, StopAsyncIteration):
        try:
            exc: BaseException = cls(message)
        except Exception:  # noqa: BLE001 - builtins with odd constructors
            exc = StudentException(f"{name}: {message}")
    elif name == "SystemExit":
        exc = StudentException(f"your code called sys.exit({message})")
    else:
        exc = StudentException(f"{name}: {message}")
    exc.student_location = location  # type: ignore[attr-defined]
    return exc


class Worker:
    """One sandboxed interpreter holding one submission."""

    def __init__(self, spec: SandboxSpec, module_source: str) -> None:
        self.spec = spec
        self.module_source = module_source
        self.generation = 0
        self.load_info: dict[str, Any] = {}
        self._gateway: execnet.Gateway | None = None
        self._channel: Any = None
        self.restarts = 0
        self.start_seconds = 0.0
        self.call_timeout = 60.0  # seconds; the plugin sets it per test
        self.skip: dict[str, str] = {}  # cells not to run again: they killed the worker
        self._loading: str | None = None
        self.load_timeout = 30.0  # seconds to start the worker and import the submission

    # --- lifecycle -----------------------------------------------------------
    def _spawn(self) -> None:
        if self.spec.container is not None:  # a fresh container name per start
            container = dataclasses.replace(self.spec.container,
                                            name=f"fdl-grade-{uuid.uuid4().hex[:12]}")
            self.spec = dataclasses.replace(self.spec, container=container)
        # set as an attribute, not in the spec string: execnet would split a string at
        # any "//" inside the command line
        xspec = execnet.XSpec("popen//dont_write_bytecode")
        xspec.python = shlex.join(launch_prefix(self.spec))
        self._gateway = open_gateway(xspec)  # execnet's popen gateway, precompiled
        self._channel = self._gateway.remote_exec(inspect.getsource(server_module))

    def start(self, timeout: float) -> None:
        """Start the sandboxed interpreter and import the submission into it. A worker
        that cannot start CUDA on a GPU that is here is started once more: on an H100,
        one of 14 workers starting CUDA at the same moment saw no GPU (gpu_check), and
        CUDA's failure sticks to a process."""
        started = time.monotonic()
        for attempt in (1, 2):
            self._load(timeout)
            error = self.load_info.get("device_error")
            if not error:
                break
            self.stop()
            if attempt == 2 or not wants_gpu(self.spec):
                raise GraderError(f"sandboxed worker: {error}")
            time.sleep(0.5)
        self.start_seconds = time.monotonic() - started

    def _load(self, timeout: float) -> None:
        timeout = max(timeout, self.load_timeout)
        self._spawn()
        self.generation += 1
        msg = ("load", inspect.getsource(loader_module), self.module_source,
               list(self.skip.items()), self.spec.device, self.spec.limits.gpu_memory_mb)
        for _attempt in range(20):
            try:
                self.load_info = self._request(msg, timeout, loading=True)
                break
            except (WorkerCrashed, CallTimeout) as exc:
                if self._loading is None or self._loading in self.skip:
                    raise
                # that cell killed or hung the worker while loading: load without it
                self.skip[self._loading] = (
                    "not loaded: running this cell crashed or hung the sandboxed worker"
                    if isinstance(exc, WorkerCrashed) else
                    f"not loaded: this cell did not finish loading within {timeout:g} s")
                self._spawn()
                msg = (*msg[:3], list(self.skip.items()), *msg[4:])

    def stop(self) -> None:
        gateway, self._gateway, self._channel = self._gateway, None, None
        if gateway is not None:
            try:
                gateway._io.kill()  # noqa: SLF001 - no graceful exit for untrusted code
            except Exception:  # noqa: BLE001
                pass
            try:
                gateway.exit()
            except Exception:  # noqa: BLE001
                pass
            kill = kill_command(self.spec.kind, self.spec.container) \
                if self.spec.container is not None else None
            if kill:  # the container outlives its docker client
                subprocess.run(kill, capture_output=True, timeout=30)

    def ensure(self, timeout: float) -> None:
        if self._gateway is None:
            if self.generation:
                self.restarts += 1
            self.start(timeout)

    def seed(self, value: int) -> None:
        """Seed the worker's random generators (Python, numpy, torch) before a test, so a
        notebook gets the same score every run; a dead worker is left for the test."""
        if self._gateway is not None:
            try:
                self._request(("seed", int(value)), self.call_timeout)
            except (WorkerCrashed, CallTimeout):
                pass

    # --- calls ---------------------------------------------------------------
    def request(self, msg: tuple, timeout: float, generation: int | None = None) -> Any:
        """Send one request; decode the answer; student errors re-raised as such."""
        if generation is not None and generation != self.generation:
            raise StudentError("this object was lost when the sandboxed worker restarted after "
                               "an earlier failure (time-out or crash) in this test run")
        self.ensure(timeout)
        return self._request(msg, timeout)

    def _request(self, msg: tuple, timeout: float, loading: bool = False) -> Any:
        channel = self._channel
        self._loading = None
        try:
            channel.send(msg)
            reply = channel.receive(timeout=timeout)
            while loading and isinstance(reply, tuple) and reply[:1] == ("loading",):
                self._loading = str(reply[1])
                reply = channel.receive(timeout=timeout)
        except channel.TimeoutError:
            self.stop()
            raise CallTimeout(timeout) from None
        except (EOFError, OSError, execnet.RemoteError, execnet.gateway_base.GatewayReceivedTerminate) as exc:
            self.stop()
            when = "while your notebook was being loaded" if loading else "during this call"
            raise WorkerCrashed(
                f"Your code crashed the sandboxed worker {when} (it was killed: out of memory, "
                f"too many processes, a crash in native code or os._exit). The remaining tests "
                f"ran in a fresh worker.") from exc
        if not isinstance(reply, tuple) or not reply or reply[0] not in ("ok", "error"):
            self.stop()
            raise WorkerCrashed("the sandboxed worker sent a malformed reply")
        if reply[0] == "error":
            _, name, message, location = (list(reply) + [None] * 4)[:4]
            raise _reraise(str(name), str(message), location if isinstance(location, str) else None)
        return decode(reply[1], self)


# --- values: worker -> trusted -------------------------------------------------------
def decode(value: Any, worker: Worker) -> Any:
    """Turn a reply into data or proxies; only exact builtin types and plain tensors."""
    if value is None or type(value) in (bool, int, float, str, bytes):
        return value
    if type(value) is not tuple or not value:
        raise WorkerCrashed("the sandboxed worker sent an undecodable value")
    tag = value[0]
    if tag == "tensor":
        import torch

        tensor = torch.load(io.BytesIO(value[1]), weights_only=True)
        if type(tensor) is not torch.Tensor:
            raise NotData("a returned value is not a plain torch.Tensor")
        return tensor
    if tag == "ndarray":
        import numpy as np

        array = np.load(io.BytesIO(value[1]), allow_pickle=False)
        if type(array) is not np.ndarray:
            raise NotData("a returned value is not a plain numpy array")
        return array
    if tag == "list":
        return [decode(v, worker) for v in value[1]]
    if tag == "tuple":
        return tuple(decode(v, worker) for v in value[1])
    if tag == "dict":
        return {k: decode(v, worker) for k, v in value[1]}
    if tag == "handle":
        return RemoteObject(worker, int(value[1]), str(value[2]), bool(value[3]),
                            worker.generation)
    raise WorkerCrashed(f"the sandboxed worker sent an unknown value tag {tag!r}")


# --- values: trusted -> worker -------------------------------------------------------
def encode(value: Any) -> Any:
    """Arguments for the worker: builtin data, tensors/arrays as bytes, proxies as refs."""
    kind = type(value)
    if value is None or kind in (bool, int, float, str, bytes):
        return value
    if isinstance(value, RemoteObject):
        return ("ref", object.__getattribute__(value, "_id"))
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        buf = io.BytesIO()
        torch.save(value.detach().cpu().clone(), buf)
        return ("tensor", buf.getvalue())
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, np.ndarray):
        buf = io.BytesIO()
        np.save(buf, value, allow_pickle=False)
        return ("ndarray", buf.getvalue())
    if np is not None and isinstance(value, np.generic):
        return value.item()
    if kind is list:
        return ("list", [encode(v) for v in value])
    if kind is tuple:
        return ("tuple", [encode(v) for v in value])
    if isinstance(value, dict):
        return ("dict", [(k, encode(v)) for k, v in value.items()])
    if kind is slice:
        return ("slice", [value.start, value.stop, value.step])
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
        from autograder.plugin.view import missing_definition

        worker: Worker = object.__getattribute__(self, "_worker")
        worker.ensure(worker.call_timeout)
        info = worker.load_info
        if name not in info.get("names", []):
            raise missing_definition(name, object.__getattribute__(self, "_problems"),
                                     info.get("errors", {}))
        return worker.request(("getattr", info["module"], name), worker.call_timeout)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("tests may not modify the submission")

    def __repr__(self) -> str:
        return "<submission in the sandboxed worker>"
