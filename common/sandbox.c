/*
 * sandbox.c — dropping root and capabilities (libcap-ng), no_new_privs, and
 * the driver around the seccomp allowlists of sandbox_seccomp.c.
 */
#define _GNU_SOURCE	/* getresuid, setresuid */
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <linux/capability.h>

#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT			47
#define PR_CAP_AMBIENT_CLEAR_ALL	4
#endif

#define SBX_BIND_BIT	((uint64_t)1 << CAP_NET_BIND_SERVICE)

static void
sbx_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
sbx_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *
sbx_role_name(enum sbx_role role)
{
	switch (role) {
	case SBX_NETD:
		return "netd";
	case SBX_STORAGED:
		return "storaged";
	case SBX_SEARCHD:
		return "searchd";
	case SBX_APID:
		return "apid";
	}
	return NULL;
}

const char *
sbx_strerror(int err)
{
	switch (err) {
	case SBX_OK:		return "ok";
	case SBX_ERR_ARG:	return "invalid argument";
	case SBX_ERR_NOUSER:	return "service user does not exist";
	case SBX_ERR_NOGROUP:	return "service group does not exist";
	case SBX_ERR_ROOTUSER:	return "service user or group is root";
	case SBX_ERR_THREADS:	return "process has more than one thread";
	case SBX_ERR_SETID:	return "changing uid/gid failed";
	case SBX_ERR_REGAIN:	return "root could be regained after the drop";
	case SBX_ERR_CAPS:	return "changing capabilities failed";
	case SBX_ERR_NNP:	return "no_new_privs failed";
	case SBX_ERR_SECCOMP:	return "seccomp filter failed";
	case SBX_ERR_AGAIN:	return "sandbox already applied";
	}
	return "unknown sandbox error";
}

/* Sanitizer runtimes make calls the daemons never make (LSan ptraces). */
int
sbx_san_mode(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	return 1;
#endif
#endif
	const char *s = getenv("PEERNET_SAN");

	return s != NULL && *s != '\0' && strcmp(s, "0") != 0;
}

/* The three capability sets of the calling thread, as 64-bit masks. */
static int
sbx_capget(uint64_t *eff, uint64_t *prm, uint64_t *inh)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[2];

	memset(&hdr, 0, sizeof(hdr));
	memset(data, 0, sizeof(data));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	hdr.pid = 0;
	if (syscall(SYS_capget, &hdr, data) != 0)
		return -1;
	*eff = (uint64_t)data[1].effective << 32 | data[0].effective;
	*prm = (uint64_t)data[1].permitted << 32 | data[0].permitted;
	*inh = (uint64_t)data[1].inheritable << 32 | data[0].inheritable;
	return 0;
}

/*
 * Threads in this process, from /proc/self/status; -1 if unknown (no /proc),
 * in which case the caller proceeds: the check is a guard, not a guarantee.
 */
static int
sbx_threads(void)
{
	FILE *f;
	char line[128];
	int n = -1;

	if ((f = fopen("/proc/self/status", "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	}
	fclose(f);
	return n;
}

static int
sbx_single_thread(const char *what, char *err, size_t errlen)
{
	int n = sbx_threads();

	if (n > 1) {
		sbx_seterr(err, errlen, "%s: the process has %d threads; "
		    "capabilities are per thread, so call it before starting "
		    "threads (nng)", what, n);
		return SBX_ERR_THREADS;
	}
	return 0;
}

static void
sbx_update(struct sbx_state *st)
{
	uint64_t eff, prm, inh;
	const char *caps, *sc;

	st->uid = getuid();
	st->gid = getgid();
	if (sbx_capget(&eff, &prm, &inh) != 0)
		caps = "unknown";
	else if ((eff | prm | inh) == 0)
		caps = "none";
	else if (prm == SBX_BIND_BIT && inh == 0)
		caps = "net_bind_service";
	else
		caps = "some";
	st->caps_cleared = strcmp(caps, "none") == 0;
	if (st->seccomp > 0 && st->seccomp <= SBX_ROLE_COUNT)
		sc = sbx_role_name((enum sbx_role)(st->seccomp - 1));
	else
		sc = "none";
	snprintf(st->summary, sizeof(st->summary),
	    "uid=%u caps=%s nnp=%d seccomp=%s", (unsigned)st->uid, caps,
	    st->no_new_privs, sc);
}

const char *
sbx_summary(const struct sbx_state *st)
{
	if (st == NULL || st->summary[0] == '\0')
		return "sandbox not applied";
	return st->summary;
}

static void
sbx_clear_ambient(void)
{
	/* EINVAL on kernels before 4.3, which have no ambient set to clear. */
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

/*
 * Not root, but maybe started with capabilities (systemd's
 * AmbientCapabilities=): keep CAP_NET_BIND_SERVICE for netd, nothing else.
 */
static int
sbx_lower_caps(int keep_bind, char *err, size_t errlen)
{
	uint64_t eff, prm, inh, want;
	int rc;

	sbx_clear_ambient();
	if (sbx_capget(&eff, &prm, &inh) != 0) {
		sbx_seterr(err, errlen, "capget: %s", strerror(errno));
		return SBX_ERR_CAPS;
	}
	want = keep_bind ? (prm & SBX_BIND_BIT) : 0;
	if (eff == want && prm == want && inh == 0)
		return 0;	/* nothing to drop: no capset needed */
	if ((rc = sbx_single_thread("sbx_drop_privileges", err, errlen)) != 0)
		return rc;
	capng_clear(CAPNG_SELECT_CAPS);
	if (want != 0 && capng_update(CAPNG_ADD,
	    CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_NET_BIND_SERVICE) != 0) {
		sbx_seterr(err, errlen, "capng_update failed");
		return SBX_ERR_CAPS;
	}
	if (capng_apply(CAPNG_SELECT_CAPS) != 0) {
		sbx_seterr(err, errlen, "capset: %s", strerror(errno));
		return SBX_ERR_CAPS;
	}
	return 0;
}

static int
sbx_check_ids(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 ||
	    ru != uid || eu != uid || su != uid ||
	    rg != gid || eg != gid || sg != gid || getgroups(0, NULL) != 0) {
		sbx_seterr(err, errlen, "uid/gid not fully changed to %u/%u",
		    (unsigned)uid, (unsigned)gid);
		return SBX_ERR_SETID;
	}
	/* As OpenBSD's daemons do: prove that the way back is closed. */
	if (setresgid(0, 0, 0) != -1 || setresuid(0, 0, 0) != -1) {
		sbx_seterr(err, errlen, "root regained after dropping to %u",
		    (unsigned)uid);
		return SBX_ERR_REGAIN;
	}
	return 0;
}

int
sbx_drop_privileges(const char *user, const char *group, int keep_bind,
    struct sbx_state *st, char *err, size_t errlen)
{
	struct passwd *pw;
	struct group *gr;
	uid_t uid;
	gid_t gid;
	int rc;

	if (st == NULL || user == NULL) {
		sbx_seterr(err, errlen, "sbx_drop_privileges: NULL argument");
		return SBX_ERR_ARG;
	}
	if (geteuid() != 0) {
		rc = sbx_lower_caps(keep_bind, err, errlen);
		sbx_update(st);
		return rc;
	}

	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		sbx_seterr(err, errlen, "user '%s' does not exist: create it "
		    "with 'make deps' or systemd-sysusers", user);
		sbx_update(st);
		return SBX_ERR_NOUSER;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (group != NULL) {
		if ((gr = getgrnam(group)) == NULL) {
			sbx_seterr(err, errlen, "group '%s' does not exist: "
			    "create it with 'make deps' or systemd-sysusers",
			    group);
			sbx_update(st);
			return SBX_ERR_NOGROUP;
		}
		gid = gr->gr_gid;
	}
	if (uid == 0 || gid == 0) {
		sbx_seterr(err, errlen, "refusing to run as '%s' (%u/%u): "
		    "the service user must not be root", user, (unsigned)uid,
		    (unsigned)gid);
		sbx_update(st);
		return SBX_ERR_ROOTUSER;
	}
	if ((rc = sbx_single_thread("sbx_drop_privileges", err, errlen)) != 0) {
		sbx_update(st);
		return rc;
	}

	/*
	 * The wanted end state goes into libcap-ng first; capng_change_id
	 * then keeps SETUID/SETGID/SETPCAP only while it needs them, clears
	 * the bounding set, drops the supplementary groups and switches ids
	 * with PR_SET_KEEPCAPS so the kept capability survives the uid change.
	 */
	capng_clear(CAPNG_SELECT_BOTH);
	if (keep_bind && capng_update(CAPNG_ADD,
	    CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_NET_BIND_SERVICE) != 0) {
		sbx_seterr(err, errlen, "capng_update failed");
		sbx_update(st);
		return SBX_ERR_CAPS;
	}
	rc = capng_change_id((int)uid, (int)gid,
	    CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING);
	if (rc != 0) {
		/* -4..-6: setresgid/setgroups/setresuid; others: caps. */
		int e = errno;

		sbx_seterr(err, errlen, "capng_change_id(%u, %u) failed at "
		    "step %d: %s", (unsigned)uid, (unsigned)gid, rc,
		    strerror(e));
		sbx_update(st);
		return (rc <= -4 && rc >= -6) ? SBX_ERR_SETID : SBX_ERR_CAPS;
	}
	sbx_clear_ambient();
	if ((rc = sbx_check_ids(uid, gid, err, errlen)) != 0) {
		sbx_update(st);
		return rc;
	}
	st->dropped_user = 1;
	/*
	 * The uid change made us non-dumpable, which also keeps LeakSanitizer's
	 * ptrace-based thread stop from working; sanitizer builds only trade
	 * that protection back for leak reports.
	 */
	if (sbx_san_mode())
		(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	sbx_update(st);
	return 0;
}

int
sbx_drop_bind_cap(struct sbx_state *st, char *err, size_t errlen)
{
	uint64_t eff = 0, prm = 0, inh = 0;
	int rc;

	if (st == NULL) {
		sbx_seterr(err, errlen, "sbx_drop_bind_cap: NULL argument");
		return SBX_ERR_ARG;
	}
	sbx_clear_ambient();
	/*
	 * Nothing held (storaged, searchd, a development run): no capset, which
	 * systemd's SystemCallFilter=~@privileged would refuse anyway.
	 */
	if (sbx_capget(&eff, &prm, &inh) == 0 && (eff | prm | inh) == 0) {
		sbx_update(st);
		return 0;
	}
	if ((rc = sbx_single_thread("sbx_drop_bind_cap", err, errlen)) != 0) {
		sbx_update(st);
		return rc;
	}
	if (capng_get_caps_process() != 0) {
		sbx_seterr(err, errlen, "capget: %s", strerror(errno));
		sbx_update(st);
		return SBX_ERR_CAPS;
	}
	/* The bounding set can only shrink while CAP_SETPCAP is held. */
	if (capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP) == 1) {
		capng_clear(CAPNG_SELECT_BOUNDS);
		if (capng_apply(CAPNG_SELECT_BOUNDS) != 0) {
			sbx_seterr(err, errlen, "PR_CAPBSET_DROP: %s",
			    strerror(errno));
			sbx_update(st);
			return SBX_ERR_CAPS;
		}
	}
	capng_clear(CAPNG_SELECT_CAPS);
	if (capng_apply(CAPNG_SELECT_CAPS) != 0) {
		sbx_seterr(err, errlen, "capset (clearing all): %s",
		    strerror(errno));
		sbx_update(st);
		return SBX_ERR_CAPS;
	}
	if (sbx_capget(&eff, &prm, &inh) != 0 || (eff | prm | inh) != 0) {
		sbx_seterr(err, errlen, "capabilities left after clearing: "
		    "eff=%llx prm=%llx inh=%llx", (unsigned long long)eff,
		    (unsigned long long)prm, (unsigned long long)inh);
		sbx_update(st);
		return SBX_ERR_CAPS;
	}
	sbx_update(st);
	return 0;
}

int
sbx_restrict(enum sbx_role role, struct sbx_state *st, char *err,
    size_t errlen)
{
	int rc;

	if (st == NULL || sbx_role_name(role) == NULL) {
		sbx_seterr(err, errlen, "sbx_restrict: bad argument");
		return SBX_ERR_ARG;
	}
	if (st->seccomp != 0) {
		/* The filter forbids seccomp() itself: say so plainly. */
		sbx_seterr(err, errlen, "sbx_restrict: already restricted");
		return SBX_ERR_AGAIN;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		sbx_seterr(err, errlen, "PR_SET_NO_NEW_PRIVS: %s",
		    strerror(errno));
		sbx_update(st);
		return SBX_ERR_NNP;
	}
	st->no_new_privs = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1;
	if ((rc = sbx_seccomp_load(role, sbx_san_mode(), err, errlen)) != 0) {
		sbx_update(st);
		return rc;
	}
	/* 2 == SECCOMP_MODE_FILTER: the filter really is in place. */
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 2) {
		sbx_seterr(err, errlen, "seccomp filter not in effect after "
		    "loading");
		sbx_update(st);
		return SBX_ERR_SECCOMP;
	}
	st->seccomp = 1 + (int)role;
	sbx_update(st);
	return 0;
}
