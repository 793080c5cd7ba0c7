// SIGTERM / SIGINT handled synchronously: BlockStopSignals() in main() before any thread starts
// (threads inherit the mask, so no thread is interrupted), then WaitForStopSignal() where main()
// wants to stop.
//
// Who may call: main() only.
#pragma once

namespace rocksdr::examples {

// Blocks SIGTERM and SIGINT in the calling thread (and so in every thread it starts later).
void BlockStopSignals();
// Waits for SIGTERM or SIGINT; returns the signal number.
int WaitForStopSignal();

}  // namespace rocksdr::examples
