/*
 * net.c — netd's UDP sockets: one per configured listen address, bound
 * before the last capability is dropped, with the destination address of
 * each datagram requested (IP_PKTINFO / IPV6_RECVPKTINFO) so that replies
 * can leave from the address they were sent to.
 */
#include <sys/socket.h>
#include <sys/epoll.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "netd.h"
#include "wire_packet.h"

static void
netd_on_datagram(int fd, uint32_t events, void *arg)
{
	struct netd *n = arg;
	static uint8_t raw[WIRE_PACKET_MAX], plain[WIRE_PACKET_MAX];
	struct wire_packet pkt;
	ssize_t len;
	int i, rc;

	(void)events;
	/* Bounded per wake-up so that one busy socket cannot starve the loop. */
	for (i = 0; i < 64; i++) {
		len = recv(fd, raw, sizeof(raw), MSG_DONTWAIT);
		if (len == -1)
			return;
		n->rx_packets++;
		rc = wire_packet_decode(raw, (size_t)len, n->id.pub, plain,
		    sizeof(plain), &pkt);
		if (rc != 0) {
			n->rx_bad++;
			log_debug("dropped a %zd-byte datagram: %s", len,
			    wire_packet_strerror(rc));
			continue;
		}
		log_debug("packet command %u sequence %u, %zu payload bytes",
		    pkt.command, pkt.sequence, pkt.payload_len);
	}
}

int
netd_sockets_open(struct netd *n, char *err, size_t errlen)
{
	const struct conf *c = &n->d->conf;
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t slen;
	int i, fd, on = 1;

	for (i = 0; i < c->nlisten && i < NETD_MAX_SOCKS; i++) {
		const struct conf_listen *l = &c->listen[i];

		memset(&ss, 0, sizeof(ss));
		if (l->family == AF_INET) {
			sin->sin_family = AF_INET;
			sin->sin_port = htons(l->port);
			memcpy(&sin->sin_addr, l->addr, 4);
			slen = sizeof(*sin);
		} else {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(l->port);
			memcpy(&sin6->sin6_addr, l->addr, 16);
			slen = sizeof(*sin6);
		}
		fd = socket(l->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd == -1) {
			snprintf(err, errlen, "socket for %s: %s", l->text, strerror(errno));
			return -1;
		}
		if (l->family == AF_INET6) {
			/* [::] must not also take IPv4: 0.0.0.0 has its own socket. */
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
			setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
		} else
			setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
		if (bind(fd, (struct sockaddr *)&ss, slen) == -1) {
			snprintf(err, errlen, "bind %s: %s%s", l->text, strerror(errno),
			    errno == EACCES ? " (ports below 1024 need root or "
			    "CAP_NET_BIND_SERVICE)" : "");
			close(fd);
			return -1;
		}
		n->socks[n->nsocks].fd = fd;
		n->socks[n->nsocks].family = l->family;
		n->socks[n->nsocks].port = l->port;
		strlcpy(n->socks[n->nsocks].text, l->text, sizeof(n->socks[0].text));
		n->nsocks++;
		if (loop_add_fd(&n->d->loop, fd, EPOLLIN, netd_on_datagram, n) == -1) {
			snprintf(err, errlen, "loop: %s", strerror(errno));
			return -1;
		}
		log_info("listening on %s", l->text);
	}
	return 0;
}

void
netd_sockets_close(struct netd *n)
{
	int i;

	for (i = 0; i < n->nsocks; i++) {
		loop_del_fd(&n->d->loop, n->socks[i].fd);
		close(n->socks[i].fd);
	}
	n->nsocks = 0;
}
