/*
 * sim.c — a universe of Kademlia nodes in one process (tests/sim).
 *
 * Every node runs the real netd/kad.c; the network, the clock and the
 * randomness behind its struct kad_env are fake and deterministic (a seeded
 * PRNG), so a run is reproducible from its options.  The universe is a
 * discrete-event simulation: a binary heap of message deliveries, kad_tick()
 * calls (scheduled at kad_next_deadline()), joins, leaves and lookups.
 *
 * What the fake network models (the parts of netd's glue kad relies on):
 *  - each node has an access latency of 5-50 ms; a message takes the sum of
 *    both ends' latencies plus 0-5 ms jitter; -loss drops messages at random;
 *  - a node offers the sender of every packet it receives to its routing
 *    table (a peer is added or seen, §5.1);
 *  - FIND_SELF / FIND_PEER are answered with the 5 closest contacts except
 *    the asker (§3.2); FIND_VALUE with the value if stored, else (unless
 *    -refvalue, the reference's answer) with the 5 closest contacts;
 *  - a contact counts as connectable/usable while it is online or left less
 *    than 22 s ago (connectionInvalidate, §5.3: the liveness pings notice);
 *    answers use that filter; lookups seed with it too unless -nofilter;
 *  - joining = first contact with the root peers (nodes 0..roots-1) by
 *    FIND_SELF and the recursive bootstrap of §6.6 (up to 5 returned peers
 *    not yet known are contacted); kad itself then runs its 3 bootstrap
 *    refreshes and the 5-minute refresh.
 *
 * Run: sim -n 2000 -lookups 500 -churn 0 -seed 1
 * Prints a human summary and one line "RESULT key=value ..." for scripts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blake3.h"
#include "kad.h"
#include "../unit/splitmix.h"

#define SIM_VALUE_LEN		64
#define SIM_INVALIDATE_MS	22000	/* connectionInvalidate, §5.3 */
#define SIM_BOOT_PEERS		5	/* bootstrap contacts per Response, §6.6 */

struct sim_opts {
	int		n;
	int		lookups;
	int		values;
	double		churn;		/* percent of nodes replaced during the phase */
	double		loss;		/* percent of messages dropped */
	uint64_t	seed;
	int		roots;
	int		replicas;
	int		phase_s;
	int		join_gap_ms;
	int		settle_s;
	int		refvalue;
	int		nofilter;
	int		evict_ref;
};

struct sim_node {
	struct universe	*u;
	struct kad	*kad;
	int		 idx;
	uint8_t		 peer_id[KAD_PEER_ID_BYTES];
	uint8_t		 id[KAD_ID_BYTES];
	uint8_t		 online;
	uint8_t		 stable;	/* never leaves: may be a lookup target */
	uint64_t	 join_at;
	uint64_t	 left_at;
	uint32_t	 lat;		/* one-way access latency, ms */
	uint64_t	 tick_at;	/* scheduled EV_TICK, UINT64_MAX = none */
	uint8_t		*seen;		/* bitset: peers known or contacted (§6.6) */
};

enum { MSG_FIND, MSG_REPLY };

struct msg {
	struct msg	*next;		/* free list */
	uint8_t		 type;
	uint8_t		 kind;		/* KAD_FIND_* */
	uint8_t		 boot;		/* bootstrap FIND_SELF, not a lookup */
	int		 from, to;
	uint32_t	 lookup_id;
	uint8_t		 key[KAD_ID_BYTES];
	int		 n;
	int		 c[KAD_ANSWER_COUNT];
	int		 has_value;
	uint8_t		 value[SIM_VALUE_LEN];
};

enum { EV_MSG, EV_TICK, EV_JOIN, EV_LEAVE, EV_LOOKUP, EV_PLACE };

struct event {
	uint64_t	 t;
	uint64_t	 seq;
	int		 type;
	int		 arg;
	struct msg	*m;
};

struct plan {
	int		 type;		/* KAD_LOOKUP_* */
	int		 target;	/* node index or value index */
	int		 src;
	uint32_t	 id;
	int		 started, done;
	int		 status;	/* KAD_LOOKUP_* or -1 = could not start */
	int		 ok;
	int		 rounds, queries, replies;
	uint64_t	 ms;
};

struct sim_value {
	uint8_t		key[KAD_ID_BYTES];
	uint8_t		data[SIM_VALUE_LEN];
};

struct universe {
	struct sim_opts	 o;
	uint64_t	 now;
	uint64_t	 seq;
	uint64_t	 rng;
	struct sim_node	*nodes;
	int		 total;		/* initial + joiners */
	size_t		 seen_bytes;
	struct event	*heap;
	size_t		 nheap, capheap;
	struct msg	*free_msgs;
	struct sim_value *vals;
	struct plan	*plans;
	int		 nplans;
	int		*active;	/* plans started and not done */
	int		 nactive;
	uint64_t	 msgs_sent, msgs_lost, msgs_dead;
	uint64_t	 phase_start, phase_end;
	int		 online;
};

/* ---- deterministic randomness (splitmix64) ---- */

static uint64_t
rnd64(struct universe *u)
{
	return splitmix_next(&u->rng);
}

static uint64_t
rnd_below(struct universe *u, uint64_t n)
{
	return n == 0 ? 0 : rnd64(u) % n;
}

static void
rnd_bytes(struct universe *u, void *buf, size_t n)
{
	splitmix_fill(&u->rng, buf, n);
}

/* ---- event heap ---- */

static int
ev_less(const struct event *a, const struct event *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void
ev_push(struct universe *u, uint64_t t, int type, int arg, struct msg *m)
{
	struct event e, tmp;
	size_t i, p;

	if (u->nheap == u->capheap) {
		u->capheap = u->capheap ? u->capheap * 2 : 4096;
		if ((u->heap = realloc(u->heap, u->capheap * sizeof(*u->heap))) == NULL) {
			perror("realloc");
			exit(2);
		}
	}
	e.t = t;
	e.seq = u->seq++;
	e.type = type;
	e.arg = arg;
	e.m = m;
	i = u->nheap++;
	u->heap[i] = e;
	while (i > 0) {
		p = (i - 1) / 2;
		if (!ev_less(&u->heap[i], &u->heap[p]))
			break;
		tmp = u->heap[p];
		u->heap[p] = u->heap[i];
		u->heap[i] = tmp;
		i = p;
	}
}

static struct event
ev_pop(struct universe *u)
{
	struct event top = u->heap[0], tmp;
	size_t i = 0, l, r, m;

	u->heap[0] = u->heap[--u->nheap];
	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < u->nheap && ev_less(&u->heap[l], &u->heap[m]))
			m = l;
		if (r < u->nheap && ev_less(&u->heap[r], &u->heap[m]))
			m = r;
		if (m == i)
			break;
		tmp = u->heap[m];
		u->heap[m] = u->heap[i];
		u->heap[i] = tmp;
		i = m;
	}
	return top;
}

/* ---- helpers ---- */

static struct msg *
msg_new(struct universe *u)
{
	struct msg *m;

	if ((m = u->free_msgs) != NULL)
		u->free_msgs = m->next;
	else if ((m = malloc(sizeof(*m))) == NULL) {
		perror("malloc");
		exit(2);
	}
	memset(m, 0, sizeof(*m));
	return m;
}

static void
msg_free(struct universe *u, struct msg *m)
{
	m->next = u->free_msgs;
	u->free_msgs = m;
}

static void
contact_of(const struct sim_node *n, struct kad_contact *c)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->id, n->id, KAD_ID_BYTES);
	memcpy(c->peer_id, n->peer_id, KAD_PEER_ID_BYTES);
	c->features = 1;		/* IPv4_LISTEN */
	c->ip4[0] = 10;
	c->ip4[1] = (uint8_t)(n->idx >> 16);
	c->ip4[2] = (uint8_t)(n->idx >> 8);
	c->ip4[3] = (uint8_t)n->idx;
	c->port4 = c->port4_int = 112;
}

/*
 * The node a contact's address leads to (the fake network routes by
 * address, like the real one), or -1 if the ID does not match.
 */
static int
node_of(const struct universe *u, const struct kad_contact *c)
{
	int j = c->ip4[1] << 16 | c->ip4[2] << 8 | c->ip4[3];

	if (c->ip4[0] != 10 || j >= u->total ||
	    memcmp(u->nodes[j].id, c->id, KAD_ID_BYTES) != 0)
		return -1;
	return j;
}

static int
seen_get(const struct sim_node *n, int j)
{
	return (n->seen[j / 8] >> (j % 8)) & 1;
}

static void
seen_set(struct sim_node *n, int j)
{
	n->seen[j / 8] |= (uint8_t)(1 << (j % 8));
}

/* Whether node j can be reached: online, or gone too recently to be noticed. */
static int
alive_enough(const struct universe *u, int j)
{
	const struct sim_node *n = &u->nodes[j];

	if (n->online)
		return 1;
	return n->left_at != 0 && u->now - n->left_at < SIM_INVALIDATE_MS;
}

static void
resched(struct sim_node *n)
{
	struct universe *u = n->u;
	uint64_t d;

	if (n->kad == NULL)
		return;
	d = kad_next_deadline(n->kad);
	if (d == UINT64_MAX)
		return;
	if (d <= u->now)
		d = u->now + 1;
	if (d < n->tick_at) {
		n->tick_at = d;
		ev_push(u, d, EV_TICK, n->idx, NULL);
	}
}

static void
send_msg(struct universe *u, struct msg *m)
{
	uint64_t lat;

	u->msgs_sent++;
	if (u->o.loss > 0 && (double)rnd_below(u, 1000000) < u->o.loss * 10000) {
		u->msgs_lost++;
		msg_free(u, m);
		return;
	}
	lat = u->nodes[m->from].lat + u->nodes[m->to].lat + rnd_below(u, 6);
	ev_push(u, u->now + lat, EV_MSG, 0, m);
}

static void
send_boot(struct universe *u, int from, int to)
{
	struct msg *m = msg_new(u);

	seen_set(&u->nodes[from], to);
	m->type = MSG_FIND;
	m->kind = KAD_FIND_SELF;
	m->boot = 1;
	m->from = from;
	m->to = to;
	memcpy(m->key, u->nodes[from].id, KAD_ID_BYTES);
	send_msg(u, m);
}

/* A packet from `from` reached n: the peer is added/seen (§5.1). */
static void
peer_seen(struct universe *u, struct sim_node *n, int from)
{
	struct kad_contact c;

	seen_set(n, from);
	contact_of(&u->nodes[from], &c);
	kad_table_insert(n->kad, &c, NULL);
}

/* ---- kad_env callbacks ---- */

static uint64_t
env_now(void *ctx)
{
	struct sim_node *n = ctx;

	return n->u->now;
}

static void
env_random(void *ctx, void *buf, size_t len)
{
	struct sim_node *n = ctx;

	rnd_bytes(n->u, buf, len);
}

static int
env_send_find(void *ctx, const struct kad_query *q)
{
	struct sim_node *n = ctx;
	struct universe *u = n->u;
	struct msg *m;
	int to;

	if ((to = node_of(u, q->to)) < 0)
		return -1;
	m = msg_new(u);
	m->type = MSG_FIND;
	m->kind = q->kind;
	m->from = n->idx;
	m->to = to;
	m->lookup_id = q->lookup_id;
	memcpy(m->key, q->key, KAD_ID_BYTES);
	send_msg(u, m);
	return 0;
}

static int
env_usable(void *ctx, const struct kad_contact *c)
{
	struct sim_node *n = ctx;
	int j = node_of(n->u, c);

	return j >= 0 && alive_enough(n->u, j);
}

static void
env_lookup_done(void *ctx, const struct kad_result *r)
{
	struct sim_node *n = ctx;
	struct universe *u = n->u;
	struct plan *p = NULL;
	int i;

	for (i = 0; i < u->nactive; i++) {
		p = &u->plans[u->active[i]];
		if (p->src == n->idx && p->id == r->lookup_id)
			break;
	}
	if (i == u->nactive || p == NULL)
		return;
	u->active[i] = u->active[--u->nactive];
	p->done = 1;
	p->status = r->status;
	p->rounds = r->rounds;
	p->queries = r->queries;
	p->replies = r->replies;
	p->ms = r->elapsed_ms;
	if (r->status != KAD_LOOKUP_FOUND)
		return;
	if (p->type == KAD_LOOKUP_NODE)
		p->ok = memcmp(r->found.id, u->nodes[p->target].id, KAD_ID_BYTES) == 0;
	else
		p->ok = r->value_len == SIM_VALUE_LEN &&
		    memcmp(r->value, u->vals[p->target].data, SIM_VALUE_LEN) == 0;
}

static int
filter_alive(void *fctx, const struct kad_contact *c)
{
	return env_usable(fctx, c);
}

/* ---- event handlers ---- */

static void
deliver_find(struct universe *u, struct msg *m)
{
	struct sim_node *n = &u->nodes[m->to];
	struct kad_contact out[KAD_ANSWER_COUNT];
	const uint8_t *target, *data;
	struct msg *r;
	size_t len;
	int i, cnt = 0;

	peer_seen(u, n, m->from);
	r = msg_new(u);
	r->type = MSG_REPLY;
	r->kind = m->kind;
	r->boot = m->boot;
	r->from = m->to;
	r->to = m->from;
	r->lookup_id = m->lookup_id;
	memcpy(r->key, m->key, KAD_ID_BYTES);
	if (m->kind == KAD_FIND_VALUE &&
	    kad_value_get(n->kad, m->key, &data, &len) == KAD_OK &&
	    len == SIM_VALUE_LEN) {
		r->has_value = 1;
		memcpy(r->value, data, len);
	} else if (m->kind != KAD_FIND_VALUE || !u->o.refvalue) {
		target = m->kind == KAD_FIND_SELF ? u->nodes[m->from].id : m->key;
		cnt = kad_closest(n->kad, target, KAD_ANSWER_COUNT, filter_alive, n,
		    u->nodes[m->from].id, out);
		for (i = 0; i < cnt; i++)
			r->c[i] = node_of(u, &out[i]);
		r->n = cnt;
	}
	send_msg(u, r);
	resched(n);
}

static void
deliver_reply(struct universe *u, struct msg *m)
{
	struct sim_node *n = &u->nodes[m->to];
	struct kad_contact cs[KAD_ANSWER_COUNT];
	struct kad_reply rep;
	int i, j, used = 0;

	peer_seen(u, n, m->from);
	if (m->boot) {
		/* §6.6: contact up to 5 returned peers not known yet. */
		for (i = 0; i < m->n && used < SIM_BOOT_PEERS; i++) {
			j = m->c[i];
			if (j == n->idx || seen_get(n, j))
				continue;
			send_boot(u, n->idx, j);
			used++;
		}
		resched(n);
		return;
	}
	for (i = 0; i < m->n; i++)
		contact_of(&u->nodes[m->c[i]], &cs[i]);
	memset(&rep, 0, sizeof(rep));
	rep.closest = cs;
	rep.n_closest = m->n;
	if (m->has_value) {
		rep.value = m->value;
		rep.value_len = SIM_VALUE_LEN;
	}
	kad_lookup_on_reply(n->kad, m->lookup_id, u->nodes[m->from].id, &rep);
	resched(n);
}

static void
node_join(struct universe *u, int idx)
{
	struct sim_node *n = &u->nodes[idx];
	struct kad_env env;
	int r, tries, bound;

	memset(&env, 0, sizeof(env));
	env.now_ms = env_now;
	env.random = env_random;
	env.send_find = env_send_find;
	env.lookup_done = env_lookup_done;
	/* -nofilter: seed lookups from the whole table, as the reference does. */
	env.usable = u->o.nofilter ? NULL : env_usable;
	env.ctx = n;
	if ((n->kad = kad_new(n->id, &env, u->o.evict_ref ? KAD_F_EVICT_REFERENCE : 0)) == NULL) {
		fprintf(stderr, "kad_new failed\n");
		exit(2);
	}
	n->online = 1;
	n->join_at = u->now;
	u->online++;
	/* First contact with the root peers (§6.6). */
	for (r = 0; r < u->o.roots && r < u->total; r++) {
		if (r == idx || !u->nodes[r].online)
			continue;
		send_boot(u, idx, r);
	}
	/*
	 * Roots themselves (and a network without roots) start from a random
	 * peer that joined before (initial nodes join in index order).
	 */
	bound = idx < u->o.n ? idx : u->total;
	if ((idx < u->o.roots || u->o.roots == 0) && bound > 0) {
		for (tries = 0; tries < 64; tries++) {
			r = (int)rnd_below(u, (uint64_t)bound);
			if (r != idx && u->nodes[r].online && !seen_get(n, r)) {
				send_boot(u, idx, r);
				break;
			}
		}
	}
	resched(n);
}

static void
node_leave(struct universe *u, int idx)
{
	struct sim_node *n = &u->nodes[idx];

	if (!n->online)
		return;
	n->online = 0;
	n->left_at = u->now;
	u->online--;
	kad_free(n->kad);
	n->kad = NULL;
}

static int
pick_online(struct universe *u, int need_stable, int exclude)
{
	int i, j;

	for (i = 0; i < 1000; i++) {
		j = (int)rnd_below(u, (uint64_t)u->total);
		if (j == exclude || !u->nodes[j].online)
			continue;
		if (need_stable && !u->nodes[j].stable)
			continue;
		/* Sources must have finished bootstrapping. */
		if (!need_stable && u->now - u->nodes[j].join_at < (uint64_t)u->o.settle_s * 1000)
			continue;
		return j;
	}
	return -1;
}

static void
start_lookup(struct universe *u, int pi)
{
	struct plan *p = &u->plans[pi];
	const uint8_t *key;
	int rc;

	p->started = 1;
	if (p->type == KAD_LOOKUP_NODE)
		p->target = pick_online(u, 1, -1);
	p->src = pick_online(u, 0, p->type == KAD_LOOKUP_NODE ? p->target : -1);
	if (p->src < 0 || p->target < 0) {
		p->done = 1;
		p->status = -1;
		return;
	}
	key = p->type == KAD_LOOKUP_NODE ? u->nodes[p->target].id : u->vals[p->target].key;
	rc = kad_lookup_start(u->nodes[p->src].kad, p->type, key, &p->id);
	if (rc != KAD_OK) {
		p->done = 1;
		p->status = -1;
		return;
	}
	u->active[u->nactive++] = pi;
	resched(&u->nodes[p->src]);
}

/* Stores every value at the `replicas` stable online nodes closest to its key. */
static void
place_values(struct universe *u)
{
	int *best, v, i, j, k, r = u->o.replicas;

	if ((best = calloc((size_t)r, sizeof(*best))) == NULL)
		exit(2);
	for (v = 0; v < u->o.values; v++) {
		k = 0;
		for (i = 0; i < u->total; i++) {
			if (!u->nodes[i].online || !u->nodes[i].stable)
				continue;
			if (k == r && kad_distance_cmp(u->vals[v].key, u->nodes[i].id,
			    u->nodes[best[r - 1]].id) >= 0)
				continue;
			j = k < r ? k : r - 1;
			while (j > 0 && kad_distance_cmp(u->vals[v].key, u->nodes[i].id,
			    u->nodes[best[j - 1]].id) < 0) {
				best[j] = best[j - 1];
				j--;
			}
			best[j] = i;
			if (k < r)
				k++;
		}
		for (j = 0; j < k; j++) {
			kad_value_put(u->nodes[best[j]].kad, u->vals[v].key,
			    u->vals[v].data, SIM_VALUE_LEN, 0);
		}
	}
	free(best);
}

/* ---- statistics ---- */

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

struct summary {
	int	 total, found, failed_start, timeout, notfound, exhausted, wrong;
	double	 success, rounds_mean, queries_mean, msgs_mean, ms_mean;
	int	 rounds_p50, rounds_p99, rounds_max;
};

static void
summarize(const struct universe *u, int type, struct summary *s)
{
	int *rounds, i, nr = 0;
	double sr = 0, sq = 0, sm = 0, sms = 0;
	const struct plan *p;

	memset(s, 0, sizeof(*s));
	if ((rounds = calloc((size_t)u->nplans + 1, sizeof(*rounds))) == NULL)
		exit(2);
	for (i = 0; i < u->nplans; i++) {
		p = &u->plans[i];
		if (p->type != type || !p->started)
			continue;
		s->total++;
		if (p->status == -1) {
			s->failed_start++;
			continue;
		}
		sq += p->queries;
		/* Every query is answered by one Response (§3.2). */
		sm += 2.0 * p->queries;
		if (!p->done) {
			s->timeout++;
			continue;
		}
		switch (p->status) {
		case KAD_LOOKUP_FOUND:
			if (!p->ok) {
				s->wrong++;
				break;
			}
			s->found++;
			rounds[nr++] = p->rounds;
			sr += p->rounds;
			sms += (double)p->ms;
			break;
		case KAD_LOOKUP_TIMEOUT:
			s->timeout++;
			break;
		case KAD_LOOKUP_EXHAUSTED:
			s->exhausted++;
			break;
		default:
			s->notfound++;
			break;
		}
	}
	if (s->total > 0) {
		s->success = 100.0 * s->found / s->total;
		s->queries_mean = sq / s->total;
		s->msgs_mean = sm / s->total;
	}
	if (nr > 0) {
		qsort(rounds, (size_t)nr, sizeof(*rounds), cmp_int);
		s->rounds_mean = sr / nr;
		s->ms_mean = sms / nr;
		s->rounds_p50 = rounds[(nr - 1) / 2];
		/* nearest rank: ceil(0.99 n) */
		s->rounds_p99 = rounds[(99 * nr + 99) / 100 - 1];
		s->rounds_max = rounds[nr - 1];
	}
	free(rounds);
}

static void
print_summary(const char *what, const struct summary *s)
{
	printf("%-13s %5d lookups, found %5d (%.2f%%); not found %d, timeout %d, "
	    "exhausted %d, wrong %d, could not start %d\n", what, s->total,
	    s->found, s->success, s->notfound, s->timeout, s->exhausted, s->wrong,
	    s->failed_start);
	printf("%-13s rounds mean %.2f median %d p99 %d max %d; queries/lookup %.1f, "
	    "messages/lookup %.1f; time to find %.0f ms\n", "", s->rounds_mean,
	    s->rounds_p50, s->rounds_p99, s->rounds_max, s->queries_mean,
	    s->msgs_mean, s->ms_mean);
}

/* ---- main ---- */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: sim [-n nodes] [-lookups L] [-values V] [-churn pct] [-loss pct]\n"
	    "           [-seed S] [-roots R] [-replicas R] [-phase sec] [-join-gap ms]\n"
	    "           [-settle sec] [-refvalue] [-nofilter] [-evict-ref]\n");
	exit(2);
}

static double
wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
parse(int argc, char **argv, struct sim_opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->n = 2000;
	o->lookups = 500;
	o->values = -1;
	o->seed = 1;
	o->roots = 3;
	o->replicas = 3;
	o->phase_s = 300;
	o->join_gap_ms = 20;
	o->settle_s = 30;
	for (i = 1; i < argc; i++) {
#define ARG (i + 1 < argc ? argv[++i] : (usage(), ""))
		if (strcmp(argv[i], "-n") == 0)
			o->n = atoi(ARG);
		else if (strcmp(argv[i], "-lookups") == 0)
			o->lookups = atoi(ARG);
		else if (strcmp(argv[i], "-values") == 0)
			o->values = atoi(ARG);
		else if (strcmp(argv[i], "-churn") == 0)
			o->churn = atof(ARG);
		else if (strcmp(argv[i], "-loss") == 0)
			o->loss = atof(ARG);
		else if (strcmp(argv[i], "-seed") == 0)
			o->seed = strtoull(ARG, NULL, 0);
		else if (strcmp(argv[i], "-roots") == 0)
			o->roots = atoi(ARG);
		else if (strcmp(argv[i], "-replicas") == 0)
			o->replicas = atoi(ARG);
		else if (strcmp(argv[i], "-phase") == 0)
			o->phase_s = atoi(ARG);
		else if (strcmp(argv[i], "-join-gap") == 0)
			o->join_gap_ms = atoi(ARG);
		else if (strcmp(argv[i], "-settle") == 0)
			o->settle_s = atoi(ARG);
		else if (strcmp(argv[i], "-refvalue") == 0)
			o->refvalue = 1;
		else if (strcmp(argv[i], "-nofilter") == 0)
			o->nofilter = 1;
		else if (strcmp(argv[i], "-evict-ref") == 0)
			o->evict_ref = 1;
		else
			usage();
#undef ARG
	}
	if (o->values < 0)
		o->values = o->lookups;
	if (o->n < 2 || o->lookups < 0 || o->values < 0 || o->churn < 0 ||
	    o->churn > 100 || o->loss < 0 || o->loss > 100 || o->roots < 0 ||
	    o->replicas < 1 || o->phase_s < 1 || o->join_gap_ms < 0 || o->settle_s < 0)
		usage();
}

int
main(int argc, char **argv)
{
	struct universe U, *u = &U;
	struct summary sn, sv;
	struct event e;
	struct sim_node *n;
	struct kad_stats ks;
	uint64_t refresh_lookups = 0, evictions = 0, stale = 0, table_sum = 0;
	uint64_t events = 0;
	int i, nchurn, leavers, nvals;
	double t0 = wall(), elapsed;

	memset(u, 0, sizeof(*u));
	parse(argc, argv, &u->o);
	u->rng = u->o.seed;
	nchurn = (int)(u->o.n * u->o.churn / 100.0 + 0.5);
	u->total = u->o.n + nchurn;
	if ((u->nodes = calloc((size_t)u->total, sizeof(*u->nodes))) == NULL)
		exit(2);
	u->seen_bytes = ((size_t)u->total + 7) / 8;

	for (i = 0; i < u->total; i++) {
		n = &u->nodes[i];
		n->u = u;
		n->idx = i;
		n->peer_id[0] = 2 + (uint8_t)(rnd64(u) & 1);
		rnd_bytes(u, n->peer_id + 1, KAD_PEER_ID_BYTES - 1);
		blake3_hash(n->peer_id, KAD_PEER_ID_BYTES, n->id);
		n->lat = 5 + (uint32_t)rnd_below(u, 46);
		n->tick_at = UINT64_MAX;
		n->stable = i < u->o.n;
		if ((n->seen = calloc(1, u->seen_bytes)) == NULL)
			exit(2);
	}

	/* Timeline: joins, settle, then the lookup phase with churn. */
	for (i = 0; i < u->o.n; i++)
		ev_push(u, (uint64_t)i * (uint64_t)u->o.join_gap_ms, EV_JOIN, i, NULL);
	u->phase_start = (uint64_t)u->o.n * (uint64_t)u->o.join_gap_ms +
	    (uint64_t)u->o.settle_s * 1000 + 30000;
	u->phase_end = u->phase_start + (uint64_t)u->o.phase_s * 1000;
	/* Roots stay; at most every other node leaves. */
	for (leavers = 0; leavers < nchurn && leavers < u->o.n - u->o.roots; ) {
		i = u->o.roots + (int)rnd_below(u, (uint64_t)(u->o.n - u->o.roots));
		if (!u->nodes[i].stable)
			continue;
		u->nodes[i].stable = 0;
		ev_push(u, u->phase_start + rnd_below(u, (uint64_t)u->o.phase_s * 1000),
		    EV_LEAVE, i, NULL);
		leavers++;
	}
	for (i = u->o.n; i < u->total; i++)
		ev_push(u, u->phase_start + rnd_below(u, (uint64_t)u->o.phase_s * 1000),
		    EV_JOIN, i, NULL);

	nvals = u->o.values;
	if ((u->vals = calloc((size_t)nvals + 1, sizeof(*u->vals))) == NULL)
		exit(2);
	for (i = 0; i < nvals; i++) {
		rnd_bytes(u, u->vals[i].data, SIM_VALUE_LEN);
		blake3_hash(u->vals[i].data, SIM_VALUE_LEN, u->vals[i].key);
	}
	u->nplans = u->o.lookups + nvals;
	if ((u->plans = calloc((size_t)u->nplans + 1, sizeof(*u->plans))) == NULL ||
	    (u->active = calloc((size_t)u->nplans + 1, sizeof(*u->active))) == NULL)
		exit(2);
	for (i = 0; i < u->nplans; i++) {
		u->plans[i].type = i < u->o.lookups ? KAD_LOOKUP_NODE : KAD_LOOKUP_VALUE;
		u->plans[i].target = i < u->o.lookups ? -1 : i - u->o.lookups;
		u->plans[i].status = -1;
		ev_push(u, u->phase_start + 1 + rnd_below(u, (uint64_t)u->o.phase_s * 1000),
		    EV_LOOKUP, i, NULL);
	}
	ev_push(u, u->phase_start, EV_PLACE, 0, NULL);

	/* Run until the phase is over and the last lookup had time to end. */
	while (u->nheap > 0) {
		e = ev_pop(u);
		if (e.t > u->phase_end + KAD_TIMEOUT_SEARCH_MS + 1000) {
			if (e.m != NULL)
				msg_free(u, e.m);
			continue;
		}
		u->now = e.t;
		events++;
		switch (e.type) {
		case EV_MSG:
			n = &u->nodes[e.m->to];
			if (!n->online) {
				u->msgs_dead++;
			} else if (e.m->type == MSG_FIND)
				deliver_find(u, e.m);
			else
				deliver_reply(u, e.m);
			msg_free(u, e.m);
			break;
		case EV_TICK:
			n = &u->nodes[e.arg];
			if (n->kad == NULL || e.t != n->tick_at)
				break;
			n->tick_at = UINT64_MAX;
			kad_tick(n->kad);
			resched(n);
			break;
		case EV_JOIN:
			node_join(u, e.arg);
			break;
		case EV_LEAVE:
			node_leave(u, e.arg);
			break;
		case EV_PLACE:
			place_values(u);
			break;
		case EV_LOOKUP:
			start_lookup(u, e.arg);
			break;
		}
	}
	elapsed = wall() - t0;

	for (i = 0; i < u->total; i++) {
		n = &u->nodes[i];
		if (n->kad == NULL)
			continue;
		kad_get_stats(n->kad, &ks);
		refresh_lookups += ks.refresh_lookups;
		evictions += ks.evictions;
		stale += ks.stale_removed;
		table_sum += (uint64_t)kad_table_count(n->kad);
	}
	summarize(u, KAD_LOOKUP_NODE, &sn);
	summarize(u, KAD_LOOKUP_VALUE, &sv);

	printf("# sim: %d nodes (+%d joining, %d leaving), churn %.1f%%, loss %.1f%%, "
	    "seed %" PRIu64 ", roots %d, replicas %d%s\n", u->o.n, nchurn, leavers,
	    u->o.churn, u->o.loss, u->o.seed, u->o.roots, u->o.replicas,
	    u->o.refvalue ? ", reference FIND_VALUE answers" : "");
	print_summary("node lookups", &sn);
	print_summary("value lookups", &sv);
	printf("network       %" PRIu64 " messages (%" PRIu64 " lost, %" PRIu64
	    " to offline nodes), %" PRIu64 " events, sim time %.0f s\n",
	    u->msgs_sent, u->msgs_lost, u->msgs_dead, events, (double)u->now / 1000);
	printf("tables        %.1f contacts/node online at end (%d), refresh lookups %"
	    PRIu64 ", evictions %" PRIu64 ", stale removed %" PRIu64 "\n",
	    u->online > 0 ? (double)table_sum / u->online : 0.0, u->online,
	    refresh_lookups, evictions, stale);
	printf("elapsed real time %.2f s\n", elapsed);
	printf("RESULT nodes=%d churn=%.1f node_lookups=%d node_found=%d "
	    "node_success=%.2f node_rounds_mean=%.2f node_rounds_p50=%d "
	    "node_rounds_p99=%d node_queries=%.1f node_msgs=%.1f "
	    "value_lookups=%d value_found=%d value_success=%.2f "
	    "value_rounds_mean=%.2f value_rounds_p50=%d value_rounds_p99=%d "
	    "value_msgs=%.1f elapsed_s=%.2f\n", u->o.n, u->o.churn, sn.total,
	    sn.found, sn.success, sn.rounds_mean, sn.rounds_p50, sn.rounds_p99,
	    sn.queries_mean, sn.msgs_mean, sv.total, sv.found, sv.success,
	    sv.rounds_mean, sv.rounds_p50, sv.rounds_p99, sv.msgs_mean, elapsed);

	for (i = 0; i < u->total; i++) {
		kad_free(u->nodes[i].kad);
		free(u->nodes[i].seen);
	}
	while (u->free_msgs != NULL) {
		struct msg *m = u->free_msgs;

		u->free_msgs = m->next;
		free(m);
	}
	free(u->nodes);
	free(u->heap);
	free(u->vals);
	free(u->plans);
	free(u->active);
	return 0;
}
