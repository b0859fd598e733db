/*
 * fuzz_secure.c — libFuzzer target for everything the secure transport
 * reads from the network (common/secure.c).  Byte 0 picks the reader:
 *   0  INIT at a responder (with bit 7 of byte 0: under load; with bit 6:
 *      the harness writes a valid hs_id and mac1 so the Noise and identity
 *      checks are reached)
 *   1  DATA at an established session (receiver ID fixed up), must fail:
 *      nobody forges Poly1305
 *   2  RESP at a pending initiation (receiver ID fixed up)
 *   3  COOKIE at a pending initiation
 *   4  the replay window driven by 16-bit counters, against a plain model
 * Keys are fixed, so a crash reproduces.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "secure.h"

static struct ident ida, idb;
static struct secure_node na, nb;
static struct secure_session sa, sb;
static struct secure_initiation pending;
static struct secure_chan xch;	/* a transfer's channel (lite packets) */
static int ready;

static void
setup(void)
{
	struct wire_secure_ext eb;
	struct secure_init_info info;
	struct secure_initiation in;
	uint8_t k[32], init[SECURE_INIT_LEN], resp[SECURE_RESP_LEN], reply[128];
	size_t n, rn;

	memset(k, 0x11, 32);
	if (ident_from_priv(&ida, k) != 0)
		abort();
	memset(k, 0x22, 32);
	if (ident_from_priv(&idb, k) != 0)
		abort();
	memset(k, 0x33, 32);
	if (secure_node_init(&na, &ida, k, 0) != 0)
		abort();
	memset(k, 0x44, 32);
	if (secure_node_init(&nb, &idb, k, 0) != 0)
		abort();
	memset(nb.hs_id, 0x5a, sizeof(nb.hs_id));
	secure_node_ext(&nb, &eb);
	memset(&in, 0, sizeof(in));
	if (secure_initiate(&in, &na, &eb, idb.pub, 1, 1, 0, init, sizeof(init), &n) != 0 ||
	    secure_respond_check(&nb, init, n, NULL, 0, 0, &info, reply,
	    sizeof(reply), &rn) != 0 ||
	    secure_respond(&info, &nb, 2, 0, resp, sizeof(resp), &n, &sb) != 0 ||
	    secure_initiation_finish(&in, &na, resp, n, 0, &sa) != 0)
		abort();
	memset(&pending, 0, sizeof(pending));
	if (secure_initiate(&pending, &na, &eb, idb.pub, 3, 2, 0, init,
	    sizeof(init), &n) != 0)
		abort();
	memset(k, 0x66, WIRE_TRANSFER_ID_SIZE);
	if (secure_xfer_derive(&sb, k, 1, &xch) != 0)
		abort();
	ready = 1;
}

static void
replay_model(const uint8_t *p, size_t n)
{
	static uint8_t seen[65536];
	struct secure_replay r;
	uint64_t top = 0, c;
	size_t i;
	int ok, want;

	memset(&r, 0, sizeof(r));
	memset(seen, 0, sizeof(seen));
	for (i = 0; i + 1 < n; i += 2) {
		c = (uint64_t)p[i] | (uint64_t)p[i + 1] << 8;
		ok = secure_replay_check(&r, c);
		want = !seen[c] && (c >= top || top - 1 - c <= SECURE_REPLAY_WINDOW);
		if (ok != want)
			abort();
		if (ok) {
			secure_replay_update(&r, c);
			seen[c] = 1;
			if (c + 1 > top)
				top = c + 1;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[70000], out[70000];
	struct secure_init_info info;
	struct secure_initiation in;
	struct secure_session s;
	size_t n, rn;
	uint8_t sel;

	if (!ready)
		setup();
	if (size < 1 || size - 1 > sizeof(buf))
		return 0;
	sel = data[0];
	n = size - 1;
	memcpy(buf, data + 1, n);
	switch (sel & 7) {
	case 0:
		nb.under_load = (sel & 0x80) != 0;
		if ((sel & 0x40) && n == SECURE_INIT_LEN) {
			crypto_generichash_blake2b_state st;

			memcpy(buf, nb.hs_id, SECURE_ID_LEN);
			buf[8] = SECURE_TYPE_INIT;
			/* mac1 as secure.c computes it, so deeper checks run. */
			crypto_generichash_blake2b_init(&st, nb.mac1_key, 32,
			    SECURE_MAC_LEN);
			crypto_generichash_blake2b_update(&st, buf,
			    SECURE_INIT_LEN - 2 * SECURE_MAC_LEN);
			crypto_generichash_blake2b_final(&st, buf + SECURE_INIT_LEN -
			    2 * SECURE_MAC_LEN, SECURE_MAC_LEN);
		}
		if (secure_respond_check(&nb, buf, n, data, size < 6 ? size : 6, 0,
		    &info, out, sizeof(out), &rn) == SECURE_COOKIE &&
		    rn >= n)
			abort();	/* never an answer as large as the question */
		break;
	case 1:
		if (n >= 9 && (sel & 0x80)) {
			uint64_t id = sb.ch.rx_id;
			int i;

			for (i = 0; i < 8; i++)
				buf[i] = (uint8_t)(id >> (8 * i));
			buf[8] = SECURE_TYPE_DATA;
		}
		s = sb;
		if (secure_open(&s, 0, buf, n, out, sizeof(out), &rn) == SECURE_OK)
			abort();
		break;
	case 2:
	case 3:
		in = pending;
		if (n >= 8 && (sel & 0x80)) {
			int i;

			for (i = 0; i < 8; i++)
				buf[i] = (uint8_t)(in.local_id >> (8 * i));
		}
		if ((sel & 7) == 2) {
			if (secure_initiation_finish(&in, &na, buf, n, 0, &s) == SECURE_OK)
				abort();	/* would need b's signature */
		} else {
			(void)secure_initiation_cookie(&in, buf, n, 0);
		}
		break;
	case 4:
		replay_model(buf, n);
		break;
	case 5: {
		/* A transfer's lite packet from the network, opened in place. */
		struct secure_chan c = xch;
		size_t pn;

		if (n >= 8 && (sel & 0x80)) {
			int i;

			for (i = 0; i < 8; i++)
				buf[i] = (uint8_t)(c.rx_id >> (8 * i));
		}
		if (secure_chan_open(&c, buf, n, buf + SECURE_HDR_LEN, &pn) == SECURE_OK)
			abort();	/* would need the channel's key */
		break;
	}
	default:
		break;
	}
	return 0;
}
