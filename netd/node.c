/*
 * node.c — the Peernet node: every packet in, Response / Ping / Pong
 * handling (docs/protocol.md §3, §4, §5), Local Discovery answers, root-peer
 * bootstrap (§6.6), the timers, the links to storaged, and the glue that
 * lets the pure Kademlia module (kad.c) send its FIND_* queries as
 * Announcements (§7.4).  The peer list (peer.c) and the sequence table
 * (seq.c) hold the state; this file only decides.  Below it, one concern
 * each (node_int.h holds what they share): node_known.c (peers remembered
 * across restarts) > node_trav.c (first contact, Traverse) > node_answer.c
 * (answering an Announcement, held requests) > node_chain.c (chains) >
 * node_kad.c (peers as Kademlia contacts), node_send.c (sending).
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "log.h"
#include "netd.h"
#include "node_int.h"
#include "secure_link.h"
#include "traverse.h"
#include "version.h"
#include "wire_msg.h"
#include "wire_secure.h"

#define NETD_BOOT_RECORDS	5	/* peers taken from one bootstrap answer */
/*
 * A first-contact Announcement (header, UA, signature, padding) is at most
 * this long; a bootstrap answer of L bytes may trigger L / this contacts, so
 * that nobody can make us send more to third parties than they sent us.
 */
#define NETD_CONTACT_BYTES	(WIRE_PACKET_MIN + 24 + WIRE_UA_MAX / 8 + 20)
#define NETD_RECENT_MS		(5 * 60 * 1000)
#define NETD_DISCOVERY_ANSWER_MS 9000	/* under the 10 s discovery period (§6.3) */

/* --- receiving --------------------------------------------------------- */

static void
node_on_announcement(struct netd *n, struct peer *p, struct peer_conn *c,
    const struct wire_packet *pkt)
{
	n->counters[IPC_NC_RX_ANNOUNCE]++;
	node_answer_announcement(n, p, c, pkt);
}

/*
 * The recent-contact rule of §6.6: a peer reported again, or an address
 * already contacted, within 5 minutes is not contacted again.  A fixed ring;
 * an entry pushed out early only means one contact more.
 */

static int
node_recently_contacted_within(struct netd *n, const uint8_t pub[33],
    const struct peer_addr *a,
    uint64_t now, uint64_t window)
{
	int i;

	for (i = 0; i < NETD_RECENT_SLOTS; i++) {
		const struct node_recent *e = &n->node->recent[i];

		if (e->when == 0 || now - e->when > window)
			continue;
		if (memcmp(e->pub, pub, 33) == 0 ||
		    (peer_addr_ip_equal(&e->addr, a) && e->addr.port == a->port))
			return 1;
	}
	return 0;
}

static int
node_recently_contacted(struct netd *n, const uint8_t pub[33], const struct peer_addr *a,
    uint64_t now)
{
	return node_recently_contacted_within(n, pub, a, now, NETD_RECENT_MS);
}

static void
node_recent_add(struct netd *n, const uint8_t pub[33], const struct peer_addr *a, uint64_t now)
{
	struct node_recent *e = &n->node->recent[n->node->recent_next++ % NETD_RECENT_SLOTS];

	memcpy(e->pub, pub, 33);
	e->addr = *a;
	e->when = now;
}

/*
 * A Local Discovery packet from `sender` at `from` (lan.c opened it with
 * the discovery key, §3.6): answer with a unicast first-contact
 * Announcement (FIND_SELF, tagged bootstrap), whose Response completes the
 * mutual discovery.  A peer we already have an active connection with at
 * that address gets nothing (it is discovered), and one address is
 * answered at most once per discovery period: a forged broadcast flood
 * cannot make us send more than one packet per sender address and period.
 */
int
node_discovery_in(struct netd *n, const uint8_t sender[33], const struct peer_addr *from)
{
	struct peer *p = peer_find(n->peers, sender);
	uint64_t now = node_now(n);
	int i;

	if (memcmp(sender, n->id.pub, 33) == 0)
		return -1;
	if (p != NULL)
		for (i = 0; i < p->nact; i++) {
			const struct peer_conn *c = &p->conns[p->act[i]];

			if (peer_addr_ip_equal(&c->remote, from) &&
			    c->remote.port == from->port)
				return 0;
		}
	if (node_recently_contacted_within(n, sender, from, now, NETD_DISCOVERY_ANSWER_MS))
		return 0;
	node_recent_add(n, sender, from, now);
	return node_trav_contact(n, sender, from, WIRE_ACTION_FIND_SELF, NULL, NULL,
	    CTX(NETD_CTX_BOOT, 0));
}

/* For lan.c: the Local Discovery payload (§3.6), ports 0, into out. */
int
node_discovery_payload(struct netd *n, uint8_t *out, size_t cap, size_t *len)
{
	if (node_send_ann_payload(n, 1, WIRE_ACTION_FIND_SELF, NULL, NULL, len) != 0 ||
	    *len > cap)
		return -1;
	memcpy(out, node_send_msg, *len);
	return 0;
}

/*
 * A bootstrap answer (§6.6): contact up to 5 of the peers close to us, but
 * no more than the answer's own size pays for (no amplification towards the
 * addresses it names), and never the same peer or address twice in 5 min.
 */
static void
node_boot_reply(struct netd *n, const uint8_t relay[33], const struct wire_response *r,
    size_t answer_len)
{
	int budget = (int)(answer_len / NETD_CONTACT_BYTES);
	struct wire_response_iter it;
	struct wire_h2p_view v;
	struct wire_peer_record rec;
	struct kad_contact k;
	struct peer_addr to;
	uint16_t i;
	int taken = 0;

	wire_response_h2p_begin(r, &it);
	while (wire_response_h2p_next(&it, &v) == 1) {
		if (memcmp(v.key, n->id.node_id, 32) != 0)
			return;
		for (i = 0; i < v.n_records && taken < NETD_BOOT_RECORDS &&
		    taken < budget; i++) {
			if (wire_peer_record_decode(v.records + 70 * i, &rec) != 0 ||
			    peer_record_bad_quality(&rec, n->id.pub) ||
			    peer_find(n->peers, rec.peer_id) != NULL)
				continue;
			/* No Traverse on this path (§6.6), but a later lookup may use R. */
			traverse_relay_note(&n->node->relays, rec.peer_id, relay, node_now(n));
			node_kad_record_contact(&rec, &k);
			if (node_kad_contact_addr(&k, &to) != 0 ||
			    node_recently_contacted(n, rec.peer_id, &to, node_now(n)))
				continue;
			node_recent_add(n, rec.peer_id, &to, node_now(n));
			node_trav_contact(n, rec.peer_id, &to, WIRE_ACTION_FIND_SELF, NULL, NULL,
			    CTX(NETD_CTX_BOOT, 0));
			taken++;
		}
	}
}

/* A Kademlia answer: its records and data go to the lookup. */
static void
node_lookup_reply(struct netd *n, struct peer *p, uint32_t lookup_id,
    const struct wire_response *r)
{
	static struct kad_contact closest[KAD_LOOKUP_CANDIDATES];
	static struct kad_contact storing[KAD_LOOKUP_CANDIDATES];
	struct wire_response_iter it;
	struct wire_h2p_view v;
	struct wire_embedded_file ef;
	struct wire_peer_record rec;
	struct kad_reply kr;
	int nc = 0, ns = 0;
	uint16_t i;

	memset(&kr, 0, sizeof(kr));
	wire_response_h2p_begin(r, &it);
	while (wire_response_h2p_next(&it, &v) == 1) {
		for (i = 0; i < v.n_records; i++) {
			if (wire_peer_record_decode(v.records + 70 * i, &rec) != 0 ||
			    peer_record_bad_quality(&rec, n->id.pub))
				continue;
			/* p named this peer: p may relay our first contact to it (§8.1). */
			traverse_relay_note(&n->node->relays, rec.peer_id, p->pub, node_now(n));
			if (rec.reason == WIRE_REASON_STORE && ns < KAD_LOOKUP_CANDIDATES)
				node_kad_record_contact(&rec, &storing[ns++]);
			else if (nc < KAD_LOOKUP_CANDIDATES)
				node_kad_record_contact(&rec, &closest[nc++]);
		}
	}
	wire_response_file_begin(r, &it);
	if (wire_response_file_next(&it, &ef) == 1) {
		kr.value = ef.data;
		kr.value_len = ef.len;
	}
	kr.closest = closest;
	kr.n_closest = nc;
	kr.storing = storing;
	kr.n_storing = ns;
	kad_lookup_on_reply(n->kad, lookup_id, p->node_id, &kr);
}

static void
node_on_response(struct netd *n, struct peer *p, struct peer_conn *c,
    const struct wire_packet *pkt)
{
	struct wire_response r;
	struct seq_match m;
	int was;

	n->counters[IPC_NC_RX_RESPONSE]++;
	if (wire_response_decode(pkt->payload, pkt->payload_len, &r) != 0) {
		n->counters[IPC_NC_DROP_MESSAGE]++;
		return;
	}
	/* Only an answer to something we asked this very identity (§4). */
	if (seq_match(n->seqs, p->pub, pkt->sequence,
	    (r.hdr.actions & WIRE_ACTION_SEQUENCE_LAST) != 0, node_now(n), &m) != 0) {
		n->counters[IPC_NC_DROP_UNSOLICITED]++;
		return;
	}
	peer_conn_set_ports(c, r.hdr.port_internal, r.hdr.port_external,
	    (r.hdr.features & WIRE_FEATURE_FIREWALL) != 0);
	slink_ext_in(n, p, pkt->payload, pkt->payload_len, &r, 1);
	was = peer_conn_verified(c);
	/* Also when this answer verifies c: its news was not passed on before. */
	if (peer_set_info(p, &r.hdr, node_now(n)) == 1 || !was)
		node_chain_seen(n, p);
	if (m.first)
		peer_conn_set_rtt(c, m.rtt_ms ? m.rtt_ms : 1);
	node_kad_offer(n, p);
	switch (CTX_KIND(m.ctx)) {
	case NETD_CTX_BOOT:
		node_boot_reply(n, p->pub, &r, pkt->payload_len + WIRE_PACKET_MIN);
		break;
	case NETD_CTX_LOOKUP:
		node_lookup_reply(n, p, CTX_ARG(m.ctx), &r);
		break;
	default:
		break;
	}
	/* After r is used: the held requests reuse the packet buffers. */
	if (!was && peer_conn_verified(c))
		node_answer_release(n, p, c);
}

static void
node_on_ping(struct netd *n, struct peer *p, struct peer_conn *c,
    const struct wire_packet *pkt)
{
	size_t len;
	uint32_t seq;

	n->counters[IPC_NC_RX_PING]++;
	if (peer_conn_ping_reply(c)) {
		node_send_conn(n, p, c, WIRE_CMD_PONG, pkt->sequence, NULL, 0);
		return;
	}
	/*
	 * Ports still unknown on this connection: ask with an Announcement
	 * (§3.5); an unverified source whose Ping does not pay for one gets
	 * the Pong (as large as its Ping), which also lets it verify us.
	 */
	if (node_send_ann_payload(n, 1, 0, NULL, NULL, &len) != 0 ||
	    seq_new(n->seqs, p->pub, &p->seq_counter, CTX(NETD_CTX_KEEPALIVE, 0),
	    node_now(n), &seq) != 0)
		return;
	memcpy(node_send_plain, node_send_msg, len);
	if (node_send_conn(n, p, c, WIRE_CMD_ANNOUNCEMENT, seq, node_send_plain, len) ==
	    NODE_WITHHELD) {
		seq_remove(n->seqs, p->pub, seq);
		node_send_conn(n, p, c, WIRE_CMD_PONG, pkt->sequence, NULL, 0);
	}
}

static void
node_on_pong(struct netd *n, struct peer *p, struct peer_conn *c,
    const struct wire_packet *pkt)
{
	struct seq_match m;

	n->counters[IPC_NC_RX_PONG]++;
	if (seq_match(n->seqs, p->pub, pkt->sequence, 1, node_now(n), &m) != 0) {
		n->counters[IPC_NC_DROP_UNSOLICITED]++;
		return;
	}
	if (m.first && !peer_conn_verified(c)) {
		peer_conn_set_rtt(c, m.rtt_ms ? m.rtt_ms : 1);
		node_answer_release(n, p, c);
	} else if (m.first)
		peer_conn_set_rtt(c, m.rtt_ms ? m.rtt_ms : 1);
	if (CTX_KIND(m.ctx) == NETD_CTX_CTLPING && n->ctl_hooks != NULL)
		n->ctl_hooks->ping_answered(n, CTX_ARG(m.ctx), pkt->sequence,
		    m.rtt_ms ? m.rtt_ms : 1, &c->remote);
}

static int
node_addr_public(const struct peer_addr *a)
{
	return !peer_addr_is_local(a) && !peer_addr_is_loopback(a) &&
	    !peer_addr_is_link_local(a) && !peer_addr_is_unspecified(a);
}

/*
 * A new peer's first packet is an Announcement (a first contact): if we
 * never contacted that identity ourselves, it reached us unsolicited, so
 * the local address it arrived on is reachable from wherever it came from.
 */
static void
node_nat_unsolicited(struct netd *n, int sock, const struct peer_addr *local,
    const struct peer_addr *remote, const uint8_t sender[33])
{
	struct peer_addr at = *local;
	int i;

	if (peer_addr_is_unspecified(&at) && sock >= 0 && sock < n->nsocks)
		at = n->socks[sock].addr;
	if (!node_addr_public(&at) || !node_addr_public(remote))
		return;
	for (i = 0; i < NETD_CONTACTED_SLOTS; i++)
		if (memcmp(n->node->contacted[i], sender, 33) == 0)
			return;
	if (sock >= 0 && sock < n->nsocks)
		at.port = n->socks[sock].port;
	n->node->unsolicited_at = node_now(n);
	n->node->unsolicited_local = at;
}

static void
node_packet_in(struct netd *n, int sock, const struct peer_addr *local,
    const struct peer_addr *remote, const uint8_t *raw, size_t len)
{
	struct wire_packet pkt;
	struct peer *p;
	struct peer_conn *c;
	unsigned events = 0;
	int rc;

	n->counters[IPC_NC_RX_DATAGRAMS]++;
	/* Lite packets are recognised by a registered transfer ID, before the size check (§2.6). */
	if (len >= 18 && n->xfer_hooks != NULL && n->xfer_hooks->lite_in(n, raw, len)) {
		n->counters[IPC_NC_RX_LITE]++;
		return;
	}
	/* Secure handshake and session datagrams, by their receiver ID (secure_link.h). */
	if (slink_in(n, sock, local, remote, raw, len))
		return;
	if (len < WIRE_PACKET_MIN) {
		n->counters[IPC_NC_DROP_SHORT]++;
		return;
	}
	rc = wire_packet_decode(raw, len, n->id.pub, node_send_plain, sizeof(node_send_plain), &pkt);
	if (rc != 0) {
		n->counters[rc == WIRE_PACKET_ERR_SELF ? IPC_NC_DROP_SELF :
		    rc == WIRE_PACKET_ERR_PROTOCOL ? IPC_NC_DROP_PROTOCOL :
		    IPC_NC_DROP_DECODE]++;
		return;
	}
	/* The same bytes twice are never legitimate (fresh nonce per packet). */
	if (wire_replay_check(&n->replay, pkt.signed_hash, node_now(n))) {
		n->counters[IPC_NC_DROP_REPLAY]++;
		return;
	}
	n->counters[IPC_NC_RX_PACKETS]++;
	rc = peer_packet_in(n->peers, pkt.sender, sock, local, remote, node_now(n),
	    &p, &c, &events);
	if (rc != 0) {
		n->counters[rc == PEER_ERR_FULL ? IPC_NC_DROP_PEER_FULL :
		    rc == PEER_ERR_ADDR_CAP ? IPC_NC_DROP_PEER_ADDR_CAP :
		    IPC_NC_DROP_SELF]++;
		return;
	}
	/* What an unverified source sent pays for what we may send it. */
	if (!peer_conn_verified(c))
		c->unverified_in += len;
	if (events & PEER_EV_NEW_PEER) {
		char addr[PEER_ADDR_STRLEN], id[17];
		int i;

		for (i = 0; i < n->d->conf.nroot; i++)
			if (memcmp(n->d->conf.root[i].pubkey, p->pub, 33) == 0)
				p->root = 1;

		hex_encode(id, p->node_id, 8);
		log_debug("new peer %s… at %s", id, peer_addr_format(remote, addr,
		    sizeof(addr)));
		if (pkt.command == WIRE_CMD_ANNOUNCEMENT)
			node_nat_unsolicited(n, sock, local, remote, pkt.sender);
	}
	switch (pkt.command) {
	case WIRE_CMD_ANNOUNCEMENT:
		node_on_announcement(n, p, c, &pkt);
		break;
	case WIRE_CMD_RESPONSE:
		node_on_response(n, p, c, &pkt);
		break;
	case WIRE_CMD_PING:
		node_on_ping(n, p, c, &pkt);
		break;
	case WIRE_CMD_PONG:
		node_on_pong(n, p, c, &pkt);
		break;
	case WIRE_CMD_GET_BLOCK:
	case WIRE_CMD_TRANSFER:
		node_answer_xfer(n, p, c, &pkt);
		break;
	case WIRE_CMD_TRAVERSE:
		node_trav_in(n, p, c, &pkt);
		break;
	default:
		/* Local Discovery arrives on the discovery sockets (lan.c), not here. */
		n->counters[IPC_NC_DROP_UNKNOWN_CMD]++;
		break;
	}
}

/* --- timers -------------------------------------------------------------- */

static void
node_peer_action(void *arg, const struct peer_action *a)
{
	struct netd *n = arg;
	size_t len;
	uint32_t seq;

	switch (a->type) {
	case PEER_ACT_SEND_PING:
		if (seq_new(n->seqs, a->peer->pub, &a->peer->seq_counter,
		    CTX(NETD_CTX_PING, 0), node_now(n), &seq) == 0)
			node_send_conn(n, a->peer, a->conn, WIRE_CMD_PING, seq, NULL, 0);
		break;
	case PEER_ACT_SEND_ANNOUNCE:
		/* The bare keep-alive: learns the peer's chain height/version (§5.4). */
		if (node_send_ann_payload(n, 0, 0, NULL, NULL, &len) == 0 &&
		    seq_new(n->seqs, a->peer->pub, &a->peer->seq_counter,
		    CTX(NETD_CTX_KEEPALIVE, 0), node_now(n), &seq) == 0) {
			memcpy(node_send_plain, node_send_msg, len);
			node_send_conn(n, a->peer, a->conn, WIRE_CMD_ANNOUNCEMENT, seq,
			    node_send_plain, len);
		}
		break;
	case PEER_ACT_PEER_REMOVED:
		kad_table_remove(n->kad, a->peer->node_id);
		break;
	default:
		break;
	}
}

static void
node_seq_end(void *arg, const uint8_t pub[33], uint32_t seq, enum seq_ns ns,
    void *ctx, enum seq_end why)
{
	struct netd *n = arg;
	uint8_t id[32];

	(void)seq;
	(void)ns;
	if (why == SEQ_END_EXPIRED && CTX_KIND(ctx) == NETD_CTX_LOOKUP) {
		ident_node_id(pub, id);
		kad_lookup_on_failure(n->kad, CTX_ARG(ctx), id);
	}
}

/*
 * A root peer counts as connected once it answered us (an RTT): packets
 * from it alone do not do (tests/sim found it: when our first contact's
 * Response is lost, the root's verifying Ping still makes a connection,
 * which we could only answer within its budget, a Pong, never verifying
 * it; the bootstrap stopped there and the root stayed unusable for
 * lookups).
 */
static int
node_root_connected(struct netd *n, const struct conf_root *r)
{
	struct peer *p = peer_find(n->peers, r->pubkey);

	return p != NULL && p->nact > 0 && peer_rtt(p) != 0;
}

/* Root peers (§6.6): contacted until two (or all) answer, on the reference's schedule. */
static void
node_bootstrap(struct netd *n, uint64_t now)
{
	const struct conf *cf = &n->d->conf;
	struct peer_addr to;
	int i, connected = 0;

	if (cf->nroot == 0 || now < n->boot_next ||
	    n->boot_tries >= 1 + NETD_BOOT_PHASE1_TRIES + NETD_BOOT_PHASE2_TRIES)
		return;
	for (i = 0; i < cf->nroot; i++)
		connected += node_root_connected(n, &cf->root[i]);
	if (n->boot_tries > 0 && (connected == cf->nroot || connected >= 2)) {
		n->boot_tries = 1 + NETD_BOOT_PHASE1_TRIES + NETD_BOOT_PHASE2_TRIES;
		return;
	}
	for (i = 0; i < cf->nroot; i++) {
		const struct conf_root *r = &cf->root[i];

		if (node_root_connected(n, r))
			continue;
		memset(&to, 0, sizeof(to));
		to.family = r->addr.family;
		memcpy(to.ip, r->addr.addr, 16);
		to.port = r->addr.port;
		if (node_trav_contact(n, r->pubkey, &to, WIRE_ACTION_FIND_SELF, NULL, NULL,
		    CTX(NETD_CTX_BOOT, 0)) != 0)
			log_debug("root peer %s: nothing sent", r->text);
	}
	n->boot_tries++;
	n->boot_next = now + (n->boot_tries <= NETD_BOOT_PHASE1_TRIES ?
	    NETD_BOOT_PHASE1_MS : NETD_BOOT_PHASE2_MS);
}

static void
node_on_store(int fd, uint32_t events, void *arg)
{
	(void)fd;
	(void)events;
	ipc_client_readable(&((struct netd *)arg)->store);
}

static void
node_on_event(int fd, uint32_t events, void *arg)
{
	struct netd *n = arg;
	struct ipc_chain_info ci;
	uint8_t *msg;
	size_t len;

	(void)fd;
	(void)events;
	while (ipc_sub_recv(&n->events, &msg, &len) == 0) {
		if (ipc_chain_info_decode(msg, len, IPC_EV_CHAIN, &ci) == 0)
			node_chain_event(n, ci.height, ci.version);
		free(msg);
	}
}

/*
 * The daemon's links to storaged: requests (cache, blocks; env_real.c's
 * store_send uses n->store) and its events (own chain).  Not in tests/sim,
 * whose env answers store_send itself and calls node_chain_event.
 */
int
node_ipc(struct netd *n, char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (daemon_sock_path(n->d, "storaged", path, sizeof(path)) == -1 ||
	    ipc_client_open(&n->store, "storaged", path) == -1) {
		snprintf(err, errlen, "cannot open the link to storaged");
		return -1;
	}
	n->store_open = 1;
	if (loop_add_fd(&n->d->loop, n->store.fd, EPOLLIN, node_on_store, n) == -1) {
		snprintf(err, errlen, "cannot open the link to storaged");
		return -1;
	}
	/* File data goes over the bulk channel (ipc_bulk.c) once storaged is up. */
	if (daemon_sock_path(n->d, "storaged-bulk", path, sizeof(path)) == -1 ||
	    ipc_client_bulk_open(&n->store, &n->d->loop, path) == -1) {
		snprintf(err, errlen, "cannot set up the bulk channel to storaged");
		return -1;
	}
	if (daemon_sock_path(n->d, "storaged-events", path, sizeof(path)) == -1 ||
	    ipc_sub_open(&n->events, path) == -1) {
		snprintf(err, errlen, "cannot subscribe to storaged's events");
		return -1;
	}
	n->events_open = 1;
	if (loop_add_fd(&n->d->loop, n->events.fd, EPOLLIN, node_on_event, n) == -1) {
		snprintf(err, errlen, "cannot subscribe to storaged's events");
		return -1;
	}
	return 0;
}

/* Before node_free: the links node_ipc opened. */
void
node_ipc_close(struct netd *n)
{
	if (n->store_open)
		ipc_client_close(&n->store);
	if (n->events_open)
		ipc_sub_close(&n->events);
	n->store_open = n->events_open = 0;
}

/*
 * Beyond §6.6 (the reference gives up after its schedule): a node that has
 * had no active peer for NETD_REJOIN_MS, after its root-peer and known-peer
 * schedules ended, starts both again (and the Kademlia bootstrap), at most
 * once per NETD_BOOT_PHASE2_MS.  tests/sim found the case: after a network
 * outage longer than the liveness timeouts (§5.3) every peer is removed,
 * none will contact us again, and the node stayed alone for good.
 */
#define NETD_REJOIN_MS	30000

static void
node_rejoin(struct netd *n, uint64_t now)
{
	struct node_state *st = n->node;
	struct node_known_active act = { 0 };
	int have_roots, have_known;

	peer_list_foreach(n->peers, node_known_count_act, &act);
	if (act.n > 0) {
		st->isolated_since = 0;
		return;
	}
	if (st->isolated_since == 0)
		st->isolated_since = now;
	have_roots = n->d->conf.nroot > 0;
	have_known = n->known_loaded && n->known.count > 0;
	if ((!have_roots && !have_known) || now - st->isolated_since < NETD_REJOIN_MS ||
	    (have_roots && n->boot_tries < 1 + NETD_BOOT_PHASE1_TRIES +
	    NETD_BOOT_PHASE2_TRIES) ||
	    (have_known && n->known_tries < NETD_BOOT_PHASE1_TRIES) ||
	    (st->rejoined != 0 && now - st->rejoined < NETD_BOOT_PHASE2_MS))
		return;
	log_info("no active peer for %llu s: contacting the root and known peers again",
	    (unsigned long long)(now - st->isolated_since) / 1000);
	st->rejoined = now;
	n->boot_tries = 0;
	n->boot_next = now;
	n->known_tries = 0;
	n->known_next = now;
	n->kad_boot_left = KAD_BOOT_REFRESHES;
}

void
node_tick(struct netd *n)
{
	struct node_state *st = n->node;
	uint64_t now = node_now(n);

	if (now - st->last_peer_tick >= PEER_TICK_MS) {
		st->last_peer_tick = now;
		peer_tick(n->peers, now);
		node_rejoin(n, now);
	}
	if (now - st->last_sweep >= SEQ_SWEEP_MS) {
		st->last_sweep = now;
		seq_sweep(n->seqs, now);
	}
	node_bootstrap(n, now);
	/* Kademlia bootstrap: three refreshes, 1 s apart, once 2 nodes are known. */
	if (n->kad_boot_left > 0 && kad_table_count(n->kad) >= KAD_BOOT_MIN_NODES &&
	    now >= n->kad_boot_next) {
		kad_refresh(n->kad, 1);
		n->kad_boot_left--;
		n->kad_boot_next = now + KAD_BOOT_PAUSE_MS;
	}
	kad_tick(n->kad);
	if (n->ctl_hooks != NULL)
		n->ctl_hooks->expire(n, now);
	if (n->store_open)
		ipc_client_tick(&n->store, now);
	node_chain_ask(n, now);
	node_known_ask(n, now);
	node_known_bootstrap(n, now);
	node_known_save(n, now);
	if (n->xfer_hooks != NULL)
		n->xfer_hooks->tick(n, now);
	node_trav_tick(n, now);
	node_chain_push_tick(n, now);
	if (n->slink != NULL)
		node_chain_offer_tick(n);
}

/* --- Kademlia environment ------------------------------------------------ */

static uint64_t
node_kadenv_now(void *ctx)
{
	return node_now(ctx);
}

static void
node_kadenv_random(void *ctx, void *buf, size_t len)
{
	struct netd *n = ctx;

	env_random(&n->env, buf, len);
}

static int
node_kadenv_send(void *ctx, const struct kad_query *q)
{
	struct node_trav tv;
	struct netd *n = ctx;
	const uint8_t *peer_key = NULL, *value_key = NULL;
	struct peer *p = peer_find_node(n->peers, q->to->id);
	struct peer_addr to;
	uint8_t actions = 0;
	size_t len;
	uint32_t seq;

	if (q->kind == KAD_FIND_SELF || memcmp(q->key, n->id.node_id, 32) == 0)
		actions = WIRE_ACTION_FIND_SELF;
	else if (q->kind == KAD_FIND_VALUE)
		value_key = q->key;
	else
		peer_key = q->key;
	if (p != NULL && p->nact > 0) {
		if (node_send_ann_payload(n, 0, actions, peer_key, value_key, &len) != 0 ||
		    seq_new(n->seqs, p->pub, &p->seq_counter,
		    CTX(NETD_CTX_LOOKUP, q->lookup_id), node_now(n), &seq) != 0)
			return -1;
		memcpy(node_send_plain, node_send_msg, len);
		return node_send_peer(n, p, WIRE_CMD_ANNOUNCEMENT, seq, node_send_plain, len);
	}
	/* Not connected: first contact at the address another node reported. */
	if (node_kad_contact_addr(q->to, &to) != 0)
		return -1;
	return node_trav_contact_via(n, q->to->peer_id, &to, actions, peer_key, value_key,
	    CTX(NETD_CTX_LOOKUP, q->lookup_id),
	    node_trav_for(n, q->to, &to, q->via, &tv));
}

/*
 * A find named a node we have no connection to: contact it (FIND_SELF),
 * with a Traverse through the node that named it when it looks NATed, so
 * that `peernetctl ping` works next (the reference leaves that to the
 * next query).
 */
static void
node_connect_found(struct netd *n, const struct kad_contact *k, const struct peer_addr *to)
{
	struct peer *p = peer_find(n->peers, k->peer_id);
	struct node_trav tv;

	if (p != NULL && p->nact > 0)
		return;
	node_trav_contact_via(n, k->peer_id, to, WIRE_ACTION_FIND_SELF, NULL, NULL,
	    CTX(NETD_CTX_CONNECT, 0), node_trav_for(n, k, to, NULL, &tv));
}

/* A lookup ended: ctl's find (if it asked) is answered, the node contacted. */
static void
node_kadenv_done(void *ctx, const struct kad_result *r)
{
	struct netd *n = ctx;
	struct peer_addr a;
	int have, want;

	have = r->status == KAD_LOOKUP_FOUND && node_kad_contact_addr(&r->found, &a) == 0;
	want = n->ctl_hooks != NULL &&
	    n->ctl_hooks->find_done(n, r, have ? &a : NULL) > 0;
	if (n->lookup_done != NULL && n->lookup_done(n, r) != 0)
		want = 1;
	if (want && have)
		node_connect_found(n, &r->found, &a);
}

/*
 * Lookups start from peers that are connected and have answered one of our
 * sequences: a source that only ever sent us packets may be spoofed, and
 * querying it would reflect traffic at whoever owns the address.
 */
static int
node_kadenv_usable(void *ctx, const struct kad_contact *c)
{
	struct netd *n = ctx;
	struct peer *p = peer_find_node(n->peers, c->id);

	return p != NULL && p->nact > 0 && peer_rtt(p) != 0;
}

static uint32_t
node_rand32(void *arg)
{
	struct netd *n = arg;

	return env_random32(&n->env);
}

/*
 * The core's state: peer list, sequences, Kademlia, replay filter, with
 * n->id, n->d->conf, n->socks and n->env set.  Nothing here touches the
 * world; node_start begins the ticks, node_ipc links storaged (daemon only).
 */
int
node_init(struct netd *n, char *err, size_t errlen)
{
	struct kad_env env;
	struct peer_list_conf pc;
	uint8_t key[16];

	memset(&pc, 0, sizeof(pc));
	pc.max_peers = n->d->conf.max_peers;
	pc.max_per_ip = n->d->conf.max_peers_per_ip;
	pc.self_pub = n->id.pub;
	env_random(&n->env, pc.hash_key, sizeof(pc.hash_key));
	pc.rand32 = node_rand32;
	pc.action = node_peer_action;
	pc.arg = n;
	env_random(&n->env, key, sizeof(key));
	memset(&env, 0, sizeof(env));
	env.now_ms = node_kadenv_now;
	env.random = node_kadenv_random;
	env.send_find = node_kadenv_send;
	env.lookup_done = node_kadenv_done;
	env.usable = node_kadenv_usable;
	env.ctx = n;
	/* kad_new copies env. */
	if ((n->node = calloc(1, sizeof(*n->node))) == NULL ||
	    (n->peers = peer_list_new(&pc)) == NULL ||
	    (n->seqs = seq_table_new(SEQ_MAX_DEFAULT, key, node_seq_end, n)) == NULL ||
	    (n->kad = kad_new(n->id.node_id, &env, 0)) == NULL ||
	    wire_replay_init(&n->replay, NETD_REPLAY_CAPACITY, NETD_REPLAY_WINDOW_MS) != 0) {
		snprintf(err, errlen, "out of memory for the peer tables");
		return -1;
	}
	n->kad_boot_left = KAD_BOOT_REFRESHES;
	n->packet_in = node_packet_in;
	return 0;
}

static void
node_on_tick(void *arg)
{
	node_tick(arg);
}

/* Liveness, bootstrap, Kademlia timeouts: a tick every 100 ms is plenty. */
int
node_start(struct netd *n, char *err, size_t errlen)
{
	if ((n->node->tick_timer = n->env.timer_add(n->env.ctx, NETD_TICK_MS,
	    NETD_TICK_MS, node_on_tick, n)) == NULL) {
		snprintf(err, errlen, "timer failed");
		return -1;
	}
	return 0;
}

void
node_free(struct netd *n)
{
	if (n->ctl_hooks != NULL)
		n->ctl_hooks->stop(n);
	if (n->node != NULL && n->node->tick_timer != NULL)
		n->env.timer_del(n->env.ctx, n->node->tick_timer);
	if (n->kad != NULL)
		kad_free(n->kad);
	if (n->seqs != NULL)
		seq_table_free(n->seqs);
	if (n->peers != NULL)
		peer_list_free(n->peers);
	wire_replay_free(&n->replay);
	free(n->node);
	n->node = NULL;
	n->kad = NULL;
	n->seqs = NULL;
	n->peers = NULL;
}

/* --- for control.c ------------------------------------------------------ */

/*
 * A Ping to p asked for by ctl (control.c), its answer to go to pending
 * slot: the Pong comes back to n->ctl_hooks->ping_answered.  *seq its sequence.
 */
int
node_ping_ctl(struct netd *n, struct peer *p, int slot, uint32_t *seq)
{
	if (seq_new(n->seqs, p->pub, &p->seq_counter, CTX(NETD_CTX_CTLPING, slot),
	    node_now(n), seq) != 0)
		return -1;
	return node_send_peer(n, p, WIRE_CMD_PING, *seq, NULL, 0) != 0 ? -1 : 0;
}

struct node_count {
	uint32_t	active;
	int		private_local;	/* a public peer talks to a private local address */
	int		public_local;	/* ... to a public local address */
	struct peer_addr priv;		/* one such private local address */
};

static void
node_count_active(void *arg, struct peer *p)
{
	struct node_count *c = arg;

	int i;

	if (p->nact > 0)
		c->active++;
	for (i = 0; i < p->nact; i++) {
		const struct peer_conn *k = &p->conns[p->act[i]];

		if (k->rtt_ms == 0 || !node_addr_public(&k->remote))
			continue;
		if (node_addr_public(&k->local))
			c->public_local = 1;
		else if (peer_addr_is_local(&k->local) && !c->private_local) {
			c->private_local = 1;
			c->priv = k->local;
		}
	}
}

/*
 * Our own NAT state for status (node_nat_state), from evidence only (version 0 has no
 * message that tells a node the address others see it at):
 *  - "public (IP:PORT)": within the last hour, a
 *    peer we never contacted first reached us on a public (not RFC 1918 /
 *    ULA / link-local / loopback) local address from a public address: no
 *    NAT or filter stands between us and the Internet on that address;
 *  - "behind NAT (X)", X our private address: peers
 *    with public addresses answered us (RTT known) on connections whose
 *    local address is private, and none on a public local address: some
 *    NAT translates between us (how it maps ports is not observable here);
 *  - "unknown" otherwise.
 * (The IPC field holds 31 characters: an IPv6 address may be cut.)
 */
static void
node_nat_text(struct netd *n, const struct node_count *c, char *out, size_t len)
{
	char a[PEER_ADDR_STRLEN];

	if (n->node->unsolicited_at != 0 && node_now(n) - n->node->unsolicited_at < 3600 * 1000)
		snprintf(out, len, "public (%s)",
		    peer_addr_format(&n->node->unsolicited_local, a, sizeof(a)));
	else if (c->private_local && !c->public_local) {
		struct peer_addr ip = c->priv;

		ip.port = 0;
		peer_addr_format(&ip, a, sizeof(a));
		/* Drop the ":0" of the formatted address. */
		if (strlen(a) > 2 && strcmp(a + strlen(a) - 2, ":0") == 0)
			a[strlen(a) - 2] = '\0';
		snprintf(out, len, "behind NAT (%s)", a);
	} else
		strlcpy(out, "unknown", len);
}

/* Own NAT state (see node_nat_text) into out; returns the active peers. */
uint32_t
node_nat_state(struct netd *n, char *out, size_t len)
{
	struct node_count cnt = { 0 };

	peer_list_foreach(n->peers, node_count_active, &cnt);
	node_nat_text(n, &cnt, out, len);
	return cnt.active;
}
