#!/usr/bin/env bash
# `make demo`: starts (or reuses) a local cluster — a coordinator and two paired pools — in
# the folder given, writes sample data on both pools, syncs, and shows the backup status,
# a verification of primary against backup copy, and where to look next.
set -euo pipefail
csb=$1
dir=$2
export CSB_CLUSTER=$dir

step() { printf '\n== %s\n' "$*"; }

step "csb cluster up --dir $dir"
"$csb" cluster up --dir "$dir"

step "sample data: 20,000 presence/contact records on pool01, 5,000 on pool02, a conference file"
"$csb" data load -PoolFqdn pool01.csb.test -Module UserServices.PresenceFocus -Count 20000 \
	-ValueSize 200 -UpdateFraction 0.1 -DeleteFraction 0.02 -Seed 1
"$csb" data load -PoolFqdn pool02.csb.test -Module UserServices.PresenceFocus -Count 5000 \
	-ValueSize 200 -Seed 2
head -c 3000000 /dev/urandom > "$dir/slides.bin"
"$csb" data put -PoolFqdn pool01.csb.test -Module ConfServices.DataConf \
	-Key conf/42/slides.pptx -ValueFile "$dir/slides.bin"

step "Invoke-CsBackupServiceSync -PoolFqdn pool01.csb.test (only what changed travels)"
"$csb" Invoke-CsBackupServiceSync -PoolFqdn pool01.csb.test

step "Backup-CsPool -PoolFqdn pool02.csb.test -SteadyState"
"$csb" Backup-CsPool -PoolFqdn pool02.csb.test -SteadyState -WaitTime 1 -RetryCount 10 \
	-Report "$dir/backup-report.html"

step "Get-CsBackupServiceStatus -PoolFqdn pool01.csb.test"
"$csb" Get-CsBackupServiceStatus -PoolFqdn pool01.csb.test

step "Test-CsBackupData -PoolFqdn pool01.csb.test (range digests, online)"
"$csb" Test-CsBackupData -PoolFqdn pool01.csb.test

http=$(sed -n 's/.*"http": *"\([^"]*\)".*/\1/p' "$dir/cluster.json" | head -1)
step "next"
cat <<EOT
Status page:  http://$http/   (JSON: /api/v1/status, Prometheus: /metrics)
Report:       $dir/backup-report.html
Try:          export CSB_CLUSTER=$dir
              $csb Get-CsBackupServiceStatus -PoolFqdn pool02.csb.test --json
              $csb data load -PoolFqdn pool01.csb.test -Module UserServices.PresenceFocus -Count 1000 -UpdateFraction 1 -Seed 1
              $csb Invoke-CsBackupServiceSync -PoolFqdn pool01.csb.test
Logs:         $dir/logs/
Stop it:      make demo-down
EOT
