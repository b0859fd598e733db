/*
 * ctl.h — peernetctl, the thin control tool: parse arguments, send one
 * request per daemon, render the answer (text on a terminal, --json).
 */
#ifndef PEERNET_CTL_H
#define PEERNET_CTL_H

#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ident.h"
#include "ipc_msg.h"
#include "loop.h"

#include "termsafe.h"

/*
 * Exit codes, one contract for every verb (peernetctl(8), EXIT STATUS):
 * 0 done, 1 the operation failed, 2 usage error (bad flag or argument).
 */
#define CTL_EXIT_OK	0
#define CTL_EXIT_FAIL	1
#define CTL_EXIT_USAGE	2

#define CTL_SLOW_MS	600000	/* merkle trees of huge files, warehouse verify */

/* Why a request failed (ctl_ipc_call, ctl_call: c->last_err). */
enum ctl_call_err {
	CTL_E_DOWN = -1,	/* no socket or nobody listening: not running */
	CTL_E_DENIED = -2,	/* the socket refuses this user (EACCES) */
	CTL_E_TIMEOUT = -3,	/* no answer before the deadline: hung, stopped */
	CTL_E_LOST = -4,	/* the connection closed before the reply */
	CTL_E_ERROR = -5,	/* anything else */
	CTL_E_REFUSED = -6,	/* the daemon answered with an error status */
	CTL_E_UID = -7,		/* the daemon refused this uid (IPC_ERR_DENIED) */
	CTL_E_STOPPED = -8	/* a signal asked to stop waiting (ctl_bulk_*) */
};

struct ctl {
	char		 dir[PATH_MAX];
	int		 json;
	int		 timeout_ms;	/* one request's wait */
	int		 timeout_given;	/* --timeout: it bounds the whole verb */
	uint64_t	 deadline;	/* loop_now_ms() when the verb must end; 0 none */
	int		 last_err;	/* enum ctl_call_err of the last failed call */
	char		 bindir[PATH_MAX];
};

struct ctl_verb {
	const char	*name;
	/* v: this entry (the verb's name, usage and help for its messages) */
	int		(*fn)(struct ctl *c, const struct ctl_verb *v, int argc,
			    char **argv);
	const char	*usage;		/* arguments */
	const char	*help;		/* one line */
};

extern const char *const ctl_daemons[3];	/* start order */

/*
 * Sends req to DIR/run/NAME.sock; on failure prints the reason and returns
 * -1.  quiet 1: nothing printed when the daemon cannot be reached; 2: nor
 * when it refuses the request.
 */
int	ctl_call(struct ctl *c, const char *daemon, const void *req, size_t len,
	    uint8_t **rep, size_t *replen, int quiet);
/* The same for a request that may take long (add's end, verify): only --timeout bounds it. */
int	ctl_call_slow(struct ctl *c, const char *daemon, const void *req, size_t len,
	    uint8_t **rep, size_t *replen, int quiet);
/*
 * Clean-up after a failure (abort an upload, stop a search job, cancel a
 * transfer): quiet, up to CTL_GRACE_MS even once --timeout has run out.
 */
#define CTL_GRACE_MS	300
int	ctl_call_grace(struct ctl *c, const char *daemon, const void *req, size_t len,
	    uint8_t **rep, size_t *replen);
/* ctl_ipc.c: one request/reply on a daemon's socket, all of it before deadline. */
int	ctl_ipc_call(const char *path, const void *req, size_t len, uint8_t **rep,
	    size_t *replen, uint64_t deadline, int *sys_errno, char *err, size_t errlen);
/*
 * ctl_ipc.c: storaged's bulk channel (common/ipc_bulk.c).  connect: the
 * socket, or -1 and errno; send/recv: one frame before deadline, 0 or a
 * CTL_E_ code with the reason in err (CTL_E_STOPPED once *stop is set).
 */
int	ctl_bulk_connect(const char *path);
int	ctl_bulk_send(int fd, uint32_t id, const void *msg, size_t len,
	    uint64_t deadline, volatile sig_atomic_t *stop, char *err, size_t errlen);
int	ctl_bulk_recv(int fd, uint32_t *id, uint8_t *buf, size_t cap, size_t *len,
	    uint64_t deadline, volatile sig_atomic_t *stop, char *err, size_t errlen);
/* 1 once --timeout has passed (the verb must stop waiting); ms left, capped. */
int	ctl_expired(const struct ctl *c);
int	ctl_left_ms(const struct ctl *c, int cap);
/* The error for a denied socket: names the group that grants access. */
void	ctl_denied(struct ctl *c, const char *what);
/* JSON strings from outside: valid UTF-8 always (json_string refuses the rest). */
json_t	*ctl_jstr(const char *s);
json_t	*ctl_jstrn(const char *s, size_t len);
/* Human output of an outside string: control bytes escaped (termsafe.h). */
#define TS(s)	ts_str(s)
/* A request with an empty body; the reply must be of the same type with status 0. */
int	ctl_call_empty(struct ctl *c, const char *daemon, uint16_t type,
	    uint8_t **rep, size_t *replen, int quiet);
/*
 * A verb without operands that asks daemon one empty request of type: -1
 * to go on with the reply in *rep, else the verb's exit code.
 */
int	ctl_verb_ask(struct ctl *c, const struct ctl_verb *v, int argc, char **argv,
	    const char *daemon, uint16_t type, uint8_t **rep, size_t *replen);
/*
 * The end of a reply decoded in place: frees rep; 0 when the decoder's rc
 * is 0, else -1 after "VERB: malformed reply from DAEMON: why".
 */
int	ctl_reply_decoded(uint8_t *rep, int rc, const char *verb, const char *daemon);
int	ctl_status_of(struct ctl *c, const char *daemon, struct ipc_status *st, int quiet);
/* Common verb option parsing: --json, --help; returns index of first operand or -1/-2 (help shown). */
int	ctl_verb_opts(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
/* The same for a verb without operands: -1 to go on, else its exit code (0 after --help). */
int	ctl_verb_no_operands(struct ctl *c, const struct ctl_verb *v, int argc,
	    char **argv);
/* The same for a verb of exactly n operands (*first: the first of them; usage if not). */
int	ctl_verb_operands(struct ctl *c, const struct ctl_verb *v, int argc, char **argv,
	    int n, int *first);
const struct ctl_verb *ctl_find_verb(const char *name);
void	ctl_verb_usage(const struct ctl_verb *v, int to_stderr);
/*
 * Prints and frees j; the last object printed by a failing verb gets its
 * "error" (ctl_json_finish), and a failing verb that printed nothing gets
 * {"error": ...}: with --json a failure always says so on stdout.
 */
void	ctl_json_print(json_t *j);
int	ctl_json_finish(struct ctl *c, const char *verb, int rc);
/* "peernetctl: ..." on stderr, control bytes escaped; the first is kept for JSON. */
void	ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Usage error of verb v: message, usage on stderr; returns CTL_EXIT_USAGE. */
int	ctl_usage_err(const struct ctl_verb *v, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Duration argument: N (milliseconds), Nms, Ns, Nm; -1 if malformed. */
int	ctl_parse_ms(const char *s, long long *ms);
/* ctl_util.c */
void	ctl_sleep_ms(int ms);
void	ctl_human(char *out, size_t cap, double v);	/* "3.4 GiB" */
void	ctl_fmt_duration(char *out, size_t cap, uint64_t ms);

int	ctl_init(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
int	ctl_up(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
int	ctl_down(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
int	ctl_status(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
int	ctl_reload(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
int	ctl_id(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
int	ctl_probe(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
int	ctl_add(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
int	ctl_ls(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
int	ctl_rm(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
int	ctl_mv(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
int	ctl_cat(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
int	ctl_get(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
/* ctl_xfer.c: transfers, pause, resume, cancel, probe (a memory-only download) */
int	ctl_transfers(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
int	ctl_pause(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
int	ctl_resume(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
int	ctl_cancel(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
int	ctl_fprobe(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
int	ctl_chain(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
int	ctl_profile(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
int	ctl_verify(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
int	ctl_cache(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
int	ctl_search(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
int	ctl_reindex(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
int	ctl_peers(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
int	ctl_ping(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
int	ctl_find(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
/* Prints (out NULL) or returns as JSON netd's network status; -1 if netd is down. */
int	ctl_net_status(struct ctl *c, json_t **out);

#endif
