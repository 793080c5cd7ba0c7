#include "support/replication_pki.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

namespace rocksdr::testing {

TestPki::TestPki(const std::string& ca_name) {
  auto ca = crypto::CreateCa(ca_name, std::chrono::hours(24 * 30));
  if (!ca.ok()) {
    ADD_FAILURE() << "CreateCa: " << ca.status().ToString();
    return;
  }
  ca_ = std::move(*ca);
}

replication::TlsCredentials TestPki::Server(const std::string& cluster_id) const {
  crypto::CertificateRequest req;
  req.common_name = "primary";
  req.dns_names = {"localhost"};
  req.ip_addresses = {"127.0.0.1"};
  req.cluster_id = cluster_id;
  req.usage = crypto::CertificateUsage::kServer;
  auto cert = crypto::IssueCertificate(ca_, req);
  if (!cert.ok()) {
    ADD_FAILURE() << "IssueCertificate: " << cert.status().ToString();
    return {};
  }
  return {cert->cert_pem, cert->key_pem, ca_.cert_pem};
}

replication::TlsCredentials TestPki::Client(const std::string& secondary_id,
                                            const std::string& cluster_id,
                                            std::optional<time_t> not_before,
                                            std::chrono::seconds validity) const {
  crypto::CertificateRequest req;
  req.common_name = secondary_id;
  req.cluster_id = cluster_id;
  req.usage = crypto::CertificateUsage::kClient;
  req.not_before = not_before;
  req.validity = validity;
  auto cert = crypto::IssueCertificate(ca_, req);
  if (!cert.ok()) {
    ADD_FAILURE() << "IssueCertificate: " << cert.status().ToString();
    return {};
  }
  return {cert->cert_pem, cert->key_pem, ca_.cert_pem};
}

namespace {

class CaptureSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::string text() {
    std::lock_guard<std::mutex> l(mutex_);
    return text_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    text_.append(msg.payload.data(), msg.payload.size());
    text_.push_back('\n');
  }
  void flush_() override {}

 private:
  std::string text_;
};

}  // namespace

struct LogCapture::State {
  std::shared_ptr<CaptureSink> sink = std::make_shared<CaptureSink>();
};

LogCapture::LogCapture() : state_(std::make_shared<State>()) {
  spdlog::default_logger()->sinks().push_back(state_->sink);
}

LogCapture::~LogCapture() {
  auto& sinks = spdlog::default_logger()->sinks();
  std::erase(sinks, std::static_pointer_cast<spdlog::sinks::sink>(state_->sink));
}

std::string LogCapture::Text() const { return state_->sink->text(); }

}  // namespace rocksdr::testing
