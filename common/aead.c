/*
 * aead.c — AES-256-GCM and ChaCha20-Poly1305 through OpenSSL's EVP
 * interface, with the per-key set-up cached per thread (see aead.h for why
 * OpenSSL and why a cache).
 */
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "aead.h"

/*
 * The cache: AEAD_SETS sets of AEAD_WAYS contexts, a key's set chosen by its
 * first byte (keys are uniformly random).  32 contexts cover a node's live
 * sessions and transfers (each uses two keys) well; a miss costs one set-up
 * (~1 µs), not a wrong answer.
 */
#define AEAD_SETS	8
#define AEAD_WAYS	4

struct aead_slot {
	EVP_CIPHER_CTX	*ctx;		/* NULL until first used */
	uint8_t		key[AEAD_KEY_LEN];
	int		alg;		/* 0: empty */
	int		enc;
	uint64_t	used;		/* LRU tick */
};

static __thread struct aead_slot aead_cache[AEAD_SETS][AEAD_WAYS];
static __thread uint64_t aead_tick;

static EVP_CIPHER *aead_gcm, *aead_chacha;
static pthread_once_t aead_once = PTHREAD_ONCE_INIT;
static int aead_ok;

static void
aead_load(void)
{
	/* Our own process's settings only: no openssl.cnf from the host. */
	if (OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) != 1)
		return;
	aead_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	aead_chacha = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	aead_ok = aead_gcm != NULL && aead_chacha != NULL;
}

int
aead_init(void)
{
	pthread_once(&aead_once, aead_load);
	return aead_ok ? 0 : -1;
}

/* This thread's context for (alg, key, enc), set up on a miss. */
static EVP_CIPHER_CTX *
aead_ctx(int alg, const uint8_t key[AEAD_KEY_LEN], int enc)
{
	struct aead_slot *set = aead_cache[key[0] % AEAD_SETS], *victim;
	const EVP_CIPHER *cipher;
	int i;

	victim = &set[0];
	for (i = 0; i < AEAD_WAYS; i++) {
		struct aead_slot *s = &set[i];

		if (s->alg == alg && s->enc == enc &&
		    memcmp(s->key, key, AEAD_KEY_LEN) == 0) {
			s->used = ++aead_tick;
			return s->ctx;
		}
		if (s->used < victim->used)
			victim = s;
	}
	if (aead_init() != 0)
		return NULL;
	cipher = alg == AEAD_AES256GCM ? aead_gcm :
	    alg == AEAD_CHACHA20POLY1305 ? aead_chacha : NULL;
	if (cipher == NULL)
		return NULL;
	if (victim->ctx == NULL && (victim->ctx = EVP_CIPHER_CTX_new()) == NULL)
		return NULL;
	victim->alg = 0;
	OPENSSL_cleanse(victim->key, sizeof(victim->key));
	if (EVP_CipherInit_ex2(victim->ctx, cipher, key, NULL, enc, NULL) != 1)
		return NULL;
	memcpy(victim->key, key, AEAD_KEY_LEN);
	victim->alg = alg;
	victim->enc = enc;
	victim->used = ++aead_tick;
	return victim->ctx;
}

int
aead_seal(int alg, const uint8_t key[AEAD_KEY_LEN],
    const uint8_t nonce[AEAD_NONCE_LEN], const uint8_t *ad, size_t adlen,
    const uint8_t *pt, size_t len, uint8_t *ct, uint8_t tag[AEAD_TAG_LEN])
{
	EVP_CIPHER_CTX *ctx = aead_ctx(alg, key, 1);
	int n;

	if (ctx == NULL || len > INT32_MAX || adlen > INT32_MAX)
		return -1;
	/* The key stays; only the nonce is new (and with it GCM's counter). */
	if (EVP_CipherInit_ex2(ctx, NULL, NULL, nonce, 1, NULL) != 1 ||
	    (adlen && EVP_CipherUpdate(ctx, NULL, &n, ad, (int)adlen) != 1) ||
	    (len && EVP_CipherUpdate(ctx, ct, &n, pt, (int)len) != 1) ||
	    EVP_CipherFinal_ex(ctx, ct + len, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_LEN,
	    tag) != 1)
		return -1;
	return 0;
}

int
aead_open(int alg, const uint8_t key[AEAD_KEY_LEN],
    const uint8_t nonce[AEAD_NONCE_LEN], const uint8_t *ad, size_t adlen,
    const uint8_t *ct, size_t len, const uint8_t tag[AEAD_TAG_LEN],
    uint8_t *pt)
{
	EVP_CIPHER_CTX *ctx = aead_ctx(alg, key, 0);
	uint8_t t[AEAD_TAG_LEN];
	int n;

	if (ctx == NULL || len > INT32_MAX || adlen > INT32_MAX)
		return -1;
	memcpy(t, tag, sizeof(t));	/* the ctrl takes a non-const pointer */
	if (EVP_CipherInit_ex2(ctx, NULL, NULL, nonce, 0, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_LEN, t) != 1 ||
	    (adlen && EVP_CipherUpdate(ctx, NULL, &n, ad, (int)adlen) != 1) ||
	    (len && EVP_CipherUpdate(ctx, pt, &n, ct, (int)len) != 1))
		return -1;
	/* Final checks the tag; a forgery's plaintext is wiped, not left. */
	if (EVP_CipherFinal_ex(ctx, pt + len, &n) != 1) {
		OPENSSL_cleanse(pt, len);
		return -1;
	}
	return 0;
}

void
aead_forget(const uint8_t key[AEAD_KEY_LEN])
{
	struct aead_slot *set = aead_cache[key[0] % AEAD_SETS];
	int i;

	for (i = 0; i < AEAD_WAYS; i++) {
		struct aead_slot *s = &set[i];

		if (s->alg != 0 && memcmp(s->key, key, AEAD_KEY_LEN) == 0) {
			EVP_CIPHER_CTX_reset(s->ctx);	/* wipes the key schedule */
			OPENSSL_cleanse(s->key, sizeof(s->key));
			s->alg = 0;
			s->used = 0;
		}
	}
}
