/*
 * secure_link.c — the secure transport wired into netd (secure_link.h,
 * docs/secure.md §9).
 *
 * Per peer that advertised feature bit 4 with a valid extension block we
 * keep its extension (sticky: a peer once seen capable stays so, §7), at
 * most one pending initiation and two session slots.  Who initiates:
 * whichever end knows the other's key and has a verified connection to it
 * (INITs never go to an address that has not proven it is the peer's).
 * The extension may be missing from one side's view: a Response to an
 * unverified source carries it only within that source's budget.  An INIT
 * that collides with our own pending one is answered only by the higher
 * key, so both ends settle on the same session.
 *
 * A session is *usable* for sending on the initiator once the RESP came
 * (it then sends one empty DATA to confirm), on the responder once an
 * authentic DATA came.  A new session goes into the slot not in use, so
 * the previous one stays valid until it expires; transfer channels are
 * derived from every valid session for receiving (whichever the other
 * end chose, it opens), and from the usable one for sending.  A transfer
 * with channels refuses plaintext lite packets once a sealed one was
 * authentic, and always with secure_transport = require.
 *
 * Receiver IDs (sessions, pending initiations, transfer channels) are in
 * one open-addressing table: one lookup per datagram.
 *
 * Under handshake load (SLINK_LOAD_INITS) INITs need a cookie for their
 * source first.  A download from a capable peer waits for the handshake
 * (slink_xfer_wait, at most SLINK_XFER_WAIT_MS).  An Announcement in clear
 * without an offer from a peer we hold an offer of is answered by a probe
 * INIT, and the sessions are dropped only when it goes unanswered
 * (SLINK_PROBE_MS): a replayed old one changes nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "log.h"
#include "netd.h"
#include "secure.h"
#include "secure_link.h"
#include "wire_secure.h"
#include "xfer_sess.h"

#define SLINK_PEERS		256
#define SLINK_IDS		4096		/* power of two, > 4 * (3 * peers + 2 * slots) */
#define SLINK_TICK_MS		200
#define SLINK_RETRY_MS		1000		/* an unanswered INIT is sent again */
#define SLINK_WAIT_RETRY_MS	200		/* ... sooner while a transfer waits for it */
#define SLINK_MAX_TRIES		10		/* then back off to SLINK_BACKOFF_MS ... */
#define SLINK_TRY_SPAN_MS	9000		/* ... once they span this long (sl_gave_up) */
#define SLINK_BACKOFF_MS	30000
#define SLINK_BUF		(SECURE_OVERHEAD + 2048)
/*
 * Regular packets go inside session DATA only while the result fits an
 * IPv6 path of MTU 1500 (1452 bytes of UDP payload): a larger one (rare: a
 * big Response) goes as version 0, as before.
 */
#define SLINK_WRAP_MAX		1452
#define SLINK_LOG_MS		10000		/* repeated refusals of one peer: one log line */
#define SLINK_WAITS		64		/* transfers waiting for a handshake (> XFER_SLOTS) */

enum { SL_FREE, SL_INIT, SL_SESS, SL_CHAN };

struct slink_id {
	uint64_t	id;
	uint8_t		kind;
	uint8_t		idx;
	void		*ptr;
};

struct slink_peer {
	int		used;
	uint8_t		pub[PEERNET_PUBKEY_BYTES];
	struct wire_secure_ext ext;
	int		has_ext;
	uint64_t	ext_ms;		/* when the extension was first seen */
	uint64_t	offer_ms;	/* our offer last sent unasked (slink_offer_due) */
	uint64_t	last_ms;	/* last use (eviction) */
	struct secure_initiation init;
	uint64_t	init_ms;	/* last INIT sent */
	uint64_t	first_try_ms;	/* the first of the unanswered tries */
	int		tries;
	struct secure_session sess[2];
	int		valid[2];
	int		cur;		/* slot we send with; -1: none usable */
	uint64_t	last_ts;	/* newest INIT timestamp accepted from it */
	uint64_t	refused_ms;	/* a refusal last logged (at most every SLINK_LOG_MS) */
	/*
	 * It offered (or initiated a session with us) once: a secure_transport
	 * = require node refuses plaintext with it for the process's life, even
	 * after its offer is forgotten (§7).
	 */
	int		capable;
	uint64_t	probe_ms;	/* restart rule: probing since (0: not) */
};

/* A transfer waiting for the handshake with its peer (slink_xfer_wait). */
struct slink_wait {
	struct xfer_sess *s;		/* NULL: free */
	uint32_t	gen;
	void		(*cb)(struct xfer_sess *s, uint32_t gen);
	uint64_t	until;
	int		ready;		/* the session came up */
};

/* A transfer's channels: one per valid session at bind time. */
struct slink_x {
	struct secure_chan ch[2];
	int		nch;
	int		tx;		/* channel we seal with; -1: plaintext */
	int		authentic;	/* a sealed packet was opened */
};

struct slink {
	struct netd	*n;
	int		mode;		/* CONF_SECURE_* */
	struct secure_node me;
	struct slink_peer peers[SLINK_PEERS];
	struct slink_id	ids[SLINK_IDS];
	void		*timer;
	struct slink_wait waits[SLINK_WAITS];
	void		*wait_timer;	/* one-shot: the next waiter due */
	uint64_t	last_ts;
	uint64_t	init_at[SLINK_LOAD_INITS];	/* arrival (ms + 1) of the last INITs, a ring */
	unsigned	init_head;	/* the oldest of them */
	int		loaded;		/* the last INIT found us under load (log transitions) */
	int		in_inner;	/* processing a packet that came inside DATA */
	uint8_t		buf[SLINK_BUF];	/* handshake messages, lite packets opened */
	uint8_t		txbuf[SLINK_BUF];	/* regular packets sealed */
	uint8_t		rxbuf[SLINK_BUF];	/* regular packets opened */
};

static struct slink *
L(const struct netd *n)
{
	return n->slink;
}

static uint64_t
slink_now(const struct netd *n)
{
	return env_now_ms(&n->env);
}

static void	sl_wait_kick(struct slink *l, const uint8_t pub[33]);
static int	sl_waiting(const struct slink *l, const uint8_t pub[33]);
static void	sl_initiate(struct slink *l, struct slink_peer *sp, uint64_t now);

/* --- receiver IDs ------------------------------------------------------------ */

static size_t
sl_id_slot(uint64_t id)
{
	/* IDs are random: their low bits spread well enough. */
	return (size_t)(id ^ (id >> 29)) & (SLINK_IDS - 1);
}

static struct slink_id *
sl_id_get(struct slink *l, uint64_t id)
{
	size_t i = sl_id_slot(id), k;

	for (k = 0; k < SLINK_IDS; k++, i = (i + 1) & (SLINK_IDS - 1)) {
		if (l->ids[i].kind == SL_FREE)
			return NULL;
		if (l->ids[i].id == id)
			return &l->ids[i];
	}
	return NULL;
}

static int
sl_id_put(struct slink *l, uint64_t id, int kind, void *ptr, int idx)
{
	size_t i = sl_id_slot(id), k;

	for (k = 0; k < SLINK_IDS; k++, i = (i + 1) & (SLINK_IDS - 1))
		if (l->ids[i].kind == SL_FREE || l->ids[i].id == id) {
			l->ids[i].id = id;
			l->ids[i].kind = (uint8_t)kind;
			l->ids[i].idx = (uint8_t)idx;
			l->ids[i].ptr = ptr;
			return 0;
		}
	return -1;
}

/* Linear-probing deletion: later entries of the run move back into the hole. */
static void
sl_id_del(struct slink *l, uint64_t id)
{
	size_t i = sl_id_slot(id), j, h, k;

	for (k = 0; k < SLINK_IDS; k++, i = (i + 1) & (SLINK_IDS - 1)) {
		if (l->ids[i].kind == SL_FREE)
			return;
		if (l->ids[i].id == id)
			break;
	}
	if (k == SLINK_IDS)
		return;
	l->ids[i].kind = SL_FREE;
	for (j = (i + 1) & (SLINK_IDS - 1); l->ids[j].kind != SL_FREE;
	    j = (j + 1) & (SLINK_IDS - 1)) {
		h = sl_id_slot(l->ids[j].id);
		/* Stays if its home lies cyclically in (i, j]. */
		if (i <= j ? (i < h && h <= j) : (i < h || h <= j))
			continue;
		l->ids[i] = l->ids[j];
		l->ids[j].kind = SL_FREE;
		i = j;
	}
}

/* A fresh random ID not in use (never 0). */
static uint64_t
sl_id_new(struct slink *l)
{
	uint64_t id;
	int k;

	for (k = 0; k < 16; k++) {
		env_random(&l->n->env, &id, sizeof(id));
		if (id != 0 && id != secure_pkt_id(l->me.hs_id) && sl_id_get(l, id) == NULL)
			return id;
	}
	return 0;
}

/* --- peers ------------------------------------------------------------------- */

static struct slink_peer *
sl_peer_get(struct slink *l, const uint8_t pub[33])
{
	int i;

	for (i = 0; i < SLINK_PEERS; i++)
		if (l->peers[i].used && memcmp(l->peers[i].pub, pub, 33) == 0)
			return &l->peers[i];
	return NULL;
}

static void
sl_sess_drop(struct slink *l, struct slink_peer *sp, int k)
{
	if (!sp->valid[k])
		return;
	sl_id_del(l, sp->sess[k].ch.rx_id);
	secure_session_wipe(&sp->sess[k]);
	sp->valid[k] = 0;
	if (sp->cur == k)
		sp->cur = -1;
}

static void
sl_init_drop(struct slink *l, struct slink_peer *sp)
{
	if (sp->init.pending)
		sl_id_del(l, sp->init.local_id);
	sp->init.pending = 0;
}

static void
sl_peer_clear(struct slink *l, struct slink_peer *sp)
{
	sl_sess_drop(l, sp, 0);
	sl_sess_drop(l, sp, 1);
	sl_init_drop(l, sp);
	sodium_memzero(sp, sizeof(*sp));
	sp->cur = -1;
}

/*
 * The peer runs anew (a new key, or the restart rule's probe went
 * unanswered): its sessions are gone on its side and its offer is stale.
 * Capability stays (sticky, §7).
 */
static void
sl_peer_restarted(struct slink *l, struct slink_peer *sp)
{
	sl_sess_drop(l, sp, 0);
	sl_sess_drop(l, sp, 1);
	sl_init_drop(l, sp);
	sp->tries = 0;
	memset(&sp->init, 0, sizeof(sp->init));
	sp->probe_ms = 0;
}

/* The entry for pub, made (evicting the least recently used) when absent. */
static struct slink_peer *
sl_peer_make(struct slink *l, const uint8_t pub[33])
{
	struct slink_peer *sp, *old = NULL;
	int i;

	if ((sp = sl_peer_get(l, pub)) != NULL)
		return sp;
	for (i = 0; i < SLINK_PEERS; i++) {
		if (!l->peers[i].used) {
			old = &l->peers[i];
			break;
		}
		if (old == NULL || l->peers[i].last_ms < old->last_ms)
			old = &l->peers[i];
	}
	sl_peer_clear(l, old);
	old->used = 1;
	memcpy(old->pub, pub, 33);
	old->last_ms = slink_now(l->n);
	return old;
}

static int
sl_sess_usable(const struct slink_peer *sp, int k, uint64_t now)
{
	return sp->valid[k] && sp->sess[k].confirmed &&
	    !secure_session_expired(&sp->sess[k], (int64_t)now);
}

static const char *
sl_short_id(const uint8_t pub[33], char out[17])
{
	uint8_t id[PEERNET_NODEID_BYTES];

	ident_node_id(pub, id);
	hex_encode(out, id, 8);
	return out;
}

/* --- the extension ------------------------------------------------------------- */

size_t
slink_ext_len(struct netd *n, const uint8_t to[33], uint8_t cmd)
{
	struct slink *l = L(n);
	struct slink_peer *sp;

	if (l == NULL || l->mode == CONF_SECURE_OFF)
		return 0;
	if (cmd == WIRE_CMD_ANNOUNCEMENT)
		return WIRE_SECURE_EXT_SIZE;
	/* Responses: only to peers that offered theirs (never to reference nodes). */
	return cmd == WIRE_CMD_RESPONSE && (sp = sl_peer_get(l, to)) != NULL &&
	    sp->has_ext ? WIRE_SECURE_EXT_SIZE : 0;
}

size_t
slink_ext_append(struct netd *n, const uint8_t to[33], uint8_t cmd, uint8_t *buf,
    size_t len, size_t cap, size_t room)
{
	struct slink *l = L(n);
	struct wire_secure_ext e;
	struct wire_response r;
	size_t w;

	if (slink_ext_len(n, to, cmd) == 0)
		return len;
	if (room < WIRE_SECURE_EXT_SIZE) {
		log_debug("secure: no extension in command %u: over the budget", cmd);
		return len;
	}
	/* A reference node drops a Response whose three counts are all zero. */
	if (cmd == WIRE_CMD_RESPONSE && (wire_response_decode(buf, len, &r) != 0 ||
	    r.n_h2p + r.n_files + r.n_notfound == 0))
		return len;
	secure_node_ext(&l->me, &e);
	if (wire_secure_ext_encode(buf + len, cap - len, &w, &e) != 0)
		return len;
	return len + w;
}

void
slink_ext_in(struct netd *n, struct peer *p, const uint8_t *payload, size_t len,
    const void *decoded, int resp)
{
	struct slink *l = L(n);
	struct slink_peer *sp;
	struct wire_secure_ext e;
	const struct wire_msg_hdr *h;
	size_t off;

	if (l == NULL || l->mode == CONF_SECURE_OFF)
		return;
	h = resp ? &((const struct wire_response *)decoded)->hdr :
	    &((const struct wire_announce *)decoded)->hdr;
	off = resp ? wire_secure_response_tail(payload, len, decoded) :
	    wire_secure_announce_tail(payload, len, decoded);
	if (!(h->features & WIRE_FEATURE_SECURE) || off > len ||
	    wire_secure_ext_decode(payload + off, len - off, &e) != WIRE_SECURE_OK) {
		/*
		 * The restart rule.  A node holding a session with us seals its
		 * Announcements and offers in them (node_send.c): one in clear without
		 * an offer comes from a new run of that node (its first contact
		 * carries none), one that turned secure transport off — or is a
		 * replay of an old one (version 0's filter forgets after 10
		 * minutes), or a first contact of the same run to an address of
		 * ours it has not proven.  So nothing is dropped yet: an INIT to
		 * the key we hold probes the peer.  The same run answers it;
		 * a new run cannot (new key, new handshake ID), and after
		 * SLINK_PROBE_MS the sessions are dropped and the offer forgotten
		 * (sl_peer_tick).  With no key to probe (we only responded), the
		 * sessions are dropped at once; the peer's next INIT makes new ones.
		 */
		if (!resp && !l->in_inner && (sp = sl_peer_get(l, p->pub)) != NULL &&
		    (sp->valid[0] || sp->valid[1] || sp->has_ext)) {
			if (!sp->has_ext) {
				log_info("secure: %s announced itself in clear without an "
				    "offer: sessions with it dropped",
				    sl_short_id(p->pub, (char[17]){ 0 }));
				sl_peer_restarted(l, sp);
			} else if (sp->probe_ms == 0) {
				log_debug("secure: %s announced itself in clear without an "
				    "offer: probing it with a handshake",
				    sl_short_id(p->pub, (char[17]){ 0 }));
				sp->probe_ms = slink_now(n);
				sp->tries = 0;
				sl_initiate(l, sp, sp->probe_ms);
			}
		}
		return;
	}
	sp = sl_peer_make(l, p->pub);
	sp->last_ms = slink_now(n);
	if (sp->has_ext && memcmp(sp->ext.static_key, e.static_key, 32) != 0)
		/* A new run of that node (new key): our sessions with the old one are gone. */
		sl_peer_restarted(l, sp);
	if (!sp->has_ext)
		sp->ext_ms = slink_now(n);
	sp->ext = e;
	sp->has_ext = 1;
	sp->capable = 1;
}

/* --- handshake ----------------------------------------------------------------- */

static int
sl_send_to_peer(struct slink *l, const uint8_t pub[33], const uint8_t *buf, size_t len)
{
	struct netd *n = l->n;
	struct peer_conn *targets[PEER_MAX_CONNS];
	struct peer *p;
	size_t k;

	/* Only to an address that proved it is the peer's (no reflection). */
	if ((p = peer_find(n->peers, pub)) == NULL ||
	    peer_send_targets_verified(p, targets, &k) != 0 || k == 0)
		return -1;
	return n->env.send(n->env.ctx, targets[0]->sock, &targets[0]->local,
	    &targets[0]->remote, buf, len);
}

static uint64_t
slink_ts(struct slink *l)
{
	/* Microseconds of wall clock, strictly growing: a restarted node's INITs stay newer. */
	uint64_t ts = env_unix_s(&l->n->env) * 1000000;

	if (ts <= l->last_ts)
		ts = l->last_ts + 1;
	l->last_ts = ts;
	return ts;
}

/*
 * The peer's handshakes keep failing: SLINK_MAX_TRIES unanswered INITs over
 * SLINK_TRY_SPAN_MS at least.  The span keeps the faster retries made
 * while transfers wait (SLINK_WAIT_RETRY_MS; each block or file download
 * of a first contact waits) from reaching the 30 s back-off within two
 * seconds of lost INITs.
 */
static int
sl_gave_up(const struct slink_peer *sp)
{
	return sp->tries >= SLINK_MAX_TRIES &&
	    sp->init_ms - sp->first_try_ms >= SLINK_TRY_SPAN_MS;
}

static void
sl_initiate(struct slink *l, struct slink_peer *sp, uint64_t now)
{
	struct netd *n = l->n;
	uint64_t id;
	size_t len;
	int rc;

	sl_init_drop(l, sp);
	if ((id = sl_id_new(l)) == 0)
		return;
	rc = secure_initiate(&sp->init, &l->me, &sp->ext, sp->pub, id, slink_ts(l),
	    (int64_t)now, l->buf, sizeof(l->buf), &len);
	sp->init_ms = now;
	if (sp->tries++ == 0)
		sp->first_try_ms = now;
	if (rc != SECURE_OK) {
		sp->init.pending = 0;
		return;
	}
	if (sl_id_put(l, id, SL_INIT, sp, 0) != 0 || sl_send_to_peer(l, sp->pub, l->buf, len) != 0) {
		sl_init_drop(l, sp);
		return;
	}
	n->counters[IPC_NC_SECURE_HS_SENT]++;
}

/* The slot a new session goes to: not the one we send with. */
static int
sl_new_slot(struct slink *l, struct slink_peer *sp)
{
	int k = sp->cur == 0 ? 1 : 0;

	if (sp->cur < 0 && sp->valid[0] && !sp->valid[1])
		k = 1;
	sl_sess_drop(l, sp, k);
	return k;
}

static void
sl_on_resp(struct slink *l, struct slink_peer *sp, const uint8_t *pkt, size_t len,
    uint64_t now)
{
	struct netd *n = l->n;
	struct secure_session s;
	char id[17];
	size_t out;
	int k, rc;

	if (pkt[SECURE_ID_LEN] == SECURE_TYPE_COOKIE) {
		if (secure_initiation_cookie(&sp->init, pkt, len, (int64_t)now) == SECURE_OK)
			sl_initiate(l, sp, now);
		else
			n->counters[IPC_NC_DROP_SECURE_HANDSHAKE]++;
		return;
	}
	rc = secure_initiation_finish(&sp->init, &l->me, pkt, len, (int64_t)now, &s);
	if (rc != SECURE_OK) {
		n->counters[IPC_NC_DROP_SECURE_HANDSHAKE]++;
		log_debug("secure: RESP from %s refused: %s", sl_short_id(sp->pub, id),
		    secure_strerror(rc));
		return;
	}
	sl_id_del(l, sp->init.local_id);
	sp->init.pending = 0;
	k = sl_new_slot(l, sp);
	sp->sess[k] = s;
	sodium_memzero(&s, sizeof(s));
	sp->valid[k] = 1;
	if (sl_id_put(l, sp->sess[k].ch.rx_id, SL_SESS, sp, k) != 0) {
		sl_sess_drop(l, sp, k);
		return;
	}
	sp->cur = k;
	sp->tries = 0;
	n->counters[IPC_NC_SECURE_HANDSHAKES]++;
	log_debug("secure: session with %s up (initiator)", sl_short_id(sp->pub, id));
	if (sp->probe_ms != 0)
		log_debug("secure: %s answered the probe: the same run, sessions kept", id);
	sp->probe_ms = 0;
	/* Key confirmation: the responder may send once this is opened. */
	if (secure_seal(&sp->sess[k], (int64_t)now, (const uint8_t *)"", 0, l->buf, sizeof(l->buf),
	    &out) == SECURE_OK && sl_send_to_peer(l, sp->pub, l->buf, out) == 0)
		n->counters[IPC_NC_SECURE_SEALED]++;
	sl_wait_kick(l, sp->pub);
}

/*
 * An INIT arrived: notes its time and says whether we are under load (more
 * than SLINK_LOAD_INITS within SLINK_LOAD_MS, this one counted).
 */
static int
sl_load_note(struct slink *l, uint64_t now)
{
	uint64_t oldest = l->init_at[l->init_head];
	int loaded = oldest != 0 && now + 1 - oldest < SLINK_LOAD_MS;

	l->init_at[l->init_head] = now + 1;
	l->init_head = (l->init_head + 1) % SLINK_LOAD_INITS;
	if (loaded != l->loaded)
		log_info(loaded ? "secure: more than %d handshakes a second: INITs now "
		    "need a cookie" : "secure: handshake load over (%d a second): INITs "
		    "accepted without a cookie", SLINK_LOAD_INITS);
	l->loaded = loaded;
	return loaded;
}

/* The bytes a cookie is bound to: family, address and port (no struct padding). */
static void
sl_src_bytes(const struct peer_addr *a, uint8_t out[19])
{
	out[0] = (uint8_t)a->family;
	memcpy(out + 1, a->ip, 16);
	out[17] = (uint8_t)(a->port & 0xff);
	out[18] = (uint8_t)(a->port >> 8);
}

static void
sl_on_init(struct slink *l, int sock, const struct peer_addr *local,
    const struct peer_addr *remote, const uint8_t *pkt, size_t len, uint64_t now)
{
	struct netd *n = l->n;
	struct secure_init_info info;
	struct slink_peer *sp;
	uint64_t id;
	size_t rlen;
	uint8_t src[19];
	char hex[17];
	int k, rc;

	/*
	 * Under load the check wants a cookie for the source in mac2: a
	 * spoofed source never gets one, so its INITs cost one hash each and
	 * leave nothing here; the COOKIE answering it is smaller than it.
	 */
	l->me.under_load = sl_load_note(l, now);
	sl_src_bytes(remote, src);
	rc = secure_respond_check(&l->me, pkt, len, src, sizeof(src), (int64_t)now,
	    &info, l->buf, sizeof(l->buf), &rlen);
	if (rc == SECURE_COOKIE) {
		n->counters[IPC_NC_SECURE_COOKIES]++;
		(void)n->env.send(n->env.ctx, sock, local, remote, l->buf, rlen);
		return;
	}
	if (rc != SECURE_OK) {
		n->counters[IPC_NC_DROP_SECURE_HANDSHAKE]++;
		return;
	}
	sp = sl_peer_make(l, info.peer_pub);
	sp->last_ms = now;
	if (!secure_ts_fresh(&sp->last_ts, info.ts_ms)) {
		n->counters[IPC_NC_DROP_SECURE_HANDSHAKE]++;	/* a replayed INIT */
		return;
	}
	/* Both initiated: the lower key's INIT wins, at both ends. */
	if (sp->init.pending) {
		if (memcmp(n->id.pub, sp->pub, 33) < 0)
			return;
		sl_init_drop(l, sp);
	}
	if ((id = sl_id_new(l)) == 0)
		return;
	k = sl_new_slot(l, sp);
	if (secure_respond(&info, &l->me, id, (int64_t)now, l->buf, sizeof(l->buf),
	    &rlen, &sp->sess[k]) != SECURE_OK)
		return;
	sp->valid[k] = 1;
	if (sl_id_put(l, id, SL_SESS, sp, k) != 0) {
		sl_sess_drop(l, sp, k);
		return;
	}
	n->counters[IPC_NC_SECURE_HANDSHAKES]++;
	log_debug("secure: session with %s up (responder)", sl_short_id(sp->pub, hex));
	/* It initiated: it can do the secure mode, and a live run of it knows our key. */
	sp->capable = 1;
	sp->probe_ms = 0;
	(void)n->env.send(n->env.ctx, sock, local, remote, l->buf, rlen);
}

static void
sl_count_drop(struct netd *n, int rc)
{
	n->counters[rc == SECURE_ERR_REPLAY ? IPC_NC_DROP_SECURE_REPLAY :
	    rc == SECURE_ERR_AUTH ? IPC_NC_DROP_SECURE_AUTH :
	    IPC_NC_DROP_SECURE_MALFORMED]++;
}

static void
sl_on_data(struct slink *l, struct slink_peer *sp, int k, int sock,
    const struct peer_addr *local, const struct peer_addr *remote,
    const uint8_t *pkt, size_t len, uint64_t now)
{
	struct netd *n = l->n;
	size_t out;
	int rc, was = sp->sess[k].confirmed;

	if (len > sizeof(l->rxbuf) ||
	    (rc = secure_open(&sp->sess[k], (int64_t)now, pkt, len, l->rxbuf,
	    sizeof(l->rxbuf), &out)) != SECURE_OK) {
		sl_count_drop(n, len > sizeof(l->rxbuf) ? SECURE_ERR_SHORT : rc);
		return;
	}
	n->counters[IPC_NC_SECURE_OPENED]++;
	/* The responder's session becomes the one it sends with. */
	if (!was && sp->sess[k].confirmed) {
		sp->cur = k;
		sl_wait_kick(l, sp->pub);
	}
	/*
	 * Empty: key confirmation.  Otherwise a whole version-0 datagram of
	 * that peer (slink_send), handled as if it had come in the clear —
	 * its own signature still names the sender.  Never nested.
	 */
	if (out == 0 || n->packet_in == NULL)
		return;
	if (out < WIRE_PACKET_MIN) {
		n->counters[IPC_NC_DROP_SECURE_MALFORMED]++;
		return;
	}
	l->in_inner = 1;
	n->packet_in(n, sock, local, remote, l->rxbuf, out);
	l->in_inner = 0;
}

int
slink_send(struct netd *n, const uint8_t to[33], int may_seal, int sock,
    const struct peer_addr *local, const struct peer_addr *remote,
    const uint8_t *buf, size_t len)
{
	struct slink *l = L(n);
	struct slink_peer *sp;
	uint64_t now;
	size_t out;

	if (l != NULL && may_seal && len + SECURE_OVERHEAD <= SLINK_WRAP_MAX &&
	    (sp = sl_peer_get(l, to)) != NULL && sp->cur >= 0) {
		now = slink_now(n);
		if (sl_sess_usable(sp, sp->cur, now) &&
		    secure_seal(&sp->sess[sp->cur], (int64_t)now, buf, len, l->txbuf,
		    sizeof(l->txbuf), &out) == SECURE_OK) {
			n->counters[IPC_NC_SECURE_SEALED]++;
			return n->env.send(n->env.ctx, sock, local, remote, l->txbuf, out);
		}
	}
	return n->env.send(n->env.ctx, sock, local, remote, buf, len);
}

int
slink_in(struct netd *n, int sock, const struct peer_addr *local,
    const struct peer_addr *remote, const uint8_t *raw, size_t len)
{
	struct slink *l = L(n);
	struct slink_id *e;
	uint64_t id, now;

	if (l == NULL || l->mode == CONF_SECURE_OFF || len < SECURE_ID_LEN + 1)
		return 0;
	id = secure_pkt_id(raw);
	/* Inside a session only version-0 packets: a handshake or DATA there is dropped. */
	if (l->in_inner && (id == secure_pkt_id(l->me.hs_id) || sl_id_get(l, id) != NULL)) {
		n->counters[IPC_NC_DROP_SECURE_MALFORMED]++;
		return 1;
	}
	now = slink_now(n);
	if (id == secure_pkt_id(l->me.hs_id) && raw[SECURE_ID_LEN] == SECURE_TYPE_INIT) {
		sl_on_init(l, sock, local, remote, raw, len, now);
		return 1;
	}
	if ((e = sl_id_get(l, id)) == NULL)
		return 0;
	if (e->kind == SL_INIT && (raw[SECURE_ID_LEN] == SECURE_TYPE_RESP ||
	    raw[SECURE_ID_LEN] == SECURE_TYPE_COOKIE))
		sl_on_resp(l, e->ptr, raw, len, now);
	else if (e->kind == SL_SESS && raw[SECURE_ID_LEN] == SECURE_TYPE_DATA)
		sl_on_data(l, e->ptr, e->idx, sock, local, remote, raw, len, now);
	else
		n->counters[IPC_NC_DROP_SECURE_MALFORMED]++;
	return 1;
}

/* --- timer: handshakes, rekeying, expiry ---------------------------------------- */

static void
sl_peer_tick(struct slink *l, struct slink_peer *sp, uint64_t now)
{
	int k, want;

	for (k = 0; k < 2; k++)
		if (sp->valid[k] && secure_session_expired(&sp->sess[k], (int64_t)now))
			sl_sess_drop(l, sp, k);
	/* The one we sent with expired: the other slot, if usable, takes over. */
	for (k = 0; k < 2 && sp->cur < 0; k++)
		if (sl_sess_usable(sp, k, now))
			sp->cur = k;
	if (sp->init.pending && now - sp->init_ms >= (sl_waiting(l, sp->pub) ?
	    SLINK_WAIT_RETRY_MS : SLINK_RETRY_MS))
		sl_init_drop(l, sp);
	/* The restart rule's probe went unanswered: a new run (sl_ext_in). */
	if (sp->probe_ms != 0 && now - sp->probe_ms >= SLINK_PROBE_MS) {
		log_info("secure: %s did not answer a handshake after announcing itself "
		    "in clear without an offer: a new run, sessions with it dropped",
		    sl_short_id(sp->pub, (char[17]){ 0 }));
		sl_peer_restarted(l, sp);
		sp->has_ext = 0;
		return;
	}
	if (!sp->has_ext || sp->init.pending)
		return;
	/* INITs go only to an address that proved it is the peer's (no reflection). */
	if (!peer_has_verified(peer_find(l->n->peers, sp->pub)))
		return;
	if (sp->cur < 0 || sp->probe_ms != 0)
		want = 1;
	else
		/* The initiator rekeys; the other side only if it did not. */
		want = sp->sess[sp->cur].initiator ?
		    secure_session_should_rekey(&sp->sess[sp->cur], (int64_t)now) :
		    now - (uint64_t)sp->sess[sp->cur].created_ms >=
		    SECURE_REKEY_AFTER_MS + 30000;
	if (!want)
		return;
	if (sl_gave_up(sp) && now - sp->init_ms < SLINK_BACKOFF_MS)
		return;
	if (sl_gave_up(sp))
		sp->tries = 0;
	sl_initiate(l, sp, now);
}

static void
slink_on_timer(void *arg)
{
	struct slink *l = arg;
	uint64_t now = slink_now(l->n);
	int i;

	net_tx_begin(l->n);
	for (i = 0; i < SLINK_PEERS; i++)
		if (l->peers[i].used)
			sl_peer_tick(l, &l->peers[i], now);
	net_tx_end(l->n);
}

int
slink_init(struct netd *n, uint8_t *features)
{
	struct slink *l;

	*features = 0;
	if (n->d->conf.secure_transport == CONF_SECURE_OFF)
		return 0;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return -1;
	l->n = n;
	l->mode = n->d->conf.secure_transport;
	if (secure_node_init(&l->me, &n->id, NULL, (int64_t)slink_now(n)) != SECURE_OK) {
		free(l);
		return -1;
	}
	for (int i = 0; i < SLINK_PEERS; i++)
		l->peers[i].cur = -1;
	l->timer = n->env.timer_add(n->env.ctx, SLINK_TICK_MS, SLINK_TICK_MS,
	    slink_on_timer, l);
	if (l->timer == NULL) {
		secure_node_wipe(&l->me);
		free(l);
		return -1;
	}
	n->slink = l;
	*features = WIRE_FEATURE_SECURE;
	return 0;
}

void
slink_free(struct netd *n)
{
	struct slink *l = L(n);
	int i;

	if (l == NULL)
		return;
	if (l->timer != NULL)
		n->env.timer_del(n->env.ctx, l->timer);
	if (l->wait_timer != NULL)
		n->env.timer_del(n->env.ctx, l->wait_timer);
	for (i = 0; i < SLINK_PEERS; i++)
		sl_peer_clear(l, &l->peers[i]);
	secure_node_wipe(&l->me);
	sodium_memzero(l, sizeof(*l));
	free(l);
	n->slink = NULL;
}

/* --- transfers ------------------------------------------------------------------ */

/*
 * Whether the peer can do the secure mode: it offered, or initiated a
 * session with us (sticky), or its latest signed Announcement/Response
 * shows bit 4 (its offer may not have reached us yet: first contacts carry
 * none).
 */
static int
sl_capable(struct slink *l, const struct slink_peer *sp, const uint8_t pub[33])
{
	const struct peer *p;

	if (sp != NULL && (sp->capable || sp->has_ext))
		return 1;
	return (p = peer_find(l->n->peers, pub)) != NULL &&
	    (p->features & WIRE_FEATURE_SECURE);
}

/* require, a capable peer, and no session that could seal or open: refuse. */
static int
sl_refuses(struct slink *l, const uint8_t pub[33], uint64_t now)
{
	const struct slink_peer *sp = sl_peer_get(l, pub);
	int k;

	if (l->mode != CONF_SECURE_REQUIRE || !sl_capable(l, sp, pub))
		return 0;
	for (k = 0; sp != NULL && k < 2; k++)
		if (sp->valid[k] && !secure_session_expired(&sp->sess[k], (int64_t)now))
			return 0;
	return 1;
}

const char *
slink_refusal(struct netd *n, const uint8_t pub[33])
{
	struct slink *l = L(n);

	if (l == NULL || !sl_refuses(l, pub, slink_now(n)))
		return NULL;
	return "refused: the peer offers the secure transport but no session with it "
	    "is up (secure_transport = require)";
}

static void
sl_wait_fire(void *arg);

/* The one-shot timer at the next waiter due (now when one is ready). */
static void
sl_wait_arm(struct slink *l)
{
	struct netd *n = l->n;
	uint64_t now = slink_now(n), due = UINT64_MAX;
	int i;

	for (i = 0; i < SLINK_WAITS; i++)
		if (l->waits[i].s != NULL) {
			if (l->waits[i].ready || l->waits[i].until <= now)
				due = now;
			else if (l->waits[i].until < due)
				due = l->waits[i].until;
		}
	if (l->wait_timer != NULL)
		n->env.timer_del(n->env.ctx, l->wait_timer);
	l->wait_timer = NULL;
	if (due != UINT64_MAX)
		l->wait_timer = n->env.timer_add(n->env.ctx, due - now, 0, sl_wait_fire, l);
}

static void
sl_wait_fire(void *arg)
{
	struct slink *l = arg;
	struct slink_wait w;
	struct slink_peer *sp;
	uint64_t now = slink_now(l->n);
	char id[17];
	int i;

	l->wait_timer = NULL;	/* one-shot: gone once it ran */
	net_tx_begin(l->n);
	for (i = 0; i < SLINK_WAITS; i++) {
		if (l->waits[i].s == NULL || (!l->waits[i].ready && l->waits[i].until > now))
			continue;
		/* Freed before the call: it may start, end or wait again. */
		w = l->waits[i];
		l->waits[i].s = NULL;
		sp = sl_peer_get(l, w.s->pub);
		log_info("secure: a transfer with %s waited %llu ms for the handshake: %s",
		    sl_short_id(w.s->pub, id),
		    (unsigned long long)(now + SLINK_XFER_WAIT_MS - w.until),
		    sp != NULL && sp->cur >= 0 && sl_sess_usable(sp, sp->cur, now) ?
		    "the session is up" : "no session");
		w.cb(w.s, w.gen);
	}
	net_tx_end(l->n);
	sl_wait_arm(l);
}

/* Whether a transfer waits for the handshake with pub. */
static int
sl_waiting(const struct slink *l, const uint8_t pub[33])
{
	int i;

	for (i = 0; i < SLINK_WAITS; i++)
		if (l->waits[i].s != NULL &&
		    memcmp(l->waits[i].s->pub, pub, PEERNET_PUBKEY_BYTES) == 0)
			return 1;
	return 0;
}

/* A session with pub became usable: its waiting transfers go now. */
static void
sl_wait_kick(struct slink *l, const uint8_t pub[33])
{
	int i, any = 0;

	for (i = 0; i < SLINK_WAITS; i++)
		if (l->waits[i].s != NULL &&
		    memcmp(l->waits[i].s->pub, pub, PEERNET_PUBKEY_BYTES) == 0)
			any = l->waits[i].ready = 1;
	if (any)
		sl_wait_arm(l);
}

int
slink_xfer_wait(struct xfer_sess *s, uint32_t gen,
    void (*cb)(struct xfer_sess *s, uint32_t gen))
{
	struct netd *n = s->n;
	struct slink *l = L(n);
	struct slink_peer *sp;
	struct peer *p;
	uint64_t now;
	int i, k = -1;

	if (l == NULL || l->mode == CONF_SECURE_OFF)
		return 0;
	now = slink_now(n);
	sp = sl_peer_get(l, s->pub);
	if (sp != NULL && sp->cur >= 0 && sl_sess_usable(sp, sp->cur, now))
		return 0;
	/*
	 * Only when a handshake can run: the peer can do it, is connected
	 * (INITs go to a proven address; a new connection is proven within a
	 * round trip), and its handshakes have not been failing
	 * (SLINK_MAX_TRIES unanswered INITs: it would not come now).
	 */
	if (!sl_capable(l, sp, s->pub) || (p = peer_find(n->peers, s->pub)) == NULL ||
	    p->nact == 0 || (sp != NULL && sl_gave_up(sp)))
		return 0;
	for (i = 0; i < SLINK_WAITS; i++) {
		if (l->waits[i].s == s)
			l->waits[i].s = NULL;
		if (l->waits[i].s == NULL && k < 0)
			k = i;
	}
	if (k < 0)
		return 0;
	l->waits[k].s = s;
	l->waits[k].gen = gen;
	l->waits[k].cb = cb;
	l->waits[k].until = now + SLINK_XFER_WAIT_MS;
	l->waits[k].ready = 0;
	/* Start the handshake now rather than at the next tick. */
	if (sp != NULL && sp->has_ext && !sp->init.pending && sp->cur < 0)
		sl_initiate(l, sp, now);
	sl_wait_arm(l);
	return 1;
}

int
slink_xfer_bind(struct xfer_sess *s)
{
	struct netd *n = s->n;
	struct slink *l = L(n);
	struct slink_peer *sp;
	struct slink_x *x;
	uint64_t now = slink_now(n);
	char id[17];
	int k;

	slink_xfer_unbind(s);
	if (l == NULL)
		return 0;
	sp = sl_peer_get(l, s->pub);
	if (sl_refuses(l, s->pub, now)) {
		n->counters[IPC_NC_SECURE_REFUSED]++;
		/* Retried requests and block downloads repeat it: one line per SLINK_LOG_MS. */
		if (sp == NULL || sp->refused_ms == 0 || now - sp->refused_ms >= SLINK_LOG_MS) {
			log_warnx("secure: refusing a plaintext transfer with %s: it "
			    "advertised the secure transport but no session is up "
			    "(secure_transport = require; counted in secure_refused)",
			    sl_short_id(s->pub, id));
			if (sp != NULL)
				sp->refused_ms = now;
		}
		return -1;
	}
	if (sp == NULL)
		return 0;
	sp->last_ms = now;
	if (sp->cur >= 0 && !sl_sess_usable(sp, sp->cur, now))
		sp->cur = -1;
	if (sp->cur < 0 && !sp->valid[0] && !sp->valid[1])
		return 0;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return -1;
	x->tx = -1;
	for (k = 0; k < 2; k++) {
		if (!sp->valid[k] || secure_session_expired(&sp->sess[k], (int64_t)now))
			continue;
		if (secure_xfer_derive(&sp->sess[k], s->id, s->role == XFER_REQUESTER,
		    &x->ch[x->nch]) != SECURE_OK)
			continue;
		if (sl_id_put(l, x->ch[x->nch].rx_id, SL_CHAN, s, x->nch) != 0)
			continue;
		if (k == sp->cur)
			x->tx = x->nch;
		x->nch++;
	}
	if (x->nch == 0) {
		free(x);
		return 0;
	}
	s->sec = x;
	return 0;
}

void
slink_xfer_unbind(struct xfer_sess *s)
{
	struct slink *l = L(s->n);
	struct slink_x *x = s->sec;
	int k;

	/* A transfer that ends (or moves on) while waiting is forgotten. */
	for (k = 0; l != NULL && k < SLINK_WAITS; k++)
		if (l->waits[k].s == s)
			l->waits[k].s = NULL;
	if (x == NULL)
		return;
	for (k = 0; k < x->nch; k++) {
		if (l != NULL)
			sl_id_del(l, x->ch[k].rx_id);
		secure_chan_wipe(&x->ch[k]);
	}
	sodium_memzero(x, sizeof(*x));
	free(x);
	s->sec = NULL;
}

struct xfer_sess *
slink_xfer_find(struct netd *n, const uint8_t *raw, size_t len)
{
	struct slink *l = L(n);
	struct slink_id *e;

	if (l == NULL || len < SECURE_OVERHEAD || raw[SECURE_ID_LEN] != SECURE_TYPE_DATA ||
	    (e = sl_id_get(l, secure_pkt_id(raw))) == NULL || e->kind != SL_CHAN)
		return NULL;
	return e->ptr;
}

int
slink_lite_seal(const struct xfer_sess *s, const uint8_t *pkt, size_t len, uint8_t *out,
    size_t cap, size_t *outlen)
{
	struct slink_x *x = s->sec;

	if (x == NULL || x->tx < 0)
		return 0;
	if (len + SECURE_OVERHEAD > cap)
		return -1;
	/* Straight from the UDT packet: no copy before the cipher's pass. */
	if (secure_chan_seal(&x->ch[x->tx], pkt, len, out) != SECURE_OK)
		return -1;
	s->n->counters[IPC_NC_SECURE_SEALED]++;
	*outlen = len + SECURE_OVERHEAD;
	return 1;
}

int
slink_lite_open(const struct xfer_sess *s, const uint8_t *raw, size_t len,
    const uint8_t **data, size_t *dlen)
{
	struct netd *n = s->n;
	struct slink *l = L(n);
	struct slink_x *x = s->sec;
	uint8_t *payload;
	uint64_t id;
	int k, rc;

	if (x == NULL || l == NULL)
		return 0;
	id = len >= SECURE_ID_LEN ? secure_pkt_id(raw) : 0;
	for (k = 0; k < x->nch; k++)
		if (x->ch[k].rx_id == id)
			break;
	if (k == x->nch) {
		/*
		 * Plaintext for a transfer that has channels: passes only while
		 * no sealed packet was authentic (the other end may have had no
		 * session yet), never with require.
		 */
		if (x->authentic || l->mode == CONF_SECURE_REQUIRE) {
			n->counters[IPC_NC_DROP_SECURE_PLAINTEXT]++;
			return -1;
		}
		return 0;
	}
	if (len > sizeof(l->buf)) {
		n->counters[IPC_NC_DROP_SECURE_MALFORMED]++;
		return -1;
	}
	/* From the receive buffer to ours: the cipher's pass is the copy. */
	payload = l->buf + SECURE_HDR_LEN;
	if ((rc = secure_chan_open(&x->ch[k], raw, len, payload, dlen)) != SECURE_OK) {
		sl_count_drop(n, rc);
		return -1;
	}
	n->counters[IPC_NC_SECURE_OPENED]++;
	x->authentic = 1;
	/* The other end holds this channel: from now on we seal with it too. */
	if (x->tx < 0)
		x->tx = k;
	*data = payload;
	return 1;
}

int
slink_offer_due(struct netd *n, const uint8_t pub[33])
{
	struct slink *l = L(n);
	struct slink_peer *sp;
	uint64_t now;

	if (l == NULL || l->mode == CONF_SECURE_OFF ||
	    ((sp = sl_peer_get(l, pub)) != NULL && sp->has_ext))
		return 0;
	now = slink_now(n);
	if (sp != NULL && ((sp->offer_ms != 0 && now - sp->offer_ms < SLINK_OFFER_MS) ||
	    (sp->cur >= 0 && sl_sess_usable(sp, sp->cur, now))))
		return 0;
	if (sp == NULL)
		sp = sl_peer_make(l, pub);
	sp->offer_ms = now;
	return 1;
}

void
slink_held(struct netd *n, int *peers, int *sessions)
{
	struct slink *l = L(n);
	int i;

	*peers = *sessions = 0;
	for (i = 0; l != NULL && i < SLINK_PEERS; i++)
		if (l->peers[i].used) {
			++*peers;
			*sessions += l->peers[i].valid[0] + l->peers[i].valid[1];
		}
}

int
slink_peer_state(struct netd *n, const uint8_t pub[33])
{
	struct slink *l = L(n);
	struct slink_peer *sp;
	uint64_t now;

	if (l == NULL || (sp = sl_peer_get(l, pub)) == NULL)
		return SLINK_STATE_V0;
	now = slink_now(n);
	/* A responder may hold a session with a peer whose offer it never got. */
	if (sp->cur >= 0 && sl_sess_usable(sp, sp->cur, now))
		return SLINK_STATE_SECURE;
	return sp->has_ext || sp->capable ? SLINK_STATE_PLAIN : SLINK_STATE_V0;
}
