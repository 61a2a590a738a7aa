# Two commands for a fresh clone:  make run  (index knowledge/ and serve the chat)  and  make test.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test install clean system-deps test-deps

# OpenCV (which RapidOCR uses for scanned PDFs) links libGL, GLib and libxcb; slim Debian
# images lack them. Installed with apt only when missing (sudo when not root).
SYSTEM_LIBS := libGL.so.1 libglib-2.0.so.0 libxcb.so.1
system-deps:
	@missing=""; for lib in $(SYSTEM_LIBS); do /sbin/ldconfig -p | grep -q "$$lib" || missing="$$missing $$lib"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system libraries for:$$missing"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libgl1 libglib2.0-0 libxcb1 >/dev/null; \
	fi

# The browser tests drive Debian's Chromium (with a CJK font, so screenshots show Chinese);
# the deployment test puts nginx in front of two instances.
test-deps:
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy" || ! [ -x /usr/sbin/nginx ]; then \
	  echo "installing chromium, fonts-wqy-microhei and nginx for the browser and deployment tests"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-wqy-microhei nginx >/dev/null; \
	fi

# torch is installed first and pinned to the CPU build (it lies on the machine's disk for
# Python 3.11); a bare `torch` requirement would pull a CUDA build of several GB.
$(VENV)/.installed: pyproject.toml | system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

run: system-deps $(VENV)/.installed
	$(BIN)/minsheng serve --ingest knowledge

test: system-deps test-deps $(VENV)/.installed
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) data
