/* test_lan.c — LAN discovery helpers (docs/protocol.md §1.7, §2.6, §3.6, §5.7, §6.3). */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "ident.h"
#include "lan.h"
#include "t.h"
#include "tvec.h"
#include "wire_msg.h"
#include "wire_packet.h"

/* §1.7, copied from the spec's table. */
#define V4_PRIV "5e27ecc8e54a24e71dca9ba84a9bf465400e27b8c46a977d34962d3d88558c8e"
#define V4_PUB  "030183fb0743f35af0d42f2b87bc356d80782a6721f87324b90a51c8ed86968c72"
#define V6_PRIV "016ad30bfb369926523bf18d136298b6c31d0817e9fb6c21feed89ae22cad788"
#define V6_PUB  "02f46ea896d094f186dfe761ac4621bb9f16c10d9d6fe4b96cc271c58873002a23"

static void
key_from_hex(const char *priv_hex, struct ident *id)
{
	uint8_t priv[32];

	if (hex_decode(priv, sizeof(priv), priv_hex) != 32)
		abort();
	if (ident_from_priv(id, priv) != 0)
		abort();
}

static void
test_discovery_private_keys_derive_the_used_public_keys(void)
{
	struct ident id;
	uint8_t want[33];

	key_from_hex(V4_PRIV, &id);
	T_EQ_INT(hex_decode(want, sizeof(want), V4_PUB), 33);
	T_EQ_MEM(id.pub, want, 33);
	T_EQ_MEM(lan_discovery_key(AF_INET), want, 33);
	key_from_hex(V6_PRIV, &id);
	T_EQ_INT(hex_decode(want, sizeof(want), V6_PUB), 33);
	T_EQ_MEM(id.pub, want, 33);
	T_EQ_MEM(lan_discovery_key(AF_INET6), want, 33);
}

/* The reference's own discovery packets (packets.json) open with our keys. */
static void
test_lan_open_reads_reference_discovery_packets(void)
{
	json_t *v = tvec_load("packets.json"), *p, *exp;
	static uint8_t plain[WIRE_PACKET_MAX];
	struct wire_packet pkt;
	uint8_t self[33] = { 0x02 }, sender[33];
	size_t i, len, plen, seen = 0;
	uint8_t *raw, *pay;
	const char *name;
	int fam;

	if (v == NULL)
		T_SKIP("vectors not found");
	json_array_foreach(json_object_get(v, "packets"), i, p) {
		name = tvec_str(p, "name");
		if (strcmp(name, "local_discovery_ipv4") == 0)
			fam = AF_INET;
		else if (strcmp(name, "local_discovery_ipv6") == 0)
			fam = AF_INET6;
		else
			continue;
		exp = json_object_get(p, "expected");
		raw = tvec_hex(p, "raw", &len);
		pay = tvec_hex(exp, "payload", &plen);
		T_ASSERT(raw != NULL && pay != NULL);
		T_ASSERT(tvec_hex_exact(exp, "sender_public_key", sender, 33) == 0);
		T_EQ_INT(lan_open(fam, self, raw, len, plain, sizeof(plain), &pkt), 0);
		T_EQ_INT(pkt.command, WIRE_CMD_LOCAL_DISCOVERY);
		T_EQ_U64(pkt.sequence, 0);
		T_EQ_U64(pkt.payload_len, plen);
		T_EQ_MEM(pkt.payload, pay, plen);
		T_EQ_MEM(pkt.sender, sender, 33);
		/* The other family's key gives noise: the packet is refused. */
		T_ASSERT(lan_open(fam == AF_INET ? AF_INET6 : AF_INET, self, raw, len,
		    plain, sizeof(plain), &pkt) != 0);
		/* Our own packet coming back is refused after recovery. */
		T_EQ_INT(lan_open(fam, sender, raw, len, plain, sizeof(plain), &pkt),
		    WIRE_PACKET_ERR_SELF);
		free(raw);
		free(pay);
		seen++;
	}
	json_decref(v);
	T_EQ_U64(seen, 2);
}

static void
test_lan_open_refuses_other_commands_on_discovery_socket(void)
{
	static uint8_t raw[512], plain[512];
	struct wire_packet pkt;
	struct ident me, other;
	uint8_t pay[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	size_t len;

	T_EQ_INT(ident_generate(&me), 0);
	T_EQ_INT(ident_generate(&other), 0);
	T_EQ_INT(wire_packet_encode(raw, sizeof(raw), &len, &other,
	    lan_discovery_key(AF_INET), WIRE_CMD_ANNOUNCEMENT, 0, pay,
	    sizeof(pay)), 0);
	T_EQ_INT(lan_open(AF_INET, me.pub, raw, len, plain, sizeof(plain), &pkt),
	    LAN_ERR_COMMAND);
	T_EQ_INT(wire_packet_encode(raw, sizeof(raw), &len, &other,
	    lan_discovery_key(AF_INET6), WIRE_CMD_LOCAL_DISCOVERY, 0, pay,
	    sizeof(pay)), 0);
	T_EQ_INT(lan_open(AF_INET6, me.pub, raw, len, plain, sizeof(plain), &pkt), 0);
	T_EQ_MEM(pkt.sender, other.pub, 33);
	/* Truncated below 77 bytes. */
	T_EQ_INT(lan_open(AF_INET6, me.pub, raw, 76, plain, sizeof(plain), &pkt),
	    WIRE_PACKET_ERR_SHORT);
}

static void
test_directed_broadcast_is_ip_or_not_mask(void)
{
	const uint8_t m24[4] = { 255, 255, 255, 0 }, m25[4] = { 255, 255, 255, 128 };
	const uint8_t m12[4] = { 255, 240, 0, 0 }, m30[4] = { 255, 255, 255, 252 };
	const uint8_t a[4] = { 10, 77, 0, 5 }, b[4] = { 192, 168, 1, 130 };
	const uint8_t c[4] = { 172, 20, 3, 4 }, d[4] = { 10, 0, 0, 1 };
	const uint8_t ll[4] = { 169, 254, 7, 9 }, m16[4] = { 255, 255, 0, 0 };
	const uint8_t wa[4] = { 10, 77, 0, 255 }, wb[4] = { 192, 168, 1, 255 };
	const uint8_t wc[4] = { 172, 31, 255, 255 }, wd[4] = { 10, 0, 0, 3 };
	const uint8_t wll[4] = { 169, 254, 255, 255 };
	uint8_t out[4];

	T_EQ_INT(lan_ipv4_directed_broadcast(a, m24, out), 0);
	T_EQ_MEM(out, wa, 4);
	T_EQ_INT(lan_ipv4_directed_broadcast(b, m25, out), 0);
	T_EQ_MEM(out, wb, 4);
	T_EQ_INT(lan_ipv4_directed_broadcast(c, m12, out), 0);
	T_EQ_MEM(out, wc, 4);
	T_EQ_INT(lan_ipv4_directed_broadcast(d, m30, out), 0);
	T_EQ_MEM(out, wd, 4);
	/* The helper computes it; wildcard networks skip 169.254 themselves. */
	T_EQ_INT(lan_ipv4_directed_broadcast(ll, m16, out), 0);
	T_EQ_MEM(out, wll, 4);
}

static void
test_directed_broadcast_none_for_slash31_slash32_and_zero_mask(void)
{
	const uint8_t m31[4] = { 255, 255, 255, 254 }, m32[4] = { 255, 255, 255, 255 };
	const uint8_t m0[4] = { 0, 0, 0, 0 }, a[4] = { 10, 1, 2, 3 };
	uint8_t out[4] = { 7, 7, 7, 7 };

	T_EQ_INT(lan_ipv4_directed_broadcast(a, m31, out), -1);
	T_EQ_INT(lan_ipv4_directed_broadcast(a, m32, out), -1);
	T_EQ_INT(lan_ipv4_directed_broadcast(a, m0, out), -1);
	T_EQ_INT(out[0], 7);
}

static void
test_schedule_fast_while_empty_then_slow_forever(void)
{
	int settled = 0;

	T_EQ_U64(lan_next_interval_ms(0, &settled), 10000);
	T_EQ_U64(lan_next_interval_ms(0, &settled), 10000);
	T_EQ_INT(settled, 0);
	/* Any peer (root peers included) switches to 10 minutes. */
	T_EQ_U64(lan_next_interval_ms(1, &settled), 600000);
	T_EQ_INT(settled, 1);
	/* ... and it stays there even when the list empties again (§6.3). */
	T_EQ_U64(lan_next_interval_ms(0, &settled), 600000);
	T_EQ_U64(lan_next_interval_ms(500, &settled), 600000);
}

static void
test_bucket_allows_burst_then_rate(void)
{
	struct lan_bucket b;
	uint64_t t = 5000;
	int i, got = 0;

	lan_bucket_init(&b, 200, 200, t);
	for (i = 0; i < 1000; i++)
		got += lan_bucket_take(&b, t);
	T_EQ_INT(got, 200);
	T_EQ_INT(lan_bucket_take(&b, t), 0);
	/* 5 ms at 200/s is one token. */
	T_EQ_INT(lan_bucket_take(&b, t + 4), 0);
	T_EQ_INT(lan_bucket_take(&b, t + 5), 1);
	T_EQ_INT(lan_bucket_take(&b, t + 5), 0);
	/* Over 10 s of a 10 000/s flood at 1 ms steps, about 200/s pass. */
	got = 0;
	for (t = 6000; t < 16000; t++)
		for (i = 0; i < 10; i++)
			got += lan_bucket_take(&b, t);
	T_ASSERT(got >= 1990 && got <= 2210);
}

static void
test_bucket_saves_no_more_than_burst_and_ignores_clock_going_back(void)
{
	struct lan_bucket b;
	int i, got = 0;

	lan_bucket_init(&b, 200, 50, 1000);
	for (i = 0; i < 100; i++)
		got += lan_bucket_take(&b, 1000);
	T_EQ_INT(got, 50);
	/* An hour idle: still only `burst` at once (no overflow either). */
	got = 0;
	for (i = 0; i < 1000; i++)
		got += lan_bucket_take(&b, 1000 + 3600000ULL);
	T_EQ_INT(got, 50);
	/* Time going backwards adds nothing. */
	T_EQ_INT(lan_bucket_take(&b, 10), 0);
	T_EQ_INT(lan_bucket_take(&b, 1000 + 3600000ULL), 0);
}

static struct peer_addr
addr(const char *ip, uint16_t port)
{
	struct peer_addr a;

	if (peer_addr_parse(ip, port, &a) != 0)
		abort();
	return a;
}

static void
test_from_self_matches_ip_and_port(void)
{
	struct peer_addr own[3] = { addr("10.77.0.1", 7112), addr("fd77::1", 7112),
	    addr("192.168.5.5", 112) };
	struct peer_addr f;

	f = addr("10.77.0.1", 7112);
	T_EQ_INT(lan_from_self(own, 3, &f), 1);
	f = addr("10.77.0.1", 7113);	/* another node on our address */
	T_EQ_INT(lan_from_self(own, 3, &f), 0);
	f = addr("10.77.0.2", 7112);
	T_EQ_INT(lan_from_self(own, 3, &f), 0);
	f = addr("fd77::1", 7112);
	T_EQ_INT(lan_from_self(own, 3, &f), 1);
	f = addr("::ffff:192.168.5.5", 112);	/* mapped form is the same host */
	T_EQ_INT(lan_from_self(own, 3, &f), 1);
	T_EQ_INT(lan_from_self(own, 0, &f), 0);
}

static void
test_link_local_rule_drops_mixed_pairs(void)
{
	struct peer_addr g[1] = { addr("10.77.0.1", 7112) };
	struct peer_addr ll[1] = { addr("169.254.3.3", 7112) };
	struct peer_addr v6[2] = { addr("fd77::1", 7112), addr("fe80::1", 7112) };
	struct peer_addr wild[1] = { addr("0.0.0.0", 7112) };
	struct peer_addr f;

	f = addr("10.77.0.9", 7112);
	T_EQ_INT(lan_link_ok(g, 1, &f), 1);
	T_EQ_INT(lan_link_ok(ll, 1, &f), 0);	/* local link-local, remote not */
	T_EQ_INT(lan_link_ok(wild, 1, &f), 1);
	f = addr("169.254.9.9", 7112);
	T_EQ_INT(lan_link_ok(g, 1, &f), 0);	/* remote link-local, local not */
	T_EQ_INT(lan_link_ok(ll, 1, &f), 1);
	/* IPv6: one of our networks (fe80::1) fits a link-local sender. */
	f = addr("fe80::9", 7112);
	T_EQ_INT(lan_link_ok(v6, 1, &f), 0);
	T_EQ_INT(lan_link_ok(v6, 2, &f), 1);
	/* Family mismatch never fits. */
	T_EQ_INT(lan_link_ok(g, 1, &f), 0);
}

int
main(int argc, char **argv)
{
	(void)argc;
	if (t_suite_crypto(argv[0]) != 0)
		return 1;
	T_RUN(test_discovery_private_keys_derive_the_used_public_keys);
	T_RUN(test_lan_open_reads_reference_discovery_packets);
	T_RUN(test_lan_open_refuses_other_commands_on_discovery_socket);
	T_RUN(test_directed_broadcast_is_ip_or_not_mask);
	T_RUN(test_directed_broadcast_none_for_slash31_slash32_and_zero_mask);
	T_RUN(test_schedule_fast_while_empty_then_slow_forever);
	T_RUN(test_bucket_allows_burst_then_rate);
	T_RUN(test_bucket_saves_no_more_than_burst_and_ignores_clock_going_back);
	T_RUN(test_from_self_matches_ip_and_port);
	T_RUN(test_link_local_rule_drops_mixed_pairs);
	return t_done();
}
