/*
 * storaged.c — start-up of peernet-storaged, the owner of every persistent
 * byte of a node (warehouse, own blockchain, cache of other chains).  It
 * publishes events for searchd on DIR/run/storaged-events.sock.
 */
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "ipc.h"
#include "log.h"

struct storaged {
	struct daemon	*d;
	struct ipc_pub	 events;
};

static struct storaged storaged;

static int
storaged_privileged(struct daemon *d, char *err, size_t errlen)
{
	storaged.d = d;
	return daemon_make_dir(d, "storage", 0750, err, errlen);
}

static int
storaged_setup(struct daemon *d, char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (daemon_sock_path(d, "storaged-events", path, sizeof(path)) == -1) {
		snprintf(err, errlen, "%s/run: path too long for a unix socket", d->dir);
		return -1;
	}
	return ipc_pub_open(&storaged.events, path, err, errlen);
}

static void
storaged_shutdown(struct daemon *d)
{
	ipc_pub_close(&storaged.events);
}

static const struct daemon_ops storaged_ops = {
	.privileged = storaged_privileged,
	.setup = storaged_setup,
	.shutdown = storaged_shutdown,
};

int
main(int argc, char **argv)
{
	static struct daemon d = {
		.name = "storaged",
		.procname = "peernet-storaged",
		.role = SBX_STORAGED,
		.ops = &storaged_ops,
		.ctx = &storaged,
	};

	return daemon_main(&d, argc, argv);
}
