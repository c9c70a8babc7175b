"""The `course` application: composes one Typer command per file."""

from __future__ import annotations

import tempfile
import traceback
from pathlib import Path

import typer

from app.cli.assign_cmd import assign_command
from app.cli.check import check_command
from app.cli.common import EXIT_GRADER, err_console
from app.cli.collect_cmd import collect_command, missing_command
from app.cli.doctor_cmd import doctor_command
from app.cli.export_cmd import backup_command, export_command
from app.cli.feedback_cmd import feedback_command, publish_command, stats_command
from app.cli.final_cmd import final_command
from app.cli.grade_cmd import grade_command
from app.cli.grade_notebook import grade_notebook_command
from app.cli.gradescope_cmd import gradescope_command
from app.cli.image_cmd import app as image_app
from app.cli.invite_cmd import invite_command
from app.cli.release_cmd import release_command
from app.cli.roster_cmd import app as roster_app
from app.cli.rubric_cmd import app as rubric_app
from app.cli.schedule_cmd import schedule_command
from app.cli.serve_cmd import serve_command
from app.cli.scores_cmd import app as scores_app
from app.cli.scores_cmd import extend_command, override_command
from app.cli.users_cmd import app as users_app
from app.cli.validate_cmd import validate_command
from app.cli.worker_cmd import worker_command
from app.cli.written_cmd import written_command

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
                  help="Course management and autograding for Foundations of Deep Learning.")


@app.callback()
def _options(ctx: typer.Context,
             config: Path = typer.Option(None, "--config", help="path of course_config.py "
                                         "(default: the nearest one above the current folder)")
             ) -> None:
    ctx.obj = {"config": config}


app.command("assign")(assign_command)
app.command("grade-notebook")(grade_notebook_command)
app.command("check")(check_command)
app.command("validate")(validate_command)
app.command("schedule")(schedule_command)
app.command("release")(release_command)
app.add_typer(image_app, name="image")
app.command("gradescope")(gradescope_command)
app.add_typer(roster_app, name="roster")
app.command("collect")(collect_command)
app.command("missing")(missing_command)
app.command("grade")(grade_command)
app.command("final")(final_command)
app.add_typer(scores_app, name="scores")
app.command("override")(override_command)
app.command("extend")(extend_command)
app.command("feedback")(feedback_command)
app.command("publish")(publish_command)
app.command("stats")(stats_command)
app.command("written")(written_command)
app.command("export")(export_command)
app.command("backup")(backup_command)
app.command("doctor")(doctor_command)
app.command("serve")(serve_command)
app.command("worker")(worker_command)
app.add_typer(users_app, name="users")
app.command("invite")(invite_command)
app.add_typer(rubric_app, name="rubric")


def main() -> None:
    """Entry point: an unexpected failure is one line plus where the details went."""
    try:
        app(prog_name="course")
    except Exception as exc:  # noqa: BLE001 - last resort: never a bare traceback
        log = Path(tempfile.gettempdir()) / "course-crash.log"
        log.write_text(traceback.format_exc(), encoding="utf-8")
        err_console.print(f"[bold red]internal error:[/] {type(exc).__name__}: {exc} "
                          f"(details in {log}; please report it)", soft_wrap=True)
        raise SystemExit(EXIT_GRADER) from None


if __name__ == "__main__":
    main()
