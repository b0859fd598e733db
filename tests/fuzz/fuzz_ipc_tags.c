/*
 * fuzz_ipc_tags.c — the file tags blob of the IPC file messages (struct
 * ipc_tags: u16 type | u16 length | data, repeated), which carries
 * client-defined tags from ctl and from other peers' blocks: its iterator
 * ipc_tags_next, and the check the message decoders apply (ipc_r_tags).
 * fuzz_ipc decodes the messages but never walks their tags.
 *
 * 1. The input as a tags blob: the iterator stays inside it, advances by
 *    4 + length each time, and the entries it returns, added again with
 *    ipc_tags_add, give back the same bytes (when no type has bit 15).
 * 2. The same blob inside an add-begin message: it decodes if and only if
 *    the entries tile the blob exactly without a bit-15 type (the rule,
 *    written out here), and then the iterator walks all of it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ipc_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[IPC_MSG_MAX];

/* 1 if the entries tile raw[0..len) exactly and no type has bit 15. */
static int
tiles(const uint8_t *raw, size_t len)
{
	size_t off = 0, k;

	while (off < len) {
		if (len - off < 4)
			return 0;
		k = (size_t)raw[off + 2] | (size_t)raw[off + 3] << 8;
		if (raw[off + 1] & 0x80 || len - off - 4 < k)
			return 0;
		off += 4 + k;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ipc_tags t, u;
	static struct ipc_add_begin a, b;
	const uint8_t *d;
	size_t off = 0, prev, len;
	uint16_t type;
	int clean = 1, rc;
	long n;

	memset(&t, 0, sizeof(t));
	memset(&u, 0, sizeof(u));
	t.len = (uint16_t)(size < IPC_TAGS_MAX ? size : IPC_TAGS_MAX);
	memcpy(t.raw, data, t.len);
	for (;;) {
		prev = off;
		if (ipc_tags_next(&t, &off, &type, &d, &len) != 1)
			break;
		if (off != prev + 4 + len || off > t.len || d != t.raw + prev + 4)
			abort();
		if (type & 0x8000)
			clean = 0;
		else if (ipc_tags_add(&u, type, d, len) != 0)
			abort();
	}
	if (off != prev || off > t.len)
		abort();
	if (clean && (u.len != off || memcmp(u.raw, t.raw, off) != 0))
		abort();

	/* inside a message */
	memset(&a, 0, sizeof(a));
	a.size = 1;
	a.type = 0xff;
	a.format = 0xffff;
	memcpy(a.name, "f", 2);
	a.tags = t;
	if ((n = ipc_add_begin_encode(out, sizeof(out), &a)) < 0)
		abort();
	rc = ipc_add_begin_decode(out, (size_t)n, &b);
	if ((rc == 0) != tiles(t.raw, t.len))
		abort();
	if (rc == 0) {
		if (b.tags.len != t.len || memcmp(b.tags.raw, t.raw, t.len) != 0)
			abort();
		off = 0;
		while (ipc_tags_next(&b.tags, &off, &type, &d, &len) == 1)
			;
		if (off != b.tags.len)
			abort();
	}
	return 0;
}
