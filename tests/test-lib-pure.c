/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-lib-pure.c - unit tests of the pure parts of libremapfs: parsing
 * /proc lines, placing paths in mounts, remap_file_pages() arithmetic,
 * view maps from state dumps, aliasing, state replacement, show's table.
 * No mount. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "lib/picture.h"
#include "lib/plan.h"
#include "lib/statstext.h"
#include "lib/procparse.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

/* Parses a maps line given as a C string. */
static int maps(const char *line, struct rfsl_vma *v)
{
	return rfsl_parse_maps_line(line, strlen(line), v);
}

static void test_maps_line_file_mapping(void)
{
	struct rfsl_vma v;
	g_assert_cmpint(maps("7f0bb934e000-7f0bb9350000 rw-s 00003000 00:1b "
			     "1234                       /dev/shm/a file\n",
			     &v),
			==, 0);
	g_assert_cmphex(v.start, ==, 0x7f0bb934e000);
	g_assert_cmphex(v.end, ==, 0x7f0bb9350000);
	g_assert_cmphex(v.offset, ==, 0x3000);
	g_assert_cmpuint(v.major, ==, 0);
	g_assert_cmpuint(v.minor, ==, 0x1b);
	g_assert_cmpuint(v.inode, ==, 1234);
	g_assert_true(v.readable && v.writable && !v.executable && v.shared);
	g_assert_cmpstr(v.path, ==, "/dev/shm/a file");
	rfsl_vma_clear(&v);
}

static void test_maps_line_anonymous_private_and_escapes(void)
{
	struct rfsl_vma v;
	g_assert_cmpint(maps("00400000-00452000 r-xp 00000000 fd:01 99 ", &v),
			==, 0);
	g_assert_true(v.readable && !v.writable && v.executable && !v.shared);
	g_assert_cmpuint(v.major, ==, 0xfd);
	g_assert_null(v.path);
	rfsl_vma_clear(&v);
	g_assert_cmpint(maps("1000-2000 rw-p 00000000 00:00 0 [heap]", &v), ==,
			0);
	g_assert_cmpstr(v.path, ==, "[heap]");
	rfsl_vma_clear(&v);
	g_assert_cmpint(maps("1000-2000 rw-s 0 00:2a 7 /m/new\\012line "
			     "(deleted)",
			     &v),
			==, 0);
	g_assert_cmpstr(v.path, ==, "/m/new\nline (deleted)");
	rfsl_vma_clear(&v);
}

static void test_maps_line_rejects_garbage(void)
{
	static const char *const bad[] = {
	    "",
	    "1000 rw-s 0 00:00 0",
	    "2000-1000 rw-s 0 00:00 0",
	    "1000-2000 rw- 0 00:00 0",
	    "1000-2000 rw-s zz 00:00 0",
	    "1000-2000 rw-s 0 0000 0",
	    "1000-2000 rw-s 0 00:00",
	    "1000-2000 rw-s 0 00:00 12x",
	    "10000000000000000-10000000000000001 rw-s 0 00:00 0",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		struct rfsl_vma v;
		if (maps(bad[i], &v) != EINVAL)
			g_test_fail_printf("maps line '%s': expected EINVAL",
					   bad[i]);
		rfsl_vma_clear(&v);
	}
}

static void test_mountinfo_line_with_escapes_and_optional_fields(void)
{
	struct rfsl_mountinfo m;
	const char *line = "36 35 0:52 /sub\\040dir /mnt/my\\040views rw,nosuid"
			   " shared:1 master:2 - fuse.remapfs /src rw\n";
	g_assert_cmpint(rfsl_parse_mountinfo_line(line, strlen(line), &m), ==,
			0);
	g_assert_cmpint(m.mount_id, ==, 36);
	g_assert_cmpuint(m.major, ==, 0);
	g_assert_cmpuint(m.minor, ==, 52);
	g_assert_cmpstr(m.root, ==, "/sub dir");
	g_assert_cmpstr(m.mountpoint, ==, "/mnt/my views");
	g_assert_cmpstr(m.fstype, ==, "fuse.remapfs");
	rfsl_mountinfo_clear(&m);
	line = "1 0 8:1 / / rw - ext4 /dev/sda1 rw";
	g_assert_cmpint(rfsl_parse_mountinfo_line(line, strlen(line), &m), ==,
			0);
	g_assert_cmpstr(m.fstype, ==, "ext4");
	g_assert_cmpstr(m.mountpoint, ==, "/");
	rfsl_mountinfo_clear(&m);
	line = "1 0 8:1 / / rw ext4 /dev/sda1 rw"; /* no "-" */
	g_assert_cmpint(rfsl_parse_mountinfo_line(line, strlen(line), &m), ==,
			EINVAL);
	rfsl_mountinfo_clear(&m);
}

static void test_unescape_octal_only_three_digits(void)
{
	char *s = rfsl_unescape_octal("a\\040b\\134c\\01d\\", 16);
	g_assert_cmpstr(s, ==, "a b\\c\\01d\\");
	g_free(s);
}

/* rfsl_path_in_mount as a string, "ENOENT" on failure. */
static char *in_mount(const char *path, const char *mp, const char *root)
{
	char *rel = NULL;
	if (rfsl_path_in_mount(path, mp, root, &rel))
		return g_strdup("ENOENT");
	return rel;
}

static void test_path_in_mount_whole_components_and_roots(void)
{
	struct {
		const char *path, *mp, *root, *want;
	} cases[] = {
	    {"/mnt/v/a/b", "/mnt/v", "/", "a/b"},
	    {"/mnt/v", "/mnt/v", "/", ""},
	    {"/mnt/v/", "/mnt/v/", "/", ""},
	    {"/mnt/vx/a", "/mnt/v", "/", "ENOENT"},
	    {"/mnt/v/a", "/mnt/v", "/sub", "sub/a"},
	    {"/mnt/v", "/mnt/v", "/sub/dir", "sub/dir"},
	    {"/a/b", "/", "/", "a/b"},
	    {"relative", "/", "/", "ENOENT"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *got = in_mount(cases[i].path, cases[i].mp, cases[i].root);
		if (strcmp(got, cases[i].want) != 0)
			g_test_fail_printf("%s in %s (root %s): expected '%s',"
					   " saw '%s'",
					   cases[i].path, cases[i].mp,
					   cases[i].root, cases[i].want, got);
		g_free(got);
	}
}

static void test_path_deleted_suffix(void)
{
	char *s = NULL;
	g_assert_true(rfsl_path_deleted("/m/f (deleted)", &s));
	g_assert_cmpstr(s, ==, "/m/f");
	g_free(s);
	g_assert_false(rfsl_path_deleted("/m/f", NULL));
	g_assert_false(rfsl_path_deleted("(deleted)", NULL));
}

static void test_state_header_and_numbers(void)
{
	uint64_t v = 0;
	const char *h = "# remapfs state: pagesize 16384\nremap f 0 1 1\n";
	g_assert_cmpint(rfsl_parse_state_header(h, strlen(h), &v), ==, 0);
	g_assert_cmpuint(v, ==, 16384);
	h = "# remapfs state: pagesize 3000\n";
	g_assert_cmpint(rfsl_parse_state_header(h, strlen(h), &v), ==, EINVAL);
	h = "remap f 0 1 1\n";
	g_assert_cmpint(rfsl_parse_state_header(h, strlen(h), &v), ==, EINVAL);
	g_assert_cmpint(rfsl_parse_u64("0x1F", &v), ==, 0);
	g_assert_cmpuint(v, ==, 31);
	g_assert_cmpint(rfsl_parse_u64("18446744073709551615", &v), ==, 0);
	g_assert_cmpuint(v, ==, UINT64_MAX);
	g_assert_cmpint(rfsl_parse_u64("18446744073709551616", &v), ==, ERANGE);
	static const char *const bad[] = {"",	"-1", "+1",  " 1",
					  "1 ", "0x", "12a", "0x1g"};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
		if (rfsl_parse_u64(bad[i], &v) != EINVAL)
			g_test_fail_printf("number '%s': expected EINVAL",
					   bad[i]);
}

static void test_rfp_args_round_down_and_refuse_as_kernel(void)
{
	uint64_t s = 0, l = 0;
	g_assert_cmpint(rfsl_rfp_args(0x10123, 0x2fff, 0, 0, 4096, &s, &l), ==,
			0);
	g_assert_cmphex(s, ==, 0x10000);
	g_assert_cmphex(l, ==, 0x2000);
	/* prot must be 0 */
	g_assert_cmpint(rfsl_rfp_args(0x10000, 4096, 1, 0, 4096, &s, &l), ==,
			EINVAL);
	/* less than one page */
	g_assert_cmpint(rfsl_rfp_args(0x10000, 4095, 0, 0, 4096, &s, &l), ==,
			EINVAL);
	/* wraps the address space */
	g_assert_cmpint(
	    rfsl_rfp_args(UINT64_MAX - 4095, 8192, 0, 0, 4096, &s, &l), ==,
	    EINVAL);
	/* pgoff range wraps */
	g_assert_cmpint(
	    rfsl_rfp_args(0x10000, 8192, 0, UINT64_MAX, 4096, &s, &l), ==,
	    EINVAL);
}

/* A shared read-write mapping of file (dev 0:50, inode ino). */
static struct rfsl_vma vma(uint64_t start, uint64_t end, uint64_t offset,
			   uint64_t ino)
{
	return (struct rfsl_vma){.start = start,
				 .end = end,
				 .offset = offset,
				 .minor = 50,
				 .inode = ino,
				 .readable = true,
				 .writable = true,
				 .shared = true};
}

static void test_vmas_cover_like_kernel(void)
{
	struct rfsl_vma v[2] = {vma(0x10000, 0x14000, 0, 7),
				vma(0x14000, 0x18000, 0x8000, 7)};
	g_assert_cmpint(rfsl_vmas_cover(v, 1, 0x11000, 0x3000), ==, 0);
	g_assert_cmpint(rfsl_vmas_cover(v, 1, 0x11000, 0x4000), ==, EINVAL);
	/* adjacent, same file and permissions: allowed */
	g_assert_cmpint(rfsl_vmas_cover(v, 2, 0x11000, 0x6000), ==, 0);
	/* past the second one */
	g_assert_cmpint(rfsl_vmas_cover(v, 2, 0x11000, 0x8000), ==, EINVAL);
	/* start outside the first */
	g_assert_cmpint(rfsl_vmas_cover(v, 2, 0x0f000, 0x2000), ==, EINVAL);
	/* another file */
	v[1].inode = 8;
	g_assert_cmpint(rfsl_vmas_cover(v, 2, 0x11000, 0x6000), ==, EINVAL);
	v[1].inode = 7;
	/* other permissions */
	v[1].writable = false;
	g_assert_cmpint(rfsl_vmas_cover(v, 2, 0x11000, 0x6000), ==, EINVAL);
	v[1].writable = true;
	/* a hole */
	v[1].start = 0x15000;
	g_assert_cmpint(rfsl_vmas_cover(v, 2, 0x11000, 0x6000), ==, EINVAL);
	/* private */
	v[0].shared = false;
	g_assert_cmpint(rfsl_vmas_cover(v, 1, 0x11000, 0x1000), ==, EINVAL);
}

/* Checks piece i. */
static void piece_is(GArray *p, guint i, size_t vma_i, uint64_t vpage,
		     uint64_t fpage, uint64_t count)
{
	if (i >= p->len) {
		g_test_fail_printf("expected piece %u, saw %u pieces", i,
				   p->len);
		return;
	}
	struct rfsl_piece *x = &g_array_index(p, struct rfsl_piece, i);
	if (x->vma != vma_i || x->vpage != vpage || x->fpage != fpage ||
	    x->count != count)
		g_test_fail_printf("piece %u: expected vma %zu %" PRIu64
				   " %" PRIu64 " %" PRIu64
				   ", saw vma %zu %" PRIu64 " %" PRIu64
				   " %" PRIu64,
				   i, vma_i, vpage, fpage, count, x->vma,
				   x->vpage, x->fpage, x->count);
}

static void test_rfp_pieces_system_pages(void)
{
	GArray *p = g_array_new(FALSE, FALSE, sizeof(struct rfsl_piece));
	/* A mapping of the view from its page 2. */
	struct rfsl_vma v[2] = {vma(0x10000, 0x14000, 0x2000, 7),
				vma(0x14000, 0x18000, 0x10000, 7)};
	g_assert_cmpint(
	    rfsl_rfp_pieces(v, 1, 0x11000, 0x2000, 9, 4096, 4096, 1000, p), ==,
	    0);
	g_assert_cmpuint(p->len, ==, 1);
	piece_is(p, 0, 0, 3, 9, 2);
	g_array_set_size(p, 0);
	/* Across two adjacent mappings: the file pages run on. */
	g_assert_cmpint(
	    rfsl_rfp_pieces(v, 2, 0x13000, 0x3000, 100, 4096, 4096, 1000, p),
	    ==, 0);
	g_assert_cmpuint(p->len, ==, 2);
	piece_is(p, 0, 0, 5, 100, 1);
	piece_is(p, 1, 1, 16, 101, 2);
	g_array_set_size(p, 0);
	/* Past the page limit. */
	g_assert_cmpint(
	    rfsl_rfp_pieces(v, 1, 0x11000, 0x2000, 999, 4096, 4096, 1000, p),
	    ==, EINVAL);
	g_assert_cmpuint(p->len, ==, 0);
	g_array_unref(p);
}

static void test_rfp_pieces_larger_mount_pages_need_alignment(void)
{
	GArray *p = g_array_new(FALSE, FALSE, sizeof(struct rfsl_piece));
	struct rfsl_vma v = vma(0x100000, 0x140000, 0, 7);
	/* 16 KiB mount pages: 4 system pages each. */
	g_assert_cmpint(
	    rfsl_rfp_pieces(&v, 1, 0x104000, 0x8000, 8, 4096, 16384, 1000, p),
	    ==, 0);
	piece_is(p, 0, 0, 1, 2, 2);
	g_array_set_size(p, 0);
	/* address, size or pgoff not on a mount page: EINVAL */
	g_assert_cmpint(
	    rfsl_rfp_pieces(&v, 1, 0x105000, 0x4000, 8, 4096, 16384, 1000, p),
	    ==, EINVAL);
	g_assert_cmpint(
	    rfsl_rfp_pieces(&v, 1, 0x104000, 0x5000, 8, 4096, 16384, 1000, p),
	    ==, EINVAL);
	g_assert_cmpint(
	    rfsl_rfp_pieces(&v, 1, 0x104000, 0x4000, 9, 4096, 16384, 1000, p),
	    ==, EINVAL);
	g_assert_cmpuint(p->len, ==, 0);
	g_array_unref(p);
}

/* Formats runs as "v:f:c v:f:c". */
static char *runs_str(GArray *runs)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < runs->len; i++) {
		rfs_run *r = &g_array_index(runs, rfs_run, i);
		g_string_append_printf(s, "%s%" PRIu64 ":%" PRIu64 ":%" PRIu64,
				       i ? " " : "", r->vpage, r->fpage,
				       r->count);
	}
	return g_string_free(s, FALSE);
}

static const char dump[] = "# remapfs state: pagesize 4096\n"
			   "create ring buf 8\n"
			   "create \"my view\" big.db 16\n"
			   "remap f 0 3 1\n"
			   "remap f 1 2 1\n"
			   "remap ring 4 0 4\n"
			   "remap \"my view\" 0 4096 16\n";

static void test_state_view_reads_one_views_runs(void)
{
	struct rfsl_view_state s;
	g_assert_cmpint(
	    rfsl_state_view(dump, strlen(dump), "ring", &s, NULL, NULL), ==, 0);
	g_assert_cmpuint(s.pagesize, ==, 4096);
	g_assert_true(s.is_virtual);
	g_assert_cmpstr(s.backing, ==, "buf");
	g_assert_cmpuint(s.pages, ==, 8);
	char *r = runs_str(s.runs);
	g_assert_cmpstr(r, ==, "4:0:4");
	g_free(r);
	rfsl_view_state_clear(&s);

	g_assert_cmpint(
	    rfsl_state_view(dump, strlen(dump), "f", &s, NULL, NULL), ==, 0);
	g_assert_false(s.is_virtual);
	g_assert_null(s.backing);
	r = runs_str(s.runs);
	g_assert_cmpstr(r, ==, "0:3:1 1:2:1");
	g_free(r);
	rfsl_view_state_clear(&s);

	g_assert_cmpint(
	    rfsl_state_view(dump, strlen(dump), "my view", &s, NULL, NULL), ==,
	    0);
	r = runs_str(s.runs);
	g_assert_cmpstr(r, ==, "0:4096:16");
	g_free(r);
	rfsl_view_state_clear(&s);

	/* Later commands replay in order: reset, resize drop runs. */
	const char *t = "remap v 0 10 8\nreset v 2 2\nremap v 2 2 1\n";
	g_assert_cmpint(rfsl_state_view(t, strlen(t), "v", &s, NULL, NULL), ==,
			0);
	g_assert_cmpuint(s.pagesize, ==, 0);
	r = runs_str(s.runs);
	g_assert_cmpstr(r, ==, "0:10:2 4:14:4");
	g_free(r);
	rfsl_view_state_clear(&s);

	unsigned line = 0;
	GString *err = g_string_new(NULL);
	t = "remap v 0 1 1\nfrobnicate v\n";
	g_assert_cmpint(rfsl_state_view(t, strlen(t), "v", &s, &line, err), ==,
			EINVAL);
	g_assert_cmpuint(line, ==, 2);
	g_assert_nonnull(strstr(err->str, "frobnicate"));
	g_string_free(err, TRUE);
}

static void test_runs_full_fills_identity_gaps(void)
{
	rfs_run runs[] = {{2, 10, 2}, {5, 0, 1}};
	GArray *full = rfsl_runs_full(runs, 2, 8);
	char *r = runs_str(full);
	g_assert_cmpstr(r, ==, "0:0:2 2:10:2 4:4:1 5:0:1 6:6:2");
	g_free(r);
	g_array_unref(full);
	full = rfsl_runs_full(NULL, 0, 3);
	r = runs_str(full);
	g_assert_cmpstr(r, ==, "0:0:3");
	g_free(r);
	g_array_unref(full);
	full = rfsl_runs_full(NULL, 0, 0);
	g_assert_cmpuint(full->len, ==, 0);
	g_array_unref(full);
}

/* Formats ranges as "a+n a+n". */
static char *ranges_str(GArray *a)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < a->len; i++) {
		struct rfsl_range *r = &g_array_index(a, struct rfsl_range, i);
		g_string_append_printf(s, "%s%" PRIu64 "+%" PRIu64,
				       i ? " " : "", r->first, r->count);
	}
	return g_string_free(s, FALSE);
}

static void test_aliased_counts_identity_pages_too(void)
{
	/* The ring: 0-3 identity, 4-7 -> 0-3; plus a page shown 3 times. */
	rfs_run runs[] = {{0, 0, 4}, {4, 0, 4},	 {8, 9, 1},
			  {9, 9, 1}, {10, 9, 1}, {11, 20, 2}};
	GArray *a = rfsl_aliased(runs, G_N_ELEMENTS(runs));
	char *s = ranges_str(a);
	g_assert_cmpstr(s, ==, "0+4 9+1");
	g_free(s);
	GArray *w = g_array_new(FALSE, FALSE, sizeof(struct rfsl_range));
	rfsl_ranges_within((struct rfsl_range *)(void *)a->data, a->len, 2, 9,
			   w);
	s = ranges_str(w);
	g_assert_cmpstr(s, ==, "2+2 9+1");
	g_free(s);
	g_array_set_size(w, 0);
	rfsl_ranges_within((struct rfsl_range *)(void *)a->data, a->len, 20, 2,
			   w);
	g_assert_cmpuint(w->len, ==, 0);
	g_array_unref(w);
	g_array_unref(a);
	/* Overlapping partially: only the overlap. */
	rfs_run two[] = {{0, 0, 4}, {4, 2, 4}};
	a = rfsl_aliased(two, 2);
	s = ranges_str(a);
	g_assert_cmpstr(s, ==, "2+2");
	g_free(s);
	g_array_unref(a);
}

/* Parses text into a new command array, asserting success. */
static GArray *cmds_of(const char *text)
{
	GArray *c = rfs_cmds_new();
	g_assert_cmpint(rfs_parse(text, strlen(text), 1, NULL, c, NULL, NULL),
			==, 0);
	return c;
}

/* Formats commands. */
static char *cmds_str(GArray *cmds)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < cmds->len; i++)
		rfs_cmd_format(s, &g_array_index(cmds, rfs_cmd, i));
	return g_string_free(s, FALSE);
}

static void test_state_replace_removes_resets_and_keeps_views(void)
{
	GArray *cur = cmds_of("create keep buf 8\n"
			      "create gone buf 4\n"
			      "create other buf 4\n"
			      "remap keep 4 0 4\n"
			      "remap gone 0 1 1\n"
			      "remap f 0 3 1\n"
			      "remap f 1 2 1\n");
	GArray *want = cmds_of("# remapfs state: pagesize 4096\n"
			       "create keep buf 16\n"
			       "create other big 4\n"
			       "create new buf 2\n"
			       "remap keep 0 1 1\n"
			       "remap g 5 6 1\n");
	GArray *out = rfs_cmds_new();
	rfsl_state_replace(cur, want, out);
	char *s = cmds_str(out);
	g_assert_cmpstr(s, ==,
			"remove gone\n"
			"remove other\n"
			"reset keep\n"
			"reset f\n"
			"resize keep 16\n"
			"create other big 4\n"
			"create new buf 2\n"
			"remap keep 0 1 1\n"
			"remap g 5 6 1\n");
	/* Lines of want keep their numbers, for messages. */
	g_assert_cmpuint(g_array_index(out, rfs_cmd, 4).line, ==, 2);
	g_assert_cmpuint(g_array_index(out, rfs_cmd, 0).line, ==, 0);
	g_free(s);
	g_array_unref(out);
	g_array_unref(cur);
	g_array_unref(want);
}

static void test_show_table_lists_runs_and_aliases(void)
{
	rfs_run runs[] = {{0, 0, 4}, {4, 0, 2}, {6, 6, 1}, {7, 100, 1}};
	GString *out = g_string_new(NULL);
	rfsl_show_table(out, runs, G_N_ELEMENTS(runs));
	g_assert_cmpstr(out->str, ==,
			"VIEW PAGES  BACKING PAGES  COUNT  MAP       ALIASED\n"
			"0-3         0-3                4  identity  0-1\n"
			"4-5         0-1                2  remap     0-1\n"
			"6           6                  1  identity  -\n"
			"7           100                1  remap     -\n");
	g_string_free(out, TRUE);
	/* An identity run whose every other page is shown again elsewhere:
	 * 8 of its 20 aliased ranges, then how many more. */
	GArray *many = g_array_new(FALSE, FALSE, sizeof(rfs_run));
	rfs_run id = {0, 0, 40};
	g_array_append_val(many, id);
	for (uint64_t k = 0; k < 20; k++) {
		rfs_run r = {100 + k, 2 * k, 1};
		g_array_append_val(many, r);
	}
	out = g_string_new(NULL);
	rfsl_show_table(out, (rfs_run *)(void *)many->data, many->len);
	const char *line = strstr(out->str, "\n0-39 ");
	g_assert_nonnull(line);
	char *want = g_strdup("0,2,4,6,8,10,12,14,... (+12 more)\n");
	if (!strstr(line, want))
		g_printerr("expected the cell '%s', got: %s", want, line);
	g_assert_nonnull(strstr(line, want));
	g_free(want);
	g_string_free(out, TRUE);
	g_array_unref(many);
}

/* The picture parses as XML (GMarkup, strict) and counts its elements. */
struct svg_count {
	unsigned lines, aliased, rects, svgs;
};

static void svg_start(GMarkupParseContext *c, const char *name,
		      const char **attr, const char **val, gpointer data,
		      GError **err)
{
	(void)c;
	(void)err;
	struct svg_count *k = data;
	k->lines += strcmp(name, "line") == 0;
	k->rects += strcmp(name, "rect") == 0;
	k->svgs += strcmp(name, "svg") == 0;
	for (int i = 0; attr[i]; i++)
		if (strcmp(attr[i], "class") == 0 &&
		    strcmp(val[i], "aliased") == 0)
			k->aliased++;
}

static struct svg_count parse_svg(const GString *svg)
{
	struct svg_count k = {0};
	GMarkupParser p = {.start_element = svg_start};
	GMarkupParseContext *c = g_markup_parse_context_new(&p, 0, &k, NULL);
	GError *err = NULL;
	if (!g_markup_parse_context_parse(c, svg->str, (gssize)svg->len,
					  &err) ||
	    !g_markup_parse_context_end_parse(c, &err)) {
		g_printerr("the picture is not well-formed XML: %s\n",
			   err->message);
		g_error_free(err);
		k.svgs = 0;
	}
	g_markup_parse_context_free(c);
	return k;
}

static void test_picture_draws_each_run_and_marks_aliases(void)
{
	/* 16 pages: 0-3 show 10-13, 4-5 show 10-11 (aliased with the
	 * identity 10-11), 12-14 show 0-2. */
	rfs_run in[] = {{0, 10, 4}, {4, 10, 2}, {12, 0, 3}};
	GArray *full = rfsl_runs_full(in, G_N_ELEMENTS(in), 16);
	GString *svg = g_string_new(NULL);
	rfsl_map_svg(svg, (rfs_run *)(void *)full->data, full->len,
		     "v <of> 'f' & more");
	struct svg_count k = parse_svg(svg);
	g_assert_cmpuint(k.svgs, ==, 1);
	/* 5 runs (two of the identity), 3 of them with aliased pages */
	g_assert_cmpuint(full->len, ==, 5);
	g_assert_cmpuint(k.lines, ==, 5 + 3);
	g_assert_cmpuint(k.aliased, ==, 3);
	g_assert_nonnull(strstr(svg->str, "v &lt;of&gt; &apos;f&apos; &amp;"));
	GString *html = g_string_new(NULL);
	rfsl_map_html(html, (rfs_run *)(void *)full->data, full->len, "v");
	g_assert_true(g_str_has_prefix(html->str, "<!DOCTYPE html>"));
	g_assert_nonnull(strstr(html->str, "<svg "));
	GString *sum = g_string_new(NULL);
	rfsl_map_summary(sum, (rfs_run *)(void *)full->data, full->len);
	g_assert_cmpstr(sum->str, ==,
			"runs: 5 (identity 2, remapped 3)\n"
			"pages: 16 (identity 7, remapped 9)\n"
			"backing pages shown: up to 16\n"
			"aliased backing pages: 2 in 1 range\n");
	g_string_free(sum, TRUE);
	g_string_free(html, TRUE);
	g_string_free(svg, TRUE);
	g_array_unref(full);
}

static void test_picture_of_a_million_runs_is_a_small_grid(void)
{
	/* Every other page remapped backwards: 1,000,000 runs. */
	const uint64_t pages = 1000000;
	GArray *in = g_array_new(FALSE, FALSE, sizeof(rfs_run));
	for (uint64_t v = 0; v < pages; v += 2) {
		rfs_run r = {v, pages - 1 - v, 1};
		g_array_append_val(in, r);
	}
	GArray *full =
	    rfsl_runs_full((rfs_run *)(void *)in->data, in->len, pages);
	g_assert_cmpuint(full->len, ==, pages);
	GString *svg = g_string_new(NULL);
	rfsl_map_svg(svg, (rfs_run *)(void *)full->data, full->len, "big");
	struct svg_count k = parse_svg(svg);
	g_assert_cmpuint(k.svgs, ==, 1);
	g_assert_cmpuint(k.lines, ==, 0); /* cells, not runs */
	g_assert_cmpuint(k.rects, >, 200);
	g_assert_cmpuint(k.rects, <=, 200 * 200 + 1);
	if (svg->len > ((size_t)4 << 20))
		g_printerr("the picture of a million runs is %zu bytes\n",
			   svg->len);
	g_assert_cmpuint(svg->len, <=, (size_t)4 << 20);
	g_assert_nonnull(strstr(svg->str, "shown as a grid"));
	GString *sum = g_string_new(NULL);
	rfsl_map_summary(sum, (rfs_run *)(void *)full->data, full->len);
	g_assert_nonnull(strstr(sum->str, "runs: 1000000 "));
	g_string_free(sum, TRUE);
	g_string_free(svg, TRUE);
	g_array_unref(full);
	g_array_unref(in);
}

static const char stats_dump[] =
    "# remapfs statistics\n"
    "uptime_s 12.5\nthreads 7\nmap_bytes 3248\ntransactions 2\n"
    "# view INODE RUNS READS READ_BYTES WRITES WRITE_BYTES REMAPPED_PAGES "
    "INVALIDATIONS PATH\n"
    "view 11 3 4 16384 1 4096 2 5 dir/a \"b\"\n"
    "view 12 0 1 4096 0 0 0 0 -\n";

static void test_stats_text_as_table_and_json(void)
{
	GString *out = g_string_new(NULL);
	g_assert_cmpint(rfsl_stats_format(out, stats_dump, strlen(stats_dump),
					  false, false, 0, -1),
			==, 0);
	g_assert_nonnull(
	    strstr(out->str, "map_bytes              3248 (3.2 KiB)\n"));
	g_assert_nonnull(strstr(out->str, "16.0 KiB"));
	g_assert_nonnull(strstr(out->str, "dir/a \"b\"\n"));
	g_string_truncate(out, 0);
	g_assert_cmpint(rfsl_stats_format(out, stats_dump, strlen(stats_dump),
					  true, true, 11, 7),
			==, 0);
	g_assert_cmpstr(
	    out->str, ==,
	    "{\"daemon\": {\"uptime_s\": 12.5, \"threads\": 7, \"map_bytes\": "
	    "3248, \"transactions\": 2}, \"views\": [{\"inode\": 11, "
	    "\"runs\": 3, \"reads\": 4, \"read_bytes\": 16384, \"writes\": 1, "
	    "\"write_bytes\": 4096, \"remapped_pages\": 2, "
	    "\"invalidations\": 5, \"aliased_pages\": 7, \"path\": "
	    "\"dir/a \\\"b\\\"\"}]}\n");
	/* A view that served nothing: zeros, its path unknown. */
	g_string_truncate(out, 0);
	g_assert_cmpint(rfsl_stats_format(out, stats_dump, strlen(stats_dump),
					  true, true, 99, -1),
			==, 0);
	g_assert_nonnull(strstr(out->str, "{\"inode\": 99, \"runs\": 0, "));
	g_assert_nonnull(strstr(out->str, "\"path\": null}"));
	/* Not a dump, or a broken view line: nothing. */
	g_string_truncate(out, 0);
	g_assert_cmpint(rfsl_stats_format(out,
					  "# remapfs state: pagesize 4096\n",
					  31, false, false, 0, -1),
			==, EINVAL);
	const char bad[] = "# remapfs statistics\nview 1 2 x\n";
	g_assert_cmpint(
	    rfsl_stats_format(out, bad, strlen(bad), true, false, 0, -1), ==,
	    EINVAL);
	g_assert_cmpuint(out->len, ==, 0);
	g_string_free(out, TRUE);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	g_test_add_func("/procparse/maps-line-file-mapping",
			test_maps_line_file_mapping);
	g_test_add_func("/procparse/maps-line-anonymous-private-and-escapes",
			test_maps_line_anonymous_private_and_escapes);
	g_test_add_func("/procparse/maps-line-rejects-garbage",
			test_maps_line_rejects_garbage);
	g_test_add_func(
	    "/procparse/mountinfo-line-with-escapes-and-optional-fields",
	    test_mountinfo_line_with_escapes_and_optional_fields);
	g_test_add_func("/procparse/unescape-octal-only-three-digits",
			test_unescape_octal_only_three_digits);
	g_test_add_func("/procparse/path-in-mount-whole-components-and-roots",
			test_path_in_mount_whole_components_and_roots);
	g_test_add_func("/procparse/path-deleted-suffix",
			test_path_deleted_suffix);
	g_test_add_func("/procparse/state-header-and-numbers",
			test_state_header_and_numbers);
	g_test_add_func("/plan/rfp-args-round-down-and-refuse-as-kernel",
			test_rfp_args_round_down_and_refuse_as_kernel);
	g_test_add_func("/plan/vmas-cover-like-kernel",
			test_vmas_cover_like_kernel);
	g_test_add_func("/plan/rfp-pieces-system-pages",
			test_rfp_pieces_system_pages);
	g_test_add_func("/plan/rfp-pieces-larger-mount-pages-need-alignment",
			test_rfp_pieces_larger_mount_pages_need_alignment);
	g_test_add_func("/plan/state-view-reads-one-views-runs",
			test_state_view_reads_one_views_runs);
	g_test_add_func("/plan/runs-full-fills-identity-gaps",
			test_runs_full_fills_identity_gaps);
	g_test_add_func("/plan/aliased-counts-identity-pages-too",
			test_aliased_counts_identity_pages_too);
	g_test_add_func("/plan/state-replace-removes-resets-and-keeps-views",
			test_state_replace_removes_resets_and_keeps_views);
	g_test_add_func("/picture/draws-each-run-and-marks-aliases",
			test_picture_draws_each_run_and_marks_aliases);
	g_test_add_func("/picture/of-a-million-runs-is-a-small-grid",
			test_picture_of_a_million_runs_is_a_small_grid);
	g_test_add_func("/stats/text-as-table-and-json",
			test_stats_text_as_table_and_json);
	g_test_add_func("/plan/show-table-lists-runs-and-aliases",
			test_show_table_lists_runs_and_aliases);
	return g_test_run();
}
