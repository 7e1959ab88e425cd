#!/usr/bin/env bash
# Runs every libFuzzer target of fuzz/ for a bounded time over its seed corpus and prints,
# per target, the executions and the time they took; ends with "fuzz: N targets, N
# crashed". New inputs go to the work folder (WORK/<target>/corpus), never into the tree;
# a crash leaves its input as WORK/<target>/crash-* and fails the run (exit 1). Copy such an
# input into corpus/<target>/ once the bug is fixed: it then runs in every `make test`.
#   run.sh [--seconds N] [--bin DIR] [--corpus DIR] [--work DIR] [--only TARGET]
set -uo pipefail
seconds=10
bin=bazel-bin/fuzz
corpus=fuzz/corpus
work=
only=
while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) seconds=$2; shift 2 ;;
	--bin) bin=$2; shift 2 ;;
	--corpus) corpus=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
if [ -z "$work" ]; then
	work=$(mktemp -d "${TEST_TMPDIR:-${TMPDIR:-/tmp}}/csb-fuzz.XXXXXX")
fi
mkdir -p "$work"
targets=0
crashed=0
printf '%-16s %12s %8s %10s  %s\n' target executions seconds exec/s result
for exe in "$bin"/fuzz_*; do
	name=$(basename "$exe")
	[ -d "$corpus/$name" ] || continue # a target has a corpus; this script has none
	[ -n "$only" ] && [ "$name" != "$only" ] && continue
	targets=$((targets + 1))
	mkdir -p "$work/$name/corpus"
	log="$work/$name/log"
	start=$(date +%s)
	ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	"$exe" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix="$work/$name/" \
		"$work/$name/corpus" "$corpus/$name" >"$log" 2>&1
	status=$?
	took=$(( $(date +%s) - start ))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	execs=${execs:-0}
	rate=$(( took > 0 ? execs / took : execs ))
	if [ "$status" -eq 0 ]; then
		result=ok
	else
		result="CRASHED (exit $status): $(ls "$work/$name"/crash-* "$work/$name"/leak-* \
			"$work/$name"/timeout-* "$work/$name"/oom-* 2>/dev/null | head -n 1)"
		crashed=$((crashed + 1))
		grep -E 'ERROR|SUMMARY|property does not hold|runtime error' "$log" | head -n 5
	fi
	printf '%-16s %12s %8s %10s  %s\n' "$name" "$execs" "$took" "$rate" "$result"
done
echo "fuzz: $targets targets, $crashed crashed; logs and new inputs in $work"
[ "$targets" -gt 0 ] && [ "$crashed" -eq 0 ]
