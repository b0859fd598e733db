/*
 * test_udt_hs.c — the UDT handshake as a state machine (docs/protocol.md
 * §9.5): every sequence of up to HS_DEPTH (4) packets from an alphabet of good,
 * forged, out-of-order and malformed handshakes (and data and ACKs sent too
 * early) is fed to a fresh client and a fresh listener, and after each packet
 * the endpoint's state, return code and output are compared with a model of
 * the rule written from the protocol notes, not from udt.c:
 *
 *  client: connected only by a step 4 (X matches, server socket ID ≠ 0)
 *          that comes after a valid step 2, which the client answered with
 *          step 3; a refusal while connecting ends the dial;
 *  listener: a step 1 (client socket ID ≠ 0, 31-bit X) is answered with
 *          step 2 and remembered; connected only by a step 3 for a
 *          remembered (socket ID, X); a duplicate step 3 of that pair is
 *          answered with step 4 again;
 *  both:   no data and no control packet other than handshakes before the
 *          connection, never one to socket 0; the flow window after the
 *          handshake is at most ours (64), whatever the peer claims.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "t.h"
#include "udt.h"
#include "udt_forge.h"

/*
 * Sequences of up to 4 packets: 53 560 fresh connections, 2 s.  Under ASan
 * (make check-san) every 4 MB connection is zeroed page by page and that
 * takes 10 min: there, up to 3 (4 290), which still holds every handshake
 * with one forged or early packet before, between or after its steps.
 */
#if defined(__SANITIZE_ADDRESS__)
#define HS_DEPTH	3
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HS_DEPTH	3
#endif
#endif
#ifndef HS_DEPTH
#define HS_DEPTH	4
#endif
#define C_ID		0x0c0c0c0cU	/* the client's socket ID */
#define C2_ID		0x0d0d0d0dU	/* another client's */
#define S_ID		0x5e5e5e5eU	/* the listener's new socket */
#define X_SEQ		0x12345678U	/* the client's initial sequence */
#define APP_BYTES	5000		/* written by the client before the handshake */

/* ---- the environment: fake clock, fixed randomness, a log of output ---- */

struct out {
	int	hs_req, hs_resp, data, other;	/* packets sent, by kind */
	int	bad;		/* packets that must never be sent */
	int	connected;	/* the model's verdict, for the send hook */
	uint32_t peer;		/* where data may go once connected */
	uint32_t last_resp_flow;	/* flow window of the last step 3/4 sent */
};

static uint64_t hs_now = 5000000;
static const uint8_t app_data[APP_BYTES];
static const uint32_t *rnd_vals;
static size_t rnd_n, rnd_i;

static uint64_t
hs_env_now(void *ctx)
{
	(void)ctx;
	return hs_now;
}

static void
hs_env_random(void *ctx, void *out, size_t n)
{
	uint8_t b[4];
	size_t i;

	(void)ctx;
	buf_put_be32(b, rnd_i < rnd_n ? rnd_vals[rnd_i] : 0x11111111U);
	rnd_i++;
	for (i = 0; i < n; i++)
		((uint8_t *)out)[i] = b[i % 4];
}

static int
hs_env_send(void *ctx, const uint8_t *p, size_t len)
{
	struct out *o = ctx;
	struct udt_pkt k;

	if (udt_pkt_decode(p, len, &k) != UDT_OK) {
		o->bad++;
		return 0;
	}
	if (k.is_ctrl && k.type == UDT_CTRL_HANDSHAKE) {
		if (k.u.hs.req_type == UDT_HS_REQUEST)
			o->hs_req++;
		else {
			o->hs_resp++;
			o->last_resp_flow = k.u.hs.flow_win;
		}
		return 0;
	}
	/* anything else: only once connected, only to the peer's socket */
	if (!o->connected || k.dst == 0 || k.dst != o->peer)
		o->bad++;
	if (k.is_ctrl)
		o->other++;
	else
		o->data++;
	return 0;
}

static struct udt_conn *
hs_conn(struct out *o, const uint32_t *vals, size_t n)
{
	struct udt_env env = { hs_env_now, hs_env_send, hs_env_random, o };

	memset(o, 0, sizeof(*o));
	rnd_vals = vals;
	rnd_n = n;
	rnd_i = 0;
	return udt_conn_new(&env);
}

static size_t
put_data(uint8_t *b, uint32_t dst, uint32_t seq)
{
	memset(b, 0xab, 116);
	buf_put_be32(b, seq);
	buf_put_be32(b + 4, UDT_DATA_STREAM_BITS);
	buf_put_be32(b + 8, 0);
	buf_put_be32(b + 12, dst);
	return 116;
}

static size_t
put_ack(uint8_t *b, uint32_t dst, uint32_t seq, uint32_t avail)
{
	memset(b, 0, UDT_ACK_SIZE);
	buf_put_be32(b, 0x80000000U | (uint32_t)UDT_CTRL_ACK << 16);
	buf_put_be32(b + 4, 1);
	buf_put_be32(b + 12, dst);
	buf_put_be32(b + 16, seq);
	buf_put_be32(b + 28, avail);
	return UDT_ACK_SIZE;
}

/*
 * A packet of a side's alphabet, as data: a handshake's fields, or a data
 * packet (seq x) or an ACK (seq x, flow: the window it offers) to dst.
 */
enum sym_kind { SYM_HS, SYM_DATA, SYM_ACK };

struct hs_sym {
	const char	*name;
	enum sym_kind	 kind;
	uint32_t	 dst, version, sock_type, x, flow;
	int32_t		 req;
	uint32_t	 sock;
};

static size_t
sym_packet(const struct hs_sym *s, uint8_t *b)
{
	switch (s->kind) {
	case SYM_DATA:
		return put_data(b, s->dst, s->x);
	case SYM_ACK:
		return put_ack(b, s->dst, s->x, s->flow);
	default:
		return udt_forge_hs(b, s->dst, s->version, s->sock_type, s->x, s->flow,
		    s->req, s->sock);
	}
}

/*
 * What both models track: the state, the error that ended it, the peer's
 * socket, the handshakes the endpoint must have sent (requests: a client's
 * step 1, a listener's step 2; responses: steps 3 and 4), and whether the
 * one data packet of the alphabet arrived.  The rest is per side.
 */
struct hs_model {
	enum udt_state	st;
	int		err;
	uint32_t	peer;
	int		nreq, nresp;
	int		got_data;
	int		step3;		/* client: a step 3 sent */
	int		seen_c, seen_c2;	/* listener: step 1 answered, per client */
};

/* The data packet, on either side: only once connected, only once. */
static int
model_data(struct hs_model *m)
{
	if (m->st != UDT_ST_CONNECTED)
		return UDT_ERR_DROP_STATE;
	if (m->got_data)
		return UDT_ERR_DROP_DUP;
	m->got_data = 1;
	return UDT_OK;
}

/* ---- the client (provider) ---- */

enum cl_sym {
	CL_S2,		/* step 2 as the reference sends it */
	CL_S4,		/* step 4 as the reference sends it */
	CL_S4_ATTACK,	/* step 4, socket ID 0, flow window 0xffffffff */
	CL_S4_BADX,	/* step 4 for another initial sequence */
	CL_S2_BADX,
	CL_S4_DST,	/* step 4 to another socket */
	CL_S2_VER,	/* step 2, UDT version 5 */
	CL_S4_DGRAM,	/* step 4, datagram socket */
	CL_S4_REQ2,	/* request type -2 */
	CL_S4_BIGFLOW,	/* a good step 4 claiming a flow window of 2^32-1 */
	CL_DATA,	/* data before/after the handshake */
	CL_ACK,		/* an ACK before/after the handshake */
	CL_REFUSED,	/* request type 1002 */
	CL_NSYM
};

static const struct hs_sym cl_syms[CL_NSYM] = {
	[CL_S2] =	{ "S2", SYM_HS, C_ID, 4, 1, X_SEQ, 0, UDT_HS_REQUEST, 0 },
	[CL_S4] =	{ "S4", SYM_HS, C_ID, 4, 1, X_SEQ, 64, UDT_HS_RESPONSE, S_ID },
	[CL_S4_ATTACK] = { "S4_ATTACK", SYM_HS, C_ID, 4, 1, X_SEQ, 0xffffffffU,
			    UDT_HS_RESPONSE, 0 },
	[CL_S4_BADX] =	{ "S4_BADX", SYM_HS, C_ID, 4, 1, X_SEQ + 1, 64, UDT_HS_RESPONSE,
			    S_ID },
	[CL_S2_BADX] =	{ "S2_BADX", SYM_HS, C_ID, 4, 1, X_SEQ + 1, 0, UDT_HS_REQUEST, 0 },
	[CL_S4_DST] =	{ "S4_DST", SYM_HS, C_ID + 1, 4, 1, X_SEQ, 64, UDT_HS_RESPONSE,
			    S_ID },
	[CL_S2_VER] =	{ "S2_VER", SYM_HS, C_ID, 5, 1, X_SEQ, 0, UDT_HS_REQUEST, 0 },
	[CL_S4_DGRAM] =	{ "S4_DGRAM", SYM_HS, C_ID, 4, 2, X_SEQ, 64, UDT_HS_RESPONSE,
			    S_ID },
	[CL_S4_REQ2] =	{ "S4_REQ2", SYM_HS, C_ID, 4, 1, X_SEQ, 64, UDT_HS_RESPONSE2,
			    S_ID },
	[CL_S4_BIGFLOW] = { "S4_BIGFLOW", SYM_HS, C_ID, 4, 1, X_SEQ, 0xffffffffU,
			    UDT_HS_RESPONSE, S_ID },
	[CL_DATA] =	{ "DATA", SYM_DATA, C_ID, 0, 0, X_SEQ, 0, 0, 0 },
	[CL_ACK] =	{ "ACK", SYM_ACK, C_ID, 0, 0, X_SEQ, 64, 0, 0 },
	[CL_REFUSED] =	{ "REFUSED", SYM_HS, C_ID, 4, 1, 0, 0, UDT_HS_REFUSED, 0 },
};

/* The expected return code of one packet, and the model's next state. */
static int
cl_step(struct hs_model *m, int s)
{
	int hs_good4 = s == CL_S4 || s == CL_S4_BIGFLOW;

	if (m->st == UDT_ST_ERROR)
		return UDT_ERR_DROP_STATE;
	switch (s) {
	case CL_S2_VER:
	case CL_S4_DGRAM:
		return UDT_ERR_DROP_HS;		/* malformed, whatever the state */
	case CL_S4_DST:
		return UDT_ERR_DROP_SOCKET;
	case CL_DATA:
		return model_data(m);
	case CL_ACK:
		return m->st == UDT_ST_CONNECTED ? UDT_OK : UDT_ERR_DROP_STATE;
	default:
		break;
	}
	if (m->st != UDT_ST_CONNECTING)
		return UDT_ERR_DROP_HS;		/* handshakes are over */
	if (s == CL_REFUSED) {
		m->st = UDT_ST_ERROR;
		m->err = UDT_ERR_REFUSED;
		return UDT_OK;
	}
	if (s == CL_S2_BADX || s == CL_S4_BADX || s == CL_S4_REQ2)
		return UDT_ERR_DROP_HS;
	if (s == CL_S2) {
		m->step3 = 1;
		m->nresp++;
		return UDT_OK;
	}
	/* a step 4 */
	if (!m->step3)
		return UDT_ERR_DROP_HS_ORDER;
	if (!hs_good4)
		return UDT_ERR_DROP_HS;		/* socket ID 0 */
	m->st = UDT_ST_CONNECTED;
	return UDT_OK;
}

/* The client dials, and the provider writes at once (xfer.c does): it must wait. */
static int
cl_start(struct udt_conn *c, const struct out *o)
{
	if (udt_connect(c) != UDT_OK || o->hs_req != 1)
		return -1;
	return udt_write(c, app_data, APP_BYTES) == APP_BYTES ? 0 : -1;
}

/* What the client sent of the application's bytes: all waits for the connection. */
static int
cl_check(struct udt_conn *c, const struct hs_model *m, const struct out *o, int i,
    char *why, size_t cap)
{
	(void)c;
	if ((m->st == UDT_ST_CONNECTED) != (o->data > 0)) {
		snprintf(why, cap, "packet %d: %d data packets sent, connected %d", i,
		    o->data, m->st == UDT_ST_CONNECTED);
		return -1;
	}
	return 0;
}

/* ---- the listener (requester) ---- */

enum sv_sym {
	SV_C1,		/* step 1 as the reference sends it */
	SV_C3,		/* step 3 as the reference sends it */
	SV_C1_OTHER,	/* step 1 of another client socket */
	SV_C3_OTHER,	/* step 3 of that other socket */
	SV_C3_BADX,	/* step 3 with another initial sequence */
	SV_C3_SOCK0,	/* step 3 naming socket 0 */
	SV_C1_SOCK0,
	SV_C1_X32,	/* step 1 with bit 31 of X set */
	SV_C3_BIGFLOW,	/* a good step 3 claiming a flow window of 2^32-1 */
	SV_C3_DGRAM,
	SV_C3_VER,
	SV_DATA,	/* data to the socket the listener will have */
	SV_NSYM
};

static const struct hs_sym sv_syms[SV_NSYM] = {
	[SV_C1] =	{ "C1", SYM_HS, 0, 4, 1, X_SEQ, 64, UDT_HS_REQUEST, C_ID },
	[SV_C3] =	{ "C3", SYM_HS, 0, 4, 1, X_SEQ, 64, UDT_HS_RESPONSE, C_ID },
	[SV_C1_OTHER] =	{ "C1_OTHER", SYM_HS, 0, 4, 1, X_SEQ, 64, UDT_HS_REQUEST, C2_ID },
	[SV_C3_OTHER] =	{ "C3_OTHER", SYM_HS, 0, 4, 1, X_SEQ, 64, UDT_HS_RESPONSE, C2_ID },
	[SV_C3_BADX] =	{ "C3_BADX", SYM_HS, 0, 4, 1, X_SEQ + 1, 64, UDT_HS_RESPONSE,
			    C_ID },
	[SV_C3_SOCK0] =	{ "C3_SOCK0", SYM_HS, 0, 4, 1, X_SEQ, 64, UDT_HS_RESPONSE, 0 },
	[SV_C1_SOCK0] =	{ "C1_SOCK0", SYM_HS, 0, 4, 1, X_SEQ, 64, UDT_HS_REQUEST, 0 },
	[SV_C1_X32] =	{ "C1_X32", SYM_HS, 0, 4, 1, X_SEQ | 0x80000000U, 64,
			    UDT_HS_REQUEST, C_ID },
	[SV_C3_BIGFLOW] = { "C3_BIGFLOW", SYM_HS, 0, 4, 1, X_SEQ, 0xffffffffU,
			    UDT_HS_RESPONSE, C_ID },
	[SV_C3_DGRAM] =	{ "C3_DGRAM", SYM_HS, 0, 4, 2, X_SEQ, 64, UDT_HS_RESPONSE, C_ID },
	[SV_C3_VER] =	{ "C3_VER", SYM_HS, 0, 3, 1, X_SEQ, 64, UDT_HS_RESPONSE, C_ID },
	[SV_DATA] =	{ "DATA", SYM_DATA, S_ID, 0, 0, X_SEQ, 0, 0, 0 },
};

static int
sv_step(struct hs_model *m, int s)
{
	uint32_t who;
	int seen;

	switch (s) {
	case SV_C3_DGRAM:
	case SV_C3_VER:
	case SV_C1_SOCK0:
	case SV_C3_SOCK0:
	case SV_C1_X32:
		return UDT_ERR_DROP_HS;
	case SV_DATA:
		return model_data(m);
	case SV_C1:
	case SV_C1_OTHER:
		/* answered in every state; remembered while listening */
		if (m->st == UDT_ST_LISTEN) {
			if (s == SV_C1)
				m->seen_c = 1;
			else
				m->seen_c2 = 1;
		}
		m->nreq++;
		return UDT_OK;
	default:
		break;
	}
	/* a step 3 */
	who = s == SV_C3_OTHER ? C2_ID : C_ID;
	seen = s == SV_C3_OTHER ? m->seen_c2 : m->seen_c;
	if (m->st == UDT_ST_LISTEN) {
		if (s == SV_C3_BADX || !seen)
			return UDT_ERR_DROP_HS_ORDER;
		m->st = UDT_ST_CONNECTED;
		m->peer = who;
		m->nresp++;
		return UDT_OK;
	}
	/* connected: a duplicate of the step 3 that connected gets step 4 */
	if (s == SV_C3_BADX || who != m->peer)
		return UDT_ERR_DROP_HS;
	m->nresp++;
	return UDT_OK;
}

static int
sv_start(struct udt_conn *c, const struct out *o)
{
	(void)o;
	return udt_listen(c) == UDT_OK ? 0 : -1;
}

/* The listener's connection is accepted once connected; the data is readable. */
static int
sv_check(struct udt_conn *c, const struct hs_model *m, const struct out *o, int i,
    char *why, size_t cap)
{
	(void)o;
	if ((udt_accept(c) == UDT_OK) != (m->st == UDT_ST_CONNECTED)) {
		snprintf(why, cap, "packet %d: accept %d, model state %d", i,
		    udt_accept(c), m->st);
		return -1;
	}
	if (udt_readable(c) != (m->got_data ? 100U : 0U)) {
		snprintf(why, cap, "packet %d: %zu bytes readable", i, udt_readable(c));
		return -1;
	}
	return 0;
}

/* ---- one run of either side against its model ---- */

struct hs_side {
	const char		*name;
	const struct hs_sym	*syms;
	int			 nsym;
	const uint32_t		*vals;		/* its randomness: socket ID (, X) */
	size_t			 nvals;
	uint32_t		 sock;		/* its socket ID: vals[0] */
	struct hs_model		 init;
	int	(*start)(struct udt_conn *, const struct out *);
	int	(*step)(struct hs_model *, int);
	int	(*check)(struct udt_conn *, const struct hs_model *, const struct out *,
		    int, char *, size_t);
};

static const uint32_t cl_vals[] = { C_ID, X_SEQ }, sv_vals[] = { S_ID };

static const struct hs_side cl_side = {
	"client", cl_syms, CL_NSYM, cl_vals, 2, C_ID,
	{ .st = UDT_ST_CONNECTING, .peer = S_ID, .nreq = 1 },
	cl_start, cl_step, cl_check
};

static const struct hs_side sv_side = {
	"listener", sv_syms, SV_NSYM, sv_vals, 1, S_ID,
	{ .st = UDT_ST_LISTEN },
	sv_start, sv_step, sv_check
};

static void
seq_name(char *buf, size_t cap, const int *seq, int n, const struct hs_sym *syms)
{
	size_t off = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < n && off < cap; i++)
		off += (size_t)snprintf(buf + off, cap - off, "%s%s", i ? "," : "",
		    syms[seq[i]].name);
}

/*
 * What both sides must show after each packet: the model's return code,
 * state and error; the handshakes it sent and nothing forbidden; once
 * connected, the peer's socket, its own, X, and a flow window of at most
 * ours (64) whatever the peer claimed, in its state and in the step 3/4 it
 * sent.  0, or -1 with why.
 */
static int
side_check(const struct hs_side *sd, struct udt_conn *c, const struct hs_model *m,
    const struct out *o, int i, int rc, int want, char *why, size_t cap)
{
	struct udt_stats st;

	if (rc != want) {
		snprintf(why, cap, "packet %d: rc %d (%s), model %d", i, rc,
		    udt_strerror(rc), want);
		return -1;
	}
	if (udt_state(c) != m->st || udt_error(c) != m->err) {
		snprintf(why, cap, "packet %d: state %d err %d, model %d %d", i,
		    udt_state(c), udt_error(c), m->st, m->err);
		return -1;
	}
	if (o->hs_req != m->nreq || o->hs_resp != m->nresp || o->bad != 0) {
		snprintf(why, cap, "packet %d: sent %d requests (model %d), %d "
		    "responses (model %d), %d forbidden", i, o->hs_req, m->nreq,
		    o->hs_resp, m->nresp, o->bad);
		return -1;
	}
	if (m->st == UDT_ST_CONNECTED) {
		udt_get_stats(c, &st);
		if (udt_peer_sock_id(c) != m->peer || udt_sock_id(c) != sd->sock ||
		    udt_init_seq(c) != X_SEQ || st.flow_win != UDT_FLOW_WIN ||
		    o->last_resp_flow != UDT_FLOW_WIN) {
			snprintf(why, cap, "packet %d: peer %08x sock %08x isn %08x "
			    "flow %u, sent %u", i, udt_peer_sock_id(c), udt_sock_id(c),
			    udt_init_seq(c), st.flow_win, o->last_resp_flow);
			return -1;
		}
	}
	return sd->check(c, m, o, i, why, cap);
}

/* One sequence on a fresh endpoint of side sd: 0 if all matched the model, else -1. */
static int
side_run(const struct hs_side *sd, const int *seq, int n, char *why, size_t cap)
{
	struct hs_model m = sd->init;
	struct udt_conn *c;
	struct out o;
	uint8_t b[UDT_PKT_MAX];
	char name[256];
	int i, rc, want, ok = 0;
	size_t len;

	c = hs_conn(&o, sd->vals, sd->nvals);
	if (c == NULL || sd->start(c, &o) != 0)
		goto end;
	for (i = 0; i < n; i++) {
		len = sym_packet(&sd->syms[seq[i]], b);
		want = sd->step(&m, seq[i]);
		o.connected = m.st == UDT_ST_CONNECTED;
		o.peer = m.peer;
		rc = udt_input(c, b, len);
		if (side_check(sd, c, &m, &o, i, rc, want, why, cap) != 0)
			goto end;
	}
	ok = 1;
end:
	if (!ok) {
		seq_name(name, sizeof(name), seq, n, sd->syms);
		if (c == NULL || why[0] == '\0')
			snprintf(why, cap, "set-up failed");
		snprintf(why + strlen(why), cap - strlen(why), " [%s]", name);
	}
	udt_conn_free(c);
	return ok ? 0 : -1;
}

/* Every sequence of 1..HS_DEPTH symbols of sd's alphabet, each on a fresh endpoint. */
static void
every_sequence_test(const struct hs_side *sd)
{
	int seq[HS_DEPTH], n, i;
	char why[512];
	long count = 0;

	for (n = 1; n <= HS_DEPTH; n++) {
		memset(seq, 0, sizeof(seq));
		for (;;) {
			why[0] = '\0';
			if (side_run(sd, seq, n, why, sizeof(why)) != 0)
				T_FAIL("%s", why);
			count++;
			for (i = n - 1; i >= 0 && ++seq[i] == sd->nsym; i--)
				seq[i] = 0;
			if (i < 0)
				break;
		}
	}
	printf("# %s: %ld sequences of up to %d packets\n", sd->name, count, HS_DEPTH);
}

static void
test_client_every_short_sequence(void)
{
	every_sequence_test(&cl_side);
}

static void
test_listener_every_short_sequence(void)
{
	every_sequence_test(&sv_side);
}

/* ---- the attack of the report, and the limits, spelled out ---- */

static void
test_forged_step4_after_step1_sends_nothing(void)
{
	struct udt_conn *c;
	struct udt_stats st;
	struct out o;
	uint8_t b[UDT_PKT_MAX], app[APP_BYTES];
	uint64_t t0 = hs_now;

	memset(app, 7, sizeof(app));
	c = hs_conn(&o, cl_vals, 2);
	T_ASSERT(c != NULL);
	T_EQ_INT(udt_connect(c), UDT_OK);
	T_EQ_INT(udt_write(c, app, sizeof(app)), (ssize_t)sizeof(app));
	/* step 4 straight after our step 1: socket 0, flow window 2^32-1 */
	sym_packet(&cl_syms[CL_S4_ATTACK], b);
	T_EQ_INT(udt_input(c, b, UDT_HS_SIZE), UDT_ERR_DROP_HS_ORDER);
	/* the same with a plausible socket ID */
	sym_packet(&cl_syms[CL_S4_BIGFLOW], b);
	T_EQ_INT(udt_input(c, b, UDT_HS_SIZE), UDT_ERR_DROP_HS_ORDER);
	T_EQ_INT(udt_state(c), UDT_ST_CONNECTING);
	/* time passes: only step 1 again, never data */
	for (hs_now = t0; hs_now < t0 + 2000000; hs_now += 50000)
		udt_tick(c);
	T_EQ_INT(o.data + o.other, 0);
	T_EQ_INT(o.hs_resp, 0);
	T_ASSERT(o.hs_req > 1);
	/* after a real step 2, the attack's step 4 is still refused */
	sym_packet(&cl_syms[CL_S2], b);
	T_EQ_INT(udt_input(c, b, UDT_HS_SIZE), UDT_OK);
	T_EQ_INT(o.hs_resp, 1);
	sym_packet(&cl_syms[CL_S4_ATTACK], b);
	T_EQ_INT(udt_input(c, b, UDT_HS_SIZE), UDT_ERR_DROP_HS);
	T_EQ_INT(o.data, 0);
	/* a proper step 4 claiming 2^32-1: connected, window ours */
	o.connected = 1;
	o.peer = S_ID;
	sym_packet(&cl_syms[CL_S4_BIGFLOW], b);
	T_EQ_INT(udt_input(c, b, UDT_HS_SIZE), UDT_OK);
	T_EQ_INT(udt_state(c), UDT_ST_CONNECTED);
	udt_get_stats(c, &st);
	T_EQ_U64(st.flow_win, UDT_FLOW_WIN);
	T_ASSERT(o.data > 0 && o.data <= UDT_FLOW_WIN);
	T_EQ_INT(o.bad, 0);
	udt_conn_free(c);
	hs_now = t0 + 10000000;
}

static void
test_listener_remembers_the_last_step1s_only(void)
{
	struct udt_conn *c;
	struct out o;
	uint8_t b[UDT_HS_SIZE];
	uint32_t i;

	c = hs_conn(&o, sv_vals, 1);
	T_ASSERT(c != NULL);
	T_EQ_INT(udt_listen(c), UDT_OK);
	/* UDT_HS_SEEN + 1 dials, each with its own socket ID */
	for (i = 0; i <= UDT_HS_SEEN; i++) {
		udt_forge_hs(b, 0, 4, 1, X_SEQ + i, 64, UDT_HS_REQUEST, C_ID + i);
		T_EQ_INT(udt_input(c, b, sizeof(b)), UDT_OK);
	}
	T_EQ_INT(o.hs_req, UDT_HS_SEEN + 1);
	/* a repeated step 1 does not push the others out */
	udt_forge_hs(b, 0, 4, 1, X_SEQ + UDT_HS_SEEN, 64, UDT_HS_REQUEST,
	    C_ID + UDT_HS_SEEN);
	T_EQ_INT(udt_input(c, b, sizeof(b)), UDT_OK);
	/* the oldest is forgotten */
	udt_forge_hs(b, 0, 4, 1, X_SEQ, 64, UDT_HS_RESPONSE, C_ID);
	T_EQ_INT(udt_input(c, b, sizeof(b)), UDT_ERR_DROP_HS_ORDER);
	/* a pair must match as a whole */
	udt_forge_hs(b, 0, 4, 1, X_SEQ + 2, 64, UDT_HS_RESPONSE, C_ID + 1);
	T_EQ_INT(udt_input(c, b, sizeof(b)), UDT_ERR_DROP_HS_ORDER);
	T_EQ_INT(udt_state(c), UDT_ST_LISTEN);
	/* the second-oldest is still known */
	udt_forge_hs(b, 0, 4, 1, X_SEQ + 1, 64, UDT_HS_RESPONSE, C_ID + 1);
	T_EQ_INT(udt_input(c, b, sizeof(b)), UDT_OK);
	T_EQ_INT(udt_state(c), UDT_ST_CONNECTED);
	T_EQ_U64(udt_peer_sock_id(c), C_ID + 1);
	T_EQ_U64(udt_init_seq(c), X_SEQ + 1);
	T_EQ_INT(o.bad, 0);
	udt_conn_free(c);
}

/* Two of ours through a perfect link, step 1 and step 2 lost once each. */
static void
test_lost_steps_are_repeated_until_connected(void)
{
	struct udt_conn *cl, *srv;
	struct out oc, os;
	uint8_t b[UDT_HS_SIZE];

	cl = hs_conn(&oc, cl_vals, 2);
	T_ASSERT(cl != NULL);
	T_EQ_INT(udt_connect(cl), UDT_OK);	/* step 1: lost */
	srv = hs_conn(&os, sv_vals, 1);
	T_ASSERT(srv != NULL);
	T_EQ_INT(udt_listen(srv), UDT_OK);
	hs_now += UDT_CONNECT_RETRY_US;
	T_EQ_INT(udt_tick(cl), UDT_OK);		/* step 1 again: arrives */
	T_EQ_INT(oc.hs_req, 2);
	udt_forge_hs(b, 0, 4, 1, X_SEQ, 64, UDT_HS_REQUEST, C_ID);
	T_EQ_INT(udt_input(srv, b, sizeof(b)), UDT_OK);	/* step 2: lost */
	/* without a step 2 the client has sent no step 3 */
	T_EQ_INT(oc.hs_resp, 0);
	hs_now += UDT_CONNECT_RETRY_US;
	T_EQ_INT(udt_tick(cl), UDT_OK);
	T_EQ_INT(udt_input(srv, b, sizeof(b)), UDT_OK);	/* step 2 arrives */
	sym_packet(&cl_syms[CL_S2], b);
	T_EQ_INT(udt_input(cl, b, sizeof(b)), UDT_OK);
	T_EQ_INT(oc.hs_resp, 1);				/* step 3 */
	udt_forge_hs(b, 0, 4, 1, X_SEQ, 64, UDT_HS_RESPONSE, C_ID);
	os.connected = 1;
	os.peer = C_ID;
	T_EQ_INT(udt_input(srv, b, sizeof(b)), UDT_OK);
	T_EQ_INT(udt_accept(srv), UDT_OK);
	oc.connected = 1;
	oc.peer = S_ID;
	sym_packet(&cl_syms[CL_S4], b);
	T_EQ_INT(udt_input(cl, b, sizeof(b)), UDT_OK);	/* step 4 */
	T_EQ_INT(udt_state(cl), UDT_ST_CONNECTED);
	T_EQ_INT(oc.bad + os.bad, 0);
	udt_conn_free(cl);
	udt_conn_free(srv);
}

int
main(int argc, char **argv)
{
	t_set_suite(argv[0]);
	T_RUN(test_client_every_short_sequence);
	T_RUN(test_listener_every_short_sequence);
	T_RUN(test_forged_step4_after_step1_sends_nothing);
	T_RUN(test_listener_remembers_the_last_step1s_only);
	T_RUN(test_lost_steps_are_repeated_until_connected);
	return t_done();
}
