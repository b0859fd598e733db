/*
 * ipc_msg_web.c — codecs of the web API's storaged requests
 * (ipc_msg_web.h).  IPC_WH_END's request and the replies of
 * IPC_PROFILE_DEL and IPC_WIPE reuse ipc_u32; IPC_CHAIN_APPEND answers
 * empty.  Every decoder bounds its counts before reading.
 */
#include <string.h>

#include "ipc_msg_codec.h"

long
ipc_wh_result_encode(uint8_t *out, size_t cap, const struct ipc_wh_result *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_WH_END, IPC_OK);
	buf_w_u8(&w, q->dedup);
	buf_w_bytes(&w, q->hash, sizeof(q->hash));
	buf_w_le64(&w, q->size);
	return ipc_w_done(&w);
}

int
ipc_wh_result_decode(const uint8_t *p, size_t len, struct ipc_wh_result *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_WH_END)) != 0)
		return rc;
	q->dedup = buf_r_u8(&r);
	buf_r_copy(&r, q->hash, sizeof(q->hash));
	q->size = buf_r_le64(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if (q->dedup > 1)
		return IPC_DEC_RANGE;
	return ipc_r_end(&r);
}

long
ipc_publish_encode(uint8_t *out, size_t cap, const struct ipc_publish *q)
{
	struct buf_w w;
	uint16_t i;

	if (q->count > IPC_PUBLISH_MAX || q->replace > 1)
		return -1;
	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_PUBLISH, IPC_OK);
	buf_w_u8(&w, q->replace);
	buf_w_le16(&w, q->count);
	for (i = 0; i < q->count; i++)
		ipc_w_file(&w, &q->files[i]);
	return ipc_w_done(&w);
}

int
ipc_publish_decode(const uint8_t *p, size_t len, struct ipc_publish *q)
{
	struct buf_r r;
	uint16_t i;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_PUBLISH)) != 0)
		return rc;
	q->replace = buf_r_u8(&r);
	q->count = buf_r_le16(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if (q->replace > 1 || q->count == 0 || q->count > IPC_PUBLISH_MAX)
		return IPC_DEC_RANGE;
	for (i = 0; i < q->count; i++)
		if ((rc = ipc_r_file(&r, &q->files[i])) != 0)
			return rc;
	return ipc_r_end(&r);
}

long
ipc_publish_result_encode(uint8_t *out, size_t cap, const struct ipc_publish_result *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_PUBLISH, IPC_OK);
	buf_w_u8(&w, q->status);
	buf_w_le16(&w, q->index);
	return ipc_w_done(&w);
}

int
ipc_publish_result_decode(const uint8_t *p, size_t len, struct ipc_publish_result *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_PUBLISH)) != 0)
		return rc;
	q->status = buf_r_u8(&r);
	q->index = buf_r_le16(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if (q->index >= IPC_PUBLISH_MAX)
		return IPC_DEC_RANGE;
	return ipc_r_end(&r);
}

long
ipc_append_encode(uint8_t *out, size_t cap, const struct ipc_append *q)
{
	struct buf_w w;
	uint16_t i;

	if (q->count > IPC_APPEND_MAX)
		return -1;
	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_CHAIN_APPEND, IPC_OK);
	buf_w_le16(&w, q->count);
	for (i = 0; i < q->count; i++) {
		buf_w_u8(&w, q->recs[i].type);
		buf_w_le32(&w, q->recs[i].len);
		buf_w_bytes(&w, q->recs[i].data, q->recs[i].len);
	}
	return ipc_w_done(&w);
}

int
ipc_append_decode(const uint8_t *p, size_t len, struct ipc_append *q)
{
	struct buf_r r;
	uint16_t i;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_CHAIN_APPEND)) != 0)
		return rc;
	q->count = buf_r_le16(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if (q->count == 0 || q->count > IPC_APPEND_MAX)
		return IPC_DEC_RANGE;
	for (i = 0; i < q->count; i++) {
		q->recs[i].type = buf_r_u8(&r);
		q->recs[i].len = buf_r_le32(&r);
		if (r.err)
			return IPC_DEC_SHORT;
		/* A record larger than a message is a lie; checked before taking. */
		if (q->recs[i].len > IPC_DATA_MAX)
			return IPC_DEC_RANGE;
		if ((q->recs[i].data = buf_r_take(&r, q->recs[i].len)) == NULL)
			return IPC_DEC_SHORT;
	}
	return ipc_r_end(&r);
}

long
ipc_profile_del_encode(uint8_t *out, size_t cap, const struct ipc_profile_del *q)
{
	struct buf_w w;
	uint16_t i;

	if (q->count > IPC_PROFILE_DEL_MAX)
		return -1;
	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_PROFILE_DEL, IPC_OK);
	buf_w_le16(&w, q->count);
	for (i = 0; i < q->count; i++)
		buf_w_le16(&w, q->fields[i]);
	return ipc_w_done(&w);
}

int
ipc_profile_del_decode(const uint8_t *p, size_t len, struct ipc_profile_del *q)
{
	struct buf_r r;
	uint16_t i;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_PROFILE_DEL)) != 0)
		return rc;
	q->count = buf_r_le16(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if (q->count == 0 || q->count > IPC_PROFILE_DEL_MAX)
		return IPC_DEC_RANGE;
	for (i = 0; i < q->count; i++)
		q->fields[i] = buf_r_le16(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	return ipc_r_end(&r);
}

long
ipc_wipe_encode(uint8_t *out, size_t cap, const struct ipc_wipe *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_WIPE, IPC_OK);
	buf_w_u8(&w, q->kind);
	buf_w_bytes(&w, q->key, sizeof(q->key));
	return ipc_w_done(&w);
}

int
ipc_wipe_decode(const uint8_t *p, size_t len, struct ipc_wipe *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_WIPE)) != 0)
		return rc;
	q->kind = buf_r_u8(&r);
	buf_r_copy(&r, q->key, sizeof(q->key));
	if (r.err)
		return IPC_DEC_SHORT;
	if (q->kind > IPC_WIPE_ACCOUNT)
		return IPC_DEC_RANGE;
	return ipc_r_end(&r);
}

long
ipc_peer_profile_req_encode(uint8_t *out, size_t cap, const struct ipc_peer_profile_req *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_PEER_PROFILE, IPC_OK);
	buf_w_bytes(&w, q->owner, sizeof(q->owner));
	return ipc_w_done(&w);
}

int
ipc_peer_profile_req_decode(const uint8_t *p, size_t len, struct ipc_peer_profile_req *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_PEER_PROFILE)) != 0)
		return rc;
	buf_r_copy(&r, q->owner, sizeof(q->owner));
	if (r.err)
		return IPC_DEC_SHORT;
	/* A compressed secp256k1 key starts with 2 or 3. */
	if (q->owner[0] != 2 && q->owner[0] != 3)
		return IPC_DEC_RANGE;
	return ipc_r_end(&r);
}

long
ipc_peer_profile_encode(uint8_t *out, size_t cap, const struct ipc_peer_profile *q)
{
	struct buf_w w;
	uint16_t i;

	if (q->count > IPC_PEER_PROFILE_MAX || q->cached > 1)
		return -1;
	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_PEER_PROFILE, IPC_OK);
	buf_w_u8(&w, q->cached);
	buf_w_le16(&w, q->count);
	for (i = 0; i < q->count; i++) {
		if (q->fields[i].len > IPC_PEER_VALUE_MAX)
			return -1;
		buf_w_le16(&w, q->fields[i].field);
		buf_w_le16(&w, q->fields[i].len);
		buf_w_bytes(&w, q->fields[i].data, q->fields[i].len);
	}
	return ipc_w_done(&w);
}

int
ipc_peer_profile_decode(const uint8_t *p, size_t len, struct ipc_peer_profile *q)
{
	struct buf_r r;
	uint16_t i;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_PEER_PROFILE)) != 0)
		return rc;
	q->cached = buf_r_u8(&r);
	q->count = buf_r_le16(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if (q->cached > 1 || q->count > IPC_PEER_PROFILE_MAX ||
	    (q->cached == 0 && q->count != 0))
		return IPC_DEC_RANGE;
	for (i = 0; i < q->count; i++) {
		q->fields[i].field = buf_r_le16(&r);
		q->fields[i].len = buf_r_le16(&r);
		if (r.err)
			return IPC_DEC_SHORT;
		if (q->fields[i].len > IPC_PEER_VALUE_MAX)
			return IPC_DEC_RANGE;
		if ((q->fields[i].data = buf_r_take(&r, q->fields[i].len)) == NULL)
			return IPC_DEC_SHORT;
	}
	return ipc_r_end(&r);
}
