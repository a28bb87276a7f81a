"""Markdown structure shared by the text kernels (no Spark): fenced code blocks.

Silver text is Markdown-like (HTML pages go through :mod:`lakeprep.text.html_md`), so code is fenced. The
normalizer leaves code spacing alone, the quality signals measure prose and code apart, and the chunker
keeps code lines whole; all of them find code with :func:`fence_state` and agree on where it is.
"""

from __future__ import annotations

import re

__all__ = ["INLINE_CODE", "code_line_mask", "fence_state"]

_FENCE = re.compile(r"[ ]{0,3}(`{3,}|~{3,})")
INLINE_CODE = re.compile(r"`[^`\n]+`")
"""An inline code span on one line (``like_this``)."""


def fence_state(fence: str, line: str) -> tuple[str, bool]:
    """CommonMark fences: (the fence open after ``line``, whether ``line`` belongs to a code block).

    A block opened by ```` ``` ```` closes only at a line of at least as many backticks and nothing else, so a
    ``~~~~`` underline or a nested fence inside the code does not end it. Fence lines count as code."""
    m = _FENCE.match(line)
    if not fence:
        return (m.group(1), True) if m else ("", False)
    if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line.strip()[len(m.group(1)) :]:
        return "", True
    return fence, True


def code_line_mask(lines: list[str]) -> list[bool]:
    """For each line: is it part of a fenced code block (fence lines included)? An unclosed fence runs to
    the end, as in CommonMark."""
    fence = ""
    out = []
    for line in lines:
        fence, in_code = fence_state(fence, line)
        out.append(in_code)
    return out
