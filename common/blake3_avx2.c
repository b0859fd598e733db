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

#define VEC		__m256i
#define add(a, b)	_mm256_add_epi32((a), (b))
#define xor(a, b)	_mm256_xor_si256((a), (b))
#define or(a, b)	_mm256_or_si256((a), (b))
#define srli(x, c)	_mm256_srli_epi32((x), (c))
#define slli(x, c)	_mm256_slli_epi32((x), (c))
#define set1(x)		_mm256_set1_epi32((int)(x))
#define loadu(p)	_mm256_loadu_si256((const __m256i *)(const void *)(p))
#define shuffle8(x, k)	_mm256_shuffle_epi8((x), (k))
/* Rotations by whole bytes are one byte shuffle. */
#define ROT16_BYTES	_mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5,	\
	    10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7, 4, 5,		\
	    10, 11, 8, 9, 14, 15, 12, 13)
#define ROT8_BYTES	_mm256_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4,	\
	    9, 10, 11, 8, 13, 14, 15, 12, 1, 2, 3, 0, 5, 6, 7, 4,		\
	    9, 10, 11, 8, 13, 14, 15, 12)

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

/* Columns back to rows: input i's chaining value is h[i]. */
static inline __attribute__((always_inline)) void
store_cv(__m256i h[16], uint8_t *out)
{
	int i;

	transpose8(h);
	for (i = 0; i < LANES; i++)
		_mm256_storeu_si256((__m256i *)(out + 32 * i), h[i]);
}

#define transpose	transpose8
#define HASH_MANY	blake3_hash_many_avx2
#define NARROW		blake3_hash_many_portable
#define NARROW_MAX	1
#include "blake3_simd.h"

#endif
