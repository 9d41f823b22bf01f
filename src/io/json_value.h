#pragma once
// Typed reads of JSON values from files a user or a download supplied (config.json, training
// configs, checkpoint and codebook metadata). nlohmann's get<T>() converts any number to any
// arithmetic type with a plain cast: 1e300 read into an int or a float is undefined behaviour
// (found by fuzz_config), 2^40 into an int wraps and 64.7 silently becomes 64. json_to refuses
// those instead.
#include <nlohmann/json.hpp>

#include <cmath>
#include <string>
#include <limits>
#include <type_traits>
#include <vector>

#include "mert/error.h"

namespace mert::io {

// Stores `j` converted to T in `out` and returns true, or returns false (leaving `out` as it
// was) when `j` has another type or a value T cannot hold exactly (integers), or at all (floats).
template <typename T>
bool json_to(const nlohmann::json& j, T& out);

namespace detail {

template <typename T>
struct is_vector : std::false_type {};
template <typename U>
struct is_vector<std::vector<U>> : std::true_type {};

template <typename T>
bool json_to_number(const nlohmann::json& j, T& out) {
  if constexpr (std::is_integral_v<T>) {
    if (j.is_number_unsigned()) {
      const auto v = j.get<std::uint64_t>();
      if (v > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return false;
      out = static_cast<T>(v);
      return true;
    }
    if (j.is_number_integer()) {
      const auto v = j.get<std::int64_t>();
      if constexpr (std::is_unsigned_v<T>) {
        if (v < 0 || static_cast<std::uint64_t>(v) > std::numeric_limits<T>::max()) return false;
      } else {
        if (v < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
            v > static_cast<std::int64_t>(std::numeric_limits<T>::max()))
          return false;
      }
      out = static_cast<T>(v);
      return true;
    }
    if (j.is_number_float()) {  // 64.0 is 64; 64.5 and 1e300 are not integers of T
      const double v = j.get<double>();
      // The bounds are powers of two, exact as doubles; `v < hi` keeps the cast defined.
      const double lo = static_cast<double>(std::numeric_limits<T>::min());
      const double hi = 2.0 * static_cast<double>(std::numeric_limits<T>::max() / 2 + 1);
      if (!(v >= lo && v < hi) || std::floor(v) != v) return false;
      out = static_cast<T>(v);
      return true;
    }
    return false;
  } else {
    if (!j.is_number()) return false;
    const double v = j.get<double>();
    if (!std::isfinite(v) || std::fabs(v) > static_cast<double>(std::numeric_limits<T>::max())) return false;
    out = static_cast<T>(v);
    return true;
  }
}

}  // namespace detail

template <typename T>
bool json_to(const nlohmann::json& j, T& out) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!j.is_boolean()) return false;
    out = j.get<bool>();
    return true;
  } else if constexpr (std::is_arithmetic_v<T>) {
    return detail::json_to_number(j, out);
  } else if constexpr (detail::is_vector<T>::value) {
    if (!j.is_array()) return false;
    T v;
    v.reserve(j.size());
    for (const auto& e : j) {
      typename T::value_type x{};
      if (!json_to(e, x)) return false;
      v.push_back(std::move(x));
    }
    out = std::move(v);
    return true;
  } else {
    try {
      out = j.get<T>();
      return true;
    } catch (const nlohmann::json::exception&) {
      return false;
    }
  }
}

// Reads `key` of object `j` into `out`, keeping `out` when the key is absent or null (as Hugging
// Face writes unset options). A value of another type or out of range is a mert::Error naming
// the key and `origin` (the file, usually).
template <typename T>
void read_key(const nlohmann::json& j, const char* key, T& out, const std::string& origin) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  if (!json_to(*it, out))
    throw Error(origin + ": key '" + key + "' has the wrong type or is out of range (" + it->type_name() + " " +
                it->dump().substr(0, 40) + ")");
}

}  // namespace mert::io
