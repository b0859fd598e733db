/*
 * test_kad.c — the Kademlia module (netd/kad.c, netd/kad_store.c) on its own:
 * IDs and buckets, the full-bucket rules, closest selection against a brute
 * force, lookups in tiny hand-built universes driven by a fake clock and a
 * synchronous fake network, refresh scheduling, the value store and the caps.
 */
#include <stdlib.h>
#include <string.h>

#include "blake3.h"
#include "kad.h"
#include "splitmix.h"
#include "t.h"

/* ---- a tiny synchronous universe ---- */

#define TN_MAX		128
#define TN_QMAX		4096

struct tnet;

struct tnode {
	struct tnet	*net;
	struct kad	*kad;
	uint8_t		 id[KAD_ID_BYTES];
	int		 silent;	/* never answers */
	int		 fail_send;	/* send_find to this node fails */
	int		 bad_value;	/* answers FIND_VALUE with wrong data */
	int		 fresh;		/* answers with brand-new closer nodes */
};

struct tquery {
	int		from, to;
	uint8_t		to_id[KAD_ID_BYTES];
	uint8_t		kind;
	uint8_t		key[KAD_ID_BYTES];
	uint32_t	lookup_id;
};

struct tnet {
	uint64_t	 now;
	uint64_t	 rng;
	struct tnode	 n[TN_MAX];
	int		 nn;
	struct tquery	 q[TN_QMAX];
	int		 nq;
	int		 sent;
	int		 fresh_gen;
	int		 fresh_proxy;	/* answers for IDs outside the universe, -1 = none */
	struct {
		uint8_t	kind;
		uint8_t	key[KAD_ID_BYTES];
	}		 log[512];	/* every query sent */
	int		 nlog;
	/* last lookup_done */
	int		 done;
	struct kad_result res;
	uint8_t		 value[256];
};

static uint64_t
tn_rnd(struct tnet *t)
{
	return splitmix_next(&t->rng);
}

static void
tn_bytes(struct tnet *t, void *buf, size_t len)
{
	splitmix_fill(&t->rng, buf, len);
}

static uint64_t
env_now(void *ctx)
{
	return ((struct tnode *)ctx)->net->now;
}

static void
env_random(void *ctx, void *buf, size_t len)
{
	tn_bytes(((struct tnode *)ctx)->net, buf, len);
}

static int
tn_index(struct tnet *t, const uint8_t *id)
{
	int i;

	for (i = 0; i < t->nn; i++)
		if (memcmp(t->n[i].id, id, KAD_ID_BYTES) == 0)
			return i;
	return -1;
}

static int
env_send(void *ctx, const struct kad_query *q)
{
	struct tnode *me = ctx;
	struct tnet *t = me->net;
	struct tquery *x;
	int to = tn_index(t, q->to->id);

	t->sent++;
	if (t->nlog < 512) {
		t->log[t->nlog].kind = q->kind;
		memcpy(t->log[t->nlog].key, q->key, KAD_ID_BYTES);
		t->nlog++;
	}
	if (to < 0)
		to = t->fresh_proxy;
	if (to >= 0 && t->n[to].fail_send)
		return -1;
	if (t->nq == TN_QMAX)
		return -1;
	x = &t->q[t->nq++];
	x->from = (int)(me - t->n);
	x->to = to;
	memcpy(x->to_id, q->to->id, KAD_ID_BYTES);
	x->kind = q->kind;
	memcpy(x->key, q->key, KAD_ID_BYTES);
	x->lookup_id = q->lookup_id;
	return 0;
}

static void
env_done(void *ctx, const struct kad_result *r)
{
	struct tnet *t = ((struct tnode *)ctx)->net;

	t->done++;
	t->res = *r;
	if (r->value != NULL && r->value_len <= sizeof(t->value)) {
		memcpy(t->value, r->value, r->value_len);
		t->res.value = t->value;
	}
}

static void
tn_init(struct tnet *t, uint64_t seed)
{
	memset(t, 0, sizeof(*t));
	t->rng = seed;
	t->now = 1000;
	t->fresh_proxy = -1;
}

/* The fake clock, random and network of node n of t. */
static void
tn_env(struct tnet *t, struct tnode *n, struct kad_env *env)
{
	*env = (struct kad_env){ .now_ms = env_now, .random = env_random,
	    .send_find = env_send, .lookup_done = env_done, .ctx = n };
	n->net = t;
}

static int
tn_add(struct tnet *t, const uint8_t *id, unsigned flags)
{
	struct tnode *n = &t->n[t->nn];
	struct kad_env env;

	tn_env(t, n, &env);
	if (id != NULL)
		memcpy(n->id, id, KAD_ID_BYTES);
	else
		tn_bytes(t, n->id, KAD_ID_BYTES);
	if ((n->kad = kad_new(n->id, &env, flags | KAD_F_NO_REFRESH)) == NULL)
		return -1;
	return t->nn++;
}

static void
tn_free(struct tnet *t)
{
	int i;

	for (i = 0; i < t->nn; i++)
		kad_free(t->n[i].kad);
}

static void
mkcontact(const uint8_t *id, uint32_t rtt, struct kad_contact *c)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->id, id, KAD_ID_BYTES);
	c->peer_id[0] = 2;
	memcpy(c->peer_id + 1, id, KAD_ID_BYTES);
	c->ip4[0] = 127;
	c->ip4[3] = 1;
	c->port4 = c->port4_int = 112;
	c->rtt_ms = rtt;
}

/* a learns about b */
static void
tn_know(struct tnet *t, int a, int b)
{
	struct kad_contact c;

	mkcontact(t->n[b].id, 0, &c);
	kad_table_insert(t->n[a].kad, &c, NULL);
}

/*
 * Delivers queued queries one by one (FIFO) and their answers at once,
 * until nothing is queued.  Returns the number delivered.
 */
static int
tn_run(struct tnet *t)
{
	struct kad_contact out[KAD_ANSWER_COUNT];
	struct kad_reply rep;
	struct tquery q;
	struct tnode *to;
	const uint8_t *data;
	uint8_t bad[16];
	size_t len;
	int i, n, delivered = 0, head = 0;

	while (head < t->nq) {
		q = t->q[head++];
		if (q.to < 0 || t->n[q.to].silent)
			continue;
		to = &t->n[q.to];
		delivered++;
		memset(&rep, 0, sizeof(rep));
		n = 0;
		if (to->fresh) {
			/* Five never-seen nodes, each closer to the key than any before. */
			for (i = 0; i < KAD_ANSWER_COUNT; i++) {
				uint8_t id[KAD_ID_BYTES];
				int z = 8 + t->fresh_gen / 4;

				tn_bytes(t, id, sizeof(id));
				if (z > 240)
					z = 240;
				memcpy(id, q.key, (size_t)z / 8);
				id[z / 8] = (uint8_t)((q.key[z / 8] & ~(0xffu >> (z % 8))) |
				    (id[z / 8] & (0xffu >> (z % 8))));
				mkcontact(id, 0, &out[n++]);
			}
			t->fresh_gen++;
		} else if (q.kind == KAD_FIND_VALUE && to->bad_value) {
			memset(bad, 0xab, sizeof(bad));
			rep.value = bad;
			rep.value_len = sizeof(bad);
		} else if (q.kind == KAD_FIND_VALUE &&
		    kad_value_get(to->kad, q.key, &data, &len) == KAD_OK) {
			rep.value = data;
			rep.value_len = len;
		} else {
			n = kad_closest(to->kad, q.kind == KAD_FIND_SELF ?
			    t->n[q.from].id : q.key, KAD_ANSWER_COUNT, NULL, NULL,
			    t->n[q.from].id, out);
		}
		rep.closest = out;
		rep.n_closest = n;
		kad_lookup_on_reply(t->n[q.from].kad, q.lookup_id, q.to_id, &rep);
	}
	t->nq = 0;
	return delivered;
}

/* ---- IDs and distance ---- */

static void
test_bucket_index_of_known_ids(void)
{
	uint8_t self[KAD_ID_BYTES], id[KAD_ID_BYTES];
	int bit;

	memset(self, 0, sizeof(self));
	memset(id, 0, sizeof(id));
	T_EQ_INT(kad_bucket_index(self, id), 0);	/* equal IDs */
	id[0] = 0x80;
	T_EQ_INT(kad_bucket_index(self, id), 255);	/* MSB differs: farthest half */
	id[0] = 0x01;
	T_EQ_INT(kad_bucket_index(self, id), 248);
	id[0] = 0;
	id[1] = 0x40;					/* bit 9 */
	T_EQ_INT(kad_bucket_index(self, id), 246);
	id[1] = 0;
	id[31] = 0x01;					/* last bit */
	T_EQ_INT(kad_bucket_index(self, id), 0);
	id[31] = 0x03;
	T_EQ_INT(kad_bucket_index(self, id), 1);

	/* Every single-bit difference from an arbitrary ID. */
	for (bit = 0; bit < KAD_ID_BYTES; bit++)
		self[bit] = (uint8_t)(bit * 37 + 11);
	for (bit = 0; bit < KAD_ID_BITS; bit++) {
		memcpy(id, self, sizeof(id));
		id[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
		id[31] ^= bit < 255 ? 0x01 : 0;	/* lower bits do not matter */
		if (kad_bucket_index(self, id) != 255 - bit)
			T_FAIL("bit %d: bucket %d, expected %d", bit,
			    kad_bucket_index(self, id), 255 - bit);
	}
}

static void
test_distance_is_xor_compared_big_endian(void)
{
	uint8_t t[KAD_ID_BYTES], a[KAD_ID_BYTES], b[KAD_ID_BYTES], x[KAD_ID_BYTES];

	memset(t, 0xff, sizeof(t));
	memset(a, 0xff, sizeof(a));
	memset(b, 0xff, sizeof(b));
	a[31] = 0x00;		/* distance 0xff in the last byte */
	b[0] = 0xfe;		/* distance 1 in the first byte */
	T_ASSERT(kad_distance_cmp(t, a, b) < 0);
	T_ASSERT(kad_distance_cmp(t, b, a) > 0);
	T_EQ_INT(kad_distance_cmp(t, a, a), 0);
	kad_xor(a, b, x);
	T_EQ_INT(x[0], 0x01);
	T_EQ_INT(x[15], 0x00);
	T_EQ_INT(x[31], 0xff);
}

/* ---- routing table ---- */

/* An ID in bucket 255 of an all-zero self: MSB set, the rest from `low`. */
static void
far_id(uint8_t id[KAD_ID_BYTES], uint32_t low)
{
	memset(id, 0, KAD_ID_BYTES);
	id[0] = 0x80;
	id[28] = (uint8_t)(low >> 24);
	id[29] = (uint8_t)(low >> 16);
	id[30] = (uint8_t)(low >> 8);
	id[31] = (uint8_t)low;
}

/* Inserts the contact far_id(low) of RTT rtt into k: kad_table_insert's result. */
static int
far_insert(struct kad *k, uint32_t low, uint32_t rtt, int *how)
{
	struct kad_contact c;
	uint8_t id[KAD_ID_BYTES];

	far_id(id, low);
	mkcontact(id, rtt, &c);
	return kad_table_insert(k, &c, how);
}

/* kad_table_get of the contact far_id(low). */
static int
far_get(struct kad *k, uint32_t low, struct kad_contact *c)
{
	uint8_t id[KAD_ID_BYTES];

	far_id(id, low);
	return kad_table_get(k, id, c);
}

/*
 * Node 0 of t, all-zero ID (flags as kad_new's), with a full bucket 255:
 * the KAD_K contacts far_id(first), far_id(first + 1)... of RTT rtt, oldest
 * first.
 */
static void
tn_full_bucket(struct tnet *t, unsigned flags, uint32_t first, uint32_t rtt)
{
	uint8_t zero[KAD_ID_BYTES] = { 0 };
	int i, how = -1;

	tn_init(t, 1);
	T_ASSERT(tn_add(t, zero, flags) == 0);
	for (i = 0; i < KAD_K; i++) {
		T_EQ_INT(far_insert(t->n[0].kad, first + (uint32_t)i, rtt, &how),
		    KAD_OK);
		T_EQ_INT(how, KAD_INS_ADDED);
	}
	T_EQ_INT(kad_bucket_count(t->n[0].kad, 255), KAD_K);
}

static void
test_full_bucket_evicts_oldest_of_unknown_rtt(void)
{
	struct tnet t;
	struct kad *k;
	int how = -1;

	T_DO(tn_full_bucket(&t, 0, 1, 0));
	k = t.n[0].kad;
	T_EQ_INT(far_insert(k, 1000, 0, &how), KAD_OK);
	T_EQ_INT(how, KAD_INS_EVICTED);
	T_EQ_INT(kad_bucket_count(k, 255), KAD_K);
	T_EQ_INT(kad_table_count(k), KAD_K);
	T_EQ_INT(far_get(k, 1, NULL), KAD_ERR_NOTFOUND);	/* the oldest is gone */
	T_EQ_INT(far_get(k, 1000, NULL), KAD_OK);
	T_EQ_INT(kad_table_insert(k, &(struct kad_contact){ .id = { 0 } }, NULL),
	    KAD_ERR_SELF);
	tn_free(&t);
}

static void
test_full_bucket_keeps_faster_oldest(void)
{
	struct tnet t;
	struct kad *k;
	struct kad_contact c;
	int how = -1;

	T_DO(tn_full_bucket(&t, 0, 1, 50));
	k = t.n[0].kad;
	/* slower than the oldest: dropped */
	T_EQ_INT(far_insert(k, 2000, 80, &how), KAD_OK);
	T_EQ_INT(how, KAD_INS_DROPPED);
	T_EQ_INT(far_get(k, 2000, NULL), KAD_ERR_NOTFOUND);
	/* faster: replaces the oldest */
	T_EQ_INT(far_insert(k, 2000, 30, &how), KAD_OK);
	T_EQ_INT(how, KAD_INS_EVICTED);
	T_EQ_INT(far_get(k, 2000, &c), KAD_OK);
	T_EQ_INT(c.rtt_ms, 30);
	T_EQ_INT(far_get(k, 1, NULL), KAD_ERR_NOTFOUND);
	tn_free(&t);
}

/* Unknown new RTT vs known oldest RTT: the distance to self decides. */
static void
test_full_bucket_tiebreak_by_distance(void)
{
	struct tnet t;
	int how, ref;

	for (ref = 0; ref < 2; ref++) {
		/* Oldest = 0x80..0010, then 19 others; newcomer 0x80..0001 is closer. */
		T_DO(tn_full_bucket(&t, ref ? KAD_F_EVICT_REFERENCE : 0, 16, 40));
		T_EQ_INT(far_insert(t.n[0].kad, 1, 0, &how), KAD_OK);
		/* README intent keeps the closer newcomer; the reference keeps the oldest. */
		T_EQ_INT(how, ref ? KAD_INS_DROPPED : KAD_INS_EVICTED);
		/* A farther newcomer: the reference evicts the (closer) oldest. */
		T_EQ_INT(far_insert(t.n[0].kad, 5000, 0, &how), KAD_OK);
		T_EQ_INT(how, ref ? KAD_INS_EVICTED : KAD_INS_DROPPED);
		tn_free(&t);
	}
}

static void
test_reinserted_contact_moves_to_tail(void)
{
	struct tnet t;
	struct kad *k;
	struct kad_contact c;
	uint8_t id[KAD_ID_BYTES];
	int how = -1;

	T_DO(tn_full_bucket(&t, 0, 1, 0));
	k = t.n[0].kad;
	far_id(id, 1);			/* the oldest is seen again */
	mkcontact(id, 25, &c);
	c.port4 = 4242;
	T_EQ_INT(kad_table_insert(k, &c, &how), KAD_OK);
	T_EQ_INT(how, KAD_INS_UPDATED);
	T_EQ_INT(kad_table_count(k), KAD_K);
	/* evicts the new oldest, #2 */
	T_EQ_INT(far_insert(k, 3000, 0, &how), KAD_OK);
	T_EQ_INT(how, KAD_INS_EVICTED);
	T_EQ_INT(far_get(k, 1, &c), KAD_OK);
	T_EQ_INT(c.port4, 4242);
	T_EQ_INT(c.rtt_ms, 25);
	T_EQ_INT(far_get(k, 2, NULL), KAD_ERR_NOTFOUND);
	far_id(id, 2);
	T_EQ_INT(kad_table_remove(k, id), KAD_ERR_NOTFOUND);
	far_id(id, 1);
	T_EQ_INT(kad_table_remove(k, id), KAD_OK);
	T_EQ_INT(kad_table_count(k), KAD_K - 1);
	tn_free(&t);
}

/* A contact whose query failed is replaced before the RTT rule applies. */
static void
test_full_bucket_replaces_failing_contact_first(void)
{
	struct tnet t;
	struct kad *k;
	struct kad_contact got;
	uint8_t id[KAD_ID_BYTES];
	uint32_t lid;
	int how = -1, dead;

	/* all fast: the RTT rule would drop */
	T_DO(tn_full_bucket(&t, 0, 1, 10));
	k = t.n[0].kad;
	/* Node #7 exists in the universe but cannot be sent to. */
	far_id(id, 7);
	dead = tn_add(&t, id, 0);
	t.n[dead].fail_send = 1;
	T_EQ_INT(kad_lookup_start(k, KAD_LOOKUP_NODE, id, &lid), KAD_OK);
	T_EQ_INT(kad_table_get(k, id, &got), KAD_OK);
	T_EQ_INT(got.fails, 1);
	T_EQ_INT(far_insert(k, 9000, 90, &how), KAD_OK);
	T_EQ_INT(how, KAD_INS_EVICTED);
	T_EQ_INT(far_get(k, 7, NULL), KAD_ERR_NOTFOUND);
	T_EQ_INT(far_get(k, 1, NULL), KAD_OK);
	tn_free(&t);
}

static void
test_table_bounded_after_100k_inserts(void)
{
	struct tnet t;
	struct kad *k;
	struct kad_contact c;
	static int offered[KAD_BUCKETS];
	int i, b, want = 0;

	tn_init(&t, 7);
	T_ASSERT(tn_add(&t, NULL, 0) == 0);
	k = t.n[0].kad;
	memset(offered, 0, sizeof(offered));
	for (i = 0; i < 100000; i++) {
		memset(&c, 0, sizeof(c));
		tn_bytes(&t, c.id, KAD_ID_BYTES);
		c.rtt_ms = (uint32_t)(tn_rnd(&t) % 3);	/* some unknown, some known */
		T_EQ_INT(kad_table_insert(k, &c, NULL), KAD_OK);
		offered[kad_bucket_index(t.n[0].id, c.id)]++;
	}
	for (b = 0; b < KAD_BUCKETS; b++) {
		int exp = offered[b] < KAD_K ? offered[b] : KAD_K;

		if (kad_bucket_count(k, b) != exp)
			T_FAIL("bucket %d holds %d, expected %d", b,
			    kad_bucket_count(k, b), exp);
		want += exp;
	}
	T_EQ_INT(kad_table_count(k), want);
	T_ASSERT(kad_table_count(k) <= KAD_BUCKETS * KAD_K);
	T_ASSERT(want >= 12 * KAD_K);	/* buckets 244..255 got >= 24 offers each */
	tn_free(&t);
}

/* ---- closest selection ---- */

static const uint8_t *sort_target;

static int
cmp_dist(const void *a, const void *b)
{
	return kad_distance_cmp(sort_target, a, b);
}

static int
filter_even(void *fctx, const struct kad_contact *c)
{
	(void)fctx;
	return (c->id[5] & 1) == 0;
}

static void
test_closest_matches_bruteforce_on_1000_contacts(void)
{
	struct tnet t;
	struct kad *k;
	struct kad_contact c, out[KAD_K + 5];
	uint8_t (*ids)[KAD_ID_BYTES], (*sorted)[KAD_ID_BYTES], target[KAD_ID_BYTES];
	int i, j, n, m, how, trial, filt, cnt;

	tn_init(&t, 99);
	T_ASSERT(tn_add(&t, NULL, 0) == 0);
	k = t.n[0].kad;
	ids = calloc(1000, KAD_ID_BYTES);
	sorted = calloc(1000, KAD_ID_BYTES);
	T_ASSERT(ids != NULL && sorted != NULL);
	/*
	 * Spread over all buckets (uniform random IDs would fill only the far
	 * ones): ID = self with bit p flipped and random bits below it.
	 */
	for (i = 0; i < 1000; i++) {
		int p = (int)(tn_rnd(&t) % 175) + 56;	/* >= 25 random bits: no duplicates */
		memcpy(ids[i], t.n[0].id, KAD_ID_BYTES);
		tn_bytes(&t, target, KAD_ID_BYTES);
		for (j = p + 1; j < KAD_ID_BITS; j++)
			if (target[j / 8] & (0x80 >> (j % 8)))
				ids[i][j / 8] ^= (uint8_t)(0x80 >> (j % 8));
		ids[i][p / 8] ^= (uint8_t)(0x80 >> (p % 8));
		mkcontact(ids[i], 0, &c);
		T_EQ_INT(kad_table_insert(k, &c, &how), KAD_OK);
		T_EQ_INT(how, KAD_INS_ADDED);
	}
	T_EQ_INT(kad_table_count(k), 1000);

	for (trial = 0; trial < 400; trial++) {
		filt = trial % 2;
		cnt = trial % 3 == 0 ? KAD_K : (trial % 3 == 1 ? KAD_ANSWER_COUNT : 1);
		if (trial < 100)
			tn_bytes(&t, target, KAD_ID_BYTES);
		else if (trial < 200) {		/* near self */
			memcpy(target, t.n[0].id, KAD_ID_BYTES);
			target[31 - (trial % 20)] ^= (uint8_t)tn_rnd(&t);
		} else if (trial < 210)
			memcpy(target, t.n[0].id, KAD_ID_BYTES);
		else				/* a contact itself */
			memcpy(target, ids[tn_rnd(&t) % 1000], KAD_ID_BYTES);
		sort_target = target;
		for (i = 0, m = 0; i < 1000; i++) {
			if (trial >= 210 && memcmp(ids[i], ids[0], KAD_ID_BYTES) == 0)
				continue;	/* excluded below */
			if (filt && (ids[i][5] & 1))
				continue;
			memcpy(sorted[m++], ids[i], KAD_ID_BYTES);
		}
		qsort(sorted, (size_t)m, KAD_ID_BYTES, cmp_dist);
		n = kad_closest(k, target, cnt, filt ? filter_even : NULL, NULL,
		    trial >= 210 ? ids[0] : NULL, out);
		if (n != (m < cnt ? m : cnt))
			T_FAIL("trial %d: %d contacts, expected %d", trial, n, cnt);
		for (i = 0; i < n; i++)
			if (memcmp(out[i].id, sorted[i], KAD_ID_BYTES) != 0)
				T_FAIL("trial %d: contact %d differs from brute force", trial, i);
	}
	free(ids);
	free(sorted);
	tn_free(&t);
}

/* ---- lookups ---- */

/* ID = base with one bit flipped: distance to base is 2^(255 - bit). */
static void
flip_id(const uint8_t *base, int bit, uint8_t *out)
{
	memcpy(out, base, KAD_ID_BYTES);
	out[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
}

/* Adds a node whose ID is base with bit flipped (flip_id): its index. */
static int
tn_flip(struct tnet *t, const uint8_t *base, int bit)
{
	uint8_t id[KAD_ID_BYTES];

	flip_id(base, bit, id);
	return tn_add(t, id, 0);
}

/* tn_flip, and node S learns about the new node: its index. */
static int
tn_flip_known(struct tnet *t, int S, const uint8_t *base, int bit)
{
	int n = tn_flip(t, base, bit);

	if (n >= 0)
		tn_know(t, S, n);
	return n;
}

/*
 * count nodes tn_flip_known(base, first), (base, first + step)..., each
 * behaving as `like` says (silent, bad_value...; NULL: well): 0, or -1.
 */
static int
tn_flip_known_run(struct tnet *t, int S, const uint8_t *base, int first,
    int step, int count, const struct tnode *like)
{
	struct tnode *n;
	int i;

	for (i = 0; i < count; i++) {
		if (tn_flip_known(t, S, base, first + i * step) != t->nn - 1)
			return -1;
		n = &t->n[t->nn - 1];
		if (like != NULL) {
			n->silent = like->silent;
			n->fail_send = like->fail_send;
			n->bad_value = like->bad_value;
			n->fresh = like->fresh;
		}
	}
	return 0;
}

/*
 * A universe of seed whose node 0 has the random ID tid and node i (1..n)
 * the ID tid with bit bits[i - 1] flipped: 0, or -1.
 */
static int
tn_around(struct tnet *t, uint64_t seed, uint8_t *tid, const int *bits, int n)
{
	int i;

	tn_init(t, seed);
	tn_bytes(t, tid, KAD_ID_BYTES);
	if (tn_add(t, tid, 0) != 0)
		return -1;
	for (i = 0; i < n; i++)
		if (tn_flip(t, tid, bits[i]) != i + 1)
			return -1;
	return 0;
}

/* A universe of seed with a random key and its node S, key ^ bit: S. */
static int
tn_start(struct tnet *t, uint64_t seed, uint8_t *key, int bit)
{
	tn_init(t, seed);
	tn_bytes(t, key, KAD_ID_BYTES);
	return tn_flip(t, key, bit);
}

/*
 * S knows only A, A only B, B only C, C only T; each step is closer to T.
 * FIND_NODE(T) from S must take exactly 3 rounds and 3 queries: A names B,
 * B names C, C names T.
 */
static void
test_lookup_chain_takes_one_round_per_hop(void)
{
	struct tnet t;
	uint8_t tid[KAD_ID_BYTES];
	uint32_t lid = 0;
	enum { T, C, B, A, S };

	T_ASSERT(tn_around(&t, 3, tid, (const int[]){ 200, 100, 50, 0 }, S) == 0);
	tn_know(&t, S, A);
	tn_know(&t, A, B);
	tn_know(&t, B, C);
	tn_know(&t, C, T);

	T_EQ_INT(kad_lookup_start(t.n[S].kad, KAD_LOOKUP_NODE, tid, &lid), KAD_OK);
	T_ASSERT(lid != 0);
	T_EQ_INT(t.q[0].kind, KAD_FIND_PEER);
	T_EQ_INT(tn_run(&t), 3);
	T_EQ_INT(t.done, 1);
	T_EQ_INT(t.res.lookup_id, lid);
	T_EQ_INT(t.res.status, KAD_LOOKUP_FOUND);
	T_EQ_MEM(t.res.found.id, tid, KAD_ID_BYTES);
	T_EQ_INT(t.res.rounds, 3);
	T_EQ_INT(t.res.queries, 3);
	T_EQ_INT(t.res.replies, 3);
	T_EQ_INT(kad_lookup_count(t.n[S].kad), 0);
	tn_free(&t);
}

/*
 * S knows A and a silent X.  A names the closer B, B names T: B is asked at
 * once (a child level), not after X's round timed out.
 */
static void
test_closer_answer_starts_next_round_without_waiting(void)
{
	struct tnet t;
	uint8_t tid[KAD_ID_BYTES];
	uint32_t lid;
	enum { T, B, A, X, S };

	T_ASSERT(tn_around(&t, 15, tid, (const int[]){ 150, 60, 61, 0 }, S) == 0);
	t.n[X].silent = 1;
	tn_know(&t, S, A);
	tn_know(&t, S, X);
	tn_know(&t, A, B);
	tn_know(&t, B, T);
	T_EQ_INT(kad_lookup_start(t.n[S].kad, KAD_LOOKUP_NODE, tid, &lid), KAD_OK);
	tn_run(&t);
	T_EQ_INT(t.done, 1);			/* no kad_tick, no clock change */
	T_EQ_INT(t.res.status, KAD_LOOKUP_FOUND);
	T_EQ_INT(t.res.rounds, 2);
	T_EQ_INT(t.res.queries, 3);
	T_EQ_INT(t.res.failures, 0);
	tn_free(&t);
}

/* Asking the target itself is success even though it never names itself. */
static void
test_lookup_succeeds_when_target_answers(void)
{
	struct tnet t;
	uint8_t tid[KAD_ID_BYTES];
	uint32_t lid;
	enum { T, S };

	T_ASSERT(tn_around(&t, 16, tid, (const int[]){ 9 }, S) == 0);
	tn_know(&t, S, T);
	tn_know(&t, T, S);
	T_EQ_INT(kad_lookup_start(t.n[S].kad, KAD_LOOKUP_NODE, tid, &lid), KAD_OK);
	T_EQ_INT(tn_run(&t), 1);
	T_EQ_INT(t.done, 1);
	T_EQ_INT(t.res.status, KAD_LOOKUP_FOUND);
	T_EQ_MEM(t.res.found.id, tid, KAD_ID_BYTES);
	T_EQ_INT(t.res.rounds, 1);
	tn_free(&t);
}

/* 32 nodes that all know each other: one round, the target is named at once. */
static void
test_lookup_full_mesh_finds_in_one_round(void)
{
	struct tnet t;
	uint32_t lid;
	int i, j, target;

	tn_init(&t, 4);
	for (i = 0; i < 32; i++)
		T_ASSERT(tn_add(&t, NULL, 0) == i);
	for (i = 0; i < 32; i++)
		for (j = 0; j < 32; j++)
			if (i != j)
				tn_know(&t, i, j);
	for (target = 1; target < 32; target++) {
		t.done = 0;
		T_EQ_INT(kad_lookup_start(t.n[0].kad, KAD_LOOKUP_NODE, t.n[target].id,
		    &lid), KAD_OK);
		tn_run(&t);
		T_EQ_INT(t.done, 1);
		T_EQ_INT(t.res.status, KAD_LOOKUP_FOUND);
		T_EQ_INT(t.res.rounds, 1);
		T_EQ_MEM(t.res.found.id, t.n[target].id, KAD_ID_BYTES);
	}
	/* The own ID is looked up with FIND_SELF and ends "not found". */
	t.done = 0;
	T_EQ_INT(kad_lookup_start(t.n[0].kad, KAD_LOOKUP_NODE, t.n[0].id, &lid), KAD_OK);
	T_EQ_INT(t.q[0].kind, KAD_FIND_SELF);
	tn_run(&t);
	T_EQ_INT(t.done, 1);
	T_EQ_INT(t.res.status, KAD_LOOKUP_NOT_FOUND);
	T_EQ_INT(t.res.n_closest, KAD_K);
	for (i = 1; i < t.res.n_closest; i++)
		T_ASSERT(kad_distance_cmp(t.n[0].id, t.res.closest[i - 1].id,
		    t.res.closest[i].id) < 0);
	tn_free(&t);
}

/* A value lookup stops at the first node that returns the value. */
static void
test_value_lookup_stops_when_value_found(void)
{
	struct tnet t;
	uint8_t data[40], key[KAD_ID_BYTES];
	uint32_t lid;
	int S, holder = -1;

	tn_init(&t, 5);
	memset(data, 0x5a, sizeof(data));
	blake3_hash(data, sizeof(data), key);
	S = tn_flip(&t, key, 3);
	/* Ten nodes; the one closest to the key holds the value. */
	T_ASSERT(tn_flip_known_run(&t, S, key, 20, 10, 10, NULL) == 0);
	holder = t.nn - 1;			/* bit 110: the closest */
	T_EQ_INT(kad_value_put(t.n[holder].kad, key, data, sizeof(data), 0), KAD_OK);
	T_EQ_INT(kad_lookup_start(t.n[S].kad, KAD_LOOKUP_VALUE, key, &lid), KAD_OK);
	T_EQ_INT(t.nq, KAD_ALPHA);
	T_EQ_INT(t.q[0].kind, KAD_FIND_VALUE);
	T_EQ_INT(t.q[0].to, holder);		/* closest first */
	tn_run(&t);
	T_EQ_INT(t.done, 1);
	T_EQ_INT(t.res.status, KAD_LOOKUP_FOUND);
	T_EQ_INT(t.res.rounds, 1);
	T_EQ_INT(t.res.queries, KAD_ALPHA);
	T_EQ_INT(t.res.replies, 1);		/* the rest came too late */
	T_EQ_INT((int)t.res.value_len, (int)sizeof(data));
	T_EQ_MEM(t.res.value, data, sizeof(data));
	T_EQ_MEM(t.res.found.id, t.n[holder].id, KAD_ID_BYTES);
	tn_free(&t);
}

/* Data whose hash is not the key is no answer: the lookup goes on. */
static void
test_value_lookup_rejects_data_not_matching_key(void)
{
	struct tnet t;
	struct kad_stats st;
	uint8_t key[KAD_ID_BYTES];
	uint32_t lid;
	int S;

	S = tn_start(&t, 6, key, 3);
	T_ASSERT(tn_flip_known_run(&t, S, key, 40, 1, 3,
	    &(struct tnode){ .bad_value = 1 }) == 0);
	T_EQ_INT(kad_lookup_start(t.n[S].kad, KAD_LOOKUP_VALUE, key, &lid), KAD_OK);
	tn_run(&t);
	T_EQ_INT(t.done, 1);
	T_EQ_INT(t.res.status, KAD_LOOKUP_NOT_FOUND);
	T_ASSERT(t.res.value == NULL);
	kad_get_stats(t.n[S].kad, &st);
	T_EQ_U64(st.bad_values, 3);
	tn_free(&t);
}

/* Silent nodes: the round ends at KAD_TIMEOUT_IR_MS, driven by kad_tick. */
static void
test_round_timeout_on_fake_clock(void)
{
	struct tnet t;
	uint8_t key[KAD_ID_BYTES];
	uint32_t lid;
	uint64_t t0;
	int S, A, B;

	S = tn_start(&t, 8, key, 1);
	A = tn_flip_known(&t, S, key, 30);
	B = tn_flip_known(&t, S, key, 31);
	T_ASSERT(S >= 0 && A >= 0 && B >= 0);
	t.n[A].silent = 1;
	t0 = t.now;
	T_EQ_INT(kad_lookup_start(t.n[S].kad, KAD_LOOKUP_NODE, key, &lid), KAD_OK);
	T_EQ_U64(kad_next_deadline(t.n[S].kad), t0 + KAD_TIMEOUT_IR_MS);
	tn_run(&t);
	T_EQ_INT(t.done, 0);			/* A has not answered */
	t.now = t0 + KAD_TIMEOUT_IR_MS - 1;
	kad_tick(t.n[S].kad);
	T_EQ_INT(t.done, 0);
	t.now = t0 + KAD_TIMEOUT_IR_MS;
	kad_tick(t.n[S].kad);
	T_EQ_INT(t.done, 1);
	T_EQ_INT(t.res.status, KAD_LOOKUP_NOT_FOUND);
	T_EQ_INT(t.res.failures, 1);
	T_EQ_INT(t.res.replies, 1);
	T_EQ_U64(t.res.elapsed_ms, KAD_TIMEOUT_IR_MS);
	T_EQ_U64(kad_next_deadline(t.n[S].kad), UINT64_MAX);
	/* A late answer is refused. */
	T_EQ_INT(kad_lookup_on_reply(t.n[S].kad, lid, t.n[A].id, NULL), KAD_ERR_NOLOOKUP);
	tn_free(&t);
}

/* Ten silent nodes: two rounds of five, then the whole lookup times out. */
static void
test_lookup_times_out_after_search_timeout(void)
{
	struct tnet t;
	struct kad_contact c;
	uint8_t key[KAD_ID_BYTES];
	uint32_t lid;
	uint64_t t0;
	int S;

	S = tn_start(&t, 9, key, 1);
	T_ASSERT(tn_flip_known_run(&t, S, key, 30, 1, 10,
	    &(struct tnode){ .silent = 1 }) == 0);
	t0 = t.now;
	T_EQ_INT(kad_lookup_start(t.n[S].kad, KAD_LOOKUP_NODE, key, &lid), KAD_OK);
	T_EQ_INT(t.sent, KAD_ALPHA);
	tn_run(&t);
	t.now = t0 + KAD_TIMEOUT_IR_MS;
	kad_tick(t.n[S].kad);
	T_EQ_INT(t.sent, 2 * KAD_ALPHA);		/* the next five */
	T_EQ_INT(t.done, 0);
	T_EQ_U64(kad_next_deadline(t.n[S].kad), t0 + KAD_TIMEOUT_SEARCH_MS);
	t.now = t0 + KAD_TIMEOUT_SEARCH_MS;
	kad_tick(t.n[S].kad);
	T_EQ_INT(t.done, 1);
	T_EQ_INT(t.res.status, KAD_LOOKUP_TIMEOUT);
	T_EQ_INT(t.res.queries, 2 * KAD_ALPHA);
	T_EQ_INT(t.res.failures, KAD_ALPHA);
	T_EQ_INT(t.res.rounds, 2);
	/* Round 1 (the 5 closest, bits 35..39) failed once: still in the table, marked. */
	T_EQ_INT(kad_table_get(t.n[S].kad, t.n[10].id, &c), KAD_OK);
	T_EQ_INT(c.fails, 1);
	T_EQ_INT(kad_table_get(t.n[S].kad, t.n[1].id, &c), KAD_OK);
	T_EQ_INT(c.fails, 0);
	tn_free(&t);
}

/* KAD_STALE_FAILS unanswered queries in a row remove a table contact. */
static void
test_contact_removed_after_repeated_failures(void)
{
	struct tnet t;
	uint8_t key[KAD_ID_BYTES];
	uint32_t lid;
	int S, A, B, i;

	S = tn_start(&t, 10, key, 1);
	A = tn_flip_known(&t, S, key, 30);
	B = tn_flip_known(&t, S, key, 31);
	for (i = 0; i < KAD_STALE_FAILS; i++) {
		T_EQ_INT(kad_table_get(t.n[S].kad, t.n[A].id, NULL), KAD_OK);
		T_EQ_INT(kad_lookup_start(t.n[S].kad, KAD_LOOKUP_NODE, key, &lid), KAD_OK);
		t.nq = 0;				/* nothing is delivered */
		T_EQ_INT(kad_lookup_on_failure(t.n[S].kad, lid, t.n[A].id), KAD_OK);
		T_EQ_INT(kad_lookup_on_failure(t.n[S].kad, lid, t.n[A].id),
		    KAD_ERR_NOTQUERIED);
		T_EQ_INT(kad_lookup_on_reply(t.n[S].kad, lid, t.n[B].id, NULL), KAD_OK);
	}
	T_EQ_INT(kad_table_get(t.n[S].kad, t.n[A].id, NULL), KAD_ERR_NOTFOUND);
	T_EQ_INT(kad_table_get(t.n[S].kad, t.n[B].id, NULL), KAD_OK);
	tn_free(&t);
}

/*
 * Every answer names five never-seen nodes closer than all before: the
 * lookup stops at KAD_LOOKUP_MAX_QUERIES.
 */
static void
test_lookup_bounded_by_query_cap(void)
{
	struct tnet t;
	uint8_t key[KAD_ID_BYTES];
	uint32_t lid;
	int S, guard;

	S = tn_start(&t, 11, key, 0);
	T_ASSERT(tn_flip_known(&t, S, key, 4) == 1);
	t.n[1].fresh = 1;
	t.fresh_proxy = 1;	/* node 1 answers for the made-up nodes */
	T_EQ_INT(kad_lookup_start(t.n[S].kad, KAD_LOOKUP_NODE, key, &lid), KAD_OK);
	for (guard = 0; guard < 1000 && t.done == 0; guard++)
		tn_run(&t);
	T_EQ_INT(t.done, 1);
	T_EQ_INT(t.res.status, KAD_LOOKUP_EXHAUSTED);
	T_EQ_INT(t.res.queries, KAD_LOOKUP_MAX_QUERIES);
	T_EQ_INT(t.res.n_closest, KAD_K);
	T_ASSERT(t.res.rounds <= KAD_LOOKUP_MAX_QUERIES);
	tn_free(&t);
}

static void
test_concurrent_lookups_capped(void)
{
	struct tnet t;
	uint8_t key[KAD_ID_BYTES];
	uint32_t lid, first = 0;
	int i;

	tn_init(&t, 12);
	T_ASSERT(tn_add(&t, NULL, 0) == 0);
	T_ASSERT(tn_add(&t, NULL, 0) == 1);
	t.n[1].silent = 1;
	/* Nothing to start from. */
	T_EQ_INT(kad_lookup_start(t.n[0].kad, KAD_LOOKUP_NODE, t.n[1].id, &lid),
	    KAD_ERR_EMPTY);
	tn_know(&t, 0, 1);
	for (i = 0; i < KAD_MAX_LOOKUPS; i++) {
		tn_bytes(&t, key, sizeof(key));
		T_EQ_INT(kad_lookup_start(t.n[0].kad, KAD_LOOKUP_NODE, key, &lid), KAD_OK);
		if (i == 0)
			first = lid;
		t.nq = 0;
	}
	T_EQ_INT(kad_lookup_count(t.n[0].kad), KAD_MAX_LOOKUPS);
	T_EQ_INT(kad_lookup_start(t.n[0].kad, KAD_LOOKUP_NODE, key, &lid), KAD_ERR_BUSY);
	T_EQ_INT(kad_lookup_cancel(t.n[0].kad, first), KAD_OK);
	T_EQ_INT(kad_lookup_cancel(t.n[0].kad, first), KAD_ERR_NOLOOKUP);
	T_EQ_INT(kad_lookup_start(t.n[0].kad, KAD_LOOKUP_VALUE, key, &lid), KAD_OK);
	T_EQ_INT(kad_lookup_start(t.n[0].kad, 7, key, &lid), KAD_ERR_ARG);
	tn_free(&t);
}

/* ---- refresh ---- */

static void
test_refresh_schedule_bootstrap_then_periodic(void)
{
	struct tnet t;
	struct kad_env env;
	struct kad *k;
	struct kad_stats st;
	uint8_t zero[KAD_ID_BYTES] = { 0 }, id[KAD_ID_BYTES];
	int i, round, selfq, b, seen[6];

	tn_init(&t, 13);
	tn_env(&t, &t.n[0], &env);
	env.lookup_done = NULL;		/* refresh lookups report to no one */
	t.nn = 1;
	k = t.n[0].kad = kad_new(zero, &env, 0);	/* refresh on */
	T_ASSERT(k != NULL);
	/* Two contacts in bucket 255, one in bucket 250; they answer nothing. */
	far_id(id, 1);
	T_ASSERT(tn_add(&t, id, 0) == 1);
	far_id(id, 2);
	T_ASSERT(tn_add(&t, id, 0) == 2);
	memset(id, 0, sizeof(id));
	id[0] = 0x04;
	T_ASSERT(tn_add(&t, id, 0) == 3);
	tn_know(&t, 0, 1);
	T_EQ_U64(kad_next_deadline(k), UINT64_MAX);	/* fewer than 2 nodes */
	tn_know(&t, 0, 2);
	tn_know(&t, 0, 3);
	T_EQ_U64(kad_next_deadline(k), 0);		/* bootstrap refresh due */

	for (round = 0; round < KAD_BOOT_REFRESHES + 1; round++) {
		t.nlog = 0;
		kad_tick(k);
		tn_run(&t);
		/*
		 * Buckets refreshed: 0 (as the own ID) and every bucket from the
		 * closest non-empty one (250) up with fewer than alpha contacts:
		 * 250..255.  Each lookup asks the 3 contacts, which know nothing.
		 */
		selfq = 0;
		memset(seen, 0, sizeof(seen));
		for (i = 0; i < t.nlog; i++) {
			if (t.log[i].kind == KAD_FIND_SELF) {
				T_EQ_MEM(t.log[i].key, zero, KAD_ID_BYTES);
				selfq++;
				continue;
			}
			T_EQ_INT(t.log[i].kind, KAD_FIND_PEER);
			b = kad_bucket_index(zero, t.log[i].key);
			if (b < 250)
				T_FAIL("refresh key in bucket %d", b);
			seen[b - 250]++;
		}
		T_EQ_INT(selfq, 3);
		for (b = 0; b < 6; b++)
			T_EQ_INT(seen[b], 3);
		kad_get_stats(k, &st);
		T_EQ_U64(st.refresh_lookups, 7 * (round + 1));
		T_EQ_U64(st.refresh_rounds, round + 1);
		T_EQ_INT(kad_lookup_count(k), 0);
		if (round + 1 < KAD_BOOT_REFRESHES)
			T_EQ_U64(kad_next_deadline(k), t.now + KAD_BOOT_PAUSE_MS);
		else
			T_EQ_U64(kad_next_deadline(k), t.now + KAD_REFRESH_MS);
		t.now = kad_next_deadline(k);
	}
	kad_free(k);
	t.n[0].kad = NULL;
	tn_free(&t);
}

/* ---- value store ---- */

static void
test_store_expiry_on_fake_clock(void)
{
	struct tnet t;
	struct kad *k;
	uint8_t k1[KAD_ID_BYTES], k2[KAD_ID_BYTES];
	const uint8_t *d;
	size_t len;

	tn_init(&t, 14);
	T_ASSERT(tn_add(&t, NULL, 0) == 0);
	k = t.n[0].kad;
	memset(k1, 1, sizeof(k1));
	memset(k2, 2, sizeof(k2));
	t.now = 5000;
	T_EQ_INT(kad_value_put(k, k1, "short", 5, 1000), KAD_OK);
	T_EQ_INT(kad_value_put(k, k2, "forever", 7, 0), KAD_OK);
	T_EQ_INT(kad_value_count(k), 2);
	T_EQ_INT((int)kad_value_bytes(k), 12);
	T_EQ_U64(kad_next_deadline(k), 6000);
	t.now = 5999;
	T_EQ_INT(kad_value_get(k, k1, &d, &len), KAD_OK);
	T_EQ_INT((int)len, 5);
	T_EQ_MEM(d, "short", 5);
	t.now = 6000;
	T_EQ_INT(kad_value_get(k, k1, &d, &len), KAD_ERR_NOTFOUND);
	kad_tick(k);
	T_EQ_INT(kad_value_count(k), 1);
	T_EQ_INT((int)kad_value_bytes(k), 7);
	T_EQ_U64(kad_next_deadline(k), UINT64_MAX);
	t.now = 1000000000;
	T_EQ_INT(kad_value_get(k, k2, &d, &len), KAD_OK);
	T_EQ_MEM(d, "forever", 7);
	/* Replacing keeps one entry and the byte count right. */
	T_EQ_INT(kad_value_put(k, k2, "x", 1, 0), KAD_OK);
	T_EQ_INT(kad_value_count(k), 1);
	T_EQ_INT((int)kad_value_bytes(k), 1);
	T_EQ_INT(kad_value_del(k, k2), KAD_OK);
	T_EQ_INT(kad_value_del(k, k2), KAD_ERR_NOTFOUND);
	T_EQ_INT(kad_value_count(k), 0);
	tn_free(&t);
}

static void
test_store_caps_entries_bytes_and_size(void)
{
	struct kad_store *s;
	uint8_t key[KAD_ID_BYTES];
	uint8_t *big;
	int i;

	s = kad_store_new();
	big = calloc(1, KAD_STORE_VALUE_MAX + 1);
	T_ASSERT(s != NULL && big != NULL);
	memset(key, 0, sizeof(key));
	T_EQ_INT(kad_store_put(s, key, big, KAD_STORE_VALUE_MAX + 1, 0, 0), KAD_ERR_TOOBIG);
	for (i = 0; i < KAD_STORE_MAX_ENTRIES; i++) {
		key[0] = (uint8_t)(i >> 8);
		key[1] = (uint8_t)i;
		T_EQ_INT(kad_store_put(s, key, "v", 1, 0, 0), KAD_OK);
	}
	key[2] = 1;
	T_EQ_INT(kad_store_put(s, key, "v", 1, 0, 0), KAD_ERR_FULL);
	T_EQ_INT(kad_store_count(s), KAD_STORE_MAX_ENTRIES);
	/* Entries stay findable (sorted index). */
	for (i = 0; i < KAD_STORE_MAX_ENTRIES; i += 97) {
		key[0] = (uint8_t)(i >> 8);
		key[1] = (uint8_t)i;
		key[2] = 0;
		T_EQ_INT(kad_store_get(s, key, 0, NULL, NULL), KAD_OK);
	}
	kad_store_free(s);

	/* Bytes: 16 values of 1 MiB fill 16 MiB; the 17th does not fit. */
	s = kad_store_new();
	T_ASSERT(s != NULL);
	memset(key, 0, sizeof(key));
	for (i = 0; i < (int)(KAD_STORE_MAX_BYTES / KAD_STORE_VALUE_MAX); i++) {
		key[0] = (uint8_t)i;
		T_EQ_INT(kad_store_put(s, key, big, KAD_STORE_VALUE_MAX, 0, 0), KAD_OK);
	}
	key[0] = 0xee;
	T_EQ_INT(kad_store_put(s, key, big, 1, 0, 0), KAD_ERR_FULL);
	T_EQ_U64(kad_store_bytes(s), KAD_STORE_MAX_BYTES);
	key[0] = 0;			/* shrinking an existing value is fine */
	T_EQ_INT(kad_store_put(s, key, big, 10, 0, 0), KAD_OK);
	key[0] = 0xee;
	T_EQ_INT(kad_store_put(s, key, big, 1, 0, 0), KAD_OK);
	kad_store_free(s);
	free(big);
}

static void
test_strerror_names_every_code(void)
{
	int e;

	for (e = KAD_OK; e >= KAD_ERR_TOOBIG; e--)
		T_ASSERT(strcmp(kad_strerror(e), "unknown error") != 0);
	T_EQ_STR(kad_strerror(KAD_ERR_TOOBIG - 1), "unknown error");
	T_EQ_STR(kad_strerror(KAD_ERR_BUSY), "too many lookups running");
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_bucket_index_of_known_ids);
	T_RUN(test_distance_is_xor_compared_big_endian);
	T_RUN(test_full_bucket_evicts_oldest_of_unknown_rtt);
	T_RUN(test_full_bucket_keeps_faster_oldest);
	T_RUN(test_full_bucket_tiebreak_by_distance);
	T_RUN(test_reinserted_contact_moves_to_tail);
	T_RUN(test_full_bucket_replaces_failing_contact_first);
	T_RUN(test_table_bounded_after_100k_inserts);
	T_RUN(test_closest_matches_bruteforce_on_1000_contacts);
	T_RUN(test_lookup_chain_takes_one_round_per_hop);
	T_RUN(test_closer_answer_starts_next_round_without_waiting);
	T_RUN(test_lookup_succeeds_when_target_answers);
	T_RUN(test_lookup_full_mesh_finds_in_one_round);
	T_RUN(test_value_lookup_stops_when_value_found);
	T_RUN(test_value_lookup_rejects_data_not_matching_key);
	T_RUN(test_round_timeout_on_fake_clock);
	T_RUN(test_lookup_times_out_after_search_timeout);
	T_RUN(test_contact_removed_after_repeated_failures);
	T_RUN(test_lookup_bounded_by_query_cap);
	T_RUN(test_concurrent_lookups_capped);
	T_RUN(test_refresh_schedule_bootstrap_then_periodic);
	T_RUN(test_store_expiry_on_fake_clock);
	T_RUN(test_store_caps_entries_bytes_and_size);
	T_RUN(test_strerror_names_every_code);
	return t_done();
}
