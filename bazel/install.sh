#!/usr/bin/env bash
# Installs csbackup: `install.sh DESTDIR PREFIX SYSCONFDIR CSB CSB_AGENT CSB_COORDINATOR`
# (the three binaries' paths). Used by `make install` and `make deb`, and by
# //tests:install_test on the binaries Bazel built. Puts:
#   PREFIX/bin/{csb,csb-agent,csb-coordinator}
#   PREFIX/lib/systemd/system/{csb-coordinator.service,csb-agent@.service}
#   PREFIX/lib/sysusers.d/csbackup.conf        (the csbackup system user)
#   SYSCONFDIR/csbackup/{coordinator,agent}.conf.example
#   PREFIX/share/bash-completion/completions/csb
#   PREFIX/share/doc/csbackup/{README.md,alerts.yml}
# all under DESTDIR. Existing configuration (SYSCONFDIR/csbackup/*.conf) is never touched.
set -euo pipefail
[ $# -eq 6 ] || { echo "usage: $0 DESTDIR PREFIX SYSCONFDIR CSB CSB_AGENT CSB_COORDINATOR" >&2; exit 2; }
destdir=$1 prefix=$2 sysconfdir=$3
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bindir=$prefix/bin unitdir=$prefix/lib/systemd/system docdir=$prefix/share/doc/csbackup

install -d "$destdir$bindir" "$destdir$unitdir" "$destdir$prefix/lib/sysusers.d" \
	"$destdir$sysconfdir/csbackup" "$destdir$prefix/share/bash-completion/completions" \
	"$destdir$docdir"
install -m 0755 "$4" "$destdir$bindir/csb"
install -m 0755 "$5" "$destdir$bindir/csb-agent"
install -m 0755 "$6" "$destdir$bindir/csb-coordinator"
for unit in csb-coordinator.service csb-agent@.service; do
	sed -e "s|@BINDIR@|$bindir|g" -e "s|@SYSCONFDIR@|$sysconfdir|g" -e "s|@DOCDIR@|$docdir|g" \
		"$src/contrib/systemd/$unit.in" >"$destdir$unitdir/$unit"
	chmod 0644 "$destdir$unitdir/$unit"
done
install -m 0644 "$src/contrib/systemd/csbackup.sysusers" "$destdir$prefix/lib/sysusers.d/csbackup.conf"
install -m 0644 "$src/contrib/systemd/coordinator.conf.example" \
	"$src/contrib/systemd/agent.conf.example" "$destdir$sysconfdir/csbackup/"
install -m 0644 "$src/contrib/csb.bash" "$destdir$prefix/share/bash-completion/completions/csb"
install -m 0644 "$src/README.md" "$src/contrib/prometheus/alerts.yml" "$destdir$docdir/"
echo "installed csbackup under ${destdir:-/}$prefix (configuration examples in $sysconfdir/csbackup)"
