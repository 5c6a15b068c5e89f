# Warnings for our own targets (lh_warnings is linked PRIVATE by every layer).
add_library(lh_warnings INTERFACE)
target_compile_options(lh_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-qual -Wundef
  -Wno-missing-field-initializers)
if(LH_WERROR)
  target_compile_options(lh_warnings INTERFACE -Werror)
endif()
target_compile_definitions(lh_warnings INTERFACE _GLIBCXX_ASSERTIONS)

if(LH_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  # GCC's uninitialized-use analysis runs after ASan instrumentation and reports values inside
  # Boost.Graph's named_graph (an empty boost::optional) as uninitialized. The plain -Werror
  # build keeps these warnings; only the instrumented build drops them.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(lh_warnings INTERFACE -Wno-uninitialized -Wno-maybe-uninitialized)
  endif()
  add_link_options(-fsanitize=address,undefined)
endif()
if(LH_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
