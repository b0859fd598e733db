/*
 * xfer_setup.c — the transfer engine put together: the core (xfer.c), its
 * users registered in the order a tick visits them (the file transfer,
 * then the block transfer), and the hooks through which node.c, below all
 * of them, hands up lite packets, Transfer and Get Block messages, its
 * tick and storaged's wish for blocks (struct netd_xfer_hooks, netd.h).
 * The top of the transfer group: nothing in it calls this file but
 * netd.c and the tests (docs/design.md, "Layers").
 */
#include <stddef.h>

#include "netd.h"
#include "secure_link.h"
#include "wire_msg.h"
#include "xfer_sess.h"

static const struct netd_xfer_hooks xfer_hooks = {
	.lite_in = xfer_lite_in,
	.packet = xfer_packet,
	.tick = xfer_tick,
	.blocks_wanted = xfer_gb_wanted,
};

int
xfer_init(struct netd *n)
{
	uint8_t sec;

	if (xfer_core_init(n) != 0)
		return -1;
	if (xfer_file_init(n) != 0 || xfer_gb_init(n) != 0 ||
	    slink_init(n, &sec) != 0) {
		xfer_core_free(n);
		return -1;
	}
	/*
	 * We answer merkle-leaf requests (xfer_merkle.h): say so in every
	 * Announcement, Response and Discovery (feature bit 3, §13.5), so our
	 * downloads ask only peers that set it and a reference peer's download
	 * starts without waiting for leaves it never sends.
	 */
	/* ... and, secure transport on, bit 4 (secure_link.c, docs/secure.md). */
	wire_msg_set_own_features(WIRE_FEATURE_MERKLE | sec);
	n->xfer_hooks = &xfer_hooks;
	return 0;
}

void
xfer_free(struct netd *n)
{
	n->xfer_hooks = NULL;
	xfer_core_free(n);
	slink_free(n);
}
