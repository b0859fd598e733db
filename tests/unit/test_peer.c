/* test_peer.c — peer list, connection state machine, sharing rules (docs/protocol.md §5, §3.2, §3.4). */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer.h"
#include "seq.h"
#include "t.h"

#define T0	1000000ULL	/* fake clock origin, ms */
#define MAXREC	4096

struct rec {
	int		 type;
	int		 why;
	int		 slot;		/* connection slot, -1 for peer removal */
	uint64_t	 at;
	uint8_t		 pub[PEERNET_PUBKEY_BYTES];
};

struct env {
	struct peer_list *l;
	uint64_t	 now;
	struct rec	 r[MAXREC];
	int		 n;
	/* optional: create a real sequence for each Ping / keep-alive */
	struct seq_table *seq;
	uint32_t	 last_seq;
	/* flood test */
	uint64_t	 last_evicted_in;
	int		 evict_order_ok;
	int		 evict_idle_ok;
	const uint8_t	*loyal;
	int		 loyal_removed;
};

static const uint8_t hkey[16] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6 };

static uint32_t
fixed_rand(void *arg)
{
	(void)arg;
	return 0x1000;
}

static void
record(void *arg, const struct peer_action *a)
{
	struct env *e = arg;
	struct rec *r;

	if ((a->type == PEER_ACT_SEND_PING || a->type == PEER_ACT_SEND_ANNOUNCE) &&
	    e->seq != NULL)
		seq_new(e->seq, a->peer->pub, &a->peer->seq_counter, a->conn,
		    e->now, &e->last_seq);
	if (a->type == PEER_ACT_PEER_REMOVED && a->why == PEER_WHY_EVICTED) {
		if (a->peer->last_packet_in < e->last_evicted_in)
			e->evict_order_ok = 0;
		e->last_evicted_in = a->peer->last_packet_in;
		if (!(a->peer->last_packet_in + PEER_EVICT_IDLE_MS < e->now))
			e->evict_idle_ok = 0;
	}
	if (a->type == PEER_ACT_PEER_REMOVED && e->loyal != NULL &&
	    memcmp(a->peer->pub, e->loyal, PEERNET_PUBKEY_BYTES) == 0)
		e->loyal_removed = 1;
	if (e->n >= MAXREC)
		return;
	r = &e->r[e->n++];
	r->type = a->type;
	r->why = a->why;
	r->slot = a->conn != NULL ? (int)(a->conn - a->peer->conns) : -1;
	r->at = e->now;
	memcpy(r->pub, a->peer->pub, PEERNET_PUBKEY_BYTES);
}

/* A peer list recording its actions; per_ip as max_per_ip (0: default). */
static struct env *
env_new_conf(uint32_t max_peers, const uint8_t *self, uint32_t per_ip)
{
	struct env *e = calloc(1, sizeof(*e));
	struct peer_list_conf c;

	memset(&c, 0, sizeof(c));
	c.max_peers = max_peers;
	c.self_pub = self;
	c.max_per_ip = per_ip;
	memcpy(c.hash_key, hkey, 16);
	c.rand32 = fixed_rand;
	c.action = record;
	c.arg = e;
	e->l = peer_list_new(&c);
	e->evict_order_ok = e->evict_idle_ok = 1;
	return e;
}

static struct env *
env_new(uint32_t max_peers, const uint8_t *self)
{
	return env_new_conf(max_peers, self, 0);
}

static void
env_free(struct env *e)
{
	peer_list_free(e->l);
	seq_table_free(e->seq);
	free(e);
}

static void
tick_to(struct env *e, uint64_t until)
{
	/* The liveness task runs every second. */
	while (e->now + PEER_TICK_MS <= until) {
		e->now += PEER_TICK_MS;
		peer_tick(e->l, e->now);
	}
}

static void
mkpub(uint8_t pub[PEERNET_PUBKEY_BYTES], uint8_t tag)
{
	memset(pub, tag, PEERNET_PUBKEY_BYTES);
	pub[0] = 0x03;
}

static struct peer_addr
A(const char *ip, uint16_t port)
{
	struct peer_addr a;

	if (peer_addr_parse(ip, port, &a) != 0)
		memset(&a, 0, sizeof(a));
	return a;
}

/* Feeds one packet from pub, remote ip:port, to socket 0 bound to local. */
static int
pkt(struct env *e, const uint8_t *pub, const char *local, const char *ip,
    uint16_t port, struct peer **pp, struct peer_conn **pc, unsigned *ev)
{
	struct peer_addr l = A(local, 112), r = A(ip, port);

	return peer_packet_in(e->l, pub, 0, &l, &r, e->now, pp, pc, ev);
}

static int
count_type(const struct env *e, int type)
{
	int i, n = 0;

	for (i = 0; i < e->n; i++)
		n += e->r[i].type == type;
	return n;
}

static void
test_peer_first_packet_adds_peer_with_latest_active_connection(void)
{
	struct env *e = env_new(100, NULL);
	struct peer *p;
	struct peer_conn *c;
	uint8_t a[33], nid[32];
	unsigned ev;

	mkpub(a, 0xa1);
	e->now = T0;
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.5", 4000, &p, &c, &ev), 0);
	T_EQ_INT(ev, PEER_EV_NEW_PEER | PEER_EV_NEW_CONN);
	T_EQ_INT(peer_list_count(e->l), 1);
	T_ASSERT(peer_find(e->l, a) == p);
	ident_node_id(a, nid);
	T_EQ_MEM(p->node_id, nid, 32);
	T_ASSERT(peer_find_node(e->l, nid) == p);
	T_EQ_U64(p->seq_counter, 0x1000);
	T_EQ_INT(p->nact, 1);
	T_EQ_INT(p->ninact, 0);
	T_EQ_INT(c->status, PEER_CONN_ACTIVE);
	T_ASSERT(&p->conns[p->latest] == c);
	T_EQ_U64(c->last_packet_in, T0);
	T_EQ_INT(c->remote.port, 4000);
	T_EQ_INT(c->port_internal, 0);
	T_EQ_U64(p->packets_in, 1);
	/* A second packet on the same connection is no event. */
	e->now = T0 + 5;
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.5", 4000, NULL, &c, &ev), 0);
	T_EQ_INT(ev, 0);
	T_EQ_U64(c->last_packet_in, T0 + 5);
	T_EQ_U64(p->packets_in, 2);
	env_free(e);
}

static void
test_peer_new_source_port_updates_connection_in_place(void)
{
	struct env *e = env_new(100, NULL);
	struct peer *p;
	struct peer_conn *c1, *c2;
	uint8_t a[33];
	unsigned ev;

	mkpub(a, 0xa1);
	e->now = T0;
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.5", 4000, &p, &c1, NULL), 0);
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.5", 4001, NULL, &c2, &ev), 0);
	T_ASSERT(c1 == c2);
	T_EQ_INT(ev, PEER_EV_PORT_CHANGED);
	T_EQ_INT(c1->remote.port, 4001);
	T_EQ_INT(p->nact, 1);
	env_free(e);
}

static void
test_peer_second_address_becomes_latest_first_redundant(void)
{
	struct env *e = env_new(100, NULL);
	struct peer *p;
	struct peer_conn *c1, *c2, *c;
	uint8_t a[33];
	unsigned ev;

	mkpub(a, 0xa1);
	e->now = T0;
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.5", 4000, &p, &c1, NULL), 0);
	T_EQ_INT(pkt(e, a, "192.0.2.1", "198.51.100.7", 5000, NULL, &c2, &ev), 0);
	T_EQ_INT(ev, PEER_EV_NEW_CONN);
	T_ASSERT(c1 != c2);
	T_EQ_INT(p->nact, 2);
	T_ASSERT(&p->conns[p->latest] == c2);
	T_EQ_INT(c2->status, PEER_CONN_ACTIVE);
	T_EQ_INT(c1->status, PEER_CONN_REDUNDANT);
	/* Traffic on the first one flips the roles. */
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.5", 4000, NULL, &c, NULL), 0);
	T_ASSERT(c == c1);
	T_ASSERT(&p->conns[p->latest] == c1);
	T_EQ_INT(c1->status, PEER_CONN_ACTIVE);
	T_EQ_INT(c2->status, PEER_CONN_REDUNDANT);
	/* Same remote IP via another local IP is another connection. */
	T_EQ_INT(pkt(e, a, "192.0.2.99", "203.0.113.5", 4000, NULL, &c, &ev), 0);
	T_EQ_INT(ev, PEER_EV_NEW_CONN);
	T_ASSERT(c != c1);
	T_EQ_INT(p->nact, 3);
	T_EQ_INT(c1->status, PEER_CONN_REDUNDANT);
	env_free(e);
}

/* Expected (time offset, action) of the liveness task for one silent peer. */
static void
test_peer_silent_peer_schedule_matches_reference(void)
{
	static const struct { uint64_t at; int type; } want[] = {
		{ 11000, PEER_ACT_SEND_ANNOUNCE },	/* chain info never refreshed */
		{ 22000, PEER_ACT_SEND_ANNOUNCE },
		{ 23000, PEER_ACT_CONN_INACTIVE },	/* LastPacketIn + 22 s passed */
		{ 33000, PEER_ACT_SEND_PING },		/* inactive: every ping interval */
		{ 44000, PEER_ACT_SEND_PING },
		{ 55000, PEER_ACT_SEND_PING },
		{ 66000, PEER_ACT_SEND_PING },
		{ 77000, PEER_ACT_SEND_PING },
		{ 88000, PEER_ACT_SEND_PING },
		{ 99000, PEER_ACT_SEND_PING },
		{ 110000, PEER_ACT_SEND_PING },
		{ 121000, PEER_ACT_SEND_PING },
		{ 132000, PEER_ACT_SEND_PING },
		{ 143000, PEER_ACT_SEND_PING },		/* expiry 143000 not yet passed */
		{ 144000, PEER_ACT_PEER_REMOVED },	/* 120 s after invalidation */
	};
	struct env *e = env_new(100, NULL);
	struct peer_conn *c;
	uint8_t a[33];
	size_t i;

	mkpub(a, 0xa1);
	e->now = T0;
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.5", 4000, NULL, &c, NULL), 0);
	tick_to(e, T0 + 200000);
	T_EQ_INT(e->n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (e->r[i].at != T0 + want[i].at || e->r[i].type != want[i].type)
			T_FAIL("action %zu: type %d at +%llu, expected type %d at +%llu",
			    i, e->r[i].type, (unsigned long long)(e->r[i].at - T0),
			    want[i].type, (unsigned long long)want[i].at);
	}
	T_EQ_INT(e->r[14].why, PEER_WHY_EXPIRED);
	T_EQ_INT(peer_list_count(e->l), 0);
	T_ASSERT(peer_find(e->l, a) == NULL);
	env_free(e);
}

static void
test_peer_keepalive_is_ping_until_chain_info_is_60s_old(void)
{
	struct env *e = env_new(100, NULL);
	struct wire_msg_hdr h;
	struct peer *p;
	uint8_t a[33];
	int i, k = 0;
	static const struct { uint64_t at; int type; } want[] = {
		{ 11000, PEER_ACT_SEND_PING },
		{ 22000, PEER_ACT_SEND_PING },
		{ 33000, PEER_ACT_SEND_PING },
		{ 44000, PEER_ACT_SEND_PING },
		{ 55000, PEER_ACT_SEND_PING },
		{ 66000, PEER_ACT_SEND_ANNOUNCE },	/* refreshed at T0: > 60 s */
		{ 77000, PEER_ACT_SEND_PING },		/* its Response refreshed it */
	};

	mkpub(a, 0xa1);
	memset(&h, 0, sizeof(h));
	h.blockchain_height = 3;
	e->now = T0;
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.5", 4000, &p, NULL, NULL), 0);
	T_EQ_INT(peer_set_info(p, &h, e->now), 1);
	/* Each keep-alive is answered 500 ms later (Pong, or a Response). */
	while (e->now < T0 + 80000) {
		int before = e->n;

		tick_to(e, e->now + PEER_TICK_MS);
		if (e->n > before) {
			int type = e->r[e->n - 1].type;

			e->now += 500;
			T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.5", 4000, NULL,
			    NULL, NULL), 0);
			if (type == PEER_ACT_SEND_ANNOUNCE)
				peer_set_info(p, &h, e->now);
			e->now -= 500;
		}
	}
	T_EQ_INT(e->n, 7);
	for (i = 0; i < 7; i++, k++)
		if (e->r[i].at != T0 + want[i].at || e->r[i].type != want[i].type)
			T_FAIL("keep-alive %d: type %d at +%llu", i, e->r[i].type,
			    (unsigned long long)(e->r[i].at - T0));
	T_EQ_INT(k, 7);
	env_free(e);
}

static void
test_peer_redundant_connection_pinged_at_40s_invalidated_at_88s(void)
{
	struct env *e = env_new(100, NULL);
	struct peer *p;
	struct peer_conn *c1, *c2;
	uint8_t a[33];
	uint64_t t;
	int i, s1;
	uint64_t got[32];
	int types[32], n = 0;

	mkpub(a, 0xa1);
	e->now = T0;
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.5", 4000, &p, &c1, NULL), 0);
	T_EQ_INT(pkt(e, a, "192.0.2.1", "198.51.100.7", 5000, NULL, &c2, NULL), 0);
	s1 = (int)(c1 - p->conns);
	/* c2 (latest) hears from the peer every 5 s; c1 stays silent. */
	for (t = T0; t < T0 + 215000; ) {
		tick_to(e, t + 5000);
		t = e->now;
		T_EQ_INT(pkt(e, a, "192.0.2.1", "198.51.100.7", 5000, NULL, NULL,
		    NULL), 0);
	}
	for (i = 0; i < e->n && n < 32; i++)
		if (e->r[i].slot == s1) {
			got[n] = e->r[i].at - T0;
			types[n++] = e->r[i].type;
		}
	T_ASSERT(n >= 5);
	T_EQ_INT(types[0], PEER_ACT_SEND_PING);	/* redundant: Ping, never Announcement */
	T_EQ_U64(got[0], 41000);
	T_EQ_INT(types[1], PEER_ACT_SEND_PING);
	T_EQ_U64(got[1], 82000);
	T_EQ_INT(types[2], PEER_ACT_CONN_INACTIVE);
	T_EQ_U64(got[2], 89000);
	T_EQ_INT(types[3], PEER_ACT_SEND_PING);
	T_EQ_U64(got[3], 93000);
	/* The peer has an active connection: the expired one goes at 89 + 120 s. */
	for (i = 4; i < n && types[i] == PEER_ACT_SEND_PING; i++)
		;
	T_ASSERT(i < n);
	T_EQ_INT(types[i], PEER_ACT_CONN_REMOVED);
	T_EQ_U64(got[i], 210000);
	T_EQ_INT(p->nact, 1);
	T_EQ_INT(p->ninact, 0);
	T_EQ_INT(count_type(e, PEER_ACT_PEER_REMOVED), 0);
	/* c2 was never pinged: it always had fresh traffic. */
	for (i = 0; i < e->n; i++)
		T_ASSERT(e->r[i].slot != (int)(c2 - p->conns));
	env_free(e);
}

static void
test_peer_inactive_connection_reactivated_by_packet(void)
{
	struct env *e = env_new(100, NULL);
	struct peer *p;
	struct peer_conn *c, *c2;
	uint8_t a[33];
	unsigned ev;

	mkpub(a, 0xa1);
	e->now = T0;
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.5", 4000, &p, &c, NULL), 0);
	tick_to(e, T0 + 30000);
	T_EQ_INT(c->status, PEER_CONN_INACTIVE);
	T_EQ_INT(p->nact, 0);
	T_EQ_INT(p->latest, -1);
	T_EQ_U64(c->expires, T0 + 23000 + PEER_REMOVE_MS);
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.5", 4002, NULL, &c2, &ev), 0);
	T_ASSERT(c2 == c);
	T_EQ_INT(ev, PEER_EV_REACTIVATED | PEER_EV_PORT_CHANGED);
	T_EQ_INT(c->status, PEER_CONN_ACTIVE);
	T_EQ_INT(p->nact, 1);
	T_EQ_INT(p->ninact, 0);
	T_ASSERT(&p->conns[p->latest] == c);
	env_free(e);
}

static void
test_peer_last_two_inactive_kept_then_peer_removed(void)
{
	struct env *e = env_new(100, NULL);
	struct peer *p;
	struct peer_conn *ca, *cb, *cc;
	uint8_t a[33];
	int i, sc, removed = 0;

	mkpub(a, 0xa1);
	e->now = T0;
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.1", 4000, &p, &ca, NULL), 0);
	tick_to(e, T0 + 10000);
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.2", 4000, NULL, &cb, NULL), 0);
	tick_to(e, T0 + 20000);
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.3", 4000, NULL, &cc, NULL), 0);
	sc = (int)(cc - p->conns);
	/*
	 * cc (ACTIVE) goes inactive at +43 s, ca/cb (REDUNDANT) at +89/+99 s;
	 * expiries +163/+209/+219 s.  With 3 inactive, the first expired one
	 * is dropped; the last two stay until both expired, then the peer goes.
	 */
	tick_to(e, T0 + 219000);
	T_ASSERT(peer_find(e->l, a) == p);
	T_EQ_INT(p->ninact, 2);
	for (i = 0; i < e->n; i++)
		if (e->r[i].type == PEER_ACT_CONN_REMOVED) {
			removed++;
			T_EQ_INT(e->r[i].slot, sc);
			T_EQ_U64(e->r[i].at, T0 + 164000);
		}
	T_EQ_INT(removed, 1);
	tick_to(e, T0 + 220000);
	T_ASSERT(peer_find(e->l, a) == NULL);
	T_EQ_INT(e->r[e->n - 1].type, PEER_ACT_PEER_REMOVED);
	T_EQ_U64(e->r[e->n - 1].at, T0 + 220000);
	env_free(e);
}

static void
test_peer_pong_with_matching_sequence_sets_rtt(void)
{
	struct env *e = env_new(100, NULL);
	struct seq_match m;
	struct wire_msg_hdr h;
	struct peer *p;
	struct peer_conn *c;
	uint8_t a[33], b[33];
	uint32_t ping_seq;

	mkpub(a, 0xa1);
	mkpub(b, 0xb2);
	e->seq = seq_table_new(256, hkey, NULL, NULL);
	memset(&h, 0, sizeof(h));
	e->now = T0;
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.5", 4000, &p, &c, NULL), 0);
	peer_set_info(p, &h, e->now);
	tick_to(e, T0 + 11000);
	T_EQ_INT(e->r[0].type, PEER_ACT_SEND_PING);
	T_EQ_U64(p->seq_counter, 0x1001);	/* random start + 1 (§4.2) */
	ping_seq = 0x1001;
	/* Another identity echoing the right number: rejected. */
	e->now = T0 + 11020;
	T_EQ_INT(seq_match(e->seq, b, ping_seq, 1, e->now, &m), SEQ_ERR_UNKNOWN);
	/* An unknown number from the right identity: rejected. */
	T_EQ_INT(seq_match(e->seq, a, ping_seq + 1, 1, e->now, &m),
	    SEQ_ERR_UNKNOWN);
	T_EQ_INT(c->rtt_ms, 0);
	/* The Pong 42 ms after the Ping. */
	e->now = T0 + 11042;
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.5", 4000, NULL, &c, NULL), 0);
	T_EQ_INT(seq_match(e->seq, a, ping_seq, 1, e->now, &m), 0);
	T_ASSERT(m.ctx == c);
	T_EQ_INT(m.first, 1);
	peer_conn_set_rtt(c, m.rtt_ms);
	T_EQ_INT(c->rtt_ms, 42);
	T_EQ_INT(peer_rtt(p), 42);
	/* The same Pong replayed: its sequence was retired. */
	T_EQ_INT(seq_match(e->seq, a, ping_seq, 1, e->now + 1, &m),
	    SEQ_ERR_UNKNOWN);
	env_free(e);
}

static void
test_peer_pong_after_reply_timeout_rejected(void)
{
	struct env *e = env_new(100, NULL);
	struct seq_match m;
	struct peer *p;
	uint8_t a[33];

	mkpub(a, 0xa1);
	e->seq = seq_table_new(256, hkey, NULL, NULL);
	e->now = T0;
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.5", 4000, &p, NULL, NULL), 0);
	tick_to(e, T0 + 11000);
	T_EQ_INT(e->n, 1);
	T_EQ_U64(e->last_seq, 0x1001);
	T_EQ_INT(seq_match(e->seq, a, e->last_seq, 1, T0 + 11000 + 20000, &m),
	    SEQ_ERR_EXPIRED);
	T_EQ_INT(peer_rtt(p), 0);
	env_free(e);
}

static void
test_peer_rtt_prefers_latest_then_first_active(void)
{
	struct env *e = env_new(100, NULL);
	struct peer *p;
	struct peer_conn *c1, *c2;
	uint8_t a[33];

	mkpub(a, 0xa1);
	e->now = T0;
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.5", 4000, &p, &c1, NULL), 0);
	T_EQ_INT(pkt(e, a, "192.0.2.1", "198.51.100.7", 5000, NULL, &c2, NULL), 0);
	T_EQ_INT(peer_rtt(p), 0);
	peer_conn_set_rtt(c1, 30);
	T_EQ_INT(peer_rtt(p), 30);		/* latest (c2) unknown: first active */
	peer_conn_set_rtt(c2, 0);		/* sub-millisecond is known: 1 ms */
	T_EQ_INT(c2->rtt_ms, 1);
	T_EQ_INT(peer_rtt(p), 1);
	peer_conn_set_rtt(c2, 12);
	T_EQ_INT(peer_rtt(p), 12);
	env_free(e);
}

static void
test_peer_nat_detected_when_reported_internal_port_differs(void)
{
	static const struct {
		uint16_t observed, internal, external;
		int nat, fwd;
	} tab[] = {
		{ 40001, 112, 0, 1, 0 },	/* NAT rewrote the source port */
		{ 112, 112, 0, 0, 0 },		/* same port: no NAT */
		{ 40001, 0, 0, 0, 0 },		/* nothing reported yet: unknown */
		{ 40001, 112, 112, 1, 1 },	/* NAT with a forwarded port */
		{ 112, 112, 9000, 0, 1 },
	};
	struct env *e = env_new(100, NULL);
	struct peer *p;
	struct peer_conn *c;
	uint8_t a[33];
	size_t i;

	mkpub(a, 0xa1);
	e->now = T0;
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.5", tab[i].observed, &p,
		    &c, NULL), 0);
		peer_conn_set_ports(c, tab[i].internal, tab[i].external, 0);
		if (peer_conn_behind_nat(c) != tab[i].nat ||
		    peer_conn_port_forward(c) != tab[i].fwd)
			T_FAIL("row %zu: nat %d fwd %d", i, peer_conn_behind_nat(c),
			    peer_conn_port_forward(c));
		T_EQ_INT(peer_behind_nat(p), tab[i].nat);
		T_EQ_INT(peer_port_forward(p), tab[i].fwd);
	}
	/* An inactive connection still counts for the peer (as the reference). */
	peer_conn_set_ports(c, 113, 0, 1);
	T_EQ_INT(c->firewall, 1);
	tick_to(e, T0 + 30000);
	T_EQ_INT(c->status, PEER_CONN_INACTIVE);
	T_EQ_INT(peer_behind_nat(p), 1);
	env_free(e);
}

static void
test_peer_ping_answered_by_announcement_until_ports_known(void)
{
	struct env *e = env_new(100, NULL);
	struct peer_conn *c;
	uint8_t a[33];

	mkpub(a, 0xa1);
	e->now = T0;
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.5", 4000, NULL, &c, NULL), 0);
	T_EQ_INT(peer_conn_ping_reply(c), WIRE_CMD_ANNOUNCEMENT);
	peer_conn_set_ports(c, 4000, 0, 0);
	T_EQ_INT(peer_conn_ping_reply(c), WIRE_CMD_PONG);
	env_free(e);
}

static void
test_peer_address_classes_table(void)
{
	static const struct {
		const char *ip;
		int local, link_local, loopback;
	} tab[] = {
		{ "10.0.0.1", 1, 0, 0 },
		{ "10.255.255.255", 1, 0, 0 },
		{ "11.0.0.1", 0, 0, 0 },
		{ "172.16.0.1", 1, 0, 0 },
		{ "172.31.255.254", 1, 0, 0 },
		{ "172.15.255.255", 0, 0, 0 },
		{ "172.32.0.1", 0, 0, 0 },
		{ "192.168.1.1", 1, 0, 0 },
		{ "192.169.1.1", 0, 0, 0 },
		{ "169.254.3.4", 0, 1, 0 },	/* link-local is not "local" (IsIPLocal) */
		{ "100.64.0.1", 0, 0, 0 },	/* CGNAT is not local */
		{ "127.0.0.1", 0, 0, 1 },	/* loopback is not local */
		{ "8.8.8.8", 0, 0, 0 },
		{ "fc00::1", 1, 0, 0 },
		{ "fdff::1", 1, 0, 0 },
		{ "fe80::1", 1, 1, 0 },		/* IPv6 link-local is local */
		{ "febf::1", 1, 1, 0 },
		{ "fec0::1", 0, 0, 0 },
		{ "2001:db8::1", 0, 0, 0 },
		{ "::1", 0, 0, 1 },
		{ "::ffff:10.1.2.3", 1, 0, 0 },	/* mapped: judged as IPv4 */
		{ "::ffff:169.254.0.1", 0, 1, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		struct peer_addr a;

		T_EQ_INT(peer_addr_parse(tab[i].ip, 1, &a), 0);
		if (peer_addr_is_local(&a) != tab[i].local ||
		    peer_addr_is_link_local(&a) != tab[i].link_local ||
		    peer_addr_is_loopback(&a) != tab[i].loopback)
			T_FAIL("%s: local %d link-local %d loopback %d", tab[i].ip,
			    peer_addr_is_local(&a), peer_addr_is_link_local(&a),
			    peer_addr_is_loopback(&a));
		/* Sharing: local addresses only with local requesters. */
		T_EQ_INT(peer_addr_may_share(&a, 0), !tab[i].local);
		T_EQ_INT(peer_addr_may_share(&a, 1), 1);
	}
}

static void
test_peer_link_local_rule_for_first_contact_table(void)
{
	static const struct {
		const char *local, *target;
		int ok;
	} tab[] = {
		{ "192.0.2.1", "203.0.113.5", 1 },
		{ "192.0.2.1", "169.254.1.1", 0 },	/* exactly one link-local */
		{ "169.254.7.7", "203.0.113.5", 0 },
		{ "169.254.7.7", "169.254.1.1", 1 },	/* both link-local */
		{ "192.168.1.2", "10.0.0.5", 1 },	/* private is not link-local */
		{ "0.0.0.0", "169.254.1.1", 1 },	/* wildcard network: no check */
		{ "fe80::1", "fe80::2", 1 },
		{ "fe80::1", "2001:db8::5", 0 },
		{ "2001:db8::1", "fe80::2", 0 },
		{ "::", "fe80::2", 1 },
		{ "192.0.2.1", "2001:db8::5", 0 },	/* family mismatch */
		{ "2001:db8::1", "203.0.113.5", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		struct peer_addr l = A(tab[i].local, 112), t = A(tab[i].target, 112);

		if (peer_net_may_send(&l, &t) != tab[i].ok)
			T_FAIL("%s -> %s: %d, expected %d", tab[i].local,
			    tab[i].target, peer_net_may_send(&l, &t), tab[i].ok);
	}
}

static void
test_peer_connectability_filter(void)
{
	struct env *e = env_new(100, NULL);
	struct wire_peer_record r;
	struct wire_msg_hdr h;
	struct peer *p;
	struct peer_conn *c4, *c6, *clan;
	uint8_t a[33];

	mkpub(a, 0xa1);
	memset(&h, 0, sizeof(h));
	h.features = WIRE_FEATURE_IPV4_LISTEN | WIRE_FEATURE_IPV6_LISTEN |
	    WIRE_FEATURE_FIREWALL | 0x80;
	e->now = T0;
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.5", 40001, &p, &c4, NULL), 0);
	peer_set_info(p, &h, e->now);
	/* Only Pings so far: reported internal port 0 -> never shared. */
	T_EQ_INT(peer_is_connectable(p, 1, 1, 1), 0);
	T_ASSERT(peer_conn_to_share(p, 1, 1, 1) == NULL);
	T_EQ_INT(peer_to_record(p, 1, 1, 1, &r), PEER_ERR_NO_CONN);
	peer_conn_set_ports(c4, 112, 0, 0);
	T_EQ_INT(peer_is_connectable(p, 0, 1, 0), 1);
	T_EQ_INT(peer_is_connectable(p, 0, 0, 1), 0);	/* IPv6-only requester */
	T_EQ_INT(peer_is_connectable(p, 0, 0, 0), 0);
	/* A LAN connection becomes the latest. */
	T_EQ_INT(pkt(e, a, "192.168.1.2", "192.168.1.50", 112, NULL, &clan, NULL), 0);
	peer_conn_set_ports(clan, 112, 0, 0);
	T_ASSERT(peer_conn_to_share(p, 1, 1, 0) == clan);	/* local requester */
	T_ASSERT(peer_conn_to_share(p, 0, 1, 0) == c4);	/* latest is local: first qualifying */
	/* An IPv6 connection, independent part of the record. */
	{
		struct peer_addr l6 = A("2001:db8::1", 112),
		    r6 = A("2001:db8:1::7", 6000);

		T_EQ_INT(peer_packet_in(e->l, a, 1, &l6, &r6, e->now, NULL, &c6,
		    NULL), 0);
	}
	T_EQ_INT(peer_is_connectable(p, 0, 0, 1), 0);	/* ports unknown yet */
	peer_conn_set_ports(c6, 112, 7000, 0);
	T_EQ_INT(peer_to_record(p, 0, 1, 1, &r), 0);
	T_EQ_MEM(r.peer_id, a, 33);
	T_EQ_MEM(r.node_id, p->node_id, 32);
	T_EQ_INT(r.features, 0x07);			/* bit 7 masked off */
	T_EQ_INT(r.reason, WIRE_REASON_CLOSE);
	T_EQ_INT(r.ipv4[0], 203);
	T_EQ_INT(r.ipv4[3], 5);
	T_EQ_INT(r.ipv4_port, 40001);			/* observed */
	T_EQ_INT(r.ipv4_port_internal, 112);
	T_EQ_INT(r.ipv4_port_external, 0);
	T_EQ_INT(r.ipv6[0], 0x20);
	T_EQ_INT(r.ipv6[15], 7);
	T_EQ_INT(r.ipv6_port, 6000);
	T_EQ_INT(r.ipv6_port_internal, 112);
	T_EQ_INT(r.ipv6_port_external, 7000);
	T_EQ_U64(r.last_contact, 0);
	/* IPv4-only requester: IPv6 part empty. */
	T_EQ_INT(peer_to_record(p, 0, 1, 0, &r), 0);
	T_EQ_INT(r.ipv6_port, 0);
	T_EQ_INT(r.ipv6[0], 0);
	/*
	 * The IPv6 connection is the latest now, so IPv4 comes from the first
	 * qualifying active connection in list order, local requester or not.
	 */
	T_EQ_INT(peer_to_record(p, 1, 1, 0, &r), 0);
	T_EQ_INT(r.ipv4[0], 203);
	T_EQ_INT(r.ipv4_port, 40001);
	/* Once the public one is gone, a local requester gets the LAN one. */
	peer_conn_send_failed(p, c4, 1, e->now);
	T_EQ_INT(peer_to_record(p, 1, 1, 0, &r), 0);
	T_EQ_INT(r.ipv4[0], 192);
	T_EQ_INT(r.ipv4_port, 112);
	T_EQ_INT(peer_to_record(p, 0, 1, 0, &r), PEER_ERR_NO_CONN);
	/* Inactive connections never qualify. */
	tick_to(e, T0 + 100000);
	T_EQ_INT(p->nact, 0);
	T_EQ_INT(peer_is_connectable(p, 1, 1, 1), 0);
	T_EQ_INT(peer_to_record(p, 1, 1, 1, &r), PEER_ERR_NO_CONN);
	env_free(e);
}

static void
test_peer_record_quality_and_dial_address(void)
{
	struct wire_peer_record r;
	struct peer_addr d;
	uint8_t self[33];
	uint16_t pi = 0;

	mkpub(self, 0x55);
	memset(&r, 0, sizeof(r));
	mkpub(r.peer_id, 0x66);
	T_EQ_INT(peer_record_bad_quality(&r, self), 1);	/* no address */
	r.ipv4[0] = 203; r.ipv4[3] = 5;
	r.ipv4_port = 40001;
	T_EQ_INT(peer_record_bad_quality(&r, self), 1);	/* internal port 0 */
	r.ipv4_port_internal = 112;
	T_EQ_INT(peer_record_bad_quality(&r, self), 0);
	r.ipv6[0] = 0x20; r.ipv6[15] = 1;
	T_EQ_INT(peer_record_bad_quality(&r, self), 1);	/* IPv6 present, no port */
	r.ipv6_port = 6000;
	r.ipv6_port_internal = 6000;
	T_EQ_INT(peer_record_bad_quality(&r, self), 0);
	T_EQ_INT(peer_record_bad_quality(&r, r.peer_id), 1);	/* ourselves */
	/* Dial: observed port unless an external one is reported. */
	T_EQ_INT(peer_record_dial(&r, AF_INET, &d, &pi), 0);
	T_EQ_INT(d.family, AF_INET);
	T_EQ_INT(d.ip[0], 203);
	T_EQ_INT(d.port, 40001);
	T_EQ_INT(pi, 112);
	r.ipv4_port_external = 9112;
	T_EQ_INT(peer_record_dial(&r, AF_INET, &d, &pi), 0);
	T_EQ_INT(d.port, 9112);
	T_EQ_INT(peer_record_dial(&r, AF_INET6, &d, &pi), 0);
	T_EQ_INT(d.family, AF_INET6);
	T_EQ_INT(d.port, 6000);
	memset(r.ipv6, 0, 16);
	T_EQ_INT(peer_record_dial(&r, AF_INET6, &d, &pi), PEER_ERR_NO_CONN);
}

static void
test_peer_send_targets_latest_then_fallback(void)
{
	struct env *e = env_new(100, NULL);
	struct peer_conn *out[PEER_MAX_CONNS];
	struct peer *p;
	struct peer_conn *c1, *c2, *c3;
	uint8_t a[33];
	size_t n;

	mkpub(a, 0xa1);
	e->now = T0;
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.1", 4000, &p, &c1, NULL), 0);
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.2", 4000, NULL, &c2, NULL), 0);
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.3", 4000, NULL, &c3, NULL), 0);
	T_EQ_INT(peer_send_targets(p, NULL, out, &n), 0);
	T_EQ_INT(n, 1);
	T_ASSERT(out[0] == c3);
	peer_conn_sent(p, c3, T0 + 1);
	T_EQ_U64(c3->last_packet_out, T0 + 1);
	T_EQ_U64(p->packets_out, 1);
	/* A non-fatal error: fall back to the others, c3 stays. */
	peer_conn_send_failed(p, c3, 0, T0 + 2);
	T_EQ_INT(c3->status, PEER_CONN_ACTIVE);
	T_EQ_INT(peer_send_targets(p, c3, out, &n), 0);
	T_EQ_INT(n, 2);
	T_ASSERT(out[0] == c1 && out[1] == c2);
	/* A fatal error invalidates it: no latest, every active one. */
	peer_conn_send_failed(p, c3, 1, T0 + 3);
	T_EQ_INT(c3->status, PEER_CONN_INACTIVE);
	T_EQ_U64(c3->expires, T0 + 3 + PEER_REMOVE_MS);
	T_EQ_INT(p->latest, -1);
	T_EQ_INT(peer_send_targets(p, NULL, out, &n), 0);
	T_EQ_INT(n, 2);
	T_ASSERT(out[0] == c1 && out[1] == c2);
	peer_conn_send_failed(p, c1, 1, T0 + 4);
	peer_conn_send_failed(p, c2, 1, T0 + 4);
	T_EQ_INT(peer_send_targets(p, NULL, out, &n), PEER_ERR_NO_CONN);
	T_EQ_INT(n, 0);
	T_EQ_INT(count_type(e, PEER_ACT_CONN_INACTIVE), 0);	/* caller-made: no action */
	env_free(e);
}

static void
test_peer_packet_from_self_refused(void)
{
	uint8_t self[33];
	struct env *e;

	mkpub(self, 0x5e);
	e = env_new(10, self);
	e->now = T0;
	T_EQ_INT(pkt(e, self, "192.0.2.1", "203.0.113.5", 4000, NULL, NULL, NULL),
	    PEER_ERR_SELF);
	T_EQ_INT(peer_list_count(e->l), 0);
	env_free(e);
}

static void
test_peer_connection_cap_evicts_inactive_first_then_oldest(void)
{
	struct env *e = env_new(10, NULL);
	struct peer *p;
	struct peer_conn *c, *first = NULL;
	char ip[32];
	uint8_t a[33];
	unsigned ev;
	int i;

	mkpub(a, 0xa1);
	e->now = T0;
	for (i = 0; i < PEER_MAX_CONNS; i++) {
		snprintf(ip, sizeof(ip), "203.0.113.%d", i + 1);
		e->now = T0 + (uint64_t)i;
		T_EQ_INT(pkt(e, a, "192.0.2.1", ip, 4000, &p, &c, NULL), 0);
		if (i == 0)
			first = c;
	}
	T_EQ_INT(p->nact, PEER_MAX_CONNS);
	/* Refresh the first so that the second is the least recently heard. */
	e->now = T0 + 100;
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.1", 4000, NULL, NULL, NULL), 0);
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.200", 4000, NULL, &c, &ev), 0);
	T_EQ_INT(ev, PEER_EV_NEW_CONN);
	T_EQ_INT(p->nact, PEER_MAX_CONNS);
	T_EQ_INT(e->n, 1);
	T_EQ_INT(e->r[0].type, PEER_ACT_CONN_REMOVED);
	T_EQ_INT(e->r[0].why, PEER_WHY_EVICTED);
	T_ASSERT(c == &p->conns[e->r[0].slot]);	/* the freed slot was reused */
	T_ASSERT(first->in_use && first->remote.ip[3] == 1);
	/* With an inactive connection present, that one goes instead. */
	peer_conn_send_failed(p, first, 1, e->now);
	T_EQ_INT(p->ninact, 1);
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.201", 4000, NULL, &c, NULL), 0);
	T_ASSERT(c == first);		/* same slot, new connection */
	T_EQ_INT(c->remote.ip[3], 201);
	T_EQ_INT(p->ninact, 0);
	T_EQ_INT(p->nact, PEER_MAX_CONNS);
	{
		struct peer_list_stats st;

		peer_list_stats(e->l, &st);
		T_EQ_U64(st.conns_evicted, 2);
		T_EQ_INT(st.conns_active, PEER_MAX_CONNS);
	}
	env_free(e);
}

static void
test_peer_million_random_peers_bounded_live_peer_kept(void)
{
	struct env *e = env_new(1000, NULL);
	struct peer_list_stats st;
	struct peer_addr l = A("192.0.2.1", 112), r = A("203.0.113.5", 4000);
	uint8_t pub[33], loyal[33];
	uint64_t x = 0x243f6a8885a308d3ULL;
	size_t bound;
	int i, rc, full = 0;

	mkpub(loyal, 0x77);
	e->loyal = loyal;
	e->now = T0;
	pub[0] = 0x02;
	for (i = 0; i < 1000000; i++) {
		e->now++;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(pub + 1, &x, 8);
		memcpy(pub + 9, &i, sizeof(i));
		memset(pub + 9 + sizeof(i), (uint8_t)x, 33 - 9 - sizeof(i));
		r.ip[3] = (uint8_t)x;
		rc = peer_packet_in(e->l, pub, 0, &l, &r, e->now, NULL, NULL, NULL);
		if (rc == PEER_ERR_FULL)
			full++;
		else if (rc != 0)
			T_FAIL("packet %d: %s", i, peer_strerror(rc));
		if (i % 1000 == 0) {
			/* A live peer talks every second; the liveness task runs too. */
			T_EQ_INT(peer_packet_in(e->l, loyal, 0, &l, &r, e->now, NULL,
			    NULL, NULL), 0);
			peer_tick(e->l, e->now);
			T_ASSERT(peer_list_count(e->l) <= 1000);
		}
	}
	peer_list_stats(e->l, &st);
	T_EQ_INT(st.peers, 1000);
	T_ASSERT(st.peers == peer_list_count(e->l));
	bound = 4096 + 2 * 1024 * sizeof(void *) + 1000 * sizeof(struct peer);
	T_ASSERT(st.bytes <= bound);
	T_EQ_U64(st.refused, (uint64_t)full);
	T_ASSERT(st.refused > 900000);	/* live peers were not displaced */
	T_ASSERT(st.evicted > 40000);	/* silent ones made room, every ~22 s */
	T_EQ_U64(st.added, st.evicted + st.removed + st.peers);
	T_EQ_INT(e->evict_order_ok, 1);	/* least recently heard first */
	T_EQ_INT(e->evict_idle_ok, 1);	/* only peers silent > 22 s */
	T_EQ_INT(e->loyal_removed, 0);
	T_ASSERT(peer_find(e->l, loyal) != NULL);
	env_free(e);
}

static void
test_peer_set_info_reports_chain_change_keeps_ua(void)
{
	struct env *e = env_new(10, NULL);
	struct wire_msg_hdr h;
	struct peer *p;
	uint8_t a[33];

	mkpub(a, 0xa1);
	e->now = T0;
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.5", 4000, &p, NULL, NULL), 0);
	memset(&h, 0, sizeof(h));
	T_EQ_INT(peer_set_info(p, &h, T0), 0);		/* 0/0 as initially */
	T_EQ_U64(p->chain_refreshed, T0);
	T_EQ_INT(wire_msg_hdr_set_ua(&h, "Peernet Core/0.9"), 0);
	h.blockchain_version = 2;
	h.features = WIRE_FEATURE_IPV4_LISTEN;
	T_EQ_INT(peer_set_info(p, &h, T0 + 1), 1);
	T_EQ_STR(p->ua, "Peernet Core/0.9");
	T_EQ_INT(p->features, WIRE_FEATURE_IPV4_LISTEN);
	wire_msg_hdr_set_ua(&h, NULL);
	T_EQ_INT(peer_set_info(p, &h, T0 + 2), 0);
	T_EQ_STR(p->ua, "Peernet Core/0.9");		/* empty UA keeps the old one */
	T_EQ_U64(p->chain_version, 2);
	env_free(e);
}

static void
test_peer_sockaddr_conversion_normalises_mapped(void)
{
	struct sockaddr_in6 s6;
	struct sockaddr_storage ss;
	struct peer_addr a;
	socklen_t len;
	char buf[PEER_ADDR_STRLEN];

	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_port = htons(4000);
	inet_pton(AF_INET6, "::ffff:203.0.113.5", &s6.sin6_addr);
	T_EQ_INT(peer_addr_from_sockaddr((struct sockaddr *)&s6, sizeof(s6), &a), 0);
	T_EQ_INT(a.family, AF_INET);
	T_EQ_STR(peer_addr_format(&a, buf, sizeof(buf)), "203.0.113.5:4000");
	T_EQ_INT(peer_addr_to_sockaddr(&a, &ss, &len), 0);
	T_EQ_INT(len, sizeof(struct sockaddr_in));
	T_EQ_INT(ntohs(((struct sockaddr_in *)&ss)->sin_port), 4000);
	inet_pton(AF_INET6, "2001:db8::7", &s6.sin6_addr);
	T_EQ_INT(peer_addr_from_sockaddr((struct sockaddr *)&s6, sizeof(s6), &a), 0);
	T_EQ_INT(a.family, AF_INET6);
	T_EQ_STR(peer_addr_format(&a, buf, sizeof(buf)), "[2001:db8::7]:4000");
	T_EQ_INT(peer_addr_from_sockaddr((struct sockaddr *)&s6, 8, &a),
	    PEER_ERR_ARG);
	T_EQ_INT(peer_addr_parse("not-an-ip", 1, &a), PEER_ERR_PARSE);
}

static struct env *
env_new_cap(uint32_t max_peers, uint32_t per_ip)
{
	return env_new_conf(max_peers, NULL, per_ip);
}

/* 1,000 identities from one IPv4 address: at most the cap, others still join. */
static void
test_peer_per_address_cap_one_host_many_identities(void)
{
	struct env *e = env_new_cap(1000, 8);
	struct peer_list_stats st;
	struct peer *p;
	uint8_t a[33];
	int i, ok = 0, capped = 0;

	e->now = T0;
	for (i = 0; i < 1000; i++) {
		mkpub(a, 0);
		a[1] = (uint8_t)(i >> 8);
		a[2] = (uint8_t)i;
		a[3] = 0x5a;
		switch (pkt(e, a, "192.0.2.1", "203.0.113.9", (uint16_t)(1000 + i), NULL,
		    NULL, NULL)) {
		case 0:
			ok++;
			break;
		case PEER_ERR_ADDR_CAP:
			capped++;
			break;
		}
	}
	T_EQ_INT(ok, 8);
	T_EQ_INT(capped, 992);
	T_EQ_INT(peer_prefix_count(e->l, &(struct peer_addr){ AF_INET,
	    { 203, 0, 113, 9 }, 0 }), 8);
	peer_list_stats(e->l, &st);
	T_EQ_U64(st.refused_addr, 992);
	/* An admitted identity keeps talking from there; another host joins. */
	mkpub(a, 0);
	a[3] = 0x5a;
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.9", 1000, NULL, NULL, NULL), 0);
	mkpub(a, 0x77);
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.10", 7001, &p, NULL, NULL), 0);
	/* A known peer's first connection from the full address is refused too. */
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.9", 7001, NULL, NULL, NULL),
	    PEER_ERR_ADDR_CAP);
	T_EQ_INT(p->nact, 1);
	env_free(e);
}

/* IPv6: one /64 is one source; the count follows removals. */
static void
test_peer_per_address_cap_ipv6_prefix_and_removal(void)
{
	struct env *e = env_new_cap(100, 2);
	uint8_t a[33], b[33], c[33];
	struct peer_addr r = A("2001:db8:1:2::99", 0);

	mkpub(a, 0xa1);
	mkpub(b, 0xb2);
	mkpub(c, 0xc3);
	e->now = T0;
	T_EQ_INT(pkt(e, a, "2001:db8::1", "2001:db8:1:2::1", 4000, NULL, NULL, NULL), 0);
	T_EQ_INT(pkt(e, b, "2001:db8::1", "2001:db8:1:2:ffff::7", 4000, NULL, NULL, NULL), 0);
	T_EQ_INT(pkt(e, c, "2001:db8::1", "2001:db8:1:2::3", 4000, NULL, NULL, NULL),
	    PEER_ERR_ADDR_CAP);
	T_EQ_INT(pkt(e, c, "2001:db8::1", "2001:db8:1:3::3", 4000, NULL, NULL, NULL), 0);
	T_EQ_INT((int)peer_prefix_count(e->l, &r), 2);
	/* a and b fall silent: removed after invalidation + 120 s, the /64 frees up. */
	e->now = T0;
	while (e->now < T0 + 200000) {
		e->now += PEER_TICK_MS;
		/* c stays alive */
		pkt(e, c, "2001:db8::1", "2001:db8:1:3::3", 4000, NULL, NULL, NULL);
		peer_tick(e->l, e->now);
	}
	T_EQ_INT((int)peer_prefix_count(e->l, &r), 0);
	T_EQ_INT(pkt(e, c, "2001:db8::1", "2001:db8:1:2::3", 4000, NULL, NULL, NULL), 0);
	T_EQ_INT((int)peer_prefix_count(e->l, &r), 1);
	env_free(e);
}

/* Only verified connections carry a transfer's data. */
static void
test_peer_send_targets_verified(void)
{
	struct env *e = env_new(100, NULL);
	struct peer_conn *out[PEER_MAX_CONNS], *c1, *c2;
	struct peer *p;
	uint8_t a[33];
	size_t n;

	mkpub(a, 0xa1);
	e->now = T0;
	T_EQ_INT(pkt(e, a, "192.0.2.1", "203.0.113.5", 4000, &p, &c1, NULL), 0);
	T_EQ_INT(peer_send_targets_verified(p, out, &n), PEER_ERR_NO_CONN);
	T_ASSERT(!peer_has_verified(p));
	T_ASSERT(!peer_has_verified(NULL));
	peer_conn_set_rtt(c1, 5);
	T_ASSERT(peer_conn_verified(c1));
	T_ASSERT(peer_has_verified(p));
	/* A new (spoofable) address becomes latest: still only the verified one. */
	T_EQ_INT(pkt(e, a, "192.0.2.1", "198.51.100.7", 4000, NULL, &c2, NULL), 0);
	T_ASSERT(&p->conns[p->latest] == c2);
	T_EQ_INT(peer_send_targets_verified(p, out, &n), 0);
	T_EQ_INT((int)n, 1);
	T_ASSERT(out[0] == c1);
	env_free(e);
}

/*
 * The per-prefix counts stay exact through additions, new connections,
 * the connection cap, eviction and expiry: random traffic from a small
 * address space, then every prefix's count is recomputed from the list.
 */
struct prefix_check {
	const struct peer_list	*l;
	int			 bad;
	int			 over;
	uint32_t		 cap;
};

static void
prefix_check_one(void *arg, struct peer *p)
{
	struct prefix_check *x = arg;
	int i, j, dup;

	for (i = 0; i < PEER_MAX_CONNS; i++) {
		if (!p->conns[i].in_use)
			continue;
		for (j = 0, dup = 0; j < i; j++)
			dup |= p->conns[j].in_use &&
			    p->conns[j].remote.ip[3] == p->conns[i].remote.ip[3];
		if (!dup && peer_prefix_count(x->l, &p->conns[i].remote) == 0)
			x->bad++;
		if (peer_prefix_count(x->l, &p->conns[i].remote) > x->cap)
			x->over++;
	}
}

static void
test_peer_per_address_counts_exact_under_churn(void)
{
	struct env *e = env_new_cap(40, 3);	/* 20 addresses x 3 > 40: full list */
	struct prefix_check x;
	struct peer_list_stats st;
	uint8_t a[33];
	char ip[32];
	uint32_t r = 12345, sum, want;
	int i, k, ip4;
	struct peer *p;

	e->now = T0;
	for (i = 0; i < 200000; i++) {
		r = r * 1103515245 + 12345;
		mkpub(a, 0);
		a[1] = (uint8_t)((r >> 8) % 200);
		ip4 = 1 + (int)((r >> 16) % 20);
		snprintf(ip, sizeof(ip), "203.0.113.%d", ip4);
		pkt(e, a, (r >> 28) & 1 ? "192.0.2.1" : "192.0.2.2", ip, 4000, NULL, NULL,
		    NULL);
		if (i % 50 == 0) {
			e->now += PEER_TICK_MS * (1 + (r >> 29) % 8);
			peer_tick(e->l, e->now);
		}
	}
	x.l = e->l;
	x.bad = x.over = 0;
	x.cap = 3;
	peer_list_foreach(e->l, prefix_check_one, &x);
	T_EQ_INT(x.bad, 0);
	T_EQ_INT(x.over, 0);
	/* Sum over the 20 addresses = peers per address, recounted. */
	for (k = 1, sum = 0, want = 0; k <= 20; k++) {
		struct peer_addr ra;
		uint8_t tag;

		snprintf(ip, sizeof(ip), "203.0.113.%d", k);
		ra = A(ip, 0);
		sum += peer_prefix_count(e->l, &ra);
		for (tag = 0; tag < 200; tag++) {
			int c, has = 0;

			mkpub(a, 0);
			a[1] = tag;
			if ((p = peer_find(e->l, a)) == NULL)
				continue;
			for (c = 0; c < PEER_MAX_CONNS; c++)
				has |= p->conns[c].in_use &&
				    peer_addr_ip_equal(&p->conns[c].remote, &ra);
			want += (uint32_t)has;
		}
	}
	T_EQ_INT((int)sum, (int)want);
	peer_list_stats(e->l, &st);
	T_ASSERT(st.refused_addr > 0);
	T_ASSERT(st.evicted + st.removed > 0);
	env_free(e);
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_peer_first_packet_adds_peer_with_latest_active_connection);
	T_RUN(test_peer_new_source_port_updates_connection_in_place);
	T_RUN(test_peer_second_address_becomes_latest_first_redundant);
	T_RUN(test_peer_silent_peer_schedule_matches_reference);
	T_RUN(test_peer_keepalive_is_ping_until_chain_info_is_60s_old);
	T_RUN(test_peer_redundant_connection_pinged_at_40s_invalidated_at_88s);
	T_RUN(test_peer_inactive_connection_reactivated_by_packet);
	T_RUN(test_peer_last_two_inactive_kept_then_peer_removed);
	T_RUN(test_peer_pong_with_matching_sequence_sets_rtt);
	T_RUN(test_peer_pong_after_reply_timeout_rejected);
	T_RUN(test_peer_rtt_prefers_latest_then_first_active);
	T_RUN(test_peer_nat_detected_when_reported_internal_port_differs);
	T_RUN(test_peer_ping_answered_by_announcement_until_ports_known);
	T_RUN(test_peer_address_classes_table);
	T_RUN(test_peer_link_local_rule_for_first_contact_table);
	T_RUN(test_peer_connectability_filter);
	T_RUN(test_peer_record_quality_and_dial_address);
	T_RUN(test_peer_send_targets_latest_then_fallback);
	T_RUN(test_peer_packet_from_self_refused);
	T_RUN(test_peer_connection_cap_evicts_inactive_first_then_oldest);
	T_RUN(test_peer_million_random_peers_bounded_live_peer_kept);
	T_RUN(test_peer_set_info_reports_chain_change_keeps_ua);
	T_RUN(test_peer_sockaddr_conversion_normalises_mapped);
	T_RUN(test_peer_per_address_cap_one_host_many_identities);
	T_RUN(test_peer_per_address_cap_ipv6_prefix_and_removal);
	T_RUN(test_peer_send_targets_verified);
	T_RUN(test_peer_per_address_counts_exact_under_churn);
	return t_done();
}
