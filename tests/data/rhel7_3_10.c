/*
 * Lock structs of a RHEL 7 kernel (3.10.0-*, x86_64, no lock debugging), re-typed from the
 * layout the kernel defines, for tests/unit/locks/legacy_layouts_test.cpp: built with -g -O0,
 * its DWARF stands in for a RHEL 7 vmlinux's.
 *
 *   rw_semaphore: count biases (kABI union of `long count` and `atomic_long_t count`),
 *                 osq, wait_list an `slist_head` (RWSEM_SPIN_ON_OWNER), owner task pointer
 *   mutex:        pre-4.10 `atomic_t count` (1 free, 0 locked, <0 waiters) + plain owner
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

/* include/linux/rwsem.h (RHEL 7): one pointer to the first waiter's list_head; the waiters
 * form a ring that does not include the head. Empty: next == &head. */
struct slist_head {
    struct list_head* next;
};

/* x86 ticket spinlock, NR_CPUS >= 128 */
typedef unsigned short __ticket_t;
typedef unsigned int __ticketpair_t;
typedef struct arch_spinlock {
    union {
        __ticketpair_t head_tail;
        struct __raw_tickets {
            __ticket_t head, tail;
        } tickets;
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
    volatile long state;
    void* stack;
    atomic_t usage;
    unsigned int flags;
    int pid, tgid;
    char comm[16];
};

/* RH_KABI_REPLACE(long count, atomic_long_t count) */
struct rw_semaphore {
    union {
        atomic_long_t count;
        struct {
            long count;
        } __UNIQUE_ID_rh_kabi_hide1;
    };
    raw_spinlock_t wait_lock;
    struct optimistic_spin_queue osq;
    struct slist_head wait_list;
    struct task_struct* owner;
};

/* kernel/locking/rwsem-xadd.c */
enum rwsem_waiter_type { RWSEM_WAITING_FOR_WRITE, RWSEM_WAITING_FOR_READ };

struct rwsem_waiter {
    struct list_head list;
    struct task_struct* task;
    enum rwsem_waiter_type type;
};

/* include/linux/mutex.h. The spinner slot after owner keeps 3.10's kABI size; the model reads
 * only count, wait_list and owner. */
struct mutex {
    atomic_t count;
    spinlock_t wait_lock;
    struct list_head wait_list;
    struct task_struct* owner;
    union {
        struct optimistic_spin_queue osq;
        struct {
            void* spin_mlock;
        } __UNIQUE_ID_rh_kabi_hide2;
    };
};

struct mutex_waiter {
    struct list_head list;
    struct task_struct* task;
};

/* include/linux/semaphore.h, kernel/semaphore.c */
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
    return (int)(rwsem.count.counter + mutex.count.counter + (long)semaphore.count +
                 (long)rwsem_waiter.type - 1 + task.pid + (mutex_waiter.task != 0) +
                 semaphore_waiter.up);
}
