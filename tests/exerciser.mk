# SPDX-License-Identifier: GPL-2.0-or-later
# The exerciser (issue 4): a seeded random model checker of remapfs.
# make check runs it briefly through tests/exerciser-check.sh (TAP); the
# long soak before releases is in README.md.
check_PROGRAMS += tests/exerciser
tests_exerciser_SOURCES = tests/exerciser.c tests/exerciser-ops.c \
	tests/exerciser.h tests/mount-helper.c tests/mount-helper.h
tests_exerciser_LDADD = src/librfscore.la $(GLIB_LIBS)
TESTS += tests/exerciser-check.sh
EXTRA_DIST += tests/exerciser-check.sh tests/exerciser-soak.sh
