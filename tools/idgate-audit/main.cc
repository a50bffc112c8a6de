// idgate-audit: checks and reports on the disclosure ledger.
//
//   idgate-audit verify <ledger dir> [--public-key FILE]...
//   idgate-audit cat <ledger dir>
//   idgate-audit sharing-table <ledger dir> --config FILE
//                [--format markdown|csv|json]
//   idgate-audit subject <ledger dir> --id-number ID|- --key-file
//   VERSION:FILE...
//                [--format markdown|csv|json]
//
// Exit status: 0 done, 1 the ledger failed verification, 2 usage or I/O
// error.

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
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

constexpr char kUsageText[] =
    "usage:\n"
    "  idgate-audit verify <ledger dir> [--public-key FILE]...\n"
    "  idgate-audit cat <ledger dir>\n"
    "  idgate-audit sharing-table <ledger dir> --config FILE "
    "[--format markdown|csv|json]\n"
    "  idgate-audit subject <ledger dir> --id-number ID|- "
    "--key-file VERSION:FILE... [--format markdown|csv|json]\n"
    "\n"
    "--id-number - reads the number from standard input, which keeps it out\n"
    "of the process list and the shell history.\n";

// Positional arguments and --flag values (repeatable), in order.
struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> flags;

  const std::string* Last(const std::string& flag) const {
    auto it = flags.find(flag);
    return it == flags.end() ? nullptr : &it->second.back();
  }
};

absl::StatusOr<Args> ParseArgs(int argc, char** argv,
                               const std::vector<std::string>& known) {
  Args args;
  for (int i = 0; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (!absl::StartsWith(arg, "--")) {
      args.positional.emplace_back(arg);
      continue;
    }
    std::string name;
    std::string value;
    size_t equals = arg.find('=');
    if (equals != absl::string_view::npos) {
      name = std::string(arg.substr(2, equals - 2));
      value = std::string(arg.substr(equals + 1));
    } else {
      name = std::string(arg.substr(2));
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " needs a value"));
      }
      value = argv[++i];
    }
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    args.flags[name].push_back(std::move(value));
  }
  return args;
}

int UsageError(absl::string_view message) {
  std::cerr << "idgate-audit: " << message << "\n\n" << kUsageText;
  return kUsage;
}

int Error(const absl::Status& status) {
  std::cerr << "idgate-audit: " << status.message() << "\n";
  return status.code() == absl::StatusCode::kDataLoss ? kVerifyFailed : kUsage;
}

absl::StatusOr<std::unique_ptr<SegmentSource>> SourceFrom(const Args& args) {
  if (args.positional.size() != 1) {
    return absl::InvalidArgumentError("expected exactly one ledger directory");
  }
  absl::StatusOr<std::unique_ptr<SegmentSource>> source =
      DirectorySource(args.positional[0]);
  // Not a usage problem: report it without the usage text.
  if (!source.ok()) {
    return absl::FailedPreconditionError(source.status().message());
  }
  return source;
}

// Usage text only for usage errors.
int SourceError(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument
             ? UsageError(status.message())
             : Error(status);
}

absl::StatusOr<Format> FormatFrom(const Args& args) {
  const std::string* format = args.Last("format");
  return format == nullptr ? Format::kMarkdown : ParseFormat(*format);
}

int RunVerify(int argc, char** argv) {
  absl::StatusOr<Args> args = ParseArgs(argc, argv, {"public-key"});
  if (!args.ok()) return UsageError(args.status().message());
  absl::StatusOr<std::unique_ptr<SegmentSource>> source = SourceFrom(*args);
  if (!source.ok()) return SourceError(source.status());
  VerifyOptions options;
  for (const std::string& file : args->flags["public-key"]) {
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

int RunCat(int argc, char** argv) {
  absl::StatusOr<Args> args = ParseArgs(argc, argv, {});
  if (!args.ok()) return UsageError(args.status().message());
  absl::StatusOr<std::unique_ptr<SegmentSource>> source = SourceFrom(*args);
  if (!source.ok()) return SourceError(source.status());
  std::string out;
  absl::Status status = WriteJsonLines(**source, &out);
  std::cout << out;
  return status.ok() ? kOk : Error(status);
}

int RunSharingTable(int argc, char** argv) {
  absl::StatusOr<Args> args = ParseArgs(argc, argv, {"config", "format"});
  if (!args.ok()) return UsageError(args.status().message());
  absl::StatusOr<std::unique_ptr<SegmentSource>> source = SourceFrom(*args);
  if (!source.ok()) return SourceError(source.status());
  absl::StatusOr<Format> format = FormatFrom(*args);
  if (!format.ok()) return UsageError(format.status().message());
  const std::string* config_file = args->Last("config");
  if (config_file == nullptr) return UsageError("--config is required");
  absl::StatusOr<std::string> json = ReadFileToString(*config_file);
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

int RunSubject(int argc, char** argv) {
  absl::StatusOr<Args> args =
      ParseArgs(argc, argv, {"id-number", "key-file", "format"});
  if (!args.ok()) return UsageError(args.status().message());
  absl::StatusOr<std::unique_ptr<SegmentSource>> source = SourceFrom(*args);
  if (!source.ok()) return SourceError(source.status());
  absl::StatusOr<Format> format = FormatFrom(*args);
  if (!format.ok()) return UsageError(format.status().message());

  const std::string* id_arg = args->Last("id-number");
  if (id_arg == nullptr) return UsageError("--id-number is required");
  std::string raw_id = *id_arg;
  if (raw_id == "-" && !std::getline(std::cin, raw_id)) {
    return UsageError("no ID number on standard input");
  }
  // The same normalization the gateway applies before it computes the
  // reference, so the same person gives the same reference.
  absl::StatusOr<std::string> id = identity::NormalizeIdNumber(
      absl::StripAsciiWhitespace(raw_id), absl::Now());
  if (!id.ok()) {
    return UsageError(absl::StrCat("--id-number: ", id.status().message()));
  }

  std::vector<SubjectKeySpec> specs;
  for (const std::string& spec : args->flags["key-file"]) {
    size_t colon = spec.find(':');
    uint32_t version = 0;
    if (colon == std::string::npos ||
        !absl::SimpleAtoi(spec.substr(0, colon), &version)) {
      return UsageError("--key-file takes VERSION:FILE, e.g. 2:/keys/v2.key");
    }
    specs.push_back(SubjectKeySpec{version, spec.substr(colon + 1)});
  }
  if (specs.empty()) return UsageError("at least one --key-file is required");
  absl::StatusOr<SubjectKeyring> keyring = SubjectKeyring::Load(specs);
  if (!keyring.ok()) return Error(keyring.status());

  absl::StatusOr<::idgate::ledger::v1::SubjectReport> report =
      BuildSubjectReport(**source, keyring->AllReferences(*id));
  if (!report.ok()) return Error(report.status());
  std::cout << RenderSubjectReport(*report, identity::MaskIdNumber(*id),
                                   *format);
  return kOk;
}

int Main(int argc, char** argv) {
  if (argc < 2) return UsageError("missing command");
  const std::string command = argv[1];
  // Arguments after the command.
  int rest_argc = argc - 2;
  char** rest_argv = argv + 2;
  if (command == "verify") return RunVerify(rest_argc, rest_argv);
  if (command == "cat") return RunCat(rest_argc, rest_argv);
  if (command == "sharing-table") return RunSharingTable(rest_argc, rest_argv);
  if (command == "subject") return RunSubject(rest_argc, rest_argv);
  if (command == "help" || command == "--help" || command == "-h") {
    std::cout << kUsageText;
    return kOk;
  }
  return UsageError(absl::StrCat("unknown command \"", command, "\""));
}

}  // namespace
}  // namespace idgate::audit

int main(int argc, char** argv) { return idgate::audit::Main(argc, argv); }
