/*
 * api_search.c — search jobs (FEATURES.md §3.4) on searchd's job table:
 * POST /search starts one, /search/result pages through its results,
 * /search/terminate ends it.  The JSON body is checked against a declared
 * spec (api_json_check) before any field is read.
 */
#define _GNU_SOURCE	/* qsort_r */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "apid.h"
#include "ident.h"
#include "ipc.h"

#define API_SEARCH_TIMEOUT_S	20	/* the reference's defaults */
#define API_SEARCH_MAX_RESULTS	200
#define API_RESULT_LIMIT	100
#define API_RESULT_LIMIT_MAX	10000

/* The body of POST /search, as the reference's SearchRequest. */
static const struct api_jfield api_search_spec[] = {
	{ "term", API_J_STRING, 0 },
	{ "timeout", API_J_INT, 0 },
	{ "maxresults", API_J_INT, 0 },
	{ "datefrom", API_J_STRING, 0 },
	{ "dateto", API_J_STRING, 0 },
	{ "sort", API_J_INT, 0 },
	{ "terminate", API_J_ARRAY, 0 },
	{ "filetype", API_J_INT, 0 },
	{ "fileformat", API_J_INT, 0 },
	{ "sizemin", API_J_INT, 0 },
	{ "sizemax", API_J_INT, 0 },
	{ "node", API_J_STRING, 0 },
};

static int64_t
api_jint(json_t *o, const char *name, int64_t def)
{
	json_t *v = json_object_get(o, name);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

static const char *
api_jstr(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	return json_is_string(v) ? json_string_value(v) : "";
}

/*
 * Ends search job id (IPC_SEARCH_STOP): 0, or api_ipc's -1 with the reason
 * in err (*refused: searchd knows no such job).
 */
static int
api_search_stop(struct api_req *r, const uint8_t id[16], int *refused, char *err,
    size_t errlen)
{
	struct ipc_search_id sid;
	uint8_t req[64], *rep;
	size_t len;
	long n;

	memcpy(sid.id, id, 16);
	n = ipc_search_id_encode(req, sizeof(req), IPC_SEARCH_STOP, &sid);
	if (api_ipc(r->api, "searchd", req, (size_t)n, &rep, &len, refused, err,
	    errlen) != 0)
		return -1;
	free(rep);
	return 0;
}

/* The node filter: 64 hex digits, or base64 of 32 bytes (Go's []byte). */
static int
api_search_node(const char *s, uint8_t out[32])
{
	size_t bin_len;

	if (api_parse_hex(s, out, 32) == 0)
		return 0;
	if (sodium_base642bin(out, 32, s, strlen(s), NULL, &bin_len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) == 0 && bin_len == 32)
		return 0;
	return -1;
}

/*
 * Fills q from a checked body; NULL, or the reason for a 400.  Numbers the
 * reference calls "not used" with -1 may also be left out here.
 */
static const char *
api_search_req(json_t *b, struct ipc_search_req *q)
{
	const char *from = api_jstr(b, "datefrom"), *to = api_jstr(b, "dateto");
	const char *term = api_jstr(b, "term"), *node = api_jstr(b, "node");
	int64_t t, v;

	memset(q, 0, sizeof(*q));
	if (strlen(term) > IPC_SEARCH_TERM_MAX)
		return "term is too long";
	strcpy(q->term, term);
	t = api_jint(b, "timeout", 0);
	if (t <= 0)
		t = API_SEARCH_TIMEOUT_S;
	q->timeout_ms = t > IPC_SEARCH_TIMEOUT_MAX / 1000 ? IPC_SEARCH_TIMEOUT_MAX :
	    (uint32_t)t * 1000;
	v = api_jint(b, "maxresults", 0);
	if (v <= 0)
		v = API_SEARCH_MAX_RESULTS;
	q->limit = v > IPC_SEARCH_RESULTS_MAX ? IPC_SEARCH_RESULTS_MAX : (uint32_t)v;
	v = api_jint(b, "sort", 0);
	if (v < 0 || v > IPC_SEARCH_SORT_MAX)
		return "sort must be 0..10";
	q->sort = (uint8_t)v;
	v = api_jint(b, "filetype", -1);
	if (v < -1 || v > IPC_SEARCH_TYPE_MAX)
		return "filetype must be -1 (any) or 0..10";
	q->type = v == -1 ? IPC_SEARCH_TYPE_ANY : (uint8_t)v;
	v = api_jint(b, "fileformat", -1);
	if (v < -1 || v > IPC_SEARCH_FORMAT_MAX)
		return "fileformat must be -1 (any) or 0..21";
	q->format = v == -1 ? IPC_SEARCH_FORMAT_ANY : (uint16_t)v;
	q->size_min = api_jint(b, "sizemin", -1);
	q->size_max = api_jint(b, "sizemax", -1);
	if (q->size_min < -1 || q->size_max < -1)
		return "sizemin and sizemax must be -1 (unused) or a size";
	/* Both dates or neither, "YYYY-MM-DD hh:mm:ss" UTC. */
	if (*from != '\0' || *to != '\0') {
		if (api_parse_date(from, &q->date_from) != 0 ||
		    api_parse_date(to, &q->date_to) != 0)
			return "datefrom and dateto must both be YYYY-MM-DD hh:mm:ss";
	}
	if (*node != '\0') {
		if (api_search_node(node, q->node_id) != 0)
			return "node must be a node ID (64 hex digits or base64)";
		q->has_node = 1;
	}
	return NULL;
}

int
api_search(struct api_req *r)
{
	struct ipc_search_req q;
	struct ipc_search_id sid;
	uint8_t req[IPC_SEARCH_TERM_MAX + 256], *rep, old[16];
	char err[256], id[37];
	const char *why;
	json_t *b, *v;
	size_t len, i;
	int refused, rc;
	long n;

	if (api_body_json(r, api_search_spec, sizeof(api_search_spec) /
	    sizeof(api_search_spec[0]), &b, &rc) != 0)
		return rc;
	if ((why = api_search_req(b, &q)) != NULL) {
		json_decref(b);
		return api_reply_error(r, 400, "bad_search", "%s", why);
	}
	/* Old searches of the same tab, ended first (unknown IDs are no error). */
	json_array_foreach(json_object_get(b, "terminate"), i, v) {
		if (i >= 64)
			break;
		if (json_is_string(v) && api_parse_uuid(json_string_value(v), old) == 0)
			api_search_stop(r, old, &refused, err, sizeof(err));
	}
	json_decref(b);
	if ((n = ipc_search_req_encode(req, sizeof(req), &q)) < 0)
		return api_reply_error(r, 400, "bad_search", "search too large");
	if (api_ipc(r->api, "searchd", req, (size_t)n, &rep, &len, &refused, err,
	    sizeof(err)) != 0) {
		if (!refused)
			return api_reply_ipc_err(r, "searchd", err);
		/* The reference's status 1: invalid term. */
		return api_reply_json(r, 200, json_pack("{s:s, s:i}", "id",
		    "00000000-0000-0000-0000-000000000000", "status", 1));
	}
	rc = ipc_search_id_decode(rep, len, IPC_SEARCH_START, &sid);
	free(rep);
	if (rc != 0)
		return api_reply_ipc_err(r, "searchd", "malformed search reply");
	api_format_uuid(sid.id, id);
	return api_reply_json(r, 200, json_pack("{s:s, s:i}", "id", id, "status", 0));
}

json_t *
api_search_hit_json(const struct ipc_search_hit *h)
{
	json_t *f = api_file_json(&h->file, NULL);

	/* Search results carry the virtual tag "Shared By Count" (type 5). */
	if (f != NULL)
		json_array_append_new(json_object_get(f, "metadata"),
		    json_pack("{s:i, s:s, s:s, s:n, s:s, s:I}", "type", 5,
		    "name", "Shared By Count", "text", "", "blob",
		    "date", "0001-01-01T00:00:00Z", "number",
		    (json_int_t)h->shared_by));
	return f;
}

static json_t *api_search_stats(struct api_req *r, const uint8_t id[16],
    int *terminated, int *unknown, char *err, size_t errlen);

/*
 * reset=1: new filters and a new sort on a running search, the cursor back
 * to the first result (the reference's RuntimeFilter).  searchd's job has
 * no IPC message for that, so apid keeps the view (filter, sort, cursor)
 * of each job reset here, and reads the job's results by absolute offset
 * (at most API_VIEW_READ_MAX of them) to filter and sort them itself.  A
 * view narrows what the job's own start filter let through: results that
 * filter excluded cannot come back.  Statistics stay over all results, as
 * in the reference.
 */
#define API_VIEWS		64
#define API_VIEW_READ_MAX	2000

struct api_view {
	int		used;
	uint8_t		id[16];
	int64_t		type, format, size_min, size_max, date_from, date_to;
	int		has_node;
	uint8_t		node[32];
	int		sort;
	int64_t		cursor;
	uint64_t	stamp;
};

static struct api_view api_views[API_VIEWS];
static uint64_t api_view_clock;
static pthread_mutex_t api_view_lock = PTHREAD_MUTEX_INITIALIZER;

/* Go's strconv.Atoi: anything that is not a number reads as 0. */
static int64_t
api_atoi(struct api_req *r, const char *name)
{
	int64_t v;

	if (api_parse_int(api_query(r, name), INT64_MIN, INT64_MAX, &v) != 0)
		return 0;
	return v;
}

/* reset=1 given: the view of job id from the query; 0, or -1 (bad node). */
static int
api_view_set(struct api_req *r, const uint8_t id[16])
{
	struct api_view v;
	const char *q;
	int64_t from, to;
	int i, best = 0;

	memset(&v, 0, sizeof(v));
	v.used = 1;
	memcpy(v.id, id, 16);
	v.type = api_atoi(r, "filetype");
	v.format = api_atoi(r, "fileformat");
	v.size_min = api_atoi(r, "sizemin");
	v.size_max = api_atoi(r, "sizemax");
	v.sort = (int)api_atoi(r, "sort");
	if (v.sort < 0 || v.sort > 10)
		v.sort = 0;
	/* Dates apply only when both parse and from < to, as the reference. */
	if (api_parse_date(api_query(r, "from"), &from) == 0 &&
	    api_parse_date(api_query(r, "to"), &to) == 0 && from < to) {
		v.date_from = from;
		v.date_to = to;
	}
	if ((q = api_query(r, "node")) != NULL && *q != '\0') {
		if (api_parse_hex(q, v.node, 32) != 0)
			return -1;
		v.has_node = 1;
	}
	pthread_mutex_lock(&api_view_lock);
	for (i = 0; i < API_VIEWS; i++) {
		if (api_views[i].used && memcmp(api_views[i].id, id, 16) == 0) {
			best = i;
			break;
		}
		if (!api_views[i].used || api_views[i].stamp < api_views[best].stamp)
			best = i;
	}
	v.stamp = ++api_view_clock;
	api_views[best] = v;
	pthread_mutex_unlock(&api_view_lock);
	return 0;
}

/* 1 and a copy of job id's view, 0 when it has none. */
static int
api_view_get(const uint8_t id[16], struct api_view *out)
{
	int i, found = 0;

	pthread_mutex_lock(&api_view_lock);
	for (i = 0; i < API_VIEWS && !found; i++)
		if (api_views[i].used && memcmp(api_views[i].id, id, 16) == 0) {
			api_views[i].stamp = ++api_view_clock;
			*out = api_views[i];
			found = 1;
		}
	pthread_mutex_unlock(&api_view_lock);
	return found;
}

static void
api_view_advance(const uint8_t id[16], int64_t cursor)
{
	int i;

	pthread_mutex_lock(&api_view_lock);
	for (i = 0; i < API_VIEWS; i++)
		if (api_views[i].used && memcmp(api_views[i].id, id, 16) == 0)
			api_views[i].cursor = cursor;
	pthread_mutex_unlock(&api_view_lock);
}

struct api_vhit {
	json_t		*j;
	int64_t		 date;
	uint64_t	 size;
	uint32_t	 shared;
	char		*name;
	uint32_t	 seq;
};

static int
api_vhit_cmp(const void *pa, const void *pb, void *arg)
{
	const struct api_vhit *a = pa, *b = pb;
	int sort = *(const int *)arg, c = 0;

	/* searchd's orders (its relevance sorts are by date, as the reference's). */
	switch (sort) {
	case 1: case 3: c = (a->date > b->date) - (a->date < b->date); break;
	case 2: case 4: c = (b->date > a->date) - (b->date < a->date); break;
	case 5: c = strcmp(a->name, b->name); break;
	case 6: c = strcmp(b->name, a->name); break;
	case 7: c = (a->size > b->size) - (a->size < b->size); break;
	case 8: c = (b->size > a->size) - (b->size < a->size); break;
	case 9: c = (a->shared > b->shared) - (a->shared < b->shared); break;
	case 10: c = (b->shared > a->shared) - (b->shared < a->shared); break;
	default: break;
	}
	return c != 0 ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

static int
api_view_match(const struct api_view *v, const struct ipc_file *f)
{
	uint8_t nid[32];

	if (v->type >= 0 && f->type != v->type)
		return 0;
	if (v->format >= 0 && f->format != v->format)
		return 0;
	if (v->date_from < v->date_to && (f->date == 0 || f->date < v->date_from ||
	    f->date > v->date_to))
		return 0;
	if (v->size_min >= 0 && f->size < (uint64_t)v->size_min)
		return 0;
	if (v->size_max >= 0 && f->size > (uint64_t)v->size_max)
		return 0;
	if (v->has_node) {
		ident_node_id(f->owner, nid);
		if (memcmp(nid, v->node, 32) != 0)
			return 0;
	}
	return 1;
}

/* searchd refused a fetch because it does not know the job (or no more). */
static int
api_job_unknown(int refused, const char *err)
{
	return refused && strstr(err, "unknown search job") != NULL;
}

/* A failed fetch of results: status 2 for an unknown job (as the reference), else 502. */
static int
api_reply_fetch_err(struct api_req *r, int refused, const char *err)
{
	if (api_job_unknown(refused, err))
		return api_reply_json(r, 200, json_pack("{s:i, s:n, s:n}", "status", 2,
		    "files", "statistic"));
	return api_reply_ipc_err(r, "searchd", err);
}

/* /search/result of a job with a view: the reply, or an error reply. */
static int
api_view_result(struct api_req *r, const uint8_t id[16], const struct api_view *v,
    int64_t offset, int64_t limit, int *status_out, json_t **files_out)
{
	struct ipc_search_hit h;
	struct ipc_search_fetch f;
	struct ipc_search_page pg;
	struct api_vhit *hits;
	uint8_t req[64], *rep;
	char err[256];
	size_t n = 0, len, i, start;
	uint32_t seq = 0;
	int refused, status = IPC_SEARCH_DONE, sort = v->sort;
	long m;

	if ((hits = calloc(API_VIEW_READ_MAX, sizeof(*hits))) == NULL)
		return api_reply_error(r, 500, "internal", "out of memory");
	memcpy(f.id, id, 16);
	for (f.offset = 0; seq < API_VIEW_READ_MAX; f.offset += (int32_t)pg.count) {
		f.max = IPC_SEARCH_FETCH_MAX;
		m = ipc_search_fetch_encode(req, sizeof(req), &f);
		if (api_ipc(r->api, "searchd", req, (size_t)m, &rep, &len, &refused, err,
		    sizeof(err)) != 0) {
			for (i = 0; i < n; i++) {
				json_decref(hits[i].j);
				free(hits[i].name);
			}
			free(hits);
			return api_reply_fetch_err(r, refused, err);
		}
		if (ipc_search_page_decode(rep, len, &pg) != 0) {
			free(rep);
			pg.count = 0;
			break;
		}
		status = pg.status;
		while (seq < API_VIEW_READ_MAX && ipc_search_page_next(&pg, &h) == 1) {
			seq++;
			if (!api_view_match(v, &h.file))
				continue;
			hits[n].j = api_search_hit_json(&h);
			hits[n].date = h.file.date;
			hits[n].size = h.file.size;
			hits[n].shared = h.shared_by;
			hits[n].name = strdup(h.file.name);
			hits[n].seq = seq;
			if (hits[n].j == NULL || hits[n].name == NULL) {
				json_decref(hits[n].j);
				free(hits[n].name);
				continue;
			}
			n++;
		}
		free(rep);
		if (pg.count < f.max)
			break;
	}
	qsort_r(hits, n, sizeof(*hits), api_vhit_cmp, &sort);
	start = (size_t)(offset >= 0 ? offset : v->cursor);
	*files_out = json_array();
	for (i = start; i < n && (int64_t)(i - start) < limit; i++)
		json_array_append(*files_out, hits[i].j);
	if (offset < 0)
		api_view_advance(id, (int64_t)(start + json_array_size(*files_out)));
	for (i = 0; i < n; i++) {
		json_decref(hits[i].j);
		free(hits[i].name);
	}
	free(hits);
	*status_out = status;
	return -1;	/* no reply yet: the caller answers */
}

int
api_search_result(struct api_req *r)
{
	struct ipc_search_hit h;
	struct ipc_search_fetch f;
	struct ipc_search_page pg;
	struct api_view view;
	const char *q;
	uint8_t req[64], *rep;
	char err[256];
	json_t *files = NULL;
	int64_t limit = API_RESULT_LIMIT, offset = -1;
	json_t *stats;
	size_t len;
	int refused, reset = 0, status = 1, rc, want_stats = 0, terminated, unknown;
	long n;

	if (api_parse_uuid(api_query(r, "id"), f.id) != 0)
		return api_reply_error(r, 400, "bad_id", "id must be a search ID (UUID)");
	/* The reference falls back to 100 for a limit that is not a number. */
	if ((q = api_query(r, "limit")) != NULL &&
	    api_parse_int(q, 0, API_RESULT_LIMIT_MAX, &limit) != 0)
		limit = API_RESULT_LIMIT;
	if ((q = api_query(r, "offset")) != NULL &&
	    api_parse_int(q, 0, INT32_MAX, &offset) != 0)
		offset = -1;
	if ((q = api_query(r, "reset")) != NULL && api_parse_bool(q, &reset) == 0 &&
	    reset && api_view_set(r, f.id) != 0)
		return api_reply_error(r, 400, "bad_node", "node must be 64 hex digits");
	if (api_view_get(f.id, &view)) {
		if ((rc = api_view_result(r, f.id, &view, offset, limit, &status,
		    &files)) != -1)
			return rc;
		goto reply;
	}
	files = json_array();
	do {
		f.offset = (int32_t)offset;
		f.max = limit - (int64_t)json_array_size(files) > IPC_SEARCH_FETCH_MAX ?
		    IPC_SEARCH_FETCH_MAX : (uint32_t)(limit - (int64_t)json_array_size(files));
		if (f.max == 0)
			break;
		n = ipc_search_fetch_encode(req, sizeof(req), &f);
		if (api_ipc(r->api, "searchd", req, (size_t)n, &rep, &len, &refused,
		    err, sizeof(err)) != 0) {
			json_decref(files);
			return api_reply_fetch_err(r, refused, err);
		}
		if (ipc_search_page_decode(rep, len, &pg) != 0) {
			free(rep);
			json_decref(files);
			return api_reply_ipc_err(r, "searchd", "malformed result page");
		}
		status = pg.status;
		while ((rc = ipc_search_page_next(&pg, &h)) == 1)
			json_array_append_new(files, api_search_hit_json(&h));
		free(rep);
		if (offset >= 0)
			offset += pg.count;
		if (pg.count < f.max)
			break;
	} while ((int64_t)json_array_size(files) < limit);
reply:
	/* 0 results and more may come, 1 no more, 3 none yet (the reference's). */
	if (json_array_size(files) > 0)
		status = status == IPC_SEARCH_DONE ? 1 : 0;
	else
		status = status == IPC_SEARCH_DONE ? 1 : 3;
	/* stats=1: the statistic, only along with files (the reference's). */
	stats = json_null();
	if ((q = api_query(r, "stats")) != NULL && api_parse_bool(q, &want_stats) == 0 &&
	    want_stats && json_array_size(files) > 0) {
		json_decref(stats);
		if ((stats = api_search_stats(r, f.id, &terminated, &unknown, err,
		    sizeof(err))) == NULL)
			stats = json_null();
	}
	return api_reply_json(r, 200, json_pack("{s:i, s:o, s:o}", "status", status,
	    "files", files, "statistic", stats));
}

int
api_search_terminate(struct api_req *r)
{
	uint8_t id[16];
	char err[256];
	int refused;

	if (api_parse_uuid(api_query(r, "id"), id) != 0)
		return api_reply_error(r, 400, "bad_id", "id must be a search ID (UUID)");
	if (api_search_stop(r, id, &refused, err, sizeof(err)) != 0) {
		if (refused)
			return api_reply_error(r, 404, "unknown_id", "no search %s",
			    api_query(r, "id"));
		return api_reply_ipc_err(r, "searchd", err);
	}
	return api_reply_empty(r, 204);
}

/* Counts per key, for the statistic's filetype and fileformat lists. */
static json_t *
api_stat_keys(const uint32_t *count, size_t n)
{
	json_t *a = json_null();
	size_t k;

	for (k = 0; k < n; k++) {
		if (count[k] == 0)
			continue;
		if (json_is_null(a)) {
			json_decref(a);
			a = json_array();
		}
		json_array_append_new(a, json_pack("{s:i, s:I}", "key", (int)k,
		    "count", (json_int_t)count[k]));
	}
	return a;
}

static int
api_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The reference's SearchStatisticData over every result the job holds (read
 * by absolute offset, which does not move its cursor); NULL and err when
 * the job is unknown (*unknown = 1) or searchd failed.
 */
static json_t *
api_search_stats(struct api_req *r, const uint8_t id[16], int *terminated,
    int *unknown, char *err, size_t errlen)
{
	struct ipc_search_hit h;
	int64_t *days;		/* 80 KiB: the heap */
	uint32_t types[256], formats[65536 / 64];
	struct ipc_search_fetch f;
	struct ipc_search_page pg;
	uint8_t req[64], *rep;
	char d[32];
	json_t *dates, *o;
	size_t len, nd = 0, i, total = 0;
	int refused;
	long n;

	if ((days = malloc(IPC_SEARCH_RESULTS_MAX * sizeof(*days))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memset(types, 0, sizeof(types));
	memset(formats, 0, sizeof(formats));
	*unknown = 0;
	*terminated = 0;
	memcpy(f.id, id, 16);
	for (f.offset = 0; total < IPC_SEARCH_RESULTS_MAX; f.offset += (int32_t)pg.count) {
		f.max = IPC_SEARCH_FETCH_MAX;
		n = ipc_search_fetch_encode(req, sizeof(req), &f);
		if (api_ipc(r->api, "searchd", req, (size_t)n, &rep, &len, &refused, err,
		    errlen) != 0) {
			*unknown = api_job_unknown(refused, err);
			free(days);
			return NULL;
		}
		if (ipc_search_page_decode(rep, len, &pg) != 0) {
			free(rep);
			snprintf(err, errlen, "malformed result page");
			free(days);
			return NULL;
		}
		*terminated = pg.status == IPC_SEARCH_DONE;
		while (ipc_search_page_next(&pg, &h) == 1 && total < IPC_SEARCH_RESULTS_MAX) {
			types[h.file.type]++;
			if (h.file.format < sizeof(formats) / sizeof(formats[0]))
				formats[h.file.format]++;
			/* The day, rounded down to midnight UTC. */
			days[nd++] = h.file.date - ((h.file.date % 86400) + 86400) % 86400;
			total++;
		}
		free(rep);
		if (pg.count < f.max)
			break;
	}
	qsort(days, nd, sizeof(days[0]), api_cmp_i64);
	dates = json_null();
	for (i = 0; i < nd;) {
		size_t j = i;

		while (j < nd && days[j] == days[i])
			j++;
		if (json_is_null(dates)) {
			json_decref(dates);
			dates = json_array();
		}
		api_format_time(days[i], d);
		json_array_append_new(dates, json_pack("{s:s, s:I}", "date", d,
		    "count", (json_int_t)(j - i)));
		i = j;
	}
	o = json_pack("{s:o, s:o, s:o, s:I}", "date", dates,
	    "filetype", api_stat_keys(types, 256),
	    "fileformat", api_stat_keys(formats, sizeof(formats) / sizeof(formats[0])),
	    "total", (json_int_t)total);
	free(days);
	return o;
}

int
api_search_statistic(struct api_req *r)
{
	uint8_t id[16];
	char err[256];
	json_t *o;
	int terminated, unknown;

	if (api_parse_uuid(api_query(r, "id"), id) != 0)
		return api_reply_error(r, 400, "bad_id", "id must be a search ID (UUID)");
	if ((o = api_search_stats(r, id, &terminated, &unknown, err, sizeof(err))) == NULL) {
		if (unknown)
			return api_reply_json(r, 200, json_pack("{s:n, s:n, s:n, s:i, s:i, s:b}",
			    "date", "filetype", "fileformat", "total", 0, "status", 2,
			    "terminated", 0));
		return api_reply_ipc_err(r, "searchd", err);
	}
	json_object_set_new(o, "status", json_integer(0));
	json_object_set_new(o, "terminated", json_boolean(terminated));
	return api_reply_json(r, 200, o);
}
