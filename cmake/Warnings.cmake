# Warnings as errors for our own targets only (third-party headers are included as SYSTEM).
add_library(rocksdr_warnings INTERFACE)
target_compile_options(rocksdr_warnings INTERFACE
  -Wall -Wextra -Werror -Wshadow=local -Wnon-virtual-dtor -Wcast-align -Wunused
  -Woverloaded-virtual -Wformat=2 -Wimplicit-fallthrough)
