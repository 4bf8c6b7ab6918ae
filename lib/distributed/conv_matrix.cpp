#include "convmat/distributed/conv_matrix.hpp"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

// PetscObjectStateIncrease, the documented way to say that a matrix's values changed.
#include <petsc/private/petscimpl.h>

#include "convmat/core/buffer.hpp"
#include "convmat/core/conv_pattern.hpp"
#include "convmat/core/csr_matrix.hpp"
#include "convmat/core/detail/axis_map.hpp"
#include "convmat/distributed/environment.hpp"
#include "convmat/distributed/memory_guard.hpp"
#include "petsc_call.hpp"

namespace convmat::distributed {

namespace detail {

// What MatCreateMPIAIJWithSplitArrays leaves to its caller: the CSR arrays of this rank's rows,
// split into the block of its own columns (i, j local, a) and the block of the other ranks'
// columns (oi, oj global — PETSc renumbers oj in place to its compact halo numbering — oa). A
// PetscContainer composed into the matrix owns them, so they live exactly as long as it.
//
// The block of own columns, nearly all of W's share, is also a convmat CsrMatrix over the same
// column indices and values (j and a are its arrays; only its 64-bit row pointers are extra, 8
// bytes a row): its products are convmat's kernels (csr_matrix.hpp: partial sums, software
// prefetch, OpenMP threads within a rank), plugged into PETSc's block with MatSetOperation, while
// PETSc exchanges the halo and applies the small off-rank block.
struct MatrixStorage {
  MatrixStorage(const ConvSpec& s, int ranks, int p) : spec(s), layout(s, ranks), rank(p) {}
  ConvSpec spec;
  SlabLayout layout;
  int rank;
  Index nnz = 0;  // all ranks
  Buffer<PetscInt> i, oi, oj;
  Buffer<PetscScalar> oa;
  CsrMatrix<double> own;     // the block of own columns: its col_index() is j, values() a
  PetscInt* j = nullptr;     // = own's column indices (PetscInt and ColumnIndex are int32)
  PetscScalar* a = nullptr;  // = own's values
};

static_assert(sizeof(PetscInt) == sizeof(ColumnIndex) && sizeof(PetscScalar) == sizeof(double),
              "the block of own columns is shared between PETSc and convmat's CsrMatrix");

}  // namespace detail

namespace {

constexpr const char* storage_key = "convmat_storage";

using detail::MatrixStorage;

PetscErrorCode destroy_storage(void* p) {
  delete static_cast<std::shared_ptr<MatrixStorage>*>(p);
  return 0;
}

void attach(Mat m, const std::shared_ptr<MatrixStorage>& storage) {
  PetscContainer c = nullptr;
  CONVMAT_PETSC(PetscContainerCreate(PETSC_COMM_SELF, &c));
  CONVMAT_PETSC(PetscContainerSetPointer(c, new std::shared_ptr<MatrixStorage>(storage)));
  CONVMAT_PETSC(PetscContainerSetUserDestroy(c, destroy_storage));
  CONVMAT_PETSC(PetscObjectCompose(reinterpret_cast<PetscObject>(m), storage_key,
                                   reinterpret_cast<PetscObject>(c)));
  CONVMAT_PETSC(PetscContainerDestroy(&c));
}

// The storage composed into a matrix (null when there is none), for PETSc's callbacks.
PetscErrorCode storage_of(Mat m, MatrixStorage** storage) {
  PetscObject found = nullptr;
  void* pointer = nullptr;
  PetscFunctionBeginUser;
  PetscCall(PetscObjectQuery(reinterpret_cast<PetscObject>(m), storage_key, &found));
  PetscCheck(found, PETSC_COMM_SELF, PETSC_ERR_PLIB, "the block carries no convmat storage");
  PetscCall(PetscContainerGetPointer(reinterpret_cast<PetscContainer>(found), &pointer));
  *storage = static_cast<std::shared_ptr<MatrixStorage>*>(pointer)->get();
  PetscFunctionReturn(0);
}

// The block of own columns' y = A x and y = Aᵀ x by convmat's CSR kernels (MatSetOperation).
template <bool transposed>
PetscErrorCode own_product(Mat block, Vec x, Vec y) {
  MatrixStorage* s = nullptr;
  const PetscScalar* in = nullptr;
  PetscScalar* out = nullptr;
  PetscFunctionBeginUser;
  PetscCall(storage_of(block, &s));
  PetscCall(VecGetArrayRead(x, &in));
  PetscCall(VecGetArrayWrite(y, &out));
  if (transposed) {
    s->own.multiply_transposed(in, out);
  } else {
    s->own.multiply(in, out);
  }
  // What SeqAIJ's own product counts (a multiply and an add per nonzero), so that -log_view's
  // flop rates of MatMult and MatMultTranspose stay PETSc's.
  PetscCall(PetscLogFlops(2.0 * static_cast<PetscLogDouble>(s->own.nnz())));
  PetscCall(VecRestoreArrayWrite(y, &out));
  PetscCall(VecRestoreArrayRead(x, &in));
  PetscFunctionReturn(0);
}

// The number of spatial row positions per channel in a slab of `positions` along axis 0.
Index inner_rows(const SlabLayout& l) { return l.rows().inner(); }

// The chunks' structure and values, once freed, stay in the C library's heap (below W's arrays,
// which it cannot shrink past): a rank would hold W's share plus most of the chunks it ever built.
// glibc's malloc_trim hands such free pages back to the system.
void release_freed_memory() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

// Builds and refills one rank's rows of W in PETSc's split arrays.
class Builder {
 public:
  explicit Builder(MatrixStorage& s) : s_(s), l_(s.layout), p_(s.rank) {
    const ConvSpec& spec = s.spec;
    const bool t = spec.is_transposed();
    const Dims& row_size = t ? spec.input_size() : spec.output_size();
    const Dims& col_size = t ? spec.output_size() : spec.input_size();
    for (int a = 0; a < spec.rank(); ++a) {
      const auto u = static_cast<std::size_t>(a);
      axes_.push_back(::convmat::detail::make_axis_map(
          row_size[u], col_size[u], spec.kernel_size()[u], spec.stride()[u], spec.dilation()[u],
          spec.pad_begin()[u], spec.padding_mode(), spec.input_dilation()[u]));
    }
    cpg_ = l_.cols().channels() / spec.groups();
    slab_ = l_.rows().slab(p_);
    col_begin_ = l_.cols().begin(p_);
    col_end_ = l_.cols().begin(p_ + 1);
    plane_ = l_.cols().positions() * l_.cols().inner();
  }

  // i and oi, the row pointers of the two blocks, from the counts per row: a row (channel, o,
  // rest) holds channels_per_group · entries_0(o) · Π entries_a(o_a) nonzeros, and a column's
  // owner depends on its axis-0 position alone, so both blocks' counts factorize over the axes.
  // Returns the two blocks' sizes.
  std::pair<Index, Index> row_pointers() {
    const Index m = l_.rows().local_size(p_);
    const Index thickness = slab_.end - slab_.begin;
    const Index inner = inner_rows(l_);
    // Spatial rows of one channel: (o − begin, rest) in C order.
    std::vector<Index> own(static_cast<std::size_t>(thickness * inner)),
        other(static_cast<std::size_t>(thickness * inner));
    std::vector<Index> rest_entries(static_cast<std::size_t>(inner), 1);
    // Π_{a>=1} entries_a(o_a) for every rest position (C order over axes 1..rank−1).
    for (std::size_t r = 0; r < rest_entries.size(); ++r) {
      Index idx = static_cast<Index>(r), product = 1;
      for (std::size_t a = axes_.size(); a-- > 1;) {
        const Index o = idx % axes_[a].rows;
        idx /= axes_[a].rows;
        product *= axes_[a].entries(o);
      }
      rest_entries[r] = product;
    }
    const ::convmat::detail::AxisMap& m0 = axes_[0];
    for (Index o = slab_.begin; o < slab_.end; ++o) {
      Index in = 0, out = 0;
      for (Index e = m0.entry_ptr[o]; e < m0.entry_ptr[o + 1]; ++e) {
        const Index c = m0.entry_col[e];
        (c >= col_begin_ && c < col_end_ ? in : out) += 1;
      }
      for (Index r = 0; r < inner; ++r) {
        const auto q = static_cast<std::size_t>((o - slab_.begin) * inner + r);
        own[q] = cpg_ * in * rest_entries[static_cast<std::size_t>(r)];
        other[q] = cpg_ * out * rest_entries[static_cast<std::size_t>(r)];
      }
    }
    s_.i = Buffer<PetscInt>(static_cast<std::size_t>(m + 1));
    s_.oi = Buffer<PetscInt>(static_cast<std::size_t>(m + 1));
    Index total_own = 0, total_other = 0;
    s_.i[0] = 0;
    s_.oi[0] = 0;
    const Index per_channel = thickness * inner;
    for (Index row = 0; row < m; ++row) {
      const auto q = static_cast<std::size_t>(row % per_channel);
      total_own += own[q];
      total_other += other[q];
      s_.i[static_cast<std::size_t>(row + 1)] = static_cast<PetscInt>(total_own);
      s_.oi[static_cast<std::size_t>(row + 1)] = static_cast<PetscInt>(total_other);
    }
    return {total_own, total_other};
  }

  // Builds (structure = true) or refills this rank's rows from `weight`, a few positions of the
  // slab at a time.
  void rows(const double* weight, bool structure) {
    const Index thickness = slab_.end - slab_.begin;
    if (thickness == 0) return;
    // Chunks of about 1/16 of the slab (at least one position): the chunk's own structure and
    // values are the only memory beyond W's arrays.
    const Index per_chunk = std::max<Index>(1, (thickness + 15) / 16);
    for (Index b = slab_.begin; b < slab_.end; b += per_chunk) {
      const Index e = std::min(slab_.end, b + per_chunk);
      const ConvPattern part(s_.spec, RowSlab{b, e});
      Buffer<double> values(static_cast<std::size_t>(part.nnz()));
      part.fill(weight, values.data());
      chunk(part, values.data(), b, structure);
      release_freed_memory();
    }
  }

 private:
  // Places one row of W — its global columns `cols` and `values`, `length` of them, in convmat's
  // order — as this rank's local row `local`: the entries in its own columns at [i[local],
  // i[local + 1]) of j (local column numbers) and a, the others at [oi[local], oi[local + 1]) of oj
  // (PETSc's global numbers) and oa. Only the values when `structure` is false. Returns false when
  // the row's counts disagree with i and oi.
  bool place_row(const ColumnIndex* cols, const double* values, Index length, Index local,
                 bool structure, std::vector<std::pair<PetscInt, double>>& others) {
    const auto lu = static_cast<std::size_t>(local);
    PetscInt* j = s_.j + s_.i[lu];
    double* a = s_.a + s_.i[lu];
    const Index own = s_.i[lu + 1] - s_.i[lu], other = s_.oi[lu + 1] - s_.oi[lu];
    if (length == 0) return own + other == 0;  // zero padding can leave a row without entries
    const Index col_inner = l_.cols().inner();
    const Index thickness = col_end_ - col_begin_;
    if (other == 0) {
      // Every column is this rank's: per column channel c the local column is the global one
      // shifted by c·(thickness·inner − plane) − b_p·inner (the slab's offset).
      const Index block = length / cpg_;
      const Index c0 = cols[0] / plane_;
      for (Index k = 0; k < cpg_; ++k) {
        const Index shift = (c0 + k) * (thickness * col_inner - plane_) - col_begin_ * col_inner;
        if (structure) {
          for (Index e = k * block; e < (k + 1) * block; ++e)
            j[e] = static_cast<PetscInt>(cols[e] + shift);
        }
      }
      std::memcpy(a, values, sizeof(double) * static_cast<std::size_t>(length));
      return own == length;
    }
    // A row at a slab's border: columns of several ranks. Own columns keep convmat's order,
    // which is PETSc's within one rank; the others are sorted by PETSc's global index.
    others.clear();
    Index written = 0;
    for (Index e = 0; e < length; ++e) {
      const Index col = cols[e];
      const Index position = col % plane_ / col_inner;
      if (position >= col_begin_ && position < col_end_) {
        if (structure) {
          const Index channel = col / plane_, within = col % col_inner;
          j[written] = static_cast<PetscInt>(
              (channel * thickness + position - col_begin_) * col_inner + within);
        }
        a[written++] = values[e];
      } else {
        others.emplace_back(static_cast<PetscInt>(l_.cols().petsc_index(col)), values[e]);
      }
    }
    std::sort(others.begin(), others.end(),
              [](const auto& x, const auto& y) { return x.first < y.first; });
    if (written != own || static_cast<Index>(others.size()) != other) return false;
    PetscInt* oj = s_.oj.data() + s_.oi[lu];
    double* oa = s_.oa.data() + s_.oi[lu];
    for (std::size_t k = 0; k < others.size(); ++k) {
      if (structure) oj[k] = others[k].first;
      oa[k] = others[k].second;
    }
    return true;
  }

  // Writes the rows of one chunk (a pattern of a few positions) into the split arrays, in
  // parallel.
  void chunk(const ConvPattern& part, const double* values, Index b, bool structure) {
    const SparsityPattern& sp = *part.sparsity();
    const Index inner = inner_rows(l_);
    const Index chunk_per_channel = (part.slab().end - part.slab().begin) * inner;
    const Index rank_per_channel = (slab_.end - slab_.begin) * inner;
    const Index rows = part.rows();
    bool mismatch = false;
#pragma omp parallel if (part.nnz() > (1 << 17))
    {
      std::vector<std::pair<PetscInt, double>> others;
#pragma omp for schedule(dynamic, 64)
      for (Index r = 0; r < rows; ++r) {
        const Index channel = r / chunk_per_channel;
        const Index local =
            channel * rank_per_channel + (b - slab_.begin) * inner + r % chunk_per_channel;
        const RowPointer first = sp.row_ptr[static_cast<std::size_t>(r)];
        const Index length = sp.row_ptr[static_cast<std::size_t>(r + 1)] - first;
        if (!place_row(sp.col.data() + first, values + first, length, local, structure, others)) {
#pragma omp atomic write
          mismatch = true;
        }
      }
    }
    // The counts of row_pointers() and the rows ConvPattern built disagree: a bug, not input.
    if (mismatch) throw std::logic_error("distributed W: a row's length differs from its count");
  }

  MatrixStorage& s_;
  const SlabLayout& l_;
  int p_;
  std::vector<::convmat::detail::AxisMap> axes_;
  Index cpg_ = 1;
  RowSlab slab_;
  Index col_begin_ = 0, col_end_ = 0, plane_ = 1;
};

}  // namespace

DistributedConvMatrix::DistributedConvMatrix(MPI_Comm comm, const ConvSpec& spec,
                                             const double* weight)
    : DistributedConvMatrix(comm, spec, weight, default_rank_memory_limit(comm)) {}

DistributedConvMatrix::DistributedConvMatrix(MPI_Comm comm, const ConvSpec& spec,
                                             const double* weight, const MemoryLimit& limit) {
  const int rank = rank_of(comm), ranks = size_of(comm);
  if (weight == nullptr) {
    throw std::invalid_argument("DistributedConvMatrix needs a weight tensor");
  }
  storage_ = std::make_shared<MatrixStorage>(spec, ranks, rank);
  MatrixStorage& s = *storage_;
  const SlabLayout& l = s.layout;
  require_rank_memory(comm, limit, l, 0);
  collectively(comm, [&] {
    const Index nnz = l.local_nnz(rank);
    if (nnz > std::numeric_limits<PetscInt>::max()) {
      throw std::invalid_argument(
          "this rank's share of W has " + std::to_string(nnz) +
          " nonzeros, more than PETSc's 32-bit indices allow (2147483647): use more ranks");
    }
  });
  Builder builder(s);
  const auto [own, other] = builder.row_pointers();
  const auto m = static_cast<PetscInt>(l.rows().local_size(rank));
  const auto n = static_cast<PetscInt>(l.cols().local_size(rank));
  s.oj = Buffer<PetscInt>(static_cast<std::size_t>(std::max<Index>(other, 1)));
  s.oa = Buffer<PetscScalar>(static_cast<std::size_t>(std::max<Index>(other, 1)));
  auto pattern = std::make_shared<SparsityPattern>();
  pattern->rows = m;
  pattern->cols = n;
  pattern->row_ptr = Buffer<RowPointer>(static_cast<std::size_t>(m) + 1);
  std::copy(s.i.begin(), s.i.end(), pattern->row_ptr.begin());
  pattern->col = Buffer<ColumnIndex>(static_cast<std::size_t>(own));
  Buffer<double> values(static_cast<std::size_t>(own));
  s.j = pattern->col.data();
  s.a = values.data();
  builder.rows(weight, true);
  s.own = CsrMatrix<double>(pattern, std::move(values));  // the same arrays, now read-only shape
  const Index local = own + other;
  CONVMAT_MPI(MPI_Allreduce(&local, &s.nnz, 1, MPI_INT64_T, MPI_SUM, comm));

  // PETSc wants arrays even for an empty block.
  static PetscInt no_index = 0;
  static PetscScalar no_value = 0;
  CONVMAT_PETSC(MatCreateMPIAIJWithSplitArrays(comm, m, n, static_cast<PetscInt>(l.rows().size()),
                                               static_cast<PetscInt>(l.cols().size()), s.i.data(),
                                               own ? s.j : &no_index, own ? s.a : &no_value,
                                               s.oi.data(), s.oj.data(), s.oa.data(), w_.out()));
  attach(w_, storage_);
  Mat diagonal = nullptr;
  CONVMAT_PETSC(MatMPIAIJGetSeqAIJ(w_, &diagonal, nullptr, nullptr));
  attach(diagonal, storage_);
  CONVMAT_PETSC(
      MatSetOperation(diagonal, MATOP_MULT, reinterpret_cast<void (*)(void)>(own_product<false>)));
  CONVMAT_PETSC(MatSetOperation(diagonal, MATOP_MULT_TRANSPOSE,
                                reinterpret_cast<void (*)(void)>(own_product<true>)));
  if (spec.is_transposed()) {
    CONVMAT_PETSC(MatCreateTranspose(w_, m_.out()));
    attach(m_, storage_);
  } else {
    CONVMAT_PETSC(PetscObjectReference(reinterpret_cast<PetscObject>(w_.get())));
    *m_.out() = w_.get();
  }
}

DistributedConvMatrix DistributedConvMatrix::attached_to(Mat m) {
  PetscObject found = nullptr;
  if (m) CONVMAT_PETSC(PetscObjectQuery(reinterpret_cast<PetscObject>(m), storage_key, &found));
  if (!found) {
    throw std::invalid_argument(
        "this PETSc matrix was not made by convmat (DistributedConvMatrix or "
        "convmat.petsc.conv_matrix): it carries no layer");
  }
  void* pointer = nullptr;
  CONVMAT_PETSC(PetscContainerGetPointer(reinterpret_cast<PetscContainer>(found), &pointer));
  DistributedConvMatrix d;
  d.storage_ = *static_cast<std::shared_ptr<MatrixStorage>*>(pointer);
  PetscBool transposed = PETSC_FALSE;
  CONVMAT_PETSC(
      PetscObjectTypeCompare(reinterpret_cast<PetscObject>(m), MATTRANSPOSEVIRTUAL, &transposed));
  Mat w = m;
  if (transposed) CONVMAT_PETSC(MatTransposeGetMat(m, &w));
  CONVMAT_PETSC(PetscObjectReference(reinterpret_cast<PetscObject>(w)));
  *d.w_.out() = w;
  if (d.spec().is_transposed()) {
    if (transposed) {
      CONVMAT_PETSC(PetscObjectReference(reinterpret_cast<PetscObject>(m)));
      *d.m_.out() = m;
    } else {
      CONVMAT_PETSC(MatCreateTranspose(w, d.m_.out()));
      attach(d.m_, d.storage_);
    }
  } else {
    CONVMAT_PETSC(PetscObjectReference(reinterpret_cast<PetscObject>(w)));
    *d.m_.out() = w;
  }
  return d;
}

MPI_Comm DistributedConvMatrix::comm() const {
  return PetscObjectComm(reinterpret_cast<PetscObject>(w_.get()));
}
int DistributedConvMatrix::rank() const { return storage_->rank; }
const ConvSpec& DistributedConvMatrix::spec() const { return storage_->spec; }
const SlabLayout& DistributedConvMatrix::layout() const { return storage_->layout; }
Index DistributedConvMatrix::nnz() const { return storage_->nnz; }
Index DistributedConvMatrix::local_nnz() const {
  return storage_->own.nnz() + storage_->oi[storage_->oi.size() - 1];
}

void DistributedConvMatrix::refill(const double* weight) {
  if (weight == nullptr) {
    throw std::invalid_argument("DistributedConvMatrix::refill needs a weight tensor");
  }
  Builder(*storage_).rows(weight, false);
  // The values changed in PETSc's own arrays: the blocks' Get/RestoreArray drop what they cache
  // about their values, and every matrix's state moves on, so that solvers set up again.
  Mat diagonal = nullptr, off = nullptr;
  CONVMAT_PETSC(MatMPIAIJGetSeqAIJ(w_, &diagonal, &off, nullptr));
  for (Mat block : {diagonal, off}) {
    PetscScalar* values = nullptr;
    CONVMAT_PETSC(MatSeqAIJGetArray(block, &values));
    CONVMAT_PETSC(MatSeqAIJRestoreArray(block, &values));
  }
  CONVMAT_PETSC(PetscObjectStateIncrease(reinterpret_cast<PetscObject>(w_.get())));
  if (m_.get() != w_.get()) {
    CONVMAT_PETSC(PetscObjectStateIncrease(reinterpret_cast<PetscObject>(m_.get())));
  }
}

void DistributedConvMatrix::apply(Vec x, Vec y) const { CONVMAT_PETSC(MatMult(m_, x, y)); }

void DistributedConvMatrix::apply_adjoint(Vec y, Vec x) const {
  CONVMAT_PETSC(MatMultTranspose(m_, y, x));
}

Owned<Vec> DistributedConvMatrix::create_input() const {
  Owned<Vec> v;
  CONVMAT_PETSC(MatCreateVecs(m_, v.out(), nullptr));
  return v;
}

Owned<Vec> DistributedConvMatrix::create_output() const {
  Owned<Vec> v;
  CONVMAT_PETSC(MatCreateVecs(m_, nullptr, v.out()));
  return v;
}

const VectorLayout& DistributedConvMatrix::layout_of(Side side) const {
  return side == Side::input ? layout().input() : layout().output();
}

void DistributedConvMatrix::set_local(Vec v, const double* slab) {
  PetscInt n = 0;
  PetscScalar* a = nullptr;
  CONVMAT_PETSC(VecGetLocalSize(v, &n));
  CONVMAT_PETSC(VecGetArray(v, &a));
  if (n > 0) std::memcpy(a, slab, sizeof(double) * static_cast<std::size_t>(n));
  CONVMAT_PETSC(VecRestoreArray(v, &a));
}

void DistributedConvMatrix::get_local(Vec v, double* slab) {
  PetscInt n = 0;
  const PetscScalar* a = nullptr;
  CONVMAT_PETSC(VecGetLocalSize(v, &n));
  CONVMAT_PETSC(VecGetArrayRead(v, &a));
  if (n > 0) std::memcpy(slab, a, sizeof(double) * static_cast<std::size_t>(n));
  CONVMAT_PETSC(VecRestoreArrayRead(v, &a));
}

namespace {

// The sample (C, positions, inner) in C order ↔ PETSc's order: per rank, per channel, its slab.
template <class F>
void for_each_slab_piece(const VectorLayout& l, F&& f) {
  const Index plane = l.positions() * l.inner();
  Index petsc = 0;
  for (int q = 0; q < l.ranks(); ++q) {
    const Index piece = (l.begin(q + 1) - l.begin(q)) * l.inner();
    for (Index c = 0; c < l.channels(); ++c, petsc += piece) {
      f(c * plane + l.begin(q) * l.inner(), petsc, piece);
    }
  }
}

void check_vector(const VectorLayout& l, int rank, Vec v, const char* who) {
  PetscInt n = 0, global = 0;
  CONVMAT_PETSC(VecGetLocalSize(v, &n));
  CONVMAT_PETSC(VecGetSize(v, &global));
  if (global != l.size() || n != l.local_size(rank)) {
    throw std::invalid_argument(std::string(who) + ": the vector must have the layer's layout, " +
                                std::to_string(l.size()) + " entries of which " +
                                std::to_string(l.local_size(rank)) + " on rank " +
                                std::to_string(rank) + ", got " + std::to_string(global) +
                                " with " + std::to_string(n) + " here");
  }
}

std::vector<int> counts_of(const VectorLayout& l, std::vector<int>& displacements) {
  std::vector<int> counts(static_cast<std::size_t>(l.ranks()));
  displacements.resize(counts.size());
  for (int q = 0; q < l.ranks(); ++q) {
    counts[static_cast<std::size_t>(q)] = static_cast<int>(l.local_size(q));
    displacements[static_cast<std::size_t>(q)] = static_cast<int>(l.offset(q));
  }
  return counts;
}

}  // namespace

void DistributedConvMatrix::scatter(Side side, const double* sample, Vec v) const {
  const VectorLayout& l = layout_of(side);
  const MPI_Comm c = comm();
  collectively(c, [&] {
    check_vector(l, rank(), v, "scatter");
    if (rank() == 0 && sample == nullptr) {
      throw std::invalid_argument("scatter: rank 0 must give the sample");
    }
  });
  std::vector<double> packed;
  if (rank() == 0) {
    packed.resize(static_cast<std::size_t>(l.size()));
    for_each_slab_piece(l, [&](Index natural, Index petsc, Index count) {
      std::copy_n(sample + natural, count, packed.data() + petsc);
    });
  }
  std::vector<int> displacements;
  const std::vector<int> counts = counts_of(l, displacements);
  PetscScalar* a = nullptr;
  CONVMAT_PETSC(VecGetArray(v, &a));
  CONVMAT_MPI(MPI_Scatterv(packed.data(), counts.data(), displacements.data(), MPI_DOUBLE, a,
                           counts[static_cast<std::size_t>(rank())], MPI_DOUBLE, 0, c));
  CONVMAT_PETSC(VecRestoreArray(v, &a));
}

void DistributedConvMatrix::gather(Side side, Vec v, double* sample) const {
  const VectorLayout& l = layout_of(side);
  const MPI_Comm c = comm();
  collectively(c, [&] {
    check_vector(l, rank(), v, "gather");
    if (rank() == 0 && sample == nullptr) {
      throw std::invalid_argument("gather: rank 0 must give room for the sample");
    }
  });
  std::vector<double> packed(rank() == 0 ? static_cast<std::size_t>(l.size()) : 0);
  std::vector<int> displacements;
  const std::vector<int> counts = counts_of(l, displacements);
  const PetscScalar* a = nullptr;
  CONVMAT_PETSC(VecGetArrayRead(v, &a));
  CONVMAT_MPI(MPI_Gatherv(a, counts[static_cast<std::size_t>(rank())], MPI_DOUBLE, packed.data(),
                          counts.data(), displacements.data(), MPI_DOUBLE, 0, c));
  CONVMAT_PETSC(VecRestoreArrayRead(v, &a));
  if (rank() == 0) {
    for_each_slab_piece(l, [&](Index natural, Index petsc, Index count) {
      std::copy_n(packed.data() + petsc, count, sample + natural);
    });
  }
}

}  // namespace convmat::distributed
