/* The (M, K, N) grid on which sgemm speed is measured for the cost model (see cost.c). */
#ifndef CONV4J_COST_GRID_H
#define CONV4J_COST_GRID_H

enum { C4J_GRID_NM = 9, C4J_GRID_NK = 10, C4J_GRID_NN = 8 };
static const int C4J_GRID_M[C4J_GRID_NM] = {4, 8, 16, 49, 64, 128, 256, 784, 3136};
static const int C4J_GRID_K[C4J_GRID_NK] = {4, 16, 36, 75, 147, 256, 576, 1152, 2304, 4608};
static const int C4J_GRID_N[C4J_GRID_NN] = {8, 16, 32, 64, 128, 256, 512, 1024};

#endif
