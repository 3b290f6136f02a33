/* SPDX-License-Identifier: GPL-2.0-or-later */
/* txn.h - one .control transaction: its text parsed, every command checked
 * in order against a simulation of the state (a later line sees what an
 * earlier one creates, resizes or removes), then all applied or none, the
 * kernel told what to drop (dirty pages are written back where they were
 * read from), and the route overlays settled.  Runs on the control thread
 * only (control.h), with no lock held. */
#pragma once
#include "remapfs.h"
#include <glib.h>

/* Applies len bytes of text as one transaction; its lines are numbered
 * from first_line.  Returns 0, or a positive errno with "line L: message"
 * (or a message without a line) in msg.  On success, appends to told
 * (unless NULL) the names the kernel must forget and the virtual view
 * nodes it resized, for the caller to send (push.h) before the
 * acknowledgement; without told the names are sent at once.  When a create
 * without a page count ran, also appends to record (unless NULL) the
 * transaction as the journal must keep it: every create with the pages it
 * got (its backing file may have another size when the journal is read);
 * record stays empty otherwise (text is what to keep). */
struct rfs_push;
int rfs_txn_run(struct rfs_ctx *ctx, const char *text, size_t len,
		unsigned first_line, GString *msg, struct rfs_push *told,
		GString *record);
