#pragma once

// Invariant checks inside fuzz targets: a broken invariant must crash so the
// fuzzer records the input, in fuzzing builds and in the corpus replay alike
// (assert() would vanish under NDEBUG).

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                          \
  do {                                                                 \
    if (!(condition)) {                                                \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, \
                   __LINE__, #condition);                              \
      std::abort();                                                    \
    }                                                                  \
  } while (false)
