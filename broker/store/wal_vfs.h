// A SQLite VFS over the default one that gathers a write-ahead log's frame writes and hands
// them to the file in one write when SQLite next syncs, reads or sizes it.
//
// Why: SQLite writes each WAL frame as two pwrite calls (24-byte header, then the page), and a
// group commit of a few leases dirties about ten pages (the table and each index), so about 20
// system calls per commit where one does. On a paravirtualised VM a system call costs about
// 1 us before it does anything. Nothing changes on disk: every commit syncs the WAL
// (synchronous=FULL), and the sync writes what was gathered first, so a commit is durable
// exactly when it was before; a failed write is reported by the sync, which fails the commit.
// So the gathered bytes are never part of a commit: where SQLite ignores an error (closing,
// trimming the log after a commit) only uncommitted frames can be lost. This needs
// synchronous=FULL on every writing connection (SqliteConn::open sets it): with NORMAL, SQLite
// publishes committed frames to readers without a sync, and they would read stale bytes.
#pragma once

#include <cstdint>

namespace jitb::store {

// The name of the VFS, registered on first call (not as the default). Thread-safe.
const char* walBufferingVfs();

// Writes to WAL files since start: as SQLite made them, and as handed to the default VFS.
struct WalWrites {
  uint64_t received = 0, written = 0;
};
WalWrites walWrites();

}  // namespace jitb::store
