/*
 * test_xfer.c — the pure parts of the block transfer (docs/protocol.md §9.8):
 * the requester's stream parser fed the captured reference block stream in
 * every chunking, the provider's header/stream bytes and the requester's
 * REQUEST_START against the capture, hostile streams, the range walk, and
 * a provider and a requester over two UDT endpoints.
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
env_now(void *ctx)
{
	(void)ctx;
	return now_us;
}

static int
env_send(void *ctx, const uint8_t *p, size_t len)
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
env_random(void *ctx, void *out, size_t n)
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
	struct udt_env ec = { env_now, env_send, env_random, &c2s };
	struct udt_env es = { env_now, env_send, env_random, &s2c };
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

int
main(int argc, char **argv)
{
	int rc;

	(void)argc;
	setvbuf(stdout, NULL, _IOLBF, 0);
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
	rc = t_done();
	json_decref(capture);
	json_decref(messages);
	return rc;
}
