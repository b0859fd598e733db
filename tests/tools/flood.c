/*
 * flood.c — attacks a peernet-netd over loopback with validly signed and
 * encrypted v0 packets, for tests/integration/hardening.sh.
 *
 *   flood [-t SECONDS] amp PUB IP:PORT SRCNET [HASH]
 *       Reflection: one first packet of every command kind, each from its
 *       own fresh identity and its own source address SRCNET.k (a sink
 *       socket that never answers, as a spoofed victim would not), then
 *       counts for -t seconds (default 20) what the node sends to each
 *       source.  HASH: a file the node shares (Transfer REQUEST_START).
 *       Prints {"kind":{"in":B,"out":B,"pkts":N},...}.
 *   flood [-r RATE] mutate PUB IP:PORT SRCNET NADDR N IDS [HASH]
 *       N structure-aware mutations of every message kind, IDS fresh
 *       identities per phase (a phase: 4 packets from each), sent from
 *       NADDR source addresses SRCNET.1..NADDR (identity i always from
 *       the same one) at RATE packets per second (default 10000).  HASH:
 *       a shared file, asked for in some Transfer requests.  Every packet is validly
 *       signed and encrypted to the node; the payload is a valid message
 *       that is then mutated (fields, counts, lengths, bytes).  Prints
 *       {"sent":N,"bytes":B,"identities":I,"seconds":S}.
 *   flood join PUB IP:PORT SRCIP NIDS
 *       NIDS identities from one source address SRCIP, one FIND_SELF
 *       Announcement each (the per-address cap); answers cookies like the
 *       reference so that the node can verify the address.
 *       Prints {"sent":N,"answered":A}.
 *
 * Only loopback addresses are accepted; every loop is bounded in count
 * and every wait by a deadline.
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

#define FL_MAX_N	2000000		/* packets in one mutate run */
#define FL_MAX_IDS	100000
#define FL_MAX_ADDRS	250
#define FL_UA		"flood/1.0"
#define FL_PER_ID	4		/* packets per identity in a mutate phase */

static uint8_t fl_out[WIRE_PACKET_MAX + 128];
static uint8_t fl_pay[WIRE_PACKET_MAX];
static uint8_t fl_emb[WIRE_PACKET_MAX + 128];
static uint8_t fl_raw[WIRE_PACKET_MAX];
static uint8_t fl_plain[WIRE_PACKET_MAX];

static uint8_t			fl_target_pub[PEERNET_PUBKEY_BYTES];
static struct sockaddr_in	fl_target;
static uint64_t			fl_deadline;

static int
fl_loopback(const struct sockaddr_in *a)
{
	return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
}

static int
fl_parse(const char *s, struct sockaddr_in *sa)
{
	return tool_parse_ipv4(s, sa) == 0 && fl_loopback(sa) ? 0 : -1;
}

/* A UDP socket on SRCNET.k (SRCNET = "127.0.10"), port chosen by the kernel. */
static int
fl_bind(const char *net, int k, struct sockaddr_in *got)
{
	char ip[64];
	struct sockaddr_in sa;
	socklen_t sl = sizeof(*got);
	int fd, big = 4 << 20;

	snprintf(ip, sizeof(ip), "%s.%d", net, k);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1 || !fl_loopback(&sa))
		tool_die("source addresses must be 127.x.y.k");
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1)
		tool_die("socket");
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    getsockname(fd, (struct sockaddr *)got, &sl) == -1)
		tool_die("bind");
	return fd;
}

static long
fl_send(int fd, const struct ident *as, uint8_t cmd, uint32_t seq,
    const uint8_t *payload, size_t len)
{
	size_t out;

	if (wire_packet_encode(fl_out, sizeof(fl_out), &out, as, fl_target_pub, cmd,
	    seq, payload, len) != 0)
		return -1;
	if (sendto(fd, fl_out, out, 0, (struct sockaddr *)&fl_target,
	    sizeof(fl_target)) != (ssize_t)out)
		return -1;
	return (long)out;
}

/* --- amp ----------------------------------------------------------------- */

enum fl_kind {
	K_ANNOUNCE, K_FIND_SELF, K_FIND_PEER, K_FIND_VALUE, K_INFO_STORE, K_RESPONSE,
	K_PING, K_PONG, K_TRAVERSE, K_TRANSFER, K_GETBLOCK, K_KINDS
};
static const char *fl_kind_names[K_KINDS] = {
	"announcement", "find_self", "find_peer", "find_value", "info_store",
	"response", "ping", "pong", "traverse", "transfer_request", "getblock_request"
};

/* The payload of kind k from identity id at address src (into fl_pay). */
static size_t
fl_payload(enum fl_kind k, const struct ident *id, const struct sockaddr_in *src,
    const uint8_t hash[32], uint8_t *cmd)
{
	uint8_t keys[8 * 32], stores[2 * WIRE_INFO_STORE_SIZE];
	struct wire_response_in r;
	struct wire_traverse t;
	struct wire_transfer tr;
	struct wire_getblock g;
	uint8_t range[WIRE_BLOCK_RANGE_SIZE];
	size_t len, elen, alen;
	uint16_t port = ntohs(src->sin_port);

	randombytes_buf(keys, sizeof(keys));
	randombytes_buf(stores, sizeof(stores));
	stores[32] = 1;
	stores[WIRE_INFO_STORE_SIZE - 1] = 0;
	stores[WIRE_INFO_STORE_SIZE + 40] = 0;
	*cmd = WIRE_CMD_ANNOUNCEMENT;
	switch (k) {
	case K_ANNOUNCE:
		return tool_msg(fl_pay, sizeof(fl_pay), &(struct wire_announce){ .n_find_peer = 0 }, NULL, FL_UA, 0,
		    port, 0);
	case K_FIND_SELF:
		return tool_msg(fl_pay, sizeof(fl_pay), &(struct wire_announce){ .n_find_peer = 0 }, NULL,
		    FL_UA, WIRE_ACTION_FIND_SELF, port, 0);
	case K_FIND_PEER:
		return tool_msg(fl_pay, sizeof(fl_pay),
		    &(struct wire_announce){ .find_peer = keys, .n_find_peer = 8 }, NULL,
		    FL_UA, WIRE_ACTION_FIND_PEER, port, 0);
	case K_FIND_VALUE:
		memcpy(keys, hash, 32);
		return tool_msg(fl_pay, sizeof(fl_pay),
		    &(struct wire_announce){ .find_value = keys, .n_find_value = 1 }, NULL,
		    FL_UA, WIRE_ACTION_FIND_VALUE, port, 0);
	case K_INFO_STORE:
		return tool_msg(fl_pay, sizeof(fl_pay),
		    &(struct wire_announce){ .info_store = stores, .n_info_store = 2 }, NULL,
		    FL_UA, WIRE_ACTION_INFO_STORE, port, 0);
	case K_RESPONSE:
		*cmd = WIRE_CMD_RESPONSE;
		memset(&r, 0, sizeof(r));
		r.notfound = keys;
		r.n_notfound = 1;
		return tool_msg(fl_pay, sizeof(fl_pay), NULL, &r, FL_UA,
		    WIRE_ACTION_SEQUENCE_LAST, port, 0);
	case K_PING:
		*cmd = WIRE_CMD_PING;
		return 0;
	case K_PONG:
		*cmd = WIRE_CMD_PONG;
		return 0;
	case K_TRAVERSE:
		/* Relay = sender, target = the node, answer "to" the source. */
		*cmd = WIRE_CMD_TRAVERSE;
		alen = tool_msg(keys, sizeof(keys), &(struct wire_announce){ .n_find_peer = 0 }, NULL, FL_UA,
		    WIRE_ACTION_FIND_SELF, port, 0);
		if (wire_packet_encode(fl_emb, sizeof(fl_emb), &elen, id, fl_target_pub,
		    WIRE_CMD_ANNOUNCEMENT, randombytes_random(), keys, alen) != 0)
			tool_die("embedded encode");
		memset(&t, 0, sizeof(t));
		memcpy(t.target, fl_target_pub, 33);
		memcpy(t.relay, id->pub, 33);
		t.expires = (uint64_t)time(NULL) + WIRE_TRAVERSE_EXPIRY;
		t.embedded = fl_emb;
		t.embedded_len = elen;
		memcpy(t.addr.ipv4, &src->sin_addr, 4);
		t.addr.ipv4_port = port;
		if (wire_traverse_encode(fl_pay, sizeof(fl_pay), &len, &t) != 0 ||
		    wire_traverse_sign(fl_pay, len, id) != 0)
			tool_die("traverse encode");
		return len;
	case K_TRANSFER:
		*cmd = WIRE_CMD_TRANSFER;
		memset(&tr, 0, sizeof(tr));
		tr.control = WIRE_TRANSFER_REQUEST_START;
		tr.protocol = WIRE_TRANSFER_PROTO_UDT;
		memcpy(tr.hash, hash, 32);
		randombytes_buf(tr.transfer_id, sizeof(tr.transfer_id));
		if (wire_transfer_encode(fl_pay, sizeof(fl_pay), &len, &tr) != 0)
			tool_die("transfer encode");
		return len;
	case K_GETBLOCK:
		*cmd = WIRE_CMD_GET_BLOCK;
		memset(&g, 0, sizeof(g));
		g.control = WIRE_GETBLOCK_REQUEST_START;
		memcpy(g.blockchain, fl_target_pub, 33);
		g.limit_count = 10;
		g.max_block_size = 65536;
		randombytes_buf(g.transfer_id, sizeof(g.transfer_id));
		memset(range, 0, sizeof(range));
		range[8] = 10;		/* blocks 0..9: first u64 0, count u64 10 */
		g.ranges = range;
		g.n_ranges = 1;
		if (wire_getblock_encode(fl_pay, sizeof(fl_pay), &len, &g) != 0)
			tool_die("getblock encode");
		return len;
	default:
		tool_die("kind");
	}
}

static int
cmd_amp(const char *net, const uint8_t hash[32], int secs)
{
	struct sockaddr_in src[K_KINDS], from;
	struct ident ids[K_KINDS];
	uint64_t in[K_KINDS], out[K_KINDS], pkts[K_KINDS], end;
	struct pollfd pfd[K_KINDS];
	socklen_t sl;
	ssize_t got;
	size_t len;
	uint8_t cmd;
	long sz;
	int k, n = 0;

	for (k = 0; k < K_KINDS; k++) {
		pfd[k].fd = fl_bind(net, k + 1, &src[k]);
		pfd[k].events = POLLIN;
		if (ident_generate(&ids[k]) != 0)
			tool_die("ident_generate");
		in[k] = out[k] = pkts[k] = 0;
	}
	for (k = 0; k < K_KINDS; k++) {
		len = fl_payload((enum fl_kind)k, &ids[k], &src[k], hash, &cmd);
		if ((sz = fl_send(pfd[k].fd, &ids[k], cmd, randombytes_random(), fl_pay,
		    len)) < 0)
			tool_die("send");
		in[k] = (uint64_t)sz;
	}
	end = loop_now_ms() + (uint64_t)secs * 1000;
	while (loop_now_ms() < end && n < 1000000) {
		if (poll(pfd, K_KINDS, (int)(end - loop_now_ms())) <= 0)
			continue;
		for (k = 0; k < K_KINDS; k++) {
			if (!(pfd[k].revents & POLLIN))
				continue;
			sl = sizeof(from);
			while ((got = recvfrom(pfd[k].fd, fl_raw, sizeof(fl_raw), 0,
			    (struct sockaddr *)&from, &sl)) >= 0 && n++ < 1000000) {
				if (from.sin_addr.s_addr == fl_target.sin_addr.s_addr) {
					out[k] += (uint64_t)got;
					pkts[k]++;
				}
				sl = sizeof(from);
			}
		}
	}
	printf("{");
	for (k = 0; k < K_KINDS; k++)
		printf("%s\"%s\":{\"in\":%llu,\"out\":%llu,\"pkts\":%llu}", k ? "," : "",
		    fl_kind_names[k], (unsigned long long)in[k], (unsigned long long)out[k],
		    (unsigned long long)pkts[k]);
	printf("}\n");
	return 0;
}

/* --- mutate -------------------------------------------------------------- */

static uint32_t
fl_rand(uint32_t n)
{
	return n ? randombytes_uniform(n) : 0;
}

/* Byte-level mutations of an encoded message: flips, counts, cuts, growth. */
static size_t
fl_mutate(uint8_t *p, size_t len, size_t cap)
{
	uint32_t i, m = 1 + fl_rand(4);

	for (i = 0; i < m; i++) {
		switch (fl_rand(6)) {
		case 0:		/* flip a byte */
			if (len > 0)
				p[fl_rand((uint32_t)len)] ^= (uint8_t)(1 + fl_rand(255));
			break;
		case 1:		/* a 16-bit field (counts, lengths) set to an edge value */
			if (len > 2) {
				static const uint16_t edge[] = { 0, 1, 0xff, 0x100, 0x7fff,
				    0xffff, 64, 65 };
				uint32_t o = fl_rand((uint32_t)len - 1);
				uint16_t v = edge[fl_rand(8)];

				p[o] = (uint8_t)v;
				p[o + 1] = (uint8_t)(v >> 8);
			}
			break;
		case 2:		/* truncate */
			if (len > 0)
				len = fl_rand((uint32_t)len + 1);
			break;
		case 3:		/* append random bytes */
			{
				size_t add = fl_rand(200);

				if (len + add <= cap) {
					randombytes_buf(p + len, add);
					len += add;
				}
			}
			break;
		default:	/* leave the structure valid */
			break;
		}
	}
	return len;
}

/* A valid message of a random kind with random sizes, from id (into fl_pay). */
static uint8_t fl_shared[32];
static int fl_have_shared;

static size_t
fl_random_message(const struct ident *id, const struct sockaddr_in *src, uint8_t *cmd)
{
	static uint8_t keys[64 * 32], stores[64 * WIRE_INFO_STORE_SIZE];
	static struct wire_peer_record recs[16];
	struct wire_h2p_in h2p[4];
	struct wire_embedded_file files[2];
	struct wire_response_in r;
	struct wire_transfer tr;
	struct wire_getblock g;
	uint8_t hash[32], ranges[4 * WIRE_BLOCK_RANGE_SIZE];
	size_t len, i, nh;
	uint32_t kind = fl_rand(K_KINDS + 4);

	randombytes_buf(hash, sizeof(hash));
	if (fl_have_shared && fl_rand(2))
		memcpy(hash, fl_shared, 32);
	switch (kind) {
	case K_FIND_PEER:
	case K_FIND_VALUE:
	case K_INFO_STORE:
	case K_KINDS:		/* all lists at once */
		randombytes_buf(keys, sizeof(keys));
		randombytes_buf(stores, sizeof(stores));
		*cmd = WIRE_CMD_ANNOUNCEMENT;
		return tool_msg(fl_pay, sizeof(fl_pay), &(struct wire_announce){
		    .find_peer = keys, .n_find_peer = 1 + fl_rand(64),
		    .find_value = keys, .n_find_value = 1 + fl_rand(64),
		    .info_store = stores, .n_info_store = 1 + fl_rand(64) }, NULL,
		    fl_rand(2) ? FL_UA : NULL, (uint8_t)(
		    (kind == K_FIND_PEER || kind == K_KINDS ? WIRE_ACTION_FIND_PEER : 0) |
		    (kind == K_FIND_VALUE || kind == K_KINDS ? WIRE_ACTION_FIND_VALUE : 0) |
		    (kind == K_INFO_STORE || kind == K_KINDS ? WIRE_ACTION_INFO_STORE : 0) |
		    fl_rand(2)), ntohs(src->sin_port), 0);
	case K_RESPONSE:
	case K_KINDS + 1:
		*cmd = WIRE_CMD_RESPONSE;
		randombytes_buf(keys, 8 * 32);
		nh = fl_rand(4);
		for (i = 0; i < 16; i++) {
			memset(&recs[i], 0, sizeof(recs[i]));
			randombytes_buf(recs[i].peer_id, 33);
			recs[i].peer_id[0] = 2;
			recs[i].ipv4[0] = 127;
			recs[i].ipv4[3] = (uint8_t)(1 + fl_rand(250));
			recs[i].ipv4_port = recs[i].ipv4_port_internal = 7001;
			recs[i].features = WIRE_FEATURE_IPV4_LISTEN;
		}
		for (i = 0; i < nh; i++) {
			h2p[i].key = keys + 32 * i;
			h2p[i].records = recs + 4 * i;
			h2p[i].n_records = fl_rand(5);
			h2p[i].more_follow = 0;
		}
		files[0].hash = hash;
		files[0].data = keys;
		files[0].len = fl_rand(256);
		memset(&r, 0, sizeof(r));
		tool_hdr(&r.hdr, fl_rand(2) ? FL_UA : NULL, (uint8_t)fl_rand(2));
		r.h2p = h2p;
		r.n_h2p = nh;
		r.files = files;
		r.n_files = fl_rand(2);
		r.notfound = keys + 4 * 32;
		r.n_notfound = fl_rand(4);
		if (wire_response_encode(fl_pay, sizeof(fl_pay), &len, &r) != 0)
			return 0;
		return len;
	case K_TRANSFER:
		*cmd = WIRE_CMD_TRANSFER;
		memset(&tr, 0, sizeof(tr));
		tr.control = (uint8_t)fl_rand(5);
		tr.protocol = (uint8_t)(fl_rand(3) == 0 ? 0x4d : 0);
		memcpy(tr.hash, hash, 32);
		tr.offset = fl_rand(3) == 0 ? UINT64_MAX - fl_rand(100) : fl_rand(1 << 20);
		tr.limit = fl_rand(1 << 20);
		randombytes_buf(tr.transfer_id, sizeof(tr.transfer_id));
		tr.data = keys;
		tr.data_len = tr.control == 1 ? fl_rand(300) : 0;
		if (wire_transfer_encode(fl_pay, sizeof(fl_pay), &len, &tr) != 0)
			return 0;
		return len;
	case K_GETBLOCK:
		*cmd = WIRE_CMD_GET_BLOCK;
		memset(&g, 0, sizeof(g));
		g.control = (uint8_t)fl_rand(5);
		memcpy(g.blockchain, fl_rand(2) ? fl_target_pub : id->pub, 33);
		g.limit_count = fl_rand(1000);
		g.max_block_size = fl_rand(1 << 20);
		randombytes_buf(g.transfer_id, sizeof(g.transfer_id));
		randombytes_buf(ranges, sizeof(ranges));
		g.ranges = ranges;
		g.n_ranges = 1 + fl_rand(4);
		g.data = keys;
		g.data_len = g.control == 1 ? fl_rand(300) : 0;
		if (wire_getblock_encode(fl_pay, sizeof(fl_pay), &len, &g) != 0)
			return 0;
		return len;
	default:
		return fl_payload((enum fl_kind)(kind % K_KINDS), id, src, hash, cmd);
	}
}

static int
cmd_mutate(const char *net, int naddr, long n, long nids, long rate)
{
	static struct ident ids[FL_MAX_IDS];
	struct sockaddr_in src[FL_MAX_ADDRS];
	int fds[FL_MAX_ADDRS];
	uint64_t start = loop_now_ms(), bytes = 0, idents = 0, next;
	long i, sent = 0, in_phase;
	size_t len;
	uint8_t cmd;
	int a;

	for (a = 0; a < naddr; a++)
		fds[a] = fl_bind(net, a + 1, &src[a]);
	in_phase = FL_PER_ID * nids;	/* a new phase at once */
	next = start;
	for (i = 0; i < n && loop_now_ms() < fl_deadline; i++) {
		long id;
		long sz;

		if (in_phase == FL_PER_ID * nids) {
			/* A phase: nids fresh identities, FL_PER_ID packets each. */
			for (id = 0; id < nids; id++)
				if (ident_generate(&ids[id]) != 0)
					tool_die("ident_generate");
			idents += (uint64_t)nids;
			in_phase = 0;
		}
		id = in_phase++ % nids;
		a = (int)(id % naddr);
		len = fl_random_message(&ids[id], &src[a], &cmd);
		if (fl_rand(4) != 0)
			len = fl_mutate(fl_pay, len, sizeof(fl_pay));
		sz = fl_send(fds[a], &ids[id], cmd, fl_rand(3) ? randombytes_random() :
		    (uint32_t)fl_rand(4), fl_pay, len);
		if (sz > 0) {
			sent++;
			bytes += (uint64_t)sz;
		}
		/* Pacing: RATE per second, checked every 100 packets. */
		if (i % 100 == 99) {
			uint64_t now;

			next += (uint64_t)(100 * 1000 / rate);
			while ((now = loop_now_ms()) < next && now < fl_deadline)
				usleep(1000);
			/* Drain what the node sent back (never answered). */
			for (a = 0; a < naddr; a++)
				while (recv(fds[a], fl_raw, sizeof(fl_raw), MSG_DONTWAIT) > 0)
					;
		}
	}
	printf("{\"sent\":%ld,\"bytes\":%llu,\"identities\":%llu,\"seconds\":%.1f}\n", sent,
	    (unsigned long long)bytes, (unsigned long long)idents,
	    (double)(loop_now_ms() - start) / 1000.0);
	return 0;
}

/* --- join ---------------------------------------------------------------- */

static int
cmd_join(const char *ip, long nids, int secs)
{
	char net[64], *dot;
	struct sockaddr_in src, from;
	struct wire_packet pkt;
	struct wire_response_in r;
	struct pollfd pfd;
	static struct ident ids[4096];
	uint64_t end;
	size_t len;
	long i, sent = 0, answered = 0, n = 0;
	socklen_t sl;
	ssize_t got;
	int fd, k, j;

	snprintf(net, sizeof(net), "%s", ip);
	if ((dot = strrchr(net, '.')) == NULL)
		tool_die("bad SRCIP");
	*dot = '\0';
	k = atoi(dot + 1);
	fd = fl_bind(net, k, &src);
	if (nids > 4096)
		nids = 4096;
	for (i = 0; i < nids; i++) {
		if (ident_generate(&ids[i]) != 0)
			tool_die("ident_generate");
		len = tool_msg(fl_pay, sizeof(fl_pay), &(struct wire_announce){ .n_find_peer = 0 }, NULL, FL_UA,
		    WIRE_ACTION_FIND_SELF, ntohs(src.sin_port), 0);
		if (fl_send(fd, &ids[i], WIRE_CMD_ANNOUNCEMENT, randombytes_random(), fl_pay,
		    len) > 0)
			sent++;
		if (i % 50 == 49)
			usleep(2000);
	}
	/* Answer the node's cookies as the reference would (a Response). */
	pfd.fd = fd;
	pfd.events = POLLIN;
	end = loop_now_ms() + (uint64_t)secs * 1000;
	while (loop_now_ms() < end && n < 100000) {
		if (poll(&pfd, 1, (int)(end - loop_now_ms())) <= 0)
			continue;
		sl = sizeof(from);
		while ((got = recvfrom(fd, fl_raw, sizeof(fl_raw), 0,
		    (struct sockaddr *)&from, &sl)) >= 0 && n++ < 100000) {
			sl = sizeof(from);
			for (j = 0; j < nids; j++)
				if (wire_packet_decode(fl_raw, (size_t)got, ids[j].pub, fl_plain,
				    sizeof(fl_plain), &pkt) == 0)
					break;
			if (j == nids || pkt.command != WIRE_CMD_ANNOUNCEMENT)
				continue;
			memset(&r, 0, sizeof(r));
			tool_hdr(&r.hdr, NULL, WIRE_ACTION_SEQUENCE_LAST);
			if (wire_response_encode(fl_pay, sizeof(fl_pay), &len, &r) != 0)
				continue;
			wire_msg_set_ports(fl_pay, len, ntohs(src.sin_port), 0);
			if (fl_send(fd, &ids[j], WIRE_CMD_RESPONSE, pkt.sequence, fl_pay,
			    len) > 0)
				answered++;
		}
	}
	printf("{\"sent\":%ld,\"answered\":%ld}\n", sent, answered);
	return 0;
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: flood [-t SECONDS] [-r RATE] amp PUB IP:PORT SRCNET [HASH]\n"
	    "       flood [-t SECONDS] [-r RATE] mutate PUB IP:PORT SRCNET NADDR N IDS [HASH]\n"
	    "       flood [-t SECONDS] join PUB IP:PORT SRCIP NIDS\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	uint8_t hash[32];
	long secs = 20, rate = 10000, naddr, n, nids;
	int c;

	while ((c = getopt(argc, argv, "t:r:")) != -1) {
		switch (c) {
		case 't':
			secs = strtol(optarg, NULL, 10);
			break;
		case 'r':
			rate = strtol(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 4 || secs < 1 || secs > 600 || rate < 100 || rate > 1000000)
		usage();
	if (sodium_init() < 0 || ident_crypto_init() != IDENT_OK)
		tool_die("crypto init");
	if (ident_pubkey_from_hex(argv[1], fl_target_pub) != 0 ||
	    fl_parse(argv[2], &fl_target) != 0)
		tool_die("bad PUB or IP:PORT (loopback only)");
	fl_deadline = loop_now_ms() + (uint64_t)secs * 1000 + 600 * 1000;
	if (strcmp(argv[0], "amp") == 0) {
		memset(hash, 0, sizeof(hash));
		if (argc > 4 && (strlen(argv[4]) != 64 || hex_decode(hash, 32, argv[4]) != 32))
			tool_die("bad HASH");
		return cmd_amp(argv[3], hash, (int)secs);
	}
	if (strcmp(argv[0], "mutate") == 0 && (argc == 7 || argc == 8)) {
		if (argc == 8) {
			if (strlen(argv[7]) != 64 || hex_decode(fl_shared, 32, argv[7]) != 32)
				tool_die("bad HASH");
			fl_have_shared = 1;
		}
		naddr = strtol(argv[4], NULL, 10);
		n = strtol(argv[5], NULL, 10);
		nids = strtol(argv[6], NULL, 10);
		if (naddr < 1 || naddr > FL_MAX_ADDRS || n < 1 || n > FL_MAX_N ||
		    nids < 1 || nids > FL_MAX_IDS)
			usage();
		fl_deadline = loop_now_ms() + (uint64_t)secs * 1000;
		return cmd_mutate(argv[3], (int)naddr, n, nids, rate);
	}
	if (strcmp(argv[0], "join") == 0 && argc == 5) {
		nids = strtol(argv[4], NULL, 10);
		if (nids < 1 || nids > 4096)
			usage();
		return cmd_join(argv[3], nids, (int)secs);
	}
	usage();
}
