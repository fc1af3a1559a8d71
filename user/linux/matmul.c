/* matmul [N] [SEED]: C = A x B for N x N matrices of doubles, twice: the
 * naive i-j-k loop, whose inner loop walks B down a column (a stride of
 * N * 8 bytes, so a new cache line, and for large N a new page, on every
 * step), and a blocked loop that works on BLOCK x BLOCK tiles so each tile
 * of B is reused while it is still cached. Same arithmetic, different
 * locality: the classic lesson.
 *
 * The entries are small integers, so every sum is exact in a double and
 * both products must be equal bit for bit. */
#include "wl.h"

#define BLOCK 32

static double *matrix(size_t n)
{
	double *m = malloc(n * n * sizeof *m);
	if (!m)
		wl_die("matmul", "malloc");
	return m;
}

static void naive(size_t n, const double *a, const double *b, double *c)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			double s = 0;
			for (size_t k = 0; k < n; k++)
				s += a[i * n + k] * b[k * n + j];
			c[i * n + j] = s;
		}
}

static void blocked(size_t n, const double *a, const double *b, double *c)
{
	memset(c, 0, n * n * sizeof *c);
	for (size_t ii = 0; ii < n; ii += BLOCK)
		for (size_t kk = 0; kk < n; kk += BLOCK)
			for (size_t jj = 0; jj < n; jj += BLOCK) {
				size_t ie = ii + BLOCK < n ? ii + BLOCK : n;
				size_t ke = kk + BLOCK < n ? kk + BLOCK : n;
				size_t je = jj + BLOCK < n ? jj + BLOCK : n;
				for (size_t i = ii; i < ie; i++)
					for (size_t k = kk; k < ke; k++) {
						double x = a[i * n + k];
						for (size_t j = jj; j < je; j++)
							c[i * n + j] += x * b[k * n + j];
					}
			}
}

static uint64_t checksum(size_t n, const double *c)
{
	uint64_t h = WL_FNV;
	for (size_t i = 0; i < n * n; i++) {
		uint64_t v = (uint64_t)c[i];
		h = wl_fnv(h, &v, sizeof v);
	}
	return h;
}

int main(int argc, char **argv)
{
	const char *usage = "matmul [N] [SEED]";
	size_t n = wl_arg(argc, argv, 1, 200, 1, 4096, usage);
	wl_seed(wl_arg(argc, argv, 2, 1, 0, UINT64_MAX, usage));
	double *a = matrix(n), *b = matrix(n), *c1 = matrix(n), *c2 = matrix(n);
	for (size_t i = 0; i < n * n; i++) {
		a[i] = (double)wl_below(16);
		b[i] = (double)wl_below(16);
	}
	naive(n, a, b, c1);
	blocked(n, a, b, c2);
	if (memcmp(c1, c2, n * n * sizeof *c1) != 0)
		wl_fail("matmul", "naive and blocked products differ");
	double trace = 0;
	for (size_t i = 0; i < n; i++)
		trace += c1[i * n + i];
	printf("matmul: n=%zu block=%d trace=%.0f sum=%016llx\n", n, BLOCK, trace,
	       (unsigned long long)checksum(n, c1));
	free(a);
	free(b);
	free(c1);
	free(c2);
	return 0;
}
