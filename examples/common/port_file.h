// Publishes a bound port for whoever started the process (tests, scripts/demo-dr): the port in
// decimal and a newline, written to "<path>.tmp" and renamed over `path`, so a reader that sees
// the file sees all of it.
//
// Who may call: anyone; not concurrently for the same path.
#pragma once

#include <cstdint>
#include <string>

#include "rocksdr/status.h"

namespace rocksdr::examples {

// Errors: kIOError naming the file.
Status WritePortFile(const std::string& path, uint16_t port);

}  // namespace rocksdr::examples
