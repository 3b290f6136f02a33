/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-bulk.c - transactions that create and remove views by the
 * thousand: the view sets change off the lock and take effect at once
 * (viewsets.h); what the namespace, lookups and the state dump show after
 * is exactly what the transactions said, also for changes made one by
 * one through the mount afterwards. */
#include "mount-helper.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* More than the commands a transaction applies under the lock, and
 * more than RFS_VIEWSETS_MIN views changed in each. */
#define MANY 10000
#define GONE 5000 /* removed by the second transaction */

typedef struct {
	struct rfs_test_mount *m;
} Fixture;

static void fx_setup(Fixture *f, gconstpointer data)
{
	(void)data;
	f->m = rfs_test_prepare();
	char *b = rfs_src(f->m, "b"), *g = rfs_src(f->m, "g");
	g_assert_true(g_file_set_contents(b, "b", 1, NULL));
	g_assert_true(g_file_set_contents(g, "gg", 2, NULL));
	g_free(b);
	g_free(g);
	if (!rfs_test_start(f->m, NULL))
		g_error("mount failed");
}

static void fx_teardown(Fixture *f, gconstpointer data)
{
	(void)data;
	rfs_test_free(f->m);
}

/* Sends text as one transaction, in writes of at most 256 KiB between
 * begin and commit; returns 0 or the errno of the failing write or close. */
static int bulk(Fixture *f, const GString *body)
{
	int fd = open(f->m->control, O_WRONLY);
	g_assert_cmpint(fd, >=, 0);
	int err = write(fd, "begin\n", 6) == 6 ? 0 : errno;
	for (size_t off = 0; !err && off < body->len;) {
		size_t chunk = MIN((size_t)256 << 10, body->len - off);
		ssize_t res = write(fd, body->str + off, chunk);
		if (res < 0)
			err = errno;
		else
			off += (size_t)res;
	}
	if (!err && write(fd, "commit\n", 7) != 7)
		err = errno;
	if (close(fd) < 0 && !err)
		err = errno;
	return err;
}

/* How many entries of the mount's root are named v<number>. */
static unsigned count_listed(Fixture *f)
{
	DIR *d = opendir(f->m->mnt);
	g_assert_nonnull(d);
	unsigned n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += de->d_name[0] == 'v' && g_ascii_isdigit(de->d_name[1]);
	closedir(d);
	return n;
}

/* How many "create v" lines the state dump has. */
static unsigned count_dumped(Fixture *f)
{
	char *dump = rfs_dump(f->m);
	unsigned n = 0;
	size_t len = strlen(dump);
	for (const char *l = dump; l < dump + len;) {
		const char *nl = memchr(l, '\n', (size_t)(dump + len - l));
		n += strncmp(l, "create v", 8) == 0;
		l = nl ? nl + 1 : dump + len;
	}
	g_free(dump);
	return n;
}

/* The size of MNT/v<i>, or -1 when it does not exist. */
static off_t view_size(Fixture *f, unsigned i)
{
	char name[32];
	snprintf(name, sizeof(name), "v%u", i);
	char *p = rfs_mnt(f->m, name);
	struct stat st;
	off_t size = stat(p, &st) == 0 ? st.st_size : -1;
	g_free(p);
	return size;
}

static void expect_counts(Fixture *f, unsigned listed, unsigned dumped)
{
	unsigned have_listed = count_listed(f), have_dumped = count_dumped(f);
	if (have_listed != listed || have_dumped != dumped)
		g_printerr("expected %u views listed and %u dumped, found %u "
			   "and %u\n",
			   listed, dumped, have_listed, have_dumped);
	g_assert_cmpuint(have_listed, ==, listed);
	g_assert_cmpuint(have_dumped, ==, dumped);
}

static void
test_thousands_created_and_removed_in_one_transaction(Fixture *f,
						      gconstpointer d)
{
	(void)d;
	const off_t ps = (off_t)sysconf(_SC_PAGESIZE);
	GString *body = g_string_new(NULL);
	for (unsigned i = 0; i < MANY; i++)
		g_string_append_printf(body, "create v%u b 1\n", i);
	g_assert_cmpint(bulk(f, body), ==, 0);
	expect_counts(f, MANY, MANY);
	g_assert_cmpint(view_size(f, 0), ==, ps);
	g_assert_cmpint(view_size(f, MANY - 1), ==, ps);

	/* Remove GONE and make 100 of those names again over g, 2 pages. */
	g_string_truncate(body, 0);
	for (unsigned i = 0; i < GONE; i++)
		g_string_append_printf(body, "remove v%u\n", i);
	for (unsigned i = 0; i < 100; i++)
		g_string_append_printf(body, "create v%u g 2\n", i);
	g_assert_cmpint(bulk(f, body), ==, 0);
	unsigned left = MANY - GONE + 100;
	expect_counts(f, left, left);
	g_assert_cmpint(view_size(f, 0), ==, 2 * ps);
	g_assert_cmpint(view_size(f, 99), ==, 2 * ps);
	g_assert_cmpint(view_size(f, 100), ==, -1);
	g_assert_cmpint(view_size(f, GONE - 1), ==, -1);
	g_assert_cmpint(view_size(f, GONE), ==, ps);

	/* One by one through the mount after the swaps. */
	char *last = rfs_mnt(f->m, "v9999"), *moved = rfs_mnt(f->m, "v19999");
	g_assert_cmpint(unlink(last), ==, 0);
	char *first = rfs_mnt(f->m, "v5000");
	g_assert_cmpint(rename(first, moved), ==, 0);
	left--;
	expect_counts(f, left, left);
	g_assert_cmpint(view_size(f, 19999), ==, ps);
	g_assert_cmpint(view_size(f, GONE), ==, -1);

	/* A large transaction naming a view removed meanwhile fails whole. */
	g_string_truncate(body, 0);
	for (unsigned i = GONE + 1; i < MANY - 1; i++)
		g_string_append_printf(body, "remove v%u\n", i);
	for (unsigned i = 0; i < 3000; i++)
		g_string_append_printf(body, "create w%u b 1\n", i);
	g_string_append(body, "remove v9999\n");
	g_assert_cmpint(bulk(f, body), ==, ENOENT);
	expect_counts(f, left, left);
	g_free(last);
	g_free(moved);
	g_free(first);
	g_string_free(body, TRUE);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	rfs_test_watchdog(300, "test-bulk");
	g_test_add("/bulk/thousands-created-and-removed-in-one-transaction",
		   Fixture, NULL, fx_setup,
		   test_thousands_created_and_removed_in_one_transaction,
		   fx_teardown);
	return g_test_run();
}
