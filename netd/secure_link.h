/*
 * secure_link.h — netd's side of the secure transport between two peernet
 * nodes (docs/secure.md §9): the negotiation block in our Announcements
 * and Responses, the Noise IK handshake with each peer that advertised it,
 * and the per-transfer channels that seal lite packets.  Version 0 stays
 * the path for every peer that never advertised feature bit 4 (reference
 * nodes), and for ours while no session is up.
 *
 * Hook points, each a single call: node_send.c appends slink_ext_append to its
 * Announcements/Responses, passes every received one to slink_ext_in and
 * every datagram that is no lite packet to slink_in; xfer.c's
 * xfer_set_id binds/unbinds a transfer's channels (slink_xfer_bind /
 * _unbind), its one encode and one decode point seal and open
 * (slink_lite_seal / slink_lite_open), and its lite lookup also asks
 * slink_xfer_find; xfer_req.c asks slink_xfer_wait before a download
 * starts, and xfer_req.c / xfer_prov.c take slink_refusal's sentence as the
 * reason a refused transfer ends; control.c shows slink_peer_state.  The
 * module calls nothing above it but the callback it is handed (peer.c,
 * n->env, common/).
 */
#ifndef PEERNET_NETD_SECURE_LINK_H
#define PEERNET_NETD_SECURE_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "wire_msg.h"

struct netd;
struct peer;
struct peer_conn;
struct peer_addr;
struct xfer_sess;

/* What `peernetctl peers` shows per peer (ipc_peer.secure). */
#define SLINK_STATE_V0		0	/* never advertised bit 4: version 0 */
#define SLINK_STATE_PLAIN	1	/* can do it, no session (yet): plaintext */
#define SLINK_STATE_SECURE	2	/* a confirmed session: transfers sealed */

/*
 * Sets up the node's keys and the timer (from xfer_init).  *features gets
 * the bits to advertise (WIRE_FEATURE_SECURE, or 0 with secure_transport =
 * off).  -1 on failure.
 */
int	slink_init(struct netd *n, uint8_t *features);
void	slink_free(struct netd *n);

/*
 * An Announcement or Response payload of len bytes in buf (cap bytes):
 * appends our extension block when we advertise it and the message may
 * carry it (a Response only when not empty: reference nodes drop empty
 * ones; and only to a peer that sent its own).  room: how many more bytes the packet may grow.  The new length.
 */
size_t	slink_ext_append(struct netd *n, const uint8_t to[33], uint8_t cmd,
	    uint8_t *buf, size_t len, size_t cap, size_t room);
/*
 * The bytes slink_ext_append adds to a cmd to `to` (when not empty):
 * Announcements always carry it, Responses only to peers that offered
 * theirs.  node_answer.c counts them in a reply's budget.
 */
size_t	slink_ext_len(struct netd *n, const uint8_t to[33], uint8_t cmd);
/* A decoded Announcement (resp 0) or Response (resp 1) from p, signed by it. */
void	slink_ext_in(struct netd *n, struct peer *p, const uint8_t *payload,
	    size_t len, const void *decoded, int resp);

/* A datagram that is no lite packet: 1 when it was ours (handled or dropped). */
int	slink_in(struct netd *n, int sock, const struct peer_addr *local,
	    const struct peer_addr *remote, const uint8_t *raw, size_t len);

/*
 * A version-0 datagram to the peer `to`: inside session DATA when
 * may_seal (node_send.c: not to a source that has not proven its address,
 * whose budget counted the unsealed size), a session with it is usable
 * and the result stays within 1452 bytes; as it is otherwise.  The result of n->env.send.
 */
int	slink_send(struct netd *n, const uint8_t to[33], int may_seal, int sock,
	    const struct peer_addr *local, const struct peer_addr *remote,
	    const uint8_t *buf, size_t len);

/*
 * A transfer about to start with a peer that can do the secure mode but
 * has no usable session yet (the handshake runs, or the offers are still
 * on their way): 1 when it should wait — cb(s, gen) then runs once the
 * session is usable or SLINK_XFER_WAIT_MS passed, whichever comes first,
 * never from inside this call; 0: start now.  A transfer unbound
 * (slink_xfer_unbind, xfer_set_id) while waiting is forgotten.
 */
#define SLINK_XFER_WAIT_MS	1000
int	slink_xfer_wait(struct xfer_sess *s, uint32_t gen,
	    void (*cb)(struct xfer_sess *s, uint32_t gen));
/*
 * Why a transfer with pub is refused (secure_transport = require, a peer
 * that can do the secure mode, no session), as a sentence for the user;
 * NULL when it is not.
 */
const char *slink_refusal(struct netd *n, const uint8_t pub[33]);
/*
 * The restart rule (docs/secure.md §7, §9): after an Announcement in clear
 * without an offer from a peer we hold an offer of, an INIT probes it; the
 * sessions are dropped only when no answer came within SLINK_PROBE_MS.
 */
#define SLINK_PROBE_MS		2500

/* Transfers: channels from the session with the transfer's peer. */
int	slink_xfer_bind(struct xfer_sess *s);	/* -1: refused (require) */
void	slink_xfer_unbind(struct xfer_sess *s);
struct xfer_sess *slink_xfer_find(struct netd *n, const uint8_t *raw, size_t len);
/* 1: s seals its lite packets (out gets the datagram), 0: plaintext. */
int	slink_lite_seal(const struct xfer_sess *s, const uint8_t *pkt, size_t len,
	    uint8_t *out, size_t cap, size_t *outlen);
/*
 * A datagram for s (which has channels): opens it into *data (valid until
 * the next call).  1 opened, 0 plaintext that may pass, -1 dropped.
 */
int	slink_lite_open(const struct xfer_sess *s, const uint8_t *raw, size_t len,
	    const uint8_t **data, size_t *dlen);

/* What the module holds: peer entries and valid sessions (tests; "no state" checks). */
void	slink_held(struct netd *n, int *peers, int *sessions);

/*
 * Under load (docs/secure.md §5, §9): when more than SLINK_LOAD_INITS
 * INITs (the new one counted) arrived within SLINK_LOAD_MS, an INIT must
 * carry a valid cookie for its source address (mac2) before we do any
 * Diffie-Hellman or keep anything for it; without one it gets a 65-byte
 * COOKIE (smaller than its 222 bytes; counted in secure_cookies_sent) and
 * nothing is kept.  Sixteen a second is far above what honest peers cause
 * (one handshake per peer per 120 s, an unanswered one retried once a
 * second) and far below the rate at which the X25519 and secp256k1 work of
 * INITs would cost a core.
 */
#define SLINK_LOAD_INITS	16
#define SLINK_LOAD_MS		1000

/* SLINK_STATE_* of the peer with that public key. */
int	slink_peer_state(struct netd *n, const uint8_t pub[33]);
/*
 * Whether to send our offer now to a peer that advertises bit 4 but whose
 * extension we lack (first contacts carry none, node_send.c): 1 at most once
 * per SLINK_OFFER_MS per peer, and the time is noted.
 */
#define SLINK_OFFER_MS	5000
int	slink_offer_due(struct netd *n, const uint8_t pub[33]);

#endif
