#include "output_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <stdexcept>
#include <vector>

namespace convmat::cli {

namespace {

// The signals whose default action ends the process: each removes the temporary file first.
constexpr int watched[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGXFSZ};

// The temporary file a signal handler must remove (one output is written at a time).
char pending_temp[4096];
volatile std::sig_atomic_t pending = 0;

// What each watched signal did before watch(), restored by unwatch().
struct sigaction previous[std::size(watched)];
bool watching = false;

extern "C" void remove_pending_and_reraise(int sig) {
  if (pending) ::unlink(pending_temp);  // async-signal-safe
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

// Signals the caller ignores (nohup's SIGHUP, a shell's ignored SIGPIPE) stay ignored. Returns
// false when it installs nothing (a file is watched already, or its name is too long).
bool watch(const std::string& temp) {
  if (temp.size() >= sizeof pending_temp || watching) return false;
  std::memcpy(pending_temp, temp.c_str(), temp.size() + 1);
  pending = 1;
  struct sigaction handler {};
  handler.sa_handler = remove_pending_and_reraise;
  sigemptyset(&handler.sa_mask);
  for (std::size_t i = 0; i < std::size(watched); ++i) {
    ::sigaction(watched[i], nullptr, &previous[i]);
    if (previous[i].sa_handler != SIG_IGN) ::sigaction(watched[i], &handler, nullptr);
  }
  watching = true;
  return true;
}

void unwatch() {
  pending = 0;
  if (!watching) return;
  for (std::size_t i = 0; i < std::size(watched); ++i)
    ::sigaction(watched[i], &previous[i], nullptr);
  watching = false;
}

// True when `st` is the file behind one of the standard streams (-o /dev/stdout with stdout
// redirected to a file): writing to that descriptor keeps the caller's offset and append mode.
int standard_stream_of(const struct stat& st) {
  for (int fd : {STDOUT_FILENO, STDERR_FILENO}) {
    struct stat s {};
    if (::fstat(fd, &s) == 0 && s.st_dev == st.st_dev && s.st_ino == st.st_ino) return fd;
  }
  return -1;
}

// The file a dangling symbolic link names (relative links are relative to the link's directory).
std::string link_target(const std::string& link) {
  std::vector<char> buffer(PATH_MAX + 1);
  const ssize_t n = ::readlink(link.c_str(), buffer.data(), PATH_MAX);
  if (n <= 0) return link;
  std::string target(buffer.data(), static_cast<std::size_t>(n));
  const auto slash = link.rfind('/');
  if (target.front() != '/' && slash != std::string::npos)
    target = link.substr(0, slash + 1) + target;
  return target;
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
    if (const int stream = standard_stream_of(st); stream >= 0) {
      fd_ = ::dup(stream);
      if (fd_ < 0) fail(target_, "cannot write to it");
      direct_ = true;
      stdout_ = stream == STDOUT_FILENO;
      return;
    }
    if (!S_ISREG(st.st_mode)) {  // a device or FIFO: written as it is
      fd_ = ::open(target_.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd_ < 0) fail(target_, "cannot open it for writing");
      direct_ = true;
      return;
    }
    char resolved[PATH_MAX];
    if (::realpath(target_.c_str(), resolved) != nullptr) destination = resolved;
    mode_ = st.st_mode & 07777;  // the replaced file keeps its permissions
  } else if (struct stat l{}; ::lstat(target_.c_str(), &l) == 0 && S_ISLNK(l.st_mode)) {
    destination = link_target(target_);  // a dangling link: create the file it names
  }
  std::vector<char> name(destination.begin(), destination.end());
  const std::string suffix = ".tmp-XXXXXX";
  name.insert(name.end(), suffix.begin(), suffix.end());
  name.push_back('\0');
  fd_ = ::mkstemp(name.data());
  if (fd_ < 0) {
    fail(destination == target_ ? target_ : target_ + " (" + destination + ")",
         "cannot create a temporary file next to it");
  }
  temp_ = name.data();
  destination_ = destination;
  watch(temp_);
}

AtomicOutput::~AtomicOutput() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
  unwatch();
}

RemoveOnSignal::RemoveOnSignal(const std::string& temp) : installed_(watch(temp)) {}

RemoveOnSignal::~RemoveOnSignal() {
  if (installed_) unwatch();
}

void (*after_first_write)() = nullptr;

void AtomicOutput::write(const void* data, std::size_t bytes) {
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::write(fd_, p, bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(target_, "write failed");
    p += n;
    bytes -= static_cast<std::size_t>(n);
  }
  if (!written_ && !direct_ && after_first_write) after_first_write();
  written_ = true;
}

void AtomicOutput::commit() {
  if (direct_) {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail(target_, "cannot close");
    committed_ = true;
    return;
  }
  // mkstemp makes 0600: give the file the permissions of the one it replaces, or what
  // open(…, 0666) would give a new one.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  if (::fchmod(fd_, mode_ >= 0 ? static_cast<mode_t>(mode_) : 0666 & ~mask) != 0) {
    fail(target_, "cannot set the permissions");
  }
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
