/*
 * traverse.c — Traverse decisions (docs/protocol.md §3.7, §8); see traverse.h.
 */
#include <string.h>

#include "traverse.h"
#include "wire_packet.h"

int
traverse_needed(uint16_t dial_port, uint16_t port_internal, uint8_t features)
{
	if (features & WIRE_FEATURE_FIREWALL)
		return 1;
	return port_internal != 0 && dial_port != port_internal;
}

/* --- relay hints ---------------------------------------------------------- */

void
traverse_relay_note(struct traverse_relays *t, const uint8_t peer[33],
    const uint8_t relay[33], uint64_t now_ms)
{
	struct traverse_relay_hint *e = NULL;
	unsigned i;

	if (memcmp(peer, relay, 33) == 0)
		return;
	for (i = 0; i < TRAVERSE_RELAY_SLOTS; i++)
		if (t->e[i].when != 0 && memcmp(t->e[i].peer, peer, 33) == 0) {
			e = &t->e[i];
			break;
		}
	if (e == NULL)
		e = &t->e[t->next++ % TRAVERSE_RELAY_SLOTS];
	memcpy(e->peer, peer, 33);
	memcpy(e->relay, relay, 33);
	e->when = now_ms;
}

int
traverse_relay_get(const struct traverse_relays *t, const uint8_t peer[33],
    uint64_t now_ms, uint8_t relay[33])
{
	unsigned i;

	for (i = 0; i < TRAVERSE_RELAY_SLOTS; i++) {
		const struct traverse_relay_hint *e = &t->e[i];

		if (e->when == 0 || now_ms - e->when >= TRAVERSE_RELAY_MS ||
		    memcmp(e->peer, peer, 33) != 0)
			continue;
		memcpy(relay, e->relay, 33);
		return 0;
	}
	return -1;
}

/* --- punches in flight ---------------------------------------------------- */

static struct traverse_punch *
trav_punch_slot(struct traverse_punches *t, const uint8_t target[33],
    const uint8_t relay[33], const struct peer_addr *to, uint64_t now_ms, int evict)
{
	struct traverse_punch *e = NULL, *oldest = NULL;
	unsigned i;

	for (i = 0; i < TRAVERSE_PUNCH_SLOTS; i++) {
		struct traverse_punch *x = &t->e[i];

		if ((x->started != 0 || now_ms < x->failed_until) &&
		    memcmp(x->target, target, 33) == 0 &&
		    peer_addr_ip_equal(&x->to, to) && x->to.port == to->port)
			return NULL;
	}
	for (i = 0; i < TRAVERSE_PUNCH_SLOTS && e == NULL; i++) {
		struct traverse_punch *x = &t->e[i];
		uint64_t age = x->started != 0 ? x->started : x->failed_until;

		if (x->started == 0 && now_ms >= x->failed_until)
			e = x;
		else if (oldest == NULL || age < (oldest->started != 0 ?
		    oldest->started : oldest->failed_until))
			oldest = x;
	}
	if (e == NULL && !evict)
		return NULL;
	if (e == NULL)
		e = oldest;
	memset(e, 0, sizeof(*e));
	memcpy(e->target, target, 33);
	memcpy(e->relay, relay, 33);
	e->to = *to;
	e->started = now_ms;
	e->next = now_ms;
	return e;
}

struct traverse_punch *
traverse_punch_new(struct traverse_punches *t, const uint8_t target[33],
    const uint8_t relay[33], const struct peer_addr *to, uint64_t now_ms)
{
	return trav_punch_slot(t, target, relay, to, now_ms, 1);
}

struct traverse_punch *
traverse_punch_fallback(struct traverse_punches *t, const uint8_t target[33],
    const uint8_t relay[33], const struct peer_addr *to, uint64_t now_ms)
{
	struct traverse_punch *e = trav_punch_slot(t, target, relay, to, now_ms, 0);

	if (e != NULL) {
		e->fallback = 1;
		e->next = now_ms + TRAVERSE_FALLBACK_MS;
	}
	return e;
}

enum traverse_punch_step
traverse_punch_step(struct traverse_punch *e, int connected, uint64_t now_ms)
{
	if (e->started == 0)
		return TRAVERSE_PUNCH_WAIT;
	if (connected) {
		e->started = 0;
		return TRAVERSE_PUNCH_DONE;
	}
	if (now_ms < e->next)
		return TRAVERSE_PUNCH_WAIT;
	if (e->tries >= TRAVERSE_TRIES) {
		e->started = 0;
		e->failed_until = now_ms + TRAVERSE_BACKOFF_MS;
		return TRAVERSE_PUNCH_FAILED;
	}
	e->tries++;
	e->next = now_ms + TRAVERSE_RETRY_MS;
	return TRAVERSE_PUNCH_SEND;
}

/* --- incoming ------------------------------------------------------------- */

enum traverse_verdict
traverse_classify(const struct wire_traverse *t, const uint8_t self[33],
    const uint8_t sender[33], uint64_t now_unix)
{
	if (memcmp(t->target, self, 33) == 0) {
		/* Only the relay A named may hand it to us (§3.7 dispatch). */
		if (memcmp(t->relay, sender, 33) != 0)
			return TRAVERSE_DROP_TARGET;
		if (t->expires < now_unix)
			return TRAVERSE_DROP_EXPIRED;
		return TRAVERSE_RECEIVE;
	}
	if (memcmp(t->relay, self, 33) == 0) {
		/* Nobody may make us relay what someone else signed. */
		if (memcmp(t->signer, sender, 33) != 0)
			return TRAVERSE_DROP_SIGNATURE;
		if (t->expires < now_unix)
			return TRAVERSE_DROP_EXPIRED;
		return TRAVERSE_FORWARD;
	}
	return TRAVERSE_DROP_TARGET;
}

int
traverse_rate_allow(struct traverse_rate *r, const uint8_t pub[33], uint64_t now_ms)
{
	struct traverse_rate_slot *e = NULL, *oldest = NULL;
	unsigned i;

	for (i = 0; i < TRAVERSE_RATE_SLOTS; i++) {
		struct traverse_rate_slot *x = &r->e[i];

		if (x->start != 0 && memcmp(x->pub, pub, 33) == 0) {
			e = x;
			break;
		}
		if (oldest == NULL || x->start < oldest->start)
			oldest = x;
	}
	if (e == NULL) {
		/* A free slot has start 0, so it is the "oldest". */
		e = oldest;
		memcpy(e->pub, pub, 33);
		e->start = now_ms;
		e->count = 0;
	} else if (now_ms - e->start >= TRAVERSE_RATE_WINDOW_MS) {
		e->start = now_ms;
		e->count = 0;
	}
	if (e->count >= TRAVERSE_RATE_MAX)
		return 0;
	e->count++;
	return 1;
}

int
traverse_addr_block(const struct peer *a, uint8_t target_features,
    struct wire_traverse_addr *out)
{
	const struct peer_conn *c4 = NULL, *c6 = NULL;

	memset(out, 0, sizeof(*out));
	/* Never local addresses: the target is not on A's LAN (§5.7, §8). */
	if (target_features & WIRE_FEATURE_IPV4_LISTEN)
		c4 = peer_conn_to_share(a, 0, 1, 0);
	if (target_features & WIRE_FEATURE_IPV6_LISTEN)
		c6 = peer_conn_to_share(a, 0, 0, 1);
	if (c4 != NULL && c4->remote.family != AF_INET)
		c4 = NULL;
	if (c6 != NULL && c6->remote.family != AF_INET6)
		c6 = NULL;
	if (c4 == NULL && c6 == NULL)
		return PEER_ERR_NO_CONN;
	if (c4 != NULL) {
		memcpy(out->ipv4, c4->remote.ip, 4);
		out->ipv4_port = c4->remote.port;
		out->ipv4_port_external = c4->port_external;
	}
	if (c6 != NULL) {
		memcpy(out->ipv6, c6->remote.ip, 16);
		out->ipv6_port = c6->remote.port;
		out->ipv6_port_external = c6->port_external;
	}
	return PEER_OK;
}

int
traverse_candidates(const struct wire_traverse_addr *a, struct peer_addr out[2])
{
	int k = 0;
	uint16_t port;

	port = a->ipv4_port_external ? a->ipv4_port_external : a->ipv4_port;
	if (!peer_ip_unset(a->ipv4, 4) && port != 0) {
		memset(&out[k], 0, sizeof(out[k]));
		out[k].family = AF_INET;
		memcpy(out[k].ip, a->ipv4, 4);
		out[k].port = port;
		k++;
	}
	port = a->ipv6_port_external ? a->ipv6_port_external : a->ipv6_port;
	if (!peer_ip_unset(a->ipv6, 16) && port != 0) {
		memset(&out[k], 0, sizeof(out[k]));
		out[k].family = AF_INET6;
		memcpy(out[k].ip, a->ipv6, 16);
		out[k].port = port;
		k++;
	}
	return k;
}

enum traverse_open_result
traverse_receive_open(const struct wire_traverse *t, const struct ident *self,
    uint8_t *plain, size_t plain_cap, struct traverse_opened *out)
{
	memset(out, 0, sizeof(*out));
	if ((out->ncand = traverse_candidates(&t->addr, out->cand)) == 0)
		return TRAVERSE_OPEN_NO_ADDRESS;
	/* wire_packet_decode checks the 77-byte minimum (§12 point 2). */
	if (wire_packet_decode(t->embedded, t->embedded_len, self->pub, plain,
	    plain_cap, &out->pkt) != 0 || out->pkt.command != WIRE_CMD_ANNOUNCEMENT)
		return TRAVERSE_OPEN_PACKET;
	if (memcmp(out->pkt.sender, t->signer, PEERNET_PUBKEY_BYTES) != 0)
		return TRAVERSE_OPEN_SIGNER;
	if (wire_announce_decode(out->pkt.payload, out->pkt.payload_len, &out->ann) != 0)
		return TRAVERSE_OPEN_MESSAGE;
	return TRAVERSE_OPEN_OK;
}
