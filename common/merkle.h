/*
 * merkle.h — Peernet merkle trees over file fragments (docs/data.md §4).
 *
 * leaf = blake3(fragment), parent = blake3(left || right); the last node of
 * an odd-sized level is promoted unchanged.  0 fragments: root = blake3("");
 * 1 fragment: root = the file hash.
 *
 * The builder is streaming: data is fed in any chunking, memory is two
 * hashers (a blake3_split_hasher: file hash and leaves in one pass) plus
 * one hash per tree level (<= 64), so files of any size (uint64_t
 * everywhere) work.  If given an export buffer it also writes
 * the companion file (§4.4) — header, fragment hashes, middle levels — into
 * it; that buffer is the only thing that grows with the file (32 bytes per
 * fragment, about twice that with the middle levels).
 *
 * Companion / export layout: file size(8 LE) | fragment size(8 LE) | root(32)
 * | fragment hashes | middle levels bottom-up (promoted copies included, the
 * root level excluded).  A struct merkle_tree is a view over such bytes.
 *
 * Proof entries are 33 bytes: direction | sibling hash, leaf level upward;
 * direction 0 = sibling on the left, 1 = on the right.
 */
#ifndef PEERNET_MERKLE_H
#define PEERNET_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "blake3.h"

#define MERKLE_HASH_BYTES		32
#define MERKLE_PROOF_ENTRY_BYTES	33
#define MERKLE_HEADER_SIZE		48
#define MERKLE_MIN_FRAGMENT_SIZE	262144	/* 256 KiB */
#define MERKLE_DIR_LEFT			0
#define MERKLE_DIR_RIGHT		1
/* 2^64 fragments need 64 pairing levels; a proof has at most 64 entries. */
#define MERKLE_MAX_LEVELS		65

enum merkle_err {
	MERKLE_OK = 0,
	MERKLE_ERR_ARG = -1,		/* NULL or unusable argument */
	MERKLE_ERR_FRAGMENT_SIZE = -2,	/* fragment size 0 */
	MERKLE_ERR_SHORT = -3,		/* export shorter than its header requires */
	MERKLE_ERR_LONG = -4,		/* export longer than its header requires */
	MERKLE_ERR_OVERFLOW = -5,	/* more data fed than the declared file size */
	MERKLE_ERR_INCOMPLETE = -6,	/* final before the whole file was fed */
	MERKLE_ERR_NOSPACE = -7,	/* output buffer too small */
	MERKLE_ERR_INDEX = -8,		/* fragment index >= fragment count */
	MERKLE_ERR_PROOF_LENGTH = -9,	/* proof not a multiple of 33 bytes */
	MERKLE_ERR_PROOF_DIRECTION = -10, /* direction byte neither 0 nor 1 */
	MERKLE_ERR_PROOF_SHAPE = -11,	/* entries do not fit the fragment's position */
	MERKLE_ERR_MISMATCH = -12,	/* the hashes do not lead to the root */
	MERKLE_ERR_TOO_LARGE = -13,	/* tree too large to hold in memory */
	MERKLE_ERR_CORRUPT = -14,	/* stored middle hashes or root inconsistent */
};

const char *merkle_strerror(int err);

/* §4.1: the fragment size the reference picks for a file size. */
uint64_t merkle_fragment_size(uint64_t file_size);
/* ceil(file_size / fragment_size); 0 if fragment_size is 0. */
uint64_t merkle_fragment_count(uint64_t file_size, uint64_t fragment_size);
/* Hashes after the export header: 0 for <= 1 fragment; UINT64_MAX if it overflows. */
uint64_t merkle_hash_count(uint64_t fragment_count);
int	merkle_export_size(uint64_t file_size, uint64_t fragment_size, size_t *len);
/* Offset and length of fragment index within the file. */
int	merkle_fragment_range(uint64_t file_size, uint64_t fragment_size,
	    uint64_t index, uint64_t *offset, uint64_t *length);
/* Entries in the proof of fragment index (0 if count <= 1). */
unsigned merkle_proof_entries(uint64_t fragment_count, uint64_t index);

struct merkle_builder {
	uint64_t	 file_size;
	uint64_t	 fragment_size;
	uint64_t	 fragment_count;
	uint64_t	 fed;		/* bytes fed so far */
	uint64_t	 frags_done;
	/* File hash and leaves in one pass (fragment 0 hashed once). */
	blake3_split_hasher split;
	/* Roots of complete subtrees, left to right, with their heights. */
	uint8_t		 stack[MERKLE_MAX_LEVELS][MERKLE_HASH_BYTES];
	uint8_t		 stack_height[MERKLE_MAX_LEVELS];
	unsigned	 stack_len;
	uint8_t		*exp;		/* export buffer or NULL */
	size_t		 exp_cap;
};

/*
 * export_buf may be NULL (root only); otherwise it must hold
 * merkle_export_size() bytes and receives the companion file at final.
 */
int	merkle_builder_init(struct merkle_builder *mb, uint64_t file_size,
	    uint64_t fragment_size, uint8_t *export_buf, size_t export_cap);
int	merkle_builder_update(struct merkle_builder *mb, const void *data, size_t len);
/* root and the whole-file blake3 (file_hash may be NULL). */
int	merkle_builder_final(struct merkle_builder *mb,
	    uint8_t root[MERKLE_HASH_BYTES], uint8_t *file_hash);

/*
 * The companion (export) of a file from its fragment hashes, already
 * computed elsewhere (a download hashes each fragment as it arrives):
 * header, leaves, middle levels, root; no data is read.  count must be the
 * file's fragment count and >= 2 (smaller files have no companion); exp
 * must hold merkle_export_size() bytes.  root may be NULL.
 */
int	merkle_export_from_leaves(uint64_t file_size, uint64_t fragment_size,
	    const uint8_t *leaves, uint64_t count, uint8_t *exp, size_t cap,
	    uint8_t root[MERKLE_HASH_BYTES]);
/* One-shot over a buffer. */
int	merkle_root(const void *data, uint64_t len, uint64_t fragment_size,
	    uint8_t root[MERKLE_HASH_BYTES]);

struct merkle_tree {
	uint64_t	 file_size;
	uint64_t	 fragment_size;
	uint64_t	 fragment_count;
	const uint8_t	*root;
	const uint8_t	*hashes;	/* fragment hashes, then middle levels */
	uint64_t	 hash_count;
};

/*
 * A view over an export.  Stricter than the reference's ImportMerkleTree:
 * fragment size 0 and a length other than the exact one are refused.
 */
int	merkle_import(const uint8_t *buf, size_t len, struct merkle_tree *t);
/* Recomputes middle levels and root from the fragment hashes. */
int	merkle_tree_check(const struct merkle_tree *t);
/* Hash of fragment index (the root when there is one fragment). */
int	merkle_tree_fragment_hash(const struct merkle_tree *t, uint64_t index,
	    uint8_t hash[MERKLE_HASH_BYTES]);
/* The reference's CreateVerification: 33-byte entries into out. */
int	merkle_tree_proof(const struct merkle_tree *t, uint64_t index,
	    uint8_t *out, size_t cap, size_t *outlen);

/*
 * The reference's MerkleVerify (but a direction byte must be 0 or 1): fold
 * the proof into leaf and compare with root.  Does not bind the proof to a
 * position: a fragment of the right file at the wrong index passes.
 */
int	merkle_verify(const uint8_t root[MERKLE_HASH_BYTES],
	    const uint8_t leaf[MERKLE_HASH_BYTES], const uint8_t *proof,
	    size_t proof_len);
/* merkle_verify, and the proof's length and directions must be those of index. */
int	merkle_verify_at(const uint8_t root[MERKLE_HASH_BYTES],
	    uint64_t fragment_count, uint64_t index,
	    const uint8_t leaf[MERKLE_HASH_BYTES], const uint8_t *proof,
	    size_t proof_len);
/* Hashes the fragment's bytes, then merkle_verify_at. */
int	merkle_verify_fragment(const uint8_t root[MERKLE_HASH_BYTES],
	    uint64_t fragment_count, uint64_t index, const void *data,
	    size_t len, const uint8_t *proof, size_t proof_len);

#endif /* PEERNET_MERKLE_H */
