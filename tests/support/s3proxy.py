"""A real S3 API server for tests: s3proxy (Maven ``org.gaul:s3proxy``) backed by a local folder.

Its class path is resolved once with Maven into ``~/.cache/lakeprep/s3proxy-<version>/lib`` (Maven
Central, ~45 MB). The legacy ``filesystem`` backend is used on purpose: ``filesystem-nio2`` answers a HEAD
on a directory marker with 200, and Delta then fails to create ``_delta_log``. Credentials are made up
per server and handed to clients through the environment only.

Run by hand (``make s3proxy``): ``python tests/support/s3proxy.py --port 9000 --dir ./s3data``.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from lakeprep.session import cache_dir

VERSION = "2.6.0"
CACHE = cache_dir(f"s3proxy-{VERSION}")

_POM = f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>lakeprep.test</groupId><artifactId>s3proxy-classpath</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.gaul</groupId><artifactId>s3proxy</artifactId><version>{VERSION}</version></dependency>
  </dependencies>
</project>
"""
# s3proxy logs every request at DEBUG without a configuration of its own
_LOGBACK = """<configuration>
  <appender name="E" class="ch.qos.logback.core.ConsoleAppender"><encoder><pattern>%d %level %logger{20} %msg%n</pattern></encoder></appender>
  <root level="WARN"><appender-ref ref="E"/></root>
</configuration>
"""


def classpath() -> str:
    """The s3proxy class path (a glob Java expands), resolved with Maven on first use."""
    lib = CACHE / "lib"
    if not (lib / f"s3proxy-{VERSION}.jar").is_file():
        mvn = shutil.which("mvn")
        if mvn is None:
            raise RuntimeError("s3proxy needs Maven (mvn) once to resolve its class path; install maven")
        CACHE.mkdir(parents=True, exist_ok=True)
        (CACHE / "pom.xml").write_text(_POM, encoding="utf-8")
        tmp = CACHE / "lib.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(
            [mvn, "-q", "-B", "-f", str(CACHE / "pom.xml"), "dependency:copy-dependencies", f"-DoutputDirectory={tmp}"],
            check=True, timeout=900,
        )
        shutil.rmtree(lib, ignore_errors=True)
        tmp.rename(lib)  # only a complete resolution is ever used
    return str(lib / "*")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class S3Proxy:
    """One running s3proxy on 127.0.0.1; ``env`` holds what a client (boto3, S3A, streaming) needs."""

    data_dir: Path
    port: int = 0
    access_key: str = field(default_factory=lambda: "lp" + secrets.token_hex(6))
    secret_key: str = field(default_factory=lambda: secrets.token_hex(16))
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            # boto3 >= 1.36 adds CRC trailers to uploads by default; s3proxy refuses them
            "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required",
            "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
        }

    def start(self, timeout: float = 60.0) -> "S3Proxy":
        self.port = self.port or _free_port()
        blobs = self.data_dir / "blobs"
        blobs.mkdir(parents=True, exist_ok=True)
        props = self.data_dir / "s3proxy.conf"
        props.write_text(
            "\n".join([
                f"s3proxy.endpoint={self.endpoint}",
                "s3proxy.authorization=aws-v2-or-v4",
                f"s3proxy.identity={self.access_key}",
                f"s3proxy.credential={self.secret_key}",
                "jclouds.provider=filesystem",
                f"jclouds.filesystem.basedir={blobs}",
            ]) + "\n",
            encoding="utf-8",
        )
        logback = self.data_dir / "logback.xml"
        logback.write_text(_LOGBACK, encoding="utf-8")
        log = open(self.data_dir / "s3proxy.log", "ab")  # noqa: SIM115 - kept open for the server's life
        self._proc = subprocess.Popen(
            ["java", f"-Dlogback.configurationFile={logback}", "-Xmx512m", "-cp", classpath(), "org.gaul.s3proxy.Main",
             "--properties", str(props)],
            stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"s3proxy exited with {self._proc.returncode}; see {self.data_dir / 's3proxy.log'}")
            try:
                urllib.request.urlopen(self.endpoint, timeout=2)  # noqa: S310 - loopback
                return self
            except urllib.error.HTTPError:  # 403 without credentials: it is up
                return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"s3proxy did not answer on {self.endpoint} within {timeout:.0f}s")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._proc = None

    def client(self):  # type: ignore[no-untyped-def]
        """A boto3 S3 client for this server."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=Config(request_checksum_calculation="when_required", response_checksum_validation="when_required"),
        )


def main() -> int:
    parser = argparse.ArgumentParser(description="run s3proxy on 127.0.0.1 until interrupted")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--dir", default="./s3data")
    args = parser.parse_args()
    server = S3Proxy(Path(args.dir).resolve(), port=args.port).start()
    print("s3proxy is up; for clients:")
    for key, value in server.env.items():
        print(f"  export {key}={value}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
