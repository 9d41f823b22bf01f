# `mert metrics` against scikit-learn and mir_eval (Python oracle; numpy, sklearn, scipy, mir_eval).
add_test(NAME metrics_oracle COMMAND ${ORACLE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/metrics/test_metrics_oracle.py)
set_tests_properties(metrics_oracle PROPERTIES LABELS golden ENVIRONMENT "${TEST_ENV}" TIMEOUT 300)
