/*
 * xfer.h — transfers over UDT in lite packets (docs/protocol.md §9): one
 * engine (xfer.c: sessions, transfer IDs, lite packets, UDT, timers,
 * storaged requests, expiry) with two users, the block transfer (Get Block,
 * §9.8, xfer_getblock.c) and the file transfer (Transfer, §9.1-9.7,
 * xfer_file.c with xfer_stream.c, xfer_prov.c, xfer_req.c, xfer_merkle.c,
 * xfer_fsess.c), put together by xfer_setup.c.  netd.c and control.c call
 * what is declared here; node.c, below the engine, reaches it only through
 * n->xfer_hooks (netd.h), which xfer_init sets.
 */
#ifndef PEERNET_XFER_H
#define PEERNET_XFER_H

#include <stddef.h>
#include <stdint.h>

struct netd;
struct peer;
struct peer_conn;
struct ipc_req;
struct wire_packet;

/* xfer_setup.c: the engine and its users, n->xfer_hooks set; 0 or -1. */
int	xfer_init(struct netd *n);
void	xfer_free(struct netd *n);

/* xfer.c (node.c's n->xfer_hooks) */
/* A datagram whose first 16 bytes may be a registered transfer ID: 1 if consumed. */
int	xfer_lite_in(struct netd *n, const uint8_t *raw, size_t len);
/* Commands WIRE_CMD_GET_BLOCK and WIRE_CMD_TRANSFER from a registered peer. */
void	xfer_packet(struct netd *n, struct peer *p, struct peer_conn *c,
	    const struct wire_packet *pkt);
void	xfer_tick(struct netd *n, uint64_t now_ms);

/* xfer_getblock.c (n->xfer_hooks->blocks_wanted): storaged wants blocks [from, to) of p's chain `version` for its cache. */
void	xfer_gb_wanted(struct netd *n, struct peer *p, uint64_t version,
	    uint64_t from, uint64_t to);

/* IPC requests from ctl and apid (control.c dispatches them). */
/* xfer_req.c: IPC_GET, IPC_PROBE, IPC_XFER_CTL */
void	xfer_req_get(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len);
void	xfer_req_probe(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len);
void	xfer_req_ctl(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len);
/* xfer_file.c: IPC_TRANSFERS */
void	xfer_file_list(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len);
/* xfer_stream.c: IPC_STREAM_*, byte ranges of a remote file for apid, into memory. */
void	xfer_st_open(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len);
void	xfer_st_read(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len);
void	xfer_st_close(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len);

#endif
