"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import os
import re


def cores_of(master: str) -> int:
    """Cores a local master uses: ``local[N]`` -> N, ``local[*]`` or anything else -> all of this machine's."""
    m = re.fullmatch(r"local\[(\d+|\*)\]", master)
    if not m or m.group(1) == "*":
        return os.cpu_count() or 1
    return int(m.group(1))
