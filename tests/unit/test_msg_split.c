/* test_msg_split.c — splitting of oversize Announcements and Responses (§3.11). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blake3.h"
#include "ident.h"
#include "t.h"
#include "wire_msg.h"

static uint8_t part[WIRE_MSG_BUDGET];
static uint8_t single[WIRE_MSG_BUDGET];

static void
buf_index(uint8_t *k, uint32_t i)
{
	k[0] = (uint8_t)i;
	k[1] = (uint8_t)(i >> 8);
	k[2] = (uint8_t)(i >> 16);
	k[3] = (uint8_t)(i >> 24);
}

/* Key i: its index in the first 4 bytes, so order can be checked. */
static void
make_keys(uint8_t *keys, size_t n, uint8_t tag)
{
	size_t i;

	for (i = 0; i < n; i++) {
		memset(keys + 32 * i, tag, 32);
		buf_index(keys + 32 * i, (uint32_t)i);
	}
}

static uint32_t
key_index(const uint8_t *k)
{
	return (uint32_t)k[0] | (uint32_t)k[1] << 8 | (uint32_t)k[2] << 16 |
	    (uint32_t)k[3] << 24;
}

static void
test_announce_5000_find_value_keys_split_into_decodable_parts(void)
{
	static uint8_t keys[5000 * 32];
	struct wire_announce in, a;
	struct wire_announce_split s;
	size_t n, total = 0, i;
	unsigned parts = 0;
	int rc;

	make_keys(keys, 5000, 0xaa);
	memset(&in, 0, sizeof(in));
	in.hdr.actions = WIRE_ACTION_FIND_SELF;
	in.hdr.features = WIRE_FEATURE_IPV4_LISTEN;
	wire_msg_hdr_set_ua(&in.hdr, "peernet-c/0.1");
	in.find_value = keys;
	in.n_find_value = 5000;
	wire_announce_split_init(&s, &in);
	while ((rc = wire_announce_split_next(&s, part, sizeof(part), &n)) == 1) {
		parts++;
		T_ASSERT(n <= WIRE_MSG_BUDGET);
		T_EQ_INT(wire_announce_decode(part, n, &a), 0);
		/* Every part is a complete Announcement: header, UA, FIND_SELF. */
		T_EQ_INT(a.hdr.actions, WIRE_ACTION_FIND_SELF | WIRE_ACTION_FIND_VALUE);
		T_EQ_STR(a.hdr.ua, "peernet-c/0.1");
		T_EQ_INT(a.hdr.features, WIRE_FEATURE_IPV4_LISTEN);
		T_ASSERT(a.n_find_value > 0);
		for (i = 0; i < a.n_find_value; i++)
			T_EQ_INT(key_index(a.find_value + 32 * i), total + i);
		/* (65410 - 24 - 13 - 2) / 32 = 2042 keys in a full part */
		if (total + a.n_find_value < 5000)
			T_EQ_INT(a.n_find_value, 2042);
		total += a.n_find_value;
	}
	T_EQ_INT(rc, 0);
	T_EQ_INT(parts, 3);
	T_EQ_INT(s.parts, 3);
	T_EQ_INT(total, 5000);
}

static void
test_announce_mixed_lists_split_in_order(void)
{
	static uint8_t peers[3000 * 32], values[3000 * 32], store[2000 * 41];
	struct wire_announce in, a;
	struct wire_announce_split s;
	size_t n, tp = 0, tv = 0, ts = 0, i;
	unsigned parts = 0;
	int rc;

	make_keys(peers, 3000, 0x11);
	make_keys(values, 3000, 0x22);
	for (i = 0; i < 2000; i++) {
		memset(store + 41 * i, 0x33, 41);
		buf_index(store + 41 * i, (uint32_t)i);
	}
	memset(&in, 0, sizeof(in));
	in.find_peer = peers;
	in.n_find_peer = 3000;
	in.find_value = values;
	in.n_find_value = 3000;
	in.info_store = store;
	in.n_info_store = 2000;
	wire_announce_split_init(&s, &in);
	while ((rc = wire_announce_split_next(&s, part, sizeof(part), &n)) == 1) {
		parts++;
		T_ASSERT(n <= WIRE_MSG_BUDGET);
		T_EQ_INT(wire_announce_decode(part, n, &a), 0);
		T_ASSERT(a.n_find_peer + a.n_find_value + a.n_info_store > 0);
		/* Lists are consumed in order: no later list before an earlier one ends. */
		if (a.n_find_value > 0)
			T_EQ_INT(tp + a.n_find_peer, 3000);
		if (a.n_info_store > 0)
			T_EQ_INT(tv + a.n_find_value, 3000);
		for (i = 0; i < a.n_find_peer; i++)
			T_EQ_INT(key_index(a.find_peer + 32 * i), tp + i);
		for (i = 0; i < a.n_find_value; i++)
			T_EQ_INT(key_index(a.find_value + 32 * i), tv + i);
		for (i = 0; i < a.n_info_store; i++)
			T_EQ_INT(key_index(a.info_store + 41 * i), ts + i);
		tp += a.n_find_peer;
		tv += a.n_find_value;
		ts += a.n_info_store;
	}
	T_EQ_INT(rc, 0);
	T_EQ_INT(tp, 3000);
	T_EQ_INT(tv, 3000);
	T_EQ_INT(ts, 2000);
	/* 6000*32 + 2000*41 + overheads = ~274 KB: 5 parts */
	T_EQ_INT(parts, 5);
}

static void
test_announce_that_fits_is_one_part_equal_to_plain_encode(void)
{
	static uint8_t keys[2044 * 32];
	struct wire_announce in;
	struct wire_announce_split s;
	size_t n, n1;

	make_keys(keys, 2044, 0x44);
	memset(&in, 0, sizeof(in));
	/* UA of 8 bytes: 24 + 8 + 2 + 2043 * 32 = 65410 exactly. */
	wire_msg_hdr_set_ua(&in.hdr, "12345678");
	in.find_peer = keys;
	in.n_find_peer = 2043;
	T_EQ_INT(wire_announce_encode(single, sizeof(single), &n1, &in), 0);
	T_EQ_INT(n1, WIRE_MSG_BUDGET);
	wire_announce_split_init(&s, &in);
	T_EQ_INT(wire_announce_split_next(&s, part, sizeof(part), &n), 1);
	T_EQ_INT(n, n1);
	T_EQ_MEM(part, single, n);
	T_EQ_INT(wire_announce_split_next(&s, part, sizeof(part), &n), 0);
	/* One more key: two parts. */
	in.n_find_peer = 2044;
	wire_announce_split_init(&s, &in);
	T_EQ_INT(wire_announce_split_next(&s, part, sizeof(part), &n), 1);
	T_EQ_INT(n, WIRE_MSG_BUDGET);
	T_EQ_INT(wire_announce_split_next(&s, part, sizeof(part), &n), 1);
	T_EQ_INT(n, 24 + 8 + 2 + 32);
	T_EQ_INT(wire_announce_split_next(&s, part, sizeof(part), &n), 0);
	/* No lists at all: one bare header. */
	memset(&in, 0, sizeof(in));
	wire_announce_split_init(&s, &in);
	T_EQ_INT(wire_announce_split_next(&s, part, sizeof(part), &n), 1);
	T_EQ_INT(n, 24);
	T_EQ_INT(wire_announce_split_next(&s, part, sizeof(part), &n), 0);
	/* A buffer smaller than the budget is refused up front. */
	wire_announce_split_init(&s, &in);
	T_EQ_INT(wire_announce_split_next(&s, part, 1000, &n), WIRE_MSG_ERR_BUF);
}

/* A pool of valid peer records. */
static struct wire_peer_record recs[8];

static void
make_records(void)
{
	struct ident k;
	uint8_t priv[32];
	size_t i;

	for (i = 0; i < 8; i++) {
		memset(priv, (int)(0x31 + i), 32);
		ident_from_priv(&k, priv);
		memset(&recs[i], 0, sizeof(recs[i]));
		memcpy(recs[i].peer_id, k.pub, 33);
		recs[i].ipv4[0] = 10;
		recs[i].ipv4[3] = (uint8_t)i;
		recs[i].ipv4_port = recs[i].ipv4_port_internal = 112;
		recs[i].features = 1;
		recs[i].reason = i < 2 ? WIRE_REASON_STORE : WIRE_REASON_CLOSE;
	}
}

static void
test_response_split_into_parts_with_only_last_sequence_last(void)
{
	static uint8_t keys[1500 * 32], nf[2500 * 32], fdata[5][20000];
	static struct wire_h2p_in h[1500];
	struct wire_embedded_file f[5], fv;
	struct wire_response_in in;
	struct wire_response_split s;
	struct wire_response r;
	struct wire_response_iter it;
	struct wire_h2p_view hv;
	size_t n, th = 0, tf = 0, tn = 0, i;
	unsigned parts = 0, last_seen = 0;
	int rc;

	make_records();
	make_keys(keys, 1500, 0x55);
	make_keys(nf, 2500, 0x66);
	for (i = 0; i < 1500; i++) {
		memset(&h[i], 0, sizeof(h[i]));
		h[i].key = keys + 32 * i;
		h[i].records = recs;
		h[i].n_records = 1 + i % 8;	/* 104 .. 594 bytes */
	}
	for (i = 0; i < 5; i++) {
		memset(fdata[i], (int)i, sizeof(fdata[i]));
		f[i].data = fdata[i];
		f[i].len = sizeof(fdata[i]);
		f[i].hash = NULL;
	}
	memset(&in, 0, sizeof(in));
	wire_msg_hdr_set_ua(&in.hdr, "UA/2");
	in.hdr.blockchain_height = 77;
	in.h2p = h;
	in.n_h2p = 1500;
	in.files = f;
	in.n_files = 5;
	in.notfound = nf;
	in.n_notfound = 2500;
	wire_response_split_init(&s, &in);
	while ((rc = wire_response_split_next(&s, part, sizeof(part), &n)) == 1) {
		parts++;
		T_ASSERT(n <= WIRE_MSG_BUDGET);
		T_EQ_INT(wire_response_decode(part, n, &r), 0);
		T_EQ_STR(r.hdr.ua, "UA/2");
		T_EQ_U64(r.hdr.blockchain_height, 77);
		T_ASSERT(last_seen == 0);
		if (r.hdr.actions & WIRE_ACTION_SEQUENCE_LAST)
			last_seen = parts;
		/* Each Hash2Peer record is whole, in order, IS_LAST set. */
		wire_response_h2p_begin(&r, &it);
		while (wire_response_h2p_next(&it, &hv) == 1) {
			T_EQ_INT(key_index(hv.key), th);
			T_EQ_INT(hv.n_records, 1 + th % 8);
			T_ASSERT(hv.is_last);
			th++;
		}
		wire_response_file_begin(&r, &it);
		while (wire_response_file_next(&it, &fv) == 1) {
			T_EQ_INT(fv.len, 20000);
			T_EQ_INT(fv.data[0], tf);
			tf++;
		}
		for (i = 0; i < r.n_notfound; i++)
			T_EQ_INT(key_index(r.notfound + 32 * i), tn + i);
		tn += r.n_notfound;
		/* A non-last part is closed only when the next item does not fit. */
		if (!(r.hdr.actions & WIRE_ACTION_SEQUENCE_LAST)) {
			size_t next = th < 1500 ? 34 + 70 * (1 + th % 8) :
			    tf < 5 ? 34 + 20000 : 32;

			T_ASSERT(n + next > WIRE_MSG_BUDGET);
		}
	}
	T_EQ_INT(rc, 0);
	T_EQ_INT(th, 1500);
	T_EQ_INT(tf, 5);
	T_EQ_INT(tn, 2500);
	T_EQ_INT(last_seen, parts);
	/* 522940 + 100170 + 80000 item bytes, 65376 per part: 11 parts */
	T_EQ_INT(parts, 11);
	T_EQ_INT(s.parts, parts);
}

static void
test_response_split_two_parts_of_peer_records(void)
{
	static uint8_t keys[700 * 32];
	static struct wire_h2p_in h[700];
	struct wire_response_in in;
	struct wire_response_split s;
	struct wire_response r;
	size_t n, i;
	int rc;

	make_records();
	make_keys(keys, 700, 0x77);
	for (i = 0; i < 700; i++) {
		memset(&h[i], 0, sizeof(h[i]));
		h[i].key = keys + 32 * i;
		h[i].records = recs + 2;
		h[i].n_records = 1;
	}
	memset(&in, 0, sizeof(in));
	in.h2p = h;
	in.n_h2p = 700;
	wire_response_split_init(&s, &in);
	/* (65410 - 30) / 104 = 628 records in the first part, 72 in the second. */
	T_EQ_INT(wire_response_split_next(&s, part, sizeof(part), &n), 1);
	T_EQ_INT(wire_response_decode(part, n, &r), 0);
	T_EQ_INT(r.n_h2p, 628);
	T_EQ_INT(n, 30 + 628 * 104);
	T_EQ_INT(r.hdr.actions & WIRE_ACTION_SEQUENCE_LAST, 0);
	T_EQ_INT(wire_response_split_next(&s, part, sizeof(part), &n), 1);
	T_EQ_INT(wire_response_decode(part, n, &r), 0);
	T_EQ_INT(r.n_h2p, 72);
	T_EQ_INT(key_index(r.h2p), 628);
	T_EQ_INT(r.hdr.actions & WIRE_ACTION_SEQUENCE_LAST, WIRE_ACTION_SEQUENCE_LAST);
	rc = wire_response_split_next(&s, part, sizeof(part), &n);
	T_EQ_INT(rc, 0);
}

static void
test_response_split_single_and_empty_parts(void)
{
	static uint8_t nf[2043 * 32];
	struct wire_response_in in;
	struct wire_response_split s;
	struct wire_response r;
	size_t n, n1;
	int i;

	/* Empty response: one part, SEQUENCE_LAST, counts 0. */
	memset(&in, 0, sizeof(in));
	wire_response_split_init(&s, &in);
	T_EQ_INT(wire_response_split_next(&s, part, sizeof(part), &n), 1);
	T_EQ_INT(n, 30);
	T_EQ_INT(wire_response_decode(part, n, &r), 0);
	T_EQ_INT(r.hdr.actions, WIRE_ACTION_SEQUENCE_LAST);
	T_EQ_INT(wire_response_split_next(&s, part, sizeof(part), &n), 0);

	/* UA 36 bytes: 30 + 36 + 2042 * 32 = 65410 exactly, one part. */
	make_keys(nf, 2043, 0x99);
	for (i = 0; i < 36; i++)
		in.hdr.ua[i] = 'u';
	in.hdr.ua[36] = '\0';
	in.hdr.ua_len = 36;
	in.notfound = nf;
	in.n_notfound = 2042;
	in.hdr.actions = WIRE_ACTION_SEQUENCE_LAST;
	T_EQ_INT(wire_response_encode(single, sizeof(single), &n1, &in), 0);
	T_EQ_INT(n1, WIRE_MSG_BUDGET);
	in.hdr.actions = 0;	/* the splitter sets the bit itself */
	wire_response_split_init(&s, &in);
	T_EQ_INT(wire_response_split_next(&s, part, sizeof(part), &n), 1);
	T_EQ_INT(n, n1);
	T_EQ_MEM(part, single, n);
	T_EQ_INT(wire_response_split_next(&s, part, sizeof(part), &n), 0);
	/* One more hash: the not-found list continues in a second part (§12.6). */
	in.n_notfound = 2043;
	wire_response_split_init(&s, &in);
	T_EQ_INT(wire_response_split_next(&s, part, sizeof(part), &n), 1);
	T_EQ_INT(wire_response_decode(part, n, &r), 0);
	T_EQ_INT(r.n_notfound, 2042);
	T_EQ_INT(r.hdr.actions & WIRE_ACTION_SEQUENCE_LAST, 0);
	T_EQ_INT(wire_response_split_next(&s, part, sizeof(part), &n), 1);
	T_EQ_INT(wire_response_decode(part, n, &r), 0);
	T_EQ_INT(r.n_notfound, 1);
	T_EQ_INT(key_index(r.notfound), 2042);
	T_EQ_INT(r.hdr.actions & WIRE_ACTION_SEQUENCE_LAST, WIRE_ACTION_SEQUENCE_LAST);
	T_EQ_INT(wire_response_split_next(&s, part, sizeof(part), &n), 0);
}

static void
test_response_split_refuses_items_that_never_fit(void)
{
	static uint8_t big[WIRE_EMBEDDED_FILE_MAX];
	static uint8_t key[32];
	static struct wire_peer_record many[1000];
	struct wire_embedded_file f;
	struct wire_h2p_in h;
	struct wire_response_in in;
	struct wire_response_split s;
	struct wire_response r;
	size_t n, i;

	/* 30 + 34 + 65349 = 65413 > 65410: the reference loops forever here. */
	memset(&in, 0, sizeof(in));
	f.hash = NULL;
	f.data = big;
	f.len = sizeof(big);
	in.files = &f;
	in.n_files = 1;
	wire_response_split_init(&s, &in);
	T_EQ_INT(wire_response_split_next(&s, part, sizeof(part), &n), WIRE_MSG_ERR_TOO_BIG);
	T_EQ_INT(wire_response_split_next(&s, part, sizeof(part), &n), 0);
	f.len = WIRE_MSG_BUDGET - 30 - 34;
	wire_response_split_init(&s, &in);
	T_EQ_INT(wire_response_split_next(&s, part, sizeof(part), &n), 1);
	T_EQ_INT(n, WIRE_MSG_BUDGET);
	T_EQ_INT(wire_response_decode(part, n, &r), 0);
	T_EQ_INT(r.n_files, 1);

	/* A Hash2Peer record with 1000 peers (70034 bytes) fits no part. */
	make_records();
	for (i = 0; i < 1000; i++)
		many[i] = recs[i % 8];
	memset(&h, 0, sizeof(h));
	h.key = key;
	h.records = many;
	h.n_records = 1000;
	memset(&in, 0, sizeof(in));
	in.h2p = &h;
	in.n_h2p = 1;
	wire_response_split_init(&s, &in);
	T_EQ_INT(wire_response_split_next(&s, part, sizeof(part), &n), WIRE_MSG_ERR_TOO_BIG);
	h.n_records = WIRE_H2P_RECORDS_MAX + 1;
	wire_response_split_init(&s, &in);
	T_EQ_INT(wire_response_split_next(&s, part, sizeof(part), &n), WIRE_MSG_ERR_TOO_MANY);
	/* 933 peers: 30 + 34 + 933 * 70 = 65374 fits one part. */
	h.n_records = 933;
	wire_response_split_init(&s, &in);
	T_EQ_INT(wire_response_split_next(&s, part, sizeof(part), &n), 1);
	T_EQ_INT(wire_response_decode(part, n, &r), 0);
	T_EQ_INT(r.n_h2p, 1);
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_announce_5000_find_value_keys_split_into_decodable_parts);
	T_RUN(test_announce_mixed_lists_split_in_order);
	T_RUN(test_announce_that_fits_is_one_part_equal_to_plain_encode);
	T_RUN(test_response_split_into_parts_with_only_last_sequence_last);
	T_RUN(test_response_split_two_parts_of_peer_records);
	T_RUN(test_response_split_single_and_empty_parts);
	T_RUN(test_response_split_refuses_items_that_never_fit);
	return t_done();
}
