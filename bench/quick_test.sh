#!/usr/bin/env bash
# Smoke check inside `make test`: the benchmark in --quick mode on real agents works end to
# end (exit status 0). Its timings are printed, never checked.
set -euo pipefail
root="${TEST_SRCDIR}/${TEST_WORKSPACE}"
out="${TEST_UNDECLARED_OUTPUTS_DIR:-${TEST_TMPDIR}}/bench-quick.md"
"${root}/bench/csb_bench" --quick \
	--agent-bin "${root}/agent/csb-agent" \
	--tmpdir "${TEST_TMPDIR}" \
	--out "$out"
TMPDIR="${TEST_TMPDIR}" "${root}/bench/failover.sh" "${root}" 20000 "$out"
