/*
 * xfer_file.h — file transfers (Transfer, command 8; docs/protocol.md §9.1-9.7)
 * in both roles, over UDT in lite packets, next to the block transfer of
 * xfer.c (which forwards Transfer messages, unclaimed lite packets and its
 * tick here, and holds this module's state).
 *
 *  - Provider: a peer's REQUEST_START for a hash; storaged says whether the
 *    warehouse holds it (IPC_XSTAT); NOT_AVAILABLE, or the requester's
 *    transfer ID and sequence registered, UDT client, the 16-byte header
 *    then the bytes read from storaged in large IPC_CAT chunks, a few ahead.
 *  - Requester: ctl's IPC_GET; storaged is asked (IPC_XSTAT) whether it
 *    keeps a verified prefix of the file from an earlier, interrupted
 *    download; then a "run": fresh transfer ID and bi-sequence, UDT server,
 *    REQUEST_START (offset = that prefix, limit 0); the stream goes to
 *    storaged as a download (IPC_DL_*) that checkpoints the verified prefix
 *    and refuses the data unless it verifies (serve_dl.c: what is verified
 *    when).  A verification failure is counted and the file fetched again
 *    (XF_MAX_REFETCH runs in all); pause ends the run and closes the
 *    download in storaged keeping its prefix, resume starts a new run from
 *    it, cancel discards it (IPC_XFER_CTL).  IPC_PROBE: a run whose bytes
 *    are only hashed, in memory, never stored.  ctl follows a transfer with
 *    IPC_TRANSFERS.
 *  - Our extension, XFER_PROTO_MERKLE (transfer-protocol byte 0x4d, which
 *    the reference ignores: docs/protocol.md §3.8, §9.3; wire format in
 *    xfer_merkle.h): with each run's REQUEST_START the requester asks for
 *    the file's merkle leaves; a sharer of ours answers from storaged's
 *    companion (IPC_XSTAT, IPC_XSTAT_F_MERKLE).  Without an answer within
 *    XF_MK_WAIT_MS (2 s; a reference sharer) the download goes on as
 *    above.  With leaves that lead to their root, each fragment (files up
 *    to 1 GiB) is hashed as it arrives, before storaged sees it: a bad one
 *    is dropped, counted (IPC_NC_XFER_BAD_FRAGMENT) and fetched again by a
 *    new run from its offset, XF_MAX_REFETCH failures in all, then the
 *    download fails naming the fragment.  The whole-file hash at commit
 *    still decides (IPC_XFER_F_FRAGMENTS marks such downloads).
 */
#ifndef PEERNET_XFER_FILE_H
#define PEERNET_XFER_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "xfer_merkle.h"	/* XFER_PROTO_MERKLE */

struct netd;
struct peer;
struct peer_conn;
struct ipc_req;
struct wire_packet;
struct xfer_files;

struct xfer_files *xfer_file_new(struct netd *n);
void	xfer_file_free(struct xfer_files *f);
/* A datagram that may carry one of our transfer IDs: 1 if consumed. */
int	xfer_file_lite_in(struct xfer_files *f, const uint8_t *raw, size_t len);
/* WIRE_CMD_TRANSFER from a registered peer. */
void	xfer_file_packet(struct xfer_files *f, struct peer *p, struct peer_conn *c,
	    const struct wire_packet *pkt);
/* From node.c's tick (via netd_xfer_tick) and from this module's own timer. */
void	xfer_file_tick(struct xfer_files *f, uint64_t now_ms);

/* xfer.c: the state above, held in xfer.c's struct so that netd.h stays as is. */
struct xfer_files *netd_xfer_files(struct netd *n);

/* IPC requests from ctl (netd.c dispatches them). */
void	netd_req_get(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len);
void	netd_req_transfers(struct netd *n, struct ipc_req *req, const uint8_t *msg,
	    size_t len);
void	netd_req_probe(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len);
/* IPC_STREAM_*: byte ranges of a remote file for apid, into memory. */
void	netd_req_stream_open(struct netd *n, struct ipc_req *req, const uint8_t *msg,
	    size_t len);
void	netd_req_stream_read(struct netd *n, struct ipc_req *req, const uint8_t *msg,
	    size_t len);
void	netd_req_stream_close(struct netd *n, struct ipc_req *req, const uint8_t *msg,
	    size_t len);
void	netd_req_xfer_ctl(struct netd *n, struct ipc_req *req, const uint8_t *msg,
	    size_t len);

#endif
