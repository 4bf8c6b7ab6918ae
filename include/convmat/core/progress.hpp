#pragma once
// Progress: one line on the terminal that rewrites itself while a long build or solve runs,
//   building W (6.0e+08 nonzeros): 42%          …while it runs (redrawn with '\r'),
//   building W (6.0e+08 nonzeros): 100% in 1.3 s   …and once at the end, with a newline,
// written to stderr only when stderr is a terminal, so that pipes, logs and tests stay silent.
// Nothing is printed for work that ends within `delay` (0.5 s by default).
//
// advance() may be called from any thread (parallel loops report their chunks); it costs one
// atomic add and one clock read, and redraws at most every `interval` seconds.
//
//   Progress p("building W", rows);               // total 0: an open count ("1200 done")
//   #pragma omp parallel for  ...  p.advance(chunk);
//   p.status("residual 3.2e-09");                 // optional text after the count
//   p.finish();                                   // or let the destructor do it

#include <atomic>
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <mutex>
#include <string>

namespace convmat {

class Progress {
 public:
  // Reports on stderr when it is a terminal; otherwise does nothing at all.
  Progress(std::string label, std::int64_t total);
  // Reports on `sink` (tests, or a log that wants it) — the same lines a terminal would get.
  Progress(std::string label, std::int64_t total, std::ostream& sink, double delay = 0.5,
           double interval = 0.1);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // True when this reporter writes anywhere (callers may skip work that only feeds it).
  bool active() const { return sink_ != nullptr; }
  void advance(std::int64_t n = 1);
  void status(std::string text);
  // Draws the final line with the elapsed time and a newline, if anything was drawn. Idempotent.
  void finish();

  static bool stderr_is_terminal();

 private:
  using Clock = std::chrono::steady_clock;
  void draw(bool final);  // holds mutex_

  std::string label_;
  std::int64_t total_;
  std::ostream* sink_ = nullptr;
  Clock::time_point start_;
  std::int64_t delay_ns_, interval_ns_;
  std::atomic<std::int64_t> done_{0};
  std::atomic<std::int64_t> next_draw_ns_;
  std::mutex mutex_;
  std::string status_;
  std::size_t last_width_ = 0;
  bool drawn_ = false, finished_ = false;
};

}  // namespace convmat
