/*
 * lan.h — LAN discovery for peernet-netd (docs/protocol.md §6.3, §3.6, §2.6):
 * Local Discovery packets (command 4) encrypted to the well-known
 * discovery keys (§1.7), sent from the main sockets to
 * 255.255.255.255:12912 + directed broadcasts (IPv4) and [ff05::112]:12912
 * (IPv6), received on wildcard discovery sockets bound to port 12912.
 *
 * The receive path is built for broadcast floods: cheap checks first, then
 * a global token bucket in front of the costly signature recovery, and no
 * per-sender state (the answer rate limit lives in node.c's fixed ring).
 *
 * The lan_* helpers below are pure (no sockets, no clock) for unit tests.
 */
#ifndef PEERNET_LAN_H
#define PEERNET_LAN_H

#include <stddef.h>
#include <stdint.h>

#include "peer.h"
#include "wire_packet.h"

#define LAN_PORT		12912
#define LAN_GROUP6		"ff05::112"	/* site-local scope, group 0x112 */
#define LAN_FAST_MS		10000		/* while the peer list is empty */
#define LAN_SLOW_MS		(10 * 60 * 1000)	/* once it was not */
#define LAN_RATE_PER_S		200		/* discovery packets opened per second */
#define LAN_BURST		200
#define LAN_CHANGE_MIN_MS	2000		/* address changes: at most a round per 2 s */

struct netd;

/* netd glue: nothing happens (no socket) when conf.lan is 0. */
int	lan_start(struct netd *n, char *err, size_t errlen);
void	lan_stop(struct netd *n);
/*
 * For the address-change watcher: re-reads the interfaces, joins ff05::112
 * on new ones and sends a discovery round soon (at most every
 * LAN_CHANGE_MIN_MS).
 */
void	lan_addresses_changed(struct netd *n);

/*
 * Directed broadcast of ip/mask (ip OR NOT mask) into out.  -1 when the
 * subnet has none: /31 and /32 (RFC 3021) or an all-zero mask.  (Wildcard
 * networks skip 169.254/16 subnets, §6.3; that is the caller's choice.)
 */
int	lan_ipv4_directed_broadcast(const uint8_t ip[4], const uint8_t mask[4],
	    uint8_t out[4]);

/*
 * §6.3 schedule: the delay until the next round after one sent now with
 * `npeers` peers.  *settled turns 1 once a peer was seen and stays so:
 * from then on rounds are LAN_SLOW_MS apart even if the list empties.
 */
uint64_t lan_next_interval_ms(size_t npeers, int *settled);

/* A token bucket: `rate` tokens per second, at most `burst` saved up. */
struct lan_bucket {
	uint64_t	last_ms;
	uint32_t	milli;		/* tokens x 1000 */
	uint32_t	rate;
	uint32_t	burst;
};

void	lan_bucket_init(struct lan_bucket *b, uint32_t rate, uint32_t burst,
	    uint64_t now_ms);
/* 1 and one token spent, or 0 when empty.  A clock going back adds nothing. */
int	lan_bucket_take(struct lan_bucket *b, uint64_t now_ms);

/* The receiver key of discovery packets for AF_INET / AF_INET6 (§1.7). */
const uint8_t *lan_discovery_key(int family);

#define LAN_ERR_COMMAND	(-100)	/* opened, but not a Local Discovery packet */
/*
 * Opens a datagram from a discovery socket of `family` (§2.6 step 4):
 * decrypts with the family's discovery key, refuses our own packets
 * (WIRE_PACKET_ERR_SELF) and any command but Local Discovery
 * (LAN_ERR_COMMAND, §2.6: only command 4 on discovery sockets).  Returns
 * 0 or a wire_packet_err / LAN_ERR_COMMAND; pkt as wire_packet_decode.
 */
int	lan_open(int family, const uint8_t self_pub[PEERNET_PUBKEY_BYTES],
	    const uint8_t *raw, size_t len, uint8_t *plain, size_t cap,
	    struct wire_packet *pkt);

/*
 * §2.6 discovery receive filters.  lan_from_self: `from` (IP and port) is
 * one of the node's listening addresses `own` (wildcard sockets expanded
 * to the host's addresses by the caller).  lan_link_ok: some local network
 * of the same family may talk to `from` by the link-local rule (§5.7).
 */
int	lan_from_self(const struct peer_addr *own, size_t nown,
	    const struct peer_addr *from);
int	lan_link_ok(const struct peer_addr *locals, size_t nlocal,
	    const struct peer_addr *from);

#endif /* PEERNET_LAN_H */
