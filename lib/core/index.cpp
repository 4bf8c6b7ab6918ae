#include "convmat/core/index.hpp"

namespace convmat {

namespace {

std::string joined(const Dims& dims, std::string_view separator) {
  std::string s;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i) s += separator;
    s += std::to_string(dims[i]);
  }
  return s;
}

}  // namespace

std::string dims_to_string(const Dims& dims, std::string_view separator) {
  return joined(dims, separator);
}

std::string dims_to_list(const Dims& dims) { return "[" + joined(dims, ", ") + "]"; }

std::string dims_to_tuple(const Dims& dims) {
  return "(" + joined(dims, ", ") + (dims.size() == 1 ? ",)" : ")");
}

Dims unravel_index(Index flat, const Dims& shape) {
  Dims index(shape.size());
  for (std::size_t a = shape.size(); a-- > 0;) {
    index[a] = shape[a] ? flat % shape[a] : 0;
    flat = shape[a] ? flat / shape[a] : 0;
  }
  return index;
}

}  // namespace convmat
