"""The web app served for a benchmark: a uvicorn subprocess on a free 127.0.0.1 port.

A benchmark script re-runs itself as `SCRIPT --serve CONFIG PORT` in the subprocess (so
the server holds its own interpreter lock); `start_server` starts that and waits until
the sign-in page answers.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def start_server(script: str, config: Path, log: Path | None = None
                 ) -> tuple[subprocess.Popen, str]:
    """(the server process, its base URL); SystemExit when it does not come up in 60 s."""
    import httpx

    port = free_port()
    out = log.open("wb") if log is not None else None
    proc = subprocess.Popen([sys.executable, script, "--serve", str(config), str(port)],
                            env=child_env(), stdout=out,
                            stderr=subprocess.STDOUT if out else None)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text()[-2000:] if log is not None else ""
            raise SystemExit(f"the server exited with {proc.returncode} {tail}".strip())
        try:
            if httpx.get(base + "/login", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not answer within 60 s")


CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


async def sign_in(client, email: str, password: str, home: str) -> str:
    """Sign an httpx.AsyncClient in; returns the new session's CSRF token (read from
    `home`, a page the account may open)."""
    login = await client.get("/login")
    token = CSRF.search(login.text).group(1)
    answer = await client.post("/login", data={"email": email, "password": password,
                                               "csrf_token": token})
    assert answer.status_code == 303, (answer.status_code, answer.text[:300])
    page = await client.get(home)
    assert page.status_code == 200, page.status_code
    return CSRF.search(page.text).group(1)
