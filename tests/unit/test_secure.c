/*
 * test_secure.c — the secure transport (common/secure.c) and its
 * negotiation block (common/wire_secure.c): a whole handshake between two
 * identities, then what must be dropped and counted (tampered, replayed,
 * truncated, wrong key, expired), what must pass (reordering inside the
 * window), rekey bounds, the stateless cookie path, the identity binding,
 * transfer channels and in-place runs, and the extension riding after the
 * last section of an Announcement and a Response.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "secure.h"
#include "t.h"
#include "wire_msg.h"
#include "wire_secure.h"

static uint64_t seed = 0x736563757265ULL;
static struct ident ida, idb, idc;
static const uint8_t src_a[] = { 127, 0, 0, 1, 0x30, 0x39 };

struct pair {
	struct secure_node	na, nb;
	struct secure_initiation in;
	struct secure_session	sa, sb;	/* a initiated, b responded */
};

/* Runs the whole handshake a -> b at time now; 0 or the failing step's code. */
static int
handshake(struct pair *p, int64_t now)
{
	struct wire_secure_ext eb;
	struct secure_init_info info;
	uint8_t init[SECURE_INIT_LEN], resp[SECURE_RESP_LEN], reply[128];
	size_t n, rn;
	int rc;

	secure_node_ext(&p->nb, &eb);
	memset(&p->in, 0, sizeof(p->in));
	if ((rc = secure_initiate(&p->in, &p->na, &eb, idb.pub, 0x1111, 1000,
	    now, init, sizeof(init), &n)) != 0)
		return 100 + rc;
	if (n != SECURE_INIT_LEN)
		return 200;
	if ((rc = secure_respond_check(&p->nb, init, n, src_a, sizeof(src_a), now,
	    &info, reply, sizeof(reply), &rn)) != 0)
		return 300 + rc;
	if ((rc = secure_respond(&info, &p->nb, 0x2222, now, resp, sizeof(resp),
	    &n, &p->sb)) != 0)
		return 400 + rc;
	if (n != SECURE_RESP_LEN)
		return 500;
	if ((rc = secure_initiation_finish(&p->in, &p->na, resp, n, now, &p->sa)) != 0)
		return 600 + rc;
	return 0;
}

static int
pair_init(struct pair *p, int64_t now)
{
	memset(p, 0, sizeof(*p));
	if (secure_node_init(&p->na, &ida, NULL, now) != 0 ||
	    secure_node_init(&p->nb, &idb, NULL, now) != 0)
		return -1;
	return handshake(p, now);
}

static void
test_handshake_and_first_packets(void)
{
	struct pair p;
	uint8_t pkt[256], out[256];
	size_t n, m;

	T_EQ_INT(pair_init(&p, 5000), 0);
	T_EQ_INT(SECURE_INIT_LEN, 222);
	T_EQ_INT(SECURE_RESP_LEN, 130);
	T_EQ_INT(SECURE_COOKIE_MSG_LEN, 65);
	/* Each side knows the other's identity; the transcripts agree. */
	T_EQ_MEM(p.sa.peer_pub, idb.pub, PEERNET_PUBKEY_BYTES);
	T_EQ_MEM(p.sb.peer_pub, ida.pub, PEERNET_PUBKEY_BYTES);
	T_EQ_MEM(p.sa.hash, p.sb.hash, 64);
	T_EQ_MEM(p.sa.ch.tx_key, p.sb.ch.rx_key, 32);
	T_EQ_MEM(p.sa.ch.rx_key, p.sb.ch.tx_key, 32);
	T_EQ_MEM(p.sa.xfer_secret, p.sb.xfer_secret, 32);
	T_EQ_U64(p.sa.ch.tx_id, 0x2222);
	T_EQ_U64(p.sb.ch.tx_id, 0x1111);
	T_EQ_INT(p.sa.ch.aead, p.sb.ch.aead);
	/* The responder may not send before the initiator proved its keys. */
	T_EQ_INT(secure_seal(&p.sb, 5000, (const uint8_t *)"x", 1, pkt,
	    sizeof(pkt), &n), SECURE_ERR_UNCONFIRMED);
	T_EQ_INT(secure_seal(&p.sa, 5000, (const uint8_t *)"hello", 5, pkt,
	    sizeof(pkt), &n), 0);
	T_EQ_INT(n, 5 + SECURE_OVERHEAD);
	T_EQ_U64(secure_pkt_id(pkt), 0x2222);
	T_EQ_INT(secure_open(&p.sb, 5001, pkt, n, out, sizeof(out), &m), 0);
	T_EQ_INT(m, 5);
	T_EQ_MEM(out, "hello", 5);
	T_ASSERT(p.sb.confirmed);
	T_EQ_INT(secure_seal(&p.sb, 5002, (const uint8_t *)"world", 5, pkt,
	    sizeof(pkt), &n), 0);
	T_EQ_INT(secure_open(&p.sa, 5003, pkt, n, out, sizeof(out), &m), 0);
	T_EQ_MEM(out, "world", 5);
	/* An empty payload (a keepalive) is a valid packet too. */
	T_EQ_INT(secure_seal(&p.sa, 5004, NULL, 0, pkt, sizeof(pkt), &n), 0);
	T_EQ_INT(secure_open(&p.sb, 5004, pkt, n, out, sizeof(out), &m), 0);
	T_EQ_INT(m, 0);
}

static void
test_tamper_every_byte(void)
{
	struct pair p;
	uint8_t pkt[256], out[256], msg[100];
	size_t n, m, i;
	uint64_t fails0;

	T_EQ_INT(pair_init(&p, 0), 0);
	t_rnd_bytes(&seed, msg, sizeof(msg));
	T_EQ_INT(secure_seal(&p.sa, 0, msg, sizeof(msg), pkt, sizeof(pkt), &n), 0);
	for (i = 0; i < n; i++) {
		fails0 = p.sb.ch.rx_auth_fail + p.sb.ch.rx_malformed +
		    p.sb.ch.rx_replay;
		pkt[i] ^= 0x04;
		T_ASSERT(secure_open(&p.sb, 0, pkt, n, out, sizeof(out), &m) < 0);
		pkt[i] ^= 0x04;
		/* Every drop is counted under one reason. */
		T_EQ_U64(p.sb.ch.rx_auth_fail + p.sb.ch.rx_malformed +
		    p.sb.ch.rx_replay, fails0 + 1);
	}
	/* Past the header a change is an authentication failure. */
	T_ASSERT(p.sb.ch.rx_auth_fail >= n - SECURE_HDR_LEN);
	T_EQ_U64(p.sb.ch.rx_ok, 0);
	/* And the intact packet still opens (no failure moved the window). */
	T_EQ_INT(secure_open(&p.sb, 0, pkt, n, out, sizeof(out), &m), 0);
	T_EQ_MEM(out, msg, sizeof(msg));
}

static void
test_replay_and_truncation(void)
{
	struct pair p;
	uint8_t pkt[256], out[256];
	size_t n, m, i;

	T_EQ_INT(pair_init(&p, 0), 0);
	T_EQ_INT(secure_seal(&p.sa, 0, (const uint8_t *)"once", 4, pkt,
	    sizeof(pkt), &n), 0);
	for (i = 0; i < n; i++)
		T_ASSERT(secure_open(&p.sb, 0, pkt, i, out, sizeof(out), &m) < 0);
	T_EQ_INT(secure_open(&p.sb, 0, pkt, n, out, sizeof(out), &m), 0);
	T_EQ_INT(secure_open(&p.sb, 0, pkt, n, out, sizeof(out), &m),
	    SECURE_ERR_REPLAY);
	T_EQ_U64(p.sb.ch.rx_replay, 1);
	T_EQ_U64(p.sb.ch.rx_ok, 1);
	/* One byte more than sealed: the tag is read from the wrong place. */
	pkt[n] = 0;
	T_EQ_INT(secure_open(&p.sb, 0, pkt, n + 1, out, sizeof(out), &m),
	    SECURE_ERR_REPLAY);	/* same counter: refused before any AEAD work */
}

#define REORDER_N	3000

static void
test_reorder_within_window(void)
{
	static uint8_t pkts[REORDER_N][64];
	static size_t lens[REORDER_N];
	struct pair p;
	uint8_t out[64];
	size_t m, i;

	T_EQ_INT(pair_init(&p, 0), 0);
	for (i = 0; i < REORDER_N; i++) {
		uint8_t b = (uint8_t)i;

		T_EQ_INT(secure_seal(&p.sa, 0, &b, 1, pkts[i], sizeof(pkts[i]),
		    &lens[i]), 0);
	}
	/* Newest first, then 200 older ones backwards: all accepted once. */
	T_EQ_INT(secure_open(&p.sb, 0, pkts[2999], lens[2999], out, sizeof(out), &m), 0);
	for (i = 2998; i >= 2799; i--) {
		T_EQ_INT(secure_open(&p.sb, 0, pkts[i], lens[i], out, sizeof(out), &m), 0);
		T_EQ_INT(out[0], (uint8_t)i);
	}
	/* The edge: 1984 behind the newest still passes, 1985 does not. */
	T_EQ_INT(secure_open(&p.sb, 0, pkts[2999 - SECURE_REPLAY_WINDOW],
	    lens[2999 - SECURE_REPLAY_WINDOW], out, sizeof(out), &m), 0);
	T_EQ_INT(secure_open(&p.sb, 0, pkts[2999 - SECURE_REPLAY_WINDOW - 1],
	    lens[2999 - SECURE_REPLAY_WINDOW - 1], out, sizeof(out), &m),
	    SECURE_ERR_REPLAY);
	T_EQ_INT(secure_open(&p.sb, 0, pkts[0], lens[0], out, sizeof(out), &m),
	    SECURE_ERR_REPLAY);
	/* Replays of the reordered ones are still caught. */
	T_EQ_INT(secure_open(&p.sb, 0, pkts[2800], lens[2800], out, sizeof(out), &m),
	    SECURE_ERR_REPLAY);
}

static void
test_replay_window_random(void)
{
	struct secure_replay r;
	static uint8_t seen[20000];
	uint64_t i, n, top = 0;
	int ok;

	memset(&r, 0, sizeof(r));
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < 200000; i++) {
		n = t_rnd(&seed) % sizeof(seen);
		ok = secure_replay_check(&r, n);
		/* Accepted iff never seen and not more than the window behind. */
		if (ok != (!seen[n] && (n >= top || top - 1 - n <= SECURE_REPLAY_WINDOW)))
			T_FAIL("counter %" PRIu64 " top %" PRIu64 ": check %d", n, top, ok);
		if (ok) {
			secure_replay_update(&r, n);
			seen[n] = 1;
			if (n + 1 > top)
				top = n + 1;
		}
		/* Slide forward now and then, so the window moves over old slots. */
		if (i % 10000 == 9999)
			memset(seen, 0, sizeof(seen)), memset(&r, 0, sizeof(r)), top = 0;
	}
	T_EQ_INT(secure_replay_check(&r, SECURE_REJECT_AFTER_MSGS), 0);
}

static void
test_wrong_key(void)
{
	struct pair p, q;
	uint8_t pkt[256], out[256];
	size_t n, m;

	T_EQ_INT(pair_init(&p, 0), 0);
	T_EQ_INT(pair_init(&q, 0), 0);	/* same identities, fresh keys */
	T_EQ_INT(secure_seal(&p.sa, 0, (const uint8_t *)"secret", 6, pkt,
	    sizeof(pkt), &n), 0);
	/* Same receiver IDs (the test chose them), other session: AEAD fails. */
	T_EQ_U64(q.sb.ch.rx_id, p.sb.ch.rx_id);
	T_EQ_INT(secure_open(&q.sb, 0, pkt, n, out, sizeof(out), &m), SECURE_ERR_AUTH);
	T_EQ_U64(q.sb.ch.rx_auth_fail, 1);
	/* Another receiver ID is refused without any crypto. */
	q.sb.ch.rx_id = 77;
	T_EQ_INT(secure_open(&q.sb, 0, pkt, n, out, sizeof(out), &m), SECURE_ERR_ID);
	/* A packet sent back to its own sender fails (direction keys differ). */
	p.sa.ch.rx_id = p.sa.ch.tx_id;
	T_EQ_INT(secure_open(&p.sa, 0, pkt, n, out, sizeof(out), &m), SECURE_ERR_AUTH);
}

static void
test_rekey_bounds(void)
{
	struct pair p;
	uint8_t pkt[64], out[64];
	size_t n, m;

	T_EQ_INT(pair_init(&p, 1000), 0);
	T_EQ_INT(secure_session_should_rekey(&p.sa, 1000), 0);
	T_EQ_INT(secure_session_should_rekey(&p.sa, 1000 + SECURE_REKEY_AFTER_MS - 1), 0);
	T_EQ_INT(secure_session_should_rekey(&p.sa, 1000 + SECURE_REKEY_AFTER_MS), 1);
	/* On time only the initiator rekeys. */
	T_EQ_INT(secure_session_should_rekey(&p.sb, 1000 + SECURE_REKEY_AFTER_MS), 0);
	T_EQ_INT(secure_seal(&p.sa, 1000 + SECURE_REJECT_AFTER_MS - 1,
	    (const uint8_t *)"a", 1, pkt, sizeof(pkt), &n), 0);
	T_EQ_INT(secure_open(&p.sb, 1000 + SECURE_REJECT_AFTER_MS - 1, pkt, n, out,
	    sizeof(out), &m), 0);
	T_EQ_INT(secure_seal(&p.sa, 1000 + SECURE_REJECT_AFTER_MS,
	    (const uint8_t *)"a", 1, pkt, sizeof(pkt), &n), SECURE_ERR_EXPIRED);
	T_EQ_INT(secure_session_expired(&p.sb, 1000 + SECURE_REJECT_AFTER_MS), 1);
	/* Count bounds: either end asks for a rekey, then refuses to seal. */
	p.sb.ch.tx_counter = SECURE_REKEY_AFTER_MSGS;
	T_EQ_INT(secure_session_should_rekey(&p.sb, 1000), 1);
	p.sa.ch.tx_counter = SECURE_REJECT_AFTER_MSGS;
	T_EQ_INT(secure_seal(&p.sa, 1000, (const uint8_t *)"a", 1, pkt,
	    sizeof(pkt), &n), SECURE_ERR_EXPIRED);
	/* A new handshake replaces the keys entirely. */
	{
		uint8_t old[32];

		memcpy(old, p.sa.ch.tx_key, 32);
		T_EQ_INT(handshake(&p, 200000), 0);
		T_ASSERT(memcmp(old, p.sa.ch.tx_key, 32) != 0);
		T_EQ_U64(p.sa.ch.tx_counter, 0);
		T_EQ_INT(secure_session_should_rekey(&p.sa, 200000), 0);
	}
}

static void
test_cookie_under_load(void)
{
	struct pair p;
	struct wire_secure_ext eb;
	struct secure_init_info info;
	uint8_t init[SECURE_INIT_LEN], reply[128], resp[SECURE_RESP_LEN];
	size_t n, rn;
	static const uint8_t src_other[] = { 10, 0, 0, 9, 0x30, 0x39 };

	T_EQ_INT(pair_init(&p, 0), 0);
	p.nb.under_load = 1;
	secure_node_ext(&p.nb, &eb);
	memset(&p.in, 0, sizeof(p.in));
	T_EQ_INT(secure_initiate(&p.in, &p.na, &eb, idb.pub, 0x3333, 2000, 10, init,
	    sizeof(init), &n), 0);
	T_EQ_INT(secure_respond_check(&p.nb, init, n, src_a, sizeof(src_a), 10,
	    &info, reply, sizeof(reply), &rn), SECURE_COOKIE);
	/* No amplification: the answer is smaller than the question. */
	T_EQ_INT(rn, SECURE_COOKIE_MSG_LEN);
	T_ASSERT(rn < n);
	T_EQ_U64(p.nb.hs_cookies_sent, 1);
	T_EQ_INT(secure_initiation_cookie(&p.in, reply, rn, 11), 0);
	T_EQ_INT(secure_initiate(&p.in, &p.na, &eb, idb.pub, 0x3333, 2001, 12, init,
	    sizeof(init), &n), 0);
	/* From another address the cookie is worthless. */
	T_EQ_INT(secure_respond_check(&p.nb, init, n, src_other, sizeof(src_other),
	    12, &info, reply, sizeof(reply), &rn), SECURE_COOKIE);
	T_EQ_INT(secure_respond_check(&p.nb, init, n, src_a, sizeof(src_a), 12,
	    &info, reply, sizeof(reply), &rn), 0);
	T_EQ_INT(secure_respond(&info, &p.nb, 0x4444, 12, resp, sizeof(resp), &n,
	    &p.sb), 0);
	T_ASSERT(n < SECURE_INIT_LEN);
	T_EQ_INT(secure_initiation_finish(&p.in, &p.na, resp, n, 12, &p.sa), 0);
	/* A cookie reply tampered with is refused. */
	T_EQ_INT(secure_initiate(&p.in, &p.na, &eb, idb.pub, 0x3333, 2002, 13, init,
	    sizeof(init), &n), 0);
	p.in.has_cookie = 0;
	T_EQ_INT(secure_initiate(&p.in, &p.na, &eb, idb.pub, 0x3333, 2003, 14, init,
	    sizeof(init), &n), 0);
	T_EQ_INT(secure_respond_check(&p.nb, init, n, src_a, sizeof(src_a), 14,
	    &info, reply, sizeof(reply), &rn), SECURE_COOKIE);
	reply[40] ^= 1;
	T_EQ_INT(secure_initiation_cookie(&p.in, reply, rn, 15), SECURE_ERR_AUTH);
}

static void
test_init_checks(void)
{
	struct pair p;
	struct wire_secure_ext eb;
	struct secure_init_info info;
	uint8_t init[SECURE_INIT_LEN], reply[128], resp[SECURE_RESP_LEN];
	size_t n, rn, i;
	uint64_t last_ts = 0;

	T_EQ_INT(pair_init(&p, 0), 0);
	secure_node_ext(&p.nb, &eb);
	memset(&p.in, 0, sizeof(p.in));
	T_EQ_INT(secure_initiate(&p.in, &p.na, &eb, idb.pub, 0x5555, 3000, 0, init,
	    sizeof(init), &n), 0);
	/*
	 * Every byte up to mac2 matters: id, type, then mac1 covers the rest.
	 * mac2 is read only under load (it carries the cookie).
	 */
	for (i = 0; i < n - SECURE_MAC_LEN; i++) {
		init[i] ^= 0x20;
		T_ASSERT(secure_respond_check(&p.nb, init, n, src_a, sizeof(src_a),
		    0, &info, reply, sizeof(reply), &rn) < 0);
		init[i] ^= 0x20;
	}
	T_ASSERT(p.nb.hs_bad_mac > 0);
	for (i = 0; i < n; i++)
		T_EQ_INT(secure_respond_check(&p.nb, init, i, src_a, sizeof(src_a),
		    0, &info, reply, sizeof(reply), &rn), SECURE_ERR_SHORT);
	/* Accepted once; the same INIT again carries an old timestamp. */
	T_EQ_INT(secure_respond_check(&p.nb, init, n, src_a, sizeof(src_a), 0,
	    &info, reply, sizeof(reply), &rn), 0);
	T_EQ_U64(info.ts_ms, 3000);
	T_EQ_MEM(info.peer_pub, ida.pub, PEERNET_PUBKEY_BYTES);
	T_EQ_INT(secure_ts_fresh(&last_ts, info.ts_ms), 1);
	T_EQ_INT(secure_respond_check(&p.nb, init, n, src_a, sizeof(src_a), 0,
	    &info, reply, sizeof(reply), &rn), 0);
	T_EQ_INT(secure_ts_fresh(&last_ts, info.ts_ms), 0);
	/* Sent to the wrong node (another hs_id): refused without work. */
	{
		struct secure_node nc;

		T_EQ_INT(secure_node_init(&nc, &idc, NULL, 0), 0);
		T_EQ_INT(secure_respond_check(&nc, init, n, src_a, sizeof(src_a), 0,
		    &info, reply, sizeof(reply), &rn), SECURE_ERR_ID);
		/* Even with our hs_id pasted on, mac1 names the right key. */
		memcpy(nc.hs_id, p.nb.hs_id, SECURE_ID_LEN);
		T_EQ_INT(secure_respond_check(&nc, init, n, src_a, sizeof(src_a), 0,
		    &info, reply, sizeof(reply), &rn), SECURE_ERR_MAC);
	}
	/*
	 * The initiator expects identity C at b's address: b's RESP is signed
	 * by B, so the initiator refuses it (the identity stays the peer ID).
	 */
	memset(&p.in, 0, sizeof(p.in));
	T_EQ_INT(secure_initiate(&p.in, &p.na, &eb, idc.pub, 0x5555, 3001, 0, init,
	    sizeof(init), &n), 0);
	T_EQ_INT(secure_respond_check(&p.nb, init, n, src_a, sizeof(src_a), 0,
	    &info, reply, sizeof(reply), &rn), 0);
	T_EQ_INT(secure_respond(&info, &p.nb, 0x6666, 0, resp, sizeof(resp), &n,
	    &p.sb), 0);
	T_EQ_INT(secure_initiation_finish(&p.in, &p.na, resp, n, 0, &p.sa),
	    SECURE_ERR_IDENTITY);
	/* A tampered RESP fails and leaves the initiation usable. */
	memset(&p.in, 0, sizeof(p.in));
	T_EQ_INT(secure_initiate(&p.in, &p.na, &eb, idb.pub, 0x5555, 3002, 0, init,
	    sizeof(init), &n), 0);
	T_EQ_INT(secure_respond_check(&p.nb, init, n, src_a, sizeof(src_a), 0,
	    &info, reply, sizeof(reply), &rn), 0);
	T_EQ_INT(secure_respond(&info, &p.nb, 0x6666, 0, resp, sizeof(resp), &n,
	    &p.sb), 0);
	resp[60] ^= 1;
	T_EQ_INT(secure_initiation_finish(&p.in, &p.na, resp, n, 0, &p.sa),
	    SECURE_ERR_AUTH);
	resp[60] ^= 1;
	T_EQ_INT(secure_initiation_finish(&p.in, &p.na, resp, n, 0, &p.sa), 0);
	/* A second RESP finds nothing pending. */
	T_EQ_INT(secure_initiation_finish(&p.in, &p.na, resp, n, 0, &p.sa),
	    SECURE_ERR_STATE);
}

/*
 * Downgrade: the suites (and hs_id) the initiator saw in b's extension are
 * the handshake's prologue.  A changed extension — AES-GCM stripped, say —
 * makes the INIT fail authentication at b, so the two can never agree on
 * less than both offered.  (Stripping the feature bit or the whole
 * extension from a v0 Announcement needs a forged v0 signature; dropping
 * secure datagrams is the one downgrade a path attacker has: see
 * docs/secure.md, "Downgrade".)
 */
static void
test_downgrade_detected(void)
{
	struct pair p;
	struct wire_secure_ext eb;
	struct secure_init_info info;
	uint8_t init[SECURE_INIT_LEN], reply[128];
	size_t n, rn;

	T_EQ_INT(pair_init(&p, 0), 0);
	p.nb.suites = WIRE_SECURE_SUITE_CHACHA | WIRE_SECURE_SUITE_AESGCM;
	secure_node_ext(&p.nb, &eb);
	eb.suites = WIRE_SECURE_SUITE_CHACHA;	/* what an attacker would leave */
	memset(&p.in, 0, sizeof(p.in));
	T_EQ_INT(secure_initiate(&p.in, &p.na, &eb, idb.pub, 0x7777, 4000, 0, init,
	    sizeof(init), &n), 0);
	T_EQ_INT(secure_respond_check(&p.nb, init, n, src_a, sizeof(src_a), 0,
	    &info, reply, sizeof(reply), &rn), SECURE_ERR_AUTH);
	/* The same with the honest extension succeeds. */
	secure_node_ext(&p.nb, &eb);
	T_EQ_INT(secure_initiate(&p.in, &p.na, &eb, idb.pub, 0x7777, 4001, 0, init,
	    sizeof(init), &n), 0);
	T_EQ_INT(secure_respond_check(&p.nb, init, n, src_a, sizeof(src_a), 0,
	    &info, reply, sizeof(reply), &rn), 0);
}

static void
test_aesgcm_session(void)
{
	struct pair p;
	uint8_t pkt[256], out[256];
	size_t n, m;

	if (!crypto_aead_aes256gcm_is_available())
		T_SKIP("AES-256-GCM not available on this CPU");
	memset(&p, 0, sizeof(p));
	T_EQ_INT(secure_node_init(&p.na, &ida, NULL, 0), 0);
	T_EQ_INT(secure_node_init(&p.nb, &idb, NULL, 0), 0);
	T_EQ_INT(handshake(&p, 0), 0);
	T_EQ_INT(p.sa.ch.aead, SECURE_AEAD_AESGCM);
	T_EQ_INT(secure_seal(&p.sa, 0, (const uint8_t *)"gcm", 3, pkt, sizeof(pkt),
	    &n), 0);
	T_EQ_INT(secure_open(&p.sb, 0, pkt, n, out, sizeof(out), &m), 0);
	T_EQ_MEM(out, "gcm", 3);
	T_EQ_INT(secure_seal(&p.sa, 0, (const uint8_t *)"gcm", 3, pkt, sizeof(pkt),
	    &n), 0);
	pkt[n - 1] ^= 1;
	T_EQ_INT(secure_open(&p.sb, 0, pkt, n, out, sizeof(out), &m), SECURE_ERR_AUTH);
	/* Only when both offer it: a ChaCha-only peer gets ChaCha. */
	p.na.suites = WIRE_SECURE_SUITE_CHACHA;
	T_EQ_INT(handshake(&p, 0), 0);
	T_EQ_INT(p.sa.ch.aead, SECURE_AEAD_CHACHA);
	T_EQ_INT(p.sb.ch.aead, SECURE_AEAD_CHACHA);
}

/* memmem without _GNU_SOURCE worries. */
static int
contains(const uint8_t *h, size_t hn, const uint8_t *n, size_t nn)
{
	size_t i;

	for (i = 0; i + nn <= hn; i++)
		if (memcmp(h + i, n, nn) == 0)
			return 1;
	return 0;
}

#define RUN	8
#define STRIDE	1300

static void
test_transfer_channels_and_runs(void)
{
	static uint8_t batch[RUN * STRIDE], plain[RUN][1200];
	struct pair p;
	struct secure_chan req, prov, other, a, b;
	uint8_t tid[WIRE_TRANSFER_ID_SIZE], tid2[WIRE_TRANSFER_ID_SIZE], *pl;
	uint8_t ip[1200 + SECURE_OVERHEAD], op[sizeof(ip)], out[1200];
	size_t lens[RUN], i, plen;

	T_EQ_INT(pair_init(&p, 0), 0);
	t_rnd_bytes(&seed, tid, sizeof(tid));
	memcpy(tid2, tid, sizeof(tid));
	tid2[15] ^= 1;
	/* a requests from b: both derive the same channel, mirrored. */
	T_EQ_INT(secure_xfer_derive(&p.sa, tid, 1, &req), 0);
	T_EQ_INT(secure_xfer_derive(&p.sb, tid, 0, &prov), 0);
	T_EQ_MEM(req.tx_key, prov.rx_key, 32);
	T_EQ_MEM(req.rx_key, prov.tx_key, 32);
	T_EQ_U64(req.tx_id, prov.rx_id);
	T_ASSERT(memcmp(req.tx_key, p.sa.ch.tx_key, 32) != 0);
	/* A GSO-like run: lite packets (transfer ID first) sealed in place. */
	for (i = 0; i < RUN; i++) {
		lens[i] = i + 1 < RUN ? 1200 : 333;
		t_rnd_bytes(&seed, plain[i], lens[i]);
		memcpy(plain[i], tid, sizeof(tid));
		memcpy(batch + i * STRIDE + SECURE_HDR_LEN, plain[i], lens[i]);
	}
	T_EQ_INT(secure_chan_seal_run(&prov, batch, STRIDE, lens, RUN), 0);
	T_EQ_U64(prov.tx_counter, RUN);
	/* On the wire: no transfer ID, no plaintext. */
	T_ASSERT(!contains(batch, sizeof(batch), tid, sizeof(tid)));
	T_ASSERT(!contains(batch, sizeof(batch), plain[2] + 100, 32));
	/* Opened in place, out of order, by the requester. */
	for (i = RUN; i-- > 0;) {
		pl = batch + i * STRIDE + SECURE_HDR_LEN;
		T_EQ_INT(secure_chan_open(&req, batch + i * STRIDE,
		    lens[i] + SECURE_OVERHEAD, pl, &plen), 0);
		T_EQ_INT(plen, lens[i]);
		T_EQ_MEM(pl, plain[i], lens[i]);
	}
	/* Sealed from a buffer apart (netd seals straight from the UDT packet):
	 * the same datagram as in place; opened to a buffer apart, the same bytes. */
	a = b = prov;
	memcpy(ip + SECURE_HDR_LEN, plain[0], 1200);
	T_EQ_INT(secure_chan_seal(&a, ip + SECURE_HDR_LEN, 1200, ip), 0);
	T_EQ_INT(secure_chan_seal(&b, plain[0], 1200, op), 0);
	T_EQ_MEM(op, ip, sizeof(ip));
	memset(out, 0, sizeof(out));
	T_EQ_INT(secure_chan_open(&req, op, sizeof(op), out, &plen), 0);
	T_EQ_INT(plen, 1200);
	T_EQ_MEM(out, plain[0], 1200);
	/* The same counter again: a replay, and nothing opened. */
	T_EQ_INT(secure_chan_open(&req, ip, sizeof(ip), out, &plen), SECURE_ERR_REPLAY);
	prov = a;
	/* Another transfer's channel (one bit of ID) opens none of them. */
	T_EQ_INT(secure_xfer_derive(&p.sa, tid2, 1, &other), 0);
	T_ASSERT(other.rx_id != req.rx_id);
	T_EQ_INT(secure_chan_seal(&prov, batch + SECURE_HDR_LEN, 10, batch), 0);
	T_EQ_INT(secure_chan_open(&other, batch, 10 + SECURE_OVERHEAD, out, &plen),
	    SECURE_ERR_ID);
	other.rx_id = req.rx_id;
	T_EQ_INT(secure_chan_open(&other, batch, 10 + SECURE_OVERHEAD, out, &plen),
	    SECURE_ERR_AUTH);
	/* A run whose segment would spill into the next is refused. */
	lens[0] = STRIDE;
	T_EQ_INT(secure_chan_seal_run(&prov, batch, STRIDE, lens, 2), SECURE_ERR_BUF);
}

/* ---- the negotiation block ------------------------------------------------ */

static void
test_ext_roundtrip_and_errors(void)
{
	struct wire_secure_ext e, d;
	uint8_t buf[128];
	size_t n, i;

	memset(&e, 0, sizeof(e));
	e.suites = WIRE_SECURE_SUITE_CHACHA | WIRE_SECURE_SUITE_AESGCM | 0x8000;
	t_rnd_bytes(&seed, e.static_key, 32);
	t_rnd_bytes(&seed, e.hs_id, 8);
	T_EQ_INT(wire_secure_ext_encode(buf, sizeof(buf), &n, &e), 0);
	T_EQ_INT(n, WIRE_SECURE_EXT_SIZE);
	T_EQ_INT(n, 52);
	T_EQ_INT(wire_secure_ext_decode(buf, n, &d), 0);
	T_EQ_INT(d.suites, e.suites);	/* unknown suite bits survive */
	T_EQ_MEM(d.static_key, e.static_key, 32);
	T_EQ_MEM(d.hs_id, e.hs_id, 8);
	/* Every cut inside an item is an error; before the magic it is "none". */
	for (i = 0; i < n; i++) {
		int rc = wire_secure_ext_decode(buf, i, &d);

		T_ASSERT(i < WIRE_SECURE_MAGIC_LEN ? rc == WIRE_SECURE_NONE : rc < 0);
	}
	T_EQ_INT(wire_secure_ext_decode(NULL, 0, &d), WIRE_SECURE_NONE);
	T_EQ_INT(wire_secure_ext_decode((const uint8_t *)"hello world", 11, &d),
	    WIRE_SECURE_NONE);
	T_EQ_INT(wire_secure_ext_encode(buf, n - 1, &n, &e), WIRE_SECURE_ERR_BUF);
	T_EQ_INT(wire_secure_ext_encode(buf, sizeof(buf), &n, &e), 0);
	/* An unknown item is skipped; a duplicate is not. */
	buf[n] = 9; buf[n + 1] = 2; buf[n + 2] = 0xaa; buf[n + 3] = 0xbb;
	T_EQ_INT(wire_secure_ext_decode(buf, n + 4, &d), 0);
	memcpy(buf + n, buf + 4, 4);	/* the suites item again */
	T_EQ_INT(wire_secure_ext_decode(buf, n + 4, &d), WIRE_SECURE_ERR_DUP);
	buf[3] = 2;
	T_EQ_INT(wire_secure_ext_decode(buf, n, &d), WIRE_SECURE_ERR_VERSION);
	buf[3] = 1;
	buf[6] = 0x02; buf[7] = 0;	/* AES-GCM only */
	T_EQ_INT(wire_secure_ext_decode(buf, n, &d), WIRE_SECURE_ERR_SUITES);
	buf[6] = 0x01;
	buf[5] = 3;			/* suites of length 3 */
	T_EQ_INT(wire_secure_ext_decode(buf, n, &d), WIRE_SECURE_ERR_LEN);
	buf[5] = 2;
	memset(buf + 10, 0, 32);
	T_EQ_INT(wire_secure_ext_decode(buf, n, &d), WIRE_SECURE_ERR_KEY);
	/* Without the hs_id item: missing. */
	T_EQ_INT(wire_secure_ext_decode(buf, n - 10, &d), WIRE_SECURE_ERR_MISSING);
}

static void
test_ext_after_last_section(void)
{
	struct wire_announce a, ad;
	struct wire_response_in r;
	struct wire_response rd;
	struct wire_secure_ext e, d;
	uint8_t msg[1024], keys[2 * WIRE_KEY_SIZE], nf[WIRE_KEY_SIZE];
	size_t n, x, off;

	memset(&e, 0, sizeof(e));
	e.suites = WIRE_SECURE_SUITE_CHACHA;
	t_rnd_bytes(&seed, e.static_key, 32);
	t_rnd_bytes(&seed, e.hs_id, 8);

	memset(&a, 0, sizeof(a));
	a.hdr.features = WIRE_FEATURE_SECURE;
	a.hdr.actions = WIRE_ACTION_FIND_SELF;
	T_EQ_INT(wire_msg_hdr_set_ua(&a.hdr, "peernet/test"), 0);
	t_rnd_bytes(&seed, keys, sizeof(keys));
	a.find_peer = keys;
	a.n_find_peer = 2;
	T_EQ_INT(wire_announce_encode(msg, sizeof(msg), &n, &a), 0);
	T_EQ_INT(wire_secure_ext_encode(msg + n, sizeof(msg) - n, &x, &e), 0);
	/* Our decoder, like the reference's, reads the sections and stops. */
	T_EQ_INT(wire_announce_decode(msg, n + x, &ad), 0);
	T_EQ_INT(ad.n_find_peer, 2);
	T_ASSERT(ad.hdr.features & WIRE_FEATURE_SECURE);
	off = wire_secure_announce_tail(msg, n + x, &ad);
	T_EQ_INT(off, n);
	T_EQ_INT(wire_secure_ext_decode(msg + off, n + x - off, &d), 0);
	T_EQ_MEM(d.static_key, e.static_key, 32);
	/* Without the block: nothing, not an error. */
	T_EQ_INT(wire_announce_decode(msg, n, &ad), 0);
	off = wire_secure_announce_tail(msg, n, &ad);
	T_EQ_INT(wire_secure_ext_decode(msg + off, n - off, &d), WIRE_SECURE_NONE);

	memset(&r, 0, sizeof(r));
	r.hdr.features = WIRE_FEATURE_SECURE;
	r.hdr.actions = WIRE_ACTION_SEQUENCE_LAST;
	t_rnd_bytes(&seed, nf, sizeof(nf));
	r.notfound = nf;
	r.n_notfound = 1;	/* the reference drops a Response with no counts */
	T_EQ_INT(wire_response_encode(msg, sizeof(msg), &n, &r), 0);
	T_EQ_INT(wire_secure_ext_encode(msg + n, sizeof(msg) - n, &x, &e), 0);
	T_EQ_INT(wire_response_decode(msg, n + x, &rd), 0);
	T_EQ_INT(rd.n_notfound, 1);
	off = wire_secure_response_tail(msg, n + x, &rd);
	T_EQ_INT(off, n);
	T_EQ_INT(wire_secure_ext_decode(msg + off, n + x - off, &d), 0);
	T_EQ_MEM(d.hs_id, e.hs_id, 8);
}

int
main(int argc, char **argv)
{
	uint8_t k[32];

	(void)argc;
	t_set_suite(argv[0]);
	memset(k, 0x11, 32);
	if (ident_from_priv(&ida, k) != 0)
		return 1;
	memset(k, 0x22, 32);
	if (ident_from_priv(&idb, k) != 0)
		return 1;
	memset(k, 0x33, 32);
	if (ident_from_priv(&idc, k) != 0)
		return 1;
	T_RUN(test_handshake_and_first_packets);
	T_RUN(test_tamper_every_byte);
	T_RUN(test_replay_and_truncation);
	T_RUN(test_reorder_within_window);
	T_RUN(test_replay_window_random);
	T_RUN(test_wrong_key);
	T_RUN(test_rekey_bounds);
	T_RUN(test_cookie_under_load);
	T_RUN(test_init_checks);
	T_RUN(test_downgrade_detected);
	T_RUN(test_aesgcm_session);
	T_RUN(test_transfer_channels_and_runs);
	T_RUN(test_ext_roundtrip_and_errors);
	T_RUN(test_ext_after_last_section);
	return t_done();
}
