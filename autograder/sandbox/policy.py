"""What sandbox a worker gets, and the exact command line that builds it.

Kinds, best first:
- `bubblewrap`: a real non-root uid (setpriv), new user/pid/net/ipc/uts namespaces, no
  network, /usr and the virtual environment read-only, a private /tmp, nothing else of
  the host's files; the pid namespace dies with the worker (setsid children included);
- `subprocess`: a plain child process with rlimits (and a dropped uid when root), used
  where bubblewrap is missing; results say so.
Limits go through cgroups where writable (memory, pids), else rlimits (address space,
process count); CPU time and file size are always rlimits.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from autograder.config import SandboxLimits
from autograder.sandbox.containers import CONTAINER_KINDS, ContainerSpec, apptainer_command, \
    docker_command
from autograder.sandbox.launch import OPTIONS, passed_env, worker_env

LAUNCHER = str(Path(__file__).with_name("launch.py"))

NOBODY = 65534


def _venv() -> str:
    """The virtual environment's real folder (`.venv` may be a link to it, see Makefile)."""
    return os.path.realpath(sys.prefix)


def _venv_python() -> str:
    """The venv's interpreter under its real folder (not the interpreter it links to)."""
    return os.path.join(_venv(), "bin", os.path.basename(sys.executable))


@dataclass(frozen=True)
class SandboxSpec:
    """One worker's sandbox: its kind, limits and what it may read."""

    kind: str  # "bubblewrap" | "subprocess" | "docker" | "apptainer"
    limits: SandboxLimits
    python: str = field(default_factory=_venv_python)  # the venv's, readable by `uid`
    venv: str = field(default_factory=_venv)  # bound read-only
    uid: int = NOBODY
    container: ContainerSpec | None = None  # docker and apptainer kinds only
    device: str = "cpu"  # where student code runs: cpu, cuda or auto (cuda if the worker sees one)


@lru_cache(maxsize=1)
def bubblewrap_works() -> bool:
    """bwrap installed and able to build a user namespace as an unprivileged uid here."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return False
    cmd = [*drop_privileges(NOBODY), bwrap, "--unshare-all", "--ro-bind", "/usr", "/usr",
           *_usr_symlinks(), "--", "/usr/bin/true"]
    try:
        return subprocess.run(cmd, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def choose_kind(requested: str = "auto") -> str:
    """`auto` -> bubblewrap when it works here, else subprocess; containers as asked."""
    if requested == "auto":
        return "bubblewrap" if bubblewrap_works() else "subprocess"
    if requested not in ("bubblewrap", "subprocess", *CONTAINER_KINDS):
        raise ValueError(f"unknown sandbox kind {requested!r}")
    return requested


def drop_privileges(uid: int) -> list[str]:
    """`setpriv` to a real non-root uid when we are root (else nothing to drop)."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
            "--inh-caps=-all", "--"]


def _usr_symlinks() -> list[str]:
    """Merged-/usr distributions: /bin, /lib... are links into /usr."""
    args: list[str] = []
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), f"/{name}"]
        elif path.is_dir():
            args += ["--ro-bind", str(path), f"/{name}"]
    return args


def gpu_device_nodes() -> list[str]:
    """The NVIDIA device nodes here (/dev/nvidiactl, /dev/nvidia0, ...; none without a GPU)."""
    return sorted(str(p) for p in Path("/dev").glob("nvidia*") if not p.is_dir())


def wants_gpu(spec: SandboxSpec) -> bool:
    """Give the worker the GPU? Only when asked for (cuda/auto) and one is here."""
    return spec.device != "cpu" and bool(gpu_device_nodes())


def gpu_bwrap_args(env: dict[str, str]) -> list[str]:
    """What a CUDA worker needs inside bubblewrap: the device nodes (read-write, no more)
    and the driver's library folders named by LD_LIBRARY_PATH, read-only."""
    args: list[str] = []
    for node in gpu_device_nodes():
        args += ["--dev-bind", node, node]
    for folder in env.get("LD_LIBRARY_PATH", "").split(":"):
        if folder and Path(folder).is_dir() and not folder.startswith("/usr/"):
            args += ["--ro-bind", folder, folder]
    return args


def editable_hooks(venv: str) -> list[str]:
    """The `.pth` files of editable installs in the venv (this project's own, when it is
    installed with `pip install -e`). At every interpreter start `site` runs them, and ours
    imports pathlib, re and urllib to map `autograder` onto a source tree the sandbox does
    not even contain: 16 ms of each worker's start, for nothing the student's code can use."""
    return sorted(str(p) for p in Path(venv).glob("lib/python3*/site-packages/__editable__*.pth"))


def bwrap_args(spec: SandboxSpec) -> list[str]:
    """The bubblewrap part of the worker's command line (before `--` and the python)."""
    # by absolute path: the launcher execs it with PATH=/usr/bin:/bin, and the probe
    # (bubblewrap_works) found it on the grader's PATH, e.g. in /usr/local/bin
    args = [shutil.which("bwrap") or "bwrap", "--unshare-all", "--die-with-parent",
            "--new-session", "--clearenv",
            "--cap-drop", "ALL", "--hostname", "sandbox",
            "--ro-bind", "/usr", "/usr", *_usr_symlinks(),
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
            "--ro-bind", spec.venv, spec.venv]
    for etc in ("/etc/ld.so.cache", "/etc/localtime"):
        if Path(etc).exists():
            args += ["--ro-bind", etc, etc]
    for hook in editable_hooks(spec.venv):  # read as empty inside
        args += ["--ro-bind", "/dev/null", hook]
    # the worker's environment (USER and LOGNAME: there is no /etc/passwd inside, and
    # getpass.getuser() in torch's compile caches reads them)
    for key, value in worker_env({}).items():
        args += ["--setenv", key, value]
    return args + ["--chdir", "/tmp"]


def sandbox_command(spec: SandboxSpec, environ: dict[str, str]) -> list[str]:
    """What the launcher execs once its limits are set: `setpriv` (when root) and
    `bwrap` (bubblewrap kind), then the worker's interpreter (execnet adds its flags)."""
    gpu = wants_gpu(spec)
    cmd = drop_privileges(spec.uid)
    if spec.kind == "bubblewrap":
        cmd += bwrap_args(spec)
        passed = passed_env(environ, gpu)
        if gpu:
            cmd += gpu_bwrap_args(passed)
        for key, value in passed.items():
            cmd += ["--setenv", key, value]
        cmd.append("--")
    return cmd + [spec.python]


def launch_prefix(spec: SandboxSpec, grace_s: float = 30.0,
                  environ: dict[str, str] | None = None) -> list[str]:
    """How execnet starts the worker: our launcher (limits), then the sandbox; or the
    container command for the container kinds. The launcher runs isolated (`-I -S`: no
    site-packages, no environment variables read), as a script of the standard library."""
    lim = spec.limits
    if spec.kind in CONTAINER_KINDS:
        if spec.container is None:
            raise ValueError(f"sandbox kind {spec.kind} needs a container image")
        build = docker_command if spec.kind == "docker" else apptainer_command
        return build(spec.container, lim, lim.wall_seconds_per_submission + grace_s)
    if spec.kind not in ("bubblewrap", "subprocess"):
        raise ValueError(f"unknown sandbox kind {spec.kind!r}")
    values = (lim.memory_mb, lim.max_processes, lim.cpu_seconds, lim.max_file_size_mb)
    return [spec.python, "-I", "-S", LAUNCHER,
            *(arg for option, value in zip(OPTIONS, values) for arg in (option, str(value))),
            *(["--gpu"] if wants_gpu(spec) else []), "--",
            *sandbox_command(spec, dict(os.environ) if environ is None else environ)]
