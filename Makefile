# lakeprep: two commands on a fresh machine (Python 3.11, Java 17, make):
#   make run    set up .venv, install everything, build the corpus from data/sample with spark-submit
#   make test   same set-up, then the whole test suite
# The venv is cached behind a stamp file: a second call does not reinstall unless pyproject.toml changed.

PYTHON      ?= python3.11
VENV        := .venv
BIN         := $(VENV)/bin
# installs with uv (pinned, from PyPI, into the venv): the same versions pip resolves, a fresh venv in ~1 minute instead of ~3.
UV          := $(BIN)/uv
UV_INSTALL  := $(UV) pip install --quiet --python $(BIN)/python
STAMP       := .stamps/venv-$(shell (cat pyproject.toml; $(PYTHON) --version 2>&1) | sha1sum | cut -c1-12)
CONFIG      ?= conf/default.yaml
PYTEST_ARGS ?=
DRIVER_MEMORY ?= 2g
# `make test` runs the suite in this many pytest-xdist workers (one Spark session each; a module's tests stay in one)
TEST_WORKERS ?= 2

export PYSPARK_PYTHON        := $(abspath $(BIN)/python)
export PYSPARK_DRIVER_PYTHON := $(abspath $(BIN)/python)
export TIKTOKEN_CACHE_DIR    ?= $(HOME)/.cache/lakeprep/tiktoken

.PHONY: setup prepare bytecode tokenizer jars class-data run sdp s3proxy browser bench-corpus test test-faults test-fast bench clean distclean

setup: prepare

# pyspark first, alone (its pin from pyproject.toml): the class-data dump needs only pyspark and Java, so it runs while
# uv installs the rest (~20 s from uv's cache, minutes on a fresh machine) instead of after it
PYSPARK_PIN := $(shell grep -o 'pyspark\[[^]]*\]==[0-9.]*' pyproject.toml | sed 's/\[[^]]*\]//')
PYSPARK_STAMP := $(subst venv-,pyspark-,$(STAMP))
$(PYSPARK_STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH"; exit 1; }
	@command -v java >/dev/null || { echo "need Java 17 (java on PATH)"; exit 1; }
	@test -n "$(PYSPARK_PIN)" || { echo "no pyspark==<version> pin found in pyproject.toml"; exit 1; }
	rm -rf .stamps && mkdir -p .stamps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel uv==0.13.9
	$(UV_INSTALL) '$(PYSPARK_PIN)'
	touch $@

$(STAMP): $(PYSPARK_STAMP)
	$(UV_INSTALL) -e '.[test]'
	touch $@

# Four steps that need the venv but not each other run at once (`make test` adds Chromium, which needs nothing, beside
# the install itself); each does nothing when it was done before. The class-data dump (one core, ~30 s) starts as
# soon as pyspark is in, beside the rest of the install; the others after the install.
PREPARE := bytecode tokenizer jars class-data
prepare:
	@$(MAKE) --no-print-directory -j4 $(PREPARE)

# Python writes the .pyc of each module it imports, once, in every process make starts. CI machines set
# PYTHONDONTWRITEBYTECODE, and uv writes no .pyc unless asked: every process would then compile pandas, pyspark,
# Great Expectations, torch... from source at each import (GX 6.2 s -> 3.9 s, streaming 8.9 s -> 4.5 s per process).
# Compiling the whole venv instead (compileall, ~390 MB of source without oci's SDK) took ~41 CPU-seconds of the
# set-up, while a build and the whole suite import about a third of it. The bytecode job imports what every build
# imports (src/lakeprep/_bytecode.py: each lakeprep module, Great Expectations, streaming) beside the class-data
# dump; whatever a test imports beyond that is compiled by the first process that imports it.
unexport PYTHONDONTWRITEBYTECODE
.stamps/bytecode: $(STAMP)
	$(BIN)/python -m lakeprep._bytecode
	touch $@

bytecode: .stamps/bytecode

# the tokenizer's BPE file, fetched once and checked (tiktoken reads it offline afterwards)
tokenizer: $(STAMP)
	$(BIN)/python -m lakeprep.tokenizers

# the Delta jars for the installed delta-spark, resolved once into Spark's Ivy cache
jars: $(STAMP)
	$(BIN)/python -m lakeprep.session --resolve-jars

# the driver JVM's class-data archive (src/lakeprep/class_data.py): dumped once per JDK and pyspark (~30 s) from the
# class list lakeprep ships; every later driver JVM lakeprep starts (builds, test sessions, test subprocesses) maps
# those classes instead of loading them
class-data: $(PYSPARK_STAMP)
	PYTHONPATH=src $(BIN)/python -m lakeprep.class_data

run: prepare
	$(BIN)/spark-submit \
	  $$($(BIN)/python -m lakeprep.session --submit-args --config $(CONFIG)) \
	  --driver-memory $(DRIVER_MEMORY) --conf spark.ui.showConsoleProgress=false --conf spark.log.level=WARN \
	  pipelines/build_corpus.py --config $(CONFIG)

# the same tables from the declarative modules, with the real spark-pipelines CLI (tables in lake/_sdp/warehouse)
sdp: prepare
	$(BIN)/lakeprep pipelines run --spec pipelines/declarative/spark-pipeline.yml --warehouse lake/_sdp/warehouse

# a real S3 API server on 127.0.0.1:9000 backed by ./s3data (s3proxy; the object-storage test starts its own)
s3proxy: $(STAMP)
	$(BIN)/python tests/support/s3proxy.py --port 9000 --dir ./s3data

# every JVM the tests start (test sessions, builds, servers) compiles with C2 only what is ~10x hotter than by
# default: the suite is CPU-bound on 2 cores and most of its JVMs live for one small build (README, "Tests")
TEST_JAVA_OPTIONS ?= -XX:Tier4InvocationThreshold=50000 -XX:Tier4MinInvocationThreshold=6000 -XX:Tier4CompileThreshold=150000 -XX:Tier4BackEdgeThreshold=400000

test:
	@$(MAKE) --no-print-directory -j5 browser $(PREPARE)
	JDK_JAVA_OPTIONS='$(TEST_JAVA_OPTIONS)' $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder --durations=25 $(PYTEST_ARGS)

# Debian's Chromium for the report's browser test: installed when missing and this is root with apt-get;
# otherwise the test is skipped and says how to install it
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || echo "chromium is not installed: the report's browser test is skipped (apt-get install chromium)"; }

# every commit point of a build interrupted and recovered, after each commit and in the middle of each write (slow: a recovery build per point; `make test` takes every fifth)
test-faults: prepare
	LAKEPREP_FAULT_POINTS=all $(BIN)/python -m pytest -m faults $(PYTEST_ARGS)

test-fast: prepare
	$(BIN)/python -m pytest -m "not spark and not e2e" $(PYTEST_ARGS)

# what the benchmarks read and run that pip cannot install: Debian documentation packages (real pages, PDFs; never
# the held-out postgresql-doc-* / python3*-doc), pandoc and LibreOffice (known-text documents); installed when
# missing and this is root with apt-get, otherwise the benchmarks that need them say so and skip that part
BENCH_DEBS := debian-reference-en maint-guide sphinx-doc python-requests-doc libsdl2-doc libjson-c-doc bash-doc \
              autoconf-doc git-doc libtasn1-doc shared-mime-info pandoc libreoffice-writer-nogui \
              debian-reference-de debian-reference-es debian-reference-fr debian-reference-it debian-reference-ja \
              debian-reference-pt debian-reference-zh-cn maint-guide-es maint-guide-ja maint-guide-ru
bench-corpus:
	@missing=$$(for p in $(BENCH_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); [ -z "$$missing" ] || { \
	  [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && { echo "installing $$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; } \
	  || echo "not installed, the benchmarks that read them skip that part: apt-get install $$missing"; }

bench: prepare bench-corpus
	$(UV_INSTALL) -e '.[test,bench]'
	$(BIN)/python benchmarks/kernels.py --repeat 5
	$(BIN)/python benchmarks/bronze.py --files 2000 --master 'local[2]'
	$(BIN)/python benchmarks/dedup.py --docs 20000 --scale 100000 --master 'local[2]'
	$(BIN)/python benchmarks/pii.py --docs 3000 --doc-mb 4
	$(BIN)/python benchmarks/extract.py --pages 300
	$(BIN)/python benchmarks/chunking.py --docs 2000 --spark --master 'local[2]'
	$(BIN)/python benchmarks/chunking.py --docs 2000 --chunk-size 128 --overlap 16
	$(BIN)/python benchmarks/chunking.py --real --chunk-size 512 --overlap 64
	$(BIN)/python benchmarks/chunking.py --real --chunk-size 128 --overlap 16
	$(BIN)/python benchmarks/mds.py --docs 10000 --master 'local[2]'
	$(BIN)/python benchmarks/packing.py --docs 20000 --master 'local[2]'
	$(BIN)/python benchmarks/e2e.py --sizes 10000 100000 --master 'local[2]'
	$(BIN)/python benchmarks/chain_ab.py --old 7b9cb49 --docs 10000 --rounds 3
	$(BIN)/python benchmarks/formats.py --master 'local[2]'
	$(BIN)/python benchmarks/storage.py
	$(BIN)/python benchmarks/noop.py --files 6000
	$(BIN)/python benchmarks/small_runs.py --builds 6 --master 'local[2]'

clean:
	rm -rf lake spark-warehouse .pytest_cache

distclean: clean
	rm -rf $(VENV) .stamps
