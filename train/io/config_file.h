#pragma once
// config.json: what a run directory says about itself (train/run_config.h), enough to rebuild
// the model and its vocabulary without the corpus, and to resume or repeat the run.
#include <filesystem>
#include <string>

#include "train/run_config.h"

namespace charnn {

constexpr const char* kConfigFile = "config.json";

std::string to_json(const RunConfig& config);
// Throws InputError naming the file and the field on anything missing or malformed.
RunConfig read_run_config(const std::filesystem::path& dir);
void write_run_config(const std::filesystem::path& dir, const RunConfig& config);

}  // namespace charnn
