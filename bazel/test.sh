#!/usr/bin/env bash
# Runs every test (`bazel test //...`) and ends with the plain line `N passed, N failed`,
# counted from Bazel's per-target results. Exit status 0 only when nothing failed.
set -uo pipefail
log=$(mktemp)
trap 'rm -f "$log"' EXIT
bazel test --keep_going "$@" //... 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
passed=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log")
failed=$(grep -cE '^//[^ ]+ +.*(FAILED|TIMEOUT|NO STATUS|INCOMPLETE|FLAKY)' "$log")
# A build failure runs no test at all; it must not read as success.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
	failed=1
fi
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
