/*
 * xfer.c — transfer sessions (see xfer.h).  Not written yet: no transfer ID
 * is ever registered, so no datagram is taken as a lite packet, Get Block and
 * Transfer messages are counted and dropped, and wanted blocks are only
 * logged.  The block transfer (§9.8) is the next piece of work here.
 */
#include "log.h"
#include "netd.h"

int
netd_xfer_init(struct netd *n)
{
	n->xfer = NULL;
	return 0;
}

void
netd_xfer_free(struct netd *n)
{
	(void)n;
}

int
netd_xfer_lite_in(struct netd *n, const uint8_t *raw, size_t len)
{
	(void)n;
	(void)raw;
	(void)len;
	return 0;
}

void
netd_xfer_packet(struct netd *n, struct peer *p, struct peer_conn *c,
    const struct wire_packet *pkt)
{
	(void)p;
	(void)c;
	(void)pkt;
	n->counters[IPC_NC_DROP_UNKNOWN_CMD]++;
}

void
netd_xfer_tick(struct netd *n, uint64_t now_ms)
{
	(void)n;
	(void)now_ms;
}

void
netd_xfer_blocks_wanted(struct netd *n, struct peer *p, uint64_t version,
    uint64_t from, uint64_t to)
{
	(void)n;
	(void)p;
	log_debug("cache wants blocks %llu..%llu of version %llu: block transfer "
	    "not written yet", (unsigned long long)from, (unsigned long long)to,
	    (unsigned long long)version);
}
