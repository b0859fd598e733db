/*
 * xfer_block.c — block stream parser and range walk (see xfer_block.h).
 */
#include <stdlib.h>
#include <string.h>

#include "xfer_block.h"

const char *
xfer_bp_strerror(int err)
{
	switch (err) {
	case XFER_BP_OK:		return "ok";
	case XFER_BP_ERR_ARG:		return "bad argument or ranges";
	case XFER_BP_ERR_COUNT:		return "block header count is 0, or not 1 for a block";
	case XFER_BP_ERR_SIZE:		return "block larger than the requested maximum";
	case XFER_BP_ERR_RANGE:		return "block number outside the requested ranges";
	case XFER_BP_ERR_STATUS:	return "unknown block availability";
	case XFER_BP_ERR_DONE:		return "bytes after the last expected block";
	case XFER_BP_ERR_NOMEM:		return "out of memory";
	default:			return "unknown error";
	}
}

int
xfer_bparse_init(struct xfer_bparse *p, const struct wire_block_range *r,
    size_t nranges, uint64_t max_block_size)
{
	size_t i;

	if (p == NULL || r == NULL || nranges == 0 || nranges > XFER_BP_MAX_RANGES)
		return XFER_BP_ERR_ARG;
	memset(p, 0, sizeof(*p));
	for (i = 0; i < nranges; i++) {
		if (r[i].count == 0 || p->expected + r[i].count < p->expected)
			return XFER_BP_ERR_ARG;
		p->expected += r[i].count;
		p->ranges[i] = r[i];
	}
	p->nranges = nranges;
	p->max_block_size = max_block_size;
	return XFER_BP_OK;
}

void
xfer_bparse_free(struct xfer_bparse *p)
{
	if (p == NULL)
		return;
	free(p->body);
	p->body = NULL;
	p->body_cap = 0;
}

int
xfer_bparse_done(const struct xfer_bparse *p)
{
	return p->seen >= p->expected && !p->in_body;
}

static int
bp_in_ranges(const struct xfer_bparse *p, uint64_t n)
{
	size_t i;

	/* n - first < count cannot overflow, unlike n < first + count. */
	for (i = 0; i < p->nranges; i++)
		if (n >= p->ranges[i].first && n - p->ranges[i].first < p->ranges[i].count)
			return 1;
	return 0;
}

/* The header is complete: check it, and make room for the block. */
static int
bp_header(struct xfer_bparse *p)
{
	int rc;

	rc = wire_block_header_decode(p->hdr, p->max_block_size, &p->cur);
	if (rc == WIRE_MSG_ERR_BLOCK_SIZE)
		return XFER_BP_ERR_SIZE;
	if (rc != 0)
		return XFER_BP_ERR_COUNT;
	if (p->cur.availability > WIRE_BLOCK_SIZE_EXCEED)
		return XFER_BP_ERR_STATUS;
	if (!bp_in_ranges(p, p->cur.number))
		return XFER_BP_ERR_RANGE;
	p->seen++;
	p->hlen = 0;
	p->blen = 0;
	if (p->cur.availability != WIRE_BLOCK_AVAILABLE || p->cur.size == 0)
		return XFER_BP_OK;
	if (p->cur.size > p->body_cap) {
		uint8_t *b = realloc(p->body, (size_t)p->cur.size);

		if (b == NULL)
			return XFER_BP_ERR_NOMEM;
		p->body = b;
		p->body_cap = (size_t)p->cur.size;
	}
	p->in_body = 1;
	return XFER_BP_OK;
}

static void
bp_record(const struct xfer_bparse *p, struct xfer_brec *rec)
{
	rec->availability = p->cur.availability;
	rec->number = p->cur.number;
	rec->size = p->cur.size;
	rec->data = p->cur.availability == WIRE_BLOCK_AVAILABLE ? p->body : NULL;
}

int
xfer_bparse_feed(struct xfer_bparse *p, const uint8_t *in, size_t len,
    size_t *used, struct xfer_brec *rec)
{
	size_t off = 0, k;
	int rc;

	if (p == NULL || used == NULL || rec == NULL || (in == NULL && len > 0))
		return XFER_BP_ERR_ARG;
	*used = 0;
	while (off < len) {
		if (p->in_body) {
			k = (size_t)p->cur.size - p->blen;
			if (k > len - off)
				k = len - off;
			memcpy(p->body + p->blen, in + off, k);
			p->blen += k;
			off += k;
			*used = off;
			if (p->blen == p->cur.size) {
				p->in_body = 0;
				bp_record(p, rec);
				return 1;
			}
			continue;
		}
		if (p->seen >= p->expected)
			return XFER_BP_ERR_DONE;
		k = WIRE_BLOCK_HEADER_SIZE - p->hlen;
		if (k > len - off)
			k = len - off;
		memcpy(p->hdr + p->hlen, in + off, k);
		p->hlen += k;
		off += k;
		*used = off;
		if (p->hlen < WIRE_BLOCK_HEADER_SIZE)
			continue;
		if ((rc = bp_header(p)) != XFER_BP_OK)
			return rc;
		if (!p->in_body) {
			bp_record(p, rec);
			return 1;
		}
	}
	return 0;
}

void
xfer_block_header(uint8_t out[WIRE_BLOCK_HEADER_SIZE], uint8_t availability,
    uint64_t number, uint64_t size)
{
	struct wire_block_header h;

	h.availability = availability;
	h.number = number;
	h.count = 1;
	h.size = size;
	wire_block_header_encode(out, &h);
}

int
xfer_block_request(uint8_t *out, size_t cap, size_t *len,
    const uint8_t chain[PEERNET_PUBKEY_BYTES],
    const uint8_t id[WIRE_TRANSFER_ID_SIZE], const struct wire_block_range *r,
    uint64_t limit, uint64_t max_block_size)
{
	struct wire_getblock g;
	uint8_t ranges[WIRE_BLOCK_RANGE_SIZE];

	memset(&g, 0, sizeof(g));
	g.control = WIRE_GETBLOCK_REQUEST_START;
	memcpy(g.blockchain, chain, sizeof(g.blockchain));
	g.limit_count = limit;
	g.max_block_size = max_block_size;
	memcpy(g.transfer_id, id, sizeof(g.transfer_id));
	wire_block_range_put(ranges, 0, r);
	g.ranges = ranges;
	g.n_ranges = 1;
	return wire_getblock_encode(out, cap, len, &g);
}

void
xfer_uuid_v4(uint8_t id[WIRE_TRANSFER_ID_SIZE])
{
	id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);	/* version 4 */
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);	/* RFC 4122 variant */
}

void
xfer_range_iter_init(struct xfer_range_iter *it, const uint8_t *ranges,
    size_t nranges)
{
	memset(it, 0, sizeof(*it));
	it->ranges = ranges;
	it->nranges = nranges;
}

int
xfer_range_iter_next(struct xfer_range_iter *it, uint64_t *number)
{
	struct wire_block_range r;

	while (it->i < it->nranges) {
		wire_block_range_get(it->ranges, it->i, &r);
		/* Block numbers past UINT64_MAX do not exist: the range ends there. */
		if (it->done < r.count && (it->done == 0 || r.first + it->done > r.first)) {
			*number = r.first + it->done++;
			return 1;
		}
		it->i++;
		it->done = 0;
	}
	return 0;
}
