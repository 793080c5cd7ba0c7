// FaultProxy: a TCP proxy for fault-injection tests, on loopback. It listens on 127.0.0.1 (port 0
// = any) and forwards every accepted connection to a target, byte for byte, on one poll() thread,
// with faults the test switches on and off at any time:
//
//   SetDelay(d)          every chunk is delivered d after it was read (both directions)
//   SetBandwidth(bps)    at most bps bytes per second per direction per connection (0 = no cap)
//   SetBlackhole(true)   a partition: nothing is read or delivered, new connections are held
//                        unconnected; bytes already read stay queued (TCP never loses acked
//                        bytes), so after SetBlackhole(false) the streams continue where they were
//                        unless a peer gave up in between
//   DropConnections()    closes every current connection (both sides see a reset/EOF)
//   CorruptNextByte()    flips one bit in the next chunk forwarded target -> client (TLS then
//                        fails the record: the connection dies and both sides reconnect)
//   SetTarget(port)      later connections go to another port (a restarted primary)
//
// Who may call: tests, from any thread (settings behind a mutex). The destructor stops the thread
// and closes every socket.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace rocksdr::testing {

class FaultProxy {
 public:
  // nullptr (with a gtest failure) if the listener cannot be created.
  static std::unique_ptr<FaultProxy> Start(uint16_t target_port, uint16_t listen_port = 0);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  void SetDelay(std::chrono::milliseconds delay);
  void SetBandwidth(uint64_t bytes_per_second);
  void SetBlackhole(bool on);
  void DropConnections();
  void CorruptNextByte();
  void SetTarget(uint16_t target_port);
  // Back to plain forwarding (no delay, cap, blackhole or pending corruption).
  void Heal();

  size_t connections() const { return connections_.load(); }
  uint64_t accepted() const { return accepted_.load(); }
  uint64_t bytes_forwarded() const { return forwarded_.load(); }
  uint64_t bytes_corrupted() const { return corrupted_.load(); }

 private:
  struct Impl;
  FaultProxy() = default;
  void Loop();

  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<size_t> connections_{0};
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> forwarded_{0};
  std::atomic<uint64_t> corrupted_{0};
};

}  // namespace rocksdr::testing
