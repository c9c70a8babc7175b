"""Processes started the way the worker is: `launch_prefix(spec)` + interpreter arguments,
with no grading around them (the attacks on the sandbox itself)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from autograder.config import SandboxLimits
from autograder.sandbox.policy import SandboxSpec, bubblewrap_works, launch_prefix

LIMITS = SandboxLimits(memory_mb=2048, cpu_seconds=600, wall_seconds_per_call=60,
                       wall_seconds_per_submission=300, max_processes=64)


def local_kind() -> str:
    """The local sandbox this host gives a worker (bubblewrap where it works)."""
    return "bubblewrap" if bubblewrap_works() else "subprocess"


def prefix(kind: str, **options) -> list[str]:
    """The worker's command line up to its interpreter's arguments."""
    return launch_prefix(SandboxSpec(kind=kind, limits=LIMITS), environ={}, **options)


def run(code: str, *args: str, kind: str = "bubblewrap", timeout: float = 120,
        stdin: str = "", **options) -> subprocess.CompletedProcess:
    """Run `python -c code args...` as a worker (`stdin` its input); its output as text."""
    return subprocess.run([*prefix(kind, **options), "-c", code, *args], capture_output=True,
                          text=True, timeout=timeout, input=stdin)


def start(code: str, *args: str, kind: str = "bubblewrap", **options) -> subprocess.Popen:
    """Start `python -c code args...` as a worker, its stdout a text pipe."""
    return subprocess.Popen([*prefix(kind, **options), "-c", code, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def cpu_share_missing() -> str | None:
    """Why no worker can get a CPU share of its own here (None: it can): the cgroup cpu
    controller must exist and be writable by us (root)."""
    if os.geteuid() != 0:
        return "not root: the launcher joins no cgroup"
    root = Path("/sys/fs/cgroup")
    v2 = root / "cgroup.controllers"
    if v2.is_file() and "cpu" not in v2.read_text().split():
        return "cgroup v2 without the cpu controller"
    probe = (root if v2.is_file() else root / "cpu") / f"autograder-probe-{os.getpid()}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError as error:
        return f"no writable cpu cgroup at {probe.parent} ({error.strerror})"
    return None
