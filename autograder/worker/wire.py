"""The worker's wire format: length-prefixed frames of tagged values, parsed with limits.

Both ends of the channel use this file: the trusted side imports it, the sandboxed
worker receives its source at start-up (standard library only; numpy and torch are
imported only when an array or a tensor crosses). A frame is an 8-byte big-endian
length and that many bytes of one encoded value. A value is a one-byte tag, then:

    N T F            None, True, False
    I len bytes      int, signed big-endian, at most MAX_INT_BYTES bytes
    D 8 bytes        float (IEEE 754 double, big-endian)
    S len utf-8      str            B len bytes     bytes
    L n values       list           U n values      tuple
    M n (key value)  dict; keys are None, bool, int, float or str
    A dtype shape data   tensor: a dense CPU tensor's C-order bytes
    Y dtype shape data   numpy array: the same, for an ndarray
    H id type callable   a handle: an object that stays in the worker
    R id                 a reference to such an object (trusted side -> worker)
    E start stop step    slice
    X type               "not data": an object of this type that cannot cross

`len` and `n` are 4-byte big-endian counts. `decode` reads what `encode` writes and
nothing else. Whatever the bytes, what it builds is bounded by the frame itself: every
length is checked against the bytes left before anything is allocated, every value
costs at least one byte of the frame, the number of values and the nesting depth are
capped, and a tensor's data must be exactly as long as its dtype and shape say.
Decoding is a single pass over the frame, so its time is linear in the frame's size.
"""

from __future__ import annotations

import struct
import sys
from collections import OrderedDict

MAX_DEPTH = 32
MAX_INT_BYTES = 64  # ints up to 2**511: more is not data any suite compares
MAX_NDIM = 16
MAX_DIM = 2**40  # elements along one dimension
# dtype code -> (torch dtype name, numpy dtype string, bytes per element): what crosses
DTYPES = {
    1: ("float32", "<f4", 4), 2: ("float64", "<f8", 8), 3: ("float16", "<f2", 2),
    4: ("bfloat16", None, 2), 5: ("int64", "<i8", 8), 6: ("int32", "<i4", 4),
    7: ("int16", "<i2", 2), 8: ("int8", "|i1", 1), 9: ("uint8", "|u1", 1),
    10: ("bool", "|b1", 1), 11: (None, "<u2", 2), 12: (None, "<u4", 4), 13: (None, "<u8", 8),
}
_TORCH_CODE = {name: code for code, (name, _, _) in DTYPES.items() if name}
_NUMPY_CODE = {np_name: code for code, (_, np_name, _) in DTYPES.items() if np_name}


class WireError(ValueError):
    """Bytes that are not a well-formed value within the limits."""


# --- encoding ---------------------------------------------------------------------------
def _count(n):
    return struct.pack(">I", n)


def encode_value(value, handle=None):
    """The bytes of `value`. `handle(obj)` gives the (id, type name, callable) of an
    object that is not data (the worker keeps it); without it such an object is an
    error. Tensors go as dense C-order CPU bytes; numpy scalars as Python numbers."""
    out = bytearray()
    _encode(value, out, handle, 0)
    return bytes(out)


def _encode(value, out, handle, depth):
    if depth > MAX_DEPTH:
        raise WireError("data nested too deeply to send")
    kind = type(value)
    if value is None:
        out += b"N"
    elif kind is bool:
        out += b"T" if value else b"F"
    elif kind is int:
        size = max(1, (value.bit_length() + 8) // 8)
        if size > MAX_INT_BYTES:
            raise WireError("an integer too large to send")
        out += b"I" + bytes([size]) + value.to_bytes(size, "big", signed=True)
    elif kind is float:
        out += b"D" + struct.pack(">d", value)
    elif kind is str:
        data = value.encode("utf-8", "surrogatepass")
        out += b"S" + _count(len(data)) + data
    elif kind is bytes:
        out += b"B" + _count(len(value)) + value
    elif kind is list or kind is tuple:
        out += (b"L" if kind is list else b"U") + _count(len(value))
        for item in value:
            _encode(item, out, handle, depth + 1)
    elif kind is dict or kind is OrderedDict:
        if handle is not None and not all(
                k is None or type(k) in (bool, int, float, str) for k in value):
            _encode_other(value, out, handle)
            return
        out += b"M" + _count(len(value))
        for key, item in value.items():
            _encode(key, out, handle, depth + 1)
            _encode(item, out, handle, depth + 1)
    elif kind is slice:
        out += b"E"
        for part in (value.start, value.stop, value.step):
            _encode(part, out, handle, depth + 1)
    elif kind is Ref:
        out += b"R" + struct.pack(">Q", value.id)
    else:
        _encode_other(value, out, handle)


def _encode_other(value, out, handle):
    """Tensors, arrays, numpy scalars; any other object as a handle (or not data)."""
    torch = sys.modules.get("torch")
    if torch is not None and type(value) in (torch.Tensor, torch.nn.Parameter):
        _encode_tensor(value, out, handle)
        return
    np = sys.modules.get("numpy")
    if np is not None:
        if type(value) is np.ndarray and value.dtype.str in _NUMPY_CODE:
            _encode_array(b"Y", _NUMPY_CODE[value.dtype.str], value.shape,
                          np.ascontiguousarray(value).tobytes(), out)
            return
        if isinstance(value, np.generic) and type(value).__module__ == "numpy" and \
                type(value.item()) in (bool, int, float):
            _encode(value.item(), out, handle, 0)
            return
    if handle is None:
        raise TypeError(f"cannot send a {type(value).__name__} over the worker channel")
    key, typename, is_callable = handle(value)
    name = typename.encode("utf-8", "replace")[:200]
    out += b"H" + struct.pack(">Q", key) + _count(len(name)) + name + (b"T" if is_callable else b"F")


def _encode_tensor(tensor, out, handle):
    """A dense strided tensor of a listed dtype, copied to the CPU in C order; any other
    tensor (sparse, quantised, nested, meta, complex, float8...) is "not data"."""
    import torch

    name = str(tensor.dtype).removeprefix("torch.")
    if tensor.layout is not torch.strided or tensor.is_quantized or tensor.is_nested or \
            tensor.device.type == "meta" or name not in _TORCH_CODE:
        kind = ("sparse" if tensor.layout is not torch.strided else
                "quantised" if tensor.is_quantized else "nested" if tensor.is_nested else
                "meta" if tensor.device.type == "meta" else name)
        label = f"{kind} tensor".encode("utf-8")
        out += b"X" + _count(len(label)) + label
        return
    dense = tensor.detach().to("cpu").contiguous()
    if name == "bfloat16":  # no numpy dtype: its raw 16-bit patterns
        data = dense.view(torch.int16).numpy().tobytes()
    else:
        data = dense.numpy().tobytes()
    _encode_array(b"A", _TORCH_CODE[name], tuple(dense.shape), data, out)


def _encode_array(tag, code, shape, data, out):
    if len(shape) > MAX_NDIM:
        raise WireError(f"an array with more than {MAX_NDIM} dimensions")
    out += tag + bytes([code, len(shape)]) + b"".join(struct.pack(">Q", n) for n in shape)
    out += struct.pack(">Q", len(data)) + data


class Ref:
    """A reference to an object that lives in the worker (its handle id)."""

    __slots__ = ("id",)

    def __init__(self, key):
        self.id = key


class NotDataError(ValueError):
    """The worker sent an X tag: an object of `kind` that does not cross as data."""

    def __init__(self, kind):
        super().__init__(kind)
        self.kind = kind


# --- decoding ---------------------------------------------------------------------------
class _Reader:
    __slots__ = ("data", "pos", "items", "max_items", "refs", "handles")

    def __init__(self, data, max_items, refs, handles):
        self.data, self.pos, self.items, self.max_items = memoryview(data), 0, 0, max_items
        self.refs, self.handles = refs, handles

    def take(self, n):
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise WireError("a value runs past the end of its frame")
        chunk, self.pos = self.data[self.pos:end], end
        return chunk

    def count(self):
        n = struct.unpack(">I", self.take(4))[0]
        if n > len(self.data) - self.pos:  # every value costs at least one byte
            raise WireError("a count larger than the frame")
        return n


def decode_value(data, max_items=1_000_000, refs=None, handles=None):
    """The value in `data` (one frame's bytes). Tensors and arrays come back as new,
    owned, contiguous CPU memory; `refs(id)` resolves an R tag (the worker's side),
    `handles(id, type name, callable)` builds what an H tag stands for (the trusted
    side); without them those tags are errors. An X tag raises NotDataError."""
    reader = _Reader(data, max_items, refs, handles)
    value = _decode(reader, 0)
    if reader.pos != len(reader.data):
        raise WireError("bytes left over after the value")
    return value


def _decode(r, depth):
    if depth > MAX_DEPTH:
        raise WireError("data nested too deeply")
    r.items += 1
    if r.items > r.max_items:
        raise WireError(f"more than {r.max_items} values in one message")
    tag = bytes(r.take(1))
    if tag == b"N":
        return None
    if tag == b"T":
        return True
    if tag == b"F":
        return False
    if tag == b"I":
        size = r.take(1)[0]
        if not 1 <= size <= MAX_INT_BYTES:
            raise WireError("a malformed integer")
        return int.from_bytes(r.take(size), "big", signed=True)
    if tag == b"D":
        return struct.unpack(">d", r.take(8))[0]
    if tag == b"S":
        return str(r.take(r.count()), "utf-8", "replace")
    if tag == b"B":
        return bytes(r.take(r.count()))
    if tag in (b"L", b"U"):
        items = [_decode(r, depth + 1) for _ in range(r.count())]
        return items if tag == b"L" else tuple(items)
    if tag == b"M":
        result = {}
        for _ in range(r.count()):
            key = _decode(r, depth + 1)
            if key is not None and type(key) not in (bool, int, float, str):
                raise WireError("a dict key that is not a plain scalar")
            result[key] = _decode(r, depth + 1)
        return result
    if tag == b"E":
        return slice(*(_decode(r, depth + 1) for _ in range(3)))
    if tag in (b"A", b"Y"):
        return _decode_array(r, tag)
    if tag == b"H":
        key = struct.unpack(">Q", r.take(8))[0]
        typename = str(r.take(r.count()), "utf-8", "replace")[:200]
        is_callable = bytes(r.take(1)) == b"T"
        if r.handles is None:
            raise WireError("a handle where data was expected")
        return r.handles(key, typename, is_callable)
    if tag == b"R":
        key = struct.unpack(">Q", r.take(8))[0]
        if r.refs is None:
            raise WireError("a reference where data was expected")
        return r.refs(key)
    if tag == b"X":
        raise NotDataError(str(r.take(r.count()), "utf-8", "replace")[:100])
    raise WireError(f"unknown value tag {tag!r}")


def _decode_array(r, tag):
    code, ndim = r.take(1)[0], r.take(1)[0]
    if code not in DTYPES or ndim > MAX_NDIM:
        raise WireError("an array of an unknown dtype or too many dimensions")
    torch_name, numpy_name, itemsize = DTYPES[code]
    shape = tuple(struct.unpack(">Q", r.take(8))[0] for _ in range(ndim))
    if any(n > MAX_DIM for n in shape):
        raise WireError("an array dimension too large")
    size = struct.unpack(">Q", r.take(8))[0]
    numel = 1
    for n in shape:
        numel *= n
    if size != numel * itemsize:
        raise WireError("an array whose data does not match its shape")
    data = r.take(size)
    if tag == b"Y":
        import numpy as np

        if numpy_name is None:
            raise WireError("a numpy array of a torch-only dtype")
        return np.frombuffer(data, dtype=numpy_name).reshape(shape).copy()
    import torch

    if torch_name is None:
        raise WireError("a tensor of an unsigned dtype torch does not send")
    dtype = getattr(torch, torch_name)
    if numel == 0:
        return torch.empty(shape, dtype=dtype)
    return torch.frombuffer(bytearray(data), dtype=dtype).reshape(shape)


# --- frames -----------------------------------------------------------------------------
HEADER = struct.Struct(">Q")


def frame(payload):
    """The frame of one encoded value."""
    return HEADER.pack(len(payload)) + payload
