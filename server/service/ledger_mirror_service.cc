#include "server/service/ledger_mirror_service.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/file.h"
#include "server/ledger/ledger_scan.h"
#include "server/ledger/retention.h"
#include "server/ledger/segment_format.h"
#include "server/ledger/segment_source.h"
#include "server/service/grpc_status.h"
#include "server/service/verification_service.h"

namespace idgate {
namespace {

namespace lv1 = ::idgate::ledger::v1;

// The segment indices in `dir`, oldest first.
absl::StatusOr<std::vector<uint64_t>> SegmentsIn(const std::string& dir) {
  auto source = DirectorySource(dir);
  if (!source.ok()) return source.status();
  return ListSegments(**source);
}

}  // namespace

// One ReadLedger stream: a chunk is read on the file thread, written, and
// the next is read when the write is done.
class LedgerMirrorServiceImpl::Reader final
    : public grpc::ServerWriteReactor<lv1::ReadLedgerResponse> {
 public:
  Reader(LedgerMirrorServiceImpl& service, const lv1::ReadLedgerRequest& from)
      : service_(service), segment_(from.segment()), offset_(from.offset()) {}

  // One of the service's kMaxStreams, given back in OnDone.
  absl::Status TakeSlot() {
    absl::MutexLock lock(&service_.mu_);
    if (service_.streams_ >= kMaxStreams) {
      return absl::ResourceExhaustedError(
          absl::StrCat("at most ", kMaxStreams, " ledger reads at once"));
    }
    ++service_.streams_;
    has_slot_ = true;
    return absl::OkStatus();
  }

  void Start() {
    service_.Post([this] { ReadNext(); });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, ""));
    service_.Post([this] { ReadNext(); });
  }

  void OnDone() override {
    if (has_slot_) {
      absl::MutexLock lock(&service_.mu_);
      --service_.streams_;
    }
    delete this;
  }

 private:
  // On the file thread: the next whole frames, or the end of the stream.
  void ReadNext() {
    auto segments = SegmentsIn(service_.dir_);
    if (!segments.ok()) return Finish(ToGrpcStatus(segments.status()));
    if (!std::binary_search(segments->begin(), segments->end(), segment_)) {
      return Finish(ToGrpcStatus(absl::OutOfRangeError(absl::StrCat(
          SegmentFileName(segment_), " is not on this replica (segments ",
          segments->empty()
              ? "none"
              : absl::StrCat(segments->front(), "..", segments->back()),
          ")"))));
    }
    while (true) {
      const std::string name = SegmentFileName(segment_);
      auto data = ReadFileRange(absl::StrCat(service_.dir_, "/", name), offset_,
                                kChunkBytes);
      if (!data.ok()) return Finish(ToGrpcStatus(data.status()));
      FrameScan scan = ScanFrames(*data);
      if (scan.valid_bytes > 0) {
        response_.set_segment(segment_);
        response_.set_offset(offset_);
        response_.set_frames(data->substr(0, scan.valid_bytes));
        offset_ += scan.valid_bytes;
        return StartWrite(&response_);
      }
      auto next =
          std::upper_bound(segments->begin(), segments->end(), segment_);
      if (scan.tail == SegmentTail::kCorrupt && next != segments->end()) {
        // Only the segment being written may end in a torn frame.
        return Finish(ToGrpcStatus(absl::DataLossError(absl::StrCat(
            name, ": damaged at offset ", offset_, ": ", scan.tail_reason))));
      }
      if (next == segments->end()) return Finish(grpc::Status::OK);
      segment_ = *next;
      offset_ = 0;
    }
  }

  LedgerMirrorServiceImpl& service_;
  uint64_t segment_;
  uint64_t offset_;
  bool has_slot_ = false;
  lv1::ReadLedgerResponse response_;
};

LedgerMirrorServiceImpl::LedgerMirrorServiceImpl(
    std::string ledger_dir, std::string ledger_name,
    const CallerAuthenticator& authenticator)
    : dir_(std::move(ledger_dir)),
      name_(std::move(ledger_name)),
      authenticator_(authenticator),
      thread_([this] { FileThread(); }) {}

LedgerMirrorServiceImpl::~LedgerMirrorServiceImpl() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

absl::Status LedgerMirrorServiceImpl::Authorize(
    const grpc::CallbackServerContext& context) const {
  auto caller = authenticator_.Identify(PeerFromContext(context));
  if (!caller.ok()) return caller.status();
  if (!(*caller)->ledger_reader()) {
    return absl::PermissionDeniedError(
        absl::StrCat("caller ", (*caller)->id(), " may not read the ledger"));
  }
  return absl::OkStatus();
}

void LedgerMirrorServiceImpl::Post(std::function<void()> work) {
  absl::MutexLock lock(&mu_);
  work_.push_back(std::move(work));
}

void LedgerMirrorServiceImpl::FileThread() {
  while (true) {
    std::function<void()> work;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](LedgerMirrorServiceImpl* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(
               s->mu_) { return s->stopping_ || !s->work_.empty(); },
          this));
      if (work_.empty()) return;  // stopping, nothing left
      work = std::move(work_.front());
      work_.pop_front();
    }
    work();
  }
}

grpc::ServerUnaryReactor* LedgerMirrorServiceImpl::DescribeLedger(
    grpc::CallbackServerContext* context, const lv1::DescribeLedgerRequest*,
    lv1::DescribeLedgerResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status allowed = Authorize(*context); !allowed.ok()) {
    reactor->Finish(ToGrpcStatus(allowed));
    return reactor;
  }
  Post([this, reactor, response] {
    auto segments = SegmentsIn(dir_);
    if (!segments.ok()) return reactor->Finish(ToGrpcStatus(segments.status()));
    response->set_ledger_name(name_);
    for (uint64_t index : *segments) response->add_segments(index);
    auto anchor =
        ReadFileToString(absl::StrCat(dir_, "/", kPruneAnchorFileName));
    if (anchor.ok()) {
      response->set_prune_anchor(*std::move(anchor));
    } else if (!absl::IsNotFound(anchor.status())) {
      return reactor->Finish(ToGrpcStatus(anchor.status()));
    }
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerWriteReactor<lv1::ReadLedgerResponse>*
LedgerMirrorServiceImpl::ReadLedger(grpc::CallbackServerContext* context,
                                    const lv1::ReadLedgerRequest* request) {
  auto* reader = new Reader(*this, *request);
  absl::Status allowed = Authorize(*context);
  if (allowed.ok()) allowed = reader->TakeSlot();
  if (!allowed.ok()) {
    reader->Finish(ToGrpcStatus(allowed));
    return reader;
  }
  reader->Start();
  return reader;
}

}  // namespace idgate
