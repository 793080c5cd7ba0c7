// See secondary_client.h.
#include "rocksdr/replication/secondary_client.h"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <mutex>
#include <thread>

#include "receiver_session.h"
#include "rocksdr/replication/sink_retry.h"
#include "rocksdr/replication/thread_name.h"

namespace rocksdr::replication {

namespace asio = boost::asio;

// Runs on its own network thread; handlers capture `this` (Stop() joins the thread before the
// Impl can be destroyed).
class SecondaryClient::Impl : public ReceiverHost {
 public:
  Impl(SecondaryClientOptions options, BatchSink* sink, std::shared_ptr<asio::ssl::context> ssl)
      : options_(std::move(options)),
        sink_(sink),
        ssl_(std::move(ssl)),
        work_(asio::make_work_guard(io_)),
        retry_timer_(io_),
        backoff_(options_.backoff, options_.random),
        storage_backoff_(options_.storage_retry, options_.random) {
    status_.primary_address = options_.primary_host + ":" + std::to_string(options_.primary_port);
  }

  void Run() {
    asio::post(io_, [this] { Connect(); });
    thread_ = std::thread([this] {
      SetThreadName(kThreadClient);
      io_.run();
    });
  }

  void Connect() {
    if (stopping_) return;
    {
      std::lock_guard<std::mutex> l(mu_);
      status_.state = ClientState::kConnecting;
      status_.next_attempt_time.reset();
      ++status_.connect_attempts;
    }
    session_ = ReceiverSession::Create(FramedSession::Stream(io_, *ssl_), options_, sink_, this);
    session_->Start();
  }

  // ReceiverHost.
  void UpdateStatus(const std::function<void(SecondaryClientStatus&)>& update) override {
    std::lock_guard<std::mutex> l(mu_);
    update(status_);
  }

  void OnWelcome() override {
    backoff_.Reset();
    std::lock_guard<std::mutex> l(mu_);
    if (welcomed_once_) ++status_.reconnects;
    welcomed_once_ = true;
    status_.connect_attempts = 0;
  }

  void OnSinkProgress() override {
    if (storage_backoff_.failures() == 0) return;
    storage_backoff_.Reset();
    {
      std::lock_guard<std::mutex> l(mu_);
      status_.local_storage_failed = false;
      status_.local_storage_error.clear();
      status_.storage_retry_attempt = 0;
    }
    spdlog::info("replication: secondary \"{}\": the local storage works again; replicating",
                 options_.secondary_id);
  }

  void OnSessionEnded(const std::string& reason, bool halt,
                      const std::string& storage_error) override {
    std::chrono::milliseconds delay{0};
    {
      std::lock_guard<std::mutex> l(mu_);
      status_.last_error = reason;
      if (stopping_) {
        status_.state = ClientState::kStopped;
        return;
      }
      status_.state = ClientState::kIdleWithError;
      if (halt) {
        status_.halted = true;
        status_.local_storage_failed = false;
        status_.local_storage_error.clear();
        spdlog::error("replication: secondary \"{}\" stopped replicating: {}",
                      options_.secondary_id, reason);
        return;
      }
    }
    if (!storage_error.empty()) {
      StorageRetryLater(storage_error);
      return;
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      delay = backoff_.NextDelay();
      status_.next_attempt_time = std::chrono::system_clock::now() + delay;
    }
    spdlog::info("replication: secondary \"{}\": connection to {}:{} ended ({}); retrying in {} ms",
                 options_.secondary_id, options_.primary_host, options_.primary_port, reason,
                 delay.count());
    retry_timer_.expires_after(delay);
    retry_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) Connect();
    });
  }

  // The local storage failed (session ended with storage_error, or Recover failed): wait with
  // the storage backoff, then RetryStorage. One log line per attempt.
  void StorageRetryLater(const std::string& error) {
    const std::chrono::milliseconds delay = storage_backoff_.NextDelay();
    const uint32_t attempt = storage_backoff_.failures();
    const std::string why = DescribeStorageRetry(error, delay, attempt, sink_->StorageLocation());
    {
      std::lock_guard<std::mutex> l(mu_);
      status_.state = ClientState::kIdleWithError;
      status_.last_error = why;
      status_.local_storage_failed = true;
      status_.local_storage_error = error;
      status_.storage_retry_attempt = attempt;
      status_.next_attempt_time = std::chrono::system_clock::now() + delay;
    }
    spdlog::warn("replication: secondary \"{}\": {}", options_.secondary_id, why);
    retry_timer_.expires_after(delay);
    retry_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) RetryStorage();
    });
  }

  // Network thread: the storage must be usable again before reconnecting.
  void RetryStorage() {
    if (stopping_) return;
    Status st = sink_->Recover();
    if (!st.ok()) {
      StorageRetryLater("recovering the local storage failed: " + st.ToString());
      return;
    }
    Connect();
  }

  SecondaryClientStatus GetStatus() const {
    SecondaryClientStatus out;
    {
      std::lock_guard<std::mutex> l(mu_);
      out = status_;
    }
    out.cursor = sink_->Cursor();
    out.durable_sequence = sink_->DurableSequence();
    return out;
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stop_requested_) return;
      stop_requested_ = true;
    }
    asio::post(io_, [this] {
      stopping_ = true;
      retry_timer_.cancel();
      if (session_ && !session_->closed()) {
        session_->Shutdown("the secondary is shutting down");
      } else {
        std::lock_guard<std::mutex> l(mu_);
        status_.state = ClientState::kStopped;
      }
    });
    // The GOODBYE + TLS shutdown is bounded by kShutdownTimeout; allow it, then stop.
    const auto deadline = std::chrono::steady_clock::now() + 2 * FramedSession::kShutdownTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard<std::mutex> l(mu_);
        if (status_.state == ClientState::kStopped) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
    session_.reset();
    std::lock_guard<std::mutex> l(mu_);
    status_.state = ClientState::kStopped;
  }

 private:
  const SecondaryClientOptions options_;
  BatchSink* sink_;
  std::shared_ptr<asio::ssl::context> ssl_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  asio::steady_timer retry_timer_;
  std::thread thread_;

  // Network thread only.
  Backoff backoff_;
  Backoff storage_backoff_;  // failures() > 0: a local storage failure is being retried
  std::shared_ptr<ReceiverSession> session_;
  bool stopping_ = false;

  mutable std::mutex mu_;
  SecondaryClientStatus status_;
  bool welcomed_once_ = false;
  bool stop_requested_ = false;
};

Result<std::unique_ptr<SecondaryClient>> SecondaryClient::Start(SecondaryClientOptions options,
                                                                BatchSink* sink) {
  if (sink == nullptr) return Status::InvalidArgument("a BatchSink is required");
  if (options.cluster_id.empty() || options.secondary_id.empty()) {
    return Status::InvalidArgument("cluster_id and secondary_id are required");
  }
  if (options.primary_host.empty() || options.primary_port == 0) {
    return Status::InvalidArgument("the primary's replication address (host and port) is required");
  }
  ROCKSDR_RETURN_IF_ERROR(ValidateProtocolLimits(options.limits));
  if (options.window_bytes < 64 * 1024) {
    return Status::InvalidArgument("window_bytes must be at least 64 KiB");
  }
  if (options.max_protocol_version < kMinProtocolVersion || options.max_protocol_version > kProtocolVersion) {
    return Status::InvalidArgument("max_protocol_version " + std::to_string(options.max_protocol_version) +
                                   " is outside the versions this build speaks (" +
                                   std::to_string(kMinProtocolVersion) + ".." + std::to_string(kProtocolVersion) +
                                   ")");
  }
  if (options.connect_timeout.count() <= 0 || options.dead_timeout.count() <= 0) {
    return Status::InvalidArgument("connect_timeout and dead_timeout must be positive");
  }
  auto ssl = MakeTlsContext(TlsRole::kClient, options.tls);
  if (!ssl.ok()) return ssl.status();
  options.tls.key_pem.clear();
  options.tls.key_pem.shrink_to_fit();
  auto impl = std::make_shared<Impl>(std::move(options), sink, std::move(*ssl));
  impl->Run();
  return std::unique_ptr<SecondaryClient>(new SecondaryClient(std::move(impl)));
}

SecondaryClient::SecondaryClient(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
SecondaryClient::~SecondaryClient() { Stop(); }
SecondaryClientStatus SecondaryClient::GetStatus() const { return impl_->GetStatus(); }
void SecondaryClient::Stop() { impl_->Stop(); }

}  // namespace rocksdr::replication
