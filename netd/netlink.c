/*
 * netlink.c — netd follows address and interface changes (docs/protocol.md
 * §6.2) through an rtnetlink socket in the event loop, and keeps the
 * configured `listen` sockets in step with the addresses that exist.
 *
 * Notifications only say that something changed: after a burst (debounced)
 * every configured address is probed (nl_probe: can it be bound now?) and
 * its socket opened or closed to match, so a lost notification (ENOBUFS)
 * costs nothing but a probe round.  Wildcard listen
 * addresses (0.0.0.0, ::) receive on every address already and are left
 * alone; the hook still tells the LAN and port-mapping code.
 *
 * Slots: a configured address keeps the socket index it got first, so a
 * struct peer_conn that still names it sends from the same address when
 * it comes back; while it is gone the slot is closed (fd -1) and sends on
 * it fail.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/epoll.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kad.h"
#include "lan.h"
#include "log.h"
#include "netd.h"
#include "netlink.h"

#define NL_BUF		65536	/* one notification datagram */
#define NL_ROUNDS	16	/* datagrams per wake-up */

/* A configured listen address. */
struct nl_entry {
	struct peer_addr addr;
	char		 text[64];
	int		 wildcard;	/* 0.0.0.0 or ::: not followed */
	int		 slot;		/* socket index it got; -1: none yet */
	int		 parked;	/* bound fd kept aside (port < 1024), or -1 */
	int		 failed;	/* present but not bindable: logged once */
};

static struct {
	int		 fd;		/* notifications */
	void		*timer;		/* pending reconcile (one-shot n->env timer) */
	int		 saw_any;	/* notifications since the last reconcile */
	int		 saw_new_addr;
	int		 nent;
	struct nl_entry	 ent[CONF_MAX_LISTEN];
} nl = { .fd = -1 };

static uint8_t nl_buf[NL_BUF] __attribute__((aligned(8)));

static int
nl_privileged_port(const struct nl_entry *e)
{
	return e->addr.port > 0 && e->addr.port < 1024;
}

static int
nl_entry_open(struct netd *n, const struct nl_entry *e)
{
	return e->slot >= 0 && e->slot < n->nsocks && n->socks[e->slot].fd >= 0;
}

int
netlink_bind(struct netd *n, char *err, size_t errlen)
{
	const struct conf *c = &n->d->conf;
	struct nl_entry *e;
	int i, fd;

	nl.nent = 0;
	for (i = 0; i < c->nlisten && i < CONF_MAX_LISTEN; i++) {
		const struct conf_listen *l = &c->listen[i];

		e = &nl.ent[nl.nent++];
		memset(e, 0, sizeof(*e));
		e->addr.family = l->family;
		memcpy(e->addr.ip, l->addr, l->family == AF_INET ? 4 : 16);
		e->addr.port = l->port;
		strlcpy(e->text, l->text, sizeof(e->text));
		e->wildcard = peer_addr_is_unspecified(&e->addr);
		e->slot = -1;
		e->parked = -1;
		fd = net_socket_bind_fd(&e->addr, 0);
		if (fd >= 0) {
			if ((e->slot = net_socket_adopt(n, fd, -1)) < 0) {
				close(fd);
				snprintf(err, errlen, "listen %s: no socket slot", e->text);
				return -1;
			}
			continue;
		}
		if (fd != -EADDRNOTAVAIL || e->wildcard) {
			snprintf(err, errlen, "bind %s: %s%s", e->text, strerror(-fd),
			    fd == -EACCES ? " (ports below 1024 need root or "
			    "CAP_NET_BIND_SERVICE)" : "");
			return -1;
		}
		log_info("listen %s: no such address yet; it is opened when it "
		    "appears", e->text);
		/* The capability goes away next: bind the low port now, park it. */
		if (nl_privileged_port(e) &&
		    (e->parked = net_socket_bind_fd(&e->addr, 1)) < 0) {
			log_warnx("listen %s: cannot reserve the port: %s; when the "
			    "address appears netd needs a restart", e->text,
			    strerror(-e->parked));
			e->parked = -1;
		}
	}
	return 0;
}

static void nl_on_timer(void *arg);

static void
nl_schedule(struct netd *n, uint64_t ms)
{
	if (nl.timer != NULL)
		return;
	if ((nl.timer = n->env.timer_add(n->env.ctx, ms, 0, nl_on_timer, n)) == NULL)
		log_warnx("rtnetlink: no timer for the address check");
}

/* One notification message. */
static void
nl_message(struct netd *n, const struct netlink_msg *m)
{
	struct netlink_event ev;
	char ip[PEER_ADDR_STRLEN];
	struct peer_addr a;
	int rc;

	if ((rc = netlink_parse(m, &ev)) != 0) {
		if (rc != NETD_NL_E_TYPE)
			log_debug("rtnetlink: message %u: %s", m->type,
			    netlink_strerror(rc));
		return;
	}
	n->counters[IPC_NC_ADDR_CHANGES]++;
	nl.saw_any = 1;
	if (ev.type == RTM_NEWADDR && netlink_addr_usable(&ev))
		nl.saw_new_addr = 1;
	if (ev.type == RTM_NEWADDR || ev.type == RTM_DELADDR) {
		memset(&a, 0, sizeof(a));
		a.family = ev.family;
		memcpy(a.ip, ev.addr, ev.family == AF_INET ? 4 : 16);
		peer_addr_format(&a, ip, sizeof(ip));
		log_debug("rtnetlink: %s %s/%u on interface %d%s",
		    ev.type == RTM_NEWADDR ? "new address" : "address removed",
		    ip, ev.prefixlen, ev.ifindex,
		    netlink_addr_usable(&ev) ? "" : " (tentative)");
	} else
		log_debug("rtnetlink: %s %d %s flags %#x",
		    ev.type == RTM_NEWLINK ? "link" : "link removed", ev.ifindex,
		    ev.ifname, ev.link_flags);
	nl_schedule(n, NETD_NL_DEBOUNCE_MS);
}

static void
nl_on_readable(int fd, uint32_t events, void *arg)
{
	struct netd *n = arg;
	struct sockaddr_nl from;
	struct netlink_msg m;
	struct buf_r r;
	socklen_t flen;
	ssize_t got;
	int k, rc;

	(void)events;
	for (k = 0; k < NL_ROUNDS; k++) {
		flen = sizeof(from);
		got = recvfrom(fd, nl_buf, sizeof(nl_buf), MSG_DONTWAIT,
		    (struct sockaddr *)&from, &flen);
		if (got == -1) {
			if (errno == ENOBUFS) {
				/* Notifications were lost: the probe round catches up. */
				log_debug("rtnetlink: receive queue overflowed");
				n->counters[IPC_NC_ADDR_CHANGES]++;
				nl.saw_any = 1;
				nl.saw_new_addr = 1;
				nl_schedule(n, NETD_NL_DEBOUNCE_MS);
				continue;
			}
			return;
		}
		/* Only the kernel speaks (port 0); nothing else may steer us. */
		if (flen < sizeof(from) || from.nl_family != AF_NETLINK ||
		    from.nl_pid != 0)
			continue;
		buf_r_init(&r, nl_buf, (size_t)got);
		while ((rc = netlink_next(&r, &m)) == NETD_NL_OK)
			nl_message(n, &m);
		if (rc != NETD_NL_END)
			log_debug("rtnetlink: %s", netlink_strerror(rc));
	}
}

/*
 * Whether a is a local address now: bind a probe socket to it, port 0.
 * This is the kernel's own test, so it also covers addresses that are
 * local by a route and on no interface (127.0.0.0/8, AnyIP): an address
 * dump would call those absent.  1 local, 0 not, -1 unknown.
 */
static int
nl_probe(const struct peer_addr *a)
{
	struct peer_addr p = *a;
	int fd;

	p.port = 0;
	if ((fd = net_socket_bind_fd(&p, 0)) >= 0) {
		close(fd);
		return 1;
	}
	return fd == -EADDRNOTAVAIL ? 0 : -1;
}

/* 0 when open; -1 to retry soon; -2 when only a restart helps. */
static int
nl_open(struct netd *n, struct nl_entry *e)
{
	int fd, slot;

	if (e->parked >= 0) {
		if ((slot = net_socket_adopt(n, e->parked, e->slot)) < 0) {
			log_warnx("listen %s: no socket slot", e->text);
			return -1;
		}
		e->parked = -1;
		e->slot = slot;
		e->failed = 0;
		return 0;
	}
	if ((fd = net_socket_bind_fd(&e->addr, 0)) < 0) {
		if (!e->failed && fd == -EACCES)
			log_warnx("listen %s: the address appeared, but port %u "
			    "needs CAP_NET_BIND_SERVICE, which netd gives up after "
			    "start-up: restart netd (or grant it the capability)",
			    e->text, e->addr.port);
		else if (!e->failed)
			log_warnx("listen %s: the address appeared, but bind "
			    "failed: %s; retrying", e->text, strerror(-fd));
		e->failed = 1;
		return fd == -EACCES ? -2 : -1;
	}
	if ((slot = net_socket_adopt(n, fd, e->slot)) < 0) {
		close(fd);
		log_warnx("listen %s: no socket slot", e->text);
		return -1;
	}
	e->slot = slot;
	e->failed = 0;
	return 0;
}

static void
nl_close(struct netd *n, struct nl_entry *e)
{
	if (nl_privileged_port(e)) {
		/* Still bound: it works again once the address is back. */
		e->parked = net_socket_release(n, e->slot);
		log_info("listen %s: the address went away; socket set aside",
		    e->text);
	} else {
		net_socket_close_one(n, e->slot);
		log_info("listen %s: the address went away; socket closed",
		    e->text);
	}
}

static void
nl_reconcile(struct netd *n)
{
	int i, rc, local, is_open, opened = 0, closed = 0, retry = 0;

	for (i = 0; i < nl.nent; i++) {
		struct nl_entry *e = &nl.ent[i];

		if (e->wildcard)
			continue;
		is_open = nl_entry_open(n, e);
		if ((local = nl_probe(&e->addr)) < 0) {
			retry = 1;
			continue;
		}
		if (local && !is_open) {
			if ((rc = nl_open(n, e)) == 0)
				opened++;
			else if (rc == -1)
				retry = 1;
		} else if (!local && is_open) {
			nl_close(n, e);
			closed++;
		} else if (!local)
			e->failed = 0;
	}
	if (retry)
		nl_schedule(n, NETD_NL_RETRY_MS);
	/* §6.2: a new address is a new view of the network: refresh the table. */
	if (nl.saw_new_addr || opened)
		kad_refresh(n->kad, 1);
	if (nl.saw_any || opened || closed)
		netlink_addresses_changed(n);
	nl.saw_any = nl.saw_new_addr = 0;
}

static void
nl_on_timer(void *arg)
{
	nl.timer = NULL;	/* one-shot: gone once it ran (env.h) */
	nl_reconcile(arg);
}

int
netlink_start(struct netd *n, char *err, size_t errlen)
{
	struct sockaddr_nl sa;
	int rcvbuf = 1 << 20;

	(void)err;
	(void)errlen;
	nl.fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    NETLINK_ROUTE);
	if (nl.fd == -1)
		goto fail;
	setsockopt(nl.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	sa.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
	if (bind(nl.fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    loop_add_fd(&n->d->loop, nl.fd, EPOLLIN, nl_on_readable, n) == -1)
		goto fail;
	/* An address may have appeared between the bind phase and now. */
	nl_schedule(n, 0);
	return 0;
fail:
	/* Not fatal: netd runs, it just does not follow changes. */
	log_warn("rtnetlink: address changes are not followed");
	if (nl.fd != -1)
		close(nl.fd);
	nl.fd = -1;
	return 0;
}

void
netlink_stop(struct netd *n)
{
	int i;

	if (nl.timer != NULL) {
		n->env.timer_del(n->env.ctx, nl.timer);
		nl.timer = NULL;
	}
	if (nl.fd != -1) {
		loop_del_fd(&n->d->loop, nl.fd);
		close(nl.fd);
	}
	nl.fd = -1;
	for (i = 0; i < nl.nent; i++) {
		if (nl.ent[i].parked >= 0)
			close(nl.ent[i].parked);
		nl.ent[i].parked = -1;
	}
}

/*
 * The hook: every reachability module that depends on the set of local
 * addresses reacts here, after the listen sockets were reconciled.
 */
void
netlink_addresses_changed(struct netd *n)
{
	lan_addresses_changed(n);
	portmap_addresses_changed(n);
}
