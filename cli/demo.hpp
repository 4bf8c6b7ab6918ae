#pragma once

namespace convmat::cli {

// Prints the seeds' worked examples computed by W and by the loops, with a verdict for each.
// Returns 0 when every example agrees with its seed, 1 otherwise.
int run_demo();

}  // namespace convmat::cli
