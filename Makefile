# Two entry points for a newcomer: `make demo` and `make test`. Each sets itself up.
SHELL := /bin/bash
PYTHON ?= /usr/bin/python3
# The sandboxed worker runs as uid 65534 and must read the venv. Where that uid cannot
# reach this checkout (e.g. a clone inside a 0700 folder), the venv lives under /var/tmp
# and .venv links to it.
VENV := $(shell if [ "$$(id -u)" != 0 ] || setpriv --reuid=65534 --regid=65534 --clear-groups \
	test -x "$(CURDIR)" 2>/dev/null; then echo .venv; \
	else echo /var/tmp/fdl-course-$$(echo "$(CURDIR)" | sha1sum | cut -c1-12)/venv; fi)
BIN := $(VENV)/bin
SETUP_STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
TORCH_CPU := torch==2.13.0
PYTEST_WORKERS ?= 2

.PHONY: setup test-deps demo test lint clean serve screenshots vendor

# `setup`: what `make demo` needs (the venv, this project, bubblewrap for the sandbox).
# `test-deps`: that, plus the test extras and the system packages the tests use.
setup: $(SETUP_STAMP)
test-deps: $(TEST_STAMP)

# Debian's interpreter (not the one under /root) so a sandboxed uid can read the venv.
$(SETUP_STAMP): pyproject.toml
	@if ! $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null; then \
	    echo ">> installing python3-venv from Debian"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; fi
	@if [ "$$(id -u)" = 0 ] && ! command -v bwrap >/dev/null 2>&1; then \
	    echo ">> installing from Debian: bubblewrap (the sandbox)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap \
	    || echo ">> bubblewrap unavailable: student code runs in a plain subprocess"; fi
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@if [ "$(VENV)" != .venv ]; then ln -sfn $(VENV) .venv; \
	    echo ">> venv in $(VENV) (readable by the sandbox's uid); .venv links to it"; fi
	@if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then \
	    echo ">> GPU present: torch from the project's range"; \
	else echo ">> no GPU: CPU $(TORCH_CPU)"; $(BIN)/pip install -q $(TORCH_CPU); fi
	$(BIN)/pip install -q -e .
	@touch $(SETUP_STAMP)

$(TEST_STAMP): $(SETUP_STAMP) pyproject.toml
	@if [ "$$(id -u)" = 0 ]; then \
	    need=""; \
	    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need="$$need postgresql"; \
	    command -v slurmctld >/dev/null 2>&1 || need="$$need slurm-wlm"; \
	    command -v munged >/dev/null 2>&1 || need="$$need munge"; \
	    command -v dockerd >/dev/null 2>&1 || need="$$need docker.io"; \
	    command -v chromium >/dev/null 2>&1 || need="$$need chromium"; \
	    if [ -n "$$need" ]; then \
	        echo ">> installing from Debian:$$need (PostgreSQL, Slurm, Docker and browser tests)"; \
	        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need \
	        || echo ">> some of$$need unavailable: their tests skip with the reason"; fi; fi
	$(BIN)/pip install -q -e '.[test]'
	@touch $(TEST_STAMP)

demo: $(SETUP_STAMP)
	$(BIN)/python -m app.demo

# One intra-op thread per process: pytest-xdist already runs one process per core, and
# torch processes competing for the same cores with several threads each slow down ~10x.
test: $(TEST_STAMP)
	$(BIN)/lint-imports --no-cache
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q

# Optional: the web app on the demo class's gradebook (after `make demo`), with a demo
# staff login printed (its password exists only in the demo gradebook).
serve: $(SETUP_STAMP)
	$(BIN)/python -m app.demo.serve

# Refresh the screenshots kept in docs/ from the browser tests' build/screenshots/.
SHOTS := grading gradebook student portal-written
screenshots: $(TEST_STAMP)
	rm -rf build/screenshots
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_web_browser.py
	mkdir -p docs/screenshots
	for n in $(SHOTS); do cp build/screenshots/$$n.png docs/screenshots/$$n.png; done

# Fetch the vendored front-end files again from npm; the sha256 of each is pinned in
# app/web/static/vendor/MANIFEST.json (a test compares them).
KATEX := 0.16.47
HTMX := 2.0.11
NPM_DIR := build/npm
vendor:
	rm -rf $(NPM_DIR) && mkdir -p $(NPM_DIR)
	cd $(NPM_DIR) && npm pack --silent katex@$(KATEX) htmx.org@$(HTMX) >/dev/null
	cd $(NPM_DIR) && for f in *.tgz; do mkdir -p "$${f%.tgz}" && tar -xzf "$$f" -C "$${f%.tgz}"; done
	d=app/web/static/vendor/katex-$(KATEX); k=$(NPM_DIR)/katex-$(KATEX)/package; mkdir -p $$d/fonts && \
	    cp $$k/dist/katex.min.js $$k/dist/katex.min.css $$k/LICENSE $$d/ && cp $$k/dist/fonts/*.woff2 $$d/fonts/
	d=app/web/static/vendor/htmx-$(HTMX); h=$(NPM_DIR)/htmx.org-$(HTMX)/package; mkdir -p $$d && \
	    cp $$h/dist/htmx.min.js $$h/LICENSE $$d/

clean:
	rm -rf $(VENV) .venv demo-output .pytest_cache
