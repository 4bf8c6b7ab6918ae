#pragma once
// convmat core: a layer's geometry, its matrix W and the independent reference loops.
//   layer description → ConvSpec → ConvPattern (structure) → ConvMatrix (values) → W·x, Wᵀ·y
#include "convmat/core/buffer.hpp"           // Buffer: uninitialized, huge-page-friendly storage
#include "convmat/core/conv_matrix.hpp"      // ConvMatrix: the layer as W (or Wᵀ)
#include "convmat/core/conv_pattern.hpp"     // ConvPattern: W's structure, from the spec alone
#include "convmat/core/conv_spec.hpp"        // ConvSpec: a layer's geometry, validated once
#include "convmat/core/csr_matrix.hpp"       // CsrMatrix: shared-structure CSR, parallel products
#include "convmat/core/index.hpp"            // Index, Dims, the column and row index types
#include "convmat/core/layer_args.hpp"       // PyTorch and ONNX arguments → ConvSpec
#include "convmat/core/layer_ops.hpp"        // the op table: names, keywords, translations
#include "convmat/core/layout.hpp"           // Layout: NHWC, HWIO, … as permutations of axes
#include "convmat/core/linear_operator.hpp"  // LinearOperator: A x and Aᵀ y, explicit or matrix-free
#include "convmat/core/loops.hpp"            // direct loops, the independent reference
#include "convmat/core/memory_limit.hpp"     // the memory guard; W's and its Gram's nonzeros
#include "convmat/core/progress.hpp"         // the progress line of long builds and solves
#include "convmat/core/quantized.hpp"        // ONNX ConvInteger and QLinearConv, exactly
#include "convmat/core/xla.hpp"              // XLA/StableHLO convolution → LayerCall
