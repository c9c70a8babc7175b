"""A private Docker engine for the docker backend's test: Debian's dockerd on its own
socket and data root (`--iptables=false --bridge=none --storage-driver=vfs`, which works
inside unprivileged CI containers), and a worker image imported from a root filesystem
(nothing can be pulled). The root filesystem is copied from this Debian machine (python3,
its standard library, numpy, coreutils' timeout and their libraries: seconds, where
debootstrap took over ten minutes here) and cached under /var/tmp."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

IMAGE = "fdl-course-worker:test"
ROOTFS_TAR = Path("/var/tmp/fdl-course-worker-rootfs.tar")


def unavailable_reason() -> str | None:
    missing = [b for b in ("dockerd", "docker") if shutil.which(b) is None
               and not Path(f"/usr/sbin/{b}").exists()]
    if missing:
        return f"not installed: {', '.join(missing)} (apt-get install docker.io)"
    if os.geteuid() != 0:
        return "starting dockerd needs root (as in CI)"
    return None


def _shared_libs(paths: list[Path]) -> set[Path]:
    """Every shared library the given binaries and extension modules load (via ldd)."""
    libs: set[Path] = set()
    for path in paths:
        out = subprocess.run(["ldd", str(path)], capture_output=True, text=True).stdout
        for line in out.splitlines():
            parts = line.split()
            for token in parts:
                if token.startswith("/") and Path(token).exists():
                    libs.add(Path(token))
    return libs


def _rootfs_tar(work: Path) -> Path:
    """A minimal root filesystem copied from this Debian machine: its python3 with the
    standard library, numpy from the venv, coreutils' timeout, and their libraries."""
    if ROOTFS_TAR.is_file():
        return ROOTFS_TAR
    import numpy
    import sysconfig

    root = work / "rootfs"
    python = Path(os.path.realpath("/usr/bin/python3"))
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    numpy_dir = Path(numpy.__file__).parent
    binaries = [python, Path(shutil.which("timeout") or "/usr/bin/timeout")]
    extensions = [*stdlib.glob("lib-dynload/*.so"), *numpy_dir.rglob("*.so")]
    for src in [*binaries, *_shared_libs(binaries + extensions)]:
        dest = root / src.relative_to("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)
    shutil.copytree(stdlib, root / stdlib.relative_to("/"), symlinks=True,
                    ignore=shutil.ignore_patterns("test", "__pycache__", "idlelib", "tkinter"))
    site = root / "usr/lib/python3/dist-packages"
    for pkg in (numpy_dir, *numpy_dir.parent.glob("numpy.libs")):
        shutil.copytree(pkg, site / pkg.name, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    (root / "usr/bin/python3").symlink_to(python.name)
    for link, target in (("bin", "usr/bin"), ("lib", "usr/lib"), ("lib64", "usr/lib64")):
        if (root / target).exists() and not (root / link).exists():
            (root / link).symlink_to(target)
    (root / "etc").mkdir(exist_ok=True)
    shutil.copy2("/etc/ld.so.cache", root / "etc/ld.so.cache")
    (root / "tmp").mkdir(mode=0o1777, exist_ok=True)
    tmp = ROOTFS_TAR.with_suffix(".partial")
    subprocess.run(["tar", "-C", str(root), "-cf", str(tmp), "."], check=True)
    os.replace(tmp, ROOTFS_TAR)
    shutil.rmtree(root, ignore_errors=True)
    return ROOTFS_TAR


@dataclass
class DockerEngine:
    root: Path
    image: str = IMAGE
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    started_s: float = 0.0

    @classmethod
    def start(cls, root: Path, timeout: float = 60.0) -> "DockerEngine":
        t0 = time.monotonic()
        root.mkdir(parents=True, exist_ok=True)
        sock = root / "docker.sock"
        engine = cls(root=root, env={**os.environ, "DOCKER_HOST": f"unix://{sock}"})
        dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
        log = open(root / "dockerd.log", "wb")  # noqa: SIM115 - lives as long as dockerd
        engine.proc = subprocess.Popen(
            [dockerd, "--iptables=false", "--bridge=none", "--storage-driver=vfs",
             f"--data-root={root / 'data'}", f"--exec-root={root / 'exec'}",
             f"--pidfile={root / 'dockerd.pid'}", f"--host=unix://{sock}"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while subprocess.run(["docker", "info"], env=engine.env,
                             capture_output=True).returncode != 0:
            if time.monotonic() > deadline or engine.proc.poll() is not None:
                engine.stop()
                raise RuntimeError("dockerd did not start: "
                                   + (root / "dockerd.log").read_text()[-1500:])
            time.sleep(0.5)
        engine.started_s = time.monotonic() - t0
        tar = _rootfs_tar(root)
        subprocess.run(["docker", "import", str(tar), engine.image], env=engine.env,
                       check=True, capture_output=True)
        return engine

    def containers(self) -> list[str]:
        out = subprocess.run(["docker", "ps", "-aq"], env=self.env, capture_output=True,
                             text=True)
        return out.stdout.split()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
