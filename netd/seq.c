/*
 * seq.c — outstanding sequence numbers (docs/protocol.md §4).
 *
 * Storage: a fixed pool of entries allocated at creation, a free list, and
 * a power-of-two bucket array of chain heads indexed by SipHash (libsodium
 * crypto_shorthash) of namespace || public key || number.  Nothing is
 * allocated after seq_table_new, so the table's memory is bounded by
 * construction.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "seq.h"

#define SEQ_NIL		UINT32_MAX

struct seq_entry {
	uint8_t		 pub[PEERNET_PUBKEY_BYTES];
	uint8_t		 ns;
	uint8_t		 used;
	uint32_t	 seq;
	uint32_t	 next;		/* chain or free list */
	uint32_t	 replies;
	uint32_t	 timeout_ms;	/* bidirectional: idle timeout */
	uint64_t	 created;
	uint64_t	 expires;
	void		*ctx;
};

struct seq_table {
	struct seq_entry *e;
	uint32_t	*bucket;
	uint32_t	 mask;
	uint32_t	 max;
	uint32_t	 count;
	uint32_t	 free;
	uint8_t		 key[crypto_shorthash_KEYBYTES];
	seq_end_fn	 end;
	void		*arg;
};

const char *
seq_strerror(int err)
{
	switch (err) {
	case SEQ_OK:
		return "ok";
	case SEQ_ERR_ARG:
		return "invalid argument";
	case SEQ_ERR_NOMEM:
		return "out of memory";
	case SEQ_ERR_FULL:
		return "sequence table full";
	case SEQ_ERR_UNKNOWN:
		return "unknown sequence for this peer";
	case SEQ_ERR_EXPIRED:
		return "sequence expired";
	case SEQ_ERR_COLLISION:
		return "no free bidirectional sequence number";
	}
	return "unknown sequence error";
}

struct seq_table *
seq_table_new(size_t max_entries, const uint8_t hash_key[16], seq_end_fn end,
    void *arg)
{
	struct seq_table *t;
	size_t nb;
	uint32_t i;

	if (max_entries == 0 || max_entries > SEQ_MAX_LIMIT || hash_key == NULL)
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	/* Load factor <= 0.5 keeps chains short without resizing. */
	for (nb = 16; nb < 2 * max_entries; nb <<= 1)
		;
	t->e = calloc(max_entries, sizeof(*t->e));
	t->bucket = malloc(nb * sizeof(*t->bucket));
	if (t->e == NULL || t->bucket == NULL) {
		seq_table_free(t);
		return NULL;
	}
	for (i = 0; i < nb; i++)
		t->bucket[i] = SEQ_NIL;
	for (i = 0; i < max_entries; i++)
		t->e[i].next = i + 1 < max_entries ? i + 1 : SEQ_NIL;
	t->free = 0;
	t->mask = (uint32_t)(nb - 1);
	t->max = (uint32_t)max_entries;
	memcpy(t->key, hash_key, sizeof(t->key));
	t->end = end;
	t->arg = arg;
	return t;
}

void
seq_table_free(struct seq_table *t)
{
	if (t == NULL)
		return;
	free(t->e);
	free(t->bucket);
	free(t);
}

struct seq_usage
seq_usage(const struct seq_table *t)
{
	return (struct seq_usage){ .count = t->count, .max = t->max };
}

static uint32_t
seq_hash(const struct seq_table *t, uint8_t ns,
    const uint8_t pub[PEERNET_PUBKEY_BYTES], uint32_t seq)
{
	uint8_t in[1 + PEERNET_PUBKEY_BYTES + 4], out[crypto_shorthash_BYTES];
	uint64_t h;

	in[0] = ns;
	memcpy(in + 1, pub, PEERNET_PUBKEY_BYTES);
	in[1 + PEERNET_PUBKEY_BYTES + 0] = (uint8_t)seq;
	in[1 + PEERNET_PUBKEY_BYTES + 1] = (uint8_t)(seq >> 8);
	in[1 + PEERNET_PUBKEY_BYTES + 2] = (uint8_t)(seq >> 16);
	in[1 + PEERNET_PUBKEY_BYTES + 3] = (uint8_t)(seq >> 24);
	crypto_shorthash(out, in, sizeof(in), t->key);
	memcpy(&h, out, sizeof(h));
	return (uint32_t)(h ^ (h >> 32)) & t->mask;
}

/* Index of the entry, SEQ_NIL if none; *prevp receives its chain predecessor. */
static uint32_t
seq_find(const struct seq_table *t, uint8_t ns,
    const uint8_t pub[PEERNET_PUBKEY_BYTES], uint32_t seq, uint32_t *bp,
    uint32_t *prevp)
{
	uint32_t b, i, prev = SEQ_NIL;

	b = seq_hash(t, ns, pub, seq);
	for (i = t->bucket[b]; i != SEQ_NIL; prev = i, i = t->e[i].next) {
		const struct seq_entry *e = &t->e[i];

		if (e->seq == seq && e->ns == ns &&
		    memcmp(e->pub, pub, PEERNET_PUBKEY_BYTES) == 0)
			break;
	}
	if (bp != NULL)
		*bp = b;
	if (prevp != NULL)
		*prevp = prev;
	return i;
}

static void
seq_unlink(struct seq_table *t, uint32_t b, uint32_t prev, uint32_t i)
{
	if (prev == SEQ_NIL)
		t->bucket[b] = t->e[i].next;
	else
		t->e[prev].next = t->e[i].next;
	t->e[i].used = 0;
	t->e[i].ctx = NULL;
	t->e[i].next = t->free;
	t->free = i;
	t->count--;
}

/* Unlinks entry i and reports its end; the callback sees a copy. */
static void
seq_end_entry(struct seq_table *t, uint32_t b, uint32_t prev, uint32_t i,
    enum seq_end why)
{
	struct seq_entry copy = t->e[i];

	seq_unlink(t, b, prev, i);
	if (t->end != NULL)
		t->end(t->arg, copy.pub, copy.seq, (enum seq_ns)copy.ns, copy.ctx,
		    why);
}

size_t
seq_sweep(struct seq_table *t, uint64_t now_ms)
{
	uint32_t b, i, prev, next;
	size_t n = 0;

	for (b = 0; b <= t->mask; b++) {
		prev = SEQ_NIL;
		for (i = t->bucket[b]; i != SEQ_NIL; i = next) {
			next = t->e[i].next;
			/* Go's expires.Before(now): strictly earlier. */
			if (t->e[i].expires < now_ms) {
				seq_end_entry(t, b, prev, i, SEQ_END_EXPIRED);
				n++;
			} else
				prev = i;
		}
	}
	return n;
}

/*
 * Inserts (replacing an existing entry of the same key).  Fails with
 * SEQ_ERR_FULL when no slot is free even after sweeping expired entries.
 */
static int
seq_insert(struct seq_table *t, uint8_t ns,
    const uint8_t pub[PEERNET_PUBKEY_BYTES], uint32_t seq, void *ctx,
    uint32_t timeout_ms, uint64_t now_ms)
{
	struct seq_entry *e;
	uint32_t b, prev, i;

	i = seq_find(t, ns, pub, seq, &b, &prev);
	if (i != SEQ_NIL)
		seq_end_entry(t, b, prev, i, SEQ_END_REPLACED);
	if (t->free == SEQ_NIL)
		seq_sweep(t, now_ms);
	if (t->free == SEQ_NIL)
		return SEQ_ERR_FULL;
	i = t->free;
	e = &t->e[i];
	t->free = e->next;
	memset(e, 0, sizeof(*e));
	memcpy(e->pub, pub, PEERNET_PUBKEY_BYTES);
	e->ns = ns;
	e->used = 1;
	e->seq = seq;
	e->created = now_ms;
	e->expires = now_ms + timeout_ms;
	e->timeout_ms = timeout_ms;
	e->ctx = ctx;
	b = seq_hash(t, ns, pub, seq);
	e->next = t->bucket[b];
	t->bucket[b] = i;
	t->count++;
	return SEQ_OK;
}

int
seq_new(struct seq_table *t, const uint8_t pub[PEERNET_PUBKEY_BYTES],
    uint32_t *counter, void *ctx, uint64_t now_ms, uint32_t *seq)
{
	uint32_t s;
	int rc;

	if (t == NULL || pub == NULL || counter == NULL || seq == NULL)
		return SEQ_ERR_ARG;
	s = *counter + 1;
	if ((rc = seq_insert(t, SEQ_NS_UNI, pub, s, ctx, SEQ_REPLY_TIMEOUT_MS,
	    now_ms)) != SEQ_OK)
		return rc;
	*counter = s;
	*seq = s;
	return SEQ_OK;
}

int
seq_new_arbitrary(struct seq_table *t, const uint8_t pub[PEERNET_PUBKEY_BYTES],
    uint32_t random_seq, void *ctx, uint64_t now_ms)
{
	if (t == NULL || pub == NULL)
		return SEQ_ERR_ARG;
	return seq_insert(t, SEQ_NS_UNI, pub, random_seq, ctx,
	    SEQ_REPLY_TIMEOUT_MS, now_ms);
}

/*
 * Common to both namespaces: look up, reject unknown/expired, count the
 * reply, then retire (last) or extend by `extend` ms.
 */
static int
seq_match_ns(struct seq_table *t, uint8_t ns,
    const uint8_t pub[PEERNET_PUBKEY_BYTES], uint32_t seq, int is_last,
    int bi, uint64_t now_ms, struct seq_match *out)
{
	struct seq_entry *e;
	uint32_t b, prev, i;

	if (t == NULL || pub == NULL || out == NULL)
		return SEQ_ERR_ARG;
	memset(out, 0, sizeof(*out));
	i = seq_find(t, ns, pub, seq, &b, &prev);
	if (i == SEQ_NIL)
		return SEQ_ERR_UNKNOWN;
	e = &t->e[i];
	/* Valid while expires > now (Go: expires.After(now)). */
	if (e->expires <= now_ms) {
		seq_end_entry(t, b, prev, i, SEQ_END_EXPIRED);
		return SEQ_ERR_EXPIRED;
	}
	out->ctx = e->ctx;
	out->created_ms = e->created;
	if (e->replies == 0) {
		uint64_t rtt = now_ms >= e->created ? now_ms - e->created : 0;

		out->first = 1;
		out->rtt_ms = rtt > UINT32_MAX ? UINT32_MAX : (uint32_t)rtt;
	}
	if (e->replies < UINT32_MAX)
		e->replies++;
	out->replies = e->replies;
	if (is_last)
		seq_unlink(t, b, prev, i);
	else if (bi)
		e->expires = now_ms + e->timeout_ms;
	else
		e->expires = now_ms + SEQ_RESPONSE_EXTEND_MS;
	return SEQ_OK;
}

int
seq_match(struct seq_table *t, const uint8_t pub[PEERNET_PUBKEY_BYTES],
    uint32_t seq, int is_last, uint64_t now_ms, struct seq_match *out)
{
	return seq_match_ns(t, SEQ_NS_UNI, pub, seq, is_last, 0, now_ms, out);
}

static int
seq_remove_ns(struct seq_table *t, uint8_t ns,
    const uint8_t pub[PEERNET_PUBKEY_BYTES], uint32_t seq)
{
	uint32_t b, prev, i;

	if (t == NULL || pub == NULL)
		return SEQ_ERR_ARG;
	i = seq_find(t, ns, pub, seq, &b, &prev);
	if (i == SEQ_NIL)
		return SEQ_ERR_UNKNOWN;
	seq_unlink(t, b, prev, i);
	return SEQ_OK;
}

int
seq_remove(struct seq_table *t, const uint8_t pub[PEERNET_PUBKEY_BYTES],
    uint32_t seq)
{
	return seq_remove_ns(t, SEQ_NS_UNI, pub, seq);
}

int
seq_new_bi(struct seq_table *t, const uint8_t pub[PEERNET_PUBKEY_BYTES],
    uint32_t *counter, void *ctx, uint32_t timeout_ms, uint64_t now_ms,
    uint32_t *seq)
{
	uint32_t s = 0;
	int n, rc;

	if (t == NULL || pub == NULL || counter == NULL || seq == NULL ||
	    timeout_ms == 0)
		return SEQ_ERR_ARG;
	for (n = 0; n < SEQ_BI_TRIES; n++) {
		s = ++*counter;
		if (seq_find(t, SEQ_NS_BI, pub, s, NULL, NULL) == SEQ_NIL)
			break;
	}
	if (n == SEQ_BI_TRIES)
		return SEQ_ERR_COLLISION;
	if ((rc = seq_insert(t, SEQ_NS_BI, pub, s, ctx, timeout_ms,
	    now_ms)) != SEQ_OK)
		return rc;
	*seq = s;
	return SEQ_OK;
}

int
seq_register_bi(struct seq_table *t, const uint8_t pub[PEERNET_PUBKEY_BYTES],
    uint32_t seq, void *ctx, uint32_t timeout_ms, uint64_t now_ms)
{
	if (t == NULL || pub == NULL || timeout_ms == 0)
		return SEQ_ERR_ARG;
	return seq_insert(t, SEQ_NS_BI, pub, seq, ctx, timeout_ms, now_ms);
}

int
seq_match_bi(struct seq_table *t, const uint8_t pub[PEERNET_PUBKEY_BYTES],
    uint32_t seq, int is_last, uint64_t now_ms, struct seq_match *out)
{
	return seq_match_ns(t, SEQ_NS_BI, pub, seq, is_last, 1, now_ms, out);
}

int
seq_remove_bi(struct seq_table *t, const uint8_t pub[PEERNET_PUBKEY_BYTES],
    uint32_t seq)
{
	return seq_remove_ns(t, SEQ_NS_BI, pub, seq);
}
