/*
 * wire_transfer.c — Transfer (docs/protocol.md §3.8) and Get Block (§3.9)
 * payloads, and the two headers written inside the UDT byte stream: the
 * 16-byte file transfer header (§9.3) and the 25-byte block header (§9.8).
 */
#include <string.h>

#include "buf.h"
#include "wire_msg.h"

int
wire_transfer_decode(const uint8_t *p, size_t len, struct wire_transfer *t)
{
	struct buf_r r;
	int rc;

	if ((rc = wire_decode_begin(t, sizeof(*t), p, len,
	    WIRE_TRANSFER_HDR_SIZE)) != 0)
		return rc;
	buf_r_init(&r, p, len);
	t->control = buf_r_u8(&r);
	t->protocol = buf_r_u8(&r);
	buf_r_copy(&r, t->hash, sizeof(t->hash));
	switch (t->control) {
	case WIRE_TRANSFER_REQUEST_START:
		/* The reference reads the ID at 50..65 after checking only 50 (§12.13). */
		if (len < WIRE_TRANSFER_REQUEST_SIZE)
			return WIRE_MSG_ERR_REQUEST_SHORT;
		t->offset = buf_r_le64(&r);
		t->limit = buf_r_le64(&r);
		buf_r_copy(&r, t->transfer_id, sizeof(t->transfer_id));
		break;
	case WIRE_TRANSFER_ACTIVE:
		if (len - WIRE_TRANSFER_HDR_SIZE < WIRE_UDT_DATA_MIN)
			return WIRE_MSG_ERR_DATA_SHORT;
		t->data = p + WIRE_TRANSFER_HDR_SIZE;
		t->data_len = len - WIRE_TRANSFER_HDR_SIZE;
		break;
	default:
		/* NOT_AVAILABLE, TERMINATE, unknown: nothing follows. */
		break;
	}
	return WIRE_MSG_OK;
}

int
wire_transfer_encode(uint8_t *out, size_t cap, size_t *len,
    const struct wire_transfer *t)
{
	struct buf_w w;

	if (out == NULL || len == NULL || t == NULL)
		return WIRE_MSG_ERR_ARG;
	if (t->control == WIRE_TRANSFER_ACTIVE) {
		if (t->data_len < WIRE_UDT_DATA_MIN)
			return WIRE_MSG_ERR_DATA_SHORT;
		if (t->data == NULL)
			return WIRE_MSG_ERR_ARG;
	}
	buf_w_init(&w, out, cap);
	buf_w_u8(&w, t->control);
	buf_w_u8(&w, t->protocol);
	buf_w_bytes(&w, t->hash, sizeof(t->hash));
	if (t->control == WIRE_TRANSFER_REQUEST_START) {
		/* Always the full 66 bytes (§12.13). */
		buf_w_le64(&w, t->offset);
		buf_w_le64(&w, t->limit);
		buf_w_bytes(&w, t->transfer_id, sizeof(t->transfer_id));
	} else if (t->control == WIRE_TRANSFER_ACTIVE)
		buf_w_bytes(&w, t->data, t->data_len);
	return wire_encode_end(&w, len);
}

int
wire_getblock_decode(const uint8_t *p, size_t len, struct wire_getblock *g)
{
	struct buf_r r;
	uint16_t n;
	int rc;

	if ((rc = wire_decode_begin(g, sizeof(*g), p, len,
	    WIRE_TRANSFER_HDR_SIZE)) != 0)
		return rc;
	buf_r_init(&r, p, len);
	g->control = buf_r_u8(&r);
	buf_r_copy(&r, g->blockchain, sizeof(g->blockchain));
	if (ident_pubkey_valid(g->blockchain) != 1)
		return WIRE_MSG_ERR_BLOCKCHAIN_ID;
	switch (g->control) {
	case WIRE_GETBLOCK_REQUEST_START:
		if (len < WIRE_GETBLOCK_REQUEST_MIN)
			return WIRE_MSG_ERR_GB_REQUEST_SHORT;
		g->limit_count = buf_r_le64(&r);
		g->max_block_size = buf_r_le64(&r);
		buf_r_copy(&r, g->transfer_id, sizeof(g->transfer_id));
		n = buf_r_le16(&r);
		if (n == 0)
			return WIRE_MSG_ERR_NO_RANGES;
		if ((g->ranges = buf_r_take(&r, (size_t)n *
		    WIRE_BLOCK_RANGE_SIZE)) == NULL)
			return WIRE_MSG_ERR_RANGES_TRUNC;
		g->n_ranges = n;
		break;
	case WIRE_GETBLOCK_ACTIVE:
		if (len - WIRE_TRANSFER_HDR_SIZE < WIRE_UDT_DATA_MIN)
			return WIRE_MSG_ERR_DATA_SHORT;
		g->data = p + WIRE_TRANSFER_HDR_SIZE;
		g->data_len = len - WIRE_TRANSFER_HDR_SIZE;
		break;
	default:
		break;
	}
	return WIRE_MSG_OK;
}

int
wire_getblock_encode(uint8_t *out, size_t cap, size_t *len,
    const struct wire_getblock *g)
{
	struct buf_w w;

	if (out == NULL || len == NULL || g == NULL)
		return WIRE_MSG_ERR_ARG;
	if (ident_pubkey_valid(g->blockchain) != 1)
		return WIRE_MSG_ERR_BLOCKCHAIN_ID;
	if (g->control == WIRE_GETBLOCK_REQUEST_START) {
		if (g->n_ranges == 0)
			return WIRE_MSG_ERR_NO_RANGES;
		if (g->n_ranges > UINT16_MAX)
			return WIRE_MSG_ERR_TOO_MANY;
		if (g->ranges == NULL)
			return WIRE_MSG_ERR_ARG;
	} else if (g->control == WIRE_GETBLOCK_ACTIVE) {
		if (g->data_len < WIRE_UDT_DATA_MIN)
			return WIRE_MSG_ERR_DATA_SHORT;
		if (g->data == NULL)
			return WIRE_MSG_ERR_ARG;
	}
	buf_w_init(&w, out, cap);
	buf_w_u8(&w, g->control);
	buf_w_bytes(&w, g->blockchain, sizeof(g->blockchain));
	if (g->control == WIRE_GETBLOCK_REQUEST_START) {
		buf_w_le64(&w, g->limit_count);
		buf_w_le64(&w, g->max_block_size);
		buf_w_bytes(&w, g->transfer_id, sizeof(g->transfer_id));
		buf_w_le16(&w, (uint16_t)g->n_ranges);
		buf_w_bytes(&w, g->ranges, g->n_ranges * WIRE_BLOCK_RANGE_SIZE);
	} else if (g->control == WIRE_GETBLOCK_ACTIVE)
		buf_w_bytes(&w, g->data, g->data_len);
	return wire_encode_end(&w, len);
}

void
wire_block_range_get(const uint8_t *ranges, size_t i, struct wire_block_range *out)
{
	const uint8_t *q = ranges + i * WIRE_BLOCK_RANGE_SIZE;

	out->first = buf_le64(q);
	out->count = buf_le64(q + 8);
}

void
wire_block_range_put(uint8_t *ranges, size_t i, const struct wire_block_range *in)
{
	uint8_t *q = ranges + i * WIRE_BLOCK_RANGE_SIZE;

	buf_put_le64(q, in->first);
	buf_put_le64(q + 8, in->count);
}

void
wire_file_header_encode(uint8_t out[WIRE_FILE_HEADER_SIZE], uint64_t file_size,
    uint64_t transfer_size)
{
	buf_put_le64(out, file_size);
	buf_put_le64(out + 8, transfer_size);
}

void
wire_file_header_decode(const uint8_t in[WIRE_FILE_HEADER_SIZE],
    uint64_t *file_size, uint64_t *transfer_size)
{
	*file_size = buf_le64(in);
	*transfer_size = buf_le64(in + 8);
}

void
wire_block_header_encode(uint8_t out[WIRE_BLOCK_HEADER_SIZE],
    const struct wire_block_header *h)
{
	out[0] = h->availability;
	buf_put_le64(out + 1, h->number);
	buf_put_le64(out + 9, h->count);
	buf_put_le64(out + 17, h->size);
}

int
wire_block_header_decode(const uint8_t in[WIRE_BLOCK_HEADER_SIZE],
    uint64_t max_block_size, struct wire_block_header *h)
{
	if (in == NULL || h == NULL)
		return WIRE_MSG_ERR_ARG;
	h->availability = in[0];
	h->number = buf_le64(in + 1);
	h->count = buf_le64(in + 9);
	h->size = buf_le64(in + 17);
	if (h->count == 0)
		return WIRE_MSG_ERR_BLOCK_COUNT;
	if (h->availability != WIRE_BLOCK_AVAILABLE)
		return WIRE_MSG_OK;
	if (h->size > max_block_size)
		return WIRE_MSG_ERR_BLOCK_SIZE;
	if (h->count != 1)
		return WIRE_MSG_ERR_BLOCK_COUNT;
	return WIRE_MSG_OK;
}
