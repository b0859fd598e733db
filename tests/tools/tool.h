/*
 * tool.h — what the test tools (tests/tools/) share.  tool.c is linked
 * into each of them; it is not a tool itself.
 */
#ifndef PEERNET_TOOL_H
#define PEERNET_TOOL_H

#include <netinet/in.h>
#include <stdint.h>

#include "ident.h"
#include "wire_msg.h"
#include "wire_packet.h"

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

/* The last packet tool_send encoded (a replay copies it from here). */
extern uint8_t tool_out[WIRE_PACKET_MAX + 128];

/* Encodes one packet from `as` to the peer `to_pub` at `to` and sends it on
 * fd; its size, or -1 if sendto did not take it all.  Dies when it cannot
 * be encoded (a tool's own message is wrong). */
long	tool_send(int fd, const struct ident *as, const uint8_t *to_pub,
	    const struct sockaddr_in *to, uint8_t cmd, uint32_t seq,
	    const uint8_t *payload, size_t len);

/* Our message header: IPv4 listener, no blockchain, the user agent ua if
 * not NULL. */
void	tool_hdr(struct wire_msg_hdr *h, const char *ua, uint8_t actions);

/*
 * An Announcement (a) or a Response (r; a NULL) into out: the lists as the
 * caller set them, our header (tool_hdr) and the reported ports; its
 * length.  Dies if it does not fit.
 */
size_t	tool_msg(uint8_t *out, size_t cap, struct wire_announce *a,
	    struct wire_response_in *r, const char *ua, uint8_t actions,
	    uint16_t port_internal, uint16_t port_external);

/* The options every tool takes: -b IP:PORT (what to bind) and -t SECONDS
 * (0 < SECONDS <= max_secs, else it dies); 1 if c was one of them. */
int	tool_opt(int c, const char *arg, const char **bind_spec, double *secs,
	    double max_secs);

#endif
