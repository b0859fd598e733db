/*
 * serve.c — storaged's IPC requests: streamed uploads into the warehouse
 * and the own chain, listing, removal, renaming, reads, chain and profile
 * information, integrity checks, and blocks for netd.  Every request was
 * validated by its ipc_msg decoder; here only what the store itself knows
 * (upload ownership, offsets, existence) is checked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "filetype.h"
#include "hex.h"
#include "log.h"
#include "storaged.h"

/* Replies are built here: one IPC message at most. */
static uint8_t serve_buf[IPC_MSG_MAX];

void
storaged_file_to_ipc(const struct chain_file *cf, const uint8_t owner[33],
    struct ipc_file *f)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->id, cf->id, sizeof(f->id));
	memcpy(f->hash, cf->hash, sizeof(f->hash));
	memcpy(f->owner, owner, sizeof(f->owner));
	f->size = cf->size;
	f->type = cf->type;
	f->format = cf->format;
	f->date = cf->date_shared;
	f->block = cf->block;
	/* Names from a chain are bounded by the block size, IPC strings by IPC_STR_MAX. */
	snprintf(f->name, sizeof(f->name), "%.*s",
	    (int)(cf->name_len < IPC_STR_MAX ? cf->name_len : IPC_STR_MAX), cf->name ? cf->name : "");
	snprintf(f->folder, sizeof(f->folder), "%.*s",
	    (int)(cf->folder_len < IPC_STR_MAX ? cf->folder_len : IPC_STR_MAX),
	    cf->folder ? cf->folder : "");
	snprintf(f->description, sizeof(f->description), "%.*s",
	    (int)(cf->description_len < IPC_STR_MAX ? cf->description_len : IPC_STR_MAX),
	    cf->description ? cf->description : "");
	storaged_tags_to_ipc(cf, &f->tags);
}

void
storaged_tags_to_ipc(const struct chain_file *cf, struct ipc_tags *t)
{
	uint8_t date[8];
	size_t i;

	t->len = 0;
	if (cf->date_created != 0) {
		buf_put_le64(date, (uint64_t)cf->date_created);
		(void)ipc_tags_add(t, RECORD_TAG_DATE_CREATED, date, sizeof(date));
	}
	/* A cached chain may carry more than IPC_TAGS_MAX: what fits is shown. */
	for (i = 0; i < cf->ntags; i++)
		(void)ipc_tags_add(t, cf->tags[i].type, cf->tags[i].data, cf->tags[i].len);
}

/*
 * The tags of an add request into cf: the first 8-byte date-created tag
 * becomes cf->date_created, the others are written in the given order.
 */
void
storaged_tags_from_ipc(const struct ipc_tags *t, struct chain_file *cf,
    struct chain_tag *tags, size_t cap)
{
	const uint8_t *data;
	size_t off = 0, len;
	uint16_t type;
	int64_t d;

	cf->ntags = 0;
	while (ipc_tags_next(t, &off, &type, &data, &len) == 1 && cf->ntags < cap) {
		if (type == RECORD_TAG_DATE_CREATED && cf->date_created == 0 &&
		    record_tag_date(data, len, &d) == 0 && d != 0) {
			cf->date_created = d;
			continue;
		}
		tags[cf->ntags].type = type;
		tags[cf->ntags].data = data;
		tags[cf->ntags].len = len;
		cf->ntags++;
	}
	cf->tags = cf->ntags > 0 ? tags : NULL;
}

static struct storaged *
serve_ctx(struct daemon *d)
{
	return d->ctx;
}

int
storaged_need_chain(struct storaged *s, struct ipc_req *req)
{
	if (s->chain != NULL)
		return 0;
	ipc_reply_error(req, IPC_ERR_UNAVAILABLE, "the own blockchain is not open "
	    "yet: netd, which holds the identity, has not answered");
	return -1;
}

/*
 * The start of most requests: decoded is the decoder's result and, when
 * chain, the own chain must be open too.  0 to go on; else -1, the reply
 * ("malformed <what>", or the chain's absence) sent.
 */
static int
serve_check(struct storaged *s, struct ipc_req *req, int decoded, int chain,
    const char *what)
{
	if (ipc_req_bad(req, decoded, what))
		return -1;
	return chain ? storaged_need_chain(s, req) : 0;
}

/* Sends the n bytes an encoder wrote into serve_buf. */
static void
serve_send(struct ipc_req *req, long n)
{
	ipc_reply(req, serve_buf, (size_t)n);
}

/* The reply of a request that carries nothing back. */
static void
serve_ok(struct ipc_req *req, uint16_t type)
{
	serve_send(req, ipc_empty_encode(serve_buf, sizeof(serve_buf), type, IPC_OK));
}

static struct storaged_upload *
serve_upload(struct storaged *s, uint32_t id, uid_t uid)
{
	int i;

	for (i = 0; i < STORAGED_MAX_UPLOADS; i++)
		if (s->uploads[i].id == id && id != 0 && s->uploads[i].uid == uid)
			return &s->uploads[i];
	return NULL;
}

/*
 * The caller's upload that a request of type (a u32: its id) names, or
 * NULL with the reply sent.
 */
static struct storaged_upload *
serve_upload_req(struct storaged *s, struct ipc_req *req, const uint8_t *msg,
    size_t len, uint16_t type, const char *what)
{
	struct storaged_upload *u;
	uint32_t id;

	if (serve_check(s, req, ipc_u32_decode(msg, len, type, &id), 0, what) != 0)
		return NULL;
	if ((u = serve_upload(s, id, ipc_req_uid(req))) == NULL)
		ipc_reply_error(req, IPC_ERR_FAILED, "no upload %u", id);
	return u;
}

static void
serve_upload_free(struct storaged_upload *u, int abort)
{
	if (abort && u->w != NULL)
		wh_write_abort(u->w);
	memset(u, 0, sizeof(*u));
}

void
storaged_uploads_expire(struct storaged *s, uint64_t now_ms)
{
	int i;

	for (i = 0; i < STORAGED_MAX_UPLOADS; i++)
		if (s->uploads[i].id != 0 &&
		    now_ms - s->uploads[i].last_ms > STORAGED_UPLOAD_IDLE_MS) {
			log_warnx("upload %u of '%s' idle: dropped", s->uploads[i].id,
			    s->uploads[i].meta.name);
			serve_upload_free(&s->uploads[i], 1);
		}
}

static void
serve_add_begin(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	static struct ipc_add_begin a;
	struct storaged_upload *u = NULL;
	int i, rc;

	if (serve_check(s, req, ipc_add_begin_decode(msg, len, &a), 1,
	    "add request") != 0)
		return;
	for (i = 0; i < STORAGED_MAX_UPLOADS; i++)
		if (s->uploads[i].id == 0) {
			u = &s->uploads[i];
			break;
		}
	if (u == NULL) {
		ipc_reply_error(req, IPC_ERR_FAILED, "too many uploads at once (%d)",
		    STORAGED_MAX_UPLOADS);
		return;
	}
	if ((rc = wh_write_begin(s->wh, a.size, &u->w)) != 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "warehouse: %s", wh_strerror(rc));
		return;
	}
	u->id = s->next_upload++;
	if (s->next_upload == 0)
		s->next_upload = 1;
	u->expected = a.size;
	u->received = 0;
	u->last_ms = loop_now_ms();
	u->uid = ipc_req_uid(req);
	u->meta = a;
	serve_send(req, ipc_u32_encode(serve_buf, sizeof(serve_buf),
	    IPC_ADD_BEGIN, u->id));
}

static void
serve_add_data(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct storaged_upload *u;
	struct ipc_data d;
	int rc;

	if (serve_check(s, req, ipc_data_decode(msg, len, IPC_ADD_DATA, &d), 0,
	    "add data") != 0)
		return;
	if ((u = serve_upload(s, d.id, ipc_req_uid(req))) == NULL) {
		ipc_reply_error(req, IPC_ERR_FAILED, "no upload %u", d.id);
		return;
	}
	/*
	 * Chunks arrive in order; anything else is a confused or hostile
	 * client (on nng or the bulk channel alike: the upload's uid was
	 * checked above), and the upload is dropped, so that chunks it had
	 * in flight behind this one are refused too.  received <= expected
	 * always: the subtraction cannot wrap.
	 */
	if (d.offset != u->received || d.len > u->expected - u->received) {
		ipc_reply_error(req, IPC_ERR_FAILED, "upload %u: chunk at %llu, "
		    "expected %llu (of %llu bytes)", d.id, (unsigned long long)d.offset,
		    (unsigned long long)u->received, (unsigned long long)u->expected);
		serve_upload_free(u, 1);
		return;
	}
	errno = 0;
	if ((rc = wh_write_data(u->w, d.bytes, d.len)) != 0) {
		/* The system's reason (e.g. "No space left on device") is what a user needs. */
		ipc_reply_error(req, IPC_ERR_FAILED, "warehouse: %s%s%s", wh_strerror(rc),
		    errno ? ": " : "", errno ? strerror(errno) : "");
		serve_upload_free(u, 1);
		return;
	}
	u->received += d.len;
	u->last_ms = loop_now_ms();
	serve_ok(req, IPC_ADD_DATA);
}

static void
serve_add_end(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	static struct ipc_add_result res;
	static struct chain_tag tags[IPC_TAGS_MAX / 4];
	struct storaged_upload *u;
	struct wh_merkle_info mi;
	struct chain_file cf;
	uint64_t size;
	uint32_t id;
	int rc, dedup;

	if ((u = serve_upload_req(s, req, msg, len, IPC_ADD_END, "add end")) == NULL)
		return;
	id = u->id;
	if (u->received != u->expected) {
		ipc_reply_error(req, IPC_ERR_FAILED, "upload %u: %llu of %llu bytes "
		    "received", id, (unsigned long long)u->received,
		    (unsigned long long)u->expected);
		serve_upload_free(u, 1);
		return;
	}
	memset(&cf, 0, sizeof(cf));
	errno = 0;
	rc = wh_write_commit(u->w, cf.hash, &size, &dedup);
	u->w = NULL;
	if (rc != 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "warehouse: %s%s%s", wh_strerror(rc),
		    errno ? ": " : "", errno ? strerror(errno) : "");
		serve_upload_free(u, 0);
		return;
	}
	if ((rc = wh_merkle(s->wh, cf.hash, 0, &mi, NULL, 0, NULL)) != 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "merkle tree: %s", wh_strerror(rc));
		serve_upload_free(u, 0);
		return;
	}
	memcpy(cf.merkle_root, mi.root, sizeof(cf.merkle_root));
	cf.fragment_size = mi.fragment_size;
	cf.size = size;
	cf.name = u->meta.name;
	cf.name_len = strlen(u->meta.name);
	cf.folder = u->meta.folder;
	cf.folder_len = strlen(u->meta.folder);
	cf.description = u->meta.description;
	cf.description_len = strlen(u->meta.description);
	storaged_tags_from_ipc(&u->meta.tags, &cf, tags, sizeof(tags) / sizeof(tags[0]));
	ft_detect(u->meta.name, &cf.type, &cf.format);
	if (u->meta.type != 0xff)
		cf.type = u->meta.type;
	if (u->meta.format != 0xffff)
		cf.format = u->meta.format;
	if ((rc = chain_add_files(s->chain, &cf, 1)) != 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "blockchain: %s", chain_strerror(rc));
		/* Keep the data only if another record still needs it. */
		if (!dedup && chain_hash_referenced(s->chain, cf.hash) != 1)
			wh_delete(s->wh, cf.hash);
		serve_upload_free(u, 0);
		return;
	}
	res.dedup = (uint8_t)(dedup != 0);
	storaged_file_to_ipc(&cf, s->owner, &res.file);
	log_info("shared '%s' (%llu bytes)%s", u->meta.name,
	    (unsigned long long)size, dedup ? ", content already stored" : "");
	serve_upload_free(u, 0);
	serve_send(req, ipc_add_result_encode(serve_buf, sizeof(serve_buf), &res));
}

/*
 * IPC_WH_END (/warehouse/create): an upload begun with IPC_ADD_BEGIN goes
 * into the warehouse only; nothing is published.  The size given at the
 * begin was an upper bound (apid knows the request's length, not the
 * file's), so fewer bytes are fine; a wrong guess costs the warehouse a
 * second pass for the merkle tree.
 */
static void
serve_wh_end(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct storaged_upload *u;
	struct ipc_wh_result res;
	int rc, dedup = 0;

	if ((u = serve_upload_req(s, req, msg, len, IPC_WH_END, "warehouse end")) == NULL)
		return;
	memset(&res, 0, sizeof(res));
	errno = 0;
	rc = wh_write_commit(u->w, res.hash, &res.size, &dedup);
	u->w = NULL;
	serve_upload_free(u, 0);
	/* A companion that could not be written is rebuilt when first needed. */
	if (rc != 0 && rc != WH_ERR_MERKLE) {
		ipc_reply_error(req, IPC_ERR_FAILED, "warehouse: %s%s%s", wh_strerror(rc),
		    errno ? ": " : "", errno ? strerror(errno) : "");
		return;
	}
	res.dedup = (uint8_t)(dedup != 0);
	log_info("stored %llu bytes for the web API%s", (unsigned long long)res.size,
	    dedup ? ", content already stored" : "");
	serve_send(req, ipc_wh_result_encode(serve_buf, sizeof(serve_buf), &res));
}

static void
serve_add_abort(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct storaged_upload *u;
	uint32_t id;

	if (serve_check(s, req, ipc_u32_decode(msg, len, IPC_ADD_ABORT, &id), 0,
	    "add abort") != 0)
		return;
	if ((u = serve_upload(s, id, ipc_req_uid(req))) != NULL)
		serve_upload_free(u, 1);
	serve_ok(req, IPC_ADD_ABORT);
}

struct serve_ls {
	struct storaged	*s;
	uint32_t	 skip;
	uint32_t	 limit;
	uint32_t	 seen;
	size_t		 off;
	int		 full;
};

static int
serve_ls_one(void *arg, const struct chain_file *cf)
{
	static struct ipc_file f;
	struct serve_ls *l = arg;

	if (l->seen++ < l->skip || l->full)
		return 0;
	if (l->seen - l->skip > l->limit) {
		l->full = 1;
		return 0;
	}
	storaged_file_to_ipc(cf, l->s->owner, &f);
	if (ipc_file_list_add(serve_buf, sizeof(serve_buf), &l->off, &f) != 0)
		l->full = 1;
	return 0;
}

static void
serve_ls(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct ipc_range rg;
	struct serve_ls l;
	struct chain_info info;
	long n;

	if (serve_check(s, req, ipc_range_decode(msg, len, IPC_LS, &rg), 1,
	    "ls request") != 0)
		return;
	if (chain_info(s->chain, &info) != 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "blockchain unreadable");
		return;
	}
	memset(&l, 0, sizeof(l));
	l.s = s;
	l.skip = rg.offset;
	l.limit = rg.limit ? rg.limit : UINT32_MAX;
	n = ipc_file_list_begin(serve_buf, sizeof(serve_buf), IPC_LS,
	    (uint32_t)info.nfiles);
	l.off = (size_t)n;
	if (chain_foreach_file(s->chain, serve_ls_one, &l) != 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "blockchain unreadable");
		return;
	}
	ipc_reply(req, serve_buf, l.off);
}

struct serve_ids {
	uint8_t		(*ids)[16];
	size_t		 n;
	size_t		 cap;
};

static int
serve_collect_id(void *arg, const struct chain_file *cf)
{
	struct serve_ids *v = arg;
	void *p;

	if (v->n == v->cap) {
		if ((p = reallocarray(v->ids, v->cap ? v->cap * 2 : 8, 16)) == NULL)
			return -1;
		v->ids = p;
		v->cap = v->cap ? v->cap * 2 : 8;
	}
	memcpy(v->ids[v->n++], cf->id, 16);
	return 0;
}

static void
serve_rm(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct serve_ids v = { NULL, 0, 0 };
	struct chain_file *cf;
	struct ipc_ref ref;
	uint8_t hash[32];
	size_t deleted = 0;
	int rc;

	if (serve_check(s, req, ipc_ref_decode(msg, len, IPC_RM, &ref), 1,
	    "rm request") != 0)
		return;
	if (ref.kind == 0) {
		if ((rc = chain_get_file(s->chain, ref.key, &cf)) != 0) {
			ipc_reply_error(req, IPC_ERR_FAILED, "no shared file with that ID");
			return;
		}
		memcpy(hash, cf->hash, 32);
		rc = serve_collect_id(&v, cf);
		free(cf);
		if (rc != 0) {
			ipc_reply_error(req, IPC_ERR_FAILED, "out of memory");
			return;
		}
	} else {
		memcpy(hash, ref.key, 32);
		if (chain_find_hash(s->chain, hash, serve_collect_id, &v) != 0 || v.n == 0) {
			free(v.ids);
			/*
			 * Downloaded content has no record of the own chain: rm of
			 * its hash deletes it (0 records removed), else nothing
			 * could ever remove it.
			 */
			if (v.n == 0 && chain_hash_referenced(s->chain, hash) == 0 &&
			    (rc = wh_delete(s->wh, hash)) == WH_OK) {
				log_info("rm: downloaded content deleted from the warehouse");
				serve_send(req, ipc_u32_encode(serve_buf, sizeof(serve_buf),
				    IPC_RM, 0));
				return;
			}
			ipc_reply_error(req, IPC_ERR_FAILED, "no shared file and no "
			    "stored content with that hash");
			return;
		}
	}
	rc = chain_delete_files(s->chain, (const uint8_t (*)[16])v.ids, v.n, &deleted);
	free(v.ids);
	if (rc != 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "blockchain: %s", chain_strerror(rc));
		return;
	}
	/* The content goes when no record of the own chain refers to it any more. */
	if (chain_hash_referenced(s->chain, hash) == 0 && (rc = wh_delete(s->wh, hash)) != 0)
		log_warnx("warehouse delete: %s", wh_strerror(rc));
	serve_send(req, ipc_u32_encode(serve_buf, sizeof(serve_buf),
	    IPC_RM, (uint32_t)deleted));
}

static void
serve_mv(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	static struct ipc_mv mv;
	int rc;

	if (serve_check(s, req, ipc_mv_decode(msg, len, &mv), 1, "mv request") != 0)
		return;
	if ((rc = chain_rename_file(s->chain, mv.id, mv.name)) != 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "%s", rc == CHAIN_ERR_NOT_FOUND ?
		    "no shared file with that ID" : chain_strerror(rc));
		return;
	}
	serve_ok(req, IPC_MV);
}

/*
 * Replies carrying bytes (file ranges, blocks) are written in place: the
 * ipc_data header first, the bytes read straight after it, then the header
 * rewritten with their length.  One copy, no bounce buffer.
 */
static size_t
serve_data_head(uint16_t type, uint64_t offset)
{
	struct ipc_data d;

	memset(&d, 0, sizeof(d));
	d.offset = offset;
	return (size_t)ipc_data_encode(serve_buf, sizeof(serve_buf), type, &d);
}

static void
serve_data_reply(struct ipc_req *req, uint16_t type, uint64_t offset, size_t head,
    size_t got)
{
	struct ipc_data d;

	memset(&d, 0, sizeof(d));
	d.offset = offset;
	d.len = (uint32_t)got;
	ipc_data_encode(serve_buf, head, type, &d);
	ipc_reply(req, serve_buf, head + got);
}

/*
 * A read answered with bytes (IPC_CAT, IPC_BLOCK_GET): read puts them at
 * buf (cap bytes at most) and their count in *got, or returns why it
 * could not.
 */
typedef const char *serve_read_fn(struct storaged *s, const struct ipc_read *rd,
    uint8_t *buf, size_t cap, size_t *got);

static void
serve_read(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len,
    uint16_t type, int chain, const char *what, serve_read_fn *fn)
{
	struct ipc_read rd;
	const char *why;
	size_t head, got = 0;

	if (serve_check(s, req, ipc_read_decode(msg, len, type, &rd), chain, what) != 0)
		return;
	head = serve_data_head(type, rd.offset);
	if ((why = fn(s, &rd, serve_buf + head, sizeof(serve_buf) - head, &got)) != NULL) {
		ipc_reply_error(req, IPC_ERR_FAILED, "%s", why);
		return;
	}
	serve_data_reply(req, type, rd.offset, head, got);
}

/* rd->len is at most IPC_DATA_MAX (its decoder): it fits after the head. */
static const char *
serve_cat_read(struct storaged *s, const struct ipc_read *rd, uint8_t *buf,
    size_t cap, size_t *got)
{
	int rc;

	(void)cap;
	rc = wh_read(s->wh, rd->hash, rd->offset, buf, rd->len, got);
	return rc != 0 ? wh_strerror(rc) : NULL;
}

/*
 * IPC_FILE_FD (apid, bulk channel only): a read-only descriptor of a stored
 * file, so that apid sends it with sendfile instead of IPC_CAT chunks.  The
 * descriptor is opened here (O_RDONLY, wh_fd): apid can read that one
 * file's bytes and nothing else of the warehouse, and write none.
 */
static void
serve_file_fd(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct ipc_file_fd_req q;
	uint8_t buf[32];
	uint64_t size;
	long n;
	int fd, rc;

	if (serve_check(s, req, ipc_file_fd_req_decode(msg, len, &q), 0,
	    "file-fd request") != 0)
		return;
	if (!ipc_req_on_bulk(req)) {
		ipc_reply_error(req, IPC_ERR_FAILED, "descriptors go on the bulk channel only");
		return;
	}
	if ((rc = wh_fd(s->wh, q.hash, &fd, &size)) != 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "%s", wh_strerror(rc));
		return;
	}
	if ((n = ipc_file_fd_rep_encode(buf, sizeof(buf), size)) < 0 ||
	    ipc_reply_fd(req, buf, (size_t)n, fd) != 0)
		log_debug("file-fd: the reply did not go out");
	close(fd);
}

static void
serve_chain(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct ipc_chain_info ci;
	struct chain_info info;

	if (serve_check(s, req, ipc_empty_decode(msg, len, IPC_CHAIN), 1,
	    "chain request") != 0)
		return;
	if (chain_info(s->chain, &info) != 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "blockchain unreadable");
		return;
	}
	ci.version = info.version;
	/* What netd announces: the same as storaged's IPC_EV_CHAIN events. */
	ci.height = info.announce_height;
	ci.files = info.nfiles;
	ci.bytes = info.file_bytes;
	serve_send(req, ipc_chain_info_encode(serve_buf, sizeof(serve_buf),
	    IPC_CHAIN, &ci));
}

static void
serve_profile_get(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	static uint8_t val[IPC_STR_MAX * 4];
	struct ipc_data d;
	uint32_t field;
	size_t vlen = 0;
	int rc;

	if (serve_check(s, req, ipc_u32_decode(msg, len, IPC_PROFILE_GET, &field) != 0 ||
	    field > 0xffff, 1, "profile request") != 0)
		return;
	rc = chain_profile_get(s->chain, (uint16_t)field, val, sizeof(val), &vlen);
	if (rc != 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "%s", rc == CHAIN_ERR_NOT_FOUND ?
		    "profile field not set" : chain_strerror(rc));
		return;
	}
	memset(&d, 0, sizeof(d));
	d.id = field;
	d.bytes = val;
	d.len = (uint32_t)vlen;
	serve_send(req, ipc_data_encode(serve_buf, sizeof(serve_buf),
	    IPC_PROFILE_GET, &d));
}

static void
serve_profile_set(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct ipc_data d;
	int rc;

	if (serve_check(s, req, ipc_data_decode(msg, len, IPC_PROFILE_SET, &d) != 0 ||
	    d.id > 0xffff || d.len > IPC_STR_MAX * 4, 1, "profile update") != 0)
		return;
	if ((rc = chain_profile_set(s->chain, (uint16_t)d.id, d.bytes, d.len)) != 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "blockchain: %s", chain_strerror(rc));
		return;
	}
	serve_ok(req, IPC_PROFILE_SET);
}

struct serve_verify {
	struct ipc_verify_result *v;
};

static void
serve_verify_bad(void *arg, const uint8_t hash[32], const char *why)
{
	struct serve_verify *sv = arg;
	char hex[65], line[160];

	hex_encode(hex, hash, 32);
	snprintf(line, sizeof(line), "%s: %s\n", hex, why);
	log_warnx("verify: %s: %s", hex, why);
	if (strlen(sv->v->report) + strlen(line) < sizeof(sv->v->report))
		strlcat(sv->v->report, line, sizeof(sv->v->report));
}

static void
serve_verify(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	static struct ipc_verify_result v;
	struct serve_verify sv = { &v };
	int rc;

	if (serve_check(s, req, ipc_empty_decode(msg, len, IPC_VERIFY), 0,
	    "verify request") != 0)
		return;
	memset(&v, 0, sizeof(v));
	rc = wh_verify(s->wh, NULL, serve_verify_bad, NULL, &sv, &v.files, &v.bad);
	if (rc != 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "warehouse: %s", wh_strerror(rc));
		return;
	}
	serve_send(req, ipc_verify_result_encode(serve_buf, sizeof(serve_buf), &v));
}

/* rd->offset is the block number. */
static const char *
serve_block_read(struct storaged *s, const struct ipc_read *rd, uint8_t *buf,
    size_t cap, size_t *got)
{
	int rc;

	rc = chain_block(s->chain, rd->offset, buf, cap, got);
	return rc != 0 ? chain_strerror(rc) : NULL;
}

static void
serve_cache(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct ipc_cache_info ci;
	struct cache_stats st;

	if (serve_check(s, req, ipc_empty_decode(msg, len, IPC_CACHE), 0,
	    "cache request") != 0)
		return;
	if (cache_stats(s->cache, &st) != 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "cache unreadable");
		return;
	}
	ci.peers = st.peers;
	ci.blocks = st.blocks;
	ci.bytes = st.bytes;
	ci.files = st.nfiles;
	serve_send(req, ipc_cache_info_encode(serve_buf, sizeof(serve_buf), &ci));
}

/* Counters of what storaged refused from the network, for `status`. */
static void
serve_store_status(struct storaged *s, struct ipc_req *req, const uint8_t *msg,
    size_t len)
{
	static struct ipc_counters ct;
	uint64_t v[CACHE_CNT_MAX];
	int i;

	if (serve_check(s, req, ipc_empty_decode(msg, len, IPC_STORE_STATUS), 0,
	    "store-status request") != 0)
		return;
	memset(&ct, 0, sizeof(ct));
	memset(v, 0, sizeof(v));
	if (s->cache != NULL)
		cache_counters(s->cache, v);
	for (i = 0; i < CACHE_CNT_MAX && i < IPC_COUNTERS_MAX; i++) {
		strlcpy(ct.c[i].name, cache_counter_name(i), sizeof(ct.c[i].name));
		ct.c[i].value = v[i];
		ct.n++;
	}
	serve_send(req, ipc_counters_encode(serve_buf, sizeof(serve_buf),
	    IPC_STORE_STATUS, &ct));
}

static void
serve_cache_seen(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct ipc_cache_seen cs;
	struct ipc_cache_fetch cf;
	uint64_t from = 0, to = 0;
	int status = 0, rc;

	if (serve_check(s, req, ipc_cache_seen_decode(msg, len, &cs), 0,
	    "cache-seen request") != 0)
		return;
	/* Our own chain is not cached. */
	if (s->chain != NULL && memcmp(cs.owner, s->owner, 33) == 0) {
		memset(&cf, 0, sizeof(cf));
		serve_send(req, ipc_cache_fetch_encode(serve_buf, sizeof(serve_buf),
		    &cf));
		return;
	}
	if ((rc = cache_peer_seen(s->cache, cs.owner, cs.version, cs.height, &status,
	    &from, &to)) != 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "cache: %s", cache_strerror(rc));
		return;
	}
	cf.status = (uint8_t)status;
	cf.from = from;
	cf.to = to;
	serve_send(req, ipc_cache_fetch_encode(serve_buf, sizeof(serve_buf), &cf));
}

static void
serve_cache_put(struct storaged *s, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct ipc_cache_block cb;
	int rc;

	if (serve_check(s, req, ipc_cache_block_decode(msg, len, &cb), 0,
	    "cache-put request") != 0)
		return;
	/* The block is checked here as if netd were hostile (signer, number, limits). */
	if ((rc = cache_ingest_block(s->cache, cb.owner, cb.version, cb.number, cb.raw,
	    cb.len)) != 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "block refused: %s", cache_strerror(rc));
		return;
	}
	serve_ok(req, IPC_CACHE_PUT);
}

void
storaged_request(struct daemon *d, struct ipc_req *req, uint16_t type,
    const uint8_t *msg, size_t len)
{
	struct storaged *s = serve_ctx(d);

	switch (type) {
	case IPC_ADD_BEGIN:	serve_add_begin(s, req, msg, len); break;
	case IPC_ADD_DATA:	serve_add_data(s, req, msg, len); break;
	case IPC_ADD_END:	serve_add_end(s, req, msg, len); break;
	case IPC_ADD_ABORT:	serve_add_abort(s, req, msg, len); break;
	case IPC_LS:		serve_ls(s, req, msg, len); break;
	case IPC_RM:		serve_rm(s, req, msg, len); break;
	case IPC_MV:		serve_mv(s, req, msg, len); break;
	case IPC_CAT:
		serve_read(s, req, msg, len, type, 0, "cat request", serve_cat_read);
		break;
	case IPC_FILE_FD:	serve_file_fd(s, req, msg, len); break;
	case IPC_CHAIN:		serve_chain(s, req, msg, len); break;
	case IPC_PROFILE_GET:	serve_profile_get(s, req, msg, len); break;
	case IPC_PROFILE_SET:	serve_profile_set(s, req, msg, len); break;
	case IPC_VERIFY:	serve_verify(s, req, msg, len); break;
	case IPC_BLOCK_GET:
		serve_read(s, req, msg, len, type, 1, "block request", serve_block_read);
		break;
	case IPC_CACHE:		serve_cache(s, req, msg, len); break;
	case IPC_STORE_STATUS:	serve_store_status(s, req, msg, len); break;
	case IPC_CACHE_SEEN:	serve_cache_seen(s, req, msg, len); break;
	case IPC_CACHE_PUT:	serve_cache_put(s, req, msg, len); break;
	case IPC_PEERS_SAVE:	storaged_peers_save(s, req, msg, len); break;
	case IPC_PEERS_LOAD:	storaged_peers_load(s, req, msg, len); break;
	case IPC_FILES_ALL:	storaged_files_all(s, req, msg, len); break;
	case IPC_XSTAT:		storaged_xstat(s, req, msg, len); break;
	case IPC_DL_BEGIN:	storaged_dl_begin(s, req, msg, len); break;
	case IPC_DL_DATA:	storaged_dl_data(s, req, msg, len); break;
	case IPC_DL_COMMIT:	storaged_dl_commit(s, req, msg, len); break;
	case IPC_DL_ABORT:	storaged_dl_abort(s, req, msg, len); break;
	case IPC_WH_END:	serve_wh_end(s, req, msg, len); break;
	case IPC_PUBLISH:	storaged_publish(s, req, msg, len); break;
	case IPC_CHAIN_APPEND:	storaged_chain_append(s, req, msg, len); break;
	case IPC_PROFILE_DEL:	storaged_profile_del(s, req, msg, len); break;
	case IPC_WIPE:		storaged_wipe(s, req, msg, len); break;
	case IPC_PEER_PROFILE:	storaged_peer_profile(s, req, msg, len); break;
	default:
		ipc_reply_error(req, IPC_ERR_UNKNOWN, "storaged does not serve %s requests",
		    ipc_type_name(type));
	}
}
