// The `convmat` command: see commands.hpp for the subcommands and `convmat --help`.
#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const int status = convmat::cli::run_cli(args, std::cout, std::cerr);
  std::cout.flush();
  return std::cout.good() ? status : 2;
}
