# csbackup: `make test` and `make demo` are the two commands (README.md).
BAZEL ?= bazel

.PHONY: all deps build test test-asan demo demo-down bench bench-quick install deb chaos fuzz fuzz-seeds clean

all: build

deps:
	@bazel/deps.sh

build: deps
	$(BAZEL) build //...

test: deps
	@bazel/test.sh

# The same suite under AddressSanitizer + UndefinedBehaviorSanitizer (.bazelrc --config=asan);
# LeakSanitizer ignores only what nng allocates (bazel/lsan.supp). Ends with its own
# "N passed, N failed" line.
test-asan: deps
	@bazel/test.sh --config=asan --test_env=LSAN_OPTIONS=suppressions=$(CURDIR)/bazel/lsan.supp

# A two-pool cluster under ./demo-cluster with sample data, synced and verified; it keeps
# running until `make demo-down`.
DEMO_DIR := $(CURDIR)/demo-cluster
CSB := $(CURDIR)/bazel-bin/cli/csb

demo: build
	@bazel/demo.sh "$(CSB)" "$(DEMO_DIR)"

demo-down:
	@if [ -f "$(DEMO_DIR)/cluster.json" ]; then "$(CSB)" cluster down --dir "$(DEMO_DIR)"; \
	else echo "no demo cluster in $(DEMO_DIR)"; fi

bench: deps
	@BAZEL="$(BAZEL)" bench/run.sh

bench-quick: deps
	@BAZEL="$(BAZEL)" bench/run.sh --quick

# `make install [PREFIX=/usr/local] [SYSCONFDIR=/etc] [DESTDIR=…]`: the binaries, systemd
# units (csb-coordinator.service, csb-agent@<pool>.service), the csbackup system user,
# configuration examples under SYSCONFDIR/csbackup, bash completion (bazel/install.sh).
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
BINS := $(CURDIR)/bazel-bin/cli/csb $(CURDIR)/bazel-bin/agent/csb-agent \
	$(CURDIR)/bazel-bin/coordinator/csb-coordinator

install: build
	@bazel/install.sh "$(DESTDIR)" "$(PREFIX)" "$(SYSCONFDIR)" $(BINS)

# `make deb`: dist/csbackup_<version>_<arch>.deb, the same files with PREFIX=/usr
# (bazel/deb.sh); `apt install ./dist/csbackup_*.deb` installs it.
deb: build
	@bazel/deb.sh "$(CURDIR)/dist" $(BINS)

# A seeded chaos run on a 4-pool cluster (chaos/): at least 1,000 faults, then convergence
# and the history check; prints its figures. Flags: make chaos CHAOS_FLAGS="--seed 7 ...".
CHAOS_FLAGS ?=

chaos: deps
	$(BAZEL) build //chaos:csb_chaos //cli:csb //agent:csb-agent //coordinator:csb-coordinator
	bazel-bin/chaos/csb_chaos --faults 1000 $(CHAOS_FLAGS)

# Every libFuzzer target of fuzz/ for FUZZ_SECONDS each over its seed corpus; new inputs
# and crashes stay in ./fuzz-work. Prints the executions per target.
FUZZ_SECONDS ?= 60

fuzz: deps
	$(BAZEL) build //fuzz:fuzzers
	fuzz/run.sh --seconds $(FUZZ_SECONDS) --bin bazel-bin/fuzz --corpus fuzz/corpus --work fuzz-work

# Rewrites the seeds (fuzz/corpus/*/seed-*) from fuzz/seeds.c.
fuzz-seeds: deps
	$(BAZEL) build //fuzz:seeds
	bazel-bin/fuzz/seeds fuzz/corpus

clean:
	$(BAZEL) clean
