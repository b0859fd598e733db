/*
 * tool.h — what the test tools (tests/tools/) share.  tool.c is linked
 * into each of them; it is not a tool itself.
 */
#ifndef PEERNET_TOOL_H
#define PEERNET_TOOL_H

#include <netinet/in.h>

/* "a.b.c.d:port" into sa; -1 unless an IPv4 address and a port. */
int	tool_parse_ipv4(const char *s, struct sockaddr_in *sa);

#endif
