#pragma once

#include <deque>
#include <functional>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "idgate/ledger/v1/mirror.grpc.pb.h"
#include "server/auth/caller_auth.h"

namespace idgate {

// idgate.ledger.v1.LedgerMirrorService: the ledger's files, read only, for
// callers granted `ledger_reader` (idgate-audit pull keeps a copy off the
// node). It serves whole frames as they are on disk and vouches for
// nothing: the reader verifies the chain and the signatures itself.
//
// Files are read on the service's own thread, never on a gRPC thread; at
// most kMaxStreams reads run at once (more get RESOURCE_EXHAUSTED), and a
// stream sends its next chunk only after the last one left, so a slow
// reader holds one chunk of memory.
class LedgerMirrorServiceImpl final
    : public ::idgate::ledger::v1::LedgerMirrorService::CallbackService {
 public:
  static constexpr int kMaxStreams = 4;
  // Read per chunk: the largest frame fits, so every chunk makes progress.
  static constexpr size_t kChunkBytes = (1 << 20) + 64;

  LedgerMirrorServiceImpl(std::string ledger_dir, std::string ledger_name,
                          const CallerAuthenticator& authenticator);
  ~LedgerMirrorServiceImpl() override;

  grpc::ServerUnaryReactor* DescribeLedger(
      grpc::CallbackServerContext* context,
      const ::idgate::ledger::v1::DescribeLedgerRequest* request,
      ::idgate::ledger::v1::DescribeLedgerResponse* response) override;

  grpc::ServerWriteReactor<::idgate::ledger::v1::ReadLedgerResponse>*
  ReadLedger(grpc::CallbackServerContext* context,
             const ::idgate::ledger::v1::ReadLedgerRequest* request) override;

 private:
  class Reader;

  // PERMISSION_DENIED unless the peer is a configured ledger reader.
  absl::Status Authorize(const grpc::CallbackServerContext& context) const;
  // Runs `work` on the file thread.
  void Post(std::function<void()> work);
  void FileThread();

  const std::string dir_;
  const std::string name_;
  const CallerAuthenticator& authenticator_;

  absl::Mutex mu_;
  std::deque<std::function<void()>> work_ ABSL_GUARDED_BY(mu_);
  int streams_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace idgate
