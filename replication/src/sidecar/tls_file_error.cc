// Implementation of tls_file_error.h.
#include "tls_file_error.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <boost/asio/ssl/error.hpp>
#include <openssl/err.h>

namespace rocksdr::sidecar {

std::string TlsFileError(const std::string& what, const std::string& path, const boost::system::error_code& ec) {
  const std::string head = "cannot load " + what + " " + path + ": ";
  errno = 0;
  std::ifstream f(path, std::ios::binary);
  if (!f) return head + (errno != 0 ? std::strerror(errno) : "cannot open the file");
  const char* reason = nullptr;
  if (ec.category() == boost::asio::error::get_ssl_category()) {
    reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
  }
  return head + (reason != nullptr ? std::string(reason) : ec.message()) + " (is it a PEM " + what + "?)";
}

}  // namespace rocksdr::sidecar
