/*
 * test_ipc_web.c — the web API's storaged requests (ipc_msg_web.h),
 * decoded as if an attacker wrote them: round trips keep every field,
 * every truncation and a trailing byte are refused, counts past their
 * bounds (and counts that promise more than the message holds) are refused
 * before anything is read, and each decoder refuses another type and an
 * error reply.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "ipc_msg.h"
#include "t.h"

static uint8_t buf[IPC_MSG_MAX];

/* Every proper prefix of the message in buf fails; one extra byte fails too. */
#define T_PREFIXES_AND_TRAILING_FAIL(n, dec) \
	T_TRUNCATIONS_FAIL(buf, n, dec, IPC_DEC_TRAILING)

static struct ipc_file pfiles[IPC_PUBLISH_MAX];
static struct ipc_publish pq = { .files = pfiles };
static struct ipc_publish_result pr;
static struct ipc_wh_result whr;
static struct ipc_append ap;
static struct ipc_profile_del pd;
static struct ipc_wipe wp;
static struct ipc_peer_profile_req ppq;
static struct ipc_peer_profile pp;

static int dec_publish(const uint8_t *p, size_t l) { return ipc_publish_decode(p, l, &pq); }
static int dec_publish_res(const uint8_t *p, size_t l) { return ipc_publish_result_decode(p, l, &pr); }
static int dec_wh_result(const uint8_t *p, size_t l) { return ipc_wh_result_decode(p, l, &whr); }
static int dec_append(const uint8_t *p, size_t l) { return ipc_append_decode(p, l, &ap); }
static int dec_profile_del(const uint8_t *p, size_t l) { return ipc_profile_del_decode(p, l, &pd); }
static int dec_wipe(const uint8_t *p, size_t l) { return ipc_wipe_decode(p, l, &wp); }
static int dec_peer_req(const uint8_t *p, size_t l) { return ipc_peer_profile_req_decode(p, l, &ppq); }
static int dec_peer(const uint8_t *p, size_t l) { return ipc_peer_profile_decode(p, l, &pp); }

static void
test_wh_result_round_trip(void)
{
	struct ipc_wh_result a;
	long n;

	memset(&a, 0, sizeof(a));
	a.dedup = 1;
	memset(a.hash, 0xab, 32);
	a.size = 20000000;
	n = ipc_wh_result_encode(buf, sizeof(buf), &a);
	T_EQ_INT(n, IPC_HDR_LEN + 41);
	T_EQ_INT(dec_wh_result(buf, (size_t)n), 0);
	T_EQ_INT(whr.dedup, 1);
	T_EQ_MEM(whr.hash, a.hash, 32);
	T_EQ_U64(whr.size, 20000000);
	T_PREFIXES_AND_TRAILING_FAIL(n, dec_wh_result);
	buf[IPC_HDR_LEN] = 2;	/* dedup is a flag */
	T_EQ_INT(dec_wh_result(buf, (size_t)n), IPC_DEC_RANGE);
}

static void
test_publish_round_trip_keeps_files(void)
{
	static struct ipc_file f[3];
	struct ipc_publish a = { .replace = 1, .count = 3, .files = f };
	uint8_t date[8];
	long n;
	int i;

	memset(f, 0, sizeof(f));
	for (i = 0; i < 3; i++) {
		memset(f[i].id, i + 1, 16);
		memset(f[i].hash, 0x10 + i, 32);
		f[i].type = (uint8_t)i;
		f[i].format = (uint16_t)(100 + i);
		snprintf(f[i].name, sizeof(f[i].name), "file %d", i);
		snprintf(f[i].folder, sizeof(f[i].folder), "dir");
	}
	buf_put_le64(date, 1630076353);
	T_EQ_INT(ipc_tags_add(&f[1].tags, 4, date, 8), 0);
	T_EQ_INT(ipc_tags_add(&f[1].tags, 100, "\x01\x02\x03", 3), 0);
	n = ipc_publish_encode(buf, sizeof(buf), &a);
	T_ASSERT(n > 0);
	T_EQ_INT(dec_publish(buf, (size_t)n), 0);
	T_EQ_INT(pq.replace, 1);
	T_EQ_INT(pq.count, 3);
	T_EQ_STR(pfiles[2].name, "file 2");
	T_EQ_STR(pfiles[0].folder, "dir");
	T_EQ_INT(pfiles[2].format, 102);
	T_EQ_MEM(pfiles[1].hash, f[1].hash, 32);
	T_EQ_INT(pfiles[1].tags.len, f[1].tags.len);
	T_EQ_MEM(pfiles[1].tags.raw, f[1].tags.raw, f[1].tags.len);
	T_PREFIXES_AND_TRAILING_FAIL(n, dec_publish);
}

static void
test_publish_refuses_bad_counts_and_flags(void)
{
	static struct ipc_file f[1];
	struct ipc_publish a = { .replace = 0, .count = 1, .files = f };
	long n;

	memset(f, 0, sizeof(f));
	n = ipc_publish_encode(buf, sizeof(buf), &a);
	T_EQ_INT(dec_publish(buf, (size_t)n), 0);
	/* replace is a flag */
	buf[IPC_HDR_LEN] = 2;
	T_EQ_INT(dec_publish(buf, (size_t)n), IPC_DEC_RANGE);
	buf[IPC_HDR_LEN] = 0;
	/* no file, or more than the caller's array holds: refused before reading */
	buf_put_le16(buf + IPC_HDR_LEN + 1, 0);
	T_EQ_INT(dec_publish(buf, (size_t)n), IPC_DEC_RANGE);
	buf_put_le16(buf + IPC_HDR_LEN + 1, IPC_PUBLISH_MAX + 1);
	T_EQ_INT(dec_publish(buf, (size_t)n), IPC_DEC_RANGE);
	/* a count promising more files than the message holds */
	buf_put_le16(buf + IPC_HDR_LEN + 1, 2);
	T_EQ_INT(dec_publish(buf, (size_t)n), IPC_DEC_SHORT);
	/* the encoder refuses too many */
	a.count = IPC_PUBLISH_MAX + 1;
	T_EQ_INT(ipc_publish_encode(buf, sizeof(buf), &a), -1);
}

static void
test_publish_result_round_trip_and_index_bound(void)
{
	struct ipc_publish_result a = { IPC_PUBLISH_NOT_IN_WH, 7 };
	long n;

	n = ipc_publish_result_encode(buf, sizeof(buf), &a);
	T_EQ_INT(dec_publish_res(buf, (size_t)n), 0);
	T_EQ_INT(pr.status, 5);
	T_EQ_INT(pr.index, 7);
	T_PREFIXES_AND_TRAILING_FAIL(n, dec_publish_res);
	buf_put_le16(buf + IPC_HDR_LEN + 1, IPC_PUBLISH_MAX);
	T_EQ_INT(dec_publish_res(buf, (size_t)n), IPC_DEC_RANGE);
}

static void
test_append_round_trip_and_lying_lengths(void)
{
	static struct ipc_append a;
	long n;

	memset(&a, 0, sizeof(a));
	a.count = 2;
	a.recs[0].type = 0;
	a.recs[0].data = (const uint8_t *)"\x02\x00web";
	a.recs[0].len = 5;
	a.recs[1].type = 2;
	a.recs[1].data = (const uint8_t *)"";
	a.recs[1].len = 0;
	n = ipc_append_encode(buf, sizeof(buf), &a);
	T_EQ_INT(n, IPC_HDR_LEN + 2 + 5 + 5 + 5);
	T_EQ_INT(dec_append(buf, (size_t)n), 0);
	T_EQ_INT(ap.count, 2);
	T_EQ_INT(ap.recs[0].len, 5);
	T_EQ_MEM(ap.recs[0].data, "\x02\x00web", 5);
	T_EQ_INT(ap.recs[1].type, 2);
	T_EQ_INT(ap.recs[1].len, 0);
	T_PREFIXES_AND_TRAILING_FAIL(n, dec_append);
	/* a record length past the message, and one past any message */
	buf_put_le32(buf + IPC_HDR_LEN + 3, 6);
	T_EQ_INT(dec_append(buf, (size_t)n), IPC_DEC_SHORT);
	buf_put_le32(buf + IPC_HDR_LEN + 3, 0xffffffffu);
	T_EQ_INT(dec_append(buf, (size_t)n), IPC_DEC_RANGE);
	buf_put_le32(buf + IPC_HDR_LEN + 3, 5);
	buf_put_le16(buf + IPC_HDR_LEN, 0);
	T_EQ_INT(dec_append(buf, (size_t)n), IPC_DEC_RANGE);
	buf_put_le16(buf + IPC_HDR_LEN, IPC_APPEND_MAX + 1);
	T_EQ_INT(dec_append(buf, (size_t)n), IPC_DEC_RANGE);
}

static void
test_profile_del_round_trip_and_bounds(void)
{
	struct ipc_profile_del a;
	long n;

	memset(&a, 0, sizeof(a));
	a.count = 3;
	a.fields[0] = 1;
	a.fields[1] = 6;
	a.fields[2] = 0xffff;
	n = ipc_profile_del_encode(buf, sizeof(buf), &a);
	T_EQ_INT(n, IPC_HDR_LEN + 2 + 6);
	T_EQ_INT(dec_profile_del(buf, (size_t)n), 0);
	T_EQ_INT(pd.count, 3);
	T_EQ_INT(pd.fields[2], 0xffff);
	T_PREFIXES_AND_TRAILING_FAIL(n, dec_profile_del);
	buf_put_le16(buf + IPC_HDR_LEN, IPC_PROFILE_DEL_MAX + 1);
	T_EQ_INT(dec_profile_del(buf, (size_t)n), IPC_DEC_RANGE);
	buf_put_le16(buf + IPC_HDR_LEN, 0);
	T_EQ_INT(dec_profile_del(buf, (size_t)n), IPC_DEC_RANGE);
}

static void
test_wipe_round_trip_and_kind(void)
{
	struct ipc_wipe a;
	long n;

	a.kind = IPC_WIPE_ACCOUNT;
	memset(a.key, 0x5a, 32);
	n = ipc_wipe_encode(buf, sizeof(buf), &a);
	T_EQ_INT(n, IPC_HDR_LEN + 33);
	T_EQ_INT(dec_wipe(buf, (size_t)n), 0);
	T_EQ_INT(wp.kind, IPC_WIPE_ACCOUNT);
	T_EQ_MEM(wp.key, a.key, 32);
	T_PREFIXES_AND_TRAILING_FAIL(n, dec_wipe);
	buf[IPC_HDR_LEN] = 2;
	T_EQ_INT(dec_wipe(buf, (size_t)n), IPC_DEC_RANGE);
}

static void
test_peer_profile_round_trip_and_bounds(void)
{
	static struct ipc_peer_profile a;
	struct ipc_peer_profile_req q;
	long n;

	memset(&q, 0, sizeof(q));
	q.owner[0] = 3;
	n = ipc_peer_profile_req_encode(buf, sizeof(buf), &q);
	T_EQ_INT(dec_peer_req(buf, (size_t)n), 0);
	T_PREFIXES_AND_TRAILING_FAIL(n, dec_peer_req);
	buf[IPC_HDR_LEN] = 4;	/* not a compressed public key */
	T_EQ_INT(dec_peer_req(buf, (size_t)n), IPC_DEC_RANGE);

	memset(&a, 0, sizeof(a));
	a.cached = 1;
	a.count = 2;
	a.fields[0].field = 0;
	a.fields[0].data = (const uint8_t *)"Bob";
	a.fields[0].len = 3;
	a.fields[1].field = 6;
	a.fields[1].data = (const uint8_t *)"\x89PNG";
	a.fields[1].len = 4;
	n = ipc_peer_profile_encode(buf, sizeof(buf), &a);
	T_EQ_INT(n, IPC_HDR_LEN + 3 + 4 + 3 + 4 + 4);
	T_EQ_INT(dec_peer(buf, (size_t)n), 0);
	T_EQ_INT(pp.count, 2);
	T_EQ_MEM(pp.fields[0].data, "Bob", 3);
	T_EQ_INT(pp.fields[1].field, 6);
	T_PREFIXES_AND_TRAILING_FAIL(n, dec_peer);
	/* a value longer than allowed, a count past the bound, fields of nothing cached */
	buf_put_le16(buf + IPC_HDR_LEN + 5, IPC_PEER_VALUE_MAX + 1);
	T_EQ_INT(dec_peer(buf, (size_t)n), IPC_DEC_RANGE);
	buf_put_le16(buf + IPC_HDR_LEN + 5, 3);
	buf_put_le16(buf + IPC_HDR_LEN + 1, IPC_PEER_PROFILE_MAX + 1);
	T_EQ_INT(dec_peer(buf, (size_t)n), IPC_DEC_RANGE);
	buf_put_le16(buf + IPC_HDR_LEN + 1, 2);
	buf[IPC_HDR_LEN] = 0;
	T_EQ_INT(dec_peer(buf, (size_t)n), IPC_DEC_RANGE);
	a.fields[0].len = IPC_PEER_VALUE_MAX + 1;
	T_EQ_INT(ipc_peer_profile_encode(buf, sizeof(buf), &a), -1);
}

static void
test_decoders_refuse_another_type_and_error_replies(void)
{
	struct ipc_wipe a;
	long n;

	memset(&a, 0, sizeof(a));
	n = ipc_wipe_encode(buf, sizeof(buf), &a);
	buf_put_le16(buf, IPC_RM);	/* same shape as ipc_ref: still another type */
	T_EQ_INT(dec_wipe(buf, (size_t)n), IPC_DEC_TYPE);
	T_EQ_INT(dec_profile_del(buf, (size_t)n), IPC_DEC_TYPE);
	buf_put_le16(buf, IPC_WIPE);
	buf_put_le16(buf + 2, IPC_ERR_FAILED);
	T_EQ_INT(dec_wipe(buf, (size_t)n), IPC_DEC_STATUS);
	n = ipc_error_encode(buf, sizeof(buf), IPC_PUBLISH, IPC_ERR_FAILED, "no");
	T_EQ_INT(dec_publish_res(buf, (size_t)n), IPC_DEC_STATUS);
	T_EQ_STR(ipc_type_name(IPC_WH_END), "warehouse-end");
	T_EQ_STR(ipc_type_name(IPC_PEER_PROFILE), "peer-profile");
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_wh_result_round_trip);
	T_RUN(test_publish_round_trip_keeps_files);
	T_RUN(test_publish_refuses_bad_counts_and_flags);
	T_RUN(test_publish_result_round_trip_and_index_bound);
	T_RUN(test_append_round_trip_and_lying_lengths);
	T_RUN(test_profile_del_round_trip_and_bounds);
	T_RUN(test_wipe_round_trip_and_kind);
	T_RUN(test_peer_profile_round_trip_and_bounds);
	T_RUN(test_decoders_refuse_another_type_and_error_replies);
	return t_done();
}
