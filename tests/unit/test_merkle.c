/*
 * test_merkle.c — merkle trees against the reference's vectors (merkle.json,
 * docs/data.md §10.4), and the builder, export/import and proofs against
 * themselves.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "blake3.h"
#include "hex.h"
#include "merkle.h"
#include "t.h"
#include "tvec.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static void
test_fragment_size_table_matches_reference(void)
{
	json_t *v, *tab, *row;
	size_t i;

	T_VECTORS(v, "merkle.json");
	tab = json_object_get(v, "fragment_size_table");
	T_ASSERT(json_array_size(tab) == 16);
	json_array_foreach(tab, i, row) {
		uint64_t size = tvec_u64(row, "file_size");
		uint64_t want = tvec_u64(row, "fragment_size");
		if (merkle_fragment_size(size) != want) {
			json_decref(v);
			T_FAIL("file size %" PRIu64 ": fragment %" PRIu64 ", expected %" PRIu64,
			    size, merkle_fragment_size(size), want);
		}
	}
	json_decref(v);
	/* The boundaries just past the table's rows. */
	T_EQ_U64(merkle_fragment_size(4294967297ULL), 8388608);
	T_EQ_U64(merkle_fragment_size(UINT64_MAX), 1073741824);
}

static void
test_fragment_count_and_sizes_do_not_overflow(void)
{
	size_t len;
	uint64_t off, flen;

	T_EQ_U64(merkle_fragment_count(0, 262144), 0);
	T_EQ_U64(merkle_fragment_count(1, 262144), 1);
	T_EQ_U64(merkle_fragment_count(262145, 262144), 2);
	T_EQ_U64(merkle_fragment_count(UINT64_MAX, 1073741824), 17179869184ULL);
	T_EQ_U64(merkle_fragment_count(1125899906842625ULL, 1073741824), 1048577);
	T_EQ_U64(merkle_fragment_count(5, 0), 0);
	/* 5 GiB file (> 4 GiB): 8 MiB fragments, 640 of them. */
	T_EQ_U64(merkle_fragment_count(5ULL << 30, merkle_fragment_size(5ULL << 30)), 640);
	T_EQ_INT(merkle_export_size(5ULL << 30, 8388608, &len), MERKLE_OK);
	T_EQ_U64(len, 48 + 32 * (640 + 320 + 160 + 80 + 40 + 20 + 10 + 5 + 3 + 2));
	T_EQ_INT(merkle_fragment_range(5ULL << 30, 8388608, 639, &off, &flen), MERKLE_OK);
	T_EQ_U64(off, 639ULL * 8388608);
	T_EQ_U64(flen, 8388608);
	T_EQ_INT(merkle_fragment_range(5ULL << 30, 8388608, 640, &off, &flen),
	    MERKLE_ERR_INDEX);
	T_EQ_U64(merkle_hash_count(3), 5);
	T_EQ_U64(merkle_hash_count(5), 10);
	T_EQ_U64(merkle_hash_count(1), 0);
	T_EQ_U64(merkle_hash_count(UINT64_MAX), UINT64_MAX);
	T_EQ_INT(merkle_export_size(UINT64_MAX, 1, &len), MERKLE_ERR_TOO_LARGE);
	T_EQ_INT(merkle_export_size(10, 0, &len), MERKLE_ERR_FRAGMENT_SIZE);
}

/* Flips one bit of a fragment copy and checks the verification fails. */
static int
flipped_fragment_fails(const uint8_t *root, uint64_t count, uint64_t idx,
    const uint8_t *frag, size_t flen, const uint8_t *proof, size_t plen)
{
	uint8_t *copy = malloc(flen ? flen : 1);
	int rc;

	memcpy(copy, frag, flen);
	copy[flen / 2] ^= 0x01;
	rc = merkle_verify_fragment(root, count, idx, copy, flen, proof, plen);
	free(copy);
	return rc == MERKLE_ERR_MISMATCH;
}

static void
test_trees_match_reference(void)
{
	json_t *v, *trees, *tr, *arr, *e, *lvl, *vers, *ver;
	size_t i, j, k, n, plen, explen;
	uint8_t *data = NULL, *exp = NULL, *proof = NULL, *want = NULL;
	uint8_t root[32], fh[32], h[32], w[32];
	struct merkle_builder mb;
	struct merkle_tree t;
	uint64_t size, count, off, flen;
	unsigned ntrees = 0, nver = 0;

	T_VECTORS(v, "merkle.json");
	trees = json_object_get(v, "trees");
	T_ASSERT(json_array_size(trees) == 10);
	json_array_foreach(trees, i, tr) {
		const char *name = tvec_str(tr, "name");

		size = tvec_u64(tr, "file_size");
		count = tvec_u64(tr, "fragment_count");
		free(data);
		data = malloc(size ? size : 1);
		tvec_pattern(data, size);
		T_EQ_U64(tvec_u64(tr, "fragment_size"), 262144);
		T_EQ_U64(merkle_fragment_size(size), 262144);
		T_EQ_U64(merkle_fragment_count(size, 262144), count);

		T_EQ_INT(merkle_export_size(size, 262144, &explen), MERKLE_OK);
		T_EQ_U64(explen, tvec_u64(tr, "export_length"));
		free(exp);
		exp = malloc(explen);
		T_EQ_INT(merkle_builder_init(&mb, size, 262144, exp, explen), MERKLE_OK);
		T_EQ_INT(merkle_builder_update(&mb, data, size), MERKLE_OK);
		T_EQ_INT(merkle_builder_final(&mb, root, fh), MERKLE_OK);

		T_ASSERT(tvec_unhex(tvec_str(tr, "file_hash_blake3"), w, 32) == 0);
		T_EQ_MEM(fh, w, 32);
		T_ASSERT(tvec_unhex(tvec_str(tr, "root_hash"), w, 32) == 0);
		if (memcmp(root, w, 32) != 0)
			T_FAIL("%s: root differs", name);
		T_EQ_INT(memcmp(root, fh, 32) == 0,
		    json_is_true(json_object_get(tr, "root_equals_file_hash")));

		/* The export: its hash always, its bytes when given. */
		blake3_hash(exp, explen, h);
		T_ASSERT(tvec_unhex(tvec_str(tr, "export_blake3"), w, 32) == 0);
		if (memcmp(h, w, 32) != 0)
			T_FAIL("%s: export hash differs", name);
		if (json_object_get(tr, "export") != NULL) {
			free(want);
			want = tvec_hex(tr, "export", &n);
			T_ASSERT(want != NULL && n == explen);
			T_EQ_MEM(exp, want, explen);
		}

		/* Import it back; fragment and middle hashes one by one. */
		T_EQ_INT(merkle_import(exp, explen, &t), MERKLE_OK);
		T_EQ_U64(t.file_size, size);
		T_EQ_U64(t.fragment_size, 262144);
		T_EQ_U64(t.fragment_count, count);
		T_EQ_MEM(t.root, root, 32);
		T_EQ_INT(merkle_tree_check(&t), MERKLE_OK);
		arr = json_object_get(tr, "fragment_hashes");
		T_EQ_U64(json_array_size(arr), count > 1 ? count : 0);
		k = 0;
		json_array_foreach(arr, j, e) {
			T_ASSERT(tvec_unhex(json_string_value(e), w, 32) == 0);
			T_EQ_MEM(t.hashes + 32 * k, w, 32);
			T_EQ_INT(merkle_tree_fragment_hash(&t, j, h), MERKLE_OK);
			T_EQ_MEM(h, w, 32);
			k++;
		}
		arr = json_object_get(tr, "middle_hashes_bottom_up");
		json_array_foreach(arr, j, lvl) {
			size_t m;
			json_array_foreach(lvl, m, e) {
				T_ASSERT(tvec_unhex(json_string_value(e), w, 32) == 0);
				if (memcmp(t.hashes + 32 * k, w, 32) != 0)
					T_FAIL("%s: middle level %zu hash %zu differs", name, j, m);
				k++;
			}
		}
		T_EQ_U64(k, t.hash_count);

		vers = json_object_get(tr, "verifications");
		json_array_foreach(vers, j, ver) {
			uint64_t idx = tvec_u64(ver, "fragment");
			size_t np = json_array_size(json_object_get(ver, "verification_hashes"));

			T_EQ_INT(merkle_fragment_range(size, 262144, idx, &off, &flen), MERKLE_OK);
			T_EQ_U64(off, tvec_u64(ver, "fragment_offset"));
			T_EQ_U64(flen, tvec_u64(ver, "fragment_length"));
			blake3_hash(data + off, flen, h);
			T_ASSERT(tvec_unhex(tvec_str(ver, "fragment_hash"), w, 32) == 0);
			T_EQ_MEM(h, w, 32);

			T_EQ_U64(merkle_proof_entries(count, idx), np);
			free(proof);
			proof = malloc(np * 33 + 1);
			T_EQ_INT(merkle_tree_proof(&t, idx, proof, np * 33, &plen), MERKLE_OK);
			T_EQ_U64(plen, np * 33);
			json_array_foreach(json_object_get(ver, "verification_hashes"), k, e) {
				uint8_t ent[33];
				T_ASSERT(hex_decode(ent, 33, json_string_value(e)) == 33);
				if (memcmp(proof + 33 * k, ent, 33) != 0)
					T_FAIL("%s: fragment %" PRIu64 " proof entry %zu differs",
					    name, idx, k);
			}
			T_ASSERT(json_is_true(json_object_get(ver, "reference_verify_ok")));
			T_EQ_INT(merkle_verify(root, h, proof, plen), MERKLE_OK);
			T_EQ_INT(merkle_verify_at(root, count, idx, h, proof, plen), MERKLE_OK);
			T_EQ_INT(merkle_verify_fragment(root, count, idx, data + off, flen,
			    proof, plen), MERKLE_OK);
			T_ASSERT(flipped_fragment_fails(root, count, idx, data + off, flen,
			    proof, plen));
			/* A flipped bit in each proof hash breaks it. */
			for (k = 0; k < np; k++) {
				proof[33 * k + 1 + (k % 32)] ^= 0x80;
				T_EQ_INT(merkle_verify_at(root, count, idx, h, proof, plen),
				    MERKLE_ERR_MISMATCH);
				proof[33 * k + 1 + (k % 32)] ^= 0x80;
			}
			/* A proof with its last entry missing does not verify. */
			T_EQ_INT(merkle_verify(root, h, proof, plen - 33), MERKLE_ERR_MISMATCH);
			T_EQ_INT(merkle_verify_at(root, count, idx, h, proof, plen - 33),
			    MERKLE_ERR_PROOF_SHAPE);
			/* Too small an output buffer. */
			T_EQ_INT(merkle_tree_proof(&t, idx, proof, plen - 1, &plen),
			    MERKLE_ERR_NOSPACE);
			nver++;
		}
		if (count <= 1) {
			/* Empty proof: the fragment hash itself is the root. */
			T_EQ_U64(merkle_proof_entries(count, 0), 0);
			if (count == 1) {
				T_EQ_INT(merkle_tree_proof(&t, 0, NULL, 0, &plen), MERKLE_OK);
				T_EQ_U64(plen, 0);
				T_EQ_INT(merkle_verify_fragment(root, 1, 0, data, size, NULL, 0),
				    MERKLE_OK);
			}
		}
		T_EQ_INT(merkle_tree_proof(&t, count, NULL, 0, &plen), MERKLE_ERR_INDEX);
		ntrees++;
	}
	T_EQ_INT(ntrees, 10);
	T_EQ_INT(nver, 2 + 2 + 4 + 5 + 5 + 5);
	free(data);
	free(exp);
	free(proof);
	free(want);
	json_decref(v);
}

static void
test_streaming_random_chunks_give_same_tree(void)
{
	json_t *v, *trees, *tr;
	size_t i, explen, off, c;
	uint8_t *data, *e1, *e2, r1[32], r2[32], f1[32], f2[32];
	struct merkle_builder mb;
	uint64_t size;
	int round;

	T_VECTORS(v, "merkle.json");
	trees = json_object_get(v, "trees");
	json_array_foreach(trees, i, tr) {
		size = tvec_u64(tr, "file_size");
		data = malloc(size ? size : 1);
		tvec_pattern(data, size);
		merkle_export_size(size, 262144, &explen);
		e1 = malloc(explen);
		e2 = malloc(explen);
		merkle_builder_init(&mb, size, 262144, e1, explen);
		merkle_builder_update(&mb, data, size);
		merkle_builder_final(&mb, r1, f1);
		for (round = 0; round < 3; round++) {
			/* Export-less builder: the constant-memory path. */
			T_EQ_INT(merkle_builder_init(&mb, size, 262144,
			    round == 2 ? e2 : NULL, explen), MERKLE_OK);
			for (off = 0; off < size; off += c) {
				c = round == 0 ? 1 + t_xorshift(&rng_state) % 5000 : 1 + t_xorshift(&rng_state) % 600000;
				if (c > size - off)
					c = size - off;
				T_EQ_INT(merkle_builder_update(&mb, data + off, c), MERKLE_OK);
			}
			T_EQ_INT(merkle_builder_final(&mb, r2, f2), MERKLE_OK);
			T_EQ_MEM(r1, r2, 32);
			T_EQ_MEM(f1, f2, 32);
			if (round == 2)
				T_EQ_MEM(e1, e2, explen);
		}
		free(data);
		free(e1);
		free(e2);
	}
	json_decref(v);
}

/* Plain recursive definition, for cross-checking the builder. */
static void
ref_root(const uint8_t *leaves, uint64_t n, uint8_t out[32])
{
	uint8_t *lvl = malloc(n * 32), *nx, buf[64];
	uint64_t m, j;

	memcpy(lvl, leaves, n * 32);
	while (n > 1) {
		m = (n + 1) / 2;
		nx = malloc(m * 32);
		for (j = 0; j + 1 < n; j += 2) {
			memcpy(buf, lvl + j * 32, 32);
			memcpy(buf + 32, lvl + (j + 1) * 32, 32);
			blake3_hash(buf, 64, nx + j / 2 * 32);
		}
		if (n % 2)
			memcpy(nx + (m - 1) * 32, lvl + (n - 1) * 32, 32);
		free(lvl);
		lvl = nx;
		n = m;
	}
	memcpy(out, lvl, 32);
	free(lvl);
}

/*
 * The builder (file hash and leaves from one blake3_split_hasher pass)
 * against leaves hashed one by one, for sizes at chunk and fragment
 * boundaries with 256 KiB fragments, random feeding, every BLAKE3
 * implementation the CPU has.
 */
static void
test_builder_leaves_at_boundaries_every_impl(void)
{
	static const char *const impls[] = { "portable", "sse41", "avx2", "avx512" };
	const uint64_t F = 262144;
	const uint64_t sizes[] = { 0, 1, 1023, 1024, 1025, F - 1, F, F + 1,
	    F + 1023, F + 1024, F + 1025, 2 * F - 1, 2 * F, 2 * F + 1,
	    3 * F - 1024, 3 * F, 4 * F + 4095, 5 * F - 1 };
	struct merkle_builder mb;
	uint8_t *data, *exp, *leaves, root[32], fh[32], want[32];
	uint64_t size, count, k, flen;
	size_t i, im, explen, off, c;

	data = malloc(5 * F);
	exp = malloc(48 + 32 * 16);
	leaves = malloc(32 * 8);
	T_ASSERT(data != NULL && exp != NULL && leaves != NULL);
	for (i = 0; i < 5 * F; i++)
		data[i] = (uint8_t)(t_xorshift(&rng_state) >> 24);
	for (im = 0; im < sizeof(impls) / sizeof(impls[0]); im++) {
		if (blake3_force_impl(impls[im]) != 0)
			continue;
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			size = sizes[i];
			count = merkle_fragment_count(size, F);
			T_EQ_INT(merkle_export_size(size, F, &explen), MERKLE_OK);
			T_ASSERT(explen <= 48 + 32 * 16);
			T_EQ_INT(merkle_builder_init(&mb, size, F, exp, explen),
			    MERKLE_OK);
			for (off = 0; off < size; off += c) {
				c = 1 + t_xorshift(&rng_state) % (t_xorshift(&rng_state) % 2 ? 3000 : 2 * F);
				if (c > size - off)
					c = size - off;
				T_EQ_INT(merkle_builder_update(&mb, data + off, c),
				    MERKLE_OK);
			}
			T_EQ_INT(merkle_builder_final(&mb, root, fh), MERKLE_OK);
			blake3_hash(data, size, want);
			T_EQ_MEM(fh, want, 32);
			for (k = 0; k < count; k++) {
				flen = size - k * F < F ? size - k * F : F;
				blake3_hash(data + k * F, flen, leaves + k * 32);
				if (count > 1 && memcmp(exp + 48 + k * 32,
				    leaves + k * 32, 32) != 0) {
					blake3_force_impl(NULL);
					T_FAIL("%s, %" PRIu64 " bytes: leaf %" PRIu64,
					    impls[im], size, k);
				}
			}
			if (count == 0)
				blake3_hash("", 0, want);
			else
				ref_root(leaves, count, want);
			if (memcmp(root, want, 32) != 0) {
				blake3_force_impl(NULL);
				T_FAIL("%s, %" PRIu64 " bytes: root", impls[im], size);
			}
		}
	}
	blake3_force_impl(NULL);
	free(data);
	free(exp);
	free(leaves);
}

static void
test_every_shape_up_to_70_fragments_proves_every_fragment(void)
{
	uint8_t data[700], leaves[70 * 32], root[32], r2[32], exp[48 + 32 * 150];
	uint8_t exp2[sizeof(exp)], proof[33 * 8], h[32];
	struct merkle_builder mb;
	struct merkle_tree t;
	uint64_t count, i, j;
	size_t len, plen, explen;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(t_xorshift(&rng_state) >> 11);
	for (count = 2; count <= 70; count++) {
		len = (size_t)(count * 10 - (count % 7));	/* short last fragment */
		for (i = 0; i < count; i++) {
			uint64_t o = i * 10, l = len - o < 10 ? len - o : 10;
			blake3_hash(data + o, l, leaves + i * 32);
		}
		ref_root(leaves, count, r2);
		T_EQ_INT(merkle_export_size(len, 10, &explen), MERKLE_OK);
		T_ASSERT(explen <= sizeof(exp));
		T_EQ_INT(merkle_builder_init(&mb, len, 10, exp, sizeof(exp)), MERKLE_OK);
		T_EQ_INT(merkle_builder_update(&mb, data, len), MERKLE_OK);
		T_EQ_INT(merkle_builder_final(&mb, root, NULL), MERKLE_OK);
		if (memcmp(root, r2, 32) != 0)
			T_FAIL("count %" PRIu64 ": root differs from the recursive definition", count);
		T_EQ_INT(merkle_root(data, len, 10, r2), MERKLE_OK);
		T_EQ_MEM(root, r2, 32);
		T_EQ_INT(merkle_import(exp, explen, &t), MERKLE_OK);
		T_EQ_INT(merkle_tree_check(&t), MERKLE_OK);
		/* The companion a download builds from its leaves is the same. */
		memset(exp2, 0xee, sizeof(exp2));
		T_EQ_INT(merkle_export_from_leaves(len, 10, leaves, count, exp2, explen, r2),
		    MERKLE_OK);
		T_EQ_MEM(exp2, exp, explen);
		T_EQ_MEM(r2, root, 32);
		T_EQ_INT(merkle_export_from_leaves(len, 10, leaves, count - 1, exp2, explen,
		    NULL), MERKLE_ERR_ARG);
		T_EQ_INT(merkle_export_from_leaves(len, 10, leaves, count, exp2, explen - 1,
		    NULL), MERKLE_ERR_NOSPACE);
		for (i = 0; i < count; i++) {
			T_EQ_INT(merkle_tree_proof(&t, i, proof, sizeof(proof), &plen), MERKLE_OK);
			T_EQ_INT(merkle_verify_at(root, count, i, leaves + i * 32, proof, plen),
			    MERKLE_OK);
			/* Fragment j's hash never passes as fragment i. */
			j = (i + 1) % count;
			if (memcmp(leaves + i * 32, leaves + j * 32, 32) != 0)
				T_ASSERT(merkle_verify_at(root, count, i, leaves + j * 32, proof,
				    plen) == MERKLE_ERR_MISMATCH);
			memcpy(h, leaves + i * 32, 32);
			h[0] ^= 1;
			T_EQ_INT(merkle_verify(root, h, proof, plen), MERKLE_ERR_MISMATCH);
		}
	}
}

static void
test_data_md_10_4_fragment_size_4(void)
{
	static const char *leaf_hex[3] = {
		"6298d74d15ea9eb3fc866ac8d97c435be6cea4ef9fbe8b50c105f1c22a71b97f",
		"bca04ca75edc0f6fb344fc7f259ea663efbf2789ae3294106dc3e44e68f63cb2",
		"c66cbbb0ba778ce71f8662a7fd1e3312346b5bda3827739be37589f3cd68e69f",
	};
	uint8_t leaf[3][32], l1[32], root[32], want_root[32], exp[208], want[208];
	uint8_t proof[66], wp[66];
	struct merkle_builder mb;
	struct merkle_tree t;
	size_t explen, plen;
	int i;

	for (i = 0; i < 3; i++)
		T_ASSERT(tvec_unhex(leaf_hex[i], leaf[i], 32) == 0);
	T_ASSERT(tvec_unhex("e89327a532ce16d1af6e6f3e3756bda3c67e66eb1901e620ea4587c029d3a195",
	    l1, 32) == 0);
	T_ASSERT(tvec_unhex("0c0ad3bd212f42e14f93322bb4e0d9b8dcaef862182eb5a75f34bf3a84de595e",
	    want_root, 32) == 0);
	T_EQ_INT(merkle_export_size(10, 4, &explen), MERKLE_OK);
	T_EQ_U64(explen, 208);
	T_EQ_INT(merkle_builder_init(&mb, 10, 4, exp, sizeof(exp)), MERKLE_OK);
	T_EQ_INT(merkle_builder_update(&mb, "0123456789", 10), MERKLE_OK);
	T_EQ_INT(merkle_builder_final(&mb, root, NULL), MERKLE_OK);
	T_EQ_MEM(root, want_root, 32);
	/* 0a.. | 04.. | root leaf0 leaf1 leaf2 L1[0] leaf2 */
	memset(want, 0, 16);
	want[0] = 10;
	want[8] = 4;
	memcpy(want + 16, want_root, 32);
	memcpy(want + 48, leaf[0], 32);
	memcpy(want + 80, leaf[1], 32);
	memcpy(want + 112, leaf[2], 32);
	memcpy(want + 144, l1, 32);
	memcpy(want + 176, leaf[2], 32);
	T_EQ_MEM(exp, want, 208);

	T_EQ_INT(merkle_import(exp, 208, &t), MERKLE_OK);
	/* proof(0) = 01|leaf1, 01|leaf2 */
	wp[0] = 1; memcpy(wp + 1, leaf[1], 32);
	wp[33] = 1; memcpy(wp + 34, leaf[2], 32);
	T_EQ_INT(merkle_tree_proof(&t, 0, proof, sizeof(proof), &plen), MERKLE_OK);
	T_EQ_U64(plen, 66);
	T_EQ_MEM(proof, wp, 66);
	/* proof(1) = 00|leaf0, 01|leaf2 */
	wp[0] = 0; memcpy(wp + 1, leaf[0], 32);
	T_EQ_INT(merkle_tree_proof(&t, 1, proof, sizeof(proof), &plen), MERKLE_OK);
	T_EQ_U64(plen, 66);
	T_EQ_MEM(proof, wp, 66);
	T_EQ_INT(merkle_verify_fragment(root, 3, 1, "4567", 4, proof, plen), MERKLE_OK);
	/* proof(2) = 00|L1[0] */
	wp[0] = 0; memcpy(wp + 1, l1, 32);
	T_EQ_INT(merkle_tree_proof(&t, 2, proof, sizeof(proof), &plen), MERKLE_OK);
	T_EQ_U64(plen, 33);
	T_EQ_MEM(proof, wp, 33);
	T_EQ_INT(merkle_verify_fragment(root, 3, 2, "89", 2, proof, plen), MERKLE_OK);
	T_EQ_INT(merkle_verify_fragment(root, 3, 2, "88", 2, proof, plen),
	    MERKLE_ERR_MISMATCH);
}

static void
test_data_md_10_4_real_fragment_sizes(void)
{
	uint8_t *data, root[32], want[32];
	size_t i, explen;

	data = malloc(1310719);
	for (i = 0; i < 1310719; i++)
		data[i] = (uint8_t)(i % 251);
	T_EQ_INT(merkle_root(data, 1000000, merkle_fragment_size(1000000), root), MERKLE_OK);
	T_ASSERT(tvec_unhex("07f0b59c51dc5edc242d8546005ee5d981490d39ae3a33c5659ec0a7ee1abbf5",
	    want, 32) == 0);
	T_EQ_MEM(root, want, 32);
	T_EQ_INT(merkle_export_size(1000000, 262144, &explen), MERKLE_OK);
	T_EQ_U64(explen, 240);
	T_EQ_INT(merkle_root(data, 1310719, 262144, root), MERKLE_OK);
	T_ASSERT(tvec_unhex("e58d86141b5868321caad00a5581d07579b666f5a947ce902b7467deb6c4c6f7",
	    want, 32) == 0);
	T_EQ_MEM(root, want, 32);
	T_EQ_INT(merkle_export_size(1310719, 262144, &explen), MERKLE_OK);
	T_EQ_U64(explen, 368);
	free(data);
}

static void
test_builder_rejects_too_much_or_too_little_data(void)
{
	struct merkle_builder mb;
	uint8_t root[32], small[47];

	T_EQ_INT(merkle_builder_init(&mb, 10, 0, NULL, 0), MERKLE_ERR_FRAGMENT_SIZE);
	T_EQ_INT(merkle_builder_init(&mb, 10, 4, small, sizeof(small)), MERKLE_ERR_NOSPACE);
	T_EQ_INT(merkle_builder_init(&mb, 10, 4, NULL, 0), MERKLE_OK);
	T_EQ_INT(merkle_builder_update(&mb, "0123456", 7), MERKLE_OK);
	T_EQ_INT(merkle_builder_final(&mb, root, NULL), MERKLE_ERR_INCOMPLETE);
	T_EQ_INT(merkle_builder_update(&mb, "7890", 4), MERKLE_ERR_OVERFLOW);
	T_EQ_INT(merkle_builder_update(&mb, "789", 3), MERKLE_OK);
	T_EQ_INT(merkle_builder_final(&mb, root, NULL), MERKLE_OK);
	T_EQ_INT(merkle_builder_update(&mb, "x", 1), MERKLE_ERR_OVERFLOW);
}

static void
test_import_rejects_bad_exports(void)
{
	uint8_t exp[208], big[48];
	struct merkle_builder mb;
	struct merkle_tree t;
	uint8_t root[32];

	merkle_builder_init(&mb, 10, 4, exp, sizeof(exp));
	merkle_builder_update(&mb, "0123456789", 10);
	merkle_builder_final(&mb, root, NULL);
	T_EQ_INT(merkle_import(exp, 47, &t), MERKLE_ERR_SHORT);
	T_EQ_INT(merkle_import(exp, 207, &t), MERKLE_ERR_SHORT);
	T_EQ_INT(merkle_import(exp, 176, &t), MERKLE_ERR_SHORT);
	T_EQ_INT(merkle_import(exp, 208, &t), MERKLE_OK);
	/* A middle hash, the promoted copy, the root: each caught. */
	exp[150] ^= 1;
	T_EQ_INT(merkle_import(exp, 208, &t), MERKLE_OK);
	T_EQ_INT(merkle_tree_check(&t), MERKLE_ERR_CORRUPT);
	exp[150] ^= 1;
	exp[190] ^= 1;
	T_EQ_INT(merkle_tree_check(&t), MERKLE_ERR_CORRUPT);
	exp[190] ^= 1;
	exp[20] ^= 1;
	T_EQ_INT(merkle_tree_check(&t), MERKLE_ERR_CORRUPT);
	exp[20] ^= 1;
	T_EQ_INT(merkle_tree_check(&t), MERKLE_OK);
	/* Fragment size 0 (the reference divides by it). */
	exp[8] = 0;
	T_EQ_INT(merkle_import(exp, 208, &t), MERKLE_ERR_FRAGMENT_SIZE);
	/* A header claiming 2^64-1 one-byte fragments in 48 bytes. */
	memset(big, 0xff, 16);
	memset(big + 8, 0, 8);
	big[8] = 1;
	T_EQ_INT(merkle_import(big, sizeof(big), &t), MERKLE_ERR_SHORT);
	/* Longer than needed. */
	memset(big, 0, sizeof(big));
	big[0] = 1;
	big[8] = 4;
	T_EQ_INT(merkle_import(big, 48, &t), MERKLE_OK);
	T_EQ_U64(t.fragment_count, 1);
	T_EQ_INT(merkle_import(exp, 208, &t), MERKLE_ERR_FRAGMENT_SIZE);
	exp[8] = 4;
	T_EQ_INT(merkle_import(exp, 208, &t), MERKLE_OK);
	{
		uint8_t longer[209];
		memcpy(longer, exp, 208);
		longer[208] = 0;
		T_EQ_INT(merkle_import(longer, 209, &t), MERKLE_ERR_LONG);
	}
}

static void
test_verify_rejects_malformed_proofs(void)
{
	uint8_t exp[208], root[32], leaf[32], proof[66];
	struct merkle_builder mb;
	struct merkle_tree t;
	size_t plen;

	merkle_builder_init(&mb, 10, 4, exp, sizeof(exp));
	merkle_builder_update(&mb, "0123456789", 10);
	merkle_builder_final(&mb, root, NULL);
	merkle_import(exp, sizeof(exp), &t);
	merkle_tree_fragment_hash(&t, 0, leaf);
	merkle_tree_proof(&t, 0, proof, sizeof(proof), &plen);
	T_EQ_INT(merkle_verify(root, leaf, proof, plen), MERKLE_OK);
	T_EQ_INT(merkle_verify(root, leaf, proof, 65), MERKLE_ERR_PROOF_LENGTH);
	T_EQ_INT(merkle_verify_at(root, 3, 0, leaf, proof, 34), MERKLE_ERR_PROOF_LENGTH);
	T_EQ_INT(merkle_verify_at(root, 3, 3, leaf, proof, plen), MERKLE_ERR_INDEX);
	/* The reference would treat 2 as "right"; we refuse it. */
	proof[33] = 2;
	T_EQ_INT(merkle_verify(root, leaf, proof, plen), MERKLE_ERR_PROOF_DIRECTION);
	T_EQ_INT(merkle_verify_at(root, 3, 0, leaf, proof, plen),
	    MERKLE_ERR_PROOF_DIRECTION);
	proof[33] = 1;
	/* Right hashes, wrong position: fragment 0's proof presented as 1. */
	T_EQ_INT(merkle_verify_at(root, 3, 1, leaf, proof, plen), MERKLE_ERR_PROOF_SHAPE);
	/* The last fragment's proof has one entry, not two. */
	T_EQ_INT(merkle_verify_at(root, 3, 2, leaf, proof, plen), MERKLE_ERR_PROOF_SHAPE);
	/* One fragment: empty proof, and the leaf must be the root. */
	T_EQ_INT(merkle_verify_at(root, 1, 0, root, NULL, 0), MERKLE_OK);
	T_EQ_INT(merkle_verify_at(root, 1, 0, leaf, NULL, 0), MERKLE_ERR_MISMATCH);
	T_EQ_INT(merkle_verify_at(root, 1, 0, root, proof, 33), MERKLE_ERR_PROOF_SHAPE);
	T_EQ_INT(merkle_verify_at(root, 0, 0, root, NULL, 0), MERKLE_ERR_INDEX);
	T_EQ_STR(merkle_strerror(MERKLE_ERR_PROOF_SHAPE),
	    "proof does not fit the fragment position");
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_fragment_size_table_matches_reference);
	T_RUN(test_fragment_count_and_sizes_do_not_overflow);
	T_RUN(test_trees_match_reference);
	T_RUN(test_streaming_random_chunks_give_same_tree);
	T_RUN(test_every_shape_up_to_70_fragments_proves_every_fragment);
	T_RUN(test_builder_leaves_at_boundaries_every_impl);
	T_RUN(test_data_md_10_4_fragment_size_4);
	T_RUN(test_data_md_10_4_real_fragment_sizes);
	T_RUN(test_builder_rejects_too_much_or_too_little_data);
	T_RUN(test_import_rejects_bad_exports);
	T_RUN(test_verify_rejects_malformed_proofs);
	return t_done();
}
