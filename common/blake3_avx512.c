/*
 * blake3_avx512.c — BLAKE3 hash_many with AVX-512F: 16 inputs at once.  The
 * layout is that of blake3_avx2.c twice as wide (one 32-bit lane per input,
 * the message blocks transposed on loading); AVX-512 also rotates a lane in
 * one instruction (vprord), where AVX2 needs a shuffle or two shifts and an
 * or.  Compiled with -mavx512f and used only when the CPU says it has
 * AVX-512F and AVX2 (see blake3.c): fewer than 16 inputs go to the AVX2 code.
 */
#include "blake3_impl.h"

#if !defined(BLAKE3_NO_SIMD) && defined(__AVX512F__)
#include <immintrin.h>

#define LANES	16

#define VEC		__m512i
#define add(a, b)	_mm512_add_epi32((a), (b))
#define xor(a, b)	_mm512_xor_si512((a), (b))
#define rot16(x)	_mm512_ror_epi32((x), 16)
#define rot12(x)	_mm512_ror_epi32((x), 12)
#define rot8(x)		_mm512_ror_epi32((x), 8)
#define rot7(x)		_mm512_ror_epi32((x), 7)
#define set1(x)		_mm512_set1_epi32((int)(x))
#define loadu(p)	_mm512_loadu_si512(p)

/*
 * Rows become columns: x[w] = word w of each of the 16 rows.  A 4x4
 * transpose of words inside each 128-bit block of each group of 4 rows,
 * then a 4x4 transpose of the 128-bit blocks across the groups.
 */
static inline __attribute__((always_inline)) void
transpose16(__m512i x[16])
{
	__m512i t[16], lo, hi, clo, chi, u0, u1, u2, u3;
	int g, j;

	for (g = 0; g < 4; g++) {
		lo = _mm512_unpacklo_epi32(x[4 * g], x[4 * g + 1]);
		hi = _mm512_unpackhi_epi32(x[4 * g], x[4 * g + 1]);
		clo = _mm512_unpacklo_epi32(x[4 * g + 2], x[4 * g + 3]);
		chi = _mm512_unpackhi_epi32(x[4 * g + 2], x[4 * g + 3]);
		/* t[4g + j]: block L holds word 4L + j of rows 4g..4g+3. */
		t[4 * g] = _mm512_unpacklo_epi64(lo, clo);
		t[4 * g + 1] = _mm512_unpackhi_epi64(lo, clo);
		t[4 * g + 2] = _mm512_unpacklo_epi64(hi, chi);
		t[4 * g + 3] = _mm512_unpackhi_epi64(hi, chi);
	}
	for (j = 0; j < 4; j++) {
		u0 = _mm512_shuffle_i32x4(t[j], t[4 + j], 0x44);
		u1 = _mm512_shuffle_i32x4(t[j], t[4 + j], 0xee);
		u2 = _mm512_shuffle_i32x4(t[8 + j], t[12 + j], 0x44);
		u3 = _mm512_shuffle_i32x4(t[8 + j], t[12 + j], 0xee);
		x[j] = _mm512_shuffle_i32x4(u0, u2, 0x88);
		x[4 + j] = _mm512_shuffle_i32x4(u0, u2, 0xdd);
		x[8 + j] = _mm512_shuffle_i32x4(u1, u3, 0x88);
		x[12 + j] = _mm512_shuffle_i32x4(u1, u3, 0xdd);
	}
}

/* Columns back to rows: input i's chaining value is row i's first half. */
static inline __attribute__((always_inline)) void
store_cv(__m512i h[16], uint8_t *out)
{
	int i;

	for (i = 8; i < 16; i++)
		h[i] = _mm512_setzero_si512();
	transpose16(h);
	for (i = 0; i < LANES; i++)
		_mm256_storeu_si256((__m256i *)(out + 32 * i),
		    _mm512_castsi512_si256(h[i]));
}

/* 8 or fewer left go to the AVX2 code; 9..15 repeat the last input. */
#define transpose	transpose16
#define HASH_MANY	blake3_hash_many_avx512
#define NARROW		blake3_hash_many_avx2
#define NARROW_MAX	(LANES / 2)
#include "blake3_simd.h"

#endif
