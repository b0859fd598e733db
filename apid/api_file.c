/*
 * api_file.c — file bytes over HTTP (FEATURES.md §3.6 /warehouse/read,
 * §3.7 /file/read and /file/view): the local warehouse's files, read
 * from a read-only descriptor storaged passes over its bulk channel
 * (IPC_FILE_FD, SCM_RIGHTS) and sent with sendfile, or else through storaged
 * (IPC_XSTAT for the size, IPC_CAT in APID_CHUNK pieces as the client takes
 * them), with one byte range per request (206 +
 * Content-Range; 416 when it lies outside the file; 400 for several).
 * Remote files (another peer's, node=) are streamed by api_stream.c.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "apid.h"
#include "daemon.h"
#include "ident.h"
#include "ipc.h"
#include "log.h"

struct api_stream {
	struct apid	*api;
	uint8_t		 hash[32];
	uint64_t	 first;		/* file offset of the response's byte 0 */
	uint64_t	 len;
};

int
api_wh_size(struct apid *api, const uint8_t hash[32], uint64_t *size, char *err,
    size_t errlen)
{
	struct ipc_xstat_req q;
	struct ipc_xstat_rep x;
	uint8_t req[128], *rep;
	size_t len;
	int refused, rc;
	long n;

	memset(&q, 0, sizeof(q));
	memcpy(q.hash, hash, 32);
	n = ipc_xstat_req_encode(req, sizeof(req), &q);
	if (api_ipc(api, "storaged", req, (size_t)n, &rep, &len, &refused, err,
	    errlen) != 0)
		return -1;
	rc = ipc_xstat_rep_decode(rep, len, &x);
	free(rep);
	if (rc != 0) {
		snprintf(err, errlen, "malformed file status reply");
		return -1;
	}
	*size = x.size;
	return x.present ? 1 : 0;
}

/*
 * A reply carrying file bytes (ipc_data of type, for request id when id is
 * not NULL) into buf: exactly the bytes asked for — at offset, at least one,
 * at most max.  Frees rep; the byte count, or MHD's error.
 */
ssize_t
api_data_take(struct apid *api, uint8_t *rep, size_t len, uint16_t type,
    const uint32_t *id, uint64_t offset, uint32_t max, char *buf)
{
	struct ipc_data d;
	ssize_t n;

	if (ipc_data_decode(rep, len, type, &d) != 0 || d.offset != offset ||
	    (id != NULL && d.id != *id) || d.len == 0 || d.len > max) {
		free(rep);
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	memcpy(buf, d.bytes, d.len);
	n = (ssize_t)d.len;
	free(rep);
	atomic_fetch_add(&api->st.bytes_streamed, (unsigned long long)n);
	return n;
}

uint32_t
api_read_size(uint64_t pos, uint64_t len, size_t max, uint32_t cap)
{
	if (pos >= len)
		return 0;
	if (max > cap)
		max = cap;
	return (uint32_t)(max < len - pos ? max : len - pos);
}

/* MHD asks for the next bytes at pos (relative to the response). */
static ssize_t
api_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct api_stream *s = cls;
	struct ipc_read rd;
	uint8_t req[128], *rep;
	char err[256];
	size_t len;
	int refused;
	long n;

	if ((rd.len = api_read_size(pos, s->len, max, APID_CHUNK)) == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	memcpy(rd.hash, s->hash, 32);
	rd.offset = s->first + pos;
	n = ipc_read_encode(req, sizeof(req), IPC_CAT, &rd);
	if (api_ipc(s->api, "storaged", req, (size_t)n, &rep, &len, &refused, err,
	    sizeof(err)) != 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	return api_data_take(s->api, rep, len, IPC_CAT, NULL, rd.offset, rd.len, buf);
}

static void
api_stream_free(void *cls)
{
	free(cls);
}

/*
 * A read-only descriptor of the stored file from storaged (IPC_FILE_FD on
 * its bulk channel, SCM_RIGHTS): the descriptor, or -1 when storaged did not
 * give one (the caller reads through IPC_CAT instead).  Checked before use:
 * a regular file, opened read-only, of the size storaged reported.
 */
static int
api_file_fd(struct apid *api, const uint8_t hash[32], uint64_t want_size)
{
	struct ipc_file_fd_req q;
	struct stat sb;
	char path[PATH_MAX], err[256];
	uint8_t req[64], *rep;
	uint64_t size;
	size_t len;
	long n;
	int fd, fl;

	memcpy(q.hash, hash, 32);
	if ((n = ipc_file_fd_req_encode(req, sizeof(req), &q)) < 0 ||
	    daemon_sock_path(api->d, "storaged-bulk", path, sizeof(path)) == -1)
		return -1;
	if (ipc_bulk_call_fd(path, req, (size_t)n, &rep, &len, &fd,
	    (int)api->conf->ipc_timeout_ms, err, sizeof(err)) != 0) {
		log_debug("file descriptor from storaged: %s", err);
		return -1;
	}
	n = ipc_file_fd_rep_decode(rep, len, &size);
	free(rep);
	if (n != 0 || fd < 0 || size != want_size || fstat(fd, &sb) == -1 ||
	    !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != size ||
	    (fl = fcntl(fd, F_GETFL)) == -1 || (fl & O_ACCMODE) != O_RDONLY) {
		if (fd >= 0)
			close(fd);
		log_debug("file descriptor from storaged: not the file asked for");
		return -1;
	}
	return fd;
}

/*
 * Serves [first, first+len) of a warehouse file of size bytes: 206 with
 * Content-Range when ranged, else 200.  From storaged's descriptor with
 * sendfile when it passes one, else through IPC_CAT.
 */
static int
api_stream(struct api_req *r, const uint8_t hash[32], uint64_t size,
    uint64_t first, uint64_t len, int ranged, const char *ctype)
{
	struct MHD_Response *resp;
	struct api_stream *s;
	int fd;

	if (len > 0 && (fd = api_file_fd(r->api, hash, size)) >= 0) {
		/* MHD owns fd now: it closes it with the response. */
		if ((resp = MHD_create_response_from_fd_at_offset64(len, fd,
		    first)) == NULL) {
			close(fd);
			return MHD_NO;
		}
		atomic_fetch_add(&r->api->st.bytes_streamed, (unsigned long long)len);
		MHD_add_response_header(resp, "X-Peernet-Source", "descriptor");
	} else {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return api_reply_error(r, 500, "internal", "out of memory");
		s->api = r->api;
		memcpy(s->hash, hash, 32);
		s->first = first;
		s->len = len;
		resp = MHD_create_response_from_callback(len, APID_CHUNK, api_stream_read,
		    s, api_stream_free);
		if (resp == NULL) {
			free(s);
			return MHD_NO;
		}
		MHD_add_response_header(resp, "X-Peernet-Source", "ipc");
	}
	return api_reply_part(r, resp, first, len, size, ranged, ctype);
}

int
api_reply_part(struct api_req *r, struct MHD_Response *resp, uint64_t first,
    uint64_t len, uint64_t size, int ranged, const char *ctype)
{
	char cr[96];
	int rc;

	MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (ranged) {
		snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64,
		    first, first + len - 1, size);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
	}
	atomic_fetch_add(&r->api->st.replies_2xx, 1);
	rc = MHD_queue_response(r->conn, ranged ? 206 : 200, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* 416 names the size, so that a player can retry within it. */
static int
api_unsatisfiable(struct api_req *r, uint64_t size)
{
	char cr[64], *body;
	struct MHD_Response *resp;
	int rc;

	snprintf(cr, sizeof(cr), "bytes */%" PRIu64, size);
	body = strdup("{\"error\":\"range outside the file\",\"code\":\"range\","
	    "\"httpstatus\":416}");
	if (body == NULL)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(body), body,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	atomic_fetch_add(&r->api->st.replies_4xx, 1);
	rc = MHD_queue_response(r->conn, 416, resp);
	MHD_destroy_response(resp);
	return rc;
}

/*
 * The part asked for: a Range header (one range), else offset= and limit=
 * (the reference's parameters), else everything.  Returns 0 and the part,
 * or a queued error reply in *rc.
 */
int
api_file_part(struct api_req *r, uint64_t size, uint64_t *first, uint64_t *len,
    int *ranged, int *rc)
{
	const char *q;
	uint64_t a, b;
	int64_t off = 0, lim = -1;

	*ranged = 0;
	switch (api_range_parse(api_header(r, "Range"), size, &a, &b)) {
	case API_RANGE_OK:
		*first = a;
		*len = b - a + 1;
		*ranged = 1;
		return 0;
	case API_RANGE_BAD:
		*rc = api_reply_error(r, 400, "bad_range",
		    "Range must be one range: bytes=FIRST-LAST, FIRST- or -SUFFIX");
		return -1;
	case API_RANGE_UNSAT:
		*rc = api_unsatisfiable(r, size);
		return -1;
	default:
		break;
	}
	if (((q = api_query(r, "offset")) != NULL &&
	    api_parse_int(q, 0, INT64_MAX, &off) != 0) ||
	    ((q = api_query(r, "limit")) != NULL &&
	    api_parse_int(q, 0, INT64_MAX, &lim) != 0)) {
		*rc = api_reply_error(r, 400, "bad_number",
		    "offset and limit must be byte counts");
		return -1;
	}
	if ((uint64_t)off > size)
		off = (int64_t)size;
	*first = (uint64_t)off;
	*len = size - (uint64_t)off;
	if (lim >= 0 && (uint64_t)lim < *len)
		*len = (uint64_t)lim;
	return 0;
}

int
api_warehouse_read(struct api_req *r)
{
	uint8_t hash[32];
	uint64_t size, first, len;
	char err[256];
	int rc, ranged;

	if (api_parse_hex(api_query(r, "hash"), hash, 32) != 0)
		return api_reply_error(r, 400, "bad_hash", "hash must be 64 hex digits");
	if ((rc = api_wh_size(r->api, hash, &size, err, sizeof(err))) < 0)
		return api_reply_ipc_err(r, "storaged", err);
	if (rc == 0)
		return api_reply_error(r, 404, "not_found", "not in the warehouse");
	if (api_file_part(r, size, &first, &len, &ranged, &rc) != 0)
		return rc;
	return api_stream(r, hash, size, first, len, ranged, "application/octet-stream");
}

static int
api_file_common(struct api_req *r, int view)
{
	const char *q, *ctype = "application/octet-stream";
	uint8_t hash[32], node[33], nid[32];
	uint64_t size, first, len;
	char err[256];
	int rc, ranged, nocache = 0, have_node = 0;
	int64_t fmt, timeout = 10;

	if (api_parse_hex(api_query(r, "hash"), hash, 32) != 0)
		return api_reply_error(r, 400, "bad_hash", "hash must be 64 hex digits");
	/* node: a node ID (32 bytes) or a peer ID (33), hex. */
	if ((q = api_query(r, "node")) != NULL) {
		if (api_parse_hex(q, nid, 32) == 0)
			have_node = 1;
		else if (api_parse_hex(q, node, 33) == 0) {
			ident_node_id(node, nid);
			have_node = 1;
		} else
			return api_reply_error(r, 400, "bad_node",
			    "node must be a node ID or a peer ID in hex");
	}
	/* Seconds to wait for a remote file (the reference's connect timeout). */
	if ((q = api_query(r, "timeout")) != NULL &&
	    api_parse_int(q, 1, 600, &timeout) != 0)
		return api_reply_error(r, 400, "bad_timeout", "timeout must be 1..600 seconds");
	if (view) {
		if ((q = api_query(r, "nocache")) != NULL)
			(void)api_parse_bool(q, &nocache);
		/* The reference's quirk: format 14 is served as MP4 video. */
		if ((q = api_query(r, "format")) != NULL &&
		    api_parse_int(q, 0, 65535, &fmt) == 0 && fmt == 14)
			ctype = "video/mp4";
	}
	/* nocache: the reference skips the warehouse; a local copy is served here. */
	(void)nocache;
	if ((rc = api_wh_size(r->api, hash, &size, err, sizeof(err))) < 0)
		return api_reply_ipc_err(r, "storaged", err);
	if (rc == 0 && !have_node)
		return api_reply_error(r, 404, "not_found",
		    "not in the local warehouse, and no node= to fetch it from");
	/* Another peer's: only the fragments the range covers (api_stream.c). */
	if (rc == 0)
		return api_stream_remote(r, hash, nid, (int)timeout * 1000, ctype);
	if (api_file_part(r, size, &first, &len, &ranged, &rc) != 0)
		return rc;
	return api_stream(r, hash, size, first, len, ranged, ctype);
}

int
api_file_read(struct api_req *r)
{
	return api_file_common(r, 0);
}

int
api_file_view(struct api_req *r)
{
	return api_file_common(r, 1);
}
