#include "net/training_run.h"

namespace lj {

int64_t StepsPerEpoch(int64_t dataset_size, int64_t batch_size) {
  if (batch_size <= 0 || dataset_size <= 0) return 0;
  // ceil without dataset_size + batch_size - 1, which overflows near INT64_MAX.
  return dataset_size / batch_size + (dataset_size % batch_size != 0 ? 1 : 0);
}

}  // namespace lj
