/*
 * searchd.c — start-up of peernet-searchd, the owner of the keyword index
 * DIR/search/index.db, and the two ways the index follows storaged:
 *
 *  - events (pub/sub, nng reconnects by itself): FILE_ADDED, FILE_REMOVED
 *    and OWNER_DROPPED change the index at once, every event that arrived
 *    by one wake-up in one transaction;
 *  - a rebuild, at start-up and on IPC_REINDEX, because events are lost
 *    while searchd or storaged is down: every file record is read from
 *    storaged with IPC_FILES_ALL, page by page from a resumable cursor (a
 *    position in storaged's stream, so a failed page is asked again and
 *    changes between pages shift nothing), from a timer (a slice of at
 *    most SEARCHD_REBUILD_SLICE_MS per wake-up, so requests are answered
 *    meanwhile), into a new database (index.db.new) that replaces the old
 *    one only when complete.  Queries use the old index until then, and
 *    events go to both.
 *
 * This node's own key comes from netd (IPC_ID) once its link is up: the
 * own files are always kept in results.
 */
#include <sys/epoll.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "ipc.h"
#include "log.h"
#include "searchd.h"

static struct searchd searchd;

static int
searchd_privileged(struct daemon *d, char *err, size_t errlen)
{
	searchd.d = d;
	return daemon_make_dir(d, "search", 0750, err, errlen);
}

/* ---- events ------------------------------------------------------------ */

static void
searchd_apply(struct idx *idx, uint16_t type, const struct ipc_file *f)
{
	struct idx_file xf;
	int rc = IDX_OK;

	switch (type) {
	case IPC_EV_FILE_ADDED:
		searchd_file_from_ipc(f, &xf);
		rc = idx_add_file(idx, &xf);
		break;
	case IPC_EV_FILE_REMOVED:
		if ((rc = idx_remove_file(idx, f->owner, f->id)) == IDX_E_NOTFOUND)
			rc = IDX_OK;
		break;
	case IPC_EV_OWNER_DROPPED:
		rc = idx_remove_owner(idx, f->owner, NULL);
		break;
	}
	if (rc != IDX_OK)
		log_warnx("index: %s event: %s (%s)", ipc_type_name(type),
		    idx_strerror(rc), idx_errmsg(idx));
}

static void
searchd_on_event(int fd, uint32_t events, void *arg)
{
	static struct ipc_file f;
	struct searchd *s = arg;
	struct ipc_hdr h;
	uint8_t *msg;
	size_t len;
	int live_tx, rb_tx, rc;

	(void)fd;
	(void)events;
	/* One transaction per wake-up: a burst of events costs one commit. */
	live_tx = s->idx != NULL && idx_begin(s->idx) == IDX_OK;
	rb_tx = s->rb.idx != NULL && idx_begin(s->rb.idx) == IDX_OK;
	while (ipc_sub_recv(&s->events, &msg, &len) == 0) {
		if (ipc_hdr_decode(msg, len, &h) != 0) {
			s->bad_events++;
			log_warnx("malformed event from storaged");
			free(msg);
			continue;
		}
		s->nevents++;
		switch (h.type) {
		case IPC_EV_FILE_ADDED:
		case IPC_EV_FILE_REMOVED:
		case IPC_EV_OWNER_DROPPED:
			if ((rc = ipc_file_decode(msg, len, h.type, &f)) != 0) {
				s->bad_events++;
				log_warnx("malformed %s event: %s", ipc_type_name(h.type),
				    ipc_decode_strerror(rc));
				break;
			}
			if (s->idx != NULL)
				searchd_apply(s->idx, h.type, &f);
			if (s->rb.idx != NULL)
				searchd_apply(s->rb.idx, h.type, &f);
			break;
		default:
			log_debug("event %s from storaged", ipc_type_name(h.type));
		}
		free(msg);
	}
	s->last_event_ms = loop_now_ms();
	if (live_tx && (rc = idx_commit(s->idx)) != IDX_OK)
		log_warnx("index commit: %s (%s)", idx_strerror(rc), idx_errmsg(s->idx));
	if (rb_tx && s->rb.idx != NULL && (rc = idx_commit(s->rb.idx)) != IDX_OK)
		log_warnx("new index commit: %s (%s)", idx_strerror(rc),
		    idx_errmsg(s->rb.idx));
}

/* ---- rebuild from storaged ----------------------------------------------- */

static void
searchd_rebuild_path(struct searchd *s, char *out, size_t cap, const char *suffix)
{
	snprintf(out, cap, "%s.new%s", s->idx_path, suffix);
}

static void
searchd_unlink_db(const char *db)
{
	char p[PATH_MAX + 8];

	unlink(db);
	snprintf(p, sizeof(p), "%s-wal", db);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", db);
	unlink(p);
	snprintf(p, sizeof(p), "%s-journal", db);
	unlink(p);
}

static void searchd_rebuild_step(void *arg);
static void searchd_rebuild_drop(struct searchd *s, const char *why);

/*
 * Each step arms the next as a one-shot timer (which frees itself): a
 * periodic timer could not be deleted from its own callback.
 */
static int
searchd_rebuild_arm(struct searchd *s, uint64_t after_ms)
{
	return loop_timer_add(&s->d->loop, after_ms, 0, searchd_rebuild_step,
	    s) == NULL ? -1 : 0;
}

void
searchd_rebuild_start(struct searchd *s)
{
	char path[PATH_MAX];
	const char *env;
	long v;
	int rc;

	if (s->rb.active) {
		s->rb.again = 1;
		return;
	}
	searchd_rebuild_path(s, path, sizeof(path), "");
	searchd_unlink_db(path);
	if ((rc = idx_open(&s->rb.idx, path)) != IDX_OK) {
		log_warnx("%s: %s", path, idx_strerror(rc));
		s->rb.idx = NULL;
		return;
	}
	s->rb.active = 1;
	s->rb.again = 0;
	memset(&s->rb.next, 0, sizeof(s->rb.next));
	s->rb.next.phase = IPC_FILES_OWN;
	s->rb.page = SEARCHD_PAGE_FILES;
	if ((env = getenv(SEARCHD_PAGE_ENV)) != NULL && (v = strtol(env, NULL,
	    10)) >= 1 && v <= IPC_FILES_PAGE_MAX)
		s->rb.page = (uint32_t)v;
	s->rb.pages = 0;
	s->rb.files = 0;
	s->rb.warned = 0;
	s->rb.start_ms = loop_now_ms();
	if (searchd_rebuild_arm(s, 1) == -1) {
		searchd_rebuild_drop(s, "no timer");
		return;
	}
	log_info("rebuilding the index from storaged");
}

static void
searchd_rebuild_drop(struct searchd *s, const char *why)
{
	char path[PATH_MAX];

	log_warnx("index rebuild abandoned: %s", why);
	idx_close(s->rb.idx);
	s->rb.idx = NULL;
	s->rb.active = 0;
	searchd_rebuild_path(s, path, sizeof(path), "");
	searchd_unlink_db(path);
}

/* The new index is complete: it replaces the live one. */
static void
searchd_rebuild_swap(struct searchd *s)
{
	char path[PATH_MAX];
	struct idx_counts c;
	int rc;

	if ((rc = idx_compact(s->rb.idx)) != IDX_OK)
		log_warnx("new index compaction: %s", idx_strerror(rc));
	memset(&c, 0, sizeof(c));
	idx_count(s->rb.idx, &c);
	/* Closing checkpoints the WAL into the file: one file to rename. */
	idx_close(s->rb.idx);
	s->rb.idx = NULL;
	s->rb.active = 0;
	idx_close(s->idx);
	s->idx = NULL;
	job_table_set_index(s->jobs, NULL);
	searchd_rebuild_path(s, path, sizeof(path), "");
	/* A WAL left beside the old file must not be replayed into the new one. */
	{
		char p[PATH_MAX + 8];

		snprintf(p, sizeof(p), "%s-wal", s->idx_path);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", s->idx_path);
		unlink(p);
	}
	if (rename(path, s->idx_path) == -1)
		log_warnx("rename %s: %s; keeping the old index", path, strerror(errno));
	if ((rc = idx_open(&s->idx, s->idx_path)) != IDX_OK) {
		/* No index: searches fail cleanly; the daemon stays up. */
		log_warnx("%s: %s", s->idx_path, idx_strerror(rc));
		s->idx = NULL;
	}
	job_table_set_index(s->jobs, s->idx);
	log_info("index rebuilt: %llu files (%llu keywords postings, %llu owners) "
	    "in %llu ms, %llu pages", (unsigned long long)c.files,
	    (unsigned long long)c.postings, (unsigned long long)c.owners,
	    (unsigned long long)(loop_now_ms() - s->rb.start_ms),
	    (unsigned long long)s->rb.pages);
	if (s->rb.again)
		searchd_rebuild_start(s);
}

/* One page: 1 when it was the last, 0 for more, -1 to retry later. */
static int
searchd_rebuild_page(struct searchd *s)
{
	static struct ipc_file f;
	struct ipc_files_req q;
	struct ipc_files_page pg;
	struct ipc_hdr h;
	struct idx_file xf;
	char err[256], reason[IPC_STR_MAX + 1];
	uint8_t buf[IPC_HDR_LEN + 64], *rep;
	size_t len;
	uint16_t status;
	long n;
	int rc;

	q.from = s->rb.next;
	q.limit = s->rb.page;
	n = ipc_files_req_encode(buf, sizeof(buf), &q);
	if (daemon_call(s->d, "storaged", buf, (size_t)n, &rep, &len,
	    SEARCHD_PAGE_CALL_MS, err, sizeof(err)) != 0) {
		if (!s->rb.warned++)
			log_info("rebuild waits for storaged: %s", err);
		return -1;
	}
	if (ipc_hdr_decode(rep, len, &h) == 0 && h.status != IPC_OK) {
		if (ipc_error_decode(rep, len, &status, reason, sizeof(reason)) != 0)
			strlcpy(reason, ipc_err_str(h.status), sizeof(reason));
		if (!s->rb.warned++)
			log_info("rebuild waits for storaged: %s", reason);
		free(rep);
		return -1;
	}
	if ((rc = ipc_files_page_decode(rep, len, &pg)) != 0 ||
	    ipc_files_cursor_cmp(&pg.from, &q.from) != 0) {
		log_warnx("storaged's files page: %s", rc ? ipc_decode_strerror(rc) :
		    "another cursor");
		free(rep);
		return -1;
	}
	if ((rc = idx_begin(s->rb.idx)) != IDX_OK) {
		free(rep);
		return -1;
	}
	while (ipc_files_page_next(&pg, &f) == 1) {
		searchd_file_from_ipc(&f, &xf);
		if ((rc = idx_add_file(s->rb.idx, &xf)) != IDX_OK) {
			log_warnx("new index: %s (%s)", idx_strerror(rc),
			    idx_errmsg(s->rb.idx));
			idx_rollback(s->rb.idx);
			free(rep);
			return -1;
		}
		s->rb.files++;
	}
	free(rep);
	if ((rc = idx_commit(s->rb.idx)) != IDX_OK) {
		log_warnx("new index commit: %s", idx_strerror(rc));
		return -1;
	}
	s->rb.next = pg.next;
	s->rb.pages++;
	return pg.done ? 1 : 0;
}

static void
searchd_rebuild_step(void *arg)
{
	struct searchd *s = arg;
	uint64_t start = loop_now_ms();
	int rc;

	if (!s->rb.active)
		return;
	do {
		if ((rc = searchd_rebuild_page(s)) == 1) {
			searchd_rebuild_swap(s);
			return;
		}
		if (rc == -1)
			break;
	} while (loop_now_ms() - start < SEARCHD_REBUILD_SLICE_MS);
	/* Requests and events are served between two slices. */
	if (searchd_rebuild_arm(s, rc == -1 ? SEARCHD_REBUILD_RETRY_MS : 1) == -1)
		searchd_rebuild_drop(s, "no timer");
}

/* ---- identity -------------------------------------------------------------- */

static void
searchd_ask_id(struct searchd *s)
{
	struct ipc_id id;

	if (daemon_netd_id(s->d, &id, SEARCHD_CALL_MS) != 0)
		return;
	memcpy(s->self, id.pubkey, sizeof(s->self));
	s->have_self = 1;
	job_table_set_self(s->jobs, s->self);
	log_info("own files are those of this node's key");
}

static void
searchd_on_tick(void *arg)
{
	struct searchd *s = arg;
	int i;

	if (!s->have_self)
		for (i = 0; i < s->d->nlinks; i++)
			if (strcmp(s->d->links[i].name, "netd") == 0 &&
			    ipc_link_state(&s->d->links[i], loop_now_ms(),
			    DAEMON_LINK_STALE_MS) == IPC_LINK_UP)
				searchd_ask_id(s);
	job_table_tick(s->jobs);
}

/* ---- start-up ---------------------------------------------------------------- */

static int
searchd_setup(struct daemon *d, char *err, size_t errlen)
{
	struct job_table_cfg jc;
	char path[PATH_MAX];
	int rc;

	snprintf(searchd.idx_path, sizeof(searchd.idx_path), "%s/search/index.db",
	    d->dir);
	if ((rc = idx_open(&searchd.idx, searchd.idx_path)) == IDX_E_SCHEMA) {
		/* An index of another version is only a cache: start afresh. */
		log_warnx("%s: %s: recreated", searchd.idx_path, idx_strerror(rc));
		searchd_unlink_db(searchd.idx_path);
		rc = idx_open(&searchd.idx, searchd.idx_path);
	}
	if (rc != IDX_OK) {
		snprintf(err, errlen, "%s: %s", searchd.idx_path, idx_strerror(rc));
		return -1;
	}
	memset(&jc, 0, sizeof(jc));
	jc.idx = searchd.idx;
	jc.is_connected = searchd_is_connected;
	jc.conn_arg = &searchd;
	if (job_table_new(&searchd.jobs, &jc) != JOB_OK) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (daemon_sock_path(d, "storaged-events", path, sizeof(path)) == -1 ||
	    ipc_sub_open(&searchd.events, path) == -1) {
		snprintf(err, errlen, "cannot subscribe to storaged events");
		return -1;
	}
	/* A burst (a cached block of many files) must not overflow the queue. */
	nng_socket_set_int(searchd.events.sock, NNG_OPT_RECVBUF, 8192);
	if (loop_add_fd(&d->loop, searchd.events.fd, EPOLLIN, searchd_on_event,
	    &searchd) == -1 ||
	    loop_timer_add(&d->loop, SEARCHD_TICK_MS, SEARCHD_TICK_MS,
	    searchd_on_tick, &searchd) == NULL) {
		snprintf(err, errlen, "loop: %s", strerror(errno));
		return -1;
	}
	/* Events may have been missed while searchd was down. */
	searchd_rebuild_start(&searchd);
	return 0;
}

static void
searchd_shutdown(struct daemon *d)
{
	char path[PATH_MAX];

	(void)d;
	ipc_sub_close(&searchd.events);
	if (searchd.rb.idx != NULL) {
		idx_close(searchd.rb.idx);
		searchd.rb.idx = NULL;
		searchd_rebuild_path(&searchd, path, sizeof(path), "");
		searchd_unlink_db(path);
	}
	job_table_free(searchd.jobs);
	idx_close(searchd.idx);
	free(searchd.peers);
}

static const struct daemon_ops searchd_ops = {
	.privileged = searchd_privileged,
	.setup = searchd_setup,
	.request = searchd_request,
	.shutdown = searchd_shutdown,
};

int
main(int argc, char **argv)
{
	static struct daemon d = {
		.name = "searchd",
		.procname = "peernet-searchd",
		.role = SBX_SEARCHD,
		.ops = &searchd_ops,
		.ctx = &searchd,
	};

	return daemon_main(&d, argc, argv);
}
