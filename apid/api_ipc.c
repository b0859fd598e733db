/*
 * api_ipc.c — the only place apid talks to the node: one synchronous
 * request/reply on a daemon's IPC socket per call, bounded by
 * ipc_timeout_ms.  Every reply is decoded by the catalogue's codecs
 * (common/ipc_msg*.c), which check it as if it came from an attacker.
 *
 * Connections are kept: each daemon has a pool of connected nng req0
 * sockets.  A call takes one (or dials a new one when none is free), uses
 * it alone for its one request, and gives it back; the pool's lock is held
 * only to take or give back, never across a call, so connection threads
 * wait on their own replies and not on each other's (issue #17: a new
 * connection per /status behind one process-wide lock made its p99 seconds
 * at 2,000 requests/s).  A socket whose connection went away (the daemon
 * stopped or restarted: its pipe-removed callback marks it) or whose call
 * failed in any way is closed, never reused, so a call never meets a
 * half-finished request; the next call dials again, which also gives the
 * clear "not running" answer at once when the daemon is down.  Dialing
 * after the sandbox is what apid always did (connect() on a unix socket in
 * the run dir, which Landlock and the seccomp allowlist keep).  The
 * connection and the exchange on it (dial, send, one aio wait that the
 * pipe-removed callback cancels) are common/ipc.c's struct ipc_conn, the
 * same that ipc_call uses for its one call on a fresh socket.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apid.h"
#include "daemon.h"
#include "ipc.h"
#include "log.h"

#define API_IPC_DAEMONS		8	/* distinct daemon names (netd, storaged, searchd) */
#define API_IPC_KEEP		32	/* idle connections kept per daemon */
#define API_FIND_MS		3000	/* DHT lookup of a node not connected */

/* A daemon's idle connections, each used by one call at a time. */
struct api_pool {
	char		 name[IPC_NAME_MAX];
	struct ipc_conn	*idle[API_IPC_KEEP];
	int		 nidle;
};

static pthread_mutex_t api_ipc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct api_pool api_pools[API_IPC_DAEMONS];
static int api_npools;

static struct api_pool *
api_pool_find(const char *daemon)
{
	int i;

	for (i = 0; i < api_npools; i++)
		if (strcmp(api_pools[i].name, daemon) == 0)
			return &api_pools[i];
	if (api_npools == API_IPC_DAEMONS || strlen(daemon) >= IPC_NAME_MAX)
		return NULL;
	snprintf(api_pools[api_npools].name, IPC_NAME_MAX, "%s", daemon);
	return &api_pools[api_npools++];
}

/* An idle connection to daemon that is still connected, or NULL. */
static struct ipc_conn *
api_conn_take(const char *daemon)
{
	struct ipc_conn *c = NULL, *dead[API_IPC_KEEP];
	struct api_pool *p;
	int i, ndead = 0;

	pthread_mutex_lock(&api_ipc_lock);
	if ((p = api_pool_find(daemon)) != NULL)
		while (p->nidle > 0) {
			c = p->idle[--p->nidle];
			if (!ipc_conn_lost(c))
				break;
			dead[ndead++] = c;
			c = NULL;
		}
	pthread_mutex_unlock(&api_ipc_lock);
	/* Closed outside the lock: nng_close may wait. */
	for (i = 0; i < ndead; i++)
		ipc_conn_close(dead[i]);
	return c;
}

static void
api_conn_give(const char *daemon, struct ipc_conn *c)
{
	struct api_pool *p;

	pthread_mutex_lock(&api_ipc_lock);
	if (!ipc_conn_lost(c) && (p = api_pool_find(daemon)) != NULL &&
	    p->nidle < API_IPC_KEEP) {
		p->idle[p->nidle++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&api_ipc_lock);
	if (c != NULL)
		ipc_conn_close(c);
}

void
api_ipc_close_all(void)
{
	int i;

	pthread_mutex_lock(&api_ipc_lock);
	for (i = 0; i < api_npools; i++)
		while (api_pools[i].nidle > 0)
			ipc_conn_close(api_pools[i].idle[--api_pools[i].nidle]);
	pthread_mutex_unlock(&api_ipc_lock);
}

/* ipc_call's contract (common/ipc.h) on a kept connection. */
static int
api_call(const char *daemon, const char *path, const void *req, size_t len,
    uint8_t **rep, size_t *replen, int timeout_ms, char *err, size_t errlen)
{
	struct ipc_conn *c;
	int ret;

	*rep = NULL;
	*replen = 0;
	if ((c = api_conn_take(daemon)) == NULL &&
	    (c = ipc_conn_dial(path, timeout_ms, &ret, err, errlen)) == NULL)
		return ret;
	ret = ipc_conn_call(c, path, req, len, rep, replen, timeout_ms, err, errlen);
	if (ret == 0)
		api_conn_give(daemon, c);
	else
		/* Never reused: a late reply or a resend could meet the next call. */
		ipc_conn_close(c);
	return ret;
}

int
api_ipc_timed(struct apid *api, const char *daemon, const void *req, size_t len,
    int timeout_ms, uint8_t **rep, size_t *replen, int *refused, char *err,
    size_t errlen)
{
	char path[PATH_MAX], why[IPC_STR_MAX + 1];
	struct ipc_hdr h, qh;
	uint16_t status;
	int rc;

	*refused = 0;
	*rep = NULL;
	if (ipc_hdr_decode(req, len, &qh) != 0 ||
	    daemon_sock_path(api->d, daemon, path, sizeof(path)) == -1) {
		snprintf(err, errlen, "%s: bad request or path", daemon);
		return -1;
	}
	rc = api_call(daemon, path, req, len, rep, replen, timeout_ms, err, errlen);
	if (rc != 0) {
		atomic_fetch_add(&api->st.ipc_failures, 1);
		return -1;
	}
	if (ipc_hdr_decode(*rep, *replen, &h) != 0 || h.type != qh.type) {
		snprintf(err, errlen, "%s: malformed reply", daemon);
		goto bad;
	}
	if (h.status != IPC_OK) {
		*refused = 1;
		if (ipc_error_decode(*rep, *replen, &status, why, sizeof(why)) != 0)
			snprintf(why, sizeof(why), "%s", ipc_err_str(h.status));
		snprintf(err, errlen, "%s", why);
		goto bad;
	}
	return 0;
bad:
	atomic_fetch_add(&api->st.ipc_failures, 1);
	free(*rep);
	*rep = NULL;
	return -1;
}

int
api_ipc(struct apid *api, const char *daemon, const void *req, size_t len,
    uint8_t **rep, size_t *replen, int *refused, char *err, size_t errlen)
{
	return api_ipc_timed(api, daemon, req, len, (int)api->conf->ipc_timeout_ms,
	    rep, replen, refused, err, errlen);
}

/*
 * netd answers a request about a node it has no connection to with "not
 * connected": the node is looked up in the DHT once (IPC_FIND, which also
 * contacts it) and the request asked again.
 */
int
api_ipc_node(struct apid *api, const void *req, size_t len, const uint8_t node[32],
    int timeout_ms, uint8_t **rep, size_t *replen, int *refused, char *err,
    size_t errlen)
{
	struct ipc_find_req f;
	uint8_t freq[128], *frep;
	size_t flen;
	int frefused;
	long n;

	if (api_ipc_timed(api, "netd", req, len, timeout_ms, rep, replen, refused,
	    err, errlen) == 0)
		return 0;
	if (!*refused || strstr(err, "not connected") == NULL)
		return -1;
	memset(&f, 0, sizeof(f));
	memcpy(f.key, node, 32);
	f.timeout_ms = API_FIND_MS;
	n = ipc_find_req_encode(freq, sizeof(freq), &f);
	if (api_ipc(api, "netd", freq, (size_t)n, &frep, &flen, &frefused, err,
	    errlen) == 0)
		free(frep);
	return api_ipc_timed(api, "netd", req, len, timeout_ms, rep, replen, refused,
	    err, errlen);
}

int
api_ipc_empty(struct apid *api, const char *daemon, uint16_t type,
    uint8_t **rep, size_t *replen, char *err, size_t errlen)
{
	uint8_t req[IPC_HDR_LEN];
	int refused;
	long n;

	n = ipc_empty_encode(req, sizeof(req), type, IPC_OK);
	return api_ipc(api, daemon, req, (size_t)n, rep, replen, &refused, err,
	    errlen);
}

int
api_reply_ipc_err(struct api_req *r, const char *daemon, const char *err)
{
	log_debug("%s: %s: %s", r->url, daemon, err);
	return api_reply_error(r, 502, "node_unavailable", "%s: %s", daemon, err);
}

int
api_self(struct apid *api, char *err, size_t errlen)
{
	struct ipc_id id;
	uint8_t *rep;
	size_t len;
	int rc;

	if (api->have_self)
		return 0;
	if (api_ipc_empty(api, "netd", IPC_ID, &rep, &len, err, errlen) != 0)
		return -1;
	rc = ipc_id_decode(rep, len, &id);
	free(rep);
	if (rc != 0) {
		snprintf(err, errlen, "malformed identity reply");
		return -1;
	}
	/* Written once before have_self is set; racing writers write the same. */
	memcpy(api->self_pubkey, id.pubkey, sizeof(api->self_pubkey));
	memcpy(api->self_node_id, id.node_id, sizeof(api->self_node_id));
	api->have_self = 1;
	return 0;
}
