/*
 * storaged.c — start-up of peernet-storaged: the warehouse, the own chain
 * (opened once netd, the holder of the identity, has told us the public
 * key; blocks are signed by netd over IPC), and the events for searchd on
 * DIR/run/storaged-events.sock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blake3.h"
#include "daemon.h"
#include "diskq.h"
#include "ipc.h"
#include "log.h"
#include "storaged.h"

#define STORAGED_TICK_MS	500
#define STORAGED_SIGN_TIMEOUT_MS 5000

static struct storaged storaged;

static int
storaged_privileged(struct daemon *d, char *err, size_t errlen)
{
	storaged.d = d;
	return daemon_make_dir(d, "storage", 0750, err, errlen);
}

/* Blocks are signed by netd: storaged never sees the private key. */
static int
storaged_sign(void *arg, const uint8_t hash[32], uint8_t sig[65])
{
	struct storaged *s = arg;
	struct ipc_sign_req q;
	struct ipc_sign_rep r;
	uint8_t buf[64], *rep;
	char err[256];
	size_t len;
	long n;
	int rc;

	memcpy(q.hash, hash, 32);
	n = ipc_sign_req_encode(buf, sizeof(buf), &q);
	if (daemon_call(s->d, "netd", buf, (size_t)n, &rep, &len,
	    STORAGED_SIGN_TIMEOUT_MS, err, sizeof(err)) != 0) {
		log_warnx("signing by netd failed: %s", err);
		return -1;
	}
	rc = ipc_sign_rep_decode(rep, len, &r);
	free(rep);
	if (rc != 0) {
		log_warnx("netd's signature reply: %s", ipc_decode_strerror(rc));
		return -1;
	}
	memcpy(sig, r.sig, 65);
	return 0;
}

void
storaged_publish_file(struct storaged *s, uint16_t type, const struct chain_file *cf,
    const uint8_t owner[33])
{
	static struct ipc_file f;
	static uint8_t buf[8192];
	long n;

	if (cf != NULL)
		storaged_file_to_ipc(cf, owner, &f);
	else {
		memset(&f, 0, sizeof(f));
		memcpy(f.owner, owner, sizeof(f.owner));
	}
	if ((n = ipc_file_encode(buf, sizeof(buf), type, &f)) > 0)
		ipc_publish(&s->events, buf, (size_t)n);
}

static void
storaged_publish_chain(struct storaged *s)
{
	struct ipc_chain_info ci;
	struct chain_info info;
	uint8_t buf[64];
	long n;

	if (s->chain == NULL || chain_info(s->chain, &info) != 0)
		return;
	ci.version = info.version;
	/* A last block still filling is announced later (chain_seal). */
	ci.height = info.announce_height;
	ci.files = info.nfiles;
	ci.bytes = info.file_bytes;
	if ((n = ipc_chain_info_encode(buf, sizeof(buf), IPC_EV_CHAIN, &ci)) > 0)
		ipc_publish(&s->events, buf, (size_t)n);
}

/* Every committed change of the own chain becomes an event for searchd/netd. */
static void
storaged_on_chain_event(void *arg, int kind, const struct chain_file *f)
{
	struct storaged *s = arg;

	switch (kind) {
	case CHAIN_EV_FILE_ADDED:
		storaged_publish_file(s, IPC_EV_FILE_ADDED, f, s->owner);
		break;
	case CHAIN_EV_FILE_REMOVED:
		storaged_publish_file(s, IPC_EV_FILE_REMOVED, f, s->owner);
		break;
	case CHAIN_EV_FILE_UPDATED:
		storaged_publish_file(s, IPC_EV_FILE_REMOVED, f, s->owner);
		storaged_publish_file(s, IPC_EV_FILE_ADDED, f, s->owner);
		break;
	default:
		break;
	}
	storaged_publish_chain(s);
}

/* Records entering and leaving the cache of other chains, for searchd. */
static void
storaged_on_cache_event(void *arg, int kind, const uint8_t owner[33],
    uint64_t version, const struct chain_file *f)
{
	struct storaged *s = arg;

	(void)version;
	if (kind == CACHE_EV_FILE_ADDED)
		storaged_publish_file(s, IPC_EV_FILE_ADDED, f, owner);
	else if (kind == CACHE_EV_FILE_REMOVED)
		storaged_publish_file(s, IPC_EV_FILE_REMOVED, f, owner);
	else if (kind == CACHE_EV_PEER_DROPPED)
		storaged_publish_file(s, IPC_EV_OWNER_DROPPED, NULL, owner);
}

/* Asks netd for the node's public key, then opens DIR/storage/chain.db. */
static void
storaged_open_chain(struct storaged *s)
{
	char path[PATH_MAX], err[512];
	struct ipc_id id;

	if (daemon_netd_id(s->d, &id, 2000) != 0)
		return;
	snprintf(path, sizeof(path), "%s/storage/chain.db", s->d->dir);
	if (chain_open(&s->chain, path, id.pubkey, storaged_sign, s, err,
	    sizeof(err)) != 0) {
		log_warnx("%s: %s", path, err);
		s->chain = NULL;
		return;
	}
	memcpy(s->owner, id.pubkey, sizeof(s->owner));
	chain_set_event_cb(s->chain, storaged_on_chain_event, s);
	/* Reference peers fetch 256 blocks of a chain at most (docs/chain.md). */
	chain_set_max_blocks(s->chain, s->d->conf.chain_max_blocks);
	log_info("own blockchain open: %s", path);
	/* No upload can be in flight yet: what has no record is an interrupted add. */
	storaged_recover(s);
	storaged_publish_chain(s);
}

static void
storaged_on_tick(void *arg)
{
	struct storaged *s = arg;
	uint64_t now = loop_now_ms();
	int i;

	if (s->chain == NULL) {
		for (i = 0; i < s->d->nlinks; i++)
			if (strcmp(s->d->links[i].name, "netd") == 0 &&
			    ipc_link_state(&s->d->links[i], now,
			    DAEMON_LINK_STALE_MS) == IPC_LINK_UP)
				storaged_open_chain(s);
	}
	storaged_uploads_expire(s, now);
	/* The last block of the chain has stopped growing: announce it. */
	if (s->chain != NULL && chain_seal(s->chain, 0) == 1)
		storaged_publish_chain(s);
}

static int
storaged_setup(struct daemon *d, char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (daemon_sock_path(d, "storaged-events", path, sizeof(path)) == -1) {
		snprintf(err, errlen, "%s/run: path too long for a unix socket", d->dir);
		return -1;
	}
	if (ipc_pub_open(&storaged.events, path, err, errlen) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/storage/warehouse", d->dir);
	if (d->conf.warehouse[0] != '\0')
		strlcpy(path, d->conf.warehouse, sizeof(path));
	if (wh_open(&storaged.wh, path, err, errlen) != 0)
		return -1;
	{
		struct cache_limits lim;

		memset(&lim, 0, sizeof(lim));
		lim.max_block_size = d->conf.cache_max_block_size;
		lim.max_block_count = d->conf.cache_max_block_count;
		lim.max_bytes = d->conf.cache_max_bytes;
		snprintf(path, sizeof(path), "%s/storage/cache.db", d->dir);
		if (cache_open(&storaged.cache, path, &lim, err, errlen) != 0)
			return -1;
		cache_set_event_cb(storaged.cache, storaged_on_cache_event, &storaged);
	}
	storaged.next_upload = 1;
	/* A second core hashes the merkle leaves of added and checked files
	 * while this one hashes the file (blake3_split.c). */
	if (blake3_split_par_start() != 0)
		log_warnx("no hashing helper thread: each file is hashed twice on one core");
	if (loop_timer_add(&d->loop, STORAGED_TICK_MS, STORAGED_TICK_MS,
	    storaged_on_tick, &storaged) == NULL) {
		snprintf(err, errlen, "timer failed");
		return -1;
	}
	return 0;
}

static void
storaged_shutdown(struct daemon *d)
{
	int i;

	for (i = 0; i < STORAGED_MAX_UPLOADS; i++)
		if (storaged.uploads[i].id != 0)
			wh_write_abort(storaged.uploads[i].w);
	diskq_shutdown();
	if (storaged.chain != NULL)
		chain_close(storaged.chain);
	if (storaged.cache != NULL)
		cache_close(storaged.cache);
	if (storaged.wh != NULL)
		wh_close(storaged.wh);
	ipc_pub_close(&storaged.events);
}

/*
 * File data from and to netd and apid (a stored file's descriptor), and the
 * data of peernetctl's adds: handlers that answer at once.  The rest of an
 * add (begin, end, abort) stays on the nng socket: one request each per file.
 */
static const uint16_t storaged_bulk_types[] = { IPC_DL_DATA, IPC_CAT, IPC_FILE_FD, IPC_ADD_DATA };

static const struct daemon_ops storaged_ops = {
	.privileged = storaged_privileged,
	.setup = storaged_setup,
	.request = storaged_request,
	.shutdown = storaged_shutdown,
	.bulk_types = storaged_bulk_types,
	.nbulk_types = sizeof(storaged_bulk_types) / sizeof(storaged_bulk_types[0]),
};

int
main(int argc, char **argv)
{
	static struct daemon d = {
		.name = "storaged",
		.procname = "peernet-storaged",
		.role = SBX_STORAGED,
		.ops = &storaged_ops,
		.ctx = &storaged,
	};

	return daemon_main(&d, argc, argv);
}
