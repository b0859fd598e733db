/*
 * kad.c — Kademlia routing table, closest selection, iterative lookups and
 * refresh scheduling (docs/protocol.md §7).  See kad.h for the design and for
 * where we differ from the reference.
 *
 * Lookups follow the reference's search client (§7.4): a lookup runs
 * *rounds* (the reference's information requests), each querying up to
 * alpha uncontacted candidates and ending when all of them answered or
 * failed, or after KAD_TIMEOUT_IR_MS.  An answer that changes the closest
 * known candidate starts one child round (the next "level", up to
 * KAD_MAX_LEVEL) while its own round is still running; a round that ends
 * without a child tries once more with the next uncontacted candidates.
 * Rounds are numbered by causal depth: the result's `rounds` is the number
 * of network round trips on the path that ended the lookup.
 */
#include <stdlib.h>
#include <string.h>

#include "blake3.h"
#include "kad.h"

#define CAND_NEW	0
#define CAND_INFLIGHT	1
#define CAND_DONE	2
#define CAND_FAILED	3

struct kad_bucket {
	struct kad_contact	*c;	/* KAD_K entries once used; [0] = least recently seen */
	int			 n;
};

struct kad_cand {
	struct kad_contact	c;
	uint8_t			via[KAD_ID_BYTES];
	uint8_t			has_via;
	uint8_t			state;		/* CAND_* */
	int8_t			round;		/* slot in lk->rounds while in flight */
	uint64_t		sent_ms;
};

struct kad_round {
	uint8_t		active;
	uint8_t		spawned;	/* started a child level */
	uint8_t		storing;	/* queries to storing contacts */
	uint8_t		level;
	int		number;		/* causal depth, seed round = 1 */
	int		pending;	/* queries in flight */
	uint64_t	deadline;
	uint8_t		first[KAD_ID_BYTES];	/* closest candidate at its start */
};

struct kad_lookup {
	uint32_t		id;
	uint8_t			type;		/* KAD_LOOKUP_* */
	uint8_t			kind;		/* KAD_FIND_* sent */
	uint8_t			internal;	/* a refresh: no lookup_done */
	uint8_t			key[KAD_ID_BYTES];
	uint64_t		start_ms;
	uint64_t		deadline_ms;
	/* Closest candidates seen, closest to key first. */
	struct kad_cand		cand[KAD_LOOKUP_CANDIDATES];
	int			n;
	/* Contacts said to store the value (value lookups). */
	struct kad_cand		store[KAD_MAX_KNOWN_STORE];
	int			n_store;
	struct kad_round	rounds[KAD_LOOKUP_MAX_ROUNDS];
	int			n_active;
	int			queries;
	int			replies;
	int			failures;
	int			last_round;
};

struct kad {
	uint8_t			 self[KAD_ID_BYTES];
	struct kad_env		 env;
	unsigned		 flags;
	struct kad_bucket	 b[KAD_BUCKETS];
	uint64_t		 nonempty[KAD_BUCKETS / 64];	/* bit per bucket */
	int			 n_contacts;
	struct kad_lookup	*lk[KAD_MAX_LOOKUPS];
	int			 n_lookups;
	uint32_t		 next_id;
	struct kad_store	*store;
	uint64_t		 store_next;	/* kad_store_next_expiry(store) */
	struct kad_stats	 st;

	/* Refresh (§6.6, §7.6). */
	int			 boot_done;	/* bootstrap refreshes finished */
	int			 periodic;	/* periodic rounds started */
	uint64_t		 refresh_at;	/* next round; needs >= 2 contacts */
	int			 refresh_force_full;
	int			 refresh_active;
	int			 refresh_running;
	uint8_t			 refresh_pending[KAD_BUCKETS / 8];
};

static const char *const kad_errs[] = {
	"success",
	"invalid argument",
	"out of memory",
	"own node ID",
	"not found",
	"too many lookups running",
	"no such lookup",
	"reply from a node that was not queried",
	"no usable contact",
	"value store full",
	"value too large",
};

const char *
kad_strerror(int err)
{
	if (err > 0 || -err >= (int)(sizeof(kad_errs) / sizeof(kad_errs[0])))
		return "unknown error";
	return kad_errs[-err];
}

/* ---- IDs and distance ---- */

void
kad_xor(const uint8_t a[KAD_ID_BYTES], const uint8_t b[KAD_ID_BYTES],
    uint8_t out[KAD_ID_BYTES])
{
	int i;

	for (i = 0; i < KAD_ID_BYTES; i++)
		out[i] = a[i] ^ b[i];
}

int
kad_distance_cmp(const uint8_t target[KAD_ID_BYTES],
    const uint8_t a[KAD_ID_BYTES], const uint8_t b[KAD_ID_BYTES])
{
	int i;
	uint8_t da, db;

	for (i = 0; i < KAD_ID_BYTES; i++) {
		da = a[i] ^ target[i];
		db = b[i] ^ target[i];
		if (da != db)
			return da < db ? -1 : 1;
	}
	return 0;
}

int
kad_bucket_index(const uint8_t self[KAD_ID_BYTES], const uint8_t id[KAD_ID_BYTES])
{
	int i, bit;
	uint8_t x;

	for (i = 0; i < KAD_ID_BYTES; i++) {
		if ((x = self[i] ^ id[i]) == 0)
			continue;
		for (bit = 0; (x & (0x80 >> bit)) == 0; bit++)
			;
		return KAD_ID_BITS - 1 - (i * 8 + bit);
	}
	return 0;
}

/* A random ID whose bucket index relative to self is `bucket` (>= 1). */
static void
random_id_in_bucket(struct kad *kad, int bucket, uint8_t out[KAD_ID_BYTES])
{
	uint8_t rnd[KAD_ID_BYTES];
	int pos = KAD_ID_BITS - 1 - bucket;	/* first differing bit */
	int byte = pos / 8, i;
	uint8_t flip = 0x80 >> (pos % 8), low = flip - 1;

	kad->env.random(kad->env.ctx, rnd, sizeof(rnd));
	memcpy(out, kad->self, KAD_ID_BYTES);
	out[byte] = ((out[byte] ^ flip) & ~low) | (rnd[byte] & low);
	for (i = byte + 1; i < KAD_ID_BYTES; i++)
		out[i] = rnd[i];
}

static uint64_t
now(const struct kad *kad)
{
	return kad->env.now_ms(kad->env.ctx);
}

/* ---- instance ---- */

struct kad *
kad_new(const uint8_t self[KAD_ID_BYTES], const struct kad_env *env,
    unsigned flags)
{
	struct kad *kad;

	if (self == NULL || env == NULL || env->now_ms == NULL ||
	    env->random == NULL || env->send_find == NULL)
		return NULL;
	if ((kad = calloc(1, sizeof(*kad))) == NULL)
		return NULL;
	if ((kad->store = kad_store_new()) == NULL) {
		free(kad);
		return NULL;
	}
	memcpy(kad->self, self, KAD_ID_BYTES);
	kad->env = *env;
	kad->flags = flags;
	kad->env.random(kad->env.ctx, &kad->next_id, sizeof(kad->next_id));
	kad->refresh_at = (flags & KAD_F_NO_REFRESH) ? UINT64_MAX : 0;
	kad->store_next = UINT64_MAX;
	return kad;
}

void
kad_free(struct kad *kad)
{
	int i;

	if (kad == NULL)
		return;
	for (i = 0; i < KAD_BUCKETS; i++)
		free(kad->b[i].c);
	for (i = 0; i < KAD_MAX_LOOKUPS; i++)
		free(kad->lk[i]);
	kad_store_free(kad->store);
	free(kad);
}

const uint8_t *
kad_self(const struct kad *kad)
{
	return kad->self;
}

void
kad_get_stats(const struct kad *kad, struct kad_stats *out)
{
	*out = kad->st;
}

/* ---- routing table ---- */

static struct kad_contact *
table_find(const struct kad *kad, const uint8_t *id, int *bucket, int *pos)
{
	const struct kad_bucket *b;
	int bi, i;

	bi = kad_bucket_index(kad->self, id);
	b = &kad->b[bi];
	for (i = 0; i < b->n; i++) {
		if (memcmp(b->c[i].id, id, KAD_ID_BYTES) == 0) {
			if (bucket != NULL)
				*bucket = bi;
			if (pos != NULL)
				*pos = i;
			return &b->c[i];
		}
	}
	return NULL;
}

static void
bucket_remove_at(struct kad *kad, struct kad_bucket *b, int i)
{
	memmove(&b->c[i], &b->c[i + 1], (size_t)(b->n - i - 1) * sizeof(b->c[0]));
	if (--b->n == 0) {
		i = (int)(b - kad->b);
		kad->nonempty[i / 64] &= ~(1ULL << (i % 64));
	}
	kad->n_contacts--;
}

/*
 * §7.2 ShouldEvict(oldest, new): an oldest node of unknown RTT goes; a new
 * node of known RTT wins if faster; else the distance to self decides.
 */
static int
should_evict(const struct kad *kad, const struct kad_contact *old,
    const struct kad_contact *nw)
{
	int old_closer;

	if (old->rtt_ms == 0)
		return 1;
	if (nw->rtt_ms > 0)
		return nw->rtt_ms < old->rtt_ms;
	old_closer = kad_distance_cmp(kad->self, old->id, nw->id) < 0;
	if (kad->flags & KAD_F_EVICT_REFERENCE)
		return old_closer;	/* the reference keeps the farther node */
	return !old_closer;
}

int
kad_table_insert(struct kad *kad, const struct kad_contact *c, int *outcome)
{
	struct kad_bucket *b;
	struct kad_contact tmp, *e;
	int bi, i, worst, how;

	if (kad == NULL || c == NULL)
		return KAD_ERR_ARG;
	if (memcmp(c->id, kad->self, KAD_ID_BYTES) == 0)
		return KAD_ERR_SELF;
	tmp = *c;
	tmp.last_seen_ms = now(kad);
	tmp.fails = 0;

	if ((e = table_find(kad, c->id, &bi, &i)) != NULL) {
		if (tmp.rtt_ms == 0)
			tmp.rtt_ms = e->rtt_ms;
		b = &kad->b[bi];
		memmove(&b->c[i], &b->c[i + 1], (size_t)(b->n - i - 1) * sizeof(b->c[0]));
		b->c[b->n - 1] = tmp;
		if (outcome != NULL)
			*outcome = KAD_INS_UPDATED;
		return KAD_OK;
	}

	bi = kad_bucket_index(kad->self, c->id);
	b = &kad->b[bi];
	if (b->c == NULL && (b->c = calloc(KAD_K, sizeof(b->c[0]))) == NULL)
		return KAD_ERR_NOMEM;
	how = KAD_INS_ADDED;
	if (b->n == KAD_K) {
		/* A contact that leaves queries unanswered goes first. */
		worst = -1;
		for (i = 0; i < b->n; i++)
			if (b->c[i].fails > 0 &&
			    (worst < 0 || b->c[i].fails > b->c[worst].fails))
				worst = i;
		if (worst < 0 && should_evict(kad, &b->c[0], &tmp))
			worst = 0;
		if (worst < 0) {
			if (outcome != NULL)
				*outcome = KAD_INS_DROPPED;
			return KAD_OK;
		}
		bucket_remove_at(kad, b, worst);
		kad->st.evictions++;
		how = KAD_INS_EVICTED;
	}
	b->c[b->n++] = tmp;
	kad->nonempty[bi / 64] |= 1ULL << (bi % 64);
	kad->n_contacts++;
	if (outcome != NULL)
		*outcome = how;
	return KAD_OK;
}

int
kad_table_remove(struct kad *kad, const uint8_t id[KAD_ID_BYTES])
{
	int bi, i;

	if (kad == NULL || id == NULL)
		return KAD_ERR_ARG;
	if (table_find(kad, id, &bi, &i) == NULL)
		return KAD_ERR_NOTFOUND;
	bucket_remove_at(kad, &kad->b[bi], i);
	return KAD_OK;
}

int
kad_table_get(const struct kad *kad, const uint8_t id[KAD_ID_BYTES],
    struct kad_contact *out)
{
	const struct kad_contact *e;

	if (kad == NULL || id == NULL)
		return KAD_ERR_ARG;
	if ((e = table_find(kad, id, NULL, NULL)) == NULL)
		return KAD_ERR_NOTFOUND;
	if (out != NULL)
		*out = *e;
	return KAD_OK;
}

int
kad_table_set_rtt(struct kad *kad, const uint8_t id[KAD_ID_BYTES], uint32_t rtt_ms)
{
	struct kad_contact *e;

	if (kad == NULL || id == NULL)
		return KAD_ERR_ARG;
	if ((e = table_find(kad, id, NULL, NULL)) == NULL)
		return KAD_ERR_NOTFOUND;
	e->rtt_ms = rtt_ms;
	return KAD_OK;
}

int
kad_table_count(const struct kad *kad)
{
	return kad->n_contacts;
}

int
kad_bucket_count(const struct kad *kad, int bucket)
{
	if (bucket < 0 || bucket >= KAD_BUCKETS)
		return 0;
	return kad->b[bucket].n;
}

/* A queried table contact answered: remember its RTT, clear failures. */
static void
table_answered(struct kad *kad, const uint8_t *id, uint64_t rtt)
{
	struct kad_contact *e;

	if ((e = table_find(kad, id, NULL, NULL)) == NULL)
		return;
	e->fails = 0;
	e->rtt_ms = rtt == 0 ? 1 : (rtt > UINT32_MAX ? UINT32_MAX : (uint32_t)rtt);
	e->last_seen_ms = now(kad);
}

/* A queried table contact did not answer; KAD_STALE_FAILS in a row remove it. */
static void
table_failed(struct kad *kad, const uint8_t *id)
{
	struct kad_contact *e;
	int bi, i;

	if ((e = table_find(kad, id, &bi, &i)) == NULL)
		return;
	if (++e->fails >= KAD_STALE_FAILS) {
		bucket_remove_at(kad, &kad->b[bi], i);
		kad->st.stale_removed++;
	}
}

/* ---- closest selection (§7.3) ---- */

/* Inserts c into out[0..*n) sorted by distance to target, keeping <= cap. */
static void
closest_insert(const uint8_t *target, struct kad_contact *out, int *n, int cap,
    const struct kad_contact *c)
{
	int i;

	if (*n == cap && kad_distance_cmp(target, c->id, out[cap - 1].id) >= 0)
		return;
	i = *n < cap ? *n : cap - 1;
	while (i > 0 && kad_distance_cmp(target, c->id, out[i - 1].id) < 0) {
		out[i] = out[i - 1];
		i--;
	}
	out[i] = *c;
	if (*n < cap)
		(*n)++;
}

/* The first non-empty bucket >= from, or KAD_BUCKETS. */
static int
next_nonempty(const struct kad *kad, int from)
{
	uint64_t w;
	int i;

	for (i = from / 64; from < KAD_BUCKETS && i < KAD_BUCKETS / 64; i++) {
		w = kad->nonempty[i];
		if (i == from / 64)
			w &= ~0ULL << (from % 64);
		if (w != 0)
			return i * 64 + __builtin_ctzll(w);
	}
	return KAD_BUCKETS;
}

/*
 * With t = bucket of the target, the distance of a contact in bucket b to
 * the target has its top bit at max(b, t) if b != t and below t if b == t.
 * So the groups {t}, {0..t-1}, {t+1}, {t+2}, ... are in strictly increasing
 * distance: sort within a group, stop after the group that fills `count`.
 */
int
kad_closest(const struct kad *kad, const uint8_t target[KAD_ID_BYTES],
    int count, kad_filter_fn filter, void *fctx, const uint8_t *exclude,
    struct kad_contact *out)
{
	const struct kad_bucket *b;
	int t, g, bi, lo, hi, i, n = 0;

	if (kad == NULL || target == NULL || out == NULL || count <= 0)
		return 0;
	t = kad_bucket_index(kad->self, target);
	for (g = 0; g < 2 + (KAD_BUCKETS - 1 - t) && n < count; g++) {
		if (g == 0) {
			lo = hi = t;
		} else if (g == 1) {
			if (t == 0)
				continue;
			lo = 0;
			hi = t - 1;
		} else
			lo = hi = t + g - 1;
		for (bi = next_nonempty(kad, lo); bi <= hi;
		    bi = next_nonempty(kad, bi + 1)) {
			b = &kad->b[bi];
			for (i = 0; i < b->n; i++) {
				if (exclude != NULL &&
				    memcmp(b->c[i].id, exclude, KAD_ID_BYTES) == 0)
					continue;
				if (filter != NULL && !filter(fctx, &b->c[i]))
					continue;
				closest_insert(target, out, &n, count, &b->c[i]);
			}
		}
	}
	return n;
}

/* ---- lookups (§7.4) ---- */

static int
lookup_index(const struct kad *kad, uint32_t id)
{
	int i;

	for (i = 0; i < KAD_MAX_LOOKUPS; i++)
		if (kad->lk[i] != NULL && kad->lk[i]->id == id)
			return i;
	return -1;
}

static int
env_usable(void *fctx, const struct kad_contact *c)
{
	struct kad *kad = fctx;

	return kad->env.usable == NULL || kad->env.usable(kad->env.ctx, c);
}

static struct kad_cand *
cand_find(struct kad_lookup *lk, const uint8_t *id)
{
	int i;

	for (i = 0; i < lk->n; i++)
		if (memcmp(lk->cand[i].c.id, id, KAD_ID_BYTES) == 0)
			return &lk->cand[i];
	for (i = 0; i < lk->n_store; i++)
		if (memcmp(lk->store[i].c.id, id, KAD_ID_BYTES) == 0)
			return &lk->store[i];
	return NULL;
}

static void
cand_init(struct kad_cand *k, const struct kad_contact *c, const uint8_t *via)
{
	memset(k, 0, sizeof(*k));
	k->c = *c;
	k->c.fails = 0;
	if (via != NULL) {
		memcpy(k->via, via, KAD_ID_BYTES);
		k->has_via = 1;
	}
	k->state = CAND_NEW;
	k->round = -1;
}

/*
 * Adds a contact to the candidate list, sorted by distance to the key.  A
 * full list drops its farthest candidate that is not in flight (in-flight
 * ones must stay to match their answers), or the newcomer if that is
 * farther.  Returns 1 if added.
 */
static int
cand_add(const struct kad *kad, struct kad_lookup *lk,
    const struct kad_contact *c, const uint8_t *via)
{
	int i, j;

	if (memcmp(c->id, kad->self, KAD_ID_BYTES) == 0 || cand_find(lk, c->id) != NULL)
		return 0;
	if (lk->n == KAD_LOOKUP_CANDIDATES) {
		for (j = lk->n - 1; j >= 0 && lk->cand[j].state == CAND_INFLIGHT; j--)
			;
		if (j < 0 || kad_distance_cmp(lk->key, c->id, lk->cand[j].c.id) >= 0)
			return 0;
		memmove(&lk->cand[j], &lk->cand[j + 1],
		    (size_t)(lk->n - j - 1) * sizeof(lk->cand[0]));
		lk->n--;
	}
	for (i = lk->n; i > 0 &&
	    kad_distance_cmp(lk->key, c->id, lk->cand[i - 1].c.id) < 0; i--)
		;
	memmove(&lk->cand[i + 1], &lk->cand[i], (size_t)(lk->n - i) * sizeof(lk->cand[0]));
	cand_init(&lk->cand[i], c, via);
	lk->n++;
	return 1;
}

static int
round_alloc(struct kad_lookup *lk)
{
	int i;

	for (i = 0; i < KAD_LOOKUP_MAX_ROUNDS; i++)
		if (!lk->rounds[i].active)
			return i;
	return -1;
}

/* Sends one query; 1 if it is now in flight. */
static int
send_one(struct kad *kad, struct kad_lookup *lk, struct kad_cand *k, int slot)
{
	struct kad_query q;

	q.to = &k->c;
	q.via = k->has_via ? k->via : NULL;
	q.kind = lk->kind;
	q.key = lk->key;
	q.lookup_id = lk->id;
	lk->queries++;
	kad->st.queries_sent++;
	k->sent_ms = now(kad);
	if (kad->env.send_find(kad->env.ctx, &q) != 0) {
		k->state = CAND_FAILED;
		lk->failures++;
		kad->st.failures++;
		table_failed(kad, k->c.id);
		return 0;
	}
	k->state = CAND_INFLIGHT;
	k->round = (int8_t)slot;
	return 1;
}

/*
 * Starts a round: up to alpha uncontacted candidates among the KAD_K
 * closest that have not failed (or, for a storing round, every new storing
 * contact).  Returns 1 if at least one query is in flight.
 */
static int
round_start(struct kad *kad, struct kad_lookup *lk, int level, int number,
    int storing)
{
	struct kad_round *r;
	int slot, i, seen, sent = 0;

	if ((slot = round_alloc(lk)) < 0)
		return 0;
	r = &lk->rounds[slot];
	if (storing) {
		for (i = 0; i < lk->n_store; i++) {
			if (lk->store[i].state != CAND_NEW ||
			    lk->queries >= KAD_LOOKUP_MAX_QUERIES)
				continue;
			sent += send_one(kad, lk, &lk->store[i], slot);
		}
	} else {
		for (i = 0, seen = 0; i < lk->n && seen < KAD_K && sent < KAD_ALPHA &&
		    lk->queries < KAD_LOOKUP_MAX_QUERIES; i++) {
			if (lk->cand[i].state == CAND_FAILED)
				continue;
			seen++;
			if (lk->cand[i].state == CAND_NEW)
				sent += send_one(kad, lk, &lk->cand[i], slot);
		}
	}
	if (sent == 0)
		return 0;
	memset(r, 0, sizeof(*r));
	r->active = 1;
	r->storing = (uint8_t)storing;
	r->level = (uint8_t)level;
	r->number = number;
	r->pending = sent;
	r->deadline = now(kad) + KAD_TIMEOUT_IR_MS;
	if (lk->n > 0)
		memcpy(r->first, lk->cand[0].c.id, KAD_ID_BYTES);
	lk->n_active++;
	if (number > lk->last_round)
		lk->last_round = number;
	return 1;
}

static void refresh_lookup_ended(struct kad *);

/*
 * Ends lookup i and reports it.  The lookup is freed before lookup_done runs,
 * so the callback may start lookups; callers must not touch it afterwards.
 */
static void
lookup_finish(struct kad *kad, int idx, int status, const struct kad_contact *found,
    const uint8_t *value, size_t vlen, int round)
{
	struct kad_lookup *lk = kad->lk[idx];
	struct kad_result res;
	int i, internal = lk->internal;

	memset(&res, 0, sizeof(res));
	res.lookup_id = lk->id;
	res.type = lk->type;
	res.status = status;
	memcpy(res.key, lk->key, KAD_ID_BYTES);
	if (found != NULL)
		res.found = *found;
	res.value = value;
	res.value_len = vlen;
	for (i = 0; i < lk->n && res.n_closest < KAD_K; i++)
		if (lk->cand[i].state == CAND_DONE)
			res.closest[res.n_closest++] = lk->cand[i].c;
	res.rounds = round > 0 ? round : lk->last_round;
	res.queries = lk->queries;
	res.replies = lk->replies;
	res.failures = lk->failures;
	res.elapsed_ms = now(kad) - lk->start_ms;

	free(lk);
	kad->lk[idx] = NULL;
	kad->n_lookups--;
	if (status == KAD_LOOKUP_FOUND && !internal)
		kad->st.lookups_found++;
	if (internal)
		refresh_lookup_ended(kad);
	else if (kad->env.lookup_done != NULL)
		kad->env.lookup_done(kad->env.ctx, &res);
}

/*
 * Round `slot` has no query in flight any more.  Without a child level (or
 * with nothing else running) it tries another round; the lookup ends when
 * no round is left.  Returns 1 if the lookup ended (and was freed).
 */
static int
round_end(struct kad *kad, int idx, int slot)
{
	struct kad_lookup *lk = kad->lk[idx];
	struct kad_round *r = &lk->rounds[slot];
	int spawned = r->spawned, level = r->level, number = r->number;

	r->active = 0;
	lk->n_active--;
	if (!spawned || lk->n_active == 0)
		round_start(kad, lk, level, number + 1, 0);
	if (lk->n_active > 0)
		return 0;
	lookup_finish(kad, idx, lk->queries >= KAD_LOOKUP_MAX_QUERIES ?
	    KAD_LOOKUP_EXHAUSTED : KAD_LOOKUP_NOT_FOUND, NULL, NULL, 0, 0);
	return 1;
}

int
kad_lookup_start(struct kad *kad, int type, const uint8_t key[KAD_ID_BYTES],
    uint32_t *lookup_id)
{
	struct kad_contact seed[KAD_K];
	struct kad_lookup *lk;
	int idx, i, n;

	if (kad == NULL || key == NULL ||
	    (type != KAD_LOOKUP_NODE && type != KAD_LOOKUP_VALUE))
		return KAD_ERR_ARG;
	for (idx = 0; idx < KAD_MAX_LOOKUPS && kad->lk[idx] != NULL; idx++)
		;
	if (idx == KAD_MAX_LOOKUPS)
		return KAD_ERR_BUSY;
	n = kad_closest(kad, key, KAD_K, env_usable, kad, NULL, seed);
	if (n == 0)
		return KAD_ERR_EMPTY;
	if ((lk = calloc(1, sizeof(*lk))) == NULL)
		return KAD_ERR_NOMEM;
	if (++kad->next_id == 0)
		kad->next_id = 1;
	lk->id = kad->next_id;
	lk->type = (uint8_t)type;
	if (type == KAD_LOOKUP_VALUE)
		lk->kind = KAD_FIND_VALUE;
	else if (memcmp(key, kad->self, KAD_ID_BYTES) == 0)
		lk->kind = KAD_FIND_SELF;
	else
		lk->kind = KAD_FIND_PEER;
	memcpy(lk->key, key, KAD_ID_BYTES);
	lk->start_ms = now(kad);
	lk->deadline_ms = lk->start_ms + KAD_TIMEOUT_SEARCH_MS;
	for (i = 0; i < n; i++)
		cand_add(kad, lk, &seed[i], NULL);
	kad->lk[idx] = lk;
	kad->n_lookups++;
	if (lookup_id != NULL)
		*lookup_id = lk->id;

	if (!round_start(kad, lk, 0, 1, 0)) {
		/* Every send failed: the lookup is over before it began. */
		kad->lk[idx] = NULL;
		kad->n_lookups--;
		free(lk);
		return KAD_ERR_EMPTY;
	}
	return KAD_OK;
}

/* Pointers to the answer's contacts sorted by distance to key (at most cap). */
static int
sorted_view(const uint8_t *key, const struct kad_contact *c, int n,
    const struct kad_contact **out, int cap)
{
	int i, j, m = 0;

	for (i = 0; i < n; i++) {
		if (m == cap && kad_distance_cmp(key, c[i].id, out[m - 1]->id) >= 0)
			continue;
		j = m < cap ? m : cap - 1;
		while (j > 0 && kad_distance_cmp(key, c[i].id, out[j - 1]->id) < 0) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = &c[i];
		if (m < cap)
			m++;
	}
	return m;
}

int
kad_lookup_on_reply(struct kad *kad, uint32_t lookup_id,
    const uint8_t from[KAD_ID_BYTES], const struct kad_reply *r)
{
	static const struct kad_reply empty;
	const struct kad_contact *view[KAD_K];
	struct kad_lookup *lk;
	struct kad_cand *k;
	struct kad_contact sender;
	struct kad_round *rd;
	uint8_t hash[BLAKE3_OUT_LEN];
	int idx, slot, i, n, added, number, stored;

	if (kad == NULL || from == NULL)
		return KAD_ERR_ARG;
	if (r == NULL)
		r = &empty;
	if ((idx = lookup_index(kad, lookup_id)) < 0)
		return KAD_ERR_NOLOOKUP;
	lk = kad->lk[idx];
	if ((k = cand_find(lk, from)) == NULL || k->state != CAND_INFLIGHT)
		return KAD_ERR_NOTQUERIED;
	slot = k->round;
	rd = &lk->rounds[slot];
	number = rd->number;
	k->state = CAND_DONE;
	k->round = -1;
	rd->pending--;
	lk->replies++;
	kad->st.replies++;
	table_answered(kad, from, now(kad) - k->sent_ms);
	sender = k->c;

	if (lk->type == KAD_LOOKUP_VALUE && r->value != NULL &&
	    r->value_len <= KAD_STORE_VALUE_MAX) {
		blake3_hash(r->value, r->value_len, hash);
		if (memcmp(hash, lk->key, KAD_ID_BYTES) == 0) {
			lookup_finish(kad, idx, KAD_LOOKUP_FOUND, &sender,
			    r->value, r->value_len, number);
			return KAD_OK;
		}
		kad->st.bad_values++;
	}
	if (lk->type == KAD_LOOKUP_NODE) {
		/* The target answered itself, or an answer names it. */
		if (memcmp(from, lk->key, KAD_ID_BYTES) == 0) {
			lookup_finish(kad, idx, KAD_LOOKUP_FOUND, &sender, NULL, 0,
			    number);
			return KAD_OK;
		}
		for (i = 0; i < r->n_closest; i++) {
			if (memcmp(r->closest[i].id, lk->key, KAD_ID_BYTES) == 0) {
				lookup_finish(kad, idx, KAD_LOOKUP_FOUND,
				    &r->closest[i], NULL, 0, number);
				return KAD_OK;
			}
		}
	}

	/* Like the reference, closest contacts named by storing nodes are ignored. */
	if (!rd->storing) {
		stored = 0;
		for (i = 0; lk->type == KAD_LOOKUP_VALUE && i < r->n_storing; i++) {
			if (lk->n_store == KAD_MAX_KNOWN_STORE)
				break;
			if (memcmp(r->storing[i].id, kad->self, KAD_ID_BYTES) == 0 ||
			    cand_find(lk, r->storing[i].id) != NULL)
				continue;
			cand_init(&lk->store[lk->n_store++], &r->storing[i], from);
			stored++;
		}
		if (stored > 0)
			round_start(kad, lk, rd->level, number + 1, 1);

		n = sorted_view(lk->key, r->closest, r->n_closest, view, KAD_K);
		for (i = 0, added = 0; i < n && added < KAD_MAX_CLOSEST; i++)
			added += cand_add(kad, lk, view[i], from);

		if (!rd->spawned && rd->level < KAD_MAX_LEVEL && lk->n > 0 &&
		    memcmp(lk->cand[0].c.id, rd->first, KAD_ID_BYTES) != 0 &&
		    round_start(kad, lk, rd->level + 1, number + 1, 0))
			rd->spawned = 1;
	}
	if (rd->pending == 0)
		round_end(kad, idx, slot);
	return KAD_OK;
}

/* A query of lookup idx failed; returns 1 if the lookup ended. */
static int
query_failed(struct kad *kad, int idx, struct kad_cand *k)
{
	struct kad_lookup *lk = kad->lk[idx];
	int slot = k->round;

	k->state = CAND_FAILED;
	k->round = -1;
	lk->failures++;
	kad->st.failures++;
	table_failed(kad, k->c.id);
	if (--lk->rounds[slot].pending == 0)
		return round_end(kad, idx, slot);
	return 0;
}

int
kad_lookup_on_failure(struct kad *kad, uint32_t lookup_id,
    const uint8_t from[KAD_ID_BYTES])
{
	struct kad_cand *k;
	int idx;

	if (kad == NULL || from == NULL)
		return KAD_ERR_ARG;
	if ((idx = lookup_index(kad, lookup_id)) < 0)
		return KAD_ERR_NOLOOKUP;
	if ((k = cand_find(kad->lk[idx], from)) == NULL || k->state != CAND_INFLIGHT)
		return KAD_ERR_NOTQUERIED;
	query_failed(kad, idx, k);
	return KAD_OK;
}

int
kad_lookup_cancel(struct kad *kad, uint32_t lookup_id)
{
	int idx, internal;

	if (kad == NULL)
		return KAD_ERR_ARG;
	if ((idx = lookup_index(kad, lookup_id)) < 0)
		return KAD_ERR_NOLOOKUP;
	internal = kad->lk[idx]->internal;
	free(kad->lk[idx]);
	kad->lk[idx] = NULL;
	kad->n_lookups--;
	if (internal)
		refresh_lookup_ended(kad);
	return KAD_OK;
}

int
kad_lookup_count(const struct kad *kad)
{
	return kad->n_lookups;
}

/* Fails every query of round `slot` still in flight; 1 if the lookup ended. */
static int
round_timeout(struct kad *kad, int idx, int slot)
{
	struct kad_lookup *lk = kad->lk[idx];
	struct kad_cand *k;
	int i, total = lk->n + lk->n_store, left = lk->rounds[slot].pending;

	/*
	 * The last failure ends the round, which may start a new one in the
	 * same slot: count, so that its fresh queries are left alone.
	 */
	for (i = 0; i < total && left > 0; i++) {
		k = i < lk->n ? &lk->cand[i] : &lk->store[i - lk->n];
		if (k->state != CAND_INFLIGHT || k->round != slot)
			continue;
		left--;
		if (query_failed(kad, idx, k))
			return 1;
	}
	return 0;
}

/* ---- refresh (§6.6, §7.6) ---- */

static void
refresh_pump(struct kad *kad)
{
	struct kad_lookup *lk;
	uint8_t key[KAD_ID_BYTES];
	uint32_t id;
	int b, rc, idx;

	for (b = 0; b < KAD_BUCKETS && kad->refresh_running < KAD_REFRESH_PARALLEL; b++) {
		if (!(kad->refresh_pending[b / 8] & (1 << (b % 8))))
			continue;
		if (b == 0)
			memcpy(key, kad->self, KAD_ID_BYTES);
		else
			random_id_in_bucket(kad, b, key);
		rc = kad_lookup_start(kad, KAD_LOOKUP_NODE, key, &id);
		if (rc == KAD_ERR_BUSY)
			return;		/* retried when a lookup ends */
		kad->refresh_pending[b / 8] &= ~(1 << (b % 8));
		if (rc != KAD_OK)
			continue;
		idx = lookup_index(kad, id);
		lk = kad->lk[idx];
		lk->internal = 1;
		kad->refresh_running++;
		kad->st.refresh_lookups++;
	}
	if (kad->refresh_running > 0)
		return;
	for (b = 0; b < KAD_BUCKETS / 8; b++)
		if (kad->refresh_pending[b] != 0)
			return;
	/* The round is over. */
	kad->refresh_active = 0;
	if (kad->flags & KAD_F_NO_REFRESH)
		kad->refresh_at = UINT64_MAX;
	else if (kad->boot_done < KAD_BOOT_REFRESHES &&
	    ++kad->boot_done < KAD_BOOT_REFRESHES)
		kad->refresh_at = now(kad) + KAD_BOOT_PAUSE_MS;
	else
		kad->refresh_at = now(kad) + KAD_REFRESH_MS;
}

static void
refresh_lookup_ended(struct kad *kad)
{
	if (kad->refresh_running > 0)
		kad->refresh_running--;
	if (kad->refresh_active)
		refresh_pump(kad);
}

/*
 * Marks the buckets to refresh: those under KAD_ALPHA contacts (all if
 * full), from the closest non-empty bucket up, plus bucket 0 as a lookup
 * of the own ID, which also stands for every bucket closer than the
 * closest non-empty one (random IDs there would all end at the same nodes).
 */
static void
refresh_mark(struct kad *kad, int full)
{
	int b, lowest;

	for (lowest = 0; lowest < KAD_BUCKETS && kad->b[lowest].n == 0; lowest++)
		;
	kad->refresh_pending[0] |= 1;
	for (b = lowest > 0 ? lowest : 1; b < KAD_BUCKETS; b++)
		if (full || kad->b[b].n < KAD_ALPHA)
			kad->refresh_pending[b / 8] |= 1 << (b % 8);
}

static void
refresh_begin(struct kad *kad)
{
	int full = kad->refresh_force_full;

	if (kad->boot_done >= KAD_BOOT_REFRESHES && !full)
		full = ++kad->periodic % KAD_REFRESH_FULL_EVERY == 0;
	kad->refresh_force_full = 0;
	kad->refresh_active = 1;
	kad->refresh_at = UINT64_MAX;
	kad->st.refresh_rounds++;
	refresh_mark(kad, full);
	refresh_pump(kad);
}

void
kad_refresh(struct kad *kad, int full)
{
	if (kad == NULL)
		return;
	if (kad->refresh_active) {
		refresh_mark(kad, full);
		refresh_pump(kad);
		return;
	}
	kad->refresh_force_full = full;
	kad->refresh_at = 0;
}

/* ---- timers ---- */

void
kad_tick(struct kad *kad)
{
	struct kad_lookup *lk;
	uint64_t t;
	int i, s;

	if (kad == NULL)
		return;
	t = now(kad);
	if (t >= kad->store_next) {
		kad_store_expire(kad->store, t);
		kad->store_next = kad_store_next_expiry(kad->store);
	}
	for (i = 0; i < KAD_MAX_LOOKUPS; i++) {
		if ((lk = kad->lk[i]) == NULL)
			continue;
		if (t >= lk->deadline_ms) {
			lookup_finish(kad, i, KAD_LOOKUP_TIMEOUT, NULL, NULL, 0, 0);
			continue;
		}
		for (s = 0; s < KAD_LOOKUP_MAX_ROUNDS; s++) {
			/* A lookup_done callback may have reused slot i. */
			if (kad->lk[i] != lk)
				break;
			if (lk->rounds[s].active && t >= lk->rounds[s].deadline &&
			    round_timeout(kad, i, s))
				break;
		}
	}
	if (!kad->refresh_active && t >= kad->refresh_at &&
	    kad->n_contacts >= KAD_BOOT_MIN_NODES)
		refresh_begin(kad);
}

uint64_t
kad_next_deadline(const struct kad *kad)
{
	const struct kad_lookup *lk;
	uint64_t d;
	int i, s, left;

	d = kad->store_next;
	if (!kad->refresh_active && kad->n_contacts >= KAD_BOOT_MIN_NODES &&
	    kad->refresh_at < d)
		d = kad->refresh_at;
	for (i = 0, left = kad->n_lookups; i < KAD_MAX_LOOKUPS && left > 0; i++) {
		if ((lk = kad->lk[i]) == NULL)
			continue;
		left--;
		if (lk->deadline_ms < d)
			d = lk->deadline_ms;
		for (s = 0; s < KAD_LOOKUP_MAX_ROUNDS; s++)
			if (lk->rounds[s].active && lk->rounds[s].deadline < d)
				d = lk->rounds[s].deadline;
	}
	return d;
}

/* ---- value store wrappers (the store itself is in kad_store.c) ---- */

int
kad_value_put(struct kad *kad, const uint8_t key[KAD_ID_BYTES],
    const void *data, size_t len, uint64_t ttl_ms)
{
	int rc;

	if (kad == NULL)
		return KAD_ERR_ARG;
	rc = kad_store_put(kad->store, key, data, len, now(kad), ttl_ms);
	kad->store_next = kad_store_next_expiry(kad->store);
	return rc;
}

int
kad_value_get(struct kad *kad, const uint8_t key[KAD_ID_BYTES],
    const uint8_t **data, size_t *len)
{
	if (kad == NULL)
		return KAD_ERR_ARG;
	return kad_store_get(kad->store, key, now(kad), data, len);
}

int
kad_value_del(struct kad *kad, const uint8_t key[KAD_ID_BYTES])
{
	if (kad == NULL)
		return KAD_ERR_ARG;
	return kad_store_del(kad->store, key);
}

int
kad_value_count(const struct kad *kad)
{
	return kad_store_count(kad->store);
}

size_t
kad_value_bytes(const struct kad *kad)
{
	return kad_store_bytes(kad->store);
}
