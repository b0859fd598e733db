/*
 * api_profile.c — the profile routes (FEATURES.md §3.3): the own profile
 * read through storaged's IPC_PROFILE_GET one field at a time, written with
 * IPC_PROFILE_SET, fields deleted with IPC_PROFILE_DEL; another node's from
 * the cache of its chain (IPC_PEER_PROFILE).  Text for the fields 0..5, a
 * base64 blob for 6 (picture) and client-defined types.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "apid.h"
#include "ipc.h"

#define API_PROFILE_STD	7	/* Name .. Picture: the fields /profile/list knows */
#define API_STATUS_NOT_PRESENT	4	/* DATA.md §2.8: requested data not present */
#define API_PROFILE_FIND_MS	3000	/* DHT lookup of a node not connected */
#define API_PROFILE_WAIT_TRIES	10	/* then its chain fetched: 10 x 300 ms */
#define API_PROFILE_WAIT_MS	300

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

/* node= absent or our own node ID: 0; another node: 1 (nid set); malformed: -1. */
static int
api_profile_node(struct api_req *r, uint8_t nid[32], char *err, size_t errlen)
{
	const char *q = api_query(r, "node");

	if (q == NULL || *q == '\0')
		return 0;
	if (api_parse_hex(q, nid, 32) != 0)
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
	return api_reply_ipc_err(r, "netd", err);
}

/* A DHT lookup of a node not connected (netd's IPC_FIND): 0 and its key. */
static int
api_profile_find(struct api_req *r, const uint8_t nid[32], uint8_t pubkey[33])
{
	struct ipc_find_req f;
	struct ipc_find_rep fr;
	uint8_t req[64], *rep;
	char err[256];
	size_t len;
	int refused, rc;
	long n;

	memcpy(f.key, nid, 32);
	f.timeout_ms = API_PROFILE_FIND_MS;
	n = ipc_find_req_encode(req, sizeof(req), &f);
	if (api_ipc(r->api, "netd", req, (size_t)n, &rep, &len, &refused, err,
	    sizeof(err)) != 0)
		return -1;
	rc = ipc_find_rep_decode(rep, len, &fr);
	free(rep);
	if (rc != 0 || !fr.found)
		return -1;
	memcpy(pubkey, fr.pubkey, 33);
	return 0;
}

/*
 * Another node's profile, as the reference finds it: its public key from
 * netd's peer list, else from one DHT lookup; then the newest value of each
 * field in the cached blocks of its chain (storaged), waiting a little for
 * a node just found to have its chain fetched.  0 and *pp, or an error
 * reply queued (-1, *mhd_rc): 404 JSON for a node not found or with
 * nothing cached, where the reference drops the connection.
 */
static int
api_profile_remote(struct api_req *r, const uint8_t nid[32], uint8_t **rep,
    struct ipc_peer_profile *pp, int *mhd_rc)
{
	struct ipc_peer_list pl;
	struct ipc_peer p;
	struct ipc_peer_profile_req q;
	uint8_t req[64], *prep;
	char err[256];
	size_t len;
	int found = 0, refused, rc, tries;
	long n;

	if (api_ipc_empty(r->api, "netd", IPC_PEERS, &prep, &len, err, sizeof(err)) != 0) {
		*mhd_rc = api_reply_ipc_err(r, "netd", err);
		return -1;
	}
	if (ipc_peer_list_decode(prep, len, &pl) != 0) {
		free(prep);
		*mhd_rc = api_reply_ipc_err(r, "netd", "malformed peer list");
		return -1;
	}
	while (!found && ipc_peer_list_next(&pl, &p) == 1)
		if (memcmp(p.node_id, nid, 32) == 0) {
			memcpy(q.owner, p.pubkey, 33);
			found = 1;
		}
	free(prep);
	/* Not connected: one DHT lookup (as the reference), which also contacts it. */
	if (!found && api_profile_find(r, nid, q.owner) == 0)
		found = 2;
	if (!found) {
		*mhd_rc = api_reply_error(r, 404, "node_unknown", "that node is neither "
		    "in this node's peer list nor found in the DHT");
		return -1;
	}
	/* A node just found: netd fetches its chain when it announces itself. */
	for (tries = 0; ; tries++) {
		n = ipc_peer_profile_req_encode(req, sizeof(req), &q);
		if (api_ipc(r->api, "storaged", req, (size_t)n, rep, &len, &refused, err,
		    sizeof(err)) != 0) {
			*mhd_rc = api_reply_ipc_err(r, "storaged", err);
			return -1;
		}
		if ((rc = ipc_peer_profile_decode(*rep, len, pp)) != 0) {
			free(*rep);
			*mhd_rc = api_reply_ipc_err(r, "storaged", "malformed profile reply");
			return -1;
		}
		if (pp->cached)
			return 0;
		free(*rep);
		if (found != 2 || tries >= API_PROFILE_WAIT_TRIES)
			break;
		nanosleep(&(struct timespec){ 0, API_PROFILE_WAIT_MS * 1000000L }, NULL);
	}
	*mhd_rc = api_reply_error(r, 404, "not_cached", "nothing of that node's "
	    "blockchain is cached yet");
	return -1;
}

static json_t *
api_profile_json(uint32_t type, const uint8_t *data, size_t len)
{
	if (type <= 5)
		return json_pack("{s:i, s:o, s:n}", "type", (int)type, "text",
		    api_jstrn((const char *)data, len), "blob");
	return json_pack("{s:i, s:s, s:o}", "type", (int)type, "text", "",
	    "blob", api_jb64(data, len));
}

/*
 * /profile/list and /profile/read of another node: the list has Name and
 * Picture only (as the reference); field < 0: the list.
 */
static int
api_profile_other(struct api_req *r, const uint8_t nid[32], int64_t field)
{
	struct ipc_peer_profile pp;
	uint8_t *rep;
	json_t *fields = json_null();
	uint16_t i;
	int rc;

	if (api_profile_remote(r, nid, &rep, &pp, &rc) != 0)
		return rc;
	for (i = 0; i < pp.count; i++) {
		if (field >= 0 ? pp.fields[i].field != field :
		    pp.fields[i].field != 0 && pp.fields[i].field != 6)
			continue;
		if (json_is_null(fields)) {
			json_decref(fields);
			fields = json_array();
		}
		json_array_append_new(fields, api_profile_json(pp.fields[i].field,
		    pp.fields[i].data, pp.fields[i].len));
	}
	free(rep);
	return api_reply_json(r, 200, json_pack("{s:o, s:i}", "fields", fields,
	    "status", field >= 0 && json_is_null(fields) ? API_STATUS_NOT_PRESENT : 0));
}

int
api_profile_list(struct api_req *r)
{
	char err[256];
	uint8_t nid[32];
	json_t *fields, *f;
	uint32_t t;
	int who, rc;

	if ((who = api_profile_node(r, nid, err, sizeof(err))) == 1)
		return api_profile_other(r, nid, -1);
	if (who != 0)
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
	uint8_t nid[32];
	json_t *f = NULL;
	int64_t field;
	int who, rc;

	if (api_parse_int(api_query(r, "field"), 0, 65535, &field) != 0)
		return api_reply_error(r, 400, "bad_field",
		    "field must be a profile field number 0..65535");
	if ((who = api_profile_node(r, nid, err, sizeof(err))) == 1)
		return api_profile_other(r, nid, field);
	if (who != 0)
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
	uint8_t val[IPC_STR_MAX * 4], buf[IPC_STR_MAX * 4 + 64];
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

/*
 * POST /profile/delete {fields:[{type}]}: those fields go (a rewrite of
 * the chain, version + 1, as the reference); {status, height, version}.
 */
int
api_profile_delete(struct api_req *r)
{
	struct ipc_profile_del q;
	uint8_t req[IPC_PROFILE_DEL_MAX * 2 + 16], *rep;
	char err[256];
	json_t *b, *f, *t;
	size_t i, len;
	int refused, rc;
	long n;

	if (api_body_json(r, api_profile_spec, 1, &b, &rc) != 0)
		return rc;
	memset(&q, 0, sizeof(q));
	if (json_array_size(json_object_get(b, "fields")) > IPC_PROFILE_DEL_MAX) {
		json_decref(b);
		return api_reply_error(r, 400, "bad_json", "at most %d fields",
		    IPC_PROFILE_DEL_MAX);
	}
	json_array_foreach(json_object_get(b, "fields"), i, f) {
		t = json_object_get(f, "type");
		if (!json_is_integer(t) || json_integer_value(t) < 0 ||
		    json_integer_value(t) > 65535) {
			json_decref(b);
			return api_reply_error(r, 400, "bad_json",
			    "fields[%zu].type must be 0..65535", i);
		}
		q.fields[q.count++] = (uint16_t)json_integer_value(t);
	}
	json_decref(b);
	if (q.count == 0)	/* nothing to delete: the chain as it is */
		return api_reply_chain_status(r, 0);
	n = ipc_profile_del_encode(req, sizeof(req), &q);
	if (api_ipc(r->api, "storaged", req, (size_t)n, &rep, &len, &refused, err,
	    sizeof(err)) != 0)
		return api_reply_ipc_err(r, "storaged", err);
	free(rep);
	return api_reply_chain_status(r, 0);
}
