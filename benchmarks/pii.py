"""PII detection quality and speed: lakeprep (hyperscan and re engines) vs Presidio's pattern recognizers.

    pip install -e '.[bench]'   # faker, presidio-analyzer (no spaCy model is needed for pattern recognizers)
    python benchmarks/pii.py --docs 3000

Corpora (benchmarks/pii_corpus.py): an independent labeled set from several generators with hard negatives,
a phone grid of 26 regions x 3 layouts, and real documentation pages of Debian packages built by five
HTML generators (pure negatives; install them with ``apt-get install`` first, see the README).

Prints, from one run: per type recall / precision on the labeled set (a prediction is right when it overlaps
a planted value of the same type), hard-negative survival per kind (the negative's characters untouched),
detections per MB per type on the real documentation with a random sample to read, and MB/s per core of
each engine and of Presidio on the same texts, as ratios. Figures only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from pii_corpus import DOC_PACKAGES, Gold, docs_corpus, labeled_set, phone_grid  # noqa: E402

PRESIDIO_TYPES = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CREDIT_CARD",
    "US_SSN": "US_SSN",
    "IP_ADDRESS": "IP_ADDRESS",
    "IBAN_CODE": "IBAN",
}
NEVER_IN_DOCS = ("PHONE", "CREDIT_CARD", "US_SSN", "SECRET")
Pred = list[tuple[int, int, str]]


def run_lakeprep(texts: list[str], engine: str, warm: list[str] = ()) -> tuple[list[Pred], float]:
    from lakeprep.pii._kernels import PII_TYPES, detector, mask_text

    det = detector(PII_TYPES, engine=engine)
    for text in warm:  # one-time costs (numbering plans compiled on first sight, ~0.3 s a process) are not throughput
        det.detect(text)
    t0 = time.perf_counter()
    out = []
    for text in texts:
        spans = det.detect(text)
        mask_text(text, spans, actions={})
        out.append([(s.start, s.end, s.type) for s in spans])
    return out, time.perf_counter() - t0


def run_presidio(texts: list[str], warm: list[str] = ()) -> tuple[list[Pred], float]:
    # presidio's e-mail recognizer calls tldextract, which fetches the Public Suffix List from the network on
    # its first call (and logs a traceback per URL when it cannot); an empty URL list makes it read the
    # snapshot it ships, as it fell back to anyway: nothing is downloaded at run time
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        IpRecognizer,
        PhoneRecognizer,
        UsSsnRecognizer,
    )

    recognizers = [EmailRecognizer(), PhoneRecognizer(), CreditCardRecognizer(), UsSsnRecognizer(), IpRecognizer(), IbanRecognizer()]
    entities = list(PRESIDIO_TYPES)
    for rec in recognizers:  # warm-up: the e-mail recognizer loads the suffix list once
        rec.analyze("a@b.com", entities, None)
        for text in warm:
            rec.analyze(text, entities, None)
    t0 = time.perf_counter()
    out = []
    for text in texts:
        found = []
        for rec in recognizers:
            for r in rec.analyze(text, entities, None):
                if r.entity_type in PRESIDIO_TYPES and r.score >= 0.4:
                    found.append((r.start, r.end, PRESIDIO_TYPES[r.entity_type]))
        out.append(found)
    return out, time.perf_counter() - t0


def score(preds: list[Pred], docs: list[tuple[str, Gold, Gold]], types: tuple[str, ...]) -> dict[str, tuple[int, int, int]]:
    """type -> (true positives, false positives, false negatives)."""
    tp, fp, fn = Counter(), Counter(), Counter()
    for pred, (_, gold, _) in zip(preds, docs):
        for s, e, t in pred:
            if t not in types:
                continue
            if any(t == gt and s < ge and gs < e for gs, ge, gt in gold):
                tp[t] += 1
            else:
                fp[t] += 1
        for gs, ge, gt in gold:
            if gt in types and not any(t == gt and s < ge and gs < e for s, e, t in pred):
                fn[gt] += 1
    return {t: (tp[t], fp[t], fn[t]) for t in types}


def survival(preds: list[Pred], docs: list[tuple[str, Gold, Gold]]) -> dict[str, tuple[int, int]]:
    """negative kind -> (survived, total)."""
    ok, total = Counter(), Counter()
    for pred, (_, _, negs) in zip(preds, docs):
        for ns, ne, kind in negs:
            total[kind] += 1
            if not any(s < ne and ns < e for s, e, _ in pred):
                ok[kind] += 1
    return {k: (ok[k], total[k]) for k in sorted(total)}


def _fmt(x: float) -> str:
    return f"{x:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--doc-mb", type=float, default=4.0, help="MB of real documentation text per generator family")
    parser.add_argument("--sample", type=int, default=40, help="detections on real docs printed for reading")
    parser.add_argument("--no-presidio", action="store_true")
    args = parser.parse_args()

    from lakeprep.pii._kernels import PII_TYPES
    from lakeprep.pii._scan import available_engines

    docs = labeled_set(args.docs, args.seed) + phone_grid(args.seed)
    texts = [t for t, _, _ in docs]
    mb = sum(len(t.encode()) for t in texts) / 1e6
    planted = Counter(t for _, g, _ in docs for _, _, t in g)
    print(f"labeled set: {len(docs)} documents, {mb:.2f} MB, planted: {dict(sorted(planted.items()))}")
    print(f"hard negatives: {sum(len(n) for _, _, n in docs)}; engines here: {', '.join(available_engines())}")

    warm = [t for t, _, _ in labeled_set(200, args.seed + 1)]  # another seed: warms code paths, not caches
    results = {}
    for engine in available_engines():
        results[engine] = run_lakeprep(texts, engine, warm)
    engines = list(results)
    same = all(results[e][0] == results[engines[0]][0] for e in engines)
    print(f"engines agree on every span: {same}")
    ours, _ = results[engines[0]]
    s_ours = score(ours, docs, PII_TYPES)
    theirs: list[Pred] | None = None
    t_presidio = None
    if not args.no_presidio:
        theirs, t_presidio = run_presidio(texts, warm)
        s_theirs = score(theirs, docs, tuple(PRESIDIO_TYPES.values()))

    print(f"\n{'type':<16} {'n':>5} | {'lakeprep R':>10} {'P':>7} | {'presidio R':>10} {'P':>7}")
    for t in PII_TYPES:
        tp, fp, fn = s_ours[t]
        if tp + fn == 0 and fp == 0:
            continue
        r = tp / (tp + fn) if tp + fn else float("nan")
        p = tp / (tp + fp) if tp + fp else float("nan")
        line = f"{t:<16} {tp + fn:>5} | {_fmt(r):>10} {_fmt(p):>7} |"
        if theirs is not None and t in s_theirs:
            tp2, fp2, fn2 = s_theirs[t]
            line += f" {_fmt(tp2 / (tp2 + fn2) if tp2 + fn2 else float('nan')):>10} {_fmt(tp2 / (tp2 + fp2) if tp2 + fp2 else float('nan')):>7}"
        print(line)

    print(f"\n{'hard negative':<16} {'n':>5} | {'lakeprep survival':>17} | {'presidio survival':>17}")
    surv = survival(ours, docs)
    surv2 = survival(theirs, docs) if theirs is not None else {}
    for kind, (ok, n) in surv.items():
        other = f"{surv2[kind][0] / n:17.4f}" if kind in surv2 else ""
        print(f"{kind:<16} {n:>5} | {ok / n:17.4f} | {other}")
    missed = [(t[gs:ge], gt) for (t, g, _), pred in zip(docs, ours) for gs, ge, gt in g if not any(x == gt and s < ge and gs < e for s, e, x in pred)]
    if missed:
        print(f"\nmissed (first 25 of {len(missed)}):", missed[:25])
    killed = [(t[ns:ne], k, [(t[s:e], x) for s, e, x in pred if s < ne and ns < e]) for (t, _, negs), pred in zip(docs, ours) for ns, ne, k in negs if any(s < ne and ns < e for s, e, _ in pred)]
    if killed:
        print(f"\nnegatives hit (first 15 of {len(killed)}):", killed[:15])

    print("\nthroughput on the labeled set (1 process, detect + mask):")
    for engine, (_, secs) in results.items():
        ratio = f", {t_presidio / secs:.0f}x presidio" if t_presidio else ""
        print(f"  lakeprep {engine:<9} {mb / secs:7.2f} MB/s/core (14 types){ratio}")
    if t_presidio:
        print(f"  presidio patterns  {mb / t_presidio:7.3f} MB/s/core (6 types)")

    corpus = docs_corpus(args.doc_mb)
    if not corpus:
        print(f"\nno documentation packages installed; apt-get install {' '.join(p for ps in DOC_PACKAGES.values() for p in ps)}")
        return
    print("\nreal documentation (pure negatives; detections per MB):")
    rng = random.Random(args.seed)
    sample: list[tuple[str, str, str]] = []
    all_texts: list[str] = []
    for family, pages in corpus.items():
        ptexts = [t for _, t in pages]
        all_texts += ptexts
        fmb = sum(len(t.encode()) for t in ptexts) / 1e6
        preds, secs = run_lakeprep(ptexts, engines[0])
        per_type: Counter[str] = Counter()
        for (path, text), pred in zip(pages, preds):
            for s, e, t in pred:
                per_type[t] += 1
                sample.append((t, path.rsplit("/", 1)[-1], text[max(0, s - 40) : e + 40].replace("\n", " ")))
        never = sum(per_type[t] for t in NEVER_IN_DOCS) / fmb
        print(f"  {family:<44} {len(pages):>4} pages {fmb:5.2f} MB  {mb_rate(fmb, secs)}  phone/card/ssn/secret {never:.2f}/MB  all: "
              + ", ".join(f"{t} {n / fmb:.2f}" for t, n in sorted(per_type.items())))
    dmb = sum(len(t.encode()) for t in all_texts) / 1e6
    times = {engine: run_lakeprep(all_texts, engine)[1] for engine in engines}
    line = "  throughput on the documentation: " + ", ".join(f"{e} {dmb / s:.2f} MB/s/core" for e, s in times.items())
    if not args.no_presidio:
        _, tp = run_presidio(all_texts)
        line += f", presidio {dmb / tp:.3f} MB/s/core ({tp / times[engines[0]]:.0f}x)"
    print(line)
    by_type = defaultdict(list)
    for item in sample:
        by_type[item[0]].append(item)
    print(f"\nrandom sample of detections on the documentation (up to {args.sample}):")
    picked = rng.sample(sample, min(args.sample, len(sample)))
    for t, page, context in sorted(picked):
        print(f"  {t:<14} {page:<32} ...{context}...")
    for t in NEVER_IN_DOCS:
        for item in by_type.get(t, []):
            print(f"  [{t} on docs] {item[1]}: ...{item[2]}...")


def mb_rate(mb: float, secs: float) -> str:
    return f"{mb / secs:6.2f} MB/s"


if __name__ == "__main__":
    main()
