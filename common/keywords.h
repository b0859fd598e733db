/*
 * keywords.h — search keyword derivation and query normalisation, byte for
 * byte as the Go reference's search package does it (docs/data.md §6.3-6.4,
 * vectors/search.json).  Pure functions: no I/O, no allocation; every output
 * lives in a caller-provided struct and a caller-provided arena whose size
 * the KW_*_ARENA_SIZE macros compute from the input lengths.
 *
 * The Unicode rules are Go's: strings.ToValidUTF8 (strict RFC 3629 decoding:
 * overlongs, surrogates and code points above U+10FFFF are invalid; every
 * byte that does not start a complete valid sequence is deleted),
 * unicode.IsSpace (White_Space), unicode.ToLower (simple lowercase mapping,
 * so "ß" stays "ß" and "İ" becomes "i"), and for the camel-case splitter
 * unicode.IsLower/IsUpper/IsDigit (general categories Ll/Lu/Nd exactly).
 * The tables come from libunistring (Debian 12: 1.0, Unicode 14.0).  Go uses
 * Unicode 13.0 up to Go 1.20 and 15.0 from Go 1.21; the vectors do not tell
 * which Go built them.  Only characters added in Unicode 14/15 can classify
 * differently (e.g. U+2C2F GLAGOLITIC CAPITAL CAUDATE CHRIVI lowercases to
 * U+2C5F here, but not under Go <= 1.20).
 *
 * Nothing is stripped beyond what the reference strips: no accent removal,
 * no normalisation (NFC/NFD), no case folding.
 */
#ifndef PEERNET_KEYWORDS_H
#define PEERNET_KEYWORDS_H

#include <stddef.h>
#include <stdint.h>

#define KW_HASH_LEN	32
/* Keywords shorter than this many BYTES (after lowercasing) are ignored. */
#define KW_MIN_LEN	3
/* Longest name, folder, description or query accepted (bytes, each). */
#define KW_MAX_INPUT	65536
/*
 * Most distinct keywords kept per file record or query.  The reference has
 * no limit; a record (or query) that yields more keeps the first
 * KW_MAX_KEYWORDS in derivation order (whole name, name without extension,
 * words of the name, of the folder, of the description) and the call
 * returns KW_E_TRUNCATED with the set still complete and usable.
 */
#define KW_MAX_KEYWORDS	512
#define KW_SLOTS	1024	/* dedup hash table: power of 2, >= 2x the above */

/*
 * Arena bytes that kw_index_file / kw_query_parse need, from the input
 * lengths.  Why these numbers: lowercasing grows UTF-8 by at most 1.5x
 * (U+023A -> U+2C65); the name yields itself, its base and its words with
 * their camel-case parts (<= 4x its length), folder and description yield
 * words and parts (<= 2x); one NUL per stored keyword; plus scratch room
 * for the cleaned inputs (index) or the cleaned term and exact keyword
 * (query).
 */
#define KW_INDEX_ARENA_SIZE(nlen, flen, dlen)				\
	(7 * (size_t)(nlen) + 4 * (size_t)(flen) + 4 * (size_t)(dlen) +	\
	    KW_MAX_KEYWORDS + 1)
#define KW_INDEX_ARENA_MAX						\
	KW_INDEX_ARENA_SIZE(KW_MAX_INPUT, KW_MAX_INPUT, KW_MAX_INPUT)
#define KW_QUERY_ARENA_SIZE(qlen)					\
	(6 * (size_t)(qlen) + KW_MAX_KEYWORDS + 3)
#define KW_QUERY_ARENA_MAX	KW_QUERY_ARENA_SIZE(KW_MAX_INPUT)

enum kw_err {
	KW_OK		=  0,
	KW_E_ARG	= -1,	/* NULL pointer with a non-zero length */
	KW_E_TOOLONG	= -2,	/* an input is longer than KW_MAX_INPUT */
	KW_E_NOSPACE	= -3,	/* arena smaller than KW_*_ARENA_SIZE */
	KW_E_TRUNCATED	= -4	/* > KW_MAX_KEYWORDS keywords: first ones kept */
};

struct kw_keyword {
	uint32_t	off;	/* text at set->arena + off, NUL-terminated */
	uint32_t	len;	/* bytes, without the NUL; >= KW_MIN_LEN */
	uint8_t		hash[KW_HASH_LEN];	/* blake3(text): the index key */
};

/* A set of keywords, unique by hash; sorted by text after kw_set_sort(). */
struct kw_set {
	size_t		 n;
	size_t		 dropped;	/* candidates not stored: set was full */
	char		*arena;
	size_t		 arena_len;
	size_t		 arena_cap;
	int		 has_exclude;	/* never store this hash (queries) */
	uint8_t		 exclude[KW_HASH_LEN];
	struct kw_keyword kw[KW_MAX_KEYWORDS];
	uint16_t	 slot[KW_SLOTS];	/* 0 = empty, else index + 1 */
};

/* The normalised query (reference: sanitizeInputTerm + Search). */
struct kw_query {
	const char	*term;		/* sanitised term (in the arena) */
	size_t		 term_len;
	int		 exact;		/* term was quoted: exact lookup only */
	int		 wildcard;	/* term contains '*' (computed, unused) */
	int		 searched;	/* term >= 3 bytes: lookups happen */
	int		 has_exact;	/* exact keyword >= 3 bytes */
	const char	*exact_kw;	/* trim(lower(term)), NUL-terminated */
	size_t		 exact_len;
	uint8_t		 exact_hash[KW_HASH_LEN];	/* looked up first */
	struct kw_set	 other;		/* other keywords (not exact mode) */
};

/* A part of a camel-case split: bytes [off, off + len) of the word. */
struct kw_span {
	size_t		off;
	size_t		len;
};

void	kw_set_init(struct kw_set *s, char *arena, size_t cap);
void	kw_set_clear(struct kw_set *s);
/* Index of the keyword with this hash, or -1. */
long	kw_set_find(const struct kw_set *s, const uint8_t hash[KW_HASH_LEN]);
/* Sorts by text (bytewise, i.e. code point order), keeping the set usable. */
void	kw_set_sort(struct kw_set *s);

static inline const char *
kw_text(const struct kw_set *s, size_t i)
{
	return s->arena + s->kw[i].off;
}

/*
 * One file record's keywords (reference: IndexNewBlock -> filename2Hashes +
 * text2Hashes) from its Name, Folder and Description tag data (any bytes).
 * Clears `out` first; `out` must have been kw_set_init'ed with an arena of
 * at least KW_INDEX_ARENA_SIZE(nlen, flen, dlen) bytes.  On success (0) or
 * KW_E_TRUNCATED the set is sorted and unique.
 */
int	kw_index_file(const char *name, size_t nlen, const char *folder,
	    size_t flen, const char *desc, size_t dlen, struct kw_set *out);

/*
 * Parses a user's search term.  `arena` (>= KW_QUERY_ARENA_SIZE(qlen)
 * bytes) holds the texts `out` points to and must outlive it.  0 or
 * KW_E_TRUNCATED (out->other holds the first KW_MAX_KEYWORDS).
 */
int	kw_query_parse(const char *q, size_t qlen, struct kw_query *out,
	    char *arena, size_t cap);

/* The building blocks, exported for searchd and the tests. */

/*
 * Reference sanitizeGeneric: deletes every byte that does not start a
 * valid UTF-8 sequence, then trims Unicode white space at both ends.  `out`
 * holds len bytes (it may equal `in`).  Returns the new length.
 */
size_t	kw_clean(char *out, const char *in, size_t len);
/*
 * Reference hashWordMap: adds trim(lower(w)) if it is >= KW_MIN_LEN bytes.
 * w must be valid UTF-8 (invalid bytes are copied unchanged, safely).
 */
int	kw_add(struct kw_set *s, const char *w, size_t len);
/* Reference text2Hashes: words, '#' prefix removal, camel-case parts. */
int	kw_words(struct kw_set *s, const char *text, size_t len);
/*
 * Reference CamelCaseSplit (fork of fatih/camelcase).  Writes at most max
 * parts and returns how many there are (may be > max).
 */
size_t	kw_camel_split(const char *w, size_t len, struct kw_span *parts,
	    size_t max);
/* Go unicode.IsSpace / unicode.ToLower on one code point. */
int	kw_is_space(uint32_t cp);
uint32_t kw_tolower(uint32_t cp);
/* Strict (Go) UTF-8 decoding: sequence length at s, or 0 if invalid. */
size_t	kw_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);

const char *kw_strerror(int err);

#endif
