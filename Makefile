# The README's two commands end here: `make demo` and `make test`.
# Both set up what they need first (scripts/bootstrap.sh: apt packages when
# missing, .venv, pip install), which is a no-op in a second when done before.

SHELL := /bin/bash
VENV  ?= .venv
PY    := $(VENV)/bin/python
DEMO_DIR ?= $(HOME)/signoff-demo
HEADLESS ?=
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup setup-test demo test bench package clean distclean

help:
	@echo "make demo   set up, build the demo workspace in $(DEMO_DIR) and open the app"
	@echo "            (no display: builds it and says how to open it; HEADLESS=1 runs it under xvfb-run)"
	@echo "make test   set up with the test extras, run the whole test suite offscreen"
	@echo "make bench  run the scripts in benchmarks/"
	@echo "make package  build the desktop app with PyInstaller into dist/signoff/ (docs/packaging.md)"
	@echo "make clean  remove build output and caches (distclean: .venv too)"

setup:
	@bash scripts/bootstrap.sh

setup-test:
	@bash scripts/bootstrap.sh --test

demo: setup
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ] || [ -n "$$QT_QPA_PLATFORM" ]; then \
	  $(VENV)/bin/signoff demo --dir "$(DEMO_DIR)"; \
	elif [ -n "$(HEADLESS)" ]; then \
	  echo "demo: no display; opening the app on a virtual X display (xvfb-run), Ctrl+C to stop"; \
	  xvfb-run -a -s "-screen 0 1600x1000x24" $(VENV)/bin/signoff demo --dir "$(DEMO_DIR)"; \
	else \
	  $(VENV)/bin/signoff demo --dir "$(DEMO_DIR)" --no-gui && \
	  echo "demo: no display (DISPLAY/WAYLAND_DISPLAY unset), so the window was not opened; to open it anyway: 'make demo HEADLESS=1' (Xvfb) or 'QT_QPA_PLATFORM=offscreen $(VENV)/bin/signoff demo --dir $(DEMO_DIR)'"; \
	fi

# pytest exits 5 when it collected no tests: a failure here, not a pass.
test: setup-test
	@rc=0; QT_QPA_PLATFORM=offscreen QTWEBENGINE_DISABLE_SANDBOX=1 \
	  $(PY) -m pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "test: pytest collected no tests: failing" >&2; fi; \
	exit $$rc

bench: setup-test
	@shopt -s nullglob; scripts=(benchmarks/*.py); \
	if [ $${#scripts[@]} -eq 0 ]; then echo "bench: no benchmarks yet"; exit 0; fi; \
	for s in "$${scripts[@]}"; do echo "bench: $$s"; $(PY) "$$s" || exit $$?; done

# The desktop build (docs/packaging.md): one folder, dist/signoff/, started by dist/signoff/signoff.
# Needs the dev extras (PyInstaller), hence setup-test. A cold build, every time (--clean).
package: setup-test
	@start=$$(date +%s); \
	$(PY) -m PyInstaller --noconfirm --clean --log-level WARN packaging/signoff.spec || exit $$?; \
	echo "package: dist/signoff/signoff, $$(du -sh dist/signoff | cut -f1), built in $$(( $$(date +%s) - start )) s"; \
	echo "package: try it: dist/signoff/signoff demo; install it for you: bash packaging/linux/install.sh"

clean:
	rm -rf build dist *.egg-info .pytest_cache
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
