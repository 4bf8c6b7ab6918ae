#pragma once
// The command line: one table of options shared by all subcommands, the parser, the value
// parsers, and the layer an option set describes (through layer_args.hpp or a benchdnn
// descriptor).
//
// Syntax: "--name value" or "--name=value"; flags take no value; -o is --output, -h is --help.
// Every problem is a UsageError naming the option and the value (exit status 2).

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "convmat/core/layer_args.hpp"
#include "convmat/oracle/benchdnn_descriptor.hpp"

namespace convmat::cli {

enum class Opt {
  op,
  desc,
  deconv,
  stride,
  padding,
  dilation,
  groups,
  output_padding,
  padding_mode,
  auto_pad,
  pads,
  output_shape,
  kernel_shape,
  input,
  weight,
  bias,
  input_shape,
  weight_shape,
  candidate,
  output,
  dtype,
  transpose,
  atol,
  rtol,
  precision,
  blame,
  blame_terms,
  weight_fill,
  spectrum,
  count,
  observed,
  method,
  damp,
  lsq_atol,
  lsq_btol,
  conlim,
  max_iterations,
  max_memory,
  json,
  help,
};

struct OptionSpec {
  Opt id;
  std::string_view name;     // without the dashes
  std::string_view alias;    // another accepted name, or empty
  std::string_view metavar;  // empty for a flag
  std::string_view help;
};
const std::vector<OptionSpec>& option_table();
const OptionSpec& option_spec(Opt id);
std::string option_name(Opt id);  // "--stride"

class UsageError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct Arguments {
  std::map<Opt, std::string> values;  // flags map to ""
  bool has(Opt o) const { return values.count(o) != 0; }
  const std::string& get(Opt o) const;  // throws UsageError if absent
};

// Parses the arguments after the command name, accepting only `allowed`. Two options may share a
// name when no command accepts both (--atol: check's tolerance, deconv's LSQR/LSMR atol); the one
// in `allowed` is taken.
Arguments parse_arguments(std::string_view command, const std::vector<std::string>& args,
                          const std::vector<Opt>& allowed);

// Value parsers; each throws UsageError naming the option.
Dims parse_dims(Opt o, const std::string& text);    // "2,2", "(2, 2)", "[2,2]", "3"
Index parse_index(Opt o, const std::string& text);  // one integer
double parse_nonnegative(Opt o, const std::string& text);
// Bytes: "1073741824", "512M", "16G", "1.5GiB", "75%" (of physical memory).
std::uint64_t parse_bytes(Opt o, const std::string& text, std::uint64_t physical_memory);

// The layer the options describe. `input_shape` / `weight_shape` come from the .npy headers or
// --input-shape / --weight-shape; with --desc they are optional and checked against it.
struct LayerDescription {
  LayerCall call;
  std::string op;  // "conv2d", "onnx_conv_transpose", "benchdnn conv", "benchdnn deconv"
  std::optional<BenchdnnDescriptor> descriptor;
  Dims input_shape;   // as the data has it (batched or not)
  Dims output_shape;  // likewise
};
LayerDescription resolve_layer(const Arguments& args, const std::optional<Dims>& input_shape,
                               const std::optional<Dims>& weight_shape);

}  // namespace convmat::cli
