#pragma once
// JSON through nlohmann::json (ordered: keys in the order written). The library's results are
// converted in one place, here, through their field lists (convmat/core/fields.hpp): each field
// a key, a result an object. Lists of numbers longer than json_array_limit (a checkerboard's tap
// counts over a large output) are left out, key and all. Non-finite numbers, which JSON cannot
// represent, are written as null (nlohmann::json's dump does so).

#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <variant>

#include "convmat/core/fields.hpp"

namespace convmat::cli {

using Json = nlohmann::ordered_json;

inline constexpr std::size_t json_array_limit = 65536;

// Compact text; bytes that are not UTF-8 (a file name) are replaced by U+FFFD.
inline std::string json_text(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

template <class T>
Json to_json(const T& value);

// The fields of `result` added to the object `j`, each under its name prefixed by `prefix`.
template <class T>
void add_fields(Json& j, const T& result, const std::string& prefix = "") {
  for_each_field(result, [&](const char* name, const auto& value) {
    using V = std::decay_t<decltype(value)>;
    if constexpr (fields::is_shaped<V>) {
      if (value.values.size() > json_array_limit) return;
    } else if constexpr (fields::is_vector<V>) {
      if (value.size() > json_array_limit) return;
    }
    j[prefix + name] = to_json(value);
  });
}

template <class T>
Json to_json(const T& value) {
  using namespace fields;
  if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::string>) {
    return value;
  } else if constexpr (std::is_same_v<T, std::string_view> || std::is_same_v<T, const char*>) {
    return std::string(value);
  } else if constexpr (is_variant<T>) {
    return std::visit([](const auto& v) { return to_json(v); }, value);
  } else if constexpr (std::is_integral_v<T>) {
    return static_cast<Index>(value);
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<double>(value);
  } else if constexpr (Named<T>) {
    return to_string(value);
  } else if constexpr (is_optional<T>) {
    return value ? to_json(*value) : Json(nullptr);
  } else if constexpr (is_shaped<T>) {
    return value.values.empty() ? Json(nullptr) : to_json(value.values);
  } else if constexpr (Result<T>) {
    Json j = Json::object();
    add_fields(j, value);
    return j;
  } else if constexpr (is_vector<T>) {
    Json j = Json::array();
    for (const auto& item : value) j.push_back(to_json(item));
    return j;
  } else {  // an Eigen vector or matrix: row by row
    Json j = Json::array();
    for (Index r = 0; r < value.rows(); ++r) {
      if (value.cols() == 1) {
        j.push_back(static_cast<double>(value(r, 0)));
        continue;
      }
      Json row = Json::array();
      for (Index c = 0; c < value.cols(); ++c) row.push_back(static_cast<double>(value(r, c)));
      j.push_back(std::move(row));
    }
    return j;
  }
}

}  // namespace convmat::cli
