/*
 * node_send.c — every packet the node sends (docs/protocol.md §2, §3.1,
 * §5.8): headers and payloads of Announcements, encoding with the nonce
 * and padding from n->env, the self-reported ports, the reflection budget
 * of unverified connections (§13.2), and the hand-over to secure_link.c;
 * also the requests the node repeats to storaged until it answers.
 * The lowest of the node_*.c files: it calls none of them.
 */
#include <sys/socket.h>

#include <string.h>

#include "log.h"
#include "node_int.h"
#include "secure_link.h"
#include "wire_secure.h"

uint8_t node_send_plain[WIRE_PACKET_MAX];
static uint8_t node_send_pkt[WIRE_PACKET_MAX + 128];
uint8_t node_send_msg[WIRE_PACKET_MAX];

static uint8_t
node_send_features(struct netd *n)
{
	uint8_t f = 0;
	int i;

	for (i = 0; i < n->nsocks; i++) {
		/* fd -1: a slot netlink.c closed when its address went away. */
		if (n->socks[i].fd < 0 || peer_addr_is_link_local(&n->socks[i].addr))
			continue;
		f |= n->socks[i].family == AF_INET ? WIRE_FEATURE_IPV4_LISTEN :
		    WIRE_FEATURE_IPV6_LISTEN;
	}
	if (n->d->conf.firewall)
		f |= WIRE_FEATURE_FIREWALL;
	return f;
}

void
node_send_hdr(struct netd *n, struct wire_msg_hdr *h, int with_ua)
{
	memset(h, 0, sizeof(*h));
	h->features = node_send_features(n);
	h->blockchain_height = n->chain_height;
	h->blockchain_version = n->chain_version;
	if (with_ua)
		wire_msg_hdr_set_ua(h, n->d->conf.user_agent);
}

/*
 * Reflection (docs/protocol.md §13.2): a connection that has not completed
 * a round trip with us (no Response or Pong to one of our sequences, so
 * rtt_ms == 0) may be a spoofed source.  What we send to it, counting
 * every packet over time (answers, pings, retransmissions), never exceeds
 * what came from it: each packet is charged to its budget and withheld
 * (tx_unverified_withheld) when it would not fit.  Such packets carry no
 * padding (garbage length 0 is valid, §2.4) so that their size is exact.
 */
int
node_send_budget_fits(const struct peer_conn *c, size_t len)
{
	return peer_conn_verified(c) || c->unverified_out + len <= c->unverified_in;
}

/*
 * Encrypts payload to `to` and sends it from socket `sock`.  Announcements
 * and Responses get the self-reported ports of that socket patched in
 * (§3.1): internal = its bound port, external = the port portmap.c
 * mapped for it, else port_forward, else 0.  bc: the connection whose
 * reflection budget pays for it (NULL: our own first contact, bounded by
 * its callers); garbage: exact padding length, or -1 for the random one
 * (an unverified bc always gets the exact length, 0 unless given).
 * Returns 0, -1 on a failure, NODE_WITHHELD over the budget.
 */
/*
 * One packet encoded with the nonce and padding drawn from n->env (the
 * simulation replays them from its seed); garbage: the padding length, or
 * -1 for a random one as wire_packet_encode draws it.
 */
int
node_send_encode(struct netd *n, uint8_t *out, size_t cap, size_t *out_len,
    const uint8_t to[33], uint8_t cmd, uint32_t seq, const uint8_t *payload,
    size_t len, int garbage)
{
	uint8_t rnd[4 + WIRE_GARBAGE_MAX];
	size_t gmax;

	if (garbage < 0) {
		gmax = wire_packet_garbage_max(WIRE_PACKET_MIN + len);
		garbage = gmax > 0 ? (int)(env_random32(&n->env) % gmax) : 0;
	}
	env_random(&n->env, rnd, sizeof(rnd));
	return wire_packet_encode_ex(out, cap, out_len, &n->id, to, cmd, seq,
	    payload, len, rnd, rnd + 4, (size_t)garbage);
}

static int
node_send_on_ex(struct netd *n, const uint8_t to[33], int sock,
    const struct peer_addr *local, const struct peer_addr *remote,
    struct peer_conn *bc, int garbage, uint8_t cmd, uint32_t seq,
    const uint8_t *payload, size_t len)
{
	size_t out;
	int rc;

	if (sock < 0 || sock >= n->nsocks)
		return -1;
	if (len > 0)
		memcpy(node_send_msg, payload, len);
	/*
	 * Our secure-transport offer rides after the last section
	 * (secure_link.h): on a proven connection; within the budget of an
	 * unverified one; and not in our own first contact to an address we
	 * have no proven connection with (bc NULL): such addresses are often
	 * named by third parties, and the offer would make our first contacts
	 * larger than the answers that named them (hostile.sh).  A peer that
	 * shows bit 4 once its connection is proven gets the offer from
	 * node_chain_offer_tick.
	 */
	if (cmd == WIRE_CMD_ANNOUNCEMENT || cmd == WIRE_CMD_RESPONSE)
		len = slink_ext_append(n, to, cmd, node_send_msg, len, sizeof(node_send_msg),
		    bc == NULL ? (peer_has_verified(peer_find(n->peers, to)) ? SIZE_MAX : 0) :
		    peer_conn_verified(bc) ? SIZE_MAX :
		    node_send_budget_fits(bc, WIRE_PACKET_MIN + len + WIRE_SECURE_EXT_SIZE) ?
		    WIRE_SECURE_EXT_SIZE : 0);
	if (cmd == WIRE_CMD_ANNOUNCEMENT || cmd == WIRE_CMD_RESPONSE)
		wire_msg_set_ports(node_send_msg, len, n->socks[sock].port,
		    n->socks[sock].port_external ? n->socks[sock].port_external :
		    n->d->conf.port_forward);
	if (bc != NULL && !peer_conn_verified(bc) && garbage < 0)
		garbage = 0;
	if (garbage > WIRE_GARBAGE_MAX)
		garbage = WIRE_GARBAGE_MAX;
	rc = node_send_encode(n, node_send_pkt, sizeof(node_send_pkt), &out, to, cmd, seq,
	    node_send_msg, len, garbage);
	if (rc != 0) {
		log_warnx("encode command %u: %s", cmd, wire_packet_strerror(rc));
		return -1;
	}
	if (bc != NULL && !peer_conn_verified(bc)) {
		if (!node_send_budget_fits(bc, out)) {
			n->counters[IPC_NC_TX_UNVERIFIED_WITHHELD]++;
			return NODE_WITHHELD;
		}
		bc->unverified_out += out;
	}
	/*
	 * Inside the session when one with that peer is up (secure_link.h);
	 * never to an unverified source: its budget counted the bytes above.
	 */
	return slink_send(n, to, bc == NULL || peer_conn_verified(bc), sock, local,
	    remote, node_send_pkt, out);
}

int
node_send_on(struct netd *n, const uint8_t to[33], int sock,
    const struct peer_addr *local, const struct peer_addr *remote, uint8_t cmd,
    uint32_t seq, const uint8_t *payload, size_t len)
{
	return node_send_on_ex(n, to, sock, local, remote, NULL, -1, cmd, seq,
	    payload, len);
}

/*
 * To a known peer, on the connections §5.8 picks, within their budgets;
 * when none of those may be sent to (a new, unverified latest connection:
 * one spoofed packet would otherwise redirect our traffic), on the
 * peer's verified active connections instead.
 */
int
node_send_peer(struct netd *n, struct peer *p, uint8_t cmd, uint32_t seq,
    const uint8_t *payload, size_t len)
{
	struct peer_conn *targets[PEER_MAX_CONNS];
	size_t k, i;
	int sent = 0, withheld = 0, rc;

	if (peer_send_targets(p, NULL, targets, &k) != 0)
		return -1;
	for (i = 0; i < k; i++) {
		rc = node_send_on_ex(n, p->pub, targets[i]->sock, &targets[i]->local,
		    &targets[i]->remote, targets[i], -1, cmd, seq, payload, len);
		if (rc == 0) {
			peer_conn_sent(p, targets[i], node_now(n));
			sent++;
		} else if (rc == NODE_WITHHELD)
			withheld++;
		else
			peer_conn_send_failed(p, targets[i], 0, node_now(n));
	}
	if (sent == 0 && withheld > 0 &&
	    peer_send_targets_verified(p, targets, &k) == 0)
		for (i = 0; i < k; i++)
			if (node_send_on(n, p->pub, targets[i]->sock, &targets[i]->local,
			    &targets[i]->remote, cmd, seq, payload, len) == 0) {
				peer_conn_sent(p, targets[i], node_now(n));
				sent++;
			}
	return sent ? 0 : -1;
}

/* On connection c, within its budget (NODE_WITHHELD when over it). */
int
node_send_conn_ex(struct netd *n, struct peer *p, struct peer_conn *c, int garbage,
    uint8_t cmd, uint32_t seq, const uint8_t *payload, size_t len)
{
	int rc;

	rc = node_send_on_ex(n, p->pub, c->sock, &c->local, &c->remote, c, garbage,
	    cmd, seq, payload, len);
	if (rc == NODE_WITHHELD)
		return rc;
	if (rc != 0) {
		peer_conn_send_failed(p, c, 0, node_now(n));
		return -1;
	}
	peer_conn_sent(p, c, node_now(n));
	return 0;
}

int
node_send_conn(struct netd *n, struct peer *p, struct peer_conn *c, uint8_t cmd,
    uint32_t seq, const uint8_t *payload, size_t len)
{
	return node_send_conn_ex(n, p, c, -1, cmd, seq, payload, len);
}

int
node_send_ann_payload(struct netd *n, int with_ua, uint8_t actions,
    const uint8_t *peer_key, const uint8_t *value_key, size_t *len)
{
	struct wire_announce a;

	memset(&a, 0, sizeof(a));
	node_send_hdr(n, &a.hdr, with_ua);
	a.hdr.actions = actions;
	if (peer_key != NULL) {
		a.find_peer = peer_key;
		a.n_find_peer = 1;
	}
	if (value_key != NULL) {
		a.find_value = value_key;
		a.n_find_value = 1;
	}
	return wire_announce_encode(node_send_msg, sizeof(node_send_msg), len, &a);
}

/*
 * An empty request of `type` to storaged, at most one per 2 s (*asked: when
 * the last went), its answer to cb(n, ...): what the node asks until
 * storaged has answered (the own chain, the remembered peers).
 */
void
node_send_store_ask(struct netd *n, uint16_t type, uint64_t *asked, uint64_t now,
    void (*cb)(void *, const uint8_t *, size_t, const char *))
{
	uint8_t buf[IPC_HDR_LEN];

	if (now - *asked < 2000)
		return;
	*asked = now;
	ipc_empty_encode(buf, sizeof(buf), type, IPC_OK);
	n->env.store_send(n->env.ctx, buf, sizeof(buf), 2000, cb, n, 0);
}
