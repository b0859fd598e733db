/*
 * netd.h — peernet-netd: the only process that touches the network.
 * It holds the node identity and answers id/sign requests for the others.
 */
#ifndef PEERNET_NETD_H
#define PEERNET_NETD_H

#include <stdint.h>

#include "conf.h"
#include "daemon.h"
#include "ident.h"

#define NETD_MAX_SOCKS CONF_MAX_LISTEN

struct netd_sock {
	int		 fd;
	int		 family;
	uint16_t	 port;
	char		 text[64];
};

struct netd {
	struct daemon	*d;
	struct ident	 id;
	struct netd_sock socks[NETD_MAX_SOCKS];
	int		 nsocks;
	uint64_t	 rx_packets;	/* datagrams received */
	uint64_t	 rx_bad;	/* datagrams that did not open */
};

/* net.c: the UDP sockets. */
int	netd_sockets_open(struct netd *n, char *err, size_t errlen);
void	netd_sockets_close(struct netd *n);

#endif
