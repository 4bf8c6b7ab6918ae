#include "npy.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace convmat::cli {

static_assert(std::endian::native == std::endian::little,
              "convmat's .npy reader assumes a little-endian host");

namespace {

constexpr std::uint64_t max_header_bytes = 65536;
constexpr Index max_dimension = Index{1} << 62;

[[noreturn]] void fail(const std::string& name, const std::string& message) {
  throw std::invalid_argument(name + ": " + message);
}

// A recursive-descent reader for the header's Python dict literal.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& name) : t_(text), name_(name) {}

  void parse(NpyHeader& h) {
    bool have_descr = false, have_order = false, have_shape = false;
    skip();
    expect('{');
    for (;;) {
      skip();
      if (peek() == '}') {
        ++p_;
        break;
      }
      const std::string key = string();
      skip();
      expect(':');
      skip();
      if (key == "descr") {
        if (have_descr) error("the key 'descr' appears twice");
        have_descr = true;
        if (peek() == '[')
          error("structured dtypes (a list of fields in 'descr') are not supported");
        h.descr = string();
      } else if (key == "fortran_order") {
        if (have_order) error("the key 'fortran_order' appears twice");
        have_order = true;
        h.fortran_order = boolean();
      } else if (key == "shape") {
        if (have_shape) error("the key 'shape' appears twice");
        have_shape = true;
        h.shape = tuple();
      } else {
        error("unexpected key '" + key +
              "' (a .npy header has exactly 'descr', 'fortran_order' and 'shape')");
      }
      skip();
      if (peek() == ',') {
        ++p_;
        continue;
      }
      if (peek() == '}') {
        ++p_;
        break;
      }
      error("expected ',' or '}' after the value of '" + key + "'");
    }
    skip();
    if (p_ != t_.size()) error("unexpected characters after the header's closing '}'");
    if (!have_descr || !have_order || !have_shape) {
      error(std::string("the header lacks the key '") +
            (!have_descr   ? "descr"
             : !have_order ? "fortran_order"
                           : "shape") +
            "'");
    }
  }

 private:
  [[noreturn]] void error(const std::string& what) const {
    fail(name_,
         "malformed .npy header: " + what + " (at byte " + std::to_string(p_) + " of the header)");
  }
  char peek() const { return p_ < t_.size() ? t_[p_] : '\0'; }
  void skip() {
    while (p_ < t_.size() && (t_[p_] == ' ' || t_[p_] == '\t' || t_[p_] == '\n' || t_[p_] == '\r'))
      ++p_;
  }
  void expect(char c) {
    if (peek() != c) error(std::string("expected '") + c + "'");
    ++p_;
  }
  std::string string() {
    const char q = peek();
    if (q != '\'' && q != '"') error("expected a quoted string");
    const std::size_t start = ++p_;
    while (p_ < t_.size() && t_[p_] != q) {
      if (t_[p_] == '\\') error("escape sequences are not expected in a .npy header");
      ++p_;
    }
    if (p_ >= t_.size()) error("unterminated string");
    return std::string(t_.substr(start, p_++ - start));
  }
  bool boolean() {
    if (t_.substr(p_, 4) == "True") {
      p_ += 4;
      return true;
    }
    if (t_.substr(p_, 5) == "False") {
      p_ += 5;
      return false;
    }
    error("'fortran_order' must be True or False");
  }
  Index integer() {
    if (peek() < '0' || peek() > '9') error("expected a non-negative integer in 'shape'");
    Index v = 0;
    while (peek() >= '0' && peek() <= '9') {
      const Index digit = peek() - '0';
      if (v > (max_dimension - digit) / 10) error("a dimension of 'shape' exceeds 2^62");
      v = v * 10 + digit;
      ++p_;
    }
    if (peek() == 'L') ++p_;  // Python 2's long literals
    return v;
  }
  Dims tuple() {
    Dims d;
    expect('(');
    skip();
    if (peek() == ')') {
      ++p_;
      return d;
    }
    for (;;) {
      skip();
      d.push_back(integer());
      if (d.size() > 64) error("'shape' has more than 64 dimensions");
      skip();
      if (peek() == ',') {
        ++p_;
        skip();
        if (peek() == ')') {
          ++p_;
          return d;
        }
        continue;
      }
      if (peek() == ')') {
        if (d.size() == 1) {
          // "(5)" is the integer 5 in Python, not a tuple; numpy never writes it.
          error("'shape' must be a tuple: a single dimension is written (n,)");
        }
        ++p_;
        return d;
      }
      error("expected ',' or ')' in 'shape'");
    }
  }

  std::string_view t_;
  std::string name_;
  std::size_t p_ = 0;
};

[[noreturn]] void unsupported_dtype(const std::string& name, const std::string& descr,
                                    const std::string& what) {
  fail(name,
       "dtype '" + descr + "'" + (what.empty() ? "" : " (" + what + ")") +
           " is not supported: convmat reads float16, float32, float64, integer and bool arrays");
}

void parse_descr(NpyHeader& h, const std::string& name) {
  const std::string& d = h.descr;
  auto unsupported = [&](const std::string& what) { unsupported_dtype(name, d, what); };
  if (d.size() < 3 || std::string_view("<>|=").find(d[0]) == std::string_view::npos)
    unsupported("");
  const char kind = d[1];
  int size = 0;
  for (std::size_t i = 2; i < d.size(); ++i) {
    if (d[i] < '0' || d[i] > '9' || size > 1000) unsupported("");
    size = size * 10 + (d[i] - '0');
  }
  h.item_size = size;
  h.big_endian = d[0] == '>';
  switch (kind) {
    case 'f':
      if (size != 2 && size != 4 && size != 8)
        unsupported(size == 16 || size == 12 ? "long double" : "");
      h.kind = NpyKind::floating;
      break;
    case 'i':
    case 'u':
      if (size != 1 && size != 2 && size != 4 && size != 8) unsupported("");
      h.kind = kind == 'i' ? NpyKind::signed_integer : NpyKind::unsigned_integer;
      break;
    case 'b':
      if (size != 1) unsupported("");
      h.kind = NpyKind::boolean;
      break;
    case 'c': unsupported_dtype(name, d, "complex");
    case 'O': unsupported_dtype(name, d, "Python objects");
    case 'U':
    case 'S':
    case 'a': unsupported_dtype(name, d, "strings");
    case 'V': unsupported_dtype(name, d, "raw bytes");
    case 'M':
    case 'm': unsupported_dtype(name, d, "dates and times");
    default: unsupported("");
  }
}

std::uint32_t little_u32(const unsigned char* b) {
  return std::uint32_t(b[0]) | std::uint32_t(b[1]) << 8 | std::uint32_t(b[2]) << 16 |
         std::uint32_t(b[3]) << 24;
}

double convert(const NpyHeader& h, const unsigned char* raw) {
  unsigned char b[8];
  for (int i = 0; i < h.item_size; ++i) b[i] = h.big_endian ? raw[h.item_size - 1 - i] : raw[i];
  switch (h.kind) {
    case NpyKind::boolean: return b[0] != 0 ? 1.0 : 0.0;
    case NpyKind::floating:
      if (h.item_size == 2) return half_to_double(static_cast<std::uint16_t>(b[0] | b[1] << 8));
      if (h.item_size == 4) {
        float f;
        std::memcpy(&f, b, 4);
        return f;
      } else {
        double v;
        std::memcpy(&v, b, 8);
        return v;
      }
    case NpyKind::signed_integer:
      switch (h.item_size) {
        case 1: return static_cast<std::int8_t>(b[0]);
        case 2: {
          std::int16_t v;
          std::memcpy(&v, b, 2);
          return v;
        }
        case 4: {
          std::int32_t v;
          std::memcpy(&v, b, 4);
          return v;
        }
        default: {
          std::int64_t v;
          std::memcpy(&v, b, 8);
          return static_cast<double>(v);
        }
      }
    case NpyKind::unsigned_integer:
      switch (h.item_size) {
        case 1: return b[0];
        case 2: {
          std::uint16_t v;
          std::memcpy(&v, b, 2);
          return v;
        }
        case 4: {
          std::uint32_t v;
          std::memcpy(&v, b, 4);
          return v;
        }
        default: {
          std::uint64_t v;
          std::memcpy(&v, b, 8);
          return static_cast<double>(v);
        }
      }
  }
  return 0;
}

}  // namespace

double half_to_double(std::uint16_t bits) {
  const int sign = bits >> 15, exponent = (bits >> 10) & 0x1f, mantissa = bits & 0x3ff;
  double v;
  if (exponent == 0) {
    v = std::ldexp(mantissa, -24);  // subnormal: m · 2⁻²⁴
  } else if (exponent == 31) {
    v = mantissa ? std::nan("") : INFINITY;
  } else {
    v = std::ldexp(mantissa + 1024, exponent - 25);  // (1024 + m) · 2^(e − 15 − 10)
  }
  return sign ? -v : v;
}

std::string NpyHeader::type_name() const {
  switch (kind) {
    case NpyKind::floating: return "float" + std::to_string(item_size * 8);
    case NpyKind::signed_integer: return "int" + std::to_string(item_size * 8);
    case NpyKind::unsigned_integer: return "uint" + std::to_string(item_size * 8);
    case NpyKind::boolean: return "bool";
  }
  return "?";
}

void MemorySource::read(std::uint64_t offset, std::size_t n, char* dst) const {
  std::memcpy(dst, bytes_.data() + offset, n);
}

FileSource::FileSource(const std::string& path) : path_(path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer before fstat refuses it (it changes
  // nothing for the regular files read here).
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd_ < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    fail(path, "not a regular file");
  }
  size_ = static_cast<std::uint64_t>(st.st_size);
}

FileSource::~FileSource() {
  if (fd_ >= 0) ::close(fd_);
}

void FileSource::read(std::uint64_t offset, std::size_t n, char* dst) const {
  while (n > 0) {
    const ssize_t got = ::pread(fd_, dst, n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0)
      fail(path_, got == 0 ? "the file shrank while it was read"
                           : std::string("read error: ") + std::strerror(errno));
    dst += got;
    offset += static_cast<std::uint64_t>(got);
    n -= static_cast<std::size_t>(got);
  }
}

NpyHeader read_npy_header(const ByteSource& source, const std::string& name) {
  NpyHeader h;
  const std::uint64_t size = source.size();
  unsigned char pre[12];
  if (size < 10)
    fail(name,
         "not a .npy file: " + std::to_string(size) + " bytes, shorter than the 10-byte preamble");
  source.read(0, 10, reinterpret_cast<char*>(pre));
  if (std::memcmp(pre, "\x93NUMPY", 6) != 0)
    fail(name, "not a .npy file: it does not start with \\x93NUMPY");
  h.major = pre[6];
  h.minor = pre[7];
  if (h.major < 1 || h.major > 3 || h.minor != 0) {
    fail(name, "unsupported .npy format version " + std::to_string(h.major) + "." +
                   std::to_string(h.minor) + " (supported: 1.0, 2.0, 3.0)");
  }
  std::uint64_t header_len = 0, preamble = 10;
  if (h.major == 1) {
    header_len = std::uint64_t(pre[8]) | std::uint64_t(pre[9]) << 8;
  } else {
    if (size < 12) fail(name, "truncated .npy preamble (" + std::to_string(size) + " bytes)");
    source.read(0, 12, reinterpret_cast<char*>(pre));
    header_len = little_u32(pre + 8);
    preamble = 12;
  }
  if (header_len > max_header_bytes) {
    fail(name, "the .npy header claims " + std::to_string(header_len) + " bytes, more than the " +
                   std::to_string(max_header_bytes) + " convmat accepts");
  }
  if (preamble + header_len > size) {
    fail(name, "truncated: the header claims " + std::to_string(header_len) +
                   " bytes but the file has only " + std::to_string(size - preamble) +
                   " after the preamble");
  }
  std::string text(static_cast<std::size_t>(header_len), '\0');
  source.read(preamble, text.size(), text.data());
  for (unsigned char c : text) {
    if (c == 0 || (c >= 0x80 && h.major < 3))
      fail(name, "malformed .npy header: it is not ASCII text");
  }
  HeaderParser(text, name).parse(h);
  parse_descr(h, name);
  h.data_offset = preamble + header_len;

  Index numel = 1;
  for (Index d : h.shape) {
    if (__builtin_mul_overflow(numel, d, &numel) || numel > max_dimension) {
      fail(name, "shape " + dims_to_tuple(h.shape) + " has more than 2^62 elements");
    }
  }
  h.numel = numel;
  const std::uint64_t need =
      static_cast<std::uint64_t>(numel) * static_cast<std::uint64_t>(h.item_size);
  const std::uint64_t have = size - h.data_offset;
  if (need != have) {
    fail(name, (need > have ? "truncated or lying shape: " : "lying shape or trailing bytes: ") +
                   std::string("shape ") + dims_to_tuple(h.shape) + " of " + h.type_name() +
                   " needs " + std::to_string(need) + " bytes of data, the file has " +
                   std::to_string(have));
  }
  return h;
}

std::vector<double> read_npy_data(const ByteSource& source, const NpyHeader& h,
                                  const std::string& name) {
  (void)name;
  std::vector<double> out(static_cast<std::size_t>(h.numel));
  const std::size_t item = static_cast<std::size_t>(h.item_size);
  const std::size_t chunk_items = (std::size_t{1} << 20) / item;
  std::vector<unsigned char> buffer(std::min<std::size_t>(chunk_items, out.size()) * item);
  for (std::size_t done = 0; done < out.size();) {
    const std::size_t n = std::min(chunk_items, out.size() - done);
    source.read(h.data_offset + done * item, n * item, reinterpret_cast<char*>(buffer.data()));
    for (std::size_t i = 0; i < n; ++i) out[done + i] = convert(h, buffer.data() + i * item);
    done += n;
  }
  if (h.fortran_order && h.shape.size() > 1) {
    // out holds the array in column-major order; C index (i₀, …, i_k) is at Fortran offset
    // i₀ + n₀·(i₁ + n₁·(…)). Walk the C order with an odometer and that offset.
    std::vector<double> c(out.size());
    const std::size_t rank = h.shape.size();
    Dims stride(rank), index(rank, 0);
    Index s = 1;
    for (std::size_t a = 0; a < rank; ++a) {
      stride[a] = s;
      s *= h.shape[a];
    }
    Index offset = 0;
    for (std::size_t i = 0; i < c.size(); ++i) {
      c[i] = out[static_cast<std::size_t>(offset)];
      for (std::size_t a = rank; a-- > 0;) {
        if (++index[a] < h.shape[a]) {
          offset += stride[a];
          break;
        }
        offset -= stride[a] * (h.shape[a] - 1);
        index[a] = 0;
      }
    }
    out.swap(c);
  }
  return out;
}

NpyArray read_npy(const std::string& path) {
  const FileSource source(path);
  NpyArray a;
  a.header = read_npy_header(source, path);
  a.data = read_npy_data(source, a.header, path);
  return a;
}

NpyHeader read_npy_header(const std::string& path) {
  return read_npy_header(FileSource(path), path);
}

NpyArray parse_npy(std::string_view bytes, const std::string& name) {
  const MemorySource source(bytes);
  NpyArray a;
  a.header = read_npy_header(source, name);
  a.data = read_npy_data(source, a.header, name);
  return a;
}

namespace {

// The preamble and header of a C-order array of `descr` and `shape`.
std::string npy_header_for(const Dims& shape, const char* descr) {
  std::string dict = std::string("{'descr': '") + descr +
                     "', 'fortran_order': False, 'shape': " + dims_to_tuple(shape) + ", }";
  // numpy pads with spaces so that preamble + header is a multiple of 64, ending in '\n'.
  const bool v2 = dict.size() + 1 + 10 > 65535;
  const std::size_t preamble = v2 ? 12 : 10;
  const std::size_t total = (preamble + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - preamble - dict.size() - 1, ' ');
  dict.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back(static_cast<char>(v2 ? 2 : 1));
  out.push_back('\0');
  const std::size_t len = dict.size();
  out.push_back(static_cast<char>(len & 0xff));
  out.push_back(static_cast<char>((len >> 8) & 0xff));
  if (v2) {
    out.push_back(static_cast<char>((len >> 16) & 0xff));
    out.push_back(static_cast<char>((len >> 24) & 0xff));
  }
  out += dict;
  return out;
}

}  // namespace

std::string npy_integer_bytes(const Dims& shape, const std::int64_t* data, std::string_view type) {
  const int item = type == "int32" ? 4 : 1;
  if (type != "int32" && type != "int8" && type != "uint8")
    throw std::invalid_argument("npy: cannot write dtype " + std::string(type));
  std::string out = npy_header_for(shape, type == "int32" ? "<i4" : type == "int8" ? "|i1" : "|u1");
  Index numel = 1;
  for (Index d : shape) numel *= d;
  const std::size_t start = out.size();
  out.resize(start + static_cast<std::size_t>(numel) * static_cast<std::size_t>(item));
  for (Index i = 0; i < numel; ++i) {
    char* at = out.data() + start + static_cast<std::size_t>(i) * static_cast<std::size_t>(item);
    if (item == 4) {
      const auto v = static_cast<std::int32_t>(data[i]);
      std::memcpy(at, &v, 4);
    } else {
      *at = static_cast<char>(static_cast<std::uint8_t>(data[i] & 0xff));
    }
  }
  return out;
}

std::string npy_header_bytes(const Dims& shape, bool float32) {
  return npy_header_for(shape, float32 ? "<f4" : "<f8");
}

std::string npy_data_bytes(const double* data, std::size_t n, bool float32) {
  const std::size_t item = float32 ? 4 : 8;
  std::string out(n * item, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    if (float32) {
      const float f = static_cast<float>(data[i]);
      std::memcpy(out.data() + i * 4, &f, 4);
    } else {
      std::memcpy(out.data() + i * 8, &data[i], 8);
    }
  }
  return out;
}

std::string npy_bytes(const Dims& shape, const double* data, bool float32) {
  Index numel = 1;
  for (Index d : shape) numel *= d;
  return npy_header_bytes(shape, float32) +
         npy_data_bytes(data, static_cast<std::size_t>(numel), float32);
}

void read_npy_elements(const ByteSource& source, const NpyHeader& h, std::uint64_t first,
                       std::size_t count, double* dst) {
  const std::size_t item = static_cast<std::size_t>(h.item_size);
  const std::size_t chunk_items = (std::size_t{1} << 20) / item;
  std::vector<unsigned char> buffer(std::min(chunk_items, count) * item);
  for (std::size_t done = 0; done < count;) {
    const std::size_t n = std::min(chunk_items, count - done);
    source.read(h.data_offset + (first + done) * item, n * item,
                reinterpret_cast<char*>(buffer.data()));
    for (std::size_t i = 0; i < n; ++i) dst[done + i] = convert(h, buffer.data() + i * item);
    done += n;
  }
}

}  // namespace convmat::cli
