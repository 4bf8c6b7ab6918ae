// The `convmat-mpi` command: `mpirun -n N convmat-mpi apply|deconv|analyze ...`, convmat's
// commands on a W distributed over N ranks (cli/mpi/commands.hpp). PETSc's own options
// (-log_view, ...) go in the PETSC_OPTIONS environment variable.
#include <petscsys.h>

#include <algorithm>
#include <iostream>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include "convmat/distributed/environment.hpp"
#include "convmat/distributed/memory_guard.hpp"
#include "json.hpp"
#include "mpi/mpi_commands.hpp"

namespace convmat::cli::mpi {

namespace distributed = ::convmat::distributed;

MPI_Comm comm() { return PETSC_COMM_WORLD; }

MemoryLimit rank_memory_limit(const std::optional<ByteSize>& max_memory) {
  MemoryLimit m = distributed::default_rank_memory_limit(comm());
  if (max_memory) {
    m.bytes = max_memory->bytes;
    m.source = "--max-memory " + max_memory->text + " per rank";
  }
  m.raise = "raise it with --max-memory SIZE (per rank), or use more ranks";
  m.method_format = "--method {}";
  return m;
}

void require_same_on_every_rank(const std::string& what) {
  std::string first = what;
  unsigned long length = first.size();
  distributed::check_mpi(MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG, 0, comm()), "MPI_Bcast");
  first.resize(length);
  distributed::check_mpi(MPI_Bcast(first.data(), static_cast<int>(length), MPI_CHAR, 0, comm()),
                         "MPI_Bcast");
  distributed::collectively(comm(), [&] {
    if (what != first) {
      throw UsageError("the ranks read different inputs: this rank has " + what + ", rank 0 has " +
                       first + " (every rank must see the same files)");
    }
  });
}

LayerDescription mpi_layer_from(const LayerFlags& flags, const DataFlags& data,
                                const std::optional<NpyInput>& input,
                                const std::optional<NpyInput>& weight,
                                const std::optional<NpyInput>& bias) {
  LayerDescription layer = layer_from(flags, data, input, weight, bias);
  const LayerCall& call = layer.call;
  if (call.has_layouts() || !call.weight_shape_given.empty()) {
    auto name = [](const Layout& l) {
      return l.format().empty() ? "a permuted layout" : l.format();
    };
    throw UsageError(
        "convmat-mpi reads and writes convmat's own layouts only (data (N, C, *spatial), PyTorch's "
        "weight layout); this layer's tensors are in other layouts (input " +
        name(call.input_layout) + ", weight " + name(call.weight_layout) + ", output " +
        name(call.output_layout) +
        ", from --data-format/--weight-format or the op's convention): convert them, e.g. with "
        "numpy.transpose, and give convmat's layouts");
  }
  return layer;
}

std::string layer_fingerprint(const LayerDescription& layer,
                              std::initializer_list<const std::optional<NpyInput>*> files) {
  std::string s = layer.call.spec.to_string() + ", data";
  // Not the paths: ranks on different machines may read the same data under other names.
  for (const std::optional<NpyInput>* f : files) {
    if (*f) s += ", " + dims_to_tuple((*f)->header.shape) + " " + (*f)->header.type_name();
  }
  return s;
}

namespace {

const std::vector<const CommandDecl*>& mpi_commands() {
  static const std::vector<const CommandDecl*> list{&apply_command, &deconv_command,
                                                    &analyze_command};
  return list;
}

std::string program_help() {
  std::ostringstream s;
  s << "usage: mpirun -n N convmat-mpi <command> [options]\n\n"
       "convmat's commands on the layer's matrix W distributed over N MPI ranks (PETSc), a slab "
       "of\n"
       "positions per rank; each rank reads and writes only its own part of the .npy files.\n\n"
       "commands:\n";
  for (const CommandDecl* c : mpi_commands())
    s << "  " << c->name << std::string(10 - c->name.size(), ' ') << c->summary << "\n";
  s << "\nconvmat-mpi <command> --help describes a command (its flags are convmat's).\n"
       "PETSc's options (-log_view, ...) go in the environment variable PETSC_OPTIONS.\n"
       "exit status: 0 ok, 1 a computation did not converge, 2 usage or input error (on every "
       "rank).\n";
  return s.str();
}

int run(const std::vector<std::string>& args, Context& ctx) {
  const bool json = std::find(args.begin(), args.end(), "--json") != args.end();
  // Every rank gets the same arguments, so parsing fails or succeeds on all of them alike; the
  // commands agree on everything else. The message goes to every rank's stderr.
  const auto fail = [&](const std::string& prefix, const std::string& what) {
    std::cerr << prefix << what << "\n";
    if (json) ctx.out << json_text(Json{{"error", what}, {"exit_status", exit_usage}}) << "\n";
    return static_cast<int>(exit_usage);
  };
  if (args.empty()) {
    std::cerr << program_help();
    return exit_usage;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    ctx.out << program_help();
    return exit_ok;
  }
  const auto& list = mpi_commands();
  const auto named = std::find_if(list.begin(), list.end(),
                                  [&](const CommandDecl* c) { return c->name == args[0]; });
  if (named == list.end()) return fail("convmat-mpi: ", "unknown command '" + args[0] + "'");
  const std::string prefix = "convmat-mpi " + args[0] + ": ";
  try {
    CLI::App app("", "convmat-mpi");
    app.set_help_flag();
    app.require_subcommand(1);
    CLI::App* sub = app.add_subcommand(std::string((*named)->name));
    sub->add_flag_function(
           "-h,--help", [](std::int64_t) { throw CLI::CallForHelp(); }, "describe the command")
        ->trigger_on_parse();
    const Runner runner = (*named)->declare(*sub);
    // Agreed like every other step: ranks started with different arguments (mpirun's
    // "-n 1 A : -n 1 B") must not leave one rank waiting for another that stopped here.
    bool help = false;
    distributed::collectively(comm(), [&] {
      try {
        std::vector<std::string> reversed(args.rbegin(), args.rend());
        app.parse(reversed);
      } catch (const CLI::CallForHelp&) {
        help = true;
      } catch (const CLI::ParseError& e) {
        throw UsageError(e.what());
      }
    });
    if (help) {
      ctx.out << sub->help();
      return exit_ok;
    }
    return runner(ctx);
  } catch (const std::bad_alloc&) {
    return fail(prefix, "out of memory (use more ranks, or check --max-memory)");
  } catch (const std::exception& e) {
    return fail(prefix, e.what());
  }
}

}  // namespace

int program(int argc, char** argv) {
  int status = 2;
  {
    // PETSc's options from PETSC_OPTIONS only: the command line is convmat's.
    convmat::distributed::Session session(nullptr, nullptr);
    const int rank = convmat::distributed::rank_of(PETSC_COMM_WORLD);
    std::ostringstream discard;
    convmat::cli::Context ctx{rank == 0 ? std::cout : discard, rank == 0 ? std::cerr : discard};
    const std::vector<std::string> args(argv + 1, argv + argc);
    status = convmat::cli::mpi::run(args, ctx);
    std::cout.flush();
    if (!std::cout.good()) status = 2;
  }
  return status;
}

}  // namespace convmat::cli::mpi
