/*
 * log.c — stderr/syslog logging; see log.h.  One write(2) per line keeps
 * lines whole when several threads log at once.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static char		log_name[64] = "peernet";
static atomic_int	log_foreground = 1;
static atomic_int	log_level = LOG_LVL_INFO;
/* stderr is a journald stream: lines carry "<N>" and no timestamp. */
static atomic_int	log_journal;

static const char *const log_names[] = { "error", "warn", "info", "debug" };
/* The word written in front of each message, by level. */
static const char *const log_tags[] = { "error", "warning", "info", "debug" };
static const int log_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

static int
log_clamp(int level)
{
	if (level < LOG_LVL_ERR)
		return LOG_LVL_ERR;
	if (level > LOG_LVL_DEBUG)
		return LOG_LVL_DEBUG;
	return level;
}

/*
 * systemd sets JOURNAL_STREAM to "DEV:INODE" of the stream it connected to
 * stdout/stderr; when stderr is still that stream, journald reads a "<N>"
 * prefix as the line's syslog priority (SyslogLevelPrefix=yes, the default)
 * and stamps the time itself.  Otherwise every line would be "info".
 */
static int
log_stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (e == NULL || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void
log_init(const char *procname, int foreground, int level)
{
	int was_fg = atomic_load(&log_foreground);

	if (!was_fg)
		closelog();
	if (procname != NULL && *procname != '\0')
		snprintf(log_name, sizeof(log_name), "%s", procname);
	atomic_store(&log_level, log_clamp(level));
	atomic_store(&log_foreground, foreground ? 1 : 0);
	/*
	 * LOG_NDELAY connects to /dev/log now, before the daemon sandboxes
	 * itself and can no longer open it.  openlog keeps the ident pointer,
	 * hence the static copy.
	 */
	if (!foreground)
		openlog(log_name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	atomic_store(&log_journal, foreground && log_stderr_is_journal());
}

void
log_setlevel(int level)
{
	atomic_store(&log_level, log_clamp(level));
}

int
log_getlevel(void)
{
	return atomic_load(&log_level);
}

const char *
log_procname(void)
{
	return log_name;
}

int
log_level_parse(const char *s)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (strcmp(s, log_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
log_level_name(int level)
{
	return log_names[log_clamp(level)];
}

/* A bounded string builder that never overflows and remembers truncation. */
struct log_out {
	char	*p;
	size_t	 len, cap;	/* cap excludes the room kept for "...\n" */
	int	 cut;
};

static void
log_put(struct log_out *o, const char *s, size_t n)
{
	if (n > o->cap - o->len) {
		n = o->cap - o->len;
		o->cut = 1;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

/* Copies s, writing control bytes as \xNN so a message stays one line. */
static void
log_put_escaped(struct log_out *o, const char *s)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	char esc[4];

	for (; *u != '\0' && !o->cut; u++) {
		if (*u < 0x20 || *u == 0x7f) {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = digits[*u >> 4];
			esc[3] = digits[*u & 15];
			log_put(o, esc, 4);
		} else
			log_put(o, (const char *)u, 1);
	}
}

static void
log_write_all(const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(STDERR_FILENO, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;	/* nowhere left to report it */
		}
		p += w;
		n -= (size_t)w;
	}
}

static void
log_emit(int prio, const char *tag, int errnum, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX], line[LOG_LINE_MAX + 8], ebuf[128], ts[40];
	struct log_out o = { line, 0, LOG_LINE_MAX, 0 };
	struct timespec now;
	struct tm tm;
	int n, msg_cut;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	msg_cut = n < 0 || (size_t)n >= sizeof(msg);
	if (n < 0)
		msg[0] = '\0';

	if (atomic_load(&log_journal)) {
		n = snprintf(ebuf, sizeof(ebuf), "<%d>", prio);
		log_put(&o, ebuf, (size_t)n);
		if (prio <= LOG_WARNING) {
			log_put(&o, tag, strlen(tag));
			log_put(&o, ": ", 2);
		}
	} else if (atomic_load(&log_foreground)) {
		clock_gettime(CLOCK_REALTIME, &now);
		localtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
		n = snprintf(ebuf, sizeof(ebuf), "%s.%03ld ", ts,
		    now.tv_nsec / 1000000);
		log_put(&o, ebuf, (size_t)n);
		log_put(&o, log_name, strlen(log_name));
		n = snprintf(ebuf, sizeof(ebuf), "[%ld]: %s: ", (long)getpid(),
		    tag);
		log_put(&o, ebuf, (size_t)n);
	} else if (prio <= LOG_WARNING) {
		/* journald shows the priority; syslog files need the word. */
		log_put(&o, tag, strlen(tag));
		log_put(&o, ": ", 2);
	}
	log_put_escaped(&o, msg);
	if (errnum != 0 && !msg_cut) {
		if (strerror_r(errnum, ebuf, sizeof(ebuf)) != 0)
			snprintf(ebuf, sizeof(ebuf), "error %d", errnum);
		log_put(&o, ": ", 2);
		log_put_escaped(&o, ebuf);
	}
	if (o.cut || msg_cut) {
		memcpy(line + o.len, "...", 3);
		o.len += 3;
	}

	if (atomic_load(&log_foreground)) {
		line[o.len++] = '\n';
		log_write_all(line, o.len);
	} else {
		line[o.len] = '\0';
		syslog(prio, "%s", line);
	}
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (atomic_load(&log_level) >= LOG_LVL_WARN) {
		va_start(ap, fmt);
		log_emit(log_prio[LOG_LVL_WARN], log_tags[LOG_LVL_WARN],
		    saved, fmt, ap);
		va_end(ap);
	}
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (atomic_load(&log_level) >= LOG_LVL_WARN) {
		va_start(ap, fmt);
		log_emit(log_prio[LOG_LVL_WARN], log_tags[LOG_LVL_WARN],
		    0, fmt, ap);
		va_end(ap);
	}
	errno = saved;
}

void
log_info(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (atomic_load(&log_level) >= LOG_LVL_INFO) {
		va_start(ap, fmt);
		log_emit(log_prio[LOG_LVL_INFO], log_tags[LOG_LVL_INFO],
		    0, fmt, ap);
		va_end(ap);
	}
	errno = saved;
}

void
log_debug(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (atomic_load(&log_level) >= LOG_LVL_DEBUG) {
		va_start(ap, fmt);
		log_emit(log_prio[LOG_LVL_DEBUG], log_tags[LOG_LVL_DEBUG],
		    0, fmt, ap);
		va_end(ap);
	}
	errno = saved;
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, "fatal", saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, "fatal", 0, fmt, ap);
	va_end(ap);
	exit(1);
}
