// The `convmat` command.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "demo.hpp"

namespace {

const char* usage =
    "usage: convmat <command> [options]\n"
    "\n"
    "commands:\n"
    "  demo    the seeds' worked examples, computed by W and by the direct loops, with verdicts\n"
    "\n"
    "convmat <command> --help describes a command.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  try {
    if (command == "demo") {
      if (argc > 2 && (!std::strcmp(argv[2], "--help") || !std::strcmp(argv[2], "-h"))) {
        std::puts("usage: convmat demo\n\nPrints the seeds' worked examples, each computed by the sparse matrix W and by\nthe direct loops, with a verdict per example. Exit status 0 when all agree.");
        return 0;
      }
      if (argc > 2) {
        std::fprintf(stderr, "convmat demo: unexpected argument '%s'\n", argv[2]);
        return 2;
      }
      return convmat::cli::run_demo();
    }
    std::fprintf(stderr, "convmat: unknown command '%s'\n\n%s", command.c_str(), usage);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "convmat %s: %s\n", command.c_str(), e.what());
    return 2;
  }
}
