"""The layers hold: the import-linter contracts in pyproject.toml cover every package,
and the core the release bundles copy needs nothing but the standard library."""

from __future__ import annotations

import ast
import dataclasses
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
    import_names = {"scikit-learn": "sklearn", "python-multipart": "python_multipart",
                    "argon2-cffi": "argon2", "markdown-it-py": "markdown_it"}
    deps = {import_names.get(name, name.replace("-", "_")) for name in
            (re.match(r"[A-Za-z0-9_.-]+", d).group(0) for d in config["project"]["dependencies"])
            if name not in ("pytest-timeout", "ipykernel")}
    assert deps - forbidden == set(), "add these to the core's contract in pyproject.toml"


def test_engine_and_gradebook_contracts_name_the_application():
    contracts = _contracts()
    assert contracts["the engine never imports the gradebook or the application"][
        "forbidden_modules"] == ["gradebook", "app"]
    assert contracts["the gradebook never imports the application"]["forbidden_modules"] == ["app"]


def test_a_grading_request_is_built_by_one_function_only():
    """Every front end calls `autograder.request.build_request`; nothing else in the
    engine, the gradebook or the application constructs a GradeRequest."""
    builders = []
    for package in ("autograder", "gradebook", "app"):
        for path in sorted((REPO / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "GradeRequest":
                    builders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert len(builders) == 1 and builders[0].startswith("autograder/request.py:"), builders
    request_py = ast.parse((REPO / "autograder" / "request.py").read_text(encoding="utf-8"))
    calls = [fn.name for fn in request_py.body if isinstance(fn, ast.FunctionDef)
             and any(isinstance(n, ast.Call) and getattr(n.func, "id", None) == "GradeRequest"
                     for n in ast.walk(fn))]
    assert calls == ["build_request"]


def test_the_plugin_takes_the_request_as_one_file_without_defaults_of_its_own():
    """The grading process gets the request as one JSON file: no option of the plugin
    repeats a request field or a limit (whose defaults live in the config schema)."""
    from autograder.config import SandboxLimits
    from autograder.request import GradeRequest

    source = (REPO / "autograder" / "plugin" / "__init__.py").read_text(encoding="utf-8")
    options = set(re.findall(r'addoption\("--([\w-]+)"', source))
    assert options == {"grading-request", "results", "no-self-limits"}
    names = {f.name.replace("_", "-") for f in dataclasses.fields(GradeRequest)} | \
            {f.name.replace("_", "-") for f in dataclasses.fields(SandboxLimits)}
    assert not options & names


def test_dependencies_are_used_through_their_public_modules():
    """No product module imports a dependency's private module (`_pytest`, ...) or
    execnet; a trick on private internals would need its measured gain in BENCHMARKS.md."""
    found = []
    for package in ("autograder", "gradebook", "app"):
        for path in sorted((REPO / package).rglob("*.py")):
            for name in _top_imports(path):
                if name.startswith("_") and name not in ("__future__", "_fdl_check") \
                        or name == "execnet":
                    found.append(f"{path.relative_to(REPO)}: {name}")
    assert found == []


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


def test_the_plugin_tells_student_exceptions_by_type_not_by_name_or_text():
    """Student exceptions are typed (core/errors.py): nothing in the plugin or the core
    compares a class name with a string, probes an exception for ad-hoc attributes, or
    parses a message's text to decide what happened."""
    found = []
    files = [*(REPO / "autograder" / "plugin").glob("*.py"), *CORE.glob("*.py"),
             *(REPO / "autograder" / "worker").glob("*.py")]
    for path in sorted(files):
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Compare):
                sides = [node.left, *node.comparators]
                if any(isinstance(s, ast.Attribute) and s.attr == "__name__" for s in sides) \
                        and any(isinstance(s, ast.Constant) and isinstance(s.value, str)
                                for s in sides):
                    found.append(f"{path.name}:{node.lineno} compares a __name__ with a string")
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("getattr", "hasattr") \
                    and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) \
                    and node.args[1].value in ("from_student", "student_location"):
                found.append(f"{path.name}:{node.lineno} probes {node.args[1].value!r}")
        if "your code called" in source:
            found.append(f"{path.name}: matches the text 'your code called'")
    assert found == []


def test_what_the_suites_import_is_a_dependency_of_grading_not_only_of_the_tests():
    """`make demo` installs the project without its test extras, and so does a grading
    host: every package a hidden or public suite imports is a main dependency."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    distributions = {"sklearn": "scikit-learn"}
    declared = {re.match(r"[A-Za-z0-9_.-]+", d).group(0).lower()
                for d in config["project"]["dependencies"]}
    suites = [*REPO.glob("solutions/*/test_*.py"), *REPO.glob("solutions/*/public/*.py")]
    assert suites
    missing = set()
    for path in suites:
        for name in _top_imports(path) - set(sys.stdlib_module_names) - {"__future__"}:
            if distributions.get(name, name).lower() not in declared:
                missing.add(f"{path.relative_to(REPO)}: {name}")
    assert missing == set(), "add these to [project] dependencies in pyproject.toml"
