/*
 * sandbox.h — privilege separation for the peernet daemons: dropping root to
 * the service user (libcap-ng), dropping the last capability of netd once its
 * sockets are bound, and restricting each daemon to the system calls it
 * really makes after start-up (no_new_privs + a libseccomp allowlist).
 *
 * Order at start-up (as in OpenBSD's privsep daemons, with pledge replaced by
 * capabilities + seccomp):
 *
 *	struct sbx_state st = { 0 };
 *	sbx_drop_privileges("peernet", "peernet", keep_bind, &st, err,
 *	    sizeof err);
 *	... netd: bind the UDP sockets (maybe to a port < 1024) ...
 *	sbx_drop_bind_cap(&st, err, sizeof err);	(netd only)
 *	... open the database, the IPC sockets, start nng ...
 *	sbx_restrict(SBX_NETD, &st, err, sizeof err);
 *
 * The two capability calls must run while the process has one thread only
 * (before nng starts its worker threads): capabilities are per thread, and a
 * drop in one thread would leave the others privileged.  They fail with
 * SBX_ERR_THREADS otherwise.  sbx_restrict may run with threads: its filter
 * is installed on every thread at once (SECCOMP_FILTER_FLAG_TSYNC).
 *
 * docs/sandbox.md says what each daemon can and cannot do afterwards.
 */
#ifndef PEERNET_SANDBOX_H
#define PEERNET_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

enum sbx_role { SBX_NETD, SBX_STORAGED, SBX_SEARCHD, SBX_APID };
#define SBX_ROLE_COUNT	4

/*
 * What has been done so far; zero it before the first call.  `seccomp` is 0
 * until sbx_restrict succeeds, then 1 + the role it applied.  `summary` is
 * rewritten by every call (see sbx_summary).
 */
struct sbx_state {
	int	dropped_user;	/* 1: we were root and are now uid/gid */
	uid_t	uid;		/* real = effective = saved uid now */
	gid_t	gid;
	int	caps_cleared;	/* 1: no capability left in any set */
	int	no_new_privs;
	int	seccomp;
	char	summary[128];
};

enum sbx_err {
	SBX_OK = 0,
	SBX_ERR_ARG = -1,	/* a NULL argument or an unknown role */
	SBX_ERR_NOUSER = -2,	/* the service user does not exist */
	SBX_ERR_NOGROUP = -3,	/* the service group does not exist */
	SBX_ERR_ROOTUSER = -4,	/* the service user or group is root */
	SBX_ERR_THREADS = -5,	/* more than one thread: caps are per thread */
	SBX_ERR_SETID = -6,	/* setgroups/setresgid/setresuid failed */
	SBX_ERR_REGAIN = -7,	/* uid 0 could be regained after the drop */
	SBX_ERR_CAPS = -8,	/* reading or changing capabilities failed */
	SBX_ERR_NNP = -9,	/* PR_SET_NO_NEW_PRIVS failed */
	SBX_ERR_SECCOMP = -10,	/* building or loading the filter failed */
	SBX_ERR_AGAIN = -11	/* sbx_restrict called a second time */
};

/*
 * As root (euid 0): look up user and group (group NULL: the user's primary
 * group), drop the supplementary groups, setresgid/setresuid to them, clear
 * the bounding and ambient sets, and keep only CAP_NET_BIND_SERVICE in the
 * permitted+effective sets if keep_bind.  Creates nothing: a missing user is
 * an error that says how to create it.  Not root: changes no id; if the
 * process holds capabilities (systemd's AmbientCapabilities=), lowers them to
 * CAP_NET_BIND_SERVICE (keep_bind) or none.  Records the state either way.
 */
int	 sbx_drop_privileges(const char *user, const char *group, int keep_bind,
	    struct sbx_state *st, char *err, size_t errlen);

/*
 * netd, once its sockets are bound: clear every capability (effective,
 * permitted, inheritable, ambient; the bounding set too when CAP_SETPCAP is
 * still held) and verify with capget that none is left.
 */
int	 sbx_drop_bind_cap(struct sbx_state *st, char *err, size_t errlen);

/*
 * PR_SET_NO_NEW_PRIVS, then the role's seccomp allowlist on all threads.
 * Works unprivileged.  A syscall outside the list fails with EPERM (not a
 * kill: see docs/sandbox.md), so socket(AF_INET) in storaged/searchd returns
 * EPERM.  Sanitizer builds (compiled with ASan, or PEERNET_SAN set in the
 * environment) get the few extra calls ASan/LSan make.  PEERNET_SECCOMP_LOG=1
 * asks the kernel to log every denial (audit / kernel log) while debugging.
 */
int	 sbx_restrict(enum sbx_role role, struct sbx_state *st, char *err,
	    size_t errlen);

/* "uid=998 caps=none nnp=1 seccomp=storaged" (valid until the next call). */
const char *sbx_summary(const struct sbx_state *st);

/* "netd", "storaged", "searchd", "apid"; NULL for an unknown role. */
const char *sbx_role_name(enum sbx_role role);
const char *sbx_strerror(int err);
/*
 * 1 in a sanitizer build or with PEERNET_SAN set: the filters then allow
 * what the sanitizer runtimes need (LSan ptraces); tests ask it too.
 */
int	 sbx_san_mode(void);

/*
 * Internal, between sandbox.c and sandbox_seccomp.c: builds and loads the
 * role's filter (no_new_privs must already be set).  san != 0 adds what the
 * sanitizer runtimes need.  Returns 0 or SBX_ERR_SECCOMP with err filled.
 */
int	 sbx_seccomp_load(enum sbx_role role, int san, char *err,
	    size_t errlen);

#endif
