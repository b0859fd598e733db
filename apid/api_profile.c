/*
 * api_profile.c — the own profile's routes (FEATURES.md §3.3), read through
 * storaged's IPC_PROFILE_GET one field at a time.  Text for the fields
 * 0..5, a base64 blob for 6 (picture) and client-defined types.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "apid.h"
#include "ipc.h"

#define API_PROFILE_STD	7	/* Name .. Picture: the fields /profile/list knows */
#define API_STATUS_NOT_PRESENT	4	/* DATA.md §2.8: requested data not present */

/* 1 and the field as JSON, 0 when not set, -1 with err when storaged failed. */
static int
api_profile_field(struct api_req *r, uint32_t type, json_t **out, char *err,
    size_t errlen)
{
	struct ipc_data d;
	uint8_t req[16], *rep;
	size_t len;
	int refused;
	long n;

	n = ipc_u32_encode(req, sizeof(req), IPC_PROFILE_GET, type);
	if (api_ipc(r->api, "storaged", req, (size_t)n, &rep, &len, &refused, err,
	    errlen) != 0)
		return refused && strstr(err, "not set") != NULL ? 0 : -1;
	if (ipc_data_decode(rep, len, IPC_PROFILE_GET, &d) != 0) {
		free(rep);
		snprintf(err, errlen, "malformed profile reply");
		return -1;
	}
	if (type <= 5)
		*out = json_pack("{s:i, s:o, s:n}", "type", (int)type, "text",
		    api_jstrn((const char *)d.bytes, d.len), "blob");
	else
		*out = json_pack("{s:i, s:s, s:o}", "type", (int)type, "text", "",
		    "blob", api_jb64(d.bytes, d.len));
	free(rep);
	return 1;
}

/* node= absent or our own node ID: 0; another node: 1; malformed: -1. */
static int
api_profile_node(struct api_req *r, char *err, size_t errlen)
{
	const char *q = api_query(r, "node");
	uint8_t nid[32];

	if (q == NULL || *q == '\0')
		return 0;
	if (api_parse_hex(q, nid, sizeof(nid)) != 0)
		return -1;
	if (api_self(r->api, err, errlen) != 0)
		return -2;
	return memcmp(nid, r->api->self_node_id, 32) == 0 ? 0 : 1;
}

static int
api_profile_node_reply(struct api_req *r, int who, const char *err)
{
	if (who == -1)
		return api_reply_error(r, 400, "bad_node",
		    "node must be 64 hex digits (a node ID)");
	if (who == -2)
		return api_reply_ipc_err(r, "netd", err);
	/* The reference drops the connection or answers for itself here. */
	return api_reply_error(r, 501, "not_implemented",
	    "profiles of other nodes are not served by this node yet");
}

int
api_profile_list(struct api_req *r)
{
	char err[256];
	json_t *fields, *f;
	uint32_t t;
	int who, rc;

	if ((who = api_profile_node(r, err, sizeof(err))) != 0)
		return api_profile_node_reply(r, who, err);
	fields = json_null();
	for (t = 0; t < API_PROFILE_STD; t++) {
		if ((rc = api_profile_field(r, t, &f, err, sizeof(err))) < 0) {
			json_decref(fields);
			return api_reply_ipc_err(r, "storaged", err);
		}
		if (rc == 0)
			continue;
		if (json_is_null(fields)) {
			json_decref(fields);
			fields = json_array();
		}
		json_array_append_new(fields, f);
	}
	return api_reply_json(r, 200, json_pack("{s:o, s:i}", "fields", fields,
	    "status", 0));
}

int
api_profile_read(struct api_req *r)
{
	char err[256];
	json_t *f = NULL;
	int64_t field;
	int who, rc;

	if (api_parse_int(api_query(r, "field"), 0, 65535, &field) != 0)
		return api_reply_error(r, 400, "bad_field",
		    "field must be a profile field number 0..65535");
	if ((who = api_profile_node(r, err, sizeof(err))) != 0)
		return api_profile_node_reply(r, who, err);
	if ((rc = api_profile_field(r, (uint32_t)field, &f, err, sizeof(err))) < 0)
		return api_reply_ipc_err(r, "storaged", err);
	if (rc == 0)
		return api_reply_json(r, 200, json_pack("{s:n, s:i}", "fields",
		    "status", API_STATUS_NOT_PRESENT));
	return api_reply_json(r, 200, json_pack("{s:[o], s:i}", "fields", f,
	    "status", 0));
}

static const struct api_jfield api_profile_spec[] = {
	{ "fields", API_J_ARRAY, 1 },
};

/*
 * POST /profile/write {fields:[{type, text | blob}]}: text for the fields
 * 0..5, base64 blob for the others (text accepted for them too).  All
 * fields are checked before the first is written.
 */
int
api_profile_write(struct api_req *r)
{
	static __thread uint8_t val[IPC_STR_MAX * 4], buf[IPC_STR_MAX * 4 + 64];
	struct ipc_data d;
	const char *text, *blob;
	uint8_t *rep;
	char err[256];
	json_t *b, *f, *t;
	size_t i, len, vlen;
	int pass, refused, rc;
	long n;

	if (api_body_json(r, api_profile_spec, 1, &b, &rc) != 0)
		return rc;
	for (pass = 0; pass < 2; pass++) {
		json_array_foreach(json_object_get(b, "fields"), i, f) {
			t = json_object_get(f, "type");
			text = json_string_value(json_object_get(f, "text"));
			blob = json_string_value(json_object_get(f, "blob"));
			if (!json_is_object(f) || !json_is_integer(t) ||
			    json_integer_value(t) < 0 || json_integer_value(t) > 65535) {
				json_decref(b);
				return api_reply_error(r, 400, "bad_json",
				    "fields[%zu].type must be 0..65535", i);
			}
			if (blob != NULL && *blob != '\0' && json_integer_value(t) > 5) {
				if (sodium_base642bin(val, sizeof(val), blob, strlen(blob),
				    NULL, &vlen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
					json_decref(b);
					return api_reply_error(r, 400, "bad_json", "fields[%zu].blob "
					    "must be base64 of at most %d bytes", i, IPC_STR_MAX * 4);
				}
			} else {
				vlen = text != NULL ? strlen(text) : 0;
				if (vlen > sizeof(val)) {
					json_decref(b);
					return api_reply_error(r, 400, "bad_json", "fields[%zu].text "
					    "longer than %d bytes", i, IPC_STR_MAX * 4);
				}
				if (vlen > 0)
					memcpy(val, text, vlen);
			}
			if (pass == 0)
				continue;
			memset(&d, 0, sizeof(d));
			d.id = (uint32_t)json_integer_value(t);
			d.bytes = val;
			d.len = (uint32_t)vlen;
			n = ipc_data_encode(buf, sizeof(buf), IPC_PROFILE_SET, &d);
			if (n < 0 || api_ipc(r->api, "storaged", buf, (size_t)n, &rep, &len,
			    &refused, err, sizeof(err)) != 0) {
				json_decref(b);
				return api_reply_ipc_err(r, "storaged", n < 0 ? "too large" : err);
			}
			free(rep);
		}
	}
	json_decref(b);
	return api_reply_chain_status(r, 0);
}
