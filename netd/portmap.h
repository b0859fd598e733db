/*
 * portmap.h — port mapping on the home router (docs/protocol.md §6.4): UPnP IGD
 * through libminiupnpc, as the reference does, and NAT-PMP through
 * libnatpmp, which the reference lacks.  The mapped external port of a
 * network is reported in every Announcement and Response sent from it
 * (struct netd_sock.port_external, §3.1).
 *
 * Both libraries block (SSDP waits, HTTP, NAT-PMP retries), so one worker
 * thread does the talking and hands results to the event loop through an
 * eventfd; the loop never waits on a router.  The pure helpers below are
 * what the unit test pins down.
 */
#ifndef PEERNET_PORTMAP_H
#define PEERNET_PORTMAP_H

#include <stddef.h>
#include <stdint.h>

#define PORTMAP_MAX_TARGETS	8	/* mapped networks (IPv4 interfaces) */
#define PORTMAP_LEASE_S		3600	/* asked of the router */
#define PORTMAP_PERMANENT_RECHECK_S 1800 /* a lease-0 mapping is re-added this often */
#define PORTMAP_BACKOFF_MIN_MS	2000	/* first retry after a failure ... */
#define PORTMAP_BACKOFF_MAX_MS	(10 * 60 * 1000)	/* ... doubling up to 10 min */
#define PORTMAP_DISCOVER_MS	2000	/* SSDP wait */
#define PORTMAP_NATPMP_MS	3000	/* one NAT-PMP exchange, retries included */
#define PORTMAP_STOP_MS		2000	/* portmap_stop waits at most this */
#define PORTMAP_STATUS_MAX	128
#define PORTMAP_RANDOM_TRIES	3	/* random external ports tried when refused */

struct netd;

enum portmap_proto {
	PORTMAP_NONE = 0,
	PORTMAP_UPNP,
	PORTMAP_NATPMP
};

/*
 * portmap_start / _stop / _status are declared in netd.h.  start runs
 * before seccomp (the filter then covers the worker thread too) and does
 * nothing when both methods are off or port_forward is set; stop deletes
 * every mapping held, waiting about PORTMAP_STOP_MS at most.
 */

/* Pure helpers. */
/* RFC 1918 (10/8, 172.16/12, 192.168/16): the networks worth mapping. */
int	portmap_ip_eligible(const uint8_t ip[4]);
/* Delay before retry number `failures` (1, 2, ...): doubles, bounded. */
uint64_t portmap_backoff_ms(int failures);
/* When to renew a mapping granted for lease_s seconds (0: permanent). */
uint64_t portmap_renew_ms(uint32_t lease_s);
/* A random external port in [1024, 65535) from a random number. */
uint16_t portmap_random_port(uint32_t r);
/* "upnp: 198.51.100.1:112 -> 192.168.1.2:112, renews in 1712 s" */
int	portmap_format(char *out, size_t cap, enum portmap_proto proto,
	    const char *ext_ip, uint16_t ext_port, const char *int_ip,
	    uint16_t int_port, uint64_t renew_in_s);
const char *portmap_proto_name(enum portmap_proto proto);

#endif
