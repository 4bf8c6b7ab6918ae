#pragma once
// The field lists of convmat's results. Next to each result struct (SingularValues, CheckReport,
// LsqInfo, …) a function
//   template <class Visit> void for_each_field(const Result& r, Visit&& visit);
// calls visit(name, value) once per field, in order: the one list of the result's fields that
// every front end reads — the Python module turns it into a dict and then its dataclass, the
// command line into JSON keys. A field may be derived (a value that is absent: std::optional) and
// its name is the one the front ends show, usually the member's.
//
// Values are bool, Index, int, double, std::string (or string_view), Dims, std::optional and
// std::variant of those, enums with a to_string (statuses, methods, precisions), Eigen vectors and
// matrices, std::vector of numbers, of strings or of results, other results, and ShapedValues
// below.

#include <optional>
#include <type_traits>
#include <variant>
#include <vector>

#include "convmat/core/index.hpp"

namespace convmat {

// A C-order array with its shape, e.g. a checkerboard's tap counts over the output positions:
// Python makes it an ndarray of that shape (None when empty), JSON a flat list.
template <class T>
struct ShapedValues {
  const std::vector<T>& values;
  Dims shape;
};

// What the front ends' adapters (Python's to_dict, the command line's write_fields) tell apart.
namespace fields {

template <class T>
inline constexpr bool is_vector = false;
template <class T>
inline constexpr bool is_vector<std::vector<T>> = true;
template <class T>
inline constexpr bool is_optional = false;
template <class T>
inline constexpr bool is_optional<std::optional<T>> = true;
template <class T>
inline constexpr bool is_variant = false;
template <class... T>
inline constexpr bool is_variant<std::variant<T...>> = true;
template <class T>
inline constexpr bool is_shaped = false;
template <class T>
inline constexpr bool is_shaped<ShapedValues<T>> = true;
// A result: it has a field list.
template <class T>
concept Result = requires(const T& t) {
  for_each_field(t, [](const char*, const auto&) {});
};
// An enum with a to_string: a status, a method, a precision.
template <class T>
concept Named = std::is_enum_v<T> && requires(T t) {
  to_string(t);
};

}  // namespace fields

}  // namespace convmat
