# Two commands: `make run` serves the demo (app + local Identity Engine simulator),
# `make test` installs everything the suite needs on a fresh machine and runs it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint install system-packages dist bench fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium drives the browser tests (playwright cannot download its own here);
# node and npm run the official okta-auth-js SDK against the simulator; redis-server backs the
# shared-store tests (started by the tests themselves on a free loopback port); valgrind counts
# the instructions of bench/signin_instructions.py.
SYSTEM_PACKAGES := chromium:chromium npm:npm node:nodejs redis-server:redis-server valgrind:valgrind
# A font with Japanese glyphs (Chinese and Korean too), so the browser tests' screenshots of
# Japanese pages show text rather than boxes; any font fontconfig knows for Japanese will do.
CJK_FONT := fonts-noto-cjk

system-packages:
	@missing=; for pair in $(SYSTEM_PACKAGES); do \
	  command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	if ! fc-list :lang=ja 2>/dev/null | grep -q . && \
	  ! dpkg-query -W -f='$${Status}' $(CJK_FONT) 2>/dev/null | grep -q 'ok installed'; then \
	  missing="$$missing $(CJK_FONT)"; fi; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  echo "installing Debian packages:$$missing"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# An sdist and a wheel in dist/ (the distribution is embedded-idx-signin; it imports as `embedded`).
# The build lists its steps and warns of nothing (tests/test_packaging.py fails on any warning).
# (PYTHONDONTWRITEBYTECODE makes setuptools warn that it skips byte-compiling, which a wheel never holds.)
dist: install
	rm -rf dist
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m build --quiet --outdir dist .

run: install
	$(BIN)/python -m embedded

# The habits that keep the code readable: ruff's lint rules everywhere, mypy over the package
# (strict on the pure core; see pyproject.toml).
lint: install
	$(BIN)/ruff format --check embedded tests bench examples
	$(BIN)/ruff check embedded tests bench examples
	$(BIN)/mypy

test: install system-packages lint
	$(BIN)/python -m pytest -q -p no:cacheprovider

# axe-core checks every page's accessibility in the browser tests (tests/browser/test_accessibility_browser.py
# pins the same version); kept in the user's cache beside okta-auth-js, outside the repo.
AXE_CORE := axe-core@4.14.1
AXE_CACHE := $${XDG_CACHE_HOME:-$$HOME/.cache}/embedded/axe-core
.PHONY: axe-core
test: axe-core
axe-core: system-packages
	@grep -qs '"version": "$(AXE_CORE:axe-core@%=%)"' $(AXE_CACHE)/node_modules/axe-core/package.json || \
	  npm install --prefix $(AXE_CACHE) --no-audit --no-fund --no-save --silent $(AXE_CORE)

bench: install
	$(BIN)/python bench/signin_calls.py
	$(BIN)/python bench/journey_calls.py
	$(BIN)/python bench/enumeration_timing.py

# Random request bodies against every POST route, 10,000 a route (several minutes).
fuzz: install
	$(BIN)/python bench/fuzz.py

clean:
	rm -rf $(VENV) build dist *.egg-info test-artifacts

# Every page of the fixture corpus in every language as a static site: open test-artifacts/gallery/index.html.
.PHONY: gallery
gallery: install
	$(BIN)/python -m embedded gallery test-artifacts/gallery
