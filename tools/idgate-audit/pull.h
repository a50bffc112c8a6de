#pragma once

// `idgate-audit pull`: keeps a verified copy of a gateway's ledger off the
// node, through the gateway's LedgerMirrorService.
//
// The mirror of a ledger named N is the folder <out>/N, a ledger directory
// that `idgate-audit verify` reads like the gateway's own. A pull copies
// what the replica has added since the last one and checks it as it goes:
// every record's hash and link to the one before, every checkpoint's and
// prune anchor's signature under the given keys. Only records covered by a
// signed checkpoint are kept, so a mirror always ends at one; the rest come
// with the next pull. A pull resumes by asking again for the mirror's last
// record, which must come back byte for byte: a replica whose history
// changed under a signed checkpoint (a fork) is refused, and nothing it
// sent is written.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "idgate/ledger/v1/mirror.grpc.pb.h"
#include "server/ledger/crypto.h"

namespace idgate::audit {

struct PullOptions {
  // The mirrors' root: one folder per ledger name.
  std::string out_dir;
  // Keys that may sign checkpoints and prune anchors; at least one.
  std::vector<Ed25519PublicKey> public_keys;
  // A context per call (deadline, development-mode caller metadata).
  std::function<std::unique_ptr<grpc::ClientContext>()> new_context;
};

struct PullReport {
  // The ledger's name, once the replica said it.
  std::string ledger_name;
  bool ok = false;
  // Not ok because the replica's ledger failed the checks (tampered, forked
  // or unsigned), as opposed to unreachable or an I/O problem.
  bool refused = false;
  std::string error;
  uint64_t records_copied = 0;
  uint64_t checkpoints_verified = 0;
  // The mirror's last record after the pull.
  uint64_t head_sequence = 0;
};

PullReport PullLedger(
    ::idgate::ledger::v1::LedgerMirrorService::StubInterface& stub,
    const PullOptions& options);

// "<name>: OK: N records copied, M checkpoints verified, head S" or
// "<name>: REFUSED: ..." or "<name>: ERROR: ...".
std::string PullSummary(const PullReport& report);

}  // namespace idgate::audit
