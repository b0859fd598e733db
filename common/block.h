/*
 * block.h — Peernet blockchain blocks and their records (docs/data.md §2, §3).
 *
 * Pure codecs, no I/O.  A decoded block is a view over the caller's bytes:
 * records and tag values point into the input, nothing is allocated, and a
 * block is walked record by record with an iterator.  Encoding writes into a
 * caller buffer.  Signing is kept apart from encoding (block_signing_hash /
 * block_set_signature) because storaged does not hold the key: it asks netd
 * to sign the hash, then checks the answer with block_verify_owner.
 *
 * Block (§2.2):  signature(65) | prev hash(32) | version(8) | number(8) |
 *                size(4) | record count(2) | records          (119-byte header)
 * Record (§2.3): type(1) | date(8) | length(4) | data
 * All integers little-endian.
 *
 * block.c holds the block layer, block_record.c the record payloads (file
 * records with tags and TagData references, profile records).
 */
#ifndef PEERNET_BLOCK_H
#define PEERNET_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "ident.h"

#define BLOCK_HASH_BYTES		32
#define BLOCK_HEADER_SIZE		119
#define BLOCK_RECORD_HEADER_SIZE	13
#define BLOCK_OFF_SIGNATURE		0
#define BLOCK_OFF_PREV_HASH		65
#define BLOCK_OFF_VERSION		97
#define BLOCK_OFF_NUMBER		105
#define BLOCK_OFF_SIZE			113
#define BLOCK_OFF_COUNT			117

/* §2.9 size limits. */
#define BLOCK_TARGET_SIZE		4096	/* packing target of AddFiles/ProfileWrite */
#define BLOCK_MIN_ACCEPT_SIZE		1024	/* documented, unused by the reference */
#define BLOCK_CACHE_MAX_SIZE		50096	/* default CacheMaxBlockSize */
#define BLOCK_CACHE_MAX_COUNT		256	/* default CacheMaxBlockCount */
#define BLOCK_MAX_RECORDS		65535	/* uint16 record count */
#define BLOCK_MAX_SIZE			UINT32_MAX /* uint32 size field */

/* §2.4 record types. */
enum block_record_type {
	BLOCK_REC_PROFILE = 0,
	BLOCK_REC_TAG_DATA = 1,
	BLOCK_REC_FILE = 2,
	BLOCK_REC_INVALID3 = 3,		/* reserved, must not be used */
	BLOCK_REC_CERTIFICATE = 4,	/* defined only */
	BLOCK_REC_CONTENT_RATING = 5,	/* defined only */
	BLOCK_REC_CONTENT_REPORT = 6,	/* defined only */
};

/* One error enum for blocks and records; block_strerror() names each. */
enum block_err {
	BLOCK_OK = 0,
	BLOCK_ERR_ARG = -1,		/* NULL or otherwise unusable argument */
	BLOCK_ERR_SHORT = -2,		/* fewer than 119 bytes */
	BLOCK_ERR_SIZE_FIELD = -3,	/* size field differs from the length */
	BLOCK_ERR_RECORD_HEADER = -4,	/* a record header runs past the end */
	BLOCK_ERR_RECORD_DATA = -5,	/* a record's data runs past the end */
	BLOCK_ERR_TRAILING = -6,	/* bytes after the last record (strict check) */
	BLOCK_ERR_SIGNATURE = -7,	/* signature recovers no public key */
	BLOCK_ERR_OWNER = -8,		/* signer is not the chain's owner */
	BLOCK_ERR_NUMBER = -9,		/* block number is not the expected one */
	BLOCK_ERR_VERSION = -10,	/* chain version is not the expected one */
	BLOCK_ERR_PREV_HASH = -11,	/* previous-block hash does not link */
	BLOCK_ERR_TOO_LARGE = -12,	/* larger than the caller's size limit */
	BLOCK_ERR_TOO_MANY_RECORDS = -13, /* more than 65535 records */
	BLOCK_ERR_RECORD_TOO_LARGE = -14, /* record data or block >= 4 GiB */
	BLOCK_ERR_NOSPACE = -15,	/* output buffer too small */
	BLOCK_ERR_INDEX = -16,		/* record index out of range */
	BLOCK_ERR_NOT_FILE = -17,	/* record is not a file record */
	BLOCK_ERR_FILE_SHORT = -18,	/* file record shorter than 101 bytes */
	BLOCK_ERR_TAG_HEADER = -19,	/* a tag header runs past the record */
	BLOCK_ERR_TAG_DATA = -20,	/* a tag's data runs past the record */
	BLOCK_ERR_REF_WIDTH = -21,	/* reference tag data not 2, 4 or 8 bytes */
	BLOCK_ERR_REF_RANGE = -22,	/* reference points outside the block */
	BLOCK_ERR_REF_TYPE = -23,	/* reference target is not a TagData record */
	BLOCK_ERR_NOT_PROFILE = -24,	/* record is not a profile record */
	BLOCK_ERR_PROFILE_SHORT = -25,	/* profile record shorter than 2 bytes */
	BLOCK_ERR_TAG_TYPE = -26,	/* encoder: tag type has bit 15 set */
	BLOCK_ERR_TOO_MANY_TAGS = -27,	/* encoder: more than 65535 stored tags */
	BLOCK_ERR_SIGN = -28,		/* ident_sign failed */
	BLOCK_ERR_NOT_FOUND = -29,	/* no tag of that type */
	BLOCK_ERR_TAG_FORMAT = -30,	/* date/number tag without exactly 8 bytes */
	BLOCK_ERR_FILE_TRAILING = -31,	/* bytes after the last tag (strict check) */
};

const char *block_strerror(int err);

/* A decoded block: a view over raw, valid while raw is. */
struct block {
	const uint8_t	*raw;
	size_t		 len;
	const uint8_t	*signature;	/* raw + 0, 65 bytes */
	const uint8_t	*prev_hash;	/* raw + 65, 32 bytes */
	uint64_t	 version;
	uint64_t	 number;
	uint32_t	 size;		/* == len */
	uint16_t	 record_count;
	/* Offset just past the last declared record; < len if trailing bytes. */
	size_t		 records_end;
};

/* A record: type, creation date (Unix seconds) and a view of its data. */
struct block_record {
	uint8_t		 type;
	int64_t		 date;
	const uint8_t	*data;
	uint32_t	 len;
};

struct block_iter {
	const struct block *b;
	size_t		 off;
	uint32_t	 index;		/* index of the record next() returns */
};

/*
 * Structural decode, the reference's decodeBlock minus the signature: length
 * >= 119, size field == len, every record header and body inside the block.
 * Trailing bytes after the last record are accepted (reference behaviour;
 * see b->records_end).  Does not recover the signer: see block_verify.
 */
int	block_decode(const uint8_t *raw, size_t len, struct block *b);
void	block_iter_init(struct block_iter *it, const struct block *b);
/* 1 and *r filled, or 0 at the end.  Cannot fail on a decoded block. */
int	block_iter_next(struct block_iter *it, struct block_record *r);
/* The record at index (a walk from the start: O(index)). */
int	block_record_at(const struct block *b, uint32_t index, struct block_record *r);

/* Bytes block_encode will write for these records. */
int	block_encoded_size(const struct block_record *recs, size_t n, size_t *size);
/*
 * Header + records into out, with a zero signature (sign it next).  As in the
 * reference, block 0 always gets a zero previous hash; prev_hash may be NULL
 * (zeros) for any block.  Record dates are written as given.
 */
int	block_encode(const uint8_t *prev_hash, uint64_t version, uint64_t number,
	    const struct block_record *recs, size_t n, uint8_t *out, size_t cap,
	    size_t *outlen);
/* blake3(raw[65:]): the digest the owner signs. */
int	block_signing_hash(const uint8_t *raw, size_t len,
	    uint8_t hash[BLOCK_HASH_BYTES]);
int	block_set_signature(uint8_t *raw, size_t len,
	    const uint8_t sig[PEERNET_SIG_BYTES]);
/* Signing hash + ident_sign + block_set_signature, for holders of the key. */
int	block_sign(uint8_t *raw, size_t len, const struct ident *id);
/* blake3(raw): what the next block stores as its previous hash. */
void	block_hash(const uint8_t *raw, size_t len, uint8_t hash[BLOCK_HASH_BYTES]);

/*
 * What a receiver applies in the reference (§2.12 items 1-3): decode, then
 * recover the signer into owner_pub (and b, if not NULL).  Any key that the
 * signature recovers to is accepted: a flipped bit yields "some" owner.
 */
int	block_verify(const uint8_t *raw, size_t len, struct block *b,
	    uint8_t owner_pub[PEERNET_PUBKEY_BYTES]);
/* block_verify, and the signer must be expected_owner (BLOCK_ERR_OWNER). */
int	block_verify_owner(const uint8_t *raw, size_t len,
	    const uint8_t expected_owner[PEERNET_PUBKEY_BYTES]);

/* What block_validate checks beyond block_verify. */
#define BLOCK_CHECK_OWNER	0x01	/* signer == owner */
#define BLOCK_CHECK_NUMBER	0x02	/* number == expected number */
#define BLOCK_CHECK_VERSION	0x04	/* version == expected version */
#define BLOCK_CHECK_PREV	0x08	/* prev hash == expected prev hash */
#define BLOCK_CHECK_RECORDS	0x10	/* file + profile records decode (§2.12 4-5) */
#define BLOCK_CHECK_TRAILING	0x20	/* no bytes after the last record/tag */
#define BLOCK_CHECK_ALL		0x3f

struct block_expect {
	unsigned	 checks;	/* BLOCK_CHECK_* */
	const uint8_t	*owner;		/* 33 bytes */
	uint64_t	 number;
	uint64_t	 version;
	const uint8_t	*prev_hash;	/* 32 bytes; zeros for block 0 */
	size_t		 max_size;	/* 0 = no limit (else e.g. BLOCK_CACHE_MAX_SIZE) */
};

/*
 * The validation the reference forgets (§2.11 "does not validate"): size
 * limit, structure, records, signature, owner, number, version, link.  Cheap
 * checks run before the signature recovery.  b and owner_pub may be NULL.
 */
int	block_validate(const uint8_t *raw, size_t len, const struct block_expect *e,
	    struct block *b, uint8_t owner_pub[PEERNET_PUBKEY_BYTES]);

/* ---- records (block_record.c) ---------------------------------------- */

/* §2.5.2 tag types (15 bits); 3, 5 and 6 are virtual (never stored). */
#define RECORD_TAG_NAME			0
#define RECORD_TAG_FOLDER		1
#define RECORD_TAG_DESCRIPTION		2
#define RECORD_TAG_DATE_SHARED		3	/* virtual: the record's date */
#define RECORD_TAG_DATE_CREATED		4
#define RECORD_TAG_SHARED_BY_COUNT	5	/* virtual */
#define RECORD_TAG_SHARED_BY_GEOIP	6	/* virtual */
#define RECORD_TAG_REF_BIT		0x8000	/* stored data is a TagData reference */
#define RECORD_TAG_TYPE_MASK		0x7fff
#define RECORD_TAG_HEADER_SIZE		6
/* TagData dedup applies to tag data longer than this (§2.5.3). */
#define RECORD_TAG_DEDUP_MIN		5

#define RECORD_FILE_FIXED_SIZE		101
#define RECORD_FILE_ID_BYTES		16

/* §3.2 file types (record byte 88). */
enum record_file_type {
	RECORD_TYPE_BINARY = 0, RECORD_TYPE_TEXT = 1, RECORD_TYPE_PICTURE = 2,
	RECORD_TYPE_VIDEO = 3, RECORD_TYPE_AUDIO = 4, RECORD_TYPE_DOCUMENT = 5,
	RECORD_TYPE_EXECUTABLE = 6, RECORD_TYPE_CONTAINER = 7,
	RECORD_TYPE_COMPRESSED = 8, RECORD_TYPE_FOLDER = 9, RECORD_TYPE_EBOOK = 10,
};

/* §3.3 file formats (record bytes 89-90). */
enum record_file_format {
	RECORD_FORMAT_BINARY = 0, RECORD_FORMAT_PDF = 1, RECORD_FORMAT_WORD = 2,
	RECORD_FORMAT_EXCEL = 3, RECORD_FORMAT_POWERPOINT = 4,
	RECORD_FORMAT_PICTURE = 5, RECORD_FORMAT_AUDIO = 6, RECORD_FORMAT_VIDEO = 7,
	RECORD_FORMAT_CONTAINER = 8, RECORD_FORMAT_HTML = 9, RECORD_FORMAT_TEXT = 10,
	RECORD_FORMAT_EBOOK = 11, RECORD_FORMAT_COMPRESSED = 12,
	RECORD_FORMAT_DATABASE = 13, RECORD_FORMAT_EMAIL = 14, RECORD_FORMAT_CSV = 15,
	RECORD_FORMAT_FOLDER = 16, RECORD_FORMAT_EXECUTABLE = 17,
	RECORD_FORMAT_INSTALLER = 18, RECORD_FORMAT_APK = 19, RECORD_FORMAT_ISO = 20,
	RECORD_FORMAT_SEARCH = 21,
};

/* §2.6 profile fields. */
#define RECORD_PROFILE_NAME		0
#define RECORD_PROFILE_EMAIL		1
#define RECORD_PROFILE_WEBSITE		2
#define RECORD_PROFILE_TWITTER		3
#define RECORD_PROFILE_YOUTUBE		4
#define RECORD_PROFILE_ADDRESS		5
#define RECORD_PROFILE_PICTURE		6

int	record_tag_is_virtual(uint16_t type);

/*
 * A decoded file record (§2.5).  Fixed fields are copied; the tags stay in
 * the block and are read with record_file_tag_iter, which resolves TagData
 * references and ends with the virtual DateShared tag, as the reference's
 * decoder does.  Valid while the block's bytes are.
 */
struct record_file {
	uint8_t		 hash[BLOCK_HASH_BYTES];
	uint8_t		 id[RECORD_FILE_ID_BYTES];	/* RFC 4122 byte order */
	uint8_t		 merkle_root[BLOCK_HASH_BYTES];
	uint64_t	 fragment_size;
	uint8_t		 type;
	uint16_t	 format;
	uint64_t	 size;
	uint16_t	 tag_count;	/* stored tags (the virtual one not counted) */
	int64_t		 date_shared;	/* the record's date */
	const uint8_t	*tags_raw;	/* the stored tags */
	size_t		 tags_len;
	size_t		 trailing;	/* bytes after the last tag (reference ignores) */
	/* Context for references, and the virtual tag's 8 data bytes. */
	const struct block *blk;
	uint32_t	 rec_index;
	uint8_t		 date_shared_le[8];
};

struct record_file_tag {
	uint16_t	 type;		/* 15-bit tag type */
	int		 is_ref;	/* stored as a TagData reference */
	int		 is_virtual;	/* the DateShared tag added on decode */
	const uint8_t	*data;		/* resolved value */
	size_t		 len;
	const uint8_t	*raw;		/* as stored (the distance, if is_ref) */
	uint32_t	 raw_len;
	int64_t		 ref_distance;	/* target index - own index, if is_ref */
};

struct record_file_tag_iter {
	const struct record_file *f;
	size_t		 off;
	uint32_t	 n;
	int		 virtual_done;
};

/*
 * Decodes and fully validates record `index` of block b (§2.12 item 4):
 * >= 101 bytes, every tag inside the record, every reference of width 2/4/8
 * pointing at a TagData record of the block.
 */
int	record_file_decode(const struct block *b, uint32_t index,
	    struct record_file *f);
void	record_file_tag_iter_init(struct record_file_tag_iter *it,
	    const struct record_file *f);
/* 1 and *t filled, 0 at the end (after the virtual DateShared tag). */
int	record_file_tag_next(struct record_file_tag_iter *it,
	    struct record_file_tag *t);
/* First tag of that type (virtual DateShared included); BLOCK_ERR_NOT_FOUND. */
int	record_file_tag_get(const struct record_file *f, uint16_t type,
	    struct record_file_tag *t);
/* Date / number tag value: exactly 8 little-endian bytes. */
int	record_tag_u64(const uint8_t *data, size_t len, uint64_t *v);
int	record_tag_date(const uint8_t *data, size_t len, int64_t *date);
/*
 * Re-encodes a decoded file record exactly as stored (references kept as
 * references, trailing bytes dropped): equal to the input when
 * f->trailing == 0.
 */
int	record_file_encode_raw(const struct record_file *f, uint8_t *out,
	    size_t cap, size_t *outlen);

/* Input of the file encoder. */
struct record_tag_in {
	uint16_t	 type;		/* 15-bit; virtual types are not written */
	const uint8_t	*data;
	size_t		 len;
};

struct record_file_in {
	uint8_t		 hash[BLOCK_HASH_BYTES];
	uint8_t		 id[RECORD_FILE_ID_BYTES];
	uint8_t		 merkle_root[BLOCK_HASH_BYTES];
	uint64_t	 fragment_size;
	uint8_t		 type;
	uint16_t	 format;
	uint64_t	 size;
	const struct record_tag_in *tags;
	size_t		 ntags;
};

/* §2.5.4: 13 + 101 + sum of (6 + len) over non-virtual tags. */
uint64_t record_file_size_in_block(const struct record_file_in *f);
/*
 * The reference's encodeBlockRecordFiles (§2.5.3): TagData records for tag
 * data (> 4 bytes) seen twice, in order of first duplication, then one File
 * record per file with duplicated data replaced by a reference.  Virtual tags
 * take part in the duplicate search but are not written (reference quirk,
 * kept for byte-identical rewrites).  Every record gets `date`.
 * The records go to recs (TagData data points into the input tags, File data
 * into buf).  On BLOCK_ERR_NOSPACE, *nrecs and *buf_used hold the sizes
 * needed.  The duplicate search is quadratic in the number of tags; callers
 * pack a block's worth of files (BLOCK_TARGET_SIZE) per call.
 */
int	record_files_encode(const struct record_file_in *files, size_t nfiles,
	    int64_t date, struct block_record *recs, size_t recs_cap,
	    size_t *nrecs, uint8_t *buf, size_t buf_cap, size_t *buf_used);

struct record_profile {
	uint16_t	 field;		/* RECORD_PROFILE_* or client-defined */
	const uint8_t	*data;
	size_t		 len;
};

int	record_profile_decode(const struct block_record *r, struct record_profile *p);
/* field(2) | data into out; 2 + len bytes. */
int	record_profile_encode(uint16_t field, const uint8_t *data, size_t len,
	    uint8_t *out, size_t cap, size_t *outlen);

/*
 * §2.12 items 4-5 over a whole block: every file record decodes (references
 * resolved), every profile record has >= 2 bytes.  With strict, a file
 * record with bytes after its last tag is refused (BLOCK_ERR_FILE_TRAILING).
 */
int	block_check_records(const struct block *b, int strict);

#endif /* PEERNET_BLOCK_H */
