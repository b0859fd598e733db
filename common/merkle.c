/*
 * merkle.c — merkle trees over file fragments (docs/data.md §4): fragment size
 * table, streaming builder, companion export/import, proofs.
 */
#include <string.h>

#include "blake3.h"
#include "buf.h"
#include "merkle.h"

#define KIB	1024ULL
#define MIB	(1024ULL * KIB)
#define GIB	(1024ULL * MIB)
#define TIB	(1024ULL * GIB)
#define PIB	(1024ULL * TIB)

const char *
merkle_strerror(int err)
{
	switch (err) {
	case MERKLE_OK:			return "ok";
	case MERKLE_ERR_ARG:		return "invalid argument";
	case MERKLE_ERR_FRAGMENT_SIZE:	return "fragment size is zero";
	case MERKLE_ERR_SHORT:		return "merkle export shorter than required";
	case MERKLE_ERR_LONG:		return "merkle export longer than required";
	case MERKLE_ERR_OVERFLOW:	return "more data than the declared file size";
	case MERKLE_ERR_INCOMPLETE:	return "less data than the declared file size";
	case MERKLE_ERR_NOSPACE:	return "output buffer too small";
	case MERKLE_ERR_INDEX:		return "fragment index out of range";
	case MERKLE_ERR_PROOF_LENGTH:	return "proof length not a multiple of 33";
	case MERKLE_ERR_PROOF_DIRECTION: return "proof direction byte not 0 or 1";
	case MERKLE_ERR_PROOF_SHAPE:	return "proof does not fit the fragment position";
	case MERKLE_ERR_MISMATCH:	return "fragment does not verify against the root";
	case MERKLE_ERR_TOO_LARGE:	return "merkle tree too large";
	case MERKLE_ERR_CORRUPT:	return "merkle tree hashes inconsistent";
	}
	return "unknown merkle error";
}

uint64_t
merkle_fragment_size(uint64_t file_size)
{
	/* §4.1, upper bounds inclusive. */
	static const struct {
		uint64_t	max;
		uint64_t	frag;
	} table[] = {
		{ 256 * MIB, 256 * KIB },
		{ 1 * GIB, 512 * KIB },
		{ 2 * GIB, 1 * MIB },
		{ 4 * GIB, 2 * MIB },
		{ 8 * GIB, 8 * MIB },
		{ 16 * GIB, 16 * MIB },
		{ 32 * GIB, 32 * MIB },
		{ 64 * GIB, 64 * MIB },
		{ 1 * TIB, 64 * MIB },
		{ 2 * TIB, 128 * MIB },
		{ 1 * PIB, 512 * MIB },
	};
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (file_size <= table[i].max)
			return table[i].frag;
	return 1 * GIB;
}

uint64_t
merkle_fragment_count(uint64_t file_size, uint64_t fragment_size)
{
	if (fragment_size == 0)
		return 0;
	/* Not (size + fs - 1) / fs: that overflows near 2^64. */
	return file_size / fragment_size + (file_size % fragment_size != 0);
}

uint64_t
merkle_hash_count(uint64_t count)
{
	uint64_t total, n;

	if (count <= 1)
		return 0;
	if (count > UINT64_MAX / 2 - 128)
		return UINT64_MAX;
	total = count;
	for (n = count; n > 1; ) {
		n = n / 2 + (n & 1);
		if (n <= 1)
			break;
		total += n;
	}
	return total;
}

int
merkle_export_size(uint64_t file_size, uint64_t fragment_size, size_t *len)
{
	uint64_t hc;

	if (len == NULL)
		return MERKLE_ERR_ARG;
	if (fragment_size == 0)
		return MERKLE_ERR_FRAGMENT_SIZE;
	hc = merkle_hash_count(merkle_fragment_count(file_size, fragment_size));
	if (hc > (SIZE_MAX - MERKLE_HEADER_SIZE) / MERKLE_HASH_BYTES)
		return MERKLE_ERR_TOO_LARGE;
	*len = MERKLE_HEADER_SIZE + (size_t)hc * MERKLE_HASH_BYTES;
	return MERKLE_OK;
}

int
merkle_fragment_range(uint64_t file_size, uint64_t fragment_size,
    uint64_t index, uint64_t *offset, uint64_t *length)
{
	uint64_t off;

	if (offset == NULL || length == NULL)
		return MERKLE_ERR_ARG;
	if (fragment_size == 0)
		return MERKLE_ERR_FRAGMENT_SIZE;
	if (index >= merkle_fragment_count(file_size, fragment_size))
		return MERKLE_ERR_INDEX;
	off = index * fragment_size;	/* < file_size: no overflow */
	*offset = off;
	*length = file_size - off < fragment_size ? file_size - off : fragment_size;
	return MERKLE_OK;
}

unsigned
merkle_proof_entries(uint64_t count, uint64_t index)
{
	unsigned n = 0;

	if (index >= count)
		return 0;
	for (; count > 1; count = count / 2 + (count & 1), index /= 2)
		if (!(index == count - 1 && index % 2 == 0))
			n++;
	return n;
}

static void
parent_hash(const uint8_t *left, const uint8_t *right, uint8_t out[MERKLE_HASH_BYTES])
{
	uint8_t in[2 * MERKLE_HASH_BYTES];

	memcpy(in, left, MERKLE_HASH_BYTES);
	memcpy(in + MERKLE_HASH_BYTES, right, MERKLE_HASH_BYTES);
	blake3_hash(in, sizeof(in), out);
}

/*
 * Fills the middle levels after the count leaf hashes at h (count >= 2)
 * and computes the root.
 */
static void
levels_build(uint8_t *h, uint64_t count, uint8_t root[MERKLE_HASH_BYTES])
{
	uint64_t in = 0, out = count, n = count, m, j;

	for (;;) {
		if (n == 2) {
			parent_hash(h + in * 32, h + (in + 1) * 32, root);
			return;
		}
		m = n / 2 + (n & 1);
		for (j = 0; j < n / 2; j++)
			parent_hash(h + (in + 2 * j) * 32, h + (in + 2 * j + 1) * 32,
			    h + (out + j) * 32);
		if (n & 1)
			memcpy(h + (out + m - 1) * 32, h + (in + n - 1) * 32, 32);
		in = out;
		out += m;
		n = m;
	}
}

int
merkle_builder_init(struct merkle_builder *mb, uint64_t file_size,
    uint64_t fragment_size, uint8_t *export_buf, size_t export_cap)
{
	size_t need;
	int rc;

	if (mb == NULL)
		return MERKLE_ERR_ARG;
	if ((rc = merkle_export_size(file_size, fragment_size, &need)) != MERKLE_OK)
		return rc;
	if (export_buf != NULL && export_cap < need)
		return MERKLE_ERR_NOSPACE;
	memset(mb, 0, sizeof(*mb));
	mb->file_size = file_size;
	mb->fragment_size = fragment_size;
	mb->fragment_count = merkle_fragment_count(file_size, fragment_size);
	mb->exp = export_buf;
	mb->exp_cap = export_cap;
	(void)blake3_split_init(&mb->split, fragment_size);	/* not 0: checked */
	return MERKLE_OK;
}

/* A fragment is complete: store its hash, merge equal-height subtrees. */
static void
builder_leaf(void *arg, uint64_t index, const uint8_t leaf[MERKLE_HASH_BYTES])
{
	struct merkle_builder *mb = arg;
	unsigned top;

	(void)index;	/* == frags_done: the split hasher reports in order */
	if (mb->exp != NULL && mb->fragment_count > 1)
		memcpy(mb->exp + MERKLE_HEADER_SIZE + mb->frags_done * 32, leaf, 32);
	mb->frags_done++;

	/*
	 * Merging complete power-of-two subtrees as they finish, and the
	 * leftovers right to left at the end, gives exactly the tree with
	 * promoted odd nodes: each level pairs (0,1), (2,3), ...
	 */
	memcpy(mb->stack[mb->stack_len], leaf, 32);
	mb->stack_height[mb->stack_len] = 0;
	mb->stack_len++;
	while (mb->stack_len >= 2 &&
	    mb->stack_height[mb->stack_len - 1] == mb->stack_height[mb->stack_len - 2]) {
		top = mb->stack_len - 1;
		parent_hash(mb->stack[top - 1], mb->stack[top], mb->stack[top - 1]);
		mb->stack_height[top - 1]++;
		mb->stack_len--;
	}
}

int
merkle_builder_update(struct merkle_builder *mb, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (mb == NULL || (data == NULL && len > 0))
		return MERKLE_ERR_ARG;
	if ((uint64_t)len > mb->file_size - mb->fed)
		return MERKLE_ERR_OVERFLOW;
	blake3_split_update(&mb->split, p, len, builder_leaf, mb);
	mb->fed += len;
	return MERKLE_OK;
}

int
merkle_builder_final(struct merkle_builder *mb, uint8_t root[MERKLE_HASH_BYTES],
    uint8_t *file_hash)
{
	uint8_t whole[MERKLE_HASH_BYTES], r[MERKLE_HASH_BYTES];
	unsigned i;

	if (mb == NULL || root == NULL)
		return MERKLE_ERR_ARG;
	if (mb->fed != mb->file_size)
		return MERKLE_ERR_INCOMPLETE;
	/* Emits a last partial fragment once; a second final repeats nothing. */
	blake3_split_final(&mb->split, whole, builder_leaf, mb);
	if (mb->fragment_count <= 1) {
		/* 0 fragments: blake3(""); 1 fragment: its hash = the file hash. */
		memcpy(r, whole, sizeof(r));
	} else {
		memcpy(r, mb->stack[mb->stack_len - 1], sizeof(r));
		for (i = mb->stack_len - 1; i > 0; i--)
			parent_hash(mb->stack[i - 1], r, r);
	}
	if (mb->exp != NULL) {
		buf_put_le64(mb->exp, mb->file_size);
		buf_put_le64(mb->exp + 8, mb->fragment_size);
		memcpy(mb->exp + 16, r, sizeof(r));
		if (mb->fragment_count > 1)
			levels_build(mb->exp + MERKLE_HEADER_SIZE, mb->fragment_count, r);
	}
	memcpy(root, r, sizeof(r));
	if (file_hash != NULL)
		memcpy(file_hash, whole, sizeof(whole));
	return MERKLE_OK;
}

int
merkle_export_from_leaves(uint64_t file_size, uint64_t fragment_size,
    const uint8_t *leaves, uint64_t count, uint8_t *exp, size_t cap,
    uint8_t root[MERKLE_HASH_BYTES])
{
	uint8_t r[MERKLE_HASH_BYTES];
	size_t need;
	int rc;

	if (leaves == NULL || exp == NULL)
		return MERKLE_ERR_ARG;
	if ((rc = merkle_export_size(file_size, fragment_size, &need)) != MERKLE_OK)
		return rc;
	if (count < 2 || count != merkle_fragment_count(file_size, fragment_size))
		return MERKLE_ERR_ARG;
	if (cap < need)
		return MERKLE_ERR_NOSPACE;
	buf_put_le64(exp, file_size);
	buf_put_le64(exp + 8, fragment_size);
	memcpy(exp + MERKLE_HEADER_SIZE, leaves, (size_t)count * MERKLE_HASH_BYTES);
	levels_build(exp + MERKLE_HEADER_SIZE, count, r);
	memcpy(exp + 16, r, sizeof(r));
	if (root != NULL)
		memcpy(root, r, sizeof(r));
	return MERKLE_OK;
}

int
merkle_root(const void *data, uint64_t len, uint64_t fragment_size,
    uint8_t root[MERKLE_HASH_BYTES])
{
	struct merkle_builder mb;
	int rc;

	if (len > SIZE_MAX)
		return MERKLE_ERR_TOO_LARGE;
	if ((rc = merkle_builder_init(&mb, len, fragment_size, NULL, 0)) != MERKLE_OK)
		return rc;
	if ((rc = merkle_builder_update(&mb, data, (size_t)len)) != MERKLE_OK)
		return rc;
	return merkle_builder_final(&mb, root, NULL);
}

int
merkle_import(const uint8_t *buf, size_t len, struct merkle_tree *t)
{
	uint64_t hc;

	if (buf == NULL || t == NULL)
		return MERKLE_ERR_ARG;
	if (len < MERKLE_HEADER_SIZE)
		return MERKLE_ERR_SHORT;
	memset(t, 0, sizeof(*t));
	t->file_size = buf_le64(buf);
	t->fragment_size = buf_le64(buf + 8);
	if (t->fragment_size == 0)
		return MERKLE_ERR_FRAGMENT_SIZE;
	t->fragment_count = merkle_fragment_count(t->file_size, t->fragment_size);
	t->root = buf + 16;
	t->hashes = buf + MERKLE_HEADER_SIZE;
	hc = merkle_hash_count(t->fragment_count);
	/* Compare in hashes, not bytes: hc * 32 may overflow. */
	if (hc > (len - MERKLE_HEADER_SIZE) / MERKLE_HASH_BYTES)
		return MERKLE_ERR_SHORT;
	if ((len - MERKLE_HEADER_SIZE) != hc * MERKLE_HASH_BYTES)
		return MERKLE_ERR_LONG;
	t->hash_count = hc;
	return MERKLE_OK;
}

int
merkle_tree_check(const struct merkle_tree *t)
{
	const uint8_t *h;
	uint8_t p[MERKLE_HASH_BYTES];
	uint64_t in = 0, out, n, m, j;

	if (t == NULL)
		return MERKLE_ERR_ARG;
	if (t->fragment_count <= 1)
		return MERKLE_OK;	/* nothing stored besides the root */
	h = t->hashes;
	out = n = t->fragment_count;
	for (;;) {
		if (n == 2) {
			parent_hash(h + in * 32, h + (in + 1) * 32, p);
			return memcmp(p, t->root, 32) == 0 ? MERKLE_OK :
			    MERKLE_ERR_CORRUPT;
		}
		m = n / 2 + (n & 1);
		for (j = 0; j < n / 2; j++) {
			parent_hash(h + (in + 2 * j) * 32, h + (in + 2 * j + 1) * 32, p);
			if (memcmp(p, h + (out + j) * 32, 32) != 0)
				return MERKLE_ERR_CORRUPT;
		}
		if ((n & 1) && memcmp(h + (out + m - 1) * 32, h + (in + n - 1) * 32,
		    32) != 0)
			return MERKLE_ERR_CORRUPT;
		in = out;
		out += m;
		n = m;
	}
}

int
merkle_tree_fragment_hash(const struct merkle_tree *t, uint64_t index,
    uint8_t hash[MERKLE_HASH_BYTES])
{
	if (t == NULL || hash == NULL)
		return MERKLE_ERR_ARG;
	if (index >= t->fragment_count)
		return MERKLE_ERR_INDEX;
	memcpy(hash, t->fragment_count == 1 ? t->root : t->hashes + index * 32,
	    MERKLE_HASH_BYTES);
	return MERKLE_OK;
}

int
merkle_tree_proof(const struct merkle_tree *t, uint64_t index, uint8_t *out,
    size_t cap, size_t *outlen)
{
	struct buf_w w;
	uint64_t in = 0, n, idx = index;

	if (t == NULL || outlen == NULL || (out == NULL && cap > 0))
		return MERKLE_ERR_ARG;
	if (index >= t->fragment_count)
		return MERKLE_ERR_INDEX;
	*outlen = (size_t)merkle_proof_entries(t->fragment_count, index) *
	    MERKLE_PROOF_ENTRY_BYTES;
	if (*outlen > cap)
		return MERKLE_ERR_NOSPACE;
	buf_w_init(&w, out, cap);
	for (n = t->fragment_count; n > 1; in += n, n = n / 2 + (n & 1), idx /= 2) {
		if (idx == n - 1 && idx % 2 == 0)
			continue;	/* promoted: no sibling at this level */
		if (idx % 2 == 0) {
			buf_w_u8(&w, MERKLE_DIR_RIGHT);
			buf_w_bytes(&w, t->hashes + (in + idx + 1) * 32, 32);
		} else {
			buf_w_u8(&w, MERKLE_DIR_LEFT);
			buf_w_bytes(&w, t->hashes + (in + idx - 1) * 32, 32);
		}
	}
	return w.err ? MERKLE_ERR_NOSPACE : MERKLE_OK;
}

int
merkle_verify(const uint8_t root[MERKLE_HASH_BYTES],
    const uint8_t leaf[MERKLE_HASH_BYTES], const uint8_t *proof, size_t proof_len)
{
	uint8_t h[MERKLE_HASH_BYTES];
	size_t off;

	if (root == NULL || leaf == NULL || (proof == NULL && proof_len > 0))
		return MERKLE_ERR_ARG;
	if (proof_len % MERKLE_PROOF_ENTRY_BYTES != 0)
		return MERKLE_ERR_PROOF_LENGTH;
	memcpy(h, leaf, sizeof(h));
	for (off = 0; off < proof_len; off += MERKLE_PROOF_ENTRY_BYTES) {
		switch (proof[off]) {
		case MERKLE_DIR_LEFT:
			parent_hash(proof + off + 1, h, h);
			break;
		case MERKLE_DIR_RIGHT:
			parent_hash(h, proof + off + 1, h);
			break;
		default:
			return MERKLE_ERR_PROOF_DIRECTION;
		}
	}
	return memcmp(h, root, sizeof(h)) == 0 ? MERKLE_OK : MERKLE_ERR_MISMATCH;
}

int
merkle_verify_at(const uint8_t root[MERKLE_HASH_BYTES], uint64_t count,
    uint64_t index, const uint8_t leaf[MERKLE_HASH_BYTES], const uint8_t *proof,
    size_t proof_len)
{
	uint64_t n, idx = index;
	size_t off = 0;

	if (root == NULL || leaf == NULL || (proof == NULL && proof_len > 0))
		return MERKLE_ERR_ARG;
	if (index >= count)
		return MERKLE_ERR_INDEX;
	if (proof_len % MERKLE_PROOF_ENTRY_BYTES != 0)
		return MERKLE_ERR_PROOF_LENGTH;
	if (proof_len / MERKLE_PROOF_ENTRY_BYTES != merkle_proof_entries(count, index))
		return MERKLE_ERR_PROOF_SHAPE;
	/* The directions are fixed by the position: check them all. */
	for (n = count; n > 1; n = n / 2 + (n & 1), idx /= 2) {
		if (idx == n - 1 && idx % 2 == 0)
			continue;
		if (proof[off] > MERKLE_DIR_RIGHT)
			return MERKLE_ERR_PROOF_DIRECTION;
		if (proof[off] != (idx % 2 == 0 ? MERKLE_DIR_RIGHT : MERKLE_DIR_LEFT))
			return MERKLE_ERR_PROOF_SHAPE;
		off += MERKLE_PROOF_ENTRY_BYTES;
	}
	return merkle_verify(root, leaf, proof, proof_len);
}

int
merkle_verify_fragment(const uint8_t root[MERKLE_HASH_BYTES], uint64_t count,
    uint64_t index, const void *data, size_t len, const uint8_t *proof,
    size_t proof_len)
{
	uint8_t leaf[MERKLE_HASH_BYTES];

	if (data == NULL && len > 0)
		return MERKLE_ERR_ARG;
	blake3_hash(data, len, leaf);
	return merkle_verify_at(root, count, index, leaf, proof, proof_len);
}
