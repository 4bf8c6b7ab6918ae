#pragma once
// The MPI test suites' global fixture: PETSc and SLEPc for the whole run (every rank runs every
// test case in the same order, so their collective calls meet), with PETSc's options taken from
// the command line (e.g. -log_view). Random layers come from test_util.hpp's seeded generator,
// which draws the same sequence on every rank.

#include <boost/test/unit_test.hpp>
#include <memory>

#include "convmat/distributed/environment.hpp"

struct MpiSession {
  MpiSession() {
    auto& suite = boost::unit_test::framework::master_test_suite();
    session = std::make_unique<convmat::distributed::Session>(&suite.argc, &suite.argv);
  }
  std::unique_ptr<convmat::distributed::Session> session;
};
