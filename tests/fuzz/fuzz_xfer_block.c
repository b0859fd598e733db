/*
 * fuzz_xfer_block.c — libFuzzer target for the block-transfer stream parser
 * (netd/xfer_block.c, docs/protocol.md §9.8), the requester's view of bytes a
 * provider writes into UDT.
 *
 * Input: byte 0 = number of ranges (1..4), then per range first (1 byte)
 * and count (1 byte), then byte = chunk size seed; the rest is the stream,
 * fed in chunks.  Invariants: every record is within the ranges, an
 * available record's size is within the limit, no more records than
 * expected, and a fed chunk is never over-consumed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../netd/xfer_block.c"

#define FZ_MAX	4096

int
LLVMFuzzerTestOneInput(const uint8_t *in, size_t len)
{
	struct wire_block_range r[4];
	struct xfer_bparse p;
	struct xfer_brec rec;
	size_t nr, i, off, k, used, chunk;
	uint64_t records = 0;
	int rc;

	if (len < 2)
		return 0;
	nr = (size_t)(in[0] % 4) + 1;
	if (len < 1 + 2 * nr + 1)
		return 0;
	for (i = 0; i < nr; i++) {
		r[i].first = in[1 + 2 * i];
		r[i].count = (uint64_t)in[2 + 2 * i] + 1;
	}
	chunk = (size_t)in[1 + 2 * nr] + 1;
	off = 2 + 2 * nr;
	if (xfer_bparse_init(&p, r, nr, FZ_MAX) != XFER_BP_OK)
		abort();
	while (off < len) {
		k = len - off < chunk ? len - off : chunk;
		rc = xfer_bparse_feed(&p, in + off, k, &used, &rec);
		if (used > k)
			abort();
		off += used;
		if (rc < 0)
			break;
		if (rc == 0 && used != k)
			abort();
		if (rc == 1) {
			records++;
			if (records > p.expected)
				abort();
			if (rec.availability == WIRE_BLOCK_AVAILABLE && rec.size > FZ_MAX)
				abort();
			for (i = 0; i < nr; i++)
				if (rec.number >= r[i].first &&
				    rec.number - r[i].first < r[i].count)
					break;
			if (i == nr)
				abort();
			if (rec.size > 0 && rec.availability == WIRE_BLOCK_AVAILABLE)
				(void)rec.data[rec.size - 1];
		}
	}
	xfer_bparse_free(&p);
	return 0;
}
