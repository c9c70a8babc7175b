"""CPU starvation of a neighbour: a hostile worker that runs 30 spinning processes (or
threads) must not slow an honest worker graded beside it by more than its fair share.

Every worker gets a CPU share of its own (a cgroup with the same cpu.weight / cpu.shares
as every other worker's), so on a single core an honest worker beside any hostile one
gets about half of it: about 2x its time alone. Without shares the kernel shares the
core by session at best (autogroup), so a worker whose 30 spinners each start a session
of their own takes 30 of its 31 parts (~31x). Both workers are pinned to the same core, and the honest worker's time
beside the hostile one is compared with its time alone in the same run (a ratio, not
seconds: the machine may be busy with other work).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from autograder.sandbox.policy import LAUNCHER, NOBODY, SandboxSpec, drop_privileges

from launched import LIMITS, cpu_share_missing, local_kind, run, start

pytestmark = pytest.mark.integration

CORE = max(os.sched_getaffinity(0))
SPINNERS = 30
NICE = 19  # where no cpu controller is writable
BOUND = 4.0  # the honest worker's time beside the hostile one / alone; ~2 with shares

HONEST = f"""
import os, time
os.sched_setaffinity(0, {{{CORE}}})
start = time.perf_counter()
x = 0
for i in range(6_000_000):
    x += i
print(time.perf_counter() - start)
"""

# each spinner stops by itself once the hostile worker's first process is gone (or after
# 120 s), so none outlives the test even in the subprocess kind
HOSTILE = f"""
import os, sys, time
os.sched_setaffinity(0, {{{CORE}}})
main, deadline = os.getpid(), time.monotonic() + 120

def alive():
    try:
        os.kill(main, 0)
    except ProcessLookupError:
        return False
    return time.monotonic() < deadline

def spin():
    n = 0
    while True:
        n += 1
        if n % 200_000 == 0 and not alive():
            os._exit(0)

def hash_spin():  # hashlib lets go of the GIL: every thread runs at once
    import hashlib
    block = bytes(256 << 10)
    while alive():
        hashlib.sha256(block).digest()

def raise_priority():  # refused without CAP_SYS_NICE; renicing its uid's others is not
    attempts = [lambda: os.setpriority(os.PRIO_PROCESS, 0, -20),
                lambda: os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50)),
                lambda: os.setpriority(os.PRIO_PROCESS, 0, 0)]
    if sys.argv[2] == "bubblewrap":  # every process of uid 65534 it sees: its own pid namespace's
        attempts.append(lambda: os.setpriority(os.PRIO_USER, os.getuid(), 19))
    for attempt in attempts:
        try:
            attempt()
        except OSError:
            pass

def daemon(run):  # fork, new session, fork again: an orphan in a session of its own
    middle = os.fork()
    if middle == 0:
        os.setsid()
        if os.fork() == 0:
            run()
            spin()
        os._exit(0)
    os.waitpid(middle, 0)

def threads():  # 2 threads in each of 15 sessions: 30 running at once
    import threading
    for _ in range(2):
        threading.Thread(target=hash_spin, daemon=True).start()
    while alive():
        time.sleep(0.2)
    os._exit(0)

variant = sys.argv[1]
if variant == "threads":
    for _ in range({SPINNERS} // 2):
        daemon(threads)
else:
    for _ in range({SPINNERS}):
        daemon(raise_priority if variant == "renice" else (lambda: None))
print("ready", flush=True)
while alive():
    time.sleep(0.2)
"""


def honest_seconds(kind: str) -> float:
    out = run(HONEST, kind=kind, timeout=300)
    assert out.returncode == 0, out.stderr
    return float(out.stdout.strip())


@pytest.mark.parametrize("variant", ["setsid", "threads", "renice"])
def test_an_honest_worker_keeps_its_share_beside_a_hostile_one_on_the_same_core(variant):
    """Expected: beside a worker running 30 spinning daemons, each in a session of its own
    (or 30 GIL-free threads in 15 such sessions, or daemons that try to raise their
    priority and renice every process of their uid to 19), all on the honest worker's
    core, the honest worker takes less than 4x its time alone (about 2x: equal shares;
    with no share, as one session of 31 or 16, 16-31x)."""
    missing = cpu_share_missing()
    if missing:
        pytest.skip(f"no CPU share per worker here: {missing}; the workers run at nice "
                    f"{NICE} (test_without_a_cpu_controller_the_worker_runs_at_nice_19)")
    kind = local_kind()
    alone = min(honest_seconds(kind), honest_seconds(kind))
    hostile = start(HOSTILE, variant, kind, kind=kind)
    try:
        ready, _, _ = select.select([hostile.stdout], [], [], 60)
        assert ready and hostile.stdout.readline().strip() == "ready", hostile.stderr.read()
        beside = min(honest_seconds(kind), honest_seconds(kind))
    finally:
        hostile.kill()
        hostile.wait()
    assert beside < BOUND * alone, (
        f"{variant}: the honest worker took {beside:.2f} s beside the hostile one, "
        f"{beside / alone:.1f}x its {alone:.2f} s alone")


def test_without_a_cpu_controller_the_worker_runs_at_nice_19_and_the_report_says_so():
    """Expected: a launcher that cannot join a cpu cgroup (here: run as uid 65534, which
    joins none) runs the worker at nice 19 and its report says
    "nice 19 (no writable cpu controller)"."""
    folder = Path(tempfile.mkdtemp(prefix="fdl-nice-"))
    try:
        folder.chmod(0o777)
        launcher = folder / "launch.py"  # where uid 65534 can read it
        shutil.copy(LAUNCHER, launcher)
        launcher.chmod(0o644)
        report = folder / "report.json"
        python = SandboxSpec(kind="subprocess", limits=LIMITS).python
        lim = LIMITS
        cmd = [*drop_privileges(NOBODY), python, "-I", "-S", str(launcher),
               "--memory-mb", str(lim.memory_mb), "--pids", str(lim.max_processes),
               "--cpu-seconds", str(lim.cpu_seconds), "--file-size-mb",
               str(lim.max_file_size_mb), "--report", str(report), "--",
               python, "-c", "import os; print(os.nice(0))"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == str(NICE)
        assert json.loads(report.read_text())["cpu"] == f"nice {NICE} (no writable cpu controller)"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
