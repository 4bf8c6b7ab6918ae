#pragma once
// NumPy's .npy format (numpy/lib/format.py, versions 1.0, 2.0 and 3.0), read into float64.
//
//   "\x93NUMPY" major minor  header_len (uint16 LE in 1.0, uint32 LE in 2.0 / 3.0)
//   header: a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
//           padded with spaces and ended by '\n' (ASCII; UTF-8 in 3.0)
//   data:   Π shape elements of descr, C order (Fortran order when fortran_order is True)
//
// Read: float16/32/64, signed and unsigned integers of 1–8 bytes and bool, either byte order,
// C or Fortran order (Fortran is reordered to C). Everything else (complex, object, strings,
// structured, datetime, long double) is refused naming the dtype. Every check happens before any
// allocation of the data: the header is at most 65536 bytes and must fit in the file, the
// element count is computed with overflow checks, and Π shape · itemsize must equal the bytes
// after the header exactly (a truncated file, a lying shape or trailing bytes are errors).
// Errors are std::invalid_argument("<name>: <what is wrong, with the values>").
//
// Written: float32 or float64 (and int32/int8/uint8, the quantized ops), little-endian, C order,
// version 1.0 (2.0 if the header needs it), header padded to a multiple of 64 bytes as numpy does.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "convmat/core/conv_spec.hpp"

namespace convmat::cli {

enum class NpyKind { floating, signed_integer, unsigned_integer, boolean };

struct NpyHeader {
  int major = 1;
  int minor = 0;
  std::string descr;  // as written, e.g. "<f4"
  NpyKind kind = NpyKind::floating;
  int item_size = 8;  // bytes per element
  bool big_endian = false;
  bool fortran_order = false;
  Dims shape;
  Index numel = 1;
  std::uint64_t data_offset = 0;  // bytes before the data

  std::string type_name() const;  // "float32", "int64", "bool", ...
  bool is_float() const { return kind == NpyKind::floating; }
};

// Where the bytes come from: a file or a buffer (the fuzz target).
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual std::uint64_t size() const = 0;
  // Copies bytes [offset, offset + n) into dst; offset + n <= size().
  virtual void read(std::uint64_t offset, std::size_t n, char* dst) const = 0;
};

class MemorySource : public ByteSource {
 public:
  explicit MemorySource(std::string_view bytes) : bytes_(bytes) {}
  std::uint64_t size() const override { return bytes_.size(); }
  void read(std::uint64_t offset, std::size_t n, char* dst) const override;

 private:
  std::string_view bytes_;
};

class FileSource : public ByteSource {
 public:
  explicit FileSource(const std::string& path);  // throws std::invalid_argument if unreadable
  ~FileSource() override;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  std::uint64_t size() const override { return size_; }
  void read(std::uint64_t offset, std::size_t n, char* dst) const override;

 private:
  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

// `name` prefixes the messages (the file name).
NpyHeader read_npy_header(const ByteSource& source, const std::string& name);
// The data as float64, C order. Call after read_npy_header on the same source.
std::vector<double> read_npy_data(const ByteSource& source, const NpyHeader& header,
                                  const std::string& name);

struct NpyArray {
  NpyHeader header;
  std::vector<double> data;
};
NpyArray read_npy(const std::string& path);
NpyHeader read_npy_header(const std::string& path);
NpyArray parse_npy(std::string_view bytes, const std::string& name = "<buffer>");

// The bytes of a .npy file holding `data` (Π shape values) as float32 or float64.
std::string npy_bytes(const Dims& shape, const double* data, bool float32);
// Its two parts: the header (magic, version, dict, padding), and `n` values as data bytes.
std::string npy_header_bytes(const Dims& shape, bool float32);
std::string npy_data_bytes(const double* data, std::size_t n, bool float32);

// Elements [first, first + count) of the data in file order, as float64, into dst: a part of a
// file read without the rest (each MPI rank its slab). Call after read_npy_header on the same
// source; first + count <= header.numel.
void read_npy_elements(const ByteSource& source, const NpyHeader& header, std::uint64_t first,
                       std::size_t count, double* dst);

// The bytes of a .npy file holding `data` as "int32", "int8" or "uint8" (values in its range).
std::string npy_integer_bytes(const Dims& shape, const std::int64_t* data, std::string_view type);

// float16 bits → double (exact).
double half_to_double(std::uint16_t bits);

}  // namespace convmat::cli
