/*
 * ipc_msg_net.h — the network area of the IPC catalogue (types IPC_PEERS,
 * IPC_PING, IPC_FIND, IPC_NET_STATUS in ipc_msg.h): structs and codecs.
 */
#ifndef PEERNET_IPC_MSG_NET_H
#define PEERNET_IPC_MSG_NET_H

#include <stddef.h>
#include <stdint.h>

#include "ipc_msg_decl.h"

#define IPC_ADDR_MAX	64

/* One peer of netd's peer list. */
struct ipc_peer {
	uint8_t		pubkey[33];
	uint8_t		node_id[32];
	char		addr[IPC_ADDR_MAX];	/* the connection packets go to */
	uint8_t		active;		/* has an active connection */
	uint8_t		root;		/* a configured root peer */
	uint8_t		nat;		/* reported and observed ports differ */
	uint8_t		features;
	uint32_t	conns;		/* connections (addresses) known */
	uint32_t	rtt_ms;		/* 0: not measured */
	uint64_t	height;		/* of its blockchain */
	uint64_t	version;
	char		user_agent[256];
	uint8_t		secure;		/* 0 version 0, 1 capable but plaintext, 2 secure session */
};

/* A peer list: an ipc_list of peers. */
#define ipc_peer_list ipc_list

struct ipc_ping_req {
	uint8_t		node_id[32];
	uint32_t	timeout_ms;
};

struct ipc_ping_rep {
	uint32_t	rtt_ms;
	char		addr[IPC_ADDR_MAX];
};

struct ipc_find_req {
	uint8_t		key[32];	/* a node ID */
	uint32_t	timeout_ms;
};

struct ipc_find_rep {
	uint8_t		found;
	uint32_t	rounds;
	uint32_t	messages;
	uint8_t		pubkey[33];
	char		addrs[256];	/* space-separated ADDR:PORT */
};

/* Drop and traffic counters of netd, by reason (names: ipc_net_counter_name). */
enum ipc_net_counter {
	IPC_NC_RX_DATAGRAMS, IPC_NC_RX_PACKETS, IPC_NC_RX_LITE, IPC_NC_DROP_SHORT,
	IPC_NC_DROP_DECODE, IPC_NC_DROP_SELF, IPC_NC_DROP_REPLAY, IPC_NC_DROP_PROTOCOL,
	IPC_NC_DROP_MESSAGE, IPC_NC_DROP_UNKNOWN_CMD, IPC_NC_DROP_UNSOLICITED,
	IPC_NC_DROP_PEER_FULL, IPC_NC_TX_PACKETS, IPC_NC_TX_ERRORS,
	IPC_NC_RX_ANNOUNCE, IPC_NC_RX_RESPONSE, IPC_NC_RX_PING, IPC_NC_RX_PONG,
	/* LAN discovery (lan.c) */
	IPC_NC_RX_DISCOVERY, IPC_NC_TX_DISCOVERY, IPC_NC_DROP_DISCOVERY,
	/* Traverse (traverse.c) */
	IPC_NC_RX_TRAVERSE, IPC_NC_TX_TRAVERSE, IPC_NC_TRAVERSE_FORWARDED,
	IPC_NC_TRAVERSE_ACCEPTED, IPC_NC_DROP_TRAVERSE_SIGNATURE,
	IPC_NC_DROP_TRAVERSE_EXPIRED, IPC_NC_DROP_TRAVERSE_TARGET,
	IPC_NC_DROP_TRAVERSE_OTHER, IPC_NC_TRAVERSE_PUNCH_FAILED,
	/* port mapping (portmap.c) */
	IPC_NC_PORTMAP_ERRORS,
	/* transfers (xfer*.c) */
	IPC_NC_XFER_BAD_FRAGMENT, IPC_NC_XFER_REFUSED,
	/* address changes (netlink.c) */
	IPC_NC_ADDR_CHANGES,
	/* UDP offloads (net.c): runs sent as one GSO buffer, coalesced receives */
	IPC_NC_TX_GSO_RUNS, IPC_NC_RX_COALESCED,
	/*
	 * Hardening (node.c): newcomers refused by the per-address cap;
	 * packets withheld from a source that has not proven it receives ours
	 * (reflection budget); requests held until it has (Announcements
	 * whose answer would not fit, transfer and block REQUEST_STARTs).
	 */
	IPC_NC_DROP_PEER_ADDR_CAP, IPC_NC_TX_UNVERIFIED_WITHHELD,
	IPC_NC_HELD_UNVERIFIED,
	/*
	 * Traverse beyond §8 (traverse.h, traverse_punch_fallback): direct
	 * first contacts unanswered within 1 s that got a Traverse anyway,
	 * and how many of those peers then connected.
	 */
	IPC_NC_TRAVERSE_FALLBACK, IPC_NC_TRAVERSE_FALLBACK_CONNECTED,
	/* Announcements that told peers of our chain's new height/version (node_chain.c) */
	IPC_NC_TX_CHAIN_PUSH,
	/*
	 * Secure transport (secure_link.c, docs/secure.md): INITs sent,
	 * sessions made, datagrams sealed and opened; dropped: AEAD failed,
	 * replayed counter, malformed, plaintext lite packet for a sealed
	 * transfer, handshake message refused; plaintext transfers refused
	 * (secure_transport = require); COOKIEs sent instead of a RESP while
	 * under handshake load (secure_link.c, SLINK_LOAD_INITS).
	 */
	IPC_NC_SECURE_HS_SENT, IPC_NC_SECURE_HANDSHAKES, IPC_NC_SECURE_SEALED,
	IPC_NC_SECURE_OPENED, IPC_NC_DROP_SECURE_AUTH, IPC_NC_DROP_SECURE_REPLAY,
	IPC_NC_DROP_SECURE_MALFORMED, IPC_NC_DROP_SECURE_PLAINTEXT,
	IPC_NC_DROP_SECURE_HANDSHAKE, IPC_NC_SECURE_REFUSED,
	IPC_NC_SECURE_COOKIES,
	/*
	 * Chunks of served files (xfer_prov.c): read by netd from the page
	 * cache through the file's descriptor, or asked of storaged (not
	 * cached, or no descriptor).
	 */
	IPC_NC_XFER_CHUNKS_CACHED, IPC_NC_XFER_CHUNKS_STORAGED,
	/*
	 * Served transfers ended because their peer, at its cap, asked for
	 * another while they had been silent for 3 s (xfer_prov.c: it lost them).
	 */
	IPC_NC_XFER_REPLACED,
	IPC_NC_MAX
};

struct ipc_net_status {
	uint8_t		pubkey[33];
	uint8_t		node_id[32];
	char		listen[512];	/* space-separated ADDR:PORT actually bound */
	uint32_t	peers;
	uint32_t	active;
	uint32_t	dht_size;	/* contacts in the routing table */
	char		nat[64];	/* "public (IP:PORT)", "behind NAT (IP)", "unknown" */
	char		portmap[128];	/* "upnp: EXT:P -> INT:P, renews in N s", "off", "failed: ..." */
	char		external[64];	/* external IPv4 learned from the router, "" */
	uint64_t	counters[IPC_NC_MAX];
};

/* Peers worth contacting again after a restart (netd -> storaged and back). */
#define IPC_KNOWN_PEERS_MAX	64
struct ipc_known_peer {
	uint8_t		pubkey[33];
	uint8_t		family;		/* 4 or 6 */
	uint8_t		ip[16];
	uint16_t	port;
};

struct ipc_known_peers {
	uint32_t		count;
	struct ipc_known_peer	peers[IPC_KNOWN_PEERS_MAX];
};

/* type: IPC_PEERS_SAVE (request) or IPC_PEERS_LOAD (reply). */
IPC_CODEC_TYPED_DECL(known_peers, struct ipc_known_peers);

const char *ipc_net_counter_name(int c);

long	ipc_peer_list_begin(uint8_t *out, size_t cap, uint32_t total);
int	ipc_peer_list_add(uint8_t *out, size_t cap, size_t *off, const struct ipc_peer *p);
int	ipc_peer_list_decode(const uint8_t *p, size_t len, struct ipc_peer_list *l);
int	ipc_peer_list_next(struct ipc_peer_list *l, struct ipc_peer *p);
IPC_CODEC_DECL(ping_req, struct ipc_ping_req);
IPC_CODEC_DECL(ping_rep, struct ipc_ping_rep);
IPC_CODEC_DECL(find_req, struct ipc_find_req);
IPC_CODEC_DECL(find_rep, struct ipc_find_rep);
IPC_CODEC_DECL(net_status, struct ipc_net_status);

#endif
