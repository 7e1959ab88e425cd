#!/usr/bin/env bash
# The driver of `make bench` and `make bench-quick`: builds csb_bench and csb-agent with
# Bazel, then runs the benchmark outside Bazel (so that it holds no Bazel lock while it
# runs). Full mode writes bench/results/latest.md; --quick writes to a temporary file.
# Extra arguments go to csb_bench (see `csb_bench --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
BAZEL="${BAZEL:-bazel}"
"$BAZEL" build //bench:csb_bench //agent:csb-agent //cli:csb //coordinator:csb-coordinator
# Run copies: another build in this workspace must not swap the binaries under a running
# benchmark (it spawns agents from this path during the run).
bin="$(mktemp -d "${TMPDIR:-/tmp}/csb-bench-bin.XXXXXX")"
trap 'rm -rf "$bin"' EXIT
mkdir -p "$bin/bench" "$bin/agent" "$bin/cli" "$bin/coordinator"
cp bazel-bin/bench/csb_bench "$bin/bench/"
cp bazel-bin/agent/csb-agent "$bin/agent/"
cp bazel-bin/cli/csb "$bin/cli/"
cp bazel-bin/coordinator/csb-coordinator "$bin/coordinator/"
quick=false
for a in "$@"; do
	[ "$a" = "--quick" ] && quick=true
done
if $quick; then
	out="$(mktemp "${TMPDIR:-/tmp}/csb-bench-quick.XXXXXX.md")"
else
	mkdir -p bench/results
	out="bench/results/latest.md"
fi
"$bin/bench/csb_bench" --agent-bin "$bin/agent/csb-agent" --out "$out" "$@"
bench/failover.sh "$bin" "$($quick && echo 20000 || echo 1000000)" "$out"
echo "bench: results in $out"
