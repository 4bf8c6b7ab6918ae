// libFuzzer target: the command line. The input is split at '\n' into arguments (the first is
// the command). Every command's flag parser runs; `shape`, `matrix` (printing only) and --help
// also run to completion, as long as no file is named (the fuzzer must not read or write files).
// Any exit status is fine; a crash, a sanitizer report or a hang is a bug.
#include <cstdint>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "commands.hpp"

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
    for (const char* f : {"--input", "--weight", "--bias", "--candidate", "--output", "-o", "--max-memory"}) {
      if (a.compare(0, std::string(f).size(), f) == 0 && a.compare(0, 13, "--input-shape") != 0 &&
          a.compare(0, 14, "--weight-shape") != 0) {
        names_a_file = true;
      }
    }
  }
  for (const convmat::cli::Command& c : convmat::cli::command_table()) {
    if (c.name != args[0]) continue;
    std::vector<convmat::cli::Opt> allowed = c.options;
    allowed.push_back(convmat::cli::Opt::help);
    try {
      convmat::cli::parse_arguments(c.name, std::vector<std::string>(args.begin() + 1, args.end()), allowed);
    } catch (const convmat::cli::UsageError&) {
    }
  }
  if (names_a_file || !(args[0] == "shape" || args[0] == "matrix" || args[0] == "--help")) return 0;
  if (args[0] == "matrix") {
    args.push_back("--max-memory");
    args.push_back("64M");  // matrix builds W only when it prints it (at most 100 x 100)
  }
  std::ostringstream out, err;
  convmat::cli::run_cli(args, out, err);
  return 0;
}
