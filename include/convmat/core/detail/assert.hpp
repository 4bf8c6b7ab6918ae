#pragma once
// CONVMAT_ASSERT(condition, message): the library's checks of its own invariants, the third error
// channel — a call from inside convmat that breaks a precondition (a row past the end, arrays
// whose lengths disagree, a kernel width that does not exist) and would otherwise read or write
// out of bounds without a word. Never for user input: that is validated at the boundary and
// throws std::invalid_argument.
//
// On in Debug builds (NDEBUG not defined), in sanitizer builds (AddressSanitizer, or
// CONVMAT_ASSERTIONS defined, as the CONVMAT_SANITIZE build does) and wherever CONVMAT_ASSERTIONS
// is defined. Off in Release builds (NDEBUG): the condition is not evaluated and costs nothing.
// A failed assertion prints the condition, the message and the place to stderr and aborts.

#include <cstdio>
#include <cstdlib>

#if !defined(NDEBUG) || defined(CONVMAT_ASSERTIONS) || defined(__SANITIZE_ADDRESS__)
#define CONVMAT_ASSERTIONS_ON 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CONVMAT_ASSERTIONS_ON 1
#endif
#endif
#ifndef CONVMAT_ASSERTIONS_ON
#define CONVMAT_ASSERTIONS_ON 0
#endif

namespace convmat::detail {

// Whether CONVMAT_ASSERT checks anything in this translation unit: for checks that need a loop
// (`if constexpr (assertions_enabled)`), so that Release builds do not even walk the data.
constexpr bool assertions_enabled = CONVMAT_ASSERTIONS_ON;

[[noreturn]] inline void assertion_failed(const char* condition, const char* message,
                                          const char* file, int line) {
  std::fprintf(stderr, "convmat: internal assertion failed: %s (%s) at %s:%d\n", condition, message,
               file, line);
  std::abort();
}

}  // namespace convmat::detail

#if CONVMAT_ASSERTIONS_ON
#define CONVMAT_ASSERT(condition, message) \
  ((condition) ? void(0)                   \
               : ::convmat::detail::assertion_failed(#condition, message, __FILE__, __LINE__))
#else
// Not evaluated; sizeof keeps the names it mentions "used".
#define CONVMAT_ASSERT(condition, message) ((void)sizeof((condition) ? true : false))
#endif
