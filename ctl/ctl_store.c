/*
 * ctl_store.c — the verbs of the own shared files: add (ctl reads the file
 * and streams it to storaged, so no daemon needs access to users' files),
 * ls, rm, mv, cat, chain, profile, verify.
 */
#define _GNU_SOURCE	/* strptime, timegm */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "ctl.h"
#include "filetype.h"
#include "hex.h"
#include "ipc.h"

#define CTL_CHUNK	(1024 * 1024 - 64)
#define CTL_PROFILE_MAX	(IPC_STR_MAX * 4)	/* storaged's limit of one field */

static uint8_t ctl_buf[IPC_MSG_MAX];

static double
ctl_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One line, redrawn: percentage, bytes, rate, ETA.  Only on a terminal. */
static void
ctl_progress(const char *what, uint64_t done, uint64_t total, double start, int final)
{
	char d[32], t[32], r[32];
	double el = ctl_secs() - start, rate = el > 0 ? (double)done / el : 0;
	double eta = rate > 0 ? (double)(total - done) / rate : 0;
	int pct = total ? (int)(done * 100 / total) : 100, i, bar = pct / 4;

	ctl_human(d, sizeof(d), (double)done);
	ctl_human(t, sizeof(t), (double)total);
	ctl_human(r, sizeof(r), rate);
	/* a local file name can hold escapes too */
	fprintf(stderr, "\r%-20.20s [", TS(what));
	for (i = 0; i < 25; i++)
		fputc(i < bar ? '#' : '.', stderr);
	fprintf(stderr, "] %3d%% %s/%s %s/s ETA %.0fs ", pct, d, t, r, final ? 0.0 : eta);
	if (final)
		fputc('\n', stderr);
}

static int
ctl_parse_hex(const char *s, uint8_t *out, size_t want)
{
	return strlen(s) == 2 * want && hex_decode(out, want, s) == (long)want ? 0 : -1;
}

/* §2.5.2 tag types 0-6 by name; 3, 5, 6 are virtual (computed, never stored). */
static const char *const ctl_tag_names[] = {
	"name", "folder", "description", "date-shared", "date-created",
	"shared-by-count", "shared-by-geoip"
};
#define CTL_NTAG_NAMES	(sizeof(ctl_tag_names) / sizeof(ctl_tag_names[0]))

static const char ctl_tag_help[] =
    "  --tag KEY=VALUE (repeatable) adds a tag to the file record:\n"
    "    date-created=UNIX-SECONDS|YYYY-MM-DD[THH:MM:SS]  tag 4 (UTC)\n"
    "    name=, folder=, description=                      tags 0-2, as the options\n"
    "    N=TEXT  for N in 7..32767: a client-defined tag, TEXT stored as given\n"
    "  date-shared, shared-by-count and shared-by-geoip (3, 5, 6) are computed,\n"
    "  never stored, and are refused.\n";

static int
ctl_tag_type(const char *key, size_t len)
{
	char buf[16], *end;
	unsigned long v;
	size_t i;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, key, len);
	buf[len] = '\0';
	for (i = 0; i < CTL_NTAG_NAMES; i++)
		if (strcasecmp(buf, ctl_tag_names[i]) == 0)
			return (int)i;
	if (strcasecmp(buf, "created") == 0)
		return 4;
	v = strtoul(buf, &end, 10);
	return buf[0] >= '0' && buf[0] <= '9' && *end == '\0' && v <= 0x7fff ?
	    (int)v : -1;
}

/* Unix seconds, or a UTC date YYYY-MM-DD with an optional THH:MM[:SS][Z]. */
static int
ctl_parse_date(const char *s, int64_t *out)
{
	struct tm tm;
	const char *e;
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s != '\0' && *end == '\0' && errno == 0 && v > 0) {
		*out = v;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if ((e = strptime(s, "%Y-%m-%d", &tm)) == NULL)
		return -1;
	if (*e == 'T' || *e == ' ') {
		if ((end = strptime(e + 1, "%H:%M", &tm)) == NULL)
			return -1;
		e = end;
		if (*e == ':' && (e = strptime(e + 1, "%S", &tm)) == NULL)
			return -1;
	}
	if (*e == 'Z')
		e++;
	if (*e != '\0' || (*out = (int64_t)timegm(&tm)) <= 0)
		return -1;
	return 0;
}

/*
 * One --tag KEY=VALUE: names 0-2 replace the option values, the others go
 * into the request's tag list in the order given.
 */
static int
ctl_add_tag(const char *arg, const char **name, const char **folder,
    const char **desc, struct ipc_tags *t)
{
	const char *eq = strchr(arg, '=');
	uint8_t date[8];
	int64_t d;
	int type;

	if (eq == NULL || (type = ctl_tag_type(arg, (size_t)(eq - arg))) < 0) {
		ctl_err("add: --tag wants KEY=VALUE with KEY date-created, name, folder, "
		    "description or a number 7..32767, got '%s'", arg);
		return -1;
	}
	eq++;
	switch (type) {
	case 0:
		*name = eq;
		return 0;
	case 1:
		*folder = eq;
		return 0;
	case 2:
		*desc = eq;
		return 0;
	case 3: case 5: case 6:
		ctl_err("add: tag %s is computed by every node and never stored",
		    ctl_tag_names[type]);
		return -1;
	case 4:
		if (ctl_parse_date(eq, &d) != 0) {
			ctl_err("add: date-created: expected Unix seconds or "
			    "YYYY-MM-DD[THH:MM:SS], got '%s'", eq);
			return -1;
		}
		buf_put_le64(date, (uint64_t)d);
		return ipc_tags_add(t, 4, date, sizeof(date)) == 0 ? 0 :
		    (ctl_err("add: too many tags (at most %d bytes)", IPC_TAGS_MAX), -1);
	}
	if (ipc_tags_add(t, (uint16_t)type, eq, strlen(eq)) != 0) {
		ctl_err("add: too many tags (at most %d bytes)", IPC_TAGS_MAX);
		return -1;
	}
	return 0;
}

/* The tags of f as [{"type", "name"?, "value" | "hex"}], dates as numbers. */
static json_t *
ctl_tags_json(const struct ipc_tags *t)
{
	json_t *arr = json_array(), *o, *v;
	const uint8_t *data;
	size_t off = 0, len;
	uint16_t type;
	int64_t d;
	char *hex;

	while (ipc_tags_next(t, &off, &type, &data, &len) == 1) {
		o = json_pack("{s:i}", "type", (int)type);
		if (type < CTL_NTAG_NAMES)
			json_object_set_new(o, "name", json_string(ctl_tag_names[type]));
		if (type == 4 && len == 8) {
			d = (int64_t)buf_le64(data);
			json_object_set_new(o, "value", json_integer((json_int_t)d));
		} else if ((v = json_stringn((const char *)data, len)) != NULL &&
		    memchr(data, '\0', len) == NULL) {
			json_object_set_new(o, "value", v);
		} else {
			json_decref(v);
			/* Not text: the bytes in hex. */
			if ((hex = malloc(2 * len + 1)) != NULL) {
				hex_encode(hex, data, len);
				json_object_set_new(o, "hex", json_string(hex));
				free(hex);
			}
		}
		json_array_append_new(arr, o);
	}
	return arr;
}

/* One line "date-created=2023-01-01 7=text" for the human listing. */
static void
ctl_tags_line(const struct ipc_tags *t, char *out, size_t cap)
{
	const uint8_t *data;
	size_t off = 0, len, i;
	uint16_t type;
	struct tm tm;
	/* i: only the escaped length below */
	time_t tt;
	char one[160], key[24], val[128];

	out[0] = '\0';
	while (ipc_tags_next(t, &off, &type, &data, &len) == 1) {
		if (type < CTL_NTAG_NAMES)
			snprintf(key, sizeof(key), "%s", ctl_tag_names[type]);
		else
			snprintf(key, sizeof(key), "%u", type);
		if (type == 4 && len == 8) {
			tt = (time_t)(int64_t)buf_le64(data);
			gmtime_r(&tt, &tm);
			strftime(val, sizeof(val), "%Y-%m-%dT%H:%M:%SZ", &tm);
		} else {
			/* a peer's bytes: escaped, cut with "..." */
			i = ts_escape(val, sizeof(val) - 3, (const char *)data, len);
			if (len > 0 && i + 4 >= sizeof(val) - 3)
				strlcat(val, "...", sizeof(val));
		}
		snprintf(one, sizeof(one), "%s%s=%s", out[0] ? " " : "", key, val);
		strlcat(out, one, cap);
	}
}

static void
ctl_file_json(json_t *o, const struct ipc_file *f)
{
	char id[33], hash[65], owner[67];

	hex_encode(id, f->id, 16);
	hex_encode(hash, f->hash, 32);
	hex_encode(owner, f->owner, 33);
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "hash", json_string(hash));
	json_object_set_new(o, "owner", json_string(owner));
	json_object_set_new(o, "size", json_integer((json_int_t)f->size));
	json_object_set_new(o, "type", json_string(ft_type_name(f->type)));
	json_object_set_new(o, "format", json_integer(f->format));
	json_object_set_new(o, "date", json_integer(f->date));
	json_object_set_new(o, "block", json_integer((json_int_t)f->block));
	json_object_set_new(o, "name", ctl_jstr(f->name));
	json_object_set_new(o, "folder", ctl_jstr(f->folder));
	json_object_set_new(o, "description", ctl_jstr(f->description));
	json_object_set_new(o, "tags", ctl_tags_json(&f->tags));
}

/* Ctrl-C (or SIGTERM) during add: abort the upload, keep nothing. */
static volatile sig_atomic_t ctl_add_stop;

static void
ctl_add_on_signal(int sig)
{
	ctl_add_stop = sig;
}

/*
 * The other records of the own chain with this content (a second add of
 * the same file makes a second record): their IDs into ids, how many.
 */
static int
ctl_add_others(struct ctl *c, const struct ipc_file *nf, char ids[][33], int max)
{
	static struct ipc_file f;
	struct ipc_file_list fl;
	struct ipc_range rg = { 0, 0 };
	uint8_t *rep;
	size_t replen;
	long n;
	int k = 0;

	n = ipc_range_encode(ctl_buf, sizeof(ctl_buf), IPC_LS, &rg);
	if (ctl_call(c, "storaged", ctl_buf, (size_t)n, &rep, &replen, 1) == -1)
		return 0;
	if (ipc_file_list_decode(rep, replen, IPC_LS, &fl) == 0)
		while (ipc_file_list_next(&fl, &f) == 1 && k < max)
			if (memcmp(f.hash, nf->hash, 32) == 0 &&
			    memcmp(f.id, nf->id, 16) != 0)
				hex_encode(ids[k++], f.id, 16);
	free(rep);
	return k;
}

/*
 * The IPC_ADD_DATA request for the chunk of fd at off into ctl_buf: its
 * length, with the chunk's bytes in *got; -1 (said) when the file cannot
 * be read or shrank.
 */
static long
ctl_add_chunk(int fd, const char *path, uint32_t id, uint64_t off, uint64_t size,
    uint32_t *got)
{
	struct ipc_data d;
	ssize_t k;
	long n;

	memset(&d, 0, sizeof(d));
	d.id = id;
	d.offset = off;
	n = ipc_data_encode(ctl_buf, sizeof(ctl_buf), IPC_ADD_DATA, &d);
	k = pread(fd, ctl_buf + n, CTL_CHUNK, (off_t)off);
	if (k <= 0) {
		ctl_err("add: %s: %s", path, k == 0 ? "file shrank while being read" :
		    strerror(errno));
		return -1;
	}
	if (off + (uint64_t)k > size)
		k = (ssize_t)(size - off);
	d.len = (uint32_t)k;
	ipc_data_encode(ctl_buf, (size_t)n, IPC_ADD_DATA, &d);
	*got = d.len;
	return n + k;
}

static void
ctl_add_interrupted(const char *path)
{
	ctl_err("add: %s: interrupted: the upload is aborted, nothing is kept", path);
}

/* The data over nng: one request, one reply, one chunk at a time. */
static int
ctl_add_nng(struct ctl *c, int fd, const char *path, const char *base, uint32_t id,
    uint64_t size, double start, int tty)
{
	uint64_t off = 0;
	uint8_t *rep;
	size_t replen;
	uint32_t got;
	long n;

	while (off < size) {
		if ((n = ctl_add_chunk(fd, path, id, off, size, &got)) == -1)
			return -1;
		if (ctl_add_stop) {
			ctl_add_interrupted(path);
			return -1;
		}
		if (ctl_call(c, "storaged", ctl_buf, (size_t)n, &rep, &replen, 0) == -1)
			return -1;
		free(rep);
		off += got;
		if (tty)
			ctl_progress(base, off, size, start, 0);
	}
	return 0;
}

#define CTL_BULK_DEPTH	4		/* chunks in flight on the bulk channel */
#define CTL_BULK_REP_MAX (IPC_STR_MAX + 64)	/* a status or an error's reason */

/*
 * What a reply on the bulk channel says: 0 the chunk is stored, -1 an
 * error (said; storaged has dropped the upload), 1 storaged does not take
 * data on its bulk channel (an older storaged: nothing of the upload was
 * touched, so nng can take it from the start).
 */
static int
ctl_add_bulk_reply(struct ctl *c, const uint8_t *rep, size_t len, int first)
{
	char reason[IPC_STR_MAX];
	struct ipc_hdr h;
	uint16_t status;

	if (ipc_hdr_decode(rep, len, &h) != 0 || (h.status == IPC_OK &&
	    (h.type != IPC_ADD_DATA || len != IPC_HDR_LEN))) {
		ctl_err("storaged: malformed reply");
		c->last_err = CTL_E_ERROR;
		return -1;
	}
	if (h.status == IPC_OK)
		return 0;
	if (ipc_error_decode(rep, len, &status, reason, sizeof(reason)) != 0)
		strlcpy(reason, ipc_err_str(h.status), sizeof(reason));
	if (first && h.status == IPC_ERR_BADMSG)
		return 1;
	c->last_err = h.status == IPC_ERR_DENIED ? CTL_E_UID : CTL_E_REFUSED;
	ctl_err("storaged refused the request: %s", reason);
	return -1;
}

/*
 * The data on storaged's bulk channel, CTL_BULK_DEPTH chunks in flight:
 * ctl reads the next chunks while storaged hashes and writes the last
 * ones.  Storaged takes a chunk only at the offset it expects and drops
 * the upload at the first error, so a chunk in flight behind a failed one
 * is refused too and nothing partial is kept.  The first chunk goes alone:
 * a connection storaged refuses (another uid, all its connections taken)
 * ends before its reply, and then nothing was taken and nng sends the
 * whole file instead.  Returns 0 (storaged has every byte), -1 (failed,
 * said: the caller aborts the upload) or 1 (use nng).
 */
static int
ctl_add_bulk(struct ctl *c, int fd, const char *path, const char *base, uint32_t id,
    uint64_t size, double start, int tty)
{
	char sock[PATH_MAX], err[256];
	uint8_t rep[CTL_BULK_REP_MAX];
	uint32_t lens[CTL_BULK_DEPTH], got, rid, next_rid = 1;
	uint64_t sent = 0, acked = 0, deadline;
	size_t replen;
	int bfd, head = 0, inflight = 0, rc = 0, wait;
	long n;

	if (ipc_path(sock, sizeof(sock), c->dir, "storaged-bulk") == -1 ||
	    (bfd = ctl_bulk_connect(sock)) == -1)
		return 1;
	while (acked < size) {
		/* Refill the pipeline; only one chunk until storaged has answered once. */
		while (inflight < (acked == 0 ? 1 : CTL_BULK_DEPTH) && sent < size) {
			if ((n = ctl_add_chunk(fd, path, id, sent, size, &got)) == -1) {
				rc = -1;
				goto out;
			}
			if ((wait = ctl_left_ms(c, c->timeout_ms)) == 0) {
				rc = CTL_E_TIMEOUT;
				snprintf(err, sizeof(err), "no time left");
				break;
			}
			deadline = loop_now_ms() + (uint64_t)wait;
			if ((rc = ctl_bulk_send(bfd, next_rid, ctl_buf, (size_t)n, deadline,
			    &ctl_add_stop, err, sizeof(err))) != 0)
				break;
			lens[(head + inflight) % CTL_BULK_DEPTH] = got;
			inflight++;
			next_rid++;
			sent += got;
		}
		if (rc == 0) {
			if ((wait = ctl_left_ms(c, c->timeout_ms)) == 0) {
				rc = CTL_E_TIMEOUT;
				snprintf(err, sizeof(err), "no time left");
			} else
				rc = ctl_bulk_recv(bfd, &rid, rep, sizeof(rep), &replen,
				    loop_now_ms() + (uint64_t)wait, &ctl_add_stop, err,
				    sizeof(err));
		}
		if (rc != 0) {
			if (ctl_add_stop || rc == CTL_E_STOPPED) {
				ctl_add_interrupted(path);
				rc = -1;
			} else if (acked == 0 && rc == CTL_E_LOST) {
				rc = 1;		/* refused: nothing was taken */
			} else {
				c->last_err = rc;
				if (rc == CTL_E_TIMEOUT)
					ctl_err("storaged did not answer within %d ms: it is "
					    "hung, stopped or overloaded ('peernetctl -d %s "
					    "status' shows it, 'down' stops it)",
					    c->timeout_ms, c->dir);
				else
					ctl_err("storaged: %s", err);
				rc = -1;
			}
			goto out;
		}
		/* Answers come in the order of the requests, with their IDs. */
		if (rid != next_rid - (uint32_t)inflight) {
			ctl_err("storaged: a reply out of order on the bulk channel");
			c->last_err = CTL_E_ERROR;
			rc = -1;
			goto out;
		}
		if ((rc = ctl_add_bulk_reply(c, rep, replen, acked == 0)) != 0)
			goto out;
		acked += lens[head];
		head = (head + 1) % CTL_BULK_DEPTH;
		inflight--;
		if (tty)
			ctl_progress(base, acked, size, start, 0);
		if (ctl_add_stop) {
			ctl_add_interrupted(path);
			rc = -1;
			goto out;
		}
	}
out:
	/*
	 * Closed before an abort is sent (over nng): chunks still queued
	 * meet an upload that is gone and are refused.
	 */
	close(bfd);
	return rc;
}

static int
ctl_add_one(struct ctl *c, const char *path, const char *name, const char *folder,
    const char *desc, const struct ipc_tags *tags, json_t *arr)
{
	static struct ipc_add_begin ab;
	static struct ipc_add_result res;
	const char *base;
	struct stat sb;
	uint8_t *rep;
	size_t replen;
	uint32_t id;
	double start = ctl_secs();
	int fd, tty = isatty(STDERR_FILENO) && !c->json, rc, nothers, k;
	long n;
	char hash[65], fid[33], hs[32], others[8][33];

	if (ctl_add_stop)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 || fstat(fd, &sb) == -1) {
		ctl_err("add: %s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		ctl_err("add: %s: not a regular file", path);
		close(fd);
		return -1;
	}
	memset(&ab, 0, sizeof(ab));
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (strlen(name ? name : base) > IPC_STR_MAX || strlen(folder) > IPC_STR_MAX ||
	    strlen(desc) > IPC_STR_MAX) {
		ctl_err("add: %s: name, folder or description longer than %d bytes",
		    path, IPC_STR_MAX);
		close(fd);
		return -1;
	}
	strlcpy(ab.name, name ? name : base, sizeof(ab.name));
	strlcpy(ab.folder, folder, sizeof(ab.folder));
	strlcpy(ab.description, desc, sizeof(ab.description));
	ab.tags = *tags;
	ab.size = (uint64_t)sb.st_size;
	ab.type = 0xff;
	ab.format = 0xffff;
	n = ipc_add_begin_encode(ctl_buf, sizeof(ctl_buf), &ab);
	if (ctl_call(c, "storaged", ctl_buf, (size_t)n, &rep, &replen, 0) == -1) {
		close(fd);
		return -1;
	}
	if (ctl_reply_decoded(rep, ipc_u32_decode(rep, replen, IPC_ADD_BEGIN, &id), "add",
	    "storaged") != 0) {
		close(fd);
		return -1;
	}
	/*
	 * Stream the file in large chunks: on storaged's bulk channel with a
	 * few in flight, or over nng one at a time when the channel cannot
	 * be used (nothing of the upload was taken on it then).
	 */
	if (ab.size > 0 && (rc = ctl_add_bulk(c, fd, path, base, id, ab.size, start,
	    tty)) != 1) {
		if (rc == -1)
			goto abort;
	} else if (ctl_add_nng(c, fd, path, base, id, ab.size, start, tty) == -1)
		goto abort;
	close(fd);
	fd = -1;
	n = ipc_u32_encode(ctl_buf, sizeof(ctl_buf), IPC_ADD_END, id);
	rc = ctl_call_slow(c, "storaged", ctl_buf, (size_t)n, &rep, &replen, 0);
	if (rc == -1)
		return -1;
	if (ctl_reply_decoded(rep, ipc_add_result_decode(rep, replen, &res),
	    "add", "storaged") != 0)
		return -1;
	if (tty)
		ctl_progress(base, ab.size, ab.size, start, 1);
	hex_encode(hash, res.file.hash, 32);
	hex_encode(fid, res.file.id, 16);
	nothers = res.dedup ? ctl_add_others(c, &res.file, others, 8) : 0;
	if (arr != NULL) {
		json_t *o = json_object(), *oa = json_array();

		ctl_file_json(o, &res.file);
		json_object_set_new(o, "path", ctl_jstr(path));
		json_object_set_new(o, "deduplicated", json_boolean(res.dedup));
		for (k = 0; k < nothers; k++)
			json_array_append_new(oa, json_string(others[k]));
		json_object_set_new(o, "also_shared_as", oa);
		json_array_append_new(arr, o);
	} else {
		ctl_human(hs, sizeof(hs), (double)res.file.size);
		printf("shared %s (%s%s)\n  hash %s\n  id   %s\n", TS(res.file.name), hs,
		    res.dedup ? ", content already in the warehouse" : "", hash, fid);
	}
	/* Say it: the same content shared twice makes two records. */
	for (k = 0; k < nothers; k++)
		fprintf(stderr, "peernetctl: add: note: %s was already shared "
		    "(file ID %s); this is another record of it ('peernetctl rm "
		    "%s' removes the older one)\n", TS(path), others[k], others[k]);
	return 0;
abort:
	if (fd != -1)
		close(fd);
	if (tty)
		fputc('\n', stderr);
	n = ipc_u32_encode(ctl_buf, sizeof(ctl_buf), IPC_ADD_ABORT, id);
	/* even when --timeout has run out: the upload must not stay behind */
	if (ctl_call_grace(c, "storaged", ctl_buf, (size_t)n, &rep, &replen) == 0)
		free(rep);
	return -1;
}

int
ctl_add(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	static struct ipc_tags tags;
	const char *name = NULL, *folder = "", *desc = "";
	const char *files[1024];
	struct sigaction sa;
	int i, nfiles = 0, failed = 0;
	json_t *arr = NULL;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			c->json = 1;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			ctl_verb_usage(v, 0);
			fputs(ctl_tag_help, stdout);
			return 0;
		} else if (strcmp(argv[i], "--tag") == 0 && i + 1 < argc) {
			if (ctl_add_tag(argv[++i], &name, &folder, &desc, &tags) != 0)
				return 2;
		} else if ((strcmp(argv[i], "--name") == 0 || strcmp(argv[i], "--folder") == 0 ||
		    strcmp(argv[i], "--description") == 0) && i + 1 < argc) {
			if (argv[i][2] == 'n')
				name = argv[++i];
			else if (argv[i][2] == 'f')
				folder = argv[++i];
			else
				desc = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			ctl_err("add: unknown or incomplete option '%s'", argv[i]);
			ctl_verb_usage(v, 1);
			return 2;
		} else if (nfiles < (int)(sizeof(files) / sizeof(files[0])))
			files[nfiles++] = argv[i];
		else {
			ctl_err("add: at most %zu files at once", sizeof(files) / sizeof(files[0]));
			return 2;
		}
	}
	if (nfiles == 0)
		return ctl_usage_err(v, "no file given");
	if (name != NULL && nfiles > 1)
		return ctl_usage_err(v, "--name needs exactly one file");
	if (name != NULL && name[0] == '\0')
		return ctl_usage_err(v, "--name must not be empty (leave it out to "
		    "use the file's name)");
	if (strlen(folder) > IPC_STR_MAX || strlen(desc) > IPC_STR_MAX ||
	    (name != NULL && strlen(name) > IPC_STR_MAX))
		return ctl_usage_err(v, "a name, folder or description is at most "
		    "%d bytes", IPC_STR_MAX);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ctl_add_on_signal;	/* no SA_RESTART: stop waiting */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (c->json)
		arr = json_array();
	for (i = 0; i < nfiles; i++)
		if (ctl_add_one(c, files[i], name, folder, desc, &tags, arr) == -1)
			failed++;
	if (arr != NULL)
		ctl_json_print(json_pack("{s:o, s:i}", "added", arr, "failed", failed));
	if (ctl_add_stop) {
		/* Die of the signal, as the shell expects of an interrupted command. */
		ctl_json_finish(c, v->name, 1);
		fflush(stdout);
		signal(ctl_add_stop, SIG_DFL);
		raise(ctl_add_stop);
	}
	return failed ? 1 : 0;
}

int
ctl_ls(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	static struct ipc_file f;
	struct ipc_file_list fl;
	struct ipc_range rg = { 0, 0 };
	uint8_t *rep;
	size_t replen;
	char id[33], hs[32], date[32], tl[512];
	json_t *arr;
	struct tm tm;
	time_t t;
	long n;
	int rc;

	if ((rc = ctl_verb_no_operands(c, v, argc, argv)) >= 0)
		return rc;
	n = ipc_range_encode(ctl_buf, sizeof(ctl_buf), IPC_LS, &rg);
	if (ctl_call(c, "storaged", ctl_buf, (size_t)n, &rep, &replen, 0) == -1)
		return 1;
	if ((rc = ipc_file_list_decode(rep, replen, IPC_LS, &fl)) != 0) {
		free(rep);
		ctl_err("ls: malformed reply: %s", ipc_decode_strerror(rc));
		return 1;
	}
	arr = json_array();
	if (!c->json)
		printf("%-32s %10s %-9s %-16s %s\n", "ID", "SIZE", "TYPE", "SHARED", "NAME");
	while (ipc_file_list_next(&fl, &f) == 1) {
		if (c->json) {
			json_t *o = json_object();

			ctl_file_json(o, &f);
			json_array_append_new(arr, o);
			continue;
		}
		hex_encode(id, f.id, 16);
		ctl_human(hs, sizeof(hs), (double)f.size);
		t = (time_t)f.date;
		gmtime_r(&t, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M", &tm);
		printf("%-32s %10s %-9s %-16s %s%s%s\n", id, hs, ft_type_name(f.type), date,
		    TS(f.folder), f.folder[0] ? "/" : "", TS(f.name));
		ctl_tags_line(&f.tags, tl, sizeof(tl));
		if (tl[0] != '\0')
			printf("%-32s tags: %s\n", "", tl);
	}
	if (c->json)
		ctl_json_print(json_pack("{s:I, s:o}", "total", (json_int_t)fl.total,
		    "files", arr));
	else {
		json_decref(arr);
		if (fl.count < fl.total)
			printf("(%u of %u shown)\n", fl.count, fl.total);
	}
	free(rep);
	return 0;
}

int
ctl_rm(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	struct ipc_ref ref;
	uint8_t *rep;
	size_t replen;
	uint32_t removed;
	long n;
	int first, rc;

	if ((rc = ctl_verb_operands(c, v, argc, argv, 1, &first)) >= 0)
		return rc;
	memset(&ref, 0, sizeof(ref));
	if (ctl_parse_hex(argv[first], ref.key, 16) == 0)
		ref.kind = 0;
	else if (ctl_parse_hex(argv[first], ref.key, 32) == 0)
		ref.kind = 1;
	else {
		ctl_err("rm: expected a file ID (32 hex digits) or a hash (64), got '%s'",
		    argv[first]);
		return 2;
	}
	n = ipc_ref_encode(ctl_buf, sizeof(ctl_buf), IPC_RM, &ref);
	if (ctl_call(c, "storaged", ctl_buf, (size_t)n, &rep, &replen, 0) == -1)
		return 1;
	if (ctl_reply_decoded(rep, ipc_u32_decode(rep, replen, IPC_RM, &removed),
	    "rm", "storaged") != 0)
		return 1;
	/* 0 records: downloaded (never shared) content, deleted by its hash */
	if (c->json)
		ctl_json_print(json_pack("{s:i, s:b}", "removed", (int)removed,
		    "content_deleted", removed == 0));
	else if (removed == 0)
		printf("deleted the downloaded content %s from the warehouse "
		    "(it was not shared)\n", argv[first]);
	else
		printf("removed %u file record%s\n", removed, removed == 1 ? "" : "s");
	return 0;
}

int
ctl_mv(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	static struct ipc_mv mv;
	uint8_t *rep;
	size_t replen;
	long n;
	int first, rc;

	if ((rc = ctl_verb_operands(c, v, argc, argv, 2, &first)) >= 0)
		return rc;
	if (ctl_parse_hex(argv[first], mv.id, 16) != 0) {
		ctl_err("mv: expected a file ID (32 hex digits), got '%s'", argv[first]);
		return 2;
	}
	if (argv[first + 1][0] == '\0' || strlen(argv[first + 1]) > IPC_STR_MAX) {
		ctl_err("mv: the new name must be 1 to %d bytes", IPC_STR_MAX);
		return 2;
	}
	strlcpy(mv.name, argv[first + 1], sizeof(mv.name));
	n = ipc_mv_encode(ctl_buf, sizeof(ctl_buf), &mv);
	if (ctl_call(c, "storaged", ctl_buf, (size_t)n, &rep, &replen, 0) == -1)
		return 1;
	free(rep);
	if (c->json)
		ctl_json_print(json_pack("{s:b}", "renamed", 1));
	else
		printf("renamed to %s\n", TS(mv.name));
	return 0;
}

static int
ctl_u64_arg(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return *s != '\0' && *s != '-' && *end == '\0' && errno == 0 ? 0 : -1;
}

/* RFC 4648 base64 of len bytes into out (4 * ((len + 2) / 3) + 1). */
static void
ctl_base64(char *out, const uint8_t *in, size_t len)
{
	static const char t[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;
	uint32_t v;

	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*out++ = t[v >> 18];
		*out++ = t[(v >> 12) & 63];
		*out++ = t[(v >> 6) & 63];
		*out++ = t[v & 63];
	}
	if (i < len) {
		v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
		*out++ = t[v >> 18];
		*out++ = t[(v >> 12) & 63];
		*out++ = i + 1 < len ? t[(v >> 6) & 63] : '=';
		*out++ = '=';
	}
	*out = '\0';
}

#define CTL_CAT_JSON_MAX	(16 * 1024 * 1024)	/* --json holds it in memory */

int
ctl_cat(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	const char *hash = NULL;
	uint64_t left = UINT64_MAX, total = 0, start;
	struct ipc_read rd;
	struct ipc_data d;
	uint8_t *rep, *all = NULL;
	size_t replen;
	char *b64;
	long n;
	int i, rc, first = 1;

	memset(&rd, 0, sizeof(rd));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			ctl_verb_usage(v, 0);
			return 0;
		} else if (strcmp(argv[i], "--json") == 0)
			c->json = 1;
		else if (strcmp(argv[i], "--offset") == 0 && i + 1 < argc) {
			if (ctl_u64_arg(argv[++i], &rd.offset) != 0)
				return ctl_usage_err(v, "--offset: expected a byte count, "
				    "got '%s'", argv[i]);
		} else if (strcmp(argv[i], "--length") == 0 && i + 1 < argc) {
			if (ctl_u64_arg(argv[++i], &left) != 0)
				return ctl_usage_err(v, "--length: expected a byte count, "
				    "got '%s'", argv[i]);
		} else if (argv[i][0] != '-' && hash == NULL)
			hash = argv[i];
		else
			return ctl_usage_err(v, "unexpected argument '%s'", argv[i]);
	}
	if (hash == NULL || ctl_parse_hex(hash, rd.hash, 32) != 0)
		return ctl_usage_err(v, "expected a hash (64 hex digits)");
	start = rd.offset;
	/* --json: the bytes in base64 (raw bytes are no JSON), bounded. */
	if (c->json && left > CTL_CAT_JSON_MAX)
		left = CTL_CAT_JSON_MAX + 1;
	while (left > 0) {
		rd.len = left < CTL_CHUNK ? (uint32_t)left : CTL_CHUNK;
		n = ipc_read_encode(ctl_buf, sizeof(ctl_buf), IPC_CAT, &rd);
		if (ctl_call(c, "storaged", ctl_buf, (size_t)n, &rep, &replen, 0) == -1) {
			free(all);
			return 1;
		}
		if ((rc = ipc_data_decode(rep, replen, IPC_CAT, &d)) != 0) {
			free(rep);
			free(all);
			ctl_err("cat: malformed reply: %s", ipc_decode_strerror(rc));
			return 1;
		}
		/* Nothing at all from a non-zero offset: it is past the end. */
		if (first && d.len == 0 && start > 0) {
			free(rep);
			ctl_err("cat: --offset %llu is at or past the end of the file",
			    (unsigned long long)start);
			return 1;
		}
		first = 0;
		if (c->json) {
			uint8_t *nb;

			if (total + d.len > CTL_CAT_JSON_MAX) {
				free(rep);
				free(all);
				ctl_err("cat: --json holds at most %d bytes: use "
				    "--length, or 'get -o FILE'", CTL_CAT_JSON_MAX);
				return 1;
			}
			if ((nb = realloc(all, total + d.len + 1)) == NULL) {
				free(rep);
				free(all);
				ctl_err("cat: out of memory");
				return 1;
			}
			all = nb;
			memcpy(all + total, d.bytes, d.len);
		} else if (d.len > 0 && fwrite(d.bytes, 1, d.len, stdout) != d.len) {
			free(rep);
			ctl_err("cat: write: %s", strerror(errno));
			return 1;
		}
		total += d.len;
		rd.offset += d.len;
		left -= d.len;
		free(rep);
		if (d.len < rd.len)
			break;
	}
	if (c->json) {
		if ((b64 = malloc(4 * ((total + 2) / 3) + 1)) == NULL) {
			free(all);
			ctl_err("cat: out of memory");
			return 1;
		}
		ctl_base64(b64, all != NULL ? all : (const uint8_t *)"", total);
		free(all);
		ctl_json_print(json_pack("{s:s, s:I, s:I, s:s}", "hash", hash,
		    "offset", (json_int_t)start, "length", (json_int_t)total,
		    "base64", b64));
		free(b64);
		return 0;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

/*
 * A summary verb's four counters (chain, cache): a JSON object of them, or
 * a line each, the byte count in a human unit next to one of them.
 */
struct ctl_count {
	const char	*key;		/* JSON */
	const char	*label;		/* human; NULL: JSON only */
	const char	*unit;		/* after the number */
	uint64_t	 v;
	int		 with_bytes;	/* " (3.4 GiB)" after this line's number */
};

static void
ctl_counts_print(const struct ctl *c, const struct ctl_count *f, int n,
    uint64_t bytes)
{
	json_t *o;
	char hs[32];
	int i;

	if (c->json) {
		o = json_object();
		for (i = 0; i < n; i++)
			json_object_set_new(o, f[i].key, json_integer((json_int_t)f[i].v));
		ctl_json_print(o);
		return;
	}
	ctl_human(hs, sizeof(hs), (double)bytes);
	for (i = 0; i < n; i++)
		if (f[i].label != NULL)
			printf("%-8s%llu%s%s%s%s\n", f[i].label,
			    (unsigned long long)f[i].v, f[i].unit,
			    f[i].with_bytes ? " (" : "", f[i].with_bytes ? hs : "",
			    f[i].with_bytes ? ")" : "");
}

/* `chain` and `cache`: storaged's counters of our chain or of the cache. */
static int
ctl_summary(struct ctl *c, const struct ctl_verb *v, int argc, char **argv,
    uint16_t type)
{
	struct ipc_chain_info ch;
	struct ipc_cache_info ca;
	uint8_t *rep;
	size_t replen;
	int rc;

	if ((rc = ctl_verb_ask(c, v, argc, argv, "storaged", type, &rep,
	    &replen)) >= 0)
		return rc;
	if (type == IPC_CACHE) {
		if (ctl_reply_decoded(rep, ipc_cache_info_decode(rep, replen, &ca),
		    "cache", "storaged") != 0)
			return 1;
		ctl_counts_print(c, (const struct ctl_count[]){
		    { "peers", "peers", "", ca.peers, 0 },
		    { "blocks", "blocks", "", ca.blocks, 1 },
		    { "bytes", NULL, "", ca.bytes, 0 },
		    { "files", "files", "", ca.files, 0 } }, 4, ca.bytes);
		return 0;
	}
	if (ctl_reply_decoded(rep, ipc_chain_info_decode(rep, replen, IPC_CHAIN, &ch),
	    "chain", "storaged") != 0)
		return 1;
	ctl_counts_print(c, (const struct ctl_count[]){
	    { "version", "version", "", ch.version, 0 },
	    { "height", "height", " blocks", ch.height, 0 },
	    { "files", "files", "", ch.files, 1 },
	    { "bytes", NULL, "", ch.bytes, 0 } }, 4, ch.bytes);
	return 0;
}

int
ctl_chain(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	return ctl_summary(c, v, argc, argv, IPC_CHAIN);
}

static const char *const ctl_profile_fields[] = {
	"name", "email", "website", "twitter", "youtube", "address", "picture"
};

static int
ctl_profile_field(const char *s)
{
	char *end;
	unsigned long v;
	size_t i;

	for (i = 0; i < sizeof(ctl_profile_fields) / sizeof(ctl_profile_fields[0]); i++)
		if (strcasecmp(s, ctl_profile_fields[i]) == 0)
			return (int)i;
	v = strtoul(s, &end, 10);
	return *s != '\0' && *end == '\0' && v <= 0xffff ? (int)v : -1;
}

int
ctl_profile(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	struct ipc_data d;
	uint8_t *rep;
	size_t replen;
	int first, field, rc, set;
	long n;

	if ((first = ctl_verb_opts(c, v, argc, argv)) < 0)
		return first == -2 ? 0 : 2;
	set = first < argc && strcmp(argv[first], "set") == 0;
	if (first >= argc || (!set && strcmp(argv[first], "get") != 0) ||
	    argc - first != (set ? 3 : 2)) {
		ctl_verb_usage(v, 1);
		return 2;
	}
	if ((field = ctl_profile_field(argv[first + 1])) < 0) {
		ctl_err("profile: unknown field '%s' (name, email, website, twitter, "
		    "youtube, address, picture, or a number)", argv[first + 1]);
		return 2;
	}
	if (set && strlen(argv[first + 2]) > CTL_PROFILE_MAX)
		return ctl_usage_err(v, "a profile value is at most %d bytes; this one "
		    "has %zu", CTL_PROFILE_MAX, strlen(argv[first + 2]));
	if (set) {
		memset(&d, 0, sizeof(d));
		d.id = (uint32_t)field;
		d.bytes = (const uint8_t *)argv[first + 2];
		d.len = (uint32_t)strlen(argv[first + 2]);
		n = ipc_data_encode(ctl_buf, sizeof(ctl_buf), IPC_PROFILE_SET, &d);
		if (n < 0 || ctl_call(c, "storaged", ctl_buf, (size_t)n, &rep, &replen, 0) == -1)
			return 1;
		free(rep);
		if (c->json)
			ctl_json_print(json_pack("{s:b}", "ok", 1));
		return 0;
	}
	n = ipc_u32_encode(ctl_buf, sizeof(ctl_buf), IPC_PROFILE_GET, (uint32_t)field);
	if (ctl_call(c, "storaged", ctl_buf, (size_t)n, &rep, &replen, 0) == -1)
		return 1;
	if ((rc = ipc_data_decode(rep, replen, IPC_PROFILE_GET, &d)) != 0) {
		free(rep);
		ctl_err("profile: malformed reply");
		return 1;
	}
	if (c->json)
		ctl_json_print(json_pack("{s:o, s:o}", "field", ctl_jstr(argv[first + 1]),
		    "value", ctl_jstrn((const char *)d.bytes, d.len)));
	else
		printf("%s\n", ts_strn((const char *)d.bytes, d.len));
	free(rep);
	return 0;
}

int
ctl_verify(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	static struct ipc_verify_result vr;
	uint8_t *rep, req[IPC_HDR_LEN];
	size_t replen;
	const char *line, *eol, *colon;
	json_t *problems;
	long n;
	int rc;

	if ((rc = ctl_verb_no_operands(c, v, argc, argv)) >= 0)
		return rc;
	n = ipc_empty_encode(req, sizeof(req), IPC_VERIFY, IPC_OK);
	if (ctl_call_slow(c, "storaged", req, (size_t)n, &rep, &replen, 0) == -1)
		return 1;
	if (ctl_reply_decoded(rep, ipc_verify_result_decode(rep, replen, &vr),
	    "verify", "storaged") != 0)
		return 1;
	/* The report is one line per problem, "HASH: why". */
	problems = json_array();
	for (line = vr.report; *line != '\0'; line = eol + (*eol == '\n')) {
		eol = line + strcspn(line, "\n");
		if (eol == line)
			continue;
		colon = memchr(line, ':', (size_t)(eol - line));
		if (colon != NULL && colon - line == 64)
			json_array_append_new(problems, json_pack("{s:o, s:o}", "hash",
			    ctl_jstrn(line, 64), "problem", ctl_jstrn(colon + 2,
			    (size_t)(eol - colon - 2 > 0 ? eol - colon - 2 : 0))));
		else
			json_array_append_new(problems, json_pack("{s:n, s:o}", "hash",
			    "problem", ctl_jstrn(line, (size_t)(eol - line))));
	}
	if (c->json) {
		ctl_json_print(json_pack("{s:I, s:I, s:o}", "files", (json_int_t)vr.files,
		    "bad", (json_int_t)vr.bad, "problems", problems));
	} else {
		json_decref(problems);
		printf("%llu files checked, %llu bad\n", (unsigned long long)vr.files,
		    (unsigned long long)vr.bad);
		for (line = vr.report; *line != '\0'; line = eol + (*eol == '\n')) {
			eol = line + strcspn(line, "\n");
			if (eol > line)
				printf("%s\n", ts_strn(line, (size_t)(eol - line)));
		}
	}
	if (vr.bad)
		ctl_err("verify: %llu of %llu files are damaged", (unsigned long long)vr.bad,
		    (unsigned long long)vr.files);
	return vr.bad ? 1 : 0;
}

int
ctl_cache(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	return ctl_summary(c, v, argc, argv, IPC_CACHE);
}
