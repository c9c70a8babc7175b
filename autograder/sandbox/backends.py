"""Choosing the backend that runs one submission's student code: `local` (bubblewrap or
a plain subprocess), `docker`, `apptainer`, or `auto` (a container with a GPU where both
exist, else local). Returns the request fields the engine passes to the plugin."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from autograder.config import BACKENDS, Course
from autograder.core.errors import UserError
from autograder.sandbox.containers import docker_usable, gpu_present


@dataclass(frozen=True)
class Backend:
    name: str  # what was chosen: local, docker or apptainer
    sandbox_kind: str  # GradeRequest.sandbox_kind
    image: str = ""
    gpus: str = ""


def _docker_image_present(image: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", image], capture_output=True,
                          timeout=30).returncode == 0


def resolve_backend(course: Course, requested: str | None = None) -> Backend:
    """The backend to use; one-line UserErrors when an explicit choice cannot work."""
    name = requested or course.container.backend
    if name not in BACKENDS:
        raise UserError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    cfg = course.container
    gpus = cfg.gpus if gpu_present() else ""
    sif = course.resolve(cfg.sif)
    if name == "auto":
        if gpu_present() and docker_usable() and _docker_image_present(cfg.image):
            return Backend("docker", "docker", cfg.image, gpus)
        if gpu_present() and shutil.which("apptainer") and Path(sif).is_file():
            return Backend("apptainer", "apptainer", str(sif), gpus)
        return Backend("local", "auto")
    if name == "local":
        return Backend("local", "auto")
    if name == "docker":
        if not docker_usable():
            raise UserError("docker backend: no Docker engine answers `docker info`; start "
                            "dockerd (or set DOCKER_HOST), or use --backend local")
        if not _docker_image_present(cfg.image):
            raise UserError(f"docker backend: image {cfg.image!r} not found; build it with "
                            f"`course image build` (course_config.py: container.image)")
        return Backend("docker", "docker", cfg.image, gpus)
    if shutil.which("apptainer") is None:
        raise UserError("apptainer backend: `apptainer` is not installed here; use "
                        "--backend local or docker")
    if not Path(sif).is_file():
        raise UserError(f"apptainer backend: {sif} not found; build it with "
                        f"`course image build --apptainer`")
    return Backend("apptainer", "apptainer", str(sif), gpus)
