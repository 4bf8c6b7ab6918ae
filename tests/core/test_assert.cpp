// CONVMAT_ASSERT (core/detail/assert.hpp): on in Debug builds, off in Release builds, where the
// condition is not even evaluated. (That a failed assertion stops the program with its message is
// checked by assert_failure.cpp, one CTest per broken invariant.)
#define BOOST_TEST_MODULE assert
#include <boost/test/unit_test.hpp>

#include "convmat/core/detail/assert.hpp"

BOOST_AUTO_TEST_CASE(on_exactly_without_ndebug) {
#if defined(NDEBUG) && !defined(CONVMAT_ASSERTIONS) && !defined(__SANITIZE_ADDRESS__)
  BOOST_TEST(!convmat::detail::assertions_enabled);
#else
  BOOST_TEST(convmat::detail::assertions_enabled);
#endif
}

BOOST_AUTO_TEST_CASE(the_condition_is_evaluated_only_when_on) {
  int evaluated = 0;
  auto first_evaluation = [&] { return ++evaluated == 1; };
  CONVMAT_ASSERT(first_evaluation(), "counts its evaluations");
  BOOST_TEST(evaluated == (convmat::detail::assertions_enabled ? 1 : 0));
}
