/*
 * wire_announce.c — the common header of Announcement / Response / Local
 * Discovery payloads (docs/protocol.md §3.1) and the Announcement itself (§3.2).
 * Local Discovery (§3.6) is an Announcement payload and uses these too.
 */
#include <string.h>

#include "buf.h"
#include "wire_msg.h"

const char *
wire_msg_strerror(int err)
{
	switch (err) {
	case WIRE_MSG_OK:			return "ok";
	case WIRE_MSG_ERR_SHORT:		return "payload shorter than its fixed header";
	case WIRE_MSG_ERR_UA_LEN:		return "user agent longer than the payload";
	case WIRE_MSG_ERR_UA_UTF8:		return "user agent is not valid UTF-8";
	case WIRE_MSG_ERR_FIND_PEER:		return "FIND_PEER block too short or truncated";
	case WIRE_MSG_ERR_FIND_VALUE:		return "FIND_VALUE block too short or truncated";
	case WIRE_MSG_ERR_INFO_STORE:		return "INFO_STORE block too short or truncated";
	case WIRE_MSG_ERR_COUNTS:		return "response shorter than header, user agent and counts";
	case WIRE_MSG_ERR_H2P_TRUNC:		return "Hash2Peer section truncated";
	case WIRE_MSG_ERR_FILE_TRUNC:		return "embedded file section truncated";
	case WIRE_MSG_ERR_FILE_HASH:		return "embedded file does not match its hash";
	case WIRE_MSG_ERR_NOTFOUND_TRUNC:	return "not-found hash list truncated";
	case WIRE_MSG_ERR_PEER_ID:		return "peer record ID is not a valid public key";
	case WIRE_MSG_ERR_IPV6_MAPPED:		return "IPv6 field holds an IPv4-mapped address";
	case WIRE_MSG_ERR_TARGET_ID:		return "traverse target is not a valid public key";
	case WIRE_MSG_ERR_RELAY_ID:		return "traverse relay is not a valid public key";
	case WIRE_MSG_ERR_TARGET_IS_RELAY:	return "traverse target equals relay";
	case WIRE_MSG_ERR_EMBED_LEN:		return "traverse embedded size does not match the payload";
	case WIRE_MSG_ERR_EMBED_SHORT:		return "traverse embedded packet shorter than a packet";
	case WIRE_MSG_ERR_SIGNATURE:		return "signature does not recover to the expected key";
	case WIRE_MSG_ERR_REQUEST_SHORT:	return "transfer REQUEST_START shorter than 66 bytes";
	case WIRE_MSG_ERR_DATA_SHORT:		return "UDT data shorter than 4 bytes";
	case WIRE_MSG_ERR_BLOCKCHAIN_ID:	return "get block blockchain key is not a valid public key";
	case WIRE_MSG_ERR_GB_REQUEST_SHORT:	return "get block REQUEST_START shorter than 68 bytes";
	case WIRE_MSG_ERR_NO_RANGES:		return "get block REQUEST_START without block ranges";
	case WIRE_MSG_ERR_RANGES_TRUNC:		return "get block range list truncated";
	case WIRE_MSG_ERR_LITE_LEN:		return "lite packet data length exceeds the datagram";
	case WIRE_MSG_ERR_BLOCK_COUNT:		return "block header count invalid";
	case WIRE_MSG_ERR_BLOCK_SIZE:		return "block larger than the requested maximum";
	case WIRE_MSG_ERR_BUF:			return "output buffer too small";
	case WIRE_MSG_ERR_TOO_MANY:		return "item count does not fit its field";
	case WIRE_MSG_ERR_FILE_SIZE:		return "embedded file larger than 65349 bytes";
	case WIRE_MSG_ERR_TOO_BIG:		return "item does not fit into any message part";
	case WIRE_MSG_ERR_ARG:			return "invalid argument";
	case WIRE_MSG_ERR_SIGN:			return "signing failed";
	}
	return "unknown wire message error";
}

/* Same acceptance as Go's utf8.Valid: the UA check of the reference. */
int
wire_utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0, k, need;
	uint8_t c, lo, hi;

	while (i < n) {
		c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0;	/* overlong */
			else if (c == 0xed)
				hi = 0x9f;	/* surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90;	/* overlong */
			else if (c == 0xf4)
				hi = 0x8f;	/* > U+10FFFF */
		} else
			return 0;
		if (n - i - 1 < need)
			return 0;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (k = 2; k <= need; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return 0;
		i += need + 1;
	}
	return 1;
}

int
wire_msg_hdr_set_ua(struct wire_msg_hdr *hdr, const char *s)
{
	size_t n;

	if (hdr == NULL)
		return WIRE_MSG_ERR_ARG;
	hdr->ua_len = 0;
	hdr->ua[0] = '\0';
	if (s == NULL)
		return WIRE_MSG_OK;
	n = strlen(s);
	if (!wire_utf8_valid((const uint8_t *)s, n))
		return WIRE_MSG_ERR_UA_UTF8;
	if (n > WIRE_UA_MAX) {
		/* Back up to the start of the character that would be cut. */
		n = WIRE_UA_MAX;
		while (n > 0 && ((uint8_t)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(hdr->ua, s, n);
	hdr->ua[n] = '\0';
	hdr->ua_len = (uint8_t)n;
	return WIRE_MSG_OK;
}

/* Extension feature bits of this process (wire_msg_set_own_features). */
static uint8_t wire_own_features;

void
wire_msg_set_own_features(uint8_t bits)
{
	wire_own_features = bits & WIRE_FEATURE_RECORD_MASK;
}

int
wire_msg_set_ports(uint8_t *payload, size_t len, uint16_t internal,
    uint16_t external)
{
	if (payload == NULL || len < WIRE_MSG_HDR_SIZE)
		return WIRE_MSG_ERR_SHORT;
	buf_put_le16(payload + WIRE_PORTS_OFFSET, internal);
	buf_put_le16(payload + WIRE_PORTS_OFFSET + 2, external);
	return WIRE_MSG_OK;
}

int
wire_decode_begin(void *out, size_t size, const uint8_t *p, size_t len,
    size_t min)
{
	if (out == NULL)
		return WIRE_MSG_ERR_ARG;
	memset(out, 0, size);
	if (p == NULL || len < min)
		return WIRE_MSG_ERR_SHORT;
	return WIRE_MSG_OK;
}

int
wire_encode_end(const struct buf_w *w, size_t *len)
{
	if (w->err)
		return WIRE_MSG_ERR_BUF;
	*len = w->off;
	return WIRE_MSG_OK;
}

int
wire_msg_hdr_decode(const uint8_t *p, size_t len, struct wire_msg_hdr *h,
    size_t *off)
{
	struct buf_r r;
	const uint8_t *ua;

	if (p == NULL || len < WIRE_MSG_HDR_SIZE)
		return WIRE_MSG_ERR_SHORT;
	buf_r_init(&r, p, len);
	h->protocol = buf_r_u8(&r) & 0x0f;
	h->features = buf_r_u8(&r);
	h->actions = buf_r_u8(&r);
	h->blockchain_height = buf_r_le64(&r);
	h->blockchain_version = buf_r_le64(&r);
	h->port_internal = buf_r_le16(&r);
	h->port_external = buf_r_le16(&r);
	h->ua_len = buf_r_u8(&r);
	if ((ua = buf_r_take(&r, h->ua_len)) == NULL)
		return WIRE_MSG_ERR_UA_LEN;
	if (!wire_utf8_valid(ua, h->ua_len))
		return WIRE_MSG_ERR_UA_UTF8;
	memcpy(h->ua, ua, h->ua_len);
	h->ua[h->ua_len] = '\0';
	*off = r.off;
	return WIRE_MSG_OK;
}

int
wire_msg_hdr_check(const struct wire_msg_hdr *h)
{
	if (!wire_utf8_valid((const uint8_t *)h->ua, h->ua_len))
		return WIRE_MSG_ERR_UA_UTF8;
	return WIRE_MSG_OK;
}

/* Writes the 24 + U header bytes; the caller reserved them. */
void
wire_msg_hdr_write(uint8_t *out, const struct wire_msg_hdr *h, uint8_t actions)
{
	out[0] = h->protocol & 0x0f;
	out[1] = h->features | wire_own_features;
	out[2] = actions;
	buf_put_le64(out + 3, h->blockchain_height);
	buf_put_le64(out + 11, h->blockchain_version);
	buf_put_le16(out + 19, h->port_internal);
	buf_put_le16(out + 21, h->port_external);
	out[23] = h->ua_len;
	memcpy(out + WIRE_MSG_HDR_SIZE, h->ua, h->ua_len);
}

/*
 * One list block: u16 count, then count items.  The reference requires the
 * block to hold at least one item even when the count is 0 (§12.8).
 */
static int
list_decode(struct buf_r *r, size_t item, const uint8_t **items, size_t *n,
    int err)
{
	const uint8_t *q;
	uint16_t count;

	if (buf_r_left(r) < 2 + item)
		return err;
	count = buf_r_le16(r);
	if ((q = buf_r_take(r, (size_t)count * item)) == NULL)
		return err;
	*items = q;
	*n = count;
	return WIRE_MSG_OK;
}

int
wire_announce_decode(const uint8_t *p, size_t len, struct wire_announce *a)
{
	struct buf_r r;
	size_t off;
	int rc;

	if ((rc = wire_decode_begin(a, sizeof(*a), p, len,
	    WIRE_MSG_HDR_SIZE)) != 0 ||
	    (rc = wire_msg_hdr_decode(p, len, &a->hdr, &off)) != 0)
		return rc;
	buf_r_init(&r, p + off, len - off);
	if (a->hdr.actions & WIRE_ACTION_FIND_PEER &&
	    (rc = list_decode(&r, WIRE_KEY_SIZE, &a->find_peer,
	    &a->n_find_peer, WIRE_MSG_ERR_FIND_PEER)) != 0)
		return rc;
	if (a->hdr.actions & WIRE_ACTION_FIND_VALUE &&
	    (rc = list_decode(&r, WIRE_KEY_SIZE, &a->find_value,
	    &a->n_find_value, WIRE_MSG_ERR_FIND_VALUE)) != 0)
		return rc;
	if (a->hdr.actions & WIRE_ACTION_INFO_STORE &&
	    (rc = list_decode(&r, WIRE_INFO_STORE_SIZE, &a->info_store,
	    &a->n_info_store, WIRE_MSG_ERR_INFO_STORE)) != 0)
		return rc;
	/* Bytes after the last block are ignored (extension point, §3.2). */
	return WIRE_MSG_OK;
}

size_t
wire_announce_size(const struct wire_announce *a)
{
	size_t n = WIRE_MSG_HDR_SIZE + a->hdr.ua_len;

	if (a->n_find_peer > 0)
		n += 2 + a->n_find_peer * WIRE_KEY_SIZE;
	if (a->n_find_value > 0)
		n += 2 + a->n_find_value * WIRE_KEY_SIZE;
	if (a->n_info_store > 0)
		n += 2 + a->n_info_store * WIRE_INFO_STORE_SIZE;
	return n;
}

static void
list_write(struct buf_w *w, const uint8_t *items, size_t n, size_t item)
{
	if (n == 0)
		return;
	buf_w_le16(w, (uint16_t)n);
	buf_w_bytes(w, items, n * item);
}

int
wire_announce_encode(uint8_t *out, size_t cap, size_t *len,
    const struct wire_announce *a)
{
	struct buf_w w;
	uint8_t actions, *hdr;
	int rc;

	if (out == NULL || len == NULL || a == NULL)
		return WIRE_MSG_ERR_ARG;
	if (a->n_find_peer > UINT16_MAX || a->n_find_value > UINT16_MAX ||
	    a->n_info_store > UINT16_MAX)
		return WIRE_MSG_ERR_TOO_MANY;
	if ((a->n_find_peer > 0 && a->find_peer == NULL) ||
	    (a->n_find_value > 0 && a->find_value == NULL) ||
	    (a->n_info_store > 0 && a->info_store == NULL))
		return WIRE_MSG_ERR_ARG;
	if ((rc = wire_msg_hdr_check(&a->hdr)) != 0)
		return rc;
	if (wire_announce_size(a) > cap)
		return WIRE_MSG_ERR_BUF;

	/* A list bit is set exactly when its list is non-empty (§12.8). */
	actions = a->hdr.actions & ~WIRE_ACTION_LISTS;
	if (a->n_find_peer > 0)
		actions |= WIRE_ACTION_FIND_PEER;
	if (a->n_find_value > 0)
		actions |= WIRE_ACTION_FIND_VALUE;
	if (a->n_info_store > 0)
		actions |= WIRE_ACTION_INFO_STORE;

	buf_w_init(&w, out, cap);
	hdr = buf_w_reserve(&w, WIRE_MSG_HDR_SIZE + a->hdr.ua_len);
	if (hdr == NULL)
		return WIRE_MSG_ERR_BUF;
	wire_msg_hdr_write(hdr, &a->hdr, actions);
	list_write(&w, a->find_peer, a->n_find_peer, WIRE_KEY_SIZE);
	list_write(&w, a->find_value, a->n_find_value, WIRE_KEY_SIZE);
	list_write(&w, a->info_store, a->n_info_store, WIRE_INFO_STORE_SIZE);
	return wire_encode_end(&w, len);
}

void
wire_info_store_get(const uint8_t *recs, size_t i, struct wire_info_store *out)
{
	const uint8_t *q = recs + i * WIRE_INFO_STORE_SIZE;

	memcpy(out->hash, q, WIRE_KEY_SIZE);
	out->size = buf_le64(q + 32);
	out->type = q[40];
}

void
wire_info_store_put(uint8_t *recs, size_t i, const struct wire_info_store *in)
{
	uint8_t *q = recs + i * WIRE_INFO_STORE_SIZE;

	memcpy(q, in->hash, WIRE_KEY_SIZE);
	buf_put_le64(q + 32, in->size);
	q[40] = in->type;
}
