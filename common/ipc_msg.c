/*
 * ipc_msg.c — encoders and validating decoders for the IPC catalogue
 * (ipc_msg.h): each body is a field table (ipc_msg_codec.h) and its typed
 * encoder and decoder pass it to ipc_encode / ipc_decode.  Pure functions:
 * no I/O, no allocation.
 */
#include <stddef.h>
#include <string.h>

#include "buf.h"
#include "ipc_msg.h"
#include "ipc_msg_codec.h"

int
ipc_hdr_decode(const uint8_t *p, size_t len, struct ipc_hdr *h)
{
	if (len < IPC_HDR_LEN)
		return IPC_DEC_SHORT;
	h->type = buf_le16(p);
	h->status = buf_le16(p + 2);
	if (h->type == 0 || h->type >= IPC_TYPE_MAX)
		return IPC_DEC_TYPE;
	return 0;
}

const char *
ipc_type_name(uint16_t type)
{
	switch (type) {
	case IPC_STATUS:	return "status";
	case IPC_SHUTDOWN:	return "shutdown";
	case IPC_RELOAD:	return "reload";
	case IPC_SANDBOX_PROBE:	return "sandbox-probe";
	case IPC_ID:		return "id";
	case IPC_SIGN:		return "sign";
	case IPC_ADD_BEGIN:	return "add-begin";
	case IPC_ADD_DATA:	return "add-data";
	case IPC_ADD_END:	return "add-end";
	case IPC_ADD_ABORT:	return "add-abort";
	case IPC_LS:		return "ls";
	case IPC_RM:		return "rm";
	case IPC_MV:		return "mv";
	case IPC_CAT:		return "cat";
	case IPC_CHAIN:		return "chain";
	case IPC_PROFILE_GET:	return "profile-get";
	case IPC_PROFILE_SET:	return "profile-set";
	case IPC_CACHE:		return "cache";
	case IPC_VERIFY:	return "verify";
	case IPC_STORE_STATUS:	return "store-status";
	case IPC_WH_END:	return "warehouse-end";
	case IPC_PUBLISH:	return "publish";
	case IPC_CHAIN_APPEND:	return "chain-append";
	case IPC_PROFILE_DEL:	return "profile-delete";
	case IPC_WIPE:		return "wipe";
	case IPC_PEER_PROFILE:	return "peer-profile";
	case IPC_BLOCK_GET:	return "block-get";
	case IPC_CACHE_SEEN:	return "cache-seen";
	case IPC_CACHE_PUT:	return "cache-put";
	case IPC_STREAM_OPEN:	return "stream-open";
	case IPC_STREAM_READ:	return "stream-read";
	case IPC_STREAM_CLOSE:	return "stream-close";
	case IPC_FILE_FD:	return "file-fd";
	case IPC_SEARCH_START:	return "search-start";
	case IPC_SEARCH_FETCH:	return "search-fetch";
	case IPC_SEARCH_STOP:	return "search-stop";
	case IPC_REINDEX:	return "reindex";
	case IPC_FILES_ALL:	return "files-all";
	case IPC_SHARERS:	return "sharers";
	case IPC_PEERS:		return "peers";
	case IPC_PING:		return "ping";
	case IPC_FIND:		return "find";
	case IPC_NET_STATUS:	return "net-status";
	case IPC_PEERS_SAVE:	return "peers-save";
	case IPC_PEERS_LOAD:	return "peers-load";
	case IPC_XSTAT:		return "xstat";
	case IPC_DL_BEGIN:	return "download-begin";
	case IPC_DL_DATA:	return "download-data";
	case IPC_DL_COMMIT:	return "download-commit";
	case IPC_DL_ABORT:	return "download-abort";
	case IPC_GET:		return "get";
	case IPC_TRANSFERS:	return "transfers";
	case IPC_XFER_CTL:	return "transfer-control";
	case IPC_PROBE:		return "probe";
	case IPC_EV_STARTED:	return "event-started";
	case IPC_EV_CHAIN:	return "event-chain";
	case IPC_EV_FILE_ADDED:	return "event-file-added";
	case IPC_EV_FILE_REMOVED: return "event-file-removed";
	case IPC_EV_OWNER_DROPPED: return "event-owner-dropped";
	default:		return "unknown";
	}
}

const char *
ipc_err_str(uint16_t status)
{
	switch (status) {
	case IPC_OK:		return "ok";
	case IPC_ERR_DENIED:	return "permission denied";
	case IPC_ERR_BADMSG:	return "malformed request";
	case IPC_ERR_UNKNOWN:	return "request not served here";
	case IPC_ERR_FAILED:	return "failed";
	case IPC_ERR_UNAVAILABLE: return "unavailable";
	default:		return "unknown error";
	}
}

const char *
ipc_decode_strerror(int err)
{
	switch (err) {
	case IPC_DEC_SHORT:	return "truncated message";
	case IPC_DEC_TRAILING:	return "trailing bytes after the message";
	case IPC_DEC_TYPE:	return "unexpected message type";
	case IPC_DEC_STRING:	return "invalid string field";
	case IPC_DEC_RANGE:	return "field out of range";
	case IPC_DEC_STATUS:	return "error reply";
	default:		return "unknown decode error";
	}
}

long
ipc_empty_encode(uint8_t *out, size_t cap, uint16_t type, uint16_t status)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, type, status);
	return ipc_w_done(&w);
}

int
ipc_empty_decode(const uint8_t *p, size_t len, uint16_t type)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, type)) != 0)
		return rc;
	return ipc_r_end(&r);
}

long
ipc_error_encode(uint8_t *out, size_t cap, uint16_t type, uint16_t status,
    const char *reason)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, type, status);
	ipc_w_str(&w, reason);
	return ipc_w_done(&w);
}

int
ipc_error_decode(const uint8_t *p, size_t len, uint16_t *status, char *reason,
    size_t cap)
{
	char tmp[IPC_STR_MAX + 1];
	struct ipc_hdr h;
	struct buf_r r;
	int rc;

	if ((rc = ipc_hdr_decode(p, len, &h)) != 0)
		return rc;
	if (h.status == IPC_OK)
		return IPC_DEC_RANGE;
	buf_r_init(&r, p + IPC_HDR_LEN, len - IPC_HDR_LEN);
	if ((rc = ipc_r_str(&r, tmp, sizeof(tmp))) != 0)
		return rc;
	if ((rc = ipc_r_end(&r)) != 0)
		return rc;
	*status = h.status;
	if (cap > 0)
		strlcpy(reason, tmp, cap);
	return 0;
}

/* ---- the field tables -------------------------------------------------- */

static const struct ipc_field link_desc_f[] = {
	IPC_STR(struct ipc_status_link, name),
	IPC_INT(struct ipc_status_link, state, IPC_LINK_DOWN),
	IPC_INT(struct ipc_status_link, last_ok_ms_ago, 0),
};
IPC_DESC(link_desc, struct ipc_status_link, 0, NULL);

static const struct ipc_field status_desc_f[] = {
	IPC_STR(struct ipc_status, name),
	IPC_STR(struct ipc_status, version),
	IPC_INT(struct ipc_status, pid, 0),
	IPC_INT(struct ipc_status, uid, 0),
	IPC_INT(struct ipc_status, uptime_ms, 0),
	IPC_STR(struct ipc_status, sandbox),
	IPC_STR(struct ipc_status, dir),
	IPC_ARRAY(struct ipc_status, nlinks, links, IPC_MAX_LINKS, link_desc, 0),
};
IPC_DESC(status_desc, struct ipc_status, 1, NULL);

static const struct ipc_field id_desc_f[] = {
	IPC_KEY(struct ipc_id, pubkey),
	IPC_BYTES(struct ipc_id, node_id),
};
IPC_DESC(id_desc, struct ipc_id, 0, NULL);

static const struct ipc_field sign_req_desc_f[] = {
	IPC_BYTES(struct ipc_sign_req, hash),
};
IPC_DESC(sign_req_desc, struct ipc_sign_req, 0, NULL);

/* A recoverable secp256k1 signature's header byte: 27..34. */
static int
sign_rep_check(const void *msg)
{
	const struct ipc_sign_rep *q = msg;

	return q->sig[0] < 27 || q->sig[0] > 34 ? IPC_DEC_RANGE : 0;
}

static const struct ipc_field sign_rep_desc_f[] = {
	IPC_BYTES(struct ipc_sign_rep, sig),
};
IPC_DESC(sign_rep_desc, struct ipc_sign_rep, 0, sign_rep_check);

/* errno values: 0..4095 (read as u32, a negative one is out of range). */
static const struct ipc_field probe_desc_f[] = {
	IPC_INT(struct ipc_probe, inet_errno, 4095),
	IPC_INT(struct ipc_probe, unix_errno, 4095),
};
IPC_DESC(probe_desc, struct ipc_probe, 0, NULL);

static const struct ipc_field u32_desc_f[] = {
	IPC_INT(struct ipc_u32, value, 0),
};
IPC_DESC(u32_desc, struct ipc_u32, 0, NULL);

static const struct ipc_field data_desc_f[] = {
	IPC_INT(struct ipc_data, id, 0),
	IPC_INT(struct ipc_data, offset, 0),
	IPC_BLOB(struct ipc_data, bytes, len, IPC_DATA_MAX),
};
IPC_DESC(data_desc, struct ipc_data, 0, NULL);

static const struct ipc_field read_desc_f[] = {
	IPC_BYTES(struct ipc_read, hash),
	IPC_INT(struct ipc_read, offset, 0),
	IPC_INT(struct ipc_read, len, IPC_DATA_MAX),
};
IPC_DESC(read_desc, struct ipc_read, 0, NULL);

static const struct ipc_field range_desc_f[] = {
	IPC_INT(struct ipc_range, offset, 0),
	IPC_INT(struct ipc_range, limit, 0),
};
IPC_DESC(range_desc, struct ipc_range, 0, NULL);

static const struct ipc_field ipc_file_desc_f[] = {
	IPC_BYTES(struct ipc_file, id),
	IPC_BYTES(struct ipc_file, hash),
	IPC_BYTES(struct ipc_file, owner),
	IPC_INT(struct ipc_file, size, 0),
	IPC_INT(struct ipc_file, type, 0),
	IPC_INT(struct ipc_file, format, 0),
	IPC_INT(struct ipc_file, date, 0),
	IPC_INT(struct ipc_file, block, 0),
	IPC_STR(struct ipc_file, name),
	IPC_STR(struct ipc_file, folder),
	IPC_STR(struct ipc_file, description),
	IPC_TAGS(struct ipc_file, tags),
};
const struct ipc_desc ipc_file_desc = { ipc_file_desc_f,
    sizeof(ipc_file_desc_f) / sizeof(ipc_file_desc_f[0]), sizeof(struct ipc_file), 0, NULL };

static const struct ipc_field add_begin_desc_f[] = {
	IPC_INT(struct ipc_add_begin, size, 0),
	IPC_INT(struct ipc_add_begin, type, 0),
	IPC_INT(struct ipc_add_begin, format, 0),
	IPC_STR_NZ(struct ipc_add_begin, name),
	IPC_STR(struct ipc_add_begin, folder),
	IPC_STR(struct ipc_add_begin, description),
	IPC_TAGS(struct ipc_add_begin, tags),
};
IPC_DESC(add_begin_desc, struct ipc_add_begin, 0, NULL);

static const struct ipc_field add_result_desc_f[] = {
	IPC_INT(struct ipc_add_result, dedup, 1),
	IPC_SUB(struct ipc_add_result, file, ipc_file_desc),
};
IPC_DESC(add_result_desc, struct ipc_add_result, 0, NULL);

static const struct ipc_field ref_desc_f[] = {
	IPC_INT(struct ipc_ref, kind, 1),
	IPC_BYTES(struct ipc_ref, key),
};
IPC_DESC(ref_desc, struct ipc_ref, 0, NULL);

static const struct ipc_field mv_desc_f[] = {
	IPC_BYTES(struct ipc_mv, id),
	IPC_STR_NZ(struct ipc_mv, name),
};
IPC_DESC(mv_desc, struct ipc_mv, 0, NULL);

static const struct ipc_field chain_info_desc_f[] = {
	IPC_INT(struct ipc_chain_info, version, 0),
	IPC_INT(struct ipc_chain_info, height, 0),
	IPC_INT(struct ipc_chain_info, files, 0),
	IPC_INT(struct ipc_chain_info, bytes, 0),
};
IPC_DESC(chain_info_desc, struct ipc_chain_info, 0, NULL);

static const struct ipc_field cache_info_desc_f[] = {
	IPC_INT(struct ipc_cache_info, peers, 0),
	IPC_INT(struct ipc_cache_info, blocks, 0),
	IPC_INT(struct ipc_cache_info, bytes, 0),
	IPC_INT(struct ipc_cache_info, files, 0),
};
IPC_DESC(cache_info_desc, struct ipc_cache_info, 0, NULL);

typedef __typeof__(((struct ipc_counters *)0)->c[0]) counter_t;

/* A counter without a name is a malformed string, not a range. */
static int
counter_check(const void *msg)
{
	const counter_t *c = msg;

	return c->name[0] == '\0' ? IPC_DEC_STRING : 0;
}

static const struct ipc_field counter_desc_f[] = {
	IPC_STR(counter_t, name),
	IPC_INT(counter_t, value, 0),
};
IPC_DESC(counter_desc, counter_t, 0, counter_check);

static const struct ipc_field counters_desc_f[] = {
	IPC_ARRAY(struct ipc_counters, n, c, IPC_COUNTERS_MAX, counter_desc, 0),
};
IPC_DESC(counters_desc, struct ipc_counters, 1, NULL);

static const struct ipc_field verify_desc_f[] = {
	IPC_INT(struct ipc_verify_result, files, 0),
	IPC_INT(struct ipc_verify_result, bad, 0),
	IPC_STR(struct ipc_verify_result, report),
};
IPC_DESC(verify_desc, struct ipc_verify_result, 0, NULL);

static const struct ipc_field cache_seen_desc_f[] = {
	IPC_KEY(struct ipc_cache_seen, owner),
	IPC_INT(struct ipc_cache_seen, version, 0),
	IPC_INT(struct ipc_cache_seen, height, 0),
};
IPC_DESC(cache_seen_desc, struct ipc_cache_seen, 0, NULL);

static int
cache_fetch_check(const void *msg)
{
	const struct ipc_cache_fetch *c = msg;

	return c->from > c->to ? IPC_DEC_RANGE : 0;
}

static const struct ipc_field cache_fetch_desc_f[] = {
	IPC_INT(struct ipc_cache_fetch, status, 0),
	IPC_INT(struct ipc_cache_fetch, from, 0),
	IPC_INT(struct ipc_cache_fetch, to, 0),
};
IPC_DESC(cache_fetch_desc, struct ipc_cache_fetch, 0, cache_fetch_check);

static const struct ipc_field cache_block_desc_f[] = {
	IPC_KEY(struct ipc_cache_block, owner),
	IPC_INT(struct ipc_cache_block, version, 0),
	IPC_INT(struct ipc_cache_block, number, 0),
	IPC_BLOB(struct ipc_cache_block, raw, len, IPC_DATA_MAX),
};
IPC_DESC(cache_block_desc, struct ipc_cache_block, 0, NULL);

/* ---- the typed encoders and decoders ------------------------------------ */

IPC_CODEC_TYPED(status, struct ipc_status, status_desc)
IPC_CODEC(id, struct ipc_id, IPC_ID, id_desc)
IPC_CODEC(sign_req, struct ipc_sign_req, IPC_SIGN, sign_req_desc)
IPC_CODEC(sign_rep, struct ipc_sign_rep, IPC_SIGN, sign_rep_desc)
IPC_CODEC(probe, struct ipc_probe, IPC_SANDBOX_PROBE, probe_desc)

long
ipc_u32_encode(uint8_t *out, size_t cap, uint16_t type, uint32_t v)
{
	struct ipc_u32 u = { v };

	return ipc_encode(out, cap, type, &u32_desc, &u);
}

int
ipc_u32_decode(const uint8_t *p, size_t len, uint16_t type, uint32_t *v)
{
	struct ipc_u32 u;
	int rc;

	if ((rc = ipc_decode(p, len, type, &u32_desc, &u)) == 0)
		*v = u.value;
	return rc;
}

IPC_CODEC_TYPED(data, struct ipc_data, data_desc)
IPC_CODEC_TYPED(read, struct ipc_read, read_desc)
IPC_CODEC_TYPED(range, struct ipc_range, range_desc)

int
ipc_tags_add(struct ipc_tags *t, uint16_t type, const void *data, size_t len)
{
	if ((type & 0x8000) != 0 || len > IPC_TAGS_MAX - 4 ||
	    (size_t)t->len + 4 + len > IPC_TAGS_MAX)
		return -1;
	buf_put_le16(t->raw + t->len, type);
	buf_put_le16(t->raw + t->len + 2, (uint16_t)len);
	if (len > 0)
		memcpy(t->raw + t->len + 4, data, len);
	t->len = (uint16_t)(t->len + 4 + len);
	return 0;
}

int
ipc_tags_next(const struct ipc_tags *t, size_t *off, uint16_t *type,
    const uint8_t **data, size_t *len)
{
	size_t n;

	if (*off + 4 > t->len)
		return 0;
	n = buf_le16(t->raw + *off + 2);
	if (*off + 4 + n > t->len)
		return 0;
	*type = buf_le16(t->raw + *off);
	*data = t->raw + *off + 4;
	*len = n;
	*off += 4 + n;
	return 1;
}

IPC_CODEC_TYPED(file, struct ipc_file, ipc_file_desc)

long
ipc_file_list_begin(uint8_t *out, size_t cap, uint16_t type, uint32_t total)
{
	return ipc_list_begin(out, cap, type, total);
}

int
ipc_file_list_add(uint8_t *out, size_t cap, size_t *off, const struct ipc_file *f)
{
	return ipc_list_add(out, cap, off, IPC_HDR_LEN + 8, 0, &ipc_file_desc, f);
}

int
ipc_file_list_decode(const uint8_t *p, size_t len, uint16_t type,
    struct ipc_file_list *l)
{
	static struct ipc_file scratch;

	return ipc_list_decode(p, len, type, l, &ipc_file_desc, &scratch);
}

int
ipc_file_list_next(struct ipc_file_list *l, struct ipc_file *f)
{
	return ipc_list_next(l->p, l->len, &l->off, &ipc_file_desc, f);
}

IPC_CODEC(add_begin, struct ipc_add_begin, IPC_ADD_BEGIN, add_begin_desc)
IPC_CODEC(add_result, struct ipc_add_result, IPC_ADD_END, add_result_desc)
IPC_CODEC_TYPED(ref, struct ipc_ref, ref_desc)
IPC_CODEC(mv, struct ipc_mv, IPC_MV, mv_desc)
IPC_CODEC_TYPED(chain_info, struct ipc_chain_info, chain_info_desc)
IPC_CODEC(cache_info, struct ipc_cache_info, IPC_CACHE, cache_info_desc)
IPC_CODEC_TYPED(counters, struct ipc_counters, counters_desc)
IPC_CODEC(verify_result, struct ipc_verify_result, IPC_VERIFY, verify_desc)
IPC_CODEC(cache_seen, struct ipc_cache_seen, IPC_CACHE_SEEN, cache_seen_desc)
IPC_CODEC(cache_fetch, struct ipc_cache_fetch, IPC_CACHE_SEEN, cache_fetch_desc)
IPC_CODEC(cache_block, struct ipc_cache_block, IPC_CACHE_PUT, cache_block_desc)
