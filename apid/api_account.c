/*
 * api_account.c — GET /account/delete (FEATURES.md §3.1): the reference
 * wipes the own blockchain (height 0, version + 1) and the warehouse when
 * called with confirm=1.  Here confirm must be this node's node ID in hex
 * (as /account/info shows it): a link, a prefetch or a script's stray
 * `confirm=1` cannot delete an account, only a client that looked the
 * node up first; storaged checks the ID again (IPC_WIPE).  Without confirm
 * nothing happens (204), as the reference.  The identity key stays (it is
 * netd's, outside apid's and storaged's reach): docs/webapi.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apid.h"
#include "ipc.h"
#include "log.h"

int
api_account_delete(struct api_req *r)
{
	const char *c = api_query(r, "confirm");
	struct ipc_wipe w;
	uint8_t req[64], *rep;
	char err[256];
	size_t len;
	uint32_t gone;
	int refused, rc;
	long n;

	if (c == NULL || *c == '\0')
		return api_reply_empty(r, 204);
	if (api_self(r->api, err, sizeof(err)) != 0)
		return api_reply_ipc_err(r, "netd", err);
	memset(&w, 0, sizeof(w));
	w.kind = IPC_WIPE_ACCOUNT;
	if (api_parse_hex(c, w.key, 32) != 0 ||
	    memcmp(w.key, r->api->self_node_id, 32) != 0)
		return api_reply_error(r, 400, "bad_confirm", "confirm must be this "
		    "node's node ID in hex (GET /account/info): deleting the account "
		    "empties the blockchain and the warehouse");
	n = ipc_wipe_encode(req, sizeof(req), &w);
	if (api_ipc(r->api, "storaged", req, (size_t)n, &rep, &len, &refused, err,
	    sizeof(err)) != 0)
		return refused ? api_reply_error(r, 409, "refused", "%s", err) :
		    api_reply_ipc_err(r, "storaged", err);
	rc = ipc_u32_decode(rep, len, IPC_WIPE, &gone);
	free(rep);
	if (rc != 0)
		return api_reply_ipc_err(r, "storaged", "malformed reply");
	log_warnx("account deleted through the web API (%u stored files)", gone);
	return api_reply_json(r, 200, json_pack("{s:i, s:I}", "status", 0,
	    "filesdeleted", (json_int_t)gone));
}
