/*
 * wire_secure.c — the secure-transport extension block carried after the
 * last Announcement/Response section (see wire_secure.h, docs/secure.md).
 */
#include <string.h>

#include "buf.h"
#include "wire_secure.h"

static const uint8_t magic[3] = { 'P', 'N', 'X' };

int
wire_secure_ext_decode(const uint8_t *tail, size_t n, struct wire_secure_ext *e)
{
	struct buf_r r;
	const uint8_t *v;
	uint8_t type, len, seen = 0, zero = 0;
	size_t i;

	if (e == NULL || (n && tail == NULL))
		return WIRE_SECURE_ERR_ARG;
	memset(e, 0, sizeof(*e));
	if (n < WIRE_SECURE_MAGIC_LEN || memcmp(tail, magic, sizeof(magic)) != 0)
		return WIRE_SECURE_NONE;
	if (tail[3] != WIRE_SECURE_VERSION)
		return WIRE_SECURE_ERR_VERSION;
	buf_r_init(&r, tail + WIRE_SECURE_MAGIC_LEN, n - WIRE_SECURE_MAGIC_LEN);
	while (buf_r_left(&r) > 0) {
		type = buf_r_u8(&r);
		len = buf_r_u8(&r);
		if (r.err || (v = buf_r_take(&r, len)) == NULL)
			return WIRE_SECURE_ERR_TRUNC;
		switch (type) {
		case WIRE_SECURE_T_SUITES:
			if (len != 2)
				return WIRE_SECURE_ERR_LEN;
			e->suites = (uint16_t)(v[0] | v[1] << 8);
			break;
		case WIRE_SECURE_T_STATIC:
			if (len != WIRE_SECURE_KEY_LEN)
				return WIRE_SECURE_ERR_LEN;
			memcpy(e->static_key, v, len);
			break;
		case WIRE_SECURE_T_HSID:
			if (len != WIRE_SECURE_HSID_LEN)
				return WIRE_SECURE_ERR_LEN;
			memcpy(e->hs_id, v, len);
			break;
		default:
			continue;	/* a later version's item */
		}
		if (seen & (1u << type))
			return WIRE_SECURE_ERR_DUP;
		seen |= (uint8_t)(1u << type);
	}
	if (seen != ((1u << WIRE_SECURE_T_SUITES) | (1u << WIRE_SECURE_T_STATIC) |
	    (1u << WIRE_SECURE_T_HSID)))
		return WIRE_SECURE_ERR_MISSING;
	if (!(e->suites & WIRE_SECURE_SUITE_CHACHA))
		return WIRE_SECURE_ERR_SUITES;
	for (i = 0; i < WIRE_SECURE_KEY_LEN; i++)
		zero |= e->static_key[i];
	if (zero == 0)
		return WIRE_SECURE_ERR_KEY;
	return WIRE_SECURE_OK;
}

int
wire_secure_ext_encode(uint8_t *out, size_t cap, size_t *len,
    const struct wire_secure_ext *e)
{
	struct buf_w w;

	if (out == NULL || len == NULL || e == NULL)
		return WIRE_SECURE_ERR_ARG;
	if (cap < WIRE_SECURE_EXT_SIZE)
		return WIRE_SECURE_ERR_BUF;
	buf_w_init(&w, out, cap);
	buf_w_bytes(&w, magic, sizeof(magic));
	buf_w_u8(&w, WIRE_SECURE_VERSION);
	buf_w_u8(&w, WIRE_SECURE_T_SUITES);
	buf_w_u8(&w, 2);
	buf_w_le16(&w, e->suites);
	buf_w_u8(&w, WIRE_SECURE_T_STATIC);
	buf_w_u8(&w, WIRE_SECURE_KEY_LEN);
	buf_w_bytes(&w, e->static_key, WIRE_SECURE_KEY_LEN);
	buf_w_u8(&w, WIRE_SECURE_T_HSID);
	buf_w_u8(&w, WIRE_SECURE_HSID_LEN);
	buf_w_bytes(&w, e->hs_id, WIRE_SECURE_HSID_LEN);
	if (w.err)
		return WIRE_SECURE_ERR_BUF;
	*len = w.off;
	return WIRE_SECURE_OK;
}

size_t
wire_secure_announce_tail(const uint8_t *p, size_t len,
    const struct wire_announce *a)
{
	size_t off = WIRE_MSG_HDR_SIZE + a->hdr.ua_len;

	/* A set list bit consumes its 2-byte count even when the count is 0. */
	if (a->hdr.actions & WIRE_ACTION_FIND_PEER)
		off += 2 + a->n_find_peer * WIRE_KEY_SIZE;
	if (a->hdr.actions & WIRE_ACTION_FIND_VALUE)
		off += 2 + a->n_find_value * WIRE_KEY_SIZE;
	if (a->hdr.actions & WIRE_ACTION_INFO_STORE)
		off += 2 + a->n_info_store * WIRE_INFO_STORE_SIZE;
	(void)p;
	return off < len ? off : len;
}

size_t
wire_secure_response_tail(const uint8_t *p, size_t len,
    const struct wire_response *r)
{
	size_t off = WIRE_RESPONSE_MIN + r->hdr.ua_len + r->h2p_len +
	    r->files_len + (size_t)r->n_notfound * WIRE_KEY_SIZE;

	(void)p;
	return off < len ? off : len;
}

const char *
wire_secure_strerror(int err)
{
	switch (err) {
	case WIRE_SECURE_OK:		return "ok";
	case WIRE_SECURE_NONE:		return "no secure-transport extension";
	case WIRE_SECURE_ERR_TRUNC:	return "extension item truncated";
	case WIRE_SECURE_ERR_LEN:	return "extension item of the wrong length";
	case WIRE_SECURE_ERR_DUP:	return "extension item repeated";
	case WIRE_SECURE_ERR_MISSING:	return "extension item missing";
	case WIRE_SECURE_ERR_SUITES:	return "ChaCha20-Poly1305 not offered";
	case WIRE_SECURE_ERR_KEY:	return "static key is zero";
	case WIRE_SECURE_ERR_VERSION:	return "unknown extension version";
	case WIRE_SECURE_ERR_BUF:	return "buffer too small";
	case WIRE_SECURE_ERR_ARG:	return "bad argument";
	}
	return "unknown error";
}
