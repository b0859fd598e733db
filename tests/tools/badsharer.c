/*
 * badsharer.c — hostile file-transfer requests against a sharing node, for
 * integration tests on loopback (docs/protocol.md §3.8, §9.3).  It announces a
 * fresh identity to the node (so it is a registered peer), then sends
 * Transfer REQUEST_STARTs a sane requester never sends — offsets beyond
 * the end, limits up to 2^64-1, unknown hashes, another protocol — and
 * reports what the node answered within the deadline: NOT_AVAILABLE,
 * TERMINATE, lite packets carrying our transfer ID (it started serving),
 * or nothing (the reference's silent ignore).
 *
 *   badsharer [-b IP:PORT] [-t SECONDS] [-n COUNT] PUB IP:PORT HASH OFFSET LIMIT [PROTO]
 *
 * -n sends the request COUNT times (1-8), each a new transfer that is never
 * taken up, SECONDS apart: a requester that forgets its transfers, as one
 * restarted by a crash does.  The answers printed are the last request's.
 *
 * OFFSET and LIMIT are decimal u64 or "max" (2^64-1).  Prints one JSON
 * object; exit 0 when the node answered the announcement, 2 on usage or
 * setup errors.  Every wait has a deadline and every loop a count limit.
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

#define BS_UA		"badsharer/1.0"
#define BS_MAX_RECV	100000	/* datagrams handled, whatever the deadline */

static uint8_t bs_raw[WIRE_PACKET_MAX];
static uint8_t bs_plain[WIRE_PACKET_MAX];
static uint8_t bs_payload[WIRE_PACKET_MAX];

struct bs {
	struct ident		me;
	uint8_t			target_pub[PEERNET_PUBKEY_BYTES];
	struct sockaddr_in	target;
	int			fd;
	uint16_t		port;
};

static int
bs_u64(const char *s, uint64_t *v)
{
	char *end;

	if (strcmp(s, "max") == 0) {
		*v = UINT64_MAX;
		return 0;
	}
	errno = 0;
	*v = strtoull(s, &end, 10);
	return *end != '\0' || errno != 0 || s[0] == '-' ? -1 : 0;
}

static void
bs_send(struct bs *b, uint8_t cmd, uint32_t seq, const uint8_t *payload, size_t len)
{
	if (tool_send(b->fd, &b->me, b->target_pub, &b->target, cmd, seq, payload,
	    len) < 0)
		tool_die("sendto");
}

struct bs_seen {
	uint32_t	ann_seq, req_seq;
	uint8_t		id[WIRE_TRANSFER_ID_SIZE];
	int		response;	/* to our announcement */
	int		not_available, terminate, lite, other;
};

/* Receives until `until`; stops early once the announcement is answered if `ann`. */
static void
bs_wait(struct bs *b, struct bs_seen *s, uint64_t until, int ann)
{
	struct wire_packet pkt;
	struct wire_transfer t;
	struct pollfd pfd;
	uint64_t now;
	ssize_t got;
	long handled = 0;

	while ((now = loop_now_ms()) < until && handled < BS_MAX_RECV && !(ann && s->response)) {
		pfd.fd = b->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(until - now)) <= 0)
			continue;
		if ((got = recv(b->fd, bs_raw, sizeof(bs_raw), MSG_DONTWAIT)) <= 0)
			continue;
		handled++;
		/* A lite packet with our transfer ID: the node is serving (§2.7). */
		if ((size_t)got >= WIRE_LITE_HDR_SIZE &&
		    memcmp(bs_raw, s->id, WIRE_TRANSFER_ID_SIZE) == 0) {
			s->lite++;
			continue;
		}
		if (wire_packet_decode(bs_raw, (size_t)got, b->me.pub, bs_plain,
		    sizeof(bs_plain), &pkt) != 0 ||
		    memcmp(pkt.sender, b->target_pub, PEERNET_PUBKEY_BYTES) != 0)
			continue;
		if (pkt.command == WIRE_CMD_RESPONSE && pkt.sequence == s->ann_seq)
			s->response = 1;
		else if (pkt.command == WIRE_CMD_TRANSFER && pkt.sequence == s->req_seq &&
		    wire_transfer_decode(pkt.payload, pkt.payload_len, &t) == 0) {
			if (t.control == WIRE_TRANSFER_NOT_AVAILABLE)
				s->not_available++;
			else if (t.control == WIRE_TRANSFER_TERMINATE)
				s->terminate++;
			else
				s->other++;
		} else if (pkt.command == WIRE_CMD_PING)
			bs_send(b, WIRE_CMD_PONG, pkt.sequence, NULL, 0);
		else if (pkt.command == WIRE_CMD_ANNOUNCEMENT) {
			/*
			 * As the reference: every Announcement gets a Response.  The
			 * node sends one (a cookie) before it serves an address that
			 * never answered it (no reflection, netd/node_answer.c).
			 */
			struct wire_response_in r;

			memset(&r, 0, sizeof(r));
			bs_send(b, WIRE_CMD_RESPONSE, pkt.sequence, bs_payload,
			    tool_msg(bs_payload, sizeof(bs_payload), NULL, &r, NULL,
			    WIRE_ACTION_SEQUENCE_LAST, b->port, 0));
		}
	}
}

static void
bs_usage(void)
{
	fprintf(stderr, "usage: badsharer [-b IP:PORT] [-t SECONDS] [-n COUNT] PUB IP:PORT "
	    "HASH OFFSET LIMIT [PROTO]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct bs b;
	struct bs_seen s;
	struct sockaddr_in want, got;
	struct wire_announce a;
	struct wire_transfer t;
	const char *bind_spec = "127.0.6.9:0";
	double secs = 3;
	size_t len;
	int c, rounds = 1, r;

	tool_start();
	while ((c = getopt(argc, argv, "b:t:n:")) != -1)
		if (c == 'n') {
			if ((rounds = atoi(optarg)) < 1 || rounds > 8)
				bs_usage();
		} else if (!tool_opt(c, optarg, &bind_spec, &secs, 60))
			bs_usage();
	argc -= optind;
	argv += optind;
	if (argc < 5 || argc > 6)
		bs_usage();
	memset(&b, 0, sizeof(b));
	memset(&t, 0, sizeof(t));
	if (ident_generate(&b.me) != 0)
		tool_die("ident_generate");
	tool_target(argv[0], argv[1], b.target_pub, &b.target);
	if (strlen(argv[2]) != 64 || hex_decode(t.hash, 32, argv[2]) != 32)
		tool_die("bad hash");
	if (bs_u64(argv[3], &t.offset) != 0 || bs_u64(argv[4], &t.limit) != 0)
		tool_die("bad offset or limit");
	t.protocol = WIRE_TRANSFER_PROTO_UDT;
	if (argc == 6)
		t.protocol = (uint8_t)atoi(argv[5]);
	if (tool_parse_ipv4(bind_spec, &want) != 0)
		tool_die("bad -b address");
	if ((b.fd = tool_udp_bind(&want, 4 << 20, &got)) == -1)
		tool_die("cannot bind -b address");
	b.port = ntohs(got.sin_port);

	/* Become a registered peer: an Announcement (FIND_SELF) and its Response. */
	memset(&s, 0, sizeof(s));
	randombytes_buf(&s.ann_seq, sizeof(s.ann_seq));
	memset(&a, 0, sizeof(a));
	len = tool_msg(bs_payload, sizeof(bs_payload), &a, NULL, BS_UA,
	    WIRE_ACTION_FIND_SELF, b.port, 0);
	bs_send(&b, WIRE_CMD_ANNOUNCEMENT, s.ann_seq, bs_payload, len);
	bs_wait(&b, &s, loop_now_ms() + 3000, 1);
	if (!s.response) {
		printf("{\"announced\":false}\n");
		return 1;
	}

	/* The hostile request(s): each a new transfer, counted afresh. */
	t.control = WIRE_TRANSFER_REQUEST_START;
	for (r = 0; r < rounds; r++) {
		s.not_available = s.terminate = s.lite = s.other = 0;
		randombytes_buf(s.id, sizeof(s.id));
		memcpy(t.transfer_id, s.id, sizeof(s.id));
		randombytes_buf(&s.req_seq, sizeof(s.req_seq));
		if (wire_transfer_encode(bs_payload, sizeof(bs_payload), &len, &t) != 0)
			tool_die("transfer encode failed");
		bs_send(&b, WIRE_CMD_TRANSFER, s.req_seq, bs_payload, len);
		bs_wait(&b, &s, loop_now_ms() + (uint64_t)(secs * 1000), 0);
	}
	printf("{\"announced\":true,\"not_available\":%d,\"terminate\":%d,\"lite\":%d,"
	    "\"other\":%d,\"answered\":%s}\n", s.not_available, s.terminate, s.lite,
	    s.other, s.not_available + s.terminate + s.lite + s.other ? "true" : "false");
	return 0;
}
