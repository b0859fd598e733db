/*
 * fuzz_msg_transfer.c — libFuzzer target for the Transfer decoder.  An
 * accepted input re-encodes (REQUEST_START always 66 bytes) to a prefix of
 * itself and decodes again to the same fields.  The first 25 bytes also go
 * through the block header decoder, and its accepted headers re-encode to
 * the same bytes; the first 16 through the file header decoder (the start of
 * a file transfer's UDT stream), likewise.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fz_msg.h"
#include "wire_msg.h"

static uint8_t out[65536];

static void
block_header(const uint8_t *data, size_t size)
{
	struct wire_block_header h;
	uint8_t b[WIRE_BLOCK_HEADER_SIZE];

	if (size < WIRE_BLOCK_HEADER_SIZE)
		return;
	if (wire_block_header_decode(data, UINT64_MAX / 2, &h) != 0)
		return;
	wire_block_header_encode(b, &h);
	if (memcmp(b, data, sizeof(b)) != 0)
		abort();
}

static void
file_header(const uint8_t *data, size_t size)
{
	uint8_t b[WIRE_FILE_HEADER_SIZE];
	uint64_t fsz, tsz;

	if (size < WIRE_FILE_HEADER_SIZE)
		return;
	wire_file_header_decode(data, &fsz, &tsz);
	wire_file_header_encode(b, fsz, tsz);
	if (memcmp(b, data, sizeof(b)) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_transfer t, u;
	size_t n;

	block_header(data, size);
	file_header(data, size);
	FZ_REENCODES(wire_transfer_decode, wire_transfer_encode, data, size, out,
	    t, u, n);
	if (t.control == WIRE_TRANSFER_REQUEST_START && n != 66)
		abort();
	if (u.control != t.control ||
	    u.protocol != t.protocol || memcmp(u.hash, t.hash, 32) != 0 ||
	    u.offset != t.offset || u.limit != t.limit ||
	    memcmp(u.transfer_id, t.transfer_id, 16) != 0 ||
	    u.data_len != t.data_len ||
	    (t.data_len && memcmp(u.data, t.data, t.data_len) != 0))
		abort();
	return 0;
}
