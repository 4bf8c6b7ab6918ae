// `convmat-mpi`: main.cpp's program (mpi_commands.hpp).
#include "mpi/mpi_commands.hpp"

int main(int argc, char** argv) { return convmat::cli::mpi::program(argc, argv); }
