# `mert metrics` against scikit-learn and mir_eval (Python oracle; numpy, sklearn, scipy, mir_eval).
add_test(NAME metrics_oracle COMMAND ${ORACLE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/metrics/test_metrics_oracle.py)
set_tests_properties(metrics_oracle PROPERTIES LABELS golden ENVIRONMENT "${TEST_ENV}" TIMEOUT 300)
# `mert metrics beat|chord|sdr` against mir_eval and numpy.
add_test(NAME metrics_frame_oracle COMMAND ${ORACLE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/metrics/test_frame_metrics_oracle.py)
set_tests_properties(metrics_frame_oracle PROPERTIES LABELS golden ENVIRONMENT "${TEST_ENV}" TIMEOUT 300)
# `mert metrics dbn` against an independent Python/numpy model of madmom's DBN beat tracker.
add_test(NAME metrics_dbn_oracle COMMAND ${ORACLE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/metrics/test_dbn_oracle.py)
set_tests_properties(metrics_dbn_oracle PROPERTIES LABELS golden ENVIRONMENT "${TEST_ENV}" TIMEOUT 300)
