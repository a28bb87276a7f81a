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


def synthetic_documents(n_docs: int, *, seed: int) -> list[str]:
    """A seeded mix of document shapes (faker's word list), as a crawl or a document store holds them:

    - 50% Markdown: headings, short paragraphs, bullet lists;
    - 25% prose with long paragraphs (20-60 sentences, often longer than a chunk);
    - 25% hard-wrapped plain text (lines of ~80 characters, rare blank lines), like text exports and logs.
    """
    import random
    import textwrap

    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    docs = []
    for _ in range(n_docs):
        kind = rng.random()
        if kind < 0.5:
            parts = [f"# {fake.sentence(nb_words=5).rstrip('.')}"]
            for _ in range(rng.randint(2, 8)):
                parts.append(f"## {fake.sentence(nb_words=4).rstrip('.')}")
                for _ in range(rng.randint(1, 4)):
                    if rng.random() < 0.2:
                        parts.append("\n".join(f"- {fake.sentence(nb_words=rng.randint(4, 12))}" for _ in range(rng.randint(2, 6))))
                    else:
                        parts.append(fake.paragraph(nb_sentences=rng.randint(3, 12)))
            docs.append("\n\n".join(parts))
        elif kind < 0.75:
            docs.append("\n\n".join(fake.paragraph(nb_sentences=rng.randint(20, 60)) for _ in range(rng.randint(1, 5))))
        else:
            body = " ".join(fake.paragraph(nb_sentences=rng.randint(10, 30)) for _ in range(rng.randint(2, 8)))
            docs.append("\n".join(textwrap.wrap(body, width=80)))
    return docs
