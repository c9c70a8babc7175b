"""Student Markdown as safe HTML (app/web/markdown.py) and the math typesetter (math.js).

The output is parsed with html.parser and checked by structure: which elements, which
attributes, which text inside them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import Markup

from app.web import markdown
from app.web.markdown import MAX_MARKDOWN_CHARS, pygments_css, render_code, render_markdown

REPO = Path(__file__).resolve().parent.parent
STATIC = REPO / "app" / "web" / "static"

FORBIDDEN_TAGS = {"script", "iframe", "style", "svg", "math", "img", "form", "object",
                  "embed", "link", "meta", "base", "input", "button", "textarea", "frame"}
SAFE_SCHEMES = {"http", "https", "mailto"}
TOKEN_CLASS = re.compile(r"[a-z]{1,3}[0-9]?")
VOID = {"br", "hr", "img", "input", "meta", "link", "base", "embed", "area", "col",
        "source", "track", "wbr", "param"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    text: str = ""
    children: list[Element] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())


class Collector(HTMLParser):
    """Every element of a fragment, with its attributes and all text inside it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.stack: list[Element] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs))
        if self.stack:
            self.stack[-1].children.append(element)
        self.elements.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.text += data
        for element in self.stack:
            element.text += data

    def all(self, tag: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag]


def parse(html: str) -> Collector:
    collector = Collector()
    collector.feed(str(html))
    collector.close()
    return collector


def scheme(url: str) -> str | None:
    """The URL's scheme as a browser reads it (control characters and whitespace are
    ignored, case does not matter), or None for a relative URL."""
    squeezed = re.sub(r"[\x00-\x20\x7f]", "", url).lower()
    found = re.match(r"([a-z][a-z0-9+.\-]*):", squeezed)
    return found.group(1) if found else None


def unsafe_parts(html: str) -> list[str]:
    """Everything in `html` that the sanitiser must never let through."""
    problems = []
    for element in parse(html).elements:
        if element.tag in FORBIDDEN_TAGS:
            problems.append(f"tag {element.tag}")
        for name, value in element.attrs.items():
            if name.startswith("on") or name in ("style", "id", "srcdoc", "formaction"):
                problems.append(f"attribute {name} on {element.tag}")
            if name in ("href", "src", "action", "xlink:href") and value is not None:
                if scheme(value) not in SAFE_SCHEMES | {None}:
                    problems.append(f"{name}={value!r}")
            if name == "class":
                bad = {c for c in (value or "").split() if c not in
                       {"math", "inline", "block", "highlight"} and not TOKEN_CLASS.fullmatch(c)}
                if bad:
                    problems.append(f"classes {bad}")
    return problems


XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x]( javascript:alert(1) )",
    "[x](java\tscript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "[x]: javascript:alert(1)\n\n[x]",
    "<javascript:alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "<svg onload=alert(1)>",
    '<iframe src="https://evil/"></iframe>',
    "<style>body{display:none}</style>",
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    r"$\href{javascript:alert(1)}{x}$",
    "$<img src=x onerror=alert(1)>$",
    "$$<script>alert(1)</script>$$",
    "$$\n</div><script>alert(1)</script>\n$$",
    "```html\n<script>alert(1)</script>\n```",
    "```<script>\nx\n```",
    '```python" onmouseover="alert(1)\nx = 1\n```',
    "![x](https://evil/x.png)",
    '![x" onerror="alert(1)](https://evil/x.png)',
    '<a href="https://ok/" onclick="alert(1)">x</a>',
    '<form action="https://evil/"><input name=a></form>',
    '<div class="x" style="position:fixed">hi</div>',
    '<span class="button secondary katex-display">hi</span>',
    "<object data=x></object><embed src=x>",
    "<!-- comment --><p>x</p>",
    '[x](https://ok/ "t\\" onmouseover=\\"alert(1)")',
    "<details open ontoggle=alert(1)>",
    "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
]


@pytest.mark.parametrize("payload", XSS)
def test_no_payload_survives_as_markup(payload):
    html = render_markdown(payload)
    assert isinstance(html, Markup)
    assert unsafe_parts(html) == []
    # every payload that has a tag in it is still visible to the reader, as text
    if "<" in payload and not payload.startswith(("<!--", "```<")):  # a fence's info is not shown
        assert "<" in parse(html).text


@pytest.mark.parametrize("payload", [p for p in XSS if "<" in p])
def test_the_sanitiser_alone_stops_raw_html(payload, monkeypatch):
    # with markdown-it passing raw HTML through, nh3's allow-list still holds
    monkeypatch.setitem(markdown._MD.options, "html", True)
    assert parse(render_markdown("<strong>raw</strong>")).all("strong")[0].text == "raw"
    assert unsafe_parts(render_markdown(payload)) == []


def test_the_checker_itself_catches_what_it_must():
    # the structural checks above would fail on unsanitised HTML
    assert unsafe_parts('<script>x</script>') == ["tag script"]
    assert unsafe_parts('<a href=" JaVa\tScript:x">y</a>') == ["href=' JaVa\\tScript:x'"]
    assert sorted(unsafe_parts('<span class="math evil" onclick="x">y</span>')) == [
        "attribute onclick on span", "classes {'evil'}"]
    assert unsafe_parts('<a href="/relative">y</a><a href="https://x/">z</a>') == []


def test_raw_html_shows_as_text_not_as_tags():
    out = parse(render_markdown('<b onclick="x">bold</b>\n\n<div>block</div>'))
    assert [e.tag for e in out.elements] == ["p", "p"]
    assert '<b onclick="x">bold</b>' in out.text and "<div>block</div>" in out.text


def test_headings_lists_emphasis():
    out = parse(render_markdown("# Title\n\n## Sub\n\n- *one*\n- **two**\n- ~~three~~\n\n"
                                "1. first\n2. second\n\n> quoted"))
    assert [(e.tag, e.text) for e in out.all("h1") + out.all("h2")] == [("h1", "Title"),
                                                                        ("h2", "Sub")]
    ul, ol = out.all("ul")[0], out.all("ol")[0]
    assert [li.text for li in ul.children] == ["one", "two", "three"]
    assert [child.tag for li in ul.children for child in li.children] == ["em", "strong", "s"]
    assert [li.text for li in ol.children] == ["first", "second"]
    assert out.all("blockquote")[0].text.strip() == "quoted"


def test_a_table_keeps_its_alignment_without_style():
    out = parse(render_markdown("| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |"))
    assert len(out.all("table")) == 1
    assert [(th.text, th.attrs.get("align")) for th in out.all("th")] == [
        ("a", "left"), ("b", "center"), ("c", "right")]
    assert [td.text for td in out.all("td")] == ["1", "2", "3"]
    assert all("style" not in e.attrs for e in out.elements)


def test_a_link_gets_rel_noopener_and_keeps_its_href():
    out = parse(render_markdown('See [the docs](https://example.org/a?b=1&c=2 "Docs") and '
                                "<https://example.org/auto>."))
    links = out.all("a")
    assert [(a.text, a.attrs["href"]) for a in links] == [
        ("the docs", "https://example.org/a?b=1&c=2"),
        ("https://example.org/auto", "https://example.org/auto")]
    assert links[0].attrs.get("title") == "Docs"
    assert all(set(a.attrs["rel"].split()) == {"noopener", "noreferrer", "nofollow"}
               for a in links)


def test_a_javascript_link_is_not_a_link():
    out = parse(render_markdown("[x](javascript:alert(1)) [y](mailto:a@b.de)"))
    assert [a.attrs["href"] for a in out.all("a")] == ["mailto:a@b.de"]
    assert "[x](javascript:alert(1))" in out.text


def test_inline_and_block_math_are_escaped_tex_in_marked_elements():
    out = parse(render_markdown("Let $a<b$ and $$x^2$$ hold.\n\n$$\n\\frac{1}{2} < c\n$$"))
    inline = [e for e in out.elements if e.classes == {"math", "inline"}]
    assert [(e.tag, e.text, e.children) for e in inline] == [("span", "a<b", [])]
    display = [e for e in out.elements if e.classes == {"math", "block"}]
    assert [(e.tag, e.text) for e in display] == [("span", "x^2"), ("div", "\\frac{1}{2} < c")]
    assert all(e.children == [] for e in display)
    assert "a&lt;b" in render_markdown("$a<b$")


def test_a_math_label_is_text_not_an_id():
    out = parse(render_markdown("$$y$$ (eq1)"))
    assert [(e.tag, e.text) for e in out.elements if "math" in e.classes] == [("div", "y")]
    assert "(eq1)" in out.text and out.all("a") == []


def test_a_python_fence_is_highlighted():
    out = parse(render_markdown("```python\ndef f(x):\n    return x < 1\n```"))
    block = [e for e in out.elements if "highlight" in e.classes]
    assert [e.tag for e in block] == ["div"]
    tokens = [e for e in out.all("span") if e.classes]
    assert {"k", "nf"} <= set().union(*(e.classes for e in tokens))
    assert block[0].text.strip() == "def f(x):\n    return x < 1"


def test_an_unknown_or_empty_language_fence_is_plain_escaped_code():
    for fence in ("```nosuchlanguage\n<b>x</b>\n```", "```\n<b>x</b>\n```"):
        out = parse(render_markdown(fence))
        assert [e.tag for e in out.elements] == ["pre", "code"]
        assert out.all("code")[0].text == "<b>x</b>\n"
        assert all(not e.classes for e in out.elements)


def test_a_huge_code_block_is_not_highlighted():
    source = "x = 1\n" * 10_000  # 60,000 characters
    out = parse(render_markdown(f"```python\n{source}```"))
    assert [e.tag for e in out.elements] == ["pre", "code"]
    assert out.all("code")[0].text == source


def test_an_image_becomes_its_alt_text():
    out = parse(render_markdown("before ![a *cat* picture](https://evil/x.png) after"))
    assert out.all("img") == [] and out.all("a") == []
    assert out.text.strip() == "before a cat picture after"
    assert "evil" not in render_markdown("![x](https://evil/x.png)")


def test_control_and_bidi_characters_are_removed():
    out = parse(render_markdown("abc\u202edef\u200b\x07 *x\u2066y*"))
    assert out.text.strip() == "abcdef xy"
    assert out.all("em")[0].text == "xy"


def test_over_long_input_is_cut_with_a_visible_note():
    text = "word " * (MAX_MARKDOWN_CHARS // 5 + 1000)
    out = parse(render_markdown(text))
    paragraphs = out.all("p")
    assert paragraphs[-1].text == "(answer cut at 200,000 characters)"
    assert len(out.text) < MAX_MARKDOWN_CHARS + 100
    short = parse(render_markdown("word " * 10))
    assert "cut" not in short.text


def test_the_note_is_outside_an_unclosed_code_block():
    out = parse(render_markdown("```\n" + "y" * (MAX_MARKDOWN_CHARS + 10)))
    assert out.all("p")[-1].text == "(answer cut at 200,000 characters)"
    assert "answer cut" not in out.all("code")[0].text


def test_render_code_highlights_and_escapes():
    out = parse(render_code("x = 1  # <b>"))
    assert isinstance(render_code("x"), Markup)
    assert [e.tag for e in out.elements if "highlight" in e.classes] == ["div"]
    assert {"n", "o", "mi", "c1"} <= set().union(*(e.classes for e in out.all("span")))
    assert out.all("b") == [] and "<b>" in out.text


def test_render_code_with_an_unknown_language_is_an_escaped_pre():
    out = parse(render_code("<script>alert(1)</script>", "nosuchlanguage"))
    assert [e.tag for e in out.elements] == ["pre", "code"]
    assert out.all("code")[0].text == "<script>alert(1)</script>"


def test_the_committed_pygments_css_is_the_installed_pygments_style():
    committed = (STATIC / "css" / "pygments.css").read_text(encoding="utf-8")
    assert committed == pygments_css()
    assert ".highlight .k " in committed


def test_the_templates_have_the_markdown_and_code_filters():
    from app.web.pages import templates
    page = templates.env.from_string("{{ a | markdown }}{{ b | code }}{{ c }}")
    out = parse(page.render(a="*x* <i>", b="y = 2", c="<u>"))
    assert [e.tag for e in out.elements if e.tag in ("em", "i", "u")] == ["em"]
    assert any("highlight" in e.classes for e in out.elements)
    assert "<i>" in out.text and "<u>" in out.text


MATH_JS_HARNESS = r"""
const fs = require("fs");
function el(cls, text) {
  const attrs = {};
  return {textContent: text, classList: {contains: c => cls.split(" ").includes(c)},
          cls, getAttribute: n => (n in attrs ? attrs[n] : null),
          setAttribute: (n, v) => { attrs[n] = String(v); }, attrs};
}
const all = [el("math inline", "a<b"), el("math block", "x^2"), el("math inline", "c")];
const sub = [all[2]];
let loaded = null, swapped = null;
global.window = global;
global.document = {
  querySelectorAll: sel => all.slice(0, 3),  // the swapped-in element comes later
  addEventListener: (name, fn) => { if (name === "DOMContentLoaded") loaded = fn; },
  body: {addEventListener: (name, fn) => { if (name === "htmx:afterSwap") swapped = fn; }},
};
eval(fs.readFileSync(process.argv[2], "utf8"));
const before = typeof window.fdlTypeset;
window.fdlTypeset(document);  // no katex yet: nothing happens, nothing breaks
const untouched = all.every(e => e.getAttribute("data-typeset") === null);
const calls = [];
window.katex = {render: (tex, node, opts) => calls.push([tex, node.cls, opts])};
loaded();
window.fdlTypeset(document);  // already typeset: not again
swapped({target: {querySelectorAll: sel => sub}});
all.push(el("math block", "new"));
swapped({target: {querySelectorAll: sel => [all[3]]}});
console.log(JSON.stringify({before, untouched, calls,
  marks: all.map(e => e.getAttribute("data-typeset"))}));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run math.js")
def test_math_js_typesets_each_math_element_once_with_trust_off(tmp_path):
    harness = tmp_path / "harness.js"
    harness.write_text(MATH_JS_HARNESS, encoding="utf-8")
    done = subprocess.run(["node", str(harness), str(STATIC / "js" / "math.js")],
                          capture_output=True, text=True, timeout=60, check=True)
    result = json.loads(done.stdout)
    assert result["before"] == "function" and result["untouched"] is True
    options = {"throwOnError": False, "trust": False, "strict": "ignore", "maxSize": 20,
               "maxExpand": 200, "output": "htmlAndMathml"}
    assert result["calls"] == [
        ["a<b", "math inline", {"displayMode": False, **options}],
        ["x^2", "math block", {"displayMode": True, **options}],
        ["c", "math inline", {"displayMode": False, **options}],
        ["new", "math block", {"displayMode": True, **options}]]
    assert result["marks"] == ["1", "1", "1", "1"]


def test_math_js_is_a_file_of_its_own_and_no_template_has_inline_script():
    base = (REPO / "app" / "web" / "templates" / "base.html").read_text(encoding="utf-8")
    assert '<script src="/static/js/math.js" defer></script>' in base
    for template in (REPO / "app" / "web" / "templates").rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", text, re.S)
        assert all("src=" in attrs and body.strip() == "" for attrs, body in scripts), template
        assert not re.search(r"\son[a-z]+\s*=", text), template


def test_the_vendored_front_end_files_are_the_pinned_ones():
    """Every file under static/vendor/ is listed in its MANIFEST.json with its sha256
    (`make vendor` fetches them from npm again), and nothing unlisted sits beside them."""
    import hashlib
    import json

    vendor = Path(__file__).resolve().parent.parent / "app" / "web" / "static" / "vendor"
    manifest = json.loads((vendor / "MANIFEST.json").read_text())
    present = {str(p.relative_to(vendor)) for p in vendor.rglob("*")
               if p.is_file() and p.name != "MANIFEST.json"}
    assert present == set(manifest["sha256"])
    for name, digest in manifest["sha256"].items():
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest, name
    assert {name.split("/")[0] for name in present} == set(manifest["packages"])
