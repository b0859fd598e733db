/*
 * buf.h — bounds-checked byte readers and writers.
 *
 * Every decoder of outside bytes (wire messages, IPC, blocks) reads through a
 * struct buf_r and every encoder writes through a struct buf_w, so that length
 * checks live in one place instead of in ad-hoc pointer arithmetic.  A failed
 * read or write sets the sticky `err` flag and returns zeros; callers check
 * `err` once at the end (or early, when they must branch on a value).
 */
#ifndef PEERNET_BUF_H
#define PEERNET_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct buf_r {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
	int		 err;
};

struct buf_w {
	uint8_t		*p;
	size_t		 cap;
	size_t		 off;
	int		 err;
};

static inline void
buf_r_init(struct buf_r *r, const void *p, size_t len)
{
	r->p = p; r->len = len; r->off = 0; r->err = 0;
}

static inline size_t
buf_r_left(const struct buf_r *r)
{
	return r->err ? 0 : r->len - r->off;
}

/* Returns a pointer to the next n bytes and advances, or NULL (and err). */
static inline const uint8_t *
buf_r_take(struct buf_r *r, size_t n)
{
	const uint8_t *q;

	if (r->err || n > r->len - r->off) {
		r->err = 1;
		return NULL;
	}
	q = r->p + r->off;
	r->off += n;
	return q;
}

static inline int
buf_r_copy(struct buf_r *r, void *dst, size_t n)
{
	const uint8_t *q = buf_r_take(r, n);

	if (q == NULL) {
		memset(dst, 0, n);
		return -1;
	}
	memcpy(dst, q, n);
	return 0;
}

static inline uint8_t
buf_r_u8(struct buf_r *r)
{
	const uint8_t *q = buf_r_take(r, 1);
	return q ? q[0] : 0;
}

static inline uint16_t
buf_le16(const uint8_t *q)
{
	return (uint16_t)(q[0] | (uint16_t)q[1] << 8);
}

static inline uint32_t
buf_le32(const uint8_t *q)
{
	return (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
	    (uint32_t)q[3] << 24;
}

static inline uint64_t
buf_le64(const uint8_t *q)
{
	return (uint64_t)buf_le32(q) | (uint64_t)buf_le32(q + 4) << 32;
}

static inline uint16_t
buf_be16(const uint8_t *q)
{
	return (uint16_t)((uint16_t)q[0] << 8 | q[1]);
}

static inline uint32_t
buf_be32(const uint8_t *q)
{
	return (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 |
	    (uint32_t)q[3];
}

static inline uint64_t
buf_be64(const uint8_t *q)
{
	return (uint64_t)buf_be32(q) << 32 | (uint64_t)buf_be32(q + 4);
}

static inline void
buf_put_le16(uint8_t *q, uint16_t v)
{
	q[0] = (uint8_t)v; q[1] = (uint8_t)(v >> 8);
}

static inline void
buf_put_le32(uint8_t *q, uint32_t v)
{
	q[0] = (uint8_t)v; q[1] = (uint8_t)(v >> 8);
	q[2] = (uint8_t)(v >> 16); q[3] = (uint8_t)(v >> 24);
}

static inline void
buf_put_le64(uint8_t *q, uint64_t v)
{
	buf_put_le32(q, (uint32_t)v);
	buf_put_le32(q + 4, (uint32_t)(v >> 32));
}

static inline void
buf_put_be16(uint8_t *q, uint16_t v)
{
	q[0] = (uint8_t)(v >> 8); q[1] = (uint8_t)v;
}

static inline void
buf_put_be32(uint8_t *q, uint32_t v)
{
	q[0] = (uint8_t)(v >> 24); q[1] = (uint8_t)(v >> 16);
	q[2] = (uint8_t)(v >> 8); q[3] = (uint8_t)v;
}

static inline void
buf_put_be64(uint8_t *q, uint64_t v)
{
	buf_put_be32(q, (uint32_t)(v >> 32));
	buf_put_be32(q + 4, (uint32_t)v);
}

static inline void
buf_w_init(struct buf_w *w, void *p, size_t cap)
{
	w->p = p; w->cap = cap; w->off = 0; w->err = 0;
}

/* Reserves n bytes and returns where to write them, or NULL (and err). */
static inline uint8_t *
buf_w_reserve(struct buf_w *w, size_t n)
{
	uint8_t *q;

	if (w->err || n > w->cap - w->off) {
		w->err = 1;
		return NULL;
	}
	q = w->p + w->off;
	w->off += n;
	return q;
}

static inline void
buf_w_bytes(struct buf_w *w, const void *src, size_t n)
{
	uint8_t *q = buf_w_reserve(w, n);
	if (q != NULL && n > 0)
		memcpy(q, src, n);
}

static inline void
buf_w_zero(struct buf_w *w, size_t n)
{
	uint8_t *q = buf_w_reserve(w, n);
	if (q != NULL && n > 0)
		memset(q, 0, n);
}

static inline void
buf_w_u8(struct buf_w *w, uint8_t v)
{
	uint8_t *q = buf_w_reserve(w, 1);
	if (q != NULL)
		q[0] = v;
}

/*
 * The cursor's reader and writer of each integer: buf_r_le16 .. buf_r_be64
 * read one (0, and err, past the end), buf_w_le16 .. buf_w_be64 write one.
 */
#define BUF_RW_INT(name, T, n)						\
static inline T								\
buf_r_##name(struct buf_r *r)						\
{									\
	const uint8_t *q = buf_r_take(r, (n));				\
	return q ? buf_##name(q) : 0;					\
}									\
static inline void							\
buf_w_##name(struct buf_w *w, T v)					\
{									\
	uint8_t *q = buf_w_reserve(w, (n));				\
	if (q != NULL)							\
		buf_put_##name(q, v);					\
}
BUF_RW_INT(le16, uint16_t, 2)
BUF_RW_INT(le32, uint32_t, 4)
BUF_RW_INT(le64, uint64_t, 8)
BUF_RW_INT(be16, uint16_t, 2)
BUF_RW_INT(be32, uint32_t, 4)
BUF_RW_INT(be64, uint64_t, 8)
#undef BUF_RW_INT

#endif /* PEERNET_BUF_H */
