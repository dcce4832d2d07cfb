/*
 * The planner's verdicts in one process (not run by ctest): every layer of a shapes file planned in
 * the four directions (forward, input gradient with a prepared filter, filter gradient, input
 * gradient of a plain call, in the order `bench --backward` asks them) with the measured cost
 * model, as the JNI library sets it up, and nothing timed besides what planning itself measures.
 * Prints one row per layer: the route of each direction and the wall time of each first plan (the
 * sgemm shapes its estimates time and its trials), then the layer's four first plans in thread CPU
 * time (a busy machine's wall time is mostly other processes), split into timing sgemm shapes,
 * the trials' buffers and the trials' runs of the routes. Run it in several processes and compare the
 * rows to find the layer-directions whose route differs between processes:
 *   plan_probe SHAPES.csv [--why]
 * SHAPES.csv has the columns of ../shared/bench/shapes.csv (name,N,H,W,Cin,KH,KW,Cout,stride,padding
 * [,groups]); --why prints the planner's reasoning under each row.
 */
#include <stdio.h>
#include <string.h>

#include "../src/internal.h"
#include "../test/testlib.h"

static const int DIRECTIONS[4] = {C4J_DIR_FORWARD, C4J_DIR_INPUT_GRADIENT_PREPARED, C4J_DIR_FILTER_GRADIENT,
                                  C4J_DIR_INPUT_GRADIENT};
static const char *DIRECTION_NAMES[4] = {"fwd", "dx_prepared", "dw", "dx"};

static const char *route_name(int direction, int id) {
    for (int i = 0; i < c4j_conv2d_routes(direction); i++) {
        int rid;
        const char *name;
        c4j_conv2d_route_info(direction, i, &rid, NULL, &name);
        if (rid == id) return name;
    }
    return "?";
}

/* TF's rule: SAME pads (out - 1) * s + k - in in total, the smaller half first */
static void padding(int64_t in, int64_t k, int64_t s, int same, int64_t *out, int64_t *before, int64_t *after) {
    *out = same ? c4j_ceil_div(in, s) : (in - k) / s + 1;
    const int64_t total = same ? C4J_MAX(0, (*out - 1) * s + k - in) : 0;
    *before = total / 2, *after = total - total / 2;
}

int main(int argc, char **argv) {
    const char *csv = NULL;
    int why = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--why") == 0) why = 1;
        else if (argv[i][0] != '-') csv = argv[i];
    }
    FILE *fp = csv != NULL ? fopen(csv, "r") : NULL;
    if (fp == NULL) {
        fprintf(stderr, "usage: %s SHAPES.csv [--why]\n", argv[0]);
        return 2;
    }
    c4j_cost_measure_with(t_blas());
    printf("layer");
    for (int k = 0; k < 4; k++) printf(",%s,%s_ms", DIRECTION_NAMES[k], DIRECTION_NAMES[k]);
    printf(",cpu_ms,sgemm_ms,trial_setup_ms,trial_runs_ms\n");
    char line[512];
    static char text[16384];
    while (fgets(line, sizeof line, fp) != NULL) {
        char name[64], pad[16];
        long long v[9] = {0};
        v[8] = 1;
        const int got = sscanf(line, "%63[^,],%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%15[^,\n],%lld", name, &v[0], &v[1],
                               &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], pad, &v[8]);
        if (got < 10 || strcmp(name, "name") == 0) continue;
        const int same = strncmp(pad, "SAME", 4) == 0;
        int64_t oh, ow, pt, pb, pl, pr;
        padding(v[1], v[4], v[7], same, &oh, &pt, &pb);
        padding(v[2], v[5], v[7], same, &ow, &pl, &pr);
        c4j_conv2d_desc d;
        t_dense_desc(&d, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[8] > 0 ? v[8] : 1, v[7], v[7], 1, 1, pt, pb, pl, pr);
        printf("%s", name);
        double setup0, runs0, setup1, runs1;
        const double sgemm0 = c4j_cost_sgemm_spent(), cpu0 = c4j_thread_seconds();
        c4j_cost_trial_spent(&setup0, &runs0);
        for (int k = 0; k < 4; k++) {
            const double t0 = t_now();
            const int route = c4j_conv2d_plan(&d, DIRECTIONS[k], 0, why ? text : NULL, sizeof text);
            printf(",%s,%.1f", route < 0 ? "-" : route_name(DIRECTIONS[k], route), (t_now() - t0) * 1e3);
            if (why) fprintf(stderr, "# %s %s: %s\n", name, DIRECTION_NAMES[k], text);
        }
        const double cpu = c4j_thread_seconds() - cpu0;
        c4j_cost_trial_spent(&setup1, &runs1);
        printf(",%.1f,%.1f,%.1f,%.1f\n", cpu * 1e3, (c4j_cost_sgemm_spent() - sgemm0) * 1e3, (setup1 - setup0) * 1e3,
               (runs1 - runs0) * 1e3);
        fflush(stdout);
    }
    fclose(fp);
    return 0;
}
