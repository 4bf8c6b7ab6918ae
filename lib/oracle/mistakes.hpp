#pragma once
// The catalogue of mistakes behind diagnose (oracle/diagnose.hpp, which lists the families): one
// function per family in mistakes.cpp, and a table of those functions in the order diagnose tries
// them. Adding a mistake is adding its function and a row.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "convmat/oracle/check.hpp"

namespace convmat::detail {

// A catalogue entry made concrete for one layer: how to build the mistaken layer, and how the
// mistaken implementation rearranges its output.
struct Mistake {
  std::string id, description;
  bool geometry = false;  // changes ConvParams: also tried with the output size kept
  bool keep_shape_variant = true;
  std::function<std::optional<LayerData>(const LayerData&)> make;
  std::function<void(const LayerData&, std::vector<double>&)> rearrange_output;  // or empty
};

// The entries of every family that applies to `layer`, in the table's order.
std::vector<Mistake> mistake_catalogue(const LayerData& layer);

// `l` with the geometry `p`, or nothing when `p` is not a valid layer (e.g. an empty output).
std::optional<LayerData> with_params(const LayerData& l, const ConvParams& p);

}  // namespace convmat::detail
