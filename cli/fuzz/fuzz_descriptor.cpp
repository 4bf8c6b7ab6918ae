// libFuzzer target: the benchdnn descriptor parser on arbitrary text, for both drivers. An
// accepted descriptor must format to a canonical string that parses to the same layer and
// formats to the same string again.
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "convmat/oracle/benchdnn_descriptor.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (convmat::ConvKind kind : {convmat::ConvKind::convolution, convmat::ConvKind::transposed}) {
    convmat::BenchdnnDescriptor d;
    try {
      d = convmat::parse_benchdnn_descriptor(text, kind);
    } catch (const std::invalid_argument&) {
      continue;
    }
    const convmat::ConvSpec spec = d.spec();
    std::string canonical;
    try {
      canonical = convmat::format_benchdnn_descriptor(spec, d.minibatch, d.name);
    } catch (const std::invalid_argument&) {
      std::abort();  // whatever parses must be expressible
    }
    const convmat::BenchdnnDescriptor again = convmat::parse_benchdnn_descriptor(canonical, kind);
    const convmat::ConvSpec respec = again.spec();
    if (respec.output_size() != spec.output_size() || respec.input_shape() != spec.input_shape() ||
        respec.weight_shape() != spec.weight_shape() || respec.pad_begin() != spec.pad_begin() ||
        convmat::format_benchdnn_descriptor(respec, again.minibatch, again.name) != canonical) {
      std::abort();
    }
  }
  return 0;
}
