/*
 * ctl_search.c — the verbs of search: `search` starts a job in searchd,
 * fetches its results as they arrive, prints them (a table, or --json) and
 * stops the job; `reindex` (or `search --reindex`) makes searchd rebuild
 * its index from storaged.
 */
#define _GNU_SOURCE	/* strptime, timegm */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "filetype.h"
#include "hex.h"
#include "ipc.h"

#define CTL_SEARCH_POLL_MS	100
#define CTL_SEARCH_TIMEOUT_S	20	/* the reference's default job timeout */

static uint8_t search_buf[IPC_MSG_MAX];

static const char *const ctl_sorts[IPC_SEARCH_SORT_MAX + 1] = {
	"none", "relevance", "relevance-desc", "date", "date-desc", "name",
	"name-desc", "size", "size-desc", "shared", "shared-desc", "match"
};

static int
ctl_sort_parse(const char *s)
{
	int i;

	for (i = 0; i <= IPC_SEARCH_SORT_MAX; i++)
		if (strcmp(s, ctl_sorts[i]) == 0)
			return i;
	return -1;
}

/* YYYY-MM-DD (UTC) -> Unix seconds of 00:00:00; -1 if malformed. */
static int
ctl_date_parse(const char *s, int64_t *out)
{
	struct tm tm, back;
	char *end;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end == NULL || *end != '\0' || strlen(s) != 10)
		return -1;
	back = tm;
	t = timegm(&back);
	/* timegm normalises 2024-02-31 to March: such a date is refused. */
	if (back.tm_mday != tm.tm_mday || back.tm_mon != tm.tm_mon)
		return -1;
	*out = (int64_t)t;
	return 0;
}

/* N, NK, NM, NG (powers of 1024) -> bytes; -1 if malformed. */
static int
ctl_size_parse(const char *s, int64_t *out)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end != '\0') {
		switch (*end) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		case 't': case 'T': shift = 40; break;
		default: return -1;
		}
		if (end[1] != '\0' && !((end[1] == 'B' || end[1] == 'b') && end[2] == '\0'))
			return -1;
	}
	if (v > (unsigned long long)INT64_MAX >> shift)
		return -1;
	*out = (int64_t)(v << shift);
	return 0;
}

static json_t *
ctl_hit_json(const struct ipc_search_hit *h)
{
	char id[33], hash[65], owner[67];
	json_t *o = json_object(), *sh = json_array();
	int i;

	hex_encode(id, h->file.id, 16);
	hex_encode(hash, h->file.hash, 32);
	hex_encode(owner, h->file.owner, 33);
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "hash", json_string(hash));
	json_object_set_new(o, "owner", json_string(owner));
	json_object_set_new(o, "size", json_integer((json_int_t)h->file.size));
	json_object_set_new(o, "type", json_string(ft_type_name(h->file.type)));
	json_object_set_new(o, "format", json_integer(h->file.format));
	json_object_set_new(o, "date", json_integer(h->file.date));
	json_object_set_new(o, "block", json_integer((json_int_t)h->file.block));
	json_object_set_new(o, "name", ctl_jstr(h->file.name));
	json_object_set_new(o, "folder", ctl_jstr(h->file.folder));
	json_object_set_new(o, "description", ctl_jstr(h->file.description));
	json_object_set_new(o, "local", json_boolean(h->local));
	json_object_set_new(o, "shared_by", json_integer(h->shared_by));
	for (i = 0; i < h->nsharers; i++) {
		hex_encode(owner, h->sharers[i], 33);
		json_array_append_new(sh, json_string(owner));
	}
	json_object_set_new(o, "sharers", sh);
	return o;
}

static void
ctl_hit_print(const struct ipc_search_hit *h)
{
	char hash[65], hs[32], date[32];
	struct tm tm;
	time_t t;

	hex_encode(hash, h->file.hash, 32);
	ctl_human(hs, sizeof(hs), (double)h->file.size);
	if (h->file.date != 0) {
		t = (time_t)h->file.date;
		gmtime_r(&t, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	} else
		strlcpy(date, "-", sizeof(date));
	/* The name goes last: its display width is unknown (CJK, accents). */
	printf("%10s  %-10s  %-10s  %7u%s  %s  %s%s%s\n", hs, ft_type_name(h->file.type),
	    date, h->shared_by, h->local ? "*" : " ", hash, TS(h->file.folder),
	    h->file.folder[0] ? "/" : "", TS(h->file.name));
}

static int
ctl_search_stop(struct ctl *c, const struct ipc_search_id *id)
{
	uint8_t buf[64], *rep;
	size_t len;
	long n;

	n = ipc_search_id_encode(buf, sizeof(buf), IPC_SEARCH_STOP, id);
	/* the job must not outlive the verb, --timeout or not */
	if (ctl_call_grace(c, "searchd", buf, (size_t)n, &rep, &len) == -1)
		return -1;
	free(rep);
	return 0;
}

int
ctl_reindex(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	uint8_t *rep;
	size_t len;
	int rc;

	if ((rc = ctl_verb_ask(c, v, argc, argv, "searchd", IPC_REINDEX, &rep,
	    &len)) >= 0)
		return rc;
	if (ctl_reply_decoded(rep, ipc_empty_decode(rep, len, IPC_REINDEX),
	    "reindex", "searchd") != 0)
		return 1;
	if (c->json)
		ctl_json_print(json_pack("{s:b}", "reindexing", 1));
	else
		printf("searchd is rebuilding its index from storaged\n");
	return 0;
}

/* Option with a value: returns it and advances *i, or NULL (reported). */
static const char *
ctl_opt_value(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		ctl_err("search: %s needs a value", argv[*i]);
		return NULL;
	}
	return argv[++*i];
}

/* Appends one word to the term (joined with spaces); -1 if too long. */
static int
ctl_term_append(char *term, size_t *tlen, int *nterms, const char *w)
{
	size_t wl = strlen(w);

	if (*tlen + (*nterms ? 1 : 0) + wl > IPC_SEARCH_TERM_MAX) {
		ctl_err("search: the search term is too long (at most %d bytes)",
		    IPC_SEARCH_TERM_MAX);
		return -1;
	}
	if ((*nterms)++)
		term[(*tlen)++] = ' ';
	memcpy(term + *tlen, w, wl);
	*tlen += wl;
	term[*tlen] = '\0';
	return 0;
}

int
ctl_search(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	static struct ipc_search_req q;
	static struct ipc_search_hit h;
	struct ipc_search_fetch f;
	struct ipc_search_page pg;
	struct ipc_search_id id;
	char *rv[2] = { (char *)"reindex", NULL };
	const char *val;
	json_t *arr = NULL;
	uint8_t *rep;
	size_t len, tlen = 0;
	uint64_t shown = 0, deadline;
	int64_t timeout_ms = CTL_SEARCH_TIMEOUT_S * 1000, from = 0, to = 0;
	int i, rc, nterms = 0, has_from = 0, has_to = 0, t, reindex = 0;
	long n;

	memset(&q, 0, sizeof(q));
	q.type = IPC_SEARCH_TYPE_ANY;
	q.format = IPC_SEARCH_FORMAT_ANY;
	q.size_min = -1;
	q.size_max = -1;
	q.sort = 11;	/* match: exact keyword first, then more keywords, newer */
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(a, "--json") == 0)
			c->json = 1;
		else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			ctl_verb_usage(v, 0);
			printf("  --type: binary text picture video audio document "
			    "executable container compressed folder ebook\n"
			    "  --sort: none relevance relevance-desc date date-desc name "
			    "name-desc size size-desc shared shared-desc match (default)\n"
			    "  DATE: YYYY-MM-DD (UTC, both ends inclusive); N: bytes with "
			    "an optional K, M, G suffix (powers of 1024)\n");
			return 0;
		} else if (strcmp(a, "--reindex") == 0)
			reindex = 1;
		else if (strcmp(a, "--type") == 0) {
			if ((val = ctl_opt_value(argc, argv, &i)) == NULL)
				return 2;
			if ((t = ft_type_parse(val)) < 0) {
				ctl_err("search: unknown file type '%s' (see --help)", val);
				return 2;
			}
			q.type = (uint8_t)t;
		} else if (strcmp(a, "--from") == 0 || strcmp(a, "--to") == 0) {
			int64_t d;

			if ((val = ctl_opt_value(argc, argv, &i)) == NULL)
				return 2;
			if (ctl_date_parse(val, &d) == -1) {
				ctl_err("search: %s: expected a date YYYY-MM-DD, got '%s'",
				    a, val);
				return 2;
			}
			if (a[2] == 'f') {
				from = d;
				has_from = 1;
			} else {
				to = d + 86399;	/* the whole day */
				has_to = 1;
			}
		} else if (strcmp(a, "--min-size") == 0 || strcmp(a, "--max-size") == 0) {
			int64_t sz;

			if ((val = ctl_opt_value(argc, argv, &i)) == NULL)
				return 2;
			if (ctl_size_parse(val, &sz) == -1) {
				ctl_err("search: %s: expected a size such as 1500, 64K, "
				    "2M or 1G, got '%s'", a, val);
				return 2;
			}
			if (a[2] == 'm' && a[3] == 'i')
				q.size_min = sz;
			else
				q.size_max = sz;
		} else if (strcmp(a, "--sort") == 0) {
			if ((val = ctl_opt_value(argc, argv, &i)) == NULL)
				return 2;
			if ((t = ctl_sort_parse(val)) < 0) {
				ctl_err("search: unknown sort '%s' (see --help)", val);
				return 2;
			}
			q.sort = (uint8_t)t;
		} else if (strcmp(a, "--limit") == 0) {
			char *end;
			long long x;

			if ((val = ctl_opt_value(argc, argv, &i)) == NULL)
				return 2;
			errno = 0;
			x = strtoll(val, &end, 10);
			if (errno || *end || x < 1 || x > IPC_SEARCH_RESULTS_MAX) {
				ctl_err("search: --limit: expected 1..%d, got '%s'",
				    IPC_SEARCH_RESULTS_MAX, val);
				return 2;
			}
			q.limit = (uint32_t)x;
		} else if (strcmp(a, "--timeout") == 0) {
			long long x;

			/*
			 * Milliseconds like the global --timeout, or with a unit.
			 * It was seconds: a bare number under 100 is refused
			 * rather than silently read as a few milliseconds.
			 */
			if ((val = ctl_opt_value(argc, argv, &i)) == NULL)
				return 2;
			if (ctl_parse_ms(val, &x) != 0 || x < 100 ||
			    x > IPC_SEARCH_TIMEOUT_MAX) {
				ctl_err("search: --timeout: expected a duration of 100 ms "
				    "to %d s (milliseconds like the global --timeout, or "
				    "with a unit: 500ms, 5s), got '%s'",
				    IPC_SEARCH_TIMEOUT_MAX / 1000, val);
				return 2;
			}
			timeout_ms = x;
		} else if (a[0] == '-' && a[1] != '\0') {
			ctl_err("search: unknown option '%s'", a);
			ctl_verb_usage(v, 1);
			return 2;
		} else if (ctl_term_append(q.term, &tlen, &nterms, a) == -1)
			return 2;
	}
	/* after "--": terms only */
	for (; i < argc; i++)
		if (ctl_term_append(q.term, &tlen, &nterms, argv[i]) == -1)
			return 2;
	if (reindex) {
		if (nterms > 0) {
			ctl_err("search: --reindex takes no search term");
			return 2;
		}
		return ctl_reindex(c, ctl_find_verb("reindex"), 1, rv);
	}
	if (nterms == 0) {
		ctl_err("search: no search term given");
		ctl_verb_usage(v, 1);
		return 2;
	}
	if (has_from || has_to) {
		q.date_from = has_from ? from : INT64_MIN;
		q.date_to = has_to ? to : INT64_MAX;
		if (q.date_from >= q.date_to) {
			ctl_err("search: --from must be before --to");
			return 2;
		}
	}
	if (q.size_min >= 0 && q.size_max >= 0 && q.size_min > q.size_max) {
		ctl_err("search: --min-size is larger than --max-size");
		return 2;
	}
	/* The global --timeout bounds the whole verb, the search job too. */
	if (c->timeout_given && ctl_left_ms(c, INT32_MAX) - 200 < timeout_ms)
		timeout_ms = ctl_left_ms(c, INT32_MAX) > 300 ?
		    ctl_left_ms(c, INT32_MAX) - 200 : 100;
	q.timeout_ms = (uint32_t)timeout_ms;

	n = ipc_search_req_encode(search_buf, sizeof(search_buf), &q);
	if (n < 0) {
		ctl_err("search: the request does not encode");
		return 1;
	}
	if (ctl_call(c, "searchd", search_buf, (size_t)n, &rep, &len, 0) == -1)
		return 1;
	if (ctl_reply_decoded(rep, ipc_search_id_decode(rep, len, IPC_SEARCH_START, &id),
	    "search", "searchd") != 0)
		return 1;

	if (c->json)
		arr = json_array();
	memset(&pg, 0, sizeof(pg));
	deadline = loop_now_ms() + (uint64_t)timeout_ms;
	memcpy(f.id, id.id, sizeof(f.id));
	f.offset = -1;
	f.max = IPC_SEARCH_FETCH_MAX;
	for (;;) {
		n = ipc_search_fetch_encode(search_buf, sizeof(search_buf), &f);
		if (ctl_call(c, "searchd", search_buf, (size_t)n, &rep, &len, 0) == -1)
			goto fail;
		if ((rc = ipc_search_page_decode(rep, len, &pg)) != 0) {
			free(rep);
			ctl_err("search: malformed reply from searchd: %s",
			    ipc_decode_strerror(rc));
			goto fail;
		}
		if (!c->json && shown == 0 && pg.count > 0)
			printf("%10s  %-10s  %-10s  %8s  %-64s  %s\n", "SIZE", "TYPE",
			    "DATE", "SHARERS", "HASH", "NAME");
		while (ipc_search_page_next(&pg, &h) == 1) {
			if (arr != NULL)
				json_array_append_new(arr, ctl_hit_json(&h));
			else
				ctl_hit_print(&h);
			shown++;
		}
		free(rep);
		fflush(stdout);
		if (pg.status == IPC_SEARCH_DONE)
			break;
		if (loop_now_ms() >= deadline)
			break;
		if (pg.count == 0)
			ctl_sleep_ms((int)(deadline - loop_now_ms() < CTL_SEARCH_POLL_MS ?
			    deadline - loop_now_ms() : CTL_SEARCH_POLL_MS));
	}
	ctl_search_stop(c, &id);
	if (arr != NULL)
		ctl_json_print(json_pack("{s:o, s:o, s:{s:I, s:I, s:I, s:I, s:b, s:b}}",
		    "term", ctl_jstr(q.term), "results", arr, "statistics",
		    "scanned", (json_int_t)pg.scanned, "results", (json_int_t)pg.results,
		    "dropped_offline", (json_int_t)pg.dropped_offline,
		    "elapsed_ms", (json_int_t)pg.elapsed_ms, "truncated", pg.truncated,
		    "done", pg.status == IPC_SEARCH_DONE));
	else
		printf("%llu result%s (%llu index entries scanned, %llu ms)%s\n",
		    (unsigned long long)shown, shown == 1 ? "" : "s",
		    (unsigned long long)pg.scanned, (unsigned long long)pg.elapsed_ms,
		    pg.truncated ? "; the query was cut short, refine it" : "");
	return 0;
fail:
	json_decref(arr);
	ctl_search_stop(c, &id);
	return 1;
}
