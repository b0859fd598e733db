/*
 * lan.c — LAN discovery (docs/protocol.md §6.3, §3.6, §2.6).
 *
 * Sending: Local Discovery packets leave from the main sockets (so that
 * receivers learn our real listening address) towards 255.255.255.255 and
 * the directed broadcast of each subnet (IPv4) or ff05::112 (IPv6), one
 * datagram per interface, chosen with IP_PKTINFO / IPV6_PKTINFO.
 *
 * Receiving: on Linux a socket bound to a unicast address does not get
 * broadcasts or multicasts, so (as §6.3's caveat advises) the discovery
 * sockets are wildcard sockets on port 12912 with SO_REUSEADDR +
 * SO_REUSEPORT, which lets several nodes on one host share the port; every
 * one of them gets a copy of each broadcast/multicast datagram.
 */
#define _GNU_SOURCE	/* struct in6_pktinfo */
#include <sys/socket.h>
#include <sys/epoll.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <ifaddrs.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ident.h"
#include "lan.h"
#include "log.h"
#include "netd.h"
#include "wire_msg.h"
#include "wire_packet.h"

#define LAN_MAX_IFADDRS	64		/* interface addresses remembered */
#define LAN_MAX_OWN	(NETD_MAX_SOCKS + LAN_MAX_IFADDRS)
#define LAN_BATCH	16		/* datagrams per recvmmsg */
#define LAN_ROUNDS	8		/* recvmmsg calls per wake-up */
#define LAN_RX_MAX	4096		/* discovery packets are a few hundred bytes */
#define LAN_TICK_MS	500

struct lan_ifaddr {
	unsigned int	 index;
	unsigned int	 flags;
	struct peer_addr addr;
	uint8_t		 mask[16];
};

struct lan {
	struct netd		*n;
	int			 fd4, fd6;
	int			 failed4, failed6;	/* bind failed: not retried */
	void			*timer;		/* n->env timer */
	struct lan_bucket	 bucket;
	uint64_t		 next_send;
	uint64_t		 last_send;
	int			 settled;
	struct lan_ifaddr	 ifs[LAN_MAX_IFADDRS];
	size_t			 nifs;
	struct peer_addr	 own[LAN_MAX_OWN];	/* wildcard sockets expanded */
	size_t			 nown;
	struct peer_addr	 locals[NETD_MAX_SOCKS];	/* main sockets as bound */
	size_t			 nlocals;
};

/* --- pure helpers ------------------------------------------------------- */

int
lan_ipv4_directed_broadcast(const uint8_t ip[4], const uint8_t mask[4],
    uint8_t out[4])
{
	int i, bits = 0;

	for (i = 0; i < 4; i++)
		bits += __builtin_popcount(mask[i]);
	/* No broadcast address on /31 and /32; a zero mask is not a subnet. */
	if (bits == 0 || bits >= 31)
		return -1;
	for (i = 0; i < 4; i++)
		out[i] = ip[i] | (uint8_t)~mask[i];
	return 0;
}

uint64_t
lan_next_interval_ms(size_t npeers, int *settled)
{
	if (npeers > 0)
		*settled = 1;
	return *settled ? LAN_SLOW_MS : LAN_FAST_MS;
}

void
lan_bucket_init(struct lan_bucket *b, uint32_t rate, uint32_t burst,
    uint64_t now_ms)
{
	b->rate = rate;
	b->burst = burst;
	b->milli = burst * 1000u;
	b->last_ms = now_ms;
}

int
lan_bucket_take(struct lan_bucket *b, uint64_t now_ms)
{
	uint64_t add, cap = (uint64_t)b->burst * 1000u;

	if (now_ms > b->last_ms) {
		/* rate tokens per 1000 ms = rate milli-tokens per ms */
		add = (now_ms - b->last_ms) * b->rate;
		b->milli = (add >= cap - b->milli) ? (uint32_t)cap :
		    b->milli + (uint32_t)add;
		b->last_ms = now_ms;
	}
	if (b->milli < 1000)
		return 0;
	b->milli -= 1000;
	return 1;
}

const uint8_t *
lan_discovery_key(int family)
{
	return family == AF_INET ? ident_discovery_ipv4_pub : ident_discovery_ipv6_pub;
}

int
lan_open(int family, const uint8_t self_pub[PEERNET_PUBKEY_BYTES],
    const uint8_t *raw, size_t len, uint8_t *plain, size_t cap,
    struct wire_packet *pkt)
{
	int rc;

	rc = wire_packet_decode_ex(raw, len, lan_discovery_key(family), self_pub,
	    plain, cap, pkt);
	if (rc != 0)
		return rc;
	return pkt->command == WIRE_CMD_LOCAL_DISCOVERY ? 0 : LAN_ERR_COMMAND;
}

int
lan_from_self(const struct peer_addr *own, size_t nown, const struct peer_addr *from)
{
	size_t i;

	for (i = 0; i < nown; i++)
		if (own[i].port == from->port && peer_addr_ip_equal(&own[i], from))
			return 1;
	return 0;
}

int
lan_link_ok(const struct peer_addr *locals, size_t nlocal, const struct peer_addr *from)
{
	size_t i;

	for (i = 0; i < nlocal; i++)
		if (locals[i].family == from->family &&
		    peer_net_may_send(&locals[i], from))
			return 1;
	return 0;
}

/* --- interfaces --------------------------------------------------------- */

static int
lan_is_v4_link_local(const struct peer_addr *a)
{
	return a->family == AF_INET && a->ip[0] == 169 && a->ip[1] == 254;
}

/* Re-reads the host's interface addresses and the own-address lists. */
static void
lan_refresh(struct lan *l)
{
	struct netd *n = l->n;
	struct ifaddrs *ifa, *i;
	struct peer_addr a;
	size_t k;
	int s;

	l->nifs = 0;
	if (getifaddrs(&ifa) == -1) {
		log_warn("lan: getifaddrs");
		ifa = NULL;
	}
	for (i = ifa; i != NULL && l->nifs < LAN_MAX_IFADDRS; i = i->ifa_next) {
		struct lan_ifaddr *e = &l->ifs[l->nifs];
		socklen_t sl;

		if (i->ifa_addr == NULL || !(i->ifa_flags & IFF_UP) ||
		    (i->ifa_addr->sa_family != AF_INET &&
		    i->ifa_addr->sa_family != AF_INET6))
			continue;
		sl = i->ifa_addr->sa_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
		if (peer_addr_from_sockaddr(i->ifa_addr, sl, &a) != 0)
			continue;
		memset(e, 0, sizeof(*e));
		e->addr = a;
		e->flags = i->ifa_flags;
		if ((e->index = if_nametoindex(i->ifa_name)) == 0)
			continue;
		if (i->ifa_netmask != NULL) {
			if (a.family == AF_INET)
				memcpy(e->mask, &((struct sockaddr_in *)
				    (void *)i->ifa_netmask)->sin_addr, 4);
			else
				memcpy(e->mask, &((struct sockaddr_in6 *)
				    (void *)i->ifa_netmask)->sin6_addr, 16);
		}
		l->nifs++;
	}
	if (ifa != NULL)
		freeifaddrs(ifa);

	l->nown = l->nlocals = 0;
	for (s = 0; s < n->nsocks; s++) {
		const struct netd_sock *ns = &n->socks[s];

		if (ns->fd < 0)		/* its address went away */
			continue;
		l->locals[l->nlocals++] = ns->addr;
		if (!peer_addr_is_unspecified(&ns->addr)) {
			if (l->nown < LAN_MAX_OWN)
				l->own[l->nown++] = ns->addr;
			continue;
		}
		for (k = 0; k < l->nifs && l->nown < LAN_MAX_OWN; k++) {
			if (l->ifs[k].addr.family != ns->family)
				continue;
			l->own[l->nown] = l->ifs[k].addr;
			l->own[l->nown++].port = ns->port;
		}
	}
}

/* Joins ff05::112 on every multicast-capable interface with IPv6. */
static void
lan_join(struct lan *l)
{
	struct ipv6_mreq mr;
	size_t k;

	if (l->fd6 == -1)
		return;
	for (k = 0; k < l->nifs; k++) {
		const struct lan_ifaddr *e = &l->ifs[k];

		if (e->addr.family != AF_INET6 || !(e->flags & IFF_MULTICAST) ||
		    (e->flags & IFF_LOOPBACK))
			continue;
		memset(&mr, 0, sizeof(mr));
		inet_pton(AF_INET6, LAN_GROUP6, &mr.ipv6mr_multiaddr);
		mr.ipv6mr_interface = e->index;
		/* EADDRINUSE: already a member there (several addresses, re-join). */
		if (setsockopt(l->fd6, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mr,
		    sizeof(mr)) == -1 && errno != EADDRINUSE)
			log_debug("lan: join %s on interface %u: %s", LAN_GROUP6,
			    e->index, strerror(errno));
	}
}

/* --- sending ------------------------------------------------------------ */

/*
 * One datagram from main socket `s` to `to`, out of interface `ifindex`
 * (0: the kernel's choice) with source `src` (NULL: the bound address).
 * Encoded afresh each time: the reference never sends the same bytes
 * twice, and receivers drop replays.
 */
static void
lan_send_one(struct lan *l, const struct netd_sock *s, const struct peer_addr *to,
    unsigned int ifindex, const struct peer_addr *src,
    const uint8_t *payload, size_t plen)
{
	static uint8_t pkt[WIRE_PACKET_ENCODE_CAP(LAN_RX_MAX)];
	union {
		struct cmsghdr	hdr;
		uint8_t		buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} ctl;
	struct netd *n = l->n;
	struct sockaddr_storage ss;
	struct msghdr mh;
	struct iovec iov;
	socklen_t sl;
	size_t len;

	if (wire_packet_encode(pkt, sizeof(pkt), &len, &n->id,
	    lan_discovery_key(s->family), WIRE_CMD_LOCAL_DISCOVERY, 0, payload,
	    plen) != 0)
		return;
	if (peer_addr_to_sockaddr(to, &ss, &sl) != 0)
		return;
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = pkt;
	iov.iov_len = len;
	mh.msg_name = &ss;
	mh.msg_namelen = sl;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (ifindex != 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		net_pktinfo_put(&mh, s->family, src, ifindex);
	}
	if (sendmsg(s->fd, &mh, MSG_DONTWAIT) == -1) {
		log_debug("lan: send from %s: %s", s->text, strerror(errno));
		n->counters[IPC_NC_TX_ERRORS]++;
		return;
	}
	n->counters[IPC_NC_TX_PACKETS]++;
	n->counters[IPC_NC_TX_DISCOVERY]++;
}

static int
lan_seen_index(const unsigned int *done, size_t ndone, unsigned int idx)
{
	size_t i;

	for (i = 0; i < ndone; i++)
		if (done[i] == idx)
			return 1;
	return 0;
}

/* §6.3: one round from every main socket. */
static void
lan_send_round(struct lan *l)
{
	static uint8_t payload[LAN_RX_MAX];
	struct netd *n = l->n;
	struct peer_addr to;
	unsigned int done[LAN_MAX_IFADDRS];
	size_t plen, k, ndone;
	int s, wild;

	if (node_discovery_payload(n, payload, sizeof(payload), &plen) != 0)
		return;
	/*
	 * Per interface address the socket covers; a socket on loopback (or
	 * on an address no interface lists) has no LAN to reach.
	 */
	for (s = 0; s < n->nsocks; s++) {
		const struct netd_sock *ns = &n->socks[s];

		if (ns->fd < 0)
			continue;
		wild = peer_addr_is_unspecified(&ns->addr);
		ndone = 0;
		for (k = 0; k < l->nifs; k++) {
			const struct lan_ifaddr *e = &l->ifs[k];

			if (e->addr.family != ns->family || (e->flags & IFF_LOOPBACK))
				continue;
			if (!wild && !peer_addr_ip_equal(&e->addr, &ns->addr))
				continue;
			memset(&to, 0, sizeof(to));
			to.family = ns->family;
			to.port = LAN_PORT;
			if (ns->family == AF_INET6) {
				if (!(e->flags & IFF_MULTICAST) ||
				    lan_seen_index(done, ndone, e->index))
					continue;
				done[ndone++] = e->index;
				inet_pton(AF_INET6, LAN_GROUP6, to.ip);
				lan_send_one(l, ns, &to, e->index, NULL, payload, plen);
				continue;
			}
			if (!(e->flags & IFF_BROADCAST) ||
			    (wild && lan_is_v4_link_local(&e->addr)))
				continue;
			if (!lan_seen_index(done, ndone, e->index)) {
				done[ndone++] = e->index;
				memset(to.ip, 0xff, 4);
				lan_send_one(l, ns, &to, e->index,
				    wild ? &e->addr : NULL, payload, plen);
			}
			if (lan_ipv4_directed_broadcast(e->addr.ip, e->mask, to.ip) == 0)
				lan_send_one(l, ns, &to, e->index,
				    wild ? &e->addr : NULL, payload, plen);
		}
	}
}

static void
lan_on_tick(void *arg)
{
	struct lan *l = arg;
	uint64_t now = env_now_ms(&l->n->env);

	if (now < l->next_send)
		return;
	lan_send_round(l);
	l->last_send = now;
	l->next_send = now + lan_next_interval_ms(peer_list_count(l->n->peers),
	    &l->settled);
}

/* --- receiving ---------------------------------------------------------- */

/* §2.6 discovery pipeline for one datagram. */
static void
lan_packet_in(struct lan *l, int family, const struct peer_addr *from,
    const uint8_t *raw, size_t len)
{
	static uint8_t plain[LAN_RX_MAX];
	struct netd *n = l->n;
	struct wire_packet pkt;
	uint64_t now;

	/* Our own broadcasts loop back: not an error, not counted. */
	if (lan_from_self(l->own, l->nown, from))
		return;
	if (from->family != family || !lan_link_ok(l->locals, l->nlocals, from) ||
	    len < WIRE_PACKET_MIN) {
		n->counters[IPC_NC_DROP_DISCOVERY]++;
		return;
	}
	/* Signature recovery costs ~50 us: a flood must not eat the loop. */
	now = env_now_ms(&n->env);
	if (!lan_bucket_take(&l->bucket, now)) {
		n->counters[IPC_NC_DROP_DISCOVERY]++;
		return;
	}
	if (lan_open(family, n->id.pub, raw, len, plain, sizeof(plain), &pkt) != 0 ||
	    wire_replay_check(&n->replay, pkt.signed_hash, now)) {
		n->counters[IPC_NC_DROP_DISCOVERY]++;
		return;
	}
	n->counters[IPC_NC_RX_DISCOVERY]++;
	node_discovery_in(n, pkt.sender, from);
}

static void
lan_on_datagram(int fd, uint32_t events, void *arg)
{
	struct lan *l = arg;
	static uint8_t raw[LAN_BATCH][LAN_RX_MAX];
	static struct sockaddr_storage from[LAN_BATCH];
	static struct mmsghdr mm[LAN_BATCH];
	static struct iovec iov[LAN_BATCH];
	struct peer_addr remote;
	int i, k, got, family = fd == l->fd4 ? AF_INET : AF_INET6;

	(void)events;
	for (k = 0; k < LAN_ROUNDS; k++) {
		net_rx_batch_init(mm, iov, LAN_BATCH, raw[0], sizeof(raw[0]),
		    from, NULL, 0);
		if ((got = recvmmsg(fd, mm, LAN_BATCH, MSG_DONTWAIT, NULL)) <= 0)
			return;
		for (i = 0; i < got; i++) {
			if ((mm[i].msg_hdr.msg_flags & MSG_TRUNC) ||
			    peer_addr_from_sockaddr((struct sockaddr *)&from[i],
			    mm[i].msg_hdr.msg_namelen, &remote) != 0) {
				l->n->counters[IPC_NC_DROP_DISCOVERY]++;
				continue;
			}
			lan_packet_in(l, family, &remote, raw[i], mm[i].msg_len);
		}
		if (got < LAN_BATCH)
			return;
	}
}

/* --- set-up ------------------------------------------------------------- */

static int
lan_socket(struct lan *l, int family, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	int fd, on = 1;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(LAN_PORT);
		sl = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(LAN_PORT);
		sl = sizeof(*sin6);
	}
	if ((fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "lan: socket: %s", strerror(errno));
		return -1;
	}
	/* Every node on the host binds the same port and gets every copy. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
	if (family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
	} else
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1) {
		snprintf(err, errlen, "lan: bind %s:%d: %s",
		    family == AF_INET ? "0.0.0.0" : "[::]", LAN_PORT, strerror(errno));
		close(fd);
		return -1;
	}
	if (loop_add_fd(&l->n->d->loop, fd, EPOLLIN, lan_on_datagram, l) == -1) {
		snprintf(err, errlen, "lan: loop: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Brings the LAN state in step with the main sockets, which come and go
 * with their addresses (netlink.c): SO_BROADCAST / multicast loopback on
 * each, a discovery socket per family as soon as that family has a main
 * socket, the interface list, the ff05::112 memberships.
 */
static void
lan_sync(struct lan *l)
{
	struct netd *n = l->n;
	char err[256];
	int i, on = 1, want4 = 0, want6 = 0;

	for (i = 0; i < n->nsocks; i++) {
		if (n->socks[i].fd < 0)
			continue;
		if (n->socks[i].family == AF_INET) {
			want4 = 1;
			/* Go sets SO_BROADCAST on every UDP socket; C must ask. */
			setsockopt(n->socks[i].fd, SOL_SOCKET, SO_BROADCAST, &on,
			    sizeof(on));
		} else {
			want6 = 1;
			/* Nodes on the same host find each other. */
			setsockopt(n->socks[i].fd, IPPROTO_IPV6,
			    IPV6_MULTICAST_LOOP, &on, sizeof(on));
		}
	}
	/* A busy port must not keep the node off the network: no LAN then. */
	if (want4 && l->fd4 == -1 && !l->failed4) {
		if ((l->fd4 = lan_socket(l, AF_INET, err, sizeof(err))) == -1) {
			log_warnx("%s; IPv4 LAN discovery is off", err);
			l->failed4 = 1;
		} else
			log_info("lan discovery: IPv4 broadcast, port %d", LAN_PORT);
	}
	if (want6 && l->fd6 == -1 && !l->failed6) {
		if ((l->fd6 = lan_socket(l, AF_INET6, err, sizeof(err))) == -1) {
			log_warnx("%s; IPv6 LAN discovery is off", err);
			l->failed6 = 1;
		} else
			log_info("lan discovery: IPv6 multicast %s, port %d",
			    LAN_GROUP6, LAN_PORT);
	}
	lan_refresh(l);
	lan_join(l);
}

int
lan_start(struct netd *n, char *err, size_t errlen)
{
	struct lan *l;

	n->lan = NULL;
	if (!n->d->conf.lan)
		return 0;
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "lan: out of memory");
		return -1;
	}
	l->n = n;
	l->fd4 = l->fd6 = -1;
	n->lan = l;
	lan_bucket_init(&l->bucket, LAN_RATE_PER_S, LAN_BURST, env_now_ms(&n->env));
	lan_sync(l);
	/* First round on the first tick, once the loop runs. */
	l->next_send = env_now_ms(&n->env);
	if ((l->timer = n->env.timer_add(n->env.ctx, 100, LAN_TICK_MS, lan_on_tick,
	    l)) == NULL) {
		snprintf(err, errlen, "lan: timer failed");
		lan_stop(n);
		return -1;
	}
	return 0;
}

void
lan_stop(struct netd *n)
{
	struct lan *l = n->lan;

	if (l == NULL)
		return;
	if (l->timer != NULL)
		n->env.timer_del(n->env.ctx, l->timer);
	if (l->fd4 != -1) {
		loop_del_fd(&n->d->loop, l->fd4);
		close(l->fd4);
	}
	if (l->fd6 != -1) {
		loop_del_fd(&n->d->loop, l->fd6);
		close(l->fd6);
	}
	free(l);
	n->lan = NULL;
}

void
lan_addresses_changed(struct netd *n)
{
	struct lan *l = n->lan;
	uint64_t now, at;

	if (l == NULL)
		return;
	now = env_now_ms(&n->env);
	lan_sync(l);
	/* A flapping link must not turn into a broadcast storm. */
	at = l->last_send + LAN_CHANGE_MIN_MS;
	at = at > now ? at : now;
	if (at < l->next_send)
		l->next_send = at;
}
