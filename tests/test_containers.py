"""Container backends: the exact docker and apptainer command lines, the backend choice,
and (where a Docker engine can be started, as in CI) a real grading through docker."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest

from conftest import add_to_config

from autograder.config import ConfigError, ContainerConfig, SandboxLimits
from autograder.course_loader import load_course
from autograder.core.errors import UserError
from autograder.sandbox import backends
from autograder.sandbox.containers import ContainerSpec, apptainer_command, docker_command, \
    kill_command
from autograder.sandbox.policy import SandboxSpec, launch_prefix

LIMITS = SandboxLimits(memory_mb=4096, max_processes=64, max_file_size_mb=64,
                       wall_seconds_per_submission=300)


def test_docker_command_line():
    spec = ContainerSpec(image="fdl-course-worker:ws2026", name="fdl-grade-abc", gpus="all",
                         cpus=4, submission_dir="/tmp/grading-x/mount")
    assert docker_command(spec, LIMITS, 330) == [
        "docker", "run", "--interactive", "--rm", "--name", "fdl-grade-abc",
        "--network", "none", "--read-only",
        "--tmpfs", "/tmp:rw,nosuid,nodev,size=256m,mode=1777,uid=65534,gid=65534",
        "--memory", "4096m", "--memory-swap", "4096m", "--pids-limit", "64", "--cpus", "4",
        "--ulimit", "fsize=67108864", "--ulimit", "core=0", "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges", "--user", "65534:65534",
        "--env", "HOME=/tmp", "--env", "MPLBACKEND=Agg", "--env", "PYTHONDONTWRITEBYTECODE=1",
        "--workdir", "/tmp", "--log-driver", "none",
        "--gpus", "all", "--volume", "/tmp/grading-x/mount:/submission:ro",
        "fdl-course-worker:ws2026", "timeout", "--signal=KILL", "330", "python3"]
    one_gpu = docker_command(dataclasses.replace(spec, gpus="1", submission_dir=""), LIMITS, 60)
    assert one_gpu[one_gpu.index("--gpus") + 1] == '"device=1"'
    assert "--volume" not in one_gpu
    cpu = docker_command(dataclasses.replace(spec, gpus=""), LIMITS, 60)
    assert "--gpus" not in cpu
    assert kill_command("docker", spec) == ["docker", "kill", "fdl-grade-abc"]
    assert kill_command("apptainer", spec) is None


def test_apptainer_command_line():
    spec = ContainerSpec(image="/shared/fdl.sif", name="x", gpus="all", cpus=2,
                         submission_dir="/tmp/g/mount")
    assert apptainer_command(spec, LIMITS, 330) == [
        "apptainer", "exec", "--containall", "--cleanenv", "--no-home", "--no-mount", "cwd",
        "--net", "--network", "none", "--writable-tmpfs",
        "--memory", "4096M", "--pids-limit", "64", "--cpus", "2",
        "--env", "HOME=/tmp,MPLBACKEND=Agg", "--pwd", "/tmp", "--nv",
        "--bind", "/tmp/g/mount:/submission:ro",
        "/shared/fdl.sif", "timeout", "--signal=KILL", "330", "python3"]
    pinned = apptainer_command(dataclasses.replace(spec, gpus="0,1"), LIMITS, 10)
    assert "--nv" in pinned and "CUDA_VISIBLE_DEVICES=0,1" in pinned


def test_the_worker_is_started_through_the_container_command():
    spec = SandboxSpec(kind="docker", limits=LIMITS,
                       container=ContainerSpec(image="img", name="n"))
    prefix = launch_prefix(spec, grace_s=30)
    assert prefix[:3] == ["docker", "run", "--interactive"]
    assert prefix[-4:] == ["timeout", "--signal=KILL", "330", "python3"]


def test_container_config_errors_are_one_line():
    with pytest.raises(ConfigError, match="container.backend 'podman'"):
        ContainerConfig(backend="podman")
    with pytest.raises(ConfigError, match="container.gpus"):
        ContainerConfig(gpus="first")


def test_auto_is_local_without_a_gpu_and_explicit_choices_explain(tiny_course, monkeypatch):
    course = load_course(tiny_course / "course_config.py")
    monkeypatch.setattr(backends, "gpu_present", lambda: False)
    assert backends.resolve_backend(course, "auto") == backends.Backend("local", "auto")
    monkeypatch.setattr(backends, "docker_usable", lambda: False)
    with pytest.raises(UserError, match="no Docker engine"):
        backends.resolve_backend(course, "docker")
    monkeypatch.setattr(backends.shutil, "which", lambda name: None)
    with pytest.raises(UserError, match="apptainer.*not installed"):
        backends.resolve_backend(course, "apptainer")
    with pytest.raises(UserError, match="unknown backend"):
        backends.resolve_backend(course, "kubernetes")


def test_auto_prefers_a_gpu_container(tiny_course, monkeypatch):
    course = load_course(tiny_course / "course_config.py")
    monkeypatch.setattr(backends, "gpu_present", lambda: True)
    monkeypatch.setattr(backends, "docker_usable", lambda: True)
    monkeypatch.setattr(backends, "_docker_image_present", lambda image: True)
    chosen = backends.resolve_backend(course, "auto")
    assert (chosen.name, chosen.sandbox_kind, chosen.gpus) == ("docker", "docker", "all")
    assert chosen.image == course.container.image


@pytest.mark.integration
def test_grading_through_a_real_docker_engine(tiny_course, course_cli, docker_engine, tmp_path):
    """CI starts Debian's dockerd and imports a debootstrap root filesystem as the image."""
    config = tiny_course / "course_config.py"
    add_to_config(config, "container", f'ContainerConfig(image="{docker_engine.image}", gpus="")')
    out = tmp_path / "results.json"
    master = tiny_course / "solutions" / "tiny" / "tiny.ipynb"
    result = course_cli(config, "grade-notebook", "tiny", str(master), "--backend", "docker",
                        "--results", str(out))
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["score"] == doc["max_score"] == 10
    assert doc["extra_data"]["backend"] == "docker" and doc["extra_data"]["sandbox"] == "docker"
    deadline = time.monotonic() + 20  # --rm removes them asynchronously
    while docker_engine.containers() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert docker_engine.containers() == [], "every worker container must be gone"


def test_image_build_commands(tiny_course, course_cli):
    from app.cli.image_cmd import build_commands

    course = load_course(tiny_course / "course_config.py")
    assert build_commands(course, apptainer=True) == [
        ["docker", "build", "--file", "docker/Dockerfile", "--tag", "fdl-course-worker:latest", "."],
        ["apptainer", "build", "--force", str(tiny_course / "images" / "fdl-course-worker.sif"),
         "docker/apptainer.def"]]
    result = course_cli(tiny_course / "course_config.py", "image", "build", "--dry-run")
    assert result.exit_code == 0 and "$ docker build --file docker/Dockerfile" in result.output


def test_image_check_findings():
    from app.cli.image_cmd import check_findings

    good = {"uid": 65534, "network": "blocked", "root": "read-only", "tmp": "writable",
            "imports": {"numpy": "2.0"}, "cuda": True}
    assert check_findings(good, "all") == []
    bad = {"uid": 0, "network": "open", "root": "writable", "tmp": "not writable",
           "imports": {"torch": "MISSING: ModuleNotFoundError"}, "cuda": False}
    assert len(check_findings(bad, "all")) == 6


@pytest.mark.integration
def test_image_check_on_the_real_engine(tiny_course, course_cli, docker_engine):
    config = tiny_course / "course_config.py"
    add_to_config(config, "container", f'ContainerConfig(image="{docker_engine.image}", gpus="")')
    ok = course_cli(config, "image", "check", "--require", "numpy")
    assert ok.exit_code == 0, ok.output
    assert '"network": "blocked"' in ok.output and '"root": "read-only"' in ok.output
    missing = course_cli(config, "image", "check", "--require", "numpy,torch")
    assert missing.exit_code == 2 and "torch: MISSING" in missing.output
