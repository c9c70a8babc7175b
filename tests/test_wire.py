"""The worker's wire format: what it carries, and that any bytes parse within limits."""

from __future__ import annotations

import random
import struct

import numpy as np
import pytest
import torch

from autograder.worker import wire


def roundtrip(value, **kwargs):
    return wire.decode_value(wire.encode_value(value), **kwargs)


def test_plain_data_round_trips_exactly():
    value = [None, True, False, 0, -1, 2**300, -(2**300), 1.5, float("inf"), "π ok", b"\x00\xff",
             (1, [2, {"a": 3, 4: None, 2.5: True, None: "n"}]), slice(1, None, -2), [], {}, ()]
    assert roundtrip(value) == value
    assert type(roundtrip((1,))) is tuple and type(roundtrip([1])) is list


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16,
                                   torch.int64, torch.int32, torch.int16, torch.int8,
                                   torch.uint8, torch.bool])
def test_dense_tensors_come_back_owned_contiguous_and_equal(dtype):
    source = (torch.arange(24) % 5).to(dtype).reshape(2, 3, 4).transpose(0, 2)  # not contiguous
    back = roundtrip(source)
    assert type(back) is torch.Tensor and back.dtype == dtype and back.shape == source.shape
    assert back.is_contiguous() and torch.equal(back, source)
    assert back.untyped_storage().nbytes() == back.numel() * back.element_size()


def test_empty_and_zero_dim_tensors_and_arrays():
    assert roundtrip(torch.empty(0, 3)).shape == (0, 3)
    assert roundtrip(torch.tensor(2.5)).item() == 2.5
    array = np.arange(6, dtype=np.uint16).reshape(2, 3)[:, ::2]
    back = roundtrip(array)
    assert back.dtype == np.uint16 and back.flags.c_contiguous and back.flags.owndata
    assert (back == array).all()


@pytest.mark.parametrize("make, kind", [
    (lambda: torch.eye(3).to_sparse(), "sparse"),
    (lambda: torch.eye(3).to_sparse_csr(), "sparse"),
    (lambda: torch.empty(3, device="meta"), "meta"),
    (lambda: torch.quantize_per_tensor(torch.ones(3), 0.1, 0, torch.qint8), "quantised"),
    (lambda: torch.ones(3, dtype=torch.complex64), "complex64"),
    (lambda: torch.ones(3).to(torch.float8_e4m3fn), "float8_e4m3fn"),
])
def test_tensors_that_are_not_plain_dense_data_are_refused_by_kind(make, kind):
    with pytest.raises(wire.NotDataError, match=kind):
        roundtrip(make())


def test_handles_and_refs_need_their_resolvers():
    data = wire.encode_value(object(), handle=lambda obj: (7, "Thing", True))
    with pytest.raises(wire.WireError, match="handle"):
        wire.decode_value(data)
    assert wire.decode_value(data, handles=lambda *h: h) == (7, "Thing", True)
    ref = wire.encode_value([wire.Ref(7)])
    with pytest.raises(wire.WireError, match="reference"):
        wire.decode_value(ref)
    assert wire.decode_value(ref, refs={7: "obj"}.__getitem__) == ["obj"]


@pytest.mark.parametrize("data, reason", [
    (b"L" + struct.pack(">I", 2**32 - 1), "count larger than the frame"),
    (b"S" + struct.pack(">I", 10), "count larger than the frame"),
    (b"A" + bytes([1, 2]) + struct.pack(">QQQ", 10**6, 10**6, 0), "does not match its shape"),
    (b"A" + bytes([1, 1]) + struct.pack(">QQ", 2**63, 8), "dimension too large"),
    (b"A" + bytes([1, 2]) + struct.pack(">QQQ", 0, 2**41, 0), "dimension too large"),
    (b"A" + bytes([99, 1]) + struct.pack(">QQ", 1, 4) + b"abcd", "unknown dtype"),
    (b"L\x00\x00\x00\x01" * 100 + b"N", "nested too deeply"),
    (b"I" + bytes([200]) + b"\x00" * 200, "malformed integer"),
    (b"NN", "left over"),
    (b"Z", "unknown value tag"),
    (b"M\x00\x00\x00\x01L\x00\x00\x00\x00N", "dict key"),
])
def test_malformed_bytes_raise_wire_errors(data, reason):
    with pytest.raises(wire.WireError, match=reason):
        wire.decode_value(data)


def test_the_number_of_values_is_capped():
    data = b"L" + struct.pack(">I", 5000) + b"N" * 5000
    assert len(wire.decode_value(data, max_items=5001)) == 5000
    with pytest.raises(wire.WireError, match="more than 1000 values"):
        wire.decode_value(data, max_items=1000)


def test_random_corruptions_of_valid_frames_only_ever_raise_wire_errors():
    """Any bytes: a value or a WireError (NotDataError included), nothing else, and never
    more values than the cap."""
    rng = random.Random(1234)
    samples = [wire.encode_value(v) for v in (
        [1, "two", 3.0, (None, True), {"k": [b"x" * 10]}], torch.arange(12.0).reshape(3, 4),
        np.ones((2, 2), dtype=np.int16), [[[[slice(1, 2)]]]], {"a": {"b": {"c": 2**80}}})]
    for _ in range(4000):
        data = bytearray(rng.choice(samples))
        for _ in range(rng.randint(1, 4)):
            action = rng.random()
            at = rng.randrange(len(data))
            if action < 0.6:
                data[at] = rng.randrange(256)
            elif action < 0.8:
                del data[at:at + rng.randint(1, 8)]
            else:
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
            if not data:
                data = bytearray(b"N")
        try:
            wire.decode_value(bytes(data), max_items=100)
        except wire.WireError:
            pass


def _raise(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:  # noqa: BLE001 - the exception itself is the value
        return caught


class StudentOwnError(Exception):
    pass


@pytest.mark.parametrize("exc, cls, shown", [
    (SystemExit(3), None, "Your code called sys.exit:\n    | sys.exit(3)"),
    (ValueError("boom"), ValueError, "Your code raised an exception:\n    | ValueError: boom"),
    (NotImplementedError(), NotImplementedError,
     "Not implemented yet: your code raises NotImplementedError."),
    (StudentOwnError("own"), None,
     f"Your code raised an exception:\n    | {__name__}.StudentOwnError: own"),
])
def test_an_error_reply_is_data_and_comes_back_as_a_typed_student_exception(exc, cls, shown):
    """The worker reports an exception as fields (kind, type name, message, location),
    over the wire as plain data; the trusted side re-raises a `StudentCodeError` (of the
    builtin's type where it is one), and its message is composed from those fields."""
    from autograder.core.errors import StudentCodeError
    from autograder.core.failures import failure_text
    from autograder.worker import server
    from autograder.worker.client import Worker

    reply = roundtrip(server._error_reply(_raise(exc)))
    assert reply[:2] == ("error", "exit" if isinstance(exc, SystemExit) else "raised")
    worker = Worker.__new__(Worker)  # _answer reads only the reply
    with pytest.raises(StudentCodeError) as info:
        worker._answer(reply)
    back = info.value
    assert cls is None or isinstance(back, cls)
    assert back.location is None and failure_text(back, None) == shown
