/*
 * ipc_msg_search.h — the search area of the IPC catalogue (types
 * IPC_SEARCH_*, IPC_REINDEX, IPC_FILES_ALL in ipc_msg.h): structs and codecs.
 */
#ifndef PEERNET_IPC_MSG_SEARCH_H
#define PEERNET_IPC_MSG_SEARCH_H

#endif
