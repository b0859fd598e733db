/*
 * xfer_getblock.c — the block transfer (Get Block, docs/protocol.md §9.8) in
 * both roles, a user of the transfer engine (xfer.c, xfer_sess.h).
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
 * Besides the engine's 10 s idle expiry (blockSequenceTimeout) a block
 * session has a hard cap on its life.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "log.h"
#include "netd.h"
#include "secure_link.h"
#include "udt.h"
#include "wire_msg.h"
#include "xfer_block.h"
#include "xfer_sess.h"

#define XFER_GB_MAX_SESSIONS	32	/* both roles; each holds a ~4 MB UDT connection (resident: what it touched) */
#define XFER_GB_MAX_DOWNLOADS	16
#define XFER_GB_MAX_SERVE_PEER	2	/* sessions one peer can make us serve at once */
#define XFER_GB_MAX_WANTS	64	/* downloads waiting for a free slot */
#define XFER_GB_SERVE_AHEAD	8	/* blocks asked from storaged ahead of the stream */
#define XFER_GB_PUT_INFLIGHT	8	/* blocks handed to storaged, not yet answered */
#define XFER_GB_SERVE_MAX_RECORDS 4096	/* headers one request can make us write */
#define XFER_GB_IDLE_MS		SEQ_BI_BLOCK_MS	/* blockSequenceTimeout (§9.2) */
#define XFER_GB_LIFE_MS		120000	/* no block session lives longer */
#define XFER_GB_IPC_TIMEOUT_MS	5000
#define XFER_GB_MAX_BLOCK	BLOCK_CACHE_MAX_SIZE	/* CacheMaxBlockSize (§9.9) */
#define XFER_GB_MAX_COUNT	BLOCK_CACHE_MAX_COUNT	/* CacheMaxBlockCount */
#define XFER_GB_MAX_BYTES	((uint64_t)XFER_GB_MAX_COUNT * \
	(WIRE_BLOCK_HEADER_SIZE + XFER_GB_MAX_BLOCK))
#define XFER_GB_RBUF		8192
/*
 * REQUEST_START again while no lite packet of the transfer came (a lost
 * request, or every handshake of the provider lost): one lost datagram
 * would otherwise cost the download until the peer's chain news changes.
 * Same transfer ID and sequence each time.  Our provider takes a repeat
 * as the request it serves (xfer_serve_claim); the reference starts a new
 * UDT dial under the same ID and invalidates the older one, which is
 * harmless while nothing of it reached us (our listener has not accepted
 * anything yet), hence only then, and a bounded number of times: the
 * engine's 10 s idle expiry ends the session after the last one.
 */
#define XFER_GB_RESEND_MS	2000
#define XFER_GB_RESEND_MAX	4

enum xfer_gb_slot_state { SLOT_FREE = 0, SLOT_WAIT, SLOT_READY };

/* Provider: one record of the stream, fetched ahead. */
struct xfer_gb_slot {
	int		 state;
	uint64_t	 number;
	uint8_t		 hdr[WIRE_BLOCK_HEADER_SIZE];
	uint8_t		*data;		/* the block, availability 0 only */
	size_t		 len;		/* bytes of data */
	size_t		 off;		/* of hdr + data, written into UDT */
};

struct xfer_gb_sess {
	struct xfer_sess	 x;		/* the engine's part: first */
	/* requester */
	uint64_t		 version;
	uint64_t		 from, to;
	struct xfer_bparse	 bp;
	uint8_t			 rbuf[XFER_GB_RBUF];
	size_t			 roff, rlen;
	uint64_t		 bytes;		/* stream bytes read */
	uint64_t		 blocks;	/* handed to storaged */
	uint64_t		 req_sent;	/* ms: REQUEST_START last sent */
	unsigned		 req_resent;	/* its repeats (XFER_GB_RESEND_MAX) */
	int			 hs_wait;	/* waits for the secure handshake */
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
	struct xfer_gb_slot	 slots[XFER_GB_SERVE_AHEAD];
	unsigned		 head, nslots;	/* ring of records, in stream order */
};

/* A download that waits for the peer's current one, or for a free slot. */
struct xfer_gb_want {
	int		used;
	uint8_t		pub[PEERNET_PUBKEY_BYTES];
	uint64_t	version, from, to;
};

struct xfer_gb {
	struct xfer_gb_want	 wants[XFER_GB_MAX_WANTS];
};

static uint8_t xfer_gb_msg[WIRE_GETBLOCK_REQUEST_MIN + WIRE_BLOCK_RANGE_SIZE * XFER_BP_MAX_RANGES];
static uint8_t xfer_gb_ipcbuf[XFER_GB_MAX_BLOCK + 256];

static void	xfer_gb_pump(struct xfer_sess *xs);
static void	xfer_gb_end_op(struct xfer_sess *xs, int ok, int terminate, const char *why);
static int	xfer_gb_tick(struct xfer_sess *xs, uint64_t now_ms);
static void	xfer_gb_drain(struct netd *n);
static void	xfer_gb_packet(struct netd *n, struct peer *p, struct peer_conn *c,
		    const struct wire_packet *pkt);
static void	xfer_gb_fini(struct netd *n);

static const struct xfer_ops xfer_gb_ops = {
	.name = "block",
	.max = XFER_GB_MAX_SESSIONS,
	.idle_ms = XFER_GB_IDLE_MS,
	.idle_why = "idle (sequence expired)",
	.pump = xfer_gb_pump,
	.tick = xfer_gb_tick,
	.end = xfer_gb_end_op,
	.after_tick = xfer_gb_drain,
};

static const struct xfer_user xfer_gb_user = {
	.ops = &xfer_gb_ops,
	.cmd = WIRE_CMD_GET_BLOCK,
	.packet = xfer_gb_packet,
	.fini = xfer_gb_fini,
};

int
xfer_gb_init(struct netd *n)
{
	return xfer_register(n, &xfer_gb_user);
}

/* The waiting downloads' table (made on first use). */
static void
xfer_gb_fini(struct netd *n)
{
	struct xfer *x = n->xfer;

	free(x->gb);
	x->gb = NULL;
}

static struct xfer_gb_sess *
GB(struct xfer_sess *xs)
{
	return (struct xfer_gb_sess *)xs;
}

static struct xfer_gb *
xfer_gb_state(struct netd *n)
{
	struct xfer *x = n->xfer;

	if (x != NULL && x->gb == NULL)
		x->gb = calloc(1, sizeof(*x->gb));
	return x != NULL ? x->gb : NULL;
}

/* A new session with its UDT connection; NULL if none. */
static struct xfer_gb_sess *
xfer_gb_new(struct netd *n, enum xfer_role role, const uint8_t pub[PEERNET_PUBKEY_BYTES])
{
	struct xfer_sess *xs;

	if ((xs = xfer_new(n, &xfer_gb_ops, role, pub, sizeof(struct xfer_gb_sess))) == NULL)
		return NULL;
	if (xfer_udt_open(xs) != 0) {
		xfer_release(xs);
		return NULL;
	}
	return GB(xs);
}

static void
xfer_gb_send_ctl(struct netd *n, const uint8_t pub[PEERNET_PUBKEY_BYTES],
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
	if (wire_getblock_encode(xfer_gb_msg, sizeof(xfer_gb_msg), &len, &g) == 0)
		node_send_peer(n, p, WIRE_CMD_GET_BLOCK, seq, xfer_gb_msg, len);
}

/*
 * Ends a session and frees it.  terminate: tell the peer (our download is
 * complete or failed; §9.6 recommends TERMINATE to free the provider).
 */
static void
xfer_gb_end(struct xfer_gb_sess *s, int terminate, const char *why)
{
	struct netd *n = s->x.n;
	char peer[17];
	int i;

	if (s->x.role == XFER_REQUESTER)
		log_debug("block download %llu..%llu of %s… (version %llu) ended: %s; "
		    "%llu blocks, %llu bytes", (unsigned long long)s->from,
		    (unsigned long long)s->to, xfer_peer_text(s->x.pub, peer),
		    (unsigned long long)s->version, why,
		    (unsigned long long)s->blocks, (unsigned long long)s->bytes);
	else
		log_debug("block serving to %s… ended: %s; %llu records",
		    xfer_peer_text(s->x.pub, peer), why, (unsigned long long)s->records);
	if (terminate)
		xfer_gb_send_ctl(n, s->x.pub, s->x.role == XFER_REQUESTER ? s->x.pub :
		    n->id.pub, WIRE_GETBLOCK_TERMINATE, s->x.seq);
	for (i = 0; i < XFER_GB_SERVE_AHEAD; i++)
		free(s->slots[i].data);
	free(s->ranges);
	xfer_bparse_free(&s->bp);
	xfer_release(&s->x);
	xfer_gb_drain(n);
}

static void
xfer_gb_end_op(struct xfer_sess *xs, int ok, int terminate, const char *why)
{
	(void)ok;
	xfer_gb_end(GB(xs), terminate, why);
}

/* --- requester ------------------------------------------------------------ */

static void
xfer_gb_put_done(struct netd *n, struct xfer_sess *xs, uint32_t gen, uint64_t number,
    const uint8_t *rep, size_t len, const char *err)
{
	struct xfer_gb_sess *s = (struct xfer_gb_sess *)xs;
	struct ipc_hdr h;
	char reason[128], peer[17];
	uint16_t status;

	(void)gen;
	if (n->xfer == NULL)		/* netd is stopping: nothing to report */
		return;
	if (rep == NULL) {
		log_warnx("cache block %llu: storaged did not answer: %s",
		    (unsigned long long)number, err);
		if (s != NULL)
			xfer_gb_end(s, 1, "storaged did not answer");
	} else if (ipc_hdr_decode(rep, len, &h) != 0 || h.status != 0) {
		if (ipc_error_decode(rep, len, &status, reason, sizeof(reason)) != 0)
			snprintf(reason, sizeof(reason), "malformed reply");
		/* A refused block (wrong signer, version, number...) ends the session. */
		log_info("block %llu of %s… refused by the cache: %s",
		    (unsigned long long)number,
		    s != NULL ? xfer_peer_text(s->x.pub, peer) : "?", reason);
		if (s != NULL)
			xfer_gb_end(s, 1, "block refused");
	} else if (s != NULL)
		xfer_gb_pump(&s->x);
}

/* One record of the stream: an available block goes to storaged's cache. */
static int
xfer_gb_record(struct xfer_gb_sess *s, const struct xfer_brec *r)
{
	struct ipc_cache_block cb;
	long len;

	if (r->availability != WIRE_BLOCK_AVAILABLE) {
		log_debug("block %llu not sent by the peer (availability %u, size %llu)",
		    (unsigned long long)r->number, r->availability,
		    (unsigned long long)r->size);
		return 0;
	}
	memcpy(cb.owner, s->x.pub, sizeof(cb.owner));
	cb.version = s->version;
	cb.number = r->number;
	cb.raw = r->data;
	cb.len = (uint32_t)r->size;
	if ((len = ipc_cache_block_encode(xfer_gb_ipcbuf, sizeof(xfer_gb_ipcbuf), &cb)) < 0 ||
	    xfer_store(&s->x, 0, xfer_gb_ipcbuf, (size_t)len, XFER_GB_IPC_TIMEOUT_MS,
	    xfer_gb_put_done, r->number) != 0)
		return -1;
	s->blocks++;
	return 0;
}

static void
xfer_gb_pump_requester(struct xfer_gb_sess *s)
{
	struct xfer_brec r;
	size_t used;
	ssize_t got;
	int rc;

	rc = udt_accept(s->x.conn);
	if (rc == UDT_ERR_AGAIN)
		return;
	if (rc != UDT_OK) {
		xfer_gb_end(s, 1, udt_strerror(rc));
		return;
	}
	while (!xfer_bparse_done(&s->bp) && s->x.ipc < XFER_GB_PUT_INFLIGHT) {
		if (s->roff == s->rlen) {
			got = udt_read(s->x.conn, s->rbuf, sizeof(s->rbuf));
			if (got == 0)
				return;
			if (got < 0) {
				xfer_gb_end(s, 1, udt_strerror((int)got));
				return;
			}
			s->roff = 0;
			s->rlen = (size_t)got;
			s->bytes += (uint64_t)got;
			if (s->bytes > XFER_GB_MAX_BYTES) {
				xfer_gb_end(s, 1, "stream larger than the request allows");
				return;
			}
		}
		rc = xfer_bparse_feed(&s->bp, s->rbuf + s->roff, s->rlen - s->roff,
		    &used, &r);
		s->roff += used;
		if (rc < 0) {
			xfer_gb_end(s, 1, xfer_bp_strerror(rc));
			return;
		}
		if (rc == 1 && xfer_gb_record(s, &r) != 0) {
			xfer_gb_end(s, 1, "cannot hand the block to storaged");
			return;
		}
	}
	/*
	 * Every expected header is read: done, whatever else the stream holds
	 * (§9.2 "stops reading").  Blocks still with storaged are answered later.
	 */
	if (xfer_bparse_done(&s->bp))
		xfer_gb_end(s, 1, "complete");
}

/*
 * This download's REQUEST_START (§9.8): sent at the start and repeated,
 * identical, by xfer_gb_tick (XFER_GB_RESEND_MS).  0 or -1.
 */
static int
xfer_gb_send_request(struct xfer_gb_sess *s, struct peer *p)
{
	struct wire_block_range r;
	size_t len;

	s->req_sent = xfer_now(s->x.n);
	r.first = s->from;
	r.count = s->to - s->from;
	/* Limit 256 and max size 50096, as the reference's cache asks (§9.9). */
	if (xfer_block_request(xfer_gb_msg, sizeof(xfer_gb_msg), &len, p->pub, s->x.id,
	    &r, XFER_GB_MAX_COUNT, XFER_GB_MAX_BLOCK) != 0 ||
	    node_send_peer(s->x.n, p, WIRE_CMD_GET_BLOCK, s->x.seq, xfer_gb_msg, len) != 0)
		return -1;
	return 0;
}

/* The download's transfer and REQUEST_START: 0, or -1 (ended, said why). */
static int
xfer_gb_open(struct xfer_gb_sess *s, struct peer *p)
{
	char peer[17];

	if (xfer_run_open(&s->x, p) != 0) {
		xfer_gb_end(s, 0, "cannot start");
		return -1;
	}
	if (xfer_gb_send_request(s, p) != 0) {
		xfer_gb_end(s, 0, "cannot send the request");
		return -1;
	}
	log_debug("block download %llu..%llu of %s… (version %llu) requested",
	    (unsigned long long)s->from, (unsigned long long)s->to,
	    xfer_peer_text(p->pub, peer), (unsigned long long)s->version);
	return 0;
}

/* The handshake with the peer is done, or SLINK_XFER_WAIT_MS passed (secure_link.h). */
static void
xfer_gb_waited(struct xfer_sess *xs, uint32_t gen)
{
	struct xfer_gb_sess *s = GB(xs);
	struct peer *p;

	if (xs->gen != gen || !s->hs_wait)
		return;
	s->hs_wait = 0;
	if ((p = peer_find(xs->n->peers, xs->pub)) == NULL)
		xfer_gb_end(s, 0, "the peer is gone");
	else
		(void)xfer_gb_open(s, p);
}

/* Starts a download now; 0, or -1 if it cannot start (no room, no connection). */
static int
xfer_gb_download(struct netd *n, struct peer *p, uint64_t version, uint64_t from,
    uint64_t to)
{
	struct wire_block_range r;
	struct peer_conn *targets[PEER_MAX_CONNS];
	struct xfer_gb_sess *s;
	size_t k;

	if (peer_send_targets(p, NULL, targets, &k) != 0)
		return -1;	/* lite packets need an active connection (§2.7) */
	if (xfer_count(n, &xfer_gb_ops, XFER_REQUESTER, NULL) >= XFER_GB_MAX_DOWNLOADS ||
	    (s = xfer_gb_new(n, XFER_REQUESTER, p->pub)) == NULL)
		return -1;
	s->version = version;
	s->from = from;
	s->to = to;
	r.first = from;
	r.count = to - from;
	if (xfer_bparse_init(&s->bp, &r, 1, XFER_GB_MAX_BLOCK) != 0) {
		xfer_gb_end(s, 0, "cannot start");
		return -1;
	}
	/*
	 * A peer that can do the secure mode: its handshake first, briefly,
	 * as a file download does (the blocks of a first contact would
	 * otherwise go in clear).  The transfer ID comes after the wait.
	 */
	if (slink_xfer_wait(&s->x, s->x.gen, xfer_gb_waited)) {
		s->hs_wait = 1;
		return 0;
	}
	return xfer_gb_open(s, p);
}

static struct xfer_gb_want *
xfer_gb_want_find(struct xfer_gb *g, const uint8_t pub[PEERNET_PUBKEY_BYTES])
{
	int i;

	for (i = 0; i < XFER_GB_MAX_WANTS; i++)
		if (g->wants[i].used && memcmp(g->wants[i].pub, pub, PEERNET_PUBKEY_BYTES) == 0)
			return &g->wants[i];
	return NULL;
}

static void
xfer_gb_drain(struct netd *n)
{
	struct xfer *x = n->xfer;
	struct xfer_gb_want *w;
	struct peer *p;
	int i;

	if (x == NULL || x->stopping || x->gb == NULL)
		return;
	for (i = 0; i < XFER_GB_MAX_WANTS; i++) {
		w = &x->gb->wants[i];
		if (!w->used || xfer_count(n, &xfer_gb_ops, XFER_REQUESTER, w->pub) > 0)
			continue;
		if (xfer_count(n, &xfer_gb_ops, XFER_REQUESTER, NULL) >= XFER_GB_MAX_DOWNLOADS ||
		    xfer_count(n, &xfer_gb_ops, 0, NULL) >= XFER_GB_MAX_SESSIONS)
			return;
		w->used = 0;
		if ((p = peer_find(n->peers, w->pub)) != NULL)
			xfer_gb_download(n, p, w->version, w->from, w->to);
	}
}

void
xfer_gb_wanted(struct netd *n, struct peer *p, uint64_t version, uint64_t from,
    uint64_t to)
{
	struct xfer_gb *g = xfer_gb_state(n);
	struct peer_conn *targets[PEER_MAX_CONNS];
	struct xfer_gb_sess *s;
	struct xfer_gb_want *w;
	size_t k;
	int i;

	if (g == NULL || to <= from)
		return;
	/*
	 * Only from a peer with a verified connection: a session holds a UDT
	 * connection of a few MB, which a flood of new identities claiming
	 * chains must not make us allocate (nor our requests reflect).
	 */
	if (peer_send_targets_verified(p, targets, &k) != 0)
		return;
	/* The cache never holds more than CacheMaxBlockCount blocks (§9.9). */
	if (from >= XFER_GB_MAX_COUNT)
		return;
	if (to > XFER_GB_MAX_COUNT)
		to = XFER_GB_MAX_COUNT;
	/* Already being fetched (the same announcement heard twice). */
	for (i = 0; i < XFER_SLOTS; i++)
		if ((s = GB(xfer_at(n, &xfer_gb_ops, i))) != NULL &&
		    s->x.role == XFER_REQUESTER &&
		    memcmp(s->x.pub, p->pub, PEERNET_PUBKEY_BYTES) == 0 &&
		    s->version == version && s->from <= from && s->to >= to)
			return;
	if (xfer_count(n, &xfer_gb_ops, XFER_REQUESTER, p->pub) == 0 &&
	    xfer_gb_want_find(g, p->pub) == NULL &&
	    xfer_gb_download(n, p, version, from, to) == 0)
		return;
	/* One download per peer: this one waits, merged with what already waits. */
	if ((w = xfer_gb_want_find(g, p->pub)) != NULL) {
		if (w->version == version) {
			if (from < w->from)
				w->from = from;
			if (to > w->to)
				w->to = to;
			return;
		}
	} else {
		for (i = 0; i < XFER_GB_MAX_WANTS; i++)
			if (!g->wants[i].used)
				break;
		if (i == XFER_GB_MAX_WANTS) {
			log_debug("block download dropped: %d downloads waiting", i);
			return;
		}
		w = &g->wants[i];
		w->used = 1;
		memcpy(w->pub, p->pub, sizeof(w->pub));
	}
	w->version = version;
	w->from = from;
	w->to = to;
}

/* --- provider ---------------------------------------------------------------- */

static void
xfer_gb_slot_header(struct xfer_gb_slot *sl, uint8_t availability, uint64_t size)
{
	xfer_block_header(sl->hdr, availability, sl->number, size);
	sl->state = SLOT_READY;
}

static void
xfer_gb_block_done(struct netd *n, struct xfer_sess *xs, uint32_t gen, uint64_t number,
    const uint8_t *rep, size_t len, const char *err)
{
	struct xfer_gb_sess *s = (struct xfer_gb_sess *)xs;
	struct xfer_gb_slot *sl = NULL;
	struct ipc_data d;
	unsigned i;

	(void)n;
	(void)gen;
	(void)err;
	if (s == NULL)
		return;
	for (i = 0; i < XFER_GB_SERVE_AHEAD; i++)
		if (s->slots[i].state == SLOT_WAIT && s->slots[i].number == number)
			sl = &s->slots[i];
	if (sl == NULL)
		return;
	/* No such block, or storaged failed: the reference says "not available" too. */
	if (rep == NULL || ipc_data_decode(rep, len, IPC_BLOCK_GET, &d) != 0)
		xfer_gb_slot_header(sl, WIRE_BLOCK_NOT_AVAILABLE, 0);
	else if (d.len > s->max_size)
		xfer_gb_slot_header(sl, WIRE_BLOCK_SIZE_EXCEED, d.len);
	else if (d.len > 0 && (sl->data = malloc(d.len)) == NULL)
		xfer_gb_slot_header(sl, WIRE_BLOCK_NOT_AVAILABLE, 0);
	else {
		if (d.len > 0)
			memcpy(sl->data, d.bytes, d.len);
		sl->len = d.len;
		xfer_gb_slot_header(sl, WIRE_BLOCK_AVAILABLE, d.len);
	}
	/* Only blocks actually sent count against the limit (§9.8). */
	if (sl->hdr[0] != WIRE_BLOCK_AVAILABLE)
		s->avail--;
	xfer_gb_pump(&s->x);
}

/* Takes the next records of the ranges into free slots and asks storaged. */
static void
xfer_gb_fetch(struct xfer_gb_sess *s)
{
	struct xfer_gb_slot *sl;
	struct ipc_read rd;
	uint8_t buf[128];
	uint64_t number;
	long len;

	while (!s->iter_end && s->nslots < XFER_GB_SERVE_AHEAD) {
		/*
		 * The limit counts blocks sent (§9.8); unlike the reference it
		 * ends the whole request, not only the current range.
		 */
		if (s->avail >= s->limit || s->records >= XFER_GB_SERVE_MAX_RECORDS ||
		    !xfer_range_iter_next(&s->it, &number)) {
			s->iter_end = 1;
			break;
		}
		sl = &s->slots[(s->head + s->nslots++) % XFER_GB_SERVE_AHEAD];
		memset(sl, 0, sizeof(*sl));
		sl->number = number;
		s->records++;
		if (number >= s->height) {
			xfer_gb_slot_header(sl, WIRE_BLOCK_NOT_AVAILABLE, 0);
			continue;
		}
		s->avail++;	/* assumed available until storaged says otherwise */
		sl->state = SLOT_WAIT;
		memset(&rd, 0, sizeof(rd));
		rd.offset = number;
		if ((len = ipc_read_encode(buf, sizeof(buf), IPC_BLOCK_GET, &rd)) < 0 ||
		    xfer_store(&s->x, 0, buf, (size_t)len, XFER_GB_IPC_TIMEOUT_MS,
		    xfer_gb_block_done, number) != 0) {
			xfer_gb_slot_header(sl, WIRE_BLOCK_NOT_AVAILABLE, 0);
			s->avail--;
			continue;
		}
	}
}

static void
xfer_gb_pump_provider(struct xfer_gb_sess *s)
{
	struct udt_conn *c = s->x.conn;
	struct xfer_gb_slot *sl;
	ssize_t w;
	size_t total;

	if (udt_is_closed(c)) {
		xfer_gb_end(s, 0, udt_strerror(udt_error(c)));
		return;
	}
	for (;;) {
		xfer_gb_fetch(s);
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
				udt_stream_end(c, total - sl->off);
		}
		while (sl->off < total) {
			if (sl->off < WIRE_BLOCK_HEADER_SIZE)
				w = udt_write(c, sl->hdr + sl->off,
				    WIRE_BLOCK_HEADER_SIZE - sl->off);
			else
				w = udt_write(c, sl->data + (sl->off -
				    WIRE_BLOCK_HEADER_SIZE), total - sl->off);
			if (w < 0) {
				xfer_gb_end(s, 0, udt_strerror((int)w));
				return;
			}
			if (w == 0)
				return;		/* send buffer full: ACKs make room */
			sl->off += (size_t)w;
		}
		free(sl->data);
		memset(sl, 0, sizeof(*sl));
		s->head = (s->head + 1) % XFER_GB_SERVE_AHEAD;
		s->nslots--;
	}
	/* Everything written and acknowledged: nothing is sent at the end (§9.6). */
	if (s->iter_end && s->nslots == 0 && udt_is_connected(c) &&
	    udt_send_pending(c) == 0)
		xfer_gb_end(s, 0, "complete");
}

/* REQUEST_START from p (§3.9): the checks in the reference's order, then serve. */
static void
xfer_gb_request(struct netd *n, struct peer *p, uint32_t seq, const struct wire_getblock *g)
{
	struct xfer_gb_sess *s;
	char peer[17];

	if (memcmp(g->blockchain, n->id.pub, PEERNET_PUBKEY_BYTES) != 0) {
		xfer_gb_send_ctl(n, p->pub, g->blockchain, WIRE_GETBLOCK_NOT_AVAILABLE, seq);
		return;
	}
	if (n->chain_height == 0) {
		xfer_gb_send_ctl(n, p->pub, g->blockchain, WIRE_GETBLOCK_EMPTY, seq);
		return;
	}
	if (g->limit_count == 0) {
		xfer_gb_send_ctl(n, p->pub, g->blockchain, WIRE_GETBLOCK_TERMINATE, seq);
		return;
	}
	if (xfer_serve_claim(n, &xfer_gb_ops, p, g->transfer_id, seq))
		return;
	/* Caps: a peer cannot make us hold more; it hears TERMINATE instead. */
	if (xfer_count(n, &xfer_gb_ops, XFER_PROVIDER, p->pub) >= XFER_GB_MAX_SERVE_PEER ||
	    (s = xfer_gb_new(n, XFER_PROVIDER, p->pub)) == NULL) {
		log_debug("block request from %s… refused: too many transfers",
		    xfer_peer_text(p->pub, peer));
		xfer_gb_send_ctl(n, p->pub, g->blockchain, WIRE_GETBLOCK_TERMINATE, seq);
		return;
	}
	s->limit = g->limit_count;
	s->max_size = g->max_block_size;
	s->height = n->chain_height;
	if ((s->ranges = malloc(g->n_ranges * WIRE_BLOCK_RANGE_SIZE)) == NULL ||
	    xfer_serve_register(&s->x, g->transfer_id, seq) != 0 ||
	    udt_connect(s->x.conn) != UDT_OK) {
		xfer_gb_end(s, 0, "cannot start");
		return;
	}
	memcpy(s->ranges, g->ranges, g->n_ranges * WIRE_BLOCK_RANGE_SIZE);
	xfer_range_iter_init(&s->it, s->ranges, g->n_ranges);
	/* A reference requester (no feature bit 3): probes, not window resends (udt.h). */
	s->ref = !(p->features & WIRE_FEATURE_MERKLE);
	if (s->ref)
		udt_set_probe_only(s->x.conn);
	log_debug("block request from %s…: %zu ranges, limit %llu, max size %llu",
	    xfer_peer_text(p->pub, peer), g->n_ranges,
	    (unsigned long long)g->limit_count, (unsigned long long)g->max_block_size);
	xfer_gb_pump(&s->x);
}

/* --- the engine's hooks --------------------------------------------------------- */

static void
xfer_gb_pump(struct xfer_sess *xs)
{
	if (xs->role == XFER_REQUESTER && GB(xs)->hs_wait)
		return;		/* no stream yet (xfer_gb_waited opens it) */
	if (xs->role == XFER_REQUESTER)
		xfer_gb_pump_requester(GB(xs));
	else
		xfer_gb_pump_provider(GB(xs));
}

static int
xfer_gb_tick(struct xfer_sess *xs, uint64_t now_ms)
{
	struct xfer_gb_sess *s = GB(xs);
	struct peer *p;

	if (now_ms - xs->created >= XFER_GB_LIFE_MS) {
		xfer_gb_end(s, 1, "too long");
		return 1;
	}
	if (xs->role == XFER_REQUESTER && !xs->got_lite && !s->hs_wait &&
	    s->req_resent < XFER_GB_RESEND_MAX &&
	    now_ms - s->req_sent >= XFER_GB_RESEND_MS &&
	    (p = peer_find(xs->n->peers, xs->pub)) != NULL) {
		s->req_resent++;
		if (xfer_gb_send_request(s, p) != 0)
			log_debug("block request repeat %u not sent", s->req_resent);
	}
	return 0;
}

static void
xfer_gb_packet(struct netd *n, struct peer *p, struct peer_conn *c,
    const struct wire_packet *pkt)
{
	struct xfer_sess *s;
	struct wire_getblock g;
	int last;

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
			node_answer_hold(n, p, c, pkt);
			return;
		}
		xfer_gb_request(n, p, pkt->sequence, &g);
		return;
	}
	last = g.control == WIRE_GETBLOCK_NOT_AVAILABLE ||
	    g.control == WIRE_GETBLOCK_TERMINATE || g.control == WIRE_GETBLOCK_EMPTY;
	if (g.control > WIRE_GETBLOCK_EMPTY) {
		n->counters[IPC_NC_DROP_MESSAGE]++;
		return;
	}
	if ((s = xfer_msg_sess(n, &xfer_gb_ops, p, c, pkt, last)) == NULL)
		return;
	switch (g.control) {
	case WIRE_GETBLOCK_ACTIVE:
		/* The older full-packet path (§9.7): a UDT packet inside the message. */
		xfer_udt_in(s, g.data, g.data_len);
		break;
	case WIRE_GETBLOCK_NOT_AVAILABLE:
		xfer_gb_end(GB(s), 0, "not available (404)");
		break;
	case WIRE_GETBLOCK_EMPTY:
		xfer_gb_end(GB(s), 0, "empty blockchain (410)");
		break;
	case WIRE_GETBLOCK_TERMINATE:
		xfer_gb_end(GB(s), 0, "terminated by the peer");
		break;
	}
}
