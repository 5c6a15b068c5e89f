/*
 * Lock structs of Linux 7.2 (x86_64, no lock debugging, CONFIG_DETECT_HUNG_TASK_BLOCKER), re-typed
 * from the layout the 7.2.13 headers define, for tests/unit/locks/legacy_layouts_test.cpp: built
 * with -g -O0, its DWARF stands in for a 7.2 vmlinux's.
 *
 *   mutex, rw_semaphore, semaphore: no wait_list; `first_waiter` points at the first waiter
 *   record, and the records' `list` links form a ring without a head node.
 */
#include <stdbool.h>
#include <string.h>

typedef struct {
    int counter;
} atomic_t;
typedef struct {
    long counter;
} atomic64_t;
typedef atomic64_t atomic_long_t;

struct list_head {
    struct list_head *next, *prev;
};

/* x86 queued spinlock */
typedef struct qspinlock {
    union {
        atomic_t val;
        struct {
            unsigned char locked;
            unsigned char pending;
        };
        struct {
            unsigned short locked_pending;
            unsigned short tail;
        };
    };
} arch_spinlock_t;
typedef struct raw_spinlock {
    arch_spinlock_t raw_lock;
} raw_spinlock_t;
typedef struct spinlock {
    union {
        struct raw_spinlock rlock;
    };
} spinlock_t;

struct optimistic_spin_queue {
    atomic_t tail;
};

struct task_struct {
    struct {
        unsigned int flags;
        unsigned int status;
    } thread_info;
    volatile long state;
    void* stack;
    int pid, tgid;
    char comm[16];
};

/* include/linux/rwsem.h (CONFIG_RWSEM_SPIN_ON_OWNER) */
struct rw_semaphore {
    atomic_long_t count;
    atomic_long_t owner;
    struct optimistic_spin_queue osq;
    raw_spinlock_t wait_lock;
    struct rwsem_waiter* first_waiter;
};

/* kernel/locking/rwsem.c */
enum rwsem_waiter_type { RWSEM_WAITING_FOR_WRITE, RWSEM_WAITING_FOR_READ };

struct rwsem_waiter {
    struct list_head list;
    struct task_struct* task;
    enum rwsem_waiter_type type;
    unsigned long timeout;
    bool handoff_set;
};

/* include/linux/mutex_types.h (CONFIG_MUTEX_SPIN_ON_OWNER) */
struct mutex_waiter;
struct mutex {
    atomic_long_t owner;
    raw_spinlock_t wait_lock;
    struct optimistic_spin_queue osq;
    struct mutex_waiter* first_waiter;
};

struct ww_acquire_ctx;

struct mutex_waiter {
    struct list_head list;
    struct task_struct* task;
    struct ww_acquire_ctx* ww_ctx;
};

/* include/linux/semaphore.h, kernel/locking/semaphore.c */
struct semaphore_waiter;
struct semaphore {
    raw_spinlock_t lock;
    unsigned int count;
    struct semaphore_waiter* first_waiter;
    unsigned long last_holder;
};

struct semaphore_waiter {
    struct list_head list;
    struct task_struct* task;
    bool up;
};

int main(void) {
    struct rw_semaphore rwsem;
    struct rwsem_waiter rwsem_waiter;
    struct mutex mutex;
    struct mutex_waiter mutex_waiter;
    struct semaphore semaphore;
    struct semaphore_waiter semaphore_waiter;
    struct task_struct task;
    memset(&rwsem, 0, sizeof rwsem);
    memset(&rwsem_waiter, 0, sizeof rwsem_waiter);
    memset(&mutex, 0, sizeof mutex);
    memset(&mutex_waiter, 0, sizeof mutex_waiter);
    memset(&semaphore, 0, sizeof semaphore);
    memset(&semaphore_waiter, 0, sizeof semaphore_waiter);
    memset(&task, 0, sizeof task);
    rwsem_waiter.type = RWSEM_WAITING_FOR_READ;
    return (int)(rwsem.count.counter + mutex.owner.counter + (long)semaphore.count +
                 (long)rwsem_waiter.type - 1 + task.pid + (mutex_waiter.task != 0) +
                 semaphore_waiter.up + (mutex.first_waiter != 0) + (rwsem.first_waiter != 0) +
                 (semaphore.first_waiter != 0) + (long)semaphore.last_holder);
}
