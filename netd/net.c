/*
 * net.c — netd's UDP sockets: one per configured listen address, bound
 * before the last capability is dropped, with the destination address of
 * each datagram requested (IP_PKTINFO / IPV6_RECVPKTINFO) so that replies
 * leave from the address they were sent to.
 */
#define _GNU_SOURCE	/* struct in6_pktinfo */
#include <sys/socket.h>
#include <sys/epoll.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "netd.h"
#include "wire_packet.h"

#define NET_BATCH	16	/* datagrams per recvmmsg */
#define NET_ROUNDS	8	/* recvmmsg calls per wake-up */

/* UDP segmentation offload (UDP_SEGMENT, Linux 4.18) and its receive side
 * (UDP_GRO, 5.0), from <netinet/udp.h>. */
#define NET_GSO_MAX	64	/* the kernel's UDP_MAX_SEGMENTS */
#define NET_GSO_BYTES	65000	/* one UDP datagram's payload limit, less headers */

void
net_rx_batch_init(struct mmsghdr *mm, struct iovec *iov, int n,
    uint8_t *bufs, size_t size, struct sockaddr_storage *from, uint8_t *ctl,
    size_t ctl_size)
{
	int i;

	memset(mm, 0, (size_t)n * sizeof(*mm));
	for (i = 0; i < n; i++) {
		iov[i].iov_base = bufs + (size_t)i * size;
		iov[i].iov_len = size;
		mm[i].msg_hdr.msg_name = &from[i];
		mm[i].msg_hdr.msg_namelen = sizeof(from[i]);
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		if (ctl != NULL) {
			mm[i].msg_hdr.msg_control = ctl + (size_t)i * ctl_size;
			mm[i].msg_hdr.msg_controllen = ctl_size;
		}
	}
}

/*
 * Receives datagrams in batches (recvmmsg: one syscall for up to 16), each
 * with the local address it was sent to, bounded per wake-up so that one
 * busy socket cannot starve the loop.
 */
static void
net_on_datagram(int fd, uint32_t events, void *arg)
{
	struct netd_sock *s = arg;
	static uint8_t raw[NET_BATCH][WIRE_PACKET_MAX];
	static union {
		struct cmsghdr	hdr;
		uint8_t		buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + 64];
	} ctl[NET_BATCH];
	static struct sockaddr_storage from[NET_BATCH];
	static struct mmsghdr mm[NET_BATCH];
	static struct iovec iov[NET_BATCH];
	struct peer_addr remote, local;
	struct cmsghdr *cm;
	size_t seg, off, len;
	int i, k, got;

	(void)events;
	/* What the handlers send in answer leaves in sendmmsg batches. */
	net_tx_begin(s->n);
	for (k = 0; k < NET_ROUNDS; k++) {
		net_rx_batch_init(mm, iov, NET_BATCH, raw[0], sizeof(raw[0]),
		    from, ctl[0].buf, sizeof(ctl[0]));
		if ((got = recvmmsg(fd, mm, NET_BATCH, MSG_DONTWAIT, NULL)) <= 0)
			break;
		for (i = 0; i < got; i++) {
			struct msghdr *mh = &mm[i].msg_hdr;

			if (peer_addr_from_sockaddr((struct sockaddr *)&from[i],
			    mh->msg_namelen, &remote) != 0)
				continue;
			local = s->addr;
			seg = 0;
			for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
				if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
					int gs;

					memcpy(&gs, CMSG_DATA(cm), sizeof(gs));
					seg = gs > 0 ? (size_t)gs : 0;
				} else if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
					struct in_pktinfo pi;

					memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
					memset(local.ip, 0, sizeof(local.ip));
					memcpy(local.ip, &pi.ipi_addr, 4);
				} else if (cm->cmsg_level == IPPROTO_IPV6 &&
				    cm->cmsg_type == IPV6_PKTINFO) {
					struct in6_pktinfo pi;

					memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
					memcpy(local.ip, &pi.ipi6_addr, 16);
				}
			}
			if (mh->msg_flags & MSG_TRUNC)
				continue;
			/* Coalesced by the kernel (UDP_GRO): datagrams of `seg`
			 * bytes each, the last one possibly shorter. */
			len = mm[i].msg_len;
			if (seg == 0 || seg >= len)
				seg = len;
			else
				s->n->counters[IPC_NC_RX_COALESCED]++;
			for (off = 0; off < len && s->n->packet_in != NULL; off += seg)
				s->n->packet_in(s->n, s->index, &local, &remote,
				    raw[i] + off, len - off < seg ? len - off : seg);
		}
		if (got < NET_BATCH)
			break;
	}
	net_tx_end(s->n);
}

/* One outgoing datagram's header: destination, and the source address as
 * IP_PKTINFO / IPV6_PKTINFO when a wildcard socket must answer from the
 * address the peer wrote to. */
union net_ctl {
	struct cmsghdr	hdr;
	uint8_t		buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
			    CMSG_SPACE(sizeof(uint16_t))];	/* + UDP_SEGMENT */
};

static int
net_fill(const struct netd_sock *s, const struct peer_addr *local,
    const struct peer_addr *remote, struct msghdr *mh, struct iovec *iov,
    struct sockaddr_storage *to, union net_ctl *ctl)
{
	socklen_t tolen;

	if (remote->family != s->family || peer_addr_to_sockaddr(remote, to, &tolen) != 0)
		return -1;
	memset(mh, 0, sizeof(*mh));
	mh->msg_name = to;
	mh->msg_namelen = tolen;
	mh->msg_iov = iov;
	mh->msg_iovlen = 1;
	if (local != NULL && peer_addr_is_unspecified(&s->addr) &&
	    !peer_addr_is_unspecified(local)) {
		memset(ctl, 0, sizeof(*ctl));
		mh->msg_control = ctl->buf;
		net_pktinfo_put(mh, s->family, local, 0);
	}
	return 0;
}

/* One control message at the start of mh's control buffer. */
static void
net_cmsg_put(struct msghdr *mh, int level, int type, const void *data,
    size_t len)
{
	struct cmsghdr *cm;

	/* CMSG_FIRSTHDR is NULL until the length covers a header. */
	mh->msg_controllen = CMSG_SPACE(len);
	cm = CMSG_FIRSTHDR(mh);
	cm->cmsg_level = level;
	cm->cmsg_type = type;
	cm->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(cm), data, len);
}

void
net_pktinfo_put(struct msghdr *mh, int family, const struct peer_addr *src,
    unsigned int ifindex)
{
	if (family == AF_INET) {
		struct in_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi_ifindex = (int)ifindex;
		if (src != NULL)
			memcpy(&pi.ipi_spec_dst, src->ip, 4);
		net_cmsg_put(mh, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	} else {
		struct in6_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi6_ifindex = ifindex;
		if (src != NULL)
			memcpy(&pi.ipi6_addr, src->ip, 16);
		net_cmsg_put(mh, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
	}
}

/*
 * Outgoing batch (issue #4, #19): datagrams are copied into this queue and
 * leave with one sendmmsg per NET_TXQ, when the socket changes, or at the
 * end of the event loop's wake-up (loop_defer): everything the callbacks of
 * one wake-up send — the data packets a transfer pumps after an ACK, a
 * storaged reply or its timer — leaves in a few sendmmsg calls with GSO
 * runs, not one sendmsg each.  On a virtual machine a syscall costs more
 * than the datagram's whole UDT handling.  net_tx_begin / net_tx_end still
 * bracket sections that must batch even outside the loop.  Order is kept:
 * a datagram that cannot be queued flushes the queue first.
 */
#define NET_TXQ		256
#define NET_TX_SLOT	1500	/* larger datagrams go out at once */

static struct {
	struct netd		*n;
	int			 depth;		/* net_tx_begin nesting */
	int			 deferred;	/* a flush is due at the wake-up's end */
	int			 sock, fd;
	unsigned		 cnt;
	struct mmsghdr		 mm[NET_TXQ];
	struct iovec		 iov[NET_TXQ];
	struct sockaddr_storage	 to[NET_TXQ];
	union net_ctl		 ctl[NET_TXQ];
	uint8_t			 buf[NET_TXQ][NET_TX_SLOT];
} net_txq;

/* Whether queued datagram j can ride in i's GSO send (same destination,
 * same source, same size; only a run's last datagram may be shorter). */
static int
net_gso_joins(unsigned i, unsigned j, size_t bytes)
{
	const struct msghdr *a = &net_txq.mm[i].msg_hdr, *b = &net_txq.mm[j].msg_hdr;

	return net_txq.iov[j].iov_len <= net_txq.iov[i].iov_len &&
	    net_txq.iov[j - 1].iov_len == net_txq.iov[i].iov_len &&
	    bytes + net_txq.iov[j].iov_len <= NET_GSO_BYTES &&
	    a->msg_namelen == b->msg_namelen &&
	    memcmp(a->msg_name, b->msg_name, a->msg_namelen) == 0 &&
	    a->msg_controllen == b->msg_controllen &&
	    (a->msg_controllen == 0 ||
	    memcmp(a->msg_control, b->msg_control, a->msg_controllen) == 0);
}

/* Sends datagrams [i, i+cnt) one by one (a GSO send the path refused). */
static void
net_tx_each(unsigned i, unsigned cnt)
{
	struct netd *n = net_txq.n;
	struct msghdr mh;

	for (; cnt > 0; i++, cnt--) {
		mh = net_txq.mm[i].msg_hdr;
		mh.msg_iov = &net_txq.iov[i];
		mh.msg_iovlen = 1;
		if (sendmsg(net_txq.fd, &mh, MSG_DONTWAIT) == -1)
			n->counters[IPC_NC_TX_ERRORS]++;
		else
			n->counters[IPC_NC_TX_PACKETS]++;
	}
}

/*
 * Sends the queue.  Runs of equal-size datagrams to one destination (a
 * bulk transfer's data packets) go out as one buffer the kernel cuts into
 * those same datagrams (UDP_SEGMENT): on the wire nothing changes, but the
 * stack is walked once per run instead of once per datagram — on loopback
 * that walk was most of a transfer's CPU.  A socket whose path refuses GSO
 * (no checksum offload, a too small MTU) falls back to sendmmsg.
 */
static void
net_tx_flush(void)
{
	struct netd *n = net_txq.n;
	struct netd_sock *s;
	struct mmsghdr out[NET_TXQ];
	unsigned first[NET_TXQ], segs[NET_TXQ], nout = 0, i, j, o = 0;
	size_t bytes;
	int k;

	if (net_txq.cnt == 0)
		return;
	/* The socket may have been closed meanwhile (netlink.c): drop. */
	if (net_txq.sock >= n->nsocks || n->socks[net_txq.sock].fd != net_txq.fd) {
		n->counters[IPC_NC_TX_ERRORS] += net_txq.cnt;
		net_txq.cnt = 0;
		return;
	}
	s = &n->socks[net_txq.sock];
	for (i = 0; i < net_txq.cnt; i = j) {
		bytes = net_txq.iov[i].iov_len;
		for (j = i + 1; !s->no_gso && n->d->conf.udp_gso && j < net_txq.cnt &&
		    j - i < NET_GSO_MAX &&
		    net_gso_joins(i, j, bytes); j++)
			bytes += net_txq.iov[j].iov_len;
		out[nout].msg_hdr = net_txq.mm[i].msg_hdr;
		out[nout].msg_hdr.msg_iov = &net_txq.iov[i];
		out[nout].msg_hdr.msg_iovlen = j - i;
		out[nout].msg_len = 0;
		if (j - i > 1) {
			/* The segment size after whatever control is there. */
			struct msghdr *mh = &out[nout].msg_hdr;
			union net_ctl *c = &net_txq.ctl[i];
			struct cmsghdr *cm;
			uint16_t gs = (uint16_t)net_txq.iov[i].iov_len;

			if (mh->msg_controllen == 0)
				memset(c, 0, sizeof(*c));
			mh->msg_control = c->buf;
			cm = (struct cmsghdr *)(c->buf + mh->msg_controllen);
			cm->cmsg_level = SOL_UDP;
			cm->cmsg_type = UDP_SEGMENT;
			cm->cmsg_len = CMSG_LEN(sizeof(gs));
			memcpy(CMSG_DATA(cm), &gs, sizeof(gs));
			mh->msg_controllen += CMSG_SPACE(sizeof(gs));
		}
		first[nout] = i;
		segs[nout++] = j - i;
	}
	while (o < nout) {
		k = sendmmsg(net_txq.fd, out + o, nout - o, MSG_DONTWAIT);
		if (k > 0) {
			for (; k > 0; k--, o++) {
				n->counters[IPC_NC_TX_PACKETS] += segs[o];
				n->counters[IPC_NC_TX_GSO_RUNS] += segs[o] > 1;
			}
			continue;
		}
		if (k == -1 && errno == EINTR)
			continue;
		if (segs[o] > 1 && errno != EAGAIN && errno != ENOBUFS) {
			/* GSO refused: the path or the kernel.  Once for good
			 * when the device cannot do it, else per run. */
			if (errno == EIO || errno == EOPNOTSUPP || errno == ENOPROTOOPT) {
				s->no_gso = 1;
				log_info("%s: no UDP segmentation offload (%s): "
				    "sending datagram by datagram", s->text, strerror(errno));
			}
			net_tx_each(first[o], segs[o]);
			o++;
			continue;
		}
		/* The first one failed (firewall, no route, buffer full): skip it. */
		n->counters[IPC_NC_TX_ERRORS] += segs[o];
		o++;
	}
	net_txq.cnt = 0;
}

static void
net_tx_deferred(void *arg)
{
	(void)arg;
	net_txq.deferred = 0;
	if (net_txq.depth == 0)
		net_tx_flush();
}

/* Whether what is sent now may wait in the queue: inside net_tx_begin, or
 * with a flush due at the end of the loop's wake-up (armed here). */
static int
net_tx_batching(struct netd *n)
{
	if (net_txq.n != n && (net_txq.depth > 0 || net_txq.deferred)) {
		/* another netd (tests run several in one process) */
		net_tx_flush();
		if (net_txq.depth > 0)
			return 0;
	}
	if (net_txq.depth > 0)
		return 1;
	net_txq.n = n;
	if (!net_txq.deferred && loop_defer(&n->d->loop, net_tx_deferred, NULL) == 0)
		net_txq.deferred = 1;
	return net_txq.deferred;
}

void
net_tx_begin(struct netd *n)
{
	if (net_txq.n != n && (net_txq.depth > 0 || net_txq.deferred))
		net_tx_flush();
	net_txq.n = n;
	net_txq.depth++;
}

void
net_tx_end(struct netd *n)
{
	(void)n;
	if (net_txq.depth > 0 && --net_txq.depth == 0 && !net_tx_batching(n))
		net_tx_flush();
}

int
net_send_rawv(struct netd *n, int sock, const struct peer_addr *local,
    const struct peer_addr *remote, const struct iovec *iov, int iovcnt)
{
	union net_ctl ctl;
	struct sockaddr_storage to;
	struct netd_sock *s;
	struct msghdr mh;
	struct iovec one;
	size_t len = 0, off;
	unsigned i;
	int k;

	if (sock < 0 || sock >= n->nsocks || iovcnt < 1 || iovcnt > 8)
		return -1;
	s = &n->socks[sock];
	if (s->fd < 0)		/* closed: its address went away (netlink.c) */
		return -1;
	for (k = 0; k < iovcnt; k++)
		len += iov[k].iov_len;
	if (len <= NET_TX_SLOT && net_tx_batching(n)) {
		if (net_txq.cnt > 0 && (net_txq.sock != sock || net_txq.fd != s->fd))
			net_tx_flush();
		i = net_txq.cnt;
		net_txq.iov[i].iov_base = net_txq.buf[i];
		net_txq.iov[i].iov_len = len;
		if (net_fill(s, local, remote, &net_txq.mm[i].msg_hdr, &net_txq.iov[i],
		    &net_txq.to[i], &net_txq.ctl[i]) != 0)
			return -1;
		/* The caller's buffers are reused at once (a static lite buffer). */
		for (k = 0, off = 0; k < iovcnt; off += iov[k].iov_len, k++)
			memcpy(net_txq.buf[i] + off, iov[k].iov_base, iov[k].iov_len);
		net_txq.mm[i].msg_len = 0;
		net_txq.sock = sock;
		net_txq.fd = s->fd;
		if (++net_txq.cnt == NET_TXQ)
			net_tx_flush();
		return 0;
	}
	/* Not batching, or too large to queue: in order, right now. */
	if (net_txq.cnt > 0)
		net_tx_flush();
	if (net_fill(s, local, remote, &mh, &one, &to, &ctl) != 0)
		return -1;
	mh.msg_iov = (struct iovec *)iov;
	mh.msg_iovlen = (size_t)iovcnt;
	if (sendmsg(s->fd, &mh, MSG_DONTWAIT) == -1) {
		n->counters[IPC_NC_TX_ERRORS]++;
		return -1;
	}
	n->counters[IPC_NC_TX_PACKETS]++;
	return 0;
}

int
net_send_raw(struct netd *n, int sock, const struct peer_addr *local,
    const struct peer_addr *remote, const uint8_t *buf, size_t len)
{
	struct iovec iov;

	iov.iov_base = (void *)buf;
	iov.iov_len = len;
	return net_send_rawv(n, sock, local, remote, &iov, 1);
}

/* The options every main socket gets, before bind. */
static void
net_sockopts(int fd, int family, int freebind)
{
	int on = 1, rcvbuf = 4 << 20;

	if (family == AF_INET6) {
		/* [::] must not also take IPv4: 0.0.0.0 has its own socket. */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
		if (freebind)
			setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &on, sizeof(on));
	} else {
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
		/* §6.1: broadcasts leave from the main socket. */
		setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof(on));
		if (freebind)
			setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &on, sizeof(on));
	}
	/* Peernet datagrams reach 64 KiB; bursts must not be dropped by the kernel. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	/* Bulk data may arrive coalesced (split in net_on_datagram); an
	 * older kernel without it just delivers datagram by datagram. */
	setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof(on));
}

int
net_sockets_open(struct netd *n, char *err, size_t errlen)
{
	const struct conf *c = &n->d->conf;
	struct sockaddr_storage ss;
	socklen_t slen;
	int i, fd;

	for (i = 0; i < c->nlisten && i < NETD_MAX_SOCKS; i++) {
		const struct conf_listen *l = &c->listen[i];
		struct netd_sock *s = &n->socks[n->nsocks];
		char text[PEER_ADDR_STRLEN];

		slen = conf_listen_sockaddr(l, &ss);
		fd = socket(l->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd == -1) {
			snprintf(err, errlen, "socket for %s: %s", l->text, strerror(errno));
			return -1;
		}
		net_sockopts(fd, l->family, 0);
		if (bind(fd, (struct sockaddr *)&ss, slen) == -1) {
			snprintf(err, errlen, "bind %s: %s%s", l->text, strerror(errno),
			    errno == EACCES ? " (ports below 1024 need root or "
			    "CAP_NET_BIND_SERVICE)" : "");
			close(fd);
			return -1;
		}
		/* Port 0 in the config: the kernel chose one; learn it. */
		slen = sizeof(ss);
		getsockname(fd, (struct sockaddr *)&ss, &slen);
		memset(s, 0, sizeof(*s));
		s->fd = fd;
		s->n = n;
		s->index = n->nsocks;
		s->family = l->family;
		peer_addr_from_sockaddr((struct sockaddr *)&ss, slen, &s->addr);
		s->port = s->addr.port;
		peer_addr_format(&s->addr, text, sizeof(text));
		strlcpy(s->text, text, sizeof(s->text));
		n->nsocks++;
		if (loop_add_fd(&n->d->loop, fd, EPOLLIN, net_on_datagram, s) == -1) {
			snprintf(err, errlen, "loop: %s", strerror(errno));
			return -1;
		}
		log_info("listening on %s", s->text);
	}
	return 0;
}

void
net_sockets_close(struct netd *n)
{
	int i;

	if (net_txq.n == n)
		net_tx_flush();	/* a Shutdown queued on the way out */
	for (i = 0; i < n->nsocks; i++) {
		loop_del_fd(&n->d->loop, n->socks[i].fd);
		close(n->socks[i].fd);
	}
	n->nsocks = 0;
}

/* --- sockets opened and closed while running (netlink.c) ------------------ */

/*
 * A main socket bound to a, not yet in the table: the fd, or -errno
 * (EADDRNOTAVAIL: the address is absent; EACCES: a port below 1024 without
 * CAP_NET_BIND_SERVICE).  With freebind an absent address is bound too
 * (IP_FREEBIND): netlink.c parks such a socket until the address appears.
 */
int
net_socket_bind_fd(const struct peer_addr *a, int freebind)
{
	struct sockaddr_storage ss;
	socklen_t slen;
	int fd, e;

	if (peer_addr_to_sockaddr(a, &ss, &slen) != 0)
		return -EINVAL;
	fd = socket(a->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -errno;
	net_sockopts(fd, a->family, freebind);
	if (bind(fd, (struct sockaddr *)&ss, slen) == -1) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/*
 * Puts a bound socket into the table and the loop: into slot `slot` when
 * that one is closed (a listen address that comes back keeps its index),
 * else into a new slot.  Returns the index, or -1 (fd left open).
 */
int
net_socket_adopt(struct netd *n, int fd, int slot)
{
	struct sockaddr_storage ss;
	socklen_t slen = sizeof(ss);
	struct netd_sock *s;
	struct peer_addr a;

	if (getsockname(fd, (struct sockaddr *)&ss, &slen) == -1 ||
	    peer_addr_from_sockaddr((struct sockaddr *)&ss, slen, &a) != 0)
		return -1;
	if (slot < 0 || slot >= n->nsocks || n->socks[slot].fd >= 0) {
		if (n->nsocks >= NETD_MAX_SOCKS)
			return -1;
		slot = n->nsocks;
	}
	s = &n->socks[slot];
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->n = n;
	s->index = slot;
	s->family = a.family;
	s->addr = a;
	s->port = a.port;
	peer_addr_format(&a, s->text, sizeof(s->text));
	if (loop_add_fd(&n->d->loop, fd, EPOLLIN, net_on_datagram, s) == -1) {
		s->fd = -1;
		s->text[0] = '\0';
		return -1;
	}
	if (slot == n->nsocks)
		n->nsocks++;
	log_info("listening on %s", s->text);
	return slot;
}

/*
 * Takes socket `index` out of the loop and returns its fd.  The slot stays,
 * closed (fd -1, empty text): indexes held elsewhere (struct peer_conn)
 * stay valid, and sends on them fail until the slot is reused.
 */
int
net_socket_release(struct netd *n, int index)
{
	struct netd_sock *s;
	int fd;

	if (index < 0 || index >= n->nsocks || n->socks[index].fd < 0)
		return -1;
	s = &n->socks[index];
	loop_del_fd(&n->d->loop, s->fd);
	fd = s->fd;
	s->fd = -1;
	s->port_external = 0;
	s->text[0] = '\0';
	return fd;
}

void
net_socket_close_one(struct netd *n, int index)
{
	int fd;

	if ((fd = net_socket_release(n, index)) >= 0)
		close(fd);
}
