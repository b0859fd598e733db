/*
 * ipc_msg_xfer.c — codecs of the file transfer area of the IPC catalogue
 * (ipc_msg_xfer.h).  IPC_DL_DATA, IPC_DL_ABORT, IPC_GET's and IPC_DL_BEGIN's
 * replies and IPC_TRANSFERS' request reuse ipc_data / ipc_u32.
 */
#include <string.h>

#include "ipc_msg_codec.h"

const char *
ipc_xfer_state_name(uint8_t state)
{
	switch (state) {
	case IPC_XFER_STARTING:	return "starting";
	case IPC_XFER_RUNNING:	return "running";
	case IPC_XFER_STORING:	return "storing";
	case IPC_XFER_DONE:	return "done";
	case IPC_XFER_FAILED:	return "failed";
	default:		return "unknown";
	}
}

long
ipc_xstat_req_encode(uint8_t *out, size_t cap, const struct ipc_xstat_req *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_XSTAT, IPC_OK);
	buf_w_bytes(&w, q->hash, sizeof(q->hash));
	return ipc_w_done(&w);
}

int
ipc_xstat_req_decode(const uint8_t *p, size_t len, struct ipc_xstat_req *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_XSTAT)) != 0)
		return rc;
	buf_r_copy(&r, q->hash, sizeof(q->hash));
	if (r.err)
		return IPC_DEC_SHORT;
	return ipc_r_end(&r);
}

long
ipc_xstat_rep_encode(uint8_t *out, size_t cap, const struct ipc_xstat_rep *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_XSTAT, IPC_OK);
	buf_w_u8(&w, q->present);
	buf_w_le64(&w, q->size);
	return ipc_w_done(&w);
}

int
ipc_xstat_rep_decode(const uint8_t *p, size_t len, struct ipc_xstat_rep *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_XSTAT)) != 0)
		return rc;
	q->present = buf_r_u8(&r);
	q->size = buf_r_le64(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if (q->present > 1 || (!q->present && q->size != 0))
		return IPC_DEC_RANGE;
	return ipc_r_end(&r);
}

long
ipc_dl_begin_encode(uint8_t *out, size_t cap, const struct ipc_dl_begin *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_DL_BEGIN, IPC_OK);
	buf_w_bytes(&w, q->hash, sizeof(q->hash));
	buf_w_le64(&w, q->size);
	return ipc_w_done(&w);
}

int
ipc_dl_begin_decode(const uint8_t *p, size_t len, struct ipc_dl_begin *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_DL_BEGIN)) != 0)
		return rc;
	buf_r_copy(&r, q->hash, sizeof(q->hash));
	q->size = buf_r_le64(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	/* Offsets are off_t in the warehouse. */
	if (q->size > (uint64_t)INT64_MAX)
		return IPC_DEC_RANGE;
	return ipc_r_end(&r);
}

long
ipc_dl_commit_encode(uint8_t *out, size_t cap, const struct ipc_dl_commit *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_DL_COMMIT, IPC_OK);
	buf_w_le32(&w, q->id);
	buf_w_bytes(&w, q->hash, sizeof(q->hash));
	return ipc_w_done(&w);
}

int
ipc_dl_commit_decode(const uint8_t *p, size_t len, struct ipc_dl_commit *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_DL_COMMIT)) != 0)
		return rc;
	q->id = buf_r_le32(&r);
	buf_r_copy(&r, q->hash, sizeof(q->hash));
	if (r.err)
		return IPC_DEC_SHORT;
	return ipc_r_end(&r);
}

long
ipc_get_req_encode(uint8_t *out, size_t cap, const struct ipc_get_req *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_GET, IPC_OK);
	buf_w_bytes(&w, q->hash, sizeof(q->hash));
	buf_w_bytes(&w, q->node_id, sizeof(q->node_id));
	return ipc_w_done(&w);
}

int
ipc_get_req_decode(const uint8_t *p, size_t len, struct ipc_get_req *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_GET)) != 0)
		return rc;
	buf_r_copy(&r, q->hash, sizeof(q->hash));
	buf_r_copy(&r, q->node_id, sizeof(q->node_id));
	if (r.err)
		return IPC_DEC_SHORT;
	return ipc_r_end(&r);
}

static void
xfer_w(struct buf_w *w, const void *item)
{
	const struct ipc_xfer_info *x = item;

	buf_w_le32(w, x->number);
	buf_w_u8(w, x->role);
	buf_w_u8(w, x->state);
	buf_w_bytes(w, x->node_id, sizeof(x->node_id));
	buf_w_bytes(w, x->hash, sizeof(x->hash));
	buf_w_le64(w, x->done);
	buf_w_le64(w, x->total);
	buf_w_le64(w, x->rate);
	buf_w_le64(w, x->elapsed_ms);
	/* The decoder takes at most IPC_XFER_ERR_MAX bytes: never write more. */
	if (strnlen(x->error, sizeof(x->error)) > IPC_XFER_ERR_MAX) {
		w->err = 1;
		return;
	}
	ipc_w_str(w, x->error);
}

static int
xfer_r(struct buf_r *r, void *item)
{
	struct ipc_xfer_info *x = item;

	x->number = buf_r_le32(r);
	x->role = buf_r_u8(r);
	x->state = buf_r_u8(r);
	buf_r_copy(r, x->node_id, sizeof(x->node_id));
	buf_r_copy(r, x->hash, sizeof(x->hash));
	x->done = buf_r_le64(r);
	x->total = buf_r_le64(r);
	x->rate = buf_r_le64(r);
	x->elapsed_ms = buf_r_le64(r);
	if (r->err)
		return IPC_DEC_SHORT;
	if (x->role < IPC_XFER_DOWNLOAD || x->role > IPC_XFER_UPLOAD ||
	    x->state >= IPC_XFER_STATE_MAX)
		return IPC_DEC_RANGE;
	return ipc_r_str(r, x->error, sizeof(x->error));
}

long
ipc_xfer_list_begin(uint8_t *out, size_t cap, uint32_t total)
{
	return ipc_list_begin(out, cap, IPC_TRANSFERS, total);
}

int
ipc_xfer_list_add(uint8_t *out, size_t cap, size_t *off, const struct ipc_xfer_info *x)
{
	return ipc_list_add(out, cap, off, xfer_w, x);
}

int
ipc_xfer_list_decode(const uint8_t *p, size_t len, struct ipc_xfer_list *l)
{
	struct ipc_xfer_info scratch;

	return ipc_list_decode(p, len, IPC_TRANSFERS, l, xfer_r, &scratch);
}

int
ipc_xfer_list_next(struct ipc_xfer_list *l, struct ipc_xfer_info *x)
{
	return ipc_list_next(l, xfer_r, x);
}
