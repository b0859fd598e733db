/*
 * dl_state.c — the partial-download state file codec (dl_state.h).  Pure:
 * no I/O, no allocation; serve_dl.c reads and writes the file.
 */
#include <string.h>

#include "blake3.h"
#include "buf.h"
#include "dl_state.h"
#include "merkle.h"

_Static_assert(DL_STATE_HDR == DL_STATE_VERIFIED_OFF + 8, "header layout");
_Static_assert(DL_MAX_SIZE / (64ULL << 20) <= DL_STATE_LEAVES_MAX,
    "DL_STATE_MAX holds every leaf of the largest download");

const char *
dl_state_strerror(int err)
{
	switch (err) {
	case DL_STATE_OK:		return "ok";
	case DL_STATE_ERR_SHORT:	return "state file too short";
	case DL_STATE_ERR_LONG:		return "state file too long";
	case DL_STATE_ERR_MAGIC:	return "not a download state file";
	case DL_STATE_ERR_SUM:		return "state file checksum mismatch";
	case DL_STATE_ERR_HASH:		return "state file of another file";
	case DL_STATE_ERR_SIZE:		return "file size out of range";
	case DL_STATE_ERR_FRAG:		return "wrong fragment size";
	case DL_STATE_ERR_VERIFIED:	return "verified length not aligned or too large";
	case DL_STATE_ERR_LEAVES:	return "leaves do not match the verified length";
	case DL_STATE_ERR_ARG:		return "invalid state or buffer too small";
	}
	return "unknown state file error";
}

/* The rule for the numbers, shared by the parser and the encoder. */
static int
dl_state_check(uint64_t size, uint64_t frag, uint64_t verified)
{
	if (size == 0 || size > DL_MAX_SIZE)
		return DL_STATE_ERR_SIZE;
	if (frag != merkle_fragment_size(size))
		return DL_STATE_ERR_FRAG;
	if (verified % frag != 0 || verified >= size)
		return DL_STATE_ERR_VERIFIED;
	return DL_STATE_OK;
}

size_t
dl_state_len(uint64_t frag, uint64_t verified)
{
	if (frag == 0 || verified / frag > DL_STATE_LEAVES_MAX)
		return 0;
	return DL_STATE_MIN + (size_t)(verified / frag) * DL_STATE_LEAF;
}

int
dl_state_parse(const uint8_t *b, size_t len, const uint8_t *hash,
    struct dl_state_view *v)
{
	uint8_t sum[DL_STATE_SUM];
	blake3_hasher bh;
	int rc;

	memset(v, 0, sizeof(*v));
	if (len < DL_STATE_MIN)
		return DL_STATE_ERR_SHORT;
	if (len > DL_STATE_MAX)
		return DL_STATE_ERR_LONG;
	if (memcmp(b, DL_MAGIC, DL_MAGIC_LEN) != 0)
		return DL_STATE_ERR_MAGIC;
	blake3_hasher_init(&bh);
	blake3_hasher_update(&bh, b, len - DL_STATE_SUM);
	blake3_hasher_finalize(&bh, sum, sizeof(sum));
	if (memcmp(sum, b + len - DL_STATE_SUM, DL_STATE_SUM) != 0)
		return DL_STATE_ERR_SUM;
	memcpy(v->hash, b + DL_STATE_HASH_OFF, sizeof(v->hash));
	if (hash != NULL && memcmp(v->hash, hash, sizeof(v->hash)) != 0)
		return DL_STATE_ERR_HASH;
	v->size = buf_le64(b + DL_STATE_SIZE_OFF);
	v->frag = buf_le64(b + DL_STATE_FRAG_OFF);
	v->verified = buf_le64(b + DL_STATE_VERIFIED_OFF);
	if ((rc = dl_state_check(v->size, v->frag, v->verified)) != DL_STATE_OK)
		return rc;
	v->nleaves = v->verified / v->frag;
	if (len - DL_STATE_MIN != v->nleaves * DL_STATE_LEAF)
		return DL_STATE_ERR_LEAVES;
	v->leaves = b + DL_STATE_HDR;
	return DL_STATE_OK;
}

long
dl_state_encode(uint8_t *out, size_t cap, const uint8_t hash[32], uint64_t size,
    uint64_t frag, uint64_t verified, const uint8_t *leaves)
{
	size_t len = dl_state_len(frag, verified), nb;
	blake3_hasher bh;

	if (len == 0 || len > cap)
		return DL_STATE_ERR_ARG;
	nb = len - DL_STATE_MIN;
	if (nb > 0 && leaves == NULL)
		return DL_STATE_ERR_ARG;
	memcpy(out, DL_MAGIC, DL_MAGIC_LEN);
	memcpy(out + DL_STATE_HASH_OFF, hash, 32);
	buf_put_le64(out + DL_STATE_SIZE_OFF, size);
	buf_put_le64(out + DL_STATE_FRAG_OFF, frag);
	buf_put_le64(out + DL_STATE_VERIFIED_OFF, verified);
	if (nb > 0)
		memcpy(out + DL_STATE_HDR, leaves, nb);
	blake3_hasher_init(&bh);
	blake3_hasher_update(&bh, out, len - DL_STATE_SUM);
	blake3_hasher_finalize(&bh, out + len - DL_STATE_SUM, DL_STATE_SUM);
	return (long)len;
}
