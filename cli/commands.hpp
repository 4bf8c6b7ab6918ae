#pragma once
// The subcommands of `convmat`: one table, each entry a name, its help and its options, and the
// function that runs it. Adding a command is one entry and one function.
//
// Exit status of every command: 0 ok, 1 the check found a disagreement (check, diagnose, demo),
// 2 usage or input error (the message is on stderr, and with --json also on stdout).

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "options.hpp"

namespace convmat::cli {

enum ExitStatus { exit_ok = 0, exit_disagreement = 1, exit_usage = 2 };

struct Context {
  std::ostream& out;
  std::ostream& err;
};

struct Command {
  std::string_view name;
  std::string_view summary;      // one line for `convmat --help`
  std::string_view description;  // the paragraph(s) after the usage line
  std::vector<Opt> options;      // accepted options, in help order (--help is always accepted)
  std::string_view details;      // after the options: formulas, examples
  int (*run)(const Arguments& args, Context& ctx);
};

const std::vector<Command>& command_table();

// The help text of one command, and of the program.
std::string command_help(const Command& c);
std::string program_help();

// Runs `convmat args...` (args without the program name); returns the exit status.
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace convmat::cli
