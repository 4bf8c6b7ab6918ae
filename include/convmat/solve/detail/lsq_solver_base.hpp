#pragma once
// What every least-squares solver object holds: its options (validated when set) and the report
// of its last compute or solve. Not public API: use QrSolver, CholeskySolver, LsqrSolver,
// LsmrSolver.

#include "convmat/solve/lsq_types.hpp"

namespace convmat::detail {

class LsqSolverBase {
 public:
  const LsqOptions& options() const { return options_; }
  LsqStatus info() const { return info_.status; }  // of the last compute or solve
  const LsqInfo& report() const { return info_; }  // the full report of the same

 protected:
  explicit LsqSolverBase(const LsqOptions& options) { assign(options); }
  void assign(const LsqOptions& options) {
    validate(options);
    options_ = options;
  }
  // A fresh report for `method`.
  void reset_report(LsqMethod method) {
    info_ = LsqInfo{};
    info_.method = method;
  }

  LsqOptions options_;
  LsqInfo info_;
};

}  // namespace convmat::detail
