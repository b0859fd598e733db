/*
 * serve_files.c — IPC_FILES_ALL: every file record storaged knows, the own
 * chain's then the cache's, as one stream numbered from 0 that searchd
 * reads page by page to rebuild its index (events can be missed while
 * searchd or storaged restarts).
 *
 * A page is found by skipping `offset` records from the start: chain and
 * cache only offer a full walk (chain_foreach_file, cache_foreach_file), so
 * the whole rebuild costs O(N^2 / page) record decodes.  The walk stops as
 * soon as the page is full.  Records added or removed between two pages
 * shift the numbering; searchd receives those changes as events anyway.
 */
#include <string.h>

#include "log.h"
#include "storaged.h"

/* One page at most: the reply is built here. */
static uint8_t files_buf[IPC_MSG_MAX];

struct files_walk {
	struct storaged	*s;
	uint32_t	 offset;	/* first record wanted */
	uint32_t	 limit;
	uint32_t	 pos;		/* records walked so far */
	uint32_t	 count;		/* records in the page */
	size_t		 off;		/* end of the page in files_buf */
	int		 full;
};

#define WALK_STOP	1	/* the page is full: stop the walk */

static int
files_take(struct files_walk *w, const struct chain_file *cf, const uint8_t owner[33])
{
	static struct ipc_file f;

	if (w->pos < w->offset) {
		w->pos++;
		return 0;
	}
	if (w->count >= w->limit) {
		w->full = 1;
		return WALK_STOP;
	}
	storaged_file_to_ipc(cf, owner, &f);
	if (ipc_files_page_add(files_buf, sizeof(files_buf), &w->off, &f) != 0) {
		w->full = 1;
		return WALK_STOP;
	}
	w->pos++;
	w->count++;
	return 0;
}

static int
files_own(void *arg, const struct chain_file *cf)
{
	struct files_walk *w = arg;

	return files_take(w, cf, w->s->owner);
}

static int
files_cached(void *arg, const uint8_t owner[PEERNET_PUBKEY_BYTES], uint64_t version,
    const struct chain_file *cf)
{
	(void)version;
	return files_take(arg, cf, owner);
}

void
storaged_files_all(struct storaged *s, struct ipc_req *req, const uint8_t *msg,
    size_t len)
{
	struct ipc_files_req q;
	struct files_walk w;
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
	w.offset = q.offset;
	w.limit = q.limit;
	n = ipc_files_page_begin(files_buf, sizeof(files_buf), q.offset);
	w.off = (size_t)n;
	rc = chain_foreach_file(s->chain, files_own, &w);
	if (rc != 0 && rc != WALK_STOP) {
		ipc_reply_error(req, IPC_ERR_FAILED, "blockchain: %s", chain_strerror(rc));
		return;
	}
	if (!w.full && s->cache != NULL) {
		rc = cache_foreach_file(s->cache, files_cached, &w);
		if (rc != 0 && rc != WALK_STOP) {
			ipc_reply_error(req, IPC_ERR_FAILED, "cache: %s",
			    cache_strerror(rc));
			return;
		}
	}
	/* An offset past the end gives an empty last page. */
	ipc_files_page_end(files_buf, w.full ? q.offset + w.count :
	    (w.pos > q.offset ? w.pos : q.offset), !w.full);
	ipc_reply(req, files_buf, w.off);
}
