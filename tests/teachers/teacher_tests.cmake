# Teacher CLI and oracle tests (Python: numpy; torchaudio / scikit-learn for the oracles).
add_test(NAME teacher_label_cli COMMAND ${ORACLE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/teachers/test_label_cli.py)
set_tests_properties(teacher_label_cli PROPERTIES LABELS unit ENVIRONMENT "${TEST_ENV}" TIMEOUT 600)
foreach(t spectral_oracle kmeans_oracle)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/teachers/test_${t}.py)
    add_test(NAME teacher_${t} COMMAND ${ORACLE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/teachers/test_${t}.py)
    set_tests_properties(teacher_${t} PROPERTIES LABELS golden ENVIRONMENT "${TEST_ENV}" TIMEOUT 600)
  endif()
endforeach()
# EnCodec codes vs an independent PyTorch EnCodec (tests/oracle/encodec_oracle.py).
add_test(NAME teacher_encodec_oracle COMMAND ${ORACLE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/teachers/test_encodec_oracle.py)
set_tests_properties(teacher_encodec_oracle PROPERTIES LABELS unit ENVIRONMENT "${TEST_ENV}" TIMEOUT 600)
