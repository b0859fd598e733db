/*
 * api_static.c — the web interface's files (apid/www: index.html, app.js,
 * app.css, icon.svg), served at "/" without the API key (the page asks for
 * the key and sends it as x-api-key on every API call).
 *
 * One route, "/": the file is chosen by ?f=NAME (index.html without it), so
 * the route table needs a single entry.  NAME must be one of a fixed list:
 * nothing else on the disk can be reached (no directory traversal).
 *
 * Where the files are: $PEERNET_WWW_DIR when set (the tests point it at the
 * source tree's apid/www), else PEERNET_WWW_DIR as compiled
 * (-DPEERNET_WWW_DIR=...), else /usr/local/share/peernet/www then
 * /usr/share/peernet/www (scripts/install.sh puts them in
 * $PREFIX/share/peernet/www).  Each request opens the file with openat2(2)
 * (the only open apid's seccomp filter allows) with RESOLVE_NO_SYMLINKS, so
 * an edited file is served at once and nothing is cached in memory.
 *
 * Headers: a strict Content-Security-Policy (default-src 'self', no inline
 * script or style, no framing), X-Content-Type-Options: nosniff, the exact
 * Content-Type, Cache-Control: no-cache with an ETag (size and mtime) so a
 * browser revalidates with If-None-Match and gets 304.
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

#include <microhttpd.h>

#include "apid.h"

#define API_STATIC_MAX	(1024 * 1024)	/* no file of the interface is larger */

#ifndef PEERNET_WWW_DIR
#define PEERNET_WWW_DIR	""
#endif

static const char api_static_csp[] =
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "connect-src 'self'; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

static const struct {
	const char	*name;
	const char	*ctype;
} api_static_files[] = {
	{ "index.html", "text/html; charset=utf-8" },
	{ "app.js", "text/javascript; charset=utf-8" },
	{ "app.css", "text/css; charset=utf-8" },
	{ "icon.svg", "image/svg+xml" },
};

int	api_static(struct api_req *r);

static int
api_static_open(const char *dir, const char *name)
{
	struct open_how how;
	char path[PATH_MAX];
	int n;

	if (dir == NULL || dir[0] != '/')
		return -1;
	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW;
	how.resolve = RESOLVE_NO_MAGICLINKS;
	return (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
}

static int
api_static_reply_err(struct api_req *r, unsigned int status, const char *code,
    const char *msg)
{
	return api_reply_error(r, status, code, "%s", msg);
}

/* Where the files may be, in the order they are looked for. */
static void
api_static_dirs(const char *dirs[4])
{
	dirs[0] = getenv("PEERNET_WWW_DIR");
	dirs[1] = PEERNET_WWW_DIR;
	dirs[2] = "/usr/local/share/peernet/www";
	dirs[3] = "/usr/share/peernet/www";
}

const char *
api_static_dir(void)
{
	const char *dirs[4];
	struct stat st;
	int k;

	api_static_dirs(dirs);
	for (k = 0; k < 4; k++)
		if (dirs[k] != NULL && dirs[k][0] != '\0' && stat(dirs[k], &st) == 0 &&
		    S_ISDIR(st.st_mode))
			return dirs[k];
	return NULL;
}

int
api_static(struct api_req *r)
{
	const char *f = NULL, *inm, *dirs[4];
	struct MHD_Response *resp;
	struct stat st;
	char etag[64];
	size_t i, k, flen = 0, got = 0;
	ssize_t n;
	uint8_t *buf;
	int fd = -1, rc;

	/* With its length: "app.js%00..." is no name of the list either. */
	if (MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND, "f", 1,
	    &f, &flen) != MHD_YES || f == NULL || flen == 0)
		f = "index.html";
	else if (strlen(f) != flen)
		f = "";
	for (i = 0; i < sizeof(api_static_files) / sizeof(api_static_files[0]); i++)
		if (strcmp(api_static_files[i].name, f) == 0)
			break;
	if (i == sizeof(api_static_files) / sizeof(api_static_files[0]))
		return api_static_reply_err(r, 404, "not_found",
		    "no such file of the web interface");
	api_static_dirs(dirs);
	for (k = 0; k < 4 && fd == -1; k++)
		fd = api_static_open(dirs[k], f);
	if (fd == -1)
		return api_static_reply_err(r, 404, "no_web_interface",
		    "the web interface is not installed (set PEERNET_WWW_DIR, or "
		    "make install puts it in PREFIX/share/peernet/www)");
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > API_STATIC_MAX) {
		close(fd);
		return api_static_reply_err(r, 500, "internal", "unusable file");
	}
	snprintf(etag, sizeof(etag), "\"%llx-%llx-%lx\"", (unsigned long long)st.st_size,
	    (unsigned long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
	inm = api_header(r, "If-None-Match");
	if (inm != NULL && strcmp(inm, etag) == 0) {
		close(fd);
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		if (resp == NULL)
			return MHD_NO;
		MHD_add_response_header(resp, "ETag", etag);
		MHD_add_response_header(resp, "Cache-Control", "no-cache");
		rc = MHD_queue_response(r->conn, 304, resp);
		MHD_destroy_response(resp);
		return rc;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return api_static_reply_err(r, 500, "internal", "out of memory");
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	resp = MHD_create_response_from_buffer(got, buf, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    api_static_files[i].ctype);
	MHD_add_response_header(resp, "Content-Security-Policy", api_static_csp);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	MHD_add_response_header(resp, "ETag", etag);
	rc = MHD_queue_response(r->conn, 200, resp);
	MHD_destroy_response(resp);
	return rc;
}
