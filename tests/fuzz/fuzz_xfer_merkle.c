/*
 * fuzz_xfer_merkle.c — libFuzzer target for the merkle-leaves reply of our
 * Transfer extension (netd/xfer_mkwire.c), which a downloader decodes from
 * whatever a sharer sends.  The fuzz build compiles only the common
 * sources, so the pure codec is included directly.
 *
 * A decoded reply must lie inside the input, respect its bounds, and
 * encode back to exactly the input bytes; xfer_mk_root over the leaves
 * must not fault.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../netd/xfer_mkwire.c"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[4096];
	struct xfer_mk_reply r;
	uint8_t root[32];
	size_t len;

	if (xfer_mk_reply_decode(data, size, &r) != XFER_MK_OK)
		return 0;
	if (r.count > XFER_MK_BATCH || r.first + r.count > r.fragment_count ||
	    (r.count > 0 && (r.leaves < data ||
	    r.leaves + (size_t)r.count * 32 > data + size)))
		abort();
	if (xfer_mk_reply_encode(out, sizeof(out), &len, &r) != XFER_MK_OK ||
	    len != size || memcmp(out, data, size) != 0)
		abort();
	if (r.count > 0)
		(void)xfer_mk_root(r.leaves, r.count, root);
	return 0;
}
