#include "collector/store/sqlite/wal_buffer.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "core/log.hpp"

namespace kuzet::collector::sqlite {
namespace {

constexpr const char* kName = "kuzet-wal-buffer";
// Enough for ~250 frames of 4 KiB per write; one per writing connection, allocated on its first WAL write.
constexpr int kBufferBytes = 1 << 20;

// A checkpoint reads the log one frame at a time; it reads this much at once instead (below).
constexpr int kReadAheadBytes = 124 * 1024;

std::atomic<uint64_t> appends{0}, flushes{0}, direct_writes{0}, checkpoint_reads{0}, checkpoint_fills{0},
    checkpoint_pages{0}, checkpoint_writes{0};

sqlite3_vfs* base_vfs = nullptr;  // the default VFS this one wraps
sqlite3_vfs buffered_vfs;

// What SQLite allocates per open file (szOsFile): our header, then the wrapped VFS's file.
struct File {
  sqlite3_file base;
  sqlite3_file* real;
  const char* db_name;  // a main database: the name SQLite opened it with (its WAL names it too)
  File* wal;            // a main database: its connection's open WAL, if any
  File* db;             // a WAL: its connection's main database file, if found
  char* buffer;         // bytes not written yet, at buffer_offset: a WAL's appends, or a checkpoint's last run (gather)
  sqlite3_int64 buffer_offset;
  int buffer_length;
  int failed;  // a WAL: the error of a write that could not be reported when it happened
  bool is_wal;
  // A WAL while its connection checkpoints: the log's bytes at ahead_offset, read ahead of the frames
  // the checkpoint copies next, and the log's size when the checkpoint began (-1 not known yet).
  bool in_checkpoint;
  char* ahead;
  sqlite3_int64 ahead_offset;
  int ahead_length;
  sqlite3_int64 checkpoint_log_size;
  bool gathering;  // a main database while its connection checkpoints: its pages go to the buffer (gather)
};

File* as_file(sqlite3_file* file) { return reinterpret_cast<File*>(file); }

[[noreturn]] void fail_stop(const File* f, int rc) {
  core::log_at(core::LogLevel::error,
               "a checkpoint could not write into %s (%s); stopping, so that no reader takes the database file "
               "for the log's copy. The log keeps every committed transaction: a restart recovers them.",
               f->db_name ? f->db_name : "the database", sqlite3_errstr(rc));
  std::abort();
}

// The open main database files, so a WAL can find its connection's database file when it opens.
std::mutex registry_mutex;
std::vector<File*> open_databases;

// The unix VFS writes at most 128 KiB - 1 per call (its seekAndWriteFd masks the length with 0x1ffff, and
// unixWrite reports SQLITE_FULL for the rest), so a buffer goes out in pieces of 124 KiB: ~8 system calls
// per MiB instead of ~500 for the frames one by one.
constexpr int kWriteBytes = 124 * 1024;

int flush(File* f) {
  int rc = SQLITE_OK;
  for (int done = 0; done < f->buffer_length && rc == SQLITE_OK; done += kWriteBytes) {
    const int amount = std::min(kWriteBytes, f->buffer_length - done);
    rc = f->real->pMethods->xWrite(f->real, f->buffer + done, amount, f->buffer_offset + done);
    (f->is_wal ? flushes : checkpoint_writes).fetch_add(1, std::memory_order_relaxed);
  }
  // On failure SQLite abandons the transaction (frames after the last commit are never read) or the
  // checkpoint (x_file_control stops the process when it cannot).
  f->buffer_length = 0;
  return rc;
}

int x_close(sqlite3_file* file) {
  File* f = as_file(file);
  const int flushed = flush(f);
  {
    std::lock_guard lock(registry_mutex);
    if (f->is_wal && f->db) f->db->wal = nullptr;
    if (f->db_name) {
      if (f->wal) f->wal->db = nullptr;
      open_databases.erase(std::remove(open_databases.begin(), open_databases.end(), f), open_databases.end());
    }
  }
  sqlite3_free(f->buffer);
  f->buffer = nullptr;
  sqlite3_free(f->ahead);
  f->ahead = nullptr;
  const int closed = f->real->pMethods->xClose(f->real);
  return flushed != SQLITE_OK ? flushed : closed;
}

// A checkpoint copies the log's frames in page order, which for pages a transaction appended is the
// order they were written in: one read of 124 KiB serves ~30 of its 4 KiB reads. Only frames that were
// in the log when the checkpoint began are read (SQLite copies no later one), and none of them changes
// before it ends (the log restarts only after a complete checkpoint), so what is read ahead stays true
// until SQLITE_FCNTL_CKPT_DONE drops it. false: read as usual.
bool read_ahead(File* f, void* out, int amount, sqlite3_int64 offset) {
  if (!f->in_checkpoint || f->buffer_length > 0 || amount > kReadAheadBytes) return false;
  const bool held = f->ahead_length > 0 && offset >= f->ahead_offset &&
                    offset + amount <= f->ahead_offset + f->ahead_length;
  if (!held) {
    if (f->checkpoint_log_size < 0 &&
        f->real->pMethods->xFileSize(f->real, &f->checkpoint_log_size) != SQLITE_OK)
      f->checkpoint_log_size = 0;
    const sqlite3_int64 length = std::min<sqlite3_int64>(kReadAheadBytes, f->checkpoint_log_size - offset);
    if (length < amount) return false;
    if (!f->ahead) f->ahead = static_cast<char*>(sqlite3_malloc(kReadAheadBytes));
    f->ahead_length = 0;
    if (!f->ahead || f->real->pMethods->xRead(f->real, f->ahead, static_cast<int>(length), offset) != SQLITE_OK)
      return false;
    f->ahead_offset = offset;
    f->ahead_length = static_cast<int>(length);
    checkpoint_fills.fetch_add(1, std::memory_order_relaxed);
  }
  std::memcpy(out, f->ahead + (offset - f->ahead_offset), static_cast<size_t>(amount));
  checkpoint_reads.fetch_add(1, std::memory_order_relaxed);
  return true;
}

// The database file's connection begins or ends a checkpoint: its log reads ahead in between.
void set_checkpointing(File* db, bool on) {
  db->gathering = on;
  File* wal = db->wal;
  if (!wal) return;
  wal->in_checkpoint = on;
  wal->ahead_length = 0;
  wal->checkpoint_log_size = -1;
}

int x_read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  File* f = as_file(file);
  if (f->is_wal && read_ahead(f, out, amount, offset)) return SQLITE_OK;
  if (f->buffer_length > 0) {
    const sqlite3_int64 end = f->buffer_offset + f->buffer_length;
    if (offset >= f->buffer_offset && offset + amount <= end) {
      std::memcpy(out, f->buffer + (offset - f->buffer_offset), static_cast<size_t>(amount));
      return SQLITE_OK;
    }
    if (offset < end && offset + amount > f->buffer_offset) {
      if (const int rc = flush(f); rc != SQLITE_OK) return rc;
    }
  }
  return f->real->pMethods->xRead(f->real, out, amount, offset);
}

// A checkpoint writes one page per call, in page order; pages that follow on are gathered in the
// database file's buffer and written together (one system call per 124 KiB instead of per page). A write
// that breaks the run writes what was gathered first, so its failure is reported to SQLite on that call;
// only the last run waits for SQLITE_FCNTL_CKPT_DONE (x_file_control). Reads, syncs, truncates and the
// file's size see the buffer as they do a WAL's.
int gather(File* f, const void* data, int amount, sqlite3_int64 offset) {
  checkpoint_pages.fetch_add(1, std::memory_order_relaxed);
  const bool follows = f->buffer_length > 0 && offset == f->buffer_offset + f->buffer_length &&
                       f->buffer_length + amount <= kWriteBytes;
  if (!follows) {
    if (const int rc = flush(f); rc != SQLITE_OK) return rc;
    if (amount > kWriteBytes) return f->real->pMethods->xWrite(f->real, data, amount, offset);
    if (!f->buffer) {  // a run's size: a database's buffer is never larger
      f->buffer = static_cast<char*>(sqlite3_malloc(kWriteBytes));
      if (!f->buffer) return f->real->pMethods->xWrite(f->real, data, amount, offset);
    }
    f->buffer_offset = offset;
  }
  std::memcpy(f->buffer + f->buffer_length, data, static_cast<size_t>(amount));
  f->buffer_length += amount;
  return SQLITE_OK;
}

// A WAL write past the buffer, straight to the file.
int write_through(File* f, const void* data, int amount, sqlite3_int64 offset) {
  direct_writes.fetch_add(1, std::memory_order_relaxed);
  return f->real->pMethods->xWrite(f->real, data, amount, offset);
}

int x_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  File* f = as_file(file);
  f->ahead_length = 0;  // what was read ahead is no longer what the file holds
  if (!f->is_wal) {
    if (f->gathering) return gather(f, data, amount, offset);
    return f->real->pMethods->xWrite(f->real, data, amount, offset);
  }
  if (f->failed != SQLITE_OK) return f->failed;
  const sqlite3_int64 end = f->buffer_offset + f->buffer_length;
  const bool appends_to_buffer = offset == end && f->buffer_length + amount <= kBufferBytes;
  if (f->buffer_length > 0 && !appends_to_buffer) {
    if (offset >= f->buffer_offset && offset + amount <= end) {  // a frame or header rewritten in place
      std::memcpy(f->buffer + (offset - f->buffer_offset), data, static_cast<size_t>(amount));
      return SQLITE_OK;
    }
    // A frame written before the buffer's start, rewritten in place (a page spilled earlier in the
    // transaction and changed again): straight to the file; the order of writes to distinct bytes does
    // not matter before the sync.
    if (offset + amount <= f->buffer_offset || offset > end) return write_through(f, data, amount, offset);
    if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  }
  if (f->buffer_length == 0) {  // a new buffer starts here
    if (amount > kBufferBytes) return write_through(f, data, amount, offset);
    if (!f->buffer) {
      f->buffer = static_cast<char*>(sqlite3_malloc(kBufferBytes));
      if (!f->buffer) return SQLITE_IOERR_NOMEM;
    }
    f->buffer_offset = offset;
  }
  std::memcpy(f->buffer + f->buffer_length, data, static_cast<size_t>(amount));
  f->buffer_length += amount;
  appends.fetch_add(1, std::memory_order_relaxed);
  return SQLITE_OK;
}

int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
  File* f = as_file(file);
  f->ahead_length = 0;
  if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xTruncate(f->real, size);
}

int x_sync(sqlite3_file* file, int flags) {
  File* f = as_file(file);
  if (f->failed != SQLITE_OK) return f->failed;
  if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xSync(f->real, flags);
}

int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
  File* f = as_file(file);
  const int rc = f->real->pMethods->xFileSize(f->real, size);
  if (rc == SQLITE_OK && f->buffer_length > 0) *size = std::max(*size, f->buffer_offset + f->buffer_length);
  return rc;
}

int x_lock(sqlite3_file* file, int level) { return as_file(file)->real->pMethods->xLock(as_file(file)->real, level); }
int x_unlock(sqlite3_file* file, int level) {
  return as_file(file)->real->pMethods->xUnlock(as_file(file)->real, level);
}
int x_check_reserved_lock(sqlite3_file* file, int* out) {
  return as_file(file)->real->pMethods->xCheckReservedLock(as_file(file)->real, out);
}
int x_file_control(sqlite3_file* file, int op, void* arg) {
  File* f = as_file(file);
  if (op == SQLITE_FCNTL_CKPT_DONE && !f->is_wal) {
    // SQLite ignores this call's result and may next mark the copied frames as in the database, so a
    // write that fails here cannot be reported: stop the process (fail_stop). Its log still holds every
    // committed frame; recovery at the next start copies them again.
    if (const int rc = flush(f); rc != SQLITE_OK) fail_stop(f, rc);
  }
  if (op == SQLITE_FCNTL_CKPT_START || op == SQLITE_FCNTL_CKPT_DONE)
    set_checkpointing(f, op == SQLITE_FCNTL_CKPT_START);
  return f->real->pMethods->xFileControl(f->real, op, arg);
}
int x_sector_size(sqlite3_file* file) { return as_file(file)->real->pMethods->xSectorSize(as_file(file)->real); }
int x_device_characteristics(sqlite3_file* file) {
  return as_file(file)->real->pMethods->xDeviceCharacteristics(as_file(file)->real);
}
int x_shm_map(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  return as_file(file)->real->pMethods->xShmMap(as_file(file)->real, region, size, extend, out);
}
int x_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  return as_file(file)->real->pMethods->xShmLock(as_file(file)->real, offset, n, flags);
}
// SQLite calls the barrier on the database file between the two copies of the wal-index header it writes
// to publish a commit (walIndexWriteHdr): the frames it names must be in the file before the second copy.
// With synchronous=FULL the log's sync has written them already; this holds for any setting.
void x_shm_barrier(sqlite3_file* file) {
  File* f = as_file(file);
  if (File* wal = f->wal; wal && wal->buffer_length > 0) {
    if (const int rc = flush(wal); rc != SQLITE_OK) wal->failed = rc;
  }
  f->real->pMethods->xShmBarrier(f->real);
}
int x_shm_unmap(sqlite3_file* file, int delete_flag) {
  return as_file(file)->real->pMethods->xShmUnmap(as_file(file)->real, delete_flag);
}
int x_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  return as_file(file)->real->pMethods->xFetch(as_file(file)->real, offset, amount, out);
}
int x_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  return as_file(file)->real->pMethods->xUnfetch(as_file(file)->real, offset, page);
}

const sqlite3_io_methods methods = {
    3,      x_close,      x_read,      x_write,     x_truncate,         x_sync,
    x_file_size, x_lock,  x_unlock,    x_check_reserved_lock, x_file_control, x_sector_size,
    x_device_characteristics, x_shm_map, x_shm_lock, x_shm_barrier, x_shm_unmap, x_fetch,
    x_unfetch,
};

int x_open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  File* f = as_file(file);
  std::memset(f, 0, sizeof(File));
  f->real = reinterpret_cast<sqlite3_file*>(f + 1);
  const int rc = base_vfs->xOpen(base_vfs, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    // SQLite calls xClose only when pMethods is set; the wrapped file may still need its own.
    if (f->real->pMethods) f->real->pMethods->xClose(f->real);
    f->base.pMethods = nullptr;
    return rc;
  }
  if (f->real->pMethods->iVersion < 3) {  // the default VFSes of every supported SQLite are version 3
    f->real->pMethods->xClose(f->real);
    f->base.pMethods = nullptr;
    return SQLITE_CANTOPEN;
  }
  f->base.pMethods = &methods;
  std::lock_guard lock(registry_mutex);
  if ((flags & SQLITE_OPEN_MAIN_DB) && name) {
    f->db_name = name;
    open_databases.push_back(f);
  } else if ((flags & SQLITE_OPEN_WAL) && name) {
    f->is_wal = true;
    const char* db_name = sqlite3_filename_database(name);
    for (File* db : open_databases) {
      if (db->db_name == db_name) {
        db->wal = f;
        f->db = db;
        break;
      }
    }
  }
  return SQLITE_OK;
}

int x_delete(sqlite3_vfs*, const char* name, int sync_dir) { return base_vfs->xDelete(base_vfs, name, sync_dir); }
int x_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return base_vfs->xAccess(base_vfs, name, flags, out);
}
int x_full_pathname(sqlite3_vfs*, const char* name, int size, char* out) {
  return base_vfs->xFullPathname(base_vfs, name, size, out);
}
void* x_dl_open(sqlite3_vfs*, const char* name) { return base_vfs->xDlOpen(base_vfs, name); }
void x_dl_error(sqlite3_vfs*, int size, char* out) { base_vfs->xDlError(base_vfs, size, out); }
void (*x_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return base_vfs->xDlSym(base_vfs, handle, symbol);
}
void x_dl_close(sqlite3_vfs*, void* handle) { base_vfs->xDlClose(base_vfs, handle); }
int x_randomness(sqlite3_vfs*, int size, char* out) { return base_vfs->xRandomness(base_vfs, size, out); }
int x_sleep(sqlite3_vfs*, int microseconds) { return base_vfs->xSleep(base_vfs, microseconds); }
int x_current_time(sqlite3_vfs*, double* out) { return base_vfs->xCurrentTime(base_vfs, out); }
int x_get_last_error(sqlite3_vfs*, int size, char* out) { return base_vfs->xGetLastError(base_vfs, size, out); }
int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) { return base_vfs->xCurrentTimeInt64(base_vfs, out); }
int x_set_system_call(sqlite3_vfs*, const char* name, sqlite3_syscall_ptr call) {
  return base_vfs->xSetSystemCall(base_vfs, name, call);
}
sqlite3_syscall_ptr x_get_system_call(sqlite3_vfs*, const char* name) {
  return base_vfs->xGetSystemCall(base_vfs, name);
}
const char* x_next_system_call(sqlite3_vfs*, const char* name) { return base_vfs->xNextSystemCall(base_vfs, name); }

}  // namespace

const char* wal_buffer_vfs() {
  static std::once_flag once;
  std::call_once(once, [] {
    base_vfs = sqlite3_vfs_find(nullptr);
    buffered_vfs = sqlite3_vfs{};
    buffered_vfs.iVersion = std::min(base_vfs->iVersion, 3);
    buffered_vfs.szOsFile = static_cast<int>(sizeof(File)) + base_vfs->szOsFile;
    buffered_vfs.mxPathname = base_vfs->mxPathname;
    buffered_vfs.zName = kName;
    buffered_vfs.xOpen = x_open;
    buffered_vfs.xDelete = x_delete;
    buffered_vfs.xAccess = x_access;
    buffered_vfs.xFullPathname = x_full_pathname;
    buffered_vfs.xDlOpen = x_dl_open;
    buffered_vfs.xDlError = x_dl_error;
    buffered_vfs.xDlSym = x_dl_sym;
    buffered_vfs.xDlClose = x_dl_close;
    buffered_vfs.xRandomness = x_randomness;
    buffered_vfs.xSleep = x_sleep;
    buffered_vfs.xCurrentTime = x_current_time;
    buffered_vfs.xGetLastError = x_get_last_error;
    buffered_vfs.xCurrentTimeInt64 = x_current_time_int64;
    buffered_vfs.xSetSystemCall = x_set_system_call;
    buffered_vfs.xGetSystemCall = x_get_system_call;
    buffered_vfs.xNextSystemCall = x_next_system_call;
    sqlite3_vfs_register(&buffered_vfs, 0);
  });
  return kName;
}

WalBufferStats wal_buffer_stats() {
  return {appends.load(std::memory_order_relaxed), flushes.load(std::memory_order_relaxed),
          direct_writes.load(std::memory_order_relaxed), checkpoint_reads.load(std::memory_order_relaxed),
          checkpoint_fills.load(std::memory_order_relaxed), checkpoint_pages.load(std::memory_order_relaxed),
          checkpoint_writes.load(std::memory_order_relaxed)};
}

}  // namespace kuzet::collector::sqlite
