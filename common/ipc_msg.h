/*
 * ipc_msg.h — the catalogue of every IPC message exchanged between the
 * peernet programs, with its direction, and the bounds-checked codec for each.
 *
 * Every IPC message is one nng message:
 *
 *	u16 LE type | u16 LE status | body
 *
 * `status` is 0 in requests and in successful replies, an IPC_ERR_* code in
 * error replies (whose body is then one string: the reason).  Body fields
 * are written in a fixed order per type: integers little-endian, strings as
 * u16 length + bytes (no NUL, at most IPC_STR_MAX), byte strings of fixed
 * size as raw bytes.  Decoders read through common/buf.h, reject a body with
 * bytes left over, and validate every field as if it came from an attacker.
 *
 * Direction legend: ctl = peernetctl, *d = any daemon.
 */
#ifndef PEERNET_IPC_MSG_H
#define PEERNET_IPC_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "ipc_msg_decl.h"

#define IPC_HDR_LEN	4
#define IPC_STR_MAX	1024
#define IPC_NAME_MAX	16
#define IPC_MAX_LINKS	4
#define IPC_MSG_MAX	(1024 * 1024)	/* nng recv limit on every socket */

enum ipc_type {
	/* ctl, *d -> *d: who are you, how are you */
	IPC_STATUS		= 1,
	/* ctl -> *d: exit cleanly */
	IPC_SHUTDOWN		= 2,
	/* ctl -> *d: reload what can be reloaded (like SIGHUP) */
	IPC_RELOAD		= 3,
	/* ctl -> *d: try to open an AF_INET socket and report the errno (sandbox check) */
	IPC_SANDBOX_PROBE	= 4,
	/* ctl -> netd: the node's public key and node ID */
	IPC_ID			= 10,
	/* storaged -> netd: sign a 32-byte hash with the node identity */
	IPC_SIGN		= 11,
	/* ctl -> storaged: share a file, streamed in chunks (ctl reads the file) */
	IPC_ADD_BEGIN		= 20,	/* ipc_add_begin -> ipc_u32 (upload id) */
	IPC_ADD_DATA		= 21,	/* ipc_data (id, offset, bytes) -> empty */
	IPC_ADD_END		= 22,	/* ipc_u32 (id) -> ipc_add_result */
	IPC_ADD_ABORT		= 23,	/* ipc_u32 (id) -> empty */
	/* ctl -> storaged: the own chain's files */
	IPC_LS			= 24,	/* ipc_range -> ipc_file list */
	IPC_RM			= 25,	/* ipc_ref (id or hash) -> ipc_u32 (records removed) */
	IPC_MV			= 26,	/* ipc_mv -> empty */
	IPC_CAT			= 27,	/* ipc_read (hash, offset, length) -> ipc_data */
	IPC_CHAIN		= 28,	/* empty -> ipc_chain_info */
	IPC_PROFILE_GET		= 29,	/* ipc_u32 (field) -> ipc_data */
	IPC_PROFILE_SET		= 30,	/* ipc_data (field in id, value) -> empty */
	IPC_CACHE		= 31,	/* empty -> ipc_cache_info */
	IPC_VERIFY		= 32,	/* empty -> ipc_verify_result */
	IPC_STORE_STATUS	= 33,	/* ctl -> storaged: empty -> ipc_counters */
	/* apid -> storaged: the web API's requests (ipc_msg_web.h) */
	IPC_WH_END		= 34,	/* ipc_u32 (upload id) -> ipc_wh_result */
	IPC_PUBLISH		= 35,	/* ipc_publish -> ipc_publish_result */
	IPC_CHAIN_APPEND	= 36,	/* ipc_append -> empty */
	IPC_PROFILE_DEL		= 37,	/* ipc_profile_del -> ipc_u32 (deleted) */
	IPC_WIPE		= 38,	/* ipc_wipe -> ipc_u32 */
	IPC_PEER_PROFILE	= 39,	/* ipc_peer_profile_req -> ipc_peer_profile */
	/* netd -> storaged: serve a block of the own chain */
	IPC_BLOCK_GET		= 40,	/* ipc_read (offset = block number) -> ipc_data */
	/* netd -> storaged: a peer announced its chain; which blocks to fetch */
	IPC_CACHE_SEEN		= 41,	/* ipc_cache_seen -> ipc_cache_fetch */
	/* netd -> storaged: a fetched block of a peer's chain, to validate and cache */
	IPC_CACHE_PUT		= 42,	/* ipc_cache_block -> empty */
	/* apid -> netd: a byte range of a remote peer's file, into memory (ipc_msg_xfer.h) */
	IPC_STREAM_OPEN		= 43,	/* ipc_get_req -> ipc_stream_info (deferred) */
	IPC_STREAM_READ		= 44,	/* ipc_stream_read -> ipc_data (deferred) */
	IPC_STREAM_CLOSE	= 45,	/* ipc_u32 (stream) -> empty */
	/* apid -> storaged, bulk channel only: a read-only descriptor of a stored file */
	IPC_FILE_FD		= 46,	/* ipc_xstat_req-like hash -> ipc_u64 size + SCM_RIGHTS */
	/* ctl -> searchd: search jobs (ipc_msg_search.h) */
	IPC_SEARCH_START	= 50,
	IPC_SEARCH_FETCH	= 51,
	IPC_SEARCH_STOP		= 52,
	IPC_REINDEX		= 53,	/* rebuild the index from storaged */
	/* searchd -> storaged: every file record, own and cached (ipc_msg_search.h) */
	IPC_FILES_ALL		= 54,
	/* ctl -> searchd: the owners of a content hash (ipc_msg_search.h) */
	IPC_SHARERS		= 55,
	/* ctl, searchd -> netd: the peer list (ipc_msg_net.h) */
	IPC_PEERS		= 60,
	/* ctl -> netd: ping a node, look a node up in the DHT (ipc_msg_net.h) */
	IPC_PING		= 61,
	IPC_FIND		= 62,
	/* ctl -> netd: network status: listen addresses, counters (ipc_msg_net.h) */
	IPC_NET_STATUS		= 63,
	/* netd -> storaged: remember good peers across restarts (ipc_msg_net.h) */
	IPC_PEERS_SAVE		= 64,	/* ipc_known_peers -> empty */
	IPC_PEERS_LOAD		= 65,	/* empty -> ipc_known_peers */
	/* file transfers (ipc_msg_xfer.h) */
	IPC_XSTAT		= 70,	/* netd, ctl -> storaged: ipc_xstat_req -> ipc_xstat_rep */
	IPC_DL_BEGIN		= 71,	/* netd -> storaged: ipc_dl_begin -> ipc_u32 (download id) */
	IPC_DL_DATA		= 72,	/* netd -> storaged: ipc_dl_data (id, offset, leaves, bytes) -> empty */
	IPC_DL_COMMIT		= 73,	/* netd -> storaged: ipc_dl_commit -> empty */
	IPC_DL_ABORT		= 74,	/* netd -> storaged: ipc_dl_abort -> empty */
	IPC_GET			= 75,	/* ctl -> netd: ipc_get_req -> ipc_u32 (transfer number) */
	IPC_TRANSFERS		= 76,	/* ctl -> netd: ipc_u32 (number, 0: all) -> ipc_xfer_list */
	IPC_XFER_CTL		= 77,	/* ctl -> netd: ipc_xfer_ctl (pause/resume/cancel) -> empty */
	IPC_PROBE		= 78,	/* ctl -> netd: ipc_get_req -> ipc_u32 (memory-only download) */
	/* events published by a daemon on its pub socket (pub/sub) */
	IPC_EV_STARTED		= 100,	/* a daemon is up: body = status */
	IPC_EV_CHAIN		= 101,	/* storaged: own chain changed: ipc_chain_info */
	IPC_EV_FILE_ADDED	= 102,	/* storaged: a record entered own chain or cache: ipc_file */
	IPC_EV_FILE_REMOVED	= 103,	/* storaged: a record left own chain or cache: ipc_file */
	IPC_EV_OWNER_DROPPED	= 104,	/* storaged: a cached chain was dropped: ipc_file (owner only) */
	IPC_TYPE_MAX		= 105
};

enum ipc_err {
	IPC_OK = 0,
	IPC_ERR_DENIED = 1,	/* the client's uid is not allowed */
	IPC_ERR_BADMSG = 2,	/* malformed request */
	IPC_ERR_UNKNOWN = 3,	/* type not served by this daemon */
	IPC_ERR_FAILED = 4,	/* the request was valid but failed */
	IPC_ERR_UNAVAILABLE = 5	/* a daemon this request needs is unreachable */
};

/* Decoder errors (negative return values of ipc_*_decode). */
enum ipc_decode_err {
	IPC_DEC_SHORT = -1,	/* truncated */
	IPC_DEC_TRAILING = -2,	/* bytes left after the last field */
	IPC_DEC_TYPE = -3,	/* unexpected type */
	IPC_DEC_STRING = -4,	/* string too long or with a NUL byte */
	IPC_DEC_RANGE = -5,	/* field out of range */
	IPC_DEC_STATUS = -6	/* error reply (status != 0) */
};

struct ipc_hdr {
	uint16_t	type;
	uint16_t	status;
};

enum ipc_link_state { IPC_LINK_UNKNOWN = 0, IPC_LINK_UP = 1, IPC_LINK_DOWN = 2 };

struct ipc_status_link {
	char		name[IPC_NAME_MAX];
	uint8_t		state;		/* enum ipc_link_state */
	uint64_t	last_ok_ms_ago;	/* UINT64_MAX: never */
};

struct ipc_status {
	char		name[IPC_NAME_MAX];	/* "netd", "storaged", "searchd" */
	char		version[32];
	uint32_t	pid;
	uint32_t	uid;
	uint64_t	uptime_ms;
	char		sandbox[128];
	char		dir[IPC_STR_MAX];
	uint8_t		nlinks;
	struct ipc_status_link links[IPC_MAX_LINKS];
};

struct ipc_id {
	uint8_t		pubkey[33];
	uint8_t		node_id[32];
};

struct ipc_sign_req {
	uint8_t		hash[32];
};

struct ipc_sign_rep {
	uint8_t		sig[65];
};

struct ipc_probe {
	int32_t		inet_errno;	/* 0: socket(AF_INET) succeeded */
	int32_t		unix_errno;	/* 0: socket(AF_UNIX) succeeded */
};

/* A u32 body: upload ids, counts, profile fields. */
struct ipc_u32 {
	uint32_t	value;
};

/* Bytes with an id and an offset: file chunks, block bytes, profile values. */
#define IPC_DATA_MAX	(IPC_MSG_MAX - 64)
struct ipc_data {
	uint32_t	 id;
	uint64_t	 offset;
	const uint8_t	*bytes;		/* points into the decoded message */
	uint32_t	 len;
};

struct ipc_read {
	uint8_t		hash[32];
	uint64_t	offset;
	uint32_t	len;
};

struct ipc_range {
	uint32_t	offset;
	uint32_t	limit;
};

/*
 * File tags (docs/data.md §2.5.2) other than name, folder and description, in
 * record order: entries of u16 type | u16 length | data, so that one
 * struct carries any mix of date-created (type 4, 8 bytes LE) and
 * client-defined types (7..32767).  On the wire: u16 length + raw.
 */
#define IPC_TAGS_MAX	1024	/* keeps a full search page within IPC_MSG_MAX */
struct ipc_tags {
	uint16_t	len;
	uint8_t		raw[IPC_TAGS_MAX];
};

/* One file record, of the own chain or of a cached chain. */
struct ipc_file {
	uint8_t		id[16];
	uint8_t		hash[32];
	uint8_t		owner[33];	/* peer ID of the chain's owner */
	uint64_t	size;
	uint8_t		type;
	uint16_t	format;
	int64_t		date;		/* shared, Unix seconds */
	uint64_t	block;
	char		name[IPC_STR_MAX + 1];
	char		folder[IPC_STR_MAX + 1];
	char		description[IPC_STR_MAX + 1];
	struct ipc_tags	tags;
};

struct ipc_add_begin {
	uint64_t	size;		/* what ctl will send */
	uint8_t		type;		/* 0xff: detect from the name */
	uint16_t	format;		/* 0xffff: detect from the name */
	char		name[IPC_STR_MAX + 1];
	char		folder[IPC_STR_MAX + 1];
	char		description[IPC_STR_MAX + 1];
	struct ipc_tags	tags;		/* written after the named fields */
};

struct ipc_add_result {
	uint8_t		dedup;		/* the content was already in the warehouse */
	struct ipc_file	file;
};

struct ipc_ref {
	uint8_t		kind;		/* 0: file ID (first 16 bytes), 1: content hash */
	uint8_t		key[32];
};

struct ipc_mv {
	uint8_t		id[16];
	char		name[IPC_STR_MAX + 1];
};

struct ipc_chain_info {
	uint64_t	version;
	uint64_t	height;
	uint64_t	files;
	uint64_t	bytes;		/* sum of the shared files' sizes */
};

struct ipc_cache_info {
	uint64_t	peers;
	uint64_t	blocks;
	uint64_t	bytes;
	uint64_t	files;
};

struct ipc_cache_seen {
	uint8_t		owner[33];
	uint64_t	version;
	uint64_t	height;
};

struct ipc_cache_fetch {
	uint8_t		status;		/* enum cache_seen of storaged/cache.h */
	uint64_t	from;		/* blocks [from, to) are wanted */
	uint64_t	to;
};

struct ipc_cache_block {
	uint8_t		 owner[33];
	uint64_t	 version;
	uint64_t	 number;
	const uint8_t	*raw;		/* points into the decoded message */
	uint32_t	 len;
};

/* Named counters of a daemon (IPC_STORE_STATUS). */
#define IPC_COUNTERS_MAX	32
#define IPC_COUNTER_NAME_MAX	48
struct ipc_counters {
	uint8_t		n;
	struct {
		char		name[IPC_COUNTER_NAME_MAX];
		uint64_t	value;
	} c[IPC_COUNTERS_MAX];
};

struct ipc_verify_result {
	uint64_t	files;
	uint64_t	bad;
	char		report[IPC_STR_MAX + 1];	/* the first bad ones, one a line */
};

/* Header. */
int	ipc_hdr_decode(const uint8_t *p, size_t len, struct ipc_hdr *h);
const char *ipc_type_name(uint16_t type);
const char *ipc_err_str(uint16_t status);
const char *ipc_decode_strerror(int err);

/*
 * Encoders write header + body into out (cap bytes); return the length or a
 * negative value if it does not fit.  Decoders take the whole message.
 */
long	ipc_empty_encode(uint8_t *out, size_t cap, uint16_t type, uint16_t status);
int	ipc_empty_decode(const uint8_t *p, size_t len, uint16_t type);
long	ipc_error_encode(uint8_t *out, size_t cap, uint16_t type, uint16_t status,
	    const char *reason);
/* An error reply: status and reason (NUL-terminated, truncated to cap). */
int	ipc_error_decode(const uint8_t *p, size_t len, uint16_t *status,
	    char *reason, size_t cap);

IPC_CODEC_TYPED_DECL(status, struct ipc_status);
IPC_CODEC_DECL(id, struct ipc_id);
IPC_CODEC_DECL(sign_req, struct ipc_sign_req);
IPC_CODEC_DECL(sign_rep, struct ipc_sign_rep);
IPC_CODEC_DECL(probe, struct ipc_probe);

long	ipc_u32_encode(uint8_t *out, size_t cap, uint16_t type, uint32_t v);
int	ipc_u32_decode(const uint8_t *p, size_t len, uint16_t type, uint32_t *v);
/* Writes header and the data's id/offset/length; the bytes follow. */
IPC_CODEC_TYPED_DECL(data, struct ipc_data);
IPC_CODEC_TYPED_DECL(read, struct ipc_read);
IPC_CODEC_TYPED_DECL(range, struct ipc_range);
IPC_CODEC_TYPED_DECL(file, struct ipc_file);
/*
 * A list message: u32 total, u32 count, then count items of one kind
 * (files, peers).  The decoder validates every item up front, so that
 * iterating cannot fail afterwards.
 */
struct ipc_list {
	uint32_t	total;
	uint32_t	count;
	size_t		off;		/* iterator position */
	const uint8_t	*p;
	size_t		len;
};
#define ipc_file_list ipc_list
long	ipc_file_list_begin(uint8_t *out, size_t cap, uint16_t type, uint32_t total);
/* Appends f at out+*off and bumps the count; -1 if it does not fit. */
int	ipc_file_list_add(uint8_t *out, size_t cap, size_t *off, const struct ipc_file *f);
int	ipc_file_list_decode(const uint8_t *p, size_t len, uint16_t type, struct ipc_file_list *l);
/* 1 and the next file, 0 at the end, or a negative decode error. */
int	ipc_file_list_next(struct ipc_file_list *l, struct ipc_file *f);
IPC_CODEC_DECL(add_begin, struct ipc_add_begin);
IPC_CODEC_DECL(add_result, struct ipc_add_result);
IPC_CODEC_TYPED_DECL(ref, struct ipc_ref);
IPC_CODEC_DECL(mv, struct ipc_mv);
IPC_CODEC_TYPED_DECL(chain_info, struct ipc_chain_info);
IPC_CODEC_DECL(cache_info, struct ipc_cache_info);
IPC_CODEC_DECL(cache_seen, struct ipc_cache_seen);
IPC_CODEC_DECL(cache_fetch, struct ipc_cache_fetch);
IPC_CODEC_DECL(cache_block, struct ipc_cache_block);
/* Appends a tag; -1 if it does not fit or type has bit 15 set. */
int	ipc_tags_add(struct ipc_tags *t, uint16_t type, const void *data, size_t len);
/* 1 and the tag at *off (advanced), 0 at the end; t was validated. */
int	ipc_tags_next(const struct ipc_tags *t, size_t *off, uint16_t *type,
	    const uint8_t **data, size_t *len);
IPC_CODEC_TYPED_DECL(counters, struct ipc_counters);
IPC_CODEC_DECL(verify_result, struct ipc_verify_result);

/* The messages of the search and network areas, with their codecs. */
#include "ipc_msg_net.h"
#include "ipc_msg_search.h"
#include "ipc_msg_web.h"
#include "ipc_msg_xfer.h"

#endif
