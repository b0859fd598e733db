/*
 * daemon.h — the start-up checklist and main loop shared by the three
 * daemons, so that each daemon's own file holds only its behaviour:
 *
 *   arguments -> config -> (detach) -> run dir + lock -> privileged hook
 *   (netd: key) -> drop user -> bind hook (netd: sockets) -> drop last
 *   caps -> IPC server + links (nng threads) -> setup hook -> seccomp ->
 *   READY -> loop -> clean exit.
 *
 * Nothing privileged happens after the drop.
 */
#ifndef PEERNET_DAEMON_H
#define PEERNET_DAEMON_H

#include <limits.h>
#include <stdint.h>

#include "conf.h"
#include "ipc.h"
#include "loop.h"
#include "sandbox.h"

#define DAEMON_MAX_LINKS 2
#define DAEMON_LINK_TICK_MS 1000
#define DAEMON_LINK_STALE_MS 3500

struct daemon;

struct daemon_ops {
	/* As root (if started so), before the drop: open what needs privilege. */
	int	(*privileged)(struct daemon *d, char *err, size_t errlen);
	/*
	 * After the user drop, while the process is still single-threaded and
	 * netd still holds CAP_NET_BIND_SERVICE (capabilities are per thread, so
	 * they are cleared before nng starts its threads): netd binds here.
	 */
	int	(*bind)(struct daemon *d, char *err, size_t errlen);
	/* After the IPC sockets are open, before seccomp: databases, events... */
	int	(*setup)(struct daemon *d, char *err, size_t errlen);
	/* Requests of types the common code does not serve. */
	void	(*request)(struct daemon *d, struct ipc_req *req, uint16_t type,
		    const uint8_t *msg, size_t len);
	/* SIGHUP / IPC_RELOAD, after the config has been re-read. */
	void	(*reload)(struct daemon *d);
	/* On the way out, before the IPC sockets close. */
	void	(*shutdown)(struct daemon *d);
	/*
	 * Request types also served on the bulk channel DIR/run/NAME-bulk.sock
	 * (file data; see ipc_server_bulk_open); none: no bulk channel.
	 */
	const uint16_t	*bulk_types;
	int		 nbulk_types;
};

struct daemon {
	const char		*name;		/* "netd" */
	const char		*procname;	/* "peernet-netd" */
	enum sbx_role		 role;
	const struct daemon_ops	*ops;
	void			*ctx;		/* the daemon's own state */

	char			 dir[PATH_MAX];
	int			 foreground;
	int			 verbose;
	struct conf		 conf;
	struct loop		 loop;
	struct ipc_server	 srv;
	struct ipc_link		 links[DAEMON_MAX_LINKS];
	int			 nlinks;
	struct sbx_state	 sbx;
	uint64_t		 start_ms;
	int			 lockfd;
	int			 readyfd;	/* pipe to the waiting parent, -1 */
	int			 exit_code;
	uint64_t		 watchdog_usec;
};

/* Runs the daemon; returns the process exit code. */
int	daemon_main(struct daemon *d, int argc, char **argv);
/* Fills a status reply for this daemon (also used for link pings). */
void	daemon_status(struct daemon *d, struct ipc_status *st);
/* Node-directory paths: DIR/run/NAME.sock etc. */
int	daemon_sock_path(const struct daemon *d, const char *name, char *out, size_t cap);
/*
 * A synchronous call to the node's daemon `name` (ipc_call on its socket):
 * 0 and the reply in *rep (malloc'd; free it), or non-zero with the reason
 * in err.
 */
int	daemon_call(const struct daemon *d, const char *name, const void *req,
	    size_t len, uint8_t **rep, size_t *replen, int timeout_ms, char *err,
	    size_t errlen);
/* Creates DIR/sub (mode) owned by the daemon user when running as root. */
int	daemon_make_dir(struct daemon *d, const char *sub, int mode, char *err, size_t errlen);
/*
 * Asks netd for the node's identity (storaged and searchd know their own
 * files by its key).  -1 when netd does not answer within timeout_ms (not
 * logged: it may still be starting) or answers badly (logged).
 */
int	daemon_netd_id(struct daemon *d, struct ipc_id *id, int timeout_ms);

#endif
