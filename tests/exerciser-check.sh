#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# exerciser-check.sh - make check's run of the exerciser: a few seconds on
# each of a few seeds and configurations, reported as TAP.  Of the
# arguments tests/run-test.sh passes (--tap -k), --tap makes the exit
# status 0 (the TAP lines carry the result); the rest are ignored.
#
# Environment: EXERCISER (the program; default tests/exerciser next to the
# build), EXERCISER_SECONDS (per run, default 5), EXERCISER_ARGS (added to
# every run), and REMAPFS, RFS_TEST_BASE as for the other mount tests.
# Thirteen runs of 5 s: about 70 s in all; a hang in the file system fails its
# run after 15 s without progress (--stall).

ex=${EXERCISER:-}
if [ -z "$ex" ]; then
	if [ -x ./tests/exerciser ]; then
		ex=./tests/exerciser
	else
		ex=$(dirname "$0")/exerciser
	fi
fi
secs=${EXERCISER_SECONDS:-5}
n=0
failed=0
tap=false
for arg; do
	[ "$arg" = --tap ] && tap=true
done

# run DESCRIPTION ARGS...: one run of the exerciser as one TAP test.
run() {
	desc=$1
	shift
	n=$((n + 1))
	# shellcheck disable=SC2086 # EXERCISER_ARGS is a list of words
	out=$("$ex" --seconds "$secs" --stall 15 "$@" $EXERCISER_ARGS 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed 's/^/# /'
	if [ $rc -eq 0 ]; then
		echo "ok $n - exerciser $desc"
	else
		echo "not ok $n - exerciser $desc (exit status $rc)"
		failed=1
	fi
}

echo "1..13"
run "seed 4, reads, writes, remaps, virtual views and truncation" \
	--seed 4 --ops read,write,remap,reset,create,remove,invalidate,truncate,resize
run "seed 3, reads and stores through mappings, remaps" \
	--seed 3 --ops read,mread,mwrite,remap,reset,invalidate
run "seed 1, every operation" --seed 1
run "seed 2, every operation" --seed 2
run "seed 5, every operation" --seed 5
run "seed 2, pagesize 16384, every operation" --seed 2 --pagesize 16384
run "seed 10, 4 MiB files (replies of a megabyte in many pieces)" \
	--seed 10 --size 4M --check-every 10000
run "seed 8, -o watch, outside writes and truncation not followed by invalidate" \
	--seed 8 --watch
run "seed 3, 2 processes on slices of one backing file, every operation" \
	--seed 3 --procs 2
run "seed 4, 4 processes on slices of one backing file, every operation" \
	--seed 4 --procs 4
run "seed 2, -o norestart (one process, spliced writes), every operation" \
	--seed 2 --daemon-arg -o --daemon-arg norestart
run "seed 1, -o restart, the worker killed every 500 ms, every operation" \
	--seed 1 --kill-daemon 500
run "seed 3, -o restart, 2 processes, the worker killed every 500 ms" \
	--seed 3 --procs 2 --kill-daemon 500
# Under the TAP driver the "not ok" lines say it all; by hand, the status.
if $tap; then
	exit 0
fi
exit $failed
