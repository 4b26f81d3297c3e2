#pragma once
// The zip format's CRC-32 (IEEE 802.3): what checks a torch.save archive's records, and the
// digest that ties train_state.pt to its model.pt.
#include <cstddef>
#include <cstdint>

namespace charnn {

uint32_t crc32(const unsigned char* p, size_t n);

}  // namespace charnn
