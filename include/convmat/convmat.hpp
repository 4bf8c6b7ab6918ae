#pragma once
// convmat: convolution layers as explicit sparse matrices. One header per concept:
#include "convmat/conv_spec.hpp"    // ConvSpec: a layer's geometry, validated once
#include "convmat/buffer.hpp"       // Buffer: uninitialized, huge-page-friendly storage
#include "convmat/progress.hpp"     // the progress line of long builds and solves
#include "convmat/csr_matrix.hpp"   // CsrMatrix: shared-structure CSR with parallel products
#include "convmat/conv_matrix.hpp"  // ConvPattern, ConvMatrix: the layer as W (or Wᵀ)
#include "convmat/loops.hpp"        // direct loops, the independent reference
#include "convmat/layer_args.hpp"   // PyTorch and ONNX arguments → ConvSpec
#include "convmat/linear_operator.hpp"  // LinearOperator: A x and Aᵀ y, explicit or matrix-free
#include "convmat/lsq.hpp"              // lstsq: QR, Cholesky, LSQR, LSMR least squares
#include "convmat/deconvolve.hpp"       // deconvolve: a layer's inverse by least squares
#include "convmat/dense_limit.hpp"      // dense_entry_limit: the size cap of dense work
#include "convmat/spectrum.hpp"         // singular values (dense, Spectra, circular FFT), rank
#include "convmat/pseudo_inverse.hpp"   // transposed versus inverse: Aᵀ against A⁺
#include "convmat/checkerboard.hpp"     // tap counts and weight sums of a transposed convolution
#include "convmat/identities.hpp"       // transposed convolution = C·P·Z
#include "convmat/upsampling.hpp"       // PyTorch's nearest / linear upsampling as matrices
#include "convmat/kernel_matrix.hpp"    // A(x) with y = A(x)·vec(weight) (im2col)
#include "convmat/descriptor.hpp"   // oneDNN benchdnn's descriptor strings → ConvSpec
#include "convmat/memory_limit.hpp"  // the memory guard: refuse a W that will not fit
#include "convmat/oracle.hpp"       // check another implementation's output; blame; diagnose
