#pragma once
// The subcommands of `convmat`. Each lives in its own file with its help texts, its flags
// (declared with CLI11, shared option sets from flags.hpp) and the function that runs it, and
// is one entry of command_list(). Adding a command is one file and one entry.
//
// Exit status of every command: 0 ok, 1 the check found a disagreement (check, diagnose, demo) or
// a numerical computation did not converge (deconv's solver, analyze's singular values), 2 usage
// or input error (the message is on stderr, and with --json also on stdout).

#include <CLI/CLI.hpp>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "flags.hpp"

namespace convmat::cli {

enum ExitStatus { exit_ok = 0, exit_disagreement = 1, exit_not_converged = 1, exit_usage = 2 };

struct Context {
  std::ostream& out;
  std::ostream& err;
};

// Runs a command whose flags have been parsed; returns the exit status.
using Runner = std::function<int(Context&)>;

struct CommandDecl {
  std::string_view name;
  std::string_view summary;  // one line for `convmat --help`
  // Sets the subcommand's description and footer (its help), declares its flags bound to flag
  // values of its own, and returns what runs it with them.
  Runner (*declare)(CLI::App& sub);
};

extern const CommandDecl demo_command, shape_command, apply_command, matrix_command, check_command,
    diagnose_command, analyze_command, deconv_command;

// Every command, in the order of `convmat --help`.
const std::vector<const CommandDecl*>& command_list();

// The command line: the CLI11 app with every command, each with its runner.
struct CommandLine {
  CLI::App app;
  std::vector<std::pair<CLI::App*, Runner>> commands;
  CommandLine();
};

// The help of the program, and of one command (as `convmat NAME --help` prints it).
std::string program_help();
std::string command_help(std::string_view name);

// Runs `convmat args...` (args without the program name); returns the exit status.
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace convmat::cli
