#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Prints "N passed, N failed, N skipped" over the TAP results of make check
# (every test case counts, from automake's .trs files in the given folders;
# default: tests).
[ $# -gt 0 ] || set -- tests
pass=0 fail=0 skip=0
for dir in "$@"; do
	for trs in "$dir"/*.trs; do
		[ -f "$trs" ] || continue
		p=$(grep -c '^:test-result: PASS' "$trs" || true)
		f=$(grep -c -E '^:test-result: (FAIL|XPASS|ERROR)' "$trs" || true)
		s=$(grep -c -E '^:test-result: (SKIP|XFAIL)' "$trs" || true)
		pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	done
done
if [ $((pass + fail)) -eq 0 ]; then
	fail=1 # nothing ran: that is a failure
fi
echo "$pass passed, $fail failed, $skip skipped"
