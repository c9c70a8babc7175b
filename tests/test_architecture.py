"""The layers hold: the import-linter contracts in pyproject.toml cover every package,
and the core the release bundles copy needs nothing but the standard library."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

from conftest import REPO

CORE = REPO / "autograder" / "core"


def _contracts() -> dict[str, dict]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["name"]: c for c in config["tool"]["importlinter"]["contracts"]}


def _top_imports(path: Path) -> set[str]:
    """Top-level names of every absolute import in a file (lazy ones included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_core_files_import_only_the_standard_library_and_each_other():
    for path in sorted(CORE.glob("*.py")):
        outside = _top_imports(path) - set(sys.stdlib_module_names) - {"__future__"}
        if path.name == "recipes.py":  # builds torch objects where student code runs
            outside -= {"torch"}
        assert not outside, f"{path.name} imports {sorted(outside)}: the core must stay " \
                            f"standard-library only (release bundles copy it as is)"


def test_core_contract_forbids_every_other_module_and_every_dependency():
    forbidden = set(_contracts()["the core imports nothing outside the core"]["forbidden_modules"])
    siblings = {f"autograder.{p.stem}" for p in (REPO / "autograder").iterdir()
                if p.name != "core" and not p.name.startswith("_")
                and (p.suffix == ".py" or (p / "__init__.py").is_file())}
    assert siblings - forbidden == set(), "add these to the core's contract in pyproject.toml"
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    import_names = {"scikit-learn": "sklearn"}
    deps = {import_names.get(name, name.replace("-", "_")) for name in
            (re.match(r"[A-Za-z0-9_.-]+", d).group(0) for d in config["project"]["dependencies"])
            if name not in ("pytest-timeout", "ipykernel")}
    assert deps - forbidden == set(), "add these to the core's contract in pyproject.toml"


def test_engine_and_gradebook_contracts_name_the_application():
    contracts = _contracts()
    assert contracts["the engine never imports the gradebook or the application"][
        "forbidden_modules"] == ["gradebook", "app"]
    assert contracts["the gradebook never imports the application"]["forbidden_modules"] == ["app"]


def _imported_modules(path: Path) -> set[str]:
    """Full names of every absolute import in a file (lazy ones included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_grading_layers_put_the_plugin_over_the_worker_over_the_core():
    layers = _contracts()["grading layers: the plugin over the worker over the sandbox over "
                          "the core"]["layers"]
    assert layers.index("autograder.plugin") < layers.index("autograder.worker") < \
        layers.index("autograder.core") == len(layers) - 1
    for path in sorted((REPO / "autograder" / "worker").glob("*.py")):
        upward = {m for m in _imported_modules(path) if m.startswith("autograder.plugin")}
        assert not upward, f"worker/{path.name} imports {sorted(upward)}: the plugin uses " \
                           f"the worker, never the other way round"
