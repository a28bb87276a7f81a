"""One-process kernel throughput on documentation nobody here wrote, side by side with the peers.

    python benchmarks/kernels.py [--limit 6000] [--repeat 3]

Corpus: every HTML page of the installed Debian documentation packages (``_common.real_documents``:
DocBook, Sphinx, Doxygen, texinfo, asciidoc), as lakeprep's silver text, 300-3,000 words each.

* MinHash, 128 permutations, word 5-shingles: lakeprep ``fast64`` (texts -> signatures, shingling
  included) and ``sha1_32`` (the datasketch-compatible path: :func:`shingles` + :func:`minhash_signatures`)
  against datasketch ``MinHash.update_batch`` fed the same shingles (shingling time counted on both sides
  of that comparison, and once without it).

Each figure is the best of ``--repeat`` runs (the machine is shared). Figures only: nothing asserts a time.
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=6000, help="documents used (the first N by path)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["minhash", "chunking"], default=None)
    args = parser.parse_args()
    docs = real_documents()[: args.limit]
    if not docs:
        print("no Debian documentation packages installed: apt-get install " + " ".join(__import__("_common").REAL_PACKAGES))
        return
    print(f"corpus: {len(docs)} real documentation pages, {sum(len(t) for t in docs) / 1e6:.1f} MB of text")
    if args.only in (None, "minhash"):
        minhash(docs, args.repeat)


if __name__ == "__main__":
    main()
