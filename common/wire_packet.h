/*
 * wire_packet.h — the Peernet v0 packet layer (docs/protocol.md §2): Salsa20
 * encryption to the receiver's public key, then a compact recoverable
 * signature over nonce || ciphertext, itself XOR-ed with the same keystream.
 *
 *   raw = r4 || E(0 || command || LE32 seq || LE16 L || payload || garbage) || E(sig)
 *
 * Pure functions, no allocation, no I/O; randomness (nonce, garbage) comes
 * from libsodium's CSPRNG.  Safe to call from several threads at once.
 *
 * Version 0 has no MAC: a damaged packet may still "decode" and recover to a
 * random sender (§2.3).  The protocol byte and the length field are the only
 * integrity checks, so the decoder checks them (cheaply, before the costly
 * recovery) and a caller must treat the recovered key as the only identity.
 */
#ifndef PEERNET_WIRE_PACKET_H
#define PEERNET_WIRE_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "ident.h"

#define WIRE_PACKET_HEADER	12	/* r4 + protocol + command + seq + length */
#define WIRE_PACKET_MIN		77	/* header + signature */
#define WIRE_PACKET_MAX		65536	/* receive buffer: the largest datagram accepted */
#define WIRE_PAYLOAD_MAX	65410	/* 65487 - 77: encoders split above this (§2.5) */
#define WIRE_GARBAGE_MAX	19	/* most padding the encoder ever adds */
#define WIRE_PROTOCOL_V0	0
/* Output buffer size that always suffices for wire_packet_encode. */
#define WIRE_PACKET_ENCODE_CAP(payload_len) \
	(WIRE_PACKET_MIN + (payload_len) + WIRE_GARBAGE_MAX)

struct wire_packet {
	uint8_t		 protocol;	/* always 0 when decode succeeds */
	uint8_t		 command;
	uint32_t	 sequence;
	const uint8_t	*payload;	/* points into the caller's `plain` buffer */
	size_t		 payload_len;
	uint8_t		 sender[PEERNET_PUBKEY_BYTES];	/* recovered from the signature */
	size_t		 garbage_len;
	/* blake3(raw[0:len-65]): what was signed; the key for wire_replay. */
	uint8_t		 signed_hash[32];
};

enum wire_packet_err {
	WIRE_PACKET_OK = 0,
	WIRE_PACKET_ERR_SHORT = -1,	/* datagram < 77 bytes */
	WIRE_PACKET_ERR_LONG = -2,	/* datagram > 65536 bytes, or payload > 65410 to encode */
	WIRE_PACKET_ERR_BUF = -3,	/* caller's output/scratch buffer too small */
	WIRE_PACKET_ERR_PROTOCOL = -4,	/* protocol byte is not 0 */
	WIRE_PACKET_ERR_LENGTH = -5,	/* length field larger than the bytes present */
	WIRE_PACKET_ERR_SIG_HEADER = -6, /* signature header byte not in 27..34 */
	WIRE_PACKET_ERR_SIG_RANGE = -7,	/* signature r or s >= n */
	WIRE_PACKET_ERR_RECOVER = -8,	/* signature recovers to no public key */
	WIRE_PACKET_ERR_SELF = -9,	/* recovered sender is our own key: our packet looped back */
	WIRE_PACKET_ERR_KEY = -10,	/* receiver public key is not a valid point */
	WIRE_PACKET_ERR_SIGN = -11,	/* signing failed */
	WIRE_PACKET_ERR_INIT = -12,	/* crypto library set-up failed */
	WIRE_PACKET_ERR_ARG = -13,	/* NULL pointer where data is required */
};

/*
 * Builds a packet from `sender` to `receiver_pub` with a CSPRNG nonce and
 * §2.4 garbage.  out must hold WIRE_PACKET_ENCODE_CAP(payload_len) bytes
 * (cap is checked against the exact size) and must not overlap payload.
 */
int	wire_packet_encode(uint8_t *out, size_t cap, size_t *out_len,
	    const struct ident *sender, const uint8_t receiver_pub[PEERNET_PUBKEY_BYTES],
	    uint8_t command, uint32_t sequence, const uint8_t *payload,
	    size_t payload_len);
/*
 * Deterministic variant for known-answer tests: the given nonce and garbage
 * are used verbatim.  The garbage length is NOT held to the §2.4 rule (tests
 * use that to build packets with long padding); only the total is limited to
 * WIRE_PACKET_MAX.
 */
int	wire_packet_encode_ex(uint8_t *out, size_t cap, size_t *out_len,
	    const struct ident *sender, const uint8_t receiver_pub[PEERNET_PUBKEY_BYTES],
	    uint8_t command, uint32_t sequence, const uint8_t *payload,
	    size_t payload_len, const uint8_t nonce[4], const uint8_t *garbage,
	    size_t garbage_len);
/*
 * Opens a datagram encrypted to own_pub (our key, or a discovery key, §1.7).
 * Decrypts into plain (plain_cap >= len; must not overlap raw) and fills pkt,
 * whose payload points into plain.  Checks, cheapest first: size, protocol
 * byte, length field, signature header byte, then recovery, then "sender is
 * own_pub" (that last check is skipped when self_pub is NULL).  self_pub is
 * normally own_pub; on a discovery socket it is our identity key, not the
 * discovery key.  On error pkt is unspecified.
 */
int	wire_packet_decode(const uint8_t *raw, size_t len,
	    const uint8_t own_pub[PEERNET_PUBKEY_BYTES], uint8_t *plain,
	    size_t plain_cap, struct wire_packet *pkt);
int	wire_packet_decode_ex(const uint8_t *raw, size_t len,
	    const uint8_t key_pub[PEERNET_PUBKEY_BYTES],
	    const uint8_t self_pub[PEERNET_PUBKEY_BYTES], uint8_t *plain,
	    size_t plain_cap, struct wire_packet *pkt);
/*
 * §2.4: for a packet of len0 = 77 + L bytes before padding, the exclusive
 * upper bound of the garbage length (G is drawn from [0, max-1]); 0 when
 * len0 is exactly 508 or 1232 (no garbage at all).
 */
size_t	wire_packet_garbage_max(size_t len0);
const char *wire_packet_strerror(int err);

/*
 * wire_replay — a bounded filter for replayed packets, for netd.
 *
 * Why: version 0 has no replay protection at the packet layer; the reference
 * only matches sequence numbers of Responses at a higher layer.  Anyone who
 * captured a packet can send it again and it decodes again, from the same
 * sender, with the same command (e.g. a Traverse or a Transfer request, or a
 * LAN discovery packet re-broadcast).  The reference never sends the same
 * bytes twice (fresh random nonce per packet), so an identical packet is
 * never legitimate.
 *
 * What: remembers the signed hash (blake3 of nonce || ciphertext, i.e.
 * wire_packet.signed_hash) of each accepted packet for `window_ms`, in a
 * fixed table of `capacity` entries allocated once at init (FIFO ring + open
 * addressing index keyed with a secret SipHash key, so senders cannot aim
 * at one bucket).  Keying on the signed hash rather than the raw bytes also
 * catches a replay whose signature was malleated (s -> n - s, recid ^ 1),
 * which recovers to the same sender.
 *
 * What it does not do: it forgets packets older than window_ms, and when more
 * than `capacity` packets arrive within the window the oldest are evicted
 * early (counted in `evicted_early`), so a replay of an evicted packet is not
 * caught; it does not survive a restart; it does not authenticate anything
 * (version 0 has no way to); it is not thread-safe (one per event loop).
 * Callers insert only packets that decoded successfully.
 */
struct wire_replay_slot;

struct wire_replay {
	struct wire_replay_slot	*ring;		/* capacity entries, oldest at head */
	uint32_t		*index;		/* ring position + 1, 0 = empty */
	uint32_t		 capacity;
	uint32_t		 index_mask;	/* index size - 1 (power of two >= 2*capacity) */
	uint32_t		 head;
	uint32_t		 count;
	uint64_t		 window_ms;
	uint8_t			 sipkey[16];
	uint64_t		 evicted_early;	/* entries dropped before their window ended */
	uint64_t		 replays;	/* duplicates reported */
};

#define WIRE_REPLAY_CAPACITY_MAX	(1u << 24)

/* Allocates the table (the only allocation); -1 on bad arguments or ENOMEM. */
int	wire_replay_init(struct wire_replay *r, uint32_t capacity, uint64_t window_ms);
void	wire_replay_free(struct wire_replay *r);
/* 1 if digest was seen within the window (a replay), else 0; never inserts. */
int	wire_replay_seen(struct wire_replay *r, const uint8_t digest[32], uint64_t now_ms);
/*
 * 1 if digest is a replay (and counts it), else 0 after remembering it.
 * now_ms is any monotonic clock in milliseconds (the caller's, so tests can
 * use a fake one); an entry lives while now_ms - inserted < window_ms.
 */
int	wire_replay_check(struct wire_replay *r, const uint8_t digest[32], uint64_t now_ms);

#endif /* PEERNET_WIRE_PACKET_H */
