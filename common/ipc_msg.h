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
	/* events published by a daemon on its pub socket (pub/sub) */
	IPC_EV_STARTED		= 100,	/* a daemon is up: body = status */
	IPC_TYPE_MAX		= 101
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

long	ipc_status_encode(uint8_t *out, size_t cap, uint16_t type, const struct ipc_status *s);
int	ipc_status_decode(const uint8_t *p, size_t len, uint16_t type, struct ipc_status *s);
long	ipc_id_encode(uint8_t *out, size_t cap, const struct ipc_id *id);
int	ipc_id_decode(const uint8_t *p, size_t len, struct ipc_id *id);
long	ipc_sign_req_encode(uint8_t *out, size_t cap, const struct ipc_sign_req *r);
int	ipc_sign_req_decode(const uint8_t *p, size_t len, struct ipc_sign_req *r);
long	ipc_sign_rep_encode(uint8_t *out, size_t cap, const struct ipc_sign_rep *r);
int	ipc_sign_rep_decode(const uint8_t *p, size_t len, struct ipc_sign_rep *r);
long	ipc_probe_encode(uint8_t *out, size_t cap, const struct ipc_probe *r);
int	ipc_probe_decode(const uint8_t *p, size_t len, struct ipc_probe *r);

#endif
