/*
 * searchd.h — peernet-searchd: the owner of the keyword index
 * (DIR/search/index.db), fed by storaged's events, rebuilt from storaged
 * with IPC_FILES_ALL, and the search jobs peernetctl runs over it.
 */
#ifndef PEERNET_SEARCHD_H
#define PEERNET_SEARCHD_H

#include <limits.h>
#include <stdint.h>

#include "daemon.h"
#include "index.h"
#include "ipc.h"
#include "ipc_msg_search.h"
#include "job.h"

#define SEARCHD_TICK_MS		500
#define SEARCHD_PEERS_TTL_MS	1500	/* connected set reused this long */
#define SEARCHD_CALL_MS		1000	/* netd answers (id, peers) */
#define SEARCHD_PAGE_FILES	2000	/* files per IPC_FILES_ALL page */
/* Test knob: files per page from the environment (1..IPC_FILES_PAGE_MAX). */
#define SEARCHD_PAGE_ENV	"PEERNET_SEARCHD_PAGE_FILES"
#define SEARCHD_PAGE_CALL_MS	30000	/* storaged walks its stores per page */
#define SEARCHD_REBUILD_SLICE_MS 50	/* loop time one rebuild step may take */
#define SEARCHD_REBUILD_RETRY_MS 1000	/* storaged not ready: try again */
#define SEARCHD_MAX_PEERS	65536	/* connected peers remembered */

/* Rebuilding the index from storaged into a new database, then swapping. */
struct searchd_rebuild {
	int		 active;
	int		 again;		/* requested while running: once more */
	struct idx	*idx;		/* the new index being filled */
	struct ipc_files_cursor next;	/* where the next page starts */
	uint32_t	 page;		/* files per page (SEARCHD_PAGE_FILES) */
	uint64_t	 pages;		/* pages read */
	uint64_t	 files;		/* indexed so far */
	uint64_t	 start_ms;
	int		 warned;
};

struct searchd {
	struct daemon		*d;
	struct ipc_sub		 events;
	struct idx		*idx;		/* the index queries use */
	struct job_table	*jobs;
	char			 idx_path[PATH_MAX];
	struct searchd_rebuild	 rb;
	/* this node's peer ID (from netd, or the own chain's owner) */
	int			 have_self;
	uint8_t			 self[IDX_OWNER_LEN];
	/* peers with an active connection, sorted (from netd, cached) */
	uint8_t			(*peers)[IDX_OWNER_LEN];
	size_t			 npeers;
	uint64_t		 peers_ms;	/* when fetched; 0: never */
	int			 peers_warned;
	/* counters */
	uint64_t		 nevents;
	uint64_t		 bad_events;
	uint64_t		 last_event_ms;
};

/* serve.c */
void	searchd_request(struct daemon *d, struct ipc_req *req, uint16_t type,
	    const uint8_t *msg, size_t len);
/* Refreshes the connected set from netd when it is older than the TTL. */
void	searchd_peers_refresh(struct searchd *s);
int	searchd_is_connected(const uint8_t owner[IDX_OWNER_LEN], void *arg);
/* An ipc_file as the index sees it (strings point into f). */
void	searchd_file_from_ipc(const struct ipc_file *f, struct idx_file *out);

/* searchd.c */
/* Starts a rebuild from storaged (or marks one more after the running one). */
void	searchd_rebuild_start(struct searchd *s);

#endif
