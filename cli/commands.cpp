#include "commands.hpp"

#include <algorithm>
#include <new>
#include <ostream>
#include <sstream>

#include "json.hpp"

namespace convmat::cli {

const std::vector<const CommandDecl*>& command_list() {
  static const std::vector<const CommandDecl*> list{
      &demo_command,  &shape_command,    &apply_command,   &matrix_command,
      &check_command, &diagnose_command, &analyze_command, &deconv_command};
  return list;
}

namespace {

// ---------------------------------------------------------------------------------------------
// Help: "usage: convmat NAME [options]", the description, the options (help wrapped at 100
// columns, indented at column 32), then the footer (formulas, examples).

class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_help(const CLI::App* app, std::string, CLI::AppFormatMode) const override {
    std::vector<const CLI::Option*> options;
    for (const CLI::Option* o : app->get_options()) {
      if (o->get_name() != "--help") options.push_back(o);
    }
    std::ostringstream s;
    s << "usage: convmat " << app->get_name() << (options.empty() ? "" : " [options]") << "\n\n"
      << app->get_description() << "\n";
    if (!options.empty()) {
      s << "\noptions:\n";
      for (const CLI::Option* o : options) s << option_line(*o);
      s << "  --help, -h                    describe the command\n";
    }
    if (!app->get_footer().empty()) s << "\n" << app->get_footer();
    return s.str();
  }

 private:
  static std::string option_line(const CLI::Option& o) {
    std::string left = "  ";
    for (const std::string& n : o.get_lnames()) left += (left.size() > 2 ? ", --" : "--") + n;
    for (const std::string& n : o.get_snames()) left += ", -" + n;
    if (o.get_type_size() != 0) left += " " + o.get_type_name();
    std::ostringstream s;
    s << left;
    std::size_t column = left.size();
    if (column >= 31) {
      s << "\n" << std::string(32, ' ');
    } else {
      s << std::string(32 - column, ' ');
    }
    column = 32;
    std::istringstream words{o.get_description()};
    std::string word;
    bool first = true;
    while (words >> word) {
      if (!first && column + 1 + word.size() > 100) {
        s << "\n" << std::string(32, ' ');
        column = 32;
      } else if (!first) {
        s << ' ';
        ++column;
      }
      s << word;
      column += word.size();
      first = false;
    }
    s << "\n";
    return s.str();
  }
};

// ---------------------------------------------------------------------------------------------
// CLI11's parse errors in the words of the command line: the flag, the value, where to look.

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string unexpected(CommandLine& cl, const CLI::App& sub) {
  const std::string name = sub.get_name();
  const std::string where = "'convmat " + name + "'";
  const std::vector<std::string> extras = cl.app.remaining(true);
  const std::string arg = extras.empty() ? std::string() : extras.front();
  if (arg.size() < 2 || arg[0] != '-')
    return "unexpected argument '" + arg + "' for " + where + " (options start with --)";
  const std::string flag = arg.substr(0, arg.find('='));
  for (const auto& [other, runner] : cl.commands) {
    if (other != &sub && other->get_option_no_throw(flag)) {
      return "option " + flag + " does not apply to " + where + "; see convmat " + name + " --help";
    }
  }
  std::string suggestion;
  std::size_t best = 3;
  const std::string given = flag.substr(flag.find_first_not_of('-'));
  for (const CLI::Option* o : sub.get_options()) {
    for (const std::string& n : o->get_lnames()) {
      const std::size_t d = edit_distance(given, n);
      if (d < best) {
        best = d;
        suggestion = n;
      }
    }
  }
  return "unknown option '" + flag + "' for " + where +
         (suggestion.empty() ? "" : " (did you mean --" + suggestion + "?)") + "; see convmat " +
         name + " --help";
}

std::string usage_message(const CLI::ParseError& e, CommandLine& cl, const CLI::App& sub) {
  const std::string what = e.what();
  if (dynamic_cast<const CLI::ExtrasError*>(&e)) return unexpected(cl, sub);
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e)) {
    std::string flag = what.substr(0, what.find_first_of(": "));
    if (flag.rfind('-', 0) != 0) flag = (flag.size() == 1 ? "-" : "--") + flag;
    if (what.find(": At Most ") != std::string::npos) return "option " + flag + " is given twice";
    if (what.find("disallowed flag override") != std::string::npos)
      return "option " + flag + " takes no value";
    if (what.size() > 8 && what.compare(what.size() - 8, 8, " missing") == 0) {
      const CLI::Option* o = sub.get_option_no_throw(flag);
      return "option " + flag + " needs a value" + (o ? " (" + o->get_type_name() + ")" : "");
    }
  }
  const auto between = [&](const std::string& word, const std::string& before,
                           const std::string& middle, const std::string& after) {
    const std::size_t at = what.find(word);
    return before + what.substr(0, at) + middle + what.substr(at + word.size()) + after;
  };
  if (dynamic_cast<const CLI::ExcludesError*>(&e))
    return between(" excludes ", "give ", " or ", ", not both");
  if (dynamic_cast<const CLI::RequiresError*>(&e))
    return between(" requires ", "", " goes with ", "");
  return what;
}

}  // namespace

CommandLine::CommandLine() : app("", "convmat") {
  app.set_help_flag();
  app.require_subcommand(1);
  app.formatter(std::make_shared<HelpFormatter>());
  for (const CommandDecl* c : command_list()) {
    CLI::App* sub = app.add_subcommand(std::string(c->name));
    sub->add_flag_function(
           "-h,--help", [](std::int64_t) { throw CLI::CallForHelp(); }, "describe the command")
        ->trigger_on_parse();
    commands.emplace_back(sub, c->declare(*sub));
  }
}

std::string program_help() {
  std::ostringstream s;
  s << "usage: convmat <command> [options]\n\n"
       "A verification oracle for convolution layers: the layer as an explicit sparse matrix W\n"
       "(convolution = W x, transposed convolution = W^T y) with PyTorch's and ONNX's "
       "semantics.\n\n"
       "commands:\n";
  for (const CommandDecl* c : command_list()) {
    s << "  " << c->name << std::string(10 - c->name.size(), ' ') << c->summary << "\n";
  }
  s << "\nconvmat <command> --help describes a command.\n"
       "exit status: 0 ok, 1 the check found a disagreement (check, diagnose, demo) or a "
       "computation did\n"
       "not converge (deconv, analyze), 2 usage or input error.\n";
  return s.str();
}

std::string command_help(std::string_view name) {
  CommandLine cl;
  return cl.app.get_subcommand(std::string(name))->help();
}

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Context ctx{out, err};
  if (args.empty()) {
    err << program_help();
    return exit_usage;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    out << program_help();
    return exit_ok;
  }
  const auto& list = command_list();
  const auto named = [&](const std::string& a) {
    return std::find_if(list.begin(), list.end(),
                        [&](const CommandDecl* c) { return c->name == a; });
  };
  // Errors are JSON too with --json, also those of the flags and of the command's name.
  const bool json = std::find(args.begin(), args.end(), "--json") != args.end();
  const auto usage_error = [&](const std::string& prefix, const std::string& what) {
    err << prefix << what << "\n";
    if (json) out << json_text(Json{{"error", what}, {"exit_status", exit_usage}}) << "\n";
    return exit_usage;
  };
  if (named(args[0]) == list.end()) {
    std::string what = "unknown command '" + args[0] + "'";
    if (args[0].rfind("-", 0) == 0) {  // an option before the command
      what = "the command must come first, got '" + args[0] + "'";
      for (const std::string& a : args) {
        if (named(a) != list.end()) what += " before '" + a + "'";
      }
    }
    err << "convmat: " << what << "\n\n" << program_help();
    if (json) out << json_text(Json{{"error", what}, {"exit_status", exit_usage}}) << "\n";
    return exit_usage;
  }
  const std::string prefix = "convmat " + args[0] + ": ";
  try {
    CommandLine cl;
    const auto command = std::find_if(cl.commands.begin(), cl.commands.end(), [&](const auto& c) {
      return c.first->get_name() == args[0];
    });
    try {
      std::vector<std::string> reversed(args.rbegin(), args.rend());
      cl.app.parse(reversed);
    } catch (const CLI::CallForHelp&) {
      out << command->first->help();
      return exit_ok;
    } catch (const CLI::ParseError& e) {
      return usage_error(prefix, usage_message(e, cl, *command->first));
    }
    return command->second(ctx);
  } catch (const std::bad_alloc&) {
    err << prefix << "out of memory (lower the problem size, or check --max-memory)\n";
    if (json)
      out << json_text(Json{{"error", "out of memory"}, {"exit_status", exit_usage}}) << "\n";
    return exit_usage;
  } catch (const std::exception& e) {
    return usage_error(prefix, e.what());
  }
}

}  // namespace convmat::cli
