/*
 * httpload.c — an open-loop HTTP/1.1 load generator for bench/apid.sh.
 *
 * Debian's wrk has no request-rate option (that is wrk2's -R), and a
 * closed-loop tool measures latency only at the rate the server lets it
 * reach.  This one sends GET PATH at a fixed rate (-r per second) over -c
 * keep-alive connections, one request in flight per connection, and takes
 * each latency from the request's *scheduled* time, so that a server that
 * falls behind shows it in the percentiles (no coordinated omission).
 * With -i N it first opens N connections that send nothing, from the
 * addresses .1-.250 of -I ADDR's /24 in turn, and keeps them open for the
 * whole run (idle clients holding slots, not one client a per-address
 * limit would stop).
 *
 *	httpload -a ADDR -p PORT -u PATH [-H 'Name: value'] [-b SRC] -r RATE
 *	    -c CONNS -d SECONDS [-w WARMUP] [-i IDLE -I IDLE_SRC]
 *
 * Prints one line of key=value: requests (sent), ok, errors, unsent (still
 * queued at the end), unanswered_measured (requests of the measured part
 * without an answer: in the percentiles with the time they waited, a lower
 * bound), rps (answered per second of the measured part), p50/p90/p99/
 * p999/max in ms, idle_open (idle connections the server had not closed).
 * Loopback only: it is a test tool.  Every loop is bounded by the run time.
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define HL_MAX_CONNS	512
#define HL_MAX_IDLE	4096
#define HL_BUF		65536

struct hl_conn {
	int	 fd;
	int	 busy;		/* a request in flight */
	int	 connected;
	double	 sched;		/* its scheduled send time */
	size_t	 rlen;
	char	 rbuf[HL_BUF];
};

static struct hl_conn conns[HL_MAX_CONNS];
static int idle_fds[HL_MAX_IDLE];
static double *lat;
static size_t nlat, caplat;
static unsigned long long n_req, n_ok, n_err;
static char req_text[2048];
static size_t req_len;
static struct sockaddr_in dst, src, idle_src;
static int have_src, epfd;
static double t_measure;	/* latencies of requests scheduled before it are dropped */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
hl_connect(const struct sockaddr_in *from, int bind_from)
{
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind_from && bind(fd, (const struct sockaddr *)from, sizeof(*from)) == -1) {
		close(fd);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) == -1 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
conn_open(int i)
{
	struct epoll_event ev;
	struct hl_conn *c = &conns[i];

	c->busy = c->connected = 0;
	c->rlen = 0;
	if ((c->fd = hl_connect(&src, have_src)) == -1)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.u32 = (uint32_t)i;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
}

static void
conn_reset(int i)
{
	struct hl_conn *c = &conns[i];

	if (c->busy) {
		n_err++;
		c->busy = 0;
	}
	if (c->fd >= 0) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	(void)conn_open(i);
}

static void
record(double sched, double t)
{
	double *p;

	if (sched < t_measure)
		return;
	if (nlat == caplat) {
		caplat = caplat ? caplat * 2 : 65536;
		if ((p = realloc(lat, caplat * sizeof(*lat))) == NULL)
			exit(1);
		lat = p;
	}
	lat[nlat++] = (t - sched) * 1000.0;
}

/* 1: a whole response is in the buffer (consumed); 0: more needed; -1: broken. */
static int
parse_response(struct hl_conn *c, int *status, int *close_after)
{
	char *end, *p, *line;
	size_t hlen, blen = 0;
	int have_len = 0;

	c->rbuf[c->rlen < HL_BUF ? c->rlen : HL_BUF - 1] = '\0';
	if ((end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4)) == NULL)
		return c->rlen >= HL_BUF - 1 ? -1 : 0;
	hlen = (size_t)(end - c->rbuf) + 4;
	if (strncmp(c->rbuf, "HTTP/1.", 7) != 0 || c->rlen < 12)
		return -1;
	*status = atoi(c->rbuf + 9);
	*close_after = 0;
	for (line = strstr(c->rbuf, "\r\n"); line != NULL && line < end;
	    line = strstr(line + 2, "\r\n")) {
		p = line + 2;
		if (strncasecmp(p, "Content-Length:", 15) == 0) {
			blen = strtoull(p + 15, NULL, 10);
			have_len = 1;
		} else if (strncasecmp(p, "Connection: close", 17) == 0)
			*close_after = 1;
	}
	if (!have_len || blen > HL_BUF - hlen)
		return -1;
	if (c->rlen < hlen + blen)
		return 0;
	memmove(c->rbuf, c->rbuf + hlen + blen, c->rlen - hlen - blen);
	c->rlen -= hlen + blen;
	return 1;
}

static int
send_req(int i, double sched)
{
	struct hl_conn *c = &conns[i];
	ssize_t k;

	k = send(c->fd, req_text, req_len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (k != (ssize_t)req_len)
		return -1;	/* a small request into an empty socket: whole or broken */
	c->busy = 1;
	c->sched = sched;
	n_req++;
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: httpload -a ADDR -p PORT -u PATH [-H HDR] [-b SRC] -r RATE "
	    "-c CONNS -d SECONDS [-w WARMUP] [-i IDLE -I IDLE_SRC]\n");
	exit(2);
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(double q)
{
	size_t i;

	if (nlat == 0)
		return -1;
	i = (size_t)(q * (double)(nlat - 1) + 0.5);
	return lat[i];
}

int
main(int argc, char **argv)
{
	const char *addr = NULL, *path = NULL, *hdrs[8], *bsrc = NULL, *isrc = NULL;
	struct epoll_event evs[256];
	double rate = 0, dur = 0, warm = 0, t0, t_end, next, t, *queue = NULL;
	size_t qhead = 0, qlen = 0, qcap;
	int port = 0, nconn = 0, nidle = 0, nh = 0, opt, i, n, k, cl, idle_open = 0;
	unsigned long long sent_sched = 0;
	uint32_t base;
	size_t late;

	while ((opt = getopt(argc, argv, "a:p:u:H:b:r:c:d:w:i:I:")) != -1) {
		switch (opt) {
		case 'a': addr = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'u': path = optarg; break;
		case 'H': if (nh < 8) hdrs[nh++] = optarg; break;
		case 'b': bsrc = optarg; break;
		case 'r': rate = atof(optarg); break;
		case 'c': nconn = atoi(optarg); break;
		case 'd': dur = atof(optarg); break;
		case 'w': warm = atof(optarg); break;
		case 'i': nidle = atoi(optarg); break;
		case 'I': isrc = optarg; break;
		default: usage();
		}
	}
	if (addr == NULL || path == NULL || port <= 0 || rate <= 0 || nconn <= 0 ||
	    nconn > HL_MAX_CONNS || dur <= 0 || dur > 600 || nidle < 0 ||
	    nidle > HL_MAX_IDLE || (nidle > 0 && isrc == NULL))
		usage();
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &dst.sin_addr) != 1 ||
	    (ntohl(dst.sin_addr.s_addr) >> 24) != 127) {
		fprintf(stderr, "httpload: loopback addresses only\n");
		return 2;
	}
	src = idle_src = dst;
	src.sin_port = idle_src.sin_port = 0;
	if (bsrc != NULL && inet_pton(AF_INET, bsrc, &src.sin_addr) == 1)
		have_src = 1;
	if (isrc != NULL && inet_pton(AF_INET, isrc, &idle_src.sin_addr) != 1)
		usage();
	n = snprintf(req_text, sizeof(req_text), "GET %s HTTP/1.1\r\nHost: %s:%d\r\n", path,
	    addr, port);
	for (i = 0; i < nh && n > 0 && (size_t)n < sizeof(req_text); i++)
		n += snprintf(req_text + n, sizeof(req_text) - (size_t)n, "%s\r\n", hdrs[i]);
	if (n <= 0 || (size_t)n + 2 >= sizeof(req_text))
		usage();
	memcpy(req_text + n, "\r\n", 3);
	req_len = (size_t)n + 2;
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return 1;
	/* The idle clients first: they hold their slots for the whole run. */
	/* From as many addresses as there are (IDLE_SRC's last byte up to .250):
	 * many clients, not one that a per-address limit stops. */
	base = ntohl(idle_src.sin_addr.s_addr);
	for (i = 0; i < nidle; i++) {
		struct sockaddr_in from = idle_src;

		from.sin_addr.s_addr = htonl((base & ~0xffu) | (((base & 0xff) + (unsigned)i %
		    250) % 250 + 1));
		if ((idle_fds[i] = hl_connect(&from, 1)) == -1) {
			fprintf(stderr, "httpload: idle connection %d: %s\n", i, strerror(errno));
			return 1;
		}
	}
	usleep(200000);
	for (i = 0; i < nconn; i++)
		if (conn_open(i) == -1) {
			fprintf(stderr, "httpload: connect: %s\n", strerror(errno));
			return 1;
		}
	qcap = (size_t)(rate * (dur + warm)) + 16;
	if ((queue = malloc(qcap * sizeof(*queue))) == NULL)
		return 1;
	t0 = now_s();
	t_measure = t0 + warm;
	t_end = t0 + warm + dur;
	next = t0;
	for (;;) {
		t = now_s();
		/* Requests due by now join the queue (at their scheduled times). */
		while (next <= t && next < t_end && qhead + qlen < qcap) {
			queue[qhead + qlen++] = next;
			sent_sched++;
			next = t0 + (double)sent_sched / rate;
		}
		for (i = 0; i < nconn && qlen > 0; i++)
			if (conns[i].fd >= 0 && conns[i].connected && !conns[i].busy) {
				if (send_req(i, queue[qhead]) == 0) {
					qhead++;
					qlen--;
				} else
					conn_reset(i);
			}
		if (t >= t_end + 5.0)
			break;		/* answers still missing 5 s after the end: errors */
		if (t >= t_end && qlen == 0) {
			for (i = 0; i < nconn && !conns[i].busy; i++)
				;
			if (i == nconn)
				break;
		}
		k = (int)((next - t) * 1000.0);
		if (k < 0 || qlen > 0)
			k = 0;
		if (k > 5)
			k = 5;
		n = epoll_wait(epfd, evs, 256, k);
		for (k = 0; k < n; k++) {
			struct hl_conn *c = &conns[evs[k].data.u32];
			ssize_t r;

			if (evs[k].events & EPOLLOUT && !c->connected) {
				int e = 0;
				socklen_t el = sizeof(e);
				struct epoll_event ev;

				if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el) == -1 || e != 0) {
					conn_reset((int)evs[k].data.u32);
					continue;
				}
				c->connected = 1;
				memset(&ev, 0, sizeof(ev));
				ev.events = EPOLLIN;
				ev.data.u32 = evs[k].data.u32;
				epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
			}
			if (!(evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				continue;
			r = recv(c->fd, c->rbuf + c->rlen, HL_BUF - 1 - c->rlen, MSG_DONTWAIT);
			if (r == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0) {
				conn_reset((int)evs[k].data.u32);
				continue;
			}
			c->rlen += (size_t)r;
		}
		/* Completed responses (handled outside the event loop for clarity). */
		for (i = 0; i < nconn; i++) {
			struct hl_conn *c = &conns[i];
			int status, rc;

			while (c->fd >= 0 && c->busy &&
			    (rc = parse_response(c, &status, &cl)) != 0) {
				if (rc < 0) {
					conn_reset(i);
					break;
				}
				c->busy = 0;
				if (status >= 200 && status < 300) {
					n_ok++;
					record(c->sched, now_s());
				} else
					n_err++;
				if (cl)
					conn_reset(i);
			}
		}
	}
	/*
	 * Requests of the measured part still queued or unanswered count with
	 * the time they have waited so far: a lower bound, so that an
	 * overloaded server shows in the percentiles instead of out of them.
	 */
	t = now_s();
	late = 0;
	for (i = 0; (size_t)i < qlen; i++)
		if (queue[qhead + (size_t)i] >= t_measure) {
			record(queue[qhead + (size_t)i], t);
			late++;
		}
	for (i = 0; i < nconn; i++)
		if (conns[i].busy && conns[i].sched >= t_measure) {
			record(conns[i].sched, t);
			late++;
		}
	for (i = 0; i < nidle; i++) {
		char b;
		ssize_t r = recv(idle_fds[i], &b, 1, MSG_DONTWAIT);

		/* Still open: nothing to read yet (EAGAIN). */
		if (r == -1 && errno == EAGAIN)
			idle_open++;
		close(idle_fds[i]);
	}
	qsort(lat, nlat, sizeof(*lat), cmp_d);
	printf("requests=%llu ok=%llu errors=%llu unsent=%zu unanswered_measured=%zu "
	    "rps=%.0f p50=%.3f p90=%.3f p99=%.3f p999=%.3f max=%.3f idle_open=%d\n",
	    n_req, n_ok, n_err, qlen, late, (double)(nlat - late) / dur, pct(0.5),
	    pct(0.9), pct(0.99), pct(0.999),
	    nlat ? lat[nlat - 1] : -1.0, idle_open);
	free(queue);
	free(lat);
	return 0;
}
