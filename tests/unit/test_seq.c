/* test_seq.c — sequence numbers (docs/protocol.md §4): matching, expiry, RTT, namespaces, caps. */
#include <stdlib.h>
#include <string.h>

#include "seq.h"
#include "t.h"

#define T0	1000000ULL	/* fake clock origin, ms */

static const uint8_t hkey[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

struct ended {
	int		n;
	uint32_t	seq[64];
	void		*ctx[64];
	int		why[64];
	int		ns[64];
};

static void
on_end(void *arg, const uint8_t pub[PEERNET_PUBKEY_BYTES], uint32_t seq,
    enum seq_ns ns, void *ctx, enum seq_end why)
{
	struct ended *e = arg;

	(void)pub;
	if (e->n < 64) {
		e->seq[e->n] = seq;
		e->ctx[e->n] = ctx;
		e->why[e->n] = why;
		e->ns[e->n] = ns;
	}
	e->n++;
}

static void
mkpub(uint8_t pub[PEERNET_PUBKEY_BYTES], uint8_t tag)
{
	memset(pub, tag, PEERNET_PUBKEY_BYTES);
	pub[0] = 0x02;
}

/* One case's table (its ends reported to e), peer a and counter. */
struct fx {
	struct ended	  e;
	struct seq_table *t;
	struct seq_match  m;		/* the last step's match */
	uint8_t		  a[33];
	uint32_t	  counter;
	uint32_t	  s;		/* the number the steps answer */
};

static void
fx_open(struct fx *f, size_t cap, uint32_t counter)
{
	memset(f, 0, sizeof(*f));
	mkpub(f->a, 0xaa);
	f->counter = counter;
	f->t = seq_table_new(cap, hkey, on_end, &f->e);
	T_ASSERT(f->t != NULL);
}

/* seq_new for a at T0 + at: its number into f->s. */
static int
fx_new(struct fx *f, void *ctx, uint64_t at)
{
	return seq_new(f->t, f->a, &f->counter, ctx, T0 + at, &f->s);
}

#define ANY	(-1)	/* a step's field that is not checked */

/*
 * One message from a answering number s + delta at T0 + at (is_last:
 * last), and what seq_match (bi: seq_match_bi) must say: rc, and when rc is
 * 0, m.first, m.rtt_ms and m.replies unless ANY.
 */
struct step {
	int		bi, delta, last;
	uint64_t	at;
	int		rc, first;
	int64_t		rtt, replies;
};

static void
fx_steps(struct fx *f, const struct step *st, size_t n)
{
	uint32_t num;
	size_t i;
	int rc;

	for (i = 0; i < n; i++, st++) {
		num = f->s + (uint32_t)st->delta;
		rc = (st->bi ? seq_match_bi : seq_match)(f->t, f->a, num,
		    st->last, T0 + st->at, &f->m);
		if (rc != st->rc)
			T_FAIL("step %zu: match%s of %" PRIu32 " at +%" PRIu64
			    ": %d, expected %d", i, st->bi ? "_bi" : "", num,
			    st->at, rc, st->rc);
		if (rc != 0)
			continue;
		if (st->first != ANY && f->m.first != st->first)
			T_FAIL("step %zu: first %d, expected %d", i,
			    f->m.first, st->first);
		if (st->rtt != ANY && f->m.rtt_ms != (uint64_t)st->rtt)
			T_FAIL("step %zu: rtt %" PRIu32 " ms, expected %" PRId64,
			    i, f->m.rtt_ms, st->rtt);
		if (st->replies != ANY && f->m.replies != (uint64_t)st->replies)
			T_FAIL("step %zu: %" PRIu32 " replies, expected %" PRId64,
			    i, f->m.replies, st->replies);
	}
}
#define FX_STEPS(f, ...) T_DO(fx_steps((f), (const struct step[]){ __VA_ARGS__ }, \
	sizeof((const struct step[]){ __VA_ARGS__ }) / sizeof(struct step)))

static void
test_seq_new_is_counter_plus_one_and_wraps(void)
{
	struct fx f;

	T_DO(fx_open(&f, 64, 0xfffffffeu));
	T_EQ_INT(fx_new(&f, NULL, 0), 0);
	T_EQ_U64(f.s, 0xffffffffu);
	T_EQ_U64(f.counter, 0xffffffffu);
	T_EQ_INT(fx_new(&f, NULL, 0), 0);
	T_EQ_U64(f.s, 0);
	T_EQ_U64(f.counter, 0);
	T_EQ_INT(seq_usage(f.t).count, 2);
	seq_table_free(f.t);
}

static void
test_seq_pong_matches_once_with_rtt_from_clock(void)
{
	struct fx f;
	int ctx;

	T_DO(fx_open(&f, 64, 41));
	T_EQ_INT(fx_new(&f, &ctx, 0), 0);
	T_EQ_U64(f.s, 42);
	/*	  bi delta last  at  rc  first rtt replies */
	FX_STEPS(&f, { 0, 0, 1, 37, 0, 1, 37, 1 });
	T_ASSERT(f.m.ctx == &ctx);
	T_EQ_U64(f.m.created_ms, T0);
	/* A replayed Pong finds its entry gone. */
	FX_STEPS(&f, { 0, 0, 1, 38, SEQ_ERR_UNKNOWN, ANY, ANY, ANY });
	T_EQ_INT(seq_usage(f.t).count, 0);
	seq_table_free(f.t);
}

static void
test_seq_unknown_number_rejected(void)
{
	struct fx f;

	T_DO(fx_open(&f, 64, 100));
	T_EQ_INT(fx_new(&f, NULL, 0), 0);
	T_EQ_U64(f.s, 101);
	/* 100 and 102: one off either way. */
	FX_STEPS(&f, { 0, -1, 1, 1, SEQ_ERR_UNKNOWN, ANY, ANY, ANY },
	    { 0, 1, 1, 1, SEQ_ERR_UNKNOWN, ANY, ANY, ANY });
	T_EQ_INT(seq_usage(f.t).count, 1);
	FX_STEPS(&f, { 0, 0, 1, 1, 0, ANY, ANY, ANY });
	seq_table_free(f.t);
}

static void
test_seq_reply_from_other_identity_rejected(void)
{
	struct fx f;
	uint8_t b[33];

	T_DO(fx_open(&f, 64, 7));
	mkpub(b, 0xbb);
	T_EQ_INT(fx_new(&f, NULL, 0), 0);
	T_EQ_INT(seq_match(f.t, b, f.s, 1, T0 + 5, &f.m), SEQ_ERR_UNKNOWN);
	/* One differing bit of the key is another identity too. */
	memcpy(b, f.a, 33);
	b[32] ^= 1;
	T_EQ_INT(seq_match(f.t, b, f.s, 0, T0 + 5, &f.m), SEQ_ERR_UNKNOWN);
	/* The rightful sender still matches, first reply, RTT intact. */
	FX_STEPS(&f, { 0, 0, 1, 9, 0, 1, 9, ANY });
	seq_table_free(f.t);
}

static void
test_seq_expires_after_reply_timeout(void)
{
	struct fx f;
	uint32_t s1;
	int c1, c2;

	T_DO(fx_open(&f, 64, 0));
	T_EQ_INT(fx_new(&f, &c1, 0), 0);
	s1 = f.s;
	T_EQ_INT(fx_new(&f, &c2, 0), 0);
	/* 1 ms before ReplyTimeout: valid. */
	T_EQ_INT(seq_match(f.t, f.a, s1, 1, T0 + SEQ_REPLY_TIMEOUT_MS - 1, &f.m), 0);
	T_EQ_U64(f.m.rtt_ms, 19999);
	/* At ReplyTimeout: expired (Go: expires.After(now) is false), deleted. */
	FX_STEPS(&f, { 0, 0, 1, SEQ_REPLY_TIMEOUT_MS, SEQ_ERR_EXPIRED, ANY, ANY, ANY });
	T_EQ_INT(f.e.n, 1);
	T_EQ_U64(f.e.seq[0], f.s);
	T_ASSERT(f.e.ctx[0] == &c2);
	T_EQ_INT(f.e.why[0], SEQ_END_EXPIRED);
	T_EQ_INT(seq_usage(f.t).count, 0);
	FX_STEPS(&f, { 0, 0, 1, SEQ_REPLY_TIMEOUT_MS, SEQ_ERR_UNKNOWN, ANY, ANY, ANY });
	seq_table_free(f.t);
}

static void
test_seq_response_parts_extend_by_ten_seconds(void)
{
	struct fx f;

	T_DO(fx_open(&f, 64, 500));
	T_EQ_INT(fx_new(&f, NULL, 0), 0);
	FX_STEPS(&f,
	    /* Part 1 at +5 s: first reply, RTT 5000; expiry now +15 s. */
	    { 0, 0, 0, 5000, 0, 1, 5000, ANY },
	    /* Part 2 at +14.999 s: accepted, not first, no RTT. */
	    { 0, 0, 0, 14999, 0, 0, 0, 2 },
	    /* Past the original 20 s but within 10 s of part 2: still valid. */
	    { 0, 0, 1, 24998, 0, ANY, ANY, 3 },
	    /* The final part retired it; a replayed final part is rejected. */
	    { 0, 0, 1, 24999, SEQ_ERR_UNKNOWN, ANY, ANY, ANY });
	seq_table_free(f.t);
}

static void
test_seq_response_part_after_window_rejected(void)
{
	struct fx f;

	T_DO(fx_open(&f, 64, 1));
	T_EQ_INT(fx_new(&f, NULL, 0), 0);
	FX_STEPS(&f, { 0, 0, 0, 1000, 0, ANY, ANY, ANY },
	    /* Window ends at +11 s; a part at +11 s is late even though unswept. */
	    { 0, 0, 0, 11000, SEQ_ERR_EXPIRED, ANY, ANY, ANY });
	T_EQ_INT(seq_usage(f.t).count, 0);
	seq_table_free(f.t);
}

static void
test_seq_sweep_deletes_only_expired_and_reports_them(void)
{
	struct fx f;
	uint32_t s1, s2;

	T_DO(fx_open(&f, 64, 10));
	T_EQ_INT(fx_new(&f, NULL, 0), 0);
	s1 = f.s;
	T_EQ_INT(fx_new(&f, NULL, 5000), 0);
	s2 = f.s;
	T_EQ_INT(fx_new(&f, NULL, 10000), 0);
	/* Sweep deletes entries whose expiry is strictly before now. */
	T_EQ_INT(seq_sweep(f.t, T0 + 20000), 0);
	T_EQ_INT(seq_sweep(f.t, T0 + 25001), 2);
	T_EQ_INT(f.e.n, 2);
	T_ASSERT((f.e.seq[0] == s1 && f.e.seq[1] == s2) ||
	    (f.e.seq[0] == s2 && f.e.seq[1] == s1));
	T_EQ_INT(seq_usage(f.t).count, 1);
	T_EQ_INT(seq_remove(f.t, f.a, f.s), 0);
	T_EQ_INT(seq_remove(f.t, f.a, f.s), SEQ_ERR_UNKNOWN);
	T_EQ_INT(f.e.n, 2);	/* removal is not an "end" */
	seq_table_free(f.t);
}

static void
test_seq_arbitrary_first_contact_sequence_matches(void)
{
	struct fx f;
	int ctx;

	T_DO(fx_open(&f, 64, 0));
	f.s = 0x9e3779b9u;
	T_EQ_INT(seq_new_arbitrary(f.t, f.a, f.s, &ctx, T0), 0);
	FX_STEPS(&f, { 0, 0, 1, 120, 0, ANY, 120, ANY });
	T_ASSERT(f.m.ctx == &ctx);
	seq_table_free(f.t);
}

static void
test_seq_namespaces_are_separate(void)
{
	struct fx f;
	int cu, cb;

	T_DO(fx_open(&f, 64, 99));
	T_EQ_INT(fx_new(&f, &cu, 0), 0);
	T_EQ_U64(f.s, 100);
	/* The provider registers the requester's number 100 in 'b'. */
	T_EQ_INT(seq_register_bi(f.t, f.a, 100, &cb, SEQ_BI_FILE_MS, T0), 0);
	T_EQ_INT(seq_usage(f.t).count, 2);
	FX_STEPS(&f, { 1, 0, 0, 1, 0, ANY, ANY, ANY });
	T_ASSERT(f.m.ctx == &cb);
	FX_STEPS(&f, { 0, 0, 1, 2, 0, ANY, ANY, ANY });
	T_ASSERT(f.m.ctx == &cu);
	FX_STEPS(&f, { 0, 0, 1, 3, SEQ_ERR_UNKNOWN, ANY, ANY, ANY },
	    { 1, 0, 0, 4, 0, ANY, ANY, ANY });
	seq_table_free(f.t);
}

static void
test_seq_bi_requester_skips_numbers_in_use(void)
{
	struct fx f;
	uint8_t b[33];

	T_DO(fx_open(&f, 64, 1000));
	mkpub(b, 0xbb);
	T_EQ_INT(seq_register_bi(f.t, f.a, 1001, NULL, SEQ_BI_FILE_MS, T0), 0);
	T_EQ_INT(seq_register_bi(f.t, f.a, 1002, NULL, SEQ_BI_FILE_MS, T0), 0);
	/* In use for another peer does not count. */
	T_EQ_INT(seq_register_bi(f.t, b, 1003, NULL, SEQ_BI_FILE_MS, T0), 0);
	T_EQ_INT(seq_new_bi(f.t, f.a, &f.counter, NULL, SEQ_BI_FILE_MS, T0, &f.s), 0);
	T_EQ_U64(f.s, 1003);
	T_EQ_U64(f.counter, 1003);
	seq_table_free(f.t);
}

static void
test_seq_bi_gives_up_after_ten_thousand_tries(void)
{
	struct fx f;
	uint32_t i;

	T_DO(fx_open(&f, SEQ_BI_TRIES + 16, 0));
	f.s = 77;
	for (i = 1; i <= SEQ_BI_TRIES; i++)
		T_EQ_INT(seq_register_bi(f.t, f.a, i, NULL, SEQ_BI_FILE_MS, T0), 0);
	T_EQ_INT(seq_new_bi(f.t, f.a, &f.counter, NULL, SEQ_BI_FILE_MS, T0, &f.s),
	    SEQ_ERR_COLLISION);
	T_EQ_U64(f.counter, SEQ_BI_TRIES);
	T_EQ_U64(f.s, 77);
	/* The next call starts past the occupied range. */
	T_EQ_INT(seq_new_bi(f.t, f.a, &f.counter, NULL, SEQ_BI_FILE_MS, T0, &f.s), 0);
	T_EQ_U64(f.s, SEQ_BI_TRIES + 1);
	seq_table_free(f.t);
}

static void
test_seq_bi_register_replaces_and_ends_old_session(void)
{
	struct fx f;
	int old_ctx, new_ctx;

	T_DO(fx_open(&f, 64, 0));
	f.s = 5;
	T_EQ_INT(seq_register_bi(f.t, f.a, 5, &old_ctx, SEQ_BI_FILE_MS, T0), 0);
	T_EQ_INT(seq_register_bi(f.t, f.a, 5, &new_ctx, SEQ_BI_BLOCK_MS, T0 + 10), 0);
	T_EQ_INT(f.e.n, 1);
	T_ASSERT(f.e.ctx[0] == &old_ctx);
	T_EQ_INT(f.e.why[0], SEQ_END_REPLACED);
	T_EQ_INT(f.e.ns[0], SEQ_NS_BI);
	T_EQ_INT(seq_usage(f.t).count, 1);
	/* RTT from the new entry's creation */
	FX_STEPS(&f, { 1, 0, 0, 20, 0, ANY, 10, ANY });
	T_ASSERT(f.m.ctx == &new_ctx);
	seq_table_free(f.t);
}

static void
test_seq_bi_message_resets_idle_timeout(void)
{
	struct fx f;

	T_DO(fx_open(&f, 64, 0));
	T_EQ_INT(seq_new_bi(f.t, f.a, &f.counter, NULL, SEQ_BI_BLOCK_MS, T0, &f.s), 0);
	FX_STEPS(&f, { 1, 0, 0, 9000, 0, 1, 9000, ANY },
	    { 1, 0, 0, 18999, 0, 0, ANY, ANY },
	    /* 10 s of silence after the last message ends it. */
	    { 1, 0, 0, 28999, SEQ_ERR_EXPIRED, ANY, ANY, ANY });
	T_EQ_INT(seq_usage(f.t).count, 0);
	seq_table_free(f.t);
}

static void
test_seq_bi_last_message_deletes_entry(void)
{
	struct fx f;

	T_DO(fx_open(&f, 64, 0));
	T_EQ_INT(seq_new_bi(f.t, f.a, &f.counter, NULL, SEQ_BI_FILE_MS, T0, &f.s), 0);
	FX_STEPS(&f, { 1, 0, 1, 50, 0, ANY, ANY, ANY },
	    { 1, 0, 0, 51, SEQ_ERR_UNKNOWN, ANY, ANY, ANY });
	T_EQ_INT(seq_remove_bi(f.t, f.a, f.s), SEQ_ERR_UNKNOWN);
	seq_table_free(f.t);
}

static void
test_seq_table_full_refuses_until_entries_expire(void)
{
	struct fx f;
	int i;

	T_DO(fx_open(&f, 4, 0));
	T_EQ_INT(seq_usage(f.t).max, 4);
	for (i = 0; i < 4; i++)
		T_EQ_INT(fx_new(&f, NULL, (uint64_t)i), 0);
	T_EQ_INT(fx_new(&f, NULL, 100), SEQ_ERR_FULL);
	T_EQ_U64(f.counter, 4);	/* a refused sequence does not consume a number */
	T_EQ_INT(seq_register_bi(f.t, f.a, 9, NULL, SEQ_BI_FILE_MS, T0 + 100),
	    SEQ_ERR_FULL);
	/* Once the first two expired, an insert sweeps them and succeeds. */
	T_EQ_INT(fx_new(&f, NULL, 20002), 0);
	T_EQ_U64(f.s, 5);
	T_EQ_INT(f.e.n, 2);
	T_EQ_INT(seq_usage(f.t).count, 3);
	seq_table_free(f.t);
}

static void
test_seq_bulk_random_peers_stay_bounded(void)
{
	struct seq_table *t = seq_table_new(1024, hkey, NULL, NULL);
	struct seq_match m;
	uint8_t a[33];
	uint32_t counter, s, x = 12345;
	uint64_t now = T0;
	int i, rc, full = 0, ok = 0;

	for (i = 0; i < 200000; i++) {
		x = x * 1103515245u + 12345u;
		mkpub(a, (uint8_t)(x >> 16));
		memcpy(a + 1, &x, 4);
		counter = x;
		now += 1;
		rc = seq_new(t, a, &counter, NULL, now, &s);
		if (rc == SEQ_ERR_FULL) {
			full++;
			continue;
		}
		T_EQ_INT(rc, 0);
		if (i % 2) {
			T_EQ_INT(seq_match(t, a, s, 1, now, &m), 0);
			ok++;
		}
		T_ASSERT(seq_usage(t).count <= 1024);
	}
	T_EQ_INT(seq_usage(t).max, 1024);
	T_ASSERT(full > 0);	/* the cap was actually reached */
	T_ASSERT(ok > 0);
	seq_table_free(t);
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_seq_new_is_counter_plus_one_and_wraps);
	T_RUN(test_seq_pong_matches_once_with_rtt_from_clock);
	T_RUN(test_seq_unknown_number_rejected);
	T_RUN(test_seq_reply_from_other_identity_rejected);
	T_RUN(test_seq_expires_after_reply_timeout);
	T_RUN(test_seq_response_parts_extend_by_ten_seconds);
	T_RUN(test_seq_response_part_after_window_rejected);
	T_RUN(test_seq_sweep_deletes_only_expired_and_reports_them);
	T_RUN(test_seq_arbitrary_first_contact_sequence_matches);
	T_RUN(test_seq_namespaces_are_separate);
	T_RUN(test_seq_bi_requester_skips_numbers_in_use);
	T_RUN(test_seq_bi_gives_up_after_ten_thousand_tries);
	T_RUN(test_seq_bi_register_replaces_and_ends_old_session);
	T_RUN(test_seq_bi_message_resets_idle_timeout);
	T_RUN(test_seq_bi_last_message_deletes_entry);
	T_RUN(test_seq_table_full_refuses_until_entries_expire);
	T_RUN(test_seq_bulk_random_peers_stay_bounded);
	return t_done();
}
