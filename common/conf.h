/*
 * conf.h — the node's configuration: one INI file, DIR/peernet.conf, with a
 * section per daemon ([node], [netd], [storaged], [searchd]); see
 * peernet.conf(5).  Parsing is strict: an unknown section or key, a key given
 * twice (except the repeatable listen, root and allow_uid), a value out of
 * range or with trailing garbage is an error naming file:line and the key.
 * Parsing sets libinih's process-wide options, so it is not thread-safe:
 * daemons read the file at start-up and on SIGHUP, from the main thread.
 */
#ifndef PEERNET_CONF_H
#define PEERNET_CONF_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_FILE_NAME		"peernet.conf"
#define CONF_MAX_LISTEN		32
#define CONF_MAX_ROOTS		64
#define CONF_MAX_ALLOW_UID	16
#define CONF_NAME_MAX		32	/* user and group names */
#define CONF_USER_AGENT_MAX	255	/* bytes of UTF-8 */
#define CONF_LINE_MAX		1024	/* longest line + newline + NUL */
#define CONF_FILE_MAX		(1024 * 1024)
#define CONF_PUBKEY_BYTES	33	/* compressed secp256k1 point */
#define CONF_MAX_API_LISTEN	8	/* apid's TCP listen addresses */
#define CONF_UUID_LEN		36	/* 8-4-4-4-12 hex digits */

#define CONF_DEFAULT_PORT	112

/* Error codes of conf_parse_listen() / conf_parse_root(); conf_strerror(). */
enum conf_err {
	CONF_OK = 0,
	CONF_E_EMPTY = -1,		/* empty value */
	CONF_E_NOPORT = -2,		/* no ":PORT" after the address */
	CONF_E_PORT = -3,		/* port not a number in 0..65535 */
	CONF_E_IPV4 = -4,		/* not a dotted-quad IPv4 address */
	CONF_E_IPV6 = -5,		/* bad address inside [ ] */
	CONF_E_BRACKET = -6,		/* "[" without "]" */
	CONF_E_NOAT = -7,		/* root without "@" */
	CONF_E_KEYLEN = -8,		/* public key not 66 hex digits */
	CONF_E_KEYHEX = -9,		/* public key not hex */
	CONF_E_KEYPREFIX = -10,		/* public key not starting 02 or 03 */
	CONF_E_TOOLONG = -11		/* value longer than the text field */
};
const char *conf_strerror(int err);

struct conf_listen {
	int		family;		/* AF_INET or AF_INET6 */
	uint8_t		addr[16];	/* 4 bytes used for AF_INET */
	uint16_t	port;
	char		text[64];	/* "1.2.3.4:112" or "[::1]:112" */
};

struct conf_root {
	uint8_t			pubkey[CONF_PUBKEY_BYTES];
	struct conf_listen	addr;
	char			text[160];	/* "02ab..@1.2.3.4:112" */
};

/* secure_transport: the encrypted mode between peernet nodes (docs/secure.md). */
#define CONF_SECURE_OFF		0
#define CONF_SECURE_PREFER	1	/* secure where both can, version 0 otherwise */
#define CONF_SECURE_REQUIRE	2	/* no plaintext transfer with a capable peer */

struct conf {
	char		path[PATH_MAX];	/* file read ("" after conf_defaults) */
	char		dir[PATH_MAX];	/* node directory */

	/* [node] */
	char		user[CONF_NAME_MAX + 1];
	char		group[CONF_NAME_MAX + 1];
	int		log_level;	/* enum log_level */
	uint32_t	ipc_timeout_ms;
	uint32_t	allow_uid[CONF_MAX_ALLOW_UID];
	int		nallow_uid;

	/* [netd] */
	struct conf_listen listen[CONF_MAX_LISTEN];
	int		nlisten;
	struct conf_root root[CONF_MAX_ROOTS];
	int		nroot;
	int		lan;		/* booleans: 0 or 1 */
	int		upnp;
	int		natpmp;
	int		firewall;
	int		udp_gso;
	uint16_t	port_forward;	/* 0: none */
	char		user_agent[CONF_USER_AGENT_MAX + 1];
	uint32_t	max_peers;
	uint32_t	max_peers_per_ip;	/* per IPv4 address / IPv6 /64; 0: no cap */
	int		secure_transport;	/* CONF_SECURE_* (docs/secure.md) */

	/* [storaged] */
	uint64_t	cache_max_block_size;
	uint64_t	cache_max_block_count;
	uint64_t	cache_max_bytes;
	uint64_t	chain_max_blocks;	/* own chain height that triggers a compaction; 0: none */
	char		warehouse[PATH_MAX];	/* DIR joined with the value */

	/* [searchd] */
	uint32_t	max_results;
	uint32_t	result_timeout_ms;

	/* [apid] (peernet-apid(8)); no api_listen: apid serves nothing */
	struct conf_listen api_listen[CONF_MAX_API_LISTEN];
	int		napi_listen;
	char		api_key[CONF_UUID_LEN + 1];	/* lower-case UUID; "": none */
	char		api_tls_cert[PATH_MAX];		/* "": plain HTTP */
	char		api_tls_key[PATH_MAX];
	char		api_files_dir[PATH_MAX];	/* "": local paths refused */
	uint32_t	api_timeout_s;			/* idle connection; 0: none */
};

/* Every field to its default; listen = 0.0.0.0:112 and [::]:112; dir ".". */
void	conf_defaults(struct conf *c);
/*
 * Reads DIR/peernet.conf into *c (defaults first).  Returns 0, or -1 with a
 * one-line message "FILE:LINE: ..." (or "FILE: ...") in err.
 */
int	conf_load(struct conf *c, const char *dir, char *err, size_t errlen);
/*
 * Parses text as if it were the file called name; relative paths are
 * resolved against the directory part of name.  Same results as conf_load.
 */
int	conf_parse_string(struct conf *c, const char *text, const char *name,
	    char *err, size_t errlen);

/* "1.2.3.4:112" or "[::1]:112" -> *out; 0 or an enum conf_err. */
int	conf_parse_listen(const char *s, struct conf_listen *out);
struct sockaddr_storage;
/* The socket address of a listen entry into *ss; returns its length. */
unsigned int conf_listen_sockaddr(const struct conf_listen *l, struct sockaddr_storage *ss);
/* "PUBKEY@ADDR:PORT" (66 hex digits, 02/03 prefix) -> *out; 0 or conf_err. */
int	conf_parse_root(const char *s, struct conf_root *out);

/* What `peernetctl init` puts in a new config; NULL user/group: default. */
struct conf_init_opts {
	const char	*listen[CONF_MAX_LISTEN];
	int		 nlisten;
	const char	*root[CONF_MAX_ROOTS];
	int		 nroot;
	int		 no_lan;
	int		 no_upnp;
	int		 no_natpmp;
	const char	*user;
	const char	*group;
	/* [apid] (peernetctl init --api ...): NULL / 0 leave the keys commented */
	const char	*api_listen[CONF_MAX_API_LISTEN];
	int		 napi_listen;
	const char	*api_key;	/* a UUID; with it the file gets mode 0640 */
	const char	*api_files_dir;
};
/*
 * Writes DIR/peernet.conf (mode 0644): every key documented, the given
 * values set, the rest as commented defaults.  Temp file, fsync, rename; an
 * existing file is kept (-1, message in err) unless force.  Values are
 * checked first, so nothing is written when one is bad.
 */
int	conf_write_initial(const char *dir, const struct conf_init_opts *o,
	    int force, char *err, size_t errlen);

#endif
