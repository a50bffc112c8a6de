#include "adapters/testing/adapter_test.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "core/file.h"
#include "core/pii_fields.h"
#include "gmock/gmock.h"

namespace idgate {

std::string ReadTestFile(absl::string_view path) {
  auto content = ReadFileToString(absl::StrCat(IDGATE_SOURCE_DIR, "/", path));
  return content.ok() ? *std::move(content) : "";
}

std::string Face(absl::string_view file) {
  std::string image =
      ReadTestFile(absl::StrCat("config/testdata/faces/", file));
  EXPECT_FALSE(image.empty()) << file;
  return image;
}

MinimizedSubject FaceSubject(const std::string& name, const std::string& id,
                             const std::string& image,
                             const std::string& video) {
  using ::idgate::v1::PII_FORM_PLAIN;
  PersonalValues values = {{::idgate::v1::PII_FIELD_NAME, name},
                           {::idgate::v1::PII_FIELD_ID_NUMBER, id},
                           {::idgate::v1::PII_FIELD_FACE_IMAGE, image}};
  if (!video.empty()) values[::idgate::v1::PII_FIELD_LIVENESS_VIDEO] = video;
  return MinimizedSubject::Minimize(
      values, {{::idgate::v1::PII_FIELD_NAME, PII_FORM_PLAIN},
               {::idgate::v1::PII_FIELD_ID_NUMBER, PII_FORM_PLAIN},
               {::idgate::v1::PII_FIELD_FACE_IMAGE, PII_FORM_PLAIN},
               {::idgate::v1::PII_FIELD_LIVENESS_VIDEO, PII_FORM_PLAIN}});
}

void ExpectVerdict(const ProviderOutcome& o, Verdict verdict,
                   absl::string_view code, bool billed) {
  EXPECT_TRUE(o.status.ok()) << o.status;
  EXPECT_EQ(o.verdict, verdict);
  EXPECT_EQ(o.provider_code, code);
  EXPECT_EQ(o.billed, billed);
  EXPECT_FALSE(o.retryable);
}

void ExpectError(const ProviderOutcome& o, absl::StatusCode status,
                 absl::string_view code, bool retryable) {
  EXPECT_EQ(o.status.code(), status) << o.status;
  EXPECT_EQ(o.verdict, ::idgate::v1::VERDICT_UNSPECIFIED);
  EXPECT_EQ(o.provider_code, code);
  EXPECT_FALSE(o.billed);
  EXPECT_EQ(o.retryable, retryable);
}

void ExpectMapped(const ProviderOutcome& o, const DocumentedCode& row) {
  EXPECT_EQ(o.status.code(), row.status) << o.status;
  EXPECT_EQ(o.verdict, row.verdict);
  EXPECT_EQ(o.billed, row.billed);
  EXPECT_EQ(o.retryable, row.retryable);
  EXPECT_TRUE(o.sent);
  EXPECT_EQ(o.provider_code, row.code);
  EXPECT_FALSE(o.billed && o.retryable);
}

void ExpectTransportFailures(
    const std::function<ProviderOutcome(const grpc::Status&)>& map,
    absl::string_view secret) {
  struct Case {
    grpc::StatusCode grpc;
    absl::StatusCode status;
    bool retryable;
  };
  const Case cases[] = {
      {grpc::StatusCode::UNAVAILABLE, absl::StatusCode::kUnavailable, true},
      {grpc::StatusCode::DEADLINE_EXCEEDED, absl::StatusCode::kDeadlineExceeded,
       true},
      {grpc::StatusCode::CANCELLED, absl::StatusCode::kCancelled, false},
      {grpc::StatusCode::INTERNAL, absl::StatusCode::kInternal, false},
      {grpc::StatusCode::UNIMPLEMENTED, absl::StatusCode::kInternal, false},
      {grpc::StatusCode::RESOURCE_EXHAUSTED, absl::StatusCode::kInternal,
       false},
      {grpc::StatusCode::PERMISSION_DENIED, absl::StatusCode::kInternal, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(static_cast<int>(c.grpc));
    const ProviderOutcome outcome =
        map(grpc::Status(c.grpc, absl::StrCat("detail with ", secret)));
    EXPECT_EQ(outcome.status.code(), c.status) << outcome.status;
    EXPECT_EQ(outcome.retryable, c.retryable);
    EXPECT_FALSE(outcome.billed);
    EXPECT_EQ(outcome.verdict, ::idgate::v1::VERDICT_UNSPECIFIED);
    EXPECT_THAT(std::string(outcome.status.message()),
                ::testing::Not(::testing::HasSubstr(secret)));
  }
}

void ExpectEveryTextFieldClassified(
    std::initializer_list<const google::protobuf::Descriptor*> messages) {
  for (const google::protobuf::Descriptor* message : messages) {
    EXPECT_THAT(UnclassifiedFields(message), ::testing::IsEmpty())
        << message->full_name();
  }
}

UnconnectedEnv::UnconnectedEnv(const std::string& provider_id) {
  provider.set_id(provider_id);
  env.provider = &provider;
  env.channel =
      grpc::CreateChannel("localhost:1", grpc::InsecureChannelCredentials());
  env.call_queue = &call_queue;
}

void AdapterTest::SetUp() {
  auto book = IdentityBook::LoadFile(
      absl::StrCat(IDGATE_SOURCE_DIR, "/config/testdata/identities.json"));
  ASSERT_TRUE(book.ok()) << book.status();
  book_ = *std::move(book);
}

void AdapterTest::StartProvider(const MockFactory& mocks, MockEnv env,
                                const AdapterFactory& adapters,
                                const google::protobuf::Message& config) {
  // The adapter's calls end before the server goes, and the server before
  // the mock whose core serves them (MockHost).
  adapter_.reset();
  host_.reset();
  env.book = book_.get();
  std::vector<std::unique_ptr<MockProvider>> hosted;
  hosted.push_back(mocks.Create(env));
  auto host = MockHost::Start(std::move(hosted));
  ASSERT_TRUE(host.ok()) << host.status();
  host_ = *std::move(host);
  auto adapter = CreateAdapter(adapters, config, &call_queue_);
  ASSERT_TRUE(adapter.ok()) << adapter.status();
  adapter_ = *std::move(adapter);
}

absl::StatusOr<std::unique_ptr<Adapter>> AdapterTest::CreateAdapter(
    const AdapterFactory& factory, const google::protobuf::Message& config,
    ProviderCallQueue* queue) {
  ::idgate::config::v1::Provider provider;
  provider.set_id("under-test");
  provider.mutable_adapter()->PackFrom(config);
  AdapterEnv env;
  env.provider = &provider;
  env.channel = host_->InProcessChannel();
  env.call_queue = queue;
  env.resolve_path = [](const std::string& path) {
    return absl::StrCat(IDGATE_SOURCE_DIR, "/config/dev-secrets/", path);
  };
  return factory.Create(env);
}

const IdentityBook::Person& AdapterTest::Person(absl::string_view label) const {
  const IdentityBook::Person* person = book_->FindByLabel(label);
  EXPECT_NE(person, nullptr) << label;
  return *person;
}

std::string AdapterTest::NextId() { return absl::StrCat("disc-", ++calls_); }

ProviderOutcome AdapterTest::Call(const MinimizedSubject& subject,
                                  absl::Duration timeout,
                                  google::protobuf::Message* request) {
  // Every adapter runs exactly one check.
  auto call =
      adapter_->Prepare(subject, {adapter_->checks().front(), NextId()});
  EXPECT_TRUE(call.ok()) << call.status();
  if (!call.ok()) return {};
  if (request != nullptr) request->CopyFrom((*call)->request());
  return Send(**call, absl::Now() + timeout);
}

void AdapterTest::ExpectNothingSent(const ProviderOutcome& o) {
  ExpectError(o, absl::StatusCode::kDeadlineExceeded, "", true);
  EXPECT_FALSE(o.sent);
  EXPECT_EQ(Stats().requests, 0u);
}

ProviderOutcome AdapterTest::Send(PreparedCall& call, absl::Time deadline) {
  absl::Notification done;
  ProviderOutcome result;
  call.Send(deadline, [&](ProviderOutcome outcome) {
    result = std::move(outcome);
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

}  // namespace idgate
