/*
 * fuzz_traverse_recv.c — libFuzzer target for the Traverse receive path of
 * the target node B (netd/traverse.c: traverse_classify, then
 * traverse_receive_open; docs/protocol.md §3.7, §8.2 steps 5-6), which
 * node_trav.c runs on every Traverse a relay delivers.
 *
 * Input: a Traverse payload.  We are identity C of tests/vectors
 * (messages.json "traverse": its embedded packet is encrypted to C), so
 * the seed corpus (tests/fuzz/corpus/traverse_recv: that vector, as
 * created and after the relay's address fill) reaches the embedded
 * Announcement.  The classification is made as if the relay named in the
 * message had sent it and the clock were one second before its expiry,
 * so that the receive path is exercised whatever the message says.
 *
 * Invariants: a verdict is one of the enum values; on TRAVERSE_OPEN_OK
 * the embedded packet is an Announcement from the signer, its payload
 * lies inside the plain buffer, 1..2 candidates exactly as
 * traverse_candidates gives them (families tagged, ports non-zero), and
 * the Announcement's lists lie inside that payload.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "../../netd/peer.c"
#include "../../netd/traverse.c"

#define KEY_C "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"

static uint8_t plain[65536];

static int
inside(const uint8_t *p, size_t n, const uint8_t *base, size_t cap)
{
	return n == 0 || (p >= base && p + n <= base + cap);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ident c;
	static int ready;
	struct wire_traverse t;
	struct traverse_opened o;
	struct peer_addr cand[2];
	enum traverse_verdict v;
	enum traverse_open_result r;
	uint8_t priv[32];
	int k, i;

	if (!ready) {
		if (hex_decode(priv, 32, KEY_C) != 32 || ident_from_priv(&c, priv) != 0)
			abort();
		ready = 1;
	}
	if (wire_traverse_decode(data, size, &t) != 0)
		return 0;
	v = traverse_classify(&t, c.pub, t.relay, t.expires > 0 ? t.expires - 1 : 0);
	if (v > TRAVERSE_DROP_TARGET)
		abort();
	/* Receive only when we are the target and the relay sent it. */
	if (v == TRAVERSE_RECEIVE && memcmp(t.target, c.pub, 33) != 0)
		abort();
	r = traverse_receive_open(&t, &c, plain, sizeof(plain), &o);
	if (r > TRAVERSE_OPEN_MESSAGE)
		abort();
	k = traverse_candidates(&t.addr, cand);
	if (r == TRAVERSE_OPEN_NO_ADDRESS) {
		if (k != 0)
			abort();
		return 0;
	}
	if (k < 1 || k > 2 || o.ncand != k)
		abort();
	for (i = 0; i < k; i++)
		if ((o.cand[i].family != AF_INET && o.cand[i].family != AF_INET6) ||
		    o.cand[i].port == 0 || memcmp(&o.cand[i], &cand[i], sizeof(cand[i])) != 0)
			abort();
	if (r != TRAVERSE_OPEN_OK)
		return 0;
	if (o.pkt.command != WIRE_CMD_ANNOUNCEMENT ||
	    memcmp(o.pkt.sender, t.signer, 33) != 0 ||
	    !inside(o.pkt.payload, o.pkt.payload_len, plain, sizeof(plain)) ||
	    !inside(o.ann.find_peer, 32 * o.ann.n_find_peer, o.pkt.payload,
	    o.pkt.payload_len) ||
	    !inside(o.ann.find_value, 32 * o.ann.n_find_value, o.pkt.payload,
	    o.pkt.payload_len) ||
	    !inside(o.ann.info_store, WIRE_INFO_STORE_SIZE * o.ann.n_info_store,
	    o.pkt.payload, o.pkt.payload_len))
		abort();
	return 0;
}
