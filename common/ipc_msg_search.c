/*
 * ipc_msg_search.c — codecs of the search area of the IPC catalogue
 * (ipc_msg_search.h): search jobs and the file stream searchd rebuilds its
 * index from.
 */
#include <stddef.h>
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

static int
search_req_check(const void *msg)
{
	const struct ipc_search_req *q = msg;

	return (q->type > IPC_SEARCH_TYPE_MAX && q->type != IPC_SEARCH_TYPE_ANY) ||
	    (q->format > IPC_SEARCH_FORMAT_MAX && q->format != IPC_SEARCH_FORMAT_ANY) ||
	    q->size_min < -1 || q->size_max < -1 ? IPC_DEC_RANGE : 0;
}

static const struct ipc_field search_req_desc_f[] = {
	IPC_STR(struct ipc_search_req, term),
	IPC_INT(struct ipc_search_req, type, 0),
	IPC_INT(struct ipc_search_req, format, 0),
	IPC_INT(struct ipc_search_req, date_from, 0),
	IPC_INT(struct ipc_search_req, date_to, 0),
	IPC_INT(struct ipc_search_req, size_min, 0),
	IPC_INT(struct ipc_search_req, size_max, 0),
	IPC_INT(struct ipc_search_req, has_node, 1),
	IPC_BYTES(struct ipc_search_req, node_id),
	IPC_INT(struct ipc_search_req, sort, IPC_SEARCH_SORT_MAX),
	IPC_INT(struct ipc_search_req, limit, IPC_SEARCH_RESULTS_MAX),
	IPC_INT(struct ipc_search_req, timeout_ms, IPC_SEARCH_TIMEOUT_MAX),
};
IPC_DESC(search_req_desc, struct ipc_search_req, 0, search_req_check);

static const struct ipc_field search_id_desc_f[] = {
	IPC_BYTES(struct ipc_search_id, id),
};
IPC_DESC(search_id_desc, struct ipc_search_id, 0, NULL);

static int
search_fetch_check(const void *msg)
{
	const struct ipc_search_fetch *f = msg;

	return f->offset < -1 ? IPC_DEC_RANGE : 0;
}

static const struct ipc_field search_fetch_desc_f[] = {
	IPC_BYTES(struct ipc_search_fetch, id),
	IPC_INT(struct ipc_search_fetch, offset, 0),
	IPC_INT_NZ(struct ipc_search_fetch, max, IPC_SEARCH_FETCH_MAX),
};
IPC_DESC(search_fetch_desc, struct ipc_search_fetch, 0, search_fetch_check);

/* One owner of a hit: a compressed key (uint8_t[33] of the sharers array). */
struct key33 {
	uint8_t		key[33];
};
_Static_assert(sizeof(struct key33) == 33, "a hit's sharers are packed keys");

static const struct ipc_field key33_desc_f[] = {
	IPC_BYTES(struct key33, key),
};
IPC_DESC(key33_desc, struct key33, 0, NULL);

static int
hit_check(const void *msg)
{
	const struct ipc_search_hit *h = msg;

	return h->nsharers > h->shared_by ? IPC_DEC_RANGE : 0;
}

static const struct ipc_field hit_desc_f[] = {
	IPC_SUB(struct ipc_search_hit, file, ipc_file_desc),
	IPC_INT(struct ipc_search_hit, local, 1),
	IPC_INT(struct ipc_search_hit, shared_by, 0),
	IPC_ARRAY(struct ipc_search_hit, nsharers, sharers, IPC_SEARCH_SHARERS_MAX,
	    key33_desc, 0),
};
IPC_DESC(hit_desc, struct ipc_search_hit, 0, hit_check);

static int
page_check(const void *msg)
{
	const struct ipc_search_page *pg = msg;

	return pg->status != IPC_SEARCH_MORE && pg->status != IPC_SEARCH_DONE &&
	    pg->status != IPC_SEARCH_WAIT ? IPC_DEC_RANGE : 0;
}

/* The page header; the hits follow. */
static const struct ipc_field page_desc_f[] = {
	IPC_INT(struct ipc_search_page, status, 0),
	IPC_INT(struct ipc_search_page, truncated, 1),
	IPC_INT(struct ipc_search_page, scanned, 0),
	IPC_INT(struct ipc_search_page, results, 0),
	IPC_INT(struct ipc_search_page, dropped_offline, 0),
	IPC_INT(struct ipc_search_page, elapsed_ms, 0),
	IPC_INT(struct ipc_search_page, count, IPC_SEARCH_FETCH_MAX),
};
IPC_DESC(page_desc, struct ipc_search_page, 0, page_check);

/* Also checks the cursor's shape: no owner outside the cache phase. */
static int
cursor_check(const void *msg)
{
	static const uint8_t zero[33];
	const struct ipc_files_cursor *c = msg;

	return (c->phase != IPC_FILES_CACHE && memcmp(c->owner, zero, sizeof(zero)) != 0) ||
	    (c->phase == IPC_FILES_END && (c->block != 0 || c->record != 0)) ?
	    IPC_DEC_RANGE : 0;
}

static const struct ipc_field cursor_desc_f[] = {
	IPC_INT(struct ipc_files_cursor, phase, IPC_FILES_END),
	IPC_BYTES(struct ipc_files_cursor, owner),
	IPC_INT(struct ipc_files_cursor, block, 0),
	IPC_INT(struct ipc_files_cursor, record, 0),
};
IPC_DESC(cursor_desc, struct ipc_files_cursor, 0, cursor_check);

static const struct ipc_field files_req_desc_f[] = {
	IPC_SUB(struct ipc_files_req, from, cursor_desc),
	IPC_INT_NZ(struct ipc_files_req, limit, IPC_FILES_PAGE_MAX),
};
IPC_DESC(files_req_desc, struct ipc_files_req, 0, NULL);

/*
 * A page that is not the last must move the cursor forward (no endless
 * loop); the last one ends the stream.
 */
static int
files_page_check(const void *msg)
{
	const struct ipc_files_page *pg = msg;

	return (!pg->done && ipc_files_cursor_cmp(&pg->next, &pg->from) <= 0) ||
	    (pg->done && pg->next.phase != IPC_FILES_END) ? IPC_DEC_RANGE : 0;
}

/* The page header; the files follow. */
static const struct ipc_field files_page_desc_f[] = {
	IPC_SUB(struct ipc_files_page, from, cursor_desc),
	IPC_SUB(struct ipc_files_page, next, cursor_desc),
	IPC_INT(struct ipc_files_page, done, 1),
	IPC_INT(struct ipc_files_page, count, IPC_FILES_PAGE_MAX),
};
IPC_DESC(files_page_desc, struct ipc_files_page, 0, files_page_check);

static const struct ipc_field sharers_req_desc_f[] = {
	IPC_BYTES(struct ipc_sharers_req, hash),
};
IPC_DESC(sharers_req_desc, struct ipc_sharers_req, 0, NULL);

/*
 * A sharer is only useful as an address for a download: a key that is
 * not compressed or a node ID that is not its hash would make ctl ask
 * netd for a node that does not exist, so the reply is refused whole.
 */
static int
sharer_check(const void *msg)
{
	const struct ipc_sharer *sh = msg;
	uint8_t id[32];

	blake3_hash(sh->pubkey, sizeof(sh->pubkey), id);
	return memcmp(id, sh->node_id, sizeof(id)) == 0 ? 0 : IPC_DEC_RANGE;
}

static const struct ipc_field sharer_desc_f[] = {
	IPC_KEY(struct ipc_sharer, pubkey),
	IPC_BYTES(struct ipc_sharer, node_id),
};
IPC_DESC(sharer_desc, struct ipc_sharer, 0, sharer_check);

/* No owner twice; nothing known of a file no one shares. */
static int
sharers_check(const void *msg)
{
	const struct ipc_sharers *s = msg;
	unsigned i, j;

	if (s->count > s->total ||
	    (s->total == 0 && !s->local && (s->size != 0 || s->name[0] != '\0')))
		return IPC_DEC_RANGE;
	for (i = 0; i < s->count; i++)
		for (j = 0; j < i; j++)
			if (memcmp(s->sharers[j].pubkey, s->sharers[i].pubkey, 33) == 0)
				return IPC_DEC_RANGE;
	return 0;
}

static const struct ipc_field sharers_desc_f[] = {
	IPC_BYTES(struct ipc_sharers, hash),
	IPC_INT(struct ipc_sharers, local, 1),
	IPC_INT(struct ipc_sharers, total, 0),
	IPC_INT(struct ipc_sharers, size, 0),
	IPC_STR(struct ipc_sharers, name),
	IPC_ARRAY(struct ipc_sharers, count, sharers, IPC_SHARERS_MAX, sharer_desc, 0),
};
IPC_DESC(sharers_desc, struct ipc_sharers, 0, sharers_check);

IPC_CODEC(search_req, struct ipc_search_req, IPC_SEARCH_START, search_req_desc)

long
ipc_search_id_encode(uint8_t *out, size_t cap, uint16_t type,
    const struct ipc_search_id *id)
{
	return ipc_encode(out, cap, type, &search_id_desc, id);
}

int
ipc_search_id_decode(const uint8_t *p, size_t len, uint16_t type,
    struct ipc_search_id *id)
{
	if (type != IPC_SEARCH_START && type != IPC_SEARCH_STOP)
		return IPC_DEC_TYPE;
	return ipc_decode(p, len, type, &search_id_desc, id);
}

IPC_CODEC(search_fetch, struct ipc_search_fetch, IPC_SEARCH_FETCH, search_fetch_desc)

/* ---- fetch pages ------------------------------------------------------- */

long
ipc_search_page_begin(uint8_t *out, size_t cap, const struct ipc_search_page *pg)
{
	struct ipc_search_page h = *pg;

	h.count = 0;
	return ipc_encode(out, cap, IPC_SEARCH_FETCH, &page_desc, &h);
}

int
ipc_search_page_add(uint8_t *out, size_t cap, size_t *off,
    const struct ipc_search_hit *h)
{
	return ipc_list_add(out, cap, off, PAGE_HDR_LEN, IPC_SEARCH_FETCH_MAX, &hit_desc, h);
}

int
ipc_search_page_decode(const uint8_t *p, size_t len, struct ipc_search_page *pg)
{
	struct ipc_search_hit h;
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_SEARCH_FETCH)) != 0 ||
	    (rc = ipc_r_fields(&r, &page_desc, pg)) != 0)
		return rc;
	pg->p = p;
	pg->len = len;
	pg->off = IPC_HDR_LEN + r.off;
	/* Every hit is validated now, so that iterating cannot fail later. */
	return ipc_list_check(&r, pg->count, &hit_desc, &h);
}

int
ipc_search_page_next(struct ipc_search_page *pg, struct ipc_search_hit *h)
{
	return ipc_list_next(pg->p, pg->len, &pg->off, &hit_desc, h);
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

IPC_CODEC(files_req, struct ipc_files_req, IPC_FILES_ALL, files_req_desc)

/* next is `from` until _end sets it. */
long
ipc_files_page_begin(uint8_t *out, size_t cap,
    const struct ipc_files_cursor *from)
{
	struct ipc_files_page h = { .from = *from, .next = *from };

	return ipc_encode(out, cap, IPC_FILES_ALL, &files_page_desc, &h);
}

int
ipc_files_page_add(uint8_t *out, size_t cap, size_t *off, const struct ipc_file *f)
{
	return ipc_list_add(out, cap, off, FILES_HDR_LEN, IPC_FILES_PAGE_MAX,
	    &ipc_file_desc, f);
}

void
ipc_files_page_end(uint8_t *out, const struct ipc_files_cursor *next,
    int done)
{
	struct buf_w w;

	buf_w_init(&w, out + IPC_HDR_LEN + CURSOR_LEN, CURSOR_LEN + 1);
	ipc_w_fields(&w, &cursor_desc, next);
	buf_w_u8(&w, done ? 1 : 0);
}

int
ipc_files_page_decode(const uint8_t *p, size_t len, struct ipc_files_page *pg)
{
	struct ipc_file f;
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_FILES_ALL)) != 0 ||
	    (rc = ipc_r_fields(&r, &files_page_desc, pg)) != 0)
		return rc;
	pg->p = p;
	pg->len = len;
	pg->off = IPC_HDR_LEN + r.off;
	return ipc_list_check(&r, pg->count, &ipc_file_desc, &f);
}

int
ipc_files_page_next(struct ipc_files_page *pg, struct ipc_file *f)
{
	return ipc_list_next(pg->p, pg->len, &pg->off, &ipc_file_desc, f);
}

/* ---- the sharers of a content hash (IPC_SHARERS) ------------------------ */

IPC_CODEC(sharers_req, struct ipc_sharers_req, IPC_SHARERS, sharers_req_desc)
IPC_CODEC(sharers, struct ipc_sharers, IPC_SHARERS, sharers_desc)
