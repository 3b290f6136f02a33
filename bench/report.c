/* SPDX-License-Identifier: GPL-2.0-or-later */
/* report.c - the results: one table (or one JSON document) with the
 * machine, the figures, their references, ratios and targets. */
#include "bench.h"
#include "lib/statstext.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static GPtrArray *results; /* struct bench_result * */
static GPtrArray *notes;   /* char * */
static GPtrArray *headers; /* char *key, char *value, ... */

/* Whether the target of r is met: 1, 0, or -1 when there is none or the
 * figure is missing. */
static int target_met(const struct bench_result *r)
{
	double x = r->tkind == BT_RATIO_GE || r->tkind == BT_RATIO_GT
		       ? r->ratio
		       : r->value;
	if (r->tkind == BT_NONE || isnan(x))
		return -1;
	switch (r->tkind) {
	case BT_RATIO_GE:
	case BT_VALUE_GE:
		return x >= r->tval;
	case BT_RATIO_GT:
		return x > r->tval;
	case BT_VALUE_LE:
		return x <= r->tval;
	case BT_VALUE_LT:
		return x < r->tval;
	case BT_NONE:
		break;
	}
	return -1;
}

struct bench_result *bench_add(int section, const char *name, double value,
			       const char *unit, const char *against,
			       double ref, enum bench_target tkind, double tval)
{
	struct bench_result *r = g_new0(struct bench_result, 1);
	if (!results)
		results = g_ptr_array_new();
	r->section = section;
	r->name = g_strdup(name);
	r->value = value;
	r->unit = g_strdup(unit);
	r->against = g_strdup(against);
	r->ref = ref;
	r->ratio = isnan(ref) || ref == 0 ? NAN : value / ref;
	r->tkind = tkind;
	r->tval = tval;
	r->met = target_met(r);
	r->peer = NAN;
	g_ptr_array_add(results, r);
	return r;
}

void bench_set_peer(struct bench_result *r, double peer)
{
	r->peer = peer;
}

/* Whether any result has a figure on the peer. */
static bool any_peer(void)
{
	for (guint i = 0; results && i < results->len; i++)
		if (!isnan(((struct bench_result *)results->pdata[i])->peer))
			return true;
	return false;
}

void bench_note(const char *fmt, ...)
{
	va_list ap;
	if (!notes)
		notes = g_ptr_array_new();
	va_start(ap, fmt);
	g_ptr_array_add(notes, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

void bench_header(const char *key, const char *fmt, ...)
{
	va_list ap;
	if (!headers)
		headers = g_ptr_array_new();
	g_ptr_array_add(headers, g_strdup(key));
	va_start(ap, fmt);
	g_ptr_array_add(headers, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

/* A figure with about four significant digits, no exponent. */
static char *fmt_num(double v)
{
	double a = fabs(v);
	if (isnan(v))
		return g_strdup("-");
	if (a >= 1000)
		return g_strdup_printf("%.0f", v);
	if (a >= 100)
		return g_strdup_printf("%.1f", v);
	if (a >= 10)
		return g_strdup_printf("%.2f", v);
	if (a >= 0.001 || a == 0)
		return g_strdup_printf("%.3f", v);
	return g_strdup_printf("%.3g", v);
}

/* The target as text ("-" when there is none). */
static char *fmt_target(const struct bench_result *r)
{
	char *n = fmt_num(r->tval), *res;
	switch (r->tkind) {
	case BT_RATIO_GE:
		res = g_strdup_printf(">= %sx", n);
		break;
	case BT_RATIO_GT:
		res = g_strdup_printf("> %sx", n);
		break;
	case BT_VALUE_GE:
		res = g_strdup_printf(">= %s %s", n, r->unit);
		break;
	case BT_VALUE_LE:
		res = g_strdup_printf("<= %s %s", n, r->unit);
		break;
	case BT_VALUE_LT:
		res = g_strdup_printf("< %s %s", n, r->unit);
		break;
	default:
		res = g_strdup("-");
	}
	g_free(n);
	return res;
}

/* The met column. */
static const char *fmt_met(int met)
{
	return met < 0 ? "-" : met ? "yes" : "NO";
}

void bench_print_table(void)
{
	size_t wkey = 0, wname = 4, wagainst = 7;
	for (guint i = 0; headers && i < headers->len; i += 2)
		wkey = MAX(wkey, strlen(headers->pdata[i]));
	for (guint i = 0; headers && i < headers->len; i += 2)
		printf("%-*s  %s\n", (int)wkey, (char *)headers->pdata[i],
		       (char *)headers->pdata[i + 1]);
	printf("\n");
	for (guint i = 0; results && i < results->len; i++) {
		struct bench_result *r = results->pdata[i];
		wname = MAX(wname, strlen(r->name));
		wagainst = MAX(wagainst, r->against ? strlen(r->against) : 1);
	}
	bool peer = any_peer();
	printf("%-3s %-*s %10s %-8s %-*s %10s %8s %-16s %-4s%s\n", "sec",
	       (int)wname, "case", "value", "unit", (int)wagainst, "against",
	       "reference", "ratio", "target", "met",
	       peer ? "    bindfs  /bindfs" : "");
	int last = 0;
	guint met = 0, missed = 0;
	for (guint i = 0; results && i < results->len; i++) {
		struct bench_result *r = results->pdata[i];
		char *v = fmt_num(r->value), *ref = fmt_num(r->ref);
		char *ratio = fmt_num(r->ratio), *t = fmt_target(r);
		if (last && r->section != last)
			printf("\n");
		last = r->section;
		printf("%-3d %-*s %10s %-8s %-*s %10s %8s %-16s %-4s",
		       r->section, (int)wname, r->name, v, r->unit,
		       (int)wagainst, r->against ? r->against : "-", ref, ratio,
		       t, fmt_met(r->met));
		if (peer && !isnan(r->peer)) {
			char *p = fmt_num(r->peer),
			     *pr = fmt_num(r->value / r->peer);
			printf(" %9s %8s", p, pr);
			g_free(p);
			g_free(pr);
		}
		printf("\n");
		met += r->met == 1;
		missed += r->met == 0;
		g_free(v);
		g_free(ref);
		g_free(ratio);
		g_free(t);
	}
	printf("\ntargets: %u met, %u not met\n", met, missed);
	for (guint i = 0; notes && i < notes->len; i++)
		printf("note: %s\n", (char *)notes->pdata[i]);
}

/* Appends a number, or null for NAN. */
static void json_num(GString *out, double v)
{
	if (isnan(v) || isinf(v))
		g_string_append(out, "null");
	else
		g_string_append_printf(out, "%.6g", v);
}

void bench_print_json(void)
{
	GString *o = g_string_new("{\n  \"header\": {");
	for (guint i = 0; headers && i < headers->len; i += 2) {
		g_string_append(o, i ? ",\n    " : "\n    ");
		rfsl_json_string(o, headers->pdata[i]);
		g_string_append(o, ": ");
		rfsl_json_string(o, headers->pdata[i + 1]);
	}
	g_string_append(o, "\n  },\n  \"results\": [");
	for (guint i = 0; results && i < results->len; i++) {
		struct bench_result *r = results->pdata[i];
		char *t = fmt_target(r);
		g_string_append_printf(
		    o, "%s\n    {\"section\": %d, \"case\": ", i ? "," : "",
		    r->section);
		rfsl_json_string(o, r->name);
		g_string_append(o, ", \"value\": ");
		json_num(o, r->value);
		g_string_append(o, ", \"unit\": ");
		rfsl_json_string(o, r->unit);
		g_string_append(o, ", \"against\": ");
		if (r->against)
			rfsl_json_string(o, r->against);
		else
			g_string_append(o, "null");
		g_string_append(o, ", \"reference\": ");
		json_num(o, r->ref);
		g_string_append(o, ", \"ratio\": ");
		json_num(o, r->ratio);
		g_string_append(o, ", \"target\": ");
		if (r->tkind == BT_NONE)
			g_string_append(o, "null");
		else
			rfsl_json_string(o, t);
		g_string_append(o, ", \"bindfs\": ");
		json_num(o, r->peer);
		g_string_append(o, ", \"ratio_bindfs\": ");
		json_num(o, isnan(r->peer) ? NAN : r->value / r->peer);
		g_string_append_printf(o, ", \"met\": %s}",
				       r->met < 0   ? "null"
				       : r->met > 0 ? "true"
						    : "false");
		g_free(t);
	}
	g_string_append(o, "\n  ],\n  \"notes\": [");
	for (guint i = 0; notes && i < notes->len; i++) {
		g_string_append(o, i ? ",\n    " : "\n    ");
		rfsl_json_string(o, notes->pdata[i]);
	}
	g_string_append(o, "\n  ]\n}\n");
	fputs(o->str, stdout);
	g_string_free(o, TRUE);
}
