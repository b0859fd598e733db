/*
 * test_chain.c — the own blockchain in SQLite (storaged/chain.c): known-answer
 * blocks of blockchain.json built through the chain API, packing of many
 * files, the reference's rewrite semantics (version, height, dates, orphan
 * TagData), rename, profile, nuke, reopen, crash safety.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blake3.h"
#include "block.h"
#include "buf.h"
#include "chain.h"
#include "hex.h"
#include "ident.h"
#include "t.h"
#include "tvec.h"

/* ---- fixtures -------------------------------------------------------- */

static char tmpdir[64];
static char dbpath[128];

static int64_t fake_now = 1700000000;

static int
sign_with(void *arg, const uint8_t hash[32], uint8_t sig[65])
{
	return ident_sign(arg, hash, sig) == 0 ? 0 : -1;
}

static int
mk_tmpdir(void)
{
	t_rmtree(tmpdir);
	if (t_tmpdir(tmpdir, sizeof(tmpdir), "test_chain") != 0)
		return -1;
	snprintf(dbpath, sizeof(dbpath), "%s/chain.db", tmpdir);
	return 0;
}

static struct ident key_a, key_b;

static int
keys_init(void)
{
	return t_ident_fill(&key_a, 0x11) != 0 ? -1 : t_ident_fill(&key_b, 0x22);
}

/* The chain at dbpath for key A, fixed clock; NULL (said why) on failure. */
static struct chain *
open_chain(void)
{
	struct chain *c = NULL;
	char err[256];

	if (chain_open(&c, dbpath, key_a.pub, sign_with, &key_a, err,
	    sizeof(err)) != CHAIN_OK) {
		fprintf(stderr, "chain_open: %s\n", err);
		return NULL;
	}
	chain_set_clock(c, t_clock, &fake_now);
	return c;
}

/* A fresh chain for key A in a fresh directory, fixed clock. */
static struct chain *
fresh_chain(void)
{
	if (keys_init() != 0 || mk_tmpdir() != 0)
		return NULL;
	return open_chain();
}

static struct chain *
reopen(struct chain *c)
{
	chain_close(c);
	return open_chain();
}

/* A blockchain.json "files" entry as chain API input (strings stay in jf). */
static int
file_from_vector(json_t *jf, struct chain_file *f)
{
	json_t *tags = json_object_get(jf, "tags"), *jt;
	size_t i;

	memset(f, 0, sizeof(*f));
	if (tvec_unhex(tvec_str(jf, "hash"), f->hash, 32) != 0 ||
	    tvec_uuid(tvec_str(jf, "id"), f->id) != 0 ||
	    tvec_unhex(tvec_str(jf, "merkle_root_hash"), f->merkle_root, 32) != 0)
		return -1;
	f->fragment_size = tvec_u64(jf, "fragment_size");
	f->type = (uint8_t)tvec_u64(jf, "type");
	f->format = (uint16_t)tvec_u64(jf, "format");
	f->size = tvec_u64(jf, "size");
	json_array_foreach(tags, i, jt) {
		if (json_is_true(json_object_get(jt, "virtual")))
			continue;
		switch (tvec_u64(jt, "type")) {
		case 0: f->name = tvec_str(jt, "text"); break;
		case 1: f->folder = tvec_str(jt, "text"); break;
		case 2: f->description = tvec_str(jt, "text"); break;
		case 4: f->date_created = (int64_t)tvec_u64(jt, "date_unix"); break;
		default: return -1;
		}
	}
	return 0;
}

/* Raw block n of the chain (malloc'd). */
static uint8_t *
get_block(struct chain *c, uint64_t n, size_t *len)
{
	uint8_t *buf;

	if (chain_block(c, n, NULL, 0, len) != CHAIN_ERR_NOSPACE)
		return NULL;
	if ((buf = malloc(*len)) == NULL)
		return NULL;
	if (chain_block(c, n, buf, *len, len) != CHAIN_OK) {
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * Every stored block verifies as the reference's receivers would, plus the
 * checks the reference forgets: owner A, consecutive numbers, the current
 * version, chained previous hashes, decodable records.
 */
static int
chain_valid(struct chain *c, char *why, size_t whylen)
{
	struct chain_info info;
	struct block_expect e;
	uint8_t prev[32] = { 0 }, *raw;
	size_t len;
	uint64_t n;
	int rc;

	if (chain_info(c, &info) != CHAIN_OK)
		return snprintf(why, whylen, "chain_info"), -1;
	for (n = 0; n < info.height; n++) {
		if ((raw = get_block(c, n, &len)) == NULL)
			return snprintf(why, whylen, "block %llu missing",
			    (unsigned long long)n), -1;
		memset(&e, 0, sizeof(e));
		e.checks = BLOCK_CHECK_ALL;
		e.owner = key_a.pub;
		e.number = n;
		e.version = info.version;
		e.prev_hash = prev;
		e.max_size = CHAIN_MAX_BLOCK_SIZE;
		rc = block_validate(raw, len, &e, NULL, NULL);
		block_hash(raw, len, prev);
		free(raw);
		if (rc != BLOCK_OK)
			return snprintf(why, whylen, "block %llu: %s",
			    (unsigned long long)n, block_strerror(rc)), -1;
	}
	if (chain_block(c, info.height, NULL, 0, &len) != CHAIN_ERR_NOT_FOUND)
		return snprintf(why, whylen, "block at height exists"), -1;
	return 0;
}

/* Raw blocks 0 to n - 1 of a chain, to compare with later. */
struct blocks {
	uint8_t		*raw[8];
	size_t		 len[8];
	uint64_t	 n;
};

/* Blocks 0 to height - 1 of c into b. */
static void
blocks_take(struct chain *c, uint64_t height, struct blocks *b)
{
	memset(b, 0, sizeof(*b));
	T_ASSERT(height <= 8);
	for (b->n = 0; b->n < height; b->n++)
		T_ASSERT((b->raw[b->n] = get_block(c, b->n, &b->len[b->n])) != NULL);
}

/* Blocks 0 to b->n - 1 of c are b's, byte for byte; b is freed. */
static void
blocks_expect(struct chain *c, struct blocks *b)
{
	uint8_t *got;
	size_t glen;
	uint64_t n;

	for (n = 0; n < b->n; n++) {
		T_ASSERT((got = get_block(c, n, &glen)) != NULL);
		T_EQ_U64(glen, b->len[n]);
		T_EQ_MEM(got, b->raw[n], glen);
		free(got);
		free(b->raw[n]);
	}
}

/* Fails the case unless chain_valid. */
static void
expect_valid(struct chain *c)
{
	char why[256];

	if (chain_valid(c, why, sizeof(why)) != 0)
		T_FAIL("%s", why);
}

/* The end of a case: c closed, its directory removed. */
static void
chain_done(struct chain *c)
{
	chain_close(c);
	t_rmtree(tmpdir);
}

/* Closes c, opens it again and checks it, closes it and removes it all. */
static void
reopen_valid_close(struct chain *c)
{
	c = reopen(c);
	T_ASSERT(c != NULL);
	T_DO(expect_valid(c));
	chain_done(c);
}

/* Records of block n: count, and how many are files / profile / tag data. */
static int
block_census(struct chain *c, uint64_t n, int *files, int *profiles, int *tagdata,
    size_t *size)
{
	struct block b;
	struct block_iter it;
	struct block_record r;
	uint8_t *raw;
	size_t len;

	*files = *profiles = *tagdata = 0;
	if ((raw = get_block(c, n, &len)) == NULL)
		return -1;
	*size = len;
	if (block_decode(raw, len, &b) != BLOCK_OK) {
		free(raw);
		return -1;
	}
	block_iter_init(&it, &b);
	while (block_iter_next(&it, &r) == 1) {
		*files += r.type == BLOCK_REC_FILE;
		*profiles += r.type == BLOCK_REC_PROFILE;
		*tagdata += r.type == BLOCK_REC_TAG_DATA;
	}
	free(raw);
	return 0;
}

/* Block 0 holds no file and nprofile profile records. */
static void
expect_block0(struct chain *c, int nprofile)
{
	int nf, np, nt;
	size_t len;

	T_EQ_INT(block_census(c, 0, &nf, &np, &nt, &len), 0);
	T_EQ_INT(nf, 0);
	T_EQ_INT(np, nprofile);
}

/* A small test file i with every field set. */
struct tfile {
	char		 name[64];
	char		 desc[64];
	uint8_t		 blob[3];
	struct chain_tag tag;
};

static void
make_file(struct chain_file *f, struct tfile *t, int i)
{
	memset(f, 0, sizeof(*f));
	snprintf(t->name, sizeof(t->name), "file %04d.txt", i);
	snprintf(t->desc, sizeof(t->desc), "description #%d", i);
	t->blob[0] = (uint8_t)i;
	t->blob[1] = 0;
	t->blob[2] = 0xff;
	t->tag.type = 77;
	t->tag.data = t->blob;
	t->tag.len = sizeof(t->blob);
	blake3_hash(t->name, strlen(t->name), f->hash);
	memcpy(f->merkle_root, f->hash, 32);
	f->size = 1000 + (uint64_t)i;
	f->fragment_size = 262144;
	f->type = RECORD_TYPE_TEXT;
	f->format = RECORD_FORMAT_TEXT;
	f->date_created = 1600000000 + i;
	f->name = t->name;
	f->folder = "shared/folder";
	f->description = t->desc;
	f->tags = &t->tag;
	f->ntags = 1;
}

/* make_file of files 0 to n - 1. */
static void
make_files(struct chain_file *f, struct tfile *t, int n)
{
	int i;

	for (i = 0; i < n; i++)
		make_file(&f[i], &t[i], i);
}

/* The files of a case (make_files), for cases of up to 20,000 files. */
static struct tfile case_tf[20000];
static struct chain_file case_files[20000];

/* fresh_chain, and files 0 to n - 1 made into case_files. */
static struct chain *
fresh_case(int n)
{
	make_files(case_files, case_tf, n);
	return fresh_chain();
}

/* Events recorded for checks. */
struct evlog {
	int		 kind[4096];
	uint8_t		 id[4096][16];
	char		 name[4096][32];
	int64_t		 date[4096];
	int		 n;
};

static struct evlog evlog;

static void
ev_record(void *arg, int kind, const struct chain_file *f)
{
	struct evlog *l = arg;

	if (l->n >= 4096)
		return;
	l->kind[l->n] = kind;
	memset(l->id[l->n], 0, 16);
	l->name[l->n][0] = '\0';
	l->date[l->n] = 0;
	if (f != NULL) {
		memcpy(l->id[l->n], f->id, 16);
		snprintf(l->name[l->n], sizeof(l->name[0]), "%s",
		    f->name ? f->name : "");
		l->date[l->n] = f->date_shared;
	}
	l->n++;
}

/*
 * fresh_case in the reference's layout: one block per call (no tail
 * packing); its events into evlog.
 */
static struct chain *
fresh_ref_case(int n)
{
	struct chain *c = fresh_case(n);

	if (c != NULL) {
		chain_set_tail_packing(c, 0);
		chain_set_event_cb(c, ev_record, &evlog);
	}
	return c;
}

/* ---- known answers --------------------------------------------------- */

static void
test_chain_builds_vector_blocks_byte_identical(void)
{
	json_t *v = tvec_load("blockchain.json"), *b0, *b1, *files0, *files1;
	struct chain *c;
	struct chain_file f[3];
	struct chain_profile_field prof[2];
	struct ident owner;
	struct blocks want;
	uint8_t priv[32];
	char err[256];

	if (v == NULL)
		T_SKIP("blockchain.json not found");
	T_ASSERT(mk_tmpdir() == 0);
	T_ASSERT(tvec_unhex(tvec_str(json_object_get(v, "owner"), "private_key"),
	    priv, 32) == 0);
	T_EQ_INT(ident_from_priv(&owner, priv), 0);
	T_EQ_INT(chain_open(&c, dbpath, owner.pub, sign_with, &owner, err,
	    sizeof(err)), CHAIN_OK);
	chain_set_clock(c, t_clock, &fake_now);

	b0 = json_array_get(json_object_get(v, "blocks"), 0);
	b1 = json_array_get(json_object_get(v, "blocks"), 1);
	files0 = json_object_get(json_object_get(b0, "decoded"), "files");
	files1 = json_object_get(json_object_get(b1, "decoded"), "files");
	T_ASSERT(file_from_vector(json_array_get(files0, 0), &f[0]) == 0);
	T_ASSERT(file_from_vector(json_array_get(files0, 1), &f[1]) == 0);
	T_ASSERT(file_from_vector(json_array_get(files1, 0), &f[2]) == 0);

	/* Block 0: profile name + email, then the two files (one TagData). */
	prof[0].field = RECORD_PROFILE_NAME;
	prof[0].data = "Alice";
	prof[0].len = 5;
	prof[1].field = RECORD_PROFILE_EMAIL;
	prof[1].data = "alice@example.com";
	prof[1].len = 17;
	fake_now = 1672628645;
	T_EQ_INT(chain_append_block(c, prof, 2, f, 2), CHAIN_OK);
	/* Block 1: one file an hour later, through the ordinary AddFiles. */
	fake_now = 1672632245;
	T_EQ_INT(chain_add_files(c, &f[2], 1), CHAIN_OK);
	T_EQ_INT(f[2].date_shared, 1672632245);

	memset(&want, 0, sizeof(want));
	want.raw[0] = tvec_hex(b0, "raw", &want.len[0]);
	want.raw[1] = tvec_hex(b1, "raw", &want.len[1]);
	want.n = 2;
	T_ASSERT(want.raw[0] != NULL && want.raw[1] != NULL);
	T_DO(blocks_expect(c, &want));
	chain_close(c);
	json_decref(v);
}

struct listed {
	int		 n;
	int		 bad;
	char		 why[256];
	struct chain_file *want;	/* the inputs, by index in the name */
	int		 nwant;
	int		 seen[4096];
};

static int
check_listed(void *arg, const struct chain_file *f)
{
	struct listed *l = arg;
	const struct chain_file *w;
	int i;

	l->n++;
	if (f->name == NULL || sscanf(f->name, "file %d.txt", &i) != 1 ||
	    i < 0 || i >= l->nwant) {
		snprintf(l->why, sizeof(l->why), "unexpected name");
		return l->bad = 1;
	}
	w = &l->want[i];
	l->seen[i]++;
#define CHK(c, what) do { if (!(c)) { snprintf(l->why, sizeof(l->why),	\
	"file %d: %s", i, what); return l->bad = 1; } } while (0)
	CHK(memcmp(f->id, w->id, 16) == 0, "id");
	CHK(memcmp(f->hash, w->hash, 32) == 0, "hash");
	CHK(memcmp(f->merkle_root, w->merkle_root, 32) == 0, "merkle root");
	CHK(f->size == w->size, "size");
	CHK(f->fragment_size == w->fragment_size, "fragment size");
	CHK(f->type == w->type && f->format == w->format, "type/format");
	CHK(f->date_shared == w->date_shared, "date shared");
	CHK(f->date_created == w->date_created, "date created");
	CHK(strcmp(f->name, w->name) == 0 && f->name_len == strlen(w->name), "name");
	CHK(f->folder != NULL && strcmp(f->folder, w->folder) == 0, "folder");
	CHK(f->description != NULL && strcmp(f->description, w->description) == 0,
	    "description");
	CHK(f->ntags == 1 && f->tags[0].type == 77 && f->tags[0].len == 3 &&
	    memcmp(f->tags[0].data, w->tags[0].data, 3) == 0, "extra tag");
	CHK(f->block > 0, "file record in block 0");
#undef CHK
	return 0;
}

/* Each file checked against its input (dates included) and listed once. */
static void
expect_listed(struct chain *c, struct chain_file *f, int n)
{
	struct listed *l = calloc(1, sizeof(*l));
	char why[256];
	int i, k;

	T_ASSERT(l != NULL);
	l->want = f;
	l->nwant = n;
	T_EQ_INT(chain_foreach_file(c, check_listed, l), 0);
	if (l->bad) {
		snprintf(why, sizeof(why), "%s", l->why);
		free(l);
		T_FAIL("%s", why);
	}
	k = l->n;
	for (i = 0; i < n; i++)
		if (l->seen[i] != 1) {
			k = l->seen[i];
			free(l);
			T_FAIL("file %d listed %d times", i, k);
		}
	free(l);
	T_EQ_INT(k, n);
}

/* The reference's greedy packing of files one to n (nominal sizes). */
static uint64_t
greedy_blocks(const struct chain_file *f, int n)
{
	uint64_t running = BLOCK_HEADER_SIZE, sz, blocks = 1;
	int i;

	for (i = 0; i < n; i++) {
		sz = 13 + 101 + 6 + strlen(f[i].name) + 6 + strlen(f[i].folder) +
		    6 + strlen(f[i].description) + 6 + 8 + 6 + 3;
		if (running + sz > BLOCK_TARGET_SIZE && running > BLOCK_HEADER_SIZE) {
			blocks++;
			running = BLOCK_HEADER_SIZE;
		}
		running += sz;
	}
	return blocks;
}

static void
test_chain_adds_1000_files_packed_under_target(void)
{
	struct chain_file *f = case_files;
	struct chain *c = fresh_chain();
	struct chain_info info;
	uint64_t want_height = 1, bytes = 0, n;
	int i, nf, np, nt, total_files = 0;
	size_t size;

	T_ASSERT(c != NULL);
	for (i = 0; i < 1000; i++) {
		make_file(&f[i], &case_tf[i], i);
		bytes += f[i].size;
	}
	fake_now = 1700000000;
	T_EQ_INT(chain_add_files(c, f, 1000), CHAIN_OK);

	/* The reference's greedy packing (§2.8), computed independently. */
	want_height += greedy_blocks(f, 1000);
	T_EQ_INT(chain_info(c, &info), CHAIN_OK);
	T_EQ_U64(info.nfiles, 1000);
	T_EQ_U64(info.file_bytes, bytes);
	T_EQ_U64(info.version, 0);
	T_EQ_U64(info.height, want_height);
	T_ASSERT(want_height > 20);
	T_DO(expect_valid(c));

	/* Block 0 is the genesis profile; every block within the target. */
	T_DO(expect_block0(c, 1));
	for (n = 1; n < info.height; n++) {
		T_EQ_INT(block_census(c, n, &nf, &np, &nt, &size), 0);
		T_ASSERT(size <= BLOCK_TARGET_SIZE);
		T_EQ_INT(np, 0);
		/* The shared folder text is deduplicated once per block. */
		T_EQ_INT(nt, nf > 1 ? 1 : 0);
		total_files += nf;
	}
	T_EQ_INT(total_files, 1000);

	T_DO(expect_listed(c, f, 1000));
	T_EQ_INT(f[0].date_shared, 1700000000);
	/* IDs were assigned: random v4 UUIDs. */
	T_EQ_INT(f[0].id[6] >> 4, 4);
	T_EQ_INT(f[0].id[8] >> 6, 2);
	T_ASSERT(memcmp(f[0].id, f[1].id, 16) != 0);
	chain_done(c);
}

/* ---- rewrite semantics ----------------------------------------------- */

static void
test_chain_delete_bumps_version_and_drops_empty_block(void)
{
	struct chain_file *f = case_files, *g;
	struct chain *c = fresh_ref_case(5);
	struct chain_info info;
	struct block b;
	struct block_record r;
	uint8_t *raw, le[8];
	size_t len, deleted;
	int nf, np, nt;

	T_ASSERT(c != NULL);
	/* block 0 genesis, block 1 {0,1,2} at t1, block 2 {3} at t2, block 3 {4} at t3 */
	fake_now = 1000;
	T_EQ_INT(chain_add_files(c, f, 3), CHAIN_OK);
	fake_now = 2000;
	T_EQ_INT(chain_add_files(c, &f[3], 1), CHAIN_OK);
	fake_now = 3000;
	T_EQ_INT(chain_add_files(c, &f[4], 1), CHAIN_OK);
	T_EQ_INT(chain_info(c, &info), CHAIN_OK);
	T_EQ_U64(info.height, 4);
	T_EQ_U64(info.version, 0);

	/* Unknown ID: nothing changes, not even the version. */
	{
		uint8_t unknown[1][16] = { { 9, 9, 9 } };

		T_EQ_INT(chain_delete_files(c, (const uint8_t (*)[16])unknown, 1,
		    &deleted), CHAIN_OK);
		T_EQ_U64(deleted, 0);
		T_EQ_INT(chain_info(c, &info), CHAIN_OK);
		T_EQ_U64(info.version, 0);
		T_EQ_U64(info.height, 4);
	}

	/* Deleting the only file of block 2 drops the block: height 3, v1. */
	evlog.n = 0;
	fake_now = 4000;
	T_EQ_INT(chain_delete_files(c, (const uint8_t (*)[16])f[3].id, 1,
	    &deleted), CHAIN_OK);
	T_EQ_U64(deleted, 1);
	T_EQ_INT(chain_info(c, &info), CHAIN_OK);
	T_EQ_U64(info.version, 1);
	T_EQ_U64(info.height, 3);
	T_EQ_U64(info.nfiles, 4);
	T_DO(expect_valid(c));
	T_EQ_INT(chain_get_file(c, f[3].id, &g), CHAIN_ERR_NOT_FOUND);
	/* Untouched blocks keep their record dates; file 4 moved to block 2. */
	T_EQ_INT(chain_get_file(c, f[4].id, &g), CHAIN_OK);
	T_EQ_INT(g->date_shared, 3000);
	T_EQ_U64(g->block, 2);
	free(g);
	T_EQ_INT(chain_get_file(c, f[0].id, &g), CHAIN_OK);
	T_EQ_INT(g->date_shared, 1000);
	free(g);
	T_EQ_INT(evlog.n, 1);
	T_EQ_INT(evlog.kind[0], CHAIN_EV_FILE_REMOVED);
	T_EQ_MEM(evlog.id[0], f[3].id, 16);

	/*
	 * Deleting file 0 rewrites block 1: files 1 and 2 get the rewrite's
	 * date, and (reference quirk B.7) their old shared date, seen twice
	 * through the virtual tag, becomes an orphan TagData record first.
	 */
	evlog.n = 0;
	fake_now = 5000;
	T_EQ_INT(chain_delete_files(c, (const uint8_t (*)[16])f[0].id, 1,
	    &deleted), CHAIN_OK);
	T_EQ_U64(deleted, 1);
	T_EQ_INT(chain_info(c, &info), CHAIN_OK);
	T_EQ_U64(info.version, 2);
	T_EQ_U64(info.height, 3);
	T_DO(expect_valid(c));
	T_EQ_INT(block_census(c, 1, &nf, &np, &nt, &len), 0);
	T_EQ_INT(nf, 2);
	T_EQ_INT(nt, 2);	/* folder text + the orphan date */
	raw = get_block(c, 1, &len);
	T_ASSERT(raw != NULL);
	T_EQ_INT(block_decode(raw, len, &b), BLOCK_OK);
	T_EQ_INT(block_record_at(&b, 0, &r), BLOCK_OK);
	T_EQ_INT(r.type, BLOCK_REC_TAG_DATA);
	T_EQ_INT(r.date, 5000);
	/* In order of first duplication: the folder, then the old date. */
	T_EQ_INT(block_record_at(&b, 1, &r), BLOCK_OK);
	T_EQ_INT(r.type, BLOCK_REC_TAG_DATA);
	le[0] = 1000 & 0xff; le[1] = 1000 >> 8;
	memset(le + 2, 0, 6);
	T_EQ_U64(r.len, 8);
	T_EQ_MEM(r.data, le, 8);
	free(raw);
	T_EQ_INT(chain_get_file(c, f[1].id, &g), CHAIN_OK);
	T_EQ_INT(g->date_shared, 5000);
	T_EQ_STR(g->name, f[1].name);
	T_EQ_INT(g->date_created, f[1].date_created);
	free(g);
	/* The block of file 4 was not touched: its date stays. */
	T_EQ_INT(chain_get_file(c, f[4].id, &g), CHAIN_OK);
	T_EQ_INT(g->date_shared, 3000);
	free(g);
	T_EQ_INT(evlog.n, 3);
	T_EQ_INT(evlog.kind[0], CHAIN_EV_FILE_REMOVED);
	T_EQ_MEM(evlog.id[0], f[0].id, 16);
	T_EQ_INT(evlog.kind[1], CHAIN_EV_FILE_UPDATED);
	T_EQ_INT(evlog.date[1], 5000);
	T_EQ_INT(evlog.kind[2], CHAIN_EV_FILE_UPDATED);

	/* Deleting everything leaves the genesis block only. */
	{
		uint8_t ids[3][16];

		memcpy(ids[0], f[1].id, 16);
		memcpy(ids[1], f[2].id, 16);
		memcpy(ids[2], f[4].id, 16);
		T_EQ_INT(chain_delete_files(c, (const uint8_t (*)[16])ids, 3,
		    &deleted), CHAIN_OK);
	}
	T_EQ_U64(deleted, 3);
	T_EQ_INT(chain_info(c, &info), CHAIN_OK);
	T_EQ_U64(info.version, 3);
	T_EQ_U64(info.height, 1);
	T_EQ_U64(info.nfiles, 0);
	T_DO(expect_valid(c));
	chain_done(c);
}

/*
 * Tags given by a client (peernetctl add --tag): written after the named
 * fields in the given order, date-created as 8 bytes, a value repeated in
 * one block moved into a TagData record with negative references (§2.5.2,
 * §2.5.3), byte for byte.
 */
static void
test_chain_writes_client_tags_in_reference_layout(void)
{
	static const uint8_t want_a[] = {
		0x00, 0x00, 5, 0, 0, 0, 'a', '.', 't', 'x', 't',
		0x04, 0x00, 8, 0, 0, 0, 0xff, 0xcc, 0xb0, 0x63, 0, 0, 0, 0,
		0x07, 0x80, 2, 0, 0, 0, 0xff, 0xff,
		0x08, 0x00, 3, 0, 0, 0, 'a', 'b', 'c',
	};
	static const uint8_t want_b[] = {
		0x00, 0x00, 5, 0, 0, 0, 'b', '.', 't', 'x', 't',
		0x07, 0x80, 2, 0, 0, 0, 0xfe, 0xff,
	};
	struct chain_tag ta[2] = {
		{ 7, (const uint8_t *)"project-x", 9 },
		{ 8, (const uint8_t *)"abc", 3 },
	};
	struct chain_tag tb[1] = { { 7, (const uint8_t *)"project-x", 9 } };
	struct chain_file f[2], *g;
	struct chain *c = fresh_chain();
	struct block b;
	struct block_record r;
	uint8_t *raw;
	size_t len;

	T_ASSERT(c != NULL);
	memset(f, 0, sizeof(f));
	blake3_hash("a", 1, f[0].hash);
	blake3_hash("b", 1, f[1].hash);
	f[0].name = "a.txt";
	f[0].date_created = 1672531199;	/* 2022-12-31T23:59:59Z, as in the vectors */
	f[0].tags = ta;
	f[0].ntags = 2;
	f[1].name = "b.txt";
	f[1].tags = tb;
	f[1].ntags = 1;
	T_EQ_INT(chain_add_files(c, f, 2), CHAIN_OK);
	/* Block 0 is the genesis profile; the files are in block 1. */
	T_ASSERT((raw = get_block(c, 1, &len)) != NULL);
	T_EQ_INT(block_decode(raw, len, &b), BLOCK_OK);
	T_EQ_INT(b.record_count, 3);
	T_EQ_INT(block_record_at(&b, 0, &r), BLOCK_OK);
	T_EQ_INT(r.type, BLOCK_REC_TAG_DATA);
	T_EQ_INT(r.len, 9);
	T_EQ_MEM(r.data, "project-x", 9);
	T_EQ_INT(block_record_at(&b, 1, &r), BLOCK_OK);
	T_EQ_INT(r.type, BLOCK_REC_FILE);
	T_EQ_INT(r.len, RECORD_FILE_FIXED_SIZE + sizeof(want_a));
	T_EQ_INT(buf_le16(r.data + 99), 4);
	T_EQ_MEM(r.data + RECORD_FILE_FIXED_SIZE, want_a, sizeof(want_a));
	T_EQ_INT(block_record_at(&b, 2, &r), BLOCK_OK);
	T_EQ_INT(r.len, RECORD_FILE_FIXED_SIZE + sizeof(want_b));
	T_EQ_INT(buf_le16(r.data + 99), 2);
	T_EQ_MEM(r.data + RECORD_FILE_FIXED_SIZE, want_b, sizeof(want_b));
	free(raw);
	/* Read back: date-created in its field, the others resolved, in order. */
	T_EQ_INT(chain_get_file(c, f[0].id, &g), CHAIN_OK);
	T_EQ_INT(g->date_created, 1672531199);
	T_EQ_U64(g->ntags, 2);
	T_EQ_INT(g->tags[0].type, 7);
	T_EQ_U64(g->tags[0].len, 9);
	T_EQ_MEM(g->tags[0].data, "project-x", 9);
	T_EQ_INT(g->tags[1].type, 8);
	T_EQ_MEM(g->tags[1].data, "abc", 3);
	free(g);
	chain_done(c);
}

static void
test_chain_rename_is_a_replace_at_the_end(void)
{
	struct chain_file *f = case_files, *g;
	struct chain *c = fresh_ref_case(2);
	struct chain_info info;

	T_ASSERT(c != NULL);
	fake_now = 1000;
	T_EQ_INT(chain_add_files(c, f, 2), CHAIN_OK);
	T_EQ_INT(chain_info(c, &info), CHAIN_OK);
	T_EQ_U64(info.height, 2);

	evlog.n = 0;
	fake_now = 2000;
	T_EQ_INT(chain_rename_file(c, f[0].id, "renamed.txt"), CHAIN_OK);
	T_EQ_INT(chain_info(c, &info), CHAIN_OK);
	T_EQ_U64(info.version, 1);
	T_EQ_U64(info.height, 3);	/* block 1 rewritten, new block 2 */
	T_EQ_U64(info.nfiles, 2);
	T_DO(expect_valid(c));
	T_EQ_INT(chain_get_file(c, f[0].id, &g), CHAIN_OK);
	T_EQ_STR(g->name, "renamed.txt");
	T_EQ_U64(g->block, 2);
	T_EQ_INT(g->date_shared, 2000);
	T_EQ_STR(g->folder, "shared/folder");
	T_EQ_STR(g->description, f[0].description);
	T_EQ_INT(g->date_created, f[0].date_created);
	T_EQ_U64(g->size, f[0].size);
	T_EQ_MEM(g->hash, f[0].hash, 32);
	T_EQ_U64(g->ntags, 1);
	T_EQ_INT(g->tags[0].type, 77);
	T_EQ_MEM(g->tags[0].data, case_tf[0].blob, 3);
	free(g);
	T_EQ_INT(evlog.n, 3);
	T_EQ_INT(evlog.kind[0], CHAIN_EV_FILE_REMOVED);
	T_EQ_STR(evlog.name[0], "file 0000.txt");
	T_EQ_INT(evlog.kind[1], CHAIN_EV_FILE_UPDATED);
	T_EQ_MEM(evlog.id[1], f[1].id, 16);
	T_EQ_INT(evlog.kind[2], CHAIN_EV_FILE_ADDED);
	T_EQ_STR(evlog.name[2], "renamed.txt");

	{
		uint8_t unknown[16] = { 1, 2, 3 };

		T_EQ_INT(chain_rename_file(c, unknown, "x"), CHAIN_ERR_NOT_FOUND);
	}
	T_EQ_INT(chain_info(c, &info), CHAIN_OK);
	T_EQ_U64(info.version, 1);
	chain_done(c);
}

struct pcollect {
	uint16_t	 field[8];
	char		 val[8][32];
	int		 n;
};

static int
pcollect_cb(void *arg, uint16_t field, const uint8_t *data, size_t len)
{
	struct pcollect *p = arg;

	if (p->n < 8) {
		p->field[p->n] = field;
		snprintf(p->val[p->n], sizeof(p->val[0]), "%.*s", (int)len,
		    (const char *)data);
		p->n++;
	}
	return 0;
}

static void
test_chain_profile_round_trip_newest_wins(void)
{
	struct chain *c = fresh_chain();
	struct chain_info info;
	struct pcollect pc;
	uint8_t pic[300], buf[512];
	size_t len, deleted;
	uint16_t del = RECORD_PROFILE_EMAIL;
	int i;

	T_ASSERT(c != NULL);
	/* The reference's layout: one block per call (no tail packing). */
	chain_set_tail_packing(c, 0);
	for (i = 0; i < (int)sizeof(pic); i++)
		pic[i] = (uint8_t)(i * 7);
	T_EQ_INT(chain_profile_get(c, RECORD_PROFILE_NAME, buf, sizeof(buf), &len),
	    CHAIN_ERR_NOT_FOUND);
	T_EQ_INT(chain_profile_set(c, RECORD_PROFILE_NAME, "Alice", 5), CHAIN_OK);
	T_EQ_INT(chain_profile_set(c, RECORD_PROFILE_EMAIL, "a@example.com", 13),
	    CHAIN_OK);
	T_EQ_INT(chain_profile_set(c, RECORD_PROFILE_PICTURE, pic, sizeof(pic)),
	    CHAIN_OK);
	T_EQ_INT(chain_profile_set(c, RECORD_PROFILE_NAME, "Alice B.", 8), CHAIN_OK);
	T_EQ_INT(chain_info(c, &info), CHAIN_OK);
	T_EQ_U64(info.height, 4);

	T_EQ_INT(chain_profile_get(c, RECORD_PROFILE_NAME, buf, sizeof(buf), &len),
	    CHAIN_OK);
	T_EQ_U64(len, 8);
	T_EQ_MEM(buf, "Alice B.", 8);
	T_EQ_INT(chain_profile_get(c, RECORD_PROFILE_PICTURE, buf, sizeof(buf),
	    &len), CHAIN_OK);
	T_EQ_U64(len, sizeof(pic));
	T_EQ_MEM(buf, pic, sizeof(pic));
	T_EQ_INT(chain_profile_get(c, RECORD_PROFILE_PICTURE, buf, 10, &len),
	    CHAIN_ERR_NOSPACE);
	T_EQ_U64(len, sizeof(pic));

	memset(&pc, 0, sizeof(pc));
	T_EQ_INT(chain_profile_foreach(c, pcollect_cb, &pc), 0);
	T_EQ_INT(pc.n, 3);
	T_EQ_INT(pc.field[0], RECORD_PROFILE_NAME);
	T_EQ_STR(pc.val[0], "Alice B.");
	T_EQ_INT(pc.field[1], RECORD_PROFILE_EMAIL);
	T_EQ_STR(pc.val[1], "a@example.com");
	T_EQ_INT(pc.field[2], RECORD_PROFILE_PICTURE);

	/* ProfileDelete: a rewrite, version + 1; the email block disappears. */
	fake_now = 1700000500;
	T_EQ_INT(chain_profile_delete(c, &del, 1, &deleted), CHAIN_OK);
	T_EQ_U64(deleted, 1);
	T_EQ_INT(chain_info(c, &info), CHAIN_OK);
	T_EQ_U64(info.version, 1);
	T_EQ_U64(info.height, 3);
	T_EQ_INT(chain_profile_get(c, RECORD_PROFILE_EMAIL, buf, sizeof(buf), &len),
	    CHAIN_ERR_NOT_FOUND);
	T_EQ_INT(chain_profile_get(c, RECORD_PROFILE_NAME, buf, sizeof(buf), &len),
	    CHAIN_OK);
	T_EQ_MEM(buf, "Alice B.", 8);
	chain_done(c);
}

static void
test_chain_nuke_resets_height_and_bumps_version(void)
{
	struct chain_file *f = case_files;
	struct chain *c = fresh_case(3);
	struct chain_info info;
	size_t len;

	T_ASSERT(c != NULL);
	chain_set_event_cb(c, ev_record, &evlog);
	T_EQ_INT(chain_add_files(c, f, 3), CHAIN_OK);
	T_EQ_INT(chain_hash_referenced(c, f[0].hash), 1);
	evlog.n = 0;
	T_EQ_INT(chain_nuke(c), CHAIN_OK);
	T_EQ_INT(chain_info(c, &info), CHAIN_OK);
	T_EQ_U64(info.height, 0);
	T_EQ_U64(info.version, 1);
	T_EQ_U64(info.nfiles, 0);
	T_EQ_U64(info.block_bytes, 0);
	T_EQ_INT(chain_hash_referenced(c, f[0].hash), 0);
	T_EQ_INT(chain_block(c, 0, NULL, 0, &len), CHAIN_ERR_NOT_FOUND);
	T_EQ_INT(evlog.n, 1);
	T_EQ_INT(evlog.kind[0], CHAIN_EV_CHAIN_RESET);

	/* Starting again: genesis profile block with version 1; same IDs allowed. */
	T_EQ_INT(chain_set_genesis_name(c, "node-a"), CHAIN_OK);
	T_EQ_INT(chain_add_files(c, f, 1), CHAIN_OK);
	T_EQ_INT(chain_info(c, &info), CHAIN_OK);
	T_EQ_U64(info.height, 2);
	T_EQ_U64(info.version, 1);
	T_DO(expect_block0(c, 1));
	{
		uint8_t buf[32];

		T_EQ_INT(chain_profile_get(c, RECORD_PROFILE_NAME, buf, sizeof(buf),
		    &len), CHAIN_OK);
		T_EQ_U64(len, 6);
		T_EQ_MEM(buf, "node-a", 6);
	}
	chain_done(c);
}

static int
count_cb(void *arg, const struct chain_file *f)
{
	(*(int *)arg)++;
	return 0;
}

static void
test_chain_reopen_keeps_state_and_refuses_other_owner(void)
{
	struct chain_file *f = case_files;
	struct chain *c = fresh_case(50), *c2;
	struct chain_info a, b;
	struct blocks before;
	size_t deleted;
	int count = 0;
	char err[256];

	T_ASSERT(c != NULL);
	T_EQ_INT(chain_add_files(c, f, 50), CHAIN_OK);
	T_EQ_INT(chain_delete_files(c, (const uint8_t (*)[16])f[10].id, 1,
	    &deleted), CHAIN_OK);
	T_EQ_INT(chain_profile_set(c, RECORD_PROFILE_WEBSITE, "https://x", 9),
	    CHAIN_OK);
	T_EQ_INT(chain_info(c, &a), CHAIN_OK);
	T_DO(blocks_take(c, a.height, &before));

	c = reopen(c);
	T_ASSERT(c != NULL);
	T_EQ_INT(chain_info(c, &b), CHAIN_OK);
	T_EQ_U64(b.version, a.version);
	T_EQ_U64(b.height, a.height);
	T_EQ_U64(b.nfiles, 49);
	T_EQ_U64(b.file_bytes, a.file_bytes);
	T_EQ_U64(b.block_bytes, a.block_bytes);
	T_DO(blocks_expect(c, &before));
	T_EQ_INT(chain_foreach_file(c, count_cb, &count), 0);
	T_EQ_INT(count, 49);
	/* Appending after a reopen links to the stored last block. */
	fake_now += 10;
	T_EQ_INT(chain_add_files(c, &f[10], 1), CHAIN_OK);
	T_DO(expect_valid(c));
	chain_close(c);

	T_EQ_INT(chain_open(&c2, dbpath, key_b.pub, sign_with, &key_b, err,
	    sizeof(err)), CHAIN_ERR_OWNER);
	T_ASSERT(c2 == NULL);
	t_rmtree(tmpdir);
}

static void
test_chain_rejects_duplicates_oversize_and_foreign_signer(void)
{
	static struct tfile tf[3];
	static char big[60000];
	struct chain_file f[3];
	struct chain *c = fresh_chain(), *cb;
	struct chain_info info;
	char err[256];

	T_ASSERT(c != NULL);
	make_files(f, tf, 2);
	T_EQ_INT(chain_add_files(c, f, 1), CHAIN_OK);
	/* Same ID again, alone or twice in one call. */
	T_EQ_INT(chain_add_files(c, f, 1), CHAIN_ERR_EXISTS);
	make_file(&f[2], &tf[2], 2);
	memcpy(f[1].id, "0123456789abcdef", 16);
	memcpy(f[2].id, "0123456789abcdef", 16);
	T_EQ_INT(chain_add_files(c, &f[1], 2), CHAIN_ERR_EXISTS);
	/* A record that no peer would accept in a block. */
	memset(big, 'd', sizeof(big) - 1);
	f[2].description = big;
	memset(f[2].id, 0, 16);
	T_EQ_INT(chain_add_files(c, &f[2], 1), CHAIN_ERR_TOO_LARGE);
	f[2].tags = NULL;
	f[2].ntags = 0;
	f[2].description = NULL;
	{
		struct chain_tag bad = { 0x8001, (const uint8_t *)"ab", 2 };

		f[2].tags = &bad;
		f[2].ntags = 1;
		T_EQ_INT(chain_add_files(c, &f[2], 1), CHAIN_ERR_TAG);
		f[2].tags = NULL;
		f[2].ntags = 0;
	}
	T_EQ_INT(chain_info(c, &info), CHAIN_OK);
	T_EQ_U64(info.height, 2);
	T_EQ_U64(info.nfiles, 1);
	chain_close(c);

	/* A signer holding the wrong key: nothing is stored. */
	T_EQ_INT(chain_open(&cb, dbpath, key_a.pub, sign_with, &key_b, err,
	    sizeof(err)), CHAIN_OK);
	memset(f[2].id, 0, 16);
	T_EQ_INT(chain_add_files(cb, &f[2], 1), CHAIN_ERR_BAD_SIGNATURE);
	T_EQ_INT(chain_info(cb, &info), CHAIN_OK);
	T_EQ_U64(info.height, 2);
	T_EQ_U64(info.nfiles, 1);
	chain_done(cb);
}

static int
collect_ids(void *arg, const struct chain_file *f)
{
	int *n = arg;

	(*n)++;
	return 0;
}

static void
test_chain_hash_referenced_until_last_record_deleted(void)
{
	struct chain_file *f = case_files;
	struct chain *c = fresh_case(3);
	size_t deleted;
	int n = 0;

	T_ASSERT(c != NULL);
	memcpy(f[1].hash, f[0].hash, 32);	/* same content, two records */
	T_EQ_INT(chain_add_files(c, f, 3), CHAIN_OK);
	T_EQ_INT(chain_find_hash(c, f[0].hash, collect_ids, &n), 0);
	T_EQ_INT(n, 2);
	T_EQ_INT(chain_delete_files(c, (const uint8_t (*)[16])f[0].id, 1,
	    &deleted), CHAIN_OK);
	T_EQ_INT(chain_hash_referenced(c, f[0].hash), 1);
	T_EQ_INT(chain_delete_files(c, (const uint8_t (*)[16])f[1].id, 1,
	    &deleted), CHAIN_OK);
	T_EQ_INT(chain_hash_referenced(c, f[0].hash), 0);
	T_EQ_INT(chain_hash_referenced(c, f[2].hash), 1);
	chain_done(c);
}

/* ---- crash safety ---------------------------------------------------- */

struct slow_signer {
	struct ident	*id;
	int		 fd;
	int		 count;
};

/* Signs; at block 700 tells the parent and waits to be killed. */
static int
slow_sign(void *arg, const uint8_t hash[32], uint8_t sig[65])
{
	struct slow_signer *s = arg;

	if (++s->count == 700) {
		if (write(s->fd, "x", 1) != 1)
			_exit(4);
		for (;;)
			pause();
	}
	return ident_sign(s->id, hash, sig) == 0 ? 0 : -1;
}

static void
test_chain_kill_during_add_leaves_previous_state(void)
{
	struct chain_file *f = case_files;
	struct chain *c = fresh_case(20000);
	struct chain_info a, b;
	struct blocks before;
	int p[2], status;
	char x;
	pid_t pid;

	T_ASSERT(c != NULL);
	T_EQ_INT(chain_add_files(c, f, 20), CHAIN_OK);
	T_EQ_INT(chain_info(c, &a), CHAIN_OK);
	T_ASSERT(a.height <= 4);
	T_DO(blocks_take(c, a.height, &before));
	chain_close(c);

	T_ASSERT(pipe(p) == 0);
	if ((pid = fork()) == 0) {
		struct slow_signer s = { &key_a, p[1], 0 };
		struct chain *cc;
		char err[256];

		close(p[0]);
		if (chain_open(&cc, dbpath, key_a.pub, slow_sign, &s, err,
		    sizeof(err)) != CHAIN_OK)
			_exit(2);
		/*
		 * ~800 blocks (3 MB) outgrow SQLite's 2 MB page cache, so
		 * the open transaction has spilled pages into the WAL when
		 * the kill comes at block 700.
		 */
		(void)chain_add_files(cc, f + 20, 19980);
		_exit(3);
	}
	T_ASSERT(pid > 0);
	close(p[1]);
	T_EQ_INT(read(p[0], &x, 1), 1);
	close(p[0]);
	T_EQ_INT(kill(pid, SIGKILL), 0);
	T_EQ_INT(waitpid(pid, &status, 0), pid);
	T_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* The killed transaction had really written pages into the WAL. */
	{
		struct stat st;
		char wal[160];

		snprintf(wal, sizeof(wal), "%s-wal", dbpath);
		T_EQ_INT(stat(wal, &st), 0);
		T_ASSERT(st.st_size > 1000000);
	}

	c = reopen(NULL);
	T_ASSERT(c != NULL);
	T_EQ_INT(chain_info(c, &b), CHAIN_OK);
	T_EQ_U64(b.height, a.height);
	T_EQ_U64(b.version, a.version);
	T_EQ_U64(b.nfiles, 20);
	T_DO(blocks_expect(c, &before));
	/* And it keeps working: the interrupted add succeeds now. */
	T_EQ_INT(chain_add_files(c, f + 20, 19980), CHAIN_OK);
	T_EQ_INT(chain_info(c, &b), CHAIN_OK);
	T_EQ_U64(b.nfiles, 20000);
	chain_done(c);
}

/* ---- packing across calls, compaction -------------------------------- */

/* Every file record of the chain, in chain order (deep copies). */
struct snap {
	struct chain_file *f[4096];
	int		 n;
};

static int
snap_cb(void *arg, const struct chain_file *f)
{
	struct snap *s = arg;

	if (s->n >= 4096 || (s->f[s->n] = chain_file_dup(f)) == NULL)
		return -1;
	s->n++;
	return 0;
}

static void
snap_free(struct snap *s)
{
	int i;

	for (i = 0; i < s->n; i++)
		free(s->f[i]);
	s->n = 0;
}

static int
snap_take(struct chain *c, struct snap *s)
{
	s->n = 0;
	return chain_foreach_file(c, snap_cb, s);
}

static int
str_same(const char *a, size_t al, const char *b, size_t bl)
{
	if (a == NULL || b == NULL)
		return a == b;
	return al == bl && memcmp(a, b, al) == 0;
}

/* The same records in the same order: everything but where they are. */
static int
snap_same(const struct snap *a, const struct snap *b, char *why, size_t whylen)
{
	const struct chain_file *x, *y;
	size_t t;
	int i;

	if (a->n != b->n)
		return snprintf(why, whylen, "%d records, then %d", a->n, b->n), -1;
	for (i = 0; i < a->n; i++) {
		x = a->f[i];
		y = b->f[i];
		if (memcmp(x->id, y->id, 16) != 0 || memcmp(x->hash, y->hash, 32) ||
		    memcmp(x->merkle_root, y->merkle_root, 32) != 0 ||
		    x->size != y->size || x->fragment_size != y->fragment_size ||
		    x->type != y->type || x->format != y->format ||
		    x->date_shared != y->date_shared ||
		    x->date_created != y->date_created ||
		    !str_same(x->name, x->name_len, y->name, y->name_len) ||
		    !str_same(x->folder, x->folder_len, y->folder, y->folder_len) ||
		    !str_same(x->description, x->description_len, y->description,
		    y->description_len) || x->ntags != y->ntags)
			return snprintf(why, whylen, "record %d differs", i), -1;
		for (t = 0; t < x->ntags; t++)
			if (x->tags[t].type != y->tags[t].type ||
			    x->tags[t].len != y->tags[t].len ||
			    memcmp(x->tags[t].data, y->tags[t].data,
			    x->tags[t].len) != 0)
				return snprintf(why, whylen, "record %d: tag %zu",
				    i, t), -1;
	}
	return 0;
}

/*
 * Takes after from c: the same records as before (else both are freed and
 * the case fails).
 */
static void
expect_snap_same(struct chain *c, struct snap *before, struct snap *after)
{
	char why[256];

	T_EQ_INT(snap_take(c, after), 0);
	if (snap_same(before, after, why, sizeof(why)) != 0) {
		snap_free(before);
		snap_free(after);
		T_FAIL("%s", why);
	}
}

/*
 * What an index fed from the chain's events (searchd, through storaged)
 * holds: per file number (from the name), how many times it is present,
 * and the date it was last announced with.
 */
struct model {
	int		 present[4096];
	int64_t		 date[4096];
	int		 added, removed, updated, bad;
};

static void
model_ev(void *arg, int kind, const struct chain_file *f)
{
	struct model *m = arg;
	int i;

	if (f == NULL || f->name == NULL ||
	    sscanf(f->name, "file %d.txt", &i) != 1 || i < 0 || i >= 4096) {
		m->bad++;
		return;
	}
	switch (kind) {
	case CHAIN_EV_FILE_ADDED:
		m->present[i]++;
		m->date[i] = f->date_shared;
		m->added++;
		break;
	case CHAIN_EV_FILE_REMOVED:
		m->present[i]--;
		m->removed++;
		break;
	case CHAIN_EV_FILE_UPDATED:	/* storaged: removed, then added */
		m->date[i] = f->date_shared;
		m->updated++;
		break;
	default:
		m->bad++;
	}
}

/*
 * `peernetctl add` of 300 files is 300 calls (one upload each): they fill
 * blocks as one AddFiles of the 300 would, while nobody reads the chain.
 * Once the last block has been read (a Get Block), it is never rewritten.
 */
static void
test_chain_300_files_added_one_by_one_fill_blocks(void)
{
	struct chain_file *f = case_files;
	static struct model m;
	struct chain *c = fresh_case(302);
	struct chain_info info;
	uint8_t *tail, *again;
	size_t len, len2;
	uint64_t n, want;
	int i, nf, np, nt;

	T_ASSERT(c != NULL);
	memset(&m, 0, sizeof(m));
	chain_set_event_cb(c, model_ev, &m);
	fake_now = 1700000000;
	for (i = 0; i < 300; i++)
		T_EQ_INT(chain_add_files(c, &f[i], 1), CHAIN_OK);
	T_EQ_INT(chain_info(c, &info), CHAIN_OK);
	want = 1 + greedy_blocks(f, 300);
	printf("# 300 files added one by one: height %llu (genesis + %llu)\n",
	    (unsigned long long)info.height,
	    (unsigned long long)info.height - 1);
	T_EQ_U64(info.height, want);
	T_ASSERT(info.height <= 16);
	T_EQ_U64(info.version, 0);
	T_EQ_U64(info.nfiles, 300);
	T_DO(expect_valid(c));
	T_DO(expect_block0(c, 1));
	for (n = 1; n < info.height; n++) {
		T_EQ_INT(block_census(c, n, &nf, &np, &nt, &len), 0);
		T_ASSERT(len <= BLOCK_TARGET_SIZE);
		T_ASSERT(nf > 1);
	}
	T_DO(expect_listed(c, f, 300));
	T_EQ_INT(m.added, 300);
	T_EQ_INT(m.removed + m.updated + m.bad, 0);

	/* chain_valid read the last block: the next add starts a new one. */
	T_ASSERT((tail = get_block(c, info.height - 1, &len)) != NULL);
	T_EQ_INT(chain_add_files(c, &f[300], 1), CHAIN_OK);
	T_EQ_INT(chain_info(c, &info), CHAIN_OK);
	T_EQ_U64(info.height, want + 1);
	T_ASSERT((again = get_block(c, want - 1, &len2)) != NULL);
	T_EQ_U64(len2, len);
	T_EQ_MEM(again, tail, len);
	free(again);
	free(tail);
	/* After a restart the last block counts as read too. */
	c = reopen(c);
	T_ASSERT(c != NULL);
	T_EQ_INT(chain_add_files(c, &f[301], 1), CHAIN_OK);
	T_EQ_INT(chain_info(c, &info), CHAIN_OK);
	T_EQ_U64(info.height, want + 2);
	T_EQ_U64(info.version, 0);
	T_DO(expect_valid(c));
	chain_done(c);
}

/*
 * The worst case for the height: 3,000 files added one by one, and the
 * last block read after every add (a peer fetching each time), so that
 * every add is a new block.  The height never passes the bound (default
 * 200): compactions rewrite the chain packed, every record keeping its
 * date, and an index fed from the events ends with every file once.
 */
static void
test_chain_3000_files_one_by_one_stay_under_bound(void)
{
	struct chain_file *f = case_files;
	static struct model m;
	static struct snap before, after;
	struct chain *c = fresh_chain();
	struct chain_info info;
	uint64_t maxh = 0, version = 0;
	uint8_t buf[8192];
	size_t len;
	int i, compactions = 0;

	T_ASSERT(c != NULL);
	memset(&m, 0, sizeof(m));
	chain_set_event_cb(c, model_ev, &m);
	for (i = 0; i < 3000; i++) {
		make_file(&f[i], &case_tf[i], i);
		fake_now = 1700000000 + i;
		if (chain_add_files(c, &f[i], 1) != CHAIN_OK)
			T_FAIL("add %d failed", i);
		if (chain_info(c, &info) != CHAIN_OK)
			T_FAIL("chain_info");
		if (info.height > CHAIN_DEFAULT_MAX_BLOCKS)
			T_FAIL("height %llu after add %d",
			    (unsigned long long)info.height, i);
		if (info.height > maxh)
			maxh = info.height;
		if (info.version != version) {
			compactions++;
			version = info.version;
		}
		/* A peer fetches the last block. */
		T_EQ_INT(chain_block(c, info.height - 1, buf, sizeof(buf), &len),
		    CHAIN_OK);
	}
	printf("# 3000 files one by one, last block read after each: height "
	    "%llu (max %llu), %d compactions\n", (unsigned long long)info.height,
	    (unsigned long long)maxh, compactions);
	T_ASSERT(compactions >= 1);
	T_EQ_U64(info.nfiles, 3000);
	T_DO(expect_valid(c));
	/* Every record as it was added, its date included. */
	T_DO(expect_listed(c, f, 3000));
	T_EQ_INT(m.bad, 0);
	T_EQ_INT(m.added, 3000);
	T_EQ_INT(m.removed, 0);
	T_ASSERT(m.updated > 0);
	for (i = 0; i < 3000; i++)
		if (m.present[i] != 1 || m.date[i] != 1700000000 + i)
			T_FAIL("index: file %d present %d, date %lld", i,
			    m.present[i], (long long)m.date[i]);

	/* A compaction now changes nothing but where records are. */
	T_EQ_INT(snap_take(c, &before), 0);
	T_EQ_INT(chain_compact(c, &i), CHAIN_OK);
	T_EQ_INT(chain_info(c, &info), CHAIN_OK);
	printf("# 3000 files packed: height %llu\n",
	    (unsigned long long)info.height);
	T_ASSERT(info.height <= 1 + greedy_blocks(f, 3000));
	T_DO(expect_snap_same(c, &before, &after));
	snap_free(&before);
	snap_free(&after);
	T_DO(reopen_valid_close(c));
}

struct profile_seen {
	char		 name[32];
	char		 email[32];
	int		 n;
};

static int
profile_seen_cb(void *arg, uint16_t field, const uint8_t *data, size_t len)
{
	struct profile_seen *p = arg;

	if (field == RECORD_PROFILE_NAME)
		snprintf(p->name, sizeof(p->name), "%.*s", (int)len, data);
	else if (field == RECORD_PROFILE_EMAIL)
		snprintf(p->email, sizeof(p->email), "%.*s", (int)len, data);
	p->n++;
	return 0;
}

/*
 * chain_compact on a chain of one block per call: profile records first
 * (only the newest value of a field), no file in block 0, files packed
 * greedily with their dates, an oversized record in a block of its own,
 * version + 1; the events say every file was updated, nothing added or
 * removed.  A bound on the height holds for profile writes too.
 */
static void
test_chain_compaction_keeps_records_profile_and_block0(void)
{
	struct chain_file *f = case_files;
	static struct model m;
	static struct snap before, after;
	static char longdesc[5000];
	struct chain *c = fresh_case(41);
	struct chain_info a, b;
	struct chain_file *g;
	struct profile_seen ps;
	uint64_t n;
	size_t len;
	int i, done, nf, np, nt, files = 0;

	T_ASSERT(c != NULL);
	chain_set_tail_packing(c, 0);
	memset(&m, 0, sizeof(m));
	memset(longdesc, 'x', sizeof(longdesc) - 1);
	f[40].description = longdesc;	/* a record larger than the target */
	fake_now = 1700000000;
	T_EQ_INT(chain_profile_set(c, RECORD_PROFILE_NAME, "Alice", 5), CHAIN_OK);
	for (i = 0; i < 30; i++) {
		fake_now++;
		T_EQ_INT(chain_add_files(c, &f[i], 1), CHAIN_OK);
	}
	T_EQ_INT(chain_profile_set(c, RECORD_PROFILE_EMAIL, "a@example.com", 13),
	    CHAIN_OK);
	T_EQ_INT(chain_profile_set(c, RECORD_PROFILE_NAME, "Alice B.", 8),
	    CHAIN_OK);
	for (i = 30; i < 41; i++) {
		fake_now++;
		T_EQ_INT(chain_add_files(c, &f[i], 1), CHAIN_OK);
	}
	T_EQ_INT(chain_info(c, &a), CHAIN_OK);
	T_EQ_U64(a.height, 44);
	T_EQ_INT(snap_take(c, &before), 0);

	chain_set_event_cb(c, model_ev, &m);
	fake_now = 1800000000;
	T_EQ_INT(chain_compact(c, &done), CHAIN_OK);
	T_EQ_INT(done, 1);
	T_EQ_INT(chain_info(c, &b), CHAIN_OK);
	T_EQ_U64(b.version, a.version + 1);
	T_EQ_U64(b.nfiles, 41);
	T_EQ_U64(b.file_bytes, a.file_bytes);
	/* Block 0: name and email; 40 files in 2 blocks; the large one alone. */
	T_EQ_U64(b.height, 1 + greedy_blocks(f, 40) + 1);
	T_DO(expect_valid(c));
	T_DO(expect_block0(c, 2));
	for (n = 1; n < b.height; n++) {
		T_EQ_INT(block_census(c, n, &nf, &np, &nt, &len), 0);
		T_EQ_INT(np, 0);
		T_ASSERT(len <= BLOCK_TARGET_SIZE || nf == 1);
		files += nf;
	}
	T_EQ_INT(files, 41);
	T_DO(expect_snap_same(c, &before, &after));
	/* The index of the files table follows the new positions. */
	for (i = 0; i < after.n; i++) {
		T_EQ_INT(chain_get_file(c, after.f[i]->id, &g), CHAIN_OK);
		T_EQ_U64(g->block, after.f[i]->block);
		T_EQ_INT(g->record, after.f[i]->record);
		T_EQ_INT(g->date_shared, before.f[i]->date_shared);
		free(g);
	}
	snap_free(&before);
	snap_free(&after);
	T_EQ_INT(m.updated, 41);
	T_EQ_INT(m.added + m.removed + m.bad, 0);
	memset(&ps, 0, sizeof(ps));
	T_EQ_INT(chain_profile_foreach(c, profile_seen_cb, &ps), 0);
	T_EQ_INT(ps.n, 2);
	T_EQ_STR(ps.name, "Alice B.");
	T_EQ_STR(ps.email, "a@example.com");

	/* Already packed: nothing to do, not even a new version. */
	T_EQ_INT(chain_compact(c, &done), CHAIN_OK);
	T_EQ_INT(done, 0);
	T_EQ_INT(chain_info(c, &a), CHAIN_OK);
	T_EQ_U64(a.version, b.version);
	T_EQ_U64(a.height, b.height);

	/* A bound of 8 blocks holds for one-block-per-call profile writes. */
	chain_set_max_blocks(c, 8);
	for (i = 0; i < 40; i++) {
		char v[32];

		snprintf(v, sizeof(v), "name %d", i);
		T_EQ_INT(chain_profile_set(c, i % 2 ? RECORD_PROFILE_NAME :
		    RECORD_PROFILE_EMAIL, v, strlen(v)), CHAIN_OK);
		T_EQ_INT(chain_info(c, &a), CHAIN_OK);
		T_ASSERT(a.height <= 8);
	}
	memset(&ps, 0, sizeof(ps));
	T_EQ_INT(chain_profile_foreach(c, profile_seen_cb, &ps), 0);
	T_EQ_STR(ps.name, "name 39");
	T_EQ_STR(ps.email, "name 38");
	T_EQ_U64(a.nfiles, 41);
	T_DO(reopen_valid_close(c));
}

/*
 * A block that is still filling is not announced: peers would fetch it at
 * once, and a block that was read is never rewritten.  It is announced
 * after CHAIN_SEAL_MS without growth, when read, or when a newer block
 * comes; announce_height never goes down within a version.
 */
static void
test_chain_last_block_announced_when_sealed(void)
{
	struct chain_file *f = case_files;
	struct chain *c = fresh_case(40);
	struct chain_info info;
	uint8_t buf[8192];
	size_t len;
	uint64_t last = 0;
	int i;

	T_ASSERT(c != NULL);
	T_EQ_INT(chain_add_files(c, &f[0], 1), CHAIN_OK);
	T_EQ_INT(chain_info(c, &info), CHAIN_OK);
	T_EQ_U64(info.height, 2);
	T_EQ_U64(info.announce_height, 1);	/* the genesis block */
	T_EQ_INT(chain_seal(c, 0), 0);		/* not quiet long enough */
	T_EQ_INT(chain_add_files(c, &f[1], 1), CHAIN_OK);
	T_EQ_INT(chain_seal(c, 1), 1);
	T_EQ_INT(chain_seal(c, 1), 0);
	T_EQ_INT(chain_info(c, &info), CHAIN_OK);
	T_EQ_U64(info.announce_height, 2);
	/* Announced but not read: it may still grow, and stays announced. */
	T_EQ_INT(chain_add_files(c, &f[2], 1), CHAIN_OK);
	T_EQ_INT(chain_info(c, &info), CHAIN_OK);
	T_EQ_U64(info.height, 2);
	T_EQ_U64(info.announce_height, 2);
	/* Read: the next file starts a block, unannounced until quiet. */
	T_EQ_INT(chain_block(c, 1, buf, sizeof(buf), &len), CHAIN_OK);
	T_EQ_INT(chain_add_files(c, &f[3], 1), CHAIN_OK);
	T_EQ_INT(chain_info(c, &info), CHAIN_OK);
	T_EQ_U64(info.height, 3);
	T_EQ_U64(info.announce_height, 2);
	usleep((CHAIN_SEAL_MS + 100) * 1000);
	T_EQ_INT(chain_seal(c, 0), 1);
	T_EQ_INT(chain_info(c, &info), CHAIN_OK);
	T_EQ_U64(info.announce_height, 3);
	/* Reading the open block announces it too (chain_seal says so). */
	T_EQ_INT(chain_block(c, 2, buf, sizeof(buf), &len), CHAIN_OK);
	T_EQ_INT(chain_add_files(c, &f[4], 1), CHAIN_OK);
	T_EQ_INT(chain_block(c, 3, buf, sizeof(buf), &len), CHAIN_OK);
	T_EQ_INT(chain_seal(c, 0), 1);
	T_EQ_INT(chain_info(c, &info), CHAIN_OK);
	T_EQ_U64(info.announce_height, info.height);
	/* Many files, one by one: the announced height only grows. */
	for (i = 5; i < 40; i++) {
		T_EQ_INT(chain_add_files(c, &f[i], 1), CHAIN_OK);
		T_EQ_INT(chain_info(c, &info), CHAIN_OK);
		T_ASSERT(info.announce_height >= last);
		T_ASSERT(info.announce_height + 1 >= info.height);
		last = info.announce_height;
	}
	/* Reference layout: every block announced at once. */
	chain_set_tail_packing(c, 0);
	T_EQ_INT(chain_seal(c, 1), 1);
	T_EQ_INT(chain_add_files(c, &f[39], 0), CHAIN_OK);
	T_EQ_INT(chain_profile_set(c, RECORD_PROFILE_EMAIL, "a@b.c", 5), CHAIN_OK);
	T_EQ_INT(chain_info(c, &info), CHAIN_OK);
	T_EQ_U64(info.announce_height, info.height);
	chain_done(c);
}

/*
 * A catalogue that does not fit the bound even packed: the chain grows
 * past it, stays packed, and is compacted only when that saves an eighth
 * of the bound (not on every add).
 */
static void
test_chain_catalogue_larger_than_bound_grows_past_it(void)
{
	struct chain_file *f = case_files;
	struct chain *c = fresh_case(440);
	struct chain_info info;
	uint64_t version = 0, packed;
	int i, compactions = 0;

	T_ASSERT(c != NULL);
	chain_set_tail_packing(c, 0);	/* every add a block: the worst case */
	chain_set_max_blocks(c, 16);
	T_EQ_INT(chain_add_files(c, f, 400), CHAIN_OK);
	T_EQ_INT(chain_info(c, &info), CHAIN_OK);
	packed = info.height;
	T_EQ_U64(packed, 1 + greedy_blocks(f, 400));
	T_ASSERT(packed > 16);
	T_EQ_U64(info.version, 0);
	for (i = 400; i < 440; i++) {
		T_EQ_INT(chain_add_files(c, &f[i], 1), CHAIN_OK);
		T_EQ_INT(chain_info(c, &info), CHAIN_OK);
		if (info.version != version) {
			compactions++;
			version = info.version;
		}
		/* Never more than an eighth of the bound (2) of loose blocks. */
		T_ASSERT(info.height <= 1 + greedy_blocks(f, i + 1) + 2);
	}
	printf("# 400 files, then 40 one by one, bound 16: height %llu, "
	    "%d compactions\n", (unsigned long long)info.height, compactions);
	T_ASSERT(compactions >= 5 && compactions <= 20);
	T_DO(expect_valid(c));
	T_DO(expect_listed(c, f, 440));
	chain_done(c);
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_chain_builds_vector_blocks_byte_identical);
	T_RUN(test_chain_adds_1000_files_packed_under_target);
	T_RUN(test_chain_delete_bumps_version_and_drops_empty_block);
	T_RUN(test_chain_rename_is_a_replace_at_the_end);
	T_RUN(test_chain_writes_client_tags_in_reference_layout);
	T_RUN(test_chain_profile_round_trip_newest_wins);
	T_RUN(test_chain_nuke_resets_height_and_bumps_version);
	T_RUN(test_chain_reopen_keeps_state_and_refuses_other_owner);
	T_RUN(test_chain_rejects_duplicates_oversize_and_foreign_signer);
	T_RUN(test_chain_hash_referenced_until_last_record_deleted);
	T_RUN(test_chain_kill_during_add_leaves_previous_state);
	T_RUN(test_chain_300_files_added_one_by_one_fill_blocks);
	T_RUN(test_chain_3000_files_one_by_one_stay_under_bound);
	T_RUN(test_chain_compaction_keeps_records_profile_and_block0);
	T_RUN(test_chain_last_block_announced_when_sealed);
	T_RUN(test_chain_catalogue_larger_than_bound_grows_past_it);
	t_rmtree(tmpdir);
	return t_done();
}
