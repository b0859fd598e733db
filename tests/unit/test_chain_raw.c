/*
 * test_chain_raw.c — chain_append_raw (storaged/chain.c), the web API's
 * /blockchain/append: raw records become one signed block dated now; a
 * file record that does not decode, a profile record without its field
 * number and a block over the size limit are refused with the chain left
 * as it was; a file record never lands in block 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block.h"
#include "chain.h"
#include "ident.h"
#include "t.h"

static char tmpdir[64];
static char dbpath[128];
static struct ident key;

static int64_t
fixed_clock(void *arg)
{
	(void)arg;
	return 1700000000;
}

static int
sign_with(void *arg, const uint8_t hash[32], uint8_t sig[65])
{
	return ident_sign(arg, hash, sig) == 0 ? 0 : -1;
}

static void
cleanup(void)
{
	t_rmtree(tmpdir);
}

static struct chain *
fresh(void)
{
	struct chain *c = NULL;
	uint8_t priv[32];
	char err[256];

	cleanup();
	memset(priv, 0x31, sizeof(priv));
	if (ident_from_priv(&key, priv) != 0 ||
	    t_tmpdir(tmpdir, sizeof(tmpdir), "test_chain_raw") != 0)
		return NULL;
	snprintf(dbpath, sizeof(dbpath), "%s/chain.db", tmpdir);
	if (chain_open(&c, dbpath, key.pub, sign_with, &key, err, sizeof(err)) != 0) {
		fprintf(stderr, "chain_open: %s\n", err);
		return NULL;
	}
	chain_set_clock(c, fixed_clock, NULL);
	return c;
}

static void
test_profile_record_appended_as_one_block(void)
{
	struct chain *c = fresh();
	struct block_record r[2];
	struct chain_info ci;
	uint8_t val[64], raw[4096];
	struct block b;
	size_t len;

	T_ASSERT(c != NULL);
	memset(r, 0, sizeof(r));
	r[0].type = BLOCK_REC_PROFILE;
	r[0].data = (const uint8_t *)"\x02\x00https://example.org";
	r[0].len = 21;
	r[1].type = BLOCK_REC_PROFILE;
	r[1].data = (const uint8_t *)"\x00\x00Ann";
	r[1].len = 5;
	T_EQ_INT(chain_append_raw(c, r, 2), CHAIN_OK);
	T_EQ_INT(chain_info(c, &ci), CHAIN_OK);
	T_EQ_U64(ci.height, 1);
	T_EQ_INT(chain_profile_get(c, 2, val, sizeof(val), &len), CHAIN_OK);
	T_EQ_INT(len, 19);
	T_EQ_MEM(val, "https://example.org", 19);
	T_EQ_INT(chain_block(c, 0, raw, sizeof(raw), &len), CHAIN_OK);
	T_EQ_INT(block_decode(raw, len, &b), BLOCK_OK);
	T_EQ_INT(b.record_count, 2);
	T_EQ_INT(block_verify_owner(raw, len, key.pub), BLOCK_OK);
	chain_close(c);
	cleanup();
}

static void
test_file_record_goes_after_a_genesis_block(void)
{
	struct chain *c = fresh();
	struct chain_file f;
	struct chain_info ci;
	struct block b;
	struct block_iter it;
	struct block_record r, file_rec;
	uint8_t raw[8192], copy[8192];
	size_t len;
	int found = 0;

	T_ASSERT(c != NULL);
	/* A real file record, taken from a block the chain wrote. */
	memset(&f, 0, sizeof(f));
	memset(f.hash, 0x42, 32);
	memset(f.merkle_root, 0x42, 32);
	f.size = 5;
	f.fragment_size = 262144;
	f.name = "raw.txt";
	T_EQ_INT(chain_add_files(c, &f, 1), CHAIN_OK);
	T_EQ_INT(chain_block(c, 1, raw, sizeof(raw), &len), CHAIN_OK);
	T_EQ_INT(block_decode(raw, len, &b), BLOCK_OK);
	block_iter_init(&it, &b);
	while (block_iter_next(&it, &r) == 1)
		if (r.type == BLOCK_REC_FILE) {
			memcpy(copy, r.data, r.len);
			file_rec = r;
			file_rec.data = copy;
			found = 1;
		}
	T_ASSERT(found);
	chain_close(c);

	c = fresh();
	T_ASSERT(c != NULL);
	T_EQ_INT(chain_append_raw(c, &file_rec, 1), CHAIN_OK);
	T_EQ_INT(chain_info(c, &ci), CHAIN_OK);
	T_EQ_U64(ci.height, 2);		/* genesis profile block, then the file */
	T_EQ_U64(ci.nfiles, 1);
	T_EQ_INT(chain_hash_referenced(c, f.hash), 1);
	chain_close(c);
	cleanup();
}

static void
test_refused_records_leave_the_chain_unchanged(void)
{
	struct chain *c = fresh();
	struct block_record r;
	struct chain_info before, after;
	uint8_t *big;

	T_ASSERT(c != NULL);
	memset(&r, 0, sizeof(r));
	r.type = BLOCK_REC_PROFILE;
	r.data = (const uint8_t *)"\x00\x00Ann";
	r.len = 5;
	T_EQ_INT(chain_append_raw(c, &r, 1), CHAIN_OK);
	T_EQ_INT(chain_info(c, &before), CHAIN_OK);
	/* a file record that does not decode */
	r.type = BLOCK_REC_FILE;
	r.data = (const uint8_t *)"\x00\x00\x00";
	r.len = 3;
	T_ASSERT(chain_append_raw(c, &r, 1) != CHAIN_OK);
	/* a profile record without its field number */
	r.type = BLOCK_REC_PROFILE;
	r.len = 1;
	T_EQ_INT(chain_append_raw(c, &r, 1), CHAIN_ERR_ENCODE);
	/* a block peers would refuse (> 50,096 bytes) */
	T_ASSERT((big = calloc(1, 60000)) != NULL);
	r.data = big;
	r.len = 60000;
	T_EQ_INT(chain_append_raw(c, &r, 1), CHAIN_ERR_TOO_LARGE);
	free(big);
	T_EQ_INT(chain_append_raw(c, &r, 0), CHAIN_ERR_ARG);
	T_EQ_INT(chain_info(c, &after), CHAIN_OK);
	T_EQ_U64(after.height, before.height);
	T_EQ_U64(after.version, before.version);
	T_EQ_U64(after.nfiles, 0);
	chain_close(c);
	cleanup();
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_profile_record_appended_as_one_block);
	T_RUN(test_file_record_goes_after_a_genesis_block);
	T_RUN(test_refused_records_leave_the_chain_unchanged);
	return t_done();
}
