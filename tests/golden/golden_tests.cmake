# Golden parity tests: the C++ tool against the torchaudio-based oracle (tests/oracle/make_model.py).
# Included from tests/CMakeLists.txt, which defines ORACLE_PYTHON, MERT_BIN and TEST_ENV.
# One ctest per scenario of tests/golden/test_parity.py (`test_parity.py --list`).
# A missing torchaudio makes these tests FAIL (never skip): scripts/install-deps.sh installs it.

if(NOT ORACLE_PYTHON)
  # Register the tests anyway so the missing interpreter shows up as a failure, not silence.
  set(ORACLE_PYTHON /usr/bin/python3)
endif()

set(GOLDEN_SCENARIOS
  postln-tiny
  postln-tiny-nonorm
  postln-tiny-deepnorm
  preln-tiny
  tiny-layer-nonstd
  tiny-f16
  tiny-bf16
  tiny-pool-layers
  tiny-bin-shared-storage
  shipped-default)
set(SLOW_GOLDEN_SCENARIOS v1-95m v1-330m)

foreach(scenario IN LISTS GOLDEN_SCENARIOS SLOW_GOLDEN_SCENARIOS)
  add_test(NAME golden_${scenario}
           COMMAND ${ORACLE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/golden/test_parity.py --scenario ${scenario})
  if(scenario IN_LIST SLOW_GOLDEN_SCENARIOS)
    # full-size random models: float64 oracle generation (~40 s / ~2-3 min) plus the C++ runs
    set(_labels slow)
    set(_timeout 3600)
  else()
    set(_labels golden)
    set(_timeout 600)
  endif()
  set_tests_properties(golden_${scenario} PROPERTIES
    LABELS "${_labels}"
    ENVIRONMENT "${TEST_ENV}"
    TIMEOUT ${_timeout})
endforeach()

# The oracle and the comparator themselves (no C++ tool): fake outputs must pass, injected errors fail.
add_test(NAME golden_oracle_self_check
         COMMAND ${ORACLE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/golden/test_parity.py --self-check
                 --scenario postln-tiny --scenario preln-tiny)
set_tests_properties(golden_oracle_self_check PROPERTIES LABELS golden ENVIRONMENT "${TEST_ENV}" TIMEOUT 600)
