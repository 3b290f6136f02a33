/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz.h - what the fuzz targets (tests/fuzz-*.c) and their replay
 * driver (tests/fuzz-replay.c) share. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* The libFuzzer entry point each target defines: one input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts, for the fuzzer to report, unless cond holds. */
static inline void check(int cond)
{
	if (!cond)
		abort();
}
