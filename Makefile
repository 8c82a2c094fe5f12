# AttnLab — the two commands a newcomer needs:
#   make test   build and run the whole test suite (what CI runs), including an
#               end-to-end check of the pipeline on the smoke profile
#   make all    install what is missing, build, run the missing experiment shards,
#               then figures, tables, numbers and paper/report.pdf
# Also: make experiments | report | figures | bench | bench-peers | policies-peer | check-extension | test-release |
#       test-asan | test-tsan | fuzz | fuzz-smoke | clean.
# PROFILE=smoke or PROFILE=quick writes every output under out/<profile>/ instead.
#
# Missing system packages are installed by scripts/install-deps.sh (apt-get, as root).
#
# How timed work is serialised: every `attnlab run` holds results/shards/.machine.lock
# while a run executes, exclusively for the timed experiments (prefill, decode,
# throughput) and shared for untimed ones, so `make -j2 experiments` trains two models
# side by side but never times anything while another run is going. `make bench` runs its
# benchmarks as lines of one recipe, one after another.

SWIFT        ?= swift
BIN          := .build/release/attnlab
BENCH_BIN    := .build/release/attnlab-bench
# auto: the paper profile where its shards exist (they are committed), quick otherwise.
PROFILE      ?= auto
# Where the outputs go. auto and paper write the committed outputs: results/*.csv,
# paper/generated/, paper/report.pdf, docs/figures/*.png and README.md's generated sections.
# smoke and quick write the same paths under out/<profile>/ (ignored by git; README.md there
# is a copy with its sections filled in), so trying a profile never overwrites the committed
# results. Shards stay in $(RESULTS)/shards/<experiment>/<profile>/ whatever the profile:
# that is where a sweep resumes from.
OUT          := $(if $(filter smoke quick,$(PROFILE)),out/$(PROFILE)/)
# Shards (and bench/): results/ for every profile.
RESULTS      ?= results
# The merged CSV, one per experiment.
CSV_DIR      := $(if $(OUT),$(OUT)results,$(RESULTS))
GEN          ?= $(OUT)paper/generated
FIGDIR       := $(GEN)/figures
README_FIGS  := $(OUT)docs/figures
README_OUT   := $(OUT)README.md
REPORT       := $(OUT)paper/report.pdf
BENCH_DIR    := results/bench
# Claims are enforced for paper-profile results and listed in the report otherwise;
# --no-claims / --enforce-claims override that.
CLAIMS       ?=

EXPERIMENTS  := kv-cache-models kv-cache-scaling prefill-scaling decode-scaling mqar-recall mqar-one-head \
                recall-vs-cache passkey-distance copying selective-copying throughput multikey-needle cache-policies
CSVS         := $(addprefix $(CSV_DIR)/,$(addsuffix .csv,$(EXPERIMENTS)))

# Figures and the data each reads (one gnuplot script per figure in paper/figures/).
FIGURES      := kv-models kv-scaling prefill decode roofline mqar recall-vs-cache passkey needle curves copying throughput perf cache-policies \
                cache-policies-ratio
DATA_kv-models       := $(CSV_DIR)/kv-cache-models.csv
DATA_kv-scaling      := $(CSV_DIR)/kv-cache-scaling.csv
DATA_prefill         := $(CSV_DIR)/prefill-scaling.csv
DATA_decode          := $(CSV_DIR)/decode-scaling.csv
DATA_roofline        := $(CSV_DIR)/decode-scaling.csv $(wildcard $(BENCH_DIR)/machine.csv)
DATA_mqar            := $(GEN)/mqar-points.csv
DATA_recall-vs-cache := $(GEN)/rvc-points.csv
DATA_passkey         := $(CSV_DIR)/passkey-distance.csv
DATA_needle          := $(GEN)/needle-points.csv $(GEN)/needle-distance.csv
DATA_curves          := $(GEN)/mqar-curves.csv
DATA_copying         := $(GEN)/copying-points.csv $(GEN)/selective-copying-points.csv
DATA_throughput      := $(CSV_DIR)/throughput.csv
DATA_perf            := $(GEN)/perf.csv
DATA_cache-policies  := $(GEN)/cache-policies.csv $(GEN)/cache-policies-frontier.csv
DATA_cache-policies-ratio := $(GEN)/cache-policies.csv
# The headline figures shown in README.md (PNG, committed).
README_FIGURES := kv-models decode mqar recall-vs-cache passkey perf

GENERATED    := numbers.tex series.gp kv-models.tex table1.tex summary.tex mqar.tex mqar-steps.tex mqar-points.csv mqar-curves.csv needle.tex needle-points.csv needle-distance.csv rvc-points.csv copying-points.csv selective-copying-points.csv copying.tex selective-copying.tex runtime.tex \
                summary.md kv-models.md runtime.md peers.md prefill-slopes.csv perf.csv peers.tex perf.tex perf.md \
                cache-policies.csv cache-policies.tex cache-policies-frontier.csv policies-peer.tex policies-peer.md families-at-budgets.tex families-at-budgets.md

.PHONY: all test build release experiments report figures readme bench bench-peers deps deps-all clean help \
        check-extension check-pipeline check-clusters policies-peer test-release test-asan test-tsan fuzz fuzz-smoke $(addprefix run-,$(EXPERIMENTS))

# One line at the end of a per-profile run saying where its outputs went: from the last goal
# given (all when none), and from all rather than from its phases.
SAY_WHERE    ?= yes
say_where_now = $(and $(OUT),$(filter yes,$(SAY_WHERE)),$(filter $@,$(lastword $(or $(MAKECMDGOALS),all))))
where = $(if $(say_where_now),@echo "$(PROFILE)-profile outputs are in $(OUT) ($(1)); the committed results were not touched")

# Phases run in order (each a fresh make, so it sees what the previous phase wrote).
all: deps-all release
	$(MAKE) experiments SAY_WHERE=no
	$(MAKE) report SAY_WHERE=no
	$(call where,report: $(REPORT))

help:
	@sed -n '2,10p' Makefile

# Only what compiling needs (OpenBLAS); fast when already installed.
deps:
	@scripts/install-deps.sh build

# Everything, including gnuplot and LaTeX for figures and the report.
deps-all:
	@scripts/install-deps.sh all

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps-all
	$(SWIFT) build --build-tests
	$(SWIFT) test
	$(MAKE) --no-print-directory test-release
	scripts/cli-check.sh .build/debug/attnlab
	scripts/check-faults.sh .build/debug/attnlab
	scripts/check-pipeline.sh .build/debug/attnlab

# The kernel, conformance and reference-agreement suites again in a release build (the
# optimisation settings every reported number comes from), in a build directory of its own
# with testing enabled so that `make release` is not rebuilt.
RELEASE_SUITES = DecodeKernel|FlashPrefill|PrefillKernel|CausalAttention|CausalLinearAttention|ParallelMatmul|BLASThreadCount|VectorMath|GradientCheck|Conformance|EquivalenceTests|ReferenceAgreement|LongSequence|AttentionSinks|TrainingPath|EvictingDecodeCache
test-release: deps
	$(SWIFT) build -c release --build-tests --build-path .build-release-tests -Xswiftc -enable-testing
	$(SWIFT) test -c release --build-path .build-release-tests -Xswiftc -enable-testing --skip-build --filter '$(RELEASE_SUITES)'

# The suites under the sanitizers, each in a build directory of its own (a fresh build:
# many minutes). SANITIZER_FILTER narrows the suites, e.g. the threaded kernels:
#   make test-tsan SANITIZER_FILTER='ParallelMatmul|DecodeKernel|PrefillKernel|CausalAttention|Conformance'
SANITIZER_FILTER ?=
test-asan: deps
	LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan-suppressions.txt $(SWIFT) test --sanitize=address --build-path .build-asan $(if $(SANITIZER_FILTER),--filter '$(SANITIZER_FILTER)')
test-tsan: deps
	$(SWIFT) test --sanitize=thread --build-path .build-tsan $(if $(SANITIZER_FILTER),--filter '$(SANITIZER_FILTER)')

# libFuzzer on the readers of untrusted files (safetensors, layer configs, published
# config.json, experiment specs): FUZZ_SECONDS per target, a debug build with AddressSanitizer
# in .build-fuzz, results in results/bench/fuzz.csv (docs/reliability.md). Fails on a crash.
FUZZ_SECONDS ?= 600
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) SWIFT=$(SWIFT) scripts/fuzz.sh
# 20 s per target, the CSV in .build-fuzz/ so the committed one stays: does everything still run?
fuzz-smoke: deps
	FUZZ_SECONDS=20 FUZZ_CSV=.build-fuzz/fuzz-smoke.csv SWIFT=$(SWIFT) scripts/fuzz.sh

# Every output below is written atomically (the generator and scripts/update-readme.sh rename
# a whole temporary file over it; the recipes here write .NAME.tmp-PID and mv it), so one that
# exists is whole: make must not delete it when interrupted (docs/reliability.md).
.PRECIOUS: $(addprefix $(GEN)/,$(GENERATED)) $(foreach f,$(FIGURES),$(FIGDIR)/$(f).pdf $(FIGDIR)/$(f).png) \
           $(addprefix $(README_FIGS)/,$(addsuffix .png,$(README_FIGURES))) $(README_OUT) $(REPORT)

# --- experiments: missing shards only, then merge (an unchanged CSV keeps its timestamp) ---
experiments: $(addprefix run-,$(EXPERIMENTS))
	$(call where,merged CSV: $(CSV_DIR)/)

$(addprefix run-,$(EXPERIMENTS)): run-%: release
	$(BIN) run $* --profile $(PROFILE) --results $(RESULTS) --merge$(if $(OUT), --merged-dir $(CSV_DIR))

# A per-profile report reads only its own merged CSV, which make experiments writes.
ifneq ($(OUT),)
$(CSV_DIR)/%.csv:
	@echo "$@ is missing: run make experiments PROFILE=$(PROFILE) (or make all PROFILE=$(PROFILE)) first" >&2; exit 1
endif

# --- report: numbers, tables and figure data, then figures, then the PDF ---
report: $(REPORT) readme
	$(call where,report: $(REPORT))

# One run of the generator writes all of them (a grouped target, GNU make 4.3).
$(addprefix $(GEN)/,$(GENERATED)) &: $(CSVS) $(wildcard $(BENCH_DIR)/machine.csv $(BENCH_DIR)/peers.csv $(BENCH_DIR)/policy-decode.csv $(BENCH_DIR)/eviction-decode.csv $(BENCH_DIR)/policies-peer.csv) $(BIN)
	@mkdir -p $(GEN)
	$(BIN) report --results $(CSV_DIR) --bench $(BENCH_DIR) --out $(GEN) $(CLAIMS)

# Figures depend on the results they plot; the prefill slopes the generator fits are a
# function of prefill-scaling.csv alone, so they are only ordered before the figure.
define figure_rules
$(FIGDIR)/$(1).pdf: paper/figures/$(1).gp paper/figures/style.gp paper/figures/seedstats.gp $(GEN)/series.gp $(DATA_$(1)) | $(GEN)/prefill-slopes.csv
	@mkdir -p $(FIGDIR)
	gnuplot -e "results='$(CSV_DIR)'; generated='$(GEN)'; bench='$(BENCH_DIR)'; out='$(FIGDIR)/.$(1).tmp-$$$$$$$$'; fmt='pdf'" paper/figures/$(1).gp \
	  && mv -f $(FIGDIR)/.$(1).tmp-$$$$$$$$.pdf $$@ || { rm -f $(FIGDIR)/.$(1).tmp-$$$$$$$$.pdf; exit 1; }
$(FIGDIR)/$(1).png: paper/figures/$(1).gp paper/figures/style.gp paper/figures/seedstats.gp $(GEN)/series.gp $(DATA_$(1)) | $(GEN)/prefill-slopes.csv
	@mkdir -p $(FIGDIR)
	gnuplot -e "results='$(CSV_DIR)'; generated='$(GEN)'; bench='$(BENCH_DIR)'; out='$(FIGDIR)/.$(1).tmp-$$$$$$$$'; fmt='png'" paper/figures/$(1).gp \
	  && mv -f $(FIGDIR)/.$(1).tmp-$$$$$$$$.png $$@ || { rm -f $(FIGDIR)/.$(1).tmp-$$$$$$$$.png; exit 1; }
endef
$(foreach f,$(FIGURES),$(eval $(call figure_rules,$(f))))

figures: $(foreach f,$(FIGURES),$(FIGDIR)/$(f).pdf $(FIGDIR)/$(f).png)
	$(call where,figures: $(FIGDIR)/)

# report.tex reads generated/... relative to the directory LaTeX runs in, so it runs in the
# directory above $(GEN) (paper/, or out/<profile>/paper/) on paper/report.tex itself.
$(REPORT): paper/report.tex $(foreach f,$(FIGURES),$(FIGDIR)/$(f).pdf) $(addprefix $(GEN)/,$(GENERATED))
	@mkdir -p $(dir $@)
	cd $(dir $@) && latexmk -pdf -interaction=nonstopmode -halt-on-error -output-directory=build $(CURDIR)/paper/report.tex >build.log 2>&1 \
	  || { tail -40 build.log; exit 1; }
	cp $(dir $@)build/report.pdf $(dir $@).report.pdf.tmp-$$$$ && mv -f $(dir $@).report.pdf.tmp-$$$$ $@

# README: the headline figures as PNG and the summary tables between markers (for smoke
# and quick, a copy of README.md in out/<profile>/ beside its own docs/figures/).
readme: $(foreach f,$(README_FIGURES),$(README_FIGS)/$(f).png) $(README_OUT)
	$(call where,README copy: $(README_OUT))
$(README_FIGS)/%.png: $(FIGDIR)/%.png
	@mkdir -p $(README_FIGS)
	cp $< $(@D)/.$(@F).tmp-$$$$ && mv -f $(@D)/.$(@F).tmp-$$$$ $@
$(README_OUT): $(GEN)/summary.md $(GEN)/kv-models.md $(GEN)/runtime.md $(GEN)/peers.md $(if $(OUT),README.md)
	scripts/update-readme.sh $(GEN) $(README_OUT)

# --- checks ---
# The whole pipeline (smoke profile) in a temporary directory, ending in a PDF.
check-pipeline: build
	scripts/check-pipeline.sh .build/debug/attnlab

# Demonstrates docs/adding-a-variant.md in a scratch copy: adds a mechanism, runs the whole
# test suite and the smoke pipeline with it (about 10 minutes: a fresh build). CI runs it.
check-extension: deps
	scripts/check-adding-a-variant.sh

# Runs docs/clusters.md's Slurm array and GNU parallel commands on a private one-node Slurm
# cluster on localhost (smoke profile; needs root and the slurm/munge/parallel packages).
check-clusters: deps
	$(SWIFT) build
	scripts/check-clusters.sh .build/debug/attnlab

# --- benchmarks (release build, serialised: lines of one recipe) ---
bench: release
	@mkdir -p $(BENCH_DIR)
	$(BENCH_BIN) machine --out $(BENCH_DIR)/machine.csv
	$(BENCH_BIN) matmul --out $(BENCH_DIR)/matmul.csv
	$(BENCH_BIN) attention --out $(BENCH_DIR)/attention.csv
	$(BENCH_BIN) train --out $(BENCH_DIR)/train.csv
	$(BENCH_BIN) policy-decode --out $(BENCH_DIR)/policy-decode.csv
	$(BENCH_BIN) eviction-decode --out $(BENCH_DIR)/eviction-decode.csv

# --- PyTorch peer (not part of test or CI): torch from PyPI in .venv-peers (about 5 GB with
# the CUDA wheels that `import torch` needs even on CPU), then AttnLab and torch side by side,
# interleaved, same threads, after a numerical agreement check. PEERS_ARGS=--quick: a smoke run.
PYTHON        ?= python3
PEERS_VENV    := .venv-peers
PEERS_THREADS ?= 2
PEERS_ARGS    ?=

$(PEERS_VENV)/.installed:
	@scripts/install-deps.sh peers
	$(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/pip install --quiet --upgrade pip
	$(PEERS_VENV)/bin/pip install torch safetensors numpy
	@touch $@

bench-peers: release $(PEERS_VENV)/.installed
	@mkdir -p $(BENCH_DIR)
	$(PEERS_VENV)/bin/python scripts/bench_peers.py --bin .build/release --threads $(PEERS_THREADS) \
	  --out $(BENCH_DIR)/peers.csv $(PEERS_ARGS)

# --- kvpress peer for the cache policies (not part of test or CI): transformers and kvpress
# added to .venv-peers, two models trained as the cache-policies experiment trains them (MHA
# on the multi-key needle task, GQA on MQAR; resumable checkpoints under out/policies-peer),
# then every eviction policy against its kvpress press on the same examples
# (scripts/kvpress_peer.py; writes results/bench/policies-peer.csv).
POLICY_PEER_DIR := out/policies-peer
POLICY_PEER_TRAIN := --layers 2 --heads 4 --mlp 0 --target-accuracy 0.995 --eval-examples 512 --test-examples 500 --threads 1 --seed 0

$(PEERS_VENV)/.kvpress-installed: $(PEERS_VENV)/.installed
	$(PEERS_VENV)/bin/pip install transformers kvpress
	@touch $@

$(POLICY_PEER_DIR)/mha-needle.done: | release
	@mkdir -p $(POLICY_PEER_DIR)
	$(BIN) train --variant mha --task multikey-needle --seq-len 64 --needles 4 --questions 4 --vocab 512 --d-model 64 \
	  --batch-size 32 --lr 0.003 --warmup 50 --max-steps 6000 --cue-steps 2500 $(POLICY_PEER_TRAIN) \
	  --checkpoint $(POLICY_PEER_DIR)/mha-needle.safetensors
	@touch $@

$(POLICY_PEER_DIR)/gqa-mqar.done: | release
	@mkdir -p $(POLICY_PEER_DIR)
	$(BIN) train --variant gqa --kv-heads 2 --task mqar --seq-len 64 --kv-pairs 4 --vocab 8192 --d-model 128 \
	  --batch-size 64 --lr 0.0022 --warmup 100 --max-steps 2500 $(POLICY_PEER_TRAIN) \
	  --checkpoint $(POLICY_PEER_DIR)/gqa-mqar.safetensors
	@touch $@

policies-peer: release $(PEERS_VENV)/.kvpress-installed $(POLICY_PEER_DIR)/mha-needle.done $(POLICY_PEER_DIR)/gqa-mqar.done
	@mkdir -p $(BENCH_DIR)
	$(PEERS_VENV)/bin/python scripts/kvpress_peer.py --bin .build/release \
	  --checkpoint $(POLICY_PEER_DIR)/mha-needle.safetensors --checkpoint $(POLICY_PEER_DIR)/gqa-mqar.safetensors \
	  --out $(BENCH_DIR)/policies-peer.csv $(POLICY_PEER_ARGS)

clean:
	rm -rf .build paper/generated paper/build paper/build.log out
