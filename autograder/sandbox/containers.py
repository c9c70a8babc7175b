"""Container backends for the worker: the same channel as the local sandbox (frames over
the interpreter's stdin and stdout), but the interpreter at its far end runs inside a
container (the trusted side stays outside). The worker appends `-B -c <bootstrap>` to
these commands and sends its code over stdin, so the image needs Python and the modules'
libraries, never the engine, a hidden test or a reference.

- docker: `--network none`, a read-only root with a private /tmp, memory/pids/CPU limits,
  no capabilities, a non-root user, the submission mounted read-only, the GPUs asked for,
  and `timeout -s KILL` inside so the container dies at the per-submission limit even if
  the trusted side is gone (the trusted side also `docker kill`s it on a time-out).
- apptainer: `--containall --cleanenv --no-home`, `--net --network none`, `--nv` for
  GPUs, the same limits through Apptainer's cgroup flags.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache

from autograder.config import SandboxLimits

CONTAINER_KINDS = ("docker", "apptainer")
SUBMISSION_MOUNT = "/submission"
WORKER_UID = 65534  # nobody, as in the local sandbox


@dataclass(frozen=True)
class ContainerSpec:
    """What a container worker needs beyond the limits."""

    image: str  # docker image reference, or the path of an Apptainer .sif
    name: str  # container name (docker kill on time-out)
    gpus: str = ""  # "" none, "all", or device ids "0,1"
    cpus: float = 2.0
    submission_dir: str = ""  # host folder with the submission, mounted read-only
    python: str = "python3"


def docker_command(spec: ContainerSpec, limits: SandboxLimits, wall_seconds: float) -> list[str]:
    """`docker run` for one worker (the worker adds the interpreter's arguments)."""
    cmd = ["docker", "run", "--interactive", "--rm", "--name", spec.name,
           "--network", "none", "--read-only",
           "--tmpfs", f"/tmp:rw,nosuid,nodev,size={limits.max_file_size_mb * 4}m,mode=1777,"
                      f"uid={WORKER_UID},gid={WORKER_UID}",  # owned: some engines drop mode
           "--memory", f"{limits.memory_mb}m", "--memory-swap", f"{limits.memory_mb}m",
           "--pids-limit", str(limits.max_processes), "--cpus", f"{spec.cpus:g}",
           "--ulimit", f"fsize={limits.max_file_size_mb * 1024 * 1024}",
           "--ulimit", "core=0", "--cap-drop", "ALL",
           "--security-opt", "no-new-privileges", "--user", f"{WORKER_UID}:{WORKER_UID}",
           "--env", "HOME=/tmp", "--env", "MPLBACKEND=Agg", "--env", "PYTHONDONTWRITEBYTECODE=1",
           "--workdir", "/tmp", "--log-driver", "none"]
    if spec.gpus:
        device = "all" if spec.gpus == "all" else f'"device={spec.gpus}"'
        cmd += ["--gpus", device]
    if spec.submission_dir:
        cmd += ["--volume", f"{spec.submission_dir}:{SUBMISSION_MOUNT}:ro"]
    cmd += [spec.image, "timeout", "--signal=KILL", f"{int(wall_seconds)}", spec.python]
    return cmd


def apptainer_command(spec: ContainerSpec, limits: SandboxLimits,
                      wall_seconds: float) -> list[str]:
    """`apptainer exec` for one worker (the worker adds the interpreter's arguments)."""
    cmd = ["apptainer", "exec", "--containall", "--cleanenv", "--no-home", "--no-mount", "cwd",
           "--net", "--network", "none", "--writable-tmpfs",
           "--memory", f"{limits.memory_mb}M", "--pids-limit", str(limits.max_processes),
           "--cpus", f"{spec.cpus:g}", "--env", "HOME=/tmp,MPLBACKEND=Agg", "--pwd", "/tmp"]
    if spec.gpus:
        cmd += ["--nv"]
        if spec.gpus != "all":
            cmd += ["--env", f"CUDA_VISIBLE_DEVICES={spec.gpus}"]
    if spec.submission_dir:
        cmd += ["--bind", f"{spec.submission_dir}:{SUBMISSION_MOUNT}:ro"]
    cmd += [spec.image, "timeout", "--signal=KILL", f"{int(wall_seconds)}", spec.python]
    return cmd


def kill_command(kind: str, spec: ContainerSpec) -> list[str] | None:
    """How to kill a running worker container from outside (apptainer dies with its
    process, docker's container does not die with its client)."""
    return ["docker", "kill", spec.name] if kind == "docker" else None


def _succeeds(cmd: list[str]) -> bool:
    """`cmd` is installed and exits 0 within 20 s."""
    if shutil.which(cmd[0]) is None:
        return False
    try:
        return subprocess.run(cmd, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@lru_cache(maxsize=1)
def docker_usable() -> bool:
    """A docker CLI that reaches a running engine."""
    return _succeeds(["docker", "info", "--format", "{{.ServerVersion}}"])


@lru_cache(maxsize=1)
def gpu_present() -> bool:
    """An NVIDIA GPU that the driver lists."""
    return _succeeds(["nvidia-smi", "-L"])
