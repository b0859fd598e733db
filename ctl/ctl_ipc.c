/*
 * ctl_ipc.c — peernetctl's own client for the daemons' request/reply
 * sockets, bounded by a deadline from connect to the last byte.
 *
 * Why not ipc_call (nng): nng_dial waits for the SP handshake with a fixed
 * 10 s timer, so a stopped (SIGSTOP) or wedged daemon made every verb take
 * ~10 s whatever --timeout said, and its errors folded EACCES into "not
 * running".  Here every step is a poll(2) on the remaining time and the
 * connect(2) errno is kept: ENOENT/ECONNREFUSED (not running), EACCES
 * (permission), a deadline (not answering).
 *
 * Wire format (nng's IPC transport with the req0/rep0 protocols, which the
 * daemons speak through nng): each side first sends 8 bytes 00 'S' 'P' 00
 * PROTO(u16 BE) 00 00 (req0 0x0030, rep0 0x0031); then each message is one
 * byte 0x01, a u64 BE length, and the payload: for req0/rep0 a 4-byte
 * request ID with the top bit set, then the body.  The reply echoes the ID.
 *
 * Also the client end of storaged's bulk channel (common/ipc_bulk.c), on
 * which `add` streams file data: see ctl_bulk_connect below.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "ctl.h"
#include "ipc.h"

#define CTL_SP_REQ0	0x30
#define CTL_SP_REP0	0x31

static int
ctl_ipc_left(uint64_t deadline)
{
	uint64_t now = loop_now_ms();

	return now >= deadline ? 0 : (int)(deadline - now);
}

/*
 * Waits for ev on fd until deadline: 1 ready, 0 time is up, -1 error, -2
 * a signal set *stop (stop may be NULL: signals do not end the wait).
 */
static int
ctl_ipc_wait(int fd, short ev, uint64_t deadline, volatile sig_atomic_t *stop)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int left, rc;

	for (;;) {
		if (stop != NULL && *stop)
			return -2;
		if ((left = ctl_ipc_left(deadline)) == 0)
			return 0;
		rc = poll(&p, 1, left);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == -1)
			return -1;
		if (rc == 0)
			return 0;
		return 1;
	}
}

/* Why a wait ended (ctl_ipc_wait's result, not 1) as a CTL_E_ code. */
static int
ctl_ipc_wait_err(int rc, char *err, size_t errlen)
{
	if (rc == -2) {
		snprintf(err, errlen, "interrupted");
		return CTL_E_STOPPED;
	}
	snprintf(err, errlen, "no answer");
	return rc == 0 ? CTL_E_TIMEOUT : CTL_E_ERROR;
}

static int
ctl_ipc_write(int fd, const void *b, size_t len, uint64_t deadline, char *err,
    size_t errlen)
{
	const uint8_t *p = b;
	ssize_t n;
	int rc;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN) {
			snprintf(err, errlen, "connection lost while sending: %s",
			    strerror(errno));
			return CTL_E_LOST;
		}
		if ((rc = ctl_ipc_wait(fd, POLLOUT, deadline, NULL)) <= 0)
			return ctl_ipc_wait_err(rc, err, errlen);
	}
	return 0;
}

static int
ctl_ipc_read_stop(int fd, void *b, size_t len, uint64_t deadline,
    volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	uint8_t *p = b;
	ssize_t n;
	int rc;

	while (len > 0) {
		n = recv(fd, p, len, 0);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0) {
			snprintf(err, errlen, "connection lost while waiting for the reply");
			return CTL_E_LOST;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			snprintf(err, errlen, "connection lost: %s", strerror(errno));
			return CTL_E_LOST;
		}
		if ((rc = ctl_ipc_wait(fd, POLLIN, deadline, stop)) <= 0)
			return ctl_ipc_wait_err(rc, err, errlen);
	}
	return 0;
}

static int
ctl_ipc_read(int fd, void *b, size_t len, uint64_t deadline, char *err,
    size_t errlen)
{
	return ctl_ipc_read_stop(fd, b, len, deadline, NULL, err, errlen);
}

int
ctl_ipc_call(const char *path, const void *req, size_t len, uint8_t **rep,
    size_t *replen, uint64_t deadline, int *sys_errno, char *err, size_t errlen)
{
	static uint32_t counter;
	struct sockaddr_un sa;
	uint8_t hdr[8], fh[13], got[9];
	uint32_t id;
	uint64_t flen;
	int fd, rc;

	*rep = NULL;
	*replen = 0;
	*sys_errno = 0;
	if (ipc_unix_addr(&sa, path) != 0) {
		snprintf(err, errlen, "%s: path too long for a unix socket", path);
		return CTL_E_ERROR;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return CTL_E_ERROR;
	}
	/* A full backlog (EAGAIN) is a daemon that does not accept: retry. */
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		*sys_errno = errno;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN && ctl_ipc_left(deadline) > 0) {
			ctl_sleep_ms(10);
			continue;
		}
		snprintf(err, errlen, "connect to %s: %s", path, strerror(errno));
		close(fd);
		if (errno == ENOENT || errno == ECONNREFUSED || errno == ENOTDIR)
			return CTL_E_DOWN;
		if (errno == EACCES || errno == EPERM)
			return CTL_E_DENIED;
		return errno == EAGAIN ? CTL_E_TIMEOUT : CTL_E_ERROR;
	}
	*sys_errno = 0;
	/* Handshake, then the one request: the kernel buffers both. */
	memcpy(hdr, "\0SP\0\0\0\0\0", 8);
	hdr[5] = CTL_SP_REQ0;
	id = 0x80000000u | (((uint32_t)getpid() << 12) ^ ++counter);
	fh[0] = 1;
	buf_put_be32(fh + 1, (uint32_t)((uint64_t)(len + 4) >> 32));
	buf_put_be32(fh + 5, (uint32_t)(len + 4));
	buf_put_be32(fh + 9, id);
	if ((rc = ctl_ipc_write(fd, hdr, 8, deadline, err, errlen)) != 0 ||
	    (rc = ctl_ipc_write(fd, fh, 13, deadline, err, errlen)) != 0 ||
	    (rc = ctl_ipc_write(fd, req, len, deadline, err, errlen)) != 0)
		goto out;
	if ((rc = ctl_ipc_read(fd, got, 8, deadline, err, errlen)) != 0)
		goto out;
	if (memcmp(got, "\0SP\0", 4) != 0 || got[4] != 0 || got[5] != CTL_SP_REP0) {
		snprintf(err, errlen, "%s: not a peernet daemon's socket", path);
		rc = CTL_E_ERROR;
		goto out;
	}
	for (;;) {
		if ((rc = ctl_ipc_read(fd, got, 9, deadline, err, errlen)) != 0)
			goto out;
		flen = ((uint64_t)buf_be32(got + 1) << 32) | buf_be32(got + 5);
		if (got[0] != 1 || flen < 4 || flen > IPC_MSG_MAX + 64) {
			snprintf(err, errlen, "malformed frame from the daemon");
			rc = CTL_E_ERROR;
			goto out;
		}
		free(*rep);
		if ((*rep = malloc((size_t)flen)) == NULL) {
			snprintf(err, errlen, "out of memory");
			rc = CTL_E_ERROR;
			goto out;
		}
		if ((rc = ctl_ipc_read(fd, *rep, (size_t)flen, deadline, err, errlen)) != 0)
			goto out;
		/* The reply to this request; anything else is not ours. */
		if (buf_be32(*rep) == id)
			break;
	}
	*replen = (size_t)flen - 4;
	memmove(*rep, *rep + 4, *replen);
	rc = 0;
out:
	if (rc != 0) {
		free(*rep);
		*rep = NULL;
		*replen = 0;
	}
	close(fd);
	return rc;
}

/*
 * storaged's bulk channel (common/ipc_bulk.c): a plain unix stream socket
 * DIR/run/storaged-bulk.sock that storaged serves from its own loop, with
 * the same uid check (SO_PEERCRED) as its nng socket.  `add` streams file
 * data on it because each request through nng crosses nng's threads on
 * both sides, and ctl_ipc_call also connects once per request: at 1 MiB a
 * request, that hand-off, not hashing or writing, bounded an add.
 *
 * Frames: length (u32 LE) | request ID (u32 LE) | IPC message; storaged
 * answers each with the request's ID, in order.  A refused connection
 * (another uid, too many connections) is accepted and closed at once by
 * storaged: the caller sees it as a connection lost before its first
 * reply.
 */
#define CTL_BULK_HDR	8
#define CTL_BULK_SNDBUF	(4 << 20)	/* a few chunks ahead of storaged's reads */

int
ctl_bulk_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd, sz = CTL_BULK_SNDBUF;

	if (ipc_unix_addr(&sa, path) != 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1)
		return -1;
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		if (errno == EINTR)
			continue;
		close(fd);
		return -1;
	}
	/*
	 * A larger send buffer lets a whole chunk go in one write while
	 * storaged still hashes the one before (the kernel caps it at
	 * net.core.wmem_max; a smaller buffer only costs more wake-ups).
	 */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	return fd;
}

int
ctl_bulk_send(int fd, uint32_t id, const void *msg, size_t len, uint64_t deadline,
    volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	uint8_t hdr[CTL_BULK_HDR];
	struct iovec iov[2];
	struct msghdr mh;
	size_t done = 0, total = CTL_BULK_HDR + len;
	ssize_t k;
	int rc;

	if (len > IPC_MSG_MAX) {
		snprintf(err, errlen, "a request of %zu bytes is over the limit", len);
		return CTL_E_ERROR;
	}
	buf_put_le32(hdr, (uint32_t)len);
	buf_put_le32(hdr + 4, id);
	while (done < total) {
		memset(&mh, 0, sizeof(mh));
		if (done < CTL_BULK_HDR) {
			iov[0].iov_base = hdr + done;
			iov[0].iov_len = CTL_BULK_HDR - done;
			iov[1].iov_base = (void *)(uintptr_t)msg;
			iov[1].iov_len = len;
			mh.msg_iovlen = len > 0 ? 2 : 1;
		} else {
			iov[0].iov_base = (uint8_t *)(uintptr_t)msg + (done - CTL_BULK_HDR);
			iov[0].iov_len = total - done;
			mh.msg_iovlen = 1;
		}
		mh.msg_iov = iov;
		k = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (k > 0) {
			done += (size_t)k;
			continue;
		}
		if (k == -1 && errno == EINTR && (stop == NULL || !*stop))
			continue;
		if (k == -1 && errno != EAGAIN && errno != EINTR) {
			snprintf(err, errlen, "connection lost while sending: %s",
			    strerror(errno));
			return CTL_E_LOST;
		}
		if ((rc = ctl_ipc_wait(fd, POLLOUT, deadline, stop)) <= 0)
			return ctl_ipc_wait_err(rc, err, errlen);
	}
	return 0;
}

int
ctl_bulk_recv(int fd, uint32_t *id, uint8_t *buf, size_t cap, size_t *len,
    uint64_t deadline, volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	uint8_t hdr[CTL_BULK_HDR];
	uint32_t n;
	int rc;

	if ((rc = ctl_ipc_read_stop(fd, hdr, sizeof(hdr), deadline, stop, err,
	    errlen)) != 0)
		return rc;
	/* storaged's replies to data are a status, or an error and its reason. */
	if ((n = buf_le32(hdr)) > cap) {
		snprintf(err, errlen, "a reply of %u bytes on the bulk channel", n);
		return CTL_E_ERROR;
	}
	if ((rc = ctl_ipc_read_stop(fd, buf, n, deadline, stop, err, errlen)) != 0)
		return rc;
	*id = buf_le32(hdr + 4);
	*len = n;
	return 0;
}
