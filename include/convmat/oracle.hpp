#pragma once
// convmat oracle: another implementation's output checked against W·x + b, blamed and diagnosed.
#include "convmat/oracle/benchdnn_descriptor.hpp"  // oneDNN benchdnn's descriptor strings → ConvSpec
#include "convmat/oracle/check.hpp"                // LayerData, Tolerance, check_output, blame
#include "convmat/oracle/diagnose.hpp"             // diagnose: the catalogue of common mistakes
