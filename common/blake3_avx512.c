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

#define add(a, b)	_mm512_add_epi32((a), (b))
#define xor(a, b)	_mm512_xor_si512((a), (b))
#define rot(x, c)	_mm512_ror_epi32((x), (c))

/* The G function on the columns, then on the diagonals, 16 inputs wide. */
#define G(a, b, c, d, x, y) do {					\
	v[a] = add(add(v[a], v[b]), (x));				\
	v[d] = rot(xor(v[d], v[a]), 16);				\
	v[c] = add(v[c], v[d]);						\
	v[b] = rot(xor(v[b], v[c]), 12);				\
	v[a] = add(add(v[a], v[b]), (y));				\
	v[d] = rot(xor(v[d], v[a]), 8);					\
	v[c] = add(v[c], v[d]);						\
	v[b] = rot(xor(v[b], v[c]), 7);					\
} while (0)

static inline __attribute__((always_inline)) void
round16(__m512i v[16], const __m512i m[16], int r)
{
	const uint8_t *s = blake3_msg_schedule[r];

	G(0, 4, 8, 12, m[s[0]], m[s[1]]);
	G(1, 5, 9, 13, m[s[2]], m[s[3]]);
	G(2, 6, 10, 14, m[s[4]], m[s[5]]);
	G(3, 7, 11, 15, m[s[6]], m[s[7]]);
	G(0, 5, 10, 15, m[s[8]], m[s[9]]);
	G(1, 6, 11, 12, m[s[10]], m[s[11]]);
	G(2, 7, 8, 13, m[s[12]], m[s[13]]);
	G(3, 4, 9, 14, m[s[14]], m[s[15]]);
}

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

static void
hash16(const uint8_t *const *in, size_t blocks, const uint32_t key[8],
    uint64_t counter, int increment_counter, uint8_t flags,
    uint8_t flags_start, uint8_t flags_end, uint8_t *out)
{
	__m512i h[16], v[16], m[16], ctr_lo, ctr_hi;
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
	ctr_lo = _mm512_loadu_si512(lo);
	ctr_hi = _mm512_loadu_si512(hi);
	for (i = 0; i < 8; i++)
		h[i] = _mm512_set1_epi32((int)key[i]);
	f = flags | flags_start;
	for (b = 0; b < blocks; b++) {
		if (b + 1 == blocks)
			f |= flags_end;
		for (i = 0; i < LANES; i++)
			m[i] = _mm512_loadu_si512(in[i] + b * BLAKE3_BLOCK_LEN);
		transpose16(m);
		for (i = 0; i < 8; i++)
			v[i] = h[i];
		v[8] = _mm512_set1_epi32((int)blake3_iv[0]);
		v[9] = _mm512_set1_epi32((int)blake3_iv[1]);
		v[10] = _mm512_set1_epi32((int)blake3_iv[2]);
		v[11] = _mm512_set1_epi32((int)blake3_iv[3]);
		v[12] = ctr_lo;
		v[13] = ctr_hi;
		v[14] = _mm512_set1_epi32(BLAKE3_BLOCK_LEN);
		v[15] = _mm512_set1_epi32(f);
		round16(v, m, 0);
		round16(v, m, 1);
		round16(v, m, 2);
		round16(v, m, 3);
		round16(v, m, 4);
		round16(v, m, 5);
		round16(v, m, 6);
		for (i = 0; i < 8; i++)
			h[i] = xor(v[i], v[i + 8]);
		f = flags;
	}
	/* Columns back to rows: input i's chaining value is row i's first half. */
	for (i = 8; i < 16; i++)
		h[i] = _mm512_setzero_si512();
	transpose16(h);
	for (i = 0; i < LANES; i++)
		_mm256_storeu_si256((__m256i *)(out + 32 * i),
		    _mm512_castsi512_si256(h[i]));
}

void
blake3_hash_many_avx512(const uint8_t *const *inputs, size_t num_inputs,
    size_t blocks, const uint32_t key[8], uint64_t counter,
    int increment_counter, uint8_t flags, uint8_t flags_start,
    uint8_t flags_end, uint8_t *out)
{
	const uint8_t *pad[LANES];
	uint8_t tmp[LANES * BLAKE3_OUT_LEN];
	size_t i;

	while (num_inputs >= LANES) {
		hash16(inputs, blocks, key, counter, increment_counter, flags,
		    flags_start, flags_end, out);
		inputs += LANES;
		num_inputs -= LANES;
		if (increment_counter)
			counter += LANES;
		out += LANES * BLAKE3_OUT_LEN;
	}
	if (num_inputs <= LANES / 2) {
		blake3_hash_many_avx2(inputs, num_inputs, blocks, key, counter,
		    increment_counter, flags, flags_start, flags_end, out);
		return;
	}
	/* 9..15 left: the spare lanes repeat the last input. */
	for (i = 0; i < LANES; i++)
		pad[i] = inputs[i < num_inputs ? i : num_inputs - 1];
	hash16(pad, blocks, key, counter, increment_counter, flags,
	    flags_start, flags_end, tmp);
	memcpy(out, tmp, num_inputs * BLAKE3_OUT_LEN);
}

#endif
