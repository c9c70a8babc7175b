"""Sandbox hygiene: what the bubblewrap worker may not do or see.

- no nested user namespace (and so no mount, network or pid namespace of its own), by
  `unshare`, `clone` or the `unshare` tool;
- the syscalls grading never needs fail with EPERM (a seccomp filter): each is called
  with arguments the kernel itself would answer otherwise (success, EFAULT, EINVAL,
  EBADF...), so EPERM is the filter's answer, not a missing privilege's;
- python, numpy and torch still work under that filter;
- nothing readable inside names the course's source folder (but the venv's own path);
- the launcher's report names what was applied.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from autograder.sandbox.policy import SandboxSpec, bubblewrap_works

from conftest import REPO
from launched import LIMITS, cpu_share_missing, prefix, run

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not bubblewrap_works(),
                                 reason="bubblewrap cannot build a sandbox on this host")]

ARCH = os.uname().machine
# the kernel's numbers of the syscalls probed (asm/unistd_64.h; asm-generic for aarch64)
NUMBERS = {
    "x86_64": {"ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "bpf": 321,
               "perf_event_open": 298, "keyctl": 250, "add_key": 248, "request_key": 249,
               "userfaultfd": 323, "io_uring_setup": 425, "mount": 165, "umount2": 166,
               "chroot": 161, "setns": 308, "name_to_handle_at": 303, "kcmp": 312,
               "clock_settime": 227, "settimeofday": 164, "pidfd_getfd": 438, "open_tree": 428,
               "iopl": 172,
               "unshare": 272, "clone": 56, "clone3": 435, "getpid": 39},
    "aarch64": {"ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "bpf": 280,
                "perf_event_open": 241, "keyctl": 219, "add_key": 217, "request_key": 218,
                "userfaultfd": 282, "io_uring_setup": 425, "mount": 40, "umount2": 39,
                "chroot": 51, "setns": 268, "name_to_handle_at": 264, "kcmp": 272,
                "clock_settime": 112, "settimeofday": 170, "pidfd_getfd": 438, "open_tree": 428,
                "unshare": 97,
                "clone": 220, "clone3": 435, "getpid": 172},
}

# each probe: (syscall, its arguments as Python source, what the kernel answers unfiltered)
CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET, SIGCHLD = 0x10000000, 0x20000, 0x40000000, 17
NAMESPACE_PROBES = {
    "unshare(CLONE_NEWUSER)": ("unshare", f"{CLONE_NEWUSER}", "success"),
    "unshare(CLONE_NEWUSER|CLONE_NEWNS)": ("unshare", f"{CLONE_NEWUSER | CLONE_NEWNS}", "success"),
    "unshare(CLONE_NEWUSER|CLONE_NEWNET)": ("unshare", f"{CLONE_NEWUSER | CLONE_NEWNET}",
                                            "success"),
    "clone(CLONE_NEWUSER)": ("clone", f"{CLONE_NEWUSER | SIGCHLD}, 0, 0, 0, 0", "a child"),
    "clone(CLONE_NEWNS|CLONE_NEWUSER)": ("clone", f"{CLONE_NEWUSER | CLONE_NEWNS | SIGCHLD}, "
                                                  "0, 0, 0, 0", "a child"),
    "setns(-1)": ("setns", "-1, 0", "EBADF"),
}
SYSCALL_PROBES = {
    "ptrace(PTRACE_TRACEME)": ("ptrace", "0, 0, 0, 0", "success"),
    "process_vm_readv(own pid)": ("process_vm_readv", "pid, addr(near), 1, addr(far), 1, 0",
                                  "success"),
    "process_vm_writev(own pid)": ("process_vm_writev", "pid, addr(near), 1, addr(far), 1, 0",
                                   "success"),
    "bpf(unknown command)": ("bpf", "9999, addr(buf), 8", "EINVAL (EPERM before Linux 6.5)"),
    "perf_event_open(NULL)": ("perf_event_open", "0, 0, -1, -1, 0", "EFAULT"),
    "keyctl(unknown op)": ("keyctl", "9999, 0, 0, 0, 0", "EOPNOTSUPP (ENOTSUP)"),
    "add_key(NULL)": ("add_key", "0, 0, 0, 0, 0", "EFAULT"),
    "request_key(NULL)": ("request_key", "0, 0, 0, 0", "EFAULT"),
    "userfaultfd(UFFD_USER_MODE_ONLY)": ("userfaultfd", "1", "a descriptor"),
    "io_uring_setup(NULL)": ("io_uring_setup", "1, 0", "EFAULT"),
    "mount(NULL)": ("mount", "0, 0, 0, 0, 0", "EFAULT"),
    "umount2(bad flags)": ("umount2", "0, 0xffff", "EINVAL"),
    "chroot(NULL)": ("chroot", "0", "EFAULT"),
    "name_to_handle_at(NULL)": ("name_to_handle_at", "-100, 0, 0, 0, 0", "EFAULT"),
    "kcmp(own pid)": ("kcmp", "pid, pid, 0, 0, 0", "success"),
    "clock_settime(bad clock)": ("clock_settime", "9999, 0", "EINVAL"),
    "settimeofday(bad address)": ("settimeofday", "1, 0", "EFAULT"),
    "pidfd_getfd(-1)": ("pidfd_getfd", "-1, 0, 0", "EBADF"),
    "open_tree(NULL)": ("open_tree", "-100, 0, 0", "EFAULT"),
}
if ARCH == "x86_64":
    SYSCALL_PROBES["iopl(99)"] = ("iopl", "99", "EINVAL, or ENOSYS without iopl emulation")
    SYSCALL_PROBES["getpid of the x32 ABI"] = ("getpid", "x32", "ENOSYS or a pid")

PROBE = r"""
import ctypes, errno, json, os, sys
numbers, probes = json.loads(sys.argv[1]), json.loads(sys.argv[2])
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]

addr, pid, buf = ctypes.addressof, os.getpid(), ctypes.create_string_buffer(64)
src = ctypes.create_string_buffer(b"secret!", 8)
near, far = iovec(addr(buf), 8), iovec(addr(src), 8)

def call(name, args):
    nr = numbers[name] | (0x40000000 if args == "x32" else 0)
    values = () if args == "x32" else eval(f"({args},)")
    ctypes.set_errno(0)
    rc = libc.syscall(ctypes.c_long(nr), *(ctypes.c_long(v) for v in values))
    if rc == 0 and name == "clone":  # the clone's child
        os._exit(0)
    return [rc, errno.errorcode.get(ctypes.get_errno(), "0") if rc == -1 else "ok"]

answers = {}
for label, (name, args, _) in probes.items():  # each in a child: a probe may succeed
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        os.write(write, json.dumps(call(name, args)).encode())
        os._exit(0)
    os.close(write)
    answers[label] = json.loads(os.read(read, 4096) or b'[null, "no answer"]')
    os.waitpid(child, 0)
print(json.dumps(answers))
"""


def probe(probes: dict[str, tuple[str, str, str]]) -> dict[str, list]:
    if ARCH not in NUMBERS:
        pytest.skip(f"no syscall numbers for {ARCH} in this test")
    out = run(PROBE, json.dumps(NUMBERS[ARCH]), json.dumps(probes))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def namespace_answers() -> dict[str, list]:
    return probe(NAMESPACE_PROBES)


@pytest.fixture(scope="module")
def syscall_answers() -> dict[str, list]:
    return probe(SYSCALL_PROBES)


@pytest.mark.parametrize("label", NAMESPACE_PROBES)
def test_no_nested_namespace_by_a_syscall(namespace_answers, label):
    """Expected: unshare/clone with CLONE_NEWUSER (alone or with NEWNS/NEWNET) and setns
    fail with EPERM inside the sandbox (unfiltered: a new namespace, or EBADF)."""
    assert namespace_answers[label] == [-1, "EPERM"], (
        f"{label} answered {namespace_answers[label]}; unfiltered: {NAMESPACE_PROBES[label][2]}")


def test_clone3_answers_enosys_so_the_c_library_falls_back_to_clone():
    """Expected: clone3 (whose flags a filter cannot read) fails with ENOSYS inside the
    sandbox (unfiltered: EINVAL for a NULL argument)."""
    answers = probe({"clone3(NULL)": ("clone3", "0, 0", "EINVAL")})
    assert answers["clone3(NULL)"] == [-1, "ENOSYS"]


UNSHARE_TOOL = [["unshare", "--user", "true"], ["unshare", "--map-root-user", "true"],
                ["unshare", "--map-root-user", "--mount", "true"],
                ["unshare", "--map-root-user", "--net", "true"],
                ["unshare", "--map-root-user", "--pid", "--fork", "true"]]


@pytest.mark.parametrize("command", UNSHARE_TOOL, ids=" ".join)
def test_no_nested_namespace_by_the_unshare_tool(command):
    """Expected: util-linux's `unshare` (user namespace, as root in it, with a mount, net
    or pid namespace) exits non-zero inside the sandbox."""
    if not shutil.which("unshare"):
        pytest.skip("no unshare tool (util-linux) on this host")
    code = "import subprocess, sys; print(subprocess.run(sys.argv[1:]).returncode)"
    out = run(code, *command)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() != "0", f"{' '.join(command)} succeeded inside the sandbox"


def _without_seccomp(command: list[str]) -> list[str]:
    """The worker's command line less the seccomp filter (launcher's and bwrap's)."""
    kept, skip = [], False
    for arg in command:
        if skip:
            skip = False
        elif arg == "--seccomp":
            skip = True
        else:
            kept.append(arg)
    return kept


def test_bubblewrap_alone_refuses_nested_user_namespaces():
    """Expected: even without the seccomp filter, `unshare --user` fails inside the sandbox
    (bwrap --disable-userns: the user namespace limit is 0 inside)."""
    if not shutil.which("unshare"):
        pytest.skip("no unshare tool (util-linux) on this host")
    cmd = [*_without_seccomp(prefix("bubblewrap")), "-c",
           "import subprocess; print(subprocess.run(['unshare', '--user', 'true']).returncode)"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() != "0", "a nested user namespace was created"


@pytest.mark.parametrize("label", SYSCALL_PROBES)
def test_a_syscall_grading_never_needs_fails_with_eperm(syscall_answers, label):
    """Expected: each denied syscall fails with EPERM inside the sandbox, where the kernel
    alone would have answered otherwise (see each probe's unfiltered answer)."""
    assert syscall_answers[label] == [-1, "EPERM"], (
        f"{label} answered {syscall_answers[label]}; unfiltered: {SYSCALL_PROBES[label][2]}")


WORKLOAD = r"""
import concurrent.futures, os, subprocess, sys
def filters(status):
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return int(fields.get("Seccomp_filters", fields["Seccomp"]).strip())
assert filters(open("/proc/self/status").read()) > int(sys.argv[1]), "no seccomp filter"
import numpy as np
a = np.random.default_rng(0).standard_normal((200, 200))
assert np.allclose(np.linalg.inv(a) @ a, np.eye(200), atol=1e-6)
import torch
torch.set_num_threads(2)
x = torch.randn(256, 256)
assert torch.allclose((x @ torch.eye(256)), x)
with concurrent.futures.ThreadPoolExecutor(4) as pool:
    assert list(pool.map(lambda n: int(torch.ones(n).sum()), range(8))) == list(range(8))
child = os.fork()
if child == 0:
    os._exit(int(torch.ones(3).sum()))
assert os.waitpid(child, 0)[1] >> 8 == 3
assert subprocess.run(["/usr/bin/true"]).returncode == 0
import multiprocessing
with multiprocessing.get_context("fork").Pool(2) as pool:
    assert pool.map(abs, [-1, -2]) == [1, 2]
print("ok")
"""


def _seccomp_filters_here() -> int:
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text()
                  .splitlines() if ":" in line)
    return int(fields.get("Seccomp_filters", fields["Seccomp"]).strip())


def test_python_numpy_and_torch_work_under_the_filter():
    """Expected: inside the sandbox, under one more seccomp filter than the grader's own,
    numpy (inverse), torch (import, matmul, a thread pool of 4 and intra-op threads),
    fork, subprocess and a multiprocessing pool all work: prints "ok"."""
    pytest.importorskip("torch")
    out = run(WORKLOAD, str(_seccomp_filters_here()), timeout=300)
    assert out.stdout.strip() == "ok", out.stderr[-3000:]


WALK = r"""
import json, os, sys
venv = sys.argv[1].encode()
needles = [n.encode() for n in json.load(sys.stdin)]  # not on any command line
found = []
def check(path, data):
    data = data.replace(venv, b"")  # the venv's own path: where it is mounted
    found.extend(f"{path}: {n.decode()}" for n in needles if n in data)
for top, _, files in os.walk(venv.decode()):
    for name in files:
        path = os.path.join(top, name)
        try:
            if not os.path.islink(path) and os.path.getsize(path) <= 1 << 20:
                with open(path, "rb") as handle:
                    check(path, handle.read())
        except OSError:
            pass
for path in ("/proc/self/mountinfo", "/proc/self/environ", "/proc/self/cmdline",
             "/proc/1/cmdline", "/proc/1/environ"):
    try:
        with open(path, "rb") as handle:
            check(path, handle.read())
    except OSError:
        pass
print("\n".join(found))
"""


def source_folders(venv: str) -> list[str]:
    """The course's source folders: this repository, and the folders the venv's packages
    were installed from (an editable install's, by PEP 610's direct_url.json)."""
    folders = {str(REPO), os.path.realpath(REPO)}
    for record in Path(venv).glob("lib/python3*/site-packages/*.dist-info/direct_url.json"):
        url = json.loads(record.read_text()).get("url", "")
        if url.startswith("file://"):
            folders.add(url[len("file://"):].rstrip("/"))
    return sorted(f for f in folders if len(f) > 1)


def test_nothing_inside_names_the_course_source_folder():
    """Expected: no file of the bound venv (up to 1 MiB), nor the worker's and its pid 1's
    command line, environment and mount table, names the course's source folder, other
    than as the prefix of the venv's own path: prints nothing."""
    venv = SandboxSpec(kind="bubblewrap", limits=LIMITS).venv
    out = run(WALK, venv, stdin=json.dumps(source_folders(venv)), timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"inside the sandbox:\n{out.stdout[:3000]}"


REPORT_KEYS = {"cpu", "memory", "pids", "rlimits", "seccomp", "userns"}


def test_the_launchers_report_names_cpu_seccomp_and_userns_as_applied(tmp_path):
    """Expected: the report (`launch_prefix(report=PATH)`) of a bubblewrap worker has the
    keys cpu, memory, pids, rlimits, seccomp and userns; cpu names the cgroup share (or
    nice 19 where no cpu controller is writable), seccomp the filter, userns the refusal;
    a subprocess worker's says seccomp none, userns not restricted."""
    report = tmp_path / "report.json"
    out = run("print('started')", report=str(report))
    assert out.stdout.strip() == "started", out.stderr
    applied = json.loads(report.read_text())
    assert set(applied) == REPORT_KEYS
    if cpu_share_missing() is None:
        assert applied["cpu"] in ("cgroup v1 cpu.shares=1024", "cgroup v2 cpu.weight=100")
    else:
        assert applied["cpu"] == "nice 19 (no writable cpu controller)"
    assert applied["seccomp"].startswith("bwrap --seccomp: ") and "syscalls denied" in \
        applied["seccomp"], applied
    assert applied["userns"].startswith("nested user namespaces refused"), applied
    plain = tmp_path / "plain.json"
    out = run("print('started')", kind="subprocess", report=str(plain))
    assert out.stdout.strip() == "started", out.stderr
    applied = json.loads(plain.read_text())
    assert set(applied) == REPORT_KEYS
    assert (applied["seccomp"], applied["userns"]) == ("none", "not restricted")
