"""Limits of the trusted grading process itself (pytest with the hidden suite).

Student code never runs in that process in sandboxed mode, but it works on what the
student's code returned: a reply crafted to make the suite allocate or compute without
end must fail that submission, never take the host down with it. So the process caps
its own address space (an allocation past it raises MemoryError, or torch's "can't
allocate memory" RuntimeError, in the test that made it) and its CPU seconds: at the
soft limit the kernel sends SIGXCPU, and the handler ends the grading at once with
`CPU_LIMIT_EXIT`, after `on_cpu_limit` has written what finished (the engine names the
test that was running); the whole-submission wall-clock kill is the backstop.

Only the soft limits are lowered: the sandboxed worker is this process's child and
inherits them, and its launcher sets its own (a CUDA worker needs an unlimited address
space), which it can only do up to the hard limits.
"""

from __future__ import annotations

import os
import resource
import signal
from typing import Callable

CPU_LIMIT_EXIT = 86  # the exit status of a grading process stopped at its CPU limit


def apply(memory_mb: int, cpu_seconds: int, on_cpu_limit: Callable[[], None]) -> None:
    """Cap this process; a cap above what is already set is left as it is."""
    _lower(resource.RLIMIT_AS, memory_mb * 2**20)
    used = int(sum(os.times()[:2]))  # a forked child inherits no CPU time, a process does
    _lower(resource.RLIMIT_CPU, used + cpu_seconds)

    def at_cpu_limit(signum: int, frame: object) -> None:
        signal.signal(signal.SIGXCPU, signal.SIG_IGN)  # once; the hard limit stays
        try:
            on_cpu_limit()
        finally:
            os._exit(CPU_LIMIT_EXIT)

    signal.signal(signal.SIGXCPU, at_cpu_limit)


def _lower(which: int, soft: int) -> None:
    old_soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    if old_soft != resource.RLIM_INFINITY and old_soft < soft:
        return
    resource.setrlimit(which, (soft, hard))


def is_out_of_memory(exc: BaseException) -> bool:
    """An allocation that failed in this process (Python's or torch's allocator)."""
    return isinstance(exc, MemoryError) or (
        isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc)[:500])
