/*
 * log.h — logging for the daemons and the control tool, in the style of the
 * OpenBSD daemons: log_warn() appends strerror(errno), fatal() logs and exits.
 *
 * In the foreground a line goes to stderr with a timestamp, the process name
 * and its pid; otherwise to syslog(3) under LOG_DAEMON (journald picks it up),
 * the priority carrying the level.  Every line is formatted into one buffer
 * and written with a single write(2), so lines from several threads never
 * interleave.  Control characters in messages are escaped as \xNN: messages
 * quote strings from peers, which must not be able to forge log lines.
 */
#ifndef PEERNET_LOG_H
#define PEERNET_LOG_H

enum log_level {
	LOG_LVL_ERR,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG
};

/* Longest line written; longer messages are cut and end in "...". */
#define LOG_LINE_MAX	4096

/*
 * foreground != 0: stderr; else syslog with procname as ident.  May be called
 * again (e.g. after fork, or to switch to syslog once daemonised).  Before the
 * first call, lines go to stderr at LOG_LVL_INFO as "peernet".
 */
void	log_init(const char *procname, int foreground, int level);
void	log_setlevel(int level);	/* clamped to ERR..DEBUG */
int	log_getlevel(void);
const char *log_procname(void);
/* "error", "warn", "info", "debug" -> the level; -1 for anything else. */
int	log_level_parse(const char *s);
const char *log_level_name(int level);

void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logged at every level; exit(1). fatal() appends strerror(errno). */
__attribute__((noreturn, format(printf, 1, 2)))
void	fatal(const char *fmt, ...);
__attribute__((noreturn, format(printf, 1, 2)))
void	fatalx(const char *fmt, ...);

#endif
