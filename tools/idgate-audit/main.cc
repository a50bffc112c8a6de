// idgate-audit: checks and reports on the disclosure ledger.
//
//   idgate-audit verify <ledger dir>... [--public-key FILE]...
//   idgate-audit cat <ledger dir>...
//   idgate-audit sharing-table <ledger dir>... --config FILE
//                [--format markdown|csv|json]
//   idgate-audit subject <ledger dir>... --id-number ID|-
//                --key-file VERSION:FILE... [--format markdown|csv|json]
//   idgate-audit pull (--target HOST:PORT... | --discover HOST:PORT)
//                --out DIR --public-key FILE... [TLS options]
//
// Several ledger directories (one per replica, or the mirrors `pull`
// keeps) make one audit: each chain verified on its own, the reports
// merged.
//
// `idgate-audit --help` and `idgate-audit <command> --help` list every
// option with its meaning and default.
//
// Exit status: 0 done, 1 a ledger failed verification (or a pull refused
// one), 2 usage or I/O error.

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/file.h"
#include "server/identity/masking.h"
#include "server/identity/validators.h"
#include "server/ledger/subject_ref.h"
#include "tools/idgate-audit/audit.h"
#include "tools/idgate-audit/pull.h"

namespace idgate::audit {
namespace {

constexpr int kOk = 0;
constexpr int kVerifyFailed = 1;
constexpr int kUsage = 2;

// Every option of every command.
struct Options {
  std::vector<std::string> ledger_dirs;
  std::vector<std::string> public_keys;  // verify
  std::string config_file;               // sharing-table
  std::string format = "markdown";       // sharing-table, subject
  std::string id_number;                 // subject
  std::vector<std::string> key_files;    // subject
  // pull
  std::vector<std::string> targets;
  std::string discover;
  std::string out_dir;
  std::string tls_ca, tls_cert, tls_key, server_name;
  std::string caller;
  int timeout_seconds = 3600;
};

int UsageError(absl::string_view message, absl::string_view command) {
  std::cerr << "idgate-audit: " << message << "\nRun '" << command
            << " --help' for the options.\n";
  return kUsage;
}

int Error(const absl::Status& status) {
  std::cerr << "idgate-audit: " << status.message() << "\n";
  return status.code() == absl::StatusCode::kDataLoss ? kVerifyFailed : kUsage;
}

absl::StatusOr<std::unique_ptr<SegmentSource>> SourceFrom(const Options& o) {
  absl::StatusOr<std::unique_ptr<SegmentSource>> source =
      DirectorySource(o.ledger_dirs.front());
  // An I/O problem (exit 2), never a failed verification.
  if (!source.ok()) {
    return absl::FailedPreconditionError(source.status().message());
  }
  return source;
}

void AddLedgerDirs(CLI::App* command, Options* o) {
  command
      ->add_option("ledger-dir", o->ledger_dirs,
                   "The ledger directory (the gateway's <state dir>/ledger, "
                   "or a mirror from pull); several make one audit, one per "
                   "replica; read only")
      ->required();
}

bool Several(const Options& o) { return o.ledger_dirs.size() > 1; }

// `build` (a generic lambda calling one of audit.h's overloads) over the one
// ledger directory given, or over all of them when there are several: one
// ledger keeps the single-ledger output, without a column naming it.
template <typename Build>
auto OnLedgers(const Options& o, Build build)
    -> decltype(build(std::declval<SegmentSource&>())) {
  if (Several(o)) {
    std::vector<LedgerSource> ledgers = OpenLedgers(o.ledger_dirs);
    return build(ledgers);
  }
  absl::StatusOr<std::unique_ptr<SegmentSource>> source = SourceFrom(o);
  if (!source.ok()) return source.status();
  return build(**source);
}

void AddFormat(CLI::App* command, Options* o) {
  command
      ->add_option("--format", o->format,
                   "Output: markdown (or md), csv or json")
      ->check(
          [](const std::string& value) -> std::string {
            absl::StatusOr<Format> format = ParseFormat(value);
            return format.ok() ? "" : std::string(format.status().message());
          },
          "markdown|csv|json");
}

absl::StatusOr<std::vector<Ed25519PublicKey>> LoadPublicKeys(
    const std::vector<std::string>& files) {
  std::vector<Ed25519PublicKey> keys;
  for (const std::string& file : files) {
    absl::StatusOr<Ed25519PublicKey> key = Ed25519PublicKey::FromPemFile(file);
    if (!key.ok()) return key.status();
    keys.push_back(*std::move(key));
  }
  return keys;
}

int RunVerify(const Options& o) {
  VerifyOptions options;
  absl::StatusOr<std::vector<Ed25519PublicKey>> keys =
      LoadPublicKeys(o.public_keys);
  if (!keys.ok()) return Error(keys.status());
  options.public_keys = *std::move(keys);
  if (Several(o)) {
    std::vector<LedgerSource> ledgers = OpenLedgers(o.ledger_dirs);
    MultiVerifyReport report = Verify(ledgers, options);
    if (!report.error.empty()) {
      return UsageError(report.error, "idgate-audit verify");
    }
    for (const LedgerVerification& ledger : report.ledgers) {
      for (const std::string& warning : ledger.report.warnings) {
        std::cerr << "WARNING: " << ledger.ledger << ": " << warning << "\n";
      }
    }
    std::cout << VerifySummary(report) << "\n";
    return report.ok ? kOk : kVerifyFailed;
  }
  absl::StatusOr<std::unique_ptr<SegmentSource>> source = SourceFrom(o);
  if (!source.ok()) return Error(source.status());
  VerifyReport report = Verify(**source, options);
  for (const std::string& warning : report.warnings) {
    std::cerr << "WARNING: " << warning << "\n";
  }
  std::cout << VerifySummary(report) << "\n";
  return report.ok ? kOk : kVerifyFailed;
}

int RunCat(const Options& o) {
  std::string out;
  absl::Status status = OnLedgers(
      o, [&](auto& ledgers) { return WriteJsonLines(ledgers, &out); });
  std::cout << out;
  return status.ok() ? kOk : Error(status);
}

int RunSharingTable(const Options& o) {
  absl::StatusOr<Format> format = ParseFormat(o.format);
  if (!format.ok()) return Error(format.status());
  absl::StatusOr<std::string> json = ReadFileToString(o.config_file);
  if (!json.ok()) return Error(json.status());
  absl::StatusOr<::idgate::config::v1::GatewayConfig> config =
      ParseGatewayConfig(*json);
  if (!config.ok()) return Error(config.status());
  absl::StatusOr<::idgate::ledger::v1::SharingTable> table = OnLedgers(
      o, [&](auto& ledgers) { return BuildSharingTable(ledgers, *config); });
  if (!table.ok()) return Error(table.status());
  std::cout << RenderSharingTable(*table, *format);
  return kOk;
}

int RunSubject(const Options& o) {
  constexpr char kCommand[] = "idgate-audit subject";
  absl::StatusOr<Format> format = ParseFormat(o.format);
  if (!format.ok()) return Error(format.status());

  std::string raw_id = o.id_number;
  if (raw_id == "-" && !std::getline(std::cin, raw_id)) {
    return UsageError("no ID number on standard input", kCommand);
  }
  // The same normalization the gateway applies before it computes the
  // reference, so the same person gives the same reference.
  absl::StatusOr<std::string> id = identity::NormalizeIdNumber(
      absl::StripAsciiWhitespace(raw_id), absl::Now());
  if (!id.ok()) {
    return UsageError(absl::StrCat("--id-number: ", id.status().message()),
                      kCommand);
  }

  std::vector<SubjectKeySpec> specs;
  for (const std::string& spec : o.key_files) {
    size_t colon = spec.find(':');
    uint32_t version = 0;
    if (colon == std::string::npos ||
        !absl::SimpleAtoi(spec.substr(0, colon), &version)) {
      return UsageError("--key-file takes VERSION:FILE, e.g. 2:/keys/v2.key",
                        kCommand);
    }
    specs.push_back(SubjectKeySpec{version, spec.substr(colon + 1)});
  }
  absl::StatusOr<SubjectKeyring> keyring = SubjectKeyring::Load(specs);
  if (!keyring.ok()) return Error(keyring.status());

  const std::vector<SubjectReference> refs = keyring->AllReferences(*id);
  absl::StatusOr<::idgate::ledger::v1::SubjectReport> report = OnLedgers(
      o, [&](auto& ledgers) { return BuildSubjectReport(ledgers, refs); });
  if (!report.ok()) return Error(report.status());
  std::cout << RenderSubjectReport(*report, identity::MaskIdNumber(*id),
                                   *format);
  return kOk;
}

// Every address `host` resolves to (a headless Service: one per replica),
// as "ip:port".
absl::StatusOr<std::vector<std::string>> Discover(const std::string& target) {
  const size_t colon = target.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError("--discover takes HOST:PORT");
  }
  const std::string host = target.substr(0, colon);
  const std::string port = target.substr(colon + 1);
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int error = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
      error != 0) {
    return absl::UnavailableError(
        absl::StrCat("--discover ", host, ": ", gai_strerror(error)));
  }
  std::set<std::string> addresses;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char ip[INET6_ADDRSTRLEN] = {};
    const void* raw =
        a->ai_family == AF_INET
            ? static_cast<const void*>(
                  &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
            : static_cast<const void*>(
                  &reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
    if (inet_ntop(a->ai_family, raw, ip, sizeof(ip)) == nullptr) continue;
    addresses.insert(a->ai_family == AF_INET6
                         ? absl::StrCat("[", ip, "]:", port)
                         : absl::StrCat(ip, ":", port));
  }
  freeaddrinfo(found);
  return std::vector<std::string>(addresses.begin(), addresses.end());
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> PullCredentials(
    const Options& o) {
  if (o.tls_ca.empty()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  absl::StatusOr<std::string> ca = ReadFileToString(o.tls_ca);
  if (!ca.ok()) return ca.status();
  ssl.pem_root_certs = *ca;
  if (!o.tls_cert.empty()) {
    absl::StatusOr<std::string> cert = ReadFileToString(o.tls_cert);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadFileToString(o.tls_key);
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *cert;
    ssl.pem_private_key = *key;
  }
  return grpc::SslCredentials(ssl);
}

int RunPull(const Options& o) {
  constexpr char kCommand[] = "idgate-audit pull";
  if (o.targets.empty() == o.discover.empty()) {
    return UsageError("give --target (repeatable) or --discover", kCommand);
  }
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return UsageError("--tls-cert and --tls-key go together", kCommand);
  }
  if (!o.tls_cert.empty() && o.tls_ca.empty()) {
    return UsageError("--tls-cert needs --tls-ca", kCommand);
  }
  std::vector<std::string> targets = o.targets;
  std::string server_name = o.server_name;
  if (!o.discover.empty()) {
    absl::StatusOr<std::vector<std::string>> found = Discover(o.discover);
    if (!found.ok()) return Error(found.status());
    if (found->empty()) return Error(absl::NotFoundError("no replica found"));
    targets = *std::move(found);
    // The replicas' certificate names the Service, not each address.
    if (server_name.empty())
      server_name = o.discover.substr(0, o.discover.rfind(':'));
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      PullCredentials(o);
  if (!credentials.ok()) return Error(credentials.status());
  PullOptions options;
  options.out_dir = o.out_dir;
  absl::StatusOr<std::vector<Ed25519PublicKey>> keys =
      LoadPublicKeys(o.public_keys);
  if (!keys.ok()) return Error(keys.status());
  options.public_keys = *std::move(keys);
  options.new_context = [&o] {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(o.timeout_seconds));
    if (!o.caller.empty()) context->AddMetadata("x-idgate-caller", o.caller);
    return context;
  };
  grpc::ChannelArguments args;
  if (!server_name.empty()) {
    args.SetSslTargetNameOverride(server_name);
  }
  args.SetMaxReceiveMessageSize(8 << 20);
  int exit = kOk;
  for (const std::string& target : targets) {
    auto stub = ::idgate::ledger::v1::LedgerMirrorService::NewStub(
        grpc::CreateCustomChannel(target, *credentials, args));
    PullReport report = PullLedger(*stub, options);
    std::cout << target << ": " << PullSummary(report) << "\n";
    if (report.refused) {
      exit = kVerifyFailed;
    } else if (!report.ok && exit == kOk) {
      exit = kUsage;
    }
  }
  return exit;
}

// The command line as far as it was parsed ("idgate-audit subject"), for
// pointing at the right --help.
std::string ParsedCommand(const CLI::App& app) {
  std::string command = app.get_name();
  for (const CLI::App* sub : app.get_subcommands()) {
    absl::StrAppend(&command, " ", sub->get_name());
  }
  return command;
}

int Main(int argc, char** argv) {
  Options o;
  CLI::App app(
      "Checks the disclosure ledger and reports on it (what went to which "
      "provider, for whom).",
      "idgate-audit");
  app.option_defaults()->always_capture_default();
  app.get_formatter()->column_width(32);
  app.footer(
      "Exit status: 0 done, 1 a ledger failed verification or a pull "
      "refused one, 2 usage or I/O error (a replica unreachable).");

  CLI::App* verify = app.add_subcommand(
      "verify",
      "Checks the hash chain and the signed checkpoints; names the first bad "
      "record");
  AddLedgerDirs(verify, &o);
  verify
      ->add_option("--public-key", o.public_keys,
                   "Checkpoint public key (Ed25519, PEM); repeat for rotated "
                   "keys (default: none, signatures are not checked)")
      ->allow_extra_args(false)
      ->default_str("");

  CLI::App* cat =
      app.add_subcommand("cat", "Prints every record as a JSON line");
  AddLedgerDirs(cat, &o);

  CLI::App* sharing = app.add_subcommand(
      "sharing-table",
      "Prints the third-party sharing table: per recipient, the fields, "
      "forms and purposes disclosed");
  AddLedgerDirs(sharing, &o);
  sharing
      ->add_option("--config", o.config_file,
                   "The gateway config (JSON) that names the providers")
      ->required();
  AddFormat(sharing, &o);

  CLI::App* subject = app.add_subcommand(
      "subject",
      "Prints what was disclosed about one person (PIPL art. 45 request)");
  AddLedgerDirs(subject, &o);
  subject
      ->add_option("--id-number", o.id_number,
                   "The person's ID number; - reads it from standard input, "
                   "which keeps it out of the process list and the shell "
                   "history")
      ->required();
  subject
      ->add_option("--key-file", o.key_files,
                   "VERSION:FILE of a subject-reference HMAC key; repeat for "
                   "every version the ledger may hold")
      ->required()
      ->allow_extra_args(false)
      ->default_str("");
  AddFormat(subject, &o);

  CLI::App* pull = app.add_subcommand(
      "pull",
      "Copies each replica's ledger into <out>/<ledger name>, verifying the "
      "chain and signatures as it copies; refuses a replica whose history "
      "changed");
  pull->add_option("--target", o.targets,
                   "A gateway's HOST:PORT; repeat for each replica")
      ->allow_extra_args(false)
      ->default_str("");
  pull->add_option("--discover", o.discover,
                   "HOST:PORT of a headless Service: every address it "
                   "resolves to is a replica");
  pull->add_option("--out", o.out_dir, "The mirrors' folder")->required();
  pull->add_option("--public-key", o.public_keys,
                   "Checkpoint public key (Ed25519, PEM); repeat for rotated "
                   "keys")
      ->required()
      ->allow_extra_args(false)
      ->default_str("");
  pull->add_option("--tls-ca", o.tls_ca,
                   "CA of the gateways' certificates (default: plaintext)");
  pull->add_option("--tls-cert", o.tls_cert,
                   "Client certificate of a caller with ledger_reader");
  pull->add_option("--tls-key", o.tls_key, "Its private key");
  pull->add_option("--server-name", o.server_name,
                   "Name to check in the gateways' certificate (default: "
                   "the --discover host)");
  pull->add_option("--caller", o.caller,
                   "Development mode only: the caller id sent as "
                   "x-idgate-caller");
  pull->add_option("--timeout", o.timeout_seconds,
                   "Seconds allowed for each replica's calls")
      ->check(CLI::PositiveNumber);

  CLI::App* help = app.add_subcommand("help", "Prints this help");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      return app.exit(e);  // --help
    }
    return UsageError(e.what(), ParsedCommand(app));
  }
  if (verify->parsed()) return RunVerify(o);
  if (cat->parsed()) return RunCat(o);
  if (sharing->parsed()) return RunSharingTable(o);
  if (subject->parsed()) return RunSubject(o);
  if (pull->parsed()) return RunPull(o);
  if (help->parsed()) {
    // app.help() would describe the selected subcommand, "help" itself.
    std::cout << app.get_formatter()->make_help(&app, app.get_name(),
                                                CLI::AppFormatMode::Normal);
    return kOk;
  }
  return UsageError(
      "missing command: verify, cat, sharing-table, subject or pull",
      "idgate-audit");
}

}  // namespace
}  // namespace idgate::audit

int main(int argc, char** argv) { return idgate::audit::Main(argc, argv); }
