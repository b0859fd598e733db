/* tool.c — helpers the test tools share (see tool.h). */
#include <sys/socket.h>

#include <string.h>

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
