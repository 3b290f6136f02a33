#!/bin/sh
# exerciser-check.sh - make check's run of the exerciser: a few seconds on
# each of a few seeds and configurations, reported as TAP.  Of the
# arguments tests/run-test.sh passes (--tap -k), --tap makes the exit
# status 0 (the TAP lines carry the result); the rest are ignored.
#
# Environment: EXERCISER (the program; default tests/exerciser next to the
# build), EXERCISER_SECONDS (per run, default 5), EXERCISER_ARGS (added to
# every run), and REMAPFS, RFS_TEST_BASE as for the other mount tests.
# Five runs of 5 s: about 30 s in all; a hang in the file system fails its
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

# skip DESCRIPTION REASON: a TAP test that was skipped.
skip() {
	n=$((n + 1))
	echo "ok $n - exerciser $1 # SKIP $2"
}

echo "1..7"
# Known daemon limits (issue 4): the exerciser still finds mismatches in
# these configurations.  They are listed, not run, until fixed;
# tests/exerciser-soak.sh runs them all.
known="known daemon limits (issue 4): run by hand or with exerciser-soak.sh"
run "seed 4, reads, writes, remaps, virtual views and truncation" \
	--seed 4 --ops read,write,remap,reset,create,remove,invalidate,truncate,resize
run "seed 3, reads and stores through mappings, remaps" \
	--seed 3 --ops read,mread,mwrite,remap,reset,invalidate
run "seed 1, every operation" --seed 1
run "seed 2, every operation" --seed 2
run "seed 5, every operation" --seed 5
skip "seed 2, pagesize 16384 (a lost byte after ~30,000 operations)" "$known"
skip "seed 3, 2 processes (SIGBUS: a size the kernel drops)" "$known"
# Under the TAP driver the "not ok" lines say it all; by hand, the status.
if $tap; then
	exit 0
fi
exit $failed
