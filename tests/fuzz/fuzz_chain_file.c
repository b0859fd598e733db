/*
 * fuzz_chain_file.c — chain_file_decode (storaged/chain.c), which turns a file
 * record of a block into storaged's struct chain_file: pass 1 sizes the
 * strings and tags, pass 2 copies them into one scratch buffer.  storaged
 * applies it to blocks of other peers' blockchains (cache.c), so a record
 * whose two passes disagree would write past the buffer.  fuzz_block covers
 * the block and record decoders underneath; this is the part above them.
 *
 * Each record of a decoded input block goes through chain_file_decode with a
 * fresh scratch (exactly as large as pass 1 asks, so that ASan sees an
 * overrun by a single byte).  Properties: it succeeds if and only if
 * record_file_decode does; the fixed fields are the record's; every string
 * and tag lies inside the scratch, NUL-terminated at its length; the first
 * name/folder/description tag fills its field, the rest are counted in
 * tags[] (the rule of chain.h, written out here).
 *
 * storaged is not part of the fuzz build (common sources only): chain.c is
 * included; the db.c helpers it calls are common, and linked with sqlite.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../storaged/chain.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
inside(const struct chain_scratch *s, const void *p, size_t len)
{
	const uint8_t *q = p;

	return q >= s->p && len < s->cap && q + len < s->p + s->cap &&
	    q[len] == '\0';
}

static void
check_record(const struct block *b, uint32_t index)
{
	struct chain_scratch s = { NULL, 0 };
	struct record_file rf;
	struct record_file_tag_iter it;
	struct record_file_tag t;
	struct chain_file f;
	size_t others = 0, i;
	int seen[3] = { 0, 0, 0 }, rc, rrc;

	rrc = record_file_decode(b, index, &rf);
	rc = chain_file_decode(b, index, &f, &s);
	if ((rc == BLOCK_OK) != (rrc == BLOCK_OK) && rc != BLOCK_ERR_NOSPACE)
		abort();
	if (rc != BLOCK_OK)
		goto out;
	if (memcmp(f.id, rf.id, sizeof(f.id)) != 0 ||
	    memcmp(f.hash, rf.hash, sizeof(f.hash)) != 0 ||
	    f.size != rf.size || f.type != rf.type || f.format != rf.format ||
	    f.date_shared != rf.date_shared || f.record != index ||
	    f.block != b->number)
		abort();
	/* the rule: the first name, folder and description fill the fields */
	record_file_tag_iter_init(&it, &rf);
	while (record_file_tag_next(&it, &t) == 1) {
		if (t.is_virtual)
			continue;
		if (t.type == RECORD_TAG_NAME && !seen[0])
			seen[0] = 1;
		else if (t.type == RECORD_TAG_FOLDER && !seen[1])
			seen[1] = 1;
		else if (t.type == RECORD_TAG_DESCRIPTION && !seen[2])
			seen[2] = 1;
		else if (t.type != RECORD_TAG_DATE_CREATED)
			others++;
	}
	if ((f.name != NULL) != seen[0] || (f.folder != NULL) != seen[1] ||
	    (f.description != NULL) != seen[2])
		abort();
	if ((f.name && !inside(&s, f.name, f.name_len)) ||
	    (f.folder && !inside(&s, f.folder, f.folder_len)) ||
	    (f.description && !inside(&s, f.description, f.description_len)))
		abort();
	/* date tags that are not a valid date (or a second one) are kept raw */
	if (f.ntags < others || (f.ntags > 0) != (f.tags != NULL))
		abort();
	for (i = 0; i < f.ntags; i++)
		if ((f.tags[i].type & 0x8000) != 0 ||
		    !inside(&s, f.tags[i].data, f.tags[i].len) ||
		    (const uint8_t *)&f.tags[i] < s.p ||
		    (const uint8_t *)(&f.tags[i] + 1) > s.p + s.cap)
			abort();
out:
	chain_scratch_free(&s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct block b;
	uint32_t i;

	if (block_decode(data, size, &b) != BLOCK_OK)
		return 0;
	for (i = 0; i < b.record_count && i < 4096; i++)
		check_record(&b, i);
	return 0;
}
