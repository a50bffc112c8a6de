// idgate-audit pull against the gateway's LedgerMirrorService, in process:
// a ledger written by FileLedger, served over gRPC, copied and verified.

#include "tools/idgate-audit/pull.h"

#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/auth/caller_auth.h"
#include "server/ledger/file_ledger.h"
#include "server/ledger/segment_format.h"
#include "server/ledger/segment_source.h"
#include "server/ledger/testing.h"
#include "server/service/ledger_mirror_service.h"
#include "tools/idgate-audit/audit.h"

namespace idgate::audit {
namespace {

using testing::AppendAndWait;
using ::testing::HasSubstr;
using testing::MakeIntent;
using testing::MakeOutcome;

constexpr int64_t kStart = 1700000000;

::idgate::config::v1::CallerSettings Callers() {
  ::idgate::config::v1::CallerSettings settings;
  settings.set_development_mode(true);
  auto* auditor = settings.add_callers();
  auditor->set_id("auditor");
  auditor->set_ledger_reader(true);
  settings.add_callers()->set_id("esign");
  return settings;
}

// A replica: a FileLedger in its own directory and the mirror service over
// it, on a loopback port.
class Replica {
 public:
  explicit Replica(std::string name, const testing::KeyFiles& keys,
                   absl::Duration retention = absl::Hours(24 * 1828))
      : authenticator_(Callers()) {
    options_ = testing::TestLedgerOptions(dir());
    options_.checkpoint_private_key_file = keys.private_key;
    options_.checkpoint_every_records = 4;
    options_.checkpoint_interval = absl::ZeroDuration();
    options_.segment_max_bytes = 1500;
    options_.retention = retention;
    options_.now = [this] { return absl::FromUnixSeconds(clock_); };
    ledger_ = *FileLedger::Open(options_);
    service_ =
        std::make_unique<LedgerMirrorServiceImpl>(dir(), name, authenticator_);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
  }
  ~Replica() {
    server_->Shutdown();
    (void)ledger_->Close();
  }

  void Disclose(int pairs, int64_t seconds_apart = 60) {
    for (int i = 0; i < pairs; ++i) {
      clock_ += seconds_apart;
      const std::string id = absl::StrCat("d", next_++);
      ASSERT_TRUE(AppendAndWait(*ledger_, MakeIntent(id)).ok());
      ASSERT_TRUE(AppendAndWait(*ledger_, MakeOutcome(id)).ok());
    }
  }
  void Close() { ASSERT_TRUE(ledger_->Close().ok()); }
  // A restart, `later` after the last record.
  void Reopen(absl::Duration later) {
    clock_ += absl::ToInt64Seconds(later);
    ledger_.reset();  // releases the directory
    ledger_ = *FileLedger::Open(options_);
  }
  FileLedger& ledger() { return *ledger_; }

  std::string dir() const { return root_.Join("ledger"); }
  std::unique_ptr<::idgate::ledger::v1::LedgerMirrorService::Stub> Stub() {
    return ::idgate::ledger::v1::LedgerMirrorService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_),
                            grpc::InsecureChannelCredentials()));
  }

 private:
  testing::TempDir root_;
  int64_t clock_ = kStart;
  int next_ = 0;
  FileLedgerOptions options_;
  CallerAuthenticator authenticator_;
  std::unique_ptr<FileLedger> ledger_;
  std::unique_ptr<LedgerMirrorServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

class PullTest : public ::testing::Test {
 protected:
  PullTest() { keys_ = testing::WriteKeyPair(keydir_.path(), "checkpoint"); }

  PullReport Pull(Replica& replica, const std::string& caller = "auditor",
                  const testing::KeyFiles* keys = nullptr) {
    PullOptions options;
    options.out_dir = out_->path();
    options.public_keys.push_back(*Ed25519PublicKey::FromPemFile(
        (keys != nullptr ? keys : &keys_)->public_key));
    options.new_context = [caller] {
      auto context = std::make_unique<grpc::ClientContext>();
      context->set_deadline(std::chrono::system_clock::now() +
                            std::chrono::seconds(30));
      context->AddMetadata("x-idgate-caller", caller);
      return context;
    };
    auto stub = replica.Stub();
    return PullLedger(*stub, options);
  }

  VerifyReport VerifyMirror(const std::string& name) {
    VerifyOptions options;
    options.public_keys.push_back(
        *Ed25519PublicKey::FromPemFile(keys_.public_key));
    auto source = DirectorySource(out_->Join(name));
    EXPECT_TRUE(source.ok());
    return Verify(**source, options);
  }

  std::map<std::string, std::string> Files(const std::string& dir) {
    std::map<std::string, std::string> files;
    auto source = *DirectorySource(dir);
    const std::vector<std::string> names = *source->List();
    for (const std::string& name : names) {
      files[name] = *source->Read(name);
    }
    return files;
  }

  testing::TempDir keydir_;
  testing::KeyFiles keys_;
  // The mirrors' root; replaced for a fresh one.
  std::unique_ptr<testing::TempDir> out_ = std::make_unique<testing::TempDir>();
};

TEST_F(PullTest, CopiesWhatASignedCheckpointCoversThenResumes) {
  Replica replica("replica-a", keys_);
  replica.Disclose(5);  // 10 records: checkpoints after 4 and 8 (+2 each)

  PullReport first = Pull(replica);
  ASSERT_TRUE(first.ok) << PullSummary(first);
  EXPECT_EQ(first.ledger_name, "replica-a");
  VerifyReport mirror = VerifyMirror("replica-a");
  ASSERT_TRUE(mirror.ok) << VerifySummary(mirror);
  // The mirror ends at the last signed checkpoint; later records wait.
  EXPECT_EQ(mirror.head_sequence, mirror.last_checkpoint_sequence);
  EXPECT_EQ(first.head_sequence, mirror.head_sequence);
  EXPECT_EQ(first.records_copied, mirror.records);
  EXPECT_GE(first.checkpoints_verified, 2u);

  replica.Disclose(3);
  replica.Close();  // a last checkpoint covers everything
  PullReport second = Pull(replica);
  ASSERT_TRUE(second.ok) << PullSummary(second);
  mirror = VerifyMirror("replica-a");
  ASSERT_TRUE(mirror.ok) << VerifySummary(mirror);
  EXPECT_EQ(first.records_copied + second.records_copied, mirror.records);

  // The mirror holds the replica's files, byte for byte.
  std::map<std::string, std::string> source = Files(replica.dir());
  std::map<std::string, std::string> copy = Files(out_->Join("replica-a"));
  EXPECT_EQ(copy, source);

  // Nothing new: nothing copied, still verified.
  PullReport third = Pull(replica);
  ASSERT_TRUE(third.ok) << PullSummary(third);
  EXPECT_EQ(third.records_copied, 0u);
  EXPECT_EQ(third.head_sequence, mirror.head_sequence);
}

TEST_F(PullTest, ATamperedRecordIsRefusedAndNotCopied) {
  Replica replica("replica-a", keys_);
  replica.Disclose(4);
  replica.Close();
  const std::string segment =
      absl::StrCat(replica.dir(), "/", SegmentFileName(1));
  std::string bytes = testing::ReadFileOrDie(segment);
  // A byte inside the first record's payload (after its 8-byte header).
  bytes[20] ^= 0x01;
  testing::WriteFileOrDie(segment, bytes);

  PullReport report = Pull(replica);
  EXPECT_FALSE(report.ok);
  EXPECT_TRUE(report.refused);
  EXPECT_THAT(report.error, HasSubstr("ledger-000001.log offset 0"));
  EXPECT_EQ(Files(out_->Join("replica-a")).size(), 0u);
}

TEST_F(PullTest, AHistoryChangedUnderACheckpointIsAForkAndRefused) {
  std::map<std::string, std::string> mirrored;
  {
    Replica original("replica-a", keys_);
    original.Disclose(4);
    original.Close();
    ASSERT_TRUE(Pull(original).ok);
    mirrored = Files(out_->Join("replica-a"));
  }
  // The same name, another history (signed with the same key: a replica
  // restored from the wrong backup, or rewritten by someone holding it).
  Replica rewritten("replica-a", keys_);
  rewritten.Disclose(6, /*seconds_apart=*/61);
  rewritten.Close();
  PullReport report = Pull(rewritten);
  EXPECT_FALSE(report.ok);
  EXPECT_TRUE(report.refused);
  EXPECT_THAT(report.error, HasSubstr("fork"));
  EXPECT_EQ(Files(out_->Join("replica-a")), mirrored);
}

TEST_F(PullTest, AReplicaWhoseLedgerEndsBeforeTheMirrorsIsAFork) {
  std::map<std::string, std::string> mirrored;
  {
    Replica original("replica-a", keys_);
    original.Disclose(8);
    original.Close();
    ASSERT_TRUE(Pull(original).ok);
    mirrored = Files(out_->Join("replica-a"));
    ASSERT_GT(mirrored.size(), 1u);
  }
  Replica wiped("replica-a", keys_);  // started again on an empty volume
  wiped.Disclose(1);
  wiped.Close();
  PullReport report = Pull(wiped);
  EXPECT_TRUE(report.refused);
  EXPECT_THAT(report.error, HasSubstr("fork"));
  EXPECT_EQ(Files(out_->Join("replica-a")), mirrored);
}

TEST_F(PullTest, ACheckpointUnderAnotherKeyIsRefused) {
  testing::TempDir other_dir;
  testing::KeyFiles other = testing::WriteKeyPair(other_dir.path(), "other");
  Replica replica("replica-a", keys_);
  replica.Disclose(2);
  replica.Close();
  PullReport report = Pull(replica, "auditor", &other);
  EXPECT_TRUE(report.refused);
  EXPECT_THAT(report.error, HasSubstr("unknown key"));
  EXPECT_EQ(Files(out_->Join("replica-a")).size(), 0u);
}

TEST_F(PullTest, OnlyLedgerReadersMayRead) {
  Replica replica("replica-a", keys_);
  replica.Disclose(2);
  PullReport esign = Pull(replica, "esign");
  EXPECT_FALSE(esign.ok);
  EXPECT_FALSE(esign.refused);
  EXPECT_THAT(esign.error, HasSubstr("may not read the ledger"));
  PullReport stranger = Pull(replica, "stranger");
  EXPECT_FALSE(stranger.ok);
  EXPECT_FALSE(stranger.refused);
}

TEST_F(PullTest, ALedgerNameThatIsNotAFileNameIsRefused) {
  Replica replica("../escape", keys_);
  replica.Disclose(2);
  PullReport report = Pull(replica);
  EXPECT_TRUE(report.refused);
  EXPECT_THAT(report.error, HasSubstr("not a plain file name"));
}

TEST_F(PullTest,
       TheMirrorFollowsTheReplicasPruneAndANewMirrorStartsAtTheAnchor) {
  Replica replica("replica-a", keys_, /*retention=*/absl::Hours(1));
  replica.Disclose(4);
  replica.Close();
  ASSERT_TRUE(Pull(replica).ok);
  ASSERT_TRUE(Files(out_->Join("replica-a")).count(SegmentFileName(1)));

  replica.Reopen(absl::Hours(2));  // the records so far expire
  replica.Disclose(2);
  replica.Close();
  ASSERT_GT(replica.ledger().stats().segments_pruned, 0u);
  PullReport report = Pull(replica);
  ASSERT_TRUE(report.ok) << PullSummary(report);
  // The mirror pruned like its source: the same files, anchor included.
  EXPECT_EQ(Files(out_->Join("replica-a")), Files(replica.dir()));
  VerifyReport mirror = VerifyMirror("replica-a");
  ASSERT_TRUE(mirror.ok) << VerifySummary(mirror);
  EXPECT_GT(mirror.pruned_through_sequence, 0u);

  // A mirror started after the prune begins at the anchor.
  out_ = std::make_unique<testing::TempDir>();
  ASSERT_TRUE(Pull(replica).ok);
  mirror = VerifyMirror("replica-a");
  ASSERT_TRUE(mirror.ok) << VerifySummary(mirror);
  EXPECT_GT(mirror.pruned_through_sequence, 0u);
  EXPECT_EQ(Files(out_->Join("replica-a")), Files(replica.dir()));
}

TEST_F(PullTest, AMirrorThatFellBehindAPruneSaysSo) {
  Replica replica("replica-a", keys_, /*retention=*/absl::Hours(1));
  replica.Disclose(4);
  ASSERT_TRUE(Pull(replica).ok);  // up to the last checkpoint only
  replica.Disclose(2, /*seconds_apart=*/2 * 3600);
  replica.Close();
  ASSERT_GT(replica.ledger().stats().segments_pruned, 0u);
  std::map<std::string, std::string> before = Files(out_->Join("replica-a"));
  PullReport report = Pull(replica);
  EXPECT_FALSE(report.ok);
  EXPECT_FALSE(report.refused);
  EXPECT_THAT(report.error, HasSubstr("pull into a new folder"));
  EXPECT_EQ(Files(out_->Join("replica-a")), before);
}

}  // namespace
}  // namespace idgate::audit
