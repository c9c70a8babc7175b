"""A deadline rush on the student portal: N students upload within a window, then the
queue drains.

A copy of the tiny course (`tests/fixtures/tinycourse`) in a temporary folder, its module
open now (term_start = this week's Monday), `portal=PortalConfig(gradings_per_hour=1000,
pending_beyond_limit=0)` so the hourly limit defers nothing; a roster of N students, each
with an account (`invite_students` + `set_password_with_token`, argon2 hashing in a
process pool: timed and reported as setup). The web app runs under uvicorn in a
subprocess on 127.0.0.1 (`course serve --no-worker`'s app); N `httpx.AsyncClient`s sign
in (at most 20 at a time; timed apart from the rush).

The rush (`--mode`): `burst` (the default) starts every upload at once, *as fast as
possible* with at most `--concurrency` in flight, and checks that all are answered
within the window; `spread` schedules student i's upload at i x window / N seconds (in a
shuffled order), *evenly over the window*. Burst is the one that builds a backlog: with
uploads spread over 60 s the workers keep up on a few cores, so the drain's rate
cannot be compared with `course grade`'s (the table says n/a). Each student sends a distinct notebook (the master with a per-student comment;
about 80% correct, 15% partly wrong, 5% broken, as in `benchmarks/load.py`) to
`POST /modules/tiny/submissions` (multipart `notebook` + `csrf_token`) and, as a browser
does, then GETs the page the 303 points to (timed apart). The workers start with the
rush (*during* it, as `course serve` runs them): subprocesses calling
`app.worker.run_worker(workers=-j)` as `course worker -j J` does, stopped by the
benchmark (SIGTERM -> their stop event) once no job is queued or being graded.

Afterwards SQL checks every acknowledged (303) upload: a Submission with the sha256 that
was sent and a done GradingJob; one GradingRun per (slug, sha256, suite_hash); one done
job per submission; and the gradings the workers ran against the distinct contents.

The drain's seconds per submission (jobs finished after the last upload was answered,
over the time from then to the last job's end) are compared with `course grade`'s:
`app.grading.grade_batch` (local executor, workers = processes x -j) on a fresh gradebook
of the same backend holding the same notebooks, run after the drain.

Two configurations: SQLite with one worker process, PostgreSQL with two (a throw-away
cluster made with initdb/pg_ctl, as the `postgres` user when root; skipped with the
reason when the server programs or psycopg are missing).

Usage: .venv/bin/python benchmarks/deadline_rush.py [--students 300] [--window 60]
       [--skip-postgres] [--mode burst|spread] [--jobs 2] [--concurrency 32] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import hashlib
import json
import os
import pwd
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.cli.serve_cmd import niced  # noqa: E402
from autograder.config import Course  # noqa: E402
from autograder.course_loader import load_course  # noqa: E402
from benchmarks.load import student_variant  # noqa: E402
from benchmarks.live_server import child_env, free_port, sign_in, start_server  # noqa: E402

TINY = REPO / "tests" / "fixtures" / "tinycourse"
SLUG = "tiny"
PASSWORD = "correct horse battery staple"
SECRET = "benchmark-session-secret-" + "x" * 40
UPLOAD_P99_MS = 1000.0
RATE_TOLERANCE = 0.10
SIGNIN_CONCURRENCY = 20
PG_SUPERUSER = "postgres"


# --- the course ------------------------------------------------------------------------------

def this_monday(tz: str) -> date:
    today = datetime.now(ZoneInfo(tz)).date()
    return today - timedelta(days=today.weekday())


def build_course(root: Path, database_url: str) -> Course:
    """The tiny course in `root`, open now, on `database_url`, no hourly limit in the way."""
    shutil.copytree(TINY, root, dirs_exist_ok=True)
    config = (TINY / "course_config.py").read_text()
    tz = re.search(r'timezone="([^"]+)"', config).group(1)
    monday = this_monday(tz)
    replacements = [
        (r"from autograder\.config import ([^\n]+)", r"from autograder.config import \1, PortalConfig"),
        (r"term_start=date\([^)]*\)", f"term_start=date({monday.year}, {monday.month}, {monday.day})"),
        (r'database_url="[^"]*",', f'database_url="{database_url}",\n    portal=PortalConfig('
                                   f'gradings_per_hour=1000, pending_beyond_limit=0),'),
        (r"release_week=\d+", "release_week=1"),
    ]
    for pattern, new in replacements:
        config, n = re.subn(pattern, new, config, count=1)
        assert n == 1, f"tinycourse/course_config.py: no {pattern!r} to replace"
    (root / "course_config.py").write_text(config)
    return load_course(root / "course_config.py")


def make_notebooks(students: list[str], rng: random.Random) -> dict[str, bytes]:
    """A distinct notebook per student (as benchmarks/load.py makes them)."""
    master = json.loads((TINY / "solutions" / SLUG / f"{SLUG}.ipynb").read_text())
    return {sid: json.dumps(student_variant(master, sid, rng)).encode() for sid in students}


def write_roster(root: Path, students: list[str]) -> Path:
    path = root / "roster.csv"
    path.write_text("id,name,email\n" + "".join(
        f"{s},Student {s},{s}@uni.de\n" for s in students))
    return path


_pool_engine = None


def _pool_init(url: str) -> None:
    global _pool_engine
    from gradebook.store import open_engine

    _pool_engine = open_engine(url)


def _pool_set_password(token: str) -> None:
    from gradebook.users import set_password_with_token

    set_password_with_token(_pool_engine, token, PASSWORD)


def make_accounts(course: Course, engine, roster: Path) -> tuple[list[str], float]:
    """Roster, invitations, passwords (argon2 in a process pool); (emails, seconds)."""
    from gradebook.roster import import_roster
    from gradebook.users import invite_students

    start = time.monotonic()
    import_roster(engine, roster)
    invitations, problems = invite_students(engine)
    assert not problems, problems
    with ProcessPoolExecutor(os.cpu_count() or 2, initializer=_pool_init,
                             initargs=(course.resolved_database_url(),)) as pool:
        list(pool.map(_pool_set_password, [i.token for i in invitations], chunksize=8))
    return [i.email for i in invitations], time.monotonic() - start


# --- PostgreSQL (the minimal logic of tests/test_postgres.py) --------------------------------

def pg_program(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(x) for x in Path(path).parent.parent.name.split(".") if x.isdigit())

    return max(candidates, key=version) if candidates else None


def _tail(text: str, lines: int = 3) -> str:
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(kept[-lines:]) or "(no output)"


class PgCluster:
    """A private PostgreSQL server on 127.0.0.1 in a temporary folder. `start()` returns
    None or the reason it cannot run here."""

    def __init__(self) -> None:
        self.base: Path | None = None
        self.port = 0
        self.started = False
        self.prefix: list[str] = []

    def start(self) -> str | None:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            return "psycopg is not installed (pip install 'psycopg[binary]')"
        initdb, self.pg_ctl = pg_program("initdb"), pg_program("pg_ctl")
        if initdb is None or self.pg_ctl is None:
            return ("PostgreSQL server programs (initdb, pg_ctl) not found on PATH or in "
                    "/usr/lib/postgresql/*/bin (apt-get install -y postgresql)")
        owner = None
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                return "running as root and there is no 'postgres' user to run initdb as"
            if shutil.which("runuser"):
                self.prefix = ["runuser", "-u", owner.pw_name, "--"]
            elif shutil.which("setpriv"):
                self.prefix = ["setpriv", f"--reuid={owner.pw_uid}", f"--regid={owner.pw_gid}",
                               "--init-groups", "--"]
            else:
                return "running as root and neither runuser nor setpriv is available"
        self.base = Path(tempfile.mkdtemp(prefix="fdl-rush-pg-"))
        self.data, sockets, log = self.base / "data", self.base / "sockets", self.base / "server.log"
        sockets.mkdir()
        if owner is not None:
            for path in (self.base, sockets):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        made = self._run(initdb, "-D", str(self.data), "-U", PG_SUPERUSER, "--auth=trust",
                         "--encoding=UTF8", "--locale=C", "--no-sync")
        if made.returncode != 0:
            return f"initdb failed (exit {made.returncode}): {_tail(made.stderr + made.stdout)}"
        for _ in range(3):
            self.port = free_port()
            # durability off as in the tests: a benchmark cluster, not a course's server
            options = (f"-p {self.port} -k {sockets} -c listen_addresses=127.0.0.1 "
                       f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                       f"-c max_connections=200")
            started = self._run(self.pg_ctl, "-D", str(self.data), "-l", str(log), "-o",
                                options, "-w", "-t", "60", "start")
            if started.returncode == 0:
                self.started = True
                return None
        server_log = log.read_text(errors="replace") if log.exists() else ""
        return (f"PostgreSQL did not start (pg_ctl exit {started.returncode}): "
                f"{_tail(started.stderr + started.stdout + server_log)}")

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*self.prefix, *args], cwd=self.base, capture_output=True,
                              text=True, timeout=120, check=False)

    def database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=PG_SUPERUSER,
                             dbname="postgres", autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://{PG_SUPERUSER}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.started:
            self._run(self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")
        if self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)


# --- subprocesses: the server and the workers (this file with --serve / --worker) -----------

def serve(config: Path, port: int) -> None:
    import uvicorn

    from app.web.main import create_app
    from app.web.settings import WebSettings
    from gradebook.store import open_gradebook

    course = load_course(config)
    engine = open_gradebook(course)  # as `course serve` opens it
    app = create_app(course, engine, WebSettings(secret=SECRET))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def worker(config: Path, jobs: int) -> None:
    """`course worker -j J` (run_worker as the command calls it); SIGTERM sets the stop
    event (the loop ends after the batch in hand) and the summary is printed as JSON."""
    from app.worker import run_worker
    from gradebook.store import open_gradebook

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    course = load_course(config)
    engine = open_gradebook(course)
    summary = run_worker(course, engine, workers=jobs, stop=stop,
                         note=lambda line: print(f"NOTE {line}", flush=True))
    print("SUMMARY " + json.dumps(dict(graded=summary.graded, reused=summary.reused,
                                       failed=summary.failed, lost=summary.lost,
                                       seconds=summary.seconds)), flush=True)


def start_worker(config: Path, jobs: int, log: Path) -> subprocess.Popen:
    # at the priority `course serve` gives its worker
    return subprocess.Popen(niced([sys.executable, __file__, "--worker", str(config), str(jobs)]),
                            env=child_env(), stdout=log.open("wb"), stderr=subprocess.STDOUT)


def stop_process(proc: subprocess.Popen, timeout: float = 60) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- the students ----------------------------------------------------------------------------

@dataclass
class Upload:
    sid: str
    sha: str
    scheduled: float  # seconds after the rush's start
    started: float = 0.0
    ended: float = 0.0
    status: int | str = ""  # HTTP status, or the exception's name
    page_ms: float | None = None  # the GET the 303 points to

    @property
    def ms(self) -> float:
        return (self.ended - self.started) * 1000


class StudentClient:
    def __init__(self, base: str, email: str) -> None:
        import httpx

        self.client = httpx.AsyncClient(base_url=base, follow_redirects=False, timeout=60)
        self.email = email
        self.csrf = ""

    async def sign_in(self) -> float:
        start = time.perf_counter()
        self.csrf = await sign_in(self.client, self.email, PASSWORD, "/")
        return (time.perf_counter() - start) * 1000

    async def upload(self, up: Upload, content: bytes, t0: float) -> None:
        up.started = time.monotonic() - t0
        try:
            r = await self.client.post(
                f"/modules/{SLUG}/submissions", data={"csrf_token": self.csrf},
                files={"notebook": (f"{SLUG}.ipynb", content, "application/x-ipynb+json")})
            up.ended = time.monotonic() - t0
            up.status = r.status_code
        except Exception as exc:  # noqa: BLE001 (a timeout or a reset is a result here)
            up.ended = time.monotonic() - t0
            up.status = type(exc).__name__
            return
        if r.status_code == 303:
            start = time.perf_counter()
            try:
                page = await self.client.get(r.headers["location"])
                if page.status_code == 200:
                    up.page_ms = (time.perf_counter() - start) * 1000
            except Exception:  # noqa: BLE001
                pass

    async def close(self) -> None:
        await self.client.aclose()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def queue_counts(engine) -> dict[str, int]:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from gradebook.models import GradingJob

    with Session(engine) as session:
        return dict(session.execute(select(GradingJob.state, func.count())
                                    .group_by(GradingJob.state)).all())


async def sign_in_all(base: str, emails: list[str]) -> tuple[list[StudentClient], list[float]]:
    gate = asyncio.Semaphore(SIGNIN_CONCURRENCY)
    clients = [StudentClient(base, email) for email in emails]

    async def one(c: StudentClient) -> float:
        async with gate:
            return await c.sign_in()

    return clients, list(await asyncio.gather(*(one(c) for c in clients)))


async def rush(args, clients: list[StudentClient], notebooks: dict[str, bytes], engine,
               start_workers) -> dict:
    """The uploads spread over the window, the workers started with them; returns when the
    queue is drained (nothing queued or being graded) or the drain time cap is hit."""
    rng = random.Random(60)
    order = list(range(len(clients)))
    rng.shuffle(order)
    gate = asyncio.Semaphore(args.concurrency)
    uploads: list[Upload] = []
    samples: list[tuple[float, dict[str, int]]] = []
    t0 = time.monotonic()
    wall0 = datetime.now(timezone.utc)

    async def one(slot: int, i: int) -> None:
        c = clients[i]
        sid = c.email.split("@")[0]
        up = Upload(sid, hashlib.sha256(notebooks[sid]).hexdigest(),
                    slot * args.window / len(clients) if args.mode == "spread" else 0.0)
        uploads.append(up)
        await asyncio.sleep(max(0.0, t0 + up.scheduled - time.monotonic()))
        async with gate:
            await c.upload(up, notebooks[sid], t0)

    tasks = [asyncio.create_task(one(slot, i)) for slot, i in enumerate(order)]
    procs = start_workers()  # during the rush, as `course serve` runs its worker
    all_sent = asyncio.gather(*tasks)
    drained_at = None
    while True:
        await asyncio.sleep(0.5)
        counts = await asyncio.to_thread(queue_counts, engine)
        now = time.monotonic() - t0
        samples.append((now, counts))
        if all_sent.done() and counts.get("queued", 0) + counts.get("grading", 0) == 0:
            drained_at = now
            break
        if now > args.window + args.drain_cap:
            break
        if any(p.poll() is not None for p in procs):
            break  # a worker died: stop measuring, the report says so
    await all_sent
    return dict(uploads=uploads, samples=samples, drained_at=drained_at, t0_wall=wall0,
                procs=procs)


# --- checks ----------------------------------------------------------------------------------

def verify(engine, uploads: list[Upload]) -> dict:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from gradebook.models import GradingJob, GradingRun, Submission

    acked = {(u.sid, u.sha) for u in uploads if u.status == 303}
    with Session(engine) as session:
        subs = {(s.student_id, s.sha256): s.id for s in session.scalars(
            select(Submission).where(Submission.slug == SLUG))}
        done_jobs = dict(session.execute(
            select(GradingJob.submission_id, func.count()).where(GradingJob.state == "done")
            .group_by(GradingJob.submission_id)).all())
        states = dict(session.execute(select(GradingJob.state, func.count())
                                      .group_by(GradingJob.state)).all())
        runs_per = session.execute(
            select(GradingRun.sha256, GradingRun.suite_hash, func.count())
            .where(GradingRun.slug == SLUG)
            .group_by(GradingRun.sha256, GradingRun.suite_hash)).all()
        jobs = list(session.execute(select(GradingJob.created_at, GradingJob.finished_at,
                                           GradingJob.state)))
    no_sub = [k for k in acked if k not in subs]
    no_done = [k for k in acked if k in subs and done_jobs.get(subs[k], 0) == 0]
    return dict(acked=len(acked), no_sub=no_sub, no_done=no_done,
                unacked_stored=len(set(subs) - acked),
                runs_twice=sum(1 for *_, n in runs_per if n > 1), runs=len(runs_per),
                distinct=len({sha for sha, *_ in runs_per}),
                done_twice=sum(1 for n in done_jobs.values() if n > 1), states=states,
                jobs=jobs)


def worker_summaries(logs: list[Path]) -> tuple[list[dict], list[str]]:
    summaries, notes = [], []
    for log in logs:
        text = log.read_text(errors="replace") if log.exists() else ""
        for line in text.splitlines():
            if line.startswith("SUMMARY "):
                summaries.append(json.loads(line[len("SUMMARY "):]))
            elif line.startswith("NOTE "):
                notes.append(line[len("NOTE "):])
        if not any(line.startswith("SUMMARY ") for line in text.splitlines()):
            notes.append(f"{log.name}: no summary; tail: {_tail(text, 4)}")
    return summaries, notes


def reference_rate(root: Path, url: str, students: list[str], notebooks: dict[str, bytes],
                   workers: int) -> dict:
    """`course grade`'s rate: grade_batch on a fresh gradebook holding the same notebooks."""
    from app.grading import grade_batch
    from gradebook.collect import collect
    from gradebook.roster import import_roster
    from gradebook.store import open_gradebook

    course = build_course(root, url)
    engine = open_gradebook(course)
    try:
        import_roster(engine, write_roster(root, students))
        folder = root / "batch"
        folder.mkdir()
        for sid in students:
            (folder / f"{sid}.ipynb").write_bytes(notebooks[sid])
        collect(engine, SLUG, folder)
        start = time.monotonic()
        summary = grade_batch(course, engine, SLUG, workers=workers)
        wall = time.monotonic() - start
    finally:
        engine.dispose()
    return dict(graded=summary.graded, failed=len(summary.failed), wall=wall,
                seconds=summary.seconds, per=wall / max(1, summary.graded))


# --- one configuration -----------------------------------------------------------------------

def run_config(args, label: str, processes: int, url_of, tmp: Path, students: list[str],
               notebooks: dict[str, bytes], console: Console) -> dict:
    from app.worker import unsandboxed_refusal
    from gradebook.store import open_gradebook

    root = tmp / label.lower()
    course = build_course(root, url_of("rush"))
    reason = unsandboxed_refusal(course)
    if reason:
        raise SystemExit(f"the worker cannot grade here: {reason}")
    engine = open_gradebook(course)
    emails, accounts_s = make_accounts(course, engine, write_roster(root, students))
    console.print(f"[{label}] {len(emails)} accounts in {accounts_s:.1f} s "
                  f"(roster, invitations, argon2 in {os.cpu_count()} processes)")
    proc = None
    procs: list[subprocess.Popen] = []
    logs = [root / f"worker{k + 1}.log" for k in range(processes)]
    config = root / "course_config.py"
    try:
        proc, base = start_server(__file__, config, root / "server.log")

        async def client_side() -> dict:
            t = time.monotonic()
            clients, signin_ms = await sign_in_all(base, emails)
            signin_s = time.monotonic() - t
            console.print(f"[{label}] {len(clients)} students signed in in {signin_s:.1f} s "
                          f"(p50 {percentile(signin_ms, 0.5):.0f} ms, {SIGNIN_CONCURRENCY} "
                          f"at a time); the rush starts")

            def start_workers() -> list[subprocess.Popen]:
                procs.extend(start_worker(config, args.jobs, log) for log in logs)
                return procs

            try:
                out = await rush(args, clients, notebooks, engine, start_workers)
            finally:
                await asyncio.gather(*(c.close() for c in clients))
            out.update(signin_s=signin_s, signin_ms=signin_ms)
            return out

        out = asyncio.run(client_side())
        for p in procs:
            stop_process(p)
        stop_process(proc, 10)
        proc = None
        out["workers_rc"] = [p.returncode for p in procs]
        out["check"] = verify(engine, out["uploads"])
        out["summaries"], out["notes"] = worker_summaries(logs)
        server_log = (root / "server.log").read_text(errors="replace")
        out["server_errors"] = [line for line in server_log.splitlines()
                                if "Error" in line or "Traceback" in line][:8]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        if proc is not None:
            proc.kill()
        engine.dispose()
    console.print(f"[{label}] drained; measuring course grade (grade_batch, "
                  f"{processes * args.jobs} workers) on a fresh gradebook")
    out["reference"] = reference_rate(tmp / f"{label.lower()}-grade", url_of("grade"),
                                      students, notebooks, processes * args.jobs)
    out.update(label=label, processes=processes, accounts_s=accounts_s)
    return out


# --- the report ------------------------------------------------------------------------------

def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def drain_numbers(out: dict) -> dict:
    """Seconds after the rush's start: last upload answered, last job done; the drain's
    seconds per submission over the jobs finished after the last upload was answered."""
    uploads = out["uploads"]
    t0 = out["t0_wall"]
    last_answer = max(u.ended for u in uploads)
    finished = sorted((_aware(f) - t0).total_seconds() for _, f, state in out["check"]["jobs"]
                      if f is not None and state == "done")
    created = sorted((_aware(c) - t0).total_seconds() for c, _, _ in out["check"]["jobs"])
    last_done = finished[-1] if finished else float("nan")
    after = [f for f in finished if f > last_answer]
    per = (last_done - last_answer) / len(after) if after else float("nan")
    # the whole drain, from the first job's creation: paced by arrivals while the
    # workers keep up, so only an upper bound of the grading time per submission
    overall = (last_done - created[0]) / len(finished) if finished and created else float("nan")
    backlog = [c.get("queued", 0) for _, c in out["samples"]]
    return dict(last_answer=last_answer, last_done=last_done, after=len(after), per=per,
                overall=overall, peak_queued=max(backlog, default=0))


def report(console: Console, args, out: dict) -> tuple[bool, str]:
    label, check, ref = out["label"], out["check"], out["reference"]
    uploads: list[Upload] = out["uploads"]
    n = len(uploads)
    acked = [u for u in uploads if u.status == 303]
    others: dict[str, int] = {}
    for u in uploads:
        if u.status != 303:
            others[str(u.status)] = others.get(str(u.status), 0) + 1
    lat = [u.ms for u in acked]
    pages = [u.page_ms for u in acked if u.page_ms is not None]
    d = drain_numbers(out)
    lost = len(check["no_sub"]) + len(check["no_done"])
    ran = sum(s["graded"] for s in out["summaries"])
    twice = check["runs_twice"] + check["done_twice"] + max(0, ran - check["distinct"])
    p99 = percentile(lat, 0.99)
    ratio = d["per"] / ref["per"] - 1 if ref["per"] else float("nan")
    drained = out["drained_at"] is not None
    backlog = d["after"] >= max(10, n // 10)  # else the workers kept up with the arrivals
    ok = dict(acked=len(acked) == n, lost=lost == 0, twice=twice == 0,
              latency=p99 < UPLOAD_P99_MS, window=d["last_answer"] <= args.window,
              drained=drained)
    if backlog:
        ok["rate"] = abs(ratio) <= RATE_TOLERANCE

    def verdict(good: bool) -> str:
        return "pass" if good else "[red]miss[/red]"

    how = ("as fast as possible" if args.mode == "burst" else f"spread over {args.window:g} s")
    table = Table(title=f"deadline rush, {label}: {n} students, {how} (<= {args.concurrency} "
                        f"in flight), "
                        f"{out['processes']} worker process(es) x -j {args.jobs}, "
                        f"{os.cpu_count()} cores")
    for col in ("measure", "value", "target", "result"):
        table.add_column(col, justify="left" if col in ("measure", "value") else "right")
    table.add_row("uploads acknowledged (303)", f"{len(acked)} / {n}"
                  + (f"  (others: {others})" if others else ""), f"{n}", verdict(ok["acked"]))
    table.add_row("lost (acked, no submission / no done job)",
                  f"{lost} ({len(check['no_sub'])} / {len(check['no_done'])})", "0",
                  verdict(ok["lost"]))
    table.add_row("graded twice (runs per content >1 / done jobs per submission >1 / "
                  "gradings run - distinct contents)",
                  f"{twice} ({check['runs_twice']} / {check['done_twice']} / "
                  f"{ran} - {check['distinct']})", "0", verdict(ok["twice"]))
    table.add_row("upload latency p50 / p95 / p99 / max",
                  f"{percentile(lat, 0.5):.0f} / {percentile(lat, 0.95):.0f} / {p99:.0f} / "
                  f"{max(lat, default=float('nan')):.0f} ms", f"p99 < {UPLOAD_P99_MS:.0f} ms",
                  verdict(ok["latency"]))
    table.add_row("module page after the 303 p50 / p95 / max",
                  f"{percentile(pages, 0.5):.0f} / {percentile(pages, 0.95):.0f} / "
                  f"{max(pages, default=float('nan')):.0f} ms", "—", "")
    table.add_row("last upload answered / queue drained",
                  f"{d['last_answer']:.1f} s / "
                  + (f"{out['drained_at']:.1f} s after the rush's start (last job done at "
                     f"{d['last_done']:.1f} s)" if drained else
                     f"[red]not drained[/red] (gave up at {out['samples'][-1][0]:.0f} s)"),
                  f"answered <= {args.window:g} s", verdict(drained and ok["window"]))
    table.add_row("peak queued (sampled every 0.5 s) / jobs finished after the last upload",
                  f"{d['peak_queued']} / {d['after']}", "—", "")
    if backlog:
        table.add_row("s per submission: drain after the last upload vs course grade",
                      f"{d['per']:.3f} vs {ref['per']:.3f} ({ratio:+.0%}); whole drain "
                      f"{d['overall']:.3f}", f"within {RATE_TOLERANCE:.0%}", verdict(ok["rate"]))
    else:
        table.add_row("s per submission: drain after the last upload vs course grade",
                      f"n/a: the workers kept up ({d['after']} jobs left at the last upload); "
                      f"whole drain {d['overall']:.3f} (arrival-paced) vs {ref['per']:.3f}",
                      f"within {RATE_TOLERANCE:.0%}", "n/a")
    table.add_row("course grade (grade_batch) on the same notebooks",
                  f"{ref['graded']} graded, {ref['failed']} errors in {ref['wall']:.1f} s "
                  f"({ref['per']:.3f} s each, workers {out['processes'] * args.jobs})", "—", "")
    states = ", ".join(f"{k} {v}" for k, v in sorted(check["states"].items()))
    table.add_row("jobs by state / unacked but stored", f"{states} / {check['unacked_stored']}",
                  "—", "")
    table.add_row("workers: graded / reused / errors / lease lost",
                  " + ".join(f"{s['graded']}/{s['reused']}/{s['failed']}/{s['lost']}"
                             for s in out["summaries"]) or "no summary", "—", "")
    table.add_row("setup: accounts / sign-in of all (p50 each)",
                  f"{out['accounts_s']:.1f} s / {out['signin_s']:.1f} s "
                  f"({percentile(out['signin_ms'], 0.5):.0f} ms)", "not measured", "")
    console.print(table)
    for note in out["notes"][:10]:
        console.print(f"  worker: {note}", markup=False, highlight=False)
    for line in out["server_errors"]:
        console.print(f"  server: {line}", markup=False, highlight=False)
    for sid, sha in (check["no_sub"] + check["no_done"])[:5]:
        console.print(f"  lost: {sid} {sha[:12]}")
    missed = [k for k, v in ok.items() if not v]
    line = (f"{label}: {len(acked)}/{n} acked, lost {lost}, twice {twice}, p99 {p99:.0f} ms, "
            f"drained at {out['drained_at'] or float('nan'):.1f} s, "
            + (f"{d['per']:.3f} vs {ref['per']:.3f} s/submission ({ratio:+.0%})" if backlog
               else "rate n/a (no backlog)")
            + (f"; missed: {', '.join(missed)}" if missed else "; all targets met"))
    return not missed, line


# --- main ------------------------------------------------------------------------------------

def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(Path(sys.argv[2]), int(sys.argv[3]))
        return
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        worker(Path(sys.argv[2]), int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--window", type=float, default=60.0,
                        help="seconds over which the uploads are spread")
    parser.add_argument("--mode", choices=("burst", "spread"), default="burst",
                        help="burst: all at once (bounded); spread: evenly over the window")
    parser.add_argument("--jobs", type=int, default=2, help="-j of each worker process")
    parser.add_argument("--concurrency", type=int, default=32,
                        help="uploads in flight at most")
    parser.add_argument("--drain-cap", type=float, default=900.0,
                        help="seconds after the window before giving up on the drain")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    console = Console(width=160)
    began = time.monotonic()
    students = [f"s{i:04d}" for i in range(args.students)]
    notebooks = make_notebooks(students, random.Random(300))
    assert len({hashlib.sha256(b).digest() for b in notebooks.values()}) == len(students)
    tmp = Path(tempfile.mkdtemp(prefix="fdl-rush-"))
    results: list[tuple[bool, str]] = []
    pg = PgCluster()
    try:
        out = run_config(args, "SQLite", 1, lambda name: f"sqlite:///{name}.db", tmp,
                         students, notebooks, console)
        results.append(report(console, args, out))
        if args.skip_postgres:
            results.append((True, "PostgreSQL: skipped (--skip-postgres)"))
        else:
            reason = pg.start()
            if reason:
                console.print(f"PostgreSQL skipped: {reason}")
                results.append((True, f"PostgreSQL: skipped ({reason})"))
            else:
                out = run_config(args, "PostgreSQL", 2, pg.database, tmp, students,
                                 notebooks, console)
                results.append(report(console, args, out))
    finally:
        pg.stop()
        if args.keep:
            console.print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    console.print("summary: " + " | ".join(line for _, line in results)
                  + f" | total {time.monotonic() - began:.0f} s on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
