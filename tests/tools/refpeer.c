/*
 * refpeer.c — a peer that transfers files as a reference (Go) node does, for
 * integration tests on loopback (docs/protocol.md §9): it sets no feature
 * bit of ours (no WIRE_FEATURE_MERKLE), ignores REQUEST_STARTs with another
 * protocol byte, and its UDT receiver follows the reference's rules, not
 * netd/udt.c's:
 *
 *  - an ACK every 4 in-order deliveries (ACKInterval), at once when a
 *    retransmission fills a gap; the delayed ACK is left to a 10 ms ticker
 *    gated by a back-off limiter (10 ms doubling to 1 s) that is only armed
 *    by the first real ACK: a stream of fewer than 4 packets is never ACKed;
 *  - on a gap one NAK listing every missing number (none when they do not
 *    fit one packet); the ticker repeats a NAK for the first missing one only,
 *    under the same kind of limiter, armed by the gap NAK;
 *  - a duplicate not in the loss list is ignored silently;
 *  - the ACK's available buffer is 64 less the packets held out of order
 *    (at least 2); arrival rate and capacity median-filtered as it does;
 *  - handshake as the listener of §9.5 (a duplicate step 3 is not answered);
 *  - after reading the announced bytes it "closes" as the reference's
 *    Close() does: a flag, nothing on the wire; its receiver keeps running
 *    (ACK ticker) until the tool exits.
 *
 * -s MS:EVERY stalls the receiver for MS ms every EVERY data packets (what a
 * Go receiver does under GC or a slow disk writer): datagrams wait in the
 * socket's default-size buffer meanwhile and what does not fit is lost, as
 * with the reference's UDP reader.
 *
 *   refpeer [-b IP:PORT] [-t SECONDS] [-l SECONDS] [-s MS:EVERY] CMD ...
 *   get   PUB IP:PORT HASH   download HASH from the node (it serves us)
 *   blocks PUB IP:PORT N     Get Block: blocks [0, N) of the node's chain
 *   serve PUB IP:PORT FILE   share FILE; the node is to download it from us
 *
 * `serve` prints our node ID on stderr first ("node_id HEX"), then waits for
 * the node's Transfer REQUEST_STARTs: each is counted by protocol byte, a
 * protocol-0 one for FILE's hash is served (UDT client: netd/udt.c, our own
 * sender; what matters here is what the node asks).  Every command prints
 * one JSON object.  Every loop is bounded in count and every wait by -t.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "blake3.h"
#include "buf.h"
#include "hex.h"
#include "ident.h"
#include "loop.h"
#include "tool.h"
#include "udt.h"
#include "wire_msg.h"
#include "wire_packet.h"

#define RP_UA		"Peernet Cmd/0.4"	/* what a reference node calls itself */
#define RP_MAX_RECV	2000000			/* datagrams handled, whatever the deadline */
#define RP_WIN		8192			/* receiver slots (power of 2) */
#define RP_FLOW		64			/* MaxFlowWinSize */
#define RP_ACK_INTERVAL	4
#define RP_SYN_US	10000ULL
#define RP_LIM_MAX_US	1000000ULL
#define RP_MAX_FILE	(64u << 20)

static uint8_t rp_raw[WIRE_PACKET_MAX + 64];
static uint8_t rp_plain[WIRE_PACKET_MAX];
static uint8_t rp_out[WIRE_PACKET_MAX + 128];
static uint8_t rp_payload[WIRE_PACKET_MAX];

struct rp_lim {			/* the reference's rateLimiter */
	uint64_t	start, wait;
};

enum { RS_EMPTY = 0, RS_LOST, RS_HAVE };

struct rp_rslot {
	uint8_t		state;
	uint16_t	len;
	uint8_t		data[UDT_DATA_MAX];
};

struct rp {
	struct ident		me;
	uint8_t			target_pub[PEERNET_PUBKEY_BYTES];
	struct sockaddr_in	target;
	int			fd;
	uint16_t		port;
	uint32_t		ann_seq, req_seq;
	int			answered;
	uint8_t			id[WIRE_TRANSFER_ID_SIZE];
	int			have_id;
	uint64_t		t0;		/* µs */
	/* reference-like receiver (get) */
	int			conn;		/* step 3 taken */
	uint32_t		sock, far, isn;
	uint32_t		next_expect, last_seq, sent_ack, recv_ack2, ack_id;
	unsigned		unack;
	struct rp_lim		ack_lim, nak_lim;
	uint32_t		hist_id[64], hist_seq[64];
	uint64_t		hist_t[64];
	unsigned		hist_n;
	uint32_t		rtt, rtt_var;
	uint64_t		last_arrival, last_probe, link_at;
	uint32_t		arr[16], probe[16];
	unsigned		arr_n, arr_pos, probe_n, probe_pos;
	uint32_t		nloss;
	uint64_t		next_tick;
	struct rp_rslot		*rs;
	/* application */
	uint8_t			hdr[16];
	size_t			hlen;
	uint64_t		want, got;
	blake3_hasher		h;
	uint64_t		blocks_want, records;	/* blocks: records to read */
	uint8_t			rec[WIRE_BLOCK_HEADER_SIZE];
	size_t			rec_hlen;
	uint64_t		rec_left;
	uint64_t		close_unix_ms;
	int			closed;
	uint64_t		closed_at, done_at, first_data_at;
	/* counters */
	uint64_t		data_pkts, dup_pkts, acks, naks, nak_entries, ack2;
	uint64_t		after_close, last_after_close;
	uint64_t		shutdown, terminate, not_available;
	/* stall */
	unsigned		stall_ms, stall_every;
	uint64_t		stalls;
	/* serve */
	uint8_t			*file;
	size_t			flen;
	uint8_t			fhash[32];
	unsigned		req0, reqmk, reqother;
	uint64_t		first_req_at, req0_at, served_at;
	struct udt_conn		*uc;
	uint8_t			serve_id[WIRE_TRANSFER_ID_SIZE];
	uint32_t		serve_seq;
	size_t			serve_pos;
};

static void
rp_send(struct rp *r, uint8_t cmd, uint32_t seq, const uint8_t *payload, size_t len)
{
	(void)tool_send(r->fd, &r->me, r->target_pub, &r->target, cmd, seq, payload,
	    len);
}

/* One UDT packet in a lite packet with transfer ID `id` (§2.7). */
static void
rp_lite(struct rp *r, const uint8_t *id, const uint8_t *pkt, size_t len)
{
	struct wire_lite l;
	size_t out;

	memcpy(l.id, id, sizeof(l.id));
	l.data = pkt;
	l.data_len = len;
	if (wire_lite_encode(rp_out, sizeof(rp_out), &out, &l) == 0)
		(void)sendto(r->fd, rp_out, out, 0, (const struct sockaddr *)&r->target,
		    sizeof(r->target));
}

static void
rp_ctrl(struct rp *r, struct udt_pkt *p)
{
	uint8_t out[UDT_PKT_MAX];
	size_t n;

	p->is_ctrl = 1;
	p->ts = (uint32_t)(loop_now_us() - r->t0);
	if (udt_pkt_encode(out, sizeof(out), &n, p) == UDT_OK)
		rp_lite(r, r->id, out, n);
}

/* --- the reference's rateLimiter ------------------------------------------ */

static void
lim_reset(struct rp_lim *l, uint64_t now)
{
	l->start = now;
	l->wait = RP_SYN_US;
}

static int
lim_allow(struct rp_lim *l, uint64_t now)
{
	if (l->wait == 0 || now <= l->start + l->wait)
		return 0;
	l->wait *= 2;
	if (l->wait > RP_LIM_MAX_US)
		l->wait = RP_LIM_MAX_US;
	l->start = now;
	return 1;
}

/* --- receiver ---------------------------------------------------------------- */

static uint32_t
sq(uint32_t a, int32_t n)
{
	return (a + (uint32_t)n) & UDT_SEQ_MASK;
}

static uint32_t
median(const uint32_t *h, unsigned n, uint32_t *s)
{
	unsigned i, j;

	for (i = 0; i < n; i++) {
		for (j = i; j > 0 && s[j - 1] > h[i]; j--)
			s[j] = s[j - 1];
		s[j] = h[i];
	}
	return s[n / 2];
}

/* getRcvSpeeds: median-filtered arrival rate and probe-pair capacity. */
static void
rp_speeds(const struct rp *r, uint32_t *speed, uint32_t *bw)
{
	uint32_t s[16], med;
	uint64_t sum;
	unsigned i, count;

	*speed = *bw = 0;
	if (r->arr_n > 0) {
		med = median(r->arr, r->arr_n, s);
		for (i = count = 0, sum = 0; i < r->arr_n; i++)
			if (s[i] < (uint64_t)med << 3 && s[i] > med >> 3) {
				count++;
				sum += s[i];
			}
		if (count > (r->arr_n >> 1))
			*speed = (uint32_t)(1000000ULL * count / (sum ? sum : 1000));
	}
	if (r->probe_n > 0) {
		med = median(r->probe, r->probe_n, s);
		count = 1;
		sum = med;
		for (i = 0; i < r->probe_n; i++)
			if (s[i] < (uint64_t)med << 3 && s[i] > med >> 3) {
				count++;
				sum += s[i];
			}
		*bw = (uint32_t)(1000000ULL * count / (sum ? sum : 1000));
	}
}

static void
rp_send_ack(struct rp *r, uint32_t ack, uint64_t now)
{
	struct udt_pkt p;
	int32_t pend, avail;

	r->sent_ack = ack;
	r->ack_id++;
	if (r->hist_n == 64) {
		memmove(r->hist_id, r->hist_id + 1, 63 * sizeof(r->hist_id[0]));
		memmove(r->hist_seq, r->hist_seq + 1, 63 * sizeof(r->hist_seq[0]));
		memmove(r->hist_t, r->hist_t + 1, 63 * sizeof(r->hist_t[0]));
		r->hist_n--;
	}
	r->hist_id[r->hist_n] = r->ack_id;
	r->hist_seq[r->hist_n] = ack;
	r->hist_t[r->hist_n++] = now;
	pend = udt_seq_diff(r->next_expect, r->last_seq) - 1;
	avail = RP_FLOW - pend;
	if (avail < 2)
		avail = 2;
	memset(&p, 0, sizeof(p));
	p.type = UDT_CTRL_ACK;
	p.info = r->ack_id;
	p.dst = r->far;
	p.u.ack.nfields = 4;
	p.u.ack.seq = ack;
	p.u.ack.rtt = r->rtt;
	p.u.ack.rtt_var = r->rtt_var;
	p.u.ack.avail = (uint32_t)avail;
	if (r->link_at == 0 || now - r->link_at >= RP_SYN_US) {
		r->link_at = now;
		rp_speeds(r, &p.u.ack.rate, &p.u.ack.cap);
		p.u.ack.nfields = 6;
	}
	r->acks++;
	rp_ctrl(r, &p);
}

static void
rp_send_nak(struct rp *r, uint32_t from, uint32_t count)
{
	uint8_t raw[4 * UDT_NAK_MAX_ENTRIES];
	struct udt_pkt p;
	uint32_t i;

	if (count > UDT_NAK_MAX_ENTRIES)
		return;		/* the reference drops a NAK that does not fit */
	for (i = 0; i < count; i++)
		buf_put_be32(raw + 4 * i, sq(from, (int32_t)i));
	memset(&p, 0, sizeof(p));
	p.type = UDT_CTRL_NAK;
	p.dst = r->far;
	p.u.nak.raw = raw;
	p.u.nak.n = count;
	r->naks++;
	r->nak_entries += count;
	rp_ctrl(r, &p);
}

static void
rp_ack_event(struct rp *r, int immediate, uint64_t now)
{
	uint32_t ack = sq(r->last_seq, 1);

	r->unack++;
	if (udt_seq_diff(ack, r->sent_ack) <= 0)
		return;
	if (!immediate && r->unack < RP_ACK_INTERVAL) {
		r->sent_ack = ack;	/* left to the ticker */
		return;
	}
	rp_send_ack(r, ack, now);
	r->unack = 0;
	lim_reset(&r->ack_lim, now);
}

/* The application's side: the stream header, then the announced bytes. */
static void
rp_app(struct rp *r, const uint8_t *d, size_t n, uint64_t now)
{
	size_t k;

	if (r->closed)
		return;
	if (r->blocks_want > 0) {
		/* Get Block stream (§9.8): header, then the block when available */
		while (n > 0 && !r->closed) {
			if (r->rec_hlen < WIRE_BLOCK_HEADER_SIZE) {
				k = WIRE_BLOCK_HEADER_SIZE - r->rec_hlen < n ?
				    WIRE_BLOCK_HEADER_SIZE - r->rec_hlen : n;
				memcpy(r->rec + r->rec_hlen, d, k);
				r->rec_hlen += k;
				d += k;
				n -= k;
				r->got += k;
				if (r->rec_hlen < WIRE_BLOCK_HEADER_SIZE)
					break;
				r->rec_left = r->rec[0] == WIRE_BLOCK_AVAILABLE ?
				    buf_le64(r->rec + 17) : 0;
			}
			k = r->rec_left < n ? (size_t)r->rec_left : n;
			r->rec_left -= k;
			d += k;
			n -= k;
			r->got += k;
			if (r->rec_left == 0) {
				r->rec_hlen = 0;
				if (++r->records == r->blocks_want) {
					struct timespec ts;

					clock_gettime(CLOCK_REALTIME, &ts);
					r->close_unix_ms = (uint64_t)ts.tv_sec * 1000 +
					    (uint64_t)ts.tv_nsec / 1000000;
					r->closed = 1;
					r->closed_at = r->done_at = now;
				}
			}
		}
		return;
	}
	if (r->hlen < 16) {
		k = 16 - r->hlen < n ? 16 - r->hlen : n;
		memcpy(r->hdr + r->hlen, d, k);
		r->hlen += k;
		d += k;
		n -= k;
		if (r->hlen == 16)
			r->want = buf_le64(r->hdr + 8);
	}
	if (r->hlen < 16)
		return;
	if (n > r->want - r->got)
		n = (size_t)(r->want - r->got);
	blake3_hasher_update(&r->h, d, n);
	r->got += n;
	if (r->got == r->want) {
		/* Close(): a flag, nothing sent (§9.6). */
		r->closed = 1;
		r->closed_at = r->done_at = now;
	}
}

static void
rp_deliver_from(struct rp *r, uint32_t seq, int immediate, uint64_t now)
{
	struct rp_rslot *s;

	for (;;) {
		s = &r->rs[seq & (RP_WIN - 1)];
		if (s->state != RS_HAVE)
			break;
		rp_app(r, s->data, s->len, now);
		s->state = RS_EMPTY;
		r->last_seq = seq;
		seq = sq(seq, 1);
		if (seq == r->next_expect)
			break;
	}
	rp_ack_event(r, immediate, now);
}

static void
rp_data(struct rp *r, const struct udt_pkt *p, uint64_t now)
{
	struct rp_rslot *s;
	uint32_t seq = p->seq & UDT_SEQ_MASK, i;
	int32_t d;
	int imm = 0;

	r->data_pkts++;
	if (getenv("REFPEER_TRACE") != NULL)	/* one line per data packet, on stderr */
		fprintf(stderr, "data seq=%u len=%zu next_expect=%u last=%u\n", seq,
		    p->data_len, r->next_expect, r->last_seq);
	if (r->first_data_at == 0)
		r->first_data_at = now;
	if (((seq - 1) & 0xf) == 0) {
		if (r->last_probe != 0) {
			r->probe[r->probe_pos] = (uint32_t)(now - r->last_probe);
			r->probe_pos = (r->probe_pos + 1) % 16;
			if (r->probe_n < 16)
				r->probe_n++;
		}
		r->last_probe = now;
	}
	if (r->last_arrival != 0) {
		r->arr[r->arr_pos] = (uint32_t)(now - r->last_arrival);
		r->arr_pos = (r->arr_pos + 1) % 16;
		if (r->arr_n < 16)
			r->arr_n++;
	}
	r->last_arrival = now;
	if (udt_seq_diff(seq, r->last_seq) > RP_WIN - 2)
		return;		/* beyond what this tool holds (the reference has no bound) */
	s = &r->rs[seq & (RP_WIN - 1)];
	d = udt_seq_diff(seq, r->next_expect);
	if (d > 0) {
		for (i = 0; i < (uint32_t)d; i++)
			r->rs[sq(r->next_expect, (int32_t)i) & (RP_WIN - 1)].state = RS_LOST;
		r->nloss += (uint32_t)d;
		rp_send_nak(r, r->next_expect, (uint32_t)d);
		r->next_expect = sq(seq, 1);
		lim_reset(&r->nak_lim, now);
	} else if (d < 0) {
		if (udt_seq_diff(seq, r->last_seq) <= 0 || s->state != RS_LOST) {
			r->dup_pkts++;
			return;		/* already received: ignored */
		}
		r->nloss--;
		imm = 1;
	} else
		r->next_expect = sq(seq, 1);
	s->state = RS_HAVE;
	s->len = (uint16_t)p->data_len;
	memcpy(s->data, p->data, p->data_len);
	if (seq == sq(r->last_seq, 1))
		rp_deliver_from(r, seq, imm, now);
}

static void
rp_ack2(struct rp *r, const struct udt_pkt *p, uint64_t now)
{
	unsigned i, j;
	uint32_t seq;
	uint64_t sample;

	r->ack2++;
	for (i = 0; i < r->hist_n; i++)
		if (r->hist_id[i] == p->info)
			break;
	if (i == r->hist_n)
		return;
	seq = r->hist_seq[i];
	r->recv_ack2 = seq;
	sample = now - r->hist_t[i];
	r->rtt_var = (uint32_t)(((uint64_t)r->rtt_var * 3 +
	    (r->rtt > sample ? r->rtt - sample : sample - r->rtt)) / 4);
	r->rtt = (uint32_t)(((uint64_t)r->rtt * 7 + sample) / 8);
	for (i = j = 0; i < r->hist_n; i++)
		if (udt_seq_diff(r->hist_seq[i], seq) > 0) {
			r->hist_id[j] = r->hist_id[i];
			r->hist_seq[j] = r->hist_seq[i];
			r->hist_t[j++] = r->hist_t[i];
		}
	r->hist_n = j;
}

static uint32_t
rp_first_loss(const struct rp *r)
{
	uint32_t s;

	for (s = sq(r->last_seq, 1); s != r->next_expect; s = sq(s, 1))
		if (r->rs[s & (RP_WIN - 1)].state == RS_LOST)
			return s;
	return r->next_expect;
}

static void
rp_tick(struct rp *r, uint64_t now)
{
	uint32_t first;

	if (!r->conn || now < r->next_tick)
		return;
	r->next_tick = now + RP_SYN_US;
	if (udt_seq_diff(r->recv_ack2, r->sent_ack) < 0 && lim_allow(&r->ack_lim, now)) {
		rp_send_ack(r, r->sent_ack, now);
		r->unack = 0;
	}
	if (r->nloss > 0 && lim_allow(&r->nak_lim, now)) {
		first = rp_first_loss(r);
		if (first != r->next_expect)
			rp_send_nak(r, first, 1);
	}
}

/* The listener's handshake (§9.5). */
static void
rp_handshake(struct rp *r, const struct udt_pkt *p)
{
	struct udt_pkt o;

	if (p->dst != 0 || p->u.hs.version != UDT_VERSION)
		return;
	memset(&o, 0, sizeof(o));
	o.type = UDT_CTRL_HANDSHAKE;
	o.dst = p->u.hs.sock_id;
	o.u.hs.version = UDT_VERSION;
	o.u.hs.sock_type = p->u.hs.sock_type;
	o.u.hs.init_seq = p->u.hs.init_seq;
	if (p->u.hs.req_type == UDT_HS_REQUEST) {
		o.u.hs.req_type = UDT_HS_REQUEST;
		o.is_ctrl = 1;
		{
			uint8_t out[UDT_PKT_MAX];
			size_t n;

			o.ts = 0;
			if (udt_pkt_encode(out, sizeof(out), &n, &o) == UDT_OK)
				rp_lite(r, r->id, out, n);
		}
		return;
	}
	if (p->u.hs.req_type != UDT_HS_RESPONSE || r->conn)
		return;		/* a duplicate step 3 is not answered */
	r->conn = 1;
	r->far = p->u.hs.sock_id;
	r->isn = p->u.hs.init_seq & UDT_SEQ_MASK;
	do
		randombytes_buf(&r->sock, sizeof(r->sock));
	while (r->sock == 0);
	r->next_expect = r->isn;
	r->last_seq = sq(r->isn, -1);
	r->sent_ack = r->recv_ack2 = r->isn;
	o.u.hs.req_type = UDT_HS_RESPONSE;
	o.u.hs.flow_win = RP_FLOW;
	o.u.hs.sock_id = r->sock;
	rp_ctrl(r, &o);
}

static void
rp_udt_in(struct rp *r, const uint8_t *d, size_t n, uint64_t now)
{
	struct udt_pkt p;

	if (udt_pkt_decode(d, n, &p) != UDT_OK)
		return;
	if (r->closed && !p.is_ctrl) {
		r->after_close++;
		r->last_after_close = now;
	}
	if (p.is_ctrl && p.type == UDT_CTRL_HANDSHAKE) {
		rp_handshake(r, &p);
		return;
	}
	if (!r->conn || p.dst != r->sock)
		return;
	if (!p.is_ctrl)
		rp_data(r, &p, now);
	else if (p.type == UDT_CTRL_ACK2)
		rp_ack2(r, &p, now);
	else if (p.type == UDT_CTRL_SHUTDOWN)
		r->shutdown++;
}

/* --- serve: our UDT sender (netd/udt.c) as the client ------------------------ */

static uint64_t
rp_env_now(void *ctx)
{
	(void)ctx;
	return loop_now_us();
}

static int
rp_env_send(void *ctx, const uint8_t *pkt, size_t len)
{
	struct rp *r = ctx;

	rp_lite(r, r->serve_id, pkt, len);
	return 0;
}

static void
rp_env_random(void *ctx, void *out, size_t n)
{
	(void)ctx;
	randombytes_buf(out, n);
}

static void
rp_serve_pump(struct rp *r)
{
	uint8_t hdr[16];
	ssize_t w;

	if (r->uc == NULL || !udt_is_connected(r->uc))
		return;
	while (r->serve_pos < 16 + r->flen) {
		if (r->serve_pos < 16) {
			buf_put_le64(hdr, r->flen);
			buf_put_le64(hdr + 8, r->flen);
			w = udt_write(r->uc, hdr + r->serve_pos, 16 - r->serve_pos);
		} else
			w = udt_write(r->uc, r->file + (r->serve_pos - 16),
			    16 + r->flen - r->serve_pos);
		if (w <= 0)
			break;
		r->serve_pos += (size_t)w;
	}
	if (r->serve_pos == 16 + r->flen && udt_send_pending(r->uc) == 0 &&
	    r->served_at == 0)
		r->served_at = loop_now_us();
}

static void
rp_transfer_in(struct rp *r, const struct wire_packet *pkt, uint64_t now)
{
	struct wire_transfer t;
	struct udt_env env;

	if (wire_transfer_decode(pkt->payload, pkt->payload_len, &t) != 0)
		return;
	if (t.control == WIRE_TRANSFER_TERMINATE) {
		r->terminate++;
		/* the node has every byte: it says so instead of a last ACK */
		if (r->uc != NULL && r->served_at == 0 &&
		    r->serve_pos == 16 + r->flen)
			r->served_at = now;
	}
	else if (t.control == WIRE_TRANSFER_NOT_AVAILABLE)
		r->not_available++;
	if (t.control != WIRE_TRANSFER_REQUEST_START || r->file == NULL)
		return;
	if (r->first_req_at == 0)
		r->first_req_at = now;
	if (t.protocol != WIRE_TRANSFER_PROTO_UDT) {
		/* the reference ignores other protocols (§9.3) */
		if (t.protocol == 0x4d)
			r->reqmk++;
		else
			r->reqother++;
		return;
	}
	r->req0++;
	if (r->uc != NULL || memcmp(t.hash, r->fhash, 32) != 0 || t.offset != 0)
		return;
	if (r->req0_at == 0)
		r->req0_at = now;
	memcpy(r->serve_id, t.transfer_id, sizeof(r->serve_id));
	r->serve_seq = pkt->sequence;
	env.now_us = rp_env_now;
	env.send = rp_env_send;
	env.random = rp_env_random;
	env.ctx = r;
	if ((r->uc = udt_conn_new(&env)) == NULL || udt_connect(r->uc) != UDT_OK)
		tool_die("udt");
}

/* --- the loop -------------------------------------------------------------------- */

static void
rp_answer_announcement(struct rp *r, uint32_t seq)
{
	struct wire_response_in resp;

	/* As the reference: every Announcement gets a Response, no feature of ours. */
	memset(&resp, 0, sizeof(resp));
	rp_send(r, WIRE_CMD_RESPONSE, seq, rp_payload, tool_msg(rp_payload,
	    sizeof(rp_payload), NULL, &resp, NULL, WIRE_ACTION_SEQUENCE_LAST, r->port, 0));
}

static void
rp_datagram(struct rp *r, const uint8_t *d, size_t n, uint64_t now)
{
	struct wire_packet pkt;
	struct wire_lite l;

	if (n >= WIRE_LITE_HDR_SIZE && wire_lite_decode(d, n, &l) == 0) {
		if (r->have_id && memcmp(l.id, r->id, sizeof(l.id)) == 0) {
			rp_udt_in(r, l.data, l.data_len, now);
			return;
		}
		if (r->uc != NULL && memcmp(l.id, r->serve_id, sizeof(l.id)) == 0) {
			udt_input(r->uc, l.data, l.data_len);
			rp_serve_pump(r);
			return;
		}
	}
	if (wire_packet_decode(d, n, r->me.pub, rp_plain, sizeof(rp_plain), &pkt) != 0 ||
	    memcmp(pkt.sender, r->target_pub, PEERNET_PUBKEY_BYTES) != 0)
		return;
	switch (pkt.command) {
	case WIRE_CMD_RESPONSE:
		if (pkt.sequence == r->ann_seq)
			r->answered = 1;
		break;
	case WIRE_CMD_ANNOUNCEMENT:
		rp_answer_announcement(r, pkt.sequence);
		break;
	case WIRE_CMD_PING:
		rp_send(r, WIRE_CMD_PONG, pkt.sequence, NULL, 0);
		break;
	case WIRE_CMD_TRANSFER:
		rp_transfer_in(r, &pkt, now);
		break;
	default:
		break;
	}
}

/* Runs until `until` (µs) or done(r); stalls as -s says. */
static void
rp_run(struct rp *r, uint64_t until, int (*done)(const struct rp *))
{
	struct pollfd pfd;
	uint64_t now, stall_mark = 0, wake;
	ssize_t got;
	long handled = 0;
	int ms;

	while ((now = loop_now_us()) < until && handled < RP_MAX_RECV && !(done && done(r))) {
		rp_tick(r, now);
		if (r->uc != NULL) {
			if (udt_next_timeout_us(r->uc) <= now)
				udt_tick(r->uc);
			rp_serve_pump(r);
		}
		wake = r->conn ? r->next_tick : until;
		if (r->uc != NULL && udt_next_timeout_us(r->uc) < wake)
			wake = udt_next_timeout_us(r->uc);
		if (wake > until)
			wake = until;
		ms = wake > now ? (int)((wake - now + 999) / 1000) : 0;
		pfd.fd = r->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, ms) <= 0)
			continue;
		/* A burst at a time, as the reference's reader hands them on. */
		while (handled < RP_MAX_RECV &&
		    (got = recv(r->fd, rp_raw, sizeof(rp_raw), MSG_DONTWAIT)) > 0) {
			handled++;
			rp_datagram(r, rp_raw, (size_t)got, loop_now_us());
			if (r->stall_every > 0 && r->data_pkts - stall_mark >= r->stall_every) {
				stall_mark = r->data_pkts;
				r->stalls++;
				usleep(r->stall_ms * 1000);
			}
		}
	}
}

static int
rp_answered(const struct rp *r)
{
	return r->answered;
}

static int
rp_closed(const struct rp *r)
{
	return r->closed;
}

static int
rp_served(const struct rp *r)
{
	return r->served_at != 0;
}

static void
rp_announce(struct rp *r)
{
	struct wire_announce a;
	size_t len;

	randombytes_buf(&r->ann_seq, sizeof(r->ann_seq));
	memset(&a, 0, sizeof(a));
	len = tool_msg(rp_payload, sizeof(rp_payload), &a, NULL, RP_UA,
	    WIRE_ACTION_FIND_SELF, r->port, 0);
	rp_send(r, WIRE_CMD_ANNOUNCEMENT, r->ann_seq, rp_payload, len);
	rp_run(r, loop_now_us() + 3000000, rp_answered);
}

static int
rp_read_file(struct rp *r, const char *path)
{
	FILE *fp;
	size_t n;

	if ((fp = fopen(path, "rb")) == NULL)
		return -1;
	if ((r->file = malloc(RP_MAX_FILE)) == NULL) {
		fclose(fp);
		return -1;
	}
	n = fread(r->file, 1, RP_MAX_FILE, fp);
	fclose(fp);
	r->flen = n;
	blake3_hash(r->file, n, r->fhash);
	return 0;
}

static void
rp_usage(void)
{
	fprintf(stderr, "usage: refpeer [-b IP:PORT] [-t SECONDS] [-l SECONDS] [-s MS:EVERY] "
	    "get|serve|blocks PUB IP:PORT HASH|FILE|N\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static struct rp r;
	struct sockaddr_in want, got;
	struct wire_transfer t;
	const char *bind_spec = "127.0.6.9:0";
	double secs = 20, linger = 2;
	uint8_t digest[32];
	char hex[65];
	size_t len;
	int c;

	tool_start();
	while ((c = getopt(argc, argv, "b:t:l:s:")) != -1) {
		switch (c) {
		case 'l':
			linger = atof(optarg);
			if (linger < 0 || linger > 60)
				tool_die("-l must be 0..60 seconds");
			break;
		case 's':
			if (sscanf(optarg, "%u:%u", &r.stall_ms, &r.stall_every) != 2 ||
			    r.stall_ms > 1000 || r.stall_every == 0)
				tool_die("-s MS:EVERY (MS <= 1000, EVERY > 0)");
			break;
		default:
			if (!tool_opt(c, optarg, &bind_spec, &secs, 120))
				rp_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 4)
		rp_usage();
	if (ident_generate(&r.me) != 0)
		tool_die("ident_generate");
	tool_target(argv[1], argv[2], r.target_pub, &r.target);
	if (tool_parse_ipv4(bind_spec, &want) != 0)
		tool_die("bad -b address");
	/* The socket's default buffer, as a Go UDP reader has. */
	if ((r.fd = tool_udp_bind(&want, 0, &got)) == -1)
		tool_die("cannot bind -b address");
	r.port = ntohs(got.sin_port);
	r.t0 = loop_now_us();
	if ((r.rs = calloc(RP_WIN, sizeof(*r.rs))) == NULL)
		tool_die("out of memory");

	if (strcmp(argv[0], "serve") == 0) {
		if (rp_read_file(&r, argv[3]) != 0)
			tool_die("cannot read FILE");
		hex_encode(hex, r.me.node_id, 32);
		fprintf(stderr, "node_id %s\n", hex);
		rp_announce(&r);
		if (!r.answered) {
			printf("{\"announced\":false}\n");
			return 1;
		}
		rp_run(&r, loop_now_us() + (uint64_t)(secs * 1e6), rp_served);
		/* what else comes in a moment (late merkle asks) */
		rp_run(&r, loop_now_us() + (uint64_t)(linger * 1e6), NULL);
		printf("{\"announced\":true,\"requests_proto0\":%u,\"requests_merkle\":%u,"
		    "\"requests_other\":%u,\"first_request_to_proto0_ms\":%.1f,"
		    "\"proto0_to_all_acked_ms\":%.1f,\"served\":%s,\"bytes\":%zu}\n",
		    r.req0, r.reqmk, r.reqother,
		    r.req0_at ? (double)(r.req0_at - r.first_req_at) / 1000 : -1.0,
		    r.served_at ? (double)(r.served_at - r.req0_at) / 1000 : -1.0,
		    r.served_at ? "true" : "false", r.flen);
		return 0;
	}
	if (strcmp(argv[0], "blocks") == 0) {
		struct wire_getblock g;
		struct wire_block_range br;
		uint8_t rng[16];
		uint64_t start;

		r.blocks_want = strtoull(argv[3], NULL, 10);
		if (r.blocks_want == 0 || r.blocks_want > 256)
			tool_die("N must be 1..256");
		rp_announce(&r);
		if (!r.answered) {
			printf("{\"announced\":false}\n");
			return 1;
		}
		memset(&g, 0, sizeof(g));
		g.control = WIRE_GETBLOCK_REQUEST_START;
		memcpy(g.blockchain, r.target_pub, sizeof(g.blockchain));
		g.limit_count = r.blocks_want;
		g.max_block_size = 50096;	/* CacheMaxBlockSize */
		br.first = 0;
		br.count = r.blocks_want;
		wire_block_range_put(rng, 0, &br);
		g.ranges = rng;
		g.n_ranges = 1;
		randombytes_buf(r.id, sizeof(r.id));
		r.id[6] = (uint8_t)((r.id[6] & 0x0f) | 0x40);
		r.id[8] = (uint8_t)((r.id[8] & 0x3f) | 0x80);
		r.have_id = 1;
		memcpy(g.transfer_id, r.id, sizeof(r.id));
		randombytes_buf(&r.req_seq, sizeof(r.req_seq));
		if (wire_getblock_encode(rp_payload, sizeof(rp_payload), &len, &g) != 0)
			tool_die("get block encode failed");
		start = loop_now_us();
		rp_send(&r, WIRE_CMD_GET_BLOCK, r.req_seq, rp_payload, len);
		rp_run(&r, start + (uint64_t)(secs * 1e6), rp_closed);
		rp_run(&r, loop_now_us() + (uint64_t)(linger * 1e6), NULL);
		printf("{\"announced\":true,\"complete\":%s,\"records\":%llu,\"bytes\":%llu,"
		    "\"data_pkts\":%llu,\"acks\":%llu,\"naks\":%llu,\"close_unix_ms\":%llu}\n",
		    r.closed ? "true" : "false", (unsigned long long)r.records,
		    (unsigned long long)r.got, (unsigned long long)r.data_pkts,
		    (unsigned long long)r.acks, (unsigned long long)r.naks,
		    (unsigned long long)r.close_unix_ms);
		return r.closed ? 0 : 1;
	}
	if (strcmp(argv[0], "get") != 0)
		rp_usage();
	memset(&t, 0, sizeof(t));
	if (strlen(argv[3]) != 64 || hex_decode(t.hash, 32, argv[3]) != 32)
		tool_die("bad hash");
	rp_announce(&r);
	if (!r.answered) {
		printf("{\"announced\":false}\n");
		return 1;
	}
	blake3_hasher_init(&r.h);
	t.control = WIRE_TRANSFER_REQUEST_START;
	t.protocol = WIRE_TRANSFER_PROTO_UDT;
	randombytes_buf(r.id, sizeof(r.id));
	r.id[6] = (uint8_t)((r.id[6] & 0x0f) | 0x40);
	r.id[8] = (uint8_t)((r.id[8] & 0x3f) | 0x80);
	r.have_id = 1;
	memcpy(t.transfer_id, r.id, sizeof(r.id));
	randombytes_buf(&r.req_seq, sizeof(r.req_seq));
	if (wire_transfer_encode(rp_payload, sizeof(rp_payload), &len, &t) != 0)
		tool_die("transfer encode failed");
	{
		uint64_t start = loop_now_us();

		rp_send(&r, WIRE_CMD_TRANSFER, r.req_seq, rp_payload, len);
		rp_run(&r, start + (uint64_t)(secs * 1e6), rp_closed);
		/* closed: what the node still sends (its session should be over) */
		rp_run(&r, loop_now_us() + (uint64_t)(linger * 1e6), NULL);
		blake3_hasher_finalize(&r.h, digest, 32);
		printf("{\"announced\":true,\"complete\":%s,\"hash_ok\":%s,\"bytes\":%llu,"
		    "\"ms\":%.1f,\"data_pkts\":%llu,\"dup_pkts\":%llu,\"acks\":%llu,"
		    "\"ack2\":%llu,\"naks\":%llu,\"nak_entries\":%llu,\"stalls\":%llu,"
		    "\"data_after_close\":%llu,\"last_data_after_close_ms\":%.1f,"
		    "\"shutdown\":%llu,\"terminate\":%llu}\n",
		    r.closed ? "true" : "false",
		    r.closed && memcmp(digest, t.hash, 32) == 0 ? "true" : "false",
		    (unsigned long long)r.got,
		    r.done_at ? (double)(r.done_at - start) / 1000 : -1.0,
		    (unsigned long long)r.data_pkts, (unsigned long long)r.dup_pkts,
		    (unsigned long long)r.acks, (unsigned long long)r.ack2,
		    (unsigned long long)r.naks, (unsigned long long)r.nak_entries,
		    (unsigned long long)r.stalls, (unsigned long long)r.after_close,
		    r.last_after_close ? (double)(r.last_after_close - r.closed_at) / 1000 : 0.0,
		    (unsigned long long)r.shutdown, (unsigned long long)r.terminate);
	}
	return r.closed ? 0 : 1;
}
