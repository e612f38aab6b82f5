# 循环神经网络实战课 — two commands for a fresh machine:  make tour   and   make test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: tour test test-seeds lab install student lint clean

$(BIN)/rnn-course: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[dev]"
	touch $@

install: $(BIN)/rnn-course

tour: install            ## install (if needed) and run the guided tour
	$(BIN)/rnn-course tour

test: install            ## install (if needed) and run every test: unit tests + nbval over chapters/
	$(BIN)/python -m pytest

# Every chapter again with seed offsets 1 and 2 (outputs not compared, every assert must hold):
# a claim that holds only for one lucky seed fails here instead of on a learner's machine.
CHAPTERS := $(wildcard chapters/[0-9]*.ipynb)
test-seeds: install      ## re-run every chapter's asserts with RNN_COURSE_SEED_OFFSET=1 and 2
	for offset in 1 2; do \
	    echo "== RNN_COURSE_SEED_OFFSET=$$offset"; \
	    RNN_COURSE_SEED_OFFSET=$$offset $(BIN)/python -m pytest -o addopts="" -p no:cacheprovider \
	        --nbval-lax --nbval-current-env --nbval-cell-timeout 600 $(CHAPTERS) || exit 1; \
	done

lab: install             ## open the chapters in JupyterLab
	$(BIN)/jupyter lab chapters/

student: install         ## regenerate the student editions of the exercises
	$(BIN)/rnn-course student

lint: install
	$(BIN)/ruff check src tests chapters

clean:
	rm -rf $(VENV) build src/*.egg-info

.PHONY: slides site teach-install

slides: install          ## reveal.js slides of every chapter → build/slides/ (offline: reveal.js, MathJax, font copied in)
	$(BIN)/rnn-course slides --out build/slides

site: install            ## static course website from the stored outputs → build/site/index.html (offline build and viewing)
	$(BIN)/rnn-course site --out build/site

teach-install: install   ## add the teacher tools: jupyterlab-rise (present offline in `make lab`), Sphinx
	$(BIN)/python -m pip install -e ".[teach]"
