/*
 * blake3_avx2.c — BLAKE3 hash_many with AVX2: 8 inputs at once.  Each
 * 256-bit register holds the same state word of the 8 inputs (one 32-bit
 * lane per input), so the compression function runs unchanged, 8 wide, and
 * the message blocks are transposed on loading.  Compiled with -mavx2 and
 * used only when the CPU says it has AVX2 (see blake3.c).
 */
#include "blake3_impl.h"

#if !defined(BLAKE3_NO_SIMD) && defined(__AVX2__)
#include <immintrin.h>

#define LANES	8

static inline __attribute__((always_inline)) __m256i
add(__m256i a, __m256i b)
{
	return _mm256_add_epi32(a, b);
}

static inline __attribute__((always_inline)) __m256i
xor(__m256i a, __m256i b)
{
	return _mm256_xor_si256(a, b);
}

/* Rotations by whole bytes are one byte shuffle. */
static inline __attribute__((always_inline)) __m256i
rot16(__m256i x)
{
	return _mm256_shuffle_epi8(x, _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5,
	    10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7, 4, 5,
	    10, 11, 8, 9, 14, 15, 12, 13));
}

static inline __attribute__((always_inline)) __m256i
rot12(__m256i x)
{
	return _mm256_or_si256(_mm256_srli_epi32(x, 12), _mm256_slli_epi32(x, 20));
}

static inline __attribute__((always_inline)) __m256i
rot8(__m256i x)
{
	return _mm256_shuffle_epi8(x, _mm256_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4,
	    9, 10, 11, 8, 13, 14, 15, 12, 1, 2, 3, 0, 5, 6, 7, 4,
	    9, 10, 11, 8, 13, 14, 15, 12));
}

static inline __attribute__((always_inline)) __m256i
rot7(__m256i x)
{
	return _mm256_or_si256(_mm256_srli_epi32(x, 7), _mm256_slli_epi32(x, 25));
}

/*
 * One round: the four column G functions, then the four diagonal ones, each
 * group written step by step across its four G's so the steps can overlap.
 */
static inline __attribute__((always_inline)) void
round8(__m256i v[16], const __m256i m[16], int r)
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

/* Rows become columns: x[i] = word i of each of the 8 rows. */
static inline __attribute__((always_inline)) void
transpose8(__m256i x[8])
{
	/* Within each 128-bit half first, then across the halves. */
	__m256i ab0145 = _mm256_unpacklo_epi32(x[0], x[1]);
	__m256i ab2367 = _mm256_unpackhi_epi32(x[0], x[1]);
	__m256i cd0145 = _mm256_unpacklo_epi32(x[2], x[3]);
	__m256i cd2367 = _mm256_unpackhi_epi32(x[2], x[3]);
	__m256i ef0145 = _mm256_unpacklo_epi32(x[4], x[5]);
	__m256i ef2367 = _mm256_unpackhi_epi32(x[4], x[5]);
	__m256i gh0145 = _mm256_unpacklo_epi32(x[6], x[7]);
	__m256i gh2367 = _mm256_unpackhi_epi32(x[6], x[7]);
	__m256i abcd04 = _mm256_unpacklo_epi64(ab0145, cd0145);
	__m256i abcd15 = _mm256_unpackhi_epi64(ab0145, cd0145);
	__m256i abcd26 = _mm256_unpacklo_epi64(ab2367, cd2367);
	__m256i abcd37 = _mm256_unpackhi_epi64(ab2367, cd2367);
	__m256i efgh04 = _mm256_unpacklo_epi64(ef0145, gh0145);
	__m256i efgh15 = _mm256_unpackhi_epi64(ef0145, gh0145);
	__m256i efgh26 = _mm256_unpacklo_epi64(ef2367, gh2367);
	__m256i efgh37 = _mm256_unpackhi_epi64(ef2367, gh2367);

	x[0] = _mm256_permute2x128_si256(abcd04, efgh04, 0x20);
	x[4] = _mm256_permute2x128_si256(abcd04, efgh04, 0x31);
	x[1] = _mm256_permute2x128_si256(abcd15, efgh15, 0x20);
	x[5] = _mm256_permute2x128_si256(abcd15, efgh15, 0x31);
	x[2] = _mm256_permute2x128_si256(abcd26, efgh26, 0x20);
	x[6] = _mm256_permute2x128_si256(abcd26, efgh26, 0x31);
	x[3] = _mm256_permute2x128_si256(abcd37, efgh37, 0x20);
	x[7] = _mm256_permute2x128_si256(abcd37, efgh37, 0x31);
}

/* m[w] = word w of the block at `off` in each of the 8 inputs. */
static inline __attribute__((always_inline)) void
load_msg(__m256i m[16], const uint8_t *const *in, size_t off)
{
	/* Written out: GCC -O2 leaves these small loops rolled. */
#define LD(i, q) _mm256_loadu_si256((const __m256i *)(in[i] + off + 32 * (q)))
	m[0] = LD(0, 0); m[1] = LD(1, 0); m[2] = LD(2, 0); m[3] = LD(3, 0);
	m[4] = LD(4, 0); m[5] = LD(5, 0); m[6] = LD(6, 0); m[7] = LD(7, 0);
	m[8] = LD(0, 1); m[9] = LD(1, 1); m[10] = LD(2, 1); m[11] = LD(3, 1);
	m[12] = LD(4, 1); m[13] = LD(5, 1); m[14] = LD(6, 1); m[15] = LD(7, 1);
#undef LD
	transpose8(m);
	transpose8(m + 8);
}

static void
hash8(const uint8_t *const *in, size_t blocks, const uint32_t key[8],
    uint64_t counter, int increment_counter, uint8_t flags,
    uint8_t flags_start, uint8_t flags_end, uint8_t *out)
{
	__m256i h[8], v[16], m[16], ctr_lo, ctr_hi;
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
	ctr_lo = _mm256_setr_epi32((int)lo[0], (int)lo[1], (int)lo[2],
	    (int)lo[3], (int)lo[4], (int)lo[5], (int)lo[6], (int)lo[7]);
	ctr_hi = _mm256_setr_epi32((int)hi[0], (int)hi[1], (int)hi[2],
	    (int)hi[3], (int)hi[4], (int)hi[5], (int)hi[6], (int)hi[7]);
	for (i = 0; i < 8; i++)
		h[i] = _mm256_set1_epi32((int)key[i]);
	f = flags | flags_start;
	for (b = 0; b < blocks; b++) {
		if (b + 1 == blocks)
			f |= flags_end;
		load_msg(m, in, b * BLAKE3_BLOCK_LEN);
		v[0] = h[0]; v[1] = h[1]; v[2] = h[2]; v[3] = h[3];
		v[4] = h[4]; v[5] = h[5]; v[6] = h[6]; v[7] = h[7];
		v[8] = _mm256_set1_epi32((int)blake3_iv[0]);
		v[9] = _mm256_set1_epi32((int)blake3_iv[1]);
		v[10] = _mm256_set1_epi32((int)blake3_iv[2]);
		v[11] = _mm256_set1_epi32((int)blake3_iv[3]);
		v[12] = ctr_lo;
		v[13] = ctr_hi;
		v[14] = _mm256_set1_epi32(BLAKE3_BLOCK_LEN);
		v[15] = _mm256_set1_epi32(f);
		round8(v, m, 0);
		round8(v, m, 1);
		round8(v, m, 2);
		round8(v, m, 3);
		round8(v, m, 4);
		round8(v, m, 5);
		round8(v, m, 6);
		h[0] = xor(v[0], v[8]); h[1] = xor(v[1], v[9]);
		h[2] = xor(v[2], v[10]); h[3] = xor(v[3], v[11]);
		h[4] = xor(v[4], v[12]); h[5] = xor(v[5], v[13]);
		h[6] = xor(v[6], v[14]); h[7] = xor(v[7], v[15]);
		f = flags;
	}
	/* Columns back to rows: input i's chaining value is h[i]. */
	transpose8(h);
	for (i = 0; i < LANES; i++)
		_mm256_storeu_si256((__m256i *)(out + 32 * i), h[i]);
}

void
blake3_hash_many_avx2(const uint8_t *const *inputs, size_t num_inputs,
    size_t blocks, const uint32_t key[8], uint64_t counter,
    int increment_counter, uint8_t flags, uint8_t flags_start,
    uint8_t flags_end, uint8_t *out)
{
	const uint8_t *pad[LANES];
	uint8_t tmp[LANES * BLAKE3_OUT_LEN];
	size_t i;

	while (num_inputs >= LANES) {
		hash8(inputs, blocks, key, counter, increment_counter, flags,
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
	hash8(pad, blocks, key, counter, increment_counter, flags,
	    flags_start, flags_end, tmp);
	memcpy(out, tmp, num_inputs * BLAKE3_OUT_LEN);
}

#endif
