/*
 * fuzz_msg_announce.c — libFuzzer target for the Announcement / Local
 * Discovery decoder (wire_announce_decode).  An accepted input must
 * re-encode, decode again to the same fields (list bits normalised: the
 * encoder never sets a bit for an empty list), and split into parts that
 * each decode and together hold every item.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fz_msg.h"
#include "wire_msg.h"

static uint8_t out[WIRE_MSG_BUDGET + 70000];
static uint8_t part[WIRE_MSG_BUDGET];

static uint8_t
norm_actions(const struct wire_announce *a)
{
	return (uint8_t)((a->hdr.actions & ~WIRE_ACTION_LISTS) |
	    (a->n_find_peer ? WIRE_ACTION_FIND_PEER : 0) |
	    (a->n_find_value ? WIRE_ACTION_FIND_VALUE : 0) |
	    (a->n_info_store ? WIRE_ACTION_INFO_STORE : 0));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_announce a, b;
	struct wire_announce_split s;
	size_t n, tp = 0, tv = 0, ts = 0;
	int rc;

	if (wire_announce_decode(data, size, &a) != 0)
		return 0;
	if (wire_announce_encode(out, sizeof(out), &n, &a) != 0 ||
	    n != wire_announce_size(&a) || n > size)
		abort();
	if (wire_announce_decode(out, n, &b) != 0)
		abort();
	fz_same_hdr(&a.hdr, &b.hdr);
	if (b.hdr.actions != norm_actions(&a) ||
	    a.n_find_peer != b.n_find_peer || a.n_find_value != b.n_find_value ||
	    a.n_info_store != b.n_info_store ||
	    memcmp(a.find_peer ? a.find_peer : out, b.find_peer ? b.find_peer : out,
	    a.n_find_peer * WIRE_KEY_SIZE) != 0 ||
	    memcmp(a.find_value ? a.find_value : out, b.find_value ? b.find_value : out,
	    a.n_find_value * WIRE_KEY_SIZE) != 0 ||
	    memcmp(a.info_store ? a.info_store : out, b.info_store ? b.info_store : out,
	    a.n_info_store * WIRE_INFO_STORE_SIZE) != 0)
		abort();

	wire_announce_split_init(&s, &a);
	while ((rc = wire_announce_split_next(&s, part, sizeof(part), &n)) == 1) {
		if (n > WIRE_MSG_BUDGET || wire_announce_decode(part, n, &b) != 0)
			abort();
		fz_same_hdr(&a.hdr, &b.hdr);
		if ((b.hdr.actions & ~WIRE_ACTION_LISTS) !=
		    (a.hdr.actions & ~WIRE_ACTION_LISTS))
			abort();
		if (memcmp(b.find_peer ? b.find_peer : out, a.find_peer ?
		    a.find_peer + tp * WIRE_KEY_SIZE : out,
		    b.n_find_peer * WIRE_KEY_SIZE) != 0)
			abort();
		tp += b.n_find_peer;
		tv += b.n_find_value;
		ts += b.n_info_store;
	}
	if (rc != 0 || tp != a.n_find_peer || tv != a.n_find_value ||
	    ts != a.n_info_store)
		abort();
	return 0;
}
