/*
 * fuzz_bulk.c — libFuzzer target for the bulk channel's frame parser
 * (common/ipc_bulk.c), what storaged runs on every byte netd sends on
 * DIR/run/storaged-bulk.sock (storaged treats netd as hostile).
 *
 * The input is a stream as it may sit in the read buffer.  Every frame
 * handed out must lie inside the input, right after the previous one, with
 * a body of at most IPC_MSG_MAX; the bytes taken are exactly those frames;
 * a stop asked by the callback is obeyed; bodies go through the IPC header
 * decoder as the server does.  The same input fed in two pieces (a read
 * that stopped mid-frame) yields the same frames.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "ipc_msg.h"

struct walk {
	const uint8_t	*base, *end;
	const uint8_t	*next;		/* where the next frame's header must be */
	size_t		 frames, stop_after;
	uint32_t	 ids[64];
};

static int
one(void *arg, uint32_t id, const uint8_t *msg, size_t len)
{
	struct walk *w = arg;
	struct ipc_hdr h;

	if (len > IPC_MSG_MAX || msg != w->next + 8 || msg + len > w->end)
		abort();
	(void)ipc_hdr_decode(msg, len, &h);
	if (w->frames < 64)
		w->ids[w->frames] = id;
	w->frames++;
	w->next = msg + len;
	return w->stop_after != 0 && w->frames == w->stop_after;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct walk a, b;
	long took, t1, t2;
	size_t cut, i;

	memset(&a, 0, sizeof(a));
	a.base = a.next = data;
	a.end = data + size;
	took = ipc_bulk_frames(data, size, one, &a);
	if (took >= 0 && (size_t)took != (size_t)(a.next - data))
		abort();
	if (took < 0)
		return 0;
	/* Asked to stop after the first frame: exactly one taken. */
	if (a.frames > 1) {
		memset(&b, 0, sizeof(b));
		b.base = b.next = data;
		b.end = data + size;
		b.stop_after = 1;
		if (ipc_bulk_frames(data, size, one, &b) != (long)(b.next - data) ||
		    b.frames != 1)
			abort();
	}
	/* Split at some point: the first piece, then the rest after it. */
	cut = size ? data[0] % (size + 1) : 0;
	memset(&b, 0, sizeof(b));
	b.base = b.next = data;
	b.end = data + cut;
	t1 = ipc_bulk_frames(data, cut, one, &b);
	if (t1 < 0)
		abort();	/* a prefix cannot break what the whole did not */
	b.end = data + size;
	t2 = ipc_bulk_frames(data + t1, size - (size_t)t1, one, &b);
	if (t2 < 0 || t1 + t2 != took || b.frames != a.frames)
		abort();
	for (i = 0; i < a.frames && i < 64; i++)
		if (a.ids[i] != b.ids[i])
			abort();
	return 0;
}
