/*
 * api_chain.c — the own blockchain's routes (FEATURES.md §3.2) and the JSON
 * encoders every route shares: base64 and hex byte fields, text from
 * records (never trusted to be UTF-8), and apiFile (DATA.md §9).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "apid.h"
#include "block.h"
#include "buf.h"
#include "ident.h"
#include "ipc.h"

#define API_LS_PAGE	256	/* files per IPC_LS request */
#define API_LS_PAGES	4096	/* bound on the pages of one listing */

json_t *
api_jb64(const void *p, size_t len)
{
	size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *s;
	json_t *j;

	if ((s = malloc(cap)) == NULL)
		return NULL;
	sodium_bin2base64(s, cap, p, len, sodium_base64_VARIANT_ORIGINAL);
	j = json_string(s);
	free(s);
	return j;
}

json_t *
api_jhex(const void *p, size_t len)
{
	static const char hx[] = "0123456789abcdef";
	const uint8_t *b = p;
	char s[2 * 64 + 1];
	size_t i;

	if (len > 64)
		return NULL;
	for (i = 0; i < len; i++) {
		s[2 * i] = hx[b[i] >> 4];
		s[2 * i + 1] = hx[b[i] & 15];
	}
	s[2 * len] = '\0';
	return json_string(s);
}

/* Go's encoding/json replaces invalid UTF-8 with U+FFFD; so do we. */
json_t *
api_jstrn(const char *s, size_t len)
{
	json_t *j, *t;
	char *o;
	size_t i = 0, n = 0, need;
	unsigned char c;

	if ((j = json_stringn(s, len)) != NULL)
		return j;
	if ((o = malloc(len * 3 + 1)) == NULL)
		return NULL;
	while (i < len) {
		c = (unsigned char)s[i];
		need = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 :
		    (c & 0xf8) == 0xf0 ? 3 : 9;
		if (need == 0) {
			o[n++] = (char)c;
			i++;
			continue;
		}
		/* jansson's validator also refuses overlong forms and surrogates. */
		if (need <= 3 && i + need < len &&
		    (t = json_stringn(s + i, need + 1)) != NULL) {
			json_decref(t);
			memcpy(o + n, s + i, need + 1);
			n += need + 1;
			i += need + 1;
			continue;
		}
		memcpy(o + n, "\xef\xbf\xbd", 3);
		n += 3;
		i++;
	}
	j = json_stringn(o, n);
	free(o);
	return j;
}

static json_t *
api_meta(uint16_t type, const char *name, json_t *text, json_t *blob,
    int64_t date, uint64_t number)
{
	char d[32];

	api_format_time(date, d);
	return json_pack("{s:i, s:s, s:o, s:o, s:s, s:I}", "type", (int)type,
	    "name", name, "text", text ? text : json_string(""),
	    "blob", blob ? blob : json_null(), "date", d, "number",
	    (json_int_t)number);
}

json_t *
api_file_json(const struct ipc_file *f, const uint8_t *owner_node_id)
{
	uint8_t nid[32];
	char id[37], date[32];
	const uint8_t *data;
	json_t *meta;
	size_t off = 0, len;
	uint16_t type;
	int64_t v;

	if (owner_node_id == NULL) {
		ident_node_id(f->owner, nid);
		owner_node_id = nid;
	}
	meta = json_array();
	while (ipc_tags_next(&f->tags, &off, &type, &data, &len) == 1) {
		if (type == 4 && len == 8) {	/* date created, LE seconds */
			v = 0;
			for (size_t i = 0; i < 8; i++)
				v |= (int64_t)data[i] << (8 * i);
			json_array_append_new(meta, api_meta(type, "Date Created",
			    NULL, NULL, v, 0));
		} else
			json_array_append_new(meta, api_meta(type, "", NULL,
			    api_jb64(data, len), 0, 0));
	}
	api_format_uuid(f->id, id);
	api_format_time(f->date, date);
	return json_pack("{s:s, s:o, s:i, s:i, s:I, s:o, s:o, s:o, s:s, s:o, s:o, s:s}",
	    "id", id, "hash", api_jb64(f->hash, 32), "type", (int)f->type,
	    "format", (int)f->format, "size", (json_int_t)f->size,
	    "folder", api_jstrn(f->folder, strlen(f->folder)),
	    "name", api_jstrn(f->name, strlen(f->name)),
	    "description", api_jstrn(f->description, strlen(f->description)),
	    "date", date, "nodeid", api_jb64(owner_node_id, 32),
	    "metadata", meta, "username", "");
}

/*
 * storaged's chain height and version into ci: 0; or -1 having replied
 * with the error, *rc what to return.
 */
static int
api_chain_info(struct api_req *r, struct ipc_chain_info *ci, int *rc)
{
	char err[256];
	uint8_t *rep;
	size_t len;
	int bad;

	if (api_ipc_empty(r->api, "storaged", IPC_CHAIN, &rep, &len, err,
	    sizeof(err)) != 0) {
		*rc = api_reply_ipc_err(r, "storaged", err);
		return -1;
	}
	bad = ipc_chain_info_decode(rep, len, IPC_CHAIN, ci) != 0;
	free(rep);
	if (bad) {
		*rc = api_reply_ipc_err(r, "storaged", "malformed chain reply");
		return -1;
	}
	return 0;
}

int
api_chain_header(struct api_req *r)
{
	struct ipc_chain_info ci;
	char err[256];
	int rc;

	if (api_self(r->api, err, sizeof(err)) != 0)
		return api_reply_ipc_err(r, "netd", err);
	if (api_chain_info(r, &ci, &rc) != 0)
		return rc;
	return api_reply_json(r, 200, json_pack("{s:o, s:I, s:I}",
	    "peerid", api_jhex(r->api->self_pubkey, 33),
	    "version", (json_int_t)ci.version, "height", (json_int_t)ci.height));
}

int
api_chain_file_list(struct api_req *r)
{
	struct ipc_file f;
	struct ipc_file_list fl;
	struct ipc_range rg;
	const char *q = api_query(r, "fileFormat");
	uint8_t req[64], *rep;
	char err[256];
	size_t len;
	json_t *files;
	int64_t fmt = -1;
	uint32_t page;
	int refused, rc;
	long n;

	/* The reference ignores a fileFormat that is not a number. */
	if (q != NULL && api_parse_int(q, 0, 65535, &fmt) != 0)
		fmt = -1;
	if (api_self(r->api, err, sizeof(err)) != 0)
		return api_reply_ipc_err(r, "netd", err);
	/* No files: the reference encodes its nil slice as null. */
	files = json_null();
	for (page = 0; page < API_LS_PAGES; page++) {
		rg.offset = page * API_LS_PAGE;
		rg.limit = API_LS_PAGE;
		n = ipc_range_encode(req, sizeof(req), IPC_LS, &rg);
		if (api_ipc(r->api, "storaged", req, (size_t)n, &rep, &len, &refused,
		    err, sizeof(err)) != 0) {
			json_decref(files);
			return api_reply_ipc_err(r, "storaged", err);
		}
		if (ipc_file_list_decode(rep, len, IPC_LS, &fl) != 0) {
			free(rep);
			json_decref(files);
			return api_reply_ipc_err(r, "storaged", "malformed file list");
		}
		while ((rc = ipc_file_list_next(&fl, &f)) == 1) {
			if (fmt >= 0 && f.format != fmt)
				continue;
			if (json_is_null(files)) {
				json_decref(files);
				files = json_array();
			}
			json_array_append_new(files, api_file_json(&f,
			    r->api->self_node_id));
		}
		free(rep);
		if (fl.count < API_LS_PAGE || rg.offset + fl.count >= fl.total)
			break;
	}
	return api_reply_json(r, 200, json_pack("{s:o, s:i}", "files", files,
	    "status", 0));
}

/* {status, height, version}: the chain after a change (blockchain status 0). */
int
api_reply_chain_status(struct api_req *r, int status)
{
	struct ipc_chain_info ci;
	int rc;

	if (api_chain_info(r, &ci, &rc) != 0)
		return rc;
	return api_reply_json(r, 200, json_pack("{s:i, s:I, s:I}", "status", status,
	    "height", (json_int_t)ci.height, "version", (json_int_t)ci.version));
}

static const struct api_jfield api_files_spec[] = {
	{ "files", API_J_ARRAY, 1 },
};

/*
 * POST /blockchain/file/delete {files:[{id}]}: the records go (storaged
 * also drops warehouse data no other record uses, as the reference); an
 * ID that is not in the chain is no error, as in the reference.
 */
int
api_chain_file_delete(struct api_req *r)
{
	struct ipc_ref ref;
	uint8_t req[64], *rep;
	char err[256];
	json_t *b, *f, *id;
	size_t i, len;
	int refused, rc;
	long n;

	if (api_body_json(r, api_files_spec, 1, &b, &rc) != 0)
		return rc;
	/* Every ID is checked before anything is deleted. */
	json_array_foreach(json_object_get(b, "files"), i, f) {
		id = json_object_get(f, "id");
		if (!json_is_object(f) || !json_is_string(id) ||
		    api_parse_uuid(json_string_value(id), ref.key) != 0) {
			json_decref(b);
			return api_reply_error(r, 400, "bad_json",
			    "files[%zu].id must be a file ID (UUID)", i);
		}
	}
	json_array_foreach(json_object_get(b, "files"), i, f) {
		memset(&ref, 0, sizeof(ref));
		ref.kind = 0;
		api_parse_uuid(json_string_value(json_object_get(f, "id")), ref.key);
		n = ipc_ref_encode(req, sizeof(req), IPC_RM, &ref);
		if (api_ipc(r->api, "storaged", req, (size_t)n, &rep, &len, &refused,
		    err, sizeof(err)) == 0)
			free(rep);
		else if (!refused) {
			json_decref(b);
			return api_reply_ipc_err(r, "storaged", err);
		}
	}
	json_decref(b);
	return api_reply_chain_status(r, 0);
}

/* A file record of a block as apiFile (the same mapping as api_file_json). */
static json_t *
api_record_file_json(const struct record_file *rf, const uint8_t *owner_node_id)
{
	struct record_file_tag_iter it;
	struct record_file_tag t;
	char id[37], date[32];
	json_t *o, *meta = json_array(), *name = NULL, *folder = NULL, *desc = NULL;
	int64_t v;

	record_file_tag_iter_init(&it, rf);
	while (record_file_tag_next(&it, &t) == 1) {
		switch (t.type) {
		case RECORD_TAG_NAME:
			json_decref(name);
			name = api_jstrn((const char *)t.data, t.len);
			break;
		case RECORD_TAG_FOLDER:
			json_decref(folder);
			folder = api_jstrn((const char *)t.data, t.len);
			break;
		case RECORD_TAG_DESCRIPTION:
			json_decref(desc);
			desc = api_jstrn((const char *)t.data, t.len);
			break;
		case RECORD_TAG_DATE_SHARED:
			break;	/* the top-level date */
		case RECORD_TAG_DATE_CREATED:
			if (record_tag_date(t.data, t.len, &v) == 0) {
				json_array_append_new(meta, api_meta(t.type, "Date Created",
				    NULL, NULL, v, 0));
				break;
			}
			/* FALLTHROUGH */
		default:
			json_array_append_new(meta, api_meta(t.type, "", NULL,
			    api_jb64(t.data, t.len), 0, 0));
		}
	}
	api_format_uuid(rf->id, id);
	api_format_time(rf->date_shared, date);
	o = json_pack("{s:s, s:o, s:i, s:i, s:I, s:o, s:o, s:o, s:s, s:o, s:o, s:s}",
	    "id", id, "hash", api_jb64(rf->hash, 32), "type", (int)rf->type,
	    "format", (int)rf->format, "size", (json_int_t)rf->size,
	    "folder", folder ? folder : json_string(""),
	    "name", name ? name : json_string(""),
	    "description", desc ? desc : json_string(""),
	    "date", date, "nodeid", api_jb64(owner_node_id, 32),
	    "metadata", meta, "username", "");
	return o;
}

/*
 * GET /blockchain/read?block=N: one block of the own chain, its records raw
 * and its file records decoded.  As the reference: lastblockhash,
 * blockchainversion and blocknumber stay empty, profile records are not
 * decoded; status 1 for a block that does not exist.
 */
int
api_chain_read(struct api_req *r)
{
	struct ipc_read rd;
	struct ipc_data d;
	struct block b;
	struct block_iter it;
	struct block_record br;
	struct record_file rf;
	uint8_t req[128], *rep;
	char err[256];
	json_t *raw, *dec;
	int64_t num;
	size_t len;
	uint32_t idx;
	int refused;
	long n;

	if (api_parse_int(api_query(r, "block"), 0, INT64_MAX, &num) != 0)
		return api_reply_error(r, 400, "bad_block", "block must be a block number");
	if (api_self(r->api, err, sizeof(err)) != 0)
		return api_reply_ipc_err(r, "netd", err);
	memset(&rd, 0, sizeof(rd));
	rd.offset = (uint64_t)num;
	n = ipc_read_encode(req, sizeof(req), IPC_BLOCK_GET, &rd);
	if (api_ipc(r->api, "storaged", req, (size_t)n, &rep, &len, &refused, err,
	    sizeof(err)) != 0) {
		if (!refused)
			return api_reply_ipc_err(r, "storaged", err);
		return api_reply_json(r, 200, json_pack("{s:i, s:s, s:n, s:i, s:i, s:n, s:n}",
		    "status", 1, "peerid", "", "lastblockhash", "blockchainversion", 0,
		    "blocknumber", 0, "recordsraw", "recordsdecoded"));
	}
	/* storaged's bytes are decoded like any block from outside. */
	if (ipc_data_decode(rep, len, IPC_BLOCK_GET, &d) != 0 ||
	    block_decode(d.bytes, d.len, &b) != BLOCK_OK) {
		free(rep);
		return api_reply_json(r, 200, json_pack("{s:i, s:s, s:n, s:i, s:i, s:n, s:n}",
		    "status", 2, "peerid", "", "lastblockhash", "blockchainversion", 0,
		    "blocknumber", 0, "recordsraw", "recordsdecoded"));
	}
	raw = json_null();
	dec = json_null();
	block_iter_init(&it, &b);
	for (idx = 0; block_iter_next(&it, &br) == 1; idx++) {
		if (json_is_null(raw)) {
			json_decref(raw);
			raw = json_array();
		}
		json_array_append_new(raw, json_pack("{s:i, s:o}", "type", (int)br.type,
		    "data", api_jb64(br.data, br.len)));
		if (br.type != BLOCK_REC_FILE || record_file_decode(&b, idx, &rf) != BLOCK_OK)
			continue;
		if (json_is_null(dec)) {
			json_decref(dec);
			dec = json_array();
		}
		json_array_append_new(dec, api_record_file_json(&rf, r->api->self_node_id));
	}
	free(rep);
	return api_reply_json(r, 200, json_pack("{s:i, s:o, s:n, s:i, s:i, s:o, s:o}",
	    "status", 0, "peerid", api_jhex(r->api->self_pubkey, 33),
	    "lastblockhash", "blockchainversion", 0, "blocknumber", 0,
	    "recordsraw", raw, "recordsdecoded", dec));
}

/* RFC 3339 ("2021-08-27T14:59:13Z", "...+02:00", fractions) -> Unix seconds. */
static int
api_parse_rfc3339(const char *s, int64_t *out)
{
	struct tm tm;
	const char *p;
	int64_t off = 0;
	int oh, om;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if (*p == 'Z' || *p == 'z')
		p++;
	else if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &oh, &om) == 2 &&
	    strlen(p) == 6) {
		off = (int64_t)(oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
		p += 6;
	} else
		return -1;
	if (*p != '\0')
		return -1;
	*out = (int64_t)timegm(&tm) - off;
	return 0;
}

/*
 * One apiFile of a request body into f; -1 and the reason in err.  As the
 * reference: the hash is required (32 bytes), the date is ignored (the
 * record's date is when it is written), metadata type 4 is the date
 * created, the other non-virtual types are stored as blobs; name, folder
 * and description are the top-level fields.
 */
static int
api_file_from_json(json_t *o, int need_id, struct ipc_file *f, char *err,
    size_t errlen)
{
	static const char *const strs[] = { "name", "folder", "description" };
	char *const dst[] = { f->name, f->folder, f->description };
	uint8_t blob[IPC_TAGS_MAX], date[8];
	const char *s;
	json_t *v, *m;
	size_t i, len;
	int64_t t;
	json_int_t n;

	memset(f, 0, sizeof(*f));
	if (!json_is_object(o)) {
		snprintf(err, errlen, "not an object");
		return -1;
	}
	v = json_object_get(o, "id");
	if (v != NULL && !json_is_null(v) && (!json_is_string(v) ||
	    api_parse_uuid(json_string_value(v), f->id) != 0)) {
		snprintf(err, errlen, "id must be a file ID (UUID)");
		return -1;
	}
	if (need_id && memcmp(f->id, (uint8_t[16]){ 0 }, 16) == 0) {
		snprintf(err, errlen, "id is required to update a file");
		return -1;
	}
	s = json_string_value(json_object_get(o, "hash"));
	if (s == NULL || sodium_base642bin(f->hash, 32, s, strlen(s), NULL, &len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || len != 32) {
		snprintf(err, errlen, "hash must be 32 bytes in base64");
		return -1;
	}
	v = json_object_get(o, "type");
	n = json_is_integer(v) ? json_integer_value(v) : 0;
	if ((v != NULL && !json_is_integer(v)) || n < 0 || n > 255) {
		snprintf(err, errlen, "type must be 0..255");
		return -1;
	}
	f->type = (uint8_t)n;
	v = json_object_get(o, "format");
	n = json_is_integer(v) ? json_integer_value(v) : 0;
	if ((v != NULL && !json_is_integer(v)) || n < 0 || n > 65535) {
		snprintf(err, errlen, "format must be 0..65535");
		return -1;
	}
	f->format = (uint16_t)n;
	for (i = 0; i < 3; i++) {
		v = json_object_get(o, strs[i]);
		if (v == NULL || json_is_null(v))
			continue;
		if (!json_is_string(v) || json_string_length(v) > IPC_STR_MAX ||
		    strlen(json_string_value(v)) != json_string_length(v)) {
			snprintf(err, errlen, "%s must be a string of at most %d bytes",
			    strs[i], IPC_STR_MAX);
			return -1;
		}
		memcpy(dst[i], json_string_value(v), json_string_length(v) + 1);
	}
	v = json_object_get(o, "metadata");
	if (v != NULL && !json_is_null(v) && !json_is_array(v)) {
		snprintf(err, errlen, "metadata must be an array");
		return -1;
	}
	json_array_foreach(v, i, m) {
		json_t *mt = json_object_get(m, "type");

		if (!json_is_integer(mt) || json_integer_value(mt) < 0 ||
		    json_integer_value(mt) > 32767) {
			snprintf(err, errlen, "metadata[%zu].type must be 0..32767", i);
			return -1;
		}
		n = json_integer_value(mt);
		if (n == 4) {		/* date created */
			if (api_parse_rfc3339(json_string_value(json_object_get(m, "date")),
			    &t) != 0) {
				snprintf(err, errlen, "metadata[%zu].date must be an RFC 3339 "
				    "time", i);
				return -1;
			}
			buf_put_le64(date, (uint64_t)t);
			if (ipc_tags_add(&f->tags, 4, date, 8) != 0)
				goto full;
			continue;
		}
		/* Name, folder, description are top-level; 3, 5, 6 are virtual. */
		if (n <= 6)
			continue;
		s = json_string_value(json_object_get(m, "blob"));
		len = 0;
		if (s != NULL && sodium_base642bin(blob, sizeof(blob), s, strlen(s), NULL,
		    &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
			snprintf(err, errlen, "metadata[%zu].blob must be base64", i);
			return -1;
		}
		if (ipc_tags_add(&f->tags, (uint16_t)n, blob, len) != 0)
			goto full;
	}
	return 0;
full:
	snprintf(err, errlen, "metadata larger than %d bytes", IPC_TAGS_MAX);
	return -1;
}

/* /blockchain/file/add and /update: every file checked, then sent in batches. */
static int
api_chain_publish(struct api_req *r, int replace)
{
	struct ipc_publish q;
	struct ipc_publish_result pr;
	struct ipc_file *files;
	uint8_t *req, *rep;
	char err[256];
	json_t *b, *arr, *f;
	size_t i, n, k, len;
	int refused, rc, status = 0;
	long m;

	if (api_body_json(r, api_files_spec, 1, &b, &rc) != 0)
		return rc;
	arr = json_object_get(b, "files");
	n = json_array_size(arr);
	if ((files = calloc(n ? n : 1, sizeof(*files))) == NULL ||
	    (req = malloc(IPC_MSG_MAX)) == NULL) {
		free(files);
		json_decref(b);
		return api_reply_error(r, 500, "internal", "out of memory");
	}
	json_array_foreach(arr, i, f)
		if (api_file_from_json(f, replace, &files[i], err, sizeof(err)) != 0) {
			free(req);
			free(files);
			json_decref(b);
			return api_reply_error(r, 400, "bad_json", "files[%zu]: %s", i, err);
		}
	json_decref(b);
	for (k = 0; k < n && status == 0; k += IPC_PUBLISH_MAX) {
		q.replace = (uint8_t)replace;
		q.count = (uint16_t)(n - k < IPC_PUBLISH_MAX ? n - k : IPC_PUBLISH_MAX);
		q.files = files + k;
		if ((m = ipc_publish_encode(req, IPC_MSG_MAX, &q)) < 0) {
			free(req);
			free(files);
			return api_reply_error(r, 413, "too_large", "files too large for "
			    "one request to storaged");
		}
		if (api_ipc(r->api, "storaged", req, (size_t)m, &rep, &len, &refused,
		    err, sizeof(err)) != 0) {
			free(req);
			free(files);
			if (refused)	/* the chain refused these records (exists, too large) */
				return api_reply_error(r, 400, "refused", "%s", err);
			return api_reply_ipc_err(r, "storaged", err);
		}
		rc = ipc_publish_result_decode(rep, len, &pr);
		free(rep);
		if (rc != 0) {
			free(req);
			free(files);
			return api_reply_ipc_err(r, "storaged", "malformed publish reply");
		}
		status = pr.status;
	}
	free(req);
	free(files);
	return api_reply_chain_status(r, status);
}

/* POST /blockchain/file/add {files:[apiFile]} */
int
api_chain_file_add(struct api_req *r)
{
	return api_chain_publish(r, 0);
}

/* POST /blockchain/file/update {files:[apiFile]}: delete + re-add by ID. */
int
api_chain_file_update(struct api_req *r)
{
	return api_chain_publish(r, 1);
}

static const struct api_jfield api_records_spec[] = {
	{ "records", API_J_ARRAY, 1 },
};

/*
 * POST /blockchain/append {records:[{type, data}]}: raw records as one
 * block.  The reference checks nothing; storaged refuses what peers would
 * refuse (file records that do not decode, a block over the size limit):
 * 400 with the reason.
 */
int
api_chain_append(struct api_req *r)
{
	struct ipc_append *q;	/* 24 KiB: the heap, not the stack */
	uint8_t *req, *data, *rep;
	char err[256];
	json_t *b, *rec, *t;
	const char *d;
	size_t i, used = 0, len;
	int refused, rc;
	long n;

	if (api_body_json(r, api_records_spec, 1, &b, &rc) != 0)
		return rc;
	if (json_array_size(json_object_get(b, "records")) == 0 ||
	    json_array_size(json_object_get(b, "records")) > IPC_APPEND_MAX) {
		json_decref(b);
		return api_reply_error(r, 400, "bad_json", "records: 1..%d records",
		    IPC_APPEND_MAX);
	}
	q = malloc(sizeof(*q));
	data = malloc(APID_BODY_MAX);
	req = malloc(IPC_MSG_MAX);
	if (q == NULL || data == NULL || req == NULL) {
		free(req);
		free(data);
		free(q);
		json_decref(b);
		return api_reply_error(r, 500, "internal", "out of memory");
	}
	q->count = 0;
	json_array_foreach(json_object_get(b, "records"), i, rec) {
		t = json_object_get(rec, "type");
		d = json_string_value(json_object_get(rec, "data"));
		len = 0;
		if (!json_is_integer(t) || json_integer_value(t) < 0 ||
		    json_integer_value(t) > 255 || (d != NULL &&
		    sodium_base642bin(data + used, APID_BODY_MAX - used, d, strlen(d), NULL,
		    &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)) {
			free(req);
			free(data);
			free(q);
			json_decref(b);
			return api_reply_error(r, 400, "bad_json", "records[%zu]: type "
			    "0..255 and data in base64", i);
		}
		q->recs[q->count].type = (uint8_t)json_integer_value(t);
		q->recs[q->count].data = data + used;
		q->recs[q->count].len = (uint32_t)len;
		q->count++;
		used += len;
	}
	json_decref(b);
	n = ipc_append_encode(req, IPC_MSG_MAX, q);
	free(data);
	free(q);
	if (n < 0) {
		free(req);
		return api_reply_error(r, 413, "too_large", "records too large");
	}
	rc = api_ipc(r->api, "storaged", req, (size_t)n, &rep, &len, &refused, err,
	    sizeof(err));
	free(req);
	if (rc != 0)
		return refused ? api_reply_error(r, 400, "refused", "%s", err) :
		    api_reply_ipc_err(r, "storaged", err);
	free(rep);
	return api_reply_chain_status(r, 0);
}
