/*
 * serve_web.c — storaged's side of the web API's requests (ipc_msg_web.h):
 * publishing stored content with a client's metadata, raw appends, profile
 * field deletion, warehouse-only deletion, account deletion, and another
 * node's profile from the cache.  IPC_WH_END lives in serve.c beside the
 * upload slots it finishes.  Requests were validated by their decoders;
 * here only what the store knows (existence, ownership) is checked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "filetype.h"
#include "ident.h"
#include "log.h"
#include "storaged.h"

static uint8_t web_buf[IPC_MSG_MAX];

static void
web_reply_u32(struct ipc_req *req, uint16_t type, uint32_t v)
{
	long n = ipc_u32_encode(web_buf, sizeof(web_buf), type, v);

	ipc_reply(req, web_buf, (size_t)n);
}

/*
 * IPC_PUBLISH: /blockchain/file/add and /update.  As the reference: the
 * content must be in the warehouse (status 5 otherwise) unless the record
 * is a virtual folder; size, merkle root and fragment size come from the
 * warehouse, not from the client; the date shared is now.
 */
void
storaged_publish(struct storaged *s, struct ipc_req *req, const uint8_t *msg,
    size_t len)
{
	static struct ipc_file files[IPC_PUBLISH_MAX];
	static struct chain_file cf[IPC_PUBLISH_MAX];
	static struct chain_tag tags[IPC_PUBLISH_MAX][IPC_TAGS_MAX / 4];
	struct ipc_publish q = { .files = files };
	struct ipc_publish_result res;
	struct wh_merkle_info mi;
	uint16_t i;
	int rc;
	long n;

	if (ipc_req_bad(req, ipc_publish_decode(msg, len, &q), "publish request"))
		return;
	if (storaged_need_chain(s, req) == -1)
		return;
	memset(&res, 0, sizeof(res));
	memset(cf, 0, sizeof(cf));
	for (i = 0; i < q.count; i++) {
		const struct ipc_file *f = &files[i];
		static const uint8_t zero[16];

		if (q.replace && memcmp(f->id, zero, 16) == 0) {
			ipc_reply_error(req, IPC_ERR_BADMSG, "file %u: an update needs "
			    "the file ID", i);
			return;
		}
		memcpy(cf[i].id, f->id, 16);
		memcpy(cf[i].hash, f->hash, 32);
		cf[i].type = f->type;
		cf[i].format = f->format;
		cf[i].name = f->name;
		cf[i].folder = f->folder;
		cf[i].description = f->description;
		storaged_tags_from_ipc(&f->tags, &cf[i], tags[i], IPC_TAGS_MAX / 4);
		if (f->type == FT_TYPE_FOLDER && f->format == FT_FMT_FOLDER)
			continue;	/* a virtual folder has no content */
		rc = wh_merkle(s->wh, f->hash, 0, &mi, NULL, 0, NULL);
		if (rc == WH_ERR_NOTFOUND) {
			res.status = IPC_PUBLISH_NOT_IN_WH;
			res.index = i;
			n = ipc_publish_result_encode(web_buf, sizeof(web_buf), &res);
			ipc_reply(req, web_buf, (size_t)n);
			return;
		}
		if (rc != 0) {
			ipc_reply_error(req, IPC_ERR_FAILED, "warehouse: %s", wh_strerror(rc));
			return;
		}
		cf[i].size = mi.file_size;
		cf[i].fragment_size = mi.fragment_size;
		memcpy(cf[i].merkle_root, mi.root, 32);
	}
	rc = q.replace ? chain_replace_files(s->chain, cf, q.count) :
	    chain_add_files(s->chain, cf, q.count);
	if (rc != 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "blockchain: %s", chain_strerror(rc));
		return;
	}
	log_info("%s %u file record(s) for the web API", q.replace ? "replaced" :
	    "published", q.count);
	n = ipc_publish_result_encode(web_buf, sizeof(web_buf), &res);
	ipc_reply(req, web_buf, (size_t)n);
}

/* IPC_CHAIN_APPEND: /blockchain/append, raw records as one block. */
void
storaged_chain_append(struct storaged *s, struct ipc_req *req, const uint8_t *msg,
    size_t len)
{
	static struct ipc_append q;
	static struct block_record recs[IPC_APPEND_MAX];
	uint16_t i;
	int rc;
	long n;

	if (ipc_req_bad(req, ipc_append_decode(msg, len, &q), "append request"))
		return;
	if (storaged_need_chain(s, req) == -1)
		return;
	for (i = 0; i < q.count; i++) {
		recs[i].type = q.recs[i].type;
		recs[i].data = q.recs[i].data;
		recs[i].len = q.recs[i].len;
	}
	if ((rc = chain_append_raw(s->chain, recs, q.count)) != 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "blockchain: %s", chain_strerror(rc));
		return;
	}
	n = ipc_empty_encode(web_buf, sizeof(web_buf), IPC_CHAIN_APPEND, IPC_OK);
	ipc_reply(req, web_buf, (size_t)n);
}

/* IPC_PROFILE_DEL: /profile/delete (a rewrite, version + 1 if any). */
void
storaged_profile_del(struct storaged *s, struct ipc_req *req, const uint8_t *msg,
    size_t len)
{
	struct ipc_profile_del q;
	size_t deleted = 0;
	int rc;

	if (ipc_req_bad(req, ipc_profile_del_decode(msg, len, &q),
	    "profile delete request"))
		return;
	if (storaged_need_chain(s, req) == -1)
		return;
	if ((rc = chain_profile_delete(s->chain, q.fields, q.count, &deleted)) != 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "blockchain: %s", chain_strerror(rc));
		return;
	}
	web_reply_u32(req, IPC_PROFILE_DEL, (uint32_t)deleted);
}

struct web_files {
	struct chain_file	**f;
	size_t			 n;
	size_t			 cap;
};

static int
web_collect_file(void *arg, const struct chain_file *cf)
{
	struct web_files *v = arg;
	void *p;

	if (v->n == v->cap) {
		if ((p = reallocarray(v->f, v->cap ? v->cap * 2 : 64, sizeof(*v->f))) == NULL)
			return -1;
		v->f = p;
		v->cap = v->cap ? v->cap * 2 : 64;
	}
	if ((v->f[v->n] = chain_file_dup(cf)) == NULL)
		return -1;
	v->n++;
	return 0;
}

static void
web_files_free(struct web_files *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		free(v->f[i]);
	free(v->f);
}

struct web_hashes {
	uint8_t		(*h)[32];
	size_t		 n;
	size_t		 cap;
};

static int
web_collect_hash(void *arg, const uint8_t hash[32], uint64_t size)
{
	struct web_hashes *v = arg;
	void *p;

	(void)size;
	if (v->n == v->cap) {
		if ((p = reallocarray(v->h, v->cap ? v->cap * 2 : 64, 32)) == NULL)
			return -1;
		v->h = p;
		v->cap = v->cap ? v->cap * 2 : 64;
	}
	memcpy(v->h[v->n++], hash, 32);
	return 0;
}

/*
 * IPC_WIPE.  Content: the data only, as the reference's /warehouse/delete
 * (a record that still refers to it is left; `peernetctl verify` and a
 * download will say the content is missing).  Account: the key must be our
 * node ID; the chain is emptied first (peers see the new version), then
 * every stored file goes.
 */
void
storaged_wipe(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct web_hashes v = { NULL, 0, 0 };
	struct web_files own = { NULL, 0, 0 };
	struct ipc_wipe q;
	uint8_t nid[32];
	size_t i, gone = 0;
	int rc, i2;

	if (ipc_req_bad(req, ipc_wipe_decode(msg, len, &q), "wipe request"))
		return;
	if (q.kind == IPC_WIPE_CONTENT) {
		rc = wh_delete(s->wh, q.key);
		if (rc == 0)
			log_info("warehouse: content deleted on request (its records stay)");
		web_reply_u32(req, IPC_WIPE, (uint32_t)wh_status(rc));
		return;
	}
	if (storaged_need_chain(s, req) == -1)
		return;
	ident_node_id(s->owner, nid);
	if (memcmp(nid, q.key, 32) != 0) {
		ipc_reply_error(req, IPC_ERR_DENIED, "account delete: the key is not "
		    "this node's node ID");
		return;
	}
	/* Uploads in progress would land in a warehouse that is being emptied. */
	for (i2 = 0; i2 < STORAGED_MAX_UPLOADS; i2++)
		if (s->uploads[i2].id != 0) {
			ipc_reply_error(req, IPC_ERR_FAILED, "account delete: an upload "
			    "is in progress");
			return;
		}
	/*
	 * chain_nuke says only "reset": the records it drops are announced one
	 * by one, as any removal, so that searchd's index forgets them.
	 */
	if (chain_foreach_file(s->chain, web_collect_file, &own) != 0) {
		web_files_free(&own);
		ipc_reply_error(req, IPC_ERR_FAILED, "blockchain unreadable");
		return;
	}
	if ((rc = chain_nuke(s->chain)) != 0) {
		web_files_free(&own);
		ipc_reply_error(req, IPC_ERR_FAILED, "blockchain: %s", chain_strerror(rc));
		return;
	}
	for (i = 0; i < own.n; i++)
		storaged_publish_file(s, IPC_EV_FILE_REMOVED, own.f[i], s->owner);
	web_files_free(&own);
	if (wh_foreach(s->wh, web_collect_hash, &v) != 0) {
		free(v.h);
		ipc_reply_error(req, IPC_ERR_FAILED, "warehouse: walk failed");
		return;
	}
	for (i = 0; i < v.n; i++)
		if (wh_delete(s->wh, v.h[i]) == 0)
			gone++;
	free(v.h);
	log_warnx("account deleted through the web API: chain emptied, %zu of %zu "
	    "stored files deleted", gone, v.n);
	web_reply_u32(req, IPC_WIPE, (uint32_t)gone);
}

/*
 * IPC_PEER_PROFILE: the newest value of each profile field in the cached
 * blocks of a chain (every cached block, block 0 included: the
 * reference skips block 0, where a profile usually is).
 */
void
storaged_peer_profile(struct storaged *s, struct ipc_req *req, const uint8_t *msg,
    size_t len)
{
	static uint8_t raw[IPC_MSG_MAX / 8];
	static uint8_t vals[IPC_PEER_PROFILE_MAX][IPC_PEER_VALUE_MAX];
	static struct ipc_peer_profile rep;
	struct ipc_peer_profile_req q;
	struct cache_peer cp;
	struct block b;
	struct block_iter it;
	struct block_record r;
	struct record_profile p;
	uint64_t num;
	size_t blen;
	uint16_t k;
	long n;

	if (ipc_req_bad(req, ipc_peer_profile_req_decode(msg, len, &q),
	    "peer profile request"))
		return;
	memset(&rep, 0, sizeof(rep));
	if (s->cache != NULL && cache_peer_info(s->cache, q.owner, &cp) == 0) {
		rep.cached = 1;
		for (num = 0; num < cp.height && num < 1024; num++) {
			if (cache_get_block(s->cache, q.owner, cp.version, num, raw,
			    sizeof(raw), &blen) != 0 || block_decode(raw, blen, &b) != BLOCK_OK)
				continue;
			block_iter_init(&it, &b);
			while (block_iter_next(&it, &r) == 1) {
				if (r.type != BLOCK_REC_PROFILE ||
				    record_profile_decode(&r, &p) != BLOCK_OK ||
				    p.len > IPC_PEER_VALUE_MAX)
					continue;
				for (k = 0; k < rep.count && rep.fields[k].field != p.field; k++)
					;
				if (k == IPC_PEER_PROFILE_MAX)
					continue;
				if (k == rep.count)
					rep.count++;
				memcpy(vals[k], p.data, p.len);
				rep.fields[k].field = p.field;
				rep.fields[k].data = vals[k];
				rep.fields[k].len = (uint16_t)p.len;
			}
		}
	}
	n = ipc_peer_profile_encode(web_buf, sizeof(web_buf), &rep);
	if (n < 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "profile does not fit a reply");
		return;
	}
	ipc_reply(req, web_buf, (size_t)n);
}
