# AttnLab — the two commands a newcomer needs:
#   make test   build and run the whole test suite (what CI runs)
#   make all    release build and everything the paper needs (grows with later issues)
# Also: make bench (timings → results/bench/*.csv, release build), make clean.
#
# Missing system packages are installed by scripts/install-deps.sh (apt-get, as root).

SWIFT        ?= swift
RELEASE_BIN  := .build/release
BENCH_DIR    := results/bench

.PHONY: all test build release bench deps deps-all clean help check-extension

all: deps-all release
	$(RELEASE_BIN)/attnlab --help
	$(RELEASE_BIN)/attnlab info

help:
	@sed -n '2,6p' Makefile

# Only what compiling and testing needs (OpenBLAS); fast when already installed.
deps:
	@scripts/install-deps.sh build

# Everything, including gnuplot and LaTeX for figures and the report.
deps-all:
	@scripts/install-deps.sh all

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test
	scripts/cli-check.sh .build/debug/attnlab

# Timed things use release builds. The benchmarks are lines of one recipe, so they run
# one after another even under make -j; run them on an otherwise idle machine.
bench: release
	@mkdir -p $(BENCH_DIR)
	$(RELEASE_BIN)/attnlab-bench machine --out $(BENCH_DIR)/machine.csv
	$(RELEASE_BIN)/attnlab-bench matmul --out $(BENCH_DIR)/matmul.csv
	$(RELEASE_BIN)/attnlab-bench attention --out $(BENCH_DIR)/attention.csv
	$(RELEASE_BIN)/attnlab-bench train --out $(BENCH_DIR)/train.csv

clean:
	rm -rf .build paper/generated


# Demonstrates docs/adding-a-variant.md in a scratch copy (a few minutes: a fresh build).
check-extension: deps
	scripts/check-adding-a-variant.sh
