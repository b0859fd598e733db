/*
 * fuzz_udt_hs.c — libFuzzer target for the UDT handshake and the way into the
 * data phase (docs/protocol.md §9.5), through the connection's injected
 * environment (struct udt_env: clock, output, randomness).
 *
 * One of our clients (the provider) and one of our listeners (the requester)
 * run side by side.  The input is a program: each operation forges a
 * handshake for either side from a template (any request type, any field
 * replaced), sends raw bytes or a control/data packet, advances the clock
 * and ticks, writes or reads, closes, or relays what the two sent each other
 * (some of it lost), so forged packets mix with a real handshake.
 *
 * Properties (abort on violation):
 *  1. Nothing but handshakes leaves an endpoint that is not connected, and
 *     nothing else ever goes to socket 0 or to a socket other than the
 *     peer's (the send hook).
 *  2. A client becomes connected only on a step 4 (version 4, stream, sent
 *     to its socket, its X, a server socket ID ≠ 0) after it had sent step
 *     3; a listener only on a step 3 to socket 0 naming a (socket ID, X)
 *     it had answered with step 2.  The peer socket and X are the packet's.
 *  3. Right after the handshake the flow window is at most UDT_FLOW_WIN;
 *     always at most UDT_SLOTS - 2; loss lists and buffers stay bounded; a
 *     connection never goes back to connecting or listening.
 *
 * The netd sources come in through udt_fz_alloc.h (and why it allocates).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udt_fz_alloc.h"
#include "../unit/udt_forge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define QMAX		64	/* packets held per direction for OP_RELAY */
#define ANSWERED_MAX	256	/* step 2s seen leaving the listener */
#define OTHER_CLIENT	0x0d0d0d0dU
#define GUESSED_SERVER	0x5e5e5e5eU

struct qp {
	uint16_t	len;
	uint8_t		b[UDT_PKT_MAX];
};

struct ep {
	struct udt_conn	*c;
	int		 is_client;
	struct qp	 q[QMAX];	/* sent, not yet relayed */
	unsigned	 qn;
	int		 sent_step3;	/* client: a step 3 left */
	struct {
		uint32_t sock, x;
	}		 answered[ANSWERED_MAX];	/* listener: step 2s sent */
	unsigned	 nanswered;
	uint64_t	 rng;
};

static uint64_t fnow;
static struct ep *cl, *sv;

struct in {
	const uint8_t	*p;
	size_t		 n;
};

static uint8_t
g8(struct in *in)
{
	uint8_t v;

	if (in->n == 0)
		return 0;
	v = *in->p++;
	in->n--;
	return v;
}

static uint32_t
g32(struct in *in)
{
	uint32_t v = g8(in);

	v = v << 8 | g8(in);
	v = v << 8 | g8(in);
	return v << 8 | g8(in);
}

static uint64_t
f_now(void *ctx)
{
	(void)ctx;
	return fnow;
}

static void
f_rand(void *ctx, void *out, size_t n)
{
	struct ep *e = ctx;
	uint8_t *o = out;
	size_t i;

	for (i = 0; i < n; i++) {
		e->rng = e->rng * 6364136223846793005ULL + 1442695040888963407ULL;
		o[i] = (uint8_t)(e->rng >> 56);
	}
}

static int
is_conn(enum udt_state st)
{
	return st == UDT_ST_CONNECTED || st == UDT_ST_CLOSING;
}

/* Property 1, and what the harness must know of the handshake. */
static int
f_send(void *ctx, const uint8_t *p, size_t len)
{
	struct ep *e = ctx;
	struct udt_pkt k;

	if (len < 4 || len > UDT_PKT_MAX || udt_pkt_decode(p, len, &k) != UDT_OK)
		abort();
	if (k.is_ctrl && k.type == UDT_CTRL_HANDSHAKE) {
		if (e->is_client && k.u.hs.req_type == UDT_HS_RESPONSE)
			e->sent_step3 = 1;
		if (!e->is_client && k.u.hs.req_type == UDT_HS_REQUEST) {
			e->answered[e->nanswered % ANSWERED_MAX].sock = k.dst;
			e->answered[e->nanswered % ANSWERED_MAX].x = k.u.hs.init_seq;
			e->nanswered++;
		}
	} else if (!is_conn(udt_state(e->c)) || k.dst == 0 ||
	    k.dst != udt_peer_sock_id(e->c))
		abort();
	if (e->qn < QMAX) {
		e->q[e->qn].len = (uint16_t)len;
		memcpy(e->q[e->qn].b, p, len);
		e->qn++;
	}
	return 0;
}

static int
was_answered(const struct ep *e, uint32_t sock, uint32_t x)
{
	unsigned i, n = e->nanswered < ANSWERED_MAX ? e->nanswered : ANSWERED_MAX;

	for (i = 0; i < n; i++)
		if (e->answered[i].sock == sock && e->answered[i].x == x)
			return 1;
	return 0;
}

static void
check_bounds(const struct ep *e)
{
	struct udt_stats st;

	udt_get_stats(e->c, &st);
	if (st.flow_win > UDT_SLOTS - 2 || st.snd_loss > UDT_SLOTS ||
	    st.rcv_loss > UDT_SLOTS || udt_readable(e->c) > UDT_RCVBUF_BYTES)
		abort();
}

/* Property 2 and 3 around one input. */
static void
feed(struct ep *e, const uint8_t *p, size_t len)
{
	enum udt_state before = udt_state(e->c), after;
	int step3_before = e->sent_step3;
	struct udt_stats st;
	struct udt_pkt k;

	udt_input(e->c, p, len);
	after = udt_state(e->c);
	if (is_conn(before) && (after == UDT_ST_LISTEN || after == UDT_ST_CONNECTING))
		abort();
	if (is_conn(before) || !is_conn(after))
		return;
	/* it just connected: only a proper handshake step may do that */
	if (udt_pkt_decode(p, len, &k) != UDT_OK || !k.is_ctrl ||
	    k.type != UDT_CTRL_HANDSHAKE || k.u.hs.version != UDT_VERSION ||
	    k.u.hs.sock_type != UDT_SOCK_STREAM ||
	    k.u.hs.req_type != UDT_HS_RESPONSE || k.u.hs.sock_id == 0 ||
	    udt_peer_sock_id(e->c) != k.u.hs.sock_id)
		abort();
	if (e->is_client) {
		if (!step3_before || k.dst != udt_sock_id(e->c) ||
		    k.u.hs.init_seq != udt_init_seq(e->c))
			abort();
	} else if (k.dst != 0 || !was_answered(e, k.u.hs.sock_id, k.u.hs.init_seq) ||
	    udt_init_seq(e->c) != k.u.hs.init_seq)
		abort();
	udt_get_stats(e->c, &st);
	if (st.flow_win > UDT_FLOW_WIN || st.flow_win < 2)
		abort();
}

/* A handshake from a template: every field may be replaced by the input. */
static void
op_hs(struct in *in, struct ep *to)
{
	static const int32_t reqs[] = { UDT_HS_REQUEST, UDT_HS_RESPONSE,
	    UDT_HS_RESPONSE2, UDT_HS_RENDEZVOUS, UDT_HS_REFUSED };
	uint8_t b[UDT_HS_SIZE], m = g8(in), bits = g8(in);
	uint32_t dst, ver, type, x, sock, flow;
	int32_t req;

	req = m % 6 < 5 ? reqs[m % 6] : (int32_t)g32(in);
	ver = bits & 0x02 ? g32(in) % 8 : UDT_VERSION;
	type = bits & 0x04 ? g32(in) % 4 : UDT_SOCK_STREAM;
	x = bits & 0x08 ? g32(in) : udt_init_seq(cl->c);
	flow = bits & 0x40 ? g32(in) : UDT_FLOW_WIN;
	if (to->is_client) {
		dst = bits & 0x01 ? g32(in) : udt_sock_id(cl->c);
		sock = bits & 0x10 ? g32(in) : bits & 0x20 ? 0 : GUESSED_SERVER;
	} else {
		dst = bits & 0x01 ? g32(in) : 0;
		sock = bits & 0x10 ? g32(in) : bits & 0x20 ? OTHER_CLIENT :
		    udt_sock_id(cl->c);
	}
	if (bits & 0x80)	/* the listener's own socket, once it has one */
		dst = udt_sock_id(to->c);
	feed(to, b, udt_forge_hs(b, dst, ver, type, x, flow, req, sock));
}

/* A data or control packet near the connection's sequence numbers. */
static void
op_pkt(struct in *in, struct ep *to)
{
	static const uint16_t types[] = { UDT_CTRL_KEEPALIVE, UDT_CTRL_ACK,
	    UDT_CTRL_NAK, UDT_CTRL_CONGESTION, UDT_CTRL_SHUTDOWN, UDT_CTRL_ACK2,
	    UDT_CTRL_DROPREQ, UDT_CTRL_ERROR, UDT_CTRL_USERDEF };
	uint8_t b[UDT_PKT_MAX], k = g8(in), how = g8(in);
	uint32_t dst, seq;
	size_t len;

	dst = how & 1 ? 0 : how & 2 ? g32(in) : udt_sock_id(to->c);
	seq = udt_seq_add(udt_init_seq(to->c), (int8_t)g8(in));
	memset(b, 0, sizeof(b));
	if (k % 10 == 9) {		/* data */
		len = UDT_HDR_SIZE + g8(in) * 4U;
		buf_put_be32(b, seq);
		buf_put_be32(b + 4, UDT_DATA_STREAM_BITS);
	} else {
		buf_put_be32(b, 0x80000000U | (uint32_t)types[k % 10 % 9] << 16);
		buf_put_be32(b + 4, g8(in));
		len = UDT_HDR_SIZE;
		if (types[k % 10 % 9] == UDT_CTRL_ACK) {
			buf_put_be32(b + 16, seq);
			buf_put_be32(b + 28, g32(in));
			len = UDT_ACK_SIZE;
		} else if (types[k % 10 % 9] == UDT_CTRL_NAK) {
			buf_put_be32(b + 16, seq | (how & 4 ? 0x80000000U : 0));
			buf_put_be32(b + 20, udt_seq_add(seq, g8(in) % 8));
			len = UDT_HDR_SIZE + 8;
		} else if (types[k % 10 % 9] == UDT_CTRL_DROPREQ)
			len = UDT_DROPREQ_SIZE;
	}
	buf_put_be32(b + 12, dst);
	feed(to, b, len);
}

static void
op_raw(struct in *in, struct ep *to)
{
	uint8_t b[UDT_PKT_MAX + 8];
	size_t len = (size_t)(g8(in) << 8 | g8(in)) % sizeof(b), i;

	for (i = 0; i < len; i++)
		b[i] = g8(in);
	feed(to, b, len);
}

/* What one side sent reaches the other, some of it lost. */
static void
op_relay(struct in *in)
{
	struct qp q;
	uint8_t lose = g8(in);
	struct ep *from, *to;
	int side, i;

	for (side = 0; side < 2; side++) {
		from = side ? sv : cl;
		to = side ? cl : sv;
		for (i = 0; from->qn > 0; i++) {
			q = from->q[0];
			memmove(from->q, from->q + 1, (from->qn - 1) * sizeof(q));
			from->qn--;
			if (i < 8 && (lose >> i & 1))
				continue;
			feed(to, q.b, q.len);
		}
	}
}

static void
op_app(struct in *in)
{
	static const uint8_t junk[4096];
	static uint8_t sink[4096];
	uint8_t k = g8(in);
	size_t n = (size_t)g8(in) * 16;

	switch (k % 4) {
	case 0:
		udt_write(cl->c, junk, n);
		break;
	case 1:
		udt_write(sv->c, junk, n);
		break;
	case 2:
		udt_read(sv->c, sink, n);
		break;
	default:
		udt_read(cl->c, sink, n);
		break;
	}
}

static void
op_time(struct in *in)
{
	uint8_t k = g8(in);

	fnow += k & 0x80 ? (uint64_t)(k & 0x7f) * 50000 : (uint64_t)k * 10;
	udt_tick(cl->c);
	udt_tick(sv->c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct udt_env proto = { f_now, f_send, f_rand, NULL };
	struct udt_env env = proto;
	struct in in = { data, size };
	uint8_t op;

	fnow = 1000000;
	cl = calloc(1, sizeof(*cl));
	sv = calloc(1, sizeof(*sv));
	if (cl == NULL || sv == NULL)
		abort();
	cl->is_client = 1;
	cl->rng = 0xc11e47;
	sv->rng = 0x5e77e7;
	env.ctx = cl;
	cl->c = udt_conn_new(&env);
	env.ctx = sv;
	sv->c = udt_conn_new(&env);
	if (cl->c == NULL || sv->c == NULL)
		abort();
	udt_listen(sv->c);
	udt_connect(cl->c);
	while (in.n > 0) {
		op = g8(&in);
		switch (op % 10) {
		case 0:
			op_hs(&in, cl);
			break;
		case 1:
			op_hs(&in, sv);
			break;
		case 2:
			op_pkt(&in, op & 0x80 ? cl : sv);
			break;
		case 3:
			op_raw(&in, op & 0x80 ? cl : sv);
			break;
		case 4:
		case 5:
			op_relay(&in);
			break;
		case 6:
			op_time(&in);
			break;
		case 7:
			op_app(&in);
			break;
		case 8:
			if (op & 0x80)
				udt_abort(op & 0x40 ? cl->c : sv->c);
			else
				udt_close(op & 0x40 ? cl->c : sv->c);
			break;
		default:	/* a lost packet: forget the oldest queued */
			if ((op & 0x80 ? cl : sv)->qn > 0) {
				struct ep *e = op & 0x80 ? cl : sv;

				memmove(e->q, e->q + 1, (e->qn - 1) * sizeof(e->q[0]));
				e->qn--;
			}
			break;
		}
		check_bounds(cl);
		check_bounds(sv);
	}
	udt_conn_free(cl->c);
	udt_conn_free(sv->c);
	free(cl);
	free(sv);
	return 0;
}
