#include "probe/runner.hpp"

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "core/crypto.hpp"
#include "core/time.hpp"
#include "probe/privacy/redact.hpp"

namespace kuzet::probe {

void parallel_for(size_t n, size_t concurrency, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  const size_t workers = std::max<size_t>(1, std::min(n, concurrency));
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) fn(i);
  };
  std::vector<std::thread> threads;
  threads.reserve(workers - 1);
  for (size_t w = 1; w < workers; ++w) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
}

RunResult run_probe(const RunOptions& options) {
  core::Stopwatch run_clock;
  RunResult result;
  result.run_id = core::random_hex(8);
  result.started_at = core::now_rfc3339();
  const size_t n = options.targets.size();
  result.records.resize(n);

  std::mutex progress_mutex;
  size_t done = 0;
  auto report = [&](const std::string& phase, const MeasurementRecord* record) {
    if (!options.on_progress) return;
    std::lock_guard<std::mutex> lock(progress_mutex);
    if (record) ++done;
    options.on_progress(Progress{done, n, record, phase});
  };

  // Who are we? Asked while DNS runs; a manual override from the config wins.
  std::future<std::optional<NetworkIdentity>> whoami;
  if (options.collector) whoami = std::async(std::launch::async, [&] { return options.collector->whoami(); });

  // Phase 1: DNS for every target, so one batched control request can carry the probe's answers.
  report("dns", nullptr);
  std::vector<core::Stopwatch> clocks(n);
  parallel_for(n, options.concurrency, [&](size_t i) {
    auto& rec = result.records[i];
    clocks[i] = core::Stopwatch();
    rec.started_at = core::now_rfc3339();
    rec.measurement_uid = new_measurement_uid();
    rec.run_id = result.run_id;
    rec.input = options.targets[i].target.url;
    rec.category = options.targets[i].target.category;
    rec.spec = options.targets[i].spec_source;
    rec.observations = measure::begin_target(rec.input, options.measure);
    rec.target = rec.observations.host;
  });

  // Phase 2: the control request (collector) in parallel with TCP/TLS/HTTP here.
  std::future<std::optional<std::vector<measure::ControlObservations>>> control;
  if (options.collector) {
    std::vector<ControlTarget> request;
    for (const auto& rec : result.records) request.push_back({rec.input, rec.observations.dns.addresses});
    control = std::async(std::launch::async, [&options, request = std::move(request)] {
      return options.collector->control(request, options.control_deadline_ms);
    });
  }
  report("connect", nullptr);
  parallel_for(n, options.concurrency, [&](size_t i) {
    auto& rec = result.records[i];
    measure::finish_target(rec.observations, options.measure);
    rec.runtime_ms = clocks[i].elapsed_ms();
    report("connect", &rec);
  });

  bool network_answered = false;
  if (whoami.valid()) {
    auto who = whoami.get();
    if (who) {
      result.collector_reachable = true;
      result.network = *who;
      network_answered = true;
    }
  }
  if (!network_answered && options.last_known_network) {
    result.network = *options.last_known_network;
    result.network.source = "last_known";
  }
  if (options.network_override) result.network = *options.network_override;

  if (control.valid()) {
    report("control", nullptr);
    auto answers = control.get();
    if (answers && answers->size() == n) {
      result.collector_reachable = true;
      result.control_obtained = true;
      for (size_t i = 0; i < n; ++i) result.records[i].control = (*answers)[i];
    }
  }

  // Judgement is pure: build the inputs, find throttling suspects, confirm them with a neutral SNI.
  std::vector<analysis::TargetInput> inputs(n);
  for (size_t i = 0; i < n; ++i) {
    inputs[i].category = result.records[i].category;
    inputs[i].observations = result.records[i].observations;
    inputs[i].control = result.records[i].control;
  }
  auto suspects = analysis::throttling_suspects(inputs);
  if (!suspects.empty()) {
    report("throttling", nullptr);
    parallel_for(suspects.size(), options.concurrency, [&](size_t k) {
      const size_t i = suspects[k];
      // Neutral SNI first, then the site's SNI again: the slowdown must follow the name in both directions.
      auto neutral = measure::measure_neutral_sni(result.records[i].observations, options.measure);
      auto repeat = measure::measure_repeat_sni(result.records[i].observations, options.measure);
      result.records[i].observations.neutral_sni_http = neutral;
      result.records[i].observations.repeat_sni_http = repeat;
      inputs[i].observations.neutral_sni_http = std::move(neutral);
      inputs[i].observations.repeat_sni_http = std::move(repeat);
    });
  }
  analysis::RunFacts facts;
  facts.collector_reachable = result.collector_reachable;
  auto verdicts = analysis::analyze_run(inputs, facts, options.knowledge);
  // Judged on what was seen; published without the volunteer's addresses.
  std::vector<std::string> own_addresses = options.local_addresses;
  if (options.collector) own_addresses.push_back(options.collector->own_address());
  const privacy::AddressRedactor redactor(own_addresses);
  for (size_t i = 0; i < n; ++i) {
    result.records[i].verdict = verdicts.at(i);
    result.records[i].network = result.network;
    privacy::redact_record(result.records[i], redactor);
  }
  result.duration_ms = run_clock.elapsed_ms();
  report("done", nullptr);
  return result;
}

}  // namespace kuzet::probe
