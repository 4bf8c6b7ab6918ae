#pragma once
// What every least-squares solver object holds: its options (validated when set) and the report
// of its last compute or solve. Not public API: use QrSolver, CholeskySolver, LsqrSolver,
// LsmrSolver.

#include <exception>
#include <string>

#include "convmat/solve/lsq_types.hpp"

namespace convmat::detail {

// The progress callback, if any: false means "cancel".
inline bool keep_going(const LsqOptions& options, const LsqProgress& p) {
  return !options.progress || options.progress(p);
}

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
  // Asks the progress callback before a phase of a direct solver; when it says stop, the report
  // says cancelled "before the <what>" and the answer is false.
  bool proceed(const LsqProgress& p, const char* what) {
    if (keep_going(options_, p)) return true;
    info_.status = LsqStatus::cancelled;
    info_.message = std::string("cancelled by the progress callback before the ") + what;
    return false;
  }
  // SuiteSparse failed (out of memory, …): the report says numerical_issue with its message.
  void report_failure(const std::exception& e) {
    info_.status = LsqStatus::numerical_issue;
    info_.message = e.what();
  }

  LsqOptions options_;
  LsqInfo info_;
};

}  // namespace convmat::detail
