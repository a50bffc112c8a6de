// LD_PRELOAD shim that makes the ledger's file writes or syncs fail, for
// fault tests against the real idgate binary. Inactive unless configured:
//
//   IDGATE_FAULT_PATH         substring of the file path to affect
//                             (default "/ledger-": the segment files)
//   IDGATE_FAULT_WRITE_AFTER  N: write/pwrite/writev on such files succeed
//                             N times, then fail
//   IDGATE_FAULT_SYNC_AFTER   N: fdatasync/fsync on such files succeed N
//                             times, then fail
//   IDGATE_FAULT_ERRNO        errno of the failures: "EIO" (default for
//                             syncs), "ENOSPC" (default for writes), "EDQUOT"
//
// The path of a descriptor is read from /proc/self/fd, so only matching
// files are affected; sockets, pipes and eventfds never are.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static ssize_t (*real_write)(int, const void*, size_t);
static ssize_t (*real_pwrite)(int, const void*, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec*, int);
static int (*real_fdatasync)(int);
static int (*real_fsync)(int);

static const char* fault_path = "/ledger-";
static long write_after = -1;
static long sync_after = -1;
static int write_errno = ENOSPC;
static int sync_errno = EIO;
static atomic_long writes;
static atomic_long syncs;

static long EnvLong(const char* name) {
  const char* v = getenv(name);
  if (v == NULL || *v == '\0') return -1;
  return strtol(v, NULL, 10);
}

static int ParseErrno(const char* v, int fallback) {
  if (v == NULL) return fallback;
  if (strcmp(v, "EIO") == 0) return EIO;
  if (strcmp(v, "ENOSPC") == 0) return ENOSPC;
  if (strcmp(v, "EDQUOT") == 0) return EDQUOT;
  if (strcmp(v, "EROFS") == 0) return EROFS;
  return fallback;
}

__attribute__((constructor)) static void Init(void) {
  real_write = dlsym(RTLD_NEXT, "write");
  real_pwrite = dlsym(RTLD_NEXT, "pwrite");
  real_writev = dlsym(RTLD_NEXT, "writev");
  real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
  real_fsync = dlsym(RTLD_NEXT, "fsync");
  const char* path = getenv("IDGATE_FAULT_PATH");
  if (path != NULL && *path != '\0') fault_path = path;
  write_after = EnvLong("IDGATE_FAULT_WRITE_AFTER");
  sync_after = EnvLong("IDGATE_FAULT_SYNC_AFTER");
  const char* e = getenv("IDGATE_FAULT_ERRNO");
  write_errno = ParseErrno(e, ENOSPC);
  sync_errno = ParseErrno(e, EIO);
}

static int Matches(int fd) {
  char link[64];
  char target[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  if (n <= 0) return 0;
  target[n] = '\0';
  return strstr(target, fault_path) != NULL;
}

// True when this operation must fail (and counts it).
static int Inject(int fd, long after, atomic_long* counter) {
  if (after < 0 || !Matches(fd)) return 0;
  return atomic_fetch_add(counter, 1) >= after;
}

ssize_t write(int fd, const void* buf, size_t count) {
  if (real_write == NULL) Init();
  if (Inject(fd, write_after, &writes)) {
    errno = write_errno;
    return -1;
  }
  return real_write(fd, buf, count);
}

ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
  if (Inject(fd, write_after, &writes)) {
    errno = write_errno;
    return -1;
  }
  return real_pwrite(fd, buf, count, offset);
}

ssize_t writev(int fd, const struct iovec* iov, int iovcnt) {
  if (Inject(fd, write_after, &writes)) {
    errno = write_errno;
    return -1;
  }
  return real_writev(fd, iov, iovcnt);
}

int fdatasync(int fd) {
  if (Inject(fd, sync_after, &syncs)) {
    errno = sync_errno;
    return -1;
  }
  return real_fdatasync(fd);
}

int fsync(int fd) {
  if (Inject(fd, sync_after, &syncs)) {
    errno = sync_errno;
    return -1;
  }
  return real_fsync(fd);
}
