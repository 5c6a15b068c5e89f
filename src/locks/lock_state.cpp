#include "locks/lock_state.h"

namespace lockhound::locks {

const char* to_string(LockKind k) {
    switch (k) {
        case LockKind::kMutex:
            return "mutex";
        case LockKind::kRwSemaphore:
            return "rw_semaphore";
        case LockKind::kSemaphore:
            return "semaphore";
        case LockKind::kRtMutex:
            return "rt_mutex";
        case LockKind::kPercpuRwSemaphore:
            return "percpu_rw_semaphore";
        case LockKind::kOther:
            return "other";
    }
    return "other";
}

const char* to_string(Mode m) {
    switch (m) {
        case Mode::kExclusive:
            return "exclusive";
        case Mode::kRead:
            return "read";
        case Mode::kWrite:
            return "write";
    }
    return "exclusive";
}

const char* to_string(Confidence c) {
    switch (c) {
        case Confidence::kCertain:
            return "certain";
        case Confidence::kLikely:
            return "likely";
        case Confidence::kPossible:
            return "possible";
    }
    return "possible";
}

}  // namespace lockhound::locks
