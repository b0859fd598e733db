/*
 * api_local.c — the routes that take a path on the local disk
 * (/file/format now; /warehouse/create/path, /warehouse/read/path and
 * /download/start later) and the one way apid opens such a path:
 * openat2(2) beneath the directory descriptor of api_files_dir, opened at
 * start-up, with RESOLVE_BENEATH (no "..", no absolute path, no symlink
 * leaving the directory) and RESOLVE_NO_MAGICLINKS (no /proc/self/fd
 * tricks).  Without api_files_dir these routes answer 403.
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/openat2.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "apid.h"
#include "blake3.h"
#include "filetype.h"
#include "ipc.h"

int
api_local_init(struct apid *api, char *err, size_t errlen)
{
	api->files_fd = -1;
	if (api->conf->api_files_dir[0] == '\0')
		return 0;
	if (realpath(api->conf->api_files_dir, api->files_dir) == NULL ||
	    (api->files_fd = open(api->files_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "api_files_dir %s: %s", api->conf->api_files_dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
api_local_open(struct apid *api, const char *path, int flags, int mode, int *fd,
    char *err, size_t errlen)
{
	struct open_how how;
	const char *rel = path;
	size_t n = strlen(api->files_dir);
	long rc;

	if (api->files_fd == -1) {
		snprintf(err, errlen, "local paths are disabled: set api_files_dir "
		    "in peernet.conf");
		return API_LOCAL_OFF;
	}
	if (path == NULL || *path == '\0') {
		snprintf(err, errlen, "path is missing");
		return API_LOCAL_BAD;
	}
	/* An absolute path inside the directory is taken relative to it. */
	if (path[0] == '/') {
		if (strncmp(path, api->files_dir, n) != 0 || path[n] != '/' ||
		    path[n + 1] == '\0') {
			snprintf(err, errlen, "%s is outside api_files_dir (%s)", path,
			    api->files_dir);
			return API_LOCAL_OUTSIDE;
		}
		rel = path + n + 1;
	}
	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_CLOEXEC | O_NOCTTY);
	how.mode = (flags & O_CREAT) ? (uint64_t)mode : 0;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	rc = syscall(SYS_openat2, api->files_fd, rel, &how, sizeof(how));
	if (rc < 0) {
		if (errno == EXDEV || errno == ELOOP) {
			snprintf(err, errlen, "%s leads outside api_files_dir", path);
			return API_LOCAL_OUTSIDE;
		}
		int e = errno;

		snprintf(err, errlen, "%s: %s", path, strerror(e));
		errno = e;	/* the caller tells EEXIST from the rest */
		return API_LOCAL_ERRNO;
	}
	*fd = (int)rc;
	return 0;
}

int
api_reply_local_err(struct api_req *r, int rc, const char *err)
{
	switch (rc) {
	case API_LOCAL_OFF:
		return api_reply_error(r, 403, "files_dir_unset", "%s", err);
	case API_LOCAL_OUTSIDE:
		return api_reply_error(r, 403, "outside_files_dir", "%s", err);
	case API_LOCAL_BAD:
		return api_reply_error(r, 400, "bad_path", "%s", err);
	default:
		return api_reply_error(r, 500, "io", "%s", err);
	}
}

int
api_local_copy(struct api_req *r, const uint8_t hash[32], uint64_t first,
    uint64_t len, int fd, int verify, uint64_t *done, char *err, size_t errlen)
{
	blake3_hasher h;
	struct ipc_read rd;
	struct ipc_data data;
	uint8_t req[128], *rep, sum[32];
	uint64_t off = 0;
	size_t rlen;
	int refused;
	long n;

	blake3_hasher_init(&h);
	*done = 0;
	while (off < len) {
		memcpy(rd.hash, hash, 32);
		rd.offset = first + off;
		rd.len = len - off > APID_CHUNK ? APID_CHUNK : (uint32_t)(len - off);
		n = ipc_read_encode(req, sizeof(req), IPC_CAT, &rd);
		if (api_ipc(r->api, "storaged", req, (size_t)n, &rep, &rlen, &refused,
		    err, errlen) != 0)
			return -1;
		/* Exactly the bytes asked for, at the offset asked for. */
		if (ipc_data_decode(rep, rlen, IPC_CAT, &data) != 0 ||
		    data.offset != rd.offset || data.len == 0 || data.len > rd.len) {
			free(rep);
			snprintf(err, errlen, "malformed file data from storaged");
			return -1;
		}
		if (verify)
			blake3_hasher_update(&h, data.bytes, data.len);
		if (pwrite(fd, data.bytes, data.len, (off_t)off) != (ssize_t)data.len) {
			snprintf(err, errlen, "writing the target file: %s", strerror(errno));
			free(rep);
			return -1;
		}
		off += data.len;
		*done = off;
		free(rep);
	}
	if (verify) {
		blake3_hasher_finalize(&h, sum, sizeof(sum));
		if (sodium_memcmp(sum, hash, 32) != 0) {
			snprintf(err, errlen, "the data does not hash to the requested hash");
			return -1;
		}
	}
	if (fsync(fd) != 0) {
		snprintf(err, errlen, "fsync of the target file: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The warehouse's status codes (DATA.md §5.5) this route uses. */
#define WH_STATUS_NOT_FOUND	9
#define WH_STATUS_READ		11
#define WH_STATUS_EXISTS	13
#define WH_STATUS_CREATE	14

/*
 * GET /warehouse/read/path?hash=&path=[&offset=&limit=]: a warehouse file
 * (or part) into a new file beneath api_files_dir; {status, hash}.
 */
int
api_warehouse_read_path(struct api_req *r)
{
	struct ipc_xstat_req q;
	struct ipc_xstat_rep x;
	const char *s;
	uint8_t hash[32], req[128], *rep;
	char err[PATH_MAX + 128];
	int64_t off = 0, lim = 0;
	uint64_t len, done;
	size_t rlen;
	int fd, rc, refused, status = 0;
	long n;

	if (api_parse_hex(api_query(r, "hash"), hash, 32) != 0)
		return api_reply_error(r, 400, "bad_hash", "hash must be 64 hex digits");
	if (r->api->files_fd == -1)
		return api_local_not_yet(r);
	/* The reference reads a malformed offset or limit as 0. */
	if ((s = api_query(r, "offset")) != NULL && api_parse_int(s, 0, INT64_MAX, &off) != 0)
		off = 0;
	if ((s = api_query(r, "limit")) != NULL && api_parse_int(s, 0, INT64_MAX, &lim) != 0)
		lim = 0;
	memset(&q, 0, sizeof(q));
	memcpy(q.hash, hash, 32);
	n = ipc_xstat_req_encode(req, sizeof(req), &q);
	if (api_ipc(r->api, "storaged", req, (size_t)n, &rep, &rlen, &refused, err,
	    sizeof(err)) != 0)
		return api_reply_ipc_err(r, "storaged", err);
	rc = ipc_xstat_rep_decode(rep, rlen, &x);
	free(rep);
	if (rc != 0)
		return api_reply_ipc_err(r, "storaged", "malformed file status reply");
	if (!x.present)
		status = WH_STATUS_NOT_FOUND;
	else if ((rc = api_local_open(r->api, api_query(r, "path"),
	    O_WRONLY | O_CREAT | O_EXCL, 0640, &fd, err, sizeof(err))) != 0) {
		if (rc != API_LOCAL_ERRNO)
			return api_reply_local_err(r, rc, err);
		status = errno == EEXIST ? WH_STATUS_EXISTS : WH_STATUS_CREATE;
	} else {
		if ((uint64_t)off > x.size)
			off = (int64_t)x.size;
		len = x.size - (uint64_t)off;
		if (lim > 0 && (uint64_t)lim < len)
			len = (uint64_t)lim;
		/* The whole file is checked against its hash on the way. */
		if (api_local_copy(r, hash, (uint64_t)off, len, fd,
		    off == 0 && len == x.size, &done, err, sizeof(err)) != 0)
			status = WH_STATUS_READ;
		close(fd);
	}
	return api_reply_json(r, 200, json_pack("{s:i, s:o}", "status", status,
	    "hash", api_jb64(hash, 32)));
}

/*
 * What Go's http.DetectContentType would say about the first bytes, mapped
 * as the reference maps content types (File Detection.go): only the kinds
 * that map to something other than Binary.
 */
static void
api_sniff(const uint8_t *b, size_t n, uint8_t *type, uint16_t *format)
{
	size_t i = 0;

	*type = FT_TYPE_BINARY;
	*format = FT_FMT_BINARY;
	while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r'))
		i++;
	if (n >= 5 && memcmp(b, "%PDF-", 5) == 0) {
		*type = FT_TYPE_DOCUMENT, *format = FT_FMT_PDF;
	} else if ((n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0) ||
	    (n >= 3 && memcmp(b, "\xff\xd8\xff", 3) == 0) ||
	    (n >= 4 && memcmp(b, "GIF8", 4) == 0) || (n >= 2 && memcmp(b, "BM", 2) == 0) ||
	    (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)) {
		*type = FT_TYPE_PICTURE, *format = FT_FMT_PICTURE;
	} else if ((n >= 8 && memcmp(b + 4, "ftyp", 4) == 0) ||
	    (n >= 4 && memcmp(b, "\x1a\x45\xdf\xa3", 4) == 0)) {
		*type = FT_TYPE_VIDEO, *format = FT_FMT_VIDEO;
	} else if (n >= 3 && memcmp(b, "ID3", 3) == 0) {
		*type = FT_TYPE_AUDIO, *format = FT_FMT_AUDIO;
	} else if (n >= 4 && memcmp(b, "PK\x03\x04", 4) == 0) {
		*type = FT_TYPE_CONTAINER, *format = FT_FMT_CONTAINER;
	} else if (n - i >= 5 && (strncasecmp((const char *)b + i, "<html", 5) == 0 ||
	    (n - i >= 14 && strncasecmp((const char *)b + i, "<!doctype html", 14) == 0))) {
		*type = FT_TYPE_TEXT, *format = FT_FMT_HTML;
	} else if (n > 0) {
		/* text/plain: no byte Go counts as binary data. */
		for (i = 0; i < n; i++)
			if (b[i] <= 0x08 || b[i] == 0x0b || (b[i] >= 0x0e && b[i] <= 0x1a) ||
			    (b[i] >= 0x1c && b[i] <= 0x1f))
				return;
		*type = FT_TYPE_TEXT, *format = FT_FMT_TEXT;
	}
}

/* GET /file/format?path= : {status, filetype, fileformat}; status 1 = unreadable. */
int
api_file_format(struct api_req *r)
{
	const char *path = api_query(r, "path"), *base;
	uint8_t buf[512], type;
	uint16_t format;
	char err[PATH_MAX + 128];
	ssize_t n;
	int fd, rc;

	if ((rc = api_local_open(r->api, path, O_RDONLY, 0, &fd, err, sizeof(err))) ==
	    API_LOCAL_ERRNO)
		return api_reply_json(r, 200, json_pack("{s:i, s:i, s:i}", "status", 1,
		    "filetype", 0, "fileformat", 0));
	if (rc != 0)
		return api_reply_local_err(r, rc, err);
	base = strrchr(path, '/');
	base = base != NULL ? base + 1 : path;
	if (strchr(base, '.') != NULL) {
		ft_detect(base, &type, &format);
		rc = 0;
	} else {
		n = read(fd, buf, sizeof(buf));
		rc = n <= 0;	/* the reference: reading nothing is an error */
		if (!rc)
			api_sniff(buf, (size_t)n, &type, &format);
	}
	close(fd);
	if (rc)
		return api_reply_json(r, 200, json_pack("{s:i, s:i, s:i}", "status", 1,
		    "filetype", 0, "fileformat", 0));
	return api_reply_json(r, 200, json_pack("{s:i, s:i, s:i}", "status", 0,
	    "filetype", (int)type, "fileformat", (int)format));
}

/* The path routes not done yet: 403 without api_files_dir, else 501. */
int
api_local_not_yet(struct api_req *r)
{
	if (r->api->files_fd == -1)
		return api_reply_error(r, 403, "files_dir_unset", "local paths are "
		    "disabled: set api_files_dir in peernet.conf");
	return api_not_yet(r);
}
