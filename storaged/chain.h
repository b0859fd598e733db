/*
 * chain.h — the node's own blockchain (docs/data.md §2.7, §2.8, §2.10), stored in
 * SQLite (DIR/storage/chain.db).
 *
 * The blocks are the truth: they are exactly the bytes served to other peers
 * (Get Block).  Beside them the database keeps a header (owner, height,
 * version) and an index of the file records (ID, hash, size, block) so that
 * "get by ID", "is this content still referenced" and the statistics do not
 * decode the chain.
 *
 * Every operation is one SQLite transaction (WAL, synchronous=FULL): it
 * either commits completely or leaves the previous state.  FULL rather than
 * NORMAL because a committed (height, version) is advertised to peers at
 * once; if power loss rolled a commit back, the next commit would reuse the
 * same (version, number) for different bytes, and caches that fetched the
 * lost block would keep a block that no longer exists.
 *
 * storaged does not hold the identity key: blocks are signed through a
 * callback (storaged asks netd over IPC; tests call ident_sign).  Every
 * signature is checked against the owner key before the block is stored.
 *
 * Semantics follow the reference (§2.8), with these deliberate differences:
 *  - an operation is atomic (the reference keeps the groups appended before
 *    a failing one);
 *  - a chain never holds a file record in block 0: the first block of a new
 *    chain is a profile block (interoperability note, docs/data.md top), written
 *    automatically from the genesis name when files are added first;
 *  - a block this node creates may not exceed CHAIN_MAX_BLOCK_SIZE (the
 *    default CacheMaxBlockSize), because peers refuse larger blocks;
 *  - file IDs are unique within the chain (the reference does not check);
 *  - tail packing: the reference makes one block per AddFiles/ProfileWrite
 *    call, but `peernetctl add a b c` arrives as one call per file.  So new
 *    records first fill the last block, up to BLOCK_TARGET_SIZE, as long as
 *    no one has read that block since it was written (chain_block of the
 *    last block, i.e. a Get Block served to a peer, ends that): the block is
 *    re-signed with the same number and version, which is only sound because
 *    nobody can hold the old bytes.  Records are appended after the existing
 *    ones (relative TagData references stay valid, indices and dates of the
 *    old records do not move).  After chain_open, or a rollback, the last
 *    block counts as read.  File records never go into block 0.  While it
 *    grows, the last block is not announced (chain_seal);
 *  - a bound on the height (chain_set_max_blocks, default
 *    CHAIN_DEFAULT_MAX_BLOCKS): reference peers fetch at most
 *    CacheMaxBlockCount (256) blocks of a chain and never the rest (§2.11
 *    step 6).  When appending would take the height over the bound, the
 *    chain is first compacted: rewritten packed (profile and other records
 *    first, superseded profile values dropped, then the files, greedy as
 *    AddFiles), every record keeping its date, as one rewrite with version
 *    + 1 (peers refetch the chain as after a delete).  See docs/chain.md.
 *
 * Not thread-safe: one thread (storaged's loop) owns a struct chain.
 */
#ifndef PEERNET_CHAIN_H
#define PEERNET_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "ident.h"

#define CHAIN_SCHEMA_VERSION	1
/* Largest block this node writes: what peers accept by default (§2.9). */
#define CHAIN_MAX_BLOCK_SIZE	BLOCK_CACHE_MAX_SIZE
#define CHAIN_GENESIS_NAME	"Peernet user"
/*
 * Default bound on the height: what reference peers fetch of a chain
 * (CacheMaxBlockCount, 256) with a margin for the blocks appended between
 * two of their fetches.
 */
#define CHAIN_DEFAULT_MAX_BLOCKS	200

enum chain_err {
	CHAIN_OK = 0,
	CHAIN_ERR_ARG = -1,		/* NULL or unusable argument */
	CHAIN_ERR_NOMEM = -2,
	CHAIN_ERR_DB = -3,		/* SQLite failed (see chain_last_db_error) */
	CHAIN_ERR_SCHEMA = -4,		/* database of a newer/unknown schema */
	CHAIN_ERR_OWNER = -5,		/* database belongs to another key */
	CHAIN_ERR_CORRUPT = -6,		/* stored blocks do not decode or do not match the header */
	CHAIN_ERR_NOT_FOUND = -7,	/* block number >= height, unknown ID, absent profile field */
	CHAIN_ERR_NOSPACE = -8,		/* caller's buffer too small (*len says how much) */
	CHAIN_ERR_SIGN = -9,		/* signing callback failed */
	CHAIN_ERR_BAD_SIGNATURE = -10,	/* signature does not recover to the owner key */
	CHAIN_ERR_TOO_LARGE = -11,	/* a record would make a block > CHAIN_MAX_BLOCK_SIZE */
	CHAIN_ERR_EXISTS = -12,		/* file ID already in the chain (or twice in the input) */
	CHAIN_ERR_TAG = -13,		/* tag type with bit 15 set */
	CHAIN_ERR_ENCODE = -14,		/* block/record encoder refused the input */
	CHAIN_ERR_CALLBACK = -15,	/* reserved */
};

const char *chain_strerror(int err);

/* A tag other than the ones struct chain_file names (§2.5.2). */
struct chain_tag {
	uint16_t	 type;		/* 15-bit tag type */
	const uint8_t	*data;
	size_t		 len;
};

/*
 * One file record (§2.5, §3.1).
 * As input (add/replace): strings are UTF-8, NULL or "" means "no tag"
 * (the reference writes no empty tags); a *_len of 0 means "NUL-terminated,
 * use strlen" (so an output view can be passed back unchanged).  An all-zero id gets a random v4 UUID; add writes the id and
 * date_shared it used back into the caller's struct.  date_created 0 = no
 * tag 4.  tags[] are written after the named fields in the given order;
 * virtual types (3, 5, 6) are dropped as the reference does.
 * Tag order written: name, folder, description, date created, tags[].
 * As output (list/get/events): strings point to NUL-terminated copies (the
 * length is in *_len, the text may itself contain NUL bytes), every stored
 * tag that is not the first name/folder/description/date-created is in
 * tags[] in stored order, date_shared is the record's date.  Valid during
 * the callback (or until free() for chain_get_file).
 */
struct chain_file {
	uint8_t		 id[RECORD_FILE_ID_BYTES];
	uint8_t		 hash[BLOCK_HASH_BYTES];
	uint8_t		 merkle_root[BLOCK_HASH_BYTES];
	uint64_t	 size;
	uint64_t	 fragment_size;
	uint8_t		 type;		/* §3.2 */
	uint16_t	 format;	/* §3.3 */
	int64_t		 date_shared;	/* record date (virtual tag 3) */
	int64_t		 date_created;	/* tag 4, 0 = absent */
	const char	*name;
	size_t		 name_len;
	const char	*folder;
	size_t		 folder_len;
	const char	*description;
	size_t		 description_len;
	const struct chain_tag *tags;
	size_t		 ntags;
	/* Output only: where the record is. */
	uint64_t	 block;
	uint32_t	 record;
};

struct chain_profile_field {
	uint16_t	 field;		/* RECORD_PROFILE_* or client-defined */
	const void	*data;
	size_t		 len;
};

struct chain_info {
	uint64_t	 version;
	uint64_t	 height;
	uint64_t	 nfiles;	/* file records in the chain */
	uint64_t	 file_bytes;	/* sum of their sizes */
	uint64_t	 block_bytes;	/* sum of the block sizes */
	/*
	 * The height to advertise to peers: height, or height - 1 while the
	 * last block is still open to tail packing (chain_seal).
	 */
	uint64_t	 announce_height;
};

/* Events, delivered after the change is committed (never on rollback). */
enum chain_event_kind {
	CHAIN_EV_FILE_ADDED = 1,	/* f: the new record */
	CHAIN_EV_FILE_REMOVED = 2,	/* f: the record as it was */
	/*
	 * f: a kept record that a rewrite re-encoded (§2.8 step 3: new
	 * date_shared, maybe another block number); the file did not change.
	 */
	CHAIN_EV_FILE_UPDATED = 3,
	CHAIN_EV_CHAIN_RESET = 4,	/* chain_nuke; f is NULL */
};

struct chain;
typedef int (*chain_sign_fn)(void *arg, const uint8_t hash[32],
    uint8_t sig[PEERNET_SIG_BYTES]);
typedef void (*chain_event_fn)(void *arg, int kind, const struct chain_file *f);
typedef int64_t (*chain_clock_fn)(void *arg);

/*
 * Opens (creating if needed) the database at dbpath for the chain of
 * owner_pub.  A database written for another key is refused
 * (CHAIN_ERR_OWNER, the reference's ExitBlockchainCorrupt).  err gets a
 * readable reason on failure.
 */
int	chain_open(struct chain **cp, const char *dbpath,
	    const uint8_t owner_pub[PEERNET_PUBKEY_BYTES], chain_sign_fn sign,
	    void *sign_arg, char *err, size_t errlen);
void	chain_close(struct chain *c);
void	chain_set_event_cb(struct chain *c, chain_event_fn cb, void *arg);
/* Name written into block 0 when files are added to an empty chain (copied). */
int	chain_set_genesis_name(struct chain *c, const char *name);
/* Record dates come from here (default: time(NULL)); tests fix it. */
void	chain_set_clock(struct chain *c, chain_clock_fn now, void *arg);
/* SQLite's message for the last CHAIN_ERR_DB. */
const char *chain_last_db_error(struct chain *c);
/*
 * Height bound that triggers a compaction (see above); 0: none.  A chain
 * whose packed form does not fit grows past it (docs/chain.md).
 */
void	chain_set_max_blocks(struct chain *c, uint64_t max);
/* Tail packing on (default) or off (one block per call, as the reference). */
void	chain_set_tail_packing(struct chain *c, int on);
/*
 * Rewrites the chain packed now if that makes it shorter (version + 1,
 * *done = 1), else changes nothing (*done = 0).  done may be NULL.
 */
int	chain_compact(struct chain *c, int *done);
/*
 * A block appended with tail packing on stays unannounced (announce_height
 * = height - 1) while it grows: otherwise a peer hearing of it fetches it at
 * once, and a block that was read is never rewritten.  It is announced
 * once it has not grown for CHAIN_SEAL_MS, when a newer block is appended,
 * when it is read (chain_block), or after a rewrite.  chain_seal, called
 * periodically (storaged's tick), announces it when due (force: now);
 * returns 1 when announce_height grew since the last call (publish it).
 */
#define CHAIN_SEAL_MS	500
int	chain_seal(struct chain *c, int force);

/*
 * AddFiles (§2.8): greedy packing into blocks of BLOCK_TARGET_SIZE, TagData
 * dedup per block, all in one transaction.  Assigns IDs and dates (written
 * back into files[]).
 */
int	chain_add_files(struct chain *c, struct chain_file *files, size_t n);
/*
 * One block holding the profile records, then the encoded files (the
 * reference's Append of a mixed record list).  For a specific layout, e.g.
 * the known-answer block 0 of the vectors.  On an empty chain without
 * profile records, a genesis profile block is written first.
 */
int	chain_append_block(struct chain *c, const struct chain_profile_field *prof,
	    size_t nprof, struct chain_file *files, size_t nfiles);
/*
 * Raw records (type, data; the dates are set to now) as one new block, the
 * reference's Append; file records must decode, profile records carry a
 * field number.
 */
int	chain_append_raw(struct chain *c, struct block_record *recs, size_t n);
/* DeleteFiles (§2.8): rewrite, version + 1 if any ID matched. */
int	chain_delete_files(struct chain *c, const uint8_t (*ids)[RECORD_FILE_ID_BYTES],
	    size_t n, size_t *deleted);
/* ReplaceFiles (§2.8): delete those IDs, then add the files, atomically. */
int	chain_replace_files(struct chain *c, struct chain_file *files, size_t n);
/* A replace of one file with a new name (the reference's "update"). */
int	chain_rename_file(struct chain *c, const uint8_t id[RECORD_FILE_ID_BYTES],
	    const char *name);
/* DeleteBlockchain: no blocks, height 0, version + 1. */
int	chain_nuke(struct chain *c);

/* ProfileWrite (§2.8): greedy packing; appends. */
int	chain_profile_write(struct chain *c, const struct chain_profile_field *f,
	    size_t n);
int	chain_profile_set(struct chain *c, uint16_t field, const void *val,
	    size_t len);
/* Newest value of a field; CHAIN_ERR_NOT_FOUND, CHAIN_ERR_NOSPACE (*len set). */
int	chain_profile_get(struct chain *c, uint16_t field, void *buf, size_t cap,
	    size_t *len);
/* Every field with its newest value, ordered by field type. */
int	chain_profile_foreach(struct chain *c,
	    int (*fn)(void *arg, uint16_t field, const uint8_t *data, size_t len),
	    void *arg);
/*
 * ProfileDelete (§2.8): rewrite without those fields, version + 1 if any.
 * As in the reference, a block left empty is dropped: deleting the field of
 * the genesis block can move file records into block 0 (not prevented).
 */
int	chain_profile_delete(struct chain *c, const uint16_t *fields, size_t n,
	    size_t *deleted);

int	chain_info(struct chain *c, struct chain_info *info);
/*
 * Every file record, in chain order; a non-zero return of fn stops and is
 * returned.  fn must not call into the chain (the walk holds a statement).
 * Event callbacks, by contrast, run after the commit and may.
 */
int	chain_foreach_file(struct chain *c,
	    int (*fn)(void *arg, const struct chain_file *f), void *arg);
/* One file, as a single malloc'd block the caller free()s. */
int	chain_get_file(struct chain *c, const uint8_t id[RECORD_FILE_ID_BYTES],
	    struct chain_file **out);
/* Raw block `number` (for Get Block, §2.10); *len is set even on NOSPACE. */
int	chain_block(struct chain *c, uint64_t number, uint8_t *buf, size_t cap,
	    size_t *len);
/* 1 if a file record with this content hash exists, 0 if not, < 0 on error. */
int	chain_hash_referenced(struct chain *c, const uint8_t hash[BLOCK_HASH_BYTES]);
/* FileExists (§2.8): every record with that content hash. */
int	chain_find_hash(struct chain *c, const uint8_t hash[BLOCK_HASH_BYTES],
	    int (*fn)(void *arg, const struct chain_file *f), void *arg);

/* ---- helpers shared with cache.c ----------------------------------- */

/* Growable buffer behind the strings/tags of a decoded struct chain_file. */
struct chain_scratch {
	uint8_t		*p;
	size_t		 cap;
};

void	chain_scratch_free(struct chain_scratch *s);
/*
 * File record `index` of a decoded block as a struct chain_file whose
 * strings and tags live in s (valid until the next call with s).  Returns
 * a block_err code if the record does not decode.
 */
int	chain_file_decode(const struct block *b, uint32_t index,
	    struct chain_file *out, struct chain_scratch *s);
/* A deep copy in one allocation (free() it). */
struct chain_file *chain_file_dup(const struct chain_file *f);
/* Random RFC 4122 version 4 UUID, as the reference assigns. */
void	chain_uuid_v4(uint8_t id[RECORD_FILE_ID_BYTES]);

#endif /* PEERNET_CHAIN_H */
