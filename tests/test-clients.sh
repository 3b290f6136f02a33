#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-clients.sh - real clients from Debian on a mount, as users run them:
# fio writes and verifies through mmap on an identity view and on a view
# whose pages are reversed, and through pwrite/pread (psync) with two jobs
# at once on the reversed view; LMDB (python3-lmdb, /usr/bin/python3) from two processes
# at once, then read back after a remount.  A client that is not
# installed is a skip.  TAP.
set -u
REMAPFS=${REMAPFS:-$(pwd)/src/remapfs}
tmp=$(mktemp -d "${RFS_TEST_BASE:-${TMPDIR:-/tmp}}/clients-XXXXXX")
pid=
mounted() { grep -q " $tmp/mnt fuse" /proc/self/mounts; }
unmount() {
	if mounted; then
		fusermount3 -u "$tmp/mnt" 2>/dev/null || fusermount3 -uz "$tmp/mnt"
	fi
	if [ -n "$pid" ]; then
		for _ in $(seq 1 250); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	pid=
}
mount_it() {
	"$REMAPFS" -f "$@" "$tmp/src" "$tmp/mnt" 2>>"$tmp/log" &
	pid=$!
	for _ in $(seq 1 250); do mounted && return 0; sleep 0.02; done
	echo "# the mount did not come up:"; sed 's/^/#   /' "$tmp/log"
	return 1
}
trap 'unmount; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src" "$tmp/mnt"
echo "1..5"
n=0
result() { # result OK NAME [OUTPUT FILE]
	n=$((n + 1))
	if [ "$1" = ok ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && tail -n 30 "$3" | sed 's/^/# /'
	fi
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

mount_it || { for t in 1 2 3 4 5; do echo "not ok $t - mount"; done; exit 1; }

# A 32 MiB file whose view shows its pages in reverse order.
pages=8192
head -c $((pages * 4096)) /dev/zero > "$tmp/src/rev"
{
	echo begin
	for ((v = 0; v < pages; v++)); do echo "remap rev $v $((pages - 1 - v))"; done
	echo commit
} > "$tmp/map"
if ! cat "$tmp/map" > "$tmp/mnt/.control"; then
	echo "# the reversing transaction failed"
fi

fio_case() { # fio_case NAME FILE ENGINE JOBS: JOBS on slices of FILE
	(cd "$tmp" && fio --name="$1" --filename="$2" --bs=4k --rw=randwrite \
		--ioengine="$3" --numjobs="$4" --size=$((32 / $4))M \
		--offset_increment=$((32 / $4))M \
		--verify=crc32c --verify_fatal=1 --do_verify=1 --verify_state_save=0 \
		--randrepeat=1 --group_reporting) >"$tmp/fio.log" 2>&1
}
if command -v fio >/dev/null; then
	head -c $((pages * 4096)) /dev/zero > "$tmp/src/id"
	# (fio's mmap engine mishandles offset_increment: one job there.)
	if fio_case mmap-identity "$tmp/mnt/id" mmap 1; then r=ok; else r=fail; fi
	result $r "fio verifies through mmap on an identity view" "$tmp/fio.log"
	if fio_case mmap-reversed "$tmp/mnt/rev" mmap 1; then r=ok; else r=fail; fi
	result $r "fio verifies through mmap on a reversed view" "$tmp/fio.log"
	if fio_case psync-reversed "$tmp/mnt/rev" psync 2; then r=ok; else r=fail; fi
	result $r "fio verifies through pwrite and pread on a reversed view, 2 jobs" "$tmp/fio.log"
else
	for c in "mmap on an identity view" "mmap on a reversed view" \
		"pwrite and pread on a reversed view, 2 jobs"; do
		skip "fio verifies through $c" "fio is not installed"
	done
fi

py=/usr/bin/python3
if [ -x "$py" ] && "$py" -c 'import lmdb' 2>/dev/null; then
	mkdir -p "$tmp/src/db"
	cat > "$tmp/writer.py" <<'EOF'
import lmdb, sys
path, who, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
env = lmdb.open(path, map_size=64 << 20, writemap=True, max_readers=8)
for i in range(count):
    with env.begin(write=True) as txn:
        txn.put(b'%d-%06d' % (who, i), (b'%d:%d:' % (who, i)) * 50)
    if i % 97 == 0:
        with env.begin() as txn:
            for j in range(0, i + 1, 13):
                v = txn.get(b'%d-%06d' % (who, j))
                assert v == (b'%d:%d:' % (who, j)) * 50, (who, j, v)
env.close()
EOF
	"$py" "$tmp/writer.py" "$tmp/mnt/db" 1 1500 >"$tmp/lmdb1.log" 2>&1 &
	a=$!
	"$py" "$tmp/writer.py" "$tmp/mnt/db" 2 1500 >"$tmp/lmdb2.log" 2>&1
	s2=$?
	wait $a; s1=$?
	if [ $s1 = 0 ] && [ $s2 = 0 ]; then r=ok; else r=fail; cat "$tmp/lmdb2.log" >>"$tmp/lmdb1.log"; fi
	result $r "LMDB from two processes at once (writemap), every value read back" "$tmp/lmdb1.log"
	unmount
	mount_it
	"$py" - "$tmp/mnt/db" >"$tmp/lmdb3.log" 2>&1 <<'EOF'
import lmdb, sys
env = lmdb.open(sys.argv[1], readonly=True, lock=False)
with env.begin() as txn:
    n = 0
    for k, v in txn.cursor():
        who, i = k.split(b'-')
        assert v == (b'%s:%d:' % (who, int(i))) * 50, k
        n += 1
assert n == 3000, n
EOF
	if [ $? = 0 ]; then r=ok; else r=fail; fi
	result $r "LMDB's 3000 values are all there after a remount" "$tmp/lmdb3.log"
else
	skip "LMDB from two processes at once (writemap), every value read back" "python3-lmdb is not installed"
	skip "LMDB's 3000 values are all there after a remount" "python3-lmdb is not installed"
fi
