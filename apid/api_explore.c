/*
 * api_explore.c — recently shared files of other nodes (FEATURES.md §3.4
 * /explore, §3.2 /blockchain/view): the cached blockchains of the peers in
 * netd's peer list, read from storaged's file stream (IPC_FILES_ALL), newest
 * first.  The reference walks the peers in random order taking a share of
 * the limit from each; here the newest files of all of them win (one pass,
 * the best offset+limit kept).  Owners' profile names are not known to apid
 * yet: username is "".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apid.h"
#include "ident.h"
#include "ipc.h"

#define API_EXPLORE_KEEP_MAX	1000	/* offset + limit */
#define API_EXPLORE_SCAN_MAX	200000	/* file records read per request */
#define API_EXPLORE_PAGE	1024
#define API_EXPLORE_PEERS	4096

static int
api_cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, 33);
}

/* The peer list's public keys (sorted for bsearch); -1 and err on failure. */
static int
api_peer_keys(struct api_req *r, uint8_t (**keys)[33], size_t *n, char *err,
    size_t errlen)
{
	struct ipc_peer_list pl;
	struct ipc_peer p;
	uint8_t *rep;
	size_t len;

	*n = 0;
	if (api_ipc_empty(r->api, "netd", IPC_PEERS, &rep, &len, err, errlen) != 0)
		return -1;
	if (ipc_peer_list_decode(rep, len, &pl) != 0) {
		free(rep);
		snprintf(err, errlen, "malformed peer list");
		return -1;
	}
	if ((*keys = calloc(pl.count ? pl.count : 1, 33)) == NULL) {
		free(rep);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (*n < API_EXPLORE_PEERS && ipc_peer_list_next(&pl, &p) == 1)
		memcpy((*keys)[(*n)++], p.pubkey, 33);
	free(rep);
	qsort(*keys, *n, 33, api_cmp_key);
	return 0;
}

/* Type filter: -1 any, -2 binary + compressed + container + executable. */
static int
api_type_ok(int64_t t, uint8_t type)
{
	if (t == -1)
		return 1;
	if (t == -2)
		return type == 0 || type == 6 || type == 7 || type == 8;
	return type == t;
}

/*
 * The newest offset+limit files of the listed peers (one node when node
 * is not NULL) into a JSON array; *seen counts that node's files.
 */
static json_t *
api_recent(struct api_req *r, const uint8_t *node, uint8_t (*owners)[33],
    size_t nowners, int64_t type, int64_t offset, int64_t limit, size_t *seen,
    char *err, size_t errlen)
{
	struct ipc_file f;
	struct ipc_files_req q;
	struct ipc_files_page pg;
	struct ipc_file *best = NULL;
	uint8_t (*keys)[33] = NULL, req[128], *rep, nid[32];
	size_t nkeys, nbest = 0, keep, scanned = 0, len, i, worst;
	json_t *files = NULL, *fj;
	int refused, done = 0;
	long n;

	*seen = 0;
	keep = (size_t)(offset + limit);
	if (api_peer_keys(r, &keys, &nkeys, err, errlen) != 0)
		return NULL;
	if (keep > 0 && (best = calloc(keep, sizeof(*best))) == NULL) {
		free(keys);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memset(&q, 0, sizeof(q));
	q.from.phase = IPC_FILES_CACHE;	/* the own chain is not explored */
	while (!done && scanned < API_EXPLORE_SCAN_MAX) {
		q.limit = API_EXPLORE_PAGE;
		n = ipc_files_req_encode(req, sizeof(req), &q);
		if (api_ipc(r->api, "storaged", req, (size_t)n, &rep, &len, &refused,
		    err, errlen) != 0)
			goto out;
		if (ipc_files_page_decode(rep, len, &pg) != 0) {
			free(rep);
			snprintf(err, errlen, "malformed file page");
			goto out;
		}
		while (ipc_files_page_next(&pg, &f) == 1) {
			scanned++;
			if (bsearch(f.owner, keys, nkeys, 33, api_cmp_key) == NULL ||
			    (owners != NULL && bsearch(f.owner, owners, nowners, 33,
			    api_cmp_key) == NULL))
				continue;
			if (node != NULL) {
				ident_node_id(f.owner, nid);
				if (memcmp(nid, node, 32) != 0)
					continue;
				(*seen)++;
			}
			if (!api_type_ok(type, f.type) || keep == 0)
				continue;
			if (nbest < keep) {
				best[nbest++] = f;
				continue;
			}
			for (worst = 0, i = 1; i < nbest; i++)
				if (best[i].date < best[worst].date)
					worst = i;
			if (f.date > best[worst].date)
				best[worst] = f;
		}
		done = pg.done || pg.next.phase == IPC_FILES_END;
		q.from = pg.next;
		free(rep);
	}
	/* Newest first. */
	for (i = 1; i < nbest; i++) {
		for (size_t j = i; j > 0 && best[j].date > best[j - 1].date; j--) {
			f = best[j];
			best[j] = best[j - 1];
			best[j - 1] = f;
		}
	}
	files = json_array();
	for (i = (size_t)offset; i < nbest; i++) {
		if ((fj = api_file_json(&best[i], NULL)) == NULL)
			continue;
		/* The reference marks explored files as shared by one peer. */
		json_array_append_new(json_object_get(fj, "metadata"),
		    json_pack("{s:i, s:s, s:s, s:n, s:s, s:i}", "type", 5,
		    "name", "Shared By Count", "text", "", "blob",
		    "date", "0001-01-01T00:00:00Z", "number", 1));
		json_array_append_new(files, fj);
	}
out:
	free(best);
	free(keys);
	return files;
}

/* 0, or -1 with a 400 queued (its MHD result in *rc). */
static int
api_recent_args(struct api_req *r, int64_t *type, int64_t *offset, int64_t *limit,
    int *rc)
{
	const char *q;

	/* The reference's fallbacks for what is not a number. */
	*limit = 100;
	*offset = 0;
	*type = -1;
	if ((q = api_query(r, "limit")) != NULL && api_parse_int(q, 0, INT32_MAX, limit) != 0)
		*limit = 100;
	if ((q = api_query(r, "offset")) != NULL && api_parse_int(q, 0, INT32_MAX, offset) != 0)
		*offset = 0;
	if ((q = api_query(r, "type")) != NULL && api_parse_int(q, -2, 255, type) != 0)
		*type = -1;
	if (*offset + *limit > API_EXPLORE_KEEP_MAX) {
		*rc = api_reply_error(r, 400, "too_many",
		    "offset + limit may be at most %d here", API_EXPLORE_KEEP_MAX);
		return -1;
	}
	return 0;
}

int
api_explore(struct api_req *r)
{
	char err[256];
	json_t *files;
	int64_t type, offset, limit;
	size_t seen;
	int rc;

	if (api_recent_args(r, &type, &offset, &limit, &rc) != 0)
		return rc;
	if ((files = api_recent(r, NULL, NULL, 0, type, offset, limit, &seen, err,
	    sizeof(err))) == NULL)
		return api_reply_ipc_err(r, "storaged", err);
	return api_reply_json(r, 200, json_pack("{s:i, s:o, s:n}", "status", 1,
	    "files", files, "statistic"));
}

/*
 * GET /blockchain/view?node=: one peer's files.  The reference crashes
 * for a node it cannot find; here a node neither in the peer list nor with
 * a cached file gets a JSON 404.
 */
int
api_chain_view(struct api_req *r)
{
	uint8_t node[32];
	char err[256];
	json_t *files;
	int64_t type, offset, limit;
	size_t seen;
	int rc;

	if (api_parse_hex(api_query(r, "node"), node, 32) != 0)
		return api_reply_error(r, 400, "bad_node", "node must be 64 hex digits");
	if (api_recent_args(r, &type, &offset, &limit, &rc) != 0)
		return rc;
	if ((files = api_recent(r, node, NULL, 0, type, offset, limit, &seen, err,
	    sizeof(err))) == NULL)
		return api_reply_ipc_err(r, "storaged", err);
	if (seen == 0) {
		json_decref(files);
		return api_reply_error(r, 404, "unknown_node", "no connected peer with "
		    "that node ID has shared files known to this node");
	}
	return api_reply_json(r, 200, json_pack("{s:i, s:o, s:n}", "status", 1,
	    "files", files, "statistic"));
}

/*
 * GET /merge/directory?hash=: the recent files of the peers (in the peer
 * list) whose chains hold a file with that content, from searchd's index
 * of owners (IPC_SHARERS, at most IPC_SHARERS_MAX owners).
 */
int
api_merge_directory(struct api_req *r)
{
	struct ipc_sharers sh;
	struct ipc_sharers_req q;
	uint8_t req[64], *rep, (*owners)[33];
	char err[256];
	json_t *files;
	int64_t type, offset, limit;
	size_t len, seen, i;
	int refused, rc;
	long n;

	if (api_parse_hex(api_query(r, "hash"), q.hash, 32) != 0)
		return api_reply_error(r, 400, "bad_hash", "hash must be 64 hex digits");
	if (api_recent_args(r, &type, &offset, &limit, &rc) != 0)
		return rc;
	n = ipc_sharers_req_encode(req, sizeof(req), &q);
	if (api_ipc(r->api, "searchd", req, (size_t)n, &rep, &len, &refused, err,
	    sizeof(err)) != 0)
		return api_reply_ipc_err(r, "searchd", err);
	rc = ipc_sharers_decode(rep, len, &sh);
	free(rep);
	if (rc != 0)
		return api_reply_ipc_err(r, "searchd", "malformed sharers reply");
	if ((owners = calloc(sh.count ? sh.count : 1, 33)) == NULL)
		return api_reply_error(r, 500, "internal", "out of memory");
	for (i = 0; i < sh.count; i++)
		memcpy(owners[i], sh.sharers[i].pubkey, 33);
	qsort(owners, sh.count, 33, api_cmp_key);
	files = sh.count == 0 ? json_array() : api_recent(r, NULL, owners, sh.count,
	    type, offset, limit, &seen, err, sizeof(err));
	free(owners);
	if (files == NULL)
		return api_reply_ipc_err(r, "storaged", err);
	return api_reply_json(r, 200, json_pack("{s:i, s:o, s:n}", "status", 1,
	    "files", files, "statistic"));
}
