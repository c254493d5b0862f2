# Every target makes .venv itself, so a fresh clone needs nothing but python3.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: demo test fuzz bench lint system-deps clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

# Real servers and reference tools the tests and the demo use: Debian's prometheus,
# alertmanager, tmux, golang-go (`go tool pprof`, and the build of the demo's Go service) and
# client_golang's sources for that build (GOPATH mode, no module proxy needed).
system-deps:
	@missing=""; \
	command -v prometheus >/dev/null || missing="$$missing prometheus"; \
	command -v prometheus-alertmanager >/dev/null || missing="$$missing prometheus-alertmanager"; \
	command -v tmux >/dev/null || missing="$$missing tmux"; \
	command -v go >/dev/null || missing="$$missing golang-go"; \
	test -d /usr/share/gocode/src/github.com/prometheus/client_golang || missing="$$missing golang-github-prometheus-client-golang-dev"; \
	test -x /usr/sbin/sshd && command -v ssh >/dev/null || missing="$$missing openssh-server openssh-client"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

demo: $(STAMP) system-deps
	$(BIN)/warroom demo

# Two workers (pytest-xdist), one test file per worker at a time: most tests wait on real
# servers and terminals, so two cores run the suite in about two thirds of the time. Tests
# marked `serial` (the whole demo in a terminal) run after, with the machine to themselves.
test: $(STAMP) system-deps
	$(BIN)/ruff check tui tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile -m 'not serial'
	$(BIN)/python -m pytest -q -p no:cacheprovider -m serial

# The fuzz tests with the long profile (>= 100,000 cases per input kind, >= 1,000 kill -9 trials).
# WARROOM_FUZZ_CASES=N bounds the cases per kind; WARROOM_FUZZ_REPORT=FILE collects the figures.
fuzz: $(STAMP) system-deps
	WARROOM_FUZZ=long $(BIN)/python -m pytest -q -p no:cacheprovider -m fuzz --timeout=0

bench: $(STAMP) system-deps
	$(BIN)/python benchmarks/run_all.py

lint: $(STAMP)
	$(BIN)/ruff check tui tests benchmarks
	$(BIN)/ruff format --check tui tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
