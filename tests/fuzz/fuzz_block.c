/*
 * fuzz_block.c — the block decoder (block_decode, the record iterator, file
 * records with tags and TagData references, profile records, the strict
 * validator).  Invariants checked (abort on violation):
 *  - a decoded block iterates exactly record_count records inside the input;
 *  - block_check_records succeeds iff every file and profile record decodes;
 *  - a decoded file record without trailing bytes re-encodes to its bytes;
 *  - a block without trailing bytes re-encodes from its records to the same
 *    bytes after the signature (the encoder zeroes block 0's previous hash,
 *    so that field is compared only when the invariant holds).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"

static void
check_file(const struct block *b, uint32_t index, const struct block_record *rec,
    int *all_ok)
{
	struct record_file f;
	struct record_file_tag_iter it;
	struct record_file_tag t, g;
	uint8_t *out;
	size_t n, ntags = 0;

	if (record_file_decode(b, index, &f) != BLOCK_OK) {
		*all_ok = 0;
		return;
	}
	record_file_tag_iter_init(&it, &f);
	while (record_file_tag_next(&it, &t) == 1) {
		if (t.len > 0 && t.data == NULL)
			abort();
		if (!t.is_virtual) {
			/* The reference tag's data lies inside the block. */
			if (t.len > 0 && (t.data < b->raw || t.data + t.len > b->raw + b->len))
				abort();
		}
		ntags++;
	}
	if (ntags != (size_t)f.tag_count + 1)
		abort();
	if (record_file_tag_get(&f, RECORD_TAG_DATE_SHARED, &g) != BLOCK_OK)
		abort();
	if ((out = malloc(rec->len)) == NULL)
		return;
	if (record_file_encode_raw(&f, out, rec->len, &n) != BLOCK_OK ||
	    n + f.trailing != rec->len)
		abort();
	if (f.trailing == 0 && memcmp(out, rec->data, n) != 0)
		abort();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct block b;
	struct block_iter it;
	struct block_record *recs, r;
	struct record_profile p;
	struct block_expect e;
	uint8_t *out, pub[PEERNET_PUBKEY_BYTES];
	size_t outlen;
	uint32_t n = 0;
	int all_ok = 1, rc;

	if (block_decode(data, size, &b) != BLOCK_OK)
		return 0;
	if (b.records_end > size)
		abort();
	recs = calloc(b.record_count + 1, sizeof(*recs));
	if (recs == NULL)
		return 0;
	block_iter_init(&it, &b);
	while (block_iter_next(&it, &r) == 1) {
		if (r.data < data || r.data + r.len > data + size)
			abort();
		recs[n] = r;
		if (r.type == BLOCK_REC_FILE)
			check_file(&b, n, &r, &all_ok);
		else if (r.type == BLOCK_REC_PROFILE &&
		    record_profile_decode(&r, &p) != BLOCK_OK)
			all_ok = 0;
		n++;
	}
	if (n != b.record_count)
		abort();
	rc = block_check_records(&b, 0);
	if ((rc == BLOCK_OK) != all_ok)
		abort();

	if (b.records_end == size && (out = malloc(size)) != NULL) {
		if (block_encode(b.prev_hash, b.version, b.number, recs, n, out, size,
		    &outlen) != BLOCK_OK || outlen != size)
			abort();
		if (memcmp(out + BLOCK_OFF_VERSION, data + BLOCK_OFF_VERSION,
		    size - BLOCK_OFF_VERSION) != 0)
			abort();
		if (b.number != 0 && memcmp(out + BLOCK_OFF_PREV_HASH,
		    data + BLOCK_OFF_PREV_HASH, BLOCK_HASH_BYTES) != 0)
			abort();
		free(out);
	}
	free(recs);

	/* Signature recovery, and the strict validator agrees with it. */
	rc = block_verify(data, size, NULL, pub);
	memset(&e, 0, sizeof(e));
	e.checks = BLOCK_CHECK_RECORDS | BLOCK_CHECK_TRAILING | BLOCK_CHECK_OWNER;
	e.owner = pub;
	if (rc == BLOCK_OK && all_ok && b.records_end == size &&
	    block_check_records(&b, 1) == BLOCK_OK &&
	    block_validate(data, size, &e, NULL, NULL) != BLOCK_OK)
		abort();
	return 0;
}
