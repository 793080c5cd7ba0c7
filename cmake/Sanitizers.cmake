# -DROCKSDR_SANITIZE=address : AddressSanitizer + UndefinedBehaviorSanitizer
# -DROCKSDR_SANITIZE=thread  : ThreadSanitizer
if(ROCKSDR_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(ROCKSDR_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(ROCKSDR_SANITIZE AND NOT ROCKSDR_SANITIZE STREQUAL "OFF")
  message(FATAL_ERROR "ROCKSDR_SANITIZE must be '', 'address' or 'thread', not '${ROCKSDR_SANITIZE}'")
endif()
