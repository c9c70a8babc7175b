"""A private Docker engine for the docker backend's test: Debian's dockerd on its own
socket and data root (`--iptables=false --bridge=none --storage-driver=vfs`, which works
inside unprivileged CI containers), and a worker image imported from a root filesystem
that debootstrap builds (nothing can be pulled). The root filesystem is cached under
/var/tmp so later runs on the same machine skip debootstrap."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

IMAGE = "fdl-course-worker:test"
ROOTFS_TAR = Path("/var/tmp/fdl-course-worker-rootfs.tar")
PACKAGES = "python3-minimal,python3-numpy"  # what the tiny numpy module imports


def unavailable_reason() -> str | None:
    missing = [b for b in ("dockerd", "docker", "debootstrap") if shutil.which(b) is None
               and not Path(f"/usr/sbin/{b}").exists()]
    if missing:
        return f"not installed: {', '.join(missing)} (apt-get install docker.io debootstrap)"
    if os.geteuid() != 0:
        return "starting dockerd needs root (as in CI)"
    return None


def _rootfs_tar(work: Path) -> Path:
    if ROOTFS_TAR.is_file():
        return ROOTFS_TAR
    root = work / "rootfs"
    debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
    proc = subprocess.run([debootstrap, "--variant=minbase", f"--include={PACKAGES}",
                           "bookworm", str(root), "http://deb.debian.org/debian"],
                          capture_output=True, text=True, timeout=1200)
    if proc.returncode != 0:
        raise RuntimeError(f"debootstrap failed: {proc.stdout[-1000:]} {proc.stderr[-1000:]}")
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
