"""Executors: the Slurm array's script and queue parsing as text, a real one-node Slurm
grading a batch exactly once (with a failed task retried alone), and Dask."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from autograder.config import SlurmConfig
from autograder.course_loader import load_course
from autograder.executors.slurm import SlurmExecutor, SlurmJob, parse_squeue, sbatch_script, \
    squeue_command
from app.grading import grade_batch
from gradebook.collect import collect
from gradebook.models import GradingRun, Submission
from gradebook.roster import import_roster
from gradebook.store import open_gradebook

from conftest import add_to_config
from slurm_cluster import SlurmCluster, unavailable_reason

N_STUDENTS = 10


def test_sbatch_script_has_every_option():
    job = SlurmJob(folder=Path("/shared/jobs/vae-1"), size=40, name="grade-vae",
                   time_minutes=8, mem_mb=7168, gpu=True)
    config = SlurmConfig(partition="gpu", account="fdl", max_parallel=16, cpus_per_task=4,
                         extra_args=("--qos=teaching",))
    script = sbatch_script(job, config, python="/opt/venv/bin/python")
    options = re.findall(r"^#SBATCH (\S+)$", script, re.MULTILINE)
    assert options == ["--job-name=grade-vae", "--array=0-39%16",
                       "--output=/shared/jobs/vae-1/logs/%a.log", "--time=8", "--mem=7168M",
                       "--cpus-per-task=4", "--nodes=1", "--ntasks=1", "--gres=gpu:1",
                       "--partition=gpu", "--account=fdl", "--qos=teaching"]
    assert script.rstrip().endswith('exec /opt/venv/bin/python -m autograder.executors.'
                                     'slurm_task /shared/jobs/vae-1 "$SLURM_ARRAY_TASK_ID"')
    cpu_only = sbatch_script(replace(job, gpu=False), SlurmConfig())
    assert "--gres" not in cpu_only and "--partition" not in cpu_only
    assert squeue_command("77") == ["squeue", "--noheader", "--array", "--jobs", "77",
                                    "--format=%K %T"]


def test_squeue_lines_become_task_ids():
    assert parse_squeue("3 RUNNING\n[5-7%2] PENDING\n9 PENDING\n") == {3, 5, 6, 7, 9}
    assert parse_squeue("1,4,8-9 PENDING\n") == {1, 4, 8, 9}
    assert parse_squeue("") == set()


def test_bad_slurm_config_is_one_line():
    from autograder.config import ConfigError

    with pytest.raises(ConfigError, match="must be a long option"):
        SlurmConfig(extra_args=("-p gpu",))


def _class_of(tiny_course: Path, engine, n: int) -> None:
    """n students, each with a distinct notebook; the last one submits the stub (0 points)."""
    ids = [f"st{i:02d}" for i in range(n)]
    roster = tiny_course / "class.csv"
    roster.write_text("id,name,email\n" + "".join(f"{i},Student {i},{i}@uni.de\n" for i in ids))
    import_roster(engine, roster)
    batch = tiny_course / "batch"
    batch.mkdir()
    master = json.loads((tiny_course / "solutions" / "tiny" / "tiny.ipynb").read_text())
    stub = json.loads((tiny_course / "assignments" / "tiny" / "tiny.ipynb").read_text())
    for k, sid in enumerate(ids):
        nb = dict(stub if k == n - 1 else master)
        nb["metadata"] = {**nb["metadata"], "variant": sid}
        (batch / f"{sid}.ipynb").write_text(json.dumps(nb))
    collect(engine, "tiny", batch)


def _runs(engine) -> dict[str, int]:
    with Session(engine) as session:
        counts: dict[str, int] = {}
        for run in session.scalars(select(GradingRun)):
            counts[run.sha256] = counts.get(run.sha256, 0) + 1
        return counts


@pytest.mark.integration
def test_a_one_node_slurm_grades_the_batch_as_an_array_exactly_once(
        tiny_course, course_cli, monkeypatch, tmp_path_factory, capsys):
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    cluster = SlurmCluster.start(tmp_path_factory.mktemp("slurm"))
    try:
        print(f"test Slurm up in {cluster.started_s:.2f} s")
        monkeypatch.setenv("SLURM_CONF", cluster.env["SLURM_CONF"])
        config = tiny_course / "course_config.py"
        add_to_config(config, "slurm", "SlurmConfig(cpus_per_task=1, poll_seconds=0.3)")
        assert course_cli(config, "assign", "tiny").exit_code == 0
        course = load_course(config)
        assert course.slurm.poll_seconds == 0.3
        engine = open_gradebook(course)
        _class_of(tiny_course, engine, N_STUDENTS)

        # first run: task 3's request is damaged after the job folder is written, so that
        # task crashes without a result (as a node failure would)
        original = SlurmExecutor.prepare

        def damaged(self, requests):
            job = original(self, requests)
            (job.folder / "requests" / "3.json").write_text("{not json")
            return job

        monkeypatch.setattr(SlurmExecutor, "prepare", damaged)
        first = course_cli(config, "grade", "tiny", "--executor", "slurm")
        assert first.exit_code == 3, first.output  # a grader error: retried by the next run
        assert "Slurm task" in first.output and "ended without a result" in first.output
        assert "submitted Slurm job" in first.output
        runs = _runs(engine)
        assert len(runs) == N_STUDENTS - 1 and set(runs.values()) == {1}

        # second run: only the failed one is submitted again, as a one-task array
        monkeypatch.setattr(SlurmExecutor, "prepare", original)
        second = grade_batch(course, engine, "tiny", executor="slurm")
        assert (second.to_grade, second.graded, second.failed) == (1, 1, [])
        runs = _runs(engine)
        assert len(runs) == N_STUDENTS and set(runs.values()) == {1}
        with Session(engine) as session:
            shas = {s.student_id: s.sha256 for s in session.scalars(select(Submission))}
            scores = {r.sha256: r.score for r in session.scalars(select(GradingRun))}
        assert scores[shas[f"st{N_STUDENTS - 1:02d}"]] == 0.0
        assert sorted(scores.values()).count(10.0) == N_STUDENTS - 1
        jobs = sorted((tiny_course / ".grading" / "slurm").iterdir())
        assert len(jobs) == 2
        assert "#SBATCH --array=0-9%32" in (jobs[0] / "grade.sbatch").read_text()
        assert "#SBATCH --array=0-0%32" in (jobs[1] / "grade.sbatch").read_text()
        assert all(r["outcome"]["results"]["extra_data"]["sandbox"] for r in
                   (json.loads(p.read_text()) for p in (jobs[1] / "outcomes").glob("*.json")))
    finally:
        cluster.stop()


@pytest.mark.integration
def test_dask_local_cluster_grades_like_the_local_pool(book, tiny_course):
    pytest.importorskip("distributed")
    course, engine = book
    batch = tiny_course / "batch"
    batch.mkdir()
    master = json.loads((tiny_course / "solutions" / "tiny" / "tiny.ipynb").read_text())
    for sid in ("s1", "s2", "s3"):
        nb = {**master, "metadata": {**master["metadata"], "variant": sid}}
        (batch / f"{sid}.ipynb").write_text(json.dumps(nb))
    collect(engine, "tiny", batch)
    summary = grade_batch(course, engine, "tiny", workers=2, executor="dask")
    assert (summary.to_grade, summary.graded, summary.scores) == (3, 3, [10.0] * 3)
    assert set(_runs(engine).values()) == {1}


def test_only_gpu_modules_ask_for_the_gpu(book, tiny_course, monkeypatch):
    """`course grade` sends student code to the GPU only for ModuleSpec(gpu=True): the
    other modules stay on the CPU even on a GPU machine (no CUDA start-up per worker)."""
    import dataclasses

    from app import grading as batch_module

    course, engine = book
    folder = tiny_course / "batch"
    folder.mkdir()
    (folder / "s1.ipynb").write_text((tiny_course / "solutions" / "tiny" / "tiny.ipynb").read_text())
    collect(engine, "tiny", folder)
    seen: list[str] = []

    class Capture:
        def grade_all(self, requests, on_done):
            seen.extend(r.device for r in requests)

    monkeypatch.setattr(batch_module, "make_executor", lambda *args: Capture())
    grade_batch(course, engine, "tiny")
    gpu_course = dataclasses.replace(course, modules=tuple(
        dataclasses.replace(m, gpu=True) for m in course.modules))
    grade_batch(gpu_course, engine, "tiny")
    assert seen == ["cpu", "auto"]
