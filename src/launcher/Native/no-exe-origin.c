/*
 * glibc's _dl_get_origin for the statically linked image, reached through -Wl,--wrap=_dl_get_origin
 * (build/NativeStartup.targets): "origin unknown", without reading /proc/self/exe.
 *
 * Why: a static executable's start-up (_dl_non_dynamic_init, glibc's elf/dl-support.c) resolves the directory
 * of the executable at once, for a $ORIGIN that a later dlopen might expand. That readlink is the process's
 * first and only /proc/self access, so it is what makes the kernel build the new pid's /proc entries (and
 * flush them again at exit): 0.09-0.11 ms of every start here, measured on an empty native-AOT program in
 * interleaved rounds (docs/cli-decisions.md, "Start-up").
 *
 * What is given up: $ORIGIN in a path that this process dlopens, which glibc then drops as it does whenever the
 * origin cannot be found. confine-exec loads no library at run time: it reads /etc/passwd and /etc/group itself,
 * and the static C library's built-in "files" source answers without loading an NSS module. PROGRAM is a new
 * image with its own loader and is not affected.
 */
const char *__wrap__dl_get_origin(void);

const char *__wrap__dl_get_origin(void) { return (const char *)-1; }
