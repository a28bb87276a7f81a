"""The one-process kernel chain of ``e2e.py`` against the chain of an older checkout: same documents, alternating runs.

    python benchmarks/chain_ab.py --old 7b9cb49 --docs 10000 --rounds 3   # in make bench
    python benchmarks/chain_ab.py --old /tmp/filed                        # a checkout (git worktree) instead

``--old`` is a checkout of the older code or a git revision of this clone, which is then extracted with ``git
archive`` into a temporary folder (``7b9cb49``: the last commit before issue 16 was filed, whose kernel chain
the issue's 2x target is measured against).

Every run is its own process with that checkout's ``src`` and ``benchmarks`` first on ``sys.path`` (its own
kernels and its own ``e2e._kernel_chain``), on the documents this checkout's ``e2e._corpus`` generates. Chains
written before 2026-12-05 take ``(docs, seq_len)`` and run fixed kernels (no language id, ``sha1_32`` MinHash);
later ones take ``(docs, cfg)`` and run the build's configured kernels. This checkout runs twice per round: with
language id (the default config) and without it (the old chain's work). Each round's ratio is printed, then the
ratio of the best time of each side over the rounds. Figures only: nothing asserts a time.
"""

from __future__ import annotations

import argparse
import pickle
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

_RUN = """
import inspect, pickle, sys
repo, language, docs = sys.argv[1], sys.argv[2] == "on", pickle.load(open(sys.argv[3], "rb"))
sys.path[:0] = [repo + "/src", repo + "/benchmarks"]
import e2e, lakeprep
assert lakeprep.__file__.startswith(repo), lakeprep.__file__
if "cfg" in inspect.signature(e2e._kernel_chain).parameters:
    from lakeprep.config import config_from_mapping
    cfg = config_from_mapping({"storage": {"root": "unused"}, "bronze": {"landing": "unused", "jsonl": {"id_field": "id"}},
                               "silver": {"language": {"enabled": language}}})
    print(e2e._kernel_chain(docs, cfg))
else:
    print(e2e._kernel_chain(docs, 2048))
"""


def _chain(repo: Path, language: str, docs: Path) -> float:
    out = subprocess.run([sys.executable, "-c", _RUN, str(repo), language, str(docs)], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"the chain of {repo} failed:\n{out.stderr[-2000:]}")
    return float(out.stdout.split()[-1])


def _old_code(old: str, tmp: Path) -> Path:
    """``old`` as a folder: itself if it is one, else the git revision ``old`` of this clone extracted under ``tmp``."""
    if Path(old).is_dir():
        return Path(old).resolve()
    repo, out = HERE.parent, tmp / "old"
    rev = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{old}^{{commit}}"], capture_output=True, text=True)
    if rev.returncode:
        raise SystemExit(f"--old {old}: neither a folder nor a commit of {repo} (a shallow clone? `git fetch --unshallow`, "
                         "or pass a checkout of the older code)")
    tar = tmp / "old.tar"
    subprocess.run(["git", "-C", str(repo), "archive", "-o", str(tar), rev.stdout.strip(), "src", "benchmarks"], check=True)
    shutil.unpack_archive(tar, out)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--old", required=True, help="a checkout (git worktree) of an older commit, or a git revision of this clone")
    p.add_argument("--docs", type=int, default=10000)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--seed", type=int, default=5)
    args = p.parse_args()
    sys.path.insert(0, str(HERE))
    from e2e import _corpus

    docs = _corpus(args.docs, args.seed)
    with tempfile.TemporaryDirectory(prefix="lakeprep-chain-ab-") as tmp:
        path = Path(tmp) / "docs.pkl"
        path.write_bytes(pickle.dumps(docs))
        old_code = _old_code(args.old, Path(tmp))
        print(f"{len(docs):,} documents, {sum(map(len, docs)) / 1e6:.1f} MB; old: {args.old} ({old_code})")
        times: dict[str, list[float]] = {"old": [], "on": [], "off": []}
        for r in range(1, args.rounds + 1):
            old = _chain(old_code, "on", path)
            on = _chain(HERE.parent, "on", path)
            off = _chain(HERE.parent, "off", path)
            for side, t in (("old", old), ("on", on), ("off", off)):
                times[side].append(t)
            print(
                f"round {r}: old chain {old:.1f} s; this chain {on:.1f} s with language id ({old / on:.2f}x), "
                f"{off:.1f} s without ({old / off:.2f}x)",
                flush=True,
            )
        # the best of the rounds on each side, as kernels.py takes the best of its repeats: this machine drifts
        # by up to 1.5x within minutes, and a slow moment only ever adds time
        best = {side: min(ts) for side, ts in times.items()}
        print(
            f"best of {args.rounds} rounds: old chain {best['old']:.1f} s; this chain {best['on']:.1f} s with language id "
            f"({best['old'] / best['on']:.2f}x, target >= 2x), {best['off']:.1f} s without ({best['old'] / best['off']:.2f}x)"
        )


if __name__ == "__main__":
    main()
