/*
 * test_block.c — blocks and records against the reference's vectors
 * (blockchain.json, docs/data.md §10.2/§10.3), the rejection of malformed
 * blocks, and random round trips.
 */
#include <stdlib.h>
#include <string.h>

#include "blake3.h"
#include "block.h"
#include "hex.h"
#include "ident.h"
#include "merkle.h"
#include "t.h"
#include "tvec.h"

static uint64_t rng_state = 0x853c49e6748fea9bULL;

static int
key_from_vector(json_t *v, struct ident *id)
{
	uint8_t priv[32];
	json_t *owner = json_object_get(v, "owner");

	if (tvec_unhex(tvec_str(owner, "private_key"), priv, 32) != 0)
		return -1;
	return ident_from_priv(id, priv);
}

/*
 * Checks every field of a "decoded" object of blockchain.json against our
 * decoder: header, signature, signed hash, owner, node ID, raw records, the
 * decoded files with their tags, the profile fields, the block hash.
 */
static void
check_decoded(const char *what, const uint8_t *raw, size_t len, json_t *dec)
{
	struct block b;
	struct block_iter it;
	struct block_record rec;
	struct record_file f;
	struct record_file_tag_iter ti;
	struct record_file_tag tag;
	struct record_profile prof;
	uint8_t pub[33], want[65], h[32], nid[32], *wd, *reenc;
	size_t n, nfile = 0, ntag, i;
	uint32_t index;
	json_t *recs, *files, *jf, *jt, *tags, *jr, *pf;
	/* Profile: last occurrence of each field wins; fields sorted by type. */
	struct record_profile last[8];
	int have[8] = { 0 };

	T_EQ_INT(block_verify(raw, len, &b, pub), BLOCK_OK);
	T_ASSERT(tvec_unhex(tvec_str(dec, "signature"), want, 65) == 0);
	T_EQ_MEM(b.signature, want, 65);
	T_EQ_INT(block_signing_hash(raw, len, h), BLOCK_OK);
	T_ASSERT(tvec_unhex(tvec_str(dec, "signed_hash"), want, 32) == 0);
	T_EQ_MEM(h, want, 32);
	T_ASSERT(tvec_unhex(tvec_str(dec, "owner_public_key"), want, 33) == 0);
	if (memcmp(pub, want, 33) != 0)
		T_FAIL("%s: recovered owner differs", what);
	ident_node_id(pub, nid);
	T_ASSERT(tvec_unhex(tvec_str(dec, "node_id"), want, 32) == 0);
	T_EQ_MEM(nid, want, 32);
	T_ASSERT(tvec_unhex(tvec_str(dec, "last_block_hash"), want, 32) == 0);
	T_EQ_MEM(b.prev_hash, want, 32);
	T_EQ_U64(b.version, tvec_u64(dec, "blockchain_version"));
	T_EQ_U64(b.number, tvec_u64(dec, "number"));
	T_EQ_U64(b.size, tvec_u64(dec, "block_size"));
	T_EQ_U64(b.size, len);
	T_EQ_U64(b.record_count, tvec_u64(dec, "record_count"));
	T_EQ_U64(b.records_end, len);
	block_hash(raw, len, h);
	T_ASSERT(tvec_unhex(tvec_str(dec, "block_hash_blake3_of_raw"), want, 32) == 0);
	T_EQ_MEM(h, want, 32);
	T_EQ_INT(block_check_records(&b, 1), BLOCK_OK);

	recs = json_object_get(dec, "records_raw");
	T_EQ_U64(json_array_size(recs), b.record_count);
	files = json_object_get(dec, "files");
	block_iter_init(&it, &b);
	for (index = 0; block_iter_next(&it, &rec) == 1; index++) {
		jr = json_array_get(recs, index);
		T_EQ_INT(rec.type, tvec_u64(jr, "type"));
		T_EQ_INT(rec.date, tvec_u64(jr, "date_unix"));
		T_EQ_U64(rec.len, tvec_u64(jr, "size"));
		wd = tvec_hex(jr, "data", &n);
		T_ASSERT(wd != NULL || n == 0);
		T_EQ_U64(n, rec.len);
		if (memcmp(wd, rec.data, n) != 0) {
			free(wd);
			T_FAIL("%s: record %u data differs", what, index);
		}
		free(wd);
		if (rec.type == BLOCK_REC_PROFILE) {
			T_EQ_INT(record_profile_decode(&rec, &prof), BLOCK_OK);
			T_ASSERT(prof.field < 8);
			last[prof.field] = prof;
			have[prof.field] = 1;
		}
		if (rec.type != BLOCK_REC_FILE)
			continue;
		jf = json_array_get(files, nfile++);
		T_ASSERT(jf != NULL);
		T_EQ_INT(record_file_decode(&b, index, &f), BLOCK_OK);
		T_ASSERT(tvec_unhex(tvec_str(jf, "hash"), want, 32) == 0);
		T_EQ_MEM(f.hash, want, 32);
		T_ASSERT(tvec_uuid(tvec_str(jf, "id"), want) == 0);
		T_EQ_MEM(f.id, want, 16);
		T_ASSERT(tvec_unhex(tvec_str(jf, "merkle_root_hash"), want, 32) == 0);
		T_EQ_MEM(f.merkle_root, want, 32);
		T_EQ_U64(f.fragment_size, tvec_u64(jf, "fragment_size"));
		T_EQ_INT(f.type, tvec_u64(jf, "type"));
		T_EQ_INT(f.format, tvec_u64(jf, "format"));
		T_EQ_U64(f.size, tvec_u64(jf, "size"));
		T_ASSERT(tvec_unhex(tvec_str(jf, "node_id"), want, 32) == 0);
		T_EQ_MEM(nid, want, 32);
		T_EQ_U64(f.trailing, 0);
		T_EQ_INT(f.date_shared, rec.date);

		tags = json_object_get(jf, "tags");
		record_file_tag_iter_init(&ti, &f);
		for (ntag = 0; record_file_tag_next(&ti, &tag) == 1; ntag++) {
			jt = json_array_get(tags, ntag);
			T_ASSERT(jt != NULL);
			T_EQ_INT(tag.type, tvec_u64(jt, "type"));
			T_EQ_INT(tag.is_virtual, json_is_true(json_object_get(jt, "virtual")));
			wd = tvec_hex(jt, "data", &n);
			T_EQ_U64(tag.len, n);
			if (memcmp(wd, tag.data, n) != 0) {
				free(wd);
				T_FAIL("%s: file %zu tag %zu data differs", what, nfile, ntag);
			}
			free(wd);
			if (json_object_get(jt, "text") != NULL) {
				T_EQ_U64(tag.len, strlen(tvec_str(jt, "text")));
				T_EQ_MEM(tag.data, tvec_str(jt, "text"), tag.len);
			}
			if (json_object_get(jt, "date_unix") != NULL) {
				int64_t d;
				T_EQ_INT(record_tag_date(tag.data, tag.len, &d), BLOCK_OK);
				T_EQ_INT(d, tvec_u64(jt, "date_unix"));
			}
		}
		T_EQ_U64(ntag, json_array_size(tags));
		T_EQ_U64(ntag, f.tag_count + 1u);

		/* The record re-encodes exactly as stored. */
		reenc = malloc(rec.len);
		T_EQ_INT(record_file_encode_raw(&f, reenc, rec.len, &n), BLOCK_OK);
		T_EQ_U64(n, rec.len);
		if (memcmp(reenc, rec.data, n) != 0) {
			free(reenc);
			T_FAIL("%s: file record %u does not re-encode", what, index);
		}
		free(reenc);
	}
	T_EQ_U64(index, b.record_count);
	T_EQ_U64(nfile, json_array_size(files));

	pf = json_object_get(dec, "profile_fields_sorted_by_type");
	n = 0;
	for (i = 0; i < 8; i++) {
		if (!have[i])
			continue;
		jt = json_array_get(pf, n++);
		T_ASSERT(jt != NULL);
		T_EQ_INT(last[i].field, tvec_u64(jt, "type"));
		T_EQ_U64(last[i].len, strlen(tvec_str(jt, "text")));
		T_EQ_MEM(last[i].data, tvec_str(jt, "text"), last[i].len);
	}
	T_EQ_U64(n, json_array_size(pf));
}

static uint8_t *
block_raw(json_t *v, size_t i, size_t *len)
{
	return tvec_hex(json_array_get(json_object_get(v, "blocks"), i), "raw", len);
}

static void
test_reference_blocks_decode_to_every_field(void)
{
	json_t *v, *blocks, *bl;
	uint8_t *raw;
	size_t i, len;

	T_VECTORS(v, "blockchain.json");
	blocks = json_object_get(v, "blocks");
	T_EQ_U64(json_array_size(blocks), 2);
	json_array_foreach(blocks, i, bl) {
		raw = tvec_hex(bl, "raw", &len);
		T_ASSERT(raw != NULL);
		check_decoded(tvec_str(bl, "name"), raw, len,
		    json_object_get(bl, "decoded"));
		free(raw);
		if (t_case_failed)
			break;
	}
	json_decref(v);
}

/* Re-encodes a block from its own raw records and signs it with key. */
static int
reencode_from_records(const uint8_t *raw, size_t len, const struct ident *id,
    uint8_t *out, size_t cap, size_t *outlen)
{
	struct block b;
	struct block_iter it;
	struct block_record recs[16];
	size_t n = 0;
	int rc;

	if ((rc = block_decode(raw, len, &b)) != BLOCK_OK)
		return rc;
	block_iter_init(&it, &b);
	while (n < 16 && block_iter_next(&it, &recs[n]) == 1)
		n++;
	if ((rc = block_encode(b.prev_hash, b.version, b.number, recs, n, out, cap,
	    outlen)) != BLOCK_OK)
		return rc;
	return block_sign(out, *outlen, id);
}

static void
test_reference_blocks_reencode_byte_identical(void)
{
	json_t *v;
	struct ident id;
	uint8_t *raw, out[1024], h[32], sig[65];
	size_t i, len, olen;

	T_VECTORS(v, "blockchain.json");
	T_EQ_INT(key_from_vector(v, &id), 0);
	for (i = 0; i < 2; i++) {
		raw = block_raw(v, i, &len);
		T_EQ_INT(reencode_from_records(raw, len, &id, out, sizeof(out), &olen),
		    BLOCK_OK);
		T_EQ_U64(olen, len);
		T_EQ_MEM(out, raw, len);
		/* The split path storaged uses: hash, sign elsewhere, set. */
		memset(out, 0, 65);
		T_EQ_INT(block_signing_hash(out, olen, h), BLOCK_OK);
		T_EQ_INT(ident_sign(&id, h, sig), 0);
		T_EQ_INT(block_set_signature(out, olen, sig), BLOCK_OK);
		T_EQ_MEM(out, raw, len);
		T_EQ_INT(block_verify_owner(out, olen, id.pub), BLOCK_OK);
		/* Too small a buffer. */
		T_EQ_INT(block_encode(NULL, 0, 0, NULL, 0, out, 118, &olen),
		    BLOCK_ERR_NOSPACE);
		T_EQ_U64(olen, 119);
		free(raw);
	}
	json_decref(v);
}

static void
test_reference_blocks_rebuild_from_decoded_files_and_profile(void)
{
	json_t *v;
	struct ident id;
	struct block b;
	struct block_record recs[8];
	struct record_file f;
	struct record_file_tag_iter ti;
	struct record_file_tag tag;
	struct record_file_in fin[2];
	struct record_tag_in tin[2][6];
	uint8_t *raw, out[1024], pbuf[2][64], fbuf[512], prev[32], *big, root[32];
	size_t len, olen, n, nrec, used, plen;
	uint32_t i;
	int k, nf = 0;

	T_VECTORS(v, "blockchain.json");
	T_EQ_INT(key_from_vector(v, &id), 0);

	/* Block 0: profile name + email, then the two files encoded together. */
	raw = block_raw(v, 0, &len);
	T_EQ_INT(block_decode(raw, len, &b), BLOCK_OK);
	T_EQ_INT(record_profile_encode(RECORD_PROFILE_NAME, (const uint8_t *)"Alice", 5,
	    pbuf[0], sizeof(pbuf[0]), &plen), BLOCK_OK);
	recs[0] = (struct block_record){ BLOCK_REC_PROFILE, 1672628645, pbuf[0], (uint32_t)plen };
	T_EQ_INT(record_profile_encode(RECORD_PROFILE_EMAIL,
	    (const uint8_t *)"alice@example.com", 17, pbuf[1], sizeof(pbuf[1]), &plen),
	    BLOCK_OK);
	recs[1] = (struct block_record){ BLOCK_REC_PROFILE, 1672628645, pbuf[1], (uint32_t)plen };
	for (i = 0; i < b.record_count; i++) {
		if (record_file_decode(&b, i, &f) != BLOCK_OK)
			continue;
		memcpy(fin[nf].hash, f.hash, 32);
		memcpy(fin[nf].id, f.id, 16);
		memcpy(fin[nf].merkle_root, f.merkle_root, 32);
		fin[nf].fragment_size = f.fragment_size;
		fin[nf].type = f.type;
		fin[nf].format = f.format;
		fin[nf].size = f.size;
		/* The resolved tags, with the virtual date only for file 2 (as the input had). */
		record_file_tag_iter_init(&ti, &f);
		for (k = 0; record_file_tag_next(&ti, &tag) == 1; ) {
			if (tag.is_virtual && nf == 0)
				continue;
			tin[nf][k++] = (struct record_tag_in){ tag.type, tag.data, tag.len };
		}
		fin[nf].tags = tin[nf];
		fin[nf].ntags = (size_t)k;
		nf++;
	}
	T_EQ_INT(nf, 2);
	T_EQ_U64(record_file_size_in_block(&fin[0]), 13 + 101 + 22 + 20 + 14);
	T_EQ_INT(record_files_encode(fin, 2, 1672628645, recs + 2, 6, &nrec, fbuf,
	    sizeof(fbuf), &used), BLOCK_OK);
	T_EQ_U64(nrec, 3);
	T_EQ_INT(recs[2].type, BLOCK_REC_TAG_DATA);
	T_EQ_INT(block_encode(NULL, 0, 0, recs, 5, out, sizeof(out), &olen), BLOCK_OK);
	T_EQ_INT(block_sign(out, olen, &id), BLOCK_OK);
	T_EQ_U64(olen, len);
	T_EQ_MEM(out, raw, len);
	block_hash(raw, len, prev);
	free(raw);

	/* Block 1: the 5 MiB file, merkle root from merkle.c. */
	raw = block_raw(v, 1, &len);
	big = malloc(5242880);
	tvec_pattern(big, 5242880);
	memset(&fin[0], 0, sizeof(fin[0]));
	blake3_hash(big, 5242880, fin[0].hash);
	T_EQ_INT(merkle_root(big, 5242880, merkle_fragment_size(5242880), root), MERKLE_OK);
	free(big);
	memcpy(fin[0].merkle_root, root, 32);
	T_ASSERT(tvec_uuid("33333333-4444-4555-8666-777777777777", fin[0].id) == 0);
	fin[0].fragment_size = 262144;
	fin[0].type = RECORD_TYPE_PICTURE;
	fin[0].format = RECORD_FORMAT_PICTURE;
	fin[0].size = 5242880;
	tin[0][0] = (struct record_tag_in){ RECORD_TAG_NAME, (const uint8_t *)"big pattern.jpg", 15 };
	tin[0][1] = (struct record_tag_in){ RECORD_TAG_FOLDER, (const uint8_t *)"pictures", 8 };
	fin[0].tags = tin[0];
	fin[0].ntags = 2;
	T_EQ_INT(record_files_encode(fin, 1, 1672632245, recs, 8, &nrec, fbuf,
	    sizeof(fbuf), &used), BLOCK_OK);
	T_EQ_U64(nrec, 1);
	T_EQ_INT(block_encode(prev, 0, 1, recs, nrec, out, sizeof(out), &olen), BLOCK_OK);
	T_EQ_INT(block_sign(out, olen, &id), BLOCK_OK);
	T_EQ_U64(olen, len);
	T_EQ_MEM(out, raw, len);
	(void)n;
	free(raw);
	json_decref(v);
}

static void
test_block1_links_and_strict_validation(void)
{
	json_t *v;
	struct ident id, other;
	struct block_expect e;
	struct block b;
	uint8_t *b0, *b1, prev[32], pub[33], priv2[32];
	size_t l0, l1;

	T_VECTORS(v, "blockchain.json");
	T_EQ_INT(key_from_vector(v, &id), 0);
	b0 = block_raw(v, 0, &l0);
	b1 = block_raw(v, 1, &l1);
	block_hash(b0, l0, prev);
	T_EQ_INT(block_decode(b1, l1, &b), BLOCK_OK);
	T_EQ_MEM(b.prev_hash, prev, 32);

	memset(&e, 0, sizeof(e));
	e.checks = BLOCK_CHECK_ALL;
	e.owner = id.pub;
	e.number = 1;
	e.version = 0;
	e.prev_hash = prev;
	e.max_size = BLOCK_CACHE_MAX_SIZE;
	T_EQ_INT(block_validate(b1, l1, &e, &b, pub), BLOCK_OK);
	T_EQ_MEM(pub, id.pub, 33);
	T_EQ_U64(b.number, 1);
	e.number = 2;
	T_EQ_INT(block_validate(b1, l1, &e, NULL, NULL), BLOCK_ERR_NUMBER);
	e.number = 1;
	e.version = 1;
	T_EQ_INT(block_validate(b1, l1, &e, NULL, NULL), BLOCK_ERR_VERSION);
	e.version = 0;
	e.prev_hash = b0 + 100;
	T_EQ_INT(block_validate(b1, l1, &e, NULL, NULL), BLOCK_ERR_PREV_HASH);
	e.prev_hash = prev;
	e.max_size = l1 - 1;
	T_EQ_INT(block_validate(b1, l1, &e, NULL, NULL), BLOCK_ERR_TOO_LARGE);
	e.max_size = l1;
	T_EQ_INT(block_validate(b1, l1, &e, NULL, NULL), BLOCK_OK);
	memset(priv2, 0x22, sizeof(priv2));
	T_EQ_INT(ident_from_priv(&other, priv2), 0);
	e.owner = other.pub;
	T_EQ_INT(block_validate(b1, l1, &e, NULL, NULL), BLOCK_ERR_OWNER);
	T_EQ_INT(block_verify_owner(b1, l1, other.pub), BLOCK_ERR_OWNER);
	T_EQ_INT(block_verify_owner(b1, l1, id.pub), BLOCK_OK);
	e.owner = NULL;
	T_EQ_INT(block_validate(b1, l1, &e, NULL, NULL), BLOCK_ERR_ARG);
	/* Block 0 links to the zero hash. */
	memset(prev, 0, 32);
	e.owner = id.pub;
	e.number = 0;
	e.max_size = 0;
	T_EQ_INT(block_validate(b0, l0, &e, NULL, NULL), BLOCK_OK);
	free(b0);
	free(b1);
	json_decref(v);
}

static void
test_corrupted_block_recovers_another_owner(void)
{
	json_t *v, *c;
	struct ident id;
	uint8_t *raw, pub[33];
	size_t len;

	T_VECTORS(v, "blockchain.json");
	T_EQ_INT(key_from_vector(v, &id), 0);
	c = json_array_get(json_object_get(v, "corrupted"), 0);
	T_ASSERT(c != NULL);
	raw = tvec_hex(c, "raw", &len);
	check_decoded("corrupted", raw, len, json_object_get(c, "decoded"));
	if (t_case_failed) {
		free(raw);
		json_decref(v);
		return;
	}
	T_EQ_INT(block_verify(raw, len, NULL, pub), BLOCK_OK);
	T_ASSERT(memcmp(pub, id.pub, 33) != 0);
	T_EQ_INT(block_verify_owner(raw, len, id.pub), BLOCK_ERR_OWNER);
	free(raw);
	json_decref(v);
}

static void
test_via_public_api_blocks_decode_and_link(void)
{
	json_t *v, *api, *blocks, *bl;
	struct block_expect e;
	uint8_t *raw, owner[33], prev[32];
	size_t i, len;

	T_VECTORS(v, "blockchain.json");
	api = json_object_get(v, "via_public_api");
	T_ASSERT(tvec_unhex(tvec_str(api, "owner_public_key"), owner, 33) == 0);
	blocks = json_object_get(api, "blocks");
	T_EQ_U64(json_array_size(blocks), tvec_u64(api, "height"));
	memset(prev, 0, sizeof(prev));
	memset(&e, 0, sizeof(e));
	e.checks = BLOCK_CHECK_ALL;
	e.owner = owner;
	e.version = tvec_u64(api, "version");
	json_array_foreach(blocks, i, bl) {
		raw = tvec_hex(bl, "raw", &len);
		check_decoded("via_public_api", raw, len, json_object_get(bl, "decoded"));
		e.number = i;
		e.prev_hash = prev;
		T_EQ_INT(block_validate(raw, len, &e, NULL, NULL), BLOCK_OK);
		block_hash(raw, len, prev);
		free(raw);
		if (t_case_failed)
			break;
	}
	json_decref(v);
}

/* docs/data.md §10.2 and §10.3: blocks built from inputs, key 00 01 .. 1f. */

/* A file of one fragment (its Merkle root is its hash) holding text, with
 * the given ID; -1 if the UUID is bad. */
static int
small_file(struct record_file_in *f, const char *text, const char *uuid)
{
	size_t n = strlen(text);

	blake3_hash(text, n, f->hash);
	memcpy(f->merkle_root, f->hash, 32);
	f->fragment_size = 262144;
	f->size = n;
	return tvec_uuid(uuid, f->id);
}

static void
test_data_md_10_2_and_10_3_blocks_from_inputs(void)
{
	static const char block0_hex[] =
	    "1f1d7d568e143abdd8a60a2b117fef99668cc305083c30661f31e58c3f6cf5260d3cf9831bfd81b117f71b3a06a477a6"
	    "b507f4cd9e482363cd1cc1629ec07950ac00000000000000000000000000000000000000000000000000000000000000"
	    "0000000000000000000000000000000000bb01000004000000f1536500000000070000000000416c6963650164f15365"
	    "000000000b000000646f63732f7368617265640264f153650000000086000000d74981efa70a0c880b8d8c1985d075db"
	    "cbf679b99a5f9914e5aaf96b831a9e2411111111222243338444555555555555d74981efa70a0c880b8d8c1985d075db"
	    "cbf679b99a5f9914e5aaf96b831a9e240000040000000000010a000b000000000000000300000005000000612e747874"
	    "018002000000ffff04000800000000105e5f000000000264f15365000000007800000078b1a9c42250d22edb65e1d76d"
	    "c0b83f664f9463e85a6dc1d58a1c9db9e19f4eaaaaaaaabbbb4ccc8dddeeeeeeeeeeee78b1a9c42250d22edb65e1d76d"
	    "c0b83f664f9463e85a6dc1d58a1c9db9e19f4e0000040000000000010a000b000000000000000200000005000000622e"
	    "747874018002000000feff";
	static const char block1_hex[] =
	    "1fa106d25631f58a9c30aac5f0e063d34f0106d70c3be0cef88871751a724269c855d0eb4ae13059f95cc79b29443216"
	    "5a5a9bfef0d9588684b9988f90c0d08c1d4f1a10cdab66f5ae9cfc131557426ca0ab2f0d3c410848977d1bf2dff43601"
	    "ab00000000000000000100000000000000f400000001000264f15365000000007000000042f1d0a285aebbec81c29b9e"
	    "334aaa322f6f24ac7d5f14c3b89aa50a9bc7b2d10000000000004000800000000000000342f1d0a285aebbec81c29b9e"
	    "334aaa322f6f24ac7d5f14c3b89aa50a9bc7b2d100000400000000000000000500000000000000010000000500000063"
	    "2e62696e";
	struct ident id;
	struct block_record recs[4];
	struct record_file_in fin[2];
	struct record_tag_in t1[3], t2[2], t3[1];
	uint8_t priv[32], want[443], out[512], pbuf[16], fbuf[512], dc[8], h[32];
	size_t i, plen, nrec, used, olen;

	for (i = 0; i < 32; i++)
		priv[i] = (uint8_t)i;
	T_EQ_INT(ident_from_priv(&id, priv), 0);
	T_EQ_INT(record_profile_encode(RECORD_PROFILE_NAME, (const uint8_t *)"Alice", 5,
	    pbuf, sizeof(pbuf), &plen), BLOCK_OK);
	recs[0] = (struct block_record){ BLOCK_REC_PROFILE, 1700000000, pbuf, (uint32_t)plen };

	memset(fin, 0, sizeof(fin));
	T_EQ_INT(small_file(&fin[0], "hello world", "11111111-2222-4333-8444-555555555555"), 0);
	fin[0].type = RECORD_TYPE_TEXT;
	fin[0].format = RECORD_FORMAT_TEXT;
	/* DateCreated 1600000000 as 8 LE bytes. */
	for (i = 0; i < 8; i++)
		dc[i] = (uint8_t)(1600000000ULL >> (8 * i));
	t1[0] = (struct record_tag_in){ RECORD_TAG_NAME, (const uint8_t *)"a.txt", 5 };
	t1[1] = (struct record_tag_in){ RECORD_TAG_FOLDER, (const uint8_t *)"docs/shared", 11 };
	t1[2] = (struct record_tag_in){ RECORD_TAG_DATE_CREATED, dc, 8 };
	fin[0].tags = t1;
	fin[0].ntags = 3;
	T_EQ_INT(small_file(&fin[1], "second file", "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"), 0);
	fin[1].type = RECORD_TYPE_TEXT;
	fin[1].format = RECORD_FORMAT_TEXT;
	t2[0] = (struct record_tag_in){ RECORD_TAG_NAME, (const uint8_t *)"b.txt", 5 };
	t2[1] = (struct record_tag_in){ RECORD_TAG_FOLDER, (const uint8_t *)"docs/shared", 11 };
	fin[1].tags = t2;
	fin[1].ntags = 2;
	T_EQ_INT(record_files_encode(fin, 2, 1700000100, recs + 1, 3, &nrec, fbuf,
	    sizeof(fbuf), &used), BLOCK_OK);
	T_EQ_U64(nrec, 3);
	T_EQ_INT(block_encode(NULL, 0, 0, recs, 4, out, sizeof(out), &olen), BLOCK_OK);
	T_EQ_INT(block_sign(out, olen, &id), BLOCK_OK);
	T_EQ_U64(olen, 443);
	T_ASSERT(hex_decode(want, sizeof(want), block0_hex) == 443);
	T_EQ_MEM(out, want, 443);
	block_hash(out, olen, h);

	memset(fin, 0, sizeof(fin));
	T_EQ_INT(small_file(&fin[0], "third", "00000000-0000-4000-8000-000000000003"), 0);
	t3[0] = (struct record_tag_in){ RECORD_TAG_NAME, (const uint8_t *)"c.bin", 5 };
	fin[0].tags = t3;
	fin[0].ntags = 1;
	T_EQ_INT(record_files_encode(fin, 1, 1700000100, recs, 4, &nrec, fbuf,
	    sizeof(fbuf), &used), BLOCK_OK);
	T_EQ_INT(block_encode(h, 0, 1, recs, nrec, out, sizeof(out), &olen), BLOCK_OK);
	T_EQ_INT(block_sign(out, olen, &id), BLOCK_OK);
	T_EQ_U64(olen, 244);
	T_ASSERT(hex_decode(want, sizeof(want), block1_hex) == 244);
	T_EQ_MEM(out, want, 244);
}

/* The error decode gives for raw cut to len with its size field patched. */
static int
expected_truncation_error(const uint8_t *raw, size_t full, size_t len)
{
	size_t off = BLOCK_HEADER_SIZE;
	uint16_t i, count = (uint16_t)(raw[117] | raw[118] << 8);
	uint32_t dl;

	for (i = 0; i < count; i++) {
		if (off + 13 > len)
			return BLOCK_ERR_RECORD_HEADER;
		dl = (uint32_t)raw[off + 9] | (uint32_t)raw[off + 10] << 8 |
		    (uint32_t)raw[off + 11] << 16 | (uint32_t)raw[off + 12] << 24;
		off += 13;
		if (off + dl > len)
			return BLOCK_ERR_RECORD_DATA;
		off += dl;
	}
	(void)full;
	return BLOCK_OK;
}

static void
test_truncated_blocks_rejected_at_every_length(void)
{
	json_t *v;
	struct block b;
	uint8_t *raw, *cut, pub[33];
	size_t i, len, l;
	int want, nhdr = 0, ndata = 0;

	T_VECTORS(v, "blockchain.json");
	for (i = 0; i < 2; i++) {
		raw = block_raw(v, i, &len);
		cut = malloc(len);
		for (l = 0; l < len; l++) {
			memcpy(cut, raw, l);
			want = l < BLOCK_HEADER_SIZE ? BLOCK_ERR_SHORT : BLOCK_ERR_SIZE_FIELD;
			if (block_decode(cut, l, &b) != want)
				T_FAIL("block %zu cut to %zu: %d, expected %d", i, l,
				    block_decode(cut, l, &b), want);
			T_EQ_INT(block_verify(cut, l, NULL, pub), want);
			if (l < BLOCK_HEADER_SIZE)
				continue;
			/* Size field made to match: the records must catch it. */
			cut[113] = (uint8_t)l;
			cut[114] = (uint8_t)(l >> 8);
			cut[115] = cut[116] = 0;
			want = expected_truncation_error(raw, len, l);
			T_ASSERT(want != BLOCK_OK);
			nhdr += want == BLOCK_ERR_RECORD_HEADER;
			ndata += want == BLOCK_ERR_RECORD_DATA;
			if (block_decode(cut, l, &b) != want)
				T_FAIL("block %zu cut to %zu with size fixed: %d, expected %d",
				    i, l, block_decode(cut, l, &b), want);
		}
		T_EQ_INT(block_decode(raw, len, &b), BLOCK_OK);
		free(cut);
		free(raw);
	}
	T_ASSERT(nhdr > 10 && ndata > 100);
	json_decref(v);
}

/* Builds, signs and returns a block of recs (owner key id). */
static size_t
make_block(const struct ident *id, const struct block_record *recs, size_t n,
    uint8_t *out, size_t cap)
{
	size_t len = 0;

	if (block_encode(NULL, 0, 0, recs, n, out, cap, &len) != BLOCK_OK ||
	    block_sign(out, len, id) != BLOCK_OK)
		return 0;
	return len;
}

static void
test_bad_counts_and_record_lengths_have_distinct_errors(void)
{
	json_t *v;
	struct ident id;
	struct block b;
	struct block_expect e;
	uint8_t *raw, buf[1024], pub[33];
	size_t len;

	T_VECTORS(v, "blockchain.json");
	T_EQ_INT(key_from_vector(v, &id), 0);
	raw = block_raw(v, 0, &len);
	memcpy(buf, raw, len);

	/* One record more than present: the next header is missing. */
	buf[117] = 6;
	T_EQ_INT(block_decode(buf, len, &b), BLOCK_ERR_RECORD_HEADER);
	/* 65535 records claimed. */
	buf[117] = buf[118] = 0xff;
	T_EQ_INT(block_decode(buf, len, &b), BLOCK_ERR_RECORD_HEADER);
	/* One record less: decodes (reference), strict validation refuses. */
	buf[117] = 4;
	buf[118] = 0;
	T_EQ_INT(block_decode(buf, len, &b), BLOCK_OK);
	T_ASSERT(b.records_end < len);
	T_EQ_INT(block_sign(buf, len, &id), BLOCK_OK);
	T_EQ_INT(block_verify_owner(buf, len, id.pub), BLOCK_OK);
	memset(&e, 0, sizeof(e));
	e.checks = BLOCK_CHECK_TRAILING;
	T_EQ_INT(block_validate(buf, len, &e, NULL, NULL), BLOCK_ERR_TRAILING);
	memcpy(buf, raw, len);
	/* First record's length 0xffffffff, and one byte too long. */
	memset(buf + 119 + 9, 0xff, 4);
	T_EQ_INT(block_decode(buf, len, &b), BLOCK_ERR_RECORD_DATA);
	memcpy(buf, raw, len);
	buf[119 + 9] = (uint8_t)(len - 119 - 13 + 1);
	buf[119 + 10] = (uint8_t)((len - 119 - 13 + 1) >> 8);
	T_EQ_INT(block_decode(buf, len, &b), BLOCK_ERR_RECORD_DATA);
	/* Size field off by one either way; and a length beyond 4 GiB. */
	memcpy(buf, raw, len);
	buf[113]++;
	T_EQ_INT(block_decode(buf, len, &b), BLOCK_ERR_SIZE_FIELD);
	buf[113] -= 2;
	T_EQ_INT(block_decode(buf, len, &b), BLOCK_ERR_SIZE_FIELD);
	/* A zero signature recovers nothing. */
	memcpy(buf, raw, len);
	memset(buf, 0, 65);
	T_EQ_INT(block_verify(buf, len, NULL, pub), BLOCK_ERR_SIGNATURE);
	buf[0] = 31;
	T_EQ_INT(block_verify(buf, len, NULL, pub), BLOCK_ERR_SIGNATURE);
	T_EQ_INT(block_decode(NULL, 0, &b), BLOCK_ERR_ARG);
	free(raw);
	json_decref(v);
}

/* File record bytes with the given tags (raw type, raw data). */
static size_t
file_rec(uint8_t *out, int ntags, const uint16_t *types, const char **datas,
    const size_t *lens)
{
	size_t off = 101;
	int i;

	memset(out, 0x5a, 99);
	out[99] = (uint8_t)ntags;
	out[100] = 0;
	for (i = 0; i < ntags; i++) {
		out[off] = (uint8_t)types[i];
		out[off + 1] = (uint8_t)(types[i] >> 8);
		out[off + 2] = (uint8_t)lens[i];
		out[off + 3] = (uint8_t)(lens[i] >> 8);
		out[off + 4] = out[off + 5] = 0;
		memcpy(out + off + 6, datas[i], lens[i]);
		off += 6 + lens[i];
	}
	return off;
}

static void
test_file_and_profile_record_errors_are_distinct(void)
{
	static const struct {
		uint16_t	 type;
		const char	*data;
		size_t		 len;
		int		 want;
	} cases[] = {
		{ RECORD_TAG_NAME, "x.bin", 5, BLOCK_OK },
		{ RECORD_TAG_FOLDER | RECORD_TAG_REF_BIT, "\xff\xff", 2, BLOCK_OK },
		{ RECORD_TAG_FOLDER | RECORD_TAG_REF_BIT, "\xff\xff\xff\xff", 4, BLOCK_OK },
		{ RECORD_TAG_FOLDER | RECORD_TAG_REF_BIT,
		    "\xff\xff\xff\xff\xff\xff\xff\xff", 8, BLOCK_OK },
		{ RECORD_TAG_FOLDER | RECORD_TAG_REF_BIT, "\xff\xff\xff", 3, BLOCK_ERR_REF_WIDTH },
		{ RECORD_TAG_FOLDER | RECORD_TAG_REF_BIT, "", 0, BLOCK_ERR_REF_WIDTH },
		{ RECORD_TAG_FOLDER | RECORD_TAG_REF_BIT, "\xfd\xff", 2, BLOCK_ERR_REF_RANGE },
		{ RECORD_TAG_FOLDER | RECORD_TAG_REF_BIT, "\x01\x00", 2, BLOCK_ERR_REF_RANGE },
		{ RECORD_TAG_FOLDER | RECORD_TAG_REF_BIT, "\x00\x00", 2, BLOCK_ERR_REF_TYPE },
		{ RECORD_TAG_FOLDER | RECORD_TAG_REF_BIT, "\xfe\xff", 2, BLOCK_ERR_REF_TYPE },
		{ RECORD_TAG_FOLDER | RECORD_TAG_REF_BIT,
		    "\x00\x00\x00\x00\x00\x00\x00\x80", 8, BLOCK_ERR_REF_RANGE },
		{ RECORD_TAG_FOLDER | RECORD_TAG_REF_BIT,
		    "\xff\xff\xff\xff\xff\xff\xff\x7f", 8, BLOCK_ERR_REF_RANGE },
	};
	struct ident id;
	struct block b;
	struct block_expect e;
	struct block_record recs[3];
	struct record_file f;
	struct record_file_tag tag;
	uint8_t blk[1024], fr[256];
	size_t i, len, flen;
	const char *d;
	uint16_t ty;
	uint8_t priv[32];

	memset(priv, 0x11, sizeof(priv));
	T_EQ_INT(ident_from_priv(&id, priv), 0);
	/* recs: [profile, tagdata, file] */
	recs[0] = (struct block_record){ BLOCK_REC_PROFILE, 1, (const uint8_t *)"\x00\x00N", 3 };
	recs[1] = (struct block_record){ BLOCK_REC_TAG_DATA, 1, (const uint8_t *)"dir/sub", 7 };
	memset(&e, 0, sizeof(e));
	e.checks = BLOCK_CHECK_RECORDS | BLOCK_CHECK_OWNER;
	e.owner = id.pub;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ty = cases[i].type;
		d = cases[i].data;
		flen = file_rec(fr, 1, &ty, &d, &cases[i].len);
		recs[2] = (struct block_record){ BLOCK_REC_FILE, 9, fr, (uint32_t)flen };
		T_ASSERT((len = make_block(&id, recs, 3, blk, sizeof(blk))) > 0);
		T_EQ_INT(block_decode(blk, len, &b), BLOCK_OK);
		if (record_file_decode(&b, 2, &f) != cases[i].want)
			T_FAIL("case %zu: %d (%s), expected %d", i, record_file_decode(&b, 2, &f),
			    block_strerror(record_file_decode(&b, 2, &f)), cases[i].want);
		T_EQ_INT(block_check_records(&b, 0), cases[i].want);
		T_EQ_INT(block_validate(blk, len, &e, NULL, NULL), cases[i].want);
		if (cases[i].want == BLOCK_OK && (ty & RECORD_TAG_REF_BIT)) {
			T_EQ_INT(record_file_tag_get(&f, RECORD_TAG_FOLDER, &tag), BLOCK_OK);
			T_ASSERT(tag.is_ref && tag.ref_distance == -1);
			T_EQ_U64(tag.len, 7);
			T_EQ_MEM(tag.data, "dir/sub", 7);
			T_EQ_U64(tag.raw_len, cases[i].len);
		}
	}

	/* Structure of the file record itself. */
	flen = file_rec(fr, 0, NULL, NULL, NULL);
	recs[2] = (struct block_record){ BLOCK_REC_FILE, 9, fr, 100 };
	len = make_block(&id, recs, 3, blk, sizeof(blk));
	block_decode(blk, len, &b);
	T_EQ_INT(record_file_decode(&b, 2, &f), BLOCK_ERR_FILE_SHORT);
	T_EQ_INT(block_validate(blk, len, &e, NULL, NULL), BLOCK_ERR_FILE_SHORT);
	fr[99] = 1;	/* one tag claimed, none present */
	recs[2].len = 101;
	len = make_block(&id, recs, 3, blk, sizeof(blk));
	block_decode(blk, len, &b);
	T_EQ_INT(record_file_decode(&b, 2, &f), BLOCK_ERR_TAG_HEADER);
	recs[2].len = 106;	/* 5 of the 6 header bytes */
	len = make_block(&id, recs, 3, blk, sizeof(blk));
	block_decode(blk, len, &b);
	T_EQ_INT(record_file_decode(&b, 2, &f), BLOCK_ERR_TAG_HEADER);
	ty = 0;
	d = "abc";
	{
		size_t l3 = 3;
		flen = file_rec(fr, 1, &ty, &d, &l3);
	}
	recs[2].len = (uint32_t)flen - 1;
	len = make_block(&id, recs, 3, blk, sizeof(blk));
	block_decode(blk, len, &b);
	T_EQ_INT(record_file_decode(&b, 2, &f), BLOCK_ERR_TAG_DATA);
	/* Trailing bytes after the last tag: accepted, strict refuses. */
	recs[2].len = (uint32_t)flen + 1;
	fr[flen] = 0;
	len = make_block(&id, recs, 3, blk, sizeof(blk));
	block_decode(blk, len, &b);
	T_EQ_INT(record_file_decode(&b, 2, &f), BLOCK_OK);
	T_EQ_U64(f.trailing, 1);
	T_EQ_INT(block_check_records(&b, 0), BLOCK_OK);
	T_EQ_INT(block_check_records(&b, 1), BLOCK_ERR_FILE_TRAILING);
	T_EQ_INT(record_file_decode(&b, 0, &f), BLOCK_ERR_NOT_FILE);
	T_EQ_INT(record_file_decode(&b, 3, &f), BLOCK_ERR_INDEX);
	/* Profile record of 1 byte. */
	recs[2].len = (uint32_t)flen;
	recs[0].len = 1;
	len = make_block(&id, recs, 3, blk, sizeof(blk));
	block_decode(blk, len, &b);
	T_EQ_INT(block_check_records(&b, 0), BLOCK_ERR_PROFILE_SHORT);
	T_EQ_INT(block_validate(blk, len, &e, NULL, NULL), BLOCK_ERR_PROFILE_SHORT);
	T_EQ_INT(record_profile_decode(&recs[1], &(struct record_profile){ 0 }),
	    BLOCK_ERR_NOT_PROFILE);
}

static void
test_encoder_limits_and_bad_input(void)
{
	struct block_record *many, big[2], recs[4];
	struct record_file_in fin;
	struct record_tag_in tin[2];
	uint8_t buf[512];
	size_t size, nrec, used;
	int64_t d;
	uint64_t u;

	many = calloc(65536, sizeof(*many));
	T_EQ_INT(block_encoded_size(many, 65535, &size), BLOCK_OK);
	T_EQ_U64(size, 119 + 65535ULL * 13);
	T_EQ_INT(block_encoded_size(many, 65536, &size), BLOCK_ERR_TOO_MANY_RECORDS);
	free(many);
	big[0] = (struct block_record){ 1, 0, buf, 0x80000000u };
	big[1] = (struct block_record){ 1, 0, buf, 0x80000000u };
	T_EQ_INT(block_encoded_size(big, 2, &size), BLOCK_ERR_RECORD_TOO_LARGE);
	recs[0] = (struct block_record){ 1, 0, NULL, 3 };
	T_EQ_INT(block_encode(NULL, 0, 0, recs, 1, buf, sizeof(buf), &size), BLOCK_ERR_ARG);

	memset(&fin, 0, sizeof(fin));
	tin[0] = (struct record_tag_in){ 0x8001, (const uint8_t *)"abc", 3 };
	fin.tags = tin;
	fin.ntags = 1;
	T_EQ_INT(record_files_encode(&fin, 1, 0, recs, 4, &nrec, buf, sizeof(buf), &used),
	    BLOCK_ERR_TAG_TYPE);
	tin[0].type = RECORD_TAG_NAME;
	T_EQ_INT(record_files_encode(&fin, 1, 0, recs, 0, &nrec, buf, sizeof(buf), &used),
	    BLOCK_ERR_NOSPACE);
	T_EQ_U64(nrec, 1);
	T_EQ_INT(record_files_encode(&fin, 1, 0, recs, 4, &nrec, buf, 100, &used),
	    BLOCK_ERR_NOSPACE);
	T_EQ_U64(used, 110);
	T_EQ_INT(record_files_encode(&fin, 1, 0, recs, 4, &nrec, buf, 110, &used), BLOCK_OK);
	T_EQ_U64(record_file_size_in_block(&fin), 13 + 110);
	T_EQ_INT(record_profile_encode(0, (const uint8_t *)"abc", 3, buf, 4, &used),
	    BLOCK_ERR_NOSPACE);
	T_EQ_INT(record_tag_date((const uint8_t *)"1234567", 7, &d), BLOCK_ERR_TAG_FORMAT);
	T_EQ_INT(record_tag_u64((const uint8_t *)"\x05\0\0\0\0\0\0\0", 8, &u), BLOCK_OK);
	T_EQ_U64(u, 5);
}

static void
test_virtual_tags_take_part_in_dedup_like_the_reference(void)
{
	struct record_file_in fin[2];
	struct record_tag_in t[2][2];
	struct block_record recs[4];
	uint8_t buf[512], date[8] = { 0xa5, 0x49, 0xb2, 0x63, 0, 0, 0, 0 };
	size_t nrec, used;

	memset(fin, 0, sizeof(fin));
	t[0][0] = (struct record_tag_in){ RECORD_TAG_NAME, (const uint8_t *)"one.txt", 7 };
	t[0][1] = (struct record_tag_in){ RECORD_TAG_DATE_SHARED, date, 8 };
	t[1][0] = (struct record_tag_in){ RECORD_TAG_NAME, (const uint8_t *)"two.txt", 7 };
	t[1][1] = (struct record_tag_in){ RECORD_TAG_DATE_SHARED, date, 8 };
	fin[0].tags = t[0];
	fin[1].tags = t[1];
	fin[0].ntags = fin[1].ntags = 2;
	T_EQ_INT(record_files_encode(fin, 2, 7, recs, 4, &nrec, buf, sizeof(buf), &used),
	    BLOCK_OK);
	/* An orphan TagData record with the date (docs/data.md Appendix B.7). */
	T_EQ_U64(nrec, 3);
	T_EQ_INT(recs[0].type, BLOCK_REC_TAG_DATA);
	T_EQ_U64(recs[0].len, 8);
	T_EQ_MEM(recs[0].data, date, 8);
	/* The virtual tags are not written; one stored tag each. */
	T_EQ_U64(recs[1].len, 101 + 6 + 7);
	T_EQ_INT(recs[1].data[99], 1);
	T_EQ_U64(used, 2 * (101 + 6 + 7));
}

/* Random tag data from a small pool, so duplicates are common. */
static const char *const pool[] = {
	"", "a", "abcd", "abcde", "music/rock", "music/rock", "photos", "hello.txt",
	"\x00\x01\x02\x03\x04\x05", "a longer description #tag", "docs",
};

static void
test_random_file_records_and_blocks_round_trip(void)
{
	struct ident id;
	struct record_file_in fin[6];
	struct record_tag_in tin[6][8];
	struct block_record recs[64], got;
	struct block b;
	struct block_iter it;
	struct record_file f;
	struct record_file_tag_iter ti;
	struct record_file_tag tag;
	uint8_t priv[32], fbuf[4096], blk[8192], re[8192], one[1024];
	size_t nf, i, j, k, nrec, used, len, rlen, nprof, n, want_dups;
	uint32_t idx;
	int round;

	memset(priv, 0x33, sizeof(priv));
	T_EQ_INT(ident_from_priv(&id, priv), 0);
	for (round = 0; round < 300; round++) {
		nf = 1 + t_xorshift(&rng_state) % 6;
		nprof = t_xorshift(&rng_state) % 3;
		for (i = 0; i < nprof; i++)
			recs[i] = (struct block_record){ BLOCK_REC_PROFILE, (int64_t)(t_xorshift(&rng_state) % 2000000000),
			    (const uint8_t *)"\x01\x00x@y", 5 };
		for (i = 0; i < nf; i++) {
			for (j = 0; j < 32; j++) {
				fin[i].hash[j] = (uint8_t)t_xorshift(&rng_state);
				fin[i].merkle_root[j] = (uint8_t)t_xorshift(&rng_state);
			}
			for (j = 0; j < 16; j++)
				fin[i].id[j] = (uint8_t)t_xorshift(&rng_state);
			fin[i].fragment_size = t_xorshift(&rng_state);
			fin[i].type = (uint8_t)t_xorshift(&rng_state);
			fin[i].format = (uint16_t)t_xorshift(&rng_state);
			fin[i].size = t_xorshift(&rng_state);
			fin[i].ntags = t_xorshift(&rng_state) % 8;
			for (j = 0; j < fin[i].ntags; j++) {
				const char *s = pool[t_xorshift(&rng_state) % (sizeof(pool) / sizeof(pool[0]))];
				size_t l = s == pool[8] ? 6 : strlen(s);
				tin[i][j] = (struct record_tag_in){ (uint16_t)(t_xorshift(&rng_state) % 12), (const uint8_t *)s, l };
			}
			fin[i].tags = tin[i];
		}
		/* Expected TagData records: data > 4 bytes occurring twice or more. */
		want_dups = 0;
		for (i = 0; i < nf; i++)
			for (j = 0; j < fin[i].ntags; j++) {
				size_t seen = 0, a, c;
				if (tin[i][j].len < 5)
					continue;
				for (a = 0; a < nf; a++)
					for (c = 0; c < fin[a].ntags; c++)
						if ((a < i || (a == i && c < j)) &&
						    tin[a][c].len == tin[i][j].len &&
						    memcmp(tin[a][c].data, tin[i][j].data, tin[i][j].len) == 0)
							seen++;
				want_dups += seen == 1;
			}
		T_EQ_INT(record_files_encode(fin, nf, 1700000000 + round, recs + nprof,
		    64 - nprof, &nrec, fbuf, sizeof(fbuf), &used), BLOCK_OK);
		T_EQ_U64(nrec, want_dups + nf);
		len = make_block(&id, recs, nprof + nrec, blk, sizeof(blk));
		T_ASSERT(len > 0);
		T_EQ_INT(block_verify_owner(blk, len, id.pub), BLOCK_OK);
		T_EQ_INT(block_decode(blk, len, &b), BLOCK_OK);
		T_EQ_INT(block_check_records(&b, 1), BLOCK_OK);

		/* Every file decodes back to its input, stored tags in order. */
		n = 0;
		block_iter_init(&it, &b);
		for (idx = 0; block_iter_next(&it, &got) == 1; idx++) {
			if (got.type != BLOCK_REC_FILE)
				continue;
			T_EQ_INT(record_file_decode(&b, idx, &f), BLOCK_OK);
			T_EQ_MEM(f.hash, fin[n].hash, 32);
			T_EQ_MEM(f.id, fin[n].id, 16);
			T_EQ_MEM(f.merkle_root, fin[n].merkle_root, 32);
			T_EQ_U64(f.fragment_size, fin[n].fragment_size);
			T_EQ_INT(f.type, fin[n].type);
			T_EQ_INT(f.format, fin[n].format);
			T_EQ_U64(f.size, fin[n].size);
			T_EQ_INT(f.date_shared, 1700000000 + round);
			record_file_tag_iter_init(&ti, &f);
			for (k = 0; k < fin[n].ntags; k++) {
				if (record_tag_is_virtual(tin[n][k].type))
					continue;
				T_EQ_INT(record_file_tag_next(&ti, &tag), 1);
				T_EQ_INT(tag.type, tin[n][k].type);
				T_EQ_U64(tag.len, tin[n][k].len);
				T_EQ_MEM(tag.data, tin[n][k].data, tag.len);
				T_ASSERT(!tag.is_ref || tag.len >= 5);
			}
			T_EQ_INT(record_file_tag_next(&ti, &tag), 1);
			T_ASSERT(tag.is_virtual && tag.type == RECORD_TAG_DATE_SHARED);
			T_EQ_INT(record_file_tag_next(&ti, &tag), 0);
			T_EQ_U64(record_file_size_in_block(&fin[n]) >= got.len + 13, 1);
			T_EQ_INT(record_file_encode_raw(&f, one, sizeof(one), &rlen), BLOCK_OK);
			T_EQ_U64(rlen, got.len);
			T_EQ_MEM(one, got.data, rlen);
			n++;
		}
		T_EQ_U64(n, nf);
		/* And the block re-encodes from its records. */
		T_EQ_INT(reencode_from_records(blk, len, &id, re, sizeof(re), &rlen), BLOCK_OK);
		T_EQ_U64(rlen, len);
		T_EQ_MEM(re, blk, len);
	}
}

static void
test_record_index_and_iteration_bounds(void)
{
	struct ident id;
	struct block b;
	struct block_record recs[2], r;
	struct block_iter it;
	uint8_t priv[32], blk[256];
	size_t len;

	memset(priv, 0x44, sizeof(priv));
	T_EQ_INT(ident_from_priv(&id, priv), 0);
	recs[0] = (struct block_record){ 4, -1, (const uint8_t *)"", 0 };
	recs[1] = (struct block_record){ 200, INT64_MAX, (const uint8_t *)"xyz", 3 };
	len = make_block(&id, recs, 2, blk, sizeof(blk));
	T_EQ_U64(len, 119 + 13 + 13 + 3);
	T_EQ_INT(block_decode(blk, len, &b), BLOCK_OK);
	T_EQ_INT(block_record_at(&b, 1, &r), BLOCK_OK);
	T_EQ_INT(r.type, 200);
	T_EQ_INT(r.date, INT64_MAX);
	T_EQ_MEM(r.data, "xyz", 3);
	T_EQ_INT(block_record_at(&b, 0, &r), BLOCK_OK);
	T_EQ_INT(r.date, -1);
	T_EQ_U64(r.len, 0);
	T_EQ_INT(block_record_at(&b, 2, &r), BLOCK_ERR_INDEX);
	block_iter_init(&it, &b);
	T_EQ_INT(block_iter_next(&it, &r), 1);
	T_EQ_INT(block_iter_next(&it, &r), 1);
	T_EQ_INT(block_iter_next(&it, &r), 0);
	T_EQ_INT(block_check_records(&b, 1), BLOCK_OK);
	/* Block 0 links to nothing, whatever previous hash is passed. */
	T_EQ_INT(block_encode(blk + 200, 0, 0, recs, 2, blk, sizeof(blk), &len), BLOCK_OK);
	T_ASSERT(memcmp(blk + 65, (uint8_t[32]){ 0 }, 32) == 0);
	T_EQ_INT(block_encode(blk + 200, 0, 1, recs, 2, blk, sizeof(blk), &len), BLOCK_OK);
	T_EQ_MEM(blk + 65, blk + 200, 32);
	/* An empty block (no records) is 119 bytes. */
	len = make_block(&id, NULL, 0, blk, sizeof(blk));
	T_EQ_U64(len, 119);
	T_EQ_INT(block_verify_owner(blk, len, id.pub), BLOCK_OK);
}

static void
test_every_error_has_its_own_message(void)
{
	int i, j;

	for (i = 0; i >= BLOCK_ERR_FILE_TRAILING; i--) {
		T_ASSERT(strcmp(block_strerror(i), "unknown block error") != 0);
		for (j = 0; j > i; j--)
			if (strcmp(block_strerror(i), block_strerror(j)) == 0)
				T_FAIL("errors %d and %d share a message", i, j);
	}
	T_EQ_STR(block_strerror(-1000), "unknown block error");
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_reference_blocks_decode_to_every_field);
	T_RUN(test_reference_blocks_reencode_byte_identical);
	T_RUN(test_reference_blocks_rebuild_from_decoded_files_and_profile);
	T_RUN(test_block1_links_and_strict_validation);
	T_RUN(test_corrupted_block_recovers_another_owner);
	T_RUN(test_via_public_api_blocks_decode_and_link);
	T_RUN(test_data_md_10_2_and_10_3_blocks_from_inputs);
	T_RUN(test_truncated_blocks_rejected_at_every_length);
	T_RUN(test_bad_counts_and_record_lengths_have_distinct_errors);
	T_RUN(test_file_and_profile_record_errors_are_distinct);
	T_RUN(test_encoder_limits_and_bad_input);
	T_RUN(test_virtual_tags_take_part_in_dedup_like_the_reference);
	T_RUN(test_random_file_records_and_blocks_round_trip);
	T_RUN(test_record_index_and_iteration_bounds);
	T_RUN(test_every_error_has_its_own_message);
	return t_done();
}
