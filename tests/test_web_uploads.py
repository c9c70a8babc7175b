"""read_upload: one bounded file from a request, on a tiny app with the real CSRF check."""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.testclient import TestClient
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import JSONResponse, PlainTextResponse

from app.web import uploads
from app.web.security import csrf_protect, csrf_token
from app.web.uploads import MULTIPART_ALLOWANCE, Upload, clean_filename, read_upload

CAP = 4096
NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()
BOUNDARY = "testboundary1234"


def make_app(cap: int = CAP) -> FastAPI:
    app = FastAPI()
    app.add_middleware(SessionMiddleware, secret_key="s" * 40)

    @app.get("/token")
    def token(request: Request) -> PlainTextResponse:
        return PlainTextResponse(csrf_token(request))

    @app.post("/upload")  # read_upload checks the CSRF token itself
    async def upload(request: Request) -> JSONResponse:
        got = await read_upload(request, cap)
        return JSONResponse({"content": got.content.decode("latin-1"), "filename": got.filename})

    @app.post("/form", dependencies=[Depends(csrf_protect)])
    async def form(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    return app


@pytest.fixture
def client() -> tuple[TestClient, str]:
    c = TestClient(make_app())
    return c, c.get("/token").text


def multipart(*parts: tuple[str, str | None, bytes]) -> bytes:
    """A multipart/form-data body of (name, filename or None, data) parts."""
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename
                                                     else "")
        out += (f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n").encode() \
            + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


MULTIPART_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


# --- a request driven directly, to see what the server reads ----------------------------

class Wire:
    """An ASGI receive that hands out `chunks` and counts what was taken."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.taken = 0
        self.calls = 0

    async def __call__(self) -> dict:
        self.calls += 1
        if not self.chunks:
            return {"type": "http.request", "body": b"", "more_body": False}
        chunk = self.chunks.pop(0)
        self.taken += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks)}


def direct(headers: dict[str, str], wire: Wire, cap: int = CAP) -> Upload:
    """read_upload on a bare ASGI request of a session whose CSRF token the headers carry."""
    headers = {"X-CSRF-Token": "direct-token", **headers}
    scope = {"type": "http", "method": "POST", "path": "/upload", "query_string": b"",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "session": {"csrf": "direct-token"}}
    # a thread of its own: pytest-playwright keeps an event loop running in the main
    # thread of a test process that ran a browser test
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read_upload(Request(scope, wire), cap)).result()


def refused(headers: dict[str, str], wire: Wire, cap: int = CAP) -> HTTPException:
    with pytest.raises(HTTPException) as info:
        direct(headers, wire, cap)
    return info.value


# --- the happy paths --------------------------------------------------------------------

def test_a_multipart_upload_with_the_csrf_header_returns_the_file_and_its_name(client):
    c, token = client
    response = c.post("/upload", headers={"X-CSRF-Token": token},
                      files={"notebook": ("hw.ipynb", NOTEBOOK, "application/x-ipynb+json")},
                      data={"note": "ignored"})
    assert response.status_code == 200, response.text
    assert response.json() == {"content": NOTEBOOK.decode(), "filename": "hw.ipynb"}


def test_a_plain_form_with_the_csrf_field_works_too(client):
    """No header: read_upload reads the token from the form, within the bounded parse."""
    c, token = client
    response = c.post("/upload", data={"csrf_token": token},
                      files={"notebook": ("hw.ipynb", NOTEBOOK, "application/x-ipynb+json")})
    assert response.status_code == 200, response.text
    assert response.json()["content"] == NOTEBOOK.decode()


def test_a_plain_form_still_gets_the_size_cap(client):
    c, token = client
    response = c.post("/upload", data={"csrf_token": token},
                      files={"notebook": ("hw.ipynb", b"x" * (CAP + 1), "text/plain")})
    assert response.status_code == 413


def test_without_the_token_the_upload_is_forbidden(client):
    c, _ = client
    response = c.post("/upload", files={"notebook": ("hw.ipynb", NOTEBOOK, "text/plain")})
    assert response.status_code == 403
    wrong = c.post("/upload", data={"csrf_token": "not-it"},
                   files={"notebook": ("hw.ipynb", NOTEBOOK, "text/plain")})
    assert wrong.status_code == 403
    raw = c.post("/upload", content=NOTEBOOK, headers={"Content-Type": "application/json"})
    assert raw.status_code == 403


def test_other_forms_refuse_a_multipart_body_without_reading_it(client):
    """csrf_protect never parses files: a multipart body without the header is a 415."""
    c, token = client
    response = c.post("/form", data={"csrf_token": token},
                      files={"notebook": ("hw.ipynb", b"x" * 10_000_000, "text/plain")})
    assert response.status_code == 415
    assert c.post("/form", data={"csrf_token": token}).status_code == 200


def test_a_raw_json_body_is_the_file(client):
    c, token = client
    for kind in ("application/json", "application/x-ipynb+json; charset=utf-8"):
        response = c.post("/upload", content=NOTEBOOK,
                          headers={"X-CSRF-Token": token, "Content-Type": kind})
        assert response.status_code == 200, response.text
        assert response.json() == {"content": NOTEBOOK.decode(), "filename": "notebook.ipynb"}


def test_a_file_of_exactly_the_cap_is_accepted(client):
    c, token = client
    response = c.post("/upload", headers={"X-CSRF-Token": token},
                      files={"notebook": ("a.ipynb", b"y" * CAP, "text/plain")})
    assert response.status_code == 200
    assert len(response.json()["content"]) == CAP


def test_a_deflate_encoded_body_is_decompressed(client):
    c, token = client
    response = c.post("/upload", content=zlib.compress(multipart(("notebook", "n.ipynb",
                                                                  NOTEBOOK))),
                      headers={"X-CSRF-Token": token, "Content-Type": MULTIPART_TYPE,
                               "Content-Encoding": "deflate"})
    assert response.status_code == 200, response.text
    assert response.json()["content"] == NOTEBOOK.decode()


def test_a_gzip_encoded_raw_body_is_decompressed(client):
    c, token = client
    response = c.post("/upload", content=gzip.compress(NOTEBOOK),
                      headers={"X-CSRF-Token": token, "Content-Type": "application/json",
                               "Content-Encoding": "gzip"})
    assert response.status_code == 200, response.text
    assert response.json()["content"] == NOTEBOOK.decode()


# --- size -------------------------------------------------------------------------------

def test_a_declared_length_over_the_cap_is_refused_before_reading():
    wire = Wire([b"x" * 10])
    exc = refused({"content-type": MULTIPART_TYPE,
                   "content-length": str(CAP + MULTIPART_ALLOWANCE + 1)}, wire)
    assert exc.status_code == 413 and "larger than" in exc.detail
    assert wire.calls == 0


def test_a_declared_length_that_is_not_a_number_is_refused():
    wire = Wire([b"x"])
    assert refused({"content-type": "application/json", "content-length": "-5"},
                   wire).status_code == 400
    assert wire.calls == 0


def test_a_chunked_body_over_the_cap_is_refused_after_reading_about_the_cap(client):
    c, token = client

    def body():
        for _ in range(1000):
            yield b"z" * 1024

    response = c.post("/upload", content=body(),
                      headers={"X-CSRF-Token": token, "Content-Type": "application/json"})
    assert response.status_code == 413
    wire = Wire([b"z" * 1024 for _ in range(1000)])
    assert refused({"content-type": "application/json"}, wire).status_code == 413
    assert wire.taken <= CAP + 1024


def test_a_multipart_file_part_over_the_cap_is_refused(client):
    c, token = client

    def body():
        yield f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"notebook\"; " \
              f"filename=\"a.ipynb\"\r\n\r\n".encode()
        for _ in range(200):
            yield b"q" * 1024

    response = c.post("/upload", content=body(),
                      headers={"X-CSRF-Token": token, "Content-Type": MULTIPART_TYPE})
    assert response.status_code == 413


def test_a_gzip_bomb_is_refused_without_decompressing_much_past_the_cap(monkeypatch):
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 100_000
    produced = []
    real = zlib.decompressobj

    class Counting:
        def __init__(self, *args):
            self.inner = real(*args)

        def decompress(self, data, max_length=0):
            out = self.inner.decompress(data, max_length)
            produced.append(len(out))
            return out

        def __getattr__(self, name):
            return getattr(self.inner, name)

    monkeypatch.setattr(zlib, "decompressobj", Counting)
    wire = Wire([bomb[i:i + 1024] for i in range(0, len(bomb), 1024)])
    exc = refused({"content-type": "application/json", "content-encoding": "gzip"}, wire)
    assert exc.status_code == 413
    assert produced and sum(produced) <= CAP + 1
    assert wire.taken <= 2 * 1024  # the first wire chunk already expands past the cap


def test_a_gzip_bomb_through_the_app_is_413(client):
    c, token = client
    body = gzip.compress(multipart(("notebook", "a.ipynb", b"\0" * (8 * 1024 * 1024))))
    response = c.post("/upload", content=body,
                      headers={"X-CSRF-Token": token, "Content-Type": MULTIPART_TYPE,
                               "Content-Encoding": "gzip"})
    assert response.status_code == 413


def test_a_damaged_or_cut_compressed_body_is_400():
    good = gzip.compress(NOTEBOOK)
    for body in (b"not gzip at all", good[: len(good) // 2], good + b"trailing"):
        exc = refused({"content-type": "application/json", "content-encoding": "gzip"},
                      Wire([body]))
        assert exc.status_code == 400, body


# --- types and encodings ----------------------------------------------------------------

def test_an_unknown_encoding_is_415_and_nothing_is_read():
    for encoding in ("br", "gzip, gzip", "compress"):
        wire = Wire([NOTEBOOK])
        exc = refused({"content-type": "application/json", "content-encoding": encoding}, wire)
        assert exc.status_code == 415 and "Content-Encoding" in exc.detail
        assert wire.calls == 0


def test_a_wrong_or_missing_content_type_is_415(client):
    c, token = client
    for kind in ("text/plain", "application/octet-stream", "multipart/form-data",
                 "multipart/mixed; boundary=x", ""):
        response = c.post("/upload", content=NOTEBOOK,
                          headers={"X-CSRF-Token": token, "Content-Type": kind})
        assert response.status_code == 415, kind
    wire = Wire([NOTEBOOK])
    assert refused({}, wire).status_code == 415 and wire.calls == 0


# --- the parts --------------------------------------------------------------------------

def test_two_file_parts_are_refused(client):
    c, token = client
    for parts in ([("notebook", "a.ipynb", NOTEBOOK), ("other", "b.ipynb", NOTEBOOK)],
                  [("notebook", "a.ipynb", NOTEBOOK), ("notebook", "b.ipynb", NOTEBOOK)],
                  [("notebook", None, NOTEBOOK), ("notebook", None, NOTEBOOK)]):
        response = c.post("/upload", content=multipart(*parts),
                          headers={"X-CSRF-Token": token, "Content-Type": MULTIPART_TYPE})
        assert response.status_code == 400, parts


def test_two_file_parts_in_a_plain_form_are_refused(client):
    c, token = client
    response = c.post("/upload", data={"csrf_token": token},
                      files=[("notebook", ("a.ipynb", NOTEBOOK, "text/plain")),
                             ("notebook", ("b.ipynb", NOTEBOOK, "text/plain"))])
    assert response.status_code == 400


def test_a_missing_part_is_422(client):
    c, token = client
    response = c.post("/upload", headers={"X-CSRF-Token": token},
                      files={"homework": ("a.ipynb", NOTEBOOK, "text/plain")})
    assert response.status_code == 422
    assert "'notebook'" in response.text
    response = c.post("/upload", content=multipart(("csrf_token", None, token.encode())),
                      headers={"X-CSRF-Token": token, "Content-Type": MULTIPART_TYPE})
    assert response.status_code == 422


def test_a_cut_off_or_garbled_form_is_400():
    body = multipart(("notebook", "a.ipynb", NOTEBOOK))
    assert refused({"content-type": MULTIPART_TYPE}, Wire([body[:-30]])).status_code == 400
    garbled = b"--" + BOUNDARY.encode() + b"\r\nno colon here\r\n\r\n"
    assert refused({"content-type": MULTIPART_TYPE}, Wire([garbled])).status_code == 400


# --- the filename -----------------------------------------------------------------------

def test_a_path_in_the_filename_is_only_returned_cleaned(client, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    c, token = client
    response = c.post("/upload", headers={"X-CSRF-Token": token},
                      files={"notebook": ("../../etc/passwd", NOTEBOOK, "text/plain")})
    assert response.status_code == 200
    assert response.json()["filename"] == "passwd"
    assert list(tmp_path.iterdir()) == []  # nothing was written anywhere near the name
    assert not Path("passwd").exists()


def test_clean_filename_drops_paths_controls_and_length():
    assert clean_filename("..\\..\\windows\\system.ini") == "system.ini"
    assert clean_filename("a\u202eb\x00c\r\n.ipynb") == "abc .ipynb"  # a line break is a space
    assert clean_filename("../..") == "notebook.ipynb"
    assert clean_filename(None) == "notebook.ipynb"
    assert len(clean_filename("x" * 5000 + ".ipynb")) == 200
    assert clean_filename("  week 3 (final).ipynb ") == "week 3 (final).ipynb"
