/*
 * ctl_net.c — the network verbs: peers, ping, find, and the network part of
 * `status`.  `ping` and `find` exit 0 when the node answered / was found and
 * 1 otherwise, so that scripts can rely on them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "hex.h"
#include "ipc.h"

static uint8_t ctl_nbuf[IPC_MSG_MAX];

static int
ctl_node_arg(const char *s, uint8_t id[32])
{
	uint8_t pub[33];

	/* A node ID (64 hex) or a peer ID (66 hex) whose node ID is blake3 of it. */
	if (strlen(s) == 64 && hex_decode(id, 32, s) == 32)
		return 0;
	if (strlen(s) == 66 && hex_decode(pub, 33, s) == 33) {
		ident_node_id(pub, id);
		return 0;
	}
	return -1;
}

/* How long netd may try (ping, find): the request's wait less a margin. */
static uint32_t
ctl_net_wait(struct ctl *c)
{
	int w = ctl_left_ms(c, c->timeout_ms);

	return (uint32_t)(w > 1000 ? w - 500 : w > 200 ? w - 100 : w > 0 ? w : 1);
}

/* The secure transport with that peer (ipc_peer.secure, docs/secure.md). */
static const char *
ctl_peer_secure(uint8_t v)
{
	return v == 2 ? "yes" : v == 1 ? "no" : "v0";
}

int
ctl_peers(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	struct ipc_peer_list l;
	struct ipc_peer p;
	uint8_t *rep;
	size_t len;
	char node[65], pub[67];
	json_t *arr;
	int rc;

	if ((rc = ctl_verb_ask(c, v, argc, argv, "netd", IPC_PEERS, &rep,
	    &len)) >= 0)
		return rc;
	if ((rc = ipc_peer_list_decode(rep, len, &l)) != 0) {
		free(rep);
		ctl_err("peers: malformed reply: %s", ipc_decode_strerror(rc));
		return 1;
	}
	arr = json_array();
	if (!c->json)
		printf("%-16s %-24s %-8s %7s %-5s %-6s %s\n", "NODE", "ADDRESS", "STATE",
		    "RTT", "ROOT", "SECURE", "USER AGENT");
	while (ipc_peer_list_next(&l, &p) == 1) {
		hex_encode(node, p.node_id, 32);
		hex_encode(pub, p.pubkey, 33);
		if (c->json) {
			json_array_append_new(arr, json_pack(
			    "{s:s, s:s, s:o, s:s, s:b, s:b, s:i, s:I, s:I, s:I, s:i, s:o, s:s}",
			    "node_id", node, "peer_id", pub, "address", ctl_jstr(p.addr),
			    "state", p.active ? "active" : "inactive", "root", p.root,
			    "nat", p.nat, "connections", (int)p.conns,
			    "rtt_ms", (json_int_t)p.rtt_ms, "height", (json_int_t)p.height,
			    "version", (json_int_t)p.version, "features", p.features,
			    "user_agent", ctl_jstr(p.user_agent),
			    "secure", ctl_peer_secure(p.secure)));
			continue;
		}
		/* the user agent is whatever the peer announced */
		printf("%.16s %-24s %-8s %5ums %-5s %-6s %s\n", node, TS(p.addr),
		    p.active ? "active" : "inactive", p.rtt_ms, p.root ? "yes" : "",
		    ctl_peer_secure(p.secure), TS(p.user_agent));
	}
	if (c->json)
		ctl_json_print(json_pack("{s:i, s:o}", "total", (int)l.total, "peers", arr));
	else
		json_decref(arr);
	free(rep);
	return 0;
}

/*
 * The one operand of ping and find: a node ID (64 hex digits) or a peer ID
 * (66) into id; -1 to go on, else the verb's exit code.
 */
static int
ctl_net_node_operand(struct ctl *c, const struct ctl_verb *v, int argc, char **argv,
    uint8_t id[32])
{
	int first;

	if ((first = ctl_verb_opts(c, v, argc, argv)) < 0)
		return first == -2 ? 0 : CTL_EXIT_USAGE;
	if (first != argc - 1 || ctl_node_arg(argv[first], id) != 0) {
		ctl_err("%s: expected a node ID (64 hex digits) or a peer ID (66)",
		    v->name);
		return CTL_EXIT_USAGE;
	}
	return -1;
}

int
ctl_ping(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	struct ipc_ping_req q;
	struct ipc_ping_rep r;
	uint8_t *rep;
	size_t len;
	long n;
	int rc;

	if ((rc = ctl_net_node_operand(c, v, argc, argv, q.node_id)) >= 0)
		return rc;
	q.timeout_ms = ctl_net_wait(c);
	n = ipc_ping_req_encode(ctl_nbuf, sizeof(ctl_nbuf), &q);
	if (ctl_call(c, "netd", ctl_nbuf, (size_t)n, &rep, &len, 0) == -1)
		return 1;
	if (ctl_reply_decoded(rep, ipc_ping_rep_decode(rep, len, &r), "ping", "netd") != 0)
		return 1;
	if (c->json)
		ctl_json_print(json_pack("{s:b, s:i, s:o}", "reached", 1, "rtt_ms",
		    (int)r.rtt_ms, "address", ctl_jstr(r.addr)));
	else
		printf("pong from %s: %u ms\n", TS(r.addr), r.rtt_ms);
	return 0;
}

int
ctl_find(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	struct ipc_find_req q;
	struct ipc_find_rep r;
	uint8_t *rep;
	size_t len;
	char pub[67];
	long n;
	int rc;

	if ((rc = ctl_net_node_operand(c, v, argc, argv, q.key)) >= 0)
		return rc;
	q.timeout_ms = ctl_net_wait(c);
	n = ipc_find_req_encode(ctl_nbuf, sizeof(ctl_nbuf), &q);
	if (ctl_call(c, "netd", ctl_nbuf, (size_t)n, &rep, &len, 0) == -1)
		return 1;
	if (ctl_reply_decoded(rep, ipc_find_rep_decode(rep, len, &r), "find", "netd") != 0)
		return 1;
	hex_encode(pub, r.pubkey, 33);
	if (c->json)
		ctl_json_print(json_pack("{s:b, s:s, s:o, s:i, s:i}", "found", r.found,
		    "peer_id", r.found ? pub : "", "addresses", ctl_jstr(r.addrs),
		    "rounds", (int)r.rounds, "messages", (int)r.messages));
	else if (r.found)
		printf("found %s at %s (%u rounds, %u queries)\n", pub,
		    r.addrs[0] ? TS(r.addrs) : "(own node)", r.rounds, r.messages);
	else
		printf("not found (%u rounds, %u queries)\n", r.rounds, r.messages);
	return r.found ? 0 : 1;
}

/* The network part of `status`: listen addresses, peers, DHT, counters. */
int
ctl_net_status(struct ctl *c, json_t **out)
{
	static struct ipc_net_status st;
	uint8_t *rep;
	size_t len;
	char node[65];
	json_t *cnt;
	int rc, i;

	if (ctl_call_empty(c, "netd", IPC_NET_STATUS, &rep, &len, 1) == -1)
		return -1;
	rc = ipc_net_status_decode(rep, len, &st);
	free(rep);
	if (rc != 0)
		return -1;
	hex_encode(node, st.node_id, 32);
	if (out != NULL) {
		cnt = json_object();
		for (i = 0; i < IPC_NC_MAX; i++)
			json_object_set_new(cnt, ipc_net_counter_name(i),
			    json_integer((json_int_t)st.counters[i]));
		*out = json_pack("{s:s, s:o, s:i, s:i, s:i, s:o, s:o, s:o, s:o}",
		    "node_id", node, "listen", ctl_jstr(st.listen), "peers", (int)st.peers,
		    "active_peers", (int)st.active, "dht_size", (int)st.dht_size,
		    "nat", ctl_jstr(st.nat), "portmap", ctl_jstr(st.portmap),
		    "external", ctl_jstr(st.external),
		    "counters", cnt);
		return 0;
	}
	printf("network\n  node id   %s\n  listen    %s\n  peers     %u (%u active)\n"
	    "  dht       %u contacts\n  nat       %s\n  portmap   %s\n  external  %s\n"
	    "  packets   %llu in, %llu out, "
	    "%llu dropped\n", node, TS(st.listen), st.peers, st.active, st.dht_size,
	    TS(st.nat), TS(st.portmap), st.external[0] ? TS(st.external) : "unknown", (unsigned long long)st.counters[IPC_NC_RX_PACKETS],
	    (unsigned long long)st.counters[IPC_NC_TX_PACKETS],
	    (unsigned long long)(st.counters[IPC_NC_DROP_SHORT] +
	    st.counters[IPC_NC_DROP_DECODE] + st.counters[IPC_NC_DROP_SELF] +
	    st.counters[IPC_NC_DROP_REPLAY] + st.counters[IPC_NC_DROP_PROTOCOL] +
	    st.counters[IPC_NC_DROP_MESSAGE] + st.counters[IPC_NC_DROP_UNKNOWN_CMD] +
	    st.counters[IPC_NC_DROP_UNSOLICITED] + st.counters[IPC_NC_DROP_PEER_FULL]));
	/* The secure transport (docs/secure.md); every reason in --json. */
	printf("  secure    %llu sessions, %llu sealed, %llu opened, %llu dropped\n",
	    (unsigned long long)st.counters[IPC_NC_SECURE_HANDSHAKES],
	    (unsigned long long)st.counters[IPC_NC_SECURE_SEALED],
	    (unsigned long long)st.counters[IPC_NC_SECURE_OPENED],
	    (unsigned long long)(st.counters[IPC_NC_DROP_SECURE_AUTH] +
	    st.counters[IPC_NC_DROP_SECURE_REPLAY] + st.counters[IPC_NC_DROP_SECURE_MALFORMED] +
	    st.counters[IPC_NC_DROP_SECURE_PLAINTEXT] +
	    st.counters[IPC_NC_DROP_SECURE_HANDSHAKE]));
	return 0;
}
