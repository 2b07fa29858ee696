#include "broker/store/wal_vfs.h"

#include <sqlite3.h>

#include <atomic>
#include <mutex>
#include <new>
#include <string>

namespace jitb::store {

namespace {

// Beyond this the gathered frames are written at once. The default VFS writes at most
// 128 KiB - 1 per call (it masks the length to 17 bits and reports the rest as a full disk),
// and a bulk revocation's transaction can write megabytes of frames.
constexpr size_t kMaxGathered = 120 << 10;

sqlite3_vfs* base_vfs = nullptr;  // the default VFS; set once, before registration
std::atomic<uint64_t> received{0}, written{0};  // walWrites()
sqlite3_vfs* base() { return base_vfs; }

// Our part of a WAL file; the default VFS's own file follows it in the same allocation.
struct WalFile {
  sqlite3_file file;  // first, so SQLite's pointer is ours
  sqlite3_file* real;
  std::string gathered;  // bytes at [start, start + size()) not yet handed to `real`
  sqlite3_int64 start = 0;

  int flush() {
    if (gathered.empty()) return SQLITE_OK;
    written.fetch_add(1, std::memory_order_relaxed);
    int rc = real->pMethods->xWrite(real, gathered.data(), static_cast<int>(gathered.size()), start);
    gathered.clear();
    return rc;
  }
};

WalFile* self(sqlite3_file* f) { return reinterpret_cast<WalFile*>(f); }

int walClose(sqlite3_file* f) {
  WalFile* w = self(f);
  int rc = w->flush();
  int closed = w->real->pMethods->xClose(w->real);
  w->~WalFile();
  return rc != SQLITE_OK ? rc : closed;
}

int walRead(sqlite3_file* f, void* out, int n, sqlite3_int64 off) {
  WalFile* w = self(f);
  if (int rc = w->flush(); rc != SQLITE_OK) return rc;
  return w->real->pMethods->xRead(w->real, out, n, off);
}

int walWrite(sqlite3_file* f, const void* in, int n, sqlite3_int64 off) {
  WalFile* w = self(f);
  received.fetch_add(1, std::memory_order_relaxed);
  const auto size = static_cast<sqlite3_int64>(w->gathered.size());
  // Only what continues the gathered bytes joins them: anything else (a frame rewritten in
  // place, the header of a restarted log) is written in order after them.
  if (size == 0 || off != w->start + size ||
      w->gathered.size() + static_cast<size_t>(n) > kMaxGathered) {
    if (int rc = w->flush(); rc != SQLITE_OK) return rc;
    if (static_cast<size_t>(n) > kMaxGathered) {
      written.fetch_add(1, std::memory_order_relaxed);
      return w->real->pMethods->xWrite(w->real, in, n, off);
    }
    w->start = off;
  }
  try {
    w->gathered.append(static_cast<const char*>(in), static_cast<size_t>(n));
  } catch (const std::bad_alloc&) {  // never through SQLite's C frames
    return SQLITE_IOERR_NOMEM;
  }
  return SQLITE_OK;
}

int walTruncate(sqlite3_file* f, sqlite3_int64 size) {
  WalFile* w = self(f);
  if (int rc = w->flush(); rc != SQLITE_OK) return rc;
  return w->real->pMethods->xTruncate(w->real, size);
}

int walSync(sqlite3_file* f, int flags) {
  WalFile* w = self(f);
  if (int rc = w->flush(); rc != SQLITE_OK) return rc;
  return w->real->pMethods->xSync(w->real, flags);
}

int walFileSize(sqlite3_file* f, sqlite3_int64* size) {
  WalFile* w = self(f);
  if (int rc = w->flush(); rc != SQLITE_OK) return rc;
  return w->real->pMethods->xFileSize(w->real, size);
}

int walLock(sqlite3_file* f, int l) { return self(f)->real->pMethods->xLock(self(f)->real, l); }
int walUnlock(sqlite3_file* f, int l) { return self(f)->real->pMethods->xUnlock(self(f)->real, l); }
int walCheckReserved(sqlite3_file* f, int* out) {
  return self(f)->real->pMethods->xCheckReservedLock(self(f)->real, out);
}

int walFileControl(sqlite3_file* f, int op, void* arg) {
  WalFile* w = self(f);
  // Some controls act on the file's content or size (a size hint extends it): in order.
  if (int rc = w->flush(); rc != SQLITE_OK) return rc;
  return w->real->pMethods->xFileControl(w->real, op, arg);
}

int walSectorSize(sqlite3_file* f) { return self(f)->real->pMethods->xSectorSize(self(f)->real); }
int walDeviceCharacteristics(sqlite3_file* f) {
  return self(f)->real->pMethods->xDeviceCharacteristics(self(f)->real);
}

int walShmMap(sqlite3_file* f, int pg, int sz, int extend, void volatile** out) {
  return self(f)->real->pMethods->xShmMap(self(f)->real, pg, sz, extend, out);
}
int walShmLock(sqlite3_file* f, int off, int n, int flags) {
  return self(f)->real->pMethods->xShmLock(self(f)->real, off, n, flags);
}
void walShmBarrier(sqlite3_file* f) { self(f)->real->pMethods->xShmBarrier(self(f)->real); }
int walShmUnmap(sqlite3_file* f, int del) {
  return self(f)->real->pMethods->xShmUnmap(self(f)->real, del);
}

int walFetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
  WalFile* w = self(f);
  if (int rc = w->flush(); rc != SQLITE_OK) return rc;
  return w->real->pMethods->xFetch(w->real, off, n, out);
}
int walUnfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  return self(f)->real->pMethods->xUnfetch(self(f)->real, off, p);
}

const sqlite3_io_methods kWalMethods = {
    3,          walClose,      walRead,         walWrite,          walTruncate,
    walSync,    walFileSize,   walLock,         walUnlock,         walCheckReserved,
    walFileControl, walSectorSize, walDeviceCharacteristics, walShmMap, walShmLock,
    walShmBarrier,  walShmUnmap,   walFetch,        walUnfetch};

int vfsOpen(sqlite3_vfs*, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  if (!(flags & SQLITE_OPEN_WAL)) return base()->xOpen(base(), name, f, flags, out_flags);
  auto* w = new (f) WalFile();
  w->file.pMethods = nullptr;  // SQLite closes only what opened
  w->real = reinterpret_cast<sqlite3_file*>(w + 1);
  int rc = base()->xOpen(base(), name, w->real, flags, out_flags);
  if (rc != SQLITE_OK || !w->real->pMethods || w->real->pMethods->iVersion < 3) {
    if (rc == SQLITE_OK && w->real->pMethods) w->real->pMethods->xClose(w->real);
    w->~WalFile();
    return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
  }
  w->file.pMethods = &kWalMethods;
  return SQLITE_OK;
}

// The rest is the default VFS's, called with its own handle (it keeps state in pAppData).
int vfsDelete(sqlite3_vfs*, const char* n, int sync) { return base()->xDelete(base(), n, sync); }
int vfsAccess(sqlite3_vfs*, const char* n, int flags, int* out) {
  return base()->xAccess(base(), n, flags, out);
}
int vfsFullPathname(sqlite3_vfs*, const char* n, int size, char* out) {
  return base()->xFullPathname(base(), n, size, out);
}
void* vfsDlOpen(sqlite3_vfs*, const char* n) { return base()->xDlOpen(base(), n); }
void vfsDlError(sqlite3_vfs*, int n, char* out) { base()->xDlError(base(), n, out); }
void (*vfsDlSym(sqlite3_vfs*, void* h, const char* s))(void) { return base()->xDlSym(base(), h, s); }
void vfsDlClose(sqlite3_vfs*, void* h) { base()->xDlClose(base(), h); }
int vfsRandomness(sqlite3_vfs*, int n, char* out) { return base()->xRandomness(base(), n, out); }
int vfsSleep(sqlite3_vfs*, int us) { return base()->xSleep(base(), us); }
int vfsCurrentTime(sqlite3_vfs*, double* out) { return base()->xCurrentTime(base(), out); }
int vfsGetLastError(sqlite3_vfs*, int n, char* out) { return base()->xGetLastError(base(), n, out); }
int vfsCurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return base()->xCurrentTimeInt64(base(), out);
}

}  // namespace

WalWrites walWrites() {
  return {received.load(std::memory_order_relaxed), written.load(std::memory_order_relaxed)};
}

const char* walBufferingVfs() {
  static sqlite3_vfs vfs{};
  static std::once_flag once;
  std::call_once(once, [] {
    base_vfs = sqlite3_vfs_find(nullptr);
    vfs.iVersion = 2;
    vfs.szOsFile = static_cast<int>(sizeof(WalFile)) + base_vfs->szOsFile;
    vfs.mxPathname = base_vfs->mxPathname;
    vfs.zName = "jitb-wal";
    vfs.xOpen = vfsOpen;
    vfs.xDelete = vfsDelete;
    vfs.xAccess = vfsAccess;
    vfs.xFullPathname = vfsFullPathname;
    vfs.xDlOpen = vfsDlOpen;
    vfs.xDlError = vfsDlError;
    vfs.xDlSym = vfsDlSym;
    vfs.xDlClose = vfsDlClose;
    vfs.xRandomness = vfsRandomness;
    vfs.xSleep = vfsSleep;
    vfs.xCurrentTime = vfsCurrentTime;
    vfs.xGetLastError = vfsGetLastError;
    vfs.xCurrentTimeInt64 = vfsCurrentTimeInt64;
    sqlite3_vfs_register(&vfs, 0);
  });
  return vfs.zName;
}

}  // namespace jitb::store
