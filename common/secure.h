/*
 * secure.h — peernet's secure transport between two of our nodes
 * (docs/secure.md): a Noise_IK_25519_ChaChaPoly_BLAKE2b handshake whose
 * two messages also carry each side's secp256k1 signature over the
 * handshake hash (so the peer ID stays the identity), then sessions that
 * seal every datagram with an AEAD under a 64-bit counter nonce, a
 * 2048-packet sliding replay window and both session IDs in the associated
 * data; per-transfer channels derived from a session; in-place sealing of
 * runs of equal-stride packets (UDP GSO batches).
 *
 * Datagrams (all start with the 8-byte ID the receiver chose, so a
 * dispatcher finds them the way it finds lite packets by transfer ID):
 *
 *   INIT    hs_id 8 | 1 | sender_id 8 | noise msg 1 (173) | mac1 16 | mac2 16   = 222
 *   RESP    init_id 8 | 2 | sender_id 8 | noise msg 2 (113)                      = 130
 *   COOKIE  init_id 8 | 3 | nonce 24 | sealed cookie 16 + 16                     = 65
 *   DATA    recv_id 8 | 4 | counter u64 LE | ciphertext | tag 16                 = 33 + n
 *
 * No reply is larger than what caused it (RESP 130 and COOKIE 65 answer an
 * INIT of 222), and a responder keeps no state for an INIT until it has
 * checked mac1, (under load) the cookie in mac2, the Noise message and
 * the initiator's signature: secure_respond_check works on the caller's
 * stack; only secure_respond, called once the caller accepts the peer,
 * creates a session.
 *
 * Not thread-safe per object; no allocation; the clock is the caller's
 * (milliseconds, monotonic) so tests drive it.  Randomness: libsodium.
 */
#ifndef PEERNET_SECURE_H
#define PEERNET_SECURE_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "ident.h"
#include "noise.h"
#include "wire_secure.h"

#define SECURE_ID_LEN		8
#define SECURE_TAG_LEN		16
#define SECURE_HDR_LEN		17	/* receiver ID, type, counter */
#define SECURE_OVERHEAD		(SECURE_HDR_LEN + SECURE_TAG_LEN)
#define SECURE_MAC_LEN		16
#define SECURE_COOKIE_LEN	16

#define SECURE_TYPE_INIT	1
#define SECURE_TYPE_RESP	2
#define SECURE_TYPE_COOKIE	3
#define SECURE_TYPE_DATA	4

/* Handshake payloads: INIT carries ts 8, suites_i 2, suites_r 2, sig 65. */
#define SECURE_INIT_PAYLOAD	(8 + 2 + 2 + PEERNET_SIG_BYTES)
#define SECURE_RESP_PAYLOAD	PEERNET_SIG_BYTES
#define SECURE_NOISE1_LEN	(32 + 48 + SECURE_INIT_PAYLOAD + 16)	/* 173 */
#define SECURE_NOISE2_LEN	(32 + SECURE_RESP_PAYLOAD + 16)		/* 113 */
#define SECURE_INIT_LEN		(8 + 1 + 8 + SECURE_NOISE1_LEN + 2 * SECURE_MAC_LEN)
#define SECURE_RESP_LEN		(8 + 1 + 8 + SECURE_NOISE2_LEN)
#define SECURE_COOKIE_MSG_LEN	(8 + 1 + 24 + SECURE_COOKIE_LEN + 16)

/*
 * Key lifetimes (WireGuard's values for time): the initiator starts a new
 * handshake after REKEY_AFTER; nobody uses a key past REJECT_AFTER.  The
 * message bounds keep AES-GCM far inside its safety margin too.
 */
#define SECURE_REKEY_AFTER_MS		120000
#define SECURE_REJECT_AFTER_MS		180000
#define SECURE_REKEY_AFTER_MSGS		(1ULL << 30)
#define SECURE_REJECT_AFTER_MSGS	(1ULL << 31)
#define SECURE_COOKIE_SECRET_MS		120000	/* cookie secret rotation */

#define SECURE_REPLAY_BITS	2048
#define SECURE_REPLAY_WORDS	(SECURE_REPLAY_BITS / 64)
/* Accepted distance behind the newest counter (one word is the moving edge). */
#define SECURE_REPLAY_WINDOW	(SECURE_REPLAY_BITS - 64)

enum secure_aead {
	SECURE_AEAD_CHACHA = 1,	/* ChaCha20-Poly1305, IETF variant */
	SECURE_AEAD_AESGCM = 2,	/* AES-256-GCM (AES-NI + PCLMUL only) */
};

enum secure_err {
	SECURE_OK = 0,
	SECURE_COOKIE = 1,		/* respond_check: reply holds a COOKIE to send */
	SECURE_ERR_ARG = -1,
	SECURE_ERR_SHORT = -2,		/* malformed: wrong size or type for its ID */
	SECURE_ERR_MAC = -3,		/* INIT mac1 wrong (not for us) */
	SECURE_ERR_AUTH = -4,		/* AEAD / Noise authentication failed */
	SECURE_ERR_REPLAY = -5,		/* counter seen, or behind the window */
	SECURE_ERR_IDENTITY = -6,	/* signature does not recover / wrong peer */
	SECURE_ERR_DOWNGRADE = -7,	/* the suites the initiator saw are not ours */
	SECURE_ERR_EXPIRED = -8,	/* session past REJECT_AFTER (time or count) */
	SECURE_ERR_UNCONFIRMED = -9,	/* responder may not send before the initiator did */
	SECURE_ERR_BUF = -10,		/* output buffer too small */
	SECURE_ERR_INIT = -11,		/* libsodium / keys set-up failed */
	SECURE_ERR_STATE = -12,		/* wrong state for this call */
	SECURE_ERR_ID = -13,		/* receiver ID of the datagram is not this one */
};

/* The 2048-bit sliding window over received counters (RFC 6479 style). */
struct secure_replay {
	uint64_t	next;			/* highest accepted counter + 1 */
	uint64_t	bits[SECURE_REPLAY_WORDS];
};

/*
 * One direction pair under one key pair: a session's channel or a
 * transfer's.  IDs are 8 opaque bytes held as u64 in host order of their
 * little-endian wire form.
 */
struct secure_chan {
	int		aead;		/* enum secure_aead (common/aead.c runs it) */
	uint8_t		tx_key[32], rx_key[32];
	uint64_t	tx_id;		/* the peer's receiver ID: written first */
	uint64_t	rx_id;		/* ours: what the peer writes first */
	uint64_t	tx_counter;
	struct secure_replay replay;
	/* What was dropped, by reason; never parsed beyond the header. */
	uint64_t	rx_ok, rx_auth_fail, rx_replay, rx_malformed;
};

struct secure_session {
	struct secure_chan ch;
	uint8_t		xfer_secret[32];	/* per-transfer keys come from this */
	uint8_t		peer_pub[PEERNET_PUBKEY_BYTES];
	uint8_t		hash[NOISE_HASH_MAX];	/* final handshake hash */
	int64_t		created_ms;
	int		initiator;
	int		confirmed;	/* responder: an authentic DATA came in */
};

/* This node's side: the per-run X25519 key and the handshake endpoint. */
struct secure_node {
	const struct ident *id;
	uint8_t		static_priv[32], static_pub[32];
	uint8_t		hs_id[SECURE_ID_LEN];
	uint16_t	suites;
	uint8_t		mac1_key[32];		/* from static_pub: INIT mac1 */
	uint8_t		cookie_key[32];		/* from static_pub: COOKIE sealing */
	uint8_t		cookie_secret[32];
	int64_t		cookie_secret_ms;
	int		under_load;	/* caller sets: INITs then need a fresh cookie */
	uint64_t	hs_bad_mac, hs_cookies_sent, hs_bad;
};

/* What an initiator keeps between its INIT and the RESP. */
struct secure_initiation {
	struct noise_hs	hs;
	uint64_t	local_id;
	uint8_t		peer_pub[PEERNET_PUBKEY_BYTES];
	uint8_t		peer_hs_id[SECURE_ID_LEN];
	uint8_t		peer_mac1_key[32], peer_cookie_key[32];
	uint16_t	suites_i, suites_r;
	uint8_t		last_mac1[SECURE_MAC_LEN];
	uint8_t		cookie[SECURE_COOKIE_LEN];
	int64_t		cookie_ms;
	int		has_cookie;
	int		pending;
};

/* What a checked INIT proved; lives on the responder's stack. */
struct secure_init_info {
	struct noise_hs	hs;
	uint64_t	peer_id;	/* the initiator's receiver ID */
	uint8_t		peer_pub[PEERNET_PUBKEY_BYTES];	/* recovered identity */
	uint64_t	ts_ms;		/* initiator's clock: caller rejects old ones */
	uint16_t	suites_i;
	int		aead;
};

/*
 * Sets up this node: a fresh X25519 key and handshake ID, suites
 * (ChaCha20-Poly1305 always, AES-256-GCM when this CPU has it).
 * priv_or_null fixes the X25519 key (tests).
 */
int	secure_node_init(struct secure_node *n, const struct ident *id,
	    const uint8_t *priv_or_null, int64_t now_ms);
/* What this node advertises in its Announcements and Responses. */
void	secure_node_ext(const struct secure_node *n, struct wire_secure_ext *e);
void	secure_node_wipe(struct secure_node *n);

/*
 * Initiator: writes an INIT to the peer whose extension is ext and whose
 * identity (from its signed v0 packets) is peer_pub.  local_id is the
 * receiver ID the caller registered for the reply.  `in` must be zeroed
 * before its first use: it keeps a cookie between attempts.
 */
int	secure_initiate(struct secure_initiation *in, const struct secure_node *me,
	    const struct wire_secure_ext *ext,
	    const uint8_t peer_pub[PEERNET_PUBKEY_BYTES], uint64_t local_id,
	    uint64_t ts_ms, int64_t now_ms, uint8_t *out, size_t cap, size_t *len);
/* A COOKIE for our pending INIT: remember it; the caller then re-initiates. */
int	secure_initiation_cookie(struct secure_initiation *in, const uint8_t *pkt,
	    size_t len, int64_t now_ms);
/* The RESP: checks the responder's identity and makes the session. */
int	secure_initiation_finish(struct secure_initiation *in,
	    const struct secure_node *me, const uint8_t *pkt, size_t len,
	    int64_t now_ms, struct secure_session *s);

/*
 * Responder, stateless step: checks an INIT from source address src (any
 * bytes that name it: the cookie is bound to them).  SECURE_OK: info holds
 * the proven identity and timestamp; SECURE_COOKIE: reply holds a COOKIE
 * (65 bytes) to send back instead; negative: drop it.
 */
int	secure_respond_check(struct secure_node *me, const uint8_t *pkt,
	    size_t len, const uint8_t *src, size_t srclen, int64_t now_ms,
	    struct secure_init_info *info, uint8_t *reply, size_t cap,
	    size_t *reply_len);
/* Responder, committing step: writes the RESP and makes the session. */
int	secure_respond(struct secure_init_info *info, const struct secure_node *me,
	    uint64_t local_id, int64_t now_ms, uint8_t *out, size_t cap,
	    size_t *len, struct secure_session *s);
/* 1 if ts is newer than *last (and records it): replayed INITs fail this. */
int	secure_ts_fresh(uint64_t *last, uint64_t ts);

/* The receiver ID a datagram starts with (len >= 8), and its type byte (len >= 9). */
uint64_t secure_pkt_id(const uint8_t *pkt);

/* Seals payload into out (cap >= len + SECURE_OVERHEAD). */
int	secure_seal(struct secure_session *s, int64_t now_ms, const uint8_t *in,
	    size_t len, uint8_t *out, size_t cap, size_t *out_len);
/* Opens a DATA datagram into out (cap >= len - SECURE_OVERHEAD). */
int	secure_open(struct secure_session *s, int64_t now_ms, const uint8_t *pkt,
	    size_t len, uint8_t *out, size_t cap, size_t *out_len);
/* 1 when the initiator should start a new handshake (time or count). */
int	secure_session_should_rekey(const struct secure_session *s, int64_t now_ms);
int	secure_session_expired(const struct secure_session *s, int64_t now_ms);
void	secure_session_wipe(struct secure_session *s);

/*
 * Channel level (sessions use it; transfers use it alone).  The datagram,
 * len + SECURE_OVERHEAD bytes, to out: header, ciphertext of src, tag.
 * src may be out + SECURE_HDR_LEN (in place) or apart from out: sealing
 * from where the packet lies saves a copy of it.
 */
int	secure_chan_seal(struct secure_chan *c, const uint8_t *src, size_t len,
	    uint8_t *out);
/*
 * n packets at base + i * stride (lens[i] payload bytes each at
 * SECURE_HDR_LEN, room for the tag after), each sealed in place under its
 * own counter: one GSO batch.
 */
int	secure_chan_seal_run(struct secure_chan *c, uint8_t *base, size_t stride,
	    const size_t *lens, size_t n);
/*
 * Checks and opens pkt: its *plen payload bytes to dst, which may be
 * pkt + SECURE_HDR_LEN (in place) or apart (a const receive buffer).  On
 * failure dst may hold garbage.
 */
int	secure_chan_open(struct secure_chan *c, const uint8_t *pkt, size_t len,
	    uint8_t *dst, size_t *plen);
/* Forgets a channel: its keys and the cipher's cached set-up of them. */
void	secure_chan_wipe(struct secure_chan *c);
/*
 * A transfer's own channel: keys and both receiver IDs from the session's
 * transfer secret and the 16-byte transfer ID, so the ID never travels in
 * clear and the keys die with the session that made them.  requester says
 * which end we are (the two ends get mirrored directions).
 */
int	secure_xfer_derive(const struct secure_session *s,
	    const uint8_t transfer_id[WIRE_TRANSFER_ID_SIZE], int requester,
	    struct secure_chan *out);

/* The replay window alone (tests, fuzzing). */
int	secure_replay_check(const struct secure_replay *r, uint64_t counter);
void	secure_replay_update(struct secure_replay *r, uint64_t counter);

const char *secure_strerror(int err);

#endif /* PEERNET_SECURE_H */
