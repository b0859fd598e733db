/*
 * node_trav.c — first contact with a node at an address (§6.6), and the
 * Traverse flow (§3.7, §8) that backs it when the node looks NATed: the
 * punch through a relay, the relay's forwarding, the target's answer.
 * traverse.c holds the pure decisions and tables; this file sends.
 */
#include <string.h>

#include "hex.h"
#include "log.h"
#include "node_int.h"

/* --- Traverse: relayed first contact and hole punching (§3.7, §8) -------- */

static uint8_t node_trav_emb[WIRE_PACKET_MAX];		/* embedded packet A -> B */
static uint8_t node_trav_msg[WIRE_PACKET_MAX];		/* Traverse payload */
static uint8_t node_trav_plain[WIRE_PACKET_MAX];	/* opened embedded packet */

static const char *
node_trav_short(const uint8_t pub[33], char buf[17])
{
	uint8_t id[32];

	ident_node_id(pub, id);
	hex_encode(buf, id, 8);
	return buf;
}

/*
 * A -> R (§8.2 step 2): the punch's Announcement (same sequence as the
 * direct send, ports as patched for that socket) as a full packet to B,
 * inside a Traverse signed by us, sent to R as command 5, sequence 0.
 * A fresh nonce each time, so B's replay filter does not drop a retry.
 */
static int
node_trav_send(struct netd *n, const struct traverse_punch *e)
{
	struct peer *r = peer_find(n->peers, e->relay);
	struct wire_traverse t;
	size_t elen, len;

	if (r == NULL || r->nact == 0 || e->sock < 0 || e->sock >= n->nsocks)
		return -1;
	memcpy(node_trav_msg, e->payload, e->len);
	wire_msg_set_ports(node_trav_msg, e->len, n->socks[e->sock].port,
	    n->socks[e->sock].port_external ? n->socks[e->sock].port_external :
	    n->d->conf.port_forward);
	if (node_send_encode(n, node_trav_emb, sizeof(node_trav_emb), &elen, e->target,
	    WIRE_CMD_ANNOUNCEMENT, e->seq, node_trav_msg, e->len, -1) != 0)
		return -1;
	memset(&t, 0, sizeof(t));
	memcpy(t.target, e->target, 33);
	memcpy(t.relay, e->relay, 33);
	t.expires = env_unix_s(&n->env) + WIRE_TRAVERSE_EXPIRY;
	t.embedded = node_trav_emb;
	t.embedded_len = elen;
	if (wire_traverse_encode(node_trav_msg, sizeof(node_trav_msg), &len, &t) != 0 ||
	    wire_traverse_sign(node_trav_msg, len, &n->id) != 0)
		return -1;
	if (node_send_peer(n, r, WIRE_CMD_TRAVERSE, 0, node_trav_msg, len) != 0)
		return -1;
	n->counters[IPC_NC_TX_TRAVERSE]++;
	return 0;
}

/*
 * A punch to pub at `to` through relay: at once (§8.1 asked for it), or as
 * a fallback, sent by node_trav_tick only if the direct contact made
 * with (sock, seq, payload) is unanswered after TRAVERSE_FALLBACK_MS.
 */
static void
node_trav_start(struct netd *n, const uint8_t pub[33], const struct peer_addr *to,
    int sock, uint32_t seq, const uint8_t *payload, size_t len, const uint8_t relay[33],
    int fallback)
{
	struct traverse_punch *e;
	char a[PEER_ADDR_STRLEN], b[17], r[17];
	struct peer *rp = peer_find(n->peers, relay);

	if (len > TRAVERSE_ANNOUNCE_MAX || rp == NULL || rp->nact == 0 ||
	    memcmp(relay, pub, 33) == 0)
		return;
	e = fallback ? traverse_punch_fallback(&n->node->punches, pub, relay, to, node_now(n)) :
	    traverse_punch_new(&n->node->punches, pub, relay, to, node_now(n));
	if (e == NULL)
		return;
	memcpy(e->payload, payload, len);
	e->len = (uint16_t)len;
	e->seq = seq;
	e->sock = sock;
	if (!fallback && traverse_punch_step(e, 0, node_now(n)) == TRAVERSE_PUNCH_SEND) {
		log_debug("traverse to %s… at %s via %s…", node_trav_short(pub, b),
		    peer_addr_format(to, a, sizeof(a)), node_trav_short(relay, r));
		node_trav_send(n, e);
	}
}

/*
 * Beyond §8 (no retry there): a Traverse unanswered for 2.5 s is sent again,
 * twice; a fallback punch sends its first one only after TRAVERSE_FALLBACK_MS
 * without an answer to the direct contact.
 */
void
node_trav_tick(struct netd *n, uint64_t now)
{
	char a[PEER_ADDR_STRLEN], b[17], r[17];
	unsigned i;

	for (i = 0; i < TRAVERSE_PUNCH_SLOTS; i++) {
		struct traverse_punch *e = &n->node->punches.e[i];
		struct peer *p;
		uint64_t started = e->started;

		if (started == 0)
			continue;
		p = peer_find(n->peers, e->target);
		switch (traverse_punch_step(e, p != NULL && p->nact > 0, now)) {
		case TRAVERSE_PUNCH_SEND:
			if (e->fallback && e->tries == 1) {
				n->counters[IPC_NC_TRAVERSE_FALLBACK]++;
				log_info("traverse to %s… at %s: direct contact unanswered for "
				    "%llu ms, Traverse via %s… (port-preserving NAT?)",
				    node_trav_short(e->target, b), peer_addr_format(&e->to, a,
				    sizeof(a)), (unsigned long long)(now - started),
				    node_trav_short(e->relay, r));
			}
			node_trav_send(n, e);
			break;
		case TRAVERSE_PUNCH_FAILED:
			/*
			 * A fallback's target may simply be gone (every lookup
			 * meets such contacts): not counted as a punch failure,
			 * logged at debug level only.
			 */
			if (e->fallback) {
				log_debug("traverse to %s… at %s (fallback): no answer after "
				    "%d tries in %llu ms", node_trav_short(e->target, b),
				    peer_addr_format(&e->to, a, sizeof(a)), TRAVERSE_TRIES,
				    (unsigned long long)(now - started));
				break;
			}
			n->counters[IPC_NC_TRAVERSE_PUNCH_FAILED]++;
			log_info("traverse to %s… at %s: no answer after %d tries in %llu ms "
			    "(address-dependent NAT mapping on a path?)", node_trav_short(e->target, b),
			    peer_addr_format(&e->to, a, sizeof(a)), TRAVERSE_TRIES,
			    (unsigned long long)(now - started));
			break;
		case TRAVERSE_PUNCH_DONE:
			/* A fallback answered directly never sent a Traverse. */
			if (e->fallback && e->tries == 0)
				break;
			if (e->fallback)
				n->counters[IPC_NC_TRAVERSE_FALLBACK_CONNECTED]++;
			log_info("traverse to %s… at %s: connected after %llu ms",
			    node_trav_short(e->target, b), peer_addr_format(&e->to, a, sizeof(a)),
			    (unsigned long long)(now - started));
			break;
		default:
			break;
		}
	}
}

/* R (§8.2 step 3): A's addresses into the block, the message on to B. */
static void
node_trav_forward(struct netd *n, struct peer *a, const struct wire_traverse *t,
    const struct wire_packet *pkt)
{
	struct wire_traverse_addr blk;
	struct peer *b = peer_find(n->peers, t->target);
	char x[17], y[17];
	size_t len = pkt->payload_len;

	if (b == NULL || b->nact == 0) {
		n->counters[IPC_NC_DROP_TRAVERSE_TARGET]++;
		return;
	}
	/* Beyond §8: a relay is not a free packet cannon for one originator. */
	if (!traverse_rate_allow(&n->node->trate, a->pub, node_now(n))) {
		n->counters[IPC_NC_DROP_TRAVERSE_OTHER]++;
		return;
	}
	if (traverse_addr_block(a, b->features, &blk) != 0 || len > sizeof(node_trav_msg)) {
		n->counters[IPC_NC_DROP_TRAVERSE_OTHER]++;
		return;
	}
	memcpy(node_trav_msg, pkt->payload, len);
	if (wire_traverse_set_address(node_trav_msg, len, &blk) != 0 ||
	    node_send_peer(n, b, WIRE_CMD_TRAVERSE, 0, node_trav_msg, len) != 0) {
		n->counters[IPC_NC_DROP_TRAVERSE_OTHER]++;
		return;
	}
	n->counters[IPC_NC_TRAVERSE_FORWARDED]++;
	n->counters[IPC_NC_TX_TRAVERSE]++;
	log_debug("traverse from %s… forwarded to %s…", node_trav_short(a->pub, x),
	    node_trav_short(b->pub, y));
}

/*
 * B (§8.2 steps 5-6): open the embedded Announcement, answer it as a first
 * contact from a virtual peer: the Response goes directly to each of A's
 * candidate addresses from every matching socket, which opens our NAT
 * towards A.  A is not added to the peer list (its packets will do that).
 */
static void
node_trav_receive(struct netd *n, const struct wire_traverse *t)
{
	static uint8_t answer[WIRE_PACKET_MAX];
	static struct traverse_opened o;
	struct peer *p = peer_find(n->peers, t->signer);
	uint8_t signer[33], requester[32];
	size_t len, emb_len = t->embedded_len;
	char x[17];
	int i, j, sent = 0;

	/* "A direct connection already exists" (reference: A in the peer list). */
	if (p != NULL && p->nact > 0) {
		n->counters[IPC_NC_DROP_TRAVERSE_OTHER]++;
		return;
	}
	memcpy(signer, t->signer, 33);
	switch (traverse_receive_open(t, &n->id, node_trav_plain, sizeof(node_trav_plain),
	    &o)) {
	case TRAVERSE_OPEN_OK:
		break;
	case TRAVERSE_OPEN_SIGNER:
		n->counters[IPC_NC_DROP_TRAVERSE_SIGNATURE]++;
		return;
	default:
		n->counters[IPC_NC_DROP_TRAVERSE_OTHER]++;
		return;
	}
	/* The outer packets are filtered already; a re-wrapped embedded one too. */
	if (wire_replay_check(&n->replay, o.pkt.signed_hash, node_now(n))) {
		n->counters[IPC_NC_DROP_REPLAY]++;
		return;
	}
	n->counters[IPC_NC_TRAVERSE_ACCEPTED]++;
	ident_node_id(signer, requester);
	/*
	 * The candidate addresses come from the relay, unauthenticated (§13.2
	 * point 10): beyond FIND_SELF the answer is no larger than the request.
	 */
	if (node_answer_payload(n, requester, 0, emb_len, &o.ann, &len) != 0)
		return;
	memcpy(answer, node_send_msg, len);
	for (j = 0; j < o.ncand; j++)
		for (i = 0; i < n->nsocks; i++) {
			if (n->socks[i].fd < 0 || n->socks[i].family != o.cand[j].family ||
			    !peer_net_may_send(&n->socks[i].addr, &o.cand[j]))
				continue;
			if (node_send_on(n, signer, i, NULL, &o.cand[j], WIRE_CMD_RESPONSE,
			    o.pkt.sequence, answer, len) == 0)
				sent++;
		}
	log_debug("traverse from %s…: answered to %d address(es), %d sent",
	    node_trav_short(signer, x), o.ncand, sent);
}

void
node_trav_in(struct netd *n, struct peer *p, struct peer_conn *c,
    const struct wire_packet *pkt)
{
	struct wire_traverse t;
	enum traverse_verdict v;
	int rc;

	n->counters[IPC_NC_RX_TRAVERSE]++;
	rc = wire_traverse_decode(pkt->payload, pkt->payload_len, &t);
	if (rc != 0) {
		n->counters[rc == WIRE_MSG_ERR_SIGNATURE ? IPC_NC_DROP_TRAVERSE_SIGNATURE :
		    IPC_NC_DROP_TRAVERSE_OTHER]++;
		return;
	}
	v = traverse_classify(&t, n->id.pub, p->pub, env_unix_s(&n->env));
	/*
	 * Both roles make a third party send to addresses the sender vouches
	 * for (R: the target answers A's observed address; B: we answer the
	 * address block the relay wrote): only from a verified connection.
	 */
	if ((v == TRAVERSE_FORWARD || v == TRAVERSE_RECEIVE) && !peer_conn_verified(c)) {
		n->counters[IPC_NC_DROP_TRAVERSE_OTHER]++;
		return;
	}
	switch (v) {
	case TRAVERSE_FORWARD:
		node_trav_forward(n, p, &t, pkt);
		break;
	case TRAVERSE_RECEIVE:
		node_trav_receive(n, &t);
		break;
	case TRAVERSE_DROP_SIGNATURE:
		n->counters[IPC_NC_DROP_TRAVERSE_SIGNATURE]++;
		break;
	case TRAVERSE_DROP_EXPIRED:
		n->counters[IPC_NC_DROP_TRAVERSE_EXPIRED]++;
		break;
	default:
		n->counters[IPC_NC_DROP_TRAVERSE_TARGET]++;
		break;
	}
}

/*
 * The Traverse parameters for a first contact with k at `to` (§8.1): the
 * relay is the node whose answer named k (via, else the newest hint), if we
 * are connected to it; NULL when there is none.
 */
const struct node_trav *
node_trav_for(struct netd *n, const struct kad_contact *k, const struct peer_addr *to,
    const uint8_t *via, struct node_trav *tv)
{
	struct peer *r = via != NULL ? peer_find_node(n->peers, via) : NULL;

	memset(tv, 0, sizeof(*tv));
	if (r != NULL && r->nact > 0)
		memcpy(tv->relay, r->pub, 33);
	else if (traverse_relay_get(&n->node->relays, k->peer_id, node_now(n), tv->relay) != 0 ||
	    (r = peer_find(n->peers, tv->relay)) == NULL || r->nact == 0)
		return NULL;
	tv->port_internal = to->family == AF_INET ? k->port4_int : k->port6_int;
	tv->features = k->features;
	return tv;
}

/*
 * First contact with an identity at an address (§6.6): an Announcement with
 * user agent and the given query, from every socket of the address's
 * family, each with a fresh random sequence tagged with ctx.
 */
int
node_trav_contact_via(struct netd *n, const uint8_t pub[33], const struct peer_addr *to,
    uint8_t actions, const uint8_t *peer_key, const uint8_t *value_key, void *ctx,
    const struct node_trav *tv)
{
	static uint8_t payload[WIRE_PACKET_MAX];
	size_t len;
	uint32_t seq;
	int i, sent = 0;

	if (memcmp(pub, n->id.pub, 33) == 0)
		return -1;
	if (node_send_ann_payload(n, 1, actions, peer_key, value_key, &len) != 0)
		return -1;
	memcpy(payload, node_send_msg, len);
	memcpy(n->node->contacted[n->node->contacted_next++ % NETD_CONTACTED_SLOTS], pub, 33);
	for (i = 0; i < n->nsocks; i++) {
		if (n->socks[i].fd < 0 || n->socks[i].family != to->family ||
		    !peer_net_may_send(&n->socks[i].addr, to))
			continue;
		env_random(&n->env, &seq, sizeof(seq));
		if (seq_new_arbitrary(n->seqs, pub, seq, ctx, node_now(n)) != 0)
			continue;
		if (node_send_on(n, pub, i, NULL, to, WIRE_CMD_ANNOUNCEMENT, seq,
		    payload, len) != 0)
			continue;
		/*
		 * §8.2 step 2: right after the first direct send (which opened
		 * our NAT's mapping towards `to`), the same Announcement goes to
		 * the relay inside a Traverse; one per target address.  When
		 * §8.1 sees no need, a fallback punch sends it if the direct
		 * contact is still unanswered after TRAVERSE_FALLBACK_MS
		 * (port-preserving NATs look like no NAT at all).
		 */
		if (sent++ == 0 && tv != NULL)
			node_trav_start(n, pub, to, i, seq, payload, len, tv->relay,
			    !traverse_needed(to->port, tv->port_internal, tv->features));
	}
	return sent ? 0 : -1;
}

int
node_trav_contact(struct netd *n, const uint8_t pub[33], const struct peer_addr *to,
    uint8_t actions, const uint8_t *peer_key, const uint8_t *value_key, void *ctx)
{
	return node_trav_contact_via(n, pub, to, actions, peer_key, value_key, ctx, NULL);
}

/* A punch to that node failed within the back-off time (for a clear error). */
int
node_trav_punch_failed(struct netd *n, const uint8_t node_id[32])
{
	uint8_t id[32];
	unsigned i;

	for (i = 0; i < TRAVERSE_PUNCH_SLOTS; i++) {
		const struct traverse_punch *e = &n->node->punches.e[i];

		if (e->started != 0 || node_now(n) >= e->failed_until)
			continue;
		ident_node_id(e->target, id);
		if (memcmp(id, node_id, 32) == 0)
			return 1;
	}
	return 0;
}
