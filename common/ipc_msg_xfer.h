/*
 * ipc_msg_xfer.h — the file transfer area of the IPC catalogue (types
 * 70..79 in ipc_msg.h): file downloads from peers (docs/protocol.md §9.3) and
 * the serving side's questions to storaged.  Structs and codecs.
 *
 *	IPC_XSTAT	netd, ctl -> storaged: is this content stored, how large,
 *			and how much of a partial download of it is verified;
 *			for a serving netd (F_MERKLE) also its merkle leaves
 *	IPC_DL_BEGIN	netd -> storaged: a warehouse-only download of `size`
 *			bytes, (re)starting at `offset` (a verified prefix)
 *	IPC_DL_DATA	netd -> storaged: ipc_dl_data (id, offset, the leaves
 *			netd verified, bytes), in order
 *	IPC_DL_COMMIT	netd -> storaged: finish; refused unless BLAKE3 = hash
 *	IPC_DL_ABORT	netd -> storaged: close the download: keep its verified
 *			prefix for a later resume, or discard it
 *	IPC_GET		ctl -> netd: download a hash from a connected node
 *	IPC_TRANSFERS	ctl -> netd: the file transfer sessions, with progress
 *	IPC_XFER_CTL	ctl -> netd: pause, resume or cancel a transfer
 *	IPC_PROBE	ctl -> netd: download into memory only, check the hash
 *	IPC_STREAM_OPEN	apid -> netd: a stream of a remote peer's file (HTTP ranges);
 *			answered once the size and the merkle leaves are known
 *	IPC_STREAM_READ	apid -> netd: bytes of a stream at an offset (fetched as
 *			whole fragments of a ranged Transfer, verified per fragment
 *			against the merkle tree when the peer is one of ours)
 *	IPC_STREAM_CLOSE apid -> netd: end a stream
 *	IPC_FILE_FD	apid -> storaged (bulk channel): a read-only descriptor of a
 *			stored file, passed with SCM_RIGHTS beside the reply
 */
#ifndef PEERNET_IPC_MSG_XFER_H
#define PEERNET_IPC_MSG_XFER_H

#include <stddef.h>
#include <stdint.h>

#include "ipc_msg_decl.h"

#define IPC_XFER_ERR_MAX	200	/* bytes of a session's failure reason */
#define IPC_XFER_LIST_MAX	64	/* sessions in one IPC_TRANSFERS reply */

/* IPC_XSTAT request: a content hash. */
#define IPC_XSTAT_F_PARTIAL	0x01	/* report a kept partial download */
#define IPC_XSTAT_F_CHECK	0x02	/* ... its tail re-hashed against its leaves first */
/*
 * A serving netd asks for the stored file's merkle leaves (our extension
 * XFER_PROTO_MERKLE, netd/xfer_merkle.h): up to IPC_XSTAT_LEAVES_MAX from
 * leaf `first`, read from the warehouse's companion (docs/data.md §4.4).
 */
#define IPC_XSTAT_F_MERKLE	0x04
#define IPC_XSTAT_F_ALL		0x07
#define IPC_XSTAT_LEAVES_MAX	32
struct ipc_xstat_req {
	uint8_t		hash[32];
	uint8_t		flags;		/* IPC_XSTAT_F_*; a serving netd sends 0 or F_MERKLE */
	uint64_t	first;		/* F_MERKLE only (encoded only then): first leaf */
};

/* IPC_XSTAT reply. */
struct ipc_xstat_rep {
	uint8_t		present;	/* 0 or 1 */
	uint64_t	size;		/* 0 when absent */
	/* A partial download kept by storaged (0, 0 when there is none). */
	uint64_t	partial;	/* verified prefix, bytes (< partial_size) */
	uint64_t	partial_size;	/* the file size it was begun for */
	/*
	 * F_MERKLE and the file is stored with more than one fragment (encoded
	 * only when has_tree): its tree's shape, root and leaves first.. .
	 */
	uint8_t		has_tree;
	uint64_t	fragment_size;
	uint64_t	fragment_count;	/* = ceil(size / fragment_size), >= 2 */
	uint8_t		root[32];
	uint64_t	first;
	uint32_t	nleaves;	/* <= IPC_XSTAT_LEAVES_MAX, first + nleaves <= count */
	uint8_t		leaves[IPC_XSTAT_LEAVES_MAX * 32];
};

/* IPC_DL_BEGIN request (reply: ipc_u32, the download id). */
struct ipc_dl_begin {
	uint8_t		hash[32];	/* what the data must hash to */
	uint64_t	size;		/* the whole file's size */
	uint64_t	offset;		/* data follows from here: 0, or <= the verified prefix */
};

/*
 * IPC_DL_DATA request (reply: empty).  `leaves`: when netd checked each
 * fragment of the chunk against the sharer's merkle leaves (a sharer of
 * ours), those leaves, one per fragment the chunk completes, in order;
 * storaged records them instead of hashing every fragment a second time.
 * Empty otherwise: storaged computes the leaves.  The bytes follow the
 * header; the encoder writes only their length when `bytes` is NULL.
 */
#define IPC_DL_LEAVES_MAX	4
/* The longest IPC_DL_DATA ahead of its bytes: message header (4), id,
 * offset, the leaves' length and IPC_DL_LEAVES_MAX leaves, the bytes'
 * length; netd keeps that much room in front of a chunk. */
#define IPC_DL_DATA_HEAD_MAX	(4 + 4 + 8 + 4 + IPC_DL_LEAVES_MAX * 32 + 4)
struct ipc_dl_data {
	uint32_t	 id;
	uint64_t	 offset;
	const uint8_t	*leaves;	/* leaves_len bytes, a multiple of 32 */
	uint32_t	 leaves_len;	/* <= IPC_DL_LEAVES_MAX * 32 */
	const uint8_t	*bytes;		/* points into the decoded message */
	uint32_t	 len;
};

/* IPC_DL_ABORT request (reply: empty). */
struct ipc_dl_abort {
	uint32_t	id;		/* 0: no open download, only discard hash's partial */
	uint8_t		discard;	/* 1: delete the partial; 0: keep the verified prefix */
	uint8_t		hash[32];	/* the download's hash */
};

enum ipc_xfer_op { IPC_XFER_PAUSE = 1, IPC_XFER_RESUME = 2, IPC_XFER_CANCEL = 3 };

/* IPC_XFER_CTL request (reply: empty). */
struct ipc_xfer_ctl {
	uint32_t	number;
	uint8_t		op;		/* enum ipc_xfer_op */
};

/* IPC_DL_COMMIT request (reply: empty, or an error when the hash differs). */
struct ipc_dl_commit {
	uint32_t	id;
	uint8_t		hash[32];
};

/*
 * IPC_GET and IPC_PROBE request (reply: ipc_u32, the transfer number to
 * follow in IPC_TRANSFERS).
 */
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
	IPC_XFER_PAUSED = 5,	/* by ctl; the verified prefix is kept */
	IPC_XFER_STATE_MAX = 6
};

/* ipc_xfer_info.flags */
#define IPC_XFER_F_PROBE	0x01	/* into memory only (IPC_PROBE) */
#define IPC_XFER_F_HASH_OK	0x02	/* probe: the bytes hashed to the hash */
/* download: every fragment verified against the provider's merkle leaves
 * as it arrived (XFER_PROTO_MERKLE), not only the whole file at commit */
#define IPC_XFER_F_FRAGMENTS	0x04
/* a stream for apid (IPC_STREAM_OPEN): ranged runs into memory, nothing stored */
#define IPC_XFER_F_STREAM	0x08
#define IPC_XFER_F_ALL		0x0f

/* IPC_STREAM_OPEN reply. */
#define IPC_STREAM_F_VERIFIED	0x01	/* every fragment checked against the merkle tree */
struct ipc_stream_info {
	uint32_t	number;		/* the stream (a transfer number in IPC_TRANSFERS) */
	uint64_t	size;		/* the file's size, as the peer announced it */
	uint64_t	fragment_size;	/* runs are aligned to it */
	uint8_t		flags;		/* IPC_STREAM_F_* */
};

/*
 * IPC_STREAM_READ request: up to max bytes from offset; end (> offset, <=
 * size) is where the reader stops, so that a run never asks the peer for
 * fragments past it.  Reply: ipc_data (id = number, offset, 0..max bytes;
 * none at the end of the file), sent once bytes at offset are there.
 */
#define IPC_STREAM_READ_MAX	(1024 * 1024 - 4096)	/* a reply within IPC_MSG_MAX */
struct ipc_stream_read {
	uint32_t	number;
	uint64_t	offset;
	uint64_t	end;
	uint32_t	max;		/* 1..IPC_STREAM_READ_MAX */
};

/* IPC_FILE_FD request: hash.  Reply: the size (u64) and the descriptor. */
struct ipc_file_fd_req {
	uint8_t		hash[32];
};

/* One session of IPC_TRANSFERS (live ones, then recently finished ones). */
struct ipc_xfer_info {
	uint32_t	number;		/* netd's transfer number (IPC_GET's reply) */
	uint8_t		role;		/* enum ipc_xfer_role */
	uint8_t		state;		/* enum ipc_xfer_state */
	uint8_t		node_id[32];	/* the peer */
	uint8_t		hash[32];
	uint8_t		flags;		/* IPC_XFER_F_* */
	uint64_t	offset;		/* downloads: where this run started (resumed prefix) */
	uint64_t	done;		/* file bytes moved, the resumed prefix included */
	uint64_t	total;		/* the file's size (downloads) / bytes of the transfer */
	uint32_t	bad_fragments;	/* downloads: verification failures */
	uint32_t	restarts;	/* downloads: new Transfer requests after the first */
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
IPC_CODEC_DECL(dl_begin, struct ipc_dl_begin);
IPC_CODEC_DECL(dl_commit, struct ipc_dl_commit);
IPC_CODEC_DECL(dl_data, struct ipc_dl_data);
/* type: IPC_GET or IPC_PROBE. */
IPC_CODEC_DECL(get_req, struct ipc_get_req);
IPC_CODEC_DECL(probe_req, struct ipc_get_req);
IPC_CODEC_DECL(dl_abort, struct ipc_dl_abort);
IPC_CODEC_DECL(xfer_ctl, struct ipc_xfer_ctl);
const char *ipc_xfer_op_name(uint8_t op);
IPC_CODEC_DECL(stream_open, struct ipc_get_req);
IPC_CODEC_DECL(stream_info, struct ipc_stream_info);
IPC_CODEC_DECL(stream_read, struct ipc_stream_read);
IPC_CODEC_DECL(file_fd_req, struct ipc_file_fd_req);
/* The reply's body is a u64 size (ipc_u64-like, type IPC_FILE_FD). */
long	ipc_file_fd_rep_encode(uint8_t *out, size_t cap, uint64_t size);
int	ipc_file_fd_rep_decode(const uint8_t *p, size_t len, uint64_t *size);
/* A transfers list: ipc_list of ipc_xfer_info (type IPC_TRANSFERS). */
long	ipc_xfer_list_begin(uint8_t *out, size_t cap, uint32_t total);
int	ipc_xfer_list_add(uint8_t *out, size_t cap, size_t *off,
	    const struct ipc_xfer_info *x);
int	ipc_xfer_list_decode(const uint8_t *p, size_t len, struct ipc_xfer_list *l);
int	ipc_xfer_list_next(struct ipc_xfer_list *l, struct ipc_xfer_info *x);

#endif
