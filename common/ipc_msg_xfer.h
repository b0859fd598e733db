/*
 * ipc_msg_xfer.h — the file transfer area of the IPC catalogue (types
 * 70..79 in ipc_msg.h): file downloads from peers (PROTOCOL.md §9.3) and
 * the serving side's questions to storaged.  Structs and codecs.
 *
 *	IPC_XSTAT	netd, ctl -> storaged: is this content stored, how large
 *	IPC_DL_BEGIN	netd -> storaged: a warehouse-only write of `size` bytes
 *	IPC_DL_DATA	netd -> storaged: ipc_data (id, offset, bytes), in order
 *	IPC_DL_COMMIT	netd -> storaged: finish; refused unless BLAKE3 = hash
 *	IPC_DL_ABORT	netd -> storaged: drop the partial file
 *	IPC_GET		ctl -> netd: download a hash from a connected node
 *	IPC_TRANSFERS	ctl -> netd: the file transfer sessions, with progress
 */
#ifndef PEERNET_IPC_MSG_XFER_H
#define PEERNET_IPC_MSG_XFER_H

#include <stddef.h>
#include <stdint.h>

#define IPC_XFER_ERR_MAX	200	/* bytes of a session's failure reason */
#define IPC_XFER_LIST_MAX	64	/* sessions in one IPC_TRANSFERS reply */

/* IPC_XSTAT request: a content hash. */
struct ipc_xstat_req {
	uint8_t		hash[32];
};

/* IPC_XSTAT reply. */
struct ipc_xstat_rep {
	uint8_t		present;	/* 0 or 1 */
	uint64_t	size;		/* 0 when absent */
};

/* IPC_DL_BEGIN request (reply: ipc_u32, the download id). */
struct ipc_dl_begin {
	uint8_t		hash[32];	/* what the data must hash to */
	uint64_t	size;		/* exactly this many bytes will follow */
};

/* IPC_DL_COMMIT request (reply: empty, or an error when the hash differs). */
struct ipc_dl_commit {
	uint32_t	id;
	uint8_t		hash[32];
};

/* IPC_GET request (reply: ipc_u32, the transfer number to follow in IPC_TRANSFERS). */
struct ipc_get_req {
	uint8_t		hash[32];
	uint8_t		node_id[32];	/* the provider; must be connected */
};

enum ipc_xfer_role { IPC_XFER_DOWNLOAD = 1, IPC_XFER_UPLOAD = 2 };

enum ipc_xfer_state {
	IPC_XFER_STARTING = 0,	/* request sent / storaged asked, no data yet */
	IPC_XFER_RUNNING = 1,	/* data flowing */
	IPC_XFER_STORING = 2,	/* all bytes received, storaged commits */
	IPC_XFER_DONE = 3,	/* complete (downloads: hash verified, stored) */
	IPC_XFER_FAILED = 4,	/* see error */
	IPC_XFER_STATE_MAX = 5
};

/* One session of IPC_TRANSFERS (live ones, then recently finished ones). */
struct ipc_xfer_info {
	uint32_t	number;		/* netd's transfer number (IPC_GET's reply) */
	uint8_t		role;		/* enum ipc_xfer_role */
	uint8_t		state;		/* enum ipc_xfer_state */
	uint8_t		node_id[32];	/* the peer */
	uint8_t		hash[32];
	uint64_t	done;		/* file bytes moved */
	uint64_t	total;		/* bytes of the transfer; 0 while unknown */
	uint64_t	rate;		/* bytes/s, average since the data started */
	uint64_t	elapsed_ms;
	char		error[IPC_XFER_ERR_MAX + 1];
};

#define ipc_xfer_list ipc_list

const char *ipc_xfer_state_name(uint8_t state);

long	ipc_xstat_req_encode(uint8_t *out, size_t cap, const struct ipc_xstat_req *q);
int	ipc_xstat_req_decode(const uint8_t *p, size_t len, struct ipc_xstat_req *q);
long	ipc_xstat_rep_encode(uint8_t *out, size_t cap, const struct ipc_xstat_rep *q);
int	ipc_xstat_rep_decode(const uint8_t *p, size_t len, struct ipc_xstat_rep *q);
long	ipc_dl_begin_encode(uint8_t *out, size_t cap, const struct ipc_dl_begin *q);
int	ipc_dl_begin_decode(const uint8_t *p, size_t len, struct ipc_dl_begin *q);
long	ipc_dl_commit_encode(uint8_t *out, size_t cap, const struct ipc_dl_commit *q);
int	ipc_dl_commit_decode(const uint8_t *p, size_t len, struct ipc_dl_commit *q);
long	ipc_get_req_encode(uint8_t *out, size_t cap, const struct ipc_get_req *q);
int	ipc_get_req_decode(const uint8_t *p, size_t len, struct ipc_get_req *q);
/* A transfers list: ipc_list of ipc_xfer_info (type IPC_TRANSFERS). */
long	ipc_xfer_list_begin(uint8_t *out, size_t cap, uint32_t total);
int	ipc_xfer_list_add(uint8_t *out, size_t cap, size_t *off,
	    const struct ipc_xfer_info *x);
int	ipc_xfer_list_decode(const uint8_t *p, size_t len, struct ipc_xfer_list *l);
int	ipc_xfer_list_next(struct ipc_xfer_list *l, struct ipc_xfer_info *x);

#endif
