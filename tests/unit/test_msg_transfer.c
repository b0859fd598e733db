/* test_msg_transfer.c — Transfer (§3.8), Get Block (§3.9), stream headers (§9.3, §9.8), lite packets (§2.7). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blake3.h"
#include "hex.h"
#include "ident.h"
#include "t.h"
#include "tvec.h"
#include "wire_msg.h"

static uint8_t out[WIRE_MSG_BUDGET];
static uint64_t rng = 0x5eed5eed5eed5eedULL;

static const uint8_t transfer_uuid[16] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
};

/* Decodes the named vector, checks each decoded field, re-encodes `in`. */
static void
check_transfer(const char *name, const struct wire_transfer *in)
{
	json_t *v = tvec_load("messages.json"), *c, *d;
	struct wire_transfer t;
	uint8_t raw[256], want[64];
	long len, dl;
	size_t n;

	T_ASSERT(v != NULL);
	c = tvec_named(json_object_get(v, "transfer"), name);
	T_ASSERT(c != NULL);
	d = json_object_get(c, "decoded");
	len = hex_decode(raw, sizeof(raw), tvec_str(c, "payload"));
	T_EQ_INT(len, tvec_u64(c, "length"));
	T_EQ_INT(wire_transfer_decode(raw, (size_t)len, &t), 0);
	T_EQ_INT(t.control, tvec_u64(d, "control"));
	T_EQ_INT(t.protocol, tvec_u64(d, "transfer_protocol"));
	T_ASSERT(tvec_hex_exact(d, "hash", want, 32) == 0);
	T_EQ_MEM(t.hash, want, 32);
	T_EQ_U64(t.offset, tvec_u64(d, "offset"));
	T_EQ_U64(t.limit, tvec_u64(d, "limit"));
	T_ASSERT(tvec_uuid(tvec_str(d, "transfer_id"), want) == 0);
	T_EQ_MEM(t.transfer_id, want, 16);
	dl = hex_decode(want, sizeof(want), tvec_str(d, "data"));
	T_EQ_INT(t.data_len, dl);
	if (dl > 0)
		T_EQ_MEM(t.data, want, (size_t)dl);
	/* is_last = NOT_AVAILABLE or TERMINATE */
	T_EQ_INT(t.control == WIRE_TRANSFER_NOT_AVAILABLE ||
	    t.control == WIRE_TRANSFER_TERMINATE,
	    json_is_true(json_object_get(d, "is_last")));
	T_EQ_INT(wire_transfer_encode(out, sizeof(out), &n, in), 0);
	T_EQ_INT(n, len);
	T_EQ_MEM(out, raw, n);
	json_decref(v);
}

static void
transfer_in(struct wire_transfer *t, uint8_t control)
{
	uint8_t pat[1000];

	memset(t, 0, sizeof(*t));
	t->control = control;
	tvec_pattern(pat, sizeof(pat));
	blake3_hash(pat, sizeof(pat), t->hash);
}

static void
test_transfer_vector_request_start(void)
{
	struct wire_transfer in;

	transfer_in(&in, WIRE_TRANSFER_REQUEST_START);
	in.limit = 1000;
	memcpy(in.transfer_id, transfer_uuid, 16);
	check_transfer("request_start", &in);
}

static void
test_transfer_vector_request_start_range(void)
{
	struct wire_transfer in;

	transfer_in(&in, WIRE_TRANSFER_REQUEST_START);
	in.offset = 0x0102030405060708ULL;
	in.limit = 0x1112131415161718ULL;
	memcpy(in.transfer_id, transfer_uuid, 16);
	check_transfer("request_start_range", &in);
}

static void
test_transfer_vector_active(void)
{
	struct wire_transfer in;
	uint8_t pat[64];

	transfer_in(&in, WIRE_TRANSFER_ACTIVE);
	tvec_pattern(pat, sizeof(pat));
	in.data = pat;
	in.data_len = sizeof(pat);
	check_transfer("active", &in);
}

static void
test_transfer_vector_not_available_and_terminate(void)
{
	struct wire_transfer in;

	transfer_in(&in, WIRE_TRANSFER_NOT_AVAILABLE);
	check_transfer("not_available", &in);
	if (t_case_failed)
		return;
	transfer_in(&in, WIRE_TRANSFER_TERMINATE);
	check_transfer("terminate", &in);
}

static void
test_file_transfer_header_vector(void)
{
	json_t *v = tvec_load("messages.json");
	uint8_t want[16], h[16];
	uint64_t fs, ts;

	T_ASSERT(v != NULL);
	T_ASSERT(tvec_hex_exact(json_object_get(v, "file_transfer_header"), "bytes", want, 16) == 0);
	wire_file_header_encode(h, 1000, 600);
	T_EQ_MEM(h, want, 16);
	wire_file_header_decode(want, &fs, &ts);
	T_EQ_U64(fs, 1000);
	T_EQ_U64(ts, 600);
	json_decref(v);
}

static void
test_transfer_request_start_is_always_66_and_shorter_is_rejected(void)
{
	struct wire_transfer in, t;
	uint8_t junk[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	size_t n, l;

	transfer_in(&in, WIRE_TRANSFER_REQUEST_START);
	in.data = junk;		/* ignored for REQUEST_START */
	in.data_len = sizeof(junk);
	T_EQ_INT(wire_transfer_encode(out, sizeof(out), &n, &in), 0);
	T_EQ_INT(n, WIRE_TRANSFER_REQUEST_SIZE);
	T_EQ_INT(wire_transfer_encode(out, 65, &n, &in), WIRE_MSG_ERR_BUF);
	T_EQ_INT(wire_transfer_encode(out, 66, &n, &in), 0);
	/* 50..65 bytes crash the reference (§12.13); we reject 34..65. */
	for (l = 34; l < 66; l++)
		T_EQ_INT(wire_transfer_decode(out, l, &t), WIRE_MSG_ERR_REQUEST_SHORT);
	for (l = 0; l < 34; l++)
		T_EQ_INT(wire_transfer_decode(out, l, &t), WIRE_MSG_ERR_SHORT);
	T_EQ_INT(wire_transfer_decode(out, 66, &t), 0);
	/* A longer REQUEST_START is read like the reference (extra bytes ignored). */
	T_EQ_INT(wire_transfer_decode(out, 70, &t), 0);
}

static void
test_transfer_active_needs_4_udt_bytes(void)
{
	struct wire_transfer in, t;
	uint8_t d[4] = { 0x80, 0, 0, 2 };
	size_t n, l;

	transfer_in(&in, WIRE_TRANSFER_ACTIVE);
	in.data = d;
	for (l = 0; l < 4; l++) {
		in.data_len = l;
		T_EQ_INT(wire_transfer_encode(out, sizeof(out), &n, &in), WIRE_MSG_ERR_DATA_SHORT);
	}
	in.data_len = 4;
	T_EQ_INT(wire_transfer_encode(out, sizeof(out), &n, &in), 0);
	T_EQ_INT(n, 38);
	for (l = 34; l < 38; l++)
		T_EQ_INT(wire_transfer_decode(out, l, &t), WIRE_MSG_ERR_DATA_SHORT);
	T_EQ_INT(wire_transfer_decode(out, 38, &t), 0);
	T_EQ_INT(t.data_len, 4);
	T_EQ_MEM(t.data, d, 4);
	/* Other controls carry nothing; trailing bytes ignored, unknown controls kept. */
	out[0] = 7;
	T_EQ_INT(wire_transfer_decode(out, 38, &t), 0);
	T_EQ_INT(t.control, 7);
	T_EQ_INT(t.data_len, 0);
}

static const char *const key_a =
    "034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa";

static void
check_getblock(const char *name, const struct wire_getblock *in)
{
	json_t *v = tvec_load("messages.json"), *c, *d, *rs, *r;
	struct wire_getblock g;
	struct wire_block_range br;
	uint8_t raw[256], want[128];
	long len, dl;
	size_t n, i;

	T_ASSERT(v != NULL);
	c = tvec_named(json_object_get(v, "get_block"), name);
	T_ASSERT(c != NULL);
	d = json_object_get(c, "decoded");
	len = hex_decode(raw, sizeof(raw), tvec_str(c, "payload"));
	T_EQ_INT(len, tvec_u64(c, "length"));
	T_EQ_INT(wire_getblock_decode(raw, (size_t)len, &g), 0);
	T_EQ_INT(g.control, tvec_u64(d, "control"));
	T_ASSERT(tvec_hex_exact(d, "blockchain_public_key", want, 33) == 0);
	T_EQ_MEM(g.blockchain, want, 33);
	T_EQ_U64(g.limit_count, tvec_u64(d, "limit_block_count"));
	T_EQ_U64(g.max_block_size, tvec_u64(d, "max_block_size"));
	T_ASSERT(tvec_uuid(tvec_str(d, "transfer_id"), want) == 0);
	T_EQ_MEM(g.transfer_id, want, 16);
	rs = json_object_get(d, "target_blocks");
	T_EQ_INT(g.n_ranges, json_array_size(rs));
	json_array_foreach(rs, i, r) {
		wire_block_range_get(g.ranges, i, &br);
		T_EQ_U64(br.first, tvec_u64(r, "offset"));
		T_EQ_U64(br.count, tvec_u64(r, "limit"));
	}
	dl = hex_decode(want, sizeof(want), tvec_str(d, "data"));
	T_EQ_INT(g.data_len, dl);
	if (dl > 0)
		T_EQ_MEM(g.data, want, (size_t)dl);
	T_EQ_INT(g.control == WIRE_GETBLOCK_NOT_AVAILABLE ||
	    g.control == WIRE_GETBLOCK_TERMINATE || g.control == WIRE_GETBLOCK_EMPTY,
	    json_is_true(json_object_get(d, "is_last")));
	T_EQ_INT(wire_getblock_encode(out, sizeof(out), &n, in), 0);
	T_EQ_INT(n, len);
	T_EQ_MEM(out, raw, n);
	json_decref(v);
}

static void
getblock_in(struct wire_getblock *g, uint8_t control)
{
	memset(g, 0, sizeof(*g));
	g->control = control;
	hex_decode(g->blockchain, 33, key_a);
}

static void
test_getblock_vector_request_start(void)
{
	struct wire_getblock in;
	struct wire_block_range br;
	uint8_t ranges[32];
	size_t i;

	getblock_in(&in, WIRE_GETBLOCK_REQUEST_START);
	in.limit_count = 10;
	in.max_block_size = 4096;
	for (i = 0; i < 16; i++)
		in.transfer_id[i] = (uint8_t)(i + 1);
	br.first = 0;
	br.count = 2;
	wire_block_range_put(ranges, 0, &br);
	br.first = 5;
	br.count = 1;
	wire_block_range_put(ranges, 1, &br);
	in.ranges = ranges;
	in.n_ranges = 2;
	check_getblock("request_start", &in);
}

static void
test_getblock_vector_active(void)
{
	struct wire_getblock in;
	uint8_t pat[100];

	getblock_in(&in, WIRE_GETBLOCK_ACTIVE);
	tvec_pattern(pat, sizeof(pat));
	in.data = pat;
	in.data_len = sizeof(pat);
	in.limit_count = 99;	/* ignored for ACTIVE */
	check_getblock("active", &in);
}

static void
test_getblock_vector_not_available_terminate_empty(void)
{
	struct wire_getblock in;

	getblock_in(&in, WIRE_GETBLOCK_NOT_AVAILABLE);
	check_getblock("not_available", &in);
	if (t_case_failed)
		return;
	getblock_in(&in, WIRE_GETBLOCK_TERMINATE);
	check_getblock("terminate", &in);
	if (t_case_failed)
		return;
	getblock_in(&in, WIRE_GETBLOCK_EMPTY);
	check_getblock("empty", &in);
}

static void
test_block_transfer_header_vectors(void)
{
	json_t *v = tvec_load("messages.json"), *arr;
	struct wire_block_header h, d;
	uint8_t want[25], b[25];

	T_ASSERT(v != NULL);
	arr = json_object_get(v, "block_transfer_headers");
	T_EQ_INT(json_array_size(arr), 2);
	T_ASSERT(tvec_hex_exact(json_array_get(arr, 0), "bytes", want, 25) == 0);
	h.availability = WIRE_BLOCK_AVAILABLE;
	h.number = 3;
	h.count = 1;
	h.size = 250;
	wire_block_header_encode(b, &h);
	T_EQ_MEM(b, want, 25);
	T_EQ_INT(wire_block_header_decode(want, 250, &d), 0);
	T_EQ_INT(d.availability, 0);
	T_EQ_U64(d.number, 3);
	T_EQ_U64(d.count, 1);
	T_EQ_U64(d.size, 250);
	T_EQ_INT(wire_block_header_decode(want, 249, &d), WIRE_MSG_ERR_BLOCK_SIZE);

	T_ASSERT(tvec_hex_exact(json_array_get(arr, 1), "bytes", want, 25) == 0);
	h.availability = WIRE_BLOCK_NOT_AVAILABLE;
	h.number = 7;
	h.count = 4;
	h.size = 0;
	wire_block_header_encode(b, &h);
	T_EQ_MEM(b, want, 25);
	/* Count 4 is fine when the block is not available (the reference reads on). */
	T_EQ_INT(wire_block_header_decode(want, 0, &d), 0);
	T_EQ_INT(d.availability, 1);
	T_EQ_U64(d.number, 7);
	T_EQ_U64(d.count, 4);
	json_decref(v);
}

static void
test_block_header_rejects_zero_count_and_multi_block_available(void)
{
	struct wire_block_header h, d;
	uint8_t b[25];

	h.availability = WIRE_BLOCK_AVAILABLE;
	h.number = 1;
	h.count = 0;
	h.size = 10;
	wire_block_header_encode(b, &h);
	T_EQ_INT(wire_block_header_decode(b, 100, &d), WIRE_MSG_ERR_BLOCK_COUNT);
	h.availability = WIRE_BLOCK_SIZE_EXCEED;
	wire_block_header_encode(b, &h);
	T_EQ_INT(wire_block_header_decode(b, 100, &d), WIRE_MSG_ERR_BLOCK_COUNT);
	h.availability = WIRE_BLOCK_AVAILABLE;
	h.count = 2;
	wire_block_header_encode(b, &h);
	T_EQ_INT(wire_block_header_decode(b, 100, &d), WIRE_MSG_ERR_BLOCK_COUNT);
	/* A too-large block reported as SIZE_EXCEED carries its real size. */
	h.availability = WIRE_BLOCK_SIZE_EXCEED;
	h.count = 1;
	h.size = 1000000;
	wire_block_header_encode(b, &h);
	T_EQ_INT(wire_block_header_decode(b, 100, &d), 0);
	T_EQ_U64(d.size, 1000000);
}

static void
test_getblock_rejects_each_rule(void)
{
	struct wire_getblock in, g;
	struct wire_block_range br = { 0, 1 };
	uint8_t ranges[16];
	size_t n, l;

	getblock_in(&in, WIRE_GETBLOCK_REQUEST_START);
	wire_block_range_put(ranges, 0, &br);
	in.ranges = ranges;
	in.n_ranges = 0;
	T_EQ_INT(wire_getblock_encode(out, sizeof(out), &n, &in), WIRE_MSG_ERR_NO_RANGES);
	in.n_ranges = 1;
	T_EQ_INT(wire_getblock_encode(out, sizeof(out), &n, &in), 0);
	T_EQ_INT(n, 84);
	for (l = 0; l < 34; l++)
		T_EQ_INT(wire_getblock_decode(out, l, &g), WIRE_MSG_ERR_SHORT);
	for (l = 34; l < 68; l++)
		T_EQ_INT(wire_getblock_decode(out, l, &g), WIRE_MSG_ERR_GB_REQUEST_SHORT);
	for (l = 68; l < 84; l++)
		T_EQ_INT(wire_getblock_decode(out, l, &g), WIRE_MSG_ERR_RANGES_TRUNC);
	T_EQ_INT(wire_getblock_decode(out, 84, &g), 0);
	out[66] = 0;	/* N = 0 */
	T_EQ_INT(wire_getblock_decode(out, 84, &g), WIRE_MSG_ERR_NO_RANGES);
	out[66] = 1;
	out[1] = 0x06;	/* not a compressed key */
	T_EQ_INT(wire_getblock_decode(out, 84, &g), WIRE_MSG_ERR_BLOCKCHAIN_ID);
	in.blockchain[0] = 0x06;
	T_EQ_INT(wire_getblock_encode(out, sizeof(out), &n, &in), WIRE_MSG_ERR_BLOCKCHAIN_ID);
	getblock_in(&in, WIRE_GETBLOCK_ACTIVE);
	in.data = ranges;
	in.data_len = 3;
	T_EQ_INT(wire_getblock_encode(out, sizeof(out), &n, &in), WIRE_MSG_ERR_DATA_SHORT);
	in.data_len = 4;
	T_EQ_INT(wire_getblock_encode(out, sizeof(out), &n, &in), 0);
	T_EQ_INT(wire_getblock_decode(out, 37, &g), WIRE_MSG_ERR_DATA_SHORT);
	T_EQ_INT(wire_getblock_decode(out, 38, &g), 0);
}

static void
test_lite_packet_vector(void)
{
	json_t *v = tvec_load("messages.json");
	struct wire_lite l, d;
	uint8_t raw[128], pat[40];
	long len;
	size_t n;

	T_ASSERT(v != NULL);
	len = hex_decode(raw, sizeof(raw), tvec_str(json_object_get(v, "lite_packet"), "raw"));
	T_EQ_INT(len, 58);
	tvec_pattern(pat, sizeof(pat));
	memcpy(l.id, transfer_uuid, 16);
	l.data = pat;
	l.data_len = sizeof(pat);
	T_EQ_INT(wire_lite_encode(out, sizeof(out), &n, &l), 0);
	T_EQ_INT(n, 58);
	T_EQ_MEM(out, raw, 58);
	T_EQ_INT(wire_lite_decode(raw, 58, &d), 0);
	T_EQ_MEM(d.id, transfer_uuid, 16);
	T_EQ_INT(d.data_len, 40);
	T_EQ_MEM(d.data, pat, 40);
	json_decref(v);
}

static void
test_lite_rejects_short_and_oversized_length(void)
{
	struct wire_lite l, d;
	uint8_t data[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	size_t n, k;

	memset(l.id, 0xab, 16);
	l.data = data;
	l.data_len = 8;
	T_EQ_INT(wire_lite_encode(out, sizeof(out), &n, &l), 0);
	T_EQ_INT(n, 26);
	for (k = 0; k < 18; k++)
		T_EQ_INT(wire_lite_decode(out, k, &d), WIRE_MSG_ERR_SHORT);
	for (k = 18; k < 26; k++)
		T_EQ_INT(wire_lite_decode(out, k, &d), WIRE_MSG_ERR_LITE_LEN);
	/* Trailing bytes after D are ignored: D is used, not the remainder (§12.9). */
	out[26] = 0xee;
	T_EQ_INT(wire_lite_decode(out, 27, &d), 0);
	T_EQ_INT(d.data_len, 8);
	/* D < 4 is never sent and never accepted (§12.3). */
	out[16] = 3;
	T_EQ_INT(wire_lite_decode(out, 26, &d), WIRE_MSG_ERR_DATA_SHORT);
	l.data_len = 3;
	T_EQ_INT(wire_lite_encode(out, sizeof(out), &n, &l), WIRE_MSG_ERR_DATA_SHORT);
	l.data_len = 8;
	T_EQ_INT(wire_lite_encode(out, 25, &n, &l), WIRE_MSG_ERR_BUF);
}

static void
test_transfer_getblock_lite_random_round_trips(void)
{
	static struct ident pool[4];
	uint8_t priv[32], data[1300], ranges[40 * 16], again[2048];
	struct wire_transfer t, td;
	struct wire_getblock g, gd;
	struct wire_lite l, ld;
	size_t n, n2;
	int i;

	for (i = 0; i < 4; i++) {
		do
			t_rnd_bytes(&rng, priv, 32);
		while (ident_from_priv(&pool[i], priv) != 0);
	}
	for (i = 0; i < 300; i++) {
		memset(&t, 0, sizeof(t));
		t.control = (uint8_t)(t_rnd(&rng) % 6);
		t.protocol = (uint8_t)t_rnd(&rng);
		t_rnd_bytes(&rng, t.hash, 32);
		if (t.control == WIRE_TRANSFER_REQUEST_START) {
			t.offset = t_rnd(&rng);
			t.limit = t_rnd(&rng);
			t_rnd_bytes(&rng, t.transfer_id, 16);
		} else if (t.control == WIRE_TRANSFER_ACTIVE) {
			t.data_len = 4 + t_rnd(&rng) % 1118;
			t_rnd_bytes(&rng, data, t.data_len);
			t.data = data;
		}
		T_EQ_INT(wire_transfer_encode(out, sizeof(out), &n, &t), 0);
		T_EQ_INT(wire_transfer_decode(out, n, &td), 0);
		T_EQ_INT(td.control, t.control);
		T_EQ_INT(td.protocol, t.protocol);
		T_EQ_MEM(td.hash, t.hash, 32);
		T_EQ_U64(td.offset, t.offset);
		T_EQ_U64(td.limit, t.limit);
		T_EQ_MEM(td.transfer_id, t.transfer_id, 16);
		T_EQ_INT(td.data_len, t.data_len);
		if (t.data_len)
			T_EQ_MEM(td.data, data, t.data_len);
		T_EQ_INT(wire_transfer_encode(again, sizeof(again), &n2, &td), 0);
		T_EQ_INT(n2, n);
		T_EQ_MEM(again, out, n);

		memset(&g, 0, sizeof(g));
		g.control = (uint8_t)(t_rnd(&rng) % 6);
		memcpy(g.blockchain, pool[t_rnd(&rng) % 4].pub, 33);
		if (g.control == WIRE_GETBLOCK_REQUEST_START) {
			g.limit_count = t_rnd(&rng);
			g.max_block_size = t_rnd(&rng);
			t_rnd_bytes(&rng, g.transfer_id, 16);
			g.n_ranges = 1 + t_rnd(&rng) % 40;
			t_rnd_bytes(&rng, ranges, g.n_ranges * 16);
			g.ranges = ranges;
		} else if (g.control == WIRE_GETBLOCK_ACTIVE) {
			g.data_len = 4 + t_rnd(&rng) % 1118;
			t_rnd_bytes(&rng, data, g.data_len);
			g.data = data;
		}
		T_EQ_INT(wire_getblock_encode(out, sizeof(out), &n, &g), 0);
		T_EQ_INT(n, g.control == 0 ? 68 + 16 * g.n_ranges :
		    34 + g.data_len);
		T_EQ_INT(wire_getblock_decode(out, n, &gd), 0);
		T_EQ_INT(gd.control, g.control);
		T_EQ_MEM(gd.blockchain, g.blockchain, 33);
		T_EQ_U64(gd.limit_count, g.limit_count);
		T_EQ_U64(gd.max_block_size, g.max_block_size);
		T_EQ_MEM(gd.transfer_id, g.transfer_id, 16);
		T_EQ_INT(gd.n_ranges, g.n_ranges);
		if (g.n_ranges)
			T_EQ_MEM(gd.ranges, ranges, g.n_ranges * 16);
		T_EQ_INT(gd.data_len, g.data_len);
		T_EQ_INT(wire_getblock_encode(again, sizeof(again), &n2, &gd), 0);
		T_EQ_INT(n2, n);
		T_EQ_MEM(again, out, n);

		t_rnd_bytes(&rng, l.id, 16);
		l.data_len = 4 + t_rnd(&rng) % 1211;
		t_rnd_bytes(&rng, data, l.data_len);
		l.data = data;
		T_EQ_INT(wire_lite_encode(out, sizeof(out), &n, &l), 0);
		T_EQ_INT(n, 18 + l.data_len);
		T_EQ_INT(wire_lite_decode(out, n, &ld), 0);
		T_EQ_MEM(ld.id, l.id, 16);
		T_EQ_INT(ld.data_len, l.data_len);
		T_EQ_MEM(ld.data, data, l.data_len);
	}
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_transfer_vector_request_start);
	T_RUN(test_transfer_vector_request_start_range);
	T_RUN(test_transfer_vector_active);
	T_RUN(test_transfer_vector_not_available_and_terminate);
	T_RUN(test_file_transfer_header_vector);
	T_RUN(test_transfer_request_start_is_always_66_and_shorter_is_rejected);
	T_RUN(test_transfer_active_needs_4_udt_bytes);
	T_RUN(test_getblock_vector_request_start);
	T_RUN(test_getblock_vector_active);
	T_RUN(test_getblock_vector_not_available_terminate_empty);
	T_RUN(test_block_transfer_header_vectors);
	T_RUN(test_block_header_rejects_zero_count_and_multi_block_available);
	T_RUN(test_getblock_rejects_each_rule);
	T_RUN(test_lite_packet_vector);
	T_RUN(test_lite_rejects_short_and_oversized_length);
	T_RUN(test_transfer_getblock_lite_random_round_trips);
	return t_done();
}
