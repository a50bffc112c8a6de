#include "tests/faults/fault_testing.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "server/config/config_loader.h"
#include "server/ledger/crypto.h"
#include "server/ledger/segment_format.h"
#include "tools/idgate-mock-providers/mock_providers.h"

extern char** environ;

namespace idgate::testing {

namespace v1 = ::idgate::v1;
namespace pv1 = ::idgate::provider::v1;
using ::idgate::ledger::v1::RECORD_KIND_INTENT;
using ::idgate::ledger::v1::RECORD_KIND_OUTCOME;

absl::Duration Slack(absl::Duration d) {
  static const double scale = [] {
    const char* v = std::getenv("IDGATE_TIME_SCALE");
    double s = 1;
    return v != nullptr && absl::SimpleAtod(v, &s) && s >= 1 ? s : 1.0;
  }();
  return d * scale;
}

std::string RepoPath(const std::string& relative) {
  return (std::filesystem::current_path() / relative)
      .lexically_normal()
      .string();
}

ScratchDir::ScratchDir(const std::string& stem) {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / (stem + "-XXXXXX")).string();
  path_ = mkdtemp(tmpl.data());
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// --- MockServer

std::unique_ptr<MockServer> MockServer::Start(
    std::map<std::string, cfg::MockBehaviour> behaviours, uint64_t seed) {
  ::idgate::mock::v1::MockServerConfig config;
  config.set_identity_book_file("testdata/identities.json");
  (*config.mutable_verify_public_key_files())["cfca"] =
      "dev-secrets/cfca-signing.pub.pem";
  (*config.mutable_verify_public_key_files())["alipay"] =
      "dev-secrets/alipay-signing.pub.pem";
  config.set_seed(seed);
  for (auto& [kind, behaviour] : behaviours)
    (*config.mutable_behaviours())[kind] = behaviour;
  auto providers =
      StartMockProviders(config, RepoPath("config"), "127.0.0.1:0");
  if (!providers.ok()) {
    std::fprintf(stderr, "mock server: %s\n",
                 providers.status().ToString().c_str());
    return nullptr;
  }
  std::unique_ptr<MockServer> server(new MockServer());
  server->providers_ = std::move(*providers);
  return server;
}

MockServer::~MockServer() { Shutdown(); }

std::string MockServer::address() const {
  return absl::StrCat("127.0.0.1:", port());
}
int MockServer::port() const { return providers_->host->port(); }

MockStats MockServer::stats(const std::string& kind) const {
  for (size_t i = 0; i < providers_->kinds.size(); ++i) {
    if (providers_->kinds[i] == kind) return providers_->host->mock(i).stats();
  }
  return MockStats();
}

std::shared_ptr<grpc::Channel> MockServer::InProcessChannel() {
  return providers_->host->InProcessChannel();
}

void MockServer::Shutdown(absl::Duration grace) {
  if (providers_ != nullptr && providers_->host != nullptr) {
    providers_->host->Shutdown(absl::Now() + grace);
  }
}

cfg::MockBehaviour Latency(absl::Duration mean) {
  cfg::MockBehaviour b;
  const int64_t nanos = absl::ToInt64Nanoseconds(mean);
  b.mutable_latency_mean()->set_seconds(nanos / 1'000'000'000);
  b.mutable_latency_mean()->set_nanos(
      static_cast<int32_t>(nanos % 1'000'000'000));
  return b;
}

cfg::MockBehaviour Hang() {
  cfg::MockBehaviour b;
  b.set_hang(true);
  return b;
}

cfg::MockBehaviour Busy(double rate) {
  cfg::MockBehaviour b;
  b.set_busy_rate(rate);
  return b;
}

// --- Config edits

cfg::Provider* FindProvider(cfg::GatewayConfig& c, const std::string& id) {
  for (auto& p : *c.mutable_providers()) {
    if (p.id() == id) return &p;
  }
  return nullptr;
}

void UseAddress(cfg::GatewayConfig& c, const std::string& provider_id,
                const std::string& address) {
  cfg::Provider* p = FindProvider(c, provider_id);
  if (p == nullptr) return;
  p->set_address(address);  // clears the embedded_mock of the oneof
}

void AddProviderLike(cfg::GatewayConfig& c, const std::string& like,
                     const std::string& id, const std::string& address,
                     uint32_t priority) {
  cfg::Provider copy = *FindProvider(c, like);
  copy.set_id(id);
  copy.set_address(address);
  *c.add_providers() = copy;
  for (auto& route : *c.mutable_routes()) {
    bool has = false;
    for (const auto& t : route.targets()) has |= t.provider() == like;
    if (!has) continue;
    auto* target = route.add_targets();
    target->set_provider(id);
    target->set_priority(priority);
  }
  std::vector<cfg::DisclosureRule> added;
  for (const auto& rule : c.disclosure_rules()) {
    if (rule.provider() != like) continue;
    cfg::DisclosureRule r = rule;
    r.set_provider(id);
    added.push_back(r);
  }
  for (auto& r : added) *c.add_disclosure_rules() = r;
}

cfg::GatewayConfig DevConfigAbsolute() {
  auto loaded = LoadConfigFile(RepoPath("config/dev.json"));
  if (!loaded.ok()) {
    std::fprintf(stderr, "dev config: %s\n",
                 loaded.status().ToString().c_str());
    std::abort();
  }
  cfg::GatewayConfig c = loaded->config;
  // The adapters resolve their own key files against the config's folder.
  for (auto& p : *c.mutable_providers()) {
    cfg::AlipayAdapterConfig alipay;
    cfg::CfcaAdapterConfig cfca;
    if (p.adapter().UnpackTo(&alipay) &&
        p.adapter().type_url().find("Alipay") != std::string::npos) {
      alipay.set_signing_key_file(
          ResolvePath(loaded->base_dir, alipay.signing_key_file()));
      p.mutable_adapter()->PackFrom(alipay);
    } else if (p.adapter().UnpackTo(&cfca) &&
               p.adapter().type_url().find("Cfca") != std::string::npos) {
      cfca.set_signing_key_file(
          ResolvePath(loaded->base_dir, cfca.signing_key_file()));
      p.mutable_adapter()->PackFrom(cfca);
    }
  }
  return c;
}

std::string ConfigJson(const cfg::GatewayConfig& c) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  auto st = google::protobuf::util::MessageToJsonString(c, &json, options);
  if (!st.ok()) std::abort();
  return json;
}

// --- Sockets

namespace {

int ListenLoopback(int* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(fd, 128) != 0) {
    close(fd);
    return -1;
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *port = ntohs(addr.sin_port);
  return fd;
}

int ConnectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void Reset(int fd) {
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

int ClosedPort() {
  int port = 0;
  int fd = ListenLoopback(&port);
  close(fd);
  return port;
}

TcpFault::TcpFault(Mode mode, int upstream_port)
    : mode_(mode), upstream_port_(upstream_port) {
  listen_fd_ = ListenLoopback(&port_);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

TcpFault::~TcpFault() {
  stop_ = true;
  acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
  std::lock_guard<std::mutex> lock(mu_);
  for (int fd : open_fds_) close(fd);
  close(listen_fd_);
}

std::string TcpFault::address() const {
  return absl::StrCat("127.0.0.1:", port_);
}

void TcpFault::AcceptLoop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    ++connections_;
    switch (mode_) {
      case Mode::kAcceptAndReset:
        ++resets_;
        Reset(client);
        break;
      case Mode::kSilent: {
        std::lock_guard<std::mutex> lock(mu_);
        open_fds_.push_back(client);
        break;
      }
      default: {
        std::lock_guard<std::mutex> lock(mu_);
        workers_.emplace_back([this, client] { Serve(client); });
        break;
      }
    }
  }
}

void TcpFault::Serve(int client) {
  int upstream = ConnectLoopback(upstream_port_);
  if (upstream < 0) {
    Reset(client);
    return;
  }
  // Upstream-to-client bytes not yet forwarded (whole HTTP/2 frames go).
  std::string pending;
  bool reset = false;
  char buf[64 * 1024];
  while (!stop_ && !reset) {
    pollfd fds[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
    if (poll(fds, 2, 50) <= 0) continue;
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = recv(client, buf, sizeof buf, 0);
      if (n <= 0 || !WriteAll(upstream, buf, static_cast<size_t>(n))) break;
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = recv(upstream, buf, sizeof buf, 0);
      if (n <= 0) break;
      if (mode_ == Mode::kForward) {
        if (!WriteAll(client, buf, static_cast<size_t>(n))) break;
        continue;
      }
      // kResetMidResponse: pass connection-level frames; the first
      // HEADERS frame of a stream (the answer starting) resets both ends.
      pending.append(buf, static_cast<size_t>(n));
      while (pending.size() >= 9) {
        const auto* h = reinterpret_cast<const unsigned char*>(pending.data());
        const size_t length = (size_t{h[0]} << 16) | (size_t{h[1]} << 8) | h[2];
        const unsigned type = h[3];
        const uint32_t stream =
            ((uint32_t{h[5]} << 24) | (uint32_t{h[6]} << 16) |
             (uint32_t{h[7]} << 8) | h[8]) &
            0x7fffffffu;
        if (type == 0x1 && stream != 0) {
          reset = true;
          break;
        }
        if (pending.size() < 9 + length) break;
        if (!WriteAll(client, pending.data(), 9 + length)) {
          reset = true;
          break;
        }
        pending.erase(0, 9 + length);
      }
    }
  }
  if (reset) ++resets_;
  Reset(client);
  Reset(upstream);
}

// --- Fake providers

grpc::ServerUnaryReactor* EchoingCarrier::CheckThreeFactor(
    grpc::CallbackServerContext* context,
    const pv1::CheckThreeFactorRequest* request,
    pv1::CheckThreeFactorResponse* response) {
  ++requests_;
  auto* reactor = context->DefaultReactor();
  const std::string values = absl::StrCat(
      request->name(), " ", request->id_number(), " ", request->mobile());
  context->AddTrailingMetadata("x-debug-subject", request->id_number());
  switch (mode_) {
    case Mode::kUnavailable:
      reactor->Finish(
          grpc::Status(grpc::StatusCode::UNAVAILABLE,
                       absl::StrCat("subscriber ", request->id_number(),
                                    " temporarily unreachable")));
      break;
    case Mode::kInternal:
      reactor->Finish(grpc::Status(
          grpc::StatusCode::INTERNAL,
          absl::StrCat("NullPointerException while checking ", values),
          absl::StrCat("stack: check(", values, ")")));
      break;
    case Mode::kCodeIsValue:
      response->set_code(request->id_number());
      response->set_message(values);
      response->set_order_no(request->order_no());
      reactor->Finish(grpc::Status::OK);
      break;
    case Mode::kMessageEcho:
      response->set_code("0");
      response->set_message(absl::StrCat("matched ", values));
      response->set_operator_name(request->name());
      response->set_order_no(request->order_no());
      reactor->Finish(grpc::Status::OK);
      break;
  }
  return reactor;
}

std::string FakeServer::address() const {
  return absl::StrCat("127.0.0.1:", port);
}

FakeServer StartFakeServer(const std::vector<grpc::Service*>& services) {
  FakeServer fake;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &fake.port);
  for (auto* s : services) builder.RegisterService(s);
  fake.server = builder.BuildAndStart();
  return fake;
}

// --- Processes

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(
    const ProcessOptions& options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("no argv");
  // Everything the child needs is built before fork: after it, only
  // async-signal-safe calls (the parent has gRPC threads).
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    bool overridden = false;
    for (const auto& [k, v] : options.env)
      overridden |= absl::StartsWith(*e, k + "=");
    if (!overridden) env_strings.emplace_back(*e);
  }
  for (const auto& [k, v] : options.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = options.argv;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out = -1, err = -1;
  int pipe_fds[2] = {-1, -1};
  if (!options.capture_path.empty()) {
    if (pipe2(pipe_fds, O_CLOEXEC) != 0)
      return absl::InternalError("pipe failed");
    out = pipe_fds[1];
    // Close-on-exec like the pipe: a child started meanwhile on another
    // thread must not inherit it, or this child's log never reaches EOF.
    err = fcntl(pipe_fds[1], F_DUPFD_CLOEXEC, 0);
  } else {
    out = open(options.stdout_path.c_str(),
               O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    err = open(options.stderr_path.c_str(),
               O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  }
  if (out < 0 || err < 0)
    return absl::InternalError("cannot open the child's output files");
  const bool ignore_sigxfsz =
      options.ignore_sigxfsz || options.file_size_limit >= 0;

  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    dup2(out, 1);
    dup2(err, 2);
    if (ignore_sigxfsz)
      signal(SIGXFSZ, SIG_IGN);  // survives exec: writes fail with EFBIG
    if (options.file_size_limit >= 0) {
      rlimit limit{static_cast<rlim_t>(options.file_size_limit),
                   static_cast<rlim_t>(options.file_size_limit)};
      setrlimit(RLIMIT_FSIZE, &limit);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(out);
  close(err);
  std::unique_ptr<Subprocess> p(new Subprocess());
  p->pid_ = pid;
  if (pipe_fds[0] >= 0) {
    const int read_fd = pipe_fds[0];
    const std::string path = options.capture_path;
    // Ends at EOF: when the child (the only writer left) exits.
    p->reader_ = std::thread([read_fd, path] {
      const int file =
          open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      char buf[16384];
      ssize_t n;
      while ((n = read(read_fd, buf, sizeof buf)) > 0) {
        if (file >= 0 && write(file, buf, static_cast<size_t>(n)) < 0) break;
      }
      if (file >= 0) close(file);
      close(read_fd);
    });
  }
  return p;
}

Subprocess::~Subprocess() {
  if (!reaped_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    Wait(absl::Seconds(30));
  }
  if (reader_.joinable()) reader_.join();
}

bool Subprocess::Wait(absl::Duration timeout) {
  if (reaped_) return true;
  const absl::Time end = absl::Now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      if (WIFEXITED(status)) exit_code_ = WEXITSTATUS(status);
      if (WIFSIGNALED(status)) term_signal_ = WTERMSIG(status);
      // Everything the child wrote is in the capture file once Wait returns.
      if (reader_.joinable()) reader_.join();
      return true;
    }
    if (r < 0) {
      reaped_ = true;
      return true;
    }
    if (absl::Now() >= end) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

bool Subprocess::running() { return !Wait(absl::ZeroDuration()); }

void Subprocess::Signal(int signal) {
  if (!reaped_ && pid_ > 0) kill(pid_, signal);
}

bool SetFileSizeLimit(pid_t pid, int64_t bytes) {
  rlimit limit{static_cast<rlim_t>(bytes), static_cast<rlim_t>(bytes)};
  return prlimit(pid, RLIMIT_FSIZE, &limit, nullptr) == 0;
}

std::string IdgateBinary() {
#ifdef IDGATE_BIN
  return IDGATE_BIN;
#else
  return "";
#endif
}

GatewayProcess::~GatewayProcess() {
  if (process_ != nullptr && process_->running()) Kill9();
}

absl::Status GatewayProcess::Start(absl::Duration timeout) {
  log_offset_ = ReadFileOrEmpty(options_.log_path).size();
  ProcessOptions p;
  p.argv = {IdgateBinary(), "--config=" + options_.config_path,
            "--state_dir=" + options_.state_dir, "--listen=127.0.0.1:0",
            "--metrics_listen=" + options_.metrics_listen};
  for (const auto& f : options_.extra_flags) p.argv.push_back(f);
  p.env = options_.env;
  p.capture_path = options_.log_path;
  p.file_size_limit = options_.file_size_limit;
  p.ignore_sigxfsz = options_.ignore_sigxfsz;
  auto process = Subprocess::Start(p);
  if (!process.ok()) return process.status();
  process_ = std::move(*process);
  port_ = 0;
  const absl::Time end = absl::Now() + timeout;
  while (absl::Now() < end) {
    const std::string log = ReadFileOrEmpty(options_.log_path);
    const std::string fresh =
        log.size() > log_offset_ ? log.substr(log_offset_) : "";
    for (absl::string_view line : absl::StrSplit(fresh, '\n')) {
      if (!absl::StrContains(line, "\"event\":\"started\"")) continue;
      const size_t at = line.find("\"port\":");
      if (at == absl::string_view::npos) continue;
      absl::string_view rest = line.substr(at + 7);
      rest = rest.substr(0, rest.find_first_not_of("0123456789"));
      if (absl::SimpleAtoi(rest, &port_) && port_ > 0) {
        channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_),
                                       grpc::InsecureChannelCredentials());
        return absl::OkStatus();
      }
    }
    if (!process_->running()) {
      return absl::UnavailableError(absl::StrCat(
          "idgate exited (code ", process_->exit_code(), ", signal ",
          process_->term_signal(), ") before starting: ", fresh));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError("idgate did not log \"started\" in time");
}

void GatewayProcess::Kill9() {
  if (process_ == nullptr) return;
  process_->Signal(SIGKILL);
  process_->Wait(absl::Seconds(30));
  channel_.reset();
}

int GatewayProcess::Terminate(absl::Duration timeout) {
  if (process_ == nullptr) return -1;
  process_->Signal(SIGTERM);
  if (!process_->Wait(timeout)) {
    Kill9();
    return -1;
  }
  channel_.reset();
  return process_->exit_code();
}

bool GatewayProcess::WaitExit(absl::Duration timeout, int* exit_code) {
  if (process_ == nullptr || !process_->Wait(timeout)) return false;
  *exit_code = process_->exit_code();
  return true;
}

// --- Calls and checks

grpc::Status VerifyOn(const std::shared_ptr<grpc::Channel>& channel,
                      const v1::VerifyRequest& request,
                      v1::VerifyResponse* response, const std::string& caller,
                      absl::Duration timeout) {
  auto stub = v1::VerificationService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  if (!caller.empty()) context.AddMetadata("x-idgate-caller", caller);
  return stub->Verify(&context, request, response);
}

std::string HealthOf(const std::shared_ptr<grpc::Channel>& channel,
                     const std::string& service) {
  if (channel == nullptr) return "UNREACHABLE";
  auto stub = grpc::health::v1::Health::NewStub(channel);
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  while (true) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline));
    // After a test made the server drop a connection (e.g. oversized
    // metadata), the channel redials; wait for it rather than fail fast.
    context.set_wait_for_ready(true);
    grpc::health::v1::HealthCheckResponse response;
    const grpc::Status status = stub->Check(&context, request, &response);
    if (status.ok()) {
      return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
          response.status());
    }
    // A call that went out on the connection in the moment the server
    // closed it fails with UNAVAILABLE "Socket closed"; the next one
    // gets the new connection. A server that is really down keeps failing.
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE ||
        absl::Now() + absl::Milliseconds(50) >= deadline) {
      return "UNREACHABLE";
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

void ExpectServingAndMatching(const std::shared_ptr<grpc::Channel>& channel,
                              const v1::VerifyRequest& request) {
  EXPECT_EQ(HealthOf(channel), "SERVING");
  v1::VerifyResponse response;
  const grpc::Status status = VerifyOn(channel, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.verdict(), v1::VERDICT_MATCH);
}

std::vector<std::string> LeakForms(const std::string& value) {
  std::vector<std::string> forms = {
      value, absl::BytesToHexString(value),
      absl::AsciiStrToUpper(absl::BytesToHexString(value)),
      absl::Base64Escape(value), absl::WebSafeBase64Escape(value)};
  std::string url, json;
  bool ascii = true;
  for (unsigned char c : value) {
    if (std::isalnum(c)) {
      url += static_cast<char>(c);
    } else {
      url += absl::StrFormat("%%%02X", c);
    }
    ascii &= c < 0x80;
  }
  forms.push_back(url);
  if (!ascii) {
    // JSON \uXXXX escapes of the UTF-8 code points.
    for (size_t i = 0; i < value.size();) {
      unsigned char c = value[i];
      uint32_t cp = c;
      size_t n = 1;
      if (c >= 0xF0) {
        cp = c & 0x07;
        n = 4;
      } else if (c >= 0xE0) {
        cp = c & 0x0F;
        n = 3;
      } else if (c >= 0xC0) {
        cp = c & 0x1F;
        n = 2;
      }
      for (size_t k = 1; k < n && i + k < value.size(); ++k)
        cp = (cp << 6) | (value[i + k] & 0x3F);
      json += cp < 0x80 ? std::string(1, static_cast<char>(cp))
                        : absl::StrFormat("\\u%04x", cp);
      i += n;
    }
    forms.push_back(json);
  }
  return forms;
}

std::string FindLeak(const std::string& haystack,
                     const std::vector<std::string>& values) {
  for (size_t v = 0; v < values.size(); ++v) {
    if (values[v].empty()) continue;
    const auto forms = LeakForms(values[v]);
    for (size_t f = 0; f < forms.size(); ++f) {
      if (haystack.find(forms[f]) != std::string::npos) {
        return absl::StrCat("value #", v, " (", values[v].size(),
                            " bytes) in form #", f);
      }
    }
  }
  return "";
}

audit::VerifyReport AuditLedger(const std::string& ledger_dir) {
  audit::VerifyOptions options;
  auto key = Ed25519PublicKey::FromPemFile(
      RepoPath("config/dev-secrets/checkpoint-ed25519.pub.pem"));
  if (key.ok()) options.public_keys.push_back(*std::move(key));
  auto source = audit::DirectorySource(ledger_dir);
  if (!source.ok()) {
    audit::VerifyReport report;
    report.error = std::string(source.status().message());
    return report;
  }
  return audit::Verify(**source, options);
}

LedgerSummary SummarizeLedger(const std::string& ledger_dir) {
  LedgerSummary summary;
  auto source = audit::DirectorySource(ledger_dir);
  if (!source.ok()) return summary;
  audit::Verify(**source, audit::VerifyOptions(), [&](const LedgerRecord& r) {
    if (r.kind() == RECORD_KIND_INTENT) {
      summary.intents.push_back(r);
      ++summary.intents_by_provider[r.provider()];
    } else if (r.kind() == RECORD_KIND_OUTCOME) {
      summary.outcomes.push_back(r);
    }
  });
  return summary;
}

double Sample(const std::string& scrape, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(scrape, '\n')) {
    if (absl::StartsWith(line, series + " ")) {
      double v = -1;
      if (absl::SimpleAtod(line.substr(series.size() + 1), &v)) return v;
    }
  }
  return -1;
}

}  // namespace idgate::testing
