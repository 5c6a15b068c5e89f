/*
 * Lock structs of an out-of-tree PREEMPT_RT Linux 5.10 kernel (v5.10-rt, Debian 11's
 * linux-image-rt-amd64; x86_64, no lock debugging), re-typed from the layout the RT patch set
 * defines, for tests/unit/locks/legacy_layouts_test.cpp: built with -g -O0, its DWARF stands in
 * for a 5.10-rt vmlinux's.
 *
 *   mutex:        { struct rt_mutex lock; } (include/linux/mutex_rt.h)
 *   rw_semaphore: { atomic_t readers; struct rt_mutex rtmutex; } (include/linux/rwsem-rt.h)
 *   waiters:      struct rt_mutex_waiter in the rt_mutex's rbtree, by `tree_entry`
 *                 (kernel/locking/rtmutex_common.h)
 */
#include <stdbool.h>
#include <string.h>

typedef unsigned long long u64;

typedef struct {
    int counter;
} atomic_t;

struct list_head {
    struct list_head *next, *prev;
};

/* include/linux/rbtree.h */
struct rb_node {
    unsigned long __rb_parent_color;
    struct rb_node* rb_right;
    struct rb_node* rb_left;
} __attribute__((aligned(sizeof(long))));

struct rb_root {
    struct rb_node* rb_node;
};

struct rb_root_cached {
    struct rb_root rb_root;
    struct rb_node* rb_leftmost;
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

struct task_struct {
    struct {
        unsigned long flags;
        unsigned long syscall_work;
        unsigned int status;
        unsigned int cpu;
    } thread_info;
    long state;
    void* stack;
    int prio;
    int pid, tgid;
    char comm[16];
};

/* include/linux/rtmutex.h: owner bit 0 = RT_MUTEX_HAS_WAITERS */
struct rt_mutex {
    raw_spinlock_t wait_lock;
    struct rb_root_cached waiters;
    struct task_struct* owner;
    int save_state;
};

/* include/linux/mutex_rt.h */
struct mutex {
    struct rt_mutex lock;
};

/* include/linux/rwsem-rt.h: READER_BIAS (1U << 31), WRITER_BIAS (1U << 30) */
struct rw_semaphore {
    atomic_t readers;
    struct rt_mutex rtmutex;
};

/* kernel/locking/rtmutex_common.h */
struct rt_mutex_waiter {
    struct rb_node tree_entry;
    struct rb_node pi_tree_entry;
    struct task_struct* task;
    struct rt_mutex* lock;
    bool savestate;
    int prio;
    u64 deadline;
};

/* include/linux/semaphore.h, kernel/locking/semaphore.c (unchanged by PREEMPT_RT) */
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
    struct mutex mutex;
    struct rw_semaphore rwsem;
    struct rt_mutex_waiter waiter;
    struct semaphore semaphore;
    struct semaphore_waiter semaphore_waiter;
    struct task_struct task;
    memset(&mutex, 0, sizeof mutex);
    memset(&rwsem, 0, sizeof rwsem);
    memset(&waiter, 0, sizeof waiter);
    memset(&semaphore, 0, sizeof semaphore);
    memset(&semaphore_waiter, 0, sizeof semaphore_waiter);
    memset(&task, 0, sizeof task);
    return (int)((mutex.lock.owner != 0) + rwsem.readers.counter + waiter.prio +
                 (long)semaphore.count + semaphore_waiter.up + task.pid);
}
