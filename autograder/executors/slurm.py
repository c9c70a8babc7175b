"""Grading a batch as one Slurm job array: a task per submission, results collected here.

`SlurmExecutor.grade_all` writes a job folder (on a file system the nodes share):

    <workdir>/<slug>-<stamp>/requests/<i>.json    what task i grades
                             submissions/<i>.ipynb  the notebook, copied
                             grade.sbatch           the array script (`sbatch --array`)
                             logs/<i>.log           each task's stdout and stderr
                             outcomes/<i>.json      each task's result, written atomically

then submits `grade.sbatch` once, polls `squeue` and the outcome files, and hands every
outcome to `on_done` as it appears, in this process: the gradebook keeps its single
writer. A task that leaves the queue without an outcome (killed at its time limit, out
of memory, node failure) is reported as an error with its log's tail; its submission
stays pending, so the next `course grade` submits exactly those again.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Sequence

from autograder.config import SlurmConfig
from autograder.engine import GradeOutcome
from autograder.request import GradeRequest
from autograder.core.errors import GraderError, UserError
from autograder.executors import Done

TRUSTED_SIDE_MB = 3072  # pytest + torch on the trusted side, on top of the worker's limit
MARGIN_S = 120  # start-up and collection, on top of the per-submission wall limit
MISSING_POLLS = 2  # a task must be gone from the queue this many polls before it counts


@dataclass
class SlurmJob:
    """One array job as written to disk."""

    folder: Path
    size: int
    name: str
    time_minutes: int
    mem_mb: int
    gpu: bool


def sbatch_script(job: SlurmJob, config: SlurmConfig, python: str = sys.executable) -> str:
    """The array script; every option is visible here (and tested as text)."""
    options = [
        f"--job-name={job.name}",
        f"--array=0-{job.size - 1}%{config.max_parallel}",
        f"--output={job.folder}/logs/%a.log",
        f"--time={job.time_minutes}",
        f"--mem={job.mem_mb}M",
        f"--cpus-per-task={config.cpus_per_task}",
        "--nodes=1",
        "--ntasks=1",
    ]
    if job.gpu:
        options.append(f"--gres={config.gpu_gres}")
    if config.partition:
        options.append(f"--partition={config.partition}")
    if config.account:
        options.append(f"--account={config.account}")
    options += list(config.extra_args)
    lines = ["#!/bin/bash", *(f"#SBATCH {opt}" for opt in options),
             "# one submission per array task; the result goes to outcomes/<task>.json",
             f"export OMP_NUM_THREADS={config.cpus_per_task}",
             f"export MKL_NUM_THREADS={config.cpus_per_task}",
             f'exec {python} -m autograder.executors.slurm_task {job.folder} '
             f'"$SLURM_ARRAY_TASK_ID"']
    return "\n".join(lines) + "\n"


def squeue_command(job_id: str) -> list[str]:
    """One line per array task still queued or running: `<task id> <state>`."""
    return ["squeue", "--noheader", "--array", "--jobs", job_id, "--format=%K %T"]


def parse_squeue(stdout: str) -> set[int]:
    """Task ids from `squeue --array --format=%K %T` lines; an unexpanded pending range
    (`[3-7%2]`, `3-7`, `1,4,9`) counts every task in it."""
    tasks: set[int] = set()
    for line in stdout.splitlines():
        field = line.split(" ", 1)[0].strip().strip("[]").split("%")[0]
        for part in filter(None, field.split(",")):
            lo, _, hi = part.partition("-")
            if lo.isdigit() and (not hi or hi.isdigit()):
                tasks.update(range(int(lo), int(hi or lo) + 1))
    return tasks


class SlurmExecutor:
    """Grades requests as one `sbatch --array` job and collects the results here."""

    def __init__(self, config: SlurmConfig, workdir: Path, slug: str, gpu: bool = False,
                 progress_note: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.workdir = workdir
        self.slug = slug
        self.gpu = gpu
        self.note = progress_note or (lambda line: None)
        if shutil.which("sbatch") is None or shutil.which("squeue") is None:
            raise UserError("the slurm executor needs `sbatch` and `squeue` on PATH; run "
                            "`course grade` on a Slurm login node, or use --executor local")

    def prepare(self, requests: Sequence[GradeRequest]) -> SlurmJob:
        """Write the job folder: requests, copied submissions, the script."""
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        folder = (self.workdir / f"{self.slug}-{stamp}").resolve()
        for sub in ("requests", "submissions", "logs", "outcomes"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        limits = requests[0].limits
        for i, req in enumerate(requests):
            copy = folder / "submissions" / f"{i}{Path(req.submission).suffix}"
            shutil.copyfile(req.submission, copy)
            data = req.to_json()
            data["submission"] = str(copy)
            (folder / "requests" / f"{i}.json").write_text(json.dumps(data), encoding="utf-8")
        job = SlurmJob(folder=folder, size=len(requests), name=f"grade-{self.slug}",
                       time_minutes=math.ceil((limits.wall_seconds_per_submission
                                               + requests[0].startup_grace_s + MARGIN_S) / 60),
                       mem_mb=limits.memory_mb + TRUSTED_SIDE_MB, gpu=self.gpu)
        (folder / "grade.sbatch").write_text(sbatch_script(job, self.config), encoding="utf-8")
        return job

    def submit(self, job: SlurmJob) -> str:
        proc = subprocess.run(["sbatch", "--parsable", str(job.folder / "grade.sbatch")],
                              capture_output=True, text=True, cwd=job.folder)
        if proc.returncode != 0:
            raise GraderError(f"sbatch refused the grading job: {proc.stderr.strip()[:500]}")
        job_id = proc.stdout.strip().split(";")[0]
        (job.folder / "job_id").write_text(job_id + "\n")
        return job_id

    def queued(self, job_id: str) -> set[int] | None:
        """Task ids still queued or running; None when squeue could not answer."""
        proc = subprocess.run(squeue_command(job_id), capture_output=True, text=True)
        if proc.returncode != 0:
            if "Invalid job id" in proc.stderr:
                return set()  # the whole job has left the controller's memory
            return None
        return parse_squeue(proc.stdout)

    def grade_all(self, requests: Sequence[GradeRequest], on_done: Done | None = None
                  ) -> list[GradeOutcome | Exception]:
        results: list[GradeOutcome | Exception | None] = [None] * len(requests)
        if not requests:
            return []
        job = self.prepare(requests)
        job_id = self.submit(job)
        self.note(f"submitted Slurm job {job_id}: {job.size} task(s), folder {job.folder}")
        gone_since: dict[int, int] = {}
        try:
            while any(r is None for r in results):
                for i in [i for i, r in enumerate(results) if r is None]:
                    outcome = self._read(job, i)
                    if outcome is not None:
                        results[i] = outcome
                        if on_done:
                            on_done(i, outcome)
                open_tasks = [i for i, r in enumerate(results) if r is None]
                if not open_tasks:
                    break
                queued = self.queued(job_id)
                if queued is not None:
                    for i in open_tasks:
                        if i in queued:
                            gone_since.pop(i, None)
                            continue
                        gone_since[i] = gone_since.get(i, 0) + 1
                        if gone_since[i] > MISSING_POLLS and self._read(job, i) is None:
                            results[i] = GraderError(
                                f"Slurm task {job_id}_{i} ended without a result "
                                f"(time limit, memory or node failure?): {self._log_tail(job, i)}")
                            if on_done:
                                on_done(i, results[i])
                if any(r is None for r in results):
                    time.sleep(self.config.poll_seconds)
        except KeyboardInterrupt:
            subprocess.run(["scancel", job_id], capture_output=True)
            raise
        return results  # type: ignore[return-value]

    @staticmethod
    def _read(job: SlurmJob, index: int) -> GradeOutcome | Exception | None:
        path = job.folder / "outcomes" / f"{index}.json"
        if not path.is_file():
            return None
        doc = json.loads(path.read_text(encoding="utf-8"))
        if "error" in doc:
            return GraderError(doc["error"])
        return GradeOutcome.from_json(doc["outcome"])

    @staticmethod
    def _log_tail(job: SlurmJob, index: int) -> str:
        log = job.folder / "logs" / f"{index}.log"
        text = log.read_text(errors="replace") if log.is_file() else "(no log)"
        return " | ".join(text.strip().splitlines()[-3:])[:500] or "(empty log)"
