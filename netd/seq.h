/*
 * seq.h — sequence numbers of peernet-netd (docs/protocol.md §4) as a pure module.
 *
 * A table of outstanding sequence numbers, keyed by (namespace, remote
 * compressed public key, number): a reply matches only an entry created
 * for the identity that signed it, whichever of that peer's addresses it
 * came from (§4).  Two namespaces (§4.1): unidirectional (we asked:
 * Announcement -> Response, Ping -> Pong) and bidirectional (Transfer /
 * Get Block sessions, numbered by either side).
 *
 * No clock and no randomness inside: every call takes now_ms (a monotonic
 * millisecond clock; any origin) and the caller supplies the per-peer
 * counter (struct peer's seq_counter, §4.2) or the random first-contact
 * number.  No I/O, no threads; one table per node.
 *
 * Bounds: the table holds at most `max_entries` entries, allocated once in
 * seq_table_new (SEQ_ENTRY_BYTES each plus a bucket array).  When it is full
 * the expired entries are swept first; if that frees nothing the new entry
 * is refused with SEQ_ERR_FULL (the request is then simply not sent: a node
 * with 16384 requests in flight has bigger problems than one lost Ping).
 *
 * The end callback runs when an entry ends without being consumed by a
 * valid reply: it expired (seq_sweep, or a reply found it expired) or it was
 * replaced by a colliding registration.  It never runs for entries retired
 * by a matching final reply, by seq_remove*, or by seq_table_free.  It may
 * not call back into the table.
 */
#ifndef PEERNET_SEQ_H
#define PEERNET_SEQ_H

#include <stddef.h>
#include <stdint.h>

#include "ident.h"

/* Timers (§4.3, §10.2), milliseconds. */
#define SEQ_REPLY_TIMEOUT_MS	20000	/* ReplyTimeout: unidirectional entry life */
#define SEQ_RESPONSE_EXTEND_MS	10000	/* follow-up Response window (ReplyTimeout / 2) */
#define SEQ_SWEEP_MS		20000	/* how often the glue calls seq_sweep */
#define SEQ_BI_FILE_MS		60000	/* Transfer session idle timeout (§9.2) */
#define SEQ_BI_BLOCK_MS		10000	/* Get Block session idle timeout (§9.2) */
#define SEQ_BI_TRIES		10000	/* collision loop of NewSequenceBi (§4.2) */

/* Caps. */
#define SEQ_MAX_DEFAULT		16384	/* a reasonable max_entries for netd */
#define SEQ_MAX_LIMIT		(1u << 22)	/* largest max_entries accepted */

enum seq_ns {
	SEQ_NS_UNI = 0,		/* 'u': our Announcements and Pings */
	SEQ_NS_BI = 1,		/* 'b': Transfer / Get Block sessions */
};

enum seq_end {
	SEQ_END_EXPIRED = 1,	/* no (further) reply within its lifetime */
	SEQ_END_REPLACED = 2,	/* a new entry with the same key took its place */
};

enum seq_err {
	SEQ_OK = 0,
	SEQ_ERR_ARG = -1,	/* NULL argument, zero timeout, bad max_entries */
	SEQ_ERR_NOMEM = -2,	/* allocation failed (seq_table_new only) */
	SEQ_ERR_FULL = -3,	/* max_entries live entries, none expired */
	SEQ_ERR_UNKNOWN = -4,	/* no entry: never issued, already retired, other identity */
	SEQ_ERR_EXPIRED = -5,	/* entry found but past its expiry (now deleted) */
	SEQ_ERR_COLLISION = -6,	/* seq_new_bi: SEQ_BI_TRIES numbers in use */
};

const char *seq_strerror(int err);

typedef void (*seq_end_fn)(void *arg, const uint8_t pub[PEERNET_PUBKEY_BYTES],
    uint32_t seq, enum seq_ns ns, void *ctx, enum seq_end why);

struct seq_table;

/* Approximate memory per entry, for sizing (entry + bucket slot). */
#define SEQ_ENTRY_BYTES		96

/*
 * Allocates a table for max_entries (1..SEQ_MAX_LIMIT) entries.  hash_key
 * keys the SipHash of the lookup table (random per process, so that remote
 * peers cannot aim for one bucket).  end/arg may be NULL.
 */
struct seq_table *seq_table_new(size_t max_entries,
	    const uint8_t hash_key[16], seq_end_fn end, void *arg);
void	seq_table_free(struct seq_table *t);

/*
 * Unidirectional, for Announcements (one per split part), Pings and
 * keep-alive Announcements: *seq = ++*counter (wrapping, §4.2), expiring
 * 20 s from now.  ctx is returned by the matching reply.  An existing entry
 * with the same key is replaced (end callback, SEQ_END_REPLACED).
 */
int	seq_new(struct seq_table *t, const uint8_t pub[PEERNET_PUBKEY_BYTES],
	    uint32_t *counter, void *ctx, uint64_t now_ms, uint32_t *seq);
/* First contact (§4.2, §6.6): like seq_new with the caller's random number. */
int	seq_new_arbitrary(struct seq_table *t,
	    const uint8_t pub[PEERNET_PUBKEY_BYTES], uint32_t random_seq,
	    void *ctx, uint64_t now_ms);

struct seq_match {
	void		*ctx;		/* as given when the entry was created */
	uint32_t	 replies;	/* replies matched so far, this one included */
	int		 first;		/* 1 if this is the first reply to the entry */
	uint32_t	 rtt_ms;	/* first reply: now - creation (0 = under 1 ms); else 0 */
	uint64_t	 created_ms;
};

/*
 * A Response or a Pong from pub with this sequence (§4.3).  is_last: Pong,
 * or a Response with SEQUENCE_LAST: the entry is deleted.  Otherwise (a
 * non-final Response part) its expiry becomes now + 10 s.  Returns 0 and
 * fills *out, SEQ_ERR_UNKNOWN, or SEQ_ERR_EXPIRED (the entry is deleted
 * and the end callback runs).
 *
 * Deviation, deliberate: the reference extends a non-final part's entry
 * before checking its expiry, so a late part revives an expired but not
 * yet swept entry; we check expiry first, as §4.3 states the rule.
 */
int	seq_match(struct seq_table *t, const uint8_t pub[PEERNET_PUBKEY_BYTES],
	    uint32_t seq, int is_last, uint64_t now_ms, struct seq_match *out);
/* InvalidateSequence: drops an unidirectional entry; SEQ_ERR_UNKNOWN if absent. */
int	seq_remove(struct seq_table *t, const uint8_t pub[PEERNET_PUBKEY_BYTES],
	    uint32_t seq);

/*
 * Bidirectional, requester side (NewSequenceBi): increments *counter until
 * a number free in the 'b' namespace for pub is found (at most SEQ_BI_TRIES
 * tries, §4.2).  The entry expires timeout_ms after the last message.
 */
int	seq_new_bi(struct seq_table *t, const uint8_t pub[PEERNET_PUBKEY_BYTES],
	    uint32_t *counter, void *ctx, uint32_t timeout_ms, uint64_t now_ms,
	    uint32_t *seq);
/*
 * Bidirectional, provider side (RegisterSequenceBi): registers exactly the
 * requester's number; an existing entry is replaced and its end callback
 * runs with SEQ_END_REPLACED.
 */
int	seq_register_bi(struct seq_table *t,
	    const uint8_t pub[PEERNET_PUBKEY_BYTES], uint32_t seq, void *ctx,
	    uint32_t timeout_ms, uint64_t now_ms);
/*
 * A Transfer / Get Block message (ValidateSequenceBi).  is_last (Transfer
 * NOT_AVAILABLE/TERMINATE, Get Block NOT_AVAILABLE/TERMINATE/EMPTY) deletes
 * the entry; any other message resets its expiry to now + its timeout.
 * REQUEST_START is processed by the caller even when this fails (§4.3).
 */
int	seq_match_bi(struct seq_table *t, const uint8_t pub[PEERNET_PUBKEY_BYTES],
	    uint32_t seq, int is_last, uint64_t now_ms, struct seq_match *out);
int	seq_remove_bi(struct seq_table *t,
	    const uint8_t pub[PEERNET_PUBKEY_BYTES], uint32_t seq);

/*
 * Deletes every entry whose expiry is before now_ms and runs the end
 * callbacks (the reference does this every 20 s; expired entries are
 * already invalid before that).  Returns the number deleted.
 */
size_t	seq_sweep(struct seq_table *t, uint64_t now_ms);

/* Entries held and the most the table may hold (its fixed arrays). */
struct seq_usage {
	size_t	count;
	size_t	max;
};
struct seq_usage seq_usage(const struct seq_table *t);

#endif /* PEERNET_SEQ_H */
