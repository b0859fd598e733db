/*
 * node_kad.c — peers as Kademlia contacts (§7): a peer's or a record's
 * addresses as a kad_contact, the address to dial one at, which peers go
 * into the table and which may be named to a requester.  The Kademlia
 * environment itself (queries sent as Announcements) is node.c's.
 */
#include <sys/socket.h>

#include <string.h>

#include "node_int.h"

static void
node_kad_peer_contact(const struct peer *p, struct kad_contact *k)
{
	int i;

	memset(k, 0, sizeof(*k));
	memcpy(k->id, p->node_id, 32);
	memcpy(k->peer_id, p->pub, 33);
	k->features = p->features;
	k->rtt_ms = peer_rtt(p);
	for (i = 0; i < p->nact; i++) {
		const struct peer_conn *c = &p->conns[p->act[i]];

		if (c->remote.family == AF_INET && k->port4 == 0) {
			memcpy(k->ip4, c->remote.ip, 4);
			k->port4 = c->remote.port;
			k->port4_int = c->port_internal;
			k->port4_ext = c->port_external;
		} else if (c->remote.family == AF_INET6 && k->port6 == 0) {
			memcpy(k->ip6, c->remote.ip, 16);
			k->port6 = c->remote.port;
			k->port6_int = c->port_internal;
			k->port6_ext = c->port_external;
		}
	}
}

void
node_kad_offer(struct netd *n, struct peer *p)
{
	struct kad_contact k;
	int outcome;

	node_kad_peer_contact(p, &k);
	if (k.port4 == 0 && k.port6 == 0)
		return;
	kad_table_insert(n->kad, &k, &outcome);
}

void
node_kad_record_contact(const struct wire_peer_record *r, struct kad_contact *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->id, r->node_id, 32);
	memcpy(k->peer_id, r->peer_id, 33);
	k->features = r->features;
	memcpy(k->ip4, r->ipv4, 4);
	k->port4 = r->ipv4_port;
	k->port4_int = r->ipv4_port_internal;
	k->port4_ext = r->ipv4_port_external;
	memcpy(k->ip6, r->ipv6, 16);
	k->port6 = r->ipv6_port;
	k->port6_int = r->ipv6_port_internal;
	k->port6_ext = r->ipv6_port_external;
}

/* The address to dial a contact at (§3.4): external port if reported, else observed. */
int
node_kad_contact_addr(const struct kad_contact *k, struct peer_addr *a)
{
	static const uint8_t zero[16];

	memset(a, 0, sizeof(*a));
	if (memcmp(k->ip4, zero, 4) != 0 && k->port4 != 0) {
		a->family = AF_INET;
		memcpy(a->ip, k->ip4, 4);
		a->port = k->port4_ext ? k->port4_ext : k->port4;
		return 0;
	}
	if (memcmp(k->ip6, zero, 16) != 0 && k->port6 != 0) {
		a->family = AF_INET6;
		memcpy(a->ip, k->ip6, 16);
		a->port = k->port6_ext ? k->port6_ext : k->port6;
		return 0;
	}
	return -1;
}

int
node_kad_connectable(void *fctx, const struct kad_contact *c)
{
	struct node_kad_filter *f = fctx;
	struct peer *p = peer_find_node(f->n->peers, c->id);

	return p != NULL && peer_is_connectable(p, f->allow_local, f->v4, f->v6);
}
