"""HTML -> faithful Markdown (no Spark): main content found with selectolax (Lexbor), converted by
html-to-markdown (Rust).

1. Parse once with Lexbor; drop what is never content: scripts and styles, forms, ``nav``/``aside``/``footer``,
   ARIA navigation/banner/contentinfo/search landmarks, and the navigation blocks documentation generators
   write (DocBook ``navheader``/``navfooter`` and tables of contents, Sphinx ``related`` bars, sidebars and
   ``¶`` header links, Doxygen's top bar and nav path, texinfo ``nav-panel``, mdBook's menu and sidebar),
   cookie banners, breadcrumbs and skip links.
2. Pick the main content: ``main``, ``[role=main]``, ``article`` or Sphinx's ``div.body``; otherwise the body.
3. Give generator-specific markup its meaning: Doxygen's page title ``div.title`` becomes ``<h1>``, Doxygen
   code fragments (``div.line`` rows) become ``<pre>`` blocks, line-number gutters are dropped.
4. Convert with html-to-markdown: ``#`` headings, fenced code blocks with indentation and blank lines intact,
   lists, tables as Markdown tables, link text without URLs, no escaping of characters that are not
   Markdown syntax (``CREATE ROLE name [ [ WITH ] option ]`` stays as written).
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

from lakeprep.text.markdown import fence_state

__all__ = ["html_to_markdown"]

_DROP = ", ".join(
    [
        "script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed", "form", "button",
        "input", "select", "textarea", "nav", "aside", "footer", "body > header", "[hidden]", "[aria-hidden=true]",
        "[role=navigation]", "[role=banner]", "[role=contentinfo]", "[role=search]",
        # DocBook (xsltproc), Sphinx, Doxygen, texinfo, mdBook, common site chrome
        ".navheader", ".navfooter", "div.toc", ".list-of-tables", ".list-of-figures", ".list-of-examples",
        ".related", ".sphinxsidebar", ".sphinxsidebarwrapper", ".headerlink", ".footer", "div.header-bar",
        ".copiable-link", "#top", "#nav-path", ".navpath", "#side-nav", "#nav-tree", ".nav-panel", "#titlearea", "#MSearchBox", "div.summary",
        "div.dynheader", "div.dyncontent",
        "#MSearchSelectWindow", "#MSearchResultsWindow", ".linenos", "td.linenos", ".copybtn",
        "#sidebar", ".sidebar", "#menu-bar", ".menu-bar", ".nav-chapters", ".nav-wrapper", ".breadcrumb",
        ".breadcrumbs", "#breadcrumbs", ".cookie", ".cookie-banner", "#cookie-banner", ".cookie-consent",
        ".skip-link", ".skiplink", ".visually-hidden", ".sr-only", "hr",
    ]
)  # fmt: skip
_MAIN = ("main", "[role=main]", "article", "div.body", "div[itemprop=articleBody]")
_BLANK_RUNS = re.compile(r"\n{3,}")


@lru_cache(maxsize=1)
def _options():  # type: ignore[no-untyped-def]
    from html_to_markdown import ConversionOptions, PreprocessingOptions

    return ConversionOptions(
        heading_style="atx",
        bullets="-",
        list_indent_width=2,
        escape_asterisks=False,
        escape_underscores=False,
        escape_misc=False,
        escape_ascii=False,
        autolinks=False,
        extract_metadata=False,
        skip_images=True,
        strip_tags=["a", "abbr", "span", "font"],
        code_block_style="backticks",
        whitespace_mode="normalized",
        newline_style="backslash",
        compact_tables=True,
        preprocessing=PreprocessingOptions(enabled=False),
    )


def html_to_markdown(page: str) -> str:
    """The main content of an HTML page as Markdown; ``""`` when it has no text."""
    from html_to_markdown import convert
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(page)
    for node in tree.css("div.header"):  # texinfo's "Next: / Previous: / Up:" bar; Doxygen keeps its title there
        if node.css_first("div.headertitle") is None:
            node.decompose()
    for node in tree.css(_DROP):
        node.decompose()
    for node in tree.css("div.note, div.tip, div.warning, div.caution, div.important"):
        for title in node.css("th"):  # DocBook lays admonitions out as tables: title and body as paragraphs
            title.replace_with(LexborHTMLParser(f"<p>{html.escape(title.text(deep=True).strip())}</p>").css_first("p"))
        node.unwrap_tags(["table", "thead", "tbody", "tr", "td"])
    root = next((n for n in (tree.css_first(sel) for sel in _MAIN) if n is not None), None) or tree.body
    if root is None:
        return ""
    _doxygen(root)
    markdown = convert(root.html or "", _options()).content
    return _BLANK_RUNS.sub("\n\n", _join_soft_breaks(markdown)).strip()


_BLOCK_START = re.compile(r"\s|#|\||>|[-*+] |\d+[.)] |```|~~~")


def _join_soft_breaks(markdown: str) -> str:
    """Join the source's line wrapping inside paragraphs (a newline in HTML text is a space); keep ``<br>``
    breaks (written as a trailing backslash by the converter, removed here), code blocks, lists and tables."""
    out: list[str] = []
    fence = ""  # the open code fence, if any
    joinable = False  # the previous line is plain paragraph text that the next one may continue
    for line in markdown.split("\n"):
        fence, in_code = fence_state(fence, line)
        if in_code:
            out.append(line)
            joinable = False
            continue
        hard = line.endswith("\\")
        if hard:
            line = line[:-1].rstrip()
        plain = bool(line) and not _BLOCK_START.match(line)
        if joinable and plain:
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
        joinable = plain and not hard
    return "\n".join(out)


def _doxygen(root) -> None:  # type: ignore[no-untyped-def]
    """Doxygen marks its page title and code up without ``h1``/``pre``: give them that meaning."""
    from selectolax.lexbor import LexborHTMLParser

    for title in root.css("div.headertitle > div.title"):
        title.replace_with(LexborHTMLParser(f"<h1>{html.escape(title.text(deep=True).strip())}</h1>").css_first("h1"))
    for table in root.css("table.memberdecls"):  # member lists: their h2 headings sit inside table rows
        parts = []
        for row in table.css("tr"):
            heading = row.css_first("h2, h3")
            text = " ".join(row.text(deep=True, separator=" ").split())
            if heading is not None:
                parts.append(f"<{heading.tag}>{html.escape(text)}</{heading.tag}>")
            elif text:
                parts.append(f"<p>{html.escape(text)}</p>")
        block = LexborHTMLParser(f"<div>{''.join(parts)}</div>").css_first("div")
        if block is not None:
            table.replace_with(block)
    for fragment in root.css("div.fragment"):
        lines = [line.text(deep=True) for line in fragment.css("div.line")]
        if lines:
            code = html.escape("\n".join(lines))
            fragment.replace_with(LexborHTMLParser(f"<pre>{code}</pre>").css_first("pre"))
