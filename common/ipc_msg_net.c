/*
 * ipc_msg_net.c — codecs of the network area of the IPC catalogue
 * (ipc_msg_net.h): peer lists, ping, find, network status.
 */
#include <stddef.h>
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
	"drop_secure_handshake", "secure_refused", "secure_cookies_sent",
	"xfer_chunks_cached", "xfer_chunks_storaged",
	"xfer_replaced"
};

_Static_assert(sizeof(ipc_nc_names) / sizeof(ipc_nc_names[0]) == IPC_NC_MAX,
    "a name for every counter");

const char *
ipc_net_counter_name(int c)
{
	return c >= 0 && c < IPC_NC_MAX ? ipc_nc_names[c] : "unknown";
}

static const struct ipc_field peer_desc_f[] = {
	IPC_BYTES(struct ipc_peer, pubkey),
	IPC_BYTES(struct ipc_peer, node_id),
	IPC_STR(struct ipc_peer, addr),
	IPC_INT(struct ipc_peer, active, 1),
	IPC_INT(struct ipc_peer, root, 1),
	IPC_INT(struct ipc_peer, nat, 1),
	IPC_INT(struct ipc_peer, features, 0),
	IPC_INT(struct ipc_peer, conns, 0),
	IPC_INT(struct ipc_peer, rtt_ms, 0),
	IPC_INT(struct ipc_peer, height, 0),
	IPC_INT(struct ipc_peer, version, 0),
	IPC_STR(struct ipc_peer, user_agent),
	IPC_INT(struct ipc_peer, secure, 2),	/* 0 v0, 1 capable, 2 secure session */
};
IPC_DESC(peer_desc, struct ipc_peer, 0, NULL);

/* A ping or lookup waits 1 ms .. 10 min. */
#define TIMEOUT_MAX	600000

static const struct ipc_field ping_req_desc_f[] = {
	IPC_BYTES(struct ipc_ping_req, node_id),
	IPC_INT_NZ(struct ipc_ping_req, timeout_ms, TIMEOUT_MAX),
};
IPC_DESC(ping_req_desc, struct ipc_ping_req, 0, NULL);

static const struct ipc_field ping_rep_desc_f[] = {
	IPC_INT(struct ipc_ping_rep, rtt_ms, 0),
	IPC_STR(struct ipc_ping_rep, addr),
};
IPC_DESC(ping_rep_desc, struct ipc_ping_rep, 0, NULL);

static const struct ipc_field find_req_desc_f[] = {
	IPC_BYTES(struct ipc_find_req, key),
	IPC_INT_NZ(struct ipc_find_req, timeout_ms, TIMEOUT_MAX),
};
IPC_DESC(find_req_desc, struct ipc_find_req, 0, NULL);

static const struct ipc_field find_rep_desc_f[] = {
	IPC_INT(struct ipc_find_rep, found, 1),
	IPC_INT(struct ipc_find_rep, rounds, 0),
	IPC_INT(struct ipc_find_rep, messages, 0),
	IPC_BYTES(struct ipc_find_rep, pubkey),
	IPC_STR(struct ipc_find_rep, addrs),
};
IPC_DESC(find_rep_desc, struct ipc_find_rep, 0, NULL);

static const struct ipc_field net_status_desc_f[] = {
	IPC_BYTES(struct ipc_net_status, pubkey),
	IPC_BYTES(struct ipc_net_status, node_id),
	IPC_STR(struct ipc_net_status, listen),
	IPC_INT(struct ipc_net_status, peers, 0),
	IPC_INT(struct ipc_net_status, active, 0),
	IPC_INT(struct ipc_net_status, dht_size, 0),
	IPC_STR(struct ipc_net_status, nat),
	IPC_STR(struct ipc_net_status, portmap),
	IPC_STR(struct ipc_net_status, external),
	IPC_COUNTS(struct ipc_net_status, counters),
};
IPC_DESC(net_status_desc, struct ipc_net_status, 1, NULL);
_Static_assert(IPC_NC_MAX <= UINT8_MAX, "the counter count is one byte");

/* An address worth dialling: IPv4 or IPv6, a port, a compressed key. */
static int
known_peer_check(const void *msg)
{
	const struct ipc_known_peer *k = msg;

	return (k->family != 4 && k->family != 6) || k->port == 0 ? IPC_DEC_RANGE : 0;
}

static const struct ipc_field known_peer_desc_f[] = {
	IPC_KEY(struct ipc_known_peer, pubkey),
	IPC_INT(struct ipc_known_peer, family, 0),
	IPC_BYTES(struct ipc_known_peer, ip),
	IPC_INT(struct ipc_known_peer, port, 0),
};
IPC_DESC(known_peer_desc, struct ipc_known_peer, 0, known_peer_check);

static const struct ipc_field known_peers_desc_f[] = {
	IPC_ARRAY(struct ipc_known_peers, count, peers, IPC_KNOWN_PEERS_MAX,
	    known_peer_desc, 0),
};
IPC_DESC(known_peers_desc, struct ipc_known_peers, 0, NULL);

long
ipc_peer_list_begin(uint8_t *out, size_t cap, uint32_t total)
{
	return ipc_list_begin(out, cap, IPC_PEERS, total);
}

int
ipc_peer_list_add(uint8_t *out, size_t cap, size_t *off, const struct ipc_peer *p)
{
	return ipc_list_add(out, cap, off, IPC_HDR_LEN + 8, 0, &peer_desc, p);
}

int
ipc_peer_list_decode(const uint8_t *p, size_t len, struct ipc_peer_list *l)
{
	static struct ipc_peer scratch;

	return ipc_list_decode(p, len, IPC_PEERS, l, &peer_desc, &scratch);
}

int
ipc_peer_list_next(struct ipc_peer_list *l, struct ipc_peer *p)
{
	return ipc_list_next(l->p, l->len, &l->off, &peer_desc, p);
}

IPC_CODEC(ping_req, struct ipc_ping_req, IPC_PING, ping_req_desc)
IPC_CODEC(ping_rep, struct ipc_ping_rep, IPC_PING, ping_rep_desc)
IPC_CODEC(find_req, struct ipc_find_req, IPC_FIND, find_req_desc)
IPC_CODEC(find_rep, struct ipc_find_rep, IPC_FIND, find_rep_desc)
IPC_CODEC(net_status, struct ipc_net_status, IPC_NET_STATUS, net_status_desc)
IPC_CODEC_TYPED(known_peers, struct ipc_known_peers, known_peers_desc)
