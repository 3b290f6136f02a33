/* SPDX-License-Identifier: GPL-2.0-or-later */
/* restore.c - loading -o state at mount (see restore.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "restore.h"
#include "control.h"
#include "dump.h"
#include "durable.h"
#include "protocol.h"
#include "state.h"
#include "views.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* One command of a record, and whether it was rejected. */
struct entry {
	rfs_cmd cmd;
	bool rejected;
};

/* Parses body line by line into entries; lines that do not parse are
 * rejected right away, with why appended to rejected. */
static GArray *parse_entries(struct rfs_ctx *ctx, const char *body, size_t len,
			     GString *rejected)
{
	GArray *out = g_array_new(FALSE, TRUE, sizeof(struct entry));
	GArray *cmds = g_array_new(FALSE, FALSE, sizeof(rfs_cmd));
	rfs_state_parse_commands(body, len, ctx->page_limit, cmds, rejected);
	for (guint i = 0; i < cmds->len; i++) {
		struct entry e = {g_array_index(cmds, rfs_cmd, i), false};
		g_array_append_val(out, e); /* the strings move into e */
	}
	g_array_unref(cmds); /* no clear func: nothing freed */
	return out;
}

/* Rejects entry i (applying it failed with why), and the later entries
 * naming the view that a rejected create would have made. */
static void reject(GArray *es, guint i, const char *why, GString *rejected)
{
	struct entry *e = &g_array_index(es, struct entry, i);
	e->rejected = true;
	GString *line = g_string_new(NULL);
	rfs_cmd_format(line, &e->cmd);
	g_string_append_printf(rejected, "# %s\n%s", why, line->str);
	if (e->cmd.op == RFS_OP_CREATE)
		for (guint k = i + 1; k < es->len; k++) {
			struct entry *d = &g_array_index(es, struct entry, k);
			if (d->rejected || strcmp(d->cmd.view, e->cmd.view))
				continue;
			if (d->cmd.op == RFS_OP_CREATE)
				break; /* a later create of the name stands */
			d->rejected = true;
			g_string_truncate(line, 0);
			rfs_cmd_format(line, &d->cmd);
			g_string_append_printf(rejected,
					       "# its view '%s' was not "
					       "created\n%s",
					       e->cmd.view, line->str);
		}
	g_string_free(line, TRUE);
}

/* For a worker that replaces one that died (ctx->restarting): clips the
 * page ranges of mirrored views' entries to their files' sizes now, as
 * the dead worker did when the files shrank through the mount (a remap
 * of pages past the end is gone, one that ends past it is cut), instead
 * of rejecting what that worker still had. */
static void clip_mirrored(struct rfs_ctx *ctx, GArray *es)
{
	GHashTable *made = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; i < es->len; i++) {
		struct entry *e = &g_array_index(es, struct entry, i);
		rfs_cmd *c = &e->cmd;
		struct stat st;
		if (c->op == RFS_OP_CREATE)
			g_hash_table_add(made, c->view);
		if ((c->op != RFS_OP_REMAP && c->op != RFS_OP_RESET) ||
		    !(c->has & RFS_HAS_VPAGE) ||
		    g_hash_table_contains(made, c->view) ||
		    fstatat(ctx->nodes.root->fd, c->view, &st,
			    AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		uint64_t pages = rfs_pages_of(ctx, st.st_size);
		if (c->vpage >= pages)
			e->rejected = true; /* gone, not kept as rejected */
		else if (c->count > pages - c->vpage)
			c->count = pages - c->vpage;
	}
	g_hash_table_unref(made);
}

/* For a restart: the unique ID a record's first line names (control.c's
 * "# unique N"), kept in ctx->done_uniques. */
static void note_unique(struct rfs_ctx *ctx, const char *body, size_t len)
{
	static const char tag[] = "# unique ";
	if (!ctx->done_uniques || len < sizeof(tag) ||
	    memcmp(body, tag, sizeof(tag) - 1) != 0)
		return;
	char *end;
	uint64_t u = g_ascii_strtoull(body + sizeof(tag) - 1, &end, 10);
	if (u && *end == '\n')
		g_hash_table_add(ctx->done_uniques, (gpointer)(uintptr_t)u);
}

static void block_free(gpointer block)
{
	g_string_free(block, TRUE);
}

/* For a restart: keeps the orphan blocks (dump.h) of a record in orphans
 * (ID -> the block's commands as text, naming RFS_ORPHAN_NAME), a later
 * block of an ID replacing an earlier one. */
static void note_orphans(GHashTable *orphans, const char *body, size_t len)
{
	char *text = g_strndup(body, len);
	char **lines = g_strsplit(text, "\n", -1);
	GString *block = NULL;
	for (char **l = lines; *l; l++) {
		if (g_str_has_prefix(*l, RFS_ORPHAN_TAG)) {
			char *end;
			uint64_t id = g_ascii_strtoull(
			    *l + strlen(RFS_ORPHAN_TAG), &end, 10);
			block = id && !*end ? g_string_new(NULL) : NULL;
			if (block)
				g_hash_table_replace(
				    orphans, (gpointer)(uintptr_t)id, block);
		} else if (block && g_str_has_prefix(*l, RFS_ORPHAN_LINE)) {
			g_string_append_printf(block, "%s\n",
					       *l + strlen(RFS_ORPHAN_LINE));
		} else {
			block = NULL;
		}
	}
	g_strfreev(lines);
	g_free(text);
}

/* Makes an orphan again under a free name at the root, takes it out of
 * the namespace and gives it the kernel's ID; returns its node (ref) or
 * NULL (the kernel forgot it, or its block no longer applies: logged). */
static struct rfs_node *make_orphan(struct rfs_ctx *ctx, uint64_t id,
				    const GString *block)
{
	GArray *cmds = g_array_new(FALSE, FALSE, sizeof(rfs_cmd));
	GString *rejected = g_string_new(NULL), *msg = g_string_new(NULL);
	GString *text = g_string_new(NULL);
	struct rfs_node *node = NULL;
	rfs_state_parse_commands(block->str, block->len, ctx->page_limit, cmds,
				 rejected);
	char *name = NULL;
	for (unsigned attempt = 0; !node && cmds->len && attempt < 4;
	     attempt++) {
		g_free(name);
		name = g_strdup_printf(".remapfs-orphan-%" PRIu64 "-%u", id,
				       g_random_int());
		g_string_truncate(text, 0);
		for (guint i = 0; i < cmds->len; i++) {
			rfs_cmd c = g_array_index(cmds, rfs_cmd, i);
			c.view = name;
			rfs_cmd_format(text, &c);
		}
		g_string_truncate(msg, 0);
		if (rfs_control_apply_text(ctx, text->str, text->len, msg))
			continue; /* its name taken in SOURCE? */
		g_mutex_lock(&ctx->viewsets_lock);
		g_rw_lock_writer_lock(&ctx->state_lock);
		struct rfs_view *v =
		    ctx->nodes.root->virtuals
			? g_hash_table_lookup(ctx->nodes.root->virtuals, name)
			: NULL;
		if (v) {
			node =
			    v->node; /* the namespace's reference, now ours */
			rfs_view_unlist(ctx, v);
		}
		g_rw_lock_writer_unlock(&ctx->state_lock);
		g_mutex_unlock(&ctx->viewsets_lock);
		if (!node)
			break;
	}
	if (!node)
		g_warning("restart: a view removed while open (node %" PRIu64
			  ") cannot be made again: %s",
			  id, cmds->len ? msg->str : rejected->str);
	else if (!rfs_nodes_claim_orphan(&ctx->nodes, node, id)) {
		rfs_node_unref(&ctx->nodes, node); /* forgotten since */
		node = NULL;
	}
	g_free(name);
	for (guint i = 0; i < cmds->len; i++)
		rfs_cmd_clear(&g_array_index(cmds, rfs_cmd, i));
	g_array_unref(cmds);
	g_string_free(rejected, TRUE);
	g_string_free(msg, TRUE);
	g_string_free(text, TRUE);
	return node;
}

/* Applies the entries that are not rejected as one transaction, rejecting
 * one entry at a time until the rest applies. */
static void apply_entries(struct rfs_ctx *ctx, GArray *es, GString *rejected)
{
	GString *text = g_string_new(NULL), *msg = g_string_new(NULL);
	GArray *index = g_array_new(FALSE, FALSE, sizeof(guint));
	for (guint round = 0; round <= es->len; round++) {
		g_string_truncate(text, 0);
		g_array_set_size(index, 0);
		for (guint i = 0; i < es->len; i++) {
			struct entry *e = &g_array_index(es, struct entry, i);
			if (e->rejected)
				continue;
			rfs_cmd_format(text, &e->cmd);
			g_array_append_val(index, i);
		}
		if (!index->len)
			break;
		g_string_truncate(msg, 0);
		if (!rfs_control_apply_text(ctx, text->str, text->len, msg))
			break;
		unsigned line = 0;
		int used = 0;
		if (sscanf(msg->str, "line %u: %n", &line, &used) != 1 ||
		    line == 0 || line > index->len) {
			/* Not one line's fault: give up on the record. */
			for (guint k = 0; k < index->len; k++)
				reject(es, g_array_index(index, guint, k),
				       msg->str, rejected);
			break;
		}
		reject(es, g_array_index(index, guint, line - 1),
		       msg->str + used, rejected);
	}
	g_array_unref(index);
	g_string_free(text, TRUE);
	g_string_free(msg, TRUE);
}

/* Keeps the rejected entries in PATH.rejected and names them. */
static void keep_rejected(const char *path, GString *rejected)
{
	char *file = g_strconcat(path, ".rejected", NULL);
	char stamp[64];
	time_t now = time(NULL);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", localtime(&now));
	char **lines = g_strsplit(rejected->str, "\n", -1);
	for (char **l = lines; *l; l++)
		if (g_str_has_prefix(*l, "# ") && l[1] && *l[1])
			g_warning("state: %s: rejected '%s': %s (kept in %s)",
				  path, l[1], *l + 2, file);
	g_strfreev(lines);
	int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	GString *out = g_string_new(NULL);
	g_string_printf(out, "# remapfs: entries of %s rejected at mount, %s\n",
			path, stamp);
	g_string_append(out, rejected->str);
	if (fd < 0 || write(fd, out->str, out->len) != (ssize_t)out->len ||
	    fsync(fd) < 0)
		g_warning("state: cannot keep the rejected entries in %s: %s",
			  file, g_strerror(errno));
	if (fd >= 0)
		close(fd);
	g_string_free(out, TRUE);
	g_free(file);
}

struct rfs_journal *rfs_restore_state(struct rfs_ctx *ctx, GString *msg)
{
	const char *path = ctx->opts.state_file;
	char *text = NULL;
	GArray *recs =
	    g_array_new(FALSE, FALSE, sizeof(struct rfs_state_record));
	GString *why = g_string_new(NULL), *note = g_string_new(NULL);
	GString *rejected = g_string_new(NULL);
	GHashTable *orphans =
	    g_hash_table_new_full(NULL, NULL, NULL, block_free);
	struct rfs_journal *j = NULL;
	int err = rfs_journal_read(path, ctx->pagesize, &text, recs, why, note);
	if (err && err != ENOENT) {
		g_string_printf(msg, "state file %s", why->str);
		goto out;
	}
	if (note->len)
		g_warning("state: %s", note->str);
	for (guint i = 0; i < recs->len; i++) {
		struct rfs_state_record *r =
		    &g_array_index(recs, struct rfs_state_record, i);
		GArray *es = parse_entries(ctx, r->body, r->len, rejected);
		if (ctx->restarting) {
			clip_mirrored(ctx, es);
			note_unique(ctx, r->body, r->len);
			note_orphans(orphans, r->body, r->len);
		}
		apply_entries(ctx, es, rejected);
		for (guint k = 0; k < es->len; k++)
			rfs_cmd_clear(&g_array_index(es, struct entry, k).cmd);
		g_array_unref(es);
	}
	GHashTableIter it;
	gpointer id, block;
	g_hash_table_iter_init(&it, orphans);
	while (ctx->orphans && g_hash_table_iter_next(&it, &id, &block)) {
		struct rfs_node *n =
		    make_orphan(ctx, (uint64_t)(uintptr_t)id, block);
		if (n)
			g_ptr_array_add(ctx->orphans, n);
	}
	if (rejected->len)
		keep_rejected(path, rejected);
	unsigned left = rfs_durable_remove_leftovers(path);
	if (left)
		g_message("state: removed %u unfinished snapshot%s of %s that "
			  "killed daemons left",
			  left, left == 1 ? "" : "s", path);
	j = rfs_journal_new(path, ctx->pagesize, ctx->privfds);
	GString *dump = rfs_dump_journal(ctx);
	err = rfs_journal_snapshot(j, dump->str, dump->len);
	g_string_free(dump, TRUE);
	if (err) {
		g_string_printf(msg, "state file '%s' cannot be written: %s",
				path, g_strerror(err));
		rfs_journal_free(j);
		j = NULL;
	}
out:
	g_free(text);
	g_array_unref(recs);
	g_string_free(why, TRUE);
	g_string_free(note, TRUE);
	g_string_free(rejected, TRUE);
	g_hash_table_unref(orphans);
	return j;
}
