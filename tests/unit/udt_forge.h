/*
 * udt_forge.h — a UDT handshake written field by field (docs/protocol.md
 * §9.5), not through udt_pkt_encode: the tests and fuzz targets that forge
 * handshakes (test_udt_hs.c, fuzz_udt_hs.c, fuzz_udt_pkt.c) check the codec
 * and the state machine against a writer of their own.  Header-only, as the
 * fuzz targets link none of the unit-test helpers.
 */
#ifndef PEERNET_UDT_FORGE_H
#define PEERNET_UDT_FORGE_H

#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "udt.h"

/* The 64 bytes of a handshake into b; returns UDT_HS_SIZE. */
static inline size_t
udt_forge_hs(uint8_t *b, uint32_t dst, uint32_t version, uint32_t sock_type,
    uint32_t x, uint32_t flow, int32_t req, uint32_t sock)
{
	memset(b, 0, UDT_HS_SIZE);
	buf_put_be32(b, 0x80000000U);
	buf_put_be32(b + 12, dst);
	buf_put_be32(b + 16, version);
	buf_put_be32(b + 20, sock_type);
	buf_put_be32(b + 24, x);
	buf_put_be32(b + 32, flow);
	buf_put_be32(b + 36, (uint32_t)req);
	buf_put_be32(b + 40, sock);
	return UDT_HS_SIZE;
}

#endif
