/*
 * api_upload.c — content into the warehouse (FEATURES.md §3.6): the
 * multipart upload POST /warehouse/create with its tracking routes
 * /warehouse/create/uploadID and /warehouse/create/track/uploadID, a local
 * file by path (/warehouse/create/path, beneath api_files_dir), and
 * /warehouse/delete.
 *
 * An upload is never held in memory: libmicrohttpd's MHD_PostProcessor
 * (its multipart/form-data parser, so apid owns no parser of its own here)
 * hands the part `File` over in pieces as the body arrives; they are
 * gathered into APID_CHUNK and sent to storaged as `peernetctl add` sends
 * a file (IPC_ADD_BEGIN, IPC_ADD_DATA...), finished by IPC_WH_END, which
 * stores without publishing (the reference's warehouse create).  The size
 * announced at the begin is the request's Content-Length, an upper bound
 * of the file's: so a Content-Length is required (411 without), at most
 * APID_UPLOAD_MAX (413), and at most APID_MAX_UPLOADS uploads run at once
 * (429).  A client that goes away mid-upload leaves nothing behind
 * (IPC_ADD_ABORT from the request-completed callback).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "apid.h"
#include "ipc.h"
#include "log.h"

#define API_TRACK_MAX		256	/* tracked upload IDs kept */
#define API_STATUS_OPEN_FILE	7	/* DATA.md §5.5: error opening file */
#define API_STATUS_READ_FILE	11

/* One upload-tracking ID (the reference's UploadStatus). */
struct api_track {
	int		used;
	uint8_t		id[16];
	uint64_t	total;
	uint64_t	done;
	int		status;		/* 0 running/unused, 4 failed, 5 finished */
	uint64_t	stamp;		/* for eviction: larger = newer */
};

static struct api_track api_tracks[API_TRACK_MAX];
static uint64_t api_track_clock;
static pthread_mutex_t api_track_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int api_uploads_running;

struct api_upload {
	struct apid		*api;
	struct MHD_PostProcessor *pp;
	uint64_t		 limit;		/* Content-Length: what storaged is told */
	uint32_t		 sid;		/* storaged's upload id; 0: not begun */
	uint64_t		 sent;		/* bytes sent to storaged */
	uint8_t			*buf;		/* IPC_ADD_DATA message being filled */
	size_t			 head;		/* its header length */
	size_t			 fill;		/* payload bytes in it */
	int			 file_seen;	/* the first File part began */
	int			 file_closed;	/* ... and another part began since */
	char			 name[IPC_STR_MAX + 1];
	char			 idtext[40];	/* the form's id field */
	size_t			 idlen;
	int			 track;		/* api_tracks index, -1 */
	unsigned int		 status;	/* HTTP status of the first error, 0 */
	char			 code[32];
	char			 err[256];
};

/* ---- upload tracking -------------------------------------------------- */

static int
api_track_find(const uint8_t id[16])
{
	int i;

	for (i = 0; i < API_TRACK_MAX; i++)
		if (api_tracks[i].used && memcmp(api_tracks[i].id, id, 16) == 0)
			return i;
	return -1;
}

/* A new entry (the oldest one is reused when the table is full); locked. */
static int
api_track_new(const uint8_t id[16])
{
	int i, best = 0;

	for (i = 0; i < API_TRACK_MAX; i++) {
		if (!api_tracks[i].used) {
			best = i;
			break;
		}
		if (api_tracks[i].stamp < api_tracks[best].stamp)
			best = i;
	}
	memset(&api_tracks[best], 0, sizeof(api_tracks[best]));
	api_tracks[best].used = 1;
	memcpy(api_tracks[best].id, id, 16);
	api_tracks[best].stamp = ++api_track_clock;
	return best;
}

static json_t *
api_track_json(int apistatus, const struct api_track *t)
{
	static const uint8_t nil[16];
	char id[37];
	uint64_t total = t ? t->total : 0, done = t ? t->done : 0;
	/* Rounded to 2 decimals, as the reference. */
	double pct = total ? (double)(uint64_t)((double)done / (double)total * 10000.0 +
	    0.5) / 100.0 : 0;

	api_format_uuid(t ? t->id : nil, id);
	return json_pack("{s:i, s:s, s:i, s:{s:I, s:I, s:f}}", "apistatus", apistatus,
	    "id", id, "uploadstatus", t ? t->status : 0, "progress",
	    "totalsize", (json_int_t)total, "uploadedsize", (json_int_t)done,
	    "percentage", pct);
}

/* GET /warehouse/create/uploadID: a new tracking ID. */
int
api_upload_id(struct api_req *r)
{
	struct api_track t;
	uint8_t id[16];
	int i;

	randombytes_buf(id, sizeof(id));
	id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);	/* version 4 */
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
	pthread_mutex_lock(&api_track_lock);
	i = api_track_new(id);
	t = api_tracks[i];
	pthread_mutex_unlock(&api_track_lock);
	return api_reply_json(r, 200, api_track_json(0, &t));
}

/* GET /warehouse/create/track/uploadID?id= : its progress. */
int
api_upload_track(struct api_req *r)
{
	const char *q = api_query(r, "id");
	struct api_track t;
	uint8_t id[16];
	int i;

	if (q == NULL || *q == '\0')
		return api_reply_error(r, 400, "bad_id", "id is missing");
	if (api_parse_uuid(q, id) != 0)
		return api_reply_error(r, 400, "bad_id", "id must be an upload ID (UUID)");
	pthread_mutex_lock(&api_track_lock);
	if ((i = api_track_find(id)) >= 0)
		t = api_tracks[i];
	pthread_mutex_unlock(&api_track_lock);
	if (i < 0)	/* the reference's DownloadResponseIDNotFound */
		return api_reply_json(r, 200, api_track_json(1, NULL));
	return api_reply_json(r, 200, api_track_json(0, &t));
}

static void
api_track_update(int i, uint64_t total, uint64_t done, int status)
{
	if (i < 0)
		return;
	pthread_mutex_lock(&api_track_lock);
	api_tracks[i].total = total;
	api_tracks[i].done = done;
	api_tracks[i].status = status;
	api_tracks[i].stamp = ++api_track_clock;
	pthread_mutex_unlock(&api_track_lock);
}

/* ---- storaged: a file in, as `peernetctl add` sends one ---------------- */

static int
api_wh_begin(struct apid *api, uint64_t size, const char *name, uint32_t *sid,
    char *err, size_t errlen)
{
	struct ipc_add_begin ab;
	uint8_t req[IPC_STR_MAX * 4 + IPC_TAGS_MAX + 64];
	uint8_t *rep;
	size_t len;
	int refused, rc;
	long n;

	memset(&ab, 0, sizeof(ab));
	ab.size = size;
	ab.type = 0xff;
	ab.format = 0xffff;
	snprintf(ab.name, sizeof(ab.name), "%s", name);
	if ((n = ipc_add_begin_encode(req, sizeof(req), &ab)) < 0) {
		snprintf(err, errlen, "file name too long");
		return -1;
	}
	if (api_ipc(api, "storaged", req, (size_t)n, &rep, &len, &refused, err,
	    errlen) != 0)
		return -1;
	rc = ipc_u32_decode(rep, len, IPC_ADD_BEGIN, sid);
	free(rep);
	if (rc != 0) {
		snprintf(err, errlen, "malformed reply from storaged");
		return -1;
	}
	return 0;
}

/* msg holds an IPC_ADD_DATA header of head bytes and len bytes after it. */
static int
api_wh_data(struct apid *api, uint32_t sid, uint64_t off, uint8_t *msg, size_t head,
    size_t len, char *err, size_t errlen)
{
	struct ipc_data d;
	uint8_t *rep;
	size_t rlen;
	int refused;

	memset(&d, 0, sizeof(d));
	d.id = sid;
	d.offset = off;
	d.len = (uint32_t)len;
	ipc_data_encode(msg, head, IPC_ADD_DATA, &d);
	if (api_ipc(api, "storaged", msg, head + len, &rep, &rlen, &refused, err,
	    errlen) != 0)
		return -1;
	free(rep);
	return 0;
}

static int
api_wh_end(struct apid *api, uint32_t sid, struct ipc_wh_result *res, char *err,
    size_t errlen)
{
	uint8_t req[16], *rep;
	size_t len;
	int refused, rc;
	long n;

	n = ipc_u32_encode(req, sizeof(req), IPC_WH_END, sid);
	if (api_ipc(api, "storaged", req, (size_t)n, &rep, &len, &refused, err,
	    errlen) != 0)
		return -1;
	rc = ipc_wh_result_decode(rep, len, res);
	free(rep);
	if (rc != 0) {
		snprintf(err, errlen, "malformed reply from storaged");
		return -1;
	}
	return 0;
}

static void
api_wh_abort(struct apid *api, uint32_t sid)
{
	uint8_t req[16], *rep;
	size_t len;
	int refused;
	char err[128];
	long n;

	n = ipc_u32_encode(req, sizeof(req), IPC_ADD_ABORT, sid);
	if (api_ipc(api, "storaged", req, (size_t)n, &rep, &len, &refused, err,
	    sizeof(err)) == 0)
		free(rep);
}

static size_t
api_data_head(void)
{
	struct ipc_data d;
	uint8_t tmp[64];

	memset(&d, 0, sizeof(d));
	return (size_t)ipc_data_encode(tmp, sizeof(tmp), IPC_ADD_DATA, &d);
}

/* ---- the multipart stream ---------------------------------------------- */

static void
api_up_fail(struct api_upload *u, unsigned int status, const char *code,
    const char *err)
{
	if (u->status != 0)
		return;
	u->status = status;
	snprintf(u->code, sizeof(u->code), "%s", code);
	snprintf(u->err, sizeof(u->err), "%s", err);
}

static int
api_up_flush(struct api_upload *u)
{
	char err[256];

	if (u->fill == 0)
		return 0;
	if (api_wh_data(u->api, u->sid, u->sent, u->buf, u->head, u->fill, err,
	    sizeof(err)) != 0) {
		api_up_fail(u, 502, "node_unavailable", err);
		return -1;
	}
	u->sent += u->fill;
	u->fill = 0;
	api_track_update(u->track, u->limit, u->sent, 0);
	return 0;
}

/* The form's id field names a tracking entry (created if unknown, as the reference). */
static void
api_up_track(struct api_upload *u)
{
	uint8_t id[16];
	int i;

	u->idtext[u->idlen] = '\0';
	if (u->idlen == 0 || api_parse_uuid(u->idtext, id) != 0)
		return;
	pthread_mutex_lock(&api_track_lock);
	if ((i = api_track_find(id)) < 0)
		i = api_track_new(id);
	api_tracks[i].total = u->limit;
	api_tracks[i].done = u->sent;
	api_tracks[i].status = 0;
	pthread_mutex_unlock(&api_track_lock);
	u->track = i;
}

static enum MHD_Result
api_up_iter(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *filename, const char *content_type, const char *transfer_encoding,
    const char *data, uint64_t off, size_t size)
{
	struct api_upload *u = cls;
	char err[256];
	size_t k;

	(void)kind;
	(void)content_type;
	(void)transfer_encoding;
	if (u->status != 0)
		return MHD_NO;
	if (key == NULL)
		return MHD_YES;
	if (strcmp(key, "id") == 0) {
		/* A UUID is 36 characters; anything longer is not one. */
		if (off + size > sizeof(u->idtext) - 1) {
			api_up_fail(u, 400, "bad_id", "the id field is not an upload ID");
			return MHD_NO;
		}
		memcpy(u->idtext + off, data, size);
		u->idlen = (size_t)off + size;
		if (u->file_seen && !u->file_closed)
			api_up_track(u);
		return MHD_YES;
	}
	if (strcmp(key, "File") != 0) {
		if (u->file_seen)
			u->file_closed = 1;
		return MHD_YES;
	}
	if (off == 0 && u->file_seen)
		u->file_closed = 1;	/* a second File part: the first one counts */
	if (u->file_closed)
		return MHD_YES;
	if (!u->file_seen) {
		u->file_seen = 1;
		snprintf(u->name, sizeof(u->name), "%s", filename ? filename : "");
		if (api_wh_begin(u->api, u->limit, u->name, &u->sid, err, sizeof(err)) != 0) {
			api_up_fail(u, strstr(err, "too many") ? 429 : 502,
			    strstr(err, "too many") ? "too_many_uploads" : "node_unavailable", err);
			return MHD_NO;
		}
		if (u->idlen > 0)
			api_up_track(u);
	}
	while (size > 0) {
		k = APID_CHUNK - u->fill;
		if (k > size)
			k = size;
		if (u->sent + u->fill + k > u->limit) {
			api_up_fail(u, 400, "bad_multipart", "more file bytes than the body holds");
			return MHD_NO;
		}
		memcpy(u->buf + u->head + u->fill, data, k);
		u->fill += k;
		data += k;
		size -= k;
		if (u->fill == APID_CHUNK && api_up_flush(u) != 0)
			return MHD_NO;
	}
	return MHD_YES;
}

/*
 * The first call of a POST /warehouse/create (headers known, no body yet):
 * 0 and *up, or -1 with an error reply queued (*mhd_rc).
 */
int
api_upload_start(struct api_req *r, struct api_upload **up, int *mhd_rc)
{
	const char *cl = api_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
	struct api_upload *u;
	int64_t limit;

	*up = NULL;
	if (cl == NULL) {
		*mhd_rc = api_reply_error(r, 411, "length_required", "an upload needs "
		    "a Content-Length (chunked bodies are not taken)");
		return -1;
	}
	if (api_parse_int(cl, 0, INT64_MAX, &limit) != 0 || (uint64_t)limit > APID_UPLOAD_MAX) {
		*mhd_rc = api_reply_error(r, 413, "too_large", "an upload may be at most "
		    "%llu bytes", (unsigned long long)APID_UPLOAD_MAX);
		return -1;
	}
	if (atomic_fetch_add(&api_uploads_running, 1) >= APID_MAX_UPLOADS) {
		atomic_fetch_sub(&api_uploads_running, 1);
		*mhd_rc = api_reply_error(r, 429, "too_many_uploads", "%d uploads are "
		    "running: try again later", APID_MAX_UPLOADS);
		return -1;
	}
	if ((u = calloc(1, sizeof(*u))) == NULL ||
	    (u->buf = malloc(APID_CHUNK + 64)) == NULL) {
		free(u);
		atomic_fetch_sub(&api_uploads_running, 1);
		*mhd_rc = api_reply_error(r, 500, "internal", "out of memory");
		return -1;
	}
	u->api = r->api;
	u->limit = (uint64_t)limit;
	u->head = api_data_head();
	u->track = -1;
	u->pp = MHD_create_post_processor(r->conn, 64 * 1024, api_up_iter, u);
	if (u->pp == NULL) {
		free(u->buf);
		free(u);
		atomic_fetch_sub(&api_uploads_running, 1);
		*mhd_rc = api_reply_error(r, 400, "bad_multipart", "the body must be "
		    "multipart/form-data with a part named File");
		return -1;
	}
	*up = u;
	return 0;
}

/* Body bytes as they arrive. */
void
api_upload_feed(struct api_upload *u, const char *data, size_t len)
{
	if (u->status != 0)
		return;		/* the rest of a failed upload is read and dropped */
	if (MHD_post_process(u->pp, data, len) != MHD_YES)
		api_up_fail(u, 400, "bad_multipart", "malformed multipart/form-data body");
}

/* Frees u; a begun storaged upload that did not finish is aborted. */
void
api_upload_free(struct api_upload *u)
{
	if (u == NULL)
		return;
	if (u->pp != NULL)
		(void)MHD_destroy_post_processor(u->pp);
	if (u->sid != 0) {
		api_wh_abort(u->api, u->sid);
		if (u->track >= 0)
			api_track_update(u->track, u->limit, u->sent, 4);
	}
	free(u->buf);
	free(u);
	atomic_fetch_sub(&api_uploads_running, 1);
}

/* The body is complete: finish the upload and answer {status, hash}. */
int
api_upload_finish(struct api_req *r, struct api_upload *u)
{
	struct ipc_wh_result res;
	char err[256];
	int rc;

	/* Destroying the parser hands over what it still holds, or says it was cut short. */
	if (MHD_destroy_post_processor(u->pp) != MHD_YES)
		api_up_fail(u, 400, "bad_multipart", "truncated multipart/form-data body");
	u->pp = NULL;
	if (u->status == 0 && !u->file_seen)
		api_up_fail(u, 400, "bad_multipart", "no part named File in the form");
	/* As the reference: an id that is not a UUID fails the upload. */
	u->idtext[u->idlen] = '\0';
	if (u->status == 0 && u->idlen > 0 && api_parse_uuid(u->idtext, (uint8_t[16]){ 0 }) != 0)
		api_up_fail(u, 400, "bad_id", "the id field is not an upload ID (UUID)");
	if (u->status == 0)
		(void)api_up_flush(u);
	if (u->status != 0) {
		rc = api_reply_error(r, u->status, u->code, "%s", u->err);
		api_upload_free(u);
		return rc;
	}
	if (api_wh_end(u->api, u->sid, &res, err, sizeof(err)) != 0) {
		u->sid = 0;	/* storaged has dropped it */
		if (u->track >= 0)
			api_track_update(u->track, u->limit, u->sent, 4);
		api_upload_free(u);
		return api_reply_ipc_err(r, "storaged", err);
	}
	u->sid = 0;
	if (u->track >= 0)
		api_track_update(u->track, res.size, res.size, 5);
	api_upload_free(u);
	return api_reply_json(r, 200, json_pack("{s:i, s:o}", "status", 0, "hash",
	    api_jb64(res.hash, 32)));
}

/* ---- a local file, and deletion ---------------------------------------- */

/* GET /warehouse/create/path?path= : a file beneath api_files_dir; {status, hash}. */
int
api_warehouse_create_path(struct api_req *r)
{
	const char *path = api_query(r, "path"), *base;
	struct ipc_wh_result res;
	struct stat sb;
	char err[PATH_MAX + 128];
	uint8_t *buf = NULL;
	uint64_t off = 0;
	uint32_t sid = 0;
	size_t head = api_data_head();
	ssize_t got;
	int fd, rc, status = 0;

	if ((rc = api_local_open(r->api, path, O_RDONLY, 0, &fd, err, sizeof(err))) ==
	    API_LOCAL_ERRNO)
		return api_reply_json(r, 200, json_pack("{s:i, s:n}", "status",
		    API_STATUS_OPEN_FILE, "hash"));
	if (rc != 0)
		return api_reply_local_err(r, rc, err);
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return api_reply_json(r, 200, json_pack("{s:i, s:n}", "status",
		    API_STATUS_OPEN_FILE, "hash"));
	}
	base = strrchr(path, '/');
	base = base != NULL ? base + 1 : path;
	if ((buf = malloc(APID_CHUNK + 64)) == NULL) {
		close(fd);
		return api_reply_error(r, 500, "internal", "out of memory");
	}
	if (api_wh_begin(r->api, (uint64_t)sb.st_size, base, &sid, err, sizeof(err)) != 0) {
		free(buf);
		close(fd);
		return api_reply_ipc_err(r, "storaged", err);
	}
	while (off < (uint64_t)sb.st_size) {
		got = pread(fd, buf + head, APID_CHUNK, (off_t)off);
		if (got <= 0) {
			status = API_STATUS_READ_FILE;
			break;
		}
		if (off + (uint64_t)got > (uint64_t)sb.st_size)
			got = (ssize_t)((uint64_t)sb.st_size - off);
		if (api_wh_data(r->api, sid, off, buf, head, (size_t)got, err,
		    sizeof(err)) != 0) {
			free(buf);
			close(fd);
			api_wh_abort(r->api, sid);
			return api_reply_ipc_err(r, "storaged", err);
		}
		off += (uint64_t)got;
	}
	free(buf);
	close(fd);
	if (status != 0) {
		api_wh_abort(r->api, sid);
		return api_reply_json(r, 200, json_pack("{s:i, s:n}", "status", status,
		    "hash"));
	}
	if (api_wh_end(r->api, sid, &res, err, sizeof(err)) != 0)
		return api_reply_ipc_err(r, "storaged", err);
	return api_reply_json(r, 200, json_pack("{s:i, s:o}", "status", 0, "hash",
	    api_jb64(res.hash, 32)));
}

/*
 * GET /warehouse/delete?hash= : the stored data only, as the reference
 * (a published record of it stays); {status, hash} with the warehouse
 * status (9: not found).
 */
int
api_warehouse_delete(struct api_req *r)
{
	struct ipc_wipe w;
	uint8_t req[64], *rep;
	char err[256];
	size_t len;
	uint32_t status;
	int refused, rc;
	long n;

	memset(&w, 0, sizeof(w));
	if (api_parse_hex(api_query(r, "hash"), w.key, 32) != 0)
		return api_reply_error(r, 400, "bad_hash", "hash must be 64 hex digits");
	w.kind = IPC_WIPE_CONTENT;
	n = ipc_wipe_encode(req, sizeof(req), &w);
	if (api_ipc(r->api, "storaged", req, (size_t)n, &rep, &len, &refused, err,
	    sizeof(err)) != 0)
		return api_reply_ipc_err(r, "storaged", err);
	rc = ipc_u32_decode(rep, len, IPC_WIPE, &status);
	free(rep);
	if (rc != 0)
		return api_reply_ipc_err(r, "storaged", "malformed reply");
	return api_reply_json(r, 200, json_pack("{s:i, s:o}", "status", (int)status,
	    "hash", api_jb64(w.key, 32)));
}
