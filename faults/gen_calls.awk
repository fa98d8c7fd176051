# gen_calls.awk — turns calls.spec into C (run by CMake at build time).
#
#   awk -v outdir=DIR -f gen_calls.awk calls.spec
#
# writes DIR/calls_gen.h          enum of call ids (one per call set)
#        DIR/calls_table.c        call table + errno name table (the parser's knowledge)
#        DIR/ipcfuzz/faults_wrap.h public prototypes of ipcf_wrap_<call>()
#        DIR/wrap_gen.c           the injecting wrappers ipcf_wrap_<call>()
#        DIR/override_gen.c       libc overrides: <symbol>() -> ipcf_wrap_<call>()
#        DIR/calls.txt            "<symbol> <call set>" for every intercepted symbol
# Plain POSIX awk (mawk is enough). The spec format is described in calls.spec.

function trim(s) {
    sub(/^[ \t]+/, "", s)
    sub(/[ \t]+$/, "", s)
    return s
}

# Fill argn[1..] with the parameter names of a prototype; returns the count
# (variadic "..." is not counted; sets g_variadic).
function param_names(params, argn,    parts, n, i, p, words, k, m) {
    g_variadic = 0
    if (params == "void" || params == "")
        return 0
    n = split(params, parts, ",")
    m = 0
    for (i = 1; i <= n; i++) {
        p = trim(parts[i])
        if (p == "...") {
            g_variadic = 1
            continue
        }
        gsub(/[^A-Za-z0-9_]/, " ", p)
        k = split(p, words, " ")
        argn[++m] = words[k]
    }
    return m
}

function die(msg) {
    printf("calls.spec:%d: %s\n", NR, msg) > "/dev/stderr"
    failed = 1
    exit 1
}

BEGIN {
    FS = "|"
    ncalls = 0
    nsyms = 0
    nerrs = 0
}

/^[ \t]*#/ || /^[ \t]*$/ { next }

{
    if (NF < 6)
        die("expected 6 '|'-separated fields")
    name = trim($1); ret = trim($2); params = trim($3); errret = trim($4)
    flags = trim($5); errs = trim($6)
    alias = ""; manual = 0
    nf = split(flags, fl, " ")
    for (i = 1; i <= nf; i++) {
        if (fl[i] ~ /^alias=/) alias = substr(fl[i], 7)
        if (fl[i] == "manual") manual = 1
    }
    sym[++nsyms] = name
    symset[nsyms] = (alias != "" ? alias : name)
    symret[nsyms] = ret
    symparams[nsyms] = params
    symmanual[nsyms] = manual
    if (alias != "")
        next
    c = ++ncalls
    cname[c] = name; cret[c] = ret; cparams[c] = params; cerrret[c] = errret
    cflags[c] = flags; cerrs[c] = errs; cmanual[c] = manual
    ne = split(errs, ev, " ")
    for (i = 1; i <= ne; i++) {
        if (!(ev[i] in errseen)) {
            errseen[ev[i]] = 1
            errlist[++nerrs] = ev[i]
        }
    }
}

END {
    if (failed)
        exit 1
    hdr = outdir "/calls_gen.h"
    tab = outdir "/calls_table.c"
    pub = outdir "/ipcfuzz/faults_wrap.h"
    wrp = outdir "/wrap_gen.c"
    ovr = outdir "/override_gen.c"
    lst = outdir "/calls.txt"

    # ---- calls_gen.h -------------------------------------------------------
    print "/* calls_gen.h — GENERATED from faults/calls.spec by gen_calls.awk. Do not edit. */" > hdr
    print "#ifndef IPCF_CALLS_GEN_H" > hdr
    print "#define IPCF_CALLS_GEN_H" > hdr
    print "enum ipcf__call_id {" > hdr
    for (c = 1; c <= ncalls; c++)
        printf("    IPCF__CALL_%s = %d,\n", cname[c], c - 1) > hdr
    printf("    IPCF__NCALLS = %d\n};\n#endif\n", ncalls) > hdr

    # ---- faults_wrap.h -----------------------------------------------------
    print "/* ipcfuzz/faults_wrap.h — GENERATED from faults/calls.spec. Do not edit." > pub
    print " *" > pub
    print " * ipcf_wrap_<call>() is the fault-injecting version of libc's <call>(): same" > pub
    print " * arguments, same result and errno convention. It consults the scheduler of" > pub
    print " * ipcfuzz/faults.h exactly like the LD_PRELOAD library does, but overrides" > pub
    print " * nothing: code can call it directly (SQLite-style swappable system call)." > pub
    print " * Before ipcf_faults_configure() it is the plain libc call. */" > pub
    print "#ifndef IPCFUZZ_FAULTS_WRAP_H" > pub
    print "#define IPCFUZZ_FAULTS_WRAP_H" > pub
    print "#include <mqueue.h>\n#include <poll.h>\n#include <semaphore.h>\n#include <signal.h>" > pub
    print "#include <sys/epoll.h>\n#include <sys/mman.h>\n#include <sys/msg.h>\n#include <sys/resource.h>" > pub
    print "#include <sys/sem.h>\n#include <sys/socket.h>\n#include <sys/types.h>\n#include <sys/uio.h>" > pub
    print "#include <sys/wait.h>\n#include <time.h>\n#ifdef __cplusplus\nextern \"C\" {\n#endif" > pub
    for (c = 1; c <= ncalls; c++)
        printf("%s ipcf_wrap_%s(%s);\n", cret[c], cname[c], cparams[c]) > pub
    print "#ifdef __cplusplus\n}\n#endif\n#endif" > pub

    # ---- calls_table.c -----------------------------------------------------
    print "/* calls_table.c — GENERATED from faults/calls.spec by gen_calls.awk. Do not edit." > tab
    print " * The call table the plan parser validates against. */" > tab
    print "#include <errno.h>\n#include <stddef.h>\n#include \"internal.h\"\n" > tab
    for (c = 1; c <= ncalls; c++) {
        ne = split(cerrs[c], ev, " ")
        printf("static const int errs_%s[] = {", cname[c]) > tab
        for (i = 1; i <= ne; i++)
            printf("%s%s", (i > 1 ? ", " : ""), ev[i]) > tab
        printf("};\n") > tab
    }
    print "\nconst struct ipcf__call_info ipcf__calls[IPCF__NCALLS] = {" > tab
    for (c = 1; c <= ncalls; c++) {
        f = "0"
        nf = split(cflags[c], fl, " ")
        for (i = 1; i <= nf; i++) {
            if (fl[i] ~ /^short=/) f = f " | IPCF__CF_SHORT"
            if (fl[i] ~ /^recv=/) f = f " | IPCF__CF_RECV"
            if (fl[i] == "block") f = f " | IPCF__CF_BLOCK"
            if (fl[i] ~ /^nb=/) f = f " | IPCF__CF_NB"
            if (fl[i] ~ /^reg=/) f = f " | IPCF__CF_REG"
        }
        if (cerrret[c] == "MAP_FAILED") f = f " | IPCF__CF_PTRRET"
        ne = split(cerrs[c], ev, " ")
        printf("    {\"%s\", errs_%s, %d, %s},\n", cname[c], cname[c], ne, f) > tab
    }
    print "};\n" > tab
    print "const struct ipcf__errname ipcf__errnames[] = {" > tab
    for (i = 1; i <= nerrs; i++)
        printf("    {\"%s\", %s},\n", errlist[i], errlist[i]) > tab
    print "};" > tab
    printf("const size_t ipcf__nerrnames = %d;\n\n", nerrs) > tab
    print "const struct ipcf__symbol ipcf__symbols[] = {" > tab
    for (s = 1; s <= nsyms; s++)
        printf("    {\"%s\", IPCF__CALL_%s},\n", sym[s], symset[s]) > tab
    print "};" > tab
    printf("const size_t ipcf__nsymbols = %d;\n", nsyms) > tab

    # ---- wrap_gen.c --------------------------------------------------------
    print "/* wrap_gen.c — GENERATED from faults/calls.spec by gen_calls.awk. Do not edit." > wrp
    print " * One injecting wrapper per call; the shared logic lives in sched.c and actions.c. */" > wrp
    print "#undef _FORTIFY_SOURCE\n#include <errno.h>\n#include <stdint.h>" > wrp
    print "#include \"ipcfuzz/faults_wrap.h\"\n#include \"internal.h\"\n" > wrp
    for (c = 1; c <= ncalls; c++) {
        if (cmanual[c])
            continue
        n = cname[c]
        delete argn
        na = param_names(cparams[c], argn)
        args = ""
        for (i = 1; i <= na; i++)
            args = args (i > 1 ? ", " : "") argn[i]
        shortk = ""; recvk = ""; nbk = ""; regk = ""
        nf = split(cflags[c], fl, " ")
        for (i = 1; i <= nf; i++) {
            if (fl[i] ~ /^short=/) shortk = substr(fl[i], 7)
            if (fl[i] ~ /^recv=/) recvk = substr(fl[i], 6)
            if (fl[i] ~ /^nb=/) nbk = substr(fl[i], 4)
            if (fl[i] ~ /^reg=/) regk = substr(fl[i], 5)
        }
        nbx = "0"
        delete nb
        if (nbk != "") {
            split(nbk, nb, ":")
            if (nb[1] == "fd") nbx = "ipcf__nb_fd(" nb[2] ")"
            else if (nb[1] == "fdflags") nbx = "(ipcf__nb_fd(" nb[2] ") || ((" nb[3] ") & MSG_DONTWAIT))"
            else if (nb[1] == "mq") nbx = "ipcf__nb_mq(" nb[2] ")"
            else if (nb[1] == "flag") nbx = "(((" nb[2] ") & (" nb[3] ")) != 0)"
            else if (nb[1] == "sops") nbx = "ipcf__nb_sops(" nb[2] ", " nb[3] ")"
            else if (nb[1] == "always") nbx = "1"
        }
        reg = ""
        if (regk != "") {
            split(regk, rg, ":")
            if (rg[1] == "shm") reg = "    if (r >= 0)\n        ipcf__register_fd(IPCF__OBJ_SHM, " rg[2] ", r);\n"
            if (rg[1] == "memfd") reg = "    if (r >= 0)\n        ipcf__register_fd(IPCF__OBJ_MEMFD, " rg[2] ", r);\n"
            if (rg[1] == "mmap") reg = "    if (r != MAP_FAILED)\n        ipcf__register_mmap(" rg[2] ", " rg[3] ");\n"
        }
        # Two functions per call: ipcf_wrap_<call>() holds only the lock-free
        # pass-through test (ipcf__fast, inline) and tail-calls libc; the rest
        # lives in a separate, never-inlined slow_<call>() so the fast path
        # sets up no stack frame. Calls that register objects always take the
        # full path (registration happens on pass-through too).
        fnt = cret[c] " (*fn)(" cparams[c] ")"
        if (regk == "") {
            printf("/* %s %s(%s): everything but the pass-through */\n", cret[c], n, cparams[c]) > wrp
            printf("static __attribute__((noinline)) %s slow_%s(%s, %s)\n{\n", cret[c], n, fnt, cparams[c]) > wrp
        } else {
            printf("/* %s %s(%s) */\n", cret[c], n, cparams[c]) > wrp
            printf("%s ipcf_wrap_%s(%s)\n{\n", cret[c], n, cparams[c]) > wrp
            printf("    %s = (%s (*)(%s))ipcf__real(IPCF__CALL_%s);\n", fnt, cret[c], cparams[c], n) > wrp
        }
        printf("    struct ipcf__ctx cx;\n    %s r;\n    int e;\n", cret[c]) > wrp
        if (shortk ~ /^(iov|msg):/)
            printf("    struct iovec ipcf_iov[IPCF__IOV_MAX];\n") > wrp
        if (shortk ~ /^msg:/) {
            split(shortk, sk, ":")
            printf("    struct msghdr ipcf_msg;\n") > wrp
            if (recvk ~ /^msg:/)
                printf("    %s = %s;\n", "const struct msghdr *ipcf_orig", sk[2]) > wrp
        }
        # short= applies to byte streams only: the descriptor of nb=fd/fdflags
        streamx = "1"
        if (shortk != "" && (nb[1] == "fd" || nb[1] == "fdflags"))
            streamx = "ipcf__stream_fd(" nb[2] ")"
        else if (shortk != "")
            die("a short= call needs nb=fd:FD or nb=fdflags:FD:FLAGS (" n ")")
        printf("    int st = ipcf__begin(&cx, IPCF__CALL_%s);\n", n) > wrp
        printf("    if (st == IPCF__NEED_NB)\n        st = ipcf__commit(&cx, %s, %s);\n", nbx, streamx) > wrp
        printf("    if (st == IPCF__PASS) {\n        r = fn(%s);\n", args) > wrp
        if (reg != "") {
            printf("        if (ipcf__reg_ok()) {\n            e = errno;\n") > wrp
            gsub(/\n    /, "\n            ", reg)
            sub(/^    /, "            ", reg)
            printf("%s            errno = e;\n        }\n", reg) > wrp
        }
        printf("        return r;\n    }\n") > wrp
        printf("    if (cx.fake) {\n        ipcf__end(&cx);\n") > wrp
        printf("        if (cx.fake_errno) {\n            errno = cx.fake_errno;\n            return (%s)%s;\n        }\n", cret[c], cerrret[c]) > wrp
        printf("        return (%s)(intptr_t)cx.fake_ret;\n    }\n", cret[c]) > wrp
        if (shortk != "") {
            split(shortk, sk, ":")
            if (sk[1] == "iov")
                printf("    if (cx.short_max >= 0)\n        %s = ipcf__short_iov(&%s, %s, ipcf_iov, cx.short_max);\n", sk[3], sk[2], sk[3]) > wrp
            else if (sk[1] == "msg")
                printf("    if (cx.short_max >= 0)\n        %s = ipcf__short_msg(%s, &ipcf_msg, ipcf_iov, cx.short_max);\n", sk[2], sk[2]) > wrp
            else {
                printf("    if (cx.short_max >= 0 && (unsigned long long)%s > (unsigned long long)cx.short_max) {\n        %s = (size_t)cx.short_max;\n", sk[1], sk[1]) > wrp
                printf("        if (IPCF_BUG(faults_short_faked)) {\n            ipcf__end(&cx);\n            return (%s)%s; /* planted: no call */\n        }\n    }\n", cret[c], sk[1]) > wrp
            }
        }
        printf("    ipcf__arm(&cx);\n    r = fn(%s);\n    e = errno;\n    ipcf__disarm(&cx);\n", args) > wrp
        if (shortk ~ /^msg:/ && recvk ~ /^msg:/)
            printf("    if (ipcf_orig != %s)\n        ipcf__msg_back((struct msghdr *)ipcf_orig, %s);\n", sk[2], sk[2]) > wrp
        if (reg != "")
            printf("%s", reg) > wrp
        if (recvk != "") {
            split(recvk, rk, ":")
            printf("    if (cx.corrupt_bits > 0 && r > 0)\n") > wrp
            if (rk[1] == "buf")
                printf("        ipcf__corrupt_buf(&cx, %s, (size_t)r, %s);\n", rk[2], rk[3]) > wrp
            else if (rk[1] == "iov")
                printf("        ipcf__corrupt_iov(&cx, %s, (size_t)%s, (size_t)r);\n", rk[2], rk[3]) > wrp
            else if (rk[1] == "msg")
                printf("        ipcf__corrupt_iov(&cx, %s->msg_iov, %s->msg_iovlen, (size_t)r);\n", rk[2], rk[2]) > wrp
            else if (rk[1] == "mtext")
                printf("        ipcf__corrupt_buf(&cx, (char *)%s + sizeof(long), (size_t)r, %s);\n", rk[2], rk[3]) > wrp
        }
        printf("    ipcf__end(&cx);\n    errno = e;\n    return r;\n}\n\n") > wrp
        if (regk == "") {
            printf("%s ipcf_wrap_%s(%s)\n{\n", cret[c], n, cparams[c]) > wrp
            printf("    %s = (%s (*)(%s))ipcf__real(IPCF__CALL_%s);\n", fnt, cret[c], cparams[c], n) > wrp
            printf("    if (ipcf__fast(IPCF__CALL_%s))\n        return fn(%s);\n", n, args) > wrp
            printf("    return slow_%s(fn%s%s);\n}\n\n", n, (args != "" ? ", " : ""), args) > wrp
        }
    }

    # ---- override_gen.c ----------------------------------------------------
    print "/* override_gen.c — GENERATED from faults/calls.spec by gen_calls.awk. Do not edit." > ovr
    print " * Defines the libc symbols themselves; linked only into ipcf_interpose and the" > ovr
    print " * LD_PRELOAD library. Each forwards to the injecting wrapper of its call set. */" > ovr
    print "#undef _FORTIFY_SOURCE\n#include \"ipcfuzz/faults_wrap.h\"\n#include \"internal.h\"\n" > ovr
    for (s = 1; s <= nsyms; s++) {
        if (symmanual[s])
            continue
        delete argn
        na = param_names(symparams[s], argn)
        args = ""
        for (i = 1; i <= na; i++)
            args = args (i > 1 ? ", " : "") argn[i]
        printf("IPCF__EXPORT %s %s(%s)\n{\n    return ipcf_wrap_%s(%s);\n}\n\n", symret[s], sym[s], symparams[s], symset[s], args) > ovr
    }

    # ---- calls.txt ---------------------------------------------------------
    for (s = 1; s <= nsyms; s++)
        printf("%s %s\n", sym[s], symset[s]) > lst
}
