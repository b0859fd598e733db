/*
 * known_peers.c — netd's good peers, remembered across restarts so that a
 * node re-bootstraps without its root peers (netd has no writable file
 * system; storaged owns every persistent byte).  The file DIR/storage/
 * known-peers holds the canonical IPC encoding of the list: it is validated
 * by the same decoder as any IPC message when read back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "storaged.h"

#define KNOWN_PEERS_FILE_MAX	8192

static void
known_path(struct storaged *s, char *out, size_t cap, const char *suffix)
{
	snprintf(out, cap, "%s/storage/known-peers%s", s->d->dir, suffix);
}

void
storaged_peers_save(struct storaged *s, struct ipc_req *req, const uint8_t *msg,
    size_t len)
{
	static struct ipc_known_peers k;
	char path[PATH_MAX], tmp[PATH_MAX];
	uint8_t buf[KNOWN_PEERS_FILE_MAX], ok[IPC_HDR_LEN];
	long n;
	int fd;

	if (ipc_req_bad(req, ipc_known_peers_decode(msg, len, IPC_PEERS_SAVE, &k),
	    "peer list"))
		return;
	if ((n = ipc_known_peers_encode(buf, sizeof(buf), IPC_PEERS_LOAD, &k)) < 0) {
		ipc_reply_error(req, IPC_ERR_BADMSG, "peer list too large");
		return;
	}
	known_path(s, path, sizeof(path), "");
	known_path(s, tmp, sizeof(tmp), ".tmp");
	/* Temp file, fsync, rename: a crash leaves the old list or the new one. */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) == -1 ||
	    write(fd, buf, (size_t)n) != n || fsync(fd) == -1 || close(fd) == -1 ||
	    rename(tmp, path) == -1) {
		ipc_reply_error(req, IPC_ERR_FAILED, "%s: %s", path, strerror(errno));
		return;
	}
	ipc_empty_encode(ok, sizeof(ok), IPC_PEERS_SAVE, IPC_OK);
	ipc_reply(req, ok, sizeof(ok));
}

void
storaged_peers_load(struct storaged *s, struct ipc_req *req, const uint8_t *msg,
    size_t len)
{
	static struct ipc_known_peers k;
	uint8_t buf[KNOWN_PEERS_FILE_MAX];
	char path[PATH_MAX];
	ssize_t got = 0;
	long n;
	int fd;

	if (ipc_req_bad(req, ipc_empty_decode(msg, len, IPC_PEERS_LOAD), "request"))
		return;
	memset(&k, 0, sizeof(k));
	known_path(s, path, sizeof(path), "");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) != -1) {
		got = read(fd, buf, sizeof(buf));
		close(fd);
		if (got <= 0 || ipc_known_peers_decode(buf, (size_t)got, IPC_PEERS_LOAD, &k) != 0) {
			log_warnx("%s: unreadable, ignored", path);
			memset(&k, 0, sizeof(k));
		}
	}
	n = ipc_known_peers_encode(buf, sizeof(buf), IPC_PEERS_LOAD, &k);
	ipc_reply(req, buf, (size_t)n);
}
