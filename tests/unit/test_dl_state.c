/*
 * test_dl_state.c — the partial-download state file codec (storaged/dl_state.h):
 * the layout byte by byte, the round trip, and one distinct refusal per way
 * a file on disk can be wrong.
 */
#include <stdlib.h>
#include <string.h>

#include "blake3.h"
#include "buf.h"
#include "dl_state.h"
#include "merkle.h"
#include "t.h"

#define KIB	1024ULL
#define MIB	(1024 * KIB)

static uint8_t h1[32], leaves[4 * 32];

static void
setup(void)
{
	size_t i;

	memset(h1, 0x5a, sizeof(h1));
	for (i = 0; i < sizeof(leaves); i++)
		leaves[i] = (uint8_t)(i * 7 + 1);
}

/* Re-seals a state file after a test changed it (the checksum is valid). */
static void
reseal(uint8_t *b, size_t len)
{
	blake3_hasher bh;

	blake3_hasher_init(&bh);
	blake3_hasher_update(&bh, b, len - DL_STATE_SUM);
	blake3_hasher_finalize(&bh, b + len - DL_STATE_SUM, DL_STATE_SUM);
}

static void
test_layout_is_the_documented_one(void)
{
	uint8_t b[DL_STATE_MIN + 2 * 32], sum[32];
	uint64_t size = 700000, frag = merkle_fragment_size(size);
	blake3_hasher bh;

	setup();
	T_EQ_U64(frag, 256 * KIB);
	T_EQ_U64(dl_state_len(frag, 2 * frag), sizeof(b));
	T_EQ_INT(dl_state_encode(b, sizeof(b), h1, size, frag, 2 * frag, leaves),
	    (long)sizeof(b));
	T_EQ_MEM(b, "PNDLPART", 8);
	T_EQ_MEM(b + 8, h1, 32);
	T_EQ_U64(buf_le64(b + 40), size);
	T_EQ_U64(buf_le64(b + 48), frag);
	T_EQ_U64(buf_le64(b + 56), 2 * frag);
	T_EQ_MEM(b + 64, leaves, 64);
	blake3_hasher_init(&bh);
	blake3_hasher_update(&bh, b, 128);
	blake3_hasher_finalize(&bh, sum, 32);
	T_EQ_MEM(b + 128, sum, 32);
}

static void
test_round_trip(void)
{
	static const uint64_t sizes[] = { 1, 256 * KIB, 256 * KIB + 1, 700000,
	    300 * MIB, 1ULL << 40 };
	uint8_t b[DL_STATE_MIN + 4 * 32];
	struct dl_state_view v;
	uint64_t frag, ver;
	size_t i;
	long n;

	setup();
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		frag = merkle_fragment_size(sizes[i]);
		/* the largest verified prefix below the size, at most 4 leaves */
		ver = (sizes[i] - 1) / frag * frag;
		if (ver > 4 * frag)
			ver = 4 * frag;
		n = dl_state_encode(b, sizeof(b), h1, sizes[i], frag, ver, leaves);
		T_ASSERT(n > 0);
		T_EQ_INT(dl_state_parse(b, (size_t)n, h1, &v), DL_STATE_OK);
		T_EQ_U64(v.size, sizes[i]);
		T_EQ_U64(v.frag, frag);
		T_EQ_U64(v.verified, ver);
		T_EQ_U64(v.nleaves, ver / frag);
		T_EQ_MEM(v.hash, h1, 32);
		T_ASSERT(v.leaves == b + DL_STATE_HDR);
		T_EQ_MEM(v.leaves, leaves, v.nleaves * 32);
		/* any hash accepted when none is asked for */
		T_EQ_INT(dl_state_parse(b, (size_t)n, NULL, &v), DL_STATE_OK);
	}
}

static void
test_each_damage_has_its_error(void)
{
	uint8_t b[DL_STATE_MIN + 4 * 32], other[32];
	uint64_t size = 700000, frag = merkle_fragment_size(size);
	struct dl_state_view v;
	size_t len = DL_STATE_MIN + 2 * 32;

	setup();
	T_EQ_INT(dl_state_encode(b, sizeof(b), h1, size, frag, 2 * frag, leaves),
	    (long)len);
	T_EQ_INT(dl_state_parse(b, DL_STATE_MIN - 1, h1, &v), DL_STATE_ERR_SHORT);
	T_EQ_INT(dl_state_parse(b, DL_STATE_MAX + 1, h1, &v), DL_STATE_ERR_LONG);
	/* a torn file: cut short, the checksum no longer matches */
	T_EQ_INT(dl_state_parse(b, len - 1, h1, &v), DL_STATE_ERR_SUM);
	memset(other, 0xa5, sizeof(other));
	T_EQ_INT(dl_state_parse(b, len, other, &v), DL_STATE_ERR_HASH);
	b[70] ^= 1;
	T_EQ_INT(dl_state_parse(b, len, h1, &v), DL_STATE_ERR_SUM);
	b[70] ^= 1;
	b[0] = 'X';
	T_EQ_INT(dl_state_parse(b, len, h1, &v), DL_STATE_ERR_MAGIC);
	b[0] = 'P';
	T_EQ_INT(dl_state_parse(b, len, h1, &v), DL_STATE_OK);

	/* sealed, but the numbers are wrong */
	buf_put_le64(b + 40, 0);
	reseal(b, len);
	T_EQ_INT(dl_state_parse(b, len, h1, &v), DL_STATE_ERR_SIZE);
	buf_put_le64(b + 40, DL_MAX_SIZE + 1);
	reseal(b, len);
	T_EQ_INT(dl_state_parse(b, len, h1, &v), DL_STATE_ERR_SIZE);
	buf_put_le64(b + 40, size);
	buf_put_le64(b + 48, 512 * KIB);
	reseal(b, len);
	T_EQ_INT(dl_state_parse(b, len, h1, &v), DL_STATE_ERR_FRAG);
	buf_put_le64(b + 48, frag);
	buf_put_le64(b + 56, 2 * frag + 1);
	reseal(b, len);
	T_EQ_INT(dl_state_parse(b, len, h1, &v), DL_STATE_ERR_VERIFIED);
	/* verified == size: nothing left to resume, never a state */
	buf_put_le64(b + 40, 2 * frag);
	buf_put_le64(b + 56, 2 * frag);
	reseal(b, len);
	T_EQ_INT(dl_state_parse(b, len, h1, &v), DL_STATE_ERR_VERIFIED);
	/* one leaf claimed, two present */
	buf_put_le64(b + 40, size);
	buf_put_le64(b + 56, frag);
	reseal(b, len);
	T_EQ_INT(dl_state_parse(b, len, h1, &v), DL_STATE_ERR_LEAVES);
	/* three claimed (of a larger file), two present */
	buf_put_le64(b + 40, 2000000);
	buf_put_le64(b + 56, 3 * frag);
	reseal(b, len);
	T_EQ_INT(dl_state_parse(b, len, h1, &v), DL_STATE_ERR_LEAVES);
	T_ASSERT(strcmp(dl_state_strerror(DL_STATE_ERR_LEAVES), "unknown state file error") != 0);
}

/* The start of an empty file's download is recorded, and never resumed. */
static void
test_encoder_takes_what_storaged_records(void)
{
	uint8_t b[DL_STATE_MIN];
	struct dl_state_view v;

	setup();
	T_EQ_INT(dl_state_encode(b, sizeof(b), h1, 0, MERKLE_MIN_FRAGMENT_SIZE, 0,
	    NULL), DL_STATE_MIN);
	T_EQ_INT(dl_state_parse(b, sizeof(b), h1, &v), DL_STATE_ERR_SIZE);
	/* what cannot be written at all */
	T_EQ_U64(dl_state_len(0, 0), 0);
	T_EQ_U64(dl_state_len(64 * MIB, (DL_STATE_LEAVES_MAX + 1) * 64 * MIB), 0);
	T_EQ_INT(dl_state_encode(b, sizeof(b), h1, 700000, 256 * KIB, 0, NULL),
	    DL_STATE_MIN);
	T_EQ_INT(dl_state_encode(b, sizeof(b) - 1, h1, 700000, 256 * KIB, 0, NULL),
	    DL_STATE_ERR_ARG);
	T_EQ_INT(dl_state_encode(b, sizeof(b), h1, 700000, 256 * KIB, 256 * KIB,
	    NULL), DL_STATE_ERR_ARG);
}

int
main(int argc, char **argv)
{
	t_set_suite(argv[0]);
	T_RUN(test_layout_is_the_documented_one);
	T_RUN(test_round_trip);
	T_RUN(test_each_damage_has_its_error);
	T_RUN(test_encoder_takes_what_storaged_records);
	return t_done();
}
