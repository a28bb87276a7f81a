"""``mask_pii`` on Spark, and the no-leak guarantee of a whole build."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakeprep.config import PiiConfig
from lakeprep.pii.mask import mask_pii, pseudonym_key
from lakeprep.pipeline.batch import run_build
from lakeprep.tokenizers import get_encoding

from ..conftest import write_file
from .helpers import make_config, table


def test_mask_pii_placeholders_counts_and_passthrough(spark: SparkSession) -> None:
    df = spark.createDataFrame(
        [("d1", "mail a@x.com or a@x.com, card 4111-1111-1111-1111", 7), ("d2", "nothing here", 8)],
        "doc_id string, text string, n int",
    )
    out = df.transform(mask_pii(cfg=PiiConfig(), key=None))
    assert out.columns == ["doc_id", "text", "n", "pii_counts"]  # text masked in place, counts appended
    comparable = out.withColumn("pii_counts", F.array_sort(F.map_entries("pii_counts")))  # maps cannot be sorted
    expected = spark.createDataFrame(
        [
            ("d1", "mail <EMAIL> or <EMAIL>, card <CREDIT_CARD>", 7, [("CREDIT_CARD", 1), ("EMAIL", 2)]),
            ("d2", "nothing here", 8, []),
        ],
        "doc_id string, text string, n int, pii_counts array<struct<key:string,value:int>>",
    )
    assert_df_equality(comparable, expected, ignore_row_order=True, ignore_nullable=True)


def test_pseudonyms_are_consistent_across_rows_and_need_a_key(spark: SparkSession, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = PiiConfig(default_action="pseudonymize", actions={"IP_ADDRESS": "keep"})
    monkeypatch.delenv("LAKEPREP_PII_KEY", raising=False)
    with pytest.raises(Exception, match="LAKEPREP_PII_KEY"):
        pseudonym_key(cfg)
    monkeypatch.setenv("LAKEPREP_PII_KEY", "a-test-key-of-some-length")
    df = spark.createDataFrame([("d1", "from a@x.com at 10.0.0.1"), ("d2", "to a@x.com and b@y.com")], "doc_id string, text string")
    rows = {r["doc_id"]: r["text"] for r in df.transform(mask_pii(cfg=cfg, key=pseudonym_key(cfg))).collect()}
    token = rows["d1"].split()[1]
    assert token.startswith("<EMAIL_") and rows["d2"].split()[1] == token and rows["d2"].split()[3] != token
    assert rows["d1"].endswith("10.0.0.1")


def _dump(df) -> str:  # type: ignore[no-untyped-def]
    """Every value of every row as JSON text."""
    return "\n".join(r[0] for r in df.select(F.to_json(F.struct("*"))).collect())


PLANTED = {
    "EMAIL": "maria.lopez@example.org",
    "PHONE": "+1 (212) 555-0187",
    "CREDIT_CARD": "5500 0000 0000 0004",
    "US_SSN": "219-09-9999",
    "IP_ADDRESS": "81.2.69.160",  # public (203.0.113.0/24 is a documentation block and stays by default)
    "IBAN": "GB82 WEST 1234 5698 7654 32",
    "AWS_ACCESS_KEY": "AKIAQWERTYUIOPASDFGH",
    "SECRET": "Tr0ub4dor-and-3",
}
# issue 13: national numbers of more regions, a card outside the issuer table, IPv6, more token types
PLANTED_V2 = {
    "PHONE_IT": "0321 481026",
    "PHONE_FR": "01 72 08 43 85",
    "PHONE_NL": "(038) 3688209",
    "PHONE_DE": "030 1234567",
    "CARD_35": "3512 3456 7890 1236",
    "IPV6": "2a00:1450:4007:80e::200e",
    "GITHUB_TOKEN": "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
    "JWT": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "URL_PASSWORD": "s3cr3t-Pa55",
    "QUOTED_PASSWORD": "Zx9-Qw7-Lp3",
}
# technical text that must come through unmasked
SURVIVORS = ("Chrome/14.19.14.229", "APP_VERSION=17.18.21.132", "Section 9.4.1.1", "CVE-2025-12345", "x::int", "PO-2016-227912")
FILLER = (
    "The quarterly review covered the migration of the reporting jobs to the new cluster, the retirement of the "
    "old nightly exports, and the plan for moving the remaining dashboards before the end of the year."
)


def test_no_planted_pii_leaves_bronze(spark: SparkSession, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    landing = tmp_path / "landing"
    write_file(landing / "prose.txt", f"{FILLER} Contact {PLANTED['EMAIL']} or {PLANTED['PHONE']}. {FILLER}")
    write_file(landing / "payments.md", f"# Payments\n\n{FILLER}\n\n| card | iban |\n|---|---|\n| {PLANTED['CREDIT_CARD']} | {PLANTED['IBAN']} |\n")
    write_file(
        landing / "server.log",  # not a mapped extension: quarantined in bronze, where raw data may stay
        f"connect from {PLANTED['IP_ADDRESS']}",
    )
    write_file(
        landing / "deploy.txt",
        f"{FILLER}\n\naws_access_key_id = {PLANTED['AWS_ACCESS_KEY']}\npassword = {PLANTED['SECRET']}\n"
        f"ssn {PLANTED['US_SSN']} from {PLANTED['IP_ADDRESS']}\n",
    )
    write_file(landing / "deploy-copy.txt", (landing / "deploy.txt").read_text())  # exact duplicate
    write_file(landing / "short.txt", f"Ping {PLANTED['EMAIL']} now")  # quality reject (too few words)
    v2 = PLANTED_V2
    write_file(
        landing / "contacts.md",
        f"# Contacts\n\n{FILLER}\n\n- Milano: tel. {v2['PHONE_IT']}\n- Paris : téléphone {v2['PHONE_FR']}\n"
        f"- Zwolle: bel {v2['PHONE_NL']}\n- Berlin: Telefon {v2['PHONE_DE']}\n\nCard on file {v2['CARD_35']}, "
        f"seen from {v2['IPV6']}.\n\n{FILLER}\n",
    )
    write_file(
        landing / "ci.md",
        f"# CI notes\n\n{FILLER}\n\n```\nGITHUB_TOKEN={v2['GITHUB_TOKEN']}\nAuthorization: Bearer {v2['JWT']}\n"
        f"DATABASE_URL=postgres://app:{v2['URL_PASSWORD']}@db.internal:5432/app\npassword: \"{v2['QUOTED_PASSWORD']}\"\n```\n\n"
        f"Upgrade to {SURVIVORS[0]} and {SURVIVORS[1]}; see {SURVIVORS[2]}, {SURVIVORS[3]}, SELECT {SURVIVORS[4]} and {SURVIVORS[5]}.\n",
    )
    # a near-duplicate pair: the report shows the removed copy, read from bronze (raw), beside the kept one
    handover = (
        "# Handover\n\nThe on-call engineer for the storage cluster this week is reachable at {mail} and on {phone}; "
        "escalations after midnight go to the platform lead, who reviews the incident queue each morning, closes "
        "the tickets that were resolved overnight, and writes the summary for the weekly operations meeting.\n\n"
        f"{FILLER}\n"
    )
    write_file(landing / "handover.md", handover.format(mail=PLANTED["EMAIL"], phone=PLANTED_V2["PHONE_DE"]))
    write_file(landing / "handover-edited.md", handover.format(mail=PLANTED["EMAIL"], phone=PLANTED_V2["PHONE_DE"]).replace("each morning", "every morning"))
    write_file(landing / "export.jsonl", f'{{"text": "Refund for {PLANTED["CREDIT_CARD"]} owner {PLANTED["EMAIL"]}"\n')  # bad JSON: quarantined with an excerpt
    cfg = make_config(landing, tmp_path / "lake", "gold.sequences.seq_len=16", "gold.splits.train=1", "gold.splits.val=0", "gold.splits.test=0")
    with caplog.at_level(logging.DEBUG, logger="lakeprep"):
        result = run_build(spark, cfg)
    s = result.silver
    assert (s.quality_rejected, s.exact_duplicates, s.near_duplicates, s.documents_kept) == (1, 1, 1, 6), s
    assert s.pii_counts["EMAIL"] == 4 and s.pii_counts["CREDIT_CARD"] == 2 and s.pii_counts["IBAN"] == 1  # 2 in the near-duplicate pair

    # bronze keeps the raw text (it is the system of record) ...
    bronze_blob = _dump(table(spark, cfg, "bronze.documents"))
    assert PLANTED["EMAIL"] in bronze_blob and PLANTED["IBAN"] in bronze_blob
    # ... and nothing after bronze does: not the tables, not the logs, not the printed summary
    for name in (
        "silver.documents", "quarantine.silver", "silver.dedup_clusters", "silver.minhash_index", "gold.chunks",
    ):
        blob = _dump(table(spark, cfg, name))
        assert blob, name
        for kind, value in {**PLANTED, **PLANTED_V2}.items():
            assert value not in blob, f"{kind} leaked into {name}"
    # gold: the packed token stream and the MDS samples decode to masked text only
    enc = get_encoding("cl100k_base")
    seqs = table(spark, cfg, "gold.training_sequences").orderBy("split", "seq_index").collect()
    assert len(seqs) > 10
    stream = enc.decode([t for r in seqs for t in r["tokens"]])
    assert "<EMAIL>" in stream or "<IBAN>" in stream  # placeholders, not values (the split's tail is dropped)
    assert "<IBAN>" in _dump(table(spark, cfg, "gold.chunks"))
    from streaming import StreamingDataset
    from streaming.base.util import clean_stale_shared_memory

    clean_stale_shared_memory()
    ds = StreamingDataset(local=str(Path(cfg.mds_path) / "train"), shuffle=False, batch_size=1)
    mds_text = enc.decode([int(t) for i in range(len(ds)) for t in ds[i]["tokens"]])
    assert len(ds) == len(seqs) and mds_text == stream
    for kind, value in {**PLANTED, **PLANTED_V2}.items():
        assert value not in stream, f"{kind} leaked into gold.training_sequences / MDS"
    reports = list((Path(cfg.gate_results_path).parent / "reports").glob("*/report.*"))
    assert len(reports) == 2  # report.json and report.html of this build
    shown = json.loads(next(p for p in reports if p.name == "report.json").read_text())["examples"]
    assert shown["near_duplicates"] and "&lt;EMAIL&gt;" in shown["near_duplicates"][0]["diff"]  # the raw copy's excerpt, masked (HTML-escaped)
    assert any("<CREDIT_CARD>" in e["excerpt"] for items in shown["quarantine_bronze"].values() for e in items)
    outputs = caplog.text + result.summary() + "".join(p.read_text(encoding="utf-8") for p in reports)
    for kind, value in {**PLANTED, **PLANTED_V2}.items():
        assert value not in outputs, f"{kind} leaked into the logs, the summary or the report"
    docs = {r["source_path"].rsplit("/", 1)[1]: r for r in table(spark, cfg, "silver.documents").collect()}
    assert "<IBAN>" in docs["payments.md"]["text"] and "<CREDIT_CARD>" in docs["payments.md"]["text"]
    deploy = next(r for name, r in docs.items() if name.startswith("deploy"))  # one of the two copies is kept
    assert deploy["pii_counts"] == {"AWS_ACCESS_KEY": 1, "SECRET": 1, "US_SSN": 1, "IP_ADDRESS": 1}
    assert docs["contacts.md"]["pii_counts"] == {"PHONE": 4, "CREDIT_CARD": 1, "IP_ADDRESS": 1}
    assert docs["ci.md"]["pii_counts"] == {"GITHUB_TOKEN": 1, "JWT": 1, "URL_CREDENTIALS": 1, "SECRET": 1}
    for survivor in SURVIVORS:  # technical text is not over-masked
        assert survivor in docs["ci.md"]["text"], survivor
