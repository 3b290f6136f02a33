#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# debian-check.sh - builds the Debian packages from a clone of HEAD
# (dpkg-buildpackage -us -uc -b), checks them with lintian, installs them,
# uses what they installed (the daemon mounts, remapctl drives it, a
# program links libremapfs through pkg-config), and purges them again.
# Needs root.  Prints "debian: ok" or "debian: FAILED: why"; exit status 0
# or 1.  .ci/run runs it.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD
fail() {
	echo "debian: FAILED: $*"
	exit 1
}
need=(debhelper dh-autoreconf fakeroot lintian)
missing=()
for p in "${need[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null ||
		fail "cannot install ${missing[*]}"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/remapfs-deb.XXXXXX")
mnt=
cleanup() {
	[ -n "$mnt" ] && { fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -uz "$mnt" 2>/dev/null; }
	dpkg -P remapfs libremapfs-dev libremapfs0 >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
git clone -q "$top" "$work/remapfs" || fail "git clone"
(cd "$work/remapfs" && dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) ||
	{ tail -n 30 "$work/build.log"; fail "dpkg-buildpackage"; }
debs=("$work"/remapfs_*.deb "$work"/libremapfs0_*.deb "$work"/libremapfs-dev_*.deb)
# lintian: nothing but the maintainer address, which the project has yet
# to choose (the preload module's tags are overridden with the reason).
tags=$(lintian "${debs[@]}" 2>&1 | grep -E '^[EW]:' | grep -v -e bogus-mail-host)
[ -z "$tags" ] || { echo "$tags"; fail "lintian"; }
dpkg -i "${debs[@]}" >"$work/install.log" 2>&1 || { cat "$work/install.log"; fail "dpkg -i"; }
remapctl --version >/dev/null || fail "remapctl does not run"
mkdir -p "$work/src" "$work/mnt"
echo hello >"$work/src/f"
remapfs "$work/src" "$work/mnt" 2>/dev/null || fail "the installed remapfs does not mount"
mnt=$work/mnt
remapctl create "$mnt/v" "$mnt/f" || fail "remapctl create"
[ "$(head -c 5 "$mnt/v")" = hello ] || fail "the view does not show its backing file"
printf '#include <remapfs.h>\nint main(void) { size_t p; return remapfs_pagesize(0, &p) < 0 ? 0 : 1; }\n' >"$work/t.c"
# shellcheck disable=SC2046
gcc "$work/t.c" $(pkg-config --cflags --libs remapfs) -o "$work/t" && "$work/t" ||
	fail "a program does not build against libremapfs-dev"
[ -f /usr/lib/systemd/system/remapfs@.service ] || fail "no systemd unit"
man -w remapfs remapctl libremapfs >/dev/null || fail "man pages missing"
echo "debian: ok"
