"""The worker's launcher: apply limits to itself, then exec the sandbox's command.

Run as `python -I -S .../launch.py OPTIONS -- COMMAND...` (`launch_prefix` in policy.py
builds the line; execnet appends the interpreter's own arguments). It puts itself in
fresh memory and pids cgroups where the cgroup filesystem is writable (v2 or v1), sets
rlimits (CPU seconds, file size, no core files; address space and process count when no
cgroup does it), and execs COMMAND (`setpriv` + `bwrap` + python, or the bare python)
with an environment of its own making. Everything it sets is inherited by the worker.

Standard library only, and only `os`, `resource` and `sys` of it: it runs before
anything else is trusted, and it starts once per worker, so it imports nothing it does
not use (as `-m autograder.sandbox.launch` it took 60 ms, most of it imports).
"""

from __future__ import annotations

import os
import resource
import sys

CGROUP_ROOT = "/sys/fs/cgroup"
GROUP = "autograder"
GPU_ENV = ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES",
           "LD_LIBRARY_PATH")  # what a CUDA worker needs from the grader's environment
OPTIONS = ("--memory-mb", "--pids", "--cpu-seconds", "--file-size-mb")


def passed_env(environ: dict[str, str], gpu: bool) -> dict[str, str]:
    """What of the grader's environment the worker keeps: its thread counts, and the
    GPU's variables when it may use one."""
    passed = {k: v for k, v in environ.items() if k.endswith("_NUM_THREADS")}
    if gpu:
        passed.update({k: environ[k] for k in GPU_ENV if k in environ})
    return passed


def worker_env(passed: dict[str, str]) -> dict[str, str]:
    """The worker's whole environment (bubblewrap sets the same with --setenv)."""
    return {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "USER": "nobody", "LOGNAME": "nobody",
            "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg", **passed}


def _write(path: str, value: str) -> None:
    with open(path, "w") as handle:
        handle.write(value)


def pid_alive(pid: int) -> bool:
    """Is `pid` a running process (not gone, not a zombie waiting to be reaped)?"""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def _sweep(parent: str) -> None:
    """Remove the cgroups of workers that are gone. A group is named after its launcher's
    pid, which the worker keeps (exec), so a live pid's group is left alone even while it
    is still empty: its launcher may be between creating and joining it (rmdir alone would
    remove such a group, and that launcher would fall back to rlimits)."""
    for name in os.listdir(parent):
        if name.startswith("w") and name[1:].isdigit() and not pid_alive(int(name[1:])):
            try:
                os.rmdir(os.path.join(parent, name))
            except OSError:
                pass


def join_cgroups(memory_mb: int, pids: int) -> set[str]:
    """Move this process into new cgroups with the limits; return the controllers set."""
    done: set[str] = set()
    me = str(os.getpid())
    if os.path.isfile(os.path.join(CGROUP_ROOT, "cgroup.controllers")):  # v2
        parent = os.path.join(CGROUP_ROOT, GROUP)
        try:
            os.makedirs(parent, exist_ok=True)
            _write(os.path.join(CGROUP_ROOT, "cgroup.subtree_control"), "+memory +pids")
            _write(os.path.join(parent, "cgroup.subtree_control"), "+memory +pids")
            _sweep(parent)
            group = os.path.join(parent, f"w{me}")
            os.mkdir(group)
            _write(os.path.join(group, "memory.max"), str(memory_mb * 2**20))
            if os.path.exists(os.path.join(group, "memory.swap.max")):
                _write(os.path.join(group, "memory.swap.max"), "0")
            _write(os.path.join(group, "pids.max"), str(pids))
            _write(os.path.join(group, "cgroup.procs"), me)
            return {"memory", "pids"}
        except OSError:
            return set()
    for controller, files in (("memory", {"memory.limit_in_bytes": str(memory_mb * 2**20)}),
                              ("pids", {"pids.max": str(pids)})):
        parent = os.path.join(CGROUP_ROOT, controller, GROUP)
        try:
            os.makedirs(parent, exist_ok=True)
            _sweep(parent)
            group = os.path.join(parent, f"w{me}")
            os.makedirs(group, exist_ok=True)
            for name, value in files.items():
                _write(os.path.join(group, name), value)
            _write(os.path.join(group, "cgroup.procs"), me)
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


def parse(argv: list[str]) -> tuple[dict[str, int], bool, list[str]]:
    """OPTIONS [--gpu] -- COMMAND... -> ({option: value}, gpu, command)."""
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        sys.exit("usage: launch.py --memory-mb N --pids N --cpu-seconds N --file-size-mb N "
                 "[--gpu] -- COMMAND...")
    split = argv.index("--")
    head, command = argv[:split], argv[split + 1:]
    gpu = "--gpu" in head
    head = [arg for arg in head if arg != "--gpu"]
    values = dict(zip(head[::2], head[1::2]))
    if len(head) % 2 or sorted(values) != sorted(OPTIONS) or not all(
            v.isdigit() for v in values.values()):
        sys.exit(f"launch.py: expected {' N '.join(OPTIONS)} N, got {' '.join(head)!r}")
    return {k: int(v) for k, v in values.items()}, gpu, command


def main(argv: list[str]) -> None:
    opts, gpu, command = parse(argv)
    memory_mb, pids = opts["--memory-mb"], opts["--pids"]
    cgroups = join_cgroups(memory_mb, pids) if os.geteuid() == 0 else set()
    set_rlimits(opts["--cpu-seconds"], opts["--file-size-mb"], memory_mb, pids, cgroups,
                gpu=gpu)
    os.chdir("/tmp")
    os.execvpe(command[0], command, worker_env(passed_env(dict(os.environ), gpu)))


if __name__ == "__main__":
    main(sys.argv[1:])
