#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# exerciser-soak.sh - the long run of the exerciser before a release: a
# million operations on each of seeds 1..5 with one process, two and
# four processes sharing the backing file (OPS in all, split between
# them), two processes with 16 KiB pages and with -o watch; then a
# single-threaded daemon and 4 MiB files.  Stops at the first failure,
# whose report ends with the command that reproduces it.  About 4 to 7
# minutes per million operations.
#
# usage: tests/exerciser-soak.sh [OPS]      (default 1000000)
# Environment: REMAPFS (default ./src/remapfs), EXERCISER (default
# ./tests/exerciser), and RFS_TEST_BASE/TMPDIR for the mounts.
ops=${1:-1000000}
ex=${EXERCISER:-./tests/exerciser}
REMAPFS=${REMAPFS:-$(pwd)/src/remapfs}
export REMAPFS

# soak PROCS ARGS...: one run of OPS operations split between PROCS
# processes; exits on failure.
soak() {
	procs=$1
	shift
	n=$((ops / procs))
	echo "== exerciser --ops-count $n --procs $procs $*"
	if ! "$ex" --ops-count "$n" --procs "$procs" --stall 120 "$@"; then
		echo "exerciser-soak: FAILED: exerciser --ops-count $n --procs $procs $*"
		exit 1
	fi
}

for seed in 1 2 3 4 5; do
	soak 1 --seed "$seed"
	soak 2 --seed "$seed"
	soak 4 --seed "$seed"
	soak 2 --seed "$seed" --pagesize 16384
	soak 2 --seed "$seed" --watch
done
soak 1 --seed 9 --daemon-arg -s
soak 1 --seed 10 --size 4M --check-every 10000
echo "exerciser-soak: all passed"
