/*
 * blake3.c — BLAKE3: the portable compression function, the hasher (chunk
 * state plus a stack of subtree chaining values), and the run-time choice of
 * a SIMD implementation for hashing many chunks and parent nodes at once.
 *
 * Written by hand from the BLAKE3 specification: no Debian package ships the
 * library.  See blake3.h.
 */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "blake3.h"
#include "blake3_impl.h"

/* Most chunks hashed in one go (a power of two: the largest subtree). */
#define BLAKE3_BATCH_CHUNKS	64

enum blake3_impl {
	BLAKE3_IMPL_NONE = 0,	/* not chosen yet */
	BLAKE3_IMPL_PORTABLE,
	BLAKE3_IMPL_SSE41,
	BLAKE3_IMPL_AVX2,
	BLAKE3_IMPL_AVX512,
};

static const char *const blake3_impl_names[] = {
	"none", "portable", "sse41", "avx2", "avx512",
};

/* Read and written with relaxed atomics: every writer stores a valid value. */
static int blake3_impl_cur = BLAKE3_IMPL_NONE;

static inline uint32_t
rotr32(uint32_t w, unsigned c)
{
	return (w >> c) | (w << (32 - c));
}

static inline void
g(uint32_t *v, int a, int b, int c, int d, uint32_t x, uint32_t y)
{
	v[a] = v[a] + v[b] + x;
	v[d] = rotr32(v[d] ^ v[a], 16);
	v[c] = v[c] + v[d];
	v[b] = rotr32(v[b] ^ v[c], 12);
	v[a] = v[a] + v[b] + y;
	v[d] = rotr32(v[d] ^ v[a], 8);
	v[c] = v[c] + v[d];
	v[b] = rotr32(v[b] ^ v[c], 7);
}

static void
compress_core(uint32_t v[16], const uint32_t cv[8],
    const uint8_t block[BLAKE3_BLOCK_LEN], uint8_t block_len, uint64_t counter,
    uint8_t flags)
{
	uint32_t m[16];
	const uint8_t *s;
	int i, r;

	for (i = 0; i < 16; i++)
		m[i] = blake3_load32(block + 4 * i);
	memcpy(v, cv, 8 * sizeof(uint32_t));
	v[8] = blake3_iv[0];
	v[9] = blake3_iv[1];
	v[10] = blake3_iv[2];
	v[11] = blake3_iv[3];
	v[12] = (uint32_t)counter;
	v[13] = (uint32_t)(counter >> 32);
	v[14] = block_len;
	v[15] = flags;
	for (r = 0; r < 7; r++) {
		s = blake3_msg_schedule[r];
		g(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
		g(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
		g(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
		g(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
		g(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
		g(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
		g(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
		g(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
	}
}

void
blake3_compress_in_place_portable(uint32_t cv[8],
    const uint8_t block[BLAKE3_BLOCK_LEN], uint8_t block_len, uint64_t counter,
    uint8_t flags)
{
	uint32_t v[16];
	int i;

	compress_core(v, cv, block, block_len, counter, flags);
	for (i = 0; i < 8; i++)
		cv[i] = v[i] ^ v[i + 8];
}

/* The full 64-byte output of one compression, for the root's XOF blocks. */
static void
compress_xof(const uint32_t cv[8], const uint8_t block[BLAKE3_BLOCK_LEN],
    uint8_t block_len, uint64_t counter, uint8_t flags, uint8_t out[64])
{
	uint32_t v[16];
	int i;

	compress_core(v, cv, block, block_len, counter, flags);
	for (i = 0; i < 8; i++) {
		blake3_store32(out + 4 * i, v[i] ^ v[i + 8]);
		blake3_store32(out + 32 + 4 * i, v[i + 8] ^ cv[i]);
	}
}

void
blake3_hash_many_portable(const uint8_t *const *inputs, size_t num_inputs,
    size_t blocks, const uint32_t key[8], uint64_t counter,
    int increment_counter, uint8_t flags, uint8_t flags_start,
    uint8_t flags_end, uint8_t *out)
{
	uint32_t cv[8];
	const uint8_t *in;
	size_t i, b;
	uint8_t f;
	int w;

	for (i = 0; i < num_inputs; i++) {
		memcpy(cv, key, sizeof(cv));
		in = inputs[i];
		f = flags | flags_start;
		for (b = 0; b < blocks; b++) {
			if (b + 1 == blocks)
				f |= flags_end;
			blake3_compress_in_place_portable(cv, in, BLAKE3_BLOCK_LEN,
			    counter, f);
			in += BLAKE3_BLOCK_LEN;
			f = flags;
		}
		for (w = 0; w < 8; w++)
			blake3_store32(out + 32 * i + 4 * w, cv[w]);
		if (increment_counter)
			counter++;
	}
}

/* --- choosing an implementation ----------------------------------------- */

static int
impl_supported(int impl)
{
	switch (impl) {
	case BLAKE3_IMPL_PORTABLE:
		return 1;
#ifndef BLAKE3_NO_SIMD
	case BLAKE3_IMPL_SSE41:
		__builtin_cpu_init();
		return __builtin_cpu_supports("sse4.1");
	case BLAKE3_IMPL_AVX2:
		__builtin_cpu_init();
		return __builtin_cpu_supports("avx2");
	case BLAKE3_IMPL_AVX512:
		/* Its leftovers are hashed by the AVX2 code. */
		__builtin_cpu_init();
		return __builtin_cpu_supports("avx512f") &&
		    __builtin_cpu_supports("avx2");
#endif
	default:
		return 0;
	}
}

static int
impl_best(void)
{
	if (impl_supported(BLAKE3_IMPL_AVX512))
		return BLAKE3_IMPL_AVX512;
	if (impl_supported(BLAKE3_IMPL_AVX2))
		return BLAKE3_IMPL_AVX2;
	if (impl_supported(BLAKE3_IMPL_SSE41))
		return BLAKE3_IMPL_SSE41;
	return BLAKE3_IMPL_PORTABLE;
}

static int
impl_get(void)
{
	int impl = __atomic_load_n(&blake3_impl_cur, __ATOMIC_RELAXED);

	if (impl == BLAKE3_IMPL_NONE) {
		impl = impl_best();
		__atomic_store_n(&blake3_impl_cur, impl, __ATOMIC_RELAXED);
	}
	return impl;
}

const char *
blake3_impl_name(void)
{
	return blake3_impl_names[impl_get()];
}

int
blake3_force_impl(const char *name)
{
	int impl;

	if (name == NULL)
		impl = impl_best();
	else {
		for (impl = BLAKE3_IMPL_PORTABLE; impl <= BLAKE3_IMPL_AVX512;
		    impl++)
			if (strcmp(name, blake3_impl_names[impl]) == 0)
				break;
		if (impl > BLAKE3_IMPL_AVX512 || !impl_supported(impl))
			return -1;
	}
	__atomic_store_n(&blake3_impl_cur, impl, __ATOMIC_RELAXED);
	return 0;
}

static void
hash_many(const uint8_t *const *inputs, size_t num_inputs, size_t blocks,
    const uint32_t key[8], uint64_t counter, int increment_counter,
    uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t *out)
{
	switch (impl_get()) {
#ifndef BLAKE3_NO_SIMD
	case BLAKE3_IMPL_AVX512:
		blake3_hash_many_avx512(inputs, num_inputs, blocks, key,
		    counter, increment_counter, flags, flags_start, flags_end,
		    out);
		return;
	case BLAKE3_IMPL_AVX2:
		blake3_hash_many_avx2(inputs, num_inputs, blocks, key, counter,
		    increment_counter, flags, flags_start, flags_end, out);
		return;
	case BLAKE3_IMPL_SSE41:
		blake3_hash_many_sse41(inputs, num_inputs, blocks, key, counter,
		    increment_counter, flags, flags_start, flags_end, out);
		return;
#endif
	default:
		blake3_hash_many_portable(inputs, num_inputs, blocks, key,
		    counter, increment_counter, flags, flags_start, flags_end,
		    out);
		return;
	}
}

/* --- the hasher --------------------------------------------------------- */

static void
store_cv(uint8_t *bytes, const uint32_t cv[8])
{
	int i;

	for (i = 0; i < 8; i++)
		blake3_store32(bytes + 4 * i, cv[i]);
}

static size_t
chunk_len(const blake3_hasher *h)
{
	return (size_t)h->blocks_compressed * BLAKE3_BLOCK_LEN + h->buf_len;
}

static uint8_t
chunk_start_flag(const blake3_hasher *h)
{
	return h->blocks_compressed == 0 ? BLAKE3_CHUNK_START : 0;
}

static void
chunk_reset(blake3_hasher *h, uint64_t counter)
{
	memcpy(h->cv, h->key, sizeof(h->cv));
	h->chunk_counter = counter;
	memset(h->buf, 0, sizeof(h->buf));
	h->buf_len = 0;
	h->blocks_compressed = 0;
}

/*
 * Adds up to the rest of the current chunk.  A full block is compressed only
 * once more input follows it: the chunk's last block needs CHUNK_END.
 */
static void
chunk_update(blake3_hasher *h, const uint8_t *in, size_t len)
{
	size_t take;

	if (h->buf_len > 0) {
		take = BLAKE3_BLOCK_LEN - h->buf_len;
		if (take > len)
			take = len;
		memcpy(h->buf + h->buf_len, in, take);
		h->buf_len += (uint8_t)take;
		in += take;
		len -= take;
		if (len == 0)
			return;
		blake3_compress_in_place_portable(h->cv, h->buf,
		    BLAKE3_BLOCK_LEN, h->chunk_counter,
		    h->flags | chunk_start_flag(h));
		h->blocks_compressed++;
		h->buf_len = 0;
		memset(h->buf, 0, sizeof(h->buf));
	}
	while (len > BLAKE3_BLOCK_LEN) {
		blake3_compress_in_place_portable(h->cv, in, BLAKE3_BLOCK_LEN,
		    h->chunk_counter, h->flags | chunk_start_flag(h));
		h->blocks_compressed++;
		in += BLAKE3_BLOCK_LEN;
		len -= BLAKE3_BLOCK_LEN;
	}
	memcpy(h->buf, in, len);
	h->buf_len = (uint8_t)len;
}

/*
 * Pushes the chaining value of a complete subtree of 2^level chunks that ends
 * after `total` chunks, then merges equal-sized neighbours.  Merging eagerly
 * is safe because a subtree is pushed only when more input follows it, so
 * none of these nodes can be the root.
 */
static void
push_cv(blake3_hasher *h, const uint8_t cv[BLAKE3_OUT_LEN], unsigned level,
    uint64_t total)
{
	uint8_t *top;
	uint32_t pcv[8];

	memcpy(h->cv_stack + (size_t)h->cv_stack_len * BLAKE3_OUT_LEN, cv,
	    BLAKE3_OUT_LEN);
	h->cv_stack_len++;
	total >>= level;
	while ((total & 1) == 0) {
		/* The top two entries are a parent node's 64-byte block. */
		top = h->cv_stack + (size_t)(h->cv_stack_len - 2) *
		    BLAKE3_OUT_LEN;
		memcpy(pcv, h->key, sizeof(pcv));
		blake3_compress_in_place_portable(pcv, top, BLAKE3_BLOCK_LEN, 0,
		    h->flags | BLAKE3_PARENT);
		store_cv(top, pcv);
		h->cv_stack_len--;
		total >>= 1;
	}
}

/*
 * Reduces the n chaining values at cvs (n a power of two) to the one of
 * their subtree, in place, each level of parent nodes hashed at once.
 */
static void
reduce_subtree(const blake3_hasher *h, uint8_t *cvs, size_t n)
{
	const uint8_t *ptrs[BLAKE3_BATCH_CHUNKS / 2] = { NULL };
	size_t i;

	/* Parent i's block is cvs[2i] || cvs[2i+1]; results overwrite cvs. */
	while (n > 1) {
		n /= 2;
		for (i = 0; i < n; i++)
			ptrs[i] = cvs + i * BLAKE3_BLOCK_LEN;
		hash_many(ptrs, n, 1, h->key, 0, 0, h->flags | BLAKE3_PARENT,
		    0, 0, cvs);
	}
}

/*
 * Hashes n whole chunks (at most BLAKE3_BATCH_CHUNKS) at once with the chosen
 * implementation, then pushes them as the largest complete subtrees their
 * position in the tree allows.  More input must follow them.
 */
static void
hash_chunks(blake3_hasher *h, const uint8_t *in, size_t n)
{
	uint8_t cvs[BLAKE3_BATCH_CHUNKS * BLAKE3_OUT_LEN];
	const uint8_t *ptrs[BLAKE3_BATCH_CHUNKS] = { NULL };
	uint64_t pos;
	size_t i, off, sub;
	unsigned level;

	for (i = 0; i < n; i++)
		ptrs[i] = in + i * BLAKE3_CHUNK_LEN;
	hash_many(ptrs, n, BLAKE3_CHUNK_LEN / BLAKE3_BLOCK_LEN, h->key,
	    h->chunk_counter, 1, h->flags, BLAKE3_CHUNK_START,
	    BLAKE3_CHUNK_END, cvs);
	for (off = 0; off < n; off += sub) {
		pos = h->chunk_counter + off;
		level = 0;
		while (((size_t)2 << level) <= n - off &&
		    (pos & (((uint64_t)2 << level) - 1)) == 0)
			level++;
		sub = (size_t)1 << level;
		reduce_subtree(h, cvs + off * BLAKE3_OUT_LEN, sub);
		push_cv(h, cvs + off * BLAKE3_OUT_LEN, level, pos + sub);
	}
	chunk_reset(h, h->chunk_counter + n);
}

void
blake3_hasher_init(blake3_hasher *h)
{
	/*
	 * The chaining-value stack (1.7 KiB) is governed by cv_stack_len and
	 * need not be cleared: clearing it was a tenth of the cost of hashing a
	 * short keyword.
	 */
	memset(h, 0, offsetof(blake3_hasher, cv_stack));
	memcpy(h->key, blake3_iv, sizeof(h->key));
	h->flags = 0;
	chunk_reset(h, 0);
}

void
blake3_hasher_update(blake3_hasher *h, const void *input, size_t len)
{
	const uint8_t *in = input;
	uint8_t cv[BLAKE3_OUT_LEN];
	size_t n, take;

	while (len > 0) {
		if (chunk_len(h) == BLAKE3_CHUNK_LEN) {
			/* The chunk is complete and more input follows. */
			blake3_compress_in_place_portable(h->cv, h->buf,
			    BLAKE3_BLOCK_LEN, h->chunk_counter,
			    h->flags | chunk_start_flag(h) | BLAKE3_CHUNK_END);
			store_cv(cv, h->cv);
			push_cv(h, cv, 0, h->chunk_counter + 1);
			chunk_reset(h, h->chunk_counter + 1);
		}
		if (chunk_len(h) == 0 && len > BLAKE3_CHUNK_LEN) {
			/* Whole chunks with more input after them. */
			n = (len - 1) / BLAKE3_CHUNK_LEN;
			if (n > BLAKE3_BATCH_CHUNKS)
				n = BLAKE3_BATCH_CHUNKS;
			hash_chunks(h, in, n);
			in += n * BLAKE3_CHUNK_LEN;
			len -= n * BLAKE3_CHUNK_LEN;
			continue;
		}
		take = BLAKE3_CHUNK_LEN - chunk_len(h);
		if (take > len)
			take = len;
		chunk_update(h, in, take);
		in += take;
		len -= take;
	}
}

void
blake3_hasher_finalize(const blake3_hasher *h, uint8_t *out, size_t outlen)
{
	uint32_t cv[8];
	uint8_t block[BLAKE3_BLOCK_LEN], xof[BLAKE3_BLOCK_LEN];
	uint8_t block_len, flags;
	uint64_t counter;
	size_t i, take;

	/* The root node's inputs: the current chunk's last block ... */
	memcpy(cv, h->cv, sizeof(cv));
	memcpy(block, h->buf, sizeof(block));
	block_len = h->buf_len;
	counter = h->chunk_counter;
	flags = h->flags | chunk_start_flag(h) | BLAKE3_CHUNK_END;
	/* ... or, with subtrees on the stack, the parents above it. */
	for (i = h->cv_stack_len; i > 0; i--) {
		blake3_compress_in_place_portable(cv, block, block_len,
		    counter, flags);
		memcpy(block, h->cv_stack + (i - 1) * BLAKE3_OUT_LEN,
		    BLAKE3_OUT_LEN);
		store_cv(block + BLAKE3_OUT_LEN, cv);
		memcpy(cv, h->key, sizeof(cv));
		block_len = BLAKE3_BLOCK_LEN;
		counter = 0;
		flags = h->flags | BLAKE3_PARENT;
	}
	/* The root's counter numbers its 64-byte output blocks instead. */
	counter = 0;
	while (outlen > 0) {
		compress_xof(cv, block, block_len, counter, flags | BLAKE3_ROOT,
		    xof);
		take = outlen < sizeof(xof) ? outlen : sizeof(xof);
		memcpy(out, xof, take);
		out += take;
		outlen -= take;
		counter++;
	}
}

void
blake3_hash(const void *in, size_t len, uint8_t out[BLAKE3_OUT_LEN])
{
	blake3_hasher h;

	blake3_hasher_init(&h);
	blake3_hasher_update(&h, in, len);
	blake3_hasher_finalize(&h, out, BLAKE3_OUT_LEN);
}
