/* test_conf.c — peernet.conf parsing, its error messages, and `init` output. */
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/socket.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "t.h"

#define NAME	"/tmp/n/peernet.conf"
#define KEY02	"02" "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
#define KEY03	"03" "c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5"

static struct conf	c;	/* ~40 KiB: kept off the stack */
static struct conf	c2;
static char		err[512];

/* Parses text as NAME; returns conf_parse_string's result. */
static int
parse(const char *text)
{
	err[0] = '\0';
	return conf_parse_string(&c, text, NAME, err, sizeof(err));
}

#define ANY	(-1)	/* a conf_want field that is not checked */

/* The netd, storaged and searchd settings c must hold. */
struct conf_want {
	int		 lan, upnp, natpmp, firewall, udp_gso, port_forward;
	const char	*user_agent;
	int		 max_peers;
	uint64_t	 block_size, block_count, bytes;	/* cache_max_... */
	int		 max_results, result_timeout_ms;
};

static void
expect_conf(const struct conf_want *w)
{
	T_EQ_INT(c.lan, w->lan);
	T_EQ_INT(c.upnp, w->upnp);
	T_EQ_INT(c.natpmp, w->natpmp);
	T_EQ_INT(c.firewall, w->firewall);
	if (w->udp_gso != ANY)
		T_EQ_INT(c.udp_gso, w->udp_gso);
	T_EQ_INT(c.port_forward, w->port_forward);
	T_EQ_STR(c.user_agent, w->user_agent);
	T_EQ_INT(c.max_peers, w->max_peers);
	T_EQ_U64(c.cache_max_block_size, w->block_size);
	T_EQ_U64(c.cache_max_block_count, w->block_count);
	T_EQ_U64(c.cache_max_bytes, w->bytes);
	T_EQ_INT(c.max_results, w->max_results);
	T_EQ_INT(c.result_timeout_ms, w->result_timeout_ms);
}

/* A fresh directory dir, and path (unless NULL) its peernet.conf. */
static void
conf_tmp(char dir[64], char path[128])
{
	T_ASSERT(t_tmpdir(dir, 64, "peernet-test-conf") == 0);
	if (path != NULL)
		snprintf(path, 128, "%s/peernet.conf", dir);
}

/* Loading dir fails with the message want; dir is removed. */
static void
expect_load_fails(char *dir, const char *want)
{
	T_EQ_INT(conf_load(&c, dir, err, sizeof(err)), -1);
	t_rmtree(dir);
	T_EQ_STR(err, want);
}

static int
write_file(const char *dir, const char *text)
{
	char p[PATH_MAX];
	FILE *f;

	snprintf(p, sizeof(p), "%s/peernet.conf", dir);
	if ((f = fopen(p, "w")) == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* Expect text to fail with exactly msg. */
#define T_PARSE_ERR(text, msg) do {					\
	T_EQ_INT(parse(text), -1);					\
	T_EQ_STR(err, msg);						\
} while (0)

static void
test_conf_defaults_match_the_documented_values(void)
{
	conf_defaults(&c);
	T_EQ_STR(c.user, "peernet");
	T_EQ_STR(c.group, "peernet");
	T_EQ_INT(c.log_level, LOG_LVL_INFO);
	T_EQ_INT(c.ipc_timeout_ms, 5000);
	T_EQ_INT(c.nallow_uid, 0);
	T_EQ_INT(c.nlisten, 2);
	T_EQ_STR(c.listen[0].text, "0.0.0.0:112");
	T_EQ_INT(c.listen[0].family, AF_INET);
	T_EQ_INT(c.listen[0].port, 112);
	T_EQ_STR(c.listen[1].text, "[::]:112");
	T_EQ_INT(c.listen[1].family, AF_INET6);
	T_EQ_INT(c.nroot, 0);
	T_DO(expect_conf(&(struct conf_want){ .lan = 1, .upnp = 1, .natpmp = 1,
	    .firewall = 0, .udp_gso = 1, .port_forward = 0,
	    .user_agent = "peernet/0.1", .max_peers = 1000,
	    .block_size = 50096, .block_count = 256, .bytes = 1073741824ULL,
	    .max_results = 1000, .result_timeout_ms = 10000 }));
	/* The rest of what the key table documents (conf_keys[].def). */
	T_EQ_INT(c.secure_transport, CONF_SECURE_PREFER);
	T_EQ_INT(c.max_peers_per_ip, 16);
	T_EQ_U64(c.chain_max_blocks, 200);
	T_EQ_INT(c.api_timeout_s, 60);
	T_EQ_STR(c.warehouse, "./storage/warehouse");
	T_EQ_STR(c.dir, ".");
	T_EQ_INT(c.napi_listen, 0);
	T_EQ_STR(c.api_key, "");
}

static void
test_conf_empty_file_gives_defaults_and_warehouse_in_dir(void)
{
	T_EQ_INT(parse(""), 0);
	T_EQ_INT(c.nlisten, 2);
	T_EQ_STR(c.warehouse, "/tmp/n/storage/warehouse");
	T_EQ_STR(c.path, NAME);
	T_EQ_STR(c.dir, "/tmp/n");
	T_EQ_INT(parse("# only a comment\n; another\n\n[netd]\n"), 0);
	T_EQ_INT(c.lan, 1);
}

static void
test_conf_full_file_parses_to_its_values(void)
{
	static const char text[] =
	    "\xef\xbb\xbf# a full file\n"
	    "[node]\n"
	    "user = pn-user\n"
	    "group = pn.group\n"
	    "log_level = debug\n"
	    "ipc_timeout_ms = 250\n"
	    "allow_uid = 1000\n"
	    "allow_uid = 0\n"
	    "\n"
	    "[netd]\n"
	    "  listen = 127.0.0.1:4000\n"
	    "listen=[::1]:4001 ; inline comment\n"
	    "root = " KEY02 "@127.0.0.1:5000\n"
	    "root = " KEY03 "@[fe80::1]:0\n"
	    "lan = no\n"
	    "upnp = OFF\n"
	    "natpmp = false\n"
	    "port_forward = 65535\n"
	    "firewall = on\n"
	    "user_agent = test agent/1.0 \xc3\xbc#x # comment\n"
	    "max_peers = 100000\n"
	    "[storaged]\n"
	    "cache_max_block_size = 4K\n"
	    "cache_max_block_count = 10\n"
	    "cache_max_bytes = 2g\n"
	    "warehouse = wh/files\n"
	    "[searchd]\r\n"
	    "max_results = 7\r\n"
	    "result_timeout_ms = 1500";

	T_EQ_INT(parse(text), 0);
	T_EQ_STR(c.user, "pn-user");
	T_EQ_STR(c.group, "pn.group");
	T_EQ_INT(c.log_level, LOG_LVL_DEBUG);
	T_EQ_INT(c.ipc_timeout_ms, 250);
	T_EQ_INT(c.nallow_uid, 2);
	T_EQ_INT(c.allow_uid[0], 1000);
	T_EQ_INT(c.allow_uid[1], 0);
	T_EQ_INT(c.nlisten, 2);
	T_EQ_STR(c.listen[0].text, "127.0.0.1:4000");
	T_EQ_INT(c.listen[0].family, AF_INET);
	T_EQ_MEM(c.listen[0].addr, "\x7f\x00\x00\x01", 4);
	T_EQ_INT(c.listen[0].port, 4000);
	T_EQ_STR(c.listen[1].text, "[::1]:4001");
	T_EQ_INT(c.listen[1].family, AF_INET6);
	T_EQ_MEM(c.listen[1].addr,
	    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	T_EQ_INT(c.listen[1].port, 4001);
	T_EQ_INT(c.nroot, 2);
	T_EQ_MEM(c.root[0].pubkey, "\x02\x79\xbe\x66", 4);
	T_EQ_INT(c.root[0].pubkey[32], 0x98);
	T_EQ_STR(c.root[0].text, KEY02 "@127.0.0.1:5000");
	T_EQ_INT(c.root[0].addr.port, 5000);
	T_EQ_INT(c.root[1].pubkey[0], 0x03);
	T_EQ_STR(c.root[1].addr.text, "[fe80::1]:0");
	T_EQ_INT(c.root[1].addr.port, 0);
	T_DO(expect_conf(&(struct conf_want){ .lan = 0, .upnp = 0, .natpmp = 0,
	    .firewall = 1, .udp_gso = ANY, .port_forward = 65535,
	    .user_agent = "test agent/1.0 \xc3\xbc#x", .max_peers = 100000,
	    .block_size = 4096, .block_count = 10, .bytes = 2147483648ULL,
	    .max_results = 7, .result_timeout_ms = 1500 }));
	T_EQ_STR(c.warehouse, "/tmp/n/wh/files");
}

static void
test_conf_listen_lines_replace_defaults_and_append(void)
{
	T_EQ_INT(parse("[netd]\nlisten = 10.0.0.1:1\n[node]\nuser = x\n"
	    "[netd]\nlisten = 10.0.0.2:2\nlisten = [2001:db8::5]:3\n"), 0);
	T_EQ_INT(c.nlisten, 3);
	T_EQ_STR(c.listen[0].text, "10.0.0.1:1");
	T_EQ_STR(c.listen[1].text, "10.0.0.2:2");
	T_EQ_STR(c.listen[2].text, "[2001:db8::5]:3");
	T_EQ_INT(c.listen[2].addr[0], 0x20);
	T_EQ_INT(c.listen[2].addr[15], 5);
}

static void
test_conf_bytes_accept_suffixes(void)
{
	T_EQ_INT(parse("[storaged]\ncache_max_bytes = 3M\n"
	    "cache_max_block_size = 65536\n"), 0);
	T_EQ_U64(c.cache_max_bytes, 3ULL * 1024 * 1024);
	T_EQ_U64(c.cache_max_block_size, 65536);
	T_EQ_INT(parse("[storaged]\ncache_max_bytes = 1048576G\n"
	    "cache_max_block_size = 64m\n"), 0);
	T_EQ_U64(c.cache_max_bytes, 1ULL << 50);
	T_EQ_U64(c.cache_max_block_size, 64ULL << 20);
	T_EQ_INT(parse("[storaged]\ncache_max_bytes = 2048k\n"), 0);
	T_EQ_U64(c.cache_max_bytes, 2ULL << 20);
}

static void
test_conf_absolute_warehouse_is_kept(void)
{
	T_EQ_INT(parse("[storaged]\nwarehouse = /srv/wh\n"), 0);
	T_EQ_STR(c.warehouse, "/srv/wh");
	T_EQ_INT(conf_parse_string(&c, "", "peernet.conf", err, sizeof(err)),
	    0);
	T_EQ_STR(c.warehouse, "./storage/warehouse");
}

static void
test_conf_rejects_unknown_key(void)
{
	T_PARSE_ERR("[node]\nuser = a\n\n[netd]\nlan = no\nlisen = 1.2.3.4:1\n",
	    NAME ":6: unknown key 'lisen' in section [netd]");
	T_PARSE_ERR("[node]\nlisten = 1.2.3.4:1\n",
	    NAME ":2: unknown key 'listen' in section [node] "
	    "(it belongs in [netd])");
}

static void
test_conf_rejects_unknown_section(void)
{
	T_PARSE_ERR("[node]\n[netdd]\nlan = no\n",
	    NAME ":2: unknown section [netdd]");
	/* An empty unknown section is caught too (inih never reports it). */
	T_PARSE_ERR("[node]\nuser = a\n# x\n[extra]\n",
	    NAME ":4: unknown section [extra]");
	T_PARSE_ERR("[netd] junk\n",
	    NAME ":1: unexpected text after section header [netd]");
	T_PARSE_ERR("[netd\nlan = no\n",
	    NAME ":1: section header without ']': '[netd'");
}

static void
test_conf_rejects_key_outside_section(void)
{
	T_PARSE_ERR("# top\nlan = no\n[netd]\n",
	    NAME ":2: key 'lan' outside of any section (it belongs in [netd])");
	T_PARSE_ERR("foo = 1\n", NAME ":1: key 'foo' outside of any section");
}

static void
test_conf_rejects_line_without_equals(void)
{
	T_PARSE_ERR("[netd]\nlan = no\nfirewall\n",
	    NAME ":3: expected 'key = value' or '[section]', got 'firewall'");
}

static void
test_conf_rejects_duplicate_single_key(void)
{
	T_PARSE_ERR("[netd]\nlan = no\nupnp = no\nlan = yes\n",
	    NAME ":4: duplicate key 'lan' in section [netd] (first set on line 2)");
}

static void
test_conf_rejects_bad_bool(void)
{
	T_PARSE_ERR("[netd]\nupnp = maybe\n",
	    NAME ":2: bad value for 'upnp' in section [netd]: expected yes "
	    "or no, got 'maybe'");
	T_PARSE_ERR("[netd]\nlan =\n",
	    NAME ":2: bad value for 'lan' in section [netd]: expected yes "
	    "or no, got ''");
}

static void
test_conf_rejects_number_out_of_range(void)
{
	T_PARSE_ERR("[node]\nipc_timeout_ms = 99\n",
	    NAME ":2: bad value for 'ipc_timeout_ms' in section [node]: "
	    "expected a number in 100..600000, got '99' (out of range)");
	T_PARSE_ERR("[netd]\nmax_peers = 0\n",
	    NAME ":2: bad value for 'max_peers' in section [netd]: "
	    "expected a number in 1..100000, got '0' (out of range)");
	T_PARSE_ERR("[netd]\nport_forward = 65536\n",
	    NAME ":2: bad value for 'port_forward' in section [netd]: "
	    "expected a number in 0..65535, got '65536' (out of range)");
	T_PARSE_ERR("[searchd]\nmax_results = 99999999999999999999999\n",
	    NAME ":2: bad value for 'max_results' in section [searchd]: "
	    "expected a number in 1..100000, got '99999999999999999999999' "
	    "(out of range)");
	T_PARSE_ERR("[storaged]\ncache_max_bytes = 17179869184G\n",
	    NAME ":2: bad value for 'cache_max_bytes' in section [storaged]: "
	    "expected a size in 1M..1048576G (suffixes K, M, G), "
	    "got '17179869184G' (out of range)");
	T_PARSE_ERR("[storaged]\ncache_max_block_size = 1023\n",
	    NAME ":2: bad value for 'cache_max_block_size' in section "
	    "[storaged]: expected a size in 1K..64M (suffixes K, M, G), "
	    "got '1023' (out of range)");
	T_PARSE_ERR("[node]\nallow_uid = 4294967295\n",
	    NAME ":2: bad value for 'allow_uid' in section [node]: "
	    "expected a number in 0..4294967294, got '4294967295' "
	    "(out of range)");
}

static void
test_conf_rejects_trailing_garbage_and_signs(void)
{
	T_PARSE_ERR("[netd]\nmax_peers = 12abc\n",
	    NAME ":2: bad value for 'max_peers' in section [netd]: "
	    "expected a number in 1..100000, got '12abc' (trailing garbage)");
	T_PARSE_ERR("[storaged]\ncache_max_bytes = 2GB\n",
	    NAME ":2: bad value for 'cache_max_bytes' in section [storaged]: "
	    "expected a size in 1M..1048576G (suffixes K, M, G), got '2GB' "
	    "(trailing garbage)");
	T_PARSE_ERR("[node]\nallow_uid = -1\n",
	    NAME ":2: bad value for 'allow_uid' in section [node]: "
	    "expected a number in 0..4294967294, got '-1' (not a number)");
	/* Suffixes are for sizes only. */
	T_PARSE_ERR("[searchd]\nresult_timeout_ms = 5K\n",
	    NAME ":2: bad value for 'result_timeout_ms' in section [searchd]: "
	    "expected a number in 100..600000, got '5K' (trailing garbage)");
}

static void
test_conf_rejects_bad_listen(void)
{
	T_PARSE_ERR("[netd]\nlisten = 1.2.3.4\n",
	    NAME ":2: bad value for 'listen' in section [netd]: expected "
	    "ADDR:PORT, got '1.2.3.4' (missing port)");
	T_PARSE_ERR("[netd]\nlisten = 1.2.3.4:70000\n",
	    NAME ":2: bad value for 'listen' in section [netd]: expected "
	    "ADDR:PORT, got '1.2.3.4:70000' (port must be a number in "
	    "0..65535)");
	T_PARSE_ERR("[netd]\nlisten = 1.2.3.256:1\n",
	    NAME ":2: bad value for 'listen' in section [netd]: expected "
	    "ADDR:PORT, got '1.2.3.256:1' (bad IPv4 address)");
	T_PARSE_ERR("[netd]\nlisten = localhost:1\n",
	    NAME ":2: bad value for 'listen' in section [netd]: expected "
	    "ADDR:PORT, got 'localhost:1' (bad IPv4 address)");
	T_PARSE_ERR("[netd]\nlisten = ::1:112\n",
	    NAME ":2: bad value for 'listen' in section [netd]: expected "
	    "ADDR:PORT, got '::1:112' (IPv6 address must be written "
	    "[ADDR]:PORT)");
	T_PARSE_ERR("[netd]\nlisten = [::g]:1\n",
	    NAME ":2: bad value for 'listen' in section [netd]: expected "
	    "ADDR:PORT, got '[::g]:1' (bad IPv6 address)");
	T_PARSE_ERR("[netd]\nlisten = [::1]\n",
	    NAME ":2: bad value for 'listen' in section [netd]: expected "
	    "ADDR:PORT, got '[::1]' (missing port)");
}

static void
test_conf_parse_listen_codes(void)
{
	struct conf_listen l;

	T_EQ_INT(conf_parse_listen("", &l), CONF_E_EMPTY);
	T_EQ_INT(conf_parse_listen("1.2.3.4:", &l), CONF_E_NOPORT);
	T_EQ_INT(conf_parse_listen("1.2.3.4:+1", &l), CONF_E_PORT);
	T_EQ_INT(conf_parse_listen("1.2.3.4:000112", &l), CONF_E_PORT);
	T_EQ_INT(conf_parse_listen("1.2.3.4: 1", &l), CONF_E_PORT);
	T_EQ_INT(conf_parse_listen("01.2.3.4:1", &l), CONF_E_IPV4);
	T_EQ_INT(conf_parse_listen("[::1:1", &l), CONF_E_BRACKET);
	T_EQ_INT(conf_parse_listen("[]:1", &l), CONF_E_IPV6);
	T_EQ_INT(conf_parse_listen("[::1]x1", &l), CONF_E_NOPORT);
	T_EQ_INT(conf_parse_listen("[::ffff:1.2.3.4]:9", &l), CONF_OK);
	T_EQ_STR(l.text, "[::ffff:1.2.3.4]:9");
	T_EQ_INT(conf_parse_listen("0.0.0.0:0", &l), CONF_OK);
	T_EQ_INT(l.port, 0);
	T_EQ_STR(conf_strerror(CONF_E_NOAT),
	    "missing '@' between public key and address");
}

static void
test_conf_rejects_bad_root(void)
{
	T_PARSE_ERR("[netd]\nroot = 02abcd@1.2.3.4:112\n",
	    NAME ":2: bad value for 'root' in section [netd]: expected "
	    "PUBKEY@ADDR:PORT, got '02abcd@1.2.3.4:112' (public key must be "
	    "66 hex digits)");
	T_PARSE_ERR("[netd]\nroot = 04"
	    "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
	    "@1.2.3.4:112\n",
	    NAME ":2: bad value for 'root' in section [netd]: expected "
	    "PUBKEY@ADDR:PORT, got '04"
	    "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
	    "@1.2.3.4:112' (public key must start with 02 or 03)");
	T_PARSE_ERR("[netd]\nroot = " KEY02 "1.2.3.4:112\n",
	    NAME ":2: bad value for 'root' in section [netd]: expected "
	    "PUBKEY@ADDR:PORT, got '" KEY02 "1.2.3.4:112' (missing '@' "
	    "between public key and address)");
	T_PARSE_ERR("[netd]\nroot = 02"
	    "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f8179z"
	    "@1.2.3.4:112\n",
	    NAME ":2: bad value for 'root' in section [netd]: expected "
	    "PUBKEY@ADDR:PORT, got '02"
	    "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f8179z"
	    "@1.2.3.4:112' (public key is not hex)");
	T_PARSE_ERR("[netd]\nroot = " KEY02 "@1.2.3.4\n",
	    NAME ":2: bad value for 'root' in section [netd]: expected "
	    "PUBKEY@ADDR:PORT, got '" KEY02 "@1.2.3.4' (missing port)");
}

static void
test_conf_rejects_too_many_listen_entries(void)
{
	char text[4096];
	size_t n;
	int i;

	n = (size_t)snprintf(text, sizeof(text), "[netd]\n");
	for (i = 0; i < CONF_MAX_LISTEN + 1; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		    "listen = 127.0.0.1:%d\n", 1000 + i);
	T_PARSE_ERR(text, NAME ":34: too many 'listen' entries in section "
	    "[netd] (at most 32)");
	/* Exactly the cap is fine. */
	text[strlen(text) - strlen("listen = 127.0.0.1:1032\n")] = '\0';
	T_EQ_INT(parse(text), 0);
	T_EQ_INT(c.nlisten, CONF_MAX_LISTEN);
	T_EQ_INT(c.listen[31].port, 1031);
}

static void
test_conf_rejects_bad_user_agent(void)
{
	char text[600], ua[300];

	memset(ua, 'a', 256);
	ua[256] = '\0';
	snprintf(text, sizeof(text), "[netd]\nuser_agent = %s\n", ua);
	T_EQ_INT(parse(text), -1);
	T_ASSERT(strncmp(err, NAME ":2: bad value for 'user_agent' in section "
	    "[netd]: expected 1..255 bytes of UTF-8 text, got 'aaaa", 100) == 0);
	T_ASSERT(strstr(err, "...' (too long)") != NULL);
	ua[255] = '\0';
	snprintf(text, sizeof(text), "[netd]\nuser_agent = %s\n", ua);
	T_EQ_INT(parse(text), 0);
	T_EQ_INT(strlen(c.user_agent), 255);
	T_PARSE_ERR("[netd]\nuser_agent = bad \xc0\xaf utf8\n",
	    NAME ":2: bad value for 'user_agent' in section [netd]: expected "
	    "1..255 bytes of UTF-8 text, got 'bad \xc0\xaf utf8' (invalid UTF-8)");
	T_PARSE_ERR("[netd]\nuser_agent = surrogate \xed\xa0\x80\n",
	    NAME ":2: bad value for 'user_agent' in section [netd]: expected "
	    "1..255 bytes of UTF-8 text, got 'surrogate \xed\xa0\x80' "
	    "(invalid UTF-8)");
	T_PARSE_ERR("[netd]\nuser_agent = tab\there\n",
	    NAME ":2: bad value for 'user_agent' in section [netd]: expected "
	    "1..255 bytes of UTF-8 text, got 'tab?here' (control character)");
}

static void
test_conf_rejects_bad_names_and_levels(void)
{
	T_PARSE_ERR("[node]\nuser = bad user\n",
	    NAME ":2: bad value for 'user' in section [node]: expected a name "
	    "of 1..32 letters, digits, '.', '_' or '-', got 'bad user'");
	T_PARSE_ERR("[node]\nlog_level = verbose\n",
	    NAME ":2: bad value for 'log_level' in section [node]: expected "
	    "error, warn, info or debug, got 'verbose'");
}

static void
test_conf_rejects_overlong_line(void)
{
	static char text[2048];

	snprintf(text, sizeof(text), "[netd]\n# %01100d\nlan = no\n", 0);
	T_EQ_INT(parse(text), -1);
	T_EQ_STR(err, NAME ":2: line too long (at most 1023 bytes)");
}

static void
test_conf_rejects_too_many_allow_uid(void)
{
	char text[1024];
	size_t n;
	int i;

	n = (size_t)snprintf(text, sizeof(text), "[node]\n");
	for (i = 0; i <= CONF_MAX_ALLOW_UID; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		    "allow_uid = %d\n", 100 + i);
	T_PARSE_ERR(text, NAME ":18: too many 'allow_uid' entries in section "
	    "[node] (at most 16)");
}

static void
test_conf_load_missing_file_says_run_init(void)
{
	char dir[64], want[256];

	T_DO(conf_tmp(dir, NULL));
	snprintf(want, sizeof(want), "%s/peernet.conf: no config: run "
	    "'peernetctl -d %s init'", dir, dir);
	T_DO(expect_load_fails(dir, want));
}

static void
test_conf_load_rejects_directory_in_place_of_file(void)
{
	char dir[64], path[128], want[256];

	T_DO(conf_tmp(dir, path));
	T_ASSERT(mkdir(path, 0755) == 0);
	snprintf(want, sizeof(want), "%s: not a regular file", path);
	T_DO(expect_load_fails(dir, want));
}

/*
 * Mode 000 does not stop root, so as root the load runs in a child that
 * switched to uid/gid 65534 (nobody) first.
 */
static void
test_conf_load_unreadable_file(void)
{
	char dir[64], path[128], want[256], got[512];
	int p[2], status;
	ssize_t n = 0;
	pid_t pid;

	T_DO(conf_tmp(dir, path));
	T_ASSERT(chmod(dir, 0755) == 0);
	T_ASSERT(write_file(dir, "[netd]\n") == 0);
	T_ASSERT(chmod(path, 0) == 0);
	snprintf(want, sizeof(want), "%s: Permission denied", path);
	if (geteuid() != 0) {
		T_DO(expect_load_fails(dir, want));
		return;
	}
	T_ASSERT(pipe(p) == 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(2);
		if (conf_load(&c, dir, err, sizeof(err)) != -1)
			_exit(3);
		if (write(p[1], err, strlen(err)) < 0)
			_exit(4);
		_exit(0);
	}
	close(p[1]);
	if (pid > 0)
		n = read(p[0], got, sizeof(got) - 1);
	close(p[0]);
	got[n > 0 ? n : 0] = '\0';
	status = -1;
	if (pid > 0)
		waitpid(pid, &status, 0);
	t_rmtree(dir);
	T_ASSERT(pid > 0);
	T_ASSERT(WIFEXITED(status));
	T_EQ_INT(WEXITSTATUS(status), 0);
	T_EQ_STR(got, want);
}

static void
test_conf_load_reports_file_and_line(void)
{
	char dir[64], want[256];

	T_DO(conf_tmp(dir, NULL));
	T_ASSERT(write_file(dir, "[node]\nlog_level = debug\n[netd]\n"
	    "firewall = yes\nlisen = 1.2.3.4:5\n") == 0);
	T_EQ_INT(conf_load(&c, dir, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s/peernet.conf:5: unknown key 'lisen' "
	    "in section [netd]", dir);
	if (strcmp(err, want) != 0) {
		t_rmtree(dir);
		T_EQ_STR(err, want);
	}
	T_ASSERT(write_file(dir, "[node]\nlog_level = debug\n[storaged]\n"
	    "warehouse = w\n") == 0);
	T_EQ_INT(conf_load(&c, dir, err, sizeof(err)), 0);
	T_EQ_INT(c.log_level, LOG_LVL_DEBUG);
	snprintf(want, sizeof(want), "%s/w", dir);
	t_rmtree(dir);
	T_EQ_STR(c.warehouse, want);
}

static void
test_conf_load_rejects_nul_byte(void)
{
	char dir[64], path[128], want[256];
	FILE *f;

	T_DO(conf_tmp(dir, path));
	T_ASSERT((f = fopen(path, "w")) != NULL);
	fwrite("[netd]\nlan = no\0\n", 1, 17, f);
	fclose(f);
	snprintf(want, sizeof(want), "%s:2: NUL byte in line", path);
	T_DO(expect_load_fails(dir, want));
}

static void
test_conf_write_initial_round_trips(void)
{
	struct conf_init_opts o;
	char dir[64], want[256];

	memset(&o, 0, sizeof(o));
	o.listen[0] = "127.0.0.1:1112";
	o.listen[1] = "[::1]:1113";
	o.nlisten = 2;
	o.root[0] = KEY02 "@127.0.0.1:1114";
	o.root[1] = KEY03 "@[::1]:1115";
	o.nroot = 2;
	o.no_lan = 1;
	o.no_upnp = 1;
	o.no_natpmp = 1;
	o.user = "nobody";
	o.group = "nogroup";
	T_DO(conf_tmp(dir, NULL));
	T_EQ_INT(conf_write_initial(dir, &o, 0, err, sizeof(err)), 0);
	T_EQ_INT(conf_load(&c, dir, err, sizeof(err)), 0);
	T_EQ_INT(c.nlisten, 2);
	T_EQ_STR(c.listen[0].text, "127.0.0.1:1112");
	T_EQ_STR(c.listen[1].text, "[::1]:1113");
	T_EQ_INT(c.nroot, 2);
	T_EQ_STR(c.root[0].text, KEY02 "@127.0.0.1:1114");
	T_EQ_STR(c.root[1].text, KEY03 "@[::1]:1115");
	T_EQ_INT(c.lan, 0);
	T_EQ_INT(c.upnp, 0);
	T_EQ_INT(c.natpmp, 0);
	T_EQ_STR(c.user, "nobody");
	T_EQ_STR(c.group, "nogroup");
	/* Everything else is at its default. */
	conf_defaults(&c2);
	T_EQ_INT(c.log_level, c2.log_level);
	T_EQ_INT(c.ipc_timeout_ms, c2.ipc_timeout_ms);
	T_EQ_INT(c.nallow_uid, 0);
	T_EQ_INT(c.firewall, 0);
	T_EQ_INT(c.port_forward, 0);
	T_EQ_STR(c.user_agent, c2.user_agent);
	T_EQ_INT(c.max_peers, c2.max_peers);
	T_EQ_U64(c.cache_max_block_size, c2.cache_max_block_size);
	T_EQ_U64(c.cache_max_block_count, c2.cache_max_block_count);
	T_EQ_U64(c.cache_max_bytes, c2.cache_max_bytes);
	T_EQ_INT(c.max_results, c2.max_results);
	T_EQ_INT(c.result_timeout_ms, c2.result_timeout_ms);
	snprintf(want, sizeof(want), "%s/storage/warehouse", dir);
	t_rmtree(dir);
	T_EQ_STR(c.warehouse, want);
}

static void
test_conf_write_initial_without_options_gives_defaults(void)
{
	struct conf_init_opts o;
	char dir[64];
	size_t off;

	memset(&o, 0, sizeof(o));
	T_DO(conf_tmp(dir, NULL));
	T_EQ_INT(conf_write_initial(dir, &o, 0, err, sizeof(err)), 0);
	T_EQ_INT(conf_load(&c, dir, err, sizeof(err)), 0);
	t_rmtree(dir);
	conf_defaults(&c2);
	/* Same as conf_defaults apart from where the file was read. */
	off = offsetof(struct conf, user);
	memcpy(c2.warehouse, c.warehouse, sizeof(c.warehouse));
	T_EQ_MEM((char *)&c + off, (char *)&c2 + off, sizeof(c) - off);
}

static void
test_conf_write_initial_documents_every_key(void)
{
	static const char *const keys[] = {
		"user", "group", "log_level", "ipc_timeout_ms", "allow_uid",
		"listen", "root", "lan", "upnp", "natpmp", "port_forward",
		"firewall", "user_agent", "max_peers", "cache_max_block_size",
		"cache_max_block_count", "cache_max_bytes", "warehouse",
		"max_results", "result_timeout_ms",
	};
	struct conf_init_opts o;
	char dir[64], path[128], text[16384], needle[64];
	size_t i, n;
	FILE *f;

	memset(&o, 0, sizeof(o));
	T_DO(conf_tmp(dir, NULL));
	T_EQ_INT(conf_write_initial(dir, &o, 0, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/peernet.conf", dir);
	f = fopen(path, "r");
	n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
	if (f)
		fclose(f);
	text[n] = '\0';
	t_rmtree(dir);
	T_ASSERT(n > 0);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(needle, sizeof(needle), "\n#%s = ", keys[i]);
		if (strstr(text, needle) == NULL) {
			snprintf(needle, sizeof(needle), "\n# %s = ", keys[i]);
			if (strstr(text, needle) == NULL)
				T_FAIL("key %s not documented", keys[i]);
		}
	}
	T_ASSERT(strstr(text, "\n[node]\n") != NULL);
	T_ASSERT(strstr(text, "\n#cache_max_block_size = 50096\n") != NULL);
	T_ASSERT(strstr(text, "\n# listen = [::]:112\n") != NULL);
}

static void
test_conf_write_initial_refuses_to_overwrite(void)
{
	struct conf_init_opts o;
	char dir[64], want[256];

	memset(&o, 0, sizeof(o));
	o.no_lan = 1;
	T_DO(conf_tmp(dir, NULL));
	T_EQ_INT(conf_write_initial(dir, &o, 0, err, sizeof(err)), 0);
	o.no_lan = 0;
	o.no_upnp = 1;
	T_EQ_INT(conf_write_initial(dir, &o, 0, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s/peernet.conf already exists; not "
	    "overwriting it", dir);
	T_EQ_INT(conf_load(&c, dir, err + 256, sizeof(err) - 256), 0);
	if (strcmp(err, want) != 0 || c.lan != 0 || c.upnp != 1) {
		t_rmtree(dir);
		T_EQ_STR(err, want);
		T_FAIL("existing file was changed: lan=%d upnp=%d", c.lan,
		    c.upnp);
	}
	/* force replaces it. */
	T_EQ_INT(conf_write_initial(dir, &o, 1, err, sizeof(err)), 0);
	T_EQ_INT(conf_load(&c, dir, err, sizeof(err)), 0);
	t_rmtree(dir);	/* also shows that no temp file was left behind */
	T_EQ_INT(c.lan, 1);
	T_EQ_INT(c.upnp, 0);
}

static void
test_conf_write_initial_mode_is_0644(void)
{
	struct conf_init_opts o;
	char dir[64], path[128];
	struct stat st;
	mode_t old;
	int r;

	memset(&o, 0, sizeof(o));
	T_DO(conf_tmp(dir, NULL));
	old = umask(077);	/* the mode must not depend on the umask */
	r = conf_write_initial(dir, &o, 0, err, sizeof(err));
	umask(old);
	snprintf(path, sizeof(path), "%s/peernet.conf", dir);
	r = r == 0 ? stat(path, &st) : -1;
	t_rmtree(dir);
	T_EQ_INT(r, 0);
	T_ASSERT(S_ISREG(st.st_mode));
	T_EQ_INT(st.st_mode & 07777, 0644);
}

static void
test_conf_write_initial_rejects_bad_values_and_writes_nothing(void)
{
	struct conf_init_opts o;
	char dir[64], path[128];
	int exists;

	memset(&o, 0, sizeof(o));
	o.listen[0] = "1.2.3.4";
	o.nlisten = 1;
	T_DO(conf_tmp(dir, NULL));
	T_EQ_INT(conf_write_initial(dir, &o, 0, err, sizeof(err)), -1);
	snprintf(path, sizeof(path), "%s/peernet.conf", dir);
	exists = access(path, F_OK) == 0;
	rmdir(dir);	/* fails if anything, a temp file too, was left */
	T_EQ_STR(err, "bad listen address '1.2.3.4': missing port "
	    "(expected ADDR:PORT)");
	T_EQ_INT(exists, 0);
	T_EQ_INT(access(dir, F_OK), -1);
	o.nlisten = 0;
	o.root[0] = "02ab@1.2.3.4:1";
	o.nroot = 1;
	T_EQ_INT(conf_write_initial("/nonexistent", &o, 0, err, sizeof(err)),
	    -1);
	T_EQ_STR(err, "bad root '02ab@1.2.3.4:1': public key must be 66 hex "
	    "digits (expected PUBKEY@ADDR:PORT)");
	o.nroot = 0;
	o.user = "a b";
	T_EQ_INT(conf_write_initial("/nonexistent", &o, 0, err, sizeof(err)),
	    -1);
	T_EQ_STR(err, "bad user or group name 'a b'");
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_conf_defaults_match_the_documented_values);
	T_RUN(test_conf_empty_file_gives_defaults_and_warehouse_in_dir);
	T_RUN(test_conf_full_file_parses_to_its_values);
	T_RUN(test_conf_listen_lines_replace_defaults_and_append);
	T_RUN(test_conf_bytes_accept_suffixes);
	T_RUN(test_conf_absolute_warehouse_is_kept);
	T_RUN(test_conf_rejects_unknown_key);
	T_RUN(test_conf_rejects_unknown_section);
	T_RUN(test_conf_rejects_key_outside_section);
	T_RUN(test_conf_rejects_line_without_equals);
	T_RUN(test_conf_rejects_duplicate_single_key);
	T_RUN(test_conf_rejects_bad_bool);
	T_RUN(test_conf_rejects_number_out_of_range);
	T_RUN(test_conf_rejects_trailing_garbage_and_signs);
	T_RUN(test_conf_rejects_bad_listen);
	T_RUN(test_conf_parse_listen_codes);
	T_RUN(test_conf_rejects_bad_root);
	T_RUN(test_conf_rejects_too_many_listen_entries);
	T_RUN(test_conf_rejects_bad_user_agent);
	T_RUN(test_conf_rejects_bad_names_and_levels);
	T_RUN(test_conf_rejects_overlong_line);
	T_RUN(test_conf_rejects_too_many_allow_uid);
	T_RUN(test_conf_load_missing_file_says_run_init);
	T_RUN(test_conf_load_rejects_directory_in_place_of_file);
	T_RUN(test_conf_load_unreadable_file);
	T_RUN(test_conf_load_reports_file_and_line);
	T_RUN(test_conf_load_rejects_nul_byte);
	T_RUN(test_conf_write_initial_round_trips);
	T_RUN(test_conf_write_initial_without_options_gives_defaults);
	T_RUN(test_conf_write_initial_documents_every_key);
	T_RUN(test_conf_write_initial_refuses_to_overwrite);
	T_RUN(test_conf_write_initial_mode_is_0644);
	T_RUN(test_conf_write_initial_rejects_bad_values_and_writes_nothing);
	return t_done();
}
