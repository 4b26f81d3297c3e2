#include "train/io/train_state.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <string>

#include "common/crc32.h"
#include "common/error.h"
#include "common/file.h"
#include "common/test_hold.h"
#include "train/io/atomic_file.h"
#include "train/io/checkpoint.h"
#include "train/io/torch_save.h"
#include "train/io/zip_check.h"

namespace charnn {
namespace {

namespace fs = std::filesystem;
using Dict = c10::impl::GenericDict;

Dict new_dict() { return Dict(c10::StringType::get(), c10::AnyType::get()); }

constexpr int64_t kFormatVersion = 2;

int64_t g_saves = 0;  // this process's checkpoints, for CHARNN_TEST_HOLD=save:N

struct ModelDigest {
  int64_t bytes;
  int64_t crc32;
  bool operator==(const ModelDigest& o) const { return bytes == o.bytes && crc32 == o.crc32; }
};

ModelDigest model_digest_of(const std::string& bytes) {
  return {static_cast<int64_t>(bytes.size()),
          crc32(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size())};
}

// A dict as it was loaded (its entries typed as the file has them), with string keys.
Dict generic(const Dict& dict) {
  auto out = new_dict();
  for (const auto& entry : dict) {
    if (entry.key().isString()) out.insert(entry.key(), entry.value());
  }
  return out;
}

Dict optimizer_dict(const torch::nn::Module& model, const std::string& name, Optimizer& opt) {
  auto state = new_dict();
  c10::List<std::string> names;
  for (const auto& item : model.named_parameters()) {
    names.push_back(item.key());
    const auto s = opt.parameter_state(item.value());
    if (s.size() == 0) continue;  // no step taken yet, as in Python
    state.insert(item.key(), generic(s));
  }
  auto group = generic(opt.group_options());
  group.insert("params", names);
  auto out = new_dict();
  out.insert("name", name);
  out.insert("state", state);
  c10::impl::GenericList groups(c10::AnyType::get());
  groups.push_back(group);
  out.insert("param_groups", groups);
  return out;
}

Dict position_dict(const TrainPosition& pos) {
  std::vector<double> rows;
  for (const auto& r : pos.fit.rows) rows.insert(rows.end(), {static_cast<double>(r.epoch), r.trn_loss, r.val_loss});
  auto d = new_dict();
  d.insert("fit_index", pos.fit_index);
  d.insert("steps_before", pos.steps_before);
  d.insert("epoch", pos.fit.epoch);
  d.insert("batch", pos.fit.batch);
  d.insert("batches_seen", pos.fit.batches_seen);
  d.insert("avg_loss", pos.fit.avg_loss);
  d.insert("lrs", pos.lrs);
  d.insert("rows", torch::tensor(rows, torch::kFloat64).view({-1, 3}));
  return d;
}

// Fields of a loaded dict, each error naming the file and the key's path ('position.epoch').
class Fields {
 public:
  Fields(fs::path file, c10::IValue value, std::string where = "")
      : file_(std::move(file)), where_(std::move(where)) {
    if (!value.isGenericDict()) fail(where_.empty() ? "the file" : where_, "a dict", value);
    dict_ = value.toGenericDict();
  }
  bool has(const std::string& key) const { return dict_.find(key) != dict_.end(); }
  c10::IValue get(const std::string& key) const {
    const auto it = dict_.find(key);
    if (it == dict_.end()) throw InputError(fmt::format("{}: '{}' is missing", file_.string(), path(key)));
    return it->value();
  }
  Fields dict(const std::string& key) const { return Fields(file_, get(key), path(key)); }
  int64_t integer(const std::string& key) const {
    const auto v = get(key);
    if (!v.isInt()) fail(path(key), "an integer", v);
    return v.toInt();
  }
  double number(const std::string& key) const {
    const auto v = get(key);
    if (!v.isDouble() && !v.isInt()) fail(path(key), "a number", v);
    return v.isDouble() ? v.toDouble() : static_cast<double>(v.toInt());
  }
  bool boolean(const std::string& key) const {
    const auto v = get(key);
    if (!v.isBool()) fail(path(key), "a bool", v);
    return v.toBool();
  }
  std::vector<torch::Tensor> tensors(const std::string& key) const {
    const auto v = get(key);
    if (!v.isList()) fail(path(key), "a list of tensors", v);
    std::vector<torch::Tensor> out;
    for (const auto& item : v.toListRef()) {
      if (!item.isTensor()) fail(path(key), "a list of tensors", item);
      out.push_back(item.toTensor());
    }
    return out;
  }
  torch::Tensor tensor(const std::string& key) const {
    const auto v = get(key);
    if (!v.isTensor()) fail(path(key), "a tensor", v);
    return v.toTensor();
  }
  const Dict& entries() const { return dict_; }
  [[noreturn]] void problem(const std::string& what) const {
    throw InputError(fmt::format("{}: {}", file_.string(), what));
  }

 private:
  std::string path(const std::string& key) const { return where_.empty() ? key : where_ + "." + key; }
  [[noreturn]] void fail(const std::string& what, const char* expected, const c10::IValue& found) const {
    throw InputError(fmt::format("{}: '{}' must be {}, found {}", file_.string(), what, expected, found.tagKind()));
  }
  fs::path file_;
  std::string where_;
  Dict dict_ = new_dict();
};

TrainPosition read_position(const Fields& state) {
  const auto p = state.dict("position");
  TrainPosition pos;
  pos.fit_index = p.integer("fit_index");
  pos.steps_before = p.integer("steps_before");
  pos.fit.epoch = p.integer("epoch");
  pos.fit.batch = p.integer("batch");
  pos.fit.batches_seen = p.integer("batches_seen");
  pos.fit.avg_loss = p.number("avg_loss");
  pos.lrs = p.number("lrs");
  auto rows = p.tensor("rows");
  if (rows.dim() != 2 || rows.size(1) != 3) p.problem(fmt::format("'position.rows' has shape {}, expected [n, 3]", shape_string(rows)));
  rows = rows.to(torch::kFloat64).contiguous();
  const auto* r = rows.data_ptr<double>();
  for (int64_t i = 0; i < rows.size(0); ++i, r += 3) pos.fit.rows.push_back({static_cast<int64_t>(r[0]), r[1], r[2]});
  return pos;
}

// The state is matched to parameters by name; the optimizer checks each entry fits its
// parameter, or the first step would fail inside LibTorch.
void read_optimizer(const Fields& state, const torch::nn::Module& model, const std::string& name, Optimizer& opt) {
  const auto saved = state.dict("optimizer");
  // Version 1 names none: it was always Adam.
  const auto saved_name = saved.has("name") ? saved.get("name") : c10::IValue(std::string("adam"));
  if (!saved_name.isString() || saved_name.toStringRef() != name) {
    saved.problem(fmt::format("holds the state of optimizer '{}', the run's is '{}'",
                              saved_name.isString() ? saved_name.toStringRef() : std::string("?"), name));
  }
  const auto moments = saved.dict("state");
  const auto params = model.named_parameters();
  for (const auto& entry : moments.entries()) {
    const auto key = entry.key().isString() ? entry.key().toStringRef() : std::string("?");
    if (!params.contains(key)) moments.problem(fmt::format("optimizer state for '{}', which the model does not have", key));
    try {
      opt.set_parameter_state(params[key], generic(moments.dict(key).entries()));
    } catch (const InputError& e) {
      moments.problem(fmt::format("the optimizer state of '{}': {}", key, e.what()));
    }
  }
}

// Language-model epochs end when the rows run out, so a position is checked against bounds:
// no epoch holds more than len(trn_dl) batches.
void check_varying_position(const TrainPosition& pos, const RunShape& run, int64_t epochs, const Fields& state) {
  const auto fits = static_cast<int64_t>(run.epochs_per_fit.size());
  const int64_t nb = run.batches_per_epoch;
  const auto& f = pos.fit;
  int64_t most_before = 0;
  for (int64_t i = 0; i < std::min(pos.fit_index, fits); ++i) most_before += run.epochs_per_fit[i] * nb;
  std::string problem;
  if (pos.fit_index < 0 || pos.fit_index > fits) {
    problem = fmt::format("fit call {} of a {}-call schedule", pos.fit_index + 1, fits);
  } else if (f.epoch < 0 || f.epoch > epochs || f.batch < 0 || f.batch > nb) {
    problem = fmt::format("position epoch {}, batch {} outside {} epoch(s) of at most {} batches", f.epoch, f.batch,
                          epochs, nb);
  } else if (f.batches_seen < f.batch || f.batches_seen > f.epoch * nb + f.batch ||
             static_cast<int64_t>(f.rows.size()) != f.epoch || pos.steps_before < 0 || pos.steps_before > most_before) {
    problem = fmt::format("inconsistent position (epoch {}, batch {}, {} batches seen, {} epoch rows, {} steps "
                          "before this fit call where the run has at most {})",
                          f.epoch, f.batch, f.batches_seen, f.rows.size(), pos.steps_before, most_before);
  } else if (!std::isfinite(f.avg_loss) || !std::isfinite(pos.lrs)) {
    problem = fmt::format("smoothed loss state {}, rate {}", f.avg_loss, pos.lrs);
  }
  if (!problem.empty()) state.problem(problem + "; not a checkpoint of this run");
}

// Version 1 kept the data's state at the top level and its row in the position: the same values
// under the names the families read ("order", "generator", "row", "numpy", "hidden").
DataState data_of_version_1(const Fields& state) {
  auto data = data_state();
  data.insert("order", state.get("order"));
  data.insert("generator", state.get("generator"));
  const auto position = state.dict("position");
  data.insert("row", position.has("row") ? position.get("row") : c10::IValue(int64_t{0}));
  if (state.has("stateful")) {
    const auto stateful = state.dict("stateful");
    data.insert("numpy", stateful.get("numpy"));
    data.insert("hidden", stateful.get("hidden"));
  }
  return data;
}

// A train_state.pt that parses but does not fit this run (edited, or copied from another run)
// would fail deep inside training or silently train on the wrong rows.
void check_position(const TrainPosition& pos, const RunShape& run, const Fields& state) {
  const auto fits = static_cast<int64_t>(run.epochs_per_fit.size());
  const int64_t nb = run.batches_per_epoch;
  const int64_t epochs = pos.fit_index >= 0 && pos.fit_index < fits ? run.epochs_per_fit[pos.fit_index] : 0;
  const auto& f = pos.fit;
  int64_t steps_before = 0;  // every earlier fit call ran all its epochs of nb batches
  for (int64_t i = 0; i < std::min(pos.fit_index, fits); ++i) steps_before += run.epochs_per_fit[i] * nb;
  std::string problem;
  if (run.epochs_end_early) {
    check_varying_position(pos, run, epochs, state);
    return;
  }
  if (pos.fit_index < 0 || pos.fit_index > fits) {
    problem = fmt::format("fit call {} of a {}-call schedule", pos.fit_index + 1, fits);
  } else if (f.epoch < 0 || f.epoch > epochs || f.batch < 0 || f.batch > nb || pos.steps_before < 0) {
    problem = fmt::format("position epoch {}, batch {} outside {} epoch(s) of {} batches", f.epoch, f.batch, epochs, nb);
  } else if (f.batches_seen != f.epoch * nb + f.batch || static_cast<int64_t>(f.rows.size()) != f.epoch ||
             pos.steps_before != steps_before) {
    problem = fmt::format("inconsistent position (epoch {}, batch {}, {} batches seen, {} epoch rows, {} steps "
                          "before this fit call where the run has {})",
                          f.epoch, f.batch, f.batches_seen, f.rows.size(), pos.steps_before, steps_before);
  } else if (!std::isfinite(f.avg_loss) || !std::isfinite(pos.lrs)) {
    problem = fmt::format("smoothed loss state {}, rate {}", f.avg_loss, pos.lrs);
  }
  if (!problem.empty()) state.problem(problem + "; not a checkpoint of this run");
}

// Finishes (or drops) a commit that a kill interrupted, so that model.pt is the file
// train_state.pt names. See the header for the order of the writes.
void settle_model_file(const fs::path& dir, const Fields& state) {
  const auto ref = state.dict("model");
  const ModelDigest want{ref.integer("bytes"), ref.integer("crc32")};
  const auto model = dir / kModelFile, pending = dir / kPendingModelFile;
  std::error_code ec;
  if (fs::is_regular_file(model, ec) && model_digest_of(read_whole_file(model, "a checkpoint")) == want) {
    fs::remove(pending, ec);
    return;
  }
  if (fs::is_regular_file(pending, ec) && model_digest_of(read_whole_file(pending, "a checkpoint")) == want) {
    rename_atomically(pending, model);
    return;
  }
  throw InputError(fmt::format("{}: does not hold the weights {} names ({} bytes, CRC-32 {:08x}); the two files "
                               "are from different runs or checkpoints",
                               model.string(), (dir / kTrainStateFile).string(), want.bytes, want.crc32));
}

}  // namespace

void save_checkpoint(const fs::path& dir, const torch::nn::Module& model, const std::string& optimizer, Optimizer& opt,
                     const TrainPosition& position, const DataState& data) {
  c10::Dict<std::string, at::Tensor> weights;
  for (const auto& item : model.named_parameters()) weights.insert(item.key(), item.value());
  for (const auto& item : model.named_buffers()) weights.insert(item.key(), item.value());
  const auto model_bytes = torch_save(c10::IValue(weights), TorchSaveOptions{true});
  const auto digest = model_digest_of(model_bytes);
  write_file_atomically(dir / kPendingModelFile, model_bytes);
  test_hold("save", ++g_saves);

  auto model_ref = new_dict();
  model_ref.insert("file", std::string(kModelFile));
  model_ref.insert("bytes", digest.bytes);
  model_ref.insert("crc32", digest.crc32);
  auto state = new_dict();
  state.insert("format", std::string("charnn train_state"));
  state.insert("version", kFormatVersion);
  state.insert("model", model_ref);
  state.insert("optimizer", optimizer_dict(model, optimizer, opt));
  state.insert("position", position_dict(position));
  state.insert("data", generic(data));
  try {
    torch_save(c10::IValue(state), dir / kTrainStateFile);
  } catch (...) {
    // train_state.pt still names the old model.pt (a full disk, say): the new weights are litter.
    std::error_code ec;
    fs::remove(dir / kPendingModelFile, ec);
    throw;
  }
  rename_atomically(dir / kPendingModelFile, dir / kModelFile);
}

LoadedCheckpoint load_checkpoint(const fs::path& dir, torch::nn::Module& model, const std::string& optimizer,
                                 Optimizer& opt, const RunShape& shape) {
  const auto path = dir / kTrainStateFile;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw InputError(fmt::format("{}: missing; nothing to resume", path.string()));
  const Fields state(path, read_torch_file(path));
  if (const auto format = state.get("format"); !format.isString() || format.toStringRef() != "charnn train_state") {
    state.problem("not a charnn train_state file");
  }
  const auto version = state.integer("version");
  if (version != kFormatVersion && version != 1) {
    state.problem(fmt::format("train_state version {}, this charnn reads versions 1 and {}", version, kFormatVersion));
  }
  settle_model_file(dir, state);
  load_state_dict(model, dir / kModelFile);
  LoadedCheckpoint out{read_position(state), version == 1 ? data_of_version_1(state) : generic(state.dict("data").entries())};
  check_position(out.position, shape, state);
  read_optimizer(state, model, optimizer, opt);
  return out;
}

}  // namespace charnn
