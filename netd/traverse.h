/*
 * traverse.h — the decisions of Traverse, relayed first contact and UDP
 * hole punching (docs/protocol.md §3.7, §8), as a pure module: no sockets, no
 * clock (every call that needs time takes it), no randomness.  node_trav.c
 * builds, sends and opens the packets; this module says whether and where.
 *
 *   A (originator): traverse_needed() per target address; the relay a peer
 *       record came from is remembered in struct traverse_relays; punches in
 *       flight (for the bounded retries beyond the reference) in struct
 *       traverse_punches; where §8.1 sees no need, a fallback punch
 *       (traverse_punch_fallback) in case the direct contact goes unanswered.
 *   R (relay):      traverse_classify() -> TRAVERSE_FORWARD, then
 *       traverse_rate_allow() per originator, traverse_addr_block() from the
 *       originator's connections.
 *   B (target):     traverse_classify() -> TRAVERSE_RECEIVE, then
 *       traverse_candidates() from the address block.
 *
 * Bounds: every table is a fixed array; a full table replaces its oldest
 * entry (a lost entry costs one relay hint, one retry or one rate window).
 */
#ifndef PEERNET_TRAVERSE_H
#define PEERNET_TRAVERSE_H

#include <stdint.h>

#include "ident.h"
#include "peer.h"
#include "wire_msg.h"
#include "wire_packet.h"

#define TRAVERSE_RELAY_SLOTS	256	/* remembered "B was named by R" hints */
#define TRAVERSE_RELAY_MS	(10 * 60 * 1000)	/* a hint's life */
#define TRAVERSE_PUNCH_SLOTS	32	/* punches waiting for B's Response */
#define TRAVERSE_RETRY_MS	2500	/* no Response within this: send again */
#define TRAVERSE_TRIES		3	/* first Traverse + 2 retries (beyond §8) */
#define TRAVERSE_BACKOFF_MS	60000	/* after a failed punch, no new one to that address */
#define TRAVERSE_FALLBACK_MS	1000	/* unanswered direct first contact: Traverse anyway */
#define TRAVERSE_ANNOUNCE_MAX	1024	/* embedded Announcement payload kept for retries */
#define TRAVERSE_RATE_SLOTS	64	/* originators tracked by a relay */
#define TRAVERSE_RATE_WINDOW_MS	10000
#define TRAVERSE_RATE_MAX	8	/* forwards per originator per window */

/*
 * §5.5/§8.1: B needs a Traverse at this address when it looks NATed
 * (reported internal port known and not the port we dial) or reported
 * FIREWALL.  Internal port 0 (root peers, unknown) never triggers one.
 */
int	traverse_needed(uint16_t dial_port, uint16_t port_internal, uint8_t features);

/* --- A: which relay named which peer ------------------------------------ */

struct traverse_relay_hint {
	uint8_t		peer[PEERNET_PUBKEY_BYTES];
	uint8_t		relay[PEERNET_PUBKEY_BYTES];
	uint64_t	when;		/* 0 = free */
};

struct traverse_relays {
	struct traverse_relay_hint	e[TRAVERSE_RELAY_SLOTS];
	unsigned			next;
};

/* R returned a record for peer: remember R (the newest report wins). */
void	traverse_relay_note(struct traverse_relays *t, const uint8_t peer[33],
	    const uint8_t relay[33], uint64_t now_ms);
/* 0 and relay filled if a hint for peer younger than TRAVERSE_RELAY_MS exists. */
int	traverse_relay_get(const struct traverse_relays *t, const uint8_t peer[33],
	    uint64_t now_ms, uint8_t relay[33]);

/* --- A: punches in flight ------------------------------------------------- */

struct traverse_punch {
	uint8_t		target[PEERNET_PUBKEY_BYTES];
	uint8_t		relay[PEERNET_PUBKEY_BYTES];
	struct peer_addr to;		/* B's dial address */
	int		sock;		/* the socket the direct send used (its ports) */
	uint32_t	seq;		/* the Announcement's sequence */
	uint8_t		payload[TRAVERSE_ANNOUNCE_MAX];
	uint16_t	len;
	uint8_t		tries;		/* Traverse messages sent so far */
	uint64_t	started;	/* 0 = free */
	uint64_t	next;		/* when to retry or give up */
	uint64_t	failed_until;	/* after a failure: no new punch before */
	uint8_t		fallback;	/* started by traverse_punch_fallback */
};

struct traverse_punches {
	struct traverse_punch	e[TRAVERSE_PUNCH_SLOTS];
};

/*
 * A slot for a new punch to (target, to), or NULL when one to that pair is
 * still running (its retries go on: every lookup round would otherwise
 * send another Traverse) or failed less than TRAVERSE_BACKOFF_MS ago.
 * Else a free slot, else the oldest.  Fills the fields above except
 * payload/len/seq/sock, tries = 0, next = now.
 */
struct traverse_punch *traverse_punch_new(struct traverse_punches *t,
	    const uint8_t target[33], const uint8_t relay[33],
	    const struct peer_addr *to, uint64_t now_ms);

/*
 * Beyond §8, for port-preserving NATs (Linux `masquerade`, most home
 * routers): B's record shows no NAT (dial port = reported internal port),
 * so §8.1 sends no Traverse, and our direct Announcement dies in B's
 * router.  A fallback punch waits TRAVERSE_FALLBACK_MS for B's answer to
 * that direct contact; without one, the Traverse goes to the relay all the
 * same (then retries as any punch).  Only a free slot is taken: a fallback
 * never pushes out a punch §8 asked for.  NULL as traverse_punch_new, or
 * when the table is full.  tries = 0, next = now + TRAVERSE_FALLBACK_MS.
 */
struct traverse_punch *traverse_punch_fallback(struct traverse_punches *t,
	    const uint8_t target[33], const uint8_t relay[33],
	    const struct peer_addr *to, uint64_t now_ms);

enum traverse_punch_step {
	TRAVERSE_PUNCH_WAIT = 0,	/* nothing to do yet */
	TRAVERSE_PUNCH_SEND,		/* send (again) the Traverse; tries was incremented */
	TRAVERSE_PUNCH_FAILED,		/* all tries unanswered: slot freed after the call */
	TRAVERSE_PUNCH_DONE,		/* B connected: slot freed */
};
/* What to do with punch e at now; connected: B is in the peer list with an active connection. */
enum traverse_punch_step traverse_punch_step(struct traverse_punch *e, int connected,
	    uint64_t now_ms);

/* --- R and B: what an incoming Traverse is ------------------------------- */

enum traverse_verdict {
	TRAVERSE_RECEIVE = 0,		/* we are the target, sender is the named relay */
	TRAVERSE_FORWARD,		/* we are the named relay, the sender signed it */
	TRAVERSE_DROP_SIGNATURE,	/* relay path: signer != outer sender */
	TRAVERSE_DROP_EXPIRED,		/* expiry passed */
	TRAVERSE_DROP_TARGET,		/* not for us, or from a relay B did not authorise */
};

/*
 * §3.7 dispatch plus the checks that need nothing but the message:
 * target == self and relay == sender -> receive (if not expired);
 * relay == self -> forward (if signer == sender and not expired);
 * anything else is dropped.  now_unix in seconds.
 */
enum traverse_verdict traverse_classify(const struct wire_traverse *t,
	    const uint8_t self[33], const uint8_t sender[33], uint64_t now_unix);

/* R: one more forward for this originator within the rate? (1 yes, 0 no) */
struct traverse_rate_slot {
	uint8_t		pub[PEERNET_PUBKEY_BYTES];
	uint64_t	start;		/* window start, 0 = free */
	uint32_t	count;
};
struct traverse_rate {
	struct traverse_rate_slot	e[TRAVERSE_RATE_SLOTS];
};
int	traverse_rate_allow(struct traverse_rate *r, const uint8_t pub[33],
	    uint64_t now_ms);

/*
 * R: the address block for originator a as shared with a target whose
 * feature byte is target_features (§8 step 3): per family the target
 * listens on, a's latest (else first) active connection that has a reported
 * internal port and a non-local address; observed IP and port, reported
 * external port.  PEER_ERR_NO_CONN if neither family has one.
 */
int	traverse_addr_block(const struct peer *a, uint8_t target_features,
	    struct wire_traverse_addr *out);

/*
 * B: A's candidate addresses from the block (§8 step 5): per family
 * present, port = reported external if non-zero, else the relay's observed
 * port.  Returns how many (0..2) were written to out.
 */
int	traverse_candidates(const struct wire_traverse_addr *a, struct peer_addr out[2]);

/*
 * B, the receive path after TRAVERSE_RECEIVE (§8.2 steps 5-6), as a pure
 * function over the decoded message: the candidate addresses from the
 * relay's block, then the embedded packet opened with our key `self` (into
 * plain, plain_cap >= t->embedded_len), which must be an Announcement
 * from the Traverse's signer, decoded into out->ann (pointing into plain).
 * What needs state stays with the caller: the replay filter on
 * out->pkt.signed_hash, "A is connected already", the answer.
 * Fuzzed by tests/fuzz/fuzz_traverse_recv.c.
 */
enum traverse_open_result {
	TRAVERSE_OPEN_OK = 0,
	TRAVERSE_OPEN_NO_ADDRESS,	/* no usable address in the block */
	TRAVERSE_OPEN_PACKET,		/* embedded packet not opened, or not an Announcement */
	TRAVERSE_OPEN_SIGNER,		/* embedded packet not from the signer */
	TRAVERSE_OPEN_MESSAGE,		/* the Announcement does not decode */
};

struct traverse_opened {
	struct peer_addr	cand[2];
	int			ncand;		/* 1..2 when OK */
	struct wire_packet	pkt;		/* the embedded packet */
	struct wire_announce	ann;
};

enum traverse_open_result traverse_receive_open(const struct wire_traverse *t,
	    const struct ident *self, uint8_t *plain, size_t plain_cap,
	    struct traverse_opened *out);

#endif /* PEERNET_TRAVERSE_H */
