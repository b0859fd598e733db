/* test_msg_response.c — Response (§3.3) and peer records (§3.4). */
#include <arpa/inet.h>
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
static uint8_t out2[WIRE_MSG_BUDGET];
static uint64_t rng = 0x1234567887654321ULL;

/* A JSON peer record (the reference decoder's view) as our struct. */
static int
record_from_json(json_t *j, uint8_t reason, struct wire_peer_record *r)
{
	memset(r, 0, sizeof(*r));
	if (tvec_hex_exact(j, "public_key", r->peer_id, 33) != 0 ||
	    tvec_hex_exact(j, "node_id", r->node_id, 32) != 0 ||
	    inet_pton(AF_INET, tvec_str(j, "ipv4"), r->ipv4) != 1 ||
	    inet_pton(AF_INET6, tvec_str(j, "ipv6"), r->ipv6) != 1)
		return -1;
	r->ipv4_port = (uint16_t)tvec_u64(j, "ipv4_port");
	r->ipv4_port_internal = (uint16_t)tvec_u64(j, "ipv4_port_reported_internal");
	r->ipv4_port_external = (uint16_t)tvec_u64(j, "ipv4_port_reported_external");
	r->ipv6_port = (uint16_t)tvec_u64(j, "ipv6_port");
	r->ipv6_port_internal = (uint16_t)tvec_u64(j, "ipv6_port_reported_internal");
	r->ipv6_port_external = (uint16_t)tvec_u64(j, "ipv6_port_reported_external");
	r->last_contact = (uint32_t)tvec_u64(j, "last_contact_seconds");
	r->features = (uint8_t)tvec_u64(j, "features");
	r->reason = reason;
	return 0;
}

static void
check_record(const struct wire_peer_record *got, const struct wire_peer_record *want)
{
	T_EQ_MEM(got->peer_id, want->peer_id, 33);
	T_EQ_MEM(got->node_id, want->node_id, 32);
	T_EQ_MEM(got->ipv4, want->ipv4, 4);
	T_EQ_INT(got->ipv4_port, want->ipv4_port);
	T_EQ_INT(got->ipv4_port_internal, want->ipv4_port_internal);
	T_EQ_INT(got->ipv4_port_external, want->ipv4_port_external);
	T_EQ_MEM(got->ipv6, want->ipv6, 16);
	T_EQ_INT(got->ipv6_port, want->ipv6_port);
	T_EQ_INT(got->ipv6_port_internal, want->ipv6_port_internal);
	T_EQ_INT(got->ipv6_port_external, want->ipv6_port_external);
	T_EQ_U64(got->last_contact, want->last_contact);
	T_EQ_INT(got->features, want->features);
	T_EQ_INT(got->reason, want->reason);
}

/* The payload of the vectors' response case `name` into raw, its "decoded"
 * object into *d (if d); the length, or -1 when absent or not hex. */
static long
response_payload(json_t *v, const char *name, uint8_t *raw, size_t cap,
    json_t **d)
{
	json_t *pk = tvec_case_packet(json_object_get(v, "response"), name);

	if (pk == NULL)
		return -1;
	if (d != NULL)
		*d = json_object_get(pk, "decoded");
	return hex_decode(raw, cap, tvec_str(pk, "payload"));
}

/* A decoded header's fields as the vector's "decoded" object has them. */
static void
hdr_is(const struct wire_msg_hdr *h, json_t *d)
{
	T_EQ_INT(h->features, tvec_u64(d, "features"));
	T_EQ_INT(h->actions, tvec_u64(d, "actions"));
	T_EQ_U64(h->blockchain_height, tvec_u64(d, "blockchain_height"));
	T_EQ_U64(h->blockchain_version, tvec_u64(d, "blockchain_version"));
	T_EQ_INT(h->port_internal, tvec_u64(d, "port_internal"));
	T_EQ_INT(h->port_external, tvec_u64(d, "port_external"));
}

/* in, encoded with the reported ports, is want[0..len) to the byte. */
static void
encodes_to(const struct wire_response_in *in, uint16_t internal,
    uint16_t external, const uint8_t *want, size_t len)
{
	size_t n;

	T_EQ_INT(wire_response_encode(out, sizeof(out), &n, in), 0);
	T_EQ_INT(wire_msg_set_ports(out, n, internal, external), 0);
	T_EQ_U64(n, len);
	T_EQ_MEM(out, want, len);
}

static void
test_response_vector_empty_with_user_agent(void)
{
	json_t *v = tvec_load("messages.json"), *d;
	struct wire_response_in in;
	struct wire_response r;
	uint8_t raw[128];
	long len;

	T_ASSERT(v != NULL);
	len = response_payload(v, "empty_with_user_agent", raw, sizeof(raw), &d);
	T_EQ_INT(len, 60);
	T_EQ_INT(wire_response_decode(raw, (size_t)len, &r), 0);
	T_EQ_INT(r.hdr.protocol, tvec_u64(d, "protocol"));
	hdr_is(&r.hdr, d);
	T_ASSERT(r.hdr.actions & WIRE_ACTION_SEQUENCE_LAST);
	T_ASSERT(json_is_true(json_object_get(d, "is_last")));
	T_EQ_STR(r.hdr.ua, tvec_str(d, "user_agent"));
	T_EQ_INT(r.n_h2p, 0);
	T_EQ_INT(r.n_files, 0);
	T_EQ_INT(r.n_notfound, 0);

	memset(&in, 0, sizeof(in));
	in.hdr.features = 1;
	in.hdr.blockchain_height = 5;
	in.hdr.blockchain_version = 2;
	in.hdr.actions = WIRE_ACTION_SEQUENCE_LAST;
	wire_msg_hdr_set_ua(&in.hdr, "Peernet Cmd/Alpha 9/01.11.2022");
	encodes_to(&in, 7002, 0, raw, 60);
	json_decref(v);
}

static void
test_response_vector_peers_embedded_notfound(void)
{
	json_t *v = tvec_load("messages.json"), *d, *h, *lst, *j;
	struct wire_peer_record recs[2][3], got;
	struct wire_h2p_in hin[2];
	struct wire_embedded_file fin[2], f;
	struct wire_response_in in;
	struct wire_response r;
	struct wire_response_iter it;
	struct wire_h2p_view hv;
	uint8_t raw[1024], key[2][32], pat[300], nf[64], want[32], data[400];
	size_t i, k, m, n, nrec[2];
	long len;

	T_ASSERT(v != NULL);
	len = response_payload(v, "peers_embedded_notfound", raw, sizeof(raw), &d);
	T_EQ_INT(len, 814);
	T_EQ_INT(wire_response_decode(raw, (size_t)len, &r), 0);
	hdr_is(&r.hdr, d);
	T_EQ_INT(r.hdr.ua_len, 0);

	/* Hash2Peer records: storing first, then closest, each field checked. */
	lst = json_object_get(d, "hash2peers");
	T_EQ_INT(r.n_h2p, json_array_size(lst));
	wire_response_h2p_begin(&r, &it);
	json_array_foreach(lst, i, h) {
		T_ASSERT(wire_response_h2p_next(&it, &hv) == 1);
		T_ASSERT(tvec_hex_exact(h, "hash", key[i], 32) == 0);
		T_EQ_MEM(hv.key, key[i], 32);
		T_EQ_INT(hv.is_last, json_is_true(json_object_get(h, "is_last")));
		m = 0;
		json_array_foreach(json_object_get(h, "storing"), k, j)
			T_ASSERT(record_from_json(j, WIRE_REASON_STORE, &recs[i][m++]) == 0);
		json_array_foreach(json_object_get(h, "closest"), k, j)
			T_ASSERT(record_from_json(j, WIRE_REASON_CLOSE, &recs[i][m++]) == 0);
		T_EQ_INT(hv.n_records, m);
		nrec[i] = m;
		for (k = 0; k < m; k++) {
			T_EQ_INT(wire_peer_record_decode(hv.records + 70 * k, &got), 0);
			check_record(&got, &recs[i][k]);
			if (t_case_failed)
				return;
		}
	}
	T_ASSERT(wire_response_h2p_next(&it, &hv) == 0);

	lst = json_object_get(d, "files_embedded");
	T_EQ_INT(r.n_files, json_array_size(lst));
	wire_response_file_begin(&r, &it);
	json_array_foreach(lst, i, j) {
		T_ASSERT(wire_response_file_next(&it, &f) == 1);
		T_ASSERT(tvec_hex_exact(j, "hash", want, 32) == 0);
		T_EQ_MEM(f.hash, want, 32);
		n = (size_t)hex_decode(data, sizeof(data), tvec_str(j, "data"));
		T_EQ_INT(f.len, n);
		T_EQ_MEM(f.data, data, n);
	}
	T_ASSERT(wire_response_file_next(&it, &f) == 0);

	lst = json_object_get(d, "hashes_not_found");
	T_EQ_INT(r.n_notfound, json_array_size(lst));
	json_array_foreach(lst, i, j) {
		T_ASSERT(hex_decode(want, 32, json_string_value(j)) == 32);
		T_EQ_MEM(r.notfound + 32 * i, want, 32);
	}

	/* Re-encode from the inputs of the reference call. */
	blake3_hash("file-1", 6, want);
	T_EQ_MEM(key[0], want, 32);
	tvec_pattern(pat, sizeof(pat));
	memset(fin, 0, sizeof(fin));
	fin[0].data = (const uint8_t *)"test";
	fin[0].len = 4;
	fin[1].data = pat;
	fin[1].len = sizeof(pat);	/* hash NULL: the encoder computes it */
	blake3_hash("NA", 2, nf);
	blake3_hash("NA2", 3, nf + 32);
	memset(hin, 0, sizeof(hin));
	for (i = 0; i < 2; i++) {
		hin[i].key = key[i];
		hin[i].records = recs[i];
		hin[i].n_records = nrec[i];
	}
	memset(&in, 0, sizeof(in));
	in.hdr.features = 3;
	in.hdr.blockchain_height = 1;
	in.hdr.actions = WIRE_ACTION_SEQUENCE_LAST;
	in.h2p = hin;
	in.n_h2p = 2;
	in.files = fin;
	in.n_files = 2;
	in.notfound = nf;
	in.n_notfound = 2;
	encodes_to(&in, 7002, 7002, raw, 814);
	json_decref(v);
}

/* The reference vector bytes, for the rejection tests. */
static size_t
vector_payload(uint8_t *raw, size_t cap)
{
	json_t *v = tvec_load("messages.json");
	long len;

	if (v == NULL)
		return 0;
	len = response_payload(v, "peers_embedded_notfound", raw, cap, NULL);
	json_decref(v);
	return len < 0 ? 0 : (size_t)len;
}

static void
test_response_every_truncation_gives_its_section_error(void)
{
	struct wire_response r;
	uint8_t raw[1024];
	size_t len = vector_payload(raw, sizeof(raw)), l;
	/* 30 header+counts, h2p 34+3*70 + 34+70 = 348, files 38 + 334 = 372, 64 not found */
	const size_t h2p_end = 30 + 348, files_end = h2p_end + 372;
	int want, got;

	T_EQ_INT(len, 814);
	T_EQ_INT(files_end + 64, len);
	for (l = 0; l < len; l++) {
		if (l < 30)
			want = WIRE_MSG_ERR_SHORT;
		else if (l < h2p_end)
			want = WIRE_MSG_ERR_H2P_TRUNC;
		else if (l < files_end)
			want = WIRE_MSG_ERR_FILE_TRUNC;
		else
			want = WIRE_MSG_ERR_NOTFOUND_TRUNC;
		if ((got = wire_response_decode(raw, l, &r)) != want)
			T_FAIL("length %zu: got %d, want %d", l, got, want);
	}
	/* Trailing bytes after the last section are ignored. */
	raw[len] = 0xaa;
	T_EQ_INT(wire_response_decode(raw, len + 1, &r), 0);
}

static void
test_response_rejects_ua_longer_than_payload_and_missing_counts(void)
{
	struct wire_response r;
	uint8_t p[64];

	memset(p, 0, sizeof(p));
	memset(p + 24, 'u', 10);
	p[23] = 10;
	T_EQ_INT(wire_response_decode(p, 40, &r), 0);
	/* 34 >= 24 + U but < 30 + U: the reference crashes here (§12.1), we drop. */
	T_EQ_INT(wire_response_decode(p, 39, &r), WIRE_MSG_ERR_COUNTS);
	T_EQ_INT(wire_response_decode(p, 34, &r), WIRE_MSG_ERR_COUNTS);
	T_EQ_INT(wire_response_decode(p, 33, &r), WIRE_MSG_ERR_UA_LEN);
	p[23] = 40;
	T_EQ_INT(wire_response_decode(p, 63, &r), WIRE_MSG_ERR_UA_LEN);
	T_EQ_INT(wire_response_decode(p, 29, &r), WIRE_MSG_ERR_SHORT);
	p[23] = 2;
	p[24] = 0xc3;
	p[25] = 0x28;
	T_EQ_INT(wire_response_decode(p, 40, &r), WIRE_MSG_ERR_UA_UTF8);
}

static void
test_response_rejects_embedded_file_with_wrong_hash(void)
{
	struct wire_response r;
	uint8_t raw[1024];
	size_t len = vector_payload(raw, sizeof(raw));

	T_EQ_INT(len, 814);
	raw[378 + 34] ^= 1;	/* first byte of "test" */
	T_EQ_INT(wire_response_decode(raw, len, &r), WIRE_MSG_ERR_FILE_HASH);
	raw[378 + 34] ^= 1;
	raw[378 + 5] ^= 0x80;	/* the hash itself */
	T_EQ_INT(wire_response_decode(raw, len, &r), WIRE_MSG_ERR_FILE_HASH);
}

static void
test_response_rejects_invalid_peer_id(void)
{
	struct wire_response r;
	struct wire_peer_record pr;
	uint8_t raw[1024];
	size_t len = vector_payload(raw, sizeof(raw));
	const size_t rec0 = 30 + 34;

	T_EQ_INT(len, 814);
	raw[rec0] = 0x04;	/* not a compressed prefix */
	T_EQ_INT(wire_response_decode(raw, len, &r), WIRE_MSG_ERR_PEER_ID);
	T_EQ_INT(wire_peer_record_decode(raw + rec0, &pr), WIRE_MSG_ERR_PEER_ID);
	raw[rec0] = 0x03;
	memset(raw + rec0 + 1, 0xff, 32);	/* x >= p */
	T_EQ_INT(wire_response_decode(raw, len, &r), WIRE_MSG_ERR_PEER_ID);
	/* x = 5 is not on the curve (5^3 + 7 = 132 is not a square mod p). */
	memset(raw + rec0 + 1, 0, 32);
	raw[rec0 + 32] = 5;
	T_EQ_INT(wire_response_decode(raw, len, &r), WIRE_MSG_ERR_PEER_ID);
}

static void
test_response_rejects_ipv4_mapped_ipv6(void)
{
	struct wire_response r;
	uint8_t raw[1024];
	size_t len = vector_payload(raw, sizeof(raw));
	const size_t rec2 = 30 + 34 + 2 * 70;	/* 'one', IPv6 2001:db8::1 */
	static const uint8_t mapped[16] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1
	};

	T_EQ_INT(len, 814);
	memcpy(raw + rec2 + 43, mapped, 16);
	T_EQ_INT(wire_response_decode(raw, len, &r), WIRE_MSG_ERR_IPV6_MAPPED);
	/* ::ffff:0:0/96 only: ::1 and 0:0:0:0:0:fffe:: are fine. */
	raw[rec2 + 43 + 11] = 0xfe;
	T_EQ_INT(wire_response_decode(raw, len, &r), 0);
}

static void
test_response_all_counts_zero_is_valid(void)
{
	struct wire_response r;
	uint8_t p[30];

	memset(p, 0, sizeof(p));
	T_EQ_INT(wire_response_decode(p, sizeof(p), &r), 0);
	T_EQ_INT(r.n_h2p + r.n_files + r.n_notfound, 0);
}

static void
test_peer_record_reason_is_bit_7_and_features_7_bits(void)
{
	struct wire_peer_record in, o;
	uint8_t rec[70], priv[32];
	struct ident k;

	memset(priv, 0x11, 32);
	T_EQ_INT(ident_from_priv(&k, priv), 0);
	memset(&in, 0, sizeof(in));
	memcpy(in.peer_id, k.pub, 33);
	in.features = 0xff;
	in.reason = WIRE_REASON_STORE;
	T_EQ_INT(wire_peer_record_encode(rec, &in), 0);
	T_EQ_INT(rec[69], 0xff);
	T_EQ_INT(wire_peer_record_decode(rec, &o), 0);
	T_EQ_INT(o.features, 0x7f);
	T_EQ_INT(o.reason, 1);
	T_EQ_MEM(o.node_id, k.node_id, 32);
	in.features = 3;
	in.reason = WIRE_REASON_CLOSE;
	T_EQ_INT(wire_peer_record_encode(rec, &in), 0);
	T_EQ_INT(rec[69], 3);
	in.reason = 2;
	T_EQ_INT(wire_peer_record_encode(rec, &in), WIRE_MSG_ERR_ARG);
}

static void
test_response_encoder_refuses_what_receivers_drop(void)
{
	struct wire_peer_record pr;
	struct wire_h2p_in h;
	struct wire_embedded_file f;
	struct wire_response_in in;
	uint8_t key[32] = { 0 }, priv[32], bad[32];
	static uint8_t big[WIRE_EMBEDDED_FILE_MAX + 1];
	struct ident k;
	size_t n;

	memset(priv, 0x22, 32);
	ident_from_priv(&k, priv);
	memset(&pr, 0, sizeof(pr));
	memcpy(pr.peer_id, k.pub, 33);
	memset(&h, 0, sizeof(h));
	h.key = key;
	h.records = &pr;
	h.n_records = 1;
	memset(&in, 0, sizeof(in));
	in.h2p = &h;
	in.n_h2p = 1;
	T_EQ_INT(wire_response_encode(out, sizeof(out), &n, &in), 0);
	T_EQ_INT(n, 30 + 34 + 70);
	T_EQ_INT(out[24], 1);
	T_EQ_INT(out[30 + 32], 1);	/* 1 record... */
	T_EQ_INT(out[30 + 33], 0x80);	/* ...and IS_LAST */
	pr.ipv6[10] = pr.ipv6[11] = 0xff;
	T_EQ_INT(wire_response_encode(out, sizeof(out), &n, &in), WIRE_MSG_ERR_IPV6_MAPPED);
	pr.ipv6[10] = pr.ipv6[11] = 0;
	pr.peer_id[0] = 0x05;
	T_EQ_INT(wire_response_encode(out, sizeof(out), &n, &in), WIRE_MSG_ERR_PEER_ID);
	pr.peer_id[0] = k.pub[0];
	h.n_records = WIRE_H2P_RECORDS_MAX + 1;
	T_EQ_INT(wire_response_encode(out, sizeof(out), &n, &in), WIRE_MSG_ERR_TOO_MANY);
	h.n_records = 1;
	T_EQ_INT(wire_response_encode(out, 30 + 34 + 69, &n, &in), WIRE_MSG_ERR_BUF);

	memset(&f, 0, sizeof(f));
	f.data = (const uint8_t *)"data";
	f.len = 4;
	memset(bad, 0x5a, 32);
	f.hash = bad;
	in.n_h2p = 0;
	in.files = &f;
	in.n_files = 1;
	T_EQ_INT(wire_response_encode(out, sizeof(out), &n, &in), WIRE_MSG_ERR_FILE_HASH);
	f.hash = NULL;
	f.data = big;
	f.len = sizeof(big);
	T_EQ_INT(wire_response_encode(out, sizeof(out), &n, &in), WIRE_MSG_ERR_FILE_SIZE);
}

static void
test_response_random_round_trips(void)
{
	static struct ident pool[8];
	static struct wire_peer_record recs[64];
	static uint8_t keys[16][32], fdata[4][300], nf[40 * 32];
	struct wire_h2p_in h[16];
	struct wire_embedded_file f[4], fv;
	struct wire_response_in in;
	struct wire_response r;
	struct wire_response_iter it;
	struct wire_h2p_view hv;
	struct wire_peer_record got;
	uint8_t priv[32];
	size_t i, k, used, n, n2;
	int iter;

	for (i = 0; i < 8; i++) {
		do
			t_rnd_bytes(&rng, priv, 32);
		while (ident_from_priv(&pool[i], priv) != 0);
	}
	for (iter = 0; iter < 300; iter++) {
		memset(&in, 0, sizeof(in));
		in.hdr.features = (uint8_t)t_rnd(&rng);
		in.hdr.actions = (uint8_t)t_rnd(&rng);
		in.hdr.blockchain_height = t_rnd(&rng);
		in.hdr.blockchain_version = t_rnd(&rng);
		in.hdr.ua_len = (uint8_t)(t_rnd(&rng) % 40);
		memset(in.hdr.ua, 'a' + (int)(t_rnd(&rng) % 26), in.hdr.ua_len);
		in.hdr.ua[in.hdr.ua_len] = '\0';
		in.n_h2p = t_rnd(&rng) % 17;
		used = 0;
		for (i = 0; i < in.n_h2p; i++) {
			t_rnd_bytes(&rng, keys[i], 32);
			h[i].key = keys[i];
			h[i].n_records = t_rnd(&rng) % 5;
			if (used + h[i].n_records > 64)
				h[i].n_records = 0;
			h[i].records = recs + used;
			h[i].more_follow = (int)(t_rnd(&rng) % 2);
			for (k = 0; k < h[i].n_records; k++) {
				struct wire_peer_record *p = &recs[used + k];

				t_rnd_bytes(&rng, (uint8_t *)p, sizeof(*p));
				memcpy(p->peer_id, pool[t_rnd(&rng) % 8].pub, 33);
				p->ipv6[10] = 0;	/* never IPv4-mapped */
				p->features &= 0x7f;
				p->reason = (uint8_t)(t_rnd(&rng) % 2);
			}
			used += h[i].n_records;
		}
		in.h2p = h;
		in.n_files = t_rnd(&rng) % 5;
		for (i = 0; i < in.n_files; i++) {
			f[i].len = t_rnd(&rng) % 301;
			t_rnd_bytes(&rng, fdata[i], f[i].len);
			f[i].data = fdata[i];
			f[i].hash = NULL;
		}
		in.files = f;
		in.n_notfound = t_rnd(&rng) % 41;
		t_rnd_bytes(&rng, nf, in.n_notfound * 32);
		in.notfound = nf;

		T_EQ_INT(wire_response_encode(out, sizeof(out), &n, &in), 0);
		T_EQ_INT(wire_response_decode(out, n, &r), 0);
		T_EQ_INT(r.hdr.actions, in.hdr.actions);
		T_EQ_U64(r.hdr.blockchain_height, in.hdr.blockchain_height);
		T_EQ_U64(r.hdr.blockchain_version, in.hdr.blockchain_version);
		T_EQ_INT(r.hdr.features, in.hdr.features);
		T_EQ_STR(r.hdr.ua, in.hdr.ua);
		T_EQ_INT(r.n_h2p, in.n_h2p);
		T_EQ_INT(r.n_files, in.n_files);
		T_EQ_INT(r.n_notfound, in.n_notfound);
		wire_response_h2p_begin(&r, &it);
		for (i = 0; i < in.n_h2p; i++) {
			T_ASSERT(wire_response_h2p_next(&it, &hv) == 1);
			T_EQ_MEM(hv.key, keys[i], 32);
			T_EQ_INT(hv.is_last, !h[i].more_follow);
			T_EQ_INT(hv.n_records, h[i].n_records);
			for (k = 0; k < hv.n_records; k++) {
				struct wire_peer_record want = h[i].records[k];

				T_EQ_INT(wire_peer_record_decode(hv.records + 70 * k, &got), 0);
				ident_node_id(want.peer_id, want.node_id);
				check_record(&got, &want);
				if (t_case_failed)
					return;
			}
		}
		T_ASSERT(wire_response_h2p_next(&it, &hv) == 0);
		wire_response_file_begin(&r, &it);
		for (i = 0; i < in.n_files; i++) {
			T_ASSERT(wire_response_file_next(&it, &fv) == 1);
			T_EQ_INT(fv.len, f[i].len);
			T_EQ_MEM(fv.data, f[i].data, f[i].len);
		}
		T_ASSERT(wire_response_file_next(&it, &fv) == 0);
		T_EQ_MEM(r.notfound, nf, in.n_notfound * 32);

		/* The embedded hashes written by the encoder are accepted as given. */
		for (i = 0; i < in.n_files; i++)
			f[i].hash = out + 0;	/* wrong on purpose */
		if (in.n_files > 0)
			T_EQ_INT(wire_response_encode(out2, sizeof(out2), &n2, &in),
			    WIRE_MSG_ERR_FILE_HASH);
		wire_response_file_begin(&r, &it);
		for (i = 0; i < in.n_files; i++) {
			wire_response_file_next(&it, &fv);
			f[i].hash = fv.hash;
		}
		T_EQ_INT(wire_response_encode(out2, sizeof(out2), &n2, &in), 0);
		T_EQ_INT(n2, n);
		T_EQ_MEM(out2, out, n);
	}
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_response_vector_empty_with_user_agent);
	T_RUN(test_response_vector_peers_embedded_notfound);
	T_RUN(test_response_every_truncation_gives_its_section_error);
	T_RUN(test_response_rejects_ua_longer_than_payload_and_missing_counts);
	T_RUN(test_response_rejects_embedded_file_with_wrong_hash);
	T_RUN(test_response_rejects_invalid_peer_id);
	T_RUN(test_response_rejects_ipv4_mapped_ipv6);
	T_RUN(test_response_all_counts_zero_is_valid);
	T_RUN(test_peer_record_reason_is_bit_7_and_features_7_bits);
	T_RUN(test_response_encoder_refuses_what_receivers_drop);
	T_RUN(test_response_random_round_trips);
	return t_done();
}
