"""One-process kernel throughput on documentation nobody here wrote, side by side with the peers.

    python benchmarks/kernels.py [--limit 6000] [--repeat 3]

Corpus: every HTML page of the installed Debian documentation packages (``_common.real_documents``:
DocBook, Sphinx, Doxygen, texinfo, asciidoc), as lakeprep's silver text, 300-3,000 words each.

* MinHash, 128 permutations, word 5-shingles: lakeprep ``fast64`` (texts -> signatures, shingling
  included) and ``sha1_32`` (the datasketch-compatible path: :func:`shingles` + :func:`minhash_signatures`)
  against datasketch ``MinHash.update_batch`` fed the same shingles (shingling time counted on both sides
  of that comparison, and once without it).

* The text kernels of silver and gold, MB/s of silver text: the normalizer (``normalize_text``), the quality
  signals in both profiles (``signals_and_prose``: ``web`` and ``docs``), language id (``languages_of`` on the
  prose: fastText's lid.176 run in numpy) and tokenizing for packing (``tokenize_documents``, with one tiktoken pass beside it). No peer
  here: compare with the code before by running this script with ``PYTHONPATH=<old checkout>/src``.

* Language id: lakeprep's numpy run of lid.176 against fastText's own C++ (``fasttext-predict``) on every page
  of the English packages and of the translated Debian manuals: labels that differ, the largest score
  difference, MB/s of prose on both sides.

Each figure is the best of ``--repeat`` runs (the machine is shared). Figures only: nothing asserts a time.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from _common import real_documents

NUM_PERM, SHINGLE, SEED = 128, 5, 1


def _best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def minhash(docs: list[str], repeat: int) -> None:
    from datasketch import MinHash

    from lakeprep.dedup._kernels import minhash_signatures, shingles, text_signatures

    def fast() -> None:
        for i in range(0, len(docs), 1000):
            text_signatures(docs[i : i + 1000], num_perm=NUM_PERM, seed=SEED, shingle_size=SHINGLE)

    def compat() -> None:
        for i in range(0, len(docs), 1000):
            minhash_signatures([shingles(t, SHINGLE) for t in docs[i : i + 1000]], num_perm=NUM_PERM, seed=SEED)

    sets = [shingles(t, SHINGLE) for t in docs]

    def ds_only() -> None:
        for s in sets:
            m = MinHash(num_perm=NUM_PERM, seed=SEED)
            m.update_batch(s)

    def ds_with_shingles() -> None:
        for t in docs:
            m = MinHash(num_perm=NUM_PERM, seed=SEED)
            m.update_batch(shingles(t, SHINGLE))

    n = len(docs)
    t_fast, t_compat = _best(fast, repeat), _best(compat, repeat)
    t_ds, t_ds_sh = _best(ds_only, repeat), _best(ds_with_shingles, repeat)
    print(f"MinHash {NUM_PERM} perms, word {SHINGLE}-shingles, {n} docs ({sum(len(t.split()) for t in docs) / n:.0f} words on average)")
    print(f"  lakeprep fast64 (texts -> signatures)        {n / t_fast:9.0f} docs/s")
    print(f"  lakeprep sha1_32 (shingles + signatures)     {n / t_compat:9.0f} docs/s")
    print(f"  datasketch update_batch, shingles included   {n / t_ds_sh:9.0f} docs/s")
    print(f"  datasketch update_batch, shingles given      {n / t_ds:9.0f} docs/s")
    print(f"  ratio fast64 / datasketch (shingles included): {t_ds_sh / t_fast:.2f}x;  vs shingles given: {t_ds / t_fast:.2f}x")
    print(f"  ratio sha1_32 / datasketch (shingles included): {t_ds_sh / t_compat:.2f}x")


def text_kernels(docs: list[str], repeat: int) -> None:
    from lakeprep.text.lang import language_of, languages_of
    from lakeprep.text.normalize import normalize_text
    from lakeprep.text.quality import prose_of, signals_and_prose
    from lakeprep.tokenize._kernels import tokenize_documents
    from lakeprep.tokenizers import get_encoding

    enc = get_encoding("cl100k_base")
    prose = [prose_of(t) for t in docs]
    language_of("warm up: the model is loaded once per process")
    mb = sum(len(t) for t in docs) / 1e6
    kernels: dict[str, Callable[[], object]] = {
        "normalize_text": lambda: [normalize_text(t) for t in docs],
        "quality signals, web": lambda: [signals_and_prose(t) for t in docs],
        "quality signals, docs": lambda: [signals_and_prose(t, code_aware=True) for t in docs],
        "language id (lid.176 in numpy)": lambda: _batches(languages_of, prose),
        "tokenize for packing (+ EOS)": lambda: tokenize_documents(docs, enc, append_eos=True),
        "one tiktoken encode_ordinary pass": lambda: [enc.encode_ordinary(t) for t in docs],
    }
    print(f"text kernels, {len(docs)} docs, {mb:.1f} MB")
    for name, fn in kernels.items():
        print(f"  {name:40s} {mb / _best(fn, repeat):7.2f} MB/s")


def _batches(fn: Callable[[list[str]], list], texts: list[str], size: int = 1000) -> list:  # type: ignore[type-arg]
    """``fn`` over ``texts`` in batches of ``size``, as silver's Arrow batches call it."""
    return [x for i in range(0, len(texts), size) for x in fn(texts[i : i + size])]


def language_ids(repeat: int) -> None:
    """lakeprep's numpy run of lid.176 against fastText's C++ (fasttext-predict, what lakeprep called until
    2026-12-06) on every page, of any length, of the English packages and of the translated manuals
    (``LANG_PACKAGES``): the prose of both quality profiles; labels that differ, the largest score difference, speed.
    lakeprep is called as silver calls it, on batches of 1,000 documents; the C++ on one text at a time."""
    import fasttext

    from _common import LANG_PACKAGES, REAL_PACKAGES
    from lakeprep.text import lang
    from lakeprep.text.normalize import normalize_text
    from lakeprep.text.quality import signals_and_prose

    cpp = fasttext.load_model(str(lang._model_path()))

    def by_cpp(prose: str) -> tuple[str, float]:
        (label,), (score,) = cpp.predict(" ".join(prose.split()), k=1)
        return label.removeprefix("__label__"), min(float(score), 1.0)

    for name, packages in (("English", REAL_PACKAGES), ("translated", LANG_PACKAGES)):
        pages = [normalize_text(t) for t in real_documents(min_words=0, max_words=sys.maxsize, packages=packages)]
        prose = [pr for t in pages for ca in (False, True) if lang._LETTER.search(pr := signals_and_prose(t, code_aware=ca)[1])]
        if not prose:
            print(f"language id, {name} pages: none installed (make bench-corpus)")
            continue
        mb = sum(len(p) for p in prose) / 1e6
        lang._model.cache_clear()  # a new worker: no word remembered
        t0 = time.perf_counter()
        ours = _batches(lang.languages_of, prose)
        t_cold = time.perf_counter() - t0
        t_warm = _best(lambda: _batches(lang.languages_of, prose), repeat)
        t_cpp = _best(lambda: [by_cpp(p) for p in prose], repeat)
        theirs = [by_cpp(p) for p in prose]
        flips = [(a[0], b[0]) for a, b in zip(ours, theirs) if a[0] != b[0]]
        diff = max(abs(a[1] - b[1]) for a, b in zip(ours, theirs))
        print(
            f"language id, {name} pages ({len(pages)} pages, {len(prose)} proses, {mb:.1f} MB; "
            f"{len({c for c, _ in theirs})} labels): labels differ {len(flips)} {flips[:5]}, max |score diff| {diff:.1e}; "
            f"C++ {mb / t_cpp:.2f} MB/s, numpy {mb / t_cold:.2f} MB/s first pass, {mb / t_warm:.2f} MB/s again "
            f"({t_cpp / t_cold:.1f}x / {t_cpp / t_warm:.1f}x); {len(lang._model().known):,} words remembered"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=6000, help="documents used (the first N by path)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["minhash", "text", "lang"], default=None)
    args = parser.parse_args()
    docs = real_documents()[: args.limit]
    if not docs:
        print("no Debian documentation packages installed: apt-get install " + " ".join(__import__("_common").REAL_PACKAGES))
        return
    print(f"corpus: {len(docs)} real documentation pages, {sum(len(t) for t in docs) / 1e6:.1f} MB of text")
    if args.only in (None, "minhash"):
        minhash(docs, args.repeat)
    if args.only in (None, "text"):
        text_kernels(docs, args.repeat)
    if args.only in (None, "lang"):
        language_ids(args.repeat)


if __name__ == "__main__":
    main()
