// SPDX-License-Identifier: GPL-2.0
/*
 * lhsample.ko - builds small, known lock hang-ups inside a live kernel so
 * that lockhound's sample crash dumps have an exact ground truth.
 *
 * Part of lockhound (sample_dumps/). Builds against every Debian kernel
 * from 5.10 to 7.x, generic and PREEMPT_RT:
 *   - 5.10-5.14: mutex.wait_lock is a spinlock_t (raw later);
 *   - 7.x: mutex, rw_semaphore and semaphore have no wait_list but a
 *     first_waiter pointer into a circular list without a head node (the
 *     generator passes -DLHS_<KIND>_FIRST_WAITER after reading the headers);
 *   - PREEMPT_RT: mutex and rw_semaphore are rt_mutex based (waiters in an
 *     rbtree). Their waiters are not walked: the truth is the set of tasks that
 *     announced the call and never returned (each verified asleep in D), and
 *     the report says "order=set". struct semaphore is not RT-converted.
 *
 * Load with scenario=NAME[,NAME...] (several disjoint scenarios in one boot):
 *
 *   mmap-pileup  Registers /dev/lhsample. Mapping it and touching the page
 *                calls slowdev_fault(), which never returns: it sleeps in
 *                io_schedule() (TASK_UNINTERRUPTIBLE) while the page-fault
 *                path holds current->mm->mmap_lock for read. The userspace
 *                part (mapuser) and the readers are started by the guest init.
 *   mixed-cycle  Deadlock cycle across lock types:
 *                  cfg_commit   holds cfg_mutex,           waits table_rwsem (write)
 *                  table_scan   holds table_rwsem (read),  waits cfg_mutex
 *                  stats_reader waits table_rwsem (read), queued behind cfg_commit
 *                  cfg_poll     waits cfg_mutex, queued behind table_scan
 *   sem-chain    Chain through a counting semaphore (no owner field):
 *                  dev_reset    holds dev_mutex and sleeps forever in io_schedule()
 *                  fw_loader    holds fw_sem (down()), waits dev_mutex
 *                  fw_request1/2 wait fw_sem
 *   abba         Mutex AB-BA deadlock:
 *                  abba_first   holds abba_mutex_a, waits abba_mutex_b
 *                  abba_second  holds abba_mutex_b, waits abba_mutex_a
 *                  abba_late    waits abba_mutex_a, queued behind abba_second
 *   rwsem-readers Read-held rwsem with a queued writer:
 *                  rd_hold1/2   hold rd_rwsem for read, sleep in io_schedule()
 *                  rd_writer    waits rd_rwsem (write)
 *                  rd_late1/2   wait rd_rwsem (read), queued behind the writer
 *
 * Every fact goes to the kernel log with real (%px) addresses, one line each,
 * all starting with "lhs: ":
 *
 *   lhs: LOCK name=N type=mutex|rwsem|semaphore addr=A scen=S
 *   lhs: WANT pid= tgid= comm= task= lock=N mode=excl|read|write   (before the call)
 *   lhs: GOT  pid= tgid= comm= task= lock=N mode=...               (after it returned)
 *   lhs: STUCK pid= tgid= comm= task= how=io_schedule where=FUNC   (deliberate hang)
 *   lhs: QUEUE lock=N pos=I pid= tgid= comm= task= mode=...        (wait-list walk)
 *   lhs: QUEUE-END lock=N waiters=K order=queue|set   (set: RT, not walked)
 *   lhs: RAW lock=N ...                                             (raw lock words)
 *   lhs: SETUP-DONE / SETUP-FAILED why=...
 *
 * Writing "report" to /dev/lhsample walks the real wait lists of all
 * registered locks under their wait_lock, in kernel queue order.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/semaphore.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <linux/string.h>
#include <linux/version.h>

#ifdef CONFIG_PREEMPT_RT
#define LHS_RT 1	/* mutex / rw_semaphore are rt_mutex based */
#else
#define LHS_RT 0
#endif

static char *scenario = "mixed-cycle";
module_param(scenario, charp, 0444);
MODULE_PARM_DESC(scenario, "comma list of mmap-pileup, mixed-cycle, sem-chain, abba, rwsem-readers");

/* is NAME one of the comma-separated words of scenario= ? */
static bool want_scenario(const char *name)
{
	const char *p = scenario;
	size_t n = strlen(name);

	while (p && *p) {
		if (!strncmp(p, name, n) && (p[n] == ',' || p[n] == '\0'))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

static int setup_timeout_ms = 20000;
module_param(setup_timeout_ms, int, 0444);
MODULE_PARM_DESC(setup_timeout_ms, "max time to wait for each setup step");

enum lhs_kind { K_MUTEX, K_RWSEM, K_SEM };
enum lhs_mode { M_EXCL, M_READ, M_WRITE };
static const char *const kind_str[] = { "mutex", "rwsem", "semaphore" };
static const char *const mode_str[] = { "excl", "read", "write" };

struct lhs_lock {
	const char *name;
	const char *scen;
	enum lhs_kind kind;
	void *obj;
};

#define LHS_MAXLOCKS 16
static struct lhs_lock reg[LHS_MAXLOCKS];
static int nreg;
static DEFINE_SPINLOCK(reg_lock);

/* the lock objects of the kthread scenarios (module .bss) */
static struct mutex cfg_mutex;
static struct rw_semaphore table_rwsem;
static struct mutex dev_mutex;
static struct semaphore fw_sem;
static struct mutex abba_mutex_a, abba_mutex_b;
static struct rw_semaphore rd_rwsem;

static struct lhs_lock *register_lock(const char *name, const char *scen,
				      enum lhs_kind kind, void *obj)
{
	struct lhs_lock *l = NULL;

	spin_lock(&reg_lock);
	if (nreg < LHS_MAXLOCKS) {
		l = &reg[nreg++];
		l->name = name;
		l->scen = scen;
		l->kind = kind;
		l->obj = obj;
	}
	spin_unlock(&reg_lock);
	if (l)
		pr_info("lhs: LOCK name=%s type=%s addr=0x%px scen=%s\n", name,
			kind_str[kind], obj, scen);
	return l;
}

static void say_task(const char *what, const struct lhs_lock *l,
		     enum lhs_mode m)
{
	pr_info("lhs: %s pid=%d tgid=%d comm=%s task=0x%px lock=%s mode=%s\n",
		what, current->pid, current->tgid, current->comm, current,
		l->name, mode_str[m]);
}

/* Take a lock, announcing it before and after. */
static void lock_and_log(const struct lhs_lock *l, enum lhs_mode m)
{
	say_task("WANT", l, m);
	switch (l->kind) {
	case K_MUTEX:
		mutex_lock(l->obj);
		break;
	case K_RWSEM:
		if (m == M_READ)
			down_read(l->obj);
		else
			down_write(l->obj);
		break;
	case K_SEM:
		down(l->obj);
		break;
	}
	say_task("GOT", l, m);
}

/* Sleep forever as if waiting for an I/O completion that never comes. */
static noinline void wait_io_forever(const char *where)
{
	pr_info("lhs: STUCK pid=%d tgid=%d comm=%s task=0x%px how=io_schedule where=%s\n",
		current->pid, current->tgid, current->comm, current, where);
	for (;;) {
		set_current_state(TASK_UNINTERRUPTIBLE);
		io_schedule();
	}
}

/* ------------------------------------------------------------------ */
/* Wait-list walk. The waiter structs are private to kernel/locking/;   */
/* these mirror their layouts (5.10 .. 7.x: all start with list + task). */

struct rwsem_waiter_lhs {		/* kernel/locking/rwsem.c */
	struct list_head list;
	struct task_struct *task;
	int type;			/* 0 = WAITING_FOR_WRITE, 1 = FOR_READ */
};

struct plain_waiter_lhs {		/* mutex_waiter / semaphore_waiter */
	struct list_head list;
	struct task_struct *task;
};

/*
 * The waiters of a lock form a ring of list_heads. Before 7.x the ring has a
 * head node in the lock (wait_list); in 7.x the lock points at its first
 * waiter and the ring has no head. ring_first() returns the first waiter's
 * node (NULL: no waiters) and in *stop the node at which the walk ends.
 */
static inline struct list_head *ring_headed(struct list_head *head,
					    struct list_head **stop)
{
	*stop = head;
	return list_empty(head) ? NULL : head->next;
}

static inline struct list_head *ring_headless(void *first,
					      struct list_head **stop)
{
	/* list is the first member of every waiter struct */
	*stop = first;
	return first;
}

#define ring_next(pos, stop) ((pos)->next == (stop) ? NULL : (pos)->next)

#ifdef LHS_MUTEX_FIRST_WAITER
#define MUTEX_RING(mx, stop) ring_headless((void *)(mx)->first_waiter, stop)
#else
#define MUTEX_RING(mx, stop) ring_headed(&(mx)->wait_list, stop)
#endif
#ifdef LHS_RWSEM_FIRST_WAITER
#define RWSEM_RING(rw, stop) ring_headless((void *)(rw)->first_waiter, stop)
#else
#define RWSEM_RING(rw, stop) ring_headed(&(rw)->wait_list, stop)
#endif
#ifdef LHS_SEM_FIRST_WAITER
#define SEM_RING(s, stop) ring_headless((void *)(s)->first_waiter, stop)
#else
#define SEM_RING(s, stop) ring_headed(&(s)->wait_list, stop)
#endif

/* 5.10: mutex.wait_lock is a spinlock_t; raw_spinlock_t since 5.15 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 15, 0)
#define mutex_wl_lock(mx, f) spin_lock_irqsave(&(mx)->wait_lock, f)
#define mutex_wl_unlock(mx, f) spin_unlock_irqrestore(&(mx)->wait_lock, f)
#else
#define mutex_wl_lock(mx, f) raw_spin_lock_irqsave(&(mx)->wait_lock, f)
#define mutex_wl_unlock(mx, f) raw_spin_unlock_irqrestore(&(mx)->wait_lock, f)
#endif

/* walk (report) or count the waiters; -1: not walkable (RT rbtree) */
static int walk_ring(const struct lhs_lock *l, struct list_head *pos,
		     struct list_head *stop, bool report)
{
	int n = 0;

	for (; pos && n < 100000; pos = ring_next(pos, stop)) {
		struct plain_waiter_lhs *w = (void *)pos;
		const char *m = "excl";

		if (l->kind == K_RWSEM)
			m = ((struct rwsem_waiter_lhs *)pos)->type == 1 ?
				"read" : "write";
		if (report)
			pr_info("lhs: QUEUE lock=%s pos=%d pid=%d tgid=%d comm=%s task=0x%px mode=%s\n",
				l->name, n, w->task->pid, w->task->tgid,
				w->task->comm, w->task, m);
		n++;
	}
	return n;
}

static int lock_waiters(const struct lhs_lock *l, bool report)
{
	struct list_head *first, *stop;
	unsigned long flags;
	int n = -1;

	switch (l->kind) {
	case K_MUTEX: {
#if !LHS_RT
		struct mutex *mx = l->obj;

		mutex_wl_lock(mx, flags);
		if (report)
			pr_info("lhs: RAW lock=%s owner=0x%lx\n", l->name,
				atomic_long_read(&mx->owner));
		first = MUTEX_RING(mx, &stop);
		n = walk_ring(l, first, stop, report);
		mutex_wl_unlock(mx, flags);
#endif
		break;
	}
	case K_RWSEM: {
#if !LHS_RT
		struct rw_semaphore *rw = l->obj;

		raw_spin_lock_irqsave(&rw->wait_lock, flags);
		if (report)
			pr_info("lhs: RAW lock=%s count=0x%lx owner=0x%lx\n",
				l->name, atomic_long_read(&rw->count),
				atomic_long_read(&rw->owner));
		first = RWSEM_RING(rw, &stop);
		n = walk_ring(l, first, stop, report);
		raw_spin_unlock_irqrestore(&rw->wait_lock, flags);
#endif
		break;
	}
	case K_SEM: {
		struct semaphore *s = l->obj;

		raw_spin_lock_irqsave(&s->lock, flags);
		if (report)
			pr_info("lhs: RAW lock=%s count=%u\n", l->name, s->count);
		first = SEM_RING(s, &stop);
		n = walk_ring(l, first, stop, report);
		raw_spin_unlock_irqrestore(&s->lock, flags);
		break;
	}
	}
	return n;
}

static void report_lock(const struct lhs_lock *l)
{
	int n = lock_waiters(l, true);

	if (n < 0)
		pr_info("lhs: QUEUE-END lock=%s waiters=-1 order=set\n", l->name);
	else
		pr_info("lhs: QUEUE-END lock=%s waiters=%d order=queue\n",
			l->name, n);
}

/* number of queued waiters of a registered lock (-1: not walkable) */
static int queued(const struct lhs_lock *l)
{
	return lock_waiters(l, false);
}

/* task asleep in D: TASK_UNINTERRUPTIBLE set and off the run queue */
static bool asleep_in_d(struct task_struct *t)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 14, 0)
	unsigned int st = READ_ONCE(t->__state);
#else
	long st = READ_ONCE(t->state);
#endif
	return (st & TASK_UNINTERRUPTIBLE) && !READ_ONCE(t->on_rq);
}

/* ------------------------------------------------------------------ */
/* Actors: kthreads whose comm is what a user of the dump will see.     */

struct actor {
	const char *comm;
	int (*fn)(void *);
	struct task_struct *task;
	struct completion holding;	/* completed once its first lock is held */
};

static struct lhs_lock *L_cfg, *L_table, *L_dev, *L_fw;
static DECLARE_COMPLETION(go_second);	/* mixed-cycle: both first locks held */

static struct actor a_cfg_commit, a_table_scan, a_dev_reset, a_fw_loader;

/* mixed-cycle */
static int cfg_commit_fn(void *unused)
{
	lock_and_log(L_cfg, M_EXCL);
	complete(&a_cfg_commit.holding);
	wait_for_completion(&go_second);
	lock_and_log(L_table, M_WRITE);		/* blocks: table_scan reads */
	return 0;
}

static int table_scan_fn(void *unused)
{
	lock_and_log(L_table, M_READ);
	complete(&a_table_scan.holding);
	wait_for_completion(&go_second);
	lock_and_log(L_cfg, M_EXCL);		/* blocks: cfg_commit holds it */
	return 0;
}

static int stats_reader_fn(void *unused)
{
	lock_and_log(L_table, M_READ);		/* queued behind the waiting writer */
	return 0;
}

static int cfg_poll_fn(void *unused)
{
	lock_and_log(L_cfg, M_EXCL);
	return 0;
}

/* sem-chain */
static int dev_reset_fn(void *unused)
{
	lock_and_log(L_dev, M_EXCL);
	complete(&a_dev_reset.holding);
	wait_io_forever("dev_reset_fn");
	return 0;
}

static int fw_loader_fn(void *unused)
{
	lock_and_log(L_fw, M_EXCL);
	complete(&a_fw_loader.holding);
	lock_and_log(L_dev, M_EXCL);		/* blocks: dev_reset never lets go */
	return 0;
}

static int fw_request_fn(void *unused)
{
	lock_and_log(L_fw, M_EXCL);
	return 0;
}

static struct actor a_stats_reader, a_cfg_poll, a_fw_request1, a_fw_request2;

static int start_actor(struct actor *a, const char *comm, int (*fn)(void *))
{
	a->comm = comm;
	a->fn = fn;
	init_completion(&a->holding);
	a->task = kthread_create(fn, NULL, "%s", comm);
	if (IS_ERR(a->task)) {
		pr_err("lhs: SETUP-FAILED why=kthread_run_%s_%ld\n", comm,
		       PTR_ERR(a->task));
		return PTR_ERR(a->task);
	}
	get_task_struct(a->task);	/* polled by wait_queued() */
	wake_up_process(a->task);
	return 0;
}

static int wait_holding(struct actor *a)
{
	if (wait_for_completion_timeout(&a->holding,
					msecs_to_jiffies(setup_timeout_ms)))
		return 0;
	pr_err("lhs: SETUP-FAILED why=%s_never_got_its_lock\n", a->comm);
	return -ETIMEDOUT;
}

/*
 * wait until actor a sleeps in lock l as its n-th waiter: a is asleep in D and
 * (where the waiters can be walked) l has n queued waiters
 */
static int wait_queued(struct actor *a, const struct lhs_lock *l, int n)
{
	unsigned long end = jiffies + msecs_to_jiffies(setup_timeout_ms);
	int q;

	for (;;) {
		q = queued(l);
		if (asleep_in_d(a->task) && (q < 0 || q >= n))
			break;
		if (time_after(jiffies, end)) {
			pr_err("lhs: SETUP-FAILED why=%s_has_%d_of_%d_waiters_%s_%s\n",
			       l->name, q, n, a->comm,
			       asleep_in_d(a->task) ? "asleep" : "awake");
			return -ETIMEDOUT;
		}
		msleep(20);
	}
	msleep(50);
	return 0;
}

static int setup_mixed_cycle(void)
{
	int ret;

	mutex_init(&cfg_mutex);
	init_rwsem(&table_rwsem);
	L_cfg = register_lock("cfg_mutex", "mixed-cycle", K_MUTEX, &cfg_mutex);
	L_table = register_lock("table_rwsem", "mixed-cycle", K_RWSEM, &table_rwsem);

	ret = start_actor(&a_cfg_commit, "cfg_commit", cfg_commit_fn);
	if (!ret)
		ret = wait_holding(&a_cfg_commit);
	if (!ret)
		ret = start_actor(&a_table_scan, "table_scan", table_scan_fn);
	if (!ret)
		ret = wait_holding(&a_table_scan);
	if (ret)
		return ret;
	complete_all(&go_second);
	/* both second acquisitions must be queued before the bystanders come */
	ret = wait_queued(&a_cfg_commit, L_table, 1);
	if (!ret)
		ret = wait_queued(&a_table_scan, L_cfg, 1);
	if (!ret)
		ret = start_actor(&a_stats_reader, "stats_reader", stats_reader_fn);
	if (!ret)
		ret = wait_queued(&a_stats_reader, L_table, 2);
	if (!ret)
		ret = start_actor(&a_cfg_poll, "cfg_poll", cfg_poll_fn);
	if (!ret)
		ret = wait_queued(&a_cfg_poll, L_cfg, 2);
	return ret;
}

static int setup_sem_chain(void)
{
	int ret;

	mutex_init(&dev_mutex);
	sema_init(&fw_sem, 1);
	L_fw = register_lock("fw_sem", "sem-chain", K_SEM, &fw_sem);
	L_dev = register_lock("dev_mutex", "sem-chain", K_MUTEX, &dev_mutex);

	ret = start_actor(&a_dev_reset, "dev_reset", dev_reset_fn);
	if (!ret)
		ret = wait_holding(&a_dev_reset);
	if (!ret)
		ret = start_actor(&a_fw_loader, "fw_loader", fw_loader_fn);
	if (!ret)
		ret = wait_holding(&a_fw_loader);
	if (!ret)
		ret = wait_queued(&a_fw_loader, L_dev, 1);
	if (!ret)
		ret = start_actor(&a_fw_request1, "fw_request1", fw_request_fn);
	if (!ret)
		ret = wait_queued(&a_fw_request1, L_fw, 1);
	if (!ret)
		ret = start_actor(&a_fw_request2, "fw_request2", fw_request_fn);
	if (!ret)
		ret = wait_queued(&a_fw_request2, L_fw, 2);
	return ret;
}

/* abba */
static struct lhs_lock *L_ab_a, *L_ab_b;
static DECLARE_COMPLETION(abba_go);
static struct actor a_ab_first, a_ab_second, a_ab_late;

static int ab_first_fn(void *unused)
{
	lock_and_log(L_ab_a, M_EXCL);
	complete(&a_ab_first.holding);
	wait_for_completion(&abba_go);
	lock_and_log(L_ab_b, M_EXCL);		/* blocks: abba_second holds B */
	return 0;
}

static int ab_second_fn(void *unused)
{
	lock_and_log(L_ab_b, M_EXCL);
	complete(&a_ab_second.holding);
	wait_for_completion(&abba_go);
	lock_and_log(L_ab_a, M_EXCL);		/* blocks: abba_first holds A */
	return 0;
}

static int ab_late_fn(void *unused)
{
	lock_and_log(L_ab_a, M_EXCL);
	return 0;
}

static int setup_abba(void)
{
	int ret;

	mutex_init(&abba_mutex_a);
	mutex_init(&abba_mutex_b);
	L_ab_a = register_lock("abba_mutex_a", "abba", K_MUTEX, &abba_mutex_a);
	L_ab_b = register_lock("abba_mutex_b", "abba", K_MUTEX, &abba_mutex_b);
	ret = start_actor(&a_ab_first, "abba_first", ab_first_fn);
	if (!ret)
		ret = wait_holding(&a_ab_first);
	if (!ret)
		ret = start_actor(&a_ab_second, "abba_second", ab_second_fn);
	if (!ret)
		ret = wait_holding(&a_ab_second);
	if (ret)
		return ret;
	complete_all(&abba_go);
	ret = wait_queued(&a_ab_first, L_ab_b, 1);
	if (!ret)
		ret = wait_queued(&a_ab_second, L_ab_a, 1);
	if (!ret)
		ret = start_actor(&a_ab_late, "abba_late", ab_late_fn);
	if (!ret)
		ret = wait_queued(&a_ab_late, L_ab_a, 2);
	return ret;
}

/* rwsem-readers */
static struct lhs_lock *L_rd;
static struct actor a_rd_hold1, a_rd_hold2, a_rd_writer, a_rd_late1, a_rd_late2;

static int rd_hold_fn(void *unused)
{
	struct actor *me = !strcmp(current->comm, "rd_hold1") ? &a_rd_hold1 : &a_rd_hold2;

	lock_and_log(L_rd, M_READ);
	complete(&me->holding);
	wait_io_forever("rd_hold_fn");
	return 0;
}

static int rd_writer_fn(void *unused)
{
	lock_and_log(L_rd, M_WRITE);		/* blocks: two readers hold it */
	return 0;
}

static int rd_late_fn(void *unused)
{
	lock_and_log(L_rd, M_READ);		/* queued behind the writer */
	return 0;
}

static int setup_rwsem_readers(void)
{
	int ret;

	init_rwsem(&rd_rwsem);
	L_rd = register_lock("rd_rwsem", "rwsem-readers", K_RWSEM, &rd_rwsem);
	ret = start_actor(&a_rd_hold1, "rd_hold1", rd_hold_fn);
	if (!ret)
		ret = wait_holding(&a_rd_hold1);
	if (!ret)
		ret = start_actor(&a_rd_hold2, "rd_hold2", rd_hold_fn);
	if (!ret)
		ret = wait_holding(&a_rd_hold2);
	if (!ret)
		ret = start_actor(&a_rd_writer, "rd_writer", rd_writer_fn);
	if (!ret)
		ret = wait_queued(&a_rd_writer, L_rd, 1);
	if (!ret)
		ret = start_actor(&a_rd_late1, "rd_late1", rd_late_fn);
	if (!ret)
		ret = wait_queued(&a_rd_late1, L_rd, 2);
	if (!ret)
		ret = start_actor(&a_rd_late2, "rd_late2", rd_late_fn);
	if (!ret)
		ret = wait_queued(&a_rd_late2, L_rd, 3);
	return ret;
}

/* ------------------------------------------------------------------ */
/* /dev/lhsample: mmap target with a never-ending fault; "report" cmd.  */

static struct mm_struct *stuck_mm;

static vm_fault_t slowdev_fault(struct vm_fault *vmf)
{
	struct mm_struct *mm = current->mm;
	struct lhs_lock *l;

	/*
	 * 6.1: do_user_addr_fault() -> lock_mm_and_find_vma() took
	 * mm->mmap_lock for read before we were called (no per-VMA locks).
	 */
	if (cmpxchg(&stuck_mm, NULL, mm) != NULL) {
		pr_err("lhs: SETUP-FAILED why=second_fault_pid_%d\n",
		       current->pid);
		return VM_FAULT_SIGBUS;
	}
	mmgrab(mm);
	l = register_lock("mmap_lock", "mmap-pileup", K_RWSEM, &mm->mmap_lock);
	if (!l)
		return VM_FAULT_SIGBUS;
	pr_info("lhs: FAULT pid=%d tgid=%d mm=0x%px vma=0x%px address=0x%lx flags=0x%x mmap_lock_held=%d\n",
		current->pid, current->tgid, mm, vmf->vma, vmf->address,
		(unsigned int)vmf->flags, rwsem_is_locked(&mm->mmap_lock));
	/* the lock was taken by the fault path; we are its (read) holder */
	say_task("GOT", l, M_READ);
	wait_io_forever("slowdev_fault");
	return VM_FAULT_SIGBUS;
}

static const struct vm_operations_struct slowdev_vm_ops = {
	.fault = slowdev_fault,
};

static int slowdev_mmap(struct file *f, struct vm_area_struct *vma)
{
	if (!want_scenario("mmap-pileup"))
		return -ENODEV;
	vma->vm_ops = &slowdev_vm_ops;
	return 0;
}

static ssize_t slowdev_write(struct file *f, const char __user *buf,
			     size_t len, loff_t *off)
{
	char cmd[16] = "";
	int i;

	if (copy_from_user(cmd, buf, min(len, sizeof(cmd) - 1)))
		return -EFAULT;
	if (strncmp(cmd, "report", 6))
		return -EINVAL;
	pr_info("lhs: REPORT-BEGIN scenario=%s locks=%d\n", scenario, nreg);
	for (i = 0; i < nreg; i++)
		report_lock(&reg[i]);
	pr_info("lhs: REPORT-END\n");
	return len;
}

static const struct file_operations slowdev_fops = {
	.owner = THIS_MODULE,
	.mmap = slowdev_mmap,
	.write = slowdev_write,
};

static struct miscdevice slowdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "lhsample",
	.fops = &slowdev_fops,
	.mode = 0666,
};

static int __init lhs_init(void)
{
	int ret;

	pr_info("lhs: SCENARIO name=%s\n", scenario);
	ret = misc_register(&slowdev);
	if (ret) {
		pr_err("lhs: SETUP-FAILED why=misc_register_%d\n", ret);
		return ret;
	}
	/* mmap-pileup is driven by the guest's userspace */
	if (!want_scenario("mixed-cycle") && !want_scenario("sem-chain") &&
	    !want_scenario("mmap-pileup") && !want_scenario("abba") &&
	    !want_scenario("rwsem-readers")) {
		pr_err("lhs: SETUP-FAILED why=unknown_scenario\n");
		ret = -EINVAL;
	}
	if (!ret && want_scenario("mixed-cycle"))
		ret = setup_mixed_cycle();
	if (!ret && want_scenario("sem-chain"))
		ret = setup_sem_chain();
	if (!ret && want_scenario("abba"))
		ret = setup_abba();
	if (!ret && want_scenario("rwsem-readers"))
		ret = setup_rwsem_readers();
	/*
	 * Even on failure, stay loaded: kthreads may already sleep in locks
	 * that live in this module. The guest init sees SETUP-FAILED.
	 */
	if (!ret)
		pr_info("lhs: SETUP-DONE scenario=%s\n", scenario);
	return 0;
}
module_init(lhs_init);
/* No module_exit(): the module's locks stay held forever, it cannot unload. */

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lockhound sample-dump scenarios (known lock hangs)");
