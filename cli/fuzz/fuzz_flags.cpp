// libFuzzer target: the command line. The input is split at '\n' into arguments (the first is
// the command). The CLI11 parser with every command's declared flags runs on them; `shape`,
// `matrix` (printing only), `analyze` (with --weight-fill) and --help also run to completion, as
// long as no file is named (the fuzzer must not read or write files). Any exit status is fine; a
// crash, a sanitizer report or a hang is a bug.
#include <cstdint>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <omp.h>

#include "commands.hpp"

// One thread: analyze's Lanczos runs OpenMP-parallel products, whose spinning threads cost 20x
// on a loaded machine and turn slow inputs into libFuzzer timeouts.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  omp_set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> args(1);
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == '\n') {
      args.emplace_back();
    } else {
      args.back().push_back(static_cast<char>(data[i]));
    }
  }
  if (args.size() > 64) return 0;
  bool names_a_file = false;  // or sets the memory limit, which the target fixes
  for (const std::string& a : args) {
    for (const std::string f : {"--input", "--weight", "--bias", "--candidate", "--observed",
                                "--output", "-o", "--max-memory"}) {
      if (a == f || a.compare(0, f.size() + 1, f + "=") == 0) names_a_file = true;
    }
  }
  // The command line's parser alone (CLI11 with the declared flags and their value parsers):
  // every argument list, files or not, since parsing reads no file.
  try {
    convmat::cli::CommandLine cl;
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    cl.app.parse(reversed);
  } catch (const std::exception&) {  // CLI::Error, UsageError, the library's invalid_argument
  }
  if (names_a_file ||
      !(args[0] == "shape" || args[0] == "matrix" || args[0] == "analyze" || args[0] == "--help"))
    return 0;
  if (args[0] == "matrix") {
    args.push_back("--max-memory");
    args.push_back("64M");  // matrix builds W only when it prints it (at most 100 x 100)
  }
  if (args[0] == "analyze") {
    args.push_back("--max-memory");
    args.push_back(
        "256K");  // keeps W, the dense SVD (64 bytes per entry) and Lanczos small: the
                  // sanitized build runs Eigen and Spectra about 100x slower than Release
  }
  std::ostringstream out, err;
  convmat::cli::run_cli(args, out, err);
  return 0;
}
