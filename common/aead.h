/*
 * aead.h — the secure transport's two AEADs (AES-256-GCM and IETF
 * ChaCha20-Poly1305: 32-byte key, 12-byte nonce, 16-byte detached tag)
 * through OpenSSL's libcrypto.
 *
 * Why not libsodium, which the rest of the tree uses: its AES-256-GCM runs
 * at ~0.66 GB/s on the CI machines (AES-NI, one block at a time), while
 * OpenSSL 3's stitched VAES/AVX-512 code seals 1,232-byte packets at
 * ~1.9 GB/s and its ChaCha20-Poly1305 at ~1.85 GB/s — the cipher was most
 * of a secure transfer's CPU.  The bytes are the same (test_aead checks
 * them against libsodium in both directions).
 *
 * A key's set-up (AES key schedule, GHASH tables) is kept in a small
 * per-thread cache of cipher contexts looked up by the key itself, so
 * callers keep plain value structs (a secure_chan may be copied) and pay
 * the set-up once per key, not per packet.  A key that falls out of the
 * cache is set up again on its next use: slower, never wrong.
 */
#ifndef PEERNET_AEAD_H
#define PEERNET_AEAD_H

#include <stddef.h>
#include <stdint.h>

enum aead_alg {
	AEAD_CHACHA20POLY1305 = 1,	/* same values as enum secure_aead */
	AEAD_AES256GCM = 2,
};

#define AEAD_KEY_LEN	32
#define AEAD_NONCE_LEN	12
#define AEAD_TAG_LEN	16

/*
 * Loads both ciphers from OpenSSL's default provider without reading its
 * configuration file; call before a sandbox forbids opening files.
 * 0, or -1 when libcrypto lacks one of them.  Idempotent.
 */
int	aead_init(void);

/* ct (may be pt itself) = E(pt), tag = its 16-byte tag.  0 or -1. */
int	aead_seal(int alg, const uint8_t key[AEAD_KEY_LEN],
	    const uint8_t nonce[AEAD_NONCE_LEN], const uint8_t *ad, size_t adlen,
	    const uint8_t *pt, size_t len, uint8_t *ct, uint8_t tag[AEAD_TAG_LEN]);

/* pt (may be ct itself) = D(ct) when tag is authentic: 0; else -1. */
int	aead_open(int alg, const uint8_t key[AEAD_KEY_LEN],
	    const uint8_t nonce[AEAD_NONCE_LEN], const uint8_t *ad, size_t adlen,
	    const uint8_t *ct, size_t len, const uint8_t tag[AEAD_TAG_LEN],
	    uint8_t *pt);

/* Drops this thread's cached set-up of key (a session ended). */
void	aead_forget(const uint8_t key[AEAD_KEY_LEN]);

#endif
