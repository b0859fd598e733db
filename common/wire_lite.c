/*
 * wire_lite.c — lite packets (docs/protocol.md §2.7): the unencrypted, unsigned
 * carrier of UDT packets, recognised by its 16-byte transfer ID.
 * Recognising the ID (is it registered?) is the caller's job; this only
 * splits and builds the bytes.
 */
#include <string.h>

#include "buf.h"
#include "wire_msg.h"

int
wire_lite_decode(const uint8_t *p, size_t len, struct wire_lite *l)
{
	struct buf_r r;
	uint16_t d;
	int rc;

	if ((rc = wire_decode_begin(l, sizeof(*l), p, len,
	    WIRE_LITE_HDR_SIZE)) != 0)
		return rc;
	buf_r_init(&r, p, len);
	buf_r_copy(&r, l->id, sizeof(l->id));
	d = buf_r_le16(&r);
	/*
	 * The reference hands up raw[18:], not raw[18:18+D] (§12.9); we use D,
	 * so trailing bytes are ignored.
	 */
	if ((l->data = buf_r_take(&r, d)) == NULL)
		return WIRE_MSG_ERR_LITE_LEN;
	if (d < WIRE_UDT_DATA_MIN)
		return WIRE_MSG_ERR_DATA_SHORT;
	l->data_len = d;
	return WIRE_MSG_OK;
}

int
wire_lite_encode(uint8_t *out, size_t cap, size_t *len,
    const struct wire_lite *l)
{
	struct buf_w w;

	if (out == NULL || len == NULL || l == NULL)
		return WIRE_MSG_ERR_ARG;
	/* The reference's UDT reader needs a 4-byte word (§12.3). */
	if (l->data_len < WIRE_UDT_DATA_MIN)
		return WIRE_MSG_ERR_DATA_SHORT;
	if (l->data == NULL)
		return WIRE_MSG_ERR_ARG;
	if (l->data_len > UINT16_MAX)
		return WIRE_MSG_ERR_TOO_MANY;
	buf_w_init(&w, out, cap);
	buf_w_bytes(&w, l->id, sizeof(l->id));
	buf_w_le16(&w, (uint16_t)l->data_len);
	buf_w_bytes(&w, l->data, l->data_len);
	return wire_encode_end(&w, len);
}
