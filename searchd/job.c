/*
 * job.c — search jobs over the index (see job.h).
 */
#define _GNU_SOURCE	/* qsort_r */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job.h"
#include "loop.h"

struct job_table {
	struct job_table_cfg	 cfg;
	struct job		*jobs[JOB_MAX_JOBS];
	size_t			 njobs;
	int			 last_idx_err;
};

struct job {
	struct job_table	*t;
	uint8_t			 id[JOB_ID_LEN];
	int			 state;
	uint64_t		 start_ms;
	uint64_t		 deadline_ms;	/* live until */
	uint64_t		 delete_ms;	/* deleted at */
	size_t			 max_results;
	/* all results (arrival order), owned */
	struct job_result	**all;
	size_t			 nall;
	size_t			 capall;
	/* indices into all */
	uint32_t		*queue;
	size_t			 nqueue;
	uint32_t		*frozen;
	size_t			 nfrozen;
	int			 need_sort;
	size_t			 cursor;
	struct idx_filter	 filter;
	int			 sort;
	/* content hash -> all index + 1 */
	uint32_t		*map;
	size_t			 mapcap;
	size_t			 bytes;
	struct job_stats	 st;
	void			(*on_result)(const uint8_t *,
				    const struct job_result *, void *);
	void			*on_result_arg;
};

static uint64_t
clock_ms(const struct job_table *t)
{
	if (t->cfg.now_ms != NULL)
		return t->cfg.now_ms(t->cfg.clock_arg);
	return loop_now_ms();
}

const char *
job_strerror(int err)
{
	switch (err) {
	case JOB_OK:		return "ok";
	case JOB_E_ARG:		return "invalid argument";
	case JOB_E_NOMEM:	return "out of memory";
	case JOB_E_TOOMANY:	return "too many searches";
	case JOB_E_NOTFOUND:	return "unknown search job";
	case JOB_E_ENDED:	return "search job terminated";
	case JOB_E_FULL:	return "search job full";
	case JOB_E_INDEX:	return "index query failed";
	}
	return "unknown error";
}

/* ---- table ------------------------------------------------------------- */

int
job_table_new(struct job_table **out, const struct job_table_cfg *cfg)
{
	struct job_table *t;

	if (out == NULL || cfg == NULL)
		return JOB_E_ARG;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return JOB_E_NOMEM;
	t->cfg = *cfg;
	*out = t;
	return JOB_OK;
}

void
job_table_set_index(struct job_table *t, struct idx *idx)
{
	t->cfg.idx = idx;
}

void
job_table_set_self(struct job_table *t, const uint8_t self[IDX_OWNER_LEN])
{
	memcpy(t->cfg.self, self, IDX_OWNER_LEN);
}

static void
job_free(struct job *j)
{
	size_t i;

	if (j == NULL)
		return;
	for (i = 0; i < j->nall; i++)
		free(j->all[i]);
	free(j->all);
	free(j->queue);
	free(j->frozen);
	free(j->map);
	free(j);
}

static void
table_remove(struct job_table *t, size_t i)
{
	job_free(t->jobs[i]);
	t->jobs[i] = t->jobs[--t->njobs];
	t->jobs[t->njobs] = NULL;
}

void
job_table_free(struct job_table *t)
{
	if (t == NULL)
		return;
	while (t->njobs > 0)
		table_remove(t, t->njobs - 1);
	free(t);
}

size_t
job_table_count(const struct job_table *t)
{
	return t != NULL ? t->njobs : 0;
}

int
job_table_last_idx_error(const struct job_table *t)
{
	return t != NULL ? t->last_idx_err : 0;
}

void
job_table_tick(struct job_table *t)
{
	uint64_t now;
	size_t i;

	if (t == NULL)
		return;
	now = clock_ms(t);
	for (i = 0; i < t->njobs; ) {
		struct job *j = t->jobs[i];

		if (j->state == JOB_LIVE && now >= j->deadline_ms)
			j->state = JOB_TERMINATED;
		if (now >= j->delete_ms) {
			table_remove(t, i);
			continue;
		}
		i++;
	}
}

struct job *
job_find(struct job_table *t, const uint8_t id[JOB_ID_LEN])
{
	size_t i;

	if (t == NULL || id == NULL)
		return NULL;
	for (i = 0; i < t->njobs; i++)
		if (memcmp(t->jobs[i]->id, id, JOB_ID_LEN) == 0)
			return t->jobs[i];
	return NULL;
}

int
job_stop(struct job_table *t, const uint8_t id[JOB_ID_LEN])
{
	size_t i;

	if (t == NULL || id == NULL)
		return JOB_E_ARG;
	for (i = 0; i < t->njobs; i++)
		if (memcmp(t->jobs[i]->id, id, JOB_ID_LEN) == 0) {
			table_remove(t, i);
			return JOB_OK;
		}
	return JOB_E_NOTFOUND;
}

/* ---- sorting ------------------------------------------------------------ */

static int
cmp_i64(int64_t a, int64_t b)
{
	return (a > b) - (a < b);
}

static int
cmp_u64(uint64_t a, uint64_t b)
{
	return (a > b) - (a < b);
}

static int
res_cmp(const void *pa, const void *pb, void *arg)
{
	const struct job *j = arg;
	const struct job_result *a = j->all[*(const uint32_t *)pa];
	const struct job_result *b = j->all[*(const uint32_t *)pb];
	size_t l;
	int r = 0;

	switch (j->sort) {
	case IDX_SORT_RELEVANCE_ASC:
	case IDX_SORT_DATE_ASC:
		r = cmp_i64(a->file.date, b->file.date);
		break;
	case IDX_SORT_RELEVANCE_DESC:
	case IDX_SORT_DATE_DESC:
		r = cmp_i64(b->file.date, a->file.date);
		break;
	case IDX_SORT_NAME_ASC:
	case IDX_SORT_NAME_DESC:
		l = a->file.name_len < b->file.name_len ? a->file.name_len :
		    b->file.name_len;
		r = l ? memcmp(a->file.name, b->file.name, l) : 0;
		if (r == 0)
			r = cmp_u64(a->file.name_len, b->file.name_len);
		if (j->sort == IDX_SORT_NAME_DESC)
			r = -r;
		break;
	case IDX_SORT_SIZE_ASC:
		r = cmp_u64(a->file.size, b->file.size);
		break;
	case IDX_SORT_SIZE_DESC:
		r = cmp_u64(b->file.size, a->file.size);
		break;
	case IDX_SORT_SHARED_ASC:
		r = cmp_u64(a->shared_by, b->shared_by);
		break;
	case IDX_SORT_SHARED_DESC:
		r = cmp_u64(b->shared_by, a->shared_by);
		break;
	case IDX_SORT_MATCH:
		r = b->exact - a->exact;
		if (r == 0)
			r = cmp_u64(b->matched, a->matched);
		if (r == 0)
			r = cmp_i64(b->file.date, a->file.date);
		break;
	default:
		break;
	}
	return r != 0 ? r : cmp_u64(a->seq, b->seq);
}

static void
queue_sort(struct job *j)
{
	if (j->need_sort && j->sort != IDX_SORT_NONE)
		qsort_r(j->queue, j->nqueue, sizeof(*j->queue), res_cmp, j);
	j->need_sort = 0;
}

/* ---- adding results ------------------------------------------------------ */

/* A job past its deadline is terminated even between table ticks. */
static void
job_table_tick_one(struct job *j)
{
	if (j->state == JOB_LIVE && clock_ms(j->t) >= j->deadline_ms)
		j->state = JOB_TERMINATED;
}

static int
owner_kept(struct job *j, const uint8_t *owner, int *local)
{
	struct job_table *t = j->t;

	if (memcmp(owner, t->cfg.self, IDX_OWNER_LEN) == 0) {
		*local = 1;
		return 1;
	}
	return t->cfg.is_connected != NULL &&
	    t->cfg.is_connected(owner, t->cfg.conn_arg) != 0;
}

static size_t
hash_slot(const struct job *j, const uint8_t *hash)
{
	size_t h;

	memcpy(&h, hash, sizeof(h));
	h &= j->mapcap - 1;
	while (j->map[h] != 0 && memcmp(j->all[j->map[h] - 1]->file.hash,
	    hash, IDX_HASH_LEN) != 0)
		h = (h + 1) & (j->mapcap - 1);
	return h;
}

static int
map_grow(struct job *j)
{
	size_t ncap = j->mapcap ? j->mapcap * 2 : 256, i, h;
	uint32_t *m = calloc(ncap, sizeof(*m)), *old = j->map;

	if (m == NULL)
		return JOB_E_NOMEM;
	j->map = m;
	j->mapcap = ncap;
	for (i = 0; i < j->nall; i++) {
		h = hash_slot(j, j->all[i]->file.hash);
		m[h] = (uint32_t)i + 1;
	}
	free(old);
	return JOB_OK;
}

static int
push_u32(uint32_t **v, size_t *n, size_t want, uint32_t x)
{
	uint32_t *nv;

	/* arrays sized to the job's result cap at once: no growth policy */
	if (*v == NULL) {
		if ((nv = calloc(want, sizeof(*nv))) == NULL)
			return JOB_E_NOMEM;
		*v = nv;
	}
	(*v)[(*n)++] = x;
	return JOB_OK;
}

static void
add_sharer(struct job_result *r, const struct idx_sharer *s)
{
	size_t i;

	for (i = 0; i < r->nsharers; i++)
		if (memcmp(r->sharers[i].owner, s->owner, IDX_OWNER_LEN) == 0)
			return;		/* same content, same owner: one */
	r->shared_by++;
	if (r->nsharers < JOB_MAX_SHARERS)
		r->sharers[r->nsharers++] = *s;
}

static struct job_result *
new_result(struct job *j, const struct idx_hit *hit,
    const struct idx_sharer *first, int local)
{
	const struct idx_file *f = hit->file;
	size_t text = f->name_len + f->folder_len + f->desc_len;
	struct job_result *r;
	char *p;

	if (j->bytes + text > JOB_MAX_BYTES)
		return NULL;
	if ((r = calloc(1, sizeof(*r) + text)) == NULL)
		return NULL;
	j->bytes += text;
	r->file = *f;
	p = (char *)(r + 1);
	r->file.name = p;
	if (f->name_len)
		memcpy(p, f->name, f->name_len);
	p += f->name_len;
	r->file.folder = p;
	if (f->folder_len)
		memcpy(p, f->folder, f->folder_len);
	p += f->folder_len;
	r->file.desc = p;
	if (f->desc_len)
		memcpy(p, f->desc, f->desc_len);
	/* the record shown is the first owner kept */
	memcpy(r->file.owner, first->owner, IDX_OWNER_LEN);
	memcpy(r->file.file_id, first->file_id, IDX_FILE_ID_LEN);
	r->file.version = first->version;
	r->file.block = first->block;
	idx_node_id(r->file.owner, r->node_id);
	r->exact = hit->exact;
	r->matched = hit->matched;
	r->local = local;
	r->seq = j->nall;
	return r;
}

int
job_add_hit(struct job *j, const struct idx_hit *hit)
{
	struct idx_sharer own, kept[JOB_MAX_SHARERS];
	const struct idx_sharer *sh;
	struct job_result *r;
	size_t i, n, nkept = 0, extra = 0, h;
	int local = 0, rc;

	if (j == NULL || hit == NULL || hit->file == NULL)
		return JOB_E_ARG;
	if (j->state != JOB_LIVE)
		return JOB_E_ENDED;
	j->st.hits++;
	sh = hit->sharers;
	n = hit->nsharers;
	if (n == 0 || sh == NULL) {
		memset(&own, 0, sizeof(own));
		memcpy(own.owner, hit->file->owner, IDX_OWNER_LEN);
		memcpy(own.file_id, hit->file->file_id, IDX_FILE_ID_LEN);
		own.version = hit->file->version;
		own.block = hit->file->block;
		sh = &own;
		n = 1;
	}
	for (i = 0; i < n; i++) {
		if (!owner_kept(j, sh[i].owner, &local))
			continue;
		if (nkept < JOB_MAX_SHARERS)
			kept[nkept++] = sh[i];
		else
			extra++;
	}
	if (nkept == 0) {
		j->st.dropped_offline++;
		return 1;
	}

	if (j->nall + 1 > j->mapcap / 2 && (rc = map_grow(j)) != JOB_OK)
		return rc;
	h = hash_slot(j, hit->file->hash);
	if (j->map[h] != 0) {
		r = j->all[j->map[h] - 1];
		for (i = 0; i < nkept; i++)
			add_sharer(r, &kept[i]);
		r->shared_by += extra;
		r->local |= local;
		r->exact |= hit->exact;
		if (hit->matched > r->matched)
			r->matched = hit->matched;
		j->st.merged++;
		j->need_sort = 1;	/* SharedByCount may have changed */
		return JOB_OK;
	}
	if (j->nall >= j->max_results ||
	    (r = new_result(j, hit, &kept[0], local)) == NULL) {
		j->st.dropped_full++;
		return JOB_E_FULL;
	}
	for (i = 0; i < nkept; i++)
		add_sharer(r, &kept[i]);
	r->shared_by += extra;
	if (j->all == NULL &&
	    (j->all = calloc(j->max_results, sizeof(*j->all))) == NULL) {
		free(r);
		return JOB_E_NOMEM;
	}
	j->all[j->nall] = r;
	j->map[h] = (uint32_t)++j->nall;
	j->st.results = j->nall;
	if (idx_filter_match(&j->filter, &r->file, r->node_id)) {
		if ((rc = push_u32(&j->queue, &j->nqueue, j->max_results,
		    (uint32_t)(j->nall - 1))) != JOB_OK)
			return rc;
		j->need_sort = 1;
	}
	if (j->on_result != NULL)
		j->on_result(j->id, r, j->on_result_arg);
	return JOB_OK;
}

void
job_finish(struct job *j)
{
	if (j != NULL)
		j->state = JOB_TERMINATED;
}

/* ---- start ---------------------------------------------------------------- */

static int
keep_owner_cb(const uint8_t owner[IDX_OWNER_LEN], void *arg)
{
	int local = 0;

	return owner_kept(arg, owner, &local);
}

static int
local_hit_cb(const struct idx_hit *hit, void *arg)
{
	struct job *j = arg;

	/* a full job stops the scan; offline drops were done by owner_ok */
	return job_add_hit(j, hit) == JOB_E_FULL;
}

int
job_start(struct job_table *t, const struct job_params *p,
    uint8_t id[JOB_ID_LEN])
{
	struct idx_query q;
	struct idx_query_stats qst;
	struct job *j;
	uint64_t timeout;
	int rc;

	if (t == NULL || p == NULL || id == NULL ||
	    (p->term == NULL && p->term_len > 0) || p->sort < 0 ||
	    p->sort >= IDX_SORT_COUNT)
		return JOB_E_ARG;
	/* expired jobs free their slot before the cap is checked */
	job_table_tick(t);
	if (t->njobs >= JOB_MAX_JOBS)
		return JOB_E_TOOMANY;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return JOB_E_NOMEM;
	j->t = t;
	arc4random_buf(j->id, JOB_ID_LEN);
	j->id[6] = (j->id[6] & 0x0f) | 0x40;	/* UUID version 4 */
	j->id[8] = (j->id[8] & 0x3f) | 0x80;
	j->state = JOB_LIVE;
	j->start_ms = clock_ms(t);
	timeout = p->timeout_ms > 0 ? (uint64_t)p->timeout_ms :
	    JOB_DEFAULT_TIMEOUT_MS;
	j->deadline_ms = j->start_ms + timeout;
	j->delete_ms = j->deadline_ms + JOB_LINGER_MS;
	j->max_results = p->max_results <= 0 ? JOB_DEFAULT_RESULTS :
	    p->max_results > JOB_MAX_RESULTS ? JOB_MAX_RESULTS :
	    (size_t)p->max_results;
	j->filter = p->filter;
	j->sort = p->sort;
	j->on_result = p->on_result;
	j->on_result_arg = p->on_result_arg;
	if ((rc = map_grow(j)) != JOB_OK) {
		job_free(j);
		return rc;
	}

	memset(&q, 0, sizeof(q));
	q.term = p->term;
	q.term_len = p->term_len;
	idx_filter_none(&q.filter);	/* all results feed the statistics */
	q.sort = IDX_SORT_NONE;
	q.flags = IDX_Q_DEDUP;
	q.owner_ok = keep_owner_cb;
	q.owner_arg = j;
	q.timeout_ms = timeout;
	t->jobs[t->njobs++] = j;
	if (t->cfg.idx != NULL) {
		rc = idx_query(t->cfg.idx, &q, local_hit_cb, j, &qst);
		j->st.scanned = qst.scanned;
		j->st.dropped_offline += qst.dropped_owner;
		j->st.merged += qst.merged;
		j->st.elapsed_us = qst.elapsed_us;
		j->st.truncated = qst.truncated || qst.timed_out;
		if (rc != IDX_OK) {
			t->last_idx_err = rc;
			table_remove(t, t->njobs - 1);
			return JOB_E_INDEX;
		}
	}
	if (!p->remote)
		j->state = JOB_TERMINATED;
	memcpy(id, j->id, JOB_ID_LEN);
	return JOB_OK;
}

/* ---- fetch ----------------------------------------------------------------- */

static void
freeze(struct job *j, size_t k)
{
	size_t i;

	if (k == 0)
		return;
	if (j->frozen == NULL && (j->frozen = calloc(j->max_results,
	    sizeof(*j->frozen))) == NULL)
		return;		/* cannot happen after the queue exists */
	for (i = 0; i < k; i++)
		j->frozen[j->nfrozen++] = j->queue[i];
	memmove(j->queue, j->queue + k, (j->nqueue - k) * sizeof(*j->queue));
	j->nqueue -= k;
}

/* Reference SearchJob.ReturnResult over frozen + queue. */
static size_t
fetch_at(struct job *j, size_t off, size_t max,
    const struct job_result **out)
{
	size_t n = 0, k;

	if (max == 0)
		return 0;
	if (off < j->nfrozen) {
		k = j->nfrozen - off;
		if (k > max)
			k = max;
		for (; n < k; n++)
			out[n] = j->all[j->frozen[off + n]];
		max -= k;
		off = 0;
	} else
		off -= j->nfrozen;
	if (max == 0)
		return n;
	if (off >= j->nqueue) {		/* skips the whole queue */
		freeze(j, j->nqueue);
		return n;
	}
	queue_sort(j);
	k = j->nqueue - off;
	if (k > max)
		k = max;
	for (size_t i = 0; i < k; i++)
		out[n++] = j->all[j->queue[off + i]];
	/* everything up to the last one returned is frozen, skipped or not */
	freeze(j, off + k);
	return n;
}

int
job_fetch(struct job *j, long offset, size_t max,
    const struct job_result **out, size_t *n, int *status)
{
	size_t got;

	if (j == NULL || n == NULL || status == NULL ||
	    (out == NULL && max > 0))
		return JOB_E_ARG;
	job_table_tick_one(j);
	if (offset < 0) {
		got = fetch_at(j, j->cursor, max, out);
		j->cursor += got;
	} else
		got = fetch_at(j, (size_t)offset, max, out);
	*n = got;
	if (got > 0)
		*status = j->nqueue > 0 || j->state == JOB_LIVE ?
		    JOB_FETCH_MORE : JOB_FETCH_DONE;
	else
		*status = j->state == JOB_LIVE ? JOB_FETCH_WAIT :
		    JOB_FETCH_DONE;
	return JOB_OK;
}

int
job_set_filter(struct job *j, const struct idx_filter *f, int sort)
{
	size_t i;
	int rc;

	if (j == NULL || f == NULL || sort < 0 || sort >= IDX_SORT_COUNT)
		return JOB_E_ARG;
	j->filter = *f;
	j->sort = sort;
	j->nfrozen = 0;
	j->cursor = 0;
	j->nqueue = 0;
	for (i = 0; i < j->nall; i++)
		if (idx_filter_match(f, &j->all[i]->file, j->all[i]->node_id) &&
		    (rc = push_u32(&j->queue, &j->nqueue, j->max_results,
		    (uint32_t)i)) != JOB_OK)
			return rc;
	j->need_sort = 1;
	queue_sort(j);
	return JOB_OK;
}

/* ---- statistics -------------------------------------------------------------- */

void
job_get_stats(struct job *j, struct job_stats *st)
{
	const struct job_result *r;
	size_t i;

	if (j == NULL || st == NULL)
		return;
	job_table_tick_one(j);
	*st = j->st;
	memset(st->by_type, 0, sizeof(st->by_type));
	memset(st->by_format, 0, sizeof(st->by_format));
	for (i = 0; i < j->nall; i++) {
		r = j->all[i];
		st->by_type[r->file.type < IDX_TYPE_COUNT ? r->file.type :
		    IDX_TYPE_COUNT]++;
		st->by_format[r->file.format < IDX_FORMAT_COUNT ?
		    r->file.format : IDX_FORMAT_COUNT]++;
	}
	st->results = j->nall;
	st->state = j->state;
	st->age_ms = clock_ms(j->t) - j->start_ms;
}

static int
i64_cmp(const void *a, const void *b)
{
	return cmp_i64(*(const int64_t *)a, *(const int64_t *)b);
}

size_t
job_stat_days(struct job *j, struct job_day *out, size_t max)
{
	int64_t *d, day;
	size_t i, n = 0;

	if (j == NULL || j->nall == 0 ||
	    (d = malloc(j->nall * sizeof(*d))) == NULL)
		return 0;
	for (i = 0; i < j->nall; i++) {
		day = j->all[i]->file.date;
		/* floor division: dates before 1970 go to their own day */
		d[i] = day == 0 ? 0 : day - (((day % 86400) + 86400) % 86400);
	}
	qsort(d, j->nall, sizeof(*d), i64_cmp);
	for (i = 0; i < j->nall; i++) {
		if (i > 0 && d[i] == d[i - 1]) {
			if (n <= max && n > 0)
				out[n - 1].count++;
			continue;
		}
		if (n < max) {
			out[n].day = d[i];
			out[n].count = 1;
		}
		n++;
	}
	free(d);
	return n;
}

int
job_state(struct job *j)
{
	if (j == NULL)
		return JOB_TERMINATED;
	job_table_tick_one(j);
	return j->state;
}

void
job_id(const struct job *j, uint8_t id[JOB_ID_LEN])
{
	memcpy(id, j->id, JOB_ID_LEN);
}
