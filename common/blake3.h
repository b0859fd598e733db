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
/*
 * One pass over a file that yields its hash and the standalone hash
 * (blake3 of just those bytes) of each fragment of frag_len bytes, the
 * leaves of Peernet's merkle tree (docs/data.md §4.2).
 *
 * A leaf cannot be read off the whole file's BLAKE3 tree, except the
 * first: a chunk's counter is its absolute position, so a fragment at
 * offset o > 0 is compressed with counters o/1024... inside the file but
 * 0... on its own — different chaining values from the first block on
 * (tests/unit/test_blake3.c checks this against b3sum).  Fragment 0 starts
 * at counter 0 in both: its leaf is the whole-file hasher finalized after
 * frag_len bytes, for free.  So fragment 0 (and a file of one fragment) is
 * compressed once, every later byte twice, each piece of input by both
 * hashers while it is still in the cache.
 *
 * fn (may be NULL) gets each leaf, in order: a full fragment as soon as its
 * last byte is fed, the last partial one at final.  An empty file has no
 * fragment.
 */
typedef void blake3_leaf_fn(void *arg, uint64_t index,
    const uint8_t hash[BLAKE3_OUT_LEN]);

typedef struct blake3_split_hasher {
	blake3_hasher	 whole;
	blake3_hasher	 frag;		/* fragments 1, 2, ... */
	uint64_t	 frag_len;
	uint64_t	 frag_fill;	/* bytes of the current fragment */
	uint64_t	 index;		/* the current fragment */
} blake3_split_hasher;

/* -1 if frag_len is 0. */
int	blake3_split_init(blake3_split_hasher *h, uint64_t frag_len);
void	blake3_split_update(blake3_split_hasher *h, const void *in, size_t len,
	    blake3_leaf_fn *fn, void *arg);
/*
 * The file hash; fn gets the last partial fragment's leaf, if any (once: a
 * second final gives the file hash only).  No update after it.
 */
void	blake3_split_final(blake3_split_hasher *h,
	    uint8_t out[BLAKE3_OUT_LEN], blake3_leaf_fn *fn, void *arg);
/*
 * Starts the process's helper thread for blake3_split_update (once; before
 * a seccomp filter that refuses clone): from then on an update of 256 KiB
 * or more past fragment 0 hashes the leaves on it, and fn runs on that
 * thread, while the caller hashes the file; the update still returns only
 * when both are done.  0, or -1 when the thread cannot start (updates then
 * hash both passes in the caller, as without it).
 */
int	blake3_split_par_start(void);
/* "portable", "sse41", "avx2" or "avx512": the implementation in use. */
const char *blake3_impl_name(void);
/*
 * For tests and benchmarks: use the named implementation from now on (NULL:
 * the best one the CPU supports).  Returns -1, changing nothing, if the name
 * is unknown or the CPU or the build does not support it.
 */
int	blake3_force_impl(const char *name);

#endif
