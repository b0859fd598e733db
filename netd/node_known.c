/*
 * node_known.c — peers remembered across restarts, kept by storaged: loaded
 * at start, contacted like root peers until two answer (§6.6), saved
 * every NETD_KNOWN_SAVE_MS.
 */
#include <sys/socket.h>

#include <string.h>

#include "log.h"
#include "node_int.h"

static void
node_known_loaded(void *arg, const uint8_t *rep, size_t len, const char *err)
{
	struct netd *n = arg;

	if (rep == NULL || ipc_known_peers_decode(rep, len, IPC_PEERS_LOAD,
	    &n->known) != 0) {
		if (err != NULL)
			log_debug("known peers: %s", err);
		return;
	}
	n->known_loaded = 1;
	n->known_next = 0;
	/* First save soon after start, then every NETD_KNOWN_SAVE_MS. */
	n->known_saved = node_now(n) - NETD_KNOWN_SAVE_MS + 5000;
	if (n->known.count > 0)
		log_info("%u peers remembered from the last run", n->known.count);
}

/* Peers that answered us (see node_root_connected). */
void
node_known_count_act(void *arg, struct peer *p)
{
	((struct node_known_active *)arg)->n += p->nact > 0 && peer_rtt(p) != 0;
}

/* Like the root peers: contacted until two peers answer, 7 s apart, for 10 min. */
void
node_known_bootstrap(struct netd *n, uint64_t now)
{
	struct node_known_active act = { 0 };
	struct peer_addr to;
	struct peer *p;
	uint32_t i;

	if (!n->known_loaded || n->known.count == 0 || now < n->known_next ||
	    n->known_tries >= NETD_BOOT_PHASE1_TRIES)
		return;
	peer_list_foreach(n->peers, node_known_count_act, &act);
	if (act.n >= 2) {
		n->known_tries = NETD_BOOT_PHASE1_TRIES;
		return;
	}
	for (i = 0; i < n->known.count; i++) {
		const struct ipc_known_peer *k = &n->known.peers[i];

		if ((p = peer_find(n->peers, k->pubkey)) != NULL && p->nact > 0)
			continue;
		memset(&to, 0, sizeof(to));
		to.family = k->family == 4 ? AF_INET : AF_INET6;
		memcpy(to.ip, k->ip, 16);
		to.port = k->port;
		node_trav_contact(n, k->pubkey, &to, WIRE_ACTION_FIND_SELF, NULL, NULL,
		    CTX(NETD_CTX_BOOT, 0));
	}
	n->known_tries++;
	n->known_next = now + NETD_BOOT_PHASE1_MS;
}

struct node_known_save_arg {
	struct ipc_known_peers	*k;
};

static void
node_known_save_one(void *arg, struct peer *p)
{
	struct node_known_save_arg *x = arg;
	struct ipc_known_peer *e;
	const struct peer_conn *c;

	if (p->nact == 0 || p->latest < 0 || x->k->count >= IPC_KNOWN_PEERS_MAX)
		return;
	c = &p->conns[p->latest];
	/* Only addresses the peer listens on (it told us its port). */
	if (c->port_internal == 0)
		return;
	e = &x->k->peers[x->k->count++];
	memcpy(e->pubkey, p->pub, 33);
	e->family = c->remote.family == AF_INET ? 4 : 6;
	memcpy(e->ip, c->remote.ip, 16);
	e->port = c->port_external ? c->port_external : c->remote.port;
}

static void
node_known_save_done(void *arg, const uint8_t *rep, size_t len, const char *err)
{
	(void)arg;
	(void)rep;
	(void)len;
	if (err != NULL)
		log_debug("saving known peers: %s", err);
}

void
node_known_save(struct netd *n, uint64_t now)
{
	static struct ipc_known_peers k;
	static uint8_t buf[8192];
	struct node_known_save_arg x = { &k };
	long len;

	if (!n->known_loaded || now - n->known_saved < NETD_KNOWN_SAVE_MS)
		return;
	n->known_saved = now;
	memset(&k, 0, sizeof(k));
	peer_list_foreach(n->peers, node_known_save_one, &x);
	if (k.count == 0)
		return;
	if ((len = ipc_known_peers_encode(buf, sizeof(buf), IPC_PEERS_SAVE, &k)) > 0)
		n->env.store_send(n->env.ctx, buf, (size_t)len, 5000, node_known_save_done, n, 0);
}

void
node_known_ask(struct netd *n, uint64_t now)
{
	if (!n->known_loaded)
		node_send_store_ask(n, IPC_PEERS_LOAD, &n->known_asked, now, node_known_loaded);
}
