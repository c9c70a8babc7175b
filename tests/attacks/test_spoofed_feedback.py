"""Spoofed feedback: student text must stay visibly the student's.

A hostile notebook raises exceptions whose messages, type names and object names try
to pass for the grader ("Score: 7 / 7", "The grader failed on this test (not your
fault); it will be retried.", "Time limit: ...") with every way of starting a new line
(\\n, \\r, \\r\\n, U+2028, U+2029, U+0085, \\v, \\f), ANSI escapes, bidi overrides,
zero-width characters, console markup and very long text; its cells fail when loaded
with such messages, a dropped statement carries a line separator, and a string in one
cell forges a block label ("# %% ...") for the loader. It is graded end to end
(autograder.engine.run_suite) in trusted and in sandboxed mode; the results document,
the CLI report and the HTML feedback page are checked.

The end-to-end checks assert on the outputs only (not on autograder.core.student_text),
so they state the rule as the student sees it:

- a per-test message's first line is the grader's and holds none of the student's text;
  every later line starts with the quote mark "    |";
- no text shown contains a control character other than the newline, an ANSI escape or a
  Unicode format character (bidi controls, zero-width characters);
- no line of any output (split as Python's str.splitlines splits: at every line break
  a renderer may honour) that the grader did not write starts at column 0.
"""

from __future__ import annotations

import io
import json
import shutil
import unicodedata
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from autograder.config import SandboxLimits
from autograder.engine import run_suite
from autograder.request import GradeRequest

HERE = Path(__file__).parent
ARENA = HERE / "arena"
QUOTE_MARK = "    |"
SCORE_SPOOF = "Score: 7 / 7"
GRADER_PHRASE = "The grader failed on this test (not your fault); it will be retried."
TIME_LIMIT = "Time limit: the test did not finish within 60 s."
# text that only the student's code writes in this notebook
MARKERS = ("SPOOF", "Score:", "not your fault", "will be retried", "Time limit", "erocS",
           "yyyyyyyy")
# how lines of the grader's own begin
GRADER_STARTS = ("Score:", "Total:", "Ran in:", "Time limit", "The grader failed",
                 "Your code", "your code", "Not implemented", "Not finished", "This test")

MESSAGES = {
    "newline": f"SPOOF\n{SCORE_SPOOF}\n{GRADER_PHRASE}",
    "carriage_return": f"SPOOF\r{SCORE_SPOOF}",
    "crlf": f"SPOOF\r\n{SCORE_SPOOF}",
    "ansi": f"SPOOF\x1b[2K\x1b[0G{SCORE_SPOOF}\x1b[31m\x1b]0;title\x07",
    "line_separator": f"SPOOF\u2028{SCORE_SPOOF}",
    "paragraph_separator": f"SPOOF\u2029{TIME_LIMIT}",
    "next_line": f"SPOOF\x85{SCORE_SPOOF}",
    "vertical_tab": f"SPOOF\v{SCORE_SPOOF}",
    "form_feed": f"SPOOF\f{SCORE_SPOOF}",
    "file_separator": f"SPOOF\x1c{SCORE_SPOOF}",
    "bidi": "SPOOF \u202e7 / 7 :erocS\u202c \u2066x\u2069 \u202ay\u202c",
    "zero_width": f"SPOOF\u200b\u200c\u200d\ufeff\u2060 {SCORE_SPOOF}",
    "grader_phrase": GRADER_PHRASE,
    "time_limit_phrase": TIME_LIMIT,
    "markup": f"[bold red]{SCORE_SPOOF}[/] SPOOF [link=http://x]here[/link]",
    "long": "SPOOF " * 60 + f"\n{SCORE_SPOOF}",
}

ATTACK_CELL = f'''import numpy as np

MESSAGES = {MESSAGES!r}


def attack():
    return 1


def spoof(kind):
    raise ValueError(MESSAGES[kind])


def spoof_huge():
    raise ValueError("y" * 100000 + "\\n{SCORE_SPOOF}")


def spoof_assert():
    raise AssertionError("attack() must return the expected value\\n{SCORE_SPOOF}\\n"
                         "{GRADER_PHRASE}")


def spoof_library_assert():
    np.testing.assert_equal(1, 2, err_msg="SPOOF\\n{SCORE_SPOOF}")


def spoof_class():
    raise type("SPOOF\\n{SCORE_SPOOF}", (Exception,), {{}})("{GRADER_PHRASE}")


def make_object():
    return type("SPOOF\\n{SCORE_SPOOF}\\n{GRADER_PHRASE}", (), {{}})()
'''

EXTRA_CELLS = [
    # fails when loaded: the class body raises
    f'class Broken:\n    raise ValueError("SPOOF\\n{SCORE_SPOOF}\\n{GRADER_PHRASE}")\n',
    # dropped (not a definition); its source line holds a real U+2028
    f'print("SPOOF\u2028{SCORE_SPOOF}")\n',
    # a string that forges a block label with real U+2028 for the loader
    f'def helper():\n    return 1\nX = """\n# %% cell \'attack\'\u2028{SCORE_SPOOF}\u2028'
    f'{GRADER_PHRASE} [student]\n"""\n',
]

SUITE = f'''
import pytest

KINDS = {list(MESSAGES)!r}


@pytest.mark.points(1)
def test_ok(submission):
    assert submission.ok() == 1, "ok() must return 1"


@pytest.mark.points(1)
@pytest.mark.parametrize("kind", KINDS)
def test_message(submission, kind):
    assert submission.spoof(kind) == 1, "spoof() must return 1"


@pytest.mark.points(1)
def test_huge(submission):
    submission.spoof_huge()


@pytest.mark.points(1)
def test_student_assert(submission):
    assert submission.spoof_assert() == 1, "the suite's own message"


@pytest.mark.points(1)
def test_library_assert(submission):
    submission.spoof_library_assert()


@pytest.mark.points(1)
def test_class_name(submission):
    submission.spoof_class()


@pytest.mark.points(1)
def test_object_name(submission):
    assert float(submission.make_object()) == 42.0, "make_object() must return 42"


@pytest.mark.points(1)
def test_missing(submission):
    submission.not_in_the_notebook()
'''

STRICT = ([f"test_message[{kind}]" for kind in MESSAGES]
          + ["test_huge", "test_student_assert", "test_library_assert", "test_class_name"])
SECTION_TITLES = ("Cells that failed when loaded:", "Problems with answer cells:",
                  "Left out of grading (only imports, def, class and constants are graded):")


def _notebook(master: dict) -> dict:
    nb = json.loads(json.dumps(master))
    for cell in nb["cells"]:
        gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if gid == "ok":
            cell["source"] = "def ok():\n    return 1\n"
        elif gid == "attack":
            cell["source"] = ATTACK_CELL
    for i, source in enumerate(EXTRA_CELLS):
        # the metadata's grade id is the student's own: it matches no cell of the master
        meta = {"nbgrader": {"grade_id": f"x{i}\n{SCORE_SPOOF}\n{GRADER_PHRASE}",
                             "solution": True}}
        nb["cells"].append({"cell_type": "code", "metadata": meta, "execution_count": None,
                            "outputs": [], "source": source, "id": f"{SCORE_SPOOF}\n{i}"})
    nb["metadata"]["title"] = f"SPOOF\n{SCORE_SPOOF}"
    return nb


@pytest.fixture(scope="module", params=["trusted", "sandboxed"])
def graded(request, tmp_path_factory) -> tuple[str, dict]:
    """(mode, results document) of the hostile notebook, graded through run_suite."""
    root = tmp_path_factory.mktemp(f"spoof-{request.param}")
    master_path = root / "arena.ipynb"
    shutil.copy(ARENA / "solutions" / "arena" / "arena.ipynb", master_path)
    suite = root / "test_spoof.py"
    suite.write_text(SUITE)
    notebook = root / "spoof.ipynb"
    notebook.write_text(json.dumps(_notebook(json.loads(master_path.read_text()))))
    limits = SandboxLimits(memory_mb=1024, cpu_seconds=120, wall_seconds_per_call=20,
                           wall_seconds_per_submission=240, max_processes=64)
    req = GradeRequest(suite=[suite], submission=notebook, master=master_path, limits=limits,
                       mode=request.param)
    return request.param, run_suite(req).results


def _tests(doc: dict) -> dict[str, dict]:
    return {t["name"]: t for t in doc["tests"]}


def _bad_characters(text: str) -> list[str]:
    """Control characters other than the newline, and Unicode format characters."""
    return [f"U+{ord(ch):04X}" for ch in text
            if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")]


def _has_marker(line: str) -> bool:
    return any(marker in line for marker in MARKERS)


# --- the results document ------------------------------------------------------------

@pytest.mark.integration
@pytest.mark.parametrize("name", STRICT)
def test_exception_text_is_a_quoted_block(graded, name):
    """An exception raised by the student's code (any message variant, a very long one,
    an AssertionError the student raised itself or one raised by numpy inside student
    code, a class named "SPOOF\\nScore: 7 / 7") gives a message whose first line is the
    grader's ("Your code ...") with none of the student's text on it, and whose every
    other line (at every line break str.splitlines knows) starts with "    |"; it has no
    control or format character and stays short."""
    mode, doc = graded
    test = _tests(doc)[name]
    assert test["status"] == "failed" and test["score"] == 0
    out = test["output"]
    lines = out.splitlines()
    assert lines[0].startswith("Your code") and not _has_marker(lines[0]), (mode, out)
    assert len(lines) > 1 and all(line.startswith(QUOTE_MARK) for line in lines[1:]), (mode, out)
    assert _bad_characters(out) == [], (mode, out)
    assert len(out) < 2500, (mode, len(out))


@pytest.mark.integration
def test_a_huge_message_is_cut_and_says_so(graded):
    """A 100 000-character message shows at most about 1500 of its characters, then a
    line saying how many more were cut; "Score: 7 / 7" after it never shows."""
    mode, doc = graded
    out = _tests(doc)["test_huge"]["output"]
    assert "characters cut" in out and SCORE_SPOOF not in out, (mode, out)
    assert out.count("y") <= 1600, (mode, out.count("y"))


@pytest.mark.integration
def test_a_student_assertion_error_is_not_the_suite_message(graded):
    """An AssertionError the student's code raises with the suite's kind of message is
    shown as the student's text, never as the suite's assertion message: the output does
    not start with "attack() must return the expected value"."""
    mode, doc = graded
    out = _tests(doc)["test_student_assert"]["output"]
    assert not out.startswith("attack() must return"), (mode, out)
    assert f"{QUOTE_MARK} AssertionError: attack() must return the expected value" \
        in out.splitlines(), (mode, out)


@pytest.mark.integration
def test_a_crafted_type_name_of_a_returned_object_stays_on_one_line(graded):
    """An object whose class is named "SPOOF\\nScore: 7 / 7\\nThe grader failed ..."
    (type(...) returned by the student's code, then used as a number) gives a message of
    one line starting with the grader's "Your code"/"your code", without control
    characters: the class name cannot start a line."""
    mode, doc = graded
    out = _tests(doc)["test_object_name"]["output"]
    lines = out.splitlines()
    assert lines[0].lower().startswith("your code"), (mode, out)
    assert all(line.startswith(QUOTE_MARK) for line in lines[1:]), (mode, out)
    assert _bad_characters(out) == [], (mode, out)


@pytest.mark.integration
def test_load_errors_and_forged_labels_in_a_teaching_message_stay_on_one_line(graded):
    """A missing name's message lists the cells that failed when loaded, including one
    whose block label a string forged with U+2028 ("# %% cell 'attack'\\u2028Score: 7 / 7
    ..."): the message is one line (by str.splitlines) and has no control or format
    character."""
    mode, doc = graded
    out = _tests(doc)["test_missing"]["output"]
    assert out.startswith("Your notebook does not define `not_in_the_notebook`"), (mode, out)
    assert len(out.splitlines()) == 1 and _bad_characters(out) == [], (mode, out)


@pytest.mark.integration
def test_the_summary_lines_at_column_0_are_the_graders(graded):
    """The top-level output starts with "Score: x / y" from the numbers; its only lines
    at column 0 are that one, "Ran in: ..." and the section titles, whatever the load
    errors (messages with newlines), the dropped statement (a U+2028 in its source) and
    the forged block label say; the load error's message is quoted ("    |"); no control
    or format character; the student's cell metadata (grade id, cell id, notebook title)
    never shows."""
    mode, doc = graded
    out = doc["output"]
    lines = out.splitlines()
    assert lines[0] == f"Score: {doc['score']:g} / {doc['max_score']:g}", (mode, out)
    assert doc["score"] == 1
    column_0 = [line for line in lines[1:] if line and not line[0].isspace()]
    assert all(line.startswith("Ran in: ") or line in SECTION_TITLES for line in column_0), \
        (mode, column_0)
    assert f"{QUOTE_MARK} {SCORE_SPOOF}" in lines, (mode, out)
    assert _bad_characters(out) == [], (mode, out)
    assert "x0" not in out and f"{SCORE_SPOOF}\n0" not in out


# --- the CLI ---------------------------------------------------------------------------

@pytest.mark.integration
def test_the_cli_report_shows_student_text_indented_and_literally(graded, monkeypatch):
    """`course grade-notebook`'s report (app.cli.report.print_results) prints the
    total once, from the numbers; no printed line starts with "Score:", the grader's
    phrases or the student's marker; console markup in a message is printed literally
    ("[bold red]"), and no ANSI escape or other control character reaches the terminal
    (besides the console's own, none here: no colour)."""
    from rich.console import Console

    import app.cli.report as report

    mode, doc = graded
    buffer = io.StringIO()
    monkeypatch.setattr(report, "console", Console(file=buffer, width=100, color_system=None,
                                                   highlight=False))
    report.print_results(doc, "arena: spoof.ipynb")
    text = buffer.getvalue()
    assert text.count("Total: ") == 1 and f"Total: {doc['score']:g} / {doc['max_score']:g}" in text
    for line in text.splitlines():
        assert not line.startswith(("Score:", "SPOOF", "The grader failed", "Time limit",
                                    "it will be retried")), (mode, line)
    assert "[bold red]" in text, mode
    assert _bad_characters(text) == [], (mode, _bad_characters(text)[:5])


# --- the HTML feedback page --------------------------------------------------------------

class _Chunks(HTMLParser):
    """The page's text as (inside an element of class student-text, text) chunks."""

    VOID = {"meta", "br", "img", "link", "input", "hr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []
        self.chunks: list[tuple[bool, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.stack.append("student-text" in (dict(attrs).get("class") or "").split())

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.chunks.append((any(self.stack), data))


def _page(doc: dict) -> tuple[str, list[tuple[bool, str]]]:
    from autograder.course_loader import load_course
    from app.feedback_pages import render_feedback

    course = load_course(ARENA / "course_config.py")
    page = render_feedback(course, "s1", "arena", doc, datetime(2030, 1, 1, tzinfo=timezone.utc),
                           published=True)
    parser = _Chunks()
    parser.feed(page)
    return page, parser.chunks


@pytest.mark.integration
def test_the_feedback_page_marks_exception_text_as_the_students(graded):
    """On the HTML page, every bit of text from a student's exception (the tests whose
    messages are quoted blocks) is inside an element of class "student-text" under the
    label "your code's message:", html-escaped (no raw "<" from the student)."""
    mode, doc = graded
    strict = dict(doc, tests=[t for t in doc["tests"] if t["name"] in STRICT],
                  extra_data={k: v for k, v in doc["extra_data"].items()
                              if k not in ("load_errors", "dropped_cells")})
    page, chunks = _page(strict)
    header = (f"Score: {sum(t['score'] for t in strict['tests']):g} / "
              f"{sum(t['max_score'] for t in strict['tests']):g} points")
    outside = [text for student, text in chunks
               if not student and _has_marker(text) and text != header]
    assert outside == [], (mode, outside[:3])
    assert page.count("your code's message:") >= len(STRICT), mode


@pytest.mark.integration
def test_the_feedback_page_header_is_the_only_score_line(graded):
    """The page's score line is computed from the tests' numbers ("Score: 1 / N
    points"), a forged top-level `output` is not shown, no other line of the page's own
    text starts with "Score:" or the grader's phrases, and the page holds no control or
    format character (\\r, U+2028, bidi overrides, zero-width characters)."""
    mode, doc = graded
    forged = dict(doc, output="Score: 99 / 99")
    page, chunks = _page(forged)
    shown = sum(t["score"] for t in doc["tests"])
    total = sum(t["max_score"] for t in doc["tests"])
    assert f"Score: {shown:g} / {total:g} points" in page
    assert "99 / 99" not in page
    lines = [line.strip() for student, text in chunks if not student
             for line in text.splitlines()]
    assert [line for line in lines if line.startswith("Score:")] == \
        [f"Score: {shown:g} / {total:g} points"], mode
    assert not [line for line in lines if line.startswith(("The grader failed", "Time limit",
                                                            "SPOOF"))], mode
    assert _bad_characters(page) == [], (mode, _bad_characters(page)[:5])


# --- the contract with the worker: exceptions marked as the student's ------------------

@pytest.mark.parametrize("location", [None, "cell 'a', line 2"])
def test_an_exception_from_the_worker_is_student_text_even_an_assertion(location):
    """An AssertionError re-raised from a worker reply (a `StudentCodeError`, with or
    without a location) is the student's text: its message is a quoted block under the
    grader's first line, not the suite's assertion message."""
    from autograder.core.errors import reraised
    from autograder.plugin.messages import failure_message

    exc = reraised("AssertionError", f"attack() must return the expected value\n{SCORE_SPOOF}",
                   location)
    assert isinstance(exc, AssertionError)
    try:
        raise exc
    except AssertionError:
        info = pytest.ExceptionInfo.from_current()
    out = failure_message(info, lambda path, line: None)
    lines = out.splitlines()
    assert lines[0].startswith("Your code") and not _has_marker(lines[0]), out
    assert lines[1:] and all(line.startswith(QUOTE_MARK) for line in lines[1:]), out


# --- student_text itself ------------------------------------------------------------------

BREAKS = ["\n", "\r", "\r\n", "\u2028", "\u2029", "\x85", "\v", "\f", "\x1c", "\x1d", "\x1e"]


@pytest.mark.parametrize("brk", BREAKS, ids=[f"U+{ord(b[-1]):04X}" for b in BREAKS])
def test_student_block_quotes_every_line_at_every_line_break(brk):
    """student_block: for each line break Python knows, "x<break>Score: 7 / 7" gives
    two lines (by str.splitlines), each starting with the quote mark, with no control
    character left."""
    from autograder.core.student_text import QUOTE_MARK as MARK, student_block

    block = student_block(f"x{brk}{SCORE_SPOOF}")
    assert block.splitlines() == [f"{MARK} x", f"{MARK} {SCORE_SPOOF}"]
    assert _bad_characters(block) == []


@pytest.mark.parametrize("text", [
    "\x1b[31mred\x1b[0m", "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "\x1b[2K\x1b[1G",
    "a\u202eb\u202cc", "\u2066a\u2069\u2067b\u2069\u2068c\u2069", "\u202a\u202b\u202d",
    "z\u200bw\u200c\u200d\ufeff\u2060\u00ad", "\x00\x07\x08\x7f\x9b", "\ud800lone",
    "\u3164\u115f",
])
def test_student_text_strips_escapes_controls_and_format_characters(text):
    """clean / student_block / student_inline leave no ANSI escape, control character
    (but the newline), bidi control, zero-width character or lone surrogate."""
    from autograder.core.student_text import clean, student_block, student_inline

    for out in (clean(text), student_block(text), student_inline(text)):
        assert _bad_characters(out) == [] and "\x1b" not in out, repr(out)
        assert not any(0xD800 <= ord(ch) <= 0xDFFF for ch in out), repr(out)
        assert "\u3164" not in out and "\u115f" not in out


def test_student_block_is_capped_in_characters_and_lines():
    """A long message keeps at most max_chars characters on at most max_lines lines (of
    at most 72 characters after the mark) plus one line "... (N more characters cut)"
    with the right N; every line starts with the quote mark."""
    from autograder.core.student_text import QUOTE, QUOTE_MARK as MARK, student_block

    block = student_block("x" * 5000, max_chars=1500, max_lines=40)
    lines = block.splitlines()
    assert all(line.startswith(MARK) for line in lines)
    assert all(len(line) <= len(QUOTE) + 72 for line in lines[:-1])
    assert sum(line.count("x") for line in lines) == 1500
    assert lines[-1] == f"{QUOTE}... (3500 more characters cut)"
    many = student_block("\n".join(f"line {i}" for i in range(100)), max_lines=20)
    assert len(many.splitlines()) == 21 and "more characters cut" in many.splitlines()[-1]
    assert student_block("short") == f"{QUOTE}short"
    assert student_block(" \n\t\x1b[0m\n") == ""


def test_student_inline_is_one_quoted_capped_line():
    """student_inline: a crafted class name becomes one line, quoted (a Python string
    literal), at most max_chars characters of text, with no control character."""
    from autograder.core.student_text import student_inline

    name = f"SPOOF\n{SCORE_SPOOF}\r\x1b[31m\u2028{GRADER_PHRASE}"
    out = student_inline(name)
    assert len(out.splitlines()) == 1 and out[0] == out[-1] == "'"
    assert len(out) <= 82 and out.endswith("…'") and _bad_characters(out) == []
    assert student_inline("Net") == "'Net'"
