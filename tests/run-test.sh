#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs one GTest program in TAP mode with its own temporary directory for
# mounts; afterwards unmounts whatever it left there and kills its daemons,
# even when it crashed.
base=$(mktemp -d "${TMPDIR:-/tmp}/remapfs-test.XXXXXX") || exit 99
chmod 755 "$base" # tests act as other users too
RFS_TEST_BASE=$base
export RFS_TEST_BASE
"$@" --tap -k
rc=$?
for mp in $(awk -v b="$base/" 'index($2, b) == 1 { print $2 }' /proc/self/mounts); do
	echo "# $1 left $mp mounted: unmounting it" >&2
	fusermount3 -u "$mp" 2>/dev/null || fusermount3 -uz "$mp" 2>/dev/null
done
if command -v pkill >/dev/null 2>&1; then
	pkill -KILL -f -- "$base/" 2>/dev/null
fi
rm -rf "$base"
exit $rc
