"""Rubric files: strict parsing, the checks against the master and the maxima, the round
trip through dump_rubric, the scoring rule, and `course rubric check/export`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from autograder.core.errors import UserError
from autograder.course_loader import load_course
from conftest import REPO
from gradebook.rubric import (Item, Part, Question, Rubric, check_rubrics, course_rubric_path,
                              default_question, dump_rubric, load_rubric, module_rubric_path,
                              parse_rubric, part_points, question_points)

SHIPPED = sorted(REPO.glob("solutions/*/rubric.toml")) + [REPO / "solutions" / "rubric.toml"]

GOOD = '''
[[question]]
id = "q1"
points = 5
code_cells = ["cell"]

[[question.part]]
name = "A"
max_points = 3

[[question.part.item]]
points = 3
fixed = true
text = "Correct."
note = "Look for it."

[[question.part.item]]
points = -1.5
text = "A slip."

[[question.part]]
name = "B"
max_points = 2
'''


def _expect(text: str, message: str) -> None:
    with pytest.raises(UserError) as info:
        parse_rubric(text, "r.toml")
    assert str(info.value) == message
    assert "\n" not in str(info.value)


# --- parsing ----------------------------------------------------------------------------

def test_a_valid_rubric_parses_with_its_defaults():
    rubric = parse_rubric(GOOD, "r.toml")
    assert rubric == Rubric((Question("q1", 5, (
        Part("A", 3, (Item(3, "Correct.", "Look for it.", True), Item(-1.5, "A slip."))),
        Part("B", 2)), ("cell",)),))
    assert rubric.question("q1") is rubric.questions[0] and rubric.question("x") is None
    assert parse_rubric("", "r.toml") == Rubric()


@pytest.mark.parametrize("old, new, message", [
    ('name = "A"', 'nam = "A"',
     "r.toml: question 1 (q1), part 1: unknown key 'nam'; did you mean 'name'?"),
    ('points = 5', 'points = 5\nweight = 2',
     "r.toml: question 1 (q1): unknown key 'weight'; the keys are id, points, code_cells, part"),
    ('points = -1.5', 'points = true',
     "r.toml: question 1 (q1), part 1 ('A'), item 2: points must be a number (got true); "
     "write e.g. points = 2"),
    ('points = -1.5', 'points = nan',
     "r.toml: question 1 (q1), part 1 ('A'), item 2: points must be finite (got nan); "
     "write e.g. points = 2"),
    ('points = 5', 'points = "5"',
     "r.toml: question 1 (q1): points must be a number (got '5'); write e.g. points = 2"),
    ('points = 5', 'points = 0', "r.toml: question 1 (q1): points must be > 0 (got 0)"),
    ('max_points = 2', 'max_points = -2',
     "r.toml: question 1 (q1), part 2 ('B'): max_points must be > 0 (got -2)"),
    ('id = "q1"\n', '',
     "r.toml: question 1: missing key 'id'; add e.g. id = \"...\", points = 5 and a "
     "[[question.part]]"),
    ('text = "A slip."', '',
     "r.toml: question 1 (q1), part 1 ('A'), item 2: missing key 'text'; add e.g. "
     "points = 1 and text = \"...\""),
    ('name = "B"', 'name = "  "', "r.toml: question 1 (q1), part 2: name is empty; give it a "
                                  "non-empty text"),
    ('name = "B"', 'name = "A"',
     "r.toml: question 1 (q1): part 2: duplicate part name 'A'; name each part of a question "
     "differently"),
    ('points = 3\nfixed', 'points = 4\nfixed',
     "r.toml: question 1 (q1), part 1 ('A'), item 1: a fixed item's points (4) must lie "
     "between 0 and the part's max_points (3); fix the points or drop fixed"),
    ('fixed = true', 'fixed = 1',
     "r.toml: question 1 (q1), part 1 ('A'), item 1: fixed must be true or false (got 1)"),
    ('code_cells = ["cell"]', 'code_cells = "cell"',
     "r.toml: question 1 (q1): code_cells must be a list of grade_ids (got 'cell'); "
     "write e.g. code_cells = [\"attention\"]"),
    ('[[question]]\nid', 'title = "x"\n[[question]]\nid',
     "r.toml: unknown key 'title'; the keys are question"),
    ('max_points = 3', 'max_points = ',
     "r.toml: not valid TOML: Invalid value (at line 9, column 14); fix the syntax"),
])
def test_every_invalid_rubric_is_one_line_naming_the_file_the_position_and_the_fix(
        old, new, message):
    assert old in GOOD
    _expect(GOOD.replace(old, new, 1), message)


def test_a_question_needs_a_part_as_tables_and_ids_are_unique():
    _expect('[[question]]\nid = "q1"\npoints = 1\npart = 3\n',
            "r.toml: question 1 (q1): part must be an array of tables; write each one as "
            "[[...part]]")
    _expect('[[question]]\nid = "a"\npoints = 1\npart = []\n',
            "r.toml: question 1 (a): has no part; add at least one [[question.part]]")
    _expect(GOOD + GOOD.replace('code_cells = ["cell"]\n', ''),
            "r.toml: question 2: duplicate id 'q1'; each question appears once per file")


def test_load_rubric_reads_a_file_and_says_none_without_one(tmp_path):
    assert load_rubric(tmp_path / "rubric.toml") is None
    (tmp_path / "rubric.toml").write_text(GOOD, encoding="utf-8")
    assert load_rubric(tmp_path / "rubric.toml") == parse_rubric(GOOD, "x")
    (tmp_path / "rubric.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(UserError, match=r"rubric\.toml: cannot read the rubric"):
        load_rubric(tmp_path / "rubric.toml")


# --- writing ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(REPO)))
def test_every_shipped_rubric_survives_dump_and_parse(path):
    rubric = load_rubric(path)
    assert rubric is not None and rubric.questions
    text = dump_rubric(rubric)
    assert parse_rubric(text, "dumped") == rubric
    assert dump_rubric(parse_rubric(text, "dumped")) == text
    assert "fixed = false" not in text and 'note = ""' not in text


def test_dump_leaves_out_defaults_and_keeps_integers():
    rubric = Rubric((Question("q", 2.0, (Part("p", 2.0, (Item(1.0, "t"), Item(0.5, "u", "n",
                                                                               True))),)),))
    text = dump_rubric(rubric)
    assert "points = 2\n" in text and "max_points = 2\n" in text and "2.0" not in text
    assert "code_cells" not in text and text.count("note") == 1 and text.count("fixed") == 1
    assert parse_rubric(text, "x") == rubric
    assert dump_rubric(Rubric()) == "" and parse_rubric("", "x") == Rubric()


def test_the_default_rubric_is_one_part_worth_all_points_without_items():
    assert default_question("written_x", 5) == Question("written_x", 5, (Part("Overall", 5),))


# --- the shipped content ---------------------------------------------------------------

WRITTEN = {
    "transformer": ["written_scaling", "written_pre_ln", "written_attention_cost"],
    "nystrom_attention": ["written_pinv", "written_nystrom_exact", "written_cost"],
    "vae": ["written_reparam", "written_gap", "written_iwae"],
    "arithmetic_coder": ["written_bound", "written_learning", "written_project"],
    "dp_sgd": ["written_clipping", "written_poisson", "written_tradeoff"],
    "ppo": ["written_clip", "written_truncation", "written_lambda"],
}


def test_the_course_rubrics_check_clean_and_cover_every_written_question():
    course = load_course(REPO / "course_config.py")
    assert check_rubrics(course) == []
    for slug, ids in WRITTEN.items():
        rubric = load_rubric(module_rubric_path(course, slug))
        assert [q.id for q in rubric.questions] == [*ids, "module_report"]
        for q in rubric.questions:
            assert 2 <= len(q.parts) <= 3, (slug, q.id)
            for part in q.parts:
                assert 2 <= len(part.items) <= 4, (slug, q.id, part.name)
                assert sum(i.fixed and i.points == part.max_points for i in part.items) == 1
            if q.id != "module_report":
                assert q.points == 5 and q.code_cells, (slug, q.id)
    assert [q.id for q in load_rubric(course_rubric_path(course)).questions] == \
        ["presentation", "bonus"]


def test_the_numbers_the_rubrics_quote_are_right():
    ppo = load_rubric(REPO / "solutions" / "ppo" / "rubric.toml").question("written_lambda")
    horizon = 1 / (1 - 0.99 * 0.95)
    assert round(horizon) == 17
    assert "about 17 steps" in ppo.parts[1].items[0].text
    nystrom = load_rubric(REPO / "solutions" / "nystrom_attention" / "rubric.toml")
    part = nystrom.question("written_nystrom_exact").parts[1]
    assert any(i.points < 0 and "non-negative" in i.text for i in part.items)


# --- checks on a modified course ---------------------------------------------------------

def test_the_tiny_course_rubric_holds(tiny_course):
    course = load_course(tiny_course / "course_config.py")
    assert check_rubrics(course) == []
    rubric = load_rubric(module_rubric_path(course, "tiny"))
    assert [q.id for q in rubric.questions] == ["written_max", "module_report"]


def test_check_rubrics_reports_each_problem_with_its_file(tiny_course):
    course = load_course(tiny_course / "course_config.py")
    path = module_rubric_path(course, "tiny")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('max_points = 1\n', 'max_points = 1.5\n', 1)
                    .replace('id = "module_report"\npoints = 10',
                             'id = "module_report"\npoints = 8')
                    .replace('code_cells = ["softmax"]', 'code_cells = ["softmax", "nope"]')
                    + '\n[[question]]\nid = "written_typo"\npoints = 1\n'
                      '[[question.part]]\nname = "x"\nmax_points = 1\n', encoding="utf-8")
    course_path = course_rubric_path(course)
    course_path.write_text('[[question]]\nid = "bonus"\npoints = 4\n[[question.part]]\n'
                           'name = "x"\nmax_points = 4\n\n[[question]]\nid = "report"\n'
                           'points = 1\n[[question.part]]\nname = "x"\nmax_points = 1\n',
                           encoding="utf-8")
    assert check_rubrics(course) == [
        f"{path}: question written_max: the parts' max_points add up to 2.5, not the "
        f"question's points 2; fix the parts or the points",
        f"{path}: question module_report: the parts' max_points add up to 10, not the "
        f"question's points 8; fix the parts or the points",
        f"{path}: question written_max: code_cells names 'nope', not the grade_id of a code "
        f"cell of the master; fix or remove it",
        f"{path}: question module_report: points 8 differ from the module report's maximum "
        f"10; use points = 10",
        f"{path}: question written_typo: not a written question of the master tiny.ipynb; "
        f"use one of written_max, module_report, or remove it",
        f"{course_path}: question bonus: points 4 differ from the maximum of bonus 5; use "
        f"points = 5",
        f"{course_path}: question report: the course-wide rubric holds only presentation "
        f"and bonus; move it to solutions/<slug>/rubric.toml or remove it",
    ]


def test_check_rubrics_reports_a_broken_file_and_points_that_differ_from_the_master(
        tiny_course):
    course = load_course(tiny_course / "course_config.py")
    path = module_rubric_path(course, "tiny")
    path.write_text('[[question]]\nid = "written_max"\npoints = 1\n[[question.part]]\n'
                    'name = "x"\nmax_points = 1\n', encoding="utf-8")
    assert check_rubrics(course) == [
        f"{path}: question written_max: points 1 differ from the master cell's points 2; use "
        f"points = 2 or fix the master"]
    path.write_text('[[question]]\nid = 3\npoints = 1\n[[question.part]]\nname = "x"\n'
                    'max_points = 1\n', encoding="utf-8")
    assert check_rubrics(course) == [
        f"{path}: question 1: id must be a string (got 3); write e.g. id = \"...\""]
    path.unlink()
    assert check_rubrics(course) == []  # no file: default rubrics


# --- scoring ----------------------------------------------------------------------------

def test_a_fixed_item_replaces_the_base_and_the_last_fixed_one_counts():
    assert part_points(3, [(3, True)]) == 3
    assert part_points(3, [(3, True), (1, True)]) == 1
    assert part_points(3, [(2, True), (-0.5, False)]) == 1.5


def test_negative_items_deduct_and_both_levels_clamp():
    assert part_points(2, [(-1, False)]) == 0
    assert part_points(2, [(1.5, False), (1.5, False)]) == 2
    assert part_points(2, []) == 0
    assert question_points(5, [2, 1.5], adjustment=-4) == 0
    assert question_points(5, [2, 2.5], adjustment=1) == 5
    assert question_points(5, [2, 1.5], adjustment=0.5) == 4


# --- the commands -------------------------------------------------------------------------

def test_rubric_check_exits_zero_with_a_summary_and_one_with_the_problems(tiny_course,
                                                                          course_cli):
    cfg = tiny_course / "course_config.py"
    ok = course_cli(cfg, "rubric", "check")
    assert ok.exit_code == 0, ok.output
    assert "rubrics OK: 1 file(s), 2 question(s), 4 part(s), 7 item(s)" in ok.output
    rubric = tiny_course / "solutions" / "tiny" / "rubric.toml"
    rubric.write_text(rubric.read_text().replace("points = 10", "points = 9"))
    bad = course_cli(cfg, "rubric", "check")
    assert bad.exit_code == 1
    assert "question module_report: points 9 differ" in bad.output
    assert "2 rubric problem(s)" in bad.output  # and the parts no longer add up
    rubric.write_text("[[question]]\nid = \n")
    broken = course_cli(cfg, "rubric", "check")
    assert broken.exit_code == 1 and "not valid TOML" in broken.output


def test_rubric_export_prints_a_rubric_that_parses_back(course_cli, tmp_path):
    cfg = REPO / "course_config.py"
    result = course_cli(cfg, "rubric", "export", "transformer")
    assert result.exit_code == 0, result.output
    assert parse_rubric(result.output, "export") == \
        load_rubric(REPO / "solutions" / "transformer" / "rubric.toml")
    out = tmp_path / "course.toml"
    written = course_cli(cfg, "rubric", "export", "course", "--out", str(out))
    assert written.exit_code == 0 and "wrote" in written.output
    assert parse_rubric(out.read_text(encoding="utf-8"), str(out)) == \
        load_rubric(REPO / "solutions" / "rubric.toml")


def test_rubric_export_errors_are_one_line_without_a_traceback(tiny_course, course_cli):
    cfg = tiny_course / "course_config.py"
    unknown = course_cli(cfg, "rubric", "export", "nope")
    assert unknown.exit_code == 2 and "unknown module 'nope'" in unknown.output
    missing = course_cli(cfg, "rubric", "export", "course")
    assert missing.exit_code == 2 and "no rubric file" in missing.output
    assert "Traceback" not in missing.output
