#pragma once
// Little-endian loads from unaligned byte buffers (all the formats here are little-endian;
// memcpy keeps it free of alignment and strict-aliasing problems).
#include <cstdint>
#include <cstring>

namespace mert::io {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "weight I/O assumes a little-endian host (as the file formats are)");

inline std::uint16_t load_u16(const std::uint8_t* p) { std::uint16_t v; std::memcpy(&v, p, 2); return v; }
inline std::uint32_t load_u32(const std::uint8_t* p) { std::uint32_t v; std::memcpy(&v, p, 4); return v; }
inline std::uint64_t load_u64(const std::uint8_t* p) { std::uint64_t v; std::memcpy(&v, p, 8); return v; }

}  // namespace mert::io
