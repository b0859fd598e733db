/* test_msg_traverse.c — Traverse (§3.7): layout, signature, relay address fill. */
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
#include "wire_packet.h"

static uint8_t out[WIRE_MSG_BUDGET];
static uint64_t rng = 0x0badc0ffee123457ULL;

static int
key(struct ident *id, const char *priv_hex)
{
	uint8_t priv[32];

	if (hex_decode(priv, 32, priv_hex) != 32)
		return -1;
	return ident_from_priv(id, priv);
}

#define KEY_A "1111111111111111111111111111111111111111111111111111111111111111"
#define KEY_B "2222222222222222222222222222222222222222222222222222222222222222"
#define KEY_C "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"

/* The vectors' cast: A the creator, B the relay, C the target; t a
 * Traverse from A to C through B with nothing else set yet. */
static int
abc_traverse(struct ident *a, struct ident *b, struct ident *c,
    struct wire_traverse *t)
{
	if (key(a, KEY_A) != 0 || key(b, KEY_B) != 0 || key(c, KEY_C) != 0)
		return -1;
	memset(t, 0, sizeof(*t));
	memcpy(t->target, c->pub, 33);
	memcpy(t->relay, b->pub, 33);
	return 0;
}

struct vec {
	uint8_t	created[512], relayed[512], embedded[256], signed_hash[32];
	size_t	len, embedded_len;
	uint64_t expires;
	struct wire_traverse_addr addr;
	json_t	*decoded, *root;
};

static int
load(struct vec *v)
{
	json_t *t, *d;
	long n;

	memset(v, 0, sizeof(*v));
	if ((v->root = tvec_load("messages.json")) == NULL)
		return -1;
	t = json_object_get(v->root, "traverse");
	d = v->decoded = json_object_get(t, "decoded");
	v->len = tvec_u64(t, "length");
	if (hex_decode(v->created, sizeof(v->created),
	    tvec_str(t, "payload_as_created_by_sender")) != (long)v->len ||
	    hex_decode(v->relayed, sizeof(v->relayed),
	    tvec_str(t, "payload_after_relay_set_address")) != (long)v->len ||
	    tvec_hex_exact(t, "signed_hash", v->signed_hash, 32) != 0)
		return -1;
	n = hex_decode(v->embedded, sizeof(v->embedded), tvec_str(t, "embedded_packet_raw"));
	if (n < 0)
		return -1;
	v->embedded_len = (size_t)n;
	v->expires = tvec_u64(d, "expires_unix");
	if (inet_pton(AF_INET, tvec_str(d, "ipv4"), v->addr.ipv4) != 1 ||
	    inet_pton(AF_INET6, tvec_str(d, "ipv6"), v->addr.ipv6) != 1)
		return -1;
	v->addr.ipv4_port = (uint16_t)tvec_u64(d, "port_ipv4");
	v->addr.ipv4_port_external = (uint16_t)tvec_u64(d, "port_ipv4_reported_external");
	v->addr.ipv6_port = (uint16_t)tvec_u64(d, "port_ipv6");
	v->addr.ipv6_port_external = (uint16_t)tvec_u64(d, "port_ipv6_reported_external");
	return 0;
}

static void
test_traverse_vector_decodes_every_field(void)
{
	struct wire_traverse t;
	struct vec v;
	uint8_t want[33];
	static const uint8_t zero[28];

	T_ASSERT(load(&v) == 0);
	T_EQ_INT(v.len, WIRE_TRAVERSE_FIXED + v.embedded_len);
	T_EQ_INT(wire_traverse_decode(v.relayed, v.len, &t), 0);
	T_ASSERT(tvec_hex_exact(v.decoded, "target_peer", want, 33) == 0);
	T_EQ_MEM(t.target, want, 33);
	T_ASSERT(tvec_hex_exact(v.decoded, "authorized_relay_peer", want, 33) == 0);
	T_EQ_MEM(t.relay, want, 33);
	T_ASSERT(tvec_hex_exact(v.decoded, "signer_public_key", want, 33) == 0);
	T_EQ_MEM(t.signer, want, 33);
	T_EQ_U64(t.expires, v.expires);
	T_EQ_INT(t.embedded_len, tvec_u64(v.decoded, "embedded_packet_size"));
	T_EQ_MEM(t.embedded, v.embedded, v.embedded_len);
	T_EQ_MEM(t.addr.ipv4, v.addr.ipv4, 4);
	T_EQ_INT(t.addr.ipv4_port, v.addr.ipv4_port);
	T_EQ_INT(t.addr.ipv4_port_external, v.addr.ipv4_port_external);
	T_EQ_MEM(t.addr.ipv6, v.addr.ipv6, 16);
	T_EQ_INT(t.addr.ipv6_port, v.addr.ipv6_port);
	T_EQ_INT(t.addr.ipv6_port_external, v.addr.ipv6_port_external);
	/* As created by the sender: same, with a zero address block. */
	T_EQ_INT(wire_traverse_decode(v.created, v.len, &t), 0);
	T_EQ_MEM(t.signer, want, 33);
	T_EQ_MEM(t.addr.ipv4, zero, 4);
	T_EQ_MEM(t.addr.ipv6, zero, 16);
	T_EQ_MEM(v.created + v.len - 28, zero, 28);
	T_EQ_INT(t.addr.ipv4_port, 0);
	T_EQ_INT(t.addr.ipv6_port_external, 0);
	json_decref(v.root);
}

static void
test_traverse_vector_signed_hash_and_signature_recover_a(void)
{
	struct ident a, b;
	struct vec v;
	uint8_t hash[32];

	T_ASSERT(load(&v) == 0);
	T_EQ_INT(key(&a, KEY_A), 0);
	T_EQ_INT(key(&b, KEY_B), 0);
	T_EQ_INT(wire_traverse_signed_hash(v.relayed, v.len, hash), 0);
	T_EQ_MEM(hash, v.signed_hash, 32);
	T_EQ_INT(wire_traverse_signed_hash(v.created, v.len, hash), 0);
	T_EQ_MEM(hash, v.signed_hash, 32);
	T_EQ_INT(wire_traverse_verify(v.created, v.len, a.pub), 0);
	/* The relay's address block is outside the signature. */
	T_EQ_INT(wire_traverse_verify(v.relayed, v.len, a.pub), 0);
	T_EQ_INT(wire_traverse_verify(v.relayed, v.len, b.pub), WIRE_MSG_ERR_SIGNATURE);
	json_decref(v.root);
}

static void
test_traverse_vector_reencodes_before_and_after_relay_fill(void)
{
	struct ident a, b, c;
	struct wire_traverse t;
	struct vec v;
	size_t n;

	T_ASSERT(load(&v) == 0);
	T_EQ_INT(abc_traverse(&a, &b, &c, &t), 0);
	t.expires = v.expires;
	t.embedded = v.embedded;
	t.embedded_len = v.embedded_len;
	T_EQ_INT(wire_traverse_encode(out, sizeof(out), &n, &t), 0);
	T_EQ_INT(n, v.len);
	/* RFC 6979 signatures are deterministic: signing gives the reference bytes. */
	T_EQ_INT(wire_traverse_sign(out, n, &a), 0);
	T_EQ_MEM(out, v.created, v.len);
	T_EQ_INT(wire_traverse_set_address(out, n, &v.addr), 0);
	T_EQ_MEM(out, v.relayed, v.len);
	json_decref(v.root);
}

static void
test_traverse_vector_embedded_packet_decodes_with_c_key(void)
{
	static uint8_t plain[WIRE_PACKET_MAX];
	json_t *e;
	struct wire_traverse t;
	struct wire_packet pkt;
	struct ident a, c;
	struct vec v;
	uint8_t payload[256];
	long plen;
	int rc;

	T_ASSERT(load(&v) == 0);
	T_EQ_INT(key(&a, KEY_A), 0);
	T_EQ_INT(key(&c, KEY_C), 0);
	T_EQ_INT(wire_traverse_decode(v.relayed, v.len, &t), 0);
	rc = wire_packet_decode(t.embedded, t.embedded_len, c.pub, plain,
	    sizeof(plain), &pkt);
	if (rc != 0) {
		json_decref(v.root);
		T_FAIL("wire_packet_decode: %s", wire_packet_strerror(rc));
	}
	e = json_object_get(json_object_get(v.root, "traverse"),
	    "embedded_packet_decodes_for_C");
	T_EQ_MEM(pkt.sender, a.pub, 33);
	/* B (target) requires the embedded sender to equal the Traverse signer (§8 step 5). */
	T_EQ_MEM(pkt.sender, t.signer, 33);
	T_EQ_INT(pkt.protocol, tvec_u64(e, "protocol"));
	T_EQ_INT(pkt.command, tvec_u64(e, "command"));
	T_EQ_INT(pkt.command, WIRE_CMD_ANNOUNCEMENT);
	T_EQ_U64(pkt.sequence, tvec_u64(e, "sequence"));
	plen = hex_decode(payload, sizeof(payload), tvec_str(e, "payload"));
	T_EQ_INT(pkt.payload_len, plen);
	T_EQ_MEM(pkt.payload, payload, (size_t)plen);
	json_decref(v.root);
}

static void
test_traverse_every_truncation_is_rejected(void)
{
	struct wire_traverse t;
	struct vec v;
	size_t l;
	int got, want;

	T_ASSERT(load(&v) == 0);
	for (l = 0; l < v.len; l++) {
		want = l < WIRE_TRAVERSE_FIXED ? WIRE_MSG_ERR_SHORT : WIRE_MSG_ERR_EMBED_LEN;
		if ((got = wire_traverse_decode(v.relayed, l, &t)) != want)
			T_FAIL("length %zu: got %d want %d", l, got, want);
	}
	json_decref(v.root);
}

static void
test_traverse_rejects_each_rule(void)
{
	struct wire_traverse t;
	struct vec v;
	uint8_t p[512];
	static const uint8_t mapped[16] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1
	};

	T_ASSERT(load(&v) == 0);
	memcpy(p, v.relayed, v.len);
	p[0] = 0x07;
	T_EQ_INT(wire_traverse_decode(p, v.len, &t), WIRE_MSG_ERR_TARGET_ID);
	memcpy(p, v.relayed, v.len);
	memset(p + 34, 0xff, 32);
	T_EQ_INT(wire_traverse_decode(p, v.len, &t), WIRE_MSG_ERR_RELAY_ID);
	memcpy(p, v.relayed, v.len);
	memcpy(p + 33, p, 33);
	T_EQ_INT(wire_traverse_decode(p, v.len, &t), WIRE_MSG_ERR_TARGET_IS_RELAY);
	memcpy(p, v.relayed, v.len);
	p[74]++;	/* M one too large */
	T_EQ_INT(wire_traverse_decode(p, v.len, &t), WIRE_MSG_ERR_EMBED_LEN);
	p[74] -= 2;	/* one too small */
	T_EQ_INT(wire_traverse_decode(p, v.len, &t), WIRE_MSG_ERR_EMBED_LEN);
	memcpy(p, v.relayed, v.len);
	memcpy(p + v.len - 28 + 8, mapped, 16);
	T_EQ_INT(wire_traverse_decode(p, v.len, &t), WIRE_MSG_ERR_IPV6_MAPPED);
	/* Signature r = 0 recovers nothing. */
	memcpy(p, v.relayed, v.len);
	memset(p + 76 + v.embedded_len + 1, 0, 32);
	T_EQ_INT(wire_traverse_decode(p, v.len, &t), WIRE_MSG_ERR_SIGNATURE);
	T_EQ_INT(wire_traverse_verify(p, v.len, t.target), WIRE_MSG_ERR_SIGNATURE);
	/* A changed embedded byte still recovers, but to someone else (§0.3). */
	{
		struct ident a;

		T_EQ_INT(key(&a, KEY_A), 0);
		memcpy(p, v.relayed, v.len);
		p[100] ^= 1;
		T_EQ_INT(wire_traverse_decode(p, v.len, &t), 0);
		T_ASSERT(memcmp(t.signer, a.pub, 33) != 0);
		T_EQ_INT(wire_traverse_verify(p, v.len, a.pub), WIRE_MSG_ERR_SIGNATURE);
	}
	json_decref(v.root);
}

static void
test_traverse_rejects_embedded_packet_shorter_than_77(void)
{
	struct ident a, b, c;
	struct wire_traverse t, d;
	uint8_t emb[76];
	size_t n;

	T_EQ_INT(abc_traverse(&a, &b, &c, &t), 0);
	memset(emb, 0x42, sizeof(emb));
	t.embedded = emb;
	t.embedded_len = 76;
	T_EQ_INT(wire_traverse_encode(out, sizeof(out), &n, &t), WIRE_MSG_ERR_EMBED_SHORT);
	/* Bytes built by hand: the decoder refuses them too (§12.2). */
	t.embedded_len = 77;
	{
		uint8_t emb77[77];

		memset(emb77, 0x42, sizeof(emb77));
		t.embedded = emb77;
		T_EQ_INT(wire_traverse_encode(out, sizeof(out), &n, &t), 0);
	}
	T_EQ_INT(n, 169 + 77);
	T_EQ_INT(wire_traverse_sign(out, n, &a), 0);
	T_EQ_INT(wire_traverse_decode(out, n, &d), 0);
	memmove(out + 76 + 76, out + 76 + 77, 65 + 28);
	out[74] = 76;
	T_EQ_INT(wire_traverse_decode(out, n - 1, &d), WIRE_MSG_ERR_EMBED_SHORT);
}

static void
test_traverse_encoder_and_relay_refuse_invalid_fields(void)
{
	struct ident b, c;
	struct wire_traverse t;
	struct wire_traverse_addr addr;
	uint8_t emb[100];
	size_t n;

	T_EQ_INT(key(&b, KEY_B), 0);
	T_EQ_INT(key(&c, KEY_C), 0);
	memset(&t, 0, sizeof(t));
	memset(emb, 1, sizeof(emb));
	memcpy(t.target, c.pub, 33);
	memcpy(t.relay, c.pub, 33);
	t.embedded = emb;
	t.embedded_len = sizeof(emb);
	T_EQ_INT(wire_traverse_encode(out, sizeof(out), &n, &t), WIRE_MSG_ERR_TARGET_IS_RELAY);
	t.relay[0] = 0x09;
	T_EQ_INT(wire_traverse_encode(out, sizeof(out), &n, &t), WIRE_MSG_ERR_RELAY_ID);
	memcpy(t.relay, b.pub, 33);
	T_EQ_INT(wire_traverse_encode(out, 168 + 100, &n, &t), WIRE_MSG_ERR_BUF);
	T_EQ_INT(wire_traverse_encode(out, sizeof(out), &n, &t), 0);
	memset(&addr, 0, sizeof(addr));
	addr.ipv6[10] = addr.ipv6[11] = 0xff;
	T_EQ_INT(wire_traverse_set_address(out, n, &addr), WIRE_MSG_ERR_IPV6_MAPPED);
	T_EQ_INT(wire_traverse_set_address(out, n - 1, &addr), WIRE_MSG_ERR_EMBED_LEN);
	T_EQ_INT(wire_traverse_set_address(out, 100, &addr), WIRE_MSG_ERR_SHORT);
}

static void
test_traverse_random_round_trips(void)
{
	static struct ident pool[6];
	uint8_t priv[32], emb[600], again[1024];
	struct wire_traverse t, d, d2;
	size_t n, n2;
	int i, x, y, s;

	for (i = 0; i < 6; i++) {
		do
			t_rnd_bytes(&rng, priv, 32);
		while (ident_from_priv(&pool[i], priv) != 0);
	}
	for (i = 0; i < 200; i++) {
		x = (int)(t_rnd(&rng) % 6);
		y = (x + 1 + (int)(t_rnd(&rng) % 5)) % 6;
		s = (int)(t_rnd(&rng) % 6);
		memset(&t, 0, sizeof(t));
		memcpy(t.target, pool[x].pub, 33);
		memcpy(t.relay, pool[y].pub, 33);
		t.expires = t_rnd(&rng);
		t.embedded_len = 77 + t_rnd(&rng) % 500;
		t_rnd_bytes(&rng, emb, t.embedded_len);
		t.embedded = emb;
		T_EQ_INT(wire_traverse_encode(out, sizeof(out), &n, &t), 0);
		T_EQ_INT(n, 169 + t.embedded_len);
		T_EQ_INT(wire_traverse_sign(out, n, &pool[s]), 0);
		t_rnd_bytes(&rng, (uint8_t *)&t.addr, sizeof(t.addr));
		t.addr.ipv6[10] = 0;
		T_EQ_INT(wire_traverse_set_address(out, n, &t.addr), 0);
		T_EQ_INT(wire_traverse_decode(out, n, &d), 0);
		T_EQ_MEM(d.signer, pool[s].pub, 33);
		T_EQ_MEM(d.target, t.target, 33);
		T_EQ_MEM(d.relay, t.relay, 33);
		T_EQ_U64(d.expires, t.expires);
		T_EQ_INT(d.embedded_len, t.embedded_len);
		T_EQ_MEM(d.embedded, emb, t.embedded_len);
		T_EQ_MEM(d.addr.ipv4, t.addr.ipv4, 4);
		T_EQ_MEM(d.addr.ipv6, t.addr.ipv6, 16);
		T_EQ_INT(d.addr.ipv4_port, t.addr.ipv4_port);
		T_EQ_INT(d.addr.ipv4_port_external, t.addr.ipv4_port_external);
		T_EQ_INT(d.addr.ipv6_port, t.addr.ipv6_port);
		T_EQ_INT(d.addr.ipv6_port_external, t.addr.ipv6_port_external);
		T_EQ_INT(wire_traverse_verify(out, n, pool[s].pub), 0);
		/* Decoded form re-encodes to the same bytes. */
		T_EQ_INT(wire_traverse_encode(again, sizeof(again), &n2, &d), 0);
		T_EQ_INT(n2, n);
		T_EQ_MEM(again, out, n);
		T_EQ_INT(wire_traverse_decode(again, n2, &d2), 0);
		T_EQ_MEM(d2.signer, d.signer, 33);
	}
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_traverse_vector_decodes_every_field);
	T_RUN(test_traverse_vector_signed_hash_and_signature_recover_a);
	T_RUN(test_traverse_vector_reencodes_before_and_after_relay_fill);
	T_RUN(test_traverse_vector_embedded_packet_decodes_with_c_key);
	T_RUN(test_traverse_every_truncation_is_rejected);
	T_RUN(test_traverse_rejects_each_rule);
	T_RUN(test_traverse_rejects_embedded_packet_shorter_than_77);
	T_RUN(test_traverse_encoder_and_relay_refuse_invalid_fields);
	T_RUN(test_traverse_random_round_trips);
	return t_done();
}
