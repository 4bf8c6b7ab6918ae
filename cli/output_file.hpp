#pragma once
// An output file that appears complete or not at all: the bytes go to a temporary file in the
// target's directory ("<target>.tmp-XXXXXX"), which commit() flushes, syncs and renames over the
// target. A run that fails, throws or is interrupted by SIGINT/SIGTERM/SIGHUP/SIGPIPE/SIGXFSZ
// removes the temporary file and leaves the target untouched.
//
// A symbolic link is written through: the file it names is replaced (in its own directory, with
// its permissions) or, for a dangling link, created, and the link stays. A target that exists
// and is not a regular file — /dev/null, a terminal, a FIFO — is written directly (renaming over
// it would turn a device into a file), and so is the file behind stdout or stderr
// (-o /dev/stdout with stdout redirected: the stream's offset and append mode are kept); a
// directory is refused.

#include <cstddef>
#include <string>

namespace convmat::cli {

// A test hook: when set, called once per AtomicOutput right after its first write() into the
// temporary file (the signal handlers installed, the target not yet replaced), and by convmat-mpi's
// rank 0 right after it wrote the header into its temporary file (cli/mpi/slab_io.cpp). The
// programs leave it null; the interrupt tests' drivers (tests/cli/interrupt_driver.cpp,
// tests/distributed/interrupt_driver.cpp) stop the process there, so that their signals arrive in
// the middle of an output whatever the machine's load.
extern void (*after_first_write)();

// The signal side of AtomicOutput, for a temporary file written another way (convmat-mpi's rank
// 0 writes the header, every rank its part): while it lives, SIGINT/SIGTERM/SIGHUP/SIGPIPE/SIGXFSZ
// remove `temp` before the process ends by the signal (signals the caller ignores stay ignored).
// One temporary file is watched at a time: a second watch while one lives is not installed.
class RemoveOnSignal {
 public:
  explicit RemoveOnSignal(const std::string& temp);
  ~RemoveOnSignal();  // the handlers in place before
  RemoveOnSignal(const RemoveOnSignal&) = delete;
  RemoveOnSignal& operator=(const RemoveOnSignal&) = delete;

 private:
  bool installed_;
};

class AtomicOutput {
 public:
  explicit AtomicOutput(std::string target);  // throws std::invalid_argument naming the target
  ~AtomicOutput();                            // removes the temporary file unless committed
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;

  void write(const void* data, std::size_t bytes);
  void write(const std::string& s) { write(s.data(), s.size()); }
  void commit();
  const std::string& target() const { return target_; }
  // True when the output is the process's stdout (-o /dev/stdout, to a terminal, a pipe or a
  // redirected file): the command's report then goes to stderr, not into the output.
  bool is_stdout() const { return stdout_; }

 private:
  std::string target_, destination_, temp_;  // destination_: target_ with links resolved
  int fd_ = -1;
  bool committed_ = false;
  bool direct_ = false;  // writing straight into a device, a FIFO or a standard stream
  int mode_ = -1;        // the permissions of the file replaced, if any
  bool stdout_ = false;
  bool written_ = false;  // after_first_write has run
};

}  // namespace convmat::cli
