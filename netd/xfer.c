/*
 * xfer.c — the transfer engine (see xfer.h, xfer_sess.h): the sessions of
 * both transfers over UDT in lite packets, block (xfer_getblock.c) and
 * file (xfer_file.c), in one table.  The users are above the engine: it
 * knows them only as the struct xfer_user they register (xfer_register)
 * and their sessions' ops, and node.c, below, reaches it only through
 * n->xfer_hooks (xfer_setup.c).
 *
 * Every UDT packet travels as one lite packet with the transfer ID (§2.7),
 * on the peer's verified connections (§9.2); the datagrams that start with
 * a registered transfer ID are taken before node.c parses packets, found
 * by one hash lookup (xfer_ids.c).  A session ends on completion, error,
 * a control message, its kind's checks, or ops->idle_ms without a lite
 * packet or message (blockSequenceTimeout 10 s, transferSequenceTimeout
 * 60 s).  Storaged's replies find their session by a number, never by a
 * pointer, so a reply for a session that already ended is dropped.
 *
 * The clock, random bytes, datagrams out, timers and storaged requests come
 * only from n->env (env.h), so the engine runs unchanged in a simulator.
 */
#include <sys/uio.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "log.h"
#include "netd.h"
#include "secure.h"
#include "secure_link.h"
#include "udt.h"
#include "wire_msg.h"
#include "xfer_block.h"
#include "xfer_sess.h"

#define XFER_TIMER_MS	10	/* UDT's SYN interval */

/* A sealed lite packet (secure_link.c) is built here; plaintext ones go out in pieces. */
static uint8_t xfer_lite[SECURE_OVERHEAD + UDT_PKT_MAX];

static struct xfer *
X(const struct netd *n)
{
	return n->xfer;
}

uint64_t
xfer_now(const struct netd *n)
{
	return env_now_ms(&n->env);
}

const char *
xfer_peer_text(const uint8_t pub[PEERNET_PUBKEY_BYTES], char out[17])
{
	uint8_t id[PEERNET_NODEID_BYTES];

	ident_node_id(pub, id);
	hex_encode(out, id, 8);
	return out;
}

/* --- lite packets and the UDT environment ------------------------------------ */

int
xfer_lite_encode(const struct xfer_sess *s, const uint8_t *pkt, size_t len,
    uint8_t hdr[WIRE_LITE_HDR_SIZE], struct iovec *iov, int *iovcnt)
{
	/* wire_lite_encode's checks and layout (§2.7) on the header alone:
	 * the transfer ID, the packet's length LE16; the packet follows as it is. */
	size_t sealed;
	int rc;

	if (pkt == NULL || len < WIRE_UDT_DATA_MIN || len > UINT16_MAX)
		return -1;
	/* Between two of our nodes with a session: sealed under the transfer's keys. */
	if ((rc = slink_lite_seal(s, pkt, len, xfer_lite, sizeof(xfer_lite),
	    &sealed)) != 0) {
		if (rc < 0)
			return -1;
		iov[0].iov_base = xfer_lite;
		iov[0].iov_len = sealed;
		*iovcnt = 1;
		return 0;
	}
	memcpy(hdr, s->id, WIRE_TRANSFER_ID_SIZE);
	hdr[WIRE_TRANSFER_ID_SIZE] = (uint8_t)(len & 0xff);
	hdr[WIRE_TRANSFER_ID_SIZE + 1] = (uint8_t)(len >> 8);
	iov[0].iov_base = hdr;
	iov[0].iov_len = WIRE_LITE_HDR_SIZE;
	iov[1].iov_base = (void *)pkt;
	iov[1].iov_len = len;
	*iovcnt = XFER_LITE_IOV;
	return 0;
}

int
xfer_lite_decode(const struct xfer_sess *s, const uint8_t *raw, size_t len,
    struct wire_lite *l)
{
	int rc;

	if ((rc = slink_lite_open(s, raw, len, &l->data, &l->data_len)) != 0) {
		memcpy(l->id, s->id, sizeof(l->id));
		return rc > 0 ? 0 : -1;
	}
	return wire_lite_decode(raw, len, l);
}

static uint64_t
xfer_env_now(void *ctx)
{
	const struct xfer_sess *s = ctx;

	return env_now_us(&s->n->env);
}

static void
xfer_env_random(void *ctx, void *out, size_t len)
{
	const struct xfer_sess *s = ctx;

	env_random(&s->n->env, out, len);
}

/* One UDT packet out, as a lite packet (§2.7) on the peer's connection(s). */
static int
xfer_env_send(void *ctx, const uint8_t *pkt, size_t len)
{
	struct xfer_sess *s = ctx;
	struct netd *n = s->n;
	struct peer_conn *targets[PEER_MAX_CONNS];
	struct iovec iov[XFER_LITE_IOV];
	uint8_t hdr[WIRE_LITE_HDR_SIZE];
	struct peer *p;
	size_t out = 0, k, i;
	int sent = 0, iovcnt, j;

	/* UDT only ever goes to verified connections (no reflection, node.c). */
	if ((p = peer_find(n->peers, s->pub)) == NULL ||
	    peer_send_targets_verified(p, targets, &k) != 0)
		return -1;
	if (xfer_lite_encode(s, pkt, len, hdr, iov, &iovcnt) != 0)
		return -1;
	/* Without a gathering send (tests/sim): the pieces joined once. */
	if (n->env.sendv == NULL)
		for (j = 0; j < iovcnt; out += iov[j].iov_len, j++)
			memcpy(xfer_lite + out, iov[j].iov_base, iov[j].iov_len);
	for (i = 0; i < k; i++)
		if ((n->env.sendv != NULL ? n->env.sendv(n->env.ctx, targets[i]->sock,
		    &targets[i]->local, &targets[i]->remote, iov, iovcnt) :
		    n->env.send(n->env.ctx, targets[i]->sock, &targets[i]->local,
		    &targets[i]->remote, xfer_lite, out)) == 0)
			sent++;
	return sent ? 0 : -1;
}

int
xfer_udt_open(struct xfer_sess *s)
{
	struct udt_env env;

	env.now_us = xfer_env_now;
	env.send = xfer_env_send;
	env.random = xfer_env_random;
	env.ctx = s;
	if ((s->conn = udt_conn_new(&env)) == NULL)
		return -1;
	udt_set_idle_timeout(s->conn, (uint64_t)s->ops->idle_ms * 1000);
	return 0;
}

void
xfer_udt_drop(struct xfer_sess *s)
{
	if (s->conn == NULL)
		return;
	/* Unmapped at once: no heap pages left pinned (udt.c, conn_alloc). */
	udt_conn_free(s->conn);
	s->conn = NULL;
}

void
xfer_udt_in(struct xfer_sess *s, const uint8_t *pkt, size_t len)
{
	xfer_touch(s);
	if (s->conn == NULL)
		return;
	udt_input(s->conn, pkt, len);
	s->ops->pump(s);
}

/* --- the session table ---------------------------------------------------------- */

static void	xfer_on_timer(void *arg);

struct xfer_sess *
xfer_at(struct netd *n, const struct xfer_ops *ops, int i)
{
	struct xfer *x = X(n);
	struct xfer_sess *s;

	if (x == NULL || i < 0 || i >= XFER_SLOTS || (s = x->s[i]) == NULL)
		return NULL;
	return ops == NULL || s->ops == ops ? s : NULL;
}

int
xfer_count(struct netd *n, const struct xfer_ops *ops, int role, const uint8_t *pub)
{
	struct xfer_sess *s;
	int i, c = 0;

	for (i = 0; i < XFER_SLOTS; i++)
		if ((s = xfer_at(n, ops, i)) != NULL && (role == 0 || (int)s->role == role) &&
		    (pub == NULL || memcmp(s->pub, pub, PEERNET_PUBKEY_BYTES) == 0))
			c++;
	return c;
}

struct xfer_sess *
xfer_find_seq(struct netd *n, const struct xfer_ops *ops,
    const uint8_t pub[PEERNET_PUBKEY_BYTES], uint32_t seq)
{
	struct xfer_sess *s;
	int i;

	for (i = 0; i < XFER_SLOTS; i++)
		if ((s = xfer_at(n, ops, i)) != NULL && s->seq == seq &&
		    memcmp(s->pub, pub, PEERNET_PUBKEY_BYTES) == 0)
			return s;
	return NULL;
}

static struct xfer_sess *
xfer_find_sid(struct netd *n, uint64_t sid)
{
	struct xfer_sess *s;
	int i;

	for (i = 0; i < XFER_SLOTS; i++)
		if ((s = xfer_at(n, NULL, i)) != NULL && s->sid == sid)
			return s;
	return NULL;
}

struct xfer_sess *
xfer_new(struct netd *n, const struct xfer_ops *ops, enum xfer_role role,
    const uint8_t pub[PEERNET_PUBKEY_BYTES], size_t size)
{
	struct xfer *x = X(n);
	struct xfer_sess *s;
	int i;

	if (x == NULL || x->stopping || size < sizeof(*s) ||
	    xfer_count(n, ops, 0, NULL) >= ops->max)
		return NULL;
	for (i = 0; i < XFER_SLOTS; i++)
		if (x->s[i] == NULL)
			break;
	if (i == XFER_SLOTS || (s = calloc(1, size)) == NULL)
		return NULL;
	s->n = n;
	s->ops = ops;
	s->role = role;
	s->sid = ++x->next_sid;
	memcpy(s->pub, pub, PEERNET_PUBKEY_BYTES);
	s->created = s->last_rx = s->seq_touched = xfer_now(n);
	x->s[i] = s;
	/* UDT wants 10 ms resolution while a session lives (node.c ticks at 100 ms). */
	if (x->timer == NULL)
		x->timer = n->env.timer_add(n->env.ctx, XFER_TIMER_MS, XFER_TIMER_MS,
		    xfer_on_timer, n);
	return s;
}

/* s's transfer ID becomes id (NULL: none); 0, or -1 when id is taken. */
static int
xfer_set_id(struct xfer_sess *s, const uint8_t *id)
{
	struct xfer *x = X(s->n);

	if (s->has_id) {
		xfer_ids_del(&x->ids, s->id);
		s->has_id = 0;
	}
	slink_xfer_unbind(s);
	if (id == NULL)
		return 0;
	memcpy(s->id, id, WIRE_TRANSFER_ID_SIZE);
	if (xfer_ids_put(&x->ids, s->id, s) != 0)
		return -1;
	s->has_id = 1;
	/* The transfer's own keys when a session with the peer is up (secure_link.h). */
	return slink_xfer_bind(s);
}

void
xfer_release(struct xfer_sess *s)
{
	struct netd *n = s->n;
	struct xfer *x = X(n);
	int i;

	xfer_seq_drop(s);
	(void)xfer_set_id(s, NULL);
	for (i = 0; i < XFER_SLOTS; i++)
		if (x->s[i] == s)
			x->s[i] = NULL;
	xfer_udt_drop(s);
	free(s);
}

void
xfer_touch(struct xfer_sess *s)
{
	struct seq_match m;
	uint64_t now = xfer_now(s->n);

	s->last_rx = now;
	/* Lite traffic keeps the bi-sequence alive too, so late messages still match. */
	if (s->has_seq && now - s->seq_touched >= 1000) {
		s->seq_touched = now;
		seq_match_bi(s->n->seqs, s->pub, s->seq, 0, now, &m);
	}
}

/* --- sequences ---------------------------------------------------------------- */

int
xfer_run_open(struct xfer_sess *s, struct peer *p)
{
	struct netd *n = s->n;
	struct xfer *x = X(n);
	uint8_t id[WIRE_TRANSFER_ID_SIZE];

	/* A fresh UUID v4, unique among our sessions (§9.1). */
	do {
		env_random(&n->env, id, sizeof(id));
		xfer_uuid_v4(id);
	} while (xfer_ids_get(&x->ids, id) != NULL);
	if (xfer_set_id(s, id) != 0 || (s->conn == NULL && xfer_udt_open(s) != 0))
		return -1;
	xfer_seq_drop(s);
	if (seq_new_bi(n->seqs, p->pub, &p->seq_counter, NULL, s->ops->idle_ms,
	    xfer_now(n), &s->seq) != 0)
		return -1;
	s->has_seq = 1;
	return udt_listen(s->conn) == UDT_OK ? 0 : -1;
}

int
xfer_serve_claim(struct netd *n, const struct xfer_ops *ops, struct peer *p,
    const uint8_t id[WIRE_TRANSFER_ID_SIZE], uint32_t seq)
{
	struct xfer_sess *old;

	if ((old = xfer_ids_get(&X(n)->ids, id)) != NULL) {
		/* The same request again (sent on several connections): already served. */
		if (old->ops == ops && old->role == XFER_PROVIDER && old->seq == seq &&
		    memcmp(old->pub, p->pub, PEERNET_PUBKEY_BYTES) == 0)
			return 1;
		/* Transfer IDs are node-wide: a new registration replaces (§9.2). */
		old->ops->end(old, 0, 0, "transfer ID registered again");
	}
	if ((old = xfer_find_seq(n, ops, p->pub, seq)) != NULL)
		old->ops->end(old, 0, 0, "sequence registered again");
	return 0;
}

int
xfer_serve_register(struct xfer_sess *s, const uint8_t id[WIRE_TRANSFER_ID_SIZE],
    uint32_t seq)
{
	xfer_seq_drop(s);
	if (xfer_set_id(s, id) != 0)
		return -1;
	s->seq = seq;
	if (seq_register_bi(s->n->seqs, s->pub, seq, NULL, s->ops->idle_ms,
	    xfer_now(s->n)) != 0)
		return -1;
	s->has_seq = 1;
	return 0;
}

void
xfer_seq_drop(struct xfer_sess *s)
{
	if (s->has_seq)
		seq_remove_bi(s->n->seqs, s->pub, s->seq);
	s->has_seq = 0;
	s->seq = 0;
}

struct xfer_sess *
xfer_msg_sess(struct netd *n, const struct xfer_ops *ops, struct peer *p,
    struct peer_conn *c, const struct wire_packet *pkt, int last)
{
	struct xfer_sess *s;
	struct seq_match m;

	if (seq_match_bi(n->seqs, p->pub, pkt->sequence, last, xfer_now(n), &m) != 0 ||
	    (s = xfer_find_seq(n, ops, p->pub, pkt->sequence)) == NULL) {
		n->counters[IPC_NC_DROP_UNSOLICITED]++;
		return NULL;
	}
	if (m.first && m.rtt_ms > 0)
		peer_conn_set_rtt(c, m.rtt_ms);
	return s;
}

/* --- storaged ------------------------------------------------------------------- */

/* A storaged request's context: the session by number, not by pointer. */
struct xfer_ipc {
	struct netd	*n;
	xfer_store_cb	 cb;
	xfer_store_fd_cb fd_cb;		/* xfer_store_fd's instead of cb */
	uint64_t	 sid;
	uint32_t	 gen;
	uint64_t	 arg;
};

static void
xfer_store_done(void *arg, const uint8_t *rep, size_t len, const char *err)
{
	struct xfer_ipc q = *(struct xfer_ipc *)arg;
	struct xfer_sess *s;

	free(arg);
	if ((s = xfer_find_sid(q.n, q.sid)) != NULL)
		s->ipc--;
	q.cb(q.n, s, q.gen, q.arg, rep, len, err);
}

/* The context of a request for s; NULL when out of memory. */
static struct xfer_ipc *
xfer_ipc_new(struct xfer_sess *s, xfer_store_cb cb, xfer_store_fd_cb fd_cb,
    uint64_t arg)
{
	struct xfer_ipc *q;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	q->n = s->n;
	q->cb = cb;
	q->fd_cb = fd_cb;
	q->sid = s->sid;
	q->gen = s->gen;
	q->arg = arg;
	return q;
}

int
xfer_store(struct xfer_sess *s, int bulk, const void *msg, size_t len,
    uint32_t timeout_ms, xfer_store_cb cb, uint64_t arg)
{
	struct netd *n = s->n;
	struct xfer_ipc *q;

	if ((q = xfer_ipc_new(s, cb, NULL, arg)) == NULL)
		return -1;
	if (n->env.store_send(n->env.ctx, msg, len, timeout_ms, xfer_store_done, q,
	    bulk) != 0) {
		free(q);
		return -1;
	}
	s->ipc++;
	return 0;
}

static void
xfer_store_fd_done(void *arg, const uint8_t *rep, size_t len, int fd, const char *err)
{
	struct xfer_ipc q = *(struct xfer_ipc *)arg;
	struct xfer_sess *s;

	free(arg);
	if ((s = xfer_find_sid(q.n, q.sid)) != NULL)
		s->ipc--;
	q.fd_cb(q.n, s, q.gen, q.arg, rep, len, fd, err);
}

int
xfer_store_fd(struct xfer_sess *s, const void *msg, size_t len,
    uint32_t timeout_ms, xfer_store_fd_cb cb, uint64_t arg)
{
	struct netd *n = s->n;
	struct xfer_ipc *q;

	if (n->env.store_fd == NULL || (q = xfer_ipc_new(s, NULL, cb, arg)) == NULL)
		return -1;
	if (n->env.store_fd(n->env.ctx, msg, len, timeout_ms, xfer_store_fd_done,
	    q) != 0) {
		free(q);
		return -1;
	}
	s->ipc++;
	return 0;
}

static void
xfer_ignore_reply(void *arg, const uint8_t *rep, size_t len, const char *err)
{
	(void)arg;
	(void)rep;
	(void)len;
	(void)err;
}

void
xfer_store_forget(struct netd *n, const void *msg, size_t len, uint32_t timeout_ms)
{
	(void)n->env.store_send(n->env.ctx, msg, len, timeout_ms, xfer_ignore_reply,
	    NULL, 0);
}

void
xfer_store_err(const uint8_t *rep, size_t len, const char *err, char *out, size_t cap)
{
	uint16_t status;

	if (rep == NULL)
		snprintf(out, cap, "storaged did not answer: %s", err ? err : "?");
	else if (ipc_error_decode(rep, len, &status, out, cap) != 0)
		snprintf(out, cap, "malformed reply from storaged");
}

/* --- entry points --------------------------------------------------------------- */

int
xfer_core_init(struct netd *n)
{
	uint8_t key[XFER_IDS_KEY];
	struct xfer *x;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return -1;
	env_random(&n->env, key, sizeof(key));
	xfer_ids_init(&x->ids, key);
	n->xfer = x;
	return 0;
}

int
xfer_register(struct netd *n, const struct xfer_user *u)
{
	struct xfer *x = X(n);

	if (x == NULL || x->nusers == XFER_USERS)
		return -1;
	x->users[x->nusers++] = u;
	return 0;
}

void
xfer_core_free(struct netd *n)
{
	struct xfer *x = X(n);
	struct xfer_sess *s;
	int i;

	if (x == NULL)
		return;
	x->stopping = 1;
	/*
	 * Our downloads tell their providers; file sessions tell the peer in
	 * both roles, a block we serve ends silently as at its end (§9.6).
	 */
	for (i = 0; i < XFER_SLOTS; i++)
		if ((s = x->s[i]) != NULL)
			s->ops->end(s, 0, s->role == XFER_REQUESTER ||
			    s->ops->stop_tells_provider_too, "netd is stopping");
	if (x->timer != NULL)
		n->env.timer_del(n->env.ctx, x->timer);
	for (i = 0; i < x->nusers; i++)
		if (x->users[i]->fini != NULL)
			x->users[i]->fini(n);
	free(x);
	n->xfer = NULL;
}

int
xfer_lite_in(struct netd *n, const uint8_t *raw, size_t len)
{
	struct xfer *x = X(n);
	struct xfer_sess *s;
	struct wire_lite l;

	if (x == NULL || len < WIRE_LITE_HDR_SIZE ||
	    ((s = xfer_ids_get(&x->ids, raw)) == NULL &&
	    (s = slink_xfer_find(n, raw, len)) == NULL))
		return 0;
	/* Ours from here on: a malformed one is dropped, not parsed as a packet. */
	if (xfer_lite_decode(s, raw, len, &l) != 0) {
		n->counters[IPC_NC_DROP_MESSAGE]++;
		return 1;
	}
	s->got_lite = 1;
	/* After the stream (a download storing) late packets are only absorbed. */
	xfer_udt_in(s, l.data, l.data_len);
	return 1;
}

void
xfer_packet(struct netd *n, struct peer *p, struct peer_conn *c,
    const struct wire_packet *pkt)
{
	struct xfer *x = X(n);
	int i;

	for (i = 0; x != NULL && i < x->nusers; i++)
		if (x->users[i]->cmd == pkt->command) {
			x->users[i]->packet(n, p, c, pkt);
			return;
		}
	n->counters[IPC_NC_DROP_UNKNOWN_CMD]++;
}

static void
xfer_on_timer(void *arg)
{
	struct netd *n = arg;
	struct xfer *x = X(n);

	x->in_timer = 1;
	net_tx_begin(n);
	xfer_tick(n, xfer_now(n));
	net_tx_end(n);
	x->in_timer = 0;
}

void
xfer_tick(struct netd *n, uint64_t now_ms)
{
	struct xfer *x = X(n);
	struct xfer_sess *s;
	uint64_t now_us;
	int i, live = 0;

	if (x == NULL || x->in_run)
		return;
	x->in_run = 1;
	now_us = env_now_us(&n->env);
	for (i = 0; i < XFER_SLOTS; i++) {
		if ((s = x->s[i]) == NULL)
			continue;
		/* Without a stream (a download storing, between runs) the kind decides. */
		if (s->conn != NULL && now_ms - s->last_rx >= s->ops->idle_ms) {
			s->ops->end(s, 0, s->role == XFER_REQUESTER, s->ops->idle_why);
			continue;
		}
		if (s->ops->tick(s, now_ms))
			continue;
		if (s->conn != NULL && udt_next_timeout_us(s->conn) <= now_us)
			udt_tick(s->conn);
		s->ops->pump(s);
	}
	x->in_run = 0;
	for (i = 0; i < x->nusers; i++)
		if (x->users[i]->ops->after_tick != NULL)
			x->users[i]->ops->after_tick(n);
	for (i = 0; i < XFER_SLOTS; i++)
		if (x->s[i] != NULL)
			live++;
	/* No session: no 10 ms timer (deleted from node.c's tick, never from its own callback). */
	if (live == 0 && x->timer != NULL && !x->in_timer) {
		n->env.timer_del(n->env.ctx, x->timer);
		x->timer = NULL;
	}
}
