/*
 * peernetctl.c — argument parsing, the verb table, IPC helpers shared by verbs.
 */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "ipc.h"
#include "version.h"

const char *const ctl_daemons[3] = { "storaged", "searchd", "netd" };

static const struct ctl_verb ctl_verbs[] = {
	{ "init", ctl_init, "[--listen ADDR:PORT]... [--root PUBKEY@ADDR:PORT]... [--no-lan] [--no-upnp] [--no-natpmp] [--public] [--user U] [--group G] [--api ADDR:PORT]... [--api-key UUID|random] [--api-files-dir DIR] [--force | --if-missing]",
	    "write a commented configuration into the node directory" },
	{ "up", ctl_up, "[--json]", "start the three daemons of the node (and peernet-apid when api_listen is set) and wait until they are ready" },
	{ "down", ctl_down, "[--json]", "stop the daemons of the node and wait until they are gone" },
	{ "status", ctl_status, "[--json]", "show each daemon: running or not, pid, uid, uptime, sandbox, links" },
	{ "reload", ctl_reload, "[--json]", "make every daemon re-read what can be reloaded (like SIGHUP)" },
	{ "peers", ctl_peers, "[--json]", "the peer list: node ID, address, state, RTT, root, user agent" },
	{ "ping", ctl_ping, "[--json] NODEID", "ping a connected node; exit 1 when it does not answer" },
	{ "find", ctl_find, "[--json] NODEID", "look a node up in the DHT; exit 1 when not found" },
	{ "id", ctl_id, "[--json]", "print the node's public key (peer ID) and node ID" },
	{ "add", ctl_add, "[--json] [--name NAME] [--folder F] [--description D] "
	    "[--tag KEY=VALUE]... FILE...",
	    "share files: stream them into the warehouse and the own blockchain" },
	{ "ls", ctl_ls, "[--json]", "list the files this node shares" },
	{ "rm", ctl_rm, "[--json] ID|HASH", "stop sharing a file (by file ID or content hash); "
	    "a downloaded content by its hash" },
	{ "mv", ctl_mv, "[--json] ID NEWNAME", "rename a shared file" },
	{ "cat", ctl_cat, "[--json] [--offset N] [--length N] HASH", "write a shared file's content to standard output" },
	{ "get", ctl_get, "[--json] HASH [--from NODEID] [-o FILE|-] [--force]",
	    "download a file into the warehouse (and FILE) from NODEID, or from "
	    "the connected sharers searchd knows" },
	{ "transfers", ctl_transfers, "[--json] [NUMBER]",
	    "file transfers: number, role, state, peer, hash, progress, rate, ETA" },
	{ "pause", ctl_pause, "[--json] NUMBER", "pause a download (its verified part is kept)" },
	{ "resume", ctl_resume, "[--json] NUMBER", "resume a paused download from its verified part" },
	{ "cancel", ctl_cancel, "[--json] NUMBER", "cancel a transfer (a download's partial data is dropped)" },
	{ "probe", ctl_fprobe, "[--json] NODEID HASH",
	    "download a file into memory only: speed, and whether the hash matches" },
	{ "chain", ctl_chain, "[--json]", "the own blockchain: version, height, files" },
	{ "profile", ctl_profile, "[--json] get FIELD | set FIELD VALUE", "read or write a profile field" },
	{ "cache", ctl_cache, "[--json]", "the cache of other peers' blockchains: peers, blocks, bytes" },
	{ "search", ctl_search, "[--json] [--type T] [--from DATE] [--to DATE] [--min-size N] [--max-size N] [--sort S] [--limit N] [--timeout DURATION] TERMS... | --reindex",
	    "search the files of this node and of connected peers by keyword" },
	{ "reindex", ctl_reindex, "[--json]", "make searchd rebuild its index from storaged" },
	{ "verify", ctl_verify, "[--json]", "re-hash every file in the warehouse and check its merkle tree" },
	{ "sandbox-probe", ctl_probe, "[--json] DAEMON", "ask a daemon to try opening an AF_INET socket (sandbox check)" },
	{ NULL, NULL, NULL, NULL }
};

static void
ctl_usage(FILE *f)
{
	const struct ctl_verb *v;

	fprintf(f, "usage: peernetctl [-d DIR] [--json] [--timeout MS] VERB [ARGS]\n\n"
	    "  -d, --dir DIR     node directory (default: $PEERNET_DIR or /var/lib/peernet)\n"
	    "  --json            machine-readable output\n"
	    "  --timeout MS      bound the whole command (500, 500ms, 2s); without it each\n"
	    "                    request waits up to 5 s and add/get/verify run to the end\n"
	    "  -h, --help        this help; 'peernetctl VERB --help' for a verb\n"
	    "  --version         print the version\n\n"
	    "exit status: 0 done, 1 the operation failed, 2 usage error\n\nverbs:\n");
	for (v = ctl_verbs; v->name != NULL; v++)
		fprintf(f, "  %-14s %s\n", v->name, v->help);
}

static char ctl_first_err[1024];	/* for the JSON error object */
static json_t *ctl_pending;		/* the last JSON output, printed at the end */

void
ctl_err(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ctl_first_err[0] == '\0')
		strlcpy(ctl_first_err, msg, sizeof(ctl_first_err));
	/* Messages quote daemons' replies and names from the network. */
	fprintf(stderr, "peernetctl: %s\n", ts_str(msg));
}

int
ctl_usage_err(const struct ctl_verb *v, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctl_err("%s: %s", v->name, msg);
	ctl_verb_usage(v, 1);
	return CTL_EXIT_USAGE;
}

int
ctl_parse_ms(const char *s, long long *ms)
{
	char *end;
	long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || v > 100000000LL)
		return -1;
	if (*end == '\0' || strcmp(end, "ms") == 0)
		*ms = v;
	else if (strcmp(end, "s") == 0)
		*ms = v * 1000;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		*ms = v * 60000;
	else
		return -1;
	return 0;
}

json_t *
ctl_jstrn(const char *s, size_t len)
{
	char *b;
	json_t *j;

	if ((b = malloc(3 * len + 1)) == NULL)
		return json_string("");
	ts_utf8(b, 3 * len + 1, s, len);
	j = json_string(b);
	free(b);
	return j != NULL ? j : json_string("");
}

json_t *
ctl_jstr(const char *s)
{
	return ctl_jstrn(s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

/*
 * JSON escapes only C0 controls: DEL, the C1 controls (U+0080..U+009F),
 * the line separators and bidi overrides would reach a terminal that shows
 * the JSON raw.  They only occur inside strings (the structure is ASCII), so
 * they are rewritten as \uXXXX escapes on the way out.
 */
static void
ctl_json_put(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned cp;

	for (; *p != '\0'; p++) {
		if (*p == 0x7f)
			cp = 0x7f;
		else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			cp = p[1], p++;
		else if (p[0] == 0xe2 && ((p[1] == 0x80 && p[2] >= 0xa8 && p[2] <= 0xae) ||
		    (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)))
			cp = 0x2000 | ((p[1] & 0x3f) << 6) | (p[2] & 0x3f), p += 2;
		else {
			putchar(*p);
			continue;
		}
		printf("\\u%04x", cp);
	}
	putchar('\n');
}

static void
ctl_json_dump(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (s != NULL) {
		ctl_json_put(s);
		free(s);
	}
	json_decref(j);
}

void
ctl_json_print(json_t *j)
{
	if (ctl_pending != NULL)
		ctl_json_dump(ctl_pending);
	ctl_pending = j;
}

int
ctl_json_finish(struct ctl *c, const char *verb, int rc)
{
	const char *msg = ctl_first_err[0] ? ctl_first_err :
	    rc == CTL_EXIT_USAGE ? "usage error" : "failed";

	if (ctl_pending != NULL) {
		if (rc != 0 && json_is_object(ctl_pending) &&
		    json_object_get(ctl_pending, "error") == NULL) {
			json_object_set_new(ctl_pending, "error", ctl_jstr(msg));
			json_object_set_new(ctl_pending, "exit", json_integer(rc));
		}
		ctl_json_dump(ctl_pending);
		ctl_pending = NULL;
	} else if (rc != 0 && c->json)
		ctl_json_dump(json_pack("{s:o, s:s, s:i}", "error", ctl_jstr(msg),
		    "verb", verb != NULL ? verb : "", "exit", rc));
	return rc;
}

void
ctl_denied(struct ctl *c, const char *what)
{
	char run[PATH_MAX + 8], gname[64] = "peernet", user[64] = "USER";
	struct passwd *pw;
	struct group *gr;
	struct stat sb;

	snprintf(run, sizeof(run), "%s/run", c->dir);
	if ((stat(run, &sb) == 0 || stat(c->dir, &sb) == 0) &&
	    (gr = getgrgid(sb.st_gid)) != NULL && sb.st_gid != 0)
		strlcpy(gname, gr->gr_name, sizeof(gname));
	if ((pw = getpwuid(geteuid())) != NULL)
		strlcpy(user, pw->pw_name, sizeof(user));
	ctl_err("permission denied on %s: the node's sockets are for root, the "
	    "daemons' user and members of group '%s' (add yourself with 'usermod "
	    "-aG %s %s' and log in again; unless you own the node directory, "
	    "the daemons also need 'allow_uid = %u' in its peernet.conf)", what,
	    gname, gname, user, (unsigned)geteuid());
}

int
ctl_expired(const struct ctl *c)
{
	return c->deadline != 0 && loop_now_ms() >= c->deadline;
}

int
ctl_left_ms(const struct ctl *c, int cap)
{
	uint64_t now = loop_now_ms();

	if (c->deadline == 0)
		return cap;
	if (now >= c->deadline)
		return 0;
	return c->deadline - now < (uint64_t)cap ? (int)(c->deadline - now) : cap;
}

const struct ctl_verb *
ctl_find_verb(const char *name)
{
	const struct ctl_verb *v;

	for (v = ctl_verbs; v->name != NULL; v++)
		if (strcmp(v->name, name) == 0)
			return v;
	return NULL;
}

void
ctl_verb_usage(const struct ctl_verb *v, int to_stderr)
{
	FILE *f = to_stderr ? stderr : stdout;

	fprintf(f, "usage: peernetctl [-d DIR] %s %s\n  %s\n", v->name, v->usage, v->help);
}

int
ctl_verb_opts(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			c->json = 1;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			ctl_verb_usage(v, 0);
			return -2;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			ctl_err("%s: unknown option %s", v->name, argv[i]);
			ctl_verb_usage(v, 1);
			return -1;
		} else
			break;
	}
	return i;
}

int
ctl_verb_operands(struct ctl *c, const struct ctl_verb *v, int argc, char **argv,
    int n, int *first)
{
	if ((*first = ctl_verb_opts(c, v, argc, argv)) < 0)
		return *first == -2 ? 0 : CTL_EXIT_USAGE;
	if (argc - *first == n)
		return -1;
	if (n == 0)
		return ctl_usage_err(v, "unexpected argument '%s'", argv[*first]);
	ctl_verb_usage(v, 1);
	return CTL_EXIT_USAGE;
}

int
ctl_verb_no_operands(struct ctl *c, const struct ctl_verb *v, int argc,
    char **argv)
{
	int first;

	return ctl_verb_operands(c, v, argc, argv, 0, &first);
}

void
ctl_fmt_duration(char *out, size_t cap, uint64_t ms)
{
	uint64_t s = ms / 1000;

	if (s < 60)
		snprintf(out, cap, "%llu.%llus", (unsigned long long)s,
		    (unsigned long long)(ms % 1000) / 100);
	else if (s < 3600)
		snprintf(out, cap, "%llum%02llus", (unsigned long long)s / 60,
		    (unsigned long long)s % 60);
	else if (s < 86400)
		snprintf(out, cap, "%lluh%02llum", (unsigned long long)s / 3600,
		    (unsigned long long)(s % 3600) / 60);
	else
		snprintf(out, cap, "%llud%02lluh", (unsigned long long)s / 86400,
		    (unsigned long long)(s % 86400) / 3600);
}

static int
ctl_call_wait(struct ctl *c, const char *daemon, const void *req, size_t len,
    uint8_t **rep, size_t *replen, int quiet, int wait_ms)
{
	char path[PATH_MAX], err[512], reason[IPC_STR_MAX];
	struct ipc_hdr h;
	uint64_t start = loop_now_ms();
	uint16_t status;
	int rc, sys_errno, wait = ctl_left_ms(c, wait_ms);

	*rep = NULL;
	if (ipc_path(path, sizeof(path), c->dir, daemon) == -1) {
		ctl_err("%s/run: path too long for a unix socket", c->dir);
		c->last_err = CTL_E_ERROR;
		return -1;
	}
	if (wait == 0) {
		c->last_err = CTL_E_TIMEOUT;
		if (!quiet)
			ctl_err("%s: no time left (--timeout %d ms)", daemon, c->timeout_ms);
		return -1;
	}
	rc = ctl_ipc_call(path, req, len, rep, replen, start + (uint64_t)wait,
	    &sys_errno, err, sizeof(err));
	if (rc != 0) {
		c->last_err = rc;
		if (quiet)
			return -1;
		if (rc == CTL_E_DOWN)
			ctl_err("%s is not running for %s: start it with "
			    "'peernetctl -d %s up'", daemon, c->dir, c->dir);
		else if (rc == CTL_E_DENIED)
			ctl_denied(c, path);
		else if (rc == CTL_E_TIMEOUT)
			ctl_err("%s did not answer within %d ms: it is hung, stopped or "
			    "overloaded ('peernetctl -d %s status' shows it, 'down' "
			    "stops it)", daemon, wait, c->dir);
		else
			ctl_err("%s: %s", daemon, err);
		return -1;
	}
	if (ipc_hdr_decode(*rep, *replen, &h) != 0) {
		ctl_err("%s: malformed reply", daemon);
		c->last_err = CTL_E_ERROR;
		goto fail;
	}
	if (h.status != IPC_OK) {
		if (ipc_error_decode(*rep, *replen, &status, reason, sizeof(reason)) != 0)
			strlcpy(reason, ipc_err_str(h.status), sizeof(reason));
		c->last_err = h.status == IPC_ERR_DENIED ? CTL_E_UID : CTL_E_REFUSED;
		if (quiet < 2 && h.status == IPC_ERR_DENIED)
			/* The socket let us in (group), the daemon's uid list did not. */
			ctl_err("%s refused the request: %s (as root, add 'allow_uid = "
			    "%u' under [node] in %s/peernet.conf, then 'peernetctl -d %s "
			    "reload')", daemon, reason, (unsigned)geteuid(), c->dir, c->dir);
		else if (quiet < 2)
			ctl_err("%s refused the request: %s", daemon, reason);
		goto fail;
	}
	return 0;
fail:
	free(*rep);
	*rep = NULL;
	return -1;
}

int
ctl_call(struct ctl *c, const char *daemon, const void *req, size_t len,
    uint8_t **rep, size_t *replen, int quiet)
{
	return ctl_call_wait(c, daemon, req, len, rep, replen, quiet, c->timeout_ms);
}

int
ctl_call_grace(struct ctl *c, const char *daemon, const void *req, size_t len,
    uint8_t **rep, size_t *replen)
{
	uint64_t saved = c->deadline;
	int rc;

	c->deadline = 0;
	rc = ctl_call_wait(c, daemon, req, len, rep, replen, 2, CTL_GRACE_MS);
	c->deadline = saved;
	return rc;
}

int
ctl_call_slow(struct ctl *c, const char *daemon, const void *req, size_t len,
    uint8_t **rep, size_t *replen, int quiet)
{
	return ctl_call_wait(c, daemon, req, len, rep, replen, quiet,
	    c->timeout_given ? c->timeout_ms : CTL_SLOW_MS);
}

int
ctl_call_empty(struct ctl *c, const char *daemon, uint16_t type, uint8_t **rep,
    size_t *replen, int quiet)
{
	uint8_t req[IPC_HDR_LEN];

	ipc_empty_encode(req, sizeof(req), type, IPC_OK);
	return ctl_call(c, daemon, req, sizeof(req), rep, replen, quiet);
}

int
ctl_verb_ask(struct ctl *c, const struct ctl_verb *v, int argc, char **argv,
    const char *daemon, uint16_t type, uint8_t **rep, size_t *replen)
{
	int rc;

	if ((rc = ctl_verb_no_operands(c, v, argc, argv)) >= 0)
		return rc;
	return ctl_call_empty(c, daemon, type, rep, replen, 0) == -1 ? CTL_EXIT_FAIL : -1;
}

int
ctl_reply_decoded(uint8_t *rep, int rc, const char *verb, const char *daemon)
{
	free(rep);
	if (rc == 0)
		return 0;
	ctl_err("%s: malformed reply from %s: %s", verb, daemon, ipc_decode_strerror(rc));
	return -1;
}

int
ctl_status_of(struct ctl *c, const char *daemon, struct ipc_status *st, int quiet)
{
	uint8_t *rep;
	size_t len;

	if (ctl_call_empty(c, daemon, IPC_STATUS, &rep, &len, quiet) == -1)
		return -1;
	return ctl_reply_decoded(rep, ipc_status_decode(rep, len, IPC_STATUS, st), "status",
	    daemon);
}

/* 0 when DIR holds an executable peernet-netd. */
static int
ctl_dir_has_netd(const char *dir)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/peernet-netd", dir) >= (int)sizeof(path))
		return -1;
	return access(path, X_OK);
}

static void
ctl_find_bindir(struct ctl *c)
{
	const char *env = getenv("PEERNET_BIN");
	char *slash;
	ssize_t n;

	if (env != NULL && *env != '\0') {
		strlcpy(c->bindir, env, sizeof(c->bindir));
		return;
	}
	/* The daemons are installed next to peernetctl. */
	n = readlink("/proc/self/exe", c->bindir, sizeof(c->bindir) - 1);
	if (n <= 0) {
		strlcpy(c->bindir, "/usr/local/bin", sizeof(c->bindir));
		return;
	}
	c->bindir[n] = '\0';
	if ((slash = strrchr(c->bindir, '/')) != NULL)
		*slash = '\0';
	/*
	 * A build tree keeps the daemons next to peernetctl; an installation
	 * puts them in PREFIX/sbin beside PREFIX/bin.
	 */
	if (ctl_dir_has_netd(c->bindir) != 0 && (slash = strrchr(c->bindir, '/')) != NULL) {
		char sbin[sizeof(c->bindir)];

		*slash = '\0';
		if (snprintf(sbin, sizeof(sbin), "%s/sbin", c->bindir) < (int)sizeof(sbin) &&
		    ctl_dir_has_netd(sbin) == 0)
			strlcpy(c->bindir, sbin, sizeof(c->bindir));
		else
			*slash = '/';
	}
}

/*
 * Every verb but init needs an existing node directory: say what is wrong
 * with -d rather than "netd is not running".
 */
static int
ctl_check_dir(struct ctl *c, const char *given)
{
	struct stat sb;

	if (stat(c->dir, &sb) == -1) {
		if (errno == EACCES) {
			ctl_denied(c, given);
			return CTL_EXIT_FAIL;
		}
		if (errno == ENOENT)
			ctl_err("node directory %s does not exist: create it with "
			    "'peernetctl -d %s init'", given, given);
		else
			ctl_err("node directory %s: %s", given, strerror(errno));
		return CTL_EXIT_FAIL;
	}
	if (!S_ISDIR(sb.st_mode)) {
		ctl_err("%s is not a directory: -d names a node directory "
		    "(see 'peernetctl init')", given);
		return CTL_EXIT_FAIL;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	static struct ctl c;
	const struct ctl_verb *v;
	const char *dir = getenv("PEERNET_DIR"), *bad = NULL;
	long long t;
	int ch, rc, dir_given = 0;

	c.timeout_ms = 5000;
	opterr = 0;	/* our own messages, escaped, counted as usage errors */
	/* '+': stop at the verb; its own options follow it. */
	while ((ch = getopt_long(argc, argv, "+d:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			dir_given = 1;
			break;
		case 'j':
			c.json = 1;
			break;
		case 't':
			if (ctl_parse_ms(optarg, &t) != 0 || t < 10 || t > 3600000) {
				ctl_err("--timeout: expected a duration of 10 ms to 1 h "
				    "(500, 500ms, 2s, 1m), got '%s'", optarg);
				return ctl_json_finish(&c, NULL, CTL_EXIT_USAGE);
			}
			c.timeout_ms = (int)t;
			c.timeout_given = 1;
			break;
		case 'h':
			ctl_usage(stdout);
			return 0;
		case 'V':
			printf("peernetctl %s\n", PEERNET_VERSION);
			return 0;
		default:
			/* a --json later on the line still wants the error object */
			for (ch = optind; ch < argc && strcmp(argv[ch], "--") != 0; ch++)
				if (strcmp(argv[ch], "--json") == 0)
					c.json = 1;
			bad = argv[optind - 1];
			ctl_err("unknown or incomplete option '%s'", bad);
			ctl_usage(stderr);
			return ctl_json_finish(&c, NULL, CTL_EXIT_USAGE);
		}
	}
	/* The whole verb is bounded from here: hung daemons included. */
	if (c.timeout_given)
		c.deadline = loop_now_ms() + (uint64_t)c.timeout_ms;
	if (optind >= argc) {
		ctl_err("no verb given");
		ctl_usage(stderr);
		return ctl_json_finish(&c, NULL, CTL_EXIT_USAGE);
	}
	if ((v = ctl_find_verb(argv[optind])) == NULL) {
		ctl_err("unknown verb '%s' (see 'peernetctl --help')", argv[optind]);
		return ctl_json_finish(&c, NULL, CTL_EXIT_USAGE);
	}
	if (dir_given && *dir == '\0') {
		ctl_err("-d: empty node directory name (the default is "
		    "/var/lib/peernet: leave -d out for it)");
		return ctl_json_finish(&c, v->name, CTL_EXIT_USAGE);
	}
	if (dir == NULL || *dir == '\0')
		dir = "/var/lib/peernet";
	/*
	 * Keep the path as given if it does not exist yet (init creates it),
	 * made absolute: the daemons and the reachability check need that.
	 */
	if (realpath(dir, c.dir) == NULL) {
		char cwd[PATH_MAX];

		if (dir[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL &&
		    snprintf(c.dir, sizeof(c.dir), "%s/%s", cwd, dir) < (int)sizeof(c.dir))
			;
		else
			strlcpy(c.dir, dir, sizeof(c.dir));
	}
	ctl_find_bindir(&c);
	/* --help of a verb needs no node. */
	for (ch = optind + 1; ch < argc; ch++)
		if (strcmp(argv[ch], "--help") == 0 || strcmp(argv[ch], "-h") == 0)
			return v->fn(&c, v, argc - optind, argv + optind);
	if (strcmp(v->name, "init") != 0 && (rc = ctl_check_dir(&c, dir)) != 0) {
		for (ch = optind + 1; ch < argc; ch++)
			if (strcmp(argv[ch], "--json") == 0)
				c.json = 1;
		return ctl_json_finish(&c, v->name, rc);
	}
	rc = v->fn(&c, v, argc - optind, argv + optind);
	rc = ctl_json_finish(&c, v->name, rc);
	if (fflush(stdout) == EOF && rc == 0) {
		ctl_err("standard output: %s", strerror(errno));
		rc = CTL_EXIT_FAIL;
	}
	return rc;
}
