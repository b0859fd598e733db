/*
 * dl_state.h — the state file of a partial download (storaged/serve_dl.c,
 * docs/data.md §4.1): its layout, and a pure codec for it.
 *
 * The file is read back from disk, where anything may have happened to it
 * (a torn write, another program, a crafted file in a restored backup), so
 * its parser is a decoder of outside bytes like any other: bounds-checked,
 * a distinct error per failure, no allocation, no I/O, a fuzz target
 * (tests/fuzz/fuzz_dl_state.c).  serve_dl.c reads and writes the file.
 *
 * Layout (integers little-endian):
 *   0   8   magic "PNDLPART"
 *   8   32  hash of the file being downloaded
 *   40  8   file size, 1 .. DL_MAX_SIZE
 *   48  8   fragment size: merkle_fragment_size(file size)
 *   56  8   verified length: a multiple of the fragment size, below the size
 *   64  32n the merkle leaf of each verified fragment (n = verified / fragment)
 *   ..  32  BLAKE3 of everything before it
 */
#ifndef PEERNET_DL_STATE_H
#define PEERNET_DL_STATE_H

#include <stddef.h>
#include <stdint.h>

#define DL_MAGIC		"PNDLPART"
#define DL_MAGIC_LEN		8
#define DL_STATE_HASH_OFF	8
#define DL_STATE_SIZE_OFF	40
#define DL_STATE_FRAG_OFF	48
#define DL_STATE_VERIFIED_OFF	56
#define DL_STATE_HDR		64	/* magic, hash, size, fragment size, verified */
#define DL_STATE_LEAF		32
#define DL_STATE_SUM		32
#define DL_MAX_SIZE		(1ULL << 40)	/* 1 TiB, netd's limit too */
/* DL_MAX_SIZE in its fragments (64 MiB, docs/data.md §4.1): the most leaves. */
#define DL_STATE_LEAVES_MAX	16384
#define DL_STATE_MIN		(DL_STATE_HDR + DL_STATE_SUM)
#define DL_STATE_MAX		(DL_STATE_MIN + DL_STATE_LEAVES_MAX * DL_STATE_LEAF)

enum dl_state_err {
	DL_STATE_OK = 0,
	DL_STATE_ERR_SHORT = -1,	/* shorter than DL_STATE_MIN */
	DL_STATE_ERR_LONG = -2,		/* longer than DL_STATE_MAX */
	DL_STATE_ERR_MAGIC = -3,	/* not a state file */
	DL_STATE_ERR_SUM = -4,		/* checksum mismatch: damaged */
	DL_STATE_ERR_HASH = -5,		/* the state of another file */
	DL_STATE_ERR_SIZE = -6,		/* file size 0 or above DL_MAX_SIZE */
	DL_STATE_ERR_FRAG = -7,		/* not the fragment size of that file size */
	DL_STATE_ERR_VERIFIED = -8,	/* verified not fragment-aligned, or not below the size */
	DL_STATE_ERR_LEAVES = -9,	/* leaf bytes do not match the verified length */
	DL_STATE_ERR_ARG = -10,		/* encoder: invalid values or buffer too small */
};

/* A parsed state file; leaves point into the parsed bytes. */
struct dl_state_view {
	uint8_t		 hash[32];
	uint64_t	 size;
	uint64_t	 frag;
	uint64_t	 verified;
	uint64_t	 nleaves;	/* verified / frag */
	const uint8_t	*leaves;	/* nleaves * DL_STATE_LEAF bytes */
};

/*
 * Parses and checks the bytes of a state file: DL_STATE_OK or why not.
 * hash: the file it must describe (NULL: any; v->hash says which).
 */
int		 dl_state_parse(const uint8_t *b, size_t len, const uint8_t *hash,
		    struct dl_state_view *v);
/*
 * Bytes of the state file for these values; 0 if they cannot be written
 * (fragment size 0, more than DL_STATE_LEAVES_MAX leaves).
 */
size_t		 dl_state_len(uint64_t frag, uint64_t verified);
/*
 * Writes a state file into out: its length, or DL_STATE_ERR_ARG.  The
 * numbers are not checked: serve_dl.c records the start of every download,
 * an empty file's too, and only dl_state_parse decides what may be resumed.
 */
long		 dl_state_encode(uint8_t *out, size_t cap, const uint8_t hash[32],
		    uint64_t size, uint64_t frag, uint64_t verified,
		    const uint8_t *leaves);
const char	*dl_state_strerror(int err);

#endif /* PEERNET_DL_STATE_H */
