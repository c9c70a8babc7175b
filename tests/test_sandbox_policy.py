"""The sandbox's command lines and its fallback (no bubblewrap: a plain subprocess)."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from autograder.config import SandboxLimits
from autograder.engine import run_suite
from autograder.request import GradeRequest
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
    assert command[-1] == "/opt/venv/bin/python"  # the worker appends the interpreter's flags
    assert command[:len(drop_privileges(NOBODY))] == drop_privileges(NOBODY)
    bwrap = command[len(drop_privileges(NOBODY)):-2]
    assert bwrap[:len(bwrap_args(spec))] == bwrap_args(spec)
    assert bwrap[len(bwrap_args(spec)):] == ["--setenv", "OMP_NUM_THREADS", "1"]  # not the token
    plain = launch_prefix(SandboxSpec(kind="subprocess", limits=LIMITS, python="/p"), environ={})
    assert plain[plain.index("--") + 1:] == [*drop_privileges(NOBODY), "/p"]


@pytest.mark.integration
def test_launcher_rejects_a_malformed_line_in_one_line():
    import sys

    from autograder.sandbox.policy import LAUNCHER

    for args in (["--memory-mb", "1"], ["--memory-mb", "x", "--", "true"], ["--", "true"]):
        out = subprocess.run([sys.executable, "-I", "-S", LAUNCHER, *args], capture_output=True,
                             text=True, timeout=60)
        assert out.returncode != 0 and len(out.stderr.strip().splitlines()) == 1, out.stderr


@pytest.mark.integration
def test_launcher_applies_rlimits_in_the_subprocess_kind():
    prefix = launch_prefix(SandboxSpec(kind="subprocess", limits=LIMITS))
    code = ("import resource, os; print(resource.getrlimit(resource.RLIMIT_CPU)[0], "
            "resource.getrlimit(resource.RLIMIT_FSIZE)[0], os.getuid())")
    out = subprocess.run([*prefix, "-c", code], capture_output=True, text=True, timeout=60)
    cpu, fsize, uid = out.stdout.split()
    assert int(cpu) == LIMITS.cpu_seconds and int(fsize) == LIMITS.max_file_size_mb * 2**20
    assert int(uid) == (NOBODY if os.geteuid() == 0 else os.getuid())


@pytest.mark.integration
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


@pytest.mark.integration
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


@pytest.mark.integration
def test_worker_device_shims_keep_cpu_semantics():
    import sys

    from conftest import REPO

    out = subprocess.run([sys.executable, "-c", WORKER_DEVICE.format(repo=str(REPO))],
                         capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr


@pytest.mark.integration
def test_asking_for_cuda_where_the_worker_has_none_is_a_grader_error():
    import pytest as _pytest

    torch = _pytest.importorskip("torch")
    if torch.cuda.is_available():
        _pytest.skip("this machine has a GPU: the worker would use it")
    master = FIXTURES / "tinycourse" / "solutions" / "tiny" / "tiny.ipynb"
    req = GradeRequest(suite=[master.parent / "test_tiny.py"], submission=master, master=master,
                       limits=LIMITS, mode="sandboxed", sandbox_kind="subprocess", device="cuda")
    from autograder.core.errors import GraderError

    with _pytest.raises(GraderError, match="CUDA was asked for but the sandboxed worker sees "
                                           "no usable GPU"):
        run_suite(req)  # the grader's fault, not the student's: the run is retried later


def test_a_worker_that_cannot_start_cuda_on_a_gpu_host_starts_once_more(monkeypatch):
    """The GPU is the edge that cannot run here: CUDA's start is what is simulated."""
    import pytest as _pytest

    import autograder.plugin  # noqa: F401 - the worker client is imported through it
    from autograder.core.errors import GraderError
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
    worker.start()
    assert len(loads) == 2 and worker.load_info == {"device": "cuda"}

    loads.clear()
    answers[:] = [failed]  # fails every time: one retry, then the grader error
    with _pytest.raises(GraderError, match="no usable GPU"):
        client.Worker(spec, "x = 1\n").start()
    assert len(loads) == 2

    loads.clear()
    monkeypatch.setattr(client, "wants_gpu", lambda spec: False)  # no GPU here at all
    with _pytest.raises(GraderError, match="no usable GPU"):
        client.Worker(spec, "x = 1\n").start()
    assert len(loads) == 1, "nothing to retry where no GPU exists"


@pytest.mark.integration
def test_grading_on_the_cpu_reports_the_device_where_student_code_ran():
    master = FIXTURES / "tinycourse" / "solutions" / "tiny" / "tiny.ipynb"
    for mode in ("sandboxed", "trusted"):
        req = GradeRequest(suite=[master.parent / "test_tiny.py"], submission=master,
                           master=master, limits=LIMITS, mode=mode, sandbox_kind="subprocess",
                           device="cpu")
        assert run_suite(req).results["extra_data"]["device"] == "cpu"


# --- the seccomp filter, the hidden host paths, the launcher's report ------------------
def run_filter(program: bytes, arch: int, nr: int, arg0: int = 0) -> int:
    """What the classic-BPF `program` returns for one syscall (an interpreter of the
    instructions seccomp.assemble uses)."""
    import struct

    data = struct.pack("=IIQ6Q", nr, arch, 0, arg0, 0, 0, 0, 0, 0)
    insns = [struct.unpack("=HBBI", program[i:i + 8]) for i in range(0, len(program), 8)]
    pc, acc = 0, 0
    while True:
        code, jt, jf, k = insns[pc]
        if code == 0x20:  # ld w abs
            acc = struct.unpack_from("=I", data, k)[0]
            pc += 1
        elif code == 0x06:  # ret k
            return k
        else:
            taken = {0x15: acc == k, 0x35: acc >= k, 0x45: bool(acc & k)}[code]
            pc += 1 + (jt if taken else jf)


def test_the_seccomp_filter_denies_its_list_and_allows_the_rest_on_each_arch():
    from autograder.sandbox import seccomp

    allow, eperm, enosys = 0x7FFF0000, 0x00050001, 0x00050026
    for arch in seccomp.ARCHES:
        program, audit = seccomp.assemble(arch), seccomp.AUDIT_ARCH[arch]
        denied = seccomp.denied_numbers(arch)
        for nr in denied.values():
            assert run_filter(program, audit, nr) == eperm, (arch, nr)
        clone = seccomp.CLONE[arch]
        for nr in set(range(460)) - set(denied.values()) - {clone, seccomp.CLONE3[arch]}:
            assert run_filter(program, audit, nr) == allow, (arch, nr)
        threads = 0x3D0F00  # CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
        assert run_filter(program, audit, clone, threads) == allow
        assert run_filter(program, audit, clone, 17) == allow  # fork: SIGCHLD
        for flag in (0x10000000, 0x20000, 0x40000000, 0x20000000, 0x4000000, 0x8000000, 0x2000000):
            assert run_filter(program, audit, clone, 17 | flag) == eperm, (arch, hex(flag))
        assert run_filter(program, audit, seccomp.CLONE3[arch]) == enosys
        assert run_filter(program, 0x40000003, 0) == eperm  # i386 (int 0x80): another ABI
    x86 = seccomp.assemble("x86_64")
    assert run_filter(x86, seccomp.AUDIT_ARCH["x86_64"], 0x40000000 | 39) == eperm  # x32 getpid
    assert seccomp.program() is None or seccomp.program()[0] == len(
        seccomp.denied_numbers(seccomp.native_arch()))


def test_the_seccomp_syscall_numbers_are_the_kernels():
    """Checked against libseccomp's tables (both architectures) where it is installed,
    and the kernel's x86_64 header where that is."""
    import ctypes
    import ctypes.util
    import re
    from pathlib import Path

    import pytest as _pytest

    from autograder.sandbox import seccomp

    checked = 0
    header = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
    if header.is_file():
        kernel = {m[1]: int(m[2]) for m in re.finditer(r"#define __NR_(\w+) (\d+)", header.read_text())}
        named = {**seccomp.denied_numbers("x86_64"), "clone": seccomp.CLONE["x86_64"],
                 "clone3": seccomp.CLONE3["x86_64"]}
        assert {name: kernel.get(name) for name in named} == named
        checked += 1
    name = ctypes.util.find_library("seccomp")
    if name:
        lib = ctypes.CDLL(name)
        lib.seccomp_syscall_resolve_name_arch.argtypes = [ctypes.c_uint32, ctypes.c_char_p]
        for arch in seccomp.ARCHES:
            column = seccomp.ARCHES.index(arch)
            every = {n: nums[column] for group in seccomp.DENIED.values() for n, nums in group.items()}
            every.update(clone=seccomp.CLONE[arch], clone3=seccomp.CLONE3[arch])
            resolved = {n: lib.seccomp_syscall_resolve_name_arch(seccomp.AUDIT_ARCH[arch], n.encode())
                        for n in every}
            assert {n: (v if v >= 0 else None) for n, v in resolved.items()} == every, arch
        checked += 1
    if not checked:
        _pytest.skip("neither libseccomp nor the kernel's asm/unistd_64.h is installed here")


def test_files_naming_the_install_source_read_as_empty_inside_the_sandbox(tmp_path):
    from autograder.sandbox.policy import host_path_files

    site = tmp_path / "venv" / "lib" / "python3.12" / "site-packages"
    (site / "__pycache__").mkdir(parents=True)
    source = "/home/prof/course-2026"
    finder = site / "__editable___fdl_course_0_1_0_finder.py"
    finder.write_text(f"MAPPING = {{'autograder': '{source}/autograder'}}\n")
    compiled = site / "__pycache__" / "__editable___fdl_course_0_1_0_finder.cpython-312.pyc"
    compiled.write_bytes(b"\0" + source.encode())
    local = site / "fdl_course-0.1.0.dist-info"
    local.mkdir()
    (local / "direct_url.json").write_text(f'{{"url": "file://{source}", "dir_info": {{"editable": true}}}}')
    remote = site / "torch-2.0.dist-info"
    remote.mkdir()
    (remote / "direct_url.json").write_text('{"url": "https://download.pytorch.org/torch.whl"}')
    hatch = site / "_fdl_course.pth"  # an editable install by another backend: a path line
    hatch.write_text(f"{source}\n")
    (site / "distutils-precedence.pth").write_text("import os\n")
    (site / "six.py").write_text("# six\n")
    hidden = host_path_files(str(tmp_path / "venv"))
    assert set(hidden) == {str(finder), str(compiled), str(local / "direct_url.json"), str(hatch)}


def test_bubblewrap_refuses_nested_user_namespaces_and_loads_the_filter(monkeypatch):
    from autograder.sandbox import policy
    from autograder.sandbox.launch import SECCOMP_FD

    spec = SandboxSpec(kind="bubblewrap", limits=LIMITS, python="/opt/venv/bin/python",
                       venv="/opt/venv")
    monkeypatch.setattr(policy, "bwrap_features", lambda: frozenset({"disable-userns", "seccomp"}))
    args = bwrap_args(spec)
    pairs = list(zip(args, args[1:]))
    assert ("--unshare-user", "--disable-userns") in pairs  # --unshare-all only tries it
    assert ("--seccomp", str(SECCOMP_FD)) in pairs
    prefix = launch_prefix(spec, environ={}, report="/run/fdl/report.json")
    launcher = prefix[:prefix.index("--")]
    assert launcher[launcher.index("--report") + 1] == "/run/fdl/report.json"
    count, program = policy.seccomp_program()
    assert launcher[launcher.index("--seccomp") + 1] == f"{count}:{program.hex()}"
    monkeypatch.setattr(policy, "bwrap_features", lambda: frozenset())  # an older bwrap
    args = bwrap_args(spec)
    assert "--disable-userns" not in args and "--seccomp" not in args
    assert "--seccomp" not in launch_prefix(spec, environ={})
    plain = launch_prefix(SandboxSpec(kind="subprocess", limits=LIMITS, python="/p"), environ={})
    assert "--seccomp" not in plain and "--report" not in plain


@pytest.mark.integration
def test_the_launcher_rejects_a_malformed_seccomp_program_in_one_line():
    import sys

    from autograder.sandbox.policy import LAUNCHER

    base = ["--memory-mb", "64", "--pids", "8", "--cpu-seconds", "5", "--file-size-mb", "1"]
    for extra in (["--seccomp", "3:zz"], ["--seccomp", "x:00"], ["--seccomp", "1:0000"],
                  ["--unknown", "1"]):
        out = subprocess.run([sys.executable, "-I", "-S", LAUNCHER, *base, *extra, "--", "true"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode != 0 and len(out.stderr.strip().splitlines()) == 1, (extra, out.stderr)


def test_the_container_kinds_name_their_protections_under_the_reports_keys():
    import pytest as _pytest

    from autograder.sandbox.containers import ContainerSpec
    from autograder.sandbox.policy import static_protections

    keys = {"cpu", "memory", "pids", "rlimits", "seccomp", "userns"}
    image = ContainerSpec(image="fdl-course-worker:ws2026", name="fdl-grade-x", cpus=2)
    docker = static_protections(SandboxSpec(kind="docker", limits=LIMITS, container=image))
    apptainer = static_protections(SandboxSpec(kind="apptainer", limits=LIMITS, container=image))
    assert set(docker) == set(apptainer) == keys
    assert docker["seccomp"].startswith("docker's default seccomp profile")
    assert docker["pids"] == "docker --pids-limit 16" and "--cpus 2" in docker["cpu"]
    assert apptainer["seccomp"].startswith("none")
    with _pytest.raises(ValueError, match="report"):
        static_protections(SandboxSpec(kind="bubblewrap", limits=LIMITS))


def _fake_cgroupfs(root, version: str) -> None:
    """Just enough of a cgroup file system for the launcher's writes (a real one makes a
    group's files itself)."""
    if version == "v2":
        (root / "cgroup.controllers").write_text("cpu memory pids\n")
        (root / "cgroup.subtree_control").write_text("")
    else:
        for controller in ("memory", "pids", "cpu"):
            (root / controller).mkdir()
            (root / controller / "cgroup.procs").write_text("")


def test_each_worker_joins_a_cpu_cgroup_of_its_own_with_the_default_weight(tmp_path, monkeypatch):
    from autograder.sandbox import launch

    for version, cpu in (("v2", "cgroup v2 cpu.weight=100"), ("v1", "cgroup v1 cpu.shares=1024")):
        root = tmp_path / version
        root.mkdir()
        _fake_cgroupfs(root, version)
        monkeypatch.setattr(launch, "CGROUP_ROOT", str(root))
        done = launch.join_cgroups(512, 64)
        assert done["cpu"] == cpu and set(done) == {"memory", "pids", "cpu"}
        group = (root if version == "v2" else root / "cpu") / "autograder" / f"w{os.getpid()}"
        assert (group / "cgroup.procs").read_text() == str(os.getpid())
    assert launch.lower_priority({"cpu": "cgroup v1 cpu.shares=1024"}) == "cgroup v1 cpu.shares=1024"


def test_a_cpu_controller_that_cannot_be_enabled_leaves_memory_and_pids(tmp_path, monkeypatch):
    from autograder.sandbox import launch

    _fake_cgroupfs(tmp_path, "v2")
    real = launch._write

    def refuse_cpu(path: str, value: str) -> None:
        if value == "+cpu":  # e.g. a real-time process in a child group
            raise OSError(22, "Invalid argument")
        real(path, value)

    monkeypatch.setattr(launch, "CGROUP_ROOT", str(tmp_path))
    monkeypatch.setattr(launch, "_write", refuse_cpu)
    done = launch.join_cgroups(512, 64)
    assert set(done) == {"memory", "pids"}
    assert done["memory"] == f"cgroup v2 memory.max={512 * 2**20}"  # no swap file: none written


def test_a_v1_hierarchy_that_is_not_mounted_is_not_joined(tmp_path, monkeypatch):
    from autograder.sandbox import launch

    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "cgroup.procs").write_text("")
    monkeypatch.setattr(launch, "CGROUP_ROOT", str(tmp_path))  # no pids, no cpu hierarchy
    assert set(launch.join_cgroups(512, 64)) == {"memory"}
    assert not (tmp_path / "cpu").exists(), "a plain folder would be no cgroup"
