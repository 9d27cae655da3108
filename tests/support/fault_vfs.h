// tests/support/fault_vfs.h — an SQLite VFS that fails on purpose, for the registry's fault tests
// (LevelDB's FaultInjectionTestEnv idea, one level down: below the real SQLite driver, so the
// errors surface exactly as a full disk or a write-protected file makes SQLite report them).
//
//   auto& vfs = testsupport::FaultVfs::instance();         // registers "certd-fault" once
//   certd::StoreOptions o;
//   o.sqlite_vfs = vfs.name();
//   auto store = certd::open_store(path, o);
//   vfs.fail_writes(SQLITE_FULL, 1);    // the next xWrite fails: the next COMMIT reports FULL
//   vfs.read_only(true);                // main database files opened from now on are read-only,
//                                       // as the OS opens a chmod 444 file for a non-root user
//   vfs.clear();
//
// Every file operation is forwarded to SQLite's default VFS (unix); only xWrite/xTruncate (a
// disk that is full or failing) and xOpen of a main database (write-protected) are changed.
// Thread-safety: the controls are atomics; SQLite calls the VFS from any thread.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <mutex>

namespace testsupport {

class FaultVfs {
 public:
  static FaultVfs& instance() {
    static FaultVfs* v = new FaultVfs();  // registered with SQLite for the process lifetime
    return *v;
  }
  [[nodiscard]] const char* name() const { return vfs_.zName; }

  // The next `times` writes (xWrite, xTruncate) of any file fail with `rc` (SQLITE_FULL,
  // SQLITE_IOERR_WRITE, ...); times < 0: every write until clear().
  void fail_writes(int rc, int times) {
    fail_rc_.store(rc);
    fail_left_.store(times);
  }
  // On: main database files opened from now on are opened read-only (already open ones keep
  // their descriptors, as after a chmod).
  void read_only(bool on) { read_only_.store(on); }
  void clear() {
    fail_left_.store(0);
    read_only_.store(false);
  }
  // Main database files opened through this VFS so far (a new connection opens one).
  [[nodiscard]] int main_db_opens() const { return opens_.load(); }
  // Writes failed so far.
  [[nodiscard]] int failed_writes() const { return failed_.load(); }

 private:
  struct File {
    sqlite3_file base;  // base.pMethods = our methods; the real file follows this struct
    sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
  };

  FaultVfs() {
    real_ = sqlite3_vfs_find(nullptr);
    vfs_ = *real_;
    vfs_.zName = "certd-fault";
    vfs_.pAppData = this;
    vfs_.szOsFile = static_cast<int>(sizeof(File)) + real_->szOsFile;
    vfs_.xOpen = &FaultVfs::open;
    vfs_.pNext = nullptr;
    sqlite3_vfs_register(&vfs_, 0);
  }

  static FaultVfs& self(sqlite3_vfs* v) { return *static_cast<FaultVfs*>(v->pAppData); }
  static sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<File*>(f)->real(); }

  // Whether this write must fail (consumes one of the `times`).
  bool take_failure(int* rc) {
    int left = fail_left_.load();
    while (left != 0) {
      if (left < 0 || fail_left_.compare_exchange_weak(left, left - 1)) {
        *rc = fail_rc_.load();
        ++failed_;
        return true;
      }
    }
    return false;
  }

  static int open(sqlite3_vfs* v, const char* name, sqlite3_file* f, int flags, int* out_flags) {
    FaultVfs& me = self(v);
    sqlite3_file* r = real(f);
    std::memset(f, 0, sizeof(File));
    if ((flags & SQLITE_OPEN_MAIN_DB) != 0) {
      ++me.opens_;
      if (me.read_only_.load()) {
        // What os_unix does when open(O_RDWR) fails with EACCES: retry read-only and report it.
        flags = (flags & ~(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) | SQLITE_OPEN_READONLY;
      }
    }
    const int rc = me.real_->xOpen(me.real_, name, r, flags, out_flags);
    if (r->pMethods == nullptr) return rc;  // nothing to close
    // The unix VFS gives every file the same methods: wrap them once, all forwarding.
    std::call_once(me.wrap_once_, [&] { me.wrap(*r->pMethods); });
    f->pMethods = &me.methods_;
    return rc;
  }

  void wrap(const sqlite3_io_methods& m) {
    methods_ = m;
    FaultVfs& me = *this;
    me.methods_.xWrite = &FaultVfs::write;
    me.methods_.xTruncate = &FaultVfs::truncate;
    me.methods_.xClose = &FaultVfs::close;
    me.methods_.xRead = &FaultVfs::read;
    me.methods_.xSync = &FaultVfs::sync;
    me.methods_.xFileSize = &FaultVfs::file_size;
    me.methods_.xLock = &FaultVfs::lock;
    me.methods_.xUnlock = &FaultVfs::unlock;
    me.methods_.xCheckReservedLock = &FaultVfs::check_reserved;
    me.methods_.xFileControl = &FaultVfs::file_control;
    me.methods_.xSectorSize = &FaultVfs::sector_size;
    me.methods_.xDeviceCharacteristics = &FaultVfs::device_characteristics;
    if (me.methods_.iVersion >= 2) {
      me.methods_.xShmMap = &FaultVfs::shm_map;
      me.methods_.xShmLock = &FaultVfs::shm_lock;
      me.methods_.xShmBarrier = &FaultVfs::shm_barrier;
      me.methods_.xShmUnmap = &FaultVfs::shm_unmap;
    }
    if (me.methods_.iVersion >= 3) {
      me.methods_.xFetch = &FaultVfs::fetch;
      me.methods_.xUnfetch = &FaultVfs::unfetch;
    }
  }

  static int write(sqlite3_file* f, const void* p, int n, sqlite3_int64 off) {
    int rc = 0;
    if (instance().take_failure(&rc)) return rc;
    return real(f)->pMethods->xWrite(real(f), p, n, off);
  }
  static int truncate(sqlite3_file* f, sqlite3_int64 size) {
    int rc = 0;
    if (instance().take_failure(&rc)) return rc;
    return real(f)->pMethods->xTruncate(real(f), size);
  }
  static int close(sqlite3_file* f) { return real(f)->pMethods->xClose(real(f)); }
  static int read(sqlite3_file* f, void* p, int n, sqlite3_int64 off) {
    return real(f)->pMethods->xRead(real(f), p, n, off);
  }
  static int sync(sqlite3_file* f, int flags) { return real(f)->pMethods->xSync(real(f), flags); }
  static int file_size(sqlite3_file* f, sqlite3_int64* size) {
    return real(f)->pMethods->xFileSize(real(f), size);
  }
  static int lock(sqlite3_file* f, int l) { return real(f)->pMethods->xLock(real(f), l); }
  static int unlock(sqlite3_file* f, int l) { return real(f)->pMethods->xUnlock(real(f), l); }
  static int check_reserved(sqlite3_file* f, int* out) {
    return real(f)->pMethods->xCheckReservedLock(real(f), out);
  }
  static int file_control(sqlite3_file* f, int op, void* arg) {
    return real(f)->pMethods->xFileControl(real(f), op, arg);
  }
  static int sector_size(sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); }
  static int device_characteristics(sqlite3_file* f) {
    return real(f)->pMethods->xDeviceCharacteristics(real(f));
  }
  static int shm_map(sqlite3_file* f, int pg, int sz, int extend, void volatile** pp) {
    return real(f)->pMethods->xShmMap(real(f), pg, sz, extend, pp);
  }
  static int shm_lock(sqlite3_file* f, int off, int n, int flags) {
    return real(f)->pMethods->xShmLock(real(f), off, n, flags);
  }
  static void shm_barrier(sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); }
  static int shm_unmap(sqlite3_file* f, int del) {
    return real(f)->pMethods->xShmUnmap(real(f), del);
  }
  static int fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** pp) {
    return real(f)->pMethods->xFetch(real(f), off, n, pp);
  }
  static int unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
    return real(f)->pMethods->xUnfetch(real(f), off, p);
  }

  sqlite3_vfs* real_ = nullptr;
  sqlite3_vfs vfs_{};
  std::once_flag wrap_once_;
  sqlite3_io_methods methods_{};  // the real unix methods, wrapped (same for every file)
  std::atomic<int> fail_rc_{SQLITE_FULL};
  std::atomic<int> fail_left_{0};
  std::atomic<bool> read_only_{false};
  std::atomic<int> opens_{0};
  std::atomic<int> failed_{0};
};

}  // namespace testsupport
