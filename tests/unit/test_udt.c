/*
 * test_udt.c — the UDT connection state machine (docs/protocol.md §9.5, §9.6):
 * two endpoints through an in-memory link with a fake clock (loss,
 * reordering, duplicates), the captured reference session replayed, and
 * hostile input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blake3.h"
#include "buf.h"
#include "hex.h"
#include "t.h"
#include "tvec.h"
#include "udt.h"

/* ---- the simulated world ---- */

#define QCAP	8192

struct qpkt {
	uint64_t	at;
	uint16_t	len;
	uint8_t		b[UDT_PKT_MAX];
};

struct link {
	struct qpkt	*q;
	size_t		 n;
	unsigned	 loss_pct, dup_pct;
	uint64_t	 delay, jitter;
	int		 blocked;	/* drop everything */
	uint64_t	 sent, lost;
};

struct ep {
	struct udt_conn	*c;
	struct link	*out;
	uint64_t	 rng;
	uint32_t	 fixed[4];	/* values random() returns first */
	int		 nfixed, ifixed;
	/* a copy of what this endpoint sent last, for handshake checks */
	uint8_t		 log[16][UDT_PKT_MAX];
	size_t		 loglen[16];
	int		 nlog;
};

static uint64_t fake_now = 1000000;
static uint64_t link_rng = 0x1234567887654321ULL;

static uint64_t
xs(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static uint64_t
env_now(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static void
link_push(struct link *l, const uint8_t *p, size_t len)
{
	struct qpkt *q;

	if (l->n == QCAP)
		return;		/* a full queue drops, like a router */
	q = &l->q[l->n++];
	q->at = fake_now + l->delay + (l->jitter ? xs(&link_rng) % l->jitter : 0);
	q->len = (uint16_t)len;
	memcpy(q->b, p, len);
}

static int
env_send(void *ctx, const uint8_t *p, size_t len)
{
	struct ep *e = ctx;
	struct link *l = e->out;

	if (len < 4 || len > UDT_PKT_MAX)
		abort();	/* never send what the reference chokes on (§12.3) */
	if (e->nlog < 16) {
		memcpy(e->log[e->nlog], p, len);
		e->loglen[e->nlog++] = len;
	}
	l->sent++;
	if (getenv("UDT_DEBUG")) {	/* a packet trace on stderr */
		struct udt_pkt k;

		udt_pkt_decode(p, len, &k);
		fprintf(stderr, "%llu %s dst=%u seq=%u info=%u w4=%08x\n",
		    (unsigned long long)fake_now, udt_pkt_type_name(&k), k.dst,
		    k.seq, k.info, len >= 20 ? buf_be32(p + 16) : 0);
	}
	if (l->blocked || (l->loss_pct && xs(&link_rng) % 100 < l->loss_pct)) {
		l->lost++;
		return 0;
	}
	link_push(l, p, len);
	if (l->dup_pct && xs(&link_rng) % 100 < l->dup_pct)
		link_push(l, p, len);
	return 0;
}

static void
env_random(void *ctx, void *out, size_t n)
{
	struct ep *e = ctx;
	uint8_t *o = out;
	size_t i;

	if (n == 4 && e->ifixed < e->nfixed) {
		buf_put_be32(o, e->fixed[e->ifixed++]);
		return;
	}
	for (i = 0; i < n; i++)
		o[i] = (uint8_t)xs(&e->rng);
}

struct sim {
	struct link	l_cs, l_sc;	/* client→server, server→client */
	struct ep	cl, sv;
	uint64_t	steps;
};

static struct sim *
sim_new(uint64_t delay)
{
	struct sim *s = calloc(1, sizeof(*s));
	struct udt_env env;

	s->l_cs.q = calloc(QCAP, sizeof(struct qpkt));
	s->l_sc.q = calloc(QCAP, sizeof(struct qpkt));
	s->l_cs.delay = s->l_sc.delay = delay;
	s->cl.out = &s->l_cs;
	s->sv.out = &s->l_sc;
	s->cl.rng = 0xc11e47;
	s->sv.rng = 0x5e77e7;
	env.now_us = env_now;
	env.send = env_send;
	env.random = env_random;
	env.ctx = &s->cl;
	s->cl.c = udt_conn_new(&env);
	env.ctx = &s->sv;
	s->sv.c = udt_conn_new(&env);
	return s;
}

static void
sim_free(struct sim *s)
{
	udt_conn_free(s->cl.c);
	udt_conn_free(s->sv.c);
	free(s->l_cs.q);
	free(s->l_sc.q);
	free(s);
}

/* Delivers every queued packet due by now, earliest first. */
static int
link_deliver(struct link *l, struct udt_conn *to)
{
	struct qpkt p;
	size_t i, best;
	int n = 0;

	for (;;) {
		best = l->n;
		for (i = 0; i < l->n; i++)
			if (l->q[i].at <= fake_now &&
			    (best == l->n || l->q[i].at < l->q[best].at))
				best = i;
		if (best == l->n)
			return n;
		/* keep equal-time packets in sending order */
		p = l->q[best];
		memmove(&l->q[best], &l->q[best + 1],
		    (l->n - best - 1) * sizeof(l->q[0]));
		l->n--;
		udt_input(to, p.b, p.len);
		n++;
	}
}

static uint64_t
link_next(const struct link *l)
{
	uint64_t t = UINT64_MAX;
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->q[i].at < t)
			t = l->q[i].at;
	return t;
}

struct xfer {
	const uint8_t	*src;
	size_t		 len, wr;
	uint8_t		*dst;
	size_t		 rd, dst_cap;
	int		 close_after;	/* client closes when all is written */
	int		 no_read;	/* server application does not read */
};

/* n bytes from src into dst (room for n), the server reading as they come. */
static void
xfer_init(struct xfer *x, const uint8_t *src, uint8_t *dst, size_t n)
{
	memset(x, 0, sizeof(*x));
	x->src = src;
	x->len = n;
	x->dst = dst;
	x->dst_cap = n;
}

static void
app_step(struct sim *s, struct xfer *x)
{
	ssize_t n;

	if (x == NULL)
		return;
	while (x->wr < x->len && udt_is_connected(s->cl.c) &&
	    udt_state(s->cl.c) == UDT_ST_CONNECTED) {
		n = udt_write(s->cl.c, x->src + x->wr, x->len - x->wr);
		if (n <= 0)
			break;
		x->wr += (size_t)n;
	}
	if (x->close_after && x->wr == x->len &&
	    udt_state(s->cl.c) == UDT_ST_CONNECTED)
		udt_close(s->cl.c);
	while (!x->no_read && x->rd < x->dst_cap) {
		n = udt_read(s->sv.c, x->dst + x->rd, x->dst_cap - x->rd);
		if (n <= 0)
			break;
		x->rd += (size_t)n;
	}
}

typedef int (*done_fn)(struct sim *, struct xfer *);

/* Runs the world until done() or until the fake clock passes `limit` µs. */
static int
sim_run(struct sim *s, struct xfer *x, done_fn done, uint64_t limit)
{
	uint64_t end = fake_now + limit, t, u;

	for (;;) {
		link_deliver(&s->l_cs, s->sv.c);
		link_deliver(&s->l_sc, s->cl.c);
		app_step(s, x);
		if (udt_next_timeout_us(s->cl.c) <= fake_now)
			udt_tick(s->cl.c);
		if (udt_next_timeout_us(s->sv.c) <= fake_now)
			udt_tick(s->sv.c);
		app_step(s, x);
		s->steps++;
		if (done(s, x))
			return 1;
		t = link_next(&s->l_cs);
		if ((u = link_next(&s->l_sc)) < t)
			t = u;
		if ((u = udt_next_timeout_us(s->cl.c)) < t)
			t = u;
		if ((u = udt_next_timeout_us(s->sv.c)) < t)
			t = u;
		if (t <= fake_now)
			t = fake_now + 1;
		if (t > end)
			return 0;
		fake_now = t;
	}
}

static int
both_connected(struct sim *s, struct xfer *x)
{
	(void)x;
	return udt_is_connected(s->cl.c) && udt_accept(s->sv.c) == UDT_OK;
}

static int
all_read(struct sim *s, struct xfer *x)
{
	(void)s;
	return x->rd == x->len;
}

static int
connect_pair(struct sim *s)
{
	if (udt_listen(s->sv.c) != UDT_OK || udt_connect(s->cl.c) != UDT_OK)
		return 0;
	return sim_run(s, NULL, both_connected, 20000000);
}

static uint8_t *
pattern(size_t n, uint32_t seed)
{
	uint8_t *p = malloc(n);
	uint64_t r = seed | 1;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((i & 7) == 0)
			r = xs(&r);
		p[i] = (uint8_t)(r >> (8 * (i & 7)));
	}
	return p;
}

/* One transfer of n bytes client → server; returns fake µs taken or 0. */
static uint64_t
transfer(struct sim *s, size_t n, uint64_t limit, int *ok)
{
	struct xfer x;
	uint64_t t0 = fake_now;
	uint8_t *src = pattern(n, (uint32_t)n), *dst = malloc(n);

	xfer_init(&x, src, dst, n);
	*ok = sim_run(s, &x, all_read, limit) && memcmp(src, dst, n) == 0;
	free(src);
	free(dst);
	return fake_now - t0;
}

static void
report(const char *what, struct sim *s, uint64_t us, size_t n)
{
	struct udt_stats a, b;

	udt_get_stats(s->cl.c, &a);
	udt_get_stats(s->sv.c, &b);
	printf("# %s: %zu bytes in %.3f s fake time, %llu rounds, "
	    "%.1f MB/s; sent %llu data pkts (%llu loss resends, %llu blind), "
	    "%llu NAKs, %llu ACKs, %llu dups, rtt %u us\n", what, n,
	    (double)us / 1e6, (unsigned long long)s->steps,
	    (double)n / ((double)us + 1), (unsigned long long)a.pkts_sent,
	    (unsigned long long)a.retransmits,
	    (unsigned long long)a.blind_retransmits,
	    (unsigned long long)b.naks_sent, (unsigned long long)b.acks_sent,
	    (unsigned long long)b.dup_recv, b.rtt_us);
	printf("#   stale ctrl: client %llu, server %llu; NAK entries ignored %llu\n",
	    (unsigned long long)a.stale_ctrl, (unsigned long long)b.stale_ctrl,
	    (unsigned long long)a.nak_ignored);
}

/* ---- handshake ---- */

static void
test_handshake_is_four_steps_echoing_socket_zero(void)
{
	struct sim *s = sim_new(1000);
	struct udt_pkt p;

	T_ASSERT(connect_pair(s));
	T_EQ_INT(udt_state(s->cl.c), UDT_ST_CONNECTED);
	T_EQ_INT(udt_state(s->sv.c), UDT_ST_CONNECTED);
	/* step 1 */
	T_ASSERT(s->cl.nlog >= 2);
	T_EQ_INT(udt_pkt_decode(s->cl.log[0], s->cl.loglen[0], &p), UDT_OK);
	T_EQ_U64(p.dst, 0);
	T_EQ_INT(p.u.hs.req_type, 1);
	T_EQ_U64(p.u.hs.sock_id, udt_sock_id(s->cl.c));
	T_EQ_U64(p.u.hs.init_seq, udt_init_seq(s->cl.c));
	T_EQ_U64(p.u.hs.flow_win, 64);
	/* step 2: the listener's stateless echo */
	T_EQ_INT(udt_pkt_decode(s->sv.log[0], s->sv.loglen[0], &p), UDT_OK);
	T_EQ_U64(p.dst, udt_sock_id(s->cl.c));
	T_EQ_INT(p.u.hs.req_type, 1);
	T_EQ_U64(p.u.hs.sock_id, 0);
	T_EQ_U64(p.u.hs.flow_win, 0);
	T_EQ_U64(p.ts, 0);
	T_EQ_U64(p.u.hs.init_seq, udt_init_seq(s->cl.c));
	/* step 3 */
	T_EQ_INT(udt_pkt_decode(s->cl.log[1], s->cl.loglen[1], &p), UDT_OK);
	T_EQ_U64(p.dst, 0);
	T_EQ_INT(p.u.hs.req_type, -1);
	/* step 4 */
	T_EQ_INT(udt_pkt_decode(s->sv.log[1], s->sv.loglen[1], &p), UDT_OK);
	T_EQ_U64(p.dst, udt_sock_id(s->cl.c));
	T_EQ_INT(p.u.hs.req_type, -1);
	T_EQ_U64(p.u.hs.sock_id, udt_sock_id(s->sv.c));
	T_EQ_U64(udt_peer_sock_id(s->cl.c), udt_sock_id(s->sv.c));
	T_EQ_U64(udt_peer_sock_id(s->sv.c), udt_sock_id(s->cl.c));
	/* both directions start at the client's initial sequence */
	T_EQ_U64(udt_init_seq(s->sv.c), udt_init_seq(s->cl.c));
	sim_free(s);
}

static void
test_lost_step4_is_resent_for_duplicate_step3(void)
{
	struct sim *s = sim_new(1000);
	uint32_t sid;

	T_EQ_INT(udt_listen(s->sv.c), UDT_OK);
	T_EQ_INT(udt_connect(s->cl.c), UDT_OK);
	/* let steps 1-3 through, then lose step 4 */
	fake_now += 1000;
	link_deliver(&s->l_cs, s->sv.c);		/* step 1 */
	fake_now += 1000;
	link_deliver(&s->l_sc, s->cl.c);		/* step 2 */
	fake_now += 1000;
	s->l_sc.blocked = 1;
	link_deliver(&s->l_cs, s->sv.c);		/* step 3; step 4 lost */
	s->l_sc.blocked = 0;
	T_EQ_INT(udt_accept(s->sv.c), UDT_OK);
	T_EQ_INT(udt_state(s->cl.c), UDT_ST_CONNECTING);
	sid = udt_sock_id(s->sv.c);
	T_ASSERT(sim_run(s, NULL, both_connected, 2000000));
	/* the retry found the same server socket */
	T_EQ_U64(udt_sock_id(s->sv.c), sid);
	T_EQ_U64(udt_peer_sock_id(s->cl.c), sid);
	sim_free(s);
}

static void
test_connect_fails_after_3s_plus_10s_linger(void)
{
	struct sim *s = sim_new(1000);
	uint64_t t0 = fake_now;
	int hs = 0;

	s->l_cs.blocked = 1;
	T_EQ_INT(udt_connect(s->cl.c), UDT_OK);
	while (!udt_is_closed(s->cl.c) && fake_now < t0 + 20000000) {
		fake_now = udt_next_timeout_us(s->cl.c);
		udt_tick(s->cl.c);
	}
	hs = (int)s->l_cs.sent;
	T_EQ_INT(udt_error(s->cl.c), UDT_ERR_CONNECT_TIMEOUT);
	T_EQ_U64(fake_now - t0, UDT_CONNECT_TIMEOUT_US + UDT_LINGER_US);
	/* step 1 every 250 ms: the first plus 51 retries before 13 s */
	T_EQ_INT(hs, 52);
	sim_free(s);
}

/* Our replies to the reference client's captured handshake, byte for byte. */
static json_t *capture;

static json_t *
lite_of(const char *prefix, int port, const char *type, int nth)
{
	json_t *pk;
	size_t i;

	if (capture == NULL)
		capture = tvec_load("capture.json");
	if (capture == NULL)
		return NULL;
	json_array_foreach(json_object_get(capture, "packets"), i, pk) {
		if (strcmp(tvec_str(pk, "kind"), "lite") != 0 ||
		    strncmp(tvec_str(pk, "lite_id"), prefix, strlen(prefix)) != 0 ||
		    (port && (int)tvec_u64(pk, "src_port") != port) ||
		    (type && strcmp(tvec_str(pk, "udt_type"), type) != 0))
			continue;
		if (nth-- == 0)
			return pk;
	}
	return NULL;
}

static size_t
udt_bytes(json_t *pk, uint8_t *out)
{
	uint8_t raw[2048];
	long n = hex_decode(raw, sizeof(raw), tvec_str(pk, "raw"));

	if (n < 18 || (size_t)n - 18 > UDT_PKT_MAX)
		return 0;
	memcpy(out, raw + 18, (size_t)n - 18);
	return (size_t)n - 18;
}

static void
test_handshake_replies_match_the_capture(void)
{
	struct sim *s = sim_new(1000);
	uint8_t h[4][UDT_PKT_MAX];
	size_t n[4];
	int i;

	for (i = 0; i < 4; i++) {
		json_t *pk = lite_of("06ad", 0, "handshake", i);
		T_ASSERT(pk != NULL);
		n[i] = udt_bytes(pk, h[i]);
		T_EQ_U64(n[i], 64);
	}
	/* server: the reference's new socket ID, so step 4 can match */
	s->sv.fixed[0] = buf_be32(h[3] + 40);
	s->sv.nfixed = 1;
	T_EQ_INT(udt_listen(s->sv.c), UDT_OK);
	T_EQ_INT(udt_input(s->sv.c, h[0], n[0]), UDT_OK);
	T_EQ_INT(s->sv.nlog, 1);
	T_EQ_U64(s->sv.loglen[0], 64);
	T_EQ_MEM(s->sv.log[0], h[1], 64);	/* step 2 exactly, ts 0 */
	T_EQ_INT(udt_input(s->sv.c, h[2], n[2]), UDT_OK);
	T_EQ_INT(s->sv.nlog, 2);
	memcpy(s->sv.log[1] + 8, h[3] + 8, 4);	/* timestamps differ */
	T_EQ_MEM(s->sv.log[1], h[3], 64);	/* step 4 */
	T_EQ_INT(udt_accept(s->sv.c), UDT_OK);

	/* client: the reference's socket ID and initial sequence */
	s->cl.fixed[0] = buf_be32(h[0] + 40);
	s->cl.fixed[1] = buf_be32(h[0] + 24);
	s->cl.nfixed = 2;
	T_EQ_INT(udt_connect(s->cl.c), UDT_OK);
	memcpy(s->cl.log[0] + 8, h[0] + 8, 4);
	T_EQ_MEM(s->cl.log[0], h[0], 64);	/* step 1 */
	T_EQ_INT(udt_input(s->cl.c, h[1], n[1]), UDT_OK);
	memcpy(s->cl.log[1] + 8, h[2] + 8, 4);
	T_EQ_MEM(s->cl.log[1], h[2], 64);	/* step 3 */
	T_EQ_INT(udt_input(s->cl.c, h[3], n[3]), UDT_OK);
	T_EQ_INT(udt_state(s->cl.c), UDT_ST_CONNECTED);
	T_EQ_U64(udt_peer_sock_id(s->cl.c), buf_be32(h[3] + 40));
	sim_free(s);
}

/* ---- data ---- */

static void
run_transfer(const char *what, unsigned loss, unsigned dup, uint64_t jitter,
    size_t size, uint32_t isn, int fixed_isn)
{
	struct sim *s = sim_new(1000);
	uint64_t us;
	struct udt_stats st;
	int ok;

	if (fixed_isn) {
		s->cl.fixed[0] = 0x01020304;
		s->cl.fixed[1] = isn;
		s->cl.nfixed = 2;
	}
	s->l_cs.loss_pct = s->l_sc.loss_pct = loss;
	s->l_cs.dup_pct = s->l_sc.dup_pct = dup;
	s->l_cs.jitter = s->l_sc.jitter = jitter;
	T_ASSERT(connect_pair(s));
	if (fixed_isn)
		T_EQ_U64(udt_init_seq(s->sv.c), isn);
	us = transfer(s, size, 600000000, &ok);
	report(what, s, us, size);
	if (!ok)
		T_FAIL("%s: transfer incomplete or corrupt (cl %s, sv %s)", what,
		    udt_strerror(udt_error(s->cl.c)),
		    udt_strerror(udt_error(s->sv.c)));
	udt_get_stats(s->sv.c, &st);
	T_EQ_U64(st.bytes_recv, size);
	udt_get_stats(s->cl.c, &st);
	T_EQ_U64(st.bytes_sent, size);
	T_ASSERT(st.in_flight <= UDT_RCV_WIN + 1);
	if (loss > 0)
		T_ASSERT(st.retransmits + st.blind_retransmits > 0);
	sim_free(s);
}

static void
test_10mb_stream_arrives_exactly(void)
{
	run_transfer("no loss", 0, 0, 0, 10 * 1024 * 1024, 0, 0);
}

static void
test_10mb_with_5pct_loss_both_ways(void)
{
	run_transfer("5% loss", 5, 0, 0, 10 * 1024 * 1024, 0, 0);
}

static void
test_10mb_with_20pct_loss_both_ways(void)
{
	run_transfer("20% loss", 20, 0, 0, 10 * 1024 * 1024, 0, 0);
}

static void
test_sequence_wraps_past_2_31(void)
{
	run_transfer("wrap, 5% loss", 5, 0, 0, 2 * 1024 * 1024,
	    UDT_SEQ_MASK - 100, 1);
}

static void
test_reordering_is_repaired(void)
{
	run_transfer("jitter 0-3 ms", 0, 0, 3000, 4 * 1024 * 1024, 0, 0);
}

static void
test_duplicates_are_dropped(void)
{
	struct sim *s = sim_new(1000);
	struct udt_stats st;
	int ok;

	s->l_cs.dup_pct = s->l_sc.dup_pct = 30;
	T_ASSERT(connect_pair(s));
	transfer(s, 3 * 1024 * 1024, 60000000, &ok);
	T_ASSERT(ok);
	udt_get_stats(s->sv.c, &st);
	T_ASSERT(st.dup_recv > 100);
	T_EQ_U64(st.bytes_recv, 3 * 1024 * 1024);
	sim_free(s);
}

static int
server_sees_close(struct sim *s, struct xfer *x)
{
	return x->rd == x->len && udt_read(s->sv.c, x->dst, 1) == UDT_ERR_CLOSED;
}

static void
test_client_close_sends_shutdown_after_all_acked(void)
{
	struct sim *s = sim_new(1000);
	struct xfer x;
	size_t n = 500000;
	uint8_t *src = pattern(n, 7), *dst = malloc(n);

	s->l_cs.loss_pct = s->l_sc.loss_pct = 5;
	T_ASSERT(connect_pair(s));
	xfer_init(&x, src, dst, n);
	x.close_after = 1;
	/* the Shutdown itself may be lost; then the idle timeout ends it */
	s->l_cs.loss_pct = 0;
	T_ASSERT(sim_run(s, &x, server_sees_close, 60000000));
	T_EQ_MEM(dst, src, n);
	T_EQ_INT(udt_state(s->cl.c), UDT_ST_CLOSED);
	T_EQ_INT(udt_state(s->sv.c), UDT_ST_CLOSED);
	T_EQ_INT(udt_write(s->cl.c, "x", 1), UDT_ERR_CLOSED);
	free(src);
	free(dst);
	sim_free(s);
}

static int
client_closed(struct sim *s, struct xfer *x)
{
	(void)x;
	return udt_state(s->cl.c) == UDT_ST_CLOSED;
}

static void
test_server_close_ends_client(void)
{
	struct sim *s = sim_new(1000);

	T_ASSERT(connect_pair(s));
	T_EQ_INT(udt_close(s->sv.c), UDT_OK);	/* nothing to send: at once */
	T_EQ_INT(udt_state(s->sv.c), UDT_ST_CLOSED);
	T_ASSERT(sim_run(s, NULL, client_closed, 1000000));
	T_EQ_INT(udt_write(s->cl.c, "x", 1), UDT_ERR_CLOSED);
	T_EQ_INT(udt_error(s->cl.c), UDT_OK);
	sim_free(s);
}

static void
test_abort_sends_shutdown_now(void)
{
	struct sim *s = sim_new(1000);
	uint8_t buf[100000];

	T_ASSERT(connect_pair(s));
	memset(buf, 1, sizeof(buf));
	T_EQ_INT(udt_write(s->cl.c, buf, sizeof(buf)), sizeof(buf));
	T_EQ_INT(udt_abort(s->cl.c), UDT_OK);
	T_EQ_INT(udt_state(s->cl.c), UDT_ST_CLOSED);
	T_ASSERT(sim_run(s, NULL, client_closed, 1000000));
	fake_now += 100000;
	link_deliver(&s->l_cs, s->sv.c);
	T_EQ_INT(udt_state(s->sv.c), UDT_ST_CLOSED);
	sim_free(s);
}

static int
both_closed(struct sim *s, struct xfer *x)
{
	(void)x;
	return udt_is_closed(s->cl.c) && udt_is_closed(s->sv.c);
}

static void
idle_case(uint64_t idle, int set)
{
	struct sim *s = sim_new(1000);
	uint64_t t0;

	T_ASSERT(connect_pair(s));
	if (set) {
		udt_set_idle_timeout(s->cl.c, idle);
		udt_set_idle_timeout(s->sv.c, idle);
	}
	/* let the last ACK/ACK2 settle, then the peer goes silent */
	T_ASSERT(!sim_run(s, NULL, both_closed, 100000));
	s->l_cs.blocked = s->l_sc.blocked = 1;
	t0 = fake_now;
	T_ASSERT(sim_run(s, NULL, both_closed, idle + 1000000));
	T_EQ_INT(udt_error(s->cl.c), UDT_ERR_TIMEOUT);
	T_EQ_INT(udt_error(s->sv.c), UDT_ERR_TIMEOUT);
	/* nothing arrived in the last 100 ms before silence */
	T_ASSERT(fake_now - t0 <= idle);
	T_ASSERT(fake_now - t0 >= idle - 100000);
	sim_free(s);
}

static void
test_idle_peer_times_out_after_60s_for_files(void)
{
	idle_case(UDT_IDLE_FILE_US, 0);
}

static void
test_idle_peer_times_out_after_10s_for_blocks(void)
{
	idle_case(UDT_IDLE_BLOCK_US, 1);
}

static void
test_listener_without_client_times_out(void)
{
	struct sim *s = sim_new(1000);
	uint64_t t0 = fake_now;

	T_EQ_INT(udt_listen(s->sv.c), UDT_OK);
	T_EQ_INT(udt_accept(s->sv.c), UDT_ERR_AGAIN);
	fake_now = udt_next_timeout_us(s->sv.c);
	udt_tick(s->sv.c);
	T_EQ_U64(fake_now - t0, UDT_IDLE_FILE_US);
	T_EQ_INT(udt_accept(s->sv.c), UDT_ERR_TIMEOUT);
	sim_free(s);
}

static int
window_full(struct sim *s, struct xfer *x)
{
	struct udt_stats st;

	udt_get_stats(s->cl.c, &st);
	return st.in_flight > 0 &&
	    udt_readable(s->sv.c) > UDT_RCVBUF_BYTES - UDT_DATA_MAX;
}

static void
test_slow_reader_stalls_sender_then_resumes(void)
{
	struct sim *s = sim_new(1000);
	struct xfer x;
	struct udt_stats st, st0;
	size_t n = 4 * 1024 * 1024;
	uint8_t *src = pattern(n, 9), *dst = malloc(n);

	T_ASSERT(connect_pair(s));
	xfer_init(&x, src, dst, n);
	x.no_read = 1;
	T_ASSERT(sim_run(s, &x, window_full, 30000000));
	/* the receiver's advertised window shrank with its free room */
	T_ASSERT(!sim_run(s, &x, all_read, 100000));
	udt_get_stats(s->cl.c, &st0);
	T_ASSERT(st0.flow_win <= 4);
	/* stalled: ten more seconds change nothing but retries */
	T_ASSERT(!sim_run(s, &x, all_read, 10000000));
	udt_get_stats(s->cl.c, &st);
	/* probes only: a few packets per (doubling, ≤ 1 s) blind interval */
	T_ASSERT(st.blind_retransmits - st0.blind_retransmits <= 20 * 5);
	T_ASSERT(st.in_flight <= 5);
	T_ASSERT(x.wr <= (size_t)UDT_RCVBUF_BYTES + UDT_SNDBUF_BYTES +
	    2 * UDT_SLOTS * UDT_DATA_MAX);
	T_ASSERT(udt_readable(s->sv.c) <= UDT_RCVBUF_BYTES);
	T_ASSERT(udt_is_connected(s->cl.c));
	udt_get_stats(s->cl.c, &st);
	T_ASSERT(st.in_flight <= UDT_RCV_WIN + 1);
	T_ASSERT(udt_send_pending(s->cl.c) <= UDT_SNDBUF_BYTES +
	    UDT_SLOTS * UDT_DATA_MAX);
	/* the stalled sender keeps retrying but stays bounded */
	x.no_read = 0;
	T_ASSERT(sim_run(s, &x, all_read, 120000000));
	T_EQ_MEM(dst, src, n);
	free(src);
	free(dst);
	sim_free(s);
}

/* ---- zero-copy reading (udt_recv_post) ---- */

static size_t post_cap_g, post_ring_max;

static int
some_readable(struct sim *s, struct xfer *x)
{
	(void)x;
	return udt_readable(s->sv.c) > 0;
}

static int
posted_full(struct sim *s, struct xfer *x)
{
	(void)x;
	/* while the buffer has room, nothing goes through the ring */
	if (udt_recv_posted(s->sv.c) < post_cap_g &&
	    udt_readable(s->sv.c) > post_ring_max)
		post_ring_max = udt_readable(s->sv.c);
	return udt_recv_posted(s->sv.c) == post_cap_g;
}

/*
 * In-order data lands in the posted buffer, not the ring: what the ring
 * held first, then arrivals, also under loss and reordering (held packets
 * move up into it); once it is full the rest waits in the ring and follows
 * in order through udt_read.
 */
static void
test_posted_buffer_takes_the_stream_without_the_ring(void)
{
	struct sim *s = sim_new(1000);
	size_t n = 4 * 1024 * 1024, first;
	uint8_t *src = pattern(n, 11), *dst = calloc(1, n);
	struct xfer x = { .src = src, .len = n, .dst = dst, .dst_cap = n,
	    .no_read = 1 };
	struct udt_stats st;
	ssize_t r;

	s->l_cs.loss_pct = s->l_sc.loss_pct = 5;
	s->l_cs.jitter = s->l_sc.jitter = 2000;
	T_ASSERT(connect_pair(s));
	T_ASSERT(sim_run(s, &x, some_readable, 10000000));
	first = udt_readable(s->sv.c);
	post_cap_g = 3 * 1024 * 1024;
	post_ring_max = 0;
	r = udt_recv_post(s->sv.c, dst, post_cap_g);
	T_EQ_U64((uint64_t)r, first);
	T_EQ_U64(udt_readable(s->sv.c), 0);
	T_EQ_U64(udt_recv_posted(s->sv.c), first);
	T_EQ_INT((int)udt_recv_post(s->sv.c, dst, 10), UDT_ERR_STATE);
	T_ASSERT(sim_run(s, &x, posted_full, 300000000));
	T_EQ_U64(post_ring_max, 0);
	T_EQ_MEM(dst, src, post_cap_g);
	T_EQ_U64(udt_recv_unpost(s->sv.c), post_cap_g);
	T_EQ_U64(udt_recv_posted(s->sv.c), 0);
	/* the rest through the ring, in order */
	x.rd = post_cap_g;
	x.no_read = 0;
	T_ASSERT(sim_run(s, &x, all_read, 300000000));
	T_EQ_MEM(dst, src, n);
	udt_get_stats(s->sv.c, &st);
	T_EQ_U64(st.bytes_recv, n);
	udt_get_stats(s->cl.c, &st);
	T_ASSERT(st.retransmits > 0);
	free(src);
	free(dst);
	sim_free(s);
}

/* ---- hostile input ---- */

static void
put_ctrl(uint8_t *b, uint16_t type, uint32_t info, uint32_t dst)
{
	memset(b, 0, UDT_HDR_SIZE);
	buf_put_be32(b, 0x80000000U | (uint32_t)type << 16);
	buf_put_be32(b + 4, info);
	buf_put_be32(b + 12, dst);
}

static void
test_garbage_and_nak_storm_stay_bounded(void)
{
	struct sim *s = sim_new(1000);
	uint8_t b[UDT_PKT_MAX + 2], data[200000];
	struct udt_stats st, st0;
	uint32_t isn, me_c, me_s;
	uint64_t r = 99;
	size_t i, len, k;

	T_ASSERT(connect_pair(s));
	isn = udt_init_seq(s->cl.c);
	me_c = udt_sock_id(s->cl.c);
	me_s = udt_sock_id(s->sv.c);
	memset(data, 3, sizeof(data));
	T_EQ_INT(udt_write(s->cl.c, data, sizeof(data)), sizeof(data));
	s->l_cs.blocked = s->l_sc.blocked = 1;	/* keep packets in flight */

	/* random bytes, with and without a valid destination */
	for (i = 0; i < 200000; i++) {
		len = xs(&r) % (UDT_PKT_MAX + 2);
		for (k = 0; k < len; k++)
			b[k] = (uint8_t)xs(&r);
		if (len >= 16 && (i & 1))
			buf_put_be32(b + 12, (i & 2) ? me_c : me_s);
		/*
		 * Keep the connections alive: an ACK/NAK for unsent numbers
		 * or a Shutdown would rightly end them (tested elsewhere).
		 */
		if (len >= 4 && b[0] == 0x80 && (b[1] == 2 || b[1] == 3 ||
		    b[1] == 5))
			b[0] = 0x81;
		udt_input((i & 2) ? s->cl.c : s->sv.c, b, len);
		if (i % 1000 == 0) {
			fake_now += 1000;
			udt_tick(s->cl.c);
			udt_tick(s->sv.c);
		}
	}
	T_ASSERT(udt_is_connected(s->cl.c));
	T_ASSERT(udt_is_connected(s->sv.c));

	/* a data packet far ahead does not grow the loss list (§12.15) */
	memset(b, 0, 40);
	buf_put_be32(b, udt_seq_add(isn, 1000000));
	buf_put_be32(b + 12, me_s);
	T_EQ_INT(udt_input(s->sv.c, b, 40), UDT_ERR_DROP_WINDOW);
	udt_get_stats(s->sv.c, &st);
	T_ASSERT(st.rcv_loss <= UDT_SLOTS);
	T_ASSERT(udt_readable(s->sv.c) <= UDT_RCVBUF_BYTES);

	/* non-handshake to socket 0 */
	put_ctrl(b, UDT_CTRL_KEEPALIVE, 0, 0);
	T_EQ_INT(udt_input(s->sv.c, b, 16), UDT_ERR_DROP_ZERO_DST);

	/* a NAK storm for an in-flight packet: resends stay rate-limited */
	udt_get_stats(s->cl.c, &st0);
	for (i = 0; i < 100000; i++) {
		put_ctrl(b, UDT_CTRL_NAK, 0, me_c);
		buf_put_be32(b + 16, 0x80000000U | isn);
		buf_put_be32(b + 20, udt_seq_add(isn, 10));
		buf_put_be32(b + 24, udt_seq_add(isn, 3));
		T_EQ_INT(udt_input(s->cl.c, b, 28), UDT_OK);
		if (i % 10000 == 0)
			fake_now += 1;
	}
	udt_get_stats(s->cl.c, &st);
	T_ASSERT(st.snd_loss <= UDT_SLOTS);
	/* 11 lost packets, each resent at most once in this 10 µs */
	T_ASSERT(st.retransmits - st0.retransmits <= 11);
	T_ASSERT(st.retransmits - st0.retransmits >= 1);
	sim_free(s);
}

static void
test_ack_or_nak_for_unsent_packet_is_fatal(void)
{
	struct sim *s = sim_new(1000);
	uint8_t b[UDT_ACK_SIZE];
	uint32_t isn;

	T_ASSERT(connect_pair(s));
	isn = udt_init_seq(s->cl.c);
	put_ctrl(b, UDT_CTRL_ACK, 1, udt_sock_id(s->cl.c));
	buf_put_be32(b + 16, udt_seq_add(isn, 5));	/* nothing sent yet */
	buf_put_be32(b + 28, 64);
	T_EQ_INT(udt_input(s->cl.c, b, UDT_ACK_SIZE), UDT_ERR_PROTO);
	T_EQ_INT(udt_error(s->cl.c), UDT_ERR_PROTO);
	T_EQ_INT(udt_write(s->cl.c, "x", 1), UDT_ERR_PROTO);

	put_ctrl(b, UDT_CTRL_NAK, 0, udt_sock_id(s->sv.c));
	buf_put_be32(b + 16, 0x80000000U | isn);	/* range start last */
	T_EQ_INT(udt_input(s->sv.c, b, 20), UDT_ERR_PROTO);
	T_EQ_INT(udt_error(s->sv.c), UDT_ERR_PROTO);
	sim_free(s);
}

/* Sends `len` bytes, runs until they are acknowledged, reads them. */
static int
all_acked(struct sim *s, struct xfer *x)
{
	(void)x;
	return udt_send_pending(s->cl.c) == 0;
}

static void
send_and_settle(struct sim *s, size_t len)
{
	uint8_t *buf = calloc(1, len);

	T_EQ_INT(udt_write(s->cl.c, buf, len), (ssize_t)len);
	T_ASSERT(sim_run(s, NULL, all_acked, 10000000));
	/* the server's application takes it all */
	T_EQ_INT(udt_read(s->sv.c, buf, len), (ssize_t)len);
	free(buf);
}

/*
 * A link that hands packets over in bursts within one microsecond (a
 * recvmmsg batch, this simulated link): the reference's median filter
 * keeps no arrival interval and reports no rate, which left the sender's
 * window at its initial 16 packets for good.  Our receiver reports the
 * burst's rate, so the window opens.
 */
static void
test_same_microsecond_arrivals_open_the_window(void)
{
	struct sim *s = sim_new(1000);
	struct udt_stats st;

	T_ASSERT(connect_pair(s));
	send_and_settle(s, 400000);
	send_and_settle(s, 400000);
	udt_get_stats(s->cl.c, &st);
	/* ≥ 10^6 packets/s (1 µs per packet at most) averaged in at 1/8 */
	T_ASSERT(st.delivery_rate > 100000);
	T_ASSERT(st.cwnd > 1000);
	sim_free(s);
}

static void
test_replayed_ack_and_ack2_are_counted_and_harmless(void)
{
	struct sim *s = sim_new(1000);
	uint8_t b[UDT_ACK_LINK_SIZE];
	struct udt_stats st0, st;
	uint32_t isn;
	uint64_t sent;
	int ok;

	T_ASSERT(connect_pair(s));
	isn = udt_init_seq(s->cl.c);
	send_and_settle(s, 100000);
	udt_get_stats(s->cl.c, &st0);
	/* an old ACK (sequence isn + 1) arrives again: counted, ACK2 still sent */
	put_ctrl(b, UDT_CTRL_ACK, 1, udt_sock_id(s->cl.c));
	buf_put_be32(b + 16, udt_seq_add(isn, 1));
	buf_put_be32(b + 28, 64);
	sent = s->l_cs.sent;
	T_EQ_INT(udt_input(s->cl.c, b, UDT_ACK_SIZE), UDT_ERR_DROP_STALE);
	T_EQ_U64(s->l_cs.sent, sent + 1);
	udt_get_stats(s->cl.c, &st);
	T_EQ_U64(st.stale_ctrl, st0.stale_ctrl + 1);
	T_EQ_U64(st.flow_win, st0.flow_win);	/* an old ACK does not set the window */
	T_ASSERT(udt_is_connected(s->cl.c));
	/* an ACK2 for an ACK the server never sent (or settled long ago) */
	udt_get_stats(s->sv.c, &st0);
	put_ctrl(b, UDT_CTRL_ACK2, 0x7777777, udt_sock_id(s->sv.c));
	T_EQ_INT(udt_input(s->sv.c, b, UDT_HDR_SIZE), UDT_ERR_DROP_STALE);
	udt_get_stats(s->sv.c, &st);
	T_EQ_U64(st.stale_ctrl, st0.stale_ctrl + 1);
	T_EQ_U64(st.rtt_us, st0.rtt_us);	/* no RTT sample from it */
	/* a NAK for numbers already acknowledged: ignored, counted, no resend */
	udt_get_stats(s->cl.c, &st0);
	put_ctrl(b, UDT_CTRL_NAK, 0, udt_sock_id(s->cl.c));
	buf_put_be32(b + 16, udt_seq_add(isn, 3));
	buf_put_be32(b + 20, udt_seq_add(isn, 4));
	T_EQ_INT(udt_input(s->cl.c, b, 24), UDT_OK);
	udt_get_stats(s->cl.c, &st);
	T_EQ_U64(st.nak_ignored, st0.nak_ignored + 2);
	T_EQ_U64(st.retransmits, st0.retransmits);
	T_EQ_U64(st.snd_loss, 0);
	/* and the stream goes on */
	transfer(s, 300000, 10000000, &ok);
	T_ASSERT(ok);
	sim_free(s);
}

static void
test_window_update_ack_sets_flow_and_is_clamped(void)
{
	struct sim *s = sim_new(1000);
	uint8_t b[UDT_ACK_SIZE];
	struct udt_stats st;
	uint32_t una;

	T_ASSERT(connect_pair(s));
	send_and_settle(s, 50000);
	una = udt_seq_add(udt_init_seq(s->cl.c), (50000 + UDT_DATA_MAX - 1) /
	    UDT_DATA_MAX);
	put_ctrl(b, UDT_CTRL_ACK, 900, udt_sock_id(s->cl.c));
	buf_put_be32(b + 16, una);		/* nothing new acknowledged */
	buf_put_be32(b + 28, 3);
	T_EQ_INT(udt_input(s->cl.c, b, UDT_ACK_SIZE), UDT_OK);
	udt_get_stats(s->cl.c, &st);
	T_EQ_U64(st.flow_win, 3);
	buf_put_be32(b + 28, 0xffffffffU);	/* absurd: clamped to our slots */
	T_EQ_INT(udt_input(s->cl.c, b, UDT_ACK_SIZE), UDT_OK);
	udt_get_stats(s->cl.c, &st);
	T_EQ_U64(st.flow_win, UDT_SLOTS - 2);
	buf_put_be32(b + 28, 0);		/* zero: at least 2, never stuck */
	T_EQ_INT(udt_input(s->cl.c, b, UDT_ACK_SIZE), UDT_OK);
	udt_get_stats(s->cl.c, &st);
	T_EQ_U64(st.flow_win, 2);
	T_ASSERT(udt_is_connected(s->cl.c));
	sim_free(s);
}

/* The client's peer answers nothing but keep-alives: no ACK ever. */
static uint64_t ka_next;

static int
client_failed_keepalive(struct sim *s, struct xfer *x)
{
	uint8_t b[UDT_HDR_SIZE];

	(void)x;
	if (fake_now >= ka_next) {
		put_ctrl(b, UDT_CTRL_KEEPALIVE, 0, udt_sock_id(s->cl.c));
		udt_input(s->cl.c, b, sizeof(b));
		ka_next = fake_now + 1000000;
	}
	return udt_is_closed(s->cl.c);
}

static void
test_peer_that_never_acks_times_out_and_stays_bounded(void)
{
	struct sim *s = sim_new(1000);
	struct udt_stats st;
	uint8_t *buf = calloc(1, 3 * UDT_SNDBUF_BYTES);
	uint64_t t0;
	ssize_t w;

	T_ASSERT(connect_pair(s));
	s->l_sc.blocked = 1;		/* nothing from the server arrives */
	t0 = fake_now;
	/* the send buffer takes what it can hold, no more */
	w = udt_write(s->cl.c, buf, 3 * UDT_SNDBUF_BYTES);
	T_ASSERT(w > 0 && w <= UDT_SNDBUF_BYTES);
	T_ASSERT(udt_write(s->cl.c, buf, 3 * UDT_SNDBUF_BYTES) <= 0 ||
	    udt_send_pending(s->cl.c) <= UDT_SNDBUF_BYTES + UDT_SLOTS * UDT_DATA_MAX);
	ka_next = fake_now;
	T_ASSERT(sim_run(s, NULL, client_failed_keepalive, UDT_IDLE_FILE_US + 5000000));
	T_EQ_INT(udt_error(s->cl.c), UDT_ERR_ACK_TIMEOUT);
	T_ASSERT(fake_now - t0 >= UDT_IDLE_FILE_US);
	T_ASSERT(fake_now - t0 <= UDT_IDLE_FILE_US + 100000);
	udt_get_stats(s->cl.c, &st);
	/* first window, then blind probes of at most UDT_BLIND_MAX each */
	T_ASSERT(st.pkts_sent <= UDT_SLOTS + 80 * UDT_BLIND_MAX);
	T_EQ_U64(st.acks_recv, 0);
	free(buf);
	sim_free(s);
}

static void
test_nak_flood_resends_each_packet_at_most_once_per_interval(void)
{
	struct sim *s = sim_new(1000);
	uint8_t b[UDT_HDR_SIZE + 4 * UDT_NAK_MAX_ENTRIES], data[100 * UDT_DATA_MAX];
	struct udt_stats st0, st;
	uint32_t isn, i, k;

	T_ASSERT(connect_pair(s));
	isn = udt_init_seq(s->cl.c);
	s->l_cs.blocked = s->l_sc.blocked = 1;
	memset(data, 1, sizeof(data));
	T_EQ_INT(udt_write(s->cl.c, data, sizeof(data)), sizeof(data));
	udt_get_stats(s->cl.c, &st0);
	T_ASSERT(st0.in_flight > 0);
	/* 10000 NAKs listing every in-flight packet within 1 ms */
	for (k = 0; k < 10000; k++) {
		put_ctrl(b, UDT_CTRL_NAK, 0, udt_sock_id(s->cl.c));
		for (i = 0; i < st0.in_flight; i++)
			buf_put_be32(b + UDT_HDR_SIZE + 4 * i, udt_seq_add(isn, (int32_t)i));
		T_EQ_INT(udt_input(s->cl.c, b, UDT_HDR_SIZE + 4 * st0.in_flight), UDT_OK);
		if (k % 100 == 0)
			fake_now += 10;
	}
	udt_get_stats(s->cl.c, &st);
	T_EQ_U64(st.naks_recv - st0.naks_recv, 10000);
	T_ASSERT(st.snd_loss <= st0.in_flight);
	/* the first resend at once, the next only after 10 ms: one each */
	T_EQ_U64(st.retransmits - st0.retransmits, st0.in_flight);
	T_ASSERT(udt_is_connected(s->cl.c));
	sim_free(s);
}

/* ---- the captured reference transfer, replayed ---- */

static json_t *
stream_of(const char *prefix)
{
	json_t *st;
	size_t i;

	json_array_foreach(json_object_get(capture, "udt_streams"), i, st)
		if (strncmp(tvec_str(st, "lite_id"), prefix, strlen(prefix)) == 0)
			return st;
	return NULL;
}

static void
replay(const char *prefix, size_t want_len, const char *want_hash)
{
	struct sim *s = sim_new(1000);
	json_t *pk, *first4;
	uint8_t b[UDT_PKT_MAX], *out = malloc(want_len + 1), h[32];
	char hex[65];
	size_t i, n, got = 0;
	ssize_t r;
	int rc, ndata = 0, dups = 0;

	first4 = lite_of(prefix, 0, "handshake", 3);	/* the server's step 4 */
	T_ASSERT(first4 != NULL);
	n = udt_bytes(first4, b);
	s->sv.fixed[0] = buf_be32(b + 40);
	s->sv.nfixed = 1;
	T_EQ_INT(udt_listen(s->sv.c), UDT_OK);
	json_array_foreach(json_object_get(capture, "packets"), i, pk) {
		if (strcmp(tvec_str(pk, "kind"), "lite") != 0 ||
		    strncmp(tvec_str(pk, "lite_id"), prefix, strlen(prefix)) != 0 ||
		    tvec_u64(pk, "src_port") != 7101)
			continue;
		fake_now = 1000000 + (uint64_t)(atof(tvec_str(pk, "t")) * 1e6);
		n = udt_bytes(pk, b);
		rc = udt_input(s->sv.c, b, n);
		if (strcmp(tvec_str(pk, "udt_type"), "data") == 0) {
			ndata++;
			if (rc == UDT_ERR_DROP_DUP)
				dups++;
			else
				T_EQ_INT(rc, UDT_OK);
		}
		while ((r = udt_read(s->sv.c, out + got, want_len + 1 - got)) > 0)
			got += (size_t)r;
	}
	printf("# replay %s: %d data packets, %d duplicates, %zu bytes\n",
	    prefix, ndata, dups, got);
	T_EQ_U64(got, want_len);
	if (want_hash != NULL) {
		blake3_hash(out + 16, got - 16, h);
		hex_encode(hex, h, 32);
		T_EQ_STR(hex, want_hash);
		T_EQ_U64(buf_le64(out + 8), got - 16);
	}
	free(out);
	sim_free(s);
}

/* Replays the captured stream of transfer `id`; checks its length when
 * want_len is not 0, and its hash when hashed. */
static void
replay_stream(const char *id, uint64_t want_len, int hashed)
{
	json_t *st = stream_of(id);

	T_ASSERT(st != NULL);
	if (want_len != 0)
		T_EQ_U64(tvec_u64(st, "stream_length"), want_len);
	replay(id, tvec_u64(st, "stream_length"), hashed ?
	    tvec_str(st, "blake3_of_stream_after_16_byte_header") : NULL);
}

static void
test_replayed_700000_byte_transfer_hashes_to_the_file(void)
{
	T_ASSERT(lite_of("06ad", 0, NULL, 0) != NULL);
	replay_stream("06ad", 700016, 1);
}

static void
test_replayed_29_byte_transfer_and_block_stream(void)
{
	T_ASSERT(lite_of("2d53", 0, NULL, 0) != NULL);
	replay_stream("2d53", 0, 1);
	replay_stream("be5a", 0, 0);
}

static int
client_all_acked(struct sim *s, struct xfer *x)
{
	(void)x;
	return udt_send_pending(s->cl.c) == 0;
}

static int
never(struct sim *s, struct xfer *x)
{
	(void)s;
	(void)x;
	return 0;
}

static int
server_closed(struct sim *s, struct xfer *x)
{
	(void)x;
	return udt_is_closed(s->sv.c);
}

/*
 * A receiver with part of a stream, the sender silent: gone (both links
 * cut) it is noticed after UDT_BROKEN_EXP unanswered probes and at least
 * UDT_BROKEN_MIN_US (UDT_ERR_PEER_GONE, ~7 s), not after the 60 s idle
 * timeout; alive (it answers the probes' ACKs with ACK2s but sends no
 * data) the idle timeout still ends it, at 60 s.
 */
static void
sender_silent_case(int gone)
{
	struct sim *s = sim_new(1000);
	uint8_t *src = pattern(10 * UDT_DATA_MAX, 5);
	struct udt_stats a, b;
	uint64_t t0;

	T_ASSERT(connect_pair(s));
	T_EQ_INT((int)udt_write(s->cl.c, src, 10 * UDT_DATA_MAX), 10 * UDT_DATA_MAX);
	T_ASSERT(sim_run(s, NULL, client_all_acked, 5000000));
	T_ASSERT(!sim_run(s, NULL, server_closed, 100000));
	udt_get_stats(s->sv.c, &a);
	if (gone)
		s->l_cs.blocked = s->l_sc.blocked = 1;
	t0 = fake_now;
	T_ASSERT(sim_run(s, NULL, server_closed, UDT_IDLE_FILE_US + 1000000));
	udt_get_stats(s->sv.c, &b);
	printf("# sender %s: the receiver ended after %.3f s: %s; %llu probe ACKs\n",
	    gone ? "gone" : "alive but silent", (double)(fake_now - t0) / 1e6,
	    udt_strerror(udt_error(s->sv.c)),
	    (unsigned long long)(b.acks_sent - a.acks_sent));
	if (gone) {
		T_EQ_INT(udt_error(s->sv.c), UDT_ERR_PEER_GONE);
		T_ASSERT(fake_now - t0 >= UDT_BROKEN_MIN_US);
		T_ASSERT(fake_now - t0 <= 2 * UDT_BROKEN_MIN_US);
		T_ASSERT(b.acks_sent - a.acks_sent >= UDT_BROKEN_EXP);
	} else {
		T_EQ_INT(udt_error(s->sv.c), UDT_ERR_TIMEOUT);
		T_ASSERT(fake_now - t0 >= UDT_IDLE_FILE_US - 200000);
		T_ASSERT(fake_now - t0 <= UDT_IDLE_FILE_US + 100000);
		/* probes were sent and answered all along, bounded by their back-off */
		T_ASSERT(b.acks_sent - a.acks_sent >= UDT_IDLE_FILE_US / UDT_PROBE_MAX_US - 2);
		T_ASSERT(b.acks_sent - a.acks_sent <= UDT_IDLE_FILE_US / UDT_PROBE_MAX_US + 8);
	}
	free(src);
	sim_free(s);
}

static void
test_vanished_sender_is_noticed_in_seconds(void)
{
	sender_silent_case(1);
}

static void
test_silent_live_sender_keeps_the_idle_timeout(void)
{
	sender_silent_case(0);
}

/*
 * udt_stream_end (towards a reference receiver, which never ACKs a stream
 * of fewer than 4 packets): the last bytes leave as two packets, the later
 * sequence first; a receiver's NAK for the earlier one (it saw the later
 * first: a reference receiver NAKs at once, ours after its reordering
 * window, by when the earlier one came) costs no resend; the bytes arrive
 * in order.
 */
static void
test_stream_end_sends_last_pair_later_first(void)
{
	struct sim *s = sim_new(1000);
	uint8_t *src = pattern(2000, 7), *dst = calloc(1, 2000);
	struct xfer x = { .src = src, .len = 2000, .dst = dst, .dst_cap = 2000 };
	struct udt_stats st;
	struct udt_pkt a, b;
	uint32_t isn;

	T_ASSERT(connect_pair(s));
	isn = udt_init_seq(s->cl.c);
	T_EQ_INT(udt_stream_end(s->cl.c, 2000), UDT_OK);
	s->cl.nlog = 0;
	T_EQ_INT((int)udt_write(s->cl.c, src, 2000), 2000);
	x.wr = 2000;
	T_EQ_INT(s->cl.nlog, 2);
	T_EQ_INT(udt_pkt_decode(s->cl.log[0], s->cl.loglen[0], &b), UDT_OK);
	T_EQ_INT(udt_pkt_decode(s->cl.log[1], s->cl.loglen[1], &a), UDT_OK);
	T_ASSERT(!a.is_ctrl && !b.is_ctrl);
	T_EQ_U64(b.seq, udt_seq_add(isn, 1));
	T_EQ_U64(a.seq, isn);
	T_EQ_U64(a.data_len + b.data_len, 2000);
	T_ASSERT(a.data_len > 0 && b.data_len > 0);
	T_ASSERT(sim_run(s, &x, all_read, 5000000));
	T_ASSERT(memcmp(src, dst, 2000) == 0);
	T_ASSERT(sim_run(s, &x, client_all_acked, 5000000));
	udt_get_stats(s->cl.c, &st);
	/*
	 * A reference receiver NAKs the earlier one at once (1 NAK); ours
	 * waits its reordering window (UDT_REORDER_*), by when it came: none.
	 */
	T_ASSERT(st.naks_recv <= 1);
	T_EQ_U64(st.retransmits, 0);
	T_EQ_U64(st.pkts_sent, 2);
	free(src);
	free(dst);
	sim_free(s);
}

/*
 * Towards a reference receiver (udt_set_probe_only), nothing ACKed for a
 * while with the window open: one probe, the newest unacknowledged packet
 * (a receiver that lacks it NAKs the gap before it), not the window again.
 */
static void
test_blind_retransmission_is_one_probe_of_the_newest(void)
{
	struct sim *s = sim_new(1000);
	uint8_t *src = pattern(10 * UDT_DATA_MAX, 9);
	struct udt_stats st;
	struct udt_pkt p;
	uint32_t isn;

	T_ASSERT(connect_pair(s));
	udt_set_probe_only(s->cl.c);
	isn = udt_init_seq(s->cl.c);
	s->l_cs.blocked = 1;		/* all ten lost */
	T_EQ_INT((int)udt_write(s->cl.c, src, 10 * UDT_DATA_MAX), 10 * UDT_DATA_MAX);
	s->cl.nlog = 0;
	sim_run(s, NULL, never, UDT_EXP_US + 50000);
	udt_get_stats(s->cl.c, &st);
	T_EQ_U64(st.blind_retransmits, 1);
	T_EQ_INT(s->cl.nlog, 1);
	T_EQ_INT(udt_pkt_decode(s->cl.log[0], s->cl.loglen[0], &p), UDT_OK);
	T_ASSERT(!p.is_ctrl);
	T_EQ_U64(p.seq, udt_seq_add(isn, 9));
	/* the link back: the receiver NAKs 0..8 at the probe, all come back */
	s->l_cs.blocked = 0;
	sim_run(s, NULL, client_all_acked, 5000000);
	udt_get_stats(s->cl.c, &st);
	T_EQ_U64(st.in_flight, 0);
	T_ASSERT(st.blind_retransmits <= 2);
	T_EQ_U64(st.retransmits, 9);
	free(src);
	sim_free(s);
}

int
main(int argc, char **argv)
{
	t_set_suite(argv[0]);
	T_RUN(test_handshake_is_four_steps_echoing_socket_zero);
	T_RUN(test_lost_step4_is_resent_for_duplicate_step3);
	T_RUN(test_connect_fails_after_3s_plus_10s_linger);
	T_RUN(test_handshake_replies_match_the_capture);
	T_RUN(test_10mb_stream_arrives_exactly);
	T_RUN(test_10mb_with_5pct_loss_both_ways);
	T_RUN(test_10mb_with_20pct_loss_both_ways);
	T_RUN(test_sequence_wraps_past_2_31);
	T_RUN(test_reordering_is_repaired);
	T_RUN(test_duplicates_are_dropped);
	T_RUN(test_client_close_sends_shutdown_after_all_acked);
	T_RUN(test_server_close_ends_client);
	T_RUN(test_abort_sends_shutdown_now);
	T_RUN(test_replayed_ack_and_ack2_are_counted_and_harmless);
	T_RUN(test_window_update_ack_sets_flow_and_is_clamped);
	T_RUN(test_peer_that_never_acks_times_out_and_stays_bounded);
	T_RUN(test_nak_flood_resends_each_packet_at_most_once_per_interval);
	T_RUN(test_idle_peer_times_out_after_60s_for_files);
	T_RUN(test_idle_peer_times_out_after_10s_for_blocks);
	T_RUN(test_listener_without_client_times_out);
	T_RUN(test_slow_reader_stalls_sender_then_resumes);
	T_RUN(test_posted_buffer_takes_the_stream_without_the_ring);
	T_RUN(test_garbage_and_nak_storm_stay_bounded);
	T_RUN(test_ack_or_nak_for_unsent_packet_is_fatal);
	T_RUN(test_replayed_700000_byte_transfer_hashes_to_the_file);
	T_RUN(test_replayed_29_byte_transfer_and_block_stream);
	T_RUN(test_stream_end_sends_last_pair_later_first);
	T_RUN(test_blind_retransmission_is_one_probe_of_the_newest);
	T_RUN(test_same_microsecond_arrivals_open_the_window);
	T_RUN(test_vanished_sender_is_noticed_in_seconds);
	T_RUN(test_silent_live_sender_keeps_the_idle_timeout);
	json_decref(capture);
	return t_done();
}
