from __future__ import annotations

from pathlib import Path

import pytest

from lakeprep.config import Config, apply_overrides, config_from_mapping, load_config
from lakeprep.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_default_yaml_loads_into_frozen_dataclasses() -> None:
    cfg = load_config(REPO / "conf" / "default.yaml")
    assert cfg.run.name == "sample"
    assert cfg.bronze.formats[".htm"] == "html"
    # the sample config maps every format lakeprep reads (make run once left the PDF, DOCX and WARC samples unmapped)
    from lakeprep.config import BronzeConfig

    assert dict(cfg.bronze.formats) == dict(BronzeConfig().formats)
    assert cfg.bronze.jsonl.id_field == "id"
    assert cfg.spark.conf["spark.sql.shuffle.partitions"] == "4"
    from lakeprep.session import SMALL_DATA_CONF  # the sample is small data: the YAML repeats those settings

    assert {k: cfg.spark.conf.get(k) for k in SMALL_DATA_CONF} == dict(SMALL_DATA_CONF)
    with pytest.raises(AttributeError):
        cfg.run.seed = 1  # type: ignore[misc]


def test_cluster_example_is_valid() -> None:
    cfg = load_config(REPO / "conf" / "cluster.example.yaml")
    assert cfg.storage.table_path("bronze.documents") == "s3a://my-bucket/lakeprep/bronze/documents"


def test_typo_key_names_the_key_and_the_allowed_keys() -> None:
    with pytest.raises(ConfigError) as err:
        config_from_mapping({"bronze": {"max_fil_bytes": 10}})
    assert err.value.key == "bronze.max_fil_bytes"
    assert "max_file_bytes" in str(err.value)


def test_typo_top_level_section() -> None:
    with pytest.raises(ConfigError, match="'bronz'.*allowed here"):
        config_from_mapping({"bronz": {}})


@pytest.mark.parametrize(
    ("data", "key", "fragment"),
    [
        ({"bronze": {"max_file_bytes": "big"}}, "bronze.max_file_bytes", "must be an integer"),
        ({"bronze": {"max_file_bytes": 0}}, "bronze.max_file_bytes", "between 1 and"),
        ({"bronze": {"formats": {".doc": "doc"}}}, "bronze.formats..doc", "'doc' is not one of ['txt', 'md', 'html', 'jsonl', 'pdf', 'docx', 'pptx', 'warc']"),
        ({"bronze": {"max_file_bytes_by_format": {"warc": 0}}}, "bronze.max_file_bytes_by_format.warc", "between 1 and 1500000000"),
        ({"bronze": {"warc": {"content_types": ["HTML"]}}}, "bronze.warc.content_types", "lower-case MIME type"),
        ({"bronze": {"formats": {"txt": "txt"}}}, "bronze.formats.txt", "start with '.'"),
        ({"bronze": {"encodings": ["utf-9"]}}, "bronze.encodings", "not a codec"),
        ({"run": {"name": "has space"}}, "run.name", "must match"),
        ({"run": {"seed": True}}, "run.seed", "must be an integer"),
        ({"spark": {"conf": {"sql.shuffle": "2"}}}, "spark.conf.sql.shuffle", "must start with 'spark.'"),
        ({"bronze": {"jsonl": {"text_field": ""}}}, "bronze.jsonl.text_field", "must name"),
        ({"bronze": {"landing": ""}}, "bronze.landing", "or be empty with a bronze.source table"),
        ({"bronze": {"source": {"table": "main.s.t", "kind": "parquet"}}}, "bronze.source.table", "a Parquet source is a path"),
        ({"bronze": {"source": {"table": "main.s.t", "id": ""}}}, "bronze.source.id", "needs an id column"),
        ({"bronze": {"source": {"table": "main.s.t", "kind": "csv"}}}, "bronze.source.kind", "not one of ['delta', 'parquet']"),
        ({"gates": {"local_max_rows": -1}}, "gates.local_max_rows", "must be >= 0"),
        ({"gold": {"mds": {"local_max_rows": -1}}}, "gold.mds.local_max_rows", "between 0 and 100000"),
    ],
)
def test_bad_values_are_rejected_with_key_and_allowed_values(data: dict, key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        config_from_mapping(data)
    assert err.value.key == key
    assert fragment in str(err.value)


def test_overrides_parse_yaml_values_and_dotted_spark_keys(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("bronze:\n  landing: ./in\n")
    cfg = load_config(
        path,
        [
            "bronze.max_file_bytes=1024",
            "bronze.encodings=[utf-8, latin-1]",
            "spark.conf.spark.sql.shuffle.partitions=3",
            "bronze.jsonl.id_field=null",
        ],
    )
    assert cfg.bronze.max_file_bytes == 1024
    assert cfg.bronze.encodings == ("utf-8", "latin-1")
    assert cfg.spark.conf == {"spark.sql.shuffle.partitions": "3"}
    assert cfg.bronze.jsonl.id_field is None
    assert cfg.bronze.landing_path == str((Path.cwd() / "in").resolve())


def test_override_typo_fails_like_file_typo(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("{}")
    with pytest.raises(ConfigError, match="bronze.landin"):
        load_config(path, ["bronze.landin=/x"])
    with pytest.raises(ConfigError, match="key=value"):
        load_config(path, ["bronze.landing"])


def test_missing_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("bronze: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping at the top level"):
        load_config(listy)


def test_fingerprint_is_stable_and_sensitive() -> None:
    a = Config()
    assert a.fingerprint() == Config().fingerprint()
    b = config_from_mapping(apply_overrides({}, ["run.seed=7"]))
    assert a.fingerprint() != b.fingerprint()


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("silver.dedup.threshold=1.0", "silver.dedup.threshold"),
        ("silver.dedup.verify=maybe", "silver.dedup.verify"),
        ("silver.dedup.false_positive_weight=0.5", "silver.dedup.false_positive_weight"),
        ("silver.dedup.on_param_change=ignore", "silver.dedup.on_param_change"),
        ("silver.normalize.unicode_form=NFD", "silver.normalize.unicode_form"),
        ("silver.quality.min_alpha_word_fraction=2", "silver.quality.min_alpha_word_fraction"),
        ("silver.dedup.num_perm=4", "silver.dedup.num_perm"),
    ],
)
def test_silver_settings_are_validated(override: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        config_from_mapping(apply_overrides({}, [override]))
    assert err.value.key == key
