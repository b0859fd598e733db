/*
 * ipc_msg_xfer.c — codecs of the file transfer area of the IPC catalogue
 * (ipc_msg_xfer.h).  IPC_DL_DATA, IPC_GET's, IPC_PROBE's and IPC_DL_BEGIN's
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
	case IPC_XFER_PAUSED:	return "paused";
	default:		return "unknown";
	}
}

/* IPC_XSTAT reply's tree section before its leaves: 8 + 8 + 32 + 8 + 4. */
#define XSTAT_TREE_HDR	60

long
ipc_xstat_req_encode(uint8_t *out, size_t cap, const struct ipc_xstat_req *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_XSTAT, IPC_OK);
	buf_w_bytes(&w, q->hash, sizeof(q->hash));
	buf_w_u8(&w, q->flags);
	if (q->flags & IPC_XSTAT_F_MERKLE)
		buf_w_le64(&w, q->first);
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
	q->flags = buf_r_u8(&r);
	q->first = 0;
	if (q->flags & IPC_XSTAT_F_MERKLE)
		q->first = buf_r_le64(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if ((q->flags & ~IPC_XSTAT_F_ALL) != 0)
		return IPC_DEC_RANGE;
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
	buf_w_le64(&w, q->partial);
	buf_w_le64(&w, q->partial_size);
	if (q->has_tree) {
		buf_w_le64(&w, q->fragment_size);
		buf_w_le64(&w, q->fragment_count);
		buf_w_bytes(&w, q->root, sizeof(q->root));
		buf_w_le64(&w, q->first);
		buf_w_le32(&w, q->nleaves);
		if (q->nleaves > IPC_XSTAT_LEAVES_MAX)
			return -1;
		buf_w_bytes(&w, q->leaves, (size_t)q->nleaves * 32);
	}
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
	q->partial = buf_r_le64(&r);
	q->partial_size = buf_r_le64(&r);
	q->has_tree = 0;
	q->fragment_size = q->fragment_count = q->first = 0;
	q->nleaves = 0;
	/* Fewer bytes than a tree section's header: not a tree, trailing bytes. */
	if (!r.err && buf_r_left(&r) > 0 && buf_r_left(&r) < XSTAT_TREE_HDR)
		return IPC_DEC_TRAILING;
	if (!r.err && buf_r_left(&r) > 0) {
		q->has_tree = 1;
		q->fragment_size = buf_r_le64(&r);
		q->fragment_count = buf_r_le64(&r);
		buf_r_copy(&r, q->root, sizeof(q->root));
		q->first = buf_r_le64(&r);
		q->nleaves = buf_r_le32(&r);
		if (!r.err && q->nleaves > IPC_XSTAT_LEAVES_MAX)
			return IPC_DEC_RANGE;
		if (!r.err)
			buf_r_copy(&r, q->leaves, (size_t)q->nleaves * 32);
	}
	if (r.err)
		return IPC_DEC_SHORT;
	if (q->present > 1 || (!q->present && q->size != 0))
		return IPC_DEC_RANGE;
	/* A tree of a stored multi-fragment file, the leaves inside it. */
	if (q->has_tree && (!q->present || q->fragment_size == 0 ||
	    q->fragment_count < 2 ||
	    q->fragment_count != q->size / q->fragment_size +
	    (q->size % q->fragment_size != 0) ||
	    q->first > q->fragment_count || q->nleaves > q->fragment_count - q->first))
		return IPC_DEC_RANGE;
	/* A verified prefix is shorter than its file (a complete one is committed). */
	if (q->partial_size > (uint64_t)INT64_MAX ||
	    (q->partial_size != 0 && q->partial >= q->partial_size) ||
	    (q->partial_size == 0 && q->partial != 0))
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
	buf_w_le64(&w, q->offset);
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
	q->offset = buf_r_le64(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	/* Offsets are off_t in the warehouse. */
	if (q->size > (uint64_t)INT64_MAX || q->offset > q->size)
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

static long
get_req_encode(uint8_t *out, size_t cap, uint16_t type, const struct ipc_get_req *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, type, IPC_OK);
	buf_w_bytes(&w, q->hash, sizeof(q->hash));
	buf_w_bytes(&w, q->node_id, sizeof(q->node_id));
	return ipc_w_done(&w);
}

static int
get_req_decode(const uint8_t *p, size_t len, uint16_t type, struct ipc_get_req *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, type)) != 0)
		return rc;
	buf_r_copy(&r, q->hash, sizeof(q->hash));
	buf_r_copy(&r, q->node_id, sizeof(q->node_id));
	if (r.err)
		return IPC_DEC_SHORT;
	return ipc_r_end(&r);
}

long
ipc_get_req_encode(uint8_t *out, size_t cap, const struct ipc_get_req *q)
{
	return get_req_encode(out, cap, IPC_GET, q);
}

int
ipc_get_req_decode(const uint8_t *p, size_t len, struct ipc_get_req *q)
{
	return get_req_decode(p, len, IPC_GET, q);
}

long
ipc_probe_req_encode(uint8_t *out, size_t cap, const struct ipc_get_req *q)
{
	return get_req_encode(out, cap, IPC_PROBE, q);
}

int
ipc_probe_req_decode(const uint8_t *p, size_t len, struct ipc_get_req *q)
{
	return get_req_decode(p, len, IPC_PROBE, q);
}

long
ipc_dl_abort_encode(uint8_t *out, size_t cap, const struct ipc_dl_abort *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_DL_ABORT, IPC_OK);
	buf_w_le32(&w, q->id);
	buf_w_u8(&w, q->discard);
	buf_w_bytes(&w, q->hash, sizeof(q->hash));
	return ipc_w_done(&w);
}

int
ipc_dl_abort_decode(const uint8_t *p, size_t len, struct ipc_dl_abort *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_DL_ABORT)) != 0)
		return rc;
	q->id = buf_r_le32(&r);
	q->discard = buf_r_u8(&r);
	buf_r_copy(&r, q->hash, sizeof(q->hash));
	if (r.err)
		return IPC_DEC_SHORT;
	/* Without an open download there is only something to discard. */
	if (q->discard > 1 || (q->id == 0 && !q->discard))
		return IPC_DEC_RANGE;
	return ipc_r_end(&r);
}

const char *
ipc_xfer_op_name(uint8_t op)
{
	switch (op) {
	case IPC_XFER_PAUSE:	return "pause";
	case IPC_XFER_RESUME:	return "resume";
	case IPC_XFER_CANCEL:	return "cancel";
	default:		return "unknown";
	}
}

long
ipc_xfer_ctl_encode(uint8_t *out, size_t cap, const struct ipc_xfer_ctl *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_XFER_CTL, IPC_OK);
	buf_w_le32(&w, q->number);
	buf_w_u8(&w, q->op);
	return ipc_w_done(&w);
}

int
ipc_xfer_ctl_decode(const uint8_t *p, size_t len, struct ipc_xfer_ctl *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_XFER_CTL)) != 0)
		return rc;
	q->number = buf_r_le32(&r);
	q->op = buf_r_u8(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if (q->number == 0 || q->op < IPC_XFER_PAUSE || q->op > IPC_XFER_CANCEL)
		return IPC_DEC_RANGE;
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
	buf_w_u8(w, x->flags);
	buf_w_le64(w, x->offset);
	buf_w_le64(w, x->done);
	buf_w_le64(w, x->total);
	buf_w_le32(w, x->bad_fragments);
	buf_w_le32(w, x->restarts);
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
	x->flags = buf_r_u8(r);
	x->offset = buf_r_le64(r);
	x->done = buf_r_le64(r);
	x->total = buf_r_le64(r);
	x->bad_fragments = buf_r_le32(r);
	x->restarts = buf_r_le32(r);
	x->rate = buf_r_le64(r);
	x->elapsed_ms = buf_r_le64(r);
	if (r->err)
		return IPC_DEC_SHORT;
	if (x->role < IPC_XFER_DOWNLOAD || x->role > IPC_XFER_UPLOAD ||
	    x->state >= IPC_XFER_STATE_MAX || (x->flags & ~IPC_XFER_F_ALL) != 0)
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

/* ---- streams for apid (IPC_STREAM_*) and stored files by descriptor ---- */

long
ipc_stream_open_encode(uint8_t *out, size_t cap, const struct ipc_get_req *q)
{
	return get_req_encode(out, cap, IPC_STREAM_OPEN, q);
}

int
ipc_stream_open_decode(const uint8_t *p, size_t len, struct ipc_get_req *q)
{
	return get_req_decode(p, len, IPC_STREAM_OPEN, q);
}

long
ipc_stream_info_encode(uint8_t *out, size_t cap, const struct ipc_stream_info *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_STREAM_OPEN, IPC_OK);
	buf_w_le32(&w, q->number);
	buf_w_le64(&w, q->size);
	buf_w_le64(&w, q->fragment_size);
	buf_w_u8(&w, q->flags);
	return ipc_w_done(&w);
}

int
ipc_stream_info_decode(const uint8_t *p, size_t len, struct ipc_stream_info *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_STREAM_OPEN)) != 0)
		return rc;
	q->number = buf_r_le32(&r);
	q->size = buf_r_le64(&r);
	q->fragment_size = buf_r_le64(&r);
	q->flags = buf_r_u8(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	/* A fragment size is what runs are aligned to: never 0, never above 1 GiB. */
	if (q->number == 0 || q->size > (1ULL << 40) || q->fragment_size == 0 ||
	    q->fragment_size > (1ULL << 30) || (q->flags & ~IPC_STREAM_F_VERIFIED) != 0)
		return IPC_DEC_RANGE;
	return ipc_r_end(&r);
}

long
ipc_stream_read_encode(uint8_t *out, size_t cap, const struct ipc_stream_read *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_STREAM_READ, IPC_OK);
	buf_w_le32(&w, q->number);
	buf_w_le64(&w, q->offset);
	buf_w_le64(&w, q->end);
	buf_w_le32(&w, q->max);
	return ipc_w_done(&w);
}

int
ipc_stream_read_decode(const uint8_t *p, size_t len, struct ipc_stream_read *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_STREAM_READ)) != 0)
		return rc;
	q->number = buf_r_le32(&r);
	q->offset = buf_r_le64(&r);
	q->end = buf_r_le64(&r);
	q->max = buf_r_le32(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if (q->end <= q->offset || q->max == 0 || q->max > IPC_STREAM_READ_MAX)
		return IPC_DEC_RANGE;
	return ipc_r_end(&r);
}

long
ipc_file_fd_req_encode(uint8_t *out, size_t cap, const struct ipc_file_fd_req *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_FILE_FD, IPC_OK);
	buf_w_bytes(&w, q->hash, sizeof(q->hash));
	return ipc_w_done(&w);
}

int
ipc_file_fd_req_decode(const uint8_t *p, size_t len, struct ipc_file_fd_req *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_FILE_FD)) != 0)
		return rc;
	buf_r_copy(&r, q->hash, sizeof(q->hash));
	if (r.err)
		return IPC_DEC_SHORT;
	return ipc_r_end(&r);
}

long
ipc_file_fd_rep_encode(uint8_t *out, size_t cap, uint64_t size)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_FILE_FD, IPC_OK);
	buf_w_le64(&w, size);
	return ipc_w_done(&w);
}

int
ipc_file_fd_rep_decode(const uint8_t *p, size_t len, uint64_t *size)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_FILE_FD)) != 0)
		return rc;
	*size = buf_r_le64(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if (*size > (1ULL << 40))
		return IPC_DEC_RANGE;
	return ipc_r_end(&r);
}
