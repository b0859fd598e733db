/*
 * ctl_get.c — `peernetctl get HASH [--from NODEID] [-o FILE]`: download a
 * file from a connected node (docs/protocol.md §9.3) into the warehouse.
 *
 * Without --from, get locates the sharers itself: searchd lists the owners
 * of records with that content hash (its index holds the own chain and the
 * cached chains of peers: IPC_SHARERS), netd's peer list says which are
 * connected, and those are tried one after the other (lowest RTT first)
 * until one download completes.  A DHT find-value on the hash is not used:
 * version 0 nodes do not store file hashes in the DHT.  netd runs
 * the transfer and storaged refuses data that does not hash to HASH; ctl
 * follows the transfer with IPC_TRANSFERS every 200 ms (a progress bar on a
 * terminal) and, with -o, reads the content back from storaged and writes
 * FILE itself (temp file, fsync, rename), hashing it once more on the way.
 *
 * An interrupted download (netd or storaged killed, the peer gone, `get`
 * interrupted) leaves its verified prefix with storaged: `get` of the same
 * hash again continues from there (netd asks storaged, then requests the
 * rest at that offset).  While the transfer is paused (`peernetctl pause`),
 * get keeps waiting.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blake3.h"
#include "ctl.h"
#include "hex.h"
#include "ipc.h"

#define GET_POLL_MS	200
#define GET_POLL_MIN_MS	10
#define GET_STALL_MS	120000	/* no progress for this long: give up waiting */
#define GET_CHUNK	(1024 * 1024 - 64)

static uint8_t get_buf[256];

static void
get_progress(const struct ipc_xfer_info *x, int final)
{
	char d[32], t[32], r[32];
	int pct = x->total ? (int)(x->done * 100 / x->total) : (final ? 100 : 0), i;

	ctl_human(d, sizeof(d), (double)x->done);
	ctl_human(t, sizeof(t), (double)x->total);
	ctl_human(r, sizeof(r), (double)x->rate);
	fprintf(stderr, "\r%-9s [", ipc_xfer_state_name(x->state));
	for (i = 0; i < 25; i++)
		fputc(i < pct / 4 ? '#' : '.', stderr);
	fprintf(stderr, "] %3d%% %s/%s %s/s ", pct, d, t, r);
	if (final)
		fputc('\n', stderr);
}

/* The transfer `number` as netd reports it; 1, 0 if netd no longer lists it, -1. */
/*
 * How long to wait before asking again: GET_POLL_MS, finer near the end
 * (half the time the rest should take at the current rate, and while
 * storaged commits), so that get returns within ~10 ms of the download
 * ending rather than up to 200 ms later: a benchmark times get.  Finer at
 * the start too (as long as the get has taken so far, from 10 ms): a
 * small file arrives in tens of ms, and a first look only after 200 ms
 * made every get of one take 0.21 s.
 */
static unsigned
get_poll_ms(const struct ipc_xfer_info *x, uint64_t elapsed_ms)
{
	uint64_t eta, most = elapsed_ms < GET_POLL_MS ? elapsed_ms : GET_POLL_MS;

	if (most < GET_POLL_MIN_MS)
		most = GET_POLL_MIN_MS;
	if (x->state == IPC_XFER_STORING)
		return GET_POLL_MIN_MS;
	if (x->rate == 0 || x->done >= x->total)
		return (unsigned)most;
	eta = (x->total - x->done) * 1000 / x->rate;
	if (eta / 2 >= most)
		return (unsigned)most;
	return eta / 2 < GET_POLL_MIN_MS ? GET_POLL_MIN_MS : (unsigned)(eta / 2);
}

static int
get_poll(struct ctl *c, uint32_t number, struct ipc_xfer_info *x)
{
	struct ipc_xfer_list l;
	uint8_t *rep;
	size_t replen;
	long n;
	int rc, found = 0;

	n = ipc_u32_encode(get_buf, sizeof(get_buf), IPC_TRANSFERS, number);
	if (ctl_call(c, "netd", get_buf, (size_t)n, &rep, &replen, 0) == -1)
		return -1;
	if ((rc = ipc_xfer_list_decode(rep, replen, &l)) != 0) {
		ctl_err("get: malformed transfers reply: %s", ipc_decode_strerror(rc));
		free(rep);
		return -1;
	}
	while (ipc_xfer_list_next(&l, x) == 1)
		if (x->number == number && x->role == IPC_XFER_DOWNLOAD) {
			found = 1;
			break;
		}
	free(rep);
	return found;
}

/* Is the content in the warehouse already: 1 (and its size), 0, or -1; a kept prefix. */
static int
get_stat(struct ctl *c, const uint8_t hash[32], uint64_t *size, uint64_t *partial,
    uint64_t *partial_size)
{
	struct ipc_xstat_req q;
	struct ipc_xstat_rep r;
	uint8_t *rep;
	size_t replen;
	long n;

	memcpy(q.hash, hash, 32);
	q.flags = IPC_XSTAT_F_PARTIAL;	/* netd has it checked when it starts */
	n = ipc_xstat_req_encode(get_buf, sizeof(get_buf), &q);
	if (ctl_call(c, "storaged", get_buf, (size_t)n, &rep, &replen, 0) == -1)
		return -1;
	if (ctl_reply_decoded(rep, ipc_xstat_rep_decode(rep, replen, &r),
	    "get", "storaged") != 0)
		return -1;
	*size = r.size;
	*partial = r.partial;
	*partial_size = r.partial_size;
	return r.present;
}

/*
 * Writes the stored content to path (a temp file next to it, then into
 * place), checking its BLAKE3 against hash on the way; path "-" is
 * standard output.  An existing path is replaced only with force (keeping
 * its mode); a new file gets 0666 less the umask, as any file a user makes.
 */
static int
get_write(struct ctl *c, const uint8_t hash[32], uint64_t size, const char *path,
    int force)
{
	static uint8_t req[128];
	char tmp[PATH_MAX], dir[PATH_MAX], hex[65];
	struct ipc_read rd;
	struct ipc_data d;
	struct stat sb;
	blake3_hasher h;
	uint8_t got[32], *rep;
	uint64_t off = 0;
	size_t replen, w;
	ssize_t k;
	mode_t mask, mode;
	long n;
	int fd, dfd, rc, to_stdout = strcmp(path, "-") == 0, existed;

	tmp[0] = '\0';
	if (to_stdout)
		fd = STDOUT_FILENO;
	else {
		strlcpy(dir, path, sizeof(dir));
		if (snprintf(tmp, sizeof(tmp), "%s/.peernet-get.XXXXXX", dirname(dir)) >=
		    (int)sizeof(tmp)) {
			ctl_err("get: %s: path too long", path);
			return -1;
		}
		if ((fd = mkstemp(tmp)) == -1) {
			ctl_err("get: cannot create a file next to %s: %s", path,
			    strerror(errno));
			return -1;
		}
	}
	blake3_hasher_init(&h);
	while (off < size) {
		memset(&rd, 0, sizeof(rd));
		memcpy(rd.hash, hash, 32);
		rd.offset = off;
		rd.len = size - off > GET_CHUNK ? GET_CHUNK : (uint32_t)(size - off);
		n = ipc_read_encode(req, sizeof(req), IPC_CAT, &rd);
		if (ctl_call(c, "storaged", req, (size_t)n, &rep, &replen, 0) == -1)
			goto fail;
		rc = ipc_data_decode(rep, replen, IPC_CAT, &d);
		if (rc != 0 || d.len == 0 || d.len > rd.len) {
			free(rep);
			ctl_err("get: storaged returned %s", rc != 0 ? "a malformed reply" :
			    "fewer bytes than the file holds");
			goto fail;
		}
		blake3_hasher_update(&h, d.bytes, d.len);
		for (w = 0; w < d.len; w += (size_t)k)
			if ((k = write(fd, d.bytes + w, d.len - w)) <= 0) {
				free(rep);
				ctl_err("get: %s: %s", to_stdout ? "standard output" : tmp,
				    strerror(errno));
				goto fail;
			}
		off += d.len;
		free(rep);
	}
	blake3_hasher_finalize(&h, got, 32);
	if (memcmp(got, hash, 32) != 0) {
		hex_encode(hex, got, 32);
		ctl_err("get: the stored data hashes to %s: not written", hex);
		goto fail;
	}
	if (to_stdout)
		return 0;
	existed = lstat(path, &sb) == 0;
	if (existed && !force) {
		ctl_err("get: %s exists: not overwritten (--force replaces it)", path);
		goto fail;
	}
	mask = umask(0);
	umask(mask);
	mode = existed && S_ISREG(sb.st_mode) ? sb.st_mode & 07777 : 0666 & ~mask;
	if (fchmod(fd, mode) == -1 || fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		ctl_err("get: %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	/* Without --force, link() refuses a file that appeared meanwhile. */
	if (!force) {
		if (link(tmp, path) == -1) {
			if (errno == EEXIST) {
				ctl_err("get: %s exists: not overwritten (--force "
				    "replaces it)", path);
				goto fail;
			}
			if (rename(tmp, path) == -1) {
				ctl_err("get: cannot rename to %s: %s", path,
				    strerror(errno));
				goto fail;
			}
		} else
			unlink(tmp);
	} else if (rename(tmp, path) == -1) {
		ctl_err("get: cannot rename to %s: %s", path, strerror(errno));
		goto fail;
	}
	strlcpy(dir, path, sizeof(dir));
	if ((dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	if (to_stdout)
		return -1;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return -1;
}

/* Cancels a transfer get stops waiting for (best effort, quiet). */
static void
get_cancel(struct ctl *c, uint32_t number)
{
	struct ipc_xfer_ctl xc;
	uint8_t *rep;
	size_t replen;
	long n;

	xc.number = number;
	xc.op = IPC_XFER_CANCEL;
	n = ipc_xfer_ctl_encode(get_buf, sizeof(get_buf), &xc);
	if (n > 0 && ctl_call_grace(c, "netd", get_buf, (size_t)n, &rep, &replen) == 0)
		free(rep);
}

/*
 * One download from q->node_id, followed to its end: 0 done (x filled),
 * 1 this node could not serve it (the reason was printed and is in err),
 * -1 netd is unusable.  A stalled transfer is cancelled when `cancel`.
 */
static int
get_download(struct ctl *c, const struct ipc_get_req *q, int tty, int cancel,
    struct ipc_xfer_info *x, uint32_t *number, char *err, size_t errlen)
{
	uint8_t *rep;
	size_t replen;
	uint64_t began, last_change, last_done = 0;
	long n;
	int rc;

	memset(x, 0, sizeof(*x));
	n = ipc_get_req_encode(get_buf, sizeof(get_buf), q);
	if (ctl_call(c, "netd", get_buf, (size_t)n, &rep, &replen, 0) == -1) {
		snprintf(err, errlen, "netd refused the download");
		return 1;
	}
	if (ctl_reply_decoded(rep, ipc_u32_decode(rep, replen, IPC_GET, number),
	    "get", "netd") != 0)
		return -1;
	began = last_change = loop_now_ms();
	for (;;) {
		if ((rc = get_poll(c, *number, x)) == -1)
			return -1;
		if (rc == 0) {
			ctl_err("get: netd no longer knows transfer %u", *number);
			return -1;
		}
		if (x->state == IPC_XFER_DONE || x->state == IPC_XFER_FAILED)
			break;
		if (x->done != last_done || x->state == IPC_XFER_PAUSED) {
			last_done = x->done;
			last_change = loop_now_ms();
		} else if (loop_now_ms() - last_change > GET_STALL_MS) {
			if (tty)
				fputc('\n', stderr);
			ctl_err("get: no progress for %d s: giving up waiting",
			    GET_STALL_MS / 1000);
			snprintf(err, errlen, "no progress for %d s",
			    GET_STALL_MS / 1000);
			if (cancel)
				get_cancel(c, *number);
			return 1;
		}
		if (tty)
			get_progress(x, 0);
		if (ctl_expired(c)) {
			if (tty)
				fputc('\n', stderr);
			ctl_err("get: --timeout of %d ms reached: transfer %u goes on "
			    "('peernetctl transfers %u'; get again waits for it)",
			    c->timeout_ms, *number, *number);
			snprintf(err, errlen, "--timeout reached");
			return -1;
		}
		ctl_sleep_ms(ctl_left_ms(c, (int)get_poll_ms(x, loop_now_ms() - began)));
	}
	if (tty)
		get_progress(x, 1);
	if (x->state == IPC_XFER_FAILED) {
		ctl_err("get: download failed: %s", x->error);
		snprintf(err, errlen, "%s", x->error);
		return 1;
	}
	return 0;
}

/* A connected sharer: its node ID and round-trip time (0: not measured). */
struct get_cand {
	uint8_t		node_id[32];
	uint32_t	rtt_ms;
};

/*
 * The connected sharers of the content, lowest RTT first (unmeasured
 * last, else searchd's order): 0 and *ncand (maybe 0), or -1 with the
 * message printed (and put in err).  *known: sharers searchd knows.
 */
static int
get_locate(struct ctl *c, const uint8_t hash[32], struct get_cand *cand,
    size_t *ncand, uint32_t *known, char *err, size_t errlen)
{
	static struct ipc_sharers sh;
	static struct ipc_peer p;
	struct ipc_sharers_req q;
	struct ipc_peer_list l;
	struct get_cand t;
	uint8_t *rep;
	size_t replen, i, j;
	char hex[65];
	long n;
	int rc;

	*ncand = 0;
	*known = 0;
	hex_encode(hex, hash, 32);
	memcpy(q.hash, hash, 32);
	n = ipc_sharers_req_encode(get_buf, sizeof(get_buf), &q);
	if (ctl_call(c, "searchd", get_buf, (size_t)n, &rep, &replen, 0) == -1) {
		snprintf(err, errlen, "searchd cannot list the sharers");
		return -1;
	}
	rc = ipc_sharers_decode(rep, replen, &sh);
	free(rep);
	if (rc != 0 || memcmp(sh.hash, hash, 32) != 0) {
		ctl_err("get: malformed sharers reply from searchd: %s",
		    rc ? ipc_decode_strerror(rc) : "another hash");
		snprintf(err, errlen, "malformed sharers reply");
		return -1;
	}
	*known = sh.total;
	if (sh.count == 0) {
		snprintf(err, errlen, "no known sharer of %s: search for it first "
		    "or give --from NODEID", hex);
		ctl_err("get: %s", err);
		return -1;
	}
	if (ctl_call_empty(c, "netd", IPC_PEERS, &rep, &replen, 0) == -1) {
		snprintf(err, errlen, "netd cannot list the peers");
		return -1;
	}
	if ((rc = ipc_peer_list_decode(rep, replen, &l)) != 0) {
		free(rep);
		ctl_err("get: malformed peer list from netd: %s",
		    ipc_decode_strerror(rc));
		snprintf(err, errlen, "malformed peer list");
		return -1;
	}
	while (ipc_peer_list_next(&l, &p) == 1) {
		if (!p.active)
			continue;
		for (i = 0; i < sh.count; i++)
			if (memcmp(sh.sharers[i].pubkey, p.pubkey, 33) == 0)
				break;
		if (i == sh.count)
			continue;
		/* netd lists a peer once; keep searchd's order among equals */
		memcpy(cand[*ncand].node_id, sh.sharers[i].node_id, 32);
		cand[*ncand].rtt_ms = p.rtt_ms ? p.rtt_ms : UINT32_MAX;
		if (++*ncand == IPC_SHARERS_MAX)
			break;
	}
	free(rep);
	/* insertion sort by RTT: at most IPC_SHARERS_MAX entries */
	for (i = 1; i < *ncand; i++) {
		t = cand[i];
		for (j = i; j > 0 && cand[j - 1].rtt_ms > t.rtt_ms; j--)
			cand[j] = cand[j - 1];
		cand[j] = t;
	}
	if (*ncand == 0) {
		snprintf(err, errlen, "%u known sharer%s of %s, none connected: "
		    "try again later or give --from NODEID", sh.total,
		    sh.total == 1 ? "" : "s", hex);
		ctl_err("get: %s", err);
		return -1;
	}
	return 0;
}

int
ctl_get(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	static struct get_cand cand[IPC_SHARERS_MAX];
	const char *hashs = NULL, *from = NULL, *out = NULL;
	FILE *info;	/* human messages: stderr when the data goes to stdout */
	int force = 0;
	struct ipc_get_req q;
	struct ipc_xfer_info x;
	uint64_t start, size = 0, partial = 0, psize = 0;
	uint32_t number = 0, known = 0;
	size_t ncand = 0, k;
	char hs[32], rs[32], hex[65], node[65], err[IPC_STR_MAX + 64];
	int i, rc, tty, present, located = 0;
	double secs;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			c->json = 1;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			ctl_verb_usage(v, 0);
			return 0;
		} else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = argv[++i];
		else if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) &&
		    i + 1 < argc)
			out = argv[++i];
		else if (strcmp(argv[i], "--force") == 0 || strcmp(argv[i], "-f") == 0)
			force = 1;
		else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			ctl_err("get: unknown or incomplete option '%s'", argv[i]);
			ctl_verb_usage(v, 1);
			return 2;
		} else if (hashs == NULL)
			hashs = argv[i];
		else {
			ctl_err("get: one hash at a time");
			return 2;
		}
	}
	if (hashs == NULL) {
		ctl_err("get: no hash given");
		ctl_verb_usage(v, 1);
		return 2;
	}
	if (strlen(hashs) != 64 || hex_decode(q.hash, 32, hashs) != 32) {
		ctl_err("get: '%s' is not a 64-digit hex hash", hashs);
		return 2;
	}
	if (from != NULL && (strlen(from) != 64 ||
	    hex_decode(q.node_id, 32, from) != 32)) {
		ctl_err("get: '%s' is not a 64-digit hex node ID", from);
		return 2;
	}
	if (out != NULL && out[0] == '\0')
		return ctl_usage_err(v, "-o: empty file name ('-' is standard output)");
	if (out != NULL && strcmp(out, "-") == 0 && c->json)
		return ctl_usage_err(v, "-o - writes the content to standard output: "
		    "not with --json");
	/* Refuse before downloading anything, and again when writing. */
	if (out != NULL && strcmp(out, "-") != 0 && !force) {
		struct stat sb;

		if (lstat(out, &sb) == 0) {
			ctl_err("get: %s exists: not overwritten (--force replaces it)",
			    out);
			return 1;
		}
	}
	info = out != NULL && strcmp(out, "-") == 0 ? stderr : stdout;
	hex_encode(hex, q.hash, 32);
	tty = isatty(STDERR_FILENO) && !c->json;
	start = loop_now_ms();
	if ((present = get_stat(c, q.hash, &size, &partial, &psize)) == -1)
		return 1;
	memset(&x, 0, sizeof(x));
	if (!present && from == NULL &&
	    get_locate(c, q.hash, cand, &ncand, &known, err, sizeof(err)) == -1) {
		if (c->json)
			ctl_json_print(json_pack("{s:s, s:b, s:o, s:I}", "hash", hex,
			    "ok", 0, "error", ctl_jstr(err), "sharers", (json_int_t)known));
		return 1;
	}
	if (!present && psize != 0 && !c->json) {
		ctl_human(hs, sizeof(hs), (double)partial);
		ctl_human(rs, sizeof(rs), (double)psize);
		fprintf(stderr, "a verified part of %s of %s is kept: continuing from it\n",
		    hs, rs);
	}
	if (!present && from != NULL) {
		if ((rc = get_download(c, &q, tty, 0, &x, &number, err,
		    sizeof(err))) != 0) {
			if (rc == 1 && x.state == IPC_XFER_FAILED && c->json)
				ctl_json_print(json_pack("{s:s, s:b, s:o}", "hash", hex,
				    "ok", 0, "error", ctl_jstr(x.error)));
			return 1;
		}
		size = x.total;
	} else if (!present) {
		/* the first connected sharer whose download completes wins */
		for (k = 0, rc = 1; k < ncand && rc == 1; k++) {
			memcpy(q.node_id, cand[k].node_id, 32);
			hex_encode(node, q.node_id, 32);
			if (!c->json)
				fprintf(stderr, "getting %.16s from %.16s (sharer %zu of "
				    "%zu connected)\n", hex, node, k + 1, ncand);
			rc = get_download(c, &q, tty, 1, &x, &number, err, sizeof(err));
		}
		if (rc != 0) {
			if (c->json)
				ctl_json_print(json_pack("{s:s, s:b, s:o, s:I, s:I}",
				    "hash", hex, "ok", 0, "error", ctl_jstr(rc == -1 ? "netd "
				    "failed" : err), "sharers", (json_int_t)known,
				    "tried", (json_int_t)k));
			if (rc == 1)
				ctl_err("get: none of the %zu connected sharer%s could "
				    "serve %s", ncand, ncand == 1 ? "" : "s", hex);
			return 1;
		}
		from = node;
		located = 1;
		size = x.total;
	}
	if (out != NULL && get_write(c, q.hash, size, out, force) == -1)
		return 1;
	secs = (double)(loop_now_ms() - start) / 1000.0;
	if (c->json) {
		json_t *o = json_pack("{s:s, s:b, s:o, s:I, s:b, s:b, s:f, s:I, s:I, s:I, "
		    "s:I, s:I, s:I}",
		    "hash", hex, "ok", 1,
		    "from", from != NULL ? json_string(from) : json_null(),
		    "size", (json_int_t)size,
		    "hash_verified", 1, "already_stored", present, "seconds", secs,
		    "rate", (json_int_t)(present ? 0 : x.rate),
		    "transfer", (json_int_t)(present ? 0 : number),
		    "resumed_from", (json_int_t)(present ? 0 : x.offset),
		    "fetched", (json_int_t)(present ? 0 : x.done - x.offset),
		    "bad_fragments", (json_int_t)x.bad_fragments,
		    "restarts", (json_int_t)x.restarts);
		if (!present)
			json_object_set_new(o, "verified", json_string(
			    x.flags & IPC_XFER_F_FRAGMENTS ? "fragments" : "file"));
		if (out != NULL)
			json_object_set_new(o, "file", ctl_jstr(out));
		ctl_json_print(o);
		return 0;
	}
	ctl_human(hs, sizeof(hs), (double)size);
	if (present)
		fprintf(info, "%s (%s) is already in the warehouse\n", hex, hs);
	else {
		ctl_human(rs, sizeof(rs), (double)x.rate);
		fprintf(info, "downloaded %s (%s) in %.2f s, %s/s\n  %s\n",
		    hex, hs, (double)x.elapsed_ms / 1000.0, rs,
		    x.flags & IPC_XFER_F_FRAGMENTS ?
		    "every fragment verified (merkle leaves) and the hash (BLAKE3)" :
		    "hash verified (BLAKE3)");
		if (located)
			fprintf(info, "  from sharer %s\n", from);
		if (x.offset > 0) {
			ctl_human(hs, sizeof(hs), (double)x.offset);
			fprintf(info, "  continued from a kept verified part of %s\n", hs);
		}
	}
	if (out != NULL && info == stdout)
		printf("  written to %s\n", TS(out));
	return 0;
}
