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

#define VEC		__m128i
#define add(a, b)	_mm_add_epi32((a), (b))
#define xor(a, b)	_mm_xor_si128((a), (b))
#define or(a, b)	_mm_or_si128((a), (b))
#define srli(x, c)	_mm_srli_epi32((x), (c))
#define slli(x, c)	_mm_slli_epi32((x), (c))
#define set1(x)		_mm_set1_epi32((int)(x))
#define loadu(p)	_mm_loadu_si128((const __m128i *)(const void *)(p))
#define shuffle8(x, k)	_mm_shuffle_epi8((x), (k))
/* Rotations by whole bytes are one byte shuffle. */
#define ROT16_BYTES	_mm_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13)
#define ROT8_BYTES	_mm_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12)

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

/* Columns back to rows: input i's chaining value is words 0..7. */
static inline __attribute__((always_inline)) void
store_cv(__m128i h[16], uint8_t *out)
{
	int i;

	transpose4(h);
	transpose4(h + 4);
	for (i = 0; i < LANES; i++) {
		_mm_storeu_si128((__m128i *)(out + 32 * i), h[i]);
		_mm_storeu_si128((__m128i *)(out + 32 * i + 16), h[4 + i]);
	}
}

#define transpose	transpose4
#define HASH_MANY	blake3_hash_many_sse41
#define NARROW		blake3_hash_many_portable
#define NARROW_MAX	1
#include "blake3_simd.h"

#endif
