/*
 * sandbox_seccomp.c — the per-daemon system-call allowlists (libseccomp).
 *
 * Default action: fail with EPERM.  A call that is not listed does not run
 * either way; returning an error instead of killing means a new library
 * version that makes one more harmless call degrades into an error path the
 * daemon already handles instead of a crash loop, and the denial is
 * observable (socket(AF_INET) in storaged returns EPERM: peernetctl's sandbox
 * probe and the tests check exactly that).  PEERNET_SECCOMP_LOG=1 makes the
 * kernel log each denial while hunting for a missing call.
 *
 * Names are resolved at run time so the same table serves every
 * architecture: a call that does not exist on this one (open, stat on
 * aarch64) is skipped.  Calls that take a selector (socket, ioctl, prctl,
 * clone, mmap, ...) are allowed for the selector values listed only.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <linux/netlink.h>
#include <linux/sched.h>
#include <linux/sockios.h>

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "sandbox.h"

#define R_NET		(1u << SBX_NETD)
#define R_STORE		(1u << SBX_STORAGED)
#define R_SEARCH	(1u << SBX_SEARCHD)
#define R_API		(1u << SBX_APID)	/* HTTP on sockets bound before */
#define R_DB		(R_STORE | R_SEARCH)	/* SQLite + files */
#define R_ALL		(R_NET | R_DB | R_API)

#ifndef PR_SET_VMA
#define PR_SET_VMA	0x53564d41
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP	0x02000000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME	0x00000080
#endif

/* Any namespace flag: a new user namespace is a large kernel attack surface. */
#define SBX_CLONE_NS	(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | \
	CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP | \
	CLONE_NEWTIME)
/* Flags that make an open able to change a file. */
#define SBX_OPEN_WRITE	(O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)

/* Argument comparisons with every field set (clang's -Wextra wants that). */
#define SBX_EQ(n, v)		((struct scmp_arg_cmp){ .arg = (n),	\
	.op = SCMP_CMP_EQ, .datum_a = (scmp_datum_t)(v), .datum_b = 0 })
#define SBX_MASKED(n, m, v)	((struct scmp_arg_cmp){ .arg = (n),	\
	.op = SCMP_CMP_MASKED_EQ, .datum_a = (scmp_datum_t)(m),	\
	.datum_b = (scmp_datum_t)(v) })

struct sbx_call {
	const char	*name;
	unsigned int	 roles;
};

/* Allowed without looking at the arguments. */
static const struct sbx_call sbx_calls[] = {
	/* I/O on descriptors already open */
	{ "read", R_ALL }, { "write", R_ALL }, { "readv", R_ALL },
	{ "writev", R_ALL }, { "pread64", R_ALL }, { "pwrite64", R_ALL },
	{ "preadv", R_ALL }, { "pwritev", R_ALL }, { "preadv2", R_ALL },
	{ "pwritev2", R_ALL }, { "close", R_ALL }, { "close_range", R_ALL },
	{ "dup", R_ALL }, { "dup2", R_ALL }, { "dup3", R_ALL },
	{ "lseek", R_ALL }, { "_llseek", R_ALL }, { "fcntl", R_ALL },
	{ "fcntl64", R_ALL }, { "flock", R_ALL },
	/* metadata, reading directories, paths (glibc, SQLite's VFS) */
	{ "fstat", R_ALL }, { "fstat64", R_ALL }, { "stat", R_ALL },
	{ "stat64", R_ALL }, { "lstat", R_ALL }, { "lstat64", R_ALL },
	{ "newfstatat", R_ALL }, { "fstatat64", R_ALL }, { "statx", R_ALL },
	{ "fstatfs", R_ALL }, { "fstatfs64", R_ALL }, { "statfs", R_ALL },
	{ "statfs64", R_ALL }, { "access", R_ALL }, { "faccessat", R_ALL },
	{ "faccessat2", R_ALL }, { "readlink", R_ALL },
	{ "readlinkat", R_ALL }, { "getcwd", R_ALL }, { "getdents64", R_ALL },
	/* nng's IPC listeners: remove a stale socket file, set its mode */
	{ "unlink", R_ALL }, { "unlinkat", R_ALL }, { "chmod", R_ALL },
	{ "fchmod", R_ALL }, { "fchmodat", R_ALL },
	/* event loops: nng's pollers, our own loop, timers, wake-ups */
	{ "poll", R_ALL }, { "ppoll", R_ALL }, { "select", R_ALL },
	{ "_newselect", R_ALL }, { "pselect6", R_ALL },
	{ "epoll_create", R_ALL }, { "epoll_create1", R_ALL },
	{ "epoll_ctl", R_ALL }, { "epoll_wait", R_ALL },
	{ "epoll_pwait", R_ALL }, { "epoll_pwait2", R_ALL },
	{ "eventfd", R_ALL }, { "eventfd2", R_ALL },
	{ "timerfd_create", R_ALL }, { "timerfd_settime", R_ALL },
	{ "timerfd_gettime", R_ALL }, { "pipe", R_ALL }, { "pipe2", R_ALL },
	/* signals */
	{ "rt_sigaction", R_ALL }, { "rt_sigprocmask", R_ALL },
	{ "rt_sigreturn", R_ALL }, { "sigreturn", R_ALL },
	{ "rt_sigtimedwait", R_ALL }, { "rt_sigpending", R_ALL },
	{ "rt_sigsuspend", R_ALL }, { "signalfd", R_ALL },
	{ "signalfd4", R_ALL }, { "sigaltstack", R_ALL },
	/* threads (clone itself is below, with its flags checked) */
	{ "futex", R_ALL }, { "set_robust_list", R_ALL },
	{ "get_robust_list", R_ALL }, { "rseq", R_ALL },
	{ "set_tid_address", R_ALL }, { "sched_yield", R_ALL },
	{ "sched_getaffinity", R_ALL }, { "getcpu", R_ALL },
	/* memory (mmap and mprotect are below, W^X checked) */
	{ "brk", R_ALL }, { "munmap", R_ALL }, { "mremap", R_ALL },
	{ "madvise", R_ALL }, { "mlock", R_ALL }, { "mlock2", R_ALL },
	{ "munlock", R_ALL },		/* libsodium's guarded key memory */
	/* time, randomness */
	{ "getrandom", R_ALL }, { "nanosleep", R_ALL },
	{ "clock_nanosleep", R_ALL }, { "clock_gettime", R_ALL },
	{ "clock_getres", R_ALL }, { "gettimeofday", R_ALL },
	{ "time", R_ALL },
	/* identity and system information, read-only */
	{ "getpid", R_ALL }, { "gettid", R_ALL }, { "getppid", R_ALL },
	{ "getuid", R_ALL }, { "geteuid", R_ALL }, { "getgid", R_ALL },
	{ "getegid", R_ALL }, { "getresuid", R_ALL }, { "getresgid", R_ALL },
	{ "getgroups", R_ALL }, { "uname", R_ALL }, { "sysinfo", R_ALL },
	{ "capget", R_ALL }, { "getrlimit", R_ALL }, { "ugetrlimit", R_ALL },
	{ "getrusage", R_ALL },
	{ "exit", R_ALL }, { "exit_group", R_ALL },
	{ "restart_syscall", R_ALL },
	/*
	 * Sockets once created (socket() itself is checked by domain below):
	 * nng IPC, sd_notify, the journal and syslog sockets; UDP/TCP in netd.
	 */
	{ "connect", R_ALL }, { "bind", R_ALL }, { "listen", R_ALL },
	{ "accept", R_ALL }, { "accept4", R_ALL }, { "getsockname", R_ALL },
	{ "getpeername", R_ALL }, { "getsockopt", R_ALL },
	{ "setsockopt", R_ALL }, { "sendmsg", R_ALL }, { "recvmsg", R_ALL },
	{ "sendto", R_ALL }, { "recvfrom", R_ALL }, { "shutdown", R_ALL },
	{ "sendmmsg", R_NET }, { "recvmmsg", R_NET },
	/* the warehouse and SQLite (WAL: fcntl locks, shared mmap of -shm) */
	{ "open", R_DB }, { "openat", R_DB }, { "creat", R_DB },
	{ "fsync", R_DB | R_API }, { "fdatasync", R_DB | R_API }, { "sync_file_range", R_DB },
	{ "ftruncate", R_DB }, { "ftruncate64", R_DB }, { "truncate", R_DB },
	{ "fallocate", R_DB }, { "fadvise64", R_DB }, { "rename", R_DB },
	{ "renameat", R_DB }, { "renameat2", R_DB }, { "mkdir", R_DB },
	{ "mkdirat", R_DB }, { "rmdir", R_DB }, { "link", R_DB },
	{ "linkat", R_DB }, { "utimensat", R_DB }, { "copy_file_range", R_DB },
	/* apid: sendfile from a descriptor storaged passed it (IPC_FILE_FD) */
	{ "sendfile", R_DB | R_API },
	/* apid: paths beneath api_files_dir only (RESOLVE_BENEATH, api_local.c) */
	{ "openat2", R_API },
};

/*
 * What the sanitizer runtimes add: LeakSanitizer stops the threads with a
 * ptrace-ing clone and waits for it; error reports read /proc and may run
 * the symbolizer.
 */
static const char *const sbx_san_calls[] = {
	"ptrace", "wait4", "waitid", "kill", "tkill", "tgkill", "prctl",
	"fork", "vfork", "execve", "personality", "arch_prctl", "prlimit64",
	"setrlimit", "mincore", "msync", "process_vm_readv", "getpgid",
	"sched_getparam", "sched_getscheduler", "getdents",
};

static const unsigned long sbx_ioctls_all[] = {
	TCGETS,			/* isatty() on stderr */
	FIONREAD, FIONBIO, FIOCLEX, FIONCLEX,
};

/* Interface enumeration for LAN discovery and address selection. */
static const unsigned long sbx_ioctls_net[] = {
	SIOCGIFCONF, SIOCGIFFLAGS, SIOCGIFADDR, SIOCGIFDSTADDR,
	SIOCGIFBRDADDR, SIOCGIFNETMASK, SIOCGIFINDEX, SIOCGIFNAME,
	SIOCGIFMTU, SIOCGIFHWADDR,
};

/* prctl options that only read state or name a thread (nng names its own). */
static const int sbx_prctls[] = {
	PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE, PR_GET_NO_NEW_PRIVS,
	PR_GET_SECCOMP, PR_CAPBSET_READ, PR_GET_KEEPCAPS, PR_SET_VMA,
};

static int
sbx_rule(scmp_filter_ctx ctx, uint32_t action, const char *name,
    unsigned int n, const struct scmp_arg_cmp *cmp)
{
	int nr;

	nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0;	/* no such call on this architecture */
	return seccomp_rule_add_array(ctx, action, nr, n, cmp);
}

static int
sbx_allow(scmp_filter_ctx ctx, const char *name)
{
	return sbx_rule(ctx, SCMP_ACT_ALLOW, name, 0, NULL);
}

static int
sbx_allow1(scmp_filter_ctx ctx, const char *name, struct scmp_arg_cmp a)
{
	return sbx_rule(ctx, SCMP_ACT_ALLOW, name, 1, &a);
}

static int
sbx_allow2(scmp_filter_ctx ctx, const char *name, struct scmp_arg_cmp a,
    struct scmp_arg_cmp b)
{
	struct scmp_arg_cmp c[2] = { a, b };

	return sbx_rule(ctx, SCMP_ACT_ALLOW, name, 2, c);
}

/* socket() and socketpair() by address family and socket type. */
static int
sbx_add_sockets(scmp_filter_ctx ctx, enum sbx_role role)
{
	static const int inet[] = { AF_INET, AF_INET6 };
	static const int types[] = { SOCK_DGRAM, SOCK_STREAM };
	size_t i, j;
	int rc;

	if ((rc = sbx_allow1(ctx, "socket", SBX_EQ(0, AF_UNIX))) ||
	    (rc = sbx_allow1(ctx, "socketpair", SBX_EQ(0, AF_UNIX))))
		return rc;
	if (role != SBX_NETD)
		return 0;
	/* UDP for the protocol, NAT-PMP, SSDP; TCP for UPnP's HTTP. */
	for (i = 0; i < sizeof(inet) / sizeof(inet[0]); i++) {
		for (j = 0; j < sizeof(types) / sizeof(types[0]); j++) {
			rc = sbx_allow2(ctx, "socket", SBX_EQ(0, inet[i]),
			    SBX_MASKED(1, 0xf, types[j]));
			if (rc != 0)
				return rc;
		}
	}
	/* rtnetlink only: address changes, getifaddrs(). */
	return sbx_allow2(ctx, "socket", SBX_EQ(0, AF_NETLINK),
	    SBX_EQ(2, NETLINK_ROUTE));
}

static int
sbx_add_ioctls(scmp_filter_ctx ctx, enum sbx_role role)
{
	size_t i;
	int rc;

	/* The kernel reads the request as 32 bits: compare those only. */
	for (i = 0; i < sizeof(sbx_ioctls_all) / sizeof(sbx_ioctls_all[0]); i++)
		if ((rc = sbx_allow1(ctx, "ioctl",
		    SBX_MASKED(1, 0xffffffffUL, sbx_ioctls_all[i]))) != 0)
			return rc;
	if (role != SBX_NETD)
		return 0;
	for (i = 0; i < sizeof(sbx_ioctls_net) / sizeof(sbx_ioctls_net[0]); i++)
		if ((rc = sbx_allow1(ctx, "ioctl",
		    SBX_MASKED(1, 0xffffffffUL, sbx_ioctls_net[i]))) != 0)
			return rc;
	return 0;
}

/* Memory is writable or executable, never both (MemoryDenyWriteExecute=). */
static int
sbx_add_memory(scmp_filter_ctx ctx)
{
	static const scmp_datum_t ok[] = { 0, PROT_WRITE, PROT_EXEC };
	static const char *const maps[] = { "mmap", "mmap2" };
	size_t i, j;
	int rc;

	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		for (j = 0; j < sizeof(ok) / sizeof(ok[0]); j++)
			if ((rc = sbx_allow1(ctx, maps[i], SBX_MASKED(2,
			    PROT_WRITE | PROT_EXEC, ok[j]))) != 0)
				return rc;
	/* Nothing becomes executable after start-up. */
	return sbx_allow1(ctx, "mprotect", SBX_MASKED(2, PROT_EXEC, 0));
}

/* Calls allowed with selected arguments, outside sanitizer mode. */
static int
sbx_add_process(scmp_filter_ctx ctx)
{
	pid_t self = getpid();
	size_t i;
	int rc;

	for (i = 0; i < sizeof(sbx_prctls) / sizeof(sbx_prctls[0]); i++)
		if ((rc = sbx_allow1(ctx, "prctl",
		    SBX_EQ(0, sbx_prctls[i]))) != 0)
			return rc;
	/* Threads only: no fork, no new namespaces. */
	if ((rc = sbx_allow1(ctx, "clone", SBX_MASKED(0,
	    SBX_CLONE_NS | CLONE_THREAD, CLONE_THREAD))) != 0)
		return rc;
	/* abort() and raise() signal this process only. */
	if ((rc = sbx_allow1(ctx, "tgkill", SBX_EQ(0, self))) != 0 ||
	    (rc = sbx_allow1(ctx, "kill", SBX_EQ(0, self))) != 0)
		return rc;
	/* glibc's getrlimit() is prlimit64(0, res, NULL, old): reading only. */
	return sbx_allow2(ctx, "prlimit64", SBX_EQ(0, 0), SBX_EQ(2, 0));
}

int
sbx_seccomp_load(enum sbx_role role, int san, char *err, size_t errlen)
{
	scmp_filter_ctx ctx;
	unsigned int bit = 1u << role;
	const char *step = "rules";
	size_t i;
	int rc = 0;

	if ((ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM))) == NULL) {
		snprintf(err, errlen, "seccomp_init failed");
		return SBX_ERR_SECCOMP;
	}
	/* Other ABIs (i386, x32 on x86_64) have other numbers: kill. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) != 0 ||
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) != 0) {
		step = "attributes";
		goto out;
	}
	if (getenv("PEERNET_SECCOMP_LOG") != NULL)
		(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);

	for (i = 0; i < sizeof(sbx_calls) / sizeof(sbx_calls[0]); i++)
		if ((sbx_calls[i].roles & bit) &&
		    (rc = sbx_allow(ctx, sbx_calls[i].name)) != 0) {
			step = sbx_calls[i].name;
			goto out;
		}
	if (role == SBX_NETD || role == SBX_APID) {
		/*
		 * netd reads files (resolv.conf, /proc) but writes none; apid
		 * re-reads peernet.conf on SIGHUP (Landlock allows it no other).
		 */
		if ((rc = sbx_allow1(ctx, "open",
		    SBX_MASKED(1, SBX_OPEN_WRITE, 0))) != 0 ||
		    (rc = sbx_allow1(ctx, "openat",
		    SBX_MASKED(2, SBX_OPEN_WRITE, 0))) != 0) {
			step = "open";
			goto out;
		}
	}
	/*
	 * clone3 takes its flags in memory, out of the filter's sight: report
	 * it missing so glibc falls back to clone, whose flags are checked.
	 */
	if ((rc = sbx_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0,
	    NULL)) != 0) {
		step = "clone3";
		goto out;
	}
	if ((rc = sbx_add_sockets(ctx, role)) != 0) {
		step = "socket";
		goto out;
	}
	if ((rc = sbx_add_ioctls(ctx, role)) != 0) {
		step = "ioctl";
		goto out;
	}
	if ((rc = sbx_add_memory(ctx)) != 0) {
		step = "mmap";
		goto out;
	}
	if (san) {
		for (i = 0; i < sizeof(sbx_san_calls) /
		    sizeof(sbx_san_calls[0]); i++)
			if ((rc = sbx_allow(ctx, sbx_san_calls[i])) != 0) {
				step = sbx_san_calls[i];
				goto out;
			}
		rc = sbx_allow1(ctx, "clone", SBX_MASKED(0, SBX_CLONE_NS, 0));
		step = "clone";
	} else {
		rc = sbx_add_process(ctx);
		step = "process";
	}
	if (rc != 0)
		goto out;
	step = "load";
	rc = seccomp_load(ctx);
out:
	seccomp_release(ctx);
	if (rc != 0) {
		snprintf(err, errlen, "seccomp (%s, %s): %s",
		    sbx_role_name(role), step, strerror(-rc));
		return SBX_ERR_SECCOMP;
	}
	return 0;
}
