/*
 * node_int.h — what the node_*.c files share (node.c and the files it was
 * split into, one concern each): the node's state, the sequence contexts,
 * and the functions one of them calls in another.  Private to netd/node*.c.
 */
#ifndef PEERNET_NODE_INT_H
#define PEERNET_NODE_INT_H

#include "netd.h"
#include "traverse.h"
#include "wire_msg.h"

/* What a sequence number was issued for (its seq.c context). */
enum netd_ctx {
	NETD_CTX_BOOT = 1,	/* bootstrap FIND_SELF: returned peers are contacted */
	NETD_CTX_KEEPALIVE,	/* keep-alive Announcement: nothing follows */
	NETD_CTX_PING,		/* liveness Ping */
	NETD_CTX_LOOKUP,	/* a Kademlia query; arg = lookup id */
	NETD_CTX_CTLPING,	/* a ping asked for by peernetctl; arg = pending slot */
	NETD_CTX_CONNECT	/* first contact after a lookup found a node: nothing follows */
};

#define CTX(kind, arg)	((void *)(uintptr_t)((uint64_t)(arg) << 8 | (kind)))
#define CTX_KIND(p)	((int)((uintptr_t)(p) & 0xff))
#define CTX_ARG(p)	((uint32_t)((uintptr_t)(p) >> 8))

#define NETD_CONTACTED_SLOTS	256
#define NETD_HELD_SLOTS		64
#define NETD_HELD_MAX		2048	/* larger requests are dropped, not held */
#define NETD_RECENT_SLOTS	1024	/* recently contacted (peer, address) pairs */

/* A request held until its source is verified (node_answer_hold). */
struct node_held {
	uint8_t		 pub[33];
	struct peer_addr remote;
	uint8_t		 cmd;
	uint32_t	 seq;
	uint16_t	 len;
	uint64_t	 when;		/* 0 = free */
	uint8_t		 payload[NETD_HELD_MAX];
};

/* A (peer, address) pair contacted lately (§6.6 recent-contact rule). */
struct node_recent {
	uint8_t		 pub[33];
	struct peer_addr addr;
	uint64_t	 when;
};

/*
 * Everything the node keeps between packets, one per node (n->node): several
 * nodes share a process in tests/sim.  The static buffers in node*.c are
 * scratch space only, dead once a call returns.
 */
struct node_state {
	/* Traverse (§8): relay hints, punches in flight, the relay's forward rate. */
	struct traverse_relays	 relays;
	struct traverse_punches	 punches;
	struct traverse_rate	 trate;
	/*
	 * Own NAT state for status (see node_nat_state): the identities we
	 * contacted first, and when a peer we had not contacted first reached
	 * us on a public local address, and which.
	 */
	uint8_t			 contacted[NETD_CONTACTED_SLOTS][33];
	unsigned		 contacted_next;
	uint64_t		 unsolicited_at;
	struct peer_addr	 unsolicited_local;
	struct node_held	 held[NETD_HELD_SLOTS];
	struct node_recent	 recent[NETD_RECENT_SLOTS];
	unsigned		 recent_next;
	/* Chain pushes (node_chain_push_tick). */
	uint64_t		 push_last;	/* last round, 0: none yet */
	int			 push_due;	/* a change waits for its round */
	unsigned		 push_rot;	/* where the next round starts */
	uint64_t		 last_peer_tick, last_sweep;
	uint64_t		 isolated_since;	/* no active peer since, 0: has some */
	uint64_t		 rejoined;		/* last bootstrap restart */
	void			*tick_timer;	/* env timer driving node_tick */
};

static inline uint64_t
node_now(const struct netd *n)
{
	return env_now_ms(&n->env);
}

/* node_send_*: over an unverified connection's budget, nothing sent. */
#define NODE_WITHHELD	(-2)

/* Traverse parameters of a first contact (§8.1). */
struct node_trav {
	uint8_t		relay[33];	/* a connected peer that named the target */
	uint16_t	port_internal;	/* the target's reported internal port */
	uint8_t		features;	/* the target's feature bits */
};

/* node_kad_connectable's context: who asks, from where, over which families. */
struct node_kad_filter {
	struct netd	*n;
	int		 allow_local, v4, v6;
};

/* node_known_count_act's count. */
struct node_known_active {
	int	n;
};

/* Scratch space (node_send.c), dead once a call returns. */
extern uint8_t node_send_plain[WIRE_PACKET_MAX];
extern uint8_t node_send_msg[WIRE_PACKET_MAX];

/* node_send.c */
void	node_send_hdr(struct netd *n, struct wire_msg_hdr *h, int with_ua);
int	node_send_budget_fits(const struct peer_conn *c, size_t len);
int	node_send_encode(struct netd *n, uint8_t *out, size_t cap, size_t *out_len,
	    const uint8_t to[33], uint8_t cmd, uint32_t seq, const uint8_t *payload,
	    size_t len, int garbage);
int	node_send_on(struct netd *n, const uint8_t to[33], int sock,
	    const struct peer_addr *local, const struct peer_addr *remote, uint8_t cmd,
	    uint32_t seq, const uint8_t *payload, size_t len);
int	node_send_conn_ex(struct netd *n, struct peer *p, struct peer_conn *c, int garbage,
	    uint8_t cmd, uint32_t seq, const uint8_t *payload, size_t len);
int	node_send_conn(struct netd *n, struct peer *p, struct peer_conn *c, uint8_t cmd,
	    uint32_t seq, const uint8_t *payload, size_t len);
int	node_send_ann_payload(struct netd *n, int with_ua, uint8_t actions,
	    const uint8_t *peer_key, const uint8_t *value_key, size_t *len);
void	node_send_store_ask(struct netd *n, uint16_t type, uint64_t *asked, uint64_t now,
	    void (*cb)(void *, const uint8_t *, size_t, const char *));

/* node_kad.c */
void	node_kad_offer(struct netd *n, struct peer *p);
void	node_kad_record_contact(const struct wire_peer_record *r, struct kad_contact *k);
int	node_kad_contact_addr(const struct kad_contact *k, struct peer_addr *a);
int	node_kad_connectable(void *fctx, const struct kad_contact *c);

/* node_chain.c */
void	node_chain_seen(struct netd *n, struct peer *p);
void	node_chain_ask(struct netd *n, uint64_t now);
void	node_chain_offer_tick(struct netd *n);
void	node_chain_push_tick(struct netd *n, uint64_t now);

/* node_answer.c */
int	node_answer_payload(struct netd *n, const uint8_t requester[32], int allow_local,
	    size_t budget, const struct wire_announce *a, size_t *out_len);
void	node_answer_xfer(struct netd *n, struct peer *p, struct peer_conn *c,
	    const struct wire_packet *pkt);
void	node_answer_release(struct netd *n, struct peer *p, struct peer_conn *c);
void	node_answer_announcement(struct netd *n, struct peer *p, struct peer_conn *c,
	    const struct wire_packet *pkt);

/* node_trav.c */
void	node_trav_tick(struct netd *n, uint64_t now);
void	node_trav_in(struct netd *n, struct peer *p, struct peer_conn *c,
	    const struct wire_packet *pkt);
const struct node_trav *node_trav_for(struct netd *n, const struct kad_contact *k,
	    const struct peer_addr *to, const uint8_t *via, struct node_trav *tv);
int	node_trav_contact_via(struct netd *n, const uint8_t pub[33], const struct peer_addr *to,
	    uint8_t actions, const uint8_t *peer_key, const uint8_t *value_key, void *ctx,
	    const struct node_trav *tv);
int	node_trav_contact(struct netd *n, const uint8_t pub[33], const struct peer_addr *to,
	    uint8_t actions, const uint8_t *peer_key, const uint8_t *value_key, void *ctx);

/* node_known.c */
void	node_known_count_act(void *arg, struct peer *p);
void	node_known_bootstrap(struct netd *n, uint64_t now);
void	node_known_save(struct netd *n, uint64_t now);
void	node_known_ask(struct netd *n, uint64_t now);

#endif
