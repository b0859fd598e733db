/*
 * lanflood.c — a hostile LAN for the discovery integration test (lan.sh).
 *
 *   lanflood capture PORT SECONDS FILE
 *       bind 0.0.0.0:PORT (SO_REUSEADDR + SO_REUSEPORT, like a discovery
 *       socket), write the first datagram of at least 77 bytes to FILE
 *       (a node's own discovery packet, to replay it); exit 1 on timeout.
 *   lanflood flood IP PORT N [FILE]
 *       send N datagrams to IP:PORT (broadcast allowed), in turn:
 *       short garbage (< 77 bytes), long garbage, correctly signed Local
 *       Discovery packets from fresh random identities ("forged"), the
 *       same with a damaged signature (recovers to a random key), and
 *       FILE's bytes replayed (the node's own packet) if FILE was given.
 *
 * Prints one JSON object on stdout.  IPv4 only (the flood case is IPv4).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "ident.h"
#include "wire_msg.h"
#include "wire_packet.h"

static uint8_t lf_buf[WIRE_PACKET_MAX];
static uint8_t lf_replay[WIRE_PACKET_MAX];

static void __attribute__((noreturn))
lf_usage(void)
{
	fprintf(stderr, "usage: lanflood capture PORT SECONDS FILE\n"
	    "       lanflood flood IP PORT N [FILE]\n");
	exit(2);
}

static int
lf_capture(int argc, char **argv)
{
	struct sockaddr_in sin;
	struct pollfd pfd;
	time_t end;
	ssize_t got;
	FILE *f;
	int fd, on = 1;

	if (argc != 5)
		lf_usage();
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(argv[2]));
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		return 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		fprintf(stderr, "bind: %s\n", strerror(errno));
		return 1;
	}
	end = time(NULL) + atoi(argv[3]);
	while (time(NULL) < end) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		got = recv(fd, lf_buf, sizeof(lf_buf), 0);
		if (got < WIRE_PACKET_MIN)
			continue;
		if ((f = fopen(argv[4], "wb")) == NULL ||
		    fwrite(lf_buf, 1, (size_t)got, f) != (size_t)got || fclose(f) != 0)
			return 1;
		printf("{\"captured\": %zd}\n", got);
		return 0;
	}
	printf("{\"captured\": 0}\n");
	return 1;
}

static int
lf_flood(int argc, char **argv)
{
	struct sockaddr_in to;
	struct ident id;
	uint8_t payload[54];
	size_t len, replay_len = 0;
	long i, n, counts[5] = { 0 }, errors = 0;
	int fd, on = 1, kind, kinds;
	FILE *f;

	if (argc != 5 && argc != 6)
		lf_usage();
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_port = htons((uint16_t)atoi(argv[3]));
	if (inet_pton(AF_INET, argv[2], &to.sin_addr) != 1)
		lf_usage();
	n = atol(argv[4]);
	if (argc == 6) {
		if ((f = fopen(argv[5], "rb")) == NULL)
			return 1;
		replay_len = fread(lf_replay, 1, sizeof(lf_replay), f);
		fclose(f);
	}
	kinds = replay_len >= WIRE_PACKET_MIN ? 5 : 4;
	if (ident_crypto_init() != 0 || (fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		return 1;
	setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof(on));
	for (i = 0; i < n; i++) {
		kind = (int)(i % kinds);
		switch (kind) {
		case 0:		/* short garbage */
			len = randombytes_uniform(WIRE_PACKET_MIN);
			randombytes_buf(lf_buf, len);
			break;
		case 1:		/* long garbage: costs a decrypt, rarely a recovery */
			len = WIRE_PACKET_MIN + randombytes_uniform(1400);
			randombytes_buf(lf_buf, len);
			break;
		case 2:		/* valid packets from identities nobody runs */
		case 3:		/* ... with a damaged signature */
			if (ident_generate(&id) != 0)
				return 1;
			randombytes_buf(payload, sizeof(payload));
			if (wire_packet_encode(lf_buf, sizeof(lf_buf), &len, &id,
			    ident_discovery_ipv4_pub, WIRE_CMD_LOCAL_DISCOVERY, 0,
			    payload, sizeof(payload)) != 0)
				return 1;
			if (kind == 3)
				lf_buf[len - 10] ^= 0x5a;
			break;
		default:	/* the node's own packet, again and again */
			len = replay_len;
			memcpy(lf_buf, lf_replay, len);
			break;
		}
		if (sendto(fd, lf_buf, len, 0, (struct sockaddr *)&to,
		    sizeof(to)) == -1)
			errors++;
		else
			counts[kind]++;
		/* Paced a little: the point is the node's work, not the queue. */
		if (i % 500 == 499)
			usleep(2000);
	}
	printf("{\"sent\": %ld, \"short\": %ld, \"garbage\": %ld, \"forged\": %ld, "
	    "\"bad_signature\": %ld, \"replayed_own\": %ld, \"errors\": %ld}\n",
	    n - errors, counts[0], counts[1], counts[2], counts[3], counts[4], errors);
	return errors == n;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		lf_usage();
	if (strcmp(argv[1], "capture") == 0)
		return lf_capture(argc, argv);
	if (strcmp(argv[1], "flood") == 0)
		return lf_flood(argc, argv);
	lf_usage();
}
