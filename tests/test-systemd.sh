#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# test-systemd.sh - the systemd template unit (contrib/systemd): systemd
# accepts it (systemd-analyze verify, where installed), and its ExecStart
# line, run as systemd runs it, mounts, keeps the state, and stops on
# SIGTERM with exit status 0.  TAP.
set -u
unit=contrib/systemd/remapfs@.service
REMAPFS=${REMAPFS:-$(pwd)/src/remapfs}
tmp=$(mktemp -d "${RFS_TEST_BASE:-${TMPDIR:-/tmp}}/systemd-XXXXXX")
pid=
cleanup() {
	if grep -q " $tmp/mnt " /proc/self/mounts 2>/dev/null; then
		fusermount3 -u "$tmp/mnt" 2>/dev/null || fusermount3 -uz "$tmp/mnt"
	fi
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
echo "1..2"

# 1: systemd's own check of an instance, ExecStart naming the daemon built.
inst="$tmp/remapfs@$(echo "$tmp/mnt" | sed 's|^/||; s|-|\\x2d|g; s|/|-|g').service"
sed "s|^ExecStart=[^ ]*remapfs |ExecStart=$REMAPFS |" "$unit" > "$inst"
if ! command -v systemd-analyze >/dev/null; then
	echo "ok 1 - systemd-analyze verify accepts the unit # SKIP systemd-analyze is not installed"
elif out=$(systemd-analyze verify --man=no "$inst" 2>&1) && [ -z "$out" ]; then
	echo "ok 1 - systemd-analyze verify accepts the unit"
else
	echo "not ok 1 - systemd-analyze verify accepts the unit"
	echo "$out" | sed 's/^/# /'
fi

# 2: ExecStart as systemd runs it: EnvironmentFile's SOURCE and OPTIONS
# (OPTIONS split into words, SOURCE one word), %f the mount point.
mkdir -p "$tmp/src" "$tmp/mnt" "$tmp/state"
head -c 8192 /dev/zero > "$tmp/src/f"
line=$(sed -n 's/^ExecStart=//p' "$unit")
SOURCE=$tmp/src
OPTIONS="-o pagesize=4096,attr_timeout=1"
cmd=$(printf '%s\n' "$line" | sed -e "s|^[^ ]*/remapfs |$REMAPFS |" \
	-e "s|/var/lib/remapfs/%i.state|$tmp/state/x.state|" \
	-e "s|\\\${SOURCE}|$SOURCE|" -e "s|\\\$OPTIONS|$OPTIONS|" \
	-e "s|%f|$tmp/mnt|")
# shellcheck disable=SC2086
$cmd 2>"$tmp/log" &
pid=$!
for i in $(seq 1 200); do
	grep -q " $tmp/mnt fuse" /proc/self/mounts && break
	sleep 0.02
done
ok=true
echo "create v f 1" > "$tmp/mnt/.control" || ok=false
kill -TERM "$pid"
wait "$pid"; status=$?
pid=
grep -q " $tmp/mnt fuse" /proc/self/mounts && ok=false
grep -q "create v f" "$tmp/state/x.state" 2>/dev/null || ok=false
if $ok && [ "$status" = 0 ]; then
	echo "ok 2 - ExecStart mounts, keeps the state and stops on SIGTERM"
else
	echo "not ok 2 - ExecStart mounts, keeps the state and stops on SIGTERM"
	echo "# command: $cmd; exit status $status (expected 0)"
	sed 's/^/# /' "$tmp/log"
fi
