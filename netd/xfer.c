/*
 * xfer.c — transfer sessions over UDT in lite packets (see xfer.h): the
 * block transfer (Get Block, docs/protocol.md §9.8) in both roles.
 *
 *  - Requester (we fill storaged's cache with a peer's chain): fresh
 *    transfer ID and bidirectional sequence, UDT server, REQUEST_START; the
 *    stream is split into {header, block} records (xfer_block.c) and every
 *    block goes to storaged as IPC_CACHE_PUT, which validates it.  When the
 *    last expected header has been read we send TERMINATE (§9.6: frees the
 *    provider at once instead of after its 10 s idle expiry) and end.
 *  - Provider (a peer fetches our chain): the §3.9 checks, the requester's
 *    ID and sequence registered, UDT client; blocks come from storaged
 *    (IPC_BLOCK_GET, a few ahead) and are written as header + block, in
 *    order.  Like the reference we send nothing at the end (§9.6): once every
 *    byte is acknowledged the session is freed.
 *
 * Every UDT packet travels as one lite packet with the transfer ID (§2.7),
 * on the peer's latest connection (or all active ones, §9.2).  A session
 * ends on completion, error, TERMINATE/NOT_AVAILABLE/EMPTY, or 10 s without
 * a lite packet or message (blockSequenceTimeout), and a hard cap on its
 * life.  Storaged's replies find their session by a number, never by a
 * pointer, so a reply for a session that already ended is dropped.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "block.h"
#include "hex.h"
#include "log.h"
#include "netd.h"
#include "udt.h"
#include "wire_msg.h"
#include "xfer_block.h"
#include "xfer_file.h"

#define XFER_MAX_SESSIONS	32	/* both roles; each holds a ~4 MB UDT connection (resident: what it touched) */
#define XFER_MAX_DOWNLOADS	16
#define XFER_MAX_SERVE_PEER	2	/* sessions one peer can make us serve at once */
#define XFER_MAX_WANTS		64	/* downloads waiting for a free slot */
#define XFER_SERVE_AHEAD	8	/* blocks asked from storaged ahead of the stream */
#define XFER_PUT_INFLIGHT	8	/* blocks handed to storaged, not yet answered */
#define XFER_SERVE_MAX_RECORDS	4096	/* headers one request can make us write */
#define XFER_IDLE_MS		SEQ_BI_BLOCK_MS	/* blockSequenceTimeout (§9.2) */
#define XFER_LIFE_MS		120000	/* no block session lives longer */
#define XFER_TIMER_MS		10	/* UDT's SYN interval */
#define XFER_IPC_TIMEOUT_MS	5000
#define XFER_MAX_BLOCK		BLOCK_CACHE_MAX_SIZE	/* CacheMaxBlockSize (§9.9) */
#define XFER_MAX_COUNT		BLOCK_CACHE_MAX_COUNT	/* CacheMaxBlockCount */
#define XFER_MAX_BYTES		((uint64_t)XFER_MAX_COUNT * \
	(WIRE_BLOCK_HEADER_SIZE + XFER_MAX_BLOCK))
#define XFER_RBUF		8192

enum xfer_role { XFER_REQUESTER = 1, XFER_PROVIDER = 2 };

enum xfer_slot_state { SLOT_FREE = 0, SLOT_WAIT, SLOT_READY };

/* Provider: one record of the stream, fetched ahead. */
struct xfer_slot {
	int		 state;
	uint64_t	 number;
	uint8_t		 hdr[WIRE_BLOCK_HEADER_SIZE];
	uint8_t		*data;		/* the block, availability 0 only */
	size_t		 len;		/* bytes of data */
	size_t		 off;		/* of hdr + data, written into UDT */
};

struct xfer_sess {
	struct netd		*n;
	enum xfer_role		 role;
	uint64_t		 sid;		/* what storaged's replies refer to */
	uint8_t			 id[WIRE_TRANSFER_ID_SIZE];
	uint8_t			 pub[PEERNET_PUBKEY_BYTES];
	uint32_t		 seq;
	struct udt_conn		*conn;
	uint64_t		 created;	/* ms */
	uint64_t		 last_rx;	/* ms: last lite packet or message */
	uint64_t		 seq_touched;	/* ms: bi-sequence expiry last pushed */
	int			 ipc;		/* storaged requests in flight */
	/* requester */
	uint64_t		 version;
	uint64_t		 from, to;
	struct xfer_bparse	 bp;
	uint8_t			 rbuf[XFER_RBUF];
	size_t			 roff, rlen;
	uint64_t		 bytes;		/* stream bytes read */
	uint64_t		 blocks;	/* handed to storaged */
	/* provider */
	uint64_t		 limit;		/* limit block count */
	uint64_t		 max_size;	/* requester's max block size */
	uint64_t		 height;	/* own chain height at the request */
	uint8_t			*ranges;	/* copy of the request's ranges */
	struct xfer_range_iter	 it;
	int			 iter_end;
	int			 end_told;	/* udt_stream_end called */
	int			 ref;		/* the requester lacks feature bit 3 */
	uint64_t		 records;	/* headers taken from the ranges */
	uint64_t		 avail;		/* available blocks queued */
	struct xfer_slot	 slots[XFER_SERVE_AHEAD];
	unsigned		 head, nslots;	/* ring of records, in stream order */
};

/* A download that waits for the peer's current one, or for a free slot. */
struct xfer_want {
	int		used;
	uint8_t		pub[PEERNET_PUBKEY_BYTES];
	uint64_t	version, from, to;
};

struct xfer {
	struct xfer_sess	*s[XFER_MAX_SESSIONS];
	struct xfer_want	 wants[XFER_MAX_WANTS];
	uint64_t		 next_sid;
	struct loop_timer	*timer;
	int			 in_timer;	/* inside the timer's callback */
	int			 in_run;
	struct xfer_files	*files;		/* file transfers (xfer_file.c) */
};

/* A storaged request's context: the session by number, not by pointer. */
struct xfer_ipc {
	struct netd	*n;
	uint64_t	 sid;
	uint64_t	 number;
};

static uint8_t xfer_lite[WIRE_LITE_HDR_SIZE + UDT_PKT_MAX];
static uint8_t xfer_msg[WIRE_GETBLOCK_REQUEST_MIN + WIRE_BLOCK_RANGE_SIZE * XFER_BP_MAX_RANGES];
static uint8_t xfer_ipcbuf[XFER_MAX_BLOCK + 256];

static void	xfer_pump(struct xfer_sess *s);
static void	xfer_drain_wants(struct netd *n);

static struct xfer *
X(struct netd *n)
{
	return n->xfer;
}

static uint64_t
xfer_now(void)
{
	return loop_now_ms();
}

static const char *
xfer_peer_text(const uint8_t pub[PEERNET_PUBKEY_BYTES], char out[17])
{
	uint8_t id[PEERNET_NODEID_BYTES];

	ident_node_id(pub, id);
	hex_encode(out, id, 8);
	return out;
}

/* --- UDT environment ------------------------------------------------------ */

static uint64_t
xfer_env_now(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
xfer_env_random(void *ctx, void *out, size_t len)
{
	(void)ctx;
	randombytes_buf(out, len);
}

/* One UDT packet out, as a lite packet (§2.7) on the peer's connection(s). */
static int
xfer_env_send(void *ctx, const uint8_t *pkt, size_t len)
{
	struct xfer_sess *s = ctx;
	struct peer_conn *targets[PEER_MAX_CONNS];
	struct wire_lite l;
	struct peer *p;
	size_t out, k, i;
	int sent = 0;

	/* UDT only ever goes to verified connections (no reflection, node.c). */
	if ((p = peer_find(s->n->peers, s->pub)) == NULL ||
	    peer_send_targets_verified(p, targets, &k) != 0)
		return -1;
	memcpy(l.id, s->id, sizeof(l.id));
	l.data = pkt;
	l.data_len = len;
	if (wire_lite_encode(xfer_lite, sizeof(xfer_lite), &out, &l) != 0)
		return -1;
	for (i = 0; i < k; i++)
		if (net_send_raw(s->n, targets[i]->sock, &targets[i]->local,
		    &targets[i]->remote, xfer_lite, out) == 0)
			sent++;
	return sent ? 0 : -1;
}

/* --- sessions ---------------------------------------------------------------- */

static struct xfer_sess *
xfer_find_id(struct xfer *x, const uint8_t id[WIRE_TRANSFER_ID_SIZE])
{
	int i;

	for (i = 0; i < XFER_MAX_SESSIONS; i++)
		if (x->s[i] != NULL && memcmp(x->s[i]->id, id, WIRE_TRANSFER_ID_SIZE) == 0)
			return x->s[i];
	return NULL;
}

static struct xfer_sess *
xfer_find_seq(struct xfer *x, const uint8_t pub[PEERNET_PUBKEY_BYTES], uint32_t seq)
{
	int i;

	for (i = 0; i < XFER_MAX_SESSIONS; i++)
		if (x->s[i] != NULL && x->s[i]->seq == seq &&
		    memcmp(x->s[i]->pub, pub, PEERNET_PUBKEY_BYTES) == 0)
			return x->s[i];
	return NULL;
}

static struct xfer_sess *
xfer_find_sid(struct xfer *x, uint64_t sid)
{
	int i;

	if (x == NULL)
		return NULL;
	for (i = 0; i < XFER_MAX_SESSIONS; i++)
		if (x->s[i] != NULL && x->s[i]->sid == sid)
			return x->s[i];
	return NULL;
}

static int
xfer_count(struct xfer *x, enum xfer_role role, const uint8_t *pub)
{
	int i, c = 0;

	for (i = 0; i < XFER_MAX_SESSIONS; i++)
		if (x->s[i] != NULL && (role == 0 || x->s[i]->role == role) &&
		    (pub == NULL || memcmp(x->s[i]->pub, pub, PEERNET_PUBKEY_BYTES) == 0))
			c++;
	return c;
}

static void
xfer_on_timer(void *arg)
{
	struct netd *n = arg;
	struct xfer *x = X(n);

	x->in_timer = 1;
	net_tx_begin(n);
	netd_xfer_tick(n, xfer_now());
	net_tx_end(n);
	x->in_timer = 0;
}

/* A new session with a UDT connection, in a free slot; NULL if none. */
static struct xfer_sess *
xfer_new(struct netd *n, enum xfer_role role, const uint8_t pub[PEERNET_PUBKEY_BYTES])
{
	struct xfer *x = X(n);
	struct xfer_sess *s;
	struct udt_env env;
	int i;

	for (i = 0; i < XFER_MAX_SESSIONS; i++)
		if (x->s[i] == NULL)
			break;
	if (i == XFER_MAX_SESSIONS || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	env.now_us = xfer_env_now;
	env.send = xfer_env_send;
	env.random = xfer_env_random;
	env.ctx = s;
	if ((s->conn = udt_conn_new(&env)) == NULL) {
		free(s);
		return NULL;
	}
	udt_set_idle_timeout(s->conn, (uint64_t)XFER_IDLE_MS * 1000);
	s->n = n;
	s->role = role;
	s->sid = ++x->next_sid;
	memcpy(s->pub, pub, PEERNET_PUBKEY_BYTES);
	s->created = s->last_rx = s->seq_touched = xfer_now();
	x->s[i] = s;
	/* UDT wants 10 ms resolution while a session lives (node.c ticks at 100 ms). */
	if (x->timer == NULL)
		x->timer = loop_timer_add(&n->d->loop, XFER_TIMER_MS, XFER_TIMER_MS,
		    xfer_on_timer, n);
	return s;
}

static void
xfer_send_ctl(struct netd *n, const uint8_t pub[PEERNET_PUBKEY_BYTES],
    const uint8_t chain[PEERNET_PUBKEY_BYTES], uint8_t control, uint32_t seq)
{
	struct wire_getblock g;
	struct peer *p;
	size_t len;

	if ((p = peer_find(n->peers, pub)) == NULL)
		return;
	memset(&g, 0, sizeof(g));
	g.control = control;
	memcpy(g.blockchain, chain, PEERNET_PUBKEY_BYTES);
	if (wire_getblock_encode(xfer_msg, sizeof(xfer_msg), &len, &g) == 0)
		node_send_peer(n, p, WIRE_CMD_GET_BLOCK, seq, xfer_msg, len);
}

/*
 * Ends a session and frees it.  terminate: tell the peer (our download is
 * complete or failed; §9.6 recommends TERMINATE to free the provider).
 */
static void
xfer_end(struct xfer_sess *s, int terminate, const char *why)
{
	struct netd *n = s->n;
	struct xfer *x = X(n);
	char peer[17];
	int i;

	if (s->role == XFER_REQUESTER)
		log_debug("block download %llu..%llu of %s… (version %llu) ended: %s; "
		    "%llu blocks, %llu bytes", (unsigned long long)s->from,
		    (unsigned long long)s->to, xfer_peer_text(s->pub, peer),
		    (unsigned long long)s->version, why,
		    (unsigned long long)s->blocks, (unsigned long long)s->bytes);
	else
		log_debug("block serving to %s… ended: %s; %llu records",
		    xfer_peer_text(s->pub, peer), why, (unsigned long long)s->records);
	if (terminate)
		xfer_send_ctl(n, s->pub, s->role == XFER_REQUESTER ? s->pub : n->id.pub,
		    WIRE_GETBLOCK_TERMINATE, s->seq);
	seq_remove_bi(n->seqs, s->pub, s->seq);
	for (i = 0; i < XFER_MAX_SESSIONS; i++)
		if (x->s[i] == s)
			x->s[i] = NULL;
	for (i = 0; i < XFER_SERVE_AHEAD; i++)
		free(s->slots[i].data);
	free(s->ranges);
	xfer_bparse_free(&s->bp);
	udt_conn_free(s->conn);
	free(s);
	/*
	 * A UDT connection is ~4 MB from the heap (under glibc's dynamic mmap
	 * threshold once one was freed): give its pages back at once, or small
	 * allocations made since can pin them (RSS stays high after a burst).
	 */
	malloc_trim(0);
	xfer_drain_wants(n);
}

/* A lite packet or message for the session: idle expiry pushed (§9.2). */
static void
xfer_touch(struct xfer_sess *s)
{
	struct seq_match m;
	uint64_t now = xfer_now();

	s->last_rx = now;
	/* Lite traffic keeps the bi-sequence alive too, so late messages still match. */
	if (now - s->seq_touched >= 1000) {
		s->seq_touched = now;
		seq_match_bi(s->n->seqs, s->pub, s->seq, 0, now, &m);
	}
}

/* --- requester ------------------------------------------------------------ */

static void
xfer_put_done(void *arg, const uint8_t *rep, size_t len, const char *err)
{
	struct xfer_ipc *q = arg;
	struct xfer_sess *s = xfer_find_sid(X(q->n), q->sid);
	struct ipc_hdr h;
	char reason[128], peer[17];
	uint16_t status;

	if (X(q->n) == NULL) {		/* netd is stopping: nothing to report */
		free(q);
		return;
	}
	if (s != NULL)
		s->ipc--;
	if (rep == NULL) {
		log_warnx("cache block %llu: storaged did not answer: %s",
		    (unsigned long long)q->number, err);
		if (s != NULL)
			xfer_end(s, 1, "storaged did not answer");
	} else if (ipc_hdr_decode(rep, len, &h) != 0 || h.status != 0) {
		if (ipc_error_decode(rep, len, &status, reason, sizeof(reason)) != 0)
			snprintf(reason, sizeof(reason), "malformed reply");
		/* A refused block (wrong signer, version, number...) ends the session. */
		log_info("block %llu of %s… refused by the cache: %s",
		    (unsigned long long)q->number,
		    s != NULL ? xfer_peer_text(s->pub, peer) : "?", reason);
		if (s != NULL)
			xfer_end(s, 1, "block refused");
	} else if (s != NULL)
		xfer_pump(s);
	free(q);
}

/* One record of the stream: an available block goes to storaged's cache. */
static int
xfer_record(struct xfer_sess *s, const struct xfer_brec *r)
{
	struct ipc_cache_block cb;
	struct xfer_ipc *q;
	long len;

	if (r->availability != WIRE_BLOCK_AVAILABLE) {
		log_debug("block %llu not sent by the peer (availability %u, size %llu)",
		    (unsigned long long)r->number, r->availability,
		    (unsigned long long)r->size);
		return 0;
	}
	memcpy(cb.owner, s->pub, sizeof(cb.owner));
	cb.version = s->version;
	cb.number = r->number;
	cb.raw = r->data;
	cb.len = (uint32_t)r->size;
	if ((len = ipc_cache_block_encode(xfer_ipcbuf, sizeof(xfer_ipcbuf), &cb)) < 0 ||
	    (q = calloc(1, sizeof(*q))) == NULL)
		return -1;
	q->n = s->n;
	q->sid = s->sid;
	q->number = r->number;
	if (ipc_client_send(&s->n->store, xfer_ipcbuf, (size_t)len, XFER_IPC_TIMEOUT_MS,
	    xfer_put_done, q, xfer_now()) != 0) {
		free(q);
		return -1;
	}
	s->ipc++;
	s->blocks++;
	return 0;
}

static void
xfer_pump_requester(struct xfer_sess *s)
{
	struct xfer_brec r;
	size_t used;
	ssize_t got;
	int rc;

	rc = udt_accept(s->conn);
	if (rc == UDT_ERR_AGAIN)
		return;
	if (rc != UDT_OK) {
		xfer_end(s, 1, udt_strerror(rc));
		return;
	}
	while (!xfer_bparse_done(&s->bp) && s->ipc < XFER_PUT_INFLIGHT) {
		if (s->roff == s->rlen) {
			got = udt_read(s->conn, s->rbuf, sizeof(s->rbuf));
			if (got == 0)
				return;
			if (got < 0) {
				xfer_end(s, 1, udt_strerror((int)got));
				return;
			}
			s->roff = 0;
			s->rlen = (size_t)got;
			s->bytes += (uint64_t)got;
			if (s->bytes > XFER_MAX_BYTES) {
				xfer_end(s, 1, "stream larger than the request allows");
				return;
			}
		}
		rc = xfer_bparse_feed(&s->bp, s->rbuf + s->roff, s->rlen - s->roff,
		    &used, &r);
		s->roff += used;
		if (rc < 0) {
			xfer_end(s, 1, xfer_bp_strerror(rc));
			return;
		}
		if (rc == 1 && xfer_record(s, &r) != 0) {
			xfer_end(s, 1, "cannot hand the block to storaged");
			return;
		}
	}
	/*
	 * Every expected header is read: done, whatever else the stream holds
	 * (§9.2 "stops reading").  Blocks still with storaged are answered later.
	 */
	if (xfer_bparse_done(&s->bp))
		xfer_end(s, 1, "complete");
}

/* Starts a download now; 0, or -1 if it cannot start (no room, no connection). */
static int
xfer_download(struct netd *n, struct peer *p, uint64_t version, uint64_t from,
    uint64_t to)
{
	struct wire_block_range r;
	struct peer_conn *targets[PEER_MAX_CONNS];
	struct xfer_sess *s;
	size_t len, k;
	char peer[17];

	if (peer_send_targets(p, NULL, targets, &k) != 0)
		return -1;	/* lite packets need an active connection (§2.7) */
	if (xfer_count(X(n), XFER_REQUESTER, NULL) >= XFER_MAX_DOWNLOADS ||
	    (s = xfer_new(n, XFER_REQUESTER, p->pub)) == NULL)
		return -1;
	s->version = version;
	s->from = from;
	s->to = to;
	r.first = from;
	r.count = to - from;
	/* A fresh UUID v4, unique among our sessions (§9.1). */
	do {
		randombytes_buf(s->id, sizeof(s->id));
		xfer_uuid_v4(s->id);
	} while (xfer_find_id(X(n), s->id) != s);
	if (xfer_bparse_init(&s->bp, &r, 1, XFER_MAX_BLOCK) != 0 ||
	    seq_new_bi(n->seqs, p->pub, &p->seq_counter, NULL, XFER_IDLE_MS,
	    xfer_now(), &s->seq) != 0 || udt_listen(s->conn) != UDT_OK) {
		s->seq = 0;
		xfer_end(s, 0, "cannot start");
		return -1;
	}
	/* Limit 256 and max size 50096, as the reference's cache asks (§9.9). */
	if (xfer_block_request(xfer_msg, sizeof(xfer_msg), &len, p->pub, s->id, &r,
	    XFER_MAX_COUNT, XFER_MAX_BLOCK) != 0 ||
	    node_send_peer(n, p, WIRE_CMD_GET_BLOCK, s->seq, xfer_msg, len) != 0) {
		xfer_end(s, 0, "cannot send the request");
		return -1;
	}
	log_debug("block download %llu..%llu of %s… (version %llu) requested",
	    (unsigned long long)from, (unsigned long long)to,
	    xfer_peer_text(p->pub, peer), (unsigned long long)version);
	return 0;
}

static struct xfer_want *
xfer_want_find(struct xfer *x, const uint8_t pub[PEERNET_PUBKEY_BYTES])
{
	int i;

	for (i = 0; i < XFER_MAX_WANTS; i++)
		if (x->wants[i].used && memcmp(x->wants[i].pub, pub, PEERNET_PUBKEY_BYTES) == 0)
			return &x->wants[i];
	return NULL;
}

/* Starts the waiting downloads that can start now. */
static void
xfer_drain_wants(struct netd *n)
{
	struct xfer *x = X(n);
	struct xfer_want *w;
	struct peer *p;
	int i;

	for (i = 0; i < XFER_MAX_WANTS; i++) {
		w = &x->wants[i];
		if (!w->used || xfer_count(x, XFER_REQUESTER, w->pub) > 0)
			continue;
		if (xfer_count(x, XFER_REQUESTER, NULL) >= XFER_MAX_DOWNLOADS ||
		    xfer_count(x, 0, NULL) >= XFER_MAX_SESSIONS)
			return;
		w->used = 0;
		if ((p = peer_find(n->peers, w->pub)) != NULL)
			xfer_download(n, p, w->version, w->from, w->to);
	}
}

void
netd_xfer_blocks_wanted(struct netd *n, struct peer *p, uint64_t version,
    uint64_t from, uint64_t to)
{
	struct xfer *x = X(n);
	struct peer_conn *targets[PEER_MAX_CONNS];
	struct xfer_sess *s;
	struct xfer_want *w;
	size_t k;
	int i;

	if (x == NULL || to <= from)
		return;
	/*
	 * Only from a peer with a verified connection: a session holds a UDT
	 * connection of a few MB, which a flood of new identities claiming
	 * chains must not make us allocate (nor our requests reflect).
	 */
	if (peer_send_targets_verified(p, targets, &k) != 0)
		return;
	/* The cache never holds more than CacheMaxBlockCount blocks (§9.9). */
	if (from >= XFER_MAX_COUNT)
		return;
	if (to > XFER_MAX_COUNT)
		to = XFER_MAX_COUNT;
	/* Already being fetched (the same announcement heard twice). */
	for (i = 0; i < XFER_MAX_SESSIONS; i++)
		if ((s = x->s[i]) != NULL && s->role == XFER_REQUESTER &&
		    memcmp(s->pub, p->pub, PEERNET_PUBKEY_BYTES) == 0 &&
		    s->version == version && s->from <= from && s->to >= to)
			return;
	if (xfer_count(x, XFER_REQUESTER, p->pub) == 0 && xfer_want_find(x, p->pub) == NULL &&
	    xfer_download(n, p, version, from, to) == 0)
		return;
	/* One download per peer: this one waits, merged with what already waits. */
	if ((w = xfer_want_find(x, p->pub)) != NULL) {
		if (w->version == version) {
			if (from < w->from)
				w->from = from;
			if (to > w->to)
				w->to = to;
			return;
		}
	} else {
		for (i = 0; i < XFER_MAX_WANTS; i++)
			if (!x->wants[i].used)
				break;
		if (i == XFER_MAX_WANTS) {
			log_debug("block download dropped: %d downloads waiting", i);
			return;
		}
		w = &x->wants[i];
		w->used = 1;
		memcpy(w->pub, p->pub, sizeof(w->pub));
	}
	w->version = version;
	w->from = from;
	w->to = to;
}

/* --- provider ---------------------------------------------------------------- */

static void
xfer_slot_header(struct xfer_slot *sl, uint8_t availability, uint64_t size)
{
	xfer_block_header(sl->hdr, availability, sl->number, size);
	sl->state = SLOT_READY;
}

static void
xfer_block_done(void *arg, const uint8_t *rep, size_t len, const char *err)
{
	struct xfer_ipc *q = arg;
	struct xfer_sess *s = xfer_find_sid(X(q->n), q->sid);
	struct xfer_slot *sl = NULL;
	struct ipc_data d;
	unsigned i;

	(void)err;
	if (s != NULL) {
		s->ipc--;
		for (i = 0; i < XFER_SERVE_AHEAD; i++)
			if (s->slots[i].state == SLOT_WAIT && s->slots[i].number == q->number)
				sl = &s->slots[i];
	}
	free(q);
	if (sl == NULL)
		return;
	/* No such block, or storaged failed: the reference says "not available" too. */
	if (rep == NULL || ipc_data_decode(rep, len, IPC_BLOCK_GET, &d) != 0)
		xfer_slot_header(sl, WIRE_BLOCK_NOT_AVAILABLE, 0);
	else if (d.len > s->max_size)
		xfer_slot_header(sl, WIRE_BLOCK_SIZE_EXCEED, d.len);
	else if (d.len > 0 && (sl->data = malloc(d.len)) == NULL)
		xfer_slot_header(sl, WIRE_BLOCK_NOT_AVAILABLE, 0);
	else {
		if (d.len > 0)
			memcpy(sl->data, d.bytes, d.len);
		sl->len = d.len;
		xfer_slot_header(sl, WIRE_BLOCK_AVAILABLE, d.len);
	}
	/* Only blocks actually sent count against the limit (§9.8). */
	if (sl->hdr[0] != WIRE_BLOCK_AVAILABLE)
		s->avail--;
	xfer_pump(s);
}

/* Takes the next records of the ranges into free slots and asks storaged. */
static void
xfer_fetch(struct xfer_sess *s)
{
	struct xfer_slot *sl;
	struct xfer_ipc *q;
	struct ipc_read rd;
	uint8_t buf[128];
	uint64_t number;
	long len;

	while (!s->iter_end && s->nslots < XFER_SERVE_AHEAD) {
		/*
		 * The limit counts blocks sent (§9.8); unlike the reference it
		 * ends the whole request, not only the current range.
		 */
		if (s->avail >= s->limit || s->records >= XFER_SERVE_MAX_RECORDS ||
		    !xfer_range_iter_next(&s->it, &number)) {
			s->iter_end = 1;
			break;
		}
		sl = &s->slots[(s->head + s->nslots++) % XFER_SERVE_AHEAD];
		memset(sl, 0, sizeof(*sl));
		sl->number = number;
		s->records++;
		if (number >= s->height) {
			xfer_slot_header(sl, WIRE_BLOCK_NOT_AVAILABLE, 0);
			continue;
		}
		s->avail++;	/* assumed available until storaged says otherwise */
		sl->state = SLOT_WAIT;
		memset(&rd, 0, sizeof(rd));
		rd.offset = number;
		if ((len = ipc_read_encode(buf, sizeof(buf), IPC_BLOCK_GET, &rd)) < 0 ||
		    (q = calloc(1, sizeof(*q))) == NULL) {
			xfer_slot_header(sl, WIRE_BLOCK_NOT_AVAILABLE, 0);
			s->avail--;
			continue;
		}
		q->n = s->n;
		q->sid = s->sid;
		q->number = number;
		if (ipc_client_send(&s->n->store, buf, (size_t)len, XFER_IPC_TIMEOUT_MS,
		    xfer_block_done, q, xfer_now()) != 0) {
			free(q);
			xfer_slot_header(sl, WIRE_BLOCK_NOT_AVAILABLE, 0);
			s->avail--;
			continue;
		}
		s->ipc++;
	}
}

static void
xfer_pump_provider(struct xfer_sess *s)
{
	struct xfer_slot *sl;
	ssize_t w;
	size_t total;

	if (udt_is_closed(s->conn)) {
		xfer_end(s, 0, udt_strerror(udt_error(s->conn)));
		return;
	}
	for (;;) {
		xfer_fetch(s);
		if (s->nslots == 0)
			break;
		sl = &s->slots[s->head];
		if (sl->state != SLOT_READY)
			break;
		/* Header and block go into the stream back to back (§9.8). */
		total = WIRE_BLOCK_HEADER_SIZE + (sl->data != NULL ? sl->len : 0);
		/*
		 * The last record: a reference requester closes silently and never
		 * ACKs a stream shorter than 4 packets; with the end known UDT makes
		 * it ACK the last byte (udt_stream_end), so we end on its close, not
		 * 10 s later.  Our own nodes (feature bit 3) ACK every tail anyway.
		 */
		if (s->iter_end && s->nslots == 1 && !s->end_told) {
			s->end_told = 1;
			if (s->ref)
				udt_stream_end(s->conn, total - sl->off);
		}
		while (sl->off < total) {
			if (sl->off < WIRE_BLOCK_HEADER_SIZE)
				w = udt_write(s->conn, sl->hdr + sl->off,
				    WIRE_BLOCK_HEADER_SIZE - sl->off);
			else
				w = udt_write(s->conn, sl->data + (sl->off -
				    WIRE_BLOCK_HEADER_SIZE), total - sl->off);
			if (w < 0) {
				xfer_end(s, 0, udt_strerror((int)w));
				return;
			}
			if (w == 0)
				return;		/* send buffer full: ACKs make room */
			sl->off += (size_t)w;
		}
		free(sl->data);
		memset(sl, 0, sizeof(*sl));
		s->head = (s->head + 1) % XFER_SERVE_AHEAD;
		s->nslots--;
	}
	/* Everything written and acknowledged: nothing is sent at the end (§9.6). */
	if (s->iter_end && s->nslots == 0 && udt_is_connected(s->conn) &&
	    udt_send_pending(s->conn) == 0)
		xfer_end(s, 0, "complete");
}

/* REQUEST_START from p (§3.9): the checks in the reference's order, then serve. */
static void
xfer_request(struct netd *n, struct peer *p, uint32_t seq, const struct wire_getblock *g)
{
	struct xfer *x = X(n);
	struct xfer_sess *s, *old;
	char peer[17];

	if (memcmp(g->blockchain, n->id.pub, PEERNET_PUBKEY_BYTES) != 0) {
		xfer_send_ctl(n, p->pub, g->blockchain, WIRE_GETBLOCK_NOT_AVAILABLE, seq);
		return;
	}
	if (n->chain_height == 0) {
		xfer_send_ctl(n, p->pub, g->blockchain, WIRE_GETBLOCK_EMPTY, seq);
		return;
	}
	if (g->limit_count == 0) {
		xfer_send_ctl(n, p->pub, g->blockchain, WIRE_GETBLOCK_TERMINATE, seq);
		return;
	}
	if ((old = xfer_find_id(x, g->transfer_id)) != NULL) {
		/* The same request again (sent on several connections): already served. */
		if (old->role == XFER_PROVIDER && old->seq == seq &&
		    memcmp(old->pub, p->pub, PEERNET_PUBKEY_BYTES) == 0)
			return;
		/* Transfer IDs are node-wide: a new registration replaces (§9.2). */
		xfer_end(old, 0, "transfer ID registered again");
	}
	if ((old = xfer_find_seq(x, p->pub, seq)) != NULL)
		xfer_end(old, 0, "sequence registered again");
	/* Caps: a peer cannot make us hold more; it hears TERMINATE instead. */
	if (xfer_count(x, XFER_PROVIDER, p->pub) >= XFER_MAX_SERVE_PEER ||
	    (s = xfer_new(n, XFER_PROVIDER, p->pub)) == NULL) {
		log_debug("block request from %s… refused: too many transfers",
		    xfer_peer_text(p->pub, peer));
		xfer_send_ctl(n, p->pub, g->blockchain, WIRE_GETBLOCK_TERMINATE, seq);
		return;
	}
	memcpy(s->id, g->transfer_id, sizeof(s->id));
	s->seq = seq;
	s->limit = g->limit_count;
	s->max_size = g->max_block_size;
	s->height = n->chain_height;
	if ((s->ranges = malloc(g->n_ranges * WIRE_BLOCK_RANGE_SIZE)) == NULL ||
	    seq_register_bi(n->seqs, p->pub, seq, NULL, XFER_IDLE_MS, xfer_now()) != 0 ||
	    udt_connect(s->conn) != UDT_OK) {
		xfer_end(s, 0, "cannot start");
		return;
	}
	memcpy(s->ranges, g->ranges, g->n_ranges * WIRE_BLOCK_RANGE_SIZE);
	xfer_range_iter_init(&s->it, s->ranges, g->n_ranges);
	/* A reference requester (no feature bit 3): probes, not window resends (udt.h). */
	s->ref = !(p->features & WIRE_FEATURE_MERKLE);
	if (s->ref)
		udt_set_probe_only(s->conn);
	log_debug("block request from %s…: %zu ranges, limit %llu, max size %llu",
	    xfer_peer_text(p->pub, peer), g->n_ranges,
	    (unsigned long long)g->limit_count, (unsigned long long)g->max_block_size);
	xfer_pump(s);
}

/* --- glue ---------------------------------------------------------------------- */

static void
xfer_pump(struct xfer_sess *s)
{
	if (s->role == XFER_REQUESTER)
		xfer_pump_requester(s);
	else
		xfer_pump_provider(s);
}

int
netd_xfer_init(struct netd *n)
{
	struct xfer *x;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return -1;
	if ((x->files = xfer_file_new(n)) == NULL) {
		free(x);
		return -1;
	}
	n->xfer = x;
	/*
	 * We answer merkle-leaf requests (xfer_merkle.h): say so in every
	 * Announcement, Response and Discovery (feature bit 3, §13.5), so our
	 * downloads ask only peers that set it and a reference peer's download
	 * starts without waiting for leaves it never sends.
	 */
	wire_msg_set_own_features(WIRE_FEATURE_MERKLE);
	return 0;
}

struct xfer_files *
netd_xfer_files(struct netd *n)
{
	return X(n) != NULL ? X(n)->files : NULL;
}

void
netd_xfer_free(struct netd *n)
{
	struct xfer *x = X(n);
	int i;

	if (x == NULL)
		return;
	memset(x->wants, 0, sizeof(x->wants));
	for (i = 0; i < XFER_MAX_SESSIONS; i++)
		if (x->s[i] != NULL)
			xfer_end(x->s[i], x->s[i]->role == XFER_REQUESTER, "netd is stopping");
	if (x->timer != NULL)
		loop_timer_del(&n->d->loop, x->timer);
	xfer_file_free(x->files);
	free(x);
	n->xfer = NULL;
}

int
netd_xfer_lite_in(struct netd *n, const uint8_t *raw, size_t len)
{
	struct xfer *x = X(n);
	struct xfer_sess *s;
	struct wire_lite l;

	if (x == NULL || len < WIRE_LITE_HDR_SIZE)
		return 0;
	if ((s = xfer_find_id(x, raw)) == NULL)
		return xfer_file_lite_in(x->files, raw, len);
	/* Ours from here on: a malformed one is dropped, not parsed as a packet. */
	if (wire_lite_decode(raw, len, &l) != 0) {
		n->counters[IPC_NC_DROP_MESSAGE]++;
		return 1;
	}
	xfer_touch(s);
	udt_input(s->conn, l.data, l.data_len);
	xfer_pump(s);
	return 1;
}

void
netd_xfer_packet(struct netd *n, struct peer *p, struct peer_conn *c,
    const struct wire_packet *pkt)
{
	struct xfer *x = X(n);
	struct xfer_sess *s;
	struct wire_getblock g;
	struct seq_match m;
	int last;

	if (x != NULL && pkt->command == WIRE_CMD_TRANSFER) {
		xfer_file_packet(x->files, p, c, pkt);
		return;
	}
	if (x == NULL || pkt->command != WIRE_CMD_GET_BLOCK) {
		n->counters[IPC_NC_DROP_UNKNOWN_CMD]++;
		return;
	}
	if (wire_getblock_decode(pkt->payload, pkt->payload_len, &g) != 0) {
		n->counters[IPC_NC_DROP_MESSAGE]++;
		return;
	}
	/*
	 * REQUEST_START is processed without a sequence match (§4.3), from a
	 * verified connection only: serving dials UDT and retransmits its
	 * handshake for seconds, towards what may be a spoofed source.
	 */
	if (g.control == WIRE_GETBLOCK_REQUEST_START) {
		if (!peer_conn_verified(c)) {
			node_hold_unverified(n, p, c, pkt);
			return;
		}
		xfer_request(n, p, pkt->sequence, &g);
		return;
	}
	last = g.control == WIRE_GETBLOCK_NOT_AVAILABLE ||
	    g.control == WIRE_GETBLOCK_TERMINATE || g.control == WIRE_GETBLOCK_EMPTY;
	if (g.control > WIRE_GETBLOCK_EMPTY) {
		n->counters[IPC_NC_DROP_MESSAGE]++;
		return;
	}
	if (seq_match_bi(n->seqs, p->pub, pkt->sequence, last, xfer_now(), &m) != 0 ||
	    (s = xfer_find_seq(x, p->pub, pkt->sequence)) == NULL) {
		n->counters[IPC_NC_DROP_UNSOLICITED]++;
		return;
	}
	if (m.first && m.rtt_ms > 0)
		peer_conn_set_rtt(c, m.rtt_ms);
	switch (g.control) {
	case WIRE_GETBLOCK_ACTIVE:
		/* The older full-packet path (§9.7): a UDT packet inside the message. */
		xfer_touch(s);
		udt_input(s->conn, g.data, g.data_len);
		xfer_pump(s);
		break;
	case WIRE_GETBLOCK_NOT_AVAILABLE:
		xfer_end(s, 0, "not available (404)");
		break;
	case WIRE_GETBLOCK_EMPTY:
		xfer_end(s, 0, "empty blockchain (410)");
		break;
	case WIRE_GETBLOCK_TERMINATE:
		xfer_end(s, 0, "terminated by the peer");
		break;
	}
}

void
netd_xfer_tick(struct netd *n, uint64_t now_ms)
{
	struct xfer *x = X(n);
	struct xfer_sess *s;
	uint64_t now_us;
	int i, live = 0;

	if (x == NULL || x->in_run)
		return;
	xfer_file_tick(x->files, now_ms);
	x->in_run = 1;
	now_us = xfer_env_now(NULL);
	for (i = 0; i < XFER_MAX_SESSIONS; i++) {
		if ((s = x->s[i]) == NULL)
			continue;
		if (now_ms - s->last_rx >= XFER_IDLE_MS) {
			xfer_end(s, s->role == XFER_REQUESTER, "idle (sequence expired)");
			continue;
		}
		if (now_ms - s->created >= XFER_LIFE_MS) {
			xfer_end(s, 1, "too long");
			continue;
		}
		if (udt_next_timeout_us(s->conn) <= now_us)
			udt_tick(s->conn);
		xfer_pump(s);
	}
	for (i = 0; i < XFER_MAX_SESSIONS; i++)
		if (x->s[i] != NULL)
			live++;
	x->in_run = 0;
	xfer_drain_wants(n);
	/* No session: no 10 ms timer (deleted from node.c's tick, never from its own callback). */
	if (live == 0 && x->timer != NULL && !x->in_timer) {
		loop_timer_del(&n->d->loop, x->timer);
		x->timer = NULL;
	}
}
