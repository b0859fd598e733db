/*
 * block.c — block encoding, decoding, signing and validation (docs/data.md §2.2,
 * §2.3, §2.12).  Record payloads are in block_record.c.
 */
#include <string.h>

#include "blake3.h"
#include "block.h"
#include "buf.h"
#include "ident.h"

const char *
block_strerror(int err)
{
	switch (err) {
	case BLOCK_OK:			return "ok";
	case BLOCK_ERR_ARG:		return "invalid argument";
	case BLOCK_ERR_SHORT:		return "block shorter than its 119-byte header";
	case BLOCK_ERR_SIZE_FIELD:	return "block size field differs from its length";
	case BLOCK_ERR_RECORD_HEADER:	return "record header exceeds the block";
	case BLOCK_ERR_RECORD_DATA:	return "record data exceeds the block";
	case BLOCK_ERR_TRAILING:	return "bytes after the last record";
	case BLOCK_ERR_SIGNATURE:	return "block signature recovers no key";
	case BLOCK_ERR_OWNER:		return "block not signed by the chain's owner";
	case BLOCK_ERR_NUMBER:		return "unexpected block number";
	case BLOCK_ERR_VERSION:		return "unexpected blockchain version";
	case BLOCK_ERR_PREV_HASH:	return "previous block hash does not link";
	case BLOCK_ERR_TOO_LARGE:	return "block exceeds the size limit";
	case BLOCK_ERR_TOO_MANY_RECORDS: return "more than 65535 records";
	case BLOCK_ERR_RECORD_TOO_LARGE: return "record or block of 4 GiB or more";
	case BLOCK_ERR_NOSPACE:		return "output buffer too small";
	case BLOCK_ERR_INDEX:		return "record index out of range";
	case BLOCK_ERR_NOT_FILE:	return "record is not a file record";
	case BLOCK_ERR_FILE_SHORT:	return "file record shorter than 101 bytes";
	case BLOCK_ERR_TAG_HEADER:	return "file tag header exceeds the record";
	case BLOCK_ERR_TAG_DATA:	return "file tag data exceeds the record";
	case BLOCK_ERR_REF_WIDTH:	return "tag reference not 2, 4 or 8 bytes";
	case BLOCK_ERR_REF_RANGE:	return "tag reference outside the block";
	case BLOCK_ERR_REF_TYPE:	return "tag reference target is not tag data";
	case BLOCK_ERR_NOT_PROFILE:	return "record is not a profile record";
	case BLOCK_ERR_PROFILE_SHORT:	return "profile record shorter than 2 bytes";
	case BLOCK_ERR_TAG_TYPE:	return "tag type uses bit 15";
	case BLOCK_ERR_TOO_MANY_TAGS:	return "more than 65535 tags";
	case BLOCK_ERR_SIGN:		return "signing failed";
	case BLOCK_ERR_NOT_FOUND:	return "tag not present";
	case BLOCK_ERR_TAG_FORMAT:	return "tag value is not 8 bytes";
	case BLOCK_ERR_FILE_TRAILING:	return "bytes after the last file tag";
	}
	return "unknown block error";
}

int
block_decode(const uint8_t *raw, size_t len, struct block *b)
{
	struct buf_r r;
	uint32_t i, dlen;

	if (raw == NULL || b == NULL)
		return BLOCK_ERR_ARG;
	if (len < BLOCK_HEADER_SIZE)
		return BLOCK_ERR_SHORT;
	memset(b, 0, sizeof(*b));
	b->raw = raw;
	b->len = len;
	b->signature = raw + BLOCK_OFF_SIGNATURE;
	b->prev_hash = raw + BLOCK_OFF_PREV_HASH;
	b->version = buf_le64(raw + BLOCK_OFF_VERSION);
	b->number = buf_le64(raw + BLOCK_OFF_NUMBER);
	b->size = buf_le32(raw + BLOCK_OFF_SIZE);
	b->record_count = buf_le16(raw + BLOCK_OFF_COUNT);
	if ((uint64_t)b->size != (uint64_t)len)
		return BLOCK_ERR_SIZE_FIELD;

	buf_r_init(&r, raw, len);
	(void)buf_r_take(&r, BLOCK_HEADER_SIZE);
	for (i = 0; i < b->record_count; i++) {
		if (buf_r_left(&r) < BLOCK_RECORD_HEADER_SIZE)
			return BLOCK_ERR_RECORD_HEADER;
		(void)buf_r_take(&r, 9);
		dlen = buf_r_le32(&r);
		if (buf_r_take(&r, dlen) == NULL)
			return BLOCK_ERR_RECORD_DATA;
	}
	b->records_end = r.off;
	return BLOCK_OK;
}

void
block_iter_init(struct block_iter *it, const struct block *b)
{
	it->b = b;
	it->off = BLOCK_HEADER_SIZE;
	it->index = 0;
}

int
block_iter_next(struct block_iter *it, struct block_record *rec)
{
	struct buf_r r;

	if (it->index >= it->b->record_count)
		return 0;
	buf_r_init(&r, it->b->raw, it->b->len);
	r.off = it->off;
	rec->type = buf_r_u8(&r);
	rec->date = (int64_t)buf_r_le64(&r);
	rec->len = buf_r_le32(&r);
	rec->data = buf_r_take(&r, rec->len);
	if (r.err)		/* only if the block was not decoded */
		return 0;
	it->off = r.off;
	it->index++;
	return 1;
}

int
block_record_at(const struct block *b, uint32_t index, struct block_record *r)
{
	struct block_iter it;

	if (b == NULL || r == NULL)
		return BLOCK_ERR_ARG;
	if (index >= b->record_count)
		return BLOCK_ERR_INDEX;
	block_iter_init(&it, b);
	do {
		if (block_iter_next(&it, r) != 1)
			return BLOCK_ERR_INDEX;
	} while (it.index <= index);
	return BLOCK_OK;
}

int
block_encoded_size(const struct block_record *recs, size_t n, size_t *size)
{
	uint64_t total = BLOCK_HEADER_SIZE;
	size_t i;

	if ((recs == NULL && n > 0) || size == NULL)
		return BLOCK_ERR_ARG;
	if (n > BLOCK_MAX_RECORDS)
		return BLOCK_ERR_TOO_MANY_RECORDS;
	for (i = 0; i < n; i++) {
		total += BLOCK_RECORD_HEADER_SIZE + (uint64_t)recs[i].len;
		/* The size field is 32 bits. */
		if (total > BLOCK_MAX_SIZE)
			return BLOCK_ERR_RECORD_TOO_LARGE;
	}
	*size = (size_t)total;
	return BLOCK_OK;
}

int
block_encode(const uint8_t *prev_hash, uint64_t version, uint64_t number,
    const struct block_record *recs, size_t n, uint8_t *out, size_t cap,
    size_t *outlen)
{
	struct buf_w w;
	size_t size, i;
	int rc;

	if (out == NULL || outlen == NULL)
		return BLOCK_ERR_ARG;
	if ((rc = block_encoded_size(recs, n, &size)) != BLOCK_OK)
		return rc;
	*outlen = size;
	if (size > cap)
		return BLOCK_ERR_NOSPACE;
	for (i = 0; i < n; i++)
		if (recs[i].data == NULL && recs[i].len > 0)
			return BLOCK_ERR_ARG;

	buf_w_init(&w, out, cap);
	buf_w_zero(&w, PEERNET_SIG_BYTES);
	/* The reference forces a zero previous hash into block 0. */
	if (prev_hash == NULL || number == 0)
		buf_w_zero(&w, BLOCK_HASH_BYTES);
	else
		buf_w_bytes(&w, prev_hash, BLOCK_HASH_BYTES);
	buf_w_le64(&w, version);
	buf_w_le64(&w, number);
	buf_w_le32(&w, (uint32_t)size);
	buf_w_le16(&w, (uint16_t)n);
	for (i = 0; i < n; i++) {
		buf_w_u8(&w, recs[i].type);
		buf_w_le64(&w, (uint64_t)recs[i].date);
		buf_w_le32(&w, recs[i].len);
		buf_w_bytes(&w, recs[i].data, recs[i].len);
	}
	if (w.err || w.off != size)
		return BLOCK_ERR_NOSPACE;
	return BLOCK_OK;
}

int
block_signing_hash(const uint8_t *raw, size_t len, uint8_t hash[BLOCK_HASH_BYTES])
{
	if (raw == NULL || hash == NULL)
		return BLOCK_ERR_ARG;
	if (len < BLOCK_HEADER_SIZE)
		return BLOCK_ERR_SHORT;
	blake3_hash(raw + PEERNET_SIG_BYTES, len - PEERNET_SIG_BYTES, hash);
	return BLOCK_OK;
}

int
block_set_signature(uint8_t *raw, size_t len, const uint8_t sig[PEERNET_SIG_BYTES])
{
	if (raw == NULL || sig == NULL)
		return BLOCK_ERR_ARG;
	if (len < BLOCK_HEADER_SIZE)
		return BLOCK_ERR_SHORT;
	memcpy(raw + BLOCK_OFF_SIGNATURE, sig, PEERNET_SIG_BYTES);
	return BLOCK_OK;
}

int
block_sign(uint8_t *raw, size_t len, const struct ident *id)
{
	uint8_t hash[BLOCK_HASH_BYTES], sig[PEERNET_SIG_BYTES];
	int rc;

	if (id == NULL)
		return BLOCK_ERR_ARG;
	if ((rc = block_signing_hash(raw, len, hash)) != BLOCK_OK)
		return rc;
	if (ident_sign(id, hash, sig) != 0)
		return BLOCK_ERR_SIGN;
	return block_set_signature(raw, len, sig);
}

void
block_hash(const uint8_t *raw, size_t len, uint8_t hash[BLOCK_HASH_BYTES])
{
	blake3_hash(raw, len, hash);
}

int
block_verify(const uint8_t *raw, size_t len, struct block *b,
    uint8_t owner_pub[PEERNET_PUBKEY_BYTES])
{
	struct block tmp;
	uint8_t hash[BLOCK_HASH_BYTES];
	int rc;

	if (owner_pub == NULL)
		return BLOCK_ERR_ARG;
	if (b == NULL)
		b = &tmp;
	if ((rc = block_decode(raw, len, b)) != BLOCK_OK)
		return rc;
	(void)block_signing_hash(raw, len, hash);
	if (ident_recover(raw + BLOCK_OFF_SIGNATURE, hash, owner_pub) != 0)
		return BLOCK_ERR_SIGNATURE;
	return BLOCK_OK;
}

int
block_verify_owner(const uint8_t *raw, size_t len,
    const uint8_t expected_owner[PEERNET_PUBKEY_BYTES])
{
	struct block_expect e;

	memset(&e, 0, sizeof(e));
	e.checks = BLOCK_CHECK_OWNER;
	e.owner = expected_owner;
	return block_validate(raw, len, &e, NULL, NULL);
}

int
block_validate(const uint8_t *raw, size_t len, const struct block_expect *e,
    struct block *b, uint8_t owner_pub[PEERNET_PUBKEY_BYTES])
{
	struct block tmp;
	uint8_t hash[BLOCK_HASH_BYTES], pub[PEERNET_PUBKEY_BYTES];
	int rc;

	if (raw == NULL || e == NULL)
		return BLOCK_ERR_ARG;
	if ((e->checks & BLOCK_CHECK_OWNER) && e->owner == NULL)
		return BLOCK_ERR_ARG;
	if ((e->checks & BLOCK_CHECK_PREV) && e->prev_hash == NULL)
		return BLOCK_ERR_ARG;
	if (b == NULL)
		b = &tmp;
	if (e->max_size != 0 && len > e->max_size)
		return BLOCK_ERR_TOO_LARGE;
	if ((rc = block_decode(raw, len, b)) != BLOCK_OK)
		return rc;
	if ((e->checks & BLOCK_CHECK_TRAILING) && b->records_end != len)
		return BLOCK_ERR_TRAILING;
	if ((e->checks & BLOCK_CHECK_NUMBER) && b->number != e->number)
		return BLOCK_ERR_NUMBER;
	if ((e->checks & BLOCK_CHECK_VERSION) && b->version != e->version)
		return BLOCK_ERR_VERSION;
	if ((e->checks & BLOCK_CHECK_PREV) &&
	    memcmp(b->prev_hash, e->prev_hash, BLOCK_HASH_BYTES) != 0)
		return BLOCK_ERR_PREV_HASH;
	if ((e->checks & BLOCK_CHECK_RECORDS) &&
	    (rc = block_check_records(b, (e->checks & BLOCK_CHECK_TRAILING) != 0)) !=
	    BLOCK_OK)
		return rc;
	(void)block_signing_hash(raw, len, hash);
	if (ident_recover(raw + BLOCK_OFF_SIGNATURE, hash, pub) != 0)
		return BLOCK_ERR_SIGNATURE;
	if ((e->checks & BLOCK_CHECK_OWNER) &&
	    memcmp(pub, e->owner, PEERNET_PUBKEY_BYTES) != 0)
		return BLOCK_ERR_OWNER;
	if (owner_pub != NULL)
		memcpy(owner_pub, pub, PEERNET_PUBKEY_BYTES);
	return BLOCK_OK;
}
