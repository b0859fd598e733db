/*
 * xfer_merkle.c — a download's merkle leaves (our XFER_PROTO_MERKLE
 * extension, xfer_merkle.h) and the per-fragment verification they allow:
 * with each run's REQUEST_START the requester asks a peer of ours (feature
 * bit 3) for the file's leaves; without an answer within XF_MK_WAIT_MS the
 * download goes on, verified as a whole at commit.  With leaves that lead
 * to their root each fragment is hashed as it arrives, before storaged (or
 * apid) sees it; a bad one is dropped, counted and fetched again from its
 * offset, XF_MAX_REFETCH failures in all.  The wire codec is xfer_mkwire.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blake3.h"
#include "log.h"
#include "merkle.h"
#include "netd.h"
#include "wire_msg.h"
#include "xfer_file.h"

static uint8_t xfer_mk_msg[WIRE_TRANSFER_REQUEST_SIZE + 64];

/* --- requester: merkle leaves and per-fragment verification ---------------- */

/* Asks the provider for the leaves of batch b (XFER_PROTO_MERKLE, xfer_merkle.h). */
static void
xfer_mk_ask(struct xfer_file_sess *s, uint64_t b)
{
	struct netd *n = s->x.n;
	struct wire_transfer t;
	struct peer *p;
	size_t wlen;

	s->mk_last = xfer_now(s->x.n);
	if (!s->x.has_seq || (p = peer_find(n->peers, s->x.pub)) == NULL)
		return;
	memset(&t, 0, sizeof(t));
	t.control = WIRE_TRANSFER_REQUEST_START;
	t.protocol = XFER_PROTO_MERKLE;
	memcpy(t.hash, s->hash, 32);
	t.offset = b * XFER_MK_BATCH;
	t.limit = XFER_MK_BATCH;
	memcpy(t.transfer_id, s->x.id, sizeof(t.transfer_id));
	if (wire_transfer_encode(xfer_mk_msg, sizeof(xfer_mk_msg), &wlen, &t) == 0)
		(void)node_send_peer(n, p, WIRE_CMD_TRANSFER, s->x.seq, xfer_mk_msg, wlen);
}

static uint64_t
xfer_mk_batches(const struct xfer_file_sess *s)
{
	return (s->mk_count + XFER_MK_BATCH - 1) / XFER_MK_BATCH;
}

/*
 * Batch 0 until the first answer gives the tree's shape; then the next
 * batches up to XF_MK_WINDOW unanswered; resend: the unanswered ones again.
 */
static void
xfer_mk_ask_more(struct xfer_file_sess *s, int resend)
{
	uint64_t b, nb;

	if (!s->mk_any) {
		xfer_mk_ask(s, 0);
		return;
	}
	nb = xfer_mk_batches(s);
	for (b = 0; resend && b < s->mk_next; b++)
		if (!s->mk_ok[b])
			xfer_mk_ask(s, b);
	while (s->mk_next < nb && s->mk_next - s->mk_nok < XF_MK_WINDOW)
		xfer_mk_ask(s, s->mk_next++);
}

/* No usable leaves: the download is verified as a whole at commit (v0). */
void
xfer_mk_none(struct xfer_file_sess *s, const char *why)
{
	char peer[17];

	if (why != NULL)
		log_info("file download %u from %s…: %s; the whole file is verified "
		    "at the end", s->number, xfer_peer_text(s->x.pub, peer), why);
	s->mk = MK_NONE;
	free(s->mk_leaves);
	free(s->mk_ok);
	s->mk_leaves = s->mk_ok = NULL;
}

/* Each run: the leaves asked (again) unless known, or known to be unavailable. */
void
xfer_mk_start(struct xfer_file_sess *s)
{
	struct peer *p;

	if ((s->flags & IPC_XFER_F_PROBE) || s->mk == MK_READY || s->mk == MK_NONE)
		return;
	/*
	 * Only a peer that sets our feature bit answers merkle requests: a
	 * reference peer (no bit) never does, and asking it would hold the data
	 * for XF_MK_WAIT_MS.  It sees exactly the protocol-0 REQUEST_START.
	 */
	p = peer_find(s->x.n->peers, s->x.pub);
	if (p == NULL || !(p->features & WIRE_FEATURE_MERKLE)) {
		xfer_mk_none(s, NULL);
		return;
	}
	if (s->file_size != 0 && (s->file_size <= MERKLE_MIN_FRAGMENT_SIZE ||
	    s->file_size > XF_MK_MAX_FILE)) {
		xfer_mk_none(s, NULL);
		return;
	}
	if (!s->mk_any)
		s->mk_asked_at = xfer_now(s->x.n);
	s->mk = MK_ASKING;
	xfer_mk_ask_more(s, 1);
}

/* Timeouts and resends while asking. */
void
xfer_mk_tick(struct xfer_file_sess *s, uint64_t now)
{
	if (s->mk != MK_ASKING)
		return;
	if (!s->mk_any && now - s->mk_asked_at >= XF_MK_WAIT_MS) {
		xfer_mk_none(s, "the peer does not send merkle leaves (a reference node?)");
		return;
	}
	if (s->mk_any && now - s->mk_last_rx >= XF_MK_STALL_MS) {
		xfer_mk_none(s, "the peer stopped sending merkle leaves");
		return;
	}
	if (now - s->mk_last >= XF_MK_RESEND_MS)
		xfer_mk_ask_more(s, 1);
}

/* A batch of leaves from the provider (Transfer ACTIVE, XFER_PROTO_MERKLE). */
void
xfer_mk_in(struct xfer_file_sess *s, const struct wire_transfer *t)
{
	struct xfer_mk_reply r;
	uint8_t root[32];
	uint64_t b, want;
	char peer[17];

	if (s->x.role != XFER_REQUESTER || s->mk != MK_ASKING ||
	    memcmp(t->hash, s->hash, 32) != 0)
		return;
	if (xfer_mk_reply_decode(t->data, t->data_len, &r) != 0) {
		xfer_mk_none(s, "malformed merkle leaves from the peer");
		return;
	}
	if (!s->mk_any) {
		if (r.file_size > XF_MK_MAX_FILE ||
		    (s->file_size != 0 && r.file_size != s->file_size)) {
			xfer_mk_none(s, "the peer's merkle leaves are for another size");
			return;
		}
		s->mk_size = r.file_size;
		s->mk_frag = r.fragment_size;
		s->mk_count = r.fragment_count;
		memcpy(s->mk_root, r.root, 32);
		if ((s->mk_leaves = calloc(s->mk_count, 32)) == NULL ||
		    (s->mk_ok = calloc(xfer_mk_batches(s), 1)) == NULL) {
			xfer_mk_none(s, "out of memory");
			return;
		}
		s->mk_any = 1;
		s->mk_next = 1;		/* batch 0 was asked */
	} else if (r.file_size != s->mk_size || memcmp(r.root, s->mk_root, 32) != 0) {
		xfer_mk_none(s, "the peer's merkle tree changed");
		return;
	}
	s->mk_last_rx = xfer_now(s->x.n);
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
	if (s->mk_nok < xfer_mk_batches(s)) {
		xfer_mk_ask_more(s, 0);
		return;
	}
	/* Every leaf: they must lead to the root sent (§4.2). */
	if (xfer_mk_root(s->mk_leaves, s->mk_count, root) != 0 ||
	    memcmp(root, s->mk_root, 32) != 0) {
		xfer_mk_none(s, "the peer's merkle leaves do not lead to its root");
		return;
	}
	s->mk = MK_READY;
	log_debug("file download %u from %s…: %llu merkle leaves, fragments of %llu bytes",
	    s->number, xfer_peer_text(s->x.pub, peer), (unsigned long long)s->mk_count,
	    (unsigned long long)s->mk_frag);
	xfer_file_pump(s);
}

/*
 * Once per run, before its data: wait for the leaves (bounded by
 * xfer_mk_tick), then decide whether this run verifies each fragment.  1:
 * wait (the provider is held by UDT's window meanwhile).
 */
int
xfer_mk_gate(struct xfer_file_sess *s)
{
	if (s->mk_gated)
		return 0;
	if (s->mk == MK_ASKING) {
		if (s->file_size <= MERKLE_MIN_FRAGMENT_SIZE || s->file_size > XF_MK_MAX_FILE)
			xfer_mk_none(s, NULL);
		else {
			xfer_mk_tick(s, xfer_now(s->x.n));
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


/*
 * Fragment idx did not hash to its leaf: it and everything after it in the
 * chunk are dropped (never reach storaged), the fragments before it are
 * handed on, and a new run asks for the file from the bad fragment's
 * offset; after XF_MAX_REFETCH failures the download fails naming it (and
 * the partial is discarded).
 */
static void
xfer_mk_bad(struct xfer_file_sess *s, uint64_t idx)
{
	const struct xfer_file_parts *up = xfer_file_parts(s->x.n);	/* xfer_req.c's */
	char peer[17], msg[IPC_XFER_ERR_MAX + 1];
	uint64_t off = idx * s->mk_frag;
	uint64_t len = s->file_size - off < s->mk_frag ? s->file_size - off : s->mk_frag;

	s->x.n->counters[IPC_NC_XFER_BAD_FRAGMENT]++;
	s->bad++;
	xfer_peer_text(s->x.pub, peer);
	s->clen = s->vpos;
	s->done = s->handed + s->clen;
	up->req_stop(s);
	if (s->bad >= XF_MAX_REFETCH) {
		snprintf(msg, sizeof(msg), "fragment %llu (bytes %llu-%llu) from peer %s… "
		    "failed verification %u times: does not match its merkle leaf",
		    (unsigned long long)idx, (unsigned long long)off,
		    (unsigned long long)(off + len - 1), peer, s->bad);
		s->discard = 1;
		xfer_file_end(s, 0, 0, msg);
		return;
	}
	log_warnx("file download %u from %s…: fragment %llu (offset %llu) does not "
	    "match its merkle leaf; dropped, fetching from there again", s->number,
	    peer, (unsigned long long)idx, (unsigned long long)off);
	if (s->clen > 0 && up->req_flush_chunk(s) != 0)
		return;
	s->offset = s->handed;
	up->req_run_start(s);
}

/* Checks the whole fragments now in the chunk: 0, or -1 when one failed (handled). */
int
xfer_mk_verify(struct xfer_file_sess *s)
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
			xfer_mk_bad(s, idx);
			return -1;
		}
		s->vpos += (size_t)flen;
	}
	return 0;
}
