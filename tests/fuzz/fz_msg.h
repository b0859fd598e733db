/*
 * fz_msg.h — what the message fuzz targets share: the round trip of an
 * accepted input, and the common header of every message (docs/protocol.md
 * §3.1), which must come back unchanged from a re-encoding and from every
 * part of a split.
 */
#ifndef PEERNET_FZ_MSG_H
#define PEERNET_FZ_MSG_H

#include <stdlib.h>
#include <string.h>

#include "wire_msg.h"

/* Aborts unless a and b agree (actions apart: each message has its rule). */
static inline void
fz_same_hdr(const struct wire_msg_hdr *a, const struct wire_msg_hdr *b)
{
	if (a->protocol != b->protocol || a->features != b->features ||
	    a->blockchain_height != b->blockchain_height ||
	    a->blockchain_version != b->blockchain_version ||
	    a->port_internal != b->port_internal ||
	    a->port_external != b->port_external || a->ua_len != b->ua_len ||
	    memcmp(a->ua, b->ua, a->ua_len + 1) != 0)
		abort();
}

/*
 * An input that dec refuses ends the target (return 0).  An accepted one
 * (into a) must re-encode by enc into out, n bytes, to a prefix of itself,
 * which dec accepts again (into b); else abort.  Comparing the fields of a
 * and b is each target's own.
 */
#define FZ_REENCODES(dec, enc, data, size, out, a, b, n) do {		\
	if (dec((data), (size), &(a)) != 0)					\
		return 0;							\
	if (enc((out), sizeof(out), &(n), &(a)) != 0 || (n) > (size) ||	\
	    memcmp((out), (data), (n)) != 0 || dec((out), (n), &(b)) != 0)	\
		abort();							\
} while (0)

#endif /* PEERNET_FZ_MSG_H */
