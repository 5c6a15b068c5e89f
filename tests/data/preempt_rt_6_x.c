/*
 * Lock structs of a PREEMPT_RT Linux 6.x kernel (6.6+, x86_64, no lock debugging), re-typed
 * from the layout the kernel defines, for tests/unit/locks/legacy_layouts_test.cpp: built with
 * -g -O0, its DWARF stands in for an RT vmlinux's.
 *
 *   mutex:        struct rt_mutex_base (include/linux/mutex_types.h, PREEMPT_RT)
 *   rw_semaphore: struct rwbase_rt { readers; rtmutex } (include/linux/rwbase_rt.h)
 *   waiters:      struct rt_mutex_waiter in the rt_mutex_base's rbtree, by `tree.entry`
 *                 (kernel/locking/rtmutex_common.h, rt_waiter_node since 6.6)
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

/* include/linux/rbtree_types.h */
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
    unsigned int __state;
    void* stack;
    int prio;
    int pid, tgid;
    char comm[16];
};

/* include/linux/rtmutex.h: owner bit 0 = RT_MUTEX_HAS_WAITERS */
struct rt_mutex_base {
    raw_spinlock_t wait_lock;
    struct rb_root_cached waiters;
    struct task_struct* owner;
};

struct rt_mutex {
    struct rt_mutex_base rtmutex;
};

/* include/linux/mutex_types.h, CONFIG_PREEMPT_RT */
struct mutex {
    struct rt_mutex_base rtmutex;
};

/* include/linux/rwbase_rt.h: READER_BIAS (1U << 31), WRITER_BIAS (1U << 30) */
struct rwbase_rt {
    atomic_t readers;
    struct rt_mutex_base rtmutex;
};

/* include/linux/rwsem.h, CONFIG_PREEMPT_RT */
struct rw_semaphore {
    struct rwbase_rt rwbase;
};

/* kernel/locking/rtmutex_common.h */
struct rt_waiter_node {
    struct rb_node entry;
    int prio;
    u64 deadline;
};

struct ww_acquire_ctx;

struct rt_mutex_waiter {
    struct rt_waiter_node tree;
    struct rt_waiter_node pi_tree;
    struct task_struct* task;
    struct rt_mutex_base* lock;
    unsigned int wake_state;
    struct ww_acquire_ctx* ww_ctx;
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
    struct rt_mutex rt_mutex;
    struct rw_semaphore rwsem;
    struct rt_mutex_waiter waiter;
    struct semaphore semaphore;
    struct semaphore_waiter semaphore_waiter;
    struct task_struct task;
    memset(&mutex, 0, sizeof mutex);
    memset(&rt_mutex, 0, sizeof rt_mutex);
    memset(&rwsem, 0, sizeof rwsem);
    memset(&waiter, 0, sizeof waiter);
    memset(&semaphore, 0, sizeof semaphore);
    memset(&semaphore_waiter, 0, sizeof semaphore_waiter);
    memset(&task, 0, sizeof task);
    return (int)((mutex.rtmutex.owner != 0) + (rt_mutex.rtmutex.owner != 0) +
                 rwsem.rwbase.readers.counter + waiter.tree.prio + (long)semaphore.count +
                 semaphore_waiter.up + task.pid);
}
