/*
 * ctl_id.c — `peernetctl id`: the node's peer ID and node ID, from netd.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ctl.h"
#include "hex.h"

int
ctl_id(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	char pub[67], node[65];
	struct ipc_id id;
	uint8_t *rep;
	size_t len;
	int rc;

	if ((rc = ctl_verb_ask(c, v, argc, argv, "netd", IPC_ID, &rep,
	    &len)) >= 0)
		return rc;
	if (ctl_reply_decoded(rep, ipc_id_decode(rep, len, &id), "id", "netd") != 0)
		return 1;
	hex_encode(pub, id.pubkey, sizeof(id.pubkey));
	hex_encode(node, id.node_id, sizeof(id.node_id));
	if (c->json)
		ctl_json_print(json_pack("{s:s, s:s}", "peer_id", pub, "node_id", node));
	else
		printf("peer id   %s\nnode id   %s\n", pub, node);
	return 0;
}
