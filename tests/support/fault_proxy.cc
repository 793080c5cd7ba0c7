// FaultProxy; see fault_proxy.h.
#include "support/fault_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <list>
#include <string>
#include <vector>

namespace rocksdr::testing {

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMaxQueued = 1 << 20;  // per direction: stop reading beyond this (backpressure)

void SetNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

struct Chunk {
  std::string data;
  size_t off = 0;
  Clock::time_point ready;
};

struct Direction {
  std::deque<Chunk> q;
  size_t queued = 0;
  Clock::time_point next_send{};
  bool eof = false;  // the reading side closed
};

struct Conn {
  int client = -1;  // accepted
  int server = -1;  // to the target; -1 until connected
  Direction c2s, s2c;
  bool dead = false;
};

}  // namespace

struct FaultProxy::Impl {
  int listen_fd = -1;
  int wake[2] = {-1, -1};
  std::mutex mu;
  bool stop = false;                    // GUARDED_BY(mu)
  std::chrono::milliseconds delay{0};   // GUARDED_BY(mu)
  uint64_t bandwidth = 0;               // GUARDED_BY(mu)
  bool blackhole = false;               // GUARDED_BY(mu)
  bool drop = false;                    // GUARDED_BY(mu)
  bool corrupt = false;                 // GUARDED_BY(mu)
  uint16_t target = 0;                  // GUARDED_BY(mu)
  std::list<Conn> conns;                // proxy thread only

  void Wake() {
    char c = 1;
    (void)!::write(wake[1], &c, 1);
  }
};

std::unique_ptr<FaultProxy> FaultProxy::Start(uint16_t target_port, uint16_t listen_port) {
  std::unique_ptr<FaultProxy> p(new FaultProxy());
  p->impl_ = std::make_unique<Impl>();
  Impl& i = *p->impl_;
  i.target = target_port;
  i.listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(i.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(listen_port);
  if (::bind(i.listen_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(i.listen_fd, 64) != 0) {
    ADD_FAILURE() << "fault proxy: bind/listen: " << std::strerror(errno);
    ::close(i.listen_fd);
    return nullptr;
  }
  socklen_t len = sizeof a;
  ::getsockname(i.listen_fd, reinterpret_cast<sockaddr*>(&a), &len);
  p->port_ = ntohs(a.sin_port);
  SetNonBlocking(i.listen_fd);
  if (::pipe2(i.wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    ADD_FAILURE() << "fault proxy: pipe: " << std::strerror(errno);
    ::close(i.listen_fd);
    return nullptr;
  }
  FaultProxy* raw = p.get();
  p->thread_ = std::thread([raw] { raw->Loop(); });
  return p;
}

FaultProxy::~FaultProxy() {
  if (!impl_) return;
  {
    std::lock_guard<std::mutex> l(impl_->mu);
    impl_->stop = true;
  }
  impl_->Wake();
  if (thread_.joinable()) thread_.join();
  for (Conn& c : impl_->conns) {
    if (c.client >= 0) ::close(c.client);
    if (c.server >= 0) ::close(c.server);
  }
  ::close(impl_->listen_fd);
  ::close(impl_->wake[0]);
  ::close(impl_->wake[1]);
}

#define FAULT_SETTER(body)                      \
  {                                             \
    std::lock_guard<std::mutex> l(impl_->mu);   \
    body;                                       \
  }                                             \
  impl_->Wake();

void FaultProxy::SetDelay(std::chrono::milliseconds d) { FAULT_SETTER(impl_->delay = d) }
void FaultProxy::SetBandwidth(uint64_t bps) { FAULT_SETTER(impl_->bandwidth = bps) }
void FaultProxy::SetBlackhole(bool on) { FAULT_SETTER(impl_->blackhole = on) }
void FaultProxy::DropConnections() { FAULT_SETTER(impl_->drop = true) }
void FaultProxy::CorruptNextByte() { FAULT_SETTER(impl_->corrupt = true) }
void FaultProxy::SetTarget(uint16_t port) { FAULT_SETTER(impl_->target = port) }
void FaultProxy::Heal() {
  FAULT_SETTER(impl_->delay = std::chrono::milliseconds(0); impl_->bandwidth = 0; impl_->blackhole = false;
               impl_->corrupt = false)
}
#undef FAULT_SETTER

void FaultProxy::Loop() {
  Impl& im = *impl_;
  std::vector<pollfd> fds;
  std::vector<std::pair<Conn*, bool>> owners;  // per fd: connection, is client side
  char buf[65536];
  while (true) {
    std::chrono::milliseconds delay;
    uint64_t bandwidth;
    bool blackhole, drop;
    uint16_t target;
    {
      std::lock_guard<std::mutex> l(im.mu);
      if (im.stop) return;
      delay = im.delay;
      bandwidth = im.bandwidth;
      blackhole = im.blackhole;
      drop = im.drop;
      im.drop = false;
      target = im.target;
    }
    const auto now = Clock::now();
    if (drop) {
      for (Conn& c : im.conns) c.dead = true;
    }
    // Connect held connections once the partition is over.
    for (Conn& c : im.conns) {
      if (c.dead || c.server >= 0 || blackhole) continue;
      c.server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(target);
      if (::connect(c.server, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        c.dead = true;  // the target is down: the client sees the connection closed
      } else {
        SetNonBlocking(c.server);
        int one = 1;
        ::setsockopt(c.server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      }
    }
    // Deliver what is ready.
    auto deliver = [&](Direction& d, int to, bool corrupt_this) -> bool {
      while (!d.q.empty()) {
        Chunk& ch = d.q.front();
        if (ch.ready > now || (bandwidth != 0 && d.next_send > now)) return true;
        size_t n = ch.data.size() - ch.off;
        if (bandwidth != 0) n = std::min<size_t>(n, std::max<uint64_t>(1, bandwidth / 100));  // 10 ms of budget
        if (corrupt_this) {
          std::lock_guard<std::mutex> l(im.mu);
          if (im.corrupt) {
            ch.data[ch.off] = static_cast<char>(ch.data[ch.off] ^ 0x40);
            im.corrupt = false;
            corrupted_.fetch_add(1);
          }
        }
        const ssize_t w = ::send(to, ch.data.data() + ch.off, n, MSG_NOSIGNAL);
        if (w < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
        ch.off += static_cast<size_t>(w);
        d.queued -= static_cast<size_t>(w);
        forwarded_.fetch_add(static_cast<uint64_t>(w));
        if (bandwidth != 0) {
          d.next_send = now + std::chrono::microseconds(static_cast<uint64_t>(w) * 1'000'000 / bandwidth);
        }
        if (ch.off == ch.data.size()) d.q.pop_front();
        if (static_cast<size_t>(w) < n) return true;
      }
      return true;
    };
    if (!blackhole) {
      for (Conn& c : im.conns) {
        if (c.dead || c.server < 0) continue;
        if (!deliver(c.c2s, c.server, false) || !deliver(c.s2c, c.client, true)) c.dead = true;
        if ((c.c2s.eof && c.c2s.q.empty()) || (c.s2c.eof && c.s2c.q.empty())) c.dead = true;
      }
    }
    // Reap.
    for (auto it = im.conns.begin(); it != im.conns.end();) {
      if (it->dead) {
        if (it->client >= 0) ::close(it->client);
        if (it->server >= 0) ::close(it->server);
        it = im.conns.erase(it);
      } else {
        ++it;
      }
    }
    connections_.store(im.conns.size());
    // Poll.
    fds.clear();
    owners.clear();
    fds.push_back({im.wake[0], POLLIN, 0});
    owners.emplace_back(nullptr, false);
    fds.push_back({im.listen_fd, POLLIN, 0});
    owners.emplace_back(nullptr, true);
    bool timed = delay.count() > 0 || bandwidth != 0;
    for (Conn& c : im.conns) {
      if (blackhole || c.server < 0) continue;
      short ce = 0, se = 0;
      if (!c.c2s.eof && c.c2s.queued < kMaxQueued) ce |= POLLIN;
      if (!c.s2c.eof && c.s2c.queued < kMaxQueued) se |= POLLIN;
      if (!c.s2c.q.empty()) {
        ce |= POLLOUT;
        timed = true;
      }
      if (!c.c2s.q.empty()) {
        se |= POLLOUT;
        timed = true;
      }
      fds.push_back({c.client, ce, 0});
      owners.emplace_back(&c, true);
      fds.push_back({c.server, se, 0});
      owners.emplace_back(&c, false);
    }
    ::poll(fds.data(), fds.size(), timed ? 2 : 50);
    if (fds[0].revents & POLLIN) {
      while (::read(im.wake[0], buf, sizeof buf) > 0) {
      }
    }
    if (fds[1].revents & POLLIN) {
      while (true) {
        const int fd = ::accept4(im.listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) break;
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        Conn c;
        c.client = fd;
        im.conns.push_back(std::move(c));
        accepted_.fetch_add(1);
      }
    }
    const auto read_time = Clock::now();
    for (size_t k = 2; k < fds.size(); ++k) {
      Conn* c = owners[k].first;
      const bool client_side = owners[k].second;
      if (c->dead || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Direction& d = client_side ? c->c2s : c->s2c;
      if (d.eof) continue;
      const ssize_t n = ::recv(fds[k].fd, buf, sizeof buf, 0);
      if (n > 0) {
        d.q.push_back(Chunk{std::string(buf, static_cast<size_t>(n)), 0, read_time + delay});
        d.queued += static_cast<size_t>(n);
      } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        d.eof = true;
      }
    }
  }
}

}  // namespace rocksdr::testing
