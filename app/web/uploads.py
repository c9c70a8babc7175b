"""Reading one uploaded file from a request, bounded: `read_upload(request, max_bytes)`.

What holds (the body is hostile):

- Nothing is read when the declared `Content-Length` is over `max_bytes` plus
  `MULTIPART_ALLOWANCE` (413), when the Content-Type is neither `multipart/form-data`
  with a boundary nor a raw notebook (`application/x-ipynb+json`, `application/json`)
  (415), or when the `Content-Encoding` is anything but identity, gzip or deflate (415).
- The body is read chunk by chunk from `request.stream()`; at most `max_bytes +
  MULTIPART_ALLOWANCE` bytes arrive over the wire and, after decompression, at most as
  many bytes of decoded body exist (the decompressor is asked for no more than what is
  left under the cap plus one byte: a 10 KB gzip bomb expanding to 1 GB is refused
  after about the cap's worth of output). The file itself is at most `max_bytes` (413).
- multipart is parsed with python-multipart's streaming `MultipartParser`: exactly one
  part named `field` is kept (422 when there is none, 400 when there are two or when
  the form holds a second file part); other parts (`csrf_token`, ...) are skipped.
- The client's filename is returned for display only, cleaned of paths, control and
  format characters and cut to `MAX_FILENAME` characters; nothing here (or anywhere)
  uses it as a path.
- Every refusal is an `HTTPException` with a 4xx status and one line saying what to do.

CSRF: an upload route does not take the router-level `csrf_protect` (which refuses a
multipart body without the `X-CSRF-Token` header rather than parse it unbounded);
`read_upload` checks the token itself with `app.web.security.check_csrf`: the header, or
the form's `csrf_token` field read within the same bounded parse (a raw body needs the
header). A missing or wrong token is a 403, and nothing is returned.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field as dataclass_field

from fastapi import HTTPException, Request
from python_multipart.exceptions import FormParserError
from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header

from app.web.security import CSRF_FIELD, CSRF_HEADER, check_csrf
from autograder.config import Course
from autograder.core.student_text import clean

MAX_TOKEN = 256  # bytes of a csrf_token field kept
MULTIPART_ALLOWANCE = 64 * 1024  # boundaries, part headers and small fields around the file
MAX_FILENAME = 200
DEFAULT_FILENAME = "notebook.ipynb"  # shown for a raw body or a part without a filename
RAW_TYPES = frozenset({"application/x-ipynb+json", "application/json"})
MULTIPART = "multipart/form-data"
_DECOMPRESSORS: dict[str, Callable[[], "zlib._Decompress"]] = {
    "gzip": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
    "x-gzip": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
    "deflate": lambda: zlib.decompressobj(zlib.MAX_WBITS),  # RFC 9110: zlib-wrapped
}
_SEPARATORS = re.compile(r"[/\\]")


@dataclass(frozen=True)
class Upload:
    """The uploaded file's bytes and its cleaned name (for display only)."""

    content: bytes
    filename: str


def upload_limit(course: Course) -> int:
    """The course's cap on an uploaded file, in bytes (`portal.max_upload_mb`)."""
    return int(course.portal.max_upload_mb * 1024 * 1024)


def clean_filename(name: str | None) -> str:
    """The last path component of `name`, cleaned for display, at most MAX_FILENAME chars."""
    base = _SEPARATORS.split(name or "")[-1]
    text = " ".join(clean(base).split()).strip(". ")
    return text[:MAX_FILENAME] or DEFAULT_FILENAME


def _too_large(max_bytes: int) -> HTTPException:
    return HTTPException(413, f"the file is larger than {max_bytes / 2**20:g} MB; clear the "
                              f"outputs (Edit > Clear All Outputs), save and upload it again")


# --- the request's headers --------------------------------------------------------------

def _check_length(request: Request, limit: int, max_bytes: int) -> None:
    declared = request.headers.get("content-length")
    if declared is None:
        return
    if not declared.strip().isdigit():
        raise HTTPException(400, "the request's Content-Length is not a number; upload the "
                                 "file again from the page")
    if int(declared) > limit:
        raise _too_large(max_bytes)


def _content_type(request: Request) -> tuple[str, bytes | None]:
    """("multipart", boundary) or ("raw", None); 415 for anything else."""
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    mime = kind.decode("latin-1").lower()
    if mime == MULTIPART and options.get(b"boundary"):
        return "multipart", options[b"boundary"]
    if mime in RAW_TYPES:
        return "raw", None
    raise HTTPException(415, "send the notebook as a file of a multipart/form-data form "
                             "(the upload form on the page) or as an application/x-ipynb+json "
                             "body")


def _decompressor(request: Request) -> "zlib._Decompress | None":
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in _DECOMPRESSORS:
        return _DECOMPRESSORS[encoding]()
    raise HTTPException(415, f"the body's Content-Encoding {encoding[:40]!r} is not accepted; "
                             f"send it uncompressed, gzip or deflate")


# --- the body ---------------------------------------------------------------------------

def _damaged() -> HTTPException:
    return HTTPException(400, "the compressed body is damaged; upload the file again "
                              "without compression")


class _Decoder:
    """Turns wire chunks into body chunks, never holding more than `limit` decoded bytes."""

    def __init__(self, decompressor: "zlib._Decompress | None", limit: int,
                 max_bytes: int) -> None:
        self.decompressor = decompressor
        self.limit = limit
        self.max_bytes = max_bytes
        self.wire = 0
        self.decoded = 0

    def feed(self, chunk: bytes) -> bytes:
        self.wire += len(chunk)
        if self.wire > self.limit:
            raise _too_large(self.max_bytes)
        if self.decompressor is None:
            return self._count(chunk)
        if self.decompressor.eof:
            if chunk:
                raise _damaged()
            return b""
        try:
            # one byte more than is left under the cap tells "over the cap" from "at it"
            out = self.decompressor.decompress(chunk, self.limit - self.decoded + 1)
        except zlib.error:
            raise _damaged() from None
        if self.decompressor.unconsumed_tail:
            raise _too_large(self.max_bytes)  # more output is waiting past the cap
        return self._count(out)

    def _count(self, data: bytes) -> bytes:
        self.decoded += len(data)
        if self.decoded > self.limit:
            raise _too_large(self.max_bytes)
        return data

    def finish(self) -> None:
        if self.decompressor is not None and not self.decompressor.eof:
            raise HTTPException(400, "the compressed body ends early; upload the file again")
        if self.decompressor is not None and self.decompressor.unused_data:
            raise _damaged()


@dataclass
class _Part:
    name: str | None = None
    filename: str | None = None
    is_file: bool = False
    header_field: bytearray = dataclass_field(default_factory=bytearray)
    header_value: bytearray = dataclass_field(default_factory=bytearray)
    disposition: bytes = b""


class _Form:
    """Callbacks for python-multipart: keeps the part named `field`, skips the others."""

    def __init__(self, field: str, max_bytes: int) -> None:
        self.field = field
        self.max_bytes = max_bytes
        self.part = _Part()
        self.content: bytearray | None = None
        self.filename: str | None = None
        self.files = 0
        self.ended = False
        self._keeping = False
        self.csrf = bytearray()  # the csrf_token field, when the form carries it
        self._csrf = False

    def callbacks(self) -> dict:
        return {"on_part_begin": self.on_part_begin, "on_header_field": self.on_header_field,
                "on_header_value": self.on_header_value, "on_header_end": self.on_header_end,
                "on_headers_finished": self.on_headers_finished,
                "on_part_data": self.on_part_data, "on_part_end": self.on_part_end,
                "on_end": self.on_end}

    def on_part_begin(self) -> None:
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.part.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.part.header_value += data[start:end]

    def on_header_end(self) -> None:
        if bytes(self.part.header_field).strip().lower() == b"content-disposition":
            self.part.disposition = bytes(self.part.header_value)
        self.part.header_field.clear()
        self.part.header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.part.disposition)
        name = options.get(b"name")
        self.part.name = name.decode("utf-8", "replace") if name is not None else None
        if b"filename" in options:
            self.part.filename = options[b"filename"].decode("utf-8", "replace")
            self.files += 1
        if self.files > 1:
            raise HTTPException(400, "the form holds more than one file; upload one notebook "
                                     "at a time")
        if self.part.name == self.field:
            if self.content is not None:
                raise HTTPException(400, f"the form holds two {self.field!r} parts; upload one "
                                         f"notebook at a time")
            self.content = bytearray()
            self.filename = self.part.filename
        self._keeping = self.part.name == self.field
        self._csrf = self.part.name == CSRF_FIELD and self.part.filename is None

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._csrf and len(self.csrf) + end - start <= MAX_TOKEN:
            self.csrf += data[start:end]
        if not self._keeping or self.content is None:
            return
        self.content += data[start:end]
        if len(self.content) > self.max_bytes:
            raise _too_large(self.max_bytes)

    def on_part_end(self) -> None:
        self._keeping = self._csrf = False

    def on_end(self) -> None:
        self.ended = True

    def upload(self) -> Upload:
        if not self.ended:
            raise HTTPException(400, "the upload was cut off; upload the file again")
        if self.content is None:
            raise HTTPException(422, f"the form has no file {self.field!r}; choose a notebook "
                                     f"file and upload it")
        return Upload(bytes(self.content), clean_filename(self.filename))


async def _body_chunks(request: Request, decoder: _Decoder):
    """Decoded body chunks, read from the wire as they come."""
    stream = request.stream()
    try:
        first = await anext(stream)
    except StopAsyncIteration:
        first = b""
    try:
        yield decoder.feed(first)
        async for chunk in stream:
            yield decoder.feed(chunk)
    finally:
        await stream.aclose()
    decoder.finish()


async def read_upload(request: Request, max_bytes: int, field: str = "notebook") -> Upload:
    """The one file of the request (the multipart part `field`, or the raw body).

    Raises HTTPException 400/413/415/422 (see the module docstring)."""
    kind, boundary = _content_type(request)
    header = request.headers.get(CSRF_HEADER)
    if header is not None or kind == "raw":
        check_csrf(request, header)  # before reading anything
    limit = max_bytes + (MULTIPART_ALLOWANCE if kind == "multipart" else 0)
    _check_length(request, limit, max_bytes)
    decoder = _Decoder(_decompressor(request), limit, max_bytes)
    if kind == "raw":
        chunks = bytearray()
        async for chunk in _body_chunks(request, decoder):
            chunks += chunk
        if len(chunks) > max_bytes:
            raise _too_large(max_bytes)
        return Upload(bytes(chunks), DEFAULT_FILENAME)
    form = _Form(field, max_bytes)
    try:
        parser = MultipartParser(boundary, form.callbacks())
    except FormParserError:
        raise HTTPException(415, "the form's multipart boundary is not valid; upload the file "
                                 "again from the page") from None
    async for chunk in _body_chunks(request, decoder):
        try:
            parser.write(chunk)
        except FormParserError:
            raise HTTPException(400, "the upload is not a valid multipart form; upload the "
                                     "file again from the page") from None
    parser.finalize()
    upload = form.upload()
    if header is None:
        check_csrf(request, form.csrf.decode("ascii", "replace"))
    return upload
