/*
 * peer.h — the peer list of peernet-netd (docs/protocol.md §5, §3.2, §3.4) as a
 * pure module: peers keyed by peer ID and node ID, their connections, the
 * liveness state machine (ACTIVE / REDUNDANT / INACTIVE / REMOVED), ports
 * and NAT, RTT, which connection to send on, which peers may be shared
 * with whom, and the address rules of §5.7.
 *
 * No sockets, no clock, no randomness inside: every call that needs time
 * takes now_ms (a monotonic millisecond clock whose values are never 0:
 * 0 means "never" in the time fields below), randomness comes from the
 * rand32 callback, and what must go on the wire is handed to the caller as
 * actions through the action callback.  The netd glue and the in-process
 * simulation drive it the same way:
 *
 *   every opened packet:  peer_packet_in()  (§2.6 step 4, §5.2)
 *   Announcement/Response: peer_conn_set_ports() + peer_set_info()
 *   Local Discovery:       peer_set_info()  (ports untouched)
 *   Pong / Response / first bi message matched by seq.h: peer_conn_set_rtt()
 *   every PEER_TICK_MS:    peer_tick()  -> PEER_ACT_* actions
 *   sending:               peer_send_targets(), peer_conn_sent(),
 *                          peer_conn_send_failed()
 *
 * Addresses: struct peer_addr, one family tag, 16 address bytes (IPv4 uses
 * the first 4, the rest zero) and the port in host order.  IPv4-mapped IPv6
 * addresses are normalised to AF_INET on the way in (Go's To4() view).
 *
 * Pointers: a struct peer * and its struct peer_conn * stay valid until the
 * peer is removed (peer_tick, or an eviction inside peer_packet_in);
 * connection slots are never moved, only freed.  Action callbacks may read
 * anything and may call peer_conn_sent() and peer_conn_send_failed(), but
 * must not call peer_packet_in(), peer_tick() or peer_list_free().
 *
 * Bounds (everything a remote party can make this module hold):
 *   - at most conf.max_peers peers (1..PEER_LIST_MAX); a new peer when the
 *     list is full evicts the peer heard from least recently, but only if
 *     it has been silent for more than PEER_EVICT_IDLE_MS (so it no longer
 *     has a connection that got traffic within connectionInvalidate);
 *     otherwise the newcomer is refused (PEER_ERR_FULL).  Live peers are
 *     therefore never displaced by a flood of new identities.
 *   - at most conf.max_per_ip peers with a connection from one source
 *     prefix (an IPv4 address, an IPv6 /64; 0 = no cap): a new peer, or a
 *     peer's first connection from such a prefix, is refused with
 *     PEER_ERR_ADDR_CAP when the prefix holds that many already, so one
 *     host with many identities cannot fill the list.  Checked before any
 *     eviction: a refused newcomer displaces nobody.
 *   - at most PEER_MAX_CONNS connections per peer (active + inactive); a
 *     new address when all slots are used replaces the inactive connection
 *     that expires first, else the active connection heard from least
 *     recently.
 *   Memory: sizeof(struct peer_list) + 3 bucket arrays of max_peers
 *   pointers (rounded up to a power of two) + npeers * sizeof(struct peer)
 *   + one small struct per distinct source prefix (at most one per
 *   connection) when the per-prefix cap is on.
 *
 * Deviations from the reference (which never removes peers, §5.1/§11):
 * a peer whose connections are all inactive and past their expiry (i.e.
 * connectionRemove = 120 s after the last one was invalidated) is removed
 * (PEER_ACT_PEER_REMOVED) instead of being pinged forever; eviction as
 * above; packets that recover to our own key are refused.
 */
#ifndef PEERNET_PEER_H
#define PEERNET_PEER_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "ident.h"
#include "wire_msg.h"

/* Timers (§5.3, §5.4, §10.2), milliseconds. */
#define PEER_TICK_MS			1000	/* liveness task period */
#define PEER_PING_MS			10000	/* pingTime */
#define PEER_PING_REDUNDANT_MS		40000	/* pingTime x 4 */
#define PEER_INVALIDATE_MS		22000	/* connectionInvalidate */
#define PEER_INVALIDATE_REDUNDANT_MS	88000	/* connectionInvalidate x 4 */
#define PEER_REMOVE_MS			120000	/* connectionRemove, after invalidation */
#define PEER_CHAIN_REFRESH_MS		60000	/* keep-alive Announcement instead of Ping */

/* Caps. */
#define PEER_MAX_CONNS			8	/* connections per peer, active + inactive */
#define PEER_LIST_MAX			100000	/* largest max_peers (conf range) */
#define PEER_EVICT_IDLE_MS		PEER_INVALIDATE_MS
#define PEER_UA_MAX			WIRE_UA_MAX
#define PEER_ADDR_STRLEN		64	/* "[v6]:port" + NUL */

enum peer_conn_status {
	PEER_CONN_ACTIVE = 0,
	PEER_CONN_INACTIVE = 1,
	PEER_CONN_REMOVED = 2,
	PEER_CONN_REDUNDANT = 3,	/* active, not the latest: pinged less */
};

enum peer_err {
	PEER_OK = 0,
	PEER_ERR_ARG = -1,	/* NULL, unknown address family, bad conf */
	PEER_ERR_SELF = -2,	/* packet signed by our own key */
	PEER_ERR_FULL = -3,	/* list full of peers heard from recently */
	PEER_ERR_NOMEM = -4,
	PEER_ERR_NO_CONN = -5,	/* no (qualifying) active connection */
	PEER_ERR_PARSE = -6,	/* peer_addr_parse: not an IP address */
	PEER_ERR_ADDR_CAP = -7,	/* that source address (/64) holds max_per_ip peers */
};

const char *peer_strerror(int err);

struct peer_addr {
	int		family;		/* AF_INET or AF_INET6 */
	uint8_t		ip[16];		/* AF_INET: ip[0..3], ip[4..15] zero */
	uint16_t	port;		/* host order */
};

struct peer_conn {
	struct peer_addr remote;	/* source of the packets; port = observed port */
	struct peer_addr local;		/* our socket's address; identity uses its IP */
	int		sock;		/* the caller's socket (network) index */
	uint8_t		status;		/* enum peer_conn_status */
	uint8_t		firewall;	/* FIREWALL bit of the last Announcement/Response */
	uint16_t	port_internal;	/* reported by the peer; 0 = no Announcement/Response yet */
	uint16_t	port_external;	/* reported by the peer; 0 = none */
	uint32_t	rtt_ms;		/* last measured RTT, 0 = unknown */
	uint64_t	created;
	uint64_t	last_packet_in;
	uint64_t	last_packet_out;
	uint64_t	last_ping_out;	/* 0 = never */
	uint64_t	expires;	/* inactive only */
	/*
	 * Reflection budget (node_send.c): bytes received on and sent to this
	 * connection while it is unverified (rtt_ms == 0: it never answered
	 * one of our sequences, so its source may be spoofed).  Nothing is
	 * sent to it beyond what it sent us.
	 */
	uint64_t	unverified_in;
	uint64_t	unverified_out;
	uint8_t		in_use;		/* private: slot allocated */
};

struct peer {
	uint8_t		pub[PEERNET_PUBKEY_BYTES];	/* peer ID */
	uint8_t		node_id[PEERNET_NODEID_BYTES];	/* blake3(peer ID) */
	struct peer_conn conns[PEER_MAX_CONNS];	/* slots; order below */
	uint8_t		act[PEER_MAX_CONNS];	/* active list: slot numbers, oldest first */
	uint8_t		inact[PEER_MAX_CONNS];	/* inactive list */
	uint8_t		nact, ninact;
	int8_t		latest;		/* slot of the latest connection, -1 = none */
	uint8_t		root;		/* in the configured seed list */
	uint32_t	seq_counter;	/* §4.2: random at creation; seq.h increments it */
	uint8_t		features;	/* from the last Announcement/Response/Discovery */
	uint8_t		ua_len;
	char		ua[PEER_UA_MAX + 1];
	uint64_t	chain_height;
	uint64_t	chain_version;
	uint64_t	chain_refreshed;	/* 0 = never */
	uint64_t	added;
	uint64_t	last_packet_in;	/* newest of its connections' */
	uint64_t	packets_in;
	uint64_t	packets_out;
	/* private */
	struct peer	*next_id, *next_node;	/* hash chains */
	struct peer	*lru_prev, *lru_next;	/* least recently heard first */
};

enum peer_act_type {
	PEER_ACT_SEND_PING = 1,		/* send a Ping (new sequence) on conn */
	PEER_ACT_SEND_ANNOUNCE,		/* send a bare keep-alive Announcement on conn (§5.4) */
	PEER_ACT_CONN_INACTIVE,		/* conn was invalidated (no packet within T_inv) */
	PEER_ACT_CONN_REMOVED,		/* conn is dropped (slot freed after the callback) */
	PEER_ACT_PEER_REMOVED,		/* peer is dropped (freed after the callback) */
};

enum peer_removed_why {
	PEER_WHY_EXPIRED = 1,		/* all connections inactive and expired */
	PEER_WHY_EVICTED = 2,		/* room made for a newer peer or connection */
};

struct peer_action {
	enum peer_act_type	 type;
	struct peer		*peer;
	struct peer_conn	*conn;	/* NULL for PEER_ACT_PEER_REMOVED */
	enum peer_removed_why	 why;	/* *_REMOVED only */
};

typedef void (*peer_action_fn)(void *arg, const struct peer_action *a);

struct peer_list_conf {
	uint32_t	 max_peers;	/* conf max_peers, 1..PEER_LIST_MAX */
	uint32_t	 max_per_ip;	/* conf max_peers_per_ip; 0 = no cap */
	const uint8_t	*self_pub;	/* our peer ID (packets from it are refused), or NULL */
	uint8_t		 hash_key[16];	/* random: keys the SipHash of both indexes */
	uint32_t	(*rand32)(void *arg);	/* initial sequence counters */
	peer_action_fn	 action;	/* may be NULL (actions are then dropped) */
	void		*arg;		/* for rand32 and action */
};

struct peer_list_stats {
	size_t		peers;
	size_t		conns_active;
	size_t		conns_inactive;
	size_t		bytes;		/* memory held by the list */
	uint64_t	added;		/* peers ever added */
	uint64_t	removed;	/* peers removed as expired */
	uint64_t	evicted;	/* peers evicted for a newcomer */
	uint64_t	refused;	/* newcomers refused (PEER_ERR_FULL) */
	uint64_t	refused_addr;	/* refused by the per-prefix cap (PEER_ERR_ADDR_CAP) */
	uint64_t	conns_evicted;	/* connections replaced because of the cap */
};

struct peer_list;

struct peer_list *peer_list_new(const struct peer_list_conf *conf);
/* Frees every peer without emitting actions. */
void	peer_list_free(struct peer_list *l);
void	peer_list_stats(const struct peer_list *l, struct peer_list_stats *st);
size_t	peer_list_count(const struct peer_list *l);

struct peer *peer_find(const struct peer_list *l,
	    const uint8_t pub[PEERNET_PUBKEY_BYTES]);
struct peer *peer_find_node(const struct peer_list *l,
	    const uint8_t node_id[PEERNET_NODEID_BYTES]);
/* Calls fn for every peer, least recently heard first; fn must not add or remove. */
void	peer_list_foreach(struct peer_list *l,
	    void (*fn)(void *arg, struct peer *p), void *arg);

/* Events reported by peer_packet_in. */
#define PEER_EV_NEW_PEER	0x01	/* offer it to Kademlia (§5.1) */
#define PEER_EV_NEW_CONN	0x02
#define PEER_EV_REACTIVATED	0x04	/* an inactive connection became active again */
#define PEER_EV_PORT_CHANGED	0x08	/* same IPs, new source port (NAT rebinding) */

/*
 * §2.6 step 4 / §5.2: a packet from sender_pub was opened on socket `sock`
 * (bound to `local`) from `remote`.  Adds the peer if new (evicting per the
 * rule above, or PEER_ERR_FULL), registers or refreshes the connection
 * (equal = same remote IP and same local IP; the port is updated in place),
 * makes it the latest (all other active connections become REDUNDANT), and
 * sets LastPacketIn.  *pp, *pc and *events (PEER_EV_*) may be NULL.
 * May emit PEER_ACT_PEER_REMOVED (an evicted peer: drop it from Kademlia)
 * and PEER_ACT_CONN_REMOVED (the per-peer connection cap) before returning.
 */
int	peer_packet_in(struct peer_list *l,
	    const uint8_t sender_pub[PEERNET_PUBKEY_BYTES], int sock,
	    const struct peer_addr *local, const struct peer_addr *remote,
	    uint64_t now_ms, struct peer **pp, struct peer_conn **pc,
	    unsigned *events);

/* Announcement / Response on c: reported ports and FIREWALL bit (§3.2, §5.5). */
void	peer_conn_set_ports(struct peer_conn *c, uint16_t internal,
	    uint16_t external, int firewall);
/*
 * Announcement / Response / Local Discovery: feature byte, user agent (if
 * non-empty), blockchain height and version, refreshed = now.  Returns 1
 * if height or version changed (the blockchain cache may fetch, §9.9).
 */
int	peer_set_info(struct peer *p, const struct wire_msg_hdr *h,
	    uint64_t now_ms);
/* First reply to a sequence arrived on c (§5.6); 0 ms is stored as 1 ms (known). */
void	peer_conn_set_rtt(struct peer_conn *c, uint32_t rtt_ms);
/* §5.6: the latest connection's RTT if non-zero, else the first active one's, else 0. */
uint32_t peer_rtt(const struct peer *p);
/* A completed round trip on c (rtt known): its source address is the peer's own. */
int	peer_conn_verified(const struct peer_conn *c);
/* How many peers have a connection from remote's prefix (IPv4 address, IPv6 /64). */
uint32_t peer_prefix_count(const struct peer_list *l, const struct peer_addr *remote);

/* §5.5 */
int	peer_conn_behind_nat(const struct peer_conn *c);
int	peer_conn_port_forward(const struct peer_conn *c);
int	peer_behind_nat(const struct peer *p);	/* any connection, active or inactive */
int	peer_port_forward(const struct peer *p);
/* §3.5: answer a Ping on c with WIRE_CMD_PONG, or WIRE_CMD_ANNOUNCEMENT if c has no reported ports yet. */
int	peer_conn_ping_reply(const struct peer_conn *c);

/*
 * The liveness task (§5.3, §5.4); call every PEER_TICK_MS.  Emits the sends
 * (setting LastPingOut), invalidations and removals through the action
 * callback, in the reference's order: per peer, the active connections,
 * then the inactive ones.
 */
void	peer_tick(struct peer_list *l, uint64_t now_ms);

/*
 * §5.8, what to send a packet on.  failed == NULL: the latest connection
 * if there is one, else every active connection.  failed != NULL (a send
 * on it just failed): every active connection except it.  *n = how many
 * were written to out (room for PEER_MAX_CONNS).  PEER_ERR_NO_CONN when
 * the peer has no active connection (and failed == NULL).
 */
int	peer_send_targets(const struct peer *p, const struct peer_conn *failed,
	    struct peer_conn *out[PEER_MAX_CONNS], size_t *n);
/*
 * peer_send_targets() restricted to verified connections (a transfer's
 * data must never go to a source that may be spoofed): the §5.8 choice if
 * it is verified, else every verified active connection.
 * PEER_ERR_NO_CONN when there is none.
 */
int	peer_send_targets_verified(const struct peer *p,
	    struct peer_conn *out[PEER_MAX_CONNS], size_t *n);
/* Whether p (NULL: no) has a verified active connection to send on. */
int	peer_has_verified(const struct peer *p);
/* A packet left on c: LastPacketOut = now, the peer's out counter. */
void	peer_conn_sent(struct peer *p, struct peer_conn *c, uint64_t now_ms);
/*
 * A send on c failed.  fatal (ENETUNREACH/EADDRNOTAVAIL-class): an active
 * connection is invalidated at once (§5.3).  No action is emitted.
 */
void	peer_conn_send_failed(struct peer *p, struct peer_conn *c, int fatal,
	    uint64_t now_ms);

/*
 * §3.2 connectability filter (IsConnectable / GetConnection2Share).
 * allow_local: the requester talks to us from a local address
 * (peer_addr_is_local of its connection's remote IP); allow_v4/_v6: its
 * IPv4_LISTEN / IPv6_LISTEN feature bits.  Only active connections whose
 * reported internal port is non-zero qualify.
 */
int	peer_is_connectable(const struct peer *p, int allow_local, int allow_v4,
	    int allow_v6);
const struct peer_conn *peer_conn_to_share(const struct peer *p,
	    int allow_local, int allow_v4, int allow_v6);
/*
 * The 70-byte record's fields for p as shared with such a requester: the
 * IPv4 part from peer_conn_to_share(p, allow_local, allow_v4, 0), the IPv6
 * part independently; reason CLOSE, last contact 0.  PEER_ERR_NO_CONN if
 * neither family qualifies.
 */
int	peer_to_record(const struct peer *p, int allow_local, int allow_v4,
	    int allow_v6, struct wire_peer_record *out);
/* 1 if the n address bytes of a record are all zero: that family is absent. */
int	peer_ip_unset(const uint8_t *ip, size_t n);

/*
 * §3.4 consumer side.  peer_record_bad_quality: 1 if the record must be
 * discarded (no address; a present family with reported internal port 0;
 * our own peer ID).  peer_record_dial: the address to dial for `family`
 * (port = reported external if non-zero, else observed) and the reported
 * internal port (for NAT detection); PEER_ERR_NO_CONN if that family is
 * absent.
 */
int	peer_record_bad_quality(const struct wire_peer_record *r,
	    const uint8_t self_pub[PEERNET_PUBKEY_BYTES]);
int	peer_record_dial(const struct wire_peer_record *r, int family,
	    struct peer_addr *dial, uint16_t *port_internal);

/* Addresses (§5.7). */
int	peer_addr_from_sockaddr(const struct sockaddr *sa, socklen_t len,
	    struct peer_addr *out);
int	peer_addr_to_sockaddr(const struct peer_addr *a,
	    struct sockaddr_storage *ss, socklen_t *len);
/* "1.2.3.4" or "2001:db8::1" (mapped IPv6 becomes AF_INET). */
int	peer_addr_parse(const char *ip, uint16_t port, struct peer_addr *out);
/* "1.2.3.4:112" / "[2001:db8::1]:112" into buf (PEER_ADDR_STRLEN is enough). */
const char *peer_addr_format(const struct peer_addr *a, char *buf, size_t len);
int	peer_addr_ip_equal(const struct peer_addr *a, const struct peer_addr *b);
/* IsIPLocal: 10/8, 172.16/12, 192.168/16, fc00::/7, fe80::/10 (not 169.254/16, not loopback). */
int	peer_addr_is_local(const struct peer_addr *a);
/* Link-local unicast: 169.254/16, fe80::/10. */
int	peer_addr_is_link_local(const struct peer_addr *a);
int	peer_addr_is_loopback(const struct peer_addr *a);
int	peer_addr_is_unspecified(const struct peer_addr *a);
/*
 * First-contact sends and discovery receive (§5.7, §2.6): may the local
 * network bound to `local` talk to `target`?  No if the families differ,
 * or if exactly one of the two IPs is link-local unicast.  A wildcard-bound
 * local network (0.0.0.0 / ::) skips the link-local check, as the
 * reference does for networks without a known interface.
 */
int	peer_net_may_send(const struct peer_addr *local,
	    const struct peer_addr *target);
/* §3.2 / §5.7: may an address be shared with a requester (local only to local)? */
int	peer_addr_may_share(const struct peer_addr *a, int requester_is_local);

#endif /* PEERNET_PEER_H */
