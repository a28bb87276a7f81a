from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from lakeprep import tokenizers


def test_offline_install_verifies_and_repairs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    url, expected, _ = tokenizers.OFFLINE_ENCODINGS["cl100k_base"]
    target = tokenizers.ensure_offline_encoding("cl100k_base")
    assert target == tmp_path / hashlib.sha1(url.encode()).hexdigest()
    assert hashlib.sha256(target.read_bytes()).hexdigest() == expected
    target.write_bytes(b"corrupted")  # a damaged cache file is replaced, not trusted
    tokenizers.ensure_offline_encoding("cl100k_base")
    assert hashlib.sha256(target.read_bytes()).hexdigest() == expected


def test_plain_tiktoken_works_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tiktoken
    import tiktoken.load

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    tokenizers.ensure_offline_encoding("cl100k_base")

    def no_network(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("tiktoken tried to download")

    monkeypatch.setattr(tiktoken.load, "read_file", no_network)
    tiktoken.registry.ENCODINGS.pop("cl100k_base", None)
    enc = tiktoken.get_encoding("cl100k_base")
    assert enc.encode("hello world") == [15339, 1917]
    assert enc.n_vocab == 100277


def test_unknown_encoding_is_a_clear_error() -> None:
    with pytest.raises(tokenizers.LakeprepError, match="no offline copy"):
        tokenizers.ensure_offline_encoding("o200k_base")
