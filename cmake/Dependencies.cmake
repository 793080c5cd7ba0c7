# Every dependency comes from a Debian 12 package; scripts/deps installs them.
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(CLI11 REQUIRED)
find_package(spdlog REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS system)
# Debian's RocksDBConfig.cmake drags in optional compression finders; the library itself is enough.
find_library(ROCKSDB_LIBRARY NAMES rocksdb REQUIRED)
find_path(ROCKSDB_INCLUDE_DIR rocksdb/db.h REQUIRED)
add_library(RocksDB::rocksdb UNKNOWN IMPORTED)
set_target_properties(RocksDB::rocksdb PROPERTIES
  IMPORTED_LOCATION ${ROCKSDB_LIBRARY}
  INTERFACE_INCLUDE_DIRECTORIES ${ROCKSDB_INCLUDE_DIR})
if(ROCKSDR_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(ROCKSDR_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
