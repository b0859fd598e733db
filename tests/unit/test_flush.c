/*
 * test_flush.c — fdatasync behind a writer (storaged/flush.h): when a
 * writer asks, and that every descriptor it duplicates is closed again once
 * the thread is done (a leak would keep deleted temp files on disk).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "flush.h"
#include "t.h"

#define MIB	(1024ULL * 1024)

static void
test_due_when_a_multiple_of_the_step_is_crossed(void)
{
	T_EQ_INT(flush_due(0, FLUSH_EVERY - 1), 0);
	T_EQ_INT(flush_due(0, FLUSH_EVERY), 1);
	T_EQ_INT(flush_due(FLUSH_EVERY - 1, FLUSH_EVERY + 1), 1);
	T_EQ_INT(flush_due(FLUSH_EVERY, 2 * FLUSH_EVERY - 1), 0);
	T_EQ_INT(flush_due(FLUSH_EVERY + 5, 3 * FLUSH_EVERY), 1);
	T_EQ_INT(FLUSH_EVERY, 32 * MIB);
}

static void
test_every_duplicate_is_closed_after_shutdown(void)
{
	char dir[256], path[300];
	static uint8_t buf[MIB];
	int fd, i, before;

	T_ASSERT(t_tmpdir(dir, sizeof(dir), "flush") == 0);
	snprintf(path, sizeof(path), "%s/f", dir);
	T_ASSERT((fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) != -1);
	memset(buf, 0x5a, sizeof(buf));
	before = t_count_entries("/proc/self/fd");
	/* Two rounds: the thread starts again after a shutdown. */
	for (i = 0; i < 2; i++) {
		int k;

		for (k = 0; k < 5; k++) {
			T_ASSERT(write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf));
			flush_behind(fd);
		}
		flush_shutdown();
		T_EQ_INT(t_count_entries("/proc/self/fd"), before);
	}
	/* The caller's descriptor is its own: still open, the data all there. */
	T_EQ_INT((int)lseek(fd, 0, SEEK_END), (int)(10 * MIB));
	close(fd);
	unlink(path);
	rmdir(dir);
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_due_when_a_multiple_of_the_step_is_crossed);
	T_RUN(test_every_duplicate_is_closed_after_shutdown);
	return t_done();
}
