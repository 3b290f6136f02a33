/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-remapctl.c - remapctl's outputs and exit codes on a real mount:
 * every command, show's table, save/load round trips, usage errors (2),
 * failures with the daemon's message (1), and the bash completion. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "mount-helper.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define REMAPCTL ABS_BUILDDIR "/src/lib/remapctl"
#define COMPLETION ABS_SRCDIR "/contrib/bash-completion/remapctl"

static size_t PS;

/* What a run of remapctl gave. */
struct result {
	int status; /* exit status, -1 if it did not exit */
	char *out, *err;
};

static void result_clear(struct result *r)
{
	g_free(r->out);
	g_free(r->err);
	memset(r, 0, sizeof(*r));
}

/* Makes the file named by data the standard input (in the child). */
static void stdin_from(gpointer data)
{
	int fd = open(data, O_RDONLY);
	if (fd >= 0)
		dup2(fd, 0);
}

/* Runs remapctl with the arguments (NULL-terminated), standard input from
 * in (may be NULL: /dev/null). */
static struct result ctl_in(const char *in, const char *first, ...)
{
	GPtrArray *argv = g_ptr_array_new();
	g_ptr_array_add(argv, (char *)REMAPCTL);
	va_list ap;
	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *))
		g_ptr_array_add(argv, (char *)a);
	va_end(ap);
	g_ptr_array_add(argv, NULL);
	struct result r = {-1, NULL, NULL};
	char *input = NULL;
	GError *error = NULL;
	if (in) {
		int fd = g_file_open_tmp("remapctl-in-XXXXXX", &input, NULL);
		g_assert_cmpint(fd, >=, 0);
		close(fd);
		g_assert_true(g_file_set_contents(input, in, -1, NULL));
	}
	int status = -1;
	if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT,
			  input ? stdin_from : NULL, input, &r.out, &r.err,
			  &status, &error)) {
		g_printerr("remapctl: %s\n", error->message);
		g_error_free(error);
		r.out = g_strdup("");
		r.err = g_strdup("");
	} else if (WIFEXITED(status)) {
		r.status = WEXITSTATUS(status);
	}
	if (input) {
		unlink(input);
		g_free(input);
	}
	g_ptr_array_unref(argv);
	return r;
}

#define ctl(...) ctl_in(NULL, __VA_ARGS__, NULL)

/* Asserts a run's exit status, printing its output when it differs. */
#define assert_status(r, want)                                                 \
	do {                                                                   \
		if ((r).status != (want))                                      \
			g_printerr("stdout: %s\nstderr: %s\n", (r).out,        \
				   (r).err);                                   \
		g_assert_cmpint((r).status, ==, (want));                       \
	} while (0)

typedef struct {
	struct rfs_test_mount *m;
	char *f, *buf; /* paths in the mount */
} Fixture;

/* SOURCE holds f (16 pages) and buf (4 pages). */
static void fx_setup(Fixture *f, gconstpointer data)
{
	f->m = rfs_test_prepare();
	char *p = rfs_src(f->m, "f");
	rfs_write_tagged(p, 16, PS, 1000);
	g_free(p);
	p = rfs_src(f->m, "buf");
	rfs_write_tagged(p, 4, PS, 5000);
	g_free(p);
	if (!rfs_test_start(f->m, data))
		g_error("mount failed");
	f->f = rfs_mnt(f->m, "f");
	f->buf = rfs_mnt(f->m, "buf");
}

static void fx_teardown(Fixture *f, gconstpointer data)
{
	g_free(f->f);
	g_free(f->buf);
	rfs_test_free(f->m);
}

/* The state dump without its first line. */
static char *state(Fixture *f)
{
	char *d = rfs_dump(f->m), *nl = strchr(d, '\n');
	char *s = g_strdup(nl ? nl + 1 : "");
	g_free(d);
	return s;
}

#define assert_state(f, want)                                                  \
	do {                                                                   \
		char *s_ = state(f);                                           \
		g_assert_cmpstr(s_, ==, want);                                 \
		g_free(s_);                                                    \
	} while (0)

static void test_help_lists_every_command(void)
{
	static const char *const words[] = {
	    "remap VIEW VPAGE FPAGE [COUNT]",
	    "reset VIEW [VPAGE [COUNT]]",
	    "create VIEW BACKING [PAGES]",
	    "resize VIEW PAGES",
	    "remove VIEW",
	    "invalidate VIEW [VPAGE [COUNT]]",
	    "show [--summary] VIEW...",
	    "show --svg FILE | --html FILE VIEW",
	    "save PATH [FILE]",
	    "stats [--json] PATH [VIEW]",
	    "load [--replace] PATH [FILE]",
	    "--help",
	    "--version",
	    "Exit status"};
	const char *const opts[] = {"--help", "-h"};
	for (size_t o = 0; o < G_N_ELEMENTS(opts); o++) {
		struct result r = ctl(opts[o]);
		assert_status(r, 0);
		for (size_t i = 0; i < G_N_ELEMENTS(words); i++)
			if (!strstr(r.out, words[i]))
				g_test_fail_printf("%s: expected '%s' in:\n%s",
						   opts[o], words[i], r.out);
		g_assert_cmpstr(r.err, ==, "");
		result_clear(&r);
	}
	struct result r = ctl("--version");
	assert_status(r, 0);
	g_assert_cmpstr(r.out, ==, "remapctl (remapfs) " PACKAGE_VERSION "\n");
	result_clear(&r);
}

static void test_usage_errors_exit_2(Fixture *f, gconstpointer d)
{
	const char *const cases[][7] = {
	    {NULL},
	    {"frobnicate", NULL},
	    {"--bogus", NULL},
	    {"-x", "show", "F", NULL},
	    {"remap", "F", "0", NULL},
	    {"remap", "F", "0", "1", "2", "3"},
	    {"remap", "F", "x", "1", NULL},
	    {"remap", "F", "0", "-1", NULL},
	    {"remap", "F", "0", "1x", NULL},
	    {"remap", "F", "0", "", NULL},
	    {"remap", "F", "0", "18446744073709551616", NULL},
	    {"reset", "F", "1", "0", NULL},
	    {"reset", NULL},
	    {"create", "F", NULL},
	    {"resize", "F", NULL},
	    {"remove", NULL},
	    {"show", NULL},
	    {"save", "--replace", "F", NULL},
	    {"load", "--bogus", "F", NULL},
	    {"show", "--all", "F", NULL},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		const char *a[6];
		for (size_t j = 0; j < 6; j++)
			a[j] = cases[i][j] && strcmp(cases[i][j], "F") == 0
				   ? f->f
				   : cases[i][j];
		struct result r =
		    ctl_in(NULL, a[0], a[1], a[2], a[3], a[4], a[5], NULL);
		char *args = g_strjoinv(" ", (char **)cases[i]);
		if (r.status != 2 || !strstr(r.err, "Try 'remapctl --help'") ||
		    !g_str_has_prefix(r.err, "remapctl: ") || *r.out)
			g_test_fail_printf(
			    "remapctl %s: expected status 2 and a"
			    " usage message, saw status %d,"
			    " stdout '%s', stderr '%s'",
			    args, r.status, r.out, r.err);
		g_free(args);
		result_clear(&r);
	}
	assert_state(f, ""); /* nothing was done */
}

static void test_remap_reset_invalidate_change_the_map(Fixture *f,
						       gconstpointer d)
{
	struct result r = ctl("remap", f->f, "0", "3", "2");
	assert_status(r, 0);
	g_assert_cmpstr(r.out, ==, "");
	g_assert_cmpstr(r.err, ==, "");
	result_clear(&r);
	assert_state(f, "remap f 0 3 2\n");
	r = ctl("remap", f->f, "0xa", "0x0");
	assert_status(r, 0);
	result_clear(&r);
	assert_state(f, "remap f 0 3 2\nremap f 10 0 1\n");
	r = ctl("reset", f->f, "1");
	assert_status(r, 0);
	result_clear(&r);
	assert_state(f, "remap f 0 3 1\nremap f 10 0 1\n");
	r = ctl("invalidate", f->f);
	assert_status(r, 0);
	result_clear(&r);
	r = ctl("invalidate", f->f, "2", "3");
	assert_status(r, 0);
	result_clear(&r);
	r = ctl("reset", f->f);
	assert_status(r, 0);
	result_clear(&r);
	assert_state(f, "");
	/* A relative path. */
	char *cwd = g_get_current_dir();
	g_assert_cmpint(chdir(f->m->mnt), ==, 0);
	r = ctl("remap", "f", "1", "2");
	g_assert_cmpint(chdir(cwd), ==, 0);
	g_free(cwd);
	assert_status(r, 0);
	result_clear(&r);
	assert_state(f, "remap f 1 2 1\n");
}

static void test_failures_exit_1_with_daemon_message(Fixture *f,
						     gconstpointer d)
{
	struct result r = ctl("remap", f->f, "99", "0");
	assert_status(r, 1);
	char *want = g_strdup_printf("remapctl: %s: remap: view page 99 is past"
				     " the end of 'f' (16 pages) (%s)\n",
				     f->f, g_strerror(ERANGE));
	g_assert_cmpstr(r.err, ==, want);
	g_assert_cmpstr(r.out, ==, "");
	g_free(want);
	result_clear(&r);
	r = ctl("resize", f->f, "3");
	assert_status(r, 1);
	g_assert_nonnull(strstr(r.err, "is not a virtual view"));
	result_clear(&r);
	char *missing = rfs_mnt(f->m, "missing");
	r = ctl("show", missing);
	assert_status(r, 1);
	want =
	    g_strdup_printf("remapctl: %s: %s\n", missing, g_strerror(ENOENT));
	g_assert_cmpstr(r.err, ==, want);
	g_free(want);
	g_free(missing);
	result_clear(&r);
	r = ctl("remap", f->m->base, "0", "0");
	assert_status(r, 1);
	g_assert_nonnull(strstr(r.err, "is not in a remapfs mount"));
	result_clear(&r);
	/* show goes on with the other views, and fails at the end. */
	r = ctl("show", "/", f->f);
	assert_status(r, 1);
	g_assert_nonnull(strstr(r.out, "VIEW PAGES"));
	result_clear(&r);
	assert_state(f, "");
}

static void test_create_resize_remove_and_show(Fixture *f, gconstpointer d)
{
	char *ring = rfs_mnt(f->m, "ring");
	struct result r = ctl("create", ring, f->buf, "8");
	assert_status(r, 0);
	result_clear(&r);
	struct stat st;
	g_assert_cmpint(stat(ring, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, (off_t)(8 * PS));
	r = ctl("remap", ring, "4", "0", "4");
	assert_status(r, 0);
	result_clear(&r);
	r = ctl("show", ring);
	assert_status(r, 0);
	char *want = g_strdup_printf(
	    "# %s: virtual view 'ring' of the mount %s, 8 pages of %zu bytes,"
	    " backing file 'buf'\n"
	    "VIEW PAGES  BACKING PAGES  COUNT  MAP       ALIASED\n"
	    "0-3         0-3                4  identity  0-3\n"
	    "4-7         0-3                4  remap     0-3\n",
	    ring, f->m->mnt, PS);
	g_assert_cmpstr(r.out, ==, want);
	g_free(want);
	result_clear(&r);
	r = ctl("resize", ring, "6");
	assert_status(r, 0);
	result_clear(&r);
	assert_state(f, "create ring buf 6\nremap ring 4 0 2\n");
	r = ctl("create", ring, f->buf);
	assert_status(r, 1);
	g_assert_nonnull(strstr(r.err, "exists"));
	result_clear(&r);
	r = ctl("remove", ring);
	assert_status(r, 0);
	result_clear(&r);
	g_assert_cmpint(stat(ring, &st), ==, -1);
	/* Default size: the backing file's. */
	r = ctl("create", ring, f->buf);
	assert_status(r, 0);
	result_clear(&r);
	assert_state(f, "create ring buf 4\n");
	g_free(ring);
}

static void test_show_marks_identity_and_aliases(Fixture *f, gconstpointer d)
{
	struct result r = ctl("remap", f->f, "0", "1");
	result_clear(&r);
	r = ctl("remap", f->f, "1", "0");
	result_clear(&r);
	r = ctl("remap", f->f, "8", "2", "2");
	result_clear(&r);
	r = ctl("show", f->f, f->f);
	assert_status(r, 0);
	char *table = g_strdup_printf(
	    "# %s: file view 'f' of the mount %s, 16 pages of %zu bytes,"
	    " backing file 'f'\n"
	    "VIEW PAGES  BACKING PAGES  COUNT  MAP       ALIASED\n"
	    "0           1                  1  remap     -\n"
	    "1           0                  1  remap     -\n"
	    "2-7         2-7                6  identity  2-3\n"
	    "8-9         2-3                2  remap     2-3\n"
	    "10-15       10-15              6  identity  -\n",
	    f->f, f->m->mnt, PS);
	char *want = g_strdup_printf("%s\n%s", table, table);
	g_assert_cmpstr(r.out, ==, want);
	g_free(want);
	g_free(table);
	result_clear(&r);
}

static void test_save_and_load_round_trip(Fixture *f, gconstpointer d)
{
	char *ring = rfs_mnt(f->m, "ring");
	struct result r = ctl("create", ring, f->buf, "8");
	result_clear(&r);
	r = ctl("remap", ring, "4", "0", "4");
	result_clear(&r);
	r = ctl("remap", f->f, "2", "7");
	result_clear(&r);
	char *dump = rfs_dump(f->m);

	/* To standard output, and to a file. */
	r = ctl("save", f->m->mnt);
	assert_status(r, 0);
	g_assert_cmpstr(r.out, ==, dump);
	result_clear(&r);
	char *file = g_build_filename(f->m->base, "state.txt", NULL);
	r = ctl("save", f->f, file);
	assert_status(r, 0);
	g_assert_cmpstr(r.out, ==, "");
	result_clear(&r);
	char *saved = NULL;
	g_assert_true(g_file_get_contents(file, &saved, NULL, NULL));
	g_assert_cmpstr(saved, ==, dump);

	/* Change everything, then load --replace: exactly the saved state. */
	r = ctl("remove", ring);
	result_clear(&r);
	r = ctl("create", ring, f->f, "2");
	result_clear(&r);
	char *extra = rfs_mnt(f->m, "extra");
	r = ctl("create", extra, f->buf);
	result_clear(&r);
	r = ctl("remap", f->f, "9", "9", "1");
	result_clear(&r);
	r = ctl("remap", f->f, "3", "9");
	result_clear(&r);
	r = ctl("load", "--replace", f->m->mnt, file);
	assert_status(r, 0);
	result_clear(&r);
	char *now = rfs_dump(f->m);
	g_assert_cmpstr(now, ==, dump);
	g_free(now);

	/* Into a fresh mount, from standard input. */
	rfs_test_stop(f->m);
	g_assert_true(rfs_test_start(f->m, NULL));
	assert_state(f, "");
	r = ctl_in(saved, "load", f->m->mnt, NULL);
	assert_status(r, 0);
	result_clear(&r);
	now = rfs_dump(f->m);
	g_assert_cmpstr(now, ==, dump);
	g_free(now);

	/* Again without --replace: create of an existing view fails, and
	 * nothing changes; the message names the line of the file. */
	r = ctl("reset", f->f);
	result_clear(&r);
	r = ctl("load", f->m->mnt, file);
	assert_status(r, 1);
	g_assert_nonnull(strstr(r.err, ": line 2: create: "));
	result_clear(&r);
	assert_state(f, "create ring buf 8\nremap ring 4 0 4\n");

	/* Another page size, a syntax error: refused. */
	r = ctl_in("# remapfs state: pagesize 1048576\nremap f 0 1 1\n", "load",
		   f->f, "-", NULL);
	assert_status(r, 1);
	g_assert_nonnull(strstr(r.err, "pages of 1048576 bytes"));
	result_clear(&r);
	r = ctl_in("remap f 0 1 1\nremap f 1 x 1\n", "load", f->f, NULL);
	assert_status(r, 1);
	g_assert_nonnull(strstr(r.err, "line 2"));
	result_clear(&r);
	assert_state(f, "create ring buf 8\nremap ring 4 0 4\n");
	g_free(saved);
	g_free(file);
	g_free(extra);
	g_free(dump);
	g_free(ring);
}

/* Completes the words (the last one being completed) with the bash
 * completion; returns COMPREPLY joined by spaces, NULL without bash. */
static char *complete(const char *words)
{
	char *bash = g_find_program_in_path("bash");
	if (!bash)
		return NULL;
	char *script = g_strdup_printf(
	    "source '%s'; COMP_WORDS=(%s); COMP_CWORD=$((${#COMP_WORDS[@]}-1));"
	    " _remapctl; echo \"${COMPREPLY[*]}\"",
	    COMPLETION, words);
	char *argv[] = {bash, "--norc", "-c", script, NULL};
	char *out = NULL;
	int status = -1;
	g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL,
		     &status, NULL);
	g_free(script);
	g_free(bash);
	if (out)
		g_strchomp(out);
	return out;
}

static void test_bash_completion_completes_commands(void)
{
	char *s = complete("remapctl re ''");
	if (!s) {
		g_test_skip("no bash");
		return;
	}
	g_free(s);
	s = complete("remapctl re");
	g_assert_cmpstr(s, ==, "remap reset resize remove restart");
	g_free(s);
	s = complete("remapctl --he");
	g_assert_cmpstr(s, ==, "--help");
	g_free(s);
	s = complete("remapctl load --r");
	g_assert_cmpstr(s, ==, "--replace");
	g_free(s);
	/* Numbers are not completed. */
	s = complete("remapctl remap /etc/passwd ''");
	g_assert_cmpstr(s, ==, "");
	g_free(s);
	/* Paths are. */
	s = complete("remapctl show " ABS_SRCDIR "/contrib/bash-completion/re");
	g_assert_cmpstr(s, ==, ABS_SRCDIR "/contrib/bash-completion/remapctl");
	g_free(s);
}

/* The zsh completion parses, and offers every command remapctl --help
 * lists (zsh's completion system cannot run without a terminal). */
static void test_zsh_completion_knows_every_command(void)
{
	const char *file = ABS_SRCDIR "/contrib/zsh-completion/_remapctl";
	char *zsh = g_find_program_in_path("zsh");
	if (!zsh) {
		g_test_skip("no zsh");
		return;
	}
	char *cmd = g_strdup_printf("%s -n %s", zsh, file);
	int status = -1;
	char *err = NULL;
	g_assert_true(
	    g_spawn_command_line_sync(cmd, NULL, &err, &status, NULL));
	if (status != 0)
		g_printerr("zsh -n %s: %s\n", file, err);
	g_assert_cmpint(status, ==, 0);
	g_free(err);
	g_free(cmd);
	g_free(zsh);
	char *text = NULL;
	g_assert_true(g_file_get_contents(file, &text, NULL, NULL));
	struct result r = ctl("--help");
	assert_status(r, 0);
	/* "  NAME ARGS   description" lines under "Commands:" */
	const char *at = strstr(r.out, "Commands:\n");
	g_assert_nonnull(at);
	unsigned found = 0;
	const char *end = strstr(at, "\nOptions:");
	for (const char *l = at; l && *l && (!end || l < end);
	     l = strchr(l + 1, '\n')) {
		char name[32];
		/* a command starts two columns in; descriptions further */
		if (strncmp(l, "\n  ", 3) != 0 || !g_ascii_islower(l[3]) ||
		    sscanf(l + 3, "%31[a-z]", name) != 1)
			continue;
		char *entry = g_strdup_printf("'%s:", name);
		if (!strstr(text, entry))
			g_printerr("the zsh completion lacks '%s'\n", name);
		g_assert_nonnull(strstr(text, entry));
		g_free(entry);
		found++;
	}
	g_assert_cmpuint(found, >=, 9);
	result_clear(&r);
	g_free(text);
}

/* remapctl load of a large state shows its progress on a terminal (here
 * a pseudo-terminal made by script(1)) and nothing when piped. */
static void test_load_progress_on_a_terminal_only(Fixture *f, gconstpointer d)
{
	(void)d;
	GString *st = g_string_new(NULL);
	g_string_append_printf(st, "# remapfs state: pagesize %zu\n", PS);
	g_string_append(st, "create big f 200000\n");
	for (unsigned i = 0; i < 100000; i++)
		g_string_append_printf(st, "remap big %u %u 1\n", 2 * i,
				       (i * 7) % 16);
	char *file = g_build_filename(f->m->base, "big.state", NULL);
	g_assert_true(
	    g_file_set_contents(file, st->str, (gssize)st->len, NULL));
	struct result r = ctl("load", f->m->mnt, file);
	assert_status(r, 0);
	if (*r.err)
		g_printerr("expected nothing on a pipe, got: %s\n", r.err);
	g_assert_cmpstr(r.err, ==, "");
	result_clear(&r);
	char *script = g_find_program_in_path("script");
	if (!script) {
		g_test_skip("script(1) is not installed");
	} else {
		char *cmd = g_strdup_printf(
		    "script -qec '%s load --replace %s %s' /dev/null", REMAPCTL,
		    f->m->mnt, file);
		char *out = NULL;
		int status = -1;
		g_assert_true(
		    g_spawn_command_line_sync(cmd, &out, NULL, &status, NULL));
		if (!strstr(out, "MB applied"))
			g_printerr("expected progress on a terminal, got: %s\n",
				   out);
		g_assert_cmpint(status, ==, 0);
		g_assert_nonnull(strstr(out, "MB applied"));
		g_free(out);
		g_free(cmd);
	}
	g_free(script);
	char *dump = rfs_dump(f->m);
	g_assert_nonnull(strstr(dump, "remap big 199998 "));
	g_free(dump);
	g_free(file);
	g_string_free(st, TRUE);
}

/* show --summary sums a map up; --svg and --html draw it into files
 * (one view only); the picture is checked in test-lib-pure. */
static void test_show_summary_and_pictures(Fixture *f, gconstpointer d)
{
	(void)d;
	struct result r = ctl("remap", f->f, "0", "3", "2");
	assert_status(r, 0);
	result_clear(&r);
	r = ctl("show", "--summary", f->f);
	assert_status(r, 0);
	g_assert_nonnull(strstr(r.out, "runs: 2 (identity 1, remapped 1)\n"));
	g_assert_nonnull(strstr(r.out, "aliased backing pages: 2 in 1 range"));
	g_assert_null(strstr(r.out, "VIEW PAGES"));
	result_clear(&r);
	char *svg = g_build_filename(f->m->base, "f.svg", NULL);
	char *html = g_build_filename(f->m->base, "f.html", NULL);
	r = ctl("show", "--svg", svg, "--html", html, f->f);
	assert_status(r, 0);
	result_clear(&r);
	char *text = NULL;
	g_assert_true(g_file_get_contents(svg, &text, NULL, NULL));
	g_assert_true(g_str_has_prefix(text, "<svg "));
	g_assert_nonnull(strstr(text, "class=\"aliased\""));
	g_free(text);
	g_assert_true(g_file_get_contents(html, &text, NULL, NULL));
	g_assert_true(g_str_has_prefix(text, "<!DOCTYPE html>"));
	g_free(text);
	r = ctl("show", "--svg", svg, f->f, f->buf);
	assert_status(r, 2);
	result_clear(&r);
	r = ctl("remap", "--svg", svg, f->f, "0", "1");
	assert_status(r, 2);
	result_clear(&r);
	g_free(svg);
	g_free(html);
}

/* remapctl stats: the daemon's figures and each view's, counted as the
 * mount serves them; .stats is the owner's alone, never listed, and
 * cannot be changed. */
static void test_stats_count_what_the_mount_served(Fixture *f, gconstpointer d)
{
	(void)d;
	g_assert_cmpint(rfs_ctl(f->m, "remap f 0 3 2\ncreate v buf 2\n"), ==,
			0);
	char buf[65536];
	int fd = open(f->f, O_RDONLY);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(pread(fd, buf, PS, 0), ==, (ssize_t)PS);
	close(fd);
	struct result r = ctl("stats", f->m->mnt);
	assert_status(r, 0);
	g_assert_nonnull(strstr(r.out, "transactions "));
	g_assert_nonnull(strstr(r.out, "  f\n"));
	g_assert_nonnull(strstr(r.out, "  v\n"));
	result_clear(&r);
	r = ctl("stats", "--json", f->m->mnt, f->f);
	assert_status(r, 0);
	if (!strstr(r.out, "\"remapped_pages\": 2, ") ||
	    !strstr(r.out, "\"aliased_pages\": 2, \"path\": \"f\"") ||
	    strstr(r.out, "\"reads\": 0,"))
		g_printerr("stats of f: %s", r.out);
	g_assert_nonnull(strstr(r.out, "\"remapped_pages\": 2, "));
	g_assert_nonnull(
	    strstr(r.out, "\"aliased_pages\": 2, \"path\": \"f\""));
	g_assert_null(strstr(r.out, "\"reads\": 0,"));
	result_clear(&r);
	/* Only the owner reads it; nobody changes it; listings leave it out. */
	char *stats = rfs_mnt(f->m, ".stats");
	g_assert_cmpint(open(stats, O_WRONLY), ==, -1);
	g_assert_cmpint(unlink(stats), ==, -1);
	g_assert_cmpint(errno, ==, EPERM);
	g_assert_cmpint(chmod(f->m->base, 0755), ==, 0);
	char *cmd = g_strdup_printf(
	    "setpriv --reuid=65534 --regid=65534 --clear-groups cat %s "
	    ">/dev/null 2>&1",
	    stats);
	int status = system(cmd);
	g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
	g_free(cmd);
	g_free(stats);
}

static const char *const opts_default[] = {NULL};
static const char *const opts_fsname[] = {"-o", "fsname=elsewhere", NULL};
static const char *const opts_subtype[] = {"-o", "subtype=other", NULL};

/* The daemon's -o fsname and -o subtype change the mount's source and
 * type; remapctl finds the mount all the same. */
static void test_finds_mounts_with_fsname_or_subtype(Fixture *f,
						     gconstpointer d)
{
	(void)d;
	struct result r = ctl("remap", f->f, "0", "3", "2");
	assert_status(r, 0);
	result_clear(&r);
	assert_state(f, "remap f 0 3 2\n");
	r = ctl("show", f->f);
	assert_status(r, 0);
	g_assert_nonnull(strstr(r.out, "file view 'f'"));
	result_clear(&r);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	PS = (size_t)sysconf(_SC_PAGESIZE);
	rfs_test_watchdog(600, "test-remapctl");
#define ADD(path, fn)                                                          \
	g_test_add(path, Fixture, opts_default, fx_setup, fn, fx_teardown)
	g_test_add_func("/remapctl/help-lists-every-command",
			test_help_lists_every_command);
	ADD("/remapctl/usage-errors-exit-2", test_usage_errors_exit_2);
	ADD("/remapctl/remap-reset-invalidate-change-the-map",
	    test_remap_reset_invalidate_change_the_map);
	ADD("/remapctl/failures-exit-1-with-daemon-message",
	    test_failures_exit_1_with_daemon_message);
	ADD("/remapctl/create-resize-remove-and-show",
	    test_create_resize_remove_and_show);
	ADD("/remapctl/show-marks-identity-and-aliases",
	    test_show_marks_identity_and_aliases);
	ADD("/remapctl/save-and-load-round-trip",
	    test_save_and_load_round_trip);
	ADD("/remapctl/stats-count-what-the-mount-served",
	    test_stats_count_what_the_mount_served);
	ADD("/remapctl/show-summary-and-pictures",
	    test_show_summary_and_pictures);
	ADD("/remapctl/load-progress-on-a-terminal-only",
	    test_load_progress_on_a_terminal_only);
	g_test_add("/remapctl/finds-mounts-with-fsname", Fixture, opts_fsname,
		   fx_setup, test_finds_mounts_with_fsname_or_subtype,
		   fx_teardown);
	g_test_add("/remapctl/finds-mounts-with-subtype", Fixture, opts_subtype,
		   fx_setup, test_finds_mounts_with_fsname_or_subtype,
		   fx_teardown);
	g_test_add_func("/remapctl/bash-completion-completes-commands",
			test_bash_completion_completes_commands);
	g_test_add_func("/remapctl/zsh-completion-knows-every-command",
			test_zsh_completion_knows_every_command);
	return g_test_run();
}
