/*
 * serve_dl.c — storaged's side of file transfers (PROTOCOL.md §9.3):
 * IPC_XSTAT (does the warehouse hold this content, how large) for netd's
 * provider and for ctl, and downloads streamed in by netd as warehouse-only
 * writes: begin {hash, size} -> id, data in order, commit, abort.
 *
 * netd is treated as hostile here: a download never takes more bytes than
 * announced at its start, chunks must come in order, only the uid that
 * began it may continue it, and commit REFUSES (deleting the temp file, or
 * the new file) when the BLAKE3 of what arrived is not the hash the
 * download was started for.  Nothing corrupt stays in the warehouse, and no
 * chain record is created: downloaded content is just stored.
 *
 * The table lives here (storaged has one warehouse per process); idle
 * downloads are dropped lazily on the next download request.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "log.h"
#include "storaged.h"

#define DL_MAX		16		/* downloads being written at once */
#define DL_IDLE_MS	120000		/* without data for this long: dropped */

struct dl {
	uint32_t		 id;		/* 0: free */
	struct wh_writer	*w;
	uint8_t			 hash[32];
	uint64_t		 expected;
	uint64_t		 received;
	uint64_t		 last_ms;
	uid_t			 uid;
};

static struct dl dl_tab[DL_MAX];
static uint32_t dl_next = 1;
static uint8_t dl_buf[256];

static void
dl_free(struct dl *d)
{
	if (d->w != NULL)
		wh_write_abort(d->w);
	memset(d, 0, sizeof(*d));
}

static void
dl_expire(uint64_t now)
{
	char hex[17];
	int i;

	for (i = 0; i < DL_MAX; i++)
		if (dl_tab[i].id != 0 && now - dl_tab[i].last_ms > DL_IDLE_MS) {
			hex_encode(hex, dl_tab[i].hash, 8);
			log_warnx("download %u of %s… idle: dropped", dl_tab[i].id, hex);
			dl_free(&dl_tab[i]);
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

static void
dl_reply_empty(struct ipc_req *req, uint16_t type)
{
	long n = ipc_empty_encode(dl_buf, sizeof(dl_buf), type, IPC_OK);

	ipc_reply(req, dl_buf, (size_t)n);
}

void
storaged_xstat(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct ipc_xstat_req q;
	struct ipc_xstat_rep r;
	uint64_t size = 0;
	int rc;
	long n;

	if (ipc_xstat_req_decode(msg, len, &q) != 0) {
		ipc_reply_error(req, IPC_ERR_BADMSG, "malformed xstat request");
		return;
	}
	memset(&r, 0, sizeof(r));
	rc = wh_stat(s->wh, q.hash, &size);
	if (rc == 0) {
		r.present = 1;
		r.size = size;
	} else if (rc != WH_ERR_NOTFOUND) {
		ipc_reply_error(req, IPC_ERR_FAILED, "warehouse: %s", wh_strerror(rc));
		return;
	}
	n = ipc_xstat_rep_encode(dl_buf, sizeof(dl_buf), &r);
	ipc_reply(req, dl_buf, (size_t)n);
}

void
storaged_dl_begin(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct ipc_dl_begin q;
	struct dl *d = NULL;
	uint64_t now = loop_now_ms();
	int i, rc;
	long n;

	if (ipc_dl_begin_decode(msg, len, &q) != 0) {
		ipc_reply_error(req, IPC_ERR_BADMSG, "malformed download-begin request");
		return;
	}
	dl_expire(now);
	for (i = 0; i < DL_MAX; i++)
		if (dl_tab[i].id == 0) {
			d = &dl_tab[i];
			break;
		}
	if (d == NULL) {
		ipc_reply_error(req, IPC_ERR_FAILED, "too many downloads at once (%d)", DL_MAX);
		return;
	}
	if ((rc = wh_write_begin(s->wh, q.size, &d->w)) != 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "warehouse: %s", wh_strerror(rc));
		d->w = NULL;
		return;
	}
	d->id = dl_next++;
	if (dl_next == 0)
		dl_next = 1;
	memcpy(d->hash, q.hash, sizeof(d->hash));
	d->expected = q.size;
	d->received = 0;
	d->last_ms = now;
	d->uid = ipc_req_uid(req);
	n = ipc_u32_encode(dl_buf, sizeof(dl_buf), IPC_DL_BEGIN, d->id);
	ipc_reply(req, dl_buf, (size_t)n);
}

void
storaged_dl_data(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct ipc_data dd;
	struct dl *d;
	int rc;

	(void)s;
	if (ipc_data_decode(msg, len, IPC_DL_DATA, &dd) != 0) {
		ipc_reply_error(req, IPC_ERR_BADMSG, "malformed download data");
		return;
	}
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
		dl_free(d);
		return;
	}
	errno = 0;
	if ((rc = wh_write_data(d->w, dd.bytes, dd.len)) != 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "warehouse: %s%s%s", wh_strerror(rc),
		    errno ? ": " : "", errno ? strerror(errno) : "");
		dl_free(d);
		return;
	}
	d->received += dd.len;
	d->last_ms = loop_now_ms();
	dl_reply_empty(req, IPC_DL_DATA);
}

void
storaged_dl_commit(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct ipc_dl_commit q;
	struct dl *d;
	uint8_t hash[32] = { 0 };
	uint64_t size = 0;
	char want[65], got[65];
	int rc, dedup = 0;

	if (ipc_dl_commit_decode(msg, len, &q) != 0) {
		ipc_reply_error(req, IPC_ERR_BADMSG, "malformed download-commit request");
		return;
	}
	if ((d = dl_find(q.id, ipc_req_uid(req))) == NULL) {
		ipc_reply_error(req, IPC_ERR_FAILED, "no download %u", q.id);
		return;
	}
	hex_encode(want, q.hash, 32);
	if (memcmp(q.hash, d->hash, 32) != 0 || d->received != d->expected) {
		ipc_reply_error(req, IPC_ERR_FAILED, "download %u: %s", q.id,
		    d->received != d->expected ? "incomplete" :
		    "commit for another hash than begun");
		dl_free(d);
		return;
	}
	errno = 0;
	rc = wh_write_commit(d->w, hash, &size, &dedup);
	d->w = NULL;
	if (rc != 0 && rc != WH_ERR_MERKLE) {
		ipc_reply_error(req, IPC_ERR_FAILED, "warehouse: %s%s%s", wh_strerror(rc),
		    errno ? ": " : "", errno ? strerror(errno) : "");
		dl_free(d);
		return;
	}
	if (memcmp(hash, d->hash, 32) != 0) {
		hex_encode(got, hash, 32);
		/*
		 * The data is stored under its real hash now: remove it, unless
		 * it was there before (deduplicated: another file's content).
		 */
		if (!dedup && (rc = wh_delete(s->wh, hash)) != 0)
			log_warnx("download %u: cannot remove the bad data %s: %s",
			    q.id, got, wh_strerror(rc));
		log_warnx("download %u refused: data hashes to %s, not %s", q.id, got, want);
		ipc_reply_error(req, IPC_ERR_FAILED, "hash mismatch: the data hashes to "
		    "%s, not %s; discarded", got, want);
		dl_free(d);
		return;
	}
	/* Kept by the crash recovery step although no record refers to it. */
	storaged_mark_download(s, hash);
	if (rc != 0)
		log_warnx("download %u of %s stored, but: %s", q.id, want, wh_strerror(rc));
	else
		log_info("downloaded %s (%llu bytes)%s", want, (unsigned long long)size,
		    dedup ? ", content already stored" : "");
	dl_free(d);
	dl_reply_empty(req, IPC_DL_COMMIT);
}

void
storaged_dl_abort(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct dl *d;
	uint32_t id;

	(void)s;
	if (ipc_u32_decode(msg, len, IPC_DL_ABORT, &id) != 0) {
		ipc_reply_error(req, IPC_ERR_BADMSG, "malformed download-abort request");
		return;
	}
	if ((d = dl_find(id, ipc_req_uid(req))) != NULL)
		dl_free(d);
	dl_reply_empty(req, IPC_DL_ABORT);
}
