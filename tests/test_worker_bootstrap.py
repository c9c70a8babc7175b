"""The worker's execnet gateway opened with a precompiled bootstrap, and its fallback."""

from __future__ import annotations

import sys

import execnet

from autograder.worker import bootstrap


def _answer(gateway: execnet.Gateway) -> object:
    channel = gateway.remote_exec("import sys\nchannel.send((sys.version_info[:2], 6 * 7))")
    try:
        return channel.receive(timeout=30)
    finally:
        gateway.exit()


def test_a_same_python_worker_runs_the_marshalled_gateway():
    spec = execnet.XSpec("popen//dont_write_bytecode")
    spec.python = sys.executable
    assert _answer(bootstrap.open_gateway(spec)) == (tuple(sys.version_info[:2]), 42)
    source = bootstrap.bootstrap_source("thread", "gw0")
    assert "marshal.loads" in source and len(source) < 80_000, "packed, not raw bytes"


def test_another_python_compiles_the_source_as_execnet_would(monkeypatch):
    tag, code, source = bootstrap._gateway_base_code()
    # an interpreter whose cache tag differs (a container's python) must not unmarshal
    monkeypatch.setattr(bootstrap, "_gateway_base_code", lambda: ("cpython-0", "!!not data", source))
    spec = execnet.XSpec("popen//dont_write_bytecode")
    spec.python = sys.executable
    assert _answer(bootstrap.open_gateway(spec)) == (tuple(sys.version_info[:2]), 42)
