/*
 * ctl_xfer.c — file transfers besides `get`:
 *
 *   transfers [--json] [NUMBER]	netd's sessions (IPC_TRANSFERS): number, role,
 *					state, peer, hash, bytes done/total, rate, ETA
 *   pause|resume|cancel NUMBER	IPC_XFER_CTL; a paused download keeps its
 *					verified prefix in storaged, cancel drops it
 *   probe NODEID HASH		a download into memory only (IPC_PROBE): netd
 *					hashes the bytes and drops them; speed and
 *					whether the hash matched (the reference's "probe
 *					file transfer" compares with a local copy)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "hex.h"
#include "ipc.h"

#define XC_POLL_MS	200
#define XC_STALL_MS	120000

static uint8_t xc_buf[256];

static const char *
xc_role(const struct ipc_xfer_info *x)
{
	if (x->flags & IPC_XFER_F_PROBE)
		return "probe";
	return x->role == IPC_XFER_DOWNLOAD ? "download" : "upload";
}

/* Seconds left at the current rate; -1 when unknown. */
static long long
xc_eta(const struct ipc_xfer_info *x)
{
	if (x->state != IPC_XFER_RUNNING || x->rate == 0 || x->total < x->done)
		return x->state == IPC_XFER_DONE ? 0 : -1;
	return (long long)((x->total - x->done + x->rate - 1) / x->rate);
}

static json_t *
xc_json(const struct ipc_xfer_info *x)
{
	char peer[65], hash[65];
	long long eta = xc_eta(x);
	json_t *o;

	hex_encode(peer, x->node_id, 32);
	hex_encode(hash, x->hash, 32);
	o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "number", (json_int_t)x->number, "role", xc_role(x),
	    "state", ipc_xfer_state_name(x->state), "peer", peer, "hash", hash,
	    "offset", (json_int_t)x->offset, "done", (json_int_t)x->done,
	    "total", (json_int_t)x->total, "rate", (json_int_t)x->rate,
	    "elapsed_ms", (json_int_t)x->elapsed_ms,
	    "bad_fragments", (json_int_t)x->bad_fragments,
	    "restarts", (json_int_t)x->restarts);
	json_object_set_new(o, "eta_s", eta >= 0 ? json_integer(eta) : json_null());
	/* "fragments": each fragment checked against the sharer's merkle leaves */
	json_object_set_new(o, "verified", json_string(x->flags & IPC_XFER_F_FRAGMENTS ?
	    "fragments" : "file"));
	if (x->flags & IPC_XFER_F_PROBE)
		json_object_set_new(o, "hash_ok", json_boolean(x->flags & IPC_XFER_F_HASH_OK));
	json_object_set_new(o, "error", x->error[0] ? ctl_jstr(x->error) : json_null());
	return o;
}

/* netd's list (number 0: all) into *rep / *l; 0 or -1. */
static int
xc_list(struct ctl *c, uint32_t number, uint8_t **rep, struct ipc_xfer_list *l)
{
	size_t replen;
	long n;
	int rc;

	n = ipc_u32_encode(xc_buf, sizeof(xc_buf), IPC_TRANSFERS, number);
	if (ctl_call(c, "netd", xc_buf, (size_t)n, rep, &replen, 0) == -1)
		return -1;
	if ((rc = ipc_xfer_list_decode(*rep, replen, l)) != 0) {
		ctl_err("malformed transfers reply: %s", ipc_decode_strerror(rc));
		free(*rep);
		return -1;
	}
	return 0;
}

int
ctl_transfers(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	struct ipc_xfer_list l;
	struct ipc_xfer_info x;
	uint32_t number = 0;
	uint8_t *rep;
	json_t *arr;
	char peer[17], hash[17], d[32], t[32], r[32], eta[32];
	long long e;
	int i, rc, any = 0;

	if ((i = ctl_verb_opts(c, v, argc, argv)) < 0)
		return i == -2 ? 0 : 2;
	if (i < argc) {
		char *end;
		unsigned long u = strtoul(argv[i], &end, 10);

		if (*end != '\0' || u == 0 || u > UINT32_MAX || i + 1 < argc) {
			ctl_err("transfers: '%s' is not a transfer number", argv[i]);
			return 2;
		}
		number = (uint32_t)u;
	}
	if (xc_list(c, number, &rep, &l) != 0)
		return 1;
	/* A missing transfer is an error, not an empty table. */
	if (number != 0) {
		struct ipc_xfer_list l2 = l;

		while ((rc = ipc_xfer_list_next(&l2, &x)) == 1 && x.number != number)
			;
		if (rc != 1) {
			free(rep);
			ctl_err("transfers: no transfer %u (netd lists running ones and "
			    "those that ended in the last 10 minutes)", number);
			return 1;
		}
	}
	arr = json_array();
	if (!c->json)
		printf("%-6s %-8s %-8s %-16s %-16s %21s %6s %12s %8s\n", "NUMBER", "ROLE",
		    "STATE", "PEER", "HASH", "DONE/TOTAL", "%", "RATE", "ETA");
	while ((rc = ipc_xfer_list_next(&l, &x)) == 1) {
		any = 1;
		if (c->json) {
			json_array_append_new(arr, xc_json(&x));
			continue;
		}
		hex_encode(peer, x.node_id, 8);
		hex_encode(hash, x.hash, 8);
		ctl_human(d, sizeof(d), (double)x.done);
		ctl_human(t, sizeof(t), (double)x.total);
		ctl_human(r, sizeof(r), (double)x.rate);
		e = xc_eta(&x);
		if (e < 0)
			snprintf(eta, sizeof(eta), "-");
		else
			ctl_fmt_duration(eta, sizeof(eta), (uint64_t)e * 1000);
		printf("%-6u %-8s %-8s %-16s %-16s %10s/%-10s %5llu%% %10s/s %8s\n",
		    x.number, xc_role(&x), ipc_xfer_state_name(x.state), peer, hash, d, t,
		    x.total ? (unsigned long long)(x.done * 100 / x.total) : 0ULL, r, eta);
		if (x.error[0] && x.state == IPC_XFER_FAILED)
			printf("       error: %s\n", TS(x.error));
	}
	free(rep);
	if (rc != 0) {
		json_decref(arr);
		ctl_err("transfers: malformed entry in netd's reply");
		return 1;
	}
	if (c->json)
		ctl_json_print(arr);
	else {
		json_decref(arr);
		if (!any)
			printf("(no transfers)\n");
	}
	return 0;
}

static int	xc_poll(struct ctl *c, uint32_t number, struct ipc_xfer_info *x);

static int
xc_op(struct ctl *c, const struct ctl_verb *v, uint8_t op, int argc, char **argv)
{
	struct ipc_xfer_ctl q;
	struct ipc_xfer_info x;
	unsigned long u;
	uint8_t *rep;
	size_t replen;
	char *end;
	long n;
	int i, rc = 0;

	if ((i = ctl_verb_opts(c, v, argc, argv)) < 0)
		return i == -2 ? 0 : 2;
	if (i + 1 != argc) {
		ctl_err("%s: one transfer number is required", v->name);
		ctl_verb_usage(v, 1);
		return 2;
	}
	u = strtoul(argv[i], &end, 10);
	if (*end != '\0' || u == 0 || u > UINT32_MAX) {
		ctl_err("%s: '%s' is not a transfer number", v->name, argv[i]);
		return 2;
	}
	q.number = (uint32_t)u;
	q.op = op;
	/*
	 * pause and resume are idempotent alike: asking for the state a
	 * transfer is already in is done (netd accepts a second pause but
	 * refused a second resume).
	 */
	if (op != IPC_XFER_CANCEL && (rc = xc_poll(c, q.number, &x)) == 1 &&
	    ((op == IPC_XFER_PAUSE && x.state == IPC_XFER_PAUSED) ||
	    (op == IPC_XFER_RESUME && x.role == IPC_XFER_DOWNLOAD &&
	    (x.state == IPC_XFER_RUNNING || x.state == IPC_XFER_STARTING)))) {
		if (c->json)
			ctl_json_print(json_pack("{s:I, s:s, s:b, s:b}", "number",
			    (json_int_t)q.number, "op", ipc_xfer_op_name(op), "ok", 1,
			    "already", 1));
		else
			printf("transfer %u: already %s\n", q.number,
			    op == IPC_XFER_PAUSE ? "paused" : "running");
		return 0;
	}
	if (rc == -1)
		return 1;
	n = ipc_xfer_ctl_encode(xc_buf, sizeof(xc_buf), &q);
	if (ctl_call(c, "netd", xc_buf, (size_t)n, &rep, &replen, 0) == -1)
		return 1;
	if (ctl_reply_decoded(rep, ipc_empty_decode(rep, replen, IPC_XFER_CTL),
	    v->name, "netd") != 0)
		return 1;
	if (c->json)
		ctl_json_print(json_pack("{s:I, s:s, s:b}", "number", (json_int_t)q.number,
		    "op", ipc_xfer_op_name(op), "ok", 1));
	else
		printf("transfer %u: %s\n", q.number, op == IPC_XFER_PAUSE ? "paused" :
		    op == IPC_XFER_RESUME ? "resumed" : "cancelled");
	return 0;
}

int
ctl_pause(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	return xc_op(c, v, IPC_XFER_PAUSE, argc, argv);
}

int
ctl_resume(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	return xc_op(c, v, IPC_XFER_RESUME, argc, argv);
}

int
ctl_cancel(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	return xc_op(c, v, IPC_XFER_CANCEL, argc, argv);
}

/* The transfer as netd lists it: 1, 0 if it is not listed, -1. */
static int
xc_poll(struct ctl *c, uint32_t number, struct ipc_xfer_info *x)
{
	struct ipc_xfer_list l;
	uint8_t *rep;
	int found = 0;

	if (xc_list(c, number, &rep, &l) != 0)
		return -1;
	while (ipc_xfer_list_next(&l, x) == 1)
		if (x->number == number) {
			found = 1;
			break;
		}
	free(rep);
	return found;
}

int
ctl_fprobe(struct ctl *c, const struct ctl_verb *v, int argc, char **argv)
{
	struct ipc_get_req q;
	struct ipc_xfer_info x;
	uint8_t *rep;
	size_t replen;
	uint64_t last_change, last_done = 0, bytes;
	uint32_t number;
	char hex[65], sz[32], r[32];
	double secs;
	long n;
	int i, rc, ok;

	if ((i = ctl_verb_opts(c, v, argc, argv)) < 0)
		return i == -2 ? 0 : 2;
	if (i + 2 != argc) {
		ctl_err("probe: NODEID and HASH are required");
		ctl_verb_usage(v, 1);
		return 2;
	}
	if (strlen(argv[i]) != 64 || hex_decode(q.node_id, 32, argv[i]) != 32) {
		ctl_err("probe: '%s' is not a 64-digit hex node ID", argv[i]);
		return 2;
	}
	if (strlen(argv[i + 1]) != 64 || hex_decode(q.hash, 32, argv[i + 1]) != 32) {
		ctl_err("probe: '%s' is not a 64-digit hex hash", argv[i + 1]);
		return 2;
	}
	hex_encode(hex, q.hash, 32);
	n = ipc_probe_req_encode(xc_buf, sizeof(xc_buf), &q);
	if (ctl_call(c, "netd", xc_buf, (size_t)n, &rep, &replen, 0) == -1)
		return 1;
	if (ctl_reply_decoded(rep, ipc_u32_decode(rep, replen, IPC_PROBE, &number),
	    "probe", "netd") != 0)
		return 1;
	last_change = loop_now_ms();
	for (;;) {
		if ((rc = xc_poll(c, number, &x)) == -1)
			return 1;
		if (rc == 0) {
			ctl_err("probe: netd no longer knows transfer %u", number);
			return 1;
		}
		if (x.state == IPC_XFER_DONE || x.state == IPC_XFER_FAILED)
			break;
		if (x.done != last_done) {
			last_done = x.done;
			last_change = loop_now_ms();
		} else if (loop_now_ms() - last_change > XC_STALL_MS) {
			ctl_err("probe: no progress for %d s: giving up waiting",
			    XC_STALL_MS / 1000);
			return 1;
		}
		if (ctl_expired(c)) {
			ctl_err("probe: --timeout of %d ms reached: transfer %u goes on "
			    "('peernetctl transfers %u')", c->timeout_ms, number, number);
			return 1;
		}
		ctl_sleep_ms(ctl_left_ms(c, XC_POLL_MS));
	}
	ok = x.state == IPC_XFER_DONE && (x.flags & IPC_XFER_F_HASH_OK);
	bytes = x.done;
	secs = (double)x.elapsed_ms / 1000.0;
	if (c->json) {
		json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:f, s:I, s:b}", "hash", hex,
		    "number", (json_int_t)number, "size", (json_int_t)x.total,
		    "bytes", (json_int_t)bytes, "seconds", secs, "rate", (json_int_t)x.rate,
		    "hash_ok", ok);
		json_object_set_new(o, "error", x.error[0] && !ok ?
		    ctl_jstr(x.error) : json_null());
		ctl_json_print(o);
	} else {
		ctl_human(sz, sizeof(sz), (double)bytes);
		ctl_human(r, sizeof(r), (double)x.rate);
		printf("probe %s: %s in %.2f s, %s/s, into memory (not stored)\n", hex, sz,
		    secs, r);
		if (ok)
			printf("  hash ok\n");
		else
			printf("  %s\n", x.error[0] ? TS(x.error) : "failed");
	}
	return ok ? 0 : 1;
}
