/*
 * fuzz_netlink.c — libFuzzer target for netd's rtnetlink parser.  The fuzz
 * build compiles only the common sources, so the pure parser is included
 * directly (netlink_parse.c: no sockets, no clock).
 *
 * The input is one datagram of netlink messages.  Every message taken must
 * lie inside the input; a parsed address has a family the parser accepts
 * and a NUL-terminated interface name; the walk ends in a bounded number
 * of steps.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../netd/netlink_parse.c"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netlink_event ev;
	struct netlink_msg m;
	struct buf_r r;
	size_t steps = 0;
	int rc;

	buf_r_init(&r, data, size);
	while ((rc = netlink_next(&r, &m)) == NETD_NL_OK) {
		if (m.payload < data || m.len > size ||
		    m.payload + m.len > data + size)
			abort();
		/* Each message consumes at least its 16-byte header. */
		if (++steps > size / NLMSG_HDRLEN)
			abort();
		rc = netlink_parse(&m, &ev);
		if (rc == NETD_NL_OK) {
			if ((ev.type == RTM_NEWADDR || ev.type == RTM_DELADDR) &&
			    ev.family != AF_INET && ev.family != AF_INET6)
				abort();
			if (memchr(ev.ifname, 0, sizeof(ev.ifname)) == NULL)
				abort();
			(void)netlink_addr_usable(&ev);
		} else if (rc > 0 || netlink_strerror(rc)[0] == 0)
			abort();
	}
	if (rc != NETD_NL_END && rc >= 0)
		abort();
	return 0;
}
