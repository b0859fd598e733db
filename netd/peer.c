/*
 * peer.c — peer list, connections and their liveness (docs/protocol.md §5).
 *
 * Peers are malloc'ed one by one (bounded by max_peers) and indexed twice,
 * by peer ID and by node ID, in chained hash tables keyed with SipHash
 * (libsodium crypto_shorthash) so that chosen keys cannot pile up in one
 * bucket.  A doubly linked list orders the peers by the time of their last
 * packet: its head is the eviction candidate, and peer_tick walks it.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "peer.h"

/*
 * Peers per source prefix (the per-IP cap): one entry per prefix that at
 * least one peer has a connection from; key = family byte + the IPv4
 * address or the IPv6 /64.
 */
#define SRC_KEY	9
struct peer_src {
	uint8_t		 key[SRC_KEY];
	uint32_t	 peers;
	struct peer_src	*next;
};

struct peer_list {
	struct peer_src	**by_src;	/* NULL when max_per_ip is 0 */
	uint32_t	  max_per_ip;
	struct peer	**by_id;
	struct peer	**by_node;
	size_t		  mask;
	size_t		  npeers;
	uint32_t	  max_peers;
	uint8_t		  self[PEERNET_PUBKEY_BYTES];
	int		  has_self;
	uint8_t		  key[crypto_shorthash_KEYBYTES];
	uint32_t	(*rand32)(void *arg);
	peer_action_fn	  action;
	void		 *arg;
	struct peer	 *lru_head, *lru_tail;
	struct peer_list_stats st;
};

const char *
peer_strerror(int err)
{
	switch (err) {
	case PEER_OK:
		return "ok";
	case PEER_ERR_ARG:
		return "invalid argument";
	case PEER_ERR_SELF:
		return "packet from our own identity";
	case PEER_ERR_FULL:
		return "peer list full of live peers";
	case PEER_ERR_NOMEM:
		return "out of memory";
	case PEER_ERR_NO_CONN:
		return "no valid connection to peer";
	case PEER_ERR_PARSE:
		return "not an IP address";
	case PEER_ERR_ADDR_CAP:
		return "too many peers from that address";
	}
	return "unknown peer error";
}

/* ---- addresses (§5.7) ---- */

static size_t
addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

int
peer_addr_ip_equal(const struct peer_addr *a, const struct peer_addr *b)
{
	return a->family == b->family &&
	    memcmp(a->ip, b->ip, addr_len(a->family)) == 0;
}

int
peer_addr_is_local(const struct peer_addr *a)
{
	const uint8_t *ip = a->ip;

	if (a->family == AF_INET)
		return ip[0] == 10 || (ip[0] == 172 && (ip[1] & 0xf0) == 16) ||
		    (ip[0] == 192 && ip[1] == 168);
	if (a->family == AF_INET6)
		return (ip[0] & 0xfe) == 0xfc ||
		    (ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80);
	return 0;
}

int
peer_addr_is_link_local(const struct peer_addr *a)
{
	if (a->family == AF_INET)
		return a->ip[0] == 169 && a->ip[1] == 254;
	if (a->family == AF_INET6)
		return a->ip[0] == 0xfe && (a->ip[1] & 0xc0) == 0x80;
	return 0;
}

int
peer_addr_is_loopback(const struct peer_addr *a)
{
	static const uint8_t lo6[16] = { [15] = 1 };

	if (a->family == AF_INET)
		return a->ip[0] == 127;
	if (a->family == AF_INET6)
		return memcmp(a->ip, lo6, 16) == 0;
	return 0;
}

int
peer_addr_is_unspecified(const struct peer_addr *a)
{
	static const uint8_t zero[16];

	return memcmp(a->ip, zero, addr_len(a->family)) == 0;
}

int
peer_net_may_send(const struct peer_addr *local, const struct peer_addr *target)
{
	if (local->family != target->family)
		return 0;
	if (peer_addr_is_unspecified(local))
		return 1;
	return peer_addr_is_link_local(local) == peer_addr_is_link_local(target);
}

int
peer_addr_may_share(const struct peer_addr *a, int requester_is_local)
{
	return requester_is_local || !peer_addr_is_local(a);
}

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static void
addr_set_ip6(struct peer_addr *out, const uint8_t ip[16])
{
	memset(out->ip, 0, sizeof(out->ip));
	if (memcmp(ip, v4mapped, sizeof(v4mapped)) == 0) {
		out->family = AF_INET;
		memcpy(out->ip, ip + 12, 4);
	} else {
		out->family = AF_INET6;
		memcpy(out->ip, ip, 16);
	}
}

int
peer_addr_from_sockaddr(const struct sockaddr *sa, socklen_t len,
    struct peer_addr *out)
{
	if (sa == NULL || out == NULL)
		return PEER_ERR_ARG;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		memset(out, 0, sizeof(*out));
		out->family = AF_INET;
		memcpy(out->ip, &sin->sin_addr, 4);
		out->port = ntohs(sin->sin_port);
		return PEER_OK;
	}
	if (sa->sa_family == AF_INET6 &&
	    len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		addr_set_ip6(out, sin6->sin6_addr.s6_addr);
		out->port = ntohs(sin6->sin6_port);
		return PEER_OK;
	}
	return PEER_ERR_ARG;
}

int
peer_addr_to_sockaddr(const struct peer_addr *a, struct sockaddr_storage *ss,
    socklen_t *len)
{
	if (a == NULL || ss == NULL || len == NULL)
		return PEER_ERR_ARG;
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a->ip, 4);
		sin->sin_port = htons(a->port);
		*len = sizeof(*sin);
		return PEER_OK;
	}
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a->ip, 16);
		sin6->sin6_port = htons(a->port);
		*len = sizeof(*sin6);
		return PEER_OK;
	}
	return PEER_ERR_ARG;
}

int
peer_addr_parse(const char *ip, uint16_t port, struct peer_addr *out)
{
	uint8_t b[16];

	if (ip == NULL || out == NULL)
		return PEER_ERR_ARG;
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, ip, b) == 1) {
		out->family = AF_INET;
		memcpy(out->ip, b, 4);
	} else if (inet_pton(AF_INET6, ip, b) == 1)
		addr_set_ip6(out, b);
	else
		return PEER_ERR_PARSE;
	out->port = port;
	return PEER_OK;
}

const char *
peer_addr_format(const struct peer_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (len == 0)
		return buf;
	if (a->family != AF_INET && a->family != AF_INET6) {
		snprintf(buf, len, "?");
		return buf;
	}
	inet_ntop(a->family, a->ip, ip, sizeof(ip));
	if (a->family == AF_INET)
		snprintf(buf, len, "%s:%u", ip, a->port);
	else
		snprintf(buf, len, "[%s]:%u", ip, a->port);
	return buf;
}

static int
addr_valid(const struct peer_addr *a)
{
	return a != NULL && (a->family == AF_INET || a->family == AF_INET6);
}

/* ---- the list ---- */

struct peer_list *
peer_list_new(const struct peer_list_conf *conf)
{
	struct peer_list *l;
	size_t nb;

	if (conf == NULL || conf->max_peers == 0 ||
	    conf->max_peers > PEER_LIST_MAX || conf->rand32 == NULL)
		return NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	for (nb = 16; nb < conf->max_peers; nb <<= 1)
		;
	l->by_id = calloc(nb, sizeof(*l->by_id));
	l->by_node = calloc(nb, sizeof(*l->by_node));
	l->max_per_ip = conf->max_per_ip;
	if (l->max_per_ip > 0)
		l->by_src = calloc(nb, sizeof(*l->by_src));
	if (l->by_id == NULL || l->by_node == NULL ||
	    (l->max_per_ip > 0 && l->by_src == NULL)) {
		free(l->by_src);
		free(l->by_id);
		free(l->by_node);
		free(l);
		return NULL;
	}
	l->mask = nb - 1;
	l->max_peers = conf->max_peers;
	if (conf->self_pub != NULL) {
		memcpy(l->self, conf->self_pub, PEERNET_PUBKEY_BYTES);
		l->has_self = 1;
	}
	memcpy(l->key, conf->hash_key, sizeof(l->key));
	l->rand32 = conf->rand32;
	l->action = conf->action;
	l->arg = conf->arg;
	return l;
}

void
peer_list_free(struct peer_list *l)
{
	struct peer *p, *next;

	if (l == NULL)
		return;
	struct peer_src *e, *en;
	size_t i;

	for (p = l->lru_head; p != NULL; p = next) {
		next = p->lru_next;
		free(p);
	}
	if (l->by_src != NULL)
		for (i = 0; i <= l->mask; i++)
			for (e = l->by_src[i]; e != NULL; e = en) {
				en = e->next;
				free(e);
			}
	free(l->by_src);
	free(l->by_id);
	free(l->by_node);
	free(l);
}

size_t
peer_list_count(const struct peer_list *l)
{
	return l->npeers;
}

void
peer_list_stats(const struct peer_list *l, struct peer_list_stats *st)
{
	const struct peer *p;

	*st = l->st;
	st->peers = l->npeers;
	st->conns_active = st->conns_inactive = 0;
	for (p = l->lru_head; p != NULL; p = p->lru_next) {
		st->conns_active += p->nact;
		st->conns_inactive += p->ninact;
	}
	st->bytes = sizeof(*l) + 2 * (l->mask + 1) * sizeof(struct peer *) +
	    l->npeers * sizeof(struct peer);
	if (l->by_src != NULL) {
		const struct peer_src *e;
		size_t i;

		st->bytes += (l->mask + 1) * sizeof(struct peer_src *);
		for (i = 0; i <= l->mask; i++)
			for (e = l->by_src[i]; e != NULL; e = e->next)
				st->bytes += sizeof(*e);
	}
}

static size_t
hash_bytes(const struct peer_list *l, const uint8_t *in, size_t n)
{
	uint8_t out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, in, n, l->key);
	memcpy(&h, out, sizeof(h));
	return (size_t)h & l->mask;
}

/* ---- peers per source prefix ---- */

static void
src_key(const struct peer_addr *a, uint8_t key[SRC_KEY])
{
	memset(key, 0, SRC_KEY);
	key[0] = a->family == AF_INET ? 4 : 6;
	memcpy(key + 1, a->ip, a->family == AF_INET ? 4 : 8);
}

static struct peer_src **
src_slot(const struct peer_list *l, const uint8_t key[SRC_KEY])
{
	struct peer_src **pp = &l->by_src[hash_bytes(l, key, SRC_KEY)];

	while (*pp != NULL && memcmp((*pp)->key, key, SRC_KEY) != 0)
		pp = &(*pp)->next;
	return pp;
}

uint32_t
peer_prefix_count(const struct peer_list *l, const struct peer_addr *remote)
{
	uint8_t key[SRC_KEY];
	struct peer_src **pp;

	if (l->by_src == NULL || !addr_valid(remote))
		return 0;
	src_key(remote, key);
	pp = src_slot(l, key);
	return *pp != NULL ? (*pp)->peers : 0;
}

/* Does p have a connection (other than slot `except`) from a's prefix? */
static int
src_peer_has(const struct peer *p, const struct peer_addr *a, int except)
{
	uint8_t k1[SRC_KEY], k2[SRC_KEY];
	int i;

	src_key(a, k1);
	for (i = 0; i < PEER_MAX_CONNS; i++) {
		if (i == except || !p->conns[i].in_use)
			continue;
		src_key(&p->conns[i].remote, k2);
		if (memcmp(k1, k2, SRC_KEY) == 0)
			return 1;
	}
	return 0;
}

/* One peer more (+1) or less (-1) from a's prefix.  -1 on no memory. */
static int
src_adjust(struct peer_list *l, const struct peer_addr *a, int delta)
{
	uint8_t key[SRC_KEY];
	struct peer_src **pp, *e;

	if (l->by_src == NULL)
		return 0;
	src_key(a, key);
	pp = src_slot(l, key);
	if ((e = *pp) == NULL) {
		if (delta < 0)
			return 0;
		if ((e = calloc(1, sizeof(*e))) == NULL)
			return -1;
		memcpy(e->key, key, SRC_KEY);
		*pp = e;
	}
	if (delta > 0)
		e->peers++;
	else if (--e->peers == 0) {
		*pp = e->next;
		free(e);
	}
	return 0;
}

struct peer *
peer_find(const struct peer_list *l, const uint8_t pub[PEERNET_PUBKEY_BYTES])
{
	struct peer *p;

	p = l->by_id[hash_bytes(l, pub, PEERNET_PUBKEY_BYTES)];
	for (; p != NULL; p = p->next_id)
		if (memcmp(p->pub, pub, PEERNET_PUBKEY_BYTES) == 0)
			return p;
	return NULL;
}

struct peer *
peer_find_node(const struct peer_list *l,
    const uint8_t node_id[PEERNET_NODEID_BYTES])
{
	struct peer *p;

	p = l->by_node[hash_bytes(l, node_id, PEERNET_NODEID_BYTES)];
	for (; p != NULL; p = p->next_node)
		if (memcmp(p->node_id, node_id, PEERNET_NODEID_BYTES) == 0)
			return p;
	return NULL;
}

void
peer_list_foreach(struct peer_list *l, void (*fn)(void *, struct peer *),
    void *arg)
{
	struct peer *p, *next;

	for (p = l->lru_head; p != NULL; p = next) {
		next = p->lru_next;
		fn(arg, p);
	}
}

static void
emit(struct peer_list *l, enum peer_act_type type, struct peer *p,
    struct peer_conn *c, enum peer_removed_why why)
{
	struct peer_action a;

	if (l->action == NULL)
		return;
	a.type = type;
	a.peer = p;
	a.conn = c;
	a.why = why;
	l->action(l->arg, &a);
}

static void
lru_unlink(struct peer_list *l, struct peer *p)
{
	if (p->lru_prev != NULL)
		p->lru_prev->lru_next = p->lru_next;
	else
		l->lru_head = p->lru_next;
	if (p->lru_next != NULL)
		p->lru_next->lru_prev = p->lru_prev;
	else
		l->lru_tail = p->lru_prev;
	p->lru_prev = p->lru_next = NULL;
}

static void
lru_append(struct peer_list *l, struct peer *p)
{
	p->lru_next = NULL;
	p->lru_prev = l->lru_tail;
	if (l->lru_tail != NULL)
		l->lru_tail->lru_next = p;
	else
		l->lru_head = p;
	l->lru_tail = p;
}

/* Unindexes, reports and frees p. */
static void
peer_drop(struct peer_list *l, struct peer *p, enum peer_removed_why why)
{
	struct peer **pp;

	pp = &l->by_id[hash_bytes(l, p->pub, PEERNET_PUBKEY_BYTES)];
	while (*pp != NULL && *pp != p)
		pp = &(*pp)->next_id;
	if (*pp == p)
		*pp = p->next_id;
	pp = &l->by_node[hash_bytes(l, p->node_id, PEERNET_NODEID_BYTES)];
	while (*pp != NULL && *pp != p)
		pp = &(*pp)->next_node;
	if (*pp == p)
		*pp = p->next_node;
	lru_unlink(l, p);
	if (l->by_src != NULL) {
		uint8_t k1[SRC_KEY], k2[SRC_KEY];
		int i, j, later;

		/* Once per prefix: the last slot holding it counts. */
		for (i = 0; i < PEER_MAX_CONNS; i++) {
			if (!p->conns[i].in_use)
				continue;
			src_key(&p->conns[i].remote, k1);
			for (j = i + 1, later = 0; j < PEER_MAX_CONNS && !later; j++) {
				if (!p->conns[j].in_use)
					continue;
				src_key(&p->conns[j].remote, k2);
				later = memcmp(k1, k2, SRC_KEY) == 0;
			}
			if (!later)
				src_adjust(l, &p->conns[i].remote, -1);
		}
	}
	l->npeers--;
	if (why == PEER_WHY_EVICTED)
		l->st.evicted++;
	else
		l->st.removed++;
	emit(l, PEER_ACT_PEER_REMOVED, p, NULL, why);
	free(p);
}

/* ---- connections (§5.2, §5.3) ---- */

static int
slot_of(const struct peer *p, const struct peer_conn *c)
{
	return (int)(c - p->conns);
}

static void
list_del(uint8_t *list, uint8_t *n, int slot)
{
	uint8_t i;

	for (i = 0; i < *n; i++)
		if (list[i] == slot) {
			memmove(list + i, list + i + 1, (size_t)(*n - i - 1));
			(*n)--;
			return;
		}
}

/* setConnectionLatest: the others in the active list become REDUNDANT. */
static void
set_latest(struct peer *p, int slot)
{
	uint8_t i;

	if (p->latest == slot)
		return;
	p->latest = (int8_t)slot;
	for (i = 0; i < p->nact; i++)
		if (p->act[i] != slot)
			p->conns[p->act[i]].status = PEER_CONN_REDUNDANT;
}

static void
conn_invalidate(struct peer *p, struct peer_conn *c, uint64_t now_ms)
{
	int slot = slot_of(p, c);

	c->status = PEER_CONN_INACTIVE;
	c->expires = now_ms + PEER_REMOVE_MS;
	if (p->latest == slot)
		p->latest = -1;
	list_del(p->act, &p->nact, slot);
	p->inact[p->ninact++] = (uint8_t)slot;
}

/* Takes c out of whichever list holds it; reports it; frees the slot. */
static void
conn_drop(struct peer_list *l, struct peer *p, struct peer_conn *c,
    enum peer_removed_why why)
{
	int slot = slot_of(p, c);

	if (c->status == PEER_CONN_INACTIVE)
		list_del(p->inact, &p->ninact, slot);
	else
		list_del(p->act, &p->nact, slot);
	if (p->latest == slot)
		p->latest = -1;
	c->status = PEER_CONN_REMOVED;
	emit(l, PEER_ACT_CONN_REMOVED, p, c, why);
	c->in_use = 0;
	if (l->by_src != NULL && !src_peer_has(p, &c->remote, -1))
		src_adjust(l, &c->remote, -1);
}

/*
 * All PEER_MAX_CONNS slots are taken: the inactive connection expiring
 * first goes, else the active one heard from least recently.
 */
static void
conn_evict(struct peer_list *l, struct peer *p)
{
	struct peer_conn *v = NULL, *c;
	uint8_t i;

	for (i = 0; i < p->ninact; i++) {
		c = &p->conns[p->inact[i]];
		if (v == NULL || c->expires < v->expires)
			v = c;
	}
	if (v == NULL)
		for (i = 0; i < p->nact; i++) {
			c = &p->conns[p->act[i]];
			if (v == NULL || c->last_packet_in < v->last_packet_in)
				v = c;
		}
	l->st.conns_evicted++;
	conn_drop(l, p, v, PEER_WHY_EVICTED);
}

static int
conn_equal(const struct peer_conn *c, const struct peer_addr *local,
    const struct peer_addr *remote)
{
	return peer_addr_ip_equal(&c->remote, remote) &&
	    peer_addr_ip_equal(&c->local, local);
}

static void
conn_refresh(struct peer_conn *c, int sock, const struct peer_addr *local,
    const struct peer_addr *remote, unsigned *ev)
{
	/* NAT rebinding: same IPs, new source port, updated in place. */
	if (c->remote.port != remote->port) {
		c->remote.port = remote->port;
		*ev |= PEER_EV_PORT_CHANGED;
	}
	c->local.port = local->port;
	c->sock = sock;
}

static struct peer_conn *
conn_register(struct peer_list *l, struct peer *p, int sock,
    const struct peer_addr *local, const struct peer_addr *remote,
    uint64_t now_ms, unsigned *ev)
{
	struct peer_conn *c;
	uint8_t i;
	int slot;

	for (i = 0; i < p->nact; i++) {
		c = &p->conns[p->act[i]];
		if (conn_equal(c, local, remote)) {
			conn_refresh(c, sock, local, remote, ev);
			c->status = PEER_CONN_ACTIVE;
			set_latest(p, p->act[i]);
			return c;
		}
	}
	for (i = 0; i < p->ninact; i++) {
		slot = p->inact[i];
		c = &p->conns[slot];
		if (conn_equal(c, local, remote)) {
			conn_refresh(c, sock, local, remote, ev);
			list_del(p->inact, &p->ninact, slot);
			c->status = PEER_CONN_ACTIVE;
			c->expires = 0;
			p->act[p->nact++] = (uint8_t)slot;
			set_latest(p, slot);
			*ev |= PEER_EV_REACTIVATED;
			return c;
		}
	}
	if (p->nact + p->ninact >= PEER_MAX_CONNS)
		conn_evict(l, p);
	for (slot = 0; slot < PEER_MAX_CONNS; slot++)
		if (!p->conns[slot].in_use)
			break;
	c = &p->conns[slot];
	/* The cap was checked by the caller; counted before the slot is taken. */
	if (l->by_src != NULL && !src_peer_has(p, remote, -1))
		src_adjust(l, remote, +1);
	memset(c, 0, sizeof(*c));
	c->in_use = 1;
	c->remote = *remote;
	c->local = *local;
	c->sock = sock;
	c->status = PEER_CONN_ACTIVE;
	c->created = now_ms;
	p->act[p->nact++] = (uint8_t)slot;
	set_latest(p, slot);
	*ev |= PEER_EV_NEW_CONN;
	return c;
}

static struct peer *
peer_add(struct peer_list *l, const uint8_t pub[PEERNET_PUBKEY_BYTES],
    uint64_t now_ms, int *err)
{
	struct peer *p;
	size_t h;

	if (l->npeers >= l->max_peers) {
		/* Evict only a peer silent for longer than connectionInvalidate. */
		if (l->lru_head == NULL ||
		    l->lru_head->last_packet_in + PEER_EVICT_IDLE_MS >= now_ms) {
			l->st.refused++;
			*err = PEER_ERR_FULL;
			return NULL;
		}
		peer_drop(l, l->lru_head, PEER_WHY_EVICTED);
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		*err = PEER_ERR_NOMEM;
		return NULL;
	}
	memcpy(p->pub, pub, PEERNET_PUBKEY_BYTES);
	ident_node_id(pub, p->node_id);
	p->latest = -1;
	p->seq_counter = l->rand32(l->arg);
	p->added = now_ms;
	h = hash_bytes(l, p->pub, PEERNET_PUBKEY_BYTES);
	p->next_id = l->by_id[h];
	l->by_id[h] = p;
	h = hash_bytes(l, p->node_id, PEERNET_NODEID_BYTES);
	p->next_node = l->by_node[h];
	l->by_node[h] = p;
	lru_append(l, p);
	l->npeers++;
	l->st.added++;
	return p;
}

int
peer_packet_in(struct peer_list *l,
    const uint8_t sender_pub[PEERNET_PUBKEY_BYTES], int sock,
    const struct peer_addr *local, const struct peer_addr *remote,
    uint64_t now_ms, struct peer **pp, struct peer_conn **pc, unsigned *events)
{
	struct peer *p;
	struct peer_conn *c;
	unsigned ev = 0;
	int err = PEER_OK;

	if (l == NULL || sender_pub == NULL || !addr_valid(local) ||
	    !addr_valid(remote))
		return PEER_ERR_ARG;
	if (l->has_self && memcmp(sender_pub, l->self, PEERNET_PUBKEY_BYTES) == 0)
		return PEER_ERR_SELF;
	p = peer_find(l, sender_pub);
	/*
	 * The per-prefix cap, before anything is evicted or allocated: a peer
	 * not yet connected from that prefix is refused when it is full.
	 */
	if (l->by_src != NULL && (p == NULL || !src_peer_has(p, remote, -1)) &&
	    peer_prefix_count(l, remote) >= l->max_per_ip) {
		l->st.refused_addr++;
		return PEER_ERR_ADDR_CAP;
	}
	if (p == NULL) {
		if ((p = peer_add(l, sender_pub, now_ms, &err)) == NULL)
			return err;
		ev |= PEER_EV_NEW_PEER;
	}
	c = conn_register(l, p, sock, local, remote, now_ms, &ev);
	c->last_packet_in = now_ms;
	p->last_packet_in = now_ms;
	p->packets_in++;
	if (l->lru_tail != p) {
		lru_unlink(l, p);
		lru_append(l, p);
	}
	if (pp != NULL)
		*pp = p;
	if (pc != NULL)
		*pc = c;
	if (events != NULL)
		*events = ev;
	return PEER_OK;
}

void
peer_conn_set_ports(struct peer_conn *c, uint16_t internal, uint16_t external,
    int firewall)
{
	c->port_internal = internal;
	c->port_external = external;
	c->firewall = firewall != 0;
}

int
peer_set_info(struct peer *p, const struct wire_msg_hdr *h, uint64_t now_ms)
{
	int changed;

	if (h->ua_len > 0) {
		memcpy(p->ua, h->ua, h->ua_len);
		p->ua[h->ua_len] = '\0';
		p->ua_len = h->ua_len;
	}
	p->features = h->features;
	changed = p->chain_height != h->blockchain_height ||
	    p->chain_version != h->blockchain_version;
	p->chain_height = h->blockchain_height;
	p->chain_version = h->blockchain_version;
	p->chain_refreshed = now_ms;
	return changed;
}

int
peer_conn_verified(const struct peer_conn *c)
{
	return c->rtt_ms != 0;
}

void
peer_conn_set_rtt(struct peer_conn *c, uint32_t rtt_ms)
{
	/* Millisecond clock: a sub-millisecond reply is still a known RTT. */
	c->rtt_ms = rtt_ms > 0 ? rtt_ms : 1;
}

uint32_t
peer_rtt(const struct peer *p)
{
	uint8_t i;

	if (p->latest >= 0 && p->conns[p->latest].rtt_ms > 0)
		return p->conns[p->latest].rtt_ms;
	for (i = 0; i < p->nact; i++)
		if (p->conns[p->act[i]].rtt_ms > 0)
			return p->conns[p->act[i]].rtt_ms;
	return 0;
}

int
peer_conn_behind_nat(const struct peer_conn *c)
{
	return c->port_internal != 0 && c->remote.port != c->port_internal;
}

int
peer_conn_port_forward(const struct peer_conn *c)
{
	return c->port_external != 0;
}

int
peer_behind_nat(const struct peer *p)
{
	int i;

	for (i = 0; i < PEER_MAX_CONNS; i++)
		if (p->conns[i].in_use && peer_conn_behind_nat(&p->conns[i]))
			return 1;
	return 0;
}

int
peer_port_forward(const struct peer *p)
{
	int i;

	for (i = 0; i < PEER_MAX_CONNS; i++)
		if (p->conns[i].in_use && peer_conn_port_forward(&p->conns[i]))
			return 1;
	return 0;
}

int
peer_conn_ping_reply(const struct peer_conn *c)
{
	return c->port_internal == 0 ? WIRE_CMD_ANNOUNCEMENT : WIRE_CMD_PONG;
}

/* ---- liveness (§5.3, §5.4) ---- */

/* "t older than span" at now, as Go's t.Before(now - span); 0 = never. */
static int
older(uint64_t t, uint64_t span, uint64_t now_ms)
{
	return t == 0 || t + span < now_ms;
}

static int
all_inactive_expired(const struct peer *p, uint64_t now_ms)
{
	uint8_t i;

	if (p->nact > 0)
		return 0;
	for (i = 0; i < p->ninact; i++)
		if (!(p->conns[p->inact[i]].expires < now_ms))
			return 0;
	return 1;
}

static void
tick_peer(struct peer_list *l, struct peer *p, uint64_t now_ms)
{
	struct peer_conn *c;
	uint8_t snap[PEER_MAX_CONNS], n, i;
	uint64_t t_inv, t_ping;

	/* Active list; a snapshot, since callbacks may invalidate. */
	n = p->nact;
	memcpy(snap, p->act, n);
	for (i = 0; i < n; i++) {
		c = &p->conns[snap[i]];
		if (c->status != PEER_CONN_ACTIVE &&
		    c->status != PEER_CONN_REDUNDANT)
			continue;
		if (c->status == PEER_CONN_REDUNDANT) {
			t_inv = PEER_INVALIDATE_REDUNDANT_MS;
			t_ping = PEER_PING_REDUNDANT_MS;
		} else {
			t_inv = PEER_INVALIDATE_MS;
			t_ping = PEER_PING_MS;
		}
		if (older(c->last_packet_in, t_inv, now_ms)) {
			conn_invalidate(p, c, now_ms);
			emit(l, PEER_ACT_CONN_INACTIVE, p, c, 0);
			continue;
		}
		if (older(c->last_packet_in, t_ping, now_ms) &&
		    older(c->last_ping_out, t_ping, now_ms)) {
			int ann = c->status == PEER_CONN_ACTIVE &&
			    older(p->chain_refreshed, PEER_CHAIN_REFRESH_MS, now_ms);

			c->last_ping_out = now_ms;
			emit(l, ann ? PEER_ACT_SEND_ANNOUNCE : PEER_ACT_SEND_PING,
			    p, c, 0);
		}
	}

	/* Deviation (§5.1): a peer left with expired inactive connections goes. */
	if (all_inactive_expired(p, now_ms)) {
		peer_drop(l, p, PEER_WHY_EXPIRED);
		return;
	}

	n = p->ninact;
	memcpy(snap, p->inact, n);
	for (i = 0; i < n; i++) {
		c = &p->conns[snap[i]];
		if (c->status != PEER_CONN_INACTIVE)
			continue;
		if ((p->nact >= 1 || p->ninact > 2) && c->expires < now_ms) {
			conn_drop(l, p, c, PEER_WHY_EXPIRED);
			continue;
		}
		if (older(c->last_ping_out, PEER_PING_MS, now_ms)) {
			c->last_ping_out = now_ms;
			emit(l, PEER_ACT_SEND_PING, p, c, 0);
		}
	}
}

void
peer_tick(struct peer_list *l, uint64_t now_ms)
{
	struct peer *p, *next;

	for (p = l->lru_head; p != NULL; p = next) {
		next = p->lru_next;
		tick_peer(l, p, now_ms);
	}
}

/* ---- sending (§5.8) ---- */

int
peer_send_targets(const struct peer *p, const struct peer_conn *failed,
    struct peer_conn *out[PEER_MAX_CONNS], size_t *n)
{
	struct peer *q = (struct peer *)p;
	uint8_t i;

	*n = 0;
	if (failed == NULL && p->latest >= 0) {
		out[(*n)++] = &q->conns[p->latest];
		return PEER_OK;
	}
	for (i = 0; i < p->nact; i++)
		if (&p->conns[p->act[i]] != failed)
			out[(*n)++] = &q->conns[p->act[i]];
	if (*n == 0 && failed == NULL)
		return PEER_ERR_NO_CONN;
	return PEER_OK;
}

int
peer_send_targets_verified(const struct peer *p,
    struct peer_conn *out[PEER_MAX_CONNS], size_t *n)
{
	struct peer *q = (struct peer *)p;
	uint8_t i;

	*n = 0;
	if (p->latest >= 0 && peer_conn_verified(&p->conns[p->latest])) {
		out[(*n)++] = &q->conns[p->latest];
		return PEER_OK;
	}
	for (i = 0; i < p->nact; i++)
		if (peer_conn_verified(&p->conns[p->act[i]]))
			out[(*n)++] = &q->conns[p->act[i]];
	return *n > 0 ? PEER_OK : PEER_ERR_NO_CONN;
}

int
peer_has_verified(const struct peer *p)
{
	struct peer_conn *targets[PEER_MAX_CONNS];
	size_t k;

	return p != NULL && peer_send_targets_verified(p, targets, &k) == PEER_OK;
}

void
peer_conn_sent(struct peer *p, struct peer_conn *c, uint64_t now_ms)
{
	c->last_packet_out = now_ms;
	p->packets_out++;
}

void
peer_conn_send_failed(struct peer *p, struct peer_conn *c, int fatal,
    uint64_t now_ms)
{
	if (fatal && (c->status == PEER_CONN_ACTIVE ||
	    c->status == PEER_CONN_REDUNDANT))
		conn_invalidate(p, c, now_ms);
}

/* ---- sharing (§3.2) and consuming (§3.4) peer records ---- */

static int
conn_shareable(const struct peer_conn *c, int allow_local, int allow_v4,
    int allow_v6)
{
	if (c->port_internal == 0)
		return 0;
	if (!((c->remote.family == AF_INET && allow_v4) ||
	    (c->remote.family == AF_INET6 && allow_v6)))
		return 0;
	return peer_addr_may_share(&c->remote, allow_local);
}

int
peer_is_connectable(const struct peer *p, int allow_local, int allow_v4,
    int allow_v6)
{
	uint8_t i;

	for (i = 0; i < p->nact; i++)
		if (conn_shareable(&p->conns[p->act[i]], allow_local, allow_v4,
		    allow_v6))
			return 1;
	return 0;
}

const struct peer_conn *
peer_conn_to_share(const struct peer *p, int allow_local, int allow_v4,
    int allow_v6)
{
	uint8_t i;

	if (p->latest >= 0 && conn_shareable(&p->conns[p->latest], allow_local,
	    allow_v4, allow_v6))
		return &p->conns[p->latest];
	for (i = 0; i < p->nact; i++)
		if (conn_shareable(&p->conns[p->act[i]], allow_local, allow_v4,
		    allow_v6))
			return &p->conns[p->act[i]];
	return NULL;
}

int
peer_to_record(const struct peer *p, int allow_local, int allow_v4,
    int allow_v6, struct wire_peer_record *out)
{
	const struct peer_conn *c4, *c6;

	c4 = allow_v4 ? peer_conn_to_share(p, allow_local, 1, 0) : NULL;
	c6 = allow_v6 ? peer_conn_to_share(p, allow_local, 0, 1) : NULL;
	if (c4 == NULL && c6 == NULL)
		return PEER_ERR_NO_CONN;
	memset(out, 0, sizeof(*out));
	memcpy(out->peer_id, p->pub, PEERNET_PUBKEY_BYTES);
	memcpy(out->node_id, p->node_id, PEERNET_NODEID_BYTES);
	out->features = p->features & WIRE_FEATURE_RECORD_MASK;
	out->reason = WIRE_REASON_CLOSE;
	if (c4 != NULL) {
		memcpy(out->ipv4, c4->remote.ip, 4);
		out->ipv4_port = c4->remote.port;
		out->ipv4_port_internal = c4->port_internal;
		out->ipv4_port_external = c4->port_external;
	}
	if (c6 != NULL) {
		memcpy(out->ipv6, c6->remote.ip, 16);
		out->ipv6_port = c6->remote.port;
		out->ipv6_port_internal = c6->port_internal;
		out->ipv6_port_external = c6->port_external;
	}
	return PEER_OK;
}

int
peer_ip_unset(const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

int
peer_record_bad_quality(const struct wire_peer_record *r,
    const uint8_t self_pub[PEERNET_PUBKEY_BYTES])
{
	int v4 = !peer_ip_unset(r->ipv4, 4), v6 = !peer_ip_unset(r->ipv6, 16);

	if (!v4 && !v6)
		return 1;
	if ((v4 && r->ipv4_port_internal == 0) ||
	    (v6 && r->ipv6_port_internal == 0))
		return 1;
	if (self_pub != NULL &&
	    memcmp(r->peer_id, self_pub, PEERNET_PUBKEY_BYTES) == 0)
		return 1;
	return 0;
}

int
peer_record_dial(const struct wire_peer_record *r, int family,
    struct peer_addr *dial, uint16_t *port_internal)
{
	memset(dial, 0, sizeof(*dial));
	if (family == AF_INET && !peer_ip_unset(r->ipv4, 4)) {
		dial->family = AF_INET;
		memcpy(dial->ip, r->ipv4, 4);
		dial->port = r->ipv4_port_external != 0 ?
		    r->ipv4_port_external : r->ipv4_port;
		if (port_internal != NULL)
			*port_internal = r->ipv4_port_internal;
		return PEER_OK;
	}
	if (family == AF_INET6 && !peer_ip_unset(r->ipv6, 16)) {
		dial->family = AF_INET6;
		memcpy(dial->ip, r->ipv6, 16);
		dial->port = r->ipv6_port_external != 0 ?
		    r->ipv6_port_external : r->ipv6_port;
		if (port_internal != NULL)
			*port_internal = r->ipv6_port_internal;
		return PEER_OK;
	}
	return PEER_ERR_NO_CONN;
}
