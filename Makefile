# esmm-lab: every target installs what it needs, idempotently (stamp files), so a fresh clone needs only
#   make reproduce   run the notebooks top to bottom on the default data, regenerate figures/ and reports/
#   make test        the test suite (unit tests, notebooks under nbconvert on the quick profile, browser tests)
# Other targets: make sensitivity (reproduce + notebook 05), make beyond (notebook 06: every row of the zoo, 22, under the fair protocol, without and with hidden selection), make fair (notebook 07: the fair protocol, the headline; alias make tune), make lab (JupyterLab on notebooks/), make native (optional native TensorFlow backend),
# make bench (training speed, PyTorch side by side), make bench-models (every model of the zoo), make bench-seeds (seed-batched training), make bench-parallel, make bench-simulate, make bench-scale, make bench-oov, make bench-arithmetic, make bench-notebook01, make clean-notebooks.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
JUPYTER := $(VENV)/bin/jupyter
TSLAB := $(abspath node_modules/.bin/tslab)
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))
# make reproduce: the paper (01-04). The protocol-sensitivity study (05, 450 runs in its full profile) is `make sensitivity`;
# the zoo's 22 rows under the fair protocol (06: 792 runs, about 2.5 h on 2 cores) are `make beyond`. The study on real data
# (08: Ali-CCP or your own log, ESMM_REAL_DATA) is run by hand (README, "Your own data"; docs/real-data.md); `make test` runs it on the sample.
# The headline, the fair protocol (07: nested, repeated tuning with the same budget per model, worlds from a prior) is `make fair`.
REPORT_NOTEBOOKS := $(filter-out notebooks/05-% notebooks/06-% notebooks/07-% notebooks/08-%,$(NOTEBOOKS))
DEFAULT_DATA := data/sim-default
# Notebook profile: quick (small data, for tests) or full (the paper's protocol). Notebooks read ESMM_PROFILE.
PROFILE ?= full

.PHONY: setup build test test-browser report-pdf test-unit test-notebooks reproduce sensitivity beyond fair tune lab native system data bench bench-models bench-parallel bench-seeds bench-simulate bench-scale bench-oov bench-arithmetic bench-notebook01 clean-notebooks clean

setup: node_modules/.installed $(VENV)/.installed system

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

build: node_modules/.installed
	node node_modules/typescript/bin/tsc -p tsconfig.json

# Project-local virtualenv with JupyterLab, nbconvert and plotly, and the tslab kernel registered inside it
# (pointing at this project's own tslab binary), never globally.
$(VENV)/.installed: requirements.txt node_modules/.installed
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --retries 0 -r requirements.txt
	node_modules/.bin/tslab install --python=$(VENV)/bin/python --sys-prefix --binary=$(TSLAB)
	@touch $@

# System packages for static figure export and the browser tests (Debian): chromium, fonts, poppler-utils.
system:
	@bash scripts/ensure-system-packages.sh

native: node_modules/.installed
	bash scripts/install-native.sh

$(DEFAULT_DATA)/manifest.json: node_modules/.installed
	$(MAKE) build
	node bin/esmm.js simulate --impressions 2000000 --days 15 --seed 7 --out $(DEFAULT_DATA)

data: $(DEFAULT_DATA)/manifest.json

# The paper's notebooks run once, as reports (--report checks their outputs as --check does), and the browser tests
# read those reports: a second run of them for the reports test took ~100 s. The quick profile's reports and figures go
# to test-artifacts/: `make reproduce`'s reports/ and figures/ stay untouched.
TEST_REPORTS := $(CURDIR)/test-artifacts/reports
TEST_FIGURES := $(CURDIR)/test-artifacts/figures
test: setup build
	node --test --test-concurrency=1 build/test/
	ESMM_PROFILE=quick ESMM_FIGURES_DIR=$(TEST_FIGURES) ESMM_REPORTS_DIR=$(TEST_REPORTS) bash scripts/run-notebooks.sh --report $(REPORT_NOTEBOOKS)
	ESMM_PROFILE=quick ESMM_FIGURES_DIR=$(TEST_FIGURES) bash scripts/run-notebooks.sh --check $(filter-out $(REPORT_NOTEBOOKS),$(NOTEBOOKS))
	ESMM_E2E=1 ESMM_FIGURES_DIR=$(TEST_FIGURES) ESMM_E2E_REPORTS_DIR=$(TEST_REPORTS) node --test --test-concurrency=1 build/test/e2e/

# JupyterLab, the HTML reports and the PDF in headless Chromium (quick profile); screenshots in test-artifacts/e2e/.
# Alone it checks make reproduce's reports/ when they are all there, else makes quick-profile reports in
# test-artifacts/reports and checks those (reports/ is never written); its notebooks' figures go to test-artifacts/figures.
test-browser: setup build
	ESMM_E2E=1 ESMM_FIGURES_DIR=$(TEST_FIGURES) node --test --test-concurrency=1 build/test/e2e/

report-pdf: setup build
	node scripts/report-pdf.js reports/esmm-lab-report.html

test-unit: build
	node --test --test-concurrency=1 build/test/

test-notebooks: setup build
	ESMM_PROFILE=quick ESMM_FIGURES_DIR=$(TEST_FIGURES) bash scripts/run-notebooks.sh --check $(NOTEBOOKS)

reproduce: setup build
	-@bash scripts/install-native.sh
	ESMM_PROFILE=$(PROFILE) bash scripts/run-notebooks.sh --report $(REPORT_NOTEBOOKS)

sensitivity: setup build
	-@bash scripts/install-native.sh
	ESMM_PROFILE=$(PROFILE) bash scripts/run-notebooks.sh --report $(REPORT_NOTEBOOKS) notebooks/05-protocol-sensitivity.ipynb

beyond: setup build
	-@bash scripts/install-native.sh
	ESMM_PROFILE=$(PROFILE) bash scripts/run-notebooks.sh --report notebooks/06-beyond-the-paper.ipynb

# The headline: notebook 07, the fair protocol (lib/tune/protocol.ts) on the full profile: 3 nested tuning repeats x 10
# trials per model (trial 0 untuned) with successive halving over seeds, then every repeat's choices and the untuned
# configuration over 8 worlds drawn from the world prior x 2 seeds; regenerates the README's headline block and
# docs/fair-protocol.md. Its wall time is in the README. `make tune` is the same target.
fair tune: setup build
	-@bash scripts/install-native.sh
	ESMM_PROFILE=$(PROFILE) bash scripts/run-notebooks.sh --report notebooks/07-fair-protocol.ipynb

lab: setup build
	$(JUPYTER) lab --notebook-dir=notebooks

# Training throughput per backend and batch size, PyTorch (installed into .venv on first use) in the same run.
bench: $(VENV)/.installed build
	-@bash scripts/install-native.sh
	node bin/esmm.js bench --backend tensorflow,wasm --batch 1024,4096 --count --peer torch --repeat 3

# Every model of the zoo on the same shape: examples/s and kernels per step (native backend, 1 thread).
bench-models: build
	-@bash scripts/install-native.sh
	node bin/esmm.js bench --backend tensorflow --batch 1024 --models all --count --repeat 3

# Worker processes x compute threads (what the study runner's default is chosen from).
bench-parallel: build
	-@bash scripts/install-native.sh
	node bin/esmm.js bench --backend tensorflow,wasm --batch 1024,4096 --parallel 1x1,1x2,2x1 --repeat 3

# Seed-batched training (lib/train/seed-group.ts): 1, 3 and 10 seeds in one graph, one process and the whole machine,
# next to PyTorch's whole-machine best in the same command (native backend, batch 1024).
bench-seeds: $(VENV)/.installed build
	-@bash scripts/install-native.sh
	node bin/esmm.js bench --backend tensorflow --batch 1024 --seeds 1,3,10 --count --peer torch --repeat 3

bench-simulate: build
	node build/bench/simulate.js

# esmm prepare on synthetic processed Ali-CCP files of 4M, 16M and 40M rows (rows/s, peak RSS, bytes/row), then one
# epoch of each paper model (row-wise updates) on the 40M-row prepared folder through the study runner, and the projected wall time
# of a 6-model x 10-seed study on the whole release. Files under /tmp/esmm-scale (about 5.5 GB at 40M rows), deleted after.
bench-scale: build
	nice -n 5 node build/bench/prepare-scale.js --rows 4000000,16000000,40000000 --train

# What the out-of-vocabulary rules change: the default log prepared as before (k = 1, no masking) and with the defaults, IP and ESMM over 5 seeds.
bench-oov: build data
	-@bash scripts/install-native.sh
	node build/bench/oov-effect.js $(DEFAULT_DATA) IP,ESMM 1,2,3,4,5 7

# The arithmetic of the study make reproduce trained (runs/models.jsonl, data/study) and the least time its matrix
# products alone take on this machine (native backend, 1 thread): the floor of make reproduce's training part.
bench-arithmetic: build
	-@bash scripts/install-native.sh
	TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 OMP_NUM_THREADS=1 node build/bench/study-arithmetic.js runs/models.jsonl data/study

# Notebook 01's steps one by one (CSV parse, log.bin write and read, describe of a sample, prepare, figure export) on data/sim-default.
bench-notebook01: build
	node build/bench/notebook01-steps.js

# Notebooks are committed without outputs.
clean-notebooks: $(VENV)/.installed
	$(JUPYTER) nbconvert --clear-output --inplace $(NOTEBOOKS)

clean:
	rm -rf build reports test-artifacts
