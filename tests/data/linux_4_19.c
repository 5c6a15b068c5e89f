/*
 * Lock structs of Linux 4.19 (x86_64, no lock debugging), re-typed from the layout the kernel
 * defines, for tests/unit/locks/legacy_layouts_test.cpp: built with -g -O0, its DWARF stands in
 * for a 4.19 vmlinux's.
 *
 *   rw_semaphore: xadd count biases, list_head wait_list, owner a task pointer
 *                 (RWSEM_READER_OWNED = 1), include/linux/rwsem.h
 *   mutex:        owner an atomic_long_t: task pointer | WAITERS/HANDOFF/PICKUP (4.10+)
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
    struct list_head wait_list;
    raw_spinlock_t wait_lock;
    struct optimistic_spin_queue osq;
    struct task_struct* owner;
};

/* kernel/locking/rwsem-xadd.c */
enum rwsem_waiter_type { RWSEM_WAITING_FOR_WRITE, RWSEM_WAITING_FOR_READ };

struct rwsem_waiter {
    struct list_head list;
    struct task_struct* task;
    enum rwsem_waiter_type type;
};

/* include/linux/mutex.h (CONFIG_MUTEX_SPIN_ON_OWNER) */
struct mutex {
    atomic_long_t owner;
    spinlock_t wait_lock;
    struct optimistic_spin_queue osq;
    struct list_head wait_list;
};

struct ww_acquire_ctx;

struct mutex_waiter {
    struct list_head list;
    struct task_struct* task;
    struct ww_acquire_ctx* ww_ctx;
};

/* include/linux/semaphore.h, kernel/locking/semaphore.c */
struct semaphore {
    raw_spinlock_t lock;
    unsigned int count;
    struct list_head wait_list;
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
                 semaphore_waiter.up);
}
