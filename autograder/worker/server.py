"""The sandboxed worker: runs inside the sandbox, imports the submission, answers calls.

Its source runs in a bare interpreter inside the sandbox, after those of `wire.py` and
`recipes.py` in the same namespace (`Worker._spawn` sends the three), so it imports nothing from the project:
standard library, plus torch/numpy when data of theirs crosses. It reads request frames
from one pipe and writes reply frames to another (the descriptors the bootstrap saved;
fds 0, 1 and 2 point at /dev/null once it has said hello). What it sends is data in
`wire`'s format, or handles: ids into this process's table of objects.

Requests (tuples): ("load", loader_source, module_source, skip, device, gpu_memory_mb)
(answers ("loading", label) before each block it runs), ("getattr", id, name),
("call", id, args, kwargs), ("callmethod", id, name, args, kwargs), ("len", id),
("list", id), ("repr", id), ("recipe", name, args, kwargs), ("seed", n), ("ping",).
Replies: ("hello", pid) once at start, then ("ok", value) or ("error", kind, exception
type name, message, "cell 'x', line n" or None): kind is "exit" for SystemExit (sys.exit;
the message is its argument) and "raised" for every other exception; the trusted side
re-raises it as a `StudentCodeError` with these fields (`core.errors.reraised`).

Nothing here is trusted by the other side: student code shares this process and may
rewrite any of it, or write to the reply pipe itself.
"""

import builtins
import os
import sys
import tempfile

if __name__ != "fdl_worker":  # imported on the trusted side (trusted-mode recipes)
    from autograder.core.recipes import build_recipe
    from autograder.worker.wire import HEADER, decode_value, encode_value, frame

_objects = {}  # handle id -> object
_state = {"module": None, "loaded": None, "device": "cpu"}
_MAX_REQUEST_BYTES = 1 << 34  # the trusted side's own requests: no limit worth setting


def _register(obj):
    key = id(obj)
    _objects[key] = obj
    return key


def _handle(obj):
    """(id, type name, callable) of an object that stays here."""
    try:
        is_callable = callable(obj)
    except BaseException:  # noqa: BLE001 - a __class__ property that raises
        is_callable = False
    return _register(obj), str(type(obj).__name__)[:200], bool(is_callable)


def encode(value):
    return encode_value(value, handle=_handle)


def _placed(value):
    """Tensors from the trusted side moved to the device student code runs on."""
    if _state["device"] == "cpu":
        return value
    kind = type(value)
    if kind is list:
        return [_placed(v) for v in value]
    if kind is tuple:
        return tuple(_placed(v) for v in value)
    if kind is dict:
        return {k: _placed(v) for k, v in value.items()}
    torch = sys.modules.get("torch")
    if torch is not None and type(value) is torch.Tensor:
        return value.to(_state["device"])
    return value


def decode(data):
    return _placed(decode_value(data, max_items=1 << 40, refs=_objects.__getitem__))


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
def _load(loader_source, module_source, skip, send, device="cpu", gpu_memory_mb=None):
    """Import the submission block by block; whatever a block does, the answer is data:
    the names it defined (strings only), the errors of its blocks, the module's handle."""
    import types

    _state["device"], device_error = _use_device(device, gpu_memory_mb)
    if device_error:
        return {"errors": {}, "names": [], "module": None, "device": _state["device"],
                "device_error": device_error}

    loader = types.ModuleType("autograder_loader")
    sys.modules[loader.__name__] = loader  # dataclasses look their module up
    exec(compile(loader_source, "autograder_loader.py", "exec"), loader.__dict__)
    namespace = loader.__dict__
    folder = tempfile.mkdtemp(prefix="submission-")
    path = os.path.join(folder, "submission.py")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(module_source)
    loaded = namespace["load_blocks"](path, "submission", skip=skip,
                                      on_block=lambda label: send(("loading", label)))
    _state["module"], _state["loaded"] = loaded.module, loaded
    names = sorted(n for n in list(vars(loaded.module)) if type(n) is str
                   and not n.startswith("__"))
    return {"errors": {str(k): str(v) for k, v in loaded.errors.items()}, "names": names,
            "module": _register(loaded.module), "device": _state["device"]}


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


def handle(msg, send):
    op = msg[0]
    if op == "load":
        return _load(msg[1], msg[2], dict(msg[3]), send, *msg[4:6])
    if op == "getattr":
        return getattr(_objects[msg[1]], msg[2])
    if op == "call":
        return _objects[msg[1]](*msg[2], **msg[3])
    if op == "callmethod":
        return getattr(_objects[msg[1]], msg[2])(*msg[3], **msg[4])
    if op == "len":
        return int(len(_objects[msg[1]]))
    if op == "list":
        return list(_objects[msg[1]])
    if op == "repr":
        return str(repr(_objects[msg[1]]))[:500]
    if op == "recipe":
        return build_recipe(msg[1], msg[2], msg[3], _state["device"])
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


def _read_exact(fd, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, min(n - len(buf), 1 << 20))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _writer(fd):
    def send(value):
        _write_all(fd, frame(encode(value)))
    return send


def serve(read_fd, write_fd):
    main_pid = os.getpid()
    send = _writer(write_fd)
    send(("hello", main_pid))
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # student output never floods the grader's log
    sys.stderr = open(os.devnull, "w")
    while True:
        try:
            (size,) = HEADER.unpack(_read_exact(read_fd, HEADER.size))
            if size > _MAX_REQUEST_BYTES:
                return
            msg = decode(_read_exact(read_fd, size))
        except EOFError:
            return
        try:
            data = frame(encode(("ok", handle(msg, send))))
        except BaseException as exc:  # noqa: BLE001 - every student failure is reported
            try:
                data = frame(encode(_error_reply(exc)))
            except BaseException:  # noqa: BLE001 - student code broke the encoder itself
                data = frame(encode_value(("error", "raised", "Exception", "<unsendable>",
                                           None)))
        if os.getpid() != main_pid:
            os._exit(0)  # a child the student forked came back here: it never answers
        _write_all(write_fd, data)


def _error_reply(exc):
    """("error", kind, type name, message, student location) for any exception."""
    try:
        kind = "exit" if isinstance(exc, SystemExit) else "raised"
    except BaseException:  # noqa: BLE001 - a __class__ property that raises
        kind = "raised"
    try:
        name = str(type(exc).__name__)[:200]
        if not (isinstance(getattr(builtins, name, None), type)
                and issubclass(getattr(builtins, name), BaseException)):
            name = f"{str(type(exc).__module__)[:100]}.{name}"
    except BaseException:  # noqa: BLE001 - a metaclass that raises
        name = "Exception"
    try:
        message = str(exc)[:2000]
    except BaseException:  # noqa: BLE001 - a __str__ that raises
        message = "<unprintable>"
    try:
        location = _location(exc)
    except BaseException:  # noqa: BLE001
        location = None
    return ("error", kind, name, message, location if type(location) is str else None)


if __name__ == "fdl_worker":
    serve(*_FDS)  # noqa: F821 - the bootstrap provides the saved descriptors
