/*
 * xfer_mkwire.c — the merkle-leaves reply of our Transfer extension
 * (xfer_merkle.h): a pure codec and the root of a list of leaves.
 */
#include <stdlib.h>
#include <string.h>

#include "blake3.h"
#include "buf.h"
#include "merkle.h"
#include "xfer_merkle.h"

const char *
xfer_mk_strerror(int err)
{
	switch (err) {
	case XFER_MK_OK:		return "ok";
	case XFER_MK_ERR_SHORT:		return "merkle reply too short";
	case XFER_MK_ERR_LONG:		return "bytes after the merkle leaves";
	case XFER_MK_ERR_SHAPE:		return "merkle reply for a tree of that shape";
	case XFER_MK_ERR_RANGE:		return "merkle leaves out of range";
	case XFER_MK_ERR_ARG:		return "bad argument";
	}
	return "unknown error";
}

/* A multi-fragment file with the reference's fragment size (§4.1). */
static int
mk_shape(uint64_t file_size, uint64_t fragment_size)
{
	return file_size > MERKLE_MIN_FRAGMENT_SIZE &&
	    fragment_size == merkle_fragment_size(file_size);
}

int
xfer_mk_reply_encode(uint8_t *out, size_t cap, size_t *len, const struct xfer_mk_reply *r)
{
	struct buf_w w;
	uint64_t count;

	if (out == NULL || len == NULL || r == NULL || (r->count > 0 && r->leaves == NULL))
		return XFER_MK_ERR_ARG;
	if (!mk_shape(r->file_size, r->fragment_size))
		return XFER_MK_ERR_SHAPE;
	count = merkle_fragment_count(r->file_size, r->fragment_size);
	if (r->count > XFER_MK_BATCH || r->first > count || r->count > count - r->first)
		return XFER_MK_ERR_RANGE;
	buf_w_init(&w, out, cap);
	buf_w_le64(&w, r->file_size);
	buf_w_le64(&w, r->fragment_size);
	buf_w_bytes(&w, r->root, 32);
	buf_w_le64(&w, r->first);
	buf_w_le32(&w, r->count);
	buf_w_bytes(&w, r->leaves, (size_t)r->count * 32);
	if (w.err)
		return XFER_MK_ERR_SHORT;
	*len = w.off;
	return XFER_MK_OK;
}

int
xfer_mk_reply_decode(const uint8_t *p, size_t len, struct xfer_mk_reply *r)
{
	struct buf_r b;

	if (p == NULL || r == NULL)
		return XFER_MK_ERR_ARG;
	if (len < XFER_MK_HDR)
		return XFER_MK_ERR_SHORT;
	buf_r_init(&b, p, len);
	r->file_size = buf_r_le64(&b);
	r->fragment_size = buf_r_le64(&b);
	buf_r_copy(&b, r->root, 32);
	r->first = buf_r_le64(&b);
	r->count = buf_r_le32(&b);
	if (!mk_shape(r->file_size, r->fragment_size))
		return XFER_MK_ERR_SHAPE;
	r->fragment_count = merkle_fragment_count(r->file_size, r->fragment_size);
	if (r->count > XFER_MK_BATCH || r->first > r->fragment_count ||
	    r->count > r->fragment_count - r->first)
		return XFER_MK_ERR_RANGE;
	if (buf_r_left(&b) < (size_t)r->count * 32)
		return XFER_MK_ERR_SHORT;
	if (buf_r_left(&b) > (size_t)r->count * 32)
		return XFER_MK_ERR_LONG;
	r->leaves = buf_r_take(&b, (size_t)r->count * 32);
	return XFER_MK_OK;
}

int
xfer_mk_root(const uint8_t *leaves, uint64_t count, uint8_t root[32])
{
	blake3_hasher h;
	uint8_t *lv;
	uint64_t i, n;

	if (leaves == NULL || root == NULL || count == 0 || count > SIZE_MAX / 32)
		return XFER_MK_ERR_ARG;
	if ((lv = malloc((size_t)count * 32)) == NULL)
		return XFER_MK_ERR_ARG;
	memcpy(lv, leaves, (size_t)count * 32);
	/* Level by level in place: parent i is written after children 2i, 2i+1 are read. */
	for (n = count; n > 1; n = (n + 1) / 2) {
		for (i = 0; i + 1 < n; i += 2) {
			blake3_hasher_init(&h);
			blake3_hasher_update(&h, lv + i * 32, 64);
			blake3_hasher_finalize(&h, lv + (i / 2) * 32, 32);
		}
		if (n % 2)
			memmove(lv + (n / 2) * 32, lv + (n - 1) * 32, 32);
	}
	memcpy(root, lv, 32);
	free(lv);
	return XFER_MK_OK;
}
