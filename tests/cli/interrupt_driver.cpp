// `convmat` with a stop in the middle of every output file: after the first write into the
// temporary file, the process stops itself (SIGSTOP). cli_tests.py's interrupt group waits for
// the stop, sends the signal under test and SIGCONT, so the signal arrives during the write on
// every run, however loaded the machine is.
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "output_file.hpp"

int main(int argc, char** argv) {
  convmat::cli::after_first_write = [] { std::raise(SIGSTOP); };
  const std::vector<std::string> args(argv + 1, argv + argc);
  const int status = convmat::cli::run_cli(args, std::cout, std::cerr);
  std::cout.flush();
  return std::cout.good() ? status : 2;
}
