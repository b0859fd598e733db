/*
 * xfer_ids.c — the transfer-ID hash table (see xfer_ids.h).
 */
#include <string.h>

#include <sodium.h>

#include "xfer_ids.h"

_Static_assert(XFER_IDS_KEY == crypto_shorthash_KEYBYTES, "siphash key size");

static size_t
xfer_ids_home(const struct xfer_ids *t, const uint8_t id[XFER_IDS_LEN])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, id, XFER_IDS_LEN, t->key);
	memcpy(&v, h, sizeof(v));
	return (size_t)(v & (XFER_IDS_CAP - 1));
}

void
xfer_ids_init(struct xfer_ids *t, const uint8_t key[XFER_IDS_KEY])
{
	memset(t, 0, sizeof(*t));
	memcpy(t->key, key, XFER_IDS_KEY);
}

/* The bucket holding id, or -1; the probe ends at the first free bucket. */
static long
xfer_ids_slot(const struct xfer_ids *t, const uint8_t id[XFER_IDS_LEN])
{
	size_t i = xfer_ids_home(t, id), k;

	for (k = 0; k < XFER_IDS_CAP; k++, i = (i + 1) & (XFER_IDS_CAP - 1)) {
		if (t->b[i].v == NULL)
			return -1;
		if (memcmp(t->b[i].id, id, XFER_IDS_LEN) == 0)
			return (long)i;
	}
	return -1;
}

void *
xfer_ids_get(const struct xfer_ids *t, const uint8_t id[XFER_IDS_LEN])
{
	long i = xfer_ids_slot(t, id);

	return i < 0 ? NULL : t->b[i].v;
}

int
xfer_ids_put(struct xfer_ids *t, const uint8_t id[XFER_IDS_LEN], void *v)
{
	size_t i;

	if (v == NULL || t->count >= XFER_IDS_MAX || xfer_ids_slot(t, id) >= 0)
		return -1;
	for (i = xfer_ids_home(t, id); t->b[i].v != NULL; i = (i + 1) & (XFER_IDS_CAP - 1))
		;
	memcpy(t->b[i].id, id, XFER_IDS_LEN);
	t->b[i].v = v;
	t->count++;
	return 0;
}

int
xfer_ids_del(struct xfer_ids *t, const uint8_t id[XFER_IDS_LEN])
{
	long at = xfer_ids_slot(t, id);
	size_t hole, j, home;

	if (at < 0)
		return -1;
	hole = (size_t)at;
	t->b[hole].v = NULL;
	t->count--;
	/*
	 * Backward shift: an entry further along the run moves into the hole
	 * unless its home lies cyclically in (hole, j] (it would then be
	 * unreachable from its home), so every probe still ends where it should.
	 */
	for (j = (hole + 1) & (XFER_IDS_CAP - 1); t->b[j].v != NULL;
	    j = (j + 1) & (XFER_IDS_CAP - 1)) {
		home = xfer_ids_home(t, t->b[j].id);
		if (((j - home) & (XFER_IDS_CAP - 1)) < ((j - hole) & (XFER_IDS_CAP - 1)))
			continue;
		t->b[hole] = t->b[j];
		t->b[j].v = NULL;
		hole = j;
	}
	return 0;
}
