/*
 * block_record.c — record payloads (docs/data.md §2.5, §2.6): file records with
 * their tags and TagData references, profile records.
 */
#include <string.h>

#include "block.h"
#include "buf.h"

int
record_tag_is_virtual(uint16_t type)
{
	return type == RECORD_TAG_DATE_SHARED ||
	    type == RECORD_TAG_SHARED_BY_COUNT ||
	    type == RECORD_TAG_SHARED_BY_GEOIP;
}

/* A reference's signed distance from its 2, 4 or 8 little-endian bytes. */
static int
ref_distance(const uint8_t *p, uint32_t len, int64_t *d)
{
	switch (len) {
	case 2:
		*d = (int16_t)buf_le16(p);
		return BLOCK_OK;
	case 4:
		*d = (int32_t)buf_le32(p);
		return BLOCK_OK;
	case 8:
		*d = (int64_t)buf_le64(p);
		return BLOCK_OK;
	}
	return BLOCK_ERR_REF_WIDTH;
}

/* Resolves record index + d to a TagData record of b. */
static int
ref_resolve(const struct block *b, uint32_t index, int64_t d,
    struct block_record *target)
{
	int64_t t;

	/* Compare before adding: d may be any int64. */
	if (d < -(int64_t)index || d >= (int64_t)b->record_count - (int64_t)index)
		return BLOCK_ERR_REF_RANGE;
	t = (int64_t)index + d;
	if (block_record_at(b, (uint32_t)t, target) != BLOCK_OK)
		return BLOCK_ERR_REF_RANGE;
	if (target->type != BLOCK_REC_TAG_DATA)
		return BLOCK_ERR_REF_TYPE;
	return BLOCK_OK;
}

static int
file_decode_rec(const struct block *b, uint32_t index,
    const struct block_record *rec, struct record_file *f)
{
	struct block_record target;
	struct buf_r r;
	uint16_t i, ttype;
	uint32_t tlen;
	const uint8_t *tdata;
	int64_t d;
	int rc;

	if (rec->type != BLOCK_REC_FILE)
		return BLOCK_ERR_NOT_FILE;
	if (rec->len < RECORD_FILE_FIXED_SIZE)
		return BLOCK_ERR_FILE_SHORT;
	memset(f, 0, sizeof(*f));
	buf_r_init(&r, rec->data, rec->len);
	buf_r_copy(&r, f->hash, sizeof(f->hash));
	buf_r_copy(&r, f->id, sizeof(f->id));
	buf_r_copy(&r, f->merkle_root, sizeof(f->merkle_root));
	f->fragment_size = buf_r_le64(&r);
	f->type = buf_r_u8(&r);
	f->format = buf_r_le16(&r);
	f->size = buf_r_le64(&r);
	f->tag_count = buf_r_le16(&r);
	f->tags_raw = rec->data + r.off;

	for (i = 0; i < f->tag_count; i++) {
		if (buf_r_left(&r) < RECORD_TAG_HEADER_SIZE)
			return BLOCK_ERR_TAG_HEADER;
		ttype = buf_r_le16(&r);
		tlen = buf_r_le32(&r);
		if ((tdata = buf_r_take(&r, tlen)) == NULL)
			return BLOCK_ERR_TAG_DATA;
		if (ttype & RECORD_TAG_REF_BIT) {
			if ((rc = ref_distance(tdata, tlen, &d)) != BLOCK_OK)
				return rc;
			if ((rc = ref_resolve(b, index, d, &target)) != BLOCK_OK)
				return rc;
		}
	}
	f->tags_len = (size_t)(rec->data + r.off - f->tags_raw);
	f->trailing = buf_r_left(&r);
	f->date_shared = rec->date;
	buf_put_le64(f->date_shared_le, (uint64_t)rec->date);
	f->blk = b;
	f->rec_index = index;
	return BLOCK_OK;
}

int
record_file_decode(const struct block *b, uint32_t index, struct record_file *f)
{
	struct block_record rec;
	int rc;

	if (b == NULL || f == NULL)
		return BLOCK_ERR_ARG;
	if ((rc = block_record_at(b, index, &rec)) != BLOCK_OK)
		return rc;
	return file_decode_rec(b, index, &rec, f);
}

void
record_file_tag_iter_init(struct record_file_tag_iter *it,
    const struct record_file *f)
{
	it->f = f;
	it->off = 0;
	it->n = 0;
	it->virtual_done = 0;
}

int
record_file_tag_next(struct record_file_tag_iter *it, struct record_file_tag *t)
{
	const struct record_file *f = it->f;
	struct block_record target;
	struct buf_r r;
	uint16_t raw_type;

	memset(t, 0, sizeof(*t));
	if (it->n >= f->tag_count) {
		if (it->virtual_done)
			return 0;
		/* The reference's decoder appends DateShared = record date. */
		it->virtual_done = 1;
		t->type = RECORD_TAG_DATE_SHARED;
		t->is_virtual = 1;
		t->data = t->raw = f->date_shared_le;
		t->len = t->raw_len = sizeof(f->date_shared_le);
		return 1;
	}
	/* The tags were validated by record_file_decode. */
	buf_r_init(&r, f->tags_raw, f->tags_len);
	r.off = it->off;
	raw_type = buf_r_le16(&r);
	t->raw_len = buf_r_le32(&r);
	t->raw = buf_r_take(&r, t->raw_len);
	if (r.err)
		return 0;
	t->type = raw_type & RECORD_TAG_TYPE_MASK;
	t->data = t->raw;
	t->len = t->raw_len;
	if (raw_type & RECORD_TAG_REF_BIT) {
		t->is_ref = 1;
		if (ref_distance(t->raw, t->raw_len, &t->ref_distance) != BLOCK_OK ||
		    ref_resolve(f->blk, f->rec_index, t->ref_distance, &target) !=
		    BLOCK_OK)
			return 0;
		t->data = target.data;
		t->len = target.len;
	}
	it->off = r.off;
	it->n++;
	return 1;
}

int
record_file_tag_get(const struct record_file *f, uint16_t type,
    struct record_file_tag *t)
{
	struct record_file_tag_iter it;

	if (f == NULL || t == NULL)
		return BLOCK_ERR_ARG;
	record_file_tag_iter_init(&it, f);
	while (record_file_tag_next(&it, t) == 1)
		if (t->type == type)
			return BLOCK_OK;
	memset(t, 0, sizeof(*t));
	return BLOCK_ERR_NOT_FOUND;
}

int
record_tag_u64(const uint8_t *data, size_t len, uint64_t *v)
{
	if (v == NULL || (data == NULL && len > 0))
		return BLOCK_ERR_ARG;
	if (len != 8)
		return BLOCK_ERR_TAG_FORMAT;
	*v = buf_le64(data);
	return BLOCK_OK;
}

int
record_tag_date(const uint8_t *data, size_t len, int64_t *date)
{
	uint64_t v;
	int rc;

	if (date == NULL)
		return BLOCK_ERR_ARG;
	if ((rc = record_tag_u64(data, len, &v)) != BLOCK_OK)
		return rc;
	*date = (int64_t)v;
	return BLOCK_OK;
}

static void
file_fixed_write(struct buf_w *w, const uint8_t *hash, const uint8_t *id,
    const uint8_t *root, uint64_t fragment_size, uint8_t type, uint16_t format,
    uint64_t size, uint16_t tag_count)
{
	buf_w_bytes(w, hash, BLOCK_HASH_BYTES);
	buf_w_bytes(w, id, RECORD_FILE_ID_BYTES);
	buf_w_bytes(w, root, BLOCK_HASH_BYTES);
	buf_w_le64(w, fragment_size);
	buf_w_u8(w, type);
	buf_w_le16(w, format);
	buf_w_le64(w, size);
	buf_w_le16(w, tag_count);
}

int
record_file_encode_raw(const struct record_file *f, uint8_t *out, size_t cap,
    size_t *outlen)
{
	struct record_file_tag_iter it;
	struct record_file_tag t;
	struct buf_w w;
	size_t need;

	if (f == NULL || out == NULL || outlen == NULL)
		return BLOCK_ERR_ARG;
	need = RECORD_FILE_FIXED_SIZE + f->tags_len;
	*outlen = need;
	if (need > cap)
		return BLOCK_ERR_NOSPACE;
	buf_w_init(&w, out, cap);
	file_fixed_write(&w, f->hash, f->id, f->merkle_root, f->fragment_size,
	    f->type, f->format, f->size, f->tag_count);
	record_file_tag_iter_init(&it, f);
	while (record_file_tag_next(&it, &t) == 1) {
		if (t.is_virtual)
			continue;
		buf_w_le16(&w, (uint16_t)(t.type | (t.is_ref ? RECORD_TAG_REF_BIT : 0)));
		buf_w_le32(&w, t.raw_len);
		buf_w_bytes(&w, t.raw, t.raw_len);
	}
	if (w.err || w.off != need)
		return BLOCK_ERR_NOSPACE;
	return BLOCK_OK;
}

uint64_t
record_file_size_in_block(const struct record_file_in *f)
{
	uint64_t size = BLOCK_RECORD_HEADER_SIZE + RECORD_FILE_FIXED_SIZE;
	size_t i;

	for (i = 0; i < f->ntags; i++)
		if (!record_tag_is_virtual(f->tags[i].type))
			size += RECORD_TAG_HEADER_SIZE + (uint64_t)f->tags[i].len;
	return size;
}

static int
tag_data_eq(const struct record_tag_in *a, const struct record_tag_in *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/*
 * Number of tags equal to files[fi].tags[ti] (data longer than 4 bytes)
 * that come before it in input order, stopping at 2: we only need to know
 * whether this is the first, the second, or a later occurrence.
 */
static int
earlier_occurrences(const struct record_file_in *files, size_t fi, size_t ti)
{
	const struct record_tag_in *t = &files[fi].tags[ti];
	size_t f, i, end;
	int n = 0;

	for (f = 0; f <= fi; f++) {
		end = f == fi ? ti : files[f].ntags;
		for (i = 0; i < end; i++) {
			if (files[f].tags[i].len >= RECORD_TAG_DEDUP_MIN &&
			    tag_data_eq(&files[f].tags[i], t) && ++n == 2)
				return n;
		}
	}
	return n;
}

/* Smallest of 2, 4, 8 bytes that holds the signed distance (intToBytes). */
static uint32_t
ref_width(int64_t d)
{
	if (d >= INT16_MIN && d <= INT16_MAX)
		return 2;
	if (d >= INT32_MIN && d <= INT32_MAX)
		return 4;
	return 8;
}

static void
ref_put(struct buf_w *w, int64_t d)
{
	switch (ref_width(d)) {
	case 2:
		buf_w_le16(w, (uint16_t)(int16_t)d);
		break;
	case 4:
		buf_w_le32(w, (uint32_t)(int32_t)d);
		break;
	default:
		buf_w_le64(w, (uint64_t)d);
	}
}

/* Index of the TagData record holding t's data among recs[0..ndup), or -1. */
static long
dup_lookup(const struct block_record *recs, size_t ndup,
    const struct record_tag_in *t)
{
	size_t i;

	if (t->len < RECORD_TAG_DEDUP_MIN)
		return -1;
	for (i = 0; i < ndup; i++)
		if (recs[i].len == t->len && memcmp(recs[i].data, t->data, t->len) == 0)
			return (long)i;
	return -1;
}

int
record_files_encode(const struct record_file_in *files, size_t nfiles,
    int64_t date, struct block_record *recs, size_t recs_cap, size_t *nrecs,
    uint8_t *buf, size_t buf_cap, size_t *buf_used)
{
	const struct record_tag_in *t;
	struct buf_w w;
	size_t fi, ti, ndup = 0, stored, start;
	uint64_t need = 0, flen;
	int64_t d;
	long ref;

	if ((files == NULL && nfiles > 0) || nrecs == NULL || buf_used == NULL ||
	    (recs == NULL && recs_cap > 0) || (buf == NULL && buf_cap > 0))
		return BLOCK_ERR_ARG;
	*nrecs = 0;
	*buf_used = 0;

	/* Pass 1: check the input, find the duplicated tag data. */
	for (fi = 0; fi < nfiles; fi++) {
		if (files[fi].tags == NULL && files[fi].ntags > 0)
			return BLOCK_ERR_ARG;
		stored = 0;
		for (ti = 0; ti < files[fi].ntags; ti++) {
			t = &files[fi].tags[ti];
			if (t->data == NULL && t->len > 0)
				return BLOCK_ERR_ARG;
			if (t->type & RECORD_TAG_REF_BIT)
				return BLOCK_ERR_TAG_TYPE;
			if (t->len > UINT32_MAX)
				return BLOCK_ERR_RECORD_TOO_LARGE;
			if (!record_tag_is_virtual(t->type) && ++stored > UINT16_MAX)
				return BLOCK_ERR_TOO_MANY_TAGS;
			/* Virtual tags count here too (reference quirk). */
			if (t->len < RECORD_TAG_DEDUP_MIN ||
			    earlier_occurrences(files, fi, ti) != 1)
				continue;
			if (ndup < recs_cap) {
				recs[ndup].type = BLOCK_REC_TAG_DATA;
				recs[ndup].date = date;
				recs[ndup].data = t->data;
				recs[ndup].len = (uint32_t)t->len;
			}
			ndup++;
		}
	}
	*nrecs = ndup + nfiles;
	if (*nrecs > recs_cap)
		return BLOCK_ERR_NOSPACE;

	/* Pass 2: sizes of the file records. */
	for (fi = 0; fi < nfiles; fi++) {
		flen = RECORD_FILE_FIXED_SIZE;
		for (ti = 0; ti < files[fi].ntags; ti++) {
			t = &files[fi].tags[ti];
			if (record_tag_is_virtual(t->type))
				continue;
			flen += RECORD_TAG_HEADER_SIZE;
			if ((ref = dup_lookup(recs, ndup, t)) >= 0)
				flen += ref_width(ref - (int64_t)(ndup + fi));
			else
				flen += t->len;
		}
		if (flen > UINT32_MAX)
			return BLOCK_ERR_RECORD_TOO_LARGE;
		need += flen;
	}
	*buf_used = (size_t)need;
	if (need > buf_cap)
		return BLOCK_ERR_NOSPACE;

	/* Pass 3: write them. */
	buf_w_init(&w, buf, buf_cap);
	for (fi = 0; fi < nfiles; fi++) {
		start = w.off;
		stored = 0;
		for (ti = 0; ti < files[fi].ntags; ti++)
			stored += !record_tag_is_virtual(files[fi].tags[ti].type);
		file_fixed_write(&w, files[fi].hash, files[fi].id,
		    files[fi].merkle_root, files[fi].fragment_size, files[fi].type,
		    files[fi].format, files[fi].size, (uint16_t)stored);
		for (ti = 0; ti < files[fi].ntags; ti++) {
			t = &files[fi].tags[ti];
			if (record_tag_is_virtual(t->type))
				continue;
			if ((ref = dup_lookup(recs, ndup, t)) >= 0) {
				d = ref - (int64_t)(ndup + fi);
				buf_w_le16(&w, (uint16_t)(t->type | RECORD_TAG_REF_BIT));
				buf_w_le32(&w, ref_width(d));
				ref_put(&w, d);
			} else {
				buf_w_le16(&w, t->type);
				buf_w_le32(&w, (uint32_t)t->len);
				buf_w_bytes(&w, t->data, t->len);
			}
		}
		if (w.err)
			return BLOCK_ERR_NOSPACE;
		recs[ndup + fi].type = BLOCK_REC_FILE;
		recs[ndup + fi].date = date;
		recs[ndup + fi].data = buf + start;
		recs[ndup + fi].len = (uint32_t)(w.off - start);
	}
	return BLOCK_OK;
}

int
record_profile_decode(const struct block_record *r, struct record_profile *p)
{
	if (r == NULL || p == NULL)
		return BLOCK_ERR_ARG;
	if (r->type != BLOCK_REC_PROFILE)
		return BLOCK_ERR_NOT_PROFILE;
	if (r->len < 2)
		return BLOCK_ERR_PROFILE_SHORT;
	p->field = buf_le16(r->data);
	p->data = r->data + 2;
	p->len = r->len - 2;
	return BLOCK_OK;
}

int
record_profile_encode(uint16_t field, const uint8_t *data, size_t len,
    uint8_t *out, size_t cap, size_t *outlen)
{
	struct buf_w w;

	if (out == NULL || outlen == NULL || (data == NULL && len > 0))
		return BLOCK_ERR_ARG;
	if (len > UINT32_MAX - 2)
		return BLOCK_ERR_RECORD_TOO_LARGE;
	*outlen = len + 2;
	buf_w_init(&w, out, cap);
	buf_w_le16(&w, field);
	buf_w_bytes(&w, data, len);
	return w.err ? BLOCK_ERR_NOSPACE : BLOCK_OK;
}

int
block_check_records(const struct block *b, int strict)
{
	struct block_iter it;
	struct block_record rec;
	struct record_file f;
	struct record_profile p;
	uint32_t index;
	int rc;

	if (b == NULL)
		return BLOCK_ERR_ARG;
	block_iter_init(&it, b);
	for (index = 0; block_iter_next(&it, &rec) == 1; index++) {
		switch (rec.type) {
		case BLOCK_REC_FILE:
			if ((rc = file_decode_rec(b, index, &rec, &f)) != BLOCK_OK)
				return rc;
			if (strict && f.trailing != 0)
				return BLOCK_ERR_FILE_TRAILING;
			break;
		case BLOCK_REC_PROFILE:
			if ((rc = record_profile_decode(&rec, &p)) != BLOCK_OK)
				return rc;
			break;
		}
	}
	return BLOCK_OK;
}
