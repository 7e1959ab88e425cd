#!/usr/bin/env bash
# Failover and failback times (issue 10) on a local 4-pool cluster of real processes:
# pool03 (backed up by pool04) holds RECORDS records of 200 B; then
#   - a controlled failover (fence, drain to FinalState, digests, promotion);
#   - 10,000 changes written while failed over (routed to pool04), then a failback (fence,
#     catch-up of exactly those changes, digests, opening, fold);
#   - pool03 killed, a -DisasterMode failover (it waits out the lost pool's write lease);
#   - the CMS failed over to the standby coordinator and back (Invoke-CsManagementServerFailover,
#     then -Restore), and -Force with the active master killed;
# each with the time the cmdlet reports and the records it moved, against the original's
# documented 15–30 minutes (failover) and up to 60 minutes (failback of 20,000 users).
# Usage: failover.sh CSB_BIN_DIR RECORDS OUT.md   (CSB_BIN_DIR holds cli/ agent/ coordinator/)
set -euo pipefail
bin="$1"; records="$2"; out="$3"
csb="$bin/cli/csb"
dir="$(mktemp -d "${TMPDIR:-/tmp}/csb-bench-failover.XXXXXX")"
export CSB_CLUSTER="$dir/cluster" CSB_BIN_DIR="$bin"
trap '"$csb" cluster down --dir "$CSB_CLUSTER" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
M=UserServices.PresenceFocus
"$csb" cluster up --dir "$CSB_CLUSTER" --pools 4 >/dev/null
"$csb" data load -PoolFqdn pool03.csb.test -Module $M -Count "$records" >/dev/null
"$csb" sync -PoolFqdn pool03.csb.test -BackupModule $M >/dev/null
# "<pool>: <State> (users served by …) in <n> ms" and "  <Module>  seq <n>, <n> records moved…"
field() {
	awk -v m="$M" '/ ms$/ { state = $2; ms = $(NF - 1) }
		$1 == m { moved = $4 }
		END { print ms, moved, state }'
}
read -r fo_ms fo_moved fo_state < <("$csb" failover -PoolFqdn pool03.csb.test | field)
"$csb" data load -PoolFqdn pool03.csb.test -Module $M -Count 10000 -UpdateFraction 1 >/dev/null
read -r fb_ms fb_moved fb_state < <("$csb" failback -PoolFqdn pool03.csb.test | field)
"$csb" sync -PoolFqdn pool03.csb.test -BackupModule $M >/dev/null
"$csb" cluster kill --dir "$CSB_CLUSTER" --node pool03.csb.test >/dev/null
read -r dm_ms dm_moved dm_state < <("$csb" failover -PoolFqdn pool03.csb.test -DisasterMode | field)
# "The Central Management store is served by <pool> (epoch <n>, was <pool>) in <n> ms; …"
cms_ms() { sed -n 's/.* in \([0-9]*\) ms;.*/\1/p'; }
cms_to=$("$csb" cms-failover | cms_ms)
cms_back=$("$csb" cms-failover -Restore | cms_ms)
"$csb" cluster kill --dir "$CSB_CLUSTER" --node coordinator >/dev/null
cms_force=$("$csb" cms-failover -BackupSqlServerFqdn pool02.csb.test -Force | head -1 | cms_ms)
{
	echo
	echo "## Failover and failback ($records records of 200 B, 4-pool local cluster)"
	echo
	echo "| measure | csbackup | records moved | the original |"
	echo "|---|---|---|---|"
	echo "| controlled failover (Invoke-CsPoolFailover) | $fo_ms ms ($fo_state) | $fo_moved | 15–30 min |"
	echo "| failback after 10,000 changes (Invoke-CsPoolFailback) | $fb_ms ms ($fb_state) | $fb_moved | up to 60 min |"
	echo "| -DisasterMode failover of a killed pool (waits out its 4 s lease) | $dm_ms ms ($dm_state) | $dm_moved | 15–30 min |"
	echo "| CMS failover to the standby (Invoke-CsManagementServerFailover) | $cms_to ms | 1 (the master record) | — |"
	echo "| CMS back home (-Restore) | $cms_back ms | 1 | — |"
	echo "| CMS failover with the master killed (-Force) | $cms_force ms | — | — |"
} | tee -a "$out"
