#!/usr/bin/env bash
# Builds the Debian package of csbackup with dpkg-deb: `deb.sh OUTDIR CSB CSB_AGENT
# CSB_COORDINATOR` writes OUTDIR/csbackup_<version>_<arch>.deb and prints its path. The
# files are install.sh's with PREFIX=/usr; Depends lists the packages of the shared
# libraries the binaries link (found with ldd and dpkg -S) and a package with
# systemd-sysusers; the maintainer scripts create the csbackup user with it (a failure
# fails the installation: the units cannot run without the user) and reload systemd. Used
# by `make deb` and by //tests:install_test.
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: $0 OUTDIR CSB CSB_AGENT CSB_COORDINATOR" >&2; exit 2; }
out=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
version=$(sed -n 's/^#define CSB_VERSION "\(.*\)"$/\1/p' "$here/../common/version.h")
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

"$here/install.sh" "$stage/root" /usr /etc "$2" "$3" "$4" >/dev/null
# The packages of the libraries the binaries link directly (NEEDED), not of theirs.
depends=$(for bin in "$2" "$3" "$4"; do
		ldd "$bin" | awk -v needed="$(objdump -p "$bin" | awk '/NEEDED/{print $2}')" '
			BEGIN { n = split(needed, l, "\n"); for (i = 1; i <= n; i++) want[l[i]] = 1 }
			$1 in want && $2 == "=>" { print $3 }'
	done | sort -u |
	while read -r lib; do dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib"; done |
	cut -d: -f1 | sort -u | paste -sd, - | sed 's/,/, /g')
mkdir -p "$stage/root/DEBIAN"
cat >"$stage/root/DEBIAN/control" <<CONTROL
Package: csbackup
Version: $version
Architecture: $arch
Maintainer: csbackup developers <csbackup@localhost>
Section: admin
Priority: optional
Depends: $depends, systemd | systemd-standalone-sysusers
Installed-Size: $(du -sk "$stage/root" | cut -f1)
Description: pool-pairing backup service for Skype for Business / Lync pools
 csb-agent (one per pool) replicates the pool's data to its backup pool over
 mutual TLS; csb-coordinator holds the topology, configuration and pool states
 and serves a status page and Prometheus metrics; csb is the administrator's
 command line. systemd units: csb-coordinator.service, csb-agent@<pool>.service.
CONTROL
cat >"$stage/root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
	systemd-sysusers csbackup.conf
	if ! getent passwd csbackup >/dev/null; then
		echo "csbackup: systemd-sysusers did not create the csbackup user" >&2
		exit 1
	fi
	if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
fi
POSTINST
cat >"$stage/root/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
POSTRM
chmod 0755 "$stage/root/DEBIAN/postinst" "$stage/root/DEBIAN/postrm"
mkdir -p "$out"
deb="$out/csbackup_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$stage/root" "$deb" >/dev/null
echo "$deb"
