#pragma once
// An output file that appears complete or not at all: the bytes go to a temporary file in the
// target's directory ("<target>.tmp-XXXXXX"), which commit() flushes, syncs and renames over the
// target. A run that fails, throws or is interrupted by SIGINT/SIGTERM/SIGHUP removes the
// temporary file and leaves the target untouched.

#include <cstddef>
#include <string>

namespace convmat::cli {

class AtomicOutput {
 public:
  explicit AtomicOutput(std::string target);  // throws std::invalid_argument naming the target
  ~AtomicOutput();                             // removes the temporary file unless committed
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;

  void write(const void* data, std::size_t bytes);
  void write(const std::string& s) { write(s.data(), s.size()); }
  void commit();
  const std::string& target() const { return target_; }

 private:
  std::string target_, temp_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace convmat::cli
