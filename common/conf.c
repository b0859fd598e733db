/*
 * conf.c — reading and writing peernet.conf; see conf.h and peernet.conf(5).
 *
 * inih does the INI syntax.  Debian's libinih is built without line numbers
 * in the handler and silently splits lines longer than its buffer, so the
 * text is fed through our own reader (ini_parse_stream): it counts lines,
 * refuses over-long lines and NUL bytes, and checks section headers (inih
 * never reports an empty section to the handler).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "hex.h"
#include "log.h"

#define KIB	1024ULL
#define MIB	(1024ULL * KIB)
#define GIB	(1024ULL * MIB)

enum conf_type {
	CT_NAME,	/* user or group name */
	CT_LEVEL,	/* log level word */
	CT_U32,		/* number in [min, max] */
	CT_U64,
	CT_BYTES,	/* uint64 with optional K/M/G suffix */
	CT_BOOL,
	CT_PORT,	/* uint16 */
	CT_UID,		/* repeatable, appended to allow_uid[] */
	CT_LISTEN,	/* repeatable, appended to listen[] */
	CT_ROOT,	/* repeatable, appended to root[] */
	CT_AGENT,	/* user agent: UTF-8 text */
	CT_PATH,	/* relative to the node directory */
	CT_API_LISTEN,	/* repeatable, appended to api_listen[] */
	CT_UUID,	/* an API key: 8-4-4-4-12 hex digits; nil: none */
	CT_SECURE	/* prefer, require or off (secure_transport) */
};

struct conf_key {
	const char	*section;
	const char	*name;
	enum conf_type	 type;
	size_t		 off;
	uint64_t	 min, max;
	const char	*def;	/* commented default in the generated file */
	const char	*doc;	/* its comment; '\n' separates lines */
};

#define F(field)	offsetof(struct conf, field)

static const char *const conf_sections[] = {
	"node", "netd", "storaged", "searchd", "apid"
};

static const struct conf_key conf_keys[] = {
	{ "node", "user", CT_NAME, F(user), 0, 0, "peernet",
	  "System user the daemons switch to when started as root." },
	{ "node", "group", CT_NAME, F(group), 0, 0, "peernet",
	  "System group the daemons switch to when started as root." },
	{ "node", "log_level", CT_LEVEL, F(log_level), 0, 0, "info",
	  "Least important messages logged: error, warn, info or debug." },
	{ "node", "ipc_timeout_ms", CT_U32, F(ipc_timeout_ms), 100, 600000,
	  "5000",
	  "How long a daemon waits for another daemon's answer, in\n"
	  "milliseconds (100..600000)." },
	{ "node", "allow_uid", CT_UID, 0, 0, 4294967294ULL, NULL,
	  "Extra user id allowed to use the node's IPC sockets, besides root,\n"
	  "the daemons' own user and the owner of the node directory.\n"
	  "Repeatable, up to 16.  Example:\n"
	  "allow_uid = 1000" },

	{ "netd", "listen", CT_LISTEN, 0, 0, 0, NULL,
	  "UDP address to listen on: IPv4 1.2.3.4:112 or IPv6 [::1]:112.\n"
	  "Repeatable, up to 32.  Default when none is given:\n"
	  "listen = 0.0.0.0:112\n"
	  "listen = [::]:112" },
	{ "netd", "root", CT_ROOT, 0, 0, 0, NULL,
	  "Root peer to bootstrap from: PUBKEY@ADDR:PORT, PUBKEY being the\n"
	  "66 hex digits of its compressed public key.  Repeatable, up to 64.\n"
	  "Default: none.  Example:\n"
	  "root = 02<64 more hex digits>@192.0.2.1:112" },
	{ "netd", "lan", CT_BOOL, F(lan), 0, 0, "yes",
	  "Discover peers on the local network by broadcast and multicast." },
	{ "netd", "upnp", CT_BOOL, F(upnp), 0, 0, "yes",
	  "Ask a UPnP IGD router to forward the listening port." },
	{ "netd", "natpmp", CT_BOOL, F(natpmp), 0, 0, "yes",
	  "Ask a NAT-PMP router to forward the listening port." },
	{ "netd", "port_forward", CT_PORT, F(port_forward), 0, 65535, "0",
	  "External port forwarded by hand to this node (0: none)." },
	{ "netd", "udp_gso", CT_BOOL, F(udp_gso), 0, 0, "yes",
	  "Hand runs of equal-size datagrams to one peer to the kernel as one\n"
	  "buffer (UDP segmentation offload): the same datagrams on the wire, a\n"
	  "fraction of the CPU.  With it, netfilter and packet captures on this\n"
	  "host see such a run as one packet; \"no\" sends datagram by datagram." },
	{ "netd", "secure_transport", CT_SECURE, F(secure_transport), 0, 0, "prefer",
	  "Encrypted, authenticated packets and transfers with other peernet\n"
	  "nodes (docs/secure.md); reference (Go) nodes always get version 0.\n"
	  "prefer: secure where the peer can do it; require: also refuse\n"
	  "plaintext transfers with peers that advertised it; off: never." },
	{ "netd", "firewall", CT_BOOL, F(firewall), 0, 0, "no",
	  "Announce that unsolicited packets cannot reach this node (the\n"
	  "FIREWALL feature bit), so that peers use hole punching." },
	{ "netd", "user_agent", CT_AGENT, F(user_agent), 1, CONF_USER_AGENT_MAX,
	  "peernet/0.1",
	  "Client name sent to peers, 1..255 bytes of UTF-8." },
	{ "netd", "max_peers", CT_U32, F(max_peers), 1, 100000, "1000",
	  "Most peers kept connected (1..100000)." },
	{ "netd", "max_peers_per_ip", CT_U32, F(max_peers_per_ip), 0, 100000, "16",
	  "Most peers (identities) kept from one IPv4 address or one IPv6 /64\n"
	  "(0..100000; 0: no limit): one host cannot fill the peer list." },

	/* docs/data.md 2.11: the reference's CacheMaxBlockSize and Count. */
	{ "storaged", "cache_max_block_size", CT_BYTES, F(cache_max_block_size),
	  1 * KIB, 64 * MIB, "50096",
	  "Largest block of another peer's blockchain accepted into the cache\n"
	  "(bytes; suffixes K, M, G; 1K..64M)." },
	{ "storaged", "cache_max_block_count", CT_U64,
	  F(cache_max_block_count), 1, 1048576, "256",
	  "Most blocks fetched from one peer per update (1..1048576)." },
	{ "storaged", "cache_max_bytes", CT_BYTES, F(cache_max_bytes),
	  1 * MIB, 1048576 * GIB, "1G",
	  "Size limit of the cache of other peers' blockchains\n"
	  "(bytes; suffixes K, M, G; 1M..1048576G)." },
	/* docs/chain.md: CacheMaxBlockCount (256) with a margin. */
	{ "storaged", "chain_max_blocks", CT_U64, F(chain_max_blocks), 0, 1048576,
	  "200",
	  "Height of the own blockchain past which it is first rewritten packed\n"
	  "(compacted, new version): reference peers fetch only the first 256\n"
	  "blocks of a chain (0..1048576; 0: never compact)." },
	{ "storaged", "warehouse", CT_PATH, F(warehouse), 0, 0, "storage/warehouse",
	  "Directory of the shared files; relative to the node directory." },

	{ "searchd", "max_results", CT_U32, F(max_results), 1, 100000, "1000",
	  "Most results kept per search (1..100000)." },
	{ "searchd", "result_timeout_ms", CT_U32, F(result_timeout_ms),
	  100, 600000, "10000",
	  "How long a search collects results, in milliseconds\n"
	  "(100..600000)." },

	{ "apid", "api_listen", CT_API_LISTEN, 0, 0, 0, NULL,
	  "TCP address the web API (peernet-apid) listens on: 127.0.0.1:8112\n"
	  "or [::1]:8112.  Repeatable, up to 8.  Default: none (apid serves\n"
	  "nothing).  An address that is not loopback needs api_key.  Example:\n"
	  "api_listen = 127.0.0.1:8112" },
	{ "apid", "api_key", CT_UUID, F(api_key), 0, 0, NULL,
	  "API key (a UUID) clients send as the x-api-key header or the k=\n"
	  "parameter.  Absent or the nil UUID: no authentication (loopback\n"
	  "only).  Example:\n"
	  "api_key = 5b3c9d0e-8a41-4b8e-9a57-2f0c6d1e7a42" },
	{ "apid", "api_tls_cert", CT_PATH, F(api_tls_cert), 0, 0, NULL,
	  "PEM certificate for HTTPS, read before the privilege drop;\n"
	  "relative to the node directory.  Needs api_tls_key.  Default: HTTP." },
	{ "apid", "api_tls_key", CT_PATH, F(api_tls_key), 0, 0, NULL,
	  "PEM private key of api_tls_cert." },
	{ "apid", "api_files_dir", CT_PATH, F(api_files_dir), 0, 0, NULL,
	  "The only directory the web API's local-path routes may read or\n"
	  "write (/warehouse/create/path, /file/format, ...).  Default: none\n"
	  "(those routes answer 403)." },
	{ "apid", "api_timeout_s", CT_U32, F(api_timeout_s), 0, 86400, "60",
	  "Seconds an HTTP connection may stay idle (reading a request or\n"
	  "writing a response) before apid closes it (0..86400; 0: never)." },
};

#define CONF_NKEYS	(sizeof(conf_keys) / sizeof(conf_keys[0]))
#define CONF_NSECTIONS	(sizeof(conf_sections) / sizeof(conf_sections[0]))

struct conf_ctx {
	struct conf	*c;
	const char	*name;		/* file name for messages */
	const char	*dir;
	const char	*buf;
	size_t		 len, pos;
	int		 lineno;
	int		 err_line;	/* line of the first error; 0: none */
	char		*err;
	size_t		 errlen;
	int		 seen[CONF_NKEYS];	/* line a key was first set on */
	int		 warehouse_set;
};

const char *
conf_strerror(int err)
{
	switch (err) {
	case CONF_OK:
		return "no error";
	case CONF_E_EMPTY:
		return "empty value";
	case CONF_E_NOPORT:
		return "missing port";
	case CONF_E_PORT:
		return "port must be a number in 0..65535";
	case CONF_E_IPV4:
		return "bad IPv4 address";
	case CONF_E_IPV6:
		return "bad IPv6 address";
	case CONF_E_BRACKET:
		return "IPv6 address must be written [ADDR]:PORT";
	case CONF_E_NOAT:
		return "missing '@' between public key and address";
	case CONF_E_KEYLEN:
		return "public key must be 66 hex digits";
	case CONF_E_KEYHEX:
		return "public key is not hex";
	case CONF_E_KEYPREFIX:
		return "public key must start with 02 or 03";
	case CONF_E_TOOLONG:
		return "value too long";
	}
	return "unknown error";
}

/* Copies src into dst[n]; -1 if it did not fit. */
static int
conf_strcpy(char *dst, size_t n, const char *src)
{
	size_t l = strlen(src);

	if (l >= n)
		return -1;
	memcpy(dst, src, l + 1);
	return 0;
}

static int
conf_parse_port(const char *s, uint16_t *out)
{
	unsigned long v = 0;
	size_t i;

	if (*s == '\0')
		return CONF_E_NOPORT;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 5)
			return CONF_E_PORT;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return CONF_E_PORT;
	*out = (uint16_t)v;
	return CONF_OK;
}

unsigned int
conf_listen_sockaddr(const struct conf_listen *l, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (l->family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(l->port);
		memcpy(&sin->sin_addr, l->addr, 4);
		return sizeof(*sin);
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(l->port);
	memcpy(&sin6->sin6_addr, l->addr, 16);
	return sizeof(*sin6);
}

int
conf_parse_listen(const char *s, struct conf_listen *out)
{
	char host[INET6_ADDRSTRLEN], ntop[INET6_ADDRSTRLEN];
	const char *close, *colon, *port;
	size_t hlen;
	int r;

	memset(out, 0, sizeof(*out));
	if (*s == '\0')
		return CONF_E_EMPTY;
	if (s[0] == '[') {
		if ((close = strchr(s, ']')) == NULL)
			return CONF_E_BRACKET;
		hlen = (size_t)(close - s - 1);
		if (hlen == 0 || hlen >= sizeof(host))
			return CONF_E_IPV6;
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, out->addr) != 1)
			return CONF_E_IPV6;
		if (close[1] != ':')
			return CONF_E_NOPORT;
		port = close + 2;
		out->family = AF_INET6;
	} else {
		if ((colon = strchr(s, ':')) == NULL)
			return CONF_E_NOPORT;
		if (strchr(colon + 1, ':') != NULL)
			return CONF_E_BRACKET;	/* a bare IPv6 address */
		hlen = (size_t)(colon - s);
		if (hlen == 0 || hlen >= sizeof(host))
			return CONF_E_IPV4;
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET, host, out->addr) != 1)
			return CONF_E_IPV4;
		port = colon + 1;
		out->family = AF_INET;
	}
	if ((r = conf_parse_port(port, &out->port)) != CONF_OK) {
		memset(out, 0, sizeof(*out));
		return r;
	}
	inet_ntop(out->family, out->addr, ntop, sizeof(ntop));
	snprintf(out->text, sizeof(out->text),
	    out->family == AF_INET6 ? "[%s]:%u" : "%s:%u", ntop,
	    (unsigned)out->port);
	return CONF_OK;
}

int
conf_parse_root(const char *s, struct conf_root *out)
{
	char hexkey[2 * CONF_PUBKEY_BYTES + 1];
	const char *at;
	int r;

	memset(out, 0, sizeof(*out));
	if (*s == '\0')
		return CONF_E_EMPTY;
	if ((at = strchr(s, '@')) == NULL)
		return CONF_E_NOAT;
	if ((size_t)(at - s) != 2 * CONF_PUBKEY_BYTES)
		return CONF_E_KEYLEN;
	memcpy(hexkey, s, 2 * CONF_PUBKEY_BYTES);
	hexkey[2 * CONF_PUBKEY_BYTES] = '\0';
	if (hex_decode(out->pubkey, sizeof(out->pubkey), hexkey) !=
	    CONF_PUBKEY_BYTES) {
		memset(out, 0, sizeof(*out));
		return CONF_E_KEYHEX;
	}
	/* Only the form is checked here; netd checks the point on the curve. */
	if (out->pubkey[0] != 0x02 && out->pubkey[0] != 0x03) {
		memset(out, 0, sizeof(*out));
		return CONF_E_KEYPREFIX;
	}
	if ((r = conf_parse_listen(at + 1, &out->addr)) != CONF_OK) {
		memset(out, 0, sizeof(*out));
		return r;
	}
	hex_encode(hexkey, out->pubkey, sizeof(out->pubkey));
	snprintf(out->text, sizeof(out->text), "%s@%s", hexkey,
	    out->addr.text);
	return CONF_OK;
}

/* POSIX portable user/group names; existence is checked at daemon start. */
static int
conf_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > CONF_NAME_MAX || s[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
static int
conf_utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0, k, more;
	unsigned char c, lo, hi;

	while (i < n) {
		c = s[i++];
		if (c < 0x80)
			continue;
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			more = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else
			return 0;
		for (k = 0; k < more; k++, i++) {
			if (i >= n || s[i] < lo || s[i] > hi)
				return 0;
			lo = 0x80;
			hi = 0xbf;
		}
	}
	return 1;
}

/*
 * Decimal number, optionally with a K/M/G (binary) suffix.  Returns NULL or
 * why it is not one.
 */
static const char *
conf_parse_number(const char *s, int suffixes, uint64_t *out)
{
	unsigned long long v;
	uint64_t mul = 1;
	char *end;

	/* strtoull takes "-1", " 1" and "+1"; a number starts with a digit. */
	if (!isdigit((unsigned char)s[0]))
		return "not a number";
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return "out of range";
	if (suffixes && *end != '\0') {
		switch (*end) {
		case 'k': case 'K':
			mul = KIB;
			break;
		case 'm': case 'M':
			mul = MIB;
			break;
		case 'g': case 'G':
			mul = GIB;
			break;
		default:
			return "trailing garbage";
		}
		end++;
	}
	if (*end != '\0')
		return "trailing garbage";
	if (v > UINT64_MAX / mul)
		return "out of range";
	*out = (uint64_t)v * mul;
	return NULL;
}

static int
conf_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* "1048576" -> "1M": ranges in messages read like the values people write. */
static void
conf_fmt_size(char *out, size_t n, uint64_t v)
{
	if (v != 0 && v % GIB == 0)
		snprintf(out, n, "%lluG", (unsigned long long)(v / GIB));
	else if (v != 0 && v % MIB == 0)
		snprintf(out, n, "%lluM", (unsigned long long)(v / MIB));
	else if (v != 0 && v % KIB == 0)
		snprintf(out, n, "%lluK", (unsigned long long)(v / KIB));
	else
		snprintf(out, n, "%llu", (unsigned long long)v);
}

static void conf_error(struct conf_ctx *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Records the first error only, as "NAME:LINE: message". */
static void
conf_error(struct conf_ctx *x, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (x->err_line != 0)
		return;
	x->err_line = x->lineno > 0 ? x->lineno : 1;
	if (x->err == NULL || x->errlen == 0)
		return;
	n = snprintf(x->err, x->errlen, "%s:%d: ", x->name, x->err_line);
	if (n < 0 || (size_t)n >= x->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(x->err + n, x->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* The value as quoted in a message: control bytes as '?', long ones cut. */
static void
conf_quote(char *out, size_t n, const char *v)
{
	size_t i, l = strlen(v), max = n - 1;

	if (l > max) {
		l = max - 3;
		memcpy(out + l, "...", 4);
	} else
		out[l] = '\0';
	for (i = 0; i < l; i++)
		out[i] = ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) ?
		    '?' : v[i];
}

/*
 * An API key: 36 characters 8-4-4-4-12 hex, stored lower-case in out[37];
 * the nil UUID means "no key" and is stored as "".  -1 if malformed.
 */
static int
conf_parse_uuid(const char *s, char *out)
{
	size_t i;

	if (strlen(s) != CONF_UUID_LEN)
		return -1;
	for (i = 0; i < CONF_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
		} else if (!isxdigit((unsigned char)s[i]))
			return -1;
		out[i] = (char)tolower((unsigned char)s[i]);
	}
	out[CONF_UUID_LEN] = '\0';
	if (strcmp(out, "00000000-0000-0000-0000-000000000000") == 0)
		out[0] = '\0';
	return 0;
}

static void
conf_bad_value(struct conf_ctx *x, const struct conf_key *k, const char *value,
    const char *expected, const char *why)
{
	char q[168];

	conf_quote(q, sizeof(q), value);
	conf_error(x, "bad value for '%s' in section [%s]: expected %s, "
	    "got '%s'%s%s%s", k->name, k->section, expected, q,
	    why ? " (" : "", why ? why : "", why ? ")" : "");
}

static int
conf_set(struct conf_ctx *x, size_t ki, const char *value)
{
	const struct conf_key *k = &conf_keys[ki];
	struct conf *c = x->c;
	char *field = (char *)c + k->off;
	char expected[96], lo[24], hi[24];
	const char *why;
	uint64_t v;
	int b, r;

	switch (k->type) {
	case CT_NAME:
		if (!conf_name_ok(value)) {
			conf_bad_value(x, k, value, "a name of 1..32 letters, "
			    "digits, '.', '_' or '-'", NULL);
			return -1;
		}
		conf_strcpy(field, CONF_NAME_MAX + 1, value);
		return 0;
	case CT_LEVEL:
		if ((r = log_level_parse(value)) < 0) {
			conf_bad_value(x, k, value,
			    "error, warn, info or debug", NULL);
			return -1;
		}
		*(int *)(void *)field = r;
		return 0;
	case CT_SECURE:
		if (strcmp(value, "prefer") == 0)
			*(int *)(void *)field = CONF_SECURE_PREFER;
		else if (strcmp(value, "require") == 0)
			*(int *)(void *)field = CONF_SECURE_REQUIRE;
		else if (strcmp(value, "off") == 0)
			*(int *)(void *)field = CONF_SECURE_OFF;
		else {
			conf_bad_value(x, k, value, "prefer, require or off", NULL);
			return -1;
		}
		return 0;
	case CT_BOOL:
		if (conf_parse_bool(value, &b) != 0) {
			conf_bad_value(x, k, value, "yes or no", NULL);
			return -1;
		}
		*(int *)(void *)field = b;
		return 0;
	case CT_U32:
	case CT_U64:
	case CT_PORT:
	case CT_UID:
	case CT_BYTES:
		if (k->type == CT_BYTES) {
			conf_fmt_size(lo, sizeof(lo), k->min);
			conf_fmt_size(hi, sizeof(hi), k->max);
			snprintf(expected, sizeof(expected),
			    "a size in %s..%s (suffixes K, M, G)", lo, hi);
		} else
			snprintf(expected, sizeof(expected),
			    "a number in %llu..%llu",
			    (unsigned long long)k->min,
			    (unsigned long long)k->max);
		why = conf_parse_number(value, k->type == CT_BYTES, &v);
		if (why == NULL && (v < k->min || v > k->max))
			why = "out of range";
		if (why != NULL) {
			conf_bad_value(x, k, value, expected, why);
			return -1;
		}
		if (k->type == CT_U32)
			*(uint32_t *)(void *)field = (uint32_t)v;
		else if (k->type == CT_PORT)
			*(uint16_t *)(void *)field = (uint16_t)v;
		else if (k->type == CT_UID) {
			if (c->nallow_uid >= CONF_MAX_ALLOW_UID)
				goto toomany;
			c->allow_uid[c->nallow_uid++] = (uint32_t)v;
		} else
			*(uint64_t *)(void *)field = v;
		return 0;
	case CT_LISTEN:
		/* The first listen line replaces the built-in defaults. */
		if (x->seen[ki] == x->lineno)
			c->nlisten = 0;
		if (c->nlisten >= CONF_MAX_LISTEN)
			goto toomany;
		if ((r = conf_parse_listen(value, &c->listen[c->nlisten])) !=
		    CONF_OK) {
			conf_bad_value(x, k, value, "ADDR:PORT",
			    conf_strerror(r));
			return -1;
		}
		c->nlisten++;
		return 0;
	case CT_ROOT:
		if (c->nroot >= CONF_MAX_ROOTS)
			goto toomany;
		if ((r = conf_parse_root(value, &c->root[c->nroot])) !=
		    CONF_OK) {
			conf_bad_value(x, k, value, "PUBKEY@ADDR:PORT",
			    conf_strerror(r));
			return -1;
		}
		c->nroot++;
		return 0;
	case CT_AGENT:
		why = NULL;
		if (*value == '\0')
			why = "empty";
		else if (strlen(value) > k->max)
			why = "too long";
		else if (!conf_utf8_ok((const unsigned char *)value,
		    strlen(value)))
			why = "invalid UTF-8";
		else
			for (r = 0; value[r] != '\0'; r++)
				if ((unsigned char)value[r] < 0x20 ||
				    value[r] == 0x7f)
					why = "control character";
		if (why != NULL) {
			conf_bad_value(x, k, value,
			    "1..255 bytes of UTF-8 text", why);
			return -1;
		}
		conf_strcpy(field, CONF_USER_AGENT_MAX + 1, value);
		return 0;
	case CT_PATH:
		why = NULL;
		if (*value == '\0')
			why = "empty";
		else if (value[0] == '/')
			r = snprintf(field, PATH_MAX, "%s", value);
		else
			r = snprintf(field, PATH_MAX, "%s/%s", x->dir, value);
		if (why == NULL && (r < 0 || r >= PATH_MAX))
			why = "path too long";
		if (why != NULL) {
			conf_bad_value(x, k, value, "a directory path", why);
			return -1;
		}
		if (k->off == F(warehouse))
			x->warehouse_set = 1;
		return 0;
	case CT_API_LISTEN:
		if (c->napi_listen >= CONF_MAX_API_LISTEN)
			goto toomany;
		if ((r = conf_parse_listen(value, &c->api_listen[c->napi_listen])) !=
		    CONF_OK) {
			conf_bad_value(x, k, value, "ADDR:PORT",
			    conf_strerror(r));
			return -1;
		}
		c->napi_listen++;
		return 0;
	case CT_UUID:
		if (conf_parse_uuid(value, field) != 0) {
			conf_bad_value(x, k, value, "a UUID "
			    "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", NULL);
			return -1;
		}
		return 0;
	}
	return -1;

toomany:
	conf_error(x, "too many '%s' entries in section [%s] (at most %d)",
	    k->name, k->section, k->type == CT_LISTEN ? CONF_MAX_LISTEN :
	    k->type == CT_ROOT ? CONF_MAX_ROOTS :
	    k->type == CT_API_LISTEN ? CONF_MAX_API_LISTEN : CONF_MAX_ALLOW_UID);
	return -1;
}

static const struct conf_key *
conf_key_anywhere(const char *name)
{
	size_t i;

	for (i = 0; i < CONF_NKEYS; i++)
		if (strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	return NULL;
}

static int
conf_section_known(const char *s)
{
	size_t i;

	for (i = 0; i < CONF_NSECTIONS; i++)
		if (strcmp(conf_sections[i], s) == 0)
			return 1;
	return 0;
}

static int
conf_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct conf_ctx *x = user;
	const struct conf_key *other;
	size_t i;

	if (x->err_line != 0)
		return 0;
	if (*section == '\0') {
		if ((other = conf_key_anywhere(name)) != NULL)
			conf_error(x, "key '%s' outside of any section "
			    "(it belongs in [%s])", name, other->section);
		else
			conf_error(x, "key '%s' outside of any section", name);
		return 0;
	}
	if (!conf_section_known(section)) {
		conf_error(x, "unknown section [%s]", section);
		return 0;
	}
	for (i = 0; i < CONF_NKEYS; i++) {
		if (strcmp(conf_keys[i].section, section) != 0 ||
		    strcmp(conf_keys[i].name, name) != 0)
			continue;
		if (x->seen[i] != 0 && conf_keys[i].type != CT_LISTEN &&
		    conf_keys[i].type != CT_ROOT &&
		    conf_keys[i].type != CT_UID &&
		    conf_keys[i].type != CT_API_LISTEN) {
			conf_error(x, "duplicate key '%s' in section [%s] "
			    "(first set on line %d)", name, section,
			    x->seen[i]);
			return 0;
		}
		if (x->seen[i] == 0)
			x->seen[i] = x->lineno;
		return conf_set(x, i, value) == 0;
	}
	if ((other = conf_key_anywhere(name)) != NULL)
		conf_error(x, "unknown key '%s' in section [%s] "
		    "(it belongs in [%s])", name, section, other->section);
	else
		conf_error(x, "unknown key '%s' in section [%s]", name,
		    section);
	return 0;
}

/*
 * Checks a "[name]" line the way inih will read it: leading blanks skipped,
 * the name is everything up to ']'.  Anything but a comment after ']' is
 * refused (inih would ignore it).
 */
static void
conf_check_section_line(struct conf_ctx *x, const char *line)
{
	const char *p = line, *end;
	char name[64];
	size_t n;

	if (x->lineno == 1 && strncmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (isspace((unsigned char)*p))
		p++;
	if (*p != '[' || (end = strchr(p, ']')) == NULL)
		return;		/* not a header, or inih reports it */
	n = (size_t)(end - p - 1);
	if (n >= sizeof(name)) {
		conf_error(x, "unknown section [%.*s...]", 32, p + 1);
		return;
	}
	memcpy(name, p + 1, n);
	name[n] = '\0';
	if (!conf_section_known(name)) {
		conf_quote(name, sizeof(name), name);
		conf_error(x, "unknown section [%s]", name);
		return;
	}
	for (p = end + 1; isspace((unsigned char)*p); p++)
		;
	if (*p != '\0' && *p != ';' && *p != '#')
		conf_error(x, "unexpected text after section header [%s]",
		    name);
}

/* ini_reader over the buffer: one physical line per call, counted. */
static char *
conf_reader(char *str, int num, void *stream)
{
	struct conf_ctx *x = stream;
	const char *p, *nl;
	size_t rem, n;

	if (x->err_line != 0 || x->pos >= x->len)
		return NULL;
	p = x->buf + x->pos;
	rem = x->len - x->pos;
	nl = memchr(p, '\n', rem);
	n = nl != NULL ? (size_t)(nl - p) + 1 : rem;
	x->pos += n;
	x->lineno++;
	if (memchr(p, '\0', n) != NULL) {
		conf_error(x, "NUL byte in line");
		return NULL;
	}
	if (num < 2 || n > (size_t)num - 1) {
		conf_error(x, "line too long (at most %d bytes)",
		    CONF_LINE_MAX - 1);
		return NULL;
	}
	memcpy(str, p, n);
	str[n] = '\0';
	conf_check_section_line(x, str);
	return x->err_line != 0 ? NULL : str;
}

/* Says what is wrong with line `line` that inih refused to parse. */
static void
conf_syntax_error(struct conf_ctx *x, int line)
{
	const char *p = x->buf, *nl, *end = x->buf + x->len;
	char text[CONF_LINE_MAX], q[80];
	size_t n;
	int i;

	for (i = 1; i < line && p < end; i++) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			p = end;
		else
			p = nl + 1;
	}
	nl = memchr(p, '\n', (size_t)(end - p));
	n = (size_t)((nl != NULL ? nl : end) - p);
	if (n >= sizeof(text))
		n = sizeof(text) - 1;
	memcpy(text, p, n);
	while (n > 0 && isspace((unsigned char)text[n - 1]))
		n--;
	text[n] = '\0';
	for (p = text; isspace((unsigned char)*p); p++)
		;
	conf_quote(q, sizeof(q), p);
	x->lineno = line;
	if (*p == '[')
		conf_error(x, "section header without ']': '%s'", q);
	else
		conf_error(x, "expected 'key = value' or '[section]', got '%s'",
		    q);
}

static char conf_comment_chars[] = ";#";

static int
conf_parse_buf(struct conf *c, const char *buf, size_t len, const char *name,
    const char *dir, char *err, size_t errlen)
{
	struct conf_ctx x;
	int r;

	conf_defaults(c);
	if (conf_strcpy(c->path, sizeof(c->path), name) != 0 ||
	    conf_strcpy(c->dir, sizeof(c->dir), dir) != 0) {
		snprintf(err, errlen, "%s: path too long", name);
		return -1;
	}
	x = (struct conf_ctx){ .c = c, .name = name, .dir = dir, .buf = buf,
	    .len = len, .err = err, .errlen = errlen };
	if (errlen > 0)
		err[0] = '\0';

	/*
	 * Debian's libinih makes its compile-time options run-time globals.
	 * Set them every time: heap line buffer of our size, no continuation
	 * lines (an indented key is just a key), stop at the first error.
	 */
	ini_use_stack = false;
	ini_allow_realloc = false;
	ini_max_line = CONF_LINE_MAX;
	ini_initial_alloc = CONF_LINE_MAX;
	ini_allow_multiline = false;
	ini_allow_bom = true;
	ini_allow_inline_comments = true;
	ini_inline_comment_prefixes = conf_comment_chars;
	ini_start_comment_prefixes = conf_comment_chars;
	ini_allow_no_value = false;
	ini_stop_on_first_error = true;

	r = ini_parse_stream(conf_reader, &x, conf_handler, &x);
	if (x.err_line != 0)
		return -1;
	if (r == -2) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	if (r != 0) {
		conf_syntax_error(&x, r > 0 ? r : x.lineno);
		return -1;
	}
	if (!x.warehouse_set &&
	    snprintf(c->warehouse, sizeof(c->warehouse), "%s/storage/warehouse", dir) >=
	    (int)sizeof(c->warehouse)) {
		snprintf(err, errlen, "%s: warehouse path too long", name);
		return -1;
	}
	return 0;
}

/*
 * The defaults are the values the generated file documents (conf_keys[].def),
 * set through the parser like a file's; the keys without one (the
 * repeatable lists, the API's paths and key) start empty, except listen.
 */
void
conf_defaults(struct conf *c)
{
	struct conf_ctx x = { .c = c, .name = "defaults", .dir = "." };
	size_t i;

	memset(c, 0, sizeof(*c));
	conf_strcpy(c->dir, sizeof(c->dir), ".");
	for (i = 0; i < CONF_NKEYS; i++)
		if (conf_keys[i].def != NULL && conf_set(&x, i, conf_keys[i].def) != 0)
			abort();	/* a table default its own parser refuses */
	conf_parse_listen("0.0.0.0:112", &c->listen[0]);
	conf_parse_listen("[::]:112", &c->listen[1]);
	c->nlisten = 2;
}

int
conf_parse_string(struct conf *c, const char *text, const char *name,
    char *err, size_t errlen)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(name, '/');
	size_t n;

	if (slash == NULL)
		conf_strcpy(dir, sizeof(dir), ".");
	else if (slash == name)
		conf_strcpy(dir, sizeof(dir), "/");
	else {
		n = (size_t)(slash - name);
		if (n >= sizeof(dir)) {
			conf_defaults(c);
			snprintf(err, errlen, "%s: path too long", name);
			return -1;
		}
		memcpy(dir, name, n);
		dir[n] = '\0';
	}
	return conf_parse_buf(c, text, strlen(text), name, dir, err, errlen);
}

int
conf_load(struct conf *c, const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX], *buf = NULL;
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd, r;

	conf_defaults(c);
	if (snprintf(path, sizeof(path), "%s/%s", dir, CONF_FILE_NAME) >=
	    (int)sizeof(path)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	/* O_NONBLOCK: a FIFO in its place must not hang the daemon. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		if (errno == ENOENT)
			snprintf(err, errlen, "%s: no config: run "
			    "'peernetctl -d %s init'", path, dir);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	/* Read to EOF, whatever st_size said, up to one byte past the cap. */
	if ((buf = malloc(CONF_FILE_MAX + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	for (;;) {
		n = read(fd, buf + len, CONF_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONF_FILE_MAX) {
			snprintf(err, errlen, "%s: file too large (at most "
			    "%d bytes)", path, CONF_FILE_MAX);
			goto fail;
		}
	}
	close(fd);
	r = conf_parse_buf(c, buf, len, path, dir, err, errlen);
	free(buf);
	return r;

fail:
	free(buf);
	close(fd);
	return -1;
}

/* Writes a key's comment lines, each prefixed "# ". */
static void
conf_write_doc(FILE *f, const char *doc)
{
	const char *nl;

	while (*doc != '\0') {
		nl = strchr(doc, '\n');
		if (nl == NULL)
			nl = doc + strlen(doc);
		fprintf(f, "# %.*s\n", (int)(nl - doc), doc);
		doc = *nl == '\n' ? nl + 1 : nl;
	}
}

static void
conf_write_body(FILE *f, const struct conf_init_opts *o,
    const struct conf_listen *listen, const struct conf_root *root,
    const struct conf_listen *api_listen)
{
	const struct conf_key *k;
	const char *sect = "", *val;
	size_t i;
	int j;

	fprintf(f,
	    "# peernet.conf — configuration of one peernet node, read by\n"
	    "# peernet-netd, peernet-storaged and peernet-searchd.  See\n"
	    "# peernet.conf(5).  Commented lines show the defaults.\n");
	for (i = 0; i < CONF_NKEYS; i++) {
		k = &conf_keys[i];
		if (strcmp(sect, k->section) != 0) {
			sect = k->section;
			fprintf(f, "\n[%s]\n", sect);
		}
		fprintf(f, "\n");
		conf_write_doc(f, k->doc);
		val = NULL;
		if (strcmp(k->name, "listen") == 0 && o->nlisten > 0) {
			for (j = 0; j < o->nlisten; j++)
				fprintf(f, "listen = %s\n", listen[j].text);
			continue;
		}
		if (strcmp(k->name, "root") == 0 && o->nroot > 0) {
			for (j = 0; j < o->nroot; j++)
				fprintf(f, "root = %s\n", root[j].text);
			continue;
		}
		if (strcmp(k->name, "api_listen") == 0 && o->napi_listen > 0) {
			for (j = 0; j < o->napi_listen; j++)
				fprintf(f, "api_listen = %s\n", api_listen[j].text);
			continue;
		}
		if (strcmp(k->name, "user") == 0)
			val = o->user;
		else if (strcmp(k->name, "api_key") == 0)
			val = o->api_key;
		else if (strcmp(k->name, "api_files_dir") == 0)
			val = o->api_files_dir;
		else if (strcmp(k->name, "group") == 0)
			val = o->group;
		else if (strcmp(k->name, "lan") == 0 && o->no_lan)
			val = "no";
		else if (strcmp(k->name, "upnp") == 0 && o->no_upnp)
			val = "no";
		else if (strcmp(k->name, "natpmp") == 0 && o->no_natpmp)
			val = "no";
		if (val != NULL)
			fprintf(f, "%s = %s\n", k->name, val);
		else if (k->def != NULL)
			fprintf(f, "#%s = %s\n", k->name, k->def);
	}
}

int
conf_write_initial(const char *dir, const struct conf_init_opts *o, int force,
    char *err, size_t errlen)
{
	struct conf_listen listen[CONF_MAX_LISTEN], api_listen[CONF_MAX_API_LISTEN];
	struct conf_root root[CONF_MAX_ROOTS];
	char path[PATH_MAX], tmp[PATH_MAX], key[CONF_UUID_LEN + 1];
	struct stat st;
	FILE *f = NULL;
	int fd = -1, dfd, r, saved;

	if (o->nlisten < 0 || o->nlisten > CONF_MAX_LISTEN ||
	    o->nroot < 0 || o->nroot > CONF_MAX_ROOTS) {
		snprintf(err, errlen, "too many listen or root addresses "
		    "(at most %d and %d)", CONF_MAX_LISTEN, CONF_MAX_ROOTS);
		return -1;
	}
	for (r = 0; r < o->nlisten; r++)
		if ((saved = conf_parse_listen(o->listen[r], &listen[r])) !=
		    CONF_OK) {
			snprintf(err, errlen, "bad listen address '%s': %s "
			    "(expected ADDR:PORT)", o->listen[r],
			    conf_strerror(saved));
			return -1;
		}
	for (r = 0; r < o->nroot; r++)
		if ((saved = conf_parse_root(o->root[r], &root[r])) != 0) {
			snprintf(err, errlen, "bad root '%s': %s (expected "
			    "PUBKEY@ADDR:PORT)", o->root[r],
			    conf_strerror(saved));
			return -1;
		}
	if (o->napi_listen < 0 || o->napi_listen > CONF_MAX_API_LISTEN) {
		snprintf(err, errlen, "too many API listen addresses (at most %d)",
		    CONF_MAX_API_LISTEN);
		return -1;
	}
	for (r = 0; r < o->napi_listen; r++)
		if ((saved = conf_parse_listen(o->api_listen[r], &api_listen[r])) !=
		    CONF_OK) {
			snprintf(err, errlen, "bad API listen address '%s': %s "
			    "(expected ADDR:PORT)", o->api_listen[r],
			    conf_strerror(saved));
			return -1;
		}
	if (o->api_key != NULL && conf_parse_uuid(o->api_key, key) != 0) {
		snprintf(err, errlen, "bad API key '%s' (expected a UUID)", o->api_key);
		return -1;
	}
	/* One line of the file: no control byte, nothing inih reads as a comment. */
	if (o->api_files_dir != NULL && (*o->api_files_dir == '\0' ||
	    strpbrk(o->api_files_dir, "\n\r\t") != NULL ||
	    strstr(o->api_files_dir, " #") != NULL || strstr(o->api_files_dir, " ;") != NULL ||
	    isspace((unsigned char)*o->api_files_dir) ||
	    isspace((unsigned char)o->api_files_dir[strlen(o->api_files_dir) - 1]) ||
	    strlen(o->api_files_dir) >= PATH_MAX)) {
		snprintf(err, errlen, "bad API files directory '%s'", o->api_files_dir);
		return -1;
	}
	if ((o->user != NULL && !conf_name_ok(o->user)) ||
	    (o->group != NULL && !conf_name_ok(o->group))) {
		snprintf(err, errlen, "bad user or group name '%s'",
		    o->user != NULL && !conf_name_ok(o->user) ? o->user :
		    o->group);
		return -1;
	}
	if (snprintf(path, sizeof(path), "%s/%s", dir, CONF_FILE_NAME) >=
	    (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, CONF_FILE_NAME) >=
	    (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	if (!force && lstat(path, &st) == 0) {
		snprintf(err, errlen, "%s already exists; not overwriting it",
		    path);
		return -1;
	}

	if ((fd = mkstemp(tmp)) == -1) {
		snprintf(err, errlen, "%s: cannot create a file: %s", dir,
		    strerror(errno));
		return -1;
	}
	/* The config holds no secret (but an API key); others' tools may read it. */
	if (fchmod(fd, o->api_key != NULL ? 0640 : 0644) == -1 ||
	    (f = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	conf_write_body(f, o, listen, root, api_listen);
	if (fflush(f) == EOF || ferror(f) || fsync(fileno(f)) == -1) {
		snprintf(err, errlen, "%s: write: %s", tmp, strerror(errno));
		goto fail;
	}
	r = fclose(f);
	f = NULL;
	if (r == EOF) {
		snprintf(err, errlen, "%s: close: %s", tmp, strerror(errno));
		goto fail;
	}
	if (force) {
		if (rename(tmp, path) == -1) {
			snprintf(err, errlen, "%s: rename: %s", path,
			    strerror(errno));
			goto fail;
		}
	} else {
		/* link() refuses an existing file: no race with the lstat. */
		if (link(tmp, path) == -1) {
			if (errno == EEXIST)
				snprintf(err, errlen, "%s already exists; not "
				    "overwriting it", path);
			else
				snprintf(err, errlen, "%s: link: %s", path,
				    strerror(errno));
			goto fail;
		}
		unlink(tmp);
	}
	/* Make the new directory entry durable too. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		fsync(dfd);
		close(dfd);
	}
	return 0;

fail:
	saved = errno;
	if (f != NULL)
		fclose(f);
	if (fd != -1)
		close(fd);
	unlink(tmp);
	errno = saved;
	return -1;
}
