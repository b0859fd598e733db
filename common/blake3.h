/*
 * blake3.h — BLAKE3 (unkeyed hash mode, with extendable output).
 *
 * Written by hand because no Debian package ships the BLAKE3 library (only the
 * b3sum CLI, which we use as a test oracle).  Peernet's protocol.HashData is
 * plain BLAKE3 with a 32-byte digest: node IDs, packet signatures, file hashes.
 *
 * The code is portable C with SIMD paths (SSE4.1: 4 chunks at once, AVX2: 8)
 * chosen at run time from what the CPU supports.  Built with -DBLAKE3_NO_SIMD
 * only the portable code is used and the SIMD files are not needed.
 *
 * The hasher is a plain struct owned by the caller: nothing allocates.
 */
#ifndef PEERNET_BLAKE3_H
#define PEERNET_BLAKE3_H

#include <stddef.h>
#include <stdint.h>

#define BLAKE3_OUT_LEN		32
#define BLAKE3_KEY_LEN		32
#define BLAKE3_BLOCK_LEN	64
#define BLAKE3_CHUNK_LEN	1024
/* 2^64 bytes of input are 2^54 chunks: the tree is at most 54 levels deep. */
#define BLAKE3_MAX_DEPTH	54

typedef struct blake3_hasher {
	uint32_t	key[8];
	/* The chunk being filled. */
	uint32_t	cv[8];
	uint64_t	chunk_counter;
	uint8_t		buf[BLAKE3_BLOCK_LEN];
	uint8_t		buf_len;
	uint8_t		blocks_compressed;
	uint8_t		flags;
	/* Chaining values of complete subtrees, merged eagerly, left to right. */
	uint8_t		cv_stack_len;
	uint8_t		cv_stack[(BLAKE3_MAX_DEPTH + 1) * BLAKE3_OUT_LEN];
} blake3_hasher;

void	blake3_hasher_init(blake3_hasher *h);
void	blake3_hasher_update(blake3_hasher *h, const void *in, size_t len);
/* Writes outlen bytes (any length: extendable output); h is not changed. */
void	blake3_hasher_finalize(const blake3_hasher *h, uint8_t *out,
	    size_t outlen);
void	blake3_hash(const void *in, size_t len, uint8_t out[BLAKE3_OUT_LEN]);
/* "portable", "sse41" or "avx2": the implementation in use. */
const char *blake3_impl_name(void);
/*
 * For tests and benchmarks: use the named implementation from now on (NULL:
 * the best one the CPU supports).  Returns -1, changing nothing, if the name
 * is unknown or the CPU or the build does not support it.
 */
int	blake3_force_impl(const char *name);

#endif
