/*
 * tool.h — what the test tools (tests/tools/) share.  tool.c is linked
 * into each of them; it is not a tool itself.
 */
#ifndef PEERNET_TOOL_H
#define PEERNET_TOOL_H

#include <netinet/in.h>
#include <stdint.h>

#include "ident.h"

/* "a.b.c.d:port" into sa; -1 unless an IPv4 address and a port. */
int	tool_parse_ipv4(const char *s, struct sockaddr_in *sa);

/* "<tool>: what" on stderr, then exit status 2 (the tests' "tool failed"). */
void	tool_die(const char *what) __attribute__((noreturn));

/* What every tool does first: stdout line-buffered (the tests read it as
 * it comes), libsodium and ident initialised; dies when they cannot be. */
void	tool_start(void);

/* The peer a tool talks to: its public key in hex and "a.b.c.d:port";
 * dies ("bad target ...") when either does not parse. */
void	tool_target(const char *pub_hex, const char *addr,
	    uint8_t pub[PEERNET_PUBKEY_BYTES], struct sockaddr_in *sa);

/* A UDP socket bound to want (port 0: any), its address in got; rcvbuf,
 * if not 0, asks for that receive buffer.  The fd, or -1. */
int	tool_udp_bind(const struct sockaddr_in *want, int rcvbuf,
	    struct sockaddr_in *got);

#endif
