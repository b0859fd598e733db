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

#include "apid.h"
#include "filetype.h"

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
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
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
