/*
 * ipc.h — the IPC layer over nng: unix-socket request/reply servers with a
 * uid check, synchronous client calls with timeouts (peernetctl), links
 * between daemons that report each other's reachability, and pub/sub events.
 *
 * Servers use a *raw* rep0 socket so that one event loop can hold many
 * requests at once and answer some of them later (a reply copies the
 * request's nng backtrace header); they wait on nng's pollable receive fd.
 * Message contents are defined in ipc_msg.h.
 */
#ifndef PEERNET_IPC_H
#define PEERNET_IPC_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

#include "ipc_msg.h"

#define IPC_MAX_ALLOWED	24

struct ipc_req;
struct ipc_server;
struct ipc_bulk;
struct ipc_bulk_client;
struct loop;

/*
 * Called for every request that passed the uid check and has a valid
 * header.  The handler must answer exactly once, now or later, with
 * ipc_reply() or ipc_reply_error().
 */
typedef void (*ipc_serve_fn)(void *arg, struct ipc_req *req,
    const uint8_t *msg, size_t len);

struct ipc_server {
	nng_socket	 sock;
	int		 fd;
	char		 path[108];
	uid_t		 allowed[IPC_MAX_ALLOWED];
	int		 nallowed;
	ipc_serve_fn	 fn;
	void		*arg;
	uint64_t	 denied;	/* requests refused by the uid check */
	uint64_t	 malformed;	/* requests with a bad header */
	struct ipc_bulk	*bulk;		/* the bulk channel, if opened */
};

/* Listens on path (created 0660; an existing file is replaced: hold the lock first). */
int	ipc_server_open(struct ipc_server *s, const char *path,
	    const uid_t *allowed, int nallowed, ipc_serve_fn fn, void *arg,
	    char *err, size_t errlen);
/* Call when s->fd is readable: receives and dispatches every pending request. */
void	ipc_server_dispatch(struct ipc_server *s);
void	ipc_server_close(struct ipc_server *s);	/* and its bulk channel */
int	ipc_server_allows(const struct ipc_server *s, uid_t uid);

/*
 * The bulk channel (ipc_bulk.c): file data between netd and storaged on a
 * plain unix stream socket at path, served by the daemon's loop instead of
 * nng's threads.  Requests of the listed types (handlers that answer at
 * once) reach the server's handler like nng requests, with the same uid
 * check; ipc_reply answers on the channel they came from.
 */
int	ipc_server_bulk_open(struct ipc_server *s, struct loop *loop,
	    const char *path, const uint16_t *types, int ntypes, char *err,
	    size_t errlen);
void	ipc_server_bulk_close(struct ipc_server *s);

uint16_t ipc_req_type(const struct ipc_req *req);
uid_t	ipc_req_uid(const struct ipc_req *req);
/* Sends the reply and frees req. */
int	ipc_reply(struct ipc_req *req, const void *msg, size_t len);
void	ipc_reply_error(struct ipc_req *req, uint16_t status, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/*
 * The start of a request a decoder checked: decoded is the decoder's
 * result.  0 when it is 0; else 1, "malformed <what>" answered
 * (IPC_ERR_BADMSG).
 */
int	ipc_req_bad(struct ipc_req *req, int decoded, const char *what);

/*
 * A synchronous call: connects to path, sends req, waits up to timeout_ms
 * for the reply (malloc'd into *rep; free it).  Returns 0, or -1 with a
 * one-line reason in err: not running, timed out, connection lost.
 */
enum ipc_call_err {
	IPC_CALL_NOT_RUNNING = -1,
	IPC_CALL_TIMEOUT = -2,
	IPC_CALL_LOST = -3,
	IPC_CALL_ERROR = -4
};
int	ipc_call(const char *path, const void *req, size_t len, uint8_t **rep,
	    size_t *replen, int timeout_ms, char *err, size_t errlen);

/*
 * The same exchange on a kept connection (apid's pool): dial once, call as
 * often as wanted, one call at a time.  After any failed call, or once
 * ipc_conn_lost says its connection went away, it is only to be closed: a
 * late reply or a resend could otherwise meet the next call.
 */
struct ipc_conn;
struct ipc_conn *ipc_conn_dial(const char *path, int timeout_ms, int *ret, char *err,
	    size_t errlen);
int	ipc_conn_call(struct ipc_conn *c, const char *path, const void *req,
	    size_t len, uint8_t **rep, size_t *replen, int timeout_ms, char *err,
	    size_t errlen);
int	ipc_conn_lost(struct ipc_conn *c);
void	ipc_conn_close(struct ipc_conn *c);

/* A daemon's view of another daemon: pinged with IPC_STATUS every tick. */
struct ipc_link {
	char		 name[IPC_NAME_MAX];
	char		 path[108];
	nng_socket	 sock;
	int		 fd;
	int		 open;
	uint64_t	 last_ok_ms;	/* 0: never */
	struct ipc_status peer;		/* the last status it sent */
};

int	ipc_link_open(struct ipc_link *l, const char *name, const char *path);
/* Sends one status request (non-blocking; a failure means the link is down). */
void	ipc_link_ping(struct ipc_link *l, uint64_t now_ms);
/* Call when l->fd is readable. */
void	ipc_link_readable(struct ipc_link *l, uint64_t now_ms);
/* IPC_LINK_UP when a reply arrived within stale_ms. */
int	ipc_link_state(const struct ipc_link *l, uint64_t now_ms, uint64_t stale_ms);
void	ipc_link_close(struct ipc_link *l);

/*
 * An asynchronous client for one daemon talking to another from its event
 * loop (netd -> storaged): a raw req0 socket whose replies are matched to
 * requests by our own request IDs, so that many requests can be in flight
 * and no daemon ever blocks on another.  Callbacks run in the loop, from
 * ipc_client_readable() or ipc_client_tick(); `rep` is NULL on failure and
 * err says why.
 */
typedef void (*ipc_client_cb)(void *arg, const uint8_t *rep, size_t len,
    const char *err);

#define IPC_CLIENT_MAX_INFLIGHT	256
/* How a request of a bulk type went out (ipc_client_send_bulk). */
#define IPC_SLOT_BULK		1	/* on the bulk channel */
#define IPC_SLOT_NNG_FALLBACK	2	/* over nng, the channel being down */

struct ipc_client_slot {
	uint32_t	 id;		/* 0: free */
	int		 bulk;		/* IPC_SLOT_BULK / _NNG_FALLBACK, or 0 */
	uint64_t	 deadline;
	ipc_client_cb	 cb;
	void		*arg;
	int		 want_fd;	/* ipc_client_send_bulk_fd: a descriptor comes */
	const char	*why;		/* failed, told at the next tick (a literal) */
};

struct ipc_client {
	char		 name[IPC_NAME_MAX];
	nng_socket	 sock;
	int		 fd;
	int		 open;
	uint32_t	 next_id;
	struct ipc_client_slot slots[IPC_CLIENT_MAX_INFLIGHT];
	uint64_t	 failed;	/* requests that timed out or could not be sent */
	struct ipc_bulk_client *bulk;	/* ipc_client_bulk_open */
	int		 reply_fd;	/* during a callback: ipc_client_take_fd */
};

int	ipc_client_open(struct ipc_client *cl, const char *name, const char *path);
/* Queues a request; -1 (and no callback) if it cannot be sent now. */
int	ipc_client_send(struct ipc_client *cl, const void *msg, size_t len,
	    uint32_t timeout_ms, ipc_client_cb cb, void *arg, uint64_t now_ms);
void	ipc_client_readable(struct ipc_client *cl);
/* Fails the requests past their deadline. */
void	ipc_client_tick(struct ipc_client *cl, uint64_t now_ms);
int	ipc_client_inflight(const struct ipc_client *cl);
void	ipc_client_close(struct ipc_client *cl);	/* and its bulk channel */
/*
 * The client side of a bulk channel (see ipc_server_bulk_open), driven by
 * loop.  ipc_client_send_bulk sends on it when it is up (reconnecting at
 * most once a second), else over nng like ipc_client_send; requests in
 * flight on a channel that closes fail at once (rep NULL).
 */
int	ipc_client_bulk_open(struct ipc_client *cl, struct loop *loop, const char *path);
int	ipc_client_bulk_up(const struct ipc_client *cl);
int	ipc_client_send_bulk(struct ipc_client *cl, const void *msg, size_t len,
	    uint32_t timeout_ms, ipc_client_cb cb, void *arg, uint64_t now_ms);
void	ipc_client_bulk_close(struct ipc_client *cl);
/*
 * A request whose reply brings a descriptor (ipc_reply_fd): only on the
 * bulk channel (nng cannot carry one), so -1 when it is not up.  In the
 * callback, ipc_client_take_fd gives the descriptor (close-on-exec; the
 * caller owns it) or -1 when none came; one not taken is closed after.
 */
int	ipc_client_send_bulk_fd(struct ipc_client *cl, const void *msg, size_t len,
	    uint32_t timeout_ms, ipc_client_cb cb, void *arg, uint64_t now_ms);
int	ipc_client_take_fd(struct ipc_client *cl);

/*
 * The bulk channel's frame parser: fn for each complete frame
 * (u32 length | u32 request ID | body) at the start of buf while fn returns
 * 0; the bytes taken, or -1 for a frame longer than IPC_MSG_MAX.
 */
long	ipc_bulk_frames(const uint8_t *buf, size_t len,
	    int (*fn)(void *ctx, uint32_t id, const uint8_t *msg, size_t len), void *ctx);

/* Whether the request came on the bulk channel (else over nng). */
int	ipc_req_on_bulk(const struct ipc_req *req);

/*
 * Descriptors over the bulk channel (SCM_RIGHTS; nng cannot carry them).
 * ipc_reply_fd answers a bulk request with msg and a duplicate of fd
 * attached to the reply's first byte (the caller keeps and closes fd); a
 * request that came over nng gets an error instead.  ipc_bulk_call_fd is
 * a synchronous client for one such request on its own connection to the
 * bulk socket at path: the reply (malloc'd) and *fd (-1 when none came;
 * close-on-exec) or -1 and a reason in err.
 */
int	ipc_reply_fd(struct ipc_req *req, const void *msg, size_t len, int fd);
int	ipc_bulk_call_fd(const char *path, const void *req, size_t len, uint8_t **rep,
	    size_t *replen, int *fd, int timeout_ms, char *err, size_t errlen);

/* Between ipc.c and ipc_bulk.c only. */
struct ipc_req *ipc_req_bulk(struct ipc_server *srv, void *conn, uint32_t gen,
	    uint32_t id);
void	ipc_server_serve(struct ipc_server *s, struct ipc_req *req, uint64_t uid,
	    const uint8_t *msg, size_t len, const uint16_t *types, int ntypes);
int	ipc_bulk_reply(void *conn, uint32_t gen, uint32_t id, const void *msg,
	    size_t len);
int	ipc_bulk_reply_fd(void *conn, uint32_t gen, uint32_t id, const void *msg,
	    size_t len, int fd);
struct ipc_client_slot *ipc_client_slot_take(struct ipc_client *cl, uint32_t *id);
void	ipc_client_slot_set(struct ipc_client_slot *s, uint32_t id, int bulk,
	    uint64_t deadline, ipc_client_cb cb, void *arg);
void	ipc_client_deliver(struct ipc_client *cl, uint32_t id, const uint8_t *rep,
	    size_t len);
void	ipc_client_deliver_fd(struct ipc_client *cl, uint32_t id, const uint8_t *rep,
	    size_t len, int fd);
int	ipc_client_wants_fd(const struct ipc_client *cl, uint32_t id);
void	ipc_client_fail_bulk(struct ipc_client *cl, const char *why, int defer);
int	ipc_client_send_nng(struct ipc_client *cl, const void *msg, size_t len,
	    uint32_t timeout_ms, ipc_client_cb cb, void *arg, uint64_t now_ms, int bulk);

/* Events: one pub socket per publishing daemon, sub sockets dial it. */
struct ipc_pub {
	nng_socket	 sock;
	char		 path[108];
};
int	ipc_pub_open(struct ipc_pub *p, const char *path, char *err, size_t errlen);
int	ipc_publish(struct ipc_pub *p, const void *msg, size_t len);
void	ipc_pub_close(struct ipc_pub *p);

struct ipc_sub {
	nng_socket	 sock;
	int		 fd;
};
/* Dials path in the background (reconnects by itself); receives every event. */
int	ipc_sub_open(struct ipc_sub *s, const char *path);
/* Non-blocking receive of one event into a malloc'd buffer; 0, or -1 if none. */
int	ipc_sub_recv(struct ipc_sub *s, uint8_t **msg, size_t *len);
void	ipc_sub_close(struct ipc_sub *s);

/* "DIR/run/NAME.sock" into out; -1 if it does not fit a unix socket path. */
int	ipc_path(char *out, size_t cap, const char *dir, const char *name);
/* The address of the unix socket at path; -1 if path does not fit one. */
struct sockaddr_un;
int	ipc_unix_addr(struct sockaddr_un *sun, const char *path);

#endif
