/*
 * ipc_msg_web.c — codecs of the web API's storaged requests
 * (ipc_msg_web.h).  IPC_WH_END's request and the replies of
 * IPC_PROFILE_DEL and IPC_WIPE reuse ipc_u32; IPC_CHAIN_APPEND answers
 * empty.  Every decoder bounds its counts before reading.
 */
#include <stddef.h>
#include <string.h>

#include "ipc_msg_codec.h"

static const struct ipc_field wh_result_desc_f[] = {
	IPC_INT(struct ipc_wh_result, dedup, 1),
	IPC_BYTES(struct ipc_wh_result, hash),
	IPC_INT(struct ipc_wh_result, size, 0),
};
IPC_DESC(wh_result_desc, struct ipc_wh_result, 0, NULL);

/* files points to the caller's array (IPC_PUBLISH_MAX entries to decode). */
static const struct ipc_field publish_desc_f[] = {
	IPC_INT_STRICT(struct ipc_publish, replace, 1),
	IPC_ARRAY(struct ipc_publish, count, files, IPC_PUBLISH_MAX, ipc_file_desc,
	    IPC_FF_NONZERO | IPC_FF_PTR),
};
IPC_DESC(publish_desc, struct ipc_publish, 0, NULL);

static const struct ipc_field publish_result_desc_f[] = {
	IPC_INT(struct ipc_publish_result, status, 0),
	IPC_INT(struct ipc_publish_result, index, IPC_PUBLISH_MAX - 1),
};
IPC_DESC(publish_result_desc, struct ipc_publish_result, 0, NULL);

/* A record larger than a message is a lie; refused before taking. */
static const struct ipc_field append_rec_desc_f[] = {
	IPC_INT(struct ipc_append_rec, type, 0),
	IPC_BLOB(struct ipc_append_rec, data, len, IPC_DATA_MAX),
};
IPC_DESC(append_rec_desc, struct ipc_append_rec, 0, NULL);

static const struct ipc_field append_desc_f[] = {
	IPC_ARRAY(struct ipc_append, count, recs, IPC_APPEND_MAX, append_rec_desc,
	    IPC_FF_NONZERO),
};
IPC_DESC(append_desc, struct ipc_append, 0, NULL);

/* One field number (a u16 "struct" of the profile_del array). */
struct profile_field {
	uint16_t	field;
};
_Static_assert(sizeof(struct profile_field) == sizeof(uint16_t),
    "profile_del's fields are an array of u16");

static const struct ipc_field profile_field_desc_f[] = {
	IPC_INT(struct profile_field, field, 0),
};
IPC_DESC(profile_field_desc, struct profile_field, 0, NULL);

static const struct ipc_field profile_del_desc_f[] = {
	IPC_ARRAY(struct ipc_profile_del, count, fields, IPC_PROFILE_DEL_MAX,
	    profile_field_desc, IPC_FF_NONZERO),
};
IPC_DESC(profile_del_desc, struct ipc_profile_del, 0, NULL);

static const struct ipc_field wipe_desc_f[] = {
	IPC_INT(struct ipc_wipe, kind, IPC_WIPE_ACCOUNT),
	IPC_BYTES(struct ipc_wipe, key),
};
IPC_DESC(wipe_desc, struct ipc_wipe, 0, NULL);

/* A compressed secp256k1 key starts with 2 or 3. */
static const struct ipc_field peer_profile_req_desc_f[] = {
	IPC_KEY(struct ipc_peer_profile_req, owner),
};
IPC_DESC(peer_profile_req_desc, struct ipc_peer_profile_req, 0, NULL);

static const struct ipc_field peer_field_desc_f[] = {
	IPC_INT(struct ipc_peer_field, field, 0),
	IPC_BLOB(struct ipc_peer_field, data, len, IPC_PEER_VALUE_MAX),
};
IPC_DESC(peer_field_desc, struct ipc_peer_field, 0, NULL);

/* Nothing cached, no fields. */
static int
peer_profile_check(const void *msg)
{
	const struct ipc_peer_profile *q = msg;

	return q->cached == 0 && q->count != 0 ? IPC_DEC_RANGE : 0;
}

static const struct ipc_field peer_profile_desc_f[] = {
	IPC_INT_STRICT(struct ipc_peer_profile, cached, 1),
	IPC_ARRAY(struct ipc_peer_profile, count, fields, IPC_PEER_PROFILE_MAX,
	    peer_field_desc, 0),
};
IPC_DESC(peer_profile_desc, struct ipc_peer_profile, 0, peer_profile_check);

IPC_CODEC(wh_result, struct ipc_wh_result, IPC_WH_END, wh_result_desc)
IPC_CODEC(publish, struct ipc_publish, IPC_PUBLISH, publish_desc)
IPC_CODEC(publish_result, struct ipc_publish_result, IPC_PUBLISH, publish_result_desc)
IPC_CODEC(append, struct ipc_append, IPC_CHAIN_APPEND, append_desc)
IPC_CODEC(profile_del, struct ipc_profile_del, IPC_PROFILE_DEL, profile_del_desc)
IPC_CODEC(wipe, struct ipc_wipe, IPC_WIPE, wipe_desc)
IPC_CODEC(peer_profile_req, struct ipc_peer_profile_req, IPC_PEER_PROFILE, peer_profile_req_desc)
IPC_CODEC(peer_profile, struct ipc_peer_profile, IPC_PEER_PROFILE, peer_profile_desc)
