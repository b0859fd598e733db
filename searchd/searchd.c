/*
 * searchd.c — start-up of peernet-searchd, the owner of the keyword index.
 * It subscribes to storaged's events.
 */
#include <sys/epoll.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "ipc.h"
#include "log.h"

struct searchd {
	struct daemon	*d;
	struct ipc_sub	 events;
	uint64_t	 nevents;
};

static struct searchd searchd;

static int
searchd_privileged(struct daemon *d, char *err, size_t errlen)
{
	searchd.d = d;
	return daemon_make_dir(d, "search", 0750, err, errlen);
}

static void
searchd_on_event(int fd, uint32_t events, void *arg)
{
	struct searchd *s = arg;
	struct ipc_hdr h;
	uint8_t *msg;
	size_t len;

	while (ipc_sub_recv(&s->events, &msg, &len) == 0) {
		if (ipc_hdr_decode(msg, len, &h) == 0) {
			s->nevents++;
			log_debug("event %s from storaged", ipc_type_name(h.type));
		} else
			log_warnx("malformed event from storaged");
		free(msg);
	}
}

static int
searchd_setup(struct daemon *d, char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (daemon_sock_path(d, "storaged-events", path, sizeof(path)) == -1 ||
	    ipc_sub_open(&searchd.events, path) == -1) {
		snprintf(err, errlen, "cannot subscribe to storaged events");
		return -1;
	}
	return loop_add_fd(&d->loop, searchd.events.fd, EPOLLIN,
	    searchd_on_event, &searchd);
}

static void
searchd_shutdown(struct daemon *d)
{
	ipc_sub_close(&searchd.events);
}

static const struct daemon_ops searchd_ops = {
	.privileged = searchd_privileged,
	.setup = searchd_setup,
	.shutdown = searchd_shutdown,
};

int
main(int argc, char **argv)
{
	static struct daemon d = {
		.name = "searchd",
		.procname = "peernet-searchd",
		.role = SBX_SEARCHD,
		.ops = &searchd_ops,
		.ctx = &searchd,
	};

	return daemon_main(&d, argc, argv);
}
