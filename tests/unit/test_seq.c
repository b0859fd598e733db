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

static void
test_seq_new_is_counter_plus_one_and_wraps(void)
{
	struct seq_table *t = seq_table_new(64, hkey, NULL, NULL);
	uint8_t a[33];
	uint32_t counter = 0xfffffffeu, s;

	mkpub(a, 0xaa);
	T_ASSERT(t != NULL);
	T_EQ_INT(seq_new(t, a, &counter, NULL, T0, &s), 0);
	T_EQ_U64(s, 0xffffffffu);
	T_EQ_U64(counter, 0xffffffffu);
	T_EQ_INT(seq_new(t, a, &counter, NULL, T0, &s), 0);
	T_EQ_U64(s, 0);
	T_EQ_U64(counter, 0);
	T_EQ_INT(seq_count(t), 2);
	seq_table_free(t);
}

static void
test_seq_pong_matches_once_with_rtt_from_clock(void)
{
	struct seq_table *t = seq_table_new(64, hkey, NULL, NULL);
	struct seq_match m;
	uint8_t a[33];
	uint32_t counter = 41, s;
	int ctx;

	mkpub(a, 0xaa);
	T_EQ_INT(seq_new(t, a, &counter, &ctx, T0, &s), 0);
	T_EQ_U64(s, 42);
	T_EQ_INT(seq_match(t, a, 42, 1, T0 + 37, &m), 0);
	T_ASSERT(m.ctx == &ctx);
	T_EQ_INT(m.first, 1);
	T_EQ_U64(m.rtt_ms, 37);
	T_EQ_U64(m.replies, 1);
	T_EQ_U64(m.created_ms, T0);
	/* A replayed Pong finds its entry gone. */
	T_EQ_INT(seq_match(t, a, 42, 1, T0 + 38, &m), SEQ_ERR_UNKNOWN);
	T_EQ_INT(seq_count(t), 0);
	seq_table_free(t);
}

static void
test_seq_unknown_number_rejected(void)
{
	struct seq_table *t = seq_table_new(64, hkey, NULL, NULL);
	struct seq_match m;
	uint8_t a[33];
	uint32_t counter = 100, s;

	mkpub(a, 0xaa);
	T_EQ_INT(seq_new(t, a, &counter, NULL, T0, &s), 0);
	T_EQ_INT(seq_match(t, a, 100, 1, T0 + 1, &m), SEQ_ERR_UNKNOWN);
	T_EQ_INT(seq_match(t, a, 102, 1, T0 + 1, &m), SEQ_ERR_UNKNOWN);
	T_EQ_INT(seq_count(t), 1);
	T_EQ_INT(seq_match(t, a, 101, 1, T0 + 1, &m), 0);
	seq_table_free(t);
}

static void
test_seq_reply_from_other_identity_rejected(void)
{
	struct seq_table *t = seq_table_new(64, hkey, NULL, NULL);
	struct seq_match m;
	uint8_t a[33], b[33];
	uint32_t counter = 7, s;

	mkpub(a, 0xaa);
	mkpub(b, 0xbb);
	T_EQ_INT(seq_new(t, a, &counter, NULL, T0, &s), 0);
	T_EQ_INT(seq_match(t, b, s, 1, T0 + 5, &m), SEQ_ERR_UNKNOWN);
	/* One differing bit of the key is another identity too. */
	memcpy(b, a, 33);
	b[32] ^= 1;
	T_EQ_INT(seq_match(t, b, s, 0, T0 + 5, &m), SEQ_ERR_UNKNOWN);
	/* The rightful sender still matches, first reply, RTT intact. */
	T_EQ_INT(seq_match(t, a, s, 1, T0 + 9, &m), 0);
	T_EQ_INT(m.first, 1);
	T_EQ_U64(m.rtt_ms, 9);
	seq_table_free(t);
}

static void
test_seq_expires_after_reply_timeout(void)
{
	struct ended e = { 0 };
	struct seq_table *t = seq_table_new(64, hkey, on_end, &e);
	struct seq_match m;
	uint8_t a[33];
	uint32_t counter = 0, s1, s2;
	int c1, c2;

	mkpub(a, 0xaa);
	T_EQ_INT(seq_new(t, a, &counter, &c1, T0, &s1), 0);
	T_EQ_INT(seq_new(t, a, &counter, &c2, T0, &s2), 0);
	/* 1 ms before ReplyTimeout: valid. */
	T_EQ_INT(seq_match(t, a, s1, 1, T0 + SEQ_REPLY_TIMEOUT_MS - 1, &m), 0);
	T_EQ_U64(m.rtt_ms, 19999);
	/* At ReplyTimeout: expired (Go: expires.After(now) is false), deleted. */
	T_EQ_INT(seq_match(t, a, s2, 1, T0 + SEQ_REPLY_TIMEOUT_MS, &m),
	    SEQ_ERR_EXPIRED);
	T_EQ_INT(e.n, 1);
	T_EQ_U64(e.seq[0], s2);
	T_ASSERT(e.ctx[0] == &c2);
	T_EQ_INT(e.why[0], SEQ_END_EXPIRED);
	T_EQ_INT(seq_count(t), 0);
	T_EQ_INT(seq_match(t, a, s2, 1, T0 + SEQ_REPLY_TIMEOUT_MS, &m),
	    SEQ_ERR_UNKNOWN);
	seq_table_free(t);
}

static void
test_seq_response_parts_extend_by_ten_seconds(void)
{
	struct seq_table *t = seq_table_new(64, hkey, NULL, NULL);
	struct seq_match m;
	uint8_t a[33];
	uint32_t counter = 500, s;

	mkpub(a, 0xaa);
	T_EQ_INT(seq_new(t, a, &counter, NULL, T0, &s), 0);
	/* Part 1 at +5 s: first reply, RTT 5000; expiry now +15 s. */
	T_EQ_INT(seq_match(t, a, s, 0, T0 + 5000, &m), 0);
	T_EQ_INT(m.first, 1);
	T_EQ_U64(m.rtt_ms, 5000);
	/* Part 2 at +14.999 s: accepted, not first, no RTT. */
	T_EQ_INT(seq_match(t, a, s, 0, T0 + 14999, &m), 0);
	T_EQ_INT(m.first, 0);
	T_EQ_U64(m.rtt_ms, 0);
	T_EQ_U64(m.replies, 2);
	/* Past the original 20 s but within 10 s of part 2: still valid. */
	T_EQ_INT(seq_match(t, a, s, 1, T0 + 24998, &m), 0);
	T_EQ_U64(m.replies, 3);
	/* The final part retired it; a replayed final part is rejected. */
	T_EQ_INT(seq_match(t, a, s, 1, T0 + 24999, &m), SEQ_ERR_UNKNOWN);
	seq_table_free(t);
}

static void
test_seq_response_part_after_window_rejected(void)
{
	struct seq_table *t = seq_table_new(64, hkey, NULL, NULL);
	struct seq_match m;
	uint8_t a[33];
	uint32_t counter = 1, s;

	mkpub(a, 0xaa);
	T_EQ_INT(seq_new(t, a, &counter, NULL, T0, &s), 0);
	T_EQ_INT(seq_match(t, a, s, 0, T0 + 1000, &m), 0);
	/* Window ends at +11 s; a part at +11 s is late even though unswept. */
	T_EQ_INT(seq_match(t, a, s, 0, T0 + 11000, &m), SEQ_ERR_EXPIRED);
	T_EQ_INT(seq_count(t), 0);
	seq_table_free(t);
}

static void
test_seq_sweep_deletes_only_expired_and_reports_them(void)
{
	struct ended e = { 0 };
	struct seq_table *t = seq_table_new(64, hkey, on_end, &e);
	uint8_t a[33];
	uint32_t counter = 10, s1, s2, s3;

	mkpub(a, 0xaa);
	T_EQ_INT(seq_new(t, a, &counter, NULL, T0, &s1), 0);
	T_EQ_INT(seq_new(t, a, &counter, NULL, T0 + 5000, &s2), 0);
	T_EQ_INT(seq_new(t, a, &counter, NULL, T0 + 10000, &s3), 0);
	/* Sweep deletes entries whose expiry is strictly before now. */
	T_EQ_INT(seq_sweep(t, T0 + 20000), 0);
	T_EQ_INT(seq_sweep(t, T0 + 25001), 2);
	T_EQ_INT(e.n, 2);
	T_ASSERT((e.seq[0] == s1 && e.seq[1] == s2) ||
	    (e.seq[0] == s2 && e.seq[1] == s1));
	T_EQ_INT(seq_count(t), 1);
	T_EQ_INT(seq_remove(t, a, s3), 0);
	T_EQ_INT(seq_remove(t, a, s3), SEQ_ERR_UNKNOWN);
	T_EQ_INT(e.n, 2);	/* removal is not an "end" */
	seq_table_free(t);
}

static void
test_seq_arbitrary_first_contact_sequence_matches(void)
{
	struct seq_table *t = seq_table_new(64, hkey, NULL, NULL);
	struct seq_match m;
	uint8_t a[33];
	int ctx;

	mkpub(a, 0xaa);
	T_EQ_INT(seq_new_arbitrary(t, a, 0x9e3779b9u, &ctx, T0), 0);
	T_EQ_INT(seq_match(t, a, 0x9e3779b9u, 1, T0 + 120, &m), 0);
	T_ASSERT(m.ctx == &ctx);
	T_EQ_U64(m.rtt_ms, 120);
	seq_table_free(t);
}

static void
test_seq_namespaces_are_separate(void)
{
	struct seq_table *t = seq_table_new(64, hkey, NULL, NULL);
	struct seq_match m;
	uint8_t a[33];
	uint32_t counter = 99, s;
	int cu, cb;

	mkpub(a, 0xaa);
	T_EQ_INT(seq_new(t, a, &counter, &cu, T0, &s), 0);
	T_EQ_U64(s, 100);
	/* The provider registers the requester's number 100 in 'b'. */
	T_EQ_INT(seq_register_bi(t, a, 100, &cb, SEQ_BI_FILE_MS, T0), 0);
	T_EQ_INT(seq_count(t), 2);
	T_EQ_INT(seq_match_bi(t, a, 100, 0, T0 + 1, &m), 0);
	T_ASSERT(m.ctx == &cb);
	T_EQ_INT(seq_match(t, a, 100, 1, T0 + 2, &m), 0);
	T_ASSERT(m.ctx == &cu);
	T_EQ_INT(seq_match(t, a, 100, 1, T0 + 3, &m), SEQ_ERR_UNKNOWN);
	T_EQ_INT(seq_match_bi(t, a, 100, 0, T0 + 4, &m), 0);
	seq_table_free(t);
}

static void
test_seq_bi_requester_skips_numbers_in_use(void)
{
	struct seq_table *t = seq_table_new(64, hkey, NULL, NULL);
	uint8_t a[33], b[33];
	uint32_t counter = 1000, s;

	mkpub(a, 0xaa);
	mkpub(b, 0xbb);
	T_EQ_INT(seq_register_bi(t, a, 1001, NULL, SEQ_BI_FILE_MS, T0), 0);
	T_EQ_INT(seq_register_bi(t, a, 1002, NULL, SEQ_BI_FILE_MS, T0), 0);
	/* In use for another peer does not count. */
	T_EQ_INT(seq_register_bi(t, b, 1003, NULL, SEQ_BI_FILE_MS, T0), 0);
	T_EQ_INT(seq_new_bi(t, a, &counter, NULL, SEQ_BI_FILE_MS, T0, &s), 0);
	T_EQ_U64(s, 1003);
	T_EQ_U64(counter, 1003);
	seq_table_free(t);
}

static void
test_seq_bi_gives_up_after_ten_thousand_tries(void)
{
	struct seq_table *t = seq_table_new(SEQ_BI_TRIES + 16, hkey, NULL, NULL);
	uint8_t a[33];
	uint32_t counter = 0, s = 77, i;

	mkpub(a, 0xaa);
	for (i = 1; i <= SEQ_BI_TRIES; i++)
		T_EQ_INT(seq_register_bi(t, a, i, NULL, SEQ_BI_FILE_MS, T0), 0);
	T_EQ_INT(seq_new_bi(t, a, &counter, NULL, SEQ_BI_FILE_MS, T0, &s),
	    SEQ_ERR_COLLISION);
	T_EQ_U64(counter, SEQ_BI_TRIES);
	T_EQ_U64(s, 77);
	/* The next call starts past the occupied range. */
	T_EQ_INT(seq_new_bi(t, a, &counter, NULL, SEQ_BI_FILE_MS, T0, &s), 0);
	T_EQ_U64(s, SEQ_BI_TRIES + 1);
	seq_table_free(t);
}

static void
test_seq_bi_register_replaces_and_ends_old_session(void)
{
	struct ended e = { 0 };
	struct seq_table *t = seq_table_new(64, hkey, on_end, &e);
	struct seq_match m;
	uint8_t a[33];
	int old_ctx, new_ctx;

	mkpub(a, 0xaa);
	T_EQ_INT(seq_register_bi(t, a, 5, &old_ctx, SEQ_BI_FILE_MS, T0), 0);
	T_EQ_INT(seq_register_bi(t, a, 5, &new_ctx, SEQ_BI_BLOCK_MS, T0 + 10), 0);
	T_EQ_INT(e.n, 1);
	T_ASSERT(e.ctx[0] == &old_ctx);
	T_EQ_INT(e.why[0], SEQ_END_REPLACED);
	T_EQ_INT(e.ns[0], SEQ_NS_BI);
	T_EQ_INT(seq_count(t), 1);
	T_EQ_INT(seq_match_bi(t, a, 5, 0, T0 + 20, &m), 0);
	T_ASSERT(m.ctx == &new_ctx);
	T_EQ_U64(m.rtt_ms, 10);	/* RTT from the new entry's creation */
	seq_table_free(t);
}

static void
test_seq_bi_message_resets_idle_timeout(void)
{
	struct seq_table *t = seq_table_new(64, hkey, NULL, NULL);
	struct seq_match m;
	uint8_t a[33];
	uint32_t counter = 0, s;

	mkpub(a, 0xaa);
	T_EQ_INT(seq_new_bi(t, a, &counter, NULL, SEQ_BI_BLOCK_MS, T0, &s), 0);
	T_EQ_INT(seq_match_bi(t, a, s, 0, T0 + 9000, &m), 0);
	T_EQ_INT(m.first, 1);
	T_EQ_U64(m.rtt_ms, 9000);
	T_EQ_INT(seq_match_bi(t, a, s, 0, T0 + 18999, &m), 0);
	T_EQ_INT(m.first, 0);
	/* 10 s of silence after the last message ends it. */
	T_EQ_INT(seq_match_bi(t, a, s, 0, T0 + 28999, &m), SEQ_ERR_EXPIRED);
	T_EQ_INT(seq_count(t), 0);
	seq_table_free(t);
}

static void
test_seq_bi_last_message_deletes_entry(void)
{
	struct seq_table *t = seq_table_new(64, hkey, NULL, NULL);
	struct seq_match m;
	uint8_t a[33];
	uint32_t counter = 0, s;

	mkpub(a, 0xaa);
	T_EQ_INT(seq_new_bi(t, a, &counter, NULL, SEQ_BI_FILE_MS, T0, &s), 0);
	T_EQ_INT(seq_match_bi(t, a, s, 1, T0 + 50, &m), 0);
	T_EQ_INT(seq_match_bi(t, a, s, 0, T0 + 51, &m), SEQ_ERR_UNKNOWN);
	T_EQ_INT(seq_remove_bi(t, a, s), SEQ_ERR_UNKNOWN);
	seq_table_free(t);
}

static void
test_seq_table_full_refuses_until_entries_expire(void)
{
	struct ended e = { 0 };
	struct seq_table *t = seq_table_new(4, hkey, on_end, &e);
	uint8_t a[33];
	uint32_t counter = 0, s = 0;
	int i;

	mkpub(a, 0xaa);
	T_EQ_INT(seq_capacity(t), 4);
	for (i = 0; i < 4; i++)
		T_EQ_INT(seq_new(t, a, &counter, NULL, T0 + (uint64_t)i, &s), 0);
	T_EQ_INT(seq_new(t, a, &counter, NULL, T0 + 100, &s), SEQ_ERR_FULL);
	T_EQ_U64(counter, 4);	/* a refused sequence does not consume a number */
	T_EQ_INT(seq_register_bi(t, a, 9, NULL, SEQ_BI_FILE_MS, T0 + 100),
	    SEQ_ERR_FULL);
	/* Once the first two expired, an insert sweeps them and succeeds. */
	T_EQ_INT(seq_new(t, a, &counter, NULL, T0 + 20002, &s), 0);
	T_EQ_U64(s, 5);
	T_EQ_INT(e.n, 2);
	T_EQ_INT(seq_count(t), 3);
	seq_table_free(t);
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
		T_ASSERT(seq_count(t) <= 1024);
	}
	T_EQ_INT(seq_capacity(t), 1024);
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
