/*
 * keywords.c — search keyword derivation and query normalisation; see
 * keywords.h for the rules and docs/data.md §6.3-6.4 for the reference.
 */
#define _GNU_SOURCE	/* qsort_r */
#include <stdlib.h>
#include <string.h>

#include <unicase.h>
#include <unictype.h>

#include "blake3.h"
#include "keywords.h"

enum cls { CLS_NONE, CLS_LOWER, CLS_UPPER, CLS_DIGIT, CLS_OTHER };

size_t
kw_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp)
{
	uint8_t c, lo = 0x80, hi = 0xbf;

	if (n == 0)
		return 0;
	c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c < 0xc2)		/* continuation byte or overlong lead */
		return 0;
	if (c < 0xe0) {
		if (n < 2 || (s[1] & 0xc0) != 0x80)
			return 0;
		*cp = (uint32_t)(c & 0x1f) << 6 | (s[1] & 0x3f);
		return 2;
	}
	if (c < 0xf0) {
		if (c == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* surrogates */
		if (n < 3 || s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80)
			return 0;
		*cp = (uint32_t)(c & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 |
		    (s[2] & 0x3f);
		return 3;
	}
	if (c < 0xf5) {
		if (c == 0xf0)
			lo = 0x90;	/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;	/* > U+10FFFF */
		if (n < 4 || s[1] < lo || s[1] > hi ||
		    (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		*cp = (uint32_t)(c & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
		    (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
		return 4;
	}
	return 0;
}

/*
 * Decodes the code point at s for scanning text that should already be
 * valid: an invalid byte reads as a one-byte U+FFFD (Go's range loop does
 * the same), so every caller advances and never reads past n.
 */
static size_t
next_cp(const char *s, size_t n, uint32_t *cp)
{
	size_t l = kw_utf8_decode((const uint8_t *)s, n, cp);

	if (l == 0) {
		*cp = 0xfffd;
		l = 1;
	}
	return l;
}

static size_t
utf8_encode(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

int
kw_is_space(uint32_t cp)
{
	if (cp < 0x80)
		return cp == ' ' || (cp >= '\t' && cp <= '\r');
	return uc_is_property_white_space(cp);
}

uint32_t
kw_tolower(uint32_t cp)
{
	if (cp < 0x80)
		return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
	return uc_tolower(cp);
}

/* The classes of the reference's camel-case splitter, in its test order. */
static enum cls
cp_class(uint32_t cp)
{
	if (cp < 0x80) {
		if (cp >= 'a' && cp <= 'z')
			return CLS_LOWER;
		if (cp >= 'A' && cp <= 'Z')
			return CLS_UPPER;
		if (cp >= '0' && cp <= '9')
			return CLS_DIGIT;
		return CLS_OTHER;
	}
	if (uc_is_general_category_withtable(cp, UC_CATEGORY_MASK_Ll))
		return CLS_LOWER;
	if (uc_is_general_category_withtable(cp, UC_CATEGORY_MASK_Lu))
		return CLS_UPPER;
	if (uc_is_general_category_withtable(cp, UC_CATEGORY_MASK_Nd))
		return CLS_DIGIT;
	return CLS_OTHER;
}

/* The separators of text2Hashes' FieldsFunc. */
static int
is_sep(uint32_t cp)
{
	switch (cp) {
	case '+': case '-': case '.': case '_': case '(': case ')':
	case '[': case ']': case ',': case 0x2013:
		return 1;
	}
	return kw_is_space(cp);
}

/* Length of s without trailing white space (s is UTF-8, maybe invalid). */
static size_t
rtrim_len(const char *s, size_t n)
{
	while (n > 0) {
		size_t st = n - 1, k = 0;
		uint32_t cp;

		/* back over at most 3 continuation bytes to a lead byte */
		while (st > 0 && k < 3 && ((uint8_t)s[st] & 0xc0) == 0x80) {
			st--;
			k++;
		}
		if (kw_utf8_decode((const uint8_t *)s + st, n - st, &cp) !=
		    n - st || !kw_is_space(cp))
			break;
		n = st;
	}
	return n;
}

/* Bytes of leading white space in s. */
static size_t
ltrim_len(const char *s, size_t n)
{
	size_t i = 0;
	uint32_t cp;

	while (i < n) {
		size_t l = kw_utf8_decode((const uint8_t *)s + i, n - i, &cp);

		if (l == 0 || !kw_is_space(cp))
			break;
		i += l;
	}
	return i;
}

size_t
kw_clean(char *out, const char *in, size_t len)
{
	size_t i = 0, o = 0, lt;
	uint32_t cp;

	/* ToValidUTF8(s, ""): keep valid sequences, drop a byte otherwise */
	while (i < len) {
		size_t l = kw_utf8_decode((const uint8_t *)in + i, len - i, &cp);

		if (l == 0) {
			i++;
			continue;
		}
		memmove(out + o, in + i, l);
		o += l;
		i += l;
	}
	o = rtrim_len(out, o);
	lt = ltrim_len(out, o);
	if (lt > 0)
		memmove(out, out + lt, o - lt);
	return o - lt;
}

void
kw_set_clear(struct kw_set *s)
{
	s->n = 0;
	s->dropped = 0;
	s->arena_len = 0;
	s->has_exclude = 0;
	memset(s->slot, 0, sizeof(s->slot));
}

void
kw_set_init(struct kw_set *s, char *arena, size_t cap)
{
	s->arena = arena;
	s->arena_cap = arena == NULL ? 0 : cap;
	kw_set_clear(s);
}

static size_t
slot_of(const uint8_t *hash)
{
	/* blake3 output is uniform: its first bytes are a fine table hash */
	return ((size_t)hash[0] | (size_t)hash[1] << 8) & (KW_SLOTS - 1);
}

long
kw_set_find(const struct kw_set *s, const uint8_t hash[KW_HASH_LEN])
{
	size_t i;

	for (i = slot_of(hash); s->slot[i] != 0; i = (i + 1) & (KW_SLOTS - 1)) {
		size_t k = s->slot[i] - 1u;

		if (memcmp(s->kw[k].hash, hash, KW_HASH_LEN) == 0)
			return (long)k;
	}
	return -1;
}

static void
slot_put(struct kw_set *s, size_t k)
{
	size_t i = slot_of(s->kw[k].hash);

	while (s->slot[i] != 0)
		i = (i + 1) & (KW_SLOTS - 1);
	s->slot[i] = (uint16_t)(k + 1);
}

static int
kw_cmp(const void *a, const void *b, void *arg)
{
	const struct kw_keyword *x = a, *y = b;
	const char *arena = arg;
	size_t m = x->len < y->len ? x->len : y->len;
	int c = memcmp(arena + x->off, arena + y->off, m);

	if (c != 0)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

void
kw_set_sort(struct kw_set *s)
{
	size_t k;

	qsort_r(s->kw, s->n, sizeof(s->kw[0]), kw_cmp, s->arena);
	memset(s->slot, 0, sizeof(s->slot));
	for (k = 0; k < s->n; k++)
		slot_put(s, k);
}

/* Writes lower(w) to out (room for 3*len/2 bytes); returns its length. */
static size_t
lower_into(char *out, const char *w, size_t len)
{
	size_t i = 0, o = 0;

	while (i < len) {
		uint32_t cp;
		size_t l = kw_utf8_decode((const uint8_t *)w + i, len - i, &cp);

		if (l == 0) {
			out[o++] = w[i++];	/* not valid: copied as is */
			continue;
		}
		o += utf8_encode(out + o, kw_tolower(cp));
		i += l;
	}
	return o;
}

int
kw_add(struct kw_set *s, const char *w, size_t len)
{
	uint8_t hash[KW_HASH_LEN];
	size_t lt, need, l;
	char *dst;

	if (w == NULL && len > 0)
		return KW_E_ARG;
	/*
	 * The reference trims after lowering; no simple lowercase mapping
	 * creates or removes white space, so trimming first is the same.
	 */
	len = rtrim_len(w, len);
	lt = ltrim_len(w, len);
	w += lt;
	len -= lt;
	if (len == 0)
		return KW_OK;
	need = len + len / 2 + 1;	/* lowercasing grows at most 1.5x */
	if (s->arena_cap - s->arena_len < need)
		return KW_E_NOSPACE;
	dst = s->arena + s->arena_len;
	l = lower_into(dst, w, len);
	if (l < KW_MIN_LEN)
		return KW_OK;
	dst[l] = '\0';
	blake3_hash(dst, l, hash);
	if (s->has_exclude && memcmp(hash, s->exclude, KW_HASH_LEN) == 0)
		return KW_OK;
	if (kw_set_find(s, hash) >= 0)
		return KW_OK;
	if (s->n == KW_MAX_KEYWORDS) {
		s->dropped++;
		return KW_OK;
	}
	s->kw[s->n].off = (uint32_t)s->arena_len;
	s->kw[s->n].len = (uint32_t)l;
	memcpy(s->kw[s->n].hash, hash, KW_HASH_LEN);
	slot_put(s, s->n);
	s->n++;
	s->arena_len += l + 1;
	return KW_OK;
}

/*
 * The camel-case splitter as a stream.  The reference cuts the word into
 * runs of one class, then moves the last code point of an upper-case run
 * to the front of a following lower-case run.  The run after a lower-case
 * run is never lower-case, so each move depends only on the two runs'
 * classes and can be decided when the second run starts.
 */
typedef int (*camel_fn)(void *arg, size_t off, size_t len);

static int
camel_walk(const char *w, size_t len, camel_fn fn, void *arg)
{
	enum cls prev = CLS_NONE;
	size_t i = 0, start = 0, lastcp = 0;
	int rc;

	while (i < len) {
		uint32_t cp;
		size_t l = next_cp(w + i, len - i, &cp);
		enum cls c = cp_class(cp);

		if (prev != CLS_NONE && c != prev) {
			size_t end = i;

			if (prev == CLS_UPPER && c == CLS_LOWER)
				end = lastcp;
			if (end > start && (rc = fn(arg, start, end - start)) != 0)
				return rc;
			start = end;
		}
		prev = c;
		lastcp = i;
		i += l;
	}
	if (len > start)
		return fn(arg, start, len - start);
	return 0;
}

struct camel_collect {
	struct kw_span	*parts;
	size_t		 max;
	size_t		 n;
};

static int
camel_collect_fn(void *arg, size_t off, size_t len)
{
	struct camel_collect *cc = arg;

	if (cc->n < cc->max) {
		cc->parts[cc->n].off = off;
		cc->parts[cc->n].len = len;
	}
	cc->n++;
	return 0;
}

size_t
kw_camel_split(const char *w, size_t len, struct kw_span *parts, size_t max)
{
	struct camel_collect cc = { parts, max, 0 };

	if (w == NULL)
		return 0;
	camel_walk(w, len, camel_collect_fn, &cc);
	return cc.n;
}

struct camel_add {
	struct kw_set	*s;
	const char	*w;
	size_t		 len;
};

static int
camel_add_fn(void *arg, size_t off, size_t len)
{
	struct camel_add *ca = arg;

	/* a part equal to the word is the whole word (parts are substrings) */
	if (len == ca->len)
		return 0;
	return kw_add(ca->s, ca->w + off, len);
}

static int
add_field(struct kw_set *s, const char *f, size_t len)
{
	struct camel_add ca;
	int rc;

	if (len > 0 && f[0] == '#') {	/* one hashtag prefix */
		f++;
		len--;
	}
	if ((rc = kw_add(s, f, len)) != 0)
		return rc;
	ca.s = s;
	ca.w = f;
	ca.len = len;
	return camel_walk(f, len, camel_add_fn, &ca);
}

int
kw_words(struct kw_set *s, const char *text, size_t len)
{
	size_t i = 0, start = 0;
	int in_field = 0, rc;

	if (text == NULL && len > 0)
		return KW_E_ARG;
	while (i < len) {
		uint32_t cp;
		size_t l = next_cp(text + i, len - i, &cp);

		if (is_sep(cp)) {
			if (in_field &&
			    (rc = add_field(s, text + start, i - start)) != 0)
				return rc;
			in_field = 0;
		} else if (!in_field) {
			start = i;
			in_field = 1;
		}
		i += l;
	}
	if (in_field)
		return add_field(s, text + start, len - start);
	return KW_OK;
}

/* Reference filenameRemoveExtension: cut path.Ext (last '.' after last '/'). */
static size_t
base_len(const char *name, size_t len)
{
	size_t i;

	for (i = len; i > 0 && name[i - 1] != '/'; i--)
		if (name[i - 1] == '.')
			return i - 1;
	return len;
}

static int
index_cleaned(struct kw_set *s, const char *name, size_t nlen, char *folder,
    size_t flen, const char *desc, size_t dlen)
{
	size_t i, blen;
	int rc;

	/* a short name skips the folder too (reference quirk, App. B 5) */
	if (nlen >= KW_MIN_LEN) {
		if ((rc = kw_add(s, name, nlen)) != 0)
			return rc;
		blen = base_len(name, nlen);
		if ((rc = kw_add(s, name, blen)) != 0 ||
		    (rc = kw_words(s, name, blen)) != 0)
			return rc;
		for (i = 0; i < flen; i++)
			if (folder[i] == '\\' || folder[i] == '/')
				folder[i] = ' ';
		if ((rc = kw_words(s, folder, flen)) != 0)
			return rc;
	}
	return kw_words(s, desc, dlen);
}

int
kw_index_file(const char *name, size_t nlen, const char *folder,
    size_t flen, const char *desc, size_t dlen, struct kw_set *out)
{
	size_t scratch = nlen + flen + dlen, cap;
	char *n, *f, *d;
	int rc;

	if ((name == NULL && nlen > 0) || (folder == NULL && flen > 0) ||
	    (desc == NULL && dlen > 0) || out == NULL || out->arena == NULL)
		return KW_E_ARG;
	if (nlen > KW_MAX_INPUT || flen > KW_MAX_INPUT || dlen > KW_MAX_INPUT)
		return KW_E_TOOLONG;
	kw_set_clear(out);
	cap = out->arena_cap;
	/* checked up front so that an undersized arena fails on every input */
	if (cap < KW_INDEX_ARENA_SIZE(nlen, flen, dlen))
		return KW_E_NOSPACE;
	/* the cleaned inputs live at the top of the arena during the call */
	n = out->arena + cap - scratch;
	f = n + nlen;
	d = f + flen;
	nlen = nlen > 0 ? kw_clean(n, name, nlen) : 0;
	flen = flen > 0 ? kw_clean(f, folder, flen) : 0;
	dlen = dlen > 0 ? kw_clean(d, desc, dlen) : 0;
	out->arena_cap = cap - scratch;
	rc = index_cleaned(out, n, nlen, f, flen, d, dlen);
	out->arena_cap = cap;
	if (rc != 0) {
		kw_set_clear(out);
		return rc;
	}
	kw_set_sort(out);
	return out->dropped > 0 ? KW_E_TRUNCATED : KW_OK;
}

int
kw_query_parse(const char *q, size_t qlen, struct kw_query *out,
    char *arena, size_t cap)
{
	size_t tlen, used, l, lt;
	char *t, *e;
	int rc;

	if ((q == NULL && qlen > 0) || out == NULL || arena == NULL)
		return KW_E_ARG;
	memset(out, 0, sizeof(*out));
	kw_set_init(&out->other, NULL, 0);
	if (qlen > KW_MAX_INPUT)
		return KW_E_TOOLONG;
	if (cap < KW_QUERY_ARENA_SIZE(qlen))
		return KW_E_NOSPACE;

	t = arena;
	tlen = qlen > 0 ? kw_clean(t, q, qlen) : 0;
	if (tlen >= 2 && ((t[0] == '"' && t[tlen - 1] == '"') ||
	    (t[0] == '\'' && t[tlen - 1] == '\''))) {
		t++;
		tlen -= 2;
		out->exact = 1;
	}
	t[tlen] = '\0';
	out->term = t;
	out->term_len = tlen;
	out->wildcard = memchr(t, '*', tlen) != NULL;
	used = (size_t)(t - arena) + tlen + 1;
	if (tlen < KW_MIN_LEN)
		return KW_OK;
	out->searched = 1;

	/* exact keyword: hashWord(term) = trim(lower(term)) */
	l = rtrim_len(t, tlen);
	lt = ltrim_len(t, l);
	e = arena + used;
	l = lower_into(e, t + lt, l - lt);
	e[l] = '\0';
	out->exact_kw = e;
	out->exact_len = l;
	used += l + 1;
	if (l >= KW_MIN_LEN) {
		out->has_exact = 1;
		blake3_hash(e, l, out->exact_hash);
	}
	if (out->exact)
		return KW_OK;

	kw_set_init(&out->other, arena + used, cap - used);
	if (out->has_exact) {
		out->other.has_exclude = 1;
		memcpy(out->other.exclude, out->exact_hash, KW_HASH_LEN);
	}
	if ((rc = kw_words(&out->other, t, tlen)) != 0) {
		kw_set_clear(&out->other);
		return rc;
	}
	kw_set_sort(&out->other);
	return out->other.dropped > 0 ? KW_E_TRUNCATED : KW_OK;
}

const char *
kw_strerror(int err)
{
	switch (err) {
	case KW_OK:
		return "ok";
	case KW_E_ARG:
		return "invalid argument";
	case KW_E_TOOLONG:
		return "input longer than KW_MAX_INPUT";
	case KW_E_NOSPACE:
		return "keyword arena too small";
	case KW_E_TRUNCATED:
		return "more than KW_MAX_KEYWORDS keywords: first ones kept";
	}
	return "unknown error";
}
