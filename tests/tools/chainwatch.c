/*
 * chainwatch.c — a peer that records what a node tells it about the node's
 * own blockchain, for tests/integration/visibility.sh.
 *
 * It makes first contact once (an Announcement with FIND_SELF and a user
 * agent, as the reference does, docs/protocol.md §6.6) and then never asks
 * again: it sends no keep-alive Announcement, so any later height or version
 * it receives was sent unasked.  It answers as the reference does: every
 * Announcement with a Response carrying its sequence (header only, height
 * and version 0: it has no chain), every Ping with a Pong (§3.2, §3.5).
 *
 * One JSON object per line on stdout, flushed at once, for every packet
 * from the node (the test polls the file while it runs):
 *   {"ms":UNIX_MS,"cmd":"announcement"|"response"|"ping"|"other","height":H,
 *    "version":V,"actions":A}
 * and a last line {"done":1,"announcements_sent":1,"packets":N}.
 *
 *   chainwatch [-b IP:PORT] -t SECONDS PUB IP:PORT
 *
 * Every wait has the deadline -t (at most 600 s), every loop a count limit.
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

#include "ident.h"
#include "loop.h"
#include "tool.h"
#include "wire_msg.h"
#include "wire_packet.h"

#define CW_UA		"chainwatch/1.0"
#define CW_MAX_PKTS	100000	/* packets handled, whatever the deadline */

static uint8_t cw_raw[WIRE_PACKET_MAX];
static uint8_t cw_plain[WIRE_PACKET_MAX];
static uint8_t cw_payload[WIRE_PACKET_MAX];

static uint64_t
cw_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct cw {
	struct ident		 me;
	int			 fd;
	uint16_t		 port;		/* ours, reported as internal port */
	uint8_t			 target_pub[PEERNET_PUBKEY_BYTES];
	struct sockaddr_in	 target;
};

static void
cw_send(struct cw *c, uint8_t cmd, uint32_t seq, const uint8_t *payload, size_t len)
{
	(void)tool_send(c->fd, &c->me, c->target_pub, &c->target, cmd, seq, payload,
	    len);
}

static void
cw_first_contact(struct cw *c)
{
	struct wire_announce a;
	uint32_t seq = randombytes_random();
	size_t len;

	memset(&a, 0, sizeof(a));
	len = tool_msg(cw_payload, sizeof(cw_payload), &a, NULL, CW_UA,
	    WIRE_ACTION_FIND_SELF, c->port, 0);
	cw_send(c, WIRE_CMD_ANNOUNCEMENT, seq, cw_payload, len);
}

/* The reference's answer to any Announcement: a Response with its sequence. */
static void
cw_answer(struct cw *c, uint32_t seq, int with_ua)
{
	struct wire_response_in r;
	size_t len;

	memset(&r, 0, sizeof(r));
	len = tool_msg(cw_payload, sizeof(cw_payload), NULL, &r,
	    with_ua ? CW_UA : NULL, WIRE_ACTION_SEQUENCE_LAST, c->port, 0);
	cw_send(c, WIRE_CMD_RESPONSE, seq, cw_payload, len);
}

static void
cw_handle(struct cw *c, const struct wire_packet *pkt)
{
	struct wire_announce a;
	struct wire_response r;
	const char *cmd = "other";
	const struct wire_msg_hdr *h = NULL;

	switch (pkt->command) {
	case WIRE_CMD_ANNOUNCEMENT:
		cmd = "announcement";
		if (wire_announce_decode(pkt->payload, pkt->payload_len, &a) == 0) {
			h = &a.hdr;
			cw_answer(c, pkt->sequence, a.hdr.ua_len > 0);
		}
		break;
	case WIRE_CMD_RESPONSE:
		cmd = "response";
		if (wire_response_decode(pkt->payload, pkt->payload_len, &r) == 0)
			h = &r.hdr;
		break;
	case WIRE_CMD_PING:
		cmd = "ping";
		cw_send(c, WIRE_CMD_PONG, pkt->sequence, NULL, 0);
		break;
	default:
		break;
	}
	if (h != NULL)
		printf("{\"ms\":%llu,\"cmd\":\"%s\",\"height\":%llu,\"version\":%llu,"
		    "\"actions\":%u}\n", (unsigned long long)cw_ms(CLOCK_REALTIME), cmd,
		    (unsigned long long)h->blockchain_height,
		    (unsigned long long)h->blockchain_version, h->actions);
	else
		printf("{\"ms\":%llu,\"cmd\":\"%s\"}\n",
		    (unsigned long long)cw_ms(CLOCK_REALTIME), cmd);
}

int
main(int argc, char **argv)
{
	struct cw c;
	struct sockaddr_in bind_to, from, got;
	struct wire_packet pkt;
	struct pollfd pfd;
	socklen_t sl;
	uint64_t deadline, now;
	long secs = 10, packets = 0, handled = 0;
	ssize_t n;
	int ch, rc;

	memset(&c, 0, sizeof(c));
	memset(&bind_to, 0, sizeof(bind_to));
	bind_to.sin_family = AF_INET;
	while ((ch = getopt(argc, argv, "b:t:")) != -1) {
		switch (ch) {
		case 'b':
			if (tool_parse_ipv4(optarg, &bind_to) != 0)
				tool_die("bad -b address");
			break;
		case 't':
			secs = strtol(optarg, NULL, 10);
			if (secs < 1 || secs > 600)
				tool_die("-t: 1..600 seconds");
			break;
		default:
			tool_die("usage: chainwatch [-b IP:PORT] -t SECONDS PUB IP:PORT");
		}
	}
	if (argc - optind != 2)
		tool_die("usage: chainwatch [-b IP:PORT] -t SECONDS PUB IP:PORT");
	if (ident_crypto_init() != 0 || ident_generate(&c.me) != 0)
		tool_die("identity");
	tool_target(argv[optind], argv[optind + 1], c.target_pub, &c.target);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((c.fd = tool_udp_bind(&bind_to, 0, &got)) == -1)
		tool_die("socket");
	c.port = ntohs(got.sin_port);
	deadline = loop_now_ms() + (uint64_t)secs * 1000;
	cw_first_contact(&c);
	while ((now = loop_now_ms()) < deadline && handled < CW_MAX_PKTS) {
		pfd.fd = c.fd;
		pfd.events = POLLIN;
		rc = poll(&pfd, 1, (int)(deadline - now));
		if (rc < 0 && errno != EINTR)
			break;
		if (rc <= 0)
			continue;
		sl = sizeof(from);
		n = recvfrom(c.fd, cw_raw, sizeof(cw_raw), MSG_DONTWAIT,
		    (struct sockaddr *)&from, &sl);
		if (n < 0)
			continue;
		handled++;
		/* Only the node under test: anything else is not what we record. */
		if (from.sin_addr.s_addr != c.target.sin_addr.s_addr ||
		    from.sin_port != c.target.sin_port ||
		    wire_packet_decode(cw_raw, (size_t)n, c.me.pub, cw_plain,
		    sizeof(cw_plain), &pkt) != 0 ||
		    memcmp(pkt.sender, c.target_pub, PEERNET_PUBKEY_BYTES) != 0)
			continue;
		packets++;
		cw_handle(&c, &pkt);
	}
	printf("{\"done\":1,\"announcements_sent\":1,\"packets\":%ld}\n", packets);
	ident_wipe(&c.me);
	close(c.fd);
	return 0;
}
