/*
 * fuzz_ipc_net.c — the network-area IPC decoders (common/ipc_msg_net.h):
 * known peers (storaged takes them from netd and reads them back from its
 * disk), peer lists, ping, find, network status.
 *
 * 1. Arbitrary bytes: whatever decodes re-encodes to exactly the same bytes
 *    (the encoding is canonical); a peer list rebuilt peer by peer gives the
 *    same bytes and as many peers as it announced.
 * 2. Values made from the input: decode(encode(x)) == x field by field when
 *    x is valid, and a decode error (never a wrong value) when it is not,
 *    the validity rule written out here: address family 4 or 6, port ≠ 0,
 *    a compressed public key (0x02/0x03), flags 0 or 1, timeouts 1..600000.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc_msg.h"
#include "ipc_msg_net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[IPC_MSG_MAX];

#define SAME(enc) do {							\
	long n_ = (enc);						\
	if (n_ != (long)size || memcmp(out, data, size) != 0)		\
		abort();						\
} while (0)

/* ---- 1: arbitrary bytes ---- */

static void
canonical(const uint8_t *data, size_t size)
{
	static struct ipc_known_peers kp;
	static struct ipc_net_status ns;
	static struct ipc_peer peer;
	struct ipc_peer_list pl;
	struct ipc_ping_req pq;
	struct ipc_ping_rep pr;
	struct ipc_find_req fq;
	struct ipc_find_rep fr;
	uint32_t k;
	size_t off;
	long n;
	int rc;

	if (ipc_known_peers_decode(data, size, IPC_PEERS_SAVE, &kp) == 0)
		SAME(ipc_known_peers_encode(out, sizeof(out), IPC_PEERS_SAVE, &kp));
	if (ipc_known_peers_decode(data, size, IPC_PEERS_LOAD, &kp) == 0)
		SAME(ipc_known_peers_encode(out, sizeof(out), IPC_PEERS_LOAD, &kp));
	if (ipc_ping_req_decode(data, size, &pq) == 0)
		SAME(ipc_ping_req_encode(out, sizeof(out), &pq));
	if (ipc_ping_rep_decode(data, size, &pr) == 0)
		SAME(ipc_ping_rep_encode(out, sizeof(out), &pr));
	if (ipc_find_req_decode(data, size, &fq) == 0)
		SAME(ipc_find_req_encode(out, sizeof(out), &fq));
	if (ipc_find_rep_decode(data, size, &fr) == 0)
		SAME(ipc_find_rep_encode(out, sizeof(out), &fr));
	if (ipc_net_status_decode(data, size, &ns) == 0)
		SAME(ipc_net_status_encode(out, sizeof(out), &ns));
	if (ipc_peer_list_decode(data, size, &pl) == 0) {
		if ((n = ipc_peer_list_begin(out, sizeof(out), pl.total)) < 0)
			abort();
		off = (size_t)n;
		k = 0;
		while ((rc = ipc_peer_list_next(&pl, &peer)) == 1) {
			if (ipc_peer_list_add(out, sizeof(out), &off, &peer) != 0)
				abort();
			k++;
		}
		if (rc != 0 || k != pl.count)
			abort();
		SAME((long)off);
	}
}

/* ---- 2: values made from the input ---- */

struct src {
	const uint8_t	*p;
	size_t		 n, i;
};

static uint8_t
b8(struct src *s)
{
	return s->n == 0 ? 0 : s->p[s->i++ % s->n];
}

static uint32_t
b32(struct src *s)
{
	uint32_t v = b8(s);

	v |= (uint32_t)b8(s) << 8;
	v |= (uint32_t)b8(s) << 16;
	return v | (uint32_t)b8(s) << 24;
}

static uint64_t
b64(struct src *s)
{
	return (uint64_t)b32(s) << 32 | b32(s);
}

static void
bbytes(struct src *s, uint8_t *dst, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = b8(s);
}

/* A C string of up to cap - 1 bytes (the input's bytes up to a NUL). */
static void
bstr(struct src *s, char *dst, size_t cap)
{
	size_t n = b8(s) % cap, i;

	for (i = 0; i < n; i++)
		dst[i] = (char)b8(s);
	dst[n] = '\0';
}

static void
known_peers_roundtrip(struct src *s)
{
	static struct ipc_known_peers a, b;
	uint16_t type = b8(s) & 1 ? IPC_PEERS_LOAD : IPC_PEERS_SAVE;
	uint32_t i;
	int valid = 1, rc;
	long n;

	memset(&a, 0, sizeof(a));
	a.count = b8(s) % (IPC_KNOWN_PEERS_MAX + 2);
	for (i = 0; i < a.count && i < IPC_KNOWN_PEERS_MAX; i++) {
		struct ipc_known_peer *p = &a.peers[i];

		bbytes(s, p->pubkey, sizeof(p->pubkey));
		/* mostly valid, so that the round trip is exercised */
		if (b8(s) & 1)
			p->pubkey[0] = 2 + (p->pubkey[1] & 1);
		p->family = b8(s) & 1 ? 4 + 2 * (b8(s) & 1) : b8(s);
		bbytes(s, p->ip, sizeof(p->ip));
		p->port = (uint16_t)b32(s);
		if ((p->family != 4 && p->family != 6) || p->port == 0 ||
		    (p->pubkey[0] != 2 && p->pubkey[0] != 3))
			valid = 0;
	}
	n = ipc_known_peers_encode(out, sizeof(out), type, &a);
	if (a.count > IPC_KNOWN_PEERS_MAX) {
		if (n != -1)
			abort();
		return;
	}
	if (n < 0)
		abort();
	rc = ipc_known_peers_decode(out, (size_t)n, type, &b);
	if (!valid) {
		if (rc == 0)
			abort();
		return;
	}
	if (rc != 0 || b.count != a.count)
		abort();
	for (i = 0; i < a.count; i++)
		if (memcmp(a.peers[i].pubkey, b.peers[i].pubkey, 33) != 0 ||
		    a.peers[i].family != b.peers[i].family ||
		    memcmp(a.peers[i].ip, b.peers[i].ip, 16) != 0 ||
		    a.peers[i].port != b.peers[i].port)
			abort();
	/* the other direction's type is refused */
	if (ipc_known_peers_decode(out, (size_t)n, type == IPC_PEERS_LOAD ?
	    IPC_PEERS_SAVE : IPC_PEERS_LOAD, &b) == 0)
		abort();
	/* every cut short of the end is refused */
	if (n > IPC_HDR_LEN &&
	    ipc_known_peers_decode(out, (size_t)n - 1 - b8(s) % ((size_t)n -
	    IPC_HDR_LEN), type, &b) == 0)
		abort();
}

static void
make_peer(struct src *s, struct ipc_peer *p, int *valid)
{
	memset(p, 0, sizeof(*p));
	bbytes(s, p->pubkey, sizeof(p->pubkey));
	bbytes(s, p->node_id, sizeof(p->node_id));
	bstr(s, p->addr, sizeof(p->addr));
	p->active = b8(s) % 3 == 2 ? 2 : 1;
	p->root = b8(s) & 1;
	p->nat = b8(s) & 1;
	p->features = b8(s);
	p->conns = b32(s);
	p->rtt_ms = b32(s);
	p->height = b64(s);
	p->version = b64(s);
	bstr(s, p->user_agent, sizeof(p->user_agent));
	if (p->active > 1)
		*valid = 0;
}

static int
same_peer(const struct ipc_peer *a, const struct ipc_peer *b)
{
	return memcmp(a->pubkey, b->pubkey, sizeof(a->pubkey)) == 0 &&
	    memcmp(a->node_id, b->node_id, sizeof(a->node_id)) == 0 &&
	    strcmp(a->addr, b->addr) == 0 && a->active == b->active &&
	    a->root == b->root && a->nat == b->nat &&
	    a->features == b->features && a->conns == b->conns &&
	    a->rtt_ms == b->rtt_ms && a->height == b->height &&
	    a->version == b->version && strcmp(a->user_agent, b->user_agent) == 0;
}

static void
peer_list_roundtrip(struct src *s)
{
	static struct ipc_peer a[3], b;
	struct ipc_peer_list l;
	unsigned n = b8(s) % 4, i;
	int valid = 1, rc;
	size_t off;
	long m;

	for (i = 0; i < n; i++)
		make_peer(s, &a[i], &valid);
	if ((m = ipc_peer_list_begin(out, sizeof(out), n + b8(s) % 2)) < 0)
		abort();
	off = (size_t)m;
	for (i = 0; i < n; i++)
		if (ipc_peer_list_add(out, sizeof(out), &off, &a[i]) != 0)
			abort();
	rc = ipc_peer_list_decode(out, off, &l);
	if (!valid) {
		/* the list decoder checks every peer up front */
		if (rc == 0)
			abort();
		return;
	}
	if (rc != 0 || l.count != n)
		abort();
	for (i = 0; i < n; i++)
		if (ipc_peer_list_next(&l, &b) != 1 || !same_peer(&a[i], &b))
			abort();
	if (ipc_peer_list_next(&l, &b) != 0)
		abort();
}

static void
small_roundtrips(struct src *s)
{
	struct ipc_ping_req pq, pq2;
	struct ipc_ping_rep pr, pr2;
	struct ipc_find_req fq, fq2;
	struct ipc_find_rep fr, fr2;
	long n;
	int rc;

	memset(&pq, 0, sizeof(pq));
	bbytes(s, pq.node_id, sizeof(pq.node_id));
	pq.timeout_ms = b8(s) & 1 ? b32(s) % 600001 : b32(s);
	if ((n = ipc_ping_req_encode(out, sizeof(out), &pq)) < 0)
		abort();
	rc = ipc_ping_req_decode(out, (size_t)n, &pq2);
	if ((rc == 0) != (pq.timeout_ms >= 1 && pq.timeout_ms <= 600000) ||
	    (rc == 0 && (pq2.timeout_ms != pq.timeout_ms ||
	    memcmp(pq2.node_id, pq.node_id, 32) != 0)))
		abort();

	memset(&fq, 0, sizeof(fq));
	bbytes(s, fq.key, sizeof(fq.key));
	fq.timeout_ms = b8(s) & 1 ? b32(s) % 600001 : b32(s);
	if ((n = ipc_find_req_encode(out, sizeof(out), &fq)) < 0)
		abort();
	rc = ipc_find_req_decode(out, (size_t)n, &fq2);
	if ((rc == 0) != (fq.timeout_ms >= 1 && fq.timeout_ms <= 600000) ||
	    (rc == 0 && (fq2.timeout_ms != fq.timeout_ms ||
	    memcmp(fq2.key, fq.key, 32) != 0)))
		abort();

	memset(&pr, 0, sizeof(pr));
	pr.rtt_ms = b32(s);
	bstr(s, pr.addr, sizeof(pr.addr));
	if ((n = ipc_ping_rep_encode(out, sizeof(out), &pr)) < 0 ||
	    ipc_ping_rep_decode(out, (size_t)n, &pr2) != 0 ||
	    pr2.rtt_ms != pr.rtt_ms || strcmp(pr2.addr, pr.addr) != 0)
		abort();

	memset(&fr, 0, sizeof(fr));
	fr.found = b8(s) % 3;
	fr.rounds = b32(s);
	fr.messages = b32(s);
	bbytes(s, fr.pubkey, sizeof(fr.pubkey));
	bstr(s, fr.addrs, sizeof(fr.addrs));
	if ((n = ipc_find_rep_encode(out, sizeof(out), &fr)) < 0)
		abort();
	rc = ipc_find_rep_decode(out, (size_t)n, &fr2);
	if ((rc == 0) != (fr.found <= 1) ||
	    (rc == 0 && (fr2.found != fr.found || fr2.rounds != fr.rounds ||
	    fr2.messages != fr.messages ||
	    memcmp(fr2.pubkey, fr.pubkey, 33) != 0 ||
	    strcmp(fr2.addrs, fr.addrs) != 0)))
		abort();
}

static void
net_status_roundtrip(struct src *s)
{
	static struct ipc_net_status a, b;
	int i;
	long n;

	memset(&a, 0, sizeof(a));
	bbytes(s, a.pubkey, sizeof(a.pubkey));
	bbytes(s, a.node_id, sizeof(a.node_id));
	bstr(s, a.listen, sizeof(a.listen));
	a.peers = b32(s);
	a.active = b32(s);
	a.dht_size = b32(s);
	bstr(s, a.nat, sizeof(a.nat));
	bstr(s, a.portmap, sizeof(a.portmap));
	bstr(s, a.external, sizeof(a.external));
	for (i = 0; i < IPC_NC_MAX; i++)
		a.counters[i] = b64(s);
	if ((n = ipc_net_status_encode(out, sizeof(out), &a)) < 0 ||
	    ipc_net_status_decode(out, (size_t)n, &b) != 0)
		abort();
	if (memcmp(a.pubkey, b.pubkey, 33) != 0 ||
	    memcmp(a.node_id, b.node_id, 32) != 0 ||
	    strcmp(a.listen, b.listen) != 0 || a.peers != b.peers ||
	    a.active != b.active || a.dht_size != b.dht_size ||
	    strcmp(a.nat, b.nat) != 0 || strcmp(a.portmap, b.portmap) != 0 ||
	    strcmp(a.external, b.external) != 0 ||
	    memcmp(a.counters, b.counters, sizeof(a.counters)) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct src s = { data, size, 0 };

	canonical(data, size);
	if (size == 0)
		return 0;
	switch (data[0] % 5) {
	case 0:
		known_peers_roundtrip(&s);
		break;
	case 1:
		peer_list_roundtrip(&s);
		break;
	case 2:
		small_roundtrips(&s);
		break;
	case 3:
		net_status_roundtrip(&s);
		break;
	default:
		known_peers_roundtrip(&s);
		small_roundtrips(&s);
		break;
	}
	return 0;
}
