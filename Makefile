# Two entry points on a fresh clone: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench slurm-up slurm-down clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The whole workflow on the embedded default (config/config.yaml): train, extract, align,
# aggregate. The rules call `convergent`, so the venv's bin goes first on PATH.
demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --profile profiles/local
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --report results/report.html
	@echo "Report:   results/report.html (every figure with its caption, the summary, the config)"
	@echo "Figures:  results/figures/*.png (and .svg)"
	@echo "Summary:  results/summary.md"
	@echo "Tables:   results/tables/{alignment,accuracy,training}.{parquet,csv}"
	@echo "Theory:   results/theory/ (trajectories, fits, final distance, depth, summary.md, figures/)"

# pytest exits 5 when it selects no test: that must fail loudly, never pass quietly.
test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: ERROR: pytest selected no test" >&2; fi; exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_grid.py
	$(BIN)/python benchmarks/bench_task.py
	$(BIN)/python benchmarks/bench_dryrun.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/bench_demo.py

# A real single-node SLURM cluster on this machine (as root), so `make test` also runs the SLURM
# integration tests; CI does the same in .ci/run.
slurm-up:
	tests/slurm/cluster.sh install
	tests/slurm/cluster.sh start

slurm-down:
	tests/slurm/cluster.sh stop

clean:
	rm -rf results .pytest_cache .hypothesis
