/* version.h — the suite's version, reported by every program. */
#ifndef PEERNET_VERSION_H
#define PEERNET_VERSION_H
#define PEERNET_VERSION "0.1.0"
#define PEERNET_USER_AGENT "peernet/0.1"
#endif
