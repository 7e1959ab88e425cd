# csbackup: `make test` and `make demo` are the two commands (README.md).
BAZEL ?= bazel

.PHONY: all deps build test test-asan demo demo-down bench bench-quick clean

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

clean:
	$(BAZEL) clean
