#!/usr/bin/env python3
"""Run this module's public tests on your notebook, reading it exactly as the course's
grader does (only imports, def, class and constants of your cells count; `demo` cells
and everything else are left out).

    python check.py                      # checks the notebook next to this file
    python check.py path/to/notebook.ipynb
    python check.py --json               # one verdict per test, machine-readable

From a notebook cell: `%run check.py` (save the notebook first).
The exit status is 0 when every public test passes. Passing them does not mean full
marks: the hidden suite checks much more.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SLUG = "{slug}"


def run(notebook: str | Path | None = None, as_json: bool = False) -> int:
    """Check `notebook` (default: the module's notebook next to this file)."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    import pytest

    from _fdl_check.plugin import check_key

    path = Path(notebook) if notebook else HERE / f"{SLUG}.ipynb"
    if not path.is_file():
        print(f"error: {path}: no such notebook; pass the path of your {SLUG}.ipynb",
              file=sys.stderr)
        return 2
    tests = sorted(str(p) for p in HERE.glob("test_*.py"))
    found: dict = {}

    class Grab:
        def pytest_unconfigure(self, config: pytest.Config) -> None:
            found["plugin"] = config.stash.get(check_key, None)

    args = [*tests, "-p", "_fdl_check.plugin", "--notebook", str(path.resolve()),
            "--stub", str(HERE / "_fdl_check" / "stub.ipynb"), "-qq", "--tb=no",
            "-p", "no:cacheprovider", "-W", "ignore", "--rootdir", str(HERE), "-o", "addopts="]
    with contextlib.redirect_stdout(io.StringIO()) as pytest_output:
        code = pytest.main(args, plugins=[Grab()])
    plugin = found.get("plugin")
    if plugin is None or code not in (0, 1) or not plugin.verdicts:
        print(pytest_output.getvalue(), file=sys.stderr)
        print(f"error: the public tests did not run (pytest exit status {int(code)})",
              file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps(plugin.verdicts, indent=1, sort_keys=True))
    else:
        plugin.print_summary()
    return 0 if all(v == "passed" for v in plugin.verdicts.values()) else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook", nargs="?", help=f"default: {SLUG}.ipynb next to check.py")
    parser.add_argument("--json", action="store_true", help="print verdicts as JSON")
    args, _ = parser.parse_known_args()  # Jupyter's %run passes its own arguments
    raise SystemExit(run(args.notebook, args.json))


if __name__ == "__main__":
    main()
