/*
 * serve_dl.c — storaged's side of file transfers (docs/protocol.md §9.3):
 * IPC_XSTAT (does the warehouse hold this content, how large, how much of a
 * partial download of it is kept) for netd's provider and for ctl, and
 * downloads streamed in by netd: begin {hash, size, offset} -> id, data in
 * order, commit, abort (keep or discard).
 *
 * netd is treated as hostile here: a download never takes more bytes than
 * the size announced at its start (at most DL_MAX_SIZE), chunks must come
 * in order, only the uid that began it may continue it, and commit REFUSES
 * (deleting the partial and anything it put in the warehouse) when the
 * BLAKE3 of what arrived is not the hash the download was started for.
 * Nothing corrupt reaches the warehouse, and no chain record is created:
 * downloaded content is just stored.
 *
 * Partial downloads and resume.  A download is written to
 * DIR/storage/partial/<hash hex>.part, not to the warehouse.  Its state file
 * <hash hex>.state (magic, hash, size, fragment size, verified length, the
 * merkle leaf hash of every fragment of the verified prefix, a BLAKE3 of
 * all that) is replaced atomically (temp, rename) at checkpoints on
 * fragment boundaries (docs/data.md §4.1), at least DL_CHECKPOINT bytes apart.
 * Every DL_SYNC bytes, and when a download is closed without being
 * committed, the checkpoint is durable: the data is fdatasync'd first and
 * the state file fsync'd.  The checkpoints in between are not synced (each
 * sync stalled this loop, and with it the download: 150 syncs, ~0.6 s of a
 * 2.3 s download of 300 MB): after a kill -9 of netd or storaged the page
 * cache still holds everything a state file records; after a power loss a
 * state file may claim up to DL_SYNC + DL_CHECKPOINT bytes that never
 * reached the disk, and the re-hash of the last DL_RECHECK bytes below
 * (which covers that) finds them and cuts the prefix back.  IPC_XSTAT with
 * IPC_XSTAT_F_CHECK (netd, before each run of a download) re-hashes the
 * last DL_RECHECK bytes of the kept prefix against the recorded leaves (a
 * part file damaged on disk is cut back to its last good fragment; the
 * data was fdatasync'd before its state, so only the tail can be torn, and
 * the cost stays bounded) and reports it; netd then asks its peer for the
 * rest with a Transfer request at that offset and begins the download
 * there.  A serving netd's IPC_XSTAT never looks at partials: a peer cannot
 * make storaged hash anything.
 *
 * What is verified when (the reference has no way to fetch a file's merkle
 * tree or proofs over the network, docs/data.md §4.6, so from a reference
 * sharer the expected leaf hashes of a multi-fragment file are unknown to
 * the downloader; from a sharer of ours netd gets them with our
 * XFER_PROTO_MERKLE extension, served here by IPC_XSTAT with
 * IPC_XSTAT_F_MERKLE, and hashes each fragment of a file of up to 1 GiB
 * before handing it over, see netd/xfer_file.h):
 *  - a file of one fragment (<= 256 KiB): its leaf is the file hash (§4.3),
 *    so the fragment is verified the moment it is complete, before commit;
 *    a bad one is refused at once ("verification failed").
 *  - larger files (after netd's check, when it had the leaves): each
 *    fragment's leaf is kept with the prefix: the leaf netd checked the
 *    fragment against, sent with the chunk (IPC_DL_DATA), or computed here
 *    as it arrives when netd had none; it protects the kept prefix against
 *    damage on our disk and across restarts.  Authenticity against the requested hash is
 *    checked at commit over the whole file (BLAKE3 of every byte); a
 *    mismatch discards the partial ("verification failed") and netd
 *    refetches from offset 0, a bounded number of times.  (A fragment
 *    that failed netd's check never arrives here: netd refetches it alone.)
 *
 * The table lives here (storaged has one warehouse per process); idle
 * downloads are closed (their prefix kept) lazily on the next request.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blake3.h"
#include "buf.h"
#include "diskq.h"
#include "dl_state.h"
#include "hex.h"
#include "log.h"
#include "merkle.h"
#include "storaged.h"

#define DL_MAX		16		/* downloads being written at once */
#define DL_IDLE_MS	120000		/* without data for this long: closed, prefix kept */
#define DL_CHECKPOINT	(4ULL << 20)	/* bytes between two fsync'd checkpoints, at least */
#define DL_IO		(1024 * 1024)	/* read buffer of the re-hash and commit passes */
#define DL_RECHECK	(64ULL << 20)	/* tail of a kept prefix re-hashed before a resume */
#define DL_SYNC		(32ULL << 20)	/* bytes between two durable checkpoints, at most */
_Static_assert(DL_SYNC + DL_CHECKPOINT <= DL_RECHECK,
    "a power loss may leave more unsynced bytes than a resume re-hashes");
#define DL_SUBDIR	"storage/partial"
/* The message prefix netd recognises as a verification failure (refetch). */
#define DL_VERIFY_FAIL	"verification failed"

struct dl {
	uint32_t		 id;		/* 0: free */
	int			 fd;		/* the .part file */
	uint8_t			 hash[32];
	uint64_t		 expected;	/* the file size */
	uint64_t		 received;	/* bytes in the part file, in order */
	uint64_t		 verified;	/* the last checkpoint (fragment aligned) */
	uint64_t		 synced;	/* the last durable checkpoint */
	uint64_t		 frag;		/* fragment size (§4.1) */
	uint8_t			*leaves;	/* 32 bytes per complete fragment */
	uint64_t		 nleaves;
	blake3_hasher		 fh;		/* the fragment being received */
	blake3_hasher		 all;		/* every byte, when begun at 0 */
	int			 all_ok;	/* all saw the file from byte 0 */
	uint64_t		 last_ms;
	uid_t			 uid;
};

/* A partial as its state file records it. */
struct dl_state {
	uint64_t		 size;
	uint64_t		 frag;
	uint64_t		 verified;
	uint8_t			*leaves;	/* verified / frag leaves; caller frees */
};

static struct dl dl_tab[DL_MAX];
static uint32_t dl_next = 1;
static uint8_t dl_buf[256 + IPC_XSTAT_LEAVES_MAX * 32];
static uint8_t *dl_io;

static int
dl_path(struct storaged *s, const uint8_t hash[32], const char *ext, char *out,
    size_t cap)
{
	char hex[65];

	hex_encode(hex, hash, 32);
	if (snprintf(out, cap, "%s/%s/%s%s", s->d->dir, DL_SUBDIR, hex, ext) >= (int)cap)
		return -1;
	return 0;
}

static int
dl_mkdir(struct storaged *s)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", s->d->dir, DL_SUBDIR);
	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		log_warn("mkdir %s", path);
		return -1;
	}
	return 0;
}

static void
dl_remove_files(struct storaged *s, const uint8_t hash[32])
{
	char path[PATH_MAX];

	if (dl_path(s, hash, ".state", path, sizeof(path)) == 0)
		unlink(path);
	if (dl_path(s, hash, ".part", path, sizeof(path)) == 0)
		unlink(path);
}

/*
 * Reads the state file of hash and checks it (dl_state_parse): 0, or -1
 * (none or unusable).
 */
static int
dl_state_load(struct storaged *s, const uint8_t hash[32], struct dl_state *st)
{
	char path[PATH_MAX];
	struct dl_state_view v;
	struct stat sb;
	uint8_t *b = NULL;
	size_t len;
	int fd;

	memset(st, 0, sizeof(*st));
	if (dl_path(s, hash, ".state", path, sizeof(path)) != 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size < DL_STATE_MIN || sb.st_size > DL_STATE_MAX)
		goto bad;
	len = (size_t)sb.st_size;
	if ((b = malloc(len)) == NULL || pread(fd, b, len, 0) != (ssize_t)len)
		goto bad;
	close(fd);
	fd = -1;
	if (dl_state_parse(b, len, hash, &v) != DL_STATE_OK)
		goto bad;
	st->size = v.size;
	st->frag = v.frag;
	st->verified = v.verified;
	if ((st->leaves = malloc(v.nleaves * DL_STATE_LEAF + 1)) == NULL)
		goto bad;
	memcpy(st->leaves, v.leaves, v.nleaves * DL_STATE_LEAF);
	free(b);
	return 0;
bad:
	if (fd != -1)
		close(fd);
	free(b);
	return -1;
}

/* Replaces the state file atomically: 0 or -1. */
static int
dl_state_save(struct storaged *s, const uint8_t hash[32], uint64_t size, uint64_t frag,
    uint64_t verified, const uint8_t *leaves, int durable)
{
	/* One writer at a time (one temp name): the disk thread (diskq.h), or
	 * the loop once it is drained. */
	char path[PATH_MAX], tmp[PATH_MAX];
	size_t len = dl_state_len(frag, verified);
	uint8_t *b;
	int fd, rc = -1;

	path[0] = '\0';
	if (len == 0 || (b = malloc(len)) == NULL)
		return -1;
	if (dl_state_encode(b, len, hash, size, frag, verified, leaves) != (long)len ||
	    dl_path(s, hash, ".state", path, sizeof(path)) != 0 ||
	    dl_path(s, hash, ".state.tmp", tmp, sizeof(tmp)) != 0)
		goto out;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1)
		goto out;
	if (write(fd, b, len) != (ssize_t)len || (durable && fsync(fd) == -1)) {
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) == -1) {
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		log_warn("download state %s", path);
	free(b);
	return rc;
}

/*
 * The checkpoints in the middle of a download, light and durable, are
 * written on storaged's disk thread (diskq.h), so that the loop (and the
 * download) never waits for the disk: a job holds {a dup of the part
 * file's fd, the state to record, durable or not}; it writes the state
 * file and, for a durable one, fdatasyncs the data first and fsyncs the
 * state.  Light ones went on the loop before, and each rename that met
 * the thread's fdatasync waited for ext4's journal commit: 12-18 ms a time,
 * every 32 MB (strace, a 200 MB download at ~450 MB/s: ~90 ms of the loop's
 * ~480 ms).  A checkpoint job of the same download still waiting, light,
 * is replaced by the next one (the newest state is what counts); a full
 * queue skips the checkpoint, and the next one tries again.  A state
 * written is never ahead of the data (written before it was queued).
 * Before a download is committed, closed or discarded the queue is drained
 * (diskq_drain), so no state file outlives its download.
 */
#define DL_JOB		1	/* diskq kind */

struct dl_job {
	struct diskq_job job;
	struct storaged	*s;
	int		 fd;
	int		 durable;
	uint8_t		 hash[32];
	uint64_t	 size, frag, verified;
	uint8_t		*leaves;
};

static void
dl_job_run(struct diskq_job *job)
{
	struct dl_job *j = (struct dl_job *)job;

	if (j->durable && fdatasync(j->fd) == -1)
		log_warn("download checkpoint: fdatasync");
	else
		(void)dl_state_save(j->s, j->hash, j->size, j->frag, j->verified,
		    j->leaves, j->durable);
	close(j->fd);
	free(j->leaves);
	free(j);
}

/* The state of d at v, into j (leaves copied into j->leaves, ln bytes). */
static void
dl_job_fill(struct dl_job *j, const struct dl *d, uint64_t v, size_t ln, int durable)
{
	memcpy(j->leaves, d->leaves, ln);
	memcpy(j->hash, d->hash, 32);
	j->size = d->expected;
	j->frag = d->frag;
	j->verified = v;
	j->durable = durable;
}

struct dl_job_newer {
	const struct dl	*d;
	uint64_t	 v;
	int		 durable;
};

/* diskq_update: the waiting job, a light one of the same download, takes v. */
static int
dl_job_renew(struct diskq_job *newest, void *arg)
{
	struct dl_job *j = (struct dl_job *)newest;
	const struct dl_job_newer *nw = arg;
	size_t ln = (size_t)(nw->v / nw->d->frag) * 32;
	uint8_t *lv;

	/* The leaves only grow: the buffer is enlarged, not replaced. */
	if (j->durable || memcmp(j->hash, nw->d->hash, 32) != 0 ||
	    (lv = realloc(j->leaves, ln + 1)) == NULL)
		return -1;
	j->leaves = lv;
	dl_job_fill(j, nw->d, nw->v, ln, nw->durable);
	return 0;
}

/* Queues a checkpoint: 0, or -1 (queue full, no thread, no memory). */
static int
dl_sync_queue(struct storaged *s, struct dl *d, uint64_t v, int durable)
{
	struct dl_job_newer nw = { d, v, durable };
	size_t ln = (size_t)(v / d->frag) * 32;
	struct dl_job *j;

	if (diskq_update(DL_JOB, dl_job_renew, &nw) == 0)
		return 0;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	j->job.run = dl_job_run;
	j->job.kind = DL_JOB;
	j->s = s;
	if ((j->leaves = malloc(ln + 1)) == NULL || (j->fd = dup(d->fd)) == -1) {
		free(j->leaves);
		free(j);
		return -1;
	}
	dl_job_fill(j, d, v, ln, durable);
	if (diskq_push(&j->job, 0) != 0) {
		close(j->fd);
		free(j->leaves);
		free(j);
		return -1;
	}
	return 0;
}

/*
 * Writes a checkpoint at the last complete fragment received.  durable:
 * now, with the data and the state synced first (a download being closed);
 * light and queued: on the disk thread, the queued one synced (on the loop,
 * unsynced, when there is no thread).
 */
enum { DL_CP_LIGHT, DL_CP_QUEUED, DL_CP_DURABLE };

static void
dl_checkpoint(struct storaged *s, struct dl *d, int how)
{
	uint64_t v = d->nleaves * d->frag;

	if (d->nleaves == 0)
		return;
	if (v >= d->expected)	/* complete: commit follows, keep one fragment to fetch */
		v = (d->nleaves - 1) * d->frag;
	if (how == DL_CP_DURABLE) {
		/* First: a queued one for this download must not land later. */
		diskq_drain();
		if (v <= d->synced)
			return;
		if (fdatasync(d->fd) == -1) {
			log_warn("download %u: fdatasync", d->id);
			return;
		}
		if (dl_state_save(s, d->hash, d->expected, d->frag, v, d->leaves, 1) == 0)
			d->verified = d->synced = v;
		return;
	}
	if (v <= d->verified)
		return;
	if (dl_sync_queue(s, d, v, how == DL_CP_QUEUED) == 0) {
		d->verified = v;
		if (how == DL_CP_QUEUED)
			d->synced = v;
		return;
	}
	if (!diskq_available() &&
	    dl_state_save(s, d->hash, d->expected, d->frag, v, d->leaves, 0) == 0)
		d->verified = v;
}

static void
dl_free(struct storaged *s, struct dl *d, int discard)
{
	if (d->id == 0)
		return;
	if (!discard && d->fd != -1)
		dl_checkpoint(s, d, DL_CP_DURABLE);
	else
		diskq_drain();	/* no state file may come back after this */
	if (d->fd != -1)
		close(d->fd);
	if (discard)
		dl_remove_files(s, d->hash);
	free(d->leaves);
	memset(d, 0, sizeof(*d));
	d->fd = -1;
}

static void
dl_expire(struct storaged *s, uint64_t now)
{
	char hex[17];
	int i;

	for (i = 0; i < DL_MAX; i++)
		if (dl_tab[i].id != 0 && now - dl_tab[i].last_ms > DL_IDLE_MS) {
			hex_encode(hex, dl_tab[i].hash, 8);
			log_warnx("download %u of %s… idle: closed, verified prefix kept",
			    dl_tab[i].id, hex);
			dl_free(s, &dl_tab[i], 0);
		}
}

static struct dl *
dl_find(uint32_t id, uid_t uid)
{
	int i;

	for (i = 0; i < DL_MAX; i++)
		if (id != 0 && dl_tab[i].id == id && dl_tab[i].uid == uid)
			return &dl_tab[i];
	return NULL;
}

static struct dl *
dl_find_hash(const uint8_t hash[32])
{
	int i;

	for (i = 0; i < DL_MAX; i++)
		if (dl_tab[i].id != 0 && memcmp(dl_tab[i].hash, hash, 32) == 0)
			return &dl_tab[i];
	return NULL;
}

static void
dl_reply_empty(struct ipc_req *req, uint16_t type)
{
	long n = ipc_empty_encode(dl_buf, sizeof(dl_buf), type, IPC_OK);

	ipc_reply(req, dl_buf, (size_t)n);
}

static int
dl_io_buf(void)
{
	if (dl_io == NULL)
		dl_io = malloc(DL_IO);
	return dl_io != NULL ? 0 : -1;
}

/*
 * The verified prefix of hash's partial, re-hashed against its leaves; a
 * prefix damaged on disk is cut back to its last good fragment.  0 and
 * *verified, *size (0, 0 when there is no usable partial).
 */
/* Feeds bytes [off, off + len) of fd into h: 0, or -1 (short read). */
static int
dl_hash_range(int fd, uint64_t off, uint64_t len, blake3_hasher *h)
{
	uint64_t end = off + len;
	ssize_t got;

	if (dl_io_buf() != 0)
		return -1;
	for (; off < end; off += (uint64_t)got) {
		size_t want = end - off > DL_IO ? DL_IO : (size_t)(end - off);

		if ((got = pread(fd, dl_io, want, (off_t)off)) <= 0)
			return -1;
		blake3_hasher_update(h, dl_io, (size_t)got);
	}
	return 0;
}

static void
dl_partial(struct storaged *s, const uint8_t hash[32], int check, uint64_t *verified,
    uint64_t *size)
{
	struct dl_state st;
	char path[PATH_MAX];
	uint8_t leaf[32];
	uint64_t i, n, good;
	int fd;

	*verified = *size = 0;
	if (dl_state_load(s, hash, &st) != 0)
		return;
	/* Being written right now: its last checkpoint is what a resume gets. */
	if (!check || dl_find_hash(hash) != NULL) {
		*verified = st.verified;
		*size = st.size;
		free(st.leaves);
		return;
	}
	n = st.verified / st.frag;
	/* Fragments before the re-hashed tail count as good. */
	i = st.verified > DL_RECHECK ? (st.verified - DL_RECHECK) / st.frag : 0;
	good = i;
	if (n > 0 && dl_path(s, hash, ".part", path, sizeof(path)) == 0 &&
	    (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) != -1) {
		for (; i < n; i++) {
			blake3_hasher bh;

			blake3_hasher_init(&bh);
			if (dl_hash_range(fd, i * st.frag, st.frag, &bh) != 0)
				break;
			blake3_hasher_finalize(&bh, leaf, 32);
			if (memcmp(leaf, st.leaves + i * 32, 32) != 0)
				break;
			good = i + 1;
		}
		close(fd);
	} else
		good = 0;	/* no part file: nothing kept */
	if (good != n) {
		char hex[17];

		hex_encode(hex, hash, 8);
		log_warnx("partial download of %s…: fragment %llu fails its recorded leaf "
		    "hash: kept prefix cut to %llu bytes", hex, (unsigned long long)good,
		    (unsigned long long)(good * st.frag));
		dl_state_save(s, hash, st.size, st.frag, good * st.frag, st.leaves, 1);
	}
	*verified = good * st.frag;
	*size = st.size;
	free(st.leaves);
}

void
storaged_xstat(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct ipc_xstat_req q;
	struct ipc_xstat_rep r;
	uint64_t size = 0;
	int rc;
	long n;

	if (ipc_req_bad(req, ipc_xstat_req_decode(msg, len, &q), "xstat request"))
		return;
	memset(&r, 0, sizeof(r));
	rc = wh_stat(s->wh, q.hash, &size);
	if (rc == 0) {
		r.present = 1;
		r.size = size;
	} else if (rc != WH_ERR_NOTFOUND) {
		ipc_reply_error(req, IPC_ERR_FAILED, "warehouse: %s", wh_strerror(rc));
		return;
	} else if (q.flags & IPC_XSTAT_F_PARTIAL)
		dl_partial(s, q.hash, (q.flags & IPC_XSTAT_F_CHECK) != 0, &r.partial,
		    &r.partial_size);
	/*
	 * A peer's merkle request (XFER_PROTO_MERKLE): leaves from the
	 * companion, only of a stored file of several fragments; anything else
	 * (small file, unreadable companion) is answered without a tree.
	 */
	if (r.present && (q.flags & IPC_XSTAT_F_MERKLE)) {
		struct wh_merkle_info mi;
		size_t got;

		if (wh_merkle_leaves(s->wh, q.hash, q.first, r.leaves,
		    IPC_XSTAT_LEAVES_MAX, &got, &mi) == WH_OK && mi.file_size == size) {
			r.has_tree = 1;
			r.fragment_size = mi.fragment_size;
			r.fragment_count = mi.fragment_count;
			memcpy(r.root, mi.root, 32);
			r.first = q.first;
			r.nleaves = (uint32_t)got;
		}
	}
	n = ipc_xstat_rep_encode(dl_buf, sizeof(dl_buf), &r);
	ipc_reply(req, dl_buf, (size_t)n);
}

void
storaged_dl_begin(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct ipc_dl_begin q;
	struct dl_state st;
	struct dl *d = NULL, *old;
	char path[PATH_MAX];
	uint64_t now = loop_now_ms();
	int i, flags;
	long n;

	if (ipc_req_bad(req, ipc_dl_begin_decode(msg, len, &q), "download-begin request"))
		return;
	if (q.size > DL_MAX_SIZE) {
		ipc_reply_error(req, IPC_ERR_FAILED, "files larger than 1 TiB are refused");
		return;
	}
	dl_expire(s, now);
	/* One writer per hash: a download left open (netd restarted) is closed. */
	if ((old = dl_find_hash(q.hash)) != NULL)
		dl_free(s, old, 0);
	for (i = 0; i < DL_MAX; i++)
		if (dl_tab[i].id == 0) {
			d = &dl_tab[i];
			break;
		}
	if (d == NULL) {
		ipc_reply_error(req, IPC_ERR_FAILED, "too many downloads at once (%d)", DL_MAX);
		return;
	}
	memset(d, 0, sizeof(*d));
	d->fd = -1;
	d->frag = q.size > 0 ? merkle_fragment_size(q.size) : MERKLE_MIN_FRAGMENT_SIZE;
	memset(&st, 0, sizeof(st));
	if (q.offset > 0) {
		/* A resume: only from the verified prefix of the same file. */
		if (dl_state_load(s, q.hash, &st) != 0 || st.size != q.size ||
		    q.offset > st.verified || q.offset % st.frag != 0) {
			free(st.leaves);
			ipc_reply_error(req, IPC_ERR_FAILED, "no verified prefix of %llu "
			    "bytes kept for this file", (unsigned long long)q.offset);
			return;
		}
	}
	if (dl_mkdir(s) != 0 || dl_path(s, q.hash, ".part", path, sizeof(path)) != 0) {
		free(st.leaves);
		ipc_reply_error(req, IPC_ERR_FAILED, "cannot create the partial download");
		return;
	}
	flags = O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (q.offset == 0 ? O_TRUNC : 0);
	if ((d->fd = open(path, flags, 0600)) == -1 ||
	    ftruncate(d->fd, (off_t)q.offset) == -1) {
		ipc_reply_error(req, IPC_ERR_FAILED, "%s: %s", path, strerror(errno));
		free(st.leaves);
		if (d->fd != -1)
			close(d->fd);
		d->fd = -1;
		return;
	}
	d->nleaves = q.offset / d->frag;
	/* Room for every leaf of the file (<= 16384, see DL_MAX_SIZE). */
	if ((d->leaves = calloc(merkle_fragment_count(q.size, d->frag) + 1, 32)) == NULL) {
		free(st.leaves);
		close(d->fd);
		d->fd = -1;
		ipc_reply_error(req, IPC_ERR_FAILED, "out of memory");
		return;
	}
	if (d->nleaves > 0)
		memcpy(d->leaves, st.leaves, d->nleaves * 32);
	free(st.leaves);
	/* Record the start: a crash before the first checkpoint resumes here. */
	if (dl_state_save(s, q.hash, q.size, d->frag, q.offset, d->leaves, 1) != 0) {
		close(d->fd);
		free(d->leaves);
		memset(d, 0, sizeof(*d));
		d->fd = -1;
		ipc_reply_error(req, IPC_ERR_FAILED, "cannot write the download state");
		return;
	}
	blake3_hasher_init(&d->fh);
	/* Begun at 0: the whole-file hash grows with the data and commit
	 * needs no second pass; a resume hashes the file at commit. */
	blake3_hasher_init(&d->all);
	d->all_ok = q.offset == 0;
	d->id = dl_next++;
	if (dl_next == 0)
		dl_next = 1;
	memcpy(d->hash, q.hash, sizeof(d->hash));
	d->expected = q.size;
	d->received = d->verified = d->synced = q.offset;
	d->last_ms = now;
	d->uid = ipc_req_uid(req);
	n = ipc_u32_encode(dl_buf, sizeof(dl_buf), IPC_DL_BEGIN, d->id);
	ipc_reply(req, dl_buf, (size_t)n);
}

/*
 * Feeds bytes into the whole-file hash (begun at 0) and the fragment
 * hashes, a fragment at a time so both read it while it is in the cache;
 * at a fragment's end its leaf is kept and, for a one-fragment file,
 * checked against the file hash (docs/data.md §4.3).  0, or -1 when that
 * check fails.
 *
 * Fragment 0's leaf is the whole-file hasher finalized after it (as in
 * blake3_split_hasher): its bytes are hashed once.  Later fragments would
 * be hashed twice: a leaf is a BLAKE3 tree of its own whose chunk counters
 * start at 0, in the file's tree they start at the fragment's offset, so
 * no leaf after the first can be taken from the file's tree.  Unless netd
 * sent the leaves it checked each fragment against (`given`, one per
 * fragment the chunk completes, dl_leaves_fit): those are recorded and
 * the fragment is hashed once, for the file.  That trusts netd with the
 * leaves, not with the content: commit still refuses data whose BLAKE3 is
 * not the hash begun for.  A lying netd could record leaves that do not
 * match the data; they serve the resume check of the kept prefix (which
 * would cut it back) and the merkle companion that same netd serves.
 */
static int
dl_hash(struct storaged *s, struct dl *d, const uint8_t *p, size_t len,
    const uint8_t *given)
{
	uint64_t pos = d->received, end, take;
	uint8_t *leaf;
	int first;

	while (len > 0) {
		end = (d->nleaves + 1) * d->frag;
		if (end > d->expected)
			end = d->expected;
		take = end - pos < len ? end - pos : len;
		first = d->all_ok && d->nleaves == 0;
		if (d->all_ok)
			blake3_hasher_update(&d->all, p, (size_t)take);
		if (!first && given == NULL)
			blake3_hasher_update(&d->fh, p, (size_t)take);
		p += take;
		len -= (size_t)take;
		pos += take;
		if (pos < end)
			continue;
		leaf = d->leaves + d->nleaves * 32;
		if (first)
			blake3_hasher_finalize(&d->all, leaf, 32);
		else if (given != NULL)
			memcpy(leaf, given, 32);
		else {
			blake3_hasher_finalize(&d->fh, leaf, 32);
			blake3_hasher_init(&d->fh);
		}
		if (given != NULL)
			given += 32;
		d->nleaves++;
		if (d->expected <= d->frag && memcmp(leaf, d->hash, 32) != 0)
			return -1;
		if (pos < d->expected && pos - d->verified >= DL_CHECKPOINT)
			dl_checkpoint(s, d, pos - d->synced >= DL_SYNC ?
			    DL_CP_QUEUED : DL_CP_LIGHT);
	}
	return 0;
}

/*
 * Leaves sent with a chunk must be one per fragment it completes: the
 * chunk begins and ends on the fragment grid (or at the file's end).
 */
static int
dl_leaves_fit(const struct dl *d, const struct ipc_dl_data *dd)
{
	uint64_t end = d->received + dd->len;

	if (dd->leaves_len == 0)
		return 1;
	return dd->len > 0 && d->received % d->frag == 0 &&
	    (end == d->expected || end % d->frag == 0) &&
	    dd->leaves_len / 32 == (end + d->frag - 1) / d->frag - d->received / d->frag;
}

void
storaged_dl_data(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct ipc_dl_data dd;
	struct dl *d;
	uint64_t at;
	size_t w;
	ssize_t k;

	if (ipc_req_bad(req, ipc_dl_data_decode(msg, len, &dd), "download data"))
		return;
	if ((d = dl_find(dd.id, ipc_req_uid(req))) == NULL) {
		ipc_reply_error(req, IPC_ERR_FAILED, "no download %u", dd.id);
		return;
	}
	/* In order and never past the announced size: a peer cannot fill our disk. */
	if (dd.offset != d->received || dd.len > d->expected - d->received) {
		ipc_reply_error(req, IPC_ERR_FAILED, "download %u: chunk of %u bytes at "
		    "%llu, expected at %llu (of %llu bytes)", dd.id, dd.len,
		    (unsigned long long)dd.offset, (unsigned long long)d->received,
		    (unsigned long long)d->expected);
		dl_free(s, d, 0);
		return;
	}
	if (!dl_leaves_fit(d, &dd)) {
		ipc_reply_error(req, IPC_ERR_FAILED, "download %u: %u leaves for a chunk "
		    "of %u bytes at %llu (fragments of %llu bytes)", dd.id,
		    dd.leaves_len / 32, dd.len, (unsigned long long)dd.offset,
		    (unsigned long long)d->frag);
		dl_free(s, d, 0);
		return;
	}
	at = d->received;
	for (w = 0; w < dd.len; w += (size_t)k)
		if ((k = pwrite(d->fd, dd.bytes + w, dd.len - w, (off_t)(at + w))) <= 0) {
			ipc_reply_error(req, IPC_ERR_FAILED, "partial download: %s",
			    strerror(k == 0 ? EIO : errno));
			dl_free(s, d, 0);
			return;
		}
	if (dl_hash(s, d, dd.bytes, dd.len, dd.leaves_len > 0 ? dd.leaves : NULL) != 0) {
		char hex[17];

		hex_encode(hex, d->hash, 8);
		log_warnx("download %u of %s…: its only fragment does not hash to the "
		    "file hash: discarded", dd.id, hex);
		ipc_reply_error(req, IPC_ERR_FAILED, DL_VERIFY_FAIL ": fragment 0 "
		    "(bytes 0-%llu) does not hash to the file hash; discarded",
		    (unsigned long long)d->expected);
		dl_free(s, d, 1);
		return;
	}
	d->received += dd.len;
	d->last_ms = loop_now_ms();
	dl_reply_empty(req, IPC_DL_DATA);
}

/*
 * Copies the part file into the warehouse, which hashes it on the way
 * (file hash and leaves in one pass): 0, or -1 with why set (the partial
 * is discarded when it is bad).
 */
static int
dl_commit_copy(struct storaged *s, struct dl *d, uint8_t hash[32], uint64_t *size,
    int *dedup, int *rcp)
{
	struct wh_writer *w;
	uint8_t got[32];
	uint64_t off;
	ssize_t k;

	*rcp = 0;
	if (dl_io_buf() != 0 || (*rcp = wh_write_begin(s->wh, d->expected, &w)) != 0)
		return -1;
	for (off = 0; off < d->expected; off += (uint64_t)k) {
		size_t want = d->expected - off > DL_IO ? DL_IO : (size_t)(d->expected - off);

		if ((k = pread(d->fd, dl_io, want, (off_t)off)) <= 0) {
			wh_write_abort(w);
			*rcp = WH_ERR_READ;
			return -1;
		}
		if ((*rcp = wh_write_data(w, dl_io, (size_t)k)) != 0) {
			wh_write_abort(w);
			return -1;
		}
	}
	if ((*rcp = wh_write_hash(w, got)) != 0) {
		wh_write_abort(w);
		return -1;
	}
	/* Refused before anything enters the warehouse. */
	if (memcmp(got, d->hash, 32) != 0) {
		wh_write_abort(w);
		memcpy(hash, got, 32);
		return 1;
	}
	*rcp = wh_write_commit(w, hash, size, dedup);
	return 0;
}

/*
 * The fast commit: the part file itself becomes the warehouse's file
 * (rename, no copy).  Its BLAKE3 comes from the hash kept while the data
 * arrived, or from one reading pass after a resume; the companion from the
 * fragment leaves kept for the state file.  Returns 0 when the data is in
 * the warehouse (*rcp: warehouse result), 1 when the data does not hash to
 * the download's hash (got set), -1 when it could not be placed and the
 * copy path should try (a partial directory on another file system, no
 * memory for the companion): the part file is then untouched.
 */
static int
dl_commit_adopt(struct storaged *s, struct dl *d, uint8_t got[32], int *dedup,
    int *rcp)
{
	blake3_hasher bh;
	char path[PATH_MAX];
	uint8_t *exp = NULL;
	size_t explen = 0;
	uint64_t count;
	int placed = 0, fd;

	*rcp = 0;
	if (d->all_ok)
		blake3_hasher_finalize(&d->all, got, 32);
	else {
		blake3_hasher_init(&bh);
		if (dl_hash_range(d->fd, 0, d->expected, &bh) != 0)
			return -1;
		blake3_hasher_finalize(&bh, got, 32);
	}
	if (memcmp(got, d->hash, 32) != 0)
		return 1;
	count = merkle_fragment_count(d->expected, d->frag);
	if (d->expected > MERKLE_MIN_FRAGMENT_SIZE) {
		if (d->nleaves != count ||
		    merkle_export_size(d->expected, d->frag, &explen) != MERKLE_OK ||
		    (exp = malloc(explen)) == NULL ||
		    merkle_export_from_leaves(d->expected, d->frag, d->leaves, count,
		    exp, explen, NULL) != MERKLE_OK) {
			free(exp);
			return -1;
		}
	}
	if (dl_path(s, d->hash, ".part", path, sizeof(path)) != 0 ||
	    (fd = dup(d->fd)) == -1) {
		free(exp);
		return -1;
	}
	*rcp = wh_adopt(s->wh, path, fd, d->hash, d->expected, exp, explen, dedup,
	    &placed);
	free(exp);
	return placed ? 0 : -1;
}

void
storaged_dl_commit(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct ipc_dl_commit q;
	struct dl *d;
	uint8_t hash[32] = { 0 };
	uint64_t size = 0;
	char want[65], got[65];
	int rc, dedup = 0, c;

	if (ipc_req_bad(req, ipc_dl_commit_decode(msg, len, &q),
	    "download-commit request"))
		return;
	if ((d = dl_find(q.id, ipc_req_uid(req))) == NULL) {
		ipc_reply_error(req, IPC_ERR_FAILED, "no download %u", q.id);
		return;
	}
	hex_encode(want, q.hash, 32);
	if (memcmp(q.hash, d->hash, 32) != 0 || d->received != d->expected) {
		ipc_reply_error(req, IPC_ERR_FAILED, "download %u: %s", q.id,
		    d->received != d->expected ? "incomplete" :
		    "commit for another hash than begun");
		dl_free(s, d, 0);
		return;
	}
	errno = 0;
	if ((c = dl_commit_adopt(s, d, hash, &dedup, &rc)) == 0) {
		memcpy(hash, d->hash, 32);
		size = d->expected;
	} else if (c == -1) {
		if (rc != 0)
			log_warnx("download %u: the part file cannot be renamed into the "
			    "warehouse (%s%s%s): copying it", q.id, wh_strerror(rc),
			    errno ? ": " : "", errno ? strerror(errno) : "");
		errno = 0;
		c = dl_commit_copy(s, d, hash, &size, &dedup, &rc);
	}
	if (c == 1) {
		hex_encode(got, hash, 32);
		log_warnx("download %u refused: data hashes to %s, not %s", q.id, got, want);
		ipc_reply_error(req, IPC_ERR_FAILED, DL_VERIFY_FAIL ": the data hashes to "
		    "%s, not %s; discarded", got, want);
		dl_free(s, d, 1);
		return;
	}
	if (c != 0 || (rc != 0 && rc != WH_ERR_MERKLE)) {
		ipc_reply_error(req, IPC_ERR_FAILED, "warehouse: %s%s%s", wh_strerror(rc),
		    errno ? ": " : "", errno ? strerror(errno) : "");
		dl_free(s, d, 0);
		return;
	}
	if (memcmp(hash, d->hash, 32) != 0) {
		/* The part file changed between the two passes: never keep that. */
		hex_encode(got, hash, 32);
		if (!dedup && (rc = wh_delete(s->wh, hash)) != 0)
			log_warnx("download %u: cannot remove the bad data %s: %s",
			    q.id, got, wh_strerror(rc));
		ipc_reply_error(req, IPC_ERR_FAILED, DL_VERIFY_FAIL ": the data hashes to "
		    "%s, not %s; discarded", got, want);
		dl_free(s, d, 1);
		return;
	}
	/* Kept by the crash recovery step although no record refers to it. */
	storaged_mark_download(s, hash);
	if (rc != 0)
		log_warnx("download %u of %s stored, but: %s", q.id, want, wh_strerror(rc));
	else
		log_info("downloaded %s (%llu bytes)%s", want, (unsigned long long)size,
		    dedup ? ", content already stored" : "");
	dl_free(s, d, 1);
	dl_reply_empty(req, IPC_DL_COMMIT);
}

void
storaged_dl_abort(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct ipc_dl_abort q;
	struct dl *d;

	if (ipc_req_bad(req, ipc_dl_abort_decode(msg, len, &q), "download-abort request"))
		return;
	if ((d = dl_find(q.id, ipc_req_uid(req))) != NULL &&
	    memcmp(d->hash, q.hash, 32) == 0)
		dl_free(s, d, q.discard);
	else if (q.discard && dl_find_hash(q.hash) == NULL)
		dl_remove_files(s, q.hash);
	dl_reply_empty(req, IPC_DL_ABORT);
}
