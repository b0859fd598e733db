/*
 * test_xfer.c — the pure parts of the block transfer (docs/protocol.md §9.8):
 * the requester's stream parser fed the captured reference block stream in
 * every chunking, the provider's header/stream bytes and the requester's
 * REQUEST_START against the capture, hostile streams, the range walk, and
 * a provider and a requester over two UDT endpoints; the transfer engine
 * (netd/xfer.c) on a fake environment: its transfer-ID hash table against
 * a model, lite dispatch, storaged replies by number, idle expiry and its
 * timer, node-wide ID registration and a requester's fresh IDs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hex.h"
#include "t.h"
#include "tvec.h"
#include "udt.h"
#include "xfer_block.h"
#include "xfer_merkle.h"
#include "merkle.h"
#include "blake3.h"
#include "netd.h"
#include "peer.h"
#include "seq.h"
#include "xfer_ids.h"
#include "xfer_sess.h"

#define MAXB	50096

static json_t *capture, *messages;

/* The captured block transfer: the one Get Block REQUEST_START and the stream. */
static json_t *
cap_stream(void)
{
	json_t *st;
	size_t i;

	json_array_foreach(json_object_get(capture, "udt_streams"), i, st)
		if (strcmp(tvec_str(st, "for"), "get_block") == 0)
			return st;
	return NULL;
}

/* The reassembled stream: the UDT data of the block transfer's data packets, in order. */
static uint8_t *
cap_stream_bytes(size_t *len)
{
	json_t *st = cap_stream(), *pk;
	const char *id;
	uint8_t *raw, *out;
	size_t i, n, off = 0, cap;

	if (st == NULL)
		return NULL;
	id = tvec_str(st, "lite_id");
	cap = (size_t)tvec_u64(st, "stream_length");
	if ((out = malloc(cap)) == NULL)
		return NULL;
	json_array_foreach(json_object_get(capture, "packets"), i, pk) {
		if (strcmp(tvec_str(pk, "kind"), "lite") != 0 ||
		    strcmp(tvec_str(pk, "lite_id"), id) != 0 ||
		    strcmp(tvec_str(pk, "udt_type"), "data") != 0)
			continue;
		raw = tvec_hex(pk, "raw", &n);
		/* lite header 18 + UDT header 16, then stream bytes */
		if (raw == NULL || n < 34 || off + n - 34 > cap) {
			free(raw);
			free(out);
			return NULL;
		}
		memcpy(out + off, raw + 34, n - 34);
		off += n - 34;
		free(raw);
	}
	*len = off;
	return out;
}

struct got {
	int		 n;
	uint64_t	 number[8];
	uint8_t		 avail[8];
	uint64_t	 size[8];
	uint8_t		*data[8];
};

static void
got_free(struct got *g)
{
	int i;

	for (i = 0; i < g->n; i++)
		free(g->data[i]);
	memset(g, 0, sizeof(*g));
}

/* Feeds `in` in chunks of the given sizes (cycled); returns the final code. */
static int
feed_chunks(struct xfer_bparse *p, const uint8_t *in, size_t len,
    const size_t *chunks, size_t nchunks, struct got *g)
{
	struct xfer_brec r;
	size_t off = 0, k, used, ci = 0;
	int rc;

	while (off < len) {
		k = chunks[ci++ % nchunks];
		if (k > len - off)
			k = len - off;
		while (k > 0) {
			rc = xfer_bparse_feed(p, in + off, k, &used, &r);
			if (rc < 0)
				return rc;
			off += used;
			k -= used;
			if (rc == 1 && g->n < 8) {
				g->number[g->n] = r.number;
				g->avail[g->n] = r.availability;
				g->size[g->n] = r.size;
				g->data[g->n] = malloc(r.size + 1);
				if (r.size > 0)
					memcpy(g->data[g->n], r.data, r.size);
				g->n++;
			}
			if (rc == 0 && used == 0)
				return -100;	/* no progress: a parser bug */
		}
	}
	return 0;
}

static void
test_capture_stream_is_806_bytes_of_three_records(void)
{
	size_t len;
	uint8_t *s = cap_stream_bytes(&len);

	T_ASSERT(s != NULL);
	T_EQ_U64(len, 806);	/* 3 × 25-byte headers + 140 + 317 + 274 */
	free(s);
}

static void
test_parser_splits_captured_stream_in_any_chunking(void)
{
	static const size_t chunkings[][4] = {
		{ 806, 806, 806, 806 }, { 1, 1, 1, 1 }, { 2, 3, 5, 7 }, { 24, 25, 26, 1 },
		{ 25, 140, 25, 317 }, { 165, 1, 341, 299 }, { 100, 13, 1198, 9 },
	};
	struct wire_block_range r = { 0, 3 };
	struct xfer_bparse p;
	struct got g;
	json_t *st = cap_stream(), *b;
	size_t len, k, i, n;
	uint8_t *s = cap_stream_bytes(&len), *want;
	int rc, j;

	T_ASSERT(s != NULL && st != NULL);
	for (k = 0; k < sizeof(chunkings) / sizeof(chunkings[0]); k++) {
		memset(&g, 0, sizeof(g));
		T_EQ_INT(xfer_bparse_init(&p, &r, 1, MAXB), XFER_BP_OK);
		rc = feed_chunks(&p, s, len, chunkings[k], 4, &g);
		T_EQ_INT(rc, 0);
		T_ASSERT(xfer_bparse_done(&p));
		T_EQ_INT(g.n, 3);
		for (j = 0; j < 3; j++) {
			b = json_array_get(json_object_get(st, "blocks"), (size_t)j);
			want = tvec_hex(b, "block_raw", &n);
			T_ASSERT(want != NULL);
			T_EQ_U64(g.number[j], tvec_u64(b, "offset"));
			T_EQ_INT(g.avail[j], (int)tvec_u64(b, "availability"));
			T_EQ_U64(g.size[j], tvec_u64(b, "block_size"));
			T_EQ_U64(g.size[j], n);
			T_EQ_MEM(g.data[j], want, n);
			free(want);
		}
		got_free(&g);
		xfer_bparse_free(&p);
	}
	/* random chunkings, seeded */
	srand(7);
	for (k = 0; k < 200; k++) {
		size_t ch[4];

		for (i = 0; i < 4; i++)
			ch[i] = 1 + (size_t)rand() % 400;
		memset(&g, 0, sizeof(g));
		T_EQ_INT(xfer_bparse_init(&p, &r, 1, MAXB), XFER_BP_OK);
		T_EQ_INT(feed_chunks(&p, s, len, ch, 4, &g), 0);
		T_EQ_INT(g.n, 3);
		T_EQ_U64(g.size[0] + g.size[1] + g.size[2], 731);
		got_free(&g);
		xfer_bparse_free(&p);
	}
	free(s);
}

/* Our provider's bytes for the captured blocks equal the reference's stream. */
static void
test_provider_stream_for_capture_blocks_is_byte_identical(void)
{
	json_t *st = cap_stream(), *b;
	uint8_t *s, *mine, *raw;
	size_t len, n, off = 0, i;

	s = cap_stream_bytes(&len);
	T_ASSERT(s != NULL && st != NULL);
	mine = malloc(len);
	json_array_foreach(json_object_get(st, "blocks"), i, b) {
		raw = tvec_hex(b, "block_raw", &n);
		T_ASSERT(raw != NULL && off + WIRE_BLOCK_HEADER_SIZE + n <= len);
		xfer_block_header(mine + off, WIRE_BLOCK_AVAILABLE, tvec_u64(b, "offset"), n);
		off += WIRE_BLOCK_HEADER_SIZE;
		memcpy(mine + off, raw, n);
		off += n;
		free(raw);
	}
	T_EQ_U64(off, len);
	T_EQ_MEM(mine, s, len);
	free(mine);
	free(s);
}

static void
test_provider_header_matches_reference_vector(void)
{
	json_t *h = json_array_get(json_object_get(messages, "block_transfer_headers"), 0);
	uint8_t want[WIRE_BLOCK_HEADER_SIZE], mine[WIRE_BLOCK_HEADER_SIZE];

	/* BlockTransferWriteHeader(availability=0, range={3, 1}, blockSize=250) */
	T_EQ_INT(tvec_hex_exact(h, "bytes", want, sizeof(want)), 0);
	xfer_block_header(mine, WIRE_BLOCK_AVAILABLE, 3, 250);
	T_EQ_MEM(mine, want, sizeof(want));
}

/* A not-available header (count 4 in the vector) is one record with no body. */
static void
test_parser_takes_not_available_header_without_body(void)
{
	json_t *h = json_array_get(json_object_get(messages, "block_transfer_headers"), 1);
	struct wire_block_range r = { 7, 2 };
	struct xfer_bparse p;
	struct xfer_brec rec;
	uint8_t s[2 * WIRE_BLOCK_HEADER_SIZE + 3];
	size_t used;

	T_EQ_INT(tvec_hex_exact(h, "bytes", s, WIRE_BLOCK_HEADER_SIZE), 0);
	xfer_block_header(s + 25, WIRE_BLOCK_AVAILABLE, 8, 3);
	memcpy(s + 50, "abc", 3);
	T_EQ_INT(xfer_bparse_init(&p, &r, 1, MAXB), XFER_BP_OK);
	T_EQ_INT(xfer_bparse_feed(&p, s, sizeof(s), &used, &rec), 1);
	T_EQ_U64(used, 25);
	T_EQ_INT(rec.availability, WIRE_BLOCK_NOT_AVAILABLE);
	T_EQ_U64(rec.number, 7);
	T_ASSERT(rec.data == NULL);
	T_ASSERT(!xfer_bparse_done(&p));
	T_EQ_INT(xfer_bparse_feed(&p, s + 25, sizeof(s) - 25, &used, &rec), 1);
	T_EQ_U64(used, 28);
	T_EQ_U64(rec.number, 8);
	T_EQ_MEM(rec.data, "abc", 3);
	T_ASSERT(xfer_bparse_done(&p));
	xfer_bparse_free(&p);
}

/* Size-exceeded: the real size in the header, no body follows (§9.8). */
static void
test_parser_takes_size_exceeded_header_without_body(void)
{
	struct wire_block_range r = { 0, 2 };
	struct xfer_bparse p;
	struct xfer_brec rec;
	uint8_t s[2 * WIRE_BLOCK_HEADER_SIZE];
	size_t used;

	xfer_block_header(s, WIRE_BLOCK_SIZE_EXCEED, 0, 1000000);
	xfer_block_header(s + 25, WIRE_BLOCK_NOT_AVAILABLE, 1, 0);
	T_EQ_INT(xfer_bparse_init(&p, &r, 1, 1000), XFER_BP_OK);
	T_EQ_INT(xfer_bparse_feed(&p, s, sizeof(s), &used, &rec), 1);
	T_EQ_INT(rec.availability, WIRE_BLOCK_SIZE_EXCEED);
	T_EQ_U64(rec.size, 1000000);
	T_EQ_INT(xfer_bparse_feed(&p, s + used, sizeof(s) - used, &used, &rec), 1);
	T_ASSERT(xfer_bparse_done(&p));
	T_ASSERT(p.body == NULL);	/* nothing was allocated for the refused size */
	xfer_bparse_free(&p);
}

/* One hostile header; the error the parser must give. */
static int
parse_one(uint8_t avail, uint64_t number, uint64_t count, uint64_t size, uint64_t max)
{
	struct wire_block_range r[2] = { { 10, 5 }, { 100, 1 } };
	struct wire_block_header h = { avail, number, count, size };
	struct xfer_bparse p;
	struct xfer_brec rec;
	uint8_t s[WIRE_BLOCK_HEADER_SIZE];
	size_t used;
	int rc;

	wire_block_header_encode(s, &h);
	if (xfer_bparse_init(&p, r, 2, max) != 0)
		return -99;
	rc = xfer_bparse_feed(&p, s, sizeof(s), &used, &rec);
	xfer_bparse_free(&p);
	return rc;
}

static void
test_parser_rejects_hostile_headers(void)
{
	T_EQ_INT(parse_one(0, 12, 1, 0, MAXB), 1);	/* in range, empty block */
	T_EQ_INT(parse_one(0, 100, 1, 10, MAXB), 0);	/* second range: waits for the body */
	T_EQ_INT(parse_one(0, 12, 0, 10, MAXB), XFER_BP_ERR_COUNT);
	T_EQ_INT(parse_one(1, 12, 0, 0, MAXB), XFER_BP_ERR_COUNT);
	T_EQ_INT(parse_one(0, 12, 2, 10, MAXB), XFER_BP_ERR_COUNT);
	T_EQ_INT(parse_one(0, 12, 1, MAXB + 1, MAXB), XFER_BP_ERR_SIZE);
	T_EQ_INT(parse_one(0, 12, 1, UINT64_MAX, MAXB), XFER_BP_ERR_SIZE);
	T_EQ_INT(parse_one(0, 9, 1, 10, MAXB), XFER_BP_ERR_RANGE);
	T_EQ_INT(parse_one(0, 15, 1, 10, MAXB), XFER_BP_ERR_RANGE);
	T_EQ_INT(parse_one(1, 101, 1, 0, MAXB), XFER_BP_ERR_RANGE);
	T_EQ_INT(parse_one(3, 12, 1, 0, MAXB), XFER_BP_ERR_STATUS);
	T_EQ_INT(parse_one(0xff, 12, 1, 0, MAXB), XFER_BP_ERR_STATUS);
}

static void
test_parser_rejects_bytes_after_last_record(void)
{
	struct wire_block_range r = { 0, 3 };
	struct xfer_bparse p;
	struct got g;
	size_t len, one = 4096;
	uint8_t *s = cap_stream_bytes(&len), *t;

	T_ASSERT(s != NULL);
	t = malloc(len + 1);
	memcpy(t, s, len);
	t[len] = 0;
	memset(&g, 0, sizeof(g));
	T_EQ_INT(xfer_bparse_init(&p, &r, 1, MAXB), XFER_BP_OK);
	T_EQ_INT(feed_chunks(&p, t, len + 1, &one, 1, &g), XFER_BP_ERR_DONE);
	T_EQ_INT(g.n, 3);
	got_free(&g);
	xfer_bparse_free(&p);
	/* asking for 2 blocks when the stream has 3: the third header is refused */
	r.count = 2;
	T_EQ_INT(xfer_bparse_init(&p, &r, 1, MAXB), XFER_BP_OK);
	T_EQ_INT(feed_chunks(&p, s, len, &one, 1, &g), XFER_BP_ERR_DONE);
	T_EQ_INT(g.n, 2);
	got_free(&g);
	xfer_bparse_free(&p);
	free(t);
	free(s);
}

static void
test_parser_init_refuses_bad_ranges(void)
{
	struct wire_block_range r[2] = { { 0, UINT64_MAX }, { 5, 2 } };
	struct wire_block_range many[XFER_BP_MAX_RANGES + 1];
	struct xfer_bparse p;

	memset(many, 0, sizeof(many));
	T_EQ_INT(xfer_bparse_init(&p, r, 2, MAXB), XFER_BP_ERR_ARG);	/* sum overflows */
	r[0].count = 0;
	T_EQ_INT(xfer_bparse_init(&p, r, 2, MAXB), XFER_BP_ERR_ARG);
	T_EQ_INT(xfer_bparse_init(&p, r, 0, MAXB), XFER_BP_ERR_ARG);
	T_EQ_INT(xfer_bparse_init(&p, many, XFER_BP_MAX_RANGES + 1, MAXB), XFER_BP_ERR_ARG);
	r[0].count = 3;
	T_EQ_INT(xfer_bparse_init(&p, r, 2, MAXB), XFER_BP_OK);
	T_EQ_U64(p.expected, 5);
}

/* The request our cache sends equals the reference's captured one, with its ID. */
static void
test_request_start_matches_captured_request(void)
{
	struct wire_block_range r = { 0, 3 };
	struct wire_getblock g;
	json_t *pk, *req = NULL;
	uint8_t *want, out[256], chain[33], id[16];
	size_t i, n, len;

	json_array_foreach(json_object_get(capture, "packets"), i, pk)
		if (strcmp(tvec_str(pk, "kind"), "regular") == 0 &&
		    strcmp(tvec_str(pk, "command_name"), "get_block") == 0)
			req = pk;
	T_ASSERT(req != NULL);
	want = tvec_hex(req, "payload", &n);
	T_ASSERT(want != NULL);
	T_EQ_INT(wire_getblock_decode(want, n, &g), 0);
	memcpy(chain, g.blockchain, 33);
	memcpy(id, g.transfer_id, 16);
	T_EQ_INT(xfer_block_request(out, sizeof(out), &len, chain, id, &r, 256, MAXB), 0);
	T_EQ_U64(len, n);
	T_EQ_MEM(out, want, n);
	/* the reference's ID is a v4 UUID: our shaping leaves it as it is */
	xfer_uuid_v4(id);
	T_EQ_MEM(id, g.transfer_id, 16);
	free(want);
}

static void
test_uuid_v4_sets_version_and_variant_bits(void)
{
	uint8_t id[16];

	memset(id, 0xff, sizeof(id));
	xfer_uuid_v4(id);
	T_EQ_INT(id[6], 0x4f);
	T_EQ_INT(id[8], 0xbf);
	memset(id, 0, sizeof(id));
	xfer_uuid_v4(id);
	T_EQ_INT(id[6], 0x40);
	T_EQ_INT(id[8], 0x80);
	T_EQ_INT(id[0] | id[15], 0);
}

static void
test_range_walk_follows_reference_request_order(void)
{
	json_t *gb = json_array_get(json_object_get(messages, "get_block"), 0);
	struct xfer_range_iter it;
	struct wire_getblock g;
	uint64_t num, got[8];
	uint8_t *p, ov[2 * WIRE_BLOCK_RANGE_SIZE];
	size_t n;
	int k = 0;

	p = tvec_hex(gb, "payload", &n);
	T_ASSERT(p != NULL);
	T_EQ_INT(wire_getblock_decode(p, n, &g), 0);
	xfer_range_iter_init(&it, g.ranges, g.n_ranges);	/* {0,2}, {5,1} */
	while (k < 8 && xfer_range_iter_next(&it, &num))
		got[k++] = num;
	T_EQ_INT(k, 3);
	T_EQ_U64(got[0], 0);
	T_EQ_U64(got[1], 1);
	T_EQ_U64(got[2], 5);
	free(p);
	/* a range running past UINT64_MAX stops there; the next range still runs */
	wire_block_range_put(ov, 0, &(struct wire_block_range){ UINT64_MAX - 1, 1000 });
	wire_block_range_put(ov, 1, &(struct wire_block_range){ 3, 1 });
	xfer_range_iter_init(&it, ov, 2);
	k = 0;
	while (k < 8 && xfer_range_iter_next(&it, &num))
		got[k++] = num;
	T_EQ_INT(k, 3);
	T_EQ_U64(got[0], UINT64_MAX - 1);
	T_EQ_U64(got[1], UINT64_MAX);
	T_EQ_U64(got[2], 3);
}

/* ---- provider (UDT client) and requester (UDT server) through memory ---- */

#define QMAX	4096
struct q {
	uint8_t	 b[QMAX][UDT_PKT_MAX];
	size_t	 len[QMAX];
	size_t	 n;
};
static uint64_t now_us = 5000000;
static uint64_t rng = 88172645463325252ULL;

static uint64_t
lk_now(void *ctx)
{
	(void)ctx;
	return now_us;
}

static int
lk_send(void *ctx, const uint8_t *p, size_t len)
{
	struct q *q = ctx;

	rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
	if (rng % 10 == 0 || q->n == QMAX)
		return 0;	/* 10 % loss */
	memcpy(q->b[q->n], p, len);
	q->len[q->n++] = len;
	return 0;
}

static void
lk_random(void *ctx, void *out, size_t n)
{
	uint8_t *o = out;

	(void)ctx;
	while (n--) {
		rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
		*o++ = (uint8_t)rng;
	}
}

static void
deliver(struct q *q, struct udt_conn *to)
{
	static uint8_t tmp[QMAX][UDT_PKT_MAX];
	static size_t tl[QMAX];
	size_t i, n = q->n;

	memcpy(tmp, q->b, sizeof(tmp[0]) * n);
	memcpy(tl, q->len, sizeof(tl[0]) * n);
	q->n = 0;
	for (i = 0; i < n; i++)
		udt_input(to, tmp[i], tl[i]);
}

/* 40 blocks of growing size over a lossy link: every block arrives intact. */
static void
test_blocks_cross_lossy_udt_and_parse_exactly(void)
{
	static struct q c2s, s2c;
	struct udt_env ec = { lk_now, lk_send, lk_random, &c2s };
	struct udt_env es = { lk_now, lk_send, lk_random, &s2c };
	struct udt_conn *cl = udt_conn_new(&ec), *sv = udt_conn_new(&es);
	struct wire_block_range r = { 0, 40 };
	struct xfer_bparse p;
	struct xfer_brec rec;
	uint8_t *stream, rb[3000], blk[20000];
	size_t total = 0, off = 0, wrote = 0, used, i, roff, rlen;
	ssize_t w;
	int nrec = 0, bad = 0, steps;

	T_ASSERT(cl != NULL && sv != NULL);
	stream = malloc(40 * (WIRE_BLOCK_HEADER_SIZE + 20000));
	for (i = 0; i < 40; i++) {
		size_t n = 100 + i * 450;

		xfer_block_header(stream + total, WIRE_BLOCK_AVAILABLE, i, n);
		total += WIRE_BLOCK_HEADER_SIZE;
		tvec_pattern(stream + total, n);
		stream[total] = (uint8_t)i;
		total += n;
	}
	T_EQ_INT(xfer_bparse_init(&p, &r, 1, MAXB), XFER_BP_OK);
	T_EQ_INT(udt_listen(sv), UDT_OK);
	T_EQ_INT(udt_connect(cl), UDT_OK);
	for (steps = 0; steps < 200000 && !xfer_bparse_done(&p); steps++) {
		if (wrote < total && (w = udt_write(cl, stream + wrote, total - wrote)) > 0)
			wrote += (size_t)w;
		deliver(&c2s, sv);
		deliver(&s2c, cl);
		if (udt_accept(sv) == UDT_OK) {
			while ((w = udt_read(sv, rb, sizeof(rb))) > 0) {
				rlen = (size_t)w;
				for (roff = 0; roff < rlen; roff += used) {
					int rc = xfer_bparse_feed(&p, rb + roff, rlen - roff,
					    &used, &rec);

					T_ASSERT(rc >= 0);
					if (rc == 1) {
						tvec_pattern(blk, rec.size);
						blk[0] = (uint8_t)rec.number;
						if (rec.number != (uint64_t)nrec ||
						    rec.size != 100 + rec.number * 450 ||
						    memcmp(rec.data, blk, rec.size) != 0)
							bad++;
						nrec++;
						off += WIRE_BLOCK_HEADER_SIZE + rec.size;
					}
				}
			}
		}
		now_us += 1000;
		udt_tick(cl);
		udt_tick(sv);
	}
	printf("# 40 blocks, %zu stream bytes over 10%% loss in %d ms (simulated)\n",
	    total, steps);
	T_EQ_INT(nrec, 40);
	T_EQ_INT(bad, 0);
	T_EQ_U64(off, total);
	T_ASSERT(xfer_bparse_done(&p));
	xfer_bparse_free(&p);
	udt_conn_free(cl);
	udt_conn_free(sv);
	free(stream);
}

/* --- our merkle-leaves extension (xfer_merkle.h) --- */

static uint8_t mk_leaves[XFER_MK_BATCH * 32];
static uint8_t mk_out[XFER_MK_HDR + XFER_MK_BATCH * 32 + 1];

/* 10000000 bytes: 39 fragments of 256 KiB; the last batch is leaves 32..38. */
static void
mk_reply(struct xfer_mk_reply *r)
{
	unsigned i;

	memset(r, 0, sizeof(*r));
	r->file_size = 10000000;
	r->fragment_size = 262144;
	memset(r->root, 0x77, 32);
	r->first = 32;
	r->count = 7;
	for (i = 0; i < sizeof(mk_leaves); i++)
		mk_leaves[i] = (uint8_t)(i * 31 + 3);
	r->leaves = mk_leaves;
}

static void
test_merkle_reply_round_trips_at_exact_length(void)
{
	struct xfer_mk_reply r, d;
	size_t len, k;

	mk_reply(&r);
	T_EQ_INT(xfer_mk_reply_encode(mk_out, sizeof(mk_out), &len, &r), XFER_MK_OK);
	T_EQ_INT(len, XFER_MK_HDR + 7 * 32);
	/* The layout: sizes, root, first leaf, count, leaves. */
	T_EQ_U64(buf_le64(mk_out), 10000000);
	T_EQ_U64(buf_le64(mk_out + 8), 262144);
	T_EQ_U64(buf_le64(mk_out + 48), 32);
	T_EQ_INT(buf_le32(mk_out + 56), 7);
	T_EQ_INT(xfer_mk_reply_decode(mk_out, len, &d), XFER_MK_OK);
	T_EQ_U64(d.file_size, 10000000);
	T_EQ_U64(d.fragment_size, 262144);
	T_EQ_U64(d.fragment_count, 39);
	T_EQ_U64(d.first, 32);
	T_EQ_INT(d.count, 7);
	T_EQ_MEM(d.root, r.root, 32);
	T_EQ_MEM(d.leaves, mk_leaves, 7 * 32);
	for (k = 0; k < len; k++)
		if (xfer_mk_reply_decode(mk_out, k, &d) != XFER_MK_ERR_SHORT) {
			T_FAIL("a %zu-byte prefix was not refused as short", k);
			break;
		}
	T_EQ_INT(xfer_mk_reply_decode(mk_out, len + 1, &d), XFER_MK_ERR_LONG);
	/* A full batch fits in one Transfer ACTIVE (TransferMaxEmbedSize). */
	T_ASSERT(WIRE_TRANSFER_HDR_SIZE + XFER_MK_HDR + XFER_MK_BATCH * 32 <=
	    WIRE_TRANSFER_HDR_SIZE + WIRE_TRANSFER_EMBED_MAX);
}

static void
test_merkle_reply_refuses_wrong_shape_and_range(void)
{
	struct xfer_mk_reply r, d;
	size_t len;

	mk_reply(&r);
	r.file_size = 262144;		/* one fragment: no tree to send */
	T_EQ_INT(xfer_mk_reply_encode(mk_out, sizeof(mk_out), &len, &r), XFER_MK_ERR_SHAPE);
	mk_reply(&r);
	r.fragment_size = 524288;	/* not §4.1's for 10 MB */
	T_EQ_INT(xfer_mk_reply_encode(mk_out, sizeof(mk_out), &len, &r), XFER_MK_ERR_SHAPE);
	mk_reply(&r);
	r.first = 33;			/* 33 + 7 > 39 */
	T_EQ_INT(xfer_mk_reply_encode(mk_out, sizeof(mk_out), &len, &r), XFER_MK_ERR_RANGE);
	mk_reply(&r);
	r.first = 0;
	r.count = XFER_MK_BATCH + 1;
	T_EQ_INT(xfer_mk_reply_encode(mk_out, sizeof(mk_out), &len, &r), XFER_MK_ERR_RANGE);
	/* The decoder applies the same checks to bytes from the wire. */
	mk_reply(&r);
	T_EQ_INT(xfer_mk_reply_encode(mk_out, sizeof(mk_out), &len, &r), XFER_MK_OK);
	buf_put_le64(mk_out + 48, 33);
	T_EQ_INT(xfer_mk_reply_decode(mk_out, len, &d), XFER_MK_ERR_RANGE);
	buf_put_le64(mk_out + 48, 32);
	buf_put_le64(mk_out + 8, 1048576);
	T_EQ_INT(xfer_mk_reply_decode(mk_out, len, &d), XFER_MK_ERR_SHAPE);
	buf_put_le64(mk_out + 8, 262144);
	buf_put_le32(mk_out + 56, 0xffffffffu);
	T_EQ_INT(xfer_mk_reply_decode(mk_out, len, &d), XFER_MK_ERR_RANGE);
}

/* Leaves hashed here, folded by xfer_mk_root = common/merkle.c's root. */
static void
test_merkle_root_of_leaves_matches_tree_builder(void)
{
	static const uint64_t sizes[] = { 262145, 3 * 262144, 5 * 262144 + 1000,
	    4 * 262144, 10000000 };
	uint8_t *data, *leaves, want[32], got[32];
	blake3_hasher h;
	uint64_t n, i, off, len;
	size_t k;

	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		data = malloc(sizes[k]);
		T_ASSERT(data != NULL);
		for (i = 0; i < sizes[k]; i++)
			data[i] = (uint8_t)(i * 2654435761u >> 13);
		n = merkle_fragment_count(sizes[k], 262144);
		leaves = malloc(n * 32);
		T_ASSERT(leaves != NULL);
		for (i = 0; i < n; i++) {
			T_EQ_INT(merkle_fragment_range(sizes[k], 262144, i, &off, &len), 0);
			blake3_hasher_init(&h);
			blake3_hasher_update(&h, data + off, len);
			blake3_hasher_finalize(&h, leaves + i * 32, 32);
		}
		T_EQ_INT(merkle_root(data, sizes[k], 262144, want), 0);
		T_EQ_INT(xfer_mk_root(leaves, n, got), XFER_MK_OK);
		T_EQ_MEM(got, want, 32);
		/* One flipped bit in the last leaf (a promoted one when n is odd). */
		leaves[(n - 1) * 32] ^= 1;
		T_EQ_INT(xfer_mk_root(leaves, n, got), XFER_MK_OK);
		T_ASSERT(memcmp(got, want, 32) != 0);
		free(leaves);
		free(data);
	}
	T_EQ_INT(xfer_mk_root(mk_leaves, 0, got), XFER_MK_ERR_ARG);
}

/* --- the transfer engine (xfer.c) ------------------------------------------------ */

static void
test_id_table_follows_a_model_through_random_puts_and_deletes(void)
{
	static struct xfer_ids t;
	uint8_t key[XFER_IDS_KEY] = { 7 }, ids[200][XFER_IDS_LEN];
	int in[200] = { 0 }, i, k, count = 0;
	uint64_t rs = 99;

	xfer_ids_init(&t, key);
	for (i = 0; i < 200; i++)
		t_rnd_bytes(&rs, ids[i], XFER_IDS_LEN);
	for (k = 0; k < 20000; k++) {
		i = (int)(t_rnd(&rs) % 200);
		if (in[i]) {
			T_EQ_INT(xfer_ids_put(&t, ids[i], &in[i]), -1);	/* already there */
			T_EQ_INT(xfer_ids_del(&t, ids[i]), 0);
			in[i] = 0;
			count--;
		} else if (count < XFER_IDS_MAX) {
			T_EQ_INT(xfer_ids_del(&t, ids[i]), -1);		/* not there */
			T_EQ_INT(xfer_ids_put(&t, ids[i], &in[i]), 0);
			in[i] = 1;
			count++;
		} else
			T_EQ_INT(xfer_ids_put(&t, ids[i], &in[i]), -1);	/* full */
		if (k % 97 == 0)
			for (i = 0; i < 200; i++)
				T_ASSERT(xfer_ids_get(&t, ids[i]) == (in[i] ? &in[i] : NULL));
	}
	T_EQ_U64(t.count, (uint64_t)count);
	T_ASSERT(xfer_ids_put(&t, ids[0], NULL) == -1);
}

/* A fake environment: a clock we move, seeded random bytes, counted sends and timers. */
struct fk_store {
	void	(*cb)(void *, const uint8_t *, size_t, const char *);
	void	*arg;
	int	 bulk;
};

static struct {
	uint64_t	now_us, rs;
	int		sends, timers;
	struct fk_store	store[8];
	int		nstore;
} fk;

static uint64_t fk_now(void *c) { (void)c; return fk.now_us; }
static void fk_random(void *c, void *b, size_t n) { (void)c; t_rnd_bytes(&fk.rs, b, n); }

static int
fk_send(void *c, int sock, const struct peer_addr *l, const struct peer_addr *r,
    const uint8_t *b, size_t n)
{
	(void)c; (void)sock; (void)l; (void)r; (void)b; (void)n;
	fk.sends++;
	return 0;
}

static void *
fk_timer_add(void *c, uint64_t after, uint64_t every, net_env_timer_cb cb, void *arg)
{
	(void)c; (void)after; (void)every; (void)cb; (void)arg;
	fk.timers++;
	return &fk;
}

static void fk_timer_del(void *c, void *t) { (void)c; (void)t; fk.timers--; }

static int
fk_store_send(void *c, const void *msg, size_t len, uint32_t to,
    void (*cb)(void *, const uint8_t *, size_t, const char *), void *arg, int bulk)
{
	(void)c; (void)msg; (void)len; (void)to;
	if (fk.nstore == 8)
		return -1;
	fk.store[fk.nstore].cb = cb;
	fk.store[fk.nstore].arg = arg;
	fk.store[fk.nstore++].bulk = bulk;
	return 0;
}

/* A user of the engine that counts what the engine asks of it. */
static int op_pumps, op_ends;
static char op_why[64];

static void op_pump(struct xfer_sess *s) { (void)s; op_pumps++; }
static int op_tick(struct xfer_sess *s, uint64_t now) { (void)s; (void)now; return 0; }

static void
op_end(struct xfer_sess *s, int ok, int terminate, const char *why)
{
	(void)ok; (void)terminate;
	op_ends++;
	snprintf(op_why, sizeof(op_why), "%s", why);
	xfer_release(s);
}

static const struct xfer_ops t_ops = {
	.name = "test", .max = 4, .idle_ms = 10000, .idle_why = "idle (test)",
	.pump = op_pump, .tick = op_tick, .end = op_end,
};

static uint32_t fk_rand32(void *a) { (void)a; return 1234; }

/* No daemon around the engine but its configuration: plaintext (v0) transfers. */
static struct daemon fk_daemon;

static struct netd *
fk_netd(void)
{
	struct peer_list_conf pc;
	struct netd *n;
	uint8_t key[16] = { 3 };

	memset(&fk, 0, sizeof(fk));
	fk.now_us = 5000000;
	fk.rs = 42;
	op_pumps = op_ends = 0;
	op_why[0] = '\0';
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	conf_defaults(&fk_daemon.conf);
	fk_daemon.conf.secure_transport = CONF_SECURE_OFF;
	n->d = &fk_daemon;
	n->env.now_us = fk_now;
	n->env.random = fk_random;
	n->env.send = fk_send;
	n->env.timer_add = fk_timer_add;
	n->env.timer_del = fk_timer_del;
	n->env.store_send = fk_store_send;
	n->seqs = seq_table_new(64, key, NULL, NULL);
	memset(&pc, 0, sizeof(pc));
	pc.max_peers = 8;
	pc.rand32 = fk_rand32;
	n->peers = peer_list_new(&pc);
	if (n->seqs == NULL || n->peers == NULL || xfer_init(n) != 0) {
		free(n);
		return NULL;
	}
	return n;
}

static void
fk_netd_free(struct netd *n)
{
	xfer_free(n);
	seq_table_free(n->seqs);
	peer_list_free(n->peers);
	free(n);
}

static size_t
fk_lite(uint8_t *out, const uint8_t id[16], const uint8_t *data, size_t len)
{
	struct wire_lite l;
	size_t n = 0;

	memcpy(l.id, id, 16);
	l.data = data;
	l.data_len = len;
	return wire_lite_encode(out, 2048, &n, &l) == 0 ? n : 0;
}

/* A registered user: what the engine hands it through struct xfer_user. */
static int u_packets, u_finis, u_after;
static uint8_t u_last_cmd;

static void
u_packet(struct netd *n, struct peer *p, struct peer_conn *c,
    const struct wire_packet *pkt)
{
	(void)n; (void)p; (void)c;
	u_packets++;
	u_last_cmd = pkt->command;
}

static void u_fini(struct netd *n) { (void)n; u_finis++; }
static void u_after_tick(struct netd *n) { (void)n; u_after++; }

static const struct xfer_ops u_ops = {
	.name = "test user", .max = 4, .idle_ms = 10000, .idle_why = "idle (test)",
	.pump = op_pump, .tick = op_tick, .end = op_end, .after_tick = u_after_tick,
};

#define U_CMD	0x77	/* no command of the protocol */

static const struct xfer_user u_user = {
	.ops = &u_ops, .cmd = U_CMD, .packet = u_packet, .fini = u_fini,
};

/*
 * The engine reaches its users only through what they register: a
 * message goes to the user of its command (none: counted as unknown),
 * every tick ends with each user's after_tick, xfer_free calls each fini;
 * the table has XFER_USERS places (xfer_init takes 2: file and block).
 */
static void
test_engine_calls_its_users_through_what_they_register(void)
{
	struct netd *n = fk_netd();
	struct wire_packet pkt;
	uint64_t unknown;

	T_ASSERT(n != NULL);
	u_packets = u_finis = u_after = 0;
	memset(&pkt, 0, sizeof(pkt));
	pkt.command = U_CMD;
	unknown = n->counters[IPC_NC_DROP_UNKNOWN_CMD];
	xfer_packet(n, NULL, NULL, &pkt);		/* nobody takes it yet */
	T_EQ_U64(n->counters[IPC_NC_DROP_UNKNOWN_CMD], unknown + 1);
	T_EQ_INT(u_packets, 0);
	T_EQ_INT(xfer_register(n, &u_user), 0);
	xfer_packet(n, NULL, NULL, &pkt);
	T_EQ_INT(u_packets, 1);
	T_EQ_INT(u_last_cmd, U_CMD);
	T_EQ_U64(n->counters[IPC_NC_DROP_UNKNOWN_CMD], unknown + 1);
	pkt.command = U_CMD + 1;
	xfer_packet(n, NULL, NULL, &pkt);
	T_EQ_INT(u_packets, 1);
	T_EQ_U64(n->counters[IPC_NC_DROP_UNKNOWN_CMD], unknown + 2);
	xfer_tick(n, fk.now_us / 1000);
	xfer_tick(n, fk.now_us / 1000 + 10);
	T_EQ_INT(u_after, 2);
	/* XFER_USERS == 4: file, block, this one, one more; then no room. */
	T_EQ_INT(xfer_register(n, &u_user), 0);
	T_EQ_INT(xfer_register(n, &u_user), -1);
	/* node.c's way in: the hooks xfer_init set, cleared by xfer_free. */
	T_ASSERT(n->xfer_hooks != NULL && n->xfer_hooks->packet == xfer_packet);
	fk_netd_free(n);
	T_EQ_INT(u_finis, 2);				/* registered twice */
}

static void
test_engine_takes_lite_packets_of_registered_ids_only(void)
{
	struct netd *n = fk_netd();
	struct xfer_sess *s;
	uint8_t pub[PEERNET_PUBKEY_BYTES] = { 2, 9 }, id[16], other[16], raw[2048];
	uint8_t junk[40] = { 0x80, 1, 2, 3 };
	size_t len;

	T_ASSERT(n != NULL);
	memset(id, 0xa5, sizeof(id));
	memset(other, 0x5a, sizeof(other));
	s = xfer_new(n, &t_ops, XFER_PROVIDER, pub, sizeof(*s));
	T_ASSERT(s != NULL);
	T_EQ_INT(fk.timers, 1);		/* the 10 ms timer, while a session lives */
	T_EQ_INT(xfer_serve_register(s, id, 77), 0);
	len = fk_lite(raw, other, junk, sizeof(junk));
	T_ASSERT(len == WIRE_LITE_HDR_SIZE + sizeof(junk));
	T_EQ_INT(xfer_lite_in(n, raw, len), 0);		/* not ours: a packet, maybe */
	len = fk_lite(raw, id, junk, sizeof(junk));
	fk.now_us += 3000000;
	/* No UDT connection yet: the packet is taken and only absorbed. */
	T_EQ_INT(xfer_lite_in(n, raw, len), 1);
	T_EQ_INT(op_pumps, 0);
	T_EQ_INT(s->got_lite, 1);
	T_EQ_U64(s->last_rx, fk.now_us / 1000);
	T_EQ_INT(xfer_udt_open(s), 0);
	T_EQ_INT(xfer_lite_in(n, raw, len), 1);
	T_EQ_INT(op_pumps, 1);
	/* A lite header whose length runs past the datagram: ours, dropped and counted. */
	T_EQ_INT(xfer_lite_in(n, raw, len - 1), 1);
	T_EQ_U64(n->counters[IPC_NC_DROP_MESSAGE], 1);
	T_EQ_INT(op_pumps, 1);
	op_end(s, 0, 0, "test over");
	T_EQ_INT(xfer_lite_in(n, raw, len), 0);		/* the ID left with the session */
	fk_netd_free(n);
}

static struct xfer_sess *cb_s;
static uint64_t cb_arg;
static int cb_calls, cb_ipc;

static void
t_store_cb(struct netd *n, struct xfer_sess *s, uint32_t gen, uint64_t arg,
    const uint8_t *rep, size_t len, const char *err)
{
	(void)n; (void)gen; (void)rep; (void)len; (void)err;
	cb_calls++;
	cb_s = s;
	cb_arg = arg;
	cb_ipc = s != NULL ? s->ipc : -1;
}

static void
test_engine_matches_storaged_replies_by_number(void)
{
	struct netd *n = fk_netd();
	struct xfer_sess *s;
	uint8_t pub[PEERNET_PUBKEY_BYTES] = { 3, 1 }, msg[3] = { 1, 2, 3 };

	T_ASSERT(n != NULL);
	s = xfer_new(n, &t_ops, XFER_REQUESTER, pub, sizeof(*s));
	T_ASSERT(s != NULL);
	T_EQ_INT(xfer_store(s, 1, msg, sizeof(msg), 1000, t_store_cb, 42), 0);
	T_EQ_INT(xfer_store(s, 0, msg, sizeof(msg), 1000, t_store_cb, 43), 0);
	T_EQ_INT(s->ipc, 2);
	T_EQ_INT(fk.store[0].bulk, 1);
	T_EQ_INT(fk.store[1].bulk, 0);
	fk.store[0].cb(fk.store[0].arg, msg, sizeof(msg), NULL);
	T_EQ_INT(cb_calls, 1);
	T_ASSERT(cb_s == s);
	T_EQ_U64(cb_arg, 42);
	T_EQ_INT(cb_ipc, 1);		/* counted off before the user sees it */
	op_end(s, 0, 0, "gone");
	/* The session ended meanwhile: the reply finds nothing, never a freed pointer. */
	fk.store[1].cb(fk.store[1].arg, NULL, 0, "timeout");
	T_EQ_INT(cb_calls, 2);
	T_ASSERT(cb_s == NULL);
	T_EQ_U64(cb_arg, 43);
	fk_netd_free(n);
}

static void
test_engine_expires_idle_sessions_and_drops_its_timer(void)
{
	struct netd *n = fk_netd();
	struct xfer_sess *s;
	uint8_t pub[PEERNET_PUBKEY_BYTES] = { 2, 4 };

	T_ASSERT(n != NULL);
	s = xfer_new(n, &t_ops, XFER_PROVIDER, pub, sizeof(*s));
	T_ASSERT(s != NULL && xfer_udt_open(s) == 0);
	fk.now_us += (uint64_t)(t_ops.idle_ms - 1) * 1000;
	xfer_tick(n, fk.now_us / 1000);
	T_EQ_INT(op_ends, 0);
	T_EQ_INT(op_pumps, 1);		/* a live session is pumped every tick */
	T_EQ_INT(fk.timers, 1);
	fk.now_us += 1000;
	xfer_tick(n, fk.now_us / 1000);
	T_EQ_INT(op_ends, 1);
	T_EQ_STR(op_why, "idle (test)");
	T_EQ_INT(fk.timers, 0);		/* no session: no 10 ms timer */
	T_EQ_INT(xfer_count(n, &t_ops, 0, NULL), 0);
	fk_netd_free(n);
}

static void
test_engine_ids_are_node_wide_and_a_repeat_is_the_same_request(void)
{
	struct netd *n = fk_netd();
	struct xfer_sess *a, *b;
	struct peer p;
	uint8_t id[16];
	int i;

	T_ASSERT(n != NULL);
	memset(&p, 0, sizeof(p));
	p.pub[0] = 2;
	p.pub[1] = 7;
	memset(id, 0x11, sizeof(id));
	a = xfer_new(n, &t_ops, XFER_PROVIDER, p.pub, sizeof(*a));
	T_ASSERT(a != NULL && xfer_serve_register(a, id, 5) == 0);
	/* The same REQUEST_START on another connection: already served. */
	T_EQ_INT(xfer_serve_claim(n, &t_ops, &p, id, 5), 1);
	T_EQ_INT(op_ends, 0);
	/* The ID again on another sequence: the old registration goes (§9.2). */
	T_EQ_INT(xfer_serve_claim(n, &t_ops, &p, id, 6), 0);
	T_EQ_INT(op_ends, 1);
	T_EQ_STR(op_why, "transfer ID registered again");
	/* The kind's cap. */
	for (i = 0; i < t_ops.max; i++)
		T_ASSERT(xfer_new(n, &t_ops, XFER_PROVIDER, p.pub, sizeof(*a)) != NULL);
	b = xfer_new(n, &t_ops, XFER_PROVIDER, p.pub, sizeof(*a));
	T_ASSERT(b == NULL);
	T_EQ_INT(xfer_count(n, &t_ops, XFER_PROVIDER, p.pub), t_ops.max);
	fk_netd_free(n);
	T_EQ_INT(op_ends, 1 + t_ops.max);	/* stopping ends every session */
}

static void
test_engine_gives_each_run_a_fresh_registered_uuid(void)
{
	struct netd *n = fk_netd();
	struct xfer_sess *s;
	struct peer p;
	uint8_t first[16], raw[64], junk[20] = { 0 };
	size_t len;

	T_ASSERT(n != NULL);
	memset(&p, 0, sizeof(p));
	p.pub[0] = 3;
	p.seq_counter = 100;
	s = xfer_new(n, &t_ops, XFER_REQUESTER, p.pub, sizeof(*s));
	T_ASSERT(s != NULL);
	T_EQ_INT(xfer_run_open(s, &p), 0);
	T_ASSERT(s->conn != NULL && s->has_seq);
	T_EQ_INT(s->id[6] >> 4, 4);		/* UUID v4 */
	T_EQ_INT(s->id[8] >> 6, 2);		/* RFC 4122 variant */
	memcpy(first, s->id, 16);
	/* The next run: a new ID, the old one no longer taken. */
	xfer_udt_drop(s);
	xfer_seq_drop(s);
	T_ASSERT(!s->has_seq);
	T_EQ_INT(xfer_run_open(s, &p), 0);
	T_ASSERT(memcmp(first, s->id, 16) != 0);
	len = fk_lite(raw, first, junk, sizeof(junk));
	T_EQ_INT(xfer_lite_in(n, raw, len), 0);
	len = fk_lite(raw, s->id, junk, sizeof(junk));
	T_EQ_INT(xfer_lite_in(n, raw, len), 1);
	fk_netd_free(n);
}

int
main(int argc, char **argv)
{
	int rc;

	(void)argc;
	t_set_suite(argv[0]);
	capture = tvec_load("capture.json");
	messages = tvec_load("messages.json");
	if (capture == NULL || messages == NULL) {
		printf("SKIP: test_xfer: vectors missing\n");
		return 0;
	}
	T_RUN(test_capture_stream_is_806_bytes_of_three_records);
	T_RUN(test_parser_splits_captured_stream_in_any_chunking);
	T_RUN(test_provider_stream_for_capture_blocks_is_byte_identical);
	T_RUN(test_provider_header_matches_reference_vector);
	T_RUN(test_parser_takes_not_available_header_without_body);
	T_RUN(test_parser_takes_size_exceeded_header_without_body);
	T_RUN(test_parser_rejects_hostile_headers);
	T_RUN(test_parser_rejects_bytes_after_last_record);
	T_RUN(test_parser_init_refuses_bad_ranges);
	T_RUN(test_request_start_matches_captured_request);
	T_RUN(test_uuid_v4_sets_version_and_variant_bits);
	T_RUN(test_range_walk_follows_reference_request_order);
	T_RUN(test_blocks_cross_lossy_udt_and_parse_exactly);
	T_RUN(test_merkle_reply_round_trips_at_exact_length);
	T_RUN(test_merkle_reply_refuses_wrong_shape_and_range);
	T_RUN(test_merkle_root_of_leaves_matches_tree_builder);
	T_RUN(test_id_table_follows_a_model_through_random_puts_and_deletes);
	T_RUN(test_engine_takes_lite_packets_of_registered_ids_only);
	T_RUN(test_engine_calls_its_users_through_what_they_register);
	T_RUN(test_engine_matches_storaged_replies_by_number);
	T_RUN(test_engine_expires_idle_sessions_and_drops_its_timer);
	T_RUN(test_engine_ids_are_node_wide_and_a_repeat_is_the_same_request);
	T_RUN(test_engine_gives_each_run_a_fresh_registered_uuid);
	rc = t_done();
	json_decref(capture);
	json_decref(messages);
	return rc;
}
