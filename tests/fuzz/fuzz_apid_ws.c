/*
 * fuzz_apid_ws.c — libFuzzer target for apid's WebSocket frame parser
 * (api_ws_parse in apid/api_parse.c): what a local client sends on
 * /search/result/ws after the upgrade.
 *
 * 1. The input as a byte stream of frames: each frame parsed lies inside
 *    the input (header + payload = what was consumed), is masked, has a
 *    known opcode, no reserved bit, a control frame is whole and short;
 *    parsing stops at an error or at a frame still incomplete, and a
 *    prefix of a valid frame is never an error.
 * 2. Round trip: the input as a payload framed by a client (our header
 *    writer with the mask bit, a mask from the input) parses back to
 *    exactly that payload.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../apid/api_parse.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t frame[API_WS_PAYLOAD_MAX + 64], plain[API_WS_PAYLOAD_MAX];

static void
stream(const uint8_t *data, size_t size)
{
	struct api_ws_frame f;
	size_t off = 0, k;
	long n;

	while (off < size && (n = api_ws_parse(data + off, size - off, &f)) > 0) {
		if ((size_t)n > size - off || f.payload < data + off ||
		    f.payload + f.len != data + off + (size_t)n ||
		    f.len > API_WS_PAYLOAD_MAX || !(data[off + 1] & 0x80) ||
		    (data[off] & 0x70) != 0)
			abort();
		if (f.opcode >= 8 && (!f.fin || f.len > 125))
			abort();
		/* Every strict prefix of this frame asks for more bytes. */
		for (k = 0; k < (size_t)n; k += 1 + (size_t)n / 7)
			if (api_ws_parse(data + off, k, &f) != 0)
				abort();
		off += (size_t)n;
	}
}

static void
roundtrip(const uint8_t *data, size_t size)
{
	struct api_ws_frame f;
	uint8_t mask[4] = { 0x5a, 0xa5, 0x3c, 0xc3 };
	size_t h, i, len = size > API_WS_PAYLOAD_MAX ? API_WS_PAYLOAD_MAX : size;
	long n;

	if (size >= 4)
		memcpy(mask, data, 4);
	h = api_ws_header(frame, API_WS_BINARY, len);
	frame[1] |= 0x80;
	memcpy(frame + h, mask, 4);
	for (i = 0; i < len; i++)
		frame[h + 4 + i] = data[i] ^ mask[i & 3];
	n = api_ws_parse(frame, h + 4 + len, &f);
	if (n != (long)(h + 4 + len) || f.opcode != API_WS_BINARY || !f.fin ||
	    f.len != len)
		abort();
	api_ws_unmask(&f, plain);
	if (memcmp(plain, data, len) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	stream(data, size);
	roundtrip(data, size);
	return 0;
}
