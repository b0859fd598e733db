/*
 * control.c — requests to netd from peernetctl, apid and the other daemons
 * (IPC_ID, IPC_SIGN, peers, ping, find, status, and the transfer requests
 * xfer_file.c serves): the dispatch and the handlers.  The node's own
 * behaviour stays in node.c; this file only reads its state and asks it
 * for the few things it must do on the network (node_ping_ctl).
 *
 * Prefix control_: ctl/ already uses ctl_ for peernetctl's own code.
 */
#include <stdio.h>
#include <string.h>

#include "netd.h"
#include "secure_link.h"
#include "xfer.h"

typedef void	control_fn(struct netd *, struct ipc_req *, const uint8_t *, size_t);

static uint8_t control_reply[IPC_MSG_MAX];

static void
control_id(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	uint8_t buf[256];
	struct ipc_id id;
	long l;

	if (ipc_empty_decode(msg, len, IPC_ID) != 0) {
		ipc_reply_error(req, IPC_ERR_BADMSG, "malformed %s request",
		    ipc_type_name(IPC_ID));
		return;
	}
	memcpy(id.pubkey, n->id.pub, sizeof(id.pubkey));
	memcpy(id.node_id, n->id.node_id, sizeof(id.node_id));
	l = ipc_id_encode(buf, sizeof(buf), &id);
	ipc_reply(req, buf, (size_t)l);
}

static void
control_sign(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	uint8_t buf[256];
	struct ipc_sign_req sq;
	struct ipc_sign_rep sp;
	long l;

	if (ipc_sign_req_decode(msg, len, &sq) != 0) {
		ipc_reply_error(req, IPC_ERR_BADMSG, "malformed %s request",
		    ipc_type_name(IPC_SIGN));
		return;
	}
	if (ident_sign(&n->id, sq.hash, sp.sig) != 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "signing failed");
		return;
	}
	l = ipc_sign_rep_encode(buf, sizeof(buf), &sp);
	ipc_reply(req, buf, (size_t)l);
}

/* --- peers ---------------------------------------------------------------- */

struct control_peers_ctx {
	struct netd	*n;
	size_t		 off;
	int		 full;
};

static void
control_peer_entry(void *arg, struct peer *p)
{
	struct control_peers_ctx *x = arg;
	struct ipc_peer e;
	const struct peer_conn *c;

	if (x->full)
		return;
	memset(&e, 0, sizeof(e));
	memcpy(e.pubkey, p->pub, 33);
	memcpy(e.node_id, p->node_id, 32);
	c = p->latest >= 0 ? &p->conns[p->latest] : NULL;
	if (c != NULL)
		peer_addr_format(&c->remote, e.addr, sizeof(e.addr));
	e.active = p->nact > 0;
	e.root = p->root ? 1 : 0;
	e.nat = peer_behind_nat(p) ? 1 : 0;
	e.features = p->features;
	e.conns = (uint32_t)(p->nact + p->ninact);
	e.rtt_ms = peer_rtt(p);
	e.height = p->chain_height;
	e.version = p->chain_version;
	snprintf(e.user_agent, sizeof(e.user_agent), "%.*s", (int)p->ua_len, p->ua);
	e.secure = (uint8_t)slink_peer_state(x->n, p->pub);
	if (ipc_peer_list_add(control_reply, sizeof(control_reply), &x->off, &e) != 0)
		x->full = 1;
}

static void
control_peers(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct control_peers_ctx x;

	if (ipc_req_bad(req, ipc_empty_decode(msg, len, IPC_PEERS), "peers request"))
		return;
	x.n = n;
	x.full = 0;
	x.off = (size_t)ipc_peer_list_begin(control_reply, sizeof(control_reply),
	    (uint32_t)peer_list_count(n->peers));
	peer_list_foreach(n->peers, control_peer_entry, &x);
	ipc_reply(req, control_reply, x.off);
}

/* --- ping and find: requests that wait for the network -------------------- */

static struct netd_pending *
control_pending_new(struct netd *n, int *index)
{
	int i;

	for (i = 0; i < NETD_MAX_PENDING; i++)
		if (n->pending[i].req == NULL) {
			*index = i;
			return &n->pending[i];
		}
	return NULL;
}

static void
control_pending_done(struct netd_pending *pd)
{
	memset(pd, 0, sizeof(*pd));
}

static void
control_ping(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	struct netd_pending *pd;
	struct ipc_ping_req q;
	struct peer *p;
	uint32_t seq;
	int idx;

	if (ipc_req_bad(req, ipc_ping_req_decode(msg, len, &q), "ping request"))
		return;
	if ((p = peer_find_node(n->peers, q.node_id)) == NULL || p->nact == 0) {
		if (node_trav_punch_failed(n, q.node_id))
			ipc_reply_error(req, IPC_ERR_FAILED, "not connected to that node: "
			    "hole punching through the relay got no answer (a NAT with "
			    "address-dependent mapping on the path?)");
		else
			ipc_reply_error(req, IPC_ERR_FAILED, "not connected to that node "
			    "(try 'peernetctl find' first)");
		return;
	}
	if ((pd = control_pending_new(n, &idx)) == NULL) {
		ipc_reply_error(req, IPC_ERR_FAILED, "too many requests waiting");
		return;
	}
	if (node_ping_ctl(n, p, idx, &seq) != 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "ping could not be sent");
		return;
	}
	pd->req = req;
	pd->kind = IPC_PING;
	memcpy(pd->key, q.node_id, 32);
	memcpy(pd->pub, p->pub, 33);
	pd->seq = seq;
	pd->timeout_ms = q.timeout_ms;
	pd->deadline = env_now_ms(&n->env) + q.timeout_ms;
}

static void
control_ping_answered(struct netd *n, uint32_t slot, uint32_t seq, uint32_t rtt_ms,
    const struct peer_addr *from)
{
	static uint8_t buf[256];
	struct netd_pending *pd;
	struct ipc_ping_rep rep;
	long len;

	if (slot >= NETD_MAX_PENDING)
		return;
	pd = &n->pending[slot];
	if (pd->req == NULL || pd->kind != IPC_PING || pd->seq != seq)
		return;
	memset(&rep, 0, sizeof(rep));
	rep.rtt_ms = rtt_ms;
	peer_addr_format(from, rep.addr, sizeof(rep.addr));
	len = ipc_ping_rep_encode(buf, sizeof(buf), &rep);
	ipc_reply(pd->req, buf, (size_t)len);
	control_pending_done(pd);
}

static void
control_find(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	static uint8_t buf[1024];
	struct netd_pending *pd;
	struct ipc_find_req q;
	struct ipc_find_rep rep;
	uint32_t id;
	int idx, rc;
	long l;

	if (ipc_req_bad(req, ipc_find_req_decode(msg, len, &q), "find request"))
		return;
	if ((pd = control_pending_new(n, &idx)) == NULL) {
		ipc_reply_error(req, IPC_ERR_FAILED, "too many requests waiting");
		return;
	}
	rc = kad_lookup_start(n->kad, KAD_LOOKUP_NODE, q.key, &id);
	if (rc == KAD_ERR_EMPTY || rc == KAD_ERR_SELF) {
		memset(&rep, 0, sizeof(rep));
		if (rc == KAD_ERR_SELF) {
			rep.found = 1;
			memcpy(rep.pubkey, n->id.pub, 33);
		}
		l = ipc_find_rep_encode(buf, sizeof(buf), &rep);
		ipc_reply(req, buf, (size_t)l);
		return;
	}
	if (rc != 0) {
		ipc_reply_error(req, IPC_ERR_FAILED, "lookup: %s", kad_strerror(rc));
		return;
	}
	pd->req = req;
	pd->kind = IPC_FIND;
	memcpy(pd->key, q.key, 32);
	pd->lookup_id = id;
	pd->deadline = env_now_ms(&n->env) + q.timeout_ms;
}

static int
control_find_done(struct netd *n, const struct kad_result *r, const struct peer_addr *a)
{
	static uint8_t buf[1024];
	struct ipc_find_rep rep;
	int i, answered = 0;
	long len;

	for (i = 0; i < NETD_MAX_PENDING; i++) {
		struct netd_pending *pd = &n->pending[i];

		if (pd->req == NULL || pd->kind != IPC_FIND || pd->lookup_id != r->lookup_id)
			continue;
		memset(&rep, 0, sizeof(rep));
		rep.found = r->status == KAD_LOOKUP_FOUND;
		rep.rounds = (uint32_t)r->rounds;
		rep.messages = (uint32_t)r->queries;
		if (rep.found) {
			memcpy(rep.pubkey, r->found.peer_id, 33);
			if (a != NULL)
				peer_addr_format(a, rep.addrs, sizeof(rep.addrs));
		}
		len = ipc_find_rep_encode(buf, sizeof(buf), &rep);
		ipc_reply(pd->req, buf, (size_t)len);
		control_pending_done(pd);
		answered++;
	}
	return answered;
}

static void
control_expire(struct netd *n, uint64_t now)
{
	int i;

	for (i = 0; i < NETD_MAX_PENDING; i++) {
		struct netd_pending *pd = &n->pending[i];

		if (pd->req == NULL || now < pd->deadline)
			continue;
		if (pd->kind == IPC_PING) {
			seq_remove(n->seqs, pd->pub, pd->seq);
			ipc_reply_error(pd->req, IPC_ERR_FAILED, "no pong within %u ms",
			    pd->timeout_ms);
		} else {
			kad_lookup_cancel(n->kad, pd->lookup_id);
			ipc_reply_error(pd->req, IPC_ERR_FAILED, "lookup timed out");
		}
		control_pending_done(pd);
	}
}

static void
control_stop(struct netd *n)
{
	int i;

	for (i = 0; i < NETD_MAX_PENDING; i++)
		if (n->pending[i].req != NULL) {
			ipc_reply_error(n->pending[i].req, IPC_ERR_FAILED, "netd is stopping");
			control_pending_done(&n->pending[i]);
		}
}

/* What node.c calls up to (netd.h): the answers and ends of the requests above. */
static const struct netd_ctl_hooks control_hooks = {
	.ping_answered = control_ping_answered,
	.find_done = control_find_done,
	.expire = control_expire,
	.stop = control_stop,
};

void
control_init(struct netd *n)
{
	n->ctl_hooks = &control_hooks;
}

/* --- status --------------------------------------------------------------- */

static void
control_status(struct netd *n, struct ipc_req *req, const uint8_t *msg, size_t len)
{
	static struct ipc_net_status st;
	int i;
	long l;

	if (ipc_req_bad(req, ipc_empty_decode(msg, len, IPC_NET_STATUS),
	    "net-status request"))
		return;
	memset(&st, 0, sizeof(st));
	memcpy(st.pubkey, n->id.pub, 33);
	memcpy(st.node_id, n->id.node_id, 32);
	for (i = 0; i < n->nsocks; i++) {
		if (n->socks[i].fd < 0)
			continue;
		if (st.listen[0] != '\0')
			strlcat(st.listen, " ", sizeof(st.listen));
		strlcat(st.listen, n->socks[i].text, sizeof(st.listen));
	}
	st.active = node_nat_state(n, st.nat, sizeof(st.nat));
	st.peers = (uint32_t)peer_list_count(n->peers);
	st.dht_size = (uint32_t)kad_table_count(n->kad);
	portmap_status(n, st.portmap, sizeof(st.portmap), st.external,
	    sizeof(st.external));
	memcpy(st.counters, n->counters, sizeof(st.counters));
	l = ipc_net_status_encode(control_reply, sizeof(control_reply), &st);
	ipc_reply(req, control_reply, (size_t)l);
}

/* --- dispatch ------------------------------------------------------------- */

/*
 * Every request netd serves, by IPC type: a new request is one row (the
 * handler replies, errors included).
 */
static const struct {
	uint16_t	 type;
	control_fn	*fn;
} control_table[] = {
	{ IPC_ID,		control_id },
	{ IPC_SIGN,		control_sign },
	{ IPC_PEERS,		control_peers },
	{ IPC_PING,		control_ping },
	{ IPC_FIND,		control_find },
	{ IPC_NET_STATUS,	control_status },
	{ IPC_GET,		xfer_req_get },		/* xfer_req.c */
	{ IPC_TRANSFERS,	xfer_file_list },
	{ IPC_XFER_CTL,		xfer_req_ctl },
	{ IPC_PROBE,		xfer_req_probe },
	{ IPC_STREAM_OPEN,	xfer_st_open },	/* apid's ranged reads */
	{ IPC_STREAM_READ,	xfer_st_read },
	{ IPC_STREAM_CLOSE,	xfer_st_close },
};

void
control_request(struct netd *n, struct ipc_req *req, uint16_t type,
    const uint8_t *msg, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(control_table) / sizeof(control_table[0]); i++)
		if (control_table[i].type == type) {
			control_table[i].fn(n, req, msg, len);
			return;
		}
	ipc_reply_error(req, IPC_ERR_UNKNOWN, "netd does not serve %s requests",
	    ipc_type_name(type));
}
