"""`course invite`: student accounts from the roster, one invitation link each, in a CSV.

The CSV (student_id, name, email, link; mode 0600, since each link sets a password) is
for a mail merge; the command sends no mail. Inviting a student who has an account
already gives them a new link (a forgotten password); older links stop working.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import typer

from app.cli.common import console, course_and_gradebook, user_errors
from autograder.core.errors import UserError

DEFAULT_OUT = Path("invitations.csv")


def invitation_link(base: str, token: str) -> str:
    """The page that sets the password; the token rides in the fragment, never sent to a
    server in a URL (the page POSTs it)."""
    return f"{base.rstrip('/')}/set-password#token={token}"


def _write_private(path: Path, rows: list[list[str]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    tmp.replace(path)


def invite_command(ctx: typer.Context,
                   student: list[str] = typer.Option(None, "--student",
                                                     help="invite only this student id "
                                                          "(repeatable)"),
                   out: Path = typer.Option(DEFAULT_OUT, "--out",
                                            help="the CSV of links to write (mode 0600)"),
                   base_url: str = typer.Option("http://127.0.0.1:8000", "--base-url",
                                                help="where students reach `course serve`")
                   ) -> None:
    """Write one invitation link per roster student into a CSV (for a mail merge)."""
    from gradebook.users import INVITE_TTL, invite_students

    with user_errors():
        _, engine = course_and_gradebook(ctx)
        invitations, problems = invite_students(engine, list(student) if student else None)
        if not invitations and not problems:
            raise UserError("the roster is empty; run `course roster import students.csv` first")
        rows = [["student_id", "name", "email", "link"]]
        rows += [[i.student_id, i.name, i.email, invitation_link(base_url, i.token)]
                 for i in invitations]
        if invitations:
            _write_private(out, rows)
        for line in problems:
            console.print(f"[yellow]not invited:[/] {line}", soft_wrap=True)
        new = sum(i.new_account for i in invitations)
        console.print(f"{len(invitations)} invitation(s) ({new} new account(s), "
                      f"{len(invitations) - new} new link(s)) in {out}; each link works once, "
                      f"within {INVITE_TTL.days} days")
        if problems:
            raise typer.Exit(1)
