#pragma once
// Owned<T>: one reference to a PETSc object (Vec, Mat, KSP, VecScatter, IS), released by its
// XxxDestroy when the handle goes out of scope. Moves, never copies; get() lends the object,
// release() hands the reference to the caller (who then destroys it, PETSc style).

#include <petscksp.h>
#include <petscmat.h>
#include <petscvec.h>

#include <utility>

namespace convmat::distributed {

namespace detail {
inline PetscErrorCode destroy(Vec* v) { return VecDestroy(v); }
inline PetscErrorCode destroy(Mat* m) { return MatDestroy(m); }
inline PetscErrorCode destroy(KSP* k) { return KSPDestroy(k); }
inline PetscErrorCode destroy(VecScatter* s) { return VecScatterDestroy(s); }
inline PetscErrorCode destroy(IS* s) { return ISDestroy(s); }
}  // namespace detail

template <class T>
class Owned {
 public:
  Owned() = default;
  explicit Owned(T object) : object_(object) {}  // takes over one reference
  Owned(Owned&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
  Owned& operator=(Owned&& other) noexcept {
    if (this != &other) {
      reset();
      object_ = std::exchange(other.object_, nullptr);
    }
    return *this;
  }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  ~Owned() { reset(); }

  T get() const { return object_; }
  operator T() const { return object_; }  // NOLINT: passes straight into PETSc calls
  T* out() {                              // for PETSc's creation calls: VecCreate(comm, v.out())
    reset();
    return &object_;
  }
  T release() { return std::exchange(object_, nullptr); }
  void reset() {
    if (object_) detail::destroy(&object_);  // nothing useful to do with an error here
    object_ = nullptr;
  }

 private:
  T object_ = nullptr;
};

}  // namespace convmat::distributed
