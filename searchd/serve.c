/*
 * serve.c — searchd's IPC requests: search jobs (start, fetch, stop), the
 * owners of a content hash (IPC_SHARERS, for `get HASH` without --from)
 * and the index rebuild; and the connected-peer set that decides which hits a
 * job keeps (docs/data.md §6.7: files of owners that are neither this node nor
 * connected are dropped, nobody could serve them).  Every request was
 * decoded by its ipc_msg_search decoder; here the term itself is checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keywords.h"
#include "log.h"
#include "searchd.h"

/* The largest reply: one full fetch page. */
static uint8_t serve_buf[IPC_MSG_MAX];

void
searchd_file_from_ipc(const struct ipc_file *f, struct idx_file *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->owner, f->owner, IDX_OWNER_LEN);
	memcpy(out->file_id, f->id, IDX_FILE_ID_LEN);
	memcpy(out->hash, f->hash, IDX_HASH_LEN);
	out->size = f->size;
	out->type = f->type;
	out->format = f->format;
	out->date = f->date;
	out->name = f->name;
	out->name_len = strlen(f->name);
	out->folder = f->folder;
	out->folder_len = strlen(f->folder);
	out->desc = f->description;
	out->desc_len = strlen(f->description);
	/* Events carry no chain version; the block number is enough to find it. */
	out->version = 0;
	out->block = f->block;
}

/* ---- connected peers --------------------------------------------------- */

static int
peer_cmp(const void *a, const void *b)
{
	return memcmp(a, b, IDX_OWNER_LEN);
}

static int
searchd_netd_up(struct searchd *s)
{
	int i;

	for (i = 0; i < s->d->nlinks; i++)
		if (strcmp(s->d->links[i].name, "netd") == 0)
			return ipc_link_state(&s->d->links[i], loop_now_ms(),
			    DAEMON_LINK_STALE_MS) == IPC_LINK_UP;
	return 0;
}

/*
 * Until netd answers IPC_PEERS (or while it is down) the set is empty:
 * only this node's own files are found, never files nobody can serve.
 */
void
searchd_peers_refresh(struct searchd *s)
{
	static struct ipc_peer p;
	struct ipc_peer_list pl;
	struct ipc_hdr h;
	char err[256];
	uint8_t req[IPC_HDR_LEN], *rep = NULL;
	size_t len, n = 0;
	uint64_t now = loop_now_ms();
	void *grown;
	int rc;

	if (s->peers_ms != 0 && now - s->peers_ms < SEARCHD_PEERS_TTL_MS)
		return;
	s->peers_ms = now;
	s->npeers = 0;
	if (!searchd_netd_up(s))
		return;
	ipc_empty_encode(req, sizeof(req), IPC_PEERS, IPC_OK);
	if (daemon_call(s->d, "netd", req, sizeof(req), &rep, &len, SEARCHD_CALL_MS,
	    err, sizeof(err)) != 0)
		return;
	if (ipc_hdr_decode(rep, len, &h) == 0 && h.status != IPC_OK) {
		/* netd without IPC_PEERS yet: no peers, said once. */
		if (!s->peers_warned++)
			log_info("netd does not list peers (%s): only own files "
			    "are found", ipc_err_str(h.status));
		free(rep);
		return;
	}
	if ((rc = ipc_peer_list_decode(rep, len, &pl)) != 0) {
		log_warnx("netd's peer list: %s", ipc_decode_strerror(rc));
		free(rep);
		return;
	}
	if (pl.count > 0 && (grown = reallocarray(s->peers,
	    pl.count < SEARCHD_MAX_PEERS ? pl.count : SEARCHD_MAX_PEERS,
	    IDX_OWNER_LEN)) != NULL)
		s->peers = grown;
	while (s->peers != NULL && n < pl.count && n < SEARCHD_MAX_PEERS &&
	    ipc_peer_list_next(&pl, &p) == 1)
		if (p.active)
			memcpy(s->peers[n++], p.pubkey, IDX_OWNER_LEN);
	free(rep);
	if (n > 1)
		qsort(s->peers, n, IDX_OWNER_LEN, peer_cmp);
	s->npeers = n;
}

int
searchd_is_connected(const uint8_t owner[IDX_OWNER_LEN], void *arg)
{
	struct searchd *s = arg;

	if (s->have_self && memcmp(owner, s->self, IDX_OWNER_LEN) == 0)
		return 1;
	return s->npeers > 0 &&
	    bsearch(owner, s->peers, s->npeers, IDX_OWNER_LEN, peer_cmp) != NULL;
}

/* ---- requests ------------------------------------------------------------ */

/* 0 if the term is UTF-8 and not only white space; else the reason. */
static const char *
serve_term_problem(const char *t)
{
	size_t n = strlen(t), i = 0, l;
	uint32_t cp;
	int blank = 1;

	while (i < n) {
		if ((l = kw_utf8_decode((const uint8_t *)t + i, n - i, &cp)) == 0)
			return "the search term is not valid UTF-8";
		if (!kw_is_space(cp))
			blank = 0;
		i += l;
	}
	return blank ? "empty search term" : NULL;
}

static void
serve_start(struct searchd *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	static struct ipc_search_req q;
	struct ipc_search_id id;
	struct job_params p;
	const char *why;
	long n;
	int rc;

	if ((rc = ipc_search_req_decode(msg, len, &q)) != 0) {
		ipc_reply_error(req, IPC_ERR_BADMSG, "malformed search request: %s%s",
		    ipc_decode_strerror(rc), rc == IPC_DEC_STRING ?
		    " (a search term has at most 1024 bytes)" : "");
		return;
	}
	if ((why = serve_term_problem(q.term)) != NULL) {
		ipc_reply_error(req, IPC_ERR_BADMSG, "%s", why);
		return;
	}
	if (s->idx == NULL) {
		ipc_reply_error(req, IPC_ERR_UNAVAILABLE, "the index is not open");
		return;
	}
	memset(&p, 0, sizeof(p));
	p.term = q.term;
	p.term_len = strlen(q.term);
	p.timeout_ms = q.timeout_ms;
	p.max_results = q.limit;
	idx_filter_none(&p.filter);
	if (q.type != IPC_SEARCH_TYPE_ANY)
		p.filter.type = q.type;
	if (q.format != IPC_SEARCH_FORMAT_ANY)
		p.filter.format = q.format;
	p.filter.date_from = q.date_from;
	p.filter.date_to = q.date_to;
	p.filter.size_min = q.size_min;
	p.filter.size_max = q.size_max;
	if (q.has_node) {
		p.filter.has_node = 1;
		memcpy(p.filter.node_id, q.node_id, sizeof(p.filter.node_id));
	}
	p.sort = q.sort;
	searchd_peers_refresh(s);
	if ((rc = job_start(s->jobs, &p, id.id)) != JOB_OK) {
		if (rc == JOB_E_INDEX)
			log_warnx("search: %s: %s", idx_strerror(
			    job_table_last_idx_error(s->jobs)), idx_errmsg(s->idx));
		ipc_reply_error(req, IPC_ERR_FAILED, "%s%s", job_strerror(rc),
		    rc == JOB_E_TOOMANY ? " at once: stop one or wait for one "
		    "to expire" : "");
		return;
	}
	n = ipc_search_id_encode(serve_buf, sizeof(serve_buf), IPC_SEARCH_START, &id);
	ipc_reply(req, serve_buf, (size_t)n);
}

static void
serve_fetch(struct searchd *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	static const struct job_result *out[IPC_SEARCH_FETCH_MAX];
	static struct ipc_search_hit h;
	const struct job_result *r;
	struct ipc_search_fetch f;
	struct ipc_search_page pg;
	struct job_stats st;
	struct job *j;
	size_t got, i, k, off;
	int status, rc;
	long n;

	if ((rc = ipc_search_fetch_decode(msg, len, &f)) != 0) {
		ipc_reply_error(req, IPC_ERR_BADMSG, "malformed fetch request: %s",
		    ipc_decode_strerror(rc));
		return;
	}
	if ((j = job_find(s->jobs, f.id)) == NULL) {
		ipc_reply_error(req, IPC_ERR_FAILED, "unknown search job (stopped "
		    "or expired)");
		return;
	}
	if ((rc = job_fetch(j, f.offset, f.max, out, &got, &status)) != JOB_OK) {
		ipc_reply_error(req, IPC_ERR_FAILED, "%s", job_strerror(rc));
		return;
	}
	job_get_stats(j, &st);
	memset(&pg, 0, sizeof(pg));
	pg.status = (uint8_t)status;
	pg.truncated = st.truncated != 0;
	pg.scanned = st.scanned;
	pg.results = st.results;
	pg.dropped_offline = st.dropped_offline;
	pg.elapsed_ms = st.age_ms;
	n = ipc_search_page_begin(serve_buf, sizeof(serve_buf), &pg);
	off = (size_t)n;
	for (i = 0; i < got; i++) {
		r = out[i];
		memset(&h, 0, sizeof(h));
		memcpy(h.file.id, r->file.file_id, sizeof(h.file.id));
		memcpy(h.file.hash, r->file.hash, sizeof(h.file.hash));
		memcpy(h.file.owner, r->file.owner, sizeof(h.file.owner));
		h.file.size = r->file.size;
		h.file.type = r->file.type;
		h.file.format = r->file.format;
		h.file.date = r->file.date;
		h.file.block = r->file.block;
		/* The index holds what storaged sent: at most IPC_STR_MAX, no NUL. */
		snprintf(h.file.name, sizeof(h.file.name), "%.*s",
		    (int)(r->file.name_len < IPC_STR_MAX ? r->file.name_len :
		    IPC_STR_MAX), r->file.name ? r->file.name : "");
		snprintf(h.file.folder, sizeof(h.file.folder), "%.*s",
		    (int)(r->file.folder_len < IPC_STR_MAX ? r->file.folder_len :
		    IPC_STR_MAX), r->file.folder ? r->file.folder : "");
		snprintf(h.file.description, sizeof(h.file.description), "%.*s",
		    (int)(r->file.desc_len < IPC_STR_MAX ? r->file.desc_len :
		    IPC_STR_MAX), r->file.desc ? r->file.desc : "");
		h.local = r->local != 0;
		h.shared_by = r->shared_by > UINT32_MAX ? UINT32_MAX :
		    (uint32_t)r->shared_by;
		k = r->nsharers < IPC_SEARCH_SHARERS_MAX ? r->nsharers :
		    IPC_SEARCH_SHARERS_MAX;
		h.nsharers = (uint8_t)k;
		while (k-- > 0)
			memcpy(h.sharers[k], r->sharers[k].owner, IDX_OWNER_LEN);
		if (h.nsharers > h.shared_by)
			h.shared_by = h.nsharers;
		/* Cannot fail: a full page fits (ipc_msg_search.c). */
		if (ipc_search_page_add(serve_buf, sizeof(serve_buf), &off, &h) != 0) {
			log_warnx("search page overflow at %zu of %zu", i, got);
			break;
		}
	}
	ipc_reply(req, serve_buf, off);
}

static void
serve_stop(struct searchd *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct ipc_search_id id;
	long n;

	if (ipc_req_bad(req, ipc_search_id_decode(msg, len, IPC_SEARCH_STOP, &id),
	    "stop request"))
		return;
	if (job_stop(s->jobs, id.id) != JOB_OK) {
		ipc_reply_error(req, IPC_ERR_FAILED, "unknown search job");
		return;
	}
	n = ipc_empty_encode(serve_buf, sizeof(serve_buf), IPC_SEARCH_STOP, IPC_OK);
	ipc_reply(req, serve_buf, (size_t)n);
}

static void
serve_reindex(struct searchd *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	long n;

	if (ipc_req_bad(req, ipc_empty_decode(msg, len, IPC_REINDEX), "reindex request"))
		return;
	log_info("re-index requested by uid %u", (unsigned)ipc_req_uid(req));
	searchd_rebuild_start(s);
	n = ipc_empty_encode(serve_buf, sizeof(serve_buf), IPC_REINDEX, IPC_OK);
	ipc_reply(req, serve_buf, (size_t)n);
}

/*
 * Who shares a content: every owner of a record with the hash, this node
 * apart (reported as `local`), whether connected or not; ctl picks the
 * connected ones with netd's peer list.
 */
static void
serve_sharers(struct searchd *s, struct ipc_req *req, const uint8_t *msg,
    size_t len)
{
	static uint8_t owners[IPC_SHARERS_MAX][IDX_OWNER_LEN];
	static struct ipc_sharers r;
	struct idx_hash_owners ho;
	struct ipc_sharers_req q;
	size_t i;
	long n;
	int rc;

	if ((rc = ipc_sharers_req_decode(msg, len, &q)) != 0) {
		ipc_reply_error(req, IPC_ERR_BADMSG, "malformed sharers request: %s",
		    ipc_decode_strerror(rc));
		return;
	}
	if (s->idx == NULL) {
		ipc_reply_error(req, IPC_ERR_UNAVAILABLE, "the index is not open");
		return;
	}
	if ((rc = idx_hash_owners(s->idx, q.hash, s->have_self ? s->self : NULL,
	    owners, IPC_SHARERS_MAX, &ho)) != IDX_OK) {
		log_warnx("sharers: %s (%s)", idx_strerror(rc), idx_errmsg(s->idx));
		ipc_reply_error(req, IPC_ERR_FAILED, "index: %s", idx_strerror(rc));
		return;
	}
	memset(&r, 0, sizeof(r));
	memcpy(r.hash, q.hash, sizeof(r.hash));
	r.local = ho.local != 0;
	r.total = ho.total > UINT32_MAX ? UINT32_MAX : (uint32_t)ho.total;
	if (ho.found) {
		r.size = ho.size;
		/* IDX_HASH_NAME_MAX == IPC_STR_MAX; a NUL in a name ends it */
		strlcpy(r.name, ho.name, sizeof(r.name));
	}
	r.count = (uint8_t)ho.n;
	for (i = 0; i < ho.n; i++) {
		memcpy(r.sharers[i].pubkey, owners[i], IDX_OWNER_LEN);
		idx_node_id(owners[i], r.sharers[i].node_id);
	}
	if ((n = ipc_sharers_encode(serve_buf, sizeof(serve_buf), &r)) < 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "sharers reply does not fit");
		return;
	}
	ipc_reply(req, serve_buf, (size_t)n);
}

void
searchd_request(struct daemon *d, struct ipc_req *req, uint16_t type,
    const uint8_t *msg, size_t len)
{
	struct searchd *s = d->ctx;

	switch (type) {
	case IPC_SEARCH_START:	serve_start(s, req, msg, len); break;
	case IPC_SEARCH_FETCH:	serve_fetch(s, req, msg, len); break;
	case IPC_SEARCH_STOP:	serve_stop(s, req, msg, len); break;
	case IPC_REINDEX:	serve_reindex(s, req, msg, len); break;
	case IPC_SHARERS:	serve_sharers(s, req, msg, len); break;
	default:
		ipc_reply_error(req, IPC_ERR_UNKNOWN, "searchd does not serve %s "
		    "requests", ipc_type_name(type));
	}
}
