/*
 * node_answer.c — answering an Announcement (docs/protocol.md §3.2): the
 * Response with the closest peers and stored values, within the
 * reflection budget of an unverified source; requests that do not fit it
 * are held until the source answers a cookie (§13.2), then processed.
 */
#include <string.h>

#include "node_int.h"
#include "secure_link.h"

#define NETD_MAX_KEYS		64	/* FIND_PEER/VALUE keys answered per Announcement */
/* --- answering an Announcement (§3.2) ----------------------------------- */

/*
 * The Response payload (into node_send_msg, *out_len) to Announcement a from
 * the node `requester`: allow_local says whether it talks to us from a local
 * address; budget bounds what beyond FIND_SELF is answered.
 */
int
node_answer_payload(struct netd *n, const uint8_t requester[32], int allow_local,
    size_t budget, const struct wire_announce *a, size_t *out_len)
{
	size_t cost;
	static struct wire_peer_record recs[NETD_MAX_KEYS + 1][KAD_ANSWER_COUNT];
	static struct wire_h2p_in h2p[NETD_MAX_KEYS + 1];
	static uint8_t notfound[(2 * NETD_MAX_KEYS + 1) * 32];
	static struct wire_embedded_file files[NETD_MAX_KEYS];
	static uint8_t keys[NETD_MAX_KEYS + 1][32];
	struct kad_contact close[KAD_ANSWER_COUNT];
	struct node_kad_filter f;
	struct wire_response_in r;
	size_t nh = 0, nnf = 0, nf = 0, len, i, nk;
	const uint8_t *data;
	size_t dlen;
	int k, m, j;

	f.n = n;
	f.allow_local = allow_local;
	f.v4 = (a->hdr.features & WIRE_FEATURE_IPV4_LISTEN) != 0;
	f.v6 = (a->hdr.features & WIRE_FEATURE_IPV6_LISTEN) != 0;

	/* FIND_SELF is FIND_PEER for the sender's own ID; then the listed keys. */
	nk = 0;
	cost = WIRE_PACKET_MIN + 30 + 20 + (a->hdr.ua_len ? strlen(n->d->conf.user_agent) : 0);
	if (a->hdr.actions & WIRE_ACTION_FIND_SELF)
		memcpy(keys[nk++], requester, 32);
	for (i = 0; i < a->n_find_peer && nk < NETD_MAX_KEYS + 1; i++)
		memcpy(keys[nk++], a->find_peer + 32 * i, 32);
	for (i = 0; i < nk; i++) {
		k = kad_closest(n->kad, keys[i], KAD_ANSWER_COUNT, node_kad_connectable, &f,
		    requester, close);
		/* FIND_SELF (key 0 when set) is always answered; the rest within budget. */
		if (!(i == 0 && (a->hdr.actions & WIRE_ACTION_FIND_SELF))) {
			if (cost + 34 + 70 * (size_t)k > budget)
				continue;
		}
		cost += 34 + 70 * (size_t)k;
		for (j = 0, m = 0; j < k; j++) {
			struct peer *q = peer_find_node(n->peers, close[j].id);

			if (q != NULL && peer_to_record(q, f.allow_local, f.v4, f.v6,
			    &recs[nh][m]) == 0) {
				recs[nh][m].reason = WIRE_REASON_CLOSE;
				m++;
			}
		}
		if (m == 0) {
			memcpy(notfound + 32 * nnf++, keys[i], 32);
			continue;
		}
		h2p[nh].key = keys[i];
		h2p[nh].records = recs[nh];
		h2p[nh].n_records = (size_t)m;
		h2p[nh].more_follow = 0;
		nh++;
	}
	/* FIND_VALUE: embedded data from the value store, else not found. */
	for (i = 0; i < a->n_find_value && i < NETD_MAX_KEYS; i++) {
		const uint8_t *key = a->find_value + 32 * i;

		if (cost + 34 > budget)
			break;
		if (kad_value_get(n->kad, key, &data, &dlen) == 0 &&
		    dlen <= KAD_VALUE_EMBED_MAX && cost + 34 + dlen <= budget) {
			cost += 34 + dlen;
			files[nf].hash = key;
			files[nf].data = data;
			files[nf].len = dlen;
			nf++;
		} else {
			cost += 32;
			memcpy(notfound + 32 * nnf++, key, 32);
		}
	}
	memset(&r, 0, sizeof(r));
	node_send_hdr(n, &r.hdr, a->hdr.ua_len > 0);
	r.hdr.actions = WIRE_ACTION_SEQUENCE_LAST;
	r.h2p = h2p;
	r.n_h2p = nh;
	r.files = files;
	r.n_files = nf;
	r.notfound = notfound;
	r.n_notfound = nnf;
	if (wire_response_encode(node_send_msg, sizeof(node_send_msg), &len, &r) != 0) {
		/* Too big for one packet: answer what fits (realistic answers never split). */
		r.n_files = 0;
		if (wire_response_encode(node_send_msg, sizeof(node_send_msg), &len, &r) != 0)
			return -1;
	}
	*out_len = len;
	return 0;
}

/*
 * Answers Announcement a on c.  An unverified c gets the whole answer only
 * if it fits its budget: NODE_WITHHELD otherwise (nothing sent; the
 * caller holds the request until c is verified).
 */
static int
node_answer(struct netd *n, struct peer *p, struct peer_conn *c, uint32_t seq,
    const struct wire_announce *a)
{
	size_t len;

	if (node_answer_payload(n, p->node_id, peer_addr_is_local(&c->remote) ||
	    peer_addr_is_loopback(&c->remote), SIZE_MAX, a, &len) != 0)
		return -1;
	/* With our secure-transport offer (secure_link.h) when it goes along. */
	if (!node_send_budget_fits(c, WIRE_PACKET_MIN + len +
	    slink_ext_len(n, p->pub, WIRE_CMD_RESPONSE)))
		return NODE_WITHHELD;
	memcpy(node_send_plain, node_send_msg, len);
	return node_send_conn(n, p, c, WIRE_CMD_RESPONSE, seq, node_send_plain, len);
}

/* --- requests held until their source is verified ------------------------ */

/* Get Block and Transfer: up to the transfer engine, if there is one (netd.h). */
void
node_answer_xfer(struct netd *n, struct peer *p, struct peer_conn *c,
    const struct wire_packet *pkt)
{
	if (n->xfer_hooks != NULL)
		n->xfer_hooks->packet(n, p, c, pkt);
	else
		n->counters[IPC_NC_DROP_UNKNOWN_CMD]++;
}

/*
 * A request from an unverified connection whose answer would exceed its
 * budget (an Announcement asking for records, a transfer or block
 * REQUEST_START, which would make us dial UDT and retransmit for seconds)
 * is held here, and a cookie goes to the source: a bare Announcement (or
 * a Ping when that does not fit) under a fresh sequence.  A real peer
 * answers it (Response / Pong, §3.2, §3.5) within a round trip; the
 * connection is then verified and the held requests are processed as if
 * they had just arrived.  A spoofed source never answers: its requests
 * expire after NETD_HELD_MS.  A fixed table; the oldest entry makes room.
 */
#define NETD_HELD_PER_PEER	4
#define NETD_HELD_MS		5000
#define NETD_COOKIE_MS		1000	/* one cookie in flight per connection */
/*
 * The cookie Announcement is padded by the 6 bytes a Response is longer
 * than an Announcement (30 vs 24 bytes of payload without user agent), so
 * that the minimal Response a peer owes it fits that peer's own budget
 * for us when we are unverified to it as well (both sides new).
 */
#define NETD_COOKIE_PAD		6

static uint8_t node_answer_held_buf[NETD_HELD_MAX];

/* A cookie to c: 0 if one is (or was just) on its way. */
static int
node_answer_cookie(struct netd *n, struct peer *p, struct peer_conn *c)
{
	uint64_t now = node_now(n);
	uint32_t seq;
	size_t len;
	int rc;

	if (peer_conn_verified(c) ||
	    (c->last_ping_out != 0 && now - c->last_ping_out < NETD_COOKIE_MS))
		return 0;
	if (node_send_ann_payload(n, 0, 0, NULL, NULL, &len) != 0 ||
	    seq_new(n->seqs, p->pub, &p->seq_counter, CTX(NETD_CTX_KEEPALIVE, 0),
	    now, &seq) != 0)
		return -1;
	memcpy(node_send_plain, node_send_msg, len);
	rc = node_send_conn_ex(n, p, c, NETD_COOKIE_PAD, WIRE_CMD_ANNOUNCEMENT, seq,
	    node_send_plain, len);
	if (rc == NODE_WITHHELD)
		rc = node_send_conn(n, p, c, WIRE_CMD_PING, seq, NULL, 0);
	if (rc == 0)
		c->last_ping_out = now;
	return rc;
}

/* For xfer*.c and node_answer_announcement: hold pkt from unverified c, send a cookie. */
int
node_answer_hold(struct netd *n, struct peer *p, struct peer_conn *c,
    const struct wire_packet *pkt)
{
	struct node_held *e, *oldest = &n->node->held[0];
	uint64_t now = node_now(n);
	int i, same = 0;

	if (pkt->payload_len > NETD_HELD_MAX)
		return -1;
	for (i = 0; i < NETD_HELD_SLOTS; i++) {
		e = &n->node->held[i];
		if (e->when != 0 && now - e->when >= NETD_HELD_MS)
			e->when = 0;
		if (e->when != 0 && memcmp(e->pub, p->pub, 33) == 0)
			same++;
		if (e->when < oldest->when)
			oldest = e;
	}
	if (same >= NETD_HELD_PER_PEER)
		return -1;
	e = oldest;
	memcpy(e->pub, p->pub, 33);
	e->remote = c->remote;
	e->cmd = pkt->command;
	e->seq = pkt->sequence;
	e->len = (uint16_t)pkt->payload_len;
	memcpy(e->payload, pkt->payload, pkt->payload_len);
	e->when = now;
	n->counters[IPC_NC_HELD_UNVERIFIED]++;
	node_answer_cookie(n, p, c);
	return 0;
}

/* c was just verified: its held requests are processed now. */
void
node_answer_release(struct netd *n, struct peer *p, struct peer_conn *c)
{
	struct wire_packet pkt;
	int i;

	for (i = 0; i < NETD_HELD_SLOTS; i++) {
		struct node_held *e = &n->node->held[i];

		if (e->when == 0 || node_now(n) - e->when >= NETD_HELD_MS ||
		    memcmp(e->pub, p->pub, 33) != 0 ||
		    !peer_addr_ip_equal(&e->remote, &c->remote))
			continue;
		memset(&pkt, 0, sizeof(pkt));
		memcpy(node_answer_held_buf, e->payload, e->len);
		pkt.command = e->cmd;
		pkt.sequence = e->seq;
		pkt.payload = node_answer_held_buf;
		pkt.payload_len = e->len;
		memcpy(pkt.sender, p->pub, 33);
		e->when = 0;
		if (pkt.command == WIRE_CMD_ANNOUNCEMENT)
			node_answer_announcement(n, p, c, &pkt);
		else
			node_answer_xfer(n, p, c, &pkt);
	}
}

/* An Announcement just arrived or held until now (node_answer_release). */
void
node_answer_announcement(struct netd *n, struct peer *p, struct peer_conn *c,
    const struct wire_packet *pkt)
{
	struct wire_announce a;
	int rc;

	if (wire_announce_decode(pkt->payload, pkt->payload_len, &a) != 0) {
		n->counters[IPC_NC_DROP_MESSAGE]++;
		return;
	}
	peer_conn_set_ports(c, a.hdr.port_internal, a.hdr.port_external,
	    (a.hdr.features & WIRE_FEATURE_FIREWALL) != 0);
	slink_ext_in(n, p, pkt->payload, pkt->payload_len, &a, 0);
	node_kad_offer(n, p);
	rc = node_answer(n, p, c, pkt->sequence, &a);
	if (rc == NODE_WITHHELD) {
		/* Held until the source answers our cookie (node_answer_release). */
		if (node_answer_hold(n, p, c, pkt) != 0)
			n->counters[IPC_NC_TX_UNVERIFIED_WITHHELD]++;
	} else if (!peer_conn_verified(c) && c->last_ping_out == 0) {
		/*
		 * One Ping (within the budget) proves the address is the peer's
		 * own: its Pong makes the peer usable for our lookups.
		 */
		uint32_t seq;

		if (seq_new(n->seqs, p->pub, &p->seq_counter, CTX(NETD_CTX_PING, 0),
		    node_now(n), &seq) == 0 &&
		    node_send_conn(n, p, c, WIRE_CMD_PING, seq, NULL, 0) == 0)
			c->last_ping_out = node_now(n);
	}
	/*
	 * The chain news goes to storaged's cache (which may fetch blocks)
	 * only from a verified connection: a flood of new identities claiming
	 * chains would queue requests to storaged.  Unverified peers report
	 * it again in their Responses to our keep-alives.
	 */
	if (peer_set_info(p, &a.hdr, node_now(n)) == 1 && peer_conn_verified(c))
		node_chain_seen(n, p);
}
