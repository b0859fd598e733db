/*
 * xfer_file.h — file transfers (Transfer, command 8; docs/protocol.md §9.1-9.7)
 * in both roles, a user of the transfer engine (xfer.c, xfer_sess.h), in
 * parts, each calling only the ones listed after it (docs/design.md,
 * "Layers"; upward through struct xfer_file_parts): xfer_file.c (the
 * entry: registration, Transfer messages, IPC_TRANSFERS), xfer_stream.c
 * (apid's ranged reads), xfer_prov.c (provider), xfer_req.c (requester),
 * xfer_merkle.c (a download's merkle leaves and per-fragment checks),
 * xfer_fsess.c (the session and its end).  This header is shared by those
 * parts only.
 *
 *  - Provider: a peer's REQUEST_START for a hash; storaged says whether the
 *    warehouse holds it (IPC_XSTAT); NOT_AVAILABLE, or the requester's
 *    transfer ID and sequence registered, UDT client, the 16-byte header
 *    then the bytes read from storaged in large IPC_CAT chunks, a few ahead.
 *  - Requester: ctl's IPC_GET; storaged is asked (IPC_XSTAT) whether it
 *    keeps a verified prefix of the file from an earlier, interrupted
 *    download; then a "run": fresh transfer ID and bi-sequence, UDT server,
 *    REQUEST_START (offset = that prefix, limit 0); the stream goes to
 *    storaged as a download (IPC_DL_*) that checkpoints the verified prefix
 *    and refuses the data unless it verifies (serve_dl.c: what is verified
 *    when).  A verification failure is counted and the file fetched again
 *    (XF_MAX_REFETCH runs in all); pause ends the run and closes the
 *    download in storaged keeping its prefix, resume starts a new run from
 *    it, cancel discards it (IPC_XFER_CTL).  IPC_PROBE: a run whose bytes
 *    are only hashed, in memory, never stored.  ctl follows a transfer with
 *    IPC_TRANSFERS.
 *  - Our extension, XFER_PROTO_MERKLE (transfer-protocol byte 0x4d, which
 *    the reference ignores: docs/protocol.md §3.8, §9.3; wire format in
 *    xfer_merkle.h): with each run's REQUEST_START the requester asks for
 *    the file's merkle leaves; a sharer of ours answers from storaged's
 *    companion (IPC_XSTAT, IPC_XSTAT_F_MERKLE).  Without an answer within
 *    XF_MK_WAIT_MS (2 s; a reference sharer) the download goes on as
 *    above.  With leaves that lead to their root, each fragment (files up
 *    to 1 GiB) is hashed as it arrives, before storaged sees it: a bad one
 *    is dropped, counted (IPC_NC_XFER_BAD_FRAGMENT) and fetched again by a
 *    new run from its offset, XF_MAX_REFETCH failures in all, then the
 *    download fails naming the fragment.  The checked leaves go to
 *    storaged with their chunk, which records them instead of hashing each
 *    fragment again.  The whole-file hash at commit still decides
 *    (IPC_XFER_F_FRAGMENTS marks such downloads).
 */
#ifndef PEERNET_XFER_FILE_H
#define PEERNET_XFER_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "blake3.h"
#include "ipc_msg_xfer.h"
#include "xfer_merkle.h"	/* XFER_PROTO_MERKLE */
#include "xfer_sess.h"

struct netd;
struct peer;
struct peer_conn;
struct ipc_req;
struct wire_packet;
struct wire_transfer;

#define XF_MAX_SESSIONS		16	/* both roles; each maps a ~3.7 MB UDT connection (udt.c) */
#define XF_MAX_DOWNLOADS	8
#define XF_MAX_SERVING		8	/* files served at once, to all peers */
#define XF_MAX_SERVE_PEER	2	/* files one peer can make us serve at once */
#define XF_STALE_MS		3000	/* a served peer silent this long lost it (xfer_prov.c) */
#define XF_SERVE_CHUNK		(512 * 1024)	/* one IPC_CAT */
#define XF_SERVE_AHEAD		3	/* IPC_CAT chunks read ahead of the stream */
#define XF_STORE_CHUNK		(512 * 1024)	/* one IPC_DL_DATA */
#define XF_STORE_INFLIGHT	3	/* IPC_DL_DATA unanswered */
/* Room for the ipc_dl_data header in front, the data 64-byte aligned after it. */
#define XF_IPC_HDR_ROOM		((IPC_DL_DATA_HEAD_MAX + 63) / 64 * 64)
#define XF_MAX_FILE		(1ULL << 40)	/* 1 TiB: larger announcements are refused */
#define XF_IDLE_MS		SEQ_BI_FILE_MS	/* transferSequenceTimeout (§9.2) */
#define XF_START_MS		15000	/* a requester's wait for the first lite packet */
#define XF_RESEND_MS		2000	/* REQUEST_START again while the provider is silent */
#define XF_IPC_TIMEOUT_MS	10000
#define XF_COMMIT_TIMEOUT_MS	600000	/* storaged builds the merkle tree of a huge file */
#define XF_RECENT		32	/* finished sessions kept for IPC_TRANSFERS */
#define XF_RECENT_MS		600000
#define XF_MAX_REFETCH		3	/* verification failures before a download fails */
/*
 * Merkle leaves (XFER_PROTO_MERKLE, xfer_merkle.h): asked with each run's
 * request, the data waits at most XF_MK_WAIT_MS for a first answer (a
 * reference sharer never answers: whole-file verification as before) and
 * XF_MK_STALL_MS between answers; XF_MK_WINDOW batches asked at once.
 * Files up to XF_MK_MAX_FILE: their fragments (<= 512 KiB, §4.1) divide
 * XF_STORE_CHUNK, so a chunk handed to storaged holds whole fragments.
 */
#define XF_MK_WAIT_MS		2000
#define XF_MK_STALL_MS		5000
#define XF_MK_RESEND_MS		500
#define XF_MK_WINDOW		8
#define XF_MK_MAX_FILE		(1ULL << 30)
#define XF_MK_MAX_SERVING	16	/* peers' merkle requests with storaged */

/* A download's storaged side. */
enum xfer_file_dl { DL_NONE = 0, DL_BEGIN_SENT, DL_OPEN, DL_COMMIT_SENT, DL_DEAD };

enum xfer_file_slot_state { XS_FREE = 0, XS_WAIT, XS_READY };

/* A download's merkle leaves. */
enum xfer_file_mk { MK_UNASKED = 0, MK_ASKING, MK_READY, MK_NONE };

struct xfer_file_slot {
	int		 state;
	uint64_t	 off;		/* file offset */
	uint32_t	 len;		/* bytes asked */
	uint8_t		*data;
	uint32_t	 have;		/* bytes in data */
	uint32_t	 pos;		/* bytes written into UDT */
};

struct xfer_st;

struct xfer_file_sess {
	struct xfer_sess	 x;		/* the engine's part: first */
	struct xfer_st		*st;		/* a stream for apid (IPC_STREAM_OPEN), else NULL */
	uint64_t		 limit;		/* requester: this run's REQUEST_START limit (0: to the end) */
	uint32_t		 number;	/* what ctl refers to */
	int			 state;		/* enum ipc_xfer_state */
	uint8_t			 hash[32];
	uint64_t		 data_start;	/* ms: this run's first byte */
	uint64_t		 file_size;
	uint64_t		 total;		/* bytes of the transfer (header's second field) */
	uint64_t		 done;		/* file bytes through the stream */
	/* requester */
	uint8_t			 flags;		/* IPC_XFER_F_* */
	uint64_t		 req_at;	/* this run's REQUEST_START */
	uint64_t		 req_sent;	/* its last (re)transmission */
	uint32_t		 bad;		/* verification failures */
	uint32_t		 runs;		/* REQUEST_STARTs sent */
	uint32_t		 restarts;	/* REQUEST_STARTs after the first */
	int			 want_resume;	/* paused, ctl asked to go on */
	int			 discard;	/* on failure: drop the kept prefix too */
	blake3_hasher		*probe;		/* probe: the whole-file hash */
	uint8_t			 hdr[WIRE_FILE_HEADER_SIZE];
	size_t			 hlen;
	int			 dl;		/* enum xfer_file_dl */
	uint32_t		 dl_id;
	uint8_t			*chunk;		/* XF_IPC_HDR_ROOM + XF_STORE_CHUNK */
	size_t			 clen;		/* data bytes in chunk */
	uint64_t		 handed;	/* bytes handed to storaged */
	uint64_t		 stored;	/* bytes storaged acknowledged */
	/* requester: merkle leaves (XFER_PROTO_MERKLE) and per-fragment checks */
	int			 mk;		/* enum xfer_file_mk */
	uint64_t		 mk_asked_at;	/* first request (no reply yet) */
	uint64_t		 mk_last;	/* last reply, or request sent */
	uint64_t		 mk_last_rx;	/* last reply */
	int			 mk_any;	/* a reply came */
	uint64_t		 mk_size, mk_frag, mk_count;
	uint8_t			 mk_root[32];
	uint8_t			*mk_leaves;	/* mk_count x 32 */
	uint8_t			*mk_ok;		/* per batch of XFER_MK_BATCH: received */
	uint64_t		 mk_nok, mk_next;	/* batches received, asked */
	int			 mk_gated;	/* this run: decided whether to verify */
	int			 mk_on;		/* this run verifies each fragment */
	size_t			 vpos;		/* chunk bytes verified (whole fragments) */
	/* both: the file offset the transfer (requester: this run) starts at */
	uint64_t		 offset;
	/* provider */
	int			 hdr_done;
	size_t			 hdr_pos;
	uint64_t		 next_fetch;	/* file offset of the next IPC_CAT */
	struct xfer_file_slot		 slots[XF_SERVE_AHEAD];
	unsigned		 head, nslots;
	/*
	 * The stored file's read-only descriptor from storaged (IPC_FILE_FD),
	 * when it came: chunks in the page cache are read here (preadv2
	 * RWF_NOWAIT), the others still from storaged.  rfd_on 0: none yet.
	 */
	int			 rfd;
	int			 rfd_on;
	uint64_t		 rfd_reads, rfd_misses;	/* chunks read here / not cached */
};

struct xfer_file_recent {
	uint64_t		 at;		/* ms; 0: free */
	struct ipc_xfer_info	 info;
};

/*
 * The roles' functions the session (xfer_fsess.c) and the merkle checks
 * (xfer_merkle.c) call: below the roles, they reach them only through
 * this table, which xfer_file.c hands to xfer_fsess_init.
 */
struct xfer_file_parts {
	void	(*req_pump)(struct xfer_file_sess *s);
	int	(*req_tick)(struct xfer_file_sess *s, uint64_t now_ms);
	void	(*req_dl_abort)(struct xfer_file_sess *s, int discard);
	int	(*req_flush_chunk)(struct xfer_file_sess *s);
	int	(*req_run_start)(struct xfer_file_sess *s);
	void	(*req_stop)(struct xfer_file_sess *s);
	void	(*prov_pump)(struct xfer_file_sess *s);
	void	(*st_pump)(struct xfer_file_sess *s);
	int	(*st_tick)(struct xfer_file_sess *s, uint64_t now_ms);
	void	(*st_release)(struct xfer_file_sess *s, int ok, const char *why);
};

/* n->xfer->files */
struct xfer_files {
	const struct xfer_file_parts *parts;
	struct xfer_file_recent	 recent[XF_RECENT];
	unsigned		 recent_next;
	uint32_t		 next_number;
	int			 mk_serving;	/* peers' merkle requests with storaged */
};

static inline struct xfer_file_sess *
FS(struct xfer_sess *xs)
{
	return (struct xfer_file_sess *)xs;
}

/* A storaged reply for this run of s: NULL when s ended or began another run. */
static inline struct xfer_file_sess *
xfer_file_run(struct xfer_sess *xs, uint32_t gen)
{
	return xs != NULL && xs->gen == gen ? FS(xs) : NULL;
}

/* xfer_fsess.c: the session, below every other part */
extern const struct xfer_ops xfer_file_ops;
/* The file side's state (recent transfers, parts) set up and freed. */
int	xfer_fsess_init(struct netd *n, const struct xfer_file_parts *parts);
void	xfer_fsess_fini(struct netd *n);
const struct xfer_file_parts *xfer_file_parts(struct netd *n);
struct xfer_file_sess *xfer_file_new(struct netd *n, enum xfer_role role,
	    const uint8_t pub[PEERNET_PUBKEY_BYTES], const uint8_t hash[32]);
/* Slot i's file session, NULL: none (i < XFER_SLOTS). */
struct xfer_file_sess *xfer_file_at(struct netd *n, int i);
struct xfer_file_sess *xfer_file_find(struct netd *n, uint32_t number);
/*
 * Ends a session: kept for IPC_TRANSFERS as done or failed (why).
 * terminate: tell the peer (§9.6 recommends TERMINATE to free the provider).
 */
void	xfer_file_end(struct xfer_file_sess *s, int ok, int terminate, const char *why);
/* storaged refused a request of s or did not answer (rep NULL, err): s fails. */
void	xfer_file_store_failed(struct xfer_file_sess *s, int terminate,
	    const uint8_t *rep, size_t len, const char *err);
void	xfer_file_pump(struct xfer_file_sess *s);
void	xfer_file_send_ctl(struct netd *n, const uint8_t pub[PEERNET_PUBKEY_BYTES],
	    const uint8_t hash[32], uint8_t control, uint32_t seq);
const struct xfer_file_recent *xfer_file_recent_find(struct netd *n, uint32_t number);
/* What IPC_TRANSFERS shows of s at now. */
void	xfer_file_info(const struct xfer_file_sess *s, uint64_t now,
	    struct ipc_xfer_info *x);

/* xfer_req.c */
void	xfer_req_pump(struct xfer_file_sess *s);
int	xfer_req_tick(struct xfer_file_sess *s, uint64_t now_ms);
/* A run whose provider is silent: its request again, or the end (1). */
int	xfer_req_run_tick(struct xfer_file_sess *s, uint64_t now_ms);
/* Bytes of this run's stream: 0 none yet, -1 s ended on an error. */
ssize_t	xfer_req_read(struct xfer_file_sess *s, void *buf, size_t want);
/* UDT accepted and the stream's header read through header(): 1, or 0 (wait, or s ended). */
int	xfer_req_stream_head(struct xfer_file_sess *s, int (*header)(struct xfer_file_sess *));
/* This run's REQUEST_START (again). 0 or -1. */
int	xfer_req_send_request(struct xfer_file_sess *s);
/* A run from s->offset (s->limit bytes, 0: to the end); 0, or -1 when s was ended. */
int	xfer_req_run_start(struct xfer_file_sess *s);
/* Ends this run's stream: UDT dropped, the provider told (§9.6), sequence freed. */
void	xfer_req_stop(struct xfer_file_sess *s);
/* Hands the filled chunk to storaged; 0, or -1 (the session was ended). */
int	xfer_req_flush_chunk(struct xfer_file_sess *s);
/* Closes the download in storaged: its prefix kept, or discarded. */
void	xfer_req_dl_abort(struct xfer_file_sess *s, int discard);
struct peer *xfer_req_peer(struct netd *n, struct ipc_req *req,
	    const uint8_t node_id[32], const char *hint);

/* xfer_prov.c */
void	xfer_prov_pump(struct xfer_file_sess *s);
void	xfer_prov_request(struct netd *n, struct peer *p, uint32_t seq,
	    const struct wire_transfer *t);

/* xfer_merkle.c: a download's leaves and per-fragment verification */
void	xfer_mk_start(struct xfer_file_sess *s);
void	xfer_mk_tick(struct xfer_file_sess *s, uint64_t now);
void	xfer_mk_in(struct xfer_file_sess *s, const struct wire_transfer *t);
void	xfer_mk_none(struct xfer_file_sess *s, const char *why);
int	xfer_mk_gate(struct xfer_file_sess *s);
int	xfer_mk_verify(struct xfer_file_sess *s);

/* xfer_stream.c */
void	xfer_st_pump(struct xfer_file_sess *s);
void	xfer_st_release(struct xfer_file_sess *s, int ok, const char *why);
int	xfer_st_tick(struct xfer_file_sess *s, uint64_t now_ms);

#endif
