/*
 * api_download.c — downloads to a local path (FEATURES.md §3.5).  netd
 * fetches the file into the warehouse, where storaged checks it against its
 * hash before keeping it (the reference verifies nothing); apid then copies
 * it into the target file beneath api_files_dir, hashing what it writes,
 * the first time /download/status sees the transfer done.  A node not
 * connected yet is looked up in the DHT once, as the reference does.
 *
 * The table of downloads lives here (APID_DOWNLOADS at most, finished ones
 * forgotten after an hour, as the reference), under one mutex.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "apid.h"
#include "ipc.h"
#include "log.h"

#define APID_DOWNLOADS		64
#define APID_DL_KEEP_S		3600	/* finished downloads are forgotten after */

/* The reference's codes (webapi/Download.go). */
enum { DL_API_OK = 0, DL_API_NOT_FOUND = 1, DL_API_FILE_INVALID = 2,
	DL_API_ACTION_INVALID = 4, DL_API_FILE_WRITE = 5 };
enum { DL_WAIT_METADATA = 0, DL_WAIT_SWARM = 1, DL_ACTIVE = 2, DL_PAUSED = 3,
	DL_CANCELED = 4, DL_FINISHED = 5 };

struct api_dl {
	int		used;
	uint8_t		id[16];
	uint8_t		hash[32];
	uint8_t		node[32];
	uint32_t	number;		/* netd's transfer; 0: served from the warehouse */
	int		fd;		/* the target file until it is written */
	int		status;		/* DL_*, once final (canceled, finished) */
	char		error[128];	/* why it failed (our addition) */
	uint64_t	size, done;
	time_t		ended;
};

static struct api_dl api_dls[APID_DOWNLOADS];
static pthread_mutex_t api_dl_lock = PTHREAD_MUTEX_INITIALIZER;

static json_t *
api_dl_json(int apistatus, const struct api_dl *d, int status, int peers)
{
	char id[37], date[32];
	uint64_t size = d ? d->size : 0, done = d ? d->done : 0;
	/* Rounded to 2 decimals, as the reference. */
	double pct = size ? (double)(uint64_t)((double)done / (double)size * 10000.0 +
	    0.5) / 100.0 : 0;

	if (d != NULL)
		api_format_uuid(d->id, id);
	else
		strcpy(id, "00000000-0000-0000-0000-000000000000");
	api_format_time(0, date);
	/* Go serialises the zero apiFile; only size is filled, as the reference. */
	return json_pack("{s:i, s:s, s:i, s:{s:s, s:n, s:i, s:i, s:I, s:s, s:s, s:s, "
	    "s:s, s:n, s:n, s:s}, s:{s:I, s:I, s:f}, s:{s:i}, s:s}",
	    "apistatus", apistatus, "id", id, "downloadstatus", status,
	    "file", "id", "00000000-0000-0000-0000-000000000000", "hash", "type", 0,
	    "format", 0, "size", (json_int_t)(status >= DL_WAIT_SWARM ? size : 0),
	    "folder", "", "name", "", "description", "", "date", date, "nodeid",
	    "metadata", "username", "",
	    "progress", "totalsize", (json_int_t)(status >= DL_WAIT_SWARM ? size : 0),
	    "downloadedsize", (json_int_t)(status >= DL_WAIT_SWARM ? done : 0),
	    "percentage", status >= DL_WAIT_SWARM ? pct : 0.0,
	    "swarm", "countpeers", peers, "error", d ? d->error : "");
}

/* Forgets the downloads that ended more than an hour ago. */
static void
api_dl_expire(void)
{
	time_t now = time(NULL);
	int i;

	for (i = 0; i < APID_DOWNLOADS; i++) {
		struct api_dl *d = &api_dls[i];

		if (d->used && d->ended != 0 && now - d->ended > APID_DL_KEEP_S) {
			if (d->fd != -1)
				close(d->fd);
			memset(d, 0, sizeof(*d));
		}
	}
}

static struct api_dl *
api_dl_find(const uint8_t id[16])
{
	int i;

	api_dl_expire();
	for (i = 0; i < APID_DOWNLOADS; i++)
		if (api_dls[i].used && memcmp(api_dls[i].id, id, 16) == 0)
			return &api_dls[i];
	return NULL;
}

static void
api_dl_end(struct api_dl *d, int status, const char *why)
{
	d->status = status;
	d->ended = time(NULL);
	if (why != NULL)
		snprintf(d->error, sizeof(d->error), "%s", why);
	if (d->fd != -1) {
		close(d->fd);
		d->fd = -1;
	}
}

/* The warehouse file into the target; it must hash to what was asked. */
static void
api_dl_export(struct api_req *r, struct api_dl *d)
{
	char err[256];

	if (api_local_copy(r, d->hash, 0, d->size, d->fd, 1, &d->done, err,
	    sizeof(err)) != 0) {
		api_dl_end(d, DL_CANCELED, err);
		return;
	}
	api_dl_end(d, DL_FINISHED, NULL);
}

/* IPC_GET (api_ipc_node: a node not connected is looked up once). */
static int
api_dl_get(struct api_req *r, struct api_dl *d, char *err, size_t errlen)
{
	struct ipc_get_req g;
	uint8_t req[128], *rep;
	size_t len;
	int refused, rc;
	long n;

	memcpy(g.hash, d->hash, 32);
	memcpy(g.node_id, d->node, 32);
	n = ipc_get_req_encode(req, sizeof(req), &g);
	if (api_ipc_node(r->api, req, (size_t)n, d->node,
	    (int)r->api->conf->ipc_timeout_ms, &rep, &len, &refused, err, errlen) != 0)
		return -1;
	rc = ipc_u32_decode(rep, len, IPC_GET, &d->number);
	free(rep);
	return rc == 0 ? 0 : -1;
}

int
api_download_start(struct api_req *r)
{
	struct api_dl *d = NULL;
	uint8_t hash[32], node[32];
	char err[PATH_MAX + 128];
	json_t *j;
	uint64_t size;
	int fd, rc, i, local;

	if (api_parse_hex(api_query(r, "hash"), hash, 32) != 0 ||
	    api_parse_hex(api_query(r, "node"), node, 32) != 0)
		return api_reply_error(r, 400, "bad_input",
		    "hash and node must be 64 hex digits");
	if (api_self(r->api, err, sizeof(err)) != 0)
		return api_reply_ipc_err(r, "netd", err);
	rc = api_local_open(r->api, api_query(r, "path"), O_WRONLY | O_CREAT | O_TRUNC,
	    0640, &fd, err, sizeof(err));
	if (rc == API_LOCAL_ERRNO)	/* the reference: the target cannot be used */
		return api_reply_json(r, 200, api_dl_json(DL_API_FILE_INVALID, NULL, 0, 0));
	if (rc != 0)
		return api_reply_local_err(r, rc, err);
	pthread_mutex_lock(&api_dl_lock);
	api_dl_expire();
	for (i = 0; i < APID_DOWNLOADS && d == NULL; i++)
		if (!api_dls[i].used)
			d = &api_dls[i];
	if (d == NULL) {
		pthread_mutex_unlock(&api_dl_lock);
		close(fd);
		return api_reply_error(r, 503, "too_many_downloads",
		    "%d downloads are tracked already", APID_DOWNLOADS);
	}
	memset(d, 0, sizeof(*d));
	d->used = 1;
	d->fd = fd;
	d->status = -1;
	randombytes_buf(d->id, sizeof(d->id));
	d->id[6] = (uint8_t)((d->id[6] & 0x0f) | 0x40);	/* UUID version 4 */
	d->id[8] = (uint8_t)((d->id[8] & 0x3f) | 0x80);
	memcpy(d->hash, hash, 32);
	memcpy(d->node, node, 32);
	/* Our own node (or a file we hold already): straight from the warehouse. */
	local = api_wh_size(r->api, hash, &size, err, sizeof(err));
	if (local == 1) {
		d->size = size;
		api_dl_export(r, d);
	} else if (memcmp(node, r->api->self_node_id, 32) == 0)
		api_dl_end(d, DL_CANCELED, "not in this node's warehouse");
	else if (api_dl_get(r, d, err, sizeof(err)) != 0)
		api_dl_end(d, DL_CANCELED, err);
	j = api_dl_json(DL_API_OK, d, DL_WAIT_METADATA, 0);
	pthread_mutex_unlock(&api_dl_lock);
	return api_reply_json(r, 200, j);
}

/* The transfer's state from netd; *peers 1 while data flows. */
static int
api_dl_state(struct api_req *r, struct api_dl *d, int *peers)
{
	struct ipc_xfer_list xl;
	struct ipc_xfer_info x;
	uint8_t req[32], *rep;
	char err[256];
	size_t len;
	int refused, found = 0;
	long n;

	*peers = 0;
	if (d->status >= 0)
		return d->status;
	n = ipc_u32_encode(req, sizeof(req), IPC_TRANSFERS, d->number);
	if (api_ipc(r->api, "netd", req, (size_t)n, &rep, &len, &refused, err,
	    sizeof(err)) != 0 || ipc_xfer_list_decode(rep, len, &xl) != 0) {
		free(rep);
		return DL_WAIT_SWARM;	/* netd unreachable now: unchanged */
	}
	while (ipc_xfer_list_next(&xl, &x) == 1)
		if (x.number == d->number && x.role == IPC_XFER_DOWNLOAD) {
			found = 1;
			break;
		}
	free(rep);
	if (!found) {
		api_dl_end(d, DL_CANCELED, "netd forgot the transfer");
		return d->status;
	}
	d->size = x.total;
	d->done = x.done;
	switch (x.state) {
	case IPC_XFER_STARTING:
		return DL_WAIT_SWARM;
	case IPC_XFER_RUNNING:
	case IPC_XFER_STORING:
		*peers = 1;
		return DL_ACTIVE;
	case IPC_XFER_PAUSED:
		return DL_PAUSED;
	case IPC_XFER_DONE:
		d->done = 0;
		api_dl_export(r, d);
		return d->status;
	default:
		api_dl_end(d, DL_CANCELED, x.error[0] ? x.error : "transfer failed");
		return d->status;
	}
}

static int
api_dl_id(struct api_req *r, uint8_t id[16])
{
	return api_parse_uuid(api_query(r, "id"), id);
}

int
api_download_status(struct api_req *r)
{
	struct api_dl *d;
	uint8_t id[16];
	json_t *j;
	int st, peers;

	if (api_dl_id(r, id) != 0)
		return api_reply_error(r, 400, "bad_id", "id must be a download ID (UUID)");
	pthread_mutex_lock(&api_dl_lock);
	if ((d = api_dl_find(id)) == NULL) {
		pthread_mutex_unlock(&api_dl_lock);
		return api_reply_json(r, 200, api_dl_json(DL_API_NOT_FOUND, NULL, 0, 0));
	}
	st = api_dl_state(r, d, &peers);
	j = api_dl_json(DL_API_OK, d, st, peers);
	pthread_mutex_unlock(&api_dl_lock);
	return api_reply_json(r, 200, j);
}

int
api_download_action(struct api_req *r)
{
	static const uint8_t ops[] = { IPC_XFER_PAUSE, IPC_XFER_RESUME, IPC_XFER_CANCEL };
	struct ipc_xfer_ctl xc;
	struct api_dl *d;
	uint8_t id[16], req[32], *rep;
	char err[256];
	int64_t action;
	size_t len;
	json_t *j;
	int st, peers, ok, refused, apist = DL_API_OK;
	long n;

	if (api_dl_id(r, id) != 0 ||
	    api_parse_int(api_query(r, "action"), 0, 2, &action) != 0)
		return api_reply_error(r, 400, "bad_input",
		    "id must be a download ID and action 0 (pause), 1 (resume) or 2 (cancel)");
	pthread_mutex_lock(&api_dl_lock);
	if ((d = api_dl_find(id)) == NULL) {
		pthread_mutex_unlock(&api_dl_lock);
		return api_reply_json(r, 200, api_dl_json(DL_API_NOT_FOUND, NULL, 0, 0));
	}
	st = api_dl_state(r, d, &peers);
	ok = (action == 0 && st == DL_ACTIVE) || (action == 1 && st == DL_PAUSED) ||
	    (action == 2 && st != DL_CANCELED && st != DL_FINISHED);
	if (!ok)
		apist = DL_API_ACTION_INVALID;
	else if (d->number != 0) {
		xc.number = d->number;
		xc.op = ops[action];
		n = ipc_xfer_ctl_encode(req, sizeof(req), &xc);
		if (api_ipc(r->api, "netd", req, (size_t)n, &rep, &len, &refused, err,
		    sizeof(err)) != 0)
			apist = DL_API_ACTION_INVALID;
		else {
			free(rep);
			st = action == 0 ? DL_PAUSED : action == 1 ? DL_ACTIVE : DL_CANCELED;
			if (action == 2)
				api_dl_end(d, DL_CANCELED, "canceled");
		}
	}
	j = api_dl_json(apist, d, st, peers);
	pthread_mutex_unlock(&api_dl_lock);
	return api_reply_json(r, 200, j);
}
