"""The markers hidden and public suites use. Standard library only: release bundles
ship this file so their checker accepts the same markers."""

MARKERS = {
    "points(n)": "points the test is worth (a non-negative number)",
    "visibility(v)": "who sees the test: visible, hidden, after_due_date or after_published",
    "time_limit(seconds)": "wall-clock limit for the test's call (overrides --call-time-limit)",
    "slow": "a training run; mutant runs may skip it with -m 'not slow'",
    "gpu": "needs CUDA; skipped without it and may carry no points",
    "worker_reported": "judged on what the sandboxed worker reports about itself (a "
                       "student can forge it); at most 2 points per suite, listed in "
                       "docs/SECURITY.md",
}
