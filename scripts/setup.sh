#!/usr/bin/env bash
# Installs every package convmat needs from Debian 12's archive. Idempotent; run as root.
# Packages already present are skipped, so a second run does not touch the network.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libeigen3-dev libsuitesparse-dev libopenblas-dev libspectra-dev liblapack-dev libfftw3-dev
  libboost-test-dev
  libcli11-dev nlohmann-json3-dev
  clang libclang-rt-14-dev libomp-14-dev
  python3 python3-numpy python3-scipy python3-torch python3-matplotlib
  python3-nbclient python3-ipykernel python3-nbformat python3-nbconvert pybind11-dev python3-dev
  python3-skimage python3-onnx libonnx-testdata
  python3-venv python3-pip python3-setuptools python3-wheel python3-mypy dpkg-dev
  doxygen python3-sphinx python3-breathe python3-myst-parser
  emscripten chromium chromium-driver python3-selenium
  # the distributed W (lib/distributed/, convmat.petsc): PETSc, SLEPc, MUMPS and Open MPI
  petsc-dev slepc-dev python3-petsc4py python3-slepc4py openmpi-bin
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: missing packages (${missing[*]}); run as root to install them" >&2
    exit 1
  fi
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
