# IpcfuzzFuzz.cmake — ipcfuzz_add_fuzzer(): build one LLVMFuzzerTestOneInput
# source for every engine and register its tests.
#
#   ipcfuzz_add_fuzzer(<name> SOURCES src.c...        # or: NAME <name> SOURCES ...
#                      [LIBS lib...]                  # linked PRIVATE into every variant
#                      [DICT file]                    # default <corpus-root>/<name>.dict if present
#                      [CORPUS dir]                   # default <corpus-root>/<name>
#                      [REGRESS dir]                  # default <corpus-root>/regress/<name>
#                      [OPTIONS file]                 # default <corpus-root>/<name>.options if present
#                      [ENVIRONMENT VAR=value...])    # extra env for its tests
#
# What it creates (names without dots, as OSS-Fuzz requires):
#   <name>_replay   always. Standalone driver (driver.c, no engine, any compiler,
#                   the build's sanitizers). CTest tests, label `fuzz-replay`:
#                     fuzz_replay_<name>  replays CORPUS and REGRESS (every file)
#                     fuzz_random_<name>  IPCFUZZ_REPLAY_RUNS mutated inputs,
#                                         at most IPCFUZZ_REPLAY_SECONDS seconds
#   <name>          when IPCF_FUZZ is ON and the compiler is clang: libFuzzer
#                   binary (-fsanitize=fuzzer + IPCFUZZ_SANITIZERS, no recovery).
#                   CTest test fuzz_smoke_<name> (label `fuzz`): libFuzzer for
#                   IPCFUZZ_SMOKE_SECONDS on the seeds, new inputs kept in the
#                   build tree (never written into the source corpus).
#   <name>_afl      when IPCF_AFL is ON: AFL++ binary, built with
#                   `afl-clang-fast -fsanitize=fuzzer` (persistent mode,
#                   shared-memory input) with AFL_USE_ASAN/AFL_USE_UBSAN, into
#                   ${IPCFUZZ_AFL_OUTPUT_DIR}. CTest test fuzz_afl_replay_<name>
#                   (label `fuzz`) runs it once per seed file.
#
# Why AFL++ is a nested build: CMake has one C compiler per build tree, and
# AFL++ must instrument the libraries a target links as well as the target
# itself (the decoder is where the coverage is). So when IPCF_AFL is ON this
# file adds one ExternalProject, `ipcfuzz_afl`, that configures the SAME source
# tree again with CMAKE_C_COMPILER=afl-clang-fast and IPCFUZZ_AFL_INNER=ON, and
# builds only the `ipcfuzz_afl_all` target there. In that inner build,
# ipcfuzz_add_fuzzer() creates just the <name>_afl executables. <name>_afl in the
# outer build is a custom target that runs the nested build.
#
# Variables (set before including this file, or as cache entries):
#   IPCF_FUZZ               build libFuzzer binaries (default OFF)
#   IPCF_AFL                build AFL++ binaries (default OFF)
#   IPCFUZZ_CORPUS_DIR      corpus root (default: <including dir>/corpus)
#   IPCFUZZ_DRIVER_SOURCE   the replay driver (default: ../fuzz/driver.c next to
#                           this file, else ipcfuzz_driver.c next to this file)
#   IPCFUZZ_HELPER_TARGET   library with ipcfuzz/fuzz.h, linked into every variant
#                           when it exists (default: ipcf_fuzz, else ipcfuzz::fuzz)
#   IPCFUZZ_SANITIZERS      sanitizers of libFuzzer binaries (default address,undefined)
#   IPCFUZZ_INSTRUMENT_ALL  with IPCF_FUZZ: compile everything after this include
#                           with -fsanitize=fuzzer-no-link so libraries give
#                           coverage (default ON)
#   IPCFUZZ_SMOKE_SECONDS   libFuzzer smoke test budget (default 10)
#   IPCFUZZ_REPLAY_RUNS / IPCFUZZ_REPLAY_SECONDS  random replay test (2000 / 3)
#   IPCFUZZ_AFL_CC          AFL++ compiler (default: afl-clang-fast from PATH)
#   IPCFUZZ_AFL_CMAKE_ARGS  extra -D arguments for the nested AFL++ configure
#   IPCFUZZ_AFL_OUTPUT_DIR  where <name>_afl binaries land (default <build>/afl-bin)
#   IPCFUZZ_TEST_FIXTURES   CTest fixtures every fuzz test requires (ipcfuzz
#                           itself: "names", its leftover-names audit)
#   IPCFUZZ_LINK_ENGINE     external engine mode (OSS-Fuzz / ClusterFuzzLite):
#                           when set (e.g. to $LIB_FUZZING_ENGINE), <name> is
#                           built with any compiler, linked with exactly these
#                           flags, and no sanitizer/coverage flag is added
#                           (CFLAGS from the environment carry them)
# Nothing else of the including project is used, so the file can be installed
# with a CMake package and included by other projects.
include_guard(GLOBAL)

option(IPCF_FUZZ "Build libFuzzer binaries (clang only)" OFF)
option(IPCF_AFL "Build AFL++ binaries (afl-clang-fast)" OFF)
option(IPCFUZZ_INSTRUMENT_ALL "With IPCF_FUZZ, add coverage instrumentation everywhere" ON)
option(IPCFUZZ_AFL_INNER "Internal: this is the nested AFL++ build" OFF)
mark_as_advanced(IPCFUZZ_AFL_INNER)

if(NOT DEFINED IPCFUZZ_CORPUS_DIR)
  set(IPCFUZZ_CORPUS_DIR ${CMAKE_CURRENT_SOURCE_DIR}/corpus)
endif()
if(NOT DEFINED IPCFUZZ_DRIVER_SOURCE)
  if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/../fuzz/driver.c)
    get_filename_component(IPCFUZZ_DRIVER_SOURCE ${CMAKE_CURRENT_LIST_DIR}/../fuzz/driver.c ABSOLUTE)
  else()
    set(IPCFUZZ_DRIVER_SOURCE ${CMAKE_CURRENT_LIST_DIR}/ipcfuzz_driver.c)
  endif()
endif()
if(NOT DEFINED IPCFUZZ_SANITIZERS)
  set(IPCFUZZ_SANITIZERS address,undefined)
endif()
if(NOT DEFINED IPCFUZZ_SMOKE_SECONDS)
  set(IPCFUZZ_SMOKE_SECONDS 10)
endif()
if(NOT DEFINED IPCFUZZ_REPLAY_RUNS)
  set(IPCFUZZ_REPLAY_RUNS 2000)
endif()
if(NOT DEFINED IPCFUZZ_REPLAY_SECONDS)
  set(IPCFUZZ_REPLAY_SECONDS 3)
endif()
if(NOT DEFINED IPCFUZZ_TEST_FIXTURES AND PROJECT_NAME STREQUAL "ipcfuzz")
  set(IPCFUZZ_TEST_FIXTURES names)
endif()
if(NOT DEFINED IPCFUZZ_AFL_OUTPUT_DIR)
  set(IPCFUZZ_AFL_OUTPUT_DIR ${CMAKE_BINARY_DIR}/afl-bin)
endif()

# libFuzzer needs clang.
set(IPCFUZZ_LIBFUZZER OFF)
if(IPCFUZZ_LINK_ENGINE AND NOT IPCFUZZ_AFL_INNER)
  set(IPCFUZZ_LIBFUZZER ON)
elseif(IPCF_FUZZ AND NOT IPCFUZZ_AFL_INNER)
  if(CMAKE_C_COMPILER_ID MATCHES "Clang")
    set(IPCFUZZ_LIBFUZZER ON)
    if(IPCFUZZ_INSTRUMENT_ALL)
      # Coverage + comparison tracing for every library compiled after this
      # point, without linking libFuzzer (only fuzz binaries link it).
      add_compile_options(-fsanitize=fuzzer-no-link)
    endif()
  else()
    message(WARNING "IPCF_FUZZ needs clang (compiler is ${CMAKE_C_COMPILER_ID}): "
                    "only <name>_replay drivers are built")
  endif()
endif()

# The nested AFL++ build (see the header comment).
if(IPCFUZZ_AFL_INNER)
  if(NOT TARGET ipcfuzz_afl_all)
    add_custom_target(ipcfuzz_afl_all)
  endif()
elseif(IPCF_AFL)
  if(NOT DEFINED IPCFUZZ_AFL_CC)
    find_program(IPCFUZZ_AFL_CC NAMES afl-clang-fast afl-clang-lto)
  endif()
  if(NOT IPCFUZZ_AFL_CC)
    message(FATAL_ERROR "IPCF_AFL=ON but afl-clang-fast was not found (set IPCFUZZ_AFL_CC)")
  endif()
  include(ExternalProject)
  set(_ipcfuzz_afl_env AFL_USE_ASAN=1 AFL_USE_UBSAN=1 AFL_QUIET=1)
  set(_ipcfuzz_afl_build_type ${CMAKE_BUILD_TYPE})
  if(NOT _ipcfuzz_afl_build_type)
    set(_ipcfuzz_afl_build_type RelWithDebInfo)
  endif()
  ExternalProject_Add(ipcfuzz_afl
    SOURCE_DIR ${CMAKE_SOURCE_DIR}
    BINARY_DIR ${CMAKE_BINARY_DIR}/afl-build
    CONFIGURE_COMMAND ${CMAKE_COMMAND} -E env ${_ipcfuzz_afl_env}
      ${CMAKE_COMMAND} -S <SOURCE_DIR> -B <BINARY_DIR> -G ${CMAKE_GENERATOR}
      -DCMAKE_C_COMPILER=${IPCFUZZ_AFL_CC}
      -DCMAKE_BUILD_TYPE=${_ipcfuzz_afl_build_type}
      -DIPCFUZZ_AFL_INNER=ON -DIPCF_FUZZ=OFF -DIPCF_AFL=OFF
      -DIPCFUZZ_AFL_OUTPUT_DIR=${IPCFUZZ_AFL_OUTPUT_DIR}
      ${IPCFUZZ_AFL_CMAKE_ARGS}
    BUILD_COMMAND ${CMAKE_COMMAND} -E env ${_ipcfuzz_afl_env}
      ${CMAKE_COMMAND} --build <BINARY_DIR> --target ipcfuzz_afl_all
    INSTALL_COMMAND ""
    BUILD_ALWAYS ON
    USES_TERMINAL_BUILD ON)
endif()

# Every fuzzer of the build, for scripts (ci/fuzz, ci/fuzz-smoke, bench/fuzz):
# <build>/ipcfuzz-fuzzers.tsv, one line per fuzzer, tab-separated:
#   name  libfuzzer-binary|-  replay-binary  afl-binary|-  corpus  regress  dict|-  options|-
# written at generate time (after every CMakeLists.txt has been read). The
# custom target ipcfuzz_fuzzers builds every libFuzzer and replay binary.
if(NOT IPCFUZZ_AFL_INNER)
  if(NOT TARGET ipcfuzz_fuzzers)
    add_custom_target(ipcfuzz_fuzzers)
  endif()
  set_property(GLOBAL PROPERTY IPCFUZZ_MANIFEST "")
  function(_ipcfuzz_write_manifest)
    get_property(lines GLOBAL PROPERTY IPCFUZZ_MANIFEST)
    string(JOIN "\n" content ${lines})
    file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/ipcfuzz-fuzzers.tsv CONTENT "${content}\n")
  endfunction()
  cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _ipcfuzz_write_manifest)
endif()

# Turn an OSS-Fuzz style .options file ([libfuzzer] key = value lines) into
# libFuzzer flags (-key=value) in <out>.
function(_ipcfuzz_read_options file out)
  set(flags "")
  if(file AND EXISTS ${file})
    file(STRINGS ${file} lines)
    set(section "")
    foreach(line IN LISTS lines)
      if(line MATCHES "^[ \t]*\\[([a-z_]+)\\]")
        set(section ${CMAKE_MATCH_1})
      elseif(section STREQUAL "libfuzzer" AND line MATCHES "^[ \t]*([A-Za-z_]+)[ \t]*=[ \t]*([^ \t#]+)")
        list(APPEND flags "-${CMAKE_MATCH_1}=${CMAKE_MATCH_2}")
      endif()
    endforeach()
  endif()
  set(${out} ${flags} PARENT_SCOPE)
endfunction()

function(ipcfuzz_add_fuzzer name)
  set(args ${ARGN})
  if(name STREQUAL "NAME")
    list(POP_FRONT args name)
  endif()
  cmake_parse_arguments(F "" "DICT;CORPUS;REGRESS;OPTIONS" "SOURCES;LIBS;ENVIRONMENT" ${args})
  if(NOT name OR NOT F_SOURCES)
    message(FATAL_ERROR "ipcfuzz_add_fuzzer(<name> SOURCES ...): name and SOURCES are required")
  endif()
  if(name MATCHES "[.]")
    message(FATAL_ERROR "ipcfuzz_add_fuzzer: '${name}': fuzz target names contain no dots")
  endif()
  if(F_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "ipcfuzz_add_fuzzer(${name}): unknown arguments ${F_UNPARSED_ARGUMENTS}")
  endif()

  # Paths are relative to the calling folder.
  set(srcs "")
  foreach(s IN LISTS F_SOURCES)
    get_filename_component(abs ${s} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    list(APPEND srcs ${abs})
  endforeach()
  if(NOT F_CORPUS)
    set(F_CORPUS ${IPCFUZZ_CORPUS_DIR}/${name})
  endif()
  if(NOT F_REGRESS)
    set(F_REGRESS ${IPCFUZZ_CORPUS_DIR}/regress/${name})
  endif()
  if(NOT F_DICT AND EXISTS ${IPCFUZZ_CORPUS_DIR}/${name}.dict)
    set(F_DICT ${IPCFUZZ_CORPUS_DIR}/${name}.dict)
  endif()
  if(NOT F_OPTIONS AND EXISTS ${IPCFUZZ_CORPUS_DIR}/${name}.options)
    set(F_OPTIONS ${IPCFUZZ_CORPUS_DIR}/${name}.options)
  endif()
  foreach(v CORPUS REGRESS DICT OPTIONS)
    if(F_${v})
      get_filename_component(F_${v} ${F_${v}} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    endif()
  endforeach()

  if(DEFINED IPCFUZZ_HELPER_TARGET)
    set(helper ${IPCFUZZ_HELPER_TARGET})
  else()
    # Resolved at generate time: the helper library may be defined later.
    set(helper "$<TARGET_NAME_IF_EXISTS:ipcf_fuzz>;$<TARGET_NAME_IF_EXISTS:ipcfuzz::fuzz>")
  endif()
  # Planted bugs stay off in every test unless the test enables them itself.
  set(env "IPCF_BUGS=" ${F_ENVIRONMENT})

  # ---- nested AFL++ build: only <name>_afl ----
  if(IPCFUZZ_AFL_INNER)
    add_executable(${name}_afl ${srcs})
    target_link_libraries(${name}_afl PRIVATE ${F_LIBS} ${helper})
    target_compile_options(${name}_afl PRIVATE -fsanitize=fuzzer)
    target_link_options(${name}_afl PRIVATE -fsanitize=fuzzer)
    set_target_properties(${name}_afl PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${IPCFUZZ_AFL_OUTPUT_DIR}
                                                 EXCLUDE_FROM_ALL ON)
    add_dependencies(ipcfuzz_afl_all ${name}_afl)
    return()
  endif()

  # ---- standalone replay driver ----
  add_executable(${name}_replay ${srcs} ${IPCFUZZ_DRIVER_SOURCE})
  target_link_libraries(${name}_replay PRIVATE ${F_LIBS} ${helper})
  set(replay_args "")
  if(EXISTS ${F_CORPUS})
    list(APPEND replay_args ${F_CORPUS})
  else()
    message(WARNING "ipcfuzz_add_fuzzer(${name}): no seed corpus at ${F_CORPUS}")
    list(APPEND replay_args -optional=${F_CORPUS})
  endif()
  list(APPEND replay_args -optional=${F_REGRESS})
  add_test(NAME fuzz_replay_${name} COMMAND ${name}_replay ${replay_args})
  file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/${name}-crashes)
  add_test(NAME fuzz_random_${name}
           COMMAND ${name}_replay -runs=${IPCFUZZ_REPLAY_RUNS}
                   -max_total_time=${IPCFUZZ_REPLAY_SECONDS} -seed=1
                   -crash_dir=${CMAKE_CURRENT_BINARY_DIR}/${name}-crashes ${replay_args})
  set_tests_properties(fuzz_replay_${name} fuzz_random_${name} PROPERTIES
                       LABELS fuzz-replay TIMEOUT 300 ENVIRONMENT "${env}")
  if(IPCFUZZ_TEST_FIXTURES)
    set_tests_properties(fuzz_replay_${name} fuzz_random_${name} PROPERTIES
                         FIXTURES_REQUIRED "${IPCFUZZ_TEST_FIXTURES}")
  endif()

  # ---- libFuzzer ----
  if(IPCFUZZ_LIBFUZZER)
    add_executable(${name} ${srcs})
    target_link_libraries(${name} PRIVATE ${F_LIBS} ${helper})
    if(IPCFUZZ_LINK_ENGINE)
      separate_arguments(engine UNIX_COMMAND "${IPCFUZZ_LINK_ENGINE}")
      target_link_options(${name} PRIVATE ${engine})
    else()
      set(san -fsanitize=fuzzer)
      if(IPCFUZZ_SANITIZERS)
        list(APPEND san -fsanitize=${IPCFUZZ_SANITIZERS} -fno-sanitize-recover=all)
      endif()
      target_compile_options(${name} PRIVATE ${san})
      target_link_options(${name} PRIVATE ${san})
    endif()

    _ipcfuzz_read_options("${F_OPTIONS}" lf_flags)
    if(F_DICT)
      list(APPEND lf_flags -dict=${F_DICT})
    endif()
    set(work ${CMAKE_CURRENT_BINARY_DIR}/${name}-work)
    file(MAKE_DIRECTORY ${work}/corpus ${work}/artifacts)
    set(dirs ${work}/corpus)
    foreach(d ${F_CORPUS} ${F_REGRESS})
      if(EXISTS ${d})
        list(APPEND dirs ${d})
      endif()
    endforeach()
    add_test(NAME fuzz_smoke_${name}
             COMMAND ${name} -max_total_time=${IPCFUZZ_SMOKE_SECONDS} -timeout=10
                     -rss_limit_mb=2048 -print_final_stats=1 ${lf_flags}
                     -artifact_prefix=${work}/artifacts/ ${dirs})
    set_tests_properties(fuzz_smoke_${name} PROPERTIES LABELS fuzz TIMEOUT 300
                         ENVIRONMENT "${env}")
    if(IPCFUZZ_TEST_FIXTURES)
      set_tests_properties(fuzz_smoke_${name} PROPERTIES
                           FIXTURES_REQUIRED "${IPCFUZZ_TEST_FIXTURES}")
    endif()
  endif()

  # ---- manifest line + aggregate target ----
  set(lf_bin -)
  if(IPCFUZZ_LIBFUZZER)
    set(lf_bin $<TARGET_FILE:${name}>)
    add_dependencies(ipcfuzz_fuzzers ${name})
  endif()
  add_dependencies(ipcfuzz_fuzzers ${name}_replay)
  set(afl_bin -)
  if(IPCF_AFL AND TARGET ipcfuzz_afl)
    set(afl_bin ${IPCFUZZ_AFL_OUTPUT_DIR}/${name}_afl)
  endif()
  set(m_dict -)
  set(m_opt -)
  if(F_DICT)
    set(m_dict ${F_DICT})
  endif()
  if(F_OPTIONS)
    set(m_opt ${F_OPTIONS})
  endif()
  string(JOIN "\t" line ${name} ${lf_bin} $<TARGET_FILE:${name}_replay> ${afl_bin} ${F_CORPUS}
         ${F_REGRESS} ${m_dict} ${m_opt})
  set_property(GLOBAL APPEND PROPERTY IPCFUZZ_MANIFEST "${line}")

  # ---- AFL++ (outer side: a handle on the nested build) ----
  if(IPCF_AFL AND TARGET ipcfuzz_afl)
    add_custom_target(${name}_afl DEPENDS ipcfuzz_afl)
    if(EXISTS ${F_CORPUS})
      file(GLOB seeds LIST_DIRECTORIES false ${F_CORPUS}/*)
      list(FILTER seeds EXCLUDE REGEX "/[.][^/]*$")
      list(SORT seeds)
      list(LENGTH seeds nseeds)
      if(nseeds GREATER 0)
        # libAFLDriver runs each file named on its command line once.
        add_test(NAME fuzz_afl_replay_${name} COMMAND ${IPCFUZZ_AFL_OUTPUT_DIR}/${name}_afl ${seeds})
        set_tests_properties(fuzz_afl_replay_${name} PROPERTIES LABELS fuzz TIMEOUT 120
                             ENVIRONMENT "${env}")
      endif()
    endif()
  endif()
endfunction()
