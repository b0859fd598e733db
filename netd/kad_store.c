/*
 * kad_store.c — the DHT value store served by FIND_VALUE (docs/protocol.md §7.5).
 *
 * key -> data with an optional expiry.  The reference keeps an unbounded
 * in-memory map whose entries never expire; ours is bounded by entry count,
 * total bytes and value size (kad.h) and refuses what does not fit rather
 * than silently dropping older values.  Entries live in an array sorted by
 * key (binary search; insertion moves at most KAD_STORE_MAX_ENTRIES
 * pointers).  Expired entries are invisible to get() at once and freed by
 * kad_store_expire().
 */
#include <stdlib.h>
#include <string.h>

#include "kad.h"

struct kad_store_entry {
	uint8_t		 key[KAD_ID_BYTES];
	uint64_t	 expires_ms;		/* 0 = never */
	size_t		 len;
	uint8_t		 data[];
};

struct kad_store {
	struct kad_store_entry	**v;		/* sorted by key */
	int			  n;
	int			  cap;
	size_t			  bytes;
	uint64_t		  next_expiry;	/* lower bound; UINT64_MAX = none */
};

struct kad_store *
kad_store_new(void)
{
	struct kad_store *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->next_expiry = UINT64_MAX;
	return s;
}

void
kad_store_free(struct kad_store *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	free(s);
}

/* Index of key, or -(insertion point) - 1. */
static int
store_find(const struct kad_store *s, const uint8_t *key)
{
	int lo = 0, hi = s->n - 1, mid, c;

	while (lo <= hi) {
		mid = lo + (hi - lo) / 2;
		c = memcmp(s->v[mid]->key, key, KAD_ID_BYTES);
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -lo - 1;
}

static void
store_remove_at(struct kad_store *s, int i)
{
	s->bytes -= s->v[i]->len;
	free(s->v[i]);
	memmove(&s->v[i], &s->v[i + 1], (size_t)(s->n - i - 1) * sizeof(s->v[0]));
	s->n--;
}

static int
expired(const struct kad_store_entry *e, uint64_t now_ms)
{
	return e->expires_ms != 0 && now_ms >= e->expires_ms;
}

int
kad_store_put(struct kad_store *s, const uint8_t key[KAD_ID_BYTES],
    const void *data, size_t len, uint64_t now_ms, uint64_t ttl_ms)
{
	struct kad_store_entry *e, **nv;
	size_t old = 0;
	int i, ncap;

	if (s == NULL || key == NULL || (data == NULL && len != 0))
		return KAD_ERR_ARG;
	if (len > KAD_STORE_VALUE_MAX)
		return KAD_ERR_TOOBIG;
	i = store_find(s, key);
	if (i >= 0)
		old = s->v[i]->len;
	else if (s->n >= KAD_STORE_MAX_ENTRIES)
		return KAD_ERR_FULL;
	if (s->bytes - old + len > KAD_STORE_MAX_BYTES)
		return KAD_ERR_FULL;

	if ((e = malloc(sizeof(*e) + len)) == NULL)
		return KAD_ERR_NOMEM;
	memcpy(e->key, key, KAD_ID_BYTES);
	e->len = len;
	if (len > 0)
		memcpy(e->data, data, len);
	e->expires_ms = ttl_ms == 0 ? 0 : now_ms + ttl_ms;
	if (e->expires_ms != 0 && e->expires_ms < s->next_expiry)
		s->next_expiry = e->expires_ms;

	if (i >= 0) {
		s->bytes -= old;
		free(s->v[i]);
		s->v[i] = e;
		s->bytes += len;
		return KAD_OK;
	}
	if (s->n == s->cap) {
		ncap = s->cap == 0 ? 16 : s->cap * 2;
		if (ncap > KAD_STORE_MAX_ENTRIES)
			ncap = KAD_STORE_MAX_ENTRIES;
		if ((nv = realloc(s->v, (size_t)ncap * sizeof(*nv))) == NULL) {
			free(e);
			return KAD_ERR_NOMEM;
		}
		s->v = nv;
		s->cap = ncap;
	}
	i = -i - 1;
	memmove(&s->v[i + 1], &s->v[i], (size_t)(s->n - i) * sizeof(s->v[0]));
	s->v[i] = e;
	s->n++;
	s->bytes += len;
	return KAD_OK;
}

int
kad_store_get(struct kad_store *s, const uint8_t key[KAD_ID_BYTES],
    uint64_t now_ms, const uint8_t **data, size_t *len)
{
	int i;

	if (s == NULL || key == NULL)
		return KAD_ERR_ARG;
	if ((i = store_find(s, key)) < 0 || expired(s->v[i], now_ms))
		return KAD_ERR_NOTFOUND;
	if (data != NULL)
		*data = s->v[i]->data;
	if (len != NULL)
		*len = s->v[i]->len;
	return KAD_OK;
}

int
kad_store_del(struct kad_store *s, const uint8_t key[KAD_ID_BYTES])
{
	int i;

	if (s == NULL || key == NULL)
		return KAD_ERR_ARG;
	if ((i = store_find(s, key)) < 0)
		return KAD_ERR_NOTFOUND;
	store_remove_at(s, i);
	return KAD_OK;
}

int
kad_store_expire(struct kad_store *s, uint64_t now_ms)
{
	uint64_t next = UINT64_MAX;
	int i, dropped = 0;

	if (s == NULL || now_ms < s->next_expiry)
		return 0;
	for (i = 0; i < s->n; ) {
		if (expired(s->v[i], now_ms)) {
			store_remove_at(s, i);
			dropped++;
			continue;
		}
		if (s->v[i]->expires_ms != 0 && s->v[i]->expires_ms < next)
			next = s->v[i]->expires_ms;
		i++;
	}
	s->next_expiry = next;
	return dropped;
}

uint64_t
kad_store_next_expiry(const struct kad_store *s)
{
	return s == NULL ? UINT64_MAX : s->next_expiry;
}

int
kad_store_count(const struct kad_store *s)
{
	return s == NULL ? 0 : s->n;
}

size_t
kad_store_bytes(const struct kad_store *s)
{
	return s == NULL ? 0 : s->bytes;
}
