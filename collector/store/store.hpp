#pragma once
// Durable storage of probe keys and signed measurements (collector/store: this interface and its engines).
// Engines: SQLite, the default (open_sqlite_store), and PostgreSQL, which several collector processes may
// share (open_postgres_store; docs/deployment.md). open_store picks by the --db value. All methods are
// thread-safe.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tlog/merkle.hpp"

namespace kuzet::collector {

struct ProbeKey {
  std::string key_id;      // core::key_id(public key)
  std::string public_key;  // base64, as registered
  int64_t first_seen_ms = 0;
};

// The measurements' sources (the `source` column and the API's `source=`).
inline constexpr const char* kSourceKuzet = "kuzet";  // a signed envelope from a Kuzet probe
inline constexpr const char* kSourceOoni = "ooni";    // imported from OONI's data (docs/ooni.md)

// One verified measurement ready to be written. The envelope is the exact bytes the probe uploaded.
struct NewMeasurement {
  std::string uid;
  // Where it came from: "kuzet" (a signed envelope from a Kuzet probe) or "ooni" (imported from OONI's
  // data, not signed by a Kuzet key; docs/ooni.md).
  std::string source = kSourceKuzet;
  std::string envelope;
  std::string content_hash;  // SHA-256 hex of `envelope`
  std::string key_id;
  int64_t started_at_ms = 0;
  int64_t received_at_ms = 0;
  std::string cc;
  uint32_t asn = 0;
  std::string target;
  std::string category;
  std::string verdict;
  std::string method;
  // Independence (collector/vantage): the pseudonymous tag of the upload's source ("" = none known, e.g. an
  // import), how the claimed network compared with the source's (vantage::network_check; "" = not checked),
  // and whether the measurement carries decisive local evidence.
  std::string vantage;
  std::string network_check;
  bool decisive = false;
};

// What insert_batch did with one row. When the uid already existed nothing was written, and the stored
// hash and envelope are returned so the caller can tell a duplicate from a conflict.
struct InsertResult {
  bool inserted = false;
  std::string existing_hash;
  std::string existing_envelope;
  std::optional<uint64_t> log_index;  // the row's entry in the transparency log (new or existing)
};

// The committed transparency log: its size and tree hash (docs/transparency-log.md).
struct LogHead {
  uint64_t size = 0;
  tlog::Hash root = tlog::empty_tree_hash();
};

// Read interface for timelines and analysis. Every filter is optional ("" / nullopt = any).
// Time bounds are on started_at, in ms since the epoch: from_ms inclusive, until_ms exclusive.
struct SummaryQuery {
  std::string source;  // "kuzet", "ooni"; "" = every source
  std::string cc;
  std::optional<uint32_t> asn;
  std::string target;
  std::string category;
  std::string verdict;
  std::optional<std::string> method;  // "" is a method too (ok, offline, inconclusive)
  std::optional<int64_t> from_ms;
  std::optional<int64_t> until_ms;
  // Decisive local evidence (NewMeasurement::decisive, the API's `confirmed`): only with, or only without.
  std::optional<bool> confirmed;
  size_t limit = 0;  // 0 = no limit
};

// A measurement without its envelope: what a timeline needs, cheap to read in bulk.
struct MeasurementSummary {
  std::string uid;
  std::string source;
  std::string key_id;
  int64_t started_at_ms = 0;
  int64_t received_at_ms = 0;
  std::string cc;
  uint32_t asn = 0;
  std::string target;
  std::string category;
  std::string verdict;
  std::string method;
};

// Listing for GET /api/v1/measurements: ordered by (started_at, uid); `after` is the position of the last
// row of the previous page (the cursor).
struct ListPosition {
  int64_t started_at_ms = 0;
  std::string uid;
};
struct ListQuery {
  SummaryQuery filter;  // filter.limit is the page size
  std::optional<ListPosition> after;
};
struct ListedMeasurement {
  ListPosition position;
  std::string envelope;
  MeasurementSummary summary;  // the stored columns, for CSV
  bool confirmed = false;      // the row's `decisive`: confirmed by decisive local evidence
};

class Store {
 public:
  virtual ~Store() = default;

  // Adds the key if unknown. Returns true when it was new, false when it was already registered.
  virtual bool register_key(const ProbeKey& key) = 0;
  virtual std::optional<ProbeKey> find_key(const std::string& key_id) = 0;
  // Every registered key, by key_id (a store's copy, `migrate`).
  virtual std::vector<ProbeKey> probe_keys() = 0;

  // Writes the rows in ONE transaction and returns only after COMMIT is durable; results in input order.
  // A uid seen earlier in the same batch counts as existing. SQLite may share that transaction with batches
  // other threads passed meanwhile (group commit): a uid stored by one written before it then counts as
  // existing too, as it would have one transaction later. Throws std::runtime_error on storage failure
  // (then nothing of the batch was written).
  virtual std::vector<InsertResult> insert_batch(const std::vector<NewMeasurement>& rows) = 0;

  virtual std::optional<std::string> envelope(const std::string& uid) = 0;
  virtual std::vector<ListedMeasurement> list(const ListQuery& query) = 0;

  // For the timeline: summaries matching the query, ordered by (started_at, uid).
  virtual std::vector<MeasurementSummary> summaries(const SummaryQuery& query) = 0;

  // The transparency log. insert_batch appends one entry (tlog::LogEntry) per inserted row in the same
  // transaction, with the subtree hashes it completes; nothing ever rewrites or removes them.
  virtual LogHead log_head() = 0;
  virtual std::optional<uint64_t> log_index(const std::string& uid) = 0;
  // Entries [begin, end), all within the committed log. Throws std::out_of_range otherwise.
  virtual std::vector<std::string> log_entries(uint64_t begin, uint64_t end) = 0;
  // Stored subtree hashes (tlog::Frontier::append), in the order asked. Throws when one is missing.
  virtual std::vector<tlog::Hash> log_hashes(const std::vector<tlog::Subtree>& subtrees) = 0;
  // Signed checkpoints (signed-note text), kept forever; latest_checkpoint is the last one added.
  virtual void add_checkpoint(uint64_t size, const std::string& note, int64_t signed_at_ms) = 0;
  virtual std::optional<std::string> latest_checkpoint() = 0;

  // The measurements whose log entries are [begin, begin + limit), in log order, with every stored column
  // (envelopes only when asked; content_hash always): what `migrate` copies and an index or exporter
  // follows (the log order is the order rows were committed, on every engine). Fewer at the log's end.
  virtual std::vector<NewMeasurement> in_log_order(uint64_t begin, size_t limit, bool with_envelopes) = 0;

  virtual uint64_t measurement_count() = 0;
  virtual int schema_version() = 0;
};

// Opens (creating if needed) an SQLite database in WAL mode with synchronous=FULL and applies pending
// schema migrations. Throws std::runtime_error when the file cannot be opened or migrated.
std::unique_ptr<Store> open_sqlite_store(const std::string& path);
// Same, migrating only up to target_version (tests of migrations).
std::unique_ptr<Store> open_sqlite_store(const std::string& path, int target_version);

// Connects to a PostgreSQL database (a postgresql:// URL, libpq's form) and applies pending migrations, the
// same versions as SQLite's. Several processes may open one database at once. Throws std::runtime_error.
std::unique_ptr<Store> open_postgres_store(const std::string& url);
std::unique_ptr<Store> open_postgres_store(const std::string& url, int target_version);

// A postgresql:// or postgres:// URL opens PostgreSQL, anything else is an SQLite file's path.
std::unique_ptr<Store> open_store(const std::string& db);
std::unique_ptr<Store> open_store(const std::string& db, int target_version);

// The schema version this build migrates to.
int latest_schema_version();

}  // namespace kuzet::collector
