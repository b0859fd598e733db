/*
 * warehouse.h — the content-addressed store of the node's own shared files
 * (docs/data.md §5) with its merkle companion files (§4.4).
 *
 * Layout under root (DIR/storage/warehouse), exactly the reference's:
 *   <root>/<h0..h3>/<h4..h7>/<h8..h63>          data, named by its blake3
 *   <root>/<h0..h3>/<h4..h7>/<h8..h63>.merkle   companion, files > 256 KiB
 *   <root>/_Temp/wh<random>                     files being written
 * Hex is lowercase; enumeration accepts only that shape.
 *
 * Crash safety: data is written to _Temp, fsync'd, renamed under its hash
 * and the directory fsync'd, so a hash name never holds a partial file.
 * wh_open removes stale wh* temp files: one process per warehouse.
 *
 * Safety: the only name a caller can give is a 32-byte hash.  Every path is
 * resolved component by component with openat(O_NOFOLLOW) from the root's
 * fd, so a symlink planted in the tree is never followed out of it; only
 * regular files count as stored (a FIFO or symlink under a hash name is
 * "not found").
 *
 * Differences from the reference (all on the safe side, wire-neutral):
 * - wh_delete removes the .merkle companion too (the reference leaks it)
 *   and removes level directories that became empty.
 * - Zero-filled 4 KiB blocks are not written: stored files are sparse.
 * - Dedup keeps an existing file only if its size matches; an existing file
 *   of the wrong size (damaged) is replaced by the new, verified copy.
 * - A missing companion (crash between the data rename and the companion
 *   write, or a file deduplicated before one was written) is rebuilt by
 *   wh_merkle from the stored data.
 *
 * Large files: every size and offset is uint64_t; data is streamed in
 * chunks, never held in memory.  The merkle tree is built while the data
 * streams in when the size is announced; otherwise by a second streaming
 * pass over the stored file.  The only memory that grows with the file is
 * the companion itself (about 64 bytes per fragment, fragments >= 256 KiB).
 *
 * No state is shared between calls besides the root's fds: the functions
 * may be called from several threads (a wh_writer belongs to one thread).
 */
#ifndef PEERNET_WAREHOUSE_H
#define PEERNET_WAREHOUSE_H

#include <stddef.h>
#include <stdint.h>

#define WH_HASH_BYTES		32
#define WH_PROOF_ENTRY_BYTES	33
/* Files up to this size have no companion: root = file hash (§4.3). */
#define WH_SMALL_FILE_MAX	262144
#define WH_TEMP_DIR		"_Temp"

/*
 * Errors: the negated §5.5 status code where one applies, then our own.
 * wh_status() gives the §5.5 code to put on the wire / in the API.
 */
enum wh_err {
	WH_OK = 0,
	WH_ERR_TEMP_CREATE = -1,	/* 1: error creating temp file */
	WH_ERR_TEMP_WRITE = -2,		/* 2: error writing temp file */
	WH_ERR_TEMP_CLOSE = -3,		/* 3: error closing (fsync) temp file */
	WH_ERR_RENAME = -4,		/* 4: error renaming temp file */
	WH_ERR_MKDIR = -5,		/* 5: error creating target directory */
	WH_ERR_OPEN = -7,		/* 7: error opening file */
	WH_ERR_HASH = -8,		/* 8: invalid hash */
	WH_ERR_NOTFOUND = -9,		/* 9: file not found */
	WH_ERR_DELETE = -10,		/* 10: error deleting file */
	WH_ERR_READ = -11,		/* 11: error reading file */
	WH_ERR_MERKLE = -15,		/* 15: error creating merkle tree */
	WH_ERR_MERKLE_INVALID = -16,	/* 16: invalid merkle companion file */
	WH_ERR_ARG = -20,		/* NULL or unusable argument */
	WH_ERR_NOMEM = -21,
	WH_ERR_ROOT = -22,		/* root or _Temp cannot be created/opened */
	WH_ERR_INDEX = -23,		/* fragment index >= fragment count */
	WH_ERR_NOSPACE = -24,		/* caller's proof buffer too small */
	WH_ERR_CHANGED = -25,		/* file changed size while being read */
};

const char *wh_strerror(int err);
/* The §5.5 status code (0..16) for an error of this module. */
int	wh_status(int err);

struct wh;
struct wh_writer;

/*
 * Opens (creating it and its parents, mode 0700) the warehouse at root and
 * root/_Temp, and deletes stale temp files.  err gets a message on failure.
 */
int	wh_open(struct wh **whp, const char *root, char *err, size_t errlen);
void	wh_close(struct wh *wh);

/*
 * Streaming create.  expected_size 0 = unknown; when it is known and
 * > 256 KiB the merkle tree is built during the stream (a wrong guess only
 * costs a second pass).  After a failed wh_write_data the writer is dead
 * (every later call returns the same error) but must still be freed by
 * wh_write_commit (which then returns the error) or wh_write_abort.
 */
int	wh_write_begin(struct wh *wh, uint64_t expected_size, struct wh_writer **wp);
int	wh_write_data(struct wh_writer *w, const void *buf, size_t len);
/*
 * Finishes and frees w.  hash, size and *deduplicated (1 when the content
 * was already stored) are set whenever the data is in place: on WH_OK, on
 * WH_ERR_MERKLE (companion failed, §5.2 step 5) and on WH_ERR_TEMP_CLOSE
 * when only the directory fsync after the rename failed.
 */
int	wh_write_commit(struct wh_writer *w, uint8_t hash[WH_HASH_BYTES],
	    uint64_t *size, int *deduplicated);
/*
 * The BLAKE3 of the bytes written so far, w unchanged: a caller that must
 * check the content before it enters the warehouse (a download copied in)
 * needs no hasher of its own.  WH_ERR_ARG for NULL, or w's sticky error.
 */
int	wh_write_hash(const struct wh_writer *w, uint8_t hash[WH_HASH_BYTES]);
/*
 * Takes a complete file written elsewhere on the same file system (a
 * download's part file) into the warehouse by renaming it, instead of
 * copying it through a writer.  The caller vouches that hash is the BLAKE3
 * of the file's size bytes (it hashed them as they were written) and gives
 * the companion of a file > 256 KiB in exp (NULL: built by reading the
 * stored file).  fd (open on path) is closed.  *placed is 1 when the data
 * is under its hash (the result may still be WH_ERR_MERKLE, or
 * WH_ERR_TEMP_CLOSE when only the directory fsync failed); 0: path is left
 * where it was (WH_ERR_RENAME with errno EXDEV: another file system, copy
 * it with a writer instead).  The same dedup rule as wh_write_commit.
 */
int	wh_adopt(struct wh *wh, const char *path, int fd,
	    const uint8_t hash[WH_HASH_BYTES], uint64_t size, const uint8_t *exp,
	    size_t explen, int *deduplicated, int *placed);
/* Deletes the temp file and frees w (NULL is fine). */
void	wh_write_abort(struct wh_writer *w);

/* pread; reading past the end yields fewer bytes (*got), not an error. */
int	wh_read(struct wh *wh, const uint8_t hash[WH_HASH_BYTES], uint64_t offset,
	    void *buf, size_t len, size_t *got);
/* A read-only fd of the stored file (caller closes it), for long streams. */
int	wh_fd(struct wh *wh, const uint8_t hash[WH_HASH_BYTES], int *fd,
	    uint64_t *size);
int	wh_stat(struct wh *wh, const uint8_t hash[WH_HASH_BYTES], uint64_t *size);
/* Removes the data and its companion; WH_ERR_NOTFOUND if there was no data. */
int	wh_delete(struct wh *wh, const uint8_t hash[WH_HASH_BYTES]);

/*
 * Merkle material of a stored file.  For files <= 256 KiB: fragment size
 * 262144, count 0 (empty) or 1, root = file hash (§4.3).  Larger files read
 * their companion (rebuilt from the data if it is missing; a present but
 * malformed one is WH_ERR_MERKLE_INVALID: run wh_verify / wh_merkle_rebuild).
 */
struct wh_merkle_info {
	uint64_t	file_size;
	uint64_t	fragment_size;
	uint64_t	fragment_count;
	uint8_t		root[WH_HASH_BYTES];
};
/*
 * info, and when proof is not NULL (index is ignored otherwise) the
 * verification entries of fragment index (33 bytes each, §4.5) into proof (cap bytes; 33 * 64 always
 * suffice), their byte count in *prooflen.  The fragment's bytes are
 * merkle_fragment_range() of the file: read them with wh_read.
 */
int	wh_merkle(struct wh *wh, const uint8_t hash[WH_HASH_BYTES], uint64_t index,
	    struct wh_merkle_info *info, uint8_t *proof, size_t cap,
	    size_t *prooflen);
/*
 * info, and up to max leaf hashes from leaf first into leaves (32 bytes
 * each, their count in *got: fewer at the end of the list) of a stored file
 * of more than one fragment (others: WH_ERR_INDEX, nothing to give).  The
 * leaves are not checked against the root here (a peer's request must stay
 * cheap: the downloader checks them).  first == count is fine (*got 0).
 */
int	wh_merkle_leaves(struct wh *wh, const uint8_t hash[WH_HASH_BYTES],
	    uint64_t first, uint8_t *leaves, size_t max, size_t *got,
	    struct wh_merkle_info *info);
/* Re-derives the companion from the stored data (which must match its hash). */
int	wh_merkle_rebuild(struct wh *wh, const uint8_t hash[WH_HASH_BYTES]);

/*
 * Integrity check: re-hashes every stored file (or only_hash), compares with
 * its name, and compares its companion with one rebuilt from the data.
 * bad() is called once per bad file with the reason (a companion is only
 * judged when the data is good); *bad_count counts them.  *files counts the
 * files checked.  progress() gets bytes hashed and the total (sizes summed
 * by a first walk), every 16 MiB and after each file.
 * Returns WH_OK when the walk completed, whatever it found; only_hash
 * absent is WH_ERR_NOTFOUND.  Callbacks and outputs may be NULL.
 */
int	wh_verify(struct wh *wh, const uint8_t *only_hash,
	    void (*bad)(void *arg, const uint8_t hash[WH_HASH_BYTES], const char *why),
	    void (*progress)(void *arg, uint64_t done, uint64_t total),
	    void *arg, uint64_t *files, uint64_t *bad_count);

/*
 * Calls fn for every stored file (walking exactly the §5.1 shape, symlinks
 * and other names ignored).  A non-zero return from fn stops the walk and is
 * returned.
 */
int	wh_foreach(struct wh *wh,
	    int (*fn)(void *arg, const uint8_t hash[WH_HASH_BYTES], uint64_t size),
	    void *arg);

/* "ab12/cd34/<56 hex>" of a hash, relative to the root, NUL-terminated. */
#define WH_RELPATH_LEN	67
void	wh_relpath(const uint8_t hash[WH_HASH_BYTES], char out[WH_RELPATH_LEN]);

#endif /* PEERNET_WAREHOUSE_H */
