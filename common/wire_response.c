/*
 * wire_response.c — the Response payload (docs/protocol.md §3.3): Hash2Peer
 * records, embedded files, not-found hashes; and the 70-byte peer record
 * (§3.4).
 */
#include <string.h>

#include "blake3.h"
#include "buf.h"
#include "wire_msg.h"

int
wire_ipv6_is_v4mapped(const uint8_t ip[16])
{
	static const uint8_t prefix[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	return memcmp(ip, prefix, sizeof(prefix)) == 0;
}

/* The two checks the reference makes on every record (§3.4). */
static int
peer_record_check(const uint8_t *rec)
{
	if (wire_ipv6_is_v4mapped(rec + 43))
		return WIRE_MSG_ERR_IPV6_MAPPED;
	if (ident_pubkey_valid(rec) != 1)
		return WIRE_MSG_ERR_PEER_ID;
	return WIRE_MSG_OK;
}

int
wire_peer_record_decode(const uint8_t rec[WIRE_PEER_RECORD_SIZE],
    struct wire_peer_record *out)
{
	struct buf_r r;
	uint8_t last;
	int rc;

	if (rec == NULL || out == NULL)
		return WIRE_MSG_ERR_ARG;
	if ((rc = peer_record_check(rec)) != 0)
		return rc;
	buf_r_init(&r, rec, WIRE_PEER_RECORD_SIZE);
	buf_r_copy(&r, out->peer_id, sizeof(out->peer_id));
	buf_r_copy(&r, out->ipv4, sizeof(out->ipv4));
	out->ipv4_port = buf_r_le16(&r);
	out->ipv4_port_internal = buf_r_le16(&r);
	out->ipv4_port_external = buf_r_le16(&r);
	buf_r_copy(&r, out->ipv6, sizeof(out->ipv6));
	out->ipv6_port = buf_r_le16(&r);
	out->ipv6_port_internal = buf_r_le16(&r);
	out->ipv6_port_external = buf_r_le16(&r);
	out->last_contact = buf_r_le32(&r);
	last = buf_r_u8(&r);
	out->features = last & WIRE_FEATURE_RECORD_MASK;
	out->reason = last >> 7;
	ident_node_id(out->peer_id, out->node_id);
	return WIRE_MSG_OK;
}

int
wire_peer_record_encode(uint8_t rec[WIRE_PEER_RECORD_SIZE],
    const struct wire_peer_record *in)
{
	struct buf_w w;
	int rc;

	if (rec == NULL || in == NULL || in->reason > 1)
		return WIRE_MSG_ERR_ARG;
	buf_w_init(&w, rec, WIRE_PEER_RECORD_SIZE);
	buf_w_bytes(&w, in->peer_id, sizeof(in->peer_id));
	buf_w_bytes(&w, in->ipv4, sizeof(in->ipv4));
	buf_w_le16(&w, in->ipv4_port);
	buf_w_le16(&w, in->ipv4_port_internal);
	buf_w_le16(&w, in->ipv4_port_external);
	buf_w_bytes(&w, in->ipv6, sizeof(in->ipv6));
	buf_w_le16(&w, in->ipv6_port);
	buf_w_le16(&w, in->ipv6_port_internal);
	buf_w_le16(&w, in->ipv6_port_external);
	buf_w_le32(&w, in->last_contact);
	buf_w_u8(&w, (uint8_t)((in->features & WIRE_FEATURE_RECORD_MASK) |
	    in->reason << 7));
	/* A record a receiver would drop would take the whole Response with it. */
	if ((rc = peer_record_check(rec)) != 0)
		return rc;
	return WIRE_MSG_OK;
}

int
wire_response_decode(const uint8_t *p, size_t len, struct wire_response *r)
{
	struct buf_r b;
	const uint8_t *q, *hash, *data;
	uint8_t digest[32];
	size_t off, start, i, k;
	uint16_t count, size;
	int rc;

	if ((rc = wire_decode_begin(r, sizeof(*r), p, len,
	    WIRE_RESPONSE_MIN)) != 0)
		return rc;
	if ((size_t)p[23] > len - WIRE_MSG_HDR_SIZE)
		return WIRE_MSG_ERR_UA_LEN;
	/* The reference reads the counts without this check and crashes (§12.1). */
	if (len < WIRE_RESPONSE_MIN + (size_t)p[23])
		return WIRE_MSG_ERR_COUNTS;
	if ((rc = wire_msg_hdr_decode(p, len, &r->hdr, &off)) != 0)
		return rc;
	buf_r_init(&b, p + off, len - off);
	r->n_h2p = buf_r_le16(&b);
	r->n_files = buf_r_le16(&b);
	r->n_notfound = buf_r_le16(&b);

	start = b.off;
	r->h2p = b.p + start;
	for (i = 0; i < r->n_h2p; i++) {
		if (buf_r_take(&b, WIRE_KEY_SIZE) == NULL)
			return WIRE_MSG_ERR_H2P_TRUNC;
		count = buf_r_le16(&b) & WIRE_H2P_RECORDS_MAX;
		q = buf_r_take(&b, (size_t)count * WIRE_PEER_RECORD_SIZE);
		if (q == NULL)
			return WIRE_MSG_ERR_H2P_TRUNC;
		for (k = 0; k < count; k++)
			if ((rc = peer_record_check(q + k *
			    WIRE_PEER_RECORD_SIZE)) != 0)
				return rc;
	}
	r->h2p_len = b.off - start;

	start = b.off;
	r->files = b.p + start;
	for (i = 0; i < r->n_files; i++) {
		hash = buf_r_take(&b, WIRE_KEY_SIZE);
		size = buf_r_le16(&b);
		if (hash == NULL || (data = buf_r_take(&b, size)) == NULL)
			return WIRE_MSG_ERR_FILE_TRUNC;
		blake3_hash(data, size, digest);
		if (memcmp(digest, hash, sizeof(digest)) != 0)
			return WIRE_MSG_ERR_FILE_HASH;
	}
	r->files_len = b.off - start;

	if ((r->notfound = buf_r_take(&b, (size_t)r->n_notfound *
	    WIRE_KEY_SIZE)) == NULL)
		return WIRE_MSG_ERR_NOTFOUND_TRUNC;
	/* Bytes after the last section are ignored (§3.3). */
	return WIRE_MSG_OK;
}

void
wire_response_h2p_begin(const struct wire_response *r, struct wire_response_iter *it)
{
	it->p = r->h2p;
	it->left = r->h2p_len;
	it->remaining = r->n_h2p;
}

/* Only called on sections wire_response_decode validated. */
int
wire_response_h2p_next(struct wire_response_iter *it, struct wire_h2p_view *out)
{
	uint16_t v;
	size_t n;

	if (it->remaining == 0 || it->left < WIRE_H2P_HDR_SIZE)
		return 0;
	v = buf_le16(it->p + WIRE_KEY_SIZE);
	n = WIRE_H2P_HDR_SIZE + (size_t)(v & WIRE_H2P_RECORDS_MAX) *
	    WIRE_PEER_RECORD_SIZE;
	if (n > it->left)
		return 0;
	out->key = it->p;
	out->is_last = (v & 0x8000) != 0;
	out->n_records = v & WIRE_H2P_RECORDS_MAX;
	out->records = it->p + WIRE_H2P_HDR_SIZE;
	it->p += n;
	it->left -= n;
	it->remaining--;
	return 1;
}

void
wire_response_file_begin(const struct wire_response *r, struct wire_response_iter *it)
{
	it->p = r->files;
	it->left = r->files_len;
	it->remaining = r->n_files;
}

int
wire_response_file_next(struct wire_response_iter *it, struct wire_embedded_file *out)
{
	size_t n;

	if (it->remaining == 0 || it->left < WIRE_EMBED_HDR_SIZE)
		return 0;
	n = WIRE_EMBED_HDR_SIZE + buf_le16(it->p + WIRE_KEY_SIZE);
	if (n > it->left)
		return 0;
	out->hash = it->p;
	out->data = it->p + WIRE_EMBED_HDR_SIZE;
	out->len = n - WIRE_EMBED_HDR_SIZE;
	it->p += n;
	it->left -= n;
	it->remaining--;
	return 1;
}

/* Writes one Hash2Peer record (34 + 70 R bytes, reserved by the caller). */
int
wire_response_write_h2p(uint8_t *out, const struct wire_h2p_in *h)
{
	uint16_t v;
	size_t k;
	int rc;

	if (h->key == NULL || (h->n_records > 0 && h->records == NULL))
		return WIRE_MSG_ERR_ARG;
	if (h->n_records > WIRE_H2P_RECORDS_MAX)
		return WIRE_MSG_ERR_TOO_MANY;
	memcpy(out, h->key, WIRE_KEY_SIZE);
	v = (uint16_t)h->n_records;
	if (!h->more_follow)
		v |= 0x8000;
	buf_put_le16(out + WIRE_KEY_SIZE, v);
	for (k = 0; k < h->n_records; k++)
		if ((rc = wire_peer_record_encode(out + WIRE_H2P_HDR_SIZE +
		    k * WIRE_PEER_RECORD_SIZE, &h->records[k])) != 0)
			return rc;
	return WIRE_MSG_OK;
}

/* A file the receivers would drop (bad hash) or cannot take (size). */
int
wire_response_check_file(const struct wire_embedded_file *f)
{
	uint8_t digest[32];

	if (f->len > 0 && f->data == NULL)
		return WIRE_MSG_ERR_ARG;
	if (f->len > WIRE_EMBEDDED_FILE_MAX)
		return WIRE_MSG_ERR_FILE_SIZE;
	if (f->hash != NULL) {
		blake3_hash(f->data, f->len, digest);
		if (memcmp(digest, f->hash, sizeof(digest)) != 0)
			return WIRE_MSG_ERR_FILE_HASH;
	}
	return WIRE_MSG_OK;
}

/* Writes one checked embedded file (34 + len bytes, reserved by the caller). */
void
wire_response_write_file(uint8_t *out, const struct wire_embedded_file *f)
{
	if (f->hash != NULL)
		memcpy(out, f->hash, WIRE_KEY_SIZE);
	else
		blake3_hash(f->data, f->len, out);
	buf_put_le16(out + WIRE_KEY_SIZE, (uint16_t)f->len);
	if (f->len > 0)
		memcpy(out + WIRE_EMBED_HDR_SIZE, f->data, f->len);
}

int
wire_response_encode(uint8_t *out, size_t cap, size_t *len,
    const struct wire_response_in *r)
{
	struct buf_w w;
	uint8_t *q;
	size_t i;
	int rc;

	if (out == NULL || len == NULL || r == NULL)
		return WIRE_MSG_ERR_ARG;
	if (r->n_h2p > UINT16_MAX || r->n_files > UINT16_MAX ||
	    r->n_notfound > UINT16_MAX)
		return WIRE_MSG_ERR_TOO_MANY;
	if ((r->n_h2p > 0 && r->h2p == NULL) ||
	    (r->n_files > 0 && r->files == NULL) ||
	    (r->n_notfound > 0 && r->notfound == NULL))
		return WIRE_MSG_ERR_ARG;
	if ((rc = wire_msg_hdr_check(&r->hdr)) != 0)
		return rc;

	buf_w_init(&w, out, cap);
	if ((q = buf_w_reserve(&w, WIRE_MSG_HDR_SIZE + r->hdr.ua_len)) == NULL)
		return WIRE_MSG_ERR_BUF;
	wire_msg_hdr_write(q, &r->hdr, r->hdr.actions);
	buf_w_le16(&w, (uint16_t)r->n_h2p);
	buf_w_le16(&w, (uint16_t)r->n_files);
	buf_w_le16(&w, (uint16_t)r->n_notfound);
	for (i = 0; i < r->n_h2p; i++) {
		if (r->h2p[i].n_records > WIRE_H2P_RECORDS_MAX)
			return WIRE_MSG_ERR_TOO_MANY;
		if ((q = buf_w_reserve(&w, WIRE_H2P_HDR_SIZE +
		    r->h2p[i].n_records * WIRE_PEER_RECORD_SIZE)) == NULL)
			return WIRE_MSG_ERR_BUF;
		if ((rc = wire_response_write_h2p(q, &r->h2p[i])) != 0)
			return rc;
	}
	for (i = 0; i < r->n_files; i++) {
		if ((rc = wire_response_check_file(&r->files[i])) != 0)
			return rc;
		if ((q = buf_w_reserve(&w, WIRE_EMBED_HDR_SIZE +
		    r->files[i].len)) == NULL)
			return WIRE_MSG_ERR_BUF;
		wire_response_write_file(q, &r->files[i]);
	}
	buf_w_bytes(&w, r->notfound, r->n_notfound * WIRE_KEY_SIZE);
	return wire_encode_end(&w, len);
}
