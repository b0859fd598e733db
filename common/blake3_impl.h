/*
 * blake3_impl.h — internals shared by blake3.c and its SIMD variants
 * (blake3_sse41.c, blake3_avx2.c).  Not part of the public API.
 */
#ifndef PEERNET_BLAKE3_IMPL_H
#define PEERNET_BLAKE3_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "blake3.h"

#if !defined(BLAKE3_NO_SIMD) && !defined(__x86_64__) && !defined(__i386__)
#define BLAKE3_NO_SIMD 1	/* the SIMD files are x86 only */
#endif

enum blake3_flags {
	BLAKE3_CHUNK_START	= 1 << 0,
	BLAKE3_CHUNK_END	= 1 << 1,
	BLAKE3_PARENT		= 1 << 2,
	BLAKE3_ROOT		= 1 << 3,
};

static const uint32_t blake3_iv[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

/* Row r is the message permutation applied r times. */
static const uint8_t blake3_msg_schedule[7][16] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8 },
	{ 3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1 },
	{ 10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6 },
	{ 12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4 },
	{ 9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7 },
	{ 11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13 },
};

static inline uint32_t
blake3_load32(const void *p)
{
	const uint8_t *b = p;

	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	    (uint32_t)b[3] << 24;
}

static inline void
blake3_store32(void *p, uint32_t w)
{
	uint8_t *b = p;

	b[0] = (uint8_t)w;
	b[1] = (uint8_t)(w >> 8);
	b[2] = (uint8_t)(w >> 16);
	b[3] = (uint8_t)(w >> 24);
}

/*
 * Hashes num_inputs inputs of `blocks` whole blocks each with the same key,
 * writing one 32-byte chaining value per input to out.  Input i uses the
 * counter `counter + i` if increment_counter, else `counter`.  The first block
 * of each input adds flags_start to flags, the last adds flags_end.  Chunks:
 * blocks = 16, counters increment.  Parent nodes: blocks = 1, counter 0.
 */
typedef void blake3_hash_many_fn(const uint8_t *const *inputs,
    size_t num_inputs, size_t blocks, const uint32_t key[8], uint64_t counter,
    int increment_counter, uint8_t flags, uint8_t flags_start,
    uint8_t flags_end, uint8_t *out);

void	blake3_compress_in_place_portable(uint32_t cv[8],
	    const uint8_t block[BLAKE3_BLOCK_LEN], uint8_t block_len,
	    uint64_t counter, uint8_t flags);
blake3_hash_many_fn blake3_hash_many_portable;
#ifndef BLAKE3_NO_SIMD
/* SSE4.1 hashes 4 inputs at a time, AVX2 8 (a last partial group too). */
blake3_hash_many_fn blake3_hash_many_sse41;
blake3_hash_many_fn blake3_hash_many_avx2;
/* AVX-512F: 16 at a time; 8 or fewer left over go to the AVX2 code. */
blake3_hash_many_fn blake3_hash_many_avx512;
#endif

#endif
