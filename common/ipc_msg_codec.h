/*
 * ipc_msg_codec.h — the field helpers every IPC message codec uses (for the
 * area codec files: ipc_msg.c, ipc_msg_net.c, ipc_msg_search.c).  Not for
 * the daemons, which use the typed encoders and decoders.
 */
#ifndef PEERNET_IPC_MSG_CODEC_H
#define PEERNET_IPC_MSG_CODEC_H

#include "buf.h"
#include "ipc_msg.h"

void	ipc_w_hdr(struct buf_w *w, uint16_t type, uint16_t status);
void	ipc_w_str(struct buf_w *w, const char *s);
long	ipc_w_done(struct buf_w *w);
void	ipc_w_file(struct buf_w *w, const struct ipc_file *f);
/* Begins decoding a message of `type` with status 0 (body in r). */
int	ipc_r_begin(struct buf_r *r, const uint8_t *p, size_t len, uint16_t type);
int	ipc_r_str(struct buf_r *r, char *dst, size_t cap);
int	ipc_r_file(struct buf_r *r, struct ipc_file *f);
/* 0, IPC_DEC_SHORT, or IPC_DEC_TRAILING. */
int	ipc_r_end(const struct buf_r *r);

/* List messages (struct ipc_list): one writer and one reader per item kind. */
typedef void (*ipc_item_w)(struct buf_w *w, const void *item);
typedef int (*ipc_item_r)(struct buf_r *r, void *item);
long	ipc_list_begin(uint8_t *out, size_t cap, uint16_t type, uint32_t total);
int	ipc_list_add(uint8_t *out, size_t cap, size_t *off, ipc_item_w wr, const void *item);
int	ipc_list_decode(const uint8_t *p, size_t len, uint16_t type, struct ipc_list *l,
	    ipc_item_r rd, void *scratch);
int	ipc_list_next(struct ipc_list *l, ipc_item_r rd, void *item);

#endif
