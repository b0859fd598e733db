/*
 * ctl_node.c — the verbs that manage a node's daemons: init, up, down,
 * status, reload, sandbox-probe.  `up`/`down` work without systemd (for
 * development, tests and the demo); on servers systemd runs the daemons.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
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
#define CTL_STOP_WAIT_MS	10000

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

/*
 * The pid holding DIR/run/NAME.lock, or 0 if no process holds it.  The lock
 * is the truth about a running daemon even when it does not answer IPC.
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
		return 0;
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

int
ctl_init(struct ctl *c, int argc, char **argv)
{
	const struct ctl_verb *v = ctl_find_verb("init");
	struct conf_init_opts o;
	struct conf cf;
	struct group *gr;
	char err[1024], real[PATH_MAX];
	int i, force = 0;

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
		else if ((strcmp(a, "--listen") == 0 || strcmp(a, "--root") == 0 ||
		    strcmp(a, "--user") == 0 || strcmp(a, "--group") == 0) && i + 1 < argc) {
			const char *val = argv[++i];

			if (strcmp(a, "--listen") == 0) {
				struct conf_listen l;

				if (o.nlisten == CONF_MAX_LISTEN) {
					ctl_err("init: at most %d --listen", CONF_MAX_LISTEN);
					return 1;
				}
				if (conf_parse_listen(val, &l) != 0) {
					ctl_err("init: --listen: expected ADDR:PORT "
					    "(1.2.3.4:112 or [::1]:112), got '%s'", val);
					return 1;
				}
				o.listen[o.nlisten++] = val;
			} else if (strcmp(a, "--root") == 0) {
				struct conf_root r;

				if (o.nroot == CONF_MAX_ROOTS) {
					ctl_err("init: at most %d --root", CONF_MAX_ROOTS);
					return 1;
				}
				if (conf_parse_root(val, &r) != 0) {
					ctl_err("init: --root: expected PUBKEY@ADDR:PORT "
					    "(66 hex digits), got '%s'", val);
					return 1;
				}
				o.root[o.nroot++] = val;
			} else if (strcmp(a, "--user") == 0)
				o.user = val;
			else
				o.group = val;
		} else {
			ctl_err("init: unknown or incomplete option '%s'", a);
			ctl_verb_usage(v, 1);
			return 2;
		}
	}
	if (mkdir(c->dir, 0750) == -1 && errno != EEXIST) {
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
	/* As root, let the daemons' group into the directory (they drop to it). */
	if (geteuid() == 0 && (gr = getgrnam(cf.group)) != NULL &&
	    chown(c->dir, 0, gr->gr_gid) == -1) {
		ctl_err("init: chown %s: %s", c->dir, strerror(errno));
		return 1;
	}
	if (c->json) {
		ctl_json_print(json_pack("{s:s, s:s}", "dir", c->dir, "config", cf.path));
	} else
		printf("initialized %s (configuration in %s)\n", c->dir, cf.path);
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

/* Prints the last lines of DIR/log/NAME.log to stderr: why a daemon died. */
static void
ctl_log_tail(struct ctl *c, const char *daemon)
{
	char path[PATH_MAX], line[1024];
	char lines[5][1024];
	int n = 0, i;
	FILE *f;

	snprintf(path, sizeof(path), "%s/log/%s.log", c->dir, daemon);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		strlcpy(lines[n++ % 5], line, sizeof(lines[0]));
	fclose(f);
	for (i = n > 5 ? n - 5 : 0; i < n; i++)
		fprintf(stderr, "  %s", lines[i % 5]);
}

/* 0 once storaged answers IPC_CHAIN (its chain is open), -1 after ms. */
static int
ctl_chain_wait(struct ctl *c, uint64_t ms)
{
	uint64_t start = ctl_now_ms();
	uint8_t *rep;
	size_t len;

	for (;;) {
		if (ctl_call_empty(c, "storaged", IPC_CHAIN, &rep, &len, 2) == 0) {
			free(rep);
			return 0;
		}
		if (ctl_now_ms() - start >= ms)
			return -1;
		ctl_sleep_ms(50);
	}
}

int
ctl_up(struct ctl *c, int argc, char **argv)
{
	const struct ctl_verb *v = ctl_find_verb("up");
	struct ipc_status st;
	pid_t pids[3] = { 0, 0, 0 };
	int ready[3] = { 0, 0, 0 };
	char err[1024];
	struct conf cf;
	uint64_t start;
	int i, rc, nready = 0, failed = 0, status;
	json_t *j;

	if ((rc = ctl_verb_opts(c, v, argc, argv)) < 0)
		return rc == -2 ? 0 : 2;
	if (ctl_need_dir(c) == -1)
		return 1;
	/* Fail here, with the file and line, rather than in three log files. */
	if (conf_load(&cf, c->dir, err, sizeof(err)) != 0) {
		ctl_err("%s", err);
		return 1;
	}
	for (i = 0; i < 3; i++) {
		if (ctl_status_of(c, ctl_daemons[i], &st, 1) == 0) {
			ready[i] = 1;
			nready++;
			continue;
		}
		if (ctl_lock_holder(c, ctl_daemons[i]) != 0) {
			/*
			 * A process killed while in fsync (or still exiting) keeps
			 * its lock for a moment: give it time to go.
			 */
			start = ctl_now_ms();
			while (ctl_lock_holder(c, ctl_daemons[i]) != 0 &&
			    ctl_status_of(c, ctl_daemons[i], &st, 1) != 0 &&
			    ctl_now_ms() - start < CTL_START_WAIT_MS)
				ctl_sleep_ms(50);
			if (ctl_status_of(c, ctl_daemons[i], &st, 1) == 0) {
				ready[i] = 1;
				nready++;
				continue;
			}
			if (ctl_lock_holder(c, ctl_daemons[i]) != 0) {
				ctl_err("%s holds its lock but does not answer: "
				    "try 'peernetctl -d %s down' first; its log:",
				    ctl_daemons[i], c->dir);
				ctl_log_tail(c, ctl_daemons[i]);
				return 1;
			}
		}
		if ((pids[i] = ctl_spawn(c, ctl_daemons[i], err, sizeof(err))) == -1) {
			ctl_err("cannot start %s: %s", ctl_daemons[i], err);
			return 1;
		}
	}
	start = ctl_now_ms();
	while (nready + failed < 3 && ctl_now_ms() - start < CTL_START_WAIT_MS) {
		for (i = 0; i < 3; i++) {
			if (ready[i] || pids[i] <= 0)
				continue;
			if (waitpid(pids[i], &status, WNOHANG) == pids[i]) {
				ctl_err("%s exited during start-up (%s %d); its log:",
				    ctl_daemons[i], WIFEXITED(status) ? "status" : "signal",
				    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
				ctl_log_tail(c, ctl_daemons[i]);
				pids[i] = 0;
				failed++;
				continue;
			}
			if (ctl_status_of(c, ctl_daemons[i], &st, 1) == 0) {
				ready[i] = 1;
				nready++;
			}
		}
		if (nready + failed < 3)
			ctl_sleep_ms(50);
	}
	for (i = 0; i < 3; i++)
		if (!ready[i] && pids[i] > 0) {
			ctl_err("%s did not become ready within %d s; its log:",
			    ctl_daemons[i], CTL_START_WAIT_MS / 1000);
			ctl_log_tail(c, ctl_daemons[i]);
			failed++;
		}
	/*
	 * storaged opens the chain once netd has told it the identity: a
	 * command right after `up` (add, ls) must not meet "not open yet".
	 */
	if (!failed && ctl_chain_wait(c, CTL_START_WAIT_MS) != 0) {
		ctl_err("storaged has not opened the blockchain within %d s; its log:",
		    CTL_START_WAIT_MS / 1000);
		ctl_log_tail(c, "storaged");
		failed++;
	}
	if (c->json) {
		j = json_object();
		for (i = 0; i < 3; i++)
			json_object_set_new(j, ctl_daemons[i],
			    json_string(ready[i] ? (pids[i] ? "started" : "running") : "failed"));
		ctl_json_print(json_pack("{s:s, s:o}", "dir", c->dir, "daemons", j));
	} else {
		for (i = 0; i < 3; i++)
			if (ready[i])
				printf("%-9s %s\n", ctl_daemons[i],
				    pids[i] ? "started" : "already running");
	}
	return failed ? 1 : 0;
}

/* Stops one daemon: IPC shutdown, then SIGTERM, then SIGKILL. */
static int
ctl_stop_one(struct ctl *c, const char *daemon, const char **what)
{
	struct ipc_status st;
	uint8_t *rep;
	size_t len;
	uint64_t start;
	pid_t pid;

	pid = ctl_lock_holder(c, daemon);
	if (ctl_status_of(c, daemon, &st, 1) == 0) {
		pid = (pid_t)st.pid;
		if (ctl_call_empty(c, daemon, IPC_SHUTDOWN, &rep, &len, 1) == 0)
			free(rep);
	} else if (pid > 0) {
		kill(pid, SIGTERM);
	} else {
		*what = "not running";
		return 0;
	}
	start = ctl_now_ms();
	while (ctl_now_ms() - start < CTL_STOP_WAIT_MS) {
		if (!ctl_pid_alive(pid) && ctl_lock_holder(c, daemon) == 0) {
			*what = "stopped";
			return 0;
		}
		ctl_sleep_ms(20);
		if (ctl_now_ms() - start > CTL_STOP_WAIT_MS / 2)
			kill(pid, SIGTERM);
	}
	kill(pid, SIGKILL);
	ctl_sleep_ms(200);
	if (ctl_pid_alive(pid)) {
		*what = "still running";
		return -1;
	}
	*what = "killed (did not stop in time)";
	return 0;
}

int
ctl_down(struct ctl *c, int argc, char **argv)
{
	const struct ctl_verb *v = ctl_find_verb("down");
	const char *what[3];
	int i, rc, failed = 0;
	json_t *j;

	if ((rc = ctl_verb_opts(c, v, argc, argv)) < 0)
		return rc == -2 ? 0 : 2;
	if (ctl_need_dir(c) == -1)
		return 1;
	for (i = 2; i >= 0; i--)
		if (ctl_stop_one(c, ctl_daemons[i], &what[i]) == -1)
			failed++;
	if (c->json) {
		j = json_object();
		for (i = 0; i < 3; i++)
			json_object_set_new(j, ctl_daemons[i], json_string(what[i]));
		ctl_json_print(json_pack("{s:s, s:o}", "dir", c->dir, "daemons", j));
	} else
		for (i = 2; i >= 0; i--)
			printf("%-9s %s\n", ctl_daemons[i], what[i]);
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

int
ctl_status(struct ctl *c, int argc, char **argv)
{
	const struct ctl_verb *v = ctl_find_verb("status");
	struct ipc_status st[3];
	int ok[3], i, k, rc, down = 0;
	char up[32], links[128];
	json_t *arr, *o, *la, *cnt;
	pid_t holder;

	if ((rc = ctl_verb_opts(c, v, argc, argv)) < 0)
		return rc == -2 ? 0 : 2;
	if (ctl_need_dir(c) == -1)
		return 1;
	for (i = 0; i < 3; i++) {
		ok[i] = ctl_status_of(c, ctl_daemons[i], &st[i], 1) == 0;
		down += !ok[i];
	}
	if (c->json) {
		arr = json_array();
		for (i = 0; i < 3; i++) {
			if (!ok[i]) {
				holder = ctl_lock_holder(c, ctl_daemons[i]);
				o = json_pack("{s:s, s:b, s:s}", "name", ctl_daemons[i],
				    "running", 0, "state", holder ? "not answering" : "stopped");
				if (holder > 0)
					json_object_set_new(o, "pid", json_integer(holder));
				json_array_append_new(arr, o);
				continue;
			}
			la = json_array();
			for (k = 0; k < st[i].nlinks; k++)
				json_array_append_new(la, json_pack("{s:s, s:s}",
				    "name", st[i].links[k].name,
				    "state", ctl_link_state(st[i].links[k].state)));
			o = json_pack(
			    "{s:s, s:b, s:s, s:I, s:I, s:I, s:s, s:s, s:o}",
			    "name", ctl_daemons[i], "running", 1, "state", "running",
			    "pid", (json_int_t)st[i].pid, "uid", (json_int_t)st[i].uid,
			    "uptime_ms", (json_int_t)st[i].uptime_ms,
			    "sandbox", st[i].sandbox, "version", st[i].version,
			    "links", la);
			if (strcmp(ctl_daemons[i], "storaged") == 0 &&
			    ctl_store_counters(c, &cnt) == 0)
				json_object_set_new(o, "counters", cnt);
			json_array_append_new(arr, o);
		}
		{
			json_t *net = NULL, *top;

			top = json_pack("{s:s, s:o}", "dir", c->dir, "daemons", arr);
			if (ok[2] && ctl_net_status(c, &net) == 0)
				json_object_set_new(top, "network", net);
			ctl_json_print(top);
		}
	} else {
		printf("node %s\n", c->dir);
		printf("%-9s %-14s %-8s %-6s %-8s %-34s %s\n", "DAEMON", "STATE", "PID",
		    "UID", "UPTIME", "SANDBOX", "LINKS");
		for (i = 0; i < 3; i++) {
			if (!ok[i]) {
				holder = ctl_lock_holder(c, ctl_daemons[i]);
				if (holder > 0)
					printf("%-9s %-14s %-8ld\n", ctl_daemons[i],
					    "not answering", (long)holder);
				else
					printf("%-9s %-14s\n", ctl_daemons[i], "stopped");
				continue;
			}
			ctl_fmt_duration(up, sizeof(up), st[i].uptime_ms);
			links[0] = '\0';
			for (k = 0; k < st[i].nlinks; k++) {
				char one[48];

				snprintf(one, sizeof(one), "%s%s:%s", k ? " " : "",
				    st[i].links[k].name, ctl_link_state(st[i].links[k].state));
				strlcat(links, one, sizeof(links));
			}
			printf("%-9s %-14s %-8u %-6u %-8s %-34s %s\n", ctl_daemons[i],
			    "running", st[i].pid, st[i].uid, up, st[i].sandbox, links);
		}
		for (i = 0; i < 3; i++)
			if (ok[i] && strcmp(ctl_daemons[i], "storaged") == 0)
				ctl_store_counters(c, NULL);
		if (ok[2])
			ctl_net_status(c, NULL);
	}
	for (i = 0; i < 3; i++)
		if (!ok[i]) {
			ctl_err("%s is not running for %s: start it with "
			    "'peernetctl -d %s up'", ctl_daemons[i], c->dir, c->dir);
			break;
		}
	return down ? 1 : 0;
}

int
ctl_reload(struct ctl *c, int argc, char **argv)
{
	const struct ctl_verb *v = ctl_find_verb("reload");
	uint8_t *rep;
	size_t len;
	int i, rc, failed = 0;

	if ((rc = ctl_verb_opts(c, v, argc, argv)) < 0)
		return rc == -2 ? 0 : 2;
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
ctl_probe(struct ctl *c, int argc, char **argv)
{
	const struct ctl_verb *v = ctl_find_verb("sandbox-probe");
	struct ipc_probe pr;
	uint8_t *rep;
	size_t len;
	int rc, first;

	if ((first = ctl_verb_opts(c, v, argc, argv)) < 0)
		return first == -2 ? 0 : 2;
	if (first != argc - 1) {
		ctl_verb_usage(v, 1);
		return 2;
	}
	if (ctl_need_dir(c) == -1)
		return 1;
	if (ctl_call_empty(c, argv[first], IPC_SANDBOX_PROBE, &rep, &len, 0) == -1)
		return 1;
	rc = ipc_probe_decode(rep, len, &pr);
	free(rep);
	if (rc != 0) {
		ctl_err("%s: malformed reply: %s", argv[first], ipc_decode_strerror(rc));
		return 1;
	}
	if (c->json)
		ctl_json_print(json_pack("{s:s, s:b, s:s, s:b, s:s}", "daemon", argv[first],
		    "inet_allowed", pr.inet_errno == 0,
		    "inet_error", pr.inet_errno ? strerror(pr.inet_errno) : "",
		    "unix_allowed", pr.unix_errno == 0,
		    "unix_error", pr.unix_errno ? strerror(pr.unix_errno) : ""));
	else {
		printf("%s: socket(AF_INET): %s\n", argv[first],
		    pr.inet_errno ? strerror(pr.inet_errno) : "allowed");
		printf("%s: socket(AF_UNIX): %s\n", argv[first],
		    pr.unix_errno ? strerror(pr.unix_errno) : "allowed");
	}
	return 0;
}
