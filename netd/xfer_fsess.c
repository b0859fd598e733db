/*
 * xfer_fsess.c — the file transfer's session (Transfer, command 8;
 * docs/protocol.md §9.3) as a user of the transfer engine: creation, the
 * end (kept for IPC_TRANSFERS), the engine's per-session hooks.  The
 * bottom of the file side (see xfer_file.h): the roles above it,
 * xfer_req.c, xfer_prov.c and xfer_stream.c, are reached only through the
 * table of parts xfer_file.c (the entry) hands to xfer_fsess_init.
 *
 * Bounds: XF_MAX_SESSIONS sessions in all, XF_MAX_SERVE_PEER served to one
 * peer, XF_MAX_DOWNLOADS downloads; a served session holds at most
 * XF_SERVE_AHEAD chunks of XF_SERVE_CHUNK bytes besides its UDT connection,
 * a download one chunk of XF_STORE_CHUNK being filled and XF_STORE_INFLIGHT
 * chunks with storaged.  A download takes exactly the size the provider
 * announced in the stream header (at most XF_MAX_FILE); storaged enforces
 * that size and the hash.  Sessions end after 60 s without a lite packet or
 * message (transferSequenceTimeout, §9.2; the engine's idle expiry); a
 * download whose provider never answers ends after XF_START_MS.  A
 * download's merkle leaves (our XFER_PROTO_MERKLE extension) take 32 bytes
 * per fragment, files up to 1 GiB: at most 64 KiB.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hex.h"
#include "log.h"
#include "netd.h"
#include "udt.h"
#include "wire_msg.h"
#include "xfer_file.h"

static uint8_t xfer_file_msg[WIRE_TRANSFER_REQUEST_SIZE + 64];

static void	xfer_file_pump_op(struct xfer_sess *xs);
static int	xfer_file_tick(struct xfer_sess *xs, uint64_t now_ms);
static void	xfer_file_end_op(struct xfer_sess *xs, int ok, int terminate,
		    const char *why);

const struct xfer_ops xfer_file_ops = {
	.name = "file",
	.max = XF_MAX_SESSIONS,
	.idle_ms = XF_IDLE_MS,
	.idle_why = "idle for 60 s (sequence expired)",
	.pump = xfer_file_pump_op,
	.tick = xfer_file_tick,
	.end = xfer_file_end_op,
	.after_tick = NULL,
	.stop_tells_provider_too = 1,
};

static struct xfer_files *
xfer_file_state(struct netd *n)
{
	struct xfer *x = n->xfer;

	return x != NULL ? x->files : NULL;
}

int
xfer_fsess_init(struct netd *n, const struct xfer_file_parts *parts)
{
	struct xfer *x = n->xfer;

	if ((x->files = calloc(1, sizeof(*x->files))) == NULL)
		return -1;
	x->files->parts = parts;
	return 0;
}

void
xfer_fsess_fini(struct netd *n)
{
	struct xfer *x = n->xfer;

	free(x->files);
	x->files = NULL;
}

const struct xfer_file_parts *
xfer_file_parts(struct netd *n)
{
	return xfer_file_state(n)->parts;
}

struct xfer_file_sess *
xfer_file_at(struct netd *n, int i)
{
	return (struct xfer_file_sess *)xfer_at(n, &xfer_file_ops, i);
}

struct xfer_file_sess *
xfer_file_find(struct netd *n, uint32_t number)
{
	struct xfer_file_sess *s;
	int i;

	for (i = 0; i < XFER_SLOTS; i++)
		if ((s = xfer_file_at(n, i)) != NULL && s->number == number)
			return s;
	return NULL;
}

const struct xfer_file_recent *
xfer_file_recent_find(struct netd *n, uint32_t number)
{
	struct xfer_files *f = xfer_file_state(n);
	int i;

	for (i = 0; f != NULL && i < XF_RECENT; i++)
		if (f->recent[i].at != 0 && f->recent[i].info.number == number)
			return &f->recent[i];
	return NULL;
}

struct xfer_file_sess *
xfer_file_new(struct netd *n, enum xfer_role role, const uint8_t pub[PEERNET_PUBKEY_BYTES],
    const uint8_t hash[32])
{
	struct xfer_files *f = xfer_file_state(n);
	struct xfer_file_sess *s;

	if (f == NULL || (s = FS(xfer_new(n, &xfer_file_ops, role, pub,
	    sizeof(*s)))) == NULL)
		return NULL;
	/* A requester opens its connection when it sends its request. */
	if (role == XFER_PROVIDER && xfer_udt_open(&s->x) != 0) {
		xfer_release(&s->x);
		return NULL;
	}
	s->state = IPC_XFER_STARTING;
	if (++f->next_number == 0)
		f->next_number = 1;
	s->number = f->next_number;
	memcpy(s->hash, hash, 32);
	s->req_at = s->x.created;
	return s;
}

void
xfer_file_send_ctl(struct netd *n, const uint8_t pub[PEERNET_PUBKEY_BYTES],
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
	if (wire_transfer_encode(xfer_file_msg, sizeof(xfer_file_msg), &len, &t) == 0)
		node_send_peer(n, p, WIRE_CMD_TRANSFER, seq, xfer_file_msg, len);
}

void
xfer_file_info(const struct xfer_file_sess *s, uint64_t now, struct ipc_xfer_info *x)
{
	uint64_t el;

	memset(x, 0, sizeof(*x));
	x->number = s->number;
	x->role = (uint8_t)s->x.role;
	x->state = (uint8_t)s->state;
	ident_node_id(s->x.pub, x->node_id);
	memcpy(x->hash, s->hash, 32);
	x->flags = s->flags;
	x->offset = s->x.role == XFER_REQUESTER ? s->offset : 0;
	x->done = s->done;
	x->total = s->total;
	x->bad_fragments = s->bad;
	x->restarts = s->restarts;
	x->elapsed_ms = now - s->x.created;
	/* This run's bytes over this run's time: a resumed prefix is not counted. */
	el = s->data_start ? now - s->data_start : 0;
	x->rate = el > 0 && s->done > x->offset ? (s->done - x->offset) * 1000 / el : 0;
}

void
xfer_file_end(struct xfer_file_sess *s, int ok, int terminate, const char *why)
{
	struct netd *n = s->x.n;
	struct xfer_files *f = xfer_file_state(n);
	struct xfer_file_recent *r;
	uint64_t now = xfer_now(n);
	char peer[17], hash[17], ustats[192];
	unsigned i;

	s->state = ok ? IPC_XFER_DONE : IPC_XFER_FAILED;
	hex_encode(hash, s->hash, 8);
	/* What the stream went through: the first thing to read when a
	 * transfer was slow (losses, resends, round trip). */
	ustats[0] = '\0';
	if (s->x.conn != NULL) {
		struct udt_stats st;

		udt_get_stats(s->x.conn, &st);
		snprintf(ustats, sizeof(ustats), " (udt: %llu/%llu data packets "
		    "sent/received, %llu resent, %llu blind, NAKs %llu/%llu, "
		    "rtt %u us, window %u)", (unsigned long long)st.pkts_sent,
		    (unsigned long long)st.pkts_recv, (unsigned long long)st.retransmits,
		    (unsigned long long)st.blind_retransmits,
		    (unsigned long long)st.naks_sent, (unsigned long long)st.naks_recv,
		    st.rtt_us, st.flow_win);
	}
	if (s->x.role == XFER_REQUESTER)
		log_info("file download %s… from %s… ended: %s; %llu of %llu bytes%s",
		    hash, xfer_peer_text(s->x.pub, peer), why, (unsigned long long)s->done,
		    (unsigned long long)s->total, ustats);
	else
		log_debug("file serving %s… to %s… ended: %s; %llu of %llu bytes%s",
		    hash, xfer_peer_text(s->x.pub, peer), why, (unsigned long long)s->done,
		    (unsigned long long)s->total, ustats);
	if (s->st != NULL)
		f->parts->st_release(s, ok, why);
	if (f != NULL) {
		r = &f->recent[f->recent_next++ % XF_RECENT];
		r->at = now;
		xfer_file_info(s, now, &r->info);
		if (!ok)
			snprintf(r->info.error, sizeof(r->info.error), "%s", why);
	}
	if (s->x.role == XFER_REQUESTER && !ok)
		f->parts->req_dl_abort(s, s->discard);
	/* A requester between runs has no sequence (nor a stream) any more. */
	if (terminate && s->x.has_seq)
		xfer_file_send_ctl(n, s->x.pub, s->hash, WIRE_TRANSFER_TERMINATE, s->x.seq);
	for (i = 0; i < XF_SERVE_AHEAD; i++)
		free(s->slots[i].data);
	if (s->rfd_on) {
		log_debug("file serving %s…: %llu chunks read from the page cache, "
		    "%llu from storaged", hash, (unsigned long long)s->rfd_reads,
		    (unsigned long long)s->rfd_misses);
		close(s->rfd);
		s->rfd_on = 0;
	}
	/* The chunk may be posted as UDT's landing place (xfer_req.c). */
	if (s->x.conn != NULL)
		(void)udt_recv_unpost(s->x.conn);
	free(s->chunk);
	free(s->probe);
	free(s->mk_leaves);
	free(s->mk_ok);
	xfer_release(&s->x);
}

void
xfer_file_store_failed(struct xfer_file_sess *s, int terminate, const uint8_t *rep,
    size_t len, const char *err)
{
	char why[IPC_XFER_ERR_MAX + 1];

	xfer_store_err(rep, len, err, why, sizeof(why));
	xfer_file_end(s, 0, terminate, why);
}

void
xfer_file_pump(struct xfer_file_sess *s)
{
	const struct xfer_file_parts *parts = xfer_file_parts(s->x.n);

	if (s->st != NULL)
		parts->st_pump(s);
	else if (s->x.role == XFER_REQUESTER)
		parts->req_pump(s);
	else
		parts->prov_pump(s);
}

/* --- the engine's hooks ------------------------------------------------------- */

static void
xfer_file_pump_op(struct xfer_sess *xs)
{
	xfer_file_pump(FS(xs));
}

static void
xfer_file_end_op(struct xfer_sess *xs, int ok, int terminate, const char *why)
{
	xfer_file_end(FS(xs), ok, terminate, why);
}

static int
xfer_file_tick(struct xfer_sess *xs, uint64_t now_ms)
{
	struct xfer_file_sess *s = FS(xs);
	const struct xfer_file_parts *parts = xfer_file_parts(s->x.n);

	if (s->st != NULL)
		return parts->st_tick(s, now_ms);
	if (s->x.role == XFER_REQUESTER)
		return parts->req_tick(s, now_ms);
	return 0;
}
