/*
 * test_secure_link.c — netd's wiring of the secure transport
 * (netd/secure_link.c, docs/secure.md §9) driven in-process: two netd
 * cores that hold only what the module reaches (identity, peer list with a
 * verified connection to each other, configuration, counters) on a fake
 * clock and a fake network of this file (a datagram queue, timers, a
 * filter that drops chosen secure datagram types, as a path attacker
 * could), plus bare initiators built on common/secure.c.
 *
 * Cases: the cookie step under handshake load (more than SLINK_LOAD_INITS
 * INITs a second: no state, no reply larger than the request, a real
 * initiator still gets through); secure_transport = require refusing a
 * transfer with a peer that offered the secure mode when no session can
 * be made; a transfer waiting (at most SLINK_XFER_WAIT_MS) for the
 * handshake before it starts; the restart rule probing before it drops
 * anything, so a replayed old Announcement without an offer changes
 * nothing while a real restart still drops the sessions.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "netd.h"
#include "peer.h"
#include "secure.h"
#include "secure_link.h"
#include "t.h"
#include "wire_msg.h"
#include "wire_secure.h"
#include "xfer_sess.h"

#define TN_TIMERS	32
#define TN_QUEUE	256
#define TN_NODES	2

struct tnode {
	struct netd	 n;
	struct daemon	 d;
	struct peer_addr addr;
	int		 idx;
};

struct ttimer {
	int		 used;
	uint64_t	 due_ms, interval_ms;
	net_env_timer_cb cb;
	void		*arg;
};

struct tdgram {
	struct peer_addr from, to;
	uint8_t		 buf[2048];
	size_t		 len;
};

static uint64_t tn_now_ms = 1000;
static struct ttimer tn_timers[TN_TIMERS];
static struct tdgram tn_q[TN_QUEUE];
static int tn_qn;
static struct tnode *tn[TN_NODES];
static unsigned tn_drop_types;		/* secure types (1 << type) the "path" drops */
static uint64_t tn_dropped;
/* Sizes of every datagram sent to a bare initiator (outside the nodes). */
static size_t tn_out_len[TN_QUEUE];
static uint8_t tn_out[TN_QUEUE][256];
static int tn_outn;

static uint64_t
tn_now_us(void *ctx)
{
	(void)ctx;
	return tn_now_ms * 1000;
}

static uint64_t
tn_unix_s(void *ctx)
{
	(void)ctx;
	return 1800000000ULL + tn_now_ms / 1000;
}

static void
tn_random(void *ctx, void *buf, size_t n)
{
	(void)ctx;
	randombytes_buf(buf, n);
}

static int
tn_send(void *ctx, int sock, const struct peer_addr *local,
    const struct peer_addr *remote, const uint8_t *buf, size_t len)
{
	struct tdgram *g;

	(void)ctx;
	(void)sock;
	if (tn_qn == TN_QUEUE || len > sizeof(g->buf))
		return -1;
	g = &tn_q[tn_qn++];
	g->from = *local;
	g->to = *remote;
	memcpy(g->buf, buf, len);
	g->len = len;
	return 0;
}

static void *
tn_timer_add(void *ctx, uint64_t after_ms, uint64_t interval_ms, net_env_timer_cb cb,
    void *arg)
{
	int i;

	(void)ctx;
	for (i = 0; i < TN_TIMERS; i++)
		if (!tn_timers[i].used) {
			tn_timers[i].used = 1;
			tn_timers[i].due_ms = tn_now_ms + after_ms;
			tn_timers[i].interval_ms = interval_ms;
			tn_timers[i].cb = cb;
			tn_timers[i].arg = arg;
			return &tn_timers[i];
		}
	return NULL;
}

static void
tn_timer_del(void *ctx, void *timer)
{
	(void)ctx;
	((struct ttimer *)timer)->used = 0;
}

static uint32_t
tn_rand32(void *arg)
{
	(void)arg;
	return randombytes_random();
}

static void
tn_addr(struct peer_addr *a, int last, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	a->ip[0] = 127;
	a->ip[1] = 0;
	a->ip[2] = 30;
	a->ip[3] = (uint8_t)last;
	a->port = port;
}

static struct tnode *
tn_node(int idx, int mode)
{
	struct tnode *t = calloc(1, sizeof(*t));
	struct peer_list_conf pc;
	uint8_t features;

	if (t == NULL)
		return NULL;
	t->idx = idx;
	t->n.d = &t->d;
	t->d.conf.secure_transport = mode;
	t->n.env.now_us = tn_now_us;
	t->n.env.unix_s = tn_unix_s;
	t->n.env.random = tn_random;
	t->n.env.send = tn_send;
	t->n.env.timer_add = tn_timer_add;
	t->n.env.timer_del = tn_timer_del;
	t->n.env.ctx = t;
	tn_addr(&t->addr, idx + 1, 7001);
	if (ident_generate(&t->n.id) != 0)
		return NULL;
	memset(&pc, 0, sizeof(pc));
	pc.max_peers = 64;
	pc.self_pub = t->n.id.pub;
	pc.rand32 = tn_rand32;
	randombytes_buf(pc.hash_key, sizeof(pc.hash_key));
	if ((t->n.peers = peer_list_new(&pc)) == NULL ||
	    slink_init(&t->n, &features) != 0 ||
	    features != (mode == CONF_SECURE_OFF ? 0 : WIRE_FEATURE_SECURE))
		return NULL;
	tn[idx] = t;
	return t;
}

static void
tn_free(void)
{
	int i;

	for (i = 0; i < TN_NODES; i++)
		if (tn[i] != NULL) {
			slink_free(&tn[i]->n);
			peer_list_free(tn[i]->n.peers);
			free(tn[i]);
			tn[i] = NULL;
		}
	memset(tn_timers, 0, sizeof(tn_timers));
	tn_qn = tn_outn = 0;
	tn_drop_types = 0;
	tn_dropped = 0;
}

/* b is in a's peer list with a verified connection showing bit 4. */
static struct peer *
tn_know(struct tnode *a, struct tnode *b)
{
	struct peer *p;
	struct peer_conn *c;

	if (peer_packet_in(a->n.peers, b->n.id.pub, 0, &a->addr, &b->addr, tn_now_ms,
	    &p, &c, NULL) != PEER_OK)
		return NULL;
	peer_conn_set_rtt(c, 1);
	p->features |= WIRE_FEATURE_SECURE;
	return p;
}

/* An Announcement of `from` as `to` decodes it: with from's offer when offer. */
static int
tn_announce(struct tnode *from, struct tnode *to, int offer)
{
	struct wire_announce a;
	struct peer *p;
	uint8_t buf[1024];
	size_t len;

	memset(&a, 0, sizeof(a));
	a.hdr.protocol = 0;
	a.hdr.features = WIRE_FEATURE_SECURE;
	if (wire_announce_encode(buf, sizeof(buf), &len, &a) != 0)
		return -1;
	if (offer)
		len = slink_ext_append(&from->n, to->n.id.pub, WIRE_CMD_ANNOUNCEMENT, buf,
		    len, sizeof(buf), sizeof(buf) - len);
	if (wire_announce_decode(buf, len, &a) != 0 ||
	    (p = peer_find(to->n.peers, from->n.id.pub)) == NULL)
		return -1;
	slink_ext_in(&to->n, p, buf, len, &a, 0);
	return 0;
}

/* A node's offer as the bare initiators see it. */
static int
tn_ext(struct tnode *t, struct wire_secure_ext *e)
{
	uint8_t buf[128];
	size_t len;

	len = slink_ext_append(&t->n, t->n.id.pub, WIRE_CMD_ANNOUNCEMENT, buf, 0,
	    sizeof(buf), sizeof(buf));
	return wire_secure_ext_decode(buf, len, e) == WIRE_SECURE_OK ? 0 : -1;
}

static struct tnode *
tn_at(const struct peer_addr *a)
{
	int i;

	for (i = 0; i < TN_NODES; i++)
		if (tn[i] != NULL && memcmp(&tn[i]->addr, a, sizeof(*a)) == 0)
			return tn[i];
	return NULL;
}

/* Delivers every queued datagram (and what they cause); the rest are kept in tn_out. */
static void
tn_deliver(void)
{
	struct tdgram g;
	struct tnode *t;
	int k;

	for (k = 0; k < 10000 && tn_qn > 0; k++) {
		g = tn_q[0];
		memmove(tn_q, tn_q + 1, (size_t)(tn_qn - 1) * sizeof(tn_q[0]));
		tn_qn--;
		if (g.len > SECURE_ID_LEN && g.buf[SECURE_ID_LEN] < 8 &&
		    (tn_drop_types & (1u << g.buf[SECURE_ID_LEN]))) {
			tn_dropped++;
			continue;
		}
		if ((t = tn_at(&g.to)) == NULL) {
			if (tn_outn < TN_QUEUE && g.len <= sizeof(tn_out[0])) {
				memcpy(tn_out[tn_outn], g.buf, g.len);
				tn_out_len[tn_outn++] = g.len;
			}
			continue;
		}
		(void)slink_in(&t->n, 0, &t->addr, &g.from, g.buf, g.len);
	}
}

/*
 * A handshake datagram into node a from 127.0.30.<last>:5000, and what it
 * caused delivered: slink_in's result; a's answers are in tn_out.
 */
static int
tn_inject(struct tnode *a, int last, const uint8_t *pkt, size_t len)
{
	struct peer_addr src;
	int rc;

	tn_addr(&src, last, 5000);
	tn_outn = 0;
	rc = slink_in(&a->n, 0, &a->addr, &src, pkt, len);
	tn_deliver();
	return rc;
}

/* Runs the clock to `until` (ms), timers in order, datagrams at once. */
static void
tn_run(uint64_t until)
{
	struct ttimer *e;
	int i, k;

	tn_deliver();
	for (k = 0; k < 100000; k++) {
		e = NULL;
		for (i = 0; i < TN_TIMERS; i++)
			if (tn_timers[i].used && tn_timers[i].due_ms <= until &&
			    (e == NULL || tn_timers[i].due_ms < e->due_ms))
				e = &tn_timers[i];
		if (e == NULL)
			break;
		if (e->due_ms > tn_now_ms)
			tn_now_ms = e->due_ms;
		if (e->interval_ms)
			e->due_ms += e->interval_ms;
		else
			e->used = 0;
		e->cb(e->arg);
		tn_deliver();
	}
	if (until > tn_now_ms)
		tn_now_ms = until;
}

/* A pair A, B knowing each other; B holds A's offer, A none of B's (B initiates). */
static int
tn_pair(int mode_a, int mode_b)
{
	if (tn_node(0, mode_a) == NULL || tn_node(1, mode_b) == NULL ||
	    tn_know(tn[0], tn[1]) == NULL || tn_know(tn[1], tn[0]) == NULL)
		return -1;
	return tn_announce(tn[0], tn[1], 1);
}

static uint64_t
C(int i, int c)
{
	return tn[i]->n.counters[c];
}

/*
 * Under load an INIT without a cookie costs the responder no state and gets
 * an answer smaller than itself; the same initiator with the cookie gets a
 * session; a cookie from another source address is worthless; once the
 * load is gone INITs pass without one.
 */
static void
test_cookie_under_load(void)
{
	enum { FLOOD = SLINK_LOAD_INITS + 8 };
	struct ident *ids;
	struct secure_node *me;
	struct secure_initiation *in;
	struct wire_secure_ext ea;
	struct tnode *a;
	uint8_t init[SECURE_INIT_LEN];
	size_t len;
	int i, peers, sess, resp = 0, cookies = 0, other = 0;

	if ((a = tn_node(0, CONF_SECURE_PREFER)) == NULL || tn_ext(a, &ea) != 0 ||
	    (ids = calloc(FLOOD, sizeof(*ids))) == NULL ||
	    (me = calloc(FLOOD, sizeof(*me))) == NULL ||
	    (in = calloc(FLOOD, sizeof(*in))) == NULL)
		T_FAIL("set-up");
	/* FLOOD initiators (identities, addresses) send one INIT each within 100 ms. */
	for (i = 0; i < FLOOD; i++) {
		T_ASSERT(ident_generate(&ids[i]) == 0);
		T_EQ_INT(secure_node_init(&me[i], &ids[i], NULL, (int64_t)tn_now_ms), 0);
		T_EQ_INT(secure_initiate(&in[i], &me[i], &ea, a->n.id.pub, 100 + (uint64_t)i,
		    1000 + (uint64_t)i, (int64_t)tn_now_ms, init, sizeof(init), &len), 0);
		T_EQ_INT(tn_inject(a, 100 + i, init, len), 1);
		T_EQ_INT(tn_outn, 1);
		if (tn_out_len[0] == SECURE_RESP_LEN)
			resp++;
		else if (tn_out_len[0] == SECURE_COOKIE_MSG_LEN && tn_out_len[0] < len &&
		    secure_initiation_cookie(&in[i], tn_out[0], tn_out_len[0],
		    (int64_t)tn_now_ms) == SECURE_OK)
			cookies++;
		else
			other++;
		tn_now_ms += 100 / FLOOD;
	}
	printf("# %d INITs within 100 ms: %d RESPs, %d COOKIEs, %d other\n", FLOOD,
	    resp, cookies, other);
	T_EQ_INT(resp, SLINK_LOAD_INITS);
	T_EQ_INT(cookies, FLOOD - SLINK_LOAD_INITS);
	T_EQ_INT(other, 0);
	T_EQ_U64(C(0, IPC_NC_SECURE_COOKIES), (uint64_t)cookies);
	T_EQ_U64(C(0, IPC_NC_SECURE_HANDSHAKES), (uint64_t)resp);
	/* The cookied INITs left nothing: one entry and one session per answered one. */
	slink_held(&a->n, &peers, &sess);
	T_EQ_INT(peers, resp);
	T_EQ_INT(sess, resp);
	/* The last initiator, with its cookie, gets a session (still under load). */
	i = FLOOD - 1;
	T_EQ_INT(secure_initiate(&in[i], &me[i], &ea, a->n.id.pub, 100 + (uint64_t)i,
	    5000, (int64_t)tn_now_ms, init, sizeof(init), &len), 0);
	/* From another address the same INIT (its mac2) is worthless: a COOKIE again. */
	(void)tn_inject(a, 250, init, len);
	T_EQ_INT(tn_outn, 1);
	T_EQ_INT(tn_out_len[0], SECURE_COOKIE_MSG_LEN);
	(void)tn_inject(a, 100 + i, init, len);
	T_EQ_INT(tn_outn, 1);
	T_EQ_INT(tn_out_len[0], SECURE_RESP_LEN);
	T_EQ_U64(C(0, IPC_NC_SECURE_HANDSHAKES), (uint64_t)resp + 1);
	slink_held(&a->n, &peers, &sess);
	T_EQ_INT(peers, resp + 1);
	/* A second later the load is over: no cookie needed. */
	tn_now_ms += SLINK_LOAD_MS + 1;
	i = FLOOD - 2;
	T_EQ_INT(secure_initiate(&in[i], &me[i], &ea, a->n.id.pub, 100 + (uint64_t)i,
	    6000, (int64_t)tn_now_ms, init, sizeof(init), &len), 0);
	memset(init + SECURE_INIT_LEN - SECURE_MAC_LEN, 0, SECURE_MAC_LEN);	/* no mac2 */
	(void)tn_inject(a, 100 + i, init, len);
	T_EQ_INT(tn_outn, 1);
	T_EQ_INT(tn_out_len[0], SECURE_RESP_LEN);
	for (i = 0; i < FLOOD; i++)
		secure_node_wipe(&me[i]);
	free(ids);
	free(me);
	free(in);
	tn_free();
}

/* Two netd nodes: B's INIT meets A under load, B follows the COOKIE, the session comes up. */
static void
test_cookie_between_nodes(void)
{
	struct wire_secure_ext ea;
	struct secure_node me;
	struct secure_initiation in;
	struct ident id;
	struct peer_addr src;
	uint8_t init[SECURE_INIT_LEN];
	size_t len;
	int i;

	T_EQ_INT(tn_pair(CONF_SECURE_PREFER, CONF_SECURE_PREFER), 0);
	T_EQ_INT(tn_ext(tn[0], &ea), 0);
	T_ASSERT(ident_generate(&id) == 0);
	T_EQ_INT(secure_node_init(&me, &id, NULL, (int64_t)tn_now_ms), 0);
	/* Load on A: a burst of INITs from a spoofed address (their replies go nowhere). */
	tn_addr(&src, 200, 6000);
	for (i = 0; i < SLINK_LOAD_INITS; i++) {
		memset(&in, 0, sizeof(in));
		T_EQ_INT(secure_initiate(&in, &me, &ea, tn[0]->n.id.pub, 7, 100 + (uint64_t)i,
		    (int64_t)tn_now_ms, init, sizeof(init), &len), 0);
		slink_in(&tn[0]->n, 0, &tn[0]->addr, &src, init, len);
	}
	tn_deliver();
	/* B's timer sends its INIT: a COOKIE comes back, then the INIT with mac2, a RESP. */
	tn_run(tn_now_ms + 250);
	T_ASSERT(C(0, IPC_NC_SECURE_COOKIES) >= 1);
	T_EQ_U64(C(1, IPC_NC_SECURE_HS_SENT), 2);
	T_EQ_INT(slink_peer_state(&tn[1]->n, tn[0]->n.id.pub), SLINK_STATE_SECURE);
	T_EQ_INT(slink_peer_state(&tn[0]->n, tn[1]->n.id.pub), SLINK_STATE_SECURE);
	secure_node_wipe(&me);
	tn_free();
}

/* --- transfers: require, waiting for the handshake ---------------------------- */

static struct xfer_sess *
tn_xfer(struct tnode *t, struct tnode *peer, enum xfer_role role)
{
	struct xfer_sess *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->n = &t->n;
	s->role = role;
	memcpy(s->pub, peer->n.id.pub, PEERNET_PUBKEY_BYTES);
	randombytes_buf(s->id, sizeof(s->id));
	return s;
}

static void
tn_xfer_free(struct xfer_sess *s)
{
	if (s != NULL)
		slink_xfer_unbind(s);
	free(s);
}

/* When a waiting transfer was let go, and with which run. */
static uint64_t waited_at;
static uint32_t waited_gen;
static int waited_calls;

static void
tn_waited(struct xfer_sess *s, uint32_t gen)
{
	(void)s;
	waited_at = tn_now_ms;
	waited_gen = gen;
	waited_calls++;
}

/* 1: s seals its lite packets. */
static int
tn_seals(struct xfer_sess *s)
{
	uint8_t pkt[64] = { 0 }, out[128];
	size_t len;

	return slink_lite_seal(s, pkt, sizeof(pkt), out, sizeof(out), &len);
}

/*
 * secure_transport = require meets a peer that offered the secure mode but
 * whose handshakes never get through (a path attacker drops every INIT):
 * the transfer waits SLINK_XFER_WAIT_MS, then is refused, counted, with a
 * sentence naming the setting; the prefer end of the same pair goes on in
 * plaintext.  A reference-like peer (no bit 4) is never refused.
 */
static void
test_require_refuses_without_session(void)
{
	struct xfer_sess *s = NULL, *s2 = NULL;
	const char *why;
	uint64_t t0;

	T_EQ_INT(tn_pair(CONF_SECURE_REQUIRE, CONF_SECURE_PREFER), 0);
	T_EQ_INT(tn_announce(tn[1], tn[0], 1), 0);	/* A holds B's offer too */
	tn_drop_types = 1u << SECURE_TYPE_INIT;
	tn_run(tn_now_ms + 3000);
	T_ASSERT(tn_dropped >= 4);	/* both ends tried */
	T_EQ_INT(slink_peer_state(&tn[0]->n, tn[1]->n.id.pub), SLINK_STATE_PLAIN);
	T_ASSERT((s = tn_xfer(tn[0], tn[1], XFER_REQUESTER)) != NULL);
	t0 = tn_now_ms;
	waited_calls = 0;
	T_EQ_INT(slink_xfer_wait(s, 7, tn_waited), 1);
	T_EQ_INT(waited_calls, 0);	/* never from inside the call */
	tn_run(t0 + SLINK_XFER_WAIT_MS + 500);
	T_EQ_INT(waited_calls, 1);
	T_EQ_U64(waited_gen, 7);
	T_EQ_U64(waited_at - t0, SLINK_XFER_WAIT_MS);
	T_EQ_INT(slink_xfer_bind(s), -1);
	T_EQ_U64(C(0, IPC_NC_SECURE_REFUSED), 1);
	T_ASSERT((why = slink_refusal(&tn[0]->n, tn[1]->n.id.pub)) != NULL);
	T_ASSERT(strstr(why, "secure_transport = require") != NULL);
	printf("# require: %s\n", why);
	/* The prefer end: plaintext, nothing refused. */
	T_ASSERT((s2 = tn_xfer(tn[1], tn[0], XFER_PROVIDER)) != NULL);
	T_EQ_INT(slink_xfer_bind(s2), 0);
	T_EQ_INT(tn_seals(s2), 0);
	T_EQ_U64(C(1, IPC_NC_SECURE_REFUSED), 0);
	T_ASSERT(slink_refusal(&tn[1]->n, tn[0]->n.id.pub) == NULL);
	/* Once the handshake gets through, the require end transfers sealed. */
	tn_drop_types = 0;
	tn_run(tn_now_ms + 31000);	/* past the retry back-off */
	T_EQ_INT(slink_peer_state(&tn[0]->n, tn[1]->n.id.pub), SLINK_STATE_SECURE);
	T_EQ_INT(slink_xfer_bind(s), 0);
	T_EQ_INT(tn_seals(s), 1);
	T_EQ_U64(C(0, IPC_NC_SECURE_REFUSED), 1);
	tn_xfer_free(s);
	tn_xfer_free(s2);
	tn_free();
}

/* A reference-like peer (never bit 4): require starts at once, in plaintext. */
static void
test_require_never_refuses_v0(void)
{
	struct xfer_sess *s;
	struct peer *p;

	T_ASSERT(tn_node(0, CONF_SECURE_REQUIRE) != NULL);
	T_ASSERT(tn_node(1, CONF_SECURE_OFF) != NULL);
	T_ASSERT((p = tn_know(tn[0], tn[1])) != NULL);
	p->features = 0;
	T_ASSERT((s = tn_xfer(tn[0], tn[1], XFER_REQUESTER)) != NULL);
	T_EQ_INT(slink_xfer_wait(s, 1, tn_waited), 0);
	T_EQ_INT(slink_xfer_bind(s), 0);
	T_EQ_INT(tn_seals(s), 0);
	T_EQ_U64(C(0, IPC_NC_SECURE_REFUSED), 0);
	tn_xfer_free(s);
	tn_free();
}

/*
 * A transfer started right after first contact, before any offer or
 * handshake: it waits, the handshake finishes well within
 * SLINK_XFER_WAIT_MS, and the transfer seals from its first packet — at
 * both ends (A has not even B's offer; B has A's and initiates).  With the
 * handshake blocked the wait ends at SLINK_XFER_WAIT_MS and the transfer
 * goes on in plaintext (prefer); a transfer unbound while waiting is
 * forgotten.
 */
static void
test_transfer_waits_for_handshake(void)
{
	struct xfer_sess *sa = NULL, *sb = NULL, *sc = NULL;
	uint64_t t0;

	T_EQ_INT(tn_pair(CONF_SECURE_PREFER, CONF_SECURE_PREFER), 0);
	T_EQ_INT(slink_peer_state(&tn[0]->n, tn[1]->n.id.pub), SLINK_STATE_V0);
	T_ASSERT((sa = tn_xfer(tn[0], tn[1], XFER_REQUESTER)) != NULL);
	T_ASSERT((sb = tn_xfer(tn[1], tn[0], XFER_PROVIDER)) != NULL);
	memcpy(sb->id, sa->id, sizeof(sa->id));
	t0 = tn_now_ms;
	waited_calls = 0;
	/* A waits on B's bit 4 alone (its offer has not come). */
	T_EQ_INT(slink_xfer_wait(sa, 1, tn_waited), 1);
	tn_run(t0 + 2 * SLINK_XFER_WAIT_MS);
	T_EQ_INT(waited_calls, 1);
	printf("# the transfer waited %llu ms for the handshake (bound %d ms)\n",
	    (unsigned long long)(waited_at - t0), SLINK_XFER_WAIT_MS);
	T_ASSERT(waited_at - t0 < SLINK_XFER_WAIT_MS);
	T_EQ_INT(slink_peer_state(&tn[0]->n, tn[1]->n.id.pub), SLINK_STATE_SECURE);
	T_EQ_INT(slink_xfer_bind(sa), 0);
	T_EQ_INT(slink_xfer_bind(sb), 0);
	T_EQ_INT(tn_seals(sa), 1);
	T_EQ_INT(tn_seals(sb), 1);
	/* Usable session: no wait. */
	T_EQ_INT(slink_xfer_wait(sa, 2, tn_waited), 0);
	tn_xfer_free(sa);
	tn_xfer_free(sb);
	tn_free();

	/* Handshakes blocked: the wait ends at its bound, plaintext follows. */
	T_EQ_INT(tn_pair(CONF_SECURE_PREFER, CONF_SECURE_PREFER), 0);
	tn_drop_types = 1u << SECURE_TYPE_INIT;
	T_ASSERT((sa = tn_xfer(tn[1], tn[0], XFER_REQUESTER)) != NULL);
	T_ASSERT((sc = tn_xfer(tn[1], tn[0], XFER_REQUESTER)) != NULL);
	t0 = tn_now_ms;
	waited_calls = 0;
	T_EQ_INT(slink_xfer_wait(sa, 3, tn_waited), 1);
	T_EQ_INT(slink_xfer_wait(sc, 4, tn_waited), 1);
	slink_xfer_unbind(sc);		/* cancelled while waiting */
	tn_run(t0 + 3 * SLINK_XFER_WAIT_MS);
	T_EQ_INT(waited_calls, 1);
	T_EQ_U64(waited_gen, 3);
	T_EQ_U64(waited_at - t0, SLINK_XFER_WAIT_MS);
	T_EQ_INT(slink_xfer_bind(sa), 0);
	T_EQ_INT(tn_seals(sa), 0);
	tn_xfer_free(sa);
	tn_xfer_free(sc);
	tn_free();
}

/*
 * Transfers keep waiting while the path drops INITs for 3 s (a block
 * download at each new chain height, say): their faster retries send more
 * than SLINK_MAX_TRIES INITs, yet the peer is not given up on; once INITs
 * pass, the next transfer's wait ends with a session.  INITs lost for good
 * (the tries span SLINK_TRY_SPAN_MS) do give up: no INIT for a while after.
 */
static void
test_fast_retries_do_not_give_up_early(void)
{
	struct xfer_sess *s[4] = { NULL };
	uint64_t t0, hs0, hs1;
	int i;

	T_EQ_INT(tn_pair(CONF_SECURE_PREFER, CONF_SECURE_PREFER), 0);
	tn_drop_types = 1u << SECURE_TYPE_INIT;
	hs0 = C(1, IPC_NC_SECURE_HS_SENT);
	t0 = tn_now_ms;
	for (i = 0; i < 3; i++) {
		T_ASSERT((s[i] = tn_xfer(tn[1], tn[0], XFER_REQUESTER)) != NULL);
		T_EQ_INT(slink_xfer_wait(s[i], (uint32_t)i, tn_waited), 1);
		tn_run(t0 + (uint64_t)(i + 1) * 1000);
	}
	hs1 = C(1, IPC_NC_SECURE_HS_SENT) - hs0;
	printf("# 3 s of dropped INITs with transfers waiting: %llu INITs sent\n",
	    (unsigned long long)hs1);
	T_ASSERT(hs1 > 10);	/* SLINK_MAX_TRIES (secure_link.c) */
	tn_drop_types = 0;
	T_ASSERT((s[3] = tn_xfer(tn[1], tn[0], XFER_REQUESTER)) != NULL);
	waited_calls = 0;
	t0 = tn_now_ms;
	T_EQ_INT(slink_xfer_wait(s[3], 9, tn_waited), 1);
	tn_run(t0 + SLINK_XFER_WAIT_MS);
	T_EQ_INT(waited_calls, 1);
	T_ASSERT(waited_at - t0 < SLINK_XFER_WAIT_MS);
	T_EQ_INT(slink_peer_state(&tn[1]->n, tn[0]->n.id.pub), SLINK_STATE_SECURE);
	for (i = 0; i < 4; i++)
		tn_xfer_free(s[i]);
	tn_free();

	/* Lost for good: after 12 s of tries, none for the next 10 s. */
	T_EQ_INT(tn_pair(CONF_SECURE_PREFER, CONF_SECURE_PREFER), 0);
	tn_drop_types = 1u << SECURE_TYPE_INIT;
	t0 = tn_now_ms;
	for (i = 0; i < 4; i++) {
		T_ASSERT((s[i] = tn_xfer(tn[1], tn[0], XFER_REQUESTER)) != NULL);
		(void)slink_xfer_wait(s[i], (uint32_t)i, tn_waited);
		tn_run(t0 + (uint64_t)(i + 1) * 3000);
	}
	hs0 = C(1, IPC_NC_SECURE_HS_SENT);
	tn_run(tn_now_ms + 10000);
	T_EQ_U64(C(1, IPC_NC_SECURE_HS_SENT), hs0);
	for (i = 0; i < 4; i++)
		tn_xfer_free(s[i]);
	tn_free();
}

/* --- the restart rule ------------------------------------------------------------ */

/*
 * B holds a session with A.  An Announcement of A in clear without an
 * offer (an old first contact replayed) no longer drops it: B probes A with
 * an INIT, the same run of A answers, the sessions stay.  Then A really
 * restarts (new static key and handshake ID, same identity) and announces
 * itself the same way: the probe goes unanswered and after SLINK_PROBE_MS
 * B drops the sessions and forgets A's offer — but, with require, still
 * refuses plaintext with A until A's new offer brings a new session.
 */
static void
test_restart_rule_probes(void)
{
	struct xfer_sess *s = NULL;
	uint64_t hs, t0;
	uint8_t features;
	int peers, sess;

	T_EQ_INT(tn_pair(CONF_SECURE_PREFER, CONF_SECURE_REQUIRE), 0);
	tn_run(tn_now_ms + 1000);
	T_EQ_INT(slink_peer_state(&tn[1]->n, tn[0]->n.id.pub), SLINK_STATE_SECURE);
	hs = C(1, IPC_NC_SECURE_HS_SENT);
	/* The replay. */
	T_EQ_INT(tn_announce(tn[0], tn[1], 0), 0);
	t0 = tn_now_ms;
	tn_run(t0 + SLINK_PROBE_MS + 1000);
	T_ASSERT(C(1, IPC_NC_SECURE_HS_SENT) > hs);	/* the probe */
	T_EQ_INT(slink_peer_state(&tn[1]->n, tn[0]->n.id.pub), SLINK_STATE_SECURE);
	slink_held(&tn[1]->n, &peers, &sess);
	T_ASSERT(sess >= 1);
	T_ASSERT((s = tn_xfer(tn[1], tn[0], XFER_REQUESTER)) != NULL);
	T_EQ_INT(slink_xfer_bind(s), 0);
	T_EQ_INT(tn_seals(s), 1);
	slink_xfer_unbind(s);

	/* The restart: A's module anew (new keys), same identity and address. */
	slink_free(&tn[0]->n);
	T_EQ_INT(slink_init(&tn[0]->n, &features), 0);
	T_EQ_INT(tn_announce(tn[0], tn[1], 0), 0);
	t0 = tn_now_ms;
	/* Probing: nothing dropped yet, the session still seals. */
	tn_run(t0 + SLINK_PROBE_MS - 300);
	slink_held(&tn[1]->n, &peers, &sess);
	T_ASSERT(sess >= 1);
	tn_run(t0 + SLINK_PROBE_MS + 300);
	slink_held(&tn[1]->n, &peers, &sess);
	T_EQ_INT(sess, 0);
	/* Capable still (sticky): require refuses until a new session exists. */
	T_EQ_INT(slink_peer_state(&tn[1]->n, tn[0]->n.id.pub), SLINK_STATE_PLAIN);
	T_EQ_INT(slink_xfer_bind(s), -1);
	T_EQ_U64(C(1, IPC_NC_SECURE_REFUSED), 1);
	/* A's new offer: a new session, and the transfer seals again. */
	T_EQ_INT(tn_announce(tn[0], tn[1], 1), 0);
	tn_run(tn_now_ms + 1000);
	T_EQ_INT(slink_peer_state(&tn[1]->n, tn[0]->n.id.pub), SLINK_STATE_SECURE);
	T_EQ_INT(slink_xfer_bind(s), 0);
	T_EQ_INT(tn_seals(s), 1);
	tn_xfer_free(s);
	tn_free();
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	if (ident_crypto_init() != 0)
		return 1;
	T_RUN(test_cookie_under_load);
	T_RUN(test_cookie_between_nodes);
	T_RUN(test_require_refuses_without_session);
	T_RUN(test_require_never_refuses_v0);
	T_RUN(test_transfer_waits_for_handshake);
	T_RUN(test_fast_retries_do_not_give_up_early);
	T_RUN(test_restart_rule_probes);
	return t_done();
}
