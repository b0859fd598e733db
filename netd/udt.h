/*
 * udt.h — UDT, the reliable stream that carries Peernet file and block
 * transfers inside lite packets (docs/protocol.md §9, §2.7).
 *
 * Written by hand because no library fits: Debian ships no maintained C UDT
 * library (the UDT4 C++ library is unpackaged and dead upstream), and the
 * reference runs a modified fork of odysseus654/go-udt whose variant must be
 * matched on the wire: the 4-step handshake echoing socket ID 0, both
 * directions starting at the client's initial sequence, no MTU negotiation,
 * no SYN cookies, its ACK/ACK2/NAK timing and window rules.
 *
 * Two parts, one header:
 *  - udt_pkt.c: pure encode/decode of one UDT packet (all fields big-endian,
 *    §9.4).  A decoder of outside bytes: bounds-checked, a distinct error per
 *    failure, no allocation.
 *  - udt.c: one connection's state machine.  No sockets, no clock, no
 *    randomness of its own: everything comes through struct udt_env, so tests
 *    can wire two endpoints through an in-memory link with a fake clock.
 *    The glue wraps every packet passed to env->send in a lite packet
 *    (transfer ID, length) and feeds the UDT bytes of incoming lite packets
 *    to udt_input(); it calls udt_tick() at udt_next_timeout_us().
 *
 * Roles (§9.1): the requester (downloader) is the UDT *server*
 * (udt_listen/udt_accept); the provider is the UDT *client* (udt_connect).
 * Transfer crypto stays outside: a future encrypted mode wraps the bytes
 * handed to and from this module, so UDT itself does not change.
 *
 * Every buffer and list is bounded by a named constant below; a connection is
 * one fixed-size allocation (udt_conn_new).
 */
#ifndef PEERNET_UDT_H
#define PEERNET_UDT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Wire constants (§9.4, §10.1). */
#define UDT_PKT_MAX		1214	/* TransferMaxEmbedSizeLite */
#define UDT_HDR_SIZE		16
#define UDT_DATA_MAX		(UDT_PKT_MAX - UDT_HDR_SIZE)	/* 1198 */
#define UDT_HS_SIZE		64
#define UDT_ACK_LIGHT_SIZE	20
#define UDT_ACK_SIZE		32
#define UDT_ACK_RATE_SIZE	36
#define UDT_ACK_LINK_SIZE	40
#define UDT_DROPREQ_SIZE	24
#define UDT_NAK_MAX_ENTRIES	((UDT_PKT_MAX - UDT_HDR_SIZE) / 4)	/* 299 */
#define UDT_SEQ_MASK		0x7fffffffU
#define UDT_MSGNO_MASK		0x1fffffffU
#define UDT_VERSION		4
#define UDT_SOCK_STREAM		1
#define UDT_SOCK_DGRAM		2
/* Word 1 of every stream data packet: boundary "only" (3), in-order. */
#define UDT_DATA_STREAM_BITS	0xe0000000U

/* Handshake request types (signed on the wire). */
#define UDT_HS_REQUEST		1
#define UDT_HS_RENDEZVOUS	0
#define UDT_HS_RESPONSE		(-1)
#define UDT_HS_RESPONSE2	(-2)
#define UDT_HS_REFUSED		1002

/* Control packet types. */
enum udt_ctrl {
	UDT_CTRL_HANDSHAKE = 0,
	UDT_CTRL_KEEPALIVE = 1,
	UDT_CTRL_ACK = 2,
	UDT_CTRL_NAK = 3,
	UDT_CTRL_CONGESTION = 4,
	UDT_CTRL_SHUTDOWN = 5,
	UDT_CTRL_ACK2 = 6,
	UDT_CTRL_DROPREQ = 7,
	UDT_CTRL_ERROR = 8,
	UDT_CTRL_USERDEF = 0x7fff,
};

/* Timers and limits of the reference (§9.5, §10.2), in microseconds. */
#define UDT_SYN_US		10000ULL	/* SynTime */
#define UDT_CONNECT_RETRY_US	250000ULL
#define UDT_CONNECT_TIMEOUT_US	3000000ULL
#define UDT_LINGER_US		10000000ULL
#define UDT_BACKOFF_MAX_US	1000000ULL	/* ACK/NAK resend back-off cap */
#define UDT_IDLE_FILE_US	60000000ULL	/* transferSequenceTimeout */
#define UDT_IDLE_BLOCK_US	10000000ULL	/* blockSequenceTimeout */
#define UDT_FLOW_WIN		64		/* MaxFlowWinSize */
#define UDT_FLOW_WIN_MIN	32
/*
 * The handshake is taken in order (§9.5), never on trust: a client takes
 * step 4 only once it answered a matching step 2 with step 3, a listener
 * takes step 3 only for a (socket ID, initial sequence) whose step 1 it
 * answered.  The listener keeps the last UDT_HS_SEEN step-1 pairs for that
 * (a client that restarts its dial comes with a new pair; a full list
 * forgets the oldest).  A handshake's flow window is clamped to ours,
 * UDT_FLOW_WIN: the peer's number is a maximum, never a licence for more
 * than we offer (ACKs then move it within our slots, see UDT_SLOTS).  A
 * socket ID of 0 is refused in every step that names one: data and ACKs
 * to socket 0 stop a reference reader for good (§12.4).
 */
#define UDT_HS_SEEN		4
#define UDT_CWND_INIT		16		/* as captured: 17 packets before the first ACK */
#define UDT_ACK_INTERVAL	4		/* the reference receiver's */
/*
 * Our receiver ACKs every UDT_ACK_EVERY packets (and at once when a
 * retransmission fills a hole, and on the SYN timer): with windows of
 * hundreds of packets an ACK + ACK2 per 4 data packets cost as many
 * datagrams as half the data.  Wire-neutral: ACK timing is the receiver's.
 */
#define UDT_ACK_EVERY		16
/*
 * Blind retransmission (window full, or UDT_EXP_US without ACK progress)
 * resends at most this many packets from the first unacknowledged one:
 * enough to restart the ACK clock (lost ACKs and NAKs are repeated by the
 * receiver's SYN timer), without a burst of a whole large window of
 * duplicates whenever the receiver was descheduled for 10 ms.  Towards a
 * reference receiver (udt_set_probe_only) it is one probe instead.
 */
#define UDT_BLIND_MAX		64
/*
 * A full window waits one EXP interval of the measured round trip (RTT +
 * 4 x variation, at least UDT_SYN_US) for an ACK before that resend, not
 * a fixed 10 ms, which with a 40 ms round trip resent packets that were
 * only on their way; before a first RTT sample it waits this long (UDT's
 * initial RTT).  Towards a reference receiver the probe keeps 10 ms.
 */
#define UDT_BLIND_FIRST_US	100000ULL
/*
 * Our receiver NAKs a gap only once it stayed open for a reordering
 * window, a quarter of the round trip within these bounds (the reference
 * NAKs at once): datagrams that overtake each other by a few ms are not
 * losses, and their NAKs made the sender resend what was on its way.
 * Receiver-side timing only, the same NAK packets.
 */
#define UDT_REORDER_INIT_US	5000ULL		/* before an RTT sample */
#define UDT_REORDER_MIN_US	1000ULL
#define UDT_REORDER_MAX_US	20000ULL
/*
 * A receiver whose sender vanished mid-stream (UDT's "connection broken"
 * rule): while it holds a stream in progress, it asks a silent peer with
 * an ACK of what arrived, every EXP interval (RTT + 4 x variation + SYN,
 * within these bounds, doubling); a live sender answers each with an ACK2
 * (ours and the reference's).  After UDT_BROKEN_EXP unanswered probes and
 * at least UDT_BROKEN_MIN_US without any packet: UDT_ERR_PEER_GONE (about
 * 7 s), not the idle timeout's 60 s.  A peer that answers but sends
 * nothing is idle-but-alive: the idle timeout still applies to it (ACK2s
 * do not count as activity).  A sender with data in flight towards one
 * of our receivers (not udt_set_probe_only) ends the same way after
 * UDT_BROKEN_EXP blind resends without any answer and at least
 * UDT_BROKEN_MIN_US (~13 s with their back-off), not after the 60 s ACK
 * timeout: our receivers answer a duplicate (a blind resend) with a
 * keep-alive, also while their reader keeps the window full.  Our own timing; the
 * same ACK packets.
 */
#define UDT_PROBE_MIN_US	100000ULL
#define UDT_PROBE_MAX_US	500000ULL
#define UDT_BROKEN_EXP		16
#define UDT_BROKEN_MIN_US	5000000ULL
/*
 * Our own additions (wire-neutral): a tail-loss timer, because the
 * reference has no EXP timer and a lost last packet would otherwise only be
 * recovered by the transfer-ID expiry.  Blind retransmission doubles up to
 * UDT_BACKOFF_MAX_US instead of without bound.
 */
#define UDT_EXP_US		300000ULL	/* the reference's unused minEXPinterval */

/* Bounds of one connection. */
/*
 * In-flight and reorder window, packets (power of 2).  The reference's 64
 * packets per round trip cap a transfer at ~77 KB per RTT (§9.5); our
 * receiver advertises UDT_RCV_WIN instead (the ACK's "available buffer" is
 * ours to choose; a reference sender just uses it as its flow window), and
 * our sender follows whatever the receiver advertises up to UDT_SLOTS.
 */
#define UDT_SLOTS		1024
#define UDT_RCV_WIN		(UDT_SLOTS - 2)
/*
 * A peer that keeps the connection alive (any packet resets the idle timer)
 * but never acknowledges what is in flight: the connection fails with
 * UDT_ERR_ACK_TIMEOUT after the idle timeout without ACK progress, instead
 * of retransmitting blindly forever.
 */

/* bytes written but not yet sent, queued in their packets (udt.c) */
#define UDT_SNDBUF_BYTES	(512 * 1024)
#define UDT_RCVBUF_BYTES	(1024 * 1024)	/* ≥ UDT_RCV_WIN packets */
#define UDT_ACK_HIST		64	/* sent ACKs awaiting their ACK2 */
#define UDT_SPEED_WIN		16	/* arrival / probe history, as the reference */

/* Errors of the packet codec and of the connection (distinct per kind). */
enum udt_err {
	UDT_OK = 0,
	UDT_ERR_ARG = -1,		/* NULL or otherwise unusable argument */
	UDT_ERR_SHORT = -2,		/* fewer than 4 bytes: no type word */
	UDT_ERR_DATA_SHORT = -3,	/* data packet shorter than its 16-byte header */
	UDT_ERR_CTRL_SHORT = -4,	/* control packet shorter than its 16-byte header */
	UDT_ERR_CTRL_TYPE = -5,		/* unknown control packet type */
	UDT_ERR_HS_SHORT = -6,		/* handshake shorter than 64 bytes */
	UDT_ERR_HS_LONG = -7,		/* handshake longer than 64 bytes */
	UDT_ERR_ACK_LEN = -8,		/* ACK not 20, 32, 36 or 40 bytes */
	UDT_ERR_NAK_LEN = -9,		/* NAK body not a multiple of 4 bytes */
	UDT_ERR_DROPREQ_SHORT = -10,	/* message drop request shorter than 24 bytes */
	UDT_ERR_TOO_LONG = -11,		/* packet longer than UDT_PKT_MAX */
	UDT_ERR_BUF = -12,		/* encoder: output buffer too small */
	UDT_ERR_NOMEM = -13,
	UDT_ERR_STATE = -20,		/* call not valid in this connection state */
	UDT_ERR_AGAIN = -21,		/* not yet (accept before the handshake completed) */
	UDT_ERR_CLOSED = -22,		/* closed cleanly (Shutdown sent or received) */
	UDT_ERR_TIMEOUT = -23,		/* nothing received for the idle timeout */
	UDT_ERR_CONNECT_TIMEOUT = -24,	/* handshake did not complete (3 s + 10 s linger) */
	UDT_ERR_PROTO = -25,		/* peer ACKed/NAKed packets never sent, or a bad NAK */
	UDT_ERR_REFUSED = -26,		/* handshake refused (1002) */
	UDT_ERR_DROP_SOCKET = -27,	/* input: destination socket is not ours */
	UDT_ERR_DROP_ZERO_DST = -28,	/* input: non-handshake packet to socket 0 */
	UDT_ERR_DROP_WINDOW = -29,	/* input: data beyond the receive window */
	UDT_ERR_DROP_HS = -30,		/* input: handshake not acceptable now */
	UDT_ERR_DROP_STATE = -31,	/* input: packet not expected in this state */
	UDT_ERR_DROP_DUP = -32,		/* input: data already received */
	UDT_ERR_ACK_TIMEOUT = -33,	/* data in flight, no ACK progress for the idle timeout */
	UDT_ERR_DROP_STALE = -34,	/* input: ACK/ACK2 already settled or unknown (replay) */
	UDT_ERR_DROP_HS_ORDER = -35,	/* input: handshake step before the step it answers */
	UDT_ERR_PEER_GONE = -36,	/* receiver: the sender stopped answering (UDT_BROKEN_*) */
};

const char	*udt_strerror(int err);

/*
 * One decoded packet.  Pointers (data, nak, body) point into the decoded
 * bytes; nothing is allocated.
 */
struct udt_pkt {
	int		 is_ctrl;
	uint32_t	 ts;		/* µs since the sender's socket was created */
	uint32_t	 dst;		/* destination socket ID */
	/* data */
	uint32_t	 seq;		/* 31-bit packet sequence */
	uint32_t	 msg;		/* word 1: boundary, in-order, message number */
	const uint8_t	*data;
	size_t		 data_len;
	/* control */
	uint16_t	 type;		/* enum udt_ctrl */
	uint16_t	 reserved;	/* subtype for USERDEF */
	uint32_t	 info;		/* ACK/ACK2: ACK number; DROPREQ: message */
	union {
		struct {
			uint32_t version, sock_type, init_seq, mss, flow_win;
			int32_t	 req_type;
			uint32_t sock_id, cookie;
			uint8_t	 peer_ip[16];
		} hs;
		struct {
			int	 nfields;	/* 1 (light), 4, 5 or 6 words */
			uint32_t seq;		/* next expected, exclusive */
			uint32_t rtt, rtt_var, avail, rate, cap;
		} ack;
		struct {
			const uint8_t	*raw;	/* n big-endian u32 entries */
			size_t		 n;
		} nak;
		struct {
			uint32_t first, last;
		} drop;
	} u;
	/* control types without a parsed body keep it raw (re-encoded as is) */
	const uint8_t	*body;
	size_t		 body_len;
};

int	 udt_pkt_decode(const uint8_t *p, size_t len, struct udt_pkt *out);
int	 udt_pkt_encode(uint8_t *out, size_t cap, size_t *len,
	    const struct udt_pkt *p);
uint32_t udt_pkt_nak_entry(const struct udt_pkt *p, size_t i);
const char *udt_pkt_type_name(const struct udt_pkt *p);

/* 31-bit sequence arithmetic: signed distance a - b in [-2^30, 2^30). */
static inline int32_t
udt_seq_diff(uint32_t a, uint32_t b)
{
	uint32_t d = (a - b) & UDT_SEQ_MASK;

	/* sign-extend bit 30 (conversion is modulo 2^32 in GCC and Clang) */
	return (int32_t)(d >= 0x40000000U ? d | 0x80000000U : d);
}

static inline uint32_t
udt_seq_add(uint32_t a, int32_t n)
{
	return (a + (uint32_t)n) & UDT_SEQ_MASK;
}

/* What the connection needs from outside. */
struct udt_env {
	uint64_t	(*now_us)(void *ctx);	/* monotonic */
	/* one UDT packet (≤ UDT_PKT_MAX bytes); the glue adds the lite header */
	int		(*send)(void *ctx, const uint8_t *pkt, size_t len);
	void		(*random)(void *ctx, void *out, size_t n);
	void		*ctx;
};

enum udt_state {
	UDT_ST_INIT = 0,
	UDT_ST_LISTEN,		/* server: waiting for the handshake */
	UDT_ST_CONNECTING,	/* client: handshake sent */
	UDT_ST_CONNECTED,
	UDT_ST_CLOSING,		/* udt_close(): draining, Shutdown when all ACKed */
	UDT_ST_CLOSED,		/* Shutdown sent or received */
	UDT_ST_ERROR,		/* see udt_error() */
};

struct udt_stats {
	uint64_t	bytes_sent;		/* application bytes, first transmissions */
	uint64_t	bytes_recv;		/* application bytes delivered in order */
	uint64_t	pkts_sent;		/* data packets incl. retransmissions */
	uint64_t	pkts_recv;		/* data packets accepted */
	uint64_t	retransmits;		/* loss-list resends */
	uint64_t	blind_retransmits;	/* timer resends (window head, or probes) */
	uint64_t	acks_sent, acks_recv, naks_sent, naks_recv;
	uint64_t	dup_recv;		/* data packets already held */
	uint64_t	dropped;		/* inputs rejected (any reason) */
	uint64_t	stale_ctrl;		/* old or unknown ACK / ACK2 (replays) ignored */
	uint64_t	nak_ignored;		/* NAK entries outside what is in flight */
	uint32_t	rtt_us, rtt_var_us;
	uint32_t	delivery_rate;		/* packets/s reported by the peer */
	uint32_t	bandwidth;		/* packets/s reported by the peer */
	uint32_t	cwnd, flow_win;
	double		snd_period_us;		/* computed as the reference; not paced */
	uint32_t	in_flight;
	uint32_t	snd_loss, rcv_loss;	/* current loss-list lengths */
};

struct udt_conn;

/*
 * Allocates one connection (fixed size, about 5 MB: 2 x UDT_SLOTS send
 * packets, UDT_SLOTS receive slots and the receive ring, of which only
 * what the traffic touches becomes resident). NULL on ENOMEM.
 */
struct udt_conn	*udt_conn_new(const struct udt_env *env);
void		 udt_conn_free(struct udt_conn *c);

/* Server (requester) side: answer handshakes; udt_accept says when done. */
int		 udt_listen(struct udt_conn *c);
int		 udt_accept(struct udt_conn *c);	/* UDT_OK or UDT_ERR_AGAIN / error */
/* Client (provider) side: sends handshake step 1. */
int		 udt_connect(struct udt_conn *c);

/* One UDT packet from the peer (lite data). UDT_OK or why it was dropped. */
int		 udt_input(struct udt_conn *c, const uint8_t *pkt, size_t len);
/* Runs due timers. */
int		 udt_tick(struct udt_conn *c);
/* Absolute time (env clock) at which udt_tick wants to run; UINT64_MAX: never. */
uint64_t	 udt_next_timeout_us(const struct udt_conn *c);

/* Bytes accepted into the bounded send buffer (0 when full), or an error. */
ssize_t		 udt_write(struct udt_conn *c, const void *buf, size_t len);
/* Bytes read; 0 when nothing is buffered yet; UDT_ERR_CLOSED at the end. */
ssize_t		 udt_read(struct udt_conn *c, void *buf, size_t cap);
/*
 * Zero-copy reading: posts buf as where the next cap bytes of the stream go.
 * What is buffered is copied there at once (the return value, or an error);
 * in-order data arriving later is copied straight from the packet into buf
 * instead of through the receive ring (one copy less per byte), and the
 * posted room counts in the window we advertise.  udt_recv_posted says how
 * many bytes buf holds so far (they stay there, in order); once cap are
 * there, further data waits in the ring for udt_read.  udt_recv_unpost ends
 * the posting (returns the bytes in buf); it must come before buf is freed
 * or reused, and before udt_read is used for what follows.  One posting at
 * a time (UDT_ERR_STATE).  The stream's end still shows in udt_read
 * (UDT_ERR_CLOSED) once unposted.
 */
ssize_t		 udt_recv_post(struct udt_conn *c, void *buf, size_t cap);
size_t		 udt_recv_posted(const struct udt_conn *c);
size_t		 udt_recv_unpost(struct udt_conn *c);
/* Graceful: Shutdown once every written byte is acknowledged. */
int		 udt_close(struct udt_conn *c);
/* Immediate: Shutdown now, drop everything. */
int		 udt_abort(struct udt_conn *c);
/*
 * The stream ends after `more` further bytes are written (0: after what is
 * buffered).  For a receiver that withholds the ACK of a short tail: the
 * reference ACKs every 4 packets and leaves the rest to a timer that is only
 * armed by a first ACK, so it never ACKs a stream of fewer than 4 packets
 * and the sender cannot tell it got everything.  With the end known, the
 * last bytes go out as two packets, the later sequence first: the earlier
 * one then fills a gap, which every UDT receiver ACKs at once (§9.5).
 * Same bytes, same sequence numbers; only the order of the last two.
 */
int		 udt_stream_end(struct udt_conn *c, uint64_t more);
/*
 * Towards a reference receiver: blind retransmission sends one probe, the
 * newest unacknowledged packet, instead of up to UDT_BLIND_MAX from the
 * oldest.  A reference receiver stalls its reader now and then (GC, disk)
 * and then says nothing for tens of ms; every expiry resent the window as
 * duplicates that overflowed its socket buffer and lost new data.  A
 * receiver that lacks the probe sees the gap before it and NAKs exactly
 * what it lost; one that has it was only slow, and it repeats a lost ACK
 * (until our ACK2) and the NAK of its first missing packet by itself
 * (§9.5).  Our own receivers keep the window-head resend: on a lossy link
 * it repairs holes whose NAK was lost sooner than their NAK timer.
 */
void		 udt_set_probe_only(struct udt_conn *c);
/* Idle timeout (default UDT_IDLE_FILE_US; UDT_IDLE_BLOCK_US for blocks). */
void		 udt_set_idle_timeout(struct udt_conn *c, uint64_t us);

enum udt_state	 udt_state(const struct udt_conn *c);
int		 udt_is_connected(const struct udt_conn *c);
int		 udt_is_closed(const struct udt_conn *c);	/* CLOSED or ERROR */
int		 udt_error(const struct udt_conn *c);	/* UDT_OK or the fatal error */
size_t		 udt_readable(const struct udt_conn *c);
size_t		 udt_send_pending(const struct udt_conn *c);	/* buffered + unACKed bytes */
uint32_t	 udt_sock_id(const struct udt_conn *c);
uint32_t	 udt_peer_sock_id(const struct udt_conn *c);
uint32_t	 udt_init_seq(const struct udt_conn *c);
void		 udt_get_stats(const struct udt_conn *c, struct udt_stats *st);

#endif /* PEERNET_UDT_H */
