/*
 * netlink_parse.c — rtnetlink message parser for netlink.c.  Pure: no
 * sockets, no clock, so the fuzz target includes this file directly.
 *
 * The kernel is trusted to send well-formed messages, but the parser does
 * not rely on it: every header and attribute length is checked against
 * what is left before it is used, and headers are copied out of the
 * buffer so that no alignment is assumed.
 */
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_addr.h>
#include <net/if.h>

#include <string.h>

#include "netlink.h"

const char *
netlink_strerror(int err)
{
	switch (err) {
	case NETD_NL_OK:		return "ok";
	case NETD_NL_END:		return "no message left";
	case NETD_NL_E_TRUNC:		return "truncated message header";
	case NETD_NL_E_LEN:		return "bad message length";
	case NETD_NL_E_SHORT:		return "payload shorter than its fixed header";
	case NETD_NL_E_ATTR:		return "bad attribute length";
	case NETD_NL_E_FAMILY:		return "address family not IPv4 or IPv6";
	case NETD_NL_E_ADDRLEN:		return "address attribute of the wrong size";
	case NETD_NL_E_NOADDR:		return "address message without an address";
	case NETD_NL_E_IFNAME:		return "bad interface name";
	case NETD_NL_E_TYPE:		return "not an address or link message";
	}
	return "unknown error";
}

int
netlink_next(struct buf_r *r, struct netlink_msg *m)
{
	struct nlmsghdr h;
	size_t left = buf_r_left(r), step;

	memset(m, 0, sizeof(*m));
	if (left == 0)
		return NETD_NL_END;
	if (left < sizeof(h))
		return NETD_NL_E_TRUNC;
	memcpy(&h, r->p + r->off, sizeof(h));
	/* NLMSG_OK, on the copy: the length covers the header and fits. */
	if (!NLMSG_OK(&h, left))
		return NETD_NL_E_LEN;
	m->type = h.nlmsg_type;
	m->flags = h.nlmsg_flags;
	m->seq = h.nlmsg_seq;
	m->pid = h.nlmsg_pid;
	m->payload = r->p + r->off + NLMSG_HDRLEN;
	m->len = h.nlmsg_len - NLMSG_HDRLEN;
	/* NLMSG_NEXT: the padding of the last message may be missing. */
	step = NLMSG_ALIGN(h.nlmsg_len);
	if (step > left)
		step = left;
	buf_r_take(r, step);
	return NETD_NL_OK;
}

/*
 * Walks the attributes after a fixed header of `fixed` bytes; calls back
 * for each.  RTA_OK on a copy of each header, RTA_NEXT's alignment.
 */
typedef int (*nl_attr_cb)(uint16_t type, const uint8_t *p, size_t len,
    void *ctx);

static int
nl_attrs(const struct netlink_msg *m, size_t fixed, nl_attr_cb cb, void *ctx)
{
	struct buf_r r;
	struct rtattr a;
	size_t left, step;
	int rc;

	if (m->len < fixed)
		return NETD_NL_E_SHORT;
	buf_r_init(&r, m->payload, m->len);
	buf_r_take(&r, fixed);
	while ((left = buf_r_left(&r)) > 0) {
		if (left < sizeof(a))
			return NETD_NL_E_ATTR;
		memcpy(&a, r.p + r.off, sizeof(a));
		if (!RTA_OK(&a, left))
			return NETD_NL_E_ATTR;
		if ((rc = cb(a.rta_type & NLA_TYPE_MASK, r.p + r.off + RTA_LENGTH(0),
		    a.rta_len - RTA_LENGTH(0), ctx)) != 0)
			return rc;
		step = RTA_ALIGN(a.rta_len);
		if (step > left)
			step = left;
		buf_r_take(&r, step);
	}
	return NETD_NL_OK;
}

struct nl_addr_ctx {
	struct netlink_event	*ev;
	int			 have_local;
	int			 have_address;
	uint8_t			 address[16];
};

static int
nl_addr_attr(uint16_t type, const uint8_t *p, size_t len, void *arg)
{
	struct nl_addr_ctx *c = arg;
	struct netlink_event *ev = c->ev;
	size_t want = ev->family == AF_INET ? 4 : 16;

	switch (type) {
	case IFA_LOCAL:
		if (len != want)
			return NETD_NL_E_ADDRLEN;
		memcpy(ev->addr, p, len);
		c->have_local = 1;
		break;
	case IFA_ADDRESS:
		if (len != want)
			return NETD_NL_E_ADDRLEN;
		memcpy(c->address, p, len);
		c->have_address = 1;
		break;
	case IFA_FLAGS:
		/* The 8-bit ifa_flags cannot hold the newer flags. */
		if (len != sizeof(uint32_t))
			return NETD_NL_E_ATTR;
		memcpy(&ev->addr_flags, p, sizeof(uint32_t));
		break;
	}
	return NETD_NL_OK;
}

static int
nl_link_attr(uint16_t type, const uint8_t *p, size_t len, void *arg)
{
	struct netlink_event *ev = arg;

	if (type != IFLA_IFNAME)
		return NETD_NL_OK;
	/* A C string with its NUL, at most IFNAMSIZ bytes. */
	if (len < 2 || len > sizeof(ev->ifname) || memchr(p, 0, len) == NULL ||
	    p[0] == 0)
		return NETD_NL_E_IFNAME;
	memcpy(ev->ifname, p, len);
	ev->ifname[sizeof(ev->ifname) - 1] = 0;
	return NETD_NL_OK;
}

int
netlink_parse(const struct netlink_msg *m, struct netlink_event *ev)
{
	struct ifaddrmsg ifa;
	struct ifinfomsg ifi;
	struct nl_addr_ctx c;
	int rc;

	memset(ev, 0, sizeof(*ev));
	ev->type = m->type;
	switch (m->type) {
	case RTM_NEWADDR:
	case RTM_DELADDR:
		if (m->len < NLMSG_ALIGN(sizeof(ifa)))
			return NETD_NL_E_SHORT;
		memcpy(&ifa, m->payload, sizeof(ifa));
		if (ifa.ifa_family != AF_INET && ifa.ifa_family != AF_INET6)
			return NETD_NL_E_FAMILY;
		ev->family = ifa.ifa_family;
		ev->prefixlen = ifa.ifa_prefixlen;
		ev->addr_flags = ifa.ifa_flags;
		ev->ifindex = (int)ifa.ifa_index;
		memset(&c, 0, sizeof(c));
		c.ev = ev;
		if ((rc = nl_attrs(m, NLMSG_ALIGN(sizeof(ifa)), nl_addr_attr, &c)) != 0)
			return rc;
		/*
		 * IFA_LOCAL is our address; IFA_ADDRESS is the peer's on a
		 * point-to-point link, and the only one IPv6 usually sends.
		 */
		if (!c.have_local) {
			if (!c.have_address)
				return NETD_NL_E_NOADDR;
			memcpy(ev->addr, c.address, sizeof(ev->addr));
		}
		return NETD_NL_OK;
	case RTM_NEWLINK:
	case RTM_DELLINK:
		if (m->len < NLMSG_ALIGN(sizeof(ifi)))
			return NETD_NL_E_SHORT;
		memcpy(&ifi, m->payload, sizeof(ifi));
		ev->ifindex = ifi.ifi_index;
		ev->link_flags = ifi.ifi_flags;
		return nl_attrs(m, NLMSG_ALIGN(sizeof(ifi)), nl_link_attr, ev);
	}
	return NETD_NL_E_TYPE;
}

int
netlink_addr_usable(const struct netlink_event *ev)
{
	/* A tentative IPv6 address cannot be bound until DAD is done. */
	return (ev->addr_flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)) == 0;
}
