/*
 * ipc_msg_search.c — codecs of the search area of the IPC catalogue
 * (ipc_msg_search.h): search jobs and the file stream searchd rebuilds its
 * index from.
 */
#include <string.h>

#include "blake3.h"
#include "ipc_msg_codec.h"

/* Largest encoded file and hit (every string at IPC_STR_MAX). */
#define FILE_WIRE_MAX	(16 + 32 + 33 + 8 + 1 + 2 + 8 + 8 + 3 * (2 + IPC_STR_MAX) + 2 + IPC_TAGS_MAX)
#define HIT_WIRE_MAX	(FILE_WIRE_MAX + 1 + 4 + 1 + IPC_SEARCH_SHARERS_MAX * 33)
#define PAGE_HDR_LEN	(IPC_HDR_LEN + 1 + 1 + 4 * 8 + 4)
#define CURSOR_LEN	(1 + 33 + 8 + 4)
#define FILES_HDR_LEN	(IPC_HDR_LEN + 2 * CURSOR_LEN + 1 + 4)

#define SHARERS_WIRE_MAX	(IPC_HDR_LEN + 32 + 1 + 4 + 8 + 2 + IPC_STR_MAX + 1 + \
	IPC_SHARERS_MAX * (33 + 32))

_Static_assert(SHARERS_WIRE_MAX <= IPC_MSG_MAX,
    "a full sharers reply must fit one IPC message");
_Static_assert(IPC_SHARERS_MAX <= UINT8_MAX, "the sharer count is one byte");

/* A full fetch page always fits: searchd never has to cut a page short. */
_Static_assert(PAGE_HDR_LEN + IPC_SEARCH_FETCH_MAX * HIT_WIRE_MAX <= IPC_MSG_MAX,
    "a full search page must fit one IPC message");

long
ipc_search_req_encode(uint8_t *out, size_t cap, const struct ipc_search_req *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_SEARCH_START, IPC_OK);
	ipc_w_str(&w, q->term);
	buf_w_u8(&w, q->type);
	buf_w_le16(&w, q->format);
	buf_w_le64(&w, (uint64_t)q->date_from);
	buf_w_le64(&w, (uint64_t)q->date_to);
	buf_w_le64(&w, (uint64_t)q->size_min);
	buf_w_le64(&w, (uint64_t)q->size_max);
	buf_w_u8(&w, q->has_node);
	buf_w_bytes(&w, q->node_id, sizeof(q->node_id));
	buf_w_u8(&w, q->sort);
	buf_w_le32(&w, q->limit);
	buf_w_le32(&w, q->timeout_ms);
	return ipc_w_done(&w);
}

int
ipc_search_req_decode(const uint8_t *p, size_t len, struct ipc_search_req *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_SEARCH_START)) != 0)
		return rc;
	if ((rc = ipc_r_str(&r, q->term, sizeof(q->term))) != 0)
		return rc;
	q->type = buf_r_u8(&r);
	q->format = buf_r_le16(&r);
	q->date_from = (int64_t)buf_r_le64(&r);
	q->date_to = (int64_t)buf_r_le64(&r);
	q->size_min = (int64_t)buf_r_le64(&r);
	q->size_max = (int64_t)buf_r_le64(&r);
	q->has_node = buf_r_u8(&r);
	buf_r_copy(&r, q->node_id, sizeof(q->node_id));
	q->sort = buf_r_u8(&r);
	q->limit = buf_r_le32(&r);
	q->timeout_ms = buf_r_le32(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if ((q->type > IPC_SEARCH_TYPE_MAX && q->type != IPC_SEARCH_TYPE_ANY) ||
	    (q->format > IPC_SEARCH_FORMAT_MAX && q->format != IPC_SEARCH_FORMAT_ANY) ||
	    q->size_min < -1 || q->size_max < -1 || q->has_node > 1 ||
	    q->sort > IPC_SEARCH_SORT_MAX || q->limit > IPC_SEARCH_RESULTS_MAX ||
	    q->timeout_ms > IPC_SEARCH_TIMEOUT_MAX)
		return IPC_DEC_RANGE;
	return ipc_r_end(&r);
}

long
ipc_search_id_encode(uint8_t *out, size_t cap, uint16_t type,
    const struct ipc_search_id *id)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, type, IPC_OK);
	buf_w_bytes(&w, id->id, sizeof(id->id));
	return ipc_w_done(&w);
}

int
ipc_search_id_decode(const uint8_t *p, size_t len, uint16_t type,
    struct ipc_search_id *id)
{
	struct buf_r r;
	int rc;

	if (type != IPC_SEARCH_START && type != IPC_SEARCH_STOP)
		return IPC_DEC_TYPE;
	if ((rc = ipc_r_begin(&r, p, len, type)) != 0)
		return rc;
	buf_r_copy(&r, id->id, sizeof(id->id));
	return ipc_r_end(&r);
}

long
ipc_search_fetch_encode(uint8_t *out, size_t cap, const struct ipc_search_fetch *f)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_SEARCH_FETCH, IPC_OK);
	buf_w_bytes(&w, f->id, sizeof(f->id));
	buf_w_le32(&w, (uint32_t)f->offset);
	buf_w_le32(&w, f->max);
	return ipc_w_done(&w);
}

int
ipc_search_fetch_decode(const uint8_t *p, size_t len, struct ipc_search_fetch *f)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_SEARCH_FETCH)) != 0)
		return rc;
	buf_r_copy(&r, f->id, sizeof(f->id));
	f->offset = (int32_t)buf_r_le32(&r);
	f->max = buf_r_le32(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if (f->offset < -1 || f->max == 0 || f->max > IPC_SEARCH_FETCH_MAX)
		return IPC_DEC_RANGE;
	return ipc_r_end(&r);
}

/* ---- fetch pages ------------------------------------------------------- */

static void
w_hit(struct buf_w *w, const struct ipc_search_hit *h)
{
	uint8_t i;

	ipc_w_file(w, &h->file);
	buf_w_u8(w, h->local);
	buf_w_le32(w, h->shared_by);
	if (h->nsharers > IPC_SEARCH_SHARERS_MAX) {
		w->err = 1;
		return;
	}
	buf_w_u8(w, h->nsharers);
	for (i = 0; i < h->nsharers; i++)
		buf_w_bytes(w, h->sharers[i], 33);
}

static int
r_hit(struct buf_r *r, struct ipc_search_hit *h)
{
	uint8_t i;
	int rc;

	if ((rc = ipc_r_file(r, &h->file)) != 0)
		return rc;
	h->local = buf_r_u8(r);
	h->shared_by = buf_r_le32(r);
	h->nsharers = buf_r_u8(r);
	if (r->err)
		return IPC_DEC_SHORT;
	if (h->local > 1 || h->nsharers > IPC_SEARCH_SHARERS_MAX ||
	    h->nsharers > h->shared_by)
		return IPC_DEC_RANGE;
	for (i = 0; i < h->nsharers; i++)
		buf_r_copy(r, h->sharers[i], 33);
	return r->err ? IPC_DEC_SHORT : 0;
}

long
ipc_search_page_begin(uint8_t *out, size_t cap, const struct ipc_search_page *pg)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_SEARCH_FETCH, IPC_OK);
	buf_w_u8(&w, pg->status);
	buf_w_u8(&w, pg->truncated);
	buf_w_le64(&w, pg->scanned);
	buf_w_le64(&w, pg->results);
	buf_w_le64(&w, pg->dropped_offline);
	buf_w_le64(&w, pg->elapsed_ms);
	buf_w_le32(&w, 0);
	return ipc_w_done(&w);
}

int
ipc_search_page_add(uint8_t *out, size_t cap, size_t *off,
    const struct ipc_search_hit *h)
{
	struct buf_w w;
	uint32_t n;

	if (cap < PAGE_HDR_LEN)
		return -1;
	n = buf_le32(out + PAGE_HDR_LEN - 4);
	if (n >= IPC_SEARCH_FETCH_MAX)
		return -1;
	buf_w_init(&w, out, cap);
	w.off = *off;
	w_hit(&w, h);
	if (w.err)
		return -1;
	*off = w.off;
	buf_put_le32(out + PAGE_HDR_LEN - 4, n + 1);
	return 0;
}

int
ipc_search_page_decode(const uint8_t *p, size_t len, struct ipc_search_page *pg)
{
	struct ipc_search_hit h;
	struct buf_r r;
	uint32_t i;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_SEARCH_FETCH)) != 0)
		return rc;
	pg->status = buf_r_u8(&r);
	pg->truncated = buf_r_u8(&r);
	pg->scanned = buf_r_le64(&r);
	pg->results = buf_r_le64(&r);
	pg->dropped_offline = buf_r_le64(&r);
	pg->elapsed_ms = buf_r_le64(&r);
	pg->count = buf_r_le32(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if ((pg->status != IPC_SEARCH_MORE && pg->status != IPC_SEARCH_DONE &&
	    pg->status != IPC_SEARCH_WAIT) || pg->truncated > 1 ||
	    pg->count > IPC_SEARCH_FETCH_MAX)
		return IPC_DEC_RANGE;
	pg->p = p;
	pg->len = len;
	pg->off = IPC_HDR_LEN + r.off;
	/* Every hit is validated now, so that iterating cannot fail later. */
	for (i = 0; i < pg->count; i++)
		if ((rc = r_hit(&r, &h)) != 0)
			return rc;
	return ipc_r_end(&r);
}

int
ipc_search_page_next(struct ipc_search_page *pg, struct ipc_search_hit *h)
{
	struct buf_r r;
	int rc;

	if (pg->off >= pg->len)
		return 0;
	buf_r_init(&r, pg->p, pg->len);
	r.off = pg->off;
	if ((rc = r_hit(&r, h)) != 0)
		return rc;
	pg->off = r.off;
	return 1;
}

/* ---- the file stream (IPC_FILES_ALL) ----------------------------------- */

int
ipc_files_cursor_cmp(const struct ipc_files_cursor *a,
    const struct ipc_files_cursor *b)
{
	int r;

	if (a->phase != b->phase)
		return a->phase < b->phase ? -1 : 1;
	if ((r = memcmp(a->owner, b->owner, sizeof(a->owner))) != 0)
		return r;
	if (a->block != b->block)
		return a->block < b->block ? -1 : 1;
	return (a->record > b->record) - (a->record < b->record);
}

static void
w_cursor(struct buf_w *w, const struct ipc_files_cursor *c)
{
	buf_w_u8(w, c->phase);
	buf_w_bytes(w, c->owner, sizeof(c->owner));
	buf_w_le64(w, c->block);
	buf_w_le32(w, c->record);
}

/* Also checks the cursor's shape: no owner outside the cache phase. */
static int
r_cursor(struct buf_r *r, struct ipc_files_cursor *c)
{
	static const uint8_t zero[33];

	c->phase = buf_r_u8(r);
	buf_r_copy(r, c->owner, sizeof(c->owner));
	c->block = buf_r_le64(r);
	c->record = buf_r_le32(r);
	if (r->err)
		return IPC_DEC_SHORT;
	if (c->phase > IPC_FILES_END ||
	    (c->phase != IPC_FILES_CACHE &&
	    memcmp(c->owner, zero, sizeof(zero)) != 0) ||
	    (c->phase == IPC_FILES_END && (c->block != 0 || c->record != 0)))
		return IPC_DEC_RANGE;
	return 0;
}

long
ipc_files_req_encode(uint8_t *out, size_t cap, const struct ipc_files_req *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_FILES_ALL, IPC_OK);
	w_cursor(&w, &q->from);
	buf_w_le32(&w, q->limit);
	return ipc_w_done(&w);
}

int
ipc_files_req_decode(const uint8_t *p, size_t len, struct ipc_files_req *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_FILES_ALL)) != 0)
		return rc;
	if ((rc = r_cursor(&r, &q->from)) != 0)
		return rc;
	q->limit = buf_r_le32(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if (q->limit == 0 || q->limit > IPC_FILES_PAGE_MAX)
		return IPC_DEC_RANGE;
	return ipc_r_end(&r);
}

long
ipc_files_page_begin(uint8_t *out, size_t cap,
    const struct ipc_files_cursor *from)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_FILES_ALL, IPC_OK);
	w_cursor(&w, from);
	w_cursor(&w, from);		/* next: set by _end */
	buf_w_u8(&w, 0);
	buf_w_le32(&w, 0);
	return ipc_w_done(&w);
}

int
ipc_files_page_add(uint8_t *out, size_t cap, size_t *off, const struct ipc_file *f)
{
	struct buf_w w;
	uint32_t n;

	if (cap < FILES_HDR_LEN)
		return -1;
	n = buf_le32(out + FILES_HDR_LEN - 4);
	if (n >= IPC_FILES_PAGE_MAX)
		return -1;
	buf_w_init(&w, out, cap);
	w.off = *off;
	ipc_w_file(&w, f);
	if (w.err)
		return -1;
	*off = w.off;
	buf_put_le32(out + FILES_HDR_LEN - 4, n + 1);
	return 0;
}

void
ipc_files_page_end(uint8_t *out, const struct ipc_files_cursor *next,
    int done)
{
	struct buf_w w;

	buf_w_init(&w, out + IPC_HDR_LEN + CURSOR_LEN, CURSOR_LEN + 1);
	w_cursor(&w, next);
	buf_w_u8(&w, done ? 1 : 0);
}

int
ipc_files_page_decode(const uint8_t *p, size_t len, struct ipc_files_page *pg)
{
	struct ipc_file f;
	struct buf_r r;
	uint32_t i;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_FILES_ALL)) != 0)
		return rc;
	if ((rc = r_cursor(&r, &pg->from)) != 0 ||
	    (rc = r_cursor(&r, &pg->next)) != 0)
		return rc;
	pg->done = buf_r_u8(&r);
	pg->count = buf_r_le32(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	/*
	 * A page that is not the last must move the cursor forward (no
	 * endless loop); the last one ends the stream.
	 */
	if (pg->done > 1 || pg->count > IPC_FILES_PAGE_MAX ||
	    (!pg->done && ipc_files_cursor_cmp(&pg->next, &pg->from) <= 0) ||
	    (pg->done && pg->next.phase != IPC_FILES_END))
		return IPC_DEC_RANGE;
	pg->p = p;
	pg->len = len;
	pg->off = IPC_HDR_LEN + r.off;
	for (i = 0; i < pg->count; i++)
		if ((rc = ipc_r_file(&r, &f)) != 0)
			return rc;
	return ipc_r_end(&r);
}

int
ipc_files_page_next(struct ipc_files_page *pg, struct ipc_file *f)
{
	struct buf_r r;
	int rc;

	if (pg->off >= pg->len)
		return 0;
	buf_r_init(&r, pg->p, pg->len);
	r.off = pg->off;
	if ((rc = ipc_r_file(&r, f)) != 0)
		return rc;
	pg->off = r.off;
	return 1;
}

/* ---- the sharers of a content hash (IPC_SHARERS) ------------------------ */

long
ipc_sharers_req_encode(uint8_t *out, size_t cap, const struct ipc_sharers_req *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_SHARERS, IPC_OK);
	buf_w_bytes(&w, q->hash, sizeof(q->hash));
	return ipc_w_done(&w);
}

int
ipc_sharers_req_decode(const uint8_t *p, size_t len, struct ipc_sharers_req *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_SHARERS)) != 0)
		return rc;
	buf_r_copy(&r, q->hash, sizeof(q->hash));
	return ipc_r_end(&r);
}

long
ipc_sharers_encode(uint8_t *out, size_t cap, const struct ipc_sharers *s)
{
	struct buf_w w;
	unsigned i;

	if (s->count > IPC_SHARERS_MAX)
		return -1;
	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_SHARERS, IPC_OK);
	buf_w_bytes(&w, s->hash, sizeof(s->hash));
	buf_w_u8(&w, s->local);
	buf_w_le32(&w, s->total);
	buf_w_le64(&w, s->size);
	ipc_w_str(&w, s->name);
	buf_w_u8(&w, s->count);
	for (i = 0; i < s->count; i++) {
		buf_w_bytes(&w, s->sharers[i].pubkey, 33);
		buf_w_bytes(&w, s->sharers[i].node_id, 32);
	}
	return ipc_w_done(&w);
}

/*
 * A sharer is only useful as an address for a download: a key that is
 * not compressed or a node ID that is not its hash would make ctl ask
 * netd for a node that does not exist, so the reply is refused whole.
 */
static int
r_sharer(struct buf_r *r, struct ipc_sharer *sh)
{
	uint8_t id[32];

	buf_r_copy(r, sh->pubkey, sizeof(sh->pubkey));
	buf_r_copy(r, sh->node_id, sizeof(sh->node_id));
	if (r->err)
		return IPC_DEC_SHORT;
	if (sh->pubkey[0] != 0x02 && sh->pubkey[0] != 0x03)
		return IPC_DEC_RANGE;
	blake3_hash(sh->pubkey, sizeof(sh->pubkey), id);
	return memcmp(id, sh->node_id, sizeof(id)) == 0 ? 0 : IPC_DEC_RANGE;
}

int
ipc_sharers_decode(const uint8_t *p, size_t len, struct ipc_sharers *s)
{
	struct buf_r r;
	unsigned i, j;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_SHARERS)) != 0)
		return rc;
	buf_r_copy(&r, s->hash, sizeof(s->hash));
	s->local = buf_r_u8(&r);
	s->total = buf_r_le32(&r);
	s->size = buf_r_le64(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if ((rc = ipc_r_str(&r, s->name, sizeof(s->name))) != 0)
		return rc;
	s->count = buf_r_u8(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if (s->local > 1 || s->count > IPC_SHARERS_MAX || s->count > s->total ||
	    (s->total == 0 && !s->local && (s->size != 0 || s->name[0] != '\0')))
		return IPC_DEC_RANGE;
	for (i = 0; i < s->count; i++) {
		if ((rc = r_sharer(&r, &s->sharers[i])) != 0)
			return rc;
		for (j = 0; j < i; j++)
			if (memcmp(s->sharers[j].pubkey, s->sharers[i].pubkey, 33) == 0)
				return IPC_DEC_RANGE;
	}
	return ipc_r_end(&r);
}
