"""The staff web app under a synthetic term: grading by question and the gradebook pages.

A copy of the real course (its config, `solutions/` and `assignments/` linked) on a
SQLite gradebook in a temporary folder, filled directly through the models with N
students x 6 modules: one submission per (student, module) whose notebook is the
module's master with its 3 written answers replaced by a distinct short Markdown answer
(with some `$math$`), and one graded run per submission. `sync_queues` makes the queues
(18 written, 6 module reports, presentation, bonus). The app runs under uvicorn in a
subprocess on 127.0.0.1; TA accounts sign in with `httpx.AsyncClient`.

Measured on the client (warm-up excluded):

1. one TA grading 3 written queues as a TA does: "next ungraded" (POST .../next) ->
   the answer page (GET) -> "submit and next" (then=next, which claims the next answer)
   -> the answer page -> "submit (save)" (then=stay) -> "next ungraded" again ...
2. `GET /gradebook` (the full table);
3. `GET /gradebook/students/{id}` for random students;
4. 4 TAs grading one queue concurrently; afterwards the graded rows are checked against
   the submits (no answer lost or graded twice).

`--profile` then runs cProfile in this process on the server-side functions behind the
slowest pages (`queues.next_ungraded`, `queues.tasks`, `export.gradebook_view`, ...)
and prints their top entries.

Usage: .venv/bin/python benchmarks/web_staff.py [--students 300] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta, timezone
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.config import Course  # noqa: E402
from autograder.course_loader import load_course  # noqa: E402
from benchmarks.live_server import CSRF, sign_in, start_server  # noqa: E402

PASSWORD = "correct horse battery staple"
SECRET = "benchmark-session-secret-" + "x" * 40
WORDS = ("variance", "gradient", "softmax", "entropy", "bound", "noise", "clipping",
         "sample", "prior", "posterior", "kernel", "rank", "error", "step", "policy")
GRADING_P95_MS = 150.0
GRADEBOOK_P95_MS = 300.0


# --- the course and its gradebook ----------------------------------------------------------

def build_course(root: Path) -> Course:
    """The real course's config in `root`, on `root/bench.db`, its folders linked."""
    config = (REPO / "course_config.py").read_text()
    config, n = re.subn(r'database_url="[^"]*"', 'database_url="sqlite:///bench.db"', config)
    assert n == 1, "course_config.py: no database_url to replace"
    (root / "course_config.py").write_text(config)
    for folder in ("solutions", "assignments"):
        (root / folder).symlink_to(REPO / folder, target_is_directory=True)
    return load_course(root / "course_config.py")


def _answer(rng: random.Random, sid: str, gid: str) -> str:
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 30)))
    k = rng.randint(2, 512)
    return (f"**{gid}** ({sid}): the {rng.choice(WORDS)} grows like $\\sqrt{{d_k}}$ "
            f"with $d_k = {k}$, so\n\n$$\\mathrm{{Var}}(q \\cdot k) = {k}$$\n\n- {words}\n"
            f"- and therefore $\\epsilon \\le {rng.random():.3f}$.\n")


def _tests_of(slug: str) -> list[str]:
    suite = (REPO / "solutions" / slug / f"test_{slug}.py").read_text()
    return re.findall(r"^def (test_\w+)", suite, re.MULTILINE) or ["test_all"]


def fill_gradebook(course: Course, engine, students: int, rng: random.Random) -> int:
    """N students, one submission and one graded run per (student, module); returns the
    number of submissions."""
    from sqlalchemy.orm import Session

    from gradebook.models import Blob, GradingRun, Student, Submission
    from gradebook.written import written_questions, load_master

    ids = [f"s{i:04d}" for i in range(students)]
    with Session(engine) as session, session.begin():
        session.add_all(Student(id=sid, name=f"Student {sid[1:]}", email=f"{sid}@uni.de")
                        for sid in ids)
    count = 0
    for spec in course.modules:
        master = json.loads((course.root / "solutions" / spec.slug / f"{spec.slug}.ipynb")
                            .read_text())
        gids = {q.grade_id for q in written_questions(load_master(course, spec.slug))}
        tests = _tests_of(spec.slug)
        per_test = spec.autograded_points / len(tests)
        when = course.due_at(spec.slug).astimezone(timezone.utc) - timedelta(days=2)
        with Session(engine) as session, session.begin():
            for sid in ids:
                nb = json.loads(json.dumps(master))
                for cell in nb["cells"]:
                    gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                    if gid in gids:
                        cell["source"] = _answer(rng, sid, gid)
                content = json.dumps(nb, indent=1).encode()
                sha = hashlib.sha256(content).hexdigest()
                session.add(Blob(sha256=sha, content=content, size=len(content)))
                session.add(Submission(student_id=sid, slug=spec.slug, sha256=sha, attempt=1,
                                       submitted_at=when - timedelta(minutes=rng.randint(0, 5000)),
                                       time_source="collected", source_name=f"{sid}.ipynb"))
                results = []
                for name in tests:
                    passed = rng.random() < 0.85
                    results.append({"name": name, "status": "passed" if passed else "failed",
                                    "score": per_test if passed else 0.0,
                                    "max_score": per_test,
                                    "output": "" if passed else "AssertionError: mismatch"})
                score = sum(t["score"] for t in results)
                session.add(GradingRun(slug=spec.slug, sha256=sha, suite_hash="b" * 64,
                                       status="graded", score=score,
                                       max_score=float(spec.autograded_points),
                                       result={"tests": results, "score": score}, log=""))
                count += 1
    return count


def add_tas(engine, n: int) -> list[str]:
    from gradebook.users import add_user, set_password_with_token

    emails = []
    for i in range(n):
        email = f"ta{i + 1}@uni.de"
        _, token = add_user(engine, email, "ta")
        set_password_with_token(engine, token, PASSWORD)
        emails.append(email)
    return emails


# --- the server (a subprocess running this file with --serve) ------------------------------

def serve(config: Path, port: int) -> None:
    import uvicorn

    from app.web.main import create_app
    from app.web.settings import WebSettings
    from gradebook.store import open_engine

    course = load_course(config)
    engine = open_engine(course.resolved_database_url())
    app = create_app(course, engine, WebSettings(secret=SECRET))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# --- the client ----------------------------------------------------------------------------

@dataclass
class Stats:
    times: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    measuring: bool = True

    def add(self, action: str, ms: float, ok: bool) -> None:
        self.requests += 1
        if not self.measuring:
            return
        self.times.setdefault(action, []).append(ms)
        self.errors.setdefault(action, 0)
        if not ok:
            self.errors[action] += 1


class Budget:
    def __init__(self, seconds: float, max_requests: int, stats: Stats) -> None:
        self.deadline = time.monotonic() + seconds
        self.max_requests = max_requests
        self.stats = stats

    def left(self) -> bool:
        return time.monotonic() < self.deadline and self.stats.requests < self.max_requests


class TA:
    def __init__(self, base: str, email: str, stats: Stats) -> None:
        import httpx

        self.client = httpx.AsyncClient(base_url=base, follow_redirects=False, timeout=60)
        self.email = email
        self.stats = stats
        self.csrf = ""

    async def call(self, action: str, method: str, url: str, **kw):
        start = time.perf_counter()
        response = await self.client.request(method, url, **kw)
        ms = (time.perf_counter() - start) * 1000
        self.stats.add(action, ms, 200 <= response.status_code < 400)
        found = CSRF.search(response.text) if response.status_code == 200 else None
        if found:
            self.csrf = found.group(1)
        return response

    async def sign_in(self) -> None:
        self.csrf = await sign_in(self.client, self.email, PASSWORD, "/grading")

    async def next_ungraded(self, qid: int) -> str | None:
        r = await self.call("next ungraded", "POST", f"/grading/{qid}/next",
                            data={"csrf_token": self.csrf})
        location = r.headers.get("location", "")
        return location if "/answers/" in location else None

    async def open(self, url: str) -> bool:
        r = await self.call("answer page GET", "GET", url)
        return r.status_code == 200

    async def submit(self, url: str, items: list[int], then: str, rng: random.Random):
        action = "submit and next" if then == "next" else "submit (save)"
        data = {"item": [str(i) for i in items], "adjustment": rng.choice(["", "", "0.5"]),
                "comment": f"Graded by {self.email}: see the rubric.", "then": then,
                "csrf_token": self.csrf}
        r = await self.call(action, "POST", url, data=data)
        location = r.headers.get("location", "")
        return r.status_code, (location if "/answers/" in location and "?" not in location
                               else None)

    async def close(self) -> None:
        await self.client.aclose()


def pick_items(parts, rng: random.Random) -> list[int]:
    """1-2 rubric items, at most one fixed item per part."""
    chosen: list[int] = []
    for part in rng.sample(list(parts), k=len(parts)):
        if not part.items or len(chosen) >= rng.choice((1, 2)):
            continue
        chosen.append(rng.choice(part.items).id)
    return chosen


async def grade_queue(ta: TA, qid: int, items_of, n: int, budget: Budget,
                      rng: random.Random, graded: list[str]) -> int:
    """Grade up to n answers: next -> page -> submit&next -> page -> save -> next ..."""
    done = 0
    url = await ta.next_ungraded(qid)
    while url and done < n and budget.left():
        await ta.open(url)
        status, following = await ta.submit(url, items_of(qid, rng), "next", rng)
        if status == 303:
            graded.append(url)
        done += 1
        if not following or done >= n or not budget.left():
            break
        await ta.open(following)
        status, _ = await ta.submit(following, items_of(qid, rng), "stay", rng)
        if status == 303:
            graded.append(following)
        done += 1
        url = await ta.next_ungraded(qid)
    return done


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def run_client(args, course: Course, engine, base: str, tas: list[str]) -> dict:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from gradebook import marking, queues
    from gradebook.models import AnswerGrade

    rng = random.Random(7)
    written = [q for q in queues.queues(engine) if q.component == "written"]
    by_module: dict[str, list] = {}
    for q in written:
        by_module.setdefault(q.slug, []).append(q)
    firsts = [qs[0] for qs in by_module.values()]
    warm_q, measured_qs, shared_q = firsts[0], firsts[1:4], firsts[4]
    parts = {q.id: marking.rubric_of(engine, q.id) for q in written}

    def items_of(qid: int, r: random.Random) -> list[int]:
        return pick_items(parts[qid], r)

    stats = Stats()
    budget = Budget(args.seconds, args.max_requests, stats)
    out: dict = {"stats": stats, "phases": {}}
    one = TA(base, tas[0], stats)
    await one.sign_in()
    sids = [f"s{i:04d}" for i in range(args.students)]

    # warm-up: nothing here is measured
    stats.measuring = False
    await grade_queue(one, warm_q.id, items_of, 6, budget, rng, [])
    for _ in range(2):
        await one.call("gradebook", "GET", "/gradebook")
        await one.call("student", "GET", f"/gradebook/students/{rng.choice(sids)}")
    stats.measuring = True

    # 1. one TA grading three queues
    start = time.monotonic()
    per_queue = -(-args.answers // len(measured_qs))
    total = 0
    for q in measured_qs:
        total += await grade_queue(one, q.id, items_of, per_queue, budget, rng, [])
    out["phases"]["grading"] = (total, time.monotonic() - start)

    # 2. the full gradebook
    start = time.monotonic()
    for _ in range(args.gradebook):
        if not budget.left():
            break
        await one.call("GET /gradebook", "GET", "/gradebook")
    out["phases"]["gradebook"] = (None, time.monotonic() - start)

    # 3. one student's record
    start = time.monotonic()
    for _ in range(args.student_pages):
        if not budget.left():
            break
        await one.call("GET /gradebook/students/{id}", "GET",
                       f"/gradebook/students/{rng.choice(sids)}")
    out["phases"]["students"] = (None, time.monotonic() - start)
    await one.close()

    # 4. four TAs on one queue at once
    cstats = Stats()
    cbudget = Budget(max(5.0, budget.deadline - time.monotonic()), args.max_requests, cstats)
    team = [TA(base, email, cstats) for email in tas[:args.tas]]
    await asyncio.gather(*(ta.sign_in() for ta in team))
    submitted: list[list[str]] = [[] for _ in team]
    share = -(-args.concurrent_answers // len(team))
    start = time.monotonic()
    await asyncio.gather(*(grade_queue(ta, shared_q.id, items_of, share, cbudget,
                                       random.Random(i), submitted[i])
                           for i, ta in enumerate(team)))
    out["phases"]["concurrent"] = (sum(map(len, submitted)), time.monotonic() - start)
    await asyncio.gather(*(ta.close() for ta in team))
    all_urls = [u for urls in submitted for u in urls]
    owners: dict[str, list[str]] = {}
    for ta, urls in zip(team, submitted):
        for u in urls:
            owners.setdefault(u, []).append(ta.email)
    twice = {u.rsplit("/", 1)[-1]: who for u, who in owners.items() if len(who) > 1}
    with Session(engine) as session:
        rows = session.scalar(select(func.count()).select_from(AnswerGrade).where(
            AnswerGrade.queue_id == shared_q.id, AnswerGrade.status == "graded"))
        graders = session.scalar(select(func.count(func.distinct(AnswerGrade.grader))).where(
            AnswerGrade.queue_id == shared_q.id))
    submits = sum(len(v) for k, v in cstats.times.items() if k.startswith("submit"))
    failed_submits = sum(v for k, v in cstats.errors.items() if k.startswith("submit"))
    out["concurrent"] = dict(stats=cstats, rows=rows, submits=submits, ok=len(all_urls),
                             failed=failed_submits, distinct=len(set(all_urls)),
                             graders=graders, twice=twice,
                             queue=queues.queue_title(course, shared_q))
    out["queues"] = [queues.queue_title(course, q) for q in measured_qs]
    return out


# --- profiling the server-side functions ---------------------------------------------------

def profile(course: Course, engine, console: Console, students: int) -> None:
    import cProfile
    import io
    import pstats

    from app.web.routers.gradebook import _rows, _student_record, _student
    from app.web.routers.grading import _content
    from gradebook import queues
    from gradebook.export import gradebook_view

    q = [q for q in queues.queues(engine) if q.component == "written"][-1]
    ordered = queues.tasks(course, engine, q)
    calls = {
        "queues.tasks (one written queue)": lambda: queues.tasks(course, engine, q),
        "queues.next_ungraded": lambda: queues.next_ungraded(course, engine, q, "prof@uni.de"),
        "grading._content (answer page body)": lambda: _content(course, engine, q, ordered[0]),
        "export.gradebook_view": lambda: gradebook_view(course, engine),
        "gradebook._rows (table page)": lambda: _rows(course, engine, ""),
        "gradebook._student_record": lambda: _student_record(
            course, engine, _student(engine, f"s{students // 2:04d}")),
    }
    for name, call in calls.items():
        call()  # warm
        runs = 5
        prof = cProfile.Profile()
        start = time.perf_counter()
        prof.enable()
        for _ in range(runs):
            call()
        prof.disable()
        ms = (time.perf_counter() - start) * 1000 / runs
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(18)
        console.rule(f"{name}: {ms:.1f} ms/call (profiled)")
        lines = buf.getvalue().splitlines()
        body = [line for line in lines if line.strip()][3:]
        console.print("\n".join(body[:24]), markup=False, highlight=False)


# --- main ------------------------------------------------------------------------------------

def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(Path(sys.argv[2]), int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="time cap of the measured phases")
    parser.add_argument("--max-requests", type=int, default=5000)
    parser.add_argument("--answers", type=int, default=200,
                        help="answers one TA grades across 3 queues")
    parser.add_argument("--gradebook", type=int, default=30)
    parser.add_argument("--student-pages", type=int, default=100)
    parser.add_argument("--tas", type=int, default=4)
    parser.add_argument("--concurrent-answers", type=int, default=120)
    parser.add_argument("--profile", action="store_true",
                        help="afterwards, cProfile the server-side functions")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    console = Console(width=140)
    began = time.monotonic()
    rng = random.Random(300)
    tmp = Path(tempfile.mkdtemp(prefix="fdl-web-staff-"))
    proc = None
    try:
        from gradebook import queues
        from gradebook.store import open_gradebook

        course = build_course(tmp)
        engine = open_gradebook(course)
        t0 = time.monotonic()
        subs = fill_gradebook(course, engine, args.students, rng)
        made = queues.sync_queues(course, engine)
        tas = add_tas(engine, max(1, args.tas))
        setup_s = time.monotonic() - t0
        counts: dict[str, int] = {}
        for q in queues.queues(engine):
            counts[q.component] = counts.get(q.component, 0) + 1
        console.print(f"gradebook: {args.students} students, {subs} submissions, {made} "
                      f"queues ({', '.join(f'{v} {k}' for k, v in counts.items())}); "
                      f"built in {setup_s:.1f} s; "
                      f"{(tmp / 'bench.db').stat().st_size / 2**20:.0f} MiB")
        proc, base = start_server(__file__, tmp / "course_config.py")
        out = asyncio.run(run_client(args, course, engine, base, tas))
        proc.terminate()
        proc.wait(10)
        proc = None
        report(console, args, out, time.monotonic() - began)
        if args.profile:
            profile(course, engine, console, args.students)
            console.print(f"total with profiling: {time.monotonic() - began:.1f} s")
    finally:
        if proc is not None:
            proc.kill()
        if args.keep:
            console.print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def report(console: Console, args, out: dict, total_s: float) -> None:
    grading_actions = ("next ungraded", "answer page GET", "submit and next", "submit (save)")
    targets = {a: GRADING_P95_MS for a in grading_actions}
    targets["GET /gradebook"] = GRADEBOOK_P95_MS
    table = Table(title=f"staff web app: {args.students} students x 6 modules, "
                        f"{os.cpu_count()} cores, 1 uvicorn worker")
    for col in ("action", "requests", "p50 ms", "p95 ms", "max ms", "errors",
                "target p95", "result"):
        table.add_column(col, justify="left" if col == "action" else "right")

    def rows(stats: Stats, suffix: str = "") -> None:
        for action, times in stats.times.items():
            target = targets.get(action)
            p95 = percentile(times, 0.95)
            verdict = "" if target is None else ("pass" if p95 < target else "[red]miss[/red]")
            table.add_row(action + suffix, str(len(times)), f"{percentile(times, 0.5):.1f}",
                          f"{p95:.1f}", f"{max(times):.1f}", str(stats.errors[action]),
                          "—" if target is None else f"< {target:.0f} ms", verdict)

    rows(out["stats"])
    c = out["concurrent"]
    rows(c["stats"], f" ({args.tas} TAs)")
    console.print(table)
    phases = out["phases"]
    n, s = phases["grading"]
    console.print(f"one TA: {n} answers graded in {s:.1f} s on {', '.join(out['queues'])}")
    n, s = phases["concurrent"]
    console.print(f"{args.tas} TAs on {c['queue']}: {n} answers in {s:.1f} s "
                  f"({n / s if s else 0:.1f} answers/s)")
    lost = c["distinct"] - c["rows"]
    duplicated = c["ok"] - c["distinct"]
    verdict = ("lost/duplicated: 0" if lost == 0 and duplicated == 0 and c["failed"] == 0
               else f"lost/duplicated: lost {lost}, duplicated {duplicated}, "
                    f"non-303 submits {c['failed']}")
    console.print(f"concurrency check: {c['submits']} submits, {c['ok']} answered 303, "
                  f"{c['distinct']} distinct answers, {c['rows']} graded AnswerGrade rows, "
                  f"{c['graders']} graders -> {verdict}")
    for handle, who in c["twice"].items():
        console.print(f"  answer {handle} was submitted by {', '.join(who)}")
    console.print(f"N = {args.students}, cores = {os.cpu_count()}, total time {total_s:.1f} s")


if __name__ == "__main__":
    main()
