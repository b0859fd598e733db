/*
 * noise.c — Noise handshakes IK / XX / NN over 25519, ChaChaPoly and
 * BLAKE2b or SHA256 (see noise.h).  Section numbers are the Noise
 * specification's (revision 34).
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "noise.h"

enum tok { T_END = 0, T_E, T_S, T_EE, T_ES, T_SE, T_SS };

#define MSGS_MAX	3
#define TOKS_MAX	5

struct pattern {
	const char	*name;
	int		 resp_static_pre;	/* "<- s" pre-message */
	int		 nmsg;
	uint8_t		 tok[MSGS_MAX][TOKS_MAX];
};

static const struct pattern patterns[] = {
	[NOISE_PATTERN_IK] = { "IK", 1, 2, {
		{ T_E, T_ES, T_S, T_SS, T_END },
		{ T_E, T_EE, T_SE, T_END } } },
	[NOISE_PATTERN_XX] = { "XX", 0, 3, {
		{ T_E, T_END },
		{ T_E, T_EE, T_S, T_ES, T_END },
		{ T_S, T_SE, T_END } } },
	[NOISE_PATTERN_NN] = { "NN", 0, 2, {
		{ T_E, T_END },
		{ T_E, T_EE, T_END } } },
};

/* ---- hash, HMAC, HKDF (§4.3) ------------------------------------------- */

struct hctx {
	int	hash;
	union {
		crypto_generichash_blake2b_state b;
		crypto_hash_sha256_state	 s;
	} u;
};

static size_t
hash_len(int hash)
{
	return hash == NOISE_HASH_SHA256 ? 32 : 64;
}

static size_t
block_len(int hash)
{
	return hash == NOISE_HASH_SHA256 ? 64 : 128;
}

static void
h_init(struct hctx *c, int hash)
{
	c->hash = hash;
	if (hash == NOISE_HASH_SHA256)
		crypto_hash_sha256_init(&c->u.s);
	else
		crypto_generichash_blake2b_init(&c->u.b, NULL, 0, 64);
}

static void
h_update(struct hctx *c, const uint8_t *p, size_t n)
{
	if (c->hash == NOISE_HASH_SHA256)
		crypto_hash_sha256_update(&c->u.s, p, n);
	else
		crypto_generichash_blake2b_update(&c->u.b, p, n);
}

static void
h_final(struct hctx *c, uint8_t *out)
{
	if (c->hash == NOISE_HASH_SHA256)
		crypto_hash_sha256_final(&c->u.s, out);
	else
		crypto_generichash_blake2b_final(&c->u.b, out, 64);
	sodium_memzero(&c->u, sizeof(c->u));
}

/* HMAC over parts: key (<= block length here: ck, temp keys are hlen). */
static void
hmac2(int hash, const uint8_t *key, size_t klen, const uint8_t *a, size_t alen,
    const uint8_t *b, size_t blen, uint8_t *out)
{
	uint8_t pad[128], kh[NOISE_HASH_MAX], inner[NOISE_HASH_MAX];
	size_t bl = block_len(hash), i;
	struct hctx c;

	if (klen > bl) {	/* RFC 2104: long keys are hashed first */
		h_init(&c, hash);
		h_update(&c, key, klen);
		h_final(&c, kh);
		key = kh;
		klen = hash_len(hash);
	}
	memset(pad, 0, sizeof(pad));
	memcpy(pad, key, klen);
	for (i = 0; i < bl; i++)
		pad[i] ^= 0x36;
	h_init(&c, hash);
	h_update(&c, pad, bl);
	if (alen)
		h_update(&c, a, alen);
	if (blen)
		h_update(&c, b, blen);
	h_final(&c, inner);
	for (i = 0; i < bl; i++)
		pad[i] ^= 0x36 ^ 0x5c;
	h_init(&c, hash);
	h_update(&c, pad, bl);
	h_update(&c, inner, hash_len(hash));
	h_final(&c, out);
	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(kh, sizeof(kh));
	sodium_memzero(inner, sizeof(inner));
}

void
noise_hmac(int hash, const uint8_t *key, size_t klen, const uint8_t *in,
    size_t len, uint8_t *out)
{
	hmac2(hash, key, klen, in, len, NULL, 0, out);
}

void
noise_hkdf(int hash, const uint8_t *ck, const uint8_t *ikm, size_t ilen,
    uint8_t *o1, uint8_t *o2, uint8_t *o3)
{
	uint8_t temp[NOISE_HASH_MAX], b;
	size_t hl = hash_len(hash);

	noise_hmac(hash, ck, hl, ikm, ilen, temp);
	b = 1;
	noise_hmac(hash, temp, hl, &b, 1, o1);
	b = 2;
	hmac2(hash, temp, hl, o1, hl, &b, 1, o2);
	if (o3 != NULL) {
		b = 3;
		hmac2(hash, temp, hl, o2, hl, &b, 1, o3);
	}
	sodium_memzero(temp, sizeof(temp));
}

/* ---- CipherState (§5.1) ------------------------------------------------- */

static void
nonce12(uint8_t nonce[12], uint64_t n)
{
	int i;

	memset(nonce, 0, 4);	/* 32 zero bits, then the counter little-endian */
	for (i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

int
noise_cipher_encrypt(struct noise_cipher *c, const uint8_t *ad, size_t adlen,
    const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t nonce[12];
	unsigned long long clen;

	if (!c->has_key) {
		if (cap < len)
			return NOISE_ERR_BUF;
		memmove(out, in, len);
		*out_len = len;
		return NOISE_OK;
	}
	if (cap < len + NOISE_TAG_LEN)
		return NOISE_ERR_BUF;
	if (c->n == NOISE_NONCE_MAX)
		return NOISE_ERR_NONCE;
	nonce12(nonce, c->n);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, in, len, ad, adlen,
	    NULL, nonce, c->k);
	c->n++;
	*out_len = (size_t)clen;
	return NOISE_OK;
}

int
noise_cipher_decrypt(struct noise_cipher *c, const uint8_t *ad, size_t adlen,
    const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t nonce[12];
	unsigned long long plen;

	if (!c->has_key) {
		if (cap < len)
			return NOISE_ERR_BUF;
		memmove(out, in, len);
		*out_len = len;
		return NOISE_OK;
	}
	if (len < NOISE_TAG_LEN)
		return NOISE_ERR_SHORT;
	if (cap < len - NOISE_TAG_LEN)
		return NOISE_ERR_BUF;
	if (c->n == NOISE_NONCE_MAX)
		return NOISE_ERR_NONCE;
	nonce12(nonce, c->n);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &plen, NULL, in, len,
	    ad, adlen, nonce, c->k) != 0)
		return NOISE_ERR_DECRYPT;
	c->n++;	/* only after success (§5.1: a failed decrypt leaves n) */
	*out_len = (size_t)plen;
	return NOISE_OK;
}

/* ---- SymmetricState (§5.2) ---------------------------------------------- */

static void
mix_hash(struct noise_symm *s, const uint8_t *p, size_t n)
{
	struct hctx c;

	h_init(&c, s->hash);
	h_update(&c, s->h, s->hlen);
	h_update(&c, p, n);
	h_final(&c, s->h);
}

static void
mix_key(struct noise_symm *s, const uint8_t *ikm, size_t n)
{
	uint8_t ck[NOISE_HASH_MAX], k[NOISE_HASH_MAX];

	noise_hkdf(s->hash, s->ck, ikm, n, ck, k, NULL);
	memcpy(s->ck, ck, s->hlen);
	memcpy(s->c.k, k, NOISE_KEY_LEN);	/* truncated to 32 bytes (§5.2) */
	s->c.n = 0;
	s->c.has_key = 1;
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(k, sizeof(k));
}

static int
encrypt_and_hash(struct noise_symm *s, const uint8_t *in, size_t len,
    uint8_t *out, size_t cap, size_t *olen)
{
	int rc;

	if ((rc = noise_cipher_encrypt(&s->c, s->h, s->hlen, in, len, out, cap,
	    olen)) != 0)
		return rc;
	mix_hash(s, out, *olen);
	return NOISE_OK;
}

static int
decrypt_and_hash(struct noise_symm *s, const uint8_t *in, size_t len,
    uint8_t *out, size_t cap, size_t *olen)
{
	uint8_t h[NOISE_HASH_MAX];
	int rc;

	/* The ciphertext is hashed, not the plaintext; keep it before out may overwrite it. */
	memcpy(h, s->h, s->hlen);
	mix_hash(s, in, len);
	if ((rc = noise_cipher_decrypt(&s->c, h, s->hlen, in, len, out, cap,
	    olen)) != 0)
		return rc;
	return NOISE_OK;
}

/* ---- HandshakeState (§5.3) ---------------------------------------------- */

int
noise_protocol_name(int pattern, int hash, char *out, size_t cap)
{
	int n;

	if (pattern < 0 || pattern > NOISE_PATTERN_NN ||
	    (hash != NOISE_HASH_BLAKE2B && hash != NOISE_HASH_SHA256))
		return NOISE_ERR_ARG;
	n = snprintf(out, cap, "Noise_%s_25519_ChaChaPoly_%s",
	    patterns[pattern].name, hash == NOISE_HASH_SHA256 ? "SHA256" : "BLAKE2b");
	return n > 0 && (size_t)n < cap ? NOISE_OK : NOISE_ERR_BUF;
}

int
noise_hs_init(struct noise_hs *hs, int pattern, int hash, int initiator,
    const uint8_t *prologue, size_t prologue_len, const uint8_t *s_priv,
    const uint8_t *rs)
{
	char name[64];
	size_t n;
	int rc;

	if (hs == NULL)
		return NOISE_ERR_ARG;
	memset(hs, 0, sizeof(*hs));
	if (sodium_init() < 0)
		return NOISE_ERR_INIT;
	if ((rc = noise_protocol_name(pattern, hash, name, sizeof(name))) != 0)
		return rc;
	hs->pattern = pattern;
	hs->initiator = initiator ? 1 : 0;
	hs->ss.hash = hash;
	hs->ss.hlen = hash_len(hash);
	n = strlen(name);
	if (n <= hs->ss.hlen) {
		memcpy(hs->ss.h, name, n);	/* zero-padded (memset above) */
	} else {
		struct hctx c;

		h_init(&c, hash);
		h_update(&c, (const uint8_t *)name, n);
		h_final(&c, hs->ss.h);
	}
	memcpy(hs->ss.ck, hs->ss.h, hs->ss.hlen);
	mix_hash(&hs->ss, prologue, prologue_len);

	if (s_priv != NULL) {
		memcpy(hs->s_priv, s_priv, NOISE_DH_LEN);
		if (crypto_scalarmult_base(hs->s_pub, hs->s_priv) != 0)
			return NOISE_ERR_DH;
		hs->has_s = 1;
	}
	if (rs != NULL) {
		memcpy(hs->rs, rs, NOISE_DH_LEN);
		hs->has_rs = 1;
	}
	if (patterns[pattern].resp_static_pre) {
		/* "<- s": both sides hash the responder's static key first. */
		if (hs->initiator ? !hs->has_rs : !hs->has_s)
			return NOISE_ERR_ARG;
		mix_hash(&hs->ss, hs->initiator ? hs->rs : hs->s_pub, NOISE_DH_LEN);
	}
	return NOISE_OK;
}

int
noise_hs_set_ephemeral(struct noise_hs *hs, const uint8_t e_priv[NOISE_DH_LEN])
{
	memcpy(hs->e_priv, e_priv, NOISE_DH_LEN);
	if (crypto_scalarmult_base(hs->e_pub, hs->e_priv) != 0)
		return NOISE_ERR_DH;
	hs->has_e = 1;
	return NOISE_OK;
}

int
noise_hs_done(const struct noise_hs *hs)
{
	return hs->msg >= patterns[hs->pattern].nmsg;
}

static int
my_turn(const struct noise_hs *hs)
{
	return !noise_hs_done(hs) && !hs->half &&
	    ((hs->msg % 2 == 0) == (hs->initiator == 1));
}

/* One DH token: the pairing depends on who we are (§7.4's es/se). */
static int
dh_token(struct noise_hs *hs, int t)
{
	const uint8_t *priv, *pub;
	int have;
	uint8_t out[NOISE_DH_LEN];
	int rc;

	switch (t) {
	case T_EE:
		priv = hs->e_priv; pub = hs->re; have = hs->has_e && hs->has_re;
		break;
	case T_SS:
		priv = hs->s_priv; pub = hs->rs; have = hs->has_s && hs->has_rs;
		break;
	case T_ES:
		if (hs->initiator) {
			priv = hs->e_priv; pub = hs->rs; have = hs->has_e && hs->has_rs;
		} else {
			priv = hs->s_priv; pub = hs->re; have = hs->has_s && hs->has_re;
		}
		break;
	default:	/* T_SE */
		if (hs->initiator) {
			priv = hs->s_priv; pub = hs->re; have = hs->has_s && hs->has_re;
		} else {
			priv = hs->e_priv; pub = hs->rs; have = hs->has_e && hs->has_rs;
		}
		break;
	}
	if (!have)
		return NOISE_ERR_ARG;
	rc = crypto_scalarmult(out, priv, pub) != 0 ? NOISE_ERR_DH : NOISE_OK;
	if (rc == NOISE_OK)
		mix_key(&hs->ss, out, NOISE_DH_LEN);
	sodium_memzero(out, sizeof(out));
	return rc;
}

size_t
noise_hs_write_size(const struct noise_hs *hs, size_t plen)
{
	const uint8_t *t;
	int key = hs->ss.c.has_key;
	size_t n = 0;

	if (noise_hs_done(hs))
		return 0;
	for (t = patterns[hs->pattern].tok[hs->msg]; *t != T_END; t++) {
		if (*t == T_E)
			n += NOISE_DH_LEN;
		else if (*t == T_S)
			n += NOISE_DH_LEN + (key ? NOISE_TAG_LEN : 0);
		else
			key = 1;
	}
	return n + plen + (key ? NOISE_TAG_LEN : 0);
}

int
noise_hs_write_begin(struct noise_hs *hs, size_t plen, uint8_t *out,
    size_t cap, size_t *off_out)
{
	const uint8_t *t;
	size_t off = 0, n, need;
	int rc;

	if (hs == NULL || out == NULL || off_out == NULL)
		return NOISE_ERR_ARG;
	if (!my_turn(hs))
		return NOISE_ERR_STATE;
	need = noise_hs_write_size(hs, plen);
	if (need > NOISE_MSG_MAX)
		return NOISE_ERR_LONG;
	if (cap < need)
		return NOISE_ERR_BUF;
	for (t = patterns[hs->pattern].tok[hs->msg]; *t != T_END; t++) {
		switch (*t) {
		case T_E:
			if (!hs->has_e) {
				randombytes_buf(hs->e_priv, NOISE_DH_LEN);
				if (crypto_scalarmult_base(hs->e_pub, hs->e_priv) != 0)
					return NOISE_ERR_DH;
				hs->has_e = 1;
			}
			memcpy(out + off, hs->e_pub, NOISE_DH_LEN);
			mix_hash(&hs->ss, hs->e_pub, NOISE_DH_LEN);
			off += NOISE_DH_LEN;
			break;
		case T_S:
			if (!hs->has_s)
				return NOISE_ERR_ARG;
			if ((rc = encrypt_and_hash(&hs->ss, hs->s_pub, NOISE_DH_LEN,
			    out + off, cap - off, &n)) != 0)
				return rc;
			off += n;
			break;
		default:
			if ((rc = dh_token(hs, *t)) != 0)
				return rc;
		}
	}
	hs->half = 1;
	*off_out = off;
	return NOISE_OK;
}

int
noise_hs_write_payload(struct noise_hs *hs, const uint8_t *payload,
    size_t plen, uint8_t *out, size_t cap, size_t *out_len)
{
	int rc;

	if (hs == NULL || !hs->half || out_len == NULL || (plen && payload == NULL))
		return NOISE_ERR_STATE;
	if ((rc = encrypt_and_hash(&hs->ss, payload, plen, out, cap, out_len)) != 0)
		return rc;
	hs->half = 0;
	hs->msg++;
	return NOISE_OK;
}

int
noise_hs_write(struct noise_hs *hs, const uint8_t *payload, size_t plen,
    uint8_t *out, size_t cap, size_t *out_len)
{
	size_t off, n;
	int rc;

	if (out_len == NULL || (plen && payload == NULL))
		return NOISE_ERR_ARG;
	if ((rc = noise_hs_write_begin(hs, plen, out, cap, &off)) != 0 ||
	    (rc = noise_hs_write_payload(hs, payload, plen, out + off, cap - off,
	    &n)) != 0)
		return rc;
	*out_len = off + n;
	return NOISE_OK;
}

int
noise_hs_read_begin(struct noise_hs *hs, const uint8_t *msg, size_t len,
    size_t *off_out)
{
	const uint8_t *t;
	size_t off = 0, n, need;
	int rc;

	if (hs == NULL || (len && msg == NULL) || off_out == NULL)
		return NOISE_ERR_ARG;
	if (noise_hs_done(hs) || my_turn(hs) || hs->half)
		return NOISE_ERR_STATE;
	if (len > NOISE_MSG_MAX)
		return NOISE_ERR_LONG;
	for (t = patterns[hs->pattern].tok[hs->msg]; *t != T_END; t++) {
		switch (*t) {
		case T_E:
			if (len - off < NOISE_DH_LEN)
				return NOISE_ERR_SHORT;
			memcpy(hs->re, msg + off, NOISE_DH_LEN);
			hs->has_re = 1;
			mix_hash(&hs->ss, hs->re, NOISE_DH_LEN);
			off += NOISE_DH_LEN;
			break;
		case T_S:
			need = NOISE_DH_LEN + (hs->ss.c.has_key ? NOISE_TAG_LEN : 0);
			if (len - off < need)
				return NOISE_ERR_SHORT;
			if ((rc = decrypt_and_hash(&hs->ss, msg + off, need, hs->rs,
			    NOISE_DH_LEN, &n)) != 0)
				return rc;
			hs->has_rs = 1;
			off += need;
			break;
		default:
			if ((rc = dh_token(hs, *t)) != 0)
				return rc;
		}
	}
	if (hs->ss.c.has_key && len - off < NOISE_TAG_LEN)
		return NOISE_ERR_SHORT;
	hs->half = 1;
	*off_out = off;
	return NOISE_OK;
}

int
noise_hs_read_payload(struct noise_hs *hs, const uint8_t *in, size_t len,
    uint8_t *out, size_t cap, size_t *out_len)
{
	int rc;

	if (hs == NULL || !hs->half || out_len == NULL)
		return NOISE_ERR_STATE;
	if (hs->ss.c.has_key && len < NOISE_TAG_LEN)
		return NOISE_ERR_SHORT;
	if ((rc = decrypt_and_hash(&hs->ss, in, len, out, cap, out_len)) != 0)
		return rc;
	hs->half = 0;
	hs->msg++;
	return NOISE_OK;
}

int
noise_hs_read(struct noise_hs *hs, const uint8_t *msg, size_t len,
    uint8_t *out, size_t cap, size_t *out_len)
{
	size_t off;
	int rc;

	if (out_len == NULL)
		return NOISE_ERR_ARG;
	if ((rc = noise_hs_read_begin(hs, msg, len, &off)) != 0)
		return rc;
	return noise_hs_read_payload(hs, msg + off, len - off, out, cap, out_len);
}

int
noise_hs_split(struct noise_hs *hs, struct noise_cipher *c1,
    struct noise_cipher *c2)
{
	uint8_t k1[NOISE_HASH_MAX], k2[NOISE_HASH_MAX];

	if (!noise_hs_done(hs))
		return NOISE_ERR_STATE;
	noise_hkdf(hs->ss.hash, hs->ss.ck, NULL, 0, k1, k2, NULL);
	memset(c1, 0, sizeof(*c1));
	memset(c2, 0, sizeof(*c2));
	memcpy(c1->k, k1, NOISE_KEY_LEN);
	memcpy(c2->k, k2, NOISE_KEY_LEN);
	c1->has_key = c2->has_key = 1;
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));
	/* Keep h (public, the transcript); drop every secret. */
	sodium_memzero(hs->ss.ck, sizeof(hs->ss.ck));
	sodium_memzero(&hs->ss.c, sizeof(hs->ss.c));
	sodium_memzero(hs->s_priv, sizeof(hs->s_priv));
	sodium_memzero(hs->e_priv, sizeof(hs->e_priv));
	return NOISE_OK;
}

const uint8_t *
noise_hs_hash(const struct noise_hs *hs, size_t *hlen)
{
	if (hlen != NULL)
		*hlen = hs->ss.hlen;
	return hs->ss.h;
}

void
noise_hs_wipe(struct noise_hs *hs)
{
	sodium_memzero(hs, sizeof(*hs));
}

const char *
noise_strerror(int err)
{
	switch (err) {
	case NOISE_OK:		return "ok";
	case NOISE_ERR_ARG:	return "bad argument";
	case NOISE_ERR_STATE:	return "not this side's turn";
	case NOISE_ERR_SHORT:	return "message too short";
	case NOISE_ERR_BUF:	return "buffer too small";
	case NOISE_ERR_DH:	return "X25519 low-order point";
	case NOISE_ERR_DECRYPT:	return "authentication failed";
	case NOISE_ERR_NONCE:	return "nonce exhausted";
	case NOISE_ERR_INIT:	return "libsodium set-up failed";
	case NOISE_ERR_LONG:	return "message too long";
	}
	return "unknown error";
}
