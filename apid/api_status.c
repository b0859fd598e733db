/*
 * api_status.c — status and account routes (FEATURES.md §3.1) and
 * /shutdown (§3.8): answers built from netd's peer list and identity.
 *
 * /status and /status/peers carry, beside the reference's fields, ours
 * under keys that start with "x_" (docs/webapi.md, "Extra keys"): NAT
 * state, port mapping, a peer's address and round-trip time.  A client of
 * the reference ignores keys it does not know; the web interface
 * (apid/www) shows them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apid.h"
#include "ipc.h"
#include "log.h"
#include "wire_msg.h"

int
api_test(struct api_req *r)
{
	return api_reply_bytes(r, 200, "text/plain; charset=utf-8", "ok", 2, 1);
}

int
api_status(struct api_req *r)
{
	static __thread struct ipc_net_status ns;
	char err[256];
	uint8_t *rep;
	size_t len;
	int rc;

	if (api_ipc_empty(r->api, "netd", IPC_NET_STATUS, &rep, &len, err,
	    sizeof(err)) != 0)
		return api_reply_ipc_err(r, "netd", err);
	rc = ipc_net_status_decode(rep, len, &ns);
	free(rep);
	if (rc != 0)
		return api_reply_ipc_err(r, "netd", "malformed status reply");
	/*
	 * The reference: connected = at least 2 peers; network = peer list.
	 * Ours: netd's view of its own reachability, as peernetctl status
	 * shows it (the strings are netd's, from ipc_net_status).
	 */
	return api_reply_json(r, 200, json_pack("{s:i, s:b, s:I, s:I, s:I, s:I, "
	    "s:o, s:o, s:o, s:o}",
	    "status", 0, "isconnected", ns.peers >= 2,
	    "countpeerlist", (json_int_t)ns.peers,
	    "countnetwork", (json_int_t)ns.peers,
	    "x_activepeers", (json_int_t)ns.active,
	    "x_dhtsize", (json_int_t)ns.dht_size,
	    "x_nat", api_jstrn(ns.nat, strnlen(ns.nat, sizeof(ns.nat))),
	    "x_portmap", api_jstrn(ns.portmap, strnlen(ns.portmap, sizeof(ns.portmap))),
	    "x_external", api_jstrn(ns.external, strnlen(ns.external, sizeof(ns.external))),
	    "x_listen", api_jstrn(ns.listen, strnlen(ns.listen, sizeof(ns.listen)))));
}

int
api_status_peers(struct api_req *r)
{
	struct ipc_peer_list pl;
	struct ipc_peer p;
	char err[256];
	uint8_t *rep;
	size_t len;
	json_t *a;
	int rc;

	if (api_ipc_empty(r->api, "netd", IPC_PEERS, &rep, &len, err,
	    sizeof(err)) != 0)
		return api_reply_ipc_err(r, "netd", err);
	if (ipc_peer_list_decode(rep, len, &pl) != 0) {
		free(rep);
		return api_reply_ipc_err(r, "netd", "malformed peer list");
	}
	/* No peers: the reference encodes its nil slice as null. */
	a = pl.count == 0 ? json_null() : json_array();
	/*
	 * Ours after the reference's: the address packets go to, the round
	 * trip (0: not measured yet), and whether the peer proved it receives
	 * what we send (it answered on a connection: a measured round trip).
	 * Not "secure": version 0's encryption is keyed with the receiver's
	 * public key, readable by anyone on the path (docs/protocol.md §13).
	 */
	while ((rc = ipc_peer_list_next(&pl, &p)) == 1)
		json_array_append_new(a, json_pack("{s:o, s:o, s:s, s:o, s:b, s:I, s:I, "
		    "s:o, s:I, s:b, s:b, s:b, s:b, s:I}",
		    "peerid", api_jb64(p.pubkey, sizeof(p.pubkey)),
		    "nodeid", api_jb64(p.node_id, sizeof(p.node_id)),
		    "geoip", "",	/* no GeoIP database in this node */
		    "useragent", api_jstrn(p.user_agent, strlen(p.user_agent)),
		    "isroot", p.root != 0,
		    "blockchainheight", (json_int_t)p.height,
		    "blockchainversion", (json_int_t)p.version,
		    "x_address", api_jstrn(p.addr, strnlen(p.addr, sizeof(p.addr))),
		    "x_rttms", (json_int_t)p.rtt_ms,
		    "x_verified", p.rtt_ms != 0,
		    "x_active", p.active != 0,
		    "x_behindnat", p.nat != 0,
		    "x_firewall", (p.features & WIRE_FEATURE_FIREWALL) != 0,
		    "x_connections", (json_int_t)p.conns));
	free(rep);
	if (rc < 0) {
		json_decref(a);
		return api_reply_ipc_err(r, "netd", "malformed peer list");
	}
	return api_reply_json(r, 200, a);
}

int
api_status_config(struct api_req *r)
{
	return api_reply_json(r, 200, json_pack("{s:I}", "blockSize",
	    (json_int_t)r->api->conf->cache_max_block_size));
}

int
api_account_info(struct api_req *r)
{
	char err[256];

	if (api_self(r->api, err, sizeof(err)) != 0)
		return api_reply_ipc_err(r, "netd", err);
	return api_reply_json(r, 200, json_pack("{s:o, s:o}",
	    "peerid", api_jhex(r->api->self_pubkey, 33),
	    "nodeid", api_jhex(r->api->self_node_id, 32)));
}

/*
 * GET /shutdown?action=0: the reference's process is the whole node, so the
 * node's daemons are asked to stop, then apid itself (a moment after this
 * answer has gone out).  A daemon already stopped is no error.
 */
int
api_shutdown(struct api_req *r)
{
	static const char *const order[] = { "searchd", "netd", "storaged" };
	const char *a = api_query(r, "action");
	char err[256];
	uint8_t *rep;
	size_t len, i;
	int rc;

	if (a == NULL || strcmp(a, "0") != 0)
		return api_reply_error(r, 400, "bad_action",
		    "action must be 0 (shut down)");
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (api_ipc_empty(r->api, order[i], IPC_SHUTDOWN, &rep, &len, err,
		    sizeof(err)) == 0)
			free(rep);
		else
			log_info("shutdown: %s: %s", order[i], err);
	}
	rc = api_reply_json(r, 200, json_pack("{s:i}", "status", 0));
	apid_request_stop(r->api);
	return rc;
}
