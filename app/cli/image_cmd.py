"""`course image build|check`: the grading worker's container image (docker/Dockerfile,
docker/apptainer.def), built and then checked under the exact limits grading uses."""

from __future__ import annotations

import json
import subprocess

import typer

from app.cli.common import EXIT_USAGE, console, course_from, user_errors
from autograder.config import Course
from autograder.core.errors import UserError
from autograder.sandbox.containers import ContainerSpec, apptainer_command, docker_command

app = typer.Typer(no_args_is_help=True, help="Build and check the grading worker's image.")

# Runs inside the container; prints one JSON line of what it found.
PROBE = r"""
import importlib, json, os, socket, sys, tempfile
found = {"uid": os.getuid(), "python": sys.version.split()[0]}
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2).close(); found["network"] = "open"
except OSError:
    found["network"] = "blocked"
try:
    open("/probe-root-write", "w").close(); found["root"] = "writable"
except OSError:
    found["root"] = "read-only"
try:
    with tempfile.NamedTemporaryFile(dir="/tmp"): found["tmp"] = "writable"
except OSError:
    found["tmp"] = "not writable"
found["imports"] = {}
for name in sys.argv[1].split(","):
    try:
        mod = importlib.import_module(name)
        found["imports"][name] = getattr(mod, "__version__", "present")
    except Exception as exc:
        found["imports"][name] = "MISSING: " + type(exc).__name__
if "torch" in sys.modules:
    found["cuda"] = sys.modules["torch"].cuda.is_available()
print(json.dumps(found))
"""


def build_commands(course: Course, apptainer: bool) -> list[list[str]]:
    """The commands `course image build` runs, in order (run from the course root)."""
    cfg = course.container
    cmds = [["docker", "build", "--file", "docker/Dockerfile", "--tag", cfg.image, "."]]
    if apptainer:
        cmds.append(["apptainer", "build", "--force", str(course.resolve(cfg.sif)),
                     "docker/apptainer.def"])
    return cmds


@app.command("build")
def build_command(ctx: typer.Context,
                  apptainer: bool = typer.Option(False, "--apptainer",
                                                 help="also build the Apptainer .sif from it"),
                  dry_run: bool = typer.Option(False, "--dry-run",
                                               help="print the commands, run nothing")) -> None:
    """Build the worker image (docker build), and optionally its Apptainer .sif."""
    with user_errors():
        course = course_from(ctx)
        for cmd in build_commands(course, apptainer):
            console.print("$ " + " ".join(cmd), soft_wrap=True)
            if dry_run:
                continue
            try:
                code = subprocess.run(cmd, cwd=course.root).returncode
            except FileNotFoundError:
                raise UserError(f"`{cmd[0]}` is not installed; install it or build on a "
                                f"machine that has it") from None
            if code != 0:
                raise UserError(f"`{' '.join(cmd[:2])}` failed (exit {code}); see its output "
                                f"above")


def check_findings(found: dict, gpus: str) -> list[str]:
    """Problems with what the probe found; empty when the image is fit for grading."""
    problems = []
    if found.get("uid") == 0:
        problems.append("the worker runs as root")
    if found.get("network") != "blocked":
        problems.append("the worker can reach the network")
    if found.get("root") != "read-only":
        problems.append("the root file system is writable")
    if found.get("tmp") != "writable":
        problems.append("/tmp is not writable (student code and torch need it)")
    problems += [f"{name}: {value}" for name, value in found.get("imports", {}).items()
                 if str(value).startswith("MISSING")]
    if gpus and found.get("cuda") is False:
        problems.append(f"no CUDA device visible with gpus={gpus!r}")
    return problems


@app.command("check")
def check_command(ctx: typer.Context,
                  apptainer: bool = typer.Option(False, "--apptainer",
                                                 help="check the .sif instead of the docker image"),
                  require: str = typer.Option("torch,numpy,sklearn,gymnasium", "--require",
                                              help="modules the image must import")) -> None:
    """Run a probe in the image under grading's own limits: non-root, no network,
    read-only root, writable /tmp, the libraries importable, the GPU visible."""
    with user_errors():
        course = course_from(ctx)
        cfg = course.container
        image = str(course.resolve(cfg.sif)) if apptainer else cfg.image
        spec = ContainerSpec(image=image, name="fdl-image-check", gpus=cfg.gpus, cpus=cfg.cpus)
        build = apptainer_command if apptainer else docker_command
        cmd = build(spec, course.sandbox, 120) + ["-c", PROBE, require]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        except FileNotFoundError:
            raise UserError(f"`{cmd[0]}` is not installed here") from None
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        if proc.returncode != 0 or not lines:
            raise UserError(f"{image}: the probe did not run (exit {proc.returncode}): "
                            f"{proc.stderr.strip()[-300:]}")
        found = json.loads(lines[-1])
        console.print_json(data=found)
        problems = check_findings(found, cfg.gpus)
        for problem in problems:
            console.print(f"[red]FAIL[/] {problem}")
        if problems:
            raise typer.Exit(EXIT_USAGE)
        console.print(f"[green]ok[/] {image} is fit for grading")
