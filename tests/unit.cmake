# Each block registers a test only once its source exists, so modules can land one by one.
foreach(t test_rng test_job test_lanczos test_sharpness test_gd test_objectives test_runner)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${t}.c)
    lz_unit_test(${t} lrzoo_core)
  endif()
endforeach()
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_config.c)
  lz_unit_test(test_config lrzoo_config lrzoo_core)
endif()
# Analytics run whole jobs parsed from YAML strings.
lz_unit_test(test_analysis lrzoo_config lrzoo_core)
lz_unit_test(test_measure lrzoo_config lrzoo_core)
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_io.c)
  lz_mpi_test(test_io 1 lrzoo_io lrzoo_config lrzoo_core)
  add_test(NAME test_io_np2 COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} 2
           ${MPIEXEC_PREFLAGS} $<TARGET_FILE:test_io> ${MPIEXEC_POSTFLAGS})
  set_tests_properties(test_io_np2 PROPERTIES
    ENVIRONMENT "${LZ_TEST_ENV};CMOCKA_TEST_ABORT=1" TIMEOUT 600 PROCESSORS 2 LABELS cmocka)
endif()
