#!/usr/bin/env bash
# Installs the Debian packages csbackup builds and runs with, skipping those present.
# Runs apt-get as root, or through sudo. Used by `make` before every build.
# chromium (the status page's browser test) and prometheus (its promtool checks the alert
# rules) serve the operations tests; jq runs the help's stand-ins for PowerShell's
# Where-Object in the doc tests; libsystemd-dev gives the daemons sd_notify().
set -euo pipefail
pkgs=(bazel-bootstrap build-essential liblmdb-dev lmdb-utils libnng-dev libmbedtls-dev
      libprotobuf-c-dev protobuf-c-compiler libcmocka-dev libxxhash-dev libjansson-dev
      libzip-dev libzstd-dev openssl rsync redis-server redis-tools
      chromium fonts-dejavu-core prometheus libsystemd-dev jq
      iproute2                      # tests/netns_test, bench two sites: namespaces, veth, tc
      clang libclang-rt-14-dev)     # fuzz/: libFuzzer with ASan and UBSan
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
