# The Gated Community: two commands on a fresh machine.
#   make book   set up, then build the site (every chapter executed, warnings are errors)
#   make test   set up, then run every test
#   make bench  set up, then print the speed ratios
#   make serve  serve the built site on http://127.0.0.1:8000/ (the in-browser edition needs HTTP, not file://)

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum requirements.txt pyproject.toml | cksum | cut -d' ' -f1)
JOBS   ?= auto

.PHONY: setup book test test-fast bench lock clean browser serve

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) is needed (set PYTHON=/path/to/python3.11)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3" >/dev/null
	rm -f $(VENV)/.installed-*
	touch $@

book: $(STAMP)
	$(PY) book/_ext/release_exercises.py
	$(VENV)/bin/jupyter-book build . --warningiserror --keep-going
	$(PY) tools/lite.py
	@echo "The book is at: file://$(CURDIR)/_build/html/index.html"
	@echo "Its in-browser edition is at _build/html/lite/: serve _build/html over HTTP to use it (make serve)"

test: $(STAMP) browser
	$(PY) -m pytest -n $(JOBS) --dist loadfile

# The browser tests drive Debian's headless Chromium; installed once, as root, if it is missing.
browser:
	@test -x /usr/bin/chromedriver -a -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "make: installing chromium and chromium-driver for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else \
	    echo "make: the browser tests need /usr/bin/chromium and /usr/bin/chromedriver:"; \
	    echo "      run 'sudo apt-get install -y chromium chromium-driver' (or 'make test-fast' to skip them)"; exit 1; \
	  fi; }

test-fast: $(STAMP)
	$(PY) -m pytest -n $(JOBS) --dist loadfile -m "not slow"

bench: $(STAMP)
	$(PY) -m bench

lock:
	$(PYTHON) -m venv /tmp/gated-community-lock && /tmp/gated-community-lock/bin/pip install -q -r requirements.in
	{ echo "# Exact pins of everything the book, the engine and the tests need (generated from requirements.in by 'make lock')."; \
	  /tmp/gated-community-lock/bin/pip freeze --exclude-editable; } > requirements.txt
	rm -rf /tmp/gated-community-binder && $(PYTHON) -m venv /tmp/gated-community-binder
	/tmp/gated-community-binder/bin/pip install -q -r binder/requirements.in -c requirements.txt
	{ echo "# The lean runtime environment for Binder: what the chapters and exercises need to run, not the site builder."; \
	  echo "# Generated from binder/requirements.in by 'make lock', pinned to the versions in requirements.txt."; \
	  /tmp/gated-community-binder/bin/pip freeze --exclude-editable; } > binder/requirements.txt

serve:
	$(PYTHON) -m http.server --bind 127.0.0.1 --directory _build/html 8000

clean:
	rm -rf _build .pytest_cache
