# retail-tiers: `make demo` and `make test` are the two commands; both set everything up.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test test-spark setup fonts lint bench thumbnails demo-data clean

## Create .venv and install the project once; reinstall only when pyproject.toml changes.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	@touch $(STAMP)

## The project's own modules compiled once (Python does it itself unless PYTHONDONTWRITEBYTECODE
## is set, as on some CI hosts; then every run compiled them again: 0.24 G instructions a report).
setup: $(STAMP) fonts
	@$(BIN)/python -m compileall -q retail_tiers reports cli.py >/dev/null

## Chinese reports need a CJK font (Debian fonts-noto-cjk) and, to embed it quickly, HarfBuzz's
## subsetter (libharfbuzz-subset0; without it WeasyPrint falls back to a much slower path).
## Installed where we are allowed to; otherwise `retail-tiers report --lang zh` says what is missing.
FONT_PACKAGES := fonts-noto-cjk libharfbuzz-subset0
fonts:
	@if fc-list :lang=zh 2>/dev/null | grep -q . && ldconfig -p | grep -q libharfbuzz-subset; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing $(FONT_PACKAGES) for Chinese reports"; \
		apt-get install -y -qq $(FONT_PACKAGES) >/dev/null 2>&1 \
		|| (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq $(FONT_PACKAGES) >/dev/null 2>&1) \
		|| echo "note: could not install $(FONT_PACKAGES); Chinese reports will be refused until a CJK font is installed"; \
	else echo "note: cannot install $(FONT_PACKAGES) (not root or no apt-get); Chinese reports need a CJK font"; fi

demo: setup
	$(BIN)/retail-tiers build
	@set -euo pipefail; log="$$(mktemp)"; trap 'rm -f "$$log"' EXIT; \
	$(BIN)/retail-tiers report --all-months | tee "$$log"; \
	latest="$$(tail -n 1 "$$log" | sed 's/^wrote //')"; \
	if fc-list :lang=zh 2>/dev/null | grep -q .; then $(BIN)/retail-tiers report --lang zh; fi; \
	echo "latest month's report: $$latest"

test: setup
	$(BIN)/ruff check .
	$(BIN)/pytest -q -n auto --dist loadfile --no-loadscope-reorder

## The same models on a local SparkSession (docs/spark.md): installs the spark extra (and Java
## where apt-get is allowed), builds the demo and a 20,000-customer generated dataset on DuckDB
## and, with `retail-tiers build --target spark`, on Spark (data tests included), compares every
## model's table cell for cell, then reads the demo's DuckDB copy of the Spark marts with
## kpis, report and export. One Spark session for both datasets.
SPARK_WORK ?= warehouse/spark-parity
## The JVM's quick compiler only and a single-threaded garbage collector: on small data they
## cut the data tests' JVM CPU by a third or more (docs/spark.md); the results are the same.
## With the quick compiler only the JVM reserves 48 MB for compiled code, which the session's
## ~30,000 compiled methods can fill (then it fails: "Out of space in CodeCache"): 256 MB.
SPARK_TEST_JAVA_OPTIONS ?= -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:ReservedCodeCacheSize=256m
test-spark: setup
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test,spark]"
	@if command -v java >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing openjdk-17-jre-headless for Spark"; \
		apt-get install -y -qq openjdk-17-jre-headless >/dev/null 2>&1 \
		|| (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq openjdk-17-jre-headless >/dev/null 2>&1); \
	else echo "Spark needs Java 17 or newer (java not found)"; exit 1; fi
	rm -rf $(SPARK_WORK)
	$(BIN)/retail-tiers generate --out $(SPARK_WORK)/20k --customers 20000 --seed 7 >/dev/null
	RETAIL_TIERS_SPARK_JAVA_OPTIONS="$(SPARK_TEST_JAVA_OPTIONS)" $(BIN)/python -m retail_tiers.spark_parity \
		--work $(SPARK_WORK) --input demo --input $(SPARK_WORK)/20k
	@set -euo pipefail; demo="$(SPARK_WORK)/build-demo"; \
	for side in cli/retail_tiers duckdb/warehouse; do \
		export RETAIL_TIERS_DB="$$demo/$$side.duckdb"; out="$$demo/read-$${side%%/*}"; \
		mkdir -p "$$out"; $(BIN)/retail-tiers kpis > "$$out/kpis.txt"; \
		$(BIN)/retail-tiers export --segment champions --out "$$out/champions.csv" >/dev/null; \
	done; \
	diff "$$demo/read-cli/kpis.txt" "$$demo/read-duckdb/kpis.txt"; \
	diff "$$demo/read-cli/champions.csv" "$$demo/read-duckdb/champions.csv"; \
	RETAIL_TIERS_DB="$$demo/cli/retail_tiers.duckdb" $(BIN)/retail-tiers report --out "$$demo/read-cli"; \
	echo "kpis and export read the same from the Spark build's DuckDB copy as from the DuckDB build"

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[bench]"
	$(BIN)/python -m retail_tiers.bench --out bench/results.json

## README pictures of report pages (summary and segments, English and Chinese), rendered from
## the demo data in a scratch warehouse so the user's own warehouse is never touched.
thumbnails: setup
	@set -euo pipefail; scratch="$$(mktemp -d)"; trap 'rm -rf "$$scratch"' EXIT; \
	export RETAIL_TIERS_DB="$$scratch/demo.duckdb" DBT_TARGET_PATH="$$scratch/target" \
		DBT_LOG_PATH="$$scratch/logs"; \
	echo "building the demo warehouse in $$scratch"; \
	$(BIN)/retail-tiers build >/dev/null; \
	for lang in en zh; do \
		pdf="$$($(BIN)/retail-tiers report --lang $$lang --out "$$scratch" | tail -n 1 | sed 's/^wrote //')"; \
		$(BIN)/python -m reports.thumbnails "$$pdf" --page 2=summary --page 5=segments \
			--out docs/img --prefix report-$$lang; \
	done

## Regenerate the committed demo seeds (3,000 customers x 24 months); a test checks they match.
demo-data: setup
	$(BIN)/python -m retail_tiers.demo_data seeds/demo

clean:
	rm -rf target logs warehouse out dbt_packages .pytest_cache .ruff_cache
