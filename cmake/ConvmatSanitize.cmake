# CONVMAT_SANITIZE: every C++ target of the tree built with GCC's or clang's run-time checkers.
#
#   cmake -S . -B build-sanitize -DCONVMAT_SANITIZE=address,undefined \
#         -DCONVMAT_BUILD_PYTHON=OFF -DCONVMAT_BUILD_BENCH=OFF        (what scripts/sanitize.sh does)
#
# The flags go to every target of the tree (the library, the command line, every test executable
# and the fuzz-corpus replays), compile and link, so a target added later is instrumented without
# asking. Undefined behaviour stops the program (no recovery), and frame pointers are kept so
# that the reports' stack traces are complete.
#
# Without an explicit CMAKE_BUILD_TYPE such a tree is built as `Sanitize`: -O1 -g1. -O1 measured
# fastest for building and running the suites together; -g1 gives the reports file:line without
# full debug information. The library's own checks are on: CONVMAT_ASSERT in any build type
# (CONVMAT_ASSERTIONS), assert() in the Sanitize type (no NDEBUG).
#
# The target `sanitize_suites` builds every executable of the tree (the library, the command, the
# test programs and the corpus replays), and nothing else: not the teaching page, documentation
# or other non-test targets that a build of `all` would make.
#
# The Python module is never built here: /usr/bin/python3 is not instrumented, and loading an
# instrumented extension into it needs the sanitizer runtime preloaded into the interpreter,
# whose own allocations then fill the leak reports.

set(CONVMAT_SANITIZE "" CACHE STRING
    "Comma-separated sanitizers for every C++ target: address, undefined, leak (empty: none)")

# The executables defined in `dir` and below it, appended to the list named `out`.
function(convmat_collect_executables dir out)
  set(found ${${out}})
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(t IN LISTS targets)
    get_target_property(type ${t} TYPE)
    if(type STREQUAL "EXECUTABLE")
      list(APPEND found ${t})
    endif()
  endforeach()
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub IN LISTS subdirs)
    convmat_collect_executables(${sub} found)
  endforeach()
  set(${out} ${found} PARENT_SCOPE)
endfunction()

# Run once the whole tree is configured (cmake_language(DEFER) at the top level's end).
function(convmat_add_sanitize_suites_target)
  set(executables)
  convmat_collect_executables(${CMAKE_SOURCE_DIR} executables)
  add_custom_target(sanitize_suites)
  if(executables)
    add_dependencies(sanitize_suites ${executables})
  endif()
endfunction()

# An MPI test (run by mpiexec) opts in with one line after its add_test, in any build:
#   convmat_sanitize_mpi_test(<test name>...)
# In a sanitized tree its processes unwind the stack of every allocation fully (DWARF, not frame
# pointers; slower): Open MPI's libraries and plugins have no frame pointers, and only a full stack
# reaches the ompi_mpi_init / ompi_mpi_finalize frames by which scripts/lsan.supp recognises the
# allocations Open MPI keeps until exit. Without it such a test fails with those leak reports.
function(convmat_sanitize_mpi_test)
  if(CONVMAT_SANITIZE)
    set_property(TEST ${ARGN} APPEND PROPERTY ENVIRONMENT_MODIFICATION
                 "ASAN_OPTIONS=string_append::fast_unwind_on_malloc=0")
  endif()
endfunction()

set(CMAKE_CXX_FLAGS_SANITIZE "-O1 -g1" CACHE STRING "C++ flags of the Sanitize build type")

if(CONVMAT_SANITIZE)
  string(REPLACE "," ";" convmat_sanitizers "${CONVMAT_SANITIZE}")
  foreach(s IN LISTS convmat_sanitizers)
    if(NOT s MATCHES "^(address|undefined|leak)$")
      message(FATAL_ERROR "CONVMAT_SANITIZE: '${s}' is not one of address, undefined, leak "
                          "(CONVMAT_SANITIZE=${CONVMAT_SANITIZE})")
    endif()
  endforeach()
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "^(GNU|Clang)$")
    message(FATAL_ERROR "CONVMAT_SANITIZE needs GCC or clang, got ${CMAKE_CXX_COMPILER_ID}")
  endif()
  if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
    set(CMAKE_BUILD_TYPE Sanitize CACHE STRING "Build type" FORCE)
  endif()
  set(convmat_sanitize_flags
      -fsanitize=${CONVMAT_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_compile_options(${convmat_sanitize_flags})
  add_link_options(${convmat_sanitize_flags})
  add_compile_definitions(CONVMAT_ASSERTIONS)
  cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL convmat_add_sanitize_suites_target)
  message(STATUS "convmat: -fsanitize=${CONVMAT_SANITIZE} on every target "
                 "(${CMAKE_BUILD_TYPE} build); the Python module is not built")
endif()
