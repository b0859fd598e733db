/*
 * peernetctl.c — argument parsing, the verb table, IPC helpers shared by verbs.
 */
#include <errno.h>
#include <getopt.h>
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
	{ "init", ctl_init, "[--listen ADDR:PORT]... [--root PUBKEY@ADDR:PORT]... [--no-lan] [--no-upnp] [--no-natpmp] [--user U] [--group G] [--force]",
	    "write a commented configuration into the node directory" },
	{ "up", ctl_up, "[--json]", "start the three daemons of the node and wait until they are ready" },
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
	{ "rm", ctl_rm, "[--json] ID|HASH", "stop sharing a file (by file ID or content hash)" },
	{ "mv", ctl_mv, "[--json] ID NEWNAME", "rename a shared file" },
	{ "cat", ctl_cat, "[--offset N] [--length N] HASH", "write a shared file's content to standard output" },
	{ "get", ctl_get, "[--json] HASH [--from NODEID] [-o FILE]",
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
	{ "search", ctl_search, "[--json] [--type T] [--from DATE] [--to DATE] [--min-size N] [--max-size N] [--sort S] [--limit N] [--timeout S] TERMS... | --reindex",
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
	    "  --timeout MS      how long to wait for a daemon's answer (default 5000)\n"
	    "  -h, --help        this help; 'peernetctl VERB --help' for a verb\n"
	    "  --version         print the version\n\nverbs:\n");
	for (v = ctl_verbs; v->name != NULL; v++)
		fprintf(f, "  %-14s %s\n", v->name, v->help);
}

void
ctl_err(const char *fmt, ...)
{
	va_list ap;

	fputs("peernetctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
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

void
ctl_json_print(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (s != NULL) {
		puts(s);
		free(s);
	}
	json_decref(j);
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

int
ctl_call(struct ctl *c, const char *daemon, const void *req, size_t len,
    uint8_t **rep, size_t *replen, int quiet)
{
	char path[PATH_MAX], err[512], reason[IPC_STR_MAX];
	struct ipc_hdr h;
	uint16_t status;
	int rc;

	if (ipc_path(path, sizeof(path), c->dir, daemon) == -1) {
		ctl_err("%s/run: path too long for a unix socket", c->dir);
		return -1;
	}
	rc = ipc_call(path, req, len, rep, replen, c->timeout_ms, err, sizeof(err));
	if (rc == IPC_CALL_NOT_RUNNING) {
		if (!quiet)
			ctl_err("%s is not running for %s: start it with "
			    "'peernetctl -d %s up'", daemon, c->dir, c->dir);
		return -1;
	}
	if (rc != 0) {
		if (!quiet)
			ctl_err("%s: %s", daemon, err);
		return -1;
	}
	if (ipc_hdr_decode(*rep, *replen, &h) != 0) {
		ctl_err("%s: malformed reply", daemon);
		goto fail;
	}
	if (h.status != IPC_OK) {
		if (ipc_error_decode(*rep, *replen, &status, reason, sizeof(reason)) != 0)
			strlcpy(reason, ipc_err_str(h.status), sizeof(reason));
		if (quiet < 2)
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
ctl_call_empty(struct ctl *c, const char *daemon, uint16_t type, uint8_t **rep,
    size_t *replen, int quiet)
{
	uint8_t req[IPC_HDR_LEN];

	ipc_empty_encode(req, sizeof(req), type, IPC_OK);
	return ctl_call(c, daemon, req, sizeof(req), rep, replen, quiet);
}

int
ctl_status_of(struct ctl *c, const char *daemon, struct ipc_status *st, int quiet)
{
	uint8_t *rep;
	size_t len;
	int rc;

	if (ctl_call_empty(c, daemon, IPC_STATUS, &rep, &len, quiet) == -1)
		return -1;
	rc = ipc_status_decode(rep, len, IPC_STATUS, st);
	free(rep);
	if (rc != 0) {
		ctl_err("%s: malformed status reply: %s", daemon, ipc_decode_strerror(rc));
		return -1;
	}
	return 0;
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
	const char *dir = getenv("PEERNET_DIR");
	char *end;
	long t;
	int ch;

	c.timeout_ms = 5000;
	/* '+': stop at the verb; its own options follow it. */
	while ((ch = getopt_long(argc, argv, "+d:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'j':
			c.json = 1;
			break;
		case 't':
			errno = 0;
			t = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || t < 10 || t > 3600000) {
				ctl_err("--timeout: expected milliseconds (10..3600000), got '%s'", optarg);
				return 2;
			}
			c.timeout_ms = (int)t;
			break;
		case 'h':
			ctl_usage(stdout);
			return 0;
		case 'V':
			printf("peernetctl %s\n", PEERNET_VERSION);
			return 0;
		default:
			ctl_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		ctl_usage(stderr);
		return 2;
	}
	if ((v = ctl_find_verb(argv[optind])) == NULL) {
		ctl_err("unknown verb '%s' (see 'peernetctl --help')", argv[optind]);
		return 2;
	}
	if (dir == NULL || *dir == '\0')
		dir = "/var/lib/peernet";
	/* Keep the path as given if it does not exist yet (init creates it). */
	if (realpath(dir, c.dir) == NULL)
		strlcpy(c.dir, dir, sizeof(c.dir));
	ctl_find_bindir(&c);
	return v->fn(&c, argc - optind, argv + optind);
}
