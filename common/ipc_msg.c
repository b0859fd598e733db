/*
 * ipc_msg.c — encoders and validating decoders for the IPC catalogue
 * (ipc_msg.h).  Pure functions: no I/O, no allocation.
 */
#include <string.h>

#include "buf.h"
#include "ipc_msg.h"
#include "ipc_msg_codec.h"

void
ipc_w_hdr(struct buf_w *w, uint16_t type, uint16_t status)
{
	buf_w_le16(w, type);
	buf_w_le16(w, status);
}

void
ipc_w_str(struct buf_w *w, const char *s)
{
	size_t n = strnlen(s, IPC_STR_MAX + 1);

	if (n > IPC_STR_MAX) {
		w->err = 1;
		return;
	}
	buf_w_le16(w, (uint16_t)n);
	buf_w_bytes(w, s, n);
}

/* Reads a string into dst (cap bytes incl. NUL); rejects NULs and overlong ones. */
int
ipc_r_str(struct buf_r *r, char *dst, size_t cap)
{
	uint16_t n = buf_r_le16(r);
	const uint8_t *q;

	if (r->err)
		return IPC_DEC_SHORT;
	if (n > IPC_STR_MAX || (size_t)n >= cap)
		return IPC_DEC_STRING;
	if ((q = buf_r_take(r, n)) == NULL)
		return IPC_DEC_SHORT;
	if (memchr(q, '\0', n) != NULL)
		return IPC_DEC_STRING;
	memcpy(dst, q, n);
	dst[n] = '\0';
	return 0;
}

long
ipc_w_done(struct buf_w *w)
{
	return w->err ? -1 : (long)w->off;
}

/* Starts a decoder on a message of an expected type with status 0. */
int
ipc_r_begin(struct buf_r *r, const uint8_t *p, size_t len, uint16_t type)
{
	struct ipc_hdr h;
	int rc;

	if ((rc = ipc_hdr_decode(p, len, &h)) != 0)
		return rc;
	if (h.type != type)
		return IPC_DEC_TYPE;
	if (h.status != IPC_OK)
		return IPC_DEC_STATUS;
	buf_r_init(r, p + IPC_HDR_LEN, len - IPC_HDR_LEN);
	return 0;
}

int
ipc_r_end(const struct buf_r *r)
{
	if (r->err)
		return IPC_DEC_SHORT;
	return r->off == r->len ? 0 : IPC_DEC_TRAILING;
}

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

long
ipc_status_encode(uint8_t *out, size_t cap, uint16_t type,
    const struct ipc_status *s)
{
	struct buf_w w;
	int i;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, type, IPC_OK);
	ipc_w_str(&w, s->name);
	ipc_w_str(&w, s->version);
	buf_w_le32(&w, s->pid);
	buf_w_le32(&w, s->uid);
	buf_w_le64(&w, s->uptime_ms);
	ipc_w_str(&w, s->sandbox);
	ipc_w_str(&w, s->dir);
	if (s->nlinks > IPC_MAX_LINKS)
		return -1;
	buf_w_u8(&w, s->nlinks);
	for (i = 0; i < s->nlinks; i++) {
		ipc_w_str(&w, s->links[i].name);
		buf_w_u8(&w, s->links[i].state);
		buf_w_le64(&w, s->links[i].last_ok_ms_ago);
	}
	return ipc_w_done(&w);
}

int
ipc_status_decode(const uint8_t *p, size_t len, uint16_t type,
    struct ipc_status *s)
{
	struct buf_r r;
	int i, rc;

	memset(s, 0, sizeof(*s));
	if ((rc = ipc_r_begin(&r, p, len, type)) != 0)
		return rc;
	if ((rc = ipc_r_str(&r, s->name, sizeof(s->name))) != 0 ||
	    (rc = ipc_r_str(&r, s->version, sizeof(s->version))) != 0)
		return rc;
	s->pid = buf_r_le32(&r);
	s->uid = buf_r_le32(&r);
	s->uptime_ms = buf_r_le64(&r);
	if ((rc = ipc_r_str(&r, s->sandbox, sizeof(s->sandbox))) != 0 ||
	    (rc = ipc_r_str(&r, s->dir, sizeof(s->dir))) != 0)
		return rc;
	s->nlinks = buf_r_u8(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if (s->nlinks > IPC_MAX_LINKS)
		return IPC_DEC_RANGE;
	for (i = 0; i < s->nlinks; i++) {
		if ((rc = ipc_r_str(&r, s->links[i].name, sizeof(s->links[i].name))) != 0)
			return rc;
		s->links[i].state = buf_r_u8(&r);
		s->links[i].last_ok_ms_ago = buf_r_le64(&r);
		if (s->links[i].state > IPC_LINK_DOWN)
			return IPC_DEC_RANGE;
	}
	return ipc_r_end(&r);
}

long
ipc_id_encode(uint8_t *out, size_t cap, const struct ipc_id *id)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_ID, IPC_OK);
	buf_w_bytes(&w, id->pubkey, sizeof(id->pubkey));
	buf_w_bytes(&w, id->node_id, sizeof(id->node_id));
	return ipc_w_done(&w);
}

int
ipc_id_decode(const uint8_t *p, size_t len, struct ipc_id *id)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_ID)) != 0)
		return rc;
	buf_r_copy(&r, id->pubkey, sizeof(id->pubkey));
	buf_r_copy(&r, id->node_id, sizeof(id->node_id));
	if (r.err)
		return IPC_DEC_SHORT;
	if (id->pubkey[0] != 0x02 && id->pubkey[0] != 0x03)
		return IPC_DEC_RANGE;
	return ipc_r_end(&r);
}

long
ipc_sign_req_encode(uint8_t *out, size_t cap, const struct ipc_sign_req *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_SIGN, IPC_OK);
	buf_w_bytes(&w, q->hash, sizeof(q->hash));
	return ipc_w_done(&w);
}

int
ipc_sign_req_decode(const uint8_t *p, size_t len, struct ipc_sign_req *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_SIGN)) != 0)
		return rc;
	buf_r_copy(&r, q->hash, sizeof(q->hash));
	return ipc_r_end(&r);
}

long
ipc_sign_rep_encode(uint8_t *out, size_t cap, const struct ipc_sign_rep *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_SIGN, IPC_OK);
	buf_w_bytes(&w, q->sig, sizeof(q->sig));
	return ipc_w_done(&w);
}

int
ipc_sign_rep_decode(const uint8_t *p, size_t len, struct ipc_sign_rep *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_SIGN)) != 0)
		return rc;
	buf_r_copy(&r, q->sig, sizeof(q->sig));
	if (r.err)
		return IPC_DEC_SHORT;
	if (q->sig[0] < 27 || q->sig[0] > 34)
		return IPC_DEC_RANGE;
	return ipc_r_end(&r);
}

long
ipc_probe_encode(uint8_t *out, size_t cap, const struct ipc_probe *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_SANDBOX_PROBE, IPC_OK);
	buf_w_le32(&w, (uint32_t)q->inet_errno);
	buf_w_le32(&w, (uint32_t)q->unix_errno);
	return ipc_w_done(&w);
}

int
ipc_probe_decode(const uint8_t *p, size_t len, struct ipc_probe *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_SANDBOX_PROBE)) != 0)
		return rc;
	q->inet_errno = (int32_t)buf_r_le32(&r);
	q->unix_errno = (int32_t)buf_r_le32(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if (q->inet_errno < 0 || q->inet_errno > 4095 || q->unix_errno < 0 ||
	    q->unix_errno > 4095)
		return IPC_DEC_RANGE;
	return ipc_r_end(&r);
}

long
ipc_u32_encode(uint8_t *out, size_t cap, uint16_t type, uint32_t v)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, type, IPC_OK);
	buf_w_le32(&w, v);
	return ipc_w_done(&w);
}

int
ipc_u32_decode(const uint8_t *p, size_t len, uint16_t type, uint32_t *v)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, type)) != 0)
		return rc;
	*v = buf_r_le32(&r);
	return ipc_r_end(&r);
}

long
ipc_data_encode(uint8_t *out, size_t cap, uint16_t type, const struct ipc_data *d)
{
	struct buf_w w;

	if (d->len > IPC_DATA_MAX)
		return -1;
	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, type, IPC_OK);
	buf_w_le32(&w, d->id);
	buf_w_le64(&w, d->offset);
	buf_w_le32(&w, d->len);
	if (d->bytes != NULL)
		buf_w_bytes(&w, d->bytes, d->len);
	return ipc_w_done(&w);
}

int
ipc_data_decode(const uint8_t *p, size_t len, uint16_t type, struct ipc_data *d)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, type)) != 0)
		return rc;
	d->id = buf_r_le32(&r);
	d->offset = buf_r_le64(&r);
	d->len = buf_r_le32(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if (d->len > IPC_DATA_MAX)
		return IPC_DEC_RANGE;
	if ((d->bytes = buf_r_take(&r, d->len)) == NULL)
		return IPC_DEC_SHORT;
	return ipc_r_end(&r);
}

long
ipc_read_encode(uint8_t *out, size_t cap, uint16_t type, const struct ipc_read *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, type, IPC_OK);
	buf_w_bytes(&w, q->hash, sizeof(q->hash));
	buf_w_le64(&w, q->offset);
	buf_w_le32(&w, q->len);
	return ipc_w_done(&w);
}

int
ipc_read_decode(const uint8_t *p, size_t len, uint16_t type, struct ipc_read *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, type)) != 0)
		return rc;
	buf_r_copy(&r, q->hash, sizeof(q->hash));
	q->offset = buf_r_le64(&r);
	q->len = buf_r_le32(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if (q->len > IPC_DATA_MAX)
		return IPC_DEC_RANGE;
	return ipc_r_end(&r);
}

long
ipc_range_encode(uint8_t *out, size_t cap, uint16_t type, const struct ipc_range *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, type, IPC_OK);
	buf_w_le32(&w, q->offset);
	buf_w_le32(&w, q->limit);
	return ipc_w_done(&w);
}

int
ipc_range_decode(const uint8_t *p, size_t len, uint16_t type, struct ipc_range *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, type)) != 0)
		return rc;
	q->offset = buf_r_le32(&r);
	q->limit = buf_r_le32(&r);
	return ipc_r_end(&r);
}

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

static void
ipc_w_tags(struct buf_w *w, const struct ipc_tags *t)
{
	if (t->len > IPC_TAGS_MAX) {
		w->err = 1;
		return;
	}
	buf_w_le16(w, t->len);
	buf_w_bytes(w, t->raw, t->len);
}

/* The entries must tile the bytes exactly, without reference bits. */
static int
ipc_r_tags(struct buf_r *r, struct ipc_tags *t)
{
	uint16_t n = buf_r_le16(r);
	size_t off, k;

	if (r->err)
		return IPC_DEC_SHORT;
	if (n > IPC_TAGS_MAX)
		return IPC_DEC_RANGE;
	buf_r_copy(r, t->raw, n);
	if (r->err)
		return IPC_DEC_SHORT;
	t->len = n;
	for (off = 0; off < n; off += 4 + k) {
		if (off + 4 > n)
			return IPC_DEC_RANGE;
		k = buf_le16(t->raw + off + 2);
		if ((buf_le16(t->raw + off) & 0x8000) != 0 || off + 4 + k > n)
			return IPC_DEC_RANGE;
	}
	return 0;
}

void
ipc_w_file(struct buf_w *w, const struct ipc_file *f)
{
	buf_w_bytes(w, f->id, sizeof(f->id));
	buf_w_bytes(w, f->hash, sizeof(f->hash));
	buf_w_bytes(w, f->owner, sizeof(f->owner));
	buf_w_le64(w, f->size);
	buf_w_u8(w, f->type);
	buf_w_le16(w, f->format);
	buf_w_le64(w, (uint64_t)f->date);
	buf_w_le64(w, f->block);
	ipc_w_str(w, f->name);
	ipc_w_str(w, f->folder);
	ipc_w_str(w, f->description);
	ipc_w_tags(w, &f->tags);
}

int
ipc_r_file(struct buf_r *r, struct ipc_file *f)
{
	int rc;

	buf_r_copy(r, f->id, sizeof(f->id));
	buf_r_copy(r, f->hash, sizeof(f->hash));
	buf_r_copy(r, f->owner, sizeof(f->owner));
	f->size = buf_r_le64(r);
	f->type = buf_r_u8(r);
	f->format = buf_r_le16(r);
	f->date = (int64_t)buf_r_le64(r);
	f->block = buf_r_le64(r);
	if (r->err)
		return IPC_DEC_SHORT;
	if ((rc = ipc_r_str(r, f->name, sizeof(f->name))) != 0 ||
	    (rc = ipc_r_str(r, f->folder, sizeof(f->folder))) != 0 ||
	    (rc = ipc_r_str(r, f->description, sizeof(f->description))) != 0)
		return rc;
	return ipc_r_tags(r, &f->tags);
}

long
ipc_file_encode(uint8_t *out, size_t cap, uint16_t type, const struct ipc_file *f)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, type, IPC_OK);
	ipc_w_file(&w, f);
	return ipc_w_done(&w);
}

int
ipc_file_decode(const uint8_t *p, size_t len, uint16_t type, struct ipc_file *f)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, type)) != 0 || (rc = ipc_r_file(&r, f)) != 0)
		return rc;
	return ipc_r_end(&r);
}

long
ipc_list_begin(uint8_t *out, size_t cap, uint16_t type, uint32_t total)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, type, IPC_OK);
	buf_w_le32(&w, total);
	buf_w_le32(&w, 0);
	return ipc_w_done(&w);
}

int
ipc_list_add(uint8_t *out, size_t cap, size_t *off, ipc_item_w wr, const void *item)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	w.off = *off;
	wr(&w, item);
	if (w.err)
		return -1;
	*off = w.off;
	buf_put_le32(out + IPC_HDR_LEN + 4, buf_le32(out + IPC_HDR_LEN + 4) + 1);
	return 0;
}

int
ipc_list_decode(const uint8_t *p, size_t len, uint16_t type, struct ipc_list *l,
    ipc_item_r rd, void *scratch)
{
	struct buf_r r;
	uint32_t i;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, type)) != 0)
		return rc;
	l->total = buf_r_le32(&r);
	l->count = buf_r_le32(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	l->p = p;
	l->len = len;
	l->off = IPC_HDR_LEN + r.off;
	/* Validate every item now, so that iterating cannot fail later. */
	for (i = 0; i < l->count; i++)
		if ((rc = rd(&r, scratch)) != 0)
			return rc;
	return ipc_r_end(&r);
}

int
ipc_list_next(struct ipc_list *l, ipc_item_r rd, void *item)
{
	struct buf_r r;
	int rc;

	if (l->off >= l->len)
		return 0;
	buf_r_init(&r, l->p, l->len);
	r.off = l->off;
	if ((rc = rd(&r, item)) != 0)
		return rc;
	l->off = r.off;
	return 1;
}

static void
file_w(struct buf_w *w, const void *item)
{
	ipc_w_file(w, item);
}

static int
file_r(struct buf_r *r, void *item)
{
	return ipc_r_file(r, item);
}

long
ipc_file_list_begin(uint8_t *out, size_t cap, uint16_t type, uint32_t total)
{
	return ipc_list_begin(out, cap, type, total);
}

int
ipc_file_list_add(uint8_t *out, size_t cap, size_t *off, const struct ipc_file *f)
{
	return ipc_list_add(out, cap, off, file_w, f);
}

int
ipc_file_list_decode(const uint8_t *p, size_t len, uint16_t type,
    struct ipc_file_list *l)
{
	static struct ipc_file scratch;

	return ipc_list_decode(p, len, type, l, file_r, &scratch);
}

int
ipc_file_list_next(struct ipc_file_list *l, struct ipc_file *f)
{
	return ipc_list_next(l, file_r, f);
}

long
ipc_add_begin_encode(uint8_t *out, size_t cap, const struct ipc_add_begin *a)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_ADD_BEGIN, IPC_OK);
	buf_w_le64(&w, a->size);
	buf_w_u8(&w, a->type);
	buf_w_le16(&w, a->format);
	ipc_w_str(&w, a->name);
	ipc_w_str(&w, a->folder);
	ipc_w_str(&w, a->description);
	ipc_w_tags(&w, &a->tags);
	return ipc_w_done(&w);
}

int
ipc_add_begin_decode(const uint8_t *p, size_t len, struct ipc_add_begin *a)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_ADD_BEGIN)) != 0)
		return rc;
	a->size = buf_r_le64(&r);
	a->type = buf_r_u8(&r);
	a->format = buf_r_le16(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if ((rc = ipc_r_str(&r, a->name, sizeof(a->name))) != 0 ||
	    (rc = ipc_r_str(&r, a->folder, sizeof(a->folder))) != 0 ||
	    (rc = ipc_r_str(&r, a->description, sizeof(a->description))) != 0 ||
	    (rc = ipc_r_tags(&r, &a->tags)) != 0)
		return rc;
	if (a->name[0] == '\0')
		return IPC_DEC_RANGE;
	return ipc_r_end(&r);
}

long
ipc_add_result_encode(uint8_t *out, size_t cap, const struct ipc_add_result *a)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_ADD_END, IPC_OK);
	buf_w_u8(&w, a->dedup);
	ipc_w_file(&w, &a->file);
	return ipc_w_done(&w);
}

int
ipc_add_result_decode(const uint8_t *p, size_t len, struct ipc_add_result *a)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_ADD_END)) != 0)
		return rc;
	a->dedup = buf_r_u8(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if (a->dedup > 1)
		return IPC_DEC_RANGE;
	if ((rc = ipc_r_file(&r, &a->file)) != 0)
		return rc;
	return ipc_r_end(&r);
}

long
ipc_ref_encode(uint8_t *out, size_t cap, uint16_t type, const struct ipc_ref *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, type, IPC_OK);
	buf_w_u8(&w, q->kind);
	buf_w_bytes(&w, q->key, sizeof(q->key));
	return ipc_w_done(&w);
}

int
ipc_ref_decode(const uint8_t *p, size_t len, uint16_t type, struct ipc_ref *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, type)) != 0)
		return rc;
	q->kind = buf_r_u8(&r);
	buf_r_copy(&r, q->key, sizeof(q->key));
	if (r.err)
		return IPC_DEC_SHORT;
	if (q->kind > 1)
		return IPC_DEC_RANGE;
	return ipc_r_end(&r);
}

long
ipc_mv_encode(uint8_t *out, size_t cap, const struct ipc_mv *m)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_MV, IPC_OK);
	buf_w_bytes(&w, m->id, sizeof(m->id));
	ipc_w_str(&w, m->name);
	return ipc_w_done(&w);
}

int
ipc_mv_decode(const uint8_t *p, size_t len, struct ipc_mv *m)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_MV)) != 0)
		return rc;
	buf_r_copy(&r, m->id, sizeof(m->id));
	if (r.err)
		return IPC_DEC_SHORT;
	if ((rc = ipc_r_str(&r, m->name, sizeof(m->name))) != 0)
		return rc;
	if (m->name[0] == '\0')
		return IPC_DEC_RANGE;
	return ipc_r_end(&r);
}

long
ipc_chain_info_encode(uint8_t *out, size_t cap, uint16_t type,
    const struct ipc_chain_info *c)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, type, IPC_OK);
	buf_w_le64(&w, c->version);
	buf_w_le64(&w, c->height);
	buf_w_le64(&w, c->files);
	buf_w_le64(&w, c->bytes);
	return ipc_w_done(&w);
}

int
ipc_chain_info_decode(const uint8_t *p, size_t len, uint16_t type,
    struct ipc_chain_info *c)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, type)) != 0)
		return rc;
	c->version = buf_r_le64(&r);
	c->height = buf_r_le64(&r);
	c->files = buf_r_le64(&r);
	c->bytes = buf_r_le64(&r);
	return ipc_r_end(&r);
}

long
ipc_cache_info_encode(uint8_t *out, size_t cap, const struct ipc_cache_info *c)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_CACHE, IPC_OK);
	buf_w_le64(&w, c->peers);
	buf_w_le64(&w, c->blocks);
	buf_w_le64(&w, c->bytes);
	buf_w_le64(&w, c->files);
	return ipc_w_done(&w);
}

int
ipc_cache_info_decode(const uint8_t *p, size_t len, struct ipc_cache_info *c)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_CACHE)) != 0)
		return rc;
	c->peers = buf_r_le64(&r);
	c->blocks = buf_r_le64(&r);
	c->bytes = buf_r_le64(&r);
	c->files = buf_r_le64(&r);
	return ipc_r_end(&r);
}

long
ipc_counters_encode(uint8_t *out, size_t cap, uint16_t type,
    const struct ipc_counters *c)
{
	struct buf_w w;
	int i;

	if (c->n > IPC_COUNTERS_MAX)
		return -1;
	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, type, IPC_OK);
	buf_w_u8(&w, c->n);
	for (i = 0; i < c->n; i++) {
		ipc_w_str(&w, c->c[i].name);
		buf_w_le64(&w, c->c[i].value);
	}
	return ipc_w_done(&w);
}

int
ipc_counters_decode(const uint8_t *p, size_t len, uint16_t type,
    struct ipc_counters *c)
{
	struct buf_r r;
	int i, rc;

	memset(c, 0, sizeof(*c));
	if ((rc = ipc_r_begin(&r, p, len, type)) != 0)
		return rc;
	c->n = buf_r_u8(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if (c->n > IPC_COUNTERS_MAX)
		return IPC_DEC_RANGE;
	for (i = 0; i < c->n; i++) {
		if ((rc = ipc_r_str(&r, c->c[i].name, sizeof(c->c[i].name))) != 0)
			return rc;
		if (c->c[i].name[0] == '\0')
			return IPC_DEC_STRING;
		c->c[i].value = buf_r_le64(&r);
	}
	if (r.err)
		return IPC_DEC_SHORT;
	return ipc_r_end(&r);
}

long
ipc_verify_result_encode(uint8_t *out, size_t cap, const struct ipc_verify_result *v)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_VERIFY, IPC_OK);
	buf_w_le64(&w, v->files);
	buf_w_le64(&w, v->bad);
	ipc_w_str(&w, v->report);
	return ipc_w_done(&w);
}

int
ipc_verify_result_decode(const uint8_t *p, size_t len, struct ipc_verify_result *v)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_VERIFY)) != 0)
		return rc;
	v->files = buf_r_le64(&r);
	v->bad = buf_r_le64(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if ((rc = ipc_r_str(&r, v->report, sizeof(v->report))) != 0)
		return rc;
	return ipc_r_end(&r);
}

long
ipc_cache_seen_encode(uint8_t *out, size_t cap, const struct ipc_cache_seen *c)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_CACHE_SEEN, IPC_OK);
	buf_w_bytes(&w, c->owner, sizeof(c->owner));
	buf_w_le64(&w, c->version);
	buf_w_le64(&w, c->height);
	return ipc_w_done(&w);
}

int
ipc_cache_seen_decode(const uint8_t *p, size_t len, struct ipc_cache_seen *c)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_CACHE_SEEN)) != 0)
		return rc;
	buf_r_copy(&r, c->owner, sizeof(c->owner));
	c->version = buf_r_le64(&r);
	c->height = buf_r_le64(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if (c->owner[0] != 0x02 && c->owner[0] != 0x03)
		return IPC_DEC_RANGE;
	return ipc_r_end(&r);
}

long
ipc_cache_fetch_encode(uint8_t *out, size_t cap, const struct ipc_cache_fetch *c)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_CACHE_SEEN, IPC_OK);
	buf_w_u8(&w, c->status);
	buf_w_le64(&w, c->from);
	buf_w_le64(&w, c->to);
	return ipc_w_done(&w);
}

int
ipc_cache_fetch_decode(const uint8_t *p, size_t len, struct ipc_cache_fetch *c)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_CACHE_SEEN)) != 0)
		return rc;
	c->status = buf_r_u8(&r);
	c->from = buf_r_le64(&r);
	c->to = buf_r_le64(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if (c->from > c->to)
		return IPC_DEC_RANGE;
	return ipc_r_end(&r);
}

long
ipc_cache_block_encode(uint8_t *out, size_t cap, const struct ipc_cache_block *c)
{
	struct buf_w w;

	if (c->len > IPC_DATA_MAX)
		return -1;
	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_CACHE_PUT, IPC_OK);
	buf_w_bytes(&w, c->owner, sizeof(c->owner));
	buf_w_le64(&w, c->version);
	buf_w_le64(&w, c->number);
	buf_w_le32(&w, c->len);
	buf_w_bytes(&w, c->raw, c->len);
	return ipc_w_done(&w);
}

int
ipc_cache_block_decode(const uint8_t *p, size_t len, struct ipc_cache_block *c)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_CACHE_PUT)) != 0)
		return rc;
	buf_r_copy(&r, c->owner, sizeof(c->owner));
	c->version = buf_r_le64(&r);
	c->number = buf_r_le64(&r);
	c->len = buf_r_le32(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if (c->len > IPC_DATA_MAX || (c->owner[0] != 0x02 && c->owner[0] != 0x03))
		return IPC_DEC_RANGE;
	if ((c->raw = buf_r_take(&r, c->len)) == NULL)
		return IPC_DEC_SHORT;
	return ipc_r_end(&r);
}
