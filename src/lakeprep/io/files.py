"""Small files by location: a local path or an object-store URI (``s3a://``, ``s3://``).

The lake's tables are read and written by Spark (Hadoop's S3A connector for ``s3a://``). What is not a
table -- gate results, reports, the MDS export and its manifest -- is read and written here, by the
driver and by Python workers, which have no Hadoop file system (and none at all over Spark Connect).
Object stores are reached with boto3, configured only from the environment:

* credentials: boto3's usual chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, a profile, an
  instance role); nothing is read from lakeprep's YAML and nothing is logged;
* endpoint (an S3-compatible server): ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL`` (boto3's own
  names) or ``S3_ENDPOINT_URL`` (the name ``streaming`` reads); see :func:`s3_endpoint`.

Requests send checksums only when the operation requires one: recent boto3 adds CRC trailers to every
upload by default, which S3-compatible servers (s3proxy, older MinIO) reject.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lakeprep.errors import LakeprepError

__all__ = [
    "OBJECT_STORE_SCHEMES",
    "ObjectStoreError",
    "delete_tree",
    "exists",
    "is_object_store",
    "join",
    "list_children",
    "read_text",
    "s3_endpoint",
    "streaming_uri",
    "write_bytes",
    "write_text",
]

OBJECT_STORE_SCHEMES = ("s3a", "s3", "s3n")


class ObjectStoreError(LakeprepError):
    """An object-store location cannot be read or written."""


def is_object_store(location: str) -> bool:
    """True for ``s3a://``, ``s3://`` and ``s3n://`` URIs."""
    return urlparse(location).scheme in OBJECT_STORE_SCHEMES


def s3_endpoint() -> str | None:
    """The S3 endpoint from the environment (None: AWS itself)."""
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "S3_ENDPOINT_URL"):
        if os.environ.get(name):
            return os.environ[name]
    return None


def streaming_uri(location: str) -> str:
    """The URI ``streaming`` understands for a location (``s3a://b/k`` -> ``s3://b/k``; paths unchanged)."""
    parsed = urlparse(location)
    return f"s3://{parsed.netloc}{parsed.path}" if parsed.scheme in OBJECT_STORE_SCHEMES else location


def join(location: str, *parts: str) -> str:
    """``location`` with ``parts`` appended by ``/`` (URIs) or as path parts (local paths)."""
    if is_object_store(location):
        return "/".join([location.rstrip("/"), *(p.strip("/") for p in parts)])
    return str(Path(location).joinpath(*parts))


@functools.lru_cache(maxsize=4)
def _client(endpoint: str | None) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(request_checksum_calculation="when_required", response_checksum_validation="when_required",
                    retries={"max_attempts": 5, "mode": "standard"})
    return boto3.client("s3", endpoint_url=endpoint, config=config)


def _split(location: str) -> tuple[Any, str, str]:
    parsed = urlparse(location)
    if not parsed.netloc:
        raise ObjectStoreError(f"{location!r} names no bucket: use s3a://<bucket>/<path>")
    return _client(s3_endpoint()), parsed.netloc, parsed.path.lstrip("/")


def _fail(action: str, location: str, exc: Exception) -> ObjectStoreError:
    return ObjectStoreError(
        f"cannot {action} {location}: {type(exc).__name__}: {exc}. Check the bucket, the credentials in the "
        "environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile) and AWS_ENDPOINT_URL for an S3-compatible server"
    )


def read_text(location: str) -> str | None:
    """The text of the file at ``location``, or None if there is none."""
    if not is_object_store(location):
        path = Path(location)
        return path.read_text(encoding="utf-8") if path.is_file() else None
    client, bucket, key = _split(location)
    try:
        return client.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    except client.exceptions.NoSuchKey:
        return None
    except Exception as exc:  # noqa: BLE001 - botocore raises many kinds; all mean the same to a user
        raise _fail("read", location, exc) from exc


def write_bytes(location: str, data: bytes) -> None:
    """Write ``data`` to ``location`` (a local file's folders are created). One PUT on an object store,
    which a reader sees whole or not at all."""
    if not is_object_store(location):
        path = Path(location)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return
    client, bucket, key = _split(location)
    try:
        client.put_object(Bucket=bucket, Key=key, Body=data)
    except Exception as exc:  # noqa: BLE001
        raise _fail("write", location, exc) from exc


def write_text(location: str, text: str) -> None:
    """:func:`write_bytes` of ``text`` in UTF-8."""
    write_bytes(location, text.encode("utf-8"))


def exists(location: str) -> bool:
    """Whether a file is at ``location``."""
    if not is_object_store(location):
        return Path(location).is_file()
    client, bucket, key = _split(location)
    try:
        client.head_object(Bucket=bucket, Key=key)
        return True
    except Exception:  # noqa: BLE001 - 404 and 403 alike: nothing readable there
        return False


def _keys(client: Any, bucket: str, prefix: str, *, delimiter: str = "") -> tuple[list[str], list[str]]:
    """Keys and common prefixes below ``prefix``."""
    keys: list[str] = []
    prefixes: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter=delimiter):
        keys += [o["Key"] for o in page.get("Contents", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    return keys, prefixes


def list_children(location: str) -> list[str]:
    """Names of the files and folders directly inside ``location`` (sorted; empty when it does not exist)."""
    if not is_object_store(location):
        path = Path(location)
        return sorted(p.name for p in path.iterdir()) if path.is_dir() else []
    client, bucket, key = _split(location)
    prefix = key.rstrip("/") + "/" if key else ""
    try:
        keys, prefixes = _keys(client, bucket, prefix, delimiter="/")
    except Exception as exc:  # noqa: BLE001
        raise _fail("list", location, exc) from exc
    names = {k[len(prefix):] for k in keys} | {p[len(prefix):].rstrip("/") for p in prefixes}
    return sorted(n for n in names if n)


def _delete_keys(client: Any, bucket: str, keys: list[str]) -> None:
    """One batch DELETE, or one DELETE per key where the server refuses batches: DeleteObjects must carry a
    checksum, and S3-compatible servers that predate CRC checksums (s3proxy 2.6) answer NotImplemented."""
    from botocore.exceptions import ClientError

    try:
        client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NotImplemented":
            raise
        for key in keys:
            client.delete_object(Bucket=bucket, Key=key)


def delete_tree(location: str) -> int:
    """Remove ``location`` and everything below it; returns how many objects (or files) went."""
    if not is_object_store(location):
        import shutil

        path = Path(location)
        if not path.exists():
            return 0
        count = sum(1 for p in path.rglob("*") if p.is_file()) if path.is_dir() else 1
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        return count
    client, bucket, key = _split(location)
    prefix = key.rstrip("/")
    try:
        keys, _ = _keys(client, bucket, prefix + "/")
        keys += [prefix] if exists(location) else []
        for i in range(0, len(keys), 1000):
            _delete_keys(client, bucket, keys[i : i + 1000])
    except ObjectStoreError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise _fail("delete", location, exc) from exc
    return len(keys)
