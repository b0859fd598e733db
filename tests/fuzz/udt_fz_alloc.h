/*
 * udt_fz_alloc.h — includes netd/udt_pkt.c and netd/udt.c for a fuzz target
 * (the fuzz build compiles only the common sources; both are pure: no
 * sockets, no clock of their own), with udt.c allocating through mmap.
 *
 * Why: a connection is one 4 MB allocation of which a run touches a few
 * pages; ASan's calloc zeroes all of it (two connections: 8 MB of memset per
 * run, about 50 runs/s).  Fresh anonymous pages are zero already.  A guard
 * page follows the connection, so an access past its end still faults.
 */
#ifndef PEERNET_UDT_FZ_ALLOC_H
#define PEERNET_UDT_FZ_ALLOC_H

#include <sys/mman.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FZ_MAPS		4	/* connections alive at once */

static struct {
	uint8_t	*user, *base;
	size_t	 len;
} fz_maps[FZ_MAPS];

static void *
fz_calloc(size_t n, size_t sz)
{
	size_t want = n * sz, len = (want + 4095) / 4096 * 4096 + 4096, i;
	uint8_t *p;

	for (i = 0; i < FZ_MAPS && fz_maps[i].user != NULL; i++)
		;
	if (i == FZ_MAPS || (p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
		return NULL;
	mprotect(p + len - 4096, 4096, PROT_NONE);
	fz_maps[i].base = p;
	fz_maps[i].len = len;
	/* the guard right after the struct (its size keeps 8-byte alignment) */
	fz_maps[i].user = p + len - 4096 - want;
	return fz_maps[i].user;
}

static void
fz_free(void *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < FZ_MAPS; i++)
		if (fz_maps[i].user == p) {
			munmap(fz_maps[i].base, fz_maps[i].len);
			fz_maps[i].user = NULL;
			return;
		}
	abort();	/* not ours: a double free */
}

#define calloc	fz_calloc
#define free	fz_free
#include "../../netd/udt_pkt.c"
#include "../../netd/udt.c"
#undef calloc
#undef free

#endif
