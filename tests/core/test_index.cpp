// Dims as text: the three forms of index.hpp, and unravel_index.
#define BOOST_TEST_MODULE index
#include <boost/test/unit_test.hpp>

#include "convmat/core/index.hpp"

using namespace convmat;

BOOST_AUTO_TEST_CASE(dims_as_text) {
  BOOST_TEST(dims_to_string({3, 3}) == "3x3");
  BOOST_TEST(dims_to_string({1, 2, 3}, " x ") == "1 x 2 x 3");
  BOOST_TEST(dims_to_list({1, -2, 3}) == "[1, -2, 3]");
  BOOST_TEST(dims_to_list({}) == "[]");
  // Python's tuples: a trailing comma for one element, none otherwise.
  BOOST_TEST(dims_to_tuple({1, 16, 4, 4}) == "(1, 16, 4, 4)");
  BOOST_TEST(dims_to_tuple({5}) == "(5,)");
  BOOST_TEST(dims_to_tuple({}) == "()");
}

BOOST_AUTO_TEST_CASE(unravel_index_is_c_order) {
  const Dims shape{2, 3, 4};
  Index flat = 0;
  for (Index a = 0; a < 2; ++a)
    for (Index b = 0; b < 3; ++b)
      for (Index c = 0; c < 4; ++c, ++flat)
        BOOST_TEST(unravel_index(flat, shape) == (Dims{a, b, c}), boost::test_tools::per_element());
}
