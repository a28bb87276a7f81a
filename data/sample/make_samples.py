"""Makes the sample's binary documents from the texts in sources/ (outputs are committed in landing/).

    python data/sample/make_samples.py

Generators (Debian packages and the bench extra): pandoc (Markdown -> DOCX), LibreOffice (DOCX -> PDF, with
bookmarks from the headings), warcio (the WARC). Nothing here runs during a build.
"""

from __future__ import annotations

import io
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
SOURCES, LANDING = HERE / "sources", HERE / "landing"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        docx = Path(tmp) / "operations-guide.docx"
        subprocess.run(["pandoc", str(SOURCES / "operations-guide.md"), "-o", str(docx)], check=True)
        subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(LANDING / "manuals"), str(docx)], check=True)
    subprocess.run(["pandoc", str(SOURCES / "retention-policy.md"), "-o", str(LANDING / "notes" / "retention-policy.docx")], check=True)
    (LANDING / "web" / "docs-crawl.warc.gz").write_bytes(_warc())


def _warc() -> bytes:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    out = io.BytesIO()
    w = WARCWriter(out, gzip=True)
    w.write_record(w.create_warcinfo_record("docs-crawl.warc.gz", {"software": "lakeprep sample", "format": "WARC/1.1"}))
    pages = [
        ("https://docs.example.org/ingestion.html", "text/html; charset=utf-8", (SOURCES / "crawl-page-ingestion.html").read_bytes()),
        ("https://docs.example.org/old-page.html", "text/html", b"<html><body>Moved</body></html>"),  # a 301
        ("https://docs.example.org/vector-sync.html", "text/html; charset=utf-8", (SOURCES / "crawl-page-cdf.html").read_bytes()),
        ("https://docs.example.org/logo.png", "image/png", b"\x89PNG\r\n\x1a\n"),
    ]
    for url, ctype, body in pages:
        status = "301 Moved Permanently" if "old-page" in url else "200 OK"
        http = StatusAndHeaders(status, [("Content-Type", ctype)], protocol="HTTP/1.1")
        w.write_record(w.create_warc_record(url, "request", payload=io.BytesIO(b"GET " + url.encode() + b" HTTP/1.1\r\n\r\n")))
        w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http))
    return out.getvalue()


if __name__ == "__main__":
    main()
