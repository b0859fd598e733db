/*
 * test_ipc_search.c — the search area of the IPC catalogue: round trips of
 * every message, every truncation and trailing byte rejected, ranges.
 */
#include <stdio.h>
#include <string.h>

#include "blake3.h"
#include "ipc_msg.h"
#include "t.h"

static uint8_t buf[IPC_MSG_MAX];

static void
fill_file(struct ipc_file *f, int k)
{
	memset(f, 0, sizeof(*f));
	memset(f->id, 0x10 + k, sizeof(f->id));
	memset(f->hash, 0x20 + k, sizeof(f->hash));
	f->owner[0] = 0x02;
	memset(f->owner + 1, 0x30 + k, 32);
	f->size = 123456789012ULL + (uint64_t)k;
	f->type = 3;
	f->format = 7;
	f->date = 1700000000 + k;
	f->block = 5 + (uint64_t)k;
	snprintf(f->name, sizeof(f->name), "Ünïcödé_Fïlé-%d.mp4", k);
	strcpy(f->folder, "videos/2021");
	strcpy(f->description, "東京タワー");
}

static void
fill_req(struct ipc_search_req *q)
{
	memset(q, 0, sizeof(*q));
	strcpy(q->term, "holiday video");
	q->type = 3;
	q->format = IPC_SEARCH_FORMAT_ANY;
	q->date_from = -86400;
	q->date_to = INT64_MAX;
	q->size_min = 1024;
	q->size_max = -1;
	q->has_node = 1;
	memset(q->node_id, 0xab, sizeof(q->node_id));
	q->sort = 11;
	q->limit = 500;
	q->timeout_ms = 20000;
}

/* Every proper prefix of a valid message fails to decode. */
#define T_EVERY_PREFIX_FAILS(n, call) do {				\
	size_t _k;							\
	for (_k = 0; _k < (size_t)(n); _k++) {				\
		size_t len = _k;					\
		if ((call) == 0) {					\
			T_FAIL("prefix of %zu bytes (of %ld) decoded",	\
			    _k, (long)(n));				\
			break;						\
		}							\
	}								\
} while (0)

static void
test_search_req_round_trip_keeps_every_field(void)
{
	static struct ipc_search_req a, b;
	long n;

	fill_req(&a);
	n = ipc_search_req_encode(buf, sizeof(buf), &a);
	T_ASSERT(n > 0);
	T_EQ_INT(ipc_search_req_decode(buf, (size_t)n, &b), 0);
	T_EQ_STR(b.term, "holiday video");
	T_EQ_INT(b.type, 3);
	T_EQ_INT(b.format, IPC_SEARCH_FORMAT_ANY);
	T_ASSERT(b.date_from == -86400);
	T_ASSERT(b.date_to == INT64_MAX);
	T_ASSERT(b.size_min == 1024);
	T_ASSERT(b.size_max == -1);
	T_EQ_INT(b.has_node, 1);
	T_EQ_MEM(b.node_id, a.node_id, 32);
	T_EQ_INT(b.sort, 11);
	T_EQ_U64(b.limit, 500);
	T_EQ_U64(b.timeout_ms, 20000);
}

static void
test_search_req_rejects_truncation_and_trailing_byte(void)
{
	static struct ipc_search_req a, b;
	long n;

	fill_req(&a);
	n = ipc_search_req_encode(buf, sizeof(buf), &a);
	T_ASSERT(n > 0);
	T_EVERY_PREFIX_FAILS(n, ipc_search_req_decode(buf, len, &b));
	buf[n] = 0;
	T_EQ_INT(ipc_search_req_decode(buf, (size_t)n + 1, &b), IPC_DEC_TRAILING);
}

static void
test_search_req_rejects_out_of_range_fields(void)
{
	static struct ipc_search_req a, b;
	long n;

	fill_req(&a);
	a.type = 11;
	n = ipc_search_req_encode(buf, sizeof(buf), &a);
	T_EQ_INT(ipc_search_req_decode(buf, (size_t)n, &b), IPC_DEC_RANGE);
	fill_req(&a);
	a.format = 22;
	n = ipc_search_req_encode(buf, sizeof(buf), &a);
	T_EQ_INT(ipc_search_req_decode(buf, (size_t)n, &b), IPC_DEC_RANGE);
	fill_req(&a);
	a.size_min = -2;
	n = ipc_search_req_encode(buf, sizeof(buf), &a);
	T_EQ_INT(ipc_search_req_decode(buf, (size_t)n, &b), IPC_DEC_RANGE);
	fill_req(&a);
	a.has_node = 2;
	n = ipc_search_req_encode(buf, sizeof(buf), &a);
	T_EQ_INT(ipc_search_req_decode(buf, (size_t)n, &b), IPC_DEC_RANGE);
	fill_req(&a);
	a.sort = IPC_SEARCH_SORT_MAX + 1;
	n = ipc_search_req_encode(buf, sizeof(buf), &a);
	T_EQ_INT(ipc_search_req_decode(buf, (size_t)n, &b), IPC_DEC_RANGE);
	fill_req(&a);
	a.limit = IPC_SEARCH_RESULTS_MAX + 1;
	n = ipc_search_req_encode(buf, sizeof(buf), &a);
	T_EQ_INT(ipc_search_req_decode(buf, (size_t)n, &b), IPC_DEC_RANGE);
	fill_req(&a);
	a.timeout_ms = IPC_SEARCH_TIMEOUT_MAX + 1;
	n = ipc_search_req_encode(buf, sizeof(buf), &a);
	T_EQ_INT(ipc_search_req_decode(buf, (size_t)n, &b), IPC_DEC_RANGE);
	/* The boundaries themselves are accepted. */
	fill_req(&a);
	a.type = IPC_SEARCH_TYPE_ANY;
	a.format = IPC_SEARCH_FORMAT_MAX;
	a.limit = IPC_SEARCH_RESULTS_MAX;
	a.timeout_ms = IPC_SEARCH_TIMEOUT_MAX;
	a.sort = IPC_SEARCH_SORT_MAX;
	n = ipc_search_req_encode(buf, sizeof(buf), &a);
	T_EQ_INT(ipc_search_req_decode(buf, (size_t)n, &b), 0);
}

static void
test_search_req_term_limits(void)
{
	static struct ipc_search_req a, b;
	long n;

	/* 1024 bytes go through; the encoder refuses more. */
	fill_req(&a);
	memset(a.term, 'a', IPC_SEARCH_TERM_MAX);
	a.term[IPC_SEARCH_TERM_MAX] = '\0';
	n = ipc_search_req_encode(buf, sizeof(buf), &a);
	T_ASSERT(n > 0);
	T_EQ_INT(ipc_search_req_decode(buf, (size_t)n, &b), 0);
	T_EQ_U64(strlen(b.term), IPC_SEARCH_TERM_MAX);
	/* A forged length of 1025 is refused by the decoder. */
	buf[IPC_HDR_LEN] = 0x01;
	buf[IPC_HDR_LEN + 1] = 0x04;
	T_EQ_INT(ipc_search_req_decode(buf, (size_t)n + 1, &b), IPC_DEC_STRING);
	/* A NUL inside the term is refused. */
	fill_req(&a);
	n = ipc_search_req_encode(buf, sizeof(buf), &a);
	buf[IPC_HDR_LEN + 2 + 3] = '\0';
	T_EQ_INT(ipc_search_req_decode(buf, (size_t)n, &b), IPC_DEC_STRING);
	/* An empty term decodes (searchd itself refuses it with a reason). */
	fill_req(&a);
	a.term[0] = '\0';
	n = ipc_search_req_encode(buf, sizeof(buf), &a);
	T_EQ_INT(ipc_search_req_decode(buf, (size_t)n, &b), 0);
	T_EQ_STR(b.term, "");
}

static void
test_search_id_and_fetch_round_trip_and_truncation(void)
{
	struct ipc_search_id a, b;
	struct ipc_search_fetch fa, fb;
	long n;

	memset(a.id, 0x5a, sizeof(a.id));
	a.id[0] = 1;
	n = ipc_search_id_encode(buf, sizeof(buf), IPC_SEARCH_START, &a);
	T_EQ_INT(n, IPC_HDR_LEN + 16);
	T_EQ_INT(ipc_search_id_decode(buf, (size_t)n, IPC_SEARCH_START, &b), 0);
	T_EQ_MEM(b.id, a.id, 16);
	T_EQ_INT(ipc_search_id_decode(buf, (size_t)n, IPC_SEARCH_STOP, &b), IPC_DEC_TYPE);
	T_EQ_INT(ipc_search_id_decode(buf, (size_t)n, IPC_SEARCH_FETCH, &b), IPC_DEC_TYPE);
	T_EVERY_PREFIX_FAILS(n, ipc_search_id_decode(buf, len, IPC_SEARCH_START, &b));
	n = ipc_search_id_encode(buf, sizeof(buf), IPC_SEARCH_STOP, &a);
	T_EQ_INT(ipc_search_id_decode(buf, (size_t)n, IPC_SEARCH_STOP, &b), 0);
	T_EQ_INT(ipc_search_id_decode(buf, (size_t)n + 1, IPC_SEARCH_STOP, &b),
	    IPC_DEC_TRAILING);

	memcpy(fa.id, a.id, 16);
	fa.offset = -1;
	fa.max = IPC_SEARCH_FETCH_MAX;
	T_EQ_INT(T_TRIP(ipc_search_fetch, buf, &fa, &fb, n), 0);
	T_EQ_MEM(fb.id, fa.id, 16);
	T_EQ_INT(fb.offset, -1);
	T_EQ_U64(fb.max, IPC_SEARCH_FETCH_MAX);
	T_EVERY_PREFIX_FAILS(n, ipc_search_fetch_decode(buf, len, &fb));
	T_EQ_INT(ipc_search_fetch_decode(buf, (size_t)n + 1, &fb), IPC_DEC_TRAILING);
	fa.offset = 123456;
	T_EQ_INT(T_TRIP(ipc_search_fetch, buf, &fa, &fb, n), 0);
	T_EQ_INT(fb.offset, 123456);
	fa.offset = -2;
	T_EQ_INT(T_TRIP(ipc_search_fetch, buf, &fa, &fb, n), IPC_DEC_RANGE);
	fa.offset = 0;
	fa.max = 0;
	T_EQ_INT(T_TRIP(ipc_search_fetch, buf, &fa, &fb, n), IPC_DEC_RANGE);
	fa.max = IPC_SEARCH_FETCH_MAX + 1;
	T_EQ_INT(T_TRIP(ipc_search_fetch, buf, &fa, &fb, n), IPC_DEC_RANGE);
}

static long
make_page(int nhits, int nsharers)
{
	static struct ipc_search_hit h;
	struct ipc_search_page pg;
	size_t off;
	long n;
	int i, k;

	memset(&pg, 0, sizeof(pg));
	pg.status = IPC_SEARCH_MORE;
	pg.truncated = 1;
	pg.scanned = 1234567;
	pg.results = 42;
	pg.dropped_offline = 7;
	pg.elapsed_ms = 99;
	n = ipc_search_page_begin(buf, sizeof(buf), &pg);
	if (n < 0)
		return -1;
	off = (size_t)n;
	for (i = 0; i < nhits; i++) {
		memset(&h, 0, sizeof(h));
		fill_file(&h.file, i);
		h.local = i == 0;
		h.shared_by = (uint32_t)nsharers + 100;
		h.nsharers = (uint8_t)nsharers;
		for (k = 0; k < nsharers; k++)
			memset(h.sharers[k], 0x40 + k, 33);
		if (ipc_search_page_add(buf, sizeof(buf), &off, &h) != 0)
			return -1;
	}
	return (long)off;
}

static void
test_search_page_round_trip_keeps_hits_and_sharers(void)
{
	static struct ipc_search_hit h;
	struct ipc_search_page pg;
	struct ipc_file want;
	long n;
	int i = 0;

	n = make_page(3, 2);
	T_ASSERT(n > 0);
	T_EQ_INT(ipc_search_page_decode(buf, (size_t)n, &pg), 0);
	T_EQ_INT(pg.status, IPC_SEARCH_MORE);
	T_EQ_INT(pg.truncated, 1);
	T_EQ_U64(pg.scanned, 1234567);
	T_EQ_U64(pg.results, 42);
	T_EQ_U64(pg.dropped_offline, 7);
	T_EQ_U64(pg.elapsed_ms, 99);
	T_EQ_U64(pg.count, 3);
	while (ipc_search_page_next(&pg, &h) == 1) {
		fill_file(&want, i);
		T_EQ_STR(h.file.name, want.name);
		T_EQ_STR(h.file.description, "東京タワー");
		T_EQ_MEM(h.file.hash, want.hash, 32);
		T_EQ_MEM(h.file.owner, want.owner, 33);
		T_EQ_U64(h.file.size, want.size);
		T_EQ_INT(h.local, i == 0);
		T_EQ_U64(h.shared_by, 102);
		T_EQ_INT(h.nsharers, 2);
		T_EQ_INT(h.sharers[1][32], 0x41);
		i++;
	}
	T_EQ_INT(i, 3);
}

static void
test_search_page_rejects_every_truncation(void)
{
	struct ipc_search_page pg;
	long n;

	n = make_page(2, 3);
	T_ASSERT(n > 0);
	T_EVERY_PREFIX_FAILS(n, ipc_search_page_decode(buf, len, &pg));
	buf[n] = 0;
	T_EQ_INT(ipc_search_page_decode(buf, (size_t)n + 1, &pg), IPC_DEC_TRAILING);
}

static void
test_search_page_limits(void)
{
	static struct ipc_search_hit h;
	struct ipc_search_page pg;
	size_t off;
	long n;
	int i;

	/* The largest page (every string full, every sharer) fits one message. */
	memset(&pg, 0, sizeof(pg));
	n = ipc_search_page_begin(buf, sizeof(buf), &pg);
	off = (size_t)n;
	memset(&h, 0, sizeof(h));
	memset(h.file.name, 'n', IPC_STR_MAX);
	memset(h.file.folder, 'f', IPC_STR_MAX);
	memset(h.file.description, 'd', IPC_STR_MAX);
	h.shared_by = 1000;
	h.nsharers = IPC_SEARCH_SHARERS_MAX;
	for (i = 0; i < IPC_SEARCH_FETCH_MAX; i++)
		T_EQ_INT(ipc_search_page_add(buf, sizeof(buf), &off, &h), 0);
	/* ...and a hit more than IPC_SEARCH_FETCH_MAX is refused. */
	T_EQ_INT(ipc_search_page_add(buf, sizeof(buf), &off, &h), -1);
	T_EQ_INT(ipc_search_page_decode(buf, off, &pg), 0);
	T_EQ_U64(pg.count, IPC_SEARCH_FETCH_MAX);
	/* Too many sharers cannot be encoded. */
	h.nsharers = IPC_SEARCH_SHARERS_MAX + 1;
	n = ipc_search_page_begin(buf, sizeof(buf), &pg);
	off = (size_t)n;
	T_EQ_INT(ipc_search_page_add(buf, sizeof(buf), &off, &h), -1);
	/* nsharers above shared_by and a bad status are refused by the decoder. */
	n = make_page(1, 2);
	buf[n - 2 * 33 - 1 - 4] = 1;	/* shared_by = 1 (LE low byte) */
	buf[n - 2 * 33 - 1 - 3] = 0;
	T_EQ_INT(ipc_search_page_decode(buf, (size_t)n, &pg), IPC_DEC_RANGE);
	n = make_page(1, 2);
	buf[IPC_HDR_LEN] = 2;		/* status 2 does not exist in a page */
	T_EQ_INT(ipc_search_page_decode(buf, (size_t)n, &pg), IPC_DEC_RANGE);
	n = make_page(1, 2);
	buf[IPC_HDR_LEN + 1] = 2;	/* truncated is a flag */
	T_EQ_INT(ipc_search_page_decode(buf, (size_t)n, &pg), IPC_DEC_RANGE);
}

/* A cursor in the cache phase at (owner o..., block, record). */
static struct ipc_files_cursor
cache_cur(uint8_t o, uint64_t block, uint32_t record)
{
	struct ipc_files_cursor c;

	memset(&c, 0, sizeof(c));
	c.phase = IPC_FILES_CACHE;
	memset(c.owner, o, sizeof(c.owner));
	c.block = block;
	c.record = record;
	return c;
}

static struct ipc_files_cursor
phase_cur(uint8_t phase, uint64_t block, uint32_t record)
{
	struct ipc_files_cursor c;

	memset(&c, 0, sizeof(c));
	c.phase = phase;
	c.block = block;
	c.record = record;
	return c;
}

static void
test_files_cursor_orders_phase_owner_block_record(void)
{
	struct ipc_files_cursor a, b;

	a = phase_cur(IPC_FILES_OWN, 9, 100);
	b = cache_cur(0, 0, 0);
	T_ASSERT(ipc_files_cursor_cmp(&a, &b) < 0);
	a = cache_cur(1, 900, 9);
	b = cache_cur(2, 0, 0);
	T_ASSERT(ipc_files_cursor_cmp(&a, &b) < 0);
	a = cache_cur(2, 3, 9);
	b = cache_cur(2, 4, 0);
	T_ASSERT(ipc_files_cursor_cmp(&a, &b) < 0);
	T_ASSERT(ipc_files_cursor_cmp(&b, &a) > 0);
	a = cache_cur(2, 4, 1);
	T_ASSERT(ipc_files_cursor_cmp(&a, &b) > 0);
	b = cache_cur(2, 4, 1);
	T_EQ_INT(ipc_files_cursor_cmp(&a, &b), 0);
	a = phase_cur(IPC_FILES_END, 0, 0);
	T_ASSERT(ipc_files_cursor_cmp(&a, &b) > 0);
}

static void
test_files_req_round_trip_and_ranges(void)
{
	struct ipc_files_req a, b;
	long n;

	a.from = cache_cur(0x5a, 0x0102030405060708ULL, 4000000000u);
	a.limit = IPC_FILES_PAGE_MAX;
	n = ipc_files_req_encode(buf, sizeof(buf), &a);
	T_EQ_INT(n, IPC_HDR_LEN + 1 + 33 + 8 + 4 + 4);
	T_EQ_INT(ipc_files_req_decode(buf, (size_t)n, &b), 0);
	T_EQ_INT(b.from.phase, IPC_FILES_CACHE);
	T_EQ_MEM(b.from.owner, a.from.owner, 33);
	T_EQ_U64(b.from.block, 0x0102030405060708ULL);
	T_EQ_U64(b.from.record, 4000000000u);
	T_EQ_U64(b.limit, IPC_FILES_PAGE_MAX);
	T_EVERY_PREFIX_FAILS(n, ipc_files_req_decode(buf, len, &b));
	T_EQ_INT(ipc_files_req_decode(buf, (size_t)n + 1, &b), IPC_DEC_TRAILING);
	a.limit = 0;
	n = ipc_files_req_encode(buf, sizeof(buf), &a);
	T_EQ_INT(ipc_files_req_decode(buf, (size_t)n, &b), IPC_DEC_RANGE);
	a.limit = IPC_FILES_PAGE_MAX + 1;
	n = ipc_files_req_encode(buf, sizeof(buf), &a);
	T_EQ_INT(ipc_files_req_decode(buf, (size_t)n, &b), IPC_DEC_RANGE);
	/* malformed cursors: unknown phase, an owner outside the cache, */
	a.limit = 10;
	a.from = phase_cur(3, 0, 0);
	n = ipc_files_req_encode(buf, sizeof(buf), &a);
	T_EQ_INT(ipc_files_req_decode(buf, (size_t)n, &b), IPC_DEC_RANGE);
	a.from = cache_cur(1, 0, 0);
	a.from.phase = IPC_FILES_OWN;
	n = ipc_files_req_encode(buf, sizeof(buf), &a);
	T_EQ_INT(ipc_files_req_decode(buf, (size_t)n, &b), IPC_DEC_RANGE);
	/* and a position past the end */
	a.from = phase_cur(IPC_FILES_END, 1, 0);
	n = ipc_files_req_encode(buf, sizeof(buf), &a);
	T_EQ_INT(ipc_files_req_decode(buf, (size_t)n, &b), IPC_DEC_RANGE);
}

static long
make_files_page(struct ipc_files_cursor from, int nfiles,
    struct ipc_files_cursor next, int done)
{
	static struct ipc_file f;
	size_t off;
	long n;
	int i;

	n = ipc_files_page_begin(buf, sizeof(buf), &from);
	off = (size_t)n;
	for (i = 0; i < nfiles; i++) {
		fill_file(&f, i);
		if (ipc_files_page_add(buf, sizeof(buf), &off, &f) != 0)
			return -1;
	}
	ipc_files_page_end(buf, &next, done);
	return (long)off;
}

static void
test_files_page_round_trip_and_truncation(void)
{
	static struct ipc_file f, want;
	struct ipc_files_page pg;
	struct ipc_files_cursor from = phase_cur(IPC_FILES_OWN, 7, 2);
	struct ipc_files_cursor next = cache_cur(0x03, 11, 5);
	long n;
	int i = 0;

	n = make_files_page(from, 3, next, 0);
	T_ASSERT(n > 0);
	T_EQ_INT(ipc_files_page_decode(buf, (size_t)n, &pg), 0);
	T_EQ_INT(ipc_files_cursor_cmp(&pg.from, &from), 0);
	T_EQ_INT(ipc_files_cursor_cmp(&pg.next, &next), 0);
	T_EQ_INT(pg.next.phase, IPC_FILES_CACHE);
	T_EQ_U64(pg.next.block, 11);
	T_EQ_U64(pg.next.record, 5);
	T_EQ_INT(pg.done, 0);
	T_EQ_U64(pg.count, 3);
	while (ipc_files_page_next(&pg, &f) == 1) {
		fill_file(&want, i++);
		T_EQ_STR(f.name, want.name);
		T_EQ_MEM(f.owner, want.owner, 33);
		T_EQ_U64(f.block, want.block);
	}
	T_EQ_INT(i, 3);
	T_EVERY_PREFIX_FAILS(n, ipc_files_page_decode(buf, len, &pg));
	buf[n] = 0;
	T_EQ_INT(ipc_files_page_decode(buf, (size_t)n + 1, &pg), IPC_DEC_TRAILING);
	/* An empty last page: the stream ends. */
	n = make_files_page(cache_cur(9, 1, 1), 0, phase_cur(IPC_FILES_END, 0, 0),
	    1);
	T_EQ_INT(ipc_files_page_decode(buf, (size_t)n, &pg), 0);
	T_EQ_INT(pg.done, 1);
	T_EQ_U64(pg.count, 0);
}

static void
test_files_page_rejects_pages_that_do_not_advance(void)
{
	struct ipc_files_page pg;
	long n;

	/* next before from, or at it, on a page that is not the last */
	n = make_files_page(cache_cur(5, 10, 0), 1, cache_cur(5, 9, 7), 0);
	T_EQ_INT(ipc_files_page_decode(buf, (size_t)n, &pg), IPC_DEC_RANGE);
	n = make_files_page(cache_cur(5, 10, 0), 1, cache_cur(4, 99, 0), 0);
	T_EQ_INT(ipc_files_page_decode(buf, (size_t)n, &pg), IPC_DEC_RANGE);
	n = make_files_page(cache_cur(5, 10, 0), 0, cache_cur(5, 10, 0), 0);
	T_EQ_INT(ipc_files_page_decode(buf, (size_t)n, &pg), IPC_DEC_RANGE);
	/* a last page must end the stream */
	n = make_files_page(cache_cur(5, 10, 0), 1, cache_cur(5, 11, 0), 1);
	T_EQ_INT(ipc_files_page_decode(buf, (size_t)n, &pg), IPC_DEC_RANGE);
	/* done is a flag */
	n = make_files_page(cache_cur(5, 10, 0), 1, cache_cur(5, 11, 0), 0);
	buf[IPC_HDR_LEN + 2 * 46] = 2;
	T_EQ_INT(ipc_files_page_decode(buf, (size_t)n, &pg), IPC_DEC_RANGE);
	/* A file list of another type is not a files page. */
	n = make_files_page(cache_cur(5, 10, 0), 1, phase_cur(IPC_FILES_END, 0, 0),
	    1);
	T_EQ_INT(ipc_files_page_decode(buf, (size_t)n, &pg), 0);
	buf[0] = IPC_LS;
	T_EQ_INT(ipc_files_page_decode(buf, (size_t)n, &pg), IPC_DEC_TYPE);
}

static void
test_files_page_add_stops_when_full(void)
{
	static struct ipc_file f;
	struct ipc_files_cursor from, next;
	size_t off;
	long n;
	int added = 0;

	from = phase_cur(IPC_FILES_OWN, 0, 0);
	n = ipc_files_page_begin(buf, sizeof(buf), &from);
	off = (size_t)n;
	fill_file(&f, 1);
	memset(f.name, 'x', IPC_STR_MAX);
	memset(f.folder, 'y', IPC_STR_MAX);
	memset(f.description, 'z', IPC_STR_MAX);
	while (ipc_files_page_add(buf, sizeof(buf), &off, &f) == 0)
		added++;
	/* About 1 MiB / 3.2 KiB; the page stays valid. */
	T_ASSERT(added > 300 && added < IPC_FILES_PAGE_MAX);
	T_ASSERT(off <= sizeof(buf));
	next = phase_cur(IPC_FILES_OWN, 1, 0);
	ipc_files_page_end(buf, &next, 0);
	{
		struct ipc_files_page pg;

		T_EQ_INT(ipc_files_page_decode(buf, off, &pg), 0);
		T_EQ_U64(pg.count, (uint64_t)added);
	}
}


/* ---- IPC_SHARERS ---------------------------------------------------------- */

/* Sharer k: a compressed key and its real node ID. */
static void
fill_sharer(struct ipc_sharer *sh, unsigned k)
{
	sh->pubkey[0] = (k & 1) ? 0x03 : 0x02;
	memset(sh->pubkey + 1, 0x40 + (int)(k & 0x3f), 32);
	sh->pubkey[32] = (uint8_t)(k >> 6);
	blake3_hash(sh->pubkey, sizeof(sh->pubkey), sh->node_id);
}

static void
fill_sharers(struct ipc_sharers *r, unsigned count, uint32_t total)
{
	unsigned i;

	memset(r, 0, sizeof(*r));
	memset(r->hash, 0xc7, sizeof(r->hash));
	r->local = 1;
	r->total = total;
	r->size = 5000000001ULL;
	strcpy(r->name, "Ünïcödé holiday.mkv");
	r->count = (uint8_t)count;
	for (i = 0; i < count; i++)
		fill_sharer(&r->sharers[i], i);
}

static void
test_sharers_req_round_trip_truncation_and_trailing_byte(void)
{
	struct ipc_sharers_req a, b;
	long n;

	memset(a.hash, 0x5a, sizeof(a.hash));
	a.hash[31] = 0x01;
	n = ipc_sharers_req_encode(buf, sizeof(buf), &a);
	T_EQ_INT(n, IPC_HDR_LEN + 32);
	T_EQ_INT(buf[0], IPC_SHARERS);
	memset(&b, 0, sizeof(b));
	T_EQ_INT(ipc_sharers_req_decode(buf, (size_t)n, &b), 0);
	T_EQ_MEM(b.hash, a.hash, 32);
	T_EVERY_PREFIX_FAILS(n, ipc_sharers_req_decode(buf, len, &b));
	buf[n] = 0;
	T_EQ_INT(ipc_sharers_req_decode(buf, (size_t)n + 1, &b), IPC_DEC_TRAILING);
	/* Another type with the same body is refused. */
	n = ipc_sharers_req_encode(buf, sizeof(buf), &a);
	buf[0] = IPC_SEARCH_STOP;
	T_EQ_INT(ipc_sharers_req_decode(buf, (size_t)n, &b), IPC_DEC_TYPE);
}

static void
test_sharers_round_trip_keeps_every_owner(void)
{
	static struct ipc_sharers a, b;
	long n;
	unsigned i;

	fill_sharers(&a, 3, 7);
	n = ipc_sharers_encode(buf, sizeof(buf), &a);
	T_EQ_INT(n, IPC_HDR_LEN + 32 + 1 + 4 + 8 + 2 + (long)strlen(a.name) + 1 +
	    3 * 65);
	memset(&b, 0xee, sizeof(b));
	T_EQ_INT(ipc_sharers_decode(buf, (size_t)n, &b), 0);
	T_EQ_MEM(b.hash, a.hash, 32);
	T_EQ_INT(b.local, 1);
	T_EQ_U64(b.total, 7);
	T_EQ_U64(b.size, 5000000001ULL);
	T_EQ_STR(b.name, "Ünïcödé holiday.mkv");
	T_EQ_INT(b.count, 3);
	for (i = 0; i < 3; i++) {
		T_EQ_MEM(b.sharers[i].pubkey, a.sharers[i].pubkey, 33);
		T_EQ_MEM(b.sharers[i].node_id, a.sharers[i].node_id, 32);
	}
	/* Nobody known: an empty answer decodes too. */
	memset(&a, 0, sizeof(a));
	memset(a.hash, 0x11, sizeof(a.hash));
	n = ipc_sharers_encode(buf, sizeof(buf), &a);
	T_EQ_INT(ipc_sharers_decode(buf, (size_t)n, &b), 0);
	T_EQ_INT(b.count, 0);
	T_EQ_U64(b.total, 0);
	T_EQ_INT(b.local, 0);
	T_EQ_STR(b.name, "");
}

static void
test_sharers_rejects_every_truncation_and_trailing_byte(void)
{
	static struct ipc_sharers a, b;
	long n;

	fill_sharers(&a, 4, 4);
	n = ipc_sharers_encode(buf, sizeof(buf), &a);
	T_ASSERT(n > 0);
	T_EVERY_PREFIX_FAILS(n, ipc_sharers_decode(buf, len, &b));
	buf[n] = 0;
	T_EQ_INT(ipc_sharers_decode(buf, (size_t)n + 1, &b), IPC_DEC_TRAILING);
	/* A cut inside the last sharer is "short", not a range error. */
	T_EQ_INT(ipc_sharers_decode(buf, (size_t)n - 1, &b), IPC_DEC_SHORT);
}

static void
test_sharers_bounds(void)
{
	static struct ipc_sharers a, b;
	size_t name_off = IPC_HDR_LEN + 32 + 1 + 4 + 8;
	long n, cnt_off;

	/* The largest reply (full name, every sharer) fits and decodes. */
	fill_sharers(&a, IPC_SHARERS_MAX, 100000);
	memset(a.name, 'n', IPC_STR_MAX);
	a.name[IPC_STR_MAX] = '\0';
	n = ipc_sharers_encode(buf, sizeof(buf), &a);
	T_EQ_INT(n, (long)(name_off + 2 + IPC_STR_MAX + 1 + IPC_SHARERS_MAX * 65));
	T_EQ_INT(ipc_sharers_decode(buf, (size_t)n, &b), 0);
	T_EQ_INT(b.count, IPC_SHARERS_MAX);
	T_EQ_MEM(b.sharers[IPC_SHARERS_MAX - 1].pubkey,
	    a.sharers[IPC_SHARERS_MAX - 1].pubkey, 33);
	/* One more cannot be encoded, nor decoded (count byte raised). */
	a.count = IPC_SHARERS_MAX + 1;
	T_EQ_INT(ipc_sharers_encode(buf, sizeof(buf), &a), -1);
	a.count = IPC_SHARERS_MAX;
	n = ipc_sharers_encode(buf, sizeof(buf), &a);
	cnt_off = (long)name_off + 2 + IPC_STR_MAX;
	buf[cnt_off] = IPC_SHARERS_MAX + 1;
	T_EQ_INT(ipc_sharers_decode(buf, (size_t)n, &b), IPC_DEC_RANGE);
	/* More listed than the total claims. */
	fill_sharers(&a, 3, 2);
	n = ipc_sharers_encode(buf, sizeof(buf), &a);
	T_EQ_INT(ipc_sharers_decode(buf, (size_t)n, &b), IPC_DEC_RANGE);
	/* local is a flag. */
	fill_sharers(&a, 1, 1);
	a.local = 2;
	n = ipc_sharers_encode(buf, sizeof(buf), &a);
	T_EQ_INT(ipc_sharers_decode(buf, (size_t)n, &b), IPC_DEC_RANGE);
	/* An unknown hash has no size or name. */
	fill_sharers(&a, 0, 0);
	a.local = 0;
	n = ipc_sharers_encode(buf, sizeof(buf), &a);
	T_EQ_INT(ipc_sharers_decode(buf, (size_t)n, &b), IPC_DEC_RANGE);
	a.size = 0;
	n = ipc_sharers_encode(buf, sizeof(buf), &a);
	T_EQ_INT(ipc_sharers_decode(buf, (size_t)n, &b), IPC_DEC_RANGE);
	a.name[0] = '\0';
	n = ipc_sharers_encode(buf, sizeof(buf), &a);
	T_EQ_INT(ipc_sharers_decode(buf, (size_t)n, &b), 0);
	/* A name over IPC_STR_MAX is a string error. */
	fill_sharers(&a, 1, 1);
	n = ipc_sharers_encode(buf, sizeof(buf), &a);
	buf[name_off] = (IPC_STR_MAX + 1) & 0xff;
	buf[name_off + 1] = (IPC_STR_MAX + 1) >> 8;
	T_EQ_INT(ipc_sharers_decode(buf, (size_t)n, &b), IPC_DEC_STRING);
}

static void
test_sharers_rejects_forged_owners(void)
{
	static struct ipc_sharers a, b;
	size_t first;
	long n;

	fill_sharers(&a, 2, 2);
	a.name[0] = '\0';
	first = IPC_HDR_LEN + 32 + 1 + 4 + 8 + 2 + 1;
	/* A node ID that is not blake3 of the key. */
	n = ipc_sharers_encode(buf, sizeof(buf), &a);
	buf[first + 33 + 5] ^= 0x01;
	T_EQ_INT(ipc_sharers_decode(buf, (size_t)n, &b), IPC_DEC_RANGE);
	/* A key that is not a compressed public key (node ID matching it). */
	a.sharers[1].pubkey[0] = 0x04;
	blake3_hash(a.sharers[1].pubkey, 33, a.sharers[1].node_id);
	n = ipc_sharers_encode(buf, sizeof(buf), &a);
	T_EQ_INT(ipc_sharers_decode(buf, (size_t)n, &b), IPC_DEC_RANGE);
	/* The same owner twice. */
	fill_sharers(&a, 2, 2);
	a.sharers[1] = a.sharers[0];
	n = ipc_sharers_encode(buf, sizeof(buf), &a);
	T_EQ_INT(ipc_sharers_decode(buf, (size_t)n, &b), IPC_DEC_RANGE);
	/* The untouched reply decodes (the checks above are the only faults). */
	fill_sharers(&a, 2, 2);
	n = ipc_sharers_encode(buf, sizeof(buf), &a);
	T_EQ_INT(ipc_sharers_decode(buf, (size_t)n, &b), 0);
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_search_req_round_trip_keeps_every_field);
	T_RUN(test_search_req_rejects_truncation_and_trailing_byte);
	T_RUN(test_search_req_rejects_out_of_range_fields);
	T_RUN(test_search_req_term_limits);
	T_RUN(test_search_id_and_fetch_round_trip_and_truncation);
	T_RUN(test_search_page_round_trip_keeps_hits_and_sharers);
	T_RUN(test_search_page_rejects_every_truncation);
	T_RUN(test_search_page_limits);
	T_RUN(test_files_cursor_orders_phase_owner_block_record);
	T_RUN(test_files_req_round_trip_and_ranges);
	T_RUN(test_files_page_round_trip_and_truncation);
	T_RUN(test_files_page_rejects_pages_that_do_not_advance);
	T_RUN(test_files_page_add_stops_when_full);
	T_RUN(test_sharers_req_round_trip_truncation_and_trailing_byte);
	T_RUN(test_sharers_round_trip_keeps_every_owner);
	T_RUN(test_sharers_rejects_every_truncation_and_trailing_byte);
	T_RUN(test_sharers_bounds);
	T_RUN(test_sharers_rejects_forged_owners);
	return t_done();
}
