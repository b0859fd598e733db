/*
 * udt_pkt.c — encode/decode of one UDT packet (docs/protocol.md §9.4).  Pure
 * functions over (pointer, length); every read goes through common/buf.h.
 * All integers are big-endian.  The decoder is strict where the reference
 * never varies (handshake exactly 64 bytes, ACK 20/32/36/40 bytes) so that a
 * decoded packet re-encodes to the same bytes.
 */
#include <string.h>

#include "buf.h"
#include "udt.h"

const char *
udt_strerror(int err)
{
	switch (err) {
	case UDT_OK:			return "ok";
	case UDT_ERR_ARG:		return "bad argument";
	case UDT_ERR_SHORT:		return "UDT packet shorter than 4 bytes";
	case UDT_ERR_DATA_SHORT:	return "UDT data packet shorter than 16 bytes";
	case UDT_ERR_CTRL_SHORT:	return "UDT control packet shorter than 16 bytes";
	case UDT_ERR_CTRL_TYPE:		return "unknown UDT control type";
	case UDT_ERR_HS_SHORT:		return "UDT handshake shorter than 64 bytes";
	case UDT_ERR_HS_LONG:		return "UDT handshake longer than 64 bytes";
	case UDT_ERR_ACK_LEN:		return "UDT ACK not 20, 32, 36 or 40 bytes";
	case UDT_ERR_NAK_LEN:		return "UDT NAK body not a multiple of 4";
	case UDT_ERR_DROPREQ_SHORT:	return "UDT drop request shorter than 24 bytes";
	case UDT_ERR_TOO_LONG:		return "UDT packet longer than 1214 bytes";
	case UDT_ERR_BUF:		return "output buffer too small";
	case UDT_ERR_NOMEM:		return "out of memory";
	case UDT_ERR_STATE:		return "not valid in this connection state";
	case UDT_ERR_AGAIN:		return "not yet";
	case UDT_ERR_CLOSED:		return "connection closed";
	case UDT_ERR_TIMEOUT:		return "connection idle timeout";
	case UDT_ERR_CONNECT_TIMEOUT:	return "connection handshake timed out";
	case UDT_ERR_PROTO:		return "peer violated the UDT protocol";
	case UDT_ERR_REFUSED:		return "connection refused";
	case UDT_ERR_DROP_SOCKET:	return "dropped: destination socket is not ours";
	case UDT_ERR_DROP_ZERO_DST:	return "dropped: non-handshake packet to socket 0";
	case UDT_ERR_DROP_WINDOW:	return "dropped: data beyond the receive window";
	case UDT_ERR_DROP_HS:		return "dropped: handshake not acceptable now";
	case UDT_ERR_DROP_STATE:	return "dropped: packet not expected in this state";
	case UDT_ERR_DROP_DUP:		return "dropped: duplicate data";
	case UDT_ERR_ACK_TIMEOUT:	return "peer acknowledged nothing for the idle timeout";
	case UDT_ERR_DROP_STALE:	return "dropped: stale or unknown ACK/ACK2";
	case UDT_ERR_DROP_HS_ORDER:	return "dropped: handshake step out of order";
	case UDT_ERR_PEER_GONE:		return "the peer stopped answering (connection broken)";
	}
	return "unknown UDT error";
}

static int
decode_ctrl(struct buf_r *r, size_t len, struct udt_pkt *o)
{
	uint32_t w0;

	w0 = buf_r_be32(r);
	o->type = (uint16_t)((w0 >> 16) & 0x7fff);
	o->reserved = (uint16_t)w0;
	o->info = buf_r_be32(r);
	o->ts = buf_r_be32(r);
	o->dst = buf_r_be32(r);
	o->body = r->p + UDT_HDR_SIZE;
	o->body_len = len - UDT_HDR_SIZE;

	switch (o->type) {
	case UDT_CTRL_HANDSHAKE:
		if (len < UDT_HS_SIZE)
			return UDT_ERR_HS_SHORT;
		if (len > UDT_HS_SIZE)
			return UDT_ERR_HS_LONG;
		o->u.hs.version = buf_r_be32(r);
		o->u.hs.sock_type = buf_r_be32(r);
		o->u.hs.init_seq = buf_r_be32(r);
		o->u.hs.mss = buf_r_be32(r);
		o->u.hs.flow_win = buf_r_be32(r);
		o->u.hs.req_type = (int32_t)buf_r_be32(r);
		o->u.hs.sock_id = buf_r_be32(r);
		o->u.hs.cookie = buf_r_be32(r);
		buf_r_copy(r, o->u.hs.peer_ip, sizeof(o->u.hs.peer_ip));
		break;
	case UDT_CTRL_ACK:
		if (len != UDT_ACK_LIGHT_SIZE && len != UDT_ACK_SIZE &&
		    len != UDT_ACK_RATE_SIZE && len != UDT_ACK_LINK_SIZE)
			return UDT_ERR_ACK_LEN;
		o->u.ack.nfields = (int)(len - UDT_HDR_SIZE) / 4;
		o->u.ack.seq = buf_r_be32(r);
		if (o->u.ack.nfields >= 4) {
			o->u.ack.rtt = buf_r_be32(r);
			o->u.ack.rtt_var = buf_r_be32(r);
			o->u.ack.avail = buf_r_be32(r);
		}
		if (o->u.ack.nfields >= 5)
			o->u.ack.rate = buf_r_be32(r);
		if (o->u.ack.nfields >= 6)
			o->u.ack.cap = buf_r_be32(r);
		break;
	case UDT_CTRL_NAK:
		if ((len - UDT_HDR_SIZE) % 4 != 0)
			return UDT_ERR_NAK_LEN;
		o->u.nak.n = (len - UDT_HDR_SIZE) / 4;
		o->u.nak.raw = buf_r_take(r, o->u.nak.n * 4);
		break;
	case UDT_CTRL_DROPREQ:
		if (len < UDT_DROPREQ_SIZE)
			return UDT_ERR_DROPREQ_SHORT;
		o->u.drop.first = buf_r_be32(r);
		o->u.drop.last = buf_r_be32(r);
		break;
	case UDT_CTRL_KEEPALIVE:
	case UDT_CTRL_CONGESTION:
	case UDT_CTRL_SHUTDOWN:
	case UDT_CTRL_ACK2:
	case UDT_CTRL_ERROR:
	case UDT_CTRL_USERDEF:
		break;
	default:
		return UDT_ERR_CTRL_TYPE;
	}
	/* Lengths were checked above; a failed read here would be a bug. */
	return r->err ? UDT_ERR_ARG : UDT_OK;
}

int
udt_pkt_decode(const uint8_t *p, size_t len, struct udt_pkt *o)
{
	struct buf_r r;
	uint32_t w0;

	if (o == NULL)
		return UDT_ERR_ARG;
	memset(o, 0, sizeof(*o));
	if (p == NULL || len < 4)
		return UDT_ERR_SHORT;
	if (len > UDT_PKT_MAX)
		return UDT_ERR_TOO_LONG;
	buf_r_init(&r, p, len);
	w0 = buf_be32(p);
	o->is_ctrl = (w0 & 0x80000000U) != 0;
	if (o->is_ctrl) {
		if (len < UDT_HDR_SIZE)
			return UDT_ERR_CTRL_SHORT;
		return decode_ctrl(&r, len, o);
	}
	if (len < UDT_HDR_SIZE)
		return UDT_ERR_DATA_SHORT;
	o->seq = buf_r_be32(&r);
	o->msg = buf_r_be32(&r);
	o->ts = buf_r_be32(&r);
	o->dst = buf_r_be32(&r);
	o->data_len = len - UDT_HDR_SIZE;
	o->data = buf_r_take(&r, o->data_len);
	return r.err ? UDT_ERR_ARG : UDT_OK;
}

uint32_t
udt_pkt_nak_entry(const struct udt_pkt *p, size_t i)
{
	if (p == NULL || !p->is_ctrl || p->type != UDT_CTRL_NAK ||
	    i >= p->u.nak.n || p->u.nak.raw == NULL)
		return 0;
	return buf_be32(p->u.nak.raw + 4 * i);
}

const char *
udt_pkt_type_name(const struct udt_pkt *p)
{
	if (!p->is_ctrl)
		return "data";
	switch (p->type) {
	case UDT_CTRL_HANDSHAKE:	return "handshake";
	case UDT_CTRL_KEEPALIVE:	return "keepalive";
	case UDT_CTRL_ACK:		return "ack";
	case UDT_CTRL_NAK:		return "nak";
	case UDT_CTRL_CONGESTION:	return "congestion";
	case UDT_CTRL_SHUTDOWN:		return "shutdown";
	case UDT_CTRL_ACK2:		return "ack2";
	case UDT_CTRL_DROPREQ:		return "dropreq";
	case UDT_CTRL_ERROR:		return "error";
	case UDT_CTRL_USERDEF:		return "userdef";
	}
	return "unknown";
}

static void
encode_ctrl(struct buf_w *w, const struct udt_pkt *p)
{
	int i;

	buf_w_be32(w, 0x80000000U | (uint32_t)(p->type & 0x7fff) << 16 |
	    p->reserved);
	buf_w_be32(w, p->info);
	buf_w_be32(w, p->ts);
	buf_w_be32(w, p->dst);
	switch (p->type) {
	case UDT_CTRL_HANDSHAKE:
		buf_w_be32(w, p->u.hs.version);
		buf_w_be32(w, p->u.hs.sock_type);
		buf_w_be32(w, p->u.hs.init_seq);
		buf_w_be32(w, p->u.hs.mss);
		buf_w_be32(w, p->u.hs.flow_win);
		buf_w_be32(w, (uint32_t)p->u.hs.req_type);
		buf_w_be32(w, p->u.hs.sock_id);
		buf_w_be32(w, p->u.hs.cookie);
		buf_w_bytes(w, p->u.hs.peer_ip, sizeof(p->u.hs.peer_ip));
		break;
	case UDT_CTRL_ACK:
		buf_w_be32(w, p->u.ack.seq);
		if (p->u.ack.nfields >= 4) {
			buf_w_be32(w, p->u.ack.rtt);
			buf_w_be32(w, p->u.ack.rtt_var);
			buf_w_be32(w, p->u.ack.avail);
		}
		if (p->u.ack.nfields >= 5)
			buf_w_be32(w, p->u.ack.rate);
		if (p->u.ack.nfields >= 6)
			buf_w_be32(w, p->u.ack.cap);
		break;
	case UDT_CTRL_NAK:
		if (p->u.nak.n > 0 && p->u.nak.raw == NULL) {
			w->err = 1;
			break;
		}
		for (i = 0; (size_t)i < p->u.nak.n; i++)
			buf_w_be32(w, buf_be32(p->u.nak.raw + 4 * i));
		break;
	case UDT_CTRL_DROPREQ:
		buf_w_be32(w, p->u.drop.first);
		buf_w_be32(w, p->u.drop.last);
		/* bytes after the two numbers are kept, as for unparsed types */
		if (p->body != NULL && p->body_len > 8)
			buf_w_bytes(w, p->body + 8, p->body_len - 8);
		break;
	default:
		if (p->body_len > 0 && p->body == NULL)
			w->err = 1;
		else
			buf_w_bytes(w, p->body, p->body_len);
		break;
	}
}

int
udt_pkt_encode(uint8_t *out, size_t cap, size_t *len, const struct udt_pkt *p)
{
	struct buf_w w;

	if (out == NULL || len == NULL || p == NULL)
		return UDT_ERR_ARG;
	if (p->is_ctrl && p->type == UDT_CTRL_ACK && p->u.ack.nfields != 1 &&
	    (p->u.ack.nfields < 4 || p->u.ack.nfields > 6))
		return UDT_ERR_ARG;
	buf_w_init(&w, out, cap);
	if (p->is_ctrl) {
		encode_ctrl(&w, p);
	} else {
		if (p->data_len > 0 && p->data == NULL)
			return UDT_ERR_ARG;
		buf_w_be32(&w, p->seq & UDT_SEQ_MASK);
		buf_w_be32(&w, p->msg);
		buf_w_be32(&w, p->ts);
		buf_w_be32(&w, p->dst);
		buf_w_bytes(&w, p->data, p->data_len);
	}
	if (w.err)
		return UDT_ERR_BUF;
	if (w.off > UDT_PKT_MAX)
		return UDT_ERR_TOO_LONG;
	*len = w.off;
	return UDT_OK;
}
