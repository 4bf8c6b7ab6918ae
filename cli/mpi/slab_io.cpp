#include "slab_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "convmat/distributed/environment.hpp"

namespace convmat::cli::mpi {

namespace {

// Calls f(file_element, local_element, count) for each contiguous range of this rank's part.
template <class F>
void for_each_range(const distributed::VectorLayout& layout, int rank, Index samples, F&& f) {
  const RowSlab slab = layout.slab(rank);
  const Index channels = layout.channels(), inner = layout.inner();
  const Index count = (slab.end - slab.begin) * inner;
  if (count == 0) return;
  for (Index n = 0; n < samples; ++n) {
    for (Index c = 0; c < channels; ++c) {
      const Index file = ((n * channels + c) * layout.positions() + slab.begin) * inner;
      const Index local = (n * channels + c) * count;
      f(file, local, count);
    }
  }
}

std::string system_error(const std::string& what, const std::string& path) {
  return path + ": cannot " + what + ": " + std::strerror(errno);
}

}  // namespace

std::vector<double> read_slab(MPI_Comm comm, const std::string& path, const NpyHeader& header,
                              const distributed::VectorLayout& layout, Index samples) {
  const int rank = distributed::rank_of(comm);
  std::vector<double> local;
  distributed::collectively(comm, [&] {
    if (header.fortran_order && header.shape.size() > 1) {
      throw std::invalid_argument(path +
                                  ": a Fortran-order array; convmat-mpi reads C-order .npy files "
                                  "(numpy.ascontiguousarray before numpy.save)");
    }
    if (header.numel != samples * layout.size()) {
      throw std::invalid_argument(path + ": " + std::to_string(header.numel) +
                                  " values, expected " + std::to_string(samples * layout.size()));
    }
    local.resize(static_cast<std::size_t>(samples * layout.local_size(rank)));
    const FileSource source(path);
    for_each_range(layout, rank, samples, [&](Index file, Index at, Index count) {
      read_npy_elements(source, header, static_cast<std::uint64_t>(file),
                        static_cast<std::size_t>(count), local.data() + at);
    });
  });
  return local;
}

SlabOutput::SlabOutput(MPI_Comm comm, std::string target, const Dims& shape, bool float32)
    : comm_(comm),
      rank_(distributed::rank_of(comm)),
      target_(std::move(target)),
      float32_(float32) {
  const std::string header = npy_header_bytes(shape, float32);
  data_offset_ = header.size();
  distributed::collectively(comm_, [&] {
    if (rank_ != 0) return;
    struct stat st {};
    if (::stat(target_.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      throw std::invalid_argument(target_ +
                                  ": not a regular file (convmat-mpi writes its output into a "
                                  "file it renames over the target)");
    }
    std::string name = target_ + ".tmp-XXXXXX";
    const int fd = ::mkstemp(name.data());
    if (fd < 0) throw std::invalid_argument(system_error("create a file beside it", target_));
    temp_ = name;
    on_signal_ = std::make_unique<RemoveOnSignal>(temp_);
    const mode_t mask = ::umask(0);
    ::umask(mask);
    Index numel = 1;
    for (Index d : shape) numel *= d;
    const auto size =
        static_cast<off_t>(header.size() + static_cast<std::size_t>(numel) * (float32 ? 4 : 8));
    const bool ok =
        ::fchmod(fd, 0666 & ~mask) == 0 &&
        ::pwrite(fd, header.data(), header.size(), 0) == static_cast<ssize_t>(header.size()) &&
        ::ftruncate(fd, size) == 0;
    const int saved = errno;
    ::close(fd);
    if (!ok) {  // the constructor throws: no destructor removes it
      ::unlink(temp_.c_str());
      errno = saved;
      throw std::invalid_argument(system_error("write", temp_));
    }
    if (after_first_write) after_first_write();
  });
  // The others learn the temporary file's name.
  unsigned long length = temp_.size();
  distributed::check_mpi(MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG, 0, comm_), "MPI_Bcast");
  temp_.resize(length);
  distributed::check_mpi(MPI_Bcast(temp_.data(), static_cast<int>(length), MPI_CHAR, 0, comm_),
                         "MPI_Bcast");
}

SlabOutput::~SlabOutput() {
  if (rank_ == 0 && !committed_ && !temp_.empty()) ::unlink(temp_.c_str());
  on_signal_.reset();
}

void SlabOutput::write(const distributed::VectorLayout& layout, Index samples,
                       const double* local) {
  distributed::collectively(comm_, [&] {
    if (layout.local_size(rank_) == 0) return;
    const int fd = ::open(temp_.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) throw std::invalid_argument(system_error("open", temp_));
    const std::size_t item = float32_ ? 4 : 8;
    bool ok = true;
    for_each_range(layout, rank_, samples, [&](Index file, Index at, Index count) {
      if (!ok) return;
      const std::string bytes =
          npy_data_bytes(local + at, static_cast<std::size_t>(count), float32_);
      const auto offset = static_cast<off_t>(data_offset_ + static_cast<std::size_t>(file) * item);
      for (std::size_t done = 0; ok && done < bytes.size();) {
        const ssize_t n = ::pwrite(fd, bytes.data() + done, bytes.size() - done,
                                   offset + static_cast<off_t>(done));
        if (n <= 0)
          ok = false;
        else
          done += static_cast<std::size_t>(n);
      }
    });
    ok = ok && ::fsync(fd) == 0;
    const int saved = errno;
    ::close(fd);
    errno = saved;
    if (!ok) throw std::invalid_argument(system_error("write", temp_));
  });
}

void SlabOutput::commit() {
  distributed::collectively(comm_, [&] {
    if (rank_ != 0) return;
    if (::rename(temp_.c_str(), target_.c_str()) != 0)
      throw std::invalid_argument(system_error("rename " + temp_ + " to it", target_));
    on_signal_.reset();
  });
  committed_ = true;
}

}  // namespace convmat::cli::mpi
