/*
 * fuzz_keywords.c — random bytes as a file record's name/folder/description
 * and as a search term.  Input layout: byte 0 and 1 choose how the rest is
 * split into name | folder | description; the whole rest is also the query.
 * Invariants (abort() on violation): every keyword is valid UTF-8, at least
 * KW_MIN_LEN bytes, its hash is blake3 of its text, the set is sorted and
 * unique, and every keyword is lowercase-stable (re-adding it yields
 * itself).  The arenas are malloc'd at exactly the documented size, so
 * ASan catches any write past the KW_*_ARENA_SIZE bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unictype.h>
#include <unistr.h>

#include "blake3.h"
#include "keywords.h"

static struct kw_set	set, one;
static struct kw_query	qry;
static char		onearena[KW_INDEX_ARENA_SIZE(0, 0, 0) + 4 * KW_MAX_INPUT];

static void
check_keyword(const char *w, size_t len, const uint8_t *hash)
{
	uint8_t h[KW_HASH_LEN];
	ucs4_t uc;

	if (len < KW_MIN_LEN || w[len] != '\0')
		abort();
	if (u8_check((const uint8_t *)w, len) != NULL)
		abort();
	blake3_hash(w, len, h);
	if (memcmp(h, hash, KW_HASH_LEN) != 0)
		abort();
	/* trimmed: no White_Space at either end (libunistring as oracle) */
	if (u8_mbtoucr(&uc, (const uint8_t *)w, len) <= 0 ||
	    uc_is_property_white_space(uc))
		abort();
	if (u8_prev(&uc, (const uint8_t *)w + len, (const uint8_t *)w) == NULL ||
	    uc_is_property_white_space(uc))
		abort();
	/* lowercase-stable: the keyword of a keyword is itself */
	kw_set_init(&one, onearena, sizeof(onearena));
	if (kw_add(&one, w, len) != 0 || one.n != 1 || one.kw[0].len != len ||
	    memcmp(kw_text(&one, 0), w, len) != 0)
		abort();
}

static void
check_set(const struct kw_set *s)
{
	size_t i;

	if (s->n > KW_MAX_KEYWORDS || s->arena_len > s->arena_cap)
		abort();
	for (i = 0; i < s->n; i++) {
		const struct kw_keyword *k = &s->kw[i];

		check_keyword(kw_text(s, i), k->len, k->hash);
		if (kw_set_find(s, k->hash) != (long)i)
			abort();
		if (i > 0) {
			const struct kw_keyword *p = &s->kw[i - 1];
			size_t m = p->len < k->len ? p->len : k->len;
			int c = memcmp(kw_text(s, i - 1), kw_text(s, i), m);

			if (c > 0 || (c == 0 && p->len >= k->len))
				abort();	/* not strictly ascending */
		}
	}
}

/* Go's strings.ToValidUTF8(s, "") through libunistring's strict decoder. */
static size_t
oracle_valid(char *out, const uint8_t *in, size_t len)
{
	size_t i = 0, o = 0;
	ucs4_t uc;

	while (i < len) {
		int l = u8_mbtoucr(&uc, in + i, len - i);

		if (l < 0) {
			i++;
			continue;
		}
		memcpy(out + o, in + i, (size_t)l);
		o += (size_t)l;
		i += (size_t)l;
	}
	return o;
}

/* kw_clean must equal the oracle with White_Space trimmed at both ends. */
static void
check_clean(const uint8_t *in, size_t len)
{
	char *a = malloc(len + 1), *b = malloc(len + 1);
	size_t la, lb, st = 0, end;
	ucs4_t uc;

	if (a == NULL || b == NULL)
		abort();
	la = kw_clean(a, (const char *)in, len);
	lb = oracle_valid(b, in, len);
	while (st < lb) {
		int l = u8_mbtoucr(&uc, (uint8_t *)b + st, lb - st);

		if (l <= 0)
			abort();
		if (!uc_is_property_white_space(uc))
			break;
		st += (size_t)l;
	}
	end = lb;
	while (end > st) {
		const uint8_t *q = u8_prev(&uc, (uint8_t *)b + end,
		    (uint8_t *)b + st);

		if (q == NULL)
			abort();
		if (!uc_is_property_white_space(uc))
			break;
		end = (size_t)(q - (uint8_t *)b);
	}
	if (la != end - st || memcmp(a, b + st, la) != 0)
		abort();
	free(a);
	free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t rest, nlen, flen, dlen, cap, i;
	const char *p;
	char *arena;
	int rc;

	if (size < 2)
		return 0;
	rest = size - 2;
	if (rest > KW_MAX_INPUT)
		rest = KW_MAX_INPUT;
	p = (const char *)data + 2;
	nlen = rest * data[0] / 255;
	flen = (rest - nlen) * data[1] / 255;
	dlen = rest - nlen - flen;

	check_clean((const uint8_t *)p, rest);

	cap = KW_INDEX_ARENA_SIZE(nlen, flen, dlen);
	if ((arena = malloc(cap)) == NULL)
		abort();
	kw_set_init(&set, arena, cap);
	rc = kw_index_file(p, nlen, p + nlen, flen, p + nlen + flen, dlen, &set);
	if (rc != 0 && rc != KW_E_TRUNCATED)
		abort();
	if ((rc == KW_E_TRUNCATED) != (set.dropped > 0))
		abort();
	check_set(&set);
	free(arena);

	cap = KW_QUERY_ARENA_SIZE(rest);
	if ((arena = malloc(cap)) == NULL)
		abort();
	rc = kw_query_parse(p, rest, &qry, arena, cap);
	if (rc != 0 && rc != KW_E_TRUNCATED)
		abort();
	if (u8_check((const uint8_t *)qry.term, qry.term_len) != NULL ||
	    qry.term[qry.term_len] != '\0')
		abort();
	if (qry.wildcard != (memchr(qry.term, '*', qry.term_len) != NULL))
		abort();
	if (qry.searched != (qry.term_len >= KW_MIN_LEN))
		abort();
	if (!qry.searched && (qry.has_exact || qry.other.n != 0))
		abort();
	if (qry.has_exact)
		check_keyword(qry.exact_kw, qry.exact_len, qry.exact_hash);
	if (qry.exact && qry.other.n != 0)
		abort();
	check_set(&qry.other);
	for (i = 0; qry.has_exact && i < qry.other.n; i++)
		if (memcmp(qry.other.kw[i].hash, qry.exact_hash,
		    KW_HASH_LEN) == 0)
			abort();
	free(arena);
	return 0;
}
