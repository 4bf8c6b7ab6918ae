#include "output_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace convmat::cli {

namespace {

// The signals whose default action ends the process: each removes the temporary file first.
constexpr int watched[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGXFSZ};

// The temporary file a signal handler must remove (one output is written at a time).
char pending_temp[4096];
volatile std::sig_atomic_t pending = 0;

extern "C" void remove_pending_and_reraise(int sig) {
  if (pending) ::unlink(pending_temp);  // async-signal-safe
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void watch(const std::string& temp) {
  if (temp.size() >= sizeof pending_temp) return;
  std::memcpy(pending_temp, temp.c_str(), temp.size() + 1);
  pending = 1;
  for (int sig : watched) std::signal(sig, remove_pending_and_reraise);
}

void unwatch() {
  pending = 0;
  for (int sig : watched) std::signal(sig, SIG_DFL);
}

[[noreturn]] void fail(const std::string& target, const std::string& what) {
  throw std::invalid_argument(target + ": " + what + ": " + std::strerror(errno));
}

}  // namespace

AtomicOutput::AtomicOutput(std::string target) : target_(std::move(target)) {
  if (target_.empty()) throw std::invalid_argument("the output file name is empty");
  std::string destination = target_;  // the file to replace
  struct stat st {};
  if (::stat(target_.c_str(), &st) == 0) {  // follows symbolic links
    if (S_ISDIR(st.st_mode)) {
      throw std::invalid_argument(target_ + ": is a directory, not an output file");
    }
    if (!S_ISREG(st.st_mode)) {  // a device or FIFO: written as it is
      fd_ = ::open(target_.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd_ < 0) fail(target_, "cannot open it for writing");
      direct_ = true;
      return;
    }
    char resolved[PATH_MAX];
    if (::realpath(target_.c_str(), resolved) != nullptr) destination = resolved;
  }
  std::vector<char> name(destination.begin(), destination.end());
  const std::string suffix = ".tmp-XXXXXX";
  name.insert(name.end(), suffix.begin(), suffix.end());
  name.push_back('\0');
  fd_ = ::mkstemp(name.data());
  if (fd_ < 0) fail(target_, "cannot create a temporary file next to it");
  temp_ = name.data();
  destination_ = destination;
  watch(temp_);
}

AtomicOutput::~AtomicOutput() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
  unwatch();
}

void AtomicOutput::write(const void* data, std::size_t bytes) {
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::write(fd_, p, bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(target_, "write failed");
    p += n;
    bytes -= static_cast<std::size_t>(n);
  }
}

void AtomicOutput::commit() {
  if (direct_) {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail(target_, "cannot close");
    committed_ = true;
    return;
  }
  const mode_t mask = ::umask(0);  // mkstemp makes 0600; give the file what open(…, 0666) would
  ::umask(mask);
  if (::fchmod(fd_, 0666 & ~mask) != 0) fail(target_, "cannot set the permissions");
  if (::fsync(fd_) != 0) fail(target_, "cannot flush");
  if (::close(fd_) != 0) {
    fd_ = -1;
    fail(target_, "cannot close");
  }
  fd_ = -1;
  if (::rename(temp_.c_str(), destination_.c_str()) != 0) {
    fail(target_, "cannot rename the temporary file to it");
  }
  committed_ = true;
  unwatch();
}

}  // namespace convmat::cli
