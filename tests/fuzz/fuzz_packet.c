/*
 * fuzz_packet.c — libFuzzer target for the v0 packet decoder.
 *
 * Every input is decoded as a datagram to a fixed receiver key (B of the
 * vectors, so the seed corpus of real packets decodes).  A quarter of the
 * inputs also drive the encoder: command, sequence, nonce and garbage come
 * from the input, the rest is the payload; the packet must decode back to
 * exactly those fields from the sender's key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ident.h"
#include "wire_packet.h"

static struct ident key_a, key_b;
static uint8_t plain[WIRE_PACKET_MAX];
static uint8_t out[WIRE_PACKET_MAX];

static void
setup(void)
{
	uint8_t priv[32];

	memset(priv, 0x11, sizeof(priv));
	if (ident_from_priv(&key_a, priv) != IDENT_OK)
		abort();
	memset(priv, 0x22, sizeof(priv));
	if (ident_from_priv(&key_b, priv) != IDENT_OK)
		abort();
}

static void
round_trip(const uint8_t *data, size_t size)
{
	struct wire_packet pkt;
	struct buf_r r;
	const uint8_t *nonce, *garbage, *payload;
	uint8_t command;
	uint32_t sequence;
	size_t glen, plen, outlen;

	buf_r_init(&r, data, size);
	command = buf_r_u8(&r);
	sequence = buf_r_le32(&r);
	nonce = buf_r_take(&r, 4);
	glen = buf_r_u8(&r) % (WIRE_GARBAGE_MAX + 1);
	garbage = buf_r_take(&r, glen);
	if (r.err)
		return;
	plen = buf_r_left(&r);
	if (plen > 8192)
		plen = 8192;
	payload = buf_r_take(&r, plen);
	if (wire_packet_encode_ex(out, sizeof(out), &outlen, &key_a, key_b.pub,
	    command, sequence, payload, plen, nonce, garbage, glen) != WIRE_PACKET_OK)
		abort();
	if (outlen != WIRE_PACKET_MIN + plen + glen)
		abort();
	if (wire_packet_decode(out, outlen, key_b.pub, plain, sizeof(plain), &pkt)
	    != WIRE_PACKET_OK)
		abort();
	if (pkt.protocol != 0 || pkt.command != command ||
	    pkt.sequence != sequence || pkt.payload_len != plen ||
	    pkt.garbage_len != glen ||
	    (plen > 0 && memcmp(pkt.payload, payload, plen) != 0) ||
	    memcmp(pkt.sender, key_a.pub, PEERNET_PUBKEY_BYTES) != 0)
		abort();
	/* Sent to B, it must not open as a packet from A under A's key. */
	if (wire_packet_decode(out, outlen, key_a.pub, plain, sizeof(plain), &pkt)
	    == WIRE_PACKET_OK &&
	    memcmp(pkt.sender, key_a.pub, PEERNET_PUBKEY_BYTES) == 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct wire_packet pkt;
	int rc;

	if (!ready) {
		setup();
		ready = 1;
	}
	rc = wire_packet_decode(data, size, key_b.pub, plain, sizeof(plain), &pkt);
	if (rc == WIRE_PACKET_OK) {
		/* Every field a caller reads must lie inside the datagram's size. */
		if (pkt.protocol != 0 || size < WIRE_PACKET_MIN ||
		    pkt.payload_len + pkt.garbage_len + WIRE_PACKET_MIN != size ||
		    pkt.payload != plain + 8 ||
		    !ident_pubkey_valid(pkt.sender))
			abort();
	} else if (size < WIRE_PACKET_MIN && rc != WIRE_PACKET_ERR_SHORT)
		abort();
	if (size >= 10 && (data[size - 1] & 3) == 0)
		round_trip(data, size);
	return 0;
}
