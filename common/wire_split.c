/*
 * wire_split.c — splitting of Announcements and Responses that do not fit
 * one packet (docs/protocol.md §3.11).  A part is closed only when the next item
 * would push it past the 65410-byte payload budget, as the reference does,
 * so realistic messages never split.
 *
 * Differences from the reference encoder, none visible to its decoder:
 * a Hash2Peer record that does not fit is not left half-written at the end
 * of the previous part (the reference leaves an uncounted partial copy); the
 * not-found list advances across parts (the reference loops forever, §12.6);
 * an item that can never fit is an error instead of an endless loop.
 */
#include <string.h>

#include "buf.h"
#include "wire_msg.h"

void
wire_announce_split_init(struct wire_announce_split *s,
    const struct wire_announce *in)
{
	memset(s, 0, sizeof(*s));
	s->in = in;
	s->budget = WIRE_MSG_BUDGET;
}

/*
 * Adds as many items of one list as fit.  Returns 1 if the list is now
 * exhausted, 0 if the part is full, or an error.
 */
static int
split_list(uint8_t *out, size_t budget, size_t *size, size_t *items,
    uint8_t *actions, uint8_t bit, const uint8_t *list, size_t n,
    size_t *i, size_t item)
{
	size_t count_off, cnt = 0;

	if (*i >= n)
		return 1;
	if (*size + 2 + item > budget)
		return 0;
	*actions |= bit;
	count_off = *size;
	*size += 2;
	while (*i < n && *size + item <= budget && cnt < UINT16_MAX) {
		memcpy(out + *size, list + *i * item, item);
		*size += item;
		(*i)++;
		cnt++;
	}
	buf_put_le16(out + count_off, (uint16_t)cnt);
	*items += cnt;
	return *i >= n;
}

int
wire_announce_split_next(struct wire_announce_split *s, uint8_t *out,
    size_t cap, size_t *len)
{
	const struct wire_announce *a = s->in;
	size_t size, items = 0;
	uint8_t actions;
	int rc;

	if (s->done)
		return 0;
	if (out == NULL || len == NULL || a == NULL ||
	    (a->n_find_peer > 0 && a->find_peer == NULL) ||
	    (a->n_find_value > 0 && a->find_value == NULL) ||
	    (a->n_info_store > 0 && a->info_store == NULL)) {
		s->done = 1;
		return WIRE_MSG_ERR_ARG;
	}
	if (cap < s->budget) {
		s->done = 1;
		return WIRE_MSG_ERR_BUF;
	}
	if ((rc = wire_msg_hdr_check(&a->hdr)) != 0) {
		s->done = 1;
		return rc;
	}
	size = WIRE_MSG_HDR_SIZE + a->hdr.ua_len;
	if (size > s->budget) {
		s->done = 1;
		return WIRE_MSG_ERR_TOO_BIG;
	}
	actions = a->hdr.actions & ~WIRE_ACTION_LISTS;
	wire_msg_hdr_write(out, &a->hdr, actions);

	if ((rc = split_list(out, s->budget, &size, &items, &actions,
	    WIRE_ACTION_FIND_PEER, a->find_peer, a->n_find_peer, &s->i_peer,
	    WIRE_KEY_SIZE)) == 1 &&
	    (rc = split_list(out, s->budget, &size, &items, &actions,
	    WIRE_ACTION_FIND_VALUE, a->find_value, a->n_find_value,
	    &s->i_value, WIRE_KEY_SIZE)) == 1)
		rc = split_list(out, s->budget, &size, &items, &actions,
		    WIRE_ACTION_INFO_STORE, a->info_store, a->n_info_store,
		    &s->i_store, WIRE_INFO_STORE_SIZE);
	if (rc == 1)
		s->done = 1;
	else if (items == 0) {
		/* Nothing fits even an empty part: give up instead of looping. */
		s->done = 1;
		return WIRE_MSG_ERR_TOO_BIG;
	}
	out[2] = actions;
	*len = size;
	s->parts++;
	return 1;
}

void
wire_response_split_init(struct wire_response_split *s,
    const struct wire_response_in *in)
{
	memset(s, 0, sizeof(*s));
	s->in = in;
	s->budget = WIRE_MSG_BUDGET;
}

static int
response_part(struct wire_response_split *s, uint8_t *out, size_t *len)
{
	const struct wire_response_in *r = s->in;
	const struct wire_embedded_file *f;
	size_t size, need, count_off;
	uint16_t nh = 0, ne = 0, nf = 0;
	int rc, full = 0;

	if ((rc = wire_msg_hdr_check(&r->hdr)) != 0)
		return rc;
	size = WIRE_MSG_HDR_SIZE + r->hdr.ua_len;
	count_off = size;
	size += 6;
	if (size > s->budget)
		return WIRE_MSG_ERR_TOO_BIG;

	while (!full && s->i_h2p < r->n_h2p && nh < UINT16_MAX) {
		const struct wire_h2p_in *h = &r->h2p[s->i_h2p];

		if (h->n_records > WIRE_H2P_RECORDS_MAX)
			return WIRE_MSG_ERR_TOO_MANY;
		need = WIRE_H2P_HDR_SIZE + h->n_records * WIRE_PEER_RECORD_SIZE;
		if (size + need > s->budget) {
			/* Restarted whole in the next part (§3.11). */
			full = 1;
			break;
		}
		if ((rc = wire_response_write_h2p(out + size, h)) != 0)
			return rc;
		size += need;
		s->i_h2p++;
		nh++;
	}
	if (s->i_h2p < r->n_h2p)
		full = 1;

	while (!full && s->i_file < r->n_files && ne < UINT16_MAX) {
		f = &r->files[s->i_file];
		if ((rc = wire_response_check_file(f)) != 0)
			return rc;
		need = WIRE_EMBED_HDR_SIZE + f->len;
		if (size + need > s->budget) {
			full = 1;
			break;
		}
		wire_response_write_file(out + size, f);
		size += need;
		s->i_file++;
		ne++;
	}
	if (s->i_file < r->n_files)
		full = 1;

	while (!full && s->i_nf < r->n_notfound && nf < UINT16_MAX) {
		if (size + WIRE_KEY_SIZE > s->budget) {
			full = 1;
			break;
		}
		memcpy(out + size, r->notfound + s->i_nf * WIRE_KEY_SIZE,
		    WIRE_KEY_SIZE);
		size += WIRE_KEY_SIZE;
		s->i_nf++;
		nf++;
	}
	if (s->i_nf < r->n_notfound)
		full = 1;

	if (full && nh == 0 && ne == 0 && nf == 0)
		return WIRE_MSG_ERR_TOO_BIG;
	if (!full)
		s->done = 1;
	/* Only the last part tells the requester that nothing more follows. */
	wire_msg_hdr_write(out, &r->hdr, (uint8_t)((r->hdr.actions &
	    ~WIRE_ACTION_SEQUENCE_LAST) | (full ? 0 : WIRE_ACTION_SEQUENCE_LAST)));
	buf_put_le16(out + count_off, nh);
	buf_put_le16(out + count_off + 2, ne);
	buf_put_le16(out + count_off + 4, nf);
	*len = size;
	return WIRE_MSG_OK;
}

int
wire_response_split_next(struct wire_response_split *s, uint8_t *out,
    size_t cap, size_t *len)
{
	const struct wire_response_in *r = s->in;
	int rc;

	if (s->done)
		return 0;
	if (out == NULL || len == NULL || r == NULL ||
	    (r->n_h2p > 0 && r->h2p == NULL) ||
	    (r->n_files > 0 && r->files == NULL) ||
	    (r->n_notfound > 0 && r->notfound == NULL)) {
		s->done = 1;
		return WIRE_MSG_ERR_ARG;
	}
	if (cap < s->budget) {
		s->done = 1;
		return WIRE_MSG_ERR_BUF;
	}
	if ((rc = response_part(s, out, len)) != 0) {
		s->done = 1;
		return rc;
	}
	s->parts++;
	return 1;
}
