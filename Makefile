# The README's two commands: `make app` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
ADDRESS ?= localhost

.PHONY: app test test-fast bench demo-assets lint clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip >/dev/null
	$(PY) -m pip install -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install -e '.[dev]'
	touch $@

app: $(VENV)/.installed
	$(VENV)/bin/clustlib app --runs runs --port $(PORT) --address $(ADDRESS)

test: $(VENV)/.installed-dev
	$(PY) -m ruff check clustlib app_pages app.py tests benchmarks scripts
	$(PY) -m pytest -q -p no:cacheprovider

test-fast: $(VENV)/.installed-dev  # the inner loop: no browser, no slow method-quality tests
	$(PY) -m pytest -q -p no:cacheprovider -x -m "not browser and not slow"

bench: $(VENV)/.installed
	$(PY) benchmarks/run_all.py

demo-assets: $(VENV)/.installed
	$(PY) scripts/make_demo_assets.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache runs
