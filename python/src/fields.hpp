#pragma once
// The library's result field lists (convmat/core/fields.hpp) as Python values: to_dict(result)
// fills a dict field by field through for_each_field, so that a result's fields are listed once,
// in C++, and the Python dataclasses are built from the dict (convmat/*.py).
//
// bool, integers, doubles, strings → Python's; std::optional → None or the value; Dims → a tuple;
// Eigen vectors and matrices and std::vector<double> → ndarrays; ShapedValues → an ndarray of its
// shape (None when empty); enums → their to_string; std::vector of results → a list of dicts,
// of strings → a list, of vectors → a list of ndarrays; a result → a dict.

#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "convmat/core/fields.hpp"

namespace convmat::python {

namespace py = pybind11;

template <class T>
py::object to_python(const T& value);

template <class T>
py::dict to_dict(const T& result) {
  py::dict d;
  for_each_field(result, [&](const char* name, const auto& value) { d[name] = to_python(value); });
  return d;
}

namespace detail {

template <class T>
py::array array_of(const std::vector<T>& v, const Dims& shape) {
  py::array_t<T> a(std::vector<py::ssize_t>(shape.begin(), shape.end()));
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

}  // namespace detail

template <class T>
py::object to_python(const T& value) {
  if constexpr (std::is_same_v<T, bool> || std::is_arithmetic_v<T> ||
                std::is_same_v<T, std::string>) {
    return py::cast(value);
  } else if constexpr (std::is_same_v<T, std::string_view>) {
    return py::str(value.data(), value.size());
  } else if constexpr (fields::is_variant<T>) {
    return std::visit([](const auto& v) { return to_python(v); }, value);
  } else if constexpr (fields::Named<T>) {
    return py::str(to_string(value));
  } else if constexpr (fields::is_optional<T>) {
    return value ? to_python(*value) : py::object(py::none());
  } else if constexpr (std::is_same_v<T, Dims>) {
    return py::tuple(py::cast(value));
  } else if constexpr (fields::is_shaped<T>) {
    if (value.values.empty()) return py::none();
    return detail::array_of(value.values, value.shape);
  } else if constexpr (fields::Result<T>) {
    return to_dict(value);
  } else if constexpr (fields::is_vector<T>) {
    using Item = typename T::value_type;
    if constexpr (std::is_arithmetic_v<Item>) {
      return detail::array_of(value, Dims{static_cast<Index>(value.size())});
    } else {
      py::list list;
      for (const Item& item : value) list.append(to_python(item));
      return list;
    }
  } else {  // Eigen vectors and matrices: copied into an ndarray
    return py::cast(value);
  }
}

}  // namespace convmat::python
