# The two commands: `make run` and `make test`. Everything else is their plumbing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
FLASK := $(BIN)/flask --app wsgi
PG_HOST ?= 127.0.0.1
PG_USER ?= postgres
REDIS_HOST ?= 127.0.0.1
# In CI (REQUIRE_SERVICES=1) an unreachable PostgreSQL or Redis is a failure, not a skip.
REQUIRE_SERVICES ?= 0
PYTEST_ARGS ?=

# `make test` ends with the cluster test (tests/cluster, scripts/test-cluster.sh).
.PHONY: run test test-cluster lint typecheck translations translations-update browser pdftools gotools venv clean-instance assets screenshots

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

# Browser assets from the npm registry, pinned (with their hashes) by package-lock.json:
# axe-core, read by the accessibility tests (tests/browser/test_accessibility.py) and never
# served; Leaflet and Leaflet.markercluster for the researchers' map, copied with their
# licences into static/vendor/ (not in git) and served from there. No page fetches anything
# from another site.
VENDOR := static/vendor
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

$(VENDOR)/.installed: node_modules/.installed
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/leaflet $(VENDOR)/leaflet.markercluster
	cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.js.map \
		node_modules/leaflet/dist/leaflet.css node_modules/leaflet/LICENSE $(VENDOR)/leaflet/
	cp -r node_modules/leaflet/dist/images $(VENDOR)/leaflet/
	cp node_modules/leaflet.markercluster/dist/leaflet.markercluster.js \
		node_modules/leaflet.markercluster/dist/leaflet.markercluster.js.map \
		node_modules/leaflet.markercluster/dist/MarkerCluster.css \
		node_modules/leaflet.markercluster/MIT-LICENCE.txt $(VENDOR)/leaflet.markercluster/
	touch $@

assets: $(VENDOR)/.installed

translations: $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -d incidents/translations -f >/dev/null

# Re-extract strings into the ru/kk catalogues; fails while any is untranslated.
translations-update: $(VENV)/.installed
	BIN=$(BIN) bash scripts/update-translations.sh

# Plain HTTP on 127.0.0.1: cookies cannot carry the Secure flag here. Behind TLS in
# production leave INCIDENTS_SECURE_COOKIES unset (Secure is the default).
run: export INCIDENTS_SECURE_COOKIES ?= false
# Threaded workers with read deadlines and private logs: gunicorn.conf.py, incidents/serving.py.
# The key agent holds the vault's private keys in its own process; it starts sealed and
# stops (sealing) with `make run`. A fresh instance is unsealed with the share `init` prints.
run: venv translations assets
	@set -e; $(FLASK) vault agent & agent=$$!; trap 'kill $$agent 2>/dev/null' EXIT; \
	$(FLASK) vault wait --timeout 20; \
	$(FLASK) init; \
	$(FLASK) first-run-admin; \
	echo "Serving on http://127.0.0.1:$(PORT)/ (Ctrl-C to stop)"; \
	$(BIN)/gunicorn --config gunicorn.conf.py --bind 127.0.0.1:$(PORT) wsgi:app

# $(call debian,CHECK,PACKAGES): when the shell test CHECK fails, install Debian's PACKAGES
# (as root, as in CI), or say which to install.
debian = @{ $(1); } >/dev/null 2>&1 || { \
	if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $(2) >/dev/null; \
	else echo "install Debian's $(2) (sudo apt-get install $(2))"; exit 1; fi; }

# Debian's Chromium for the browser tests; Playwright never downloads its own browser.
browser:
	$(call debian,command -v chromium,chromium)

# Debian's poppler-utils (pdftotext, for the dossier tests) and a font with Kazakh and
# Cyrillic letters (dossier.pdf is set in DejaVu Sans, or Noto Sans).
pdftools:
	$(call debian,command -v pdftotext && [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ],poppler-utils fonts-dejavu-core)

# Debian's Go and golang.org/x/mod, for the independent bundle verifier written in Go
# (tests/bundles/test_independent_verifier.py builds it offline, in GOPATH mode).
gotools:
	$(call debian,command -v go && [ -d /usr/share/gocode/src/golang.org/x/mod/sumdb/note ],golang-go golang-golang-x-mod-dev)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

test: $(VENV)/.installed-dev translations browser pdftools gotools assets lint typecheck
	$(BIN)/pytest -q -n 2 $(PYTEST_ARGS)
	@bash scripts/with-services.sh $(REQUIRE_SERVICES) $(BIN)/pytest -q -n 2 $(PYTEST_ARGS)
	@$(MAKE) --no-print-directory test-cluster

# Two web servers, two RQ workers, PostgreSQL, S3 (moto_server) and Redis as one instance.
test-cluster: $(VENV)/.installed-dev translations
	BIN=$(BIN) bash scripts/test-cluster.sh $(REQUIRE_SERVICES)

# Every page at 1280 and 390 px in Russian, as PNGs in docs/screens/ (linked from
# docs/screens.md). Not part of `make test`: the pictures are for people to look at.
screenshots: $(VENV)/.installed-dev translations browser assets
	SCREENSHOTS=1 $(BIN)/pytest -q -n 0 -p no:cacheprovider tests/browser/test_screenshots.py
