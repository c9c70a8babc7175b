"""The grading request: what one grading of one submission needs, built in one place.

`build_request` makes a request from the course, the module, the submission and the
mode; every front end (the command line, the batch loop, `course validate`, the
Gradescope bundle) calls it. The request reaches the grading pytest process as one JSON
file (`write_request` / `read_request`, the plugin's `--grading-request`), so its fields
and their defaults exist once: here, and in `SandboxLimits` (autograder/config.py).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from autograder.config import Course, SandboxLimits
from autograder.core.errors import GraderError, UserError
from autograder.layout import module_layout
from autograder.sandbox.backends import resolve_backend
from autograder.suite_hash import suite_hash

MODES = ("sandboxed", "trusted")
DEVICES = ("auto", "cpu", "cuda")
SANDBOX_KINDS = ("auto", "bubblewrap", "subprocess", "docker", "apptainer")
Suite = Literal["hidden", "public"]


@dataclass(frozen=True)
class GradeRequest:
    """Everything needed to grade one submission with one suite."""

    suite: tuple[Path, ...]  # test files to run
    submission: Path  # a notebook, or an already built module (.py)
    master: Path  # the notebook whose locked/answer cells define the contract
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    suite_hash: str = ""  # recorded in the result: which suite graded it
    marker_expr: str | None = None  # e.g. "not slow" for mutant runs
    device: str = "auto"  # where student code runs (sandboxed mode): auto = CUDA if seen
    mode: str = "sandboxed"  # or "trusted": student code in the grading process (mutants)
    sandbox_kind: str = "auto"  # bubblewrap where it works, else a plain subprocess;
    # or "docker" / "apptainer": the worker runs in `image` with `gpus`
    image: str = ""
    gpus: str = ""
    startup_grace_s: float = 30.0  # interpreter + torch import, on top of the wall limit
    # intra-op threads of the grading process and its worker. 1 by default: torch's
    # threads busy-wait, and on a loaded machine (parallel gradings, a TA's other work) two
    # threads per process make the transformer suite about 20x slower, past its time limits;
    # on an idle 2-core machine 1 thread costs about 20% (9.5 s -> 11.5 s). None: library default.
    threads: int | None = 1
    # trusted mode only: slow tests run with every RNG drawing this many extra numbers
    # after its seed (autograder/plugin/seed_shift.py; benchmarks/calibrate.py)
    seed_shift: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "suite", tuple(Path(p) for p in self.suite))
        object.__setattr__(self, "submission", Path(self.submission))
        object.__setattr__(self, "master", Path(self.master))
        if self.mode not in MODES:
            raise GraderError(f"unknown grading mode {self.mode!r}; one of {', '.join(MODES)}")
        if self.device not in DEVICES:
            raise UserError(f"device {self.device!r}: use {', '.join(DEVICES)}")
        if self.sandbox_kind not in SANDBOX_KINDS:
            raise GraderError(f"unknown sandbox kind {self.sandbox_kind!r}")
        if self.mode == "trusted" and self.device == "cuda":
            raise UserError("device cuda needs the sandbox: in trusted mode student code "
                            "runs in the grading process, on the CPU")
        if self.seed_shift and self.mode != "trusted":
            raise GraderError("seed_shift is for trusted-mode calibration runs only")
        if self.sandbox_kind in ("docker", "apptainer") and not self.image:
            raise GraderError(f"sandbox kind {self.sandbox_kind} needs an image")

    def for_submission(self, submission: Path) -> "GradeRequest":
        """The same grading of another submission."""
        return dataclasses.replace(self, submission=Path(submission))

    def to_json(self) -> dict[str, Any]:
        """The request as plain JSON data."""
        data = dataclasses.asdict(self)
        data["suite"] = [str(p) for p in self.suite]
        data["submission"], data["master"] = str(self.submission), str(self.master)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "GradeRequest":
        fields = dict(data)
        fields["limits"] = SandboxLimits(**data.get("limits", {}))
        return cls(**fields)


def write_request(request: GradeRequest, path: Path) -> Path:
    path.write_text(json.dumps(request.to_json(), indent=1), encoding="utf-8")
    return path


def read_request(path: Path) -> GradeRequest:
    """The request in a JSON file; GraderError naming the file when it is not one."""
    try:
        return GradeRequest.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise GraderError(f"{path}: not a grading request ({exc})") from None


def build_request(course: Course, slug: str, submission: Path, *,
                  mode: str = "sandboxed", suite: Suite = "hidden",
                  device: str | None = None, backend: str | None = None,
                  threads: int | None = 1, marker_expr: str | None = None) -> GradeRequest:
    """The request that grades `submission` for module `slug`.

    suite: `hidden` grades with the hidden suite against the master (and records the
    suite's hash); `public` runs the public tests against the stub (`course check`).
    device: default the module's (`auto` for gpu modules, else `cpu`).
    backend: local, docker, apptainer or auto; default the config's `container.backend`
    (sandboxed mode only; autograder/sandbox/backends.py chooses).
    """
    layout = module_layout(course, slug)
    if suite == "hidden":
        layout.require("master", "hidden_suite")
        tests, master, digest = (layout.hidden_suite,), layout.master, \
            suite_hash(layout, course.sandbox)
    else:
        layout.require("stub")
        tests, master, digest = tuple(layout.public_tests()), layout.stub, ""
        if not tests:
            raise UserError(f"{layout.assignment_dir}: no public tests (test_*.py); "
                            f"run `course assign {slug}`")
    request = GradeRequest(suite=tests, submission=Path(submission), master=master,
                           limits=course.sandbox, suite_hash=digest, mode=mode,
                           device=device or course.module(slug).grading_device,
                           threads=threads, marker_expr=marker_expr)
    if mode == "sandboxed" and suite == "hidden":
        chosen = resolve_backend(course, backend)
        request = dataclasses.replace(request, sandbox_kind=chosen.sandbox_kind,
                                      image=chosen.image, gpus=chosen.gpus)
    return request
