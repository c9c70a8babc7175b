"""The worker's launcher: apply limits to itself, then exec the sandbox's command.

Run as `python -I -S .../launch.py OPTIONS -- COMMAND...` (`launch_prefix` in policy.py
builds the line; the worker's interpreter arguments are appended to COMMAND). It puts
itself in fresh memory, pids and cpu cgroups where the cgroup filesystem is writable (v2
or v1), the cpu group with the same weight as every other worker's (else nice 19), sets
rlimits (CPU seconds, file size, no core files; address space and process count when no
cgroup does it), hands bwrap its seccomp program on an inherited fd (`--seccomp`), writes
what it applied as a JSON object (`--report PATH`, before exec, while still root), and
execs COMMAND (`setpriv` + `bwrap` + python, or the bare python) with an environment of
its own making. Everything it sets is inherited by the worker.

Standard library only, and only `os`, `resource` and `sys` of it: it runs before
anything else is trusted, and it starts once per worker, so it imports nothing it does
not use (as `-m autograder.sandbox.launch` it takes 60 ms, most of it imports).
"""

from __future__ import annotations

import os
import resource
import sys

CGROUP_ROOT = "/sys/fs/cgroup"
GROUP = "autograder"
GPU_ENV = ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES",
           "LD_LIBRARY_PATH")  # what a CUDA worker needs from the grader's environment
OPTIONS = ("--memory-mb", "--pids", "--cpu-seconds", "--file-size-mb")  # required, numbers
EXTRA = ("--report", "--seccomp")  # optional, each with a value
CPU_WEIGHT = 100  # cgroup v2's default cpu.weight: the same for every worker
CPU_SHARES = 1024  # cgroup v1's default cpu.shares: likewise
NICE = 19  # where no cpu controller is writable
SECCOMP_FD = 9  # the fd of the seccomp program that bwrap's `--seccomp` reads


def passed_env(environ: dict[str, str], gpu: bool) -> dict[str, str]:
    """What of the grader's environment the worker keeps: its thread counts, and the
    GPU's variables when it may use one."""
    passed = {k: v for k, v in environ.items() if k.endswith("_NUM_THREADS")}
    if gpu:
        passed.update({k: environ[k] for k in GPU_ENV if k in environ})
    return passed


def worker_env(passed: dict[str, str]) -> dict[str, str]:
    """The worker's whole environment (bubblewrap sets the same with --setenv)."""
    return {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "USER": "nobody", "LOGNAME": "nobody",
            "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg", **passed}


def _write(path: str, value: str) -> None:
    with open(path, "w") as handle:
        handle.write(value)


def pid_alive(pid: int) -> bool:
    """Is `pid` a running process (not gone, not a zombie waiting to be reaped)?"""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def _sweep(parent: str) -> None:
    """Remove the cgroups of workers that are gone. A group is named after its launcher's
    pid, which the worker keeps (exec), so a live pid's group is left alone even while it
    is still empty: its launcher may be between creating and joining it (rmdir alone would
    remove such a group, and that launcher would fall back to rlimits)."""
    for name in os.listdir(parent):
        if name.startswith("w") and name[1:].isdigit() and not pid_alive(int(name[1:])):
            try:
                os.rmdir(os.path.join(parent, name))
            except OSError:
                pass


def _v2_enable(parent: str, controllers: tuple[str, ...]) -> list[str]:
    """Enable each controller for the groups under `parent` (in the root's and the
    parent's subtree_control, one by one: one that cannot be enabled, such as cpu where a
    real-time process blocks it, does not take the others with it); the ones enabled."""
    enabled = []
    for controller in controllers:
        try:
            for folder in (CGROUP_ROOT, parent):
                _write(os.path.join(folder, "cgroup.subtree_control"), f"+{controller}")
            enabled.append(controller)
        except OSError:
            continue
    return enabled


def _limits(memory_mb: int, pids: int, v2: bool) -> dict[str, dict[str, str]]:
    """The files each controller's group gets: {controller: {file: value}}."""
    if v2:
        return {"memory": {"memory.max": str(memory_mb * 2**20), "memory.swap.max": "0"},
                "pids": {"pids.max": str(pids)}, "cpu": {"cpu.weight": str(CPU_WEIGHT)}}
    return {"memory": {"memory.limit_in_bytes": str(memory_mb * 2**20)},
            "pids": {"pids.max": str(pids)}, "cpu": {"cpu.shares": str(CPU_SHARES)}}


def _set(group: str, files: dict[str, str], version: str) -> str:
    """Write the limit files into `group`; say what was set ("cgroup v1 cpu.shares=1024").
    A file the kernel does not offer (memory.swap.max without swap accounting) is left."""
    written = []
    for name, value in files.items():
        path = os.path.join(group, name)
        if name == "memory.swap.max" and not os.path.exists(path):
            continue
        _write(path, value)
        written.append(f"{name}={value}")
    return f"cgroup {version} {' '.join(written)}"


def _join_v2(limits: dict[str, dict[str, str]], me: str) -> dict[str, str]:
    """One group of this process's own, with every controller that can be enabled."""
    parent = os.path.join(CGROUP_ROOT, GROUP)
    try:
        os.makedirs(parent, exist_ok=True)
        enabled = _v2_enable(parent, tuple(limits))
        _sweep(parent)
        group = os.path.join(parent, f"w{me}")
        os.mkdir(group)
    except OSError:
        return {}
    done = {}
    for controller in enabled:
        try:
            done[controller] = _set(group, limits[controller], "v2")
        except OSError:
            continue
    try:
        _write(os.path.join(group, "cgroup.procs"), me)
    except OSError:
        return {}
    return done


def _join_v1(limits: dict[str, dict[str, str]], me: str) -> dict[str, str]:
    """A group of this process's own in each controller's hierarchy that is writable."""
    done = {}
    for controller, files in limits.items():
        hierarchy = os.path.join(CGROUP_ROOT, controller)
        if not os.path.isfile(os.path.join(hierarchy, "cgroup.procs")):
            continue  # not mounted: a folder made there would be no cgroup
        parent = os.path.join(hierarchy, GROUP)
        try:
            os.makedirs(parent, exist_ok=True)
            _sweep(parent)
            group = os.path.join(parent, f"w{me}")
            os.makedirs(group, exist_ok=True)
            applied = _set(group, files, "v1")
            _write(os.path.join(group, "cgroup.procs"), me)
            done[controller] = applied
        except OSError:
            continue
    return done


def join_cgroups(memory_mb: int, pids: int) -> dict[str, str]:
    """Move this process into new cgroups of its own with the limits (memory, pids) and an
    equal CPU share (cpu.weight / cpu.shares, the kernel's defaults: every worker the same,
    however many processes or threads it runs); {controller: what was set} for the ones
    that took (v2 or v1, whichever is mounted)."""
    v2 = os.path.isfile(os.path.join(CGROUP_ROOT, "cgroup.controllers"))
    join = _join_v2 if v2 else _join_v1
    return join(_limits(memory_mb, pids, v2), str(os.getpid()))


def lower_priority(cgroups: dict[str, str]) -> str:
    """Without a CPU share of its own the worker runs at nice 19: it cannot starve the
    grader or the host (its own children inherit it), though two such workers still
    share the CPU by process count. What holds, in words."""
    if "cpu" in cgroups:
        return cgroups["cpu"]
    try:
        os.setpriority(os.PRIO_PROCESS, 0, NICE)
    except OSError:
        return "none (no writable cpu controller, nice refused)"
    return f"nice {NICE} (no writable cpu controller)"


def set_rlimits(cpu_seconds: int, file_size_mb: int, memory_mb: int, pids: int,
                cgroups: dict[str, str], gpu: bool = False) -> dict[str, str]:
    """rlimits for what no cgroup covers (inherited across exec). A CUDA worker gets no
    address-space limit: the driver maps far more virtual memory than it uses, so only a
    memory cgroup (or the container's) can bound it. What was set, by report key."""
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    size = file_size_mb * 2**20
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    applied = {"rlimits": f"cpu {cpu_seconds} s (a backstop: time limits are wall-clock), "
                          f"file size {file_size_mb} MiB, core 0"}
    if "memory" in cgroups or gpu:  # the trusted process's own soft cap is not the worker's
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    if "memory" in cgroups:
        applied["memory"] = cgroups["memory"]
    elif gpu:
        applied["memory"] = "none (no writable memory cgroup; a CUDA worker gets no " \
                            "address-space rlimit)"
    else:
        limit = memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        applied["memory"] = f"rlimit address space {memory_mb} MiB (no writable memory cgroup)"
    if "pids" in cgroups:
        applied["pids"] = cgroups["pids"]
    else:
        resource.setrlimit(resource.RLIMIT_NPROC, (pids, pids))
        applied["pids"] = f"rlimit nproc {pids} (no writable pids cgroup)"
    return applied


def pass_seccomp(value: str) -> str:
    """`--seccomp N:HEX`: N syscalls denied by the BPF program HEX (policy.py builds it).
    Put the program into a pipe whose read end is SECCOMP_FD, inherited by the command
    (bwrap's `--seccomp SECCOMP_FD` loads it, then closes it). What holds, in words."""
    count, _, program_hex = value.partition(":")
    try:
        program = bytes.fromhex(program_hex)
    except ValueError:
        program = b""
    if not count.isdigit() or not program or len(program) % 8 or len(program) > 4096 * 8:
        sys.exit("launch.py: --seccomp expects N:HEX, a BPF program of whole instructions")
    try:
        os.fstat(SECCOMP_FD)
    except OSError:
        pass
    else:
        sys.exit(f"launch.py: fd {SECCOMP_FD} (the seccomp filter's) is already open")
    read, write = os.pipe()
    os.write(write, program)  # far below a pipe's buffer: never blocks
    os.close(write)
    if read != SECCOMP_FD:
        os.dup2(read, SECCOMP_FD)  # inheritable
        os.close(read)
    else:
        os.set_inheritable(read, True)
    return (f"bwrap --seccomp: {count} syscalls denied (EPERM), clone with namespace flags "
            f"refused, clone3 ENOSYS")


def userns_state(command: list[str], seccomp: bool) -> str:
    """Can the worker create a (nested) user namespace? In words, from what is applied."""
    ways = []
    if "--disable-userns" in command:
        ways.append("bwrap --disable-userns")
    if seccomp:
        ways.append("seccomp: unshare, setns, clone namespace flags")
    return f"nested user namespaces refused ({'; '.join(ways)})" if ways else "not restricted"


def _json(report: dict[str, str]) -> str:
    """A flat {str: str} as JSON (without importing json: it costs this start 5 ms)."""
    def quote(text: str) -> str:
        text = text.replace("\\", "\\\\").replace('"', '\\"')
        return '"' + "".join(c if c >= " " else f"\\u{ord(c):04x}" for c in text) + '"'
    return "{" + ", ".join(f"{quote(k)}: {quote(v)}" for k, v in report.items()) + "}\n"


def write_report(path: str, report: dict[str, str]) -> None:
    """The report, complete or not at all (written aside, then renamed)."""
    partial = f"{path}.partial"
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with open(fd, "w") as handle:
            handle.write(_json(report))
        os.replace(partial, path)
    except OSError as error:
        sys.exit(f"launch.py: cannot write the report {path}: {error}")


def parse(argv: list[str]) -> tuple[dict[str, int], dict[str, str], bool, list[str]]:
    """OPTIONS [--report PATH] [--seccomp N:HEX] [--gpu] -- COMMAND...
    -> ({option: number}, {optional option: value}, gpu, command)."""
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        sys.exit("usage: launch.py --memory-mb N --pids N --cpu-seconds N --file-size-mb N "
                 "[--report PATH] [--seccomp N:HEX] [--gpu] -- COMMAND...")
    split = argv.index("--")
    head, command = argv[:split], argv[split + 1:]
    gpu = "--gpu" in head
    head = [arg for arg in head if arg != "--gpu"]
    values = dict(zip(head[::2], head[1::2]))
    numbers = {k: v for k, v in values.items() if k in OPTIONS}
    extra = {k: v for k, v in values.items() if k not in OPTIONS}
    if (len(head) % 2 or len(values) * 2 != len(head) or sorted(numbers) != sorted(OPTIONS)
            or not set(extra) <= set(EXTRA) or not all(v.isdigit() for v in numbers.values())):
        sys.exit(f"launch.py: expected {' N '.join(OPTIONS)} N [--report PATH] "
                 f"[--seccomp N:HEX], got {' '.join(head)!r}")
    return {k: int(v) for k, v in numbers.items()}, extra, gpu, command


def main(argv: list[str]) -> None:
    numbers, extra, gpu, command = parse(argv)
    memory_mb, pids = numbers["--memory-mb"], numbers["--pids"]
    cgroups = join_cgroups(memory_mb, pids) if os.geteuid() == 0 else {}
    report = {"cpu": lower_priority(cgroups)}
    report.update(set_rlimits(numbers["--cpu-seconds"], numbers["--file-size-mb"], memory_mb,
                              pids, cgroups, gpu=gpu))
    seccomp = "--seccomp" in extra
    report["seccomp"] = pass_seccomp(extra["--seccomp"]) if seccomp else "none"
    report["userns"] = userns_state(command, seccomp)
    if "--report" in extra:
        write_report(extra["--report"], report)
    os.chdir("/tmp")
    os.execvpe(command[0], command, worker_env(passed_env(dict(os.environ), gpu)))


if __name__ == "__main__":
    main(sys.argv[1:])
