"""Text from records, file names and board declarations written into Markdown as text, never as markup.

A Markdown renderer runs raw HTML (``<script>``, ``<img onerror=...>``), follows link syntax
(``[x](javascript:...)``), and a newline or ``|`` ends a table row. Every string a README takes from
outside c3bench's own code goes through one of these:

* :func:`plain`: inline text (a heading, a paragraph, a table cell);
* :func:`code`: inline code (shown verbatim: a code span does not interpret HTML);
* :func:`link_target`: a relative link destination (percent-encoded: no ``)``, space or ``<`` can end it).
"""

from __future__ import annotations

from urllib.parse import quote

# Characters a renderer may read as markup in running text: backslash, code, emphasis, links, headings,
# table cells, images, strikethrough and GitHub's $math$. HTML's three are written as entities.
MARKUP = frozenset("\\`*_[]#|!~$")
# Control characters (a newline ends a table row or a heading) become spaces.
CONTROLS = {c: " " for c in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0))}


def plain(text: object) -> str:
    """``text`` as Markdown that renders to exactly that text, on one line. (An ``_`` between two letters
    or digits stays as it is: there it cannot start or end emphasis, and ``num_clients`` reads better.)"""
    value = str(text).translate(CONTROLS)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out = []
    for i, c in enumerate(value):
        intraword = c == "_" and 0 < i < len(value) - 1 and value[i - 1].isalnum() and value[i + 1].isalnum()
        out.append("\\" + c if c in MARKUP and not intraword else c)
    return "".join(out)


def code(text: object) -> str:
    """``text`` as an inline code span (a fence longer than any run of backticks inside it)."""
    value = str(text).translate(CONTROLS)
    longest = run = 0
    for c in value:
        run = run + 1 if c == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def link_target(path: str) -> str:
    """A relative path as a link destination: every character but letters, digits, ``/._-~`` encoded."""
    return quote(str(path), safe="/")
