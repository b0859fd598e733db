/*
 * api_ipc.c — the only place apid talks to the node: one synchronous
 * request/reply on a daemon's IPC socket per call, bounded by
 * ipc_timeout_ms.  Every reply is decoded by the catalogue's codecs
 * (common/ipc_msg*.c), which check it as if it came from an attacker.
 *
 * ipc_call keeps its wait state in a static (one call at a time per
 * process), so the connection threads take turns through api_ipc_lock.
 * Calls are short (a status, a page of results, a 256 KiB chunk), so the
 * turns are too; a daemon that hangs holds the others for at most the
 * timeout.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apid.h"
#include "daemon.h"
#include "ipc.h"
#include "log.h"

static pthread_mutex_t api_ipc_lock = PTHREAD_MUTEX_INITIALIZER;

int
api_ipc(struct apid *api, const char *daemon, const void *req, size_t len,
    uint8_t **rep, size_t *replen, int *refused, char *err, size_t errlen)
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
	pthread_mutex_lock(&api_ipc_lock);
	rc = ipc_call(path, req, len, rep, replen, (int)api->conf->ipc_timeout_ms,
	    err, errlen);
	pthread_mutex_unlock(&api_ipc_lock);
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
