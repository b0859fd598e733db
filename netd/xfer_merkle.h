/*
 * xfer_merkle.h — our extension of Transfer (command 8) between peernet
 * nodes: fetching a file's merkle leaves so that a download verifies each
 * fragment as it arrives (docs/data.md §4.6: protocol v0 has no such exchange).
 *
 * Wire-compatible because the reference ignores a Transfer whose
 * transfer-protocol byte (offset 1) is not 0 (docs/protocol.md §3.8, §9.3), so a
 * reference sharer stays silent and the downloader falls back to
 * whole-file verification.
 *
 *  request: Transfer REQUEST_START, protocol XFER_PROTO_MERKLE, the file
 *	hash, offset = first leaf wanted, limit = leaves wanted (<=
 *	XFER_MK_BATCH), transfer ID = the data run's; sent on the data run's
 *	bi-sequence (66 bytes, as every REQUEST_START).
 *  reply: Transfer ACTIVE, protocol XFER_PROTO_MERKLE, the file hash, on
 *	the same sequence; data (bytes 34..) = file size u64 LE | fragment
 *	size u64 LE | merkle root [32] | first leaf u64 LE | count u32 LE |
 *	count x 32-byte leaf hashes (docs/data.md §4.2).  60 + 32 * count <= 1084
 *	bytes, within TransferMaxEmbedSize.  Only files of more than one
 *	fragment have a tree; for anything else there is no reply.
 *
 * The root is not bound to the file hash by anything a downloader knows
 * (a record's merkle root is not at hand for `get HASH`): the leaves must
 * lead to the root sent, each fragment must hash to its leaf, and the
 * whole-file BLAKE3 at commit still decides.
 */
#ifndef PEERNET_XFER_MERKLE_H
#define PEERNET_XFER_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define XFER_PROTO_MERKLE	0x4d	/* 'M'; the reference knows only 0 (UDT) */
#define XFER_MK_BATCH		32	/* leaves in one reply */
#define XFER_MK_HDR		60	/* reply data before the leaves */

enum xfer_mk_err {
	XFER_MK_OK = 0,
	XFER_MK_ERR_SHORT = -1,		/* fewer bytes than the header / count need */
	XFER_MK_ERR_LONG = -2,		/* bytes after the leaves */
	XFER_MK_ERR_SHAPE = -3,		/* fragment size not §4.1's, one fragment only */
	XFER_MK_ERR_RANGE = -4,		/* count > XFER_MK_BATCH or past the last leaf */
	XFER_MK_ERR_ARG = -5,
};

struct xfer_mk_reply {
	uint64_t	 file_size;
	uint64_t	 fragment_size;
	uint64_t	 fragment_count;	/* decode: derived */
	uint8_t		 root[32];
	uint64_t	 first;
	uint32_t	 count;
	const uint8_t	*leaves;		/* count x 32 bytes */
};

const char *xfer_mk_strerror(int err);
int	xfer_mk_reply_encode(uint8_t *out, size_t cap, size_t *len,
	    const struct xfer_mk_reply *r);
int	xfer_mk_reply_decode(const uint8_t *p, size_t len, struct xfer_mk_reply *r);
/* The root of count leaves (§4.2: odd last promoted); count >= 1. */
int	xfer_mk_root(const uint8_t *leaves, uint64_t count, uint8_t root[32]);

#endif
