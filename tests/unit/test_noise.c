/*
 * test_noise.c — the Noise engine (common/noise.c) held to published
 * cacophony test vectors (tests/vectors/noise/cacophony.json: NN and XX of
 * 25519_ChaChaPoly_BLAKE2b and _SHA256, handshake and transport bytes),
 * to IK vectors of an independent implementation (ik_independent.json),
 * HMAC-SHA256 against libsodium's own, and the IK pattern we run checked
 * for agreement, tampering, wrong keys and order.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "noise.h"
#include "t.h"
#include "tvec.h"

static uint64_t seed = 0x6e6f697365ULL;

static int
parse_name(const char *name, int *pattern, int *hash)
{
	if (strncmp(name, "Noise_NN_", 9) == 0)
		*pattern = NOISE_PATTERN_NN;
	else if (strncmp(name, "Noise_XX_", 9) == 0)
		*pattern = NOISE_PATTERN_XX;
	else if (strncmp(name, "Noise_IK_", 9) == 0)
		*pattern = NOISE_PATTERN_IK;
	else
		return -1;
	if (strstr(name, "_BLAKE2b") != NULL)
		*hash = NOISE_HASH_BLAKE2B;
	else if (strstr(name, "_SHA256") != NULL)
		*hash = NOISE_HASH_SHA256;
	else
		return -1;
	return 0;
}

/* Runs one cacophony vector; returns a static description of the first mismatch or NULL. */
static const char *
run_vector(json_t *v)
{
	static char why[200];
	struct noise_hs hi, hr;
	struct noise_cipher ic[2], rc[2];
	uint8_t is[32], ie[32], rsk[32], re[32], rs_pub[32], *pro;
	uint8_t out[1024], pl[1024];
	size_t plen, n, i, prolen;
	int pattern, hash, have_is, have_rs, split = 0;
	json_t *msgs;
	const char *name = tvec_str(v, "name");

	if (name == NULL || parse_name(name, &pattern, &hash) != 0)
		return "unparsable name";
	pro = tvec_hex(v, "init_prologue", &prolen);
	if (pro == NULL)
		return "no prologue";
	have_is = tvec_hex_exact(v, "init_static", is, 32) == 0;
	have_rs = tvec_hex_exact(v, "resp_static", rsk, 32) == 0;
	if (tvec_hex_exact(v, "init_ephemeral", ie, 32) != 0 ||
	    tvec_hex_exact(v, "resp_ephemeral", re, 32) != 0) {
		free(pro);
		return "no ephemeral";
	}
	if (have_rs)
		crypto_scalarmult_base(rs_pub, rsk);
	if (noise_hs_init(&hi, pattern, hash, 1, pro, prolen,
	    have_is ? is : NULL, pattern == NOISE_PATTERN_IK ? rs_pub : NULL) != 0 ||
	    noise_hs_init(&hr, pattern, hash, 0, pro, prolen,
	    have_rs ? rsk : NULL, NULL) != 0 ||
	    noise_hs_set_ephemeral(&hi, ie) != 0 ||
	    noise_hs_set_ephemeral(&hr, re) != 0) {
		free(pro);
		return "init failed";
	}
	free(pro);
	msgs = json_object_get(v, "messages");
	for (i = 0; i < json_array_size(msgs); i++) {
		json_t *m = json_array_get(msgs, i);
		uint8_t *payload, *ct;
		size_t plen0, ctlen;
		int from_init = (i % 2) == 0, rv;

		payload = tvec_hex(m, "payload", &plen0);
		ct = tvec_hex(m, "ciphertext", &ctlen);
		if (payload == NULL || ct == NULL) {
			free(payload);
			free(ct);
			return "bad message hex";
		}
		if (!noise_hs_done(&hi)) {
			struct noise_hs *w = from_init ? &hi : &hr;
			struct noise_hs *r = from_init ? &hr : &hi;

			rv = noise_hs_write(w, payload, plen0, out, sizeof(out), &n);
			if (rv == 0)
				rv = noise_hs_read(r, out, n, pl, sizeof(pl), &plen);
		} else {
			struct noise_cipher *w, *r;

			if (!split) {
				if (!noise_hs_done(&hr) ||
				    noise_hs_split(&hi, &ic[0], &ic[1]) != 0 ||
				    noise_hs_split(&hr, &rc[0], &rc[1]) != 0) {
					free(payload);
					free(ct);
					return "split failed";
				}
				split = 1;
			}
			/* c1 carries initiator -> responder, c2 the reverse. */
			w = from_init ? &ic[0] : &rc[1];
			r = from_init ? &rc[0] : &ic[1];
			rv = noise_cipher_encrypt(w, NULL, 0, payload, plen0, out,
			    sizeof(out), &n);
			if (rv == 0)
				rv = noise_cipher_decrypt(r, NULL, 0, out, n, pl,
				    sizeof(pl), &plen);
		}
		if (rv != 0) {
			snprintf(why, sizeof(why), "%s message %zu: %s", name, i,
			    noise_strerror(rv));
		} else if (n != ctlen || memcmp(out, ct, n) != 0) {
			snprintf(why, sizeof(why), "%s message %zu: ciphertext differs", name, i);
			rv = -1;
		} else if (plen != plen0 || memcmp(pl, payload, plen) != 0) {
			snprintf(why, sizeof(why), "%s message %zu: payload differs", name, i);
			rv = -1;
		}
		free(payload);
		free(ct);
		if (rv != 0)
			return why;
	}
	if (!split)
		return "vector ended before the transport phase";
	{
		size_t hl1, hl2;
		const uint8_t *h1 = noise_hs_hash(&hi, &hl1), *h2 = noise_hs_hash(&hr, &hl2);

		if (hl1 != hl2 || memcmp(h1, h2, hl1) != 0)
			return "handshake hashes differ";
	}
	return NULL;
}

/* Every vector of the file passes, and there are expect of them. */
static void
run_vector_file(const char *file, size_t expect)
{
	json_t *j = tvec_load(file), *vs;
	size_t i, ran = 0;
	const char *why;

	T_ASSERT(j != NULL);
	vs = json_object_get(j, "vectors");
	for (i = 0; i < json_array_size(vs); i++) {
		why = run_vector(json_array_get(vs, i));
		if (why != NULL) {
			json_decref(j);
			T_FAIL("%s", why);
		}
		ran++;
	}
	json_decref(j);
	T_EQ_INT(ran, expect);
}

static void
test_cacophony_vectors(void)
{
	run_vector_file("noise/cacophony.json", 4);
}

/*
 * IK has no published vector in the cacophony copy we have; these come
 * from tests/vectors/noise/gen_ik.py, a second implementation (Python on
 * OpenSSL) that reproduces every cacophony entry first.
 */
static void
test_ik_independent_vectors(void)
{
	run_vector_file("noise/ik_independent.json", 2);
}

static void
test_hmac_sha256_matches_libsodium(void)
{
	uint8_t key[32], msg[300], a[32], b[32];
	crypto_auth_hmacsha256_state st;
	size_t n;

	for (n = 0; n < sizeof(msg); n += 37) {
		t_rnd_bytes(&seed, key, sizeof(key));
		t_rnd_bytes(&seed, msg, n);
		noise_hmac(NOISE_HASH_SHA256, key, sizeof(key), msg, n, a);
		crypto_auth_hmacsha256_init(&st, key, sizeof(key));
		crypto_auth_hmacsha256_update(&st, msg, n);
		crypto_auth_hmacsha256_final(&st, b);
		T_EQ_MEM(a, b, 32);
	}
}

static void
test_protocol_name(void)
{
	char name[64];

	T_EQ_INT(noise_protocol_name(NOISE_PATTERN_IK, NOISE_HASH_BLAKE2B, name,
	    sizeof(name)), 0);
	T_EQ_STR(name, "Noise_IK_25519_ChaChaPoly_BLAKE2b");
	T_EQ_INT(noise_protocol_name(9, NOISE_HASH_BLAKE2B, name, sizeof(name)),
	    NOISE_ERR_ARG);
}

/* A full IK exchange between fresh keys; 0 when both ends agree. */
static int
ik_pair(struct noise_hs *hi, struct noise_hs *hr, const uint8_t *is,
    const uint8_t *rsk, const uint8_t *rs_pub, uint8_t *m1, size_t *n1,
    uint8_t *m2, size_t *n2)
{
	static const uint8_t pro[] = "peernet test";
	uint8_t pl[256];
	size_t plen;

	if (noise_hs_init(hi, NOISE_PATTERN_IK, NOISE_HASH_BLAKE2B, 1, pro,
	    sizeof(pro), is, rs_pub) != 0 ||
	    noise_hs_init(hr, NOISE_PATTERN_IK, NOISE_HASH_BLAKE2B, 0, pro,
	    sizeof(pro), rsk, NULL) != 0)
		return -1;
	if (noise_hs_write(hi, (const uint8_t *)"hello", 5, m1, 256, n1) != 0)
		return -2;
	if (noise_hs_read(hr, m1, *n1, pl, sizeof(pl), &plen) != 0 ||
	    plen != 5 || memcmp(pl, "hello", 5) != 0)
		return -3;
	if (noise_hs_write(hr, (const uint8_t *)"world!", 6, m2, 256, n2) != 0)
		return -4;
	if (noise_hs_read(hi, m2, *n2, pl, sizeof(pl), &plen) != 0 ||
	    plen != 6 || memcmp(pl, "world!", 6) != 0)
		return -5;
	return 0;
}

static void
test_ik_roundtrip(void)
{
	struct noise_hs hi, hr;
	struct noise_cipher ic1, ic2, rc1, rc2;
	uint8_t is[32], rsk[32], rs_pub[32], is_pub[32], m1[256], m2[256];
	uint8_t ct[64], pt[64];
	size_t n1, n2, n, hl;

	t_rnd_bytes(&seed, is, 32);
	t_rnd_bytes(&seed, rsk, 32);
	crypto_scalarmult_base(rs_pub, rsk);
	crypto_scalarmult_base(is_pub, is);
	T_EQ_INT(ik_pair(&hi, &hr, is, rsk, rs_pub, m1, &n1, m2, &n2), 0);
	/* -> e, es, s, ss: 32 + (32+16) + (5+16); <- e, ee, se: 32 + (6+16). */
	T_EQ_INT(n1, 101);
	T_EQ_INT(n2, 54);
	T_EQ_MEM(m1, hi.e_pub, 32);
	T_EQ_MEM(hr.rs, is_pub, 32);	/* the responder learnt who called */
	T_ASSERT(noise_hs_done(&hi) && noise_hs_done(&hr));
	T_EQ_MEM(noise_hs_hash(&hi, &hl), noise_hs_hash(&hr, NULL), 64);
	T_EQ_INT(hl, 64);
	T_EQ_INT(noise_hs_split(&hi, &ic1, &ic2), 0);
	T_EQ_INT(noise_hs_split(&hr, &rc1, &rc2), 0);
	T_EQ_MEM(ic1.k, rc1.k, 32);
	T_EQ_MEM(ic2.k, rc2.k, 32);
	T_ASSERT(memcmp(ic1.k, ic2.k, 32) != 0);
	T_EQ_INT(noise_cipher_encrypt(&ic1, NULL, 0, (const uint8_t *)"data", 4,
	    ct, sizeof(ct), &n), 0);
	T_EQ_INT(noise_cipher_decrypt(&rc1, NULL, 0, ct, n, pt, sizeof(pt), &n), 0);
	T_EQ_MEM(pt, "data", 4);
	/* A further write is refused: the handshake is over. */
	T_EQ_INT(noise_hs_write(&hi, NULL, 0, m1, sizeof(m1), &n), NOISE_ERR_STATE);
}

static void
test_ik_tamper_each_byte(void)
{
	struct noise_hs hi, hr, hr2, hi2;
	uint8_t is[32], rsk[32], rs_pub[32], m1[256], m2[256], pl[256];
	size_t n1, n2, plen, i;
	static const uint8_t pro[] = "peernet test";

	t_rnd_bytes(&seed, is, 32);
	t_rnd_bytes(&seed, rsk, 32);
	crypto_scalarmult_base(rs_pub, rsk);
	T_EQ_INT(ik_pair(&hi, &hr, is, rsk, rs_pub, m1, &n1, m2, &n2), 0);
	for (i = 32; i < n1; i++) {
		/* Past the ephemeral every byte is under an AEAD tag. */
		m1[i] ^= 0x01;
		T_EQ_INT(noise_hs_init(&hr2, NOISE_PATTERN_IK, NOISE_HASH_BLAKE2B,
		    0, pro, sizeof(pro), rsk, NULL), 0);
		T_ASSERT(noise_hs_read(&hr2, m1, n1, pl, sizeof(pl), &plen) ==
		    NOISE_ERR_DECRYPT);
		m1[i] ^= 0x01;
	}
	/* A changed ephemeral changes es, so the static no longer opens. */
	m1[0] ^= 0x40;
	T_EQ_INT(noise_hs_init(&hr2, NOISE_PATTERN_IK, NOISE_HASH_BLAKE2B, 0, pro,
	    sizeof(pro), rsk, NULL), 0);
	T_ASSERT(noise_hs_read(&hr2, m1, n1, pl, sizeof(pl), &plen) != 0);
	m1[0] ^= 0x40;
	/* Truncated: every length short of the full message fails. */
	for (i = 0; i < n1; i++) {
		T_EQ_INT(noise_hs_init(&hr2, NOISE_PATTERN_IK, NOISE_HASH_BLAKE2B,
		    0, pro, sizeof(pro), rsk, NULL), 0);
		T_ASSERT(noise_hs_read(&hr2, m1, i, pl, sizeof(pl), &plen) != 0);
	}
	/* The reply tampered reaches the initiator as a failure. */
	(void)hi2;
	for (i = 0; i < 48; i++) {
		struct noise_hs a, b;
		uint8_t x1[256], x2[256];
		size_t k1, k2;

		T_EQ_INT(noise_hs_init(&a, NOISE_PATTERN_IK, NOISE_HASH_BLAKE2B, 1,
		    pro, sizeof(pro), is, rs_pub), 0);
		T_EQ_INT(noise_hs_init(&b, NOISE_PATTERN_IK, NOISE_HASH_BLAKE2B, 0,
		    pro, sizeof(pro), rsk, NULL), 0);
		T_EQ_INT(noise_hs_write(&a, NULL, 0, x1, sizeof(x1), &k1), 0);
		T_EQ_INT(noise_hs_read(&b, x1, k1, pl, sizeof(pl), &plen), 0);
		T_EQ_INT(noise_hs_write(&b, NULL, 0, x2, sizeof(x2), &k2), 0);
		T_EQ_INT(k2, 48);
		x2[i] ^= 0x80;
		T_ASSERT(noise_hs_read(&a, x2, k2, pl, sizeof(pl), &plen) != 0);
	}
}

static void
test_ik_wrong_static_or_prologue(void)
{
	struct noise_hs hi, hr;
	uint8_t is[32], rsk[32], other[32], other_pub[32], m1[256], pl[256];
	size_t n1, plen;
	static const uint8_t pro[] = "peernet test";

	t_rnd_bytes(&seed, is, 32);
	t_rnd_bytes(&seed, rsk, 32);
	t_rnd_bytes(&seed, other, 32);
	crypto_scalarmult_base(other_pub, other);
	/* The initiator believes the responder's key is other_pub. */
	T_EQ_INT(noise_hs_init(&hi, NOISE_PATTERN_IK, NOISE_HASH_BLAKE2B, 1, pro,
	    sizeof(pro), is, other_pub), 0);
	T_EQ_INT(noise_hs_init(&hr, NOISE_PATTERN_IK, NOISE_HASH_BLAKE2B, 0, pro,
	    sizeof(pro), rsk, NULL), 0);
	T_EQ_INT(noise_hs_write(&hi, NULL, 0, m1, sizeof(m1), &n1), 0);
	T_EQ_INT(noise_hs_read(&hr, m1, n1, pl, sizeof(pl), &plen), NOISE_ERR_DECRYPT);
	/* A different prologue (what the two sides advertised) fails too. */
	crypto_scalarmult_base(other_pub, rsk);
	T_EQ_INT(noise_hs_init(&hi, NOISE_PATTERN_IK, NOISE_HASH_BLAKE2B, 1, pro,
	    sizeof(pro) - 1, is, other_pub), 0);
	T_EQ_INT(noise_hs_init(&hr, NOISE_PATTERN_IK, NOISE_HASH_BLAKE2B, 0, pro,
	    sizeof(pro), rsk, NULL), 0);
	T_EQ_INT(noise_hs_write(&hi, NULL, 0, m1, sizeof(m1), &n1), 0);
	T_EQ_INT(noise_hs_read(&hr, m1, n1, pl, sizeof(pl), &plen), NOISE_ERR_DECRYPT);
	/* The IK initiator cannot start without the responder's key. */
	T_EQ_INT(noise_hs_init(&hi, NOISE_PATTERN_IK, NOISE_HASH_BLAKE2B, 1, pro,
	    sizeof(pro), is, NULL), NOISE_ERR_ARG);
}

static void
test_turn_order_and_low_order_point(void)
{
	struct noise_hs hi, hr;
	uint8_t rsk[32], is[32], rs_pub[32], m[256], pl[256];
	size_t n, plen;
	static const uint8_t zero_point[32];

	t_rnd_bytes(&seed, is, 32);
	t_rnd_bytes(&seed, rsk, 32);
	crypto_scalarmult_base(rs_pub, rsk);
	T_EQ_INT(noise_hs_init(&hr, NOISE_PATTERN_IK, NOISE_HASH_BLAKE2B, 0, NULL,
	    0, rsk, NULL), 0);
	/* The responder may not speak first. */
	T_EQ_INT(noise_hs_write(&hr, NULL, 0, m, sizeof(m), &n), NOISE_ERR_STATE);
	/* An ephemeral of all zeros (a low-order point) is refused at es. */
	memset(m, 0, sizeof(m));
	T_EQ_INT(noise_hs_read(&hr, m, 101, pl, sizeof(pl), &plen), NOISE_ERR_DH);
	(void)zero_point;
	/* A responder key that is a low-order point fails the initiator's es. */
	T_EQ_INT(noise_hs_init(&hi, NOISE_PATTERN_IK, NOISE_HASH_BLAKE2B, 1, NULL,
	    0, is, zero_point), 0);
	T_EQ_INT(noise_hs_write(&hi, NULL, 0, m, sizeof(m), &n), NOISE_ERR_DH);
	/* An output buffer one byte short is refused before any change. */
	T_EQ_INT(noise_hs_init(&hi, NOISE_PATTERN_IK, NOISE_HASH_BLAKE2B, 1, NULL,
	    0, is, rs_pub), 0);
	T_EQ_INT(noise_hs_write(&hi, NULL, 0, m, noise_hs_write_size(&hi, 0) - 1,
	    &n), NOISE_ERR_BUF);
	T_EQ_INT(noise_hs_write(&hi, NULL, 0, m, sizeof(m), &n), 0);
	T_EQ_INT(n, 96);
}

int
main(int argc, char **argv)
{
	(void)argc;
	if (t_suite_crypto(argv[0]) != 0)
		return 1;
	T_RUN(test_cacophony_vectors);
	T_RUN(test_ik_independent_vectors);
	T_RUN(test_hmac_sha256_matches_libsodium);
	T_RUN(test_protocol_name);
	T_RUN(test_ik_roundtrip);
	T_RUN(test_ik_tamper_each_byte);
	T_RUN(test_ik_wrong_static_or_prologue);
	T_RUN(test_turn_order_and_low_order_point);
	return t_done();
}
