/*
 * fakepeer.c — a hostile Peernet peer for integration tests on loopback.
 *
 * It speaks protocol version 0 with its own identity (common/ident.h,
 * wire_packet.h, wire_msg.h) and lies where a hostile peer would: replayed
 * datagrams, Responses nobody asked for, peer records naming identities that
 * never spoke and addresses of third parties, wrong self-reported ports.
 * "Third parties" are sink sockets the tool itself listens on, so it can
 * count what the node under test sends there (sinks never answer).
 *
 * Every subcommand prints one JSON object on stdout.  Every loop has a count
 * limit and every wait a deadline (-t), so a misbehaving node cannot hang a
 * test.
 *
 *   fakepeer [-k KEYFILE] [-b IP:PORT] [-t SECONDS] [-o FILE] CMD ...
 *   id                                    print our peer ID
 *   announce    PUB IP:PORT               FIND_SELF + UA; print the Response
 *   replay      PUB IP:PORT N             a Ping, then its bytes N more times
 *   unsolicited PUB IP:PORT N             N Responses with sequences never issued
 *   poison      PUB IP:PORT N             serve the node lies for -t seconds
 *   reflect     PUB IP:PORT NKEYS         bytes back per byte sent, per request kind
 *   traverse    PUB IP:PORT KIND [OTHER]  one hostile (or valid) Traverse (cmd_traverse)
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

#include "hex.h"
#include "ident.h"
#include "loop.h"
#include "tool.h"
#include "wire_msg.h"
#include "wire_packet.h"

#define FP_UA			"fakepeer/1.0"
#define FP_RECORDS		5	/* records per Hash2Peer: what a node answers with */
#define FP_MAX_SINKS		16
#define FP_MAX_N		10000	/* cap of every N argument */
#define FP_MAX_BOOT_ANSWERS	16	/* bootstrap Announcements we answer with lies */
#define FP_MAX_LOOKUP_KEYS	64
#define FP_MAX_RECV		200000	/* datagrams handled per wait, whatever the deadline */

/* Which lie a sink address was handed out in. */
enum fp_sink_kind {
	FP_SINK_BOOT = 0,	/* fresh identities in Responses to a bootstrap FIND_SELF */
	FP_SINK_BOOT_REPEAT,	/* the same 5 identities, in every other such Response */
	FP_SINK_LOOKUP,		/* records in Responses to DHT queries */
	FP_SINK_KEEPALIVE,	/* records in Responses to keep-alive Announcements */
	FP_SINK_UNSOLICITED,	/* records in Responses with sequences never issued */
	FP_SINK_LIEDPORT,	/* the external port we claim in our headers */
	FP_SINK_KINDS
};

static const char *fp_sink_names[FP_SINK_KINDS] = {
	"boot", "boot_repeat", "lookup", "keepalive", "unsolicited", "lied_port"
};

struct fp_sink {
	int			 fd;
	struct sockaddr_in	 addr;
	enum fp_sink_kind	 kind;
	uint64_t		 pkts, bytes;		/* from anyone */
	uint64_t		 pkts_target, bytes_target; /* from the node under test */
};

struct fp {
	struct ident		 me;
	int			 fd;
	struct sockaddr_in	 bound;
	int			 alt_fd;	/* -a: a second address of ours, or -1 */
	struct sockaddr_in	 alt;
	uint8_t			 target_pub[PEERNET_PUBKEY_BYTES];
	uint8_t			 target_node[PEERNET_NODEID_BYTES];
	struct sockaddr_in	 target;
	uint64_t		 deadline_ms;
	struct fp_sink		 sinks[FP_MAX_SINKS];
	int			 nsinks;
	FILE			*bogus_out;	/* -o: every bogus peer ID handed out */
	/* what we sent to / got from the target */
	uint64_t		 tx_pkts, tx_bytes, rx_pkts, rx_bytes;
	uint16_t		 port_internal, port_external;	/* self-reported */
	uint64_t		 bogus_ids;
};

static uint8_t fp_raw[WIRE_PACKET_MAX];
static uint8_t fp_plain[WIRE_PACKET_MAX];
static uint8_t fp_payload[WIRE_PACKET_MAX];

/* --- sending ------------------------------------------------------------ */

/* Encodes and sends one packet from fd to the target; returns its size, or -1. */
static long
fp_send(struct fp *f, int fd, uint8_t cmd, uint32_t seq, const uint8_t *payload,
    size_t len, const struct ident *as)
{
	long out;

	if ((out = tool_send(fd, as ? as : &f->me, f->target_pub, &f->target, cmd,
	    seq, payload, len)) < 0)
		return -1;
	f->tx_pkts++;
	f->tx_bytes += (uint64_t)out;
	return out;
}

/* Sends raw bytes verbatim to the target (a replay). */
static long
fp_resend(struct fp *f, const uint8_t *raw, size_t n)
{
	if (sendto(f->fd, raw, n, 0, (const struct sockaddr *)&f->target,
	    sizeof(f->target)) != (ssize_t)n)
		return -1;
	f->tx_pkts++;
	f->tx_bytes += n;
	return (long)n;
}

static size_t
fp_announce_payload(struct fp *f, int with_ua, uint8_t actions,
    const uint8_t *keys, size_t nkeys)
{
	struct wire_announce a;

	memset(&a, 0, sizeof(a));
	a.find_peer = keys;
	a.n_find_peer = nkeys;
	return tool_msg(fp_payload, sizeof(fp_payload), &a, NULL,
	    with_ua ? FP_UA : NULL, actions, f->port_internal, f->port_external);
}

/*
 * A bogus peer record: a fresh identity nobody holds a connection to, at
 * address `at` (which it does not own).  Reported internal port non-zero so
 * the record passes the consumer's quality rule (§3.4).
 */
static void
fp_bogus_record(struct fp *f, const struct sockaddr_in *at,
    struct wire_peer_record *r)
{
	struct ident id;
	char hex[2 * PEERNET_PUBKEY_BYTES + 1];

	if (ident_generate(&id) != 0)
		tool_die("ident_generate");
	memset(r, 0, sizeof(*r));
	memcpy(r->peer_id, id.pub, sizeof(r->peer_id));
	memcpy(r->ipv4, &at->sin_addr, 4);
	r->ipv4_port = ntohs(at->sin_port);
	r->ipv4_port_internal = ntohs(at->sin_port);
	r->features = WIRE_FEATURE_IPV4_LISTEN;
	r->reason = WIRE_REASON_CLOSE;
	ident_wipe(&id);
	f->bogus_ids++;
	if (f->bogus_out != NULL) {
		hex_encode(hex, r->peer_id, PEERNET_PUBKEY_BYTES);
		fprintf(f->bogus_out, "%s\n", hex);
	}
}

/* Sink i of a kind, round robin; NULL if there is none of that kind. */
static const struct sockaddr_in *
fp_sink_addr(struct fp *f, enum fp_sink_kind kind, unsigned i)
{
	int idx[FP_MAX_SINKS], n = 0, k;

	for (k = 0; k < f->nsinks; k++)
		if (f->sinks[k].kind == kind)
			idx[n++] = k;
	return n == 0 ? NULL : &f->sinks[idx[i % (unsigned)n]].addr;
}

/*
 * A Response with one Hash2Peer record per key, each carrying FP_RECORDS
 * bogus records pointing at the sinks of `kind` (plus, for `own_first`, a
 * first record naming the target's own address).
 */
static size_t
fp_response_payload(struct fp *f, const uint8_t *keys, size_t nkeys,
    enum fp_sink_kind kind, int last, int own_first)
{
	static struct wire_peer_record recs[FP_MAX_LOOKUP_KEYS][FP_RECORDS];
	static struct wire_h2p_in h2p[FP_MAX_LOOKUP_KEYS];
	struct wire_response_in r;
	size_t i, j;
	unsigned rr = 0;

	if (nkeys > FP_MAX_LOOKUP_KEYS)
		nkeys = FP_MAX_LOOKUP_KEYS;
	static struct wire_peer_record pool[FP_RECORDS];
	static int pool_ready;

	for (i = 0; i < nkeys; i++) {
		if (kind == FP_SINK_BOOT_REPEAT) {
			/* The same identities at the same addresses, answer after answer. */
			for (j = 0; !pool_ready && j < FP_RECORDS; j++) {
				const struct sockaddr_in *at = fp_sink_addr(f, kind,
				    (unsigned)j);

				if (at == NULL)
					tool_die("no boot_repeat sink");
				fp_bogus_record(f, at, &pool[j]);
			}
			pool_ready = 1;
			memcpy(recs[i], pool, sizeof(pool));
		}
		for (j = 0; kind != FP_SINK_BOOT_REPEAT && j < FP_RECORDS; j++) {
			const struct sockaddr_in *at = fp_sink_addr(f, kind, rr++);

			if (own_first && j == 0)
				at = &f->target;
			if (at == NULL)
				tool_die("no sink of that kind");
			fp_bogus_record(f, at, &recs[i][j]);
		}
		h2p[i].key = keys + 32 * i;
		h2p[i].records = recs[i];
		h2p[i].n_records = FP_RECORDS;
		h2p[i].more_follow = 0;
	}
	memset(&r, 0, sizeof(r));
	r.h2p = h2p;
	r.n_h2p = nkeys;
	return tool_msg(fp_payload, sizeof(fp_payload), NULL, &r, NULL,
	    last ? WIRE_ACTION_SEQUENCE_LAST : 0, f->port_internal,
	    f->port_external);
}

/* --- receiving ---------------------------------------------------------- */

struct fp_rx {
	struct wire_packet	pkt;
	size_t			len;
	int			fd;		/* the socket it came in on: answer there */
	int			ok;		/* decoded, from the target */
};

typedef void (*fp_on_packet)(struct fp *f, const struct fp_rx *rx, void *arg);

/*
 * Waits until `until_ms` (capped by the global deadline), counting what the
 * sinks receive and handing every packet from the target on the main socket
 * to `fn`.  Returns early when *stop becomes non-zero.
 */
static void
fp_wait(struct fp *f, uint64_t until_ms, fp_on_packet fn, void *arg,
    const int *stop)
{
	struct pollfd pfd[2 + FP_MAX_SINKS];
	struct sockaddr_in from;
	socklen_t sl;
	ssize_t got;
	uint64_t now;
	long handled = 0;
	int i, np;

	if (until_ms > f->deadline_ms)
		until_ms = f->deadline_ms;
	while ((now = loop_now_ms()) < until_ms && handled < FP_MAX_RECV &&
	    (stop == NULL || *stop == 0)) {
		pfd[0].fd = f->fd;
		pfd[0].events = POLLIN;
		for (i = 0; i < f->nsinks; i++) {
			pfd[1 + i].fd = f->sinks[i].fd;
			pfd[1 + i].events = POLLIN;
		}
		/* poll ignores a negative fd: no -a, no alternate socket */
		pfd[1 + f->nsinks].fd = f->alt_fd;
		pfd[1 + f->nsinks].events = POLLIN;
		pfd[1 + f->nsinks].revents = 0;
		np = poll(pfd, (nfds_t)(2 + f->nsinks), (int)(until_ms - now));
		if (np <= 0) {
			if (np == -1 && errno != EINTR)
				tool_die("poll");
			continue;
		}
		for (i = 0; i < f->nsinks; i++) {
			struct fp_sink *s = &f->sinks[i];

			if (!(pfd[1 + i].revents & POLLIN))
				continue;
			sl = sizeof(from);
			got = recvfrom(s->fd, fp_raw, sizeof(fp_raw), MSG_DONTWAIT,
			    (struct sockaddr *)&from, &sl);
			if (got < 0)
				continue;
			handled++;
			s->pkts++;
			s->bytes += (uint64_t)got;
			if (from.sin_addr.s_addr == f->target.sin_addr.s_addr &&
			    from.sin_port == f->target.sin_port) {
				s->pkts_target++;
				s->bytes_target += (uint64_t)got;
			}
		}
		for (i = 0; i < 2; i++) {
			struct fp_rx rx;
			int fd = i == 0 ? f->fd : f->alt_fd;

			if (!(pfd[i == 0 ? 0 : 1 + f->nsinks].revents & POLLIN))
				continue;
			sl = sizeof(from);
			got = recvfrom(fd, fp_raw, sizeof(fp_raw), MSG_DONTWAIT,
			    (struct sockaddr *)&from, &sl);
			if (got < 0)
				continue;
			handled++;
			memset(&rx, 0, sizeof(rx));
			rx.len = (size_t)got;
			rx.fd = fd;
			if (from.sin_addr.s_addr != f->target.sin_addr.s_addr ||
			    from.sin_port != f->target.sin_port)
				continue;
			f->rx_pkts++;
			f->rx_bytes += (uint64_t)got;
			rx.ok = wire_packet_decode(fp_raw, (size_t)got, f->me.pub, fp_plain,
			    sizeof(fp_plain), &rx.pkt) == 0 &&
			    memcmp(rx.pkt.sender, f->target_pub, PEERNET_PUBKEY_BYTES) == 0;
			if (fn != NULL)
				fn(f, &rx, arg);
		}
	}
}

/* --- announce ----------------------------------------------------------- */

struct fp_announce {
	uint32_t	seq;
	int		got;
	size_t		bytes;
	char		json[4096];
};

/*
 * What the reference does with an Announcement or a Ping from the node
 * (§3.2, §3.5): a Response carrying its sequence (header only: we know
 * nobody), a Pong.  The node sends a bare Announcement (a "cookie") to a
 * source that has not answered it yet before it serves a request whose
 * answer would be larger than the request: answering it proves that we
 * receive its packets at our address.
 */
static void
fp_answer_like_reference(struct fp *f, const struct fp_rx *rx)
{
	struct wire_announce a;
	struct wire_response_in r;
	size_t len;

	if (!rx->ok)
		return;
	if (rx->pkt.command == WIRE_CMD_PING) {
		fp_send(f, rx->fd, WIRE_CMD_PONG, rx->pkt.sequence, NULL, 0, NULL);
		return;
	}
	if (rx->pkt.command != WIRE_CMD_ANNOUNCEMENT ||
	    wire_announce_decode(rx->pkt.payload, rx->pkt.payload_len, &a) != 0)
		return;
	memset(&r, 0, sizeof(r));
	len = tool_msg(fp_payload, sizeof(fp_payload), NULL, &r,
	    a.hdr.ua_len > 0 ? FP_UA : NULL, WIRE_ACTION_SEQUENCE_LAST,
	    f->port_internal, f->port_external);
	fp_send(f, rx->fd, WIRE_CMD_RESPONSE, rx->pkt.sequence, fp_payload, len, NULL);
}

static void
fp_on_announce_reply(struct fp *f, const struct fp_rx *rx, void *arg)
{
	struct fp_announce *a = arg;
	struct wire_response r;
	struct wire_response_iter it;
	struct wire_h2p_view v;
	struct wire_peer_record rec;
	size_t off = 0, nrec = 0;
	uint16_t i;

	fp_answer_like_reference(f, rx);
	if (!rx->ok || rx->pkt.command != WIRE_CMD_RESPONSE || rx->pkt.sequence != a->seq ||
	    wire_response_decode(rx->pkt.payload, rx->pkt.payload_len, &r) != 0)
		return;
	a->got = 1;
	a->bytes = rx->len;
	off += (size_t)snprintf(a->json + off, sizeof(a->json) - off, "\"peers\":[");
	wire_response_h2p_begin(&r, &it);
	while (wire_response_h2p_next(&it, &v) == 1) {
		for (i = 0; i < v.n_records; i++) {
			char hex[2 * PEERNET_PUBKEY_BYTES + 1], ip[INET_ADDRSTRLEN];

			if (wire_peer_record_decode(v.records + WIRE_PEER_RECORD_SIZE * i,
			    &rec) != 0)
				continue;
			hex_encode(hex, rec.peer_id, PEERNET_PUBKEY_BYTES);
			inet_ntop(AF_INET, rec.ipv4, ip, sizeof(ip));
			if (off < sizeof(a->json) - 200)
				off += (size_t)snprintf(a->json + off, sizeof(a->json) - off,
				    "%s{\"peer_id\":\"%s\",\"addr\":\"%s:%u\",\"port_internal\":%u}",
				    nrec ? "," : "", hex, ip, rec.ipv4_port,
				    rec.ipv4_port_internal);
			nrec++;
		}
	}
	snprintf(a->json + off, sizeof(a->json) - off,
	    "],\"h2p\":%u,\"records\":%zu,\"notfound\":%u,\"ua\":\"%s\"",
	    r.n_h2p, nrec, r.n_notfound, r.hdr.ua_len ? "yes" : "no");
}

/* FIND_SELF with UA; 0 and a->json filled if the Response came. */
static int
fp_do_announce(struct fp *f, struct fp_announce *a, uint64_t wait_ms)
{
	size_t len;

	memset(a, 0, sizeof(*a));
	randombytes_buf(&a->seq, sizeof(a->seq));
	len = fp_announce_payload(f, 1, WIRE_ACTION_FIND_SELF, NULL, 0);
	if (fp_send(f, f->fd, WIRE_CMD_ANNOUNCEMENT, a->seq, fp_payload, len, NULL) < 0)
		return -1;
	fp_wait(f, loop_now_ms() + wait_ms, fp_on_announce_reply, a, &a->got);
	return a->got ? 0 : -1;
}

static int
cmd_announce(struct fp *f)
{
	struct fp_announce a;
	int rc = fp_do_announce(f, &a, 3000);

	printf("{\"response\":%d,\"bytes\":%zu%s%s}\n", rc == 0, a.bytes,
	    rc == 0 ? "," : "", rc == 0 ? a.json : "");
	return rc == 0 ? 0 : 1;
}

/* --- replay ------------------------------------------------------------- */

struct fp_replay {
	uint32_t	seq;
	uint64_t	pongs, announcements, other;
};

static void
fp_on_replay(struct fp *f, const struct fp_rx *rx, void *arg)
{
	struct fp_replay *r = arg;

	(void)f;
	if (!rx->ok)
		return;
	if (rx->pkt.command == WIRE_CMD_PONG && rx->pkt.sequence == r->seq)
		r->pongs++;
	else if (rx->pkt.command == WIRE_CMD_ANNOUNCEMENT)
		r->announcements++;
	else
		r->other++;
}

static int
cmd_replay(struct fp *f, long n)
{
	struct fp_announce a;
	struct fp_replay r;
	static uint8_t copy[WIRE_PACKET_MAX + 128];
	long len, i, sent = 0;

	/* Our connection needs reported ports, or a Ping is answered by an Announcement (§3.5). */
	if (fp_do_announce(f, &a, 3000) != 0) {
		printf("{\"error\":\"no response to the announcement\"}\n");
		return 1;
	}
	memset(&r, 0, sizeof(r));
	randombytes_buf(&r.seq, sizeof(r.seq));
	if ((len = fp_send(f, f->fd, WIRE_CMD_PING, r.seq, NULL, 0, NULL)) < 0)
		tool_die("send");
	memcpy(copy, tool_out, (size_t)len);
	/* Let the original be processed first: the replays must lose the race. */
	fp_wait(f, loop_now_ms() + 300, fp_on_replay, &r, NULL);
	for (i = 0; i < n; i++) {
		if (fp_resend(f, copy, (size_t)len) > 0)
			sent++;
		if (i % 50 == 49)
			fp_wait(f, loop_now_ms() + 5, fp_on_replay, &r, NULL);
	}
	fp_wait(f, loop_now_ms() + 1000, fp_on_replay, &r, NULL);
	printf("{\"sent\":%ld,\"replays\":%ld,\"bytes\":%ld,\"pongs\":%llu,"
	    "\"announcements\":%llu,\"other\":%llu}\n", sent + 1, sent, len,
	    (unsigned long long)r.pongs, (unsigned long long)r.announcements,
	    (unsigned long long)r.other);
	return 0;
}

/* --- sinks -------------------------------------------------------------- */

static void
fp_add_sink(struct fp *f, const char *spec, enum fp_sink_kind kind)
{
	struct fp_sink *s;
	struct sockaddr_in want;

	if (f->nsinks >= FP_MAX_SINKS)
		tool_die("too many sinks");
	if (tool_parse_ipv4(spec, &want) != 0)
		tool_die("bad sink address");
	s = &f->sinks[f->nsinks];
	memset(s, 0, sizeof(*s));
	if ((s->fd = tool_udp_bind(&want, 4 << 20, &s->addr)) == -1)
		tool_die("cannot bind a sink");
	s->kind = kind;
	f->nsinks++;
}

static void
fp_print_sinks(struct fp *f)
{
	int k, i, first = 1;

	printf("\"sinks\":{");
	for (k = 0; k < FP_SINK_KINDS; k++) {
		uint64_t p = 0, b = 0, pt = 0, bt = 0;
		int n = 0;

		for (i = 0; i < f->nsinks; i++) {
			if (f->sinks[i].kind != (enum fp_sink_kind)k)
				continue;
			n++;
			p += f->sinks[i].pkts;
			b += f->sinks[i].bytes;
			pt += f->sinks[i].pkts_target;
			bt += f->sinks[i].bytes_target;
		}
		if (n == 0)
			continue;
		printf("%s\"%s\":{\"addrs\":%d,\"pkts\":%llu,\"bytes\":%llu,"
		    "\"pkts_target\":%llu,\"bytes_target\":%llu}", first ? "" : ",",
		    fp_sink_names[k], n, (unsigned long long)p, (unsigned long long)b,
		    (unsigned long long)pt, (unsigned long long)bt);
		first = 0;
	}
	printf("}");
}

/* --- unsolicited -------------------------------------------------------- */

static int
cmd_unsolicited(struct fp *f, long n)
{
	struct fp_announce a;
	uint64_t tx0;
	uint32_t seq;
	size_t len;
	long i;

	if (fp_do_announce(f, &a, 3000) != 0) {
		printf("{\"error\":\"no response to the announcement\"}\n");
		return 1;
	}
	tx0 = f->tx_bytes;
	for (i = 0; i < n; i++) {
		/* A Response the node never asked for, as if it were a bootstrap answer. */
		randombytes_buf(&seq, sizeof(seq));
		len = fp_response_payload(f, f->target_node, 1, FP_SINK_UNSOLICITED,
		    i % 2, 0);
		fp_send(f, f->fd, WIRE_CMD_RESPONSE, seq, fp_payload, len, NULL);
		if (i % 50 == 49)
			fp_wait(f, loop_now_ms() + 5, NULL, NULL, NULL);
	}
	fp_wait(f, loop_now_ms() + 1500, NULL, NULL, NULL);
	printf("{\"sent\":%ld,\"bytes_sent\":%llu,", n,
	    (unsigned long long)(f->tx_bytes - tx0));
	fp_print_sinks(f);
	printf("}\n");
	return 0;
}

/* --- poison ------------------------------------------------------------- */

struct fp_poison {
	long		nonfinal;	/* non-final Responses per bootstrap request */
	uint64_t	boot_requests, boot_responses;
	uint64_t	lookup_requests, lookup_responses;
	uint64_t	keepalive_requests, keepalive_responses;
	uint64_t	pings, responses_in, other_in;
	uint64_t	bytes_boot, bytes_lookup, bytes_keepalive, bytes_lying;
	uint64_t	boot_fresh_responses, bytes_boot_fresh;	/* FP_SINK_BOOT answers */
	uint64_t	lying_announcements;
	uint64_t	alt_pings;
};

static void
fp_on_poison(struct fp *f, const struct fp_rx *rx, void *arg)
{
	struct fp_poison *p = arg;
	struct wire_announce a;
	static uint8_t keys[FP_MAX_LOOKUP_KEYS * 32];
	size_t len, nk = 0, i;
	long k, sz;

	if (!rx->ok)
		return;
	switch (rx->pkt.command) {
	case WIRE_CMD_PING:
		p->pings++;
		fp_send(f, rx->fd, WIRE_CMD_PONG, rx->pkt.sequence, NULL, 0, NULL);
		return;
	case WIRE_CMD_RESPONSE:
		/* Answers to the lying Announcements (main address) only. */
		if (rx->fd == f->fd)
			p->responses_in++;
		return;
	case WIRE_CMD_ANNOUNCEMENT:
		break;
	default:
		p->other_in++;
		return;
	}
	if (wire_announce_decode(rx->pkt.payload, rx->pkt.payload_len, &a) != 0)
		return;
	if (a.hdr.actions & WIRE_ACTION_FIND_SELF)
		memcpy(keys + 32 * nk++, f->target_node, 32);
	for (i = 0; i < a.n_find_peer && nk < FP_MAX_LOOKUP_KEYS; i++)
		memcpy(keys + 32 * nk++, a.find_peer + 32 * i, 32);
	for (i = 0; i < a.n_find_value && nk < FP_MAX_LOOKUP_KEYS; i++)
		memcpy(keys + 32 * nk++, a.find_value + 32 * i, 32);

	if (nk == 0) {
		/* Keep-alive (or the Announcement answering a Ping): records here must be ignored. */
		p->keepalive_requests++;
		len = fp_response_payload(f, f->target_node, 1, FP_SINK_KEEPALIVE, 1, 0);
		if ((sz = fp_send(f, rx->fd, WIRE_CMD_RESPONSE, rx->pkt.sequence,
		    fp_payload, len, NULL)) > 0) {
			p->keepalive_responses++;
			p->bytes_keepalive += (uint64_t)sz;
		}
		return;
	}
	if ((a.hdr.actions & WIRE_ACTION_FIND_SELF) && a.hdr.ua_len > 0) {
		/*
		 * First contact = a bootstrap FIND_SELF (§6.6).  Non-final parts
		 * keep the sequence alive (§4.3); each carries fresh identities at
		 * the same few third-party addresses.
		 */
		p->boot_requests++;
		if (p->boot_requests > FP_MAX_BOOT_ANSWERS)
			return;
		for (k = 0; k <= p->nonfinal; k++) {
			int last = k == p->nonfinal;
			enum fp_sink_kind kind = k % 2 == 0 && fp_sink_addr(f,
			    FP_SINK_BOOT_REPEAT, 0) != NULL ? FP_SINK_BOOT_REPEAT :
			    FP_SINK_BOOT;

			len = fp_response_payload(f, f->target_node, 1, kind, last,
			    k == 1);
			if ((sz = fp_send(f, rx->fd, WIRE_CMD_RESPONSE, rx->pkt.sequence,
			    fp_payload, len, NULL)) > 0) {
				p->boot_responses++;
				p->bytes_boot += (uint64_t)sz;
				if (kind == FP_SINK_BOOT) {
					p->boot_fresh_responses++;
					p->bytes_boot_fresh += (uint64_t)sz;
				}
			}
		}
		return;
	}
	/* A DHT query: every key answered with bogus closest peers. */
	p->lookup_requests++;
	len = fp_response_payload(f, keys, nk, FP_SINK_LOOKUP, 1, 0);
	if ((sz = fp_send(f, rx->fd, WIRE_CMD_RESPONSE, rx->pkt.sequence, fp_payload,
	    len, NULL)) > 0) {
		p->lookup_responses++;
		p->bytes_lookup += (uint64_t)sz;
	}
}

static int
cmd_poison(struct fp *f, long n)
{
	struct fp_poison p;
	uint64_t next_lie = 0, next_alt = 0, now;
	long lies = 0;
	size_t len;
	uint32_t seq;
	long sz;

	memset(&p, 0, sizeof(p));
	p.nonfinal = n;
	fprintf(stderr, "fakepeer: serving lies until the deadline\n");
	while ((now = loop_now_ms()) < f->deadline_ms) {
		/*
		 * Once a second, while known to the node: an Announcement with
		 * wrong self-reported ports (answered like any other).
		 */
		if (now >= next_lie && f->rx_pkts > 0 && lies < 600) {
			randombytes_buf(&seq, sizeof(seq));
			len = fp_announce_payload(f, 0, 0, NULL, 0);
			if ((sz = fp_send(f, f->fd, WIRE_CMD_ANNOUNCEMENT, seq, fp_payload,
			    len, NULL)) > 0) {
				p.lying_announcements++;
				p.bytes_lying += (uint64_t)sz;
			}
			lies++;
			next_lie = now + 1000;
		}
		/*
		 * A Ping and a FIND_SELF from our other address: a connection
		 * without reported ports, so the node asks with an Announcement
		 * (§3.5) when the Ping pays for one, and in any case sends a
		 * bare Announcement (a cookie) before it answers the FIND_SELF
		 * of an address that never answered it.  Our Responses to those
		 * (full of records) must lead nowhere.
		 */
		if (f->alt_fd >= 0 && now >= next_alt && f->rx_pkts > 0 &&
		    p.alt_pings < 3) {
			randombytes_buf(&seq, sizeof(seq));
			fp_send(f, f->alt_fd, WIRE_CMD_PING, seq, NULL, 0, NULL);
			randombytes_buf(&seq, sizeof(seq));
			len = fp_announce_payload(f, 1, WIRE_ACTION_FIND_SELF, NULL, 0);
			fp_send(f, f->alt_fd, WIRE_CMD_ANNOUNCEMENT, seq, fp_payload, len, NULL);
			p.alt_pings++;
			next_alt = now + 2000;
		}
		fp_wait(f, now + 100, fp_on_poison, &p, NULL);
	}
	printf("{\"bytes_to_target\":%llu,\"pkts_to_target\":%llu,"
	    "\"bytes_from_target\":%llu,\"pkts_from_target\":%llu,"
	    "\"boot_requests\":%llu,\"boot_responses\":%llu,\"bytes_boot\":%llu,"
	    "\"boot_fresh_responses\":%llu,\"bytes_boot_fresh\":%llu,"
	    "\"lookup_requests\":%llu,\"lookup_responses\":%llu,\"bytes_lookup\":%llu,"
	    "\"keepalive_requests\":%llu,\"bytes_keepalive\":%llu,"
	    "\"lying_announcements\":%llu,\"responses_in\":%llu,\"pings\":%llu,"
	    "\"alt_pings\":%llu,\"bogus_ids\":%llu,\"port_internal\":%u,"
	    "\"port_external\":%u,",
	    (unsigned long long)f->tx_bytes, (unsigned long long)f->tx_pkts,
	    (unsigned long long)f->rx_bytes, (unsigned long long)f->rx_pkts,
	    (unsigned long long)p.boot_requests, (unsigned long long)p.boot_responses,
	    (unsigned long long)p.bytes_boot,
	    (unsigned long long)p.boot_fresh_responses,
	    (unsigned long long)p.bytes_boot_fresh,
	    (unsigned long long)p.lookup_requests, (unsigned long long)p.lookup_responses,
	    (unsigned long long)p.bytes_lookup,
	    (unsigned long long)p.keepalive_requests,
	    (unsigned long long)p.bytes_keepalive,
	    (unsigned long long)p.lying_announcements, (unsigned long long)p.responses_in,
	    (unsigned long long)p.pings, (unsigned long long)p.alt_pings,
	    (unsigned long long)f->bogus_ids,
	    f->port_internal, f->port_external);
	fp_print_sinks(f);
	printf("}\n");
	return 0;
}

/* --- reflect ------------------------------------------------------------ */

struct fp_reflect {
	uint64_t	pkts, bytes;
};

static void
fp_on_reflect(struct fp *f, const struct fp_rx *rx, void *arg)
{
	struct fp_reflect *r = arg;

	(void)f;
	r->pkts++;
	r->bytes += rx->len;
}

/*
 * Each probe from a fresh identity (a new connection, as a spoofed source
 * would be): bytes that come back to our address per byte we sent.
 */
static int
cmd_reflect(struct fp *f, long nkeys)
{
	static uint8_t keys[2048 * 32];
	static const char *names[3] = { "ping", "find_self", "find_peer" };
	struct fp_reflect r;
	struct ident id;
	size_t len = 0;
	long sz;
	int k;

	if (nkeys < 1 || nkeys > 2048)
		tool_die("NKEYS must be 1..2048");
	randombytes_buf(keys, 32 * (size_t)nkeys);
	printf("{");
	for (k = 0; k < 3; k++) {
		if (ident_generate(&id) != 0)
			tool_die("ident_generate");
		f->me = id;	/* replies are encrypted to this identity */
		memset(&r, 0, sizeof(r));
		if (k == 0)
			sz = fp_send(f, f->fd, WIRE_CMD_PING, randombytes_random(), NULL, 0,
			    NULL);
		else {
			len = fp_announce_payload(f, 0, k == 1 ? WIRE_ACTION_FIND_SELF : 0,
			    k == 2 ? keys : NULL, k == 2 ? (size_t)nkeys : 0);
			sz = fp_send(f, f->fd, WIRE_CMD_ANNOUNCEMENT, randombytes_random(),
			    fp_payload, len, NULL);
		}
		fp_wait(f, loop_now_ms() + 1000, fp_on_reflect, &r, NULL);
		printf("%s\"%s\":{\"sent\":%ld,\"back_pkts\":%llu,\"back_bytes\":%llu}",
		    k ? "," : "", names[k], sz, (unsigned long long)r.pkts,
		    (unsigned long long)r.bytes);
	}
	printf(",\"keys\":%ld}\n", nkeys);
	return 0;
}

/* --- traverse ------------------------------------------------------------ */

/*
 * A Traverse payload (§3.7) into buf: target, relay, expiry, an embedded
 * FIND_SELF Announcement from emb_from to `target` with sequence seq, signed
 * by signer, the address block as given.  flip: one signature bit flipped.
 */
static size_t
fp_traverse_payload(struct fp *f, uint8_t *buf, size_t cap, const uint8_t target[33],
    const uint8_t relay[33], uint64_t expires, const struct ident *signer,
    const struct ident *emb_from, uint32_t seq, const struct wire_traverse_addr *addr,
    int flip)
{
	static uint8_t emb[WIRE_PACKET_MAX + 128];
	struct wire_traverse t;
	size_t alen, elen, len;

	alen = fp_announce_payload(f, 1, WIRE_ACTION_FIND_SELF, NULL, 0);
	if (wire_packet_encode(emb, sizeof(emb), &elen, emb_from, target,
	    WIRE_CMD_ANNOUNCEMENT, seq, fp_payload, alen) != 0)
		tool_die("embedded packet encode failed");
	memset(&t, 0, sizeof(t));
	memcpy(t.target, target, 33);
	memcpy(t.relay, relay, 33);
	t.expires = expires;
	t.embedded = emb;
	t.embedded_len = elen;
	if (addr != NULL)
		t.addr = *addr;
	if (wire_traverse_encode(buf, cap, &len, &t) != 0 ||
	    wire_traverse_sign(buf, len, signer) != 0)
		tool_die("traverse encode failed");
	if (flip)
		buf[76 + elen + 20] ^= 0x01;
	return len;
}

/* Waits on the -a socket for a Response with sequence seq encrypted to `to`. */
static int
fp_wait_alt_response(struct fp *f, const struct ident *to, uint32_t seq, uint64_t until)
{
	struct sockaddr_in from;
	struct pollfd pfd;
	struct wire_packet pkt;
	socklen_t sl;
	ssize_t got;
	uint64_t now;
	int n = 0;

	if (f->alt_fd < 0)
		return 0;
	while ((now = loop_now_ms()) < until && now < f->deadline_ms && n < 1000) {
		pfd.fd = f->alt_fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(until - now)) <= 0)
			continue;
		sl = sizeof(from);
		got = recvfrom(f->alt_fd, fp_raw, sizeof(fp_raw), MSG_DONTWAIT,
		    (struct sockaddr *)&from, &sl);
		if (got < 0)
			continue;
		n++;
		if (wire_packet_decode(fp_raw, (size_t)got, to->pub, fp_plain,
		    sizeof(fp_plain), &pkt) == 0 && pkt.command == WIRE_CMD_RESPONSE &&
		    pkt.sequence == seq &&
		    memcmp(pkt.sender, f->target_pub, PEERNET_PUBKEY_BYTES) == 0)
			return 1;
	}
	return 0;
}

/*
 * Sends the node one Traverse of the given kind (after an Announcement, so
 * that it knows us) and reports what came back.  Kinds, with `other` a peer
 * the node is connected to (required by valid/flood/forge_sig/signer/expired):
 *   valid            relay = node, target = other: should be forwarded
 *   flood            20 valid ones at once: the relay's rate limit
 *   forge_sig        valid, one signature bit flipped
 *   signer           signed by another identity than the sender
 *   expired          expiry an hour ago
 *   unknown_target   relay = node, target = an identity it does not know
 *   wrong_target     neither target nor relay is the node
 *   unauthorised     target = node, relay = an identity that is not the sender
 *   deliver          we relay: target = node, signer X, address block = -a
 *                    address; the node should answer X's Announcement there
 *   deliver_forged   the same, but the embedded packet is from another identity
 */
static int
cmd_traverse(struct fp *f, const char *kind, const char *other_hex)
{
	static uint8_t buf[WIRE_PACKET_MAX];
	struct fp_announce a;
	struct ident x, y;
	struct wire_traverse_addr addr;
	uint8_t other[33];
	uint64_t now = (uint64_t)time(NULL), exp = now + WIRE_TRAVERSE_EXPIRY;
	uint32_t seq;
	size_t len;
	int i, count = 1, answered = -1;

	if (other_hex != NULL && ident_pubkey_from_hex(other_hex, other) != 0)
		tool_die("bad OTHER peer ID");
	if (ident_generate(&x) != 0 || ident_generate(&y) != 0)
		tool_die("ident_generate");
	if (fp_do_announce(f, &a, 3000) != 0) {
		printf("{\"error\":\"no response to the announcement\"}\n");
		return 1;
	}
	randombytes_buf(&seq, sizeof(seq));
	memset(&addr, 0, sizeof(addr));
	if (strcmp(kind, "deliver") == 0 || strcmp(kind, "deliver_forged") == 0) {
		if (f->alt_fd < 0)
			tool_die("deliver needs -a IP:PORT");
		memcpy(addr.ipv4, &f->alt.sin_addr, 4);
		addr.ipv4_port = ntohs(f->alt.sin_port);
		len = fp_traverse_payload(f, buf, sizeof(buf), f->target_pub, f->me.pub,
		    exp, &x, kind[7] == '_' ? &y : &x, seq, &addr, 0);
	} else if (strcmp(kind, "wrong_target") == 0)
		len = fp_traverse_payload(f, buf, sizeof(buf), x.pub, y.pub, exp, &f->me,
		    &f->me, seq, NULL, 0);
	else if (strcmp(kind, "unauthorised") == 0)
		len = fp_traverse_payload(f, buf, sizeof(buf), f->target_pub, x.pub, exp,
		    &f->me, &f->me, seq, NULL, 0);
	else if (strcmp(kind, "unknown_target") == 0)
		len = fp_traverse_payload(f, buf, sizeof(buf), x.pub, f->target_pub, exp,
		    &f->me, &f->me, seq, NULL, 0);
	else {
		if (other_hex == NULL)
			tool_die("this kind needs OTHER_PEER_ID");
		if (strcmp(kind, "flood") == 0)
			count = 20;
		else if (strcmp(kind, "expired") == 0)
			exp = now - 3600;
		else if (strcmp(kind, "valid") != 0 && strcmp(kind, "forge_sig") != 0 &&
		    strcmp(kind, "signer") != 0)
			tool_die("unknown traverse kind");
		len = fp_traverse_payload(f, buf, sizeof(buf), other, f->target_pub, exp,
		    strcmp(kind, "signer") == 0 ? &x : &f->me, &f->me, seq, NULL,
		    strcmp(kind, "forge_sig") == 0);
	}
	for (i = 0; i < count; i++)
		if (fp_send(f, f->fd, WIRE_CMD_TRAVERSE, 0, buf, len, NULL) < 0)
			tool_die("send");
	if (strncmp(kind, "deliver", 7) == 0)
		answered = fp_wait_alt_response(f, &x, seq, loop_now_ms() + 1500);
	else
		fp_wait(f, loop_now_ms() + 500, NULL, NULL, NULL);
	printf("{\"kind\":\"%s\",\"sent\":%d,\"bytes\":%zu,\"answered\":%d}\n", kind, count,
	    len, answered);
	ident_wipe(&x);
	ident_wipe(&y);
	return 0;
}

/* --- main --------------------------------------------------------------- */

static void
fp_usage(void)
{
	fprintf(stderr,
	    "usage: fakepeer [-k KEYFILE] [-b IP:PORT] [-t SECONDS] [-o BOGUS_IDS_FILE]\n"
	    "                [-s boot|boot_repeat|lookup|keepalive|unsolicited|lied_port=IP:PORT]...\n"
	    "                [-p INTERNAL:EXTERNAL] [-a IP:PORT] CMD ...\n"
	    "  id\n"
	    "  announce    PEER_ID IP:PORT\n"
	    "  replay      PEER_ID IP:PORT N\n"
	    "  unsolicited PEER_ID IP:PORT N\n"
	    "  poison      PEER_ID IP:PORT N\n"
	    "  reflect     PEER_ID IP:PORT NKEYS\n"
	    "  traverse    PEER_ID IP:PORT KIND [OTHER_PEER_ID]\n");
	exit(2);
}

static long
fp_count(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end != '\0' || v < 0 || v > FP_MAX_N)
		tool_die("N must be 0..10000");
	return v;
}

int
main(int argc, char **argv)
{
	static struct fp f;
	struct sockaddr_in want;
	const char *keyfile = NULL, *bind_spec = "127.0.9.1:0", *cmd;
	double secs = 10;
	int c, k, ports_given = 0;
	unsigned pi, pe;

	tool_start();
	f.alt_fd = -1;
	while ((c = getopt(argc, argv, "k:b:t:o:s:p:a:")) != -1) {
		switch (c) {
		case 'a':
			if (tool_parse_ipv4(optarg, &want) != 0 ||
			    (f.alt_fd = tool_udp_bind(&want, 4 << 20, &f.alt)) == -1)
				tool_die("cannot bind -a address");
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'o':
			if ((f.bogus_out = fopen(optarg, "w")) == NULL)
				tool_die("cannot open -o file");
			break;
		case 's': {
			char *eq = strchr(optarg, '=');

			if (eq == NULL)
				fp_usage();
			*eq = '\0';
			for (k = 0; k < FP_SINK_KINDS; k++)
				if (strcmp(optarg, fp_sink_names[k]) == 0)
					break;
			if (k == FP_SINK_KINDS)
				fp_usage();
			fp_add_sink(&f, eq + 1, (enum fp_sink_kind)k);
			break;
		}
		case 'p':
			if (sscanf(optarg, "%u:%u", &pi, &pe) != 2 || pi > 65535 || pe > 65535)
				fp_usage();
			f.port_internal = (uint16_t)pi;
			f.port_external = (uint16_t)pe;
			ports_given = 1;
			break;
		default:
			if (!tool_opt(c, optarg, &bind_spec, &secs, 600))
				fp_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		fp_usage();
	cmd = argv[0];

	if (keyfile != NULL) {
		int rc = ident_load(&f.me, keyfile);

		if (rc == IDENT_ERR_NOENT) {
			if (ident_generate(&f.me) != 0 || ident_save(&f.me, keyfile) != 0)
				tool_die("cannot create the key file");
		} else if (rc != 0)
			tool_die(ident_strerror(rc));
	} else if (ident_generate(&f.me) != 0)
		tool_die("ident_generate");
	if (strcmp(cmd, "id") == 0) {
		char hex[2 * PEERNET_PUBKEY_BYTES + 1];

		hex_encode(hex, f.me.pub, PEERNET_PUBKEY_BYTES);
		printf("%s\n", hex);
		return 0;
	}
	if (argc < 3)
		fp_usage();
	tool_target(argv[1], argv[2], f.target_pub, &f.target);
	ident_node_id(f.target_pub, f.target_node);
	if (tool_parse_ipv4(bind_spec, &want) != 0)
		tool_die("bad -b address");
	if ((f.fd = tool_udp_bind(&want, 4 << 20, &f.bound)) == -1)
		tool_die("cannot bind -b address");
	if (!ports_given)
		f.port_internal = ntohs(f.bound.sin_port);
	f.deadline_ms = loop_now_ms() + (uint64_t)(secs * 1000);

	if (strcmp(cmd, "announce") == 0)
		return cmd_announce(&f);
	if (argc < 4)
		fp_usage();
	if (strcmp(cmd, "traverse") == 0)
		return cmd_traverse(&f, argv[3], argc > 4 ? argv[4] : NULL);
	if (strcmp(cmd, "replay") == 0)
		return cmd_replay(&f, fp_count(argv[3]));
	if (strcmp(cmd, "unsolicited") == 0)
		return cmd_unsolicited(&f, fp_count(argv[3]));
	if (strcmp(cmd, "poison") == 0)
		return cmd_poison(&f, fp_count(argv[3]));
	if (strcmp(cmd, "reflect") == 0)
		return cmd_reflect(&f, fp_count(argv[3]));
	fp_usage();
	return 2;
}
