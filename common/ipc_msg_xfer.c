/*
 * ipc_msg_xfer.c — codecs of the file transfer area of the IPC catalogue
 * (ipc_msg_xfer.h).  IPC_DL_DATA, IPC_GET's, IPC_PROBE's and IPC_DL_BEGIN's
 * replies and IPC_TRANSFERS' request reuse ipc_data / ipc_u32.
 */
#include <stddef.h>
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

/* Offsets are off_t in the warehouse. */
static int
dl_begin_check(const void *msg)
{
	const struct ipc_dl_begin *q = msg;

	return q->size > (uint64_t)INT64_MAX || q->offset > q->size ? IPC_DEC_RANGE : 0;
}

static const struct ipc_field dl_begin_desc_f[] = {
	IPC_BYTES(struct ipc_dl_begin, hash),
	IPC_INT(struct ipc_dl_begin, size, 0),
	IPC_INT(struct ipc_dl_begin, offset, 0),
};
IPC_DESC(dl_begin_desc, struct ipc_dl_begin, 0, dl_begin_check);

static const struct ipc_field dl_commit_desc_f[] = {
	IPC_INT(struct ipc_dl_commit, id, 0),
	IPC_BYTES(struct ipc_dl_commit, hash),
};
IPC_DESC(dl_commit_desc, struct ipc_dl_commit, 0, NULL);

static int
dl_data_check(const void *msg)
{
	const struct ipc_dl_data *q = msg;

	return q->leaves_len % 32 != 0 ? IPC_DEC_RANGE : 0;
}

static const struct ipc_field dl_data_desc_f[] = {
	IPC_INT(struct ipc_dl_data, id, 0),
	IPC_INT(struct ipc_dl_data, offset, 0),
	IPC_BLOB(struct ipc_dl_data, leaves, leaves_len, IPC_DL_LEAVES_MAX * 32),
	IPC_BLOB(struct ipc_dl_data, bytes, len, IPC_DATA_MAX),
};
IPC_DESC(dl_data_desc, struct ipc_dl_data, 0, dl_data_check);

static const struct ipc_field get_req_desc_f[] = {
	IPC_BYTES(struct ipc_get_req, hash),
	IPC_BYTES(struct ipc_get_req, node_id),
};
IPC_DESC(get_req_desc, struct ipc_get_req, 0, NULL);

/* Without an open download there is only something to discard. */
static int
dl_abort_check(const void *msg)
{
	const struct ipc_dl_abort *q = msg;

	return q->id == 0 && !q->discard ? IPC_DEC_RANGE : 0;
}

static const struct ipc_field dl_abort_desc_f[] = {
	IPC_INT(struct ipc_dl_abort, id, 0),
	IPC_INT(struct ipc_dl_abort, discard, 1),
	IPC_BYTES(struct ipc_dl_abort, hash),
};
IPC_DESC(dl_abort_desc, struct ipc_dl_abort, 0, dl_abort_check);

static int
xfer_ctl_check(const void *msg)
{
	const struct ipc_xfer_ctl *q = msg;

	return q->op < IPC_XFER_PAUSE ? IPC_DEC_RANGE : 0;
}

static const struct ipc_field xfer_ctl_desc_f[] = {
	IPC_INT_NZ(struct ipc_xfer_ctl, number, 0),
	IPC_INT(struct ipc_xfer_ctl, op, IPC_XFER_CANCEL),
};
IPC_DESC(xfer_ctl_desc, struct ipc_xfer_ctl, 0, xfer_ctl_check);

static int
xfer_info_check(const void *msg)
{
	const struct ipc_xfer_info *x = msg;

	return x->role < IPC_XFER_DOWNLOAD ? IPC_DEC_RANGE : 0;
}

/* error: at most IPC_XFER_ERR_MAX bytes, the member's size says so. */
static const struct ipc_field xfer_info_desc_f[] = {
	IPC_INT(struct ipc_xfer_info, number, 0),
	IPC_INT(struct ipc_xfer_info, role, IPC_XFER_UPLOAD),
	IPC_INT(struct ipc_xfer_info, state, IPC_XFER_STATE_MAX - 1),
	IPC_BYTES(struct ipc_xfer_info, node_id),
	IPC_BYTES(struct ipc_xfer_info, hash),
	IPC_INT(struct ipc_xfer_info, flags, IPC_XFER_F_ALL),
	IPC_INT(struct ipc_xfer_info, offset, 0),
	IPC_INT(struct ipc_xfer_info, done, 0),
	IPC_INT(struct ipc_xfer_info, total, 0),
	IPC_INT(struct ipc_xfer_info, bad_fragments, 0),
	IPC_INT(struct ipc_xfer_info, restarts, 0),
	IPC_INT(struct ipc_xfer_info, rate, 0),
	IPC_INT(struct ipc_xfer_info, elapsed_ms, 0),
	IPC_STR(struct ipc_xfer_info, error),
};
IPC_DESC(xfer_info_desc, struct ipc_xfer_info, 0, xfer_info_check);
_Static_assert(sizeof(((struct ipc_xfer_info *)0)->error) == IPC_XFER_ERR_MAX + 1,
    "the error member bounds the string");
_Static_assert((IPC_XFER_F_ALL & (IPC_XFER_F_ALL + 1)) == 0,
    "the transfer flags are the low bits");

/* A fragment size is what runs are aligned to: never 0, never above 1 GiB. */
static const struct ipc_field stream_info_desc_f[] = {
	IPC_INT_NZ(struct ipc_stream_info, number, 0),
	IPC_INT(struct ipc_stream_info, size, 1ULL << 40),
	IPC_INT_NZ(struct ipc_stream_info, fragment_size, 1ULL << 30),
	IPC_INT(struct ipc_stream_info, flags, IPC_STREAM_F_VERIFIED),
};
IPC_DESC(stream_info_desc, struct ipc_stream_info, 0, NULL);

static int
stream_read_check(const void *msg)
{
	const struct ipc_stream_read *q = msg;

	return q->end <= q->offset ? IPC_DEC_RANGE : 0;
}

static const struct ipc_field stream_read_desc_f[] = {
	IPC_INT(struct ipc_stream_read, number, 0),
	IPC_INT(struct ipc_stream_read, offset, 0),
	IPC_INT(struct ipc_stream_read, end, 0),
	IPC_INT_NZ(struct ipc_stream_read, max, IPC_STREAM_READ_MAX),
};
IPC_DESC(stream_read_desc, struct ipc_stream_read, 0, stream_read_check);

static const struct ipc_field file_fd_req_desc_f[] = {
	IPC_BYTES(struct ipc_file_fd_req, hash),
};
IPC_DESC(file_fd_req_desc, struct ipc_file_fd_req, 0, NULL);

/* IPC_FILE_FD's reply: the size of the file whose descriptor rides along. */
struct file_fd_rep {
	uint64_t	size;
};

static const struct ipc_field file_fd_rep_desc_f[] = {
	IPC_INT(struct file_fd_rep, size, 1ULL << 40),
};
IPC_DESC(file_fd_rep_desc, struct file_fd_rep, 0, NULL);

IPC_CODEC(dl_begin, struct ipc_dl_begin, IPC_DL_BEGIN, dl_begin_desc)
IPC_CODEC(dl_commit, struct ipc_dl_commit, IPC_DL_COMMIT, dl_commit_desc)
IPC_CODEC(dl_data, struct ipc_dl_data, IPC_DL_DATA, dl_data_desc)
IPC_CODEC(get_req, struct ipc_get_req, IPC_GET, get_req_desc)
IPC_CODEC(probe_req, struct ipc_get_req, IPC_PROBE, get_req_desc)
IPC_CODEC(dl_abort, struct ipc_dl_abort, IPC_DL_ABORT, dl_abort_desc)

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

IPC_CODEC(xfer_ctl, struct ipc_xfer_ctl, IPC_XFER_CTL, xfer_ctl_desc)

long
ipc_xfer_list_begin(uint8_t *out, size_t cap, uint32_t total)
{
	return ipc_list_begin(out, cap, IPC_TRANSFERS, total);
}

int
ipc_xfer_list_add(uint8_t *out, size_t cap, size_t *off, const struct ipc_xfer_info *x)
{
	return ipc_list_add(out, cap, off, IPC_HDR_LEN + 8, 0, &xfer_info_desc, x);
}

int
ipc_xfer_list_decode(const uint8_t *p, size_t len, struct ipc_xfer_list *l)
{
	struct ipc_xfer_info scratch;

	return ipc_list_decode(p, len, IPC_TRANSFERS, l, &xfer_info_desc, &scratch);
}

int
ipc_xfer_list_next(struct ipc_xfer_list *l, struct ipc_xfer_info *x)
{
	return ipc_list_next(l->p, l->len, &l->off, &xfer_info_desc, x);
}

/* ---- streams for apid (IPC_STREAM_*) and stored files by descriptor ---- */

IPC_CODEC(stream_open, struct ipc_get_req, IPC_STREAM_OPEN, get_req_desc)
IPC_CODEC(stream_info, struct ipc_stream_info, IPC_STREAM_OPEN, stream_info_desc)
IPC_CODEC(stream_read, struct ipc_stream_read, IPC_STREAM_READ, stream_read_desc)
IPC_CODEC(file_fd_req, struct ipc_file_fd_req, IPC_FILE_FD, file_fd_req_desc)

long
ipc_file_fd_rep_encode(uint8_t *out, size_t cap, uint64_t size)
{
	struct file_fd_rep q = { size };

	return ipc_encode(out, cap, IPC_FILE_FD, &file_fd_rep_desc, &q);
}

int
ipc_file_fd_rep_decode(const uint8_t *p, size_t len, uint64_t *size)
{
	struct file_fd_rep q;
	int rc;

	if ((rc = ipc_decode(p, len, IPC_FILE_FD, &file_fd_rep_desc, &q)) == 0)
		*size = q.size;
	return rc;
}
