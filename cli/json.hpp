#pragma once
// A minimal JSON writer: commas and escaping handled, compact output. Non-finite numbers, which
// JSON cannot represent, are written as null. write_fields writes a library result through its
// field list.

#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "convmat/core/conv_spec.hpp"
#include "convmat/core/fields.hpp"

namespace convmat::cli {

class JsonWriter {
 public:
  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }
  JsonWriter& key(std::string_view k) {
    separate();
    string(k);
    out_ += ':';
    after_key_ = true;
    return *this;
  }
  JsonWriter& value(std::string_view v) {
    separate();
    string(v);
    return *this;
  }
  JsonWriter& value(const char* v) { return value(std::string_view(v)); }
  JsonWriter& value(const std::string& v) { return value(std::string_view(v)); }
  JsonWriter& value(bool v) {
    separate();
    out_ += v ? "true" : "false";
    return *this;
  }
  JsonWriter& value(Index v) {
    separate();
    out_ += std::to_string(v);
    return *this;
  }
  JsonWriter& value(int v) { return value(static_cast<Index>(v)); }
  JsonWriter& value(double v) {
    separate();
    if (!std::isfinite(v)) {
      out_ += "null";
    } else {
      char b[32];
      std::snprintf(b, sizeof b, "%.17g", v);
      out_ += b;
    }
    return *this;
  }
  JsonWriter& value(const Dims& d) {
    begin_array();
    for (Index v : d) value(v);
    return end_array();
  }
  JsonWriter& null() {
    separate();
    out_ += "null";
    return *this;
  }
  template <class T>
  JsonWriter& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }

  const std::string& str() const { return out_; }

 private:
  JsonWriter& open(char c) {
    separate();
    out_ += c;
    first_.push_back(true);
    return *this;
  }
  JsonWriter& close(char c) {
    out_ += c;
    first_.pop_back();
    return *this;
  }
  void separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.empty()) {
      if (!first_.back()) out_ += ',';
      first_.back() = false;
    }
  }
  // True when s is well-formed UTF-8 (JSON text must be); otherwise bytes >= 0x80 are written as
  // \u00XX (their Latin-1 reading) so the output stays valid.
  static bool utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
      const auto c = static_cast<unsigned char>(s[i]);
      const int n = c < 0x80           ? 0
                    : (c >> 5) == 0x6  ? 1
                    : (c >> 4) == 0xe  ? 2
                    : (c >> 3) == 0x1e ? 3
                                       : -1;
      if (n < 0 || i + static_cast<std::size_t>(n) >= s.size() + (n == 0 ? 1 : 0)) return false;
      if (c == 0xc0 || c == 0xc1 || c >= 0xf5) return false;  // overlong or beyond U+10FFFF
      if (n >= 2) {
        const auto c1 = static_cast<unsigned char>(s[i + 1]);
        if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0) || (c == 0xf0 && c1 < 0x90) ||
            (c == 0xf4 && c1 >= 0x90)) {
          return false;  // overlong, surrogate, or beyond U+10FFFF
        }
      }
      for (int k = 1; k <= n; ++k) {
        if ((static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]) >> 6) != 0x2)
          return false;
      }
      i += static_cast<std::size_t>(n) + 1;
    }
    return true;
  }
  void string(std::string_view s) {
    const bool valid = utf8(s);
    out_ += '"';
    for (unsigned char c : s) {
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\n': out_ += "\\n"; break;
        case '\t': out_ += "\\t"; break;
        case '\r': out_ += "\\r"; break;
        default:
          if (c < 0x20 || c == 0x7f || (c >= 0x80 && !valid)) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", c);
            out_ += b;
          } else {
            out_ += static_cast<char>(c);
          }
      }
    }
    out_ += '"';
  }

  std::string out_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

// ---------------------------------------------------------------------------------------------
// The library's results as JSON, through their field lists (convmat/core/fields.hpp): each field
// a key, a result an object. Lists of numbers longer than json_array_limit (a checkerboard's tap
// counts over a large output) are left out, key and all. Non-finite numbers are null.

inline constexpr std::size_t json_array_limit = 65536;

template <class T>
void write_value(JsonWriter& j, const T& value);

template <class T>
void write_fields(JsonWriter& j, const T& result) {
  for_each_field(result, [&](const char* name, const auto& value) {
    using V = std::decay_t<decltype(value)>;
    if constexpr (fields::is_shaped<V>) {
      if (value.values.size() > json_array_limit) return;
    } else if constexpr (fields::is_vector<V>) {
      if (value.size() > json_array_limit) return;
    }
    j.key(name);
    write_value(j, value);
  });
}

template <class T>
void write_value(JsonWriter& j, const T& value) {
  using namespace fields;
  if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::string> ||
                std::is_same_v<T, std::string_view>) {
    j.value(value);
  } else if constexpr (is_variant<T>) {
    std::visit([&](const auto& v) { write_value(j, v); }, value);
  } else if constexpr (std::is_integral_v<T>) {
    j.value(static_cast<Index>(value));
  } else if constexpr (std::is_floating_point_v<T>) {
    j.value(static_cast<double>(value));
  } else if constexpr (Named<T>) {
    j.value(to_string(value));
  } else if constexpr (is_optional<T>) {
    if (value) {
      write_value(j, *value);
    } else {
      j.null();
    }
  } else if constexpr (is_shaped<T>) {
    if (value.values.empty()) {
      j.null();
    } else {
      write_value(j, value.values);
    }
  } else if constexpr (Result<T>) {
    j.begin_object();
    write_fields(j, value);
    j.end_object();
  } else if constexpr (is_vector<T>) {
    j.begin_array();
    for (const auto& item : value) write_value(j, item);
    j.end_array();
  } else {  // an Eigen vector or matrix: row by row
    j.begin_array();
    for (Index r = 0; r < value.rows(); ++r) {
      if (value.cols() == 1) {
        j.value(static_cast<double>(value(r, 0)));
        continue;
      }
      j.begin_array();
      for (Index c = 0; c < value.cols(); ++c) j.value(static_cast<double>(value(r, c)));
      j.end_array();
    }
    j.end_array();
  }
}

}  // namespace convmat::cli
