/*
 * test_cache.c — the global cache of other peers' chains (storaged/cache.c):
 * the vectors' blocks stored for their owner, every rejection rule (owner,
 * number, version, link, size, count, range), version changes, eviction
 * under the byte and record limits, events, listing with owners.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blake3.h"
#include "block.h"
#include "buf.h"
#include "cache.h"
#include "chain.h"
#include "hex.h"
#include "ident.h"
#include "t.h"
#include "tvec.h"

static char tmpdir[64];
static char dbpath[128];

static int64_t fake_now = 1700000000;

static struct cache *
fresh_cache(const struct cache_limits *lim)
{
	struct cache *c = NULL;
	char err[256];

	t_rmtree(tmpdir);
	if (t_tmpdir(tmpdir, sizeof(tmpdir), "test_cache") != 0)
		return NULL;
	snprintf(dbpath, sizeof(dbpath), "%s/cache.db", tmpdir);
	if (cache_open(&c, dbpath, lim, err, sizeof(err)) != CACHE_OK) {
		fprintf(stderr, "cache_open: %s\n", err);
		return NULL;
	}
	cache_set_clock(c, t_clock, &fake_now);
	return c;
}

/* The vectors: owner A and its two blocks, and the corrupted block 0. */
struct vec {
	json_t		*j;
	uint8_t		 owner[33];
	uint8_t		*b0, *b1, *bad;
	size_t		 l0, l1, lbad;
};

static int
vec_load(struct vec *v)
{
	json_t *blocks;

	memset(v, 0, sizeof(*v));
	if ((v->j = tvec_load("blockchain.json")) == NULL)
		return -1;
	blocks = json_object_get(v->j, "blocks");
	if (tvec_unhex(tvec_str(json_object_get(v->j, "owner"), "public_key"),
	    v->owner, 33) != 0)
		return -1;
	v->b0 = tvec_hex(json_array_get(blocks, 0), "raw", &v->l0);
	v->b1 = tvec_hex(json_array_get(blocks, 1), "raw", &v->l1);
	v->bad = tvec_hex(json_array_get(json_object_get(v->j, "corrupted"), 0),
	    "raw", &v->lbad);
	return v->b0 && v->b1 && v->bad ? 0 : -1;
}

static void
vec_free(struct vec *v)
{
	free(v->b0);
	free(v->b1);
	free(v->bad);
	json_decref(v->j);
}

static int
key(struct ident *id, uint8_t fill)
{
	uint8_t priv[32];

	memset(priv, fill, sizeof(priv));
	return ident_from_priv(id, priv);
}

/*
 * A signed block of k's chain with one file record named `name` whose
 * description pads the block by about `pad` bytes.
 */
static uint8_t *
make_block(const struct ident *k, uint64_t version, uint64_t number,
    const uint8_t *prev, const char *name, size_t pad, size_t *len)
{
	struct record_file_in f;
	struct record_tag_in tags[2];
	struct block_record recs[4];
	uint8_t fbuf[8192], *raw;
	char *desc;
	size_t nrecs, used, size;

	if ((desc = malloc(pad + 1)) == NULL)
		return NULL;
	memset(desc, 'x', pad);
	memset(&f, 0, sizeof(f));
	blake3_hash(name, strlen(name), f.hash);
	memcpy(f.merkle_root, f.hash, 32);
	chain_uuid_v4(f.id);
	f.fragment_size = 262144;
	f.size = 100 + pad;
	tags[0].type = RECORD_TAG_NAME;
	tags[0].data = (const uint8_t *)name;
	tags[0].len = strlen(name);
	tags[1].type = RECORD_TAG_DESCRIPTION;
	tags[1].data = (const uint8_t *)desc;
	tags[1].len = pad;
	f.tags = tags;
	f.ntags = pad > 0 ? 2 : 1;
	if (record_files_encode(&f, 1, 1600000000, recs, 4, &nrecs, fbuf,
	    sizeof(fbuf), &used) != BLOCK_OK ||
	    block_encoded_size(recs, nrecs, &size) != BLOCK_OK ||
	    (raw = malloc(size)) == NULL) {
		free(desc);
		return NULL;
	}
	if (block_encode(prev, version, number, recs, nrecs, raw, size, len) !=
	    BLOCK_OK || block_sign(raw, *len, k) != BLOCK_OK) {
		free(raw);
		raw = NULL;
	}
	free(desc);
	return raw;
}

/* Event log. */
struct cev {
	int		 kind;
	uint8_t		 owner[33];
	uint64_t	 version;
	char		 name[64];
};

#define ANY	(-1)	/* expect_seen: not checked */

/*
 * cache_peer_seen of owner's advertisement (version, height) succeeds and
 * says status, from and to (each unless ANY).
 */
static void
expect_seen(struct cache *c, const uint8_t *owner, uint64_t version,
    uint64_t height, int status, int64_t from, int64_t to)
{
	uint64_t f, t;
	int st;

	T_EQ_INT(cache_peer_seen(c, owner, version, height, &st, &f, &t), CACHE_OK);
	if (status != ANY)
		T_EQ_INT(st, status);
	if (from != ANY)
		T_EQ_U64(f, from);
	if (to != ANY)
		T_EQ_U64(t, to);
}

/* One block offered to the cache and what cache_ingest_block must say. */
struct offer {
	const uint8_t	*owner;
	uint64_t	 version, number;
	const uint8_t	*block;
	size_t		 len;
	int		 rc;
};

static void
expect_offers(struct cache *c, const struct offer *o, size_t n)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		rc = cache_ingest_block(c, o[i].owner, o[i].version, o[i].number,
		    o[i].block, o[i].len);
		if (rc != o[i].rc)
			T_FAIL("offer %zu (block %" PRIu64 " of version %" PRIu64
			    "): %s, expected %s", i, o[i].number, o[i].version,
			    cache_strerror(rc), cache_strerror(o[i].rc));
	}
}

static struct cev evs[256];
static int nev;

static void
ev_cb(void *arg, int kind, const uint8_t owner[33], uint64_t version,
    const struct chain_file *f)
{
	(void)arg;
	if (nev >= 256)
		return;
	evs[nev].kind = kind;
	memcpy(evs[nev].owner, owner, 33);
	evs[nev].version = version;
	snprintf(evs[nev].name, sizeof(evs[0].name), "%s",
	    f != NULL && f->name != NULL ? f->name : "");
	nev++;
}

static int
count_kind(int kind, const uint8_t *owner)
{
	int i, n = 0;

	for (i = 0; i < nev; i++)
		n += evs[i].kind == kind && memcmp(evs[i].owner, owner, 33) == 0;
	return n;
}

/* ---- tests ----------------------------------------------------------- */

static void
test_cache_stores_vector_blocks_for_their_owner(void)
{
	struct vec v;
	struct cache *c;
	struct cache_stats st;
	struct cache_peer p;
	uint8_t buf[1024];
	size_t len;
	char err[256];

	if (vec_load(&v) != 0)
		T_SKIP("blockchain.json not found");
	T_ASSERT((c = fresh_cache(NULL)) != NULL);
	cache_set_event_cb(c, ev_cb, NULL);
	nev = 0;
	T_DO(expect_seen(c, v.owner, 0, 2, CACHE_SEEN_NEW, 0, 2));
	/* Out of order: block 1 first, then block 0 must link to it. */
	T_EQ_INT(cache_ingest_block(c, v.owner, 0, 1, v.b1, v.l1), CACHE_OK);
	T_EQ_INT(cache_ingest_block(c, v.owner, 0, 0, v.b0, v.l0), CACHE_OK);
	/* A second copy is skipped. */
	T_EQ_INT(cache_ingest_block(c, v.owner, 0, 0, v.b0, v.l0), CACHE_OK);

	T_EQ_INT(cache_stats(c, &st), CACHE_OK);
	T_EQ_U64(st.peers, 1);
	T_EQ_U64(st.blocks, 2);
	T_EQ_U64(st.bytes, v.l0 + v.l1);
	T_EQ_U64(st.nfiles, 3);
	T_EQ_INT(cache_peer_info(c, v.owner, &p), CACHE_OK);
	T_EQ_U64(p.version, 0);
	T_EQ_U64(p.height, 2);
	T_EQ_U64(p.nblocks, 2);
	T_EQ_U64(p.file_bytes, 1000 + 15 + 5242880);
	T_EQ_INT(p.last_seen, 1700000000);
	T_EQ_INT(cache_get_block(c, v.owner, 0, 0, buf, sizeof(buf), &len),
	    CACHE_OK);
	T_EQ_U64(len, v.l0);
	T_EQ_MEM(buf, v.b0, v.l0);
	T_EQ_INT(cache_get_block(c, v.owner, 1, 0, buf, sizeof(buf), &len),
	    CACHE_ERR_NOT_FOUND);
	T_EQ_INT(cache_get_block(c, v.owner, 0, 0, buf, 10, &len),
	    CACHE_ERR_NOSPACE);

	T_EQ_INT(nev, 3);
	T_EQ_INT(count_kind(CACHE_EV_FILE_ADDED, v.owner), 3);
	T_EQ_STR(evs[0].name, "big pattern.jpg");
	T_EQ_STR(evs[1].name, "pattern 1000.bin");
	T_EQ_STR(evs[2].name, "hello.txt");

	/* The same advertisement again: nothing to fetch. */
	T_DO(expect_seen(c, v.owner, 0, 2, CACHE_SEEN_EQUAL, 2, 2));

	/* Reopen: same content. */
	cache_close(c);
	T_EQ_INT(cache_open(&c, dbpath, NULL, err, sizeof(err)), CACHE_OK);
	T_EQ_INT(cache_stats(c, &st), CACHE_OK);
	T_EQ_U64(st.blocks, 2);
	T_EQ_U64(st.bytes, v.l0 + v.l1);
	cache_close(c);
	vec_free(&v);
	t_rmtree(tmpdir);
}

static void
test_cache_rejects_block_signed_by_another_key(void)
{
	struct vec v;
	struct cache *c;
	struct cache_stats st;
	struct ident b;

	if (vec_load(&v) != 0)
		T_SKIP("blockchain.json not found");
	T_ASSERT((c = fresh_cache(NULL)) != NULL);
	T_EQ_INT(key(&b, 0x22), 0);
	T_DO(expect_seen(c, v.owner, 0, 2, ANY, ANY, ANY));
	T_DO(expect_seen(c, b.pub, 0, 2, ANY, ANY, ANY));
	/* The flipped bit makes the signature recover some other key. */
	T_EQ_INT(cache_ingest_block(c, v.owner, 0, 0, v.bad, v.lbad),
	    BLOCK_ERR_OWNER);
	/* A's genuine block offered as B's chain. */
	T_EQ_INT(cache_ingest_block(c, b.pub, 0, 0, v.b0, v.l0), BLOCK_ERR_OWNER);
	T_EQ_INT(cache_stats(c, &st), CACHE_OK);
	T_EQ_U64(st.blocks, 0);
	T_EQ_U64(st.bytes, 0);
	T_EQ_STR(cache_strerror(BLOCK_ERR_OWNER), "block not signed by the chain's owner");
	cache_close(c);
	vec_free(&v);
	t_rmtree(tmpdir);
}

static void
test_cache_rejects_wrong_number_version_link_and_range(void)
{
	struct cache *c;
	struct cache_stats st;
	struct ident k;
	uint8_t *b0, *b1, *b1x, *v1, h[32];
	size_t l0, l1, l1x, lv1;
	static const uint8_t junk[32] = { 1, 2, 3 };

	T_ASSERT((c = fresh_cache(NULL)) != NULL);
	T_EQ_INT(key(&k, 0x33), 0);
	T_ASSERT((b0 = make_block(&k, 0, 0, NULL, "zero", 10, &l0)) != NULL);
	block_hash(b0, l0, h);
	T_ASSERT((b1 = make_block(&k, 0, 1, h, "one", 10, &l1)) != NULL);
	T_ASSERT((b1x = make_block(&k, 0, 1, junk, "one-x", 10, &l1x)) != NULL);
	T_ASSERT((v1 = make_block(&k, 1, 0, NULL, "v1", 10, &lv1)) != NULL);

	/* Unknown peer: no header yet. */
	T_EQ_INT(cache_ingest_block(c, k.pub, 0, 0, b0, l0), CACHE_ERR_UNKNOWN_PEER);
	T_DO(expect_seen(c, k.pub, 0, 2, ANY, ANY, ANY));
	T_DO(expect_offers(c, T_TABLE(struct offer,
	    /* Block 0 delivered as block 1. */
	    { k.pub, 0, 1, b0, l0, BLOCK_ERR_NUMBER },
	    /* A version-1 block while version 0 is cached and asked for. */
	    { k.pub, 0, 0, v1, lv1, BLOCK_ERR_VERSION },
	    /* A transfer started for another version than the cached one. */
	    { k.pub, 1, 0, v1, lv1, CACHE_ERR_STALE },
	    /* Beyond the advertised height. */
	    { k.pub, 0, 2, b0, l0, CACHE_ERR_RANGE },
	    /* Not linked to the stored block 0. */
	    { k.pub, 0, 0, b0, l0, CACHE_OK },
	    { k.pub, 0, 1, b1x, l1x, BLOCK_ERR_PREV_HASH },
	    { k.pub, 0, 1, b1, l1, CACHE_OK })));
	T_EQ_INT(cache_stats(c, &st), CACHE_OK);
	T_EQ_U64(st.blocks, 2);
	T_EQ_U64(st.bytes, l0 + l1);
	free(b0);
	free(b1);
	free(b1x);
	free(v1);
	cache_close(c);
	t_rmtree(tmpdir);
}

static void
test_cache_enforces_block_size_and_count_limits(void)
{
	struct cache_limits lim = { 400, 2, 0, 0 };
	struct cache *c;
	struct cache_stats st;
	struct ident k;
	uint8_t *small, *big, *b2;
	size_t ls, lb, l2;

	T_ASSERT((c = fresh_cache(&lim)) != NULL);
	T_EQ_INT(key(&k, 0x44), 0);
	T_ASSERT((small = make_block(&k, 0, 0, NULL, "s", 10, &ls)) != NULL);
	T_ASSERT((big = make_block(&k, 0, 0, NULL, "b", 400, &lb)) != NULL);
	T_ASSERT((b2 = make_block(&k, 0, 2, NULL, "c", 10, &l2)) != NULL);
	T_ASSERT(ls <= 400 && lb > 400);
	/* Height 10 advertised, but only CacheMaxBlockCount blocks are fetched. */
	T_DO(expect_seen(c, k.pub, 0, 10, ANY, 0, 2));
	T_EQ_INT(cache_ingest_block(c, k.pub, 0, 0, big, lb), CACHE_ERR_TOO_LARGE);
	T_EQ_INT(cache_ingest_block(c, k.pub, 0, 2, b2, l2),
	    CACHE_ERR_TOO_MANY_BLOCKS);
	T_EQ_INT(cache_ingest_block(c, k.pub, 0, 0, small, ls), CACHE_OK);
	T_EQ_INT(cache_stats(c, &st), CACHE_OK);
	T_EQ_U64(st.blocks, 1);
	/* The hole at block 1 is what the next advertisement asks for. */
	T_DO(expect_seen(c, k.pub, 0, 10, CACHE_SEEN_EQUAL, 1, 2));
	free(small);
	free(big);
	free(b2);
	cache_close(c);
	t_rmtree(tmpdir);
}

/* Every refusal of cache_ingest_block lands in the counter of its kind. */
static void
test_cache_counts_rejected_blocks_by_kind(void)
{
	struct cache_limits lim = { 0, 0, 300, 0 };
	struct cache *c;
	struct ident k, k2, k3;
	uint8_t *b0, *b1, *foreign, *wrongnum, *badsig, *longer, *badrec, h[32];
	size_t l0, l1, lf, lw, ls, ll, lr;
	uint64_t cnt[CACHE_CNT_MAX];
	int i;

	T_ASSERT((c = fresh_cache(&lim)) != NULL);
	T_EQ_INT(key(&k, 0x71), 0);
	T_EQ_INT(key(&k2, 0x72), 0);
	T_EQ_INT(key(&k3, 0x73), 0);
	T_ASSERT((b0 = make_block(&k, 0, 0, NULL, "zero", 10, &l0)) != NULL);
	block_hash(b0, l0, h);
	T_ASSERT((b1 = make_block(&k, 0, 1, h, "one", 10, &l1)) != NULL);
	T_ASSERT((foreign = make_block(&k2, 0, 1, h, "one", 10, &lf)) != NULL);
	T_ASSERT((wrongnum = make_block(&k, 0, 0, NULL, "other", 10, &lw)) != NULL);
	T_ASSERT((badsig = make_block(&k, 0, 1, h, "one", 10, &ls)) != NULL);
	T_ASSERT((badrec = make_block(&k, 0, 1, h, "one", 10, &lr)) != NULL);
	T_ASSERT((longer = malloc(l1 + 1)) != NULL);
	memcpy(longer, b1, l1);
	longer[l1] = 0;
	ll = l1 + 1;
	/* No recoverable key: recid 0, R = S = 0. */
	memset(badsig, 0, 65);
	badsig[0] = 27;
	/*
	 * The name tag's length (header 119 + envelope 13 + fixed part 101 +
	 * tag type 2) made to run past the record, then signed by the owner:
	 * only the record check can refuse it.
	 */
	buf_put_le32(badrec + 119 + 13 + 101 + 2, 0xffff);
	T_EQ_INT(block_sign(badrec, lr, &k), BLOCK_OK);
	T_ASSERT(l0 <= 300 && l0 + l1 > 300);

	cache_counters(c, cnt);
	for (i = 0; i < CACHE_CNT_MAX; i++)
		T_EQ_U64(cnt[i], 0);
	T_EQ_INT(cache_ingest_block(c, k3.pub, 0, 0, b0, l0), CACHE_ERR_UNKNOWN_PEER);
	T_DO(expect_seen(c, k.pub, 0, 2, ANY, ANY, ANY));
	T_DO(expect_offers(c, T_TABLE(struct offer,
	    { k.pub, 0, 0, b0, l0, CACHE_OK },
	    { k.pub, 0, 1, foreign, lf, BLOCK_ERR_OWNER },
	    { k.pub, 0, 1, badsig, ls, BLOCK_ERR_SIGNATURE },
	    { k.pub, 0, 1, wrongnum, lw, BLOCK_ERR_NUMBER },
	    { k.pub, 0, 300, b1, l1, CACHE_ERR_TOO_MANY_BLOCKS },
	    { k.pub, 0, 1, longer, ll, BLOCK_ERR_SIZE_FIELD },
	    { k.pub, 0, 1, badrec, lr, BLOCK_ERR_TAG_DATA },
	    /* Genuine, but the chain alone would exceed the 300-byte cache. */
	    { k.pub, 0, 1, b1, l1, CACHE_ERR_FULL })));

	cache_counters(c, cnt);
	T_EQ_U64(cnt[CACHE_CNT_ACCEPTED], 1);
	T_EQ_U64(cnt[CACHE_CNT_WRONG_SIGNER], 1);
	T_EQ_U64(cnt[CACHE_CNT_BAD_SIGNATURE], 1);
	T_EQ_U64(cnt[CACHE_CNT_NUMBERING], 1);
	T_EQ_U64(cnt[CACHE_CNT_OVERSIZE], 1);
	T_EQ_U64(cnt[CACHE_CNT_MALFORMED], 1);
	T_EQ_U64(cnt[CACHE_CNT_BAD_RECORDS], 1);
	T_EQ_U64(cnt[CACHE_CNT_RECORD_LIMITS], 1);
	T_EQ_U64(cnt[CACHE_CNT_OTHER], 1);
	T_EQ_STR(cache_counter_name(CACHE_CNT_WRONG_SIGNER), "cache_rejected_signer");
	T_EQ_INT(cache_reject_kind(CACHE_ERR_TOO_LARGE), CACHE_CNT_OVERSIZE);
	free(b0);
	free(b1);
	free(foreign);
	free(wrongnum);
	free(badsig);
	free(badrec);
	free(longer);
	cache_close(c);
	t_rmtree(tmpdir);
}

static void
test_cache_new_version_drops_old_blocks_with_events(void)
{
	struct vec v;
	struct cache *c;
	struct cache_stats st;
	struct cache_peer p;

	if (vec_load(&v) != 0)
		T_SKIP("blockchain.json not found");
	T_ASSERT((c = fresh_cache(NULL)) != NULL);
	cache_set_event_cb(c, ev_cb, NULL);
	T_DO(expect_seen(c, v.owner, 0, 2, ANY, ANY, ANY));
	T_EQ_INT(cache_ingest_block(c, v.owner, 0, 0, v.b0, v.l0), CACHE_OK);
	T_EQ_INT(cache_ingest_block(c, v.owner, 0, 1, v.b1, v.l1), CACHE_OK);
	/* More blocks of the same version: fetch from the cached height. */
	T_DO(expect_seen(c, v.owner, 0, 3, CACHE_SEEN_NEW_BLOCKS, 2, 3));

	nev = 0;
	fake_now += 60;
	T_DO(expect_seen(c, v.owner, 1, 1, CACHE_SEEN_NEW_VERSION, 0, 1));
	T_EQ_INT(nev, 4);
	T_EQ_INT(count_kind(CACHE_EV_FILE_REMOVED, v.owner), 3);
	T_EQ_INT(evs[3].kind, CACHE_EV_PEER_DROPPED);
	T_EQ_U64(evs[3].version, 0);
	T_EQ_INT(cache_stats(c, &st), CACHE_OK);
	T_EQ_U64(st.blocks, 0);
	T_EQ_U64(st.bytes, 0);
	T_EQ_U64(st.nfiles, 0);
	T_EQ_INT(cache_peer_info(c, v.owner, &p), CACHE_OK);
	T_EQ_U64(p.version, 1);
	T_EQ_U64(p.height, 1);
	T_EQ_INT(p.last_seen, fake_now);
	/* The old version's blocks are stale now. */
	T_EQ_INT(cache_ingest_block(c, v.owner, 0, 0, v.b0, v.l0), CACHE_ERR_STALE);

	/* Going back to an older version is invalid: the chain is dropped. */
	nev = 0;
	T_DO(expect_seen(c, v.owner, 0, 2, CACHE_SEEN_INVALID, ANY, 0));
	T_EQ_INT(cache_peer_info(c, v.owner, &p), CACHE_ERR_NOT_FOUND);
	T_EQ_INT(nev, 1);
	T_EQ_INT(evs[0].kind, CACHE_EV_PEER_DROPPED);
	/* (0, 0) is ignored, as the reference does. */
	T_DO(expect_seen(c, v.owner, 0, 0, CACHE_SEEN_IGNORED, ANY, ANY));
	T_EQ_INT(cache_stats(c, &st), CACHE_OK);
	T_EQ_U64(st.peers, 0);
	cache_close(c);
	vec_free(&v);
	t_rmtree(tmpdir);
}

static void
test_cache_evicts_least_recently_seen_peer_under_byte_limit(void)
{
	struct cache_limits lim = { 0, 0, 2500, 0 };
	struct cache *c;
	struct cache_stats st;
	struct cache_peer p;
	struct ident k[3];
	uint8_t *blk[3], *huge;
	size_t len[3], lh;
	int i;

	T_ASSERT((c = fresh_cache(&lim)) != NULL);
	cache_set_event_cb(c, ev_cb, NULL);
	for (i = 0; i < 3; i++) {
		T_EQ_INT(key(&k[i], (uint8_t)(0x50 + i)), 0);
		T_ASSERT((blk[i] = make_block(&k[i], 0, 0, NULL, "f", 900,
		    &len[i])) != NULL);
	}
	T_ASSERT(len[0] > 1000 && 2 * len[0] < 2500 && 3 * len[0] > 2500);
	nev = 0;
	for (i = 0; i < 2; i++) {
		T_DO(expect_seen(c, k[i].pub, 0, 1, ANY, ANY, ANY));
		T_EQ_INT(cache_ingest_block(c, k[i].pub, 0, 0, blk[i], len[i]),
		    CACHE_OK);
	}
	/* The third chain pushes out the first (least recently seen). */
	T_DO(expect_seen(c, k[2].pub, 0, 1, ANY, ANY, ANY));
	T_EQ_INT(cache_ingest_block(c, k[2].pub, 0, 0, blk[2], len[2]), CACHE_OK);
	T_EQ_INT(cache_stats(c, &st), CACHE_OK);
	T_EQ_U64(st.peers, 2);
	T_ASSERT(st.bytes <= 2500);
	T_EQ_U64(st.bytes, len[1] + len[2]);
	T_EQ_INT(cache_peer_info(c, k[0].pub, &p), CACHE_ERR_NOT_FOUND);
	T_EQ_INT(count_kind(CACHE_EV_FILE_REMOVED, k[0].pub), 1);
	T_EQ_INT(count_kind(CACHE_EV_PEER_DROPPED, k[0].pub), 1);

	/* Peer 1 is seen again: now peer 2 is the oldest and goes next. */
	T_DO(expect_seen(c, k[1].pub, 0, 1, CACHE_SEEN_EQUAL, ANY, ANY));
	T_DO(expect_seen(c, k[0].pub, 0, 1, ANY, ANY, ANY));
	T_EQ_INT(cache_ingest_block(c, k[0].pub, 0, 0, blk[0], len[0]), CACHE_OK);
	T_EQ_INT(cache_peer_info(c, k[2].pub, &p), CACHE_ERR_NOT_FOUND);
	T_EQ_INT(cache_peer_info(c, k[1].pub, &p), CACHE_OK);
	T_EQ_U64(p.nblocks, 1);
	T_EQ_INT(cache_stats(c, &st), CACHE_OK);
	T_EQ_U64(st.bytes, len[0] + len[1]);

	/* A chain that alone exceeds the limit is refused; nobody is evicted. */
	T_ASSERT((huge = make_block(&k[2], 0, 0, NULL, "h", 2600, &lh)) != NULL);
	nev = 0;
	T_DO(expect_seen(c, k[2].pub, 0, 1, ANY, ANY, ANY));
	T_EQ_INT(cache_ingest_block(c, k[2].pub, 0, 0, huge, lh), CACHE_ERR_FULL);
	T_EQ_INT(cache_stats(c, &st), CACHE_OK);
	T_EQ_U64(st.bytes, len[0] + len[1]);
	T_EQ_U64(st.peers, 3);
	T_EQ_INT(nev, 0);
	free(huge);
	for (i = 0; i < 3; i++)
		free(blk[i]);
	cache_close(c);
	t_rmtree(tmpdir);
}

static void
test_cache_evicts_under_record_limit(void)
{
	/* LimitTotalRecords = 4: two headers + two blocks. */
	struct cache_limits lim = { 0, 0, 0, 4 };
	struct cache *c;
	struct cache_stats st;
	struct cache_peer p;
	struct ident k[3];
	uint8_t *blk[3];
	size_t len[3];
	int i;

	T_ASSERT((c = fresh_cache(&lim)) != NULL);
	for (i = 0; i < 3; i++) {
		T_EQ_INT(key(&k[i], (uint8_t)(0x60 + i)), 0);
		T_ASSERT((blk[i] = make_block(&k[i], 0, 0, NULL, "r", 0,
		    &len[i])) != NULL);
		T_DO(expect_seen(c, k[i].pub, 0, 1, ANY, ANY, ANY));
		T_EQ_INT(cache_ingest_block(c, k[i].pub, 0, 0, blk[i], len[i]),
		    CACHE_OK);
		free(blk[i]);
	}
	T_EQ_INT(cache_stats(c, &st), CACHE_OK);
	T_ASSERT(st.peers + st.blocks <= 4);
	T_EQ_U64(st.peers, 2);
	T_EQ_U64(st.blocks, 2);
	T_EQ_INT(cache_peer_info(c, k[0].pub, &p), CACHE_ERR_NOT_FOUND);
	T_EQ_INT(cache_peer_info(c, k[2].pub, &p), CACHE_OK);
	cache_close(c);
	t_rmtree(tmpdir);
}

struct listing {
	int		 n;
	int		 a;
	int		 b;
	int		 bad;
	const uint8_t	*owner_a;
	const uint8_t	*owner_b;
};

static int
list_cb(void *arg, const uint8_t owner[33], uint64_t version,
    const struct chain_file *f)
{
	struct listing *l = arg;

	l->n++;
	if (memcmp(owner, l->owner_a, 33) == 0) {
		l->a++;
		if (version != 0 || f->name == NULL ||
		    (strcmp(f->name, "pattern 1000.bin") != 0 &&
		    strcmp(f->name, "hello.txt") != 0 &&
		    strcmp(f->name, "big pattern.jpg") != 0))
			l->bad = 1;
		if (f->name != NULL && strcmp(f->name, "hello.txt") == 0 &&
		    (f->size != 15 || f->description == NULL ||
		    strcmp(f->description, "A greeting #peernet #test") != 0 ||
		    strcmp(f->folder, "vectors/shared") != 0 ||
		    f->date_shared != 1672628645))
			l->bad = 2;
	} else if (memcmp(owner, l->owner_b, 33) == 0) {
		l->b++;
		if (version != 3 || f->name == NULL || strcmp(f->name, "b-file") != 0)
			l->bad = 3;
	} else
		l->bad = 4;
	return 0;
}

static void
test_cache_foreach_lists_files_with_their_owner(void)
{
	struct vec v;
	struct cache *c;
	struct ident b;
	struct listing l;
	uint8_t *blk;
	size_t len;

	if (vec_load(&v) != 0)
		T_SKIP("blockchain.json not found");
	T_ASSERT((c = fresh_cache(NULL)) != NULL);
	T_EQ_INT(key(&b, 0x22), 0);
	T_ASSERT((blk = make_block(&b, 3, 0, NULL, "b-file", 5, &len)) != NULL);
	T_DO(expect_seen(c, v.owner, 0, 2, ANY, ANY, ANY));
	T_DO(expect_seen(c, b.pub, 3, 1, ANY, ANY, ANY));
	T_EQ_INT(cache_ingest_block(c, v.owner, 0, 0, v.b0, v.l0), CACHE_OK);
	T_EQ_INT(cache_ingest_block(c, v.owner, 0, 1, v.b1, v.l1), CACHE_OK);
	T_EQ_INT(cache_ingest_block(c, b.pub, 3, 0, blk, len), CACHE_OK);
	memset(&l, 0, sizeof(l));
	l.owner_a = v.owner;
	l.owner_b = b.pub;
	T_EQ_INT(cache_foreach_file(c, list_cb, &l), CACHE_OK);
	T_EQ_INT(l.bad, 0);
	T_EQ_INT(l.n, 4);
	T_EQ_INT(l.a, 3);
	T_EQ_INT(l.b, 1);
	/* Resumed walks: owners in memcmp order, blocks from the number on. */
	{
		int b_after_a = memcmp(b.pub, v.owner, 33) > 0;

		memset(&l, 0, sizeof(l));
		l.owner_a = v.owner;
		l.owner_b = b.pub;
		T_EQ_INT(cache_foreach_file_from(c, v.owner, 0, list_cb, &l), CACHE_OK);
		T_EQ_INT(l.bad, 0);
		T_EQ_INT(l.a, 3);
		T_EQ_INT(l.b, b_after_a);
		memset(&l, 0, sizeof(l));
		l.owner_a = v.owner;
		l.owner_b = b.pub;
		T_EQ_INT(cache_foreach_file_from(c, v.owner, 2, list_cb, &l), CACHE_OK);
		T_EQ_INT(l.a, 0);
		T_EQ_INT(l.b, b_after_a);
		memset(&l, 0, sizeof(l));
		l.owner_a = v.owner;
		l.owner_b = b.pub;
		T_EQ_INT(cache_foreach_file_from(c, b.pub, 0, list_cb, &l), CACHE_OK);
		T_EQ_INT(l.b, 1);
		T_EQ_INT(l.a, b_after_a ? 0 : 3);
	}
	T_EQ_INT(cache_drop_peer(c, b.pub), CACHE_OK);
	T_EQ_INT(cache_drop_peer(c, b.pub), CACHE_ERR_NOT_FOUND);
	memset(&l, 0, sizeof(l));
	l.owner_a = v.owner;
	l.owner_b = b.pub;
	T_EQ_INT(cache_foreach_file(c, list_cb, &l), CACHE_OK);
	T_EQ_INT(l.n, 3);
	T_EQ_INT(l.b, 0);
	free(blk);
	cache_close(c);
	vec_free(&v);
	t_rmtree(tmpdir);
}

/* ---- a chain of ours, compacted --------------------------------------- */

static int
chain_sign(void *arg, const uint8_t hash[32], uint8_t sig[65])
{
	return ident_sign(arg, hash, sig) == 0 ? 0 : -1;
}

/* Fetches [from, to) of the chain into the cache, as netd would; count. */
static int
fetch_into(struct cache *k, struct chain *ch, const uint8_t *owner,
    uint64_t version, uint64_t from, uint64_t to)
{
	uint8_t buf[8192];
	size_t len;
	uint64_t n;
	int rc;

	for (n = from; n < to; n++) {
		if (chain_block(ch, n, buf, sizeof(buf), &len) != CHAIN_OK)
			return -1;
		if ((rc = cache_ingest_block(k, owner, version, n, buf, len)) !=
		    CACHE_OK) {
			fprintf(stderr, "ingest %llu: %s\n", (unsigned long long)n,
			    cache_strerror(rc));
			return -1;
		}
	}
	return (int)(to - from);
}

struct ids {
	uint8_t		 id[64][16];
	int		 n;
};

static int
ids_cb(void *arg, const uint8_t owner[33], uint64_t version,
    const struct chain_file *f)
{
	struct ids *x = arg;

	(void)owner;
	(void)version;
	if (x->n < 64)
		memcpy(x->id[x->n++], f->id, 16);
	return 0;
}

/*
 * The cached copy of one of our chains follows what the owner does: tail
 * packing (a block that was fetched is never rewritten, so the cache only
 * sees new blocks), then a compaction (a new version: the cache drops the
 * old blocks and fetches the packed chain, the same files).
 */
static void
test_cache_follows_a_compacted_chain(void)
{
	struct cache *k;
	struct chain *ch = NULL;
	struct chain_info info;
	struct chain_file f[40];
	struct cache_stats st;
	struct cache_peer p;
	struct ident owner;
	struct ids before, after;
	char name[40][32], err[256], path[160];
	uint64_t from, to, old_height;
	int status, i, done;

	T_ASSERT((k = fresh_cache(NULL)) != NULL);
	cache_set_event_cb(k, ev_cb, NULL);
	T_EQ_INT(key(&owner, 0x5a), 0);
	snprintf(path, sizeof(path), "%s/chain.db", tmpdir);
	T_EQ_INT(chain_open(&ch, path, owner.pub, chain_sign, &owner, err,
	    sizeof(err)), CHAIN_OK);
	memset(f, 0, sizeof(f));
	for (i = 0; i < 40; i++) {
		snprintf(name[i], sizeof(name[i]), "song %02d.mp3", i);
		blake3_hash(name[i], strlen(name[i]), f[i].hash);
		memcpy(f[i].merkle_root, f[i].hash, 32);
		f[i].size = 1000 + (uint64_t)i;
		f[i].name = name[i];
		f[i].folder = "music/album";
	}
	/* 10 files one by one, nobody reading: genesis + one block. */
	for (i = 0; i < 10; i++)
		T_EQ_INT(chain_add_files(ch, &f[i], 1), CHAIN_OK);
	T_EQ_INT(chain_info(ch, &info), CHAIN_OK);
	T_EQ_U64(info.height, 2);
	T_EQ_INT(cache_peer_seen(k, owner.pub, info.version, info.height, &status,
	    &from, &to), CACHE_OK);
	T_EQ_INT(status, CACHE_SEEN_NEW);
	T_EQ_INT(fetch_into(k, ch, owner.pub, info.version, from, to), 2);
	/* 30 more, one by one, a fetch after each: a new block each time. */
	for (i = 10; i < 40; i++) {
		T_EQ_INT(chain_add_files(ch, &f[i], 1), CHAIN_OK);
		T_EQ_INT(chain_info(ch, &info), CHAIN_OK);
		T_EQ_INT(cache_peer_seen(k, owner.pub, info.version, info.height,
		    &status, &from, &to), CACHE_OK);
		T_EQ_INT(status, CACHE_SEEN_NEW_BLOCKS);
		T_EQ_INT(fetch_into(k, ch, owner.pub, info.version, from, to), 1);
	}
	T_EQ_U64(info.height, 32);
	T_EQ_INT(cache_stats(k, &st), CACHE_OK);
	T_EQ_U64(st.blocks, 32);
	T_EQ_U64(st.nfiles, 40);
	before.n = 0;
	T_EQ_INT(cache_foreach_file(k, ids_cb, &before), 0);
	T_EQ_INT(before.n, 40);

	/* The owner compacts: version 1, a few blocks. */
	old_height = info.height;
	T_EQ_INT(chain_compact(ch, &done), CHAIN_OK);
	T_EQ_INT(done, 1);
	T_EQ_INT(chain_info(ch, &info), CHAIN_OK);
	T_EQ_U64(info.version, 1);
	T_ASSERT(info.height < 5 && info.height < old_height);
	nev = 0;
	T_EQ_INT(cache_peer_seen(k, owner.pub, info.version, info.height, &status,
	    &from, &to), CACHE_OK);
	T_EQ_INT(status, CACHE_SEEN_NEW_VERSION);
	T_EQ_U64(from, 0);
	T_EQ_U64(to, info.height);
	T_EQ_INT(count_kind(CACHE_EV_FILE_REMOVED, owner.pub), 40);
	T_EQ_INT(fetch_into(k, ch, owner.pub, info.version, from, to),
	    (int)info.height);
	T_EQ_INT(count_kind(CACHE_EV_FILE_ADDED, owner.pub), 40);
	T_EQ_INT(cache_stats(k, &st), CACHE_OK);
	T_EQ_U64(st.blocks, info.height);
	T_EQ_U64(st.nfiles, 40);
	T_EQ_INT(cache_peer_info(k, owner.pub, &p), CACHE_OK);
	T_EQ_U64(p.version, 1);
	T_EQ_U64(p.nblocks, info.height);
	/* The same files, in the same order. */
	after.n = 0;
	T_EQ_INT(cache_foreach_file(k, ids_cb, &after), 0);
	T_EQ_INT(after.n, 40);
	T_EQ_MEM(after.id, before.id, sizeof(before.id[0]) * 40);
	/* Nothing of version 0 is served from the cache any more. */
	{
		uint8_t buf[8192];
		size_t len;

		T_ASSERT(cache_get_block(k, owner.pub, 0, 5, buf, sizeof(buf),
		    &len) != CACHE_OK);
	}
	chain_close(ch);
	cache_close(k);
	t_rmtree(tmpdir);
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_cache_stores_vector_blocks_for_their_owner);
	T_RUN(test_cache_rejects_block_signed_by_another_key);
	T_RUN(test_cache_rejects_wrong_number_version_link_and_range);
	T_RUN(test_cache_enforces_block_size_and_count_limits);
	T_RUN(test_cache_counts_rejected_blocks_by_kind);
	T_RUN(test_cache_new_version_drops_old_blocks_with_events);
	T_RUN(test_cache_evicts_least_recently_seen_peer_under_byte_limit);
	T_RUN(test_cache_evicts_under_record_limit);
	T_RUN(test_cache_foreach_lists_files_with_their_owner);
	T_RUN(test_cache_follows_a_compacted_chain);
	t_rmtree(tmpdir);
	return t_done();
}
