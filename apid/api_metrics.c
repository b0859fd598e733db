/*
 * api_metrics.c — GET /metrics: the daemons' status, netd's and storaged's
 * counters, the chain and the cache, and apid's own counters, in the
 * Prometheus text exposition format 0.0.4 (every family with HELP and TYPE;
 * counters end in _total).  A daemon that does not answer shows as
 * peernet_daemon_up{daemon="..."} 0 and its families are left out.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apid.h"
#include "ipc.h"

/* Counter names come from the daemons: keep [a-z0-9_] only. */
static void
api_metric_name(char *out, size_t cap, const char *prefix, const char *name,
    const char *suffix)
{
	size_t n, i;

	n = (size_t)snprintf(out, cap, "%s", prefix);
	for (i = 0; name[i] != '\0' && n + 1 < cap; i++) {
		char c = name[i];

		out[n++] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? c :
		    (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : '_';
	}
	out[n] = '\0';
	strlcat(out, suffix, cap);
}

static void
api_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
api_one(FILE *f, const char *name, const char *type, const char *help,
    unsigned long long v)
{
	api_family(f, name, type, help);
	fprintf(f, "%s %llu\n", name, v);
}

static void
api_metrics_daemons(struct api_req *r, FILE *f)
{
	static const char *const names[] = { "netd", "storaged", "searchd" };
	struct ipc_status st[3];
	int up[3], i;
	char err[256];
	uint8_t *rep;
	size_t len;

	for (i = 0; i < 3; i++) {
		up[i] = 0;
		if (api_ipc_empty(r->api, names[i], IPC_STATUS, &rep, &len, err,
		    sizeof(err)) == 0) {
			up[i] = ipc_status_decode(rep, len, IPC_STATUS, &st[i]) == 0;
			free(rep);
		}
	}
	api_family(f, "peernet_daemon_up", "gauge",
	    "Whether the daemon answered its status request (1) or not (0).");
	for (i = 0; i < 3; i++)
		fprintf(f, "peernet_daemon_up{daemon=\"%s\"} %d\n", names[i], up[i]);
	fprintf(f, "peernet_daemon_up{daemon=\"apid\"} 1\n");
	api_family(f, "peernet_daemon_uptime_seconds", "gauge",
	    "Seconds since the daemon started.");
	for (i = 0; i < 3; i++)
		if (up[i])
			fprintf(f, "peernet_daemon_uptime_seconds{daemon=\"%s\"} %.3f\n",
			    names[i], (double)st[i].uptime_ms / 1000.0);
}

static void
api_metrics_netd(struct api_req *r, FILE *f)
{
	struct ipc_net_status ns;
	char err[256], name[128];
	int i;

	if (api_net_status(r->api, &ns, NULL, err, sizeof(err)) != 0)
		return;
	api_one(f, "peernet_netd_peers", "gauge", "Peers in netd's peer list.", ns.peers);
	api_one(f, "peernet_netd_peers_active", "gauge",
	    "Peers with an active connection.", ns.active);
	api_one(f, "peernet_netd_dht_contacts", "gauge",
	    "Contacts in the Kademlia routing table.", ns.dht_size);
	for (i = 0; i < IPC_NC_MAX; i++) {
		api_metric_name(name, sizeof(name), "peernet_netd_",
		    ipc_net_counter_name(i), "_total");
		api_family(f, name, "counter", "netd counter (peernetctl status).");
		fprintf(f, "%s %llu\n", name, (unsigned long long)ns.counters[i]);
	}
}

/* A gauge a field of a decoded storaged reply (all are uint64_t). */
struct api_gauge {
	const char	*name, *help;
	size_t		 off;
};

static const struct api_gauge api_chain_gauges[] = {
	{ "peernet_chain_height", "Height of the own blockchain.",
	    offsetof(struct ipc_chain_info, height) },
	{ "peernet_chain_version", "Version of the own blockchain.",
	    offsetof(struct ipc_chain_info, version) },
	{ "peernet_chain_files", "Files shared in the own blockchain.",
	    offsetof(struct ipc_chain_info, files) },
	{ "peernet_chain_shared_bytes", "Sum of the sizes of the shared files.",
	    offsetof(struct ipc_chain_info, bytes) },
};

static const struct api_gauge api_cache_gauges[] = {
	{ "peernet_cache_peers", "Peers whose blockchain is cached.",
	    offsetof(struct ipc_cache_info, peers) },
	{ "peernet_cache_blocks", "Blocks in the cache of other peers' blockchains.",
	    offsetof(struct ipc_cache_info, blocks) },
	{ "peernet_cache_size_bytes", "Bytes of the cache of other peers' blockchains.",
	    offsetof(struct ipc_cache_info, bytes) },
	{ "peernet_cache_files", "File records in the cache.",
	    offsetof(struct ipc_cache_info, files) },
};

static int
api_chain_decode(const uint8_t *b, size_t len, void *out)
{
	return ipc_chain_info_decode(b, len, IPC_CHAIN, out);
}

static int
api_cache_decode(const uint8_t *b, size_t len, void *out)
{
	return ipc_cache_info_decode(b, len, out);
}

/* Asks storaged for type; when the reply decodes into rec, its gauges. */
static void
api_storaged_gauges(struct api_req *r, FILE *f, uint16_t type,
    int (*decode)(const uint8_t *, size_t, void *), void *rec,
    const struct api_gauge *g, size_t n)
{
	char err[256];
	uint8_t *rep;
	size_t len, i;
	uint64_t v;
	int ok;

	if (api_ipc_empty(r->api, "storaged", type, &rep, &len, err,
	    sizeof(err)) != 0)
		return;
	ok = decode(rep, len, rec) == 0;
	free(rep);
	for (i = 0; ok && i < n; i++) {
		memcpy(&v, (const uint8_t *)rec + g[i].off, sizeof(v));
		api_one(f, g[i].name, "gauge", g[i].help, v);
	}
}

static void
api_metrics_storaged(struct api_req *r, FILE *f)
{
	struct ipc_counters ct;
	struct ipc_chain_info ci;
	struct ipc_cache_info ca;
	char err[256], name[128];
	uint8_t *rep;
	size_t len;
	int i, ok;

	api_storaged_gauges(r, f, IPC_CHAIN, api_chain_decode, &ci,
	    api_chain_gauges, sizeof(api_chain_gauges) / sizeof(api_chain_gauges[0]));
	api_storaged_gauges(r, f, IPC_CACHE, api_cache_decode, &ca,
	    api_cache_gauges, sizeof(api_cache_gauges) / sizeof(api_cache_gauges[0]));
	if (api_ipc_empty(r->api, "storaged", IPC_STORE_STATUS, &rep, &len, err,
	    sizeof(err)) != 0)
		return;
	ok = ipc_counters_decode(rep, len, IPC_STORE_STATUS, &ct) == 0;
	free(rep);
	if (!ok)
		return;
	for (i = 0; i < ct.n; i++) {
		api_metric_name(name, sizeof(name), "peernet_storaged_", ct.c[i].name,
		    "_total");
		api_family(f, name, "counter", "storaged counter (peernetctl status).");
		fprintf(f, "%s %llu\n", name, (unsigned long long)ct.c[i].value);
	}
}

static void
api_metrics_apid(struct api_req *r, FILE *f)
{
	struct apid_stats *s = &r->api->st;

	api_one(f, "peernet_apid_requests_total", "counter",
	    "HTTP requests received by apid.", atomic_load(&s->requests));
	api_family(f, "peernet_apid_responses_total", "counter",
	    "HTTP responses by status class.");
	fprintf(f, "peernet_apid_responses_total{class=\"2xx\"} %llu\n",
	    atomic_load(&s->replies_2xx));
	fprintf(f, "peernet_apid_responses_total{class=\"4xx\"} %llu\n",
	    atomic_load(&s->replies_4xx));
	fprintf(f, "peernet_apid_responses_total{class=\"5xx\"} %llu\n",
	    atomic_load(&s->replies_5xx));
	api_one(f, "peernet_apid_auth_failures_total", "counter",
	    "Requests refused for a missing or wrong API key.",
	    atomic_load(&s->auth_failures));
	api_one(f, "peernet_apid_bad_requests_total", "counter",
	    "Requests answered 400 (malformed input).", atomic_load(&s->bad_requests));
	api_one(f, "peernet_apid_ipc_failures_total", "counter",
	    "IPC calls to the other daemons that failed.", atomic_load(&s->ipc_failures));
	api_one(f, "peernet_apid_streamed_bytes_total", "counter",
	    "File bytes sent by /file/read, /file/view and /warehouse/read.",
	    atomic_load(&s->bytes_streamed));
	api_one(f, "peernet_apid_status_queries_total", "counter",
	    "Queries of netd's status for the snapshot /status is served from.",
	    atomic_load(&s->status_queries));
}

int
api_metrics(struct api_req *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return api_reply_error(r, 500, "internal", "out of memory");
	api_metrics_daemons(r, f);
	api_metrics_netd(r, f);
	api_metrics_storaged(r, f);
	api_metrics_apid(r, f);
	if (fclose(f) != 0) {
		free(buf);
		return api_reply_error(r, 500, "internal", "out of memory");
	}
	return api_reply_bytes(r, 200, "text/plain; version=0.0.4; charset=utf-8",
	    buf, len, 0);
}
