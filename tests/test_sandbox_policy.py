"""The sandbox's command lines and its fallback (no bubblewrap: a plain subprocess)."""

from __future__ import annotations

import os
import subprocess
import time

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
    # run by absolute path (the launcher's PATH is /usr/bin:/bin; bwrap may be elsewhere)
    import shutil

    assert args[0] == (shutil.which("bwrap") or "bwrap")
    # no /etc/passwd inside: getpass.getuser() must find a name in the environment
    assert "--setenv USER nobody" in joined and "--setenv LOGNAME nobody" in joined


def test_editable_install_hooks_read_as_empty_inside_the_sandbox(tmp_path):
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    hook = site / "__editable__.fdl_course-0.1.0.pth"
    hook.write_text("import __editable___fdl_course_finder; __editable___fdl_course_finder.install()\n")
    (site / "distutils-precedence.pth").write_text("import os\n")
    args = bwrap_args(SandboxSpec(kind="bubblewrap", limits=LIMITS, venv=str(tmp_path / "venv")))
    pairs = list(zip(args, args[1:], args[2:]))
    assert ("--ro-bind", "/dev/null", str(hook)) in pairs
    assert not any(a == "/dev/null" and "distutils" in b for _, a, b in pairs), "only editable hooks"


def test_launcher_sweeps_only_the_cgroups_of_processes_that_are_gone(tmp_path):
    from autograder.sandbox import launch

    gone = subprocess.Popen(["true"])
    gone.wait()
    zombie = subprocess.Popen(["true"])  # exits, not yet reaped: as good as gone
    for _ in range(200):
        if not launch.pid_alive(zombie.pid):
            break
        time.sleep(0.01)
    for pid in (os.getpid(), gone.pid, zombie.pid):
        (tmp_path / f"w{pid}").mkdir()
    (tmp_path / "docker").mkdir()
    launch._sweep(str(tmp_path))
    zombie.wait()
    # an empty group of a live launcher may be one it is about to join: it stays
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["docker", f"w{os.getpid()}"])


def test_privileges_are_dropped_to_a_real_non_root_uid():
    if os.geteuid() == 0:
        assert drop_privileges(NOBODY)[:3] == ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}"]
    else:
        assert drop_privileges(NOBODY) == []


def test_launcher_receives_the_limits_and_the_sandbox_command():
    spec = SandboxSpec(kind="bubblewrap", limits=LIMITS, python="/opt/venv/bin/python",
                       venv="/opt/venv")
    prefix = launch_prefix(spec, environ={"OMP_NUM_THREADS": "1", "SECRET_TOKEN": "x"})
    # isolated: no site-packages, no PYTHON* variables; a script of the standard library
    assert prefix[:3] == ["/opt/venv/bin/python", "-I", "-S"]
    assert prefix[3].endswith("/autograder/sandbox/launch.py")
    assert prefix[prefix.index("--memory-mb") + 1] == "1024"
    assert prefix[prefix.index("--pids") + 1] == "16"
    command = prefix[prefix.index("--") + 1:]
    assert command[-1] == "/opt/venv/bin/python"  # execnet appends the interpreter's flags
    assert command[:len(drop_privileges(NOBODY))] == drop_privileges(NOBODY)
    bwrap = command[len(drop_privileges(NOBODY)):-2]
    assert bwrap[:len(bwrap_args(spec))] == bwrap_args(spec)
    assert bwrap[len(bwrap_args(spec)):] == ["--setenv", "OMP_NUM_THREADS", "1"]  # not the token
    plain = launch_prefix(SandboxSpec(kind="subprocess", limits=LIMITS, python="/p"), environ={})
    assert plain[plain.index("--") + 1:] == [*drop_privileges(NOBODY), "/p"]


def test_launcher_rejects_a_malformed_line_in_one_line():
    import sys

    from autograder.sandbox.policy import LAUNCHER

    for args in (["--memory-mb", "1"], ["--memory-mb", "x", "--", "true"], ["--", "true"]):
        out = subprocess.run([sys.executable, "-I", "-S", LAUNCHER, *args], capture_output=True,
                             text=True, timeout=60)
        assert out.returncode != 0 and len(out.stderr.strip().splitlines()) == 1, out.stderr


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


# --- a worker on the GPU: the parts that can be checked without one ------------------
def test_a_gpu_worker_gets_the_device_nodes_and_driver_libraries_only(monkeypatch, tmp_path):
    from autograder.sandbox import policy

    nodes = ["/dev/nvidia0", "/dev/nvidiactl", "/dev/nvidia-uvm"]
    monkeypatch.setattr(policy, "gpu_device_nodes", lambda: nodes)
    driver = tmp_path / "nvidia" / "lib64"
    driver.mkdir(parents=True)
    args = policy.gpu_bwrap_args({"LD_LIBRARY_PATH": f"{driver}:/usr/lib/x86_64-linux-gnu:/gone"})
    assert args == ["--dev-bind", "/dev/nvidia0", "/dev/nvidia0",
                    "--dev-bind", "/dev/nvidiactl", "/dev/nvidiactl",
                    "--dev-bind", "/dev/nvidia-uvm", "/dev/nvidia-uvm",
                    "--ro-bind", str(driver), str(driver)]  # /usr is bound already; /gone is not there


def test_the_launcher_is_told_to_pass_the_gpu_only_when_asked_and_present(monkeypatch):
    from autograder.sandbox import policy

    for device, nodes, expected in (("cpu", ["/dev/nvidia0"], False), ("auto", [], False),
                                    ("auto", ["/dev/nvidia0"], True), ("cuda", ["/dev/nvidia0"], True)):
        monkeypatch.setattr(policy, "gpu_device_nodes", lambda nodes=nodes: nodes)
        prefix = launch_prefix(SandboxSpec(kind="bubblewrap", limits=LIMITS, device=device))
        launcher, command = prefix[:prefix.index("--")], prefix[prefix.index("--") + 1:]
        assert ("--gpu" in launcher) is expected, (device, nodes)
        assert ("--dev-bind" in command) is expected, (device, nodes)


def test_a_gpu_worker_keeps_the_cuda_environment_and_no_address_space_limit(monkeypatch):
    prefix = [arg for arg in launch_prefix(SandboxSpec(kind="subprocess", limits=LIMITS))]
    prefix.insert(prefix.index("--"), "--gpu")
    code = ("import os, resource; print(os.environ.get('CUDA_VISIBLE_DEVICES'), "
            "os.environ.get('SECRET_TOKEN'), resource.getrlimit(resource.RLIMIT_AS)[0])")
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "1", "SECRET_TOKEN": "x"}
    out = subprocess.run([*prefix, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    visible, secret, address_space = out.stdout.split()
    assert visible == "1" and secret == "None"  # the GPU's variables, nothing else
    assert int(address_space) == resource_unlimited()  # CUDA maps far more than it uses


def resource_unlimited() -> int:
    import resource

    return resource.RLIM_INFINITY


WORKER_DEVICE = """
import sys, torch
sys.path.insert(0, {repo!r})
from autograder.worker import server
server._follow_default_device(torch)
g = torch.Generator()
assert isinstance(g, torch.Generator) and g.device == torch.get_default_device()
assert torch.Generator(device="cpu").device.type == "cpu"
order = torch.randperm(5, generator=g)  # the pattern that fails under a CUDA default device
t = torch.zeros(3)
t.numpy()[0] = 7.0  # a CPU tensor's numpy() still shares its memory
assert t[0] == 7.0, "numpy() of a CPU tensor must not copy"
import numpy as np
assert np.asarray(torch.ones(2)).tolist() == [1.0, 1.0]
print("ok")
"""


def test_worker_device_shims_keep_cpu_semantics():
    import sys

    from conftest import REPO

    out = subprocess.run([sys.executable, "-c", WORKER_DEVICE.format(repo=str(REPO))],
                         capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr


def test_asking_for_cuda_where_the_worker_has_none_is_a_grader_error():
    import pytest as _pytest

    torch = _pytest.importorskip("torch")
    if torch.cuda.is_available():
        _pytest.skip("this machine has a GPU: the worker would use it")
    master = FIXTURES / "tinycourse" / "solutions" / "tiny" / "tiny.ipynb"
    req = GradeRequest(suite=[master.parent / "test_tiny.py"], submission=master, master=master,
                       limits=LIMITS, mode="sandboxed", sandbox_kind="subprocess", device="cuda")
    from autograder.errors import GraderError

    with _pytest.raises(GraderError, match="CUDA was asked for but the sandboxed worker sees "
                                           "no usable GPU"):
        run_suite(req)  # the grader's fault, not the student's: the run is retried later


def test_a_worker_that_cannot_start_cuda_on_a_gpu_host_starts_once_more(monkeypatch):
    """The GPU is the edge that cannot run here: CUDA's start is what is simulated."""
    import pytest as _pytest

    import autograder.plugin  # noqa: F401 - the worker client is imported through it
    from autograder.errors import GraderError
    from autograder.worker import client

    loads: list[int] = []
    answers: list[dict] = []

    def load(self):  # what the sandboxed worker answered to "load"
        loads.append(1)
        self.load_info = answers[min(len(loads), len(answers)) - 1]

    monkeypatch.setattr(client.Worker, "_load", load)
    monkeypatch.setattr(client.time, "sleep", lambda seconds: None)
    spec = SandboxSpec(kind="bubblewrap", limits=LIMITS, device="cuda")
    failed = {"device_error": "CUDA was asked for but the sandboxed worker sees no usable GPU"}

    monkeypatch.setattr(client, "wants_gpu", lambda spec: True)  # a GPU is here
    answers[:] = [failed, {"device": "cuda"}]  # CUDA failed once (a race), then started
    worker = client.Worker(spec, "x = 1\n")
    worker.start(5)
    assert len(loads) == 2 and worker.load_info == {"device": "cuda"}

    loads.clear()
    answers[:] = [failed]  # fails every time: one retry, then the grader error
    with _pytest.raises(GraderError, match="no usable GPU"):
        client.Worker(spec, "x = 1\n").start(5)
    assert len(loads) == 2

    loads.clear()
    monkeypatch.setattr(client, "wants_gpu", lambda spec: False)  # no GPU here at all
    with _pytest.raises(GraderError, match="no usable GPU"):
        client.Worker(spec, "x = 1\n").start(5)
    assert len(loads) == 1, "nothing to retry where no GPU exists"


def test_grading_on_the_cpu_reports_the_device_where_student_code_ran():
    master = FIXTURES / "tinycourse" / "solutions" / "tiny" / "tiny.ipynb"
    for mode in ("sandboxed", "trusted"):
        req = GradeRequest(suite=[master.parent / "test_tiny.py"], submission=master,
                           master=master, limits=LIMITS, mode=mode, sandbox_kind="subprocess",
                           device="cpu")
        assert run_suite(req).results["extra_data"]["device"] == "cpu"
