/*
 * secure.c — handshake datagrams, sessions, transfer channels and the
 * replay window of the secure transport (see secure.h, docs/secure.md).
 */
#include <string.h>

#include <sodium.h>

#include "aead.h"
#include "buf.h"
#include "secure.h"

static const char prologue_label[] = "peernet-secure-v1";
static const char sig_init_label[] = "peernet-secure-v1 init";
static const char sig_resp_label[] = "peernet-secure-v1 resp";
static const char mac1_label[] = "peernet-secure-v1 mac1";
static const char cookie_label[] = "peernet-secure-v1 cookie";
static const char xfer_secret_label[] = "peernet-secure-v1 xfer secret";
static const char xfer_keys_label[] = "peernet-secure-v1 xfer keys";
static const char xfer_ids_label[] = "peernet-secure-v1 xfer ids";

#define NOISE1_OFF	17			/* after id, type, sender id */
#define MAC1_OFF	(NOISE1_OFF + SECURE_NOISE1_LEN)
#define MAC2_OFF	(MAC1_OFF + SECURE_MAC_LEN)
#define AD_LEN		(SECURE_HDR_LEN + SECURE_ID_LEN)

/* ---- small helpers -------------------------------------------------------- */

uint64_t
secure_pkt_id(const uint8_t *pkt)
{
	return buf_le64(pkt);
}

/* BLAKE2b of label || a || b, out_len bytes, optionally keyed. */
static void
b2(uint8_t *out, size_t out_len, const uint8_t *key, size_t klen,
    const char *label, const uint8_t *a, size_t alen, const uint8_t *b,
    size_t blen)
{
	crypto_generichash_blake2b_state st;

	crypto_generichash_blake2b_init(&st, key, klen, out_len);
	if (label != NULL)
		crypto_generichash_blake2b_update(&st, (const uint8_t *)label,
		    strlen(label));
	if (alen)
		crypto_generichash_blake2b_update(&st, a, alen);
	if (blen)
		crypto_generichash_blake2b_update(&st, b, blen);
	crypto_generichash_blake2b_final(&st, out, out_len);
}

/* Prologue: label || responder's suites || responder's hs_id, as advertised. */
static size_t
prologue(uint8_t *p, uint16_t suites_r, const uint8_t hs_id[SECURE_ID_LEN])
{
	size_t n = sizeof(prologue_label) - 1;

	memcpy(p, prologue_label, n);
	buf_put_le16(p + n, suites_r);
	memcpy(p + n + 2, hs_id, SECURE_ID_LEN);
	return n + 2 + SECURE_ID_LEN;
}

static void
nonce12(uint8_t nonce[12], uint64_t counter)
{
	memset(nonce, 0, 4);
	buf_put_le64(nonce + 4, counter);
}

/* ---- replay window ------------------------------------------------------- */

int
secure_replay_check(const struct secure_replay *r, uint64_t n)
{
	if (n >= SECURE_REJECT_AFTER_MSGS)
		return 0;
	if (n >= r->next)
		return 1;	/* newer than anything seen */
	if (r->next - 1 - n > SECURE_REPLAY_WINDOW)
		return 0;	/* too far behind to remember */
	return !(r->bits[(n >> 6) % SECURE_REPLAY_WORDS] & (1ULL << (n & 63)));
}

void
secure_replay_update(struct secure_replay *r, uint64_t n)
{
	if (n >= r->next) {
		uint64_t cur = r->next ? (r->next - 1) >> 6 : 0;
		uint64_t diff = (n >> 6) - cur, i;

		/* Words the window slides over are forgotten before reuse. */
		if (diff > SECURE_REPLAY_WORDS)
			diff = SECURE_REPLAY_WORDS;
		for (i = 1; i <= diff; i++)
			r->bits[(cur + i) % SECURE_REPLAY_WORDS] = 0;
		r->next = n + 1;
	}
	r->bits[(n >> 6) % SECURE_REPLAY_WORDS] |= 1ULL << (n & 63);
}

/* ---- channels --------------------------------------------------------------- */

static void
chan_init(struct secure_chan *c, int aead, const uint8_t tx_key[32],
    const uint8_t rx_key[32], uint64_t tx_id, uint64_t rx_id)
{
	sodium_memzero(c, sizeof(*c));
	c->aead = aead;
	memcpy(c->tx_key, tx_key, 32);
	memcpy(c->rx_key, rx_key, 32);
	c->tx_id = tx_id;
	c->rx_id = rx_id;
}

void
secure_chan_wipe(struct secure_chan *c)
{
	if (c == NULL)
		return;
	/* The cipher's cached key schedules go with the keys. */
	if (c->aead != 0) {
		aead_forget(c->tx_key);
		aead_forget(c->rx_key);
	}
	sodium_memzero(c, sizeof(*c));
}

/* Header into hdr; ciphertext of src (len) to hdr + 17 (src may be there); tag after. */
static int
chan_seal_to(struct secure_chan *c, uint8_t *hdr, const uint8_t *src, size_t len)
{
	uint8_t ad[AD_LEN], nonce[12];
	uint8_t *ct = hdr + SECURE_HDR_LEN;

	if (c->tx_counter >= SECURE_REJECT_AFTER_MSGS)
		return SECURE_ERR_EXPIRED;
	buf_put_le64(hdr, c->tx_id);
	hdr[8] = SECURE_TYPE_DATA;
	buf_put_le64(hdr + 9, c->tx_counter);
	/* AD: the header (receiver ID, type, counter) and the sender's ID. */
	memcpy(ad, hdr, SECURE_HDR_LEN);
	buf_put_le64(ad + SECURE_HDR_LEN, c->rx_id);
	nonce12(nonce, c->tx_counter);
	if (aead_seal(c->aead, c->tx_key, nonce, ad, sizeof(ad), src, len, ct,
	    ct + len) != 0)
		return SECURE_ERR_INIT;
	c->tx_counter++;
	return SECURE_OK;
}

/* Checks and opens pkt; plaintext to dst (may be pkt + 17). */
static int
chan_open_to(struct secure_chan *c, const uint8_t *pkt, size_t len, uint8_t *dst,
    size_t *plen)
{
	uint8_t ad[AD_LEN], nonce[12];
	uint64_t counter;
	size_t n;
	int bad;

	if (len < SECURE_OVERHEAD || pkt[8] != SECURE_TYPE_DATA) {
		c->rx_malformed++;
		return SECURE_ERR_SHORT;
	}
	if (buf_le64(pkt) != c->rx_id) {
		c->rx_malformed++;
		return SECURE_ERR_ID;
	}
	counter = buf_le64(pkt + 9);
	/* The cheap check first: a replay costs no AEAD work. */
	if (!secure_replay_check(&c->replay, counter)) {
		c->rx_replay++;
		return SECURE_ERR_REPLAY;
	}
	n = len - SECURE_OVERHEAD;
	memcpy(ad, pkt, SECURE_HDR_LEN);
	buf_put_le64(ad + SECURE_HDR_LEN, c->tx_id);
	nonce12(nonce, counter);
	bad = aead_open(c->aead, c->rx_key, nonce, ad, sizeof(ad),
	    pkt + SECURE_HDR_LEN, n, pkt + SECURE_HDR_LEN + n, dst);
	if (bad != 0) {
		c->rx_auth_fail++;
		return SECURE_ERR_AUTH;
	}
	/* Only an authentic packet moves the window. */
	secure_replay_update(&c->replay, counter);
	c->rx_ok++;
	*plen = n;
	return SECURE_OK;
}

int
secure_chan_seal(struct secure_chan *c, const uint8_t *src, size_t len, uint8_t *out)
{
	if (c == NULL || out == NULL || (src == NULL && len > 0))
		return SECURE_ERR_ARG;
	return chan_seal_to(c, out, src, len);
}

int
secure_chan_seal_run(struct secure_chan *c, uint8_t *base, size_t stride,
    const size_t *lens, size_t n)
{
	size_t i;
	int rc;

	if (c == NULL || base == NULL || (n && lens == NULL))
		return SECURE_ERR_ARG;
	if (c->tx_counter + n > SECURE_REJECT_AFTER_MSGS)
		return SECURE_ERR_EXPIRED;
	for (i = 0; i < n; i++) {
		if (lens[i] + SECURE_OVERHEAD > stride && i + 1 < n)
			return SECURE_ERR_BUF;	/* would overrun the next segment */
	}
	for (i = 0; i < n; i++) {
		uint8_t *p = base + i * stride;

		if ((rc = chan_seal_to(c, p, p + SECURE_HDR_LEN, lens[i])) != 0)
			return rc;
	}
	return SECURE_OK;
}

int
secure_chan_open(struct secure_chan *c, const uint8_t *pkt, size_t len, uint8_t *dst,
    size_t *plen)
{
	if (c == NULL || pkt == NULL || dst == NULL || plen == NULL)
		return SECURE_ERR_ARG;
	return chan_open_to(c, pkt, len, dst, plen);
}

/* ---- node ----------------------------------------------------------------- */

int
secure_node_init(struct secure_node *n, const struct ident *id,
    const uint8_t *priv_or_null, int64_t now_ms)
{
	if (n == NULL || id == NULL)
		return SECURE_ERR_ARG;
	memset(n, 0, sizeof(*n));
	if (sodium_init() < 0 || aead_init() != 0)
		return SECURE_ERR_INIT;
	n->id = id;
	if (priv_or_null != NULL)
		memcpy(n->static_priv, priv_or_null, 32);
	else
		randombytes_buf(n->static_priv, 32);
	if (crypto_scalarmult_base(n->static_pub, n->static_priv) != 0)
		return SECURE_ERR_INIT;
	randombytes_buf(n->hs_id, sizeof(n->hs_id));
	n->suites = WIRE_SECURE_SUITE_CHACHA;
	if (crypto_aead_aes256gcm_is_available())
		n->suites |= WIRE_SECURE_SUITE_AESGCM;
	b2(n->mac1_key, 32, NULL, 0, mac1_label, n->static_pub, 32, NULL, 0);
	b2(n->cookie_key, 32, NULL, 0, cookie_label, n->static_pub, 32, NULL, 0);
	randombytes_buf(n->cookie_secret, sizeof(n->cookie_secret));
	n->cookie_secret_ms = now_ms;
	return SECURE_OK;
}

void
secure_node_ext(const struct secure_node *n, struct wire_secure_ext *e)
{
	memset(e, 0, sizeof(*e));
	e->suites = n->suites;
	memcpy(e->static_key, n->static_pub, 32);
	memcpy(e->hs_id, n->hs_id, SECURE_ID_LEN);
}

void
secure_node_wipe(struct secure_node *n)
{
	sodium_memzero(n, sizeof(*n));
}

/* ---- initiator ------------------------------------------------------------ */

int
secure_initiate(struct secure_initiation *in, const struct secure_node *me,
    const struct wire_secure_ext *ext,
    const uint8_t peer_pub[PEERNET_PUBKEY_BYTES], uint64_t local_id,
    uint64_t ts_ms, int64_t now_ms, uint8_t *out, size_t cap, size_t *len)
{
	uint8_t pro[64], payload[SECURE_INIT_PAYLOAD], digest[32];
	const uint8_t *h;
	size_t plen, off, n, hl;
	int rc;

	if (in == NULL || me == NULL || ext == NULL || peer_pub == NULL ||
	    out == NULL || len == NULL)
		return SECURE_ERR_ARG;
	if (cap < SECURE_INIT_LEN)
		return SECURE_ERR_BUF;
	if (!(ext->suites & WIRE_SECURE_SUITE_CHACHA))
		return SECURE_ERR_ARG;
	/* A cookie lives as long as the responder's secret could. */
	if (!in->has_cookie || now_ms - in->cookie_ms >= SECURE_COOKIE_SECRET_MS ||
	    memcmp(in->peer_hs_id, ext->hs_id, SECURE_ID_LEN) != 0)
		in->has_cookie = 0;
	noise_hs_wipe(&in->hs);
	in->pending = 0;
	in->local_id = local_id;
	memcpy(in->peer_pub, peer_pub, PEERNET_PUBKEY_BYTES);
	memcpy(in->peer_hs_id, ext->hs_id, SECURE_ID_LEN);
	in->suites_i = me->suites;
	in->suites_r = ext->suites;
	b2(in->peer_mac1_key, 32, NULL, 0, mac1_label, ext->static_key, 32, NULL, 0);
	b2(in->peer_cookie_key, 32, NULL, 0, cookie_label, ext->static_key, 32,
	    NULL, 0);

	plen = prologue(pro, ext->suites, ext->hs_id);
	if (noise_hs_init(&in->hs, NOISE_PATTERN_IK, NOISE_HASH_BLAKE2B, 1, pro,
	    plen, me->static_priv, ext->static_key) != 0)
		return SECURE_ERR_INIT;
	memcpy(out, ext->hs_id, SECURE_ID_LEN);
	out[8] = SECURE_TYPE_INIT;
	buf_put_le64(out + 9, local_id);
	if ((rc = noise_hs_write_begin(&in->hs, SECURE_INIT_PAYLOAD, out + NOISE1_OFF,
	    SECURE_NOISE1_LEN, &off)) != 0)
		return rc == NOISE_ERR_DH ? SECURE_ERR_AUTH : SECURE_ERR_INIT;
	/* Our identity signs the transcript so far plus the clear fields. */
	buf_put_le64(payload, ts_ms);
	buf_put_le16(payload + 8, me->suites);
	buf_put_le16(payload + 10, ext->suites);
	h = noise_hs_hash(&in->hs, &hl);
	b2(digest, 32, NULL, 0, sig_init_label, h, hl, payload, 12);
	if (ident_sign(me->id, digest, payload + 12) != 0)
		return SECURE_ERR_INIT;
	if (noise_hs_write_payload(&in->hs, payload, sizeof(payload),
	    out + NOISE1_OFF + off, SECURE_NOISE1_LEN - off, &n) != 0 ||
	    off + n != SECURE_NOISE1_LEN)
		return SECURE_ERR_INIT;
	b2(out + MAC1_OFF, SECURE_MAC_LEN, in->peer_mac1_key, 32, NULL, out,
	    MAC1_OFF, NULL, 0);
	memcpy(in->last_mac1, out + MAC1_OFF, SECURE_MAC_LEN);
	if (in->has_cookie)
		b2(out + MAC2_OFF, SECURE_MAC_LEN, in->cookie, SECURE_COOKIE_LEN,
		    NULL, out, MAC2_OFF, NULL, 0);
	else
		memset(out + MAC2_OFF, 0, SECURE_MAC_LEN);
	in->pending = 1;
	*len = SECURE_INIT_LEN;
	return SECURE_OK;
}

int
secure_initiation_cookie(struct secure_initiation *in, const uint8_t *pkt,
    size_t len, int64_t now_ms)
{
	uint8_t cookie[SECURE_COOKIE_LEN];

	if (in == NULL || pkt == NULL)
		return SECURE_ERR_ARG;
	if (!in->pending)
		return SECURE_ERR_STATE;
	if (len != SECURE_COOKIE_MSG_LEN || pkt[8] != SECURE_TYPE_COOKIE)
		return SECURE_ERR_SHORT;
	if (buf_le64(pkt) != in->local_id)
		return SECURE_ERR_ID;
	/* Bound to our INIT's mac1: a cookie for someone else's INIT fails here. */
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(cookie, NULL, NULL,
	    pkt + 9 + 24, SECURE_COOKIE_LEN + 16, in->last_mac1, SECURE_MAC_LEN,
	    pkt + 9, in->peer_cookie_key) != 0)
		return SECURE_ERR_AUTH;
	memcpy(in->cookie, cookie, SECURE_COOKIE_LEN);
	in->cookie_ms = now_ms;
	in->has_cookie = 1;
	return SECURE_OK;
}

/* Fills a session from a finished handshake. */
static int
session_make(struct secure_session *s, struct noise_hs *hs, int initiator,
    int aead, uint64_t tx_id, uint64_t rx_id,
    const uint8_t peer_pub[PEERNET_PUBKEY_BYTES], int64_t now_ms)
{
	struct noise_cipher c1, c2;
	const uint8_t *h;
	size_t hl;

	if (noise_hs_split(hs, &c1, &c2) != 0)
		return SECURE_ERR_STATE;
	sodium_memzero(s, sizeof(*s));
	/* c1 carries initiator -> responder. */
	if (initiator)
		chan_init(&s->ch, aead, c1.k, c2.k, tx_id, rx_id);
	else
		chan_init(&s->ch, aead, c2.k, c1.k, tx_id, rx_id);
	b2(s->xfer_secret, 32, c1.k, 32, xfer_secret_label, c2.k, 32, NULL, 0);
	h = noise_hs_hash(hs, &hl);
	memcpy(s->hash, h, hl);
	memcpy(s->peer_pub, peer_pub, PEERNET_PUBKEY_BYTES);
	s->created_ms = now_ms;
	s->initiator = initiator;
	s->confirmed = initiator;	/* the responder waits for the first DATA */
	sodium_memzero(&c1, sizeof(c1));
	sodium_memzero(&c2, sizeof(c2));
	noise_hs_wipe(hs);
	return SECURE_OK;
}

/*
 * AES-256-GCM when both offered it.  Our own offer already depends on the
 * CPU; checking again keeps a caller who edited the suites from reaching
 * AES-NI code on a CPU without it (the ends would then disagree and the
 * session fail authentication: a safe failure).
 */
static int
pick_aead(uint16_t a, uint16_t b)
{
	return (a & b & WIRE_SECURE_SUITE_AESGCM) &&
	    crypto_aead_aes256gcm_is_available() ? SECURE_AEAD_AESGCM :
	    SECURE_AEAD_CHACHA;
}

int
secure_initiation_finish(struct secure_initiation *in,
    const struct secure_node *me, const uint8_t *pkt, size_t len,
    int64_t now_ms, struct secure_session *s)
{
	struct noise_hs hs;
	uint8_t sig[SECURE_RESP_PAYLOAD], digest[32], pub[PEERNET_PUBKEY_BYTES];
	const uint8_t *h;
	size_t off, n, hl;
	int rc;

	if (in == NULL || me == NULL || pkt == NULL || s == NULL)
		return SECURE_ERR_ARG;
	if (!in->pending)
		return SECURE_ERR_STATE;
	if (len != SECURE_RESP_LEN || pkt[8] != SECURE_TYPE_RESP)
		return SECURE_ERR_SHORT;
	if (buf_le64(pkt) != in->local_id)
		return SECURE_ERR_ID;
	/* Work on a copy: a forged RESP must not spoil the real one's chance. */
	hs = in->hs;
	if (noise_hs_read_begin(&hs, pkt + NOISE1_OFF, SECURE_NOISE2_LEN, &off) != 0) {
		noise_hs_wipe(&hs);
		return SECURE_ERR_AUTH;
	}
	h = noise_hs_hash(&hs, &hl);
	b2(digest, 32, NULL, 0, sig_resp_label, h, hl, NULL, 0);
	if (noise_hs_read_payload(&hs, pkt + NOISE1_OFF + off,
	    SECURE_NOISE2_LEN - off, sig, sizeof(sig), &n) != 0 ||
	    n != SECURE_RESP_PAYLOAD) {
		noise_hs_wipe(&hs);
		return SECURE_ERR_AUTH;
	}
	if (ident_recover(sig, digest, pub) != 0 ||
	    memcmp(pub, in->peer_pub, PEERNET_PUBKEY_BYTES) != 0) {
		noise_hs_wipe(&hs);
		return SECURE_ERR_IDENTITY;
	}
	rc = session_make(s, &hs, 1, pick_aead(in->suites_i, in->suites_r),
	    buf_le64(pkt + 9), in->local_id, pub, now_ms);
	if (rc == SECURE_OK) {
		noise_hs_wipe(&in->hs);
		in->pending = 0;
	}
	return rc;
}

/* ---- responder ------------------------------------------------------------ */

static int
cookie_reply(struct secure_node *me, const uint8_t *pkt, const uint8_t *cookie,
    uint8_t *reply, size_t cap, size_t *reply_len)
{
	if (reply == NULL || reply_len == NULL || cap < SECURE_COOKIE_MSG_LEN)
		return SECURE_ERR_BUF;
	memcpy(reply, pkt + 9, SECURE_ID_LEN);	/* to the initiator's ID */
	reply[8] = SECURE_TYPE_COOKIE;
	randombytes_buf(reply + 9, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(reply + 9 + 24, NULL, cookie,
	    SECURE_COOKIE_LEN, pkt + MAC1_OFF, SECURE_MAC_LEN, NULL, reply + 9,
	    me->cookie_key);
	*reply_len = SECURE_COOKIE_MSG_LEN;
	me->hs_cookies_sent++;
	return SECURE_COOKIE;
}

int
secure_respond_check(struct secure_node *me, const uint8_t *pkt, size_t len,
    const uint8_t *src, size_t srclen, int64_t now_ms,
    struct secure_init_info *info, uint8_t *reply, size_t cap,
    size_t *reply_len)
{
	uint8_t mac[SECURE_MAC_LEN], cookie[SECURE_COOKIE_LEN], pro[64];
	uint8_t payload[SECURE_INIT_PAYLOAD], digest[32], hcopy[NOISE_HASH_MAX];
	const uint8_t *h;
	size_t plen, off, n, hl;
	uint16_t suites_i, suites_seen;

	if (me == NULL || pkt == NULL || info == NULL || (srclen && src == NULL))
		return SECURE_ERR_ARG;
	memset(info, 0, sizeof(*info));
	if (len != SECURE_INIT_LEN || pkt[8] != SECURE_TYPE_INIT)
		return SECURE_ERR_SHORT;
	if (memcmp(pkt, me->hs_id, SECURE_ID_LEN) != 0)
		return SECURE_ERR_ID;
	/* mac1: one keyed hash decides whether this was meant for us at all. */
	b2(mac, SECURE_MAC_LEN, me->mac1_key, 32, NULL, pkt, MAC1_OFF, NULL, 0);
	if (crypto_verify_16(mac, pkt + MAC1_OFF) != 0) {
		me->hs_bad_mac++;
		return SECURE_ERR_MAC;
	}
	if (now_ms - me->cookie_secret_ms >= SECURE_COOKIE_SECRET_MS) {
		randombytes_buf(me->cookie_secret, sizeof(me->cookie_secret));
		me->cookie_secret_ms = now_ms;
	}
	if (me->under_load) {
		/* Under load only a sender that can receive at src gets DH work. */
		b2(cookie, SECURE_COOKIE_LEN, me->cookie_secret, 32, NULL, src,
		    srclen, NULL, 0);
		b2(mac, SECURE_MAC_LEN, cookie, SECURE_COOKIE_LEN, NULL, pkt,
		    MAC2_OFF, NULL, 0);
		if (crypto_verify_16(mac, pkt + MAC2_OFF) != 0)
			return cookie_reply(me, pkt, cookie, reply, cap, reply_len);
	}

	plen = prologue(pro, me->suites, me->hs_id);
	if (noise_hs_init(&info->hs, NOISE_PATTERN_IK, NOISE_HASH_BLAKE2B, 0, pro,
	    plen, me->static_priv, NULL) != 0)
		return SECURE_ERR_INIT;
	if (noise_hs_read_begin(&info->hs, pkt + NOISE1_OFF, SECURE_NOISE1_LEN,
	    &off) != 0)
		goto auth;
	/* The hash as the initiator signed it: before the payload is mixed in. */
	h = noise_hs_hash(&info->hs, &hl);
	memcpy(hcopy, h, hl);
	if (noise_hs_read_payload(&info->hs, pkt + NOISE1_OFF + off,
	    SECURE_NOISE1_LEN - off, payload, sizeof(payload), &n) != 0 ||
	    n != SECURE_INIT_PAYLOAD)
		goto auth;
	b2(digest, 32, NULL, 0, sig_init_label, hcopy, hl, payload, 12);
	if (ident_recover(payload + 12, digest, info->peer_pub) != 0 ||
	    (me->id != NULL && memcmp(info->peer_pub, me->id->pub,
	    PEERNET_PUBKEY_BYTES) == 0)) {
		me->hs_bad++;
		noise_hs_wipe(&info->hs);
		return SECURE_ERR_IDENTITY;
	}
	suites_i = buf_le16(payload + 8);
	suites_seen = buf_le16(payload + 10);
	/*
	 * The suites the initiator saw in our extension are in the prologue
	 * too (any change already failed above); this names the cause.
	 */
	if (suites_seen != me->suites || !(suites_i & WIRE_SECURE_SUITE_CHACHA)) {
		me->hs_bad++;
		noise_hs_wipe(&info->hs);
		return SECURE_ERR_DOWNGRADE;
	}
	info->peer_id = buf_le64(pkt + 9);
	info->ts_ms = buf_le64(payload);
	info->suites_i = suites_i;
	info->aead = pick_aead(suites_i, me->suites);
	return SECURE_OK;
auth:
	me->hs_bad++;
	noise_hs_wipe(&info->hs);
	return SECURE_ERR_AUTH;
}

int
secure_respond(struct secure_init_info *info, const struct secure_node *me,
    uint64_t local_id, int64_t now_ms, uint8_t *out, size_t cap, size_t *len,
    struct secure_session *s)
{
	uint8_t sig[SECURE_RESP_PAYLOAD], digest[32];
	const uint8_t *h;
	size_t off, n, hl;

	if (info == NULL || me == NULL || out == NULL || len == NULL || s == NULL)
		return SECURE_ERR_ARG;
	if (cap < SECURE_RESP_LEN)
		return SECURE_ERR_BUF;
	buf_put_le64(out, info->peer_id);
	out[8] = SECURE_TYPE_RESP;
	buf_put_le64(out + 9, local_id);
	if (noise_hs_write_begin(&info->hs, SECURE_RESP_PAYLOAD, out + NOISE1_OFF,
	    SECURE_NOISE2_LEN, &off) != 0)
		return SECURE_ERR_STATE;
	h = noise_hs_hash(&info->hs, &hl);
	b2(digest, 32, NULL, 0, sig_resp_label, h, hl, NULL, 0);
	if (ident_sign(me->id, digest, sig) != 0 ||
	    noise_hs_write_payload(&info->hs, sig, sizeof(sig),
	    out + NOISE1_OFF + off, SECURE_NOISE2_LEN - off, &n) != 0 ||
	    off + n != SECURE_NOISE2_LEN)
		return SECURE_ERR_INIT;
	*len = SECURE_RESP_LEN;
	return session_make(s, &info->hs, 0, info->aead, info->peer_id, local_id,
	    info->peer_pub, now_ms);
}

int
secure_ts_fresh(uint64_t *last, uint64_t ts)
{
	if (ts <= *last)
		return 0;
	*last = ts;
	return 1;
}

/* ---- sessions ------------------------------------------------------------- */

int
secure_session_expired(const struct secure_session *s, int64_t now_ms)
{
	return now_ms - s->created_ms >= SECURE_REJECT_AFTER_MS ||
	    s->ch.tx_counter >= SECURE_REJECT_AFTER_MSGS;
}

int
secure_session_should_rekey(const struct secure_session *s, int64_t now_ms)
{
	if (s->ch.tx_counter >= SECURE_REKEY_AFTER_MSGS)
		return 1;
	/* On time only the initiator starts one, so both ends do not race. */
	return s->initiator && now_ms - s->created_ms >= SECURE_REKEY_AFTER_MS;
}

int
secure_seal(struct secure_session *s, int64_t now_ms, const uint8_t *in,
    size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
	int rc;

	if (s == NULL || out == NULL || out_len == NULL || (len && in == NULL))
		return SECURE_ERR_ARG;
	if (cap < len + SECURE_OVERHEAD)
		return SECURE_ERR_BUF;
	if (secure_session_expired(s, now_ms))
		return SECURE_ERR_EXPIRED;
	if (!s->confirmed)
		return SECURE_ERR_UNCONFIRMED;
	if ((rc = chan_seal_to(&s->ch, out, in, len)) != 0)
		return rc;
	*out_len = len + SECURE_OVERHEAD;
	return SECURE_OK;
}

int
secure_open(struct secure_session *s, int64_t now_ms, const uint8_t *pkt,
    size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
	int rc;

	if (s == NULL || pkt == NULL || out == NULL || out_len == NULL)
		return SECURE_ERR_ARG;
	if (len >= SECURE_OVERHEAD && cap < len - SECURE_OVERHEAD)
		return SECURE_ERR_BUF;
	if (now_ms - s->created_ms >= SECURE_REJECT_AFTER_MS)
		return SECURE_ERR_EXPIRED;
	if ((rc = chan_open_to(&s->ch, pkt, len, out, out_len)) != 0)
		return rc;
	s->confirmed = 1;	/* key confirmation: the initiator holds our keys */
	return SECURE_OK;
}

void
secure_session_wipe(struct secure_session *s)
{
	if (s == NULL)
		return;
	secure_chan_wipe(&s->ch);
	sodium_memzero(s, sizeof(*s));
}

int
secure_xfer_derive(const struct secure_session *s,
    const uint8_t transfer_id[WIRE_TRANSFER_ID_SIZE], int requester,
    struct secure_chan *out)
{
	uint8_t okm[64], ids[16];
	const uint8_t *to_prov_k = okm, *to_req_k = okm + 32;
	uint64_t to_prov_id, to_req_id;

	if (s == NULL || transfer_id == NULL || out == NULL)
		return SECURE_ERR_ARG;
	b2(okm, sizeof(okm), s->xfer_secret, 32, xfer_keys_label, transfer_id,
	    WIRE_TRANSFER_ID_SIZE, NULL, 0);
	b2(ids, sizeof(ids), s->xfer_secret, 32, xfer_ids_label, transfer_id,
	    WIRE_TRANSFER_ID_SIZE, NULL, 0);
	to_prov_id = buf_le64(ids);
	to_req_id = buf_le64(ids + 8);
	if (requester)
		chan_init(out, s->ch.aead, to_prov_k, to_req_k, to_prov_id, to_req_id);
	else
		chan_init(out, s->ch.aead, to_req_k, to_prov_k, to_req_id, to_prov_id);
	sodium_memzero(okm, sizeof(okm));
	return SECURE_OK;
}

const char *
secure_strerror(int err)
{
	switch (err) {
	case SECURE_OK:			return "ok";
	case SECURE_COOKIE:		return "cookie reply";
	case SECURE_ERR_ARG:		return "bad argument";
	case SECURE_ERR_SHORT:		return "malformed datagram";
	case SECURE_ERR_MAC:		return "mac1 wrong";
	case SECURE_ERR_AUTH:		return "authentication failed";
	case SECURE_ERR_REPLAY:		return "replayed or too old";
	case SECURE_ERR_IDENTITY:	return "identity signature wrong";
	case SECURE_ERR_DOWNGRADE:	return "suites differ from ours (downgrade)";
	case SECURE_ERR_EXPIRED:	return "session expired";
	case SECURE_ERR_UNCONFIRMED:	return "session not confirmed yet";
	case SECURE_ERR_BUF:		return "buffer too small";
	case SECURE_ERR_INIT:		return "set-up failed";
	case SECURE_ERR_STATE:		return "wrong state";
	case SECURE_ERR_ID:		return "not our receiver ID";
	}
	return "unknown error";
}
