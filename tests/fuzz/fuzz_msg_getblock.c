/*
 * fuzz_msg_getblock.c — libFuzzer target for the Get Block decoder.  An
 * accepted input re-encodes to a prefix of itself and decodes again to the
 * same fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fz_msg.h"
#include "wire_msg.h"

static uint8_t out[65536 + 1024 * 1024];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_getblock g, h;
	size_t n;

	FZ_REENCODES(wire_getblock_decode, wire_getblock_encode, data, size, out,
	    g, h, n);
	if (g.control == WIRE_GETBLOCK_REQUEST_START && g.n_ranges == 0)
		abort();
	if (h.control != g.control ||
	    memcmp(h.blockchain, g.blockchain, 33) != 0 ||
	    h.limit_count != g.limit_count ||
	    h.max_block_size != g.max_block_size ||
	    memcmp(h.transfer_id, g.transfer_id, 16) != 0 ||
	    h.n_ranges != g.n_ranges ||
	    (g.n_ranges && memcmp(h.ranges, g.ranges, g.n_ranges * 16) != 0) ||
	    h.data_len != g.data_len ||
	    (g.data_len && memcmp(h.data, g.data, g.data_len) != 0))
		abort();
	return 0;
}
