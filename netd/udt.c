/*
 * udt.c — one UDT connection as the reference runs it (docs/protocol.md §9.5):
 * handshake, sender (window, loss list, retransmission), receiver (reorder
 * window, loss list, ACK/ACK2/NAK timing), congestion control, shutdown.
 * Pure: time, randomness and output come from struct udt_env.
 *
 * Where we knowingly differ from the reference (all wire-compatible):
 *  - a data packet may jump at most UDT_SLOTS ahead (§12.15: the reference
 *    adds every skipped number to its loss list, an unbounded memory bomb);
 *  - our receiver advertises UDT_RCV_WIN packets, not 64, and our sender
 *    follows the advertised window up to UDT_SLOTS (the reference's 64
 *    packets per RTT cap a transfer far below what a link carries);
 *  - a peer that acknowledges nothing for the idle timeout while data is in
 *    flight ends the connection (UDT_ERR_ACK_TIMEOUT): the reference would
 *    retransmit blindly for as long as anything else keeps it alive;
 *  - NAK ranges we receive are expanded inclusive (UDT spec) and clipped to
 *    what is in flight; we never send ranges (§9.4, §12.11);
 *  - a tail-loss timer (UDT_EXP_US) resends when nothing is ACKed for a
 *    while and the window is not full; the reference relies on the
 *    transfer-ID expiry;
 *  - blind retransmission resends at most UDT_BLIND_MAX packets, and
 *    towards a reference receiver (udt_set_probe_only) one probe;
 *  - the last bytes of a stream whose end is known (udt_stream_end) go out
 *    as two packets in reverse order, so a reference receiver ACKs them;
 *  - both ACK/NAK resend limiters are armed at connection start (the
 *    reference's first resend waits for a first real ACK, so a stream of
 *    fewer than 4 packets is only ACKed by the timer after one);
 *  - the server re-sends handshake step 4 for a duplicate step 3 (§9.5);
 *  - the handshake is taken in order only (UDT_HS_SEEN in udt.h): step 4
 *    after our step 3, step 3 after our step 2 for the same pair, no socket
 *    ID 0, the flow window clamped to UDT_FLOW_WIN; the reference's client
 *    behaves so anyway, and a forged step 4 or 3 no longer opens the data
 *    phase (nothing is sent or accepted before it);
 *  - message drop requests are ignored: in stream mode they would cut data;
 *  - packets that arrive within the same microsecond (a batch) still give
 *    the ACK's arrival rate (rcv_speeds): the reference reports none then,
 *    and a sender's window stays at 16 packets;
 *  - the send period (SND) is computed as the reference does but not used
 *    for pacing: the reference's pacing timer never waits (§9.5 quirk).
 */
#include <sys/mman.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "udt.h"

#define SLOT_MASK	(UDT_SLOTS - 1)
/*
 * The send slots hold the packets in flight and, after them, the packets
 * written but not yet sent (snd_next .. q_end, the last one possibly not
 * full): udt_write copies the application's bytes once, into their packet,
 * and a retransmission resends the same bytes.  Twice UDT_SLOTS: room for
 * a full window in flight plus UDT_SNDBUF_BYTES queued.
 */
#define SND_SLOTS	(2 * UDT_SLOTS)
#define SSLOT_MASK	(SND_SLOTS - 1)
#define MSS		UDT_PKT_MAX

enum { RS_EMPTY = 0, RS_LOST, RS_HAVE };

struct sslot {
	uint64_t	last_tx;
	uint32_t	attempts;	/* loss-list retransmissions */
	uint16_t	len;		/* whole packet */
	uint8_t		lost;
	uint8_t		resent;		/* sent more than once: no RTT sample (Karn) */
	uint8_t		pkt[UDT_PKT_MAX];
};

struct rslot {
	uint64_t	lost_at;	/* RS_LOST: when the gap was seen */
	uint16_t	len;
	uint8_t		state;
	uint8_t		naked;		/* RS_LOST: NAKed at least once */
	uint8_t		data[UDT_DATA_MAX];
};

struct ack_rec {
	uint32_t	id;
	uint32_t	seq;
	uint64_t	t;
};

/* The reference's rateLimiter: wait doubles after each allowed resend. */
struct limiter {
	uint64_t	start;
	uint64_t	wait;
};

struct udt_conn {
	struct udt_env	env;
	uint64_t	now;
	enum udt_state	st;
	int		err;
	int		is_server;
	uint64_t	created;	/* socket creation, for timestamps */
	uint64_t	last_rx;	/* any packet: the peer is there */
	uint64_t	last_busy;	/* any but an ACK2: the idle timeout's */
	/* receiver's liveness probe (UDT_PROBE_*): next, interval, unanswered */
	uint64_t	live_at, live_iv;
	unsigned	live_n;
	unsigned	blind_n;	/* blind expirations since the last packet */
	uint64_t	dup_ack_at;	/* receiver: last ACK answering a duplicate */
	uint64_t	idle_us;
	uint32_t	sock_id, peer_id, isn;
	uint64_t	conn_start, conn_retry_at;
	int		hs_step3;	/* client: step 3 sent (a step 2 was valid) */
	struct {
		uint32_t sock_id, isn;
	}		hs_seen[UDT_HS_SEEN];	/* listener: step 1s answered */
	unsigned	hs_seen_n, hs_seen_pos;
	uint64_t	syn_at;

	/* shared estimates */
	uint32_t	rtt, rtt_var;
	uint32_t	delivery_rate, bandwidth;

	/* sender */
	uint32_t	snd_una, snd_next, msgno;
	uint32_t	q_end;		/* after the last queued (unsent) packet */
	uint32_t	cwnd, flow;
	uint32_t	snd_loss_n;
	uint32_t	snd_loss_lo;	/* no lost packet before it (while n > 0) */
	uint64_t	blind_at, blind_iv;
	/*
	 * The sender's own round trip, packet sent to its ACK (so including
	 * the receiver's ACK delay), for the blind-resend timer: 0 until a
	 * first sample.  Not the ACK's RTT field (the receiver's ACK/ACK2
	 * estimate, which starts at 0 and converges from there).
	 */
	uint32_t	srtt, srtt_var;
	uint64_t	ack_at;		/* last ACK progress (or nothing in flight) */
	int		waiting, ack_progress;
	int		probe_only;	/* udt_set_probe_only */
	/* udt_stream_end: total application bytes, the reordered pair */
	int		end_known, end_done, end_nak_seen;
	uint64_t	end_total;
	uint32_t	end_seq;	/* the earlier of the two, sent second */
	/* congestion control (native DAIMD, §9.5) */
	uint64_t	cc_last_rc;
	int		cc_loss;
	uint32_t	cc_last_dec_seq;
	double		cc_last_dec_period;
	double		snd_period;
	int		cc_nak_count, cc_dec_random, cc_avg_nak, cc_dec_count;

	/* receiver */
	uint32_t	rcv_next;	/* highest received + 1 */
	uint32_t	rcv_last;	/* last delivered in order */
	uint32_t	sent_ack, recv_ack2, ack_id, unack;
	uint32_t	adv;		/* receive window in the last ACK sent */
	uint32_t	rcv_loss_n;
	uint64_t	nak_due;	/* a gap's first NAK is due (0: none waits) */
	struct limiter	ack_lim, nak_lim;
	struct ack_rec	hist[UDT_ACK_HIST];
	unsigned	hist_n;
	uint64_t	last_arrival, last_probe;
	int		have_arrival, have_probe;
	uint32_t	arr_hist[UDT_SPEED_WIN], probe_hist[UDT_SPEED_WIN];
	unsigned	arr_n, arr_pos, probe_n, probe_pos;
	uint64_t	link_sent_at;
	int		link_sent;

	struct udt_stats stats;

	/* s_len: bytes queued in unsent packets; the receive byte ring */
	size_t		s_len, r_head, r_len;
	/* udt_recv_post: the application's buffer, in-order data lands there */
	uint8_t		*post_buf;
	size_t		post_cap, post_len;
	uint8_t		rbuf[UDT_RCVBUF_BYTES];
	struct sslot	ss[SND_SLOTS];
	struct rslot	rs[UDT_SLOTS];
};

static void	flush(struct udt_conn *);

/* ---- small helpers ---- */

static uint64_t
now_us(struct udt_conn *c)
{
	c->now = c->env.now_us(c->env.ctx);
	return c->now;
}

static uint32_t
ts32(const struct udt_conn *c)
{
	return (uint32_t)(c->now - c->created);
}

static uint32_t
rnd32(struct udt_conn *c)
{
	uint8_t b[4];

	c->env.random(c->env.ctx, b, sizeof(b));
	return buf_be32(b);
}

static void
lim_reset(struct limiter *l, uint64_t now)
{
	l->start = now;
	l->wait = UDT_SYN_US;
}

static int
lim_allow(struct limiter *l, uint64_t now, uint64_t cap)
{
	if (l->wait == 0 || now <= l->start + l->wait)
		return 0;
	l->wait *= 2;
	if (l->wait > cap)
		l->wait = cap;
	l->start = now;
	return 1;
}

static void
fail(struct udt_conn *c, int err)
{
	if (c->st == UDT_ST_ERROR || c->st == UDT_ST_CLOSED)
		return;
	c->st = UDT_ST_ERROR;
	c->err = err;
}

static uint32_t
clamp_flow(uint32_t w)
{
	if (w < 2)
		return 2;
	if (w > UDT_SLOTS - 2)
		return UDT_SLOTS - 2;
	return w;
}

static uint32_t
in_flight(const struct udt_conn *c)
{
	return (uint32_t)udt_seq_diff(c->snd_next, c->snd_una);
}

static void
ring_put(uint8_t *ring, size_t cap, size_t head, size_t len, const uint8_t *src,
    size_t n)
{
	size_t at = (head + len) % cap, first = cap - at;

	if (first > n)
		first = n;
	memcpy(ring + at, src, first);
	memcpy(ring, src + first, n - first);
}

static void
ring_get(const uint8_t *ring, size_t cap, size_t head, uint8_t *dst, size_t n)
{
	size_t first = cap - head;

	if (first > n)
		first = n;
	memcpy(dst, ring + head, first);
	memcpy(dst + first, ring, n - first);
}

/*
 * Where in-order data goes: the posted buffer (udt_recv_post) while the
 * ring is empty, so that it stays in stream order, else the ring.
 */
static inline size_t
app_room(const struct udt_conn *c)
{
	size_t room = UDT_RCVBUF_BYTES - c->r_len;

	if (c->post_buf != NULL && c->r_len == 0)
		room += c->post_cap - c->post_len;
	return room;
}

/* len bytes of in-order data to the application (room checked). */
static inline void
app_put(struct udt_conn *c, const uint8_t *data, size_t len)
{
	size_t k;

	c->stats.bytes_recv += len;
	if (c->post_buf != NULL && c->r_len == 0) {
		k = c->post_cap - c->post_len;
		if (k > len)
			k = len;
		memcpy(c->post_buf + c->post_len, data, k);
		c->post_len += k;
		data += k;
		len -= k;
	}
	if (len > 0) {
		ring_put(c->rbuf, UDT_RCVBUF_BYTES, c->r_head, c->r_len, data, len);
		c->r_len += len;
	}
}

/*
 * The receiver's repeated NAK backs off up to one EXP interval of its RTT
 * (RTT + 4 x variation, from ACK/ACK2), not to UDT_BACKOFF_MAX_US: under
 * heavy loss the repeats themselves get lost, and a loss list NAKed once
 * a second leaves the sender idle.  Once per round trip cannot ask for a
 * packet again before its resend could have arrived.  Receiver-side
 * timing only (wire-neutral); before an RTT sample the old cap.
 */
static uint64_t
nak_backoff_cap(const struct udt_conn *c)
{
	uint64_t iv;

	if (c->rtt == 0)
		return UDT_BACKOFF_MAX_US;
	iv = (uint64_t)c->rtt + 4ULL * c->rtt_var;
	if (iv < UDT_SYN_US)
		iv = UDT_SYN_US;
	return iv > UDT_BACKOFF_MAX_US ? UDT_BACKOFF_MAX_US : iv;
}

/*
 * How long a gap waits before its first NAK: a quarter of the round trip
 * (the reordering window of RACK), between UDT_REORDER_MIN_US and
 * UDT_REORDER_MAX_US; UDT_REORDER_INIT_US before an RTT sample.
 */
static uint64_t
reorder_win(const struct udt_conn *c)
{
	uint64_t w;

	if (c->rtt == 0)
		return UDT_REORDER_INIT_US;
	w = c->rtt / 4;
	if (w < UDT_REORDER_MIN_US)
		w = UDT_REORDER_MIN_US;
	return w > UDT_REORDER_MAX_US ? UDT_REORDER_MAX_US : w;
}

/*
 * The receiver's liveness probe (udt.h, UDT_PROBE_*): while it holds a
 * stream in progress and has nothing in flight itself, a silent peer is
 * asked with an ACK of what arrived (the same ACK it would send anyway, so
 * valid for any UDT sender; the reference's answers every ACK with an
 * ACK2) after one EXP interval, doubling.
 */
static int
live_probe_active(const struct udt_conn *c)
{
	return c->st == UDT_ST_CONNECTED &&
	    c->rcv_last != udt_seq_add(c->isn, -1) &&
	    udt_seq_diff(c->snd_next, c->snd_una) == 0;
}

/* A packet came: the peer is there, the next probe one interval away. */
static void
live_probe_reset(struct udt_conn *c)
{
	uint64_t iv = (uint64_t)c->rtt + 4ULL * c->rtt_var + UDT_SYN_US;

	c->live_n = 0;
	c->live_iv = iv < UDT_PROBE_MIN_US ? UDT_PROBE_MIN_US : iv;
	if (c->live_iv > UDT_PROBE_MAX_US)
		c->live_iv = UDT_PROBE_MAX_US;
	c->live_at = c->now + c->live_iv;
}

/* ---- output ---- */

static void
emit(struct udt_conn *c, const uint8_t *p, size_t len)
{
	/* A failed send is a lost packet; UDT recovers from it. */
	(void)c->env.send(c->env.ctx, p, len);
}

static void
send_ctrl(struct udt_conn *c, struct udt_pkt *p)
{
	uint8_t out[UDT_PKT_MAX];
	size_t n;

	p->is_ctrl = 1;
	if (udt_pkt_encode(out, sizeof(out), &n, p) == UDT_OK)
		emit(c, out, n);
}

static void
send_simple(struct udt_conn *c, uint16_t type, uint32_t info)
{
	struct udt_pkt p;

	memset(&p, 0, sizeof(p));
	p.type = type;
	p.info = info;
	p.ts = ts32(c);
	p.dst = c->peer_id;
	send_ctrl(c, &p);
}

static void
send_hs(struct udt_conn *c, uint32_t dst, uint32_t ts, int32_t req,
    uint32_t sock_type, uint32_t flow, uint32_t sock_id)
{
	struct udt_pkt p;

	memset(&p, 0, sizeof(p));
	p.type = UDT_CTRL_HANDSHAKE;
	p.ts = ts;
	p.dst = dst;
	p.u.hs.version = UDT_VERSION;
	p.u.hs.sock_type = sock_type;
	p.u.hs.init_seq = c->isn;
	p.u.hs.flow_win = flow;
	p.u.hs.req_type = req;
	p.u.hs.sock_id = sock_id;
	send_ctrl(c, &p);
}

static void
transmit(struct udt_conn *c, struct sslot *s)
{
	buf_put_be32(s->pkt + 8, ts32(c));
	buf_put_be32(s->pkt + 12, c->peer_id);	/* not known when queued */
	s->last_tx = c->now;
	c->stats.pkts_sent++;
	emit(c, s->pkt, s->len);
}

/* ---- connection set-up ---- */

/*
 * A connection is ~3.7 MB, mostly packet slots a short transfer never
 * touches (a chain block: a few dozen).  From the heap it came back as
 * memory glibc had to clear (calloc's memset of all 3.7 MB, every Get Block
 * of a cache sync: 2.7 % of a transfer's samples when a block fetch ran
 * beside it) and went back only through malloc_trim.  Mapped on its own,
 * it costs the pages used, zero-filled by the kernel on first touch, and
 * munmap returns it at once.  Under AddressSanitizer the heap stays, so
 * overruns of the struct are still caught.
 */
#if defined(__SANITIZE_ADDRESS__)
#define UDT_CONN_HEAP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UDT_CONN_HEAP 1
#endif
#endif

static struct udt_conn *
conn_alloc(void)
{
#ifdef UDT_CONN_HEAP
	return calloc(1, sizeof(struct udt_conn));
#else
	void *m = mmap(NULL, sizeof(struct udt_conn), PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return m == MAP_FAILED ? NULL : m;
#endif
}

static void
conn_release(struct udt_conn *c)
{
#ifdef UDT_CONN_HEAP
	free(c);
#else
	munmap(c, sizeof(*c));
#endif
}

struct udt_conn *
udt_conn_new(const struct udt_env *env)
{
	struct udt_conn *c;

	if (env == NULL || env->now_us == NULL || env->send == NULL ||
	    env->random == NULL)
		return NULL;
	if ((c = conn_alloc()) == NULL)
		return NULL;
	c->env = *env;
	c->idle_us = UDT_IDLE_FILE_US;
	c->st = UDT_ST_INIT;
	return c;
}

void
udt_conn_free(struct udt_conn *c)
{
	if (c != NULL)
		conn_release(c);
}

void
udt_set_idle_timeout(struct udt_conn *c, uint64_t us)
{
	if (c != NULL && us > 0)
		c->idle_us = us;
}

/*
 * A handshake's flow window is the peer's maximum: at most ours
 * (UDT_FLOW_WIN), at least 2 as for an ACK's.
 */
static uint32_t
clamp_hs_flow(uint32_t w)
{
	w = clamp_flow(w);
	return w > UDT_FLOW_WIN ? UDT_FLOW_WIN : w;
}

/* Both directions start at the client's initial sequence (§9.5). */
static void
start_data_phase(struct udt_conn *c, uint32_t peer_flow)
{
	c->st = UDT_ST_CONNECTED;
	c->snd_una = c->snd_next = c->isn;
	if (c->is_server) {	/* a client queued from its own isn on */
		c->q_end = c->isn;
		c->msgno = 0;
	}
	c->cwnd = UDT_CWND_INIT;
	c->flow = clamp_hs_flow(peer_flow);
	c->rcv_next = c->isn;
	c->rcv_last = udt_seq_add(c->isn, -1);
	c->sent_ack = c->recv_ack2 = c->isn;
	c->delivery_rate = 16;		/* the reference's starting values */
	c->bandwidth = 1;
	c->snd_period = 1.0;
	c->cc_last_dec_period = 1.0;
	c->cc_last_dec_seq = udt_seq_add(c->isn, -1);
	c->cc_dec_random = 1;
	c->cc_last_rc = c->now;
	lim_reset(&c->ack_lim, c->now);
	lim_reset(&c->nak_lim, c->now);
	c->syn_at = c->now + UDT_SYN_US;
	c->last_rx = c->last_busy = c->now;
	c->ack_at = c->now;
}

/*
 * What a connection that cannot move data answers (UDT_ST_CLOSED,
 * UDT_ST_ERROR, or a state the call does not expect).
 */
static int
state_err(const struct udt_conn *c)
{
	switch (c->st) {
	case UDT_ST_CLOSED:
		return UDT_ERR_CLOSED;
	case UDT_ST_ERROR:
		return c->err;
	default:
		return UDT_ERR_STATE;
	}
}

/* udt_listen and udt_connect start from UDT_ST_INIT only. */
static int
leave_init(struct udt_conn *c)
{
	if (c == NULL)
		return UDT_ERR_ARG;
	if (c->st != UDT_ST_INIT)
		return UDT_ERR_STATE;
	now_us(c);
	return UDT_OK;
}

int
udt_listen(struct udt_conn *c)
{
	int rc;

	if ((rc = leave_init(c)) != UDT_OK)
		return rc;
	c->is_server = 1;
	c->st = UDT_ST_LISTEN;
	c->last_rx = c->last_busy = c->now;
	return UDT_OK;
}

int
udt_accept(struct udt_conn *c)
{
	if (c == NULL || !c->is_server)
		return UDT_ERR_ARG;
	switch (c->st) {
	case UDT_ST_LISTEN:
		return UDT_ERR_AGAIN;
	case UDT_ST_CONNECTED:
	case UDT_ST_CLOSING:
		return UDT_OK;
	default:
		return state_err(c);
	}
}

int
udt_connect(struct udt_conn *c)
{
	int rc;

	if ((rc = leave_init(c)) != UDT_OK)
		return rc;
	c->created = c->now;
	do
		c->sock_id = rnd32(c);
	while (c->sock_id == 0);
	c->isn = rnd32(c) & UDT_SEQ_MASK;
	c->snd_una = c->snd_next = c->q_end = c->isn;	/* udt_write may queue now */
	c->msgno = 0;
	c->hs_step3 = 0;
	c->st = UDT_ST_CONNECTING;
	c->conn_start = c->now;
	c->conn_retry_at = c->now + UDT_CONNECT_RETRY_US;
	c->last_rx = c->last_busy = c->now;
	send_hs(c, 0, ts32(c), UDT_HS_REQUEST, UDT_SOCK_STREAM, UDT_FLOW_WIN,
	    c->sock_id);
	return UDT_OK;
}

/* Listener: remembers a step 1 it answered (the oldest is forgotten). */
static void
hs_seen_add(struct udt_conn *c, uint32_t sock_id, uint32_t isn)
{
	unsigned i;

	for (i = 0; i < c->hs_seen_n; i++)
		if (c->hs_seen[i].sock_id == sock_id && c->hs_seen[i].isn == isn)
			return;
	c->hs_seen[c->hs_seen_pos].sock_id = sock_id;
	c->hs_seen[c->hs_seen_pos].isn = isn;
	c->hs_seen_pos = (c->hs_seen_pos + 1) % UDT_HS_SEEN;
	if (c->hs_seen_n < UDT_HS_SEEN)
		c->hs_seen_n++;
}

static int
hs_seen_has(const struct udt_conn *c, uint32_t sock_id, uint32_t isn)
{
	unsigned i;

	for (i = 0; i < c->hs_seen_n; i++)
		if (c->hs_seen[i].sock_id == sock_id && c->hs_seen[i].isn == isn)
			return 1;
	return 0;
}

/*
 * The listener's side (§9.5): step 1 -> step 2 (stateless but for the
 * pair remembered), step 3 -> socket and step 4, a duplicate step 3 ->
 * step 4 again.
 */
static int
input_handshake_server(struct udt_conn *c, const struct udt_pkt *p)
{
	const typeof(p->u.hs) *h = &p->u.hs;

	if (p->dst != 0)
		return p->dst == c->sock_id ? UDT_ERR_DROP_HS :
		    UDT_ERR_DROP_SOCKET;
	/* the client's socket ID is where everything goes; X is 31 bits */
	if (h->sock_id == 0 || h->init_seq > UDT_SEQ_MASK)
		return UDT_ERR_DROP_HS;
	if (h->req_type == UDT_HS_REQUEST) {
		/* Step 2, echoing X with socket ID 0. */
		uint32_t isn = c->isn;

		if (c->st == UDT_ST_LISTEN)
			hs_seen_add(c, h->sock_id, h->init_seq);
		c->isn = h->init_seq;
		send_hs(c, h->sock_id, 0, UDT_HS_REQUEST, h->sock_type, 0, 0);
		c->isn = isn;
		return UDT_OK;
	}
	if (h->req_type != UDT_HS_RESPONSE)
		return UDT_ERR_DROP_HS;
	if (c->st == UDT_ST_LISTEN) {
		/* Step 3 answers our step 2 only. */
		if (!hs_seen_has(c, h->sock_id, h->init_seq))
			return UDT_ERR_DROP_HS_ORDER;
		/* Create the socket, adopt X, answer step 4. */
		c->created = c->now;
		c->peer_id = h->sock_id;
		c->isn = h->init_seq;
		do
			c->sock_id = rnd32(c);
		while (c->sock_id == 0);
		start_data_phase(c, h->flow_win);
	} else if (c->st == UDT_ST_CONNECTED || c->st == UDT_ST_CLOSING) {
		if (h->sock_id != c->peer_id || h->init_seq != c->isn)
			return UDT_ERR_DROP_HS;
	} else
		return UDT_ERR_DROP_STATE;
	send_hs(c, c->peer_id, ts32(c), UDT_HS_RESPONSE, UDT_SOCK_STREAM,
	    UDT_FLOW_WIN, c->sock_id);
	return UDT_OK;
}

/* The client's side (§9.5): step 2 -> step 3, then step 4 -> connected. */
static int
input_handshake_client(struct udt_conn *c, const struct udt_pkt *p)
{
	const typeof(p->u.hs) *h = &p->u.hs;

	if (p->dst != c->sock_id)
		return UDT_ERR_DROP_SOCKET;
	if (c->st != UDT_ST_CONNECTING)
		return UDT_ERR_DROP_HS;
	if (h->req_type == UDT_HS_REFUSED) {
		fail(c, UDT_ERR_REFUSED);
		return UDT_OK;
	}
	if (h->init_seq != c->isn)
		return UDT_ERR_DROP_HS;
	if (h->req_type == UDT_HS_REQUEST) {
		/* Step 2 (again, if our step 1 was repeated): step 3. */
		c->hs_step3 = 1;
		send_hs(c, 0, ts32(c), UDT_HS_RESPONSE, UDT_SOCK_STREAM,
		    UDT_FLOW_WIN, c->sock_id);
		return UDT_OK;
	}
	if (h->req_type != UDT_HS_RESPONSE)
		return UDT_ERR_DROP_HS;
	/* Step 4 answers our step 3 only, and names the server's socket. */
	if (!c->hs_step3)
		return UDT_ERR_DROP_HS_ORDER;
	if (h->sock_id == 0)
		return UDT_ERR_DROP_HS;
	c->peer_id = h->sock_id;
	start_data_phase(c, h->flow_win);
	return UDT_OK;
}

static int
input_handshake(struct udt_conn *c, const struct udt_pkt *p)
{
	const typeof(p->u.hs) *h = &p->u.hs;

	if (h->version != UDT_VERSION || h->sock_type != UDT_SOCK_STREAM)
		return UDT_ERR_DROP_HS;
	return c->is_server ? input_handshake_server(c, p) :
	    input_handshake_client(c, p);
}

/* ---- receiver ---- */

static void
hist_push(uint32_t *h, unsigned *n, unsigned *pos, uint64_t v)
{
	h[*pos] = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
	*pos = (*pos + 1) % UDT_SPEED_WIN;
	if (*n < UDT_SPEED_WIN)
		(*n)++;
}

static uint32_t
median_sorted(const uint32_t *h, unsigned n, uint32_t *sorted)
{
	unsigned i, j;
	uint32_t v;

	for (i = 0; i < n; i++) {
		v = h[i];
		for (j = i; j > 0 && sorted[j - 1] > v; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = v;
	}
	return sorted[n / 2];
}

/* Arrival speed and capacity, median-filtered as the reference does. */
static void
rcv_speeds(const struct udt_conn *c, uint32_t *speed, uint32_t *bw)
{
	uint32_t s[UDT_SPEED_WIN], med;
	uint64_t sum, up, lo;
	unsigned i, count;

	*speed = *bw = 0;
	if (c->arr_n > 0) {
		med = median_sorted(c->arr_hist, c->arr_n, s);
		up = (uint64_t)med << 3;
		lo = med >> 3;
		for (i = count = 0, sum = 0; i < c->arr_n; i++)
			if (s[i] < up && s[i] > lo) {
				count++;
				sum += s[i];
			}
		if (count > (c->arr_n >> 1)) {
			if (sum == 0)
				sum = 1000;
			*speed = (uint32_t)(1000000ULL * count / sum);
		} else if (med == 0 && c->arr_n == UDT_SPEED_WIN) {
			/*
			 * Most packets came within the same microsecond (a
			 * batch from recvmmsg, or an in-memory link): the
			 * reference's filter keeps none of them and reports
			 * nothing, so a sender's window stays at its initial
			 * 16 packets.  The whole window's span says how fast
			 * they came (at least 1 µs: an upper bound of 10^6
			 * packets/s per interval).  Ours to choose: the
			 * receiver's estimate.
			 */
			for (i = 0, sum = 0; i < c->arr_n; i++)
				sum += s[i];
			*speed = (uint32_t)(1000000ULL * c->arr_n /
			    (sum > 0 ? sum : 1));
		}
	}
	if (c->live_n > 0) {
		med = median_sorted(c->probe_hist, c->live_n, s);
		up = (uint64_t)med << 3;
		lo = med >> 3;
		count = 1;
		sum = med;
		for (i = 0; i < c->live_n; i++)
			if (s[i] < up && s[i] > lo) {
				count++;
				sum += s[i];
			}
		if (sum == 0)
			sum = 1000;
		*bw = (uint32_t)(1000000ULL * count / sum);
	}
}

static void
apply_rtt(struct udt_conn *c, uint64_t sample)
{
	uint32_t s = sample > UINT32_MAX ? UINT32_MAX : (uint32_t)sample;
	uint32_t d = c->rtt > s ? c->rtt - s : s - c->rtt;

	c->rtt_var = (uint32_t)(((uint64_t)c->rtt_var * 3 + d) / 4);
	c->rtt = (uint32_t)(((uint64_t)c->rtt * 7 + s) / 8);
}

/*
 * The receive window we advertise: UDT_RCV_WIN less the packets held out
 * of order (the reference: 64 less them), and never more than the free room
 * of the application ring, counted from the last delivered packet as the
 * sender counts its window from the last ACK.  So a slow reader shrinks the
 * sender's window instead of leaving it to time out and blindly resend.
 */
static uint32_t
rcv_avail(const struct udt_conn *c)
{
	int32_t pend = udt_seq_diff(c->rcv_next, c->rcv_last) - 1;
	int64_t avail = UDT_RCV_WIN - pend;
	int64_t room = (int64_t)(app_room(c) / UDT_DATA_MAX);

	if (avail > room)
		avail = room;
	return avail < 2 ? 2 : (uint32_t)avail;
}

static void
send_ack(struct udt_conn *c, uint32_t ack)
{
	struct udt_pkt p;
	uint32_t avail;

	c->sent_ack = ack;
	c->ack_id++;
	if (c->hist_n == UDT_ACK_HIST) {	/* forget the oldest */
		memmove(c->hist, c->hist + 1, sizeof(c->hist[0]) *
		    (UDT_ACK_HIST - 1));
		c->hist_n--;
	}
	c->hist[c->hist_n].id = c->ack_id;
	c->hist[c->hist_n].seq = ack;
	c->hist[c->hist_n].t = c->now;
	c->hist_n++;

	avail = rcv_avail(c);
	c->adv = avail;

	memset(&p, 0, sizeof(p));
	p.type = UDT_CTRL_ACK;
	p.info = c->ack_id;
	p.ts = ts32(c);
	p.dst = c->peer_id;
	p.u.ack.nfields = 4;
	p.u.ack.seq = ack;
	p.u.ack.rtt = c->rtt;
	p.u.ack.rtt_var = c->rtt_var;
	p.u.ack.avail = avail;
	if (!c->link_sent || c->now - c->link_sent_at >= UDT_SYN_US) {
		c->link_sent = 1;
		c->link_sent_at = c->now;
		rcv_speeds(c, &p.u.ack.rate, &p.u.ack.cap);
		p.u.ack.nfields = 6;
	}
	c->stats.acks_sent++;
	send_ctrl(c, &p);
}

static void
send_nak_list(struct udt_conn *c, const uint8_t *raw, uint32_t count)
{
	struct udt_pkt p;

	memset(&p, 0, sizeof(p));
	p.type = UDT_CTRL_NAK;
	p.ts = ts32(c);
	p.dst = c->peer_id;
	p.u.nak.raw = raw;
	p.u.nak.n = count;
	c->stats.naks_sent++;
	send_ctrl(c, &p);
}

/*
 * The reference lists every lost number, never a range (§9.4); never more
 * than fits one packet (299): the rest is NAKed by the next due time or
 * the SYN timer (nak_due_gaps, resend_rcv_losses).
 */

static void
ack_event(struct udt_conn *c, int immediate)
{
	uint32_t ack = udt_seq_add(c->rcv_last, 1);

	c->unack++;
	if (udt_seq_diff(ack, c->sent_ack) <= 0)
		return;
	if (!immediate && c->unack < UDT_ACK_EVERY) {
		/* the SYN timer picks it up if no more packets come */
		c->sent_ack = ack;
		return;
	}
	send_ack(c, ack);
	c->unack = 0;
	lim_reset(&c->ack_lim, c->now);
}

/* Moves buffered in-order packets to the application ring. */
static void
deliver(struct udt_conn *c, int immediate)
{
	struct rslot *r;
	uint32_t next;
	int n = 0;

	for (;;) {
		next = udt_seq_add(c->rcv_last, 1);
		if (next == c->rcv_next)
			break;
		r = &c->rs[next & SLOT_MASK];
		if (r->state != RS_HAVE || app_room(c) < r->len)
			break;
		app_put(c, r->data, r->len);
		r->state = RS_EMPTY;
		c->rcv_last = next;
		n++;
	}
	if (n > 0)
		ack_event(c, immediate);
}

/*
 * A duplicate is a sender's blind resend: answered with a keep-alive (at
 * most every UDT_PROBE_MIN_US), so that a sender whose window we keep
 * full (our reader is slow) hears we are alive and does not take us for
 * gone (UDT_BROKEN_*).  A keep-alive changes nothing at the sender (an
 * ACK here would: measured, it halved throughput under loss).
 */
static void
dup_answer(struct udt_conn *c)
{
	if (c->dup_ack_at != 0 && c->now - c->dup_ack_at < UDT_PROBE_MIN_US)
		return;
	c->dup_ack_at = c->now;
	send_simple(c, UDT_CTRL_KEEPALIVE, 0);
}

static int
input_data(struct udt_conn *c, const struct udt_pkt *p)
{
	struct rslot *r;
	int32_t off, d, i;
	uint32_t seq = p->seq & UDT_SEQ_MASK;
	int immediate = 0;

	/* PKT history and probe windows, as the reference keeps them */
	if (((seq - 1) & 0xf) == 0) {
		if (c->have_probe)
			hist_push(c->probe_hist, &c->live_n, &c->probe_pos,
			    c->now - c->last_probe);
		c->have_probe = 1;
		c->last_probe = c->now;
	}
	if (c->have_arrival)
		hist_push(c->arr_hist, &c->arr_n, &c->arr_pos,
		    c->now - c->last_arrival);
	c->have_arrival = 1;
	c->last_arrival = c->now;

	off = udt_seq_diff(seq, udt_seq_add(c->rcv_last, 1));
	if (off < 0) {
		c->stats.dup_recv++;
		dup_answer(c);
		return UDT_ERR_DROP_DUP;
	}
	if (off >= UDT_SLOTS)
		return UDT_ERR_DROP_WINDOW;
	d = udt_seq_diff(seq, c->rcv_next);
	if (d == 0 && off == 0 &&
	    app_room(c) >= p->data_len) {
		/* the common case: next in order, straight to the application */
		app_put(c, p->data, p->data_len);
		c->stats.pkts_recv++;
		c->rcv_last = seq;
		c->rcv_next = udt_seq_add(seq, 1);
		ack_event(c, 0);
		return UDT_OK;
	}
	r = &c->rs[seq & SLOT_MASK];
	if (d > 0) {
		for (i = 0; i < d; i++) {
			struct rslot *l = &c->rs[udt_seq_add(c->rcv_next, i) & SLOT_MASK];

			l->state = RS_LOST;
			l->lost_at = c->now;
			l->naked = 0;
		}
		c->rcv_loss_n += (uint32_t)d;
		/* the gap's NAK waits reorder_win (udt.h, UDT_REORDER_*) */
		if (c->nak_due == 0)
			c->nak_due = c->now + reorder_win(c);
		c->rcv_next = udt_seq_add(seq, 1);
	} else if (d < 0) {
		if (r->state != RS_LOST) {
			c->stats.dup_recv++;
			dup_answer(c);
			return UDT_ERR_DROP_DUP;
		}
		c->rcv_loss_n--;
		immediate = 1;
	} else
		c->rcv_next = udt_seq_add(seq, 1);
	r->state = RS_HAVE;
	r->len = (uint16_t)p->data_len;
	memcpy(r->data, p->data, p->data_len);
	c->stats.pkts_recv++;
	deliver(c, immediate);
	return UDT_OK;
}

static int
input_ack2(struct udt_conn *c, const struct udt_pkt *p)
{
	unsigned i, j;
	uint32_t seq;

	for (i = 0; i < c->hist_n; i++)
		if (c->hist[i].id == p->info)
			break;
	if (i == c->hist_n) {
		c->stats.stale_ctrl++;
		return UDT_ERR_DROP_STALE;
	}
	seq = c->hist[i].seq;
	c->recv_ack2 = seq;
	apply_rtt(c, c->now - c->hist[i].t);
	/* this one and every older ACK are settled */
	for (i = j = 0; i < c->hist_n; i++)
		if (udt_seq_diff(c->hist[i].seq, seq) > 0)
			c->hist[j++] = c->hist[i];
	c->hist_n = j;
	return UDT_OK;
}

/*
 * The SYN timer's NAK.  The reference repeats only the first missing
 * number; with a window of UDT_RCV_WIN packets under heavy loss that leaves
 * the other holes to the sender's blind retransmission, so we repeat the
 * whole receive loss list (one packet's worth, oldest first).  Wire-neutral:
 * a NAK with more entries is what the reference sends on a gap anyway.
 */
static void
resend_rcv_losses(struct udt_conn *c)
{
	uint8_t raw[4 * UDT_NAK_MAX_ENTRIES];
	uint32_t s = udt_seq_add(c->rcv_last, 1), n = 0;

	for (; s != c->rcv_next && n < UDT_NAK_MAX_ENTRIES; s = udt_seq_add(s, 1))
		if (c->rs[s & SLOT_MASK].state == RS_LOST &&
		    c->rs[s & SLOT_MASK].naked)
			buf_put_be32(raw + 4 * n++, s);
	if (n > 0)
		send_nak_list(c, raw, n);
}

/*
 * The first NAK of the gaps that waited reorder_win and are still open
 * (a packet that was only overtaken has arrived meanwhile); the next
 * waiting gap's due time after them.
 */
static void
nak_due_gaps(struct udt_conn *c)
{
	uint8_t raw[4 * UDT_NAK_MAX_ENTRIES];
	uint32_t s = udt_seq_add(c->rcv_last, 1), n = 0;
	uint64_t win = reorder_win(c), next = 0;
	struct rslot *r;

	for (; s != c->rcv_next; s = udt_seq_add(s, 1)) {
		r = &c->rs[s & SLOT_MASK];
		if (r->state != RS_LOST || r->naked)
			continue;
		if (r->lost_at + win > c->now || n == UDT_NAK_MAX_ENTRIES) {
			if (next == 0 || r->lost_at + win < next)
				next = r->lost_at + win > c->now ? r->lost_at + win : c->now;
			continue;
		}
		r->naked = 1;
		buf_put_be32(raw + 4 * n++, s);
	}
	c->nak_due = next;
	if (n > 0) {
		send_nak_list(c, raw, n);
		lim_reset(&c->nak_lim, c->now);
	}
}

/* ---- sender ---- */

/* Smallest power of ten ≥ x (x > 0): 10^ceil(log10(x)) without libm. */
static double
pow10_ceil(double x)
{
	double p = 1.0;

	if (x <= 1.0) {
		while (p / 10.0 >= x && p > 1e-12)
			p /= 10.0;
		return p;
	}
	while (p < x && p < 1e300)
		p *= 10.0;
	return p;
}

static void
cc_on_ack(struct udt_conn *c)
{
	uint64_t w;
	double snd, b, inc;

	if (c->now - c->cc_last_rc < UDT_SYN_US)
		return;
	c->cc_last_rc = c->now;
	/* CWND = A * (RTT + SYN) + 16; slow start is disabled (§9.5) */
	w = (uint64_t)c->delivery_rate * (c->rtt + UDT_SYN_US) / 1000000 + 16;
	c->cwnd = w > (1U << 20) ? (1U << 20) : (uint32_t)w;
	if (c->cc_loss) {
		c->cc_loss = 0;
		return;
	}
	snd = c->snd_period > 0 ? c->snd_period : 0.01;
	b = (double)c->bandwidth - 1e6 / snd;
	if (snd > c->cc_last_dec_period && (double)(c->bandwidth / 9) < b)
		b = (double)(c->bandwidth / 9);
	if (b <= 0)
		inc = 0.01;
	else {
		inc = pow10_ceil(b * MSS * 8.0) * 0.0000015 / MSS;
		if (inc < 0.01)
			inc = 0.01;
	}
	c->snd_period = snd * (double)UDT_SYN_US / (snd * inc +
	    (double)UDT_SYN_US);
}

static void
cc_on_nak(struct udt_conn *c, uint32_t first_loss)
{
	double r;
	int ceil_avg;

	c->cc_loss = 1;
	/* the reference's (inverted) "new congestion period" test */
	if (udt_seq_diff(c->cc_last_dec_seq, first_loss) > 0) {
		c->cc_last_dec_period = c->snd_period;
		c->snd_period *= 1.125;
		r = (double)c->cc_avg_nak * 0.875 +
		    (double)c->cc_nak_count * 0.125;
		ceil_avg = (int)r;
		if ((double)ceil_avg < r)
			ceil_avg++;
		c->cc_avg_nak = ceil_avg;
		c->cc_nak_count = 1;
		c->cc_dec_count = 1;
		c->cc_last_dec_seq = udt_seq_add(c->snd_next, -1);
		r = (double)rnd32(c) / 4294967295.0 * c->cc_avg_nak;
		c->cc_dec_random = (int)r;
		if ((double)c->cc_dec_random < r)
			c->cc_dec_random++;
		if (c->cc_dec_random < 1)
			c->cc_dec_random = 1;
		return;
	}
	if (c->cc_dec_count < 5) {
		c->cc_nak_count++;
		if (c->cc_dec_random != 0 &&
		    c->cc_nak_count % c->cc_dec_random != 0) {
			c->cc_dec_count++;
			return;
		}
	}
	c->cc_dec_count++;
	c->snd_period *= 1.125;
	c->cc_last_dec_seq = udt_seq_add(c->snd_next, -1);
}

/*
 * The sender's RTT sample: the newest packet an ACK covers, from its
 * transmission to now; only when nothing the ACK covers was sent twice
 * (Karn; an ACK held back by a hole that a resend filled says how long
 * the repair took, not the round trip).  First sample as is (variation
 * half of it), then the usual 1/8 and 1/4 averages.
 */
static void
snd_rtt_sample(struct udt_conn *c, uint32_t from, uint32_t to)
{
	const struct sslot *s = &c->ss[udt_seq_add(to, -1) & SSLOT_MASK];
	uint64_t v;
	uint32_t r, d, q;

	for (q = from; q != to; q = udt_seq_add(q, 1))
		if (c->ss[q & SSLOT_MASK].resent)
			return;
	if (s->last_tx == 0 || c->now < s->last_tx)
		return;
	v = c->now - s->last_tx;
	r = v > UDT_BACKOFF_MAX_US ? (uint32_t)UDT_BACKOFF_MAX_US : (uint32_t)v;
	if (c->srtt == 0) {
		c->srtt = r > 0 ? r : 1;
		c->srtt_var = r / 2;
		return;
	}
	d = c->srtt > r ? c->srtt - r : r - c->srtt;
	c->srtt_var = (uint32_t)(((uint64_t)c->srtt_var * 3 + d) / 4);
	c->srtt = (uint32_t)(((uint64_t)c->srtt * 7 + r) / 8);
	if (c->srtt == 0)
		c->srtt = 1;
}

/*
 * How long a full window waits for an ACK before the blind resend: UDT's
 * EXP interval, RTT + 4 x RTT variation (our RTT includes the receiver's
 * ACK delay), at least UDT_SYN_US; UDT_BLIND_FIRST_US before a first
 * sample.  Towards a reference receiver the probe keeps UDT_SYN_US: one
 * packet, and the reference's reader stalls are what it is for.
 */
static uint64_t
blind_first_iv(const struct udt_conn *c)
{
	uint64_t iv;

	if (c->probe_only)
		return UDT_SYN_US;
	if (c->srtt == 0)
		return UDT_BLIND_FIRST_US;
	iv = (uint64_t)c->srtt + 4ULL * c->srtt_var;
	return iv < UDT_SYN_US ? UDT_SYN_US : iv;
}

static int
input_ack(struct udt_conn *c, const struct udt_pkt *p)
{
	uint32_t old, s;
	struct sslot *sl;

	c->stats.acks_recv++;
	/* every ACK, even a stale one, gets its ACK2 */
	send_simple(c, UDT_CTRL_ACK2, p->info);
	if (p->u.ack.nfields < 4)
		return UDT_OK;		/* light ACK: the reference ignores it */
	if (udt_seq_diff(p->u.ack.seq, c->snd_next) > 0) {
		fail(c, UDT_ERR_PROTO);
		return UDT_ERR_PROTO;
	}
	if (p->u.ack.seq == c->snd_una) {
		/*
		 * Nothing new acknowledged, but the window may have reopened
		 * (our receiver sends such an update when its reader catches
		 * up; the reference ignores them, which is safe too).
		 */
		c->flow = clamp_flow(p->u.ack.avail);
		return UDT_OK;
	}
	if (udt_seq_diff(p->u.ack.seq, c->snd_una) < 0) {
		/* a resent ACK is normal, a replayed one harmless: counted */
		c->stats.stale_ctrl++;
		return UDT_ERR_DROP_STALE;
	}
	old = c->snd_una;
	snd_rtt_sample(c, old, p->u.ack.seq & UDT_SEQ_MASK);
	c->ack_at = c->now;
	c->flow = clamp_flow(p->u.ack.avail);
	c->snd_una = p->u.ack.seq & UDT_SEQ_MASK;
	apply_rtt(c, p->u.ack.rtt);
	if (p->u.ack.nfields >= 5) {
		if (p->u.ack.rate > 0)
			c->delivery_rate = (uint32_t)(((uint64_t)c->delivery_rate *
			    7 + p->u.ack.rate) / 8);
		if (p->u.ack.nfields >= 6 && p->u.ack.cap > 0)
			c->bandwidth = (uint32_t)(((uint64_t)c->bandwidth * 7 +
			    p->u.ack.cap) / 8);
	}
	cc_on_ack(c);
	/* clear the loss marks of what is now acknowledged (none: no walk) */
	for (s = old; c->snd_loss_n > 0 && s != c->snd_una;
	    s = udt_seq_add(s, 1)) {
		sl = &c->ss[s & SSLOT_MASK];
		if (sl->lost) {
			sl->lost = 0;
			c->snd_loss_n--;
		}
	}
	c->ack_progress = 1;
	return UDT_OK;
}

static void
mark_lost(struct udt_conn *c, uint32_t seq)
{
	struct sslot *s;

	if (udt_seq_diff(seq, c->snd_una) < 0 ||
	    udt_seq_diff(seq, c->snd_next) >= 0) {
		c->stats.nak_ignored++;	/* already ACKed: late or replayed */
		return;
	}
	/*
	 * The earlier packet of the reordered end pair was sent right after
	 * the later one: the receiver's first NAK for it only says it saw the
	 * later first.  A second one (its NAK timer) means it was lost.
	 */
	if (c->end_done && seq == c->end_seq && !c->end_nak_seen) {
		c->end_nak_seen = 1;
		return;
	}
	s = &c->ss[seq & SSLOT_MASK];
	if (!s->lost) {
		s->lost = 1;
		s->attempts = 0;
		if (c->snd_loss_n++ == 0 ||
		    udt_seq_diff(seq, c->snd_loss_lo) < 0)
			c->snd_loss_lo = seq;
	}
}

static int
input_nak(struct udt_conn *c, const struct udt_pkt *p)
{
	uint32_t e, start, end, s, first = 0;
	int have_first = 0;
	size_t i;

	c->stats.naks_recv++;
	for (i = 0; i < p->u.nak.n; i++) {
		e = udt_pkt_nak_entry(p, i);
		if ((e & 0x80000000U) == 0) {
			if (udt_seq_diff(e, c->snd_next) > 0)
				goto bad;
			mark_lost(c, e);
			if (!have_first) {
				first = e;
				have_first = 1;
			}
			continue;
		}
		start = e & UDT_SEQ_MASK;
		if (i + 1 == p->u.nak.n)
			goto bad;
		end = udt_pkt_nak_entry(p, ++i);
		if ((end & 0x80000000U) != 0 ||
		    udt_seq_diff(start, c->snd_next) > 0 ||
		    udt_seq_diff(end, c->snd_next) > 0)
			goto bad;
		if (!have_first) {
			first = start;
			have_first = 1;
		}
		if (udt_seq_diff(end, start) < 0)
			continue;
		/* inclusive, clipped to what is in flight: ≤ UDT_SLOTS steps */
		s = udt_seq_diff(start, c->snd_una) < 0 ? c->snd_una : start;
		for (; udt_seq_diff(s, end) <= 0 &&
		    udt_seq_diff(s, c->snd_next) < 0; s = udt_seq_add(s, 1))
			mark_lost(c, s);
	}
	if (have_first)
		cc_on_nak(c, first);
	return UDT_OK;
bad:
	fail(c, UDT_ERR_PROTO);
	return UDT_ERR_PROTO;
}

/* Where a walk over the send loss list starts. */
static uint32_t
loss_start(const struct udt_conn *c)
{
	return udt_seq_diff(c->snd_loss_lo, c->snd_una) > 0 ? c->snd_loss_lo :
	    c->snd_una;
}

static void
retransmit_losses(struct udt_conn *c)
{
	struct sslot *s;
	uint32_t q, seen = 0;

	if (c->snd_loss_n == 0)
		return;
	/* from the first lost packet to the last: not the whole window */
	for (q = loss_start(c); q != c->snd_next && seen < c->snd_loss_n;
	    q = udt_seq_add(q, 1)) {
		s = &c->ss[q & SSLOT_MASK];
		if (!s->lost)
			continue;
		if (seen++ == 0)
			c->snd_loss_lo = q;
		if (s->attempts > 0 &&
		    c->now < s->last_tx + UDT_SYN_US * s->attempts)
			continue;
		s->attempts++;
		s->resent = 1;
		c->stats.retransmits++;
		transmit(c, s);
	}
}

static uint32_t
window(const struct udt_conn *c)
{
	return c->cwnd < c->flow ? c->cwnd : c->flow;
}

/* A new empty packet at the queue's end (room checked by the caller). */
static struct sslot *
queue_slot(struct udt_conn *c)
{
	struct sslot *s = &c->ss[c->q_end & SSLOT_MASK];

	buf_put_be32(s->pkt, c->q_end);
	buf_put_be32(s->pkt + 4, UDT_DATA_STREAM_BITS | (c->msgno & UDT_MSGNO_MASK));
	s->len = UDT_HDR_SIZE;
	s->lost = 0;
	s->resent = 0;
	s->attempts = 0;
	c->q_end = udt_seq_add(c->q_end, 1);
	c->msgno++;
	return s;
}

/*
 * Appends up to len bytes to the queue: the last unsent packet is filled
 * up first (so packets are cut exactly as a byte buffer cut at send time
 * would), then new ones.  Returns the bytes taken.
 */
static size_t
queue_bytes(struct udt_conn *c, const uint8_t *buf, size_t len)
{
	struct sslot *s;
	size_t done = 0, k;

	while (done < len) {
		s = NULL;
		if (c->q_end != c->snd_next) {
			s = &c->ss[udt_seq_add(c->q_end, -1) & SSLOT_MASK];
			if (s->len == UDT_PKT_MAX)
				s = NULL;
		}
		if (s == NULL) {
			if (udt_seq_diff(c->q_end, c->snd_una) >= SND_SLOTS - 1)
				break;
			s = queue_slot(c);
		}
		k = (size_t)(UDT_PKT_MAX - s->len);
		if (k > len - done)
			k = len - done;
		memcpy(s->pkt + s->len, buf + done, k);
		s->len = (uint16_t)(s->len + k);
		done += k;
	}
	c->s_len += done;
	return done;
}

/* The next queued packet leaves the queue (not sent yet). */
static struct sslot *
dequeue(struct udt_conn *c)
{
	struct sslot *s = &c->ss[c->snd_next & SSLOT_MASK];

	c->snd_next = udt_seq_add(c->snd_next, 1);
	c->s_len -= (size_t)(s->len - UDT_HDR_SIZE);
	c->stats.bytes_sent += (uint64_t)(s->len - UDT_HDR_SIZE);
	return s;
}

/*
 * The stream's last bytes (udt_stream_end), all queued and at most two
 * packets' worth: two packets, the later sent first.  0 when sent, 1 when
 * the window has no room for both yet, -1 when this is not the end.
 */
static int
send_end_pair(struct udt_conn *c)
{
	uint8_t tmp[2 * UDT_DATA_MAX];
	struct sslot *a, *b;
	size_t nb, total, k;
	uint32_t q, nq;

	if (!c->end_known || c->end_done || c->s_len < 2 || c->s_len > 2 * UDT_DATA_MAX ||
	    c->stats.bytes_sent + c->s_len != c->end_total)
		return -1;
	if (in_flight(c) + 1 > window(c) || in_flight(c) + 2 >= UDT_SLOTS - 1)
		return 1;
	/* re-cut the queued bytes (one or two packets) in two halves */
	total = 0;
	nq = (uint32_t)udt_seq_diff(c->q_end, c->snd_next);
	for (q = c->snd_next; q != c->q_end; q = udt_seq_add(q, 1)) {
		a = &c->ss[q & SSLOT_MASK];
		k = (size_t)(a->len - UDT_HDR_SIZE);
		memcpy(tmp + total, a->pkt + UDT_HDR_SIZE, k);
		total += k;
	}
	c->q_end = c->snd_next;
	c->msgno -= nq;
	c->s_len = 0;
	nb = total / 2;
	c->end_seq = c->snd_next;
	a = queue_slot(c);
	memcpy(a->pkt + UDT_HDR_SIZE, tmp, total - nb);
	a->len = (uint16_t)(UDT_HDR_SIZE + total - nb);
	b = queue_slot(c);
	memcpy(b->pkt + UDT_HDR_SIZE, tmp + total - nb, nb);
	b->len = (uint16_t)(UDT_HDR_SIZE + nb);
	c->s_len = total;
	dequeue(c);
	dequeue(c);
	c->end_done = 1;
	transmit(c, b);
	transmit(c, a);
	return 0;
}

static void
send_new_data(struct udt_conn *c)
{
	while (c->s_len > 0 && in_flight(c) <= window(c) &&
	    in_flight(c) < UDT_SLOTS - 1) {
		if (send_end_pair(c) >= 0)
			return;
		transmit(c, dequeue(c));
	}
}

void
udt_set_probe_only(struct udt_conn *c)
{
	if (c != NULL)
		c->probe_only = 1;
}

int
udt_stream_end(struct udt_conn *c, uint64_t more)
{
	if (c == NULL)
		return UDT_ERR_ARG;
	c->end_known = 1;
	c->end_total = c->stats.bytes_sent + c->s_len + more;
	return UDT_OK;
}

/* Blind retransmission while the window is full (blind_first_iv, doubling),
 * or after UDT_EXP_US without ACK progress otherwise. */
static void
update_send_timer(struct udt_conn *c)
{
	int waiting;

	if (in_flight(c) == 0) {
		c->ack_at = c->now;
		c->blind_at = 0;
		c->waiting = 0;
		c->ack_progress = 0;
		return;
	}
	waiting = in_flight(c) > window(c);
	if (waiting && (!c->waiting || c->ack_progress)) {
		c->blind_iv = blind_first_iv(c);
		c->blind_at = c->now + c->blind_iv;
	} else if (!waiting && (c->blind_at == 0 || c->waiting ||
	    c->ack_progress)) {
		c->blind_iv = UDT_EXP_US;
		c->blind_at = c->now + c->blind_iv;
	}
	c->waiting = waiting;
	c->ack_progress = 0;
}

static void
flush(struct udt_conn *c)
{
	if (c->st != UDT_ST_CONNECTED && c->st != UDT_ST_CLOSING)
		return;
	retransmit_losses(c);
	send_new_data(c);
	update_send_timer(c);
	if (c->st == UDT_ST_CLOSING && c->s_len == 0 && in_flight(c) == 0) {
		send_simple(c, UDT_CTRL_SHUTDOWN, 0);
		c->st = UDT_ST_CLOSED;
	}
}

/* ---- entry points ---- */

int
udt_input(struct udt_conn *c, const uint8_t *pkt, size_t len)
{
	struct udt_pkt p;
	int rc;

	if (c == NULL)
		return UDT_ERR_ARG;
	now_us(c);
	if ((rc = udt_pkt_decode(pkt, len, &p)) != UDT_OK)
		goto drop;
	if (c->st == UDT_ST_INIT || c->st == UDT_ST_CLOSED ||
	    c->st == UDT_ST_ERROR) {
		rc = UDT_ERR_DROP_STATE;
		goto drop;
	}
	if (p.is_ctrl && p.type == UDT_CTRL_HANDSHAKE) {
		rc = input_handshake(c, &p);
		if (rc == UDT_OK) {
			c->last_rx = c->last_busy = c->now;
			flush(c);
		}
		goto out;
	}
	if (p.dst == 0) {
		rc = UDT_ERR_DROP_ZERO_DST;
		goto drop;
	}
	if (c->st != UDT_ST_CONNECTED && c->st != UDT_ST_CLOSING) {
		rc = UDT_ERR_DROP_STATE;
		goto drop;
	}
	if (p.dst != c->sock_id) {
		rc = UDT_ERR_DROP_SOCKET;
		goto drop;
	}
	c->last_rx = c->now;
	/*
	 * An ACK2 only answers our ACK (a liveness probe's too): the peer is
	 * there, but it is no activity, and the probes keep their back-off.
	 */
	c->blind_n = 0;
	if (!p.is_ctrl || p.type != UDT_CTRL_ACK2) {
		c->last_busy = c->now;
		live_probe_reset(c);
	} else
		c->live_n = 0;
	rc = UDT_OK;
	if (!p.is_ctrl)
		rc = input_data(c, &p);
	else switch (p.type) {
	case UDT_CTRL_ACK:
		rc = input_ack(c, &p);
		break;
	case UDT_CTRL_ACK2:
		rc = input_ack2(c, &p);
		break;
	case UDT_CTRL_NAK:
		rc = input_nak(c, &p);
		break;
	case UDT_CTRL_SHUTDOWN:
		c->st = UDT_ST_CLOSED;
		break;
	case UDT_CTRL_CONGESTION:
		c->snd_period *= 1.125;
		break;
	default:	/* keep-alive, drop request, error, user-defined */
		break;
	}
	flush(c);
out:
	if (rc != UDT_OK)
		c->stats.dropped++;
	return rc;
drop:
	c->stats.dropped++;
	return rc;
}

int
udt_tick(struct udt_conn *c)
{
	struct sslot *s;
	uint32_t q, k;

	if (c == NULL)
		return UDT_ERR_ARG;
	now_us(c);
	switch (c->st) {
	case UDT_ST_CONNECTING:
		if (c->now >= c->conn_start + UDT_CONNECT_TIMEOUT_US +
		    UDT_LINGER_US) {
			fail(c, UDT_ERR_CONNECT_TIMEOUT);
			break;
		}
		if (c->now >= c->conn_retry_at) {
			send_hs(c, 0, ts32(c), UDT_HS_REQUEST, UDT_SOCK_STREAM,
			    UDT_FLOW_WIN, c->sock_id);
			c->conn_retry_at = c->now + UDT_CONNECT_RETRY_US;
		}
		break;
	case UDT_ST_LISTEN:
		if (c->now - c->last_busy >= c->idle_us)
			fail(c, UDT_ERR_TIMEOUT);
		break;
	case UDT_ST_CONNECTED:
	case UDT_ST_CLOSING:
		if (c->now - c->last_busy >= c->idle_us) {
			fail(c, UDT_ERR_TIMEOUT);
			break;
		}
		if (live_probe_active(c)) {
			if (c->live_n >= UDT_BROKEN_EXP &&
			    c->now - c->last_rx >= UDT_BROKEN_MIN_US) {
				fail(c, UDT_ERR_PEER_GONE);
				break;
			}
			if (c->now >= c->live_at) {
				/* the ACK of what we hold: every sender answers an ACK2 */
				send_ack(c, udt_seq_add(c->rcv_last, 1));
				c->unack = 0;
				c->live_n++;
				c->live_iv *= 2;
				if (c->live_iv > UDT_PROBE_MAX_US)
					c->live_iv = UDT_PROBE_MAX_US;
				c->live_at = c->now + c->live_iv;
			}
		}
		if (in_flight(c) > 0 && c->now - c->ack_at >= c->idle_us) {
			fail(c, UDT_ERR_ACK_TIMEOUT);
			break;
		}
		if (c->nak_due != 0 && c->now >= c->nak_due)
			nak_due_gaps(c);
		if (c->now >= c->syn_at) {
			c->syn_at = c->now + UDT_SYN_US;
			if (udt_seq_diff(c->recv_ack2, c->sent_ack) < 0 &&
			    lim_allow(&c->ack_lim, c->now, UDT_BACKOFF_MAX_US)) {
				send_ack(c, c->sent_ack);
				c->unack = 0;
			}
			if (c->rcv_loss_n > 0 && lim_allow(&c->nak_lim, c->now,
			    nak_backoff_cap(c)))
				resend_rcv_losses(c);
		}
		/* the sender's side of the same rule: its resends went unanswered */
		if (!c->probe_only && in_flight(c) > 0 && c->blind_n >= UDT_BROKEN_EXP &&
		    c->now - c->last_rx >= UDT_BROKEN_MIN_US) {
			fail(c, UDT_ERR_PEER_GONE);
			break;
		}
		if (c->blind_at != 0 && c->now >= c->blind_at) {
			c->blind_n++;
			if (c->probe_only) {
				/* one probe: the newest unacknowledged (udt_set_probe_only) */
				s = &c->ss[udt_seq_add(c->snd_next, -1) & SSLOT_MASK];
				s->resent = 1;
				c->stats.blind_retransmits++;
				transmit(c, s);
			} else
				for (q = c->snd_una, k = 0; q != c->snd_next &&
				    k < UDT_BLIND_MAX; q = udt_seq_add(q, 1), k++) {
					s = &c->ss[q & SSLOT_MASK];
					s->resent = 1;
					c->stats.blind_retransmits++;
					transmit(c, s);
				}
			c->blind_iv *= 2;
			if (c->blind_iv > UDT_BACKOFF_MAX_US)
				c->blind_iv = UDT_BACKOFF_MAX_US;
			c->blind_at = c->now + c->blind_iv;
		}
		flush(c);
		break;
	default:
		break;
	}
	return c->st == UDT_ST_ERROR ? c->err : UDT_OK;
}

static uint64_t
min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t
udt_next_timeout_us(const struct udt_conn *c)
{
	const struct sslot *s;
	uint64_t t = UINT64_MAX;
	uint32_t q, seen;

	if (c == NULL)
		return UINT64_MAX;
	switch (c->st) {
	case UDT_ST_CONNECTING:
		return min64(c->conn_retry_at, c->conn_start +
		    UDT_CONNECT_TIMEOUT_US + UDT_LINGER_US);
	case UDT_ST_LISTEN:
		return c->last_busy + c->idle_us;
	case UDT_ST_CONNECTED:
	case UDT_ST_CLOSING:
		t = c->last_busy + c->idle_us;
		if (live_probe_active(c))
			t = min64(t, c->live_n >= UDT_BROKEN_EXP ?
			    c->last_rx + UDT_BROKEN_MIN_US : c->live_at);
		if (in_flight(c) > 0)
			t = min64(t, c->ack_at + c->idle_us);
		if (c->blind_at != 0)
			t = min64(t, c->blind_at);
		if (c->nak_due != 0)
			t = min64(t, c->nak_due);
		if (udt_seq_diff(c->recv_ack2, c->sent_ack) < 0 ||
		    c->rcv_loss_n > 0)
			t = min64(t, c->syn_at);
		for (q = loss_start(c), seen = 0; seen < c->snd_loss_n &&
		    q != c->snd_next; q = udt_seq_add(q, 1)) {
			s = &c->ss[q & SSLOT_MASK];
			if (s->lost) {
				seen++;
				t = min64(t, s->attempts == 0 ? c->now :
				    s->last_tx + UDT_SYN_US * s->attempts);
			}
		}
		return t;
	default:
		return UINT64_MAX;
	}
}

ssize_t
udt_write(struct udt_conn *c, const void *buf, size_t len)
{
	size_t n;

	if (c == NULL || (buf == NULL && len > 0))
		return UDT_ERR_ARG;
	switch (c->st) {
	case UDT_ST_CONNECTING:
	case UDT_ST_CONNECTED:
		break;
	default:
		return state_err(c);
	}
	now_us(c);
	n = UDT_SNDBUF_BYTES - c->s_len;
	if (n > len)
		n = len;
	n = queue_bytes(c, buf, n);
	flush(c);
	return (ssize_t)n;
}

/* The reader made room (udt_read, udt_recv_post). */
static void
room_opened(struct udt_conn *c)
{
	if (c->st != UDT_ST_CONNECTED && c->st != UDT_ST_CLOSING)
		return;
	/* packets held for lack of room can move up */
	now_us(c);
	deliver(c, 0);
	/*
	 * The window we last advertised was small and has reopened: tell the
	 * sender now instead of letting it stall (a window update: an ACK for
	 * the same sequence, see input_ack).
	 */
	if (c->adv < UDT_RCV_WIN / 4 && rcv_avail(c) >= 2 * c->adv +
	    UDT_ACK_EVERY) {
		send_ack(c, udt_seq_add(c->rcv_last, 1));
		c->unack = 0;
		lim_reset(&c->ack_lim, c->now);
	}
	flush(c);
}

ssize_t
udt_read(struct udt_conn *c, void *buf, size_t cap)
{
	size_t n;

	if (c == NULL || (buf == NULL && cap > 0))
		return UDT_ERR_ARG;
	n = c->r_len < cap ? c->r_len : cap;
	if (n == 0 && cap > 0)
		return udt_is_closed(c) ? state_err(c) : 0;
	ring_get(c->rbuf, UDT_RCVBUF_BYTES, c->r_head, buf, n);
	c->r_head = (c->r_head + n) % UDT_RCVBUF_BYTES;
	c->r_len -= n;
	room_opened(c);
	return (ssize_t)n;
}

ssize_t
udt_recv_post(struct udt_conn *c, void *buf, size_t cap)
{
	size_t n;

	if (c == NULL || (buf == NULL && cap > 0))
		return UDT_ERR_ARG;
	if (c->post_buf != NULL)
		return UDT_ERR_STATE;
	/* what the ring holds comes first */
	n = c->r_len < cap ? c->r_len : cap;
	ring_get(c->rbuf, UDT_RCVBUF_BYTES, c->r_head, buf, n);
	c->r_head = (c->r_head + n) % UDT_RCVBUF_BYTES;
	c->r_len -= n;
	c->post_buf = buf;
	c->post_cap = cap;
	c->post_len = n;
	room_opened(c);
	return (ssize_t)n;
}

size_t
udt_recv_posted(const struct udt_conn *c)
{
	return c->post_buf != NULL ? c->post_len : 0;
}

size_t
udt_recv_unpost(struct udt_conn *c)
{
	size_t n = udt_recv_posted(c);

	c->post_buf = NULL;
	c->post_cap = c->post_len = 0;
	return n;
}

int
udt_close(struct udt_conn *c)
{
	if (c == NULL)
		return UDT_ERR_ARG;
	switch (c->st) {
	case UDT_ST_CONNECTED:
		now_us(c);
		c->st = UDT_ST_CLOSING;
		flush(c);
		return UDT_OK;
	case UDT_ST_CLOSING:
	case UDT_ST_CLOSED:
		return UDT_OK;
	case UDT_ST_ERROR:
		return c->err;
	default:
		c->st = UDT_ST_CLOSED;
		return UDT_OK;
	}
}

int
udt_abort(struct udt_conn *c)
{
	if (c == NULL)
		return UDT_ERR_ARG;
	if (c->st == UDT_ST_CONNECTED || c->st == UDT_ST_CLOSING) {
		now_us(c);
		send_simple(c, UDT_CTRL_SHUTDOWN, 0);
	}
	if (c->st != UDT_ST_ERROR)
		c->st = UDT_ST_CLOSED;
	return UDT_OK;
}

enum udt_state
udt_state(const struct udt_conn *c)
{
	return c->st;
}

int
udt_is_connected(const struct udt_conn *c)
{
	return c->st == UDT_ST_CONNECTED || c->st == UDT_ST_CLOSING;
}

int
udt_is_closed(const struct udt_conn *c)
{
	return c->st == UDT_ST_CLOSED || c->st == UDT_ST_ERROR;
}

int
udt_error(const struct udt_conn *c)
{
	return c->st == UDT_ST_ERROR ? c->err : UDT_OK;
}

size_t
udt_readable(const struct udt_conn *c)
{
	return c->r_len;
}

size_t
udt_send_pending(const struct udt_conn *c)
{
	size_t n = c->s_len;
	uint32_t q;

	if (c->st != UDT_ST_CONNECTED && c->st != UDT_ST_CLOSING)
		return n;
	for (q = c->snd_una; q != c->snd_next; q = udt_seq_add(q, 1))
		n += c->ss[q & SSLOT_MASK].len - UDT_HDR_SIZE;
	return n;
}

uint32_t
udt_sock_id(const struct udt_conn *c)
{
	return c->sock_id;
}

uint32_t
udt_peer_sock_id(const struct udt_conn *c)
{
	return c->peer_id;
}

uint32_t
udt_init_seq(const struct udt_conn *c)
{
	return c->isn;
}

void
udt_get_stats(const struct udt_conn *c, struct udt_stats *st)
{
	*st = c->stats;
	st->rtt_us = c->rtt;
	st->rtt_var_us = c->rtt_var;
	st->delivery_rate = c->delivery_rate;
	st->bandwidth = c->bandwidth;
	st->cwnd = c->cwnd;
	st->flow_win = c->flow;
	st->snd_period_us = c->snd_period;
	st->in_flight = (c->st == UDT_ST_CONNECTED || c->st == UDT_ST_CLOSING) ?
	    in_flight(c) : 0;
	st->snd_loss = c->snd_loss_n;
	st->rcv_loss = c->rcv_loss_n;
}
