/* test_log.c — log levels, the foreground line format, fatal(). */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "t.h"

static char	capbuf[4 << 20];
static char	tmppath[64];
static int	saved_stderr = -1;

/* Sends stderr to a fresh temp file until capture_end(). */
static int
capture_begin(void)
{
	int fd;

	snprintf(tmppath, sizeof(tmppath), "/tmp/peernet-test-log.XXXXXX");
	if ((fd = mkstemp(tmppath)) == -1)
		return -1;
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	return 0;
}

/* Restores stderr; returns what was written, NUL-terminated, in capbuf. */
static size_t
capture_end(void)
{
	size_t len = 0;
	ssize_t n;
	int fd;

	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	if ((fd = open(tmppath, O_RDONLY)) != -1) {
		while (len < sizeof(capbuf) - 1 && (n = read(fd, capbuf + len,
		    sizeof(capbuf) - 1 - len)) > 0)
			len += (size_t)n;
		close(fd);
	}
	unlink(tmppath);
	capbuf[len] = '\0';
	return len;
}

/* "YYYY-MM-DD HH:MM:SS.mmm " */
static int
has_timestamp(const char *s)
{
	static const char pat[] = "dddd-dd-dd dd:dd:dd.ddd ";
	size_t i;

	for (i = 0; pat[i] != '\0'; i++) {
		if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
			return 0;
	}
	return 1;
}

static void
test_log_level_parse(void)
{
	T_EQ_INT(log_level_parse("error"), LOG_LVL_ERR);
	T_EQ_INT(log_level_parse("warn"), LOG_LVL_WARN);
	T_EQ_INT(log_level_parse("info"), LOG_LVL_INFO);
	T_EQ_INT(log_level_parse("debug"), LOG_LVL_DEBUG);
	T_EQ_INT(log_level_parse("Debug"), -1);
	T_EQ_INT(log_level_parse("warning"), -1);
	T_EQ_INT(log_level_parse(""), -1);
	T_EQ_INT(log_level_parse(NULL), -1);
	T_EQ_STR(log_level_name(LOG_LVL_WARN), "warn");
}

static void
test_log_setlevel_clamps(void)
{
	log_setlevel(99);
	T_EQ_INT(log_getlevel(), LOG_LVL_DEBUG);
	log_setlevel(-5);
	T_EQ_INT(log_getlevel(), LOG_LVL_ERR);
	log_setlevel(LOG_LVL_INFO);
	T_EQ_INT(log_getlevel(), LOG_LVL_INFO);
}

static void
test_log_foreground_line_has_time_name_pid_and_level(void)
{
	char want[128];

	T_ASSERT(capture_begin() == 0);
	log_init("peernet-test", 1, LOG_LVL_INFO);
	log_warnx("hello %d", 42);
	capture_end();
	T_EQ_STR(log_procname(), "peernet-test");
	T_ASSERT(has_timestamp(capbuf));
	snprintf(want, sizeof(want), "peernet-test[%ld]: warning: hello 42\n",
	    (long)getpid());
	T_EQ_STR(capbuf + 24, want);
}

static void
test_log_warn_appends_strerror_and_keeps_errno(void)
{
	char want[128];

	T_ASSERT(capture_begin() == 0);
	log_init("netd", 1, LOG_LVL_INFO);
	errno = ENOENT;
	log_warn("open %s", "x.db");
	T_EQ_INT(errno, ENOENT);
	capture_end();
	snprintf(want, sizeof(want), "netd[%ld]: warning: open x.db: "
	    "No such file or directory\n", (long)getpid());
	T_EQ_STR(capbuf + 24, want);
}

static void
test_log_level_filters_lines(void)
{
	size_t n;

	T_ASSERT(capture_begin() == 0);
	log_init("lvl", 1, LOG_LVL_INFO);
	log_debug("hidden %d", 1);
	log_info("shown %d", 2);
	log_setlevel(LOG_LVL_ERR);
	log_warnx("hidden %d", 3);
	log_info("hidden %d", 4);
	log_setlevel(LOG_LVL_DEBUG);
	log_debug("shown %d", 5);
	n = capture_end();
	log_setlevel(LOG_LVL_INFO);
	T_ASSERT(strstr(capbuf, "hidden") == NULL);
	T_ASSERT(strstr(capbuf, ": info: shown 2\n") != NULL);
	T_ASSERT(strstr(capbuf, ": debug: shown 5\n") != NULL);
	/* Exactly two lines. */
	T_ASSERT(n > 0 && capbuf[n - 1] == '\n');
	T_ASSERT(strchr(capbuf, '\n') != capbuf + n - 1);
	T_ASSERT(strchr(strchr(capbuf, '\n') + 1, '\n') == capbuf + n - 1);
}

static void
test_log_escapes_control_characters(void)
{
	T_ASSERT(capture_begin() == 0);
	log_init("esc", 1, LOG_LVL_INFO);
	log_info("peer says '%s'", "evil\nesc[1]: warning: forged\x1b[0m");
	capture_end();
	T_ASSERT(strstr(capbuf, ": info: peer says 'evil\\x0aesc[1]: warning: "
	    "forged\\x1b[0m'\n") != NULL);
	T_EQ_INT(strchr(capbuf, '\n') - capbuf, strlen(capbuf) - 1);
}

static void
test_log_cuts_long_messages_to_one_line(void)
{
	static char big[3 * LOG_LINE_MAX];
	size_t n;

	memset(big, 'x', sizeof(big) - 1);
	T_ASSERT(capture_begin() == 0);
	log_init("long", 1, LOG_LVL_INFO);
	log_info("%s", big);
	n = capture_end();
	T_ASSERT(n <= LOG_LINE_MAX + 4);
	T_ASSERT(n > LOG_LINE_MAX - 100);
	T_EQ_STR(capbuf + n - 6, "xx...\n");
	T_EQ_INT(strchr(capbuf, '\n') - capbuf, n - 1);
}

/* Runs fn in a child with stderr captured; returns its exit status. */
static int
run_child(void (*fn)(void))
{
	int status = -1;
	pid_t pid;

	if (capture_begin() != 0)
		return -1;
	if ((pid = fork()) == 0) {
		fn();
		_exit(77);	/* not reached */
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	capture_end();
	return status;
}

static void
child_fatalx(void)
{
	log_init("dies", 1, LOG_LVL_ERR);
	fatalx("boom %d", 7);
}

static void
child_fatal(void)
{
	log_init("dies", 1, LOG_LVL_ERR);
	errno = EACCES;
	fatal("bind %s", "port 112");
}

static void
test_log_fatalx_logs_and_exits_1(void)
{
	int st = run_child(child_fatalx);

	T_ASSERT(WIFEXITED(st));
	T_EQ_INT(WEXITSTATUS(st), 1);
	T_ASSERT(has_timestamp(capbuf));
	T_ASSERT(strncmp(capbuf + 24, "dies[", 5) == 0);
	T_ASSERT(strstr(capbuf, "]: fatal: boom 7\n") != NULL);
}

static void
test_log_fatal_appends_strerror(void)
{
	int st = run_child(child_fatal);

	T_ASSERT(WIFEXITED(st));
	T_EQ_INT(WEXITSTATUS(st), 1);
	T_ASSERT(strstr(capbuf, "]: fatal: bind port 112: Permission denied\n")
	    != NULL);
}

#define NTHREADS	4
#define NLINES		2000

static void *
thread_main(void *arg)
{
	int i, id = (int)(long)arg;

	for (i = 0; i < NLINES; i++)
		log_info("thread %d line %04d %s", id, i,
		    "padding-padding-padding-padding-padding-padding-padding-"
		    "padding-padding-padding-padding-padding-padding-padding");
	return NULL;
}

static void
test_log_lines_from_threads_stay_whole(void)
{
	pthread_t th[NTHREADS];
	int counts[NTHREADS] = { 0 }, i, id, num, lines = 0;
	char *p, *nl;

	T_ASSERT(capture_begin() == 0);
	log_init("mt", 1, LOG_LVL_INFO);
	for (i = 0; i < NTHREADS; i++)
		pthread_create(&th[i], NULL, thread_main, (void *)(long)i);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	capture_end();
	for (p = capbuf; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		*nl = '\0';
		if (!has_timestamp(p) || strncmp(p + 24, "mt[", 3) != 0 ||
		    (p = strstr(p, "]: info: thread ")) == NULL ||
		    sscanf(p, "]: info: thread %d line %d", &id, &num) != 2 ||
		    id < 0 || id >= NTHREADS || num != counts[id] ||
		    strcmp(strrchr(p, ' ') + 1, "padding-padding-padding-"
		    "padding-padding-padding-padding-padding-padding-padding-"
		    "padding-padding-padding-padding") != 0)
			T_FAIL("mangled line %d: %.80s", lines + 1, p ? p : "?");
		counts[id]++;
		lines++;
	}
	T_EQ_INT(*p, '\0');
	T_EQ_INT(lines, NTHREADS * NLINES);
}

/*
 * Under systemd, stderr is a journal stream named by JOURNAL_STREAM: lines
 * carry the syslog priority as "<N>" (warnings must be found by
 * `journalctl -p warning`) and no timestamp; a JOURNAL_STREAM naming another
 * file (stderr redirected by a script) keeps the terminal format.
 */
static void
test_log_journal_stream_lines_carry_priority(void)
{
	struct stat st;
	char env[64];

	T_ASSERT(capture_begin() == 0);
	T_ASSERT(fstat(STDERR_FILENO, &st) == 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	log_init("jtest", 1, LOG_LVL_DEBUG);
	log_warnx("disk %s", "full");
	log_info("started");
	log_debug("detail");
	capture_end();
	T_EQ_STR(capbuf, "<4>warning: disk full\n<6>started\n<7>detail\n");

	T_ASSERT(capture_begin() == 0);
	setenv("JOURNAL_STREAM", "1:1", 1);
	log_init("jtest", 1, LOG_LVL_DEBUG);
	log_info("plain");
	capture_end();
	T_ASSERT(has_timestamp(capbuf));
	T_ASSERT(strstr(capbuf, "jtest[") != NULL && strstr(capbuf, "<6>") == NULL);
	unsetenv("JOURNAL_STREAM");
	log_init("peernet", 1, LOG_LVL_INFO);
}

static void
test_log_syslog_mode_writes_nothing_to_stderr(void)
{
	T_ASSERT(capture_begin() == 0);
	log_init("peernet-unit-test", 0, LOG_LVL_ERR);
	log_warnx("not shown: below the level");
	log_init("peernet-unit-test", 1, LOG_LVL_INFO);
	log_info("back on stderr");
	capture_end();
	T_ASSERT(strstr(capbuf, "not shown") == NULL);
	T_ASSERT(strstr(capbuf, "peernet-unit-test[") != NULL);
	T_ASSERT(strstr(capbuf, "]: info: back on stderr\n") != NULL);
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_log_level_parse);
	T_RUN(test_log_journal_stream_lines_carry_priority);
	T_RUN(test_log_setlevel_clamps);
	T_RUN(test_log_foreground_line_has_time_name_pid_and_level);
	T_RUN(test_log_warn_appends_strerror_and_keeps_errno);
	T_RUN(test_log_level_filters_lines);
	T_RUN(test_log_escapes_control_characters);
	T_RUN(test_log_cuts_long_messages_to_one_line);
	T_RUN(test_log_fatalx_logs_and_exits_1);
	T_RUN(test_log_fatal_appends_strerror);
	T_RUN(test_log_lines_from_threads_stay_whole);
	T_RUN(test_log_syslog_mode_writes_nothing_to_stderr);
	return t_done();
}
