"""What sandbox a worker gets, and the exact command line that builds it.

Kinds, best first:
- `bubblewrap`: a real non-root uid (setpriv), new user/pid/net/ipc/uts namespaces, no
  network, no nested user namespaces (`--disable-userns`), a seccomp filter (seccomp.py),
  /usr and the virtual environment read-only (less the files that name the host folder
  a package was installed from), a private /tmp, nothing else of the host's files; the
  pid namespace dies with the worker (setsid children included);
- `subprocess`: a plain child process with rlimits (and a dropped uid when root), used
  where bubblewrap is missing; results say so.
Limits go through cgroups where writable (memory, pids, and a CPU share equal for every
worker), else rlimits (address space, process count) and nice 19; CPU time and file
size are always rlimits. The launcher reports what it applied (`launch_prefix(report=)`);
`static_protections` says the same for the container kinds.
"""

from __future__ import annotations

import json
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
from autograder.sandbox.launch import OPTIONS, SECCOMP_FD, passed_env, worker_env
from autograder.sandbox.seccomp import program as seccomp_program

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


def _bwrap_accepts(extra: list[str], program: bytes | None = None) -> bool:
    """bwrap, run as the worker's uid, starts /usr/bin/true with `extra` (and with the
    seccomp `program`, passed on a pipe, where given)."""
    read = -1
    try:
        if program is not None:
            read, write = os.pipe()
            os.write(write, program)
            os.close(write)
            extra = [*extra, "--seccomp", str(read)]
        cmd = [*drop_privileges(NOBODY), shutil.which("bwrap") or "bwrap", "--unshare-all",
               *extra, "--ro-bind", "/usr", "/usr", *_usr_symlinks(), "--", "/usr/bin/true"]
        return subprocess.run(cmd, capture_output=True, timeout=20,
                              pass_fds=(read,) if read >= 0 else ()).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        if read >= 0:
            os.close(read)


@lru_cache(maxsize=1)
def bwrap_features() -> frozenset[str]:
    """What this host's bubblewrap can add to the sandbox: `disable-userns` (no nested user
    namespaces; needs an explicit --unshare-user) and `seccomp` (the filter of seccomp.py,
    where its syscall numbers are known). Probed once per process, both together first."""
    if not bubblewrap_works():
        return frozenset()
    filt = seccomp_program()
    userns = ["--unshare-user", "--disable-userns"]
    if filt is not None and _bwrap_accepts(userns, filt[1]):
        return frozenset({"disable-userns", "seccomp"})
    found = {"disable-userns"} if _bwrap_accepts(userns) else set()
    if filt is not None and _bwrap_accepts([], filt[1]):
        found.add("seccomp")
    return frozenset(found)


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


def _install_sources(site: Path) -> list[str]:
    """The host folders packages in `site` were installed from (editable or local
    installs): the `file:` URLs of their direct_url.json (PEP 610) and legacy egg-links."""
    sources = []
    for record in site.glob("*.dist-info/direct_url.json"):
        try:
            url = json.loads(record.read_text()).get("url", "")
        except (OSError, ValueError, AttributeError):
            continue
        if url.startswith("file://"):
            sources.append(url[len("file://"):].rstrip("/"))
    for link in site.glob("*.egg-link"):
        try:
            sources.append(link.read_text().splitlines()[0].strip().rstrip("/"))
        except (OSError, IndexError):
            continue
    return [source for source in sources if source]


def _names_any(path: Path, needles: list[str], limit: int = 1 << 20) -> bool:
    """Does the file (read up to `limit` bytes) contain one of the `needles`?"""
    try:
        with path.open("rb") as handle:
            data = handle.read(limit)
    except OSError:
        return False
    return any(needle.encode() in data for needle in needles)


@lru_cache(maxsize=8)
def host_path_files(venv: str) -> tuple[str, ...]:
    """The files of the venv that name the host folder a package was installed from
    (this project's, installed with `pip install -e`): every `__editable__*` hook and
    finder (and its compiled form), the `file:` direct_url.json records, egg-links, and any
    top-level module or `.pth` of site-packages that names such a folder. Inside the
    sandbox they are /dev/null, so nothing there names the course's source folder (but
    the venv's own path, where it is mounted), and `site` runs no editable hook at the
    worker's start (ours imports pathlib, re and urllib to map `autograder` onto a tree
    the sandbox does not contain: 16 ms of each start). Found once per process and venv."""
    hidden: list[Path] = []
    for site in Path(venv).glob("lib/python3*/site-packages"):
        sources = _install_sources(site)
        hidden += site.glob("__editable__*")
        hidden += site.glob("__pycache__/__editable__*")
        hidden += site.glob("*.egg-link")
        hidden += (p for p in site.glob("*.dist-info/direct_url.json") if _names_any(p, ["file:"]))
        for top in (*site.glob("*.pth"), *site.glob("*.py")):
            if sources and not top.name.startswith("__editable__") and _names_any(top, sources):
                hidden.append(top)
                hidden += site.glob(f"__pycache__/{top.stem}.*.pyc")
    return tuple(sorted({str(p) for p in hidden if p.is_file()}))


def bwrap_args(spec: SandboxSpec) -> list[str]:
    """The bubblewrap part of the worker's command line (before `--` and the python)."""
    # by absolute path: the launcher execs it with PATH=/usr/bin:/bin, and the probe
    # (bubblewrap_works) found it on the grader's PATH, e.g. in /usr/local/bin
    features = bwrap_features()
    args = [shutil.which("bwrap") or "bwrap", "--unshare-all", "--die-with-parent",
            "--new-session", "--clearenv",
            *(["--unshare-user", "--disable-userns"] if "disable-userns" in features else []),
            *(["--seccomp", str(SECCOMP_FD)] if "seccomp" in features else []),
            "--cap-drop", "ALL", "--hostname", "sandbox",
            "--ro-bind", "/usr", "/usr", *_usr_symlinks(),
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
            "--ro-bind", spec.venv, spec.venv]
    for etc in ("/etc/ld.so.cache", "/etc/localtime"):
        if Path(etc).exists():
            args += ["--ro-bind", etc, etc]
    for hidden in host_path_files(spec.venv):  # read as empty inside (editable hooks too)
        args += ["--ro-bind", "/dev/null", hidden]
    # the worker's environment (USER and LOGNAME: there is no /etc/passwd inside, and
    # getpass.getuser() in torch's compile caches reads them)
    for key, value in worker_env({}).items():
        args += ["--setenv", key, value]
    return args + ["--chdir", "/tmp"]


def sandbox_command(spec: SandboxSpec, environ: dict[str, str]) -> list[str]:
    """What the launcher execs once its limits are set: `setpriv` (when root) and
    `bwrap` (bubblewrap kind), then the worker's interpreter (the worker adds its flags)."""
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
                  environ: dict[str, str] | None = None, report: str | None = None) -> list[str]:
    """How the worker is started: our launcher (limits), then the sandbox; or the
    container command for the container kinds. A prefix: the worker's interpreter
    arguments are appended to it. The launcher runs isolated (`-I -S`: no site-packages,
    no environment variables read), as a script of the standard library; with `report`
    it writes there, before exec, the JSON object of what it applied (keys as
    `static_protections`; ignored for the container kinds, which have that instead)."""
    lim = spec.limits
    if spec.kind in CONTAINER_KINDS:
        if spec.container is None:
            raise ValueError(f"sandbox kind {spec.kind} needs a container image")
        build = docker_command if spec.kind == "docker" else apptainer_command
        return build(spec.container, lim, lim.wall_seconds_per_submission + grace_s)
    if spec.kind not in ("bubblewrap", "subprocess"):
        raise ValueError(f"unknown sandbox kind {spec.kind!r}")
    values = (lim.memory_mb, lim.max_processes, lim.cpu_seconds, lim.max_file_size_mb)
    filt = seccomp_program() if spec.kind == "bubblewrap" and "seccomp" in bwrap_features() \
        else None
    return [spec.python, "-I", "-S", LAUNCHER,
            *(arg for option, value in zip(OPTIONS, values) for arg in (option, str(value))),
            *(["--report", report] if report else []),
            *(["--seccomp", f"{filt[0]}:{filt[1].hex()}"] if filt else []),
            *(["--gpu"] if wants_gpu(spec) else []), "--",
            *sandbox_command(spec, dict(os.environ) if environ is None else environ)]


def static_protections(spec: SandboxSpec) -> dict[str, str]:
    """What a container kind applies, under the keys of the launcher's report (cpu,
    memory, pids, rlimits, seccomp, userns): for the trusted side to record where no
    launcher runs. The local kinds have the launcher's report instead (ValueError)."""
    if spec.kind not in CONTAINER_KINDS or spec.container is None:
        raise ValueError(f"sandbox kind {spec.kind}: the launcher's report says what applies")
    lim, cpus = spec.limits, f"{spec.container.cpus:g}"
    if spec.kind == "docker":
        return {"cpu": f"docker --cpus {cpus} (CFS quota) and the engine's equal cpu share",
                "memory": f"docker --memory {lim.memory_mb}m (no swap)",
                "pids": f"docker --pids-limit {lim.max_processes}",
                "rlimits": f"file size {lim.max_file_size_mb} MiB, core 0 (--ulimit); "
                           "killed at the per-submission wall limit (timeout -s KILL)",
                "seccomp": "docker's default seccomp profile, no-new-privileges",
                "userns": "nested user namespaces refused (docker's default seccomp profile: "
                          "unshare, setns and clone namespace flags need CAP_SYS_ADMIN, dropped)"}
    return {"cpu": f"apptainer --cpus {cpus} (cgroup, where the host lets apptainer use one)",
            "memory": f"apptainer --memory {lim.memory_mb}M",
            "pids": f"apptainer --pids-limit {lim.max_processes}",
            "rlimits": "none; killed at the per-submission wall limit (timeout -s KILL)",
            "seccomp": "none (apptainer has no default seccomp profile), no-new-privileges",
            "userns": "not restricted (apptainer does not refuse nested user namespaces)"}
