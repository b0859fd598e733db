/*
 * apid.h — peernet-apid, the node's web API (the Go reference's REST API,
 * FEATURES.md §3) for applications: every struct and function shared by the
 * files of apid/.
 *
 *	apid.c		start-up (daemon checklist), listen sockets, MHD
 *	apid_landlock.c	the filesystem apid keeps (Landlock)
 *	api_http.c	the route table, dispatch, authentication, replies
 *	api_parse.c	pure parsers: query values, Range, JSON bodies (fuzzed)
 *	api_ipc.c	the only door to the node: IPC calls to the daemons
 *	api_status.c	/test /status, /status/peers, /status/config, /account/info, /shutdown
 *	api_chain.c	/blockchain/header, read, append, file/list|add|update|delete; apiFile JSON
 *	api_profile.c	/profile/list, /profile/read (own and other nodes'), write, delete
 *	api_search.c	/search /search/result /search/terminate
 *	api_ws.c	/search/result/ws, /console (WebSocket)
 *	api_console.c	/console's commands
 *	api_explore.c	/explore, /blockchain/view, /merge/directory (others' files)
 *	api_file.c	/warehouse/read /file/read /file/view
 *	api_stream.c	/file/read /file/view of a remote peer's file (ranged, netd)
 *	api_local.c	paths on the local disk (api_files_dir): /file/format
 *	api_upload.c	/warehouse/create (multipart, streamed), its tracking,
 *			/warehouse/create/path, /warehouse/delete
 *	api_account.c	/account/delete
 *	api_download.c	/download/start, /download/status, /download/action
 *	api_metrics.c	/metrics (Prometheus text format)
 *
 * Threads: libmicrohttpd runs one thread per connection (bounded by
 * APID_MAX_CONNS) and route handlers block on IPC calls bounded by
 * ipc_timeout_ms; the daemon's own loop keeps only signals and its IPC
 * socket.  See docs/webapi.md for why.
 */
#ifndef PEERNET_APID_H
#define PEERNET_APID_H

#include <limits.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "conf.h"

/*
 * Concurrent HTTP connections per api_listen address, each with its own
 * thread (handlers block on IPC, websockets and remote streams on the
 * network, so a thread per connection keeps one slow request from holding
 * others).  2,048: a thousand idle keep-alive clients must not stop others
 * being served (issue #17); 64 let 64 idle ones hold every slot until
 * api_timeout_s.  What a thread costs is its stack, APID_THREAD_STACK, of
 * which an idle connection touches a few pages (the RSS bench/apid.sh
 * prints).  Every connection is a descriptor: apid raises its soft
 * RLIMIT_NOFILE at start.
 */
#define APID_MAX_CONNS		2048
#define APID_MAX_CONNS_PER_IP	32
/*
 * A connection thread's stack: the deepest handlers keep up to ~20 KiB of
 * structs and buffers on it (decoded IPC records of a few KiB, PATH_MAX
 * paths, 1 KiB tag blobs) and call jansson, GnuTLS and nng; anything
 * larger (a block's records, a day list, a console line) is malloc'd for
 * the request.  Nothing is `static __thread`: glibc carves a thread's
 * static TLS out of its stack and zeroes it when the thread starts, so the
 * ~295 KiB of per-thread buffers apid had made every idle keep-alive
 * connection cost ~300 KiB (issue #17).  An idle connection now touches
 * only the few stack pages MHD's connection loop uses (bench/apid.sh
 * prints the RSS per idle connection).  1 MiB is address space, not
 * memory; glibc's default (8 MiB, from ulimit -s) would reserve 16 GiB for
 * 2,048 threads.  AddressSanitizer's redzones need several times more.
 */
#if defined(__SANITIZE_ADDRESS__)
#define APID_THREAD_STACK	(4u << 20)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define APID_THREAD_STACK	(4u << 20)
#endif
#endif
#ifndef APID_THREAD_STACK
#define APID_THREAD_STACK	(1024u << 10)
#endif
#define APID_BODY_MAX		(1024 * 1024)	/* JSON request bodies */
#define APID_CHUNK		(256 * 1024)	/* bytes per IPC_CAT / IPC_ADD_DATA */
#define APID_MAX_UPLOADS	4	/* /warehouse/create at once (storaged has 16 slots) */
#define APID_UPLOAD_MAX		(64ULL << 30)	/* bytes of one upload's body */

struct MHD_Connection;
struct MHD_Daemon;
struct daemon;

struct apid_listener {
	int			 fd;
	struct MHD_Daemon	*mhd;
	char			 text[64];
};

/* Counters shown by /metrics; updated from the connection threads. */
struct apid_stats {
	atomic_ullong	requests;
	atomic_ullong	replies_2xx;
	atomic_ullong	replies_4xx;
	atomic_ullong	replies_5xx;
	atomic_ullong	auth_failures;
	atomic_ullong	bad_requests;
	atomic_ullong	ipc_failures;
	atomic_ullong	bytes_streamed;
	atomic_ullong	status_queries;	/* netd status snapshots fetched */
};

struct apid {
	struct daemon		*d;
	const struct conf	*conf;
	struct apid_listener	 ls[CONF_MAX_API_LISTEN];
	int			 nls;
	char			*tls_cert;	/* PEM, read before the drop */
	char			*tls_key;
	int			 stop_pipe[2];	/* /shutdown -> the loop */
	struct apid_stats	 st;
	int			 files_fd;	/* api_files_dir (O_PATH), -1 */
	char			 files_dir[PATH_MAX];	/* its real path */
	uint8_t			 self_node_id[32];
	uint8_t			 self_pubkey[33];
	int			 have_self;
};

/* One HTTP request as the handlers see it. */
struct api_req {
	struct apid		*api;
	struct MHD_Connection	*conn;
	const char		*method;
	const char		*url;
	const uint8_t		*body;
	size_t			 body_len;
};

typedef int (*api_handler)(struct api_req *r);

struct api_route {
	const char	*path;
	const char	*method;	/* "GET" or "POST" */
	api_handler	 fn;
	int		 key_in_query;	/* the key may come as k= */
};

/* api_http.c */
int	api_http_start(struct apid *api, char *err, size_t errlen);
void	api_http_stop(struct apid *api);
const char *api_query(struct api_req *r, const char *name);
const char *api_header(struct api_req *r, const char *name);
/* Replies (each returns the MHD result of queueing it). */
int	api_reply_json(struct api_req *r, unsigned int status, json_t *j);	/* steals j */
int	api_reply_error(struct api_req *r, unsigned int status, const char *code,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int	api_reply_empty(struct api_req *r, unsigned int status);
int	api_reply_bytes(struct api_req *r, unsigned int status, const char *ctype,
	    const void *buf, size_t len, int copy);
/* Parses the body against spec; on failure a 400 has been queued (returns -1). */
struct api_jfield;
int	api_body_json(struct api_req *r, const struct api_jfield *spec, size_t n,
	    json_t **root, int *mhd_rc);

/* api_parse.c: pure functions, no MHD, no I/O (tests/fuzz/fuzz_apid_*). */
enum api_jtype { API_J_STRING, API_J_INT, API_J_BOOL, API_J_ARRAY, API_J_OBJECT };
struct api_jfield {
	const char	*name;
	enum api_jtype	 type;
	int		 required;
};
/*
 * Checks that root is an object whose listed fields have the declared JSON
 * types (integers: within int64; unknown fields are ignored, as Go's
 * encoding/json does).  0, or -1 with the reason in err.
 */
int	api_json_check(const json_t *root, const struct api_jfield *spec, size_t n,
	    char *err, size_t errlen);
/* body (len bytes, not NUL-terminated) -> a JSON value; NULL and err. */
json_t	*api_json_parse(const uint8_t *body, size_t len, char *err, size_t errlen);
/* Exactly 2*n hex digits -> out[n]; -1 otherwise. */
int	api_parse_hex(const char *s, uint8_t *out, size_t n);
/* 8-4-4-4-12 hex -> out[16]; -1 otherwise. */
int	api_parse_uuid(const char *s, uint8_t out[16]);
void	api_format_uuid(const uint8_t id[16], char out[37]);
/* Decimal integer within [min, max] (optional sign, no junk); -1 otherwise. */
int	api_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);
/* Go's strconv.ParseBool: 1 t T TRUE true True / 0 f F FALSE false False. */
int	api_parse_bool(const char *s, int *out);
/* "YYYY-MM-DD hh:mm:ss" (UTC) -> Unix seconds; -1 if malformed. */
int	api_parse_date(const char *s, int64_t *out);
/* Unix seconds -> RFC 3339 UTC "2021-08-27T14:59:13Z". */
void	api_format_time(int64_t t, char out[32]);

enum api_range_rc {
	API_RANGE_NONE = 0,	/* no Range header: the whole file */
	API_RANGE_OK = 1,	/* one satisfiable range [*first, *last] */
	API_RANGE_BAD = -1,	/* malformed or several ranges: 400 */
	API_RANGE_UNSAT = -2	/* syntactically fine, outside the file: 416 */
};
/* One RFC 9110 byte range of a file of size bytes. */
int	api_range_parse(const char *hdr, uint64_t size, uint64_t *first,
	    uint64_t *last);

/*
 * WebSocket frames (RFC 6455), for /search/result/ws.  api_ws_parse reads
 * one client frame at the start of buf: its length (> 0), 0 when more bytes
 * are needed, -1 for a protocol error (unmasked, reserved bits or opcode,
 * a fragmented or long control frame, a non-minimal length, a payload
 * above API_WS_PAYLOAD_MAX).  f->payload points into buf, still masked.
 */
#define API_WS_PAYLOAD_MAX	65536
#define API_WS_HDR_MAX		10
enum api_ws_opcode { API_WS_CONT = 0, API_WS_TEXT = 1, API_WS_BINARY = 2,
	API_WS_CLOSE = 8, API_WS_PING = 9, API_WS_PONG = 10 };
struct api_ws_frame {
	int		 fin;
	int		 opcode;
	uint8_t		 mask[4];
	const uint8_t	*payload;
	size_t		 len;
};
long	api_ws_parse(const uint8_t *buf, size_t len, struct api_ws_frame *f);
void	api_ws_unmask(const struct api_ws_frame *f, uint8_t *out);	/* f->len bytes */
/* A server frame's header (unmasked, FIN set); its length. */
size_t	api_ws_header(uint8_t out[API_WS_HDR_MAX], int opcode, uint64_t len);

/* api_ipc.c */
/*
 * One request to DIR/run/DAEMON.sock; the reply (malloc'd) must be of the
 * request's type with status 0, else -1 and a reason in err.  *refused is
 * set when the daemon answered with an error (vs. could not be reached).
 */
void	api_ipc_close_all(void);	/* the kept connections, at shutdown */
int	api_ipc(struct apid *api, const char *daemon, const void *req, size_t len,
	    uint8_t **rep, size_t *replen, int *refused, char *err, size_t errlen);
/* The same with its own reply timeout (a stream's read waits for the network). */
int	api_ipc_timed(struct apid *api, const char *daemon, const void *req, size_t len,
	    int timeout_ms, uint8_t **rep, size_t *replen, int *refused, char *err,
	    size_t errlen);
/*
 * A request to netd about node (IPC_GET, IPC_STREAM_OPEN): when netd
 * answers that the node is not connected, it is looked up once (IPC_FIND)
 * and the request sent again; api_ipc's result.
 */
int	api_ipc_node(struct apid *api, const void *req, size_t len, const uint8_t node[32],
	    int timeout_ms, uint8_t **rep, size_t *replen, int *refused, char *err,
	    size_t errlen);
int	api_ipc_empty(struct apid *api, const char *daemon, uint16_t type,
	    uint8_t **rep, size_t *replen, char *err, size_t errlen);
/* A 502 (daemon unreachable) or 500 (refused) reply for a failed call. */
int	api_reply_ipc_err(struct api_req *r, const char *daemon, const char *err);
/* The node's own peer ID / node ID (IPC_ID to netd once, then cached). */
int	api_self(struct apid *api, char *err, size_t errlen);

/* JSON helpers (api_chain.c). */
json_t	*api_jb64(const void *p, size_t len);
json_t	*api_jstrn(const char *s, size_t len);	/* invalid UTF-8 -> U+FFFD */
json_t	*api_jhex(const void *p, size_t len);
struct ipc_file;
json_t	*api_file_json(const struct ipc_file *f, const uint8_t *owner_node_id);

/* api_local.c: openat2 beneath api_files_dir. */
enum api_local_rc {
	API_LOCAL_OFF = -1,	/* no api_files_dir: 403 */
	API_LOCAL_OUTSIDE = -2,	/* outside it: 403 */
	API_LOCAL_BAD = -3,	/* no path: 400 */
	API_LOCAL_ERRNO = -4	/* the open failed (errno) */
};
int	api_local_init(struct apid *api, char *err, size_t errlen);
int	api_local_open(struct apid *api, const char *path, int flags, int mode,
	    int *fd, char *err, size_t errlen);
int	api_reply_local_err(struct api_req *r, int rc, const char *err);
/*
 * Bytes [first, first+len) of a warehouse file into fd (at fd offset 0..),
 * fsync'd; verify: the bytes must hash to hash (a whole file).  0, or -1
 * and err; *done counts the bytes written.
 */
int	api_local_copy(struct api_req *r, const uint8_t hash[32], uint64_t first,
	    uint64_t len, int fd, int verify, uint64_t *done, char *err, size_t errlen);

/*
 * api_status.c: netd's status from a snapshot at most 100 ms old, shared
 * by every caller (one query to netd in flight at a time).  Into *ns
 * and/or a malloc'd copy of /status's JSON body in *json (either NULL).
 * 0, or -1 and the reason in err.
 */
struct ipc_net_status;
int	api_net_status(struct apid *api, struct ipc_net_status *ns, char **json,
	    char *err, size_t errlen);
void	api_net_status_stop(void);	/* the refresher thread, at shutdown */

/* Route handlers. */
int	api_test(struct api_req *r);
int	api_status(struct api_req *r);
int	api_status_peers(struct api_req *r);
int	api_status_config(struct api_req *r);
int	api_account_info(struct api_req *r);
int	api_shutdown(struct api_req *r);
int	api_chain_header(struct api_req *r);
int	api_chain_file_list(struct api_req *r);
int	api_profile_list(struct api_req *r);
int	api_profile_read(struct api_req *r);
int	api_search(struct api_req *r);
int	api_search_result(struct api_req *r);
int	api_search_terminate(struct api_req *r);
int	api_warehouse_read(struct api_req *r);
int	api_file_read(struct api_req *r);
/* api_file.c: 1 and the size when storaged has the file, 0 when not, -1 and err. */
int	api_wh_size(struct apid *api, const uint8_t hash[32], uint64_t *size, char *err,
	    size_t errlen);
/*
 * api_file.c: how many bytes an MHD reader callback asks of the daemon at pos
 * of a response of len bytes (at most max, at most cap); 0 at the end.
 */
uint32_t api_read_size(uint64_t pos, uint64_t len, size_t max, uint32_t cap);
/* api_file.c: file bytes of an IPC reply into MHD's buffer (frees rep). */
ssize_t	api_data_take(struct apid *api, uint8_t *rep, size_t len, uint16_t type,
	    const uint32_t *id, uint64_t offset, uint32_t max, char *buf);
int	api_file_view(struct api_req *r);
int	api_metrics(struct api_req *r);
int	api_file_format(struct api_req *r);
int	api_warehouse_read_path(struct api_req *r);
int	api_chain_file_delete(struct api_req *r);
int	api_profile_write(struct api_req *r);
int	api_reply_chain_status(struct api_req *r, int status);
int	api_download_start(struct api_req *r);
int	api_search_ws(struct api_req *r);
enum { API_FETCH_REFUSED = -1, API_FETCH_UNREACHABLE = -2, API_FETCH_TIMEOUT = -3 };
/*
 * api_file.c: the part of a file of size bytes a request asks for (one
 * Range, else offset=/limit=, else all): 0, or -1 with a reply queued in *rc.
 */
int	api_file_part(struct api_req *r, uint64_t size, uint64_t *first, uint64_t *len,
	    int *ranged, int *rc);
/*
 * api_file.c: queues resp, the bytes [first, first + len) of a file of size
 * bytes, as ctype: 206 with Content-Range when ranged, else 200; destroys
 * resp; MHD's result.
 */
struct MHD_Response;
int	api_reply_part(struct api_req *r, struct MHD_Response *resp, uint64_t first,
	    uint64_t len, uint64_t size, int ranged, const char *ctype);
/* api_stream.c: a remote peer's file, ranged, fetched by netd into memory. */
int	api_stream_remote(struct api_req *r, const uint8_t hash[32], const uint8_t node[32],
	    int timeout_ms, const char *ctype);
int	api_search_statistic(struct api_req *r);
int	api_explore(struct api_req *r);
int	api_chain_read(struct api_req *r);
int	api_merge_directory(struct api_req *r);
int	api_chain_view(struct api_req *r);
struct ipc_search_hit;
json_t	*api_search_hit_json(const struct ipc_search_hit *h);
int	api_download_status(struct api_req *r);
int	api_download_action(struct api_req *r);
int	api_local_not_yet(struct api_req *r);
/* api_upload.c */
struct api_upload;
int	api_upload_start(struct api_req *r, struct api_upload **up, int *mhd_rc);
void	api_upload_feed(struct api_upload *u, const char *data, size_t len);
int	api_upload_finish(struct api_req *r, struct api_upload *u);	/* frees u */
void	api_upload_free(struct api_upload *u);
int	api_upload_id(struct api_req *r);
int	api_upload_track(struct api_req *r);
int	api_warehouse_create_path(struct api_req *r);
int	api_warehouse_delete(struct api_req *r);
int	api_chain_file_add(struct api_req *r);
int	api_chain_file_update(struct api_req *r);
int	api_chain_append(struct api_req *r);
int	api_profile_delete(struct api_req *r);
int	api_account_delete(struct api_req *r);
int	api_not_yet(struct api_req *r);
int	api_static(struct api_req *r);	/* api_static.c: the web interface at / */
/* The directory the web interface is served from, NULL when none exists. */
const char *api_static_dir(void);

/* api_ws.c: one text message on an upgraded socket; 0 or -1. */
int	api_ws_text(int sock, const char *s);
int	api_ws_bye(int sock);		/* close frame 1000 */
/* api_console.c: one /console session's state. */
struct api_console {
	int	pending;	/* a command waiting for its argument line */
	int	lines;		/* lines seen since the caller last cleared it */
};
int	api_console_banner(struct apid *api, int sock);
/* One line from the client: the answer sent; -1 when the console ends. */
int	api_console_line(struct apid *api, struct api_console *c, int sock,
	    const char *text, size_t len);
int	api_console(struct api_req *r);

/* apid_landlock.c: the filesystem after start-up (single-threaded). */
int	apid_landlock(struct apid *api, const char *dir, char *err, size_t errlen);

/* apid.c: ask the loop to stop (from a connection thread). */
void	apid_request_stop(struct apid *api);

#endif
