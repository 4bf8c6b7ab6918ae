// `convmat-mpi` with a stop in the middle of every output: rank 0, right after it wrote the header
// into its temporary file (its signal handlers installed, the other ranks waiting for the file's
// name), stops itself (SIGSTOP). test_cli_mpi.py's interrupt tests wait for the stop, send the
// signal under test and SIGCONT, so the signal arrives while the output is unfinished on every
// run, however loaded the machine is.
#include <csignal>

#include "mpi/mpi_commands.hpp"
#include "output_file.hpp"

int main(int argc, char** argv) {
  convmat::cli::after_first_write = [] { std::raise(SIGSTOP); };
  return convmat::cli::mpi::program(argc, argv);
}
