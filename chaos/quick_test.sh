#!/usr/bin/env bash
# The chaos run in quick mode inside `make test`: a few faults on a real 4-pool cluster, then
# the full convergence and history check. csb_chaos stops its cluster itself; the trap stops
# it too if this script is ended first.
set -uo pipefail
root="${TEST_SRCDIR}/${TEST_WORKSPACE}"
work="${TEST_TMPDIR}/chaos"
trap '[ -f "$work/cluster/cluster.json" ] && "$root/cli/csb" cluster down --dir "$work/cluster" >/dev/null 2>&1' EXIT
"$root/chaos/csb_chaos" --quick --seed 13 --csb "$root/cli/csb" --work "$work"
