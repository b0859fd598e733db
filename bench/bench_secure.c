/*
 * bench_secure.c — the secure transport's per-packet cost against version
 * 0's, and its AEAD throughput against libsodium's bare AEAD.
 *
 *   secure_packet_rate: one secure_seal + one secure_open of a 100-byte
 *     payload per packet; limit = one wire_packet_encode + one
 *     wire_packet_decode of the same payload (a signature and a public-key
 *     recovery per packet).  Goal (issue #20): ratio >= 5.
 *   secure_aead_throughput: 1200-byte payloads sealed and opened in place
 *     through a transfer channel (what wraps lite packets), in payload
 *     bytes per second; limit = the bare OpenSSL EVP AEAD (the one the
 *     session chose, common/aead.c's library) encrypting and decrypting the
 *     same buffer, so the ratio is what our framing, counter, replay window
 *     and context cache cost.
 *   secure_aead_vs_libsodium: the same against libsodium's AEAD, which the
 *     channels used before common/aead.c (ratio > 1: OpenSSL is faster).
 *
 * Single thread.  Each measurement and its limit run in alternating 25 ms
 * slices (60 each), so load from other processes hits both alike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "ident.h"
#include "secure.h"
#include "t.h"
#include "wire_packet.h"

#define PAYLOAD		100
#define BULK		1200

static struct ident a, b;
static struct secure_session sa, sb;
static struct secure_chan xa, xb;
static uint8_t payload[PAYLOAD];
static uint8_t bulk[SECURE_HDR_LEN + BULK + SECURE_TAG_LEN];
static volatile unsigned sink;
/* The bare AEAD's own key: never the channel's, so no nonce is reused. */
static uint8_t bare_key[32], bare_ad[25];
static crypto_aead_aes256gcm_state bare_st;

static void
op_secure(void)
{
	static uint8_t pkt[PAYLOAD + SECURE_OVERHEAD], out[PAYLOAD];
	size_t n, m;

	payload[0]++;
	if (secure_seal(&sa, 0, payload, PAYLOAD, pkt, sizeof(pkt), &n) != 0 ||
	    secure_open(&sb, 0, pkt, n, out, sizeof(out), &m) != 0)
		abort();
	sink += out[0];
}

static void
op_v0(void)
{
	static uint8_t raw[WIRE_PACKET_ENCODE_CAP(PAYLOAD)], plain[WIRE_PACKET_MAX];
	struct wire_packet p;
	size_t n;

	payload[0]++;
	if (wire_packet_encode(raw, sizeof(raw), &n, &a, b.pub, 10, 7, payload,
	    PAYLOAD) != 0 ||
	    wire_packet_decode(raw, n, b.pub, plain, sizeof(plain), &p) != 0)
		abort();
	sink += p.payload[0];
}

static void
op_bulk(void)
{
	uint8_t *pl = bulk + SECURE_HDR_LEN;
	size_t plen;

	pl[0]++;
	if (secure_chan_seal(&xa, pl, BULK, bulk) != 0 ||
	    secure_chan_open(&xb, bulk, BULK + SECURE_OVERHEAD, pl, &plen) != 0)
		abort();
	sink += pl[0];
}

/* One 1,200-byte seal + open with libsodium's own AEAD (what we used before). */
static void
op_sodium(void)
{
	static uint64_t n;
	uint8_t nonce[12] = { 0 }, tag[16];
	uint8_t *m = bulk + SECURE_HDR_LEN;

	memcpy(nonce + 4, &n, 8);
	n++;
	m[0]++;
	if (xa.aead == SECURE_AEAD_AESGCM) {
		crypto_aead_aes256gcm_encrypt_detached_afternm(m, tag, NULL, m, BULK,
		    bare_ad, 25, NULL, nonce, &bare_st);
		if (crypto_aead_aes256gcm_decrypt_detached_afternm(m, NULL, m, BULK,
		    tag, bare_ad, 25, nonce, &bare_st) != 0)
			abort();
	} else {
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(m, tag, NULL, m,
		    BULK, bare_ad, 25, NULL, nonce, bare_key);
		if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(m, NULL, m,
		    BULK, tag, bare_ad, 25, nonce, bare_key) != 0)
			abort();
	}
	sink += m[0];
}

/*
 * The same with OpenSSL's EVP on two contexts keyed once (what
 * `openssl speed -evp` runs): the cipher's own speed, without our cache
 * lookup, framing, counter or replay window.
 */
static EVP_CIPHER_CTX *bare_enc, *bare_dec;

static void
op_bare(void)
{
	static uint64_t n;
	uint8_t nonce[12] = { 0 }, tag[16];
	uint8_t *m = bulk + SECURE_HDR_LEN;
	int l;

	memcpy(nonce + 4, &n, 8);
	n++;
	m[0]++;
	if (EVP_CipherInit_ex2(bare_enc, NULL, NULL, nonce, 1, NULL) != 1 ||
	    EVP_CipherUpdate(bare_enc, NULL, &l, bare_ad, 25) != 1 ||
	    EVP_CipherUpdate(bare_enc, m, &l, m, BULK) != 1 ||
	    EVP_CipherFinal_ex(bare_enc, m + BULK, &l) != 1 ||
	    EVP_CIPHER_CTX_ctrl(bare_enc, EVP_CTRL_AEAD_GET_TAG, 16, tag) != 1 ||
	    EVP_CipherInit_ex2(bare_dec, NULL, NULL, nonce, 0, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(bare_dec, EVP_CTRL_AEAD_SET_TAG, 16, tag) != 1 ||
	    EVP_CipherUpdate(bare_dec, NULL, &l, bare_ad, 25) != 1 ||
	    EVP_CipherUpdate(bare_dec, m, &l, m, BULK) != 1 ||
	    EVP_CipherFinal_ex(bare_dec, m + BULK, &l) != 1)
		abort();
	sink += m[0];
}

/* One handshake a -> b in memory; the sessions the benchmark uses. */
static int
setup(void)
{
	struct secure_node na, nb;
	struct secure_initiation in;
	struct secure_init_info info;
	struct wire_secure_ext eb;
	uint8_t init[SECURE_INIT_LEN], resp[SECURE_RESP_LEN], reply[128], tid[16];
	uint8_t pkt[SECURE_OVERHEAD], out[1];
	size_t n, rn;

	if (secure_node_init(&na, &a, NULL, 0) != 0 ||
	    secure_node_init(&nb, &b, NULL, 0) != 0)
		return -1;
	secure_node_ext(&nb, &eb);
	memset(&in, 0, sizeof(in));
	if (secure_initiate(&in, &na, &eb, b.pub, 1, 1, 0, init, sizeof(init), &n) != 0 ||
	    secure_respond_check(&nb, init, n, NULL, 0, 0, &info, reply,
	    sizeof(reply), &rn) != 0 ||
	    secure_respond(&info, &nb, 2, 0, resp, sizeof(resp), &n, &sb) != 0 ||
	    secure_initiation_finish(&in, &na, resp, n, 0, &sa) != 0)
		return -1;
	/* The responder's session is confirmed by the first packet. */
	if (secure_seal(&sa, 0, NULL, 0, pkt, sizeof(pkt), &n) != 0 ||
	    secure_open(&sb, 0, pkt, n, out, sizeof(out), &rn) != 0)
		return -1;
	randombytes_buf(bare_key, sizeof(bare_key));
	if (crypto_aead_aes256gcm_is_available())
		crypto_aead_aes256gcm_beforenm(&bare_st, bare_key);
	{
		EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, sa.ch.aead == SECURE_AEAD_AESGCM ?
		    "AES-256-GCM" : "ChaCha20-Poly1305", NULL);

		if (c == NULL || (bare_enc = EVP_CIPHER_CTX_new()) == NULL ||
		    (bare_dec = EVP_CIPHER_CTX_new()) == NULL ||
		    EVP_CipherInit_ex2(bare_enc, c, bare_key, NULL, 1, NULL) != 1 ||
		    EVP_CipherInit_ex2(bare_dec, c, bare_key, NULL, 0, NULL) != 1)
			return -1;
		EVP_CIPHER_free(c);
	}
	memset(tid, 0x77, sizeof(tid));
	if (secure_xfer_derive(&sb, tid, 0, &xa) != 0 ||
	    secure_xfer_derive(&sa, tid, 1, &xb) != 0)
		return -1;
	return 0;
}

int
main(void)
{
	if (t_ident_fill(&a, 0x11) != 0 || t_ident_fill(&b, 0x22) != 0)
		return 1;
	if (setup() != 0) {
		fprintf(stderr, "bench_secure: handshake failed\n");
		return 1;
	}
	memset(payload, 0x5a, sizeof(payload));
	printf("# payload %d bytes, AEAD %s, 1 thread\n", PAYLOAD,
	    sa.ch.aead == SECURE_AEAD_AESGCM ? "AES-256-GCM" : "ChaCha20-Poly1305");
	t_bench_alternate("secure_packet_rate", "packets/s", 1, op_secure, op_v0);
	t_bench_alternate("secure_aead_throughput", "bytes/s", BULK, op_bulk, op_bare);
	/* What the switch from libsodium's AEAD gained (ratio > 1: faster). */
	t_bench_alternate("secure_aead_vs_libsodium", "bytes/s", BULK, op_bulk,
	    op_sodium);
	return 0;
}
