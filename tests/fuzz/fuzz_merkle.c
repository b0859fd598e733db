/*
 * fuzz_merkle.c — the merkle proof verifier and the companion-file decoder.
 * Input byte 0 picks the mode:
 *  even: count(8) | index(8) | root(32) | leaf(32) | proof — merkle_verify
 *        and merkle_verify_at; a position-bound success implies a plain one.
 *  odd:  the rest is a companion/export; if it imports and its hashes are
 *        consistent, every fragment's proof must verify at its position
 *        and fail at the next one (a proof's shape identifies its index).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "merkle.h"

static void
fuzz_proof(const uint8_t *d, size_t n)
{
	uint64_t count, index;
	int a, b;

	if (n < 80)
		return;
	count = buf_le64(d);
	index = buf_le64(d + 8);
	a = merkle_verify(d + 16, d + 48, d + 80, n - 80);
	b = merkle_verify_at(d + 16, count, index, d + 48, d + 80, n - 80);
	if (b == MERKLE_OK && a != MERKLE_OK)
		abort();
	if (a == MERKLE_OK && (n - 80) % MERKLE_PROOF_ENTRY_BYTES != 0)
		abort();
	(void)merkle_verify_fragment(d + 16, count, index, d + 48, n - 48, d + 80,
	    n - 80);
}

static void
fuzz_import(const uint8_t *d, size_t n)
{
	struct merkle_tree t;
	uint8_t proof[MERKLE_MAX_LEVELS * MERKLE_PROOF_ENTRY_BYTES], leaf[32];
	uint64_t i, lim;
	size_t plen, need;

	if (merkle_import(d, n, &t) != MERKLE_OK)
		return;
	if (merkle_export_size(t.file_size, t.fragment_size, &need) != MERKLE_OK ||
	    need != n)
		abort();
	if (merkle_tree_check(&t) != MERKLE_OK)
		return;
	lim = t.fragment_count < 64 ? t.fragment_count : 64;
	for (i = 0; i < lim; i++) {
		if (merkle_tree_fragment_hash(&t, i, leaf) != MERKLE_OK)
			abort();
		if (merkle_tree_proof(&t, i, proof, sizeof(proof), &plen) != MERKLE_OK)
			abort();
		if (merkle_verify_at(t.root, t.fragment_count, i, leaf, proof, plen) !=
		    MERKLE_OK)
			abort();
		/* The directions bind the proof to its position. */
		if (t.fragment_count > 1 && merkle_verify_at(t.root, t.fragment_count,
		    (i + 1) % t.fragment_count, leaf, proof, plen) == MERKLE_OK)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_import(data + 1, size - 1);
	else
		fuzz_proof(data + 1, size - 1);
	return 0;
}
