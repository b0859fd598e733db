/*
 * test_traverse.c — the pure Traverse decisions of netd/traverse.c
 * (docs/protocol.md §3.7, §8): when A needs a relay, which relay, the retry
 * schedule, the relay's dispatch/forward checks with an injected clock,
 * the address block a relay shares, and the candidates the target derives.
 */
#include <arpa/inet.h>

#include <string.h>

#include "ident.h"
#include "peer.h"
#include "t.h"
#include "traverse.h"
#include "wire_packet.h"

static uint8_t pa[33], pb[33], pr[33], px[33];

/* The crypto library, and the keys of A, B, R and X: 0, or -1. */
static int
keys(void)
{
	struct ident id;
	uint8_t *k[4] = { pa, pb, pr, px };
	int i;

	if (ident_crypto_init() != 0)
		return -1;
	for (i = 0; i < 4; i++) {
		if (ident_generate(&id) != 0)
			return -1;
		memcpy(k[i], id.pub, 33);
		ident_wipe(&id);
	}
	return 0;
}

static void
test_needed_when_dial_port_differs_from_internal(void)
{
	T_EQ_INT(traverse_needed(40002, 112, WIRE_FEATURE_IPV4_LISTEN), 1);
	/* Port kept by the NAT (or no NAT): direct only, as the reference. */
	T_EQ_INT(traverse_needed(112, 112, WIRE_FEATURE_IPV4_LISTEN), 0);
	/* Internal port unknown (root peers): never. */
	T_EQ_INT(traverse_needed(40002, 0, WIRE_FEATURE_IPV4_LISTEN), 0);
	/* FIREWALL forces it even when the ports agree. */
	T_EQ_INT(traverse_needed(112, 112, WIRE_FEATURE_FIREWALL), 1);
	T_EQ_INT(traverse_needed(112, 0, WIRE_FEATURE_FIREWALL), 1);
}

static void
test_relay_hint_newest_wins_and_expires(void)
{
	static struct traverse_relays t;
	uint8_t out[33];

	memset(&t, 0, sizeof(t));
	T_EQ_INT(traverse_relay_get(&t, pb, 1000, out), -1);
	traverse_relay_note(&t, pb, pr, 1000);
	T_EQ_INT(traverse_relay_get(&t, pb, 2000, out), 0);
	T_EQ_MEM(out, pr, 33);
	traverse_relay_note(&t, pb, px, 3000);
	T_EQ_INT(traverse_relay_get(&t, pb, 3000, out), 0);
	T_EQ_MEM(out, px, 33);
	T_EQ_INT(traverse_relay_get(&t, pb, 3000 + TRAVERSE_RELAY_MS - 1, out), 0);
	T_EQ_INT(traverse_relay_get(&t, pb, 3000 + TRAVERSE_RELAY_MS, out), -1);
	/* A peer never is its own relay. */
	traverse_relay_note(&t, pa, pa, 5000);
	T_EQ_INT(traverse_relay_get(&t, pa, 5000, out), -1);
}

static void
test_relay_hints_bounded(void)
{
	static struct traverse_relays t;
	uint8_t peer[33], out[33];
	unsigned i;

	memset(&t, 0, sizeof(t));
	memcpy(peer, pb, 33);
	for (i = 0; i < TRAVERSE_RELAY_SLOTS + 10; i++) {
		peer[1] = (uint8_t)i;
		peer[2] = (uint8_t)(i >> 8);
		traverse_relay_note(&t, peer, pr, 1000 + i);
	}
	/* The first ones were pushed out, the last ones are there. */
	peer[1] = 0;
	peer[2] = 0;
	T_EQ_INT(traverse_relay_get(&t, peer, 2000, out), -1);
	i = TRAVERSE_RELAY_SLOTS + 9;
	peer[1] = (uint8_t)i;
	peer[2] = (uint8_t)(i >> 8);
	T_EQ_INT(traverse_relay_get(&t, peer, 2000, out), 0);
}

/* An empty punch table, and the peer at 198.51.100.2:port to punch to. */
static void
punches_start(struct traverse_punches *t, struct peer_addr *to, uint16_t port)
{
	memset(t, 0, sizeof(*t));
	T_EQ_INT(peer_addr_parse("198.51.100.2", port, to), 0);
}

/*
 * A fresh punch table filled up: a punch to each port 1..TRAVERSE_PUNCH_SLOTS
 * at 100 + i ms, each in a slot of its own; *first is the oldest.
 */
static void
punches_fill(struct traverse_punches *t, struct peer_addr *to,
    struct traverse_punch **first)
{
	struct traverse_punch *e[TRAVERSE_PUNCH_SLOTS];
	unsigned i, j;

	T_DO(punches_start(t, to, 1));
	for (i = 0; i < TRAVERSE_PUNCH_SLOTS; i++) {
		to->port = (uint16_t)(i + 1);
		e[i] = traverse_punch_new(t, pb, pr, to, 100 + i);
		T_ASSERT(e[i] != NULL);
		for (j = 0; j < i; j++)
			T_ASSERT(e[j] != e[i]);
	}
	*first = e[0];
}

static void
test_punch_retries_twice_then_fails(void)
{
	static struct traverse_punches t;
	struct traverse_punch *e;
	struct peer_addr to;

	T_DO(punches_start(&t, &to, 40002));
	e = traverse_punch_new(&t, pb, pr, &to, 1000);
	T_EQ_INT(traverse_punch_step(e, 0, 1000), TRAVERSE_PUNCH_SEND);
	T_EQ_INT(e->tries, 1);
	T_EQ_INT(traverse_punch_step(e, 0, 1000 + TRAVERSE_RETRY_MS - 1), TRAVERSE_PUNCH_WAIT);
	T_EQ_INT(traverse_punch_step(e, 0, 1000 + TRAVERSE_RETRY_MS), TRAVERSE_PUNCH_SEND);
	T_EQ_INT(traverse_punch_step(e, 0, 1000 + 2 * TRAVERSE_RETRY_MS), TRAVERSE_PUNCH_SEND);
	T_EQ_INT(e->tries, TRAVERSE_TRIES);
	T_EQ_INT(traverse_punch_step(e, 0, 1000 + 3 * TRAVERSE_RETRY_MS - 1), TRAVERSE_PUNCH_WAIT);
	T_EQ_INT(traverse_punch_step(e, 0, 1000 + 3 * TRAVERSE_RETRY_MS), TRAVERSE_PUNCH_FAILED);
	/* The slot is idle afterwards: nothing more happens. */
	T_EQ_U64(e->started, 0);
	T_EQ_INT(traverse_punch_step(e, 0, 1000 + 9 * TRAVERSE_RETRY_MS), TRAVERSE_PUNCH_WAIT);
	/* No new punch to that address during the back-off, then one again. */
	T_ASSERT(traverse_punch_new(&t, pb, pr, &to, 1000 + 3 * TRAVERSE_RETRY_MS +
	    TRAVERSE_BACKOFF_MS - 1) == NULL);
	T_ASSERT(traverse_punch_new(&t, pb, pr, &to, 1000 + 3 * TRAVERSE_RETRY_MS +
	    TRAVERSE_BACKOFF_MS) == e);
}

static void
test_punch_done_when_connected(void)
{
	static struct traverse_punches t;
	struct traverse_punch *e, *again;
	struct peer_addr to;

	T_DO(punches_start(&t, &to, 40002));
	e = traverse_punch_new(&t, pb, pr, &to, 1000);
	T_EQ_INT(traverse_punch_step(e, 0, 1000), TRAVERSE_PUNCH_SEND);
	/* The same pair again while it runs: no second punch, the retries go on. */
	again = traverse_punch_new(&t, pb, pr, &to, 1500);
	T_ASSERT(again == NULL);
	T_EQ_INT(e->tries, 1);
	T_EQ_INT(traverse_punch_step(e, 1, 1600), TRAVERSE_PUNCH_DONE);
	T_EQ_U64(e->started, 0);
	/* Once done, a later contact may punch again (the connection may be gone). */
	T_ASSERT(traverse_punch_new(&t, pb, pr, &to, 1700) == e);
}

static void
test_punch_table_full_replaces_oldest(void)
{
	static struct traverse_punches t;
	struct traverse_punch *first, *e;
	struct peer_addr to;

	T_DO(punches_fill(&t, &to, &first));
	to.port = 9999;
	e = traverse_punch_new(&t, pb, pr, &to, 5000);
	T_ASSERT(e == first);
	T_EQ_INT(e->to.port, 9999);
}

/* Port-preserving NAT: the Traverse only once the direct contact stayed unanswered. */
static void
test_fallback_waits_for_direct_answer(void)
{
	static struct traverse_punches t;
	struct traverse_punch *e, *f;
	struct peer_addr to;

	T_DO(punches_start(&t, &to, 112));
	e = traverse_punch_fallback(&t, pb, pr, &to, 1000);
	T_ASSERT(e != NULL);
	T_EQ_INT(e->fallback, 1);
	T_EQ_INT(traverse_punch_step(e, 0, 1000), TRAVERSE_PUNCH_WAIT);
	T_EQ_INT(traverse_punch_step(e, 0, 1000 + TRAVERSE_FALLBACK_MS - 1), TRAVERSE_PUNCH_WAIT);
	/* No second punch to that pair while the first waits. */
	T_ASSERT(traverse_punch_fallback(&t, pb, pr, &to, 1500) == NULL);
	T_ASSERT(traverse_punch_new(&t, pb, pr, &to, 1500) == NULL);
	T_EQ_INT(traverse_punch_step(e, 0, 1000 + TRAVERSE_FALLBACK_MS), TRAVERSE_PUNCH_SEND);
	T_EQ_INT(e->tries, 1);
	/* Then the retries of any punch. */
	T_EQ_INT(traverse_punch_step(e, 0, 1000 + TRAVERSE_FALLBACK_MS + TRAVERSE_RETRY_MS),
	    TRAVERSE_PUNCH_SEND);
	T_EQ_INT(traverse_punch_step(e, 1, 1000 + TRAVERSE_FALLBACK_MS + TRAVERSE_RETRY_MS + 1),
	    TRAVERSE_PUNCH_DONE);

	/* Answered directly in time: done without a Traverse (tries 0). */
	e = traverse_punch_fallback(&t, pb, pr, &to, 20000);
	T_ASSERT(e != NULL);
	T_EQ_INT(traverse_punch_step(e, 1, 20100), TRAVERSE_PUNCH_DONE);
	T_EQ_INT(e->tries, 0);

	/* A full table: a fallback takes no slot from punches §8 asked for. */
	T_DO(punches_fill(&t, &to, &f));
	to.port = 9999;
	T_ASSERT(traverse_punch_fallback(&t, pb, pr, &to, 5000) == NULL);
	f = traverse_punch_new(&t, pb, pr, &to, 5000);
	T_ASSERT(f != NULL && f->fallback == 0);
}

static void
tv(struct wire_traverse *t, const uint8_t *target, const uint8_t *relay,
    const uint8_t *signer, uint64_t expires)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->target, target, 33);
	memcpy(t->relay, relay, 33);
	memcpy(t->signer, signer, 33);
	t->expires = expires;
}

/*
 * traverse_classify, as self, of A's message for B through R expiring at
 * 5000 (tv(&t, pb, pr, pa, 5000)), delivered by from at now: want.
 */
struct classify_case {
	const uint8_t	*self, *from;
	uint64_t	 now;
	int		 want;
};

static void
expect_classify(const struct classify_case *c, size_t n)
{
	struct wire_traverse t;
	size_t i;
	int got;

	tv(&t, pb, pr, pa, 5000);
	for (i = 0; i < n; i++)
		if ((got = traverse_classify(&t, c[i].self, c[i].from, c[i].now)) !=
		    c[i].want)
			T_FAIL("case %zu: %d, expected %d", i, got, c[i].want);
}

/* As R, the relay: */
static const struct classify_case relay_cases[] = {
	/* A sends what A signed: forward. */
	{ pr, pa, 4000, TRAVERSE_FORWARD },
	{ pr, pa, 5000, TRAVERSE_FORWARD },
	{ pr, pa, 5001, TRAVERSE_DROP_EXPIRED },
	/* X re-sends A's signed message: R must not relay for X. */
	{ pr, px, 4000, TRAVERSE_DROP_SIGNATURE },
};

/* The same message as B, the target, and as X, neither. */
static const struct classify_case target_cases[] = {
	{ pb, pr, 4000, TRAVERSE_RECEIVE },
	{ pb, pr, 6000, TRAVERSE_DROP_EXPIRED },
	/* Delivered by someone other than the relay A named. */
	{ pb, px, 4000, TRAVERSE_DROP_TARGET },
	{ pb, pa, 4000, TRAVERSE_DROP_TARGET },
	/* Neither target nor relay: not ours. */
	{ px, pa, 4000, TRAVERSE_DROP_TARGET },
};

static void
test_classify_relay_path(void)
{
	expect_classify(relay_cases, sizeof(relay_cases) / sizeof(relay_cases[0]));
}

static void
test_classify_target_path(void)
{
	expect_classify(target_cases,
	    sizeof(target_cases) / sizeof(target_cases[0]));
}

static void
test_rate_limits_one_originator_not_others(void)
{
	static struct traverse_rate r;
	int i, ok = 0;

	memset(&r, 0, sizeof(r));
	for (i = 0; i < 20; i++)
		ok += traverse_rate_allow(&r, pa, 1000 + (uint64_t)i);
	T_EQ_INT(ok, TRAVERSE_RATE_MAX);
	T_EQ_INT(traverse_rate_allow(&r, pb, 1100), 1);
	T_EQ_INT(traverse_rate_allow(&r, pa, 1000 + TRAVERSE_RATE_WINDOW_MS - 1), 0);
	T_EQ_INT(traverse_rate_allow(&r, pa, 1000 + TRAVERSE_RATE_WINDOW_MS), 1);
}

static uint32_t
fixed_rand(void *arg)
{
	(void)arg;
	return 0x1000;
}

static struct peer_list *
list(void)
{
	struct peer_list_conf c;

	memset(&c, 0, sizeof(c));
	c.max_peers = 16;
	c.rand32 = fixed_rand;
	return peer_list_new(&c);
}

static struct peer_conn *
conn(struct peer_list *l, const char *lip, const char *rip, uint16_t rport,
    uint16_t internal, uint16_t external, uint64_t now, struct peer **pp)
{
	struct peer_addr la, ra;
	struct peer_conn *c = NULL;

	if (peer_addr_parse(lip, 112, &la) != 0 || peer_addr_parse(rip, rport, &ra) != 0)
		return NULL;
	if (peer_packet_in(l, pa, 0, &la, &ra, now, pp, &c, NULL) != 0)
		return NULL;
	peer_conn_set_ports(c, internal, external, 0);
	return c;
}

static void
test_addr_block_uses_public_connection_with_ports(void)
{
	struct peer_list *l = list();
	struct wire_traverse_addr b;
	struct peer *p = NULL;
	uint8_t ip[4];

	T_ASSERT(l != NULL);
	/* A talks to us from its LAN address too: never shared. */
	T_ASSERT(conn(l, "198.51.100.10", "198.51.100.1", 40001, 112, 0, 1000, &p) != NULL);
	T_ASSERT(conn(l, "10.0.0.1", "10.0.0.7", 112, 112, 0, 2000, &p) != NULL);
	T_EQ_INT(traverse_addr_block(p, WIRE_FEATURE_IPV4_LISTEN, &b), 0);
	inet_pton(AF_INET, "198.51.100.1", ip);
	T_EQ_MEM(b.ipv4, ip, 4);
	T_EQ_INT(b.ipv4_port, 40001);
	T_EQ_INT(b.ipv4_port_external, 0);
	/* A target without IPv4_LISTEN gets nothing: no IPv6 connection. */
	T_EQ_INT(traverse_addr_block(p, WIRE_FEATURE_IPV6_LISTEN, &b), PEER_ERR_NO_CONN);
	peer_list_free(l);
}

static void
test_addr_block_skips_connection_without_reported_port(void)
{
	struct peer_list *l = list();
	struct wire_traverse_addr b;
	struct peer *p = NULL;

	T_ASSERT(l != NULL);
	T_ASSERT(conn(l, "198.51.100.10", "198.51.100.1", 40001, 0, 0, 1000, &p) != NULL);
	T_EQ_INT(traverse_addr_block(p, WIRE_FEATURE_IPV4_LISTEN, &b), PEER_ERR_NO_CONN);
	/* The reported external port travels along (B dials it, §8 step 5). */
	T_ASSERT(conn(l, "198.51.100.10", "198.51.100.1", 40001, 112, 5000, 2000, &p) != NULL);
	T_EQ_INT(traverse_addr_block(p, WIRE_FEATURE_IPV4_LISTEN, &b), 0);
	T_EQ_INT(b.ipv4_port, 40001);
	T_EQ_INT(b.ipv4_port_external, 5000);
	peer_list_free(l);
}

static void
test_candidates_prefer_external_port(void)
{
	struct wire_traverse_addr b;
	struct peer_addr out[2];

	memset(&b, 0, sizeof(b));
	T_EQ_INT(traverse_candidates(&b, out), 0);
	inet_pton(AF_INET, "198.51.100.1", b.ipv4);
	b.ipv4_port = 40001;
	T_EQ_INT(traverse_candidates(&b, out), 1);
	T_EQ_INT(out[0].family, AF_INET);
	T_EQ_INT(out[0].port, 40001);
	b.ipv4_port_external = 6000;
	inet_pton(AF_INET6, "2001:db8::1", b.ipv6);
	b.ipv6_port = 7000;
	T_EQ_INT(traverse_candidates(&b, out), 2);
	T_EQ_INT(out[0].port, 6000);
	T_EQ_INT(out[1].family, AF_INET6);
	T_EQ_INT(out[1].port, 7000);
	/* An address without any port is no candidate. */
	memset(&b, 0, sizeof(b));
	inet_pton(AF_INET, "198.51.100.1", b.ipv4);
	T_EQ_INT(traverse_candidates(&b, out), 0);
}

/* B's receive path as a pure function: candidates, embedded packet, signer. */
static void
test_receive_open_checks_address_packet_and_signer(void)
{
	static uint8_t ann[256], emb[512], msg[1024], plain[1024];
	struct ident self, a, b;
	struct wire_announce an;
	struct wire_traverse t, d;
	struct traverse_opened o;
	size_t alen, elen, len;

	T_ASSERT(ident_generate(&self) == 0 && ident_generate(&a) == 0 &&
	    ident_generate(&b) == 0);
	memset(&an, 0, sizeof(an));
	an.hdr.actions = WIRE_ACTION_FIND_SELF;
	T_EQ_INT(wire_announce_encode(ann, sizeof(ann), &alen, &an), 0);
	/* Embedded from `from`, the Traverse signed by a, address block as given. */
#define BUILD(from, with_addr) do {						\
	T_EQ_INT(wire_packet_encode(emb, sizeof(emb), &elen, (from), self.pub,	\
	    WIRE_CMD_ANNOUNCEMENT, 77, ann, alen), 0);				\
	memset(&t, 0, sizeof(t));						\
	memcpy(t.target, self.pub, 33);						\
	memcpy(t.relay, pr, 33);						\
	t.expires = 2000000000;							\
	t.embedded = emb;							\
	t.embedded_len = elen;							\
	if (with_addr) {							\
		t.addr.ipv4[0] = 198; t.addr.ipv4[1] = 51; t.addr.ipv4[3] = 7;	\
		t.addr.ipv4_port = 4000;					\
	}									\
	T_EQ_INT(wire_traverse_encode(msg, sizeof(msg), &len, &t), 0);		\
	T_EQ_INT(wire_traverse_sign(msg, len, &a), 0);				\
	T_EQ_INT(wire_traverse_decode(msg, len, &d), 0);			\
} while (0)
	keys();
	BUILD(&a, 1);
	T_EQ_INT(traverse_receive_open(&d, &self, plain, sizeof(plain), &o), TRAVERSE_OPEN_OK);
	T_EQ_INT(o.ncand, 1);
	T_EQ_INT(o.cand[0].port, 4000);
	T_EQ_INT(o.pkt.sequence, 77);
	T_EQ_INT(o.ann.hdr.actions, WIRE_ACTION_FIND_SELF);
	T_EQ_MEM(o.pkt.sender, a.pub, 33);
	/* Not opened with another key. */
	T_EQ_INT(traverse_receive_open(&d, &b, plain, sizeof(plain), &o), TRAVERSE_OPEN_PACKET);
	/* The embedded packet from b, the Traverse signed by a. */
	BUILD(&b, 1);
	T_EQ_INT(traverse_receive_open(&d, &self, plain, sizeof(plain), &o), TRAVERSE_OPEN_SIGNER);
	/* No address to answer at. */
	BUILD(&a, 0);
	T_EQ_INT(traverse_receive_open(&d, &self, plain, sizeof(plain), &o),
	    TRAVERSE_OPEN_NO_ADDRESS);
#undef BUILD
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	if (keys() != 0)
		return 1;
	T_RUN(test_needed_when_dial_port_differs_from_internal);
	T_RUN(test_relay_hint_newest_wins_and_expires);
	T_RUN(test_relay_hints_bounded);
	T_RUN(test_punch_retries_twice_then_fails);
	T_RUN(test_punch_done_when_connected);
	T_RUN(test_punch_table_full_replaces_oldest);
	T_RUN(test_fallback_waits_for_direct_answer);
	T_RUN(test_classify_relay_path);
	T_RUN(test_classify_target_path);
	T_RUN(test_rate_limits_one_originator_not_others);
	T_RUN(test_addr_block_uses_public_connection_with_ports);
	T_RUN(test_addr_block_skips_connection_without_reported_port);
	T_RUN(test_candidates_prefer_external_port);
	T_RUN(test_receive_open_checks_address_packet_and_signer);
	return t_done();
}
