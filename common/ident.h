/*
 * ident.h — the node identity: a secp256k1 key pair, its node ID, and the
 * compact recoverable signatures Peernet uses (docs/protocol.md §1).
 *
 * Pure functions over bytes, except ident_load/ident_save (the key file).
 * One secp256k1 context serves the whole process: it is created on first use
 * (pthread_once), randomized against side channels, and read-only afterwards,
 * so every function here is safe to call from several threads at once.
 * A sandboxed process should call ident_crypto_init() before it installs its
 * seccomp filter, so the lazy set-up (getrandom) does not happen later.
 *
 * Signatures are byte-identical to the reference's btcec.SignCompact(...,
 * compressed=true): RFC 6979 nonce, low S, header byte 31 + recovery id.
 */
#ifndef PEERNET_IDENT_H
#define PEERNET_IDENT_H

#include <stddef.h>
#include <stdint.h>

#define PEERNET_PRIVKEY_BYTES	32
#define PEERNET_PUBKEY_BYTES	33	/* SEC1 compressed: 02/03 || X */
#define PEERNET_PUBKEY_UNCOMPRESSED_BYTES 65
#define PEERNET_NODEID_BYTES	32	/* blake3(compressed public key) */
#define PEERNET_SIG_BYTES	65	/* header || r || s */

/* Key file: 64 lowercase hex digits, an optional trailing newline. */
#define IDENT_FILE_MAX		256

struct ident {
	uint8_t	priv[PEERNET_PRIVKEY_BYTES];
	uint8_t	pub[PEERNET_PUBKEY_BYTES];
	uint8_t	node_id[PEERNET_NODEID_BYTES];
};

enum ident_err {
	IDENT_OK = 0,
	IDENT_ERR_INIT = -1,		/* libsodium / libsecp256k1 set-up failed */
	IDENT_ERR_PRIVKEY = -2,		/* scalar is 0 or >= n */
	IDENT_ERR_PUBKEY = -3,		/* not a valid compressed point */
	IDENT_ERR_SIGN = -4,		/* signing failed (cannot happen with a valid key) */
	IDENT_ERR_SIG_HEADER = -5,	/* signature header byte not in 27..34 */
	IDENT_ERR_SIG_RANGE = -6,	/* r or s is >= n */
	IDENT_ERR_RECOVER = -7,		/* no public key recovers (r or s zero, R.x not on curve, Q infinite) */
	IDENT_ERR_HEX = -8,		/* text is not the expected number of hex digits */
	IDENT_ERR_NOENT = -9,		/* key file does not exist */
	IDENT_ERR_PERM = -10,		/* key file is accessible by group or others */
	IDENT_ERR_NOTFILE = -11,	/* key file is not a regular file */
	IDENT_ERR_IO = -12,		/* open/read/write/fsync/rename failed (errno kept) */
	IDENT_ERR_ARG = -13,		/* NULL argument */
};

/* Sets up libsodium and the shared secp256k1 context; idempotent. */
int	ident_crypto_init(void);

int	ident_generate(struct ident *id);
int	ident_from_priv(struct ident *id, const uint8_t priv[PEERNET_PRIVKEY_BYTES]);
/*
 * Reads a key file written by ident_save.  Refuses (IDENT_ERR_PERM) a file
 * with any group or other permission bit: the key is the user's identity and
 * the write key of their blockchain.  Does not follow a symlink at `path`.
 * Format: exactly 64 hex digits, then optional whitespace (newline, CRLF).
 * IDENT_ERR_NOENT lets a caller tell "no key yet" (generate one) from damage.
 */
int	ident_load(struct ident *id, const char *path);
/* Writes path.tmp.XXXXXX with mode 0600, fsyncs, renames over path, fsyncs the directory. */
int	ident_save(const struct ident *id, const char *path);
/* Overwrites the private key in memory. */
void	ident_wipe(struct ident *id);

int	ident_sign(const struct ident *id, const uint8_t hash[32],
	    uint8_t sig[PEERNET_SIG_BYTES]);
/*
 * Public-key recovery as the reference's RecoverCompact: header 27..34
 * (recid = (header - 27) & 3, the "compressed" flag is ignored), high S
 * accepted.  pub receives the compressed key.
 */
int	ident_recover(const uint8_t sig[PEERNET_SIG_BYTES], const uint8_t hash[32],
	    uint8_t pub[PEERNET_PUBKEY_BYTES]);
void	ident_node_id(const uint8_t pub[PEERNET_PUBKEY_BYTES],
	    uint8_t node_id[PEERNET_NODEID_BYTES]);
int	ident_pubkey_valid(const uint8_t pub[PEERNET_PUBKEY_BYTES]);
/* Exactly 66 hex digits (the reference demands exactly 33 bytes) forming a valid key. */
int	ident_pubkey_from_hex(const char *hex, uint8_t pub[PEERNET_PUBKEY_BYTES]);
/* 65-byte 04 || X || Y form of a compressed key (for tests and tools). */
int	ident_pubkey_uncompress(const uint8_t pub[PEERNET_PUBKEY_BYTES],
	    uint8_t out[PEERNET_PUBKEY_UNCOMPRESSED_BYTES]);
const char *ident_strerror(int err);

/*
 * The shared secp256k1 context (created on first call; NULL if set-up
 * failed).  For modules that need other libsecp256k1 calls, and benchmarks.
 */
struct secp256k1_context_struct;
const struct secp256k1_context_struct *ident_secp_ctx(void);

/* The two hard-coded local discovery public keys (§1.7). */
extern const uint8_t ident_discovery_ipv4_pub[PEERNET_PUBKEY_BYTES];
extern const uint8_t ident_discovery_ipv6_pub[PEERNET_PUBKEY_BYTES];

#endif /* PEERNET_IDENT_H */
