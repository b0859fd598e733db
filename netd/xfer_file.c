/*
 * xfer_file.c — file transfers (Transfer, command 8; docs/protocol.md §9.3) in
 * both roles; see xfer_file.h.  The session machinery follows xfer.c (the
 * block transfer): transfer IDs, lite packets, the UDT environment, a 10 ms
 * timer while a session lives, storaged's replies matched by number.
 *
 * Bounds: XF_MAX_SESSIONS sessions in all, XF_MAX_SERVE_PEER served to one
 * peer, XF_MAX_DOWNLOADS downloads; a served session holds at most
 * XF_SERVE_AHEAD chunks of XF_SERVE_CHUNK bytes besides its UDT connection,
 * a download one chunk of XF_STORE_CHUNK being filled and XF_STORE_INFLIGHT
 * chunks with storaged.  A download takes exactly the size the provider
 * announced in the stream header (at most XF_MAX_FILE); storaged enforces
 * that size and the hash.  Sessions end after 60 s without a lite packet or
 * message (transferSequenceTimeout, §9.2); a download whose provider never
 * answers ends after XF_START_MS.  A download's merkle leaves (our
 * XFER_PROTO_MERKLE extension) take 32 bytes per fragment, files up to
 * 1 GiB: at most 64 KiB.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "blake3.h"
#include "buf.h"
#include "hex.h"
#include "ipc.h"
#include "log.h"
#include "merkle.h"
#include "netd.h"
#include "udt.h"
#include "wire_msg.h"
#include "xfer_block.h"
#include "xfer_file.h"
#include "xfer_merkle.h"

#define XF_MAX_SESSIONS		16	/* both roles; each holds a ~0.9 MB UDT connection */
#define XF_MAX_DOWNLOADS	8
#define XF_MAX_SERVING		8	/* files served at once, to all peers */
#define XF_MAX_SERVE_PEER	2	/* files one peer can make us serve at once */
#define XF_SERVE_CHUNK		(512 * 1024)	/* one IPC_CAT */
#define XF_SERVE_AHEAD		3	/* IPC_CAT chunks read ahead of the stream */
#define XF_STORE_CHUNK		(512 * 1024)	/* one IPC_DL_DATA */
#define XF_STORE_INFLIGHT	3	/* IPC_DL_DATA unanswered */
#define XF_IPC_HDR_ROOM		64	/* room for the ipc_data header in front */
#define XF_MAX_FILE		(1ULL << 40)	/* 1 TiB: larger announcements are refused */
#define XF_IDLE_MS		SEQ_BI_FILE_MS	/* transferSequenceTimeout (§9.2) */
#define XF_START_MS		15000	/* a requester's wait for the first lite packet */
#define XF_RESEND_MS		2000	/* REQUEST_START again while the provider is silent */
#define XF_TIMER_MS		10	/* UDT's SYN interval */
#define XF_IPC_TIMEOUT_MS	10000
#define XF_COMMIT_TIMEOUT_MS	600000	/* storaged builds the merkle tree of a huge file */
#define XF_RECENT		32	/* finished sessions kept for IPC_TRANSFERS */
#define XF_RECENT_MS		600000
#define XF_MAX_REFETCH		3	/* verification failures before a download fails */
/*
 * Merkle leaves (XFER_PROTO_MERKLE, xfer_merkle.h): asked with each run's
 * request, the data waits at most XF_MK_WAIT_MS for a first answer (a
 * reference sharer never answers: whole-file verification as before) and
 * XF_MK_STALL_MS between answers; XF_MK_WINDOW batches asked at once.
 * Files up to XF_MK_MAX_FILE: their fragments (<= 512 KiB, §4.1) divide
 * XF_STORE_CHUNK, so a chunk handed to storaged holds whole fragments.
 */
#define XF_MK_WAIT_MS		2000
#define XF_MK_STALL_MS		5000
#define XF_MK_RESEND_MS		500
#define XF_MK_WINDOW		8
#define XF_MK_MAX_FILE		(1ULL << 30)
#define XF_MK_MAX_SERVING	16	/* peers' merkle requests with storaged */
/* storaged's prefix of a verification failure (serve_dl.c DL_VERIFY_FAIL). */
#define XF_VERIFY_FAIL		"verification failed"

enum xf_role { XF_REQUESTER = IPC_XFER_DOWNLOAD, XF_PROVIDER = IPC_XFER_UPLOAD };

/* A download's storaged side. */
enum xf_dl { DL_NONE = 0, DL_BEGIN_SENT, DL_OPEN, DL_COMMIT_SENT, DL_DEAD };

enum xf_slot_state { XS_FREE = 0, XS_WAIT, XS_READY };

/* A download's merkle leaves. */
enum xf_mk { MK_UNASKED = 0, MK_ASKING, MK_READY, MK_NONE };

struct xf_slot {
	int		 state;
	uint64_t	 off;		/* file offset */
	uint32_t	 len;		/* bytes asked */
	uint8_t		*data;
	uint32_t	 have;		/* bytes in data */
	uint32_t	 pos;		/* bytes written into UDT */
};

struct xf_stream;

struct xf_sess {
	struct xfer_files	*f;
	struct xf_stream	*st;		/* a stream for apid (IPC_STREAM_OPEN), else NULL */
	uint64_t		 limit;		/* requester: this run's REQUEST_START limit (0: to the end) */
	enum xf_role		 role;
	uint32_t		 number;	/* what ctl and storaged replies refer to */
	int			 state;		/* enum ipc_xfer_state */
	uint8_t			 id[WIRE_TRANSFER_ID_SIZE];
	uint8_t			 pub[PEERNET_PUBKEY_BYTES];
	uint8_t			 hash[32];
	uint32_t		 seq;
	struct udt_conn		*conn;		/* NULL once the stream is over */
	uint64_t		 created, last_rx, seq_touched, data_start;
	int			 got_lite;	/* requester: the provider answered */
	int			 ipc;		/* storaged requests in flight */
	uint32_t		 gen;		/* requester: run; older replies are stale */
	uint64_t		 file_size;
	uint64_t		 total;		/* bytes of the transfer (header's second field) */
	uint64_t		 done;		/* file bytes through the stream */
	/* requester */
	uint8_t			 flags;		/* IPC_XFER_F_* */
	uint64_t		 req_at;	/* this run's REQUEST_START */
	uint64_t		 req_sent;	/* its last (re)transmission */
	uint32_t		 bad;		/* verification failures */
	uint32_t		 runs;		/* REQUEST_STARTs sent */
	uint32_t		 restarts;	/* REQUEST_STARTs after the first */
	int			 want_resume;	/* paused, ctl asked to go on */
	int			 discard;	/* on failure: drop the kept prefix too */
	blake3_hasher		*probe;		/* probe: the whole-file hash */
	uint8_t			 hdr[WIRE_FILE_HEADER_SIZE];
	size_t			 hlen;
	int			 dl;		/* enum xf_dl */
	uint32_t		 dl_id;
	uint8_t			*chunk;		/* XF_IPC_HDR_ROOM + XF_STORE_CHUNK */
	size_t			 clen;		/* data bytes in chunk */
	uint64_t		 handed;	/* bytes handed to storaged */
	uint64_t		 stored;	/* bytes storaged acknowledged */
	/* requester: merkle leaves (XFER_PROTO_MERKLE) and per-fragment checks */
	int			 mk;		/* enum xf_mk */
	uint64_t		 mk_asked_at;	/* first request (no reply yet) */
	uint64_t		 mk_last;	/* last reply, or request sent */
	uint64_t		 mk_last_rx;	/* last reply */
	int			 mk_any;	/* a reply came */
	uint64_t		 mk_size, mk_frag, mk_count;
	uint8_t			 mk_root[32];
	uint8_t			*mk_leaves;	/* mk_count x 32 */
	uint8_t			*mk_ok;		/* per batch of XFER_MK_BATCH: received */
	uint64_t		 mk_nok, mk_next;	/* batches received, asked */
	int			 mk_gated;	/* this run: decided whether to verify */
	int			 mk_on;		/* this run verifies each fragment */
	size_t			 vpos;		/* chunk bytes verified (whole fragments) */
	/* both: the file offset the transfer (requester: this run) starts at */
	uint64_t		 offset;
	/* provider */
	int			 hdr_done;
	size_t			 hdr_pos;
	uint64_t		 next_fetch;	/* file offset of the next IPC_CAT */
	struct xf_slot		 slots[XF_SERVE_AHEAD];
	unsigned		 head, nslots;
};

struct xf_recent {
	uint64_t		 at;		/* ms; 0: free */
	struct ipc_xfer_info	 info;
};

struct xfer_files {
	struct netd		*n;
	struct xf_sess		*s[XF_MAX_SESSIONS];
	struct xf_recent	 recent[XF_RECENT];
	unsigned		 recent_next;
	uint32_t		 next_number;
	struct loop_timer	*timer;
	int			 in_timer;
	int			 in_run;
};

/* A storaged request's context: the session by number, not by pointer. */
struct xf_ipc {
	struct xfer_files	*f;
	uint32_t		 number;
	uint32_t		 gen;
	uint64_t		 off;
};

static uint8_t xf_lite[WIRE_LITE_HDR_SIZE + UDT_PKT_MAX];
static uint8_t xf_msg[WIRE_TRANSFER_REQUEST_SIZE + 64];
static uint8_t xf_reply[IPC_XFER_LIST_MAX * 512 + 64];
static uint8_t xf_mkdata[XFER_MK_HDR + XFER_MK_BATCH * 32];
static uint8_t xf_mkmsg[WIRE_TRANSFER_HDR_SIZE + sizeof(xf_mkdata)];
static int xf_mk_serving;	/* peers' merkle requests with storaged */

static void	xf_pump(struct xf_sess *s);
static void	xf_st_release(struct xf_sess *s, int ok, const char *why);
static void	xf_pump_stream(struct xf_sess *s);
static int	xf_st_tick(struct xf_sess *s, uint64_t now_ms, uint64_t now_us);

static uint64_t
xf_now(void)
{
	return loop_now_ms();
}

static const char *
xf_peer_text(const uint8_t pub[PEERNET_PUBKEY_BYTES], char out[17])
{
	uint8_t id[PEERNET_NODEID_BYTES];

	ident_node_id(pub, id);
	hex_encode(out, id, 8);
	return out;
}

/* --- UDT environment (as xfer.c) ---------------------------------------------- */

static uint64_t
xf_env_now(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
xf_env_random(void *ctx, void *out, size_t len)
{
	(void)ctx;
	randombytes_buf(out, len);
}

/* One UDT packet out as a lite packet (§2.7) on the peer's connection(s). */
static int
xf_env_send(void *ctx, const uint8_t *pkt, size_t len)
{
	struct xf_sess *s = ctx;
	struct netd *n = s->f->n;
	struct peer_conn *targets[PEER_MAX_CONNS];
	struct wire_lite l;
	struct peer *p;
	size_t out, k, i;
	int sent = 0;

	/* UDT only ever goes to verified connections (no reflection, node.c). */
	if ((p = peer_find(n->peers, s->pub)) == NULL ||
	    peer_send_targets_verified(p, targets, &k) != 0)
		return -1;
	memcpy(l.id, s->id, sizeof(l.id));
	l.data = pkt;
	l.data_len = len;
	if (wire_lite_encode(xf_lite, sizeof(xf_lite), &out, &l) != 0)
		return -1;
	for (i = 0; i < k; i++)
		if (net_send_raw(n, targets[i]->sock, &targets[i]->local,
		    &targets[i]->remote, xf_lite, out) == 0)
			sent++;
	return sent ? 0 : -1;
}

/* --- sessions --------------------------------------------------------------- */

static struct xf_sess *
xf_find_id(struct xfer_files *f, const uint8_t id[WIRE_TRANSFER_ID_SIZE])
{
	int i;

	for (i = 0; i < XF_MAX_SESSIONS; i++)
		if (f->s[i] != NULL && memcmp(f->s[i]->id, id, WIRE_TRANSFER_ID_SIZE) == 0)
			return f->s[i];
	return NULL;
}

static struct xf_sess *
xf_find_seq(struct xfer_files *f, const uint8_t pub[PEERNET_PUBKEY_BYTES], uint32_t seq)
{
	int i;

	for (i = 0; i < XF_MAX_SESSIONS; i++)
		if (f->s[i] != NULL && f->s[i]->seq == seq &&
		    memcmp(f->s[i]->pub, pub, PEERNET_PUBKEY_BYTES) == 0)
			return f->s[i];
	return NULL;
}

static struct xf_sess *
xf_find_number(struct xfer_files *f, uint32_t number)
{
	int i;

	if (f == NULL)
		return NULL;
	for (i = 0; i < XF_MAX_SESSIONS; i++)
		if (f->s[i] != NULL && f->s[i]->number == number)
			return f->s[i];
	return NULL;
}

static int
xf_count(struct xfer_files *f, enum xf_role role, const uint8_t *pub)
{
	int i, c = 0;

	for (i = 0; i < XF_MAX_SESSIONS; i++)
		if (f->s[i] != NULL && (role == 0 || f->s[i]->role == role) &&
		    (pub == NULL || memcmp(f->s[i]->pub, pub, PEERNET_PUBKEY_BYTES) == 0))
			c++;
	return c;
}

static void
xf_on_timer(void *arg)
{
	struct xfer_files *f = arg;

	f->in_timer = 1;
	xfer_file_tick(f, xf_now());
	f->in_timer = 0;
}

/* A fresh UDT connection for s (a requester gets one per run): 0 or -1. */
static int
xf_conn_open(struct xf_sess *s)
{
	struct udt_env env;

	env.now_us = xf_env_now;
	env.send = xf_env_send;
	env.random = xf_env_random;
	env.ctx = s;
	if ((s->conn = udt_conn_new(&env)) == NULL)
		return -1;
	udt_set_idle_timeout(s->conn, (uint64_t)XF_IDLE_MS * 1000);
	return 0;
}

static struct xf_sess *
xf_new(struct xfer_files *f, enum xf_role role, const uint8_t pub[PEERNET_PUBKEY_BYTES],
    const uint8_t hash[32])
{
	struct xf_sess *s;
	int i;

	for (i = 0; i < XF_MAX_SESSIONS; i++)
		if (f->s[i] == NULL)
			break;
	if (i == XF_MAX_SESSIONS || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	/* A requester opens its connection when it sends its request. */
	if (role == XF_PROVIDER && xf_conn_open(s) != 0) {
		free(s);
		return NULL;
	}
	s->f = f;
	s->role = role;
	s->state = IPC_XFER_STARTING;
	if (++f->next_number == 0)
		f->next_number = 1;
	s->number = f->next_number;
	memcpy(s->pub, pub, PEERNET_PUBKEY_BYTES);
	memcpy(s->hash, hash, 32);
	s->created = s->last_rx = s->seq_touched = s->req_at = xf_now();
	f->s[i] = s;
	if (f->timer == NULL)
		f->timer = loop_timer_add(&f->n->d->loop, XF_TIMER_MS, XF_TIMER_MS,
		    xf_on_timer, f);
	return s;
}

static void
xf_send_ctl(struct netd *n, const uint8_t pub[PEERNET_PUBKEY_BYTES],
    const uint8_t hash[32], uint8_t control, uint32_t seq)
{
	struct wire_transfer t;
	struct peer *p;
	size_t len;

	if ((p = peer_find(n->peers, pub)) == NULL)
		return;
	memset(&t, 0, sizeof(t));
	t.control = control;
	t.protocol = WIRE_TRANSFER_PROTO_UDT;
	memcpy(t.hash, hash, 32);
	if (wire_transfer_encode(xf_msg, sizeof(xf_msg), &len, &t) == 0)
		node_send_peer(n, p, WIRE_CMD_TRANSFER, seq, xf_msg, len);
}

static void
xf_info(const struct xf_sess *s, uint64_t now, struct ipc_xfer_info *x)
{
	uint64_t el;

	memset(x, 0, sizeof(*x));
	x->number = s->number;
	x->role = (uint8_t)s->role;
	x->state = (uint8_t)s->state;
	ident_node_id(s->pub, x->node_id);
	memcpy(x->hash, s->hash, 32);
	x->flags = s->flags;
	x->offset = s->role == XF_REQUESTER ? s->offset : 0;
	x->done = s->done;
	x->total = s->total;
	x->bad_fragments = s->bad;
	x->restarts = s->restarts;
	x->elapsed_ms = now - s->created;
	/* This run's bytes over this run's time: a resumed prefix is not counted. */
	el = s->data_start ? now - s->data_start : 0;
	x->rate = el > 0 && s->done > x->offset ? (s->done - x->offset) * 1000 / el : 0;
}

static void
xf_udt_drop(struct xf_sess *s)
{
	if (s->conn != NULL) {
		udt_conn_free(s->conn);
		s->conn = NULL;
		malloc_trim(0);		/* ~1 MB back at once (see xfer.c, xfer_end) */
	}
}

static void
xf_ignore_reply(void *arg, const uint8_t *rep, size_t len, const char *err)
{
	(void)arg;
	(void)rep;
	(void)len;
	(void)err;
}

/*
 * Closes the download in storaged: its verified prefix is kept for a later
 * resume, or discarded (cancel).  Fire and forget.
 */
static void
xf_dl_abort(struct xf_sess *s, int discard)
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
		ipc_client_send(&s->f->n->store, buf, (size_t)len, XF_IPC_TIMEOUT_MS,
		    xf_ignore_reply, NULL, xf_now());
	s->dl = DL_DEAD;
}

/*
 * Ends a session: kept for IPC_TRANSFERS as done or failed (why).
 * terminate: tell the peer (§9.6 recommends TERMINATE to free the provider).
 */
static void
xf_end(struct xf_sess *s, int ok, int terminate, const char *why)
{
	struct xfer_files *f = s->f;
	struct netd *n = f->n;
	struct xf_recent *r;
	uint64_t now = xf_now();
	char peer[17], hash[17], ustats[192];
	unsigned i;

	s->state = ok ? IPC_XFER_DONE : IPC_XFER_FAILED;
	hex_encode(hash, s->hash, 8);
	/* What the stream went through: the first thing to read when a
	 * transfer was slow (losses, resends, round trip). */
	ustats[0] = '\0';
	if (s->conn != NULL) {
		struct udt_stats st;

		udt_get_stats(s->conn, &st);
		snprintf(ustats, sizeof(ustats), " (udt: %llu/%llu data packets "
		    "sent/received, %llu resent, %llu blind, NAKs %llu/%llu, "
		    "rtt %u us, window %u)", (unsigned long long)st.pkts_sent,
		    (unsigned long long)st.pkts_recv, (unsigned long long)st.retransmits,
		    (unsigned long long)st.blind_retransmits,
		    (unsigned long long)st.naks_sent, (unsigned long long)st.naks_recv,
		    st.rtt_us, st.flow_win);
	}
	if (s->role == XF_REQUESTER)
		log_info("file download %s… from %s… ended: %s; %llu of %llu bytes%s",
		    hash, xf_peer_text(s->pub, peer), why, (unsigned long long)s->done,
		    (unsigned long long)s->total, ustats);
	else
		log_debug("file serving %s… to %s… ended: %s; %llu of %llu bytes%s",
		    hash, xf_peer_text(s->pub, peer), why, (unsigned long long)s->done,
		    (unsigned long long)s->total, ustats);
	if (s->st != NULL)
		xf_st_release(s, ok, why);
	r = &f->recent[f->recent_next++ % XF_RECENT];
	r->at = now;
	xf_info(s, now, &r->info);
	if (!ok)
		snprintf(r->info.error, sizeof(r->info.error), "%s", why);
	if (s->role == XF_REQUESTER && !ok)
		xf_dl_abort(s, s->discard);
	/* A requester between runs has no sequence (nor a stream) any more. */
	if (terminate && s->seq != 0)
		xf_send_ctl(n, s->pub, s->hash, WIRE_TRANSFER_TERMINATE, s->seq);
	if (s->seq != 0)
		seq_remove_bi(n->seqs, s->pub, s->seq);
	for (i = 0; i < XF_MAX_SESSIONS; i++)
		if (f->s[i] == s)
			f->s[i] = NULL;
	for (i = 0; i < XF_SERVE_AHEAD; i++)
		free(s->slots[i].data);
	free(s->chunk);
	free(s->probe);
	free(s->mk_leaves);
	free(s->mk_ok);
	xf_udt_drop(s);
	free(s);
}

static void
xf_touch(struct xf_sess *s)
{
	struct seq_match m;
	uint64_t now = xf_now();

	s->last_rx = now;
	/* Lite traffic keeps the bi-sequence alive too, so late messages still match. */
	if (now - s->seq_touched >= 1000) {
		s->seq_touched = now;
		seq_match_bi(s->f->n->seqs, s->pub, s->seq, 0, now, &m);
	}
}

/*
 * Sends a request to storaged with the session's number as context; file
 * data (IPC_DL_DATA, IPC_CAT) on the bulk channel when it is up.
 */
static int
xf_store_send_via(struct xf_sess *s, int bulk, const uint8_t *msg, size_t len,
    uint32_t timeout, ipc_client_cb cb, uint64_t off)
{
	struct xf_ipc *q;
	int rc;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return -1;
	q->f = s->f;
	q->number = s->number;
	q->gen = s->gen;
	q->off = off;
	rc = bulk ? ipc_client_send_bulk(&s->f->n->store, msg, len, timeout, cb, q,
	    xf_now()) : ipc_client_send(&s->f->n->store, msg, len, timeout, cb, q,
	    xf_now());
	if (rc != 0) {
		free(q);
		return -1;
	}
	s->ipc++;
	return 0;
}

static int
xf_store_send(struct xf_sess *s, const uint8_t *msg, size_t len, uint32_t timeout,
    ipc_client_cb cb, uint64_t off)
{
	return xf_store_send_via(s, 0, msg, len, timeout, cb, off);
}

/* The reason of a failed storaged reply, into out. */
static void
xf_store_err(const uint8_t *rep, size_t len, const char *err, char *out, size_t cap)
{
	uint16_t status;

	if (rep == NULL)
		snprintf(out, cap, "storaged did not answer: %s", err ? err : "?");
	else if (ipc_error_decode(rep, len, &status, out, cap) != 0)
		snprintf(out, cap, "malformed reply from storaged");
}

/*
 * Common prologue of storaged's replies: the session (NULL if it ended or
 * netd is stopping), the context freed.
 */
static struct xf_sess *
xf_reply_sess(struct xf_ipc *q, uint64_t *off)
{
	struct xf_sess *s = xf_find_number(q->f, q->number);

	if (s != NULL)
		s->ipc--;
	if (off != NULL)
		*off = q->off;
	free(q);
	return s;
}

/* As xf_reply_sess, but NULL for a reply to an earlier run of a requester. */
static struct xf_sess *
xf_reply_run(struct xf_ipc *q, uint64_t *off)
{
	uint32_t gen = q->gen;
	struct xf_sess *s = xf_reply_sess(q, off);

	return s != NULL && s->gen == gen ? s : NULL;
}

/* --- requester ------------------------------------------------------------ */

static int	xf_run_start(struct xf_sess *s);

static int
xf_is_verify_fail(const char *why)
{
	return strncmp(why, XF_VERIFY_FAIL, strlen(XF_VERIFY_FAIL)) == 0;
}

/* Ends this run's stream: UDT dropped, the provider told (§9.6), sequence freed. */
static void
xf_stream_stop(struct xf_sess *s)
{
	struct netd *n = s->f->n;

	if (s->conn == NULL)
		return;
	xf_udt_drop(s);
	xf_send_ctl(n, s->pub, s->hash, WIRE_TRANSFER_TERMINATE, s->seq);
	seq_remove_bi(n->seqs, s->pub, s->seq);
	s->seq = 0;
}

/* --- requester: merkle leaves and per-fragment verification ---------------- */

/* Asks the provider for the leaves of batch b (XFER_PROTO_MERKLE, xfer_merkle.h). */
static void
xf_mk_ask(struct xf_sess *s, uint64_t b)
{
	struct netd *n = s->f->n;
	struct wire_transfer t;
	struct peer *p;
	size_t wlen;

	s->mk_last = xf_now();
	if (s->seq == 0 || (p = peer_find(n->peers, s->pub)) == NULL)
		return;
	memset(&t, 0, sizeof(t));
	t.control = WIRE_TRANSFER_REQUEST_START;
	t.protocol = XFER_PROTO_MERKLE;
	memcpy(t.hash, s->hash, 32);
	t.offset = b * XFER_MK_BATCH;
	t.limit = XFER_MK_BATCH;
	memcpy(t.transfer_id, s->id, sizeof(t.transfer_id));
	if (wire_transfer_encode(xf_msg, sizeof(xf_msg), &wlen, &t) == 0)
		(void)node_send_peer(n, p, WIRE_CMD_TRANSFER, s->seq, xf_msg, wlen);
}

static uint64_t
xf_mk_batches(const struct xf_sess *s)
{
	return (s->mk_count + XFER_MK_BATCH - 1) / XFER_MK_BATCH;
}

/*
 * Batch 0 until the first answer gives the tree's shape; then the next
 * batches up to XF_MK_WINDOW unanswered; resend: the unanswered ones again.
 */
static void
xf_mk_ask_more(struct xf_sess *s, int resend)
{
	uint64_t b, nb;

	if (!s->mk_any) {
		xf_mk_ask(s, 0);
		return;
	}
	nb = xf_mk_batches(s);
	for (b = 0; resend && b < s->mk_next; b++)
		if (!s->mk_ok[b])
			xf_mk_ask(s, b);
	while (s->mk_next < nb && s->mk_next - s->mk_nok < XF_MK_WINDOW)
		xf_mk_ask(s, s->mk_next++);
}

/* No usable leaves: the download is verified as a whole at commit (v0). */
static void
xf_mk_none(struct xf_sess *s, const char *why)
{
	char peer[17];

	if (why != NULL)
		log_info("file download %u from %s…: %s; the whole file is verified "
		    "at the end", s->number, xf_peer_text(s->pub, peer), why);
	s->mk = MK_NONE;
	free(s->mk_leaves);
	free(s->mk_ok);
	s->mk_leaves = s->mk_ok = NULL;
}

/* Each run: the leaves asked (again) unless known, or known to be unavailable. */
static void
xf_mk_start(struct xf_sess *s)
{
	struct peer *p;

	if ((s->flags & IPC_XFER_F_PROBE) || s->mk == MK_READY || s->mk == MK_NONE)
		return;
	/*
	 * Only a peer that sets our feature bit answers merkle requests: a
	 * reference peer (no bit) never does, and asking it would hold the data
	 * for XF_MK_WAIT_MS.  It sees exactly the protocol-0 REQUEST_START.
	 */
	p = peer_find(s->f->n->peers, s->pub);
	if (p == NULL || !(p->features & WIRE_FEATURE_MERKLE)) {
		xf_mk_none(s, NULL);
		return;
	}
	if (s->file_size != 0 && (s->file_size <= MERKLE_MIN_FRAGMENT_SIZE ||
	    s->file_size > XF_MK_MAX_FILE)) {
		xf_mk_none(s, NULL);
		return;
	}
	if (!s->mk_any)
		s->mk_asked_at = xf_now();
	s->mk = MK_ASKING;
	xf_mk_ask_more(s, 1);
}

/* Timeouts and resends while asking. */
static void
xf_mk_tick(struct xf_sess *s, uint64_t now)
{
	if (s->mk != MK_ASKING)
		return;
	if (!s->mk_any && now - s->mk_asked_at >= XF_MK_WAIT_MS) {
		xf_mk_none(s, "the peer does not send merkle leaves (a reference node?)");
		return;
	}
	if (s->mk_any && now - s->mk_last_rx >= XF_MK_STALL_MS) {
		xf_mk_none(s, "the peer stopped sending merkle leaves");
		return;
	}
	if (now - s->mk_last >= XF_MK_RESEND_MS)
		xf_mk_ask_more(s, 1);
}

/* A batch of leaves from the provider (Transfer ACTIVE, XFER_PROTO_MERKLE). */
static void
xf_mk_in(struct xf_sess *s, const struct wire_transfer *t)
{
	struct xfer_mk_reply r;
	uint8_t root[32];
	uint64_t b, want;
	char peer[17];

	if (s->role != XF_REQUESTER || s->mk != MK_ASKING ||
	    memcmp(t->hash, s->hash, 32) != 0)
		return;
	if (xfer_mk_reply_decode(t->data, t->data_len, &r) != 0) {
		xf_mk_none(s, "malformed merkle leaves from the peer");
		return;
	}
	if (!s->mk_any) {
		if (r.file_size > XF_MK_MAX_FILE ||
		    (s->file_size != 0 && r.file_size != s->file_size)) {
			xf_mk_none(s, "the peer's merkle leaves are for another size");
			return;
		}
		s->mk_size = r.file_size;
		s->mk_frag = r.fragment_size;
		s->mk_count = r.fragment_count;
		memcpy(s->mk_root, r.root, 32);
		if ((s->mk_leaves = calloc(s->mk_count, 32)) == NULL ||
		    (s->mk_ok = calloc(xf_mk_batches(s), 1)) == NULL) {
			xf_mk_none(s, "out of memory");
			return;
		}
		s->mk_any = 1;
		s->mk_next = 1;		/* batch 0 was asked */
	} else if (r.file_size != s->mk_size || memcmp(r.root, s->mk_root, 32) != 0) {
		xf_mk_none(s, "the peer's merkle tree changed");
		return;
	}
	s->mk_last_rx = xf_now();
	/* Whole batches only: XFER_MK_BATCH leaves from a multiple of it, or the last ones. */
	want = s->mk_count - r.first < XFER_MK_BATCH ? s->mk_count - r.first : XFER_MK_BATCH;
	if (r.first % XFER_MK_BATCH != 0 || r.first >= s->mk_count || r.count != want)
		return;
	b = r.first / XFER_MK_BATCH;
	if (b >= s->mk_next)
		return;		/* not asked for */
	if (!s->mk_ok[b]) {
		memcpy(s->mk_leaves + r.first * 32, r.leaves, (size_t)r.count * 32);
		s->mk_ok[b] = 1;
		s->mk_nok++;
	}
	if (s->mk_nok < xf_mk_batches(s)) {
		xf_mk_ask_more(s, 0);
		return;
	}
	/* Every leaf: they must lead to the root sent (§4.2). */
	if (xfer_mk_root(s->mk_leaves, s->mk_count, root) != 0 ||
	    memcmp(root, s->mk_root, 32) != 0) {
		xf_mk_none(s, "the peer's merkle leaves do not lead to its root");
		return;
	}
	s->mk = MK_READY;
	log_debug("file download %u from %s…: %llu merkle leaves, fragments of %llu bytes",
	    s->number, xf_peer_text(s->pub, peer), (unsigned long long)s->mk_count,
	    (unsigned long long)s->mk_frag);
	xf_pump(s);
}

/*
 * Once per run, before its data: wait for the leaves (bounded by
 * xf_mk_tick), then decide whether this run verifies each fragment.  1:
 * wait (the provider is held by UDT's window meanwhile).
 */
static int
xf_mk_gate(struct xf_sess *s)
{
	if (s->mk_gated)
		return 0;
	if (s->mk == MK_ASKING) {
		if (s->file_size <= MERKLE_MIN_FRAGMENT_SIZE || s->file_size > XF_MK_MAX_FILE)
			xf_mk_none(s, NULL);
		else {
			xf_mk_tick(s, xf_now());
			if (s->mk == MK_ASKING)
				return 1;
		}
	}
	s->mk_gated = 1;
	s->mk_on = s->mk == MK_READY && s->mk_size == s->file_size &&
	    s->offset % s->mk_frag == 0;
	if (s->mk_on)
		s->flags |= IPC_XFER_F_FRAGMENTS;
	else
		s->flags &= (uint8_t)~IPC_XFER_F_FRAGMENTS;
	s->vpos = 0;
	return 0;
}

static int	xf_flush_chunk(struct xf_sess *s);

/*
 * Fragment idx did not hash to its leaf: it and everything after it in the
 * chunk are dropped (never reach storaged), the fragments before it are
 * handed on, and a new run asks for the file from the bad fragment's
 * offset; after XF_MAX_REFETCH failures the download fails naming it (and
 * the partial is discarded).
 */
static void
xf_mk_bad(struct xf_sess *s, uint64_t idx)
{
	char peer[17], msg[IPC_XFER_ERR_MAX + 1];
	uint64_t off = idx * s->mk_frag;
	uint64_t len = s->file_size - off < s->mk_frag ? s->file_size - off : s->mk_frag;

	s->f->n->counters[IPC_NC_XFER_BAD_FRAGMENT]++;
	s->bad++;
	xf_peer_text(s->pub, peer);
	s->clen = s->vpos;
	s->done = s->handed + s->clen;
	xf_stream_stop(s);
	if (s->bad >= XF_MAX_REFETCH) {
		snprintf(msg, sizeof(msg), "fragment %llu (bytes %llu-%llu) from peer %s… "
		    "failed verification %u times: does not match its merkle leaf",
		    (unsigned long long)idx, (unsigned long long)off,
		    (unsigned long long)(off + len - 1), peer, s->bad);
		s->discard = 1;
		xf_end(s, 0, 0, msg);
		return;
	}
	log_warnx("file download %u from %s…: fragment %llu (offset %llu) does not "
	    "match its merkle leaf; dropped, fetching from there again", s->number,
	    peer, (unsigned long long)idx, (unsigned long long)off);
	if (s->clen > 0 && xf_flush_chunk(s) != 0)
		return;
	s->offset = s->handed;
	xf_run_start(s);
}

/* Checks the whole fragments now in the chunk: 0, or -1 when one failed (handled). */
static int
xf_mk_verify(struct xf_sess *s)
{
	const uint8_t *base = s->chunk + XF_IPC_HDR_ROOM;
	blake3_hasher h;
	uint8_t got[32];
	uint64_t fo, idx, flen;

	while (s->mk_on) {
		fo = s->handed + s->vpos;
		if (fo >= s->file_size)
			break;
		idx = fo / s->mk_frag;
		flen = s->file_size - fo < s->mk_frag ? s->file_size - fo : s->mk_frag;
		if (s->clen - s->vpos < flen)
			break;
		blake3_hasher_init(&h);
		blake3_hasher_update(&h, base + s->vpos, (size_t)flen);
		blake3_hasher_finalize(&h, got, 32);
		if (memcmp(got, s->mk_leaves + idx * 32, 32) != 0) {
			xf_mk_bad(s, idx);
			return -1;
		}
		s->vpos += (size_t)flen;
	}
	return 0;
}

/*
 * storaged refused the data (and discarded it): the peer sent bytes that do
 * not verify.  Counted; fetched again from offset 0 up to XF_MAX_REFETCH
 * times in all, then the download fails naming the peer.
 */
static void
xf_verify_failed(struct xf_sess *s, const char *why)
{
	char peer[17], msg[IPC_XFER_ERR_MAX + 1];

	s->f->n->counters[IPC_NC_XFER_BAD_FRAGMENT]++;
	s->bad++;
	s->dl = DL_NONE;
	xf_stream_stop(s);
	xf_peer_text(s->pub, peer);
	if (s->bad >= XF_MAX_REFETCH) {
		snprintf(msg, sizeof(msg), "data from peer %s… failed verification %u "
		    "times: %s", peer, s->bad, why);
		xf_end(s, 0, 0, msg);
		return;
	}
	log_warnx("file download %u from %s…: %s; fetching it again", s->number, peer, why);
	s->offset = 0;
	xf_run_start(s);
}

static void
xf_commit_done(void *arg, const uint8_t *rep, size_t len, const char *err)
{
	struct xf_sess *s = xf_reply_run(arg, NULL);
	char why[IPC_XFER_ERR_MAX + 1];

	if (s == NULL)
		return;
	if (rep != NULL && ipc_empty_decode(rep, len, IPC_DL_COMMIT) == 0) {
		s->dl = DL_NONE;
		xf_end(s, 1, 0, (s->flags & IPC_XFER_F_FRAGMENTS) ?
		    "complete, every fragment and the hash verified" :
		    "complete, hash verified");
		return;
	}
	xf_store_err(rep, len, err, why, sizeof(why));
	if (rep != NULL && xf_is_verify_fail(why)) {
		xf_verify_failed(s, why);
		return;
	}
	s->dl = DL_DEAD;	/* storaged closed it already */
	xf_end(s, 0, 0, why);
}

static void
xf_data_done(void *arg, const uint8_t *rep, size_t len, const char *err)
{
	struct xf_sess *s;
	char why[IPC_XFER_ERR_MAX + 1];
	uint64_t n;

	s = xf_reply_run(arg, &n);
	if (s == NULL)
		return;
	if (rep == NULL || ipc_empty_decode(rep, len, IPC_DL_DATA) != 0) {
		xf_store_err(rep, len, err, why, sizeof(why));
		if (rep != NULL && xf_is_verify_fail(why)) {
			xf_verify_failed(s, why);
			return;
		}
		s->dl = DL_DEAD;
		xf_end(s, 0, 1, why);
		return;
	}
	s->stored += n;
	xf_pump(s);
}

static void
xf_begin_done(void *arg, const uint8_t *rep, size_t len, const char *err)
{
	struct xfer_files *f = ((struct xf_ipc *)arg)->f;
	struct xf_sess *s = xf_reply_run(arg, NULL);
	struct ipc_dl_abort a;
	char why[IPC_XFER_ERR_MAX + 1];
	uint8_t buf[64];
	uint32_t id;
	long n;

	if (s == NULL) {
		/* The session (or run) ended meanwhile: storaged closes what it opened. */
		memset(&a, 0, sizeof(a));
		if (rep != NULL && ipc_u32_decode(rep, len, IPC_DL_BEGIN, &a.id) == 0 &&
		    (n = ipc_dl_abort_encode(buf, sizeof(buf), &a)) > 0)
			ipc_client_send(&f->n->store, buf, (size_t)n, XF_IPC_TIMEOUT_MS,
			    xf_ignore_reply, NULL, xf_now());
		return;
	}
	if (rep == NULL || ipc_u32_decode(rep, len, IPC_DL_BEGIN, &id) != 0) {
		xf_store_err(rep, len, err, why, sizeof(why));
		s->dl = DL_NONE;
		xf_end(s, 0, 1, why);
		return;
	}
	s->dl_id = id;
	s->dl = DL_OPEN;
	xf_pump(s);
}

/* Hands the filled chunk to storaged; 0, or -1 (the session was ended). */
static int
xf_flush_chunk(struct xf_sess *s)
{
	struct ipc_data d;
	long n;

	memset(&d, 0, sizeof(d));
	d.id = s->dl_id;
	d.offset = s->handed;
	d.len = (uint32_t)s->clen;
	/* The header goes right in front of the data: no copy of the chunk. */
	n = ipc_data_encode(s->chunk, XF_IPC_HDR_ROOM, IPC_DL_DATA, &d);
	if (n < 0 || n > XF_IPC_HDR_ROOM) {
		xf_end(s, 0, 1, "cannot encode the data for storaged");
		return -1;
	}
	memmove(s->chunk + XF_IPC_HDR_ROOM - n, s->chunk, (size_t)n);
	if (xf_store_send_via(s, 1, s->chunk + XF_IPC_HDR_ROOM - n, (size_t)n + s->clen,
	    XF_IPC_TIMEOUT_MS, xf_data_done, s->clen) != 0) {
		xf_end(s, 0, 1, "cannot hand the data to storaged");
		return -1;
	}
	s->handed += s->clen;
	s->clen = 0;
	s->vpos = 0;
	return 0;
}

/* storaged closed a paused download (its prefix kept): a resume may go on. */
static void
xf_pause_closed(void *arg, const uint8_t *rep, size_t len, const char *err)
{
	struct xf_sess *s = xf_reply_sess(arg, NULL);

	(void)rep;
	(void)len;
	(void)err;
	if (s != NULL)
		xf_pump(s);
}

static void	xf_lookup(struct xf_sess *s);

/* A paused download: close it in storaged once quiet, then wait for resume. */
static void
xf_pump_paused(struct xf_sess *s)
{
	struct ipc_dl_abort a;
	uint8_t buf[64];
	long n;

	if (s->dl == DL_BEGIN_SENT || s->ipc > 0)
		return;
	if (s->dl == DL_OPEN) {
		memset(&a, 0, sizeof(a));
		a.id = s->dl_id;
		memcpy(a.hash, s->hash, 32);
		s->dl = DL_NONE;
		if ((n = ipc_dl_abort_encode(buf, sizeof(buf), &a)) < 0 ||
		    xf_store_send(s, buf, (size_t)n, XF_IPC_TIMEOUT_MS, xf_pause_closed,
		    0) != 0)
			xf_end(s, 0, 0, "cannot close the paused download in storaged");
		return;
	}
	if (s->want_resume) {
		s->want_resume = 0;
		xf_lookup(s);
	}
}

/* The stream's 16-byte header (§9.3) arrived: check it, open the sink. 0 or -1. */
static int
xf_header(struct xf_sess *s)
{
	struct ipc_dl_begin b;
	uint8_t buf[128];
	uint64_t fsz, tsz;
	char peer[17], why[IPC_XFER_ERR_MAX + 1];
	long n;

	wire_file_header_decode(s->hdr, &fsz, &tsz);
	xf_peer_text(s->pub, peer);
	/* We asked for everything from s->offset: that, and nothing else. */
	if (s->offset > fsz || tsz != fsz - s->offset) {
		snprintf(why, sizeof(why), "peer %s… announced %llu bytes of a %llu-byte "
		    "file for a request from offset %llu", peer, (unsigned long long)tsz,
		    (unsigned long long)fsz, (unsigned long long)s->offset);
		xf_end(s, 0, 1, why);
		return -1;
	}
	if (s->file_size != 0 && fsz != s->file_size) {
		snprintf(why, sizeof(why), "peer %s… announces %llu bytes, the kept part "
		    "was begun for %llu", peer, (unsigned long long)fsz,
		    (unsigned long long)s->file_size);
		xf_end(s, 0, 1, why);
		return -1;
	}
	if (fsz > XF_MAX_FILE) {
		xf_end(s, 0, 1, "the peer announced a file larger than 1 TiB");
		return -1;
	}
	s->file_size = s->total = fsz;
	s->data_start = xf_now();
	if (s->chunk == NULL && (s->chunk = malloc(XF_IPC_HDR_ROOM + XF_STORE_CHUNK)) == NULL) {
		xf_end(s, 0, 1, "out of memory");
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
	    xf_store_send(s, buf, (size_t)n, XF_IPC_TIMEOUT_MS, xf_begin_done, 0) != 0) {
		xf_end(s, 0, 1, "cannot start the download in storaged");
		return -1;
	}
	s->dl = DL_BEGIN_SENT;
	return 0;
}

/* Probe: the bytes are hashed and dropped; nothing is stored. */
static void
xf_pump_probe(struct xf_sess *s)
{
	uint8_t got_hash[32];
	char hex[65], peer[17], why[IPC_XFER_ERR_MAX + 1];
	uint64_t want;
	ssize_t got;

	while (s->conn != NULL && s->done < s->total) {
		want = s->total - s->done;
		if (want > XF_STORE_CHUNK)
			want = XF_STORE_CHUNK;
		got = udt_read(s->conn, s->chunk, (size_t)want);
		if (got == 0)
			return;
		if (got < 0) {
			xf_end(s, 0, 1, udt_strerror((int)got));
			return;
		}
		blake3_hasher_update(s->probe, s->chunk, (size_t)got);
		s->done += (uint64_t)got;
	}
	if (s->done < s->total)
		return;
	xf_stream_stop(s);
	blake3_hasher_finalize(s->probe, got_hash, 32);
	if (memcmp(got_hash, s->hash, 32) == 0) {
		s->flags |= IPC_XFER_F_HASH_OK;
		xf_end(s, 1, 0, "complete, hash ok");
		return;
	}
	s->f->n->counters[IPC_NC_XFER_BAD_FRAGMENT]++;
	s->bad++;
	hex_encode(hex, got_hash, 32);
	snprintf(why, sizeof(why), "hash mismatch: the data from peer %s… hashes to %s",
	    xf_peer_text(s->pub, peer), hex);
	xf_end(s, 0, 0, why);
}

static void
xf_pump_requester(struct xf_sess *s)
{
	struct ipc_dl_commit c;
	uint8_t buf[128];
	uint64_t want;
	ssize_t got;
	size_t room;
	long n;
	int rc;

	if (s->state == IPC_XFER_PAUSED) {
		xf_pump_paused(s);
		return;
	}
	if (s->conn != NULL) {
		rc = udt_accept(s->conn);
		if (rc == UDT_ERR_AGAIN)
			return;
		if (rc != UDT_OK) {
			xf_end(s, 0, 1, udt_strerror(rc));
			return;
		}
		if (s->state == IPC_XFER_STARTING)
			s->state = IPC_XFER_RUNNING;
	} else if (s->state == IPC_XFER_STARTING)
		return;		/* storaged's answer about a kept part comes first */
	/* The 16-byte header first (§9.3): file size, transfer size. */
	while (s->conn != NULL && s->hlen < WIRE_FILE_HEADER_SIZE) {
		got = udt_read(s->conn, s->hdr + s->hlen, WIRE_FILE_HEADER_SIZE - s->hlen);
		if (got == 0)
			return;
		if (got < 0) {
			xf_end(s, 0, 1, udt_strerror((int)got));
			return;
		}
		s->hlen += (size_t)got;
		if (s->hlen == WIRE_FILE_HEADER_SIZE && xf_header(s) != 0)
			return;
	}
	if (s->flags & IPC_XFER_F_PROBE) {
		xf_pump_probe(s);
		return;
	}
	if (xf_mk_gate(s))
		return;
	if (s->dl != DL_OPEN)
		return;
	/* Stream bytes into chunks; a full chunk goes to storaged (a few in flight). */
	while (s->conn != NULL && s->done < s->total) {
		if (s->clen == XF_STORE_CHUNK) {
			if (s->ipc >= XF_STORE_INFLIGHT)
				return;	/* storaged is behind: UDT's window holds the peer */
			/* Only verified fragments go on (chunks hold whole ones). */
			if (s->mk_on && s->vpos != s->clen) {
				xf_end(s, 0, 1, "fragments do not align with the chunks");
				return;
			}
			if (xf_flush_chunk(s) != 0)
				return;
		}
		room = XF_STORE_CHUNK - s->clen;
		want = s->total - s->done;
		if (want > room)
			want = room;
		got = udt_read(s->conn, s->chunk + XF_IPC_HDR_ROOM + s->clen, (size_t)want);
		if (got == 0)
			return;
		if (got < 0) {
			xf_end(s, 0, 1, udt_strerror((int)got));
			return;
		}
		s->clen += (size_t)got;
		s->done += (uint64_t)got;
		if (xf_mk_verify(s) != 0)
			return;
	}
	if (s->done < s->total)
		return;
	/* Every announced byte read (§9.2 "stops reading"): free the provider now (§9.6). */
	if (s->conn != NULL) {
		xf_stream_stop(s);
		s->state = IPC_XFER_STORING;
	}
	if (s->clen > 0) {
		if (s->ipc >= XF_STORE_INFLIGHT)
			return;
		if (xf_flush_chunk(s) != 0)
			return;
	}
	if (s->stored < s->total || s->ipc > 0)
		return;
	memset(&c, 0, sizeof(c));
	c.id = s->dl_id;
	memcpy(c.hash, s->hash, 32);
	if ((n = ipc_dl_commit_encode(buf, sizeof(buf), &c)) < 0 ||
	    xf_store_send(s, buf, (size_t)n, XF_COMMIT_TIMEOUT_MS, xf_commit_done, 0) != 0) {
		xf_end(s, 0, 0, "cannot commit the download in storaged");
		return;
	}
	s->dl = DL_COMMIT_SENT;
}

/*
 * This run's REQUEST_START (§3.8): from s->offset to the end of the file.
 * Sent again, identical, every XF_RESEND_MS while no lite packet came: one
 * lost datagram would otherwise cost the whole run (the reference never
 * repeats it; a provider takes a repeat with the same transfer ID and
 * sequence as the same request, see xf_request).  0 or -1.
 */
static int
xf_send_request(struct xf_sess *s)
{
	struct netd *n = s->f->n;
	struct wire_transfer t;
	struct peer *p;
	size_t wlen;

	s->req_sent = xf_now();
	if ((p = peer_find(n->peers, s->pub)) == NULL)
		return -1;
	memset(&t, 0, sizeof(t));
	t.control = WIRE_TRANSFER_REQUEST_START;
	t.protocol = WIRE_TRANSFER_PROTO_UDT;
	memcpy(t.hash, s->hash, 32);
	t.offset = s->offset;
	t.limit = s->limit;	/* 0 (to the end) but for a stream's run */
	memcpy(t.transfer_id, s->id, sizeof(t.transfer_id));
	if (wire_transfer_encode(xf_msg, sizeof(xf_msg), &wlen, &t) != 0 ||
	    node_send_peer(n, p, WIRE_CMD_TRANSFER, s->seq, xf_msg, wlen) != 0)
		return -1;
	return 0;
}

/*
 * A run: a fresh transfer ID, bi-sequence and UDT listener, then
 * REQUEST_START from s->offset to the end (§9.3).  0, or -1 when the
 * session was ended.
 */
static int
xf_run_start(struct xf_sess *s)
{
	struct xfer_files *f = s->f;
	struct netd *n = f->n;
	struct peer_conn *targets[PEER_MAX_CONNS];
	struct peer *p;
	size_t k;
	char peer[17], hex[17];

	xf_stream_stop(s);
	if (s->runs++ > 0)
		s->restarts++;
	s->gen++;
	s->state = IPC_XFER_STARTING;
	s->hlen = 0;
	s->got_lite = 0;
	s->clen = 0;
	s->vpos = 0;
	s->mk_gated = s->mk_on = 0;
	s->data_start = 0;
	s->done = s->handed = s->stored = s->offset;
	s->req_at = s->last_rx = xf_now();
	if (s->probe != NULL)
		blake3_hasher_init(s->probe);
	/* Lite packets need an active connection (§2.7). */
	if ((p = peer_find(n->peers, s->pub)) == NULL || p->nact == 0 ||
	    peer_send_targets(p, NULL, targets, &k) != 0) {
		xf_end(s, 0, 0, "not connected to the peer");
		return -1;
	}
	/* A fresh UUID v4, unique among our file sessions (§9.1). */
	do {
		randombytes_buf(s->id, sizeof(s->id));
		xfer_uuid_v4(s->id);
	} while (xf_find_id(f, s->id) != s);
	if (xf_conn_open(s) != 0 || seq_new_bi(n->seqs, p->pub, &p->seq_counter, NULL,
	    XF_IDLE_MS, xf_now(), &s->seq) != 0) {
		xf_udt_drop(s);
		s->seq = 0;
		xf_end(s, 0, 0, "cannot start the transfer");
		return -1;
	}
	if (udt_listen(s->conn) != UDT_OK) {
		xf_end(s, 0, 0, "cannot start the transfer");
		return -1;
	}
	/* A send refused now (a full socket buffer, a firewall) is retried. */
	if (xf_send_request(s) != 0)
		log_debug("file request to %s… not sent: retrying",
		    xf_peer_text(p->pub, peer));
	xf_mk_start(s);
	hex_encode(hex, s->hash, 8);
	log_debug("file %s %s… from %s… requested from offset %llu (transfer %u)",
	    (s->flags & IPC_XFER_F_PROBE) ? "probe" : "download", hex,
	    xf_peer_text(p->pub, peer), (unsigned long long)s->offset, s->number);
	return 0;
}

/* storaged's word on the hash: stored already, or a kept prefix to resume from. */
static void
xf_lookup_done(void *arg, const uint8_t *rep, size_t len, const char *err)
{
	struct xf_sess *s = xf_reply_run(arg, NULL);
	struct ipc_xstat_rep st;
	char why[IPC_XFER_ERR_MAX + 1];

	if (s == NULL)
		return;
	if (rep == NULL || ipc_xstat_rep_decode(rep, len, &st) != 0) {
		xf_store_err(rep, len, err, why, sizeof(why));
		xf_end(s, 0, 0, why);
		return;
	}
	if (st.present) {
		s->offset = s->done = s->total = st.size;
		xf_end(s, 1, 0, "already stored");
		return;
	}
	if (s->state == IPC_XFER_PAUSED) {
		xf_pump(s);
		return;
	}
	s->offset = st.partial_size != 0 ? st.partial : 0;
	if (st.partial_size != 0)
		s->file_size = s->total = st.partial_size;
	xf_run_start(s);
}

/* Asks storaged about the hash before (re)requesting it. */
static void
xf_lookup(struct xf_sess *s)
{
	struct ipc_xstat_req q;
	uint8_t buf[64];
	long len;

	s->state = IPC_XFER_STARTING;
	s->gen++;
	memcpy(q.hash, s->hash, 32);
	q.flags = IPC_XSTAT_F_PARTIAL | IPC_XSTAT_F_CHECK;
	if ((len = ipc_xstat_req_encode(buf, sizeof(buf), &q)) < 0 ||
	    xf_store_send(s, buf, (size_t)len, XF_IPC_TIMEOUT_MS, xf_lookup_done, 0) != 0)
		xf_end(s, 0, 0, "cannot ask storaged about the file");
}

/*
 * The peer a get, probe or stream asks: transfers must run, the node must
 * not be this one, and lite packets need an active connection (§2.7).
 * NULL once the error is answered.
 */
static struct peer *
xf_req_peer(struct netd *n, struct xfer_files *f, struct ipc_req *req,
    const uint8_t node_id[32], const char *hint)
{
	struct peer_conn *targets[PEER_MAX_CONNS];
	struct peer *p;
	size_t k;

	if (f == NULL) {
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
xf_req_get(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len, int probe)
{
	struct xfer_files *f = netd_xfer_files(n);
	struct ipc_get_req q;
	struct xf_sess *s;
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
	if ((p = xf_req_peer(n, f, req, q.node_id,
	    " (try 'peernetctl find' first)")) == NULL)
		return;
	/* One download per hash: storaged keeps one partial per hash. */
	for (i = 0; !probe && i < XF_MAX_SESSIONS; i++)
		if (f->s[i] != NULL && f->s[i]->role == XF_REQUESTER &&
		    !(f->s[i]->flags & (IPC_XFER_F_PROBE | IPC_XFER_F_STREAM)) &&
		    memcmp(f->s[i]->hash, q.hash, 32) == 0) {
			ipc_reply_error(req, IPC_ERR_FAILED, "this file is being downloaded "
			    "already (transfer %u%s)", f->s[i]->number,
			    f->s[i]->state == IPC_XFER_PAUSED ? ", paused: resume it" : "");
			return;
		}
	if (xf_count(f, XF_REQUESTER, NULL) >= XF_MAX_DOWNLOADS ||
	    (s = xf_new(f, XF_REQUESTER, p->pub, q.hash)) == NULL) {
		ipc_reply_error(req, IPC_ERR_FAILED, "too many transfers at once");
		return;
	}
	if (probe) {
		s->flags = IPC_XFER_F_PROBE;
		if ((s->probe = malloc(sizeof(*s->probe))) == NULL) {
			xf_end(s, 0, 0, "out of memory");
			ipc_reply_error(req, IPC_ERR_FAILED, "out of memory");
			return;
		}
	}
	/* The number first: whatever happens next shows in IPC_TRANSFERS. */
	l = ipc_u32_encode(buf, sizeof(buf), probe ? IPC_PROBE : IPC_GET, s->number);
	ipc_reply(req, buf, (size_t)l);
	if (probe)
		xf_run_start(s);
	else
		xf_lookup(s);
}

void
netd_req_get(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	xf_req_get(n, req, msg, len, 0);
}

void
netd_req_probe(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	xf_req_get(n, req, msg, len, 1);
}

/* IPC_XFER_CTL: pause, resume or cancel a live transfer. */
void
netd_req_xfer_ctl(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct xfer_files *f = netd_xfer_files(n);
	struct ipc_xfer_ctl q;
	struct xf_sess *s;
	uint8_t buf[32];
	int i;
	long l;

	if (ipc_xfer_ctl_decode(msg, len, &q) != 0) {
		ipc_reply_error(req, IPC_ERR_BADMSG, "malformed transfer-control request");
		return;
	}
	if ((s = xf_find_number(f, q.number)) == NULL) {
		for (i = 0; f != NULL && i < XF_RECENT; i++)
			if (f->recent[i].at != 0 && f->recent[i].info.number == q.number) {
				ipc_reply_error(req, IPC_ERR_FAILED, "transfer %u has ended "
				    "(%s)%s", q.number,
				    ipc_xfer_state_name(f->recent[i].info.state),
				    q.op == IPC_XFER_RESUME ? "; 'get' the hash again to "
				    "continue from its verified part" : "");
				return;
			}
		ipc_reply_error(req, IPC_ERR_FAILED, "no transfer %u", q.number);
		return;
	}
	switch (q.op) {
	case IPC_XFER_PAUSE:
		if (s->role != XF_REQUESTER ||
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
		xf_stream_stop(s);
		/* Bytes not handed to storaged are fetched again on resume. */
		s->clen = 0;
		s->vpos = 0;
		s->done = s->handed;
		s->want_resume = 0;
		s->state = IPC_XFER_PAUSED;
		log_info("file download %u paused at %llu bytes", s->number,
		    (unsigned long long)s->done);
		xf_pump(s);
		break;
	case IPC_XFER_RESUME:
		if (s->state != IPC_XFER_PAUSED) {
			ipc_reply_error(req, IPC_ERR_FAILED, "transfer %u is %s, not paused",
			    q.number, ipc_xfer_state_name((uint8_t)s->state));
			return;
		}
		s->want_resume = 1;
		log_info("file download %u resumed", s->number);
		xf_pump(s);
		break;
	case IPC_XFER_CANCEL:
		s->discard = 1;
		xf_end(s, 0, s->conn != NULL, "cancelled");
		break;
	}
	l = ipc_empty_encode(buf, sizeof(buf), IPC_XFER_CTL, IPC_OK);
	ipc_reply(req, buf, (size_t)l);
}

/* --- provider ------------------------------------------------------------- */

static void
xf_cat_done(void *arg, const uint8_t *rep, size_t len, const char *err)
{
	struct xf_sess *s;
	struct xf_slot *sl = NULL;
	struct ipc_data d;
	char why[IPC_XFER_ERR_MAX + 1];
	uint64_t off;
	unsigned i;

	if ((s = xf_reply_sess(arg, &off)) == NULL)
		return;
	for (i = 0; i < XF_SERVE_AHEAD; i++)
		if (s->slots[i].state == XS_WAIT && s->slots[i].off == off)
			sl = &s->slots[i];
	if (sl == NULL)
		return;
	if (rep == NULL || ipc_data_decode(rep, len, IPC_CAT, &d) != 0) {
		xf_store_err(rep, len, err, why, sizeof(why));
		xf_end(s, 0, 1, why);
		return;
	}
	/* The file shrank or changed under us: stop rather than send garbage. */
	if (d.offset != off || d.len != sl->len) {
		xf_end(s, 0, 1, "storaged returned fewer bytes than the file holds");
		return;
	}
	memcpy(sl->data, d.bytes, d.len);
	sl->have = d.len;
	sl->state = XS_READY;
	xf_pump(s);
}

/* Asks storaged for the next chunks of the range, into free slots. */
static int
xf_fetch(struct xf_sess *s)
{
	struct xf_slot *sl;
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
		if ((len = ipc_read_encode(buf, sizeof(buf), IPC_CAT, &rd)) < 0 ||
		    xf_store_send_via(s, 1, buf, (size_t)len, XF_IPC_TIMEOUT_MS, xf_cat_done,
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
xf_ref_requester(struct xf_sess *s)
{
	struct peer *p = peer_find(s->f->n->peers, s->pub);

	if (p != NULL && !(p->features & WIRE_FEATURE_MERKLE)) {
		udt_set_probe_only(s->conn);
		udt_stream_end(s->conn, WIRE_FILE_HEADER_SIZE + s->total);
	}
}

static void
xf_pump_provider(struct xf_sess *s)
{
	struct xf_slot *sl;
	ssize_t w;

	if (s->conn == NULL || s->state == IPC_XFER_STARTING)
		return;		/* storaged has not said whether the file exists */
	if (udt_is_closed(s->conn)) {
		xf_end(s, 0, 0, udt_strerror(udt_error(s->conn)));
		return;
	}
	while (!s->hdr_done) {
		w = udt_write(s->conn, s->hdr + s->hdr_pos, WIRE_FILE_HEADER_SIZE - s->hdr_pos);
		if (w < 0) {
			xf_end(s, 0, 0, udt_strerror((int)w));
			return;
		}
		if (w == 0)
			return;
		s->hdr_pos += (size_t)w;
		s->hdr_done = s->hdr_pos == WIRE_FILE_HEADER_SIZE;
	}
	for (;;) {
		if (xf_fetch(s) != 0) {
			xf_end(s, 0, 1, "cannot read the file from storaged");
			return;
		}
		if (s->nslots == 0)
			break;
		sl = &s->slots[s->head];
		if (sl->state != XS_READY)
			break;
		while (sl->pos < sl->have) {
			w = udt_write(s->conn, sl->data + sl->pos, sl->have - sl->pos);
			if (w < 0) {
				xf_end(s, 0, 0, udt_strerror((int)w));
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
	if (s->done == s->total && s->nslots == 0 && udt_is_connected(s->conn) &&
	    udt_send_pending(s->conn) == 0)
		xf_end(s, 1, 0, "complete");
}

static void
xf_stat_done(void *arg, const uint8_t *rep, size_t len, const char *err)
{
	struct xf_sess *s = xf_reply_sess(arg, NULL);
	struct ipc_xstat_rep st;
	char why[IPC_XFER_ERR_MAX + 1];
	uint64_t limit;

	if (s == NULL)
		return;
	if (rep == NULL || ipc_xstat_rep_decode(rep, len, &st) != 0) {
		/* We cannot tell: the reference would not have it either. */
		xf_store_err(rep, len, err, why, sizeof(why));
		xf_send_ctl(s->f->n, s->pub, s->hash, WIRE_TRANSFER_NOT_AVAILABLE, s->seq);
		xf_end(s, 0, 0, why);
		return;
	}
	if (!st.present) {
		s->f->n->counters[IPC_NC_XFER_REFUSED]++;
		xf_send_ctl(s->f->n, s->pub, s->hash, WIRE_TRANSFER_NOT_AVAILABLE, s->seq);
		xf_end(s, 0, 0, "not available (404)");
		return;
	}
	/* The reference's range checks (§9.3): a bad range is ignored silently. */
	limit = s->total;
	if (s->offset > st.size || (limit > 0 && limit > st.size - s->offset)) {
		s->f->n->counters[IPC_NC_XFER_REFUSED]++;
		xf_end(s, 0, 0, "requested range outside the file: ignored");
		return;
	}
	if (limit == 0)
		limit = st.size - s->offset;
	s->file_size = st.size;
	s->total = limit;
	s->next_fetch = s->offset;
	wire_file_header_encode(s->hdr, st.size, limit);
	if (udt_connect(s->conn) != UDT_OK) {
		xf_end(s, 0, 1, "cannot start UDT");
		return;
	}
	xf_ref_requester(s);
	s->state = IPC_XFER_RUNNING;
	s->data_start = xf_now();
	xf_pump(s);
}

/* A peer's merkle request with storaged: who to answer, on which sequence. */
struct xf_mk_q {
	struct netd		*n;
	uint8_t			 pub[PEERNET_PUBKEY_BYTES];
	uint8_t			 hash[32];
	uint32_t		 seq;
	uint64_t		 limit;
};

static void
xf_mk_served(void *arg, const uint8_t *rep, size_t len, const char *err)
{
	static struct ipc_xstat_rep st;
	struct xf_mk_q *q = arg;
	struct xfer_mk_reply r;
	struct wire_transfer t;
	struct peer *p;
	size_t dlen, wlen;

	(void)err;
	xf_mk_serving--;
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
	t.data = xf_mkdata;
	if (xfer_mk_reply_encode(xf_mkdata, sizeof(xf_mkdata), &dlen, &r) == 0 &&
	    (t.data_len = dlen) >= 4 &&
	    wire_transfer_encode(xf_mkmsg, sizeof(xf_mkmsg), &wlen, &t) == 0)
		(void)node_send_peer(q->n, p, WIRE_CMD_TRANSFER, q->seq, xf_mkmsg, wlen);
	free(q);
}

/*
 * REQUEST_START with XFER_PROTO_MERKLE: the leaves of a stored file from
 * storaged's companion.  No session, no sequence registered (the answer
 * goes on the requester's); at most XF_MK_MAX_SERVING at once, more are
 * dropped (the requester resends, then does without).
 */
static void
xf_mk_serve(struct xfer_files *f, struct peer *p, uint32_t seq, const struct wire_transfer *t)
{
	struct ipc_xstat_req rq;
	struct xf_mk_q *q;
	uint8_t buf[64];
	long len;

	if (xf_mk_serving >= XF_MK_MAX_SERVING || (q = calloc(1, sizeof(*q))) == NULL) {
		f->n->counters[IPC_NC_XFER_REFUSED]++;
		return;
	}
	q->n = f->n;
	memcpy(q->pub, p->pub, PEERNET_PUBKEY_BYTES);
	memcpy(q->hash, t->hash, 32);
	q->seq = seq;
	q->limit = t->limit;
	memset(&rq, 0, sizeof(rq));
	memcpy(rq.hash, t->hash, 32);
	rq.flags = IPC_XSTAT_F_MERKLE;
	rq.first = t->offset;
	if ((len = ipc_xstat_req_encode(buf, sizeof(buf), &rq)) < 0 ||
	    ipc_client_send(&f->n->store, buf, (size_t)len, XF_IPC_TIMEOUT_MS,
	    xf_mk_served, q, xf_now()) != 0) {
		free(q);
		return;
	}
	xf_mk_serving++;
}

/* REQUEST_START from p (§9.3). */
static void
xf_request(struct xfer_files *f, struct peer *p, uint32_t seq, const struct wire_transfer *t)
{
	struct netd *n = f->n;
	struct xf_sess *s, *old;
	struct ipc_xstat_req q;
	uint8_t buf[64];
	char peer[17];
	long len;

	if (t->protocol == XFER_PROTO_MERKLE) {
		xf_mk_serve(f, p, seq, t);
		return;
	}
	if (t->protocol != WIRE_TRANSFER_PROTO_UDT) {
		n->counters[IPC_NC_XFER_REFUSED]++;
		return;		/* the reference ignores other protocols */
	}
	if ((old = xf_find_id(f, t->transfer_id)) != NULL) {
		/* The same request again (sent on several connections): already served. */
		if (old->role == XF_PROVIDER && old->seq == seq &&
		    memcmp(old->pub, p->pub, PEERNET_PUBKEY_BYTES) == 0)
			return;
		/* Transfer IDs are node-wide: a new registration replaces (§9.2). */
		xf_end(old, 0, 0, "transfer ID registered again");
	}
	if ((old = xf_find_seq(f, p->pub, seq)) != NULL)
		xf_end(old, 0, 0, "sequence registered again");
	/* Caps: a peer cannot make us hold more; it hears TERMINATE instead. */
	if (xf_count(f, XF_PROVIDER, p->pub) >= XF_MAX_SERVE_PEER ||
	    xf_count(f, XF_PROVIDER, NULL) >= XF_MAX_SERVING ||
	    (s = xf_new(f, XF_PROVIDER, p->pub, t->hash)) == NULL) {
		log_debug("file request from %s… refused: too many transfers",
		    xf_peer_text(p->pub, peer));
		n->counters[IPC_NC_XFER_REFUSED]++;
		xf_send_ctl(n, p->pub, t->hash, WIRE_TRANSFER_TERMINATE, seq);
		return;
	}
	memcpy(s->id, t->transfer_id, sizeof(s->id));
	s->seq = seq;
	s->offset = t->offset;
	s->total = t->limit;	/* checked against the size once storaged answers */
	memcpy(q.hash, t->hash, 32);
	q.flags = 0;		/* a peer's request never makes storaged hash partials */
	if (seq_register_bi(n->seqs, p->pub, seq, NULL, XF_IDLE_MS, xf_now()) != 0 ||
	    (len = ipc_xstat_req_encode(buf, sizeof(buf), &q)) < 0 ||
	    xf_store_send(s, buf, (size_t)len, XF_IPC_TIMEOUT_MS, xf_stat_done, 0) != 0) {
		xf_end(s, 0, 0, "cannot start");
		return;
	}
	log_debug("file request from %s…: offset %llu, limit %llu",
	    xf_peer_text(p->pub, peer), (unsigned long long)t->offset,
	    (unsigned long long)t->limit);
}

/* --- glue ------------------------------------------------------------------ */

static void
xf_pump(struct xf_sess *s)
{
	if (s->st != NULL)
		xf_pump_stream(s);
	else if (s->role == XF_REQUESTER)
		xf_pump_requester(s);
	else
		xf_pump_provider(s);
}

struct xfer_files *
xfer_file_new(struct netd *n)
{
	struct xfer_files *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->n = n;
	return f;
}

void
xfer_file_free(struct xfer_files *f)
{
	int i;

	if (f == NULL)
		return;
	for (i = 0; i < XF_MAX_SESSIONS; i++)
		if (f->s[i] != NULL)
			xf_end(f->s[i], 0, 1, "netd is stopping");
	if (f->timer != NULL)
		loop_timer_del(&f->n->d->loop, f->timer);
	free(f);
}

int
xfer_file_lite_in(struct xfer_files *f, const uint8_t *raw, size_t len)
{
	struct xf_sess *s;
	struct wire_lite l;

	if (f == NULL || len < WIRE_LITE_HDR_SIZE || (s = xf_find_id(f, raw)) == NULL)
		return 0;
	if (wire_lite_decode(raw, len, &l) != 0) {
		f->n->counters[IPC_NC_DROP_MESSAGE]++;
		return 1;
	}
	xf_touch(s);
	s->got_lite = 1;
	/* After the stream (storing) late packets are only absorbed. */
	if (s->conn == NULL)
		return 1;
	udt_input(s->conn, l.data, l.data_len);
	xf_pump(s);
	return 1;
}

void
xfer_file_packet(struct xfer_files *f, struct peer *p, struct peer_conn *c,
    const struct wire_packet *pkt)
{
	struct netd *n;
	struct xf_sess *s;
	struct wire_transfer t;
	struct seq_match m;
	int last;

	if (f == NULL)
		return;
	n = f->n;
	if (wire_transfer_decode(pkt->payload, pkt->payload_len, &t) != 0) {
		n->counters[IPC_NC_DROP_MESSAGE]++;
		return;
	}
	/*
	 * REQUEST_START is processed without a sequence match (§4.3), from a
	 * verified connection only (see node_hold_unverified).
	 */
	if (t.control == WIRE_TRANSFER_REQUEST_START) {
		if (!peer_conn_verified(c)) {
			node_hold_unverified(n, p, c, pkt);
			return;
		}
		xf_request(f, p, pkt->sequence, &t);
		return;
	}
	if (t.control > WIRE_TRANSFER_TERMINATE) {
		n->counters[IPC_NC_DROP_MESSAGE]++;
		return;
	}
	/* Our merkle extension answers only with ACTIVE (xfer_merkle.h). */
	if (t.protocol == XFER_PROTO_MERKLE && t.control != WIRE_TRANSFER_ACTIVE) {
		n->counters[IPC_NC_DROP_MESSAGE]++;
		return;
	}
	last = t.control == WIRE_TRANSFER_NOT_AVAILABLE ||
	    t.control == WIRE_TRANSFER_TERMINATE;
	if (seq_match_bi(n->seqs, p->pub, pkt->sequence, last, xf_now(), &m) != 0 ||
	    (s = xf_find_seq(f, p->pub, pkt->sequence)) == NULL) {
		n->counters[IPC_NC_DROP_UNSOLICITED]++;
		return;
	}
	if (m.first && m.rtt_ms > 0)
		peer_conn_set_rtt(c, m.rtt_ms);
	if (t.protocol == XFER_PROTO_MERKLE) {
		xf_touch(s);
		xf_mk_in(s, &t);
		return;
	}
	switch (t.control) {
	case WIRE_TRANSFER_ACTIVE:
		/* The older full-packet path (§9.7): a UDT packet inside the message. */
		xf_touch(s);
		if (s->conn != NULL) {
			udt_input(s->conn, t.data, t.data_len);
			xf_pump(s);
		}
		break;
	case WIRE_TRANSFER_NOT_AVAILABLE:
		xf_end(s, 0, 0, "the peer does not have this file (not available, 404)");
		break;
	case WIRE_TRANSFER_TERMINATE:
		/* Our download already has every byte: storaged finishes it. */
		if (s->role == XF_REQUESTER && s->conn == NULL)
			break;
		/* The requester has what it wanted (§9.6): a success, not an error. */
		if (s->role == XF_PROVIDER && s->hdr_done && s->done == s->total)
			xf_end(s, 1, 0, "complete (terminated by the requester)");
		else
			xf_end(s, 0, 0, "terminated by the peer");
		break;
	}
}

void
xfer_file_tick(struct xfer_files *f, uint64_t now_ms)
{
	struct xf_sess *s;
	uint64_t now_us;
	int i, live = 0;

	if (f == NULL || f->in_run)
		return;
	f->in_run = 1;
	now_us = xf_env_now(NULL);
	for (i = 0; i < XF_MAX_SESSIONS; i++) {
		if ((s = f->s[i]) == NULL)
			continue;
		if (s->st != NULL) {
			(void)xf_st_tick(s, now_ms, now_us);
			continue;
		}
		/* Storing: storaged's replies (with their own deadlines) end it. */
		if (s->conn == NULL && s->role == XF_REQUESTER)
			continue;
		if (now_ms - s->last_rx >= XF_IDLE_MS) {
			xf_end(s, 0, s->role == XF_REQUESTER, "idle for 60 s (sequence expired)");
			continue;
		}
		if (s->role == XF_REQUESTER && !s->got_lite &&
		    now_ms - s->req_at >= XF_START_MS) {
			xf_end(s, 0, 1, "the peer did not answer the request");
			continue;
		}
		if (s->role == XF_REQUESTER && !s->got_lite &&
		    now_ms - s->req_sent >= XF_RESEND_MS)
			xf_send_request(s);
		if (s->role == XF_REQUESTER)
			xf_mk_tick(s, now_ms);
		if (s->conn != NULL && udt_next_timeout_us(s->conn) <= now_us)
			udt_tick(s->conn);
		xf_pump(s);
	}
	for (i = 0; i < XF_MAX_SESSIONS; i++)
		if (f->s[i] != NULL)
			live++;
	f->in_run = 0;
	/* No session: no 10 ms timer (deleted from node.c's tick, never from its own callback). */
	if (live == 0 && f->timer != NULL && !f->in_timer) {
		loop_timer_del(&f->n->d->loop, f->timer);
		f->timer = NULL;
	}
}

void
netd_req_transfers(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct xfer_files *f = netd_xfer_files(n);
	struct ipc_xfer_info x;
	uint64_t now = xf_now();
	uint32_t want, total = 0;
	size_t off;
	long l;
	int i;

	if (ipc_u32_decode(msg, len, IPC_TRANSFERS, &want) != 0) {
		ipc_reply_error(req, IPC_ERR_BADMSG, "malformed transfers request");
		return;
	}
	if ((l = ipc_xfer_list_begin(xf_reply, sizeof(xf_reply), 0)) < 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "reply buffer");
		return;
	}
	off = (size_t)l;
	for (i = 0; f != NULL && i < XF_MAX_SESSIONS; i++) {
		if (f->s[i] == NULL || (want != 0 && f->s[i]->number != want))
			continue;
		xf_info(f->s[i], now, &x);
		if (ipc_xfer_list_add(xf_reply, sizeof(xf_reply), &off, &x) == 0)
			total++;
	}
	for (i = 0; f != NULL && i < XF_RECENT; i++) {
		struct xf_recent *r = &f->recent[i];

		if (r->at == 0 || now - r->at > XF_RECENT_MS ||
		    (want != 0 && r->info.number != want))
			continue;
		if (ipc_xfer_list_add(xf_reply, sizeof(xf_reply), &off, &r->info) == 0)
			total++;
	}
	buf_put_le32(xf_reply + IPC_HDR_LEN, total);
	ipc_reply(req, xf_reply, off);
}

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

enum xf_st_phase { ST_SIZE = 0, ST_OPEN };

struct xf_stream {
	struct ipc_req		*open_req;	/* IPC_STREAM_OPEN, until answered */
	struct ipc_req		*read_req;	/* the one IPC_STREAM_READ waiting */
	struct ipc_stream_read	 rd;
	uint64_t		 read_at, last_use;
	int			 phase;		/* enum xf_st_phase */
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

static uint8_t xf_st_out[IPC_STREAM_READ_MAX + 64];

/* From xf_end: answers what waits, frees the stream. */
static void
xf_st_release(struct xf_sess *s, int ok, const char *why)
{
	struct xf_stream *st = s->st;

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
xf_st_reply_read(struct xf_sess *s, uint64_t from, uint32_t n)
{
	struct xf_stream *st = s->st;
	struct ipc_data d;
	uint64_t drop;
	long l;

	memset(&d, 0, sizeof(d));
	d.id = s->number;
	d.offset = st->rd.offset;
	d.len = n;
	l = ipc_data_encode(xf_st_out, sizeof(xf_st_out), IPC_STREAM_READ, &d);
	if (l < 0) {
		ipc_reply_error(st->read_req, IPC_ERR_FAILED, "reply buffer");
	} else {
		if (n > 0)
			memcpy(xf_st_out + l, st->buf + (from - st->win_off), n);
		ipc_reply(st->read_req, xf_st_out, (size_t)l + n);
	}
	st->read_req = NULL;
	st->last_use = xf_now();
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
xf_st_run(struct xf_sess *s, uint64_t off, uint64_t len)
{
	struct xf_stream *st = s->st;
	size_t cap = len < XF_ST_WINDOW ? (size_t)len : XF_ST_WINDOW;
	uint8_t *p;

	/* Whole fragments fit: the window is at least one (<= 512 KiB, §4.1). */
	if (cap < st->frag && len >= st->frag)
		cap = (size_t)st->frag;
	if (cap > st->alloc) {
		if ((p = realloc(st->buf, cap)) == NULL) {
			xf_end(s, 0, s->conn != NULL, "out of memory");
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
	return xf_run_start(s);
}

/* Starts the run that covers the waiting read's offset. 0 or -1 (s ended). */
static int
xf_st_run_for_read(struct xf_sess *s)
{
	struct xf_stream *st = s->st;
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
	return xf_st_run(s, off, end - off);
}

/*
 * Answers the waiting read when its bytes are there, or starts their run.
 * 1 when it answered (the window may have room again).
 */
static int
xf_st_serve(struct xf_sess *s)
{
	struct xf_stream *st = s->st;
	uint64_t at, n;

	if (st == NULL || st->read_req == NULL || st->phase != ST_OPEN)
		return 0;
	at = st->rd.offset;
	if (at >= st->size) {
		xf_st_reply_read(s, at, 0);
		return 1;
	}
	if (st->buf != NULL && at >= st->win_off && at < st->win_off + st->ok) {
		n = st->win_off + st->ok - at;
		if (n > st->rd.max)
			n = st->rd.max;
		xf_st_reply_read(s, at, (uint32_t)n);
		return 1;
	}
	/* This run brings it (it is still under way, the window reaches it): wait. */
	if (s->conn != NULL && at >= st->win_off + st->ok &&
	    at < st->run_off + st->run_len && at < st->win_off + st->cap)
		return 0;
	(void)xf_st_run_for_read(s);
	return 0;
}

/* The stream header of a run (§9.3): exactly what was asked.  0 or -1 (s ended). */
static int
xf_st_header(struct xf_sess *s)
{
	struct xf_stream *st = s->st;
	uint64_t fsz, tsz;
	char peer[17], why[IPC_XFER_ERR_MAX + 1];

	wire_file_header_decode(s->hdr, &fsz, &tsz);
	if (fsz > XF_MAX_FILE || (st->phase == ST_OPEN && fsz != st->size) ||
	    s->offset > fsz || tsz != s->limit || tsz > fsz - s->offset) {
		snprintf(why, sizeof(why), "peer %s… announced %llu bytes of a %llu-byte "
		    "file for a request of %llu from offset %llu",
		    xf_peer_text(s->pub, peer), (unsigned long long)tsz,
		    (unsigned long long)fsz, (unsigned long long)s->limit,
		    (unsigned long long)s->offset);
		xf_end(s, 0, 1, why);
		return -1;
	}
	if (st->phase == ST_SIZE)
		st->size = s->file_size = s->total = fsz;
	if (s->data_start == 0)
		s->data_start = xf_now();
	return 0;
}

/*
 * The fragments now complete in the run's buffer are hashed against their
 * leaves.  0, or -1 when one failed (refetched from it, or s ended).
 */
static int
xf_st_verify(struct xf_sess *s)
{
	struct xf_stream *st = s->st;
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
		s->f->n->counters[IPC_NC_XFER_BAD_FRAGMENT]++;
		s->bad++;
		xf_peer_text(s->pub, peer);
		if (s->bad >= XF_MAX_REFETCH) {
			snprintf(msg, sizeof(msg), "fragment %llu (bytes %llu-%llu) from peer "
			    "%s… failed verification %u times: does not match its merkle leaf",
			    (unsigned long long)idx, (unsigned long long)fo,
			    (unsigned long long)(fo + flen - 1), peer, s->bad);
			xf_end(s, 0, 1, msg);
			return -1;
		}
		log_warnx("stream %u from %s…: fragment %llu does not match its merkle "
		    "leaf; dropped, fetching it again", s->number, peer,
		    (unsigned long long)idx);
		end = st->run_off + st->run_len;
		xf_stream_stop(s);
		(void)xf_st_run(s, fo, end - fo);
		return -1;
	}
	return 0;
}

/* The size run is read and the leaves settled: the open is answered. */
static void
xf_st_opened(struct xf_sess *s)
{
	struct xf_stream *st = s->st;
	struct ipc_stream_info info;
	uint8_t buf[64];
	long l;

	st->verified = s->mk == MK_READY && s->mk_size == st->size;
	st->frag = st->verified ? s->mk_frag : merkle_fragment_size(st->size);
	if (st->frag == 0)
		st->frag = MERKLE_MIN_FRAGMENT_SIZE;
	st->phase = ST_OPEN;
	st->last_use = xf_now();
	xf_stream_stop(s);
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

static void
xf_pump_stream(struct xf_sess *s)
{
	struct xf_stream *st = s->st;
	uint64_t want;
	ssize_t got;
	int rc;

	if (s->conn != NULL && s->state == IPC_XFER_STARTING) {
		rc = udt_accept(s->conn);
		if (rc == UDT_ERR_AGAIN)
			return;
		if (rc != UDT_OK) {
			xf_end(s, 0, 1, udt_strerror(rc));
			return;
		}
		s->state = IPC_XFER_RUNNING;
	}
	while (s->conn != NULL && s->hlen < WIRE_FILE_HEADER_SIZE) {
		got = udt_read(s->conn, s->hdr + s->hlen, WIRE_FILE_HEADER_SIZE - s->hlen);
		if (got == 0)
			return;
		if (got < 0) {
			xf_end(s, 0, 1, udt_strerror((int)got));
			return;
		}
		s->hlen += (size_t)got;
		if (s->hlen == WIRE_FILE_HEADER_SIZE && xf_st_header(s) != 0)
			return;
	}
	if (st->phase == ST_SIZE) {
		if (s->hlen < WIRE_FILE_HEADER_SIZE)
			return;
		if (st->have < s->limit && s->conn != NULL) {
			got = udt_read(s->conn, &st->one, 1);
			if (got < 0) {
				xf_end(s, 0, 1, udt_strerror((int)got));
				return;
			}
			st->have += (uint64_t)got;
			st->fetched += (uint64_t)got;
		}
		if (st->have < s->limit)
			return;
		/* The leaves: none for one fragment or above what we verify. */
		if (s->mk == MK_ASKING && (st->size <= MERKLE_MIN_FRAGMENT_SIZE ||
		    st->size > XF_MK_MAX_FILE))
			xf_mk_none(s, NULL);
		if (s->mk == MK_ASKING || s->mk == MK_UNASKED)
			return;		/* xf_mk_tick bounds the wait */
		xf_st_opened(s);
		return;
	}
	do {
		/* Into the window while it has room; UDT's window holds the peer else. */
		while (s->conn != NULL && s->hlen == WIRE_FILE_HEADER_SIZE &&
		    st->win_off + st->have < st->run_off + st->run_len &&
		    st->have < st->cap) {
			want = st->cap - st->have;
			if (want > st->run_off + st->run_len - st->win_off - st->have)
				want = st->run_off + st->run_len - st->win_off - st->have;
			got = udt_read(s->conn, st->buf + st->have, (size_t)want);
			if (got == 0)
				break;
			if (got < 0) {
				xf_end(s, 0, 1, udt_strerror((int)got));
				return;
			}
			st->have += (uint64_t)got;
			st->fetched += (uint64_t)got;
			s->done = st->fetched;
			if (xf_st_verify(s) != 0)
				return;		/* a new run, or s ended */
		}
		/* The run has every byte it asked for: free the provider (§9.6). */
		if (s->conn != NULL && st->run_len > 0 &&
		    st->win_off + st->have == st->run_off + st->run_len)
			xf_stream_stop(s);
		/* An answer may have made room in the window: read on. */
	} while (xf_st_serve(s) && s->st != NULL && s->conn != NULL &&
	    st->have < st->cap);
}

/* From xfer_file_tick for a stream: 1 when it ended. */
static int
xf_st_tick(struct xf_sess *s, uint64_t now_ms, uint64_t now_us)
{
	struct xf_stream *st = s->st;

	if (st->open_req == NULL && st->read_req == NULL &&
	    now_ms - st->last_use >= XF_ST_IDLE_MS) {
		xf_end(s, 1, s->conn != NULL, "stream not read for 30 s");
		return 1;
	}
	if (st->read_req != NULL && now_ms - st->read_at >= XF_ST_READ_WAIT_MS) {
		ipc_reply_error(st->read_req, IPC_ERR_FAILED, "the peer did not send the "
		    "bytes within %d s", XF_ST_READ_WAIT_MS / 1000);
		st->read_req = NULL;
		st->last_use = now_ms;
	}
	if (s->conn != NULL) {
		if (now_ms - s->last_rx >= XF_IDLE_MS) {
			xf_end(s, 0, 1, "idle for 60 s (sequence expired)");
			return 1;
		}
		if (!s->got_lite && now_ms - s->req_at >= XF_START_MS) {
			xf_end(s, 0, 1, "the peer did not answer the request");
			return 1;
		}
		if (!s->got_lite && now_ms - s->req_sent >= XF_RESEND_MS)
			xf_send_request(s);
		if (udt_next_timeout_us(s->conn) <= now_us)
			udt_tick(s->conn);
	}
	xf_mk_tick(s, now_ms);
	if (s->st == NULL)
		return 1;
	xf_pump(s);
	return 0;
}

static int
xf_st_count(const struct xfer_files *f)
{
	int i, c = 0;

	for (i = 0; i < XF_MAX_SESSIONS; i++)
		if (f->s[i] != NULL && f->s[i]->st != NULL)
			c++;
	return c;
}

void
netd_req_stream_open(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct xfer_files *f = netd_xfer_files(n);
	struct ipc_get_req q;
	struct xf_sess *s;
	struct peer *p;

	if (ipc_stream_open_decode(msg, len, &q) != 0) {
		ipc_reply_error(req, IPC_ERR_BADMSG, "malformed stream-open request");
		return;
	}
	if ((p = xf_req_peer(n, f, req, q.node_id, "")) == NULL)
		return;
	if (xf_st_count(f) >= XF_ST_MAX ||
	    (s = xf_new(f, XF_REQUESTER, p->pub, q.hash)) == NULL) {
		ipc_reply_error(req, IPC_ERR_FAILED, "too many streams at once");
		return;
	}
	if ((s->st = calloc(1, sizeof(*s->st))) == NULL) {
		xf_end(s, 0, 0, "out of memory");
		ipc_reply_error(req, IPC_ERR_FAILED, "out of memory");
		return;
	}
	s->flags = IPC_XFER_F_STREAM;
	s->st->open_req = req;		/* answered by xf_st_opened or xf_end */
	s->st->last_use = xf_now();
	s->offset = 0;
	s->limit = 1;
	(void)xf_run_start(s);
}

void
netd_req_stream_read(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct xf_sess *s;
	struct ipc_stream_read q;

	if (ipc_stream_read_decode(msg, len, &q) != 0) {
		ipc_reply_error(req, IPC_ERR_BADMSG, "malformed stream-read request");
		return;
	}
	if ((s = xf_find_number(netd_xfer_files(n), q.number)) == NULL || s->st == NULL) {
		ipc_reply_error(req, IPC_ERR_FAILED, "no stream %u", q.number);
		return;
	}
	if (s->st->phase != ST_OPEN || s->st->read_req != NULL) {
		ipc_reply_error(req, IPC_ERR_FAILED, "stream %u is busy", q.number);
		return;
	}
	s->st->read_req = req;
	s->st->rd = q;
	s->st->read_at = s->st->last_use = xf_now();
	xf_pump(s);
}

void
netd_req_stream_close(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct xf_sess *s;
	uint8_t buf[16];
	uint32_t number;
	long l;

	if (ipc_u32_decode(msg, len, IPC_STREAM_CLOSE, &number) != 0) {
		ipc_reply_error(req, IPC_ERR_BADMSG, "malformed stream-close request");
		return;
	}
	if ((s = xf_find_number(netd_xfer_files(n), number)) != NULL && s->st != NULL)
		xf_end(s, 1, s->conn != NULL, "stream closed");
	l = ipc_empty_encode(buf, sizeof(buf), IPC_STREAM_CLOSE, IPC_OK);
	ipc_reply(req, buf, (size_t)l);
}
