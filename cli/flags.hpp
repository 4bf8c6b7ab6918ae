#pragma once
// The command line's flags, declared with CLI11: the value parsers (each error names the flag and
// the value), the typed options built on them, and the option sets that several commands and
// front ends share — the layer (add_layer_options), the data files and shapes
// (add_data_options), the memory limit and the output.
//
// Syntax (CLI11's): "--name value" or "--name=value"; flags take no value; -o is --output, -h is
// --help. Every problem is a UsageError (exit status 2).

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "convmat/core/layer_args.hpp"
#include "convmat/core/quantized.hpp"
#include "convmat/oracle/benchdnn_descriptor.hpp"
#include "convmat/solve/lsq_types.hpp"

namespace convmat::cli {

class UsageError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Value parsers; `flag` is the option's name with its dashes ("--stride").
Dims parse_dims(std::string_view flag, const std::string& text);    // "2,2", "(2, 2)", "[2,2]", "3"
Index parse_index(std::string_view flag, const std::string& text);  // one integer
double parse_nonnegative(std::string_view flag, const std::string& text);
// Bytes: "1073741824", "512M", "16G", "1.5GiB", "75%" (of physical memory).
std::uint64_t parse_bytes(std::string_view flag, const std::string& text,
                          std::uint64_t physical_memory);
// One of `choices`: "--method: expected qr, cholesky, lsqr or lsmr, got 'svd'".
std::string parse_choice(std::string_view flag, const std::string& text,
                         const std::vector<std::string>& choices);

// A typed option: its text is parsed into `target` by `parse(flag, text)`, which throws a
// UsageError naming the flag. `names` as CLI11 takes them ("--output,-o"); `metavar` is shown in
// the help ("S[,S...]").
template <class T>
using Parser = std::function<T(const std::string& flag, const std::string& text)>;
// The long name in CLI11's `names` ("--output,-o" → "--output"), for messages.
std::string long_name(const std::string& names);
template <class T>
CLI::Option* add_parsed(CLI::App& app, const std::string& names, std::optional<T>& target,
                        Parser<T> parse, const std::string& metavar, const std::string& help) {
  CLI::Option* option = app.add_option_function<std::string>(
      names,
      [&target, parse = std::move(parse), flag = long_name(names)](const std::string& text) {
        target = parse(flag, text);
      },
      help);
  option->type_name(metavar);
  return option;
}
CLI::Option* add_text(CLI::App& app, const std::string& names, std::optional<std::string>& target,
                      const std::string& metavar, const std::string& help);
CLI::Option* add_flag(CLI::App& app, const std::string& names, bool& target,
                      const std::string& help);

// ---------------------------------------------------------------------------------------------
// The layer: --op and the keywords of the library's op table (layer_ops.hpp), one flag per
// keyword name ('_' written '-'), or --desc (a benchdnn descriptor) with --deconv. The keyword
// flags keep their text until the op, which decides how each is read, is known.

struct LayerFlags {
  std::optional<std::string> op, desc;
  bool deconv = false;
  std::map<std::string, std::string, std::less<>> keywords;  // flag name ("stride") → text
};

// Adds --op, the keyword flags, --desc and --deconv to `app` (a command, or another front end's
// app): the one declaration of the layer's options.
void add_layer_options(CLI::App& app, LayerFlags& flags);

// The layer the flags describe. `input_shape` / `weight_shape` come from the .npy headers or
// --input-shape / --weight-shape; with --desc they are optional and checked against it.
struct LayerDescription {
  LayerCall call;
  std::string op;  // "conv2d", "onnx_conv_transpose", "benchdnn conv", "benchdnn deconv"
  std::optional<BenchdnnDescriptor> descriptor;
  Dims input_shape;   // as the data has it (batched or not, in --data-format's layout)
  Dims output_shape;  // likewise
};
LayerDescription resolve_layer(const LayerFlags& flags, const std::optional<Dims>& input_shape,
                               const std::optional<Dims>& weight_shape);

// ---------------------------------------------------------------------------------------------
// The quantized ops (core/quantized.hpp: onnx_conv_integer, onnx_qlinear_conv): one flag per
// quantization input of the library's table, ONNX's name with '_' written '-' (--x-scale,
// --w-zero-point, ...), each a number (a list for the per-channel ones) or a .npy file; B is
// --bias. Their geometry is onnx_conv's (--auto-pad, --pads, --strides, ...).

struct QuantizedFlags {
  std::map<std::string, std::string, std::less<>> inputs;  // ONNX name ("x_scale") → text
};
void add_quantized_options(CLI::App& app, QuantizedFlags& flags);
// The op the layer flags name when it is a quantized one, else nullptr.
const QuantizedOp* quantized_op_of(const LayerFlags& flags);
// The layer of a quantized op: onnx_conv's row with the keyword and layout flags.
LayerDescription resolve_quantized_layer(const LayerFlags& flags, const Dims& x_shape,
                                         const Dims& w_shape);

// ---------------------------------------------------------------------------------------------
// The data: .npy files and shapes. A command declares the ones it reads; --input excludes
// --input-shape and --weight excludes --weight-shape.

struct DataFlags {
  std::optional<std::string> input, weight, bias;
  std::optional<Dims> input_shape, weight_shape;
};
enum DataOption : unsigned {
  data_input = 1,
  data_weight = 2,
  data_bias = 4,
  data_input_shape = 8,
  data_weight_shape = 16,
};
void add_data_options(CLI::App& app, DataFlags& flags, unsigned which);

// ---------------------------------------------------------------------------------------------
// The least-squares solver (deconv): --method, --damp, --atol, --btol, --conlim,
// --max-iterations, --preconditioner, --preconditioner-delta.

struct SolverFlags {
  std::optional<LsqMethod> method;
  std::optional<double> damp, atol, btol, conlim, preconditioner_delta;
  std::optional<Index> max_iterations;
  std::optional<PreconditionerKind> preconditioner;
};
void add_solver_options(CLI::App& app, SolverFlags& flags);

// --max-memory SIZE: the bytes and the text given.
struct ByteSize {
  std::uint64_t bytes = 0;
  std::string text;
};
void add_max_memory(CLI::App& app, std::optional<ByteSize>& target);

// --count N: how many of the largest and of the smallest singular values (1 to 100), for
// convmat analyze and convmat-mpi analyze.
void add_singular_value_count(CLI::App& app, std::optional<Index>& target);
// --observed Y.npy: the layer's output that deconv inverts (convmat and convmat-mpi).
void add_observed(CLI::App& app, std::optional<std::string>& target);
// --output, -o FILE and --dtype float32|float64.
void add_output(CLI::App& app, std::optional<std::string>& target);
void add_dtype(CLI::App& app, std::optional<std::string>& target);
void add_json(CLI::App& app, bool& target);

}  // namespace convmat::cli
