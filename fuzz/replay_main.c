/*
 * replay_main.c — a main() for fuzz harnesses built without libFuzzer.
 *
 * Linked with fuzz/fuzz_<name>.c when SLUICE_FUZZ is off, it feeds every
 * file named on the command line, and every regular file below every
 * directory named, to LLVMFuzzerTestOneInput, in sorted order, so that each
 * seed and each past crash in the corpus is a regression test under ctest.
 *
 *   fuzz_<name> [-libfuzzer_flag=...] PATH...
 *
 * Arguments that start with '-' are ignored, so a command line written for
 * the libFuzzer build (`fuzz_batch -runs=0 corpus/`) also works here.  The
 * exit status is non-zero when a path is missing or unreadable, a file is
 * larger than REPLAY_MAX_INPUT, or no path was given; a harness that finds a
 * bug aborts (or a sanitizer stops the process) by itself.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPLAY_MAX_INPUT (16u << 20) /* larger corpus files are a mistake */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

typedef struct path_list {
    char **v;
    size_t n, cap;
} path_list;

static int
list_add(path_list *l, const char *path)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n] = strdup(path);
    if (l->v[l->n] == NULL)
        return -ENOMEM;
    l->n++;
    return 0;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collect the regular files at or below path.  Symlinks are followed
 * (stat), which is what a corpus directory of links to seeds wants. */
static int
collect(path_list *l, const char *path, int depth)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (S_ISREG(st.st_mode))
        return list_add(l, path) == 0 ? 0 : -1;
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "replay: %s: not a file or directory\n", path);
        return -1;
    }
    if (depth > 16) {
        fprintf(stderr, "replay: %s: directories nested too deep\n", path);
        return -1;
    }
    DIR *d = opendir(path);
    if (d == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        size_t n = strlen(path) + strlen(e->d_name) + 2;
        char *child = malloc(n);
        if (child == NULL) {
            rc = -1;
            break;
        }
        snprintf(child, n, "%s/%s", path, e->d_name);
        rc = collect(l, child, depth + 1);
        free(child);
    }
    closedir(d);
    return rc;
}

/* Read a whole file into an exactly sized heap block, so that a harness
 * reading one byte past the input trips AddressSanitizer. */
static int
read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0 ||
        (uint64_t)st.st_size > REPLAY_MAX_INPUT) {
        fprintf(stderr, "replay: %s: unreadable or larger than %u bytes\n",
                path, REPLAY_MAX_INPUT);
        fclose(f);
        return -1;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *p = malloc(n ? n : 1);
    if (p == NULL || fread(p, 1, n, f) != n || ferror(f)) {
        fprintf(stderr, "replay: %s: read failed\n", path);
        free(p);
        fclose(f);
        return -1;
    }
    fclose(f);
    *out = p;
    *len = n;
    return 0;
}

int
main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);

    path_list files = {0};
    int paths = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-')
            continue;
        paths++;
        /* Sort each argument's files on their own, so the order of the
         * arguments is kept. */
        size_t from = files.n;
        if (collect(&files, argv[i], 0) != 0)
            bad = 1;
        qsort(files.v + from, files.n - from, sizeof(*files.v), cmp_str);
    }
    if (paths == 0) {
        fprintf(stderr, "usage: %s PATH... (files or corpus directories)\n",
                argv[0]);
        return 2;
    }

    size_t ran = 0;
    for (size_t i = 0; i < files.n; i++) {
        uint8_t *data;
        size_t len;
        if (read_file(files.v[i], &data, &len) != 0) {
            bad = 1;
            continue;
        }
        LLVMFuzzerTestOneInput(data, len);
        free(data);
        ran++;
    }
    for (size_t i = 0; i < files.n; i++)
        free(files.v[i]);
    free(files.v);
    printf("replay: %s: %zu inputs ran%s\n", argv[0], ran,
           bad ? ", some paths failed" : "");
    return bad ? 1 : 0;
}
