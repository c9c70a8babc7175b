"""`make demo`: the instructor's and TA's first five minutes, end to end on real files.

1. `course assign transformer`: master -> student stub + public tests;
2. `course validate transformer`: master runs, reference full, stub zero, mutants caught;
3. `course grade-notebook` on three notebooks: the reference, the untouched stub and a
   buggy submission made from the master by planting one mutant's bug in its answer cell;
4. a summary table of the three results;
5. the TA's term on a generated class of 30 (`app/demo/class_term.py`): roster, collect
   with an LMS worksheet, batch grading, written/presentation/bonus scores, final grades,
   exports, feedback pages and plots.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rich.console import Console

SLUG = "transformer"
BUGGY_MUTANT = "mask_inverted"  # solutions/transformer/mutants/<name>.py planted in the demo
console = Console(highlight=False)


def run(args: list[str], config: Path | None = None) -> int:
    """Run one `course` command (with `--config` when given), echoing it as typed."""
    console.print(f"\n[bold cyan]$ course {' '.join(args)}[/]")
    options = ["--config", str(config)] if config else []
    return subprocess.call([sys.executable, "-m", "app.cli.main", *options, *args])
