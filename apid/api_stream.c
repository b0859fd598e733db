/*
 * api_stream.c — /file/read and /file/view of a file on a remote peer
 * (node=): one HTTP byte range per request, fetched by netd as a stream
 * (IPC_STREAM_OPEN/READ/CLOSE, ipc_msg_xfer.h) that asks the peer only for
 * the fragments the range covers (Transfer offset/limit, docs/protocol.md
 * §9.3) and keeps them in memory: nothing is stored.  A peer of ours sends
 * the file's merkle leaves and netd hands on a fragment only once it hashed
 * to its leaf; a reference peer's bytes cannot be checked before the whole
 * file is there, so they are passed on unverified and the response says so
 * (X-Peernet-Verified: none, docs/webapi.md).
 *
 * Its calls go through api_ipc's kept connections like every other route's
 * (a read waits for the network, up to the request's timeout, on a
 * connection of its own for that long; api_ipc_timed).  netd knows a
 * stream by its number, not by the connection that opened it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "apid.h"
#include "ipc.h"
#include "log.h"

#define API_ST_CLOSE_MS		2000

struct api_rstream {
	struct apid	*api;
	uint32_t	 number;
	uint64_t	 first, len;	/* the response: file bytes [first, first + len) */
	int		 timeout_ms;
};

static void
api_st_close(struct api_rstream *s)
{
	uint8_t req[16], *rep;
	size_t len;
	int refused;
	char err[128];
	long n;

	if (s->number != 0) {
		n = ipc_u32_encode(req, sizeof(req), IPC_STREAM_CLOSE, s->number);
		if (api_ipc_timed(s->api, "netd", req, (size_t)n, API_ST_CLOSE_MS, &rep,
		    &len, &refused, err, sizeof(err)) == 0)
			free(rep);
	}
	free(s);
}

/* MHD asks for the next bytes at pos (relative to the response). */
static ssize_t
api_st_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct api_rstream *s = cls;
	struct ipc_stream_read q;
	uint8_t req[64], *rep;
	char err[256];
	size_t len;
	ssize_t got;
	int refused;
	long n;

	memset(&q, 0, sizeof(q));
	if ((q.max = api_read_size(pos, s->len, max, IPC_STREAM_READ_MAX)) == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	q.number = s->number;
	q.offset = s->first + pos;
	q.end = s->first + s->len;
	n = ipc_stream_read_encode(req, sizeof(req), &q);
	if (n < 0 || api_ipc_timed(s->api, "netd", req, (size_t)n, s->timeout_ms, &rep,
	    &len, &refused, err, sizeof(err)) != 0) {
		log_info("stream %u: %s", s->number, n < 0 ? "encode" : err);
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	/* Exactly the bytes asked for: at that offset, none past the range. */
	got = api_data_take(s->api, rep, len, IPC_STREAM_READ, &s->number, q.offset,
	    q.max, buf);
	if (got < 0)
		log_info("stream %u: a malformed or empty read at %" PRIu64, s->number,
		    q.offset);
	return got;
}

static void
api_st_free(void *cls)
{
	api_st_close(cls);
}

/* IPC_STREAM_OPEN (api_ipc_node: a node not connected is looked up once). */
static int
api_st_open(struct api_req *r, struct api_rstream *s, const uint8_t hash[32],
    const uint8_t node[32], struct ipc_stream_info *info, char *err, size_t errlen)
{
	struct ipc_get_req g;
	uint8_t req[128], *rep;
	size_t len;
	int refused, rc;
	long n;

	memcpy(g.hash, hash, 32);
	memcpy(g.node_id, node, 32);
	n = ipc_stream_open_encode(req, sizeof(req), &g);
	if (api_ipc_node(r->api, req, (size_t)n, node, s->timeout_ms, &rep, &len,
	    &refused, err, errlen) != 0) {
		if (!refused)
			return API_FETCH_TIMEOUT;
		return strstr(err, "not connected") != NULL ? API_FETCH_UNREACHABLE :
		    API_FETCH_REFUSED;
	}
	rc = ipc_stream_info_decode(rep, len, info);
	free(rep);
	if (rc != 0)
		snprintf(err, errlen, "netd: malformed stream reply");
	return rc == 0 ? 0 : API_FETCH_UNREACHABLE;
}

int
api_stream_remote(struct api_req *r, const uint8_t hash[32], const uint8_t node[32],
    int timeout_ms, const char *ctype)
{
	struct ipc_stream_info info;
	struct api_rstream *s;
	struct MHD_Response *resp;
	uint64_t first, len;
	char err[256], num[16];
	int rc, ranged;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return api_reply_error(r, 500, "internal", "out of memory");
	s->api = r->api;
	s->timeout_ms = timeout_ms;
	switch (api_st_open(r, s, hash, node, &info, err, sizeof(err))) {
	case 0:
		break;
	case API_FETCH_REFUSED:
		api_st_close(s);
		/* Ours or the peer's limit on transfers at once: try again later. */
		if (strstr(err, "too many streams") != NULL ||
		    strstr(err, "terminated by the peer") != NULL)
			return api_reply_error(r, 503, "busy", "%s", err);
		return api_reply_error(r, 404, "refused", "%s", err);
	case API_FETCH_UNREACHABLE:
		api_st_close(s);
		return api_reply_error(r, 502, "unreachable", "%s", err);
	default:
		api_st_close(s);
		if (strstr(err, "no reply") == NULL)	/* netd not running, ... */
			return api_reply_ipc_err(r, "netd", err);
		return api_reply_error(r, 504, "timeout", "%s", err);
	}
	s->number = info.number;
	if (api_file_part(r, info.size, &first, &len, &ranged, &rc) != 0) {
		api_st_close(s);
		return rc;
	}
	s->first = first;
	s->len = len;
	resp = MHD_create_response_from_callback(len, IPC_STREAM_READ_MAX, api_st_read,
	    s, api_st_free);
	if (resp == NULL) {
		api_st_close(s);
		return MHD_NO;
	}
	/* What the bytes were checked against before they were sent. */
	MHD_add_response_header(resp, "X-Peernet-Verified",
	    (info.flags & IPC_STREAM_F_VERIFIED) ? "fragments" : "none");
	snprintf(num, sizeof(num), "%" PRIu32, info.number);
	MHD_add_response_header(resp, "X-Peernet-Stream", num);
	return api_reply_part(r, resp, first, len, info.size, ranged, ctype);
}
