#include "server/ledger/segment_sink.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/file.h"

namespace idgate {
namespace {

// Closes a descriptor on scope exit.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

absl::Status FsyncPath(const std::string& path, int flags) {
  ScopedFd fd(::open(path.c_str(), flags | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus(errno, absl::StrCat("open ", path));
  if (::fsync(fd.get()) != 0) {
    return ErrnoStatus(errno, absl::StrCat("fsync ", path));
  }
  return absl::OkStatus();
}

// Zeros written ahead of the records, a chunk at a time: while a batch
// only overwrites preallocated bytes, fdatasync need not also write the
// inode's new size (a second synchronous write per batch on ext4).
constexpr uint64_t kPreallocateBytes = 1 << 20;

class PosixSegmentFile : public SegmentFile {
 public:
  // `size`: the file's current size, where appending starts.
  PosixSegmentFile(int fd, std::string path, uint64_t size)
      : fd_(fd), path_(std::move(path)), end_(size), allocated_(size) {}

  absl::Status Append(absl::string_view data) override {
    if (end_ + data.size() > allocated_) {
      const uint64_t target = (end_ + data.size() + kPreallocateBytes - 1) /
                              kPreallocateBytes * kPreallocateBytes;
      static constexpr char kZeros[64 << 10] = {};
      while (allocated_ < target) {
        const size_t n =
            std::min<uint64_t>(sizeof(kZeros), target - allocated_);
        absl::Status status = WriteAt(allocated_, absl::string_view(kZeros, n));
        if (!status.ok()) return status;
        allocated_ += n;
      }
    }
    absl::Status status = WriteAt(end_, data);
    if (!status.ok()) return status;
    end_ += data.size();
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    // No EINTR loop: fdatasync is not interrupted by signals on Linux, and
    // retrying after any error could report success for lost data.
    if (::fdatasync(fd_.get()) != 0) {
      return ErrnoStatus(errno, absl::StrCat("fdatasync ", path_));
    }
    return absl::OkStatus();
  }

  absl::Status Seal() override {
    if (allocated_ > end_) {
      if (::ftruncate(fd_.get(), static_cast<off_t>(end_)) != 0) {
        return ErrnoStatus(errno, absl::StrCat("ftruncate ", path_));
      }
      allocated_ = end_;
    }
    // fsync, not fdatasync: the new size is metadata.
    if (::fsync(fd_.get()) != 0) {
      return ErrnoStatus(errno, absl::StrCat("fsync ", path_));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status WriteAt(uint64_t offset, absl::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::pwrite(fd_.get(), data.data(), data.size(),
                           static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, absl::StrCat("write ", path_));
      }
      data.remove_prefix(static_cast<size_t>(n));
      offset += static_cast<uint64_t>(n);
    }
    return absl::OkStatus();
  }

  ScopedFd fd_;
  std::string path_;
  uint64_t end_;        // where the next record goes
  uint64_t allocated_;  // the file's size: records, then zeros
};

class PosixSegmentSink : public SegmentSink {
 public:
  // `lock_fd` (or -1) holds the writer's flock until destruction.
  PosixSegmentSink(std::string dir, int lock_fd)
      : dir_(std::move(dir)), lock_fd_(lock_fd) {}

  absl::StatusOr<std::vector<std::string>> List() override {
    DIR* dir = ::opendir(dir_.c_str());
    if (dir == nullptr) {
      return ErrnoStatus(errno, absl::StrCat("opendir ", dir_));
    }
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent* entry = ::readdir(dir)) {
      std::string name = entry->d_name;
      if (name == "." || name == "..") continue;
      struct stat st;
      if (::fstatat(::dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
              0 &&
          S_ISREG(st.st_mode)) {
        names.push_back(std::move(name));
      }
      errno = 0;
    }
    int saved = errno;
    ::closedir(dir);
    if (saved != 0) return ErrnoStatus(saved, absl::StrCat("readdir ", dir_));
    std::sort(names.begin(), names.end());
    return names;
  }

  absl::StatusOr<std::string> Read(const std::string& name) override {
    return ReadFileToString(Path(name));
  }

  absl::StatusOr<std::string> ReadPrefix(const std::string& name,
                                         uint64_t max_bytes) override {
    const std::string path = Path(name);
    ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return ErrnoStatus(errno, absl::StrCat("open ", path));
    std::string data(max_bytes, '\0');
    size_t got = 0;
    while (got < data.size()) {
      const ssize_t n = ::pread(fd.get(), &data[got], data.size() - got,
                                static_cast<off_t>(got));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, absl::StrCat("read ", path));
      }
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    data.resize(got);
    return data;
  }

  absl::StatusOr<std::unique_ptr<SegmentFile>> OpenForAppend(
      const std::string& name, bool create) override {
    std::string path = Path(name);
    int flags = O_WRONLY | O_CLOEXEC;
    if (create) flags |= O_CREAT | O_EXCL;
    ScopedFd fd(::open(path.c_str(), flags, 0640));
    if (fd.get() < 0) return ErrnoStatus(errno, absl::StrCat("open ", path));
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) {
      return ErrnoStatus(errno, absl::StrCat("fstat ", path));
    }
    return std::unique_ptr<SegmentFile>(new PosixSegmentFile(
        fd.release(), std::move(path), static_cast<uint64_t>(st.st_size)));
  }

  absl::Status Truncate(const std::string& name, uint64_t size) override {
    std::string path = Path(name);
    ScopedFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (fd.get() < 0) return ErrnoStatus(errno, absl::StrCat("open ", path));
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
      return ErrnoStatus(errno, absl::StrCat("ftruncate ", path));
    }
    // fsync, not fdatasync: the new size is metadata.
    if (::fsync(fd.get()) != 0) {
      return ErrnoStatus(errno, absl::StrCat("fsync ", path));
    }
    return absl::OkStatus();
  }

  absl::Status SyncDir() override {
    return FsyncPath(dir_, O_RDONLY | O_DIRECTORY);
  }

  absl::StatusOr<uint64_t> FileSize(const std::string& name) override {
    const std::string path = Path(name);
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      return ErrnoStatus(errno, absl::StrCat("stat ", path));
    }
    return static_cast<uint64_t>(st.st_size);
  }

  absl::Status ReplaceFile(const std::string& name,
                           absl::string_view data) override {
    const std::string path = Path(name);
    const std::string temporary = path + ".tmp";
    {
      ScopedFd fd(::open(temporary.c_str(),
                         O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
      if (fd.get() < 0) {
        return ErrnoStatus(errno, absl::StrCat("open ", temporary));
      }
      while (!data.empty()) {
        const ssize_t n = ::write(fd.get(), data.data(), data.size());
        if (n < 0) {
          if (errno == EINTR) continue;
          return ErrnoStatus(errno, absl::StrCat("write ", temporary));
        }
        data.remove_prefix(static_cast<size_t>(n));
      }
      if (::fsync(fd.get()) != 0) {
        return ErrnoStatus(errno, absl::StrCat("fsync ", temporary));
      }
    }
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
      return ErrnoStatus(errno, absl::StrCat("rename ", temporary));
    }
    return SyncDir();
  }

  absl::Status Remove(const std::string& name) override {
    const std::string path = Path(name);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return ErrnoStatus(errno, absl::StrCat("unlink ", path));
    }
    return absl::OkStatus();
  }

 private:
  std::string Path(const std::string& name) const {
    return absl::StrCat(dir_, "/", name);
  }

  std::string dir_;
  ScopedFd lock_fd_;
};

// The parent of `dir` ("." for a relative name without a slash).
std::string ParentDir(const std::string& dir) {
  std::string trimmed = dir;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  size_t slash = trimmed.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return trimmed.substr(0, slash);
}

}  // namespace

absl::StatusOr<uint64_t> SegmentSink::FileSize(const std::string& name) {
  absl::StatusOr<std::string> data = Read(name);
  if (!data.ok()) return data.status();
  return data->size();
}

absl::Status SegmentSink::ReplaceFile(const std::string& name,
                                      absl::string_view data) {
  return absl::UnimplementedError("this segment sink cannot replace files");
}

absl::Status SegmentSink::Remove(const std::string& name) {
  return absl::UnimplementedError("this segment sink cannot remove files");
}

absl::StatusOr<std::unique_ptr<SegmentSink>> NewPosixSegmentSink(
    const std::string& dir, SinkMode mode) {
  if (dir.empty()) return absl::InvalidArgumentError("empty ledger directory");
  if (mode == SinkMode::kWriter) {
    if (::mkdir(dir.c_str(), 0750) == 0) {
      // The new directory entry must survive a crash like the files in it.
      absl::Status synced = FsyncPath(ParentDir(dir), O_RDONLY | O_DIRECTORY);
      if (!synced.ok()) return synced;
    } else if (errno != EEXIST) {
      return ErrnoStatus(errno, absl::StrCat("mkdir ", dir));
    }
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    return ErrnoStatus(errno, absl::StrCat("stat ", dir));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, " is not a directory"));
  }
  int lock_fd = -1;
  if (mode == SinkMode::kWriter) {
    lock_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lock_fd < 0) return ErrnoStatus(errno, absl::StrCat("open ", dir));
    if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
      const int saved = errno;
      ::close(lock_fd);
      if (saved == EWOULDBLOCK) {
        return absl::FailedPreconditionError(absl::StrCat(
            "ledger directory ", dir, " is in use by another writer"));
      }
      return ErrnoStatus(saved, absl::StrCat("flock ", dir));
    }
  }
  return std::unique_ptr<SegmentSink>(new PosixSegmentSink(dir, lock_fd));
}

}  // namespace idgate
