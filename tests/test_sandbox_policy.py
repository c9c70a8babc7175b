"""The sandbox's command lines and its fallback (no bubblewrap: a plain subprocess)."""

from __future__ import annotations

import os
import subprocess

from autograder.config import SandboxLimits
from autograder.engine import GradeRequest, run_suite
from autograder.sandbox.policy import NOBODY, SandboxSpec, bwrap_args, drop_privileges, launch_prefix

from conftest import FIXTURES

LIMITS = SandboxLimits(memory_mb=1024, wall_seconds_per_call=5, wall_seconds_per_submission=60,
                       max_processes=16)


def test_bubblewrap_command_line_isolates_everything():
    args = bwrap_args(SandboxSpec(kind="bubblewrap", limits=LIMITS, venv="/opt/venv"))
    for flag in ("--unshare-all", "--die-with-parent", "--new-session", "--clearenv"):
        assert flag in args
    joined = " ".join(args)
    assert "--ro-bind /usr /usr" in joined and "--ro-bind /opt/venv /opt/venv" in joined
    assert "--tmpfs /tmp" in joined and "--proc /proc" in joined
    assert "--bind " not in joined, "nothing of the host may be writable"
    assert "/work" not in joined and "solutions" not in joined


def test_privileges_are_dropped_to_a_real_non_root_uid():
    if os.geteuid() == 0:
        assert drop_privileges(NOBODY)[:3] == ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}"]
    else:
        assert drop_privileges(NOBODY) == []


def test_launcher_receives_the_limits():
    prefix = launch_prefix(SandboxSpec(kind="subprocess", limits=LIMITS))
    assert prefix[1:3] == ["-m", "autograder.sandbox.launch"] and prefix[0].endswith("/bin/python")
    assert prefix[prefix.index("--memory-mb") + 1] == "1024"
    assert prefix[prefix.index("--pids") + 1] == "16"
    assert prefix[-1] == "--"


def test_launcher_applies_rlimits_in_the_subprocess_kind():
    prefix = launch_prefix(SandboxSpec(kind="subprocess", limits=LIMITS))
    code = ("import resource, os; print(resource.getrlimit(resource.RLIMIT_CPU)[0], "
            "resource.getrlimit(resource.RLIMIT_FSIZE)[0], os.getuid())")
    out = subprocess.run([*prefix, "-c", code], capture_output=True, text=True, timeout=60)
    cpu, fsize, uid = out.stdout.split()
    assert int(cpu) == LIMITS.cpu_seconds and int(fsize) == LIMITS.max_file_size_mb * 2**20
    assert int(uid) == (NOBODY if os.geteuid() == 0 else os.getuid())


def test_without_bubblewrap_grading_falls_back_to_a_labelled_subprocess():
    master = FIXTURES / "tinycourse" / "solutions" / "tiny" / "tiny.ipynb"
    req = GradeRequest(suite=[master.parent / "test_tiny.py"], submission=master, master=master,
                       limits=LIMITS, mode="sandboxed", sandbox_kind="subprocess")
    out = run_suite(req)
    assert out.score == out.max_score == 10
    assert out.results["extra_data"]["sandbox"] == "subprocess"
