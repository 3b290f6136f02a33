#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# test-writes with every daemon in one process (-o norestart), the mode that
# splices write requests in and saves namespace changes after answering.
RFS_TEST_DAEMON_ARGS="-o norestart"
export RFS_TEST_DAEMON_ARGS
# The program is in the build tree (make check runs from its top).
prog=tests/test-writes
[ -x "$prog" ] || prog="$(dirname "$0")/test-writes"
exec "$prog" "$@"
