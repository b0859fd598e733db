/*
 * test_aead.c — common/aead.c (OpenSSL EVP) gives the bytes libsodium
 * gives for the same key, nonce, associated data and plaintext, for both
 * suites, in place and not; opens what libsodium sealed; refuses every
 * single-byte tamper and wipes the output then; and its per-thread context
 * cache stays right when more keys are in use than it holds.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "aead.h"
#include "t.h"

static uint64_t seed = 0xaead0001ULL;

/* libsodium's answer for alg: ct and tag (detached). */
static int
sodium_seal(int alg, const uint8_t *key, const uint8_t *nonce,
    const uint8_t *ad, size_t adlen, const uint8_t *pt, size_t len,
    uint8_t *ct, uint8_t *tag)
{
	if (alg == AEAD_AES256GCM)
		return crypto_aead_aes256gcm_encrypt_detached(ct, tag, NULL, pt,
		    len, ad, adlen, NULL, nonce, key);
	return crypto_aead_chacha20poly1305_ietf_encrypt_detached(ct, tag, NULL,
	    pt, len, ad, adlen, NULL, nonce, key);
}

static const size_t lens[] = { 0, 1, 15, 16, 17, 63, 64, 255, 1200, 1232, 1435, 4096 };

static void
check_alg(int alg)
{
	uint8_t key[32], nonce[12], ad[25], pt[4096], ct[4096], ct2[4096],
	    tag[16], tag2[16], back[4096];
	size_t i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t n = lens[i], adlen = i % 2 ? sizeof(ad) : 0;

		t_rnd_bytes(&seed, key, sizeof(key));
		t_rnd_bytes(&seed, nonce, sizeof(nonce));
		t_rnd_bytes(&seed, ad, sizeof(ad));
		t_rnd_bytes(&seed, pt, n);
		T_EQ_INT(aead_seal(alg, key, nonce, ad, adlen, pt, n, ct, tag), 0);
		T_EQ_INT(sodium_seal(alg, key, nonce, ad, adlen, pt, n, ct2, tag2), 0);
		T_EQ_MEM(ct, ct2, n);
		T_EQ_MEM(tag, tag2, 16);
		/* What libsodium sealed, we open. */
		T_EQ_INT(aead_open(alg, key, nonce, ad, adlen, ct2, n, tag2, back), 0);
		T_EQ_MEM(back, pt, n);
		/* In place, both ways. */
		memcpy(back, pt, n);
		T_EQ_INT(aead_seal(alg, key, nonce, ad, adlen, back, n, back, tag), 0);
		T_EQ_MEM(back, ct2, n);
		T_EQ_INT(aead_open(alg, key, nonce, ad, adlen, back, n, tag, back), 0);
		T_EQ_MEM(back, pt, n);
	}
}

static void
test_aesgcm_matches_libsodium(void)
{
	if (!crypto_aead_aes256gcm_is_available())
		T_SKIP("this CPU lacks AES-NI/PCLMUL: libsodium has no AES-GCM to compare with");
	check_alg(AEAD_AES256GCM);
}

static void
test_chacha_matches_libsodium(void)
{
	check_alg(AEAD_CHACHA20POLY1305);
}

/* Every single-byte change of ciphertext, tag, AD or nonce is refused. */
static void
test_tamper_refused_and_wiped(void)
{
	static const int algs[] = { AEAD_CHACHA20POLY1305, AEAD_AES256GCM };
	uint8_t key[32], nonce[12], ad[25], pt[64], ct[64], tag[16], out[64];
	size_t a, i;

	for (a = 0; a < 2; a++) {
		int alg = algs[a];

		t_rnd_bytes(&seed, key, sizeof(key));
		t_rnd_bytes(&seed, nonce, sizeof(nonce));
		t_rnd_bytes(&seed, ad, sizeof(ad));
		t_rnd_bytes(&seed, pt, sizeof(pt));
		T_EQ_INT(aead_seal(alg, key, nonce, ad, sizeof(ad), pt, sizeof(pt),
		    ct, tag), 0);
		for (i = 0; i < sizeof(ct) + sizeof(tag) + sizeof(ad) + sizeof(nonce); i++) {
			uint8_t *p = i < 64 ? &ct[i] : i < 80 ? &tag[i - 64] :
			    i < 105 ? &ad[i - 80] : &nonce[i - 105];

			*p ^= 0x01;
			memset(out, 0xee, sizeof(out));
			if (aead_open(alg, key, nonce, ad, sizeof(ad), ct, sizeof(ct),
			    tag, out) != -1)
				T_FAIL("alg %d: byte %zu changed, still authentic", alg, i);
			/* A forgery's plaintext is not left behind. */
			for (size_t k = 0; k < sizeof(out); k++)
				T_EQ_INT(out[k], 0);
			*p ^= 0x01;
		}
		T_EQ_INT(aead_open(alg, key, nonce, ad, sizeof(ad), ct, sizeof(ct),
		    tag, out), 0);
		T_EQ_MEM(out, pt, sizeof(pt));
	}
}

/*
 * 80 keys used round-robin (more than the cache's 32 contexts, so set-ups
 * are evicted and redone), some forgotten in between: every answer still
 * equals libsodium's.
 */
static void
test_cache_more_keys_than_slots(void)
{
	uint8_t keys[80][32], nonce[12] = { 0 }, pt[100], ct[100], ct2[100],
	    tag[16], tag2[16];
	int round, k;

	for (k = 0; k < 80; k++)
		t_rnd_bytes(&seed, keys[k], 32);
	for (round = 0; round < 3; round++) {
		for (k = 0; k < 80; k++) {
			int alg = k % 2 ? AEAD_CHACHA20POLY1305 : AEAD_AES256GCM;

			if (alg == AEAD_AES256GCM && !crypto_aead_aes256gcm_is_available())
				continue;
			nonce[0] = (uint8_t)round;
			nonce[1] = (uint8_t)k;
			t_rnd_bytes(&seed, pt, sizeof(pt));
			T_EQ_INT(aead_seal(alg, keys[k], nonce, NULL, 0, pt,
			    sizeof(pt), ct, tag), 0);
			T_EQ_INT(sodium_seal(alg, keys[k], nonce, NULL, 0, pt,
			    sizeof(pt), ct2, tag2), 0);
			T_EQ_MEM(ct, ct2, sizeof(ct));
			T_EQ_MEM(tag, tag2, sizeof(tag));
			if (k % 7 == 0)
				aead_forget(keys[k]);
		}
	}
}

/* An unknown algorithm number is an error, not a default. */
static void
test_unknown_alg(void)
{
	uint8_t key[32] = { 1 }, nonce[12] = { 0 }, buf[16] = { 0 }, tag[16];

	T_EQ_INT(aead_seal(0, key, nonce, NULL, 0, buf, sizeof(buf), buf, tag), -1);
	T_EQ_INT(aead_seal(3, key, nonce, NULL, 0, buf, sizeof(buf), buf, tag), -1);
	T_EQ_INT(aead_open(7, key, nonce, NULL, 0, buf, sizeof(buf), tag, buf), -1);
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	if (sodium_init() < 0 || aead_init() != 0)
		return 1;
	T_RUN(test_aesgcm_matches_libsodium);
	T_RUN(test_chacha_matches_libsodium);
	T_RUN(test_tamper_refused_and_wiped);
	T_RUN(test_cache_more_keys_than_slots);
	T_RUN(test_unknown_alg);
	return t_done();
}
