// The CBLAS interface of the system OpenBLAS, plus the OpenBLAS extensions
// AttnLab uses to set and report threads and the selected kernel core.
#include <cblas.h>
