/* test_udt_pkt.c — UDT packet codec (docs/protocol.md §9.4) against the captured session. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hex.h"
#include "t.h"
#include "tvec.h"
#include "udt.h"

static uint64_t rng = 0x0dd5eed0dd5eedULL;

static json_t *capture;

static json_t *
cap_packets(void)
{
	if (capture == NULL)
		capture = tvec_load("capture.json");
	return capture ? json_object_get(capture, "packets") : NULL;
}

static int64_t
jint(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

/* The UDT bytes of a captured lite packet (after the 18-byte lite header). */
static int
lite_udt(json_t *pk, uint8_t *raw, size_t cap, const uint8_t **udt,
    size_t *udt_len)
{
	long n = hex_decode(raw, cap, tvec_str(pk, "raw"));

	if (n < 18)
		return -1;
	*udt = raw + 18;
	*udt_len = buf_le16(raw + 16);
	if (*udt_len != (size_t)n - 18)
		return -1;
	return 0;
}

static void
test_decodes_every_captured_udt_packet_with_its_fields(void)
{
	json_t *pkts = cap_packets(), *pk;
	uint8_t raw[2048], re[UDT_PKT_MAX];
	const uint8_t *u;
	size_t i, ul, rl;
	struct udt_pkt p;
	int rc, n = 0, ndata = 0, nhs = 0, nack = 0, nack2 = 0, nnak = 0;
	const char *ty;

	T_ASSERT(pkts != NULL);
	json_array_foreach(pkts, i, pk) {
		if (strcmp(tvec_str(pk, "kind"), "lite") != 0)
			continue;
		T_ASSERT(lite_udt(pk, raw, sizeof(raw), &u, &ul) == 0);
		T_EQ_U64(ul, tvec_u64(pk, "lite_size"));
		rc = udt_pkt_decode(u, ul, &p);
		if (rc != UDT_OK)
			T_FAIL("packet %zu: %s", i, udt_strerror(rc));
		ty = tvec_str(pk, "udt_type");
		T_EQ_STR(udt_pkt_type_name(&p), ty);
		T_EQ_U64(p.dst, tvec_u64(pk, "udt_dst_socket_id"));
		T_EQ_U64(p.ts, tvec_u64(pk, "udt_timestamp"));
		if (strcmp(ty, "data") == 0) {
			T_EQ_U64(p.seq, tvec_u64(pk, "udt_data_seq"));
			T_EQ_U64(p.data_len, tvec_u64(pk, "udt_data_len"));
			/* stream mode: boundary only, in order (§9.4) */
			T_EQ_U64(p.msg & 0xe0000000U, UDT_DATA_STREAM_BITS);
			ndata++;
		} else if (strcmp(ty, "handshake") == 0) {
			T_EQ_U64(p.u.hs.version, tvec_u64(pk, "hs_udt_version"));
			T_EQ_U64(p.u.hs.sock_type, tvec_u64(pk, "hs_socket_type"));
			T_EQ_U64(p.u.hs.init_seq, tvec_u64(pk, "hs_init_seq"));
			T_EQ_U64(p.u.hs.flow_win, tvec_u64(pk, "hs_max_flow_win"));
			T_EQ_INT(p.u.hs.req_type, jint(pk, "hs_req_type"));
			T_EQ_U64(p.u.hs.sock_id, tvec_u64(pk, "hs_socket_id"));
			T_EQ_U64(p.u.hs.mss, 0);
			T_EQ_U64(p.u.hs.cookie, 0);
			nhs++;
		} else if (strcmp(ty, "ack") == 0) {
			T_EQ_U64(p.info, tvec_u64(pk, "ack_seq_no"));
			T_EQ_U64(p.u.ack.seq, tvec_u64(pk, "ack_pkt_seq_hi"));
			T_EQ_U64(p.u.ack.rtt, tvec_u64(pk, "ack_rtt"));
			T_EQ_U64(p.u.ack.avail, tvec_u64(pk, "ack_buf_avail"));
			T_ASSERT(p.u.ack.nfields == 4 || p.u.ack.nfields == 6);
			nack++;
		} else if (strcmp(ty, "ack2") == 0) {
			T_EQ_U64(ul, UDT_HDR_SIZE);
			nack2++;
		} else if (strcmp(ty, "nak") == 0) {
			/* the reference lists single numbers, never ranges */
			T_ASSERT(p.u.nak.n >= 1);
			T_EQ_U64(udt_pkt_nak_entry(&p, 0) & 0x80000000U, 0);
			nnak++;
		}
		T_EQ_INT(udt_pkt_encode(re, sizeof(re), &rl, &p), UDT_OK);
		T_EQ_U64(rl, ul);
		T_EQ_MEM(re, u, ul);
		n++;
	}
	T_EQ_INT(n, 772);
	T_EQ_INT(ndata, 616);
	T_EQ_INT(nhs, 12);
	T_EQ_INT(nack, 61);
	T_EQ_INT(nack2, 61);
	T_EQ_INT(nnak, 22);
}

/* Finds the first captured lite packet of a UDT type and returns its bytes. */
static size_t
captured(const char *type, uint8_t *out, size_t cap)
{
	json_t *pkts = cap_packets(), *pk;
	uint8_t raw[2048];
	const uint8_t *u;
	size_t i, ul;

	if (pkts == NULL)
		return 0;
	json_array_foreach(pkts, i, pk) {
		if (strcmp(tvec_str(pk, "kind"), "lite") != 0 ||
		    strcmp(tvec_str(pk, "udt_type"), type) != 0)
			continue;
		if (strcmp(type, "ack") == 0 && tvec_u64(pk, "lite_size") != 40)
			continue;
		if (lite_udt(pk, raw, sizeof(raw), &u, &ul) != 0 || ul > cap)
			return 0;
		memcpy(out, u, ul);
		return ul;
	}
	return 0;
}

/* What a prefix of n bytes of a valid packet of this type must decode to. */
static int
want_truncated(const char *type, size_t n)
{
	if (n < 4)
		return UDT_ERR_SHORT;
	if (strcmp(type, "data") == 0)
		return n < 16 ? UDT_ERR_DATA_SHORT : UDT_OK;
	if (n < 16)
		return UDT_ERR_CTRL_SHORT;
	if (strcmp(type, "handshake") == 0)
		return UDT_ERR_HS_SHORT;
	if (strcmp(type, "ack") == 0)
		return (n == 20 || n == 32 || n == 36) ? UDT_OK : UDT_ERR_ACK_LEN;
	if (strcmp(type, "nak") == 0)
		return (n - 16) % 4 == 0 ? UDT_OK : UDT_ERR_NAK_LEN;
	return UDT_OK;
}

static void
test_every_truncation_gets_its_own_error(void)
{
	static const char *types[] = { "data", "handshake", "ack", "ack2", "nak" };
	uint8_t b[UDT_PKT_MAX];
	struct udt_pkt p;
	size_t t, n, len;
	int rc;

	for (t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		len = captured(types[t], b, sizeof(b));
		T_ASSERT(len >= 16);
		for (n = 0; n < len; n++) {
			rc = udt_pkt_decode(b, n, &p);
			if (rc != want_truncated(types[t], n))
				T_FAIL("%s truncated to %zu: got %d (%s), want %d",
				    types[t], n, rc, udt_strerror(rc),
				    want_truncated(types[t], n));
		}
		T_EQ_INT(udt_pkt_decode(b, len, &p), UDT_OK);
	}
	T_EQ_INT(udt_pkt_decode(NULL, 0, &p), UDT_ERR_SHORT);
	T_EQ_INT(udt_pkt_decode(b, 4, NULL), UDT_ERR_ARG);
}

static void
test_error_codes_are_distinct_and_named(void)
{
	int codes[] = { UDT_ERR_ARG, UDT_ERR_SHORT, UDT_ERR_DATA_SHORT,
	    UDT_ERR_CTRL_SHORT, UDT_ERR_CTRL_TYPE, UDT_ERR_HS_SHORT,
	    UDT_ERR_HS_LONG, UDT_ERR_ACK_LEN, UDT_ERR_NAK_LEN,
	    UDT_ERR_DROPREQ_SHORT, UDT_ERR_TOO_LONG, UDT_ERR_BUF,
	    UDT_ERR_NOMEM, UDT_ERR_STATE, UDT_ERR_AGAIN, UDT_ERR_CLOSED,
	    UDT_ERR_TIMEOUT, UDT_ERR_CONNECT_TIMEOUT, UDT_ERR_PROTO,
	    UDT_ERR_REFUSED, UDT_ERR_DROP_SOCKET, UDT_ERR_DROP_ZERO_DST,
	    UDT_ERR_DROP_WINDOW, UDT_ERR_DROP_HS, UDT_ERR_DROP_STATE,
	    UDT_ERR_DROP_DUP, UDT_ERR_ACK_TIMEOUT, UDT_ERR_DROP_STALE };
	size_t i, j, n = sizeof(codes) / sizeof(codes[0]);

	for (i = 0; i < n; i++) {
		T_ASSERT(codes[i] < 0);
		T_ASSERT(strcmp(udt_strerror(codes[i]), "unknown UDT error") != 0);
		for (j = i + 1; j < n; j++) {
			T_ASSERT(codes[i] != codes[j]);
			T_ASSERT(strcmp(udt_strerror(codes[i]),
			    udt_strerror(codes[j])) != 0);
		}
	}
}

static void
test_rejects_unknown_type_long_handshake_and_oversize(void)
{
	uint8_t b[UDT_PKT_MAX + 1];
	struct udt_pkt p;
	size_t len;

	len = captured("handshake", b, sizeof(b));
	T_EQ_U64(len, 64);
	b[64] = 0;
	T_EQ_INT(udt_pkt_decode(b, 65, &p), UDT_ERR_HS_LONG);
	/* control type 9 does not exist */
	memset(b, 0, 32);
	buf_put_be32(b, 0x80090000U);
	T_EQ_INT(udt_pkt_decode(b, 16, &p), UDT_ERR_CTRL_TYPE);
	buf_put_be32(b, 0x80070000U);
	T_EQ_INT(udt_pkt_decode(b, 23, &p), UDT_ERR_DROPREQ_SHORT);
	T_EQ_INT(udt_pkt_decode(b, 24, &p), UDT_OK);
	memset(b, 0, sizeof(b));
	T_EQ_INT(udt_pkt_decode(b, UDT_PKT_MAX, &p), UDT_OK);
	T_EQ_U64(p.data_len, UDT_DATA_MAX);
	T_EQ_INT(udt_pkt_decode(b, UDT_PKT_MAX + 1, &p), UDT_ERR_TOO_LONG);
	/* 0x7FFF keeps its subtype and body */
	buf_put_be32(b, 0xffff1234U);
	T_EQ_INT(udt_pkt_decode(b, 30, &p), UDT_OK);
	T_EQ_U64(p.type, UDT_CTRL_USERDEF);
	T_EQ_U64(p.reserved, 0x1234);
	T_EQ_U64(p.body_len, 14);
}

static void
test_nak_range_entries_are_read_raw(void)
{
	uint8_t b[28];
	struct udt_pkt p;

	memset(b, 0, sizeof(b));
	buf_put_be32(b, 0x80030000U);
	buf_put_be32(b + 16, 0x80000010U);
	buf_put_be32(b + 20, 0x00000020U);
	buf_put_be32(b + 24, 0x00000030U);
	T_EQ_INT(udt_pkt_decode(b, sizeof(b), &p), UDT_OK);
	T_EQ_U64(p.u.nak.n, 3);
	T_EQ_U64(udt_pkt_nak_entry(&p, 0), 0x80000010U);
	T_EQ_U64(udt_pkt_nak_entry(&p, 2), 0x30);
	T_EQ_U64(udt_pkt_nak_entry(&p, 3), 0);
}

static void
test_encoder_refuses_small_buffer_and_bad_ack(void)
{
	uint8_t b[UDT_PKT_MAX];
	struct udt_pkt p;
	size_t n;

	memset(&p, 0, sizeof(p));
	p.is_ctrl = 1;
	p.type = UDT_CTRL_HANDSHAKE;
	T_EQ_INT(udt_pkt_encode(b, 63, &n, &p), UDT_ERR_BUF);
	T_EQ_INT(udt_pkt_encode(b, 64, &n, &p), UDT_OK);
	T_EQ_U64(n, 64);
	p.type = UDT_CTRL_ACK;
	p.u.ack.nfields = 3;
	T_EQ_INT(udt_pkt_encode(b, sizeof(b), &n, &p), UDT_ERR_ARG);
	memset(&p, 0, sizeof(p));
	p.data_len = UDT_DATA_MAX + 1;
	p.data = b;
	T_EQ_INT(udt_pkt_encode(b, sizeof(b), &n, &p), UDT_ERR_BUF);
}

static void
test_random_packets_round_trip(void)
{
	static const uint16_t types[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 0x7fff };
	static const int ackf[] = { 1, 4, 5, 6 };
	uint8_t body[UDT_PKT_MAX], out[UDT_PKT_MAX], out2[UDT_PKT_MAX];
	struct udt_pkt p, q;
	size_t i, k, n, n2;

	for (i = 0; i < 20000; i++) {
		memset(&p, 0, sizeof(p));
		for (k = 0; k < sizeof(body); k++)
			body[k] = (uint8_t)t_rnd(&rng);
		p.ts = (uint32_t)t_rnd(&rng);
		p.dst = (uint32_t)t_rnd(&rng);
		if (t_rnd(&rng) % 3 == 0) {
			p.seq = (uint32_t)t_rnd(&rng) & UDT_SEQ_MASK;
			p.msg = (uint32_t)t_rnd(&rng);
			p.data = body;
			p.data_len = t_rnd(&rng) % (UDT_DATA_MAX + 1);
		} else {
			p.is_ctrl = 1;
			p.type = types[t_rnd(&rng) % 10];
			p.info = (uint32_t)t_rnd(&rng);
			if (p.type == UDT_CTRL_USERDEF)
				p.reserved = (uint16_t)t_rnd(&rng);
			switch (p.type) {
			case UDT_CTRL_HANDSHAKE:
				p.u.hs.version = (uint32_t)t_rnd(&rng);
				p.u.hs.init_seq = (uint32_t)t_rnd(&rng);
				p.u.hs.req_type = (int32_t)t_rnd(&rng);
				p.u.hs.sock_id = (uint32_t)t_rnd(&rng);
				memcpy(p.u.hs.peer_ip, body, 16);
				break;
			case UDT_CTRL_ACK:
				p.u.ack.nfields = ackf[t_rnd(&rng) % 4];
				p.u.ack.seq = (uint32_t)t_rnd(&rng);
				if (p.u.ack.nfields >= 4) {
					p.u.ack.rtt = (uint32_t)t_rnd(&rng);
					p.u.ack.avail = (uint32_t)t_rnd(&rng);
				}
				if (p.u.ack.nfields >= 5)
					p.u.ack.rate = (uint32_t)t_rnd(&rng);
				if (p.u.ack.nfields >= 6)
					p.u.ack.cap = (uint32_t)t_rnd(&rng);
				break;
			case UDT_CTRL_NAK:
				p.u.nak.raw = body;
				p.u.nak.n = t_rnd(&rng) % (UDT_NAK_MAX_ENTRIES + 1);
				break;
			case UDT_CTRL_DROPREQ:
				p.u.drop.first = (uint32_t)t_rnd(&rng);
				p.u.drop.last = (uint32_t)t_rnd(&rng);
				break;
			default:
				p.body = body;
				p.body_len = t_rnd(&rng) % 64;
				break;
			}
		}
		T_EQ_INT(udt_pkt_encode(out, sizeof(out), &n, &p), UDT_OK);
		T_EQ_INT(udt_pkt_decode(out, n, &q), UDT_OK);
		T_EQ_INT(q.is_ctrl, p.is_ctrl);
		T_EQ_U64(q.ts, p.ts);
		T_EQ_U64(q.dst, p.dst);
		if (!p.is_ctrl) {
			T_EQ_U64(q.seq, p.seq);
			T_EQ_U64(q.msg, p.msg);
			T_EQ_U64(q.data_len, p.data_len);
			T_EQ_MEM(q.data, p.data, p.data_len);
		} else {
			T_EQ_U64(q.type, p.type);
			T_EQ_U64(q.info, p.info);
			T_EQ_U64(q.reserved, p.reserved);
			if (p.type == UDT_CTRL_HANDSHAKE) {
				T_EQ_U64(q.u.hs.init_seq, p.u.hs.init_seq);
				T_EQ_INT(q.u.hs.req_type, p.u.hs.req_type);
				T_EQ_U64(q.u.hs.sock_id, p.u.hs.sock_id);
			} else if (p.type == UDT_CTRL_ACK) {
				T_EQ_INT(q.u.ack.nfields, p.u.ack.nfields);
				T_EQ_U64(q.u.ack.seq, p.u.ack.seq);
				T_EQ_U64(q.u.ack.cap, p.u.ack.cap);
			} else if (p.type == UDT_CTRL_NAK) {
				T_EQ_U64(q.u.nak.n, p.u.nak.n);
			} else if (p.type == UDT_CTRL_DROPREQ) {
				T_EQ_U64(q.u.drop.last, p.u.drop.last);
			}
		}
		T_EQ_INT(udt_pkt_encode(out2, sizeof(out2), &n2, &q), UDT_OK);
		T_EQ_U64(n2, n);
		T_EQ_MEM(out2, out, n);
	}
}

static void
test_seq_arithmetic_wraps_at_31_bits(void)
{
	T_EQ_INT(udt_seq_diff(0, UDT_SEQ_MASK), 1);
	T_EQ_INT(udt_seq_diff(UDT_SEQ_MASK, 0), -1);
	T_EQ_INT(udt_seq_diff(5, 5), 0);
	T_EQ_U64(udt_seq_add(UDT_SEQ_MASK, 1), 0);
	T_EQ_U64(udt_seq_add(0, -1), UDT_SEQ_MASK);
	T_EQ_INT(udt_seq_diff(0x3fffffff, 0), 0x3fffffff);
	T_EQ_INT(udt_seq_diff(0x40000000, 0), -0x40000000);
}

int
main(int argc, char **argv)
{
	t_set_suite(argv[0]);
	T_RUN(test_decodes_every_captured_udt_packet_with_its_fields);
	T_RUN(test_every_truncation_gets_its_own_error);
	T_RUN(test_error_codes_are_distinct_and_named);
	T_RUN(test_rejects_unknown_type_long_handshake_and_oversize);
	T_RUN(test_nak_range_entries_are_read_raw);
	T_RUN(test_encoder_refuses_small_buffer_and_bad_ack);
	T_RUN(test_random_packets_round_trip);
	T_RUN(test_seq_arithmetic_wraps_at_31_bits);
	json_decref(capture);
	return t_done();
}
