/* test_packet.c — Peernet v0 packets: reference vectors, round trips, damage, replay filter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "blake3.h"
#include "ident.h"
#include "t.h"
#include "tvec.h"
#include "wire_packet.h"

static uint8_t plain[WIRE_PACKET_MAX];

static int
ident_from_hex(struct ident *id, json_t *obj, const char *key)
{
	uint8_t priv[32];

	if (tvec_hex_exact(obj, key, priv, 32) != 0)
		return -1;
	return ident_from_priv(id, priv);
}

/* Decrypts the signature of a packet to `key` in place, or encrypts it back (same XOR). */
static void
xor_signature(uint8_t *pkt, size_t len, const uint8_t key_pub[33])
{
	uint8_t n8[8], ks[65];
	size_t i;

	memcpy(n8, pkt, 4);
	memcpy(n8 + 4, pkt, 4);
	crypto_stream_salsa20(ks, sizeof(ks), n8, key_pub + 1);
	for (i = 0; i < 65; i++)
		pkt[len - 65 + i] ^= ks[i];
}

static void
test_packet_decodes_every_reference_packet(void)
{
	json_t *v, *p, *exp, *im;
	struct wire_packet pkt;
	struct ident rx;
	uint8_t *r, *pay, sender[33], hash[32];
	size_t i, len, plen, n = 0;

	T_VECTORS(v, "packets.json");
	json_array_foreach(json_object_get(v, "packets"), i, p) {
		exp = json_object_get(p, "expected");
		im = json_object_get(p, "intermediate");
		T_EQ_INT(ident_from_hex(&rx, p, "receiver_private_key"), IDENT_OK);
		r = tvec_hex(p, "raw", &len);
		pay = tvec_hex(exp, "payload", &plen);
		T_ASSERT(r != NULL && pay != NULL);
		T_EQ_U64(len, tvec_u64(p, "raw_length"));
		T_ASSERT(tvec_hex_exact(exp, "sender_public_key", sender, 33) == 0);
		T_ASSERT(tvec_hex_exact(im, "signed_hash", hash, 32) == 0);
		T_EQ_INT(wire_packet_decode(r, len, rx.pub, plain, sizeof(plain), &pkt),
		    WIRE_PACKET_OK);
		T_EQ_INT(pkt.protocol, tvec_u64(exp, "protocol"));
		T_EQ_INT(pkt.command, tvec_u64(exp, "command"));
		T_EQ_U64(pkt.sequence, tvec_u64(exp, "sequence"));
		T_EQ_U64(pkt.payload_len, tvec_u64(exp, "payload_length"));
		T_EQ_U64(pkt.payload_len, plen);
		T_EQ_MEM(pkt.payload, pay, plen);
		T_EQ_MEM(pkt.sender, sender, 33);
		T_EQ_U64(pkt.garbage_len, tvec_u64(im, "garbage_length"));
		T_EQ_MEM(pkt.signed_hash, hash, 32);
		free(r);
		free(pay);
		n++;
	}
	T_EQ_INT(n, 15);
	json_decref(v);
}

static void
test_packet_reencodes_reference_packets_byte_for_byte(void)
{
	json_t *v, *p, *exp, *im;
	struct ident tx;
	uint8_t rxpub[33], nonce[4], *r, *pay, *pt, out[8192];
	size_t i, len, plen, ptlen, outlen, n = 0;

	T_VECTORS(v, "packets.json");
	json_array_foreach(json_object_get(v, "packets"), i, p) {
		exp = json_object_get(p, "expected");
		im = json_object_get(p, "intermediate");
		T_EQ_INT(ident_from_hex(&tx, p, "sender_private_key"), IDENT_OK);
		T_ASSERT(tvec_hex_exact(p, "receiver_public_key", rxpub, 33) == 0);
		T_ASSERT(tvec_hex_exact(im, "nonce_field", nonce, 4) == 0);
		r = tvec_hex(p, "raw", &len);
		pay = tvec_hex(exp, "payload", &plen);
		pt = tvec_hex(im, "plaintext_bytes_4_to_end_minus_65", &ptlen);
		T_ASSERT(r != NULL && pay != NULL && pt != NULL);
		T_EQ_U64(ptlen, 8 + plen + tvec_u64(im, "garbage_length"));
		T_EQ_INT(wire_packet_encode_ex(out, sizeof(out), &outlen, &tx, rxpub,
		    (uint8_t)tvec_u64(exp, "command"), (uint32_t)tvec_u64(exp, "sequence"),
		    pay, plen, nonce, pt + 8 + plen, ptlen - 8 - plen), WIRE_PACKET_OK);
		T_EQ_U64(outlen, len);
		T_EQ_MEM(out, r, len);
		free(r);
		free(pay);
		free(pt);
		n++;
	}
	T_EQ_INT(n, 15);
	json_decref(v);
}

/*
 * What our decoder returns for each damaged reference packet.  OK means it
 * decodes (as the reference does) but to a sender other than the original.
 */
static const struct {
	const char	*name;
	int		 err;
} corrupted_outcome[] = {
	{ "payload_bit_flip",		WIRE_PACKET_OK },	/* random sender, like the reference */
	{ "signature_s_bit_flip",	WIRE_PACKET_OK },	/* random sender, like the reference */
	{ "signature_r_bit_flip",	WIRE_PACKET_ERR_RECOVER },	/* R.x not on the curve */
	{ "signature_header_bit_flip",	WIRE_PACKET_ERR_RECOVER },	/* recid 2/3: r + n >= p */
	{ "nonce_bit_flip",		WIRE_PACKET_ERR_PROTOCOL },	/* whole body decrypts to junk */
	{ "wrong_receiver_key",		WIRE_PACKET_ERR_PROTOCOL },	/* idem */
	{ "truncated_76_bytes",		WIRE_PACKET_ERR_SHORT },
	{ "invalid_length_field",	WIRE_PACKET_ERR_LENGTH },
	{ "protocol_version_1",		WIRE_PACKET_ERR_PROTOCOL },
};

static void
test_packet_corrupted_reference_packets_give_documented_outcome(void)
{
	json_t *v, *c;
	struct wire_packet pkt;
	uint8_t rxpub[33], orig[33], *r;
	const char *name, *outcome;
	size_t i, j, len, n = 0;
	int rc, want;

	T_VECTORS(v, "packets.json");
	json_array_foreach(json_object_get(v, "corrupted"), i, c) {
		name = tvec_str(c, "name");
		outcome = tvec_str(c, "expected_outcome");
		want = 1;
		for (j = 0; j < sizeof(corrupted_outcome) / sizeof(corrupted_outcome[0]); j++)
			if (strcmp(corrupted_outcome[j].name, name) == 0)
				want = corrupted_outcome[j].err;
		if (want == 1)
			T_FAIL("corrupted case %s has no documented outcome", name);
		T_ASSERT(tvec_hex_exact(c, "receiver_public_key", rxpub, 33) == 0);
		T_ASSERT(tvec_hex_exact(c, "original_sender_public_key", orig, 33) == 0);
		r = tvec_hex(c, "raw", &len);
		T_ASSERT(r != NULL);
		rc = wire_packet_decode(r, len, rxpub, plain, sizeof(plain), &pkt);
		free(r);
		if (rc != want)
			T_FAIL("%s: got %d (%s), want %d (%s)", name, rc,
			    wire_packet_strerror(rc), want, wire_packet_strerror(want));
		if (strcmp(outcome, "reject") == 0)
			T_ASSERT(rc != WIRE_PACKET_OK);
		else if (strcmp(outcome, "reject_or_sender_mismatch") == 0)
			T_ASSERT(rc != WIRE_PACKET_OK || memcmp(pkt.sender, orig, 33) != 0);
		else if (strcmp(outcome, "drop_after_decode") == 0)
			T_ASSERT(rc == WIRE_PACKET_ERR_PROTOCOL || rc == WIRE_PACKET_ERR_LENGTH);
		else
			T_FAIL("unknown outcome %s", outcome);
		n++;
	}
	T_EQ_INT(n, 9);
	json_decref(v);
}

static void
test_packet_corrupted_payload_recovers_the_reference_random_sender(void)
{
	json_t *v = tvec_load("packets.json"), *c, *rd;
	struct wire_packet pkt;
	uint8_t rxpub[33], want[33], *r;
	size_t i, len, n = 0;

	/* Where the reference "decoded" damaged bytes, we recover the same random key. */
	if (v == NULL)
		T_FAIL("packets.json missing");
	json_array_foreach(json_object_get(v, "corrupted"), i, c) {
		rd = json_object_get(c, "reference_decode");
		if (strcmp(tvec_str(rd, "reference_result"), "decoded") != 0 ||
		    json_is_true(json_object_get(rd, "sender_matches_expected")))
			continue;
		T_ASSERT(tvec_hex_exact(c, "receiver_public_key", rxpub, 33) == 0);
		T_ASSERT(tvec_hex_exact(rd, "recovered_sender_public_key", want, 33) == 0);
		r = tvec_hex(c, "raw", &len);
		T_ASSERT(r != NULL);
		T_EQ_INT(wire_packet_decode(r, len, rxpub, plain, sizeof(plain), &pkt),
		    WIRE_PACKET_OK);
		free(r);
		T_EQ_MEM(pkt.sender, want, 33);
		T_EQ_U64(pkt.sequence, tvec_u64(rd, "sequence"));
		n++;
	}
	T_EQ_INT(n, 2);
	json_decref(v);
}

static void
test_packet_garbage_max_follows_508_1232_rule(void)
{
	static const struct { size_t len0, max; } tab[] = {
		{ 77, 20 }, { 400, 20 }, { 488, 20 }, { 489, 19 }, { 500, 8 },
		{ 507, 1 }, { 508, 0 }, { 509, 20 }, { 1000, 20 }, { 1212, 20 },
		{ 1213, 19 }, { 1231, 1 }, { 1232, 0 }, { 1233, 20 }, { 65487, 20 },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		T_EQ_U64(wire_packet_garbage_max(tab[i].len0), tab[i].max);
}

static void
test_packet_round_trips_1000_random_packets(void)
{
	static uint8_t pay[4000], out[WIRE_PACKET_ENCODE_CAP(4000)];
	struct ident keys[8];
	struct wire_packet pkt;
	size_t i, L, outlen, len0, g, gmax;
	int seen_g0 = 0, seen_g19 = 0;
	uint8_t cmd;
	uint32_t seq;
	struct ident *tx, *rx;

	for (i = 0; i < 8; i++)
		T_EQ_INT(ident_generate(&keys[i]), IDENT_OK);
	for (i = 0; i < 1000; i++) {
		tx = &keys[randombytes_uniform(8)];
		do
			rx = &keys[randombytes_uniform(8)];
		while (rx == tx);
		if (i % 10 == 1)
			L = 431;
		else if (i % 10 == 2)
			L = 1155;
		else if (i % 10 == 3)
			L = randombytes_uniform(40) + 411;	/* around 508 */
		else if (i % 10 == 4)
			L = randombytes_uniform(40) + 1135;	/* around 1232 */
		else if (i == 5)
			L = 0;
		else
			L = randombytes_uniform(4001);
		cmd = (uint8_t)randombytes_uniform(256);
		seq = randombytes_random();
		randombytes_buf(pay, L);
		T_EQ_INT(wire_packet_encode(out, sizeof(out), &outlen, tx, rx->pub,
		    cmd, seq, pay, L), WIRE_PACKET_OK);
		len0 = 77 + L;
		T_ASSERT(outlen >= len0);
		g = outlen - len0;
		gmax = wire_packet_garbage_max(len0);
		T_ASSERT(g <= 19);
		T_ASSERT(gmax == 0 ? g == 0 : g < gmax);
		if (len0 <= 508)
			T_ASSERT(outlen <= 508);
		if (len0 <= 1232)
			T_ASSERT(outlen <= 1232);
		if (L == 431)
			T_EQ_U64(outlen, 508);
		if (L == 1155)
			T_EQ_U64(outlen, 1232);
		seen_g0 |= g == 0 && gmax > 0;
		seen_g19 |= g == 19;
		T_EQ_INT(wire_packet_decode(out, outlen, rx->pub, plain, sizeof(plain),
		    &pkt), WIRE_PACKET_OK);
		T_EQ_INT(pkt.protocol, 0);
		T_EQ_INT(pkt.command, cmd);
		T_EQ_U64(pkt.sequence, seq);
		T_EQ_U64(pkt.payload_len, L);
		T_EQ_MEM(pkt.payload, pay, L);
		T_EQ_MEM(pkt.sender, tx->pub, 33);
		T_EQ_U64(pkt.garbage_len, g);
	}
	/* The padding really is random over its whole range. */
	T_ASSERT(seen_g0);
	T_ASSERT(seen_g19);
}

static void
test_packet_rejects_every_truncation(void)
{
	json_t *v, *pk;
	static const char *names[] = { "ping_no_payload", "chat", "response", "size_1000" };
	struct wire_packet pkt;
	struct ident rx;
	uint8_t *r, *cut;
	size_t i, k, len;
	int rc;

	T_VECTORS(v, "packets.json");
	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		pk = tvec_named(json_object_get(v, "packets"), names[k]);
		T_EQ_INT(ident_from_hex(&rx, pk, "receiver_private_key"), IDENT_OK);
		r = tvec_hex(pk, "raw", &len);
		T_ASSERT(r != NULL);
		for (i = 0; i < len; i++) {
			/* A fresh heap copy of exactly i bytes, so ASan sees any overread. */
			cut = malloc(i ? i : 1);
			T_ASSERT(cut != NULL);
			memcpy(cut, r, i);
			rc = wire_packet_decode(cut, i, rx.pub, plain, sizeof(plain), &pkt);
			free(cut);
			if (rc == WIRE_PACKET_OK)
				T_FAIL("%s truncated to %zu bytes decoded", names[k], i);
			if (i < 77)
				T_EQ_INT(rc, WIRE_PACKET_ERR_SHORT);
		}
		free(r);
	}
	json_decref(v);
}

/* Fresh identities a (sender) and b (receiver). */
static void
two_idents(struct ident *a, struct ident *b)
{
	T_EQ_INT(ident_generate(a), IDENT_OK);
	T_EQ_INT(ident_generate(b), IDENT_OK);
}

static void
test_packet_wrong_receiver_key_never_yields_the_sender(void)
{
	struct ident a, b, c;
	struct wire_packet pkt;
	uint8_t pay[100], out[256];
	size_t outlen;
	int i, rc, rejected = 0;

	T_DO(two_idents(&a, &b));
	T_EQ_INT(ident_generate(&c), IDENT_OK);
	for (i = 0; i < 300; i++) {
		randombytes_buf(pay, sizeof(pay));
		T_EQ_INT(wire_packet_encode(out, sizeof(out), &outlen, &a, b.pub, 2,
		    (uint32_t)i, pay, sizeof(pay)), WIRE_PACKET_OK);
		rc = wire_packet_decode(out, outlen, c.pub, plain, sizeof(plain), &pkt);
		if (rc != WIRE_PACKET_OK)
			rejected++;
		else
			T_ASSERT(memcmp(pkt.sender, a.pub, 33) != 0);
	}
	/* Protocol byte and length field each pass junk with p ~ 1/256. */
	T_ASSERT(rejected >= 295);
}

static void
test_packet_rejects_flipped_bits_or_changes_sender(void)
{
	json_t *v, *p;
	struct wire_packet pkt;
	struct ident rx;
	uint8_t *r, sender[33];
	size_t len, pos, sigpos;
	int bit, rc, flips = 0, rejected = 0;

	T_VECTORS(v, "packets.json");
	p = tvec_named(json_object_get(v, "packets"), "chat");
	T_EQ_INT(ident_from_hex(&rx, p, "receiver_private_key"), IDENT_OK);
	T_ASSERT(tvec_hex_exact(json_object_get(p, "expected"), "sender_public_key",
	    sender, 33) == 0);
	r = tvec_hex(p, "raw", &len);
	T_ASSERT(r != NULL);
	sigpos = len - 65;
	/* 92 bytes x 8 bits = 736 single-bit flips. */
	for (pos = 0; pos < len; pos++) {
		for (bit = 0; bit < 8; bit++) {
			r[pos] ^= (uint8_t)(1 << bit);
			rc = wire_packet_decode(r, len, rx.pub, plain, sizeof(plain), &pkt);
			r[pos] ^= (uint8_t)(1 << bit);
			flips++;
			/* The protocol byte and the length's high byte are checked exactly. */
			if (pos == 4)
				T_EQ_INT(rc, WIRE_PACKET_ERR_PROTOCOL);
			if (pos == 11)
				T_EQ_INT(rc, WIRE_PACKET_ERR_LENGTH);
			if (pos < 4 && rc == WIRE_PACKET_OK)
				T_FAIL("nonce flip of bit %d at %zu decoded", bit, pos);
			if (rc != WIRE_PACKET_OK) {
				rejected++;
				continue;
			}
			if (pos == sigpos && bit == 2) {
				/* 31 <-> 27: only the ignored "compressed" flag changes. */
				T_EQ_MEM(pkt.sender, sender, 33);
				continue;
			}
			if (memcmp(pkt.sender, sender, 33) == 0)
				T_FAIL("flip of bit %d at %zu kept the sender", bit, pos);
		}
	}
	fprintf(stderr, "# bit flips: %d of %d rejected\n", rejected, flips);
	T_EQ_INT(flips, 736);
	T_ASSERT(rejected >= 100);
	free(r);
	json_decref(v);
}

static void
test_packet_rejects_bad_signature_header_and_range(void)
{
	struct ident a, b;
	struct wire_packet pkt;
	uint8_t pay[20], out[256], bad[256];
	static const uint8_t nonce[4] = { 1, 2, 3, 4 };
	size_t outlen;

	T_DO(two_idents(&a, &b));
	memset(pay, 0x55, sizeof(pay));
	T_EQ_INT(wire_packet_encode_ex(out, sizeof(out), &outlen, &a, b.pub, 10, 1,
	    pay, sizeof(pay), nonce, NULL, 0), WIRE_PACKET_OK);
	T_EQ_U64(outlen, 97);

	memcpy(bad, out, outlen);
	xor_signature(bad, outlen, b.pub);
	T_ASSERT(bad[outlen - 65] >= 31 && bad[outlen - 65] <= 32);
	bad[outlen - 65] = 35;
	xor_signature(bad, outlen, b.pub);
	T_EQ_INT(wire_packet_decode(bad, outlen, b.pub, plain, sizeof(plain), &pkt),
	    WIRE_PACKET_ERR_SIG_HEADER);

	memcpy(bad, out, outlen);
	xor_signature(bad, outlen, b.pub);
	memcpy(bad + outlen - 64, tvec_curve_n, 32);		/* r = n */
	xor_signature(bad, outlen, b.pub);
	T_EQ_INT(wire_packet_decode(bad, outlen, b.pub, plain, sizeof(plain), &pkt),
	    WIRE_PACKET_ERR_SIG_RANGE);

	memcpy(bad, out, outlen);
	xor_signature(bad, outlen, b.pub);
	memset(bad + outlen - 32, 0, 32);		/* s = 0 */
	xor_signature(bad, outlen, b.pub);
	T_EQ_INT(wire_packet_decode(bad, outlen, b.pub, plain, sizeof(plain), &pkt),
	    WIRE_PACKET_ERR_RECOVER);

	/* The untouched packet still decodes: the damage above was the only cause. */
	T_EQ_INT(wire_packet_decode(out, outlen, b.pub, plain, sizeof(plain), &pkt),
	    WIRE_PACKET_OK);
	T_EQ_MEM(pkt.sender, a.pub, 33);
}

static void
test_packet_rejects_own_packet_looped_back(void)
{
	struct ident a, b;
	struct wire_packet pkt;
	uint8_t out[128];
	size_t outlen;

	T_DO(two_idents(&a, &b));
	T_EQ_INT(wire_packet_encode(out, sizeof(out), &outlen, &a, a.pub, 2, 9,
	    NULL, 0), WIRE_PACKET_OK);
	T_EQ_INT(wire_packet_decode(out, outlen, a.pub, plain, sizeof(plain), &pkt),
	    WIRE_PACKET_ERR_SELF);
	T_EQ_INT(wire_packet_decode_ex(out, outlen, a.pub, b.pub, plain,
	    sizeof(plain), &pkt), WIRE_PACKET_OK);
	T_EQ_INT(wire_packet_decode_ex(out, outlen, a.pub, NULL, plain,
	    sizeof(plain), &pkt), WIRE_PACKET_OK);
	T_EQ_MEM(pkt.sender, a.pub, 33);
}

static void
test_packet_discovery_packets_open_with_discovery_key(void)
{
	json_t *v, *p;
	struct wire_packet pkt;
	uint8_t *r, sender[33];
	size_t len;

	T_VECTORS(v, "packets.json");
	p = tvec_named(json_object_get(v, "packets"), "local_discovery_ipv4");
	r = tvec_hex(p, "raw", &len);
	T_ASSERT(r != NULL);
	T_ASSERT(tvec_hex_exact(json_object_get(p, "expected"), "sender_public_key",
	    sender, 33) == 0);
	/* Our own broadcast comes back: the self check uses our identity key. */
	T_EQ_INT(wire_packet_decode_ex(r, len, ident_discovery_ipv4_pub, sender,
	    plain, sizeof(plain), &pkt), WIRE_PACKET_ERR_SELF);
	T_EQ_INT(wire_packet_decode_ex(r, len, ident_discovery_ipv4_pub,
	    ident_discovery_ipv6_pub, plain, sizeof(plain), &pkt), WIRE_PACKET_OK);
	T_EQ_INT(pkt.command, 4);
	T_EQ_MEM(pkt.sender, sender, 33);
	/* The IPv6 key does not open it. */
	T_ASSERT(wire_packet_decode(r, len, ident_discovery_ipv6_pub, plain,
	    sizeof(plain), &pkt) != WIRE_PACKET_OK || memcmp(pkt.sender, sender, 33) != 0);
	free(r);
	json_decref(v);
}

static void
test_packet_size_limits_and_buffer_checks(void)
{
	static uint8_t pay[WIRE_PAYLOAD_MAX + 1];
	static uint8_t out[WIRE_PACKET_MAX + 16];
	static const uint8_t nonce[4] = { 9, 9, 9, 9 };
	uint8_t garbage[19], key[33];
	struct ident a, b;
	struct wire_packet pkt;
	size_t outlen;

	T_DO(two_idents(&a, &b));
	tvec_pattern(pay, sizeof(pay));
	memset(garbage, 0xee, sizeof(garbage));
	T_EQ_INT(wire_packet_encode(out, sizeof(out), &outlen, &a, b.pub, 1, 1,
	    pay, WIRE_PAYLOAD_MAX + 1), WIRE_PACKET_ERR_LONG);
	/* The largest packet an encoder builds: 65410 + 19 garbage + 77. */
	T_EQ_INT(wire_packet_encode_ex(out, sizeof(out), &outlen, &a, b.pub, 1, 1,
	    pay, WIRE_PAYLOAD_MAX, nonce, garbage, 19), WIRE_PACKET_OK);
	T_EQ_U64(outlen, 65506);
	T_EQ_INT(wire_packet_decode(out, outlen, b.pub, plain, sizeof(plain), &pkt),
	    WIRE_PACKET_OK);
	T_EQ_U64(pkt.payload_len, WIRE_PAYLOAD_MAX);
	T_EQ_MEM(pkt.payload, pay, WIRE_PAYLOAD_MAX);
	T_EQ_U64(pkt.garbage_len, 19);
	/* Scratch buffer must hold len bytes; output buffer the exact size. */
	T_EQ_INT(wire_packet_decode(out, outlen, b.pub, plain, outlen - 1, &pkt),
	    WIRE_PACKET_ERR_BUF);
	T_EQ_INT(wire_packet_decode(out, WIRE_PACKET_MAX + 1, b.pub, plain,
	    sizeof(plain), &pkt), WIRE_PACKET_ERR_LONG);
	T_EQ_INT(wire_packet_encode_ex(out, 77 + 10 + 3 - 1, &outlen, &a, b.pub, 1, 1,
	    pay, 10, nonce, garbage, 3), WIRE_PACKET_ERR_BUF);
	T_EQ_INT(wire_packet_encode_ex(out, 77 + 10 + 3, &outlen, &a, b.pub, 1, 1,
	    pay, 10, nonce, garbage, 3), WIRE_PACKET_OK);
	T_EQ_U64(outlen, 90);
	/* decode must not decrypt over its input */
	T_EQ_INT(wire_packet_decode(out, outlen, b.pub, out, sizeof(out), &pkt),
	    WIRE_PACKET_ERR_ARG);
	/* A receiver key with a bad prefix is refused. */
	memcpy(key, b.pub, 33);
	key[0] = 4;
	T_EQ_INT(wire_packet_encode(out, sizeof(out), &outlen, &a, key, 1, 1,
	    pay, 10), WIRE_PACKET_ERR_KEY);
}

static void
test_packet_accepts_long_trailing_garbage(void)
{
	static uint8_t garbage[3000], out[4000];
	static const uint8_t nonce[4] = { 0xde, 0xad, 0xbe, 0xef };
	struct ident a, b;
	struct wire_packet pkt;
	size_t outlen;

	T_DO(two_idents(&a, &b));
	randombytes_buf(garbage, sizeof(garbage));
	T_EQ_INT(wire_packet_encode_ex(out, sizeof(out), &outlen, &a, b.pub, 3, 77,
	    (const uint8_t *)"hi", 2, nonce, garbage, sizeof(garbage)), WIRE_PACKET_OK);
	T_EQ_U64(outlen, 77 + 2 + 3000);
	T_EQ_INT(wire_packet_decode(out, outlen, b.pub, plain, sizeof(plain), &pkt),
	    WIRE_PACKET_OK);
	T_EQ_U64(pkt.payload_len, 2);
	T_EQ_MEM(pkt.payload, "hi", 2);
	T_EQ_U64(pkt.garbage_len, 3000);
	T_EQ_U64(pkt.sequence, 77);
}

static void
test_packet_strerror_names_every_error(void)
{
	int e;

	for (e = WIRE_PACKET_OK; e >= WIRE_PACKET_ERR_ARG; e--)
		T_ASSERT(strcmp(wire_packet_strerror(e), "unknown packet error") != 0);
	T_EQ_STR(wire_packet_strerror(1), "unknown packet error");
}

/* --- replay filter --- */

static void
digest_of(uint8_t d[32], uint32_t i)
{
	blake3_hash(&i, sizeof(i), d);
}

static void
test_replay_detects_duplicate_within_window(void)
{
	struct wire_replay r;
	uint8_t d1[32], d2[32];

	T_EQ_INT(wire_replay_init(&r, 16, 1000), 0);
	digest_of(d1, 1);
	digest_of(d2, 2);
	T_EQ_INT(wire_replay_seen(&r, d1, 0), 0);
	T_EQ_INT(wire_replay_check(&r, d1, 0), 0);
	T_EQ_INT(wire_replay_check(&r, d2, 10), 0);
	T_EQ_INT(wire_replay_check(&r, d1, 500), 1);
	T_EQ_INT(wire_replay_seen(&r, d1, 999), 1);
	T_EQ_INT(wire_replay_check(&r, d1, 999), 1);
	T_EQ_U64(r.replays, 2);
	/* At t = 1000 d1 has had its window: it is new again. */
	T_EQ_INT(wire_replay_check(&r, d1, 1000), 0);
	T_EQ_INT(wire_replay_seen(&r, d2, 1009), 1);
	T_EQ_INT(wire_replay_seen(&r, d2, 1010), 0);
	wire_replay_free(&r);
}

static void
test_replay_evicts_oldest_when_full(void)
{
	struct wire_replay r;
	uint8_t d[32];
	uint32_t i;

	T_EQ_INT(wire_replay_init(&r, 8, 60000), 0);
	for (i = 0; i < 9; i++) {
		digest_of(d, i);
		T_EQ_INT(wire_replay_check(&r, d, i), 0);
	}
	T_EQ_U64(r.evicted_early, 1);
	digest_of(d, 0);
	T_EQ_INT(wire_replay_seen(&r, d, 20), 0);
	for (i = 1; i < 9; i++) {
		digest_of(d, i);
		T_EQ_INT(wire_replay_seen(&r, d, 20), 1);
	}
	wire_replay_free(&r);
	T_EQ_INT(wire_replay_init(&r, 0, 1), -1);
	T_EQ_INT(wire_replay_init(&r, WIRE_REPLAY_CAPACITY_MAX + 1, 1), -1);
	/* An uninitialised or freed filter reports nothing rather than crashing. */
	T_EQ_INT(wire_replay_check(&r, d, 30), 0);
}

/* Random traffic against a naive model: the hash index must agree with a linear scan. */
static void
test_replay_matches_naive_model_under_churn(void)
{
	enum { CAP = 64, WIN = 150, OPS = 200000, SPACE = 300 };
	struct wire_replay r;
	uint32_t mkey[CAP];
	uint64_t mt[CAP], now = 0;
	size_t mhead = 0, mcount = 0, j;
	uint8_t d[32];
	uint32_t k;
	int op, want, got, i;

	T_EQ_INT(wire_replay_init(&r, CAP, WIN), 0);
	for (i = 0; i < OPS; i++) {
		now += randombytes_uniform(3);
		k = randombytes_uniform(SPACE);
		op = randombytes_uniform(4) != 0;	/* 3/4 check, 1/4 seen */
		digest_of(d, k);
		while (mcount > 0 && now - mt[mhead] >= WIN) {
			mhead = (mhead + 1) % CAP;
			mcount--;
		}
		want = 0;
		for (j = 0; j < mcount; j++)
			if (mkey[(mhead + j) % CAP] == k)
				want = 1;
		got = op ? wire_replay_check(&r, d, now) : wire_replay_seen(&r, d, now);
		if (got != want)
			T_FAIL("op %d key %u at %" PRIu64 ": got %d want %d", i, k, now, got, want);
		if (op && !want) {
			if (mcount == CAP) {
				mhead = (mhead + 1) % CAP;
				mcount--;
			}
			mkey[(mhead + mcount) % CAP] = k;
			mt[(mhead + mcount) % CAP] = now;
			mcount++;
		}
		T_EQ_U64(r.count, mcount);
	}
	/* Both ways out were exercised: expiry and early eviction. */
	T_ASSERT(r.evicted_early > 1000);
	T_ASSERT(r.replays > 1000);
	wire_replay_free(&r);
}

static void
test_replay_catches_malleated_signature_of_same_packet(void)
{
	struct ident a, b;
	struct wire_packet pkt;
	struct wire_replay r;
	uint8_t out[128], mal[128], pay[8] = "malleate";
	size_t outlen, i;
	int borrow, dd;

	T_DO(two_idents(&a, &b));
	T_EQ_INT(wire_replay_init(&r, 32, 60000), 0);
	T_EQ_INT(wire_packet_encode(out, sizeof(out), &outlen, &a, b.pub, 10, 5,
	    pay, sizeof(pay)), WIRE_PACKET_OK);
	T_EQ_INT(wire_packet_decode(out, outlen, b.pub, plain, sizeof(plain), &pkt),
	    WIRE_PACKET_OK);
	T_EQ_INT(wire_replay_check(&r, pkt.signed_hash, 1), 0);
	T_EQ_INT(wire_packet_decode(out, outlen, b.pub, plain, sizeof(plain), &pkt),
	    WIRE_PACKET_OK);
	T_EQ_INT(wire_replay_check(&r, pkt.signed_hash, 2), 1);

	/* s -> n - s, recid ^ 1: different bytes, same sender, same signed hash. */
	memcpy(mal, out, outlen);
	xor_signature(mal, outlen, b.pub);
	for (i = 32, borrow = 0; i-- > 0;) {
		dd = tvec_curve_n[i] - mal[outlen - 32 + i] - borrow;
		borrow = dd < 0;
		mal[outlen - 32 + i] = (uint8_t)(dd + (borrow ? 256 : 0));
	}
	mal[outlen - 65] = (uint8_t)(31 + ((mal[outlen - 65] - 31) ^ 1));
	xor_signature(mal, outlen, b.pub);
	T_ASSERT(memcmp(mal, out, outlen) != 0);
	T_EQ_INT(wire_packet_decode(mal, outlen, b.pub, plain, sizeof(plain), &pkt),
	    WIRE_PACKET_OK);
	T_EQ_MEM(pkt.sender, a.pub, 33);
	T_EQ_INT(wire_replay_check(&r, pkt.signed_hash, 3), 1);

	/* Header 31/32 -> 27/28 (the ignored "compressed" flag): also the same packet. */
	memcpy(mal, out, outlen);
	xor_signature(mal, outlen, b.pub);
	mal[outlen - 65] -= 4;
	xor_signature(mal, outlen, b.pub);
	T_EQ_INT(wire_packet_decode(mal, outlen, b.pub, plain, sizeof(plain), &pkt),
	    WIRE_PACKET_OK);
	T_EQ_MEM(pkt.sender, a.pub, 33);
	T_EQ_INT(wire_replay_check(&r, pkt.signed_hash, 4), 1);
	wire_replay_free(&r);
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_packet_decodes_every_reference_packet);
	T_RUN(test_packet_reencodes_reference_packets_byte_for_byte);
	T_RUN(test_packet_corrupted_reference_packets_give_documented_outcome);
	T_RUN(test_packet_corrupted_payload_recovers_the_reference_random_sender);
	T_RUN(test_packet_garbage_max_follows_508_1232_rule);
	T_RUN(test_packet_round_trips_1000_random_packets);
	T_RUN(test_packet_rejects_every_truncation);
	T_RUN(test_packet_wrong_receiver_key_never_yields_the_sender);
	T_RUN(test_packet_rejects_flipped_bits_or_changes_sender);
	T_RUN(test_packet_rejects_bad_signature_header_and_range);
	T_RUN(test_packet_rejects_own_packet_looped_back);
	T_RUN(test_packet_discovery_packets_open_with_discovery_key);
	T_RUN(test_packet_size_limits_and_buffer_checks);
	T_RUN(test_packet_accepts_long_trailing_garbage);
	T_RUN(test_packet_strerror_names_every_error);
	T_RUN(test_replay_detects_duplicate_within_window);
	T_RUN(test_replay_evicts_oldest_when_full);
	T_RUN(test_replay_matches_naive_model_under_churn);
	T_RUN(test_replay_catches_malleated_signature_of_same_packet);
	return t_done();
}
