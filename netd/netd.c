/*
 * netd.c — start-up of peernet-netd: identity, sockets; requests go to
 * control.c.
 */
#include <sys/stat.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "aead.h"
#include "daemon.h"
#include "ipc_msg.h"
#include "lan.h"
#include "log.h"
#include "netd.h"
#include "netlink.h"
#include "portmap.h"

static struct netd netd;

/* Loads DIR/identity.key, creating it on the first start. */
static int
netd_identity(struct netd *n, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct passwd *pw;
	int rc;

	snprintf(path, sizeof(path), "%s/identity.key", n->d->dir);
	rc = ident_load(&n->id, path);
	if (rc == IDENT_ERR_NOENT) {
		if ((rc = ident_generate(&n->id)) != 0 ||
		    (rc = ident_save(&n->id, path)) != 0) {
			snprintf(err, errlen, "%s: %s", path, ident_strerror(rc));
			return -1;
		}
		/* Under systemd netd starts as the service user: it must own the key. */
		if (geteuid() == 0 && (pw = getpwnam(n->d->conf.user)) != NULL &&
		    chown(path, pw->pw_uid, pw->pw_gid) == -1)
			log_warn("chown %s", path);
		log_info("created a new identity in %s", path);
		return 0;
	}
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", path, ident_strerror(rc));
		return -1;
	}
	return 0;
}

static int
netd_privileged(struct daemon *d, char *err, size_t errlen)
{
	netd.d = d;
	env_real_init(&netd.env, &netd);
	/* libsodium and libsecp256k1 set up once, before the sandbox. */
	if (ident_crypto_init() != 0 || aead_init() != 0) {
		snprintf(err, errlen, "crypto initialisation failed");
		return -1;
	}
	return netd_identity(&netd, err, errlen);
}

static int
netd_bind(struct daemon *d, char *err, size_t errlen)
{
	/*
	 * Bound while CAP_NET_BIND_SERVICE is still held (port 112 < 1024);
	 * a listen address that does not exist yet waits for netlink.c.
	 */
	if (netlink_bind(&netd, err, errlen) == -1)
		return -1;
	control_init(&netd);	/* node.c's answers to ctl, from the first request on */
	return node_init(&netd, err, errlen);
}

static int
netd_setup(struct daemon *d, char *err, size_t errlen)
{
	(void)d;
	if (node_start(&netd, err, errlen) == -1 ||
	    node_ipc(&netd, err, errlen) == -1)
		return -1;
	if (xfer_init(&netd) != 0) {
		snprintf(err, errlen, "out of memory for the transfers");
		return -1;
	}
	if (portmap_start(&netd, err, errlen) == -1)
		return -1;
	if (lan_start(&netd, err, errlen) == -1)
		return -1;
	return netlink_start(&netd, err, errlen);
}

static void
netd_request(struct daemon *d, struct ipc_req *req, uint16_t type,
    const uint8_t *msg, size_t len)
{
	(void)d;
	control_request(&netd, req, type, msg, len);
}

static void
netd_shutdown(struct daemon *d)
{
	netlink_stop(&netd);
	lan_stop(&netd);
	/* Before the sockets close: deletes the router mappings (~2 s at most). */
	portmap_stop(&netd);
	xfer_free(&netd);
	node_ipc_close(&netd);
	node_free(&netd);
	net_sockets_close(&netd);
	ident_wipe(&netd.id);
}

static const struct daemon_ops netd_ops = {
	.privileged = netd_privileged,
	.bind = netd_bind,
	.setup = netd_setup,
	.request = netd_request,
	.shutdown = netd_shutdown,
};

int
main(int argc, char **argv)
{
	static struct daemon d = {
		.name = "netd",
		.procname = "peernet-netd",
		.role = SBX_NETD,
		.ops = &netd_ops,
		.ctx = &netd,
	};

	return daemon_main(&d, argc, argv);
}
