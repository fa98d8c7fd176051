# IpcfInstall.cmake — installation and the exported CMake / pkg-config packages.
# Included once, at the END of the top-level CMakeLists.txt (every target exists).
#
# `cmake --install <build> --prefix P` puts in place:
#   P/include/ipcfuzz/*.h              public headers (+ the generated faults_wrap.h)
#   P/lib/libipcf_*.a                  static libraries
#   P/lib/libipcf_interpose.a          the libc overrides, for pkg-config users
#                                      (link it whole: see ipcfuzz-interpose.pc)
#   P/lib/libipcfuzz_preload.so        the LD_PRELOAD injector
#   P/bin/ipcfuzz                      the command (installed by harness/CMakeLists.txt)
#   P/lib/cmake/ipcfuzz/               find_package(ipcfuzz CONFIG): imported targets
#                                      ipcfuzz::harness, ::faults, ::common, ... and
#                                      ipcfuzz_add_fuzzer() (IpcfuzzFuzz.cmake + driver)
#   P/lib/pkgconfig/ipcfuzz.pc, ipcfuzz-interpose.pc
#
# Which libraries are exported is decided here, not by each part: a library is
# exported when it exists, when everything it links is exported too (or is a
# system library / imported target), and when its usage requirements name no
# path inside the source or build tree outside $<BUILD_INTERFACE:...>. A library
# failing a rule is left out with a warning that says why, so a part that grows a
# dependency can never break `cmake --install` for the rest.
include_guard(GLOBAL)
include(CMakePackageConfigHelpers)

# Candidates in dependency order (a library after everything it links), with
# the name users see after `ipcfuzz::`.
set(IPCF_EXPORT_CANDIDATES
    ipcf_common:common
    ipcf_faults:faults
    ipcf_interpose:interpose
    ipcf_fuzz:fuzz
    ipcf_target_frame:frame
    ipcf_target_pipe:pipe
    ipcf_target_fifo:fifo
    ipcf_target_unix_stream:unix_stream
    ipcf_shm_common:shm_common
    ipcf_target_shm_ring:shm_ring
    ipcf_target_shm_mutex:shm_mutex
    ipcf_target_mmap_log:mmap_log
    ipcf_harness_core:harness_core
    ipcf_harness:harness)

# Remove every $<BUILD_INTERFACE:...> (possibly nested one level) from text.
function(_ipcf_strip_build_interface text out)
  set(s "${text}")
  while(s MATCHES "\\$<BUILD_INTERFACE:")
    string(FIND "${s}" "$<BUILD_INTERFACE:" start)
    string(LENGTH "${s}" len)
    math(EXPR i "${start} + 18")
    set(depth 1)
    while(depth GREATER 0 AND i LESS len)
      string(SUBSTRING "${s}" ${i} 2 two)
      string(SUBSTRING "${s}" ${i} 1 one)
      if(two STREQUAL "$<")
        math(EXPR depth "${depth} + 1")
        math(EXPR i "${i} + 2")
      else()
        if(one STREQUAL ">")
          math(EXPR depth "${depth} - 1")
        endif()
        math(EXPR i "${i} + 1")
      endif()
    endwhile()
    string(SUBSTRING "${s}" 0 ${start} head)
    string(SUBSTRING "${s}" ${i} -1 tail)
    set(s "${head}${tail}")
  endwhile()
  set(${out} "${s}" PARENT_SCOPE)
endfunction()

# Why target t cannot be exported given the already accepted set (empty = it can).
function(_ipcf_export_problem t accepted out)
  set(problem "")
  get_target_property(kind ${t} TYPE)
  if(NOT kind MATCHES "^(STATIC_LIBRARY|OBJECT_LIBRARY|SHARED_LIBRARY|INTERFACE_LIBRARY)$")
    set(problem "is a ${kind}")
  endif()
  # Usage requirements must not name the source or build tree when installed.
  foreach(prop INTERFACE_INCLUDE_DIRECTORIES INTERFACE_SYSTEM_INCLUDE_DIRECTORIES
               INTERFACE_SOURCES INTERFACE_LINK_DIRECTORIES)
    get_target_property(v ${t} ${prop})
    if(v)
      _ipcf_strip_build_interface("${v}" rest)
      foreach(root "${PROJECT_SOURCE_DIR}" "${PROJECT_BINARY_DIR}")
        string(FIND "${rest}" "${root}" at)
        if(at GREATER -1)
          set(problem "${problem} ${prop} names ${root} outside $<BUILD_INTERFACE:...>")
        endif()
      endforeach()
    endif()
  endforeach()
  # Every target it links publicly must be exported or imported.
  get_target_property(deps ${t} INTERFACE_LINK_LIBRARIES)
  if(deps)
    foreach(d IN LISTS deps)
      _ipcf_strip_build_interface("${d}" d)
      string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" d "${d}")
      if(d STREQUAL "" OR d MATCHES "^\\$<" OR d MATCHES "^-" OR d MATCHES "/")
        continue()
      endif()
      if(TARGET ${d})
        get_target_property(imported ${d} IMPORTED)
        if(NOT imported AND NOT d IN_LIST accepted)
          set(problem "${problem} links ${d}, which is not exported")
        endif()
      endif()
    endforeach()
  endif()
  set(${out} "${problem}" PARENT_SCOPE)
endfunction()

set(IPCF_EXPORTED_LIBS "")
foreach(entry IN LISTS IPCF_EXPORT_CANDIDATES)
  string(REPLACE ":" ";" pair "${entry}")
  list(GET pair 0 t)
  list(GET pair 1 export_name)
  if(NOT TARGET ${t})
    continue()
  endif()
  _ipcf_export_problem(${t} "${IPCF_EXPORTED_LIBS}" problem)
  if(problem)
    message(WARNING "ipcfuzz install: ${t} is not exported:${problem}")
    continue()
  endif()
  set_target_properties(${t} PROPERTIES EXPORT_NAME ${export_name})
  list(APPEND IPCF_EXPORTED_LIBS ${t})
endforeach()

# ---- headers ---------------------------------------------------------------
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ipcfuzz
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
if(TARGET ipcf_faults)
  # faults_wrap.h (ipcf_wrap_<call>()) is generated from faults/calls.spec.
  get_target_property(faults_bin ipcf_faults BINARY_DIR)
  install(FILES ${faults_bin}/gen/ipcfuzz/faults_wrap.h
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ipcfuzz OPTIONAL)
endif()

# ---- libraries + exported CMake targets --------------------------------------
install(TARGETS ${IPCF_EXPORTED_LIBS} EXPORT ipcfuzzTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        OBJECTS DESTINATION ${CMAKE_INSTALL_LIBDIR}/ipcfuzz/objects
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET ipcfuzz_preload)
  install(TARGETS ipcfuzz_preload LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()
# (The `ipcfuzz` command is installed by harness/CMakeLists.txt.)

# The overrides as an archive for builds without CMake: an archive member is
# only pulled when something references it, so pkg-config users link it with
# --whole-archive (ipcfuzz-interpose.pc). CMake users get the objects directly.
set(IPCF_HAVE_INTERPOSE_ARCHIVE OFF)
if(ipcf_interpose IN_LIST IPCF_EXPORTED_LIBS)
  add_library(ipcf_interpose_archive STATIC $<TARGET_OBJECTS:ipcf_interpose>)
  set_target_properties(ipcf_interpose_archive PROPERTIES OUTPUT_NAME ipcf_interpose
                        LINKER_LANGUAGE C)
  install(TARGETS ipcf_interpose_archive ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  set(IPCF_HAVE_INTERPOSE_ARCHIVE ON)
endif()

set(IPCF_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/ipcfuzz)
install(EXPORT ipcfuzzTargets NAMESPACE ipcfuzz:: DESTINATION ${IPCF_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/ipcfuzzConfig.cmake.in
  ${PROJECT_BINARY_DIR}/ipcfuzzConfig.cmake INSTALL_DESTINATION ${IPCF_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ipcfuzzConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/ipcfuzzConfig.cmake
              ${PROJECT_BINARY_DIR}/ipcfuzzConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/IpcfuzzFuzz.cmake
        DESTINATION ${IPCF_CMAKE_DIR})
# IpcfuzzFuzz.cmake looks for its standalone replay driver next to itself.
if(EXISTS ${PROJECT_SOURCE_DIR}/fuzz/driver.c)
  install(FILES ${PROJECT_SOURCE_DIR}/fuzz/driver.c DESTINATION ${IPCF_CMAKE_DIR}
          RENAME ipcfuzz_driver.c)
endif()

# ---- pkg-config ---------------------------------------------------------------
# Relocatable: prefix is found from the .pc file's own location, so the file is
# right whatever `--prefix` the install is given.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(IPCF_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH rel /ipcf/${CMAKE_INSTALL_LIBDIR}/pkgconfig /ipcf)
  string(REGEX REPLACE "/$" "" rel "${rel}")
  set(IPCF_PC_PREFIX "\${pcfiledir}/${rel}")
endif()
# Static archives, dependents first (reverse of the dependency order above).
set(IPCF_PC_LIBS "")
foreach(t IN LISTS IPCF_EXPORTED_LIBS)
  get_target_property(kind ${t} TYPE)
  get_target_property(out ${t} OUTPUT_NAME)
  if(NOT out)
    set(out ${t})
  endif()
  if(kind STREQUAL "STATIC_LIBRARY")
    set(IPCF_PC_LIBS "-l${out} ${IPCF_PC_LIBS}")
  endif()
endforeach()
string(STRIP "${IPCF_PC_LIBS}" IPCF_PC_LIBS)
configure_file(${PROJECT_SOURCE_DIR}/cmake/ipcfuzz.pc.in ${PROJECT_BINARY_DIR}/ipcfuzz.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/ipcfuzz.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(IPCF_HAVE_INTERPOSE_ARCHIVE)
  file(WRITE ${PROJECT_BINARY_DIR}/ipcfuzz-interpose.pc.tmp
"prefix=${IPCF_PC_PREFIX}
libdir=\${prefix}/${CMAKE_INSTALL_LIBDIR}

Name: ipcfuzz-interpose
Description: ipcfuzz libc overrides linked into a program (fault plans reach its own calls)
Version: ${PROJECT_VERSION}
Requires: ipcfuzz
Libs: -L\${libdir} -Wl,--whole-archive -lipcf_interpose -Wl,--no-whole-archive
")
  configure_file(${PROJECT_BINARY_DIR}/ipcfuzz-interpose.pc.tmp
                 ${PROJECT_BINARY_DIR}/ipcfuzz-interpose.pc COPYONLY)
  install(FILES ${PROJECT_BINARY_DIR}/ipcfuzz-interpose.pc
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endif()
