/* ident.c — node identity, node ID and compact recoverable signatures (see ident.h). */
#define _GNU_SOURCE	/* mkostemp */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <sodium.h>

#include "blake3.h"
#include "hex.h"
#include "ident.h"

/* §1.7: the reference hard-codes these key pairs for LAN discovery. */
const uint8_t ident_discovery_ipv4_pub[PEERNET_PUBKEY_BYTES] = {
	0x03, 0x01, 0x83, 0xfb, 0x07, 0x43, 0xf3, 0x5a, 0xf0, 0xd4, 0x2f,
	0x2b, 0x87, 0xbc, 0x35, 0x6d, 0x80, 0x78, 0x2a, 0x67, 0x21, 0xf8,
	0x73, 0x24, 0xb9, 0x0a, 0x51, 0xc8, 0xed, 0x86, 0x96, 0x8c, 0x72,
};
const uint8_t ident_discovery_ipv6_pub[PEERNET_PUBKEY_BYTES] = {
	0x02, 0xf4, 0x6e, 0xa8, 0x96, 0xd0, 0x94, 0xf1, 0x86, 0xdf, 0xe7,
	0x61, 0xac, 0x46, 0x21, 0xbb, 0x9f, 0x16, 0xc1, 0x0d, 0x9d, 0x6f,
	0xe4, 0xb9, 0x6c, 0xc2, 0x71, 0xc5, 0x88, 0x73, 0x00, 0x2a, 0x23,
};

static pthread_once_t	 ident_once = PTHREAD_ONCE_INIT;
static secp256k1_context *ident_ctx;

static void
ident_init_once(void)
{
	secp256k1_context *ctx;
	uint8_t seed[32];

	if (sodium_init() < 0)
		return;
	ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	if (ctx == NULL)
		return;
	/* Blinding for the signing code against timing/power side channels. */
	randombytes_buf(seed, sizeof(seed));
	if (!secp256k1_context_randomize(ctx, seed)) {
		secp256k1_context_destroy(ctx);
		return;
	}
	sodium_memzero(seed, sizeof(seed));
	ident_ctx = ctx;
}

const struct secp256k1_context_struct *
ident_secp_ctx(void)
{
	if (pthread_once(&ident_once, ident_init_once) != 0)
		return NULL;
	return ident_ctx;
}

int
ident_crypto_init(void)
{
	return ident_secp_ctx() != NULL ? IDENT_OK : IDENT_ERR_INIT;
}

void
ident_node_id(const uint8_t pub[PEERNET_PUBKEY_BYTES],
    uint8_t node_id[PEERNET_NODEID_BYTES])
{
	blake3_hash(pub, PEERNET_PUBKEY_BYTES, node_id);
}

int
ident_from_priv(struct ident *id, const uint8_t priv[PEERNET_PRIVKEY_BYTES])
{
	const secp256k1_context *ctx = ident_secp_ctx();
	secp256k1_pubkey pk;
	size_t n = PEERNET_PUBKEY_BYTES;

	if (id == NULL || priv == NULL)
		return IDENT_ERR_ARG;
	if (ctx == NULL)
		return IDENT_ERR_INIT;
	/* The reference does not range-check; we refuse 0 and >= n (§1.1). */
	if (!secp256k1_ec_seckey_verify(ctx, priv))
		return IDENT_ERR_PRIVKEY;
	memmove(id->priv, priv, PEERNET_PRIVKEY_BYTES);
	if (!secp256k1_ec_pubkey_create(ctx, &pk, id->priv) ||
	    !secp256k1_ec_pubkey_serialize(ctx, id->pub, &n, &pk,
	    SECP256K1_EC_COMPRESSED)) {
		ident_wipe(id);
		return IDENT_ERR_PRIVKEY;
	}
	ident_node_id(id->pub, id->node_id);
	return IDENT_OK;
}

int
ident_generate(struct ident *id)
{
	const secp256k1_context *ctx = ident_secp_ctx();
	uint8_t priv[PEERNET_PRIVKEY_BYTES];
	int i, rc;

	if (id == NULL)
		return IDENT_ERR_ARG;
	if (ctx == NULL)
		return IDENT_ERR_INIT;
	/* A random 256-bit string is >= n with probability ~2^-128. */
	for (i = 0; i < 64; i++) {
		randombytes_buf(priv, sizeof(priv));
		if (secp256k1_ec_seckey_verify(ctx, priv))
			break;
	}
	rc = ident_from_priv(id, priv);
	sodium_memzero(priv, sizeof(priv));
	return rc;
}

void
ident_wipe(struct ident *id)
{
	if (id != NULL)
		sodium_memzero(id, sizeof(*id));
}

int
ident_sign(const struct ident *id, const uint8_t hash[32],
    uint8_t sig[PEERNET_SIG_BYTES])
{
	const secp256k1_context *ctx = ident_secp_ctx();
	secp256k1_ecdsa_recoverable_signature rs;
	int recid;

	if (id == NULL || hash == NULL || sig == NULL)
		return IDENT_ERR_ARG;
	if (ctx == NULL)
		return IDENT_ERR_INIT;
	/* NULL nonce function = RFC 6979 without extra data; S comes out low. */
	if (!secp256k1_ecdsa_sign_recoverable(ctx, &rs, hash, id->priv, NULL,
	    NULL))
		return IDENT_ERR_SIGN;
	if (!secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx,
	    sig + 1, &recid, &rs))
		return IDENT_ERR_SIGN;
	sig[0] = (uint8_t)(27 + 4 + recid);
	return IDENT_OK;
}

int
ident_recover(const uint8_t sig[PEERNET_SIG_BYTES], const uint8_t hash[32],
    uint8_t pub[PEERNET_PUBKEY_BYTES])
{
	const secp256k1_context *ctx = ident_secp_ctx();
	secp256k1_ecdsa_recoverable_signature rs;
	secp256k1_pubkey pk;
	size_t n = PEERNET_PUBKEY_BYTES;

	if (sig == NULL || hash == NULL || pub == NULL)
		return IDENT_ERR_ARG;
	if (ctx == NULL)
		return IDENT_ERR_INIT;
	/* The reference takes recid = (header - 27) & ~4; anything else fails there. */
	if (sig[0] < 27 || sig[0] > 34)
		return IDENT_ERR_SIG_HEADER;
	if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rs,
	    sig + 1, (sig[0] - 27) & 3))
		return IDENT_ERR_SIG_RANGE;
	if (!secp256k1_ecdsa_recover(ctx, &pk, &rs, hash))
		return IDENT_ERR_RECOVER;
	if (!secp256k1_ec_pubkey_serialize(ctx, pub, &n, &pk,
	    SECP256K1_EC_COMPRESSED))
		return IDENT_ERR_RECOVER;
	return IDENT_OK;
}

int
ident_pubkey_valid(const uint8_t pub[PEERNET_PUBKEY_BYTES])
{
	const secp256k1_context *ctx = ident_secp_ctx();
	secp256k1_pubkey pk;

	if (ctx == NULL || pub == NULL || (pub[0] != 0x02 && pub[0] != 0x03))
		return 0;
	return secp256k1_ec_pubkey_parse(ctx, &pk, pub, PEERNET_PUBKEY_BYTES);
}

int
ident_pubkey_from_hex(const char *hex, uint8_t pub[PEERNET_PUBKEY_BYTES])
{
	uint8_t tmp[PEERNET_PUBKEY_BYTES];

	if (hex == NULL || pub == NULL)
		return IDENT_ERR_ARG;
	if (strlen(hex) != 2 * PEERNET_PUBKEY_BYTES ||
	    hex_decode(tmp, sizeof(tmp), hex) != PEERNET_PUBKEY_BYTES)
		return IDENT_ERR_HEX;
	if (!ident_pubkey_valid(tmp))
		return IDENT_ERR_PUBKEY;
	memcpy(pub, tmp, sizeof(tmp));
	return IDENT_OK;
}

int
ident_pubkey_uncompress(const uint8_t pub[PEERNET_PUBKEY_BYTES],
    uint8_t out[PEERNET_PUBKEY_UNCOMPRESSED_BYTES])
{
	const secp256k1_context *ctx = ident_secp_ctx();
	secp256k1_pubkey pk;
	size_t n = PEERNET_PUBKEY_UNCOMPRESSED_BYTES;

	if (ctx == NULL)
		return IDENT_ERR_INIT;
	if (!ident_pubkey_valid(pub) ||
	    !secp256k1_ec_pubkey_parse(ctx, &pk, pub, PEERNET_PUBKEY_BYTES) ||
	    !secp256k1_ec_pubkey_serialize(ctx, out, &n, &pk,
	    SECP256K1_EC_UNCOMPRESSED))
		return IDENT_ERR_PUBKEY;
	return IDENT_OK;
}

/* Key file: parse "<64 hex digits>" with optional trailing whitespace. */
static int
ident_parse_file(struct ident *id, char *text, size_t len)
{
	uint8_t priv[PEERNET_PRIVKEY_BYTES];
	int rc;

	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' ||
	    text[len - 1] == ' ' || text[len - 1] == '\t'))
		len--;
	text[len] = '\0';
	if (len != 2 * PEERNET_PRIVKEY_BYTES ||
	    hex_decode(priv, sizeof(priv), text) != PEERNET_PRIVKEY_BYTES) {
		sodium_memzero(priv, sizeof(priv));
		return IDENT_ERR_HEX;
	}
	rc = ident_from_priv(id, priv);
	sodium_memzero(priv, sizeof(priv));
	return rc;
}

int
ident_load(struct ident *id, const char *path)
{
	char text[IDENT_FILE_MAX + 1];
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd, rc, saved;

	if (id == NULL || path == NULL)
		return IDENT_ERR_ARG;
	/* O_NONBLOCK: opening a FIFO planted at path must not hang us. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT)
			return IDENT_ERR_NOENT;
		if (errno == ELOOP)
			return IDENT_ERR_NOTFILE;
		return IDENT_ERR_IO;
	}
	if (fstat(fd, &st) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return IDENT_ERR_IO;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return IDENT_ERR_NOTFILE;
	}
	if ((st.st_mode & 077) != 0) {
		close(fd);
		return IDENT_ERR_PERM;
	}
	while (len < sizeof(text) - 1) {
		n = read(fd, text + len, sizeof(text) - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			saved = errno;
			close(fd);
			sodium_memzero(text, sizeof(text));
			errno = saved;
			return IDENT_ERR_IO;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	rc = ident_parse_file(id, text, len);
	sodium_memzero(text, sizeof(text));
	return rc;
}

static int
ident_write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Makes the rename durable: fsync the directory that holds path. */
static int
ident_fsync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, rc;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else {
		if ((size_t)(slash - path) >= sizeof(dir))
			return -1;
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
ident_save(const struct ident *id, const char *path)
{
	char tmp[PATH_MAX];
	char text[2 * PEERNET_PRIVKEY_BYTES + 2];
	int fd, saved, n;

	if (id == NULL || path == NULL)
		return IDENT_ERR_ARG;
	n = snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return IDENT_ERR_IO;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd == -1)
		return IDENT_ERR_IO;
	hex_encode(text, id->priv, PEERNET_PRIVKEY_BYTES);
	text[2 * PEERNET_PRIVKEY_BYTES] = '\n';
	text[2 * PEERNET_PRIVKEY_BYTES + 1] = '\0';
	/* mkostemp already uses 0600; fchmod guards against an odd umask/libc. */
	if (fchmod(fd, S_IRUSR | S_IWUSR) == -1 ||
	    ident_write_all(fd, text, 2 * PEERNET_PRIVKEY_BYTES + 1) == -1 ||
	    fsync(fd) == -1)
		goto fail;
	sodium_memzero(text, sizeof(text));
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	if (ident_fsync_dir(path) == -1)
		return IDENT_ERR_IO;
	return IDENT_OK;
fail:
	saved = errno;
	sodium_memzero(text, sizeof(text));
	if (fd != -1)
		close(fd);
	unlink(tmp);
	errno = saved;
	return IDENT_ERR_IO;
}

const char *
ident_strerror(int err)
{
	switch (err) {
	case IDENT_OK:
		return "success";
	case IDENT_ERR_INIT:
		return "crypto library initialisation failed";
	case IDENT_ERR_PRIVKEY:
		return "invalid private key (zero or not below the curve order)";
	case IDENT_ERR_PUBKEY:
		return "invalid public key (not a compressed secp256k1 point)";
	case IDENT_ERR_SIGN:
		return "signing failed";
	case IDENT_ERR_SIG_HEADER:
		return "signature header byte not in 27..34";
	case IDENT_ERR_SIG_RANGE:
		return "signature r or s not below the curve order";
	case IDENT_ERR_RECOVER:
		return "signature does not recover to a public key";
	case IDENT_ERR_HEX:
		return "not the expected number of hex digits";
	case IDENT_ERR_NOENT:
		return "key file does not exist";
	case IDENT_ERR_PERM:
		return "key file is accessible by group or others (chmod 600 it)";
	case IDENT_ERR_NOTFILE:
		return "key file is not a regular file";
	case IDENT_ERR_IO:
		return "key file I/O error";
	case IDENT_ERR_ARG:
		return "invalid argument";
	}
	return "unknown ident error";
}
