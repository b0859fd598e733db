/*
 * test_ipc.c — the IPC message codec (round trips, every rejection), the
 * nng layer (request/reply, uid refusal, a server dying under a waiting client)
 * and the bulk channel beside it (ipc_bulk.c).
 */
#define _GNU_SOURCE	/* memfd_create */
#include <sys/mman.h>
#include <sys/epoll.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <poll.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "ipc.h"
#include "ipc_msg.h"
#include "loop.h"
#include "t.h"

static void
fill_status(struct ipc_status *s)
{
	memset(s, 0, sizeof(*s));
	strcpy(s->name, "storaged");
	strcpy(s->version, "0.1.0");
	s->pid = 4242;
	s->uid = 998;
	s->uptime_ms = 123456789012ULL;
	strcpy(s->sandbox, "uid=998 caps=none nnp=1 seccomp=storaged");
	strcpy(s->dir, "/var/lib/peernet");
	s->nlinks = 2;
	strcpy(s->links[0].name, "netd");
	s->links[0].state = IPC_LINK_UP;
	s->links[0].last_ok_ms_ago = 17;
	strcpy(s->links[1].name, "searchd");
	s->links[1].state = IPC_LINK_DOWN;
	s->links[1].last_ok_ms_ago = UINT64_MAX;
}

static void
test_status_round_trip_keeps_every_field(void)
{
	struct ipc_status a, b;
	uint8_t buf[4096];
	long n;

	fill_status(&a);
	n = ipc_status_encode(buf, sizeof(buf), IPC_STATUS, &a);
	T_ASSERT(n > 0);
	T_EQ_INT(ipc_status_decode(buf, (size_t)n, IPC_STATUS, &b), 0);
	T_EQ_STR(b.name, "storaged");
	T_EQ_STR(b.version, "0.1.0");
	T_EQ_U64(b.pid, 4242);
	T_EQ_U64(b.uid, 998);
	T_EQ_U64(b.uptime_ms, 123456789012ULL);
	T_EQ_STR(b.sandbox, a.sandbox);
	T_EQ_STR(b.dir, "/var/lib/peernet");
	T_EQ_INT(b.nlinks, 2);
	T_EQ_STR(b.links[1].name, "searchd");
	T_EQ_INT(b.links[1].state, IPC_LINK_DOWN);
	T_EQ_U64(b.links[1].last_ok_ms_ago, UINT64_MAX);
	T_EQ_U64(b.links[0].last_ok_ms_ago, 17);
}

static void
test_status_random_round_trips(void)
{
	struct ipc_status a, b;
	uint8_t buf[4096];
	long n;
	int i, k;

	for (i = 0; i < 500; i++) {
		memset(&a, 0, sizeof(a));
		for (k = 0; k < (int)randombytes_uniform(15); k++)
			a.name[k] = (char)('a' + randombytes_uniform(26));
		a.pid = randombytes_random();
		a.uid = randombytes_random();
		randombytes_buf(&a.uptime_ms, sizeof(a.uptime_ms));
		a.nlinks = (uint8_t)randombytes_uniform(IPC_MAX_LINKS + 1);
		for (k = 0; k < a.nlinks; k++) {
			a.links[k].state = (uint8_t)randombytes_uniform(3);
			randombytes_buf(&a.links[k].last_ok_ms_ago, 8);
			a.links[k].name[0] = 'x';
		}
		n = ipc_status_encode(buf, sizeof(buf), IPC_STATUS, &a);
		T_ASSERT(n > 0);
		T_EQ_INT(ipc_status_decode(buf, (size_t)n, IPC_STATUS, &b), 0);
		T_EQ_STR(b.name, a.name);
		T_EQ_U64(b.pid, a.pid);
		T_EQ_U64(b.uid, a.uid);
		T_EQ_U64(b.uptime_ms, a.uptime_ms);
		T_EQ_INT(b.nlinks, a.nlinks);
		for (k = 0; k < a.nlinks; k++) {
			T_EQ_INT(b.links[k].state, a.links[k].state);
			T_EQ_U64(b.links[k].last_ok_ms_ago, a.links[k].last_ok_ms_ago);
		}
	}
}

static void
test_status_rejects_every_truncation(void)
{
	struct ipc_status a, b;
	uint8_t buf[4096];
	long n, len;
	int rc;

	fill_status(&a);
	n = ipc_status_encode(buf, sizeof(buf), IPC_STATUS, &a);
	for (len = 0; len < n; len++) {
		rc = ipc_status_decode(buf, (size_t)len, IPC_STATUS, &b);
		if (rc != IPC_DEC_SHORT && rc != IPC_DEC_STRING)
			T_FAIL("truncated to %ld bytes: got %d", len, rc);
	}
}

static void
test_status_rejects_trailing_byte(void)
{
	struct ipc_status a, b;
	uint8_t buf[4096];
	long n;

	fill_status(&a);
	n = ipc_status_encode(buf, sizeof(buf), IPC_STATUS, &a);
	buf[n] = 0;
	T_EQ_INT(ipc_status_decode(buf, (size_t)n + 1, IPC_STATUS, &b), IPC_DEC_TRAILING);
}

static void
test_status_rejects_nul_in_string_and_bad_ranges(void)
{
	struct ipc_status a, b;
	uint8_t buf[4096];
	long n;

	fill_status(&a);
	n = ipc_status_encode(buf, sizeof(buf), IPC_STATUS, &a);
	/* name "storaged" starts at 4 (type, status) + 2 (length). */
	buf[6 + 3] = '\0';
	T_EQ_INT(ipc_status_decode(buf, (size_t)n, IPC_STATUS, &b), IPC_DEC_STRING);

	fill_status(&a);
	a.links[1].state = 3;
	n = ipc_status_encode(buf, sizeof(buf), IPC_STATUS, &a);
	T_EQ_INT(ipc_status_decode(buf, (size_t)n, IPC_STATUS, &b), IPC_DEC_RANGE);

	/* A name longer than the 16-byte field it lands in. */
	n = ipc_empty_encode(buf, sizeof(buf), IPC_STATUS, 0);
	buf[4] = 20;
	buf[5] = 0;
	memset(buf + 6, 'x', 20);
	T_EQ_INT(ipc_status_decode(buf, 26, IPC_STATUS, &b), IPC_DEC_STRING);
}

static void
test_status_rejects_too_many_links(void)
{
	struct ipc_status a, b;
	uint8_t buf[4096];
	long n;
	size_t off;

	fill_status(&a);
	a.nlinks = 0;
	n = ipc_status_encode(buf, sizeof(buf), IPC_STATUS, &a);
	off = (size_t)n - 1;	/* the link count is the last byte */
	T_EQ_INT(buf[off], 0);
	buf[off] = IPC_MAX_LINKS + 1;
	T_EQ_INT(ipc_status_decode(buf, (size_t)n, IPC_STATUS, &b), IPC_DEC_RANGE);
}

static void
test_header_rejects_unknown_type_and_wrong_type(void)
{
	uint8_t buf[16];
	struct ipc_hdr h;
	struct ipc_id id;

	ipc_empty_encode(buf, sizeof(buf), 0, 0);
	T_EQ_INT(ipc_hdr_decode(buf, 4, &h), IPC_DEC_TYPE);
	ipc_empty_encode(buf, sizeof(buf), IPC_TYPE_MAX, 0);
	T_EQ_INT(ipc_hdr_decode(buf, 4, &h), IPC_DEC_TYPE);
	T_EQ_INT(ipc_hdr_decode(buf, 3, &h), IPC_DEC_SHORT);
	ipc_empty_encode(buf, sizeof(buf), IPC_STATUS, 0);
	T_EQ_INT(ipc_id_decode(buf, 4, &id), IPC_DEC_TYPE);
	T_EQ_INT(ipc_empty_decode(buf, 4, IPC_STATUS), 0);
	T_EQ_INT(ipc_empty_decode(buf, 5, IPC_STATUS), IPC_DEC_TRAILING);
}

static void
test_error_reply_round_trip(void)
{
	uint8_t buf[2048];
	char reason[64];
	uint16_t st;
	long n;

	n = ipc_error_encode(buf, sizeof(buf), IPC_ID, IPC_ERR_DENIED, "uid 7 is not allowed");
	T_ASSERT(n > 0);
	T_EQ_INT(ipc_error_decode(buf, (size_t)n, &st, reason, sizeof(reason)), 0);
	T_EQ_INT(st, IPC_ERR_DENIED);
	T_EQ_STR(reason, "uid 7 is not allowed");
	/* A successful reply is not an error reply. */
	ipc_empty_encode(buf, sizeof(buf), IPC_ID, IPC_OK);
	T_EQ_INT(ipc_error_decode(buf, 4, &st, reason, sizeof(reason)), IPC_DEC_RANGE);
	/* An error reply is refused by the success decoders. */
	n = ipc_error_encode(buf, sizeof(buf), IPC_STATUS, IPC_ERR_FAILED, "x");
	T_EQ_INT(ipc_empty_decode(buf, (size_t)n, IPC_STATUS), IPC_DEC_STATUS);
}

static void
test_id_sign_probe_validate_fields(void)
{
	struct ipc_id id, id2;
	struct ipc_sign_rep sr, sr2;
	struct ipc_probe pr, pr2;
	uint8_t buf[256];
	long n;

	memset(&id, 0x11, sizeof(id));
	id.pubkey[0] = 0x02;
	n = ipc_id_encode(buf, sizeof(buf), &id);
	T_EQ_INT(n, 4 + 33 + 32);
	T_EQ_INT(ipc_id_decode(buf, (size_t)n, &id2), 0);
	T_EQ_MEM(id2.node_id, id.node_id, 32);
	buf[4] = 0x04;	/* not a compressed key prefix */
	T_EQ_INT(ipc_id_decode(buf, (size_t)n, &id2), IPC_DEC_RANGE);

	memset(&sr, 0x22, sizeof(sr));
	sr.sig[0] = 31;
	T_EQ_INT(T_TRIP(ipc_sign_rep, buf, &sr, &sr2, n), 0);
	T_EQ_MEM(sr2.sig, sr.sig, 65);
	buf[4] = 35;
	T_EQ_INT(ipc_sign_rep_decode(buf, (size_t)n, &sr2), IPC_DEC_RANGE);

	pr.inet_errno = 1;
	pr.unix_errno = 0;
	T_EQ_INT(T_TRIP(ipc_probe, buf, &pr, &pr2, n), 0);
	T_EQ_INT(pr2.inet_errno, 1);
	pr.inet_errno = -5;
	T_EQ_INT(T_TRIP(ipc_probe, buf, &pr, &pr2, n), IPC_DEC_RANGE);
}

static void
fill_file(struct ipc_file *f)
{
	memset(f, 0, sizeof(*f));
	memset(f->id, 0xa1, sizeof(f->id));
	memset(f->hash, 0xb2, sizeof(f->hash));
	f->owner[0] = 0x02;
	f->size = 5ULL << 32;
	f->type = 3;
	f->format = 14;
	f->date = -5;
	f->block = 7;
	strcpy(f->name, "Пример 例子.txt");
	strcpy(f->folder, "a/b");
	strcpy(f->description, "desc");
	if (ipc_tags_add(&f->tags, 4, "\x00\x00\x00\x00\x63\xb0\xcc\xff", 8) != 0 ||
	    ipc_tags_add(&f->tags, 100, "vinyl", 5) != 0)
		T_FAIL("tags do not fit");
}

/* Every truncation of a valid message must be refused by its decoder. */
#define ALL_TRUNCATIONS_FAIL(buf, n, call) do {				\
	for (size_t _l = 0; _l < (size_t)(n); _l++) {			\
		size_t len = _l;					\
		if ((call) == 0)					\
			T_FAIL("accepted a truncation to %zu of %ld bytes", _l, (long)(n)); \
	}								\
} while (0)

static void
test_storage_messages_round_trip_and_reject_truncation(void)
{
	static uint8_t buf[64 * 1024];
	static struct ipc_file f, g;
	static struct ipc_add_begin ab, ab2;
	static struct ipc_add_result ar, ar2;
	struct ipc_file_list fl;
	struct ipc_data d, d2;
	struct ipc_read rd, rd2;
	struct ipc_ref rf, rf2;
	static struct ipc_mv mv, mv2;
	struct ipc_chain_info ci, ci2;
	static struct ipc_verify_result vr, vr2;
	uint8_t bytes[100];
	size_t off;
	uint32_t v;
	long n;
	int i;

	fill_file(&f);
	n = ipc_file_encode(buf, sizeof(buf), IPC_EV_FILE_ADDED, &f);
	T_EQ_INT(ipc_file_decode(buf, (size_t)n, IPC_EV_FILE_ADDED, &g), 0);
	T_EQ_STR(g.name, f.name);
	T_EQ_U64(g.size, 5ULL << 32);
	T_EQ_INT(g.date, -5);
	T_EQ_MEM(g.hash, f.hash, 32);
	{
		const uint8_t *td;
		size_t toff = 0, tlen;
		uint16_t tt;

		T_EQ_INT(ipc_tags_next(&g.tags, &toff, &tt, &td, &tlen), 1);
		T_EQ_INT(tt, 4);
		T_EQ_U64(tlen, 8);
		T_EQ_MEM(td, "\x00\x00\x00\x00\x63\xb0\xcc\xff", 8);
		T_EQ_INT(ipc_tags_next(&g.tags, &toff, &tt, &td, &tlen), 1);
		T_EQ_INT(tt, 100);
		T_EQ_MEM(td, "vinyl", 5);
		T_EQ_INT(ipc_tags_next(&g.tags, &toff, &tt, &td, &tlen), 0);
	}
	ALL_TRUNCATIONS_FAIL(buf, n, ipc_file_decode(buf, len, IPC_EV_FILE_ADDED, &g));

	n = ipc_file_list_begin(buf, sizeof(buf), IPC_LS, 12);
	off = (size_t)n;
	for (i = 0; i < 3; i++) {
		f.block = (uint64_t)i;
		T_EQ_INT(ipc_file_list_add(buf, sizeof(buf), &off, &f), 0);
	}
	T_EQ_INT(ipc_file_list_decode(buf, off, IPC_LS, &fl), 0);
	T_EQ_U64(fl.total, 12);
	T_EQ_U64(fl.count, 3);
	for (i = 0; i < 3; i++) {
		T_EQ_INT(ipc_file_list_next(&fl, &g), 1);
		T_EQ_U64(g.block, (uint64_t)i);
	}
	T_EQ_INT(ipc_file_list_next(&fl, &g), 0);
	ALL_TRUNCATIONS_FAIL(buf, off, ipc_file_list_decode(buf, len, IPC_LS, &fl));

	memset(bytes, 0x5a, sizeof(bytes));
	d.id = 9; d.offset = 1ULL << 40; d.bytes = bytes; d.len = sizeof(bytes);
	n = ipc_data_encode(buf, sizeof(buf), IPC_ADD_DATA, &d);
	T_EQ_INT(ipc_data_decode(buf, (size_t)n, IPC_ADD_DATA, &d2), 0);
	T_EQ_U64(d2.offset, 1ULL << 40);
	T_EQ_INT(d2.len, 100);
	T_EQ_MEM(d2.bytes, bytes, 100);
	ALL_TRUNCATIONS_FAIL(buf, n, ipc_data_decode(buf, len, IPC_ADD_DATA, &d2));
	buf[4 + 12] = 0xff; buf[4 + 13] = 0xff; buf[4 + 14] = 0xff; buf[4 + 15] = 0x7f;
	T_EQ_INT(ipc_data_decode(buf, (size_t)n, IPC_ADD_DATA, &d2), IPC_DEC_RANGE);

	memset(&ab, 0, sizeof(ab));
	ab.size = 300; ab.type = 0xff; ab.format = 0xffff;
	strcpy(ab.name, "x.bin");
	n = ipc_add_begin_encode(buf, sizeof(buf), &ab);
	T_EQ_INT(ipc_add_begin_decode(buf, (size_t)n, &ab2), 0);
	T_EQ_STR(ab2.name, "x.bin");
	ALL_TRUNCATIONS_FAIL(buf, n, ipc_add_begin_decode(buf, len, &ab2));
	ab.name[0] = '\0';
	n = ipc_add_begin_encode(buf, sizeof(buf), &ab);
	T_EQ_INT(ipc_add_begin_decode(buf, (size_t)n, &ab2), IPC_DEC_RANGE);

	ar.dedup = 1; fill_file(&ar.file);
	n = ipc_add_result_encode(buf, sizeof(buf), &ar);
	T_EQ_INT(ipc_add_result_decode(buf, (size_t)n, &ar2), 0);
	T_EQ_INT(ar2.dedup, 1);
	ALL_TRUNCATIONS_FAIL(buf, n, ipc_add_result_decode(buf, len, &ar2));

	memset(&rd, 7, sizeof(rd)); rd.len = 65536;
	n = ipc_read_encode(buf, sizeof(buf), IPC_CAT, &rd);
	T_EQ_INT(ipc_read_decode(buf, (size_t)n, IPC_CAT, &rd2), 0);
	T_EQ_U64(rd2.offset, rd.offset);
	ALL_TRUNCATIONS_FAIL(buf, n, ipc_read_decode(buf, len, IPC_CAT, &rd2));

	rf.kind = 2; memset(rf.key, 1, 32);
	n = ipc_ref_encode(buf, sizeof(buf), IPC_RM, &rf);
	T_EQ_INT(ipc_ref_decode(buf, (size_t)n, IPC_RM, &rf2), IPC_DEC_RANGE);
	rf.kind = 1;
	n = ipc_ref_encode(buf, sizeof(buf), IPC_RM, &rf);
	T_EQ_INT(ipc_ref_decode(buf, (size_t)n, IPC_RM, &rf2), 0);
	ALL_TRUNCATIONS_FAIL(buf, n, ipc_ref_decode(buf, len, IPC_RM, &rf2));

	memset(&mv, 3, sizeof(mv.id)); strcpy(mv.name, "new name");
	n = ipc_mv_encode(buf, sizeof(buf), &mv);
	T_EQ_INT(ipc_mv_decode(buf, (size_t)n, &mv2), 0);
	T_EQ_STR(mv2.name, "new name");
	ALL_TRUNCATIONS_FAIL(buf, n, ipc_mv_decode(buf, len, &mv2));

	ci.version = 3; ci.height = 9; ci.files = 1000; ci.bytes = 1ULL << 50;
	n = ipc_chain_info_encode(buf, sizeof(buf), IPC_EV_CHAIN, &ci);
	T_EQ_INT(ipc_chain_info_decode(buf, (size_t)n, IPC_EV_CHAIN, &ci2), 0);
	T_EQ_U64(ci2.bytes, 1ULL << 50);
	T_EQ_U64(ci2.height, 9);
	ALL_TRUNCATIONS_FAIL(buf, n, ipc_chain_info_decode(buf, len, IPC_EV_CHAIN, &ci2));

	vr.files = 4; vr.bad = 1; strcpy(vr.report, "abc: content hash mismatch\n");
	n = ipc_verify_result_encode(buf, sizeof(buf), &vr);
	T_EQ_INT(ipc_verify_result_decode(buf, (size_t)n, &vr2), 0);
	T_EQ_STR(vr2.report, vr.report);
	ALL_TRUNCATIONS_FAIL(buf, n, ipc_verify_result_decode(buf, len, &vr2));

	{
		struct ipc_cache_seen cs, cs2;
		struct ipc_cache_fetch cf, cf2;
		struct ipc_cache_block cb, cb2;

		memset(&cs, 0, sizeof(cs));
		cs.owner[0] = 0x03; cs.version = 2; cs.height = 5;
		n = ipc_cache_seen_encode(buf, sizeof(buf), &cs);
		T_EQ_INT(ipc_cache_seen_decode(buf, (size_t)n, &cs2), 0);
		T_EQ_U64(cs2.height, 5);
		ALL_TRUNCATIONS_FAIL(buf, n, ipc_cache_seen_decode(buf, len, &cs2));
		buf[4] = 0x04;
		T_EQ_INT(ipc_cache_seen_decode(buf, (size_t)n, &cs2), IPC_DEC_RANGE);
		cf.status = 1; cf.from = 3; cf.to = 2;
		n = ipc_cache_fetch_encode(buf, sizeof(buf), &cf);
		T_EQ_INT(ipc_cache_fetch_decode(buf, (size_t)n, &cf2), IPC_DEC_RANGE);
		cf.from = 0;
		n = ipc_cache_fetch_encode(buf, sizeof(buf), &cf);
		T_EQ_INT(ipc_cache_fetch_decode(buf, (size_t)n, &cf2), 0);
		T_EQ_U64(cf2.to, 2);
		memset(&cb, 0, sizeof(cb));
		cb.owner[0] = 0x02; cb.number = 4; cb.raw = bytes; cb.len = 50;
		n = ipc_cache_block_encode(buf, sizeof(buf), &cb);
		T_EQ_INT(ipc_cache_block_decode(buf, (size_t)n, &cb2), 0);
		T_EQ_MEM(cb2.raw, bytes, 50);
		ALL_TRUNCATIONS_FAIL(buf, n, ipc_cache_block_decode(buf, len, &cb2));
	}

	n = ipc_u32_encode(buf, sizeof(buf), IPC_ADD_END, 77);
	T_EQ_INT(ipc_u32_decode(buf, (size_t)n, IPC_ADD_END, &v), 0);
	T_EQ_INT(v, 77);
}

/* --- the nng layer ------------------------------------------------------ */

struct srv_thread {
	struct ipc_server	 srv;
	atomic_int		 stop;
	int			 answer;	/* 0: never reply */
	pthread_t		 th;
};

static void
srv_handler(void *arg, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct srv_thread *t = arg;
	struct ipc_status st;
	uint8_t buf[4096];
	long n;

	(void)msg; (void)len;
	if (!t->answer) {
		/* Keep the request unanswered: the client must notice the loss. */
		return;
	}
	fill_status(&st);
	n = ipc_status_encode(buf, sizeof(buf), IPC_STATUS, &st);
	ipc_reply(req, buf, (size_t)n);
}

static void *
srv_run(void *arg)
{
	struct srv_thread *t = arg;
	struct pollfd p = { .fd = t->srv.fd, .events = POLLIN };

	while (!atomic_load(&t->stop)) {
		if (poll(&p, 1, 20) > 0)
			ipc_server_dispatch(&t->srv);
	}
	return NULL;
}

static void *srv_run(void *arg);

/* Like srv_run, but only after 1.5 s: the loop of a busy daemon. */
static void *
srv_run_late(void *arg)
{
	usleep(1500000);
	return srv_run(arg);
}

static char sockpath[108];
static char self_path[4096];

/* The child side of test_client_notices_server_killed_while_waiting. */
static int
serve_silent(const char *path)
{
	static struct srv_thread t;
	uid_t allowed[1] = { geteuid() };
	char err[256];

	t.answer = 0;
	if (ipc_server_open(&t.srv, path, allowed, 1, srv_handler, &t,
	    err, sizeof(err)) != 0)
		return 1;
	srv_run(&t);
	return 0;
}

static void
mk_sockpath(void)
{
	snprintf(sockpath, sizeof(sockpath), "/tmp/peernet-test-ipc.%ld.%u.sock",
	    (long)getpid(), randombytes_random());
}

/* rep, an IPC_STATUS reply, decoded into st and freed; the decoder's rc. */
static int
status_reply(uint8_t *rep, size_t len, struct ipc_status *st)
{
	int rc = ipc_status_decode(rep, len, IPC_STATUS, st);

	free(rep);
	return rc;
}

/* A fresh socket path and a server on it that answers, for uid only. */
static int
srv_start(struct srv_thread *t, uid_t uid)
{
	char err[256];

	mk_sockpath();
	memset(t, 0, sizeof(*t));
	t->answer = 1;
	return ipc_server_open(&t->srv, sockpath, &uid, 1, srv_handler, t, err,
	    sizeof(err));
}

/* One IPC_STATUS call to t's running server, which then stops; ipc_call's. */
static int
srv_status_call(struct srv_thread *t, uint8_t **rep, size_t *len, char *err,
    size_t errlen)
{
	uint8_t req[4];
	int rc;

	ipc_empty_encode(req, sizeof(req), IPC_STATUS, 0);
	rc = ipc_call(sockpath, req, sizeof(req), rep, len, 3000, err, errlen);
	atomic_store(&t->stop, 1);
	pthread_join(t->th, NULL);
	return rc;
}

static void
test_request_reply_over_unix_socket(void)
{
	static struct srv_thread t;
	uid_t allowed[1] = { geteuid() };
	struct ipc_status st;
	char err[256];
	uint8_t *rep;
	size_t len;
	int rc;

	T_EQ_INT(srv_start(&t, allowed[0]), 0);
	pthread_create(&t.th, NULL, srv_run, &t);
	rc = srv_status_call(&t, &rep, &len, err, sizeof(err));
	ipc_server_close(&t.srv);
	if (rc != 0)
		T_FAIL("ipc_call: %s", err);
	T_EQ_INT(status_reply(rep, len, &st), 0);
	T_EQ_U64(st.pid, 4242);
	T_ASSERT(access(sockpath, F_OK) == -1);	/* closed servers remove their socket */
}

static void
test_server_refuses_uid_not_in_allowed_set(void)
{
	static struct srv_thread t;
	uid_t allowed[1] = { geteuid() + 12345 };
	char err[256], reason[128];
	uint8_t *rep;
	uint16_t status;
	size_t len;
	int rc;

	T_EQ_INT(srv_start(&t, allowed[0]), 0);
	pthread_create(&t.th, NULL, srv_run, &t);
	rc = srv_status_call(&t, &rep, &len, err, sizeof(err));
	T_EQ_U64(t.srv.denied, 1);
	ipc_server_close(&t.srv);
	if (rc != 0)
		T_FAIL("ipc_call: %s", err);
	rc = ipc_error_decode(rep, len, &status, reason, sizeof(reason));
	free(rep);
	T_EQ_INT(rc, 0);
	T_EQ_INT(status, IPC_ERR_DENIED);
	T_ASSERT(strstr(reason, "is not allowed") != NULL);
}

/* A server busy for a while (its loop blocked) must not look "lost". */
static void
test_call_waits_for_a_busy_server(void)
{
	static struct srv_thread t;
	uid_t allowed[1] = { geteuid() };
	struct ipc_status st;
	char err[256];
	uint8_t req[4], *rep;
	size_t len;
	int rc;

	T_EQ_INT(srv_start(&t, allowed[0]), 0);
	ipc_empty_encode(req, sizeof(req), IPC_STATUS, 0);
	/* The serving thread starts dispatching only 1.5 s after the request. */
	{
		pthread_t late;
		static struct srv_thread *tp = &t;

		pthread_create(&late, NULL, (void *(*)(void *))srv_run_late, tp);
		rc = ipc_call(sockpath, req, sizeof(req), &rep, &len, 5000, err, sizeof(err));
		atomic_store(&t.stop, 1);
		pthread_join(late, NULL);
	}
	ipc_server_close(&t.srv);
	if (rc != 0)
		T_FAIL("ipc_call: %s", err);
	T_EQ_INT(status_reply(rep, len, &st), 0);
}

static int async_ok, async_fail;

static void
async_cb(void *arg, const uint8_t *rep, size_t len, const char *err)
{
	struct ipc_status st;

	(void)arg;
	if (rep != NULL && ipc_status_decode(rep, len, IPC_STATUS, &st) == 0 &&
	    st.pid == 4242)
		async_ok++;
	else if (rep == NULL && err != NULL)
		async_fail++;
}

/* Many requests in flight from one loop; replies matched by our IDs; timeouts. */
static void
test_async_client_matches_replies_and_times_out(void)
{
	static struct srv_thread t;
	uid_t allowed[1] = { geteuid() };
	struct ipc_client cl;
	struct pollfd pfd;
	uint8_t req[4];
	int i, spins;

	T_EQ_INT(srv_start(&t, allowed[0]), 0);
	pthread_create(&t.th, NULL, srv_run, &t);
	T_EQ_INT(ipc_client_open(&cl, "test", sockpath), 0);
	ipc_empty_encode(req, sizeof(req), IPC_STATUS, 0);
	usleep(100000);		/* the background dial */
	async_ok = async_fail = 0;
	for (i = 0; i < 50; i++)
		T_EQ_INT(ipc_client_send(&cl, req, sizeof(req), 5000, async_cb, NULL, 1000), 0);
	T_EQ_INT(ipc_client_inflight(&cl), 50);
	pfd.fd = cl.fd;
	pfd.events = POLLIN;
	for (spins = 0; spins < 200 && async_ok < 50; spins++)
		if (poll(&pfd, 1, 20) > 0)
			ipc_client_readable(&cl);
	T_EQ_INT(async_ok, 50);
	T_EQ_INT(ipc_client_inflight(&cl), 0);
	/* The server stops answering: the request fails at its deadline. */
	atomic_store(&t.stop, 1);
	pthread_join(t.th, NULL);
	T_EQ_INT(ipc_client_send(&cl, req, sizeof(req), 100, async_cb, NULL, 1000), 0);
	ipc_client_tick(&cl, 1050);
	T_EQ_INT(async_fail, 0);
	ipc_client_tick(&cl, 1100);
	T_EQ_INT(async_fail, 1);
	ipc_client_close(&cl);
	ipc_server_close(&t.srv);
}

static void
test_call_to_missing_server_says_not_running(void)
{
	char err[256];
	uint8_t req[4], *rep;
	size_t len;

	mk_sockpath();
	ipc_empty_encode(req, sizeof(req), IPC_STATUS, 0);
	T_EQ_INT(ipc_call(sockpath, req, sizeof(req), &rep, &len, 1000, err,
	    sizeof(err)), IPC_CALL_NOT_RUNNING);
	T_ASSERT(strstr(err, "not running") != NULL);
}

static void
test_client_notices_server_killed_while_waiting(void)
{
	struct timespec a, b;
	char err[256];
	uint8_t req[4], *rep;
	size_t len;
	pid_t pid;
	int rc, i;
	double secs;

	mk_sockpath();
	/* nng is not fork-safe: the server runs in a fresh exec of this binary. */
	if ((pid = fork()) == 0) {
		execl(self_path, self_path, "--serve-silent", sockpath, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100 && access(sockpath, F_OK) == -1; i++)
		usleep(10000);
	T_ASSERT(access(sockpath, F_OK) == 0);
	if (fork() == 0) {
		usleep(300000);
		kill(pid, SIGKILL);
		_exit(0);
	}
	ipc_empty_encode(req, sizeof(req), IPC_STATUS, 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	rc = ipc_call(sockpath, req, sizeof(req), &rep, &len, 10000, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &b);
	waitpid(pid, NULL, 0);
	while (wait(NULL) > 0)
		;
	unlink(sockpath);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	if (rc != IPC_CALL_LOST)
		T_FAIL("rc %d: %s", rc, err);
	/* Well before the 10 s timeout: the loss is detected, not waited out. */
	if (secs > 5.0)
		T_FAIL("took %.1f s to notice", secs);
}

/* ---- the bulk channel: server and client in one loop -------------------- */

struct bulk_t {
	struct loop		 loop;
	struct ipc_server	 srv;
	struct ipc_client	 cl;
	uint64_t		 served;	/* IPC_DL_DATA requests echoed */
	uint64_t		 on_bulk;	/* ... of which came on the bulk channel */
	int			 done, want;
	int			 ok, fail, bad;
	char			 lasterr[128];
	uint8_t			*sent[32];	/* what each request carried */
	size_t			 sentlen[32];
};

static struct bulk_t bt;

/* Echoes IPC_DL_DATA back (the whole message), anything else: STATUS. */
static void
bulk_handler(void *arg, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct bulk_t *b = arg;

	if (ipc_req_type(req) == IPC_DL_DATA) {
		b->served++;
		b->on_bulk += ipc_req_on_bulk(req);
		ipc_reply(req, msg, len);
		return;
	}
	if (ipc_req_type(req) == IPC_FILE_FD) {
		/* A descriptor of a file whose content is its request's last byte
		 * (an anonymous memfd: no path to clean up). */
		uint8_t rep[32];
		long n = ipc_file_fd_rep_encode(rep, sizeof(rep), 1);
		int fd = memfd_create("peernet-test-fd", MFD_CLOEXEC);

		b->served++;
		/* ipc_reply_fd answers (or fails) req either way: no second reply. */
		if (fd < 0 || write(fd, msg + len - 1, 1) != 1 || n < 0)
			ipc_reply_error(req, IPC_ERR_FAILED, "test server: no descriptor");
		else if (ipc_reply_fd(req, rep, (size_t)n, fd) != 0)
			b->bad++;
		if (fd >= 0)
			close(fd);
		return;
	}
	srv_handler(&(struct srv_thread){ .answer = 1 }, req, msg, len);
}

static void
bulk_on_srv(int fd, uint32_t ev, void *arg)
{
	(void)fd; (void)ev;
	ipc_server_dispatch(arg);
}

static void
bulk_on_cl(int fd, uint32_t ev, void *arg)
{
	(void)fd; (void)ev;
	ipc_client_readable(arg);
}

static void
bulk_tick(void *arg)
{
	struct bulk_t *b = arg;
	static int ticks;

	ipc_client_tick(&b->cl, loop_now_ms());
	if (b->done >= b->want || ++ticks > 500)	/* 5 s at most */
		loop_stop(&b->loop);
}

/* The reply to request i (arg) must be its own bytes. */
static void
bulk_cb(void *arg, const uint8_t *rep, size_t len, const char *err)
{
	size_t i = (size_t)(uintptr_t)arg;

	bt.done++;
	if (rep == NULL) {
		bt.fail++;
		snprintf(bt.lasterr, sizeof(bt.lasterr), "%s", err ? err : "?");
	} else if (len == bt.sentlen[i] && memcmp(rep, bt.sent[i], len) == 0)
		bt.ok++;
	else {
		uint16_t status;

		bt.bad++;
		if (ipc_error_decode(rep, len, &status, bt.lasterr, sizeof(bt.lasterr)) != 0)
			snprintf(bt.lasterr, sizeof(bt.lasterr), "undecodable reply");
	}
}

static void
bulk_run(int want)
{
	struct loop_timer *t;

	bt.want = want;
	t = loop_timer_add(&bt.loop, 10, 10, bulk_tick, &bt);
	loop_run(&bt.loop);
	loop_timer_del(&bt.loop, t);
}

/* The bulk channel's socket: /tmp/peernet-test-<name>.<pid>.sock. */
static char bulkpath[108];

/* Server (nng + bulk at bulkpath when bulk) and client in bt.loop. */
static void
bulk_setup(const char *name, int bulk, uid_t allowed_uid)
{
	static const uint16_t types[] = { IPC_DL_DATA, IPC_FILE_FD };
	uid_t allowed[1] = { allowed_uid };
	char err[256];
	int i;

	for (i = 0; i < 32; i++)
		free(bt.sent[i]);
	memset(&bt, 0, sizeof(bt));
	mk_sockpath();
	snprintf(bulkpath, sizeof(bulkpath), "/tmp/peernet-test-%s.%ld.sock", name,
	    (long)getpid());
	T_EQ_INT(loop_init(&bt.loop), 0);
	T_EQ_INT(ipc_server_open(&bt.srv, sockpath, allowed, 1, bulk_handler, &bt,
	    err, sizeof(err)), 0);
	T_EQ_INT(loop_add_fd(&bt.loop, bt.srv.fd, EPOLLIN, bulk_on_srv, &bt.srv), 0);
	if (bulk)
		T_EQ_INT(ipc_server_bulk_open(&bt.srv, &bt.loop, bulkpath, types, 2,
		    err, sizeof(err)), 0);
	T_EQ_INT(ipc_client_open(&bt.cl, "test", sockpath), 0);
	T_EQ_INT(loop_add_fd(&bt.loop, bt.cl.fd, EPOLLIN, bulk_on_cl, &bt.cl), 0);
	T_EQ_INT(ipc_client_bulk_open(&bt.cl, &bt.loop, bulkpath), 0);
}

static void
bulk_teardown(void)
{
	int i;

	ipc_client_close(&bt.cl);
	ipc_server_close(&bt.srv);
	loop_close(&bt.loop);
	for (i = 0; i < 32; i++) {
		free(bt.sent[i]);
		bt.sent[i] = NULL;
	}
}

/* Request i: an IPC_DL_DATA of len random bytes. */
static void
bulk_send_data(size_t i, size_t len, int *rc)
{
	struct ipc_data d;
	uint8_t *payload = malloc(len);
	long n;

	randombytes_buf(payload, len);
	d.id = (uint32_t)i;
	d.offset = 0;
	d.bytes = payload;
	d.len = (uint32_t)len;
	bt.sent[i] = malloc(len + 64);
	n = ipc_data_encode(bt.sent[i], len + 64, IPC_DL_DATA, &d);
	free(payload);
	bt.sentlen[i] = (size_t)n;
	*rc = ipc_client_send_bulk(&bt.cl, bt.sent[i], (size_t)n, 5000, bulk_cb,
	    (void *)(uintptr_t)i, loop_now_ms());
}

/*
 * 24 requests of up to ~1 MiB in flight at once (far more than a unix
 * socket buffers): every reply arrives whole, matched to its request, on
 * the bulk channel (the nng server saw none of them).
 */
static void
test_bulk_channel_carries_large_messages_in_flight(void)
{
	int i, rc;

	bulk_setup("bulk", 1, geteuid());
	T_ASSERT(ipc_client_bulk_up(&bt.cl));
	for (i = 0; i < 24; i++) {
		bulk_send_data((size_t)i, i == 0 ? 1 : (size_t)IPC_DATA_MAX - 64 - (size_t)i * 977, &rc);
		T_EQ_INT(rc, 0);
	}
	T_EQ_INT(ipc_client_inflight(&bt.cl), 24);
	bulk_run(24);
	T_EQ_INT(bt.ok, 24);
	T_EQ_INT(bt.bad, 0);
	T_EQ_INT(bt.fail, 0);
	T_EQ_U64(bt.served, 24);
	T_EQ_U64(bt.on_bulk, 24);		/* none over nng */
	T_ASSERT(ipc_client_bulk_up(&bt.cl));
	bulk_teardown();
	T_ASSERT(access(bulkpath, F_OK) == -1);	/* closed servers remove their socket */
}

/* What each descriptor reply brought: the byte read from its file. */
static int fd_got[8];

/*
 * Descriptors this process holds on the test server's memfds. Counting
 * every entry of /proc/self/fd is not exact: nng opens and closes its own
 * descriptors in the background.
 */
static int
test_memfds_open(void)
{
	char path[64], link[128];
	int fd, n = 0;
	ssize_t len;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		len = readlink(path, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		if (strncmp(link, "/memfd:peernet-test-fd", 22) == 0)
			n++;
	}
	return n;
}

static void
bulk_fd_cb(void *arg, const uint8_t *rep, size_t len, const char *err)
{
	size_t i = (size_t)(uintptr_t)arg;
	uint64_t size;
	uint8_t c;
	int fd = ipc_client_take_fd(&bt.cl);

	(void)err;
	bt.done++;
	fd_got[i] = -1;
	if (rep != NULL && ipc_file_fd_rep_decode(rep, len, &size) == 0 && size == 1 &&
	    fd >= 0 && pread(fd, &c, 1, 0) == 1)
		fd_got[i] = c;
	if (fd >= 0)
		close(fd);
	/* Taken once: a second take has nothing. */
	if (ipc_client_take_fd(&bt.cl) != -1)
		bt.bad++;
}

/*
 * Descriptor replies between large data replies on the async client: each
 * descriptor reaches its own request's callback (its file holds that
 * request's tag byte), the data replies bring none, and with no bulk
 * channel a descriptor request is refused at once (nng cannot carry one).
 */
static void
test_bulk_reply_brings_descriptor_to_async_client(void)
{
	uint8_t req[8][40];
	long n;
	int i, rc;

	bulk_setup("bulkfd", 1, geteuid());
	for (i = 0; i < 8; i++) {
		struct ipc_file_fd_req q;

		if (i % 2 == 0) {
			bulk_send_data((size_t)i, 200000, &rc);
			T_EQ_INT(rc, 0);
			continue;
		}
		memset(&q, 0, sizeof(q));
		q.hash[31] = (uint8_t)(0x40 + i);
		n = ipc_file_fd_req_encode(req[i], sizeof(req[i]), &q);
		T_ASSERT(n > 0);
		T_EQ_INT(ipc_client_send_bulk_fd(&bt.cl, req[i], (size_t)n, 5000,
		    bulk_fd_cb, (void *)(uintptr_t)i, loop_now_ms()), 0);
	}
	bulk_run(8);
	T_EQ_INT(bt.ok, 4);		/* the data replies, whole */
	T_EQ_INT(bt.bad, 0);
	T_EQ_INT(bt.fail, 0);
	for (i = 1; i < 8; i += 2)
		T_EQ_INT(fd_got[i], 0x40 + i);
	/* Every one was taken and closed by its callback; the server
	 * closed its copies once they left. */
	T_EQ_INT(test_memfds_open(), 0);
	bulk_teardown();
	T_EQ_INT(test_memfds_open(), 0);

	bulk_setup("bulkfd-none", 0, geteuid());
	T_ASSERT(!ipc_client_bulk_up(&bt.cl));
	T_EQ_INT(ipc_client_send_bulk_fd(&bt.cl, req[1], 33, 5000, bulk_fd_cb,
	    (void *)(uintptr_t)1, loop_now_ms()), -1);
	T_EQ_INT(ipc_client_inflight(&bt.cl), 0);
	/*
	 * One request over nng before closing: a client closed while nng's
	 * background dial is still negotiating its pipe left that pipe and the
	 * listener's objects unfreed at exit (LeakSanitizer, 7 runs in 12).
	 */
	bulk_send_data(0, 1000, &rc);
	T_EQ_INT(rc, 0);
	bulk_run(1);
	T_EQ_INT(bt.ok, 1);
	bulk_teardown();
}

/* A type the daemon did not list is refused on the channel, saying so. */
static void
test_bulk_channel_refuses_unlisted_types(void)
{
	uint8_t req[4];

	bulk_setup("bulk", 1, geteuid());
	ipc_empty_encode(req, sizeof(req), IPC_STATUS, 0);
	bt.sent[0] = malloc(4);
	memcpy(bt.sent[0], req, 4);
	bt.sentlen[0] = 4;
	T_EQ_INT(ipc_client_send_bulk(&bt.cl, req, 4, 5000, bulk_cb, (void *)0,
	    loop_now_ms()), 0);
	bulk_run(1);
	T_EQ_INT(bt.bad, 1);
	T_ASSERT(strstr(bt.lasterr, "not served on the bulk channel") != NULL);
	T_EQ_U64(bt.served, 0);
	bulk_teardown();
}

/* A uid the server does not allow: the connection is dropped at once, the
 * request fails (not at its deadline), the refusal is counted. */
static void
test_bulk_channel_refuses_uid_not_allowed(void)
{
	uint64_t t0;
	int rc;

	bulk_setup("bulk", 1, geteuid() + 12345);
	bulk_send_data(0, 1000, &rc);
	T_EQ_INT(rc, 0);
	t0 = loop_now_ms();
	bulk_run(1);
	T_EQ_INT(bt.fail, 1);
	T_EQ_INT(bt.ok, 0);
	T_ASSERT(loop_now_ms() - t0 < 4000);
	T_EQ_U64(bt.srv.denied, 1);
	T_ASSERT(!ipc_client_bulk_up(&bt.cl));
	bulk_teardown();
}

/* No bulk channel (an older storaged, or not up yet): requests go over nng. */
static void
test_bulk_send_falls_back_to_nng(void)
{
	int rc;

	static const uint16_t types[] = { IPC_DL_DATA };
	char err[256];

	bulk_setup("bulk-late", 0, geteuid());
	T_ASSERT(!ipc_client_bulk_up(&bt.cl));
	usleep(100000);		/* nng's background dial */
	bulk_send_data(0, 300000, &rc);
	T_EQ_INT(rc, 0);
	/*
	 * The channel appears while that request is in flight over nng: the
	 * next one must not switch to it (two sockets keep no order between
	 * them, and a download's chunks must stay in order).
	 */
	T_EQ_INT(ipc_server_bulk_open(&bt.srv, &bt.loop, bulkpath, types, 1, err,
	    sizeof(err)), 0);
	bulk_send_data(1, 300000, &rc);
	T_EQ_INT(rc, 0);
	T_ASSERT(!ipc_client_bulk_up(&bt.cl));
	bulk_run(2);
	T_EQ_INT(bt.ok, 2);
	T_EQ_U64(bt.served, 2);
	T_EQ_U64(bt.on_bulk, 0);	/* served, by the nng socket */
	/* Nothing in flight any more: the next request (after the 1 s between
	 * connection attempts) connects and uses it. */
	usleep(1100000);
	bulk_send_data(2, 300000, &rc);
	T_EQ_INT(rc, 0);
	T_ASSERT(ipc_client_bulk_up(&bt.cl));
	bulk_run(3);
	T_EQ_INT(bt.ok, 3);
	T_EQ_U64(bt.on_bulk, 1);
	bulk_teardown();
}

/* The server goes away with requests in flight: they fail at once. */
static void
test_bulk_requests_fail_when_the_channel_closes(void)
{
	int rc, i;

	bulk_setup("bulk", 1, geteuid());
	/* The server is closed before its loop ever reads them. */
	for (i = 0; i < 3; i++) {
		bulk_send_data((size_t)i, 500000, &rc);
		T_EQ_INT(rc, 0);
	}
	loop_del_fd(&bt.loop, bt.srv.fd);
	ipc_server_close(&bt.srv);
	bulk_run(3);
	T_EQ_INT(bt.fail, 3);
	T_ASSERT(strstr(bt.lasterr, "bulk channel") != NULL);
	T_ASSERT(!ipc_client_bulk_up(&bt.cl));
	ipc_client_close(&bt.cl);
	loop_close(&bt.loop);
	for (i = 0; i < 32; i++) {
		free(bt.sent[i]);
		bt.sent[i] = NULL;
	}
}

/*
 * A send finds the channel broken (the server went away before reading):
 * that request falls back to nng, and the requests already in flight on
 * the channel fail at the next tick, not inside the send, whose caller may
 * still use what their callbacks free (netd sends a download's chunk from
 * its session: a callback ending the session freed the chunk being sent).
 */
static void
test_bulk_send_on_broken_channel_defers_the_other_failures(void)
{
	int rc;

	bulk_setup("bulk-broken", 1, geteuid());
	bulk_send_data(0, 1000, &rc);
	T_EQ_INT(rc, 0);
	ipc_server_bulk_close(&bt.srv);		/* never accepted: reset */
	bulk_send_data(1, 300000, &rc);
	T_EQ_INT(rc, 0);			/* over nng instead */
	T_EQ_INT(bt.done, 0);			/* no callback inside the send */
	T_ASSERT(!ipc_client_bulk_up(&bt.cl));
	T_EQ_INT(ipc_client_inflight(&bt.cl), 2);
	bulk_run(2);
	T_EQ_INT(bt.fail, 1);
	T_EQ_STR(bt.lasterr, "the bulk channel closed");
	T_EQ_INT(bt.ok, 1);			/* request 1, whole */
	T_EQ_U64(bt.on_bulk, 0);
	bulk_teardown();
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--serve-silent") == 0)
		return serve_silent(argv[2]);
	if (realpath("/proc/self/exe", self_path) == NULL)
		return 1;
	if (t_suite_crypto(argv[0]) != 0)
		return 1;
	T_RUN(test_status_round_trip_keeps_every_field);
	T_RUN(test_status_random_round_trips);
	T_RUN(test_status_rejects_every_truncation);
	T_RUN(test_status_rejects_trailing_byte);
	T_RUN(test_status_rejects_nul_in_string_and_bad_ranges);
	T_RUN(test_status_rejects_too_many_links);
	T_RUN(test_header_rejects_unknown_type_and_wrong_type);
	T_RUN(test_error_reply_round_trip);
	T_RUN(test_id_sign_probe_validate_fields);
	T_RUN(test_storage_messages_round_trip_and_reject_truncation);
	T_RUN(test_request_reply_over_unix_socket);
	T_RUN(test_server_refuses_uid_not_in_allowed_set);
	T_RUN(test_call_waits_for_a_busy_server);
	T_RUN(test_async_client_matches_replies_and_times_out);
	T_RUN(test_call_to_missing_server_says_not_running);
	T_RUN(test_client_notices_server_killed_while_waiting);
	T_RUN(test_bulk_channel_carries_large_messages_in_flight);
	T_RUN(test_bulk_channel_refuses_unlisted_types);
	T_RUN(test_bulk_reply_brings_descriptor_to_async_client);
	T_RUN(test_bulk_channel_refuses_uid_not_allowed);
	T_RUN(test_bulk_send_falls_back_to_nng);
	T_RUN(test_bulk_requests_fail_when_the_channel_closes);
	T_RUN(test_bulk_send_on_broken_channel_defers_the_other_failures);
	nng_fini();
	return t_done();
}
