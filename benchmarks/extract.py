"""HTML extraction fidelity and speed on real documentation: lakeprep vs trafilatura, resiliparse, inscriptis,
html-to-markdown (whole page), one process each, the same pages.

    pip install -e '.[bench]'
    apt-get install debian-reference-en maint-guide sphinx-doc python-requests-doc libsdl2-doc libjson-c-doc \\
        bash-doc autoconf-doc git-doc
    python benchmarks/extract.py --pages 300

Ground truth comes from the HTML itself (benchmarks/pii_corpus.py lists the packages; ``postgresql-doc-*`` and
``python3*-doc`` are held out and never read):
- headings: the text of every h1-h6 outside navigation (nav, sidebars, tables of contents, nav bars), plus
  Doxygen's page title; recall = share found as a ``#`` line, in document order;
- code blocks: every ``pre`` (and Doxygen ``div.fragment``) outside navigation; recall = share whose non-blank
  lines appear as consecutive lines of the output (whitespace inside a line normalized);
- boilerplate: texts (>= 25 characters) of navigation/footer nodes; leakage = share of pages where one appears;
- escape noise: ``\\[ \\] \\_ \\* \\# \\< \\>`` per MB of output.

Then silver and gold on lakeprep's output (normalized as silver does):
- quality rejects per profile (``web``, ``docs``) and, as the "before" figure, trafilatura + ``web``;
- chunks (512 tokens, 64 overlap) of pages that have headings that carry a non-empty ``section_path``;
- code blocks that fit in a chunk: kept whole in some chunk, and chunk ends that fall inside a code line.
Figures only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import html_pages  # noqa: E402
from pii_corpus import DOC_PACKAGES  # noqa: E402

_NAV = (
    "nav, aside, footer, .navheader, .navfooter, div.toc, .related, .sphinxsidebar, #top, #nav-path, .navpath, "
    "#side-nav, .nav-panel, #sidebar, .sidebar, #menu-bar, .breadcrumb, .breadcrumbs"
)
_ESCAPES = re.compile(r"\\[\[\]_*#<>]")
_WS = re.compile(r"\s+")
_INLINE = re.compile(r"[`*]")  # inline code / emphasis markup inside a heading line


def pages_of(packages: tuple[str, ...], limit: int, rng: random.Random) -> list[str]:
    paths = html_pages(packages)
    rng.shuffle(paths)
    return paths[:limit]


def truth(page: str) -> tuple[list[str], list[list[str]], list[str]]:
    """(headings, code blocks as lists of non-blank lines, boilerplate strings) of a page."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(page)
    boiler = [_WS.sub(" ", n.text(deep=True)).strip() for n in tree.css(_NAV)]
    for n in tree.css(_NAV + ", script, style, .headerlink, .linenos"):  # line numbers are not code
        n.decompose()
    content = _WS.sub(" ", tree.body.text(deep=True)) if tree.body else ""
    boiler = [b for b in boiler if len(b) >= 25 and b not in content]  # nav text that is not also content
    heads = [_INLINE.sub("", _WS.sub(" ", n.text(deep=True))).strip() for n in tree.css("h1, h2, h3, h4, h5, h6, div.headertitle > div.title")]
    codes = []
    for n in tree.css("pre, div.fragment"):
        if n.tag == "pre" and n.parent is not None and n.parent.css_matches("div.fragment"):
            continue
        text = "\n".join(x.text(deep=True) for x in n.css("div.line")) if n.tag == "div" else n.text(deep=True)
        lines = [_WS.sub(" ", x).strip() for x in text.splitlines() if x.strip()]
        if lines:
            codes.append(lines)
    return [h for h in heads if h], codes, boiler


def score(md: str, heads: list[str], codes: list[list[str]], boiler: list[str]) -> tuple[int, int, int, bool, int]:
    lines = [_WS.sub(" ", x).strip() for x in md.splitlines()]
    head_lines = [_INLINE.sub("", x.lstrip("#")).strip() for x in lines if x.startswith("#")]
    found_h, pos = 0, 0
    for h in heads:  # in order
        for i in range(pos, len(head_lines)):
            if head_lines[i] == h or head_lines[i].startswith(h):
                found_h, pos = found_h + 1, i + 1
                break
    blob = "\n".join(x for x in lines if x) + "\n"
    found_c = sum(1 for c in codes if ("\n".join(c) + "\n") in blob or ("\n" + "\n".join(c) + "\n") in "\n" + blob)
    flat = _WS.sub(" ", md)
    leaked = any(b in flat for b in boiler)
    return found_h, found_c, len(_ESCAPES.findall(md)), leaked, len(md.encode())


def silver_figures(outs: list[str], before: list[str]) -> str:
    """Quality rejects per profile, section-path coverage and code-block integrity of the chunks."""
    from collections import Counter

    from lakeprep.chunking._kernels import chunk_document, section_headings
    from lakeprep.text.markdown import code_line_mask
    from lakeprep.text.normalize import normalize_text
    from lakeprep.text.quality import PROFILES, quality_reasons, quality_signals
    from lakeprep.tokenizers import get_encoding

    texts = [normalize_text(o) for o in outs]
    old = [normalize_text(o) for o in before]
    lines = []
    for label, docs, prof in (("web", texts, "web"), ("docs", texts, "docs"), ("before: trafilatura+web", old, "web")):
        t = PROFILES[prof]
        reasons = [quality_reasons(quality_signals(d, code_aware=t.code_aware), t) for d in docs]
        rejected = [r for r in reasons if r]
        why = Counter(x.split(":")[0] for r in rejected for x in r)
        # pages whose content is a title and nothing else (Doxygen "File Reference" stubs of empty files)
        stubs = sum(1 for d, r in zip(docs, reasons) if r and len(d.split()) < 5)
        lines.append(
            f"  rejects {label:<24} {len(rejected):4d}/{len(docs)} ({len(rejected) / max(len(docs), 1):6.1%}), "
            f"{stubs} of them pages of < 5 words; {dict(why.most_common(4))}"
        )
    enc = get_encoding("cl100k_base")
    with_path = total = fit = whole = mid_line = 0
    for d in texts:
        chunks = chunk_document(d, enc, chunk_size=512, chunk_overlap=64)
        if section_headings(d):
            total += len(chunks)
            with_path += sum(1 for c in chunks if c.section_path)
        ls = d.split("\n")
        mask = code_line_mask(ls)
        offs, o = [], 0
        for x in ls:
            offs.append(o)
            o += len(x) + 1
        inside = set()  # character offsets strictly inside a code line
        i = 0
        while i < len(ls):
            if not mask[i]:
                i += 1
                continue
            j = i
            while j < len(ls) and mask[j]:
                inside.update(range(offs[j] + 1, offs[j] + len(ls[j])))
                j += 1
            block = d[offs[i] : offs[j - 1] + len(ls[j - 1])]
            if len(enc.encode_ordinary(block)) <= 512 - 64:
                fit += 1
                whole += any(c.char_start <= offs[i] and offs[j - 1] + len(ls[j - 1]) <= c.char_end for c in chunks)
            i = j
        mid_line += sum(1 for c in chunks[:-1] if c.char_end in inside)
    lines.append(
        f"  chunks with a section_path (pages with headings): {with_path}/{total} ({with_path / max(total, 1):.1%}); "
        f"code blocks that fit kept whole: {whole}/{fit}; chunk ends inside a code line: {mid_line}"
    )
    return "\n".join(lines)


def extractors() -> dict[str, Callable[[str], str]]:
    from lakeprep.text.html_md import html_to_markdown

    def trafilatura_md(page: str) -> str:
        import trafilatura

        return trafilatura.extract(page, output_format="markdown", include_tables=True, include_links=False, favor_recall=True, deduplicate=False) or ""

    def resiliparse_main(page: str) -> str:
        from resiliparse.extract.html2text import extract_plain_text

        return extract_plain_text(page, main_content=True, preserve_formatting=True, list_bullets=True)

    def inscriptis_text(page: str) -> str:
        from inscriptis import get_text

        return get_text(page)

    def h2m_whole(page: str) -> str:
        from html_to_markdown import ConversionOptions, convert

        return convert(page, ConversionOptions(extract_metadata=False)).content

    return {
        "lakeprep": html_to_markdown,
        "trafilatura": trafilatura_md,
        "resiliparse": resiliparse_main,
        "inscriptis": inscriptis_text,
        "html-to-markdown": h2m_whole,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300, help="pages per corpus (random sample)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", default="", help="comma-separated extractors to run (default: all)")
    parser.add_argument("--show", type=int, default=2, help="random output excerpts to print per corpus (lakeprep)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    ex = extractors()
    if args.only:
        ex = {k: v for k, v in ex.items() if k in args.only.split(",") or k in ("lakeprep", "trafilatura")}
    print(f"{'corpus':<44} {'extractor':<17} {'MB/s':>6} {'head R':>7} {'code R':>7} {'leak':>6} {'esc/MB':>7}")
    for family, packages in DOC_PACKAGES.items():
        paths = pages_of(packages, args.pages, rng)
        if not paths:
            print(f"{family}: not installed")
            continue
        pages = [Path(p).read_text(encoding="utf-8", errors="replace") for p in paths]
        mb = sum(len(p.encode()) for p in pages) / 1e6
        truths = [truth(p) for p in pages]
        n_h = sum(len(t[0]) for t in truths)
        n_c = sum(len(t[1]) for t in truths)
        for name, fn in ex.items():
            fn(pages[0])  # imports and caches load outside the timing (each extractor alike)
            t0 = time.perf_counter()
            outs = [fn(p) for p in pages]
            secs = time.perf_counter() - t0
            sc = [score(o, *t) for o, t in zip(outs, truths)]
            out_mb = max(sum(s[4] for s in sc) / 1e6, 1e-9)
            print(
                f"{family:<44} {name:<17} {mb / secs:6.1f} {sum(s[0] for s in sc) / max(n_h, 1):7.3f} "
                f"{sum(s[1] for s in sc) / max(n_c, 1):7.3f} {sum(s[3] for s in sc) / len(sc):6.3f} {sum(s[2] for s in sc) / out_mb:7.1f}"
            )
            if name == "lakeprep":
                lakeprep_outs = outs
            if name == "trafilatura":
                trafilatura_outs = outs
        print(f"  ({len(pages)} pages, {mb:.1f} MB, {n_h} headings, {n_c} code blocks)")
        print(silver_figures(lakeprep_outs, trafilatura_outs))
        for i in rng.sample(range(len(pages)), min(args.show, len(pages))):
            print(f"  --- {paths[i]} (lakeprep, first 600 chars)\n" + "\n".join("    " + x for x in lakeprep_outs[i][:600].splitlines()))


if __name__ == "__main__":
    main()
