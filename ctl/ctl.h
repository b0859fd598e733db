/*
 * ctl.h — peernetctl, the thin control tool: parse arguments, send one
 * request per daemon, render the answer (text on a terminal, --json).
 */
#ifndef PEERNET_CTL_H
#define PEERNET_CTL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ident.h"
#include "ipc_msg.h"

struct ctl {
	char		 dir[PATH_MAX];
	int		 json;
	int		 timeout_ms;
	char		 bindir[PATH_MAX];
};

struct ctl_verb {
	const char	*name;
	int		(*fn)(struct ctl *c, int argc, char **argv);
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
/* A request with an empty body; the reply must be of the same type with status 0. */
int	ctl_call_empty(struct ctl *c, const char *daemon, uint16_t type,
	    uint8_t **rep, size_t *replen, int quiet);
int	ctl_status_of(struct ctl *c, const char *daemon, struct ipc_status *st, int quiet);
/* Common verb option parsing: --json, --help; returns index of first operand or -1/-2 (help shown). */
int	ctl_verb_opts(struct ctl *c, const struct ctl_verb *v, int argc, char **argv);
const struct ctl_verb *ctl_find_verb(const char *name);
void	ctl_verb_usage(const struct ctl_verb *v, int to_stderr);
void	ctl_json_print(json_t *j);	/* prints and frees */
void	ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* ctl_util.c */
uint64_t ctl_now_ms(void);
void	ctl_sleep_ms(int ms);
void	ctl_human(char *out, size_t cap, double v);	/* "3.4 GiB" */
void	ctl_fmt_duration(char *out, size_t cap, uint64_t ms);

int	ctl_init(struct ctl *c, int argc, char **argv);
int	ctl_up(struct ctl *c, int argc, char **argv);
int	ctl_down(struct ctl *c, int argc, char **argv);
int	ctl_status(struct ctl *c, int argc, char **argv);
int	ctl_reload(struct ctl *c, int argc, char **argv);
int	ctl_id(struct ctl *c, int argc, char **argv);
int	ctl_probe(struct ctl *c, int argc, char **argv);
int	ctl_add(struct ctl *c, int argc, char **argv);
int	ctl_ls(struct ctl *c, int argc, char **argv);
int	ctl_rm(struct ctl *c, int argc, char **argv);
int	ctl_mv(struct ctl *c, int argc, char **argv);
int	ctl_cat(struct ctl *c, int argc, char **argv);
int	ctl_get(struct ctl *c, int argc, char **argv);
/* ctl_xfer.c: transfers, pause, resume, cancel, probe (a memory-only download) */
int	ctl_transfers(struct ctl *c, int argc, char **argv);
int	ctl_pause(struct ctl *c, int argc, char **argv);
int	ctl_resume(struct ctl *c, int argc, char **argv);
int	ctl_cancel(struct ctl *c, int argc, char **argv);
int	ctl_fprobe(struct ctl *c, int argc, char **argv);
int	ctl_chain(struct ctl *c, int argc, char **argv);
int	ctl_profile(struct ctl *c, int argc, char **argv);
int	ctl_verify(struct ctl *c, int argc, char **argv);
int	ctl_cache(struct ctl *c, int argc, char **argv);
int	ctl_search(struct ctl *c, int argc, char **argv);
int	ctl_reindex(struct ctl *c, int argc, char **argv);
int	ctl_peers(struct ctl *c, int argc, char **argv);
int	ctl_ping(struct ctl *c, int argc, char **argv);
int	ctl_find(struct ctl *c, int argc, char **argv);
/* Prints (out NULL) or returns as JSON netd's network status; -1 if netd is down. */
int	ctl_net_status(struct ctl *c, json_t **out);

#endif
