/* test_ident.c — node identity: keys, node IDs, btcec-compatible signatures, key files. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blake3.h"
#include "hex.h"
#include "ident.h"
#include "t.h"
#include "tvec.h"

/* out = a - b for 32-byte big-endian numbers (a >= b). */
static void
be32_sub(uint8_t out[32], const uint8_t a[32], const uint8_t b[32])
{
	int i, borrow = 0, d;

	for (i = 31; i >= 0; i--) {
		d = a[i] - b[i] - borrow;
		borrow = d < 0;
		out[i] = (uint8_t)(d + (borrow ? 256 : 0));
	}
}

/* The hex fields of obj into their buffers, or the case fails naming one. */
#define T_HEX_FIELDS(obj, ...) do {					\
	const char *bad_ = tvec_hex_fields((obj),			\
	    T_TABLE(struct tvec_hex_field, __VA_ARGS__));		\
									\
	if (bad_ != NULL)						\
		T_FAIL("vector field %s missing or bad", bad_);		\
} while (0)

/* fn of every row of secp256k1.json's array `name`: want of them. */
static void
each_vector(const char *name, void (*fn)(json_t *), size_t want)
{
	json_t *v;
	size_t n;

	T_VECTORS(v, "secp256k1.json");
	n = tvec_each(json_object_get(v, name), fn);
	json_decref(v);
	T_EQ_INT(n, want);
}

/* One row of "keys": every form of the key derives as the reference's. */
static void
check_key(json_t *k)
{
	uint8_t priv[32], pub[33], unc[65], nid[32], salsa[32], out[65];
	struct ident id;

	T_HEX_FIELDS(k, { "private_key", priv, 32 },
	    { "public_key_compressed", pub, 33 },
	    { "public_key_uncompressed", unc, 65 },
	    { "node_id", nid, 32 },
	    { "salsa20_key_when_receiver", salsa, 32 });
	T_EQ_INT(ident_from_priv(&id, priv), IDENT_OK);
	T_EQ_MEM(id.pub, pub, 33);
	T_EQ_MEM(id.node_id, nid, 32);
	T_EQ_MEM(id.pub + 1, salsa, 32);
	T_EQ_INT(ident_pubkey_uncompress(id.pub, out), IDENT_OK);
	T_EQ_MEM(out, unc, 65);
	ident_node_id(pub, out);
	T_EQ_MEM(out, nid, 32);
	T_EQ_INT(ident_pubkey_valid(pub), 1);
}

static void
test_ident_keys_match_reference_vectors(void)
{
	each_vector("keys", check_key, 8);
}

/* The identity of the private key of row. */
static void
ident_of(json_t *row, struct ident *id)
{
	uint8_t priv[32];

	T_ASSERT(tvec_hex_exact(row, "private_key", priv, 32) == 0);
	T_EQ_INT(ident_from_priv(id, priv), IDENT_OK);
}

static void
test_ident_discovery_keys_match_reference(void)
{
	json_t *v;
	struct ident id;

	T_VECTORS(v, "secp256k1.json");
	T_DO(ident_of(tvec_named(json_object_get(v, "keys"), "ipv4_broadcast"), &id));
	T_EQ_MEM(ident_discovery_ipv4_pub, id.pub, 33);
	T_DO(ident_of(tvec_named(json_object_get(v, "keys"), "ipv6_multicast"), &id));
	T_EQ_MEM(ident_discovery_ipv6_pub, id.pub, 33);
	json_decref(v);
}

/* One row of "signatures": our signature is btcec's, byte for byte. */
static void
check_signature(json_t *s)
{
	uint8_t priv[32], hash[32], want[65], got[65], pub[33], rec[33];
	struct ident id;

	T_HEX_FIELDS(s, { "private_key", priv, 32 }, { "hash", hash, 32 },
	    { "signature", want, 65 }, { "recovered_public_key", pub, 33 });
	T_EQ_INT(ident_from_priv(&id, priv), IDENT_OK);
	T_EQ_INT(ident_sign(&id, hash, got), IDENT_OK);
	T_EQ_MEM(got, want, 65);
	T_EQ_INT(got[0], tvec_u64(s, "header_byte"));
	T_EQ_INT(got[0] - 31, tvec_u64(s, "recovery_id"));
	T_EQ_INT(ident_recover(want, hash, rec), IDENT_OK);
	T_EQ_MEM(rec, pub, 33);
	T_EQ_MEM(rec, id.pub, 33);
}

static void
test_ident_sign_is_byte_identical_to_btcec(void)
{
	each_vector("signatures", check_signature, 25);
}

static void
test_ident_recover_accepts_uncompressed_headers_27_to_30(void)
{
	json_t *v, *ex, *s;
	uint8_t priv[32], hash[32], sig[65], rec[33], want[33];
	struct ident id;
	size_t i;

	T_VECTORS(v, "secp256k1.json");
	ex = json_object_get(v, "uncompressed_flag_example");
	T_ASSERT(tvec_hex_exact(tvec_named(json_object_get(v, "keys"), "A"),
	    "private_key", priv, 32) == 0);
	T_EQ_INT(ident_from_priv(&id, priv), IDENT_OK);
	T_ASSERT(tvec_hex_exact(ex, "hash", hash, 32) == 0);
	T_ASSERT(tvec_hex_exact(ex, "signature", sig, 65) == 0);
	T_EQ_INT(sig[0], 28);
	T_EQ_INT(ident_recover(sig, hash, rec), IDENT_OK);
	T_EQ_MEM(rec, id.pub, 33);
	/* Every vector signature with its header moved to 27 + recid. */
	json_array_foreach(json_object_get(v, "signatures"), i, s) {
		T_ASSERT(tvec_hex_exact(s, "hash", hash, 32) == 0);
		T_ASSERT(tvec_hex_exact(s, "signature", sig, 65) == 0);
		sig[0] -= 4;
		T_ASSERT(sig[0] >= 27 && sig[0] <= 30);
		T_EQ_INT(ident_recover(sig, hash, rec), IDENT_OK);
		T_ASSERT(tvec_hex_exact(s, "recovered_public_key", want, 33) == 0);
		T_EQ_MEM(rec, want, 33);
	}
	json_decref(v);
}

static void
test_ident_recover_rejects_header_outside_27_to_34(void)
{
	static const int bad[] = { 0, 1, 26, 35, 36, 59, 128, 255 };
	uint8_t hash[32], sig[65], rec[33];
	struct ident id;
	size_t i;

	T_EQ_INT(ident_generate(&id), IDENT_OK);
	blake3_hash("x", 1, hash);
	T_EQ_INT(ident_sign(&id, hash, sig), IDENT_OK);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sig[0] = (uint8_t)bad[i];
		T_EQ_INT(ident_recover(sig, hash, rec), IDENT_ERR_SIG_HEADER);
	}
}

static void
test_ident_recover_rejects_r_or_s_not_below_n(void)
{
	uint8_t hash[32], sig[65], bad[65], rec[33];
	struct ident id;

	T_EQ_INT(ident_generate(&id), IDENT_OK);
	blake3_hash("y", 1, hash);
	T_EQ_INT(ident_sign(&id, hash, sig), IDENT_OK);
	memcpy(bad, sig, 65);
	memcpy(bad + 1, tvec_curve_n, 32);		/* r = n */
	T_EQ_INT(ident_recover(bad, hash, rec), IDENT_ERR_SIG_RANGE);
	memcpy(bad, sig, 65);
	memset(bad + 33, 0xff, 32);		/* s = 2^256 - 1 */
	T_EQ_INT(ident_recover(bad, hash, rec), IDENT_ERR_SIG_RANGE);
	memcpy(bad, sig, 65);
	memset(bad + 1, 0, 32);			/* r = 0 */
	T_EQ_INT(ident_recover(bad, hash, rec), IDENT_ERR_RECOVER);
	memcpy(bad, sig, 65);
	memset(bad + 33, 0, 32);		/* s = 0 */
	T_EQ_INT(ident_recover(bad, hash, rec), IDENT_ERR_RECOVER);
}

static void
test_ident_recover_accepts_high_s_like_reference(void)
{
	uint8_t hash[32], sig[65], rec[33];
	struct ident id;

	/* btcec's RecoverCompact accepts s > n/2; s' = n - s with the R parity flipped is the same signature. */
	T_EQ_INT(ident_generate(&id), IDENT_OK);
	blake3_hash("high-s", 6, hash);
	T_EQ_INT(ident_sign(&id, hash, sig), IDENT_OK);
	be32_sub(sig + 33, tvec_curve_n, sig + 33);
	sig[0] = (uint8_t)(31 + ((sig[0] - 31) ^ 1));
	T_EQ_INT(ident_recover(sig, hash, rec), IDENT_OK);
	T_EQ_MEM(rec, id.pub, 33);
}

static void
test_ident_from_priv_rejects_zero_and_order(void)
{
	uint8_t k[32];
	struct ident id;

	memset(k, 0, 32);
	T_EQ_INT(ident_from_priv(&id, k), IDENT_ERR_PRIVKEY);
	T_EQ_INT(ident_from_priv(&id, tvec_curve_n), IDENT_ERR_PRIVKEY);
	memset(k, 0xff, 32);
	T_EQ_INT(ident_from_priv(&id, k), IDENT_ERR_PRIVKEY);
	memcpy(k, tvec_curve_n, 32);
	k[31] -= 1;				/* n - 1: the largest valid key */
	T_EQ_INT(ident_from_priv(&id, k), IDENT_OK);
	T_EQ_INT(id.pub[0], 0x03);
}

static void
test_ident_generate_gives_distinct_working_keys(void)
{
	struct ident a, b;
	uint8_t hash[32], sig[65], rec[33], nid[32];

	T_EQ_INT(ident_generate(&a), IDENT_OK);
	T_EQ_INT(ident_generate(&b), IDENT_OK);
	T_ASSERT(memcmp(a.priv, b.priv, 32) != 0);
	T_ASSERT(memcmp(a.pub, b.pub, 33) != 0);
	T_EQ_INT(ident_pubkey_valid(a.pub), 1);
	blake3_hash(a.pub, 33, nid);
	T_EQ_MEM(a.node_id, nid, 32);
	blake3_hash("z", 1, hash);
	T_EQ_INT(ident_sign(&a, hash, sig), IDENT_OK);
	T_ASSERT(sig[0] >= 31 && sig[0] <= 34);
	T_ASSERT(sig[33] < 0x80);		/* low S: s <= n/2 < 2^255 */
	T_EQ_INT(ident_recover(sig, hash, rec), IDENT_OK);
	T_EQ_MEM(rec, a.pub, 33);
	ident_wipe(&a);
	T_ASSERT(a.priv[0] == 0 && memcmp(a.priv, a.priv + 1, 31) == 0);
}

static void
test_ident_pubkey_valid_rejects_bad_prefix_and_off_curve_x(void)
{
	uint8_t pub[33];
	struct ident id;

	T_EQ_INT(ident_generate(&id), IDENT_OK);
	memcpy(pub, id.pub, 33);
	pub[0] = 0x04;
	T_EQ_INT(ident_pubkey_valid(pub), 0);
	pub[0] = 0x00;
	T_EQ_INT(ident_pubkey_valid(pub), 0);
	/* x = 0: y^2 = 7 has no root mod p. */
	memset(pub, 0, 33);
	pub[0] = 0x02;
	T_EQ_INT(ident_pubkey_valid(pub), 0);
	/* x = 2^256 - 1 >= p. */
	memset(pub + 1, 0xff, 32);
	T_EQ_INT(ident_pubkey_valid(pub), 0);
	/* The other parity of a valid x is valid too. */
	memcpy(pub, id.pub, 33);
	pub[0] ^= 1;
	T_EQ_INT(ident_pubkey_valid(pub), 1);
}

static void
test_ident_pubkey_from_hex_demands_33_bytes(void)
{
	const char *g = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
	char buf[80];
	uint8_t pub[33];

	T_EQ_INT(ident_pubkey_from_hex(g, pub), IDENT_OK);
	T_EQ_INT(pub[0], 0x02);
	T_EQ_INT(pub[32], 0x98);
	T_EQ_INT(ident_pubkey_from_hex(g + 2, pub), IDENT_ERR_HEX);
	snprintf(buf, sizeof(buf), "%s00", g);
	T_EQ_INT(ident_pubkey_from_hex(buf, pub), IDENT_ERR_HEX);
	snprintf(buf, sizeof(buf), "%s", g);
	buf[10] = 'g';
	T_EQ_INT(ident_pubkey_from_hex(buf, pub), IDENT_ERR_HEX);
	T_EQ_INT(ident_pubkey_from_hex(
	    "020000000000000000000000000000000000000000000000000000000000000000",
	    pub), IDENT_ERR_PUBKEY);
	T_EQ_INT(ident_pubkey_from_hex(
	    "0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
	    pub), IDENT_ERR_PUBKEY);
}

/* --- key files --- */

static char tmpdir[256];

static int
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	ssize_t n;

	if (fd == -1)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	/* umask may have cleared bits: set the exact mode. */
	if (chmod(path, mode) == -1)
		return -1;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static void
test_ident_save_writes_0600_hex_and_loads_back(void)
{
	struct ident a, b;
	struct stat st;
	char path[512], text[80], want[80];
	int fd;
	ssize_t n;

	T_ASSERT(t_tmpdir(tmpdir, sizeof(tmpdir), "test_ident") == 0);
	snprintf(path, sizeof(path), "%s/key", tmpdir);
	T_EQ_INT(ident_generate(&a), IDENT_OK);
	T_EQ_INT(ident_save(&a, path), IDENT_OK);
	T_EQ_INT(stat(path, &st), 0);
	T_EQ_INT(st.st_mode & 07777, 0600);
	fd = open(path, O_RDONLY);
	T_ASSERT(fd != -1);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	T_EQ_INT(n, 65);
	text[n] = '\0';
	hex_encode(want, a.priv, 32);
	strcat(want, "\n");
	T_EQ_STR(text, want);
	T_EQ_INT(ident_load(&b, path), IDENT_OK);
	T_EQ_MEM(b.priv, a.priv, 32);
	T_EQ_MEM(b.pub, a.pub, 33);
	T_EQ_MEM(b.node_id, a.node_id, 32);
	/* Replacing an existing key leaves no temp file behind. */
	T_EQ_INT(ident_generate(&b), IDENT_OK);
	T_EQ_INT(ident_save(&b, path), IDENT_OK);
	T_EQ_INT(t_count_entries(tmpdir), 1);
	T_EQ_INT(ident_load(&a, path), IDENT_OK);
	T_EQ_MEM(a.pub, b.pub, 33);
	t_rmtree(tmpdir);
}

static void
test_ident_load_refuses_group_or_world_accessible_file(void)
{
	static const mode_t modes[] = { 0644, 0640, 0604, 0660, 0602, 0610 };
	struct ident a, b;
	char path[512];
	size_t i;

	T_ASSERT(t_tmpdir(tmpdir, sizeof(tmpdir), "test_ident") == 0);
	snprintf(path, sizeof(path), "%s/key", tmpdir);
	T_EQ_INT(ident_generate(&a), IDENT_OK);
	T_EQ_INT(ident_save(&a, path), IDENT_OK);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		T_EQ_INT(chmod(path, modes[i]), 0);
		T_EQ_INT(ident_load(&b, path), IDENT_ERR_PERM);
	}
	T_EQ_INT(chmod(path, 0400), 0);
	T_EQ_INT(ident_load(&b, path), IDENT_OK);
	T_EQ_MEM(b.pub, a.pub, 33);
	t_rmtree(tmpdir);
}

static void
test_ident_load_rejects_bad_contents_and_non_files(void)
{
	char path[512], link[512], text[140];
	struct ident id;
	int i;

	T_ASSERT(t_tmpdir(tmpdir, sizeof(tmpdir), "test_ident") == 0);
	snprintf(path, sizeof(path), "%s/key", tmpdir);
	T_EQ_INT(ident_load(&id, path), IDENT_ERR_NOENT);
	/* 63 digits */
	T_EQ_INT(write_file(path, "111111111111111111111111111111111111111111111111111111111111111\n", 0600), 0);
	T_EQ_INT(ident_load(&id, path), IDENT_ERR_HEX);
	/* a non-hex digit */
	T_EQ_INT(write_file(path, "11111111111111111111111111111111111111111111111111111111111111x1\n", 0600), 0);
	T_EQ_INT(ident_load(&id, path), IDENT_ERR_HEX);
	/* leading garbage */
	T_EQ_INT(write_file(path, " 1111111111111111111111111111111111111111111111111111111111111111\n", 0600), 0);
	T_EQ_INT(ident_load(&id, path), IDENT_ERR_HEX);
	/* zero scalar and n */
	T_EQ_INT(write_file(path, "0000000000000000000000000000000000000000000000000000000000000000\n", 0600), 0);
	T_EQ_INT(ident_load(&id, path), IDENT_ERR_PRIVKEY);
	T_EQ_INT(write_file(path, "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 0600), 0);
	T_EQ_INT(ident_load(&id, path), IDENT_ERR_PRIVKEY);
	/* too long a file */
	for (i = 0; i < 130; i++)
		text[i] = '1';
	text[130] = '\0';
	T_EQ_INT(write_file(path, text, 0600), 0);
	T_EQ_INT(ident_load(&id, path), IDENT_ERR_HEX);
	/* valid key A, without a newline and with CRLF */
	T_EQ_INT(write_file(path, "1111111111111111111111111111111111111111111111111111111111111111", 0600), 0);
	T_EQ_INT(ident_load(&id, path), IDENT_OK);
	T_EQ_INT(id.pub[0], 0x03);
	T_EQ_INT(id.pub[1], 0x4f);
	T_EQ_INT(write_file(path, "1111111111111111111111111111111111111111111111111111111111111111\r\n", 0600), 0);
	T_EQ_INT(ident_load(&id, path), IDENT_OK);
	/* a symlink to a good key is refused: the path itself must be the file */
	snprintf(link, sizeof(link), "%s/link", tmpdir);
	T_EQ_INT(symlink(path, link), 0);
	T_EQ_INT(ident_load(&id, link), IDENT_ERR_NOTFILE);
	unlink(link);
	/* a directory */
	snprintf(link, sizeof(link), "%s/dir", tmpdir);
	T_EQ_INT(mkdir(link, 0700), 0);
	T_EQ_INT(ident_load(&id, link), IDENT_ERR_NOTFILE);
	t_rmtree(tmpdir);
}

static void
test_ident_save_fails_cleanly_in_missing_directory(void)
{
	struct ident a;

	T_EQ_INT(ident_generate(&a), IDENT_OK);
	T_EQ_INT(ident_save(&a, "/nonexistent-dir-peernet/key"), IDENT_ERR_IO);
	T_EQ_INT(errno, ENOENT);
}

/* Signing and recovery from several threads at once share the one context. */
static void *
sign_worker(void *arg)
{
	struct ident id;
	uint8_t hash[32], sig[65], rec[33];
	int i, *bad = arg;

	for (i = 0; i < 50; i++) {
		if (ident_generate(&id) != IDENT_OK) {
			(*bad)++;
			continue;
		}
		blake3_hash(&i, sizeof(i), hash);
		if (ident_sign(&id, hash, sig) != IDENT_OK ||
		    ident_recover(sig, hash, rec) != IDENT_OK ||
		    memcmp(rec, id.pub, 33) != 0)
			(*bad)++;
	}
	return NULL;
}

static void
test_ident_sign_and_recover_from_four_threads(void)
{
	pthread_t th[4];
	int bad[4] = { 0, 0, 0, 0 }, i;

	for (i = 0; i < 4; i++)
		T_EQ_INT(pthread_create(&th[i], NULL, sign_worker, &bad[i]), 0);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 4; i++)
		T_EQ_INT(bad[i], 0);
}

static void
test_ident_strerror_names_every_error(void)
{
	int e;

	for (e = IDENT_OK; e >= IDENT_ERR_ARG; e--)
		T_ASSERT(strcmp(ident_strerror(e), "unknown ident error") != 0);
	T_EQ_STR(ident_strerror(-999), "unknown ident error");
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_ident_sign_and_recover_from_four_threads);
	T_RUN(test_ident_keys_match_reference_vectors);
	T_RUN(test_ident_discovery_keys_match_reference);
	T_RUN(test_ident_sign_is_byte_identical_to_btcec);
	T_RUN(test_ident_recover_accepts_uncompressed_headers_27_to_30);
	T_RUN(test_ident_recover_rejects_header_outside_27_to_34);
	T_RUN(test_ident_recover_rejects_r_or_s_not_below_n);
	T_RUN(test_ident_recover_accepts_high_s_like_reference);
	T_RUN(test_ident_from_priv_rejects_zero_and_order);
	T_RUN(test_ident_generate_gives_distinct_working_keys);
	T_RUN(test_ident_pubkey_valid_rejects_bad_prefix_and_off_curve_x);
	T_RUN(test_ident_pubkey_from_hex_demands_33_bytes);
	T_RUN(test_ident_save_writes_0600_hex_and_loads_back);
	T_RUN(test_ident_load_refuses_group_or_world_accessible_file);
	T_RUN(test_ident_load_rejects_bad_contents_and_non_files);
	T_RUN(test_ident_save_fails_cleanly_in_missing_directory);
	T_RUN(test_ident_strerror_names_every_error);
	return t_done();
}
