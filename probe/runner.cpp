#include "probe/runner.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "core/crypto/crypto.hpp"
#include "core/time.hpp"
#include "probe/capture/evidence.hpp"
#include "probe/capture/locate.hpp"
#include "probe/pipeline/control_batches.hpp"
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

  // Streamed per target, no barrier between phases: a target goes on to TCP/TLS/HTTP as soon as its own DNS
  // answered (Hold-On listens on meanwhile), and its control is asked for with whichever targets resolved at
  // about the same time, while the probe measures. DNS runs ahead of the connections, bounded so that the
  // Hold-On sockets of targets waiting for a worker stay few.
  std::optional<pipeline::ControlBatches> control;
  if (options.collector) control.emplace(*options.collector, n, options.control_deadline_ms);
  const size_t workers = std::max<size_t>(1, std::min(n, options.concurrency));
  const size_t lookahead = workers + 32;
  std::vector<core::Stopwatch> clocks(n);
  std::vector<std::unique_ptr<measure::dns::DnsHoldOn>> holds(n);
  std::mutex stage_mutex;
  std::condition_variable stage_changed;
  std::deque<size_t> resolved;  // DNS answered, waiting for a connection worker
  size_t resolving_done = 0, connected = 0;

  if (options.capture) options.capture->begin();
  report("dns", nullptr);
  std::thread dns_stage([&] {
    parallel_for(n, workers, [&](size_t i) {
      {
        std::unique_lock<std::mutex> lock(stage_mutex);
        stage_changed.wait(lock, [&] { return i < connected + lookahead; });
      }
      auto& rec = result.records[i];
      clocks[i] = core::Stopwatch();
      rec.started_at = core::now_rfc3339();
      rec.measurement_uid = new_measurement_uid();
      rec.run_id = result.run_id;
      rec.input = options.targets[i].target.url;
      rec.category = options.targets[i].target.category;
      rec.spec = options.targets[i].spec_source;
      rec.observations = measure::begin_target(rec.input, options.measure, &holds[i]);
      rec.target = rec.observations.host;
      // The filter must hold the target's addresses before its first SYN leaves.
      if (options.capture)
        options.capture->watch(rec.observations.dns.addresses, {rec.observations.port, 80, 443});
      if (control) control->add(i, ControlTarget{rec.input, rec.observations.dns.addresses});
      {
        std::lock_guard<std::mutex> lock(stage_mutex);
        resolved.push_back(i);
        ++resolving_done;
      }
      stage_changed.notify_all();
    });
  });
  parallel_for(workers, workers, [&](size_t) {
    while (true) {
      size_t i = 0;
      {
        std::unique_lock<std::mutex> lock(stage_mutex);
        stage_changed.wait(lock, [&] { return !resolved.empty() || resolving_done == n; });
        if (resolved.empty()) return;
        i = resolved.front();
        resolved.pop_front();
      }
      auto& rec = result.records[i];
      measure::finish_target(rec.observations, options.measure);
      // Late DNS replies (an injector's, or the real one after it) join the observation before any judging;
      // a shorter wait for them once the first replies led to the site itself.
      if (holds[i]) holds[i]->finish(rec.observations.dns, measure::first_replies_proven(rec.observations));
      holds[i].reset();
      rec.runtime_ms = clocks[i].elapsed_ms();
      report("connect", &rec);
      {
        std::lock_guard<std::mutex> lock(stage_mutex);
        ++connected;
      }
      stage_changed.notify_all();
    }
  });
  dns_stage.join();

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

  if (control) {
    report("control", nullptr);
    auto answers = control->results();
    size_t obtained = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!answers[i]) continue;
      result.records[i].control = std::move(*answers[i]);
      ++obtained;
    }
    if (obtained > 0) result.collector_reachable = true;
    result.control_obtained = n > 0 && obtained == n;
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
  if (options.capture) {
    // The capture covers every connection of the run, the throttling confirmations included.
    std::vector<std::string> own = options.local_addresses;
    own.push_back(options.capture->local_address());
    capture::attach_evidence(result.records, options.capture->end(), options.capture->limits(), own);
    if (options.locate) {
      report("locate", nullptr);
      capture::locate_injectors(result.records, options.measure);
    }
    for (size_t i = 0; i < n; ++i) {
      inputs[i].observations.captured = true;
      inputs[i].observations.packet_evidence = result.records[i].observations.packet_evidence;
    }
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
