// TlsFileError: the message for a TLS certificate, key or CA file that OpenSSL (through Asio)
// would not load. Asio reports most of these as "asio.ssl error"; this says whether the file
// could not be read at all (errno: missing, permissions) or was read but is not what was expected
// (OpenSSL's reason, e.g. "no start line": not PEM).
//
// Internal to the sidecar (http_client.cc, http_server.cc). Any thread.
#pragma once

#include <string>

#include <boost/system/error_code.hpp>

namespace rocksdr::sidecar {

// "cannot load <what> <path>: <reason>".
std::string TlsFileError(const std::string& what, const std::string& path, const boost::system::error_code& ec);

}  // namespace rocksdr::sidecar
