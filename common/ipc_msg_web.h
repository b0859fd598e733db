/*
 * ipc_msg_web.h — the web API's requests to storaged (types 34..39 in
 * ipc_msg.h): what peernet-apid needs beyond `peernetctl`'s messages to
 * serve the reference's warehouse, blockchain, profile and account routes
 * (FEATURES.md §3.1-§3.3, §3.6).  Structs and codecs.
 *
 *	IPC_WH_END	apid -> storaged: finish an upload begun with
 *			IPC_ADD_BEGIN (its size an upper bound) into the
 *			warehouse only, publishing nothing (/warehouse/create)
 *	IPC_PUBLISH	apid -> storaged: publish or replace file records of
 *			content in the warehouse (/blockchain/file/add|update)
 *	IPC_CHAIN_APPEND apid -> storaged: raw records as one new block
 *			(/blockchain/append)
 *	IPC_PROFILE_DEL	apid -> storaged: delete profile fields (/profile/delete)
 *	IPC_WIPE	apid -> storaged: delete one content's data
 *			(/warehouse/delete), or the account (/account/delete)
 *	IPC_PEER_PROFILE apid -> storaged: another node's profile from the
 *			cache of its chain (/profile/list|read?node=)
 */
#ifndef PEERNET_IPC_MSG_WEB_H
#define PEERNET_IPC_MSG_WEB_H

#include <stddef.h>
#include <stdint.h>

#include "ipc_msg_decl.h"

/* IPC_WH_END reply. */
struct ipc_wh_result {
	uint8_t		dedup;		/* the content was already stored */
	uint8_t		hash[32];
	uint64_t	size;
};

/*
 * IPC_PUBLISH request: up to IPC_PUBLISH_MAX files (the owner field of
 * each is not sent).  replace = 1: records with these IDs are replaced
 * (an ID is required); 0: new records (a zero ID gets a random one).
 */
#define IPC_PUBLISH_MAX		64
struct ipc_publish {
	uint8_t		replace;
	uint16_t	count;
	struct ipc_file	*files;		/* count entries (decoder: caller's array) */
};
/* IPC_PUBLISH reply: the reference's blockchain status (DATA.md §2.8). */
#define IPC_PUBLISH_OK		0
#define IPC_PUBLISH_NOT_IN_WH	5	/* the content of file `index` is not stored */
struct ipc_publish_result {
	uint8_t		status;
	uint16_t	index;		/* the file the status is about */
};

/* IPC_CHAIN_APPEND request: raw records of one block. */
#define IPC_APPEND_MAX		1024
struct ipc_append_rec {
	uint8_t		 type;
	const uint8_t	*data;		/* points into the decoded message */
	uint32_t	 len;
};
struct ipc_append {
	uint16_t		count;
	struct ipc_append_rec	recs[IPC_APPEND_MAX];
};

/* IPC_PROFILE_DEL request (reply: ipc_u32, the fields deleted). */
#define IPC_PROFILE_DEL_MAX	256
struct ipc_profile_del {
	uint16_t	count;
	uint16_t	fields[IPC_PROFILE_DEL_MAX];
};

/*
 * IPC_WIPE request.  WIPE_CONTENT: the stored data of content hash `key`
 * (records stay: the reference's warehouse delete); reply ipc_u32 = the
 * warehouse status (DATA.md §5.5: 0, 9 not found, 10 delete error).
 * WIPE_ACCOUNT: the own chain (height 0, version + 1) and every stored
 * file; `key` must be the node's own node ID, so that no request can do it
 * by accident; reply ipc_u32 = the files deleted.
 */
#define IPC_WIPE_CONTENT	0
#define IPC_WIPE_ACCOUNT	1
struct ipc_wipe {
	uint8_t		kind;
	uint8_t		key[32];
};

/* IPC_PEER_PROFILE request: the owner's public key; reply below. */
struct ipc_peer_profile_req {
	uint8_t		owner[33];
};
#define IPC_PEER_PROFILE_MAX	64	/* fields in a reply */
#define IPC_PEER_VALUE_MAX	8192	/* bytes of one value in a reply */
struct ipc_peer_field {
	uint16_t	 field;
	const uint8_t	*data;		/* points into the decoded message */
	uint16_t	 len;
};
struct ipc_peer_profile {
	uint8_t			cached;	/* 0: nothing of that chain is cached */
	uint16_t		count;
	struct ipc_peer_field	fields[IPC_PEER_PROFILE_MAX];
};

IPC_CODEC_DECL(wh_result, struct ipc_wh_result);
/* files[] must have IPC_PUBLISH_MAX entries when decoding. */
IPC_CODEC_DECL(publish, struct ipc_publish);
IPC_CODEC_DECL(publish_result, struct ipc_publish_result);
IPC_CODEC_DECL(append, struct ipc_append);
IPC_CODEC_DECL(profile_del, struct ipc_profile_del);
IPC_CODEC_DECL(wipe, struct ipc_wipe);
IPC_CODEC_DECL(peer_profile_req, struct ipc_peer_profile_req);
IPC_CODEC_DECL(peer_profile, struct ipc_peer_profile);

#endif
