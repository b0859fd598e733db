/*
 * splitmix.h — splitmix64, the random stream of the simulations and of the
 * tests that build a network from a seed (tests/sim/sim.c, nodesim.c,
 * test_kad.c, bench_search.c): small, fast, good enough, and the same
 * numbers for the same seed everywhere, so that a run's trace repeats.
 * Header-only: tests/sim/sim.c links none of the unit-test helpers.
 */
#ifndef PEERNET_SPLITMIX_H
#define PEERNET_SPLITMIX_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t
splitmix_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* n bytes of the stream: each value's 8 bytes in host order, the last cut short. */
static inline void
splitmix_fill(uint64_t *state, void *buf, size_t n)
{
	uint8_t *p = buf;
	uint64_t v;
	size_t k;

	while (n > 0) {
		v = splitmix_next(state);
		k = n < 8 ? n : 8;
		memcpy(p, &v, k);
		p += k;
		n -= k;
	}
}

#endif
