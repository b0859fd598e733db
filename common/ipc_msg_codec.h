/*
 * ipc_msg_codec.h — the one encoder and decoder behind every IPC message
 * codec (for the area codec files ipc_msg*.c; the daemons use the typed
 * encoders and decoders of ipc_msg.h).
 *
 * A message body is described once, as a table of its fields in wire order
 * (struct ipc_field: kind, the struct member, its bound); ipc_encode and
 * ipc_decode walk that table.  A decoder fails with IPC_DEC_SHORT when the
 * body ends inside a field, IPC_DEC_STRING for a bad string and
 * IPC_DEC_RANGE when a field is out of its bound (judged once the run of
 * fixed-size fields it is in was read); a description's check function
 * then sees the whole struct for rules between fields, before trailing
 * bytes are refused.
 */
#ifndef PEERNET_IPC_MSG_CODEC_H
#define PEERNET_IPC_MSG_CODEC_H

#include <stddef.h>

#include "buf.h"
#include "ipc_msg.h"

enum ipc_fkind {
	IPC_FK_INT,	/* little-endian integer of the member's width (1, 2, 4, 8) */
	IPC_FK_BYTES,	/* the member's bytes as they are */
	IPC_FK_KEY,	/* a 33-byte compressed public key: the first byte is 2 or 3 */
	IPC_FK_STR,	/* u16 length + bytes: no NUL, shorter than the member */
	IPC_FK_TAGS,	/* struct ipc_tags: u16 length + entries that tile it */
	IPC_FK_SUB,	/* a struct member described by sub, in place */
	IPC_FK_BLOB,	/* length (the member, its width) + bytes (pointer member at aux) */
	IPC_FK_ARRAY,	/* count (the member, its width) + count elements (sub) at aux */
	IPC_FK_COUNTS	/* u8 n + n u64: a u64 array whose size both sides share */
};

#define IPC_FF_NONZERO	0x01	/* INT, STR, ARRAY: 0 / empty is out of range */
#define IPC_FF_PTR	0x02	/* ARRAY: the member at aux points to the elements */
#define IPC_FF_STRICT	0x04	/* INT: the encoder refuses a value over max too */

struct ipc_desc;

struct ipc_field {
	uint8_t			 kind;		/* enum ipc_fkind */
	uint8_t			 flags;		/* IPC_FF_* */
	uint32_t		 size;		/* sizeof the member at off */
	uint32_t		 off;
	uint32_t		 aux;		/* BLOB: pointer member; ARRAY: elements */
	/* INT: highest value (0: any); BLOB: most bytes; ARRAY: most elements */
	uint64_t		 max;
	const struct ipc_desc	*sub;		/* SUB, ARRAY: the element */
};

struct ipc_desc {
	const struct ipc_field	*f;
	size_t			 n;
	size_t			 size;		/* sizeof the struct (array stride) */
	int			 zero;		/* the decoder clears the struct first */
	/* Rules between fields, after they all decoded: 0 or an IPC_DEC_* */
	int			(*check)(const void *msg);
};

#define IPC_FLD(kind, flags, T, m, aux, max, sub) \
	{ (kind), (flags), sizeof(((T *)0)->m), offsetof(T, m), (aux), (max), (sub) }
#define IPC_INT(T, m, max)	IPC_FLD(IPC_FK_INT, 0, T, m, 0, max, NULL)
#define IPC_INT_STRICT(T, m, max) IPC_FLD(IPC_FK_INT, IPC_FF_STRICT, T, m, 0, max, NULL)
#define IPC_INT_NZ(T, m, max)	IPC_FLD(IPC_FK_INT, IPC_FF_NONZERO, T, m, 0, max, NULL)
#define IPC_BYTES(T, m)		IPC_FLD(IPC_FK_BYTES, 0, T, m, 0, 0, NULL)
#define IPC_KEY(T, m)		IPC_FLD(IPC_FK_KEY, 0, T, m, 0, 0, NULL)
#define IPC_STR(T, m)		IPC_FLD(IPC_FK_STR, 0, T, m, 0, 0, NULL)
#define IPC_STR_NZ(T, m)	IPC_FLD(IPC_FK_STR, IPC_FF_NONZERO, T, m, 0, 0, NULL)
#define IPC_TAGS(T, m)		IPC_FLD(IPC_FK_TAGS, 0, T, m, 0, 0, NULL)
#define IPC_SUB(T, m, d)	IPC_FLD(IPC_FK_SUB, 0, T, m, 0, 0, &(d))
#define IPC_BLOB(T, ptr, len, max) \
	IPC_FLD(IPC_FK_BLOB, 0, T, len, offsetof(T, ptr), max, NULL)
#define IPC_ARRAY(T, count, arr, max, d, flags) \
	IPC_FLD(IPC_FK_ARRAY, flags, T, count, offsetof(T, arr), max, &(d))
#define IPC_COUNTS(T, m)	IPC_FLD(IPC_FK_COUNTS, 0, T, m, 0, 0, NULL)

/* A description named `name` of struct T from the table name##_f. */
#define IPC_DESC(name, T, zero, check) \
	static const struct ipc_desc name = { name##_f, \
	    sizeof(name##_f) / sizeof(name##_f[0]), sizeof(T), (zero), (check) }

/*
 * The typed encoder and decoder of one message, ipc_NAME_encode and
 * ipc_NAME_decode (ipc_msg*.h), through description d: for a fixed type,
 * and for a body that several types carry (the type is a parameter).
 */
#define IPC_CODEC(NAME, S, TYPE, d)					\
long									\
ipc_##NAME##_encode(uint8_t *out, size_t cap, const S *m)		\
{									\
	return ipc_encode(out, cap, (TYPE), &(d), m);			\
}									\
int									\
ipc_##NAME##_decode(const uint8_t *p, size_t len, S *m)		\
{									\
	return ipc_decode(p, len, (TYPE), &(d), m);			\
}
#define IPC_CODEC_TYPED(NAME, S, d)					\
long									\
ipc_##NAME##_encode(uint8_t *out, size_t cap, uint16_t type, const S *m) \
{									\
	return ipc_encode(out, cap, type, &(d), m);			\
}									\
int									\
ipc_##NAME##_decode(const uint8_t *p, size_t len, uint16_t type, S *m)	\
{									\
	return ipc_decode(p, len, type, &(d), m);			\
}

/* Header + the fields of msg; the length, or -1 if it does not fit or a
 * count, length or string is over its bound. */
long	ipc_encode(uint8_t *out, size_t cap, uint16_t type, const struct ipc_desc *d,
	    const void *msg);
/* A whole message of `type` with status 0 into msg: 0 or an IPC_DEC_*. */
int	ipc_decode(const uint8_t *p, size_t len, uint16_t type, const struct ipc_desc *d,
	    void *msg);
void	ipc_w_fields(struct buf_w *w, const struct ipc_desc *d, const void *msg);
int	ipc_r_fields(struct buf_r *r, const struct ipc_desc *d, void *msg);

/* The field primitives (for the few bodies a table cannot say). */
void	ipc_w_hdr(struct buf_w *w, uint16_t type, uint16_t status);
void	ipc_w_str(struct buf_w *w, const char *s);
long	ipc_w_done(struct buf_w *w);
/* Begins decoding a message of `type` with status 0 (body in r). */
int	ipc_r_begin(struct buf_r *r, const uint8_t *p, size_t len, uint16_t type);
int	ipc_r_str(struct buf_r *r, char *dst, size_t cap);
/* 0, IPC_DEC_SHORT, or IPC_DEC_TRAILING. */
int	ipc_r_end(const struct buf_r *r);

/* struct ipc_file, the item of file lists, search hits and publish. */
extern const struct ipc_desc ipc_file_desc;

/*
 * List messages (struct ipc_list): header, u32 total, u32 count, items of
 * one description.  hdr_len is where the count ends (the list header of
 * ipc_list_begin: IPC_HDR_LEN + 8), max the most items (0: any).
 */
long	ipc_list_begin(uint8_t *out, size_t cap, uint16_t type, uint32_t total);
int	ipc_list_add(uint8_t *out, size_t cap, size_t *off, size_t hdr_len, uint32_t max,
	    const struct ipc_desc *d, const void *item);
/* Validates the count items at r (count read by the caller) into scratch. */
int	ipc_list_check(struct buf_r *r, uint32_t count, const struct ipc_desc *d,
	    void *scratch);
int	ipc_list_decode(const uint8_t *p, size_t len, uint16_t type, struct ipc_list *l,
	    const struct ipc_desc *d, void *scratch);
/* 1 and the item at *off (advanced), 0 at the end, or a decode error. */
int	ipc_list_next(const uint8_t *p, size_t len, size_t *off, const struct ipc_desc *d,
	    void *item);

#endif
