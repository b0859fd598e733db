/*
 * storaged.h — peernet-storaged: the owner of every persistent byte of a
 * node (warehouse, own blockchain, cache of other chains).
 */
#ifndef PEERNET_STORAGED_H
#define PEERNET_STORAGED_H

#include <stdint.h>

#include "cache.h"
#include "chain.h"
#include "daemon.h"
#include "ipc.h"
#include "warehouse.h"

#define STORAGED_MAX_UPLOADS	16
#define STORAGED_UPLOAD_IDLE_MS	120000	/* an upload without data for this long is dropped */

struct storaged_upload {
	uint32_t		 id;		/* 0: free slot */
	struct wh_writer	*w;
	uint64_t		 expected;
	uint64_t		 received;
	uint64_t		 last_ms;
	uid_t			 uid;		/* only the uploader may continue it */
	struct ipc_add_begin	 meta;
};

struct storaged {
	struct daemon		*d;
	struct ipc_pub		 events;
	struct wh		*wh;
	struct chain		*chain;		/* opened once netd told us the key */
	struct cache		*cache;		/* other peers' chains */
	uint8_t			 owner[33];
	uint32_t		 next_upload;
	struct storaged_upload	 uploads[STORAGED_MAX_UPLOADS];
};

/* The handler of one request type: answers req (msg: the whole request). */
typedef void storaged_serve_fn(struct storaged *s, struct ipc_req *req,
    const uint8_t *msg, size_t len);

/* serve.c */
void	storaged_request(struct daemon *d, struct ipc_req *req, uint16_t type,
	    const uint8_t *msg, size_t len);
storaged_serve_fn storaged_peers_save, storaged_peers_load;
/* recover.c */
void	storaged_mark_download(struct storaged *s, const uint8_t hash[32]);
void	storaged_recover(struct storaged *s);
void	storaged_uploads_expire(struct storaged *s, uint64_t now_ms);
void	storaged_publish_file(struct storaged *s, uint16_t type,
	    const struct chain_file *cf, const uint8_t owner[33]);
void	storaged_file_to_ipc(const struct chain_file *cf, const uint8_t owner[33],
	    struct ipc_file *f);
/* date-created and the other tags of a record, as far as IPC_TAGS_MAX allows. */
void	storaged_tags_to_ipc(const struct chain_file *cf, struct ipc_tags *t);
/* The tags of a request into cf: the first 8-byte date-created tag becomes
 * cf->date_created, the others are kept in order (at most cap). */
void	storaged_tags_from_ipc(const struct ipc_tags *t, struct chain_file *cf,
	    struct chain_tag *tags, size_t cap);
/* 0 when the own chain is open, else -1 with an IPC_ERR_UNAVAILABLE reply. */
int	storaged_need_chain(struct storaged *s, struct ipc_req *req);
/* serve_web.c: the web API's requests (ipc_msg_web.h) */
storaged_serve_fn storaged_publish, storaged_chain_append, storaged_profile_del,
    storaged_wipe, storaged_peer_profile;
/* serve_files.c: IPC_FILES_ALL, every file record (own chain, then cache) */
storaged_serve_fn storaged_files_all;

/* serve_dl.c: file transfers: IPC_XSTAT, downloads into the warehouse (IPC_DL_*) */
storaged_serve_fn storaged_xstat, storaged_dl_begin, storaged_dl_data,
    storaged_dl_commit, storaged_dl_abort;

#endif
