/*
 * blake3_sse41.c — BLAKE3 hash_many with SSE4.1: 4 inputs at once.  Each
 * 128-bit register holds the same state word of the 4 inputs (one 32-bit
 * lane per input), so the compression function runs unchanged, 4 wide, and
 * the message blocks are transposed on loading.  Compiled with -msse4.1 and
 * used only when the CPU says it has SSE4.1 (see blake3.c).
 */
#include "blake3_impl.h"

#if !defined(BLAKE3_NO_SIMD) && defined(__SSE4_1__)
#include <immintrin.h>

#define LANES	4

static inline __attribute__((always_inline)) __m128i
add(__m128i a, __m128i b)
{
	return _mm_add_epi32(a, b);
}

static inline __attribute__((always_inline)) __m128i
xor(__m128i a, __m128i b)
{
	return _mm_xor_si128(a, b);
}

/* Rotations by whole bytes are one byte shuffle. */
static inline __attribute__((always_inline)) __m128i
rot16(__m128i x)
{
	return _mm_shuffle_epi8(x, _mm_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5,
	    10, 11, 8, 9, 14, 15, 12, 13));
}

static inline __attribute__((always_inline)) __m128i
rot12(__m128i x)
{
	return _mm_or_si128(_mm_srli_epi32(x, 12), _mm_slli_epi32(x, 20));
}

static inline __attribute__((always_inline)) __m128i
rot8(__m128i x)
{
	return _mm_shuffle_epi8(x, _mm_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4,
	    9, 10, 11, 8, 13, 14, 15, 12));
}

static inline __attribute__((always_inline)) __m128i
rot7(__m128i x)
{
	return _mm_or_si128(_mm_srli_epi32(x, 7), _mm_slli_epi32(x, 25));
}

/*
 * One round: the four column G functions, then the four diagonal ones, each
 * group written step by step across its four G's so the steps can overlap.
 */
static inline __attribute__((always_inline)) void
round4(__m128i v[16], const __m128i m[16], int r)
{
	const uint8_t *s = blake3_msg_schedule[r];

	v[0] = add(add(v[0], v[4]), m[s[0]]);
	v[1] = add(add(v[1], v[5]), m[s[2]]);
	v[2] = add(add(v[2], v[6]), m[s[4]]);
	v[3] = add(add(v[3], v[7]), m[s[6]]);
	v[12] = rot16(xor(v[12], v[0]));
	v[13] = rot16(xor(v[13], v[1]));
	v[14] = rot16(xor(v[14], v[2]));
	v[15] = rot16(xor(v[15], v[3]));
	v[8] = add(v[8], v[12]);
	v[9] = add(v[9], v[13]);
	v[10] = add(v[10], v[14]);
	v[11] = add(v[11], v[15]);
	v[4] = rot12(xor(v[4], v[8]));
	v[5] = rot12(xor(v[5], v[9]));
	v[6] = rot12(xor(v[6], v[10]));
	v[7] = rot12(xor(v[7], v[11]));
	v[0] = add(add(v[0], v[4]), m[s[1]]);
	v[1] = add(add(v[1], v[5]), m[s[3]]);
	v[2] = add(add(v[2], v[6]), m[s[5]]);
	v[3] = add(add(v[3], v[7]), m[s[7]]);
	v[12] = rot8(xor(v[12], v[0]));
	v[13] = rot8(xor(v[13], v[1]));
	v[14] = rot8(xor(v[14], v[2]));
	v[15] = rot8(xor(v[15], v[3]));
	v[8] = add(v[8], v[12]);
	v[9] = add(v[9], v[13]);
	v[10] = add(v[10], v[14]);
	v[11] = add(v[11], v[15]);
	v[4] = rot7(xor(v[4], v[8]));
	v[5] = rot7(xor(v[5], v[9]));
	v[6] = rot7(xor(v[6], v[10]));
	v[7] = rot7(xor(v[7], v[11]));

	v[0] = add(add(v[0], v[5]), m[s[8]]);
	v[1] = add(add(v[1], v[6]), m[s[10]]);
	v[2] = add(add(v[2], v[7]), m[s[12]]);
	v[3] = add(add(v[3], v[4]), m[s[14]]);
	v[15] = rot16(xor(v[15], v[0]));
	v[12] = rot16(xor(v[12], v[1]));
	v[13] = rot16(xor(v[13], v[2]));
	v[14] = rot16(xor(v[14], v[3]));
	v[10] = add(v[10], v[15]);
	v[11] = add(v[11], v[12]);
	v[8] = add(v[8], v[13]);
	v[9] = add(v[9], v[14]);
	v[5] = rot12(xor(v[5], v[10]));
	v[6] = rot12(xor(v[6], v[11]));
	v[7] = rot12(xor(v[7], v[8]));
	v[4] = rot12(xor(v[4], v[9]));
	v[0] = add(add(v[0], v[5]), m[s[9]]);
	v[1] = add(add(v[1], v[6]), m[s[11]]);
	v[2] = add(add(v[2], v[7]), m[s[13]]);
	v[3] = add(add(v[3], v[4]), m[s[15]]);
	v[15] = rot8(xor(v[15], v[0]));
	v[12] = rot8(xor(v[12], v[1]));
	v[13] = rot8(xor(v[13], v[2]));
	v[14] = rot8(xor(v[14], v[3]));
	v[10] = add(v[10], v[15]);
	v[11] = add(v[11], v[12]);
	v[8] = add(v[8], v[13]);
	v[9] = add(v[9], v[14]);
	v[5] = rot7(xor(v[5], v[10]));
	v[6] = rot7(xor(v[6], v[11]));
	v[7] = rot7(xor(v[7], v[8]));
	v[4] = rot7(xor(v[4], v[9]));
}

/* Rows a, b, c, d become columns: x[i] = { a[i], b[i], c[i], d[i] }. */
static inline __attribute__((always_inline)) void
transpose4(__m128i x[4])
{
	__m128i ab01 = _mm_unpacklo_epi32(x[0], x[1]);
	__m128i ab23 = _mm_unpackhi_epi32(x[0], x[1]);
	__m128i cd01 = _mm_unpacklo_epi32(x[2], x[3]);
	__m128i cd23 = _mm_unpackhi_epi32(x[2], x[3]);

	x[0] = _mm_unpacklo_epi64(ab01, cd01);
	x[1] = _mm_unpackhi_epi64(ab01, cd01);
	x[2] = _mm_unpacklo_epi64(ab23, cd23);
	x[3] = _mm_unpackhi_epi64(ab23, cd23);
}

/* m[w] = word w of the block at `off` in each of the 4 inputs. */
static inline __attribute__((always_inline)) void
load_msg(__m128i m[16], const uint8_t *const *in, size_t off)
{
	/* Written out: GCC -O2 leaves these small loops rolled. */
#define LD(i, q) _mm_loadu_si128((const __m128i *)(in[i] + off + 16 * (q)))
	m[0] = LD(0, 0); m[1] = LD(1, 0); m[2] = LD(2, 0); m[3] = LD(3, 0);
	m[4] = LD(0, 1); m[5] = LD(1, 1); m[6] = LD(2, 1); m[7] = LD(3, 1);
	m[8] = LD(0, 2); m[9] = LD(1, 2); m[10] = LD(2, 2); m[11] = LD(3, 2);
	m[12] = LD(0, 3); m[13] = LD(1, 3); m[14] = LD(2, 3); m[15] = LD(3, 3);
#undef LD
	transpose4(m);
	transpose4(m + 4);
	transpose4(m + 8);
	transpose4(m + 12);
}

static void
hash4(const uint8_t *const *in, size_t blocks, const uint32_t key[8],
    uint64_t counter, int increment_counter, uint8_t flags,
    uint8_t flags_start, uint8_t flags_end, uint8_t *out)
{
	__m128i h[8], v[16], m[16], ctr_lo, ctr_hi;
	uint32_t lo[LANES], hi[LANES];
	uint64_t c;
	size_t b;
	uint8_t f;
	int i;

	for (i = 0; i < LANES; i++) {
		c = counter + (increment_counter ? (uint64_t)i : 0);
		lo[i] = (uint32_t)c;
		hi[i] = (uint32_t)(c >> 32);
	}
	ctr_lo = _mm_setr_epi32((int)lo[0], (int)lo[1], (int)lo[2],
	    (int)lo[3]);
	ctr_hi = _mm_setr_epi32((int)hi[0], (int)hi[1], (int)hi[2],
	    (int)hi[3]);
	for (i = 0; i < 8; i++)
		h[i] = _mm_set1_epi32((int)key[i]);
	f = flags | flags_start;
	for (b = 0; b < blocks; b++) {
		if (b + 1 == blocks)
			f |= flags_end;
		load_msg(m, in, b * BLAKE3_BLOCK_LEN);
		v[0] = h[0]; v[1] = h[1]; v[2] = h[2]; v[3] = h[3];
		v[4] = h[4]; v[5] = h[5]; v[6] = h[6]; v[7] = h[7];
		v[8] = _mm_set1_epi32((int)blake3_iv[0]);
		v[9] = _mm_set1_epi32((int)blake3_iv[1]);
		v[10] = _mm_set1_epi32((int)blake3_iv[2]);
		v[11] = _mm_set1_epi32((int)blake3_iv[3]);
		v[12] = ctr_lo;
		v[13] = ctr_hi;
		v[14] = _mm_set1_epi32(BLAKE3_BLOCK_LEN);
		v[15] = _mm_set1_epi32(f);
		round4(v, m, 0);
		round4(v, m, 1);
		round4(v, m, 2);
		round4(v, m, 3);
		round4(v, m, 4);
		round4(v, m, 5);
		round4(v, m, 6);
		h[0] = xor(v[0], v[8]); h[1] = xor(v[1], v[9]);
		h[2] = xor(v[2], v[10]); h[3] = xor(v[3], v[11]);
		h[4] = xor(v[4], v[12]); h[5] = xor(v[5], v[13]);
		h[6] = xor(v[6], v[14]); h[7] = xor(v[7], v[15]);
		f = flags;
	}
	/* Columns back to rows: input i's chaining value is words 0..7. */
	transpose4(h);
	transpose4(h + 4);
	for (i = 0; i < LANES; i++) {
		_mm_storeu_si128((__m128i *)(out + 32 * i), h[i]);
		_mm_storeu_si128((__m128i *)(out + 32 * i + 16), h[4 + i]);
	}
}

void
blake3_hash_many_sse41(const uint8_t *const *inputs, size_t num_inputs,
    size_t blocks, const uint32_t key[8], uint64_t counter,
    int increment_counter, uint8_t flags, uint8_t flags_start,
    uint8_t flags_end, uint8_t *out)
{
	const uint8_t *pad[LANES];
	uint8_t tmp[LANES * BLAKE3_OUT_LEN];
	size_t i;

	while (num_inputs >= LANES) {
		hash4(inputs, blocks, key, counter, increment_counter, flags,
		    flags_start, flags_end, out);
		inputs += LANES;
		num_inputs -= LANES;
		if (increment_counter)
			counter += LANES;
		out += LANES * BLAKE3_OUT_LEN;
	}
	if (num_inputs < 2) {
		blake3_hash_many_portable(inputs, num_inputs, blocks, key,
		    counter, increment_counter, flags, flags_start, flags_end,
		    out);
		return;
	}
	/*
	 * Two or more left: one pass with the spare lanes repeating the last
	 * input costs less than hashing them one by one.
	 */
	for (i = 0; i < LANES; i++)
		pad[i] = inputs[i < num_inputs ? i : num_inputs - 1];
	hash4(pad, blocks, key, counter, increment_counter, flags,
	    flags_start, flags_end, tmp);
	memcpy(out, tmp, num_inputs * BLAKE3_OUT_LEN);
}

#endif
