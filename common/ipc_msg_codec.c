/*
 * ipc_msg_codec.c — the table-driven encoder and decoder of IPC message
 * bodies (ipc_msg_codec.h) and the field primitives under it.  Pure
 * functions: no I/O, no allocation.
 */
#include <string.h>

#include "buf.h"
#include "ipc_msg.h"
#include "ipc_msg_codec.h"

void
ipc_w_hdr(struct buf_w *w, uint16_t type, uint16_t status)
{
	buf_w_le16(w, type);
	buf_w_le16(w, status);
}

void
ipc_w_str(struct buf_w *w, const char *s)
{
	size_t n = strnlen(s, IPC_STR_MAX + 1);

	if (n > IPC_STR_MAX) {
		w->err = 1;
		return;
	}
	buf_w_le16(w, (uint16_t)n);
	buf_w_bytes(w, s, n);
}

/* Reads a string into dst (cap bytes incl. NUL); rejects NULs and overlong ones. */
int
ipc_r_str(struct buf_r *r, char *dst, size_t cap)
{
	uint16_t n = buf_r_le16(r);
	const uint8_t *q;

	if (r->err)
		return IPC_DEC_SHORT;
	if (n > IPC_STR_MAX || (size_t)n >= cap)
		return IPC_DEC_STRING;
	if ((q = buf_r_take(r, n)) == NULL)
		return IPC_DEC_SHORT;
	if (memchr(q, '\0', n) != NULL)
		return IPC_DEC_STRING;
	memcpy(dst, q, n);
	dst[n] = '\0';
	return 0;
}

long
ipc_w_done(struct buf_w *w)
{
	return w->err ? -1 : (long)w->off;
}

/* Starts a decoder on a message of an expected type with status 0. */
int
ipc_r_begin(struct buf_r *r, const uint8_t *p, size_t len, uint16_t type)
{
	struct ipc_hdr h;
	int rc;

	if ((rc = ipc_hdr_decode(p, len, &h)) != 0)
		return rc;
	if (h.type != type)
		return IPC_DEC_TYPE;
	if (h.status != IPC_OK)
		return IPC_DEC_STATUS;
	buf_r_init(r, p + IPC_HDR_LEN, len - IPC_HDR_LEN);
	return 0;
}

int
ipc_r_end(const struct buf_r *r)
{
	if (r->err)
		return IPC_DEC_SHORT;
	return r->off == r->len ? 0 : IPC_DEC_TRAILING;
}

static void
w_tags(struct buf_w *w, const struct ipc_tags *t)
{
	if (t->len > IPC_TAGS_MAX) {
		w->err = 1;
		return;
	}
	buf_w_le16(w, t->len);
	buf_w_bytes(w, t->raw, t->len);
}

/* The entries must tile the bytes exactly, without reference bits. */
static int
r_tags(struct buf_r *r, struct ipc_tags *t)
{
	uint16_t n = buf_r_le16(r);
	size_t off, k;

	if (r->err)
		return IPC_DEC_SHORT;
	if (n > IPC_TAGS_MAX)
		return IPC_DEC_RANGE;
	buf_r_copy(r, t->raw, n);
	if (r->err)
		return IPC_DEC_SHORT;
	t->len = n;
	for (off = 0; off < n; off += 4 + k) {
		if (off + 4 > n)
			return IPC_DEC_RANGE;
		k = buf_le16(t->raw + off + 2);
		if ((buf_le16(t->raw + off) & 0x8000) != 0 || off + 4 + k > n)
			return IPC_DEC_RANGE;
	}
	return 0;
}

/* An integer member of width w (1, 2, 4, 8 bytes), as a u64. */
static uint64_t
int_get(const uint8_t *m, size_t w)
{
	uint64_t v64;
	uint32_t v32;
	uint16_t v16;

	switch (w) {
	case 1:	return m[0];
	case 2:	memcpy(&v16, m, 2); return v16;
	case 4:	memcpy(&v32, m, 4); return v32;
	default: memcpy(&v64, m, 8); return v64;
	}
}

static void
int_put(uint8_t *m, size_t w, uint64_t v)
{
	uint32_t v32 = (uint32_t)v;
	uint16_t v16 = (uint16_t)v;

	switch (w) {
	case 1:	m[0] = (uint8_t)v; break;
	case 2:	memcpy(m, &v16, 2); break;
	case 4:	memcpy(m, &v32, 4); break;
	default: memcpy(m, &v, 8); break;
	}
}

static void
w_int(struct buf_w *w, size_t width, uint64_t v)
{
	switch (width) {
	case 1:	buf_w_u8(w, (uint8_t)v); break;
	case 2:	buf_w_le16(w, (uint16_t)v); break;
	case 4:	buf_w_le32(w, (uint32_t)v); break;
	default: buf_w_le64(w, v); break;
	}
}

static uint64_t
r_int(struct buf_r *r, size_t width)
{
	switch (width) {
	case 1:	return buf_r_u8(r);
	case 2:	return buf_r_le16(r);
	case 4:	return buf_r_le32(r);
	default: return buf_r_le64(r);
	}
}

/* The first element of an ARRAY field. */
static void *
array_at(const uint8_t *msg, const struct ipc_field *f)
{
	void *a;

	if (!(f->flags & IPC_FF_PTR))
		return (void *)(msg + f->aux);
	memcpy(&a, msg + f->aux, sizeof(a));
	return a;
}

void
ipc_w_fields(struct buf_w *w, const struct ipc_desc *d, const void *msg)
{
	const uint8_t *m = msg, *q;
	const struct ipc_field *f;
	uint64_t n, i;
	size_t k;

	for (f = d->f; f < d->f + d->n && !w->err; f++) {
		switch (f->kind) {
		case IPC_FK_INT:
			n = int_get(m + f->off, f->size);
			if ((f->flags & IPC_FF_STRICT) && n > f->max)
				w->err = 1;
			w_int(w, f->size, n);
			break;
		case IPC_FK_BYTES:
		case IPC_FK_KEY:
			buf_w_bytes(w, m + f->off, f->size);
			break;
		case IPC_FK_STR:
			/* Never more than the other side's member can take. */
			if (strnlen((const char *)m + f->off, f->size) >= f->size)
				w->err = 1;
			else
				ipc_w_str(w, (const char *)m + f->off);
			break;
		case IPC_FK_TAGS:
			w_tags(w, (const struct ipc_tags *)(m + f->off));
			break;
		case IPC_FK_SUB:
			ipc_w_fields(w, f->sub, m + f->off);
			break;
		case IPC_FK_BLOB:
			n = int_get(m + f->off, f->size);
			memcpy(&q, m + f->aux, sizeof(q));
			if (n > f->max) {
				w->err = 1;
				break;
			}
			w_int(w, f->size, n);
			/* ipc_data: no pointer, the caller appends the bytes. */
			if (q != NULL)
				buf_w_bytes(w, q, (size_t)n);
			break;
		case IPC_FK_ARRAY:
			n = int_get(m + f->off, f->size);
			if (n > f->max) {
				w->err = 1;
				break;
			}
			w_int(w, f->size, n);
			q = array_at(m, f);
			for (i = 0; i < n; i++)
				ipc_w_fields(w, f->sub, q + i * f->sub->size);
			break;
		case IPC_FK_COUNTS:
			buf_w_u8(w, (uint8_t)(f->size / 8));
			for (k = 0; k < f->size; k += 8)
				w_int(w, 8, int_get(m + f->off + k, 8));
			break;
		}
	}
}

/*
 * Like the hand-written decoders before the tables: a run of fixed-size
 * fields is read whole (a short body wins) before its ranges are judged,
 * and they are judged before the next variable-size field is read.
 */
int
ipc_r_fields(struct buf_r *r, const struct ipc_desc *d, void *msg)
{
	const struct ipc_field *f;
	uint8_t *m = msg, *a;
	const uint8_t *q;
	uint64_t v, i;
	int rc, bad = 0, empty = 0;
	size_t k;

	for (f = d->f; f < d->f + d->n; f++) {
		if (bad && (f->kind == IPC_FK_STR || f->kind == IPC_FK_TAGS ||
		    f->kind == IPC_FK_SUB || f->kind == IPC_FK_COUNTS))
			return bad;
		switch (f->kind) {
		case IPC_FK_INT:
			v = r_int(r, f->size);
			if (r->err)
				return IPC_DEC_SHORT;
			if ((f->max != 0 && v > f->max) ||
			    ((f->flags & IPC_FF_NONZERO) && v == 0))
				bad = IPC_DEC_RANGE;
			int_put(m + f->off, f->size, v);
			break;
		case IPC_FK_BYTES:
		case IPC_FK_KEY:
			if (buf_r_copy(r, m + f->off, f->size) != 0)
				return IPC_DEC_SHORT;
			if (f->kind == IPC_FK_KEY && m[f->off] != 0x02 && m[f->off] != 0x03)
				bad = IPC_DEC_RANGE;
			break;
		case IPC_FK_STR:
			if ((rc = ipc_r_str(r, (char *)m + f->off, f->size)) != 0)
				return rc;
			/* A required string: judged after the whole body. */
			if ((f->flags & IPC_FF_NONZERO) && m[f->off] == '\0')
				empty = IPC_DEC_RANGE;
			break;
		case IPC_FK_TAGS:
			if ((rc = r_tags(r, (struct ipc_tags *)(m + f->off))) != 0)
				return rc;
			break;
		case IPC_FK_SUB:
			if ((rc = ipc_r_fields(r, f->sub, m + f->off)) != 0)
				return rc;
			break;
		case IPC_FK_BLOB:
			v = r_int(r, f->size);
			if (r->err)
				return IPC_DEC_SHORT;
			/* A length over the bound is a lie: refused before taking. */
			if (bad || v > f->max)
				return IPC_DEC_RANGE;
			int_put(m + f->off, f->size, v);
			if ((q = buf_r_take(r, (size_t)v)) == NULL)
				return IPC_DEC_SHORT;
			memcpy(m + f->aux, &q, sizeof(q));
			break;
		case IPC_FK_ARRAY:
			v = r_int(r, f->size);
			if (r->err)
				return IPC_DEC_SHORT;
			if (bad || v > f->max || ((f->flags & IPC_FF_NONZERO) && v == 0))
				return IPC_DEC_RANGE;
			int_put(m + f->off, f->size, v);
			a = array_at(m, f);
			for (i = 0; i < v; i++)
				if ((rc = ipc_r_fields(r, f->sub, a + i * f->sub->size)) != 0)
					return rc;
			break;
		case IPC_FK_COUNTS:
			/* Both sides come from one build: another count is refused. */
			if (buf_r_u8(r) != f->size / 8)
				return r->err ? IPC_DEC_SHORT : IPC_DEC_RANGE;
			for (k = 0; k < f->size; k += 8)
				int_put(m + f->off + k, 8, buf_r_le64(r));
			if (r->err)
				return IPC_DEC_SHORT;
			break;
		}
	}
	if (bad || empty)
		return bad ? bad : empty;
	return d->check != NULL ? d->check(msg) : 0;
}

long
ipc_encode(uint8_t *out, size_t cap, uint16_t type, const struct ipc_desc *d,
    const void *msg)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, type, IPC_OK);
	ipc_w_fields(&w, d, msg);
	return ipc_w_done(&w);
}

int
ipc_decode(const uint8_t *p, size_t len, uint16_t type, const struct ipc_desc *d,
    void *msg)
{
	struct buf_r r;
	int rc;

	if (d->zero)
		memset(msg, 0, d->size);
	if ((rc = ipc_r_begin(&r, p, len, type)) != 0 ||
	    (rc = ipc_r_fields(&r, d, msg)) != 0)
		return rc;
	return ipc_r_end(&r);
}

long
ipc_list_begin(uint8_t *out, size_t cap, uint16_t type, uint32_t total)
{
	struct buf_w w;

	buf_w_init(&w, out, cap);
	ipc_w_hdr(&w, type, IPC_OK);
	buf_w_le32(&w, total);
	buf_w_le32(&w, 0);
	return ipc_w_done(&w);
}

int
ipc_list_add(uint8_t *out, size_t cap, size_t *off, size_t hdr_len, uint32_t max,
    const struct ipc_desc *d, const void *item)
{
	struct buf_w w;
	uint32_t n;

	if (cap < hdr_len)
		return -1;
	n = buf_le32(out + hdr_len - 4);
	if (max != 0 && n >= max)
		return -1;
	buf_w_init(&w, out, cap);
	w.off = *off;
	ipc_w_fields(&w, d, item);
	if (w.err)
		return -1;
	*off = w.off;
	buf_put_le32(out + hdr_len - 4, n + 1);
	return 0;
}

int
ipc_list_check(struct buf_r *r, uint32_t count, const struct ipc_desc *d, void *scratch)
{
	uint32_t i;
	int rc;

	for (i = 0; i < count; i++)
		if ((rc = ipc_r_fields(r, d, scratch)) != 0)
			return rc;
	return ipc_r_end(r);
}

int
ipc_list_decode(const uint8_t *p, size_t len, uint16_t type, struct ipc_list *l,
    const struct ipc_desc *d, void *scratch)
{
	struct buf_r r;
	int rc;

	if ((rc = ipc_r_begin(&r, p, len, type)) != 0)
		return rc;
	l->total = buf_r_le32(&r);
	l->count = buf_r_le32(&r);
	if (r.err)
		return IPC_DEC_SHORT;
	l->p = p;
	l->len = len;
	l->off = IPC_HDR_LEN + r.off;
	/* Validate every item now, so that iterating cannot fail later. */
	return ipc_list_check(&r, l->count, d, scratch);
}

int
ipc_list_next(const uint8_t *p, size_t len, size_t *off, const struct ipc_desc *d,
    void *item)
{
	struct buf_r r;
	int rc;

	if (*off >= len)
		return 0;
	buf_r_init(&r, p, len);
	r.off = *off;
	if ((rc = ipc_r_fields(&r, d, item)) != 0)
		return rc;
	*off = r.off;
	return 1;
}
