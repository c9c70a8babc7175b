"""The worker's launcher: apply limits to itself, then exec the sandboxed interpreter.

Run as `python -m autograder.sandbox.launch OPTIONS -- PYTHON-ARGS...`. It puts itself
in fresh memory and pids cgroups where the cgroup filesystem is writable (v2 or v1),
sets rlimits (CPU seconds, file size, no core files; address space and process count
when no cgroup does it), and execs `setpriv` + `bwrap` (kind `bubblewrap`) or the bare
interpreter (kind `subprocess`). Everything it sets is inherited by the worker.
Standard library only: it runs before anything else is trusted.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
from pathlib import Path

from autograder.sandbox.policy import (GPU_ENV, SandboxSpec, bwrap_args, drop_privileges,
                                       gpu_bwrap_args)

CGROUP_ROOT = Path("/sys/fs/cgroup")
GROUP = "autograder"


def _write(path: Path, value: str) -> None:
    path.write_text(value)


def _sweep(parent: Path) -> None:
    """Remove empty cgroups of workers that are gone (rmdir fails on live ones)."""
    for child in parent.glob("w*"):
        try:
            child.rmdir()
        except OSError:
            pass


def join_cgroups(memory_mb: int, pids: int) -> set[str]:
    """Move this process into new cgroups with the limits; return the controllers set."""
    done: set[str] = set()
    me = str(os.getpid())
    if (CGROUP_ROOT / "cgroup.controllers").is_file():  # v2
        parent = CGROUP_ROOT / GROUP
        try:
            parent.mkdir(exist_ok=True)
            _write(CGROUP_ROOT / "cgroup.subtree_control", "+memory +pids")
            _write(parent / "cgroup.subtree_control", "+memory +pids")
            _sweep(parent)
            group = parent / f"w{me}"
            group.mkdir()
            _write(group / "memory.max", str(memory_mb * 2**20))
            _write(group / "memory.swap.max", "0") if (group / "memory.swap.max").exists() else None
            _write(group / "pids.max", str(pids))
            _write(group / "cgroup.procs", me)
            return {"memory", "pids"}
        except OSError:
            return set()
    for controller, files in (("memory", {"memory.limit_in_bytes": str(memory_mb * 2**20)}),
                              ("pids", {"pids.max": str(pids)})):
        parent = CGROUP_ROOT / controller / GROUP
        try:
            parent.mkdir(exist_ok=True)
            _sweep(parent)
            group = parent / f"w{me}"
            group.mkdir(exist_ok=True)
            for name, value in files.items():
                _write(group / name, value)
            _write(group / "cgroup.procs", me)
            done.add(controller)
        except OSError:
            continue
    return done


def set_rlimits(cpu_seconds: int, file_size_mb: int, memory_mb: int, pids: int,
                cgroups: set[str], gpu: bool = False) -> None:
    """rlimits for what no cgroup covers (inherited across exec). A CUDA worker gets no
    address-space limit: the driver maps far more virtual memory than it uses, so only a
    memory cgroup (or the container's) can bound it."""
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    size = file_size_mb * 2**20
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if "memory" not in cgroups and not gpu:
        limit = memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if "pids" not in cgroups:
        resource.setrlimit(resource.RLIMIT_NPROC, (pids, pids))


def main(argv: list[str]) -> None:
    if "--" not in argv:
        sys.exit("usage: python -m autograder.sandbox.launch OPTIONS -- PYTHON-ARGS")
    split = argv.index("--")
    parser = argparse.ArgumentParser(prog="autograder.sandbox.launch")
    parser.add_argument("--kind", choices=("bubblewrap", "subprocess"), required=True)
    for name in ("--memory-mb", "--pids", "--cpu-seconds", "--file-size-mb", "--uid"):
        parser.add_argument(name, type=int, required=True)
    parser.add_argument("--venv", required=True)
    parser.add_argument("--python", required=True)
    parser.add_argument("--gpu", action="store_true",
                        help="let the worker use the GPU (device nodes, driver libraries)")
    opts = parser.parse_args(argv[:split])
    rest = argv[split + 1:]
    cgroups = join_cgroups(opts.memory_mb, opts.pids) if os.geteuid() == 0 else set()
    set_rlimits(opts.cpu_seconds, opts.file_size_mb, opts.memory_mb, opts.pids, cgroups,
                gpu=opts.gpu)
    from autograder.config import SandboxLimits

    spec = SandboxSpec(kind=opts.kind, limits=SandboxLimits(), python=opts.python,
                       venv=opts.venv, uid=opts.uid)
    passed = {k: v for k, v in os.environ.items() if k.endswith("_NUM_THREADS")}
    if opts.gpu:
        passed.update({k: os.environ[k] for k in GPU_ENV if k in os.environ})
    cmd = [*drop_privileges(opts.uid)]
    if opts.kind == "bubblewrap":
        cmd += bwrap_args(spec)
        if opts.gpu:
            cmd += gpu_bwrap_args(passed)
        for key, value in passed.items():
            cmd += ["--setenv", key, value]
        cmd.append("--")
    cmd += [opts.python, *rest]
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "USER": "nobody", "LOGNAME": "nobody",
           "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg", **passed}
    os.chdir("/tmp")
    os.execvpe(cmd[0], cmd, env)


if __name__ == "__main__":
    main(sys.argv[1:])
