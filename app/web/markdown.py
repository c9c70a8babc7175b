"""Student Markdown and code as safe HTML for the staff web app.

What holds for `render_markdown` and `render_code`:

- The text is first cleaned by `autograder.core.student_text.clean` (no control, bidi or
  zero-width characters survive). Markdown longer than `MAX_MARKDOWN_CHARS` after
  cleaning is cut there, and a visible paragraph "(answer cut at 200,000 characters)"
  follows the rendered part.
- Markdown is CommonMark (markdown-it-py) with tables and strikethrough; raw HTML in the
  input is never parsed as HTML, it shows as text. Images render as their alt text.
- `$...$` becomes `<span class="math inline">TeX</span>`; `$$...$$` on its own lines
  becomes `<div class="math block">TeX</div>`, and inside a paragraph
  `<span class="math block">TeX</span>` (display math that stays inside the paragraph).
  The TeX is HTML-escaped text; `static/js/math.js` typesets it in the browser with
  KaTeX (trust off).
- Fenced code with a language pygments knows is highlighted (`<div class="highlight">`
  with token spans); an unknown or empty language, or a block over
  `MAX_HIGHLIGHT_CHARS`, is an escaped `<pre><code>`.
- Everything passes through `nh3.clean` last, with an allow-list: only the tags in
  `ALLOWED_TAGS`, only the attributes in `ALLOWED_ATTRIBUTES`, only class values from
  `math`, `inline`, `block`, `highlight` and pygments token classes
  (`^[a-z]{1,3}[0-9]?$`), only http, https and mailto URLs (relative ones pass), and
  every link carries `rel="noopener noreferrer nofollow"`. No `style` attribute, no
  event handler, no script, image, frame, form, SVG or MathML element can come out.
- `pygments_css()` is the stylesheet for the highlighted blocks; the committed
  `static/css/pygments.css` equals it for the installed pygments.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup
from mdit_py_plugins.dollarmath import dollarmath_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from autograder.core.student_text import clean

MAX_MARKDOWN_CHARS = 200_000
MAX_HIGHLIGHT_CHARS = 50_000  # larger code blocks are shown escaped, not highlighted
CUT_NOTE = "(answer cut at 200,000 characters)"
_RAW_WINDOW = MAX_MARKDOWN_CHARS * 4  # raw characters cleaned at most (bounds the work)

ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "s",
    "code", "pre", "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr",
    "th", "td", "span", "div"})
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"}, "th": {"align"}, "td": {"align"},
    "span": {"class"}, "div": {"class"}, "pre": {"class"}, "code": {"class"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"
SAFE_CLASSES = frozenset({"math", "inline", "block", "highlight"})
_TOKEN_CLASS = re.compile(r"[a-z]{1,3}[0-9]?")
_ALIGN = re.compile(r"text-align:(left|right|center)")

_FORMATTER = HtmlFormatter(cssclass="highlight", nowrap=False)


def _class_filter(element: str, attribute: str, value: str) -> str | None:
    """nh3 attribute filter: of a class attribute keep only the safe class values."""
    if attribute != "class":
        return value
    kept = [name for name in value.split()
            if name in SAFE_CLASSES or _TOKEN_CLASS.fullmatch(name)]
    return " ".join(kept) or None


def _sanitise(html: str) -> str:
    return nh3.clean(html, tags=set(ALLOWED_TAGS), attributes=ALLOWED_ATTRIBUTES,
                     attribute_filter=_class_filter, url_schemes=set(URL_SCHEMES),
                     link_rel=LINK_REL, strip_comments=True)


def _plain_code(source: str) -> str:
    return f"<pre><code>{escapeHtml(source)}</code></pre>\n"


def _highlighted(source: str, language: str) -> str:
    """`source` highlighted as `language`, or escaped plainly when pygments does not know
    the language or the block is over `MAX_HIGHLIGHT_CHARS`."""
    if not language or len(source) > MAX_HIGHLIGHT_CHARS:
        return _plain_code(source)
    try:
        lexer = get_lexer_by_name(language)
    except ClassNotFound:
        return _plain_code(source)
    return highlight(source, lexer, _FORMATTER)


def _math(tag: str, kind: str, tex: str) -> str:
    return f'<{tag} class="math {kind}">{escapeHtml(tex.strip())}</{tag}>'


def _render_math_inline(self: RendererHTML, tokens: Sequence[Token], idx: int,
                        options: OptionsDict, env: EnvType) -> str:
    return _math("span", "inline", tokens[idx].content)


def _render_math_inline_double(self: RendererHTML, tokens: Sequence[Token], idx: int,
                               options: OptionsDict, env: EnvType) -> str:
    return _math("span", "block", tokens[idx].content)


def _render_math_block(self: RendererHTML, tokens: Sequence[Token], idx: int,
                       options: OptionsDict, env: EnvType) -> str:
    return _math("div", "block", tokens[idx].content) + "\n"


def _render_math_block_label(self: RendererHTML, tokens: Sequence[Token], idx: int,
                             options: OptionsDict, env: EnvType) -> str:
    # The label (`$$x$$ (eq1)`) is shown as text after the formula: no id, no anchor.
    token = tokens[idx]
    return (_math("div", "block", token.content) + "\n"
            + f"<p>({escapeHtml(token.info)})</p>\n")


def _render_fence(self: RendererHTML, tokens: Sequence[Token], idx: int,
                  options: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    words = token.info.strip().split(maxsplit=1)
    return _highlighted(token.content, words[0] if words else "")


def _render_image(self: RendererHTML, tokens: Sequence[Token], idx: int,
                  options: OptionsDict, env: EnvType) -> str:
    return escapeHtml(self.renderInlineAsText(tokens[idx].children or [], options, env))


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False})
    md.enable(["table", "strikethrough"])
    dollarmath_plugin(md, double_inline=True)
    md.add_render_rule("math_inline", _render_math_inline)
    md.add_render_rule("math_inline_double", _render_math_inline_double)
    md.add_render_rule("math_block", _render_math_block)
    md.add_render_rule("math_block_label", _render_math_block_label)
    md.add_render_rule("fence", _render_fence)
    md.add_render_rule("image", _render_image)
    return md


_MD = _parser()


def _align_cells(tokens: list[Token]) -> None:
    """Table cells: markdown-it's `style="text-align:x"` becomes `align="x"` (the
    sanitiser allows no style attribute)."""
    for token in tokens:
        if token.type in ("th_open", "td_open"):
            style = token.attrs.pop("style", None)
            found = _ALIGN.fullmatch(str(style)) if style is not None else None
            if found:
                token.attrs["align"] = found.group(1)


def render_markdown(text: str) -> Markup:
    """Student Markdown as safe HTML (see the module docstring for what holds)."""
    raw = str(text)
    cleaned = clean(raw[:_RAW_WINDOW])
    cut = len(raw) > _RAW_WINDOW or len(cleaned) > MAX_MARKDOWN_CHARS
    cleaned = cleaned[:MAX_MARKDOWN_CHARS]
    env: dict[str, Any] = {}
    tokens = _MD.parse(cleaned, env)
    _align_cells(tokens)
    html = _MD.renderer.render(tokens, _MD.options, env)
    if cut:
        html += f"<p><em>{escapeHtml(CUT_NOTE)}</em></p>\n"
    return Markup(_sanitise(html))


def render_code(source: str, language: str = "python") -> Markup:
    """A student's code cell as a highlighted block (escaped `<pre>` when pygments does
    not know `language`), cleaned and sanitised like Markdown."""
    return Markup(_sanitise(_highlighted(clean(source), language)))


def pygments_css() -> str:
    """The stylesheet for `.highlight` blocks (committed as static/css/pygments.css)."""
    return HtmlFormatter(cssclass="highlight").get_style_defs(".highlight")
