/*
 * test_ipc_xfer.c — the file transfer area of the IPC catalogue
 * (ipc_msg_xfer.h): round trips keeping every field, every truncation and
 * trailing byte rejected, out-of-range fields refused, the wrong type
 * refused, and the transfers list; the resume fields (a kept prefix in
 * IPC_XSTAT, the offset of IPC_DL_BEGIN), IPC_DL_ABORT's keep/discard,
 * IPC_XFER_CTL (pause/resume/cancel) and IPC_PROBE.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "ipc_msg.h"
#include "t.h"

static uint8_t buf[IPC_MSG_MAX];
static uint8_t big[IPC_MSG_MAX + 1];

/* Every proper prefix of the message in buf fails; one extra byte fails too. */
#define T_PREFIXES_AND_TRAILING_FAIL(n, dec) \
	T_TRUNCATIONS_FAIL(buf, n, dec, IPC_DEC_TRAILING)

static struct ipc_xstat_req xq;
static struct ipc_xstat_rep xr;
static struct ipc_dl_begin db;
static struct ipc_dl_commit dc;
static struct ipc_get_req gq;
static struct ipc_dl_abort da;
static struct ipc_xfer_ctl xc;
static struct ipc_dl_data dd;

static int dec_xstat_req(const uint8_t *p, size_t l) { return ipc_xstat_req_decode(p, l, &xq); }
static int dec_xstat_rep(const uint8_t *p, size_t l) { return ipc_xstat_rep_decode(p, l, &xr); }
static int dec_dl_begin(const uint8_t *p, size_t l) { return ipc_dl_begin_decode(p, l, &db); }
static int dec_dl_commit(const uint8_t *p, size_t l) { return ipc_dl_commit_decode(p, l, &dc); }
static int dec_get_req(const uint8_t *p, size_t l) { return ipc_get_req_decode(p, l, &gq); }
static int dec_probe_req(const uint8_t *p, size_t l) { return ipc_probe_req_decode(p, l, &gq); }
static int dec_dl_abort(const uint8_t *p, size_t l) { return ipc_dl_abort_decode(p, l, &da); }
static int dec_xfer_ctl(const uint8_t *p, size_t l) { return ipc_xfer_ctl_decode(p, l, &xc); }
static int dec_dl_data(const uint8_t *p, size_t l) { return ipc_dl_data_decode(p, l, &dd); }

static void
test_xstat_round_trips_and_rejects_truncation(void)
{
	struct ipc_xstat_req a;
	struct ipc_xstat_rep r;
	long n;
	int i;

	for (i = 0; i < 32; i++)
		a.hash[i] = (uint8_t)(i * 7 + 1);
	a.flags = IPC_XSTAT_F_PARTIAL | IPC_XSTAT_F_CHECK;
	n = ipc_xstat_req_encode(buf, sizeof(buf), &a);
	T_EQ_INT(n, IPC_HDR_LEN + 33);
	T_EQ_INT(dec_xstat_req(buf, (size_t)n), 0);
	T_EQ_MEM(xq.hash, a.hash, 32);
	T_EQ_INT(xq.flags, IPC_XSTAT_F_PARTIAL | IPC_XSTAT_F_CHECK);
	T_PREFIXES_AND_TRAILING_FAIL(n, dec_xstat_req);
	/* An unknown flag bit is refused. */
	a.flags = 0x08;
	n = ipc_xstat_req_encode(buf, sizeof(buf), &a);
	T_EQ_INT(dec_xstat_req(buf, (size_t)n), IPC_DEC_RANGE);
	a.flags = 0;
	n = ipc_xstat_req_encode(buf, sizeof(buf), &a);
	T_EQ_INT(dec_xstat_req(buf, (size_t)n), 0);

	memset(&r, 0, sizeof(r));
	r.present = 1;
	r.size = 0x0123456789abcdefULL;
	n = ipc_xstat_rep_encode(buf, sizeof(buf), &r);
	T_EQ_INT(n, IPC_HDR_LEN + 25);
	T_EQ_INT(dec_xstat_rep(buf, (size_t)n), 0);
	T_EQ_INT(xr.present, 1);
	T_EQ_U64(xr.size, 0x0123456789abcdefULL);
	T_EQ_U64(xr.partial, 0);
	T_EQ_U64(xr.partial_size, 0);
	T_PREFIXES_AND_TRAILING_FAIL(n, dec_xstat_rep);
}

static void
test_xstat_rep_rejects_bad_present_flag_and_size_of_absent(void)
{
	struct ipc_xstat_rep r;
	long n;

	memset(&r, 0, sizeof(r));
	n = ipc_xstat_rep_encode(buf, sizeof(buf), &r);
	T_EQ_INT(dec_xstat_rep(buf, (size_t)n), 0);
	T_EQ_INT(xr.present, 0);
	buf[IPC_HDR_LEN] = 2;
	T_EQ_INT(dec_xstat_rep(buf, (size_t)n), IPC_DEC_RANGE);
	buf[IPC_HDR_LEN] = 0;
	buf[IPC_HDR_LEN + 1] = 1;	/* absent with a size */
	T_EQ_INT(dec_xstat_rep(buf, (size_t)n), IPC_DEC_RANGE);
}

static void
test_dl_begin_round_trip_and_size_limit(void)
{
	struct ipc_dl_begin a;
	long n;

	memset(a.hash, 0xa5, 32);
	a.size = 10000000;
	a.offset = 4194304;
	n = ipc_dl_begin_encode(buf, sizeof(buf), &a);
	T_EQ_INT(n, IPC_HDR_LEN + 48);
	T_EQ_INT(dec_dl_begin(buf, (size_t)n), 0);
	T_EQ_MEM(db.hash, a.hash, 32);
	T_EQ_U64(db.size, 10000000);
	T_EQ_U64(db.offset, 4194304);
	T_PREFIXES_AND_TRAILING_FAIL(n, dec_dl_begin);
	/* Sizes beyond off_t are refused at the boundary. */
	a.offset = 0;
	a.size = (uint64_t)INT64_MAX + 1;
	n = ipc_dl_begin_encode(buf, sizeof(buf), &a);
	T_EQ_INT(dec_dl_begin(buf, (size_t)n), IPC_DEC_RANGE);
	a.size = (uint64_t)INT64_MAX;
	n = ipc_dl_begin_encode(buf, sizeof(buf), &a);
	T_EQ_INT(dec_dl_begin(buf, (size_t)n), 0);
}

/* a with leaves_len bytes of leaves, encoded into buf and decoded: -100 if it does not encode. */
static int
dl_data_with_leaves(struct ipc_dl_data *a, uint32_t leaves_len)
{
	long n;

	a->leaves_len = leaves_len;
	if ((n = ipc_dl_data_encode(buf, sizeof(buf), a)) < 0)
		return -100;
	return dec_dl_data(buf, (size_t)n);
}

/*
 * IPC_DL_DATA: the leaves netd checked travel before the bytes; netd
 * encodes only the header (bytes NULL) in front of its chunk.  Leaves not
 * a multiple of 32 bytes, or more than IPC_DL_LEAVES_MAX, are refused.
 */
static void
test_dl_data_round_trip_with_leaves_and_header_only(void)
{
	struct ipc_dl_data a;
	uint8_t leaves[(IPC_DL_LEAVES_MAX + 1) * 32], bytes[100];
	long n, h;
	size_t i;

	for (i = 0; i < sizeof(leaves); i++)
		leaves[i] = (uint8_t)(i * 13 + 5);
	for (i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)(i ^ 0x5a);
	memset(&a, 0, sizeof(a));
	a.id = 7;
	a.offset = 524288;
	a.leaves = leaves;
	a.leaves_len = 64;
	a.bytes = bytes;
	a.len = sizeof(bytes);
	n = ipc_dl_data_encode(buf, sizeof(buf), &a);
	T_EQ_INT(n, IPC_HDR_LEN + 4 + 8 + 4 + 64 + 4 + 100);
	T_EQ_INT(dec_dl_data(buf, (size_t)n), 0);
	T_EQ_INT(dd.id, 7);
	T_EQ_U64(dd.offset, 524288);
	T_EQ_INT(dd.leaves_len, 64);
	T_EQ_MEM(dd.leaves, leaves, 64);
	T_EQ_INT(dd.len, 100);
	T_EQ_MEM(dd.bytes, bytes, 100);
	T_PREFIXES_AND_TRAILING_FAIL(n, dec_dl_data);
	/* netd's way: the header alone, the chunk already behind it. */
	a.bytes = NULL;
	h = ipc_dl_data_encode(big, sizeof(big), &a);
	T_EQ_INT(h, n - 100);
	T_EQ_MEM(big, buf, (size_t)h);
	/* With the most leaves it is exactly the room netd keeps for it. */
	T_EQ_INT(IPC_DL_DATA_HEAD_MAX, IPC_HDR_LEN + 4 + 8 + 4 + IPC_DL_LEAVES_MAX * 32 + 4);
	a.leaves_len = IPC_DL_LEAVES_MAX * 32;
	T_EQ_INT(ipc_dl_data_encode(big, sizeof(big), &a), IPC_DL_DATA_HEAD_MAX);
	a.leaves_len = 64;
	/* No leaves: storaged hashes the fragments itself. */
	a.bytes = bytes;
	T_EQ_INT(dl_data_with_leaves(&a, 0), 0);
	T_EQ_INT(dd.leaves_len, 0);
	/* 33 bytes of leaves: not a whole leaf. */
	T_EQ_INT(dl_data_with_leaves(&a, 33), IPC_DEC_RANGE);
	/* One leaf over the bound: the encoder refuses, a forged message too. */
	T_EQ_INT(dl_data_with_leaves(&a, (IPC_DL_LEAVES_MAX + 1) * 32), -100);
	T_EQ_INT(dl_data_with_leaves(&a, IPC_DL_LEAVES_MAX * 32), 0);
	buf[IPC_HDR_LEN + 12] = (uint8_t)((IPC_DL_LEAVES_MAX + 1) * 32);
	T_EQ_INT(dec_dl_data(buf, (size_t)(IPC_HDR_LEN + 4 + 8 + 4 +
	    IPC_DL_LEAVES_MAX * 32 + 4 + a.len)), IPC_DEC_RANGE);
}

static void
test_dl_commit_and_get_round_trip(void)
{
	struct ipc_dl_commit c;
	struct ipc_get_req g;
	long n;

	c.id = 0xdeadbeef;
	memset(c.hash, 0x3c, 32);
	c.hash[31] = 0x01;
	n = ipc_dl_commit_encode(buf, sizeof(buf), &c);
	T_EQ_INT(n, IPC_HDR_LEN + 36);
	T_EQ_INT(dec_dl_commit(buf, (size_t)n), 0);
	T_EQ_INT(dc.id, 0xdeadbeef);
	T_EQ_MEM(dc.hash, c.hash, 32);
	T_PREFIXES_AND_TRAILING_FAIL(n, dec_dl_commit);

	memset(g.hash, 0x11, 32);
	memset(g.node_id, 0x22, 32);
	n = ipc_get_req_encode(buf, sizeof(buf), &g);
	T_EQ_INT(n, IPC_HDR_LEN + 64);
	T_EQ_INT(dec_get_req(buf, (size_t)n), 0);
	T_EQ_MEM(gq.hash, g.hash, 32);
	T_EQ_MEM(gq.node_id, g.node_id, 32);
	T_PREFIXES_AND_TRAILING_FAIL(n, dec_get_req);
}

static void
test_decoders_refuse_another_type_and_error_replies(void)
{
	struct ipc_get_req g;
	long n;

	memset(&g, 0, sizeof(g));
	n = ipc_get_req_encode(buf, sizeof(buf), &g);
	/* Same body length as nothing else here: only the type differs. */
	buf[0] = IPC_DL_BEGIN;
	T_EQ_INT(dec_get_req(buf, (size_t)n), IPC_DEC_TYPE);
	buf[0] = IPC_GET;
	buf[2] = IPC_ERR_FAILED;
	T_ASSERT(dec_get_req(buf, (size_t)n) != 0);
}

static void
fill_info(struct ipc_xfer_info *x, int k)
{
	memset(x, 0, sizeof(*x));
	x->number = 1000 + (uint32_t)k;
	x->role = k % 2 ? IPC_XFER_UPLOAD : IPC_XFER_DOWNLOAD;
	x->state = (uint8_t)(k % IPC_XFER_STATE_MAX);
	memset(x->node_id, 0x40 + k, 32);
	memset(x->hash, 0x50 + k, 32);
	x->flags = (uint8_t)(k % 4);
	x->offset = 4194304 * (uint64_t)k;
	x->done = 5000000 + (uint64_t)k;
	x->total = 10000000;
	x->bad_fragments = (uint32_t)k * 3;
	x->restarts = (uint32_t)k + 7;
	x->rate = 38000000;
	x->elapsed_ms = 263 + (uint64_t)k;
	if (x->state == IPC_XFER_FAILED)
		snprintf(x->error, sizeof(x->error), "the peer does not have this file (%d)", k);
}

static void
test_transfers_list_round_trip_keeps_every_field(void)
{
	static struct ipc_xfer_info a[5], b;
	static uint8_t again[sizeof(buf)];
	struct ipc_xfer_list l;
	size_t off, off2;
	long n;
	int i, rc;

	n = ipc_xfer_list_begin(buf, sizeof(buf), 5);
	T_ASSERT(n > 0);
	off = (size_t)n;
	for (i = 0; i < 5; i++) {
		fill_info(&a[i], i);
		T_EQ_INT(ipc_xfer_list_add(buf, sizeof(buf), &off, &a[i]), 0);
	}
	T_EQ_INT(ipc_xfer_list_decode(buf, off, &l), 0);
	T_EQ_INT(l.count, 5);
	T_EQ_INT(l.total, 5);
	/*
	 * Every field kept: the entries as decoded (b filled with 0xa5 first,
	 * so that a field the decoder skips shows) make the same list again.
	 */
	T_EQ_INT(ipc_xfer_list_begin(again, sizeof(again), 5), n);
	off2 = (size_t)n;
	for (i = 0; i < 5; i++) {
		memset(&b, 0xa5, sizeof(b));
		b.error[IPC_XFER_ERR_MAX] = '\0';
		T_EQ_INT(ipc_xfer_list_next(&l, &b), 1);
		T_EQ_INT(ipc_xfer_list_add(again, sizeof(again), &off2, &b), 0);
	}
	T_EQ_INT(off2, off);
	T_EQ_MEM(again, buf, off);
	T_EQ_INT(ipc_xfer_list_next(&l, &b), 0);
	/* Every truncation fails, a trailing byte too. */
	for (i = 0; i < (int)off; i++)
		if ((rc = ipc_xfer_list_decode(buf, (size_t)i, &l)) == 0) {
			T_FAIL("list prefix of %d bytes decoded", i);
			break;
		}
	memcpy(big, buf, off);
	big[off] = 0;
	T_EQ_INT(ipc_xfer_list_decode(big, off + 1, &l), IPC_DEC_TRAILING);
}

static void
test_transfers_list_rejects_bad_role_state_and_long_error(void)
{
	static struct ipc_xfer_info x, y;
	struct ipc_xfer_list l;
	size_t off, base;
	long n;

	n = ipc_xfer_list_begin(buf, sizeof(buf), 1);
	base = off = (size_t)n;
	fill_info(&x, 0);
	T_EQ_INT(ipc_xfer_list_add(buf, sizeof(buf), &off, &x), 0);
	T_EQ_INT(ipc_xfer_list_decode(buf, off, &l), 0);
	buf[base + 4] = 3;		/* role */
	T_EQ_INT(ipc_xfer_list_decode(buf, off, &l), IPC_DEC_RANGE);
	buf[base + 4] = IPC_XFER_DOWNLOAD;
	buf[base + 5] = IPC_XFER_STATE_MAX;	/* state */
	T_EQ_INT(ipc_xfer_list_decode(buf, off, &l), IPC_DEC_RANGE);
	buf[base + 5] = IPC_XFER_PAUSED;
	T_EQ_INT(ipc_xfer_list_decode(buf, off, &l), 0);
	buf[base + 70] = 0x10;		/* flags: an unknown bit (0x08 is a stream) */
	T_EQ_INT(ipc_xfer_list_decode(buf, off, &l), IPC_DEC_RANGE);
	buf[base + 70] = IPC_XFER_F_PROBE | IPC_XFER_F_HASH_OK;
	T_EQ_INT(ipc_xfer_list_decode(buf, off, &l), 0);
	buf[base + 70] = IPC_XFER_F_FRAGMENTS;	/* verified per fragment */
	T_EQ_INT(ipc_xfer_list_decode(buf, off, &l), 0);
	T_EQ_INT(ipc_xfer_list_next(&l, &y), 1);
	T_EQ_INT(y.flags, IPC_XFER_F_FRAGMENTS);
	/* An error longer than IPC_XFER_ERR_MAX is refused by the encoder. */
	off = base;
	memset(x.error, 'e', sizeof(x.error) - 1);
	x.error[sizeof(x.error) - 1] = '\0';
	T_EQ_INT(ipc_xfer_list_add(buf, sizeof(buf), &off, &x), 0);
	x.error[IPC_XFER_ERR_MAX] = 'e';	/* no NUL within the field */
	off = base;
	T_EQ_INT(ipc_xfer_list_add(buf, sizeof(buf), &off, &x), -1);
	T_EQ_INT(off, base);
}

static void
test_names_of_types_and_states(void)
{
	T_EQ_STR(ipc_type_name(IPC_GET), "get");
	T_EQ_STR(ipc_type_name(IPC_TRANSFERS), "transfers");
	T_EQ_STR(ipc_type_name(IPC_DL_COMMIT), "download-commit");
	T_EQ_STR(ipc_type_name(IPC_XSTAT), "xstat");
	T_EQ_STR(ipc_xfer_state_name(IPC_XFER_DONE), "done");
	T_EQ_STR(ipc_xfer_state_name(IPC_XFER_FAILED), "failed");
	T_EQ_STR(ipc_xfer_state_name(IPC_XFER_PAUSED), "paused");
	T_EQ_STR(ipc_xfer_state_name(99), "unknown");
	T_EQ_STR(ipc_type_name(IPC_XFER_CTL), "transfer-control");
	T_EQ_STR(ipc_type_name(IPC_PROBE), "probe");
	T_EQ_STR(ipc_xfer_op_name(IPC_XFER_CANCEL), "cancel");
	T_EQ_STR(ipc_xfer_op_name(0), "unknown");
}

static void
test_xstat_rep_partial_round_trip_and_range(void)
{
	struct ipc_xstat_rep r;
	long n;

	memset(&r, 0, sizeof(r));
	r.partial = 41943040;
	r.partial_size = 100000000;
	n = ipc_xstat_rep_encode(buf, sizeof(buf), &r);
	T_EQ_INT(dec_xstat_rep(buf, (size_t)n), 0);
	T_EQ_INT(xr.present, 0);
	T_EQ_U64(xr.partial, 41943040);
	T_EQ_U64(xr.partial_size, 100000000);
	T_PREFIXES_AND_TRAILING_FAIL(n, dec_xstat_rep);
	/* A complete prefix is never "kept": it would have been committed. */
	r.partial = r.partial_size;
	n = ipc_xstat_rep_encode(buf, sizeof(buf), &r);
	T_EQ_INT(dec_xstat_rep(buf, (size_t)n), IPC_DEC_RANGE);
	/* A prefix without a size. */
	r.partial = 1;
	r.partial_size = 0;
	n = ipc_xstat_rep_encode(buf, sizeof(buf), &r);
	T_EQ_INT(dec_xstat_rep(buf, (size_t)n), IPC_DEC_RANGE);
	/* A size beyond off_t. */
	r.partial = 0;
	r.partial_size = UINT64_MAX;
	n = ipc_xstat_rep_encode(buf, sizeof(buf), &r);
	T_EQ_INT(dec_xstat_rep(buf, (size_t)n), IPC_DEC_RANGE);
}

static void
test_dl_begin_refuses_offset_past_size(void)
{
	struct ipc_dl_begin a;
	long n;

	memset(&a, 0, sizeof(a));
	a.size = 1000;
	a.offset = 1000;	/* the end: nothing follows, still valid */
	n = ipc_dl_begin_encode(buf, sizeof(buf), &a);
	T_EQ_INT(dec_dl_begin(buf, (size_t)n), 0);
	a.offset = 1001;
	n = ipc_dl_begin_encode(buf, sizeof(buf), &a);
	T_EQ_INT(dec_dl_begin(buf, (size_t)n), IPC_DEC_RANGE);
	a.offset = UINT64_MAX;
	n = ipc_dl_begin_encode(buf, sizeof(buf), &a);
	T_EQ_INT(dec_dl_begin(buf, (size_t)n), IPC_DEC_RANGE);
}

static void
test_dl_abort_round_trip_keep_and_discard(void)
{
	struct ipc_dl_abort a;
	long n;

	a.id = 0x01020304;
	a.discard = 0;
	memset(a.hash, 0x77, 32);
	n = ipc_dl_abort_encode(buf, sizeof(buf), &a);
	T_EQ_INT(n, IPC_HDR_LEN + 37);
	T_EQ_INT(dec_dl_abort(buf, (size_t)n), 0);
	T_EQ_INT(da.id, 0x01020304);
	T_EQ_INT(da.discard, 0);
	T_EQ_MEM(da.hash, a.hash, 32);
	T_PREFIXES_AND_TRAILING_FAIL(n, dec_dl_abort);
	/* Discard by hash alone (no open download): id 0. */
	a.id = 0;
	a.discard = 1;
	n = ipc_dl_abort_encode(buf, sizeof(buf), &a);
	T_EQ_INT(dec_dl_abort(buf, (size_t)n), 0);
	T_EQ_INT(da.discard, 1);
	/* id 0 with "keep" means nothing: refused. */
	a.discard = 0;
	n = ipc_dl_abort_encode(buf, sizeof(buf), &a);
	T_EQ_INT(dec_dl_abort(buf, (size_t)n), IPC_DEC_RANGE);
	a.id = 5;
	a.discard = 2;
	n = ipc_dl_abort_encode(buf, sizeof(buf), &a);
	T_EQ_INT(dec_dl_abort(buf, (size_t)n), IPC_DEC_RANGE);
}

static void
test_xfer_ctl_round_trip_and_range(void)
{
	struct ipc_xfer_ctl q;
	long n;
	uint8_t op;

	for (op = IPC_XFER_PAUSE; op <= IPC_XFER_CANCEL; op++) {
		q.number = 0x7fff0001u + op;
		q.op = op;
		n = ipc_xfer_ctl_encode(buf, sizeof(buf), &q);
		T_EQ_INT(n, IPC_HDR_LEN + 5);
		T_EQ_INT(dec_xfer_ctl(buf, (size_t)n), 0);
		T_EQ_INT(xc.number, q.number);
		T_EQ_INT(xc.op, op);
		T_PREFIXES_AND_TRAILING_FAIL(n, dec_xfer_ctl);
	}
	q.number = 3;
	q.op = 0;
	n = ipc_xfer_ctl_encode(buf, sizeof(buf), &q);
	T_EQ_INT(dec_xfer_ctl(buf, (size_t)n), IPC_DEC_RANGE);
	q.op = IPC_XFER_CANCEL + 1;
	n = ipc_xfer_ctl_encode(buf, sizeof(buf), &q);
	T_EQ_INT(dec_xfer_ctl(buf, (size_t)n), IPC_DEC_RANGE);
	/* Transfer numbers start at 1. */
	q.number = 0;
	q.op = IPC_XFER_PAUSE;
	n = ipc_xfer_ctl_encode(buf, sizeof(buf), &q);
	T_EQ_INT(dec_xfer_ctl(buf, (size_t)n), IPC_DEC_RANGE);
}

static void
test_probe_request_is_its_own_type(void)
{
	struct ipc_get_req g;
	long n;

	memset(g.hash, 0x61, 32);
	memset(g.node_id, 0x62, 32);
	n = ipc_probe_req_encode(buf, sizeof(buf), &g);
	T_EQ_INT(n, IPC_HDR_LEN + 64);
	T_EQ_INT(dec_probe_req(buf, (size_t)n), 0);
	T_EQ_MEM(gq.hash, g.hash, 32);
	T_EQ_MEM(gq.node_id, g.node_id, 32);
	T_PREFIXES_AND_TRAILING_FAIL(n, dec_probe_req);
	/* A probe is not a get (it must never reach the warehouse), nor the reverse. */
	T_EQ_INT(dec_get_req(buf, (size_t)n), IPC_DEC_TYPE);
	n = ipc_get_req_encode(buf, sizeof(buf), &g);
	T_EQ_INT(dec_probe_req(buf, (size_t)n), IPC_DEC_TYPE);
}


static void
test_xstat_merkle_request_carries_first_leaf(void)
{
	struct ipc_xstat_req a;
	long n;

	memset(&a, 0, sizeof(a));
	memset(a.hash, 0x3c, 32);
	a.flags = IPC_XSTAT_F_MERKLE;
	a.first = 0x0102030405060708ULL;
	n = ipc_xstat_req_encode(buf, sizeof(buf), &a);
	T_EQ_INT(n, IPC_HDR_LEN + 33 + 8);
	T_EQ_INT(dec_xstat_req(buf, (size_t)n), 0);
	T_EQ_INT(xq.flags, IPC_XSTAT_F_MERKLE);
	T_EQ_U64(xq.first, 0x0102030405060708ULL);
	T_EQ_MEM(xq.hash, a.hash, 32);
	T_PREFIXES_AND_TRAILING_FAIL(n, dec_xstat_req);
	/* Without the flag the field is neither sent nor read. */
	a.flags = 0;
	n = ipc_xstat_req_encode(buf, sizeof(buf), &a);
	T_EQ_INT(n, IPC_HDR_LEN + 33);
	T_EQ_INT(dec_xstat_req(buf, (size_t)n), 0);
	T_EQ_U64(xq.first, 0);
}

/* 10000000 bytes: 39 fragments of 256 KiB; leaves 32..38 (the last batch). */
static void
xstat_tree(struct ipc_xstat_rep *r)
{
	unsigned i;

	memset(r, 0, sizeof(*r));
	r->present = 1;
	r->size = 10000000;
	r->has_tree = 1;
	r->fragment_size = 262144;
	r->fragment_count = 39;
	memset(r->root, 0xee, 32);
	r->first = 32;
	r->nleaves = 7;
	for (i = 0; i < 7 * 32; i++)
		r->leaves[i] = (uint8_t)(i * 13 + 5);
}

static void
test_xstat_rep_tree_round_trip_and_truncation(void)
{
	struct ipc_xstat_rep r;
	long n;
	size_t k;

	xstat_tree(&r);
	n = ipc_xstat_rep_encode(buf, sizeof(buf), &r);
	T_EQ_INT(n, IPC_HDR_LEN + 25 + 60 + 7 * 32);
	T_EQ_INT(dec_xstat_rep(buf, (size_t)n), 0);
	T_EQ_INT(xr.has_tree, 1);
	T_EQ_U64(xr.fragment_size, 262144);
	T_EQ_U64(xr.fragment_count, 39);
	T_EQ_U64(xr.first, 32);
	T_EQ_INT(xr.nleaves, 7);
	T_EQ_MEM(xr.root, r.root, 32);
	T_EQ_MEM(xr.leaves, r.leaves, 7 * 32);
	/* The reply without its tree section is a reply without a tree... */
	T_EQ_INT(dec_xstat_rep(buf, IPC_HDR_LEN + 25), 0);
	T_EQ_INT(xr.has_tree, 0);
	T_EQ_INT(xr.nleaves, 0);
	/* ... every other cut fails, and a trailing byte too. */
	for (k = IPC_HDR_LEN + 26; k < (size_t)n; k++)
		if (dec_xstat_rep(buf, k) == 0) {
			T_FAIL("prefix of %zu bytes (of %ld) decoded", k, n);
			break;
		}
	memcpy(big, buf, (size_t)n);
	big[n] = 0;
	T_EQ_INT(dec_xstat_rep(big, (size_t)n + 1), IPC_DEC_TRAILING);
}

static void
test_xstat_rep_tree_refuses_wrong_shape(void)
{
	struct ipc_xstat_rep r;
	long n;

	xstat_tree(&r);
	r.fragment_count = 40;		/* ceil(10000000 / 262144) is 39 */
	n = ipc_xstat_rep_encode(buf, sizeof(buf), &r);
	T_EQ_INT(dec_xstat_rep(buf, (size_t)n), IPC_DEC_RANGE);
	xstat_tree(&r);
	r.first = 33;			/* 33 + 7 leaves > 39 */
	n = ipc_xstat_rep_encode(buf, sizeof(buf), &r);
	T_EQ_INT(dec_xstat_rep(buf, (size_t)n), IPC_DEC_RANGE);
	xstat_tree(&r);
	r.size = 262144;		/* one fragment has no tree */
	r.fragment_count = 1;
	r.first = 0;
	r.nleaves = 1;
	n = ipc_xstat_rep_encode(buf, sizeof(buf), &r);
	T_EQ_INT(dec_xstat_rep(buf, (size_t)n), IPC_DEC_RANGE);
	xstat_tree(&r);
	r.fragment_size = 0;
	n = ipc_xstat_rep_encode(buf, sizeof(buf), &r);
	T_EQ_INT(dec_xstat_rep(buf, (size_t)n), IPC_DEC_RANGE);
	/* More leaves than a reply holds: refused by the encoder and the decoder. */
	xstat_tree(&r);
	r.nleaves = IPC_XSTAT_LEAVES_MAX + 1;
	T_EQ_INT(ipc_xstat_rep_encode(buf, sizeof(buf), &r), -1);
	xstat_tree(&r);
	n = ipc_xstat_rep_encode(buf, sizeof(buf), &r);
	buf_put_le32(buf + IPC_HDR_LEN + 25 + 56, IPC_XSTAT_LEAVES_MAX + 1);
	T_EQ_INT(dec_xstat_rep(buf, (size_t)n), IPC_DEC_RANGE);
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_xstat_round_trips_and_rejects_truncation);
	T_RUN(test_xstat_rep_rejects_bad_present_flag_and_size_of_absent);
	T_RUN(test_dl_begin_round_trip_and_size_limit);
	T_RUN(test_dl_commit_and_get_round_trip);
	T_RUN(test_dl_data_round_trip_with_leaves_and_header_only);
	T_RUN(test_decoders_refuse_another_type_and_error_replies);
	T_RUN(test_transfers_list_round_trip_keeps_every_field);
	T_RUN(test_transfers_list_rejects_bad_role_state_and_long_error);
	T_RUN(test_names_of_types_and_states);
	T_RUN(test_xstat_rep_partial_round_trip_and_range);
	T_RUN(test_dl_begin_refuses_offset_past_size);
	T_RUN(test_dl_abort_round_trip_keep_and_discard);
	T_RUN(test_xfer_ctl_round_trip_and_range);
	T_RUN(test_probe_request_is_its_own_type);
	T_RUN(test_xstat_merkle_request_carries_first_leaf);
	T_RUN(test_xstat_rep_tree_round_trip_and_truncation);
	T_RUN(test_xstat_rep_tree_refuses_wrong_shape);
	return t_done();
}
