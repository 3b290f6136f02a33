#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# remapfs quick start, as root on a fresh Debian 12 machine:
#   bash contrib/quickstart.sh         install, build, and run the demo
#   bash contrib/quickstart.sh check   install, build, and run every test
# Ends the check with a line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
mode=${1:-demo}
case $mode in demo|check) ;; *) echo "usage: $0 [demo|check]" >&2; exit 2 ;; esac

deps=(build-essential autoconf automake libtool pkg-config libfuse3-dev fuse3
      libglib2.0-dev sqlite3 procps rsync zsh chromium bindfs fio python3-lmdb)
install_deps() {
	local missing=()
	for p in "${deps[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		echo "quickstart: please install: ${missing[*]}" >&2
		exit 1
	fi
	echo "== installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${missing[@]}" >/dev/null
}

build() {
	echo "== building"
	[ -x configure ] || ./autogen.sh >/dev/null 2>&1
	[ -f Makefile ] || ./configure -q
	make -s -j"$(nproc)" all >/dev/null
}

dir= mnt= src= pid=
demo() {
	dir=$(mktemp -d /tmp/remapfs-demo.XXXXXX)
	src=$dir/source mnt=$dir/mnt
	mkdir "$src" "$mnt"
	cleanup() {
		if mountpoint -q "$mnt" 2>/dev/null; then
			fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -uz "$mnt"
		fi
		if [ -n "$pid" ]; then wait "$pid" 2>/dev/null || true; fi
		rm -rf "$dir"
	}
	trap cleanup EXIT
	# A file of 8 pages: page N is filled with the letter A+N.
	local ps; ps=$(getconf PAGESIZE)
	for l in A B C D E F G H; do head -c "$ps" /dev/zero | tr '\0' "$l"; done > "$src/letters"
	echo "== mounting $src on $mnt"
	src/remapfs -f "$src" "$mnt" 2>"$dir/daemon.log" & pid=$!
	for _ in $(seq 100); do mountpoint -q "$mnt" && break; sleep 0.1; done
	mountpoint -q "$mnt" || { echo "quickstart: the mount did not come up" >&2; exit 1; }
	echo "== one program keeps $mnt/letters mapped while .control is written"
	contrib/mmap-demo "$mnt/letters" "$mnt/.control" \
		"remap letters 0 7" \
		"remap letters 1 6 2" \
		"create ring letters 8" \
		"reset letters"
	echo "== a virtual view whose second half shows its first half"
	echo "remap ring 4 0 4" > "$mnt/.control"
	contrib/mmap-demo "$mnt/ring" "$mnt/.control" "remap ring 1 7"
	echo "== the state, read back from $mnt/.control"
	cat "$mnt/.control"
	echo "== a bad command: nothing changes, and the reason is given"
	contrib/mmap-demo "$mnt/letters" "$mnt/.control" "remap letters 99 0" || true
	echo "== unmounting"
	fusermount3 -u "$mnt"
	wait "$pid"; pid=
	echo "done: see README.md, remapfs(1) and remapfs-control(5)"
}

check() {
	echo "== running the tests (make check)"
	local rc=0
	make -j"$(nproc)" check >"$top/check.log" 2>&1 || rc=$?
	grep -E '^(PASS|FAIL|ERROR|XPASS|SKIP):' "$top/check.log" | sed 's/^/  /' || true
	if [ $rc -ne 0 ]; then
		for f in tests/*.log; do
			[ -f "$f" ] && grep -q -E '^(not ok|Bail out)' "$f" && { echo "---- $f"; tail -n 60 "$f"; }
		done
	fi
	bash contrib/ci-summary.sh tests
	return $rc
}

install_deps
build
"$mode"
