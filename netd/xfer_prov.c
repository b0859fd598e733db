/*
 * xfer_prov.c — the provider of file transfers (docs/protocol.md §9.3): a
 * peer's REQUEST_START for a hash; storaged says whether the warehouse
 * holds it (IPC_XSTAT); NOT_AVAILABLE, or the requester's transfer ID and
 * sequence registered, UDT client, the 16-byte header then the bytes read
 * from storaged in large IPC_CAT chunks, a few ahead.  Also the answer to
 * our merkle-leaf requests (XFER_PROTO_MERKLE, xfer_merkle.h) from
 * storaged's companion.  See xfer_file.h.
 */
#define _GNU_SOURCE	/* preadv2, RWF_NOWAIT */
#include <sys/stat.h>
#include <sys/uio.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"
#include "netd.h"
#include "secure_link.h"
#include "udt.h"
#include "wire_msg.h"
#include "xfer_file.h"

static uint8_t xfer_prov_mkdata[XFER_MK_HDR + XFER_MK_BATCH * 32];
static uint8_t xfer_prov_mkmsg[WIRE_TRANSFER_HDR_SIZE + sizeof(xfer_prov_mkdata)];

static void
xfer_prov_cat_done(struct netd *n, struct xfer_sess *xs, uint32_t gen, uint64_t off,
    const uint8_t *rep, size_t len, const char *err)
{
	struct xfer_file_sess *s = FS(xs);
	struct xfer_file_slot *sl = NULL;
	struct ipc_data d;
	unsigned i;

	(void)n;
	(void)gen;
	if (s == NULL)
		return;
	for (i = 0; i < XF_SERVE_AHEAD; i++)
		if (s->slots[i].state == XS_WAIT && s->slots[i].off == off)
			sl = &s->slots[i];
	if (sl == NULL)
		return;
	if (rep == NULL || ipc_data_decode(rep, len, IPC_CAT, &d) != 0) {
		xfer_file_store_failed(s, 1, rep, len, err);
		return;
	}
	/* The file shrank or changed under us: stop rather than send garbage. */
	if (d.offset != off || d.len != sl->len) {
		xfer_file_end(s, 0, 1, "storaged returned fewer bytes than the file holds");
		return;
	}
	sl->have = d.len;
	sl->pos = 0;
	/*
	 * The next bytes of the stream (the head slot, the header written):
	 * what UDT's send buffer takes now goes there straight from the reply,
	 * only the rest is kept in the slot, at its place.
	 */
	if (sl == &s->slots[s->head] && s->hdr_done && s->x.conn != NULL &&
	    s->state != IPC_XFER_STARTING) {
		ssize_t w = udt_write(s->x.conn, d.bytes, d.len);

		if (w < 0) {
			xfer_file_end(s, 0, 0, udt_strerror((int)w));
			return;
		}
		sl->pos = (uint32_t)w;
		s->done += (uint64_t)w;
	}
	memcpy(sl->data + sl->pos, d.bytes + sl->pos, d.len - sl->pos);
	sl->state = XS_READY;
	xfer_file_pump(s);
}

/*
 * A chunk straight from the stored file when all of it is in the page
 * cache: 1, the slot ready.  0: not cached (RWF_NOWAIT said EAGAIN), short,
 * or no descriptor — storaged reads it (IPC_CAT), so a disk read never
 * blocks netd's loop.  A miss still starts the kernel's readahead of the
 * range (RWF_NOWAIT only declines to wait for it), so the chunks after it
 * are likely cached by the time they are due.
 */
static int
xfer_prov_read_direct(struct xfer_file_sess *s, struct xfer_file_slot *sl)
{
	struct iovec iov = { sl->data, sl->len };
	ssize_t k;

	if (!s->rfd_on)
		return 0;
	k = preadv2(s->rfd, &iov, 1, (off_t)sl->off, RWF_NOWAIT);
	if (k != (ssize_t)sl->len) {
		s->rfd_misses++;
		return 0;
	}
	s->rfd_reads++;
	s->x.n->counters[IPC_NC_XFER_CHUNKS_CACHED]++;
	sl->have = sl->len;
	sl->pos = 0;
	sl->state = XS_READY;
	return 1;
}

/* Asks storaged for the next chunks of the range, into free slots. */
static int
xfer_prov_fetch(struct xfer_file_sess *s)
{
	struct xfer_file_slot *sl;
	struct ipc_read rd;
	uint8_t buf[128];
	uint64_t end = s->offset + s->total, left;
	long len;

	while (s->next_fetch < end && s->nslots < XF_SERVE_AHEAD) {
		sl = &s->slots[(s->head + s->nslots) % XF_SERVE_AHEAD];
		left = end - s->next_fetch;
		memset(&rd, 0, sizeof(rd));
		memcpy(rd.hash, s->hash, 32);
		rd.offset = s->next_fetch;
		rd.len = left > XF_SERVE_CHUNK ? XF_SERVE_CHUNK : (uint32_t)left;
		if (sl->data == NULL && (sl->data = malloc(XF_SERVE_CHUNK)) == NULL)
			return -1;
		sl->state = XS_WAIT;
		sl->off = rd.offset;
		sl->len = rd.len;
		sl->have = sl->pos = 0;
		if (xfer_prov_read_direct(s, sl)) {
			s->nslots++;
			s->next_fetch += rd.len;
			continue;
		}
		s->x.n->counters[IPC_NC_XFER_CHUNKS_STORAGED]++;
		if ((len = ipc_read_encode(buf, sizeof(buf), IPC_CAT, &rd)) < 0 ||
		    xfer_store(&s->x, 1, buf, (size_t)len, XF_IPC_TIMEOUT_MS, xfer_prov_cat_done,
		    rd.offset) != 0) {
			sl->state = XS_FREE;
			return -1;
		}
		s->nslots++;
		s->next_fetch += rd.len;
	}
	return 0;
}

/*
 * Serving a reference requester (no feature bit 3).  It closes without a
 * word once it has the announced bytes (§9.6), and its UDT never ACKs a
 * stream of fewer than 4 packets: tell UDT where our stream ends
 * (udt_stream_end), so the session ends on the ACK of its last byte instead
 * of the 60 s idle expiry.  Its receiver stalls now and then: blind
 * retransmission sends probes, not the window (udt_set_probe_only).  Our
 * own nodes ACK every tail on a timer: nothing changes for them.
 */
static void
xfer_prov_ref(struct xfer_file_sess *s)
{
	struct peer *p = peer_find(s->x.n->peers, s->x.pub);

	if (p != NULL && !(p->features & WIRE_FEATURE_MERKLE)) {
		udt_set_probe_only(s->x.conn);
		udt_stream_end(s->x.conn, WIRE_FILE_HEADER_SIZE + s->total);
	}
}

void
xfer_prov_pump(struct xfer_file_sess *s)
{
	struct xfer_file_slot *sl;
	ssize_t w;

	if (s->x.conn == NULL || s->state == IPC_XFER_STARTING)
		return;		/* storaged has not said whether the file exists */
	if (udt_is_closed(s->x.conn)) {
		xfer_file_end(s, 0, 0, udt_strerror(udt_error(s->x.conn)));
		return;
	}
	while (!s->hdr_done) {
		w = udt_write(s->x.conn, s->hdr + s->hdr_pos, WIRE_FILE_HEADER_SIZE - s->hdr_pos);
		if (w < 0) {
			xfer_file_end(s, 0, 0, udt_strerror((int)w));
			return;
		}
		if (w == 0)
			return;
		s->hdr_pos += (size_t)w;
		s->hdr_done = s->hdr_pos == WIRE_FILE_HEADER_SIZE;
	}
	for (;;) {
		if (xfer_prov_fetch(s) != 0) {
			xfer_file_end(s, 0, 1, "cannot read the file from storaged");
			return;
		}
		if (s->nslots == 0)
			break;
		sl = &s->slots[s->head];
		if (sl->state != XS_READY)
			break;
		while (sl->pos < sl->have) {
			w = udt_write(s->x.conn, sl->data + sl->pos, sl->have - sl->pos);
			if (w < 0) {
				xfer_file_end(s, 0, 0, udt_strerror((int)w));
				return;
			}
			if (w == 0)
				return;		/* send buffer full: ACKs make room */
			sl->pos += (uint32_t)w;
			s->done += (uint64_t)w;
		}
		sl->state = XS_FREE;	/* data kept for reuse */
		s->head = (s->head + 1) % XF_SERVE_AHEAD;
		s->nslots--;
	}
	/* Everything written and acknowledged: nothing is sent at the end (§9.6). */
	if (s->done == s->total && s->nslots == 0 && udt_is_connected(s->x.conn) &&
	    udt_send_pending(s->x.conn) == 0)
		xfer_file_end(s, 1, 0, "complete");
}

static void
xfer_prov_fd_done(struct netd *n, struct xfer_sess *xs, uint32_t gen, uint64_t arg,
    const uint8_t *rep, size_t len, int fd, const char *err)
{
	struct xfer_file_sess *s = FS(xs);
	uint64_t size;
	struct stat sb;

	(void)n;
	(void)gen;
	(void)arg;
	(void)err;
	/* Only the file it stat'ed, unchanged: else keep reading via storaged. */
	if (s == NULL || fd < 0 || s->rfd_on || rep == NULL ||
	    ipc_file_fd_rep_decode(rep, len, &size) != 0 || size != s->file_size ||
	    fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    (uint64_t)sb.st_size != s->file_size) {
		if (fd >= 0)
			close(fd);
		return;
	}
	s->rfd = fd;
	s->rfd_on = 1;
	xfer_file_pump(s);
}

/*
 * Asks storaged for the file's read-only descriptor: storaged then has no
 * part in the cached chunks (each IPC_CAT cost it a read and a copy over
 * the socket, and netd a copy out of it).  Serving a file hands its bytes
 * to any peer anyway, so netd reading that one file widens nothing.
 */
static void
xfer_prov_ask_fd(struct xfer_file_sess *s)
{
	struct ipc_file_fd_req q;
	uint8_t buf[64];
	long len;

	memcpy(q.hash, s->hash, 32);
	if ((len = ipc_file_fd_req_encode(buf, sizeof(buf), &q)) > 0)
		(void)xfer_store_fd(&s->x, buf, (size_t)len, XF_IPC_TIMEOUT_MS,
		    xfer_prov_fd_done, 0);
}

static void
xfer_prov_stat_done(struct netd *n, struct xfer_sess *xs, uint32_t gen, uint64_t arg,
    const uint8_t *rep, size_t len, const char *err)
{
	struct xfer_file_sess *s = FS(xs);
	struct ipc_xstat_rep st;
	uint64_t limit;

	(void)n;
	(void)gen;
	(void)arg;
	if (s == NULL)
		return;
	if (rep == NULL || ipc_xstat_rep_decode(rep, len, &st) != 0) {
		/* We cannot tell: the reference would not have it either. */
		xfer_file_send_ctl(s->x.n, s->x.pub, s->hash, WIRE_TRANSFER_NOT_AVAILABLE, s->x.seq);
		xfer_file_store_failed(s, 0, rep, len, err);
		return;
	}
	if (!st.present) {
		s->x.n->counters[IPC_NC_XFER_REFUSED]++;
		xfer_file_send_ctl(s->x.n, s->x.pub, s->hash, WIRE_TRANSFER_NOT_AVAILABLE, s->x.seq);
		xfer_file_end(s, 0, 0, "not available (404)");
		return;
	}
	/* The reference's range checks (§9.3): a bad range is ignored silently. */
	limit = s->total;
	if (s->offset > st.size || (limit > 0 && limit > st.size - s->offset)) {
		s->x.n->counters[IPC_NC_XFER_REFUSED]++;
		xfer_file_end(s, 0, 0, "requested range outside the file: ignored");
		return;
	}
	if (limit == 0)
		limit = st.size - s->offset;
	s->file_size = st.size;
	s->total = limit;
	s->next_fetch = s->offset;
	xfer_prov_ask_fd(s);
	wire_file_header_encode(s->hdr, st.size, limit);
	if (udt_connect(s->x.conn) != UDT_OK) {
		xfer_file_end(s, 0, 1, "cannot start UDT");
		return;
	}
	xfer_prov_ref(s);
	s->state = IPC_XFER_RUNNING;
	s->data_start = xfer_now(s->x.n);
	xfer_file_pump(s);
}

/* A peer's merkle request with storaged: who to answer, on which sequence. */
struct xfer_prov_mk_q {
	struct netd		*n;
	uint8_t			 pub[PEERNET_PUBKEY_BYTES];
	uint8_t			 hash[32];
	uint32_t		 seq;
	uint64_t		 limit;
};

static void
xfer_prov_mk_served(void *arg, const uint8_t *rep, size_t len, const char *err)
{
	static struct ipc_xstat_rep st;
	struct xfer_prov_mk_q *q = arg;
	struct xfer_mk_reply r;
	struct wire_transfer t;
	struct peer *p;
	size_t dlen, wlen;

	(void)err;
	if (q->n->xfer != NULL)
		((struct xfer *)q->n->xfer)->files->mk_serving--;
	/* No tree (small file, none stored, storaged failed): no answer, as the reference. */
	if (rep == NULL || ipc_xstat_rep_decode(rep, len, &st) != 0 || !st.has_tree ||
	    (p = peer_find(q->n->peers, q->pub)) == NULL) {
		free(q);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.file_size = st.size;
	r.fragment_size = st.fragment_size;
	memcpy(r.root, st.root, 32);
	r.first = st.first;
	r.count = st.nleaves;
	if (q->limit != 0 && q->limit < r.count)
		r.count = (uint32_t)q->limit;
	r.leaves = st.leaves;
	memset(&t, 0, sizeof(t));
	t.control = WIRE_TRANSFER_ACTIVE;
	t.protocol = XFER_PROTO_MERKLE;
	memcpy(t.hash, q->hash, 32);
	t.data = xfer_prov_mkdata;
	if (xfer_mk_reply_encode(xfer_prov_mkdata, sizeof(xfer_prov_mkdata), &dlen, &r) == 0 &&
	    (t.data_len = dlen) >= 4 &&
	    wire_transfer_encode(xfer_prov_mkmsg, sizeof(xfer_prov_mkmsg), &wlen, &t) == 0)
		(void)node_send_peer(q->n, p, WIRE_CMD_TRANSFER, q->seq, xfer_prov_mkmsg, wlen);
	free(q);
}

/*
 * REQUEST_START with XFER_PROTO_MERKLE: the leaves of a stored file from
 * storaged's companion.  No session, no sequence registered (the answer
 * goes on the requester's); at most XF_MK_MAX_SERVING at once, more are
 * dropped (the requester resends, then does without).
 */
static void
xfer_prov_mk_serve(struct netd *n, struct peer *p, uint32_t seq,
    const struct wire_transfer *t)
{
	struct xfer_files *f = ((struct xfer *)n->xfer)->files;
	struct ipc_xstat_req rq;
	struct xfer_prov_mk_q *q;
	uint8_t buf[64];
	long len;

	if (f->mk_serving >= XF_MK_MAX_SERVING || (q = calloc(1, sizeof(*q))) == NULL) {
		n->counters[IPC_NC_XFER_REFUSED]++;
		return;
	}
	q->n = n;
	memcpy(q->pub, p->pub, PEERNET_PUBKEY_BYTES);
	memcpy(q->hash, t->hash, 32);
	q->seq = seq;
	q->limit = t->limit;
	memset(&rq, 0, sizeof(rq));
	memcpy(rq.hash, t->hash, 32);
	rq.flags = IPC_XSTAT_F_MERKLE;
	rq.first = t->offset;
	if ((len = ipc_xstat_req_encode(buf, sizeof(buf), &rq)) < 0 ||
	    n->env.store_send(n->env.ctx, buf, (size_t)len, XF_IPC_TIMEOUT_MS,
	    xfer_prov_mk_served, q, 0) != 0) {
		free(q);
		return;
	}
	f->mk_serving++;
}

/*
 * p, at its cap, asks for another file while one we serve it has been
 * silent for XF_STALE_MS: a live requester answers our resends within
 * UDT's 1 s back-off cap, so that one was lost (its netd restarted, or its
 * download failed when its storaged died) and would otherwise hold its
 * place until UDT gives up on it.  The stalest such session ends and the
 * new request is served; live ones (two streams of one file, say) are never
 * touched.  1 if one was ended.
 */
static int
xfer_prov_replace(struct netd *n, const struct peer *p)
{
	struct xfer_file_sess *s, *old = NULL;
	uint64_t now = xfer_now(n);
	int i;

	for (i = 0; i < XFER_SLOTS; i++)
		if ((s = xfer_file_at(n, i)) != NULL && s->x.role == XFER_PROVIDER &&
		    memcmp(s->x.pub, p->pub, PEERNET_PUBKEY_BYTES) == 0 &&
		    now - s->x.last_rx >= XF_STALE_MS &&
		    (old == NULL || s->x.last_rx < old->x.last_rx))
			old = s;
	if (old == NULL)
		return 0;
	xfer_file_end(old, 0, 0, "replaced: the peer was silent and asked for another transfer");
	return 1;
}

/* REQUEST_START from p (§9.3). */
void
xfer_prov_request(struct netd *n, struct peer *p, uint32_t seq, const struct wire_transfer *t)
{
	struct xfer_file_sess *s;
	struct ipc_xstat_req q;
	uint8_t buf[64];
	char peer[17];
	long len;

	if (t->protocol == XFER_PROTO_MERKLE) {
		xfer_prov_mk_serve(n, p, seq, t);
		return;
	}
	if (t->protocol != WIRE_TRANSFER_PROTO_UDT) {
		n->counters[IPC_NC_XFER_REFUSED]++;
		return;		/* the reference ignores other protocols */
	}
	if (xfer_serve_claim(n, &xfer_file_ops, p, t->transfer_id, seq))
		return;
	/* Caps: a peer cannot make us hold more; it hears TERMINATE instead. */
	if (xfer_count(n, &xfer_file_ops, XFER_PROVIDER, p->pub) >= XF_MAX_SERVE_PEER &&
	    xfer_prov_replace(n, p))
		n->counters[IPC_NC_XFER_REPLACED]++;
	if (xfer_count(n, &xfer_file_ops, XFER_PROVIDER, p->pub) >= XF_MAX_SERVE_PEER ||
	    xfer_count(n, &xfer_file_ops, XFER_PROVIDER, NULL) >= XF_MAX_SERVING ||
	    (s = xfer_file_new(n, XFER_PROVIDER, p->pub, t->hash)) == NULL) {
		log_debug("file request from %s… refused: too many transfers",
		    xfer_peer_text(p->pub, peer));
		n->counters[IPC_NC_XFER_REFUSED]++;
		xfer_file_send_ctl(n, p->pub, t->hash, WIRE_TRANSFER_TERMINATE, seq);
		return;
	}
	s->offset = t->offset;
	s->total = t->limit;	/* checked against the size once storaged answers */
	memcpy(q.hash, t->hash, 32);
	q.flags = 0;		/* a peer's request never makes storaged hash partials */
	if (xfer_serve_register(&s->x, t->transfer_id, seq) != 0 ||
	    (len = ipc_xstat_req_encode(buf, sizeof(buf), &q)) < 0 ||
	    xfer_store(&s->x, 0, buf, (size_t)len, XF_IPC_TIMEOUT_MS, xfer_prov_stat_done, 0) != 0) {
		const char *why = slink_refusal(n, p->pub);	/* require */

		xfer_file_end(s, 0, 0, why != NULL ? why : "cannot start");
		if (why != NULL)	/* the requester hears it at once, as for a full node */
			xfer_file_send_ctl(n, p->pub, t->hash, WIRE_TRANSFER_TERMINATE, seq);
		return;
	}
	log_debug("file request from %s…: offset %llu, limit %llu",
	    xfer_peer_text(p->pub, peer), (unsigned long long)t->offset,
	    (unsigned long long)t->limit);
}
