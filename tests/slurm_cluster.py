"""A private one-node Slurm cluster on localhost for the executor's test (Debian's
slurm-wlm and munge, run as root): its own munged socket and key, its own ports and
state folder, a fake GPU as gres backed by a device node. `SlurmCluster.start` returns
once `sinfo` shows the node idle; `stop` kills the daemons."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo")


def unavailable_reason() -> str | None:
    """Why a test cluster cannot start here, or None."""
    missing = [b for b in BINARIES if shutil.which(b) is None
               and not Path(f"/usr/sbin/{b}").exists()]
    if missing:
        return f"Slurm/munge not installed ({', '.join(missing)}): apt-get install slurm-wlm munge"
    if os.geteuid() != 0:
        return "the one-node Slurm test cluster needs root (as in CI)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bin(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


@dataclass
class SlurmCluster:
    root: Path
    env: dict[str, str] = field(default_factory=dict)
    started_s: float = 0.0
    pids: list[int] = field(default_factory=list)

    @classmethod
    def start(cls, root: Path, cpus: int = 2, timeout: float = 60.0) -> "SlurmCluster":
        t0 = time.monotonic()
        root.mkdir(parents=True, exist_ok=True)
        root.chmod(0o755)
        for sub in ("state", "spool", "log", "run", "munge"):
            (root / sub).mkdir(exist_ok=True)
        munge = root / "munge"
        munge.chmod(0o700)
        key = munge / "munge.key"
        key.write_bytes(os.urandom(128))
        key.chmod(0o400)
        sock = munge / "munge.sock"
        subprocess.run([_bin("munged"), "--force", f"--socket={sock}", f"--key-file={key}",
                        f"--pid-file={munge / 'munged.pid'}", f"--log-file={munge / 'munged.log'}",
                        f"--seed-file={munge / 'munged.seed'}"], check=True)
        node = socket.gethostname()
        gpu = root / "fakegpu0"
        if not gpu.exists():
            os.mknod(gpu, 0o666 | 0o020000, os.makedev(1, 3))  # a char device, like /dev/null
        conf = root / "slurm.conf"
        conf.write_text("\n".join([
            "ClusterName=fdltest", f"SlurmctldHost={node}", "SlurmUser=root", "SlurmdUser=root",
            "AuthType=auth/munge", f"AuthInfo=socket={sock}",
            f"StateSaveLocation={root / 'state'}", f"SlurmdSpoolDir={root / 'spool'}",
            f"SlurmctldPidFile={root / 'run' / 'slurmctld.pid'}",
            f"SlurmdPidFile={root / 'run' / 'slurmd.pid'}",
            f"SlurmctldPort={_free_port()}", f"SlurmdPort={_free_port()}",
            f"SlurmctldLogFile={root / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={root / 'log' / 'slurmd.log'}",
            "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core", "GresTypes=gpu",
            "MpiDefault=none", "ReturnToService=2", "SchedulerType=sched/backfill",
            "MinJobAge=600", "MessageTimeout=30",
            f"NodeName={node} CPUs={cpus} RealMemory=16000 Gres=gpu:1 State=UNKNOWN",
            "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
        ]) + "\n")
        (root / "gres.conf").write_text(f"NodeName={node} Name=gpu File={gpu}\n")
        cluster = cls(root=root, env={**os.environ, "SLURM_CONF": str(conf)})
        for daemon in ("slurmctld", "slurmd"):
            subprocess.run([_bin(daemon), "-f", str(conf)], check=True, env=cluster.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = subprocess.run(["sinfo", "--noheader", "--format=%t"], env=cluster.env,
                                 capture_output=True, text=True)
            if out.stdout.strip() == "idle":
                cluster.started_s = time.monotonic() - t0
                return cluster
            time.sleep(0.5)
        cluster.stop()
        raise RuntimeError(f"the test Slurm did not come up in {timeout:g} s: "
                           f"{(root / 'log' / 'slurmctld.log').read_text()[-1500:]}")

    def stop(self) -> None:
        """Cancel what is left, then stop slurmd, slurmctld and munged."""
        subprocess.run(["scancel", "--full", "--user=root"], env=self.env, capture_output=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            out = subprocess.run(["squeue", "--noheader"], env=self.env, capture_output=True,
                                 text=True)
            if out.returncode != 0 or not out.stdout.strip():
                break
            time.sleep(0.2)
        for pidfile in (self.root / "run" / "slurmd.pid", self.root / "run" / "slurmctld.pid",
                        self.root / "munge" / "munged.pid"):
            try:
                os.kill(int(pidfile.read_text().split()[0]), 15)
            except (OSError, ValueError):
                pass
