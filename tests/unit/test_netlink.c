/*
 * test_netlink.c — the rtnetlink parser (netd/netlink_parse.c): crafted
 * address and link messages, truncated and lying lengths, and one real
 * address dump from the kernel.
 */
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_addr.h>
#include <net/if.h>
#include <netinet/in.h>

#include <string.h>
#include <unistd.h>

#include "netlink.h"
#include "t.h"

/* A message under construction, in an aligned buffer. */
struct mb {
	uint8_t		b[1024] __attribute__((aligned(8)));
	size_t		len;	/* whole buffer */
	size_t		start;	/* current message */
};

static void
mb_msg(struct mb *m, uint16_t type, const void *fixed, size_t flen)
{
	struct nlmsghdr h;

	m->start = m->len;
	memset(&h, 0, sizeof(h));
	h.nlmsg_type = type;
	h.nlmsg_seq = 7;
	h.nlmsg_len = (uint32_t)(NLMSG_HDRLEN + NLMSG_ALIGN(flen));
	memcpy(m->b + m->len, &h, sizeof(h));
	memset(m->b + m->len + NLMSG_HDRLEN, 0, NLMSG_ALIGN(flen));
	memcpy(m->b + m->len + NLMSG_HDRLEN, fixed, flen);
	m->len += h.nlmsg_len;
}

static void
mb_attr(struct mb *m, uint16_t type, const void *p, size_t len)
{
	struct rtattr a;
	struct nlmsghdr h;

	a.rta_type = type;
	a.rta_len = (unsigned short)RTA_LENGTH(len);
	memset(m->b + m->len, 0, RTA_SPACE(len));
	memcpy(m->b + m->len, &a, sizeof(a));
	memcpy(m->b + m->len + RTA_LENGTH(0), p, len);
	m->len += RTA_SPACE(len);
	memcpy(&h, m->b + m->start, sizeof(h));
	h.nlmsg_len = (uint32_t)(m->len - m->start);
	memcpy(m->b + m->start, &h, sizeof(h));
}

/* Overwrites nlmsg_len of the current message. */
static void
mb_set_len(struct mb *m, uint32_t len)
{
	struct nlmsghdr h;

	memcpy(&h, m->b + m->start, sizeof(h));
	h.nlmsg_len = len;
	memcpy(m->b + m->start, &h, sizeof(h));
}

static void
mb_addr(struct mb *m, uint16_t type, int family, uint8_t flags, int ifindex)
{
	struct ifaddrmsg ifa;

	memset(&ifa, 0, sizeof(ifa));
	ifa.ifa_family = (uint8_t)family;
	ifa.ifa_prefixlen = family == AF_INET ? 24 : 64;
	ifa.ifa_flags = flags;
	ifa.ifa_index = (uint32_t)ifindex;
	mb_msg(m, type, &ifa, sizeof(ifa));
}

static void
mb_link(struct mb *m, uint16_t type, int ifindex, unsigned flags)
{
	struct ifinfomsg ifi;

	memset(&ifi, 0, sizeof(ifi));
	ifi.ifi_family = AF_UNSPEC;
	ifi.ifi_index = ifindex;
	ifi.ifi_flags = flags;
	mb_msg(m, type, &ifi, sizeof(ifi));
}

/* The first message of m, parsed. */
static int
mb_parse(const struct mb *m, struct netlink_event *ev)
{
	struct netlink_msg msg;
	struct buf_r r;
	int rc;

	buf_r_init(&r, m->b, m->len);
	if ((rc = netlink_next(&r, &msg)) != NETD_NL_OK)
		return rc;
	return netlink_parse(&msg, ev);
}

static const uint8_t v4_local[4] = { 10, 99, 0, 1 };
static const uint8_t v4_peer[4] = { 10, 99, 0, 2 };
static const uint8_t v6[16] = { 0xfd, 0x99, [15] = 1 };

static void
test_newaddr_ipv4_prefers_ifa_local_over_peer_address(void)
{
	struct mb m = { .len = 0 };
	struct netlink_event ev;

	mb_addr(&m, RTM_NEWADDR, AF_INET, 0, 3);
	/* Point-to-point: IFA_ADDRESS is the other end, IFA_LOCAL ours. */
	mb_attr(&m, IFA_ADDRESS, v4_peer, 4);
	mb_attr(&m, IFA_LOCAL, v4_local, 4);
	mb_attr(&m, IFA_LABEL, "dummy0", 7);
	T_EQ_INT(mb_parse(&m, &ev), NETD_NL_OK);
	T_EQ_INT(ev.type, RTM_NEWADDR);
	T_EQ_INT(ev.family, AF_INET);
	T_EQ_INT(ev.ifindex, 3);
	T_EQ_INT(ev.prefixlen, 24);
	T_EQ_MEM(ev.addr, v4_local, 4);
	T_EQ_INT(netlink_addr_usable(&ev), 1);
}

static void
test_deladdr_ipv6_uses_ifa_address(void)
{
	struct mb m = { .len = 0 };
	struct netlink_event ev;

	mb_addr(&m, RTM_DELADDR, AF_INET6, 0, 9);
	mb_attr(&m, IFA_ADDRESS, v6, 16);
	T_EQ_INT(mb_parse(&m, &ev), NETD_NL_OK);
	T_EQ_INT(ev.type, RTM_DELADDR);
	T_EQ_INT(ev.family, AF_INET6);
	T_EQ_INT(ev.ifindex, 9);
	T_EQ_MEM(ev.addr, v6, 16);
}

static void
test_tentative_address_is_not_usable(void)
{
	struct mb m = { .len = 0 };
	struct netlink_event ev;

	mb_addr(&m, RTM_NEWADDR, AF_INET6, IFA_F_TENTATIVE, 2);
	mb_attr(&m, IFA_ADDRESS, v6, 16);
	T_EQ_INT(mb_parse(&m, &ev), NETD_NL_OK);
	T_EQ_INT(netlink_addr_usable(&ev), 0);
}

static void
test_ifa_flags_attribute_replaces_the_8bit_flags(void)
{
	struct mb m = { .len = 0 };
	struct netlink_event ev;
	uint32_t f = IFA_F_DADFAILED | IFA_F_MANAGETEMPADDR;

	/* The 8-bit field says "permanent"; the 32-bit attribute wins. */
	mb_addr(&m, RTM_NEWADDR, AF_INET6, IFA_F_PERMANENT, 2);
	mb_attr(&m, IFA_ADDRESS, v6, 16);
	mb_attr(&m, IFA_FLAGS, &f, sizeof(f));
	T_EQ_INT(mb_parse(&m, &ev), NETD_NL_OK);
	T_EQ_U64(ev.addr_flags, f);
	T_EQ_INT(netlink_addr_usable(&ev), 0);
}

static void
test_newlink_reads_index_flags_and_name(void)
{
	struct mb m = { .len = 0 };
	struct netlink_event ev;
	uint32_t mtu = 1500;

	mb_link(&m, RTM_NEWLINK, 4, IFF_UP | IFF_NOARP);
	mb_attr(&m, IFLA_MTU, &mtu, sizeof(mtu));
	mb_attr(&m, IFLA_IFNAME, "dummy0", 7);
	T_EQ_INT(mb_parse(&m, &ev), NETD_NL_OK);
	T_EQ_INT(ev.type, RTM_NEWLINK);
	T_EQ_INT(ev.ifindex, 4);
	T_EQ_U64(ev.link_flags, IFF_UP | IFF_NOARP);
	T_EQ_STR(ev.ifname, "dummy0");
}

static void
test_link_name_without_nul_or_too_long_is_rejected(void)
{
	struct mb m = { .len = 0 };
	struct netlink_event ev;

	mb_link(&m, RTM_DELLINK, 4, 0);
	mb_attr(&m, IFLA_IFNAME, "dummy0", 6);	/* no NUL */
	T_EQ_INT(mb_parse(&m, &ev), NETD_NL_E_IFNAME);
	m.len = 0;
	mb_link(&m, RTM_DELLINK, 4, 0);
	mb_attr(&m, IFLA_IFNAME, "abcdefghijklmnopq", 18);	/* > IFNAMSIZ */
	T_EQ_INT(mb_parse(&m, &ev), NETD_NL_E_IFNAME);
	m.len = 0;
	mb_link(&m, RTM_DELLINK, 4, 0);
	mb_attr(&m, IFLA_IFNAME, "", 1);
	T_EQ_INT(mb_parse(&m, &ev), NETD_NL_E_IFNAME);
}

static void
test_next_walks_messages_and_tolerates_missing_final_padding(void)
{
	struct mb m = { .len = 0 };
	struct netlink_event ev;
	struct netlink_msg msg;
	struct buf_r r;

	mb_addr(&m, RTM_NEWADDR, AF_INET, 0, 1);
	mb_attr(&m, IFA_LOCAL, v4_local, 4);
	mb_link(&m, RTM_NEWLINK, 2, 0);
	/* 3 name bytes: the message ends 1 byte before its alignment. */
	mb_attr(&m, IFLA_IFNAME, "lo", 3);
	mb_set_len(&m, (uint32_t)(m.len - m.start - 1));
	m.len--;
	buf_r_init(&r, m.b, m.len);
	T_EQ_INT(netlink_next(&r, &msg), NETD_NL_OK);
	T_EQ_INT(msg.type, RTM_NEWADDR);
	T_EQ_U64(msg.seq, 7);
	T_EQ_INT(netlink_parse(&msg, &ev), NETD_NL_OK);
	T_EQ_INT(netlink_next(&r, &msg), NETD_NL_OK);
	T_EQ_INT(msg.type, RTM_NEWLINK);
	T_EQ_INT(netlink_parse(&msg, &ev), NETD_NL_OK);
	T_EQ_STR(ev.ifname, "lo");
	T_EQ_INT(netlink_next(&r, &msg), NETD_NL_END);
}

static void
test_next_rejects_truncated_header(void)
{
	struct mb m = { .len = 0 };
	struct netlink_msg msg;
	struct buf_r r;

	mb_addr(&m, RTM_NEWADDR, AF_INET, 0, 1);
	buf_r_init(&r, m.b, sizeof(struct nlmsghdr) - 1);
	T_EQ_INT(netlink_next(&r, &msg), NETD_NL_E_TRUNC);
}

static void
test_next_rejects_length_past_end_or_below_header(void)
{
	struct mb m = { .len = 0 };
	struct netlink_msg msg;
	struct buf_r r;

	mb_addr(&m, RTM_NEWADDR, AF_INET, 0, 1);
	mb_attr(&m, IFA_LOCAL, v4_local, 4);
	mb_set_len(&m, (uint32_t)m.len + 4);
	buf_r_init(&r, m.b, m.len);
	T_EQ_INT(netlink_next(&r, &msg), NETD_NL_E_LEN);
	mb_set_len(&m, sizeof(struct nlmsghdr) - 1);
	buf_r_init(&r, m.b, m.len);
	T_EQ_INT(netlink_next(&r, &msg), NETD_NL_E_LEN);
	/* A huge length must not wrap around. */
	mb_set_len(&m, 0xffffffffu);
	buf_r_init(&r, m.b, m.len);
	T_EQ_INT(netlink_next(&r, &msg), NETD_NL_E_LEN);
}

static void
test_parse_rejects_payload_shorter_than_fixed_header(void)
{
	struct mb m = { .len = 0 };
	struct netlink_event ev;

	mb_addr(&m, RTM_NEWADDR, AF_INET, 0, 1);
	mb_set_len(&m, NLMSG_HDRLEN + sizeof(struct ifaddrmsg) - 1);
	T_EQ_INT(mb_parse(&m, &ev), NETD_NL_E_SHORT);
	m.len = 0;
	mb_link(&m, RTM_NEWLINK, 1, 0);
	mb_set_len(&m, NLMSG_HDRLEN + 4);
	T_EQ_INT(mb_parse(&m, &ev), NETD_NL_E_SHORT);
}

static void
test_parse_rejects_bad_attribute_lengths(void)
{
	struct mb m = { .len = 0 };
	struct netlink_event ev;
	struct rtattr a;
	size_t at;

	/* rta_len below the attribute header */
	mb_addr(&m, RTM_NEWADDR, AF_INET, 0, 1);
	at = m.len;
	mb_attr(&m, IFA_LOCAL, v4_local, 4);
	a.rta_type = IFA_LOCAL;
	a.rta_len = 2;
	memcpy(m.b + at, &a, sizeof(a));
	T_EQ_INT(mb_parse(&m, &ev), NETD_NL_E_ATTR);
	/* rta_len past the message */
	a.rta_len = 9;
	memcpy(m.b + at, &a, sizeof(a));
	T_EQ_INT(mb_parse(&m, &ev), NETD_NL_E_ATTR);
	/* 2 stray bytes after the last attribute */
	m.len = 0;
	mb_addr(&m, RTM_NEWADDR, AF_INET, 0, 1);
	mb_attr(&m, IFA_LOCAL, v4_local, 4);
	memset(m.b + m.len, 0, 2);
	m.len += 2;
	mb_set_len(&m, (uint32_t)(m.len - m.start));
	T_EQ_INT(mb_parse(&m, &ev), NETD_NL_E_ATTR);
	/* IFA_FLAGS not 4 bytes */
	m.len = 0;
	mb_addr(&m, RTM_NEWADDR, AF_INET, 0, 1);
	mb_attr(&m, IFA_LOCAL, v4_local, 4);
	mb_attr(&m, IFA_FLAGS, "\1\0", 2);
	T_EQ_INT(mb_parse(&m, &ev), NETD_NL_E_ATTR);
}

static void
test_parse_rejects_address_of_the_wrong_size(void)
{
	struct mb m = { .len = 0 };
	struct netlink_event ev;

	mb_addr(&m, RTM_NEWADDR, AF_INET, 0, 1);
	mb_attr(&m, IFA_LOCAL, v6, 16);
	T_EQ_INT(mb_parse(&m, &ev), NETD_NL_E_ADDRLEN);
	m.len = 0;
	mb_addr(&m, RTM_NEWADDR, AF_INET6, 0, 1);
	mb_attr(&m, IFA_ADDRESS, v4_local, 4);
	T_EQ_INT(mb_parse(&m, &ev), NETD_NL_E_ADDRLEN);
}

static void
test_parse_rejects_other_family_missing_address_and_other_types(void)
{
	struct mb m = { .len = 0 };
	struct netlink_event ev;
	struct rtmsg rt;

	mb_addr(&m, RTM_NEWADDR, AF_PACKET, 0, 1);
	mb_attr(&m, IFA_LOCAL, v4_local, 4);
	T_EQ_INT(mb_parse(&m, &ev), NETD_NL_E_FAMILY);
	m.len = 0;
	mb_addr(&m, RTM_NEWADDR, AF_INET, 0, 1);
	mb_attr(&m, IFA_LABEL, "eth0", 5);
	T_EQ_INT(mb_parse(&m, &ev), NETD_NL_E_NOADDR);
	m.len = 0;
	memset(&rt, 0, sizeof(rt));
	mb_msg(&m, RTM_NEWROUTE, &rt, sizeof(rt));
	T_EQ_INT(mb_parse(&m, &ev), NETD_NL_E_TYPE);
}

static void
test_parse_needs_no_alignment(void)
{
	static uint8_t shifted[1024 + 1];
	struct mb m = { .len = 0 };
	struct netlink_event ev;
	struct netlink_msg msg;
	struct buf_r r;

	mb_addr(&m, RTM_NEWADDR, AF_INET6, 0, 5);
	mb_attr(&m, IFA_ADDRESS, v6, 16);
	memcpy(shifted + 1, m.b, m.len);
	buf_r_init(&r, shifted + 1, m.len);
	T_EQ_INT(netlink_next(&r, &msg), NETD_NL_OK);
	T_EQ_INT(netlink_parse(&msg, &ev), NETD_NL_OK);
	T_EQ_MEM(ev.addr, v6, 16);
	T_EQ_INT(ev.ifindex, 5);
}

/* The kernel's own format: dump the addresses, find loopback's. */
static void
test_kernel_address_dump_parses_and_has_loopback(void)
{
	static uint8_t buf[65536] __attribute__((aligned(8)));
	struct {
		struct nlmsghdr	h;
		struct ifaddrmsg a;
	} req;
	const uint8_t lo4[4] = { 127, 0, 0, 1 };
	struct netlink_event ev;
	struct netlink_msg msg;
	struct buf_r r;
	ssize_t got;
	int fd, rc, i, done = 0, naddr = 0, have_lo = 0, bad = 0;

	if ((fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)) == -1)
		T_SKIP("no rtnetlink socket here");
	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(req.a));
	req.h.nlmsg_type = RTM_GETADDR;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.h.nlmsg_seq = 1;
	if (send(fd, &req, req.h.nlmsg_len, 0) == -1) {
		close(fd);
		T_FAIL("send");
	}
	for (i = 0; i < 100 && !done; i++) {
		if ((got = recv(fd, buf, sizeof(buf), 0)) <= 0)
			break;
		buf_r_init(&r, buf, (size_t)got);
		while ((rc = netlink_next(&r, &msg)) == NETD_NL_OK) {
			if (msg.type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (netlink_parse(&msg, &ev) != NETD_NL_OK) {
				bad++;
				continue;
			}
			naddr++;
			if (ev.family == AF_INET && memcmp(ev.addr, lo4, 4) == 0)
				have_lo = 1;
		}
		if (rc < 0)
			bad++;
	}
	close(fd);
	T_ASSERT(done);
	T_EQ_INT(bad, 0);
	if (naddr == 0)
		T_SKIP("no addresses in this namespace");
	T_ASSERT(naddr >= 1);
	if (!have_lo)
		T_SKIP("loopback has no 127.0.0.1 here");
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_newaddr_ipv4_prefers_ifa_local_over_peer_address);
	T_RUN(test_deladdr_ipv6_uses_ifa_address);
	T_RUN(test_tentative_address_is_not_usable);
	T_RUN(test_ifa_flags_attribute_replaces_the_8bit_flags);
	T_RUN(test_newlink_reads_index_flags_and_name);
	T_RUN(test_link_name_without_nul_or_too_long_is_rejected);
	T_RUN(test_next_walks_messages_and_tolerates_missing_final_padding);
	T_RUN(test_next_rejects_truncated_header);
	T_RUN(test_next_rejects_length_past_end_or_below_header);
	T_RUN(test_parse_rejects_payload_shorter_than_fixed_header);
	T_RUN(test_parse_rejects_bad_attribute_lengths);
	T_RUN(test_parse_rejects_address_of_the_wrong_size);
	T_RUN(test_parse_rejects_other_family_missing_address_and_other_types);
	T_RUN(test_parse_needs_no_alignment);
	T_RUN(test_kernel_address_dump_parses_and_has_loopback);
	return t_done();
}
