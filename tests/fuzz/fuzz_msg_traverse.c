/*
 * fuzz_msg_traverse.c — libFuzzer target for the Traverse decoder.  An
 * accepted input has exactly 169 + M bytes, so it must re-encode to the
 * very same bytes and decode again to the same fields and signer; the
 * relay's address fill must leave the signature valid.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fz_msg.h"
#include "wire_msg.h"

static uint8_t out[65536 + WIRE_TRAVERSE_FIXED];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_traverse t, u;
	struct wire_traverse_addr a;
	size_t n;

	FZ_REENCODES(wire_traverse_decode, wire_traverse_encode, data, size, out,
	    t, u, n);
	if (n != size || memcmp(u.target, t.target, 33) != 0 ||
	    memcmp(u.relay, t.relay, 33) != 0 || u.expires != t.expires ||
	    u.embedded_len != t.embedded_len ||
	    memcmp(u.embedded, t.embedded, t.embedded_len) != 0 ||
	    memcmp(u.sig, t.sig, 65) != 0 || memcmp(u.signer, t.signer, 33) != 0 ||
	    memcmp(&u.addr.ipv4, &t.addr.ipv4, 4) != 0 ||
	    memcmp(&u.addr.ipv6, &t.addr.ipv6, 16) != 0 ||
	    u.addr.ipv4_port != t.addr.ipv4_port ||
	    u.addr.ipv4_port_external != t.addr.ipv4_port_external ||
	    u.addr.ipv6_port != t.addr.ipv6_port ||
	    u.addr.ipv6_port_external != t.addr.ipv6_port_external)
		abort();
	/* The address block is unsigned: rewriting it keeps the signer. */
	memset(&a, 0x5a, sizeof(a));
	memset(a.ipv6, 0, 12);
	if (wire_traverse_set_address(out, n, &a) != 0 ||
	    wire_traverse_verify(out, n, t.signer) != 0)
		abort();
	return 0;
}
