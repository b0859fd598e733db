/*
 * serve_files.c — IPC_FILES_ALL: every file record storaged knows, the own
 * chain's then the cache's, as one stream that searchd reads page by page
 * from a cursor to rebuild its index (events can be missed while searchd
 * or storaged restarts).
 *
 * The cursor is a position, not a count: (block, record index) in the own
 * chain, then (owner, block, record index) in the cache.  A page starts at
 * the first record at or after it, so records added or removed between two
 * pages never make the rebuild skip or repeat others; searchd receives
 * those changes as events anyway.
 *
 * Both walks start at the cursor's block (the own chain block by block,
 * the cache with cache_foreach_file_from), so a page costs what it returns
 * plus the records before the cursor within that one block.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "storaged.h"

/* One page at most: the reply is built here. */
static uint8_t files_buf[IPC_MSG_MAX];

struct files_walk {
	struct storaged	*s;
	struct ipc_files_cursor from;	/* first position wanted */
	struct ipc_files_cursor next;	/* where the following page starts */
	uint32_t	 limit;
	uint32_t	 count;		/* records in the page */
	size_t		 off;		/* end of the page in files_buf */
	int		 full;
};

#define WALK_STOP	1	/* the page is full: stop the walk */

/* Adds the record at position pos, or ends the page there. */
static int
files_take(struct files_walk *w, const struct ipc_files_cursor *pos,
    const struct chain_file *cf, const uint8_t owner[33])
{
	static struct ipc_file f;

	if (ipc_files_cursor_cmp(pos, &w->from) < 0)
		return 0;
	if (w->count < w->limit) {
		storaged_file_to_ipc(cf, owner, &f);
		if (ipc_files_page_add(files_buf, sizeof(files_buf), &w->off,
		    &f) == 0) {
			w->count++;
			return 0;
		}
	}
	/* this record opens the next page */
	w->next = *pos;
	w->full = 1;
	return WALK_STOP;
}

/* The own chain from the cursor's block on, block by block. */
static int
files_own(struct files_walk *w, char *err, size_t errlen)
{
	struct chain *c = w->s->chain;
	struct chain_info info;
	struct chain_scratch scratch = { NULL, 0 };
	struct ipc_files_cursor pos;
	struct block b;
	struct block_iter it;
	struct block_record r;
	struct chain_file cf;
	uint8_t *raw = NULL, *nr;
	size_t cap = 0, len;
	uint64_t n;
	uint32_t i;
	int rc = 0;

	if ((rc = chain_info(c, &info)) != 0) {
		snprintf(err, errlen, "blockchain: %s", chain_strerror(rc));
		return -1;
	}
	memset(&pos, 0, sizeof(pos));
	pos.phase = IPC_FILES_OWN;
	n = w->from.phase == IPC_FILES_OWN ? w->from.block : info.height;
	for (; n < info.height && !w->full; n++) {
		rc = chain_block(c, n, raw, cap, &len);
		if (rc == CHAIN_ERR_NOSPACE) {
			if ((nr = realloc(raw, len)) == NULL) {
				snprintf(err, errlen, "out of memory");
				rc = -1;
				break;
			}
			raw = nr;
			cap = len;
			rc = chain_block(c, n, raw, cap, &len);
		}
		if (rc == CHAIN_ERR_NOT_FOUND)	/* a hole: nothing there */
			continue;
		if (rc != 0) {
			snprintf(err, errlen, "blockchain: %s", chain_strerror(rc));
			rc = -1;
			break;
		}
		if (block_decode(raw, len, &b) != BLOCK_OK) {
			snprintf(err, errlen, "blockchain: block %llu does not "
			    "decode", (unsigned long long)n);
			rc = -1;
			break;
		}
		pos.block = n;
		block_iter_init(&it, &b);
		for (i = 0; block_iter_next(&it, &r) == 1; i++) {
			if (r.type != BLOCK_REC_FILE)
				continue;
			pos.record = i;
			if (ipc_files_cursor_cmp(&pos, &w->from) < 0)
				continue;
			if (chain_file_decode(&b, i, &cf, &scratch) != BLOCK_OK) {
				snprintf(err, errlen, "blockchain: record %u of "
				    "block %llu does not decode", i,
				    (unsigned long long)n);
				rc = -1;
				break;
			}
			if (files_take(w, &pos, &cf, w->s->owner) == WALK_STOP)
				break;
		}
		if (rc == -1)
			break;
		rc = 0;
	}
	free(raw);
	chain_scratch_free(&scratch);
	return rc;
}

static int
files_cached(void *arg, const uint8_t owner[PEERNET_PUBKEY_BYTES], uint64_t version,
    const struct chain_file *cf)
{
	struct files_walk *w = arg;
	struct ipc_files_cursor pos;

	(void)version;
	pos.phase = IPC_FILES_CACHE;
	memcpy(pos.owner, owner, sizeof(pos.owner));
	pos.block = cf->block;
	pos.record = cf->record;
	return files_take(w, &pos, cf, owner);
}

void
storaged_files_all(struct storaged *s, struct ipc_req *req, const uint8_t *msg,
    size_t len)
{
	struct ipc_files_req q;
	struct files_walk w;
	char err[256];
	long n;
	int rc;

	if ((rc = ipc_files_req_decode(msg, len, &q)) != 0) {
		ipc_reply_error(req, IPC_ERR_BADMSG, "malformed files-all request: %s",
		    ipc_decode_strerror(rc));
		return;
	}
	/* Without the own chain the stream would be incomplete: searchd retries. */
	if (s->chain == NULL) {
		ipc_reply_error(req, IPC_ERR_UNAVAILABLE, "the own blockchain is not "
		    "open yet");
		return;
	}
	memset(&w, 0, sizeof(w));
	w.s = s;
	w.from = q.from;
	w.limit = q.limit;
	n = ipc_files_page_begin(files_buf, sizeof(files_buf), &q.from);
	w.off = (size_t)n;
	if (q.from.phase <= IPC_FILES_OWN && files_own(&w, err, sizeof(err)) != 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "%s", err);
		return;
	}
	if (!w.full && q.from.phase <= IPC_FILES_CACHE && s->cache != NULL) {
		rc = q.from.phase == IPC_FILES_CACHE ?
		    cache_foreach_file_from(s->cache, q.from.owner, q.from.block,
		    files_cached, &w) :
		    cache_foreach_file(s->cache, files_cached, &w);
		if (rc != 0 && rc != WALK_STOP) {
			ipc_reply_error(req, IPC_ERR_FAILED, "cache: %s",
			    cache_strerror(rc));
			return;
		}
	}
	if (!w.full) {
		memset(&w.next, 0, sizeof(w.next));
		w.next.phase = IPC_FILES_END;
	}
	ipc_files_page_end(files_buf, &w.next, !w.full);
	ipc_reply(req, files_buf, w.off);
}
