/* tool.c — helpers the test tools share (see tool.h). */
#define _GNU_SOURCE	/* program_invocation_short_name */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "conf.h"
#include "tool.h"

int
tool_parse_ipv4(const char *s, struct sockaddr_in *sa)
{
	struct conf_listen l;
	struct sockaddr_storage ss;

	/* the daemons' own parser of listen addresses */
	if (conf_parse_listen(s, &l) != CONF_OK || l.family != AF_INET)
		return -1;
	(void)conf_listen_sockaddr(&l, &ss);
	memcpy(sa, &ss, sizeof(*sa));
	return 0;
}

void
tool_die(const char *what)
{
	/* the binary's name is the tool's name (build/tests/<tool>) */
	fprintf(stderr, "%s: %s\n", program_invocation_short_name, what);
	exit(2);
}

void
tool_start(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (ident_crypto_init() != 0 || sodium_init() < 0)
		tool_die("crypto init");
}

void
tool_target(const char *pub_hex, const char *addr,
    uint8_t pub[PEERNET_PUBKEY_BYTES], struct sockaddr_in *sa)
{
	if (ident_pubkey_from_hex(pub_hex, pub) != 0)
		tool_die("bad target peer ID");
	if (tool_parse_ipv4(addr, sa) != 0)
		tool_die("bad target address");
}

int
tool_udp_bind(const struct sockaddr_in *want, int rcvbuf, struct sockaddr_in *got)
{
	socklen_t sl = sizeof(*got);
	int fd;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (rcvbuf != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (const struct sockaddr *)want, sizeof(*want)) == -1 ||
	    getsockname(fd, (struct sockaddr *)got, &sl) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

uint8_t tool_out[WIRE_PACKET_MAX + 128];

long
tool_send(int fd, const struct ident *as, const uint8_t *to_pub,
    const struct sockaddr_in *to, uint8_t cmd, uint32_t seq,
    const uint8_t *payload, size_t len)
{
	size_t out;

	if (wire_packet_encode(tool_out, sizeof(tool_out), &out, as, to_pub, cmd,
	    seq, payload, len) != 0)
		tool_die("packet encode failed");
	if (sendto(fd, tool_out, out, 0, (const struct sockaddr *)to,
	    sizeof(*to)) != (ssize_t)out)
		return -1;
	return (long)out;
}

void
tool_hdr(struct wire_msg_hdr *h, const char *ua, uint8_t actions)
{
	memset(h, 0, sizeof(*h));
	h->features = WIRE_FEATURE_IPV4_LISTEN;
	h->actions = actions;
	if (ua != NULL && wire_msg_hdr_set_ua(h, ua) != 0)
		tool_die("user agent");
}

size_t
tool_msg(uint8_t *out, size_t cap, struct wire_announce *a,
    struct wire_response_in *r, const char *ua, uint8_t actions,
    uint16_t port_internal, uint16_t port_external)
{
	size_t len;
	int rc;

	tool_hdr(a != NULL ? &a->hdr : &r->hdr, ua, actions);
	rc = a != NULL ? wire_announce_encode(out, cap, &len, a) :
	    wire_response_encode(out, cap, &len, r);
	if (rc != 0)
		tool_die(a != NULL ? "announcement encode failed" :
		    "response encode failed");
	wire_msg_set_ports(out, len, port_internal, port_external);
	return len;
}

int
tool_opt(int c, const char *arg, const char **bind_spec, double *secs,
    double max_secs)
{
	char why[64];

	switch (c) {
	case 'b':
		*bind_spec = arg;
		return 1;
	case 't':
		*secs = atof(arg);
		if (*secs <= 0 || *secs > max_secs) {
			snprintf(why, sizeof(why), "-t must be 0..%g seconds",
			    max_secs);
			tool_die(why);
		}
		return 1;
	}
	return 0;
}
