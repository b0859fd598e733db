/*
 * test_index.c — searchd's keyword index and search jobs: the reference's
 * query vectors (vectors/search.json) over a real SQLite index, scripts and
 * separators, removal and re-index, filters, sorts, pagination, merging by
 * content hash, the connected-owner rule, job life cycle and bad input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "blake3.h"
#include "hex.h"
#include "index.h"
#include "job.h"
#include "keywords.h"
#include "t.h"
#include "tvec.h"

static char dbpath[64];

static struct idx *
open_tmp(void)
{
	struct idx *idx = NULL;

	snprintf(dbpath, sizeof(dbpath), "/tmp/test_index.XXXXXX");
	int fd = mkstemp(dbpath);
	if (fd >= 0)
		close(fd);
	t_unlink_db(dbpath);
	if (idx_open(&idx, dbpath) != IDX_OK)
		return NULL;
	return idx;
}

static void
close_tmp(struct idx *idx)
{
	idx_close(idx);
	t_unlink_db(dbpath);
}

static void
owner_n(uint8_t o[IDX_OWNER_LEN], int n)
{
	memset(o, 0, IDX_OWNER_LEN);
	o[0] = 0x02;
	o[1] = (uint8_t)n;
	o[32] = (uint8_t)(n * 7 + 1);
}

static void
fid_n(uint8_t f[IDX_FILE_ID_LEN], int n)
{
	memset(f, 0, IDX_FILE_ID_LEN);
	f[14] = (uint8_t)(n >> 8);
	f[15] = (uint8_t)n;
}

static void
mkfile(struct idx_file *f, int owner, int id, const char *name,
    const char *folder, const char *desc)
{
	memset(f, 0, sizeof(*f));
	owner_n(f->owner, owner);
	fid_n(f->file_id, id);
	blake3_hash(f->file_id, IDX_FILE_ID_LEN, f->hash);
	f->name = name;
	f->name_len = strlen(name);
	f->folder = folder;
	f->folder_len = folder ? strlen(folder) : 0;
	f->desc = desc;
	f->desc_len = desc ? strlen(desc) : 0;
	f->date = 1600000000;
	f->size = 1000;
	f->version = 1;
}

/* ---- collecting results ---- */

#define MAXR 512
struct coll {
	size_t		 n;
	int		 id[MAXR];		/* fid_n number */
	size_t		 nsharers[MAXR];
	int		 exact[MAXR];
	uint64_t	 size[MAXR];
	int64_t		 date[MAXR];
	char		 name[MAXR][64];
	uint8_t		 fid[MAXR][IDX_FILE_ID_LEN];
};

static int
coll_cb(const struct idx_hit *h, void *arg)
{
	struct coll *c = arg;
	size_t l;

	if (c->n >= MAXR)
		return 1;
	c->id[c->n] = h->file->file_id[14] << 8 | h->file->file_id[15];
	memcpy(c->fid[c->n], h->file->file_id, IDX_FILE_ID_LEN);
	c->nsharers[c->n] = h->nsharers;
	c->exact[c->n] = h->exact;
	c->size[c->n] = h->file->size;
	c->date[c->n] = h->file->date;
	l = h->file->name_len < 63 ? h->file->name_len : 63;
	memcpy(c->name[c->n], h->file->name, l);
	c->name[c->n][l] = '\0';
	c->n++;
	return 0;
}

/* idx_query of q into a cleared c. */
static int
run_query(struct idx *idx, const struct idx_query *q, struct coll *c,
    struct idx_query_stats *st)
{
	memset(c, 0, sizeof(*c));
	return idx_query(idx, q, coll_cb, c, st);
}

/* The files term finds, in the order sort gives, into c. */
static int
query_sorted(struct idx *idx, const char *term, int sort, struct coll *c)
{
	struct idx_query q;

	memset(&q, 0, sizeof(q));
	q.term = term;
	q.term_len = strlen(term);
	q.sort = sort;
	idx_filter_none(&q.filter);
	return run_query(idx, &q, c, NULL);
}

static int
query(struct idx *idx, const char *term, struct coll *c)
{
	return query_sorted(idx, term, IDX_SORT_NONE, c);
}

/* c->id[at[i][0]] is at[i][1], for i below n. */
static void
expect_ids(const struct coll *c, const int (*at)[2], size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (c->id[at[i][0]] != at[i][1])
			T_FAIL("file %d at %d, expected %d", c->id[at[i][0]],
			    at[i][0], at[i][1]);
}

#define ANY	(-1)	/* expect_found: the first hit's number is not checked */

/* term finds n files (into c), the first of number id unless ANY. */
static void
expect_found(struct idx *idx, const char *term, struct coll *c, size_t n,
    int id)
{
	T_EQ_INT(query(idx, term, c), IDX_OK);
	if (c->n != n)
		T_FAIL("\"%s\": %zu files, expected %zu", term, c->n, n);
	if (id != ANY && c->id[0] != id)
		T_FAIL("\"%s\": first file %d, expected %d", term, c->id[0], id);
}

static int
has_id(const struct coll *c, int id)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->id[i] == id)
			return 1;
	return 0;
}

/* ---- the reference's vectors ---- */

static int
parse_uuid(const char *s, uint8_t out[16])
{
	char hex[33];
	size_t n = 0;

	for (; *s != '\0' && n < 32; s++)
		if (*s != '-')
			hex[n++] = *s;
	hex[n] = '\0';
	return n == 32 && hex_decode(out, 16, hex) == 16 ? 0 : -1;
}

static int
uuid_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

static void
test_vectors_every_query_finds_the_reference_file_ids(void)
{
	json_t *v, *files, *queries, *e;
	struct idx *idx;
	struct idx_file f;
	uint8_t owner[IDX_OWNER_LEN], want[32][16];
	static struct coll c;
	size_t i, k, nq = 0, nfiles;
	uint8_t *name;
	size_t nlen;

	T_VECTORS(v, "search.json");
	T_ASSERT((idx = open_tmp()) != NULL);
	T_EQ_INT(tvec_hex_exact(v, "index_owner_public_key", owner,
	    IDX_OWNER_LEN), 0);
	files = json_object_get(v, "files");
	nfiles = json_array_size(files);
	T_EQ_INT(nfiles, 22);
	T_EQ_INT(idx_begin(idx), IDX_OK);
	json_array_foreach(files, i, e) {
		memset(&f, 0, sizeof(f));
		memcpy(f.owner, owner, IDX_OWNER_LEN);
		T_EQ_INT(parse_uuid(tvec_str(e, "file_id"), f.file_id), 0);
		blake3_hash(f.file_id, 16, f.hash);
		name = NULL;
		if (json_object_get(e, "name_hex") != NULL) {
			name = tvec_hex(e, "name_hex", &nlen);
			f.name = (const char *)name;
			f.name_len = nlen;
		} else {
			f.name = tvec_str(e, "name");
			f.name_len = strlen(f.name);
		}
		f.folder = tvec_str(e, "folder");
		f.folder_len = f.folder ? strlen(f.folder) : 0;
		f.desc = tvec_str(e, "description");
		f.desc_len = f.desc ? strlen(f.desc) : 0;
		T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
		free(name);
	}
	T_EQ_INT(idx_commit(idx), IDX_OK);

	queries = json_object_get(v, "queries");
	json_array_foreach(queries, i, e) {
		json_t *m = json_object_get(e, "matching_file_ids_in_index"), *x;
		size_t nw = json_array_size(m);
		const char *term = tvec_str(e, "query");

		T_ASSERT(nw <= 32);
		json_array_foreach(m, k, x)
			T_EQ_INT(parse_uuid(json_string_value(x), want[k]), 0);
		T_EQ_INT(query(idx, term, &c), IDX_OK);
		if (c.n != nw)
			T_FAIL("query \"%s\": %zu results, reference %zu", term,
			    c.n, nw);
		qsort(c.fid, c.n, 16, uuid_cmp);
		qsort(want, nw, 16, uuid_cmp);
		for (k = 0; k < nw; k++)
			if (memcmp(c.fid[k], want[k], 16) != 0)
				T_FAIL("query \"%s\": result %zu differs", term, k);
		nq++;
	}
	T_EQ_INT(nq, 17);
	close_tmp(idx);
	json_decref(v);
}

/* ---- scripts, separators, case ---- */

static void
test_names_in_several_scripts_are_found_by_each_keyword(void)
{
	static const char *names[] = {
		"Café Crème-Brûlée_Rezept.txt",
		"Привет Мир (Документ).pdf",
		"東京タワー 写真 夜景.jpg",
		"ÉCOLE été_ÉTÉ-Noël.DOCX",
		"mixed_CamelCaseName+plus,comma[bracket].tar.gz",
	};
	static struct kw_set set;
	static struct coll c;
	static char arena[KW_INDEX_ARENA_SIZE(200, 0, 0)];
	struct idx *idx;
	struct idx_file f;
	size_t i, k, checked = 0;

	T_ASSERT((idx = open_tmp()) != NULL);
	for (i = 0; i < 5; i++) {
		mkfile(&f, 1, (int)i + 1, names[i], NULL, NULL);
		T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
	}
	for (i = 0; i < 5; i++) {
		kw_set_init(&set, arena, sizeof(arena));
		T_EQ_INT(kw_index_file(names[i], strlen(names[i]), NULL, 0,
		    NULL, 0, &set), KW_OK);
		T_ASSERT(set.n >= 2);
		for (k = 0; k < set.n; k++) {
			char quoted[256];

			/* quoted: exact lookup of that keyword only */
			snprintf(quoted, sizeof(quoted), "\"%s\"",
			    kw_text(&set, k));
			T_EQ_INT(query(idx, quoted, &c), IDX_OK);
			if (!has_id(&c, (int)i + 1))
				T_FAIL("keyword \"%s\" does not find \"%s\"",
				    kw_text(&set, k), names[i]);
			checked++;
		}
	}
	T_ASSERT(checked >= 25);
	/* case does not matter (simple lowercase on both sides) */
	T_DO(expect_found(idx, "ПРИВЕТ", &c, 1, 2));
	T_DO(expect_found(idx, "brûlée", &c, 1, 1));
	/* accents are not stripped: "creme" is another word */
	T_DO(expect_found(idx, "creme", &c, 0, ANY));
	T_DO(expect_found(idx, "写真", &c, 1, 3));
	/* camel-case part and the separators + , [ ] */
	T_DO(expect_found(idx, "camel", &c, 1, 5));
	T_DO(expect_found(idx, "bracket", &c, 1, ANY));
	T_DO(expect_found(idx, "comma", &c, 1, ANY));
	/* "été" (5 bytes) is found in both cases, in the same file once */
	T_DO(expect_found(idx, "ÉTÉ", &c, 1, 4));
	/* the extension alone is never a keyword */
	T_DO(expect_found(idx, "docx", &c, 0, ANY));
	close_tmp(idx);
}

/* ---- remove, owner removal, re-index ---- */

static void
test_removed_file_and_owner_are_no_longer_found(void)
{
	struct idx *idx;
	struct idx_file f;
	struct idx_counts cnt;
	static struct coll c;
	uint8_t o[IDX_OWNER_LEN], fid[IDX_FILE_ID_LEN];
	uint64_t removed = 0;
	int i;

	T_ASSERT((idx = open_tmp()) != NULL);
	mkfile(&f, 1, 1, "Holiday Video 2021.mp4", NULL, NULL);
	T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
	mkfile(&f, 1, 2, "Holiday Photos.zip", NULL, NULL);
	T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
	for (i = 0; i < 5; i++) {
		mkfile(&f, 2, 10 + i, "Holiday Trip.mkv", "Other Folder", NULL);
		T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
	}
	T_DO(expect_found(idx, "holiday", &c, 7, ANY));

	owner_n(o, 1);
	fid_n(fid, 1);
	T_EQ_INT(idx_remove_file(idx, o, fid), IDX_OK);
	T_EQ_INT(idx_remove_file(idx, o, fid), IDX_E_NOTFOUND);
	T_DO(expect_found(idx, "holiday", &c, 6, ANY));
	T_ASSERT(!has_id(&c, 1));
	T_DO(expect_found(idx, "video", &c, 0, ANY));

	owner_n(o, 2);
	T_EQ_INT(idx_remove_owner(idx, o, &removed), IDX_OK);
	T_EQ_U64(removed, 5);
	T_DO(expect_found(idx, "holiday", &c, 1, 2));
	T_DO(expect_found(idx, "folder", &c, 0, ANY));
	/* no posting of a removed row is left behind */
	T_EQ_INT(idx_count(idx, &cnt), IDX_OK);
	T_EQ_U64(cnt.files, 1);
	T_EQ_U64(cnt.owners, 1);
	/* "holiday photos.zip", "holiday photos", "holiday", "photos" */
	T_EQ_U64(cnt.postings, 4);

	/* after a merge of the delta the postings live in the main table */
	mkfile(&f, 4, 40, "Merged Posting.txt", NULL, NULL);
	T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
	T_EQ_INT(idx_count(idx, &cnt), IDX_OK);
	T_ASSERT(cnt.delta >= 4);
	T_EQ_INT(idx_compact(idx), IDX_OK);
	T_EQ_INT(idx_count(idx, &cnt), IDX_OK);
	T_EQ_U64(cnt.delta, 0);
	T_EQ_U64(cnt.postings, 8);
	T_DO(expect_found(idx, "merged", &c, 1, ANY));
	owner_n(o, 4);
	T_EQ_INT(idx_remove_owner(idx, o, &removed), IDX_OK);
	T_EQ_U64(removed, 1);
	T_DO(expect_found(idx, "merged", &c, 0, ANY));
	T_EQ_INT(idx_count(idx, &cnt), IDX_OK);
	T_EQ_U64(cnt.postings, 4);

	/* re-adding the same (owner, file ID) replaces the row */
	mkfile(&f, 1, 2, "Renamed Document.pdf", NULL, NULL);
	T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
	T_DO(expect_found(idx, "holiday", &c, 0, ANY));
	T_DO(expect_found(idx, "renamed", &c, 1, ANY));
	T_EQ_INT(idx_count(idx, &cnt), IDX_OK);
	T_EQ_U64(cnt.files, 1);

	/* re-index: clear, then add again */
	T_EQ_INT(idx_clear(idx), IDX_OK);
	T_EQ_INT(idx_count(idx, &cnt), IDX_OK);
	T_EQ_U64(cnt.files + cnt.postings + cnt.owners, 0);
	T_DO(expect_found(idx, "renamed", &c, 0, ANY));
	T_EQ_INT(idx_begin(idx), IDX_OK);
	T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
	/* buffered postings are visible to a query inside the batch */
	T_DO(expect_found(idx, "renamed", &c, 1, ANY));
	T_EQ_INT(idx_commit(idx), IDX_OK);
	T_EQ_INT(idx_commit(idx), IDX_E_STATE);
	/* a rolled-back batch leaves nothing */
	T_EQ_INT(idx_begin(idx), IDX_OK);
	mkfile(&f, 3, 3, "Rolled Back.txt", NULL, NULL);
	T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
	idx_rollback(idx);
	T_DO(expect_found(idx, "rolled", &c, 0, ANY));
	T_DO(expect_found(idx, "renamed", &c, 1, ANY));
	close_tmp(idx);
}

static void
test_index_persists_across_reopen(void)
{
	struct idx *idx;
	struct idx_file f;
	static struct coll c;

	T_ASSERT((idx = open_tmp()) != NULL);
	mkfile(&f, 1, 1, "Persistent Record.txt", NULL, NULL);
	T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
	idx_close(idx);
	T_EQ_INT(idx_open(&idx, dbpath), IDX_OK);
	T_DO(expect_found(idx, "persistent", &c, 1, ANY));
	close_tmp(idx);
}

/* ---- filters, sorts, pagination on a generated set ---- */

#define GEN	60
static const char *gen_ext[3] = { "txt", "mp4", "pdf" };

/* file i: "alpha item <i>.<ext>", size (i*37)%60*10, date base+i days */
static struct idx *
gen_index(void)
{
	struct idx *idx = open_tmp();
	struct idx_file f;
	char name[64];
	int i;

	if (idx == NULL || idx_begin(idx) != IDX_OK)
		return NULL;
	for (i = 0; i < GEN; i++) {
		snprintf(name, sizeof(name), "alpha item %02d.%s", i,
		    gen_ext[i % 3]);
		mkfile(&f, 1 + i % 4, i, name, NULL, NULL);
		f.type = (uint8_t)(i % 3);
		f.format = (uint16_t)(i % 5);
		f.size = (uint64_t)((i * 37) % GEN) * 10;
		f.date = 1600000000 + (int64_t)i * 86400;
		if (idx_add_file(idx, &f) != IDX_OK)
			return NULL;
	}
	return idx_commit(idx) == IDX_OK ? idx : NULL;
}

static int
gen_query(struct idx *idx, const struct idx_filter *flt, int sort,
    size_t off, size_t lim, struct coll *c, struct idx_query_stats *st)
{
	struct idx_query q;

	memset(&q, 0, sizeof(q));
	memset(c, 0, sizeof(*c));
	q.term = "alpha";
	q.term_len = 5;
	q.filter = *flt;
	q.sort = sort;
	q.offset = off;
	q.limit = lim;
	return idx_query(idx, &q, coll_cb, c, st);
}

static void
test_filters_select_exactly_the_matching_rows(void)
{
	struct idx *idx;
	struct idx_filter flt;
	struct idx_query_stats st;
	static struct coll c;
	size_t i;

	T_ASSERT((idx = gen_index()) != NULL);
	idx_filter_none(&flt);
	T_EQ_INT(gen_query(idx, &flt, 0, 0, 0, &c, &st), IDX_OK);
	T_EQ_INT(c.n, GEN);
	T_EQ_U64(st.candidates, GEN);

	flt.type = 1;		/* i % 3 == 1: 20 rows */
	T_EQ_INT(gen_query(idx, &flt, 0, 0, 0, &c, &st), IDX_OK);
	T_EQ_INT(c.n, 20);
	for (i = 0; i < c.n; i++)
		T_EQ_INT(c.id[i] % 3, 1);
	T_EQ_U64(st.filtered, 40);

	idx_filter_none(&flt);
	flt.format = 4;		/* i % 5 == 4: 12 rows */
	T_EQ_INT(gen_query(idx, &flt, 0, 0, 0, &c, &st), IDX_OK);
	T_EQ_INT(c.n, 12);

	idx_filter_none(&flt);	/* sizes 0..590 step 10, each once */
	flt.size_min = 100;
	flt.size_max = 200;	/* inclusive: 100,110,...,200 = 11 */
	T_EQ_INT(gen_query(idx, &flt, 0, 0, 0, &c, &st), IDX_OK);
	T_EQ_INT(c.n, 11);
	for (i = 0; i < c.n; i++)
		T_ASSERT(c.size[i] >= 100 && c.size[i] <= 200);

	idx_filter_none(&flt);	/* days 10..19 inclusive */
	flt.date_from = 1600000000 + 10 * 86400;
	flt.date_to = 1600000000 + 19 * 86400;
	T_EQ_INT(gen_query(idx, &flt, IDX_SORT_DATE_ASC, 0, 0, &c, &st), 0);
	T_EQ_INT(c.n, 10);
	T_EQ_INT(c.id[0], 10);
	T_EQ_INT(c.id[9], 19);
	/* from >= to: the date range is ignored (reference) */
	flt.date_to = flt.date_from;
	T_EQ_INT(gen_query(idx, &flt, 0, 0, 0, &c, &st), IDX_OK);
	T_EQ_INT(c.n, GEN);

	idx_filter_none(&flt);	/* owner 3 = files with i % 4 == 2 */
	{
		uint8_t o[IDX_OWNER_LEN];

		owner_n(o, 3);
		idx_node_id(o, flt.node_id);
		flt.has_node = 1;
	}
	T_EQ_INT(gen_query(idx, &flt, 0, 0, 0, &c, &st), IDX_OK);
	T_EQ_INT(c.n, 15);
	for (i = 0; i < c.n; i++)
		T_EQ_INT(c.id[i] % 4, 2);

	/* combined: type 0 and size <= 300 */
	idx_filter_none(&flt);
	flt.type = 0;
	flt.size_max = 300;
	T_EQ_INT(gen_query(idx, &flt, 0, 0, 0, &c, &st), IDX_OK);
	{
		size_t want = 0;
		int k;

		for (k = 0; k < GEN; k++)
			if (k % 3 == 0 && (k * 37) % GEN * 10 <= 300)
				want++;
		T_EQ_INT(c.n, want);
	}
	close_tmp(idx);
}

static void
test_sort_orders_and_pagination(void)
{
	struct idx *idx;
	struct idx_filter flt;
	static struct coll c, all;
	size_t i;

	T_ASSERT((idx = gen_index()) != NULL);
	idx_filter_none(&flt);

	T_EQ_INT(gen_query(idx, &flt, IDX_SORT_SIZE_ASC, 0, 0, &c, NULL), 0);
	T_EQ_INT(c.n, GEN);
	for (i = 0; i < c.n; i++)
		T_EQ_U64(c.size[i], i * 10);
	T_EQ_INT(gen_query(idx, &flt, IDX_SORT_SIZE_DESC, 0, 0, &c, NULL), 0);
	T_EQ_U64(c.size[0], (GEN - 1) * 10);
	T_EQ_U64(c.size[GEN - 1], 0);

	T_EQ_INT(gen_query(idx, &flt, IDX_SORT_DATE_DESC, 0, 0, &c, NULL), 0);
	T_EQ_INT(c.id[0], GEN - 1);
	T_EQ_INT(c.id[GEN - 1], 0);
	/* relevance = date, as the reference computes it */
	T_EQ_INT(gen_query(idx, &flt, IDX_SORT_RELEVANCE_DESC, 0, 0, &c,
	    NULL), 0);
	T_EQ_INT(c.id[0], GEN - 1);
	T_EQ_INT(gen_query(idx, &flt, IDX_SORT_RELEVANCE_ASC, 0, 0, &c,
	    NULL), 0);
	T_EQ_INT(c.id[0], 0);

	T_EQ_INT(gen_query(idx, &flt, IDX_SORT_NAME_ASC, 0, 0, &c, NULL), 0);
	T_EQ_STR(c.name[0], "alpha item 00.txt");
	T_EQ_STR(c.name[1], "alpha item 01.mp4");
	for (i = 1; i < c.n; i++)
		T_ASSERT(strcmp(c.name[i - 1], c.name[i]) < 0);
	T_EQ_INT(gen_query(idx, &flt, IDX_SORT_NAME_DESC, 0, 0, &c, NULL), 0);
	T_EQ_STR(c.name[0], "alpha item 59.pdf");

	/* pagination: pages of 7 over the size order concatenate to it */
	T_EQ_INT(gen_query(idx, &flt, IDX_SORT_SIZE_ASC, 0, 0, &all, NULL), 0);
	for (i = 0; i < GEN; i += 7) {
		size_t k;

		T_EQ_INT(gen_query(idx, &flt, IDX_SORT_SIZE_ASC, i, 7, &c,
		    NULL), 0);
		T_EQ_INT(c.n, i + 7 <= GEN ? 7 : GEN - i);
		for (k = 0; k < c.n; k++)
			T_EQ_INT(c.id[k], all.id[i + k]);
	}
	T_EQ_INT(gen_query(idx, &flt, IDX_SORT_SIZE_ASC, GEN, 7, &c, NULL), 0);
	T_EQ_INT(c.n, 0);
	T_EQ_INT(gen_query(idx, &flt, IDX_SORT_COUNT, 0, 0, &c, NULL),
	    IDX_E_ARG);
	close_tmp(idx);
}

static void
test_match_sort_puts_exact_then_more_keywords_first(void)
{
	struct idx *idx;
	struct idx_file f;
	static struct coll c;

	T_ASSERT((idx = open_tmp()) != NULL);
	mkfile(&f, 1, 1, "red.txt", NULL, NULL);		/* red */
	T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
	mkfile(&f, 1, 2, "red car.txt", NULL, NULL);		/* exact */
	T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
	mkfile(&f, 1, 3, "car red blue.txt", NULL, NULL);	/* 2 words */
	T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
	T_EQ_INT(query_sorted(idx, "Red Car", IDX_SORT_MATCH, &c), IDX_OK);
	T_EQ_INT(c.n, 3);
	T_EQ_INT(c.exact[0], 1);
	T_DO(expect_ids(&c, (const int[][2]){ { 0, 2 }, { 1, 3 }, { 2, 1 } }, 3));
	close_tmp(idx);
}

/* ---- merging by content hash, connected owners ---- */

static int
only_owner2(const uint8_t owner[IDX_OWNER_LEN], void *arg)
{
	(void)arg;
	return owner[1] == 2;
}

static void
test_same_hash_of_three_owners_is_one_result_with_three_sharers(void)
{
	struct idx *idx;
	struct idx_file f;
	struct idx_query q;
	struct idx_query_stats st;
	static struct coll c;
	uint8_t h[IDX_HASH_LEN];
	int o;

	T_ASSERT((idx = open_tmp()) != NULL);
	memset(h, 0xab, sizeof(h));
	for (o = 1; o <= 3; o++) {
		mkfile(&f, o, 100 + o, "Shared Movie.mkv", NULL, NULL);
		memcpy(f.hash, h, sizeof(h));
		T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
	}
	mkfile(&f, 1, 200, "Shared Other.mkv", NULL, NULL);
	T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
	memset(&q, 0, sizeof(q));
	idx_filter_none(&q.filter);
	q.term = "shared";
	q.term_len = 6;
	q.flags = IDX_Q_DEDUP;
	T_EQ_INT(run_query(idx, &q, &c, &st), IDX_OK);
	T_EQ_INT(c.n, 2);
	T_EQ_INT(c.id[0], 101);
	T_EQ_INT(c.nsharers[0], 3);
	T_EQ_INT(c.nsharers[1], 1);
	T_EQ_U64(st.merged, 2);
	T_EQ_U64(st.candidates, 4);
	/* sorted by number of sharers */
	q.sort = IDX_SORT_SHARED_ASC;
	T_EQ_INT(run_query(idx, &q, &c, &st), IDX_OK);
	T_EQ_INT(c.id[0], 200);
	/* without dedup: 4 rows */
	q.flags = 0;
	q.sort = 0;
	T_EQ_INT(run_query(idx, &q, &c, &st), IDX_OK);
	T_EQ_INT(c.n, 4);
	/* owner check before merging: only owner 2 is kept */
	q.flags = IDX_Q_DEDUP;
	q.owner_ok = only_owner2;
	T_EQ_INT(run_query(idx, &q, &c, &st), IDX_OK);
	T_EQ_INT(c.n, 1);
	T_EQ_INT(c.id[0], 102);
	T_EQ_INT(c.nsharers[0], 1);
	T_EQ_U64(st.dropped_owner, 3);
	close_tmp(idx);
}

/* ---- jobs ---- */

static uint64_t fake_now;

static uint64_t
fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static int
connected_2(const uint8_t owner[IDX_OWNER_LEN], void *arg)
{
	(void)arg;
	return owner[1] == 2;	/* peer 2 is connected, 3 is not */
}

static struct job_table *
table_for(struct idx *idx)
{
	struct job_table_cfg cfg;
	struct job_table *t = NULL;

	memset(&cfg, 0, sizeof(cfg));
	cfg.idx = idx;
	owner_n(cfg.self, 1);
	cfg.is_connected = connected_2;
	cfg.now_ms = fake_clock;
	if (job_table_new(&t, &cfg) != JOB_OK)
		return NULL;
	return t;
}

static void
job_params_for(struct job_params *p, const char *term)
{
	memset(p, 0, sizeof(*p));
	p->term = term;
	p->term_len = strlen(term);
	idx_filter_none(&p->filter);
}

static void
test_job_keeps_own_and_connected_owners_and_merges_by_hash(void)
{
	struct idx *idx;
	struct idx_file f;
	struct job_table *t;
	struct job_params p;
	struct job_stats st;
	const struct job_result *out[16];
	struct job *j;
	uint8_t id[JOB_ID_LEN];
	size_t n;
	int o, status;

	T_ASSERT((idx = open_tmp()) != NULL);
	for (o = 1; o <= 3; o++) {	/* same content, owners 1 (self), 2, 3 */
		mkfile(&f, o, 10 + o, "Concert Recording.flac", NULL, NULL);
		memset(f.hash, 0x77, IDX_HASH_LEN);
		T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
	}
	mkfile(&f, 3, 20, "Concert Poster.png", NULL, NULL);	/* offline only */
	T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
	mkfile(&f, 2, 21, "Concert Tickets.pdf", NULL, NULL);	/* connected */
	T_EQ_INT(idx_add_file(idx, &f), IDX_OK);

	fake_now = 1000;
	T_ASSERT((t = table_for(idx)) != NULL);
	job_params_for(&p, "concert");
	T_EQ_INT(job_start(t, &p, id), JOB_OK);
	T_EQ_INT(id[6] >> 4, 4);	/* UUID v4 */
	T_ASSERT((j = job_find(t, id)) != NULL);
	T_EQ_INT(job_state(j), JOB_TERMINATED);	/* local only: done */
	T_EQ_INT(job_fetch(j, -1, 16, out, &n, &status), JOB_OK);
	T_EQ_INT(n, 2);
	T_EQ_INT(status, JOB_FETCH_DONE);
	T_EQ_INT(out[0]->file.file_id[15], 11);
	T_EQ_INT(out[0]->shared_by, 2);		/* self + peer 2, not 3 */
	T_EQ_INT(out[0]->nsharers, 2);
	T_EQ_INT(out[0]->local, 1);
	T_EQ_INT(out[1]->file.file_id[15], 21);
	T_EQ_INT(out[1]->local, 0);
	job_get_stats(j, &st);
	T_EQ_U64(st.results, 2);
	T_EQ_U64(st.dropped_offline, 2);	/* poster + owner 3's copy */
	T_EQ_U64(st.by_type[0], 2);
	/* a terminated job takes no more hits */
	{
		struct idx_hit h;

		memset(&h, 0, sizeof(h));
		h.file = &f;
		T_EQ_INT(job_add_hit(j, &h), JOB_E_ENDED);
	}
	T_EQ_INT(job_stop(t, id), JOB_OK);
	T_ASSERT(job_find(t, id) == NULL);
	T_EQ_INT(job_stop(t, id), JOB_E_NOTFOUND);
	job_table_free(t);
	close_tmp(idx);
}

static void
test_job_pages_freeze_sorts_and_remote_hits_arrive_later(void)
{
	struct idx *idx;
	struct job_table *t;
	struct job_params p;
	struct idx_filter flt;
	const struct job_result *out[64];
	struct job *j;
	struct idx_file f;
	struct idx_hit h;
	struct job_day days[80];
	uint8_t id[JOB_ID_LEN];
	size_t n, i;
	int status;

	T_ASSERT((idx = gen_index()) != NULL);	/* owners 1..4; 1 self, 2 conn */
	fake_now = 5000;
	T_ASSERT((t = table_for(idx)) != NULL);
	job_params_for(&p, "alpha");
	p.sort = IDX_SORT_SIZE_ASC;
	p.remote = 1;
	p.max_results = 100;
	p.timeout_ms = 3000;
	T_EQ_INT(job_start(t, &p, id), JOB_OK);
	T_ASSERT((j = job_find(t, id)) != NULL);
	T_EQ_INT(job_state(j), JOB_LIVE);
	/* owners 1 and 2 kept: i % 4 in {0, 1}: 30 results */
	T_EQ_INT(job_fetch(j, -1, 5, out, &n, &status), JOB_OK);
	T_EQ_INT(n, 5);
	T_EQ_INT(status, JOB_FETCH_MORE);
	for (i = 1; i < n; i++)
		T_ASSERT(out[i - 1]->file.size <= out[i]->file.size);
	uint64_t frozen_last = out[4]->file.size;

	/* a remote hit smaller than everything: not before frozen results */
	mkfile(&f, 2, 999, "alpha remote.txt", NULL, NULL);
	f.size = 0;
	f.date = 1600000000;
	memset(&h, 0, sizeof(h));
	h.file = &f;
	T_EQ_INT(job_add_hit(j, &h), JOB_OK);
	T_EQ_INT(job_fetch(j, -1, 1, out, &n, &status), JOB_OK);
	T_EQ_INT(n, 1);
	T_EQ_INT(out[0]->file.file_id[15], 999 & 0xff);
	T_ASSERT(frozen_last > 0);
	/* a remote hit of an offline owner is dropped */
	mkfile(&f, 3, 998, "alpha offline.txt", NULL, NULL);
	h.file = &f;
	T_EQ_INT(job_add_hit(j, &h), 1);

	/* absolute offsets over frozen + queue */
	T_EQ_INT(job_fetch(j, 0, 64, out, &n, &status), JOB_OK);
	T_EQ_INT(n, 31);
	T_EQ_INT(status, JOB_FETCH_MORE);	/* still live */

	/* reset with a filter: type 1 among kept = i%3==1 and i%4 in {0,1} */
	idx_filter_none(&flt);
	flt.type = 1;
	T_EQ_INT(job_set_filter(j, &flt, IDX_SORT_DATE_DESC), JOB_OK);
	T_EQ_INT(job_fetch(j, -1, 64, out, &n, &status), JOB_OK);
	T_EQ_INT(n, 10);
	for (i = 0; i < n; i++)
		T_EQ_INT(out[i]->file.type, 1);
	for (i = 1; i < n; i++)
		T_ASSERT(out[i - 1]->file.date >= out[i]->file.date);
	T_EQ_INT(job_fetch(j, -1, 64, out, &n, &status), JOB_OK);
	T_EQ_INT(n, 0);
	T_EQ_INT(status, JOB_FETCH_WAIT);

	/* statistics per day over all results: 31, the remote hit on day 0 */
	T_EQ_INT(job_stat_days(j, days, 80), 30);
	T_EQ_INT(days[0].day, 1600000000 - 1600000000 % 86400);
	T_EQ_U64(days[0].count, 2);

	/* timeout, then deletion after the linger time */
	fake_now = 5000 + 3000;
	T_EQ_INT(job_state(j), JOB_TERMINATED);
	T_EQ_INT(job_fetch(j, -1, 64, out, &n, &status), JOB_OK);
	T_EQ_INT(status, JOB_FETCH_DONE);
	job_table_tick(t);
	T_ASSERT(job_find(t, id) != NULL);
	fake_now += JOB_LINGER_MS;
	job_table_tick(t);
	T_ASSERT(job_find(t, id) == NULL);
	T_EQ_INT(job_table_count(t), 0);
	job_table_free(t);
	close_tmp(idx);
}

static void
test_job_count_is_capped_and_results_are_bounded(void)
{
	struct idx *idx;
	struct job_table *t;
	struct job_params p;
	struct job_stats st;
	uint8_t id[JOB_ID_LEN], first[JOB_ID_LEN];
	int i;

	T_ASSERT((idx = gen_index()) != NULL);
	fake_now = 0;
	T_ASSERT((t = table_for(idx)) != NULL);
	job_params_for(&p, "alpha");
	p.max_results = 7;
	for (i = 0; i < JOB_MAX_JOBS; i++) {
		T_EQ_INT(job_start(t, &p, id), JOB_OK);
		if (i == 0)
			memcpy(first, id, JOB_ID_LEN);
	}
	T_EQ_INT(job_start(t, &p, id), JOB_E_TOOMANY);
	job_get_stats(job_find(t, first), &st);
	T_EQ_U64(st.results, 7);
	T_EQ_U64(st.dropped_full, 1);
	/* stopping one frees a slot */
	T_EQ_INT(job_stop(t, first), JOB_OK);
	T_EQ_INT(job_start(t, &p, id), JOB_OK);
	/* expired jobs free their slots at the next start */
	fake_now = JOB_DEFAULT_TIMEOUT_MS + JOB_LINGER_MS;
	T_EQ_INT(job_start(t, &p, id), JOB_OK);
	T_EQ_INT(job_table_count(t), 1);
	p.sort = 99;
	T_EQ_INT(job_start(t, &p, id), JOB_E_ARG);
	job_table_free(t);
	close_tmp(idx);
}

/* ---- bad input ---- */

static void
test_bad_queries_give_empty_results_or_clean_errors(void)
{
	struct idx *idx;
	struct idx_counts cnt;
	struct idx_query q;
	static struct coll c;
	char *big;
	size_t i;
	static const char *odd[] = {
		"'; DROP TABLE file; --",
		"\" OR 1=1 --",
		"NEAR(alpha item) OR alpha*",
		"alpha AND NOT item",
		"%_%",
		"\xff\xfe\xc0\xaf",
		"\xed\xa0\x80\xed\xb0\x80",	/* UTF-16 surrogates in UTF-8 */
		"\"\"",
		"   ",
		"",
	};

	T_ASSERT((idx = gen_index()) != NULL);
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		T_EQ_INT(query(idx, odd[i], &c), IDX_OK);
		/* only "alpha" from the FTS-like ones matches, as a word */
		if (i == 2 || i == 3)
			T_EQ_INT(c.n, GEN);
		else
			T_EQ_INT(c.n, 0);
	}
	T_EQ_INT(idx_count(idx, &cnt), IDX_OK);
	T_EQ_U64(cnt.files, GEN);

	/* 10 KB of words: clean result, the one real word found */
	big = malloc(70000);
	T_ASSERT(big != NULL);
	for (i = 0; i + 6 < 10240; i += 6)
		memcpy(big + i, "zzyzx ", 6);
	memcpy(big + i - 6, "alpha ", 6);
	memset(&q, 0, sizeof(q));
	idx_filter_none(&q.filter);
	q.term = big;
	q.term_len = i;
	T_EQ_INT(run_query(idx, &q, &c, NULL), IDX_OK);
	T_EQ_INT(c.n, GEN);
	/* 10 KB of distinct words: the keyword cap applies, no error */
	for (i = 0; i + 8 < 10240; i += 8)
		snprintf(big + i, 9, "w%06zu ", i);
	q.term_len = i;
	T_EQ_INT(run_query(idx, &q, &c, NULL), IDX_OK);
	T_EQ_INT(c.n, 0);
	/* beyond KW_MAX_INPUT: refused */
	memset(big, 'a', 70000);
	q.term_len = 70000;
	T_EQ_INT(idx_query(idx, &q, coll_cb, &c, NULL), IDX_E_TOOLONG);
	free(big);
	/* NULL term with a length */
	q.term = NULL;
	q.term_len = 3;
	T_EQ_INT(idx_query(idx, &q, coll_cb, &c, NULL), IDX_E_ARG);

	/* records with odd bytes are stored and found by their keywords */
	{
		struct idx_file f;
		static const char nm[] = "Bad\xff\xfe" "Bytes'; DROP TABLE x;--.txt";

		mkfile(&f, 1, 500, nm, NULL, NULL);
		f.name_len = sizeof(nm) - 1;
		T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
		T_DO(expect_found(idx, "badbytes';", &c, 1, 500));
		f.name_len = KW_MAX_INPUT + 1;
		T_EQ_INT(idx_add_file(idx, &f), IDX_E_TOOLONG);
		f.name = NULL;
		f.name_len = 3;
		T_EQ_INT(idx_add_file(idx, &f), IDX_E_ARG);
	}
	close_tmp(idx);
}

/*
 * Rows found in the main posting table come before those still in the
 * delta (arrival order), and a name sort over more candidates than the
 * first name arena holds (64 prefixes of 128 bytes) compares the first
 * 128 bytes only, ties in arrival order.
 */
static void
test_arrival_order_spans_main_and_delta_and_long_names_sort(void)
{
	struct idx *idx;
	struct idx_file f;
	struct idx_counts cnt;
	static struct coll c;
	static char names[150][200];
	int i;

	T_ASSERT((idx = open_tmp()) != NULL);
	mkfile(&f, 1, 1, "Arrival First.txt", NULL, NULL);
	T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
	T_EQ_INT(idx_compact(idx), IDX_OK);
	mkfile(&f, 1, 2, "Arrival Second.txt", NULL, NULL);
	T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
	T_EQ_INT(idx_count(idx, &cnt), IDX_OK);
	T_ASSERT(cnt.delta >= 4 && cnt.postings > cnt.delta);
	T_DO(expect_found(idx, "arrival", &c, 2, 1));
	T_EQ_INT(c.id[1], 2);

	/* 150 names: a 130-byte common stem, then 3 digits counting down */
	for (i = 0; i < 150; i++) {
		memset(names[i], 'x', 130);
		memcpy(names[i], "Longname ", 9);
		snprintf(names[i] + 130, sizeof(names[i]) - 130, "%03d.bin",
		    149 - i);
		mkfile(&f, 2, 100 + i, names[i], NULL, NULL);
		/* every 10th one differs inside the prefix: sorts first */
		if (i % 10 == 0)
			names[i][120] = 'a';
		T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
	}
	T_EQ_INT(query_sorted(idx, "longname", IDX_SORT_NAME_ASC, &c), IDX_OK);
	T_EQ_INT(c.n, 150);
	/*
	 * the 'a' ones first, then the others; within each group arrival
	 * order (ids ascending), whatever the digits after byte 128 say
	 */
	for (i = 0; i < 15; i++)
		T_EQ_INT(c.id[i], 100 + i * 10);
	T_DO(expect_ids(&c, (const int[][2]){ { 15, 101 }, { 16, 102 },
	    { 149, 249 } }, 3));
	T_EQ_INT(query_sorted(idx, "longname", IDX_SORT_NAME_DESC, &c), IDX_OK);
	T_EQ_INT(c.n, 150);
	T_DO(expect_ids(&c, (const int[][2]){ { 0, 101 }, { 1, 102 },
	    { 134, 249 }, { 135, 100 }, { 149, 240 } }, 5));
	close_tmp(idx);
}

/*
 * The delta (postings of rows added since the last merge) lives in memory
 * and is rebuilt from the rows: after a reopen it finds the same rows, a
 * removed or replaced delta row stays gone, a rolled-back batch leaves
 * nothing behind, and a merge moves only the live postings.
 */
static void
test_delta_survives_reopen_rollback_and_removal(void)
{
	struct idx *idx;
	struct idx_file f;
	struct idx_counts cnt;
	static struct coll c;
	uint8_t o[IDX_OWNER_LEN], fid[IDX_FILE_ID_LEN];

	T_ASSERT((idx = open_tmp()) != NULL);
	mkfile(&f, 1, 1, "Delta Alpha.txt", NULL, NULL);
	T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
	T_EQ_INT(idx_compact(idx), IDX_OK);
	mkfile(&f, 1, 2, "Delta Beta.txt", NULL, NULL);
	T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
	mkfile(&f, 1, 3, "Delta Gamma.txt", NULL, NULL);
	T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
	owner_n(o, 1);
	fid_n(fid, 2);
	T_EQ_INT(idx_remove_file(idx, o, fid), IDX_OK);
	T_EQ_INT(idx_count(idx, &cnt), IDX_OK);
	/* "delta gamma.txt", "delta gamma", "delta", "gamma" */
	T_EQ_U64(cnt.delta, 4);
	T_EQ_U64(cnt.postings, 8);

	idx_close(idx);
	T_EQ_INT(idx_open(&idx, dbpath), IDX_OK);
	T_EQ_INT(idx_count(idx, &cnt), IDX_OK);
	T_EQ_U64(cnt.files, 2);
	T_EQ_U64(cnt.delta, 4);
	T_EQ_U64(cnt.postings, 8);
	T_DO(expect_found(idx, "delta", &c, 2, 1));
	T_EQ_INT(c.id[1], 3);
	T_DO(expect_found(idx, "beta", &c, 0, ANY));

	/* a batch's rows are searchable inside it, gone after a rollback */
	T_EQ_INT(idx_begin(idx), IDX_OK);
	mkfile(&f, 2, 4, "Delta Rolled.txt", NULL, NULL);
	T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
	T_DO(expect_found(idx, "rolled", &c, 1, ANY));
	idx_rollback(idx);
	T_DO(expect_found(idx, "rolled", &c, 0, ANY));
	T_DO(expect_found(idx, "delta", &c, 2, ANY));

	/* replacing a delta row: only the new keywords find it */
	mkfile(&f, 1, 3, "Delta Replaced.txt", NULL, NULL);
	T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
	T_DO(expect_found(idx, "gamma", &c, 0, ANY));
	T_DO(expect_found(idx, "replaced", &c, 1, 3));
	/* the merge moves the live postings only */
	T_EQ_INT(idx_compact(idx), IDX_OK);
	T_EQ_INT(idx_count(idx, &cnt), IDX_OK);
	T_EQ_U64(cnt.delta, 0);
	T_EQ_U64(cnt.postings, 8);
	idx_close(idx);
	T_EQ_INT(idx_open(&idx, dbpath), IDX_OK);
	T_DO(expect_found(idx, "delta", &c, 2, ANY));
	T_DO(expect_found(idx, "gamma", &c, 0, ANY));
	/* a row removed after the merge leaves the main table */
	fid_n(fid, 3);
	T_EQ_INT(idx_remove_file(idx, o, fid), IDX_OK);
	T_EQ_INT(idx_count(idx, &cnt), IDX_OK);
	T_EQ_U64(cnt.postings, 4);
	close_tmp(idx);
}


/* ---- owners of a content hash (get HASH without --from) ---- */

static void
add_hashed(struct idx *idx, int owner, int id, const uint8_t *hash,
    const char *name, uint64_t size)
{
	struct idx_file f;

	mkfile(&f, owner, id, name, NULL, NULL);
	memcpy(f.hash, hash, IDX_HASH_LEN);
	f.size = size;
	T_EQ_INT(idx_add_file(idx, &f), IDX_OK);
}

static void
test_hash_owners_lists_each_other_owner_once_and_flags_self(void)
{
	static uint8_t owners[8][IDX_OWNER_LEN];
	struct idx_hash_owners ho;
	struct idx *idx;
	uint8_t h[IDX_HASH_LEN], g[IDX_HASH_LEN], self[IDX_OWNER_LEN],
	    o2[IDX_OWNER_LEN], o3[IDX_OWNER_LEN];

	T_ASSERT((idx = open_tmp()) != NULL);
	memset(h, 0x5c, sizeof(h));
	memset(g, 0x5d, sizeof(g));
	owner_n(self, 1);
	owner_n(o2, 2);
	owner_n(o3, 3);
	/* Owners enter in the order 1, 3, 2; owner 2 holds the hash twice. */
	add_hashed(idx, 1, 10, h, "Own Copy.mkv", 7340032);
	add_hashed(idx, 3, 30, h, "Third.mkv", 7340032);
	add_hashed(idx, 2, 20, h, "Second.mkv", 7340032);
	add_hashed(idx, 2, 21, h, "Second again.mkv", 7340032);
	add_hashed(idx, 4, 40, g, "Other Content.mkv", 99);
	T_EQ_INT(idx_hash_owners(idx, h, self, owners, 8, &ho), IDX_OK);
	T_EQ_INT(ho.found, 1);
	T_EQ_INT(ho.local, 1);
	T_EQ_U64(ho.total, 2);
	T_EQ_INT(ho.n, 2);
	T_EQ_MEM(owners[0], o3, IDX_OWNER_LEN);
	T_EQ_MEM(owners[1], o2, IDX_OWNER_LEN);
	/* Size and name of the oldest record: the own one here. */
	T_EQ_U64(ho.size, 7340032);
	T_EQ_STR(ho.name, "Own Copy.mkv");
	/* Without a self, self is one more owner and nothing is local. */
	T_EQ_INT(idx_hash_owners(idx, h, NULL, owners, 8, &ho), IDX_OK);
	T_EQ_INT(ho.local, 0);
	T_EQ_U64(ho.total, 3);
	T_EQ_MEM(owners[0], self, IDX_OWNER_LEN);
	/* The list is bounded by max; the total is not. */
	memset(owners, 0, sizeof(owners));
	T_EQ_INT(idx_hash_owners(idx, h, self, owners, 1, &ho), IDX_OK);
	T_EQ_INT(ho.n, 1);
	T_EQ_U64(ho.total, 2);
	T_EQ_MEM(owners[0], o3, IDX_OWNER_LEN);
	T_ASSERT(owners[1][0] == 0);
	/* Another content's owner is not listed. */
	T_EQ_INT(idx_hash_owners(idx, g, self, owners, 8, &ho), IDX_OK);
	T_EQ_U64(ho.total, 1);
	T_EQ_INT(ho.local, 0);
	T_EQ_U64(ho.size, 99);
	T_EQ_STR(ho.name, "Other Content.mkv");
	close_tmp(idx);
}

static void
test_hash_owners_unknown_hash_and_bad_arguments(void)
{
	static uint8_t owners[4][IDX_OWNER_LEN];
	struct idx_hash_owners ho;
	struct idx *idx;
	uint8_t h[IDX_HASH_LEN], other[IDX_HASH_LEN];

	T_ASSERT((idx = open_tmp()) != NULL);
	memset(h, 0x01, sizeof(h));
	memset(other, 0x01, sizeof(other));
	other[31] = 0x02;	/* differs in the last byte only */
	add_hashed(idx, 2, 1, h, "Known.txt", 5);
	memset(&ho, 0xee, sizeof(ho));
	T_EQ_INT(idx_hash_owners(idx, other, NULL, owners, 4, &ho), IDX_OK);
	T_EQ_INT(ho.found, 0);
	T_EQ_INT(ho.local, 0);
	T_EQ_U64(ho.total, 0);
	T_EQ_INT(ho.n, 0);
	T_EQ_U64(ho.size, 0);
	T_EQ_STR(ho.name, "");
	T_EQ_INT(idx_hash_owners(NULL, h, NULL, owners, 4, &ho), IDX_E_ARG);
	T_EQ_INT(idx_hash_owners(idx, NULL, NULL, owners, 4, &ho), IDX_E_ARG);
	T_EQ_INT(idx_hash_owners(idx, h, NULL, NULL, 4, &ho), IDX_E_ARG);
	T_EQ_INT(idx_hash_owners(idx, h, NULL, owners, 4, NULL), IDX_E_ARG);
	/* max 0 with no array still counts. */
	T_EQ_INT(idx_hash_owners(idx, h, NULL, NULL, 0, &ho), IDX_OK);
	T_EQ_U64(ho.total, 1);
	T_EQ_INT(ho.n, 0);
	close_tmp(idx);
}

static void
test_hash_owners_follow_removal_batches_and_cut_long_names(void)
{
	static uint8_t owners[4][IDX_OWNER_LEN];
	static char longname[3000];
	struct idx_hash_owners ho;
	struct idx *idx;
	uint8_t h[IDX_HASH_LEN], o2[IDX_OWNER_LEN], fid[IDX_FILE_ID_LEN];

	T_ASSERT((idx = open_tmp()) != NULL);
	memset(h, 0x77, sizeof(h));
	memset(longname, 'x', sizeof(longname) - 1);
	owner_n(o2, 2);
	add_hashed(idx, 2, 1, h, longname, 12);
	add_hashed(idx, 2, 2, h, "b.txt", 12);
	add_hashed(idx, 3, 3, h, "c.txt", 12);
	T_EQ_INT(idx_hash_owners(idx, h, NULL, owners, 4, &ho), IDX_OK);
	T_EQ_U64(ho.total, 2);
	T_EQ_INT(strlen(ho.name), IDX_HASH_NAME_MAX);
	T_EQ_INT(ho.name[0], 'x');
	/* Owner 2 keeps one record of it: still a sharer. */
	fid_n(fid, 1);
	T_EQ_INT(idx_remove_file(idx, o2, fid), IDX_OK);
	T_EQ_INT(idx_hash_owners(idx, h, NULL, owners, 4, &ho), IDX_OK);
	T_EQ_U64(ho.total, 2);
	T_EQ_STR(ho.name, "b.txt");
	/* A dropped chain is no longer a sharer. */
	T_EQ_INT(idx_remove_owner(idx, o2, NULL), IDX_OK);
	T_EQ_INT(idx_hash_owners(idx, h, NULL, owners, 4, &ho), IDX_OK);
	T_EQ_U64(ho.total, 1);
	T_EQ_STR(ho.name, "c.txt");
	/* Rows added inside a batch are seen before the commit. */
	T_EQ_INT(idx_begin(idx), IDX_OK);
	add_hashed(idx, 5, 5, h, "e.txt", 12);
	T_EQ_INT(idx_hash_owners(idx, h, NULL, owners, 4, &ho), IDX_OK);
	T_EQ_U64(ho.total, 2);
	idx_rollback(idx);
	T_EQ_INT(idx_hash_owners(idx, h, NULL, owners, 4, &ho), IDX_OK);
	T_EQ_U64(ho.total, 1);
	/* ...and it survives a reopen (the index is persistent). */
	idx_close(idx);
	T_EQ_INT(idx_open(&idx, dbpath), IDX_OK);
	T_EQ_INT(idx_hash_owners(idx, h, NULL, owners, 4, &ho), IDX_OK);
	T_EQ_U64(ho.total, 1);
	close_tmp(idx);
}

static void
test_index_of_the_previous_schema_is_refused(void)
{
	struct idx *idx;
	sqlite3 *db;

	/* Version 2 rows have no content posting: searchd must rebuild. */
	T_ASSERT((idx = open_tmp()) != NULL);
	idx_close(idx);
	T_EQ_INT(sqlite3_open(dbpath, &db), SQLITE_OK);
	T_EQ_INT(sqlite3_exec(db, "UPDATE meta SET v = 2 WHERE k = 'schema';",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	idx = NULL;
	T_EQ_INT(idx_open(&idx, dbpath), IDX_E_SCHEMA);
	T_ASSERT(idx == NULL);
	unlink(dbpath);
	T_ASSERT((idx = open_tmp()) != NULL);
	close_tmp(idx);
}

static void
test_content_postings_are_not_counted_as_keywords(void)
{
	struct idx_counts cnt;
	struct idx *idx;
	uint8_t h[IDX_HASH_LEN];

	T_ASSERT((idx = open_tmp()) != NULL);
	memset(h, 0x42, sizeof(h));
	add_hashed(idx, 1, 1, h, "zeta", 1);
	add_hashed(idx, 2, 2, h, "zeta", 1);
	T_EQ_INT(idx_count(idx, &cnt), IDX_OK);
	T_EQ_U64(cnt.files, 2);
	T_EQ_U64(cnt.postings, 2);	/* one keyword each */
	T_EQ_U64(cnt.delta, 2);
	T_EQ_INT(idx_compact(idx), IDX_OK);
	T_EQ_INT(idx_count(idx, &cnt), IDX_OK);
	T_EQ_U64(cnt.postings, 2);
	T_EQ_U64(cnt.delta, 0);
	/* after the merge the content is still found, from the main table */
	{
		static uint8_t owners[4][IDX_OWNER_LEN];
		struct idx_hash_owners ho;

		T_EQ_INT(idx_hash_owners(idx, h, NULL, owners, 4, &ho), IDX_OK);
		T_EQ_U64(ho.total, 2);
	}
	/* a keyword query does not see the content key as a keyword */
	{
		static struct coll c;

		T_DO(expect_found(idx, "zeta", &c, 2, ANY));
	}
	close_tmp(idx);
}

/* ---- the row-cache path against the row path ---- */

struct ser {
	uint8_t		*p;
	size_t		 n, cap;
	int		 fail;
};

static void
ser_put(struct ser *s, const void *d, size_t n)
{
	uint8_t *np;

	if (s->n + n > s->cap) {
		size_t ncap = s->cap ? s->cap : 4096;

		while (ncap < s->n + n)
			ncap *= 2;
		if ((np = realloc(s->p, ncap)) == NULL) {
			s->fail = 1;
			return;
		}
		s->p = np;
		s->cap = ncap;
	}
	if (n > 0)
		memcpy(s->p + s->n, d, n);
	s->n += n;
}

/* Every field of a hit, sharers included, in one byte string. */
static int
ser_cb(const struct idx_hit *h, void *arg)
{
	struct ser *s = arg;
	const struct idx_file *f = h->file;
	size_t i;

	ser_put(s, &h->position, sizeof(h->position));
	ser_put(s, f->owner, IDX_OWNER_LEN);
	ser_put(s, f->file_id, IDX_FILE_ID_LEN);
	ser_put(s, f->hash, IDX_HASH_LEN);
	ser_put(s, &f->size, sizeof(f->size));
	ser_put(s, &f->type, sizeof(f->type));
	ser_put(s, &f->format, sizeof(f->format));
	ser_put(s, &f->date, sizeof(f->date));
	ser_put(s, &f->version, sizeof(f->version));
	ser_put(s, &f->block, sizeof(f->block));
	ser_put(s, &f->name_len, sizeof(f->name_len));
	ser_put(s, f->name, f->name_len);
	ser_put(s, &f->folder_len, sizeof(f->folder_len));
	ser_put(s, f->folder, f->folder_len);
	ser_put(s, &f->desc_len, sizeof(f->desc_len));
	ser_put(s, f->desc, f->desc_len);
	ser_put(s, h->node_id, IDX_NODE_ID_LEN);
	ser_put(s, &h->exact, sizeof(h->exact));
	ser_put(s, &h->matched, sizeof(h->matched));
	ser_put(s, &h->nsharers, sizeof(h->nsharers));
	for (i = 0; i < h->nsharers; i++) {
		ser_put(s, h->sharers[i].owner, IDX_OWNER_LEN);
		ser_put(s, h->sharers[i].file_id, IDX_FILE_ID_LEN);
		ser_put(s, &h->sharers[i].version, sizeof(uint64_t));
		ser_put(s, &h->sharers[i].block, sizeof(uint64_t));
	}
	return 0;
}

static uint64_t rc_state;

static uint32_t
rc_rnd(void)
{
	rc_state ^= rc_state << 13;
	rc_state ^= rc_state >> 7;
	rc_state ^= rc_state << 17;
	return (uint32_t)(rc_state >> 11);
}

static const char *const rc_vocab[] = {
	"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
	"hotel",
};
#define RC_VOCAB	8

static int
rc_owner_ok(const uint8_t owner[IDX_OWNER_LEN], void *arg)
{
	return owner[1] != *(const int *)arg;
}

/* Adds record n of owner o with random words, hash, size, date, type. */
static int
rc_add(struct idx *idx, int o, int n)
{
	struct idx_file f;
	char name[128], desc[64];
	size_t l = 0;
	int k, nw = 1 + (int)(rc_rnd() % 4);

	for (k = 0; k < nw; k++)
		l += (size_t)snprintf(name + l, sizeof(name) - l, "%s%s",
		    k ? " " : "", rc_vocab[rc_rnd() % RC_VOCAB]);
	snprintf(desc, sizeof(desc), "%s", rc_rnd() % 3 == 0 ?
	    rc_vocab[rc_rnd() % RC_VOCAB] : "");
	mkfile(&f, o, n, name, "Folder", desc);
	if (rc_rnd() % 2 == 0) {	/* shared content: merges */
		memset(f.hash, 0, sizeof(f.hash));
		f.hash[0] = (uint8_t)(rc_rnd() % 40);
	}
	f.size = 100 * (rc_rnd() % 6);
	f.date = rc_rnd() % 5 == 0 ? 0 : 1600000000 + 1000 * (rc_rnd() % 8);
	f.type = (uint8_t)(rc_rnd() % 4);
	f.format = (uint16_t)(rc_rnd() % 4);
	f.version = rc_rnd() % 100;
	f.block = rc_rnd() % 100;
	return idx_add_file(idx, &f);
}

/*
 * Runs `count` random queries through both paths; returns the number of
 * mismatches, adds the results seen and rows merged to *results, *merged.
 */
static int
rc_compare(struct idx *idx, int count, uint64_t *results, uint64_t *merged)
{
	struct idx_query q;
	struct idx_query_stats a, b;
	struct ser sa, sb;
	char term[96];
	int i, k, nw, bad_owner, mismatches = 0;
	size_t l;

	memset(&sa, 0, sizeof(sa));
	memset(&sb, 0, sizeof(sb));
	for (i = 0; i < count; i++) {
		nw = 1 + (int)(rc_rnd() % 3);
		l = 0;
		if (rc_rnd() % 8 == 0)
			l += (size_t)snprintf(term + l, sizeof(term) - l, "\"");
		for (k = 0; k < nw; k++)
			l += (size_t)snprintf(term + l, sizeof(term) - l,
			    "%s%s", k ? " " : "", rc_vocab[rc_rnd() % RC_VOCAB]);
		if (term[0] == '"')
			l += (size_t)snprintf(term + l, sizeof(term) - l, "\"");
		memset(&q, 0, sizeof(q));
		idx_filter_none(&q.filter);
		q.term = term;
		q.term_len = l;
		q.sort = (int)(rc_rnd() % IDX_SORT_COUNT);
		q.flags = rc_rnd() % 3 ? IDX_Q_DEDUP : 0;
		q.offset = rc_rnd() % 2 ? 0 : rc_rnd() % 30;
		q.limit = rc_rnd() % 3 ? 0 : rc_rnd() % 40;
		switch (rc_rnd() % 6) {
		case 0:
			q.filter.type = (int)(rc_rnd() % 4);
			break;
		case 1:
			q.filter.size_min = 200;
			q.filter.size_max = 400;
			break;
		case 2:
			q.filter.date_from = 1600001000;
			q.filter.date_to = 1600004000;
			break;
		case 3:
			q.filter.has_node = 1;
			{
				uint8_t o[IDX_OWNER_LEN];

				owner_n(o, 1 + (int)(rc_rnd() % 6));
				idx_node_id(o, q.filter.node_id);
			}
			break;
		default:
			break;
		}
		bad_owner = 1 + (int)(rc_rnd() % 6);
		if (rc_rnd() % 4 == 0) {
			q.owner_ok = rc_owner_ok;
			q.owner_arg = &bad_owner;
		}
		sa.n = sb.n = 0;
		if (idx_query(idx, &q, ser_cb, &sa, &a) != IDX_OK)
			mismatches++;
		q.flags |= IDX_Q_ROWS;
		if (idx_query(idx, &q, ser_cb, &sb, &b) != IDX_OK)
			mismatches++;
		a.elapsed_us = b.elapsed_us = 0;
		if (sa.fail || sb.fail || sa.n != sb.n ||
		    (sa.n > 0 && memcmp(sa.p, sb.p, sa.n) != 0) ||
		    memcmp(&a, &b, sizeof(a)) != 0) {
			if (mismatches < 3)
				printf("# mismatch: term '%s' sort %d flags %u"
				    " offset %zu limit %zu\n", term, q.sort,
				    q.flags, q.offset, q.limit);
			mismatches++;
		}
		*results += a.delivered;
		*merged += a.merged;
	}
	free(sa.p);
	free(sb.p);
	return mismatches;
}

static void
test_row_cache_path_gives_the_row_path_results_on_random_indexes(void)
{
	struct idx *idx;
	uint64_t results = 0, merged = 0, removed;
	uint8_t o[IDX_OWNER_LEN], fid[IDX_FILE_ID_LEN];
	int i, ok;

	rc_state = 0x9e3779b97f4a7c15ULL;
	T_ASSERT((idx = open_tmp()) != NULL);
	/* main table and delta both hold rows */
	T_EQ_INT(idx_begin(idx), IDX_OK);
	for (i = 0; i < 400; i++)
		T_EQ_INT(rc_add(idx, 1 + i % 6, i), IDX_OK);
	T_EQ_INT(idx_commit(idx), IDX_OK);
	T_EQ_INT(idx_compact(idx), IDX_OK);
	for (i = 400; i < 600; i++)
		T_EQ_INT(rc_add(idx, 1 + i % 6, i), IDX_OK);
	T_EQ_INT(rc_compare(idx, 300, &results, &merged), 0);
	/* removals, an owner gone, replaced rows */
	for (i = 0; i < 600; i += 7) {
		owner_n(o, 1 + i % 6);
		fid_n(fid, i);
		T_EQ_INT(idx_remove_file(idx, o, fid), IDX_OK);
	}
	owner_n(o, 4);
	T_EQ_INT(idx_remove_owner(idx, o, &removed), IDX_OK);
	T_ASSERT(removed > 0);
	for (i = 1; i < 600; i += 11)
		T_EQ_INT(rc_add(idx, 1 + i % 6, i), IDX_OK);
	T_EQ_INT(rc_compare(idx, 300, &results, &merged), 0);
	/* queries inside a batch, then the batch rolled back */
	T_EQ_INT(idx_begin(idx), IDX_OK);
	for (i = 2; i < 600; i += 5)
		T_EQ_INT(rc_add(idx, 1 + i % 6, i), IDX_OK);
	owner_n(o, 2);
	T_EQ_INT(idx_remove_owner(idx, o, &removed), IDX_OK);
	T_EQ_INT(rc_compare(idx, 100, &results, &merged), 0);
	idx_rollback(idx);
	T_EQ_INT(rc_compare(idx, 200, &results, &merged), 0);
	/* reopened: the cache is built from the table */
	idx_close(idx);
	T_EQ_INT(idx_open(&idx, dbpath), IDX_OK);
	ok = rc_compare(idx, 200, &results, &merged);
	T_EQ_INT(ok, 0);
	for (i = 600; i < 700; i++)
		T_EQ_INT(rc_add(idx, 1 + i % 6, i), IDX_OK);
	T_EQ_INT(rc_compare(idx, 200, &results, &merged), 0);
	/* emptied and filled again */
	T_EQ_INT(idx_clear(idx), IDX_OK);
	for (i = 0; i < 200; i++)
		T_EQ_INT(rc_add(idx, 1 + i % 6, i), IDX_OK);
	T_EQ_INT(rc_compare(idx, 200, &results, &merged), 0);
	/* the comparison saw real results and merges */
	T_ASSERT(results > 10000);
	T_ASSERT(merged > 1000);
	close_tmp(idx);
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_vectors_every_query_finds_the_reference_file_ids);
	T_RUN(test_names_in_several_scripts_are_found_by_each_keyword);
	T_RUN(test_removed_file_and_owner_are_no_longer_found);
	T_RUN(test_index_persists_across_reopen);
	T_RUN(test_filters_select_exactly_the_matching_rows);
	T_RUN(test_sort_orders_and_pagination);
	T_RUN(test_match_sort_puts_exact_then_more_keywords_first);
	T_RUN(test_same_hash_of_three_owners_is_one_result_with_three_sharers);
	T_RUN(test_job_keeps_own_and_connected_owners_and_merges_by_hash);
	T_RUN(test_job_pages_freeze_sorts_and_remote_hits_arrive_later);
	T_RUN(test_job_count_is_capped_and_results_are_bounded);
	T_RUN(test_bad_queries_give_empty_results_or_clean_errors);
	T_RUN(test_arrival_order_spans_main_and_delta_and_long_names_sort);
	T_RUN(test_delta_survives_reopen_rollback_and_removal);
	T_RUN(test_hash_owners_lists_each_other_owner_once_and_flags_self);
	T_RUN(test_hash_owners_unknown_hash_and_bad_arguments);
	T_RUN(test_hash_owners_follow_removal_batches_and_cut_long_names);
	T_RUN(test_index_of_the_previous_schema_is_refused);
	T_RUN(test_content_postings_are_not_counted_as_keywords);
	T_RUN(test_row_cache_path_gives_the_row_path_results_on_random_indexes);
	return t_done();
}
