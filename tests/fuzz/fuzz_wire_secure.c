/*
 * fuzz_wire_secure.c — libFuzzer target for the secure-transport extension
 * block (wire_secure_ext_decode) and for finding it after the last section
 * of an Announcement or a Response.  An accepted block must re-encode and
 * decode to the same fields; the tail offsets never pass the input's end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire_msg.h"
#include "wire_secure.h"

static void
check_ext(const uint8_t *p, size_t n)
{
	struct wire_secure_ext e, f;
	uint8_t out[WIRE_SECURE_EXT_SIZE];
	size_t len;
	int rc;

	rc = wire_secure_ext_decode(p, n, &e);
	if (rc != WIRE_SECURE_OK)
		return;
	if (wire_secure_ext_encode(out, sizeof(out), &len, &e) != 0 ||
	    len != WIRE_SECURE_EXT_SIZE || len > n)
		abort();
	if (wire_secure_ext_decode(out, len, &f) != WIRE_SECURE_OK ||
	    f.suites != e.suites ||
	    memcmp(f.static_key, e.static_key, sizeof(f.static_key)) != 0 ||
	    memcmp(f.hs_id, e.hs_id, sizeof(f.hs_id)) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_announce a;
	struct wire_response r;
	size_t off;

	check_ext(data, size);
	if (wire_announce_decode(data, size, &a) == 0) {
		off = wire_secure_announce_tail(data, size, &a);
		if (off > size)
			abort();
		check_ext(data + off, size - off);
	}
	if (wire_response_decode(data, size, &r) == 0) {
		off = wire_secure_response_tail(data, size, &r);
		if (off > size)
			abort();
		check_ext(data + off, size - off);
	}
	return 0;
}
