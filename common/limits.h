#pragma once
// Bounds on the counts a user controls, taken from what this machine has, so that a typo in a
// flag ends in one error line naming the flag instead of thousands of threads or an exhausted
// memory.
#include <cstdint>

namespace charnn {

// Threads a batch may be cut across: four per core, and never more than 256.
int64_t max_shards();
// Throws InputError naming --shards when it is above max_shards() (0 means one per core).
void check_shards(int64_t shards);

// Bytes of physical memory: what a model's estimated size is held against (models/model_size.h).
double physical_bytes();

}  // namespace charnn
