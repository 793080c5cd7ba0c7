// ExpiryClock: the time a sidecar checks expiries against — max(the clock, the highest clock
// value this node has ever observed). Moving the clock back (by mistake, a bad NTP step, or on
// purpose to revive a token) never makes an expired token valid again: expiry only sees time run
// forward. The high water is kept in the node-local store (PluginControl Store::kLocal, key
// kExpiryHighWaterKey), so a restart does not forget it; it is written when it has advanced by
// kExpiryHighWaterPersistStep seconds (a crash forgets at most that much) or when a caller forces it.
// It is observed on every token lookup (each authenticated request), every token issue and
// activation check, and every second by `rocksdr server`'s DR re-arm loop (dr_rearm.cc).
//
// Used for: token-store tokens (creation and expiry), the expiry of activation tokens (the
// secondary's local check before it contacts the primary, and the primary's unwrap). NOT for
// not-before checks (a token whose nbf is ahead of the real clock is still "not yet valid").
//
// A clock once set far FORWARD by mistake leaves the high water in the future: until the real
// clock catches up, tokens issued now look expired. Recovery, never a lock-out: root tokens have
// no TTL, and `DELETE /v1/sys/clock/high-water` (root) resets the high water to the clock.
// `Behind()` reports the gap and the sidecar logs it (warn) when it first exceeds 60 s.
//
// Who may call: any thread (internally locked). The PluginControl must outlive it.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string_view>

#include "rocksdr/sidecar/plugin_control.h"
#include "rocksdr/status.h"

namespace rocksdr::sidecar {

inline constexpr std::string_view kExpiryHighWaterKey = "sidecar/clock/high_water";
inline constexpr int64_t kExpiryHighWaterPersistStep = 10;

class ExpiryClock {
 public:
  ExpiryClock(PluginControl* control, std::function<int64_t()> clock);

  // max(clock(), high water), after advancing the high water to clock(). `force_persist` writes
  // the high water now when it is newer than what is stored (token issue / activation checks).
  int64_t Now(bool force_persist = false);

  struct State {
    int64_t clock = 0;
    int64_t high_water = 0;
    int64_t behind = 0;  // high_water - clock when positive: the clock went back (or was ahead)
  };
  State Inspect();

  // Operator reset: the high water becomes clock() and is stored. Errors: the store's.
  Result<State> Reset();

 private:
  // REQUIRES: mu_ held.
  void LoadLocked();
  void PersistLocked();

  PluginControl* control_;
  std::function<int64_t()> clock_;
  std::mutex mu_;
  bool loaded_ = false;
  int64_t high_ = 0;
  int64_t persisted_ = 0;
  bool warned_ = false;
};

}  // namespace rocksdr::sidecar
