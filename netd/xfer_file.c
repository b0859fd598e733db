/*
 * xfer_file.c — the file transfer's entry (Transfer, command 8;
 * docs/protocol.md §9.3): registered with the transfer engine, it takes
 * Transfer messages and answers IPC_TRANSFERS.  The top of the file side
 * (see xfer_file.h, docs/design.md "Layers"): it calls the roles, which
 * call the merkle checks, which call the session (xfer_fsess.c); the
 * calls the session and the merkle checks make back up to the roles go
 * through the table of parts set here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ipc.h"
#include "netd.h"
#include "wire_msg.h"
#include "xfer_file.h"

static uint8_t xfer_file_reply[IPC_XFER_LIST_MAX * 512 + 64];

static void	xfer_file_packet(struct netd *n, struct peer *p, struct peer_conn *c,
		    const struct wire_packet *pkt);

static const struct xfer_file_parts xfer_file_parts_table = {
	.req_pump = xfer_req_pump,
	.req_tick = xfer_req_tick,
	.req_dl_abort = xfer_req_dl_abort,
	.req_flush_chunk = xfer_req_flush_chunk,
	.req_run_start = xfer_req_run_start,
	.req_stop = xfer_req_stop,
	.prov_pump = xfer_prov_pump,
	.st_pump = xfer_st_pump,
	.st_tick = xfer_st_tick,
	.st_release = xfer_st_release,
};

static const struct xfer_user xfer_file_user = {
	.ops = &xfer_file_ops,
	.cmd = WIRE_CMD_TRANSFER,
	.packet = xfer_file_packet,
	.fini = xfer_fsess_fini,
};

int
xfer_file_init(struct netd *n)
{
	if (xfer_fsess_init(n, &xfer_file_parts_table) != 0)
		return -1;
	if (xfer_register(n, &xfer_file_user) != 0) {
		xfer_fsess_fini(n);
		return -1;
	}
	return 0;
}

static void
xfer_file_packet(struct netd *n, struct peer *p, struct peer_conn *c,
    const struct wire_packet *pkt)
{
	struct xfer_sess *xs;
	struct xfer_file_sess *s;
	struct wire_transfer t;
	int last;

	if (wire_transfer_decode(pkt->payload, pkt->payload_len, &t) != 0) {
		n->counters[IPC_NC_DROP_MESSAGE]++;
		return;
	}
	/*
	 * REQUEST_START is processed without a sequence match (§4.3), from a
	 * verified connection only (see node_answer_hold).
	 */
	if (t.control == WIRE_TRANSFER_REQUEST_START) {
		if (!peer_conn_verified(c)) {
			node_answer_hold(n, p, c, pkt);
			return;
		}
		xfer_prov_request(n, p, pkt->sequence, &t);
		return;
	}
	if (t.control > WIRE_TRANSFER_TERMINATE) {
		n->counters[IPC_NC_DROP_MESSAGE]++;
		return;
	}
	/* Our merkle extension answers only with ACTIVE (xfer_merkle.h). */
	if (t.protocol == XFER_PROTO_MERKLE && t.control != WIRE_TRANSFER_ACTIVE) {
		n->counters[IPC_NC_DROP_MESSAGE]++;
		return;
	}
	last = t.control == WIRE_TRANSFER_NOT_AVAILABLE ||
	    t.control == WIRE_TRANSFER_TERMINATE;
	if ((xs = xfer_msg_sess(n, &xfer_file_ops, p, c, pkt, last)) == NULL)
		return;
	s = FS(xs);
	if (t.protocol == XFER_PROTO_MERKLE) {
		xfer_touch(&s->x);
		xfer_mk_in(s, &t);
		return;
	}
	switch (t.control) {
	case WIRE_TRANSFER_ACTIVE:
		/* The older full-packet path (§9.7): a UDT packet inside the message. */
		xfer_udt_in(&s->x, t.data, t.data_len);
		break;
	case WIRE_TRANSFER_NOT_AVAILABLE:
		xfer_file_end(s, 0, 0, "the peer does not have this file (not available, 404)");
		break;
	case WIRE_TRANSFER_TERMINATE:
		/* Our download already has every byte: storaged finishes it. */
		if (s->x.role == XFER_REQUESTER && s->x.conn == NULL)
			break;
		/* The requester has what it wanted (§9.6): a success, not an error. */
		if (s->x.role == XFER_PROVIDER && s->hdr_done && s->done == s->total)
			xfer_file_end(s, 1, 0, "complete (terminated by the requester)");
		else
			xfer_file_end(s, 0, 0, "terminated by the peer");
		break;
	}
}

/* IPC_TRANSFERS: the live sessions, then the recent ones. */
void
xfer_file_list(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct xfer *xf = n->xfer;
	struct xfer_files *f = xf != NULL ? xf->files : NULL;
	struct xfer_file_sess *s;
	struct ipc_xfer_info x;
	uint64_t now = xfer_now(n);
	uint32_t want, total = 0;
	size_t off;
	long l;
	int i;

	if (ipc_req_bad(req, ipc_u32_decode(msg, len, IPC_TRANSFERS, &want),
	    "transfers request"))
		return;
	if ((l = ipc_xfer_list_begin(xfer_file_reply, sizeof(xfer_file_reply), 0)) < 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "reply buffer");
		return;
	}
	off = (size_t)l;
	for (i = 0; i < XFER_SLOTS; i++) {
		if ((s = xfer_file_at(n, i)) == NULL || (want != 0 && s->number != want))
			continue;
		xfer_file_info(s, now, &x);
		if (ipc_xfer_list_add(xfer_file_reply, sizeof(xfer_file_reply), &off, &x) == 0)
			total++;
	}
	for (i = 0; f != NULL && i < XF_RECENT; i++) {
		struct xfer_file_recent *r = &f->recent[i];

		if (r->at == 0 || now - r->at > XF_RECENT_MS ||
		    (want != 0 && r->info.number != want))
			continue;
		if (ipc_xfer_list_add(xfer_file_reply, sizeof(xfer_file_reply), &off,
		    &r->info) == 0)
			total++;
	}
	buf_put_le32(xfer_file_reply + IPC_HDR_LEN, total);
	ipc_reply(req, xfer_file_reply, off);
}
