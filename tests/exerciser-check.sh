#!/bin/sh
# exerciser-check.sh - make check's run of the exerciser: a few seconds on
# each of a few seeds and configurations, reported as TAP.  Of the
# arguments tests/run-test.sh passes (--tap -k), --tap makes the exit
# status 0 (the TAP lines carry the result); the rest are ignored.
#
# Environment: EXERCISER (the program; default tests/exerciser next to the
# build), EXERCISER_SECONDS (per run, default 5), EXERCISER_ARGS (added to
# every run), and REMAPFS, RFS_TEST_BASE as for the other mount tests.
# Six runs of 5 s: about 35 s in all; a hang in the file system fails its
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

echo "1..6"
run "seed 1, every operation" --seed 1
run "seed 2, pagesize 16384" --seed 2 --pagesize 16384
run "seed 3, 2 processes" --seed 3 --procs 2
run "seed 4, writes, aliases and outside writes" --seed 4 \
	--ops read,write,mread,mwrite,mixed,alias,remap,invalidate,outside=10
run "seed 5, single-threaded daemon" --seed 5 --daemon-arg -s
if "${REMAPFS:-remapfs}" --help 2>&1 | grep -q 'o watch'; then
	run "seed 6, -o watch and outside writes" --seed 6 --watch \
		--ops read,mread,write,mwrite,alias,remap,outside=10
else
	skip "seed 6, -o watch" "the daemon has no -o watch"
fi
# Under the TAP driver the "not ok" lines say it all; by hand, the status.
if $tap; then
	exit 0
fi
exit $failed
