/*
 * A 2-D Ising film driven through its boundary, built and steered through the blockgibbs
 * C API.
 *
 * The film is L x L spins with nearest-neighbour couplings J (open edges). Its boundary
 * ring is clamped at run time to follow an external field that this loop turns from +1 to
 * -1 and back; in between, the coupling is weakened (set_weights) so that the film melts.
 * After each phase the program prints the mean magnetisation of the interior spins over
 * the second half of the phase and every chain. It ends with two deliberate errors, to
 * show what a caller sees.
 *
 *   usage: ising_film [SWEEPS_PER_PHASE [auto|reference|jit]]
 *   build: see the Makefile beside this file
 */
#include <blockgibbs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define L 32
#define N (L * L)
#define CHAINS 8

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

static int is_boundary(int x, int y) { return x == 0 || y == 0 || x == L - 1 || y == L - 1; }

/* Clamps every boundary spin to `field` in every chain. */
static void set_boundary(bg_sampler *sampler, const uint32_t *ring, size_t n_ring, float field) {
    float values[4 * L];
    for (size_t i = 0; i < n_ring; i++) values[i] = field;
    CHECK(bg_sampler_clamp(sampler, ring, values, n_ring, BG_ALL_CHAINS));
}

/* Sets every coupling of factor `j` to `value`. */
static void set_coupling(bg_sampler *sampler, uint32_t j, float value) {
    size_t n = 0;
    CHECK(bg_sampler_weight_count(sampler, j, &n));
    float *w = malloc(n * sizeof *w);
    if (!w) exit(1);
    for (size_t i = 0; i < n; i++) w[i] = value;
    CHECK(bg_sampler_set_weights(sampler, j, w, n));
    free(w);
}

/* Runs one phase and returns the interior magnetisation over its second half. */
static double phase(bg_sampler *sampler, bg_moments *moments, unsigned long sweeps) {
    double means[N];
    double m = 0.0;
    int interior = 0;
    CHECK(bg_sampler_step(sampler, sweeps / 2));
    CHECK(bg_moments_reset(moments));
    CHECK(bg_sampler_run(sampler, moments, sweeps - sweeps / 2, 1));
    CHECK(bg_moments_means(moments, means, N));
    for (int y = 0; y < L; y++)
        for (int x = 0; x < L; x++)
            if (!is_boundary(x, y)) {
                m += means[y * L + x];
                interior++;
            }
    return m / interior;
}

int main(int argc, char **argv) {
    unsigned long sweeps = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
    int backend = BG_BACKEND_AUTO;
    if (argc > 2) backend = !strcmp(argv[2], "reference") ? BG_BACKEND_REFERENCE
                          : !strcmp(argv[2], "jit")       ? BG_BACKEND_JIT
                                                          : BG_BACKEND_AUTO;
    printf("blockgibbs %s\n", bg_version());

    /* The model, from arrays: one group of spins, one factor of every neighbour pair. */
    bg_builder *builder = NULL;
    uint32_t first = 0;
    CHECK(bg_builder_new(&builder));
    CHECK(bg_builder_add_group(builder, "s", BG_KIND_SPIN, 0, N, &first));
    static uint32_t a[2 * L * (L - 1)], b[2 * L * (L - 1)];
    static float j[2 * L * (L - 1)];
    size_t pairs = 0;
    for (int y = 0; y < L; y++)
        for (int x = 0; x < L; x++) {
            uint32_t s = first + (uint32_t)(y * L + x);
            if (x + 1 < L) { a[pairs] = s; b[pairs] = s + 1; j[pairs++] = 1.0f; }
            if (y + 1 < L) { a[pairs] = s; b[pairs] = s + L; j[pairs++] = 1.0f; }
        }
    const uint32_t *roles[2] = {a, b};
    bg_factor_spec coupling = {
        .name = "J", .instances = pairs, .product_roles = roles, .n_product = 2,
        .weights = j, .n_weights = pairs,
    };
    uint32_t j_index = 0;
    CHECK(bg_builder_add_factor(builder, &coupling, &j_index));
    bg_model *model = NULL;
    CHECK(bg_builder_build(builder, &model));
    CHECK(bg_builder_free(builder));

    /* The sampler; the model can go once the sampler holds it. */
    bg_sampler *sampler = NULL;
    CHECK(bg_sampler_new(model, backend, CHAINS, 2, 42, &sampler));
    CHECK(bg_model_free(model));
    int running = 0;
    CHECK(bg_sampler_backend(sampler, &running));
    printf("backend: %s\n", running == BG_BACKEND_JIT ? "jit" : "reference");
    CHECK(bg_sampler_set_beta(sampler, BG_ALL_CHAINS, 0.6f)); /* T = 1.67 < Tc = 2.27 */
    uint32_t found = 99;
    CHECK(bg_sampler_factor_index(sampler, "J", &found));
    if (found != j_index) return 1;

    uint32_t ring[4 * L];
    size_t n_ring = 0;
    for (int y = 0; y < L; y++)
        for (int x = 0; x < L; x++)
            if (is_boundary(x, y)) ring[n_ring++] = first + (uint32_t)(y * L + x);

    bg_moments *moments = NULL;
    CHECK(bg_moments_new(sampler, &moments));
    struct { float field, coupling; } phases[] = {{+1, 1.0f}, {-1, 1.0f}, {-1, 0.1f}, {+1, 1.0f}};
    for (int p = 0; p < 4; p++) {
        set_boundary(sampler, ring, n_ring, phases[p].field);
        set_coupling(sampler, j_index, phases[p].coupling);
        double m = phase(sampler, moments, sweeps);
        double energy = 0.0;
        CHECK(bg_sampler_energy(sampler, 0, &energy));
        printf("phase %d: boundary %+.0f, J = %.2f, interior magnetisation = %+.3f, "
               "energy of chain 0 = %.1f\n",
               p + 1, phases[p].field, phases[p].coupling, m, energy);
    }

    /* Deliberate errors: a spin clamped at 0.5, and a handle freed twice. */
    float half = 0.5f;
    int status = bg_sampler_clamp(sampler, ring, &half, 1, BG_ALL_CHAINS);
    printf("expected error: %s: %s\n", bg_status_name(status), bg_last_error_message());
    CHECK(bg_moments_free(moments));
    status = bg_moments_free(moments);
    printf("expected error: %s: %s\n", bg_status_name(status), bg_last_error_message());

    CHECK(bg_sampler_free(sampler));
    printf("live handles: %zu\n", bg_live_handles());
    return 0;
}
