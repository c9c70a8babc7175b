"""Opening the sandboxed worker's execnet gateway without compiling execnet inside it.

execnet starts a `popen` gateway by sending the source of its `gateway_base` module
(59 KB) to the new interpreter, which compiles it: 17 ms of every worker's start, that is
of every grading. Here the trusted side compiles that module once per process (the fork
pool's parent, so once per batch) and sends the code object marshalled. The worker runs it
only if it is the same Python (cache tag and version, which fix the marshal format: the
venv's interpreter on both sides for the local sandbox kinds); any other interpreter (a
container's) compiles the source, exactly as execnet does. Everything else is execnet's own
`popen` path (`Group.makegateway`); an execnet without the pieces used here falls back to
`execnet.makegateway`.
"""

from __future__ import annotations

import base64
import inspect
import marshal
import sys
import zlib
from functools import lru_cache

import execnet
from execnet import gateway_base

try:  # execnet's internals, as `Group.makegateway` uses them for popen gateways (2.x)
    from execnet import gateway_io
    from execnet.multi import default_group
except ImportError:  # pragma: no cover - another execnet: its own bootstrap
    gateway_io = None  # type: ignore[assignment]


@lru_cache(maxsize=1)
def _gateway_base_code() -> tuple[str, str, str]:
    """(cache tag, gateway_base's code object marshalled, its source), both compressed and
    in base64: the line is parsed by the worker, and a bytes literal of the raw marshal
    data (369 KB as Python source) took longer to parse than the module to compile."""
    source = inspect.getsource(gateway_base)
    code = compile(source, "<execnet gateway_base>", "exec")
    return (sys.implementation.cache_tag or "", _pack(marshal.dumps(code)),
            _pack(source.encode("utf-8")))


def _pack(data: bytes) -> str:
    return base64.b64encode(zlib.compress(data, 9)).decode("ascii")


def warm() -> None:
    """Compile and pack gateway_base now (a fork pool's parent, before it forks)."""
    _gateway_base_code()


def bootstrap_source(execmodel: str, gateway_id: str) -> str:
    """What the new interpreter executes first: execnet's gateway, then its serve loop."""
    tag, code, source = _gateway_base_code()
    return (f"import sys, marshal, binascii, zlib\n"
            f"if sys.implementation.cache_tag == {tag!r} and "
            f"tuple(sys.version_info[:3]) == {tuple(sys.version_info[:3])!r}:\n"
            f"    exec(marshal.loads(zlib.decompress(binascii.a2b_base64({code!r}))))\n"
            f"else:\n"
            f"    exec(compile(zlib.decompress(binascii.a2b_base64({source!r})), "
            f"'<execnet gateway_base>', 'exec'))\n"
            f"execmodel = get_execmodel({execmodel!r})\n"
            f"io = init_popen_io(execmodel)\n"
            f"io.write('1'.encode('ascii'))\n"
            f"serve(io, id={gateway_id + '-worker'!r})\n")


def open_gateway(spec: execnet.XSpec) -> execnet.Gateway:
    """`execnet.makegateway(spec)` for a popen spec, with the marshalled bootstrap."""
    group = default_group if gateway_io is not None else None
    if group is None or not spec.popen or spec.via or not hasattr(group, "_register"):
        return execnet.makegateway(spec)
    group.allocate_id(spec)
    if spec.execmodel is None:
        spec.execmodel = group.remote_execmodel.backend
    io = gateway_io.create_io(spec, execmodel=group.execmodel)
    try:  # as execnet's bootstrap_exec: a worker that dies at once fails its first call
        io.write((repr(bootstrap_source(spec.execmodel, spec.id)) + "\n").encode("utf-8"))
        answer = io.read(1)
        assert answer == b"1", repr(answer)
    except EOFError:
        io.wait()
    gateway = execnet.Gateway(io, spec)
    gateway.spec = spec
    group._register(gateway)
    return gateway
