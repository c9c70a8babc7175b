"""The bubblewrap worker's seccomp filter: the syscalls grading never needs, refused.

A denied syscall fails with EPERM (the student's code gets an `OSError` it can report;
nothing is killed). Besides the list below, the filter
- refuses `clone` with any namespace flag (CLONE_NEWNS, NEWUSER, NEWPID, NEWNET, NEWUTS,
  NEWIPC, NEWCGROUP) with EPERM: threads and fork still clone;
- answers `clone3` with ENOSYS: its flags sit behind a pointer a filter cannot read, and
  on ENOSYS the C library falls back to `clone`, whose flags it can (Docker does the same);
- refuses every syscall of another ABI (i386 `int 0x80`, x32) with EPERM: the tables
  below number the native one.

`program()` assembles the classic-BPF program (an array of `struct sock_filter`) that
`bwrap --seccomp FD` loads just before it execs the worker (bwrap sets no_new_privs).
The numbers are the kernel's for x86_64 and aarch64; elsewhere there is no filter.
"""

from __future__ import annotations

import os
import struct
from functools import lru_cache

# name: (x86_64, aarch64) syscall numbers; None where the architecture has no such call
DENIED: dict[str, dict[str, tuple[int, int | None]]] = {
    "loading or replacing the kernel": {
        "kexec_load": (246, 104), "kexec_file_load": (320, 294), "init_module": (175, 105),
        "finit_module": (313, 273), "delete_module": (176, 106), "reboot": (169, 142),
        "swapon": (167, 224), "swapoff": (168, 225)},
    "mounting, changing the root": {
        "mount": (165, 40), "umount2": (166, 39), "pivot_root": (155, 41), "chroot": (161, 51),
        "fsopen": (430, 430), "fsconfig": (431, 431), "fsmount": (432, 432),
        "fspick": (433, 433), "move_mount": (429, 429), "open_tree": (428, 428),
        "mount_setattr": (442, 442)},
    "new namespaces (nested user namespaces above all)": {
        "unshare": (272, 97), "setns": (308, 268)},
    "reading or writing other processes": {
        "ptrace": (101, 117), "process_vm_readv": (310, 270), "process_vm_writev": (311, 271),
        "kcmp": (312, 272), "pidfd_getfd": (438, 438), "process_madvise": (440, 440)},
    "kernel attack surface grading never uses": {
        "bpf": (321, 280), "perf_event_open": (298, 241), "userfaultfd": (323, 282),
        "io_uring_setup": (425, 425), "io_uring_enter": (426, 426),
        "io_uring_register": (427, 427), "keyctl": (250, 219), "add_key": (248, 217),
        "request_key": (249, 218), "fanotify_init": (300, 262), "syslog": (103, 116)},
    "files by handle (escape a bind mount)": {
        "open_by_handle_at": (304, 265), "name_to_handle_at": (303, 264)},
    "host administration": {
        "acct": (163, 89), "quotactl": (179, 60), "quotactl_fd": (443, 443),
        "settimeofday": (164, 170), "clock_settime": (227, 112), "clock_adjtime": (305, 266),
        "adjtimex": (159, 171), "sethostname": (170, 161), "setdomainname": (171, 162),
        "vhangup": (153, 58)},
    "x86 port and segment access": {
        "iopl": (172, None), "ioperm": (173, None), "modify_ldt": (154, None)},
    "obsolete": {
        "lookup_dcookie": (212, 18), "nfsservctl": (180, 42), "remap_file_pages": (216, 234),
        "uselib": (134, None), "ustat": (136, None), "sysfs": (139, None),
        "_sysctl": (156, None), "create_module": (174, None), "get_kernel_syms": (177, None),
        "query_module": (178, None), "afs_syscall": (183, None), "tuxcall": (184, None),
        "security": (185, None), "getpmsg": (181, None), "putpmsg": (182, None),
        "vserver": (236, None), "epoll_ctl_old": (214, None), "epoll_wait_old": (215, None)},
}
ARCHES = ("x86_64", "aarch64")
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
CLONE = {"x86_64": 56, "aarch64": 220}
CLONE3 = {"x86_64": 435, "aarch64": 435}
X32_SYSCALL_BIT = 0x40000000  # x86_64's x32 ABI: same arch, numbers with this bit set
CLONE_NAMESPACES = (0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000
                    | 0x20000000 | 0x40000000)  # NEWNS NEWCGROUP NEWUTS NEWIPC NEWUSER NEWPID NEWNET
EPERM, ENOSYS = 1, 38

# classic BPF (linux/filter.h, linux/seccomp.h)
LD_W_ABS, JEQ_K, JGE_K, JSET_K, RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
RET_ALLOW, RET_ERRNO = 0x7FFF0000, 0x00050000
NR, ARCH, ARG0_LOW = 0, 4, 16  # offsets in struct seccomp_data (little-endian args)


def denied_numbers(arch: str) -> dict[str, int]:
    """The syscalls refused with EPERM on `arch`: {name: number}."""
    column = ARCHES.index(arch)
    return {name: numbers[column] for group in DENIED.values()
            for name, numbers in group.items() if numbers[column] is not None}


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    if not (0 <= jt < 256 and 0 <= jf < 256):
        raise ValueError("a BPF jump is 8 bits: the filter is too long for one chain")
    return struct.pack("=HBBI", code, jt, jf, k)


def assemble(arch: str) -> bytes:
    """The filter for `arch`, one chain of checks on the syscall number:

        0  ld arch;  jeq native ? next : deny        (another ABI)
        2  ld nr;   [x86_64: jge x32 bit -> deny]
           jeq clone3 -> enosys;  jeq clone -> flags
           jeq n1 -> deny; ...; jeq nN -> deny
    allow  ret ALLOW
    flags  ld arg0 (its low half: the flags);  jset namespace flags -> deny;  ret ALLOW
    deny   ret ERRNO(EPERM)
   enosys  ret ERRNO(ENOSYS)
    """
    checks: list[tuple[int, int, str]] = []
    if arch == "x86_64":
        checks.append((JGE_K, X32_SYSCALL_BIT, "deny"))
    checks += [(JEQ_K, CLONE3[arch], "enosys"), (JEQ_K, CLONE[arch], "flags")]
    checks += [(JEQ_K, nr, "deny") for nr in sorted(denied_numbers(arch).values())]
    allow = 3 + len(checks)
    where = {"flags": allow + 1, "deny": allow + 4, "enosys": allow + 5}
    out = [_insn(LD_W_ABS, ARCH), _insn(JEQ_K, AUDIT_ARCH[arch], 0, where["deny"] - 2),
           _insn(LD_W_ABS, NR)]
    for at, (code, k, target) in enumerate(checks, 3):  # a jump skips jt instructions
        out.append(_insn(code, k, where[target] - at - 1))
    out += [_insn(RET_K, RET_ALLOW),
            _insn(LD_W_ABS, ARG0_LOW), _insn(JSET_K, CLONE_NAMESPACES, 1),
            _insn(RET_K, RET_ALLOW),
            _insn(RET_K, RET_ERRNO | EPERM),
            _insn(RET_K, RET_ERRNO | ENOSYS)]
    return b"".join(out)


def native_arch() -> str | None:
    """This machine's architecture when the filter knows its syscall numbers."""
    machine = os.uname().machine
    return machine if machine in ARCHES else None


@lru_cache(maxsize=1)
def program() -> tuple[int, bytes] | None:
    """(how many syscalls it denies outright, the BPF program) for this machine, or None
    where the syscall numbers are unknown (or the byte order is not little-endian)."""
    arch = native_arch()
    if arch is None or struct.pack("=H", 1) != b"\x01\x00":
        return None
    return len(denied_numbers(arch)), assemble(arch)
