/*
 * xfer_req.c — the requester of file transfers (docs/protocol.md §9.3):
 * ctl's IPC_GET and IPC_PROBE, pause/resume/cancel (IPC_XFER_CTL), runs
 * (fresh transfer ID and bi-sequence, UDT server, REQUEST_START from the
 * verified prefix storaged keeps), the stream's header, the bytes into
 * storaged as a download (IPC_DL_*) or, for a probe, only hashed.  See
 * xfer_file.h; merkle leaves and per-fragment checks are in xfer_merkle.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blake3.h"
#include "hex.h"
#include "ipc.h"
#include "log.h"
#include "merkle.h"
#include "netd.h"
#include "udt.h"
#include "wire_msg.h"
#include "secure_link.h"
#include "xfer_file.h"

/* storaged's prefix of a verification failure (serve_dl.c DL_VERIFY_FAIL). */
#define XF_VERIFY_FAIL		"verification failed"

static uint8_t xfer_req_msg[WIRE_TRANSFER_REQUEST_SIZE + 64];

/*
 * Closes the download in storaged: its verified prefix is kept for a later
 * resume, or discarded (cancel).  Fire and forget.
 */
void
xfer_req_dl_abort(struct xfer_file_sess *s, int discard)
{
	struct ipc_dl_abort a;
	uint8_t buf[64];
	long len;

	if (s->flags & IPC_XFER_F_PROBE)
		return;
	memset(&a, 0, sizeof(a));
	if (s->dl == DL_OPEN || s->dl == DL_COMMIT_SENT)
		a.id = s->dl_id;
	else if (!discard)
		return;
	a.discard = (uint8_t)(discard != 0);
	memcpy(a.hash, s->hash, 32);
	if ((len = ipc_dl_abort_encode(buf, sizeof(buf), &a)) > 0)
		xfer_store_forget(s->x.n, buf, (size_t)len, XF_IPC_TIMEOUT_MS);
	s->dl = DL_DEAD;
}

/* --- requester ------------------------------------------------------------ */


static int
xfer_req_is_verify_fail(const char *why)
{
	return strncmp(why, XF_VERIFY_FAIL, strlen(XF_VERIFY_FAIL)) == 0;
}

/* Ends this run's stream: UDT dropped, the provider told (§9.6), sequence freed. */
void
xfer_req_stop(struct xfer_file_sess *s)
{
	struct netd *n = s->x.n;

	if (s->x.conn == NULL)
		return;
	xfer_udt_drop(&s->x);
	xfer_file_send_ctl(n, s->x.pub, s->hash, WIRE_TRANSFER_TERMINATE, s->x.seq);
	xfer_seq_drop(&s->x);
}

/*
 * storaged refused the data (and discarded it): the peer sent bytes that do
 * not verify.  Counted; fetched again from offset 0 up to XF_MAX_REFETCH
 * times in all, then the download fails naming the peer.
 */
static void
xfer_req_verify_failed(struct xfer_file_sess *s, const char *why)
{
	char peer[17], msg[IPC_XFER_ERR_MAX + 1];

	s->x.n->counters[IPC_NC_XFER_BAD_FRAGMENT]++;
	s->bad++;
	s->dl = DL_NONE;
	xfer_req_stop(s);
	xfer_peer_text(s->x.pub, peer);
	if (s->bad >= XF_MAX_REFETCH) {
		snprintf(msg, sizeof(msg), "data from peer %s… failed verification %u "
		    "times: %s", peer, s->bad, why);
		xfer_file_end(s, 0, 0, msg);
		return;
	}
	log_warnx("file download %u from %s…: %s; fetching it again", s->number, peer, why);
	s->offset = 0;
	xfer_req_run_start(s);
}

/*
 * storaged refused the download's data or its commit, or did not answer:
 * a failed verification fetches the file again, anything else ends s.
 */
static void
xfer_req_dl_refused(struct xfer_file_sess *s, int terminate, const uint8_t *rep,
    size_t len, const char *err)
{
	char why[IPC_XFER_ERR_MAX + 1];

	xfer_store_err(rep, len, err, why, sizeof(why));
	if (rep != NULL && xfer_req_is_verify_fail(why)) {
		xfer_req_verify_failed(s, why);
		return;
	}
	s->dl = DL_DEAD;	/* storaged closed it already */
	xfer_file_end(s, 0, terminate, why);
}

static void
xfer_req_commit_done(struct netd *n, struct xfer_sess *xs, uint32_t gen, uint64_t arg,
    const uint8_t *rep, size_t len, const char *err)
{
	struct xfer_file_sess *s = xfer_file_run(xs, gen);

	if (s == NULL)
		return;
	if (rep != NULL && ipc_empty_decode(rep, len, IPC_DL_COMMIT) == 0) {
		s->dl = DL_NONE;
		xfer_file_end(s, 1, 0, (s->flags & IPC_XFER_F_FRAGMENTS) ?
		    "complete, every fragment and the hash verified" :
		    "complete, hash verified");
		return;
	}
	xfer_req_dl_refused(s, 0, rep, len, err);
}

static void
xfer_req_data_done(struct netd *n, struct xfer_sess *xs, uint32_t gen, uint64_t arg,
    const uint8_t *rep, size_t len, const char *err)
{
	struct xfer_file_sess *s = xfer_file_run(xs, gen);

	(void)n;
	if (s == NULL)
		return;
	if (rep == NULL || ipc_empty_decode(rep, len, IPC_DL_DATA) != 0) {
		xfer_req_dl_refused(s, 1, rep, len, err);
		return;
	}
	s->stored += arg;
	xfer_file_pump(s);
}

static void
xfer_req_begin_done(struct netd *n, struct xfer_sess *xs, uint32_t gen, uint64_t arg,
    const uint8_t *rep, size_t len, const char *err)
{
	struct xfer_file_sess *s = xfer_file_run(xs, gen);
	struct ipc_dl_abort a;
	uint8_t buf[64];
	uint32_t id;
	long l;

	(void)arg;
	if (s == NULL) {
		/* The session (or run) ended meanwhile: storaged closes what it opened. */
		memset(&a, 0, sizeof(a));
		if (rep != NULL && ipc_u32_decode(rep, len, IPC_DL_BEGIN, &a.id) == 0 &&
		    (l = ipc_dl_abort_encode(buf, sizeof(buf), &a)) > 0)
			xfer_store_forget(n, buf, (size_t)l, XF_IPC_TIMEOUT_MS);
		return;
	}
	if (rep == NULL || ipc_u32_decode(rep, len, IPC_DL_BEGIN, &id) != 0) {
		s->dl = DL_NONE;
		xfer_file_store_failed(s, 1, rep, len, err);
		return;
	}
	s->dl_id = id;
	s->dl = DL_OPEN;
	xfer_file_pump(s);
}

/* A chunk's verified leaves fit one IPC_DL_DATA. */
_Static_assert(XF_STORE_CHUNK / MERKLE_MIN_FRAGMENT_SIZE <= IPC_DL_LEAVES_MAX,
    "a chunk holds more fragments than IPC_DL_DATA carries leaves");

/* Hands the filled chunk to storaged; 0, or -1 (the session was ended). */
int
xfer_req_flush_chunk(struct xfer_file_sess *s)
{
	struct ipc_dl_data d;
	uint64_t first, end;
	long n;

	memset(&d, 0, sizeof(d));
	d.id = s->dl_id;
	d.offset = s->handed;
	d.len = (uint32_t)s->clen;
	/*
	 * Every fragment of the chunk was checked against its leaf
	 * (xfer_mk_verify): those leaves go along and storaged need not hash
	 * the fragments again.  Only on storaged's fragment grid.
	 */
	if (s->mk_on && s->vpos == s->clen && s->handed % s->mk_frag == 0 &&
	    s->mk_frag == merkle_fragment_size(s->file_size)) {
		first = s->handed / s->mk_frag;
		end = (s->handed + s->clen + s->mk_frag - 1) / s->mk_frag;
		if (end - first <= IPC_DL_LEAVES_MAX && end <= s->mk_count) {
			d.leaves = s->mk_leaves + first * 32;
			d.leaves_len = (uint32_t)((end - first) * 32);
		}
	}
	/* The header goes right in front of the data: no copy of the chunk. */
	n = ipc_dl_data_encode(s->chunk, XF_IPC_HDR_ROOM, &d);
	if (n < 0 || n > XF_IPC_HDR_ROOM) {
		xfer_file_end(s, 0, 1, "cannot encode the data for storaged");
		return -1;
	}
	memmove(s->chunk + XF_IPC_HDR_ROOM - n, s->chunk, (size_t)n);
	if (xfer_store(&s->x, 1, s->chunk + XF_IPC_HDR_ROOM - n, (size_t)n + s->clen,
	    XF_IPC_TIMEOUT_MS, xfer_req_data_done, s->clen) != 0) {
		xfer_file_end(s, 0, 1, "cannot hand the data to storaged");
		return -1;
	}
	s->handed += s->clen;
	s->clen = 0;
	s->vpos = 0;
	return 0;
}

/* storaged closed a paused download (its prefix kept): a resume may go on. */
static void
xfer_req_pause_closed(struct netd *n, struct xfer_sess *xs, uint32_t gen, uint64_t arg,
    const uint8_t *rep, size_t len, const char *err)
{
	struct xfer_file_sess *s = FS(xs);

	(void)n;
	(void)gen;
	(void)arg;
	(void)rep;
	(void)len;
	(void)err;
	if (s != NULL)
		xfer_file_pump(s);
}

static void	xfer_req_lookup(struct xfer_file_sess *s);

/* A paused download: close it in storaged once quiet, then wait for resume. */
static void
xfer_req_pump_paused(struct xfer_file_sess *s)
{
	struct ipc_dl_abort a;
	uint8_t buf[64];
	long n;

	if (s->dl == DL_BEGIN_SENT || s->x.ipc > 0)
		return;
	if (s->dl == DL_OPEN) {
		memset(&a, 0, sizeof(a));
		a.id = s->dl_id;
		memcpy(a.hash, s->hash, 32);
		s->dl = DL_NONE;
		if ((n = ipc_dl_abort_encode(buf, sizeof(buf), &a)) < 0 ||
		    xfer_store(&s->x, 0, buf, (size_t)n, XF_IPC_TIMEOUT_MS, xfer_req_pause_closed,
		    0) != 0)
			xfer_file_end(s, 0, 0, "cannot close the paused download in storaged");
		return;
	}
	if (s->want_resume) {
		s->want_resume = 0;
		xfer_req_lookup(s);
	}
}

/* The stream's 16-byte header (§9.3) arrived: check it, open the sink. 0 or -1. */
static int
xfer_req_header(struct xfer_file_sess *s)
{
	struct ipc_dl_begin b;
	uint8_t buf[128];
	uint64_t fsz, tsz;
	char peer[17], why[IPC_XFER_ERR_MAX + 1];
	long n;

	wire_file_header_decode(s->hdr, &fsz, &tsz);
	xfer_peer_text(s->x.pub, peer);
	/* We asked for everything from s->offset: that, and nothing else. */
	if (s->offset > fsz || tsz != fsz - s->offset) {
		snprintf(why, sizeof(why), "peer %s… announced %llu bytes of a %llu-byte "
		    "file for a request from offset %llu", peer, (unsigned long long)tsz,
		    (unsigned long long)fsz, (unsigned long long)s->offset);
		xfer_file_end(s, 0, 1, why);
		return -1;
	}
	if (s->file_size != 0 && fsz != s->file_size) {
		snprintf(why, sizeof(why), "peer %s… announces %llu bytes, the kept part "
		    "was begun for %llu", peer, (unsigned long long)fsz,
		    (unsigned long long)s->file_size);
		xfer_file_end(s, 0, 1, why);
		return -1;
	}
	if (fsz > XF_MAX_FILE) {
		xfer_file_end(s, 0, 1, "the peer announced a file larger than 1 TiB");
		return -1;
	}
	s->file_size = s->total = fsz;
	s->data_start = xfer_now(s->x.n);
	if (s->chunk == NULL && (s->chunk = malloc(XF_IPC_HDR_ROOM + XF_STORE_CHUNK)) == NULL) {
		xfer_file_end(s, 0, 1, "out of memory");
		return -1;
	}
	if (s->flags & IPC_XFER_F_PROBE)
		return 0;
	/* A refetch after a bad fragment continues the open download. */
	if (s->dl == DL_OPEN)
		return 0;
	memcpy(b.hash, s->hash, 32);
	b.size = fsz;
	b.offset = s->offset;
	if ((n = ipc_dl_begin_encode(buf, sizeof(buf), &b)) < 0 ||
	    xfer_store(&s->x, 0, buf, (size_t)n, XF_IPC_TIMEOUT_MS, xfer_req_begin_done, 0) != 0) {
		xfer_file_end(s, 0, 1, "cannot start the download in storaged");
		return -1;
	}
	s->dl = DL_BEGIN_SENT;
	return 0;
}

/* Probe: the bytes are hashed and dropped; nothing is stored. */
static void
xfer_req_pump_probe(struct xfer_file_sess *s)
{
	uint8_t got_hash[32];
	char hex[65], peer[17], why[IPC_XFER_ERR_MAX + 1];
	uint64_t want;
	ssize_t got;

	while (s->x.conn != NULL && s->done < s->total) {
		want = s->total - s->done;
		if (want > XF_STORE_CHUNK)
			want = XF_STORE_CHUNK;
		if ((got = xfer_req_read(s, s->chunk, (size_t)want)) <= 0)
			return;
		blake3_hasher_update(s->probe, s->chunk, (size_t)got);
		s->done += (uint64_t)got;
	}
	if (s->done < s->total)
		return;
	xfer_req_stop(s);
	blake3_hasher_finalize(s->probe, got_hash, 32);
	if (memcmp(got_hash, s->hash, 32) == 0) {
		s->flags |= IPC_XFER_F_HASH_OK;
		xfer_file_end(s, 1, 0, "complete, hash ok");
		return;
	}
	s->x.n->counters[IPC_NC_XFER_BAD_FRAGMENT]++;
	s->bad++;
	hex_encode(hex, got_hash, 32);
	snprintf(why, sizeof(why), "hash mismatch: the data from peer %s… hashes to %s",
	    xfer_peer_text(s->x.pub, peer), hex);
	xfer_file_end(s, 0, 0, why);
}

/* Bytes of this run's stream: 0 when none are there, -1 when s ended on an error. */
ssize_t
xfer_req_read(struct xfer_file_sess *s, void *buf, size_t want)
{
	ssize_t got = udt_read(s->x.conn, buf, want);

	if (got < 0) {
		xfer_file_end(s, 0, 1, udt_strerror((int)got));
		return -1;
	}
	return got;
}

/*
 * The start of a run's stream, for downloads, probes and apid's streams:
 * UDT accepted (a download checks on every pump, a stream until it runs),
 * then the 16-byte header (§9.3: file size, transfer size) read and
 * checked by header().  1: go on; 0: wait, or s ended.
 */
int
xfer_req_stream_head(struct xfer_file_sess *s, int (*header)(struct xfer_file_sess *))
{
	ssize_t got;
	int rc;

	if (s->x.conn != NULL && (s->st == NULL || s->state == IPC_XFER_STARTING)) {
		rc = udt_accept(s->x.conn);
		if (rc == UDT_ERR_AGAIN)
			return 0;
		if (rc != UDT_OK) {
			xfer_file_end(s, 0, 1, udt_strerror(rc));
			return 0;
		}
		if (s->state == IPC_XFER_STARTING)
			s->state = IPC_XFER_RUNNING;
	} else if (s->x.conn == NULL && s->st == NULL && s->state == IPC_XFER_STARTING)
		return 0;	/* storaged's answer about a kept part comes first */
	while (s->x.conn != NULL && s->hlen < WIRE_FILE_HEADER_SIZE) {
		if ((got = xfer_req_read(s, s->hdr + s->hlen,
		    WIRE_FILE_HEADER_SIZE - s->hlen)) <= 0)
			return 0;
		s->hlen += (size_t)got;
		if (s->hlen == WIRE_FILE_HEADER_SIZE && header(s) != 0)
			return 0;
	}
	return 1;
}

/*
 * A download's stream bytes straight into its chunk (udt_recv_post): what
 * arrived since the last pump is already at buf; else what UDT buffered
 * is read; else buf (want bytes of room) is posted, so the data that
 * arrives next is copied there from the packet instead of through UDT's
 * ring.  Stateless between calls: buf is the same place each time until
 * bytes are taken (the chunk only moves on by what this returned), and
 * whatever ends the run drops the connection, and the posting with it,
 * before the chunk is reused or freed.  Bytes, 0, or -1 (s ended).
 */
static ssize_t
xfer_req_read_posted(struct xfer_file_sess *s, uint8_t *buf, size_t want)
{
	size_t posted = udt_recv_unpost(s->x.conn);
	ssize_t got;

	if (posted > 0)
		return (ssize_t)posted;
	if ((got = xfer_req_read(s, buf, want)) != 0)
		return got;
	if ((got = udt_recv_post(s->x.conn, buf, want)) > 0)
		return (ssize_t)udt_recv_unpost(s->x.conn);
	return 0;
}

void
xfer_req_pump(struct xfer_file_sess *s)
{
	struct ipc_dl_commit c;
	uint8_t buf[128];
	uint64_t want;
	ssize_t got;
	size_t room;
	long n;

	if (s->state == IPC_XFER_PAUSED) {
		xfer_req_pump_paused(s);
		return;
	}
	if (!xfer_req_stream_head(s, xfer_req_header))
		return;
	if (s->flags & IPC_XFER_F_PROBE) {
		xfer_req_pump_probe(s);
		return;
	}
	if (xfer_mk_gate(s))
		return;
	if (s->dl != DL_OPEN)
		return;
	/* Stream bytes into chunks; a full chunk goes to storaged (a few in flight). */
	while (s->x.conn != NULL && s->done < s->total) {
		if (s->clen == XF_STORE_CHUNK) {
			if (s->x.ipc >= XF_STORE_INFLIGHT)
				return;	/* storaged is behind: UDT's window holds the peer */
			/* Only verified fragments go on (chunks hold whole ones). */
			if (s->mk_on && s->vpos != s->clen) {
				xfer_file_end(s, 0, 1, "fragments do not align with the chunks");
				return;
			}
			if (xfer_req_flush_chunk(s) != 0)
				return;
		}
		room = XF_STORE_CHUNK - s->clen;
		want = s->total - s->done;
		if (want > room)
			want = room;
		if ((got = xfer_req_read_posted(s, s->chunk + XF_IPC_HDR_ROOM + s->clen,
		    (size_t)want)) <= 0)
			return;
		s->clen += (size_t)got;
		s->done += (uint64_t)got;
		if (xfer_mk_verify(s) != 0)
			return;
	}
	if (s->done < s->total)
		return;
	/* Every announced byte read (§9.2 "stops reading"): free the provider now (§9.6). */
	if (s->x.conn != NULL) {
		xfer_req_stop(s);
		s->state = IPC_XFER_STORING;
	}
	if (s->clen > 0) {
		if (s->x.ipc >= XF_STORE_INFLIGHT)
			return;
		if (xfer_req_flush_chunk(s) != 0)
			return;
	}
	if (s->stored < s->total || s->x.ipc > 0)
		return;
	memset(&c, 0, sizeof(c));
	c.id = s->dl_id;
	memcpy(c.hash, s->hash, 32);
	if ((n = ipc_dl_commit_encode(buf, sizeof(buf), &c)) < 0 ||
	    xfer_store(&s->x, 0, buf, (size_t)n, XF_COMMIT_TIMEOUT_MS, xfer_req_commit_done, 0) != 0) {
		xfer_file_end(s, 0, 0, "cannot commit the download in storaged");
		return;
	}
	s->dl = DL_COMMIT_SENT;
}

/*
 * This run's REQUEST_START (§3.8): from s->offset to the end of the file.
 * Sent again, identical, every XF_RESEND_MS while no lite packet came: one
 * lost datagram would otherwise cost the whole run (the reference never
 * repeats it; a provider takes a repeat with the same transfer ID and
 * sequence as the same request, see xfer_prov_request).  0 or -1.
 */
int
xfer_req_send_request(struct xfer_file_sess *s)
{
	struct netd *n = s->x.n;
	struct wire_transfer t;
	struct peer *p;
	size_t wlen;

	s->req_sent = xfer_now(s->x.n);
	if ((p = peer_find(n->peers, s->x.pub)) == NULL)
		return -1;
	memset(&t, 0, sizeof(t));
	t.control = WIRE_TRANSFER_REQUEST_START;
	t.protocol = WIRE_TRANSFER_PROTO_UDT;
	memcpy(t.hash, s->hash, 32);
	t.offset = s->offset;
	t.limit = s->limit;	/* 0 (to the end) but for a stream's run */
	memcpy(t.transfer_id, s->x.id, sizeof(t.transfer_id));
	if (wire_transfer_encode(xfer_req_msg, sizeof(xfer_req_msg), &wlen, &t) != 0 ||
	    node_send_peer(n, p, WIRE_CMD_TRANSFER, s->x.seq, xfer_req_msg, wlen) != 0)
		return -1;
	return 0;
}

/*
 * A run: a fresh transfer ID, bi-sequence and UDT listener, then
 * REQUEST_START from s->offset to the end (§9.3).  0, or -1 when the
 * session was ended.
 */
int
xfer_req_run_start(struct xfer_file_sess *s)
{
	struct netd *n = s->x.n;
	struct peer_conn *targets[PEER_MAX_CONNS];
	struct peer *p;
	size_t k;
	char peer[17], hex[17];

	xfer_req_stop(s);
	if (s->runs++ > 0)
		s->restarts++;
	s->x.gen++;
	s->state = IPC_XFER_STARTING;
	s->hlen = 0;
	s->x.got_lite = 0;
	s->clen = 0;
	s->vpos = 0;
	s->mk_gated = s->mk_on = 0;
	s->data_start = 0;
	s->done = s->handed = s->stored = s->offset;
	s->req_at = s->x.last_rx = xfer_now(s->x.n);
	if (s->probe != NULL)
		blake3_hasher_init(s->probe);
	/* Lite packets need an active connection (§2.7). */
	if ((p = peer_find(n->peers, s->x.pub)) == NULL || p->nact == 0 ||
	    peer_send_targets(p, NULL, targets, &k) != 0) {
		xfer_file_end(s, 0, 0, "not connected to the peer");
		return -1;
	}
	/* A fresh transfer ID, UDT connection and bi-sequence (§9.1). */
	if (xfer_run_open(&s->x, p) != 0) {
		const char *why = slink_refusal(n, s->x.pub);	/* require */

		xfer_file_end(s, 0, 0, why != NULL ? why : "cannot start the transfer");
		return -1;
	}
	/* A send refused now (a full socket buffer, a firewall) is retried. */
	if (xfer_req_send_request(s) != 0)
		log_debug("file request to %s… not sent: retrying",
		    xfer_peer_text(p->pub, peer));
	xfer_mk_start(s);
	hex_encode(hex, s->hash, 8);
	log_debug("file %s %s… from %s… requested from offset %llu (transfer %u)",
	    (s->flags & IPC_XFER_F_PROBE) ? "probe" : "download", hex,
	    xfer_peer_text(p->pub, peer), (unsigned long long)s->offset, s->number);
	return 0;
}

/* The handshake with the peer is done, or SLINK_XFER_WAIT_MS passed (secure_link.h). */
static void
xfer_req_waited(struct xfer_sess *xs, uint32_t gen)
{
	struct xfer_file_sess *s = xfer_file_run(xs, gen);

	if (s != NULL && s->state == IPC_XFER_STARTING)
		xfer_req_run_start(s);
}

/* storaged's word on the hash: stored already, or a kept prefix to resume from. */
static void
xfer_req_lookup_done(struct netd *n, struct xfer_sess *xs, uint32_t gen, uint64_t arg,
    const uint8_t *rep, size_t len, const char *err)
{
	struct xfer_file_sess *s = xfer_file_run(xs, gen);
	struct ipc_xstat_rep st;

	if (s == NULL)
		return;
	if (rep == NULL || ipc_xstat_rep_decode(rep, len, &st) != 0) {
		xfer_file_store_failed(s, 0, rep, len, err);
		return;
	}
	if (st.present) {
		s->offset = s->done = s->total = st.size;
		xfer_file_end(s, 1, 0, "already stored");
		return;
	}
	if (s->state == IPC_XFER_PAUSED) {
		xfer_file_pump(s);
		return;
	}
	s->offset = st.partial_size != 0 ? st.partial : 0;
	if (st.partial_size != 0)
		s->file_size = s->total = st.partial_size;
	/* A peer that can do the secure mode: its handshake first, briefly. */
	if (!slink_xfer_wait(xs, gen, xfer_req_waited))
		xfer_req_run_start(s);
}

/* Asks storaged about the hash before (re)requesting it. */
static void
xfer_req_lookup(struct xfer_file_sess *s)
{
	struct ipc_xstat_req q;
	uint8_t buf[64];
	long len;

	s->state = IPC_XFER_STARTING;
	s->x.gen++;
	memcpy(q.hash, s->hash, 32);
	q.flags = IPC_XSTAT_F_PARTIAL | IPC_XSTAT_F_CHECK;
	if ((len = ipc_xstat_req_encode(buf, sizeof(buf), &q)) < 0 ||
	    xfer_store(&s->x, 0, buf, (size_t)len, XF_IPC_TIMEOUT_MS, xfer_req_lookup_done, 0) != 0)
		xfer_file_end(s, 0, 0, "cannot ask storaged about the file");
}

/*
 * The peer a get, probe or stream asks: transfers must run, the node must
 * not be this one, and lite packets need an active connection (§2.7).
 * NULL once the error is answered.
 */
struct peer *
xfer_req_peer(struct netd *n, struct ipc_req *req,
    const uint8_t node_id[32], const char *hint)
{
	struct peer_conn *targets[PEER_MAX_CONNS];
	struct peer *p;
	size_t k;

	if (n->xfer == NULL) {
		ipc_reply_error(req, IPC_ERR_UNAVAILABLE, "transfers are not running");
		return NULL;
	}
	if (memcmp(node_id, n->id.node_id, 32) == 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "that is this node's own ID");
		return NULL;
	}
	if ((p = peer_find_node(n->peers, node_id)) == NULL || p->nact == 0 ||
	    peer_send_targets(p, NULL, targets, &k) != 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "not connected to that node%s", hint);
		return NULL;
	}
	return p;
}

/* IPC_GET and IPC_PROBE. */
static void
xfer_req_getprobe(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len,
    int probe)
{
	struct ipc_get_req q;
	struct xfer_file_sess *s, *o;
	struct peer *p;
	uint8_t buf[32];
	long l;
	int i, rc;

	rc = probe ? ipc_probe_req_decode(msg, len, &q) : ipc_get_req_decode(msg, len, &q);
	if (rc != 0) {
		ipc_reply_error(req, IPC_ERR_BADMSG, "malformed %s request",
		    probe ? "probe" : "get");
		return;
	}
	if ((p = xfer_req_peer(n, req, q.node_id,
	    " (try 'peernetctl find' first)")) == NULL)
		return;
	/* One download per hash: storaged keeps one partial per hash. */
	for (i = 0; !probe && i < XFER_SLOTS; i++)
		if ((o = xfer_file_at(n, i)) != NULL && o->x.role == XFER_REQUESTER &&
		    !(o->flags & (IPC_XFER_F_PROBE | IPC_XFER_F_STREAM)) &&
		    memcmp(o->hash, q.hash, 32) == 0) {
			ipc_reply_error(req, IPC_ERR_FAILED, "this file is being downloaded "
			    "already (transfer %u%s)", o->number,
			    o->state == IPC_XFER_PAUSED ? ", paused: resume it" : "");
			return;
		}
	if (xfer_count(n, &xfer_file_ops, XFER_REQUESTER, NULL) >= XF_MAX_DOWNLOADS ||
	    (s = xfer_file_new(n, XFER_REQUESTER, p->pub, q.hash)) == NULL) {
		ipc_reply_error(req, IPC_ERR_FAILED, "too many transfers at once");
		return;
	}
	if (probe) {
		s->flags = IPC_XFER_F_PROBE;
		if ((s->probe = malloc(sizeof(*s->probe))) == NULL) {
			xfer_file_end(s, 0, 0, "out of memory");
			ipc_reply_error(req, IPC_ERR_FAILED, "out of memory");
			return;
		}
	}
	/* The number first: whatever happens next shows in IPC_TRANSFERS. */
	l = ipc_u32_encode(buf, sizeof(buf), probe ? IPC_PROBE : IPC_GET, s->number);
	ipc_reply(req, buf, (size_t)l);
	if (probe)
		xfer_req_run_start(s);
	else
		xfer_req_lookup(s);
}

void
xfer_req_get(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	xfer_req_getprobe(n, req, msg, len, 0);
}

void
xfer_req_probe(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	xfer_req_getprobe(n, req, msg, len, 1);
}

/* IPC_XFER_CTL: pause, resume or cancel a live transfer. */
void
xfer_req_ctl(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	const struct xfer_file_recent *r;
	struct ipc_xfer_ctl q;
	struct xfer_file_sess *s;
	uint8_t buf[32];
	long l;

	if (ipc_req_bad(req, ipc_xfer_ctl_decode(msg, len, &q),
	    "transfer-control request"))
		return;
	if ((s = xfer_file_find(n, q.number)) == NULL) {
		if ((r = xfer_file_recent_find(n, q.number)) != NULL) {
			ipc_reply_error(req, IPC_ERR_FAILED, "transfer %u has ended (%s)%s",
			    q.number, ipc_xfer_state_name(r->info.state),
			    q.op == IPC_XFER_RESUME ? "; 'get' the hash again to "
			    "continue from its verified part" : "");
			return;
		}
		ipc_reply_error(req, IPC_ERR_FAILED, "no transfer %u", q.number);
		return;
	}
	switch (q.op) {
	case IPC_XFER_PAUSE:
		if (s->x.role != XFER_REQUESTER ||
		    (s->flags & (IPC_XFER_F_PROBE | IPC_XFER_F_STREAM))) {
			ipc_reply_error(req, IPC_ERR_FAILED, "only downloads can be paused");
			return;
		}
		if (s->state == IPC_XFER_PAUSED)
			break;
		if (s->state != IPC_XFER_STARTING && s->state != IPC_XFER_RUNNING) {
			ipc_reply_error(req, IPC_ERR_FAILED, "transfer %u is %s: too late to "
			    "pause", q.number, ipc_xfer_state_name((uint8_t)s->state));
			return;
		}
		xfer_req_stop(s);
		/* Bytes not handed to storaged are fetched again on resume. */
		s->clen = 0;
		s->vpos = 0;
		s->done = s->handed;
		s->want_resume = 0;
		s->state = IPC_XFER_PAUSED;
		log_info("file download %u paused at %llu bytes", s->number,
		    (unsigned long long)s->done);
		xfer_file_pump(s);
		break;
	case IPC_XFER_RESUME:
		if (s->state != IPC_XFER_PAUSED) {
			ipc_reply_error(req, IPC_ERR_FAILED, "transfer %u is %s, not paused",
			    q.number, ipc_xfer_state_name((uint8_t)s->state));
			return;
		}
		s->want_resume = 1;
		log_info("file download %u resumed", s->number);
		xfer_file_pump(s);
		break;
	case IPC_XFER_CANCEL:
		s->discard = 1;
		xfer_file_end(s, 0, s->x.conn != NULL, "cancelled");
		break;
	}
	l = ipc_empty_encode(buf, sizeof(buf), IPC_XFER_CTL, IPC_OK);
	ipc_reply(req, buf, (size_t)l);
}

/*
 * A run's request while the provider is silent: ends the session after
 * XF_START_MS, sends REQUEST_START again every XF_RESEND_MS.  1: s ended.
 */
int
xfer_req_run_tick(struct xfer_file_sess *s, uint64_t now_ms)
{
	if (!s->x.got_lite && now_ms - s->req_at >= XF_START_MS) {
		xfer_file_end(s, 0, 1, "the peer did not answer the request");
		return 1;
	}
	if (!s->x.got_lite && now_ms - s->req_sent >= XF_RESEND_MS)
		xfer_req_send_request(s);
	return 0;
}

/*
 * From the engine's tick, after its idle check: a download without a
 * stream is storing (storaged's replies, with their own deadlines, end
 * it).  1: nothing more this tick.
 */
int
xfer_req_tick(struct xfer_file_sess *s, uint64_t now_ms)
{
	if (s->x.conn == NULL || xfer_req_run_tick(s, now_ms))
		return 1;
	xfer_mk_tick(s, now_ms);
	return 0;
}
