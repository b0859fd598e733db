/*
 * fuzz_udt_pkt.c — libFuzzer target for the UDT packet decoder and, through
 * it, the connection state machine.
 *
 * The netd sources come in through udt_fz_alloc.h (the fuzz build compiles
 * only the common ones; both are pure: no sockets, no clock of their own).
 *
 * 1. An accepted packet re-encodes to exactly its input bytes and decodes
 *    again to the same fields.
 * 2. The input, split into packets by a 2-byte length prefix each, is fed to
 *    a connected server and a connected client; nothing may crash or send a
 *    packet the reference would choke on.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udt_fz_alloc.h"
#include "../unit/udt_forge.h"

static uint64_t fnow = 1000000;
static uint64_t frng = 1;

static uint64_t
f_now(void *ctx)
{
	(void)ctx;
	return fnow;
}

static int
f_send(void *ctx, const uint8_t *p, size_t len)
{
	struct udt_pkt q;

	(void)ctx;
	if (len < 4 || len > UDT_PKT_MAX || udt_pkt_decode(p, len, &q) != 0)
		abort();
	/* never a non-handshake packet to socket 0 (§12.4) */
	if ((!q.is_ctrl || q.type != UDT_CTRL_HANDSHAKE) && q.dst == 0)
		abort();
	return 0;
}

static void
f_rand(void *ctx, void *out, size_t n)
{
	uint8_t *o = out;
	size_t i;

	(void)ctx;
	for (i = 0; i < n; i++) {
		frng = frng * 6364136223846793005ULL + 1442695040888963407ULL;
		o[i] = (uint8_t)(frng >> 56) | 1;
	}
}

static void
check_codec(const uint8_t *data, size_t size)
{
	static uint8_t out[UDT_PKT_MAX], out2[UDT_PKT_MAX];
	struct udt_pkt p, q;
	size_t n, n2;

	if (udt_pkt_decode(data, size, &p) != UDT_OK)
		return;
	if (udt_pkt_encode(out, sizeof(out), &n, &p) != UDT_OK ||
	    n != size || memcmp(out, data, n) != 0)
		abort();
	if (udt_pkt_decode(out, n, &q) != UDT_OK ||
	    udt_pkt_encode(out2, sizeof(out2), &n2, &q) != UDT_OK ||
	    n2 != n || memcmp(out, out2, n) != 0)
		abort();
}

/* A client's step 1 or 3 for the server, the server's step 2 or 4 for the client. */
static void
handshake(struct udt_conn *c, uint32_t dst, int32_t req, uint32_t sid)
{
	uint8_t b[UDT_HS_SIZE];

	udt_input(c, b, udt_forge_hs(b, dst, UDT_VERSION, UDT_SOCK_STREAM,
	    udt_init_seq(c) ? udt_init_seq(c) : 0x7ffffff0, 64, req, sid));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct udt_env env = { f_now, f_send, f_rand, NULL };
	struct udt_conn *sv, *cl;
	static const uint8_t junk[3000];
	size_t off, n;

	check_codec(data, size);

	sv = udt_conn_new(&env);
	cl = udt_conn_new(&env);
	if (sv == NULL || cl == NULL)
		abort();
	/* the four steps in order: nothing else connects (fuzz_udt_hs) */
	udt_listen(sv);
	handshake(sv, 0, UDT_HS_REQUEST, 0x11223344);
	handshake(sv, 0, UDT_HS_RESPONSE, 0x11223344);
	udt_connect(cl);
	handshake(cl, udt_sock_id(cl), UDT_HS_REQUEST, 0);
	handshake(cl, udt_sock_id(cl), UDT_HS_RESPONSE, 0x55667788);
	if (!udt_is_connected(sv) || !udt_is_connected(cl))
		abort();
	udt_write(cl, junk, sizeof(junk));
	for (off = 0; off + 2 <= size; off += n) {
		n = (size_t)data[off] | (size_t)(data[off + 1] & 0x07) << 8;
		off += 2;
		if (n > size - off)
			n = size - off;
		udt_input((data[off - 1] & 0x80) ? cl : sv, data + off, n);
		fnow += data[off - 1] & 0x40 ? 20000 : 10;
		udt_tick(sv);
		udt_tick(cl);
		if (cl->snd_loss_n > UDT_SLOTS || sv->rcv_loss_n > UDT_SLOTS ||
		    sv->r_len > UDT_RCVBUF_BYTES)
			abort();
	}
	udt_conn_free(sv);
	udt_conn_free(cl);
	return 0;
}
