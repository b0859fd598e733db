/*
 * xfer.h — transfers over UDT in lite packets (docs/protocol.md §9): today the
 * block transfer (Get Block, §9.8) that fills the cache of other peers'
 * blockchains; file transfers (Transfer, §9.3) come later through the same
 * hooks.  node.c calls these; xfer.c owns the sessions.
 */
#ifndef PEERNET_XFER_H
#define PEERNET_XFER_H

#include <stddef.h>
#include <stdint.h>

struct netd;
struct peer;
struct peer_conn;
struct wire_packet;

int	netd_xfer_init(struct netd *n);
void	netd_xfer_free(struct netd *n);
/* A datagram whose first 16 bytes may be a registered transfer ID: 1 if consumed. */
int	netd_xfer_lite_in(struct netd *n, const uint8_t *raw, size_t len);
/* Commands WIRE_CMD_GET_BLOCK and WIRE_CMD_TRANSFER from a registered peer. */
void	netd_xfer_packet(struct netd *n, struct peer *p, struct peer_conn *c,
	    const struct wire_packet *pkt);
void	netd_xfer_tick(struct netd *n, uint64_t now_ms);
/* storaged wants blocks [from, to) of p's chain `version` for its cache. */
void	netd_xfer_blocks_wanted(struct netd *n, struct peer *p, uint64_t version,
	    uint64_t from, uint64_t to);

#endif
