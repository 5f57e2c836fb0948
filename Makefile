# Set-up and checks. `make report` and `make test` install what they need first.
VENV   ?= .venv
PYTHON ?= python3
OUT    ?= report
STAMP  := $(VENV)/.installed-stamp

.PHONY: report test test-fast test-slow lint bench install gpu-check gpu-check-run

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

# On one GPU, under 8 minutes: the `cuda`-marked tests (CUDA vs CPU agreement), then every
# bench with --device $(DEVICE), each printing its closing JSON line. The benches with GPU
# targets (GPU_BENCHES) run at full size on CUDA; the others, whose measured work stays on
# the CPU, run with --quick. `make gpu-check DEVICE=cpu` is the dry run (all --quick, the
# CUDA tests skipped), run by tests/scale/test_gpu_check.py.
DEVICE      ?= cuda
GPU_BENCHES ?= scan_overhead activation_max deconvnet occlusion

gpu-check: $(STAMP) gpu-check-run

gpu-check-run:
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider -m cuda \
	  $$(grep -rlE 'mark\.cuda' tests --include='*.py')
	@set -e; log=$$(mktemp); trap 'rm -f $$log' EXIT; \
	for b in bench/[a-z]*.py; do \
	  name=$$(basename $$b .py); flags=""; quick=yes; \
	  if grep -qE 'parse\(parser|"--device"' $$b; then flags="--device $(DEVICE)"; \
	  else echo "== $$b: takes no --device yet, runs on the CPU"; fi; \
	  case " $(GPU_BENCHES) " in *" $$name "*) [ "$(DEVICE)" = cpu ] || quick=no;; esac; \
	  if [ $$quick = yes ]; then \
	    if grep -qE 'parse\(parser|"--quick"' $$b; then flags="$$flags --quick"; \
	    else echo "== $$b: no --quick yet, skipped in this run"; continue; fi; \
	  fi; \
	  echo "== $$b $$flags"; \
	  $(VENV)/bin/python $$b $$flags > $$log 2>&1 || { tail -n 20 $$log; exit 1; }; \
	  tail -n 1 $$log; \
	done
