/*
 * fuzz_dl_state.c — libFuzzer target for the partial-download state file
 * parser (storaged/dl_state.h): the bytes storaged reads back from its disk.
 *
 * 1. The input as a state file: whatever parses re-encodes to exactly the
 *    same bytes, and the view stays inside the input and obeys the rule.
 * 2. The input resealed (magic and checksum made right, so that the numbers
 *    behind them are what gets tested), with the same properties.
 * 3. Values made from the input: parse(encode(x)) == x when x obeys the
 *    rule written out here (size 1..DL_MAX_SIZE, the fragment size of that
 *    size, verified a multiple of it below the size), an error otherwise.
 *
 * storaged is not part of the fuzz build (common sources only): the pure
 * codec is included.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../storaged/dl_state.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t buf[DL_STATE_MAX], out[DL_STATE_MAX];

static int
rule_ok(uint64_t size, uint64_t frag, uint64_t verified)
{
	return size >= 1 && size <= DL_MAX_SIZE &&
	    frag == merkle_fragment_size(size) && frag > 0 &&
	    verified % frag == 0 && verified < size;
}

static void
check_parsed(const uint8_t *b, size_t len)
{
	struct dl_state_view v;
	uint8_t other[32];
	long n;

	if (dl_state_parse(b, len, NULL, &v) != DL_STATE_OK)
		return;
	if (!rule_ok(v.size, v.frag, v.verified) ||
	    v.nleaves != v.verified / v.frag ||
	    len != DL_STATE_MIN + v.nleaves * DL_STATE_LEAF ||
	    v.leaves != b + DL_STATE_HDR)
		abort();
	n = dl_state_encode(out, sizeof(out), v.hash, v.size, v.frag,
	    v.verified, v.leaves);
	if (n != (long)len || memcmp(out, b, len) != 0)
		abort();
	/* the state of one file is not taken for another */
	memcpy(other, v.hash, 32);
	other[31] ^= 1;
	if (dl_state_parse(b, len, other, &v) != DL_STATE_ERR_HASH ||
	    dl_state_parse(b, len, b + DL_STATE_HASH_OFF, &v) != DL_STATE_OK)
		abort();
}

static uint64_t
le64_at(const uint8_t *d, size_t size, size_t at)
{
	uint8_t b[8] = { 0 };
	size_t i;

	for (i = 0; i < 8 && at + i < size; i++)
		b[i] = d[at + i];
	return buf_le64(b);
}

static void
from_values(const uint8_t *data, size_t size)
{
	static const uint64_t sizes[] = { 0, 1, 256ULL << 10, (256ULL << 20) + 1,
	    1ULL << 30, 1ULL << 40, (1ULL << 40) + 1 };
	struct dl_state_view v;
	uint64_t fsize, frag, verified;
	uint8_t hash[32] = { 0 };
	uint8_t sel = size > 0 ? data[0] : 0;
	long n;
	int rc;

	/* the file size: a boundary, or any number */
	fsize = sel & 1 ? sizes[(sel >> 1) % 7] : le64_at(data, size, 1) >> (sel >> 2 & 31);
	frag = merkle_fragment_size(fsize);
	if (sel & 0x80)		/* sometimes another fragment size */
		frag = le64_at(data, size, 9) % (1ULL << 30);
	if (frag == 0)
		return;
	/*
	 * verified: mostly whole fragments, at most 256 of them: every run
	 * hashes the file a few times, and BLAKE3 under coverage tracing
	 * makes a file of 16384 leaves (512 KiB) a 10-runs-per-second target
	 * (the length limits are in test_dl_state)
	 */
	verified = le64_at(data, size, 17) % 257 * frag;
	if (sel & 0x40)
		verified += le64_at(data, size, 25) % frag;
	if (size > 33)
		memcpy(hash, data + 1, size - 1 < 32 ? size - 1 : 32);
	/* the leaves: the input's bytes, or zeros when it has too few */
	if (verified / frag * DL_STATE_LEAF <= size)
		n = dl_state_encode(buf, sizeof(buf), hash, fsize, frag, verified,
		    data);
	else {
		memset(out, 0, verified / frag * DL_STATE_LEAF);
		n = dl_state_encode(buf, sizeof(buf), hash, fsize, frag, verified,
		    out);
	}
	if (n < 0)
		abort();	/* dl_state_len bounds every value made here */
	rc = dl_state_parse(buf, (size_t)n, hash, &v);
	if ((rc == DL_STATE_OK) != rule_ok(fsize, frag, verified))
		abort();
	if (rc == DL_STATE_OK && (v.size != fsize || v.frag != frag ||
	    v.verified != verified || memcmp(v.hash, hash, 32) != 0))
		abort();
	check_parsed(buf, (size_t)n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	blake3_hasher bh;

	check_parsed(data, size);
	if (size >= DL_STATE_MIN && size <= DL_STATE_MAX) {
		memcpy(buf, data, size);
		if (size > DL_STATE_MIN && (data[size / 2] & 1))
			memcpy(buf, DL_MAGIC, DL_MAGIC_LEN);
		blake3_hasher_init(&bh);
		blake3_hasher_update(&bh, buf, size - DL_STATE_SUM);
		blake3_hasher_finalize(&bh, buf + size - DL_STATE_SUM, DL_STATE_SUM);
		check_parsed(buf, size);
	}
	from_values(data, size);
	return 0;
}
