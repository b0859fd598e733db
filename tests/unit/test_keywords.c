/*
 * test_keywords.c — keyword derivation and query normalisation against the
 * reference's vectors (vectors/search.json, docs/data.md §6.3-6.4 and §10.5) and
 * the Unicode edge cases the reference's Go rules imply.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "blake3.h"
#include "hex.h"
#include "keywords.h"
#include "t.h"
#include "tvec.h"

static json_t	*vec;
static struct kw_set set;	/* ~22 KB: kept out of the stack */
static struct kw_query qry;

/* ---- helpers ---- */

static char *
index3(const char *name, size_t nlen, const char *folder, size_t flen,
    const char *desc, size_t dlen, int *rc)
{
	size_t cap = KW_INDEX_ARENA_SIZE(nlen, flen, dlen);
	char *arena = malloc(cap);

	if (arena == NULL)
		abort();
	kw_set_init(&set, arena, cap);
	*rc = kw_index_file(name, nlen, folder, flen, desc, dlen, &set);
	return arena;
}

static char *
index_str(const char *name, const char *folder, const char *desc, int *rc)
{
	return index3(name, strlen(name), folder, strlen(folder), desc,
	    strlen(desc), rc);
}

static char *
query_str(const char *q, size_t qlen, int *rc)
{
	size_t cap = KW_QUERY_ARENA_SIZE(qlen);
	char *arena = malloc(cap);

	if (arena == NULL)
		abort();
	*rc = kw_query_parse(q, qlen, &qry, arena, cap);
	return arena;
}

static char *
query_lit(const char *q, int *rc)
{
	return query_str(q, strlen(q), rc);
}

/* "" if the set holds exactly these keywords in this order, else why not. */
static const char *
set_is(const struct kw_set *s, const char *const *want, size_t nwant)
{
	static char why[600];
	uint8_t h[KW_HASH_LEN];
	size_t i;

	for (i = 0; i < s->n && i < nwant; i++) {
		if (s->kw[i].len != strlen(want[i]) ||
		    memcmp(kw_text(s, i), want[i], s->kw[i].len) != 0) {
			snprintf(why, sizeof(why), "keyword %zu is \"%s\", "
			    "expected \"%s\"", i, kw_text(s, i), want[i]);
			return why;
		}
		blake3_hash(want[i], strlen(want[i]), h);
		if (memcmp(h, s->kw[i].hash, KW_HASH_LEN) != 0) {
			snprintf(why, sizeof(why), "hash of \"%s\" wrong",
			    want[i]);
			return why;
		}
	}
	if (s->n != nwant) {
		snprintf(why, sizeof(why), "%zu keywords, expected %zu%s%s",
		    s->n, nwant, s->n > nwant ? "; extra: " : "",
		    s->n > nwant ? kw_text(s, nwant) : "");
		return why;
	}
	return "";
}

#define T_SET_IS(s, ...) do {						\
	static const char *const _w[] = { __VA_ARGS__ };		\
	const char *_why = set_is((s), _w, sizeof(_w) / sizeof(_w[0]));	\
	if (*_why != '\0')						\
		T_FAIL("%s", _why);					\
} while (0)

/* name, folder and desc index without error into exactly the keywords given. */
#define T_INDEXES_AS(name, folder, desc, ...) do {			\
	int rc_;							\
	char *a_ = index_str((name), (folder), (desc), &rc_);		\
									\
	T_EQ_INT(rc_, 0);						\
	T_SET_IS(&set, __VA_ARGS__);					\
	free(a_);							\
} while (0)

/* The query q parses without error, its exact keyword kw. */
#define T_EXACT_KW(q, kw) do {						\
	int rc_;							\
	char *a_ = query_lit((q), &rc_);				\
									\
	T_EQ_INT(rc_, 0);						\
	T_EQ_STR(qry.exact_kw, (kw));					\
	free(a_);							\
} while (0)

static int
hash_of_keyword_is(const char *kw, size_t len, const uint8_t *hash)
{
	uint8_t h[KW_HASH_LEN];

	blake3_hash(kw, len, h);
	return memcmp(h, hash, KW_HASH_LEN) == 0;
}

/* A file's inputs from its vector case; name_hex wins over name. */
static int
file_inputs(json_t *f, uint8_t **name, size_t *nlen, const char **folder,
    const char **desc)
{
	const char *n;

	if (json_object_get(f, "name_hex") != NULL) {
		*name = tvec_hex(f, "name_hex", nlen);
		if (*name == NULL)
			return -1;
	} else {
		if ((n = tvec_str(f, "name")) == NULL)
			return -1;
		*name = (uint8_t *)strdup(n);
		*nlen = strlen(n);
	}
	*folder = tvec_str(f, "folder");
	*desc = tvec_str(f, "description");
	if (*folder == NULL)
		*folder = "";
	if (*desc == NULL)
		*desc = "";
	return 0;
}

/* ---- the reference's vectors ---- */

/* One row of "files": its inputs index into the reference's keywords and hashes. */
static void
check_file(json_t *f)
{
	json_t *kws = json_object_get(f, "keywords"), *k;
	uint8_t *name, want[KW_HASH_LEN];
	const char *folder, *desc, *id = tvec_str(f, "file_id");
	size_t j, nlen;
	char *arena;
	int rc;

	T_ASSERT(file_inputs(f, &name, &nlen, &folder, &desc) == 0);
	arena = index3((char *)name, nlen, folder, strlen(folder), desc,
	    strlen(desc), &rc);
	free(name);
	if (rc != 0) {
		free(arena);
		T_FAIL("%s: kw_index_file: %s", id, kw_strerror(rc));
	}
	if (set.n != json_array_size(kws)) {
		free(arena);
		T_FAIL("%s: %zu keywords, expected %zu", id, set.n,
		    json_array_size(kws));
	}
	json_array_foreach(kws, j, k) {
		const char *w = tvec_str(k, "keyword");

		if (tvec_hex_exact(k, "hash", want, KW_HASH_LEN) != 0 ||
		    set.kw[j].len != strlen(w) ||
		    memcmp(kw_text(&set, j), w, strlen(w)) != 0 ||
		    memcmp(set.kw[j].hash, want, KW_HASH_LEN) != 0) {
			char got[300];

			snprintf(got, sizeof(got), "%s", kw_text(&set, j));
			free(arena);
			T_FAIL("%s: keyword %zu is \"%s\", expected "
			    "\"%s\" with its hash", id, j, got, w);
		}
	}
	free(arena);
}

/* The vectors' array name holds want rows, and each passes fn. */
static void
each_row(const char *name, void (*fn)(json_t *), size_t want)
{
	json_t *rows = json_object_get(vec, name);

	T_ASSERT(json_array_size(rows) == want);
	T_EQ_INT(tvec_each(rows, fn), want);
}

static void
test_files_yield_reference_keywords_and_hashes(void)
{
	each_row("files", check_file, 22);
}

static void
test_invalid_utf8_name_is_sanitized_like_reference(void)
{
	json_t *files = json_object_get(vec, "files"), *f;
	size_t i, n, found = 0;
	uint8_t *raw;
	char buf[64];

	json_array_foreach(files, i, f) {
		if (json_object_get(f, "name_hex") == NULL)
			continue;
		raw = tvec_hex(f, "name_hex", &n);
		T_ASSERT(raw != NULL && n < sizeof(buf));
		n = kw_clean(buf, (char *)raw, n);
		free(raw);
		buf[n] = '\0';
		T_EQ_STR(buf, tvec_str(f, "name_after_sanitize"));
		found++;
	}
	T_EQ_INT(found, 1);
}

/* One row of "queries": parsed as the reference's, keywords and hashes too. */
static void
check_query(json_t *q)
{
	json_t *others, *o;
	size_t j;
	const char *in = tvec_str(q, "query");
	uint8_t want[KW_HASH_LEN];
	char *arena, term[256];
	int rc;

	arena = query_str(in, strlen(in), &rc);
	snprintf(term, sizeof(term), "%.*s", (int)qry.term_len, qry.term);
	if (rc != 0 ||
	    strcmp(term, tvec_str(q, "sanitized_term")) != 0 ||
	    qry.exact != json_is_true(json_object_get(q, "is_exact")) ||
	    qry.wildcard != json_is_true(json_object_get(q, "is_wildcard")) ||
	    qry.searched != json_is_true(json_object_get(q, "searched"))) {
		free(arena);
		T_FAIL("query \"%s\": rc %d term \"%s\" exact %d "
		    "wildcard %d searched %d", in, rc, term, qry.exact,
		    qry.wildcard, qry.searched);
	}
	if (!qry.searched) {
		T_ASSERT(json_object_get(q, "exact_keyword") == NULL);
		T_ASSERT(!qry.has_exact && qry.other.n == 0);
		free(arena);
		return;
	}
	if (!qry.has_exact ||
	    strcmp(qry.exact_kw, tvec_str(q, "exact_keyword")) != 0 ||
	    tvec_hex_exact(q, "exact_hash", want, KW_HASH_LEN) != 0 ||
	    memcmp(want, qry.exact_hash, KW_HASH_LEN) != 0) {
		free(arena);
		T_FAIL("query \"%s\": exact keyword \"%s\" or its hash "
		    "differs", in, qry.exact_kw);
	}
	/* other_keywords as a set: same size, each one present */
	others = json_object_get(q, "other_keywords");
	if (qry.other.n != json_array_size(others)) {
		free(arena);
		T_FAIL("query \"%s\": %zu other keywords, expected %zu",
		    in, qry.other.n, json_array_size(others));
	}
	json_array_foreach(others, j, o) {
		const char *w = tvec_str(o, "keyword");
		long k;

		if (tvec_hex_exact(o, "hash", want, KW_HASH_LEN) != 0 ||
		    (k = kw_set_find(&qry.other, want)) < 0 ||
		    strcmp(kw_text(&qry.other, (size_t)k), w) != 0) {
			free(arena);
			T_FAIL("query \"%s\": other keyword \"%s\" "
			    "missing", in, w);
		}
	}
	free(arena);
}

static void
test_queries_match_reference_normalisation(void)
{
	each_row("queries", check_query, 17);
}

/*
 * A tiny in-memory index with the reference's insert rule (docs/data.md §6.1):
 * a keyword's list gains a file only if that file ID is not yet in it.
 */
#define IDX_MAX_KEYS	512
#define IDX_MAX_FILES	32
struct idx_key {
	uint8_t	hash[KW_HASH_LEN];
	int	file[IDX_MAX_FILES];
	int	n;
};
static struct idx_key	idx[IDX_MAX_KEYS];
static int		idx_n;
static const char	*idx_ids[IDX_MAX_FILES];

static struct idx_key *
idx_lookup(const uint8_t *hash)
{
	int i;

	for (i = 0; i < idx_n; i++)
		if (memcmp(idx[i].hash, hash, KW_HASH_LEN) == 0)
			return &idx[i];
	return NULL;
}

static int
idx_insert(const uint8_t *hash, int file)
{
	struct idx_key *k = idx_lookup(hash);
	int i;

	if (k == NULL) {
		if (idx_n == IDX_MAX_KEYS)
			return -1;
		k = &idx[idx_n++];
		memcpy(k->hash, hash, KW_HASH_LEN);
		k->n = 0;
	}
	for (i = 0; i < k->n; i++)
		if (k->file[i] == file)
			return 0;	/* "already indexed" */
	if (k->n == IDX_MAX_FILES)
		return -1;
	k->file[k->n++] = file;
	return 0;
}

/* Reference Search: union of the exact list and (unless exact) the others. */
static void
idx_search(const struct kw_query *q, int *hit)
{
	const struct idx_key *k;
	size_t i;
	int j;

	memset(hit, 0, sizeof(int) * IDX_MAX_FILES);
	if (!q->searched)
		return;
	if (q->has_exact && (k = idx_lookup(q->exact_hash)) != NULL)
		for (j = 0; j < k->n; j++)
			hit[k->file[j]] = 1;
	if (q->exact)
		return;
	for (i = 0; i < q->other.n; i++)
		if ((k = idx_lookup(q->other.kw[i].hash)) != NULL)
			for (j = 0; j < k->n; j++)
				hit[k->file[j]] = 1;
}

static void
test_queries_find_reference_files_in_index(void)
{
	json_t *files = json_object_get(vec, "files"), *qs, *q, *f, *ids, *id;
	int hit[IDX_MAX_FILES], want[IDX_MAX_FILES], nfiles, rc, checked = 0;
	size_t i, j, k;

	idx_n = 0;
	nfiles = (int)json_array_size(files);
	T_ASSERT(nfiles <= IDX_MAX_FILES);
	json_array_foreach(files, i, f) {
		uint8_t *name;
		const char *folder, *desc;
		size_t nlen;
		char *arena;

		T_ASSERT(file_inputs(f, &name, &nlen, &folder, &desc) == 0);
		idx_ids[i] = tvec_str(f, "file_id");
		arena = index3((char *)name, nlen, folder, strlen(folder), desc,
		    strlen(desc), &rc);
		free(name);
		for (k = 0; rc == 0 && k < set.n; k++)
			if (idx_insert(set.kw[k].hash, (int)i) != 0)
				rc = -100;
		free(arena);
		T_EQ_INT(rc, 0);
	}
	/* the set already dedups; a second insert of a file must be a no-op */
	T_ASSERT(idx_n > 0);
	rc = idx[0].n;
	T_EQ_INT(idx_insert(idx[0].hash, idx[0].file[0]), 0);
	T_EQ_INT(idx[0].n, rc);

	qs = json_object_get(vec, "queries");
	json_array_foreach(qs, i, q) {
		const char *in = tvec_str(q, "query");
		char *arena = query_str(in, strlen(in), &rc);

		T_EQ_INT(rc, 0);
		idx_search(&qry, hit);
		free(arena);
		memset(want, 0, sizeof(want));
		ids = json_object_get(q, "matching_file_ids_in_index");
		T_ASSERT(ids != NULL);
		json_array_foreach(ids, j, id) {
			int found = 0;

			for (k = 0; k < (size_t)nfiles; k++)
				if (strcmp(idx_ids[k], json_string_value(id)) == 0) {
					want[k] = 1;
					found = 1;
				}
			T_ASSERT(found);
		}
		for (k = 0; k < (size_t)nfiles; k++)
			if (hit[k] != want[k])
				T_FAIL("query \"%s\": file %s %s", in, idx_ids[k],
				    hit[k] ? "found but not expected" :
				    "expected but not found");
		checked++;
	}
	T_EQ_INT(checked, 17);
}

/* ---- docs/data.md §10.5 (the spec's own table) ---- */

static void
test_spec_table_index_side(void)
{
	T_INDEXES_AS("My_Holiday-Video (2021).mp4", "Videos\\Summer Trip",
	    "Great #vacation footage, see PDFLoader",
	    "2021", "footage", "great", "holiday", "loader",
	    "my_holiday-video (2021)", "my_holiday-video (2021).mp4", "pdf",
	    "pdfloader", "see", "summer", "trip", "vacation", "video", "videos");

	T_INDEXES_AS("ab.txt", "Folder Name", "Short name skips folder",
	    "ab.txt", "folder", "name", "short", "skips");

	T_INDEXES_AS("\xc3\x9c" "ber Stra\xc3\x9f" "e.PDF", "", "",
	    "stra\xc3\x9f" "e", "\xc3\xbc" "ber",
	    "\xc3\xbc" "ber stra\xc3\x9f" "e",
	    "\xc3\xbc" "ber stra\xc3\x9f" "e.pdf");

	T_INDEXES_AS("rock&roll [live].tar.gz", "music/Live Sets", "",
	    "live", "music", "rock", "rock&roll",
	    "rock&roll [live].tar", "rock&roll [live].tar.gz", "roll", "sets",
	    "tar");
}

#define ANY	(-1)	/* a query_case field that is not checked */

/*
 * A query parsed without error: its flags (each unless ANY), the exact
 * keyword (unless NULL) and the other keywords (unless nother is ANY).
 */
struct query_case {
	const char	*in;
	int		 exact, searched, has_exact;
	const char	*exact_kw;
	int		 nother;
	const char	*other[2];
};

static void
expect_query(const struct query_case *c)
{
	const char *why;
	char *a;
	int rc;

	a = query_lit(c->in, &rc);
	T_EQ_INT(rc, 0);
	if ((c->exact != ANY && qry.exact != c->exact) ||
	    (c->searched != ANY && qry.searched != c->searched) ||
	    (c->has_exact != ANY && qry.has_exact != c->has_exact))
		T_FAIL("\"%s\": exact %d searched %d has_exact %d", c->in,
		    qry.exact, qry.searched, qry.has_exact);
	if (c->exact_kw != NULL)
		T_EQ_STR(qry.exact_kw, c->exact_kw);
	if (c->nother != ANY &&
	    *(why = set_is(&qry.other, c->other, (size_t)c->nother)) != '\0')
		T_FAIL("\"%s\": %s", c->in, why);
	free(a);
}

static const struct query_case spec_queries[] = {
	{ "Holiday Video", 0, 1, 1, "holiday video", 2, { "holiday", "video" } },
	{ "\"my_holiday-video (2021).mp4\"", 1, ANY, 1,
	    "my_holiday-video (2021).mp4", 0, { NULL } },
	{ "  SummerTrip  ", 0, ANY, 1, "summertrip", 2, { "summer", "trip" } },
	{ "'quoted term'", 1, ANY, 1, "quoted term", ANY, { NULL } },
	{ "ab", ANY, 0, 0, NULL, 0, { NULL } },
};

static void
test_spec_table_query_side(void)
{
	size_t i;

	for (i = 0; i < sizeof(spec_queries) / sizeof(spec_queries[0]); i++)
		T_DO(expect_query(&spec_queries[i]));
}

static void
test_keyword_video_hashes_to_spec_value(void)
{
	uint8_t want[KW_HASH_LEN];
	char *a;
	int rc;

	T_EQ_INT(hex_decode(want, sizeof(want), "4d4d9ab8c8e8fe40b994c58b878fb7f3"
	    "d7ac1a6c15282b2ecd8d8c57b8d3405a"), KW_HASH_LEN);
	a = index_str("VIDEO", "", "", &rc);
	T_EQ_INT(rc, 0);
	T_SET_IS(&set, "video");
	T_EQ_MEM(set.kw[0].hash, want, KW_HASH_LEN);
	free(a);
}

static void
test_camel_split_matches_reference_examples(void)
{
	static const struct {
		const char	*in;
		const char	*parts;	/* '|'-separated */
	} cases[] = {
		{ "SimpleXMLParser2Go", "Simple|XML|Parser|2|Go" },
		{ "", "" },
		{ "lowercase", "lowercase" },
		{ "Class", "Class" },
		{ "MyClass", "My|Class" },
		{ "MyC", "My|C" },
		{ "HTML", "HTML" },
		{ "PDFLoader", "PDF|Loader" },
		{ "AString", "A|String" },
		{ "SimpleXMLParser", "Simple|XML|Parser" },
		{ "vimRPCPlugin", "vim|RPC|Plugin" },
		{ "GL11Version", "GL|11|Version" },
		{ "99Bottles", "99|Bottles" },
		{ "May5", "May|5" },
		{ "BFG9000", "BFG|9000" },
		{ "B\xc3\xb6se\xc3\x9c" "berraschung",
		    "B\xc3\xb6se|\xc3\x9c" "berraschung" },
		{ "Two  spaces", "Two|  |spaces" },
		{ "rock&roll", "rock|&|roll" },
		{ "aBc", "a|Bc" },
		{ "ABcD", "A|Bc|D" },
	};
	struct kw_span p[16];
	char got[128];
	size_t i, j, n, o;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = kw_camel_split(cases[i].in, strlen(cases[i].in), p, 16);
		T_ASSERT(n <= 16);
		for (j = 0, o = 0; j < n; j++)
			o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%.*s",
			    j ? "|" : "", (int)p[j].len, cases[i].in + p[j].off);
		got[o] = '\0';
		if (strcmp(got, cases[i].parts) != 0)
			T_FAIL("split(\"%s\") = \"%s\", expected \"%s\"",
			    cases[i].in, got, cases[i].parts);
	}
}

/* ---- edge cases ---- */

static void
test_empty_inputs_yield_nothing(void)
{
	char *a;
	int rc;

	a = index3(NULL, 0, NULL, 0, NULL, 0, &rc);
	T_EQ_INT(rc, 0);
	T_EQ_INT(set.n, 0);
	free(a);

	a = query_lit("", &rc);
	T_EQ_INT(rc, 0);
	T_ASSERT(!qry.searched && !qry.exact && qry.term_len == 0);
	free(a);

	a = query_lit("\"\"", &rc);	/* quoted nothing: exact, too short */
	T_EQ_INT(rc, 0);
	T_ASSERT(qry.exact && !qry.searched && qry.term_len == 0);
	free(a);
}

static void
test_only_white_space_yields_nothing(void)
{
	static const char ws[] = " \t\n\v\f\r\xc2\x85\xc2\xa0\xe3\x80\x80"
	    "\xe2\x80\xa8\xe1\x9a\x80";
	char *a;
	int rc;

	a = index3(ws, sizeof(ws) - 1, ws, sizeof(ws) - 1, ws, sizeof(ws) - 1,
	    &rc);
	T_EQ_INT(rc, 0);
	T_EQ_INT(set.n, 0);
	free(a);

	a = query_str(ws, sizeof(ws) - 1, &rc);
	T_EQ_INT(rc, 0);
	T_ASSERT(!qry.searched && qry.term_len == 0);
	free(a);
}

static void
test_quoted_term_is_not_trimmed_but_exact_keyword_is(void)
{
	char *a;
	int rc;

	/* the term keeps its inner spaces; the exact key trims them */
	a = query_lit("\" Hello \"", &rc);
	T_EQ_INT(rc, 0);
	T_ASSERT(qry.exact && qry.searched && qry.has_exact);
	T_EQ_INT(qry.term_len, 7);
	T_EQ_STR(qry.term, " Hello ");
	T_EQ_STR(qry.exact_kw, "hello");
	free(a);

	/* 4-byte term, 2-byte key: searched, but nothing to look up */
	a = query_lit("\" ab \"", &rc);
	T_EQ_INT(rc, 0);
	T_ASSERT(qry.exact && qry.searched && !qry.has_exact);
	T_EQ_INT(qry.other.n, 0);
	free(a);

	/* mismatched quotes are kept; only one layer is stripped */
	/* the word itself is the exact key */
	T_DO(expect_query(&(struct query_case){ "\"hello'", 0, ANY, ANY,
	    "\"hello'", 1, { "hello" } }));
	T_DO(expect_query(&(struct query_case){ "\"'Hello'\"", 1, ANY, ANY,
	    "'hello'", ANY, { NULL } }));
}

static void
test_query_of_only_exact_keyword_has_no_others(void)
{
	/* "holiday" is both the exact key and its only word: removed */
	T_DO(expect_query(&(struct query_case){ "HOLIDAY", ANY, ANY, ANY,
	    "holiday", 0, { NULL } }));
}

static void
test_ten_kilobyte_inputs(void)
{
	char *name = malloc(10241), *lower = malloc(10241), *desc, *a;
	size_t i, n = 0;
	uint8_t h[KW_HASH_LEN];
	int rc;

	T_ASSERT(name != NULL && lower != NULL);
	while (n + 14 <= 10240) {
		memcpy(name + n, "Holiday Video ", 14);
		n += 14;
	}
	for (i = 0; i < n; i++)
		lower[i] = name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 :
		    name[i];
	/* no '.': name and base are the same keyword; trailing space trimmed */
	a = index3(name, n, "", 0, "", 0, &rc);
	T_EQ_INT(rc, 0);
	T_EQ_INT(set.n, 3);
	T_EQ_STR(kw_text(&set, 0), "holiday");
	T_EQ_INT(set.kw[1].len, n - 1);
	T_ASSERT(memcmp(kw_text(&set, 1), lower, n - 1) == 0);
	T_ASSERT(hash_of_keyword_is(lower, n - 1, set.kw[1].hash));
	T_EQ_STR(kw_text(&set, 2), "video");
	free(a);

	a = query_str(name, n, &rc);
	T_EQ_INT(rc, 0);
	T_EQ_INT(qry.exact_len, n - 1);
	blake3_hash(lower, n - 1, h);
	T_EQ_MEM(qry.exact_hash, h, KW_HASH_LEN);
	T_SET_IS(&qry.other, "holiday", "video");
	free(a);
	free(name);
	free(lower);

	/*
	 * 2000 distinct words, each with a digit part ("w0007" -> "w0007",
	 * "0007"): the first KW_MAX_KEYWORDS in derivation order are kept.
	 */
	desc = malloc(2000 * 6 + 1);
	T_ASSERT(desc != NULL);
	for (i = 0; i < 2000; i++)
		snprintf(desc + 6 * i, 7, "w%04zu ", i);
	a = index3("", 0, "", 0, desc, 2000 * 6, &rc);
	T_EQ_INT(rc, KW_E_TRUNCATED);
	T_EQ_INT(set.n, KW_MAX_KEYWORDS);
	T_EQ_INT(set.dropped, 2 * 2000 - KW_MAX_KEYWORDS);
	T_EQ_STR(kw_text(&set, 0), "0000");	/* still sorted */
	T_EQ_STR(kw_text(&set, KW_MAX_KEYWORDS - 1), "w0255");
	blake3_hash("0255", 4, h);
	T_ASSERT(kw_set_find(&set, h) == 255);
	blake3_hash("w0256", 5, h);
	T_ASSERT(kw_set_find(&set, h) == -1);
	blake3_hash("0256", 4, h);
	T_ASSERT(kw_set_find(&set, h) == -1);
	free(a);
	free(desc);
}

static void
test_sql_metacharacters_are_plain_text(void)
{
	T_INDEXES_AS("Robert'); DROP TABLE files;--.txt", "", "",
	    "drop", "files", "files;", "robert", "robert'",
	    "robert'); drop table files;--",
	    "robert'); drop table files;--.txt", "table");

	T_DO(expect_query(&(struct query_case){ "' OR 1=1 --", 0, ANY, ANY,
	    "' or 1=1 --", 1, { "1=1" } }));

	T_DO(expect_query(&(struct query_case){ "'; DROP TABLE x; '", 1, ANY, ANY,
	    "; drop table x;", ANY, { NULL } }));

	/* "%" and "\%": too short */
	T_DO(expect_query(&(struct query_case){ "%_\\%", ANY, ANY, ANY,
	    "%_\\%", 0, { NULL } }));
}

static void
test_clean_deletes_each_invalid_byte_like_go(void)
{
	static const struct {
		const char	*in;
		const char	*out;
	} cases[] = {
		{ "\xff" "ab\xc3" "c", "abc" },		/* lone lead */
		{ "\xe2\x82" "d", "d" },		/* truncated 3-byte */
		{ "\xed\xa0\x80" "x", "x" },		/* surrogate */
		{ "\xc0\xaf" "y", "y" },		/* overlong 2-byte */
		{ "\xe0\x80\x80" "z", "z" },		/* overlong 3-byte */
		{ "\xf0\x80\x80\x80" "w", "w" },	/* overlong 4-byte */
		{ "\xf4\x90\x80\x80" "v", "v" },	/* > U+10FFFF */
		{ "\xf5\x80\x80\x80" "u", "u" },
		{ "abc\xf0\x9f\x8e", "abc" },		/* truncated at end */
		{ "\xef\xbf\xbd", "\xef\xbf\xbd" },	/* a real U+FFFD stays */
		{ "\xf0\x9f\x8e\xb5", "\xf0\x9f\x8e\xb5" },
		{ "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf" },	/* U+10FFFF */
		{ "\xed\x9f\xbf", "\xed\x9f\xbf" },	/* U+D7FF */
		{ "\xe2\xe2\xa1" "q", "q" },
		/* deletion first, then trimming: the spaces meet and go */
		{ " \xff hello \xfe ", "hello" },
		{ "\xc2\xa0\xe3\x80\x80" "x\xc2\x85", "x" },
		/* not white space in Go: zero-width space, BOM, U+001C */
		{ "\xe2\x80\x8b" "x\xef\xbb\xbf", "\xe2\x80\x8b" "x\xef\xbb\xbf" },
		{ "\x1c" "x", "\x1c" "x" },
	};
	char buf[64];
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = kw_clean(buf, cases[i].in, strlen(cases[i].in));
		buf[n] = '\0';
		if (strcmp(buf, cases[i].out) != 0)
			T_FAIL("case %zu: cleaned to %zu bytes", i, n);
	}
}

static void
test_invalid_utf8_everywhere(void)
{
	char *a;
	int rc;

	/* the name is 4 bytes raw but 2 once cleaned: the folder is skipped */
	T_INDEXES_AS("\xff\xfe" "ab", "\xff" "Folder", "De\xed\xa0\x80sc \xc0",
	    "desc");

	T_INDEXES_AS("Bad\xe2\x82UTF\xf5" "8 file\xff.TX\xc3T", "Dir\x80/Sub",
	    "\xf0\x9f\x8e",
	    "bad", "badutf8", "badutf8 file", "badutf8 file.txt",
	    "dir", "file", "sub", "utf");

	a = query_lit("\xff\"He\xc3llo\xfe\"", &rc);
	T_EQ_INT(rc, 0);
	T_ASSERT(qry.exact);
	T_EQ_STR(qry.term, "Hello");
	T_EQ_STR(qry.exact_kw, "hello");
	free(a);
}

static void
test_cjk_and_emoji_count_bytes_not_characters(void)
{
	/* U+6771 U+4EAC | U+30BF U+30EF U+30FC | U+732B (one char, 3 bytes) */
	T_INDEXES_AS("\xe6\x9d\xb1\xe4\xba\xac \xe3\x82\xbf\xe3\x83\xaf"
	    "\xe3\x83\xbc.jpg", "\xe7\x8c\xab", "",
	    "\xe3\x82\xbf\xe3\x83\xaf\xe3\x83\xbc",
	    "\xe6\x9d\xb1\xe4\xba\xac",
	    "\xe6\x9d\xb1\xe4\xba\xac \xe3\x82\xbf\xe3\x83\xaf\xe3\x83\xbc",
	    "\xe6\x9d\xb1\xe4\xba\xac \xe3\x82\xbf\xe3\x83\xaf\xe3\x83\xbc.jpg",
	    "\xe7\x8c\xab");

	/* emoji are "other": one run, indexed whole */
	T_INDEXES_AS("\xf0\x9f\x8e\xb5\xf0\x9f\x8e\xb6 Party.mp3", "", "",
	    "party", "\xf0\x9f\x8e\xb5\xf0\x9f\x8e\xb6",
	    "\xf0\x9f\x8e\xb5\xf0\x9f\x8e\xb6 party",
	    "\xf0\x9f\x8e\xb5\xf0\x9f\x8e\xb6 party.mp3");

	/* keycap "3" + U+FE0F + U+20E3: digit run, then an "other" run */
	T_INDEXES_AS("", "", "3\xef\xb8\x8f\xe2\x83\xa3",
	    "3\xef\xb8\x8f\xe2\x83\xa3", "\xef\xb8\x8f\xe2\x83\xa3");
}

static void
test_combining_accents_are_kept_not_stripped(void)
{
	/* decomposed: U+0301 is "other", so the camel split yields "Cafe" */
	T_INDEXES_AS("Cafe\xcc\x81 Noir.txt", "", "",
	    "cafe", "cafe\xcc\x81", "cafe\xcc\x81 noir",
	    "cafe\xcc\x81 noir.txt", "noir");

	/* precomposed U+00E9 is a lower-case letter: no accent-free form */
	T_INDEXES_AS("Caf\xc3\xa9 Noir.txt", "", "",
	    "caf\xc3\xa9", "caf\xc3\xa9 noir",
	    "caf\xc3\xa9 noir.txt", "noir");
}

static void
test_sharp_s_is_not_case_folded(void)
{
	/* capital sharp s U+1E9E lowers to U+00DF; "ß" never becomes "ss" */
	T_INDEXES_AS("STRA\xe1\xba\x9e" "E Ma\xc3\x9f.txt", "", "",
	    "ma\xc3\x9f", "stra\xc3\x9f" "e",
	    "stra\xc3\x9f" "e ma\xc3\x9f", "stra\xc3\x9f" "e ma\xc3\x9f.txt");

	/* "ß" alone: 2 bytes */
	T_INDEXES_AS("\xc3\x9f.txt", "", "",
	    "\xc3\x9f.txt");

	T_EXACT_KW("strasse", "strasse");
}

static void
test_turkish_dotted_capital_i_lowers_to_ascii_i(void)
{
	/* U+0130 -> "i" (simple mapping, 2 bytes -> 1): "İİ" becomes too short */
	T_INDEXES_AS("\xc4\xb0stanbul \xc4\xb0\xc4\xb0.txt", "", "",
	    "istanbul", "istanbul ii", "istanbul ii.txt");

	/* dotless U+0131 stays; ASCII I becomes i, not dotless */
	T_INDEXES_AS("D\xc4\xb0YARBAKIR \xc4\xb1s\xc4\xb1k", "", "",
	    "diyarbakir", "diyarbakir \xc4\xb1s\xc4\xb1k",
	    "\xc4\xb1s\xc4\xb1k");

	T_EXACT_KW("\xc4\xb0STANBUL", "istanbul");
}

static void
test_extension_is_cut_after_last_slash_only(void)
{
	/* path.Ext stops at '/': "dir.x/file" has no extension */
	T_INDEXES_AS("dir.x/file", "", "",
	    "dir", "dir.x/file", "file", "x/file");

	T_INDEXES_AS("a/b.txt", "", "",
	    "a/b", "a/b.txt");
}

static void
test_hashtag_prefix_removed_once(void)
{
	char *a;
	int rc;

	a = index_str("", "", "##Tag #Go #abc", &rc);
	T_EQ_INT(rc, 0);
	/* "##Tag" -> "#Tag" (+ part "Tag"); "#Go" -> "Go" (too short) */
	T_SET_IS(&set, "#tag", "abc", "tag");
	free(a);
}

static void
test_lowercasing_can_grow_and_shrink_bytes(void)
{
	/* U+023A (2 bytes) lowers to U+2C65 (3 bytes); Kelvin sign to "k" */
	T_INDEXES_AS("\xc8\xba\xe2\x84\xaa", "", "",
	    "\xe2\xb1\xa5k");
}

/* ---- the Unicode tables against Go's definitions ---- */

static int
go_is_space(uint32_t c)
{
	return (c >= 9 && c <= 13) || c == ' ' || c == 0x85 || c == 0xa0 ||
	    c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 ||
	    c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

static size_t
u8len(uint32_t c)
{
	return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
}

static int
is_sep_cp(uint32_t c)
{
	return (c < 0x80 && strchr("+-._()[],", (int)c) != NULL && c != 0) ||
	    c == 0x2013 || go_is_space(c);
}

static void
test_white_space_is_exactly_gos_set(void)
{
	uint32_t c;

	for (c = 0; c <= 0x10ffff; c++)
		if (kw_is_space(c) != go_is_space(c))
			T_FAIL("U+%04X: kw_is_space %d", c, kw_is_space(c));
}

static void
test_lowercase_is_idempotent_bounded_and_keeps_separators(void)
{
	uint32_t c, l;

	for (c = 0; c <= 0x10ffff; c++) {
		if (c >= 0xd800 && c <= 0xdfff)
			continue;
		l = kw_tolower(c);
		if (kw_tolower(l) != l)
			T_FAIL("U+%04X: lower not idempotent", c);
		/* KW_*_ARENA_SIZE rely on this 1.5x bound */
		if (2 * u8len(l) > 3 * u8len(c))
			T_FAIL("U+%04X: lower grows beyond 1.5x", c);
		/* trim-then-lower == lower-then-trim; splitting unaffected */
		if (kw_is_space(l) != kw_is_space(c) || is_sep_cp(l) != is_sep_cp(c))
			T_FAIL("U+%04X: lower changes space/separator", c);
		if (l >= 0xd800 && l <= 0xdfff)
			T_FAIL("U+%04X: lowers to a surrogate", c);
	}
}

static void
test_camel_classes_are_go_categories(void)
{
	static const struct {
		const char	*in;
		size_t		 nparts;
	} cases[] = {
		{ "foo\xc2\xaa", 2 },		/* U+00AA is Lo in Go: other */
		{ "foo\xc2\xb5", 1 },		/* U+00B5 is Ll */
		{ "\xc7\x85x", 2 },		/* U+01C5 titlecase: other */
		{ "\xe2\x85\xabV", 2 },		/* U+216B Nl, not IsUpper */
		{ "v\xd9\xa3", 2 },		/* U+0663 Nd: digit */
		{ "x\xc2\xb2", 2 },		/* U+00B2 No: not IsDigit */
		{ "\xef\xbc\xa1\xef\xbc\xa2" "cd", 2 },	/* fullwidth Lu */
		{ "\xe1\xb4\xac" "ab", 2 },	/* U+1D2C Lm: other */
	};
	struct kw_span p[8];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (kw_camel_split(cases[i].in, strlen(cases[i].in), p, 8) !=
		    cases[i].nparts)
			T_FAIL("case %zu: part count", i);
	/* fullwidth "ＡＢcd" -> "Ａ", "Ｂcd" */
	T_EQ_INT(kw_camel_split("\xef\xbc\xa1\xef\xbc\xa2" "cd", 8, p, 8), 2);
	T_EQ_INT(p[0].off, 0);
	T_EQ_INT(p[0].len, 3);
	T_EQ_INT(p[1].off, 3);
	T_EQ_INT(p[1].len, 5);
}

static void
test_unicode14_addition_differs_from_go_1_20(void)
{
	/*
	 * Pins the known version skew: libunistring 1.0 has Unicode 14, where
	 * U+2C2F gained the lowercase U+2C5F.  Go <= 1.20 (Unicode 13) leaves
	 * it unchanged; Go >= 1.21 (Unicode 15) agrees with us.  If this fails,
	 * the library moved: re-check keywords.h's version note.
	 */
	T_EQ_U64(kw_tolower(0x2c2f), 0x2c5f);
	T_EQ_U64(kw_tolower(0x0130), 0x69);
	T_EQ_U64(kw_tolower(0x1e9e), 0xdf);
	T_EQ_U64(kw_tolower(0xdf), 0xdf);
}

/* ---- errors ---- */

static void
test_rejects_bad_arguments_and_sizes(void)
{
	static char big[KW_MAX_INPUT + 1];
	char arena[16], *a;
	int rc;

	kw_set_init(&set, arena, sizeof(arena));
	T_EQ_INT(kw_index_file(NULL, 1, "", 0, "", 0, &set), KW_E_ARG);
	T_EQ_INT(kw_index_file(big, sizeof(big), "", 0, "", 0, &set),
	    KW_E_TOOLONG);
	/* 16 bytes cannot hold what "Hello World.txt" needs */
	T_EQ_INT(kw_index_file("Hello World.txt", 15, "", 0, "", 0, &set),
	    KW_E_NOSPACE);
	T_EQ_INT(set.n, 0);
	kw_set_init(&set, NULL, 0);
	T_EQ_INT(kw_index_file("abc", 3, "", 0, "", 0, &set), KW_E_ARG);

	T_EQ_INT(kw_query_parse("hello", 5, &qry, arena, sizeof(arena)),
	    KW_E_NOSPACE);
	T_EQ_INT(kw_query_parse(NULL, 5, &qry, arena, sizeof(arena)), KW_E_ARG);
	memset(big, 'a', sizeof(big));
	a = query_str(big, sizeof(big), &rc);
	T_EQ_INT(rc, KW_E_TOOLONG);
	free(a);
	a = query_str(big, KW_MAX_INPUT, &rc);	/* the limit itself is fine */
	T_EQ_INT(rc, 0);
	T_EQ_INT(qry.exact_len, KW_MAX_INPUT);
	free(a);
	T_ASSERT(strcmp(kw_strerror(KW_E_TRUNCATED), "unknown error") != 0);
	T_EQ_STR(kw_strerror(12345), "unknown error");
}

static void
test_worst_case_input_fits_its_arena(void)
{
	/*
	 * Names made of 2-byte capitals that lower to 3 bytes, split into
	 * many camel parts, at the input limit: the arena formula must hold.
	 * "ȺaȺa..." fields: each "Ⱥa" run pair, separated by '-'.
	 */
	size_t n = KW_MAX_INPUT, i = 0;
	char *name = malloc(n), *a;
	int rc;

	T_ASSERT(name != NULL);
	while (i + 3 <= n) {
		name[i] = '\xc8';
		name[i + 1] = '\xba';
		name[i + 2] = (i / 3) % 7 == 0 ? '-' : 'A';
		i += 3;
	}
	while (i < n)
		name[i++] = 'A';
	a = index3(name, n, name, n, name, n, &rc);
	T_ASSERT(rc == 0 || rc == KW_E_TRUNCATED);
	T_ASSERT(set.n > 0);
	T_ASSERT(set.arena_len <= KW_INDEX_ARENA_SIZE(n, n, n));
	free(a);
	a = query_str(name, n, &rc);
	T_ASSERT(rc == 0 || rc == KW_E_TRUNCATED);
	T_ASSERT(qry.has_exact && qry.exact_len > n);
	free(a);
	free(name);
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	vec = tvec_load("search.json");
	if (vec == NULL) {
		fprintf(stderr, "search.json missing\n");
		return 1;
	}
	T_RUN(test_files_yield_reference_keywords_and_hashes);
	T_RUN(test_invalid_utf8_name_is_sanitized_like_reference);
	T_RUN(test_queries_match_reference_normalisation);
	T_RUN(test_queries_find_reference_files_in_index);
	T_RUN(test_spec_table_index_side);
	T_RUN(test_spec_table_query_side);
	T_RUN(test_keyword_video_hashes_to_spec_value);
	T_RUN(test_camel_split_matches_reference_examples);
	T_RUN(test_empty_inputs_yield_nothing);
	T_RUN(test_only_white_space_yields_nothing);
	T_RUN(test_quoted_term_is_not_trimmed_but_exact_keyword_is);
	T_RUN(test_query_of_only_exact_keyword_has_no_others);
	T_RUN(test_ten_kilobyte_inputs);
	T_RUN(test_sql_metacharacters_are_plain_text);
	T_RUN(test_clean_deletes_each_invalid_byte_like_go);
	T_RUN(test_invalid_utf8_everywhere);
	T_RUN(test_cjk_and_emoji_count_bytes_not_characters);
	T_RUN(test_combining_accents_are_kept_not_stripped);
	T_RUN(test_sharp_s_is_not_case_folded);
	T_RUN(test_turkish_dotted_capital_i_lowers_to_ascii_i);
	T_RUN(test_extension_is_cut_after_last_slash_only);
	T_RUN(test_hashtag_prefix_removed_once);
	T_RUN(test_lowercasing_can_grow_and_shrink_bytes);
	T_RUN(test_white_space_is_exactly_gos_set);
	T_RUN(test_lowercase_is_idempotent_bounded_and_keeps_separators);
	T_RUN(test_camel_classes_are_go_categories);
	T_RUN(test_unicode14_addition_differs_from_go_1_20);
	T_RUN(test_rejects_bad_arguments_and_sizes);
	T_RUN(test_worst_case_input_fits_its_arena);
	json_decref(vec);
	return t_done();
}
