/*
 * bench_packet.c — v0 packet decode and encode rates against their limit.
 *
 * The cost of a packet is one ECDSA operation plus a little Salsa20 and
 * BLAKE3, so the limit is the raw libsecp256k1 call on the same context:
 * secp256k1_ecdsa_recover for decode, secp256k1_ecdsa_sign_recoverable for
 * encode.  Single thread, ~100-byte payload.  The packet loop and its limit
 * run in alternating 25 ms slices (60 each), so load from other processes
 * on the machine hits both alike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "blake3.h"
#include "ident.h"
#include "t.h"
#include "wire_packet.h"

#define PAYLOAD		100

static struct ident a, b;
static uint8_t pkt_raw[WIRE_PACKET_ENCODE_CAP(PAYLOAD)];
static size_t pkt_len;
static uint8_t payload[PAYLOAD];
static uint8_t plain[WIRE_PACKET_MAX];
static uint8_t hash[32];
static secp256k1_ecdsa_recoverable_signature rsig;
static volatile unsigned sink;

static void
op_decode(void)
{
	struct wire_packet p;

	if (wire_packet_decode(pkt_raw, pkt_len, b.pub, plain, sizeof(plain), &p) != 0)
		abort();
	sink += p.sender[5];
}

static void
op_recover(void)
{
	const secp256k1_context *ctx = ident_secp_ctx();
	secp256k1_pubkey pk;

	if (!secp256k1_ecdsa_recover(ctx, &pk, &rsig, hash))
		abort();
	sink += pk.data[5];
}

static void
op_encode(void)
{
	static uint8_t out[WIRE_PACKET_ENCODE_CAP(PAYLOAD)];
	size_t n;

	payload[0]++;	/* a different message each time, as in real traffic */
	if (wire_packet_encode(out, sizeof(out), &n, &a, b.pub, 10, 7, payload,
	    PAYLOAD) != 0)
		abort();
	sink += out[n - 1];
}

static void
op_sign(void)
{
	const secp256k1_context *ctx = ident_secp_ctx();
	secp256k1_ecdsa_recoverable_signature s;

	hash[0]++;
	if (!secp256k1_ecdsa_sign_recoverable(ctx, &s, hash, a.priv, NULL, NULL))
		abort();
	sink += s.data[5];
}

int
main(void)
{
	if (t_ident_fill(&a, 0x11) != 0 || t_ident_fill(&b, 0x22) != 0)
		return 1;
	memset(payload, 0x5a, sizeof(payload));
	if (wire_packet_encode(pkt_raw, sizeof(pkt_raw), &pkt_len, &a, b.pub, 10,
	    7, payload, PAYLOAD) != 0)
		return 1;
	blake3_hash(pkt_raw, pkt_len - PEERNET_SIG_BYTES, hash);
	if (!secp256k1_ecdsa_sign_recoverable(ident_secp_ctx(), &rsig, hash,
	    a.priv, NULL, NULL))
		return 1;
	printf("# packet of %zu bytes (payload %d), blake3 %s, 1 thread\n",
	    pkt_len, PAYLOAD, blake3_impl_name());
	t_bench_alternate("packet_decode", "pkts/s", 1, op_decode, op_recover);
	t_bench_alternate("packet_encode", "pkts/s", 1, op_encode, op_sign);
	return 0;
}
