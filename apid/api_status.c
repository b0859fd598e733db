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
#define _GNU_SOURCE	/* pthread_cond_clockwait */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apid.h"
#include "ipc.h"
#include "log.h"
#include "loop.h"
#include "wire_msg.h"

int
api_test(struct api_req *r)
{
	return api_reply_bytes(r, 200, "text/plain; charset=utf-8", "ok", 2, 1);
}

/*
 * netd's status, shared (issue #17).  /status is what a client polls, and
 * every call was an IPC round trip through nng's threads to netd's loop:
 * at 2,000 requests/s those round trips, not the HTTP, made its p99 tens of
 * milliseconds.  So one snapshot is kept, with /status's JSON made from it
 * once, and served while it is at most API_SNAP_MAX_MS old
 * (docs/webapi.md, "Freshness of /status").  A refresher thread fetches a
 * new one when a request finds the snapshot older than API_SNAP_REFRESH_MS,
 * so that under steady polling no request waits for netd; a request that
 * finds no usable snapshot (the first, or after a pause) waits for the one
 * query in flight instead of sending its own (single flight), and a failed
 * query is the answer of everyone who waited for it.  /metrics and the
 * console's "status" read the same snapshot.
 */
#define API_SNAP_MAX_MS		100
#define API_SNAP_REFRESH_MS	50

static struct {
	pthread_mutex_t		 lock;
	pthread_cond_t		 done;		/* a query finished (gen moved) */
	pthread_cond_t		 kick;		/* the refresher has work */
	struct apid		*api;
	pthread_t		 thread;
	int			 started;	/* the refresher runs */
	int			 stop;
	int			 want;		/* a query asked of the refresher */
	int			 inflight;	/* a query asked and not finished */
	unsigned long		 gen;		/* queries finished */
	int			 ok;		/* the last query's outcome */
	uint64_t		 at_ms;		/* when it was fetched (monotonic) */
	struct ipc_net_status	 ns;
	char			*json;		/* /status's body from ns */
	char			 err[256];	/* the last query's failure */
} api_snap = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
	.kick = PTHREAD_COND_INITIALIZER,
};

/*
 * The reference: connected = at least 2 peers; network = peer list.
 * Ours: netd's view of its own reachability, as peernetctl status shows it
 * (the strings are netd's, from ipc_net_status).
 */
static char *
api_status_dump(const struct ipc_net_status *ns)
{
	json_t *j;
	char *s;

	j = json_pack("{s:i, s:b, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o}",
	    "status", 0, "isconnected", ns->peers >= 2,
	    "countpeerlist", (json_int_t)ns->peers,
	    "countnetwork", (json_int_t)ns->peers,
	    "x_activepeers", (json_int_t)ns->active,
	    "x_dhtsize", (json_int_t)ns->dht_size,
	    "x_nat", api_jstrn(ns->nat, strnlen(ns->nat, sizeof(ns->nat))),
	    "x_portmap", api_jstrn(ns->portmap, strnlen(ns->portmap, sizeof(ns->portmap))),
	    "x_external", api_jstrn(ns->external, strnlen(ns->external, sizeof(ns->external))),
	    "x_listen", api_jstrn(ns->listen, strnlen(ns->listen, sizeof(ns->listen))));
	if (j == NULL)
		return NULL;
	s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(j);
	return s;
}

/* One query to netd, outside the lock; its outcome stored under it. */
static void
api_snap_fetch(struct apid *api)
{
	struct ipc_net_status *ns;
	char err[256] = "", *json = NULL;
	uint8_t *rep;
	size_t len;
	int ok = 0;

	atomic_fetch_add(&api->st.status_queries, 1);
	if ((ns = malloc(sizeof(*ns))) == NULL)
		snprintf(err, sizeof(err), "out of memory");
	else if (api_ipc_empty(api, "netd", IPC_NET_STATUS, &rep, &len, err,
	    sizeof(err)) == 0) {
		if (ipc_net_status_decode(rep, len, ns) != 0)
			snprintf(err, sizeof(err), "malformed status reply");
		else if ((json = api_status_dump(ns)) == NULL)
			snprintf(err, sizeof(err), "out of memory");
		else
			ok = 1;
		free(rep);
	}
	pthread_mutex_lock(&api_snap.lock);
	api_snap.ok = ok;
	if (ok) {
		api_snap.ns = *ns;
		free(api_snap.json);
		api_snap.json = json;
		api_snap.at_ms = loop_now_ms();
	} else
		snprintf(api_snap.err, sizeof(api_snap.err), "%s", err);
	api_snap.inflight = 0;
	api_snap.gen++;
	pthread_cond_broadcast(&api_snap.done);
	pthread_mutex_unlock(&api_snap.lock);
	free(ns);
}

static void *
api_snap_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&api_snap.lock);
	while (!api_snap.stop) {
		if (!api_snap.want) {
			pthread_cond_wait(&api_snap.kick, &api_snap.lock);
			continue;
		}
		api_snap.want = 0;
		pthread_mutex_unlock(&api_snap.lock);
		api_snap_fetch(api_snap.api);
		pthread_mutex_lock(&api_snap.lock);
	}
	pthread_mutex_unlock(&api_snap.lock);
	return NULL;
}

/*
 * Under the lock: a query is asked of the refresher (started on first use,
 * so that it inherits the sandbox); 0, or -1 when there is none (it could
 * not be started, or apid stops): nothing is in flight then.
 */
static int
api_snap_ask(struct apid *api)
{
	sigset_t all, old;

	if (!api_snap.started && !api_snap.stop) {
		api_snap.api = api;
		/* Signals stay the loop's (as for MHD's threads). */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		api_snap.started = pthread_create(&api_snap.thread, NULL,
		    api_snap_main, NULL) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (!api_snap.started)
		return -1;
	api_snap.inflight = 1;
	api_snap.want = 1;
	pthread_cond_signal(&api_snap.kick);
	return 0;
}

int
api_net_status(struct apid *api, struct ipc_net_status *ns, char **json,
    char *err, size_t errlen)
{
	struct timespec dl;
	unsigned long gen;
	uint64_t now, age, wait_ms = api->conf->ipc_timeout_ms + 1000;
	int rc = -1, asked = 0;

	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += (time_t)(wait_ms / 1000);
	dl.tv_nsec += (long)(wait_ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&api_snap.lock);
	for (;;) {
		now = loop_now_ms();
		age = now - api_snap.at_ms;
		if (api_snap.ok && age <= API_SNAP_MAX_MS) {
			if (age >= API_SNAP_REFRESH_MS && !api_snap.inflight)
				(void)api_snap_ask(api);	/* else the next request's */
			if (ns != NULL)
				*ns = api_snap.ns;
			if (json != NULL && (*json = strdup(api_snap.json)) == NULL) {
				snprintf(err, errlen, "out of memory");
				break;
			}
			rc = 0;
			break;
		}
		if (asked && !api_snap.ok) {	/* the query waited for failed */
			snprintf(err, errlen, "%s", api_snap.err);
			break;
		}
		gen = api_snap.gen;
		if (!api_snap.inflight && api_snap_ask(api) != 0) {
			/* No refresher: this request is the one in flight. */
			api_snap.inflight = 1;
			pthread_mutex_unlock(&api_snap.lock);
			api_snap_fetch(api);
			pthread_mutex_lock(&api_snap.lock);
		}
		asked = 1;
		while (api_snap.gen == gen && rc == -1)
			if (pthread_cond_clockwait(&api_snap.done, &api_snap.lock,
			    CLOCK_MONOTONIC, &dl) == ETIMEDOUT) {
				snprintf(err, errlen, "no reply within %" PRIu64 " ms",
				    wait_ms);
				rc = -2;
			}
		if (rc == -2) {
			rc = -1;
			break;
		}
	}
	pthread_mutex_unlock(&api_snap.lock);
	return rc;
}

void
api_net_status_stop(void)
{
	int join;

	pthread_mutex_lock(&api_snap.lock);
	api_snap.stop = 1;
	join = api_snap.started;
	pthread_cond_signal(&api_snap.kick);
	pthread_mutex_unlock(&api_snap.lock);
	if (join)
		pthread_join(api_snap.thread, NULL);
	api_snap.started = 0;
	free(api_snap.json);
	api_snap.json = NULL;
}

int
api_status(struct api_req *r)
{
	char err[256], *json;

	if (api_net_status(r->api, NULL, &json, err, sizeof(err)) != 0)
		return api_reply_ipc_err(r, "netd", err);
	return api_reply_bytes(r, 200, "application/json", json, strlen(json), 0);
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
