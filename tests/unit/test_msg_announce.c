/* test_msg_announce.c — common header (§3.1), Announcement (§3.2), Local Discovery (§3.6). */
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
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

/* Checks a list of hex keys in JSON against a decoded key view. */
static void
check_keys(json_t *arr, const uint8_t *keys, size_t n)
{
	uint8_t want[32];
	json_t *k;
	size_t i;

	T_EQ_INT(n, json_array_size(arr));
	json_array_foreach(arr, i, k) {
		T_ASSERT(hex_decode(want, 32, json_string_value(k)) == 32);
		T_EQ_MEM(keys + 32 * i, want, 32);
	}
}

/* Every decoded field against the reference decoder's view. */
static void
check_decoded(json_t *pk, const struct wire_announce *a)
{
	json_t *d = json_object_get(pk, "decoded"), *files, *f;
	struct wire_info_store is;
	uint8_t want[32];
	size_t i;

	T_EQ_INT(a->hdr.protocol, tvec_u64(d, "protocol"));
	T_EQ_INT(a->hdr.features, tvec_u64(d, "features"));
	T_EQ_INT(a->hdr.actions, tvec_u64(d, "actions"));
	T_EQ_U64(a->hdr.blockchain_height, tvec_u64(d, "blockchain_height"));
	T_EQ_U64(a->hdr.blockchain_version, tvec_u64(d, "blockchain_version"));
	T_EQ_INT(a->hdr.port_internal, tvec_u64(d, "port_internal"));
	T_EQ_INT(a->hdr.port_external, tvec_u64(d, "port_external"));
	T_EQ_STR(a->hdr.ua, tvec_str(d, "user_agent"));
	T_EQ_INT(a->hdr.ua_len, strlen(tvec_str(d, "user_agent")));
	check_keys(json_object_get(d, "find_peer_keys"), a->find_peer, a->n_find_peer);
	if (t_case_failed)
		return;
	check_keys(json_object_get(d, "find_data_keys"), a->find_value, a->n_find_value);
	if (t_case_failed)
		return;
	files = json_object_get(d, "info_store_files");
	T_EQ_INT(a->n_info_store, json_array_size(files));
	json_array_foreach(files, i, f) {
		wire_info_store_get(a->info_store, i, &is);
		T_ASSERT(hex_decode(want, 32, tvec_str(f, "hash")) == 32);
		T_EQ_MEM(is.hash, want, 32);
		T_EQ_U64(is.size, tvec_u64(f, "size"));
		T_EQ_INT(is.type, tvec_u64(f, "type"));
	}
}

/* Decodes the named vector, checks it, and re-encodes `in` (ports patched) to the same bytes. */
static void
check_vector(const char *name, struct wire_announce *in, int patch,
    uint16_t pi, uint16_t pe)
{
	json_t *v, *pk;
	struct wire_announce a;
	uint8_t *raw;
	size_t len = 0, n;
	int rc;

	T_VECTORS(v, "messages.json");
	pk = tvec_case_packet(json_object_get(v, "announcement"), name);
	if (pk == NULL || (raw = tvec_hex(pk, "payload", &len)) == NULL) {
		json_decref(v);
		T_FAIL("vector %s missing", name);
	}
	T_EQ_INT(len, tvec_u64(pk, "length"));
	rc = wire_announce_decode(raw, len, &a);
	if (rc != 0)
		t_fail(__FILE__, __LINE__, "decode: %s", wire_msg_strerror(rc));
	else
		check_decoded(pk, &a);
	if (!t_case_failed) {
		rc = wire_announce_encode(out, sizeof(out), &n, in);
		if (rc == 0 && patch)
			rc = wire_msg_set_ports(out, n, pi, pe);
		if (rc != 0)
			t_fail(__FILE__, __LINE__, "encode: %s", wire_msg_strerror(rc));
		else if (n != len)
			t_fail(__FILE__, __LINE__, "encoded %zu bytes, want %zu", n, len);
		else if (memcmp(out, raw, len) != 0)
			t_fail(__FILE__, __LINE__, "re-encoding differs: %s",
			    t_memdiff(out, raw, len));
	}
	free(raw);
	json_decref(v);
}

static void
node_id_of(const char *priv_hex, uint8_t id[32])
{
	struct ident k;
	uint8_t priv[32];

	hex_decode(priv, 32, priv_hex);
	ident_from_priv(&k, priv);
	memcpy(id, k.node_id, 32);
}

static void
test_announce_vector_minimal_bootstrap(void)
{
	struct wire_announce in;

	memset(&in, 0, sizeof(in));
	in.hdr.features = WIRE_FEATURE_IPV4_LISTEN;
	in.hdr.actions = WIRE_ACTION_FIND_SELF;
	T_EQ_INT(wire_msg_hdr_set_ua(&in.hdr, "Peernet Cmd/Alpha 9/01.11.2022"), 0);
	check_vector("minimal_bootstrap", &in, 1, 7001, 0);
}

static void
test_announce_vector_no_user_agent_no_actions(void)
{
	struct wire_announce in;

	memset(&in, 0, sizeof(in));
	in.hdr.features = 3;
	in.hdr.blockchain_height = 42;
	in.hdr.blockchain_version = 7;
	check_vector("no_user_agent_no_actions", &in, 0, 0, 0);
}

static void
test_announce_vector_find_peer_find_value_info_store(void)
{
	struct wire_announce in;
	struct wire_info_store f;
	uint8_t peers[64], value[32], store[2 * WIRE_INFO_STORE_SIZE];
	uint8_t pat[1000];

	node_id_of("2222222222222222222222222222222222222222222222222222222222222222", peers);
	node_id_of("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318", peers + 32);
	blake3_hash("test", 4, value);
	tvec_pattern(pat, sizeof(pat));
	blake3_hash(pat, sizeof(pat), f.hash);
	f.size = 1000;
	f.type = 0;
	wire_info_store_put(store, 0, &f);
	blake3_hash("x", 1, f.hash);
	f.size = 0x0102030405060708ULL;
	f.type = 1;
	wire_info_store_put(store, 1, &f);

	memset(&in, 0, sizeof(in));
	in.hdr.features = 7;
	in.hdr.blockchain_height = 0x1122334455667788ULL;
	in.hdr.blockchain_version = 0x99;
	T_EQ_INT(wire_msg_hdr_set_ua(&in.hdr, "UA/1.0"), 0);
	in.find_peer = peers;
	in.n_find_peer = 2;
	in.find_value = value;
	in.n_find_value = 1;
	in.info_store = store;
	in.n_info_store = 2;
	check_vector("find_peer_find_value_info_store", &in, 1, 0x1234, 0xabcd);
}

static void
test_announce_vector_unicode_user_agent(void)
{
	struct wire_announce in;
	uint8_t value[32];

	blake3_hash("Peernet", 7, value);
	memset(&in, 0, sizeof(in));
	in.hdr.features = 2;
	in.hdr.blockchain_height = 1;
	in.hdr.actions = WIRE_ACTION_FIND_SELF;
	T_EQ_INT(wire_msg_hdr_set_ua(&in.hdr, "P\xc3\xa9" "ernet \xe2\x9c\x93/1.0"), 0);
	in.find_value = value;
	in.n_find_value = 1;
	check_vector("unicode_user_agent", &in, 0, 0, 0);
}

static void
test_set_ports_patches_offsets_19_and_21(void)
{
	uint8_t p[24];
	struct wire_announce a;

	memset(p, 0, sizeof(p));
	T_EQ_INT(wire_msg_set_ports(p, sizeof(p), 0x1234, 0xabcd), 0);
	T_EQ_INT(p[19], 0x34);
	T_EQ_INT(p[20], 0x12);
	T_EQ_INT(p[21], 0xcd);
	T_EQ_INT(p[22], 0xab);
	T_EQ_INT(wire_announce_decode(p, sizeof(p), &a), 0);
	T_EQ_INT(a.hdr.port_internal, 0x1234);
	T_EQ_INT(a.hdr.port_external, 0xabcd);
	T_EQ_INT(wire_msg_set_ports(p, 23, 1, 2), WIRE_MSG_ERR_SHORT);
}

static void
test_local_discovery_is_find_self_announcement_with_zero_ports(void)
{
	struct wire_announce in, a;
	size_t n;

	memset(&in, 0, sizeof(in));
	in.hdr.features = WIRE_FEATURE_IPV4_LISTEN | WIRE_FEATURE_IPV6_LISTEN;
	in.hdr.actions = WIRE_ACTION_FIND_SELF;
	wire_msg_hdr_set_ua(&in.hdr, "peernet-c/0.1");
	T_EQ_INT(wire_announce_encode(out, sizeof(out), &n, &in), 0);
	T_EQ_INT(n, 24 + 13);
	T_EQ_INT(wire_announce_decode(out, n, &a), 0);
	T_EQ_INT(a.hdr.actions, WIRE_ACTION_FIND_SELF);
	T_EQ_INT(a.hdr.port_internal, 0);
	T_EQ_INT(a.hdr.port_external, 0);
	T_EQ_STR(a.hdr.ua, "peernet-c/0.1");
}

static void
test_ua_truncated_at_255_without_splitting_a_character(void)
{
	struct wire_msg_hdr h;
	char s[600];
	size_t i;

	/* 300 ASCII bytes: cut at exactly 255. */
	memset(s, 'a', 300);
	s[300] = '\0';
	T_EQ_INT(wire_msg_hdr_set_ua(&h, s), 0);
	T_EQ_INT(h.ua_len, 255);
	T_EQ_INT(strlen(h.ua), 255);
	/* 127 x U+00E9 (254 bytes) then U+2713 (3 bytes): byte 255 is mid-character. */
	for (i = 0; i < 127; i++)
		memcpy(s + 2 * i, "\xc3\xa9", 2);
	memcpy(s + 254, "\xe2\x9c\x93", 4);
	T_EQ_INT(wire_msg_hdr_set_ua(&h, s), 0);
	T_EQ_INT(h.ua_len, 254);
	T_ASSERT(wire_utf8_valid((uint8_t *)h.ua, h.ua_len));
	/* 1 ASCII + 127 x U+00E9 = 255 bytes exactly: kept whole. */
	s[0] = 'x';
	for (i = 0; i < 127; i++)
		memcpy(s + 1 + 2 * i, "\xc3\xa9", 2);
	memcpy(s + 255, "\xc3\xa9", 3);
	T_EQ_INT(wire_msg_hdr_set_ua(&h, s), 0);
	T_EQ_INT(h.ua_len, 255);
	T_EQ_INT(wire_msg_hdr_set_ua(&h, "bad \xff"), WIRE_MSG_ERR_UA_UTF8);
	T_EQ_INT(h.ua_len, 0);
	T_EQ_INT(wire_msg_hdr_set_ua(&h, NULL), 0);
	T_EQ_INT(h.ua_len, 0);
}

static void
test_utf8_validation_matches_go(void)
{
	static const struct {
		const char	*s;
		int		 ok;
	} c[] = {
		{ "", 1 }, { "plain", 1 }, { "\xc3\xa9", 1 }, { "\xe2\x9c\x93", 1 },
		{ "\xf0\x9f\x98\x80", 1 }, { "\xf4\x8f\xbf\xbf", 1 },	/* U+10FFFF */
		{ "\xed\x9f\xbf", 1 }, { "\xee\x80\x80", 1 },		/* around surrogates */
		{ "\xff", 0 }, { "\x80", 0 }, { "\xc0\x80", 0 }, { "\xc1\xbf", 0 },
		{ "\xe0\x80\xaf", 0 }, { "\xed\xa0\x80", 0 }, { "\xf4\x90\x80\x80", 0 },
		{ "\xf5\x80\x80\x80", 0 }, { "\xe2\x9c", 0 }, { "a\xc3", 0 },
		{ "\xf0\x8f\xbf\xbf", 0 }, { "\xc3\x28", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (wire_utf8_valid((const uint8_t *)c[i].s, strlen(c[i].s)) != c[i].ok)
			T_FAIL("case %zu: want %d", i, c[i].ok);
}

static size_t
build_hdr(uint8_t *p, uint8_t actions, const char *ua, size_t ua_len)
{
	memset(p, 0, 24);
	p[2] = actions;
	p[23] = (uint8_t)ua_len;
	memcpy(p + 24, ua, ua_len);
	return 24 + ua_len;
}

static void
test_announce_rejects_ua_longer_than_payload(void)
{
	struct wire_announce a;
	uint8_t p[64];
	size_t n = build_hdr(p, 0, "abcdef", 6);

	T_EQ_INT(wire_announce_decode(p, n, &a), 0);
	T_EQ_INT(wire_announce_decode(p, n - 1, &a), WIRE_MSG_ERR_UA_LEN);
	p[23] = 255;
	T_EQ_INT(wire_announce_decode(p, n, &a), WIRE_MSG_ERR_UA_LEN);
	T_EQ_INT(wire_announce_decode(p, 23, &a), WIRE_MSG_ERR_SHORT);
	T_EQ_INT(wire_announce_decode(p, 0, &a), WIRE_MSG_ERR_SHORT);
}

static void
test_announce_rejects_invalid_utf8_user_agent(void)
{
	struct wire_announce a;
	struct wire_announce in;
	uint8_t p[64];
	size_t n;

	n = build_hdr(p, 0, "UA\xed\xa0\x80", 5);
	T_EQ_INT(wire_announce_decode(p, n, &a), WIRE_MSG_ERR_UA_UTF8);
	n = build_hdr(p, 0, "UA\xc0\xaf", 4);
	T_EQ_INT(wire_announce_decode(p, n, &a), WIRE_MSG_ERR_UA_UTF8);
	/* The encoder refuses a UA put into the struct by hand. */
	memset(&in, 0, sizeof(in));
	memcpy(in.hdr.ua, "\xff", 2);
	in.hdr.ua_len = 1;
	T_EQ_INT(wire_announce_encode(out, sizeof(out), &n, &in), WIRE_MSG_ERR_UA_UTF8);
}

static void
test_announce_action_bit_needs_a_full_first_item(void)
{
	struct wire_announce a;
	uint8_t p[256];
	size_t n;

	/* FIND_PEER with count 0 and no key bytes: rejected (§12.8). */
	n = build_hdr(p, WIRE_ACTION_FIND_PEER, "", 0);
	memset(p + n, 0, 2 + 32);
	T_EQ_INT(wire_announce_decode(p, n + 2, &a), WIRE_MSG_ERR_FIND_PEER);
	T_EQ_INT(wire_announce_decode(p, n + 33, &a), WIRE_MSG_ERR_FIND_PEER);
	/* ...accepted with a count of 0 once the block has 34 bytes, like the reference. */
	T_EQ_INT(wire_announce_decode(p, n + 34, &a), 0);
	T_EQ_INT(a.n_find_peer, 0);
	T_EQ_INT(a.hdr.actions, WIRE_ACTION_FIND_PEER);

	n = build_hdr(p, WIRE_ACTION_FIND_VALUE, "", 0);
	memset(p + n, 0, 2 + 32);
	p[n] = 2;	/* count 2 but one key */
	T_EQ_INT(wire_announce_decode(p, n + 34, &a), WIRE_MSG_ERR_FIND_VALUE);

	n = build_hdr(p, WIRE_ACTION_INFO_STORE, "", 0);
	memset(p + n, 0, 2 + 41);
	T_EQ_INT(wire_announce_decode(p, n + 34, &a), WIRE_MSG_ERR_INFO_STORE);
	T_EQ_INT(wire_announce_decode(p, n + 42, &a), WIRE_MSG_ERR_INFO_STORE);
	T_EQ_INT(wire_announce_decode(p, n + 43, &a), 0);
	p[n] = 1;
	T_EQ_INT(wire_announce_decode(p, n + 43, &a), 0);
	T_EQ_INT(a.n_info_store, 1);
}

static void
test_announce_every_truncation_gives_its_section_error(void)
{
	uint8_t keys[3 * 32], store[2 * 41];
	struct wire_announce in, a;
	size_t n, l;
	int want;

	t_rnd_bytes(&rng, keys, sizeof(keys));
	t_rnd_bytes(&rng, store, sizeof(store));
	memset(&in, 0, sizeof(in));
	wire_msg_hdr_set_ua(&in.hdr, "UA/1.0");
	in.find_peer = keys;
	in.n_find_peer = 2;
	in.find_value = keys + 64;
	in.n_find_value = 1;
	in.info_store = store;
	in.n_info_store = 2;
	T_EQ_INT(wire_announce_encode(out, sizeof(out), &n, &in), 0);
	T_EQ_INT(n, 214);
	T_EQ_INT(wire_announce_decode(out, n, &a), 0);
	for (l = 0; l < n; l++) {
		if (l < 24)
			want = WIRE_MSG_ERR_SHORT;
		else if (l < 30)
			want = WIRE_MSG_ERR_UA_LEN;
		else if (l < 30 + 66)
			want = WIRE_MSG_ERR_FIND_PEER;
		else if (l < 30 + 66 + 34)
			want = WIRE_MSG_ERR_FIND_VALUE;
		else
			want = WIRE_MSG_ERR_INFO_STORE;
		if (wire_announce_decode(out, l, &a) != want)
			T_FAIL("length %zu: got %d, want %d", l,
			    wire_announce_decode(out, l, &a), want);
	}
}

static void
test_announce_ignores_trailing_bytes_and_masks_protocol(void)
{
	struct wire_announce a;
	uint8_t p[64];
	size_t n = build_hdr(p, WIRE_ACTION_FIND_SELF, "x", 1);

	p[0] = 0xf0;
	memset(p + n, 0xee, 10);
	T_EQ_INT(wire_announce_decode(p, n + 10, &a), 0);
	T_EQ_INT(a.hdr.protocol, 0);
	T_EQ_INT(a.hdr.actions, WIRE_ACTION_FIND_SELF);
}

static void
test_announce_encoder_never_sets_a_list_bit_for_an_empty_list(void)
{
	struct wire_announce in, a;
	uint8_t key[32] = { 1 };
	size_t n;

	memset(&in, 0, sizeof(in));
	in.hdr.actions = 0xff;
	T_EQ_INT(wire_announce_encode(out, sizeof(out), &n, &in), 0);
	T_EQ_INT(n, 24);
	T_EQ_INT(out[2], 0xff & ~WIRE_ACTION_LISTS);
	in.find_value = key;
	in.n_find_value = 1;
	T_EQ_INT(wire_announce_encode(out, sizeof(out), &n, &in), 0);
	T_EQ_INT(out[2], (0xff & ~WIRE_ACTION_LISTS) | WIRE_ACTION_FIND_VALUE);
	T_EQ_INT(wire_announce_decode(out, n, &a), 0);
	T_EQ_INT(a.n_find_value, 1);
	T_EQ_INT(wire_announce_encode(out, n - 1, &n, &in), WIRE_MSG_ERR_BUF);
	in.n_find_value = 65536;
	T_EQ_INT(wire_announce_encode(out, sizeof(out), &n, &in), WIRE_MSG_ERR_TOO_MANY);
}

/* A random valid UTF-8 string of at most max bytes. */
static size_t
rnd_utf8(char *s, size_t max)
{
	size_t n = 0, want = t_rnd(&rng) % (max + 1);
	uint32_t cp;

	while (n < want) {
		switch (t_rnd(&rng) % 4) {
		case 0:
			cp = (uint32_t)(t_rnd(&rng) % 0x80);
			s[n++] = (char)cp;
			break;
		case 1:
			if (n + 2 > want)
				goto done;
			cp = 0x80 + (uint32_t)(t_rnd(&rng) % 0x780);
			s[n++] = (char)(0xc0 | cp >> 6);
			s[n++] = (char)(0x80 | (cp & 0x3f));
			break;
		case 2:
			if (n + 3 > want)
				goto done;
			do
				cp = 0x800 + (uint32_t)(t_rnd(&rng) % 0xf800);
			while (cp >= 0xd800 && cp <= 0xdfff);
			s[n++] = (char)(0xe0 | cp >> 12);
			s[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
			s[n++] = (char)(0x80 | (cp & 0x3f));
			break;
		default:
			if (n + 4 > want)
				goto done;
			cp = 0x10000 + (uint32_t)(t_rnd(&rng) % 0x100000);
			s[n++] = (char)(0xf0 | cp >> 18);
			s[n++] = (char)(0x80 | (cp >> 12 & 0x3f));
			s[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
			s[n++] = (char)(0x80 | (cp & 0x3f));
			break;
		}
	}
done:
	s[n] = '\0';
	return n;
}

static void
test_announce_random_round_trips(void)
{
	static uint8_t keys[2][64 * 32], store[64 * 41];
	struct wire_announce in, a;
	uint8_t again[WIRE_MSG_BUDGET];
	size_t n, n2, k;
	int iter;

	for (iter = 0; iter < 400; iter++) {
		memset(&in, 0, sizeof(in));
		in.hdr.protocol = (uint8_t)(t_rnd(&rng) & 0x0f);
		in.hdr.features = (uint8_t)t_rnd(&rng);
		in.hdr.actions = (uint8_t)t_rnd(&rng);
		in.hdr.blockchain_height = t_rnd(&rng);
		in.hdr.blockchain_version = t_rnd(&rng);
		in.hdr.port_internal = (uint16_t)t_rnd(&rng);
		in.hdr.port_external = (uint16_t)t_rnd(&rng);
		in.hdr.ua_len = (uint8_t)rnd_utf8(in.hdr.ua, 255);
		in.n_find_peer = t_rnd(&rng) % 3 ? t_rnd(&rng) % 65 : 0;
		in.n_find_value = t_rnd(&rng) % 3 ? t_rnd(&rng) % 65 : 0;
		in.n_info_store = t_rnd(&rng) % 3 ? t_rnd(&rng) % 65 : 0;
		t_rnd_bytes(&rng, keys[0], in.n_find_peer * 32);
		t_rnd_bytes(&rng, keys[1], in.n_find_value * 32);
		t_rnd_bytes(&rng, store, in.n_info_store * 41);
		in.find_peer = keys[0];
		in.find_value = keys[1];
		in.info_store = store;
		T_EQ_INT(wire_announce_encode(out, sizeof(out), &n, &in), 0);
		T_EQ_INT(n, wire_announce_size(&in));
		T_EQ_INT(wire_announce_decode(out, n, &a), 0);
		T_EQ_INT(a.hdr.protocol, in.hdr.protocol);
		T_EQ_INT(a.hdr.features, in.hdr.features);
		k = (in.hdr.actions & ~WIRE_ACTION_LISTS) |
		    (in.n_find_peer ? WIRE_ACTION_FIND_PEER : 0) |
		    (in.n_find_value ? WIRE_ACTION_FIND_VALUE : 0) |
		    (in.n_info_store ? WIRE_ACTION_INFO_STORE : 0);
		T_EQ_INT(a.hdr.actions, k);
		T_EQ_U64(a.hdr.blockchain_height, in.hdr.blockchain_height);
		T_EQ_U64(a.hdr.blockchain_version, in.hdr.blockchain_version);
		T_EQ_INT(a.hdr.port_internal, in.hdr.port_internal);
		T_EQ_INT(a.hdr.port_external, in.hdr.port_external);
		T_EQ_INT(a.hdr.ua_len, in.hdr.ua_len);
		T_EQ_MEM(a.hdr.ua, in.hdr.ua, in.hdr.ua_len + 1);
		T_EQ_INT(a.n_find_peer, in.n_find_peer);
		T_EQ_INT(a.n_find_value, in.n_find_value);
		T_EQ_INT(a.n_info_store, in.n_info_store);
		T_EQ_MEM(a.find_peer ? a.find_peer : keys[0], keys[0], a.n_find_peer * 32);
		T_EQ_MEM(a.find_value ? a.find_value : keys[1], keys[1], a.n_find_value * 32);
		T_EQ_MEM(a.info_store ? a.info_store : store, store, a.n_info_store * 41);
		/* Decoded views re-encode to the same bytes. */
		memcpy(again, out, n);
		T_EQ_INT(wire_announce_encode(out, sizeof(out), &n2, &a), 0);
		T_EQ_INT(n2, n);
		T_EQ_MEM(out, again, n);
	}
}

/*
 * Our constants against messages.json's "constants": group (NULL: the top
 * level) and key; bit: the reference gives a bit number, ours is its mask.
 */
static const struct {
	const char	*group, *key;
	uint64_t	 ours;
	int		 bit;
} constants[] = {
	{ "commands", "announcement", WIRE_CMD_ANNOUNCEMENT, 0 },
	{ "commands", "response", WIRE_CMD_RESPONSE, 0 },
	{ "commands", "ping", WIRE_CMD_PING, 0 },
	{ "commands", "pong", WIRE_CMD_PONG, 0 },
	{ "commands", "local_discovery", WIRE_CMD_LOCAL_DISCOVERY, 0 },
	{ "commands", "traverse", WIRE_CMD_TRAVERSE, 0 },
	{ "commands", "get_block", WIRE_CMD_GET_BLOCK, 0 },
	{ "commands", "transfer", WIRE_CMD_TRANSFER, 0 },
	{ "commands", "chat", WIRE_CMD_CHAT, 0 },
	{ "features_bits", "ipv4_listen", WIRE_FEATURE_IPV4_LISTEN, 1 },
	{ "features_bits", "ipv6_listen", WIRE_FEATURE_IPV6_LISTEN, 1 },
	{ "features_bits", "firewall", WIRE_FEATURE_FIREWALL, 1 },
	{ "announcement_action_bits", "find_self", WIRE_ACTION_FIND_SELF, 1 },
	{ "announcement_action_bits", "find_peer", WIRE_ACTION_FIND_PEER, 1 },
	{ "announcement_action_bits", "find_value", WIRE_ACTION_FIND_VALUE, 1 },
	{ "announcement_action_bits", "info_store", WIRE_ACTION_INFO_STORE, 1 },
	{ "response_action_bits", "sequence_last", WIRE_ACTION_SEQUENCE_LAST, 1 },
	{ "transfer_control", "request_start", WIRE_TRANSFER_REQUEST_START, 0 },
	{ "transfer_control", "not_available", WIRE_TRANSFER_NOT_AVAILABLE, 0 },
	{ "transfer_control", "active", WIRE_TRANSFER_ACTIVE, 0 },
	{ "transfer_control", "terminate", WIRE_TRANSFER_TERMINATE, 0 },
	{ "get_block_control", "request_start", WIRE_GETBLOCK_REQUEST_START, 0 },
	{ "get_block_control", "not_available", WIRE_GETBLOCK_NOT_AVAILABLE, 0 },
	{ "get_block_control", "active", WIRE_GETBLOCK_ACTIVE, 0 },
	{ "get_block_control", "terminate", WIRE_GETBLOCK_TERMINATE, 0 },
	{ "get_block_control", "empty", WIRE_GETBLOCK_EMPTY, 0 },
	{ "get_block_status", "available", WIRE_BLOCK_AVAILABLE, 0 },
	{ "get_block_status", "not_available", WIRE_BLOCK_NOT_AVAILABLE, 0 },
	{ "get_block_status", "size_exceed", WIRE_BLOCK_SIZE_EXCEED, 0 },
	{ NULL, "peer_record_size", WIRE_PEER_RECORD_SIZE, 0 },
	{ NULL, "announcement_header_size", WIRE_MSG_HDR_SIZE, 0 },
	{ NULL, "traverse_header_size_without_embedded", WIRE_TRAVERSE_FIXED, 0 },
	{ NULL, "transfer_max_embed_size", WIRE_TRANSFER_EMBED_MAX, 0 },
	{ NULL, "transfer_max_embed_size_lite", WIRE_LITE_DATA_MAX, 0 },
	{ NULL, "embedded_file_size_max", WIRE_EMBEDDED_FILE_MAX, 0 },
};

static void
test_constants_match_the_reference(void)
{
	json_t *v = tvec_load("messages.json"), *c, *o;
	uint64_t ref;
	size_t i;

	T_ASSERT(v != NULL);
	c = json_object_get(v, "constants");
	for (i = 0; i < sizeof(constants) / sizeof(constants[0]); i++) {
		o = constants[i].group ? json_object_get(c, constants[i].group) : c;
		ref = tvec_u64(o, constants[i].key);
		if (constants[i].bit)
			ref = 1u << ref;
		if (ref != constants[i].ours)
			T_FAIL("%s/%s: ours %" PRIu64 ", the reference's %" PRIu64,
			    constants[i].group ? constants[i].group : "",
			    constants[i].key, constants[i].ours, ref);
	}
	json_decref(v);
}

/*
 * netd's own extension bits (bit 3, WIRE_FEATURE_MERKLE, §13.5) go into every
 * header it writes, Announcement and Response alike, on top of the caller's
 * bits; a process that never sets them (test tools speaking as the
 * reference) writes exactly the caller's byte.
 */
static void
test_own_feature_bits_are_ored_into_written_headers(void)
{
	struct wire_announce a, d;
	struct wire_response_in r;
	struct wire_response v;
	uint8_t ob[512];
	size_t len;

	memset(&a, 0, sizeof(a));
	a.hdr.features = WIRE_FEATURE_IPV4_LISTEN;
	T_EQ_INT(wire_announce_encode(ob, sizeof(ob), &len, &a), 0);
	T_EQ_INT(ob[1], WIRE_FEATURE_IPV4_LISTEN);
	wire_msg_set_own_features(WIRE_FEATURE_MERKLE);
	T_EQ_INT(wire_announce_encode(ob, sizeof(ob), &len, &a), 0);
	T_EQ_INT(ob[1], WIRE_FEATURE_IPV4_LISTEN | WIRE_FEATURE_MERKLE);
	T_EQ_INT(a.hdr.features, WIRE_FEATURE_IPV4_LISTEN);
	T_EQ_INT(wire_announce_decode(ob, len, &d), 0);
	T_EQ_INT(d.hdr.features, WIRE_FEATURE_IPV4_LISTEN | WIRE_FEATURE_MERKLE);
	memset(&r, 0, sizeof(r));
	r.hdr.actions = WIRE_ACTION_SEQUENCE_LAST;
	T_EQ_INT(wire_response_encode(ob, sizeof(ob), &len, &r), 0);
	T_EQ_INT(ob[1], WIRE_FEATURE_MERKLE);
	T_EQ_INT(wire_response_decode(ob, len, &v), 0);
	T_EQ_INT(v.hdr.features, WIRE_FEATURE_MERKLE);
	wire_msg_set_own_features(0);
	T_EQ_INT(wire_announce_encode(ob, sizeof(ob), &len, &a), 0);
	T_EQ_INT(ob[1], WIRE_FEATURE_IPV4_LISTEN);
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_constants_match_the_reference);
	T_RUN(test_announce_vector_minimal_bootstrap);
	T_RUN(test_announce_vector_no_user_agent_no_actions);
	T_RUN(test_announce_vector_find_peer_find_value_info_store);
	T_RUN(test_announce_vector_unicode_user_agent);
	T_RUN(test_set_ports_patches_offsets_19_and_21);
	T_RUN(test_local_discovery_is_find_self_announcement_with_zero_ports);
	T_RUN(test_ua_truncated_at_255_without_splitting_a_character);
	T_RUN(test_utf8_validation_matches_go);
	T_RUN(test_announce_rejects_ua_longer_than_payload);
	T_RUN(test_announce_rejects_invalid_utf8_user_agent);
	T_RUN(test_announce_action_bit_needs_a_full_first_item);
	T_RUN(test_announce_every_truncation_gives_its_section_error);
	T_RUN(test_announce_ignores_trailing_bytes_and_masks_protocol);
	T_RUN(test_announce_encoder_never_sets_a_list_bit_for_an_empty_list);
	T_RUN(test_announce_random_round_trips);
	T_RUN(test_own_feature_bits_are_ored_into_written_headers);
	return t_done();
}
