/*
 * test_portmap.c — the pure parts of netd's port mapping (portmap.h): which
 * networks are mapped, retry backoff, renewal time, random external ports,
 * the status text; and the status fields carried over IPC.
 */
#define _GNU_SOURCE	/* memmem */
#include <stdio.h>
#include <string.h>

#include "ipc_msg.h"
#include "ipc_msg_net.h"
#include "portmap.h"
#include "t.h"

static void
test_only_rfc1918_addresses_are_eligible(void)
{
	static const struct { uint8_t ip[4]; int ok; } c[] = {
		{ { 10, 0, 0, 1 }, 1 }, { { 10, 255, 255, 254 }, 1 },
		{ { 172, 16, 0, 1 }, 1 }, { { 172, 31, 255, 1 }, 1 },
		{ { 172, 15, 255, 255 }, 0 }, { { 172, 32, 0, 1 }, 0 },
		{ { 192, 168, 77, 2 }, 1 }, { { 192, 169, 0, 1 }, 0 },
		{ { 169, 254, 1, 1 }, 0 },	/* link-local */
		{ { 100, 64, 0, 1 }, 0 },	/* CGNAT: a mapping would not help */
		{ { 127, 0, 0, 1 }, 0 }, { { 0, 0, 0, 0 }, 0 },
		{ { 203, 0, 113, 1 }, 0 }, { { 11, 0, 0, 1 }, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (portmap_ip_eligible(c[i].ip) != c[i].ok)
			T_FAIL("%u.%u.%u.%u: eligible=%d", c[i].ip[0], c[i].ip[1],
			    c[i].ip[2], c[i].ip[3], !c[i].ok);
}

static void
test_backoff_doubles_from_two_seconds_and_stops_at_ten_minutes(void)
{
	T_EQ_U64(portmap_backoff_ms(1), 2000);
	T_EQ_U64(portmap_backoff_ms(2), 4000);
	T_EQ_U64(portmap_backoff_ms(3), 8000);
	T_EQ_U64(portmap_backoff_ms(9), 512000);
	T_EQ_U64(portmap_backoff_ms(10), 600000);
	T_EQ_U64(portmap_backoff_ms(64), 600000);
	T_EQ_U64(portmap_backoff_ms(1000000), 600000);
	T_EQ_U64(portmap_backoff_ms(0), 2000);
}

static void
test_renewal_at_half_lease_and_permanent_rechecked(void)
{
	T_EQ_U64(portmap_renew_ms(3600), 1800000);
	T_EQ_U64(portmap_renew_ms(7200), 3600000);
	/* A router granting seconds must not make us hammer it. */
	T_EQ_U64(portmap_renew_ms(10), 30000);
	T_EQ_U64(portmap_renew_ms(0), (uint64_t)PORTMAP_PERMANENT_RECHECK_S * 1000);
	T_EQ_U64(portmap_renew_ms(UINT32_MAX), (uint64_t)UINT32_MAX * 500);
}

static void
test_random_port_stays_in_1024_to_65534(void)
{
	uint32_t r;

	T_EQ_INT(portmap_random_port(0), 1024);
	T_EQ_INT(portmap_random_port(65535 - 1024 - 1), 65534);
	T_EQ_INT(portmap_random_port(65535 - 1024), 1024);
	T_EQ_INT(portmap_random_port(UINT32_MAX), 1024 + UINT32_MAX % (65535 - 1024));
	for (r = 0; r < 200000; r += 7)
		if (portmap_random_port(r * 2654435761u) < 1024 ||
		    portmap_random_port(r * 2654435761u) > 65534)
			T_FAIL("port out of range for r=%u", r);
}

static void
test_status_text_names_method_both_ends_and_renewal(void)
{
	char buf[PORTMAP_STATUS_MAX];

	T_EQ_INT(portmap_format(buf, sizeof(buf), PORTMAP_UPNP, "203.0.113.1", 112,
	    "192.168.77.2", 112, 1712), 0);
	T_EQ_STR(buf, "upnp: 203.0.113.1:112 -> 192.168.77.2:112, renews in 1712 s");
	T_EQ_INT(portmap_format(buf, sizeof(buf), PORTMAP_NATPMP, "", 40000,
	    "10.0.0.5", 7001, 0), 0);
	T_EQ_STR(buf, "natpmp: ?:40000 -> 10.0.0.5:7001, renews in 0 s");
	/* Too small a buffer is reported, not silently cut. */
	T_EQ_INT(portmap_format(buf, 20, PORTMAP_UPNP, "203.0.113.1", 112,
	    "192.168.77.2", 112, 1712), -1);
	T_EQ_STR(portmap_proto_name(PORTMAP_NONE), "none");
}

static void
test_net_status_round_trip_keeps_portmap_fields(void)
{
	static struct ipc_net_status a, b;
	uint8_t buf[8192];
	long n;
	int i;

	memset(&a, 0, sizeof(a));
	memset(a.pubkey, 0x02, sizeof(a.pubkey));
	memset(a.node_id, 0xab, sizeof(a.node_id));
	strcpy(a.listen, "0.0.0.0:112 [::]:112");
	a.peers = 7;
	a.active = 5;
	a.dht_size = 3;
	strcpy(a.nat, "none");
	strcpy(a.portmap, "upnp: 203.0.113.1:112 -> 192.168.77.2:112, renews in 1712 s");
	strcpy(a.external, "203.0.113.1");
	for (i = 0; i < IPC_NC_MAX; i++)
		a.counters[i] = (uint64_t)i * 1000003u;
	n = ipc_net_status_encode(buf, sizeof(buf), &a);
	T_ASSERT(n > 0);
	T_EQ_INT(ipc_net_status_decode(buf, (size_t)n, &b), 0);
	T_EQ_STR(b.portmap, a.portmap);
	T_EQ_STR(b.external, "203.0.113.1");
	T_EQ_STR(b.nat, "none");
	T_EQ_STR(b.listen, a.listen);
	T_EQ_U64(b.counters[IPC_NC_PORTMAP_ERRORS], a.counters[IPC_NC_PORTMAP_ERRORS]);
	T_EQ_MEM(b.node_id, a.node_id, 32);
	/* Every truncation is refused. */
	for (i = 0; i < n; i++)
		if (ipc_net_status_decode(buf, (size_t)i, &b) == 0)
			T_FAIL("truncated to %d bytes accepted", i);
}

static void
test_net_status_rejects_overlong_portmap_text(void)
{
	static struct ipc_net_status a, b;
	uint8_t buf[8192];
	long n;

	memset(&a, 0, sizeof(a));
	memset(a.portmap, 'x', sizeof(a.portmap) - 1);
	n = ipc_net_status_encode(buf, sizeof(buf), &a);
	T_ASSERT(n > 0);
	T_EQ_INT(ipc_net_status_decode(buf, (size_t)n, &b), 0);
	T_EQ_INT((int)strlen(b.portmap), (int)sizeof(a.portmap) - 1);
	/* One byte more than the receiver's field: refused as a bad string. */
	{
		static struct ipc_net_status big;
		uint8_t *p;
		size_t off;

		memset(&big, 0, sizeof(big));
		strcpy(big.portmap, "ab");
		n = ipc_net_status_encode(buf, sizeof(buf), &big);
		T_ASSERT(n > 0);
		/* Find the "ab" string (le16 length 2, then "ab") and claim 128 bytes. */
		p = memmem(buf, (size_t)n, "\x02\x00" "ab", 4);
		T_ASSERT(p != NULL);
		off = (size_t)(p - buf);
		buf[off] = 128;
		T_ASSERT(ipc_net_status_decode(buf, (size_t)n, &b) != 0);
	}
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_only_rfc1918_addresses_are_eligible);
	T_RUN(test_backoff_doubles_from_two_seconds_and_stops_at_ten_minutes);
	T_RUN(test_renewal_at_half_lease_and_permanent_rechecked);
	T_RUN(test_random_port_stays_in_1024_to_65534);
	T_RUN(test_status_text_names_method_both_ends_and_renewal);
	T_RUN(test_net_status_round_trip_keeps_portmap_fields);
	T_RUN(test_net_status_rejects_overlong_portmap_text);
	return t_done();
}
