# SPDX-License-Identifier: GPL-2.0-or-later
# The benchmark (issue 3): remapfs-bench mounts remapfs on a SOURCE of its
# own and measures it against raw files and remap_file_pages(2).
# `make bench` runs the full benchmark; BENCH_FLAGS=--quick for a fast run.
bin_PROGRAMS += bench/remapfs-bench
bench_remapfs_bench_SOURCES = bench/remapfs-bench.c bench/bench.h \
	bench/env.c bench/report.c bench/run.h bench/common.c \
	bench/reads.c bench/remaps.c bench/writes.c
bench_remapfs_bench_CFLAGS = $(AM_CFLAGS) -pthread
bench_remapfs_bench_LDADD = src/lib/libremapfs-pure.la src/librfscore.la \
	$(GLIB_LIBS) -lm
bench_remapfs_bench_LDFLAGS = -pthread
dist_man_MANS += man/remapfs-bench.1
EXTRA_DIST += bench/txn-stall.py bench/restart-latency.py

BENCH_FLAGS =
bench: bench/remapfs-bench$(EXEEXT) src/remapfs$(EXEEXT)
	$(builddir)/bench/remapfs-bench --remapfs $(abs_top_builddir)/src/remapfs $(BENCH_FLAGS)
.PHONY: bench
