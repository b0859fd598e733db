/*
 * blake3_simd.h — the part of BLAKE3's hash_many that is the same at every
 * vector width (blake3_sse41.c, blake3_avx2.c, blake3_avx512.c): the round,
 * the compression of LANES inputs in parallel (one 32-bit lane per input,
 * each register one state word of all the inputs) and the loop over groups
 * of LANES.  Included once by each of those files, which first define:
 *
 *	LANES			inputs per pass
 *	VEC			the vector type
 *	add, xor		lane-wise 32-bit add and xor
 *	rot16, rot12, rot8, rot7	lane-wise right rotations, or else
 *	  or, srli, slli, shuffle8 (a byte shuffle), ROT16_BYTES, ROT8_BYTES
 *	  for the rotations built here
 *	set1(x)			every lane x
 *	loadu(p)		LANES 32-bit words from p
 *	transpose(x)		LANES rows of LANES words become columns
 *	store_cv(h, out)	h[0..7] (h has 16 entries) -> LANES chaining values
 *	HASH_MANY		the name of the public function
 *	NARROW, NARROW_MAX	the code for NARROW_MAX or fewer leftover inputs
 *
 * Everything is inline: each file compiles it with its own -m flags.
 */

#ifndef rot16
/* No lane rotation instruction: two shifts, or a byte shuffle for whole bytes. */
static inline __attribute__((always_inline)) VEC
rot16(VEC x)
{
	return shuffle8(x, ROT16_BYTES);
}

static inline __attribute__((always_inline)) VEC
rot12(VEC x)
{
	return or(srli(x, 12), slli(x, 20));
}

static inline __attribute__((always_inline)) VEC
rot8(VEC x)
{
	return shuffle8(x, ROT8_BYTES);
}

static inline __attribute__((always_inline)) VEC
rot7(VEC x)
{
	return or(srli(x, 7), slli(x, 25));
}
#endif

/*
 * One round: the four column G functions, then the four diagonal ones, each
 * group written step by step across its four G's so the steps can overlap.
 */
static inline __attribute__((always_inline)) void
simd_round(VEC v[16], const VEC m[16], int r)
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

/*
 * m[w] = word w of the block at `off` in each of the LANES inputs: the
 * block's vectors are loaded as rows, LANES at a time, and transposed.
 */
static inline __attribute__((always_inline)) void
load_msg(VEC m[16], const uint8_t *const *in, size_t off)
{
	size_t q;
	int i;

	/* GCC -O2 leaves these small loops rolled otherwise. */
#pragma GCC unroll 16
	for (q = 0; q < 16 / LANES; q++) {
#pragma GCC unroll 16
		for (i = 0; i < LANES; i++)
			m[LANES * q + i] = loadu(in[i] + off + sizeof(VEC) * q);
		transpose(m + LANES * q);
	}
}

/* LANES inputs of `blocks` blocks each -> LANES chaining values at out. */
static void
simd_hash(const uint8_t *const *in, size_t blocks, const uint32_t key[8],
    uint64_t counter, int increment_counter, uint8_t flags,
    uint8_t flags_start, uint8_t flags_end, uint8_t *out)
{
	VEC h[16], v[16], m[16], ctr_lo, ctr_hi;
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
	ctr_lo = loadu(lo);
	ctr_hi = loadu(hi);
	/* Written out: GCC -O2 leaves small loops over vectors rolled. */
	h[0] = set1(key[0]); h[1] = set1(key[1]);
	h[2] = set1(key[2]); h[3] = set1(key[3]);
	h[4] = set1(key[4]); h[5] = set1(key[5]);
	h[6] = set1(key[6]); h[7] = set1(key[7]);
	f = flags | flags_start;
	for (b = 0; b < blocks; b++) {
		if (b + 1 == blocks)
			f |= flags_end;
		load_msg(m, in, b * BLAKE3_BLOCK_LEN);
		v[0] = h[0]; v[1] = h[1]; v[2] = h[2]; v[3] = h[3];
		v[4] = h[4]; v[5] = h[5]; v[6] = h[6]; v[7] = h[7];
		v[8] = set1(blake3_iv[0]);
		v[9] = set1(blake3_iv[1]);
		v[10] = set1(blake3_iv[2]);
		v[11] = set1(blake3_iv[3]);
		v[12] = ctr_lo;
		v[13] = ctr_hi;
		v[14] = set1(BLAKE3_BLOCK_LEN);
		v[15] = set1(f);
		simd_round(v, m, 0);
		simd_round(v, m, 1);
		simd_round(v, m, 2);
		simd_round(v, m, 3);
		simd_round(v, m, 4);
		simd_round(v, m, 5);
		simd_round(v, m, 6);
		h[0] = xor(v[0], v[8]); h[1] = xor(v[1], v[9]);
		h[2] = xor(v[2], v[10]); h[3] = xor(v[3], v[11]);
		h[4] = xor(v[4], v[12]); h[5] = xor(v[5], v[13]);
		h[6] = xor(v[6], v[14]); h[7] = xor(v[7], v[15]);
		f = flags;
	}
	store_cv(h, out);
}

void
HASH_MANY(const uint8_t *const *inputs, size_t num_inputs,
    size_t blocks, const uint32_t key[8], uint64_t counter,
    int increment_counter, uint8_t flags, uint8_t flags_start,
    uint8_t flags_end, uint8_t *out)
{
	const uint8_t *pad[LANES];
	uint8_t tmp[LANES * BLAKE3_OUT_LEN];
	size_t i;

	while (num_inputs >= LANES) {
		simd_hash(inputs, blocks, key, counter, increment_counter, flags,
		    flags_start, flags_end, out);
		inputs += LANES;
		num_inputs -= LANES;
		if (increment_counter)
			counter += LANES;
		out += LANES * BLAKE3_OUT_LEN;
	}
	if (num_inputs <= NARROW_MAX) {
		NARROW(inputs, num_inputs, blocks, key, counter,
		    increment_counter, flags, flags_start, flags_end, out);
		return;
	}
	/*
	 * More left: one pass with the spare lanes repeating the last input
	 * costs less than hashing them with the narrower code.
	 */
	for (i = 0; i < LANES; i++)
		pad[i] = inputs[i < num_inputs ? i : num_inputs - 1];
	simd_hash(pad, blocks, key, counter, increment_counter, flags,
	    flags_start, flags_end, tmp);
	memcpy(out, tmp, num_inputs * BLAKE3_OUT_LEN);
}
