/*
 * noise.h — the Noise Protocol Framework's handshake (revision 34), as
 * much of it as peernet's secure transport needs: DH 25519, cipher
 * ChaChaPoly, hash BLAKE2b (or SHA256), the patterns IK (what we run), XX
 * and NN (kept because the published test vectors we check the engine
 * against use them; the three share every primitive, only the token lists
 * differ).  docs/secure.md explains why IK.
 *
 * All on libsodium: crypto_scalarmult (X25519), the IETF ChaCha20-Poly1305,
 * crypto_generichash_blake2b / crypto_hash_sha256, with HMAC and HKDF
 * written here exactly as the Noise specification defines them (§4.3:
 * HMAC over the hash's block size, not keyed BLAKE2).
 *
 * Pure state machines over caller memory: no allocation, no I/O.  The only
 * randomness is the ephemeral key, drawn from libsodium when the caller did
 * not set one (tests set one to reproduce the vectors).
 */
#ifndef PEERNET_NOISE_H
#define PEERNET_NOISE_H

#include <stddef.h>
#include <stdint.h>

#define NOISE_DH_LEN		32	/* X25519 keys and shared secrets */
#define NOISE_KEY_LEN		32	/* cipher key */
#define NOISE_TAG_LEN		16	/* Poly1305 tag */
#define NOISE_HASH_MAX		64	/* BLAKE2b; SHA256 uses 32 */
#define NOISE_MSG_MAX		65535	/* Noise's own limit on a message */
#define NOISE_NONCE_MAX		UINT64_MAX	/* reserved: never used to encrypt */

enum noise_hash {
	NOISE_HASH_BLAKE2B = 0,
	NOISE_HASH_SHA256 = 1,
};

enum noise_pattern {
	NOISE_PATTERN_IK = 0,	/* <- s; -> e, es, s, ss; <- e, ee, se */
	NOISE_PATTERN_XX = 1,	/* -> e; <- e, ee, s, es; -> s, se */
	NOISE_PATTERN_NN = 2,	/* -> e; <- e, ee */
};

enum noise_err {
	NOISE_OK = 0,
	NOISE_ERR_ARG = -1,		/* bad argument / wrong pattern input */
	NOISE_ERR_STATE = -2,		/* not this side's turn, or handshake over */
	NOISE_ERR_SHORT = -3,		/* message shorter than its tokens need */
	NOISE_ERR_BUF = -4,		/* output buffer too small */
	NOISE_ERR_DH = -5,		/* X25519 gave the all-zero output (low-order point) */
	NOISE_ERR_DECRYPT = -6,		/* authentication failed */
	NOISE_ERR_NONCE = -7,		/* cipher nonce exhausted */
	NOISE_ERR_INIT = -8,		/* libsodium set-up failed */
	NOISE_ERR_LONG = -9,		/* message above 65535 bytes */
};

/* CipherState (§5.1). */
struct noise_cipher {
	uint8_t		k[NOISE_KEY_LEN];
	uint64_t	n;
	int		has_key;
};

/* SymmetricState (§5.2). */
struct noise_symm {
	int		hash;			/* enum noise_hash */
	size_t		hlen;			/* 64 or 32 */
	uint8_t		ck[NOISE_HASH_MAX];
	uint8_t		h[NOISE_HASH_MAX];
	struct noise_cipher c;
};

/* HandshakeState (§5.3). */
struct noise_hs {
	struct noise_symm ss;
	int		pattern;
	int		initiator;
	int		msg;		/* index of the next handshake message */
	int		half;		/* tokens done, payload not yet (the _begin calls) */
	int		has_s, has_e, has_rs, has_re;
	uint8_t		s_priv[NOISE_DH_LEN], s_pub[NOISE_DH_LEN];
	uint8_t		e_priv[NOISE_DH_LEN], e_pub[NOISE_DH_LEN];
	uint8_t		rs[NOISE_DH_LEN], re[NOISE_DH_LEN];
};

/*
 * Initialize(): protocol name "Noise_<pattern>_25519_ChaChaPoly_<hash>",
 * the prologue, our static key s_priv (NULL when the pattern sends none)
 * and the peer's static rs (required for the IK initiator, else NULL).
 */
int	noise_hs_init(struct noise_hs *hs, int pattern, int hash, int initiator,
	    const uint8_t *prologue, size_t prologue_len,
	    const uint8_t *s_priv, const uint8_t *rs);
/* Fixes the ephemeral private key (tests); otherwise the writer draws one. */
int	noise_hs_set_ephemeral(struct noise_hs *hs, const uint8_t e_priv[NOISE_DH_LEN]);
/*
 * WriteMessage(): the next handshake message with `payload` into out.
 * noise_hs_write_size() is its exact length.
 */
int	noise_hs_write(struct noise_hs *hs, const uint8_t *payload, size_t plen,
	    uint8_t *out, size_t cap, size_t *out_len);
size_t	noise_hs_write_size(const struct noise_hs *hs, size_t plen);
/*
 * The same in two steps, so that a caller can read the handshake hash as it
 * stands just before the payload (noise_hs_hash) and sign it into the
 * payload: _begin writes the tokens of a message meant to carry plen payload
 * bytes (cap covers the whole message) and sets *off; _payload then writes
 * exactly plen bytes' ciphertext at out + off.
 */
int	noise_hs_write_begin(struct noise_hs *hs, size_t plen, uint8_t *out,
	    size_t cap, size_t *off);
int	noise_hs_write_payload(struct noise_hs *hs, const uint8_t *payload,
	    size_t plen, uint8_t *out, size_t cap, size_t *out_len);
/*
 * ReadMessage(): consumes the next handshake message and writes its payload
 * to out (cap >= len).  On any error the state is spoiled: discard it.
 */
int	noise_hs_read(struct noise_hs *hs, const uint8_t *msg, size_t len,
	    uint8_t *out, size_t cap, size_t *out_len);
/* Reading in two steps likewise: tokens (sets *off), then the payload. */
int	noise_hs_read_begin(struct noise_hs *hs, const uint8_t *msg, size_t len,
	    size_t *off);
int	noise_hs_read_payload(struct noise_hs *hs, const uint8_t *in, size_t len,
	    uint8_t *out, size_t cap, size_t *out_len);
/* 1 once every handshake message was written or read. */
int	noise_hs_done(const struct noise_hs *hs);
/*
 * Split(): c1 encrypts initiator -> responder, c2 the other way.  Wipes the
 * handshake's secrets (the hash h stays readable through noise_hs_hash).
 */
int	noise_hs_split(struct noise_hs *hs, struct noise_cipher *c1,
	    struct noise_cipher *c2);
/* The handshake hash h (hlen bytes): what both sides sign, channel binding. */
const uint8_t *noise_hs_hash(const struct noise_hs *hs, size_t *hlen);
/* Overwrites every secret of hs. */
void	noise_hs_wipe(struct noise_hs *hs);

/* EncryptWithAd / DecryptWithAd (§5.1) on a transport CipherState. */
int	noise_cipher_encrypt(struct noise_cipher *c, const uint8_t *ad,
	    size_t adlen, const uint8_t *in, size_t len, uint8_t *out,
	    size_t cap, size_t *out_len);
int	noise_cipher_decrypt(struct noise_cipher *c, const uint8_t *ad,
	    size_t adlen, const uint8_t *in, size_t len, uint8_t *out,
	    size_t cap, size_t *out_len);

/* HMAC-HASH (§4.3) and HKDF with two or three outputs of hlen bytes. */
void	noise_hmac(int hash, const uint8_t *key, size_t klen, const uint8_t *in,
	    size_t len, uint8_t *out);
void	noise_hkdf(int hash, const uint8_t *ck, const uint8_t *ikm, size_t ilen,
	    uint8_t *o1, uint8_t *o2, uint8_t *o3);
/* "Noise_IK_25519_ChaChaPoly_BLAKE2b" etc. into out (cap >= 40). */
int	noise_protocol_name(int pattern, int hash, char *out, size_t cap);
const char *noise_strerror(int err);

#endif /* PEERNET_NOISE_H */
