/*
 * ipc_msg_decl.h — the prototypes of the table-driven IPC codecs.
 *
 * IPC_CODEC and IPC_CODEC_TYPED (ipc_msg_codec.h) define a message's
 * encoder and decoder from its field table; the catalogue headers
 * (ipc_msg*.h) declare that pair with the matching macro here, so the
 * two signatures are written once, like their bodies:
 *
 *	IPC_CODEC_DECL(wipe, struct ipc_wipe);
 *
 * declares
 *
 *	 *	IPC_CODEC_DECL(wipe, struct ipc_wipe);
 *
 * An encoder returns the message's length, or -1 when it does not fit in
 * cap or a field is over its bound; a decoder 0, or an IPC_DEC_* code.  The
 * _TYPED pair takes the message type as a parameter (a body that several
 * types carry).
 */
#ifndef PEERNET_IPC_MSG_DECL_H
#define PEERNET_IPC_MSG_DECL_H

#include <stddef.h>
#include <stdint.h>

#define IPC_CODEC_DECL(NAME, S)						\
long	ipc_##NAME##_encode(uint8_t *out, size_t cap, const S *m);	\
int	ipc_##NAME##_decode(const uint8_t *p, size_t len, S *m)
#define IPC_CODEC_TYPED_DECL(NAME, S)					\
long	ipc_##NAME##_encode(uint8_t *out, size_t cap, uint16_t type,	\
	    const S *m);						\
int	ipc_##NAME##_decode(const uint8_t *p, size_t len, uint16_t type, S *m)

#endif
