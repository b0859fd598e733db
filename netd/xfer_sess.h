/*
 * xfer_sess.h — what the transfer engine (xfer.c) gives its users, the
 * block transfer (xfer_getblock.c) and the file transfer (xfer_file.c and
 * its parts).  A user's session embeds struct xfer_sess first; the engine
 * owns the rest:
 *
 *  - one table of sessions, transfer IDs hashed (xfer_ids.c): a datagram is
 *    matched in O(1) whatever the kind, the lite packet decoded
 *    (xfer_lite_decode), its UDT packet given to the session's connection,
 *    then the user's pump;
 *  - the UDT environment: clock, random and datagrams through n->env, each
 *    UDT packet one lite packet (xfer_lite_encode) on the peer's verified
 *    connections (§2.7, §9.2) — the one place where a later encrypted mode
 *    wraps a session's packets;
 *  - a 10 ms timer (n->env) while any session lives, UDT's timers, the idle
 *    expiry (ops->idle_ms after the last lite packet or message);
 *  - storaged requests (n->env.store_send): replies find their session by
 *    number, never by pointer, and count against the session's flow window
 *    (s->ipc);
 *  - sequences: fresh bi-sequences and IDs for a requester's run,
 *    registration of a peer's for a provider, the match of a control message.
 *
 * A user ends a session with its ops->end, which calls xfer_release last.
 */
#ifndef PEERNET_XFER_SESS_H
#define PEERNET_XFER_SESS_H

#include <stddef.h>
#include <stdint.h>

#include "ipc_msg_xfer.h"	/* IPC_XFER_DOWNLOAD, IPC_XFER_UPLOAD */
#include "ident.h"
#include "wire_msg.h"
#include "xfer_ids.h"

struct netd;
struct peer;
struct peer_conn;
struct udt_conn;
struct wire_lite;
struct wire_packet;
struct xfer_sess;

/* Roles as ctl shows them (IPC_TRANSFERS). */
enum xfer_role { XFER_REQUESTER = IPC_XFER_DOWNLOAD, XFER_PROVIDER = IPC_XFER_UPLOAD };

struct xfer_ops {
	const char	*name;
	int		 max;		/* sessions of this kind at once */
	uint32_t	 idle_ms;	/* sequence and session expiry (§9.2) */
	const char	*idle_why;	/* the reason it ends with */
	/* Reads and writes what UDT and storaged allow now. */
	void		(*pump)(struct xfer_sess *s);
	/*
	 * Once a timer tick, after the idle check and before UDT's timers and
	 * the pump: 1 when the session ended or has nothing more to do now.
	 */
	int		(*tick)(struct xfer_sess *s, uint64_t now_ms);
	/* Ends s (ok: a success; terminate: tell the peer, §9.6). */
	void		(*end)(struct xfer_sess *s, int ok, int terminate, const char *why);
	/* After every tick, NULL: none. */
	void		(*after_tick)(struct netd *n);
	/* When netd stops, also the sessions we serve tell the peer (§9.6). */
	int		 stop_tells_provider_too;
};

/*
 * A user of the engine as xfer_register takes it: the engine calls its
 * users only through this and their sessions' ops, never by name (the
 * layers of docs/design.md: the users are above the engine).
 */
struct xfer_user {
	const struct xfer_ops	*ops;
	uint8_t			 cmd;		/* WIRE_CMD_* its messages come in */
	/* A message of that command from a registered peer (xfer_packet). */
	void			(*packet)(struct netd *n, struct peer *p,
				    struct peer_conn *c, const struct wire_packet *pkt);
	/* Its state freed (xfer_free, after every session ended); NULL: none. */
	void			(*fini)(struct netd *n);
};

struct xfer_sess {
	struct netd		*n;
	const struct xfer_ops	*ops;
	enum xfer_role		 role;
	uint64_t		 sid;		/* what storaged's replies refer to */
	uint8_t			 id[WIRE_TRANSFER_ID_SIZE];
	int			 has_id;	/* id is in the table */
	uint8_t			 pub[PEERNET_PUBKEY_BYTES];
	uint32_t		 seq;
	int			 has_seq;	/* seq is registered (not: a requester between runs) */
	struct udt_conn		*conn;		/* NULL: none (yet, or any more) */
	uint64_t		 created;	/* ms */
	uint64_t		 last_rx;	/* ms: last lite packet or message */
	uint64_t		 seq_touched;	/* ms: bi-sequence expiry last pushed */
	int			 got_lite;	/* a lite packet came */
	int			 ipc;		/* storaged requests in flight */
	uint32_t		 gen;		/* requester: run; older replies are stale */
	void			*sec;		/* secure_link.c's channels; NULL: plaintext */
};

#define XFER_SLOTS	48	/* sessions of every kind at once */
#define XFER_USERS	4	/* xfer_register's room */

struct xfer_gb;		/* xfer_getblock.c's state */
struct xfer_files;	/* the file side's state (xfer_fsess.c) */

/* n->xfer: NULL before xfer_init and after xfer_free. */
struct xfer {
	struct xfer_sess	*s[XFER_SLOTS];
	struct xfer_ids		 ids;		/* transfer ID -> session */
	uint64_t		 next_sid;
	void			*timer;		/* n->env's, while a session lives */
	int			 in_timer;	/* inside the timer's callback */
	int			 in_run;	/* inside xfer_tick */
	int			 stopping;	/* xfer_free: nothing new starts */
	/* Registered users, in the order a tick visits their after_tick. */
	const struct xfer_user	*users[XFER_USERS];
	int			 nusers;
	struct xfer_gb		*gb;
	struct xfer_files	*files;
};

/*
 * The engine's state, empty: no user yet (xfer_register), no session.  0
 * or -1.  xfer_init (xfer_setup.c) puts it together with its users.
 */
int	xfer_core_init(struct netd *n);
/* Every session ended, the users' state freed (ops->fini), n->xfer NULL. */
void	xfer_core_free(struct netd *n);
/* u (static, outliving n->xfer) takes its command's messages; 0 or -1 (no room). */
int	xfer_register(struct netd *n, const struct xfer_user *u);

/* A new session of `size` bytes (>= sizeof(struct xfer_sess)), zeroed; NULL if no room. */
struct xfer_sess *xfer_new(struct netd *n, const struct xfer_ops *ops,
	    enum xfer_role role, const uint8_t pub[PEERNET_PUBKEY_BYTES], size_t size);
/* The end of every ops->end: sequence, ID, UDT and memory released. */
void	xfer_release(struct xfer_sess *s);

/* Sessions of a kind (ops), role (0: both) and peer (NULL: all). */
int	xfer_count(struct netd *n, const struct xfer_ops *ops, int role,
	    const uint8_t *pub);
/* Slot i's session if it is of kind ops (NULL: any kind), else NULL. */
struct xfer_sess *xfer_at(struct netd *n, const struct xfer_ops *ops, int i);
struct xfer_sess *xfer_find_seq(struct netd *n, const struct xfer_ops *ops,
	    const uint8_t pub[PEERNET_PUBKEY_BYTES], uint32_t seq);
uint64_t xfer_now(const struct netd *n);	/* ms, from n->env */

/* A fresh UDT connection for s (idle timeout ops->idle_ms); 0 or -1. */
int	xfer_udt_open(struct xfer_sess *s);
/* The connection freed, its memory given back at once. */
void	xfer_udt_drop(struct xfer_sess *s);

/*
 * A requester's run: a fresh UUID v4 transfer ID (unique node-wide, §9.1),
 * a UDT connection if s has none, a new bi-sequence with p and UDT
 * listening.  0, or -1.
 */
int	xfer_run_open(struct xfer_sess *s, struct peer *p);
/*
 * A peer's REQUEST_START with transfer ID id on seq: 1 when the very
 * session already serves it (the same request on another connection);
 * else 0 once sessions holding the ID (node-wide, §9.2) or this kind's
 * sequence were ended.
 */
int	xfer_serve_claim(struct netd *n, const struct xfer_ops *ops, struct peer *p,
	    const uint8_t id[WIRE_TRANSFER_ID_SIZE], uint32_t seq);
/* The provider's ID and sequence registered: 0 or -1. */
int	xfer_serve_register(struct xfer_sess *s, const uint8_t id[WIRE_TRANSFER_ID_SIZE],
	    uint32_t seq);

/* The bi-sequence given up (a run's stream is over): seq and has_seq cleared. */
void	xfer_seq_drop(struct xfer_sess *s);
/* A lite packet or message for s: idle expiry pushed (§9.2). */
void	xfer_touch(struct xfer_sess *s);
/*
 * A control message of a kind (not REQUEST_START): its bi-sequence matched
 * (last: it ends the sequence) and the session found; NULL when unsolicited
 * (counted).
 */
struct xfer_sess *xfer_msg_sess(struct netd *n, const struct xfer_ops *ops,
	    struct peer *p, struct peer_conn *c, const struct wire_packet *pkt,
	    int last);
/* A UDT packet carried in a message (the §9.7 full-packet path): to s's connection. */
void	xfer_udt_in(struct xfer_sess *s, const uint8_t *pkt, size_t len);

/*
 * The one encoder and decoder of a session's lite packets (§2.7).  The
 * encoder gives the datagram as pieces, *iovcnt of them in iov (room for
 * XFER_LITE_IOV): its header written into hdr, the UDT packet pkt itself
 * (not copied), so the send path gathers them straight into the socket's
 * queue.  0, or -1 when pkt cannot be carried.
 */
#define XFER_LITE_IOV	2
struct iovec;
int	xfer_lite_encode(const struct xfer_sess *s, const uint8_t *pkt, size_t len,
	    uint8_t hdr[WIRE_LITE_HDR_SIZE], struct iovec *iov, int *iovcnt);
int	xfer_lite_decode(const struct xfer_sess *s, const uint8_t *raw, size_t len,
	    struct wire_lite *l);

/*
 * A storaged reply: s NULL when the session ended meanwhile (or netd is
 * stopping: then n->xfer is NULL); gen and arg as given to xfer_store.
 */
typedef void (*xfer_store_cb)(struct netd *n, struct xfer_sess *s, uint32_t gen,
	    uint64_t arg, const uint8_t *rep, size_t len, const char *err);
/*
 * A request to storaged for s (counted in s->ipc until answered); bulk:
 * file data, on the bulk channel when it is up.  0 or -1 (cb will not run).
 */
int	xfer_store(struct xfer_sess *s, int bulk, const void *msg, size_t len,
	    uint32_t timeout_ms, xfer_store_cb cb, uint64_t arg);
/*
 * The same for a request whose reply brings a descriptor (env.store_fd):
 * cb owns fd (-1 when none came) and must close it, also when s is NULL.
 * -1: not available here (no descriptors, channel down): cb will not run.
 */
typedef void (*xfer_store_fd_cb)(struct netd *n, struct xfer_sess *s, uint32_t gen,
	    uint64_t arg, const uint8_t *rep, size_t len, int fd, const char *err);
int	xfer_store_fd(struct xfer_sess *s, const void *msg, size_t len,
	    uint32_t timeout_ms, xfer_store_fd_cb cb, uint64_t arg);
/* A request to storaged for no session, reply ignored. */
void	xfer_store_forget(struct netd *n, const void *msg, size_t len,
	    uint32_t timeout_ms);
/* The reason of a failed storaged reply, into out. */
void	xfer_store_err(const uint8_t *rep, size_t len, const char *err, char *out,
	    size_t cap);

/* The first 8 bytes of a peer's node ID in hex, for logs. */
const char *xfer_peer_text(const uint8_t pub[PEERNET_PUBKEY_BYTES], char out[17]);

/*
 * The two users, each registered by its init (called by xfer_init):
 * xfer_getblock.c and xfer_file.c (the file side's entry).
 */
int	xfer_gb_init(struct netd *n);
int	xfer_file_init(struct netd *n);

#endif
