"""``report.html``: one self-contained page (inline CSS and SVG, no JavaScript, nothing fetched).

Numbers are formatted (thousands separators, shares in %), never shown as raw JSON. The page reads top
down: the flow of documents with every exit, the gates, what changed since the previous tag, the rows
behind the numbers, distributions, and the run's details.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["render_html"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#222;max-width:68em;margin:1.5em auto;padding:0 1em;line-height:1.4}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
h3{font-size:1em;margin:1.2em 0 .4em}.meta{color:#666;font-size:.9em}
table{border-collapse:collapse;margin:.4em 0 .8em;font-size:.88em}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f5f5f5}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.pass{color:#1a7f37;font-weight:600}.fail{color:#c62828;font-weight:600}.alert{color:#c62828;font-weight:600}
.ex{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em;white-space:pre-wrap;word-break:break-word;background:#fafafa}
del{background:#fde2e2;text-decoration:line-through}ins{background:#dcf5dc;text-decoration:none}
.grid{display:flex;flex-wrap:wrap;gap:1.5em}.grid>div{flex:1 1 30em}
small{color:#666}
"""


def _n(x: Any) -> str:
    if isinstance(x, bool) or x is None:
        return "-" if x is None else str(x)
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        return f"{x:,.0f}" if x.is_integer() else f"{x:,.3g}" if abs(x) < 100 else f"{x:,.1f}"
    return html.escape(str(x))


def _pct(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "-"


def _esc(x: Any) -> str:
    return html.escape(str(x))


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[int] = ()) -> str:
    if not rows:
        return "<p><small>none</small></p>"
    th = "".join(f"<th>{_esc(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td class='n'>{c}</td>" if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r)) + "</tr>" for r in rows
    )
    return f"<table><tr>{th}</tr>{body}</table>"


def _flow_svg(stages: Sequence[Mapping[str, Any]]) -> str:
    """A waterfall: one bar per stage (its width the stage's count against the first), and under it one thin
    bar per exit, in red, with its count and share of the stage."""
    if not stages:
        return "<p><small>no tables yet</small></p>"
    width, label_w, bar_w, row_h = 880, 230, 470, 22
    top = max(float(s["count"]) for s in stages if s.get("unit") in ("files", "documents")) or 1.0
    y, out = 8, []
    for s in stages:
        scale = top if s.get("unit") in ("files", "documents") else float(s["count"]) or 1.0
        w = max(2.0, bar_w * float(s["count"]) / scale)
        extra = "".join(f", {_n(s[k])} {k}" for k in ("chunks", "tokens") if s.get(k) is not None)
        extra += f" from {_n(s['files'])} files" if s.get("files") is not None else ""
        out.append(f"<text x='0' y='{y + 15}' font-size='13' font-weight='600'>{_esc(s['stage'])}</text>")
        out.append(f"<rect x='{label_w}' y='{y}' width='{w:.1f}' height='{row_h - 4}' fill='#3b73b9' rx='2'/>")
        out.append(f"<text x='{label_w + w + 6:.1f}' y='{y + 14}' font-size='12'>{_n(s['count'])} {_esc(s['unit'])}{extra}</text>")
        y += row_h
        lost = {**s.get("exits", {}), **({"unaccounted": s["unaccounted"]} if s.get("unaccounted") else {})}
        for name, count in lost.items():
            ew = max(1.5, bar_w * float(count) / scale)
            out.append(f"<text x='16' y='{y + 12}' font-size='11' fill='#555'>&#8627; {_esc(name)}</text>")
            out.append(f"<rect x='{label_w}' y='{y + 2}' width='{ew:.1f}' height='{row_h - 10}' fill='#d9534f' rx='1'/>")
            out.append(f"<text x='{label_w + ew + 6:.1f}' y='{y + 12}' font-size='11' fill='#555'>{_n(count)} "
                       f"({_pct(count, float(s['count']) or 1)})</text>")
            y += row_h - 4
        y += 6
    return (f"<svg xmlns='http://www.w3.org/2000/svg' role='img' aria-label='flow of documents' width='{width}' height='{y + 4}' "
            f"viewBox='0 0 {width} {y + 4}' font-family='system-ui,sans-serif'>{''.join(out)}</svg>")


def _short(x: float) -> str:
    """1000 -> 1k, 65536 -> 66k: bin edges that fit under a bar."""
    return f"{x / 1000:.0f}k" if x >= 1000 else f"{x:g}"


def _bars_svg(hist: Sequence[Mapping[str, Any]], title: str) -> str:
    """A small histogram: one bar per bin, counts above, bin labels below."""
    if not hist or not any(h["count"] for h in hist):
        return f"<h3>{_esc(title)}</h3><p><small>none</small></p>"
    n, bw, h, gap = len(hist), 44, 120, 6
    top = max(h_["count"] for h_ in hist) or 1
    parts = []
    for i, b in enumerate(hist):
        bh = h * b["count"] / top
        x = 4 + i * (bw + gap)
        label = f"{_short(b['from'])}+" if b.get("to") is None else f"{_short(b['from'])}-{_short(b['to'])}"
        parts.append(f"<rect x='{x}' y='{20 + h - bh:.1f}' width='{bw}' height='{bh:.1f}' fill='#3b73b9'/>")
        parts.append(f"<text x='{x + bw / 2}' y='{16 + h - bh:.1f}' font-size='10' text-anchor='middle'>{_n(b['count'])}</text>")
        parts.append(f"<text x='{x + bw / 2}' y='{h + 34}' font-size='9' text-anchor='middle'>{_esc(label)}</text>")
    w = 8 + n * (bw + gap)
    return (f"<h3>{_esc(title)}</h3><svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h + 42}' viewBox='0 0 {w} {h + 42}' "
            f"font-family='system-ui,sans-serif'>{''.join(parts)}</svg>")


def _shares(title: str, counts: Mapping[str, int] | None, head: str) -> str:
    if not counts:
        return ""
    total = sum(counts.values())
    rows = [[_esc(k), _n(v), _pct(v, total)] for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return f"<h3>{_esc(title)}</h3>" + _table([head, "count", "share"], rows, numeric=(1, 2))


def _flow_section(report: Mapping[str, Any]) -> str:
    flow = report.get("flow") or {}
    stages = flow.get("stages", [])
    rows = []
    for s in stages:
        rows.append([f"<b>{_esc(s['stage'])}</b>", _n(s["count"]), _esc(s["unit"]), ""])
        for name, count in s.get("exits", {}).items():
            rows.append([f"&nbsp;&nbsp;&#8627; {_esc(name)}", _n(count), "", _pct(count, s["count"])])
        if s.get("by_split"):
            rows.append(["&nbsp;&nbsp;by split", "", "", ", ".join(
                f"{_esc(k)}: {_n(v['sequences'] if isinstance(v, Mapping) else v)}" for k, v in s["by_split"].items())])
    return "<h2>Flow at a glance</h2>" + _flow_svg(stages) + _table(["stage / exit", "count", "unit", "share of stage"], rows, numeric=(1, 3))


def _gates_section(report: Mapping[str, Any]) -> str:
    rows = []
    for g in report.get("gates") or []:
        ok = "<span class='pass'>pass</span>" if g["success"] else "<span class='fail'>FAIL</span>"
        threshold = ", ".join(f"{_esc(k)}={_esc(v)}" for k, v in g["threshold"].items())
        link = f"<a href='{_esc(g['json'])}'>{_esc(g['layer'])}.json</a>"
        rows.append([_esc(g["layer"]), _esc(g["table"]), _esc(g["expectation"].removeprefix("expect_")), _esc(g["column"]),
                     _n(g["observed"]) if not isinstance(g["observed"], (dict, list)) else _esc(g["observed"]), threshold, ok, link])
    return "<h2>Gates</h2>" + _table(["layer", "table", "expectation", "column", "observed", "threshold", "result", "results"], rows, numeric=(4,))


def _changes_section(report: Mapping[str, Any]) -> str:
    ch = report.get("changes")
    if not ch:
        return "<h2>What changed</h2><p><small>no earlier tag to compare with</small></p>"
    alert = float(ch.get("alert_share", 0.2))

    def moved(before: int, now: int) -> str:
        mark = abs(now - before) > alert * max(before, 1)
        delta = f"{now - before:+,}"
        return f"<span class='alert' title='moved more than {alert:.0%}'>{delta} &#9650;</span>" if mark else delta

    parts = [f"<h2>What changed since {_esc(ch['against'])}</h2>"]
    rows = [[_esc(t), _n(d["before"]), _n(d["now"]), _n(d["added"]), _n(d["removed"]), moved(d["before"], d["now"])]
            for t, d in ch["documents"].items()]
    parts.append(_table(["table", "before", "now", "added", "removed", "change"], rows, numeric=(1, 2, 3, 4, 5)))
    c = ch["chunks"]
    parts.append(f"<p>gold.chunks (Change Data Feed): {_n(c['inserted'])} inserted, {_n(c['updated'])} updated, {_n(c['deleted'])} deleted</p>")
    for table, d in ch["documents"].items():
        for kind in ("added", "removed"):
            srcs = d.get(f"{kind}_sources") or []
            if srcs:
                items = "".join(f"<li><code>{_esc(s)}</code></li>" for s in srcs)
                parts.append(f"<h3>{_esc(table)}: sources of {kind} documents</h3><ul class='{kind}'>{items}</ul>")
    if ch.get("tokens_by_split"):
        parts.append("<h3>Tokens per split</h3>" + _table(["split", "before", "now", "change"], [
            [_esc(s), _n(v["before"]), _n(v["now"]), moved(v["before"], v["now"])] for s, v in ch["tokens_by_split"].items()], numeric=(1, 2, 3)))
    for table, reasons in (ch.get("rejects") or {}).items():
        if reasons:
            parts.append(f"<h3>{_esc(table)} by reason</h3>" + _table(["reason", "before", "now", "change"], [
                [_esc(r), _n(v["before"]), _n(v["now"]), moved(v["before"], v["now"])] for r, v in reasons.items()], numeric=(1, 2, 3)))
    return "".join(parts)


def _examples_section(report: Mapping[str, Any]) -> str:
    ex = report.get("examples") or {}
    parts = ["<h2>Examples behind the numbers</h2><p><small>Excerpts are masked for PII, whatever the configuration.</small></p>"]
    for key, title in (("quarantine_bronze", "Quarantined files (bronze)"), ("quarantine_silver", "Rejected documents (silver)")):
        for reason, items in (ex.get(key) or {}).items():
            rows = []
            for it in items:
                detail = (f"<div class='ex'>{_esc(it['excerpt'])}</div>" if "excerpt" in it
                          else f"{_n(it.get('words'))} words, language {_esc(it.get('lang'))}")
                rows.append([f"<code>{_esc(it['source'])}</code>", "<br>".join(_esc(r) for r in it["reasons"]), detail])
            parts.append(f"<h3>{title}: {_esc(reason)}</h3>" + _table(["source", "reasons (value vs threshold)", "excerpt / signals"], rows))
    if ex.get("near_duplicates"):
        rows = [[f"kept <code>{_esc(d['kept'])}</code><br>removed <code>{_esc(d['removed'])}</code>", _n(d["similarity"]),
                 f"<div class='ex'>{d['diff']}</div>"] for d in ex["near_duplicates"]]
        parts.append("<h3>Near-duplicate clusters (kept vs removed)</h3>" + _table(["documents", "similarity", "diff (<del>kept only</del> <ins>removed only</ins>)"], rows))
    for pii_type, items in (ex.get("pii") or {}).items():
        rows = [[f"<code>{_esc(it['source'])}</code>", f"<div class='ex'>{_esc(it['context'])}</div>"] for it in items]
        parts.append(f"<h3>PII masked: {_esc(pii_type)}</h3>" + _table(["source", "context"], rows))
    return "".join(parts)


def _distributions_section(report: Mapping[str, Any]) -> str:
    tables, dist = report.get("tables") or {}, report.get("distributions") or {}
    charts = [
        _bars_svg(tables.get("document_words") or [], "silver documents by words"),
        _bars_svg(dist.get("tokens_per_document") or [], "tokens per document (gold chunks)"),
        _bars_svg(tables.get("chunk_tokens") or [], "tokens per chunk"),
        _bars_svg(dist.get("chunks_per_document") or [], "chunks per document"),
    ]
    fmt = {k: v["documents"] for k, v in (tables.get("bronze_by_format") or {}).items()}
    shares = [
        _shares("Languages in silver", tables.get("languages_in_silver"), "language"),
        _shares("Source formats in bronze", fmt, "format"),
        _shares("Top source folders in silver", dist.get("top_folders"), "folder"),
    ]
    return "<h2>Distributions</h2><div class='grid'>" + "".join(f"<div>{c}</div>" for c in charts + shares if c) + "</div>"


def _details_section(report: Mapping[str, Any]) -> str:
    tables, run = report.get("tables") or {}, report.get("run") or {}
    parts = ["<h2>Details</h2>"]
    versions = tables.get("versions", {})
    parts.append("<h3>Tables at this tag</h3>" + _table(
        ["table", "version", "rows"], [[_esc(t), f"v{versions.get(t)}", _n(n)] for t, n in sorted((tables.get("rows") or {}).items())], numeric=(2,)))
    if tables.get("splits"):
        parts.append("<h3>Splits</h3>" + _table(["split", "documents", "chunks", "sequences", "tokens"], [
            [_esc(s), _n(v.get("documents")), _n(v.get("chunks")), _n(v.get("sequences")), _n(v.get("tokens"))]
            for s, v in sorted(tables["splits"].items())], numeric=(1, 2, 3, 4)))
    if run:
        b = run.get("bronze") or {}
        if b.get("files_by_format"):
            parts.append("<h3>Files by format (this run)</h3>" + _table(["format", "ingested", "quarantined"], [
                [_esc(f), _n(c.get("ingested")), _n(c.get("quarantined"))] for f, c in sorted(b["files_by_format"].items())], numeric=(1, 2)))
        if b.get("record_counts"):
            parts.append("<h3>Records inside container files (this run)</h3>" + _table(
                ["outcome", "records"], [[_esc(k), _n(v)] for k, v in sorted(b["record_counts"].items())], numeric=(1,)))
        if b.get("source"):
            src = b["source"]
            parts.append("<h3>Table source (this run)</h3>" + _table(["", ""], [
                [_esc(k), _n(src.get(k))] for k in ("table", "kind", "mode", "version", "documents_ingested", "rows_quarantined")]))
        if run.get("seconds"):
            parts.append("<h3>Seconds per stage</h3>" + _table(["stage", "seconds"], [
                [_esc(k), f"{v:,.1f}"] for k, v in run["seconds"].items()], numeric=(1,)))
    m = report.get("mds_manifest") or {}
    if m:
        parts.append("<h3>MDS export</h3>" + _table(["split", "samples", "shards"], [
            [_esc(s), _n(n), _n((m.get("shards") or {}).get(s))] for s, n in sorted((m.get("samples") or {}).items())], numeric=(1, 2)))
    parts.append(f"<p><small>quality profile: {_esc(tables.get('quality_profile', '-'))}</small></p>")
    return "".join(parts)


def render_html(report: Mapping[str, Any]) -> str:
    """The whole page for a report dict (:func:`lakeprep.report.write_report`)."""
    head = (f"<h1>lakeprep report</h1><p class='meta'>tag <b>{_esc(report.get('tag'))}</b> &middot; run {_esc(report.get('run_id'))}"
            f" &middot; config {_esc(report.get('config'))}</p>")
    body = [head, _flow_section(report), _gates_section(report), _changes_section(report), _examples_section(report),
            _distributions_section(report), _details_section(report)]
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' content='width=device-width'>"
            f"<title>lakeprep report {_esc(report.get('tag'))}</title><style>{_CSS}</style></head><body>{''.join(body)}</body></html>")
