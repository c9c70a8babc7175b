"""Grading by question: queues, the answer page with its rubric, rubric editing.

Staff (instructor and TA) grade and edit rubrics; only the instructor switches a queue's
anonymous mode. Answers are named by their handle (`gradebook.queues`), never by student
id, so an anonymous queue's URLs and titles do not show who wrote an answer.

Keys on the answer page (`static/js/grading.js`): 1-9, 0 apply the rubric items, n submit
and next, s save, j / k next / previous answer, c the comment, a the adjustment, x skip,
f flag, Escape leaves a text field.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from starlette.responses import RedirectResponse, Response

from app.web.deps import CourseDep, EngineDep, Instructor, SettingsDep, Staff
from app.web.pages import error_page, render
from app.web.security import csrf_protect
from autograder.core.errors import UserError
from gradebook import marking, queues
from gradebook.models import GradingQueue
from gradebook.queues import Task
from gradebook.results import counted_result
from gradebook.rubric import dump_rubric
from gradebook.scores import parse_number
from gradebook.written import NO_ANSWER, answer_cells, master_questions

router = APIRouter(prefix="/grading", dependencies=[Depends(csrf_protect)])

Text = Annotated[str, Form(max_length=marking.MAX_COMMENT + 1)]
Short = Annotated[str, Form(max_length=marking.MAX_ITEM_TEXT + 1)]
Number = Annotated[str, Form(max_length=40)]


def _queue(engine, queue_id: int) -> GradingQueue:
    try:
        return queues.get_queue(engine, queue_id)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None


def _task(course, engine, queue: GradingQueue, handle: str) -> tuple[Task, list[Task]]:
    ordered = queues.tasks(course, engine, queue)
    for task in ordered:
        if task.handle == handle:
            return task, ordered
    raise HTTPException(404, "there is no such answer in this queue")


def _points(text: str, what: str, default: float | None = None) -> float:
    if not text.strip() and default is not None:
        return default
    value = parse_number(text)
    if value is None:
        raise UserError(f"{what} {text!r} is not a number; write e.g. 1 or -0.5")
    return value


def _answer_url(queue_id: int, handle: str) -> str:
    return f"/grading/{queue_id}/answers/{handle}"


def _back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _who(queue: GradingQueue, task: Task, position: int, total: int) -> str:
    if queue.anonymous:
        return f"Answer {position} of {total}"
    return f"{task.student_id} — {task.name}" if task.name else task.student_id


# --- the queues ------------------------------------------------------------------------

@router.get("")
def index(request: Request, course: CourseDep, engine: EngineDep, me: Staff) -> Response:
    queues.sync_queues(course, engine)
    rows = []
    for queue in queues.queues(engine):
        rows.append((queue, queues.queue_title(course, queue),
                     queues.progress(course, engine, queue)))
    return render(request, "grading/index.html", title="Grading", rows=rows)


@router.get("/{queue_id}")
def queue_page(request: Request, course: CourseDep, engine: EngineDep, me: Staff,
               queue_id: int, done: str | None = None) -> Response:
    queue = _queue(engine, queue_id)
    ordered = queues.tasks(course, engine, queue)
    prog = queues.progress(course, engine, queue, ordered)
    states = queues.grades_by_student(engine, queue.id)
    parts = marking.rubric_of(engine, queue.id)
    return render(request, "grading/queue.html", title=queues.queue_title(course, queue),
                  queue=queue, tasks=ordered, states=states, progress=prog, parts=parts,
                  parts_total=marking.parts_total(parts), bank=marking.bank(engine, queue.id),
                  imported=marking.imported_students(engine, queue), done=done,
                  who=lambda t, i: _who(queue, t, i, len(ordered)))


@router.post("/{queue_id}/next")
def next_answer(course: CourseDep, engine: EngineDep, settings: SettingsDep, me: Staff,
                queue_id: int) -> Response:
    queue = _queue(engine, queue_id)
    task = queues.next_ungraded(course, engine, queue, me.email, ttl=settings.claim_ttl)
    if task is None:
        return _back(f"/grading/{queue_id}?done=all")
    return _back(_answer_url(queue_id, task.handle))


@router.post("/{queue_id}/skips/clear")
def clear_skips(engine: EngineDep, me: Staff, queue_id: int) -> Response:
    queue = _queue(engine, queue_id)
    queues.clear_skips(engine, queue.id, me.email)
    return _back(f"/grading/{queue_id}")


@router.post("/{queue_id}/anonymous")
def anonymous(engine: EngineDep, me: Instructor, queue_id: int,
              on: Annotated[str, Form(max_length=5)] = "") -> Response:
    queue = _queue(engine, queue_id)
    queues.set_anonymous(engine, queue.id, on == "1")
    return _back(f"/grading/{queue_id}")


@router.get("/{queue_id}/rubric.toml")
def export_rubric(course: CourseDep, engine: EngineDep, me: Staff, queue_id: int) -> Response:
    """The rubric file this queue's rubric belongs to, as edited here."""
    queue = _queue(engine, queue_id)
    together = [q for q in queues.queues(engine) if q.slug == queue.slug]
    text = dump_rubric(marking.export_rubric(engine, together))
    name = f"{queue.slug or 'course'}-rubric.toml"
    return Response(text, media_type="application/toml; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- one answer ------------------------------------------------------------------------

def _content(course, engine, queue: GradingQueue, task: Task) -> dict:
    """What the answer page shows beside the rubric."""
    out: dict = {"answer": None, "question": "", "model": "", "code": [], "tests": []}
    if queue.component != "written" or task.submission_id is None:
        return out
    wanted = [queue.question, *queue.code_cells]
    cells = answer_cells(engine, task.submission_id, wanted)
    out["answer"] = cells[queue.question]
    out["missing"] = out["answer"] == NO_ANSWER
    out["code"] = [(gid, cells[gid]) for gid in queue.code_cells]
    try:
        found = {q.grade_id: q for q in master_questions(course, queue.slug)}
    except UserError:
        found = {}
    if queue.question in found:
        out["question"] = found[queue.question].question
        out["model"] = found[queue.question].model_answer
    if queue.code_cells:
        result = counted_result(course, engine, task.student_id, queue.slug)
        if result is not None and result.result:
            out["tests"] = list(result.result.get("tests") or [])
    return out


@router.get("/{queue_id}/answers/{handle}")
def answer_page(request: Request, course: CourseDep, engine: EngineDep, me: Staff,
                queue_id: int, handle: str, saved: str | None = None) -> Response:
    queue = _queue(engine, queue_id)
    task, ordered = _task(course, engine, queue, handle)
    position = ordered.index(task) + 1
    holder = queues.claim_holder(engine, queue.id, task.student_id)
    grade = marking.grade_of(engine, queue.id, task.student_id)
    prev_task = ordered[position - 2] if position > 1 else None
    next_task = ordered[position] if position < len(ordered) else None
    return render(request, "grading/answer.html",
                  title=f"{queues.queue_title(course, queue)} · answer {position}",
                  queue=queue, task=task, who=_who(queue, task, position, len(ordered)),
                  position=position, total=len(ordered),
                  held_by=holder if holder and holder != me.email else None,
                  grade=grade, parts=marking.rubric_of(engine, queue.id),
                  bank=marking.bank(engine, queue.id), saved=saved,
                  imported=marking.import_override(engine, queue, task.student_id),
                  prev_url=_answer_url(queue.id, prev_task.handle) if prev_task else None,
                  next_url=_answer_url(queue.id, next_task.handle) if next_task else None,
                  content=_content(course, engine, queue, task))


@router.post("/{queue_id}/answers/{handle}")
def submit(request: Request, course: CourseDep, engine: EngineDep, settings: SettingsDep,
           me: Staff, queue_id: int,
           handle: str, item: Annotated[list[int], Form()] = [],  # noqa: B006 - FastAPI form
           adjustment: Number = "", comment: Text = "",
           then: Annotated[str, Form(max_length=10)] = "next") -> Response:
    queue = _queue(engine, queue_id)
    task, _ = _task(course, engine, queue, handle)
    try:
        marking.submit_grade(course, engine, queue, task, me.email, set(item),
                             _points(adjustment, "the adjustment", 0.0), comment)
    except marking.ClaimTaken as exc:
        return error_page(request, 409, str(exc))
    if then == "stay":
        return _back(_answer_url(queue_id, handle) + "?saved=1")
    following = queues.next_ungraded(course, engine, queue, me.email, ttl=settings.claim_ttl)
    if following is None:
        return _back(f"/grading/{queue_id}?done=all")
    return _back(_answer_url(queue_id, following.handle))


@router.post("/{queue_id}/answers/{handle}/skip")
def skip(course: CourseDep, engine: EngineDep, settings: SettingsDep, me: Staff, queue_id: int,
         handle: str) -> Response:
    queue = _queue(engine, queue_id)
    task, _ = _task(course, engine, queue, handle)
    queues.skip(engine, queue.id, task.student_id, me.email)
    following = queues.next_ungraded(course, engine, queue, me.email, ttl=settings.claim_ttl)
    if following is None:
        return _back(f"/grading/{queue_id}?done=all")
    return _back(_answer_url(queue_id, following.handle))


@router.post("/{queue_id}/answers/{handle}/release")
def release(course: CourseDep, engine: EngineDep, me: Staff, queue_id: int,
            handle: str) -> Response:
    queue = _queue(engine, queue_id)
    task, _ = _task(course, engine, queue, handle)
    queues.release(engine, queue.id, task.student_id, me.email)
    return _back(f"/grading/{queue_id}")


@router.post("/{queue_id}/answers/{handle}/flag")
def flag(course: CourseDep, engine: EngineDep, me: Staff, queue_id: int, handle: str,
         note: Short = "") -> Response:
    queue = _queue(engine, queue_id)
    task, _ = _task(course, engine, queue, handle)
    marking.flag(engine, queue, task, me.email, note)
    return _back(_answer_url(queue_id, handle))


@router.post("/{queue_id}/answers/{handle}/unflag")
def unflag(course: CourseDep, engine: EngineDep, me: Instructor, queue_id: int,
           handle: str) -> Response:
    queue = _queue(engine, queue_id)
    task, _ = _task(course, engine, queue, handle)
    marking.unflag(engine, queue, task, me.email)
    return _back(_answer_url(queue_id, handle))


# --- the rubric and the comment bank ---------------------------------------------------

def _lookup(call):
    try:
        return call()
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None


@router.post("/{queue_id}/items")
def add_item(course: CourseDep, engine: EngineDep, me: Staff, queue_id: int,
             part_id: Annotated[int, Form()], points: Number, text: Short, note: Short = "",
             fixed: Annotated[str, Form(max_length=5)] = "") -> Response:
    queue = _queue(engine, queue_id)
    value = _points(points, "the item's points")
    _lookup(lambda: marking.add_item(engine, queue, part_id, points=value, fixed=fixed == "1",
                                     text=text, note=note, by=me.email))
    return _back(f"/grading/{queue_id}?done=item")


@router.post("/{queue_id}/items/{item_id}")
def edit_item(course: CourseDep, engine: EngineDep, me: Staff, queue_id: int, item_id: int,
              points: Number, text: Short, note: Short = "",
              fixed: Annotated[str, Form(max_length=5)] = "") -> Response:
    queue = _queue(engine, queue_id)
    value = _points(points, "the item's points")
    changed = _lookup(lambda: marking.edit_item(course, engine, queue, item_id, points=value,
                                                fixed=fixed == "1", text=text, note=note,
                                                by=me.email))
    return _back(f"/grading/{queue_id}?done=rescored-{changed}")


@router.post("/{queue_id}/items/{item_id}/delete")
def delete_item(course: CourseDep, engine: EngineDep, me: Staff, queue_id: int,
                item_id: int) -> Response:
    queue = _queue(engine, queue_id)
    changed = _lookup(lambda: marking.delete_item(course, engine, queue, item_id, me.email))
    return _back(f"/grading/{queue_id}?done=rescored-{changed}")


@router.post("/{queue_id}/items/{item_id}/regrade")
def regrade_all(engine: EngineDep, me: Staff, queue_id: int, item_id: int) -> Response:
    queue = _queue(engine, queue_id)
    marked = _lookup(lambda: marking.regrade_all_with(engine, queue, item_id, me.email))
    return _back(f"/grading/{queue_id}?done=regrade-{marked}")


@router.post("/{queue_id}/parts")
def add_part(engine: EngineDep, me: Staff, queue_id: int, name: Short,
             max_points: Number) -> Response:
    queue = _queue(engine, queue_id)
    marking.edit_part(engine, queue, None, name=name,
                      max_points=_points(max_points, "the part's maximum"), by=me.email)
    return _back(f"/grading/{queue_id}?done=part")


@router.post("/{queue_id}/parts/{part_id}")
def edit_part(engine: EngineDep, me: Staff, queue_id: int, part_id: int, name: Short,
              max_points: Number) -> Response:
    queue = _queue(engine, queue_id)
    _lookup(lambda: marking.edit_part(engine, queue, part_id, name=name,
                                      max_points=_points(max_points, "the part's maximum"),
                                      by=me.email))
    return _back(f"/grading/{queue_id}?done=part")


@router.post("/{queue_id}/comments")
def add_comment(engine: EngineDep, me: Staff, queue_id: int, text: Short,
                back: Annotated[str, Form(max_length=200)] = "") -> Response:
    queue = _queue(engine, queue_id)
    marking.add_to_bank(engine, queue.id, text, me.email)
    target = back if back.startswith(f"/grading/{queue_id}/") else f"/grading/{queue_id}"
    return _back(target)


@router.post("/{queue_id}/comments/{comment_id}/delete")
def delete_comment(engine: EngineDep, me: Staff, queue_id: int, comment_id: int) -> Response:
    queue = _queue(engine, queue_id)
    marking.remove_from_bank(engine, queue.id, comment_id)
    return _back(f"/grading/{queue_id}")

