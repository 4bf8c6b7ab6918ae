#pragma once
// How a ConvMatrix stores W (conv_matrix.hpp): CSR, or channel-blocked
// (channel_blocked_matrix.hpp), or `automatic`, which resolve_storage turns into one of the two
// for a spec. A header of its own so that the memory estimates (memory_limit.hpp) can name it.

#include <ostream>
#include <string>

#include "convmat/core/conv_spec.hpp"

namespace convmat {

enum class ConvStorage { automatic, csr, channel_blocked };
std::string to_string(ConvStorage storage);  // "automatic", "csr", "channel_blocked"
// The inverse of to_string; std::invalid_argument naming the accepted names otherwise.
ConvStorage conv_storage_from_string(const std::string& name);
inline std::ostream& operator<<(std::ostream& os, ConvStorage s) { return os << to_string(s); }
// What `requested` means for `spec`: csr and channel_blocked stay; automatic is channel_blocked
// when the row channels per group (W's rows: output channels of a convolution, input channels of
// a transposed one) take a block of 2 or more (ChannelBlocks::block_for), csr otherwise.
ConvStorage resolve_storage(const ConvSpec& spec, ConvStorage requested);

}  // namespace convmat
