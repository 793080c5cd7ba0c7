# -DROCKSDR_SANITIZE=address : AddressSanitizer + UndefinedBehaviorSanitizer
# -DROCKSDR_SANITIZE=thread  : ThreadSanitizer
if(ROCKSDR_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(ROCKSDR_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  # g++ >= 12 warns that TSan does not model std::atomic_thread_fence (Boost.Asio uses it); with
  # -Werror that would stop the build. The fences Asio uses sit next to real atomics/mutexes.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12)
    add_compile_options(-Wno-tsan)
  endif()
  add_link_options(-fsanitize=thread)
elseif(ROCKSDR_SANITIZE AND NOT ROCKSDR_SANITIZE STREQUAL "OFF")
  message(FATAL_ERROR "ROCKSDR_SANITIZE must be '', 'address' or 'thread', not '${ROCKSDR_SANITIZE}'")
endif()
