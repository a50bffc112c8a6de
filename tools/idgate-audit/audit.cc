#include "tools/idgate-audit/audit.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "core/time.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "server/config/config_loader.h"
#include "server/ledger/ledger_scan.h"
#include "server/ledger/retention.h"
#include "server/ledger/segment_format.h"

namespace idgate::audit {
namespace {

using ::google::protobuf::Timestamp;
using ::idgate::config::v1::GatewayConfig;
using ::idgate::ledger::v1::RECORD_KIND_CHECKPOINT;
using ::idgate::ledger::v1::RECORD_KIND_INTENT;
using ::idgate::ledger::v1::RECORD_KIND_OUTCOME;
using ::idgate::ledger::v1::RECORD_KIND_PRUNE;
using ::idgate::ledger::v1::SharingRow;
using ::idgate::ledger::v1::SharingTable;
using ::idgate::ledger::v1::SubjectDisclosure;
using ::idgate::ledger::v1::SubjectReport;
using ::idgate::v1::PiiFieldForm;

std::string FormatTime(const Timestamp& time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", ToTime(time),
                          absl::UTCTimeZone());
}

bool Earlier(const Timestamp& a, const Timestamp& b) {
  return std::make_pair(a.seconds(), a.nanos()) <
         std::make_pair(b.seconds(), b.nanos());
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  options.add_whitespace = true;
  std::string json;
  // Serializing a valid message cannot fail; keep the output well-formed.
  if (!google::protobuf::util::MessageToJsonString(message, &json, options)
           .ok()) {
    return "{}\n";
  }
  return json;
}

// One cell of a Markdown table: no pipe or line break may end it early.
std::string MarkdownCell(absl::string_view text) {
  std::string cell = absl::StrReplaceAll(
      text, {{"|", "\\|"}, {"\r\n", " "}, {"\n", " "}, {"\r", " "}});
  return cell.empty() ? "—" : cell;
}

// RFC 4180; every cell quoted.
std::string CsvCell(absl::string_view text) {
  return absl::StrCat("\"", absl::StrReplaceAll(text, {{"\"", "\"\""}}), "\"");
}

std::string Table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows,
                  Format format) {
  std::string out;
  if (format == Format::kCsv) {
    std::vector<std::string> cells;
    for (const std::string& h : header) cells.push_back(CsvCell(h));
    absl::StrAppend(&out, absl::StrJoin(cells, ","), "\r\n");
    for (const auto& row : rows) {
      cells.clear();
      for (const std::string& cell : row) cells.push_back(CsvCell(cell));
      absl::StrAppend(&out, absl::StrJoin(cells, ","), "\r\n");
    }
    return out;
  }
  absl::StrAppend(&out, "| ", absl::StrJoin(header, " | "), " |\n|");
  for (size_t i = 0; i < header.size(); ++i) out += "---|";
  out += "\n";
  for (const auto& row : rows) {
    std::vector<std::string> cells;
    for (const std::string& cell : row) cells.push_back(MarkdownCell(cell));
    absl::StrAppend(&out, "| ", absl::StrJoin(cells, " | "), " |\n");
  }
  return out;
}

std::string FieldsLabel(
    const google::protobuf::RepeatedPtrField<PiiFieldForm>& fields) {
  std::vector<std::string> labels;
  for (const PiiFieldForm& field : fields)
    labels.push_back(FieldFormLabel(field));
  return absl::StrJoin(labels, ", ");
}

// What verify checks beyond the chain, as the scan's visitor: the
// signatures of checkpoints and prune anchors, that the anchor file's record
// is the chain's, and INTENTs and OUTCOMEs without their other half
// (warnings, not failures). Hands every record that passed to `visit`.
class AuditVisitor final : public LedgerVisitor {
 public:
  AuditVisitor(const VerifyOptions& options, const RecordVisitor& visit,
               VerifyReport* report)
      : visit_(visit), report_(report) {
    for (const Ed25519PublicKey& key : options.public_keys) {
      keys_[key.KeyId()] = &key;
    }
  }

  // The key a checkpoint or prune anchor names, or DATA_LOSS; null when no
  // keys were given, and signatures go unchecked.
  absl::StatusOr<const Ed25519PublicKey*> KeyFor(absl::string_view what,
                                                 const std::string& key_id) {
    if (keys_.empty()) return nullptr;
    auto key = keys_.find(key_id);
    if (key == keys_.end()) {
      return absl::DataLossError(
          absl::StrCat(what, " signed by unknown key ", key_id));
    }
    return key->second;
  }

  absl::Status CheckPruneSignature(const LedgerRecord& prune) {
    absl::StatusOr<const Ed25519PublicKey*> key =
        KeyFor("prune anchor", prune.prune().key_id());
    if (!key.ok() || *key == nullptr) return key.status();
    return VerifyPruneSignature(prune, **key);
  }

  // The chain must hold the record of the anchor file, unchanged.
  void ExpectAnchor(const LedgerRecord& anchor) {
    anchor_sequence_ = anchor.sequence();
    anchor_hash_ = anchor.hash();
  }
  bool anchor_found() const { return anchor_found_; }

  absl::Status OnCheckpoint(const LedgerRecord& checkpoint,
                            const RecordPosition& position) override {
    ++report_->checkpoints;
    report_->last_checkpoint_sequence = checkpoint.sequence();
    absl::StatusOr<const Ed25519PublicKey*> key =
        KeyFor("checkpoint", checkpoint.checkpoint().key_id());
    if (!key.ok() || *key == nullptr) return key.status();
    absl::Status signature = VerifyCheckpointSignature(checkpoint, **key);
    if (!signature.ok()) return signature;
    ++report_->signatures_verified;
    return absl::OkStatus();
  }

  absl::Status OnRecord(const LedgerRecord& record,
                        const RecordPosition& position) override {
    switch (record.kind()) {
      case RECORD_KIND_INTENT:
        open_intents_[record.disclosure_id()] =
            OpenIntent{record.sequence(), record.provider(), record.time()};
        break;
      case RECORD_KIND_OUTCOME:
        if (open_intents_.erase(record.disclosure_id()) == 0) {
          outcomes_without_intent_.push_back(absl::StrCat(
              "OUTCOME without a preceding INTENT: sequence ",
              record.sequence(), " disclosure ", record.disclosure_id()));
        }
        break;
      case RECORD_KIND_PRUNE: {
        absl::Status signature = CheckPruneSignature(record);
        if (!signature.ok()) return signature;
        ++report_->prune_records;
        break;
      }
      default:
        break;
    }
    if (record.sequence() == anchor_sequence_) {
      if (record.hash() != anchor_hash_) {
        return absl::DataLossError(
            absl::StrCat("not the record ", kPruneAnchorFileName, " holds"));
      }
      anchor_found_ = true;
    }
    if (visit_) visit_(record);
    return absl::OkStatus();
  }

  // The warnings about records, once the scan is over.
  void AddRecordWarnings() {
    for (const auto& [id, intent] : open_intents_) {
      report_->warnings.push_back(
          absl::StrCat("INTENT without OUTCOME (possibly disclosed): sequence ",
                       intent.sequence, " disclosure ", id, " provider ",
                       intent.provider, " at ", FormatTime(intent.time)));
    }
    for (std::string& warning : outcomes_without_intent_) {
      // Its INTENT may have gone in the segment before the first one kept.
      if (report_->pruned_through_sequence > 0) {
        warning += " (its INTENT may have been pruned)";
      }
      report_->warnings.push_back(std::move(warning));
    }
  }

 private:
  struct OpenIntent {
    uint64_t sequence;
    std::string provider;
    Timestamp time;
  };

  const RecordVisitor& visit_;
  VerifyReport* const report_;
  std::map<std::string, const Ed25519PublicKey*> keys_;
  std::map<std::string, OpenIntent> open_intents_;
  std::vector<std::string> outcomes_without_intent_;
  uint64_t anchor_sequence_ = 0;  // 0: no anchor
  std::string anchor_hash_;
  bool anchor_found_ = false;
};

absl::Status Failed(const VerifyReport& report) {
  return absl::DataLossError(
      absl::StrCat("ledger does not verify: ", report.error));
}

// The segments of a source before `end` (an index): a scan over them stops
// where a missing segment would stop it, having verified what comes first.
class SegmentsBefore final : public SegmentSource {
 public:
  SegmentsBefore(SegmentSource& source, uint64_t end)
      : source_(source), end_(end) {}

  absl::StatusOr<std::vector<std::string>> List() override {
    absl::StatusOr<std::vector<std::string>> names = source_.List();
    if (!names.ok()) return names.status();
    std::vector<std::string> before;
    for (std::string& name : *names) {
      absl::optional<uint64_t> index = ParseSegmentFileName(name);
      if (index.has_value() && *index < end_) before.push_back(std::move(name));
    }
    return before;
  }
  absl::StatusOr<std::string> Read(const std::string& name) override {
    return source_.Read(name);
  }

 private:
  SegmentSource& source_;
  const uint64_t end_;
};

// A missing segment, with the records it took: from the one after the
// verified head to the one before the next segment's first record (as that
// record claims), or from the head on when no later segment can be read.
LedgerDamage MissingRecords(SegmentSource& source, LedgerDamage missing,
                            const ChainHead& head,
                            const std::vector<uint64_t>& indices, bool pruned) {
  const uint64_t gap = *ParseSegmentFileName(missing.segment);
  missing.sequence = head.sequence + 1;
  missing.reason = absl::StrCat("is missing: records from ", head.sequence + 1,
                                " on are gone");
  for (uint64_t index : indices) {
    if (index < gap) continue;
    absl::StatusOr<LedgerRecord> next =
        ReadFirstRecord(source, SegmentFileName(index));
    if (next.ok() && next->sequence() > head.sequence + 1) {
      missing.reason = absl::StrCat("is missing: records ", head.sequence + 1,
                                    " to ", next->sequence() - 1, " are gone");
    }
    break;
  }
  if (!pruned && head.sequence == 0) {
    absl::StrAppend(&missing.reason, ", and no ", kPruneAnchorFileName,
                    " says they were pruned");
  }
  return missing;
}

// The sharing table of one or several verified ledgers: one row per
// (recipient, provider) seen in INTENT records, then the configured
// providers without traffic.
class SharingTableBuilder {
 public:
  // What Verify hands the records of one ledger to; `ledger` names it in
  // the rows ("" when a single ledger is read).
  RecordVisitor Reader(std::string ledger) {
    return [this, ledger = std::move(ledger)](const LedgerRecord& record) {
      if (!any_ || Earlier(record.time(), from_)) from_ = record.time();
      if (!any_ || Earlier(to_, record.time())) to_ = record.time();
      any_ = true;
      if (record.kind() != RECORD_KIND_INTENT) return;
      Row& row = rows_[{record.recipient(), record.provider()}];
      if (row.row.disclosures() == 0) {
        *row.row.mutable_first_time() = record.time();
        *row.row.mutable_last_time() = record.time();
      }
      row.row.set_disclosures(row.row.disclosures() + 1);
      if (Earlier(record.time(), row.row.first_time())) {
        *row.row.mutable_first_time() = record.time();
      }
      if (Earlier(row.row.last_time(), record.time())) {
        *row.row.mutable_last_time() = record.time();
      }
      row.purposes.insert(record.purpose());
      for (const PiiFieldForm& field : record.fields()) {
        row.fields.insert({field.field(), field.form()});
      }
      if (!ledger.empty()) row.ledgers.insert(ledger);
    };
  }

  SharingTable Build(const GatewayConfig& config) {
    SharingTable table;
    if (any_) {
      *table.mutable_ledger_from() = from_;
      *table.mutable_ledger_to() = to_;
    }
    std::map<std::string, const ::idgate::config::v1::Provider*> providers;
    for (const auto& provider : config.providers()) {
      providers[provider.id()] = &provider;
    }
    std::set<std::string> with_traffic;
    for (auto& [key, row] : rows_) {
      const auto& [recipient, provider] = key;
      with_traffic.insert(provider);
      row.row.set_recipient(recipient);
      row.row.set_provider(provider);
      auto configured = providers.find(provider);
      if (configured != providers.end()) {
        row.row.set_configured(true);
        row.row.set_scenario(configured->second->scenario());
        row.row.set_privacy_policy_url(
            configured->second->privacy_policy_url());
      }
      for (const std::string& purpose : row.purposes)
        row.row.add_purposes(purpose);
      for (const auto& [field, form] : row.fields) {
        PiiFieldForm* pair = row.row.add_fields();
        pair->set_field(static_cast<::idgate::v1::PiiField>(field));
        pair->set_form(static_cast<::idgate::v1::PiiForm>(form));
      }
      for (const std::string& ledger : row.ledgers) row.row.add_ledgers(ledger);
      *table.add_rows() = std::move(row.row);
    }
    // Declared but unused: the published list still names them, marked.
    for (const auto& [id, provider] : providers) {
      if (with_traffic.count(id)) continue;
      SharingRow* row = table.add_rows();
      row->set_recipient(provider->recipient());
      row->set_provider(id);
      row->set_scenario(provider->scenario());
      row->set_privacy_policy_url(provider->privacy_policy_url());
      row->set_configured(true);
    }
    std::stable_sort(table.mutable_rows()->begin(), table.mutable_rows()->end(),
                     [](const SharingRow& a, const SharingRow& b) {
                       return std::tie(a.recipient(), a.provider()) <
                              std::tie(b.recipient(), b.provider());
                     });
    return table;
  }

 private:
  struct Row {
    SharingRow row;
    std::set<std::string> purposes;
    std::set<std::pair<int, int>> fields;
    std::set<std::string> ledgers;
  };

  std::map<std::pair<std::string, std::string>, Row> rows_;
  bool any_ = false;
  Timestamp from_;
  Timestamp to_;
};

// The disclosures about one person in one verified ledger, added to
// `subject`; `ledger` names the ledger in them ("" when a single one is
// read).
class SubjectCollector {
 public:
  SubjectCollector(const std::vector<SubjectReference>& refs,
                   std::string ledger, SubjectReport* subject)
      : ledger_(std::move(ledger)), subject_(subject) {
    for (const SubjectReference& ref : refs) {
      versions_by_ref_[ref.ref] = ref.key_version;
    }
  }

  RecordVisitor Reader() {
    return [this](const LedgerRecord& record) { Add(record); };
  }

 private:
  void Add(const LedgerRecord& record) {
    if (record.kind() == RECORD_KIND_INTENT) {
      auto version = versions_by_ref_.find(record.subject_ref());
      // Both the ref and its key version must match: a ref under one key
      // says nothing about another.
      if (version == versions_by_ref_.end() ||
          version->second != record.subject_key_version()) {
        return;
      }
      index_by_disclosure_[record.disclosure_id()] =
          subject_->disclosures_size();
      SubjectDisclosure* disclosure = subject_->add_disclosures();
      *disclosure->mutable_time() = record.time();
      disclosure->set_disclosure_id(record.disclosure_id());
      disclosure->set_recipient(record.recipient());
      disclosure->set_provider(record.provider());
      disclosure->set_purpose(record.purpose());
      *disclosure->mutable_fields() = record.fields();
      disclosure->set_caller(record.caller());
      disclosure->set_subject_key_version(record.subject_key_version());
      disclosure->set_ledger(ledger_);
    } else if (record.kind() == RECORD_KIND_OUTCOME) {
      // Matched by disclosure id to this subject's INTENTs in this ledger.
      auto it = index_by_disclosure_.find(record.disclosure_id());
      if (it == index_by_disclosure_.end()) return;
      *subject_->mutable_disclosures(it->second)->mutable_outcome() =
          record.outcome();
    }
  }

  const std::string ledger_;
  SubjectReport* const subject_;
  std::map<std::string, uint32_t> versions_by_ref_;
  std::map<std::string, int> index_by_disclosure_;
};

// Every ledger of a multi-ledger audit must be there once: no ledger at
// all, or one named twice (its records counted twice), is a usage error.
absl::Status CheckLedgerNames(const std::vector<LedgerSource>& ledgers) {
  if (ledgers.empty()) return absl::InvalidArgumentError("no ledger given");
  std::set<std::string> seen;
  for (const LedgerSource& ledger : ledgers) {
    const std::string& key =
        ledger.canonical_path.empty() ? ledger.name : ledger.canonical_path;
    if (!seen.insert(key).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("ledger ", ledger.name, " given twice"));
    }
  }
  return absl::OkStatus();
}

// Verifies each ledger on its own with `reader(i)` seeing ledger i's
// records; fails (DATA_LOSS) naming every ledger that could not be opened
// or does not verify.
absl::Status VerifyEach(std::vector<LedgerSource>& ledgers,
                        const std::function<RecordVisitor(size_t)>& reader) {
  absl::Status names = CheckLedgerNames(ledgers);
  if (!names.ok()) return names;
  std::vector<std::string> failures;
  for (size_t i = 0; i < ledgers.size(); ++i) {
    if (ledgers[i].source == nullptr) {
      failures.push_back(absl::StrCat(
          ledgers[i].name, ": cannot be read: ", ledgers[i].open_error));
      continue;
    }
    VerifyReport report =
        Verify(*ledgers[i].source, VerifyOptions(), reader(i));
    if (!report.ok) {
      failures.push_back(
          absl::StrCat(ledgers[i].name, ": does not verify: ", report.error));
    }
  }
  if (failures.empty()) return absl::OkStatus();
  return absl::DataLossError(
      absl::StrCat(failures.size(), " of ", ledgers.size(),
                   " ledgers failed: ", absl::StrJoin(failures, "; ")));
}

}  // namespace

VerifyReport Verify(SegmentSource& source, const VerifyOptions& options,
                    const RecordVisitor& visit) {
  VerifyReport report;
  report.head_hash = std::string(kGenesisHash);
  AuditVisitor visitor(options, visit, &report);
  // A pruned ledger verifies from its anchor.
  absl::StatusOr<absl::optional<LedgerRecord>> anchor = ReadPruneAnchor(source);
  if (!anchor.ok()) {
    report.error = std::string(anchor.status().message());
    return report;
  }
  ScanStart start;
  if (anchor->has_value()) {
    const LedgerRecord& record = **anchor;
    absl::Status signature = visitor.CheckPruneSignature(record);
    if (!signature.ok()) {
      report.error =
          absl::StrCat(kPruneAnchorFileName, ": ", signature.message());
      return report;
    }
    start = ScanStartAfter(record);
    report.pruned_through_sequence = record.prune().last_sequence();
    report.pruned_through_hash = record.prune().last_hash();
    report.pruned_before = ToTime(record.prune().before());
    visitor.ExpectAnchor(record);
  }

  absl::StatusOr<std::vector<uint64_t>> listed = ListSegments(source);
  if (!listed.ok()) {
    report.error = std::string(listed.status().message());
    return report;
  }
  std::vector<uint64_t> indices;
  uint64_t left_before_anchor = 0;
  for (uint64_t index : *listed) {
    if (index < start.segment) {
      ++left_before_anchor;
    } else {
      indices.push_back(index);
    }
  }
  // Everything before a missing segment is verified first, so that the gap
  // is named with the records it took, and earlier damage comes first.
  const absl::optional<LedgerDamage> missing =
      FindMissingSegment(indices, start.segment);
  SegmentsBefore before_gap(
      source, missing.has_value() ? *ParseSegmentFileName(missing->segment)
                                  : std::numeric_limits<uint64_t>::max());
  absl::StatusOr<ScanResult> scan = ScanLedger(before_gap, start, visitor);
  if (!scan.ok()) {
    report.error = std::string(scan.status().message());
    return report;
  }
  if (missing.has_value() && !scan->damage.has_value() &&
      !scan->torn_tail.has_value()) {
    scan->damage = MissingRecords(source, *missing, scan->head, indices,
                                  anchor->has_value());
  }
  if (scan->segments == 0 && !scan->damage.has_value()) {
    report.error = "no ledger segment files (ledger-NNNNNN.log)";
    return report;
  }
  if (scan->damage.has_value()) {
    report.error = scan->damage->ToString();
  } else if (scan->torn_tail.has_value()) {
    // Recovery cuts a torn tail; for the audit it is damage like any other.
    LedgerDamage torn = *scan->torn_tail;
    torn.reason = absl::StrCat("torn record: ", torn.reason);
    report.error = torn.ToString();
  } else if (anchor->has_value() && !visitor.anchor_found()) {
    report.error = absl::StrCat(kPruneAnchorFileName, ": its record ",
                                (*anchor)->sequence(), " is not in the chain");
  }
  report.records = scan->records;
  report.head_sequence = scan->head.sequence;
  report.head_hash = scan->head.hash;
  if (report.error.empty() && !options.public_keys.empty() &&
      report.records > 0 && report.checkpoints == 0) {
    report.error =
        "no checkpoint although a public key was given: the chain is not "
        "authenticated and could have been rewritten whole";
  }
  report.ok = report.error.empty();

  visitor.AddRecordWarnings();
  if (left_before_anchor > 0) {
    report.warnings.push_back(absl::StrCat(
        left_before_anchor, " segment file(s) before ",
        SegmentFileName(start.segment),
        ", where the prune anchor starts the chain, are left from an "
        "interrupted prune: not verified; the gateway removes them when it "
        "starts"));
  }
  if (report.ok && report.checkpoints > 0 && options.public_keys.empty()) {
    report.warnings.push_back(
        "checkpoint signatures not checked (no --public-key): a chain "
        "rewritten with recomputed hashes and checkpoints would pass");
  }
  if (report.ok && anchor->has_value() && options.public_keys.empty()) {
    report.warnings.push_back(
        "prune anchor signature not checked (no --public-key): records "
        "removed behind a forged anchor would pass");
  }
  if (report.ok && report.checkpoints == 0 && report.records > 0) {
    report.warnings.push_back(
        "no checkpoint: the records are protected by the hash chain only");
  } else if (report.ok &&
             report.last_checkpoint_sequence < report.head_sequence) {
    report.warnings.push_back(absl::StrCat(
        "records ", report.last_checkpoint_sequence + 1, "..",
        report.head_sequence,
        " follow the last checkpoint and are not covered by a signature"));
  }
  return report;
}

std::string VerifySummary(const VerifyReport& report) {
  if (!report.ok) return absl::StrCat("FAIL: ", report.error);
  std::string summary =
      absl::StrCat("OK: ", report.records, " records, ", report.checkpoints,
                   " checkpoints (", report.signatures_verified,
                   " signatures verified), head ", report.head_sequence, " ",
                   report.head_hash);
  if (report.pruned_through_sequence > 0) {
    absl::StrAppend(&summary, "; verified from anchor ",
                    report.pruned_through_sequence, " ",
                    report.pruned_through_hash, ", records before ",
                    absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", report.pruned_before,
                                     absl::UTCTimeZone()),
                    " pruned");
  }
  return summary;
}

absl::Status WriteJsonLines(SegmentSource& source, std::string* out) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  absl::Status print_error;
  VerifyReport report =
      Verify(source, VerifyOptions(), [&](const LedgerRecord& record) {
        std::string json;
        auto status =
            google::protobuf::util::MessageToJsonString(record, &json, options);
        if (!status.ok() && print_error.ok()) {
          print_error = absl::InternalError(status.ToString());
        }
        absl::StrAppend(out, json, "\n");
      });
  if (!report.ok) return Failed(report);
  return print_error;
}

absl::StatusOr<Format> ParseFormat(absl::string_view name) {
  if (name == "markdown" || name == "md") return Format::kMarkdown;
  if (name == "csv") return Format::kCsv;
  if (name == "json") return Format::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown format \"", name, "\" (markdown, csv or json)"));
}

absl::StatusOr<GatewayConfig> ParseGatewayConfig(absl::string_view json) {
  return ParseConfigJson(std::string(json));
}

absl::StatusOr<SharingTable> BuildSharingTable(SegmentSource& source,
                                               const GatewayConfig& config) {
  SharingTableBuilder builder;
  VerifyReport report = Verify(source, VerifyOptions(), builder.Reader(""));
  if (!report.ok) return Failed(report);
  return builder.Build(config);
}

std::string RenderSharingTable(const SharingTable& table, Format format) {
  if (format == Format::kJson) return ToJson(table);
  // Read from several ledgers: each row says which.
  const bool several_ledgers = table.ledgers_size() > 0;
  std::vector<std::vector<std::string>> rows;
  for (const SharingRow& row : table.rows()) {
    std::string disclosures = absl::StrCat(row.disclosures());
    if (row.disclosures() == 0) disclosures = "0 (no traffic)";
    std::string provider = row.provider();
    if (!row.configured()) provider += " (not in config)";
    const bool traffic = row.disclosures() > 0;
    rows.push_back(
        {row.recipient(), provider, row.scenario(),
         absl::StrJoin(row.purposes(), ", "), FieldsLabel(row.fields()),
         disclosures, traffic ? FormatTime(row.first_time()) : "",
         traffic ? FormatTime(row.last_time()) : "", row.privacy_policy_url()});
    if (several_ledgers)
      rows.back().push_back(absl::StrJoin(row.ledgers(), ", "));
  }
  std::string out;
  if (format == Format::kMarkdown && several_ledgers) {
    absl::StrAppend(&out, "Ledgers: ", absl::StrJoin(table.ledgers(), ", "),
                    ".\n");
  }
  if (format == Format::kMarkdown && table.has_ledger_from()) {
    absl::StrAppend(&out, "Ledger records from ",
                    FormatTime(table.ledger_from()), " to ",
                    FormatTime(table.ledger_to()), ".\n\n");
  }
  std::vector<std::string> header = {"Recipient",
                                     "Provider",
                                     "Scenario",
                                     "Purposes",
                                     "Personal information (form)",
                                     "Disclosures",
                                     "First (UTC)",
                                     "Last (UTC)",
                                     "Privacy policy"};
  if (several_ledgers) header.push_back("Ledgers");
  absl::StrAppend(&out, Table(header, rows, format));
  return out;
}

absl::StatusOr<SubjectReport> BuildSubjectReport(
    SegmentSource& source, const std::vector<SubjectReference>& refs) {
  SubjectReport subject;
  SubjectCollector collector(refs, "", &subject);
  VerifyReport report = Verify(source, VerifyOptions(), collector.Reader());
  if (!report.ok) return Failed(report);
  return subject;
}

std::string RenderSubjectReport(const SubjectReport& report,
                                absl::string_view masked_id, Format format) {
  if (format == Format::kJson) return ToJson(report);
  // Read from several ledgers: each row says which.
  const bool several_ledgers = std::any_of(
      report.disclosures().begin(), report.disclosures().end(),
      [](const SubjectDisclosure& d) { return !d.ledger().empty(); });
  std::vector<std::vector<std::string>> rows;
  for (const SubjectDisclosure& d : report.disclosures()) {
    std::string outcome = "no outcome recorded (possibly disclosed)";
    if (d.has_outcome()) {
      const auto& o = d.outcome();
      if (!o.error_code().empty()) {
        outcome = absl::StrCat("error ", o.error_code(),
                               o.sent() ? " (sent)" : " (not sent)");
      } else {
        const std::string verdict = ::idgate::v1::Verdict_Name(o.verdict());
        outcome = absl::AsciiStrToLower(absl::StripPrefix(verdict, "VERDICT_"));
      }
      if (o.billed()) outcome += ", billed";
    }
    rows.push_back({FormatTime(d.time()), d.recipient(), d.provider(),
                    FieldsLabel(d.fields()), d.purpose(), d.caller(), outcome,
                    d.disclosure_id()});
    if (several_ledgers) rows.back().push_back(d.ledger());
  }
  std::string out;
  if (format == Format::kMarkdown) {
    absl::StrAppend(&out, "Disclosures of personal information for ID number ",
                    masked_id, ": ", report.disclosures_size(), "\n\n");
  }
  std::vector<std::string> header = {
      "Time (UTC)", "Recipient", "Provider", "Personal information (form)",
      "Purpose",    "Caller",    "Outcome",  "Disclosure id"};
  if (several_ledgers) header.push_back("Ledger");
  absl::StrAppend(&out, Table(header, rows, format));
  return out;
}

// --- Several ledgers ---

std::vector<LedgerSource> OpenLedgers(const std::vector<std::string>& dirs) {
  std::vector<LedgerSource> ledgers;
  for (const std::string& dir : dirs) {
    LedgerSource ledger;
    ledger.name = dir;
    if (char* path = ::realpath(dir.c_str(), nullptr); path != nullptr) {
      ledger.canonical_path = path;
      std::free(path);
    }
    absl::StatusOr<std::unique_ptr<SegmentSource>> source =
        DirectorySource(dir);
    if (source.ok()) {
      ledger.source = *std::move(source);
    } else {
      ledger.open_error = std::string(source.status().message());
    }
    ledgers.push_back(std::move(ledger));
  }
  return ledgers;
}

MultiVerifyReport Verify(std::vector<LedgerSource>& ledgers,
                         const VerifyOptions& options) {
  MultiVerifyReport report;
  absl::Status names = CheckLedgerNames(ledgers);
  if (!names.ok()) {
    report.error = std::string(names.message());
    return report;
  }
  report.ok = true;
  for (LedgerSource& ledger : ledgers) {
    LedgerVerification verification{ledger.name, VerifyReport()};
    if (ledger.source == nullptr) {
      verification.report.error =
          absl::StrCat("cannot be read: ", ledger.open_error);
    } else {
      verification.report = Verify(*ledger.source, options);
    }
    report.ok = report.ok && verification.report.ok;
    report.ledgers.push_back(std::move(verification));
  }
  return report;
}

std::string VerifySummary(const MultiVerifyReport& report) {
  if (!report.error.empty()) return absl::StrCat("FAIL: ", report.error);
  std::string out;
  std::vector<std::string> failed;
  for (const LedgerVerification& ledger : report.ledgers) {
    absl::StrAppend(&out, ledger.ledger, ": ", VerifySummary(ledger.report),
                    "\n");
    if (!ledger.report.ok) failed.push_back(ledger.ledger);
  }
  if (failed.empty()) {
    absl::StrAppend(&out, "OK: ", report.ledgers.size(), " ledgers verified");
  } else {
    absl::StrAppend(&out, "FAIL: ", failed.size(), " of ",
                    report.ledgers.size(),
                    " ledgers do not verify: ", absl::StrJoin(failed, ", "));
  }
  return out;
}

absl::Status WriteJsonLines(std::vector<LedgerSource>& ledgers,
                            std::string* out) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  absl::Status print_error;
  absl::Status verified = VerifyEach(ledgers, [&](size_t i) -> RecordVisitor {
    return [&, name = ledgers[i].name](const LedgerRecord& record) {
      ::idgate::ledger::v1::LedgerEntry entry;
      entry.set_ledger(name);
      *entry.mutable_record() = record;
      std::string json;
      auto status =
          google::protobuf::util::MessageToJsonString(entry, &json, options);
      if (!status.ok() && print_error.ok()) {
        print_error = absl::InternalError(status.ToString());
      }
      absl::StrAppend(out, json, "\n");
    };
  });
  if (!verified.ok()) return verified;
  return print_error;
}

absl::StatusOr<SharingTable> BuildSharingTable(
    std::vector<LedgerSource>& ledgers, const GatewayConfig& config) {
  SharingTableBuilder builder;
  absl::Status verified = VerifyEach(
      ledgers, [&](size_t i) { return builder.Reader(ledgers[i].name); });
  if (!verified.ok()) return verified;
  SharingTable table = builder.Build(config);
  for (const LedgerSource& ledger : ledgers) table.add_ledgers(ledger.name);
  return table;
}

absl::StatusOr<SubjectReport> BuildSubjectReport(
    std::vector<LedgerSource>& ledgers,
    const std::vector<SubjectReference>& refs) {
  SubjectReport subject;
  std::vector<SubjectCollector> collectors;
  collectors.reserve(ledgers.size());
  for (const LedgerSource& ledger : ledgers) {
    collectors.emplace_back(refs, ledger.name, &subject);
  }
  absl::Status verified =
      VerifyEach(ledgers, [&](size_t i) { return collectors[i].Reader(); });
  if (!verified.ok()) return verified;
  // One history across the replicas; ties keep the ledgers' order.
  std::stable_sort(subject.mutable_disclosures()->begin(),
                   subject.mutable_disclosures()->end(),
                   [](const SubjectDisclosure& a, const SubjectDisclosure& b) {
                     return Earlier(a.time(), b.time());
                   });
  return subject;
}

std::string FieldFormLabel(const PiiFieldForm& field) {
  std::string name;
  switch (field.field()) {
    case ::idgate::v1::PII_FIELD_NAME:
      name = "name";
      break;
    case ::idgate::v1::PII_FIELD_ID_NUMBER:
      name = "ID number";
      break;
    case ::idgate::v1::PII_FIELD_MOBILE:
      name = "mobile number";
      break;
    case ::idgate::v1::PII_FIELD_BANK_CARD_NUMBER:
      name = "bank card number";
      break;
    case ::idgate::v1::PII_FIELD_FACE_IMAGE:
      name = "face image";
      break;
    case ::idgate::v1::PII_FIELD_LIVENESS_VIDEO:
      name = "liveness video";
      break;
    default:
      name = absl::StrCat("field ", field.field());
      break;
  }
  switch (field.form()) {
    case ::idgate::v1::PII_FORM_PLAIN:
      return absl::StrCat(name, " (plain)");
    case ::idgate::v1::PII_FORM_SHA256:
      return absl::StrCat(name, " (SHA-256)");
    case ::idgate::v1::PII_FORM_SM3:
      return absl::StrCat(name, " (SM3)");
    default:
      return absl::StrCat(name, " (form ", field.form(), ")");
  }
}

}  // namespace idgate::audit
