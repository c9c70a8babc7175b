"""`course users add|reset|list`: staff accounts of the web app and their one-time links."""

from __future__ import annotations

import typer

from app.cli.common import console, course_and_gradebook, user_errors
from app.cli.invite_cmd import invitation_link
from autograder.core.errors import UserError

app = typer.Typer(no_args_is_help=True, help="Web app accounts (staff).")

STAFF = ("instructor", "ta")


@app.command("add")
def add_command(ctx: typer.Context,
                email: str = typer.Argument(..., help="the staff member's email (their login)"),
                role: str = typer.Option(..., "--role", help="instructor or ta"),
                base_url: str = typer.Option("http://127.0.0.1:8000", "--base-url",
                                             help="where `course serve` is reached")) -> None:
    """Create a staff account; prints the one-time link that sets its password."""
    from gradebook.users import TOKEN_TTL, add_user

    with user_errors():
        if role not in STAFF:
            raise UserError(f"--role {role}: use instructor or ta (students are invited "
                            f"from the roster)")
        _, engine = course_and_gradebook(ctx)
        found, token = add_user(engine, email, role)
        console.print(f"created {found.role} account {found.email}")
        console.print(f"set the password (once, within {TOKEN_TTL.days} days) at:")
        console.print(invitation_link(base_url, token), soft_wrap=True)


@app.command("reset")
def reset_command(ctx: typer.Context,
                  email: str = typer.Argument(..., help="the account's email"),
                  base_url: str = typer.Option("http://127.0.0.1:8000", "--base-url",
                                               help="where `course serve` is reached")) -> None:
    """Print a new one-time link for an account (older links stop working)."""
    from gradebook.users import TOKEN_TTL, reset_link

    with user_errors():
        _, engine = course_and_gradebook(ctx)
        token = reset_link(engine, email)
        console.print(f"set the password (once, within {TOKEN_TTL.days} days) at:")
        console.print(invitation_link(base_url, token), soft_wrap=True)


@app.command("list")
def list_command(ctx: typer.Context) -> None:
    """Every account, its role and whether its password is set."""
    from gradebook.users import list_users

    with user_errors():
        _, engine = course_and_gradebook(ctx)
        rows = list_users(engine)
        for found, has_password in rows:
            state = "password set" if has_password else "waiting for its link"
            console.print(f"{found.email}  {found.role}  {state}")
        console.print(f"{len(rows)} account{'s' if len(rows) != 1 else ''}")
