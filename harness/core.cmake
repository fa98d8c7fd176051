# core.cmake — ipcf_harness_core: the harness parts that need no supervisor:
# the ledger, the oracle, the names audit + sweeper + System V keys, reports and
# reproducer files. Included by harness/CMakeLists.txt.
add_library(ipcf_harness_core STATIC
  ${CMAKE_CURRENT_LIST_DIR}/ledger.c
  ${CMAKE_CURRENT_LIST_DIR}/oracle.c
  ${CMAKE_CURRENT_LIST_DIR}/audit.c
  ${CMAKE_CURRENT_LIST_DIR}/sysvkey.c
  ${CMAKE_CURRENT_LIST_DIR}/report.c
  ${CMAKE_CURRENT_LIST_DIR}/repro.c)
target_include_directories(ipcf_harness_core PUBLIC
  $<BUILD_INTERFACE:${CMAKE_CURRENT_LIST_DIR}>
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(ipcf_harness_core PUBLIC ipcf_common)
target_link_libraries(ipcf_test_deps INTERFACE ipcf_harness_core)
