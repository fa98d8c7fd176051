# Warnings and sanitizer flags shared by every target of the project.
#
# IPCF_SANITIZE=address -> ASan + UBSan, no recovery (a report is fatal)
# IPCF_SANITIZE=thread  -> TSan
# A target that must stay uninstrumented (the LD_PRELOAD library, which is
# loaded into foreign programs) calls ipcf_no_sanitize(<target>).

set(IPCF_WARNINGS -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes
    -Wmissing-prototypes -Wno-unused-parameter)
if(IPCF_WERROR)
  list(APPEND IPCF_WARNINGS -Werror)
endif()
add_compile_options(${IPCF_WARNINGS})

if(IPCF_SANITIZE STREQUAL "address")
  set(IPCF_SAN_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all
      -fno-omit-frame-pointer)
elseif(IPCF_SANITIZE STREQUAL "thread")
  set(IPCF_SAN_FLAGS -fsanitize=thread -fno-omit-frame-pointer)
elseif(IPCF_SANITIZE STREQUAL "")
  set(IPCF_SAN_FLAGS "")
else()
  message(FATAL_ERROR "IPCF_SANITIZE must be '', 'address' or 'thread', not '${IPCF_SANITIZE}'")
endif()
if(IPCF_SAN_FLAGS)
  add_compile_options(${IPCF_SAN_FLAGS})
  add_link_options(${IPCF_SAN_FLAGS})
  add_compile_definitions(IPCF_SANITIZED=1)
endif()

# Build <target> without sanitizer instrumentation (for code injected into
# other processes, which do not carry a sanitizer runtime).
function(ipcf_no_sanitize target)
  if(IPCF_SAN_FLAGS)
    target_compile_options(${target} PRIVATE -fno-sanitize=all)
    target_link_options(${target} PRIVATE -fno-sanitize=all)
  endif()
endfunction()
