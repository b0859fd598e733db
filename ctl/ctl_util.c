/*
 * ctl_util.c — small helpers every verb of peernetctl uses:
 * sleeping and sizes for humans.
 */
#include <stdio.h>
#include <time.h>

#include "ctl.h"

void
ctl_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* 1023 B, 1.0 KiB, 3.4 GiB: binary units, one decimal above bytes. */
void
ctl_human(char *out, size_t cap, double v)
{
	const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(out, cap, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}
