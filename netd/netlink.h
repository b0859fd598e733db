/*
 * netlink.h — peernet-netd follows interface and address changes through
 * rtnetlink (docs/protocol.md §6.2) instead of polling every 10 s:
 *
 * - netlink.c: the NETLINK_ROUTE socket (groups link, IPv4 and IPv6
 *   address) in the event loop; a burst of notifications is debounced
 *   (NETD_NL_DEBOUNCE_MS), then every configured `listen` address is
 *   probed (can it be bound now?) and reconciled: one that now exists gets
 *   its socket, one that went away loses it.  Connections on a closed socket
 *   die by the liveness timers (§6.2).  Then netlink_addresses_changed() tells
 *   the other reachability modules, and a full Kademlia refresh starts when
 *   an address appeared.
 * - netlink_parse.c: the pure, length-checked message parser (fuzzed).
 *
 * Privileged ports: a listen port below 1024 cannot be bound after netd
 * dropped CAP_NET_BIND_SERVICE.  netd therefore binds such a socket at
 * start-up even when its address is absent (IP_FREEBIND) and keeps it
 * "parked" (open, bound, not listed, not polled); when the address goes
 * away later the socket is parked again instead of closed.  Only if that
 * was impossible does the log say a restart (or CAP_NET_BIND_SERVICE) is
 * needed.
 */
#ifndef PEERNET_NETLINK_H
#define PEERNET_NETLINK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define NETD_NL_DEBOUNCE_MS	500	/* a burst of changes: one reconcile */
#define NETD_NL_RETRY_MS	2000	/* address present but bind failed */
#define NETD_NL_IFNAMSIZ	16

/* Errors of the parser; netlink_strerror(). */
enum netlink_err {
	NETD_NL_OK = 0,
	NETD_NL_END = 1,		/* netlink_next: no message left */
	NETD_NL_E_TRUNC = -1,		/* fewer bytes than a message header */
	NETD_NL_E_LEN = -2,		/* nlmsg_len below the header or past the end */
	NETD_NL_E_SHORT = -3,		/* payload shorter than ifaddrmsg/ifinfomsg */
	NETD_NL_E_ATTR = -4,		/* attribute header truncated or bad rta_len */
	NETD_NL_E_FAMILY = -5,		/* address family not IPv4/IPv6 */
	NETD_NL_E_ADDRLEN = -6,		/* address attribute of the wrong size */
	NETD_NL_E_NOADDR = -7,		/* address message without an address */
	NETD_NL_E_IFNAME = -8,		/* interface name empty or not terminated */
	NETD_NL_E_TYPE = -9		/* not an address or link message */
};
const char *netlink_strerror(int err);

/* One netlink message of a datagram (payload points into the datagram). */
struct netlink_msg {
	uint16_t	 type;		/* RTM_*, NLMSG_DONE, NLMSG_ERROR */
	uint16_t	 flags;
	uint32_t	 seq;
	uint32_t	 pid;
	const uint8_t	*payload;
	size_t		 len;
};

/* What an address or link message says. */
struct netlink_event {
	uint16_t	type;		/* RTM_NEWADDR, RTM_DELADDR, RTM_NEWLINK, RTM_DELLINK */
	int		ifindex;
	/* addresses */
	int		family;		/* AF_INET or AF_INET6 */
	uint8_t		addr[16];	/* IFA_LOCAL, else IFA_ADDRESS; v4 in [0..3] */
	uint8_t		prefixlen;
	uint32_t	addr_flags;	/* IFA_F_*, IFA_FLAGS when present */
	/* links */
	uint32_t	link_flags;	/* IFF_* */
	char		ifname[NETD_NL_IFNAMSIZ];	/* "" when absent */
};

/*
 * Takes the next message of a datagram from r (NLMSG_OK / NLMSG_NEXT
 * rules, but an error instead of a silent stop).  NETD_NL_END when r is
 * empty.  The payload needs no alignment: values are copied out.
 */
int	netlink_next(struct buf_r *r, struct netlink_msg *m);
/*
 * Parses an RTM_NEWADDR/DELADDR/NEWLINK/DELLINK payload into *ev;
 * NETD_NL_E_TYPE for any other type.  Unknown attributes are skipped.
 */
int	netlink_parse(const struct netlink_msg *m, struct netlink_event *ev);
/* 1 when an address from this message can be bound (not tentative, not DAD-failed). */
int	netlink_addr_usable(const struct netlink_event *ev);

struct netd;

/* Bind phase (capabilities still held): the configured listen sockets. */
int	netlink_bind(struct netd *n, char *err, size_t errlen);
/* Setup phase: the rtnetlink socket in the loop. */
int	netlink_start(struct netd *n, char *err, size_t errlen);
/* Closes the rtnetlink sockets and the parked listen sockets. */
void	netlink_stop(struct netd *n);
/* After a change: the LAN and port-mapping reactions (hook). */
void	netlink_addresses_changed(struct netd *n);

#endif /* PEERNET_NETLINK_H */
