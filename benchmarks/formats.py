"""PDF, Office and WARC sources: speed, text recall, heading recall, page accuracy and reject reasons.

    python benchmarks/formats.py [--docs 24] [--warc-pages 1500] [--master local[2]]

1. **Real PDFs** shipped in Debian packages (groff, texinfo/TeX, dblatex, DocBook): files/s and MB/s in one
   process for lakeprep's PDF kernel (pypdfium2 + headings, hyphens, running lines) and the raw libraries
   it was chosen against (pypdfium2, pypdf, pdfminer.six), and how many outline entries became headings.
2. **Known text, several generators**: real documentation pages (Debian packages, converted to Markdown)
   written out as PDF by reportlab and by LibreOffice (from pandoc's DOCX), as DOCX by pandoc and by
   python-docx, as PPTX by pandoc and by python-pptx. Text recall = words of the known text found in
   order in the extracted text; heading recall = known headings that came out as ``#`` lines; page accuracy
   (PDF) = chunks whose first and last lines are on the pages the chunk says, checked with pypdf.
3. **WARC** from real HTML pages with damaged records injected: records/s in one process (lakeprep's reader
   and warcio as the reference), every response accounted for, then bronze on Spark: records/s/core.
4. **Table source**: a Delta table of real texts through ``bronze.source``: first load, then changes read
   from the Change Data Feed, then a run with nothing to do.

Needs the bench extra, pandoc and LibreOffice (``apt-get install pandoc libreoffice-writer-nogui``).
"""

from __future__ import annotations

import argparse
import difflib
import io
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import HELD_OUT, cores_of, html_pages, real_documents  # noqa: E402

PDF_PACKAGES = ("bash", "bash-doc", "maint-guide", "debian-reference-en", "libtasn1-doc", "shared-mime-info")
_WORD = re.compile(r"\w+")


def _debian_pdfs() -> list[Path]:
    paths: set[str] = set()
    for pkg in PDF_PACKAGES:
        assert not pkg.startswith(HELD_OUT)
        out = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True)
        paths.update(p for p in out.stdout.split() if p.endswith(".pdf") and Path(p).is_file())
    unique: dict[int, Path] = {}
    for p in sorted(paths):  # bash and bash-doc ship the same files
        unique.setdefault(Path(p).stat().st_size, Path(p))
    return sorted(unique.values())


def real_pdfs() -> None:
    import pypdf
    import pypdfium2 as pdfium
    from pdfminer.high_level import extract_text

    from lakeprep.io.pdf import extract_pdf

    files = _debian_pdfs()
    if not files:
        print(f"\n(real PDFs skipped: none of {PDF_PACKAGES} is installed; apt-get install them for these figures)")
        return
    data = {p: p.read_bytes() for p in files}
    mb = sum(map(len, data.values())) / 1e6
    pages = sum(len(pdfium.PdfDocument(b)) for b in data.values())
    print(f"\n## Real PDFs: {len(files)} files from Debian packages, {pages} pages, {mb:.1f} MB")
    print("  " + ", ".join(f"{p.name} ({len(b) // 1024} KB)" for p, b in data.items()))

    def pdfium_raw(b: bytes) -> int:
        doc = pdfium.PdfDocument(b)
        return sum(len(doc[i].get_textpage().get_text_range()) for i in range(len(doc)))

    readers = {
        "lakeprep (pypdfium2 + structure)": lambda b: len(extract_pdf(b).text),
        "pypdfium2, raw page text": pdfium_raw,
        "pypdf": lambda b: sum(len(p.extract_text() or "") for p in pypdf.PdfReader(io.BytesIO(b)).pages),
        "pdfminer.six": lambda b: len(extract_text(io.BytesIO(b))),
    }
    print(f"  {'reader':<34} {'s':>7} {'files/s':>8} {'MB/s':>7} {'pages/s':>8} {'chars':>9}")
    base = None
    for name, read in readers.items():
        t0 = time.perf_counter()
        chars = sum(read(b) for b in data.values())
        dt = time.perf_counter() - t0
        base = base or dt
        print(f"  {name:<34} {dt:7.2f} {len(files) / dt:8.2f} {mb / dt:7.2f} {pages / dt:8.1f} {chars:9d}  ({dt / base:.1f}x lakeprep's time)")
    for p, b in data.items():
        r = extract_pdf(b)
        outline = len(list(pdfium.PdfDocument(b).get_toc()))
        print(
            f"  {p.name:<28} pages={r.pages:>4} headings={r.headings:>4} from {r.headings_from:<9} "
            f"(outline entries {outline}), running lines removed={r.running_lines_removed}"
        )


def damaged() -> None:
    """Reject reasons on damaged copies of real files and on the committed bad-file fixtures."""
    from lakeprep.io.formats import parse_file

    fixtures = Path(__file__).parents[1] / "tests" / "fixtures" / "formats"
    cases: list[tuple[str, str, bytes]] = []
    for p in _debian_pdfs()[:3]:  # none when the packages are missing: the fixtures below still run
        data = p.read_bytes()
        cases.append((f"{p.name}, first half", "pdf", data[: len(data) // 2]))
        cases.append((f"{p.name}, 4 KB zeroed at 30%", "pdf", data[: len(data) * 3 // 10] + bytes(4096) + data[len(data) * 3 // 10 + 4096 :]))
    for name in ("encrypted.pdf", "scanned.pdf", "broken.pdf", "encrypted.docx", "corrupt.docx", "nothing.warc"):
        cases.append((f"fixture {name}", name.split(".")[-1], (fixtures / name).read_bytes()))
    print("\n## Damaged and protected files: outcome")
    for label, fmt, data in cases:
        r = parse_file(data, fmt)
        outcome = f"accepted ({len(r.records[0].text)} chars)" if r.accepted else r.reasons[0][:90]
        print(f"  {label:<44} {outcome}")


# -- known text -------------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _recall(known: str, got: str) -> float:
    a, b = _words(known), _words(got)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return sum(m.size for m in matcher.get_matching_blocks()) / max(len(a), 1)


def _headings(markdown: str) -> list[str]:
    return [" ".join(_words(line.lstrip("#"))) for line in markdown.split("\n") if re.match(r"#{1,6} \S", line)]


def _heading_recall(known: str, got: str) -> float | None:
    want = _headings(known)
    if not want:
        return None
    found = set(_headings(got.replace("\f", "\n")))
    return sum(1 for h in want if h in found) / len(want)


def _plain_blocks(markdown: str) -> list[tuple[int, str]]:
    """(heading level or 0, text) blocks of a Markdown document, for the generators that take plain text."""
    blocks = []
    for block in re.split(r"\n\s*\n", markdown):
        block = block.strip()
        if not block:
            continue
        m = re.match(r"(#{1,6}) (.*)", block)
        if m and "\n" not in block:
            blocks.append((len(m.group(1)), m.group(2)))
        else:
            blocks.append((0, " ".join(block.replace("`", "").split())))
    return blocks


def _reportlab_pdf(markdown: str, path: Path) -> None:
    from xml.sax.saxutils import escape

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    styles = getSampleStyleSheet()
    story = [
        Paragraph(escape(text), styles[f"Heading{min(level, 3)}"] if level else styles["BodyText"]) for level, text in _plain_blocks(markdown)
    ]
    SimpleDocTemplate(str(path), pagesize=A4).build(story)


def _python_docx(markdown: str, path: Path) -> None:
    import docx

    d = docx.Document()
    for level, text in _plain_blocks(markdown):
        d.add_heading(text, level=min(level, 9)) if level else d.add_paragraph(text)
    d.save(str(path))


def _python_pptx(markdown: str, path: Path) -> None:
    from pptx import Presentation

    deck = Presentation()
    slide = None
    for level, text in _plain_blocks(markdown):
        if level or slide is None:
            slide = deck.slides.add_slide(deck.slide_layouts[1])
            slide.shapes.title.text = text if level else "Untitled"
            body = slide.placeholders[1].text_frame
            if not level:
                body.text = text
            continue
        body.add_paragraph().text = text
    deck.save(str(path))


def _pdf_page_accuracy(pdf: bytes, silver: str) -> tuple[int, int]:
    """Chunks whose first and last visible lines are on the pages they claim, per pypdf's own page texts (a
    chunk edge can cut a word, so the first word of its first line and the last of its last line are left out)."""
    import pypdf

    from lakeprep.chunking._kernels import chunk_document, page_spans
    from lakeprep.tokenizers import get_encoding

    page_words = [set(_words(p.extract_text() or "")) for p in pypdf.PdfReader(io.BytesIO(pdf)).pages]
    chunks = chunk_document(silver, get_encoding("cl100k_base"), chunk_size=128, chunk_overlap=16)
    ok = 0
    for c, (first, last) in zip(chunks, page_spans(silver, [(c.char_start, c.char_end) for c in chunks])):
        lines = [line for line in c.text.split("\n") if line.strip()]
        # the first and last visible lines (a line without words, such as a table rule, checks nothing)
        head, tail = set(_words(lines[0])[1:]), set(_words(lines[-1])[:-1])
        ok += bool(head <= page_words[first - 1] and tail <= page_words[last - 1])
    return ok, len(chunks)


def known_text(n_docs: int, work: Path) -> None:
    from lakeprep.io.formats import parse_file
    from lakeprep.text.normalize import normalize_document

    docs = [d for d in real_documents(min_words=300, max_words=1500) if _headings(d)]
    step = max(1, len(docs) // n_docs)
    docs = docs[::step][:n_docs]  # spread over the packages (sorted by path)
    if not docs:
        print("\n(known-text part skipped: no Debian documentation package with HTML pages is installed)")
        return
    src = work / "known"
    src.mkdir()
    made: dict[str, list[tuple[Path, str]]] = {}
    for i, md in enumerate(docs):
        (src / f"d{i}.md").write_text(md, encoding="utf-8")
    t0 = time.perf_counter()
    # the known text is the Markdown itself: raw HTML and `$...$` read as TeX math (shell variables in these pages)
    # would turn parts of it into something else
    for i, md in enumerate(docs):
        base = src / f"d{i}"
        subprocess.run(["pandoc", f"{base}.md", "-f", "markdown-raw_html-tex_math_dollars", "-o", f"{base}.pandoc.docx"], check=True)
        subprocess.run(["pandoc", f"{base}.md", "-f", "markdown-raw_html-tex_math_dollars", "-o", f"{base}.pandoc.pptx"], check=True)
        _reportlab_pdf(md, Path(f"{base}.reportlab.pdf"))
        _python_docx(md, Path(f"{base}.python-docx.docx"))
        _python_pptx(md, Path(f"{base}.python-pptx.pptx"))
        made.setdefault("pdf/reportlab", []).append((Path(f"{base}.reportlab.pdf"), md))
        made.setdefault("docx/pandoc", []).append((Path(f"{base}.pandoc.docx"), md))
        made.setdefault("docx/python-docx", []).append((Path(f"{base}.python-docx.docx"), md))
        made.setdefault("pptx/pandoc", []).append((Path(f"{base}.pandoc.pptx"), md))
        made.setdefault("pptx/python-pptx", []).append((Path(f"{base}.python-pptx.pptx"), md))
    lo = work / "lo"
    subprocess.run(
        ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(lo), *sorted(str(p) for p in src.glob("*.pandoc.docx"))],
        check=True, capture_output=True,
    )
    made["pdf/libreoffice"] = [(lo / f"d{i}.pandoc.pdf", md) for i, md in enumerate(docs)]
    print(f"\n## Known text: {len(docs)} real documentation pages, 6 generators (made in {time.perf_counter() - t0:.0f} s)")
    print(f"  {'format/generator':<18} {'files':>5} {'MB':>6} {'files/s':>8} {'MB/s':>6} {'recall':>7} {'min':>6} {'headings':>8} {'pages ok':>9}  reasons")
    for label, items in made.items():
        fmt = label.split("/")[0]
        blobs = [(p.read_bytes(), md) for p, md in items]
        mb = sum(len(b) for b, _ in blobs) / 1e6
        t0 = time.perf_counter()
        results = [parse_file(b, fmt) for b, _ in blobs]
        dt = time.perf_counter() - t0
        recalls, heads, reasons = [], [], Counter()
        pages_ok = pages_all = 0
        for (b, md), r in zip(blobs, results):
            if not r.accepted:
                reasons.update(x.split(":", 1)[0] for x in r.reasons)
                recalls.append(0.0)
                continue
            text = r.records[0].text
            recalls.append(_recall(md, text))
            h = _heading_recall(md, text)
            if h is not None:
                heads.append(h)
            if fmt == "pdf":
                ok, n = _pdf_page_accuracy(b, normalize_document(text, "pdf"))
                pages_ok, pages_all = pages_ok + ok, pages_all + n
        mean = sum(recalls) / len(recalls)
        head = f"{sum(heads) / len(heads):8.3f}" if heads else f"{'-':>8}"
        pages = f"{pages_ok}/{pages_all}" if pages_all else "-"
        print(
            f"  {label:<18} {len(blobs):5d} {mb:6.2f} {len(blobs) / dt:8.1f} {mb / dt:6.2f} {mean:7.4f} {min(recalls):6.3f} {head} {pages:>9}  "
            + (", ".join(f"{k} {v}" for k, v in reasons.items()) or "none")
        )


# -- WARC -------------------------------------------------------------------------------------------------


def _make_warc(pages: list[str], *, damaged_every: int, salt: str = "") -> tuple[bytes, int]:
    """A gzipped WARC of request + response records for ``pages`` (plus redirects and images), with a gzip
    member that does not inflate after every ``damaged_every`` responses and the last record cut short."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    out = io.BytesIO()
    w = WARCWriter(out, gzip=True)
    responses = 0
    for i, path in enumerate(pages):
        url = f"https://docs.example.org/{salt}{i}" + path  # distinct URLs when pages repeat
        body, ctype, status = Path(path).read_bytes(), "text/html; charset=utf-8", "200 OK"
        if i % 50 == 7:
            body, ctype, status = b"", "text/html", "301 Moved Permanently"
        elif i % 50 == 13:
            body, ctype = b"\x89PNG\r\n\x1a\n" + bytes(200), "image/png"
        w.write_record(w.create_warc_record(url, "request", payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n")))
        http = StatusAndHeaders(status, [("Content-Type", ctype)], protocol="HTTP/1.1")
        w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http))
        responses += 1
        if damaged_every and i % damaged_every == damaged_every - 1:
            out.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + b"\x13\x37" * 64)
    data = out.getvalue()
    return data[: len(data) - 300], responses  # the last record cut short


def warc(n_pages: int, master: str, work: Path, *, copies_per_file: int) -> None:
    from warcio.archiveiterator import ArchiveIterator

    from lakeprep.io.formats import parse_file

    pages = html_pages(("debian-reference-en", "maint-guide", "sphinx-doc", "libsdl2-doc", "git-doc", "python-requests-doc"))[:n_pages]
    if not pages:
        print("\n(WARC part skipped: no Debian documentation package with HTML pages is installed)")
        return
    data, responses = _make_warc(pages, damaged_every=250)
    clean, _ = _make_warc(pages, damaged_every=0)
    mb = len(data) / 1e6
    print(f"\n## WARC: {len(pages)} real HTML pages -> {responses} responses + {responses} requests, {mb:.1f} MB gzipped,"
          f" a damaged gzip member after every 250th response, the last record cut short")
    t0 = time.perf_counter()
    r = parse_file(data, "warc")
    dt = time.perf_counter() - t0
    notes = dict(r.notes)
    records = sum(notes.values())
    print(f"  lakeprep (FastWARC):  {dt:6.2f} s  {records / dt:8.0f} records/s  {len(r.records) / dt:7.0f} documents/s  {mb / dt:6.1f} MB/s  (one process)")
    print("  outcomes: " + ", ".join(f"{k.removeprefix('warc:')} {v}" for k, v in sorted(notes.items())))
    t0 = time.perf_counter()
    n_ref = 0
    for rec in ArchiveIterator(io.BytesIO(clean)):
        rec.content_stream().read()
        n_ref += 1
    dt_ref = time.perf_counter() - t0
    print(f"  warcio (reference, undamaged copy): {dt_ref:6.2f} s  {n_ref / dt_ref:8.0f} records/s  -> lakeprep {dt_ref / dt:.1f}x")
    docs = notes.get("warc:document", 0)
    by_status = sum(v for k, v in notes.items() if k.startswith("warc:skipped:status"))
    by_type = notes.get("warc:skipped:content_type", 0)
    damaged = notes.get("warc:corrupt", 0)
    print(f"  every response accounted for: {responses} responses = {docs} documents + {by_status} skipped by status"
          f" + {by_type} by content type + {responses - docs - by_status - by_type} in {damaged} damaged stretches"
          f" (the injected members hold no record; the record cut short is the one lost)")

    # bronze on Spark: enough records that per-run costs (listing, two Delta commits) do not dominate
    from lakeprep.config import apply_overrides, config_from_mapping
    from lakeprep.pipeline.bronze import ingest_bronze
    from lakeprep.session import get_spark, local_test_conf

    cores = cores_of(master)
    spark = None
    for label, n_files, copies in (("warm-up", 1, 1), ("measured", 8, copies_per_file)):
        landing = work / f"warc-landing-{label}"
        landing.mkdir()
        for k in range(n_files):
            part, _ = _make_warc(pages * copies, damaged_every=250, salt=f"{label}-{k}")
            (landing / f"crawl-{k}.warc.gz").write_bytes(part)
        mb = sum(p.stat().st_size for p in landing.iterdir()) / 1e6
        cfg = config_from_mapping(apply_overrides({}, [
            f"storage.root={work / f'lake-{label}'}", f"bronze.landing={landing}", f"spark.master={master}",
            "bronze.max_file_bytes_by_format.warc=500000000",
        ]))  # fmt: skip
        spark = spark or get_spark(cfg.spark, extra_conf=local_test_conf(str(work / "wh")))
        t0 = time.perf_counter()
        b = ingest_bronze(spark, cfg, run_id=f"bench-warc-{label}", started_at=datetime.now(timezone.utc))
        dt = time.perf_counter() - t0
        n = sum(b.record_counts.values())
        print(f"  bronze on {master}, {label}: {n_files} files, {mb:.0f} MB, {n} records ({b.documents_ingested} documents) in {dt:.1f} s:"
              f" {n / dt:.0f} records/s, {n / dt / cores:.0f} records/s/core (listing and two Delta commits included)")
    if spark is not None:
        spark.stop()


def table_source(n_rows: int, master: str, work: Path) -> None:
    """A Delta table of real documentation texts read through ``bronze.source``: the first load, then 1% of
    the rows updated and 0.5% deleted, read from the Change Data Feed."""
    from lakeprep.config import apply_overrides, config_from_mapping
    from lakeprep.pipeline.bronze import ingest_bronze
    from lakeprep.session import get_spark, local_test_conf

    texts = real_documents(min_words=50, max_words=3000)
    if not texts:
        print("\n(table-source part skipped: no Debian documentation package with HTML pages is installed)")
        return
    src = work / "source-table"
    cfg = config_from_mapping(apply_overrides({}, [
        f"storage.root={work / 'lake-table'}", "bronze.landing=", f"bronze.source.table={src}", "bronze.source.id=id",
        "bronze.source.text=body", "bronze.source.format=md", f"spark.master={master}",
    ]))  # fmt: skip
    spark = get_spark(cfg.spark, extra_conf=local_test_conf(str(work / "wh-table")))
    rows = [(f"doc-{i}", texts[i % len(texts)] + f"\n\n(copy {i})") for i in range(n_rows)]
    mb = sum(len(t.encode()) for _, t in rows) / 1e6
    spark.createDataFrame(rows, "id string, body string").write.format("delta").option("delta.enableChangeDataFeed", "true").save(str(src))
    cores = cores_of(master)
    print(f"\n## Table source: a Delta table of {n_rows} rows ({mb:.0f} MB of real documentation text), {master}")
    for label in ("first load (snapshot)", "1% updated, 0.5% deleted (change feed)", "no change"):
        if label.startswith("1%"):
            spark.sql(f"UPDATE delta.`{src}` SET body = concat(body, ' (edited)') WHERE pmod(hash(id), 100) = 0")
            spark.sql(f"DELETE FROM delta.`{src}` WHERE pmod(hash(id), 200) = 1")
        t0 = time.perf_counter()
        b = ingest_bronze(spark, cfg, run_id=f"bench-table-{label[:5]}", started_at=datetime.now(timezone.utc))
        dt = time.perf_counter() - t0
        s = b.source
        assert s is not None
        print(f"  {label:<40} {dt:6.1f} s  mode={s.mode:<11} documents={s.documents_ingested:>7}  "
              f"{s.documents_ingested / dt / cores:8.0f} documents/s/core")
    spark.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=24, help="real pages written by each generator")
    parser.add_argument("--warc-pages", type=int, default=1500)
    parser.add_argument("--warc-copies", type=int, default=3, help="each page's copies per WARC file in the Spark run (8 files)")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--table-rows", type=int, default=100_000)
    parser.add_argument("--skip", nargs="*", default=[], choices=["pdf", "known", "warc", "table"])
    args = parser.parse_args()
    missing = [tool for tool in ("pandoc", "soffice") if not shutil.which(tool)]
    if missing and "known" not in args.skip:
        print(f"(known-text part skipped: {', '.join(missing)} missing; apt-get install pandoc libreoffice-writer-nogui)")
        args.skip.append("known")
    work = Path(tempfile.mkdtemp(prefix="lakeprep-formats-"))
    try:
        if "pdf" not in args.skip:
            real_pdfs()
            damaged()
        if "known" not in args.skip:
            known_text(args.docs, work)
        if "warc" not in args.skip:
            warc(args.warc_pages, args.master, work, copies_per_file=args.warc_copies)
        if "table" not in args.skip:
            table_source(args.table_rows, args.master, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
