/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-replay.c - runs a libFuzzer target (linked with it) over every file
 * of a corpus directory, as a GTest program for make check: the inputs the
 * fuzzer found keep being checked without the fuzzer (make fuzz). */
#include "fuzz.h"

#include <glib.h>
#include <stdint.h>
#include <stdio.h>

static void test_corpus_replays_clean(gconstpointer data)
{
	const char *dir = data;
	GError *err = NULL;
	GDir *d = g_dir_open(dir, 0, &err);
	if (!d)
		g_printerr("corpus %s: %s\n", dir, err->message);
	g_assert_nonnull(d);
	unsigned n = 0;
	const char *name;
	while (d && (name = g_dir_read_name(d))) {
		char *path = g_build_filename(dir, name, NULL);
		char *bytes = NULL;
		gsize len = 0;
		if (g_file_get_contents(path, &bytes, &len, NULL)) {
			LLVMFuzzerTestOneInput((const uint8_t *)bytes, len);
			n++;
		}
		g_free(bytes);
		g_free(path);
	}
	if (d)
		g_dir_close(d);
	g_test_message("%u inputs of %s replayed", n, dir);
	g_assert_cmpuint(n, >, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	char *path =
	    g_strdup_printf("/fuzz/%s/corpus-replays-clean", FUZZ_NAME);
	g_test_add_data_func(path, FUZZ_CORPUS, test_corpus_replays_clean);
	int rc = g_test_run();
	g_free(path);
	return rc;
}
