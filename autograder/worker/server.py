"""The sandboxed worker: runs inside the sandbox, imports the submission, answers calls.

This file is sent as source over an execnet channel (`gateway.remote_exec`) and runs in a
bare interpreter inside the sandbox, so it imports nothing from the project: standard
library, plus torch/numpy when data of theirs crosses. Everything that comes back is
builtin data (execnet carries nothing else), tensors as `torch.save` bytes and arrays as
`np.save` bytes, other objects as handles: ids into this process's table.

Requests (tuples): ("load", loader_source, module_source, skip, device, gpu_memory_mb) (answers
("loading", label) before each block it runs), ("getattr", id, name),
("call", id, args, kwargs), ("callmethod", id, name, args, kwargs), ("len", id),
("list", id), ("repr", id), ("recipe", name, args, kwargs). Replies: ("ok", value) or
("error", exception type name, message, "cell 'x', line n" or None).
"""

import builtins
import io
import os
import sys
import tempfile

_objects = {}  # handle id -> object
_state = {"module": None, "loaded": None, "device": "cpu"}


def _register(obj):
    key = id(obj)
    _objects[key] = obj
    return key


# --- values: worker -> trusted ---------------------------------------------------------
def encode(value, depth=0):
    if depth > 20:
        raise ValueError("data nested too deeply to return")
    kind = type(value)
    if value is None or kind in (bool, int, float, str, bytes):
        return value
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor) and (
            kind is torch.Tensor or kind is torch.nn.Parameter):
        buf = io.BytesIO()
        torch.save(value.detach().cpu().clone(), buf)
        return ("tensor", buf.getvalue())
    np = sys.modules.get("numpy")
    if np is not None:
        if kind is np.ndarray and value.dtype != object:
            buf = io.BytesIO()
            np.save(buf, value, allow_pickle=False)
            return ("ndarray", buf.getvalue())
        if isinstance(value, np.generic) and kind.__module__ == "numpy":
            return encode(value.item(), depth + 1)
    if kind is list:
        return ("list", [encode(v, depth + 1) for v in value])
    if kind is tuple:
        return ("tuple", [encode(v, depth + 1) for v in value])
    if kind is dict or (kind.__name__ == "OrderedDict" and kind.__module__ == "collections"):
        items = []
        for k, v in value.items():
            if type(k) not in (str, int, float, bool) and k is not None:
                return _handle(value)
            items.append((k, encode(v, depth + 1)))
        return ("dict", items)
    return _handle(value)


def _handle(value):
    return ("handle", _register(value), type(value).__name__, callable(value))


# --- values: trusted -> worker ---------------------------------------------------------
def decode(value):
    if not isinstance(value, tuple):
        return value
    tag = value[0]
    if tag == "tensor":
        import torch

        tensor = torch.load(io.BytesIO(value[1]), weights_only=True)
        return tensor if _state["device"] == "cpu" else tensor.to(_state["device"])
    if tag == "ndarray":
        import numpy as np

        return np.load(io.BytesIO(value[1]), allow_pickle=False)
    if tag == "list":
        return [decode(v) for v in value[1]]
    if tag == "tuple":
        return tuple(decode(v) for v in value[1])
    if tag == "dict":
        return {k: decode(v) for k, v in value[1]}
    if tag == "ref":
        return _objects[value[1]]
    if tag == "slice":
        return slice(*value[1])
    raise ValueError(f"unknown value tag {tag!r}")


# --- recipes: objects tests pass in, built here from names ----------------------------
def _recipe(name, args, kwargs):
    if name == "torch.Generator":
        import torch

        return torch.Generator(device=_state["device"]).manual_seed(int(args[0]))
    if name == "flop_count":  # (fn, *args): matmul/conv flops of fn(*args), counted here
        from torch.utils.flop_counter import FlopCounterMode

        with FlopCounterMode(display=False) as counter:
            args[0](*args[1:], **kwargs)
        return int(counter.get_total_flops())
    if name.startswith("torch.nn.functional."):
        import torch.nn.functional as F

        return getattr(F, name.rsplit(".", 1)[1])
    if name.startswith("torch.nn."):
        import torch.nn as nn

        cls = getattr(nn, name.rsplit(".", 1)[1])
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise ValueError(f"recipe {name} is not a torch.nn module")
        return cls(*args, **kwargs)
    raise ValueError(f"unknown recipe {name!r}")


# --- the device student code runs on ------------------------------------------------
def _use_device(choice, gpu_memory_mb=None):
    """'cpu', or 'cuda': torch's default device, so tensors the student's code makes land
    on the GPU, and tensors from the grader are moved there by `decode`; everything sent
    back is copied to the CPU by `encode`. TF32 off: results are compared with float32
    values computed on the CPU. PyTorch's allocator is capped at `gpu_memory_mb`.
    Returns (device, error or None)."""
    if choice == "cpu" or (choice == "auto" and not any(
            name.startswith("nvidia") for name in os.listdir("/dev"))):
        return "cpu", None  # numpy-only submissions never import torch for this
    import torch

    if not torch.cuda.is_available():
        if choice == "auto":
            return "cpu", None
        return "cpu", ("CUDA was asked for but the sandboxed worker sees no usable GPU"
                       + _cuda_failure(torch))
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    if gpu_memory_mb:
        total = torch.cuda.get_device_properties(0).total_memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, gpu_memory_mb * 2**20 / total))
    torch.set_default_device("cuda")
    _follow_default_device(torch)
    return "cuda", None


def _cuda_failure(torch):
    """': <why CUDA did not start>' from the driver, or '' when it gives no reason."""
    try:
        torch.cuda.init()
    except Exception as exc:  # noqa: BLE001 - the driver's reason, for the grader's log
        lines = str(exc).strip().splitlines()
        return f": {lines[0]}" if lines else f": {type(exc).__name__}"
    return ""


def _follow_default_device(torch):
    """Code written for the CPU runs unchanged on the GPU: a Generator made without a
    device is made on the default device, as tensors are (else `torch.randperm(n,
    generator=torch.Generator())` fails), and `.numpy()` of a CUDA tensor copies it to the
    CPU first, where it would raise (so `np.asarray(action)` works as on the CPU)."""
    base = torch.Generator

    class DefaultDevice(type(base)):
        def __call__(cls, device=None):
            return base(device if device is not None else torch.get_default_device())

        def __instancecheck__(cls, obj):
            return isinstance(obj, base)

    torch.Generator = DefaultDevice("Generator", (base,), {})
    to_numpy = torch.Tensor.numpy

    def numpy(self, *, force=False):
        return to_numpy(self if self.device.type == "cpu" else self.cpu(), force=force)

    torch.Tensor.numpy = numpy


# --- requests -------------------------------------------------------------------------
def _load(loader_source, module_source, skip, channel, device="cpu", gpu_memory_mb=None):
    import types

    _state["device"], device_error = _use_device(device, gpu_memory_mb)
    if device_error:
        return encode({"errors": {}, "names": [], "module": None, "device": _state["device"],
                       "device_error": device_error})

    loader = types.ModuleType("autograder_loader")
    sys.modules[loader.__name__] = loader  # dataclasses look their module up
    exec(compile(loader_source, "autograder_loader.py", "exec"), loader.__dict__)
    namespace = loader.__dict__
    folder = tempfile.mkdtemp(prefix="submission-")
    path = os.path.join(folder, "submission.py")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(module_source)
    loaded = namespace["load_blocks"](path, "submission", skip=skip,
                                      on_block=lambda label: channel.send(("loading", label)))
    _state["module"], _state["loaded"] = loaded.module, loaded
    names = sorted(n for n in vars(loaded.module) if not n.startswith("__"))
    return encode({"errors": dict(loaded.errors), "names": names,
                   "module": _register(loaded.module), "device": _state["device"]})


def _location(exc):
    loaded = _state["loaded"]
    if loaded is None:
        return None
    where = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == str(loaded.path):
            where = loaded.cell_location(tb.tb_lineno)
        tb = tb.tb_next
    return where


def handle(msg, channel):
    op = msg[0]
    if op == "load":
        return _load(msg[1], msg[2], dict(msg[3]), channel, *msg[4:6])  # already encoded
    if op == "getattr":
        return encode(getattr(_objects[msg[1]], msg[2]))
    if op == "call":
        return encode(_objects[msg[1]](*decode(msg[2]), **decode(msg[3])))
    if op == "callmethod":
        return encode(getattr(_objects[msg[1]], msg[2])(*decode(msg[3]), **decode(msg[4])))
    if op == "len":
        return int(len(_objects[msg[1]]))
    if op == "list":
        return encode(list(_objects[msg[1]]))
    if op == "repr":
        return str(repr(_objects[msg[1]]))[:500]
    if op == "recipe":
        return encode(_recipe(msg[1], decode(msg[2]), {k: decode(v) for k, v in msg[3].items()}))
    if op == "seed":  # every test starts from the same random state, run after run
        import random

        random.seed(msg[1])
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed(msg[1] % 2**32)
        if "torch" in sys.modules:
            sys.modules["torch"].manual_seed(msg[1])
        return None
    if op == "ping":
        return "pong"
    raise ValueError(f"unknown request {op!r}")


def serve(channel):
    main_pid = os.getpid()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # student output never floods the grader's log
    sys.stderr = open(os.devnull, "w")
    while True:
        try:
            msg = channel.receive()
        except EOFError:
            return
        try:
            reply = ("ok", handle(msg, channel))
        except BaseException as exc:  # noqa: BLE001 - every student failure is reported
            reply = _error_reply(exc)
        if os.getpid() != main_pid:
            os._exit(0)  # a child the student forked came back here: it never answers
        channel.send(reply)


def _error_reply(exc):
    """("error", type name, message, student location) for any exception."""
    name = type(exc).__name__
    if not (isinstance(getattr(builtins, name, None), type)
            and issubclass(getattr(builtins, name), BaseException)):
        name = f"{type(exc).__module__}.{name}"
    try:
        message = str(exc)[:2000]
    except BaseException:  # noqa: BLE001 - a __str__ that raises
        message = "<unprintable>"
    return ("error", name, message, _location(exc))


if __name__ == "__channelexec__":
    serve(channel)  # noqa: F821 - execnet provides `channel`
