/*
 * xfer_stream.c — streams for apid (IPC_STREAM_*): byte ranges of a remote
 * file read into memory by a requester session of the file transfer (see
 * xfer_file.h, xfer_req.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blake3.h"
#include "ipc.h"
#include "log.h"
#include "merkle.h"
#include "netd.h"
#include "udt.h"
#include "wire_msg.h"
#include "xfer_file.h"

/*
 * --- streams for apid (IPC_STREAM_*): byte ranges of a remote file ------------
 *
 * A stream is a requester session whose runs are ranged and memory-only:
 * the first run asks for one byte (offset 0, limit 1) only to learn the
 * file's size from the stream header (§9.3), while the merkle leaves are
 * asked on its sequence (XFER_PROTO_MERKLE); IPC_STREAM_OPEN is answered
 * once both are settled.  Each IPC_STREAM_READ at an offset outside the
 * current run starts a run over the fragments from the one holding the
 * offset: XF_ST_RUN_FIRST fragments after a seek, so that a seek to 90 %
 * fetches nothing before it and little after its first byte; a run that
 * continues the last one asks for the rest of the reader's range at once.
 * A run is held in a window of XF_ST_WINDOW bytes: while the reader is
 * behind, netd stops reading the UDT stream and UDT's flow control holds
 * the peer, so a reader that stops costs at most the window and UDT's
 * buffers (and apid closes the stream when its client goes).  With leaves
 * (a peer of ours, files up to
 * XF_MK_MAX_FILE) a fragment is handed to apid only once it hashed to its
 * leaf; a bad one is refetched from its offset (XF_MAX_REFETCH in all).
 * From a reference peer the bytes go out as they come: unverified, which
 * the open reply says (no IPC_STREAM_F_VERIFIED) and apid tells its client.
 */
#define XF_ST_MAX		4		/* streams at once */
#define XF_ST_WINDOW		(8u << 20)	/* bytes of a run held at once */
#define XF_ST_RUN_FIRST		2		/* fragments a run after a seek asks for */
#define XF_ST_IDLE_MS		30000		/* a stream nobody reads ends */
#define XF_ST_READ_WAIT_MS	20000		/* a read not satisfied by then fails */

enum xfer_st_phase { ST_SIZE = 0, ST_OPEN };

struct xfer_st {
	struct ipc_req		*open_req;	/* IPC_STREAM_OPEN, until answered */
	struct ipc_req		*read_req;	/* the one IPC_STREAM_READ waiting */
	struct ipc_stream_read	 rd;
	uint64_t		 read_at, last_use;
	int			 phase;		/* enum xfer_st_phase */
	int			 verified;	/* per fragment, against the leaves */
	uint64_t		 size, frag;
	uint64_t		 run_off, run_len;	/* the current run's range */
	/*
	 * A window of the run: buf[0, have) holds file bytes from win_off,
	 * fragment-aligned; buf[0, ok) of them are verified (or = have).
	 * Bytes the reader has passed are dropped in whole fragments.
	 */
	uint8_t			*buf;
	size_t			 cap;		/* window bytes: <= XF_ST_WINDOW */
	size_t			 alloc;
	uint64_t		 win_off;
	uint64_t		 have;
	uint64_t		 ok;
	uint64_t		 fetched;	/* file bytes received, every run */
	uint8_t			 one;		/* the size run's byte */
};

static uint8_t xfer_st_out[IPC_STREAM_READ_MAX + 64];

/* From xfer_file_end: answers what waits, frees the stream. */
void
xfer_st_release(struct xfer_file_sess *s, int ok, const char *why)
{
	struct xfer_st *st = s->st;

	if (st->open_req != NULL)
		ipc_reply_error(st->open_req, IPC_ERR_FAILED, "%s", why);
	if (st->read_req != NULL) {
		if (ok)
			ipc_reply_error(st->read_req, IPC_ERR_FAILED, "the stream was closed");
		else
			ipc_reply_error(st->read_req, IPC_ERR_FAILED, "%s", why);
	}
	free(st->buf);
	free(st);
	s->st = NULL;
}

/*
 * Answers the waiting read with n bytes at from; then drops the whole
 * fragments the reader has passed once they fill half the window (the
 * next read starts at from + n: a response is read in order).
 */
static void
xfer_st_reply_read(struct xfer_file_sess *s, uint64_t from, uint32_t n)
{
	struct xfer_st *st = s->st;
	struct ipc_data d;
	uint64_t drop;
	long l;

	memset(&d, 0, sizeof(d));
	d.id = s->number;
	d.offset = st->rd.offset;
	d.len = n;
	l = ipc_data_encode(xfer_st_out, sizeof(xfer_st_out), IPC_STREAM_READ, &d);
	if (l < 0) {
		ipc_reply_error(st->read_req, IPC_ERR_FAILED, "reply buffer");
	} else {
		if (n > 0)
			memcpy(xfer_st_out + l, st->buf + (from - st->win_off), n);
		ipc_reply(st->read_req, xfer_st_out, (size_t)l + n);
	}
	st->read_req = NULL;
	st->last_use = xfer_now(s->x.n);
	if (n == 0 || st->buf == NULL || from < st->win_off)
		return;
	drop = from + n - st->win_off;
	if (drop > st->ok)
		drop = st->ok;
	drop -= drop % st->frag;
	if (drop == 0 || (drop < st->cap / 2 && st->have < st->cap))
		return;
	memmove(st->buf, st->buf + drop, (size_t)(st->have - drop));
	st->win_off += drop;
	st->have -= drop;
	st->ok -= drop;
}

/* A run over [off, off + len): fragments, memory only.  0, or -1 (s ended). */
static int
xfer_st_run(struct xfer_file_sess *s, uint64_t off, uint64_t len)
{
	struct xfer_st *st = s->st;
	size_t cap = len < XF_ST_WINDOW ? (size_t)len : XF_ST_WINDOW;
	uint8_t *p;

	/* Whole fragments fit: the window is at least one (<= 512 KiB, §4.1). */
	if (cap < st->frag && len >= st->frag)
		cap = (size_t)st->frag;
	if (cap > st->alloc) {
		if ((p = realloc(st->buf, cap)) == NULL) {
			xfer_file_end(s, 0, s->x.conn != NULL, "out of memory");
			return -1;
		}
		st->buf = p;
		st->alloc = cap;
	}
	st->cap = cap;
	st->run_off = st->win_off = off;
	st->run_len = len;
	st->have = st->ok = 0;
	s->offset = off;
	s->limit = len;
	return xfer_req_run_start(s);
}

/* Starts the run that covers the waiting read's offset. 0 or -1 (s ended). */
static int
xfer_st_run_for_read(struct xfer_file_sess *s)
{
	struct xfer_st *st = s->st;
	uint64_t off, end;
	int cont;

	off = st->rd.offset - st->rd.offset % st->frag;
	cont = st->run_len > 0 && off == st->run_off + st->run_len;
	end = st->rd.end < st->size ? st->rd.end : st->size;
	/* Up to the fragment holding the reader's last byte: nothing after it. */
	end = (end + st->frag - 1) / st->frag * st->frag;
	if (end > st->size)
		end = st->size;
	if (!cont && end - off > XF_ST_RUN_FIRST * st->frag)
		end = off + XF_ST_RUN_FIRST * st->frag;
	return xfer_st_run(s, off, end - off);
}

/*
 * Answers the waiting read when its bytes are there, or starts their run.
 * 1 when it answered (the window may have room again).
 */
static int
xfer_st_serve(struct xfer_file_sess *s)
{
	struct xfer_st *st = s->st;
	uint64_t at, n;

	if (st == NULL || st->read_req == NULL || st->phase != ST_OPEN)
		return 0;
	at = st->rd.offset;
	if (at >= st->size) {
		xfer_st_reply_read(s, at, 0);
		return 1;
	}
	if (st->buf != NULL && at >= st->win_off && at < st->win_off + st->ok) {
		n = st->win_off + st->ok - at;
		if (n > st->rd.max)
			n = st->rd.max;
		xfer_st_reply_read(s, at, (uint32_t)n);
		return 1;
	}
	/* This run brings it (it is still under way, the window reaches it): wait. */
	if (s->x.conn != NULL && at >= st->win_off + st->ok &&
	    at < st->run_off + st->run_len && at < st->win_off + st->cap)
		return 0;
	(void)xfer_st_run_for_read(s);
	return 0;
}

/* The stream header of a run (§9.3): exactly what was asked.  0 or -1 (s ended). */
static int
xfer_st_header(struct xfer_file_sess *s)
{
	struct xfer_st *st = s->st;
	uint64_t fsz, tsz;
	char peer[17], why[IPC_XFER_ERR_MAX + 1];

	wire_file_header_decode(s->hdr, &fsz, &tsz);
	if (fsz > XF_MAX_FILE || (st->phase == ST_OPEN && fsz != st->size) ||
	    s->offset > fsz || tsz != s->limit || tsz > fsz - s->offset) {
		snprintf(why, sizeof(why), "peer %s… announced %llu bytes of a %llu-byte "
		    "file for a request of %llu from offset %llu",
		    xfer_peer_text(s->x.pub, peer), (unsigned long long)tsz,
		    (unsigned long long)fsz, (unsigned long long)s->limit,
		    (unsigned long long)s->offset);
		xfer_file_end(s, 0, 1, why);
		return -1;
	}
	if (st->phase == ST_SIZE)
		st->size = s->file_size = s->total = fsz;
	if (s->data_start == 0)
		s->data_start = xfer_now(s->x.n);
	return 0;
}

/*
 * The fragments now complete in the run's buffer are hashed against their
 * leaves.  0, or -1 when one failed (refetched from it, or s ended).
 */
static int
xfer_st_verify(struct xfer_file_sess *s)
{
	struct xfer_st *st = s->st;
	blake3_hasher h;
	uint8_t got[32];
	uint64_t fo, idx, flen, end;
	char peer[17], msg[IPC_XFER_ERR_MAX + 1];

	if (!st->verified) {
		st->ok = st->have;
		return 0;
	}
	while (st->ok < st->have) {
		fo = st->win_off + st->ok;
		idx = fo / st->frag;
		flen = st->size - fo < st->frag ? st->size - fo : st->frag;
		if (st->have - st->ok < flen)
			break;
		blake3_hasher_init(&h);
		blake3_hasher_update(&h, st->buf + st->ok, (size_t)flen);
		blake3_hasher_finalize(&h, got, 32);
		if (memcmp(got, s->mk_leaves + idx * 32, 32) == 0) {
			st->ok += flen;
			continue;
		}
		/* Dropped before apid sees it; fetched again from its offset. */
		s->x.n->counters[IPC_NC_XFER_BAD_FRAGMENT]++;
		s->bad++;
		xfer_peer_text(s->x.pub, peer);
		if (s->bad >= XF_MAX_REFETCH) {
			snprintf(msg, sizeof(msg), "fragment %llu (bytes %llu-%llu) from peer "
			    "%s… failed verification %u times: does not match its merkle leaf",
			    (unsigned long long)idx, (unsigned long long)fo,
			    (unsigned long long)(fo + flen - 1), peer, s->bad);
			xfer_file_end(s, 0, 1, msg);
			return -1;
		}
		log_warnx("stream %u from %s…: fragment %llu does not match its merkle "
		    "leaf; dropped, fetching it again", s->number, peer,
		    (unsigned long long)idx);
		end = st->run_off + st->run_len;
		xfer_req_stop(s);
		(void)xfer_st_run(s, fo, end - fo);
		return -1;
	}
	return 0;
}

/* The size run is read and the leaves settled: the open is answered. */
static void
xfer_st_opened(struct xfer_file_sess *s)
{
	struct xfer_st *st = s->st;
	struct ipc_stream_info info;
	uint8_t buf[64];
	long l;

	st->verified = s->mk == MK_READY && s->mk_size == st->size;
	st->frag = st->verified ? s->mk_frag : merkle_fragment_size(st->size);
	if (st->frag == 0)
		st->frag = MERKLE_MIN_FRAGMENT_SIZE;
	st->phase = ST_OPEN;
	st->last_use = xfer_now(s->x.n);
	xfer_req_stop(s);
	memset(&info, 0, sizeof(info));
	info.number = s->number;
	info.size = st->size;
	info.fragment_size = st->frag;
	info.flags = st->verified ? IPC_STREAM_F_VERIFIED : 0;
	if (st->verified)
		s->flags |= IPC_XFER_F_FRAGMENTS;
	l = ipc_stream_info_encode(buf, sizeof(buf), &info);
	if (l < 0)
		ipc_reply_error(st->open_req, IPC_ERR_FAILED, "reply buffer");
	else
		ipc_reply(st->open_req, buf, (size_t)l);
	st->open_req = NULL;
}

void
xfer_st_pump(struct xfer_file_sess *s)
{
	struct xfer_st *st = s->st;
	uint64_t want;
	ssize_t got;

	if (!xfer_req_stream_head(s, xfer_st_header))
		return;
	if (st->phase == ST_SIZE) {
		if (s->hlen < WIRE_FILE_HEADER_SIZE)
			return;
		if (st->have < s->limit && s->x.conn != NULL) {
			if ((got = xfer_req_read(s, &st->one, 1)) < 0)
				return;
			st->have += (uint64_t)got;
			st->fetched += (uint64_t)got;
		}
		if (st->have < s->limit)
			return;
		/* The leaves: none for one fragment or above what we verify. */
		if (s->mk == MK_ASKING && (st->size <= MERKLE_MIN_FRAGMENT_SIZE ||
		    st->size > XF_MK_MAX_FILE))
			xfer_mk_none(s, NULL);
		if (s->mk == MK_ASKING || s->mk == MK_UNASKED)
			return;		/* xfer_mk_tick bounds the wait */
		xfer_st_opened(s);
		return;
	}
	do {
		/* Into the window while it has room; UDT's window holds the peer else. */
		while (s->x.conn != NULL && s->hlen == WIRE_FILE_HEADER_SIZE &&
		    st->win_off + st->have < st->run_off + st->run_len &&
		    st->have < st->cap) {
			want = st->cap - st->have;
			if (want > st->run_off + st->run_len - st->win_off - st->have)
				want = st->run_off + st->run_len - st->win_off - st->have;
			if ((got = xfer_req_read(s, st->buf + st->have, (size_t)want)) < 0)
				return;
			if (got == 0)
				break;
			st->have += (uint64_t)got;
			st->fetched += (uint64_t)got;
			s->done = st->fetched;
			if (xfer_st_verify(s) != 0)
				return;		/* a new run, or s ended */
		}
		/* The run has every byte it asked for: free the provider (§9.6). */
		if (s->x.conn != NULL && st->run_len > 0 &&
		    st->win_off + st->have == st->run_off + st->run_len)
			xfer_req_stop(s);
		/* An answer may have made room in the window: read on. */
	} while (xfer_st_serve(s) && s->st != NULL && s->x.conn != NULL &&
	    st->have < st->cap);
}

/*
 * From the engine's tick for a stream, after its idle check: 1 when it
 * ended.  A stream nobody reads ends, a read that waits too long fails.
 */
int
xfer_st_tick(struct xfer_file_sess *s, uint64_t now_ms)
{
	struct xfer_st *st = s->st;

	if (st->open_req == NULL && st->read_req == NULL &&
	    now_ms - st->last_use >= XF_ST_IDLE_MS) {
		xfer_file_end(s, 1, s->x.conn != NULL, "stream not read for 30 s");
		return 1;
	}
	if (st->read_req != NULL && now_ms - st->read_at >= XF_ST_READ_WAIT_MS) {
		ipc_reply_error(st->read_req, IPC_ERR_FAILED, "the peer did not send the "
		    "bytes within %d s", XF_ST_READ_WAIT_MS / 1000);
		st->read_req = NULL;
		st->last_use = now_ms;
	}
	if (s->x.conn != NULL && xfer_req_run_tick(s, now_ms))
		return 1;
	xfer_mk_tick(s, now_ms);
	return s->st == NULL;
}

void
xfer_st_open(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct ipc_get_req q;
	struct xfer_file_sess *s, *o;
	struct peer *p;
	int i, streams = 0;

	if (ipc_req_bad(req, ipc_stream_open_decode(msg, len, &q), "stream-open request"))
		return;
	if ((p = xfer_req_peer(n, req, q.node_id, "")) == NULL)
		return;
	for (i = 0; i < XFER_SLOTS; i++)
		if ((o = xfer_file_at(n, i)) != NULL && o->st != NULL)
			streams++;
	if (streams >= XF_ST_MAX ||
	    (s = xfer_file_new(n, XFER_REQUESTER, p->pub, q.hash)) == NULL) {
		ipc_reply_error(req, IPC_ERR_FAILED, "too many streams at once");
		return;
	}
	if ((s->st = calloc(1, sizeof(*s->st))) == NULL) {
		xfer_file_end(s, 0, 0, "out of memory");
		ipc_reply_error(req, IPC_ERR_FAILED, "out of memory");
		return;
	}
	s->flags = IPC_XFER_F_STREAM;
	s->st->open_req = req;		/* answered by xfer_st_opened or xfer_file_end */
	s->st->last_use = xfer_now(s->x.n);
	s->offset = 0;
	s->limit = 1;
	(void)xfer_req_run_start(s);
}

void
xfer_st_read(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct xfer_file_sess *s;
	struct ipc_stream_read q;

	if (ipc_req_bad(req, ipc_stream_read_decode(msg, len, &q), "stream-read request"))
		return;
	if ((s = xfer_file_find(n, q.number)) == NULL || s->st == NULL) {
		ipc_reply_error(req, IPC_ERR_FAILED, "no stream %u", q.number);
		return;
	}
	if (s->st->phase != ST_OPEN || s->st->read_req != NULL) {
		ipc_reply_error(req, IPC_ERR_FAILED, "stream %u is busy", q.number);
		return;
	}
	s->st->read_req = req;
	s->st->rd = q;
	s->st->read_at = s->st->last_use = xfer_now(s->x.n);
	xfer_file_pump(s);
}

void
xfer_st_close(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct xfer_file_sess *s;
	uint8_t buf[16];
	uint32_t number;
	long l;

	if (ipc_req_bad(req, ipc_u32_decode(msg, len, IPC_STREAM_CLOSE, &number),
	    "stream-close request"))
		return;
	if ((s = xfer_file_find(n, number)) != NULL && s->st != NULL)
		xfer_file_end(s, 1, s->x.conn != NULL, "stream closed");
	l = ipc_empty_encode(buf, sizeof(buf), IPC_STREAM_CLOSE, IPC_OK);
	ipc_reply(req, buf, (size_t)l);
}
