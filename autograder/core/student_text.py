"""Student text in feedback: cleaned, capped and visibly quoted.

Text a student controls (exception messages and type names from their code, load
errors of their cells, lines of their source) reaches feedback only through this
module, so it can never pass for the grader's own words:

- `clean` is the one cleaning rule: ANSI escape sequences, control characters (all
  below 0x20 except the newline, DEL, C1), format characters (bidi embeddings, overrides
  and isolates U+202A-U+202E and U+2066-U+2069, zero-width characters, soft hyphen, BOM),
  lone surrogates and invisible filler letters are removed; every line break Python
  knows (\\r\\n, \\r, \\v, \\f, \\x1c-\\x1e, \\x85, U+2028, U+2029) becomes \\n; tabs
  become spaces and unusual spaces a plain space.
- `student_block` shows text as a quoted block: every line starts with `QUOTE_MARK`,
  which no line of the grader's own starts with.
- `student_inline` and `one_line` keep text on one line, inside a sentence of the grader.

Standard library only (the release bundle's checker may copy it).
"""

from __future__ import annotations

import re
import textwrap
import unicodedata

QUOTE_MARK = "    |"  # every line of a student block starts with it; no grader line does
QUOTE = QUOTE_MARK + " "
WRAP = 72  # characters of student text per line, so a quoted line fits 80 columns
_WINDOW = 16  # raw characters looked at per character shown (bounds the work on huge text)

_ANSI = re.compile(r"""
      \x1b\[[0-?]*[ -/]*[@-~]?             # CSI: colours, cursor moves, erasing
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?   # OSC: titles, hyperlinks
    | \x1b[PX^_][^\x1b]*(?:\x1b\\)?        # DCS, SOS, PM, APC strings
    | \x1b[ -/]*[0-~]?                     # every other escape
""", re.VERBOSE)
_BREAK = re.compile(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
_SPACES = re.compile(r"\s+")


def clean(text: object) -> str:
    """`text` with the cleaning rule applied (see the module docstring).

    What holds: the result contains no character below 0x20 other than \\n, no DEL or
    C1 control, no Unicode format character and no line break other than \\n; lines
    carry no trailing spaces and there are no blank lines at either end.
    """
    text = _ANSI.sub("", str(text))
    text = _BREAK.sub("\n", text).expandtabs(4)
    kept = []
    for ch in text:
        if ch == "\n":
            kept.append(ch)
            continue
        category = unicodedata.category(ch)
        if category in _DROPPED_CATEGORIES or ch in _INVISIBLE_LETTERS:
            continue
        kept.append(" " if category == "Zs" else ch)
    lines = [line.rstrip() for line in "".join(kept).split("\n")]
    return "\n".join(lines).strip("\n")


def _head(text: object, max_chars: int) -> tuple[str, int]:
    """(the first characters of `text` worth cleaning, how many raw characters follow)."""
    text = str(text)
    window = max_chars * _WINDOW + 256
    return text[:window], max(len(text) - window, 0)


def student_block(text: object, max_chars: int = 1500, max_lines: int = 20) -> str:
    """Student text as a quoted block, or "" when nothing is left after cleaning.

    What holds: every line of the result starts with `QUOTE_MARK`; it shows at most
    `max_chars` characters of the cleaned text on at most `max_lines` lines of at most
    `WRAP` characters (after the mark), and when anything was left out, one more line
    says "... (N more characters cut)".
    """
    head, rest = _head(text, max_chars)
    cleaned = clean(head)
    if not cleaned:
        return ""
    shown_text = cleaned[:max_chars]
    lines: list[str] = []
    shown = 0  # characters of `cleaned` the kept lines represent
    logicals = shown_text.split("\n")
    for i, logical in enumerate(logicals):
        pieces = textwrap.wrap(logical, WRAP, break_long_words=True,
                               break_on_hyphens=False) or [""]
        if len(lines) + len(pieces) > max_lines:
            room = max_lines - len(lines)
            lines.extend(pieces[:room])
            shown += sum(len(p) for p in pieces[:room])
            break
        lines.extend(pieces)
        shown += len(logical) + (i < len(logicals) - 1)
    cut = max(len(cleaned) - shown, 0) + rest
    out = [QUOTE + line if line else QUOTE_MARK for line in lines]
    if cut:
        out.append(f"{QUOTE}... ({cut} more characters cut)")
    return "\n".join(out)


def one_line(text: object, max_chars: int = 300) -> str:
    """Text cleaned and folded onto one line (line breaks and runs of spaces become one
    space), at most `max_chars` characters (the last one "…" when cut). For a grader's
    sentence that embeds student text: it can never start a line of its own."""
    head, rest = _head(text, max_chars)
    flat = _SPACES.sub(" ", clean(head)).strip()
    if len(flat) > max_chars or rest:
        flat = flat[:max(max_chars - 1, 0)].rstrip() + "…"
    return flat


def student_inline(text: object, max_chars: int = 80) -> str:
    """Student text to embed in a grader's sentence (a type or object name): one line,
    cleaned, at most `max_chars` characters, and quoted (Python's repr of the string)."""
    return repr(one_line(text, max_chars))


def quoted_segments(text: str) -> list[tuple[bool, str]]:
    """Split feedback text into runs of (is student text, text): the student runs are
    the lines that start with `QUOTE_MARK`, given without it (for HTML, which marks them
    by an element instead)."""
    segments: list[tuple[bool, list[str]]] = []
    for line in str(text).split("\n"):
        student = line.startswith(QUOTE_MARK)
        if student:
            line = line[len(QUOTE):] if line.startswith(QUOTE) else line[len(QUOTE_MARK):]
        if segments and segments[-1][0] == student:
            segments[-1][1].append(line)
        else:
            segments.append((student, [line]))
    return [(student, "\n".join(lines)) for student, lines in segments]
