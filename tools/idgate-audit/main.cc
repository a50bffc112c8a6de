// idgate-audit: checks and reports on the disclosure ledger.
//
//   idgate-audit verify <ledger dir> [--public-key FILE]...
//   idgate-audit cat <ledger dir>
//   idgate-audit sharing-table <ledger dir> --config FILE
//                [--format markdown|csv|json]
//   idgate-audit subject <ledger dir> --id-number ID|-
//                --key-file VERSION:FILE... [--format markdown|csv|json]
//
// `idgate-audit --help` and `idgate-audit <command> --help` list every
// option with its meaning and default.
//
// Exit status: 0 done, 1 the ledger failed verification, 2 usage or I/O
// error.

#include <cstdio>
#include <iostream>
#include <string>
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

namespace idgate::audit {
namespace {

constexpr int kOk = 0;
constexpr int kVerifyFailed = 1;
constexpr int kUsage = 2;

// Every option of every command.
struct Options {
  std::string ledger_dir;
  std::vector<std::string> public_keys;  // verify
  std::string config_file;               // sharing-table
  std::string format = "markdown";       // sharing-table, subject
  std::string id_number;                 // subject
  std::vector<std::string> key_files;    // subject
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
      DirectorySource(o.ledger_dir);
  // An I/O problem (exit 2), never a failed verification.
  if (!source.ok()) {
    return absl::FailedPreconditionError(source.status().message());
  }
  return source;
}

void AddLedgerDir(CLI::App* command, Options* o) {
  command
      ->add_option("ledger-dir", o->ledger_dir,
                   "The ledger directory (the gateway's "
                   "<state dir>/ledger); read only")
      ->required();
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

int RunVerify(const Options& o) {
  absl::StatusOr<std::unique_ptr<SegmentSource>> source = SourceFrom(o);
  if (!source.ok()) return Error(source.status());
  VerifyOptions options;
  for (const std::string& file : o.public_keys) {
    absl::StatusOr<Ed25519PublicKey> key = Ed25519PublicKey::FromPemFile(file);
    if (!key.ok()) return Error(key.status());
    options.public_keys.push_back(*std::move(key));
  }
  VerifyReport report = Verify(**source, options);
  for (const std::string& warning : report.warnings) {
    std::cerr << "WARNING: " << warning << "\n";
  }
  std::cout << VerifySummary(report) << "\n";
  return report.ok ? kOk : kVerifyFailed;
}

int RunCat(const Options& o) {
  absl::StatusOr<std::unique_ptr<SegmentSource>> source = SourceFrom(o);
  if (!source.ok()) return Error(source.status());
  std::string out;
  absl::Status status = WriteJsonLines(**source, &out);
  std::cout << out;
  return status.ok() ? kOk : Error(status);
}

int RunSharingTable(const Options& o) {
  absl::StatusOr<std::unique_ptr<SegmentSource>> source = SourceFrom(o);
  if (!source.ok()) return Error(source.status());
  absl::StatusOr<Format> format = ParseFormat(o.format);
  if (!format.ok()) return Error(format.status());
  absl::StatusOr<std::string> json = ReadFileToString(o.config_file);
  if (!json.ok()) return Error(json.status());
  absl::StatusOr<::idgate::config::v1::GatewayConfig> config =
      ParseGatewayConfig(*json);
  if (!config.ok()) return Error(config.status());
  absl::StatusOr<::idgate::ledger::v1::SharingTable> table =
      BuildSharingTable(**source, *config);
  if (!table.ok()) return Error(table.status());
  std::cout << RenderSharingTable(*table, *format);
  return kOk;
}

int RunSubject(const Options& o) {
  constexpr char kCommand[] = "idgate-audit subject";
  absl::StatusOr<std::unique_ptr<SegmentSource>> source = SourceFrom(o);
  if (!source.ok()) return Error(source.status());
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

  absl::StatusOr<::idgate::ledger::v1::SubjectReport> report =
      BuildSubjectReport(**source, keyring->AllReferences(*id));
  if (!report.ok()) return Error(report.status());
  std::cout << RenderSubjectReport(*report, identity::MaskIdNumber(*id),
                                   *format);
  return kOk;
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
      "Exit status: 0 done, 1 the ledger failed verification, 2 usage or "
      "I/O error.");

  CLI::App* verify = app.add_subcommand(
      "verify",
      "Checks the hash chain and the signed checkpoints; names the first bad "
      "record");
  AddLedgerDir(verify, &o);
  verify
      ->add_option("--public-key", o.public_keys,
                   "Checkpoint public key (Ed25519, PEM); repeat for rotated "
                   "keys (default: none, signatures are not checked)")
      ->allow_extra_args(false)
      ->default_str("");

  CLI::App* cat =
      app.add_subcommand("cat", "Prints every record as a JSON line");
  AddLedgerDir(cat, &o);

  CLI::App* sharing = app.add_subcommand(
      "sharing-table",
      "Prints the third-party sharing table: per recipient, the fields, "
      "forms and purposes disclosed");
  AddLedgerDir(sharing, &o);
  sharing
      ->add_option("--config", o.config_file,
                   "The gateway config (JSON) that names the providers")
      ->required();
  AddFormat(sharing, &o);

  CLI::App* subject = app.add_subcommand(
      "subject",
      "Prints what was disclosed about one person (PIPL art. 45 request)");
  AddLedgerDir(subject, &o);
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
  if (help->parsed()) {
    // app.help() would describe the selected subcommand, "help" itself.
    std::cout << app.get_formatter()->make_help(&app, app.get_name(),
                                                CLI::AppFormatMode::Normal);
    return kOk;
  }
  return UsageError("missing command: verify, cat, sharing-table or subject",
                    "idgate-audit");
}

}  // namespace
}  // namespace idgate::audit

int main(int argc, char** argv) { return idgate::audit::Main(argc, argv); }
