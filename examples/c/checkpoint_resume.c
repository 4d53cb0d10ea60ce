/*
 * Checkpoint and resume through the blockgibbs C API.
 *
 * A 16 x 16 Ising film whose boundary is held at +1 runs for 120 sweeps, its coupling
 * changed half-way. A second run of the same film stops at sweep 80, saves a checkpoint,
 * frees its sampler, and a new sampler resumed from the file on the other backend and
 * another thread count finishes the run. Its final states must equal the uninterrupted
 * run's bit for bit (the program exits with 1 if they do not). It ends by resuming from a
 * truncated copy of the checkpoint, to show the error a damaged file gives.
 *
 *   usage: checkpoint_resume CHECKPOINT_FILE [auto|reference|jit]
 *   build: see the Makefile beside this file
 */
#include <blockgibbs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define L 16
#define N (L * L)
#define CHAINS 8
#define SWEEPS 120
#define CUT 80

/* Every call is checked: on failure, print the status and the library's message. */
#define CHECK(call)                                                                  \
    do {                                                                             \
        int status_ = (call);                                                        \
        if (status_ != BG_OK) {                                                      \
            fprintf(stderr, "%s failed: %s: %s\n", #call, bg_status_name(status_),   \
                    bg_last_error_message());                                        \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

static uint32_t pair_a[2 * L * (L - 1)], pair_b[2 * L * (L - 1)];
static float couplings[2 * L * (L - 1)];
static uint32_t ring[4 * L];
static size_t n_ring;

/* The film: one group of spins, one factor "J" of every neighbour pair (open edges). */
static bg_model *film(void) {
    bg_builder *builder = NULL;
    uint32_t first = 0;
    CHECK(bg_builder_new(&builder));
    CHECK(bg_builder_add_group(builder, "s", BG_KIND_SPIN, 0, N, &first));
    size_t pairs = 0;
    for (int y = 0; y < L; y++)
        for (int x = 0; x < L; x++) {
            uint32_t s = first + (uint32_t)(y * L + x);
            if (x + 1 < L) { pair_a[pairs] = s; pair_b[pairs] = s + 1; couplings[pairs++] = 1.0f; }
            if (y + 1 < L) { pair_a[pairs] = s; pair_b[pairs] = s + L; couplings[pairs++] = 1.0f; }
            if (x == 0 || y == 0 || x == L - 1 || y == L - 1) ring[n_ring++] = s;
        }
    const uint32_t *roles[2] = {pair_a, pair_b};
    bg_factor_spec spec = {
        .name = "J", .instances = pairs, .product_roles = roles, .n_product = 2,
        .weights = couplings, .n_weights = pairs,
    };
    uint32_t j = 0;
    CHECK(bg_builder_add_factor(builder, &spec, &j));
    bg_model *model = NULL;
    CHECK(bg_builder_build(builder, &model));
    CHECK(bg_builder_free(builder));
    return model;
}

/* A sampler of the film at β = 0.5 with its boundary held at +1 in every chain. */
static bg_sampler *start(bg_model *model, int backend, size_t threads) {
    bg_sampler *sampler = NULL;
    CHECK(bg_sampler_new(model, backend, CHAINS, threads, 42, &sampler));
    CHECK(bg_sampler_set_beta(sampler, BG_ALL_CHAINS, 0.5f));
    float plus[4 * L];
    for (size_t i = 0; i < n_ring; i++) plus[i] = 1.0f;
    CHECK(bg_sampler_clamp(sampler, ring, plus, n_ring, BG_ALL_CHAINS));
    return sampler;
}

/* Sweeps from `from` to `to`, weakening the coupling to 0.8 at sweep SWEEPS / 2. */
static void run(bg_sampler *sampler, unsigned from, unsigned to) {
    const unsigned change = SWEEPS / 2;
    if (from < change && to >= change) {
        CHECK(bg_sampler_step(sampler, change - from));
        uint32_t j = 0;
        size_t n = 0;
        CHECK(bg_sampler_factor_index(sampler, "J", &j));
        CHECK(bg_sampler_weight_count(sampler, j, &n));
        float *w = malloc(n * sizeof *w);
        if (!w) exit(1);
        for (size_t i = 0; i < n; i++) w[i] = 0.8f;
        CHECK(bg_sampler_set_weights(sampler, j, w, n));
        free(w);
        from = change;
    }
    CHECK(bg_sampler_step(sampler, to - from));
}

/* Writes the first half of file `from` to file `to`: a checkpoint cut short. */
static void truncate_copy(const char *from, const char *to) {
    FILE *in = fopen(from, "rb");
    if (!in) exit(1);
    fseek(in, 0, SEEK_END);
    long size = ftell(in);
    rewind(in);
    char *bytes = malloc((size_t)size);
    if (!bytes || fread(bytes, 1, (size_t)size, in) != (size_t)size) exit(1);
    fclose(in);
    FILE *out = fopen(to, "wb");
    if (!out || fwrite(bytes, 1, (size_t)size / 2, out) != (size_t)size / 2) exit(1);
    fclose(out);
    free(bytes);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s CHECKPOINT_FILE [auto|reference|jit]\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    int backend = BG_BACKEND_AUTO;
    if (argc > 2) backend = !strcmp(argv[2], "reference") ? BG_BACKEND_REFERENCE
                          : !strcmp(argv[2], "jit")       ? BG_BACKEND_JIT
                                                          : BG_BACKEND_AUTO;
    bg_model *model = film();

    /* The uninterrupted run. */
    static float whole[CHAINS * N], resumed[CHAINS * N];
    bg_sampler *sampler = start(model, backend, 2);
    run(sampler, 0, SWEEPS);
    CHECK(bg_sampler_read_states(sampler, whole, CHAINS * N));
    CHECK(bg_sampler_free(sampler));

    /* The same run, cut at sweep CUT and saved. */
    sampler = start(model, backend, 2);
    CHECK(bg_model_free(model));
    run(sampler, 0, CUT);
    CHECK(bg_sampler_checkpoint(sampler, path));
    int first = 0;
    CHECK(bg_sampler_backend(sampler, &first));
    CHECK(bg_sampler_free(sampler));

    /* Resumed on the other backend, with one thread. */
    int other = first == BG_BACKEND_JIT ? BG_BACKEND_REFERENCE : BG_BACKEND_JIT;
    CHECK(bg_sampler_resume(path, other, 1, &sampler));
    uint64_t done = 0;
    int running = 0;
    CHECK(bg_sampler_sweeps_done(sampler, &done));
    CHECK(bg_sampler_backend(sampler, &running));
    run(sampler, (unsigned)done, SWEEPS);
    CHECK(bg_sampler_read_states(sampler, resumed, CHAINS * N));
    CHECK(bg_sampler_free(sampler));
    int same = memcmp(whole, resumed, sizeof whole) == 0;
    printf("cut at sweep %llu on %s, resumed on %s with 1 thread: final states %s\n",
           (unsigned long long)done, first == BG_BACKEND_JIT ? "jit" : "reference",
           running == BG_BACKEND_JIT ? "jit" : "reference",
           same ? "equal the uninterrupted run's" : "DIFFER from the uninterrupted run's");

    /* A damaged file: the status says so, and no sampler is made. */
    size_t len = strlen(path);
    char *cut = malloc(len + sizeof ".truncated");
    if (!cut) exit(1);
    memcpy(cut, path, len);
    memcpy(cut + len, ".truncated", sizeof ".truncated");
    truncate_copy(path, cut);
    bg_sampler *none = NULL;
    int status = bg_sampler_resume(cut, BG_BACKEND_AUTO, 1, &none);
    printf("expected error: %s: %s\n", bg_status_name(status), bg_last_error_message());
    remove(cut);
    free(cut);
    if (none != NULL) return 1;

    printf("live handles: %zu\n", bg_live_handles());
    return same ? 0 : 1;
}
