/*
 * ipc_msg_net.c — codecs of the network area of the IPC catalogue
 * (ipc_msg_net.h): peer lists, ping, find, network status.
 */
#include <string.h>

#include "ipc_msg_codec.h"

static const char *const ipc_nc_names[] = {
	"rx_datagrams", "rx_packets", "rx_lite", "drop_short", "drop_decode",
	"drop_self", "drop_replay", "drop_protocol", "drop_message",
	"drop_unknown_command", "drop_unsolicited", "drop_peer_list_full",
	"tx_packets", "tx_errors", "rx_announcement", "rx_response", "rx_ping",
	"rx_pong",
	"rx_discovery", "tx_discovery", "drop_discovery",
	"rx_traverse", "tx_traverse", "traverse_forwarded", "traverse_accepted",
	"drop_traverse_signature", "drop_traverse_expired", "drop_traverse_target",
	"drop_traverse_other", "traverse_punch_failed",
	"portmap_errors",
	"xfer_bad_fragment", "xfer_refused",
	"addr_changes",
	"tx_gso_runs", "rx_coalesced",
	"drop_peer_addr_cap", "tx_unverified_withheld", "held_unverified",
	"traverse_fallback", "traverse_fallback_connected",
	"tx_chain_push",
	"secure_handshakes_sent", "secure_handshakes", "secure_sealed",
	"secure_opened", "drop_secure_auth", "drop_secure_replay",
	"drop_secure_malformed", "drop_secure_plaintext",
	"drop_secure_handshake", "secure_refused"
};

_Static_assert(sizeof(ipc_nc_names) / sizeof(ipc_nc_names[0]) == IPC_NC_MAX,
    "a name for every counter");

const char *
ipc_net_counter_name(int c)
{
	return c >= 0 && c < IPC_NC_MAX ? ipc_nc_names[c] : "unknown";
}

static void
w_peer(struct buf_w *w, const struct ipc_peer *p)
{
	buf_w_bytes(w, p->pubkey, sizeof(p->pubkey));
	buf_w_bytes(w, p->node_id, sizeof(p->node_id));
	ipc_w_str(w, p->addr);
	buf_w_u8(w, p->active);
	buf_w_u8(w, p->root);
	buf_w_u8(w, p->nat);
	buf_w_u8(w, p->features);
	buf_w_le32(w, p->conns);
	buf_w_le32(w, p->rtt_ms);
	buf_w_le64(w, p->height);
	buf_w_le64(w, p->version);
	ipc_w_str(w, p->user_agent);
	buf_w_u8(w, p->secure);
}

static int
r_peer(struct buf_r *r, struct ipc_peer *p)
{
	int rc;

	buf_r_copy(r, p->pubkey, sizeof(p->pubkey));
	buf_r_copy(r, p->node_id, sizeof(p->node_id));
	if (r->err)
		return IPC_DEC_SHORT;
	if ((rc = ipc_r_str(r, p->addr, sizeof(p->addr))) != 0)
		return rc;
	p->active = buf_r_u8(r);
	p->root = buf_r_u8(r);
	p->nat = buf_r_u8(r);
	p->features = buf_r_u8(r);
	p->conns = buf_r_le32(r);
	p->rtt_ms = buf_r_le32(r);
	p->height = buf_r_le64(r);
	p->version = buf_r_le64(r);
	if (r->err)
		return IPC_DEC_SHORT;
	if (p->active > 1 || p->root > 1 || p->nat > 1)
		return IPC_DEC_RANGE;
	if ((rc = ipc_r_str(r, p->user_agent, sizeof(p->user_agent))) != 0)
		return rc;
	p->secure = buf_r_u8(r);
	if (r->err)
		return IPC_DEC_SHORT;
	return p->secure > 2 ? IPC_DEC_RANGE : 0;
}

static void
peer_w(struct buf_w *w, const void *item)
{
	w_peer(w, item);
}

static int
peer_r(struct buf_r *r, void *item)
{
	return r_peer(r, item);
}

long
ipc_peer_list_begin(uint8_t *out, size_t cap, uint32_t total)
{
	return ipc_list_begin(out, cap, IPC_PEERS, total);
}

int
ipc_peer_list_add(uint8_t *out, size_t cap, size_t *off, const struct ipc_peer *p)
{
	return ipc_list_add(out, cap, off, peer_w, p);
}

int
ipc_peer_list_decode(const uint8_t *p, size_t len, struct ipc_peer_list *l)
{
	static struct ipc_peer scratch;

	return ipc_list_decode(p, len, IPC_PEERS, l, peer_r, &scratch);
}

int
ipc_peer_list_next(struct ipc_peer_list *l, struct ipc_peer *p)
{
	return ipc_list_next(l, peer_r, p);
}

long
ipc_ping_req_encode(uint8_t *out, size_t cap, const struct ipc_ping_req *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_PING, IPC_OK);
	buf_w_bytes(&w, q->node_id, sizeof(q->node_id));
	buf_w_le32(&w, q->timeout_ms);
	return ipc_w_done(&w);
}

int
ipc_ping_req_decode(const uint8_t *p, size_t len, struct ipc_ping_req *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_PING)) != 0)
		return rc;
	buf_r_copy(&r, q->node_id, sizeof(q->node_id));
	q->timeout_ms = buf_r_le32(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if (q->timeout_ms == 0 || q->timeout_ms > 600000)
		return IPC_DEC_RANGE;
	return ipc_r_end(&r);
}

long
ipc_ping_rep_encode(uint8_t *out, size_t cap, const struct ipc_ping_rep *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_PING, IPC_OK);
	buf_w_le32(&w, q->rtt_ms);
	ipc_w_str(&w, q->addr);
	return ipc_w_done(&w);
}

int
ipc_ping_rep_decode(const uint8_t *p, size_t len, struct ipc_ping_rep *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_PING)) != 0)
		return rc;
	q->rtt_ms = buf_r_le32(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if ((rc = ipc_r_str(&r, q->addr, sizeof(q->addr))) != 0)
		return rc;
	return ipc_r_end(&r);
}

long
ipc_find_req_encode(uint8_t *out, size_t cap, const struct ipc_find_req *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_FIND, IPC_OK);
	buf_w_bytes(&w, q->key, sizeof(q->key));
	buf_w_le32(&w, q->timeout_ms);
	return ipc_w_done(&w);
}

int
ipc_find_req_decode(const uint8_t *p, size_t len, struct ipc_find_req *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_FIND)) != 0)
		return rc;
	buf_r_copy(&r, q->key, sizeof(q->key));
	q->timeout_ms = buf_r_le32(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if (q->timeout_ms == 0 || q->timeout_ms > 600000)
		return IPC_DEC_RANGE;
	return ipc_r_end(&r);
}

long
ipc_find_rep_encode(uint8_t *out, size_t cap, const struct ipc_find_rep *q)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_FIND, IPC_OK);
	buf_w_u8(&w, q->found);
	buf_w_le32(&w, q->rounds);
	buf_w_le32(&w, q->messages);
	buf_w_bytes(&w, q->pubkey, sizeof(q->pubkey));
	ipc_w_str(&w, q->addrs);
	return ipc_w_done(&w);
}

int
ipc_find_rep_decode(const uint8_t *p, size_t len, struct ipc_find_rep *q)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, IPC_FIND)) != 0)
		return rc;
	q->found = buf_r_u8(&r);
	q->rounds = buf_r_le32(&r);
	q->messages = buf_r_le32(&r);
	buf_r_copy(&r, q->pubkey, sizeof(q->pubkey));
	if (r.err)
		return IPC_DEC_SHORT;
	if (q->found > 1)
		return IPC_DEC_RANGE;
	if ((rc = ipc_r_str(&r, q->addrs, sizeof(q->addrs))) != 0)
		return rc;
	return ipc_r_end(&r);
}

long
ipc_net_status_encode(uint8_t *out, size_t cap, const struct ipc_net_status *s)
{
	struct buf_w w;
	int i;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, IPC_NET_STATUS, IPC_OK);
	buf_w_bytes(&w, s->pubkey, sizeof(s->pubkey));
	buf_w_bytes(&w, s->node_id, sizeof(s->node_id));
	ipc_w_str(&w, s->listen);
	buf_w_le32(&w, s->peers);
	buf_w_le32(&w, s->active);
	buf_w_le32(&w, s->dht_size);
	ipc_w_str(&w, s->nat);
	ipc_w_str(&w, s->portmap);
	ipc_w_str(&w, s->external);
	buf_w_u8(&w, IPC_NC_MAX);
	for (i = 0; i < IPC_NC_MAX; i++)
		buf_w_le64(&w, s->counters[i]);
	return ipc_w_done(&w);
}

int
ipc_net_status_decode(const uint8_t *p, size_t len, struct ipc_net_status *s)
{
	struct buf_r r;
	int i, rc;

	memset(s, 0, sizeof(*s));
	if ((rc = ipc_r_begin(&r, p, len, IPC_NET_STATUS)) != 0)
		return rc;
	buf_r_copy(&r, s->pubkey, sizeof(s->pubkey));
	buf_r_copy(&r, s->node_id, sizeof(s->node_id));
	if (r.err)
		return IPC_DEC_SHORT;
	if ((rc = ipc_r_str(&r, s->listen, sizeof(s->listen))) != 0)
		return rc;
	s->peers = buf_r_le32(&r);
	s->active = buf_r_le32(&r);
	s->dht_size = buf_r_le32(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if ((rc = ipc_r_str(&r, s->nat, sizeof(s->nat))) != 0 ||
	    (rc = ipc_r_str(&r, s->portmap, sizeof(s->portmap))) != 0 ||
	    (rc = ipc_r_str(&r, s->external, sizeof(s->external))) != 0)
		return rc;
	/* ctl and netd come from one build: a different counter count is refused. */
	if (buf_r_u8(&r) != IPC_NC_MAX)
		return r.err ? IPC_DEC_SHORT : IPC_DEC_RANGE;
	for (i = 0; i < IPC_NC_MAX; i++)
		s->counters[i] = buf_r_le64(&r);
	return ipc_r_end(&r);
}

long
ipc_known_peers_encode(uint8_t *out, size_t cap, uint16_t type,
    const struct ipc_known_peers *k)
{
	struct buf_w w;
	uint32_t i;

	if (k->count > IPC_KNOWN_PEERS_MAX)
		return -1;
	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, type, IPC_OK);
	buf_w_le32(&w, k->count);
	for (i = 0; i < k->count; i++) {
		buf_w_bytes(&w, k->peers[i].pubkey, 33);
		buf_w_u8(&w, k->peers[i].family);
		buf_w_bytes(&w, k->peers[i].ip, 16);
		buf_w_le16(&w, k->peers[i].port);
	}
	return ipc_w_done(&w);
}

int
ipc_known_peers_decode(const uint8_t *p, size_t len, uint16_t type,
    struct ipc_known_peers *k)
{
	struct buf_r r;
	uint32_t i;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, type)) != 0)
		return rc;
	k->count = buf_r_le32(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	if (k->count > IPC_KNOWN_PEERS_MAX)
		return IPC_DEC_RANGE;
	for (i = 0; i < k->count; i++) {
		buf_r_copy(&r, k->peers[i].pubkey, 33);
		k->peers[i].family = buf_r_u8(&r);
		buf_r_copy(&r, k->peers[i].ip, 16);
		k->peers[i].port = buf_r_le16(&r);
		if (r.err)
			return IPC_DEC_SHORT;
		if ((k->peers[i].family != 4 && k->peers[i].family != 6) ||
		    k->peers[i].port == 0 ||
		    (k->peers[i].pubkey[0] != 0x02 && k->peers[i].pubkey[0] != 0x03))
			return IPC_DEC_RANGE;
	}
	return ipc_r_end(&r);
}
