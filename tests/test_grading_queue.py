"""Grading queues and marking (gradebook.queues, gradebook.marking) on the tiny course."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from web_support import hand_in, race_for_next, write_tiny_rubric

from autograder.core.errors import UserError
from gradebook import marking, queues
from gradebook.frames import load_frames
from gradebook.models import AuditEntry, ManualScore
from gradebook.scores import import_scores


@pytest.fixture
def graded_course(book):
    """The tiny course with its rubric, queues, and answers from s1, s2 (s3 handed nothing)."""
    course, engine = book
    write_tiny_rubric(course)
    hand_in(course, engine, {"s1": "Overflow of $e^x$.", "s2": "Because."})
    assert queues.sync_queues(course, engine) == 4  # written_max, module_report, pres., bonus
    assert queues.sync_queues(course, engine) == 0
    return course, engine


def _queue(engine, component, question=""):
    return next(q for q in queues.queues(engine)
                if q.component == component and q.question == question)


def _items(engine, queue):
    return {i.text.split()[0]: i for p in marking.rubric_of(engine, queue.id) for i in p.items}


def _written(engine, student):
    with Session(engine) as session:
        return session.scalars(select(ManualScore).where(
            ManualScore.student_id == student, ManualScore.component == "written")
            .order_by(ManualScore.id)).all()


def test_queues_and_rubric_from_the_file(graded_course):
    course, engine = graded_course
    found = [(q.component, q.slug, q.question, q.points) for q in queues.queues(engine)]
    assert found == [("written", "tiny", "written_max", 2.0), ("module_report", "tiny", "", 10.0),
                     ("presentation", "", "", 10.0), ("bonus", "", "", 5.0)]
    written = _queue(engine, "written", "written_max")
    parts = marking.rubric_of(engine, written.id)
    assert [(p.name, p.max_points, len(p.items)) for p in parts] == \
        [("Overflow", 1.0, 2), ("Invariance", 1.0, 2)]
    assert [i.key for p in parts for i in p.items] == ["1", "2", "3", "4"]
    # no rubric entry: one part worth the points, no items
    pres = marking.rubric_of(engine, _queue(engine, "presentation").id)
    assert [(p.max_points, p.items) for p in pres] == [(10.0, ())]


def test_tasks_in_a_fixed_random_order_with_opaque_handles(graded_course):
    course, engine = graded_course
    written = _queue(engine, "written", "written_max")
    tasks = queues.tasks(course, engine, written)
    assert {t.student_id for t in tasks} == {"s1", "s2"}  # only those who handed in
    assert all(t.submission_id for t in tasks)
    assert [t.handle for t in tasks] == sorted(t.handle for t in tasks)
    assert all(t.student_id not in t.handle and len(t.handle) == 16 for t in tasks)
    assert queues.tasks(course, engine, written) == tasks  # stable
    report = _queue(engine, "module_report")
    assert {t.student_id for t in queues.tasks(course, engine, report)} == {"s1", "s2", "s3"}
    assert {t.handle for t in queues.tasks(course, engine, report)}.isdisjoint(
        {t.handle for t in tasks})  # each queue has its own seed


def test_two_graders_get_different_answers_and_expired_claims_are_released(graded_course):
    course, engine = graded_course
    q = _queue(engine, "written", "written_max")
    first = queues.next_ungraded(course, engine, q, "ta1@uni.de")
    second = queues.next_ungraded(course, engine, q, "ta2@uni.de")
    assert first and second and first.student_id != second.student_id
    assert queues.next_ungraded(course, engine, q, "ta1@uni.de") == first  # keeps its claim
    assert queues.next_ungraded(course, engine, q, "ta3@uni.de") is None  # all held
    later = queues.now_utc() + queues.CLAIM_TTL + timedelta(seconds=1)
    taken = queues.next_ungraded(course, engine, q, "ta3@uni.de", now=later)
    assert taken is not None and taken.student_id in {first.student_id, second.student_id}
    assert queues.claim_holder(engine, q.id, taken.student_id, now=later) == "ta3@uni.de"


def test_concurrent_next_never_hands_out_one_answer_twice(graded_course):
    course, engine = graded_course
    q = _queue(engine, "module_report")  # three tasks
    got = race_for_next(course, engine, q, [f"ta{i}" for i in range(6)])
    handed = [t.student_id for t in got.values() if t is not None]
    assert sorted(handed) == ["s1", "s2", "s3"]


def test_submit_scores_by_the_rubric_and_writes_the_written_total(graded_course):
    course, engine = graded_course
    q = _queue(engine, "written", "written_max")
    items = _items(engine, q)
    task = next(t for t in queues.tasks(course, engine, q) if t.student_id == "s1")
    assert queues.claim(engine, q, task.student_id, "ta1@uni.de")
    points = marking.submit_grade(course, engine, q, task, "ta1@uni.de",
                                  {items["Names"].id, items["Softmax"].id}, 0.0, "Good.")
    assert points == 2.0
    assert queues.claim_holder(engine, q.id, "s1") is None  # released on submit
    rows = _written(engine, "s1")
    assert [(r.points, r.max_points, r.source, r.grader) for r in rows] == \
        [(2.0, 2.0, "web", "ta1@uni.de")]
    # the same total is not written twice; a deduction clamps at 0 per part
    marking.submit_grade(course, engine, q, task, "ta1@uni.de",
                         {items["Names"].id, items["Softmax"].id}, 0.0, "Good.")
    assert len(_written(engine, "s1")) == 1
    marking.submit_grade(course, engine, q, task, "ta1@uni.de", {items["Claims"].id}, 0.0, "")
    assert _written(engine, "s1")[-1].points == 0.0
    # the adjustment, clamped to the question's points
    marking.submit_grade(course, engine, q, task, "ta1@uni.de", {items["Names"].id}, 1.5, "")
    assert _written(engine, "s1")[-1].points == 2.0
    _, manual, _, _ = load_frames(engine, course)  # what `course final` reads
    assert manual[manual["component"] == "written"]["points"].tolist()[-1] == 2.0
    with Session(engine) as session:
        entries = session.scalars(select(AuditEntry).where(
            AuditEntry.action.in_(["answer_grade", "manual_score"]))).all()
    assert entries and all(e.actor == "ta1@uni.de" for e in entries)


def test_bad_grades_are_refused(graded_course):
    course, engine = graded_course
    q = _queue(engine, "written", "written_max")
    items = _items(engine, q)
    task = queues.tasks(course, engine, q)[0]
    with pytest.raises(UserError, match="adjustment"):
        marking.submit_grade(course, engine, q, task, "ta@uni.de", set(), float("nan"), "")
    with pytest.raises(UserError, match="adjustment"):
        marking.submit_grade(course, engine, q, task, "ta@uni.de", set(), 3.0, "")
    with pytest.raises(UserError, match="not in this question's rubric"):
        marking.submit_grade(course, engine, q, task, "ta@uni.de", {999999}, 0.0, "")
    with pytest.raises(UserError, match="at most one fixed"):
        report = _queue(engine, "module_report")
        both = {i.id for p in marking.rubric_of(engine, report.id) for i in p.items}
        marking.submit_grade(course, engine, report, queues.tasks(course, engine, report)[0],
                             "ta@uni.de", both, 0.0, "")
    assert queues.claim(engine, q, task.student_id, "other@uni.de")
    with pytest.raises(marking.ClaimTaken, match="other@uni.de is grading"):
        marking.submit_grade(course, engine, q, task, "ta@uni.de", set(), 0.0, "")
    assert _written(engine, task.student_id) == []


def test_editing_an_item_rescores_the_answers_it_is_applied_to(graded_course):
    course, engine = graded_course
    q = _queue(engine, "written", "written_max")
    items = _items(engine, q)
    s1, s2 = sorted(queues.tasks(course, engine, q), key=lambda t: t.student_id)
    marking.submit_grade(course, engine, q, s1, "ta@uni.de", {items["Mentions"].id}, 0.0, "")
    marking.submit_grade(course, engine, q, s2, "ta@uni.de", {items["Softmax"].id}, 0.0, "")
    assert (_written(engine, "s1")[-1].points, _written(engine, "s2")[-1].points) == (0.5, 1.0)
    changed = marking.edit_item(course, engine, q, items["Mentions"].id, points=0.25,
                                fixed=False, text=items["Mentions"].text, note="", by="prof@uni.de")
    assert changed == 1
    assert (_written(engine, "s1")[-1].points, _written(engine, "s2")[-1].points) == (0.25, 1.0)
    assert marking.grade_of(engine, q.id, "s1").points == 0.25
    with Session(engine) as session:
        rescored = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "answer_rescore")).all()
    assert [(e.actor, e.detail["old_points"], e.detail["new_points"]) for e in rescored] == \
        [("prof@uni.de", 0.5, 0.25)]
    # deleting an item removes it from the answers (re-scored) and from the rubric
    assert marking.delete_item(course, engine, q, items["Softmax"].id, "prof@uni.de") == 1
    assert _written(engine, "s2")[-1].points == 0.0
    assert "Softmax" not in _items(engine, q)
    with pytest.raises(UserError, match="fixed score"):
        marking.edit_item(course, engine, q, items["Names"].id, points=3, fixed=True,
                          text="x", note="", by="prof@uni.de")


def test_regrade_all_with_an_item_puts_those_answers_first(graded_course):
    course, engine = graded_course
    q = _queue(engine, "written", "written_max")
    items = _items(engine, q)
    s1, s2 = sorted(queues.tasks(course, engine, q), key=lambda t: t.student_id)
    marking.submit_grade(course, engine, q, s1, "ta@uni.de", {items["Mentions"].id}, 0.0, "")
    marking.submit_grade(course, engine, q, s2, "ta@uni.de", set(), 0.0, "")
    assert queues.next_ungraded(course, engine, q, "ta@uni.de") is None
    assert marking.regrade_all_with(engine, q, items["Mentions"].id, "ta@uni.de") == 1
    again = queues.next_ungraded(course, engine, q, "ta@uni.de")
    assert again is not None and again.student_id == "s1"
    assert queues.progress(course, engine, q).needs_regrade == 1


def test_skip_flag_progress(graded_course):
    course, engine = graded_course
    q = _queue(engine, "module_report")
    first = queues.next_ungraded(course, engine, q, "ta@uni.de")
    queues.skip(engine, q.id, first.student_id, "ta@uni.de")
    second = queues.next_ungraded(course, engine, q, "ta@uni.de")
    assert second.student_id != first.student_id
    assert queues.next_ungraded(course, engine, q, "ta2@uni.de") == first  # not skipped by ta2
    marking.flag(engine, q, second, "ta@uni.de", "plagiarism?")
    items = {i.text: i.id for p in marking.rubric_of(engine, q.id) for i in p.items}
    marking.submit_grade(course, engine, q, second, "ta@uni.de", {items["Half done."]}, 0.0,
                         "Half of it.")
    prog = queues.progress(course, engine, q)
    assert (prog.total, prog.graded, prog.flagged, prog.by_grader) == \
        (3, 1, 1, (("ta@uni.de", 1),))
    with Session(engine) as session:
        report = session.scalars(select(ManualScore).where(
            ManualScore.component == "module_report")).one()
    assert (report.student_id, report.slug, report.points, report.max_points, report.comment) == \
        (second.student_id, "tiny", 5.0, 10.0, "Half of it.")


def test_a_csv_import_after_web_grading_replaces_the_total_and_is_shown(graded_course, tmp_path):
    course, engine = graded_course
    q = _queue(engine, "written", "written_max")
    items = _items(engine, q)
    s1 = next(t for t in queues.tasks(course, engine, q) if t.student_id == "s1")
    marking.submit_grade(course, engine, q, s1, "ta@uni.de", {items["Names"].id}, 0.0, "")
    assert marking.import_override(engine, q, "s1") is None
    csv_file = tmp_path / "written.csv"
    csv_file.write_text("student_id,slug,points\ns1,tiny,1.5\n")
    assert import_scores(engine, course, csv_file, "written", "tiny") == 1
    found = marking.import_override(engine, q, "s1")
    assert found is not None and found.points == 1.5 and str(csv_file) in found.source
    assert set(marking.imported_students(engine, q)) == {"s1"}
    assert _written(engine, "s1")[-1].points == 1.5  # the import counts
    # grading again on the web writes a newer total, which then counts
    marking.submit_grade(course, engine, q, s1, "ta@uni.de", {items["Names"].id}, 0.0, "")
    assert _written(engine, "s1")[-1].points == 1.0
    assert marking.import_override(engine, q, "s1") is None


def test_exported_rubric_reads_back_as_the_edited_one(graded_course):
    from gradebook.rubric import dump_rubric, parse_rubric

    course, engine = graded_course
    q = _queue(engine, "written", "written_max")
    part = marking.rubric_of(engine, q.id)[0]
    marking.add_item(engine, q, part.id, points=0.25, fixed=False, text="Partly.", note="n",
                     by="ta@uni.de")
    together = [x for x in queues.queues(engine) if x.slug == "tiny"]
    rubric = parse_rubric(dump_rubric(marking.export_rubric(engine, together)), "export")
    assert [x.id for x in rubric.questions] == ["written_max", "module_report"]
    assert [i.text for i in rubric.questions[0].parts[0].items][-1] == "Partly."


def test_an_answer_graded_while_next_was_looking_is_not_handed_out(graded_course, monkeypatch):
    """A grader whose view of the grades is stale (another grader submitted in between)
    must not be given the answer just graded."""
    course, engine = graded_course
    q = _queue(engine, "written", "written_max")
    first = queues.next_ungraded(course, engine, q, "ta1@uni.de")
    marking.submit_grade(course, engine, q, first, "ta1@uni.de", set(), 1.0, "")
    monkeypatch.setattr(queues, "grade_states", lambda session, queue_id: {})  # stale read
    given = queues.next_ungraded(course, engine, q, "ta2@uni.de")
    assert given is not None and given.student_id != first.student_id
    assert queues.claim_holder(engine, q.id, first.student_id) is None
