/*
 * wire_secure.h — how two peernet nodes tell each other, inside version-0
 * messages that reference nodes read unchanged, that they speak the secure
 * transport (docs/secure.md, docs/protocol.md §13.5).
 *
 * Two signals:
 *   - feature bit 4 (WIRE_FEATURE_SECURE) in the Announcement/Response
 *     header; peer records carry bits 0-6, so a peer's support is known
 *     before first contact;
 *   - an extension block after the last section of an Announcement or a
 *     Response.  The reference decoders stop after their last section and
 *     ignore what follows (PeernetOfficial/core, protocol/Message Encoding
 *     Announcement.go: the "extra data" check is commented out; Message
 *     Encoding Response.go: nothing is read after the not-found list).
 *
 * Extension block (all integers little-endian):
 *   magic "PNX" | version 1 | items...
 *   item = type u8 | len u8 | value[len]
 *     1 suites    len 2   bit 0 ChaCha20-Poly1305 (mandatory), bit 1 AES-256-GCM
 *     2 static    len 32  the node's X25519 key for Noise IK (per process run)
 *     3 hs_id     len 8   the receiver ID a handshake initiation starts with
 *   Unknown types are skipped (room to grow); a known type twice, a known
 *   type of the wrong length, a missing one or an item cut short is an error.
 *
 * Pure functions over (pointer, length): no allocation, no I/O.
 */
#ifndef PEERNET_WIRE_SECURE_H
#define PEERNET_WIRE_SECURE_H

#include <stddef.h>
#include <stdint.h>

#include "wire_msg.h"

/* Feature bit 4 (bit 3 is WIRE_FEATURE_MERKLE; 5 and 6 stay free). */
#define WIRE_FEATURE_SECURE		0x10

#define WIRE_SECURE_VERSION		1
#define WIRE_SECURE_MAGIC_LEN		4	/* "PNX" + version */
#define WIRE_SECURE_KEY_LEN		32
#define WIRE_SECURE_HSID_LEN		8
#define WIRE_SECURE_SUITE_CHACHA	0x0001
#define WIRE_SECURE_SUITE_AESGCM	0x0002
#define WIRE_SECURE_SUITES_KNOWN	0x0003
/* Encoded size: magic + three items. */
#define WIRE_SECURE_EXT_SIZE		(WIRE_SECURE_MAGIC_LEN + 2 + 2 + \
	2 + WIRE_SECURE_KEY_LEN + 2 + WIRE_SECURE_HSID_LEN)

#define WIRE_SECURE_T_SUITES		1
#define WIRE_SECURE_T_STATIC		2
#define WIRE_SECURE_T_HSID		3

struct wire_secure_ext {
	uint16_t	suites;		/* as received: unknown bits kept */
	uint8_t		static_key[WIRE_SECURE_KEY_LEN];
	uint8_t		hs_id[WIRE_SECURE_HSID_LEN];
};

enum wire_secure_err {
	WIRE_SECURE_OK = 0,
	WIRE_SECURE_NONE = 1,		/* no extension (empty tail or other bytes) */
	WIRE_SECURE_ERR_TRUNC = -1,	/* an item runs past the end */
	WIRE_SECURE_ERR_LEN = -2,	/* a known item of the wrong length */
	WIRE_SECURE_ERR_DUP = -3,	/* a known item twice */
	WIRE_SECURE_ERR_MISSING = -4,	/* suites, static or hs_id absent */
	WIRE_SECURE_ERR_SUITES = -5,	/* ChaCha20-Poly1305 not offered */
	WIRE_SECURE_ERR_KEY = -6,	/* static key all zero */
	WIRE_SECURE_ERR_VERSION = -7,	/* magic right, version unknown */
	WIRE_SECURE_ERR_BUF = -8,	/* encoder: output too small */
	WIRE_SECURE_ERR_ARG = -9,
};

/*
 * Decodes the bytes after the last section (tail, n).  WIRE_SECURE_NONE
 * when they do not start with the magic: a reference node sends none, and a
 * future extension of someone else must not be mistaken for ours.
 */
int	wire_secure_ext_decode(const uint8_t *tail, size_t n, struct wire_secure_ext *e);
/* Writes WIRE_SECURE_EXT_SIZE bytes (suites written as given). */
int	wire_secure_ext_encode(uint8_t *out, size_t cap, size_t *len,
	    const struct wire_secure_ext *e);
/*
 * Offset in the payload p where the bytes after the last section begin,
 * for a message that wire_announce_decode / wire_response_decode accepted
 * (a points into p).
 */
size_t	wire_secure_announce_tail(const uint8_t *p, size_t len,
	    const struct wire_announce *a);
size_t	wire_secure_response_tail(const uint8_t *p, size_t len,
	    const struct wire_response *r);
const char *wire_secure_strerror(int err);

#endif /* PEERNET_WIRE_SECURE_H */
