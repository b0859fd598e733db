/*
 * test_blake3.c — BLAKE3 against the Go reference's vectors, the official
 * BLAKE3 test vectors, the b3sum CLI, and itself (streaming vs one-shot, every
 * implementation the CPU supports vs the portable one).
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blake3.h"
#include "blake3_impl.h"
#include "hex.h"
#include "t.h"
#include "tvec.h"

/*
 * From test_vectors/test_vectors.json of the official BLAKE3 repository
 * (BLAKE3-team/BLAKE3): input byte i = i mod 251, default hash mode.  The
 * first 32 bytes of each extended output, and all 131 bytes for a few.
 */
static const struct {
	size_t		 len;
	const char	*hash;
} official[] = {
	{ 0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262" },
	{ 1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213" },
	{ 1023, "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11" },
	{ 1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7" },
	{ 1025, "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444" },
	{ 2048, "e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a" },
	{ 2049, "5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030" },
	{ 3072, "b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd2" },
	{ 3073, "7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3" },
	{ 4096, "015094013f57a5277b59d8475c0501042c0b642e531b0a1c8f58d2163229e969" },
	{ 4097, "9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb995" },
	{ 5120, "9cadc15fed8b5d854562b26a9536d9707cadeda9b143978f319ab34230535833" },
	{ 5121, "628bd2cb2004694adaab7bbd778a25df25c47b9d4155a55f8fbd79f2fe154cff" },
	{ 6144, "3e2e5b74e048f3add6d21faab3f83aa44d3b2278afb83b80b3c35164ebeca205" },
	{ 6145, "f1323a8631446cc50536a9f705ee5cb619424d46887f3c376c695b70e0f0507f" },
	{ 7168, "61da957ec2499a95d6b8023e2b0e604ec7f6b50e80a9678b89d2628e99ada77a" },
	{ 7169, "a003fc7a51754a9b3c7fae0367ab3d782dccf28855a03d435f8cfe74605e7817" },
	{ 8192, "aae792484c8efe4f19e2ca7d371d8c467ffb10748d8a5a1ae579948f718a2a63" },
	{ 8193, "bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3b" },
	{ 16384, "f875d6646de28985646f34ee13be9a576fd515f76b5b0a26bb324735041ddde4" },
	{ 31744, "62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47" },
	{ 102400, "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085" },
};

static const struct {
	size_t		 len;
	const char	*xof131;
} official_xof[] = {
	{ 1,
	    "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213c3a6cb8bf623e20cdb535f8d"
	    "1a5ffb86342d9c0b64aca3bce1d31f60adfa137b358ad4d79f97b47c3d5e79f179df87a3b9776ef8325f8329"
	    "886ba42f07fb138bb502f4081cbcec3195c5871e6c23e2cc97d3c69a613eba131e5f1351f3f1da786545e5" },
	{ 1025,
	    "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444f4c4a22b4b399155358a994e"
	    "52bf255de60035742ec71bd08ac275a1b51cc6bfe332b0ef84b409108cda080e6269ed4b3e2c3f7d722aa4cd"
	    "c98d16deb554e5627be8f955c98e1d5f9565a9194cad0c4285f93700062d9595adb992ae68ff12800ab67a" },
	{ 8193,
	    "bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3bb2282aa69be089359ea1154b"
	    "9a9286c4a56af4de975a9aa4a5c497654914d279bea60bb6d2cf7225a2fa0ff5ef56bbe4b149f3ed15860f78"
	    "b4e2ad04e158e375c1e0c0b551cd7dfc82f1b155c11b6b3ed51ec9edb30d133653bb5709d1dbd55f4e1ff6" },
	{ 102400,
	    "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085e01c59dab908c04c3342b816"
	    "941a26d69c2605ebee5ec5291cc55e15b76146e6745f0601156c3596cb75065a9c57f35585a52e1ac70f6913"
	    "1c23d611ce11ee4ab1ec2c009012d236648e77be9295dd0426f29b764d65de58eb7d01dd42248204f45f8e" },
};

static const char *const impls[] = { "portable", "sse41", "avx2", "avx512" };
#define NIMPLS	(sizeof(impls) / sizeof(impls[0]))

/* xorshift64* (t_rnd): deterministic, so a failure reproduces. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static void
fill_official(uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(i % 251);
}

static uint8_t *
xmalloc(size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	if (p == NULL) {
		perror("malloc");
		exit(2);
	}
	return p;
}

static void
unhex(uint8_t *out, size_t n, const char *hex)
{
	if (strlen(hex) != 2 * n || hex_decode(out, n, hex) != (long)n) {
		fprintf(stderr, "bad hex in test table: %s\n", hex);
		exit(2);
	}
}

/* Forces impls[i]; 0 if the CPU (and build) support it. */
static int
use_impl(size_t i)
{
	return blake3_force_impl(impls[i]);
}

static void
test_blake3_matches_go_reference_vectors(void)
{
	json_t *root, *vecs, *v;
	uint8_t want[BLAKE3_OUT_LEN], got[BLAKE3_OUT_LEN], *in;
	const char *pat, *name;
	size_t i, k, len, n, nimpl = 0;

	root = tvec_load("blake3.json");
	if (root == NULL)
		T_FAIL("blake3.json not found");
	vecs = json_object_get(root, "vectors");
	T_ASSERT(json_array_size(vecs) >= 10);
	for (k = 0; k < NIMPLS; k++) {
		if (use_impl(k) != 0)
			continue;
		nimpl++;
		json_array_foreach(vecs, i, v) {
			name = tvec_str(v, "name");
			len = (size_t)tvec_u64(v, "length");
			pat = tvec_str(v, "input_pattern");
			if (pat != NULL) {
				in = xmalloc(len);
				if (strcmp(pat, "peernet") == 0)
					tvec_pattern(in, len);
				else if (strcmp(pat, "blake3_official") == 0)
					fill_official(in, len);
				else {
					free(in);
					blake3_force_impl(NULL);
					json_decref(root);
					T_FAIL("%s: unknown pattern %s", name, pat);
				}
			} else {
				in = tvec_hex(v, "input_hex", &n);
				if (in == NULL || n != len) {
					free(in);
					blake3_force_impl(NULL);
					json_decref(root);
					T_FAIL("%s: bad input_hex", name);
				}
			}
			if (tvec_hex_exact(v, "hash", want, sizeof(want)) != 0) {
				free(in);
				blake3_force_impl(NULL);
				json_decref(root);
				T_FAIL("%s: bad hash field", name);
			}
			blake3_hash(in, len, got);
			free(in);
			if (memcmp(got, want, sizeof(want)) != 0) {
				blake3_force_impl(NULL);
				json_decref(root);
				T_FAIL("%s (%zu bytes, %s): %s", name, len,
				    impls[k], t_memdiff(got, want, sizeof(want)));
			}
		}
	}
	blake3_force_impl(NULL);
	json_decref(root);
	T_ASSERT(nimpl >= 1);
}

static void
test_blake3_official_vectors_default_hash(void)
{
	uint8_t *in, want[BLAKE3_OUT_LEN], got[BLAKE3_OUT_LEN];
	size_t i, k, max = 0;

	for (i = 0; i < sizeof(official) / sizeof(official[0]); i++)
		if (official[i].len > max)
			max = official[i].len;
	in = xmalloc(max);
	fill_official(in, max);
	for (k = 0; k < NIMPLS; k++) {
		if (use_impl(k) != 0)
			continue;
		for (i = 0; i < sizeof(official) / sizeof(official[0]); i++) {
			unhex(want, sizeof(want), official[i].hash);
			blake3_hash(in, official[i].len, got);
			if (memcmp(got, want, sizeof(want)) != 0) {
				free(in);
				blake3_force_impl(NULL);
				T_FAIL("len %zu (%s): %s", official[i].len,
				    impls[k], t_memdiff(got, want, sizeof(want)));
			}
		}
	}
	free(in);
	blake3_force_impl(NULL);
}

static void
test_blake3_official_vectors_extended_output(void)
{
	uint8_t *in, want[131], got[131 + 1];
	blake3_hasher h;
	size_t i, k, n;

	in = xmalloc(102400);
	fill_official(in, 102400);
	for (k = 0; k < NIMPLS; k++) {
		if (use_impl(k) != 0)
			continue;
		for (i = 0; i < sizeof(official_xof) / sizeof(official_xof[0]);
		    i++) {
			unhex(want, sizeof(want), official_xof[i].xof131);
			blake3_hasher_init(&h);
			blake3_hasher_update(&h, in, official_xof[i].len);
			/* Every shorter output is a prefix of the longer one. */
			for (n = 0; n <= 131; n += (n < 70 ? 1 : 13)) {
				memset(got, 0xa5, sizeof(got));
				blake3_hasher_finalize(&h, got, n);
				if (memcmp(got, want, n) != 0 || got[n] != 0xa5) {
					free(in);
					blake3_force_impl(NULL);
					T_FAIL("len %zu, %zu output bytes (%s): "
					    "%s", official_xof[i].len, n,
					    impls[k], t_memdiff(got, want, n));
				}
			}
			blake3_hasher_finalize(&h, got, 131);
			if (memcmp(got, want, 131) != 0) {
				free(in);
				blake3_force_impl(NULL);
				T_FAIL("len %zu, 131 bytes (%s): %s",
				    official_xof[i].len, impls[k],
				    t_memdiff(got, want, 131));
			}
		}
	}
	free(in);
	blake3_force_impl(NULL);
}

static void
test_blake3_streaming_random_splits_match_one_shot(void)
{
	static const size_t sizes[] = { 0, 1, 63, 64, 65, 1023, 1024, 1025,
	    2048, 4097, 16384, 33 * 1024 + 7, 64 * 1024, 100000, 300001 };
	uint8_t *in, want[BLAKE3_OUT_LEN], got[BLAKE3_OUT_LEN];
	blake3_hasher h;
	size_t s, k, r, off, step, len;

	in = xmalloc(300001);
	t_rnd_hi(t_rnd, &rng_state, in, 300001);
	for (k = 0; k < NIMPLS; k++) {
		if (use_impl(k) != 0)
			continue;
		for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			len = sizes[s];
			blake3_hash(in, len, want);
			for (r = 0; r < 12; r++) {
				blake3_hasher_init(&h);
				for (off = 0; off < len; off += step) {
					/* Mix tiny, block- and chunk-sized steps. */
					switch (t_rnd(&rng_state) % 4) {
					case 0:
						step = t_rnd(&rng_state) % 3;
						break;
					case 1:
						step = t_rnd(&rng_state) % 130;
						break;
					case 2:
						step = t_rnd(&rng_state) % 2100;
						break;
					default:
						step = t_rnd(&rng_state) % 70000;
						break;
					}
					if (step > len - off)
						step = len - off;
					blake3_hasher_update(&h, in + off, step);
				}
				blake3_hasher_finalize(&h, got, sizeof(got));
				if (memcmp(got, want, sizeof(got)) != 0) {
					free(in);
					blake3_force_impl(NULL);
					T_FAIL("len %zu round %zu (%s): %s", len,
					    r, impls[k],
					    t_memdiff(got, want, sizeof(got)));
				}
			}
		}
	}
	free(in);
	blake3_force_impl(NULL);
}

static void
test_blake3_finalize_leaves_hasher_usable(void)
{
	uint8_t in[5000], want[BLAKE3_OUT_LEN], got[BLAKE3_OUT_LEN];
	uint8_t first[BLAKE3_OUT_LEN];
	blake3_hasher h;

	t_rnd_hi(t_rnd, &rng_state, in, sizeof(in));
	blake3_hasher_init(&h);
	blake3_hasher_update(&h, in, 3000);
	blake3_hasher_finalize(&h, first, sizeof(first));
	blake3_hasher_update(&h, in + 3000, sizeof(in) - 3000);
	blake3_hasher_finalize(&h, got, sizeof(got));
	blake3_hash(in, sizeof(in), want);
	T_EQ_MEM(got, want, sizeof(want));
	blake3_hash(in, 3000, want);
	T_EQ_MEM(first, want, sizeof(want));
}

static void
test_blake3_every_supported_impl_matches_portable(void)
{
	uint8_t *in, want[200], got[200];
	size_t k, len, nimpl = 0, max = 70 * 1024 + 1;
	int t;

	in = xmalloc(max);
	t_rnd_hi(t_rnd, &rng_state, in, max);
	for (k = 1; k < NIMPLS; k++) {
		if (use_impl(k) != 0)
			continue;
		nimpl++;
		/* Every chunk count up to 70 at a few offsets in the chunk. */
		for (t = 0; t < 70 * 5; t++) {
			static const size_t tail[] = { 0, 1, 64, 1000, 1023 };
			blake3_hasher h;

			len = (size_t)(t / 5) * BLAKE3_CHUNK_LEN + tail[t % 5];
			if (len > max)
				len = max;
			use_impl(0);
			blake3_hasher_init(&h);
			blake3_hasher_update(&h, in, len);
			blake3_hasher_finalize(&h, want, sizeof(want));
			use_impl(k);
			blake3_hasher_init(&h);
			blake3_hasher_update(&h, in, len);
			blake3_hasher_finalize(&h, got, sizeof(got));
			if (memcmp(got, want, sizeof(got)) != 0) {
				free(in);
				blake3_force_impl(NULL);
				T_FAIL("len %zu: %s differs from portable: %s",
				    len, impls[k],
				    t_memdiff(got, want, sizeof(got)));
			}
		}
	}
	free(in);
	blake3_force_impl(NULL);
	if (nimpl == 0)
		T_SKIP("this CPU supports no SIMD implementation");
}

/*
 * The chunk counter's high word only changes after 4 TiB of input, so the
 * SIMD code's carry into it is checked directly on hash_many.
 */
static void
test_blake3_hash_many_carries_counter_into_high_word(void)
{
#ifdef BLAKE3_NO_SIMD
	T_SKIP("built without SIMD");
#else
	static blake3_hash_many_fn *const fns[] = { blake3_hash_many_portable,
	    blake3_hash_many_sse41, blake3_hash_many_avx2,
	    blake3_hash_many_avx512 };
	/* Up to 33: two full groups of 16 and every leftover count. */
	static uint8_t in[33 * BLAKE3_CHUNK_LEN], want[33 * 32], got[33 * 32];
	const uint8_t *ptrs[33];
	size_t i, k, n, nimpl = 0;
	uint64_t ctr;

	t_rnd_hi(t_rnd, &rng_state, in, sizeof(in));
	for (i = 0; i < 33; i++)
		ptrs[i] = in + i * BLAKE3_CHUNK_LEN;
	for (k = 1; k < NIMPLS; k++) {
		if (use_impl(k) != 0)
			continue;
		nimpl++;
		for (n = 1; n <= 33; n++) {
			ctr = 0xfffffffcULL + n % 5;
			blake3_hash_many_portable(ptrs, n, 16, blake3_iv, ctr,
			    1, 0, BLAKE3_CHUNK_START, BLAKE3_CHUNK_END, want);
			fns[k](ptrs, n, 16, blake3_iv, ctr, 1, 0,
			    BLAKE3_CHUNK_START, BLAKE3_CHUNK_END, got);
			if (memcmp(got, want, 32 * n) != 0) {
				blake3_force_impl(NULL);
				T_FAIL("%zu inputs from counter %#llx (%s): %s",
				    n, (unsigned long long)ctr, impls[k],
				    t_memdiff(got, want, 32 * n));
			}
			/* Parent nodes: one block each, the same counter. */
			blake3_hash_many_portable(ptrs, n, 1, blake3_iv, ctr,
			    0, BLAKE3_PARENT, 0, 0, want);
			fns[k](ptrs, n, 1, blake3_iv, ctr, 0, BLAKE3_PARENT,
			    0, 0, got);
			if (memcmp(got, want, 32 * n) != 0) {
				blake3_force_impl(NULL);
				T_FAIL("%zu parents (%s): %s", n, impls[k],
				    t_memdiff(got, want, 32 * n));
			}
		}
	}
	blake3_force_impl(NULL);
	if (nimpl == 0)
		T_SKIP("this CPU supports no SIMD implementation");
#endif
}

static void
test_blake3_force_impl_rejects_unknown_name(void)
{
	char before[16];

	snprintf(before, sizeof(before), "%s", blake3_impl_name());
	T_EQ_INT(blake3_force_impl("sse5"), -1);
	T_EQ_INT(blake3_force_impl(""), -1);
	T_EQ_STR(blake3_impl_name(), before);
	T_EQ_INT(blake3_force_impl("portable"), 0);
	T_EQ_STR(blake3_impl_name(), "portable");
	T_EQ_INT(blake3_force_impl(NULL), 0);
	T_EQ_STR(blake3_impl_name(), before);
}

/* b3sum of n bytes (written to a file in dir) as hex into out; -1 on error. */
static int
b3sum_bytes(const char *dir, const uint8_t *buf, size_t n, char *out,
    size_t outsz)
{
	char path[256], cmd[512];
	FILE *f, *p;
	size_t len;
	int ok;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/piece", dir);
	if ((f = fopen(path, "wb")) == NULL)
		return -1;
	ok = fwrite(buf, 1, n, f) == n;
	ok = fclose(f) == 0 && ok;
	snprintf(cmd, sizeof(cmd), "b3sum --no-names '%s'", path);
	if (ok && (p = popen(cmd, "r")) != NULL) {
		if (fgets(out, (int)outsz, p) == NULL)
			out[0] = '\0';
		ok = pclose(p) == 0;
	} else
		ok = 0;
	unlink(path);
	len = strlen(out);
	while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r'))
		out[--len] = '\0';
	return ok ? 0 : -1;
}

static void
test_blake3_matches_b3sum_cli_on_random_files(void)
{
	static const size_t fixed[] = { 0, 1024, 1025, 3 * 1024 * 1024 };
	char dir[64], cli[200];
	char ours[2 * BLAKE3_OUT_LEN + 1];
	uint8_t *buf, h[BLAKE3_OUT_LEN];
	size_t i, len, max = 4 * 1024 * 1024;
	int rc;

	if (system("command -v b3sum >/dev/null 2>&1") != 0)
		T_SKIP("b3sum is not installed (Debian package b3sum)");
	if (t_tmpdir(dir, sizeof(dir), "peernet-b3") != 0)
		T_FAIL("mkdtemp: %s", strerror(errno));
	buf = xmalloc(max);
	for (i = 0; i < 10; i++) {
		len = i < 4 ? fixed[i] : (size_t)(t_rnd(&rng_state) % max);
		t_rnd_hi(t_rnd, &rng_state, buf, len);
		blake3_hash(buf, len, h);
		hex_encode(ours, h, sizeof(h));
		rc = b3sum_bytes(dir, buf, len, cli, sizeof(cli));
		if (rc != 0 || strcmp(cli, ours) != 0) {
			free(buf);
			rmdir(dir);
			T_FAIL("%zu bytes: b3sum says \"%s\"%s, we say %s", len,
			    cli, rc != 0 ? " (or failed)" : "", ours);
		}
	}
	free(buf);
	rmdir(dir);
}

/*
 * A textbook BLAKE3 tree over n whole chunks (n a power of two) whose first
 * chunk has counter `counter`: the chaining value of that subtree, or with
 * root set its hash (the same last compression plus the ROOT flag).
 */
static void
ref_node(const uint8_t *p, uint64_t n, uint64_t counter, int root,
    uint8_t out[BLAKE3_OUT_LEN])
{
	uint8_t block[BLAKE3_BLOCK_LEN];
	uint32_t cv[8];
	uint8_t f;
	int b, i;

	memcpy(cv, blake3_iv, sizeof(cv));
	if (n == 1) {
		for (b = 0; b < 16; b++) {
			f = (b == 0 ? BLAKE3_CHUNK_START : 0) |
			    (b == 15 ? BLAKE3_CHUNK_END | (root ? BLAKE3_ROOT : 0) : 0);
			blake3_compress_in_place_portable(cv, p + 64 * b, 64,
			    counter, f);
		}
	} else {
		ref_node(p, n / 2, counter, 0, block);
		ref_node(p + n / 2 * BLAKE3_CHUNK_LEN, n / 2, counter + n / 2, 0,
		    block + 32);
		blake3_compress_in_place_portable(cv, block, 64, 0,
		    BLAKE3_PARENT | (root ? BLAKE3_ROOT : 0));
	}
	for (i = 0; i < 8; i++)
		blake3_store32(out + 4 * i, cv[i]);
}

/*
 * The fact blake3_split_hasher rests on, checked against b3sum: in a file
 * of 4 fragments of 256 KiB, each fragment is a node of the file's BLAKE3
 * tree, but only fragment 0's node, with the ROOT flag, is the fragment's
 * own hash (its merkle leaf): the others' chunks carry their absolute
 * positions as counters, a fragment hashed alone starts at counter 0.
 */
static void
test_blake3_only_fragment_zero_leaf_is_a_node_of_the_file_tree(void)
{
	const uint64_t frag = 256 * 1024, nch = frag / BLAKE3_CHUNK_LEN;
	char dir[64], cli[200];
	char hex[2 * BLAKE3_OUT_LEN + 1];
	uint8_t *buf, node[32], rel[32], h[32];
	uint8_t block[BLAKE3_BLOCK_LEN];
	uint32_t cv[8];
	uint64_t i;
	int w;

	if (system("command -v b3sum >/dev/null 2>&1") != 0)
		T_SKIP("b3sum is not installed (Debian package b3sum)");
	if (t_tmpdir(dir, sizeof(dir), "peernet-b3") != 0)
		T_FAIL("mkdtemp: %s", strerror(errno));
	buf = xmalloc(4 * frag);
	t_rnd_hi(t_rnd, &rng_state, buf, 4 * frag);
	/* The textbook tree is BLAKE3: its root is b3sum's file hash. */
	ref_node(buf, 2 * nch, 0, 0, block);
	ref_node(buf + 2 * frag, 2 * nch, 2 * nch, 0, block + 32);
	memcpy(cv, blake3_iv, sizeof(cv));
	blake3_compress_in_place_portable(cv, block, 64, 0,
	    BLAKE3_PARENT | BLAKE3_ROOT);
	for (w = 0; w < 8; w++)
		blake3_store32(h + 4 * w, cv[w]);
	hex_encode(hex, h, sizeof(h));
	if (b3sum_bytes(dir, buf, 4 * frag, cli, sizeof(cli)) != 0 ||
	    strcmp(cli, hex) != 0) {
		free(buf);
		rmdir(dir);
		T_FAIL("textbook tree %s, b3sum \"%s\"", hex, cli);
	}
	for (i = 0; i < 4; i++) {
		/* Fragment i's node of the file tree, ROOT flag set. */
		ref_node(buf + i * frag, nch, i * nch, 1, node);
		/* The same bytes as a tree of their own. */
		ref_node(buf + i * frag, nch, 0, 1, rel);
		hex_encode(hex, rel, sizeof(rel));
		if (b3sum_bytes(dir, buf + i * frag, frag, cli, sizeof(cli)) != 0 ||
		    strcmp(cli, hex) != 0) {
			free(buf);
			rmdir(dir);
			T_FAIL("fragment %" PRIu64 ": b3sum \"%s\", ours %s", i,
			    cli, hex);
		}
		if ((memcmp(node, rel, 32) == 0) != (i == 0)) {
			free(buf);
			rmdir(dir);
			T_FAIL("fragment %" PRIu64 ": file-tree node %s the leaf",
			    i, i == 0 ? "differs from" : "equals");
		}
	}
	free(buf);
	rmdir(dir);
}

struct leaves {
	uint8_t		 h[64][BLAKE3_OUT_LEN];
	uint64_t	 n;
	int		 order_bad;
	uint64_t	 on_helper;	/* leaves reported on another thread */
};

static pthread_t main_thread;

static void
leaves_add(void *arg, uint64_t index, const uint8_t hash[BLAKE3_OUT_LEN])
{
	struct leaves *lv = arg;

	if (index != lv->n || lv->n >= 64) {
		lv->order_bad = 1;
		return;
	}
	memcpy(lv->h[lv->n++], hash, BLAKE3_OUT_LEN);
	if (!pthread_equal(pthread_self(), main_thread))
		lv->on_helper++;
}

/* Feeds buf in random pieces; 0 if file hash and leaves are blake3 of the bytes. */
static int
split_check(const uint8_t *buf, size_t len, uint64_t frag, struct leaves *lv,
    uint8_t whole[BLAKE3_OUT_LEN], char *why, size_t whylen)
{
	blake3_split_hasher sh;
	uint8_t want[BLAKE3_OUT_LEN];
	size_t off, n;
	uint64_t i, count, flen;

	memset(lv, 0, sizeof(*lv));
	if (blake3_split_init(&sh, frag) != 0) {
		snprintf(why, whylen, "init refused %" PRIu64, frag);
		return -1;
	}
	for (off = 0; off < len; off += n) {
		n = (size_t)(t_rnd(&rng_state) % 3 == 0 ? t_rnd(&rng_state) % 5000 : t_rnd(&rng_state) % (3 * frag + 1));
		if (n > len - off)
			n = len - off;
		blake3_split_update(&sh, buf + off, n, leaves_add, lv);
	}
	blake3_split_final(&sh, whole, leaves_add, lv);
	blake3_hash(buf, len, want);
	count = len / frag + (len % frag != 0);
	if (memcmp(whole, want, 32) != 0) {
		snprintf(why, whylen, "%zu bytes, fragment %" PRIu64 ": file hash",
		    len, frag);
		return -1;
	}
	if (lv->order_bad || lv->n != count) {
		snprintf(why, whylen, "%zu bytes, fragment %" PRIu64 ": %" PRIu64
		    " leaves, want %" PRIu64, len, frag, lv->n, count);
		return -1;
	}
	for (i = 0; i < count; i++) {
		flen = len - i * frag < frag ? len - i * frag : frag;
		blake3_hash(buf + i * frag, (size_t)flen, want);
		if (memcmp(lv->h[i], want, 32) != 0) {
			snprintf(why, whylen, "%zu bytes, fragment %" PRIu64
			    ": leaf %" PRIu64, len, frag, i);
			return -1;
		}
	}
	/* A second final adds no leaf and the same file hash. */
	blake3_split_final(&sh, want, leaves_add, lv);
	if (lv->n != count || memcmp(want, whole, 32) != 0) {
		snprintf(why, whylen, "%zu bytes: second final", len);
		return -1;
	}
	return 0;
}

/*
 * blake3_split_hasher: file hash and leaves equal blake3 of the bytes for
 * sizes around chunk and fragment boundaries, random feeding, fragment
 * sizes that are powers of two and not, every implementation.
 */
static void
test_blake3_split_gives_file_hash_and_leaves(void)
{
	static const uint64_t frags[] = { 1024, 2048, 3000, 65536, 262144 };
	static const int64_t near[] = { 0, 1, 1023, 1024, 1025 };
	static struct leaves lv;
	uint8_t *buf, whole[32];
	blake3_split_hasher sh;
	size_t fi, k, j, im, len, max = 3 * 262144 + 5000;
	char why[160];
	int64_t m;

	T_EQ_INT(blake3_split_init(&sh, 0), -1);
	buf = xmalloc(max);
	t_rnd_hi(t_rnd, &rng_state, buf, max);
	for (im = 0; im < NIMPLS; im++) {
		if (use_impl(im) != 0)
			continue;
		for (fi = 0; fi < sizeof(frags) / sizeof(frags[0]); fi++) {
			for (k = 0; k <= 3; k++) {
				for (j = 0; j < 2 * sizeof(near) / sizeof(near[0]); j++) {
					m = near[j % 5] * (j < 5 ? 1 : -1);
					if ((int64_t)(k * frags[fi]) + m < 0 ||
					    (frags[fi] < 4096 && k > 0 && j % 3 != 0))
						continue;
					len = (size_t)((int64_t)(k * frags[fi]) + m);
					if (len > max || len / frags[fi] >= 63)
						continue;
					if (split_check(buf, len, frags[fi], &lv,
					    whole, why, sizeof(why)) != 0) {
						free(buf);
						blake3_force_impl(NULL);
						T_FAIL("%s: %s", impls[im], why);
					}
				}
			}
		}
	}
	blake3_force_impl(NULL);
	free(buf);
}

/*
 * With the helper thread (storaged's setting): the same file hash and
 * leaves, for files of up to 20 fragments fed in random pieces (many of
 * them 256 KiB or more, which go to the helper), every implementation; and
 * the helper did report leaves.
 */
static void
test_blake3_split_helper_thread_gives_same_hashes(void)
{
	static const uint64_t frags[] = { 65536, 262144, 300000 };
	static const int64_t near[] = { 0, 1, -1, 4096, -4097 };
	static struct leaves lv;
	uint8_t *buf, whole[32];
	size_t fi, k, j, im, len, max = 20 * 300000 + 5000;
	uint64_t helped = 0;
	char why[160];

	main_thread = pthread_self();
	T_EQ_INT(blake3_split_par_start(), 0);
	T_EQ_INT(blake3_split_par_start(), 0);	/* once: a second start is a no-op */
	buf = xmalloc(max);
	t_rnd_hi(t_rnd, &rng_state, buf, max);
	for (im = 0; im < NIMPLS; im++) {
		if (use_impl(im) != 0)
			continue;
		for (fi = 0; fi < sizeof(frags) / sizeof(frags[0]); fi++)
			for (k = 1; k <= 20; k += 3)
				for (j = 0; j < sizeof(near) / sizeof(near[0]); j++) {
					len = (size_t)((int64_t)(k * frags[fi]) + near[j]);
					if (len > max || len / frags[fi] >= 63)
						continue;
					if (split_check(buf, len, frags[fi], &lv, whole, why,
					    sizeof(why)) != 0) {
						free(buf);
						blake3_force_impl(NULL);
						T_FAIL("helper, %s: %s", impls[im], why);
					}
					helped += lv.on_helper;
				}
	}
	blake3_force_impl(NULL);
	free(buf);
	printf("# helper thread reported %" PRIu64 " leaves\n", helped);
	T_ASSERT(helped > 0);
}

/* The same, file hash and each leaf, against the b3sum CLI (256 KiB fragments). */
static void
test_blake3_split_matches_b3sum_cli(void)
{
	const uint64_t F = 262144;
	const size_t sizes[] = { 0, 1, 1023, 1024, 1025, F - 1, F, F + 1,
	    2 * F, 2 * F + 1, 3 * F - 1 };
	static struct leaves lv;
	char dir[64], cli[200], why[160];
	char hex[2 * BLAKE3_OUT_LEN + 1];
	uint8_t *buf, whole[32];
	size_t i, len, flen;
	uint64_t f;

	if (system("command -v b3sum >/dev/null 2>&1") != 0)
		T_SKIP("b3sum is not installed (Debian package b3sum)");
	if (t_tmpdir(dir, sizeof(dir), "peernet-b3") != 0)
		T_FAIL("mkdtemp: %s", strerror(errno));
	buf = xmalloc(3 * F + (size_t)(t_rnd(&rng_state) % F));
	for (i = 0; i <= sizeof(sizes) / sizeof(sizes[0]); i++) {
		/* The last: a random size with a partial last fragment. */
		len = i < sizeof(sizes) / sizeof(sizes[0]) ? sizes[i] :
		    3 * F - 1 - (size_t)(t_rnd(&rng_state) % (F - 1));
		t_rnd_hi(t_rnd, &rng_state, buf, len);
		if (split_check(buf, len, F, &lv, whole, why, sizeof(why)) != 0)
			goto fail;
		hex_encode(hex, whole, 32);
		if (b3sum_bytes(dir, buf, len, cli, sizeof(cli)) != 0 ||
		    strcmp(cli, hex) != 0) {
			snprintf(why, sizeof(why), "%zu bytes: file hash %s, "
			    "b3sum \"%s\"", len, hex, cli);
			goto fail;
		}
		for (f = 0; f < lv.n; f++) {
			flen = len - f * F < F ? len - f * F : F;
			hex_encode(hex, lv.h[f], 32);
			if (b3sum_bytes(dir, buf + f * F, flen, cli,
			    sizeof(cli)) != 0 || strcmp(cli, hex) != 0) {
				snprintf(why, sizeof(why), "%zu bytes: leaf %"
				    PRIu64 " %s, b3sum \"%s\"", len, f, hex, cli);
				goto fail;
			}
		}
	}
	free(buf);
	rmdir(dir);
	return;
fail:
	free(buf);
	rmdir(dir);
	T_FAIL("%s", why);
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_blake3_matches_go_reference_vectors);
	T_RUN(test_blake3_official_vectors_default_hash);
	T_RUN(test_blake3_official_vectors_extended_output);
	T_RUN(test_blake3_streaming_random_splits_match_one_shot);
	T_RUN(test_blake3_finalize_leaves_hasher_usable);
	T_RUN(test_blake3_every_supported_impl_matches_portable);
	T_RUN(test_blake3_hash_many_carries_counter_into_high_word);
	T_RUN(test_blake3_force_impl_rejects_unknown_name);
	T_RUN(test_blake3_matches_b3sum_cli_on_random_files);
	T_RUN(test_blake3_only_fragment_zero_leaf_is_a_node_of_the_file_tree);
	T_RUN(test_blake3_split_gives_file_hash_and_leaves);
	T_RUN(test_blake3_split_helper_thread_gives_same_hashes);
	T_RUN(test_blake3_split_matches_b3sum_cli);
	return t_done();
}
