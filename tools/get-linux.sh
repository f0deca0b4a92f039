#!/usr/bin/env bash
# Fetch Debian's arm64 cloud kernel (an arm64 `Image`, vmlinuz) into tmp/linux/boot/ for the tests
# that boot real Linux as a guest VM. Uses a private apt state directory, so the machine's apt setup
# (its architectures, its lists) is left alone. Needs apt-get and dpkg-deb, and the Debian mirror.
set -euo pipefail
cd "$(dirname "$0")/.."
if ls tmp/linux/boot/vmlinuz-*-arm64 >/dev/null 2>&1; then exit 0; fi
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
opts=(-o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache" -o "APT::Architectures::=arm64" -o "APT::Sandbox::User=root" -q)
apt-get "${opts[@]}" update >/dev/null
# The metapackage names the current versioned kernel package.
pkg=$(apt-cache "${opts[@]}" depends linux-image-cloud-arm64:arm64 | sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*\).*/\1/p' | head -1)
[ -n "$pkg" ] || { echo "get-linux: no linux-image-cloud-arm64 in the arm64 lists" >&2; exit 1; }
(cd "$state" && apt-get "${opts[@]}" download "$pkg:arm64" >/dev/null)
mkdir -p tmp/linux
dpkg-deb -x "$state"/linux-image-*.deb tmp/linux
ls tmp/linux/boot/vmlinuz-*-arm64
