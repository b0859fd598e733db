/*
 * fuzz_blake3.c — BLAKE3's two input paths against each other: one-shot
 * hashing (whole chunks go through hash_many and subtree reduction) and
 * streaming in pieces whose sizes the input chooses (small pieces go through
 * the chunk state and one push per chunk); plus extended output, whose every
 * length must be a prefix of a longer one.
 *
 * Input: byte 0 = extended output length - 1, bytes 1..8 = piece sizes (x 37,
 * cycled; 0 = an empty update, then one byte), the rest = the message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blake3.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t a[BLAKE3_OUT_LEN], b[300], c[300];
	const uint8_t *msg;
	blake3_hasher h;
	size_t len, off, step, outlen, i = 0;

	if (size < 9)
		return 0;
	outlen = data[0] + 1;
	msg = data + 9;
	len = size - 9;

	blake3_hash(msg, len, a);
	blake3_hasher_init(&h);
	for (off = 0; off < len; off += step) {
		step = (size_t)data[1 + i++ % 8] * 37;
		if (step > len - off)
			step = len - off;
		blake3_hasher_update(&h, msg + off, step);
		if (step == 0) {
			/* Empty updates are allowed; then take a byte. */
			blake3_hasher_update(&h, msg + off, 1);
			step = 1;
		}
	}
	blake3_hasher_finalize(&h, b, sizeof(b));
	if (memcmp(a, b, sizeof(a)) != 0)
		abort();
	memset(c, 0, sizeof(c));
	blake3_hasher_finalize(&h, c, outlen);
	if (memcmp(b, c, outlen) != 0)
		abort();
	for (i = outlen; i < sizeof(c); i++)
		if (c[i] != 0)
			abort();
	return 0;
}
