/* wire_packet.c — Peernet v0 packet encryption and signatures (see wire_packet.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "blake3.h"
#include "buf.h"
#include "ident.h"
#include "wire_packet.h"

#define WIRE_SIG_OFF_FROM_END	PEERNET_SIG_BYTES
#define WIRE_BODY_HDR		8	/* protocol, command, sequence, length */

size_t
wire_packet_garbage_max(size_t len0)
{
	/* Padding never carries a packet across 508 (IPv4-safe) or 1232 (IPv6 MTU). */
	if (len0 == 508 || len0 == 1232)
		return 0;
	if (len0 < 508 && 508 - len0 < 20)
		return 508 - len0;
	if (len0 < 1232 && 1232 - len0 < 20)
		return 1232 - len0;
	return 20;
}

static void
wire_xor(uint8_t *dst, const uint8_t *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] ^= src[i];
}

static void
wire_nonce8(uint8_t n8[crypto_stream_salsa20_NONCEBYTES], const uint8_t r4[4])
{
	memcpy(n8, r4, 4);
	memcpy(n8 + 4, r4, 4);
}

static int
wire_pub_prefix_ok(const uint8_t pub[PEERNET_PUBKEY_BYTES])
{
	/*
	 * Only the X coordinate keys Salsa20, so the prefix is all we check here:
	 * a full point check costs a square root per packet, and keys reach us
	 * already validated (recovered from signatures, or parsed from config).
	 */
	return pub[0] == 0x02 || pub[0] == 0x03;
}

int
wire_packet_encode_ex(uint8_t *out, size_t cap, size_t *out_len,
    const struct ident *sender, const uint8_t receiver_pub[PEERNET_PUBKEY_BYTES],
    uint8_t command, uint32_t sequence, const uint8_t *payload,
    size_t payload_len, const uint8_t nonce[4], const uint8_t *garbage,
    size_t garbage_len)
{
	uint8_t n8[crypto_stream_salsa20_NONCEBYTES];
	uint8_t ks_sig[PEERNET_SIG_BYTES];
	uint8_t hdr[WIRE_BODY_HDR];
	uint8_t hash[BLAKE3_OUT_LEN];
	uint8_t sig[PEERNET_SIG_BYTES];
	struct buf_w w;
	size_t body, total, ks_len;
	uint8_t *p;

	if (out == NULL || out_len == NULL || sender == NULL ||
	    receiver_pub == NULL || nonce == NULL ||
	    (payload == NULL && payload_len > 0) ||
	    (garbage == NULL && garbage_len > 0))
		return WIRE_PACKET_ERR_ARG;
	if (payload_len > WIRE_PAYLOAD_MAX || garbage_len > WIRE_PACKET_MAX)
		return WIRE_PACKET_ERR_LONG;
	body = WIRE_BODY_HDR + payload_len + garbage_len;
	total = 4 + body + PEERNET_SIG_BYTES;
	if (total > WIRE_PACKET_MAX)
		return WIRE_PACKET_ERR_LONG;
	if (cap < total)
		return WIRE_PACKET_ERR_BUF;
	if (!wire_pub_prefix_ok(receiver_pub))
		return WIRE_PACKET_ERR_KEY;
	if (ident_crypto_init() != IDENT_OK)
		return WIRE_PACKET_ERR_INIT;

	buf_w_init(&w, hdr, sizeof(hdr));
	buf_w_u8(&w, WIRE_PROTOCOL_V0);
	buf_w_u8(&w, command);
	buf_w_le32(&w, sequence);
	buf_w_le16(&w, (uint16_t)payload_len);
	if (w.err)
		return WIRE_PACKET_ERR_BUF;

	/*
	 * One keystream generation serves both the body and the signature (which
	 * reuses keystream bytes 0..64, §2.2): write max(body, 65) keystream bytes
	 * where the body goes (there are body + 65 bytes of room), keep the first
	 * 65 for the signature, then XOR the plaintext in.
	 */
	memcpy(out, nonce, 4);
	wire_nonce8(n8, nonce);
	p = out + 4;
	ks_len = body > PEERNET_SIG_BYTES ? body : PEERNET_SIG_BYTES;
	crypto_stream_salsa20(p, ks_len, n8, receiver_pub + 1);
	memcpy(ks_sig, p, PEERNET_SIG_BYTES);
	wire_xor(p, hdr, WIRE_BODY_HDR);
	wire_xor(p + WIRE_BODY_HDR, payload, payload_len);
	wire_xor(p + WIRE_BODY_HDR + payload_len, garbage, garbage_len);

	/* Encrypt-then-sign: the digest covers nonce || ciphertext. */
	blake3_hash(out, 4 + body, hash);
	if (ident_sign(sender, hash, sig) != IDENT_OK)
		return WIRE_PACKET_ERR_SIGN;
	wire_xor(sig, ks_sig, PEERNET_SIG_BYTES);
	memcpy(p + body, sig, PEERNET_SIG_BYTES);
	*out_len = total;
	return WIRE_PACKET_OK;
}

/*
 * Nonces and garbage are public (sent in clear or encrypted to a public key),
 * so a per-thread pool refilled from the CSPRNG is safe and saves a getrandom
 * syscall per packet (~3% of an encode).  A forked child would repeat the
 * parent's pool: harmless for these bytes, and netd does not fork.
 */
#define WIRE_RND_POOL	4096
static __thread uint8_t	wire_rnd_pool[WIRE_RND_POOL];
static __thread size_t	wire_rnd_left;

static void
wire_random(uint8_t *out, size_t n)
{
	if (n > wire_rnd_left) {
		randombytes_buf(wire_rnd_pool, sizeof(wire_rnd_pool));
		wire_rnd_left = sizeof(wire_rnd_pool);
	}
	memcpy(out, wire_rnd_pool + sizeof(wire_rnd_pool) - wire_rnd_left, n);
	wire_rnd_left -= n;
}

int
wire_packet_encode(uint8_t *out, size_t cap, size_t *out_len,
    const struct ident *sender, const uint8_t receiver_pub[PEERNET_PUBKEY_BYTES],
    uint8_t command, uint32_t sequence, const uint8_t *payload,
    size_t payload_len)
{
	/* nonce(4) || garbage length draw(4) || garbage(19). */
	uint8_t rnd[4 + 4 + WIRE_GARBAGE_MAX];
	size_t gmax, glen = 0;

	if (payload_len > WIRE_PAYLOAD_MAX)
		return WIRE_PACKET_ERR_LONG;
	if (ident_crypto_init() != IDENT_OK)
		return WIRE_PACKET_ERR_INIT;
	wire_random(rnd, sizeof(rnd));
	gmax = wire_packet_garbage_max(WIRE_PACKET_MIN + payload_len);
	/* The modulo bias of a 32-bit draw mod <= 20 is below 2^-27: irrelevant here. */
	if (gmax > 0)
		glen = buf_le32(rnd + 4) % gmax;
	return wire_packet_encode_ex(out, cap, out_len, sender, receiver_pub,
	    command, sequence, payload, payload_len, rnd, rnd + 8, glen);
}

static int
wire_overlap(const void *a, size_t alen, const void *b, size_t blen)
{
	uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b;

	return pa < pb + blen && pb < pa + alen;
}

static int
wire_map_ident_err(int rc)
{
	switch (rc) {
	case IDENT_ERR_SIG_HEADER:
		return WIRE_PACKET_ERR_SIG_HEADER;
	case IDENT_ERR_SIG_RANGE:
		return WIRE_PACKET_ERR_SIG_RANGE;
	case IDENT_ERR_INIT:
		return WIRE_PACKET_ERR_INIT;
	default:
		return WIRE_PACKET_ERR_RECOVER;
	}
}

int
wire_packet_decode_ex(const uint8_t *raw, size_t len,
    const uint8_t key_pub[PEERNET_PUBKEY_BYTES],
    const uint8_t self_pub[PEERNET_PUBKEY_BYTES], uint8_t *plain,
    size_t plain_cap, struct wire_packet *pkt)
{
	uint8_t n8[crypto_stream_salsa20_NONCEBYTES];
	uint8_t sig[PEERNET_SIG_BYTES];
	struct buf_r r;
	size_t body, ks_len, i;
	uint16_t plen;
	int rc;

	if (raw == NULL || key_pub == NULL || plain == NULL || pkt == NULL)
		return WIRE_PACKET_ERR_ARG;
	if (len < WIRE_PACKET_MIN)
		return WIRE_PACKET_ERR_SHORT;
	if (len > WIRE_PACKET_MAX)
		return WIRE_PACKET_ERR_LONG;
	if (plain_cap < len)
		return WIRE_PACKET_ERR_BUF;
	if (wire_overlap(raw, len, plain, plain_cap))
		return WIRE_PACKET_ERR_ARG;
	if (ident_crypto_init() != IDENT_OK)
		return WIRE_PACKET_ERR_INIT;

	/* One keystream of max(body, 65) bytes decrypts the body and the signature. */
	body = len - 4 - PEERNET_SIG_BYTES;
	ks_len = body > PEERNET_SIG_BYTES ? body : PEERNET_SIG_BYTES;
	wire_nonce8(n8, raw);
	crypto_stream_salsa20(plain, ks_len, n8, key_pub + 1);
	for (i = 0; i < PEERNET_SIG_BYTES; i++)
		sig[i] = raw[len - WIRE_SIG_OFF_FROM_END + i] ^ plain[i];
	wire_xor(plain, raw + 4, body);

	/*
	 * Without a MAC these two bytes are the integrity check (§2.3); testing
	 * them before recovery drops random junk without an ECDSA operation.
	 */
	buf_r_init(&r, plain, body);
	pkt->protocol = buf_r_u8(&r);
	pkt->command = buf_r_u8(&r);
	pkt->sequence = buf_r_le32(&r);
	plen = buf_r_le16(&r);
	if (r.err)
		return WIRE_PACKET_ERR_SHORT;
	if (pkt->protocol != WIRE_PROTOCOL_V0)
		return WIRE_PACKET_ERR_PROTOCOL;
	if (plen > buf_r_left(&r))
		return WIRE_PACKET_ERR_LENGTH;
	pkt->payload = buf_r_take(&r, plen);
	pkt->payload_len = plen;
	pkt->garbage_len = buf_r_left(&r);
	if (pkt->payload == NULL)
		return WIRE_PACKET_ERR_LENGTH;
	if (sig[0] < 27 || sig[0] > 34)
		return WIRE_PACKET_ERR_SIG_HEADER;

	blake3_hash(raw, len - PEERNET_SIG_BYTES, pkt->signed_hash);
	rc = ident_recover(sig, pkt->signed_hash, pkt->sender);
	if (rc != IDENT_OK)
		return wire_map_ident_err(rc);
	if (self_pub != NULL &&
	    memcmp(pkt->sender, self_pub, PEERNET_PUBKEY_BYTES) == 0)
		return WIRE_PACKET_ERR_SELF;
	return WIRE_PACKET_OK;
}

int
wire_packet_decode(const uint8_t *raw, size_t len,
    const uint8_t own_pub[PEERNET_PUBKEY_BYTES], uint8_t *plain,
    size_t plain_cap, struct wire_packet *pkt)
{
	return wire_packet_decode_ex(raw, len, own_pub, own_pub, plain,
	    plain_cap, pkt);
}

const char *
wire_packet_strerror(int err)
{
	switch (err) {
	case WIRE_PACKET_OK:
		return "success";
	case WIRE_PACKET_ERR_SHORT:
		return "packet shorter than 77 bytes";
	case WIRE_PACKET_ERR_LONG:
		return "packet or payload too long";
	case WIRE_PACKET_ERR_BUF:
		return "buffer too small";
	case WIRE_PACKET_ERR_PROTOCOL:
		return "unsupported protocol version";
	case WIRE_PACKET_ERR_LENGTH:
		return "payload length field larger than the packet";
	case WIRE_PACKET_ERR_SIG_HEADER:
		return "bad signature header byte";
	case WIRE_PACKET_ERR_SIG_RANGE:
		return "signature r or s out of range";
	case WIRE_PACKET_ERR_RECOVER:
		return "signature recovery failed";
	case WIRE_PACKET_ERR_SELF:
		return "packet sent by ourselves (loopback)";
	case WIRE_PACKET_ERR_KEY:
		return "invalid receiver public key";
	case WIRE_PACKET_ERR_SIGN:
		return "signing failed";
	case WIRE_PACKET_ERR_INIT:
		return "crypto library initialisation failed";
	case WIRE_PACKET_ERR_ARG:
		return "invalid argument";
	}
	return "unknown packet error";
}

/* --- replay filter ------------------------------------------------------ */

#define WIRE_REPLAY_KEY	16	/* digest prefix kept: 128 bits, no accidental collisions */

struct wire_replay_slot {
	uint8_t		key[WIRE_REPLAY_KEY];
	uint64_t	t_ms;		/* when it was inserted */
	uint32_t	home;		/* keyed hash, masked: its preferred index slot */
};

static uint32_t
wire_replay_home(const struct wire_replay *r, const uint8_t *key)
{
	uint8_t h[crypto_shorthash_BYTES];

	crypto_shorthash(h, key, WIRE_REPLAY_KEY, r->sipkey);
	return (uint32_t)buf_le64(h) & r->index_mask;
}

int
wire_replay_init(struct wire_replay *r, uint32_t capacity, uint64_t window_ms)
{
	uint32_t size = 1;

	if (r == NULL)
		return -1;
	memset(r, 0, sizeof(*r));
	if (capacity == 0 || capacity > WIRE_REPLAY_CAPACITY_MAX ||
	    ident_crypto_init() != IDENT_OK)
		return -1;
	while (size < 2 * capacity)
		size <<= 1;
	r->ring = calloc(capacity, sizeof(*r->ring));
	r->index = calloc(size, sizeof(*r->index));
	if (r->ring == NULL || r->index == NULL) {
		wire_replay_free(r);
		return -1;
	}
	r->capacity = capacity;
	r->index_mask = size - 1;
	r->window_ms = window_ms;
	randombytes_buf(r->sipkey, sizeof(r->sipkey));
	return 0;
}

void
wire_replay_free(struct wire_replay *r)
{
	if (r == NULL)
		return;
	free(r->ring);
	free(r->index);
	memset(r, 0, sizeof(*r));
}

/* Index slot holding ring position pos (which must be present). */
static uint32_t
wire_replay_slot_of(const struct wire_replay *r, uint32_t pos)
{
	uint32_t i = r->ring[pos].home;

	while (r->index[i] != pos + 1)
		i = (i + 1) & r->index_mask;
	return i;
}

/* Removes the oldest entry: backward-shift deletion keeps probe chains intact. */
static void
wire_replay_pop(struct wire_replay *r)
{
	uint32_t i, j, k;

	i = wire_replay_slot_of(r, r->head);
	j = i;
	for (;;) {
		j = (j + 1) & r->index_mask;
		if (r->index[j] == 0)
			break;
		k = r->ring[r->index[j] - 1].home;
		/* The entry at j may move to i only if its home is not in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		r->index[i] = r->index[j];
		i = j;
	}
	r->index[i] = 0;
	r->head = (r->head + 1) % r->capacity;
	r->count--;
}

static void
wire_replay_expire(struct wire_replay *r, uint64_t now_ms)
{
	const struct wire_replay_slot *s;

	while (r->count > 0) {
		s = &r->ring[r->head];
		if (now_ms < s->t_ms || now_ms - s->t_ms < r->window_ms)
			break;
		wire_replay_pop(r);
	}
}

static int
wire_replay_find(const struct wire_replay *r, const uint8_t *key, uint32_t home)
{
	uint32_t i = home, pos;

	while ((pos = r->index[i]) != 0) {
		if (r->ring[pos - 1].home == home &&
		    memcmp(r->ring[pos - 1].key, key, WIRE_REPLAY_KEY) == 0)
			return 1;
		i = (i + 1) & r->index_mask;
	}
	return 0;
}

int
wire_replay_seen(struct wire_replay *r, const uint8_t digest[32], uint64_t now_ms)
{
	if (r == NULL || r->ring == NULL)
		return 0;
	wire_replay_expire(r, now_ms);
	return wire_replay_find(r, digest, wire_replay_home(r, digest));
}

int
wire_replay_check(struct wire_replay *r, const uint8_t digest[32], uint64_t now_ms)
{
	struct wire_replay_slot *s;
	uint32_t home, pos, i;

	if (r == NULL || r->ring == NULL)
		return 0;
	wire_replay_expire(r, now_ms);
	home = wire_replay_home(r, digest);
	if (wire_replay_find(r, digest, home)) {
		r->replays++;
		return 1;
	}
	if (r->count == r->capacity) {
		wire_replay_pop(r);
		r->evicted_early++;
	}
	pos = (r->head + r->count) % r->capacity;
	s = &r->ring[pos];
	memcpy(s->key, digest, WIRE_REPLAY_KEY);
	s->t_ms = now_ms;
	s->home = home;
	/* Load factor <= 1/2, so a free slot is always near. */
	for (i = home; r->index[i] != 0; i = (i + 1) & r->index_mask)
		;
	r->index[i] = pos + 1;
	r->count++;
	return 0;
}
