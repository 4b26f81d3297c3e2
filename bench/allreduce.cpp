// charnn_bench_allreduce: what a step over several processes adds to one process's step, per
// lesson model: the sum of its gradients over the ranks (one all-reduce of all of them, and one
// of the loss in double), and the agreement on stopping at each batch boundary. Run one process
// per rank (bench/parallel.sh starts two on this machine); rank 0 prints one JSON line per model.
//   RANK=0 WORLD_SIZE=2 MASTER_PORT=29530 charnn_bench_allreduce [REPS]
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>

#include "models/registry.h"
#include "train/parallel/process_group.h"

namespace {

using Clock = std::chrono::steady_clock;

double median_ms(std::vector<double> t) {
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 50;
  try {
    const auto shard = charnn::join_process_group(charnn::parallel_options_from_environment());
    for (const auto& spec : charnn::model_registry()) {
      charnn::ModelConfig config;
      config.model = std::string(spec.name);
      config.vocab_size = spec.is_stateful() ? 56 : 85;  // the lesson's vocabularies
      config.n_hidden = spec.lesson_n_hidden;
      auto model = charnn::make_model(config);
      int64_t parameters = 0;
      std::vector<torch::Tensor> grads;
      for (const auto& p : model.module->parameters()) {
        parameters += p.numel();
        grads.push_back(torch::randn_like(p));
      }
      std::vector<double> sum, stop;
      for (int i = -5; i < reps; ++i) {
        auto tensors = grads;
        tensors.push_back(torch::tensor(1.0, torch::kFloat64));
        const auto t0 = Clock::now();
        shard->sum(tensors);
        const auto t1 = Clock::now();
        (void)shard->any(false);
        const auto t2 = Clock::now();
        if (i < 0) continue;
        sum.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        stop.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
      }
      if (shard->rank() != 0) continue;
      std::cout << nlohmann::json{{"model", spec.name},          {"ranks", shard->world()},
                                  {"parameters", parameters},    {"gradient_bytes", parameters * 4},
                                  {"sum_ms", median_ms(sum)},   {"stop_check_ms", median_ms(stop)}}
                       .dump()
                << std::endl;
    }
  } catch (const std::exception& e) {
    std::cerr << "charnn_bench_allreduce: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
