/*
 * udpblast.c — the loopback UDP limit for the transfer benchmark
 * (bench/transfer.sh): one process sends datagrams of exactly the size a
 * file transfer sends (a lite packet carrying a full UDT data packet:
 * 18 + 1214 = 1232 bytes, docs/protocol.md §2.7, §9.4) as fast as it can, with
 * sendmmsg batches, to a receiver in another process (fork) that drains
 * them with recvmmsg.  The receiver counts what arrived during a fixed
 * window (default 2 s) after the first datagram.
 *
 * Output, one line: "udpblast <MB/s> MB/s <datagrams> datagrams <secs> s",
 * where MB/s counts the UDT payload the datagrams would carry (1198 bytes
 * each, the unit a transfer's MB/s is measured in), 10^6 bytes per MB.
 *
 * usage: udpblast [-g] [-a ADDR] [-p PORT] [-t SECONDS]
 *   ADDR defaults to 127.0.0.97 (the benchmark's address), PORT to 0 (any).
 *   -g: the sender hands the kernel GSO_SEGS datagrams per send (UDP_SEGMENT)
 *   and the receiver takes them coalesced (UDP_GRO), the way netd moves bulk
 *   data (net.c); the same 1232-byte datagrams, counted the same way.  The
 *   benchmark prints a second BENCH line against it.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DGRAM		1232	/* WIRE_LITE_HDR_SIZE + UDT_PKT_MAX */
#define PAYLOAD		1198	/* UDT_DATA_MAX */
#define BATCH		32
#define GSO_SEGS	53	/* 53 * 1232 = 65296: under the 64 KiB UDP limit */

static int gso;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(void)
{
	fprintf(stderr, "usage: udpblast [-g] [-a ADDR] [-p PORT] [-t SECONDS]\n");
	exit(2);
}

/* Receives for `secs` after the first datagram; writes the count to wfd. */
static int
receiver(int fd, double secs, int wfd)
{
	static uint8_t buf[BATCH][65536];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	struct timeval tv;
	uint64_t count = 0;
	double start = now_s(), t0 = 0, t1;
	int i, got;
	char line[128];

	/* Never hang: a dead sender ends the wait (SO_RCVTIMEO), 5 s at most. */
	tv.tv_sec = 0;
	tv.tv_usec = 200000;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (;;) {
		memset(mm, 0, sizeof(mm));
		for (i = 0; i < BATCH; i++) {
			iov[i].iov_base = buf[i];
			iov[i].iov_len = sizeof(buf[i]);
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		got = recvmmsg(fd, mm, BATCH, MSG_WAITFORONE, NULL);
		t1 = now_s();
		if (got > 0) {
			if (t0 == 0)
				t0 = t1;
			else
				for (i = 0; i < got; i++)	/* coalesced with -g */
					count += (mm[i].msg_len + DGRAM - 1) / DGRAM;
		}
		if (t0 != 0 && t1 - t0 >= secs)
			break;
		if (t0 == 0 && t1 - start > 5.0)
			return -1;
	}
	snprintf(line, sizeof(line), "%llu %.6f\n", (unsigned long long)count, t1 - t0);
	if (write(wfd, line, strlen(line)) < 0)
		return -1;
	return 0;
}

static void
sender(int fd, const struct sockaddr_in *to)
{
	static uint8_t buf[DGRAM];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	int i;

	memset(buf, 0xa5, sizeof(buf));
	memset(mm, 0, sizeof(mm));
	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = buf;
		iov[i].iov_len = sizeof(buf);
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_name = (void *)to;
		mm[i].msg_hdr.msg_namelen = sizeof(*to);
	}
	if (gso) {
		static uint8_t big[GSO_SEGS * DGRAM];
		union {
			struct cmsghdr	hdr;
			uint8_t		b[CMSG_SPACE(sizeof(uint16_t))];
		} ctl[BATCH];
		struct cmsghdr *cm;
		uint16_t seg = DGRAM;

		memset(big, 0xa5, sizeof(big));
		for (i = 0; i < BATCH; i++) {
			iov[i].iov_base = big;
			iov[i].iov_len = sizeof(big);
			mm[i].msg_hdr.msg_control = ctl[i].b;
			mm[i].msg_hdr.msg_controllen = sizeof(ctl[i].b);
			cm = CMSG_FIRSTHDR(&mm[i].msg_hdr);
			cm->cmsg_level = SOL_UDP;
			cm->cmsg_type = UDP_SEGMENT;
			cm->cmsg_len = CMSG_LEN(sizeof(seg));
			memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
		}
	}
	/* Until the receiver is done and the parent kills us. */
	for (;;)
		(void)sendmmsg(fd, mm, gso ? 4 : BATCH, 0);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	const char *addr = "127.0.0.97";
	double secs = 2.0, el;
	unsigned long long count;
	int ch, rfd, sfd, p[2], port = 0, status, rcvbuf = 4 << 20;
	pid_t rpid, spid;
	char line[128];
	ssize_t got;

	while ((ch = getopt(argc, argv, "ga:p:t:")) != -1) {
		switch (ch) {
		case 'g':
			gso = 1;
			break;
		case 'a':
			addr = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 't':
			secs = atof(optarg);
			if (secs <= 0 || secs > 60)
				usage();
			break;
		default:
			usage();
		}
	}
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &a.sin_addr) != 1)
		usage();
	if ((rfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1 ||
	    (sfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		perror("socket");
		return 1;
	}
	/* The same receive buffer netd asks for (net.c). */
	setsockopt(rfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (gso && setsockopt(rfd, SOL_UDP, UDP_GRO, &gso, sizeof(gso)) == -1) {
		perror("UDP_GRO");
		return 1;
	}
	if (bind(rfd, (struct sockaddr *)&a, sizeof(a)) == -1 ||
	    getsockname(rfd, (struct sockaddr *)&a, &alen) == -1) {
		perror("bind");
		return 1;
	}
	if (pipe(p) == -1) {
		perror("pipe");
		return 1;
	}
	if ((rpid = fork()) == -1) {
		perror("fork");
		return 1;
	}
	if (rpid == 0) {
		close(p[0]);
		close(sfd);
		_exit(receiver(rfd, secs, p[1]) == 0 ? 0 : 1);
	}
	close(p[1]);
	close(rfd);
	if ((spid = fork()) == -1) {
		perror("fork");
		kill(rpid, SIGKILL);
		return 1;
	}
	if (spid == 0) {
		sender(sfd, &a);
		_exit(0);
	}
	close(sfd);
	got = read(p[0], line, sizeof(line) - 1);
	kill(spid, SIGKILL);
	waitpid(spid, &status, 0);
	waitpid(rpid, &status, 0);
	if (got <= 0 || (line[got] = '\0', sscanf(line, "%llu %lf", &count, &el)) != 2 ||
	    el <= 0) {
		fprintf(stderr, "udpblast: the receiver reported nothing\n");
		return 1;
	}
	printf("udpblast %.1f MB/s %llu datagrams %.3f s\n",
	    (double)count * PAYLOAD / el / 1e6, count, el);
	return 0;
}
