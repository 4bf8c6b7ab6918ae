// Progress: the lines it draws on a sink, its silence elsewhere, and concurrent advance().
#define BOOST_TEST_MODULE progress
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <thread>
#include <vector>

#include "convmat/core/progress.hpp"

using convmat::Progress;

namespace {

// The lines drawn so far: the text between carriage returns, without the trailing padding.
std::vector<std::string> drawn(const std::string& out) {
  std::vector<std::string> lines;
  std::stringstream in(out);
  std::string part;
  while (std::getline(in, part, '\r')) {
    if (part.empty()) continue;
    while (!part.empty() && (part.back() == ' ' || part.back() == '\n')) part.pop_back();
    lines.push_back(part);
  }
  return lines;
}

}  // namespace

BOOST_AUTO_TEST_CASE(percent_lines_then_a_final_line) {
  std::ostringstream sink;
  {
    Progress p("building W", 200, sink, /*delay*/ 0, /*interval*/ 0);
    BOOST_TEST(p.active());
    p.advance(50);
    p.advance(50);
    p.status("step 2");
    p.advance(100);
    BOOST_TEST(sink.str().find('\n') == std::string::npos);  // one line, redrawn in place
  }                                                          // the destructor finishes
  const auto lines = drawn(sink.str());
  BOOST_TEST_REQUIRE(lines.size() == 4u);
  BOOST_TEST(lines[0] == "building W: 25%");
  BOOST_TEST(lines[1] == "building W: 50%");
  BOOST_TEST(lines[2] == "building W: 100%  step 2");
  BOOST_TEST(lines[3].rfind("building W: 100%  step 2 in ", 0) == 0);
  BOOST_TEST(lines[3].substr(lines[3].size() - 2) == " s");
  const std::string out = sink.str();
  BOOST_TEST(out.back() == '\n');
  BOOST_TEST(std::count(out.begin(), out.end(), '\n') == 1);
}

BOOST_AUTO_TEST_CASE(open_count_and_a_shorter_line_wipes_the_longer_one) {
  std::ostringstream sink;
  Progress p("lsqr", 0, sink, 0, 0);
  p.status("residual 1.0e-03");
  p.advance(7);
  p.status("");
  p.advance(5);
  p.finish();
  p.finish();  // idempotent
  const std::string out = sink.str();
  const auto lines = drawn(out);
  BOOST_TEST_REQUIRE(lines.size() == 3u);
  BOOST_TEST(lines[0] == "lsqr: 7 done  residual 1.0e-03");
  BOOST_TEST(lines[1] == "lsqr: 12 done");
  // The second draw pads with spaces up to the first's width, so no old characters remain.
  const std::size_t second = out.find('\r', 1);
  const std::size_t third = out.find('\r', second + 1);
  BOOST_TEST(third - second - 1 == lines[0].size());
}

BOOST_AUTO_TEST_CASE(quick_work_stays_silent) {
  std::ostringstream sink;
  {
    Progress p("building W", 10, sink, /*delay*/ 60, /*interval*/ 0);
    p.advance(10);
  }
  BOOST_TEST(sink.str().empty());
}

BOOST_AUTO_TEST_CASE(silent_when_stderr_is_not_a_terminal) {
  BOOST_TEST(Progress::stderr_is_terminal() == (isatty(STDERR_FILENO) == 1));
  Progress p("building W", 10);
  BOOST_TEST(p.active() == Progress::stderr_is_terminal());
}

BOOST_AUTO_TEST_CASE(concurrent_advances_are_all_counted) {
  std::ostringstream sink;
  {
    Progress p("parallel", 4 * 10000, sink, 0, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&p] {
        for (int i = 0; i < 10000; ++i) p.advance(1);
      });
    }
    for (auto& t : threads) t.join();
  }
  const auto lines = drawn(sink.str());
  BOOST_TEST_REQUIRE(!lines.empty());
  BOOST_TEST(lines.back().rfind("parallel: 100% in ", 0) == 0);
}
