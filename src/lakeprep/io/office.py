"""Text of Office Open XML documents (pure Python, no Spark): ``.docx`` and ``.pptx``.

- **docx**: mammoth maps Word styles to HTML (``Heading N`` -> ``<hN>``, numbered and bulleted paragraphs ->
  lists, tables -> tables); lakeprep's own HTML -> Markdown converter (:mod:`lakeprep.text.html_md`) turns
  that into ``#`` headings, ``-`` lists and Markdown tables without adding escapes (mammoth's own Markdown
  writer escapes ``_``, ``*`` and ``.``).
- **pptx**: python-pptx; each slide's title becomes a ``#`` heading, body text keeps its bullet levels, tables
  become Markdown tables, speaker notes are added when asked. Slides are joined by a form feed like PDF
  pages, so chunks carry slide numbers.

A password-protected file (an OLE container holding an ``EncryptedPackage``) is rejected as
``office_encrypted``; a legacy binary ``.doc``/``.ppt`` or a damaged file as ``office_unreadable:<detail>``;
a document without any text as ``office_no_text``.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable

from lakeprep.io.formats import PAGE_BREAK, FormatRejected

__all__ = ["extract_docx", "extract_pptx"]

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")


def _check_container(content: bytes) -> None:
    if content.startswith(_OLE_MAGIC):
        if _ENCRYPTED_STREAM in content:
            raise FormatRejected("office_encrypted")
        raise FormatRejected("office_unreadable:a legacy binary Office file (.doc/.ppt/.xls), not Office Open XML")
    if not zipfile.is_zipfile(io.BytesIO(content)):
        raise FormatRejected("office_unreadable:not a zip container")


def _no_text(text: str) -> str:
    if not text.strip():
        raise FormatRejected("office_no_text")
    return text


def extract_docx(content: bytes) -> str:
    """Markdown-like text of a Word document (headings, lists and tables kept)."""
    _check_container(content)
    import mammoth

    from lakeprep.text.html_md import html_to_markdown

    try:
        result = mammoth.convert_to_html(io.BytesIO(content), convert_image=_no_images, style_map=_CODE_STYLES)
    except (KeyError, zipfile.BadZipFile, ValueError, OSError) as exc:
        raise FormatRejected(f"office_unreadable:{type(exc).__name__}: {exc}"[:300]) from None
    return _no_text(html_to_markdown(f"<html><body>{result.value}</body></html>"))


_CODE_STYLES = "\n".join(
    f"p[style-name='{name}'] => pre:separator('\\n')" for name in ("Source Code", "Code", "HTML Preformatted", "Plain Text", "Macro Text")
)
"""Word's and pandoc's code paragraph styles become ``<pre>``, so code keeps its lines and indentation."""


def _no_images(image: object) -> dict[str, str]:
    """Images carry no text: an empty ``<img>`` instead of the base64 data URI mammoth writes by default."""
    return {"src": ""}


def extract_pptx(content: bytes, *, notes: bool = False) -> str:
    """Slides as Markdown-like text joined by form feeds: ``# title``, bullets by level, tables, notes."""
    _check_container(content)
    from pptx import Presentation
    from pptx.exc import PackageNotFoundError

    try:
        deck = Presentation(io.BytesIO(content))
        slides = [_slide_text(slide, notes=notes) for slide in deck.slides]
    except (KeyError, zipfile.BadZipFile, ValueError, PackageNotFoundError) as exc:
        raise FormatRejected(f"office_unreadable:{type(exc).__name__}: {exc}"[:300]) from None
    return _no_text(PAGE_BREAK.join(slides))


def _slide_text(slide: object, *, notes: bool) -> str:
    title_shape = slide.shapes.title  # type: ignore[attr-defined]
    blocks: list[str] = []
    if title_shape is not None and title_shape.has_text_frame and title_shape.text_frame.text.strip():
        blocks.append("# " + " ".join(title_shape.text_frame.text.split()))
    for shape in _shapes(slide.shapes):  # type: ignore[attr-defined]
        if shape is title_shape or (title_shape is not None and shape.shape_id == title_shape.shape_id):
            continue
        block = _shape_text(shape)
        if block:
            blocks.append(block)
    if notes and slide.has_notes_slide:  # type: ignore[attr-defined]
        note = slide.notes_slide.notes_text_frame.text.strip()  # type: ignore[attr-defined]
        if note:
            blocks.append("Notes: " + note)
    return "\n\n".join(blocks)


def _shapes(shapes: Iterable[object]) -> Iterable[object]:
    """Every shape, group members in place of their group, in the slide's own order (z-order: the order the
    shapes were added, which is reading order for generated decks; sorting by position put tables placed
    beside a text box before it, measured on pandoc's decks)."""
    for shape in shapes:
        if getattr(shape, "shape_type", None) == 6:  # MSO_SHAPE_TYPE.GROUP
            yield from _shapes(shape.shapes)  # type: ignore[attr-defined]
        else:
            yield shape


def _no_bullet(para: object) -> bool:
    """The paragraph turns its bullet off (``<a:buNone/>``), as pandoc's plain paragraphs do."""
    ppr = para._p.pPr  # type: ignore[attr-defined]
    return ppr is not None and any(child.tag.endswith("}buNone") for child in ppr)


def _shape_text(shape: object) -> str:
    if getattr(shape, "has_table", False):
        rows = [[" ".join(cell.text.split()) for cell in row.cells] for row in shape.table.rows]  # type: ignore[attr-defined]
        if not rows:
            return ""
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        return "\n".join(lines)
    if not getattr(shape, "has_text_frame", False):
        return ""
    bulleted = getattr(shape, "is_placeholder", False)  # body placeholders are bullet lists; text boxes are prose
    lines = []
    for para in shape.text_frame.paragraphs:  # type: ignore[attr-defined]
        # a line break inside a paragraph is a vertical tab in python-pptx (pandoc writes raw newlines)
        raw = [line.rstrip() for line in para.text.replace("\v", "\n").split("\n")]
        if len(raw) > 1 and any(line[:1].isspace() for line in raw):  # preformatted: keep it as a code block
            lines.extend(["```", *raw, "```"])
            continue
        parts = [" ".join(line.split()) for line in raw]
        parts = [p for p in parts if p]
        if not parts:
            continue
        if bulleted and not _no_bullet(para):
            pad = "  " * para.level
            lines.append(pad + "- " + parts[0])
            lines.extend(pad + "  " + p for p in parts[1:])
        else:
            lines.extend(parts)
    return "\n".join(lines)
