#include "convmat/core/progress.hpp"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <sstream>

namespace convmat {

namespace {

std::int64_t to_ns(double seconds) { return static_cast<std::int64_t>(seconds * 1e9); }

}  // namespace

bool Progress::stderr_is_terminal() { return isatty(STDERR_FILENO) == 1; }

Progress::Progress(std::string label, std::int64_t total)
    : Progress(std::move(label), total, std::cerr) {
  if (!stderr_is_terminal()) sink_ = nullptr;
}

Progress::Progress(std::string label, std::int64_t total, std::ostream& sink, double delay,
                   double interval)
    : label_(std::move(label)),
      total_(total),
      sink_(&sink),
      start_(Clock::now()),
      delay_ns_(to_ns(delay)),
      interval_ns_(to_ns(interval)),
      next_draw_ns_(to_ns(delay)) {}

Progress::~Progress() { finish(); }

void Progress::advance(std::int64_t n) {
  if (!sink_) return;
  done_.fetch_add(n, std::memory_order_relaxed);
  const std::int64_t now = (Clock::now() - start_).count();
  std::int64_t due = next_draw_ns_.load(std::memory_order_relaxed);
  // One thread wins the right to draw this time; the others go on without waiting.
  if (now < due || !next_draw_ns_.compare_exchange_strong(due, now + interval_ns_)) return;
  std::unique_lock lock(mutex_, std::try_to_lock);
  if (lock.owns_lock() && !finished_) draw(false);
}

void Progress::status(std::string text) {
  if (!sink_) return;
  std::lock_guard lock(mutex_);
  status_ = std::move(text);
}

void Progress::finish() {
  if (!sink_) return;
  std::lock_guard lock(mutex_);
  if (finished_) return;
  finished_ = true;
  const bool late = (Clock::now() - start_).count() >= delay_ns_;
  if (drawn_ || late) draw(true);
}

void Progress::draw(bool final) {
  std::ostringstream line;
  const std::int64_t done = done_.load(std::memory_order_relaxed);
  line << label_ << ": ";
  if (total_ > 0) {
    line << (done >= total_ ? 100 : done * 100 / total_) << '%';
  } else {
    line << done << " done";
  }
  if (!status_.empty()) line << "  " << status_;
  if (final) {
    char elapsed[32];
    std::snprintf(elapsed, sizeof elapsed, " in %.1f s",
                  std::chrono::duration<double>(Clock::now() - start_).count());
    line << elapsed;
  }
  std::string text = line.str();
  const std::size_t width = text.size();
  if (width < last_width_) text.append(last_width_ - width, ' ');  // wipe a longer old line
  last_width_ = width;
  *sink_ << '\r' << text << (final ? "\n" : "") << std::flush;
  drawn_ = true;
}

}  // namespace convmat
