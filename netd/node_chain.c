/*
 * node_chain.c — blockchains: other peers' chains reported to storaged's
 * cache (which may fetch their blocks), our own chain's height and version
 * asked from storaged and pushed to peers when it changes, and the
 * keep-alive that carries our secure-transport offer (node_chain_offer_tick).
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "node_int.h"
#include "secure_link.h"
#include "wire_secure.h"

/* --- the cache of other chains (storaged) -------------------------------- */

struct node_chain_seen_arg {
	struct netd	*n;
	uint8_t		 pub[33];
	uint64_t	 version;
};

static void
node_chain_seen_done(void *arg, const uint8_t *rep, size_t len, const char *err)
{
	struct node_chain_seen_arg *s = arg;
	struct ipc_cache_fetch f;
	struct peer *p;

	if (rep == NULL)
		log_debug("cache-seen: %s", err);
	else if (ipc_cache_fetch_decode(rep, len, &f) == 0 && f.to > f.from &&
	    (p = peer_find(s->n->peers, s->pub)) != NULL &&
	    s->n->xfer_hooks != NULL)
		s->n->xfer_hooks->blocks_wanted(s->n, p, s->version, f.from, f.to);
	free(s);
}

/* A peer's blockchain height or version is new to us: tell storaged's cache. */
void
node_chain_seen(struct netd *n, struct peer *p)
{
	struct ipc_cache_seen cs;
	struct node_chain_seen_arg *s;
	uint8_t buf[128];
	long len;

	if (p->chain_height == 0 && p->chain_version == 0)
		return;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return;
	s->n = n;
	memcpy(s->pub, p->pub, 33);
	s->version = p->chain_version;
	memcpy(cs.owner, p->pub, 33);
	cs.version = p->chain_version;
	cs.height = p->chain_height;
	len = ipc_cache_seen_encode(buf, sizeof(buf), &cs);
	if (n->env.store_send(n->env.ctx, buf, (size_t)len, 5000, node_chain_seen_done,
	    s, 0) != 0)
		free(s);
}

static void
node_chain_ask_done(void *arg, const uint8_t *rep, size_t len, const char *err)
{
	struct netd *n = arg;
	struct ipc_chain_info ci;

	(void)err;
	if (rep != NULL && ipc_chain_info_decode(rep, len, IPC_CHAIN, &ci) == 0) {
		n->chain_height = ci.height;
		n->chain_version = ci.version;
		n->chain_known = 1;
	}
}

/* Until storaged's first event, ask for the own chain's height and version. */
void
node_chain_ask(struct netd *n, uint64_t now)
{
	if (!n->chain_known)
		node_send_store_ask(n, IPC_CHAIN, &n->chain_asked, now, node_chain_ask_done);
}

/*
 * Pushing our chain's changes (beyond the reference, docs/differences.md):
 * a reference node fetches a peer's new blocks whenever an Announcement,
 * Response or Local Discovery from it carries another height or version
 * than it last saw (docs/data.md §2.11, protocol.md §9.9); without a push
 * it learns them only from the Response to its next keep-alive, up to
 * ~60 s later (§5.4).  So a change goes out at once, as the bare
 * keep-alive Announcement it already understands, bounded:
 *  - rate: one round per NODE_PUSH_MIN_MS; changes within it (an `add` of
 *    many files seals blocks one after another) leave in one trailing
 *    round with the newest values (node_chain_push_tick);
 *  - fan-out: NODE_PUSH_MAX_PEERS peers per round, only peers that have
 *    answered us (a known RTT: a spoofed source never gets one), starting
 *    where the last round stopped; the others learn it from keep-alives.
 */
#define NODE_PUSH_MIN_MS	1000
#define NODE_PUSH_MAX_PEERS	64

struct node_chain_round {
	struct netd	*n;
	size_t		 len;
	int		 sent;
	int		 pass;		/* 0: from n->node->push_rot on, 1: the rest */
	unsigned	 idx;		/* eligible peers seen in this pass */
};

static void
node_chain_push_one(void *arg, struct peer *p)
{
	struct node_chain_round *x = arg;
	uint32_t seq;
	unsigned i;

	if (p->nact == 0 || peer_rtt(p) == 0)
		return;
	i = x->idx++;
	if ((x->pass == 0) != (i >= x->n->node->push_rot) || x->sent >= NODE_PUSH_MAX_PEERS)
		return;
	if (seq_new(x->n->seqs, p->pub, &p->seq_counter, CTX(NETD_CTX_KEEPALIVE, 0),
	    node_now(x->n), &seq) != 0)
		return;
	if (node_send_peer(x->n, p, WIRE_CMD_ANNOUNCEMENT, seq, node_send_plain, x->len) == 0) {
		x->sent++;
		x->n->counters[IPC_NC_TX_CHAIN_PUSH]++;
	}
}

static void
node_chain_push(struct netd *n)
{
	struct node_chain_round x;

	if (node_send_ann_payload(n, 0, 0, NULL, NULL, &x.len) != 0)
		return;
	memcpy(node_send_plain, node_send_msg, x.len);
	x.n = n;
	x.sent = 0;
	for (x.pass = 0; x.pass < 2; x.pass++) {
		x.idx = 0;
		peer_list_foreach(n->peers, node_chain_push_one, &x);
	}
	/* x.idx: every eligible peer; the next round goes on after these. */
	n->node->push_rot = x.idx > 0 ? (n->node->push_rot + (unsigned)x.sent) % x.idx : 0;
	log_debug("chain %llu/%llu announced to %d of %u peers",
	    (unsigned long long)n->chain_version, (unsigned long long)n->chain_height,
	    x.sent, x.idx);
}

/*
 * A peer that shows bit 4 (WIRE_FEATURE_SECURE) on a proven connection but
 * whose offer we never got (our first contact carried none, see
 * node_send_on_ex) gets a keep-alive Announcement with ours; its Response
 * carries its own and secure_link.c starts the handshake.  At most once per
 * SLINK_OFFER_MS per peer.
 */
static void
node_chain_offer_one(void *arg, struct peer *p)
{
	struct node_chain_round *x = arg;
	uint32_t seq;

	if (!(p->features & WIRE_FEATURE_SECURE) || p->nact == 0 ||
	    !peer_has_verified(p) || !slink_offer_due(x->n, p->pub))
		return;
	/* Built once per tick, and only when some peer is due one. */
	if (x->len == 0) {
		if (node_send_ann_payload(x->n, 0, 0, NULL, NULL, &x->len) != 0) {
			x->len = 0;
			return;
		}
		memcpy(node_send_plain, node_send_msg, x->len);
	}
	if (seq_new(x->n->seqs, p->pub, &p->seq_counter, CTX(NETD_CTX_KEEPALIVE, 0),
	    node_now(x->n), &seq) != 0)
		return;
	if (node_send_peer(x->n, p, WIRE_CMD_ANNOUNCEMENT, seq, node_send_plain, x->len) == 0)
		x->sent++;
}

void
node_chain_offer_tick(struct netd *n)
{
	struct node_chain_round x = { .n = n };	/* len 0: payload not built yet */

	peer_list_foreach(n->peers, node_chain_offer_one, &x);
}

/* Called on every change and every tick: a due push leaves when the rate allows. */
void
node_chain_push_tick(struct netd *n, uint64_t now)
{
	if (!n->node->push_due || (n->node->push_last != 0 && now - n->node->push_last < NODE_PUSH_MIN_MS))
		return;
	n->node->push_due = 0;
	n->node->push_last = now;
	node_chain_push(n);
}

/*
 * Storaged's event that its chain changed (height, version): from
 * node_on_event in the daemon, directly from tests/sim.
 */
void
node_chain_event(struct netd *n, uint64_t height, uint64_t version)
{
	int changed = height != n->chain_height || version != n->chain_version;

	n->chain_height = height;
	n->chain_version = version;
	n->chain_known = 1;
	if (changed) {
		n->node->push_due = 1;
		node_chain_push_tick(n, node_now(n));
	}
}
