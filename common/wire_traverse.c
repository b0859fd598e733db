/*
 * wire_traverse.c — the Traverse payload (docs/protocol.md §3.7, flow in §8):
 * target, relay, expiry, an embedded packet from A to the target, A's
 * signature over everything before it, and an unsigned address block the
 * relay fills in.
 */
#include <string.h>

#include "blake3.h"
#include "buf.h"
#include "wire_msg.h"

#define SIG_OFF(m)	(76 + (size_t)(m))
#define ADDR_OFF(m)	(76 + (size_t)(m) + PEERNET_SIG_BYTES)

/* Size and M checks shared by every function that works on encoded bytes. */
static int
traverse_layout(const uint8_t *p, size_t len, size_t *m)
{
	if (p == NULL || len < WIRE_TRAVERSE_FIXED)
		return WIRE_MSG_ERR_SHORT;
	*m = buf_le16(p + 74);
	if (*m != len - WIRE_TRAVERSE_FIXED)
		return WIRE_MSG_ERR_EMBED_LEN;
	return WIRE_MSG_OK;
}

/*
 * What signed_hash, sign, verify and set_address start with: their
 * argument is there and the bytes hold a whole message; M, the embedded
 * packet's length.
 */
static int
traverse_edit(const uint8_t *p, size_t len, const void *arg, size_t *m)
{
	if (arg == NULL)
		return WIRE_MSG_ERR_ARG;
	return traverse_layout(p, len, m);
}

/* The signed part's hash; the signature is at SIG_OFF(*m). */
static int
traverse_hash(const uint8_t *p, size_t len, const void *arg, size_t *m,
    uint8_t hash[32])
{
	int rc;

	if ((rc = traverse_edit(p, len, arg, m)) != 0)
		return rc;
	blake3_hash(p, SIG_OFF(*m), hash);
	return WIRE_MSG_OK;
}

/* Target and relay: both valid keys, and not the same peer. */
static int
traverse_ids(const struct wire_traverse *t)
{
	if (ident_pubkey_valid(t->target) != 1)
		return WIRE_MSG_ERR_TARGET_ID;
	if (ident_pubkey_valid(t->relay) != 1)
		return WIRE_MSG_ERR_RELAY_ID;
	if (memcmp(t->target, t->relay, PEERNET_PUBKEY_BYTES) == 0)
		return WIRE_MSG_ERR_TARGET_IS_RELAY;
	return WIRE_MSG_OK;
}

static void
addr_read(const uint8_t *q, struct wire_traverse_addr *a)
{
	struct buf_r r;

	buf_r_init(&r, q, WIRE_TRAVERSE_ADDR_SIZE);
	buf_r_copy(&r, a->ipv4, sizeof(a->ipv4));
	a->ipv4_port = buf_r_le16(&r);
	a->ipv4_port_external = buf_r_le16(&r);
	buf_r_copy(&r, a->ipv6, sizeof(a->ipv6));
	a->ipv6_port = buf_r_le16(&r);
	a->ipv6_port_external = buf_r_le16(&r);
}

static void
addr_write(uint8_t *q, const struct wire_traverse_addr *a)
{
	struct buf_w w;

	buf_w_init(&w, q, WIRE_TRAVERSE_ADDR_SIZE);
	buf_w_bytes(&w, a->ipv4, sizeof(a->ipv4));
	buf_w_le16(&w, a->ipv4_port);
	buf_w_le16(&w, a->ipv4_port_external);
	buf_w_bytes(&w, a->ipv6, sizeof(a->ipv6));
	buf_w_le16(&w, a->ipv6_port);
	buf_w_le16(&w, a->ipv6_port_external);
}

int
wire_traverse_signed_hash(const uint8_t *p, size_t len, uint8_t hash[32])
{
	size_t m;

	return traverse_hash(p, len, hash, &m, hash);
}

int
wire_traverse_decode(const uint8_t *p, size_t len, struct wire_traverse *t)
{
	uint8_t hash[32];
	size_t m;
	int rc;

	if ((rc = wire_decode_begin(t, sizeof(*t), p, len,
	    WIRE_TRAVERSE_FIXED)) != 0)
		return rc;
	memcpy(t->target, p, PEERNET_PUBKEY_BYTES);
	memcpy(t->relay, p + 33, PEERNET_PUBKEY_BYTES);
	if ((rc = traverse_ids(t)) != 0)
		return rc;
	t->expires = buf_le64(p + 66);
	if ((rc = traverse_layout(p, len, &m)) != 0)
		return rc;
	/* The target would open it without the 77-byte check (§12.2). */
	if (m < WIRE_EMBEDDED_PACKET_MIN)
		return WIRE_MSG_ERR_EMBED_SHORT;
	t->embedded = p + 76;
	t->embedded_len = m;
	memcpy(t->sig, p + SIG_OFF(m), PEERNET_SIG_BYTES);
	addr_read(p + ADDR_OFF(m), &t->addr);
	/* Cheap checks first: the recovery below costs an EC operation. */
	if (wire_ipv6_is_v4mapped(t->addr.ipv6))
		return WIRE_MSG_ERR_IPV6_MAPPED;
	blake3_hash(p, SIG_OFF(m), hash);
	if (ident_recover(t->sig, hash, t->signer) != 0)
		return WIRE_MSG_ERR_SIGNATURE;
	return WIRE_MSG_OK;
}

int
wire_traverse_encode(uint8_t *out, size_t cap, size_t *len,
    const struct wire_traverse *t)
{
	struct buf_w w;
	uint8_t *q;
	int rc;

	if (out == NULL || len == NULL || t == NULL || t->embedded == NULL)
		return WIRE_MSG_ERR_ARG;
	if ((rc = traverse_ids(t)) != 0)
		return rc;
	if (t->embedded_len < WIRE_EMBEDDED_PACKET_MIN)
		return WIRE_MSG_ERR_EMBED_SHORT;
	if (t->embedded_len > UINT16_MAX)
		return WIRE_MSG_ERR_TOO_MANY;
	if (wire_ipv6_is_v4mapped(t->addr.ipv6))
		return WIRE_MSG_ERR_IPV6_MAPPED;
	if (cap < WIRE_TRAVERSE_FIXED + t->embedded_len)
		return WIRE_MSG_ERR_BUF;

	buf_w_init(&w, out, cap);
	buf_w_bytes(&w, t->target, PEERNET_PUBKEY_BYTES);
	buf_w_bytes(&w, t->relay, PEERNET_PUBKEY_BYTES);
	buf_w_le64(&w, t->expires);
	buf_w_le16(&w, (uint16_t)t->embedded_len);
	buf_w_bytes(&w, t->embedded, t->embedded_len);
	buf_w_bytes(&w, t->sig, PEERNET_SIG_BYTES);
	if ((q = buf_w_reserve(&w, WIRE_TRAVERSE_ADDR_SIZE)) == NULL)
		return WIRE_MSG_ERR_BUF;
	addr_write(q, &t->addr);
	return wire_encode_end(&w, len);
}

int
wire_traverse_sign(uint8_t *p, size_t len, const struct ident *id)
{
	uint8_t hash[32];
	size_t m;
	int rc;

	if ((rc = traverse_hash(p, len, id, &m, hash)) != 0)
		return rc;
	if (ident_sign(id, hash, p + SIG_OFF(m)) != 0)
		return WIRE_MSG_ERR_SIGN;
	return WIRE_MSG_OK;
}

int
wire_traverse_verify(const uint8_t *p, size_t len,
    const uint8_t expect[PEERNET_PUBKEY_BYTES])
{
	uint8_t hash[32], signer[PEERNET_PUBKEY_BYTES];
	size_t m;
	int rc;

	if ((rc = traverse_hash(p, len, expect, &m, hash)) != 0)
		return rc;
	if (ident_recover(p + SIG_OFF(m), hash, signer) != 0 ||
	    memcmp(signer, expect, sizeof(signer)) != 0)
		return WIRE_MSG_ERR_SIGNATURE;
	return WIRE_MSG_OK;
}

int
wire_traverse_set_address(uint8_t *p, size_t len,
    const struct wire_traverse_addr *a)
{
	size_t m;
	int rc;

	if ((rc = traverse_edit(p, len, a, &m)) != 0)
		return rc;
	/* The target would drop the message (§3.7); write only what it takes. */
	if (wire_ipv6_is_v4mapped(a->ipv6))
		return WIRE_MSG_ERR_IPV6_MAPPED;
	addr_write(p + ADDR_OFF(m), a);
	return WIRE_MSG_OK;
}
