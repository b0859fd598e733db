/*
 * fuzz_msg_lite.c — libFuzzer target for the lite packet decoder.  An
 * accepted input re-encodes to its first 18 + D bytes and decodes again to
 * the same ID and data.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fz_msg.h"
#include "wire_msg.h"

static uint8_t out[65536 + 18];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_lite l, m;
	size_t n;

	FZ_REENCODES(wire_lite_decode, wire_lite_encode, data, size, out, l, m, n);
	if (n != WIRE_LITE_HDR_SIZE + l.data_len || memcmp(m.id, l.id, 16) != 0 ||
	    m.data_len != l.data_len || memcmp(m.data, l.data, l.data_len) != 0)
		abort();
	return 0;
}
