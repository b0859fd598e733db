/*
 * ctl_node.c — the verbs that manage a node's daemons: init, up, down,
 * status, reload, sandbox-probe.  `up`/`down` work without systemd (for
 * development, tests and the demo); on servers systemd runs the daemons.
 */
#include <sys/file.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "ctl.h"
#include "ipc.h"

#define CTL_START_WAIT_MS	15000
#define CTL_STOP_WAIT_MS	10000	/* SIGTERM, then SIGKILL after this */
#define CTL_KILL_WAIT_MS	1000	/* after SIGKILL */

/*
 * The three daemons in start order, then peernet-apid: started last and
 * stopped first (it only talks to the others), and only on a node whose
 * configuration has an api_listen.
 */
static const char *const ctl_all[4] = { "storaged", "searchd", "netd", "apid" };
#define CTL_APID	3

static int
ctl_need_dir(struct ctl *c)
{
	struct stat sb;

	if (stat(c->dir, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		ctl_err("node directory %s does not exist: create it with "
		    "'peernetctl -d %s init'", c->dir, c->dir);
		return -1;
	}
	return 0;
}

#define CTL_LOCK_DENIED	(-2)

/*
 * The pid holding DIR/run/NAME.lock, 0 if no process holds it, -1 held
 * with no pid written, CTL_LOCK_DENIED if this user may not look.  The
 * lock is the truth about a running daemon even when it does not answer.
 */
static pid_t
ctl_lock_holder(struct ctl *c, const char *daemon)
{
	char path[PATH_MAX], buf[32];
	ssize_t n;
	pid_t pid = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/run/%s.lock", c->dir, daemon);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return errno == EACCES ? CTL_LOCK_DENIED : 0;
	if (flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK) {
		n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		pid = (pid_t)strtol(buf, NULL, 10);
		if (pid <= 0)
			pid = -1;	/* held, pid unknown */
	}
	close(fd);
	return pid;
}

static int
ctl_pid_alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/*
 * Can uid (with its groups) enter every directory down to path?  0, or -1
 * with the blocking directory and the fix in err.  The daemons drop to the
 * configured user before they open most of the node directory: a node under
 * /root or under a 0700 mktemp directory fails later, in three logs.
 */
static int
ctl_reach_check(const char *path, const char *user, const char *group,
    char *err, size_t errlen)
{
	gid_t groups[256];
	int ngroups = 256, i, ok;
	char prefix[PATH_MAX], owner[64], gname[64];
	struct passwd *pw;
	struct group *gr;
	struct stat sb;
	const char *p;
	size_t len;

	if ((pw = getpwnam(user)) == NULL)
		return 0;	/* reported on its own (init, the daemons) */
	if (getgrouplist(user, pw->pw_gid, groups, &ngroups) == -1)
		ngroups = 0;
	if (group != NULL && (gr = getgrnam(group)) != NULL && ngroups < 256)
		groups[ngroups++] = gr->gr_gid;
	for (p = path; *p != '\0'; ) {
		p = strchr(p + 1, '/');
		len = p != NULL ? (size_t)(p - path) : strlen(path);
		if (len == 0)
			len = 1;	/* "/" */
		if (len >= sizeof(prefix))
			return 0;
		memcpy(prefix, path, len);
		prefix[len] = '\0';
		if (stat(prefix, &sb) == -1)
			return 0;	/* created later by init, with the right mode */
		if (!S_ISDIR(sb.st_mode))
			return 0;
		if (sb.st_uid == pw->pw_uid)
			ok = (sb.st_mode & S_IXUSR) != 0;
		else {
			for (i = 0; i < ngroups && groups[i] != sb.st_gid; i++)
				;
			ok = i < ngroups ? (sb.st_mode & S_IXGRP) != 0 :
			    (sb.st_mode & S_IXOTH) != 0;
		}
		if (!ok) {
			struct passwd *o = getpwuid(sb.st_uid);

			gr = getgrgid(sb.st_gid);
			strlcpy(owner, o ? o->pw_name : "?", sizeof(owner));
			strlcpy(gname, gr ? gr->gr_name : "?", sizeof(gname));
			if (p == NULL)	/* the node directory itself */
				snprintf(err, errlen, "the daemons run as user '%s', "
				    "who cannot enter the node directory %s (mode %04o, "
				    "owner %s:%s): let its group in with 'chgrp %s %s && "
				    "chmod g+rx %s'", user, prefix,
				    (unsigned)(sb.st_mode & 07777), owner, gname,
				    group != NULL ? group : user, prefix, prefix);
			else
				snprintf(err, errlen, "the daemons run as user '%s', who "
				    "cannot enter %s (mode %04o, owner %s:%s) on the way "
				    "to %s: let it through with 'chmod o+x %s', or choose "
				    "a node directory the user can reach (e.g. under "
				    "/var/lib or /srv)", user, prefix,
				    (unsigned)(sb.st_mode & 07777), owner, gname, path,
				    prefix);
			return -1;
		}
		if (p == NULL)
			break;
	}
	return 0;
}

/*
 * The public network's root peers (data/public-seeds.conf, installed as
 * PREFIX/share/peernet/public-seeds.conf beside PREFIX/bin/peernetctl):
 * every "root = ..." line into o.  $PEERNET_SEEDS names another file (the
 * tests: they never read the real one).  0, or -1 with the message printed.
 */
static int
ctl_public_roots(struct conf_init_opts *o, char *used, size_t usedcap)
{
	static char vals[CONF_MAX_ROOTS][256];
	char exe[PATH_MAX], cand[3][PATH_MAX + 64], line[512], *p, *e, *slash;
	const char *env = getenv("PEERNET_SEEDS");
	struct conf_root r;
	ssize_t n;
	FILE *f = NULL;
	int i, k = 0, lineno = 0;

	memset(cand, 0, sizeof(cand));
	if (env != NULL && *env != '\0')
		strlcpy(cand[0], env, sizeof(cand[0]));
	else {
		if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
			exe[n] = '\0';
			if ((slash = strrchr(exe, '/')) != NULL) {
				*slash = '\0';
				snprintf(cand[0], sizeof(cand[0]),
				    "%s/../share/peernet/public-seeds.conf", exe);
			}
		}
		strlcpy(cand[1], "/usr/share/peernet/public-seeds.conf", sizeof(cand[1]));
		strlcpy(cand[2], "/usr/local/share/peernet/public-seeds.conf",
		    sizeof(cand[2]));
	}
	for (i = 0; i < 3 && f == NULL; i++)
		if (cand[i][0] != '\0' && (f = fopen(cand[i], "re")) != NULL &&
		    realpath(cand[i], used) == NULL)
			strlcpy(used, cand[i], usedcap);
	if (f == NULL) {
		ctl_err("init: --public: no list of public root peers (%s)",
		    env != NULL && *env != '\0' ? env :
		    "PREFIX/share/peernet/public-seeds.conf, /usr/share/peernet");
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (strncmp(p, "root", 4) != 0)
			continue;
		for (p += 4; *p == ' ' || *p == '\t'; p++)
			;
		if (*p++ != '=')
			continue;
		for (; *p == ' ' || *p == '\t'; p++)
			;
		for (e = p + strlen(p); e > p && (e[-1] == '\n' || e[-1] == ' ' ||
		    e[-1] == '\t' || e[-1] == '\r'); e--)
			;
		*e = '\0';
		if (conf_parse_root(p, &r) != 0) {
			ctl_err("init: --public: %s:%d: not PUBKEY@ADDR:PORT: '%s'", used,
			    lineno, p);
			fclose(f);
			return -1;
		}
		if (o->nroot == CONF_MAX_ROOTS) {
			ctl_err("init: --public: at most %d root peers", CONF_MAX_ROOTS);
			fclose(f);
			return -1;
		}
		strlcpy(vals[k], p, sizeof(vals[k]));
		o->root[o->nroot++] = vals[k++];
	}
	fclose(f);
	if (k == 0) {
		ctl_err("init: --public: %s holds no root line", used);
		return -1;
	}
	return k;
}

/* Loopback as apid sees it (127.0.0.0/8, ::1): the rest needs an API key. */
static int
ctl_api_loopback(const struct conf_listen *l)
{
	static const uint8_t v6lo[16] = { [15] = 1 };

	if (l->family == AF_INET)
		return l->addr[0] == 127;
	return memcmp(l->addr, v6lo, 16) == 0;
}

/*
 * An API key as peernet.conf takes it: 8-4-4-4-12 hex digits.  The nil
 * UUID is refused: the file reads it as "no key", not what --api-key says.
 */
static int
ctl_uuid_ok(const char *s)
{
	size_t i;

	if (strlen(s) != CONF_UUID_LEN ||
	    strcmp(s, "00000000-0000-0000-0000-000000000000") == 0)
		return 0;
	for (i = 0; i < CONF_UUID_LEN; i++)
		if (i == 8 || i == 13 || i == 18 || i == 23 ? s[i] != '-' :
		    !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return 1;
}

/* A random (version 4) UUID from the kernel's CSPRNG; -1 if it fails. */
static int
ctl_uuid_random(char out[CONF_UUID_LEN + 1])
{
	uint8_t b[16];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(b)) {
		if ((n = getrandom(b + got, sizeof(b) - got, 0)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;	/* variant RFC 4122 */
	snprintf(out, CONF_UUID_LEN + 1, "%02x%02x%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4],
	    b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

int
ctl_init(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	struct conf_init_opts o;
	struct conf cf;
	struct group *gr;
	struct stat sb;
	char err[1024], real[PATH_MAX], path[PATH_MAX + 16], seeds[PATH_MAX] = "";
	char newkey[CONF_UUID_LEN + 1] = "";
	int i, force = 0, if_missing = 0, created, public = 0, npublic = 0;
	int api_remote = 0;

	memset(&o, 0, sizeof(o));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--json") == 0)
			c->json = 1;
		else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			ctl_verb_usage(v, 0);
			return 0;
		} else if (strcmp(a, "--no-lan") == 0)
			o.no_lan = 1;
		else if (strcmp(a, "--no-upnp") == 0)
			o.no_upnp = 1;
		else if (strcmp(a, "--no-natpmp") == 0)
			o.no_natpmp = 1;
		else if (strcmp(a, "--force") == 0)
			force = 1;
		else if (strcmp(a, "--if-missing") == 0)
			if_missing = 1;
		else if (strcmp(a, "--public") == 0)
			public = 1;
		else if ((strcmp(a, "--listen") == 0 || strcmp(a, "--root") == 0 ||
		    strcmp(a, "--user") == 0 || strcmp(a, "--group") == 0 ||
		    strcmp(a, "--api") == 0 || strcmp(a, "--api-key") == 0 ||
		    strcmp(a, "--api-files-dir") == 0) && i + 1 < argc) {
			const char *val = argv[++i];

			if (strcmp(a, "--api") == 0) {
				struct conf_listen l;

				if (o.napi_listen == CONF_MAX_API_LISTEN)
					return ctl_usage_err(v, "at most %d --api",
					    CONF_MAX_API_LISTEN);
				if (conf_parse_listen(val, &l) != 0 || l.port == 0)
					return ctl_usage_err(v, "--api: expected "
					    "ADDR:PORT (127.0.0.1:8112 or [::1]:8112), "
					    "got '%s'", val);
				api_remote |= !ctl_api_loopback(&l);
				o.api_listen[o.napi_listen++] = val;
			} else if (strcmp(a, "--api-key") == 0) {
				if (o.api_key != NULL)
					return ctl_usage_err(v, "--api-key given twice");
				if (strcmp(val, "random") == 0) {
					if (ctl_uuid_random(newkey) == -1) {
						ctl_err("init: getrandom: %s", strerror(errno));
						return 1;
					}
					o.api_key = newkey;
				} else if (!ctl_uuid_ok(val))
					return ctl_usage_err(v, "--api-key: expected a UUID "
					    "(8-4-4-4-12 hex digits, not all zero) or "
					    "'random', got '%s'", val);
				else
					o.api_key = val;
			} else if (strcmp(a, "--api-files-dir") == 0) {
				if (*val != '/')
					return ctl_usage_err(v, "--api-files-dir: expected "
					    "an absolute path, got '%s'", val);
				o.api_files_dir = val;
			} else if (strcmp(a, "--listen") == 0) {
				struct conf_listen l;

				if (o.nlisten == CONF_MAX_LISTEN)
					return ctl_usage_err(v, "at most %d --listen",
					    CONF_MAX_LISTEN);
				if (conf_parse_listen(val, &l) != 0)
					return ctl_usage_err(v, "--listen: expected "
					    "ADDR:PORT (1.2.3.4:112 or [::1]:112), got '%s'",
					    val);
				o.listen[o.nlisten++] = val;
			} else if (strcmp(a, "--root") == 0) {
				struct conf_root r;

				if (o.nroot == CONF_MAX_ROOTS)
					return ctl_usage_err(v, "at most %d --root",
					    CONF_MAX_ROOTS);
				if (conf_parse_root(val, &r) != 0)
					return ctl_usage_err(v, "--root: expected "
					    "PUBKEY@ADDR:PORT (66 hex digits), got '%s'", val);
				o.root[o.nroot++] = val;
			} else if (strcmp(a, "--user") == 0) {
				/* The daemons drop to it: it must exist here. */
				if (getpwnam(val) == NULL)
					return ctl_usage_err(v, "--user: no user '%s' on "
					    "this system (create it first, e.g. "
					    "systemd-sysusers or useradd --system)", val);
				o.user = val;
			} else {
				if (getgrnam(val) == NULL)
					return ctl_usage_err(v, "--group: no group '%s' on "
					    "this system", val);
				o.group = val;
			}
		} else
			return ctl_usage_err(v, "unknown or incomplete option '%s'", a);
	}
	if (force && if_missing)
		return ctl_usage_err(v, "--force and --if-missing contradict each other");
	/* apid would refuse to start: say it now, not at `up`. */
	if (api_remote && o.api_key == NULL)
		return ctl_usage_err(v, "--api on an address that is not loopback "
		    "needs --api-key UUID (or --api-key random)");
	if (o.napi_listen == 0 && (o.api_key != NULL || o.api_files_dir != NULL))
		return ctl_usage_err(v, "--api-key and --api-files-dir need --api "
		    "ADDR:PORT (without it apid is not started)");
	snprintf(path, sizeof(path), "%s/peernet.conf", c->dir);
	if (if_missing && lstat(path, &sb) == 0) {
		if (c->json)
			ctl_json_print(json_pack("{s:s, s:s, s:b}", "dir", c->dir,
			    "config", path, "written", 0));
		else
			printf("%s exists: left as it is (--if-missing)\n", TS(path));
		return 0;
	}
	if (public && (npublic = ctl_public_roots(&o, seeds, sizeof(seeds))) < 0)
		return 1;
	/* As root the daemons drop to the configured user: can it get here? */
	if (geteuid() == 0 && ctl_reach_check(c->dir, o.user ? o.user : "peernet",
	    o.group ? o.group : "peernet", err, sizeof(err)) != 0) {
		ctl_err("init: %s; nothing written", err);
		return 1;
	}
	created = mkdir(c->dir, 0750) == 0;
	if (!created && errno != EEXIST) {
		ctl_err("init: mkdir %s: %s", c->dir, strerror(errno));
		return 1;
	}
	if (realpath(c->dir, real) != NULL)
		strlcpy(c->dir, real, sizeof(c->dir));
	if (conf_write_initial(c->dir, &o, force, err, sizeof(err)) != 0) {
		ctl_err("init: %s", err);
		return 1;
	}
	if (conf_load(&cf, c->dir, err, sizeof(err)) != 0) {
		ctl_err("init: the written configuration does not load: %s", err);
		return 1;
	}
	/*
	 * As root, let the daemons' group into the directory (they drop to
	 * it): a directory init made or root owns; one the daemons' user
	 * already owns (systemd's StateDirectory) is left to it.
	 */
	if (geteuid() == 0 && (gr = getgrnam(cf.group)) != NULL &&
	    stat(c->dir, &sb) == 0 && (created || sb.st_uid == 0)) {
		if (chown(c->dir, 0, gr->gr_gid) == -1 ||
		    chmod(c->dir, (sb.st_mode & 07777) | S_IRGRP | S_IXGRP) == -1) {
			ctl_err("init: chown/chmod %s: %s", c->dir, strerror(errno));
			return 1;
		}
	}
	if (c->json) {
		json_t *j = json_pack("{s:s, s:s, s:b, s:i}", "dir", c->dir, "config",
		    cf.path, "written", 1, "public_roots", npublic);

		if (newkey[0] != '\0')
			json_object_set_new(j, "api_key", json_string(newkey));
		ctl_json_print(j);
	} else {
		printf("initialized %s (configuration in %s)\n", TS(c->dir), TS(cf.path));
		if (npublic > 0)
			printf("  %d root peers of the public network, from %s\n",
			    npublic, TS(seeds));
		/* Printed once: afterwards it is only in the file (mode 0640). */
		if (newkey[0] != '\0')
			printf("api_key %s\n", newkey);
	}
	return 0;
}

static pid_t
ctl_spawn(struct ctl *c, const char *daemon, char *err, size_t errlen)
{
	char exe[PATH_MAX], logpath[PATH_MAX], logdir[PATH_MAX];
	pid_t pid;
	int fd;

	snprintf(exe, sizeof(exe), "%s/peernet-%s", c->bindir, daemon);
	if (access(exe, X_OK) == -1) {
		snprintf(err, errlen, "%s: %s", exe, strerror(errno));
		return -1;
	}
	snprintf(logdir, sizeof(logdir), "%s/log", c->dir);
	if (mkdir(logdir, 0750) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", logdir, strerror(errno));
		return -1;
	}
	snprintf(logpath, sizeof(logpath), "%s/%s.log", logdir, daemon);
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		/* Own session: the daemon outlives this terminal and this command. */
		setsid();
		fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (fd != -1) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		if ((fd = open("/dev/null", O_RDONLY)) != -1)
			dup2(fd, STDIN_FILENO);
		execl(exe, exe, "-d", c->dir, "-f", (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", exe, strerror(errno));
		_exit(127);
	}
	return pid;
}

/*
 * The last lines of DIR/log/NAME.log on stderr (why a daemon died), and
 * the last one in last (for the one-line reason and JSON).
 */
static void
ctl_log_tail(struct ctl *c, const char *daemon, char *last, size_t lastcap)
{
	char path[PATH_MAX], line[1024];
	char lines[5][1024];
	int n = 0, i;
	FILE *f;

	if (last != NULL && lastcap > 0)
		last[0] = '\0';
	snprintf(path, sizeof(path), "%s/log/%s.log", c->dir, daemon);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		strlcpy(lines[n++ % 5], line, sizeof(lines[0]));
	fclose(f);
	for (i = n > 5 ? n - 5 : 0; i < n; i++) {
		lines[i % 5][strcspn(lines[i % 5], "\n")] = '\0';
		fprintf(stderr, "  %s\n", TS(lines[i % 5]));
	}
	if (n > 0 && last != NULL)
		strlcpy(last, lines[(n - 1) % 5], lastcap);
}

/* 0 once storaged answers IPC_CHAIN (its chain is open), -1 after ms. */
static int
ctl_chain_wait(struct ctl *c, uint64_t ms)
{
	uint64_t start = loop_now_ms();
	uint8_t *rep;
	size_t len;

	for (;;) {
		if (ctl_call_empty(c, "storaged", IPC_CHAIN, &rep, &len, 2) == 0) {
			free(rep);
			return 0;
		}
		if (loop_now_ms() - start >= ms || ctl_expired(c))
			return -1;
		ctl_sleep_ms(50);
	}
}

/* Gone, or a zombie its parent (init) has not reaped yet. */
static int
ctl_pid_gone(pid_t pid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	if (!ctl_pid_alive(pid))
		return 1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "pid (comm) S ...": the state follows the last ')' */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return 0;
	return p[2] == 'Z' || p[2] == 'X';
}

/*
 * Stops the daemons in mask (bit i: ctl_all[i]), apid then netd first: the IPC
 * shutdown request, SIGTERM to one that does not answer, then all are
 * waited for together; SIGKILL to those not gone term_ms after.  known[i]:
 * a pid this process started (0: from the lock).  Returns how many may
 * still run; what[i] says what happened to each.
 */
static int
ctl_stop_all(struct ctl *c, const pid_t known[4], int mask, int term_ms,
    char what[4][160])
{
	struct ipc_status st;
	uint8_t *rep;
	size_t len;
	pid_t pid[4] = { 0, 0, 0, 0 }, holder;
	int i, saved = c->timeout_ms, asked, termed[4] = { 0, 0, 0, 0 }, left = 0;
	int failed = 0, again = 1, q;
	uint64_t start;

	/* A short question each: a hung daemon must leave time for the rest. */
	q = term_ms / 4 < saved ? term_ms / 4 : saved;
	if (q < 100)
		q = 100;
	for (i = 3; i >= 0; i--) {
		what[i][0] = '\0';
		if (!(mask & (1 << i)))
			continue;
		holder = ctl_lock_holder(c, ctl_all[i]);
		if (holder == CTL_LOCK_DENIED) {
			snprintf(what[i], 160, "permission denied");
			failed++;
			continue;
		}
		pid[i] = holder > 0 ? holder : known[i];
		asked = 0;
		c->timeout_ms = q;
		if (ctl_status_of(c, ctl_all[i], &st, 1) == 0) {
			pid[i] = (pid_t)st.pid;
			if (ctl_call_empty(c, ctl_all[i], IPC_SHUTDOWN, &rep, &len,
			    1) == 0) {
				free(rep);
				asked = 1;
			}
		}
		c->timeout_ms = saved;
		if (pid[i] <= 0) {
			if (!asked && (c->last_err == CTL_E_DENIED || c->last_err == CTL_E_UID)) {
				snprintf(what[i], 160, "permission denied");
				failed++;
			} else if (holder == -1) {
				snprintf(what[i], 160, "still running (holds its lock; "
				    "pid unknown)");
				failed++;
			} else
				snprintf(what[i], 160, "not running");
			pid[i] = 0;
			continue;
		}
		if (!asked) {
			if (kill(pid[i], SIGTERM) == -1 && errno != ESRCH) {
				snprintf(what[i], 160, "still running: cannot signal pid "
				    "%ld: %s", (long)pid[i], strerror(errno));
				failed++;
				pid[i] = 0;
				continue;
			}
			termed[i] = 1;
		}
		left++;
	}
	start = loop_now_ms();
	/* The questions took time: --timeout still leaves room for SIGKILL. */
	if (c->deadline != 0 && ctl_left_ms(c, term_ms) < term_ms + CTL_KILL_WAIT_MS / 2) {
		term_ms = ctl_left_ms(c, term_ms) - CTL_KILL_WAIT_MS / 2;
		if (term_ms < 100)
			term_ms = 100;
	}
	while (left > 0) {
		left = 0;
		for (i = 0; i < 4; i++) {
			if (pid[i] <= 0 || what[i][0] != '\0')
				continue;
			if (ctl_pid_gone(pid[i]) && ctl_lock_holder(c, ctl_all[i]) == 0)
				snprintf(what[i], 160, termed[i] ? "stopped (by SIGTERM: it "
				    "did not answer)" : "stopped");
			else
				left++;
		}
		if (left == 0 || loop_now_ms() - start >= (uint64_t)term_ms)
			break;
		/* SIGTERM again halfway: a daemon may have been busy at the first. */
		if (again && loop_now_ms() - start >= (uint64_t)term_ms / 2) {
			for (i = 0; i < 4; i++)
				if (pid[i] > 0 && what[i][0] == '\0')
					kill(pid[i], SIGTERM);
			again = 0;
		}
		ctl_sleep_ms(20);
	}
	if (left == 0)
		return failed;
	for (i = 0; i < 4; i++)
		if (pid[i] > 0 && what[i][0] == '\0') {
			ctl_err("%s (pid %ld) has not exited %.1f s after %s: SIGKILL",
			    ctl_all[i], (long)pid[i], term_ms / 1000.0,
			    termed[i] ? "SIGTERM" : "the shutdown request");
			kill(pid[i], SIGKILL);
		}
	start = loop_now_ms();
	do {
		left = 0;
		for (i = 0; i < 4; i++) {
			if (pid[i] <= 0 || what[i][0] != '\0')
				continue;
			if (ctl_pid_gone(pid[i]) && ctl_lock_holder(c, ctl_all[i]) == 0)
				snprintf(what[i], 160, "killed (SIGKILL: not gone %.1f s "
				    "after %s)", term_ms / 1000.0, termed[i] ? "SIGTERM" :
				    "the shutdown request");
			else
				left++;
		}
		if (left > 0)
			ctl_sleep_ms(20);
	} while (left > 0 && loop_now_ms() - start < CTL_KILL_WAIT_MS);
	for (i = 0; i < 4; i++)
		if (pid[i] > 0 && what[i][0] == '\0') {
			snprintf(what[i], 160, "still running (pid %ld survived SIGKILL)",
			    (long)pid[i]);
			failed++;
		}
	return failed;
}

/* How long down (and a failed up) lets a daemon go before SIGKILL. */
static int
ctl_term_ms(struct ctl *c)
{
	int left;

	if (!c->timeout_given)
		return CTL_STOP_WAIT_MS;
	/* Within --timeout: what is left, minus the wait after SIGKILL. */
	left = ctl_left_ms(c, INT32_MAX) - CTL_KILL_WAIT_MS / 2 - 100;
	return left < 100 ? 100 : left;
}

/*
 * Starts apid once the three daemons are ready (it reaches the node only
 * through them) and waits until it answers on DIR/run/apid.sock: by then
 * its HTTP sockets are bound (daemon.h: the bind hook comes before the IPC
 * server).  0 when it answers (*pid: the process started, 0 if one already
 * ran), -1 with the reason in why (*pid: one started that may still run).
 */
static int
ctl_apid_start(struct ctl *c, int wait_ms, pid_t *pid, char *why, size_t whylen)
{
	struct ipc_status st;
	char err[1024], last[1024];
	uint64_t start = loop_now_ms();
	int status;

	*pid = 0;
	for (;;) {
		if (ctl_status_of(c, "apid", &st, 1) == 0)
			return 0;	/* already running */
		if (c->last_err == CTL_E_DENIED || c->last_err == CTL_E_UID) {
			ctl_denied(c, c->dir);
			snprintf(why, whylen, "permission denied");
			return -1;
		}
		if (ctl_lock_holder(c, "apid") == 0)
			break;
		/* One still exiting keeps its lock for a moment. */
		if (loop_now_ms() - start >= (uint64_t)wait_ms || ctl_expired(c)) {
			snprintf(why, whylen, "holds its lock but does not answer: "
			    "try 'peernetctl -d %s down' first", c->dir);
			ctl_err("apid %s; its log:", why);
			ctl_log_tail(c, "apid", NULL, 0);
			return -1;
		}
		ctl_sleep_ms(50);
	}
	if ((*pid = ctl_spawn(c, "apid", err, sizeof(err))) == -1) {
		*pid = 0;
		snprintf(why, whylen, "cannot start: %s", err);
		ctl_err("apid %s", why);
		return -1;
	}
	start = loop_now_ms();
	for (;;) {
		if (waitpid(*pid, &status, WNOHANG) == *pid) {
			ctl_err("apid exited during start-up (%s %d); its log:",
			    WIFEXITED(status) ? "status" : "signal",
			    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
			ctl_log_tail(c, "apid", last, sizeof(last));
			snprintf(why, whylen, "exited during start-up: %s",
			    last[0] ? last : "(empty log)");
			*pid = 0;
			return -1;
		}
		if (ctl_status_of(c, "apid", &st, 1) == 0)
			return 0;
		if (loop_now_ms() - start >= (uint64_t)wait_ms || ctl_expired(c))
			break;
		ctl_sleep_ms(50);
	}
	snprintf(why, whylen, "did not become ready within %.1f s",
	    wait_ms / 1000.0);
	ctl_err("apid %s; its log:", why);
	ctl_log_tail(c, "apid", NULL, 0);
	return -1;
}

int
ctl_up(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	struct ipc_status st;
	pid_t pids[4] = { 0, 0, 0, 0 };
	int ready[4] = { 0, 0, 0, 0 };
	char err[1024], why[4][1100], last[1024], what[4][160];
	struct conf cf;
	uint64_t start;
	int i, rc, nready = 0, failed = 0, status, wait_ms;
	json_t *j;

	memset(why, 0, sizeof(why));
	if ((rc = ctl_verb_no_operands(c, v, argc, argv)) >= 0)
		return rc;
	if (ctl_need_dir(c) == -1)
		return 1;
	/* Fail here, with the file and line, rather than in three log files. */
	if (conf_load(&cf, c->dir, err, sizeof(err)) != 0) {
		ctl_err("%s", err);
		return 1;
	}
	if (geteuid() == 0 && ctl_reach_check(c->dir, cf.user, cf.group, err,
	    sizeof(err)) != 0) {
		ctl_err("up: %s; nothing started", err);
		return 1;
	}
	wait_ms = ctl_left_ms(c, CTL_START_WAIT_MS);
	for (i = 0; i < 3 && !failed; i++) {
		if (ctl_status_of(c, ctl_daemons[i], &st, 1) == 0) {
			ready[i] = 1;
			nready++;
			continue;
		}
		if (c->last_err == CTL_E_DENIED || c->last_err == CTL_E_UID) {
			ctl_denied(c, c->dir);
			snprintf(why[i], sizeof(why[i]), "permission denied");
			failed++;
			break;
		}
		if (ctl_lock_holder(c, ctl_daemons[i]) != 0) {
			/*
			 * A process killed while in fsync (or still exiting) keeps
			 * its lock for a moment: give it time to go.
			 */
			start = loop_now_ms();
			while (ctl_lock_holder(c, ctl_daemons[i]) != 0 &&
			    ctl_status_of(c, ctl_daemons[i], &st, 1) != 0 &&
			    loop_now_ms() - start < (uint64_t)wait_ms && !ctl_expired(c))
				ctl_sleep_ms(50);
			if (ctl_status_of(c, ctl_daemons[i], &st, 1) == 0) {
				ready[i] = 1;
				nready++;
				continue;
			}
			if (ctl_lock_holder(c, ctl_daemons[i]) != 0) {
				snprintf(why[i], sizeof(why[i]), "holds its lock but does "
				    "not answer: try 'peernetctl -d %s down' first", c->dir);
				ctl_err("%s %s; its log:", ctl_daemons[i], why[i]);
				ctl_log_tail(c, ctl_daemons[i], NULL, 0);
				failed++;
				break;
			}
		}
		if ((pids[i] = ctl_spawn(c, ctl_daemons[i], err, sizeof(err))) == -1) {
			pids[i] = 0;
			snprintf(why[i], sizeof(why[i]), "cannot start: %s", err);
			ctl_err("%s %s", ctl_daemons[i], why[i]);
			failed++;
		}
	}
	start = loop_now_ms();
	while (!failed && nready < 3 && loop_now_ms() - start < (uint64_t)wait_ms &&
	    !ctl_expired(c)) {
		for (i = 0; i < 3; i++) {
			if (ready[i] || pids[i] <= 0)
				continue;
			if (waitpid(pids[i], &status, WNOHANG) == pids[i]) {
				ctl_err("%s exited during start-up (%s %d); its log:",
				    ctl_daemons[i], WIFEXITED(status) ? "status" : "signal",
				    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
				ctl_log_tail(c, ctl_daemons[i], last, sizeof(last));
				snprintf(why[i], sizeof(why[i]), "exited during start-up: %s",
				    last[0] ? last : "(empty log)");
				pids[i] = 0;
				failed++;
				continue;
			}
			if (ctl_status_of(c, ctl_daemons[i], &st, 1) == 0) {
				ready[i] = 1;
				nready++;
			}
		}
		if (!failed && nready < 3)
			ctl_sleep_ms(50);
	}
	for (i = 0; i < 3; i++)
		if (!failed && !ready[i] && pids[i] > 0) {
			snprintf(why[i], sizeof(why[i]), "did not become ready within "
			    "%.1f s", wait_ms / 1000.0);
			ctl_err("%s %s; its log:", ctl_daemons[i], why[i]);
			ctl_log_tail(c, ctl_daemons[i], NULL, 0);
			failed++;
		}
	/*
	 * storaged opens the chain once netd has told it the identity: a
	 * command right after `up` (add, ls) must not meet "not open yet".
	 */
	if (!failed && ctl_chain_wait(c, (uint64_t)wait_ms) != 0) {
		snprintf(why[0], sizeof(why[0]), "has not opened the blockchain "
		    "within %.1f s", wait_ms / 1000.0);
		ctl_err("storaged %s; its log:", why[0]);
		ctl_log_tail(c, "storaged", NULL, 0);
		failed++;
	}
	/* apid last, and only when the configuration gives it an address. */
	if (!failed && cf.napi_listen > 0) {
		if (ctl_apid_start(c, ctl_left_ms(c, CTL_START_WAIT_MS),
		    &pids[CTL_APID], why[CTL_APID], sizeof(why[CTL_APID])) == 0)
			ready[CTL_APID] = 1;
		else
			failed++;
	}
	/* All or nothing: what this command started goes again. */
	if (failed) {
		int mask = 0;

		for (i = 0; i < 4; i++)
			if (pids[i] > 0)
				mask |= 1 << i;
		/* Stopping what was started must not be cut short by --timeout. */
		c->deadline = 0;
		ctl_stop_all(c, pids, mask, 3000, what);
		for (i = 0; i < 4; i++) {
			if (pids[i] <= 0)
				continue;
			waitpid(pids[i], &status, WNOHANG);
			if (!why[i][0])
				snprintf(why[i], sizeof(why[i]), "started, then %s again "
				    "(up failed)", what[i]);
		}
		for (i = 0; i < 4; i++)
			if (why[i][0] && strncmp(why[i], "started, then", 13) != 0) {
				ctl_err("up failed: %s %s; the daemons this command "
				    "started were stopped", ctl_all[i], why[i]);
				break;
			}
	}
	if (c->json) {
		j = json_object();
		for (i = 0; i < 4; i++) {
			if (i == CTL_APID && cf.napi_listen == 0)
				continue;	/* not configured: not started */
			json_object_set_new(j, ctl_all[i], ctl_jstr(why[i][0] ? why[i] :
			    ready[i] ? (pids[i] ? "started" : "running") : "not started"));
		}
		ctl_json_print(json_pack("{s:s, s:o}", "dir", c->dir, "daemons", j));
	} else if (!failed) {
		for (i = 0; i < 3; i++)
			printf("%-9s %s\n", ctl_all[i],
			    pids[i] ? "started" : "already running");
		if (cf.napi_listen > 0)
			printf("%-9s %s (", "apid", pids[CTL_APID] ? "started" :
			    "already running");
		for (i = 0; i < cf.napi_listen; i++)
			printf("%s%s", i ? " " : "", cf.api_listen[i].text);
		if (cf.napi_listen > 0)
			printf(")\n");
	}
	return failed ? 1 : 0;
}

int
ctl_down(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	char what[4][160], err[1024];
	int i, rc, failed = 0, mask = 7;
	pid_t none[4] = { 0, 0, 0, 0 };
	struct conf cf;
	json_t *j;

	if ((rc = ctl_verb_no_operands(c, v, argc, argv)) >= 0)
		return rc;
	if (ctl_need_dir(c) == -1)
		return 1;
	/*
	 * apid too when configured, or when one runs anyway (started by hand,
	 * or before api_listen was removed); a broken file must not keep down
	 * from stopping the rest.
	 */
	if ((conf_load(&cf, c->dir, err, sizeof(err)) == 0 && cf.napi_listen > 0) ||
	    ctl_lock_holder(c, "apid") != 0)
		mask |= 1 << CTL_APID;
	failed = ctl_stop_all(c, none, mask, ctl_term_ms(c), what);
	/* Never "done" while a daemon of the node runs: the lock tells. */
	for (i = 0; i < 4; i++)
		if ((mask & (1 << i)) && ctl_lock_holder(c, ctl_all[i]) != 0 &&
		    strncmp(what[i], "still", 5) != 0 && strcmp(what[i], "permission denied") != 0) {
			snprintf(what[i], sizeof(what[i]), "still running");
			failed++;
		}
	if (c->json) {
		j = json_object();
		for (i = 0; i < 4; i++)
			if (mask & (1 << i))
				json_object_set_new(j, ctl_all[i], json_string(what[i]));
		ctl_json_print(json_pack("{s:s, s:o}", "dir", c->dir, "daemons", j));
	} else
		for (i = 3; i >= 0; i--)
			if (mask & (1 << i))
				printf("%-9s %s\n", ctl_all[i], what[i]);
	for (i = 0; i < 4; i++)
		if (strcmp(what[i], "permission denied") == 0) {
			ctl_denied(c, c->dir);
			break;
		}
	if (failed)
		ctl_err("down: %d daemon%s of %s may still run", failed,
		    failed == 1 ? "" : "s", c->dir);
	return failed ? 1 : 0;
}

static const char *
ctl_link_state(uint8_t s)
{
	return s == IPC_LINK_UP ? "up" : s == IPC_LINK_DOWN ? "down" : "unknown";
}

/*
 * storaged's counters (blocks of other chains refused, by reason): into
 * *out as an object, or as one summary line on stdout.
 */
static int
ctl_store_counters(struct ctl *c, json_t **out)
{
	static struct ipc_counters ct;
	uint64_t accepted = 0, rejected = 0;
	uint8_t *rep;
	size_t len;
	char line[512], one[80];
	int i, rc;

	if (ctl_call_empty(c, "storaged", IPC_STORE_STATUS, &rep, &len, 1) == -1)
		return -1;
	rc = ipc_counters_decode(rep, len, IPC_STORE_STATUS, &ct);
	free(rep);
	if (rc != 0)
		return -1;
	if (out != NULL) {
		*out = json_object();
		for (i = 0; i < ct.n; i++)
			json_object_set_new(*out, ct.c[i].name,
			    json_integer((json_int_t)ct.c[i].value));
		return 0;
	}
	line[0] = '\0';
	for (i = 0; i < ct.n; i++) {
		if (strcmp(ct.c[i].name, "cache_blocks_accepted") == 0) {
			accepted = ct.c[i].value;
			continue;
		}
		rejected += ct.c[i].value;
		if (ct.c[i].value == 0)
			continue;
		/* "cache_rejected_signer" -> "signer 3" */
		snprintf(one, sizeof(one), "%s%s %llu", line[0] ? ", " : "",
		    strncmp(ct.c[i].name, "cache_rejected_", 15) == 0 ?
		    ct.c[i].name + 15 : ct.c[i].name,
		    (unsigned long long)ct.c[i].value);
		strlcat(line, one, sizeof(line));
	}
	printf("storaged  cache blocks: %llu accepted, %llu rejected%s%s%s\n",
	    (unsigned long long)accepted, (unsigned long long)rejected,
	    line[0] ? " (" : "", line, line[0] ? ")" : "");
	return 0;
}

/* A daemon's state when its status request failed, from the error and the lock. */
static const char *
ctl_down_state(struct ctl *c, const char *daemon, int err, pid_t *holder)
{
	*holder = ctl_lock_holder(c, daemon);
	if (err == CTL_E_DENIED || err == CTL_E_UID || *holder == CTL_LOCK_DENIED)
		return "permission denied";
	if (err == CTL_E_REFUSED)
		return "refused";
	if (err == CTL_E_TIMEOUT || err == CTL_E_LOST || *holder != 0)
		return "not answering";
	return "stopped";
}

/* apid's addresses and key use, from the configuration (no request). */
static void
ctl_api_listen_json(json_t *o, const struct conf *cf)
{
	json_t *a = json_array();
	int i;

	for (i = 0; i < cf->napi_listen; i++)
		json_array_append_new(a, json_string(cf->api_listen[i].text));
	json_object_set_new(o, "listen", a);
	json_object_set_new(o, "tls", json_boolean(cf->api_tls_cert[0] != '\0'));
	json_object_set_new(o, "api_key_set", json_boolean(cf->api_key[0] != '\0'));
}

int
ctl_status(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	struct ipc_status st[4];
	int ok[4], errs[4], i, k, rc, down = 0, saved = c->timeout_ms, left, n = 3;
	char up[32], links[128], err[1024];
	const char *state[4];
	json_t *arr, *o, *la, *cnt;
	pid_t holder[4];
	struct conf cf;
	int api_conf;

	if ((rc = ctl_verb_no_operands(c, v, argc, argv)) >= 0)
		return rc;
	if (ctl_need_dir(c) == -1)
		return 1;
	/*
	 * apid is a fourth daemon when the configuration gives it an address
	 * (or one runs anyway); else "not configured", outside .daemons, so a
	 * node without it stays all green with three.
	 */
	api_conf = conf_load(&cf, c->dir, err, sizeof(err)) == 0 && cf.napi_listen > 0;
	if (!api_conf)
		cf.napi_listen = 0;
	if (api_conf || ctl_lock_holder(c, "apid") != 0)
		n = 4;
	for (i = 0; i < n; i++) {
		/* Within --timeout, a hung daemon leaves time to ask the others. */
		if (c->timeout_given) {
			left = ctl_left_ms(c, saved) / (n - i);
			c->timeout_ms = left > 0 ? left : 1;
		}
		/* refusals (uid not allowed) are printed as they come */
		ok[i] = ctl_status_of(c, ctl_all[i], &st[i], 1) == 0;
		errs[i] = ok[i] ? 0 : c->last_err;
		c->timeout_ms = saved;
		state[i] = ok[i] ? "running" :
		    ctl_down_state(c, ctl_all[i], errs[i], &holder[i]);
		down += !ok[i];
	}
	if (c->json) {
		arr = json_array();
		for (i = 0; i < n; i++) {
			if (!ok[i]) {
				o = json_pack("{s:s, s:b, s:s}", "name", ctl_all[i],
				    "running", holder[i] != 0 && holder[i] != CTL_LOCK_DENIED,
				    "state", state[i]);
				if (holder[i] > 0)
					json_object_set_new(o, "pid", json_integer(holder[i]));
				if (i == CTL_APID)
					ctl_api_listen_json(o, &cf);
				json_array_append_new(arr, o);
				continue;
			}
			la = json_array();
			for (k = 0; k < st[i].nlinks; k++)
				json_array_append_new(la, json_pack("{s:o, s:s}",
				    "name", ctl_jstr(st[i].links[k].name),
				    "state", ctl_link_state(st[i].links[k].state)));
			o = json_pack(
			    "{s:s, s:b, s:s, s:I, s:I, s:I, s:o, s:o, s:o}",
			    "name", ctl_all[i], "running", 1, "state", "running",
			    "pid", (json_int_t)st[i].pid, "uid", (json_int_t)st[i].uid,
			    "uptime_ms", (json_int_t)st[i].uptime_ms,
			    "sandbox", ctl_jstr(st[i].sandbox), "version",
			    ctl_jstr(st[i].version), "links", la);
			if (strcmp(ctl_all[i], "storaged") == 0 &&
			    ctl_store_counters(c, &cnt) == 0)
				json_object_set_new(o, "counters", cnt);
			if (i == CTL_APID)
				ctl_api_listen_json(o, &cf);
			json_array_append_new(arr, o);
		}
		{
			json_t *net = NULL, *top;

			top = json_pack("{s:s, s:o}", "dir", c->dir, "daemons", arr);
			if (n == 3)
				json_object_set_new(top, "apid", json_pack("{s:s, s:b, s:s}",
				    "name", "apid", "running", 0, "state", "not configured"));
			if (ok[2] && ctl_net_status(c, &net) == 0)
				json_object_set_new(top, "network", net);
			ctl_json_print(top);
		}
	} else {
		printf("node %s\n", TS(c->dir));
		printf("%-9s %-17s %-8s %-6s %-8s %-34s %s\n", "DAEMON", "STATE", "PID",
		    "UID", "UPTIME", "SANDBOX", "LINKS");
		for (i = 0; i < n; i++) {
			if (!ok[i]) {
				if (holder[i] > 0)
					printf("%-9s %-17s %ld\n", ctl_all[i], state[i],
					    (long)holder[i]);
				else
					printf("%-9s %s\n", ctl_all[i], state[i]);
				continue;
			}
			ctl_fmt_duration(up, sizeof(up), st[i].uptime_ms);
			links[0] = '\0';
			for (k = 0; k < st[i].nlinks; k++) {
				char one[48];

				snprintf(one, sizeof(one), "%s%s:%s", k ? " " : "",
				    TS(st[i].links[k].name), ctl_link_state(st[i].links[k].state));
				strlcat(links, one, sizeof(links));
			}
			printf("%-9s %-17s %-8u %-6u %-8s %-34s %s\n", ctl_all[i],
			    "running", st[i].pid, st[i].uid, up, TS(st[i].sandbox), links);
		}
		if (n == 3)
			printf("%-9s %s\n", "apid", "not configured");
		else if (cf.napi_listen > 0 && ok[CTL_APID]) {
			printf("  apid serves");
			for (k = 0; k < cf.napi_listen; k++)
				printf(" %s://%s", cf.api_tls_cert[0] ? "https" : "http",
				    cf.api_listen[k].text);
			printf("\n");
		}
		for (i = 0; i < 3; i++)
			if (ok[i] && strcmp(ctl_daemons[i], "storaged") == 0)
				ctl_store_counters(c, NULL);
		if (ok[2])
			ctl_net_status(c, NULL);
	}
	for (i = 0; i < n; i++) {
		if (ok[i])
			continue;
		if (errs[i] == CTL_E_UID || errs[i] == CTL_E_REFUSED)
			continue;	/* said by ctl_call */
		if (strcmp(state[i], "permission denied") == 0) {
			ctl_denied(c, c->dir);
			break;
		} else if (strcmp(state[i], "not answering") == 0) {
			char pid[32] = "";

			if (holder[i] > 0)
				snprintf(pid, sizeof(pid), " (pid %ld)", (long)holder[i]);
			ctl_err("%s%s does not answer: hung or stopped? 'peernetctl "
			    "-d %s down' stops it", ctl_all[i], pid, c->dir);
		}
		else
			ctl_err("%s is not running for %s: start it with "
			    "'peernetctl -d %s up'", ctl_all[i], c->dir, c->dir);
	}
	return down ? 1 : 0;
}

int
ctl_reload(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	uint8_t *rep;
	size_t len;
	int i, rc, failed = 0;

	if ((rc = ctl_verb_no_operands(c, v, argc, argv)) >= 0)
		return rc;
	if (ctl_need_dir(c) == -1)
		return 1;
	for (i = 0; i < 3; i++) {
		if (ctl_call_empty(c, ctl_daemons[i], IPC_RELOAD, &rep, &len, 0) == -1) {
			failed++;
			continue;
		}
		free(rep);
		if (!c->json)
			printf("%-9s reloaded\n", ctl_daemons[i]);
	}
	if (c->json)
		ctl_json_print(json_pack("{s:b}", "ok", !failed));
	return failed ? 1 : 0;
}

int
ctl_probe(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	struct ipc_probe pr;
	uint8_t *rep;
	size_t len;
	int rc, first;

	if ((rc = ctl_verb_operands(c, v, argc, argv, 1, &first)) >= 0)
		return rc;
	if (strcmp(argv[first], "netd") != 0 && strcmp(argv[first], "storaged") != 0 &&
	    strcmp(argv[first], "searchd") != 0)
		return ctl_usage_err(v, "no daemon '%s' (netd, storaged or searchd)",
		    argv[first]);
	if (ctl_need_dir(c) == -1)
		return 1;
	if (ctl_call_empty(c, argv[first], IPC_SANDBOX_PROBE, &rep, &len, 0) == -1)
		return 1;
	if (ctl_reply_decoded(rep, ipc_probe_decode(rep, len, &pr),
	    v->name, argv[first]) != 0)
		return 1;
	if (c->json)
		ctl_json_print(json_pack("{s:s, s:b, s:s, s:b, s:s}", "daemon", argv[first],
		    "inet_allowed", pr.inet_errno == 0,
		    "inet_error", pr.inet_errno ? strerror(pr.inet_errno) : "",
		    "unix_allowed", pr.unix_errno == 0,
		    "unix_error", pr.unix_errno ? strerror(pr.unix_errno) : ""));
	else {
		printf("%s: socket(AF_INET): %s\n", TS(argv[first]),
		    pr.inet_errno ? strerror(pr.inet_errno) : "allowed");
		printf("%s: socket(AF_UNIX): %s\n", TS(argv[first]),
		    pr.unix_errno ? strerror(pr.unix_errno) : "allowed");
	}
	return 0;
}
