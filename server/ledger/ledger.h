#pragma once

#include <functional>

#include "absl/status/status.h"
#include "idgate/ledger/v1/ledger.pb.h"

namespace idgate {

using LedgerRecord = ::idgate::ledger::v1::LedgerRecord;

// The durable, append-only, hash-chained disclosure ledger.
class Ledger {
 public:
  virtual ~Ledger() = default;

  // Appends `record` (the ledger sets sequence, time and hashes). `done` runs
  // exactly once: on the ledger's writer thread after the record is durable
  // (OK) or when it cannot be (UNAVAILABLE); or, when the append is refused
  // at once (queue full, ledger failed or closed), on the calling thread
  // before Append returns. Never blocks the caller. An empty `done` says
  // nobody waits: the ledger may then delay making the record durable
  // (FileLedgerOptions::unawaited_delay).
  virtual void Append(LedgerRecord record,
                      std::function<void(absl::Status)> done) = 0;

  // False once a write or sync failed: every later Append fails closed.
  virtual bool healthy() const = 0;
};

}  // namespace idgate
