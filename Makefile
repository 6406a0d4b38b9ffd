# churnlab: `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= data/sample
QUARTER ?=
OUT ?=
NOTEBOOKS := $(wildcard notebooks/*.ipynb)

.DEFAULT_GOAL := help
.PHONY: help install sample review validate lab test test-unit test-notebooks refresh-notebooks strip benchmark clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-15s\033[0m %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

install: $(BIN)/.installed ## Create .venv and install churnlab with its dependencies (pip)

$(DATA)/accounts.csv: | $(BIN)/.installed
	$(BIN)/churnlab sample --seed 7 --out $(DATA)

sample: $(BIN)/.installed $(DATA)/accounts.csv ## Generate the sample company into data/sample if missing

validate: sample ## Check the data folder (DATA=...) and print the row accounting
	$(BIN)/churnlab validate --data $(DATA)

review: sample ## Run the quarterly review on DATA (default the sample); QUARTER=2026Q3 OUT=reports/...
	$(BIN)/churnlab review --data $(DATA) $(if $(QUARTER),--quarter $(QUARTER)) $(if $(OUT),--out $(OUT))

lab: sample ## Open JupyterLab on the notebooks, wired to the sample company (installs JupyterLab once)
	@$(BIN)/python -c "import jupyterlab" 2>/dev/null || $(BIN)/python -m pip install --quiet 'jupyterlab>=4'
	cd notebooks && ../$(BIN)/jupyter lab

test: test-unit test-notebooks ## Run the unit tests and the notebooks under nbval

test-unit: sample ## Unit and known-answer tests, with the package's doctests
	$(BIN)/pytest -q tests churnlab --doctest-modules

test-notebooks: sample ## Run every notebook on the sample under nbval (lax; NBVAL_CHECK_OUTPUT cells compared)
	$(BIN)/pytest -q --nbval-lax --nbval-current-env -p no:cacheprovider notebooks/

refresh-notebooks: sample ## Re-execute the notebooks on the sample and store only NBVAL_CHECK_OUTPUT outputs
	$(BIN)/python scripts/refresh_notebooks.py $(NOTEBOOKS)

strip: $(BIN)/.installed ## Strip notebook outputs except cells marked NBVAL_CHECK_OUTPUT
	$(BIN)/python scripts/strip_notebooks.py $(NOTEBOOKS)

benchmark: $(BIN)/.installed ## Run the benchmarks and print their figures
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean: ## Remove the virtualenv, generated sample data and reports
	rm -rf $(VENV) $(DATA) reports/*/
