# Set-up and checks. `make report` and `make test` install what they need first.
VENV   ?= .venv
PYTHON ?= python3
OUT    ?= report
STAMP  := $(VENV)/.installed-stamp

.PHONY: report test test-fast test-slow lint bench install

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m pip install --quiet uv || true
	if command -v uv >/dev/null 2>&1; then \
	  uv venv --allow-existing --quiet -p $(PYTHON) $(VENV) && \
	  uv pip install --quiet -p $(VENV) -e ".[dev]"; \
	else \
	  $(PYTHON) -m venv $(VENV) && $(VENV)/bin/pip install --quiet -e ".[dev]"; \
	fi
	sh scripts/install-browser.sh
	touch $(STAMP)

# The main job: a report on the embedded default (bundled EfficientNet-Lite0, sample photos).
report: $(STAMP)
	$(VENV)/bin/interpret report $(OUT)

lint: $(STAMP)
	$(VENV)/bin/ruff check interpret tests bench

test-fast: $(STAMP)
	$(VENV)/bin/pytest -q

test-slow: $(STAMP)
	$(VENV)/bin/pytest -q -m slow

# What CI runs: lint, the default suite, then the tests marked slow.
test: lint test-fast test-slow

bench: $(STAMP)
	for b in bench/*.py; do echo "== $$b"; $(VENV)/bin/python $$b | tail -n 1; done
