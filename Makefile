# csbackup: `make test` and `make demo` are the two commands (README.md).
BAZEL ?= bazel

.PHONY: all deps build test demo demo-down bench bench-quick clean

all: build

deps:
	@bazel/deps.sh

build: deps
	$(BAZEL) build //...

test: deps
	@bazel/test.sh

demo: build
	@echo "demo: the local cluster arrives with the coordinator and CLI; built binaries are under bazel-bin/"

demo-down:
	@echo "demo-down: nothing is running yet"

clean:
	$(BAZEL) clean
