/*
 * xfer_block.h — the pure parts of the block transfer (docs/protocol.md §9.8):
 * the requester's parser that splits the UDT byte stream into
 * {25-byte header, block} records, in whatever chunks the stream arrives,
 * and the provider's iterator over the requested ranges.
 *
 * No I/O, no clock.  The parser holds at most one block (≤ its max block
 * size), allocated on demand; everything else is fixed size.
 */
#ifndef PEERNET_XFER_BLOCK_H
#define PEERNET_XFER_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "wire_msg.h"

#define XFER_BP_MAX_RANGES	8	/* ranges a requester of ours asks for at once */

enum xfer_bp_err {
	XFER_BP_OK = 0,
	XFER_BP_ERR_ARG = -1,		/* NULL, no ranges, too many, count 0 */
	XFER_BP_ERR_COUNT = -2,		/* header count 0, or != 1 when available */
	XFER_BP_ERR_SIZE = -3,		/* available block larger than the limit */
	XFER_BP_ERR_RANGE = -4,		/* block number outside the requested ranges */
	XFER_BP_ERR_STATUS = -5,	/* unknown availability value */
	XFER_BP_ERR_DONE = -6,		/* bytes after the last expected record */
	XFER_BP_ERR_NOMEM = -7,
};

const char	*xfer_bp_strerror(int err);

/* One record of the stream. */
struct xfer_brec {
	uint8_t		 availability;	/* WIRE_BLOCK_* */
	uint64_t	 number;
	uint64_t	 size;		/* as in the header */
	const uint8_t	*data;		/* availability 0: size bytes, valid until the next feed */
};

struct xfer_bparse {
	struct wire_block_range	 ranges[XFER_BP_MAX_RANGES];
	size_t			 nranges;
	uint64_t		 max_block_size;
	uint64_t		 expected;	/* headers to read: sum of the counts */
	uint64_t		 seen;		/* headers read so far */
	int			 in_body;
	uint8_t			 hdr[WIRE_BLOCK_HEADER_SIZE];
	size_t			 hlen;
	struct wire_block_header cur;
	uint8_t			*body;
	size_t			 body_cap;
	size_t			 blen;
};

/*
 * The requester reads exactly sum(count) headers (§9.8); a count that
 * makes the sum overflow is refused (XFER_BP_ERR_ARG).
 */
int	xfer_bparse_init(struct xfer_bparse *p, const struct wire_block_range *r,
	    size_t nranges, uint64_t max_block_size);
void	xfer_bparse_free(struct xfer_bparse *p);
/*
 * Consumes bytes of the stream up to the end of one record: 1 with *rec
 * filled when a record is complete, 0 when all `len` bytes were consumed
 * without completing one, or a negative error (the stream is then
 * unusable).  *used says how many bytes were consumed in every case.
 */
int	xfer_bparse_feed(struct xfer_bparse *p, const uint8_t *in, size_t len,
	    size_t *used, struct xfer_brec *rec);
int	xfer_bparse_done(const struct xfer_bparse *p);

/* The provider's header in front of every record: count is always 1 (§9.8). */
void	xfer_block_header(uint8_t out[WIRE_BLOCK_HEADER_SIZE], uint8_t availability,
	    uint64_t number, uint64_t size);
/*
 * The requester's REQUEST_START payload, as the reference's cache sends it
 * (§9.9): one range, limit block count = CacheMaxBlockCount, max block size.
 */
int	xfer_block_request(uint8_t *out, size_t cap, size_t *len,
	    const uint8_t chain[PEERNET_PUBKEY_BYTES],
	    const uint8_t id[WIRE_TRANSFER_ID_SIZE], const struct wire_block_range *r,
	    uint64_t limit, uint64_t max_block_size);
/* A UUID v4 (the reference's transfer IDs, §9.1) from 16 random bytes. */
void	xfer_uuid_v4(uint8_t id[WIRE_TRANSFER_ID_SIZE]);

/*
 * The provider's walk over the requested ranges in order (§9.8), without
 * ever forming first + count (which may overflow).
 */
struct xfer_range_iter {
	const uint8_t	*ranges;	/* wire view, 16 bytes each */
	size_t		 nranges;
	size_t		 i;
	uint64_t	 done;		/* numbers taken from range i */
};

void	xfer_range_iter_init(struct xfer_range_iter *it, const uint8_t *ranges,
	    size_t nranges);
/* 1 and the next block number, or 0 at the end (a range stops at UINT64_MAX). */
int	xfer_range_iter_next(struct xfer_range_iter *it, uint64_t *number);

#endif /* PEERNET_XFER_BLOCK_H */
