# Two commands for a newcomer: `make run` (install, then refine a question on the embedded
# model) and `make test` (install, then run the whole test suite). Both install every extra
# (`.[all,test]`, and `.[train]` on the CPU torch where its wheel is at hand); `pip install redraft`
# alone is the small core.

PYTHON ?= python3
VENV ?= .venv
PROMPT ?= What is 17 * 23? Answer with a number.

# `redraft train`'s tests need torch: the CPU wheel, pinned (a local wheel, e.g. in /opt/wheels; from
# PyPI a bare `torch` brings several GB of CUDA libraries, so it is never installed unpinned).
TORCH_CPU ?= torch==2.13.0+cpu

# llama-cpp-python compiles from source. A native build crashes at the first token on VMs
# whose CPU advertises AVX-512/AMX it cannot run, so build for AVX2 explicitly.
CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF
export CMAKE_ARGS

INSTALLED := $(VENV)/.installed
# The integrations' own libraries (Ray ~600 MB, inspect_ai ~325 MB), for their tests only: `make run`
# does not need them.
INTEGRATIONS := $(VENV)/.integrations

.PHONY: install run test lint clean chromium

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "redraft needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[all,test]'
	# TRL's data helpers check the exports; --no-deps keeps torch (several GB) out: they need none.
	$(VENV)/bin/python -m pip install --quiet --no-deps 'trl>=0.20'
	# The [train] extra (TRL, PEFT, accelerate, torch) on the pinned CPU torch, where that wheel exists.
	if $(VENV)/bin/python -m pip install --quiet '$(TORCH_CPU)'; then \
	  $(VENV)/bin/python -m pip install --quiet -e '.[train]'; \
	else \
	  echo "note: $(TORCH_CPU) is not installable here; skipping the [train] extra (its tests skip)"; \
	fi
	touch $@

run: $(INSTALLED)
	$(VENV)/bin/redraft run "$(PROMPT)"

test: $(INSTALLED) $(INTEGRATIONS) chromium
	$(VENV)/bin/python -m pytest -q

$(INTEGRATIONS): $(INSTALLED)
	$(VENV)/bin/python -m pip install --quiet -e '.[ray,inspect]'
	touch $@

# The HTML report test renders the page in headless Chromium (Debian's package). Without root
# or apt, that one test is skipped and says so.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "note: chromium not installed; the report screenshot test will be skipped"

lint: $(INSTALLED)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/mypy src/redraft

clean:
	rm -rf $(VENV)
