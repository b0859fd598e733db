/*
 * wire_msg.h — encoders and decoders of every Peernet v0 message payload
 * (the bytes inside a packet's payload, docs/protocol.md §3), of lite packets
 * (§2.7), and of the two stream headers used inside UDT transfers (§9.3,
 * §9.8).  Pure functions over (pointer, length): no I/O, no allocation.
 *
 * How lists are returned.  A decoder never copies a list: it validates the
 * whole message in one pass and then hands back *views* (a pointer into the
 * caller's input plus a count).  Fixed-size items (32-byte keys, 41-byte
 * INFO_STORE records, 16-byte block ranges, 32-byte not-found hashes) are
 * read with a get-by-index helper; the variable-size sections of a Response
 * (Hash2Peer records, embedded files) with a small iterator.  Because the
 * decoder already validated everything (lengths, peer IDs, IPv6 form,
 * embedded file hashes), iterating a successfully decoded message cannot
 * fail.  The views live as long as the caller's input buffer.
 *
 * Encoders write into a caller buffer of `cap` bytes and set *len.  They
 * refuse (with an error, never silently) anything a reference decoder would
 * crash on or drop (§12): an action bit with an empty list is never set,
 * REQUEST_START is always exactly 66 bytes, a Response always carries its
 * three counts, UDT data is never shorter than 4 bytes, a Traverse embedded
 * packet is never shorter than a packet, the user agent is valid UTF-8, peer
 * records carry valid peer IDs and no IPv4-mapped IPv6 address, embedded
 * files carry their real BLAKE3 hash.  Whatever a decoder here accepts, the
 * matching encoder reproduces (the fuzz targets check decode(encode(decode(x)))
 * == decode(x)).
 *
 * Splitting of oversize Announcements/Responses (§3.11) lives in
 * wire_split.c: an iterator that writes part k into a caller buffer.
 */
#ifndef PEERNET_WIRE_MSG_H
#define PEERNET_WIRE_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "ident.h"

/* Commands (packet byte 5, §3.0). */
#define WIRE_CMD_ANNOUNCEMENT		0
#define WIRE_CMD_RESPONSE		1
#define WIRE_CMD_PING			2
#define WIRE_CMD_PONG			3
#define WIRE_CMD_LOCAL_DISCOVERY	4
#define WIRE_CMD_TRAVERSE		5
#define WIRE_CMD_GET_BLOCK		6
#define WIRE_CMD_TRANSFER		8
#define WIRE_CMD_CHAT			10

/* Feature bits (header byte 1, §3.1); peer records carry bits 0-6 only. */
#define WIRE_FEATURE_IPV4_LISTEN	0x01
#define WIRE_FEATURE_IPV6_LISTEN	0x02
#define WIRE_FEATURE_FIREWALL		0x04
/*
 * Bit 3, ours (docs/protocol.md §13.5, docs/differences.md): the sender
 * answers Transfer REQUEST_STARTs with protocol XFER_PROTO_MERKLE (merkle
 * leaves).  Reference nodes ignore bits 3-6; peer records carry it, so a
 * peer's support is known before first contact.  Bits 4-6 stay free.
 */
#define WIRE_FEATURE_MERKLE		0x08
#define WIRE_FEATURE_RECORD_MASK	0x7f

/* Action bits (header byte 2): Announcement §3.2, Response §3.3. */
#define WIRE_ACTION_FIND_SELF		0x01
#define WIRE_ACTION_FIND_PEER		0x02
#define WIRE_ACTION_FIND_VALUE		0x04
#define WIRE_ACTION_INFO_STORE		0x08
#define WIRE_ACTION_LISTS		(WIRE_ACTION_FIND_PEER | \
	WIRE_ACTION_FIND_VALUE | WIRE_ACTION_INFO_STORE)
#define WIRE_ACTION_SEQUENCE_LAST	0x01

/* Transfer (§3.8) and Get Block (§3.9) controls, block status (§9.8). */
#define WIRE_TRANSFER_REQUEST_START	0
#define WIRE_TRANSFER_NOT_AVAILABLE	1
#define WIRE_TRANSFER_ACTIVE		2
#define WIRE_TRANSFER_TERMINATE		3
#define WIRE_TRANSFER_PROTO_UDT		0
#define WIRE_GETBLOCK_REQUEST_START	0
#define WIRE_GETBLOCK_NOT_AVAILABLE	1
#define WIRE_GETBLOCK_ACTIVE		2
#define WIRE_GETBLOCK_TERMINATE		3
#define WIRE_GETBLOCK_EMPTY		4
#define WIRE_BLOCK_AVAILABLE		0
#define WIRE_BLOCK_NOT_AVAILABLE	1
#define WIRE_BLOCK_SIZE_EXCEED		2

/* Peer record reason (bit 7 of byte 69, §3.4). */
#define WIRE_REASON_CLOSE		0
#define WIRE_REASON_STORE		1

/* Sizes (§10.1). */
#define WIRE_KEY_SIZE			32
#define WIRE_MSG_HDR_SIZE		24	/* common header without UA */
#define WIRE_UA_MAX			255
#define WIRE_PORTS_OFFSET		19	/* internal at 19, external at 21 */
#define WIRE_INFO_STORE_SIZE		41
#define WIRE_RESPONSE_MIN		30	/* header + 3 counts */
#define WIRE_H2P_HDR_SIZE		34	/* key + count */
#define WIRE_H2P_RECORDS_MAX		0x7fff
#define WIRE_PEER_RECORD_SIZE		70
#define WIRE_EMBED_HDR_SIZE		34	/* hash + length */
#define WIRE_EMBEDDED_FILE_MAX		65349	/* EmbeddedFileSizeMax */
#define WIRE_TRAVERSE_FIXED		169	/* 76 + 65 + 28 */
#define WIRE_TRAVERSE_ADDR_SIZE		28
#define WIRE_TRAVERSE_EXPIRY		3600	/* seconds; reference: now + 1 h */
#define WIRE_EMBEDDED_PACKET_MIN	77	/* PacketLengthMin */
#define WIRE_TRANSFER_HDR_SIZE		34
#define WIRE_TRANSFER_REQUEST_SIZE	66
#define WIRE_TRANSFER_ID_SIZE		16
#define WIRE_TRANSFER_EMBED_MAX		1121	/* TransferMaxEmbedSize */
#define WIRE_GETBLOCK_REQUEST_MIN	68
#define WIRE_BLOCK_RANGE_SIZE		16
#define WIRE_UDT_DATA_MIN		4	/* shorter UDT data crashes the reference (§12.3) */
#define WIRE_LITE_HDR_SIZE		18
#define WIRE_LITE_DATA_MAX		1214	/* TransferMaxEmbedSizeLite */
#define WIRE_FILE_HEADER_SIZE		16
#define WIRE_BLOCK_HEADER_SIZE		25
/* Encoder payload budget: 65487 - 77 (§3.11); parts never exceed it. */
#define WIRE_MSG_BUDGET			65410

enum wire_msg_err {
	WIRE_MSG_OK = 0,
	WIRE_MSG_ERR_SHORT = -1,		/* shorter than the fixed header */
	WIRE_MSG_ERR_UA_LEN = -2,		/* user agent longer than the payload */
	WIRE_MSG_ERR_UA_UTF8 = -3,		/* user agent is not valid UTF-8 */
	WIRE_MSG_ERR_FIND_PEER = -4,		/* FIND_PEER bit set, block short/truncated */
	WIRE_MSG_ERR_FIND_VALUE = -5,		/* FIND_VALUE bit set, block short/truncated */
	WIRE_MSG_ERR_INFO_STORE = -6,		/* INFO_STORE bit set, block short/truncated */
	WIRE_MSG_ERR_COUNTS = -7,		/* Response shorter than 30 + UA (§12.1) */
	WIRE_MSG_ERR_H2P_TRUNC = -8,		/* Hash2Peer section truncated */
	WIRE_MSG_ERR_FILE_TRUNC = -9,		/* embedded file section truncated */
	WIRE_MSG_ERR_FILE_HASH = -10,		/* embedded file data does not hash to its key */
	WIRE_MSG_ERR_NOTFOUND_TRUNC = -11,	/* not-found hash list truncated */
	WIRE_MSG_ERR_PEER_ID = -12,		/* peer record ID is not a valid compressed point */
	WIRE_MSG_ERR_IPV6_MAPPED = -13,		/* IPv6 field holds an IPv4-mapped address */
	WIRE_MSG_ERR_TARGET_ID = -14,		/* Traverse target is not a valid point */
	WIRE_MSG_ERR_RELAY_ID = -15,		/* Traverse relay is not a valid point */
	WIRE_MSG_ERR_TARGET_IS_RELAY = -16,	/* Traverse target == relay */
	WIRE_MSG_ERR_EMBED_LEN = -17,		/* Traverse M != len - 169 */
	WIRE_MSG_ERR_EMBED_SHORT = -18,		/* Traverse embedded packet < 77 bytes (§12.2) */
	WIRE_MSG_ERR_SIGNATURE = -19,		/* signature recovers to no key / wrong key */
	WIRE_MSG_ERR_REQUEST_SHORT = -20,	/* Transfer REQUEST_START < 66 bytes (§12.13) */
	WIRE_MSG_ERR_DATA_SHORT = -21,		/* ACTIVE / lite UDT data < 4 bytes (§12.3) */
	WIRE_MSG_ERR_BLOCKCHAIN_ID = -22,	/* Get Block blockchain key invalid */
	WIRE_MSG_ERR_GB_REQUEST_SHORT = -23,	/* Get Block REQUEST_START < 68 bytes */
	WIRE_MSG_ERR_NO_RANGES = -24,		/* Get Block REQUEST_START with N = 0 */
	WIRE_MSG_ERR_RANGES_TRUNC = -25,	/* Get Block range list truncated */
	WIRE_MSG_ERR_LITE_LEN = -26,		/* lite D > len - 18 */
	WIRE_MSG_ERR_BLOCK_COUNT = -27,		/* block header count 0, or != 1 when available */
	WIRE_MSG_ERR_BLOCK_SIZE = -28,		/* block header size above the caller's limit */
	WIRE_MSG_ERR_BUF = -29,			/* encoder: output buffer too small */
	WIRE_MSG_ERR_TOO_MANY = -30,		/* encoder: a count does not fit its field */
	WIRE_MSG_ERR_FILE_SIZE = -31,		/* encoder: embedded file > 65349 bytes */
	WIRE_MSG_ERR_TOO_BIG = -32,		/* split: one item can never fit a part */
	WIRE_MSG_ERR_ARG = -33,			/* NULL pointer / bad argument */
	WIRE_MSG_ERR_SIGN = -34,		/* signing failed */
};

const char *wire_msg_strerror(int err);

/* 1 if s[0:n] is valid UTF-8 by Go's utf8.Valid (no surrogates, no overlongs, <= U+10FFFF). */
int	wire_utf8_valid(const uint8_t *s, size_t n);

/*
 * Common header of Announcement, Response and Local Discovery (§3.1).
 * Decoders mask the protocol byte with 0x0F; encoders write protocol & 0x0F.
 * ua holds ua_len bytes and a NUL (a UA containing a NUL byte is legal
 * UTF-8: use ua_len, not strlen, when it matters).
 */
struct wire_msg_hdr {
	uint8_t		protocol;
	uint8_t		features;
	uint8_t		actions;
	uint64_t	blockchain_height;
	uint64_t	blockchain_version;
	uint16_t	port_internal;
	uint16_t	port_external;
	uint8_t		ua_len;
	char		ua[WIRE_UA_MAX + 1];
};

/*
 * Sets hdr->ua from the NUL-terminated s, cut to at most 255 bytes at a
 * character boundary.  Deviation: the reference cuts at exactly 255 bytes
 * even inside a UTF-8 sequence, producing a UA its own decoder then drops;
 * we never split a sequence.  Fails (WIRE_MSG_ERR_UA_UTF8, hdr->ua emptied)
 * if s is not valid UTF-8.  s == NULL clears the UA.
 */
int	wire_msg_hdr_set_ua(struct wire_msg_hdr *hdr, const char *s);

/*
 * Feature bits ORed into every header this process writes
 * (wire_msg_hdr_write): 0 unless set.  netd sets WIRE_FEATURE_MERKLE once
 * at start; test tools that speak as the reference leave it 0.
 */
void	wire_msg_set_own_features(uint8_t bits);
/*
 * SetSelfReportedPorts: patches the two port fields (offsets 19 and 21) of
 * an encoded Announcement or Response, per sending socket.  Local Discovery
 * leaves them 0.
 */
int	wire_msg_set_ports(uint8_t *payload, size_t len, uint16_t internal,
	    uint16_t external);

/*
 * Announcement (§3.2), also Local Discovery (§3.6: FIND_SELF + UA, ports 0).
 * The lists are views of wire-format arrays: find_peer / find_value are
 * n * 32 bytes, info_store is n * 41 bytes (read/write a record with
 * wire_info_store_get/put).  Decode: the views point into the payload and
 * hdr.actions is the byte as received (a list bit may be set with n = 0:
 * the reference accepts that when the block is >= 2 + item size).  Encode:
 * the encoder sets the FIND_PEER / FIND_VALUE / INFO_STORE bits from the
 * counts (never with an empty list) and copies the other bits of
 * hdr.actions (FIND_SELF, unused 4-7) as given.
 */
struct wire_announce {
	struct wire_msg_hdr	 hdr;
	const uint8_t		*find_peer;
	size_t			 n_find_peer;
	const uint8_t		*find_value;
	size_t			 n_find_value;
	const uint8_t		*info_store;
	size_t			 n_info_store;
};

struct wire_info_store {
	uint8_t		hash[WIRE_KEY_SIZE];
	uint64_t	size;
	uint8_t		type;	/* 0 = file, 1 = header file listing parts */
};

int	wire_announce_decode(const uint8_t *p, size_t len, struct wire_announce *a);
/* Writes one Announcement with every list (no splitting; see wire_split). */
int	wire_announce_encode(uint8_t *out, size_t cap, size_t *len,
	    const struct wire_announce *a);
/* Encoded size of wire_announce_encode's output. */
size_t	wire_announce_size(const struct wire_announce *a);
void	wire_info_store_get(const uint8_t *recs, size_t i, struct wire_info_store *out);
void	wire_info_store_put(uint8_t *recs, size_t i, const struct wire_info_store *in);

/* Peer record (§3.4, 70 bytes). */
struct wire_peer_record {
	uint8_t		peer_id[PEERNET_PUBKEY_BYTES];
	uint8_t		node_id[PEERNET_NODEID_BYTES];	/* decode: blake3(peer_id); not encoded */
	uint8_t		ipv4[4];		/* all zero = none */
	uint16_t	ipv4_port;		/* observed by the reporting node */
	uint16_t	ipv4_port_internal;	/* reported by the peer itself */
	uint16_t	ipv4_port_external;	/* reported by the peer itself, 0 = none */
	uint8_t		ipv6[16];		/* all zero = none; never IPv4-mapped */
	uint16_t	ipv6_port;
	uint16_t	ipv6_port_internal;
	uint16_t	ipv6_port_external;
	uint32_t	last_contact;		/* seconds ago; the reference sends 0 */
	uint8_t		features;		/* bits 0-6 */
	uint8_t		reason;			/* WIRE_REASON_CLOSE / _STORE */
};

int	wire_peer_record_decode(const uint8_t rec[WIRE_PEER_RECORD_SIZE],
	    struct wire_peer_record *out);
/* Checks the peer ID and IPv6 like the decoder; features masked to 7 bits. */
int	wire_peer_record_encode(uint8_t rec[WIRE_PEER_RECORD_SIZE],
	    const struct wire_peer_record *in);
/* 1 if the 16 bytes are ::ffff:a.b.c.d (Go's To4() != nil). */
int	wire_ipv6_is_v4mapped(const uint8_t ip[16]);

/*
 * Response (§3.3).  Decoded form: header, the three counts, and views of the
 * three sections, all validated.  Iterate Hash2Peer records and embedded
 * files with the iterators below; not-found hash i is notfound + 32 * i.
 */
struct wire_response {
	struct wire_msg_hdr	 hdr;		/* actions bit 0 = SEQUENCE_LAST */
	uint16_t		 n_h2p;
	uint16_t		 n_files;
	uint16_t		 n_notfound;
	const uint8_t		*h2p;		/* section start */
	size_t			 h2p_len;
	const uint8_t		*files;
	size_t			 files_len;
	const uint8_t		*notfound;	/* n_notfound * 32 bytes */
};

/* One Hash2Peer record of a decoded Response. */
struct wire_h2p_view {
	const uint8_t	*key;		/* 32 bytes */
	int		 is_last;	/* bit 15 of the count */
	uint16_t	 n_records;
	const uint8_t	*records;	/* n_records * 70; decode each with wire_peer_record_decode */
};

struct wire_embedded_file {
	const uint8_t	*hash;		/* 32 bytes; encode: NULL = compute it */
	const uint8_t	*data;
	size_t		 len;
};

struct wire_response_iter {
	const uint8_t	*p;
	size_t		 left;
	uint16_t	 remaining;
};

int	wire_response_decode(const uint8_t *p, size_t len, struct wire_response *r);
void	wire_response_h2p_begin(const struct wire_response *r, struct wire_response_iter *it);
/* 1 and *out filled, or 0 at the end. */
int	wire_response_h2p_next(struct wire_response_iter *it, struct wire_h2p_view *out);
void	wire_response_file_begin(const struct wire_response *r, struct wire_response_iter *it);
int	wire_response_file_next(struct wire_response_iter *it, struct wire_embedded_file *out);

/*
 * Response encoder input.  Records of a Hash2Peer are written in the order
 * given, each with its own reason bit: callers list *storing* peers first,
 * then *closest* peers (§3.4).  IS_LAST is set unless more_follow (the
 * reference always sets it).  hdr.actions is written verbatim (a single
 * Response sets WIRE_ACTION_SEQUENCE_LAST; wire_split sets it per part).
 */
struct wire_h2p_in {
	const uint8_t			*key;	/* 32 bytes */
	const struct wire_peer_record	*records;
	size_t				 n_records;
	int				 more_follow;
};

struct wire_response_in {
	struct wire_msg_hdr		 hdr;
	const struct wire_h2p_in	*h2p;
	size_t				 n_h2p;
	const struct wire_embedded_file	*files;
	size_t				 n_files;
	const uint8_t			*notfound;	/* n_notfound * 32 bytes */
	size_t				 n_notfound;
};

/* Writes one Response with every item (no splitting; see wire_split). */
int	wire_response_encode(uint8_t *out, size_t cap, size_t *len,
	    const struct wire_response_in *r);

/*
 * Traverse (§3.7).  Decode checks layout, peer IDs, target != relay, M,
 * the IPv6 form, and recovers the signer from the signature over
 * blake3(payload[0:76+M]); it does not check expiry or who the signer is
 * (the caller compares signer with the outer sender, §8).
 */
struct wire_traverse_addr {
	uint8_t		ipv4[4];
	uint16_t	ipv4_port;		/* A's port as seen by the relay */
	uint16_t	ipv4_port_external;	/* A's reported external port */
	uint8_t		ipv6[16];
	uint16_t	ipv6_port;
	uint16_t	ipv6_port_external;
};

struct wire_traverse {
	uint8_t				 target[PEERNET_PUBKEY_BYTES];
	uint8_t				 relay[PEERNET_PUBKEY_BYTES];
	uint64_t			 expires;	/* Unix seconds */
	const uint8_t			*embedded;	/* a full packet from A to the target */
	size_t				 embedded_len;
	uint8_t				 sig[PEERNET_SIG_BYTES];
	uint8_t				 signer[PEERNET_PUBKEY_BYTES];	/* decode output */
	struct wire_traverse_addr	 addr;		/* filled by the relay */
};

int	wire_traverse_decode(const uint8_t *p, size_t len, struct wire_traverse *t);
/* Lays out t verbatim (t->sig as given; signer ignored). */
int	wire_traverse_encode(uint8_t *out, size_t cap, size_t *len,
	    const struct wire_traverse *t);
/* blake3(payload[0 : 76+M]): what the originator signs. */
int	wire_traverse_signed_hash(const uint8_t *p, size_t len, uint8_t hash[32]);
/* Signs an encoded Traverse in place (writes the 65 bytes at 76+M). */
int	wire_traverse_sign(uint8_t *p, size_t len, const struct ident *id);
/* 0 if the signature recovers to expect, else WIRE_MSG_ERR_SIGNATURE (or a layout error). */
int	wire_traverse_verify(const uint8_t *p, size_t len,
	    const uint8_t expect[PEERNET_PUBKEY_BYTES]);
/* The relay's address fill of the last 28 bytes (not signed). */
int	wire_traverse_set_address(uint8_t *p, size_t len,
	    const struct wire_traverse_addr *a);

/*
 * Transfer (§3.8).  REQUEST_START reads offset/limit/transfer ID and needs
 * >= 66 bytes (extra bytes ignored); ACTIVE data = payload[34:], >= 4 bytes;
 * other controls carry nothing (extra bytes ignored).  The transfer
 * protocol byte is reported, not checked (callers ignore != 0).
 */
struct wire_transfer {
	uint8_t		 control;
	uint8_t		 protocol;
	uint8_t		 hash[WIRE_KEY_SIZE];
	uint64_t	 offset;		/* REQUEST_START */
	uint64_t	 limit;			/* REQUEST_START, 0 = to end of file */
	uint8_t		 transfer_id[WIRE_TRANSFER_ID_SIZE];	/* REQUEST_START */
	const uint8_t	*data;			/* ACTIVE */
	size_t		 data_len;
};

int	wire_transfer_decode(const uint8_t *p, size_t len, struct wire_transfer *t);
int	wire_transfer_encode(uint8_t *out, size_t cap, size_t *len,
	    const struct wire_transfer *t);

/*
 * Get Block (§3.9).  REQUEST_START: >= 68 + 16 N bytes, N >= 1; ranges is a
 * view of N 16-byte {first u64, count u64} records (wire_block_range_get/put).
 * ACTIVE data = payload[34:], >= 4 bytes.  The blockchain key must parse.
 */
struct wire_block_range {
	uint64_t	first;
	uint64_t	count;
};

struct wire_getblock {
	uint8_t		 control;
	uint8_t		 blockchain[PEERNET_PUBKEY_BYTES];
	uint64_t	 limit_count;		/* REQUEST_START */
	uint64_t	 max_block_size;	/* REQUEST_START */
	uint8_t		 transfer_id[WIRE_TRANSFER_ID_SIZE];
	const uint8_t	*ranges;		/* REQUEST_START: n_ranges * 16 bytes */
	size_t		 n_ranges;
	const uint8_t	*data;			/* ACTIVE */
	size_t		 data_len;
};

int	wire_getblock_decode(const uint8_t *p, size_t len, struct wire_getblock *g);
int	wire_getblock_encode(uint8_t *out, size_t cap, size_t *len,
	    const struct wire_getblock *g);
void	wire_block_range_get(const uint8_t *ranges, size_t i, struct wire_block_range *out);
void	wire_block_range_put(uint8_t *ranges, size_t i, const struct wire_block_range *in);

/* Stream headers inside UDT: file transfer (§9.3), block transfer (§9.8). */
struct wire_block_header {
	uint8_t		availability;	/* WIRE_BLOCK_* */
	uint64_t	number;
	uint64_t	count;		/* 1 in a returned header */
	uint64_t	size;		/* 0 when not available */
};

void	wire_file_header_encode(uint8_t out[WIRE_FILE_HEADER_SIZE],
	    uint64_t file_size, uint64_t transfer_size);
void	wire_file_header_decode(const uint8_t in[WIRE_FILE_HEADER_SIZE],
	    uint64_t *file_size, uint64_t *transfer_size);
void	wire_block_header_encode(uint8_t out[WIRE_BLOCK_HEADER_SIZE],
	    const struct wire_block_header *h);
/*
 * Rejects count 0, count != 1 for an available block, and an available
 * block larger than max_block_size (the requester's limit).  The "block
 * number within the requested ranges" check is the caller's.
 */
int	wire_block_header_decode(const uint8_t in[WIRE_BLOCK_HEADER_SIZE],
	    uint64_t max_block_size, struct wire_block_header *h);

/*
 * Lite packet (§2.7): id[16] || D u16 LE || data.  Decode requires
 * D <= len - 18 and D >= 4 and uses D (not the datagram remainder, unlike
 * the reference).  Encode refuses data < 4 bytes (§12.3).
 */
struct wire_lite {
	uint8_t		 id[WIRE_TRANSFER_ID_SIZE];
	const uint8_t	*data;
	size_t		 data_len;
};

int	wire_lite_decode(const uint8_t *p, size_t len, struct wire_lite *l);
int	wire_lite_encode(uint8_t *out, size_t cap, size_t *len,
	    const struct wire_lite *l);

/*
 * Splitting (§3.11, wire_split.c).  Usage:
 *	wire_announce_split_init(&s, &a);
 *	while ((rc = wire_announce_split_next(&s, buf, sizeof(buf), &n)) == 1)
 *		send part (each Announcement part with its own new sequence);
 *	rc < 0: error (nothing more to send).
 * Every part is <= s.budget (WIRE_MSG_BUDGET) and a complete message.
 * Announcement: items in the order FIND_PEER keys, FIND_VALUE keys,
 * INFO_STORE records; every part repeats the header, UA and FIND_SELF.
 * Response: Hash2Peer records, embedded files, not-found hashes; a
 * Hash2Peer record that does not fit goes whole into the next part (no
 * partial copy is left behind, unlike the reference); only the last part
 * has SEQUENCE_LAST (the encoder sets/clears that bit itself).  An item that
 * cannot fit even an empty part gives WIRE_MSG_ERR_TOO_BIG (the reference
 * loops forever there).  Both always produce at least one part.
 */
struct wire_announce_split {
	const struct wire_announce	*in;
	size_t				 budget;
	size_t				 i_peer, i_value, i_store;
	unsigned			 parts;
	int				 done;
};

struct wire_response_split {
	const struct wire_response_in	*in;
	size_t				 budget;
	size_t				 i_h2p, i_file, i_nf;
	unsigned			 parts;
	int				 done;
};

void	wire_announce_split_init(struct wire_announce_split *s,
	    const struct wire_announce *in);
int	wire_announce_split_next(struct wire_announce_split *s, uint8_t *out,
	    size_t cap, size_t *len);
void	wire_response_split_init(struct wire_response_split *s,
	    const struct wire_response_in *in);
int	wire_response_split_next(struct wire_response_split *s, uint8_t *out,
	    size_t cap, size_t *len);

/* Internal helpers shared by the wire_*.c files of this module. */
/* Every decoder's start: out is there (ERR_ARG), zeroed, and p holds at
 * least min bytes (ERR_SHORT). */
int	wire_decode_begin(void *out, size_t size, const uint8_t *p, size_t len,
	    size_t min);
/* Every encoder's end: ERR_BUF if a write did not fit, else *len. */
struct buf_w;
int	wire_encode_end(const struct buf_w *w, size_t *len);
int	wire_msg_hdr_decode(const uint8_t *p, size_t len, struct wire_msg_hdr *h,
	    size_t *off);
void	wire_msg_hdr_write(uint8_t *out, const struct wire_msg_hdr *h, uint8_t actions);
int	wire_msg_hdr_check(const struct wire_msg_hdr *h);
int	wire_response_write_h2p(uint8_t *out, const struct wire_h2p_in *h);
int	wire_response_check_file(const struct wire_embedded_file *f);
void	wire_response_write_file(uint8_t *out, const struct wire_embedded_file *f);

#endif /* PEERNET_WIRE_MSG_H */
