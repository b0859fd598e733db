/*
 * xfer_ids.h — the transfer-ID table of the transfer engine (xfer.c): every
 * datagram that may be a lite packet (docs/protocol.md §2.7) is looked up
 * here by its first 16 bytes, so the lookup is one hash and a short probe,
 * whatever the number of sessions.  Open addressing with linear probing and
 * backward-shift deletion (no tombstones), keyed SipHash (crypto_shorthash)
 * so that IDs chosen by peers cannot pile up in one run.  Pure: no I/O, no
 * clock; the key comes from the caller.
 */
#ifndef PEERNET_XFER_IDS_H
#define PEERNET_XFER_IDS_H

#include <stddef.h>
#include <stdint.h>

#define XFER_IDS_LEN	16	/* WIRE_TRANSFER_ID_SIZE */
#define XFER_IDS_CAP	128	/* buckets, a power of two */
#define XFER_IDS_MAX	(XFER_IDS_CAP / 2)	/* entries: probes stay short */
#define XFER_IDS_KEY	16	/* crypto_shorthash_KEYBYTES */

struct xfer_ids_ent {
	uint8_t	 id[XFER_IDS_LEN];
	void	*v;			/* NULL: free bucket */
};

struct xfer_ids {
	uint8_t			key[XFER_IDS_KEY];
	size_t			count;
	struct xfer_ids_ent	b[XFER_IDS_CAP];
};

void	xfer_ids_init(struct xfer_ids *t, const uint8_t key[XFER_IDS_KEY]);
/* The value registered for id, or NULL. */
void	*xfer_ids_get(const struct xfer_ids *t, const uint8_t id[XFER_IDS_LEN]);
/* 0, or -1 when id is registered already, v is NULL or the table is full. */
int	xfer_ids_put(struct xfer_ids *t, const uint8_t id[XFER_IDS_LEN], void *v);
/* 0, or -1 when id is not registered. */
int	xfer_ids_del(struct xfer_ids *t, const uint8_t id[XFER_IDS_LEN]);

#endif
