#include "common/stop_signals.h"

#include <pthread.h>
#include <signal.h>

namespace rocksdr::examples {

namespace {
sigset_t StopSet() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGINT);
  return s;
}
}  // namespace

void BlockStopSignals() {
  const sigset_t s = StopSet();
  pthread_sigmask(SIG_BLOCK, &s, nullptr);
}

int WaitForStopSignal() {
  const sigset_t s = StopSet();
  int sig = 0;
  while (sigwait(&s, &sig) != 0) {
  }
  return sig;
}

}  // namespace rocksdr::examples
